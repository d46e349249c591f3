#!/usr/bin/env bash
# serve's real answers against docs/openapi.yaml: `novacron serve` on the
# quickstart's simulated hosts (sim://, libvirt's test driver kept under the
# state dir) with a backup taken, an alert firing on scripted load and an
# admin token; test/integration/api-openapi.py asks every documented GET
# (GET /api/v1/federation: this serve itself and a port nobody listens on)
# and validates each answer with Debian's python3-jsonschema, and checks that
# an undocumented field would fail.  Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-api-openapi-XXXXXX)
SERVE=
cleanup() {
	if [ -n "$SERVE" ]; then kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null; fi
	rm -rf "$T"
}
trap cleanup EXIT

python3 -c 'import jsonschema, yaml' 2>/dev/null || { echo "skip: python3-jsonschema or python3-yaml missing (scripts/deps.sh)"; exit 77; }
[ -x "$NC" ] || { echo "FAIL: no $NC (build first)"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp -r examples/quickstart "$T/spec"
sed -i "s|path: /var/backups/novacron|path: $T/backups|; s|path: /var/lib/novacron/pools/local|path: $T/pools|" "$T/spec/infra.yaml"
cat >"$T/spec/alert.yaml" <<'YAML'
apiVersion: novacron.io/v1
kind: AlertRule
metadata: {name: vm-cpu-busy}
spec:
  target: vm
  selector: {matchLabels: {app: shop}}
  metric: cpu_usage
  threshold: {op: ">", value: 0.5}
  severity: critical
  summary: "VM {{ object }}: CPU {{ value }}"
YAML
cat >"$T/serve.yaml" <<YAML
source:
  directory: $T/spec
cacheDir: $T/cache
stateDir: $T/state
interval: 1s
driftInterval: 60s
listen: 127.0.0.1:$port
telemetry:
  interval: 1s
paths:
  backups: ["$T/backups"]
  pools: ["$T/pools"]
federation:
  - {cluster: self, url: "http://127.0.0.1:$port"}
  - {cluster: gone, url: "http://127.0.0.1:1"}
YAML
mkdir -p "$T/state" && chmod 700 "$T/state"
TOKEN=$("$NC" token create conformance --role admin --state-dir "$T/state" 2>"$T/token.err" | grep -E '^nc_' | tail -1)
[ -n "$TOKEN" ] || { cat "$T/token.err"; echo "FAIL: novacron token create"; exit 1; }
"$NC" serve --config "$T/serve.yaml" >/dev/null 2>"$T/log" &
SERVE=$!
api() { curl -s --max-time 20 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port$1"; }
for _ in $(seq 150); do
	api /api/v1/cluster 2>/dev/null | grep -q '"running": 9' && break
	sleep 0.2
done
api /api/v1/cluster | grep -q '"running": 9' || { tail -20 "$T/log"; echo "FAIL: serve's first pass"; exit 1; }
echo "ok serve on sim hosts answers the API"

# a backup in the schedule's repository (sim hosts have no disk data: web-1's disks made here,
# small), and web-1 busy (an alert fires)
mkdir -p "$T/pools"
for d in root data; do qemu-img create -q -f qcow2 "$T/pools/web-1-$d.qcow2" 16M >/dev/null 2>&1; done
if "$NC" backup run web-1 --state-dir "$T/state" --config "$T/serve.yaml" "$T/spec" >"$T/backup.out" 2>&1; then
	echo "ok a backup of web-1 taken"
else
	cat "$T/backup.out"; echo "FAIL: novacron backup run web-1"
fi
for h in kvm1 kvm2 kvm3; do "$NC" sim --state-dir "$T/state" "$h" load web-1 cpu=0.9 >/dev/null 2>&1; done
for i in $(seq 100); do
	api /api/v1/alerts | grep -q '"state": "firing"' && api "/api/v1/backups?vm=web-1" | grep -q '"vm": "web-1"' && break
	# the backups are read in the background after a pass: a new revision makes one
	[ "$i" = 20 ] && printf '# again\n' >>"$T/spec/alert.yaml"
	sleep 0.3
done
api /api/v1/alerts | grep -q '"state": "firing"' && echo "ok an alert fires" || echo "skip: no alert fired (telemetry on sim hosts)"
api "/api/v1/backups?vm=web-1" | grep -q '"vm": "web-1"' && echo "ok GET /api/v1/backups lists the backup" ||
	{ api "/api/v1/backups?vm=web-1"; echo "FAIL: the backup is not listed"; }
# a write (refused: no such VM), so the audit log has an entry
api /api/v1/me >/dev/null
curl -s -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/v1/vms/nope/backup" >/dev/null

mkdir -p "$T/answers"
python3 test/integration/api-openapi.py docs/openapi.yaml "http://127.0.0.1:$port" "$TOKEN" "$T/answers"
rc=$?
if [ $rc -ne 0 ]; then tail -20 "$T/log"; fi
exit $rc
