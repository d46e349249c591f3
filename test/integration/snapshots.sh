#!/usr/bin/env bash
# Integration test of declared snapshots and `novacron snapshot` on one real libvirt
# daemon (test/testbed/libvirtd.sh) with a QEMU guest under TCG (docs/storage.md "Snapshots"):
#   * a stopped VM: a declared snapshot is taken inside its qcow2 disk (disks only, state
#     shutoff); data written after it with qemu-io is gone after `snapshot revert` (the
#     bytes of the snapshot read back);
#   * the VM running: a snapshot with memory (state running); the guest powered off and
#     its disk overwritten, `snapshot revert` brings the guest back running from the
#     snapshot's memory, and its disk holds the snapshot's bytes;
#   * revert refuses the running VM without --force-stop (nothing changed), and the
#     VM's disk in a pool without snapshot support is refused before anything is touched;
#   * a snapshot no longer declared is deleted (from libvirt and from the qcow2 file);
#   * a snapshot made by hand with virsh is listed as not NovaCron's and left alone;
#   * `backup run --snapshot` reads the disk as it was in a snapshot (the VM stopped, and
#     running: qemu-nbd --load-snapshot --force-share): restored in place, the disk holds
#     the snapshot's bytes, not the live ones.
# Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-snap-XXXXXX)
LV=$T/lv
fails=0

cleanup() { bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
	echo "skip: $why"
	exit 77
fi
command -v qemu-io >/dev/null || { echo "skip: no qemu-io (qemu-utils)"; exit 77; }
bash test/testbed/libvirtd.sh up 1 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  pools: ["%s"]\n  backups: ["%s"]\n' "$T" "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

# (in pipes, grep reads all its input: with pipefail, grep -q stopping early can SIGPIPE the writer)
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
DISK=$T/pool/web-root.qcow2
# qemu-io / qemu-img inside the daemon's mount namespace (its /var/lib/libvirt/images is private)
qio() { nsenter --mount="/proc/$NC_HOST1_PID/ns/mnt" qemu-io -f qcow2 "$@"; }
qimg() { nsenter --mount="/proc/$NC_HOST1_PID/ns/mnt" qemu-img "$@"; }
holds() { qio -c "read -P $1 0 1M" "$DISK" >/dev/null 2>&1; }
vsh() { virsh -q -c "$NC_HOST1_URI" "$@"; }
state() { vsh domstate web 2>/dev/null | head -1; }

mkdir -p "$T/spec"
spec() {   # spec STATE [SNAPSHOT-ITEMS...]
	local st=$1; shift
	{
	cat <<YAML
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
  vms: [web]
  target: {type: dir, path: "$T/repo"}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: web}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: $st
  backupSchedule: nightly
  disks:
    - {name: root, pool: local, size: 64MiB}
YAML
	if [ $# -gt 0 ]; then
		echo "  snapshots:"
		for s in "$@"; do echo "    - $s"; done
	fi
	} >"$T/spec/cluster.yaml"
}
apply() { "$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/apply.log" 2>&1; }
revert() { "$NC" snapshot revert web "$@" "$T/spec" --state-dir "$T/st" >"$T/revert.log" 2>&1; }
# backup_from SNAPSHOT: backs web up as it was in SNAPSHOT; prints the backup's id
backup_from() {
	# (in $T: backup takes an existing file's name for a spec path, and ./web exists here)
	(cd "$T" && "$NC" backup run web --snapshot "$1" spec --state-dir st >backup.log 2>backup.err) &&
		grep -q "from snapshot $1" "$T/backup.err" && awk '/^web: backup /{print $3}' "$T/backup.log"
}
restore() { (cd "$T" && "$NC" restore web --backup "$1" spec --state-dir st >restore.log 2>&1); }

start=$(date +%s)
spec stopped
apply && ok "a stopped VM with a qcow2 disk" || { cat "$T/apply.log"; fail "create"; }
qio -c 'write -P 0xaa 0 1M' "$DISK" >/dev/null && ok "marker 0xaa written" || fail "qemu-io write 0xaa"

# disk-only snapshot of the shut-off guest
spec stopped "{name: cold}"
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/plan.log" 2>&1
[ $? -eq 2 ] && grep -q "+ snapshot web/cold: create on h1" "$T/plan.log" && ok "plan: snapshot web/cold create" ||
	{ cat "$T/plan.log"; fail "plan of the snapshot"; }
apply && ok "apply takes it" || { cat "$T/apply.log"; fail "apply snapshot cold"; }
vsh snapshot-dumpxml web cold 2>/dev/null | grep "<state>shutoff</state>" >/dev/null && ok "libvirt: snapshot cold, state shutoff (disks only)" ||
	fail "snapshot-info cold"
qimg snapshot -l "$DISK" 2>/dev/null | grep -w cold >/dev/null && ok "qcow2 holds internal snapshot cold" || fail "qemu-img snapshot -l"
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/plan.log" 2>&1 && ok "second plan empty" || { cat "$T/plan.log"; fail "not converged"; }

qio -c 'write -P 0xbb 0 1M' "$DISK" >/dev/null && holds 0xbb && ok "marker 0xbb written after the snapshot" || fail "write 0xbb"
revert cold --yes && holds 0xaa && ok "revert cold: the disk holds 0xaa again" || { cat "$T/revert.log"; fail "revert cold"; }
[ "$(state)" = "shut off" ] && ok "and the VM stays shut off" || fail "state after revert: $(state)"

# a backup from the snapshot, not from the live disk
qio -c 'write -P 0xdd 0 1M' "$DISK" >/dev/null && holds 0xdd && ok "marker 0xdd written (live disk)" || fail "write 0xdd"
ID=$(backup_from cold) && [ -n "$ID" ] && ok "backup run --snapshot cold (VM stopped): $ID" ||
	{ cat "$T/backup.log" "$T/backup.err"; fail "backup from snapshot"; }
[ -n "${ID:-}" ] && restore "$ID" && holds 0xaa && ok "restored in place: the disk holds the snapshot's 0xaa, not 0xdd" ||
	{ cat "$T/restore.log"; fail "restore of the snapshot backup"; }
(cd "$T" && "$NC" backup run web --snapshot nosuch spec --state-dir st >backup.log 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "has no snapshot nosuch" "$T/backup.log" && ok "backup --snapshot of a snapshot the VM lacks: refused" ||
	{ cat "$T/backup.log"; fail "backup of a missing snapshot"; }

# running guest: a snapshot with memory
spec running "{name: cold}" "{name: warm, memory: true}"
apply && [ "$(state)" = running ] && ok "VM started, snapshot warm taken" || { cat "$T/apply.log"; fail "apply warm"; }
vsh snapshot-dumpxml web warm 2>/dev/null | grep "<state>running</state>" >/dev/null && ok "libvirt: snapshot warm, state running (with memory)" ||
	fail "snapshot-info warm"
vsh snapshot-dumpxml web warm 2>/dev/null | grep "<description>novacron: declared" >/dev/null && ok "marked as NovaCron's" ||
	fail "description"

# refused while running without --force-stop; nothing changed
revert cold --yes; rc=$?
[ $rc -eq 1 ] && grep -q "pass --force-stop" "$T/revert.log" && [ "$(state)" = running ] &&
	ok "revert of the running VM refused without --force-stop, still running" || { cat "$T/revert.log"; fail "refusal"; }

ID=$(backup_from warm) && [ -n "$ID" ] && ok "backup run --snapshot warm while the VM runs: $ID" ||
	{ cat "$T/backup.log" "$T/backup.err"; fail "backup from snapshot of a running VM"; }
vsh destroy web >/dev/null && qio -c 'write -P 0xcc 0 1M' "$DISK" >/dev/null && holds 0xcc && ok "powered off, 0xcc written" ||
	fail "destroy + write 0xcc"
[ -n "${ID:-}" ] && restore "$ID" && holds 0xaa && qio -c 'write -P 0xcc 0 1M' "$DISK" >/dev/null &&
	ok "that backup restored holds the snapshot's 0xaa" || { cat "$T/restore.log"; fail "restore of the live snapshot backup"; }
revert warm --yes && [ "$(state)" = running ] && ok "revert warm: the guest runs again from the snapshot's memory" ||
	{ cat "$T/revert.log"; fail "revert warm ($(state))"; }
vsh destroy web >/dev/null; holds 0xaa && ok "its disk holds the snapshot's bytes (0xaa)" || fail "disk after revert warm"
vsh start web >/dev/null
revert cold --force-stop --yes && [ "$(state)" = running ] && holds 0xaa 2>/dev/null; rc=$?
grep -q "start the VM again" "$T/revert.log" && [ "$(state)" = running ] && ok "revert --force-stop of a running VM to a disk-only snapshot: stopped, reverted, started" ||
	{ cat "$T/revert.log"; fail "force-stop revert"; }

# a snapshot made by hand is not NovaCron's
vsh destroy web >/dev/null
vsh snapshot-create-as web byhand >/dev/null 2>&1 && ok "a snapshot made by hand with virsh" || fail "virsh snapshot-create-as"
"$NC" snapshot list web "$T/spec" --state-dir "$T/st" >"$T/list.log" 2>&1
grep -q "byhand.*not novacron (left alone)" "$T/list.log" && grep -q "warm.*novacron (declared)" "$T/list.log" &&
	ok "snapshot list: byhand not NovaCron's, warm declared" || { cat "$T/list.log"; fail "list"; }

# no longer declared: deleted; byhand left alone
spec stopped "{name: warm, memory: true}"
apply && ! vsh snapshot-info web cold >/dev/null 2>&1 && vsh snapshot-info web byhand >/dev/null 2>&1 &&
	ok "cold deleted (no longer declared), byhand left alone" || { cat "$T/apply.log"; fail "delete cold"; }
qimg snapshot -l "$DISK" 2>/dev/null | grep -w cold >/dev/null && fail "cold still in the qcow2 file" || ok "cold gone from the qcow2 file too"
grep -q "not taken by NovaCron, left alone: byhand" "$T/apply.log" && ok "the plan listed byhand as not NovaCron's" ||
	{ cat "$T/apply.log"; fail "note about byhand"; }

# a pool without snapshot support: refused, nothing changed
sed -i 's|spec: {type: dir, path: "'"$T"'/pool"}|spec: {type: rbd, rbd: {pool: rbd}}|; /snapshots:/,$d' "$T/spec/cluster.yaml"
sum1=$(qimg snapshot -l "$DISK" | md5sum)
revert warm --yes; rc=$?
[ $rc -eq 1 ] && grep -q "of type rbd, whose volumes NovaCron cannot snapshot or revert; nothing was changed" "$T/revert.log" &&
	[ "$(qimg snapshot -l "$DISK" | md5sum)" = "$sum1" ] && ok "revert of a VM whose disk is in an rbd pool: refused, nothing changed" ||
	{ cat "$T/revert.log"; fail "unsupported pool"; }

echo "# $(( $(date +%s) - start )) s"
[ $fails -eq 0 ] || exit 1
exit 0
