#!/usr/bin/env bash
# bench/xcluster.sh - a VM with a 2 GiB disk moved between two clusters (one real libvirt daemon
# each, test/testbed/libvirtd.sh) whose destination repository already holds yesterday's backup
# of it, against a plain `virsh migrate --live --p2p --copy-storage-all` of the same VM.
#
#   bench/xcluster.sh            (needs root, as the testbed does; about 3 minutes)
#
# The disk: a 2 GiB ext4 file system filled by mkfs.ext4 -d with this machine's
# /usr/lib/x86_64-linux-gnu (about 1.2 GiB of libraries, data files and text: realistic
# content, partly compressible).  "Yesterday" is that image, backed up into east's repository
# and already in west's (the repository copied, as a nightly replication would leave it);
# "today" has 1 % of its 4 KiB blocks rewritten with random bytes (scattered).
#   A  novacron apply: the VM (stopped) moves east -> west through the backups (method
#      backup): backup into east-dr, copy of the chunks west-dr lacks, restore, define.
#      Bytes over the link = what the copy wrote into west-dr (apply prints it); time = the
#      migrate action as apply reports it (backup + copy + restore + define).
#   B  virsh migrate --live --p2p --copy-storage-all of the same VM running today's disk:
#      bytes = libvirt's completed job statistics on the source (Data processed: memory +
#      disk), time = Time elapsed.
# Prints the figures and the ratio A/B (the goal in issue 16: under 5 % of the bytes).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
[ -x "$NC" ] || { echo "build novacron first (make -C build)" >&2; exit 1; }
for c in mkfs.ext4 qemu-img virsh nsenter python3; do
	command -v $c >/dev/null || { echo "needs $c" >&2; exit 1; }
done
T=$(mktemp -d /tmp/nc-bench-xcluster-XXXXXX)
LV=$T/lv
cleanup() { bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

echo "making the 2 GiB image (mkfs.ext4 -d /usr/lib/x86_64-linux-gnu) ..."
truncate -s 2G "$T/yesterday.raw"
mkfs.ext4 -q -F -d /usr/lib/x86_64-linux-gnu "$T/yesterday.raw" 2>/dev/null ||
	mkfs.ext4 -q -F -d /usr/share "$T/yesterday.raw"
cp --sparse=always "$T/yesterday.raw" "$T/today.raw"
python3 - "$T/today.raw" <<'PY'
import os, random, sys
random.seed(16)
n = os.path.getsize(sys.argv[1]) // 4096
with open(sys.argv[1], "r+b") as f:
    for b in random.sample(range(n), n // 100):
        f.seek(b * 4096)
        f.write(os.urandom(4096))
PY
used=$(du -k --apparent-size "$T/yesterday.raw" | cut -f1)
alloc=$(du -k "$T/yesterday.raw" | cut -f1)

bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  pools: ["/var/lib/libvirt/images"]\n  backups: ["%s"]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml
inns() { local pid; pid=$(eval echo "\$NC_HOST$1_PID"); shift; nsenter --mount="/proc/$pid/ns/mnt" "$@"; }
P=/var/lib/libvirt/images/ncb
mkdir -p "$T/spec"
spec() {   # spec CLUSTER STATE
	cat >"$T/spec/c.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Cluster
metadata: {name: east}
spec: {transfer: {bandwidth: 1GiB, backupSchedule: east-dr}}
---
apiVersion: novacron.io/v1
kind: Cluster
metadata: {name: west}
spec: {transfer: {bandwidth: 100MiB, backupSchedule: west-dr, live: false}}
---
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI", cluster: east}
---
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h2}
spec: {uri: "$NC_HOST2_SPEC_URI", cluster: west}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: local}
spec: {type: dir, path: $P}
---
apiVersion: novacron.io/v1
kind: BackupSchedule
metadata: {name: east-dr}
spec: {schedule: "0 3 * * *", vms: [big], target: {type: dir, path: "$T/repo-east"}, retention: {keepLast: 3}}
---
apiVersion: novacron.io/v1
kind: BackupSchedule
metadata: {name: west-dr}
spec: {schedule: "0 3 * * *", vmSelector: {matchLabels: {dr: west}}, target: {type: dir, path: "$T/repo-west"}, retention: {keepLast: 3}}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: big}
spec:
  cluster: $1
  vcpus: 1
  memory: 256MiB
  machine: pc
  state: $2
  backupSchedule: east-dr
  disks: [{name: data, pool: local, size: 2GiB}]
YAML
}
NCA() { inns 1 "$NC" "$@" "$T/spec" --state-dir "$T/st"; }

spec east stopped
NCA apply --auto-approve >"$T/a1.log" 2>&1 || { cat "$T/a1.log"; exit 1; }
# yesterday: into the volume, backed up into east-dr, and already in west-dr
qemu-img convert -n -f raw -O qcow2 "$T/yesterday.raw" "$NC_HOST1_IMAGES/ncb/big-data.qcow2"
NCA backup run big >"$T/b1.log" 2>&1 || { cat "$T/b1.log"; exit 1; }
cp -a "$T/repo-east" "$T/repo-west"
# today: 1 % of the blocks changed
qemu-img convert -n -f raw -O qcow2 "$T/today.raw" "$NC_HOST1_IMAGES/ncb/big-data.qcow2"

# B: virsh migrate --copy-storage-all of the running VM (the destination file made beforehand)
spec east running
NCA apply --auto-approve >"$T/a2.log" 2>&1 || { cat "$T/a2.log"; exit 1; }
inns 2 mkdir -p "$P"
inns 2 qemu-img create -q -f qcow2 "$P/big-data.qcow2" 2G
t0=$(date +%s.%N)
virsh -c "$NC_HOST1_URI" migrate --live --p2p --copy-storage-all --persistent big "$NC_HOST2_URI" >"$T/virsh.log" 2>&1 ||
	{ cat "$T/virsh.log"; exit 1; }
t1=$(date +%s.%N)
virsh -c "$NC_HOST1_URI" domjobinfo big --completed >"$T/job.txt"
B_bytes=$(python3 - "$T/job.txt" <<'PY'
import sys
u = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
for line in open(sys.argv[1]):
    k, _, v = line.partition(":")
    if k.strip() == "Data processed":
        n, unit = v.split()
        print(int(float(n) * u[unit]))
PY
)
B_time=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
# back as it was: gone from h2, stopped on h1 (still defined there: no --undefinesource)
virsh -c "$NC_HOST2_URI" destroy big >/dev/null 2>&1 || true
virsh -c "$NC_HOST2_URI" undefine big >/dev/null
inns 2 rm -f "$P/big-data.qcow2"

# A: novacron apply moves the stopped VM to west through the backups
spec west stopped
NCA plan >"$T/plan.txt" 2>&1 || true
"$NC" plan "$T/spec" --state-dir "$T/st" -o json >"$T/plan.json" 2>/dev/null || true
NCA apply --auto-approve >"$T/a3.log" 2>&1 || { cat "$T/a3.log"; exit 1; }
A_bytes=$(sed -n "s/.*(\([0-9]*\) bytes) sent to west-dr's repository.*/\1/p" "$T/a3.log")
A_time=$(sed -n 's/.*migrate big h1 -> h2 (backup) ... done (\([0-9.]*\)s).*/\1/p' "$T/a3.log")
est=$(python3 -c 'import json,sys; a=[x for x in json.load(open(sys.argv[1]))["actions"] if x["action"]=="migrate"][0]["cluster_move"]; print(a["bytes"], a["seconds"])' "$T/plan.json")
[ "$(virsh -c "$NC_HOST2_URI" domstate big 2>/dev/null)" = "shut off" ] || { echo "big is not on h2" >&2; exit 1; }
up=$(inns 2 du -k "$P/big-data.qcow2" | cut -f1)

python3 - "$A_bytes" "$A_time" "$B_bytes" "$B_time" "$est" "$used" "$alloc" "$up" <<'PY'
import sys
a, at, b, bt, est, used, alloc, up = sys.argv[1:]
a, b = int(a), int(b)
eb, es = est.split()
M = 1 << 20
print(f"disk: {int(used) / 1024:.0f} MiB virtual, {int(alloc) / 1024:.0f} MiB allocated (ext4 holding /usr/lib/x86_64-linux-gnu); 1 % of 4 KiB blocks changed")
print(f"A  novacron apply (backup method): {a / M:8.1f} MiB over the link in {float(at):6.1f} s "
      f"(plan's estimate before: {int(eb) / M:.1f} MiB, {es} s at 100 MiB/s)")
print(f"   restore upload at the destination (not over the link): {int(up) / 1024:.0f} MiB")
print(f"B  virsh migrate --live --copy-storage-all: {b / M:8.1f} MiB in {float(bt):6.1f} s")
print(f"A/B bytes: {100 * a / b:.2f} % (goal: under 5 %: {'met' if a < 0.05 * b else 'NOT met'})")
PY
