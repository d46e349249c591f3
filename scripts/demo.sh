#!/usr/bin/env bash
# README command 1: install what is missing, build, and run NovaCron's main
# job on the embedded example cluster: three simulated hosts (libvirt's test
# driver, no daemon) whose state lives in .novacron-demo/ between runs.
#   validate -> plan -> apply -> plan again (empty: the cluster matches)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

NC=./build/novacron
STATE=.novacron-demo
rm -rf "$STATE"
run() { echo; echo "\$ novacron $*"; "$NC" "$@"; }

run validate examples/quickstart
set +e
run plan examples/quickstart --state-dir "$STATE"
[ $? -eq 2 ] || { echo "demo: expected plan to report changes (exit 2)"; exit 1; }
set -e
run apply examples/quickstart --state-dir "$STATE" --auto-approve
set +e
run plan examples/quickstart --state-dir "$STATE"
rc=$?
set -e
[ $rc -eq 0 ] || { echo "demo: the second plan should be empty (exit 0), got $rc"; exit 1; }
echo
echo "demo: the second plan is empty: the cluster matches the spec."
echo "Try drift: $NC sim --state-dir $STATE kvm2 setmem web-1 1GiB && $NC plan examples/quickstart --state-dir $STATE"
