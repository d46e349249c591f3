#!/usr/bin/env bash
# Integration test of high availability (docs/ha.md) on real libvirt daemons and a real Ceph:
# three hosts of test/testbed/libvirtd.sh and the single-node Ceph of test/testbed/ceph.sh,
# all in the testbed's network namespace.  The guest (ha-guest.S, a tiny kernel booted
# directly, under TCG) has one disk, an RBD image with exclusive-lock (the default
# features), opened by QEMU's rbd driver; it writes a record "NCHA b=BOOTID s=SEQ" every
# 200 ms (a ring of the last 4096 plus the latest at sector 0) and prints each write and
# each refused write on its serial console, which libvirt logs on the host.
#
# 0. the physics of fencing, by hand with the rbd CLI: QEMU stopped (SIGSTOP), its
#    exclusive lock broken (`rbd lock rm`), QEMU continued (SIGCONT): Ceph blocklists the
#    client and its next write is refused (the console says so), nothing of it lands.
#
# Exit 0 passed, 1 failed, 77 skipped (the reason on a "skip:" line).
# NC_IT_KEEP=1 keeps the testbed (and says where) for a look.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-ht-XXXXXX)
LV=$T/lv
NS=
fails=0
export NC_LV_ADDR_PREFIX=${NC_LV_ADDR_PREFIX:-127.0.114} NC_LV_MIG_PORT_BASE=${NC_LV_MIG_PORT_BASE:-51000}
export NC_LV_TCP_BASE=${NC_LV_TCP_BASE:-16640}

cleanup() {
	if [ "${NC_IT_KEEP:-0}" = 1 ]; then
		echo "kept: $T (stop with: $NS bash test/testbed/ceph.sh down $T/ceph; bash test/testbed/libvirtd.sh down $LV)"
		return
	fi
	[ -n "$NS" ] && $NS bash test/testbed/ceph.sh down "$T/ceph" >/dev/null 2>&1
	bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

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

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
say()  { printf '[ha.sh %s] %s\n' "$(date +%T.%N | cut -c1-12)" "$*" >&2; }

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
ceph_() { $NS ceph -c "$CONF" "$@"; }
rbd_()  { $NS rbd -c "$CONF" "$@"; }
uri_() { local u="NC_HOST${1}_URI"; echo "${!u}"; }
virsh_() { local h=$1; shift; timeout 20 virsh -c "$(uri_ "$h")" "$@"; }
nc()    { $NS "$NC" "$@" "$T/spec" --state-dir "$T/st"; }

# the operator's side: connections, roots, a cephx user for the VMs' disks
mkdir -p "$T/secrets" "$T/spec" && chmod 700 "$T/secrets"
ceph_ auth get-or-create client.ncvm mon 'profile rbd' osd 'profile rbd pool=rbd' \
	>"$T/secrets/ncvm.keyring" && chmod 600 "$T/secrets/ncvm.keyring" || { echo "FAIL: ceph auth"; exit 1; }
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

# ---------------------------------------------------------------- helpers
# where vm1 runs now (virsh on every daemon that answers): h1, h2... or nothing
running_on() {
	local h
	for h in 1 2 3; do
		[ "$(timeout 5 virsh -c "$(uri_ "$h")" domstate vm1 2>/dev/null)" = running ] && echo "$h"
	done
}
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
	rbd_ export "$IMG" - 2>/dev/null | head -c $((4097 * 512)) |
		grep -ao 'NCHA b=[0-9]* s=[0-9]*' | sed 's/^NCHA b=\([0-9]*\) s=\([0-9]*\)/\2 \1/' | sort -n -u
}
# who holds the image's exclusive lock: "LOCKER ADDRESS" (e.g. client.4321 127.0.0.1:0/1234)
lock_owner() { rbd_ lock ls "$IMG" 2>/dev/null | awk '/^client\./ {print $1, $NF}'; }

# ---------------------------------------------------------------- start
nc apply --auto-approve >"$T/a1.log" 2>&1 || { cat "$T/a1.log"; fail "apply"; }
H=$(running_on | head -1)
[ -n "$H" ] && ok "vm1 created and running on h$H" || { cat "$T/a1.log"; fail "vm1 not running"; exit 1; }
wait_writing "$H" 30 && ok "the guest writes its counter to its RBD disk ($(last_written "$H"))" ||
	{ console "$H" | tail -5; fail "the guest does not write"; exit 1; }
F=$(rbd_ info "$IMG" | sed -n 's/^[[:space:]]*features: //p')
grep -q exclusive-lock <<<"$F" && ok "the image has exclusive-lock ($F)" || fail "no exclusive-lock on $IMG: $F"
L=$(lock_owner)
[ -n "$L" ] && ok "QEMU holds the image's exclusive lock ($L)" || { rbd_ lock ls "$IMG"; fail "no lock owner"; }

# ---------------------------------------------------------------- 0. the physics
# SIGSTOP QEMU, break its lock by hand, SIGCONT: its next write is refused
Q=$(qemu_pid "$H")
BOOT=$(last_written "$H"); BOOT=${BOOT%% *}
kill -STOP "$Q"
read -r LOCKER ADDR <<<"$(lock_owner)"
LOCKID=$(rbd_ lock ls "$IMG" | awk -v l="$LOCKER" '$1 == l {print $2, $3}')
rbd_ lock rm "$IMG" "$LOCKID" "$LOCKER" >"$T/lockrm.log" 2>&1 && ok "rbd lock rm broke $LOCKER's lock" ||
	{ cat "$T/lockrm.log"; fail "rbd lock rm"; }
BL=$(ceph_ osd blocklist ls 2>&1)
grep -qF "${ADDR}" <<<"$BL" && ok "ceph osd blocklist ls lists the stopped QEMU's client ($ADDR)" ||
	{ echo "$BL"; fail "$ADDR not in the blocklist"; }
BEFORE=$(disk_records | awk -v b="$BOOT" '$2 == b' | tail -1)
kill -CONT "$Q"
for _ in $(seq 100); do console "$H" | grep -q '^NCHA err' && break; sleep 0.1; done
E=$(console "$H" | grep -a '^NCHA err' | head -1)
[ -n "$E" ] && ok "the continued QEMU's next write is refused: $E" ||
	{ console "$H" | tail -5; fail "no write error after the lock break"; }
AFTER=$(disk_records | awk -v b="$BOOT" '$2 == b' | tail -1)
[ "$BEFORE" = "$AFTER" ] && ok "nothing of the fenced QEMU landed on the disk after the break (last record $AFTER)" ||
	fail "the fenced QEMU wrote on: before the break $BEFORE, now $AFTER"

# ---------------------------------------------------------------- serve
# a fresh QEMU for vm1 (the fenced one can never write again): by hand, on the same host
virsh_ "$H" destroy vm1 >/dev/null 2>&1
virsh_ "$H" start vm1 >/dev/null 2>&1 && wait_writing "$H" 30 "$BOOT" &&
	ok "vm1 started again on h$H by hand, the new QEMU writes ($(last_written "$H"))" ||
	{ console "$H" | tail -5; fail "vm1 does not write again after its restart"; exit 1; }

# the fence device's own cephx user: may break locks and blocklist (profile rbd), nothing more
ceph_ auth get-or-create client.ncfence mon 'profile rbd' osd 'profile rbd pool=rbd' \
	>"$T/secrets/ncfence.keyring" && chmod 600 "$T/secrets/ncfence.keyring" || { echo "FAIL: ceph auth ncfence"; exit 1; }
PORT=$((20000 + RANDOM % 20000))
sed -i "s|^spec: {uri: \"\(.*\)\"}$|spec: {uri: \"\1\", fence: [ceph]}|" "$T/spec/cluster.yaml"
cat >"$T/serve.yaml" <<YAML
source: {directory: "$T/spec"}
cacheDir: "$T/cache"
stateDir: "$T/st"
interval: 1s
driftInterval: 2s
hostTimeout: 2s
listen: "127.0.0.1:$PORT"
ha:
  checkInterval: 500ms
fencing:
  devices:
    - name: ceph
      type: rbd
      cephConf: "$CONF"
      user: ncfence
      keyFile: "$T/secrets/ncfence.keyring"
YAML
sed -n '/^connections:/,$p' "$NOVACRON_CONFIG" >>"$T/serve.yaml"
if ! why=$("$NC" serve --config "$T/serve.yaml" --check 2>&1); then
	echo "skip: serve does not take an ha: and fencing: configuration yet (issue 12): $(grep -m1 error: <<<"$why")"
	[ $fails = 0 ] && exit 0
	exit 1
fi

[ $fails = 0 ]
