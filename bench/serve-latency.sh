#!/usr/bin/env bash
# How long from a change landing in the source to `serve` starting the first
# action, for the two sources:
#   directory  inotify, debounced 200 ms (goal: under 1 s)
#   git        a commit pushed to a bare repository, polled every 2 s
#              (goal: under the poll interval + 1 s)
# Each change is timed from just before it is written (or pushed) to the
# "applying" line serve logs right before it runs the first action.
# usage: bench/serve-latency.sh [ROUNDS]   (default 5; build/novacron must exist)
set -euo pipefail
cd "$(dirname "$0")/.."
NC=$PWD/build/novacron
ROUNDS=${1:-5}
T=$(mktemp -d /tmp/nc-bench-serve-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.com GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.com

ns() { date +%s%N; }
# log_ns LINE: the timestamp of a serve log line in ns since the epoch
log_ns() { date -d "$(cut -d' ' -f1 <<<"$1" | sed 's/Z$//; s/T/ /')Z" +%s%N; }
free_port() { echo $((20000 + RANDOM % 20000)); }

# measure NAME LOG CHANGE-COMMAND: one latency in ms per round
measure() {
	local name=$1 log=$2 change=$3 i before t0 line lat all=()
	for i in $(seq "$ROUNDS"); do
		before=$(grep -c ' applying ' "$log" || true)
		t0=$(ns)
		eval "$change $i"
		for _ in $(seq 300); do
			[ "$(grep -c ' applying ' "$log" || true)" -gt "$before" ] && break
			sleep 0.02
		done
		line=$(grep ' applying ' "$log" | tail -1)
		lat=$(( ($(log_ns "$line") - t0) / 1000000 ))
		all+=("$lat")
		sleep 0.5
	done
	printf '%s\n' "${all[@]}" | sort -n | awk -v n="$name" '{a[NR]=$1} END {printf "%-32s min %5d ms   median %5d ms   max %5d ms   (%d rounds)\n", n, a[1], a[int((NR+1)/2)], a[NR], NR}'
}

# change the spec's memory of cache-1 to 1..8 GiB
bump() { sed -i "s/^  memory: [0-9]*GiB$/  memory: $(( ($2 % 7) + 1 ))GiB/" "$1/vms/db.yaml"; }

echo "NovaCron serve latency: change landing -> first action starting"
echo

# directory source
cp -r examples/quickstart "$T/dir"
P=$(free_port)
printf 'source:\n  directory: %s\ncacheDir: %s/c1\nstateDir: %s/s1\ninterval: 60s\ndriftInterval: 1h\nlisten: 127.0.0.1:%s\n' \
	"$T/dir" "$T" "$T" "$P" > "$T/dir.yaml"
"$NC" serve --config "$T/dir.yaml" 2>"$T/dir.log" & PIDS+=($!)
until grep -q ' applying ' "$T/dir.log" 2>/dev/null; do sleep 0.1; done; sleep 1
dir_change() { bump "$T/dir" "$1"; }
measure "directory (inotify)" "$T/dir.log" dir_change

# git source, polled every 2 s
git init -q --bare -b main "$T/remote.git"
git init -q -b main "$T/work"
cp -r examples/quickstart "$T/work/cluster"
git -C "$T/work" add -A && git -C "$T/work" commit -qm init && git -C "$T/work" push -q "$T/remote.git" main
P=$(free_port)
printf 'source:\n  git: {url: "file://%s/remote.git", path: cluster}\ncacheDir: %s/c2\nstateDir: %s/s2\ninterval: 2s\ndriftInterval: 1h\nlisten: 127.0.0.1:%s\n' \
	"$T" "$T" "$T" "$P" > "$T/git.yaml"
"$NC" serve --config "$T/git.yaml" 2>"$T/git.log" & PIDS+=($!)
until grep -q ' applying ' "$T/git.log" 2>/dev/null; do sleep 0.1; done; sleep 1
git_change() { bump "$T/work/cluster" "$1"; git -C "$T/work" commit -qam "round $1"; git -C "$T/work" push -q "$T/remote.git" main; }
measure "git (polled every 2 s)" "$T/git.log" git_change
echo
echo "goals: directory under 1000 ms; git under 3000 ms (interval + 1 s)"
