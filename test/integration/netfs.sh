#!/usr/bin/env bash
# Integration test: a netfs StoragePool (docs/storage.md "netfs pools") on two real libvirt
# daemons (test/testbed/libvirtd.sh) sharing one export of a real NFS server
# (test/testbed/nfs.sh: nfs-ganesha, NFSv3, in the daemons' network namespace).
# This machine's kernel has no NFS client, so each daemon's /sbin/mount.nfs is the testbed's
# user-space client on FUSE (test/testbed/nfs-fuse.c, libnfs), bound over it with
# NC_LV_BIND: libvirt's own netfs pool code runs `mount -t nfs 127.0.0.1:/export DIR` and
# gets a real NFS mount (a fuse mount of SERVER:EXPORT in /proc/mounts). What it checks:
#   * apply defines the libvirt netfs pool on h1, mounted, and creates the VM's qcow2 disk
#     in it: the file is on the server's export; a guest (dirty-guest.S) runs on h1;
#   * a drain live-migrates it to h2 with no storage copy: the plan says "(live)" with no
#     copy, h2 mounts the share before the move, the completed job on h2 copied no disk
#     (virsh domjobinfo: no disk bytes), the disk file is the same inode on the server;
#   * the server goes away (ganesha frozen with SIGSTOP: it stops answering, as a hung or
#     cut-off server does): the plan marks h2 degraded with the pool's
#     error, an apply that needs the pool (a new VM's disk) fails cleanly, nothing is
#     deleted or made again (the running guest's domain and disk stay); the server comes
#     back: the next apply converges (the new VM created) and a last plan is empty.
# Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons or the server).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-netfs-XXXXXX)
LV=$T/lv
NFS=$T/nfs
fails=0

cleanup() {
	[ "${NC_IT_KEEP:-0}" = 1 ] && { echo "kept: $T"; return; }
	bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1
	bash test/testbed/nfs.sh down "$NFS" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then echo "skip: $why"; exit 77; fi
if ! why=$(bash test/testbed/nfs.sh check 2>&1); then echo "skip: $why"; exit 77; fi
[ -e /dev/fuse ] && grep -qw fuse /proc/filesystems || { echo "skip: no FUSE (/dev/fuse) for the user-space NFS client"; exit 77; }
[ -e /sbin/mount.nfs ] || { echo "skip: no /sbin/mount.nfs to bind the client over (nfs-common)"; exit 77; }
pkg-config --exists fuse3 libnfs || { echo "skip: libfuse3-dev and libnfs-dev are needed to build the client"; exit 77; }
cc -O2 -Wall -o "$T/mount.nfs" test/testbed/nfs-fuse.c $(pkg-config --cflags --libs fuse3 libnfs) ||
	{ echo "FAIL: cannot build test/testbed/nfs-fuse.c"; exit 1; }
gcc -m32 -c test/integration/dirty-guest.S -o "$T/dirty.o" &&
	ld -m elf_i386 -Ttext=0x100000 -e _start -o "$T/dirty.elf" "$T/dirty.o" || { echo "FAIL: cannot build the guest kernel"; exit 1; }

NC_LV_BIND="$T/mount.nfs:/sbin/mount.nfs" bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 ||
	{ cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
NC_NFS_NETNS=/proc/$(cat "$LV/netns.pid")/ns/net bash test/testbed/nfs.sh up "$NFS" >"$T/nfs.log" 2>&1 ||
	{ cat "$T/nfs.log"; echo "FAIL: nfs.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/nfs.sh env "$NFS")"; set +a
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  pools: [/var/lib/libvirt/images]\n  boot: ["%s"]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
MNT=/var/lib/libvirt/images/nc-nfs
# in host N's mount namespace
inns() { local pid; pid=$(eval echo "\$NC_HOST$1_PID"); shift; nsenter --mount="/proc/$pid/ns/mnt" "$@"; }
# (the output into a variable first: with pipefail, grep -q ending a pipe early fails virsh)
pool_active() { local o; o=$(timeout 20 virsh -c "$1" pool-info novacron-shared 2>/dev/null); grep -q '^State: *running' <<<"$o"; }
running_on() { local o; o=$(timeout 20 virsh -c "$1" domstate "$2" 2>/dev/null); grep -q '^running' <<<"$o"; }
counter() { timeout 20 virsh -c "$1" qemu-monitor-command tiny --hmp 'xp /1wx 0x200000' 2>/dev/null | awk '{print $2}'; }
guest_dirties() {
	local a b i
	for i in $(seq 1 120); do
		a=$(counter "$1"); sleep 0.5; b=$(counter "$1")
		[ -n "$a" ] && [ "$a" != 0x00000000 ] && [ "$a" != "$b" ] && return 0
	done
	return 1
}

mkdir -p "$T/spec"
spec() {   # spec MAINT1 MAINT2 [extra VM yaml]
	cat > "$T/spec/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI", maintenance: $1}
---
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h2}
spec: {uri: "$NC_HOST2_SPEC_URI", maintenance: $2}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: shared}
spec:
  type: netfs
  path: $MNT
  netfs: {server: $NC_NFS_SERVER, export: $NC_NFS_EXPORT, version: 3}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: tiny}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  boot: {kernel: "$T/dirty.elf"}
  disks: [{name: data, pool: shared, size: 16MiB}]
  migration: {timeout: 60s}
${3:-}
YAML
}

# ---- create on h1: the pool mounted by libvirt, the disk on the server
spec false true
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a1.log" 2>&1 && ok "apply: a guest with a disk in the netfs pool" ||
	{ cat "$T/a1.log"; fail "apply"; }
pool_active "$NC_HOST1_URI" && ok "h1: libvirt pool novacron-shared is running" || fail "h1: pool not running"
inns 1 grep -q "^$NC_NFS_SERVER:$NC_NFS_EXPORT $MNT fuse\\." /proc/mounts && ok "h1: libvirt mounted $NC_NFS_SERVER:$NC_NFS_EXPORT at $MNT (mount.nfs)" ||
	{ inns 1 cat /proc/mounts | grep nfs; fail "h1: no NFS mount"; }
[ -f "$NC_NFS_DIR/tiny-data.qcow2" ] && qemu-img info -U "$NC_NFS_DIR/tiny-data.qcow2" | grep -q 'file format: qcow2' &&
	ok "the disk is a qcow2 file on the server's export" || { ls -la "$NC_NFS_DIR"; fail "no disk on the export"; }
running_on "$NC_HOST1_URI" tiny && guest_dirties "$NC_HOST1_URI" && ok "the guest runs on h1" || fail "the guest does not run on h1"
INO=$(stat -c %i "$NC_NFS_DIR/tiny-data.qcow2" 2>/dev/null)

# ---- drain h1: a live migration with no storage copy
spec true false
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p2.log" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "tiny: migrate h1 -> h2 (live" "$T/p2.log" && ! grep -q "copies\|copyStorage full\|copyStorage incremental" "$T/p2.log" &&
	ok "drain plans a live migration that copies no storage" || { cat "$T/p2.log"; fail "drain plan (exit $rc)"; }
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a2.log" 2>&1 && grep -q "migrate tiny h1 -> h2 (live.*done" "$T/a2.log" &&
	ok "live migration h1 -> h2" || { cat "$T/a2.log"; fail "live migration"; }
running_on "$NC_HOST2_URI" tiny && ! running_on "$NC_HOST1_URI" tiny && ok "the guest runs on h2 only" ||
	{ virsh -c "$NC_HOST2_URI" list --all; virsh -c "$NC_HOST1_URI" list --all; fail "after the drain"; }
pool_active "$NC_HOST2_URI" && ok "h2 mounted the share before the move" || { virsh -c "$NC_HOST2_URI" pool-info novacron-shared; fail "h2: pool not running"; }
timeout 20 virsh -c "$NC_HOST2_URI" domjobinfo tiny --completed >"$T/job.log" 2>&1
if grep -q "^Job type: *Completed" "$T/job.log" && ! grep -E "^(Disk|File) (processed|total|remaining):" "$T/job.log" | grep -vq ' 0\.000 B$'; then
	ok "the completed migration job copied no disk ($(grep -c '^Memory' "$T/job.log") memory lines, no disk bytes)"
else
	cat "$T/job.log"; fail "the migration job shows disk data"
fi
[ "$(stat -c %i "$NC_NFS_DIR/tiny-data.qcow2" 2>/dev/null)" = "$INO" ] && ok "the disk is the same file on the server" || fail "the disk file changed"
guest_dirties "$NC_HOST2_URI" && ok "the guest goes on running on h2" || fail "the guest does not run on h2"
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p3.log" 2>&1; rc=$?
[ $rc = 0 ] && ok "no changes after the drain" || { cat "$T/p3.log"; fail "plan after the drain (exit $rc)"; }

# ---- the server goes away during the next pass
bash test/testbed/nfs.sh pause "$NFS" >>"$T/nfs.log" 2>&1
VM2='---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: extra}
spec:
  vcpus: 1
  memory: 64MiB
  state: stopped
  placement: {host: h2}
  disks: [{name: data, pool: shared, size: 16MiB}]'
spec true false "$VM2"
t0=$(date +%s.%N)
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p4.log" 2>&1; rc=$?
secs=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}')
grep -q "h2 .*ok, .*degraded (a netfs pool cannot be read)" "$T/p4.log" &&
	grep -q "warning: host h2 is degraded: storage pool shared: cannot .* $NC_NFS_SERVER:$NC_NFS_EXPORT at $MNT" "$T/p4.log" &&
	ok "server away: the plan marks h2 degraded with the pool's error (${secs}s)" || { cat "$T/p4.log"; fail "degraded plan (exit $rc)"; }
"$NC" plan "$T/spec" --state-dir "$T/st" -o json >"$T/p4.json" 2>&1; python3 - "$T/p4.json" <<'PY' &&
import json, sys
h = [h for h in json.load(open(sys.argv[1]))["hosts"] if h["name"] == "h2"][0]
sys.exit(0 if h["status"] == "ok" and any("storage pool shared: cannot" in d for d in h.get("degraded", [])) else 1)
PY
	ok "the plan JSON: h2 ok, degraded with the pool's error" || { cat "$T/p4.json"; fail "plan JSON does not show h2 degraded"; }
grep -q "^  - \|[1-9][0-9]* to delete\|recreate\|replace" "$T/p4.log" && fail "the plan deletes or remakes something while the server is away" ||
	ok "nothing is planned for deletion or to be made again"
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a4.log" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "create extra on h2 ... failed: storage pool shared: cannot" "$T/a4.log" &&
	ok "apply: the create that needs the pool fails cleanly" || { cat "$T/a4.log"; fail "apply while the server is away (exit $rc)"; }
timeout 20 virsh -c "$NC_HOST2_URI" dominfo tiny >/dev/null 2>&1 && [ -f "$NC_NFS_DIR/tiny-data.qcow2" ] &&
	! timeout 20 virsh -c "$NC_HOST2_URI" dominfo extra >/dev/null 2>&1 &&
	ok "nothing deleted or made again: tiny and its disk kept, extra not defined" || fail "state after the failed apply"

# ---- the server is back: the next pass converges
bash test/testbed/nfs.sh resume "$NFS" >>"$T/nfs.log" 2>&1
# passes until h2 is not degraded any more (the client's connection picks up again)
for i in $(seq 1 20); do
	"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p5.log" 2>&1
	grep -q degraded "$T/p5.log" || break
	sleep 1
done
grep -q degraded "$T/p5.log" && { cat "$T/p5.log"; fail "h2 still degraded 20 s after the server came back"; } ||
	ok "server back: the next plan sees h2 healthy (after $i pass(es))"
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a5.log" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "create extra on h2 ... done" "$T/a5.log" && [ -f "$NC_NFS_DIR/extra-data.qcow2" ] &&
	ok "server back: the next apply creates extra on the share" || { cat "$T/a5.log"; fail "apply after the server came back (exit $rc)"; }
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p6.log" 2>&1; rc=$?
[ $rc = 0 ] && ! grep -q degraded "$T/p6.log" && ok "no changes, h2 not degraded" || { cat "$T/p6.log"; fail "last plan (exit $rc)"; }
running_on "$NC_HOST2_URI" tiny && ok "tiny kept running on h2 through the outage" || fail "tiny is not running on h2"

[ $fails = 0 ]
