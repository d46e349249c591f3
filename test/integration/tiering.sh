#!/usr/bin/env bash
# Integration test of storage tiers (docs/storage.md "Storage tiers") on one real libvirt
# daemon (test/testbed/libvirtd.sh) with a QEMU guest under TCG:
#   * two dir pools, fast (tier fast) and slow (tier archive); VMs run (running) and cold
#     (stopped), both labelled data: cold, with a qcow2 disk in fast holding a pattern
#     written with qemu-io;
#   * a StorageTierPolicy sends data: cold to archive: the plan shows a live move for run
#     and an offline one for cold; apply moves run's disk with blockcopy + pivot while
#     the guest keeps running (the live and persistent definitions name the file in slow,
#     the file in fast is gone) and copies cold's; both new files hold the pattern; a
#     second plan is empty;
#   * a move killed at the pivot (NOVACRON_FAIL_AT) leaves the guest on its old volume and
#     no volume in the target pool; the next apply moves it.
# Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-tier-XXXXXX)
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
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  pools: ["%s"]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
# qemu-io inside the daemon's mount namespace; -U: the running guest holds the lock
qio() { nsenter --mount="/proc/$NC_HOST1_PID/ns/mnt" qemu-io -f qcow2 "$@"; }
holds() { qio -U -r -c "read -P $2 0 1M" "$1" >/dev/null 2>&1; }
vsh() { virsh -q -c "$NC_HOST1_URI" "$@"; }
src() { vsh dumpxml "$@" | grep -o "source file='[^']*'" | head -1 | cut -d"'" -f2; }

mkdir -p "$T/spec"
spec() {   # spec RUN-STATE [policy]
	cat >"$T/spec/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: fast}
spec: {type: dir, path: "$T/fast", tier: fast}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: slow}
spec: {type: dir, path: "$T/slow", tier: archive}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: run, labels: {data: cold}}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: $1
  disks:
    - {name: root, pool: fast, size: 64MiB}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: cold, labels: {data: cold}}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: stopped
  disks:
    - {name: root, pool: fast, size: 64MiB}
YAML
	rm -f "$T/spec/tier.yaml"
	[ "${2:-}" = policy ] && cat >"$T/spec/tier.yaml" <<YAML
apiVersion: novacron.io/v1
kind: StorageTierPolicy
metadata: {name: cold-data}
spec:
  vmSelector: {}
  rules:
    - selector: {matchLabels: {data: cold}}
      tier: archive
YAML
	true
}
apply() { "$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/apply.log" 2>&1; }
plan() { "$NC" plan "$T/spec" --state-dir "$T/st" >"$T/plan.log" 2>&1; }

start=$(date +%s)
spec stopped
apply && ok "two stopped VMs with qcow2 disks in pool fast" || { cat "$T/apply.log"; fail "create"; }
qio -c 'write -P 0xa1 0 1M' "$T/fast/run-root.qcow2" >/dev/null && qio -c 'write -P 0xc2 0 1M' "$T/fast/cold-root.qcow2" >/dev/null &&
	ok "patterns written with qemu-io" || fail "qemu-io write"
spec running
apply && [ "$(vsh domstate run | head -1)" = running ] && ok "run started" || { cat "$T/apply.log"; fail "start run"; }

# a move cut short at the pivot: the guest stays on its old volume, nothing left in slow
spec running policy
plan; rc=$?
[ $rc -eq 2 ] && grep -q "~ run: move-volume on h1" "$T/plan.log" && grep -q "live: block copy, then pivot" "$T/plan.log" &&
	grep -q "~ cold: move-volume on h1" "$T/plan.log" && grep -q "(offline copy)" "$T/plan.log" &&
	grep -q "~ disk root: fast -> slow" "$T/plan.log" && ok "plan: run moves live, cold offline, fast -> slow" ||
	{ cat "$T/plan.log"; fail "plan of the moves"; }
# driver calls of the pass: find the one at run's pivot (the fault check right before it)
cut=""
for k in 1 2 3 4 5 6; do
	rm -f "$T/cut.log"
	NOVACRON_FAIL_AT=$k "$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve --target run >"$T/cut.log" 2>&1
	if grep -q "vol-move: injected failure" "$T/cut.log"; then cut=$k; break; fi
	grep -q "move-volume run on h1 ... done" "$T/cut.log" && break
done
if [ -n "$cut" ]; then
	[ "$(src run)" = "$T/fast/run-root.qcow2" ] && [ "$(vsh domstate run | head -1)" = running ] &&
		[ ! -e "$T/slow/run-root.qcow2" ] && [ ! -e "$T/slow/run-root.qcow2.novacron-move" ] &&
		ok "a move cut short before the pivot: run keeps running on fast, nothing left in slow" ||
		{ cat "$T/cut.log"; ls -l "$T/slow"; fail "after the cut: $(src run)"; }
else
	cat "$T/cut.log"; fail "no fault hit the move"
fi

apply && ok "apply moves both" || { cat "$T/apply.log"; fail "apply of the moves"; }
grep -q "move-volume run on h1 ... done" "$T/apply.log" && grep -q "move-volume cold on h1 ... done" "$T/apply.log" ||
	{ cat "$T/apply.log"; fail "apply log"; }
[ "$(vsh domstate run | head -1)" = running ] && ok "run still running after the pivot" || fail "run: $(vsh domstate run)"
[ "$(src run)" = "$T/slow/run-root.qcow2" ] && ok "run's live disk is $T/slow/run-root.qcow2" || fail "live source: $(src run)"
[ "$(src --inactive run)" = "$T/slow/run-root.qcow2" ] && ok "and its persistent definition too" ||
	fail "persistent source: $(src --inactive run)"
[ "$(src --inactive cold)" = "$T/slow/cold-root.qcow2" ] && ok "cold's definition names slow" ||
	fail "cold source: $(src --inactive cold)"
holds "$T/slow/run-root.qcow2" 0xa1 && ok "run's new file holds its bytes" || fail "run's bytes"
holds "$T/slow/cold-root.qcow2" 0xc2 && ok "cold's new file holds its bytes" || fail "cold's bytes"
[ ! -e "$T/fast/run-root.qcow2" ] && [ ! -e "$T/fast/cold-root.qcow2" ] && ok "the old volumes are gone" ||
	{ ls -l "$T/fast"; fail "old volumes left"; }
[ -z "$(ls "$T/slow" | grep novacron-move)" ] && ok "no move marker left" || fail "markers left: $(ls "$T/slow")"
plan && ok "second plan empty" || { cat "$T/plan.log"; fail "not converged"; }

# the policy goes: both come home
spec running
apply && [ "$(src run)" = "$T/fast/run-root.qcow2" ] && [ "$(src --inactive cold)" = "$T/fast/cold-root.qcow2" ] &&
	holds "$T/fast/run-root.qcow2" 0xa1 && ok "without the policy both disks come home, bytes kept" ||
	{ cat "$T/apply.log"; fail "move home"; }
plan && ok "converged again" || { cat "$T/plan.log"; fail "not converged at home"; }

echo "($(($(date +%s) - start)) s)"
[ $fails -eq 0 ] || exit 1
