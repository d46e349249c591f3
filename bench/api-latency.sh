#!/usr/bin/env bash
# bench/api-latency.sh - the operator API under load while serve reconciles
# (issue 14), and the dashboard's first render at the same size.
#
#   bench/api-latency.sh [--clients N] [--seconds S] [--runs R] [--no-browser]
#
# Builds novacron and nc-bench-api-latency in Release (build-bench/, BUILD=dir
# overrides), generates 500 sim hosts and 10,000 VMs in 10 tenants of 1,000
# (admin/tenants.yaml, teams/tNN/), creates them with `novacron apply`, makes
# a viewer token and a viewer token scoped to tenant t03, and starts
# `novacron serve` on a real listener with driftInterval 5s.  While the load
# runs, a loop changes the live memory of VMs with `novacron sim ... setmem`
# every 2 s, so every pass finds drift and repairs it.  Then, per token, N
# clients (default 50) fetch each path for S seconds (default 20):
#   /api/v1/vms?limit=100   /api/v1/vms?limit=10000   /api/v1/hosts
# and nc-bench-api-latency prints p50/p90/p99/max, requests/s and the passes
# that finished in each window.  Last, unless --no-browser,
# test/browser/render-bench.mjs times the dashboard's first render of the
# overview and the VM list in Debian's Chromium, median of R (default 5)
# fresh page loads.  Prints figures, never fails on time.  Temporary files
# under /tmp/nc-apibench-*, removed at the end.  See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
CLIENTS=50 SECONDS_PER=20 RUNS=5 BROWSER=1
while [ $# -gt 0 ]; do
	case $1 in
	--clients) CLIENTS=$2; shift 2 ;;
	--seconds) SECONDS_PER=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--no-browser) BROWSER=0; shift ;;
	*) echo "usage: bench/api-latency.sh [--clients N] [--seconds S] [--runs R] [--no-browser]" >&2; exit 2 ;;
	esac
done

echo "bench: building (Release) in $BUILD/" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target novacron nc-bench-api-latency >/dev/null
NC=$PWD/$BUILD/novacron
LOAD=$PWD/$BUILD/nc-bench-api-latency

T=$(mktemp -d /tmp/nc-apibench-XXXXXX)
SERVE= DRIFT=
cleanup() {
	set +e
	if [ -n "$DRIFT" ]; then kill "$DRIFT" 2>/dev/null; wait "$DRIFT" 2>/dev/null; fi
	if [ -n "$SERVE" ]; then kill "$SERVE" 2>/dev/null; wait "$SERVE" 2>/dev/null; fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- the cluster: 500 hosts, 10 tenants of 1,000 VMs
mkdir -p "$T/spec/admin" "$T/state" "$T/cache"
awk 'BEGIN { for (h = 0; h < 500; h++)
	printf "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata:\n  name: h%03d\n  labels: {rack: r%02d, zone: z%d}\nspec:\n  uri: \047sim:///h%03d?cpus=64&memory=512GiB\047\n", h, h / 20, h % 3, h }' \
	>"$T/spec/hosts.yaml"
awk 'BEGIN { for (t = 0; t < 10; t++)
	printf "---\napiVersion: novacron.io/v1\nkind: Tenant\nmetadata:\n  name: t%02d\nspec:\n  paths: [teams/t%02d]\n  quota: {vms: 2000, vcpus: 8000, memory: 4TiB}\n", t, t }' \
	>"$T/spec/admin/tenants.yaml"
for t in $(seq 0 9); do
	d=$(printf '%s/spec/teams/t%02d' "$T" "$t")
	mkdir -p "$d"
	awk -v t="$t" 'BEGIN { for (i = 0; i < 1000; i++) { v = t * 1000 + i;
		printf "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: %s-%05d\n  labels: {app: app%d}\nspec:\n  vcpus: %d\n  memory: %dMiB\n", (v % 3 ? "web" : "db"), v, v % 20, 1 + v % 4, 512 * (1 + v % 4) } }' \
		>"$d/vms.yaml"
done
echo "bench: creating 10,000 VMs on 500 sim hosts (novacron apply)" >&2
t0=$(date +%s.%N)
"$NC" apply --auto-approve --parallel 16 --state-dir "$T/state" "$T/spec" >"$T/apply.log" 2>&1 ||
	{ tail -5 "$T/apply.log"; echo "bench: apply failed" >&2; exit 1; }
echo "bench: apply took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
"$NC" token create bench --role viewer --state-dir "$T/state" 2>/dev/null | grep -E '^nc_' >"$T/token"
"$NC" token create bench-t03 --role viewer --tenant t03 --state-dir "$T/state" 2>/dev/null | grep -E '^nc_' >"$T/token-t03"

# VMs to inject drift into: the first VM of 40 hosts
for h in $(seq 0 12 479); do
	hn=$(printf 'h%03d' "$h")
	vm=$("$NC" sim --state-dir "$T/state" "$hn" list 2>/dev/null | awk 'NR > 1 && $1 ~ /^(web|db)-/ { print $1; exit }')
	[ -n "$vm" ] && echo "$hn $vm"
done >"$T/drift-targets"

PORT=$(free_port)
cat >"$T/serve.yaml" <<EOF
source:
  directory: $T/spec
cacheDir: $T/cache
stateDir: $T/state
interval: 1h
driftInterval: 5s
listen: 127.0.0.1:$PORT
tenancy: {adminPaths: [admin]}
ha: {enabled: false}
telemetry: {enabled: false}
EOF
"$NC" serve --config "$T/serve.yaml" 2>"$T/serve.log" &
SERVE=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 600); do
	curl -fsS -H "Authorization: Bearer $(cat "$T/token")" "$BASE/api/v1/cluster" 2>/dev/null | grep -q '"vms": *10000' && break
	kill -0 "$SERVE" 2>/dev/null || { tail -20 "$T/serve.log"; echo "bench: serve ended" >&2; exit 1; }
	sleep 0.5
done

# drift: every 2 s, the live memory of 4 of the targets lowered by 256 MiB (serve puts it back)
drift_loop() {
	local i=0 hn vm mem
	mapfile -t targets <"$T/drift-targets"
	while :; do
		for _ in 1 2 3 4; do
			read -r hn vm <<<"${targets[$((i % ${#targets[@]}))]}"
			mem=$(( 512 * (1 + 10#${vm##*-} % 4) - 256 ))
			"$NC" sim --state-dir "$T/state" "$hn" setmem "$vm" "${mem}MiB" >/dev/null 2>&1 || true
			i=$((i + 1))
		done
		sleep 2
	done
}
drift_loop &
DRIFT=$!
sleep 6
if [ -n "${NC_BENCH_HOLD:-}" ]; then
	# for working on serve: the cluster stays up until this script is stopped
	echo "$BASE $T" >"$NC_BENCH_HOLD"
	while :; do sleep 1; done
fi

echo
echo "NovaCron operator API under load: 500 sim hosts, 10,000 VMs, serve reconciling (driftInterval 5s, drift injected every 2 s)"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs"
echo
"$LOAD" --clients "$CLIENTS" --seconds "$SECONDS_PER" --label "viewer token (all 10,000 VMs)" \
	"$BASE" "$T/token" '/api/v1/vms?limit=100' '/api/v1/vms?limit=10000' /api/v1/hosts
echo
"$LOAD" --clients "$CLIENTS" --seconds "$SECONDS_PER" --label "viewer token scoped to tenant t03 (1,000 of the 10,000 VMs)" \
	"$BASE" "$T/token-t03" '/api/v1/vms?limit=100' '/api/v1/vms?limit=10000' /api/v1/hosts
echo
kill "$DRIFT" 2>/dev/null; wait "$DRIFT" 2>/dev/null || true; DRIFT=
echo "serve: $(grep -c ' pass on ' "$T/serve.log" || true) passes with actions since it started; RSS $(awk '/VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$SERVE/status")"

# ---- the dashboard's first render (test/browser/render-bench.mjs)
if [ "$BROWSER" = 1 ]; then
	CHROMIUM=${NC_CHROMIUM:-$(command -v chromium || true)}
	if [ -z "$CHROMIUM" ] || ! command -v npm >/dev/null; then
		echo "dashboard: skipped (no chromium or npm; scripts/deps.sh installs them)"
	elif ! (cd test/browser && [ -d node_modules/playwright-core ] ||
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1; then
		echo "dashboard: skipped (npm ci in test/browser failed: no npm registry?)"
	else
		echo
		NC_URL="$BASE" NC_TOKEN="$(cat "$T/token")" NC_RUNS="$RUNS" NC_CHROMIUM="$CHROMIUM" \
			timeout 600 node test/browser/render-bench.mjs || echo "dashboard: the browser run ended with $?"
	fi
fi
