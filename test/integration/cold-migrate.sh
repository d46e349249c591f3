#!/usr/bin/env bash
# Integration test on two real libvirt daemons (test/testbed/libvirtd.sh): a COLD migration
# of a stopped VM copies its local disks (a dir pool in each host's own
# /var/lib/libvirt/images) to the destination, sparse, and removes them from the source.
#   * two disks holding known data (qemu-io writes a pattern), a qcow2 and a 1 GiB raw file
#     with 1 MiB of data (libvirt probes its format): the data reads back on h2, the files
#     there are no larger on disk than on h1 (the raw one's holes are not sent and stay
#     holes, its length kept), h1's are gone, qemu-img check passes;
#   * a clone of an Image (uploaded by apply into h1's pool): a copy killed midway (NOVACRON_FAIL_AT, after the first data
#     of the base image is sent) leaves the VM defined on h1 with its disk and nothing on h2;
#     the next apply copies the base along (h2 lacked it) and the chain stays intact;
#   * a pool whose directory both daemons see (one path under this test's dir): the probe
#     finds it shared and nothing is copied or removed;
#   (a base image outside the disk's pool cannot be named any more: a disk's image is an
#   Image, whose volume apply puts into the disk's own pool.)
# No guest boots.  Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-cold-XXXXXX)
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
bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
# pools: each host's own /var/lib/libvirt/images (a private mount per daemon), and $T,
# which both daemons see (the shared case)
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  pools: ["/var/lib/libvirt/images", "%s"]\n  images: ["%s/images"]\n' "$T" "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
# the files of pool "local" on host N, seen from here
P1=$NC_HOST1_IMAGES/nc-cold
P2=$NC_HOST2_IMAGES/nc-cold
# qemu-io inside host N's mount namespace (a backing file's path is the daemon's)
qio() { local pid; pid=$(eval echo "\$NC_HOST$1_PID"); shift; nsenter --mount="/proc/$pid/ns/mnt" qemu-io "$@"; }
defined() { virsh -c "$1" dominfo "$2" >/dev/null 2>&1; }
kib() { du -k "$1" | cut -f1; }
# reads [N] FILE 'PATTERN OFFSET LEN'...: each range of FILE holds PATTERN (qemu-io exits 1 when
# not, or when the file or its backing cannot be opened); N: inside host N's namespace
reads() {
	local io=(qemu-io) r
	case "$1" in [0-9]) io=(qio "$1"); shift ;; esac
	local f=$1; shift
	for r in "$@"; do "${io[@]}" -f "${FMT:-qcow2}" -c "read -P $r" "$f" >/dev/null 2>&1 || return 1; done
}

mkdir -p "$T/spec"
spec() {   # spec HOST [EXT_HOST]
	cat > "$T/spec/cluster.yaml" <<YAML
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
kind: StoragePool
metadata: {name: local}
spec: {type: dir, path: /var/lib/libvirt/images/nc-cold}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: shared}
spec: {type: dir, path: "$T/shared"}
---
apiVersion: novacron.io/v1
kind: Template
metadata: {name: tiny}
spec: {vcpus: 1, memory: 64MiB, machine: pc}
---
apiVersion: novacron.io/v1
kind: Image
metadata: {name: base}
spec: {source: {file: base.qcow2}, sha256: $BASE_SHA, format: qcow2}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: db}
spec:
  template: tiny
  state: stopped
  placement: {host: $1}
  disks:
    - {name: root, pool: local, size: 256MiB}
    - {name: data, pool: local, size: 1GiB}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: clone}
spec:
  template: tiny
  state: stopped
  placement: {host: $1}
  disks:
    - {name: root, pool: local, size: 64MiB, image: base}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: nfs}
spec:
  template: tiny
  state: stopped
  placement: {host: $1}
  disks:
    - {name: root, pool: shared, size: 64MiB}
YAML
}

# the base image: an Image (file base.qcow2 in paths.images) that apply uploads into h1's
# pool as $BASE with its completion mark $BASE.ok (reconciler/images.h), which must follow it
mkdir -p "$P1" "$T/images"
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 64M && qemu-io -f qcow2 -c 'write -P 0x11 0 2M' "$T/images/base.qcow2" >/dev/null \
	|| { echo "FAIL: cannot make the base image"; exit 1; }
BASE_SHA=$(sha256sum "$T/images/base.qcow2" | cut -c1-64)
BASE=novacron-image-base-${BASE_SHA:0:12}.qcow2
spec h1
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a1.log" 2>&1 && ok "create three stopped VMs on h1" || { cat "$T/a1.log"; fail "create"; }
qemu-io -f qcow2 -c 'write -P 0xab 1M 64k' -c 'write -P 0xcd 100M 3M' "$P1/db-root.qcow2" >/dev/null &&
	rm -f "$P1/db-data.qcow2" && qemu-img create -q -f raw "$P1/db-data.qcow2" 1G &&
	qemu-io -f raw -c 'write -P 0xef 512M 1M' "$P1/db-data.qcow2" >/dev/null &&
	virsh -q -c "$NC_HOST1_URI" pool-refresh novacron-local >/dev/null &&
	qio 1 -f qcow2 -c 'write -P 0x22 4M 64k' /var/lib/libvirt/images/nc-cold/clone-root.qcow2 >/dev/null &&
	qemu-io -f qcow2 -c 'write -P 0x33 0 64k' "$T/shared/nfs-root.qcow2" >/dev/null &&
	ok "known data written into the disks on h1" || fail "qemu-io write"
k1=$(( $(kib "$P1/db-root.qcow2") + $(kib "$P1/db-data.qcow2") ))

spec h2
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p2.log"; rc=$?
[ $rc = 2 ] && grep -Eq "~ db: migrate h1 -> h2 \(cold, copies 2 volumes, [0-9.]+ [KM]iB allocated\)" "$T/p2.log" &&
	grep -q "~ clone: migrate h1 -> h2 (cold, copies 1 volume, " "$T/p2.log" \
	&& ok "the plan shows cold moves and what they copy" || { cat "$T/p2.log"; fail "plan (exit $rc)"; }
"$NC" plan "$T/spec" --state-dir "$T/st" -o json >"$T/p2.json"
python3 -c 'import json, sys
a = [a for a in json.load(open(sys.argv[1]))["actions"] if a.get("vm") == "db" and a.get("action") == "migrate"]
assert len(a) == 1 and a[0]["live"] is False and a[0]["copy"]["volumes"] == 2 and a[0]["copy"]["bytes"] > 0, a' "$T/p2.json" \
	&& ok "JSON: copy volumes and bytes" || { grep '"db"' "$T/p2.json"; fail "JSON copy"; }

# killed midway: with one migration at a time, the first mutating call is clone's first copy
# (its base image, which h2 lacks), after the first data is sent; db and nfs go on
NOVACRON_FAIL_AT=1 "$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve --max-migrations 1 >"$T/a3.log" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "migrate clone h1 -> h2 (cold) ... failed: vol-copy: injected failure" "$T/a3.log" &&
	grep -q "migrate db h1 -> h2 (cold) ... done" "$T/a3.log" \
	&& ok "a copy killed midway fails that move only" || { cat "$T/a3.log"; fail "injected failure (exit $rc)"; }
defined "$NC_HOST1_URI" clone && ! defined "$NC_HOST2_URI" clone && [ -f "$P1/clone-root.qcow2" ] && [ -f "$P1/$BASE" ] &&
	[ ! -e "$P2/clone-root.qcow2" ] && [ ! -e "$P2/$BASE" ] && [ ! -e "$P2/$BASE.ok" ] \
	&& ok "after the failure clone is defined on h1 with its disk, nothing of it on h2" || { ls -l "$P1" "$P2"; fail "after the failure"; }

"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a4.log" 2>&1 && grep -q "migrate clone h1 -> h2 (cold) ... done" "$T/a4.log" \
	&& ok "the next apply moves it" || { cat "$T/a4.log"; fail "apply after the failure"; }
! defined "$NC_HOST1_URI" db && defined "$NC_HOST2_URI" db && ok "db is defined on h2 only" || fail "db placement"
reads "$P2/db-root.qcow2" '0xab 1M 64k' '0xcd 100M 3M' '0 8M 1M' && FMT=raw reads "$P2/db-data.qcow2" '0xef 512M 1M' '0 0 1M' \
	&& ok "the data reads back on h2" || fail "data differs on h2"
qemu-img check -q "$P2/db-root.qcow2" && ok "qemu-img check on h2" || fail "qemu-img check"
k2=$(( $(kib "$P2/db-root.qcow2") + $(kib "$P2/db-data.qcow2") ))
[ "$(stat -c %s "$P2/db-data.qcow2")" = 1073741824 ] && [ "$k2" -le $((k1 + 64)) ] && [ "$k2" -lt 8192 ] \
	&& ok "sparse: ${k2} KiB on disk on h2 (${k1} KiB on h1) for 1.25 GiB of disks, the raw one 1 GiB long" \
	|| fail "not sparse: $k2 KiB on h2, $k1 KiB on h1; raw file $(stat -c %s "$P2/db-data.qcow2") bytes"
[ ! -e "$P1/db-root.qcow2" ] && [ ! -e "$P1/db-data.qcow2" ] && ok "the source volumes are gone" || fail "source volumes left on h1"

[ -f "$P2/$BASE" ] && [ -f "$P2/$BASE.ok" ] && [ -f "$P1/$BASE" ] \
	&& ok "the base image was copied along with its completion mark, and stays on h1" || fail "base image"
reads 2 /var/lib/libvirt/images/nc-cold/clone-root.qcow2 '0x11 0 2M' '0x22 4M 64k' \
	&& ok "the clone reads its own data and its base's on h2 (chain intact)" || fail "the clone's data differs on h2"
qemu-img info "$P2/clone-root.qcow2" | grep -q "backing file: /var/lib/libvirt/images/nc-cold/$BASE" \
	&& ok "the clone keeps its backing file" || fail "clone backing"

defined "$NC_HOST2_URI" nfs && ! defined "$NC_HOST1_URI" nfs && reads "$T/shared/nfs-root.qcow2" '0x33 0 64k' \
	&& ok "a directory both hosts see: the VM moved, its disk stayed as it was" || fail "shared pool"

"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p5.log"; rc=$?
[ $rc = 0 ] && ok "no changes after the moves" || { cat "$T/p5.log"; fail "plan after (exit $rc)"; }

[ $fails = 0 ]
