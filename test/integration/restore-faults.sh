#!/usr/bin/env bash
# Integration test of `novacron restore` when things go wrong, on a real libvirt daemon
# (issue 17, the write path; docs/backup.md "How a restore writes the disk"):
#   - a chunk object damaged in the repository, restore --as (a new volume, written in one
#     pass that checks each chunk as it goes): exit 1 naming the chunk, the new volume is
#     deleted, no domain is defined, the original VM's disk is untouched;
#   - the same damage, restored in place over the VM's existing disk: refused by the verify
#     pass before anything is written, the disk keeps every byte;
#   - the VM's volume smaller than the backup (shrunk with qemu-img resize): the in-place
#     restore grows it and writes the backup byte for byte;
#   - the qemu-nbd writing the new volume killed (by its PID) mid-restore
#     (NOVACRON_RESTORE_STALL_AT stops novacron at a write; continued after the kill): a
#     clear error naming the disk image, the new volume deleted, no domain defined;
#   - restore --as over a volume that is another domain's disk (a name collision): refused
#     before anything is written, that disk keeps every byte;
#   - a declarative restore (a VM with restore: in the spec) whose apply is killed with
#     kill -9 mid-write: the half-written volume carries its marker (VOL.novacron-restore),
#     and the next apply makes it anew, byte for byte, rather than booting on it;
#   - and after all that, restore --as of the good repository is byte for byte.
# Uses test/testbed/libvirtd.sh. Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/integration/lv-lib.sh
lv_begin rsfault
KPID=
lv_cleanup() {
	[ -n "$KPID" ] && { kill -CONT "$KPID"; kill "$KPID"; wait "$KPID"; } 2>/dev/null
	true
}
lv_up 127.0.119

vsh()  { virsh -q -c "$NC_HOST1_URI" "$@"; }
vsize() { qemu-img info -U --output=json "$1" | grep -o '"virtual-size": [0-9]*' | grep -o '[0-9]*$'; }
# the chunk object of a 64 KiB chunk filled with byte \OCT (the repository is not encrypted:
# a chunk's id is the SHA-256 of its bytes; the dir target fans chunks out by 2 hex digits)
chunk_of() { local c; c=$(head -c 65536 /dev/zero | tr '\000' "\\$1" | sha256sum | cut -c1-64); echo "$T/repo/chunks/${c:0:2}/$c"; }
no_copy() {  # NAME: neither its volume nor its domain exists
	[ ! -e "$T/pool/$1-root.qcow2" ] && ! vsh dominfo "$1" >/dev/null 2>&1
}

lv_halt_guest "$T/guest.elf"

# the base image: 32 MiB raw, 1 MiB of 0x11 at 0, 2 MiB of 0x22 at 8 MiB, 1 MiB of 0x33 at 30 MiB
mkdir -p "$T/pool" "$T/spec"
qemu-img create -q -f raw "$T/pool/base.raw" 32M
qemu-io -f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x22 8M 2M' -c 'write -P 0x33 30M 1M' "$T/pool/base.raw" >/dev/null
cat >"$T/spec/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: local}
spec: {type: dir, path: "$T/pool"}
---
apiVersion: novacron.io/v1
kind: BackupSchedule
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  vms: [db]
  target: {type: dir, path: "$T/repo"}
  retention: {keepLast: 5}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: db}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: stopped
  boot: {kernel: "$T/guest.elf"}
  disks:
    - {name: root, pool: local, size: 64MiB, image: "$T/pool/base.raw"}
  backupSchedule: nightly
YAML
D=$T/pool/db-root.qcow2
nc apply --auto-approve >"$T/a1.log" 2>&1 && [ -f "$D" ] || { cat "$T/a1.log"; echo "FAIL apply"; exit 1; }
qemu-img convert -U -O raw "$D" "$T/want.raw"
nc backup run db >"$T/b1.log" 2>&1 || { cat "$T/b1.log"; echo "FAIL backup"; exit 1; }
ID=$(nc backup list --schedule nightly --vm db -o json | grep -o '"id": "[0-9a-f]*"' | head -1 | cut -d'"' -f4)
[ -n "$ID" ] && ok "a backup of the shut-off VM ($ID)" || fail "backup list"
C22=$(chunk_of 042)
[ -f "$C22" ] && ok "the 0x22 chunk is in the repository" || { ls -R "$T/repo" | head; fail "chunk path"; }
cp "$C22" "$T/c22.good"
sum0=$(sha256sum <"$D")

# 1. a damaged chunk, restore --as: stops at the first chunk of 0x22 (chunk 128, 8 MiB), after
#    writing the 0x11 chunks before it; the new volume is deleted, no domain
printf 'X' | dd of="$C22" bs=1 seek=40 conv=notrunc 2>/dev/null
nc restore db --backup "$ID" --as copy >"$T/r1.log" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "disk root: restore ${ID:0:12}: chunk 128 (offset 8388608): chunks/" "$T/r1.log" &&
	grep -q "the new volume copy-root.qcow2 was deleted" "$T/r1.log" &&
	ok "a damaged chunk stops restore --as at that chunk (exit 1) and says the new volume was deleted" ||
	{ cat "$T/r1.log"; fail "damaged chunk, restore --as (exit $rc)"; }
no_copy copy && ok "... no volume and no domain 'copy' are left" || { ls "$T/pool"; fail "leftovers of copy"; }
[ "$(sha256sum <"$D")" = "$sum0" ] && ok "... and the original VM's disk is untouched" || fail "db's disk changed"

# 2. the same damage, in place: the verify pass refuses before anything is written
nc restore db --backup "$ID" >"$T/r2.log" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "chunk 128 (offset 8388608)" "$T/r2.log" && grep -q "nothing was written, db is as it was" "$T/r2.log" &&
	[ "$(sha256sum <"$D")" = "$sum0" ] && ok "in place, the damaged backup is refused and the disk keeps every byte" ||
	{ cat "$T/r2.log"; fail "damaged chunk, in place (exit $rc)"; }
cp "$T/c22.good" "$C22"

# 3. the VM's volume smaller than the backup: the in-place restore grows it and writes it whole
qemu-img resize -q --shrink -f qcow2 "$D" 16M
nc restore db --backup "$ID" >"$T/r3.log" 2>&1 && [ "$(vsize "$D")" = 67108864 ] &&
	qemu-img compare -q -U -f raw -F qcow2 "$T/want.raw" "$D" &&
	ok "a volume smaller than the backup (16 MiB) is grown to 64 MiB and restored byte for byte" ||
	{ cat "$T/r3.log"; qemu-img info -U "$D"; fail "restore into a smaller volume"; }

# 4. the qemu-nbd writing the new volume dies mid-restore (killed by its PID)
{ NOVACRON_RESTORE_STALL_AT=3 "$NC" restore db --backup "$ID" --as copy2 "$T/spec" --state-dir "$T/st" \
	>"$T/r4.log" 2>&1 &
}
KPID=$!
for _ in $(seq 200); do grep -q "stalled at write 3" "$T/r4.log" 2>/dev/null && break; sleep 0.05; done
NBD=$(pgrep -P "$KPID" -x qemu-nbd)
if grep -q "stalled at write 3" "$T/r4.log" && [ -n "$NBD" ]; then
	kill -9 "$NBD"
	for _ in $(seq 100); do kill -0 "$NBD" 2>/dev/null || break; sleep 0.05; done
	kill -CONT "$KPID"
	wait "$KPID"; rc=$?
	KPID=
	[ $rc = 1 ] && grep -q "disk root: disk image $T/pool/copy2-root.qcow2: " "$T/r4.log" &&
		grep -q "the new volume copy2-root.qcow2 was deleted" "$T/r4.log" &&
		ok "qemu-nbd killed mid-restore: exit 1 naming the disk image, the new volume deleted" ||
		{ cat "$T/r4.log"; fail "qemu-nbd killed (exit $rc)"; }
	no_copy copy2 && ok "... no volume and no domain 'copy2' are left" || { ls "$T/pool"; fail "leftovers of copy2"; }
else
	cat "$T/r4.log"; fail "the restore did not stall at its 3rd write with a qemu-nbd child"
	kill -CONT "$KPID"; wait "$KPID"; KPID=
fi

# 5. restore --as NAME where NAME-root.qcow2 exists and is the disk of another domain (names
#    collide: --as "a-b" of disk "root" is VM "a"'s disk "b-root"; here a domain defined outside
#    the spec): refused before anything is written, that disk keeps every byte
qemu-img create -q -f qcow2 "$T/pool/taken-root.qcow2" 64M
qemu-io -f qcow2 -c 'write -P 0x5e 0 64M' "$T/pool/taken-root.qcow2" >/dev/null
vsh pool-refresh novacron-local >/dev/null 2>&1
vsh define /dev/stdin >/dev/null <<XML || fail "define the domain 'other'"
<domain type='qemu'><name>other</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>$T/guest.elf</kernel></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$T/pool/taken-root.qcow2'/>
<target dev='vda' bus='virtio'/></disk><memballoon model='none'/></devices></domain>
XML
sumt=$(sha256sum <"$T/pool/taken-root.qcow2")
nc restore db --backup "$ID" --as taken >"$T/r6.log" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "taken-root.qcow2 already exists and is a disk of domain 'other' on h1: not written over" "$T/r6.log" &&
	[ "$(sha256sum <"$T/pool/taken-root.qcow2")" = "$sumt" ] && ! vsh dominfo taken >/dev/null 2>&1 &&
	ok "restore --as over a volume that is another domain's disk is refused, and that disk keeps every byte" ||
	{ cat "$T/r6.log"; fail "restore --as over another domain's disk (exit $rc)"; }

# 6. a declarative restore killed (kill -9) mid-write: the next apply starts it over
cat >>"$T/spec/cluster.yaml" <<YAML
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: db2}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: stopped
  boot: {kernel: "$T/guest.elf"}
  disks:
    - {name: root, pool: local, size: 64MiB}
  restore: {backup: $ID, schedule: nightly}
YAML
{ NOVACRON_RESTORE_STALL_AT=3 "$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a7.log" 2>&1 & }
KPID=$!
for _ in $(seq 200); do grep -q "stalled at write 3" "$T/a7.log" 2>/dev/null && break; sleep 0.05; done
if grep -q "stalled at write 3" "$T/a7.log"; then
	kill -9 "$KPID"; wait "$KPID" 2>/dev/null; KPID=
	for _ in $(seq 100); do pgrep -f "qemu-nbd.*db2-root" >/dev/null || break; sleep 0.05; done
	[ -f "$T/pool/db2-root.qcow2" ] && [ -f "$T/pool/db2-root.qcow2.novacron-restore" ] &&
		! qemu-img compare -q -U -f raw -F qcow2 "$T/want.raw" "$T/pool/db2-root.qcow2" 2>/dev/null &&
		ok "apply killed mid-restore: a half-written db2-root.qcow2 and its marker are left" ||
		{ cat "$T/a7.log"; ls -l "$T/pool"; fail "the killed restore's leftovers"; }
	vsh pool-refresh novacron-local >/dev/null 2>&1
	nc apply --auto-approve >"$T/a8.log" 2>&1 &&
		qemu-img compare -q -U -f raw -F qcow2 "$T/want.raw" "$T/pool/db2-root.qcow2" &&
		[ ! -e "$T/pool/db2-root.qcow2.novacron-restore" ] && vsh dominfo db2 >/dev/null 2>&1 &&
		ok "the next apply restores db2's disk anew, byte for byte, the marker gone" ||
		{ cat "$T/a8.log"; ls -l "$T/pool"; fail "the next apply after the killed restore"; }
else
	cat "$T/a7.log"; fail "the apply did not stall at its 3rd write"
	kill -CONT "$KPID"; kill -9 "$KPID"; wait "$KPID" 2>/dev/null; KPID=
fi

# 7. the good repository restores byte for byte, and checks clean
nc restore db --backup "$ID" --as copy3 >"$T/r5.log" 2>&1 &&
	qemu-img compare -q -U -f raw -F qcow2 "$T/want.raw" "$T/pool/copy3-root.qcow2" &&
	ok "after all that, restore --as is byte for byte" || { cat "$T/r5.log"; fail "restore --as"; }
nc backup check --schedule nightly --read-data >"$T/c1.log" 2>&1 && ok "the repository checks clean" ||
	{ cat "$T/c1.log"; fail "check"; }

[ $fails = 0 ]
