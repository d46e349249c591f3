#!/usr/bin/env bash
# bench/load-hbal.sh - rebalancing by observed load, scored by Ganeti's hbal
# (issue 13; docs/placement.md "Observed load").
#
#   bench/load-hbal.sh
#
# Installs ganeti-htools when hbal is missing (apt-get, through sudo when
# not root; for this bench only), builds nc-bench-placement (Release, into
# build-bench/ or $BUILD), runs its observed-load case (part 3: 50 hosts,
# 1,000 VMs with synthetic deterministic load, rebalanced by NovaCron with
# load mode static and observed), then has hbal score the start and both
# results: `hbal -t CASE.data -U CASE.util -l 0 -v` ("Initial score": hbal's
# whole cluster score, static terms plus its dynamic cpu/mem/disk/net load
# terms) and the same with --ignore-dynu (the static terms alone), plus the
# load terms one by one (-v -v).  Lower is better.  The temporary directory
# is removed at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
JOBS=$(nproc 2>/dev/null || echo 2)

if ! command -v hbal >/dev/null; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "bench: installing ganeti-htools (hbal)" >&2
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends ganeti-htools >/dev/null
fi

echo "bench: building (Release) in $BUILD/" >&2
# -Wno-format-truncation: at -O2 GCC 12 flags drivers/storage/seed.c (a Release build fails without it)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-Wno-format-truncation >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target nc-bench-placement >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nc-bench-load.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# parts 1 and 2 small (they have their own run), part 3 as described
"$BUILD/nc-bench-placement" --hosts 10 --vms 100 --moves 10 --htools "$tmp" | sed -n '/^observed load/,$p'

score() {   # FILE ARGS... -> the "Initial score" figure
	local f=$1
	shift
	hbal -t "$f" "$@" -l 0 -v 2>&1 | sed -n 's/^Initial score: //p'
}

coef() {    # DATA UTIL FIELD -> its value in hbal's coefficients
	hbal -t "$1" -U "$2" -l 0 -v -v 2>&1 | awk -v f="$3" '$1 == f { print $2; exit }'
}

echo
echo "hbal's scorer ($(hbal --version 2>&1 | head -1)) on each placement, lower is better:"
printf '  %-9s %12s %12s %9s %9s %9s %9s %9s\n' case "hbal -U" "--ignore-dynu" cpu_load mem_load disk_load \
	net_load n1_cnt
for c in start static observed; do
	printf '  %-9s %12s %12s %9s %9s %9s %9s %9s\n' "$c" \
		"$(score "$tmp/$c.data" -U "$tmp/$c.util")" "$(score "$tmp/$c.data" --ignore-dynu)" \
		"$(coef "$tmp/$c.data" "$tmp/$c.util" cpu_load_cv)" "$(coef "$tmp/$c.data" "$tmp/$c.util" mem_load_cv)" \
		"$(coef "$tmp/$c.data" "$tmp/$c.util" disk_load_cv)" "$(coef "$tmp/$c.data" "$tmp/$c.util" net_load_cv)" \
		"$(coef "$tmp/$c.data" "$tmp/$c.util" n1_cnt)"
done
