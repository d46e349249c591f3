#!/usr/bin/env bash
# Integration test on two real libvirt daemons (test/testbed/libvirtd.sh), one per Cluster
# (east: h1, west: h2): VMs whose spec.cluster changes from east to west move between them.
#   * live1, running (a QEMU guest under TCG that finds nothing to boot and waits in its BIOS),
#     its disk a clone (qcow2 overlay) of an Image: moved LIVE with INCREMENTAL storage copy
#     (VIR_MIGRATE_NON_SHARED_INC): it runs on h2, is gone from h1, its disk on h2 is an
#     overlay of the Image's volume there, smaller than the base's 2 MiB of data (only the
#     overlay crossed), and reads the base's data;
#   * cold1, stopped, a disk holding known data: moved through BACKUP: backed up into east's
#     repository, copied into west's (transfer.backupSchedule), restored into h2's pool
#     (uploaded through libvirt), defined on h2, undefined on h1 (its disk kept there:
#     deletionPolicy retain); the guest-visible bytes on h2 equal h1's, west's repository
#     holds the backup, the next plan is empty.
# The apply runs in h1's mount namespace (nsenter): NovaCron reads a stopped VM's disk files
# itself (qemu-nbd), and h1's /var/lib/libvirt is its own, as on a real source host.
# About 40 s.  Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-xcluster-XXXXXX)
LV=$T/lv
fails=0

cleanup() { [ -n "${NC_KEEP:-}" ] && { echo "kept: $T"; return; }; bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
	echo "skip: $why"
	exit 77
fi
for c in qemu-io qemu-img nsenter python3; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  images: ["%s/images"]\n  backups: ["%s"]\n' "$T" "$T"
  printf '  pools: ["%s", /var/lib/libvirt/images]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
# a command inside host N's mount namespace (its /var/lib/libvirt)
inns() { local pid; pid=$(eval echo "\$NC_HOST$1_PID"); shift; nsenter --mount="/proc/$pid/ns/mnt" "$@"; }
defined() { virsh -c "$1" dominfo "$2" >/dev/null 2>&1; }
state() { virsh -c "$1" domstate "$2" 2>/dev/null | head -1; }
P=/var/lib/libvirt/images/ncx

mkdir -p "$T/spec" "$T/images"
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 64M && qemu-io -f qcow2 -c 'write -P 0x11 0 2M' "$T/images/base.qcow2" >/dev/null \
	|| { echo "FAIL: cannot make the base image"; exit 1; }
BASE_SHA=$(sha256sum "$T/images/base.qcow2" | cut -c1-64)
spec() {   # spec CLUSTER
	cat > "$T/spec/all.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Cluster
metadata: {name: east}
spec: {transfer: {bandwidth: 1GiB, backupSchedule: bk-east}}
---
apiVersion: novacron.io/v1
kind: Cluster
metadata: {name: west}
spec: {transfer: {bandwidth: 100MiB, backupSchedule: bk-west, live: true}}
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
spec: {type: dir, path: $P}   # each daemon's own /var/lib/libvirt
---
apiVersion: novacron.io/v1
kind: Image
metadata: {name: base}
spec: {source: {file: base.qcow2}, sha256: $BASE_SHA, format: qcow2}
---
apiVersion: novacron.io/v1
kind: BackupSchedule
metadata: {name: bk-east}
spec: {schedule: "0 3 * * *", vms: [cold1], target: {type: dir, path: "$T/repo-east"}, retention: {keepLast: 3}}
---
apiVersion: novacron.io/v1
kind: BackupSchedule
metadata: {name: bk-west}
spec: {schedule: "0 3 * * *", vmSelector: {matchLabels: {transfer: west}}, target: {type: dir, path: "$T/repo-west"}, retention: {keepLast: 3}}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: live1}
spec:
  cluster: $1
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: running
  disks: [{name: root, pool: local, size: 64MiB, image: base}]
  migration: {timeout: 120s}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: cold1}
spec:
  cluster: $1
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: stopped
  backupSchedule: bk-east
  disks: [{name: data, pool: local, size: 64MiB}]
YAML
}
APPLY() { inns 1 "$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve; }

spec east
APPLY >"$T/a1.log" 2>&1 && defined "$NC_HOST1_URI" live1 && defined "$NC_HOST1_URI" cold1 &&
	ok "two VMs in cluster east, on h1" || { cat "$T/a1.log"; fail "create in east"; exit 1; }
inns 1 qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' -c 'write -P 0xa5 32M 3M' "$P/cold1-data.qcow2" >/dev/null &&
	ok "known data in cold1's disk on h1" || fail "qemu-io write on h1"

spec west
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p1.txt" 2>&1
[ $? = 2 ] && grep -q "live1: migrate h1 -> h2 (cluster east -> west, live with incremental storage copy" "$T/p1.txt" &&
	grep -q "cold1: migrate h1 -> h2 (cluster east -> west, backup" "$T/p1.txt" &&
	ok "plan: live1 live with incremental storage copy, cold1 through backup" || { cat "$T/p1.txt"; fail "plan"; }
"$NC" plan "$T/spec" --state-dir "$T/st" -o json >"$T/p1.json" 2>/dev/null
python3 - "$T/p1.json" <<'PY' && ok "plan JSON: methods, bytes and the slower side's bandwidth (100 MiB/s)" || fail "plan JSON"
import json, sys
acts = {a["vm"]: a for a in json.load(open(sys.argv[1]))["actions"] if a["action"] == "migrate"}
l, c = acts["live1"]["cluster_move"], acts["cold1"]["cluster_move"]
assert l["method"] == "live" and l["incremental"] and l["bandwidth"] == 100 << 20, l
assert c["method"] == "backup" and c["estimate"] and c["bytes"] > 0, c
PY

APPLY >"$T/a2.log" 2>&1 && ok "apply: both moved" || { cat "$T/a2.log"; fail "apply the moves"; }
[ "$(state "$NC_HOST2_URI" live1)" = running ] && ! defined "$NC_HOST1_URI" live1 &&
	ok "live1 runs on h2 and is gone from h1" || fail "live1 on h2 ($(state "$NC_HOST2_URI" live1)), h1 ($(state "$NC_HOST1_URI" live1))"
# only the overlay crossed: the disk on h2 is an overlay of the Image's volume there (uploaded
# from the Image's source by the plan), under the base's 2 MiB of data, and reads that data
inns 2 qemu-img info -U --output=json "$P/live1-root.qcow2" >"$T/live1.json" 2>&1
python3 - "$T/live1.json" "$P/novacron-image-base-" <<'PY' &&
import json, sys
i = json.load(open(sys.argv[1]))
assert i["backing-filename"].startswith(sys.argv[2]), i
assert i["actual-size"] < 2 << 20, i
PY
	inns 2 qemu-io -r -U -f qcow2 -c 'read -P 0x11 0 2M' "$P/live1-root.qcow2" >/dev/null 2>&1 &&
	ok "incremental: live1's disk on h2 is a small overlay of the Image's volume there and reads the base's data" ||
	{ cat "$T/live1.json"; fail "live1's disk on h2"; }
[ "$(state "$NC_HOST2_URI" cold1)" = "shut off" ] && ! defined "$NC_HOST1_URI" cold1 &&
	ok "cold1 defined (shut off) on h2, gone from h1" || fail "cold1 on h2"
grep -q "sent to bk-west's repository" "$T/a2.log" && ls "$T/repo-west/snapshots" 2>/dev/null | grep -q . &&
	ok "cold1's backup copied into west's repository" || fail "west's repository"
inns 1 qemu-img convert -O raw "$P/cold1-data.qcow2" "$T/c1.raw" && inns 2 qemu-img convert -O raw "$P/cold1-data.qcow2" "$T/c2.raw" &&
	cmp -s "$T/c1.raw" "$T/c2.raw" && inns 2 qemu-io -f qcow2 -c 'read -P 0xa5 32M 3M' "$P/cold1-data.qcow2" >/dev/null &&
	ok "cold1's disk on h2 holds the same bytes as on h1 (kept there: deletionPolicy retain)" || fail "cold1's disk bytes"
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p2.txt" 2>&1
[ $? = 0 ] && ok "the next plan is empty" || { cat "$T/p2.txt"; fail "plan after the moves"; }

[ $fails = 0 ] && exit 0 || exit 1
