#!/usr/bin/env bash
# Integration test of `novacron backup run` of a shut-off VM (its disk read through a
# read-only qemu-nbd, docs/backup.md "How a backup reads the disk") when things go wrong,
# on a real libvirt daemon (issue 17, "Bad input and faults"):
#   - the disk changes size between backups (grown, then shrunk with qemu-img resize):
#     each backup reads the disk whole at its new size and restores byte for byte;
#   - the qemu-nbd serving the disk is killed (by its PID) in the middle of the backup:
#     the backup fails naming the VM and disk, the repository checks clean, the next
#     backup works and restores byte for byte;
#   - the target's file system fills up mid-backup (a real 32 MiB ext4 on a loop device;
#     where no loop device can be mounted, RLIMIT_FSIZE through prlimit makes write()
#     fail with EFBIG instead, and the test says which): a clear error, the repository
#     checks clean, and once there is room the next backup works.
# Uses test/testbed/libvirtd.sh. Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/integration/lv-lib.sh
lv_begin bkfault
MOUNTED=
lv_cleanup() {
	[ -n "$MOUNTED" ] && umount "$T/small" 2>/dev/null
	true
}
lv_up 127.0.118

# restored_equal NAME WANT LOG: restore the backup that `backup run` wrote LOG about as VM NAME
# and compare its disk with the raw file WANT (two backups can share a second: by id, not time)
restored_equal() {
	local name=$1 want=$2 id
	id=$(sed -n 's/^db: backup \([0-9a-f]*\) on h1.*/\1/p' "$3" | tail -1)
	[ -n "$id" ] || { echo "no backup id in $3"; return 1; }
	nc restore db --backup "$id" --as "$name" >"$T/r-$name.log" 2>&1 &&
		qemu-img compare -q -U -f raw -F qcow2 "$want" "$T/pool/$name-root.qcow2" ||
		{ cat "$T/r-$name.log"; return 1; }
}

lv_halt_guest "$T/guest.elf"

# the base image: 64 MiB raw, 12 MiB of random data (does not compress: fills a target),
# so a backup reads it in 2 runs (8 MiB + 4 MiB) and skips the zeros
mkdir -p "$T/pool" "$T/spec" "$T/small"
qemu-img create -q -f raw "$T/pool/base.raw" 64M
head -c 12M /dev/urandom | dd of="$T/pool/base.raw" bs=1M seek=4 conv=notrunc status=none

# spec REPO: the VM, stopped, backed up to the dir repository REPO
spec() {
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
  target: {type: dir, path: "$1"}
  retention: {keepLast: 10}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: db}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  boot: {kernel: "$T/guest.elf"}
  state: stopped
  disks:
    - {name: root, pool: local, size: 64MiB, image: "$T/pool/base.raw"}
  backupSchedule: nightly
YAML
}

spec "$T/repo"
nc apply --auto-approve >"$T/a1.log" 2>&1 && ok "apply creates the stopped VM" || { cat "$T/a1.log"; fail "apply"; exit 1; }
D=$T/pool/db-root.qcow2

# 1. the disk changes size between backups
nc backup run db >"$T/b1.log" 2>&1 && ok "first backup (64 MiB)" || { cat "$T/b1.log"; fail "first backup"; }
qemu-img resize -q -f qcow2 "$D" 80M && qemu-io -f qcow2 -c 'write -P 0x77 70M 1M' "$D" >/dev/null
qemu-img convert -U -O raw "$D" "$T/grown.raw"
nc backup run db >"$T/b2.log" 2>&1 && grep -q "disk root .*full  read 1[0-9]\.[0-9] MiB" "$T/b2.log" &&
	ok "after the disk grew to 80 MiB: a full backup reads only its data ($(grep -o "read [0-9.]* MiB" "$T/b2.log"))" || { cat "$T/b2.log"; fail "backup after growth"; }
restored_equal db-grown "$T/grown.raw" "$T/b2.log" && ok "... and restores the 80 MiB disk byte for byte" || fail "restore after growth"
qemu-img resize -q -f qcow2 --shrink "$D" 48M
qemu-img convert -U -O raw "$D" "$T/shrunk.raw"
nc backup run db >"$T/b3.log" 2>&1 && ok "after the disk shrank to 48 MiB: backup" || { cat "$T/b3.log"; fail "backup after shrink"; }
restored_equal db-shrunk "$T/shrunk.raw" "$T/b3.log" && ok "... and restores the 48 MiB disk byte for byte" || fail "restore after shrink"

# 2. qemu-nbd dies mid-read: the backup stops at its 2nd read until $T/go exists; meanwhile
#    the qemu-nbd it started (its child) is killed by PID
qemu-io -f qcow2 -c 'write -P 0x31 5M 64k' "$D" >/dev/null
qemu-img convert -U -O raw "$D" "$T/now.raw"
{ NOVACRON_BACKUP_STALL_AT=2 NOVACRON_BACKUP_STALL_UNTIL="$T/go" "$NC" backup run db "$T/spec" --state-dir "$T/st" \
	>"$T/b4.log" 2>"$T/b4.err" &
}
BPID=$!
for _ in $(seq 300); do grep -q "stalled" "$T/b4.err" 2>/dev/null && break; sleep 0.05; done
QPID=$(pgrep -P "$BPID" -x qemu-nbd | head -1)
if grep -q "stalled" "$T/b4.err" && [ -n "$QPID" ]; then
	kill -9 "$QPID"
	touch "$T/go"
	wait "$BPID"
	rc=$?
	[ $rc = 1 ] && grep -q "VM db disk root: NBD read" "$T/b4.log" "$T/b4.err" &&
		ok "qemu-nbd killed mid-read: the backup fails naming the disk ($(grep -ho 'VM db disk root: NBD read[^;]*' "$T/b4.log" "$T/b4.err" | head -1 | cut -c1-80))" ||
		{ cat "$T/b4.log" "$T/b4.err"; fail "qemu-nbd killed (exit $rc)"; }
else
	cat "$T/b4.err"
	fail "the backup did not stall with a qemu-nbd child"
	touch "$T/go"
	kill -9 "$BPID" 2>/dev/null
	wait "$BPID" 2>/dev/null
fi
nc backup check --schedule nightly --read-data >"$T/c1.log" 2>&1 && grep -q "repository is consistent" "$T/c1.log" &&
	ok "... the repository checks clean" || { cat "$T/c1.log"; fail "check after qemu-nbd died"; }
nc backup run db >"$T/b5.log" 2>&1 && ok "... the next backup works" || { cat "$T/b5.log"; fail "backup after qemu-nbd died"; }
restored_equal db-after "$T/now.raw" "$T/b5.log" && ok "... and restores byte for byte" || fail "restore after qemu-nbd died"

# 3. the target fills up mid-backup
how=
if command -v mkfs.ext4 >/dev/null && truncate -s 32M "$T/small.img" && mkfs.ext4 -q -F "$T/small.img" 2>/dev/null &&
	mount -o loop "$T/small.img" "$T/small" 2>/dev/null; then
	MOUNTED=1
	how="a full 32 MiB ext4 file system (loop device)"
	# leave ~6 MiB: less than the 12 MiB of random data
	avail=$(df -k --output=avail "$T/small" | tail -1)
	fallocate -l $(( (avail - 6 * 1024) * 1024 )) "$T/small/ballast"
	spec "$T/small/repo"
	nc backup run db >"$T/b6.log" 2>&1
	rc=$?
	msg="No space left on device"
else
	how="RLIMIT_FSIZE 16 KiB (prlimit --fsize: write() fails with EFBIG; no loop device could be mounted)"
	spec "$T/small/repo"
	( trap '' XFSZ; exec prlimit --fsize=16384 "$NC" backup run db "$T/spec" --state-dir "$T/st" ) >"$T/b6.log" 2>&1
	rc=$?
	msg="File too large"
fi
[ $rc = 1 ] && grep -q "VM db disk root: .*$msg" "$T/b6.log" &&
	ok "the target filling up mid-backup ($how): the backup fails: $(grep -o "VM db disk root: .*" "$T/b6.log" | head -1 | cut -c1-100)" ||
	{ cat "$T/b6.log"; fail "target full (exit $rc)"; }
nc backup check --schedule nightly --read-data >"$T/c2.log" 2>&1 && grep -q "repository is consistent" "$T/c2.log" &&
	ok "... the repository checks clean" || { cat "$T/c2.log"; fail "check after target full"; }
rm -f "$T/small/ballast"
nc backup run db >"$T/b7.log" 2>&1 && ok "... with room again, the next backup works" || { cat "$T/b7.log"; fail "backup after target full"; }
restored_equal db-room "$T/now.raw" "$T/b7.log" && ok "... and restores byte for byte" || fail "restore after target full"

[ $fails = 0 ] && exit 0 || exit 1
