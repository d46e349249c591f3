#!/usr/bin/env bash
# README command 1: install what is missing, build, and run NovaCron's main
# job on the embedded example cluster (examples/quickstart).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

echo "\$ novacron validate examples/quickstart"
./build/novacron validate examples/quickstart
