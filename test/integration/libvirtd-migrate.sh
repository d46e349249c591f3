#!/usr/bin/env bash
# Integration test on real libvirt daemons running QEMU (TCG) guests:
#   create a VM with a local (dir pool) disk holding data, drain its host
#   (maintenance: true) -> it is live-migrated to the other host with its
#   disk (copyStorage) and compressed, and keeps running; drain back with a 2 s migration
#   timeout -> the migration is aborted and the VM keeps running where it
#   was; delete it.  Uses test/testbed/libvirtd.sh (installs with deps.sh).
# The guest is a 40-byte kernel (dirty-guest.S, booted directly) that keeps
# writing to 46 MiB of its memory: with a 1 ms downtime budget and 1 MiB/s a
# migration cannot finish in 2 s, so the second one times out for sure; the
# first one gets autoConverge, compression and the default budget.  Under TCG the guest spends
# seconds in its BIOS first, with clean RAM: each migration waits until the loop runs.
# Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-libvirtd-XXXXXX)
LV=$T/lv
fails=0

cleanup() { bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
	echo "skip: $why"
	exit 77
fi
bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
# a spec names the hosts (NC_HOSTn_SPEC_URI); the operator's connections file says how to
# reach their daemons' sockets, for every novacron command below
# and lets the spec's files (pool, image, kernel, repository, key) be under $T (paths:)
{ cat "$NC_CONNECTIONS"; printf 'paths:\n'
  for k in secrets images backups boot; do printf '  %s: ["%s"]\n' "$k" "$T"; done
  printf '  pools: ["%s", /var/lib/libvirt/images]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
# domains NAME: the number of domains the plan sees on host NAME
# domains HOST: how many domains the plan's JSON says HOST holds
domains() {
	"$NC" plan "$T/spec" --state-dir "$T/st" -o json |
		python3 -c 'import json, sys; print(*[h["domains"] for h in json.load(sys.stdin)["hosts"] if h["name"] == sys.argv[1]])' "$1"
}

# counter URI: the word the guest writes at 2 MiB.
# guest_dirties URI: waits (up to 60 s) until the guest on that host runs its loop, not the
# BIOS (seconds under TCG): the counter it writes at 2 MiB changes. A guest still in its
# BIOS has clean RAM, and a migration of it finishes before any timeout.
counter() { timeout 20 virsh -c "$1" qemu-monitor-command tiny --hmp 'xp /1wx 0x200000' 2>/dev/null | awk '{print $2}'; }
guest_dirties() {
	local a b i
	for i in $(seq 1 120); do
		a=$(counter "$1")
		sleep 0.5
		b=$(counter "$1")
		[ -n "$a" ] && [ "$a" != 0x00000000 ] && [ "$a" != "$b" ] && return 0
	done
	return 1
}

mkdir -p "$T/spec"
gcc -m32 -c test/integration/dirty-guest.S -o "$T/dirty.o" &&
	ld -m elf_i386 -Ttext=0x100000 -e _start -o "$T/dirty.elf" "$T/dirty.o" || { echo "FAIL: cannot build the guest kernel"; exit 1; }
spec() {   # spec MAINT1 MAINT2 TIMEOUT STATE AUTOCONVERGE MAXDOWNTIME MAXBANDWIDTH COMPRESSION
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
metadata: {name: local}
spec: {type: dir, path: /var/lib/libvirt/images/ncpool}   # each daemon's own /var/lib/libvirt
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: tiny}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  boot: {kernel: "$T/dirty.elf"}
  disks: [{name: data, pool: local, size: 16MiB}]
  state: $4
  migration: {timeout: $3, autoConverge: ${5:-false}, maxDowntime: ${6:-300ms}, maxBandwidth: ${7:-1GiB}, compression: ${8:-false}, copyStorage: true}
YAML
}

# defined stopped first, so its local disk can be given a pattern that must travel with it
spec false false 60s stopped true
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a0.log" 2>&1 &&
	qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' "$NC_HOST1_IMAGES/ncpool/tiny-data.qcow2" >/dev/null \
	&& ok "a local disk with data on h1" || { cat "$T/a0.log"; fail "define with a local disk"; }
# vols HOST_URI: whether the host holds the VM's volume in its pool (libvirt's view)
vols() { timeout 20 virsh -c "$1" vol-list novacron-local 2>/dev/null | grep -c 'tiny-data.qcow2'; }
spec false false 60s running true
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a1.log" 2>&1 && ok "create a QEMU guest" || { cat "$T/a1.log"; fail "create"; }
[ "$(domains h1)" = 1 ] && [ "$(domains h2)" = 0 ] && ok "the guest runs on h1" || fail "guest placement: h1=$(domains h1) h2=$(domains h2)"
guest_dirties "$NC_HOST1_URI" && ok "the guest writes to its memory on h1" || fail "the guest never left its BIOS on h1"

spec true false 60s running true 300ms 1GiB true   # compressed (VIR_MIGRATE_COMPRESSED)
"$NC" plan "$T/spec" --state-dir "$T/st" > "$T/p2.log"; rc=$?
[ $rc = 2 ] && grep -q "~ tiny: migrate h1 -> h2 (live)" "$T/p2.log" && ok "drain plans a live migration" || { cat "$T/p2.log"; fail "drain plan (exit $rc)"; }
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a2.log" 2>&1 && grep -q "migrate tiny h1 -> h2 (live) ... done" "$T/a2.log" \
	&& ok "live migration h1 -> h2" || { cat "$T/a2.log"; fail "live migration"; }
[ "$(domains h1)" = 0 ] && [ "$(domains h2)" = 1 ] && ok "h1 is empty, the guest is on h2" || fail "after drain: h1=$(domains h1) h2=$(domains h2)"
# migration.copyStorage: the disk came along (h2 had no such pool before), the source's is gone
qemu-io -U -r -f qcow2 -c 'read -P 0x5a 0 1M' "$NC_HOST2_IMAGES/ncpool/tiny-data.qcow2" >/dev/null 2>&1 &&
	[ "$(vols "$NC_HOST2_URI")" = 1 ] && [ "$(vols "$NC_HOST1_URI")" = 0 ] \
	&& ok "copyStorage: the disk's data is on h2, h1's volume is removed" || fail "copyStorage: h1=$(vols "$NC_HOST1_URI") h2=$(vols "$NC_HOST2_URI")"
# migration.compression: the destination's record of the finished job shows the compressed (XBZRLE) stream
# (into a file first: with pipefail, grep -q ending a pipe early fails the tee before it)
timeout 20 virsh -c "$NC_HOST2_URI" domjobinfo tiny --completed >"$T/job.log" 2>&1; grep -qi "^Compression cache" "$T/job.log" \
	&& ok "the migration was compressed" || { cat "$T/job.log"; fail "no compression in the migration's job stats"; }
"$NC" plan "$T/spec" --state-dir "$T/st" > "$T/p3.log"; rc=$?
[ $rc = 0 ] && ok "the guest is running and persistent on h2: no changes" || { cat "$T/p3.log"; fail "plan after drain (exit $rc)"; }

guest_dirties "$NC_HOST2_URI" && ok "the guest writes to its memory on h2" || fail "the guest does not run on h2"
spec false true 2s running false 1ms 1MiB
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a4.log" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "migration timed out after 2.0 s and was aborted; tiny keeps running on the source" "$T/a4.log" \
	&& ok "a migration past its timeout is aborted" || { cat "$T/a4.log"; fail "timeout (exit $rc)"; }
[ "$(domains h1)" = 0 ] && [ "$(domains h2)" = 1 ] && ok "after the abort the guest is still on h2" || fail "after abort: h1=$(domains h1) h2=$(domains h2)"
[ "$(vols "$NC_HOST1_URI")" = 0 ] && [ "$(vols "$NC_HOST2_URI")" = 1 ] \
	&& ok "the volume made on h1 for the aborted copy is removed" || fail "after abort: volumes h1=$(vols "$NC_HOST1_URI") h2=$(vols "$NC_HOST2_URI")"
"$NC" plan "$T/spec" --state-dir "$T/st" > "$T/p5.log"
grep -q "~ tiny: start" "$T/p5.log" && fail "the guest stopped after the abort" || ok "the guest keeps running on h2"

spec false false 60s absent
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve --allow-mass-delete >"$T/a6.log" 2>&1 && [ "$(domains h2)" = 0 ] \
	&& ok "delete" || { cat "$T/a6.log"; fail "delete"; }

[ $fails = 0 ]
