#!/usr/bin/env bash
# Integration test of RBD disks with cephx on a real libvirt daemon and a real
# Ceph cluster, with the novacron CLI:
#   a StoragePool of type rbd names a cephx user (allowed pool rbd only) and
#   its key file; apply defines the pool's libvirt secret on the host (value
#   from the key file), creates the VM's volume as that user and starts the
#   VM, whose disk carries <auth> and the cluster's monitors: QEMU opens the
#   image as that user with the key (the cluster requires cephx; the image has
#   QEMU's watcher). The secret is private (libvirt does not give
#   its value back), a second plan has nothing to do, and the key appears in
#   no output, no log of the daemon and no file of the state directory.
# Ceph (test/testbed/ceph.sh) runs in the testbed's network namespace, with
# the daemon and its QEMU guests; novacron runs there too (nsenter).
# (A wrong key is not tried: QEMU's librbd retries it for client_mount_timeout,
# 300 s, before it gives up.)
# Uses test/testbed/libvirtd.sh and ceph.sh. Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-cephx-XXXXXX)
LV=$T/lv
NS=
fails=0

cleanup() {
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
NC_LV_ADDR_PREFIX=127.0.107 bash test/testbed/libvirtd.sh up 1 "$LV" >"$T/up.log" 2>&1 ||
	{ cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
NS="nsenter --net=/proc/$NC_NETNS_PID/ns/net"
$NS bash test/testbed/ceph.sh up "$T/ceph" >"$T/ceph-up.log" 2>&1 ||
	{ cat "$T/ceph-up.log"; echo "FAIL: ceph.sh up in the testbed's namespace"; exit 1; }
CONF=$T/ceph/ceph.conf

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
nc()   { $NS "$NC" "$@" "$T/spec" --state-dir "$T/st"; }
virsh_() { virsh -c "$NC_HOST1_URI" "$@"; }

# the operator's side: connections, roots, and a cephx user that may use pool rbd only
mkdir -p "$T/secrets" "$T/spec" && chmod 700 "$T/secrets"
$NS ceph -c "$CONF" auth get-or-create client.ncvm mon 'profile rbd' osd 'profile rbd pool=rbd' \
	>"$T/secrets/ncvm.keyring" && chmod 600 "$T/secrets/ncvm.keyring" || { echo "FAIL: ceph auth"; exit 1; }
KEY=$(sed -n 's/^[[:space:]]*key = //p' "$T/secrets/ncvm.keyring")
[ ${#KEY} -ge 24 ] || { echo "FAIL: no key in the keyring"; exit 1; }
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  secrets: ["%s/secrets"]\n  ceph: ["%s/ceph"]\n  boot: ["%s"]\n' "$T" "$T" "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

# a guest that halts at once: starting it is what makes QEMU open its disk
printf '\t.text\n\t.align 4\n\t.long 0x1BADB002\n\t.long 0\n\t.long -0x1BADB002\n\t.globl _start\n_start:\n\tcli\n1:\thlt\n\tjmp 1b\n' >"$T/guest.S"
gcc -m32 -c "$T/guest.S" -o "$T/guest.o" && ld -m elf_i386 -Ttext=0x100000 -e _start -o "$T/guest.elf" "$T/guest.o" ||
	{ echo "FAIL: cannot build the guest kernel"; exit 1; }

cat >"$T/spec/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
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
  memory: 64MiB
  machine: pc
  boot: {kernel: "$T/guest.elf"}
  disks:
    - {name: root, pool: ceph, size: 16MiB}
YAML

# 1. plan and apply: the secret first, then the VM, which runs
nc plan -o json >"$T/plan.json" 2>&1; rc=$?
[ $rc = 2 ] && grep -q '"object": "secret"' "$T/plan.json" && ok "plan: create secret ceph, then vm1" ||
	{ cat "$T/plan.json"; fail "plan (exit $rc)"; }
nc apply --auto-approve >"$T/a1.log" 2>&1 && grep -q "create secret ceph on h1 ... done" "$T/a1.log" &&
	ok "apply defines the secret and creates the VM" || { cat "$T/a1.log"; fail "apply"; }
[ "$(virsh_ domstate vm1 2>&1)" = running ] && ok "vm1 runs: QEMU opened its RBD disk" ||
	{ virsh_ domstate vm1; tail -5 "$LV/h1/log/qemu/vm1.log" 2>/dev/null; fail "vm1 not running"; }
W=$($NS rbd -c "$CONF" status rbd/vm1-root 2>&1)
grep -q "watcher=" <<<"$W" && ok "the image has QEMU's watcher" || { echo "$W"; fail "no watcher on rbd/vm1-root"; }
# the cluster requires cephx: QEMU got in as client.ncvm with the key libvirt handed it
QPID=$(cat "$LV/h1/run/qemu/vm1.pid" 2>/dev/null)
Q=$([ -n "$QPID" ] && tr '\0' ' ' <"/proc/$QPID/cmdline" 2>/dev/null)
grep -q '"user":"ncvm"' <<<"$Q" && grep -q '"key-secret":' <<<"$Q" && ok "QEMU opened the image as client.ncvm with the secret" ||
	{ echo "$Q"; fail "QEMU's command line"; }
X=$(virsh_ dumpxml vm1)
grep -q "<auth username='ncvm'>" <<<"$X" && grep -q "<secret type='ceph' uuid=" <<<"$X" &&
	grep -q "<host name='127.0.0.1' port=" <<<"$X" && ok "the disk has <auth> and the monitors as <host>" ||
	{ echo "$X"; fail "disk XML"; }
S=$(virsh_ secret-list 2>&1)
grep -q "ceph novacron-ceph-ceph" <<<"$S" && ok "the host holds secret novacron-ceph-ceph" || { echo "$S"; fail "secret-list"; }
UUID=$(virsh_ secret-list | awk '/novacron-ceph-ceph/ {print $1}')
virsh_ secret-get-value "$UUID" >/dev/null 2>&1 && fail "the secret's value can be read back" ||
	ok "the secret is private (its value cannot be read back)"

# 2. a second pass has nothing to do
nc plan >"$T/p2.log" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "No changes." "$T/p2.log" && ok "a second plan has nothing to do" || { cat "$T/p2.log"; fail "plan 2 (exit $rc)"; }

# 3. the key is nowhere it should not be
if grep -rqF -- "$KEY" "$T/plan.json" "$T/a1.log" "$T/p2.log" "$T/st" "$LV/h1/log" 2>/dev/null; then
	fail "the key appears in: $(grep -rlF -- "$KEY" "$T/plan.json" "$T/a1.log" "$T/p2.log" "$T/st" "$LV/h1/log")"
else
	ok "the key is in no output, no state file and no daemon log"
fi

[ $fails = 0 ]
