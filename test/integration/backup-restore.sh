#!/usr/bin/env bash
# Integration test of storage pools, backups and restores on a real libvirt
# daemon running a QEMU (TCG) guest, with the novacron CLI:
#   apply creates the VM's disk as a copy-on-write qcow2 clone of a base image
#   in a dir pool; `backup run` takes a live backup through libvirt's backup
#   API (checkpoint + NBD); the disk changes; the next backup is incremental
#   (dirty bitmap) and stores little; `restore --as` writes each backup into
#   a new VM's disk, compared byte for byte with the disk at that point; a
#   backup killed midway leaves a repository that checks clean and the next
#   backup works; a VM with `restore:` in its spec is created from a backup;
#   growing a disk in the spec grows it live, shrinking is refused; a VM with
#   deletionPolicy: delete loses its volume; `serve` runs a BackupSchedule on
#   its cron time (waits for the next minute).
# Uses test/testbed/libvirtd.sh. Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/integration/lv-lib.sh
lv_begin backup
SERVE_PID=
lv_cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	true
}
lv_up 127.0.104

# id N: the id of the N-th backup of VM db in the repository (oldest first)
id() { nc backup list --schedule nightly --vm db -o json | grep -o '"id": "[0-9a-f]*"' | sed -n "${1}p" | cut -d'"' -f4; }
vsize() { qemu-img info -U --output=json "$1" | grep -o '"virtual-size": [0-9]*' | grep -o '[0-9]*$'; }

# a guest that halts at once: it never writes its disk, so the disk changes only when we change it
lv_halt_guest "$T/guest.elf"

# the base image: 32 MiB raw with data in three places
mkdir -p "$T/pool" "$T/spec"
qemu-img create -q -f raw "$T/pool/base.raw" 32M
qemu-io -f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x22 8M 2M' -c 'write -P 0x33 30M 1M' "$T/pool/base.raw" >/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/backup.key"
chmod 600 "$T/backup.key"

# spec DBSIZE [EXTRA VM YAML]
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
  schedule: "* * * * *"
  vms: [db]
  target: {type: dir, path: "$T/repo"}
  encryption: {keyFile: "$T/backup.key"}
  retention: {keepLast: 5}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: db}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  boot: {kernel: "$T/guest.elf"}
  disks:
    - {name: root, pool: local, size: $1, image: "$T/pool/base.raw"}
  backupSchedule: nightly
YAML
	[ -n "${2:-}" ] && printf -- '---\n%s\n' "$2" >>"$T/spec/cluster.yaml"
	return 0
}

# 1. apply: a CoW clone of the base image, and the VM runs
spec 64MiB
nc apply --auto-approve >"$T/a1.log" 2>&1 && ok "apply creates the VM" || { cat "$T/a1.log"; fail "apply"; }
D=$T/pool/db-root.qcow2
[ -f "$D" ] && qemu-img info -U "$D" | grep -q "backing file: $T/pool/base.raw" && [ "$(vsize "$D")" = 67108864 ] &&
	ok "the disk is a 64 MiB copy-on-write clone of the base image" || { qemu-img info -U "$D"; fail "disk clone"; }
[ "$(stat -c %s "$D")" -lt 2000000 ] && ok "the clone holds no copy of the base ($(stat -c %s "$D") bytes)" || fail "clone size $(stat -c %s "$D")"
qemu-img convert -U -O raw "$D" "$T/before.raw"

# 2. a live backup
nc backup run db >"$T/b1.log" 2>"$T/b1.err" && grep -q "db: backup .* on h1 (live" "$T/b1.log" &&
	grep -q "disk root .* full" "$T/b1.log" && ok "backup run: live, full" || { cat "$T/b1.log" "$T/b1.err"; fail "first backup"; }
ID1=$(id 1)
[ -n "$ID1" ] && ok "backup list shows it ($ID1)" || fail "backup list"
grep -rq $'\x11\x11\x11\x11\x11\x11\x11\x11' "$T/repo" && fail "plaintext in the encrypted repository" || ok "the repository holds no plaintext"

# 3. change 3 blocks while the VM is stopped, start it, back up again: incremental
spec 64MiB
sed -i 's/^  backupSchedule: nightly/  backupSchedule: nightly\n  state: stopped/' "$T/spec/cluster.yaml"
nc apply --auto-approve --shutdown-timeout 1 >"$T/a2.log" 2>&1 || { cat "$T/a2.log"; fail "stop"; }
qemu-io -f qcow2 -c 'write -P 0xcd 4M 4k' -c 'write -P 0xce 20M 4k' -c 'write -P 0xcf 50M 4k' "$D" >/dev/null
qemu-img convert -U -O raw "$D" "$T/after.raw"
spec 64MiB
nc apply --auto-approve >"$T/a3.log" 2>&1 || { cat "$T/a3.log"; fail "start"; }
nc backup run db >"$T/b2.log" 2>"$T/b2.err" && grep -q "disk root .* incremental" "$T/b2.log" &&
	ok "the second backup is incremental" || { cat "$T/b2.log" "$T/b2.err"; fail "incremental backup"; }
stored=$(sed -n 's/.*stored \([0-9.]*\) \(B\|KiB\|MiB\).*/\1 \2/p' "$T/b2.log")
case "$stored" in *KiB | *\ B) ok "the increment stored $stored" ;; *) fail "the increment stored $stored" ;; esac
ID2=$(id 2)

# 4. restores, byte for byte
nc restore db --backup "$ID2" --as db-now >"$T/r1.log" 2>&1 &&
	qemu-img compare -q -U -f raw -F qcow2 "$T/after.raw" "$T/pool/db-now-root.qcow2" &&
	ok "restore --as of the newest backup equals the disk now" || { cat "$T/r1.log"; fail "restore newest"; }
nc restore db --backup "${ID1:0:12}" --as db-then >"$T/r2.log" 2>&1 &&
	qemu-img compare -q -U -f raw -F qcow2 "$T/before.raw" "$T/pool/db-then-root.qcow2" &&
	ok "restore --as of the first backup equals the disk then (point in time)" || { cat "$T/r2.log"; fail "restore first"; }
nc restore db --backup "$ID1" >"$T/r3.log" 2>&1
[ $? = 1 ] && grep -q "is running on h1: stop it first" "$T/r3.log" && ok "an in-place restore of a running VM is refused" ||
	{ cat "$T/r3.log"; fail "in-place restore of a running VM"; }

# 5. a backup killed midway (stopped dead at its 2nd read of up to 8 MiB, then kill -9: the libvirt backup
#    job and its checkpoint are left behind) leaves a valid repository; the next one works
spec 64MiB
sed -i 's/^  backupSchedule: nightly/  backupSchedule: nightly\n  state: stopped/' "$T/spec/cluster.yaml"
nc apply --auto-approve --shutdown-timeout 1 >"$T/a5a.log" 2>&1 || { cat "$T/a5a.log"; fail "stop"; }
qemu-io -f qcow2 -c 'write -P 0x5a 2M 3M' -c 'write -P 0x5b 40M 1M' "$D" >/dev/null
qemu-img convert -U -O raw "$D" "$T/after2.raw"
spec 64MiB
nc apply --auto-approve >"$T/a5b.log" 2>&1 || { cat "$T/a5b.log"; fail "start"; }
{ NOVACRON_BACKUP_STALL_AT=2 "$NC" backup run db "$T/spec" --state-dir "$T/st" >"$T/b3.log" 2>"$T/b3.err" &
}
KPID=$!
for _ in $(seq 200); do grep -q "stalled" "$T/b3.err" 2>/dev/null && break; sleep 0.05; done
grep -q "stalled" "$T/b3.err" && kill -9 "$KPID" && ok "a backup killed midway" || { cat "$T/b3.err"; fail "stall"; kill -9 "$KPID"; }
wait "$KPID" 2>/dev/null
nc backup check --schedule nightly --read-data >"$T/c1.log" 2>&1 && grep -q "repository is consistent" "$T/c1.log" &&
	ok "after a killed backup the repository checks clean" || { cat "$T/c1.log"; fail "check after kill"; }
nc backup run db >"$T/b4.log" 2>"$T/b4.err" && ok "the next backup after a killed one works" || { cat "$T/b4.log" "$T/b4.err"; fail "backup after kill"; }
ID4=$(nc backup list --schedule nightly --vm db -o json | grep -o '"id": "[0-9a-f]*"' | tail -1 | cut -d'"' -f4)
nc restore db --backup "$ID4" --as db-later >"$T/r4.log" 2>&1 &&
	qemu-img compare -q -U -f raw -F qcow2 "$T/after2.raw" "$T/pool/db-later-root.qcow2" &&
	ok "... and restores byte for byte" || { cat "$T/r4.log"; fail "restore after kill"; }

# 6. declarative restore: a VM whose spec says restore: is created from the backup
RESTORED="apiVersion: novacron.io/v1
kind: VM
metadata: {name: db2}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  boot: {kernel: \"$T/guest.elf\"}
  disks:
    - {name: root, pool: local, size: 64MiB}
  restore: {backup: \"$ID1\", schedule: nightly}
  deletionPolicy: delete"
spec 64MiB "$RESTORED"
nc plan >"$T/p3b.log"; grep -q "missing disks are restored from backup ${ID1:0:16} (nightly)" "$T/p3b.log" && ok "the plan says the disks come from the backup" || { cat "$T/p3b.log"; fail "restore plan"; }
nc apply --auto-approve >"$T/a4.log" 2>&1 && qemu-img compare -q -U -f raw -F qcow2 "$T/before.raw" "$T/pool/db2-root.qcow2" &&
	ok "a VM with restore: in its spec is created from that backup" || { cat "$T/a4.log"; fail "declarative restore"; }
nc plan >"$T/p4.log"; rc=$?
[ $rc = 0 ] || grep -q "db2" "$T/p4.log" && [ $rc != 1 ] && ok "... and the next plan leaves it alone" || { cat "$T/p4.log"; fail "plan after restore"; }

# 7. grow a disk live; shrinking is refused
spec 96MiB "$RESTORED"
nc plan >"$T/p5.log"; rc=$?
[ $rc = 2 ] && grep -q "disk root size: 64MiB -> 96MiB" "$T/p5.log" && ok "plan shows the disk growing" || { cat "$T/p5.log"; fail "grow plan"; }
nc apply --auto-approve >"$T/a5.log" 2>&1 && { qemu-img convert -U -O raw "$D" "$T/grown.raw" && cmp -n 67108864 "$T/grown.raw" "$T/after2.raw"; } &&
	[ "$(vsize "$D")" = 100663296 ] && ok "apply grows the running VM's disk to 96 MiB and keeps its data" || { cat "$T/a5.log"; fail "grow"; }
spec 32MiB "$RESTORED"
nc plan >"$T/p7.log" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "shrinking a disk is refused" "$T/p7.log" && ok "shrinking is refused with a clear error" || { cat "$T/p7.log"; fail "shrink (exit $rc)"; }
nc apply --auto-approve >"$T/a7.log" 2>&1; rc=$?
[ $rc = 1 ] && [ "$(vsize "$D")" = 100663296 ] && ok "... and apply touches nothing" || { cat "$T/a7.log"; fail "shrink apply (exit $rc)"; }

# 8. deletionPolicy: delete removes the volume with the VM
spec 96MiB "${RESTORED/deletionPolicy: delete/deletionPolicy: delete
  state: absent}"
nc apply --auto-approve >"$T/a8.log" 2>&1 && [ ! -e "$T/pool/db2-root.qcow2" ] && [ -e "$D" ] &&
	ok "deleting a VM with deletionPolicy: delete removes its volume" || { cat "$T/a8.log"; ls "$T/pool"; fail "delete volume"; }

# 9. serve runs the schedule on its cron time ("* * * * *": within a minute)
n_before=$(nc backup list --schedule nightly --vm db -o json | grep -c '"id"')
cat >"$T/serve.yaml" <<YAML
source: {directory: "$T/spec"}
cacheDir: $T/cache
stateDir: $T/st
interval: 1s
driftInterval: 10m
listen: 127.0.0.1:0
YAML
cat "$NOVACRON_CONFIG" >>"$T/serve.yaml"   # serve reads its connections and paths from its own config
{ "$NC" serve --config "$T/serve.yaml" >"$T/serve.log" 2>&1 &
}
SERVE_PID=$!
for _ in $(seq 90); do grep -q "backup db: " "$T/serve.log" && break; sleep 1; done
grep -q "backup db: .*(live" "$T/serve.log" && ok "serve ran the BackupSchedule at its time" || { cat "$T/serve.log"; fail "scheduled backup"; }
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=
n_after=$(nc backup list --schedule nightly --vm db -o json | grep -c '"id"')
[ "$n_after" -gt "$n_before" ] && ok "the repository has the scheduled backup ($n_before -> $n_after)" || fail "backups $n_before -> $n_after"
nc backup check --schedule nightly --read-data >"$T/c2.log" 2>&1 && ok "the repository checks clean at the end" || { cat "$T/c2.log"; fail "final check"; }

[ $fails = 0 ]
