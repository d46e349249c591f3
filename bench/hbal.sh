#!/usr/bin/env bash
# bench/hbal.sh - NovaCron's rebalance against Ganeti's hbal, on hbal's own
# score (issue 18; docs/placement.md "Rebalance").
#
#   bench/hbal.sh                      # 20/400, 100/2,000 and 500/10,000
#   SIZES="20:400" bench/hbal.sh       # NODES:INSTANCES ...
#   HBAL_TIMEOUT=600 bench/hbal.sh     # seconds hbal may run per size (default 600)
#
# For each size, nc-bench-hbal (bench/bench_hbal.c) generates a shared-storage
# cluster in Ganeti's htools text format (disk template ext: every instance
# can move).  hbal balances it (`hbal -t START -S OUT`, under `timeout`: at
# 100 and 500 nodes it may not finish; a killed hbal writes nothing, and the
# row says so).  NovaCron converts the same file to a spec and its observed
# cluster, rebalances in one unbounded pass, and converts the result back to
# the text format: once with threshold 0 (converged) and once with a min gain
# of 0.4 / NODES (move economy, as hbal's --min-gain; per-move gains shrink
# with the cluster's size).  Every result is scored by `hbal -t FILE -l 0`.
# Time and peak memory: /usr/bin/time for hbal; NovaCron's own figures for
# the search (the conversion is not counted).  Nothing is installed but
# ganeti-htools when hbal is missing; the temporary directory is removed.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
HBAL_TIMEOUT=${HBAL_TIMEOUT:-600}
SIZES=${SIZES:-"20:400 100:2000 500:10000"}

HBAL=$(command -v hbal || true)
[ -n "$HBAL" ] || [ ! -x /usr/lib/ganeti/3.0/usr/bin/hbal ] || HBAL=/usr/lib/ganeti/3.0/usr/bin/hbal
if [ -z "$HBAL" ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "bench: installing ganeti-htools (hbal)" >&2
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends ganeti-htools >/dev/null
	HBAL=$(command -v hbal || echo /usr/lib/ganeti/3.0/usr/bin/hbal)
fi

echo "bench: building nc-bench-hbal (Release) in $BUILD/" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target nc-bench-hbal >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nc-bench-hbal.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

score() {   # FILE -> hbal's score of it
	"$HBAL" -t "$1" -l 0 2>/dev/null | sed -n 's/^Initial score: //p'
}

echo "hbal: $("$HBAL" --version 2>&1 | head -1); scores by hbal -t FILE -l 0, lower is better"
printf '%-12s %-28s %10s %7s %10s %10s\n' cluster run score moves time peak-RSS
for size in $SIZES; do
	nodes=${size%%:*}
	insts=${size##*:}
	d=$tmp/$nodes
	mkdir -p "$d"
	"$BUILD/nc-bench-hbal" gen "$nodes" "$insts" "$d/start.data"
	printf '%-12s %-28s %10s %7s %10s %10s\n' "$nodes/$insts" start "$(score "$d/start.data")" - - -
	# hbal, bounded
	set +e
	/usr/bin/time -f '%e %M' -o "$d/hbal.time" timeout "$HBAL_TIMEOUT" "$HBAL" -t "$d/start.data" -S "$d/h" \
		>"$d/hbal.log" 2>&1
	rc=$?
	set -e
	read -r secs kib < <(tail -n 1 "$d/hbal.time") || true
	if [ "$rc" -eq 0 ] && [ -f "$d/h.balanced" ]; then
		printf '%-12s %-28s %10s %7s %9ss %7s KiB\n' "$nodes/$insts" "hbal" "$(score "$d/h.balanced")" \
			"$(sed -n 's/^Solution length=//p' "$d/hbal.log")" "$secs" "$kib"
	else
		printf '%-12s %-28s %10s %7s %9ss %7s KiB\n' "$nodes/$insts" "hbal (killed at ${HBAL_TIMEOUT}s)" \
			"no result" - "$secs" "${kib:--}"
	fi
	for th in 0 "$(awk -v n="$nodes" 'BEGIN { printf "%.4g", 0.4 / n }')"; do
		line=$(NC_BENCH_THRESHOLD=$th "$BUILD/nc-bench-hbal" run "$d/start.data" "$d/nc.data")
		moves=$(sed -n 's/^novacron: \([0-9]*\) moves.*/\1/p' <<<"$line")
		secs=$(sed -n 's/.* in \([0-9.]*\) s,.*/\1/p' <<<"$line")
		kib=$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' <<<"$line")
		printf '%-12s %-28s %10s %7s %9ss %7s KiB\n' "$nodes/$insts" "novacron (min gain $th)" \
			"$(score "$d/nc.data")" "$moves" "$secs" "$kib"
	done
done
