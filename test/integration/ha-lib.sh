# ha-lib.sh - sourced by test/integration/ha.sh and bench/ha.sh (from the repository's
# root): the HA testbed and what looks at it.
#   ha_setup          three daemons of test/testbed/libvirtd.sh and the Ceph of ceph.sh in
#                     their network namespace, the guest kernel (ha-guest.S), the spec (hosts
#                     h1..h3, a StoragePool of type rbd, VM vm1 with ha.policy restart and
#                     its disk rbd/vm1-root on the IDE bus), applied with `novacron apply`;
#                     exits 77 (with "skip: WHY") when the machine cannot run it, 1 on a
#                     setup failure.  H: the host vm1 runs on.
#   ha_serve_config YAML   serve.yaml: the spec directory, stateDir, the rbd fence device
#                     "ceph" (its own cephx user), the connections; YAML is added (timings)
#   ha_start_serve / ha_stop_serve   `novacron serve` in the namespace, by its PID
# The caller sets NAME (log prefix) before sourcing.  NC_IT_KEEP=1 keeps the testbed.
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-ht-XXXXXX)
LV=$T/lv
NS=
SERVE=
PORT=
fails=0
export NC_LV_ADDR_PREFIX=${NC_LV_ADDR_PREFIX:-127.0.114} NC_LV_MIG_PORT_BASE=${NC_LV_MIG_PORT_BASE:-51000}
export NC_LV_TCP_BASE=${NC_LV_TCP_BASE:-16640}

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
say()  { printf '[%s %s] %s\n' "${NAME:-ha}" "$(date +%T.%N | cut -c1-12)" "$*" >&2; }

ha_cleanup() {
	ha_stop_serve
	if [ "${NC_IT_KEEP:-0}" = 1 ]; then
		echo "kept: $T (stop with: $NS bash test/testbed/ceph.sh down $T/ceph; bash test/testbed/libvirtd.sh down $LV)"
		return
	fi
	[ -n "$NS" ] && $NS bash test/testbed/ceph.sh down "$T/ceph" >/dev/null 2>&1
	bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1
	rm -rf "$T"
}
trap ha_cleanup EXIT

ceph_() { $NS ceph -c "$CONF" "$@"; }
rbd_()  { $NS rbd -c "$CONF" "$@"; }
uri_()  { local u="NC_HOST${1}_URI"; echo "${!u}"; }
virsh_() { local h=$1; shift; timeout 20 virsh -c "$(uri_ "$h")" "$@"; }
nc()    { $NS "$NC" "$@" "$T/spec" --state-dir "$T/st"; }

ha_setup() {
	[ -x "$NC" ] || { echo "FAIL: $NC is not built (cmake --build build)"; exit 1; }
	bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
	if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
		echo "skip: $why"
		exit 77
	fi
	if ! why=$(bash test/testbed/ceph.sh check 2>&1); then
		echo "skip: $why"
		exit 77
	fi
	[ -e /usr/lib/x86_64-linux-gnu/qemu/block-rbd.so ] ||
		{ echo "skip: QEMU has no rbd driver (qemu-block-extra)"; exit 77; }
	command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build the guest"; exit 77; }

	# the guest: built before anything starts
	gcc -m32 -c test/integration/ha-guest.S -o "$T/guest.o" &&
		ld -m elf_i386 -Ttext=0x100000 -e _start -o "$T/guest.elf" "$T/guest.o" ||
		{ echo "FAIL: cannot build the guest kernel (ha-guest.S)"; exit 1; }

	bash test/testbed/libvirtd.sh up 3 "$LV" >"$T/up.log" 2>&1 ||
		{ cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
	set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
	NS="nsenter --net=/proc/$NC_NETNS_PID/ns/net"
	$NS bash test/testbed/ceph.sh up "$T/ceph" >"$T/ceph-up.log" 2>&1 ||
		{ cat "$T/ceph-up.log"; echo "FAIL: ceph.sh up in the testbed's namespace"; exit 1; }
	CONF=$T/ceph/ceph.conf

	# the operator's side: connections, roots, a cephx user for the VMs' disks and one for
	# the fence device (profile rbd: it may break locks and blocklist, nothing more)
	mkdir -p "$T/secrets" "$T/spec" && chmod 700 "$T/secrets"
	local u
	for u in ncvm ncfence; do
		ceph_ auth get-or-create "client.$u" mon 'profile rbd' osd 'profile rbd pool=rbd' \
			>"$T/secrets/$u.keyring" && chmod 600 "$T/secrets/$u.keyring" || { echo "FAIL: ceph auth $u"; exit 1; }
	done
	{ cat "$NC_CONNECTIONS"; printf 'paths:\n  secrets: ["%s/secrets"]\n  ceph: ["%s/ceph"]\n  boot: ["%s"]\n' "$T" "$T" "$T"; } >"$T/novacron.yaml"
	export NOVACRON_CONFIG=$T/novacron.yaml

	cat >"$T/spec/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h2}
spec: {uri: "$NC_HOST2_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h3}
spec: {uri: "$NC_HOST3_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: ceph}
spec:
  type: rbd
  rbd: {pool: rbd, cephConf: "$CONF", user: ncvm, keyFile: "$T/secrets/ncvm.keyring"}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: vm1}
spec:
  vcpus: 1
  memory: 32MiB
  machine: pc
  boot: {kernel: "$T/guest.elf"}
  disks:
    - {name: root, pool: ceph, size: 16MiB, bus: ide}
  ha: {policy: restart}
YAML
	IMG=rbd/vm1-root

	nc apply --auto-approve >"$T/apply.log" 2>&1 || { cat "$T/apply.log"; echo "FAIL: apply"; exit 1; }
	H=$(running_on_but | head -1)
	[ -n "$H" ] || { cat "$T/apply.log"; echo "FAIL: vm1 not running after apply"; exit 1; }
}

# ---------------------------------------------------------------- helpers
console() { cat "$LV/h$1/log/qemu/vm1-console.log" 2>/dev/null; }
qemu_pid() { cat "$LV/h$1/run/qemu/vm1.pid" 2>/dev/null; }
lvd_pid() { cat "$LV/h$1/libvirtd.pid" 2>/dev/null; }
# the last record the console of host $1 says was written: "BOOTID SEQ"
last_written() { console "$1" | sed -n 's/^NCHA w b=\([0-9]*\) s=\([0-9]*\)\r*$/\1 \2/p' | tail -1; }
# waits up to $2 s for host $1's console to show a written record of a boot after $3
# (the BOOTID it must exceed; 0: any)
wait_writing() {
	local h=$1 secs=$2 after=${3:-0} i l
	for ((i = 0; i < secs * 10; i++)); do
		l=$(last_written "$h")
		[ -n "$l" ] && [ "${l%% *}" -gt "$after" ] && return 0
		sleep 0.1
	done
	return 1
}
# the records on the disk, read with the rbd CLI: "SEQ BOOTID" lines sorted by SEQ
disk_records() {
	# (head stops reading early: rbd's SIGPIPE is no failure)
	{ rbd_ export "$IMG" - 2>/dev/null || true; } | head -c $((4097 * 512)) |
		grep -ao 'NCHA b=[0-9]* s=[0-9]*' | sed 's/^NCHA b=\([0-9]*\) s=\([0-9]*\)/\2 \1/' | sort -n -u
}
# who holds the image's exclusive lock: "LOCKER ADDRESS" (e.g. client.4321 127.0.0.1:0/1234)
lock_owner() { rbd_ lock ls "$IMG" 2>/dev/null | awk '/^client\./ {print $1, $NF}'; }
# running_on_but EXCLUDED...: where vm1 runs, not asking the hosts given (stopped daemons)
running_on_but() {
	local h
	for h in 1 2 3; do
		[[ " $* " == *" $h "* ]] && continue
		[ "$(timeout 5 virsh -c "$(uri_ "$h")" domstate vm1 2>/dev/null)" = running ] && echo "$h"
	done
}
# waits up to 120 s for vm1 to run on a host other than $1 (not asking $1); prints it
wait_restarted() {
	local i r
	for ((i = 0; i < 600; i++)); do
		r=$(running_on_but "$1")
		[ -n "$r" ] && { echo "$r"; return 0; }
		sleep 0.2
	done
	return 1
}
# the boot line of the copy on host $1: "BOOTID LAST"
boot_line() { console "$1" | sed -n 's/^NCHA boot b=\([0-9]*\) last=\([0-9]*\)\r*$/\1 \2/p' | tail -1; }
# is vm1 defined on host $1?
defined_on() { virsh_ "$1" dominfo vm1 >/dev/null 2>&1; }
# the highest SEQ on the disk with BOOTID $1 (0: none)
max_seq_of() { disk_records | awk -v b="$1" '$2 == b {m = $1} END {print m + 0}'; }
# BOOTIDs never go back along SEQ: no two copies ever wrote in turn
no_interleave() { disk_records | awk '$2 < last {bad = 1; print "record " $1 " of boot " $2 " after boot " last} {if ($2 > last) last = $2} END {exit bad}'; }
# a host that returns: waits until serve removed vm1's stale copy from host $1, checking
# at every look that it is not running there (a stale copy must never run again)
wait_stale_gone() {
	local h=$1 i st ran=0
	for ((i = 0; i < 600; i++)); do
		st=$(virsh_ "$h" domstate vm1 2>/dev/null)
		[ -z "$st" ] && ! defined_on "$h" && return $ran
		[ "${2:-}" = was-running ] || { [ "$st" = running ] && ran=1; }
		sleep 0.2
	done
	return 1
}


# ---------------------------------------------------------------- serve
ha_serve_config() {
	PORT=$((20000 + RANDOM % 20000))
	cat >"$T/serve.yaml" <<YAML
source: {directory: "$T/spec"}
cacheDir: "$T/cache"
stateDir: "$T/st"
listen: "127.0.0.1:$PORT"
fencing:
  devices:
    - name: ceph
      type: rbd
      cephConf: "$CONF"
      user: ncfence
      keyFile: "$T/secrets/ncfence.keyring"
$1
YAML
	sed -n '/^connections:/,$p' "$NOVACRON_CONFIG" >>"$T/serve.yaml"
	# the Hosts name the device that fences them
	sed -i "s|^spec: {uri: \"\(.*\)\"}$|spec: {uri: \"\1\", fence: [ceph]}|" "$T/spec/cluster.yaml"
}
ha_start_serve() {
	$NS "$NC" serve --config "$T/serve.yaml" >>"$T/serve.log" 2>&1 &
	SERVE=$!
}
ha_stop_serve() {
	[ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null
	SERVE=
}
status() { $NS curl -s --max-time 5 "http://127.0.0.1:$PORT/status"; }
# jq-like reads of JSON on stdin with python3: q PYTHON-EXPRESSION-ON-d
q() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null; }
# the health serve shows for host h$1 in /status (ha.hosts[].health: ok, suspect, failed)
health() { status | q "[h['health'] for h in d['ha']['hosts'] if h['name'] == 'h$1'][0]"; }
# serve's HA view of host h$1 in /status: "HEALTH FENCED FENCED_BY"
ha_status() { status | q "[' '.join([h['health'], str(h['fenced']), str(h['fenced_by'])]) for h in d['ha']['hosts'] if h['name'] == 'h$1'][0]"; }
metric() { $NS curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
log_lines() { wc -l <"$T/serve.log"; }
# the number of the first line of serve's log after line $1 that matches $2 (0: none)
log_line_of() { tail -n +"$(($1 + 1))" "$T/serve.log" | grep -n -m1 -E "$2" | cut -d: -f1 | awk -v f="$1" '{print $1 + f} END {if (!NR) print 0}'; }
# serve's log after line $1: host h$2 fenced before vm1 was restarted on another host
fenced_before_restart() {
	local f r
	f=$(log_line_of "$1" "host h$2 fenced by ")
	r=$(log_line_of "$1" "recover vm1 on h[0-9]+ \.\.\. done")
	[ "$f" -gt 0 ] && [ "$r" -gt "$f" ]
}
# host h$1's entry of the HA record (STATE_DIR/ha.json), "None" when it has none
ha_entry() { [ -s "$T/st/ha.json" ] && q "[h for h in d['hosts'] if h['name'] == 'h$1'] or None" <"$T/st/ha.json" || echo None; }
