#!/usr/bin/env bash
# Integration test of serve's telemetry on a real libvirt daemon (test/testbed/libvirtd.sh)
# running a QEMU (TCG) guest whose CPU load the test drives:
#   the guest (dirty-guest.S, booted directly) spins its one vCPU; `virsh suspend` makes it
#   use none, `virsh resume` busy again (under TCG on a busy machine a spinning vCPU gets
#   anything from 0.3 to 1 CPU: the thresholds leave room).  serve runs with
#   telemetry.interval 1s, an AlertRule `vm cpu_usage > 0.2 for 3s`, and a notify target in the Alertmanager format: a POST
#   receiver this script starts (python3, on loopback).
# Checks: the VM's novacron_vm_cpu_seconds_total advances while it runs and not while it is
# suspended; the alert goes pending -> firing (a notification, Alertmanager's shape) ->
# resolved after the suspend (a notification); /metrics passes `promtool check metrics`;
# `novacron status` shows the alert; the VM's RRD file exists and `novacron graph vm vm1
# cpu_usage` renders a PNG.
# Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons), with a reason.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-tm-XXXXXX)
LV=/tmp/nc-lv-tm
export NC_LV_ADDR_PREFIX=127.0.105 NC_LV_MIG_PORT_BASE=49700
SERVE=
HOOK=
fails=0

cleanup() {
	[ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null
	[ -n "$HOOK" ] && kill "$HOOK" 2>/dev/null && wait "$HOOK" 2>/dev/null
	bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
say()  { printf '[telemetry %s] %s\n' "$(date +%T)" "$*" >&2; }

[ -x "$NC" ] || { echo "FAIL: $NC is not built (cmake --build build)"; exit 1; }
command -v promtool >/dev/null || { echo "FAIL: promtool is not installed (scripts/deps.sh)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed (the notification receiver)"; exit 1; }
bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
	echo "skip: $why"
	exit 77
fi
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build the guest"; exit 77; }
gcc -m32 -c test/integration/dirty-guest.S -o "$T/guest.o" 2>"$T/gcc.log" &&
	ld -m elf_i386 -Ttext=0x100000 -e _start -o "$T/guest.elf" "$T/guest.o" 2>>"$T/gcc.log" ||
	{ cat "$T/gcc.log"; echo "skip: cannot build the 32-bit guest kernel (gcc -m32: gcc-multilib?)"; exit 77; }

bash test/testbed/libvirtd.sh up 1 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
virsh_() { timeout 20 virsh -c "$NC_HOST1_URI" "$@"; }

# ---- the notification receiver: one line per POST body, in $T/hooks
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
HOOK_PORT=$(free_port)
cat >"$T/receiver.py" <<'PY'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
: >"$T/hooks"
python3 "$T/receiver.py" "$HOOK_PORT" "$T/hooks" &
HOOK=$!

# ---- the spec: one host, one VM, one rule
mkdir -p "$T/spec"
cat >"$T/spec/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: vm1, labels: {load: driven}}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  boot: {kernel: "$T/guest.elf"}
---
apiVersion: novacron.io/v1
kind: AlertRule
metadata: {name: vm-cpu-busy}
spec:
  target: vm
  selector: {matchLabels: {load: driven}}
  metric: cpu_usage
  threshold: {op: ">", value: 0.2}
  for: 3s
  severity: warning
  summary: "VM {{ object }} on {{ host }}: CPU {{ value }}"
YAML
PORT=$(free_port)
cat >"$T/serve.yaml" <<YAML
source: {directory: "$T/spec"}
cacheDir: "$T/cache"
stateDir: "$T/st"
listen: "127.0.0.1:$PORT"
interval: 1s
driftInterval: 30s
paths:
  boot: ["$T"]
telemetry:
  interval: 1s
notify:
  - url: "http://127.0.0.1:$HOOK_PORT/alertmanager"
    events: [alert]
    format: alertmanager
YAML
sed -n '/^connections:/,$p' "$NC_CONNECTIONS" >>"$T/serve.yaml"
"$NC" serve --config "$T/serve.yaml" --check >"$T/check.log" 2>&1 || { cat "$T/check.log"; echo "FAIL: serve.yaml"; exit 1; }
"$NC" serve --config "$T/serve.yaml" >>"$T/serve.log" 2>&1 &
SERVE=$!

metrics() { curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics"; }
status() { curl -s --max-time 5 "http://127.0.0.1:$PORT/status"; }
q() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null; }
cpu_seconds() { metrics | awk '$1 ~ /^novacron_vm_cpu_seconds_total\{host="h1",vm="vm1",/ {print $2}'; }
alert_state() { status | q "[a['state'] for a in d['alerts'] if a['rule'] == 'vm-cpu-busy' and a['state'] != 'resolved'] or ['none']" | tr -d "[]'"; }
# waits up to $1 s for command $2... to succeed
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
running() { [ "$(virsh_ domstate vm1 2>/dev/null)" = running ]; }
has_cpu() { [ -n "$(cpu_seconds)" ]; }
state_is() { [ "$(alert_state)" = "$1" ]; }
hook_has() { grep -q "$1" "$T/hooks"; }
# CPU seconds the VM used over $1 s of wall clock (a ratio: never a timing assertion)
cpu_over() {
	local a b t0 t1
	a=$(cpu_seconds); t0=$(date +%s.%N)
	sleep "$1"
	b=$(cpu_seconds); t1=$(date +%s.%N)
	python3 -c "import sys; a,b,t0,t1 = map(float, sys.argv[1:]); print('%.3f' % ((b - a) / (t1 - t0)))" "$a" "$b" "$t0" "$t1"
}

say "serve applies vm1 on h1"
if wait_for 60 running; then ok "serve created and started vm1 on a real daemon"; else
	tail -30 "$T/serve.log"; echo "FAIL: vm1 not running"; exit 1; fi
wait_for 20 has_cpu && ok "/metrics has vm1's CPU counter" || fail "no novacron_vm_cpu_seconds_total for vm1"

say "the guest spins: its CPU series advances"
# under TCG the guest's BIOS runs first (busy too); a second's worth of rounds is enough
r=$(cpu_over 3)
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.1 else 1)" "$r" &&
	ok "running: vm1 used $r CPU seconds per second" || fail "running: vm1's CPU advanced by only $r per second"

say "the alert goes pending, then firing"
if wait_for 15 state_is pending; then ok "alert vm-cpu-busy pending"; else
	state_is firing || fail "alert vm-cpu-busy never pending (state $(alert_state))"; fi
say "pending"
if wait_for 20 state_is firing; then ok "alert vm-cpu-busy firing (cpu_usage > 0.2 for 3s)"; else
	fail "alert vm-cpu-busy not firing (state $(alert_state))"; fi
if wait_for 15 hook_has '"status": *"firing"'; then
	ok "firing notification received"
	grep '"firing"' "$T/hooks" | head -1 | python3 -c '
import json, sys
d = json.loads(sys.stdin.readline())
assert d["version"] == "4" and d["status"] == "firing", d
a = d["alerts"][0]
assert a["labels"]["alertname"] == "vm-cpu-busy" and a["status"] == "firing", a
assert a["startsAt"] and "summary" in a["annotations"], a
' && ok "in the Alertmanager webhook format (version 4, alerts[].labels.alertname)" ||
		fail "the firing notification is not in the Alertmanager format: $(head -c 600 "$T/hooks")"
else
	fail "no firing notification: $(head -c 600 "$T/hooks")"
fi
"$NC" status --url "http://127.0.0.1:$PORT" >"$T/status.txt" 2>&1
grep -q 'alert: .*FIRING.*vm-cpu-busy.*vm1' "$T/status.txt" && grep -q '^telemetry:' "$T/status.txt" &&
	ok "novacron status shows the firing alert and the telemetry line" || { cat "$T/status.txt"; fail "novacron status"; }
metrics >"$T/metrics.txt"
if promtool check metrics <"$T/metrics.txt" >"$T/promtool.log" 2>&1; then
	ok "promtool check metrics passes on the real /metrics ($(wc -l <"$T/metrics.txt") lines)"
else
	fail "promtool check metrics: $(head -20 "$T/promtool.log")"
fi

say "suspend: no CPU, the alert resolves"
virsh_ suspend vm1 >/dev/null || fail "virsh suspend"
sleep 2
r=$(cpu_over 3)
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 0.05 else 1)" "$r" &&
	ok "suspended: vm1 used $r CPU seconds per second" || fail "suspended: vm1's CPU still advanced by $r per second"
if wait_for 20 hook_has '"status": *"resolved"'; then ok "resolved notification received"; else
	fail "no resolved notification (state $(alert_state)): $(tail -c 600 "$T/hooks")"; fi
state_is none && ok "no alert pending or firing after the suspend" || fail "alert state $(alert_state) after the suspend"
virsh_ resume vm1 >/dev/null || fail "virsh resume"
r=$(cpu_over 3)
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.1 else 1)" "$r" &&
	ok "resumed: vm1 uses CPU again ($r per second)" || fail "resumed: vm1's CPU advanced by only $r per second"

say "history and graph"
rrd=$(find "$T/st/telemetry" -name 'vm1.rrd' 2>/dev/null | head -1)
[ -n "$rrd" ] && ok "RRD file ${rrd#"$T"/} exists" || fail "no RRD file for vm1 under stateDir/telemetry: $(find "$T/st/telemetry" 2>/dev/null | head)"
if "$NC" graph vm vm1 cpu_usage --since 5m --state-dir "$T/st" -o "$T/vm1.png" >"$T/graph.log" 2>&1 &&
	[ "$(head -c 8 "$T/vm1.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
	ok "novacron graph vm vm1 cpu_usage renders a PNG ($(stat -c %s "$T/vm1.png") bytes)"
else
	fail "novacron graph: $(head -5 "$T/graph.log")"
fi

kill "$SERVE" && wait "$SERVE"
rc=$?
SERVE=
[ "$rc" = 0 ] && ok "serve stops on SIGTERM (exit 0)" || fail "serve exit $rc on SIGTERM"
grep -q 'alert FIRING: vm-cpu-busy' "$T/serve.log" && grep -q 'alert resolved: vm-cpu-busy' "$T/serve.log" &&
	ok "serve logged both transitions" || { tail -20 "$T/serve.log"; fail "transitions not in serve's log"; }
virsh_ destroy vm1 >/dev/null 2>&1

[ "$fails" = 0 ] || { echo "--- serve log"; tail -40 "$T/serve.log"; }
exit $((fails > 0))
