#!/usr/bin/env bash
# bench/run.sh - builds NovaCron in Release mode (into build-bench/, so the
# everyday build/ keeps its own build type), generates the benchmark spec
# (10,000 VMs, 500 hosts) into a temporary directory, runs nc-bench-validate
# on it and removes the directory, whatever happens.
#
#   bench/run.sh [--runs N]      (or `make bench`)
#
# Arguments are passed to nc-bench-validate.  BUILD=dir overrides the build
# directory.  Exit status: nc-bench-validate's (1 when the load reported an
# error or did not find the 10,000 VMs).  See bench/README.md.
#
#   bench/run.sh --backup [ARGS]  the backup benchmark instead (issue 6):
#                                 nc-bench-backup ARGS (default: 2 GiB image,
#                                 1 run) with --keep in a temporary directory,
#                                 then bench/backup-peers.sh (borg, restic) on
#                                 the same images; the directory is removed
#                                 at the end.  Needs about 8x the image size
#                                 free under ${TMPDIR:-/tmp}.
#
#   bench/run.sh --backup-e2e [ARGS]  issue 17's end-to-end backup benchmark instead:
#                                 bench/backup-e2e.sh ARGS (`novacron backup run`
#                                 and `restore --as` on the libvirtd testbed, borg
#                                 and restic on the same bytes; it builds in
#                                 Release into build-release/ and cleans up)
#
#   bench/run.sh --telemetry [ARGS]  the telemetry benchmark instead (issue 13):
#                                 nc-bench-telemetry ARGS (default: 500 sim
#                                 hosts, 10,000 VMs, 1,000 alert rules); it
#                                 makes and removes its own directory.  The
#                                 full size needs about 22 GB free under /tmp
#                                 for a moment (an RRD file per object).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
JOBS=$(nproc 2>/dev/null || echo 2)

if [ "${1:-}" = --backup-e2e ]; then
	shift
	exec bench/backup-e2e.sh "$@"
fi

if [ "${1:-}" = --telemetry ]; then
	shift
	echo "bench: building (Release) in $BUILD/" >&2
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j "$JOBS" --target nc-bench-telemetry >/dev/null
	exec "$BUILD/nc-bench-telemetry" "$@"
fi

if [ "${1:-}" = --backup ]; then
	shift
	echo "bench: building (Release) in $BUILD/" >&2
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j "$JOBS" --target nc-bench-backup >/dev/null
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/nc-bench.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	"$BUILD/nc-bench-backup" --dir "$tmp" --keep "$@"
	size=$(stat -c %s "$tmp"/nc-bench-backup.*/image-1)
	runs=1
	while [ $# -gt 0 ]; do
		case $1 in --runs) runs=$2; shift ;; esac
		shift
	done
	BUILD=$BUILD bench/backup-peers.sh --images "$(echo "$tmp"/nc-bench-backup.*)" --runs "$runs"
	echo "(images were $size bytes)"
	exit 0
fi

echo "bench: building (Release) in $BUILD/" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target nc-bench-validate >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nc-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

"$BUILD/nc-bench-validate" --generate "$tmp/spec" "$@" "$tmp/spec"
