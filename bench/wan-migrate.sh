#!/usr/bin/env bash
# bench/wan-migrate.sh - live migration of a guest that dirties memory at a set pace, over the
# shaped WAN link of the testbed (test/testbed/libvirtd.sh NC_LV_WAN=1 NC_LV_TLS=1: h1 and h2 in
# two network namespaces joined by a veth pair that the migration data crosses), once per
# migration setting of docs/migration.md "WAN tuning", against libvirt's defaults.
#
#   bench/wan-migrate.sh          (needs root, as the testbed does; about 8 minutes)
#
# knobs (environment):
#   RUNS=1        runs per setting (the median of each figure is printed)
#   RATE=40mbit   the link's rate (tc tbf; `libvirtd.sh shape`)
#   SPINS="0 500000"  the guests' pace: wan-guest.S's SPIN (loop turns after each 4 KiB page
#                 written; 0 = as fast as TCG allows); one table per value.  The dirty rate
#                 each gives is measured (virsh domdirtyrate-calc) and printed, since under TCG
#                 it depends on the machine and its load
#   WSET=16       the guest's working set in MiB (of 64 MiB of memory)
#   ONLY=REGEX    run only the settings whose name matches (grep -E), e.g. ONLY='defaults|tls'
#   CAP=30        each migration's timeout in seconds (spec.migration.timeout): a run that has
#                 not converged by then is aborted, and the table says so
#
# Each run is a `novacron apply` that moves the VM to the other host (placement.host), with the
# setting in its spec.migration.  Figures from libvirt's statistics of the completed job
# (`virsh domjobinfo --completed` on the destination; on the source for an aborted
# one): time elapsed, downtime, memory processed ("job MiB"; libvirt 9.0 puts no disk figures
# in the destination's statistics), and the bytes that crossed the WAN veth both ways during
# the apply ("link MiB": memory, disks, TLS and protocol overhead); "aborted" when the timeout
# stopped it.  "-": libvirt kept no statistics (an aborted job; any post-copy migration in
# libvirt 9.0); "apply s" is the whole `novacron apply` (observe, plan, migrate) by the clock.  Delay: this kernel has no sch_netem (zcat /proc/config.gz | grep NETEM), so the
# link has a rate and no added delay; the bench prints which.
# The storage settings use a second VM whose 64 MiB disk is a qcow2 overlay (4 MiB written) of
# an Image (32 MiB of data) present in both hosts' pools: full copies base + overlay, incremental
# the overlay only.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
RUNS=${RUNS:-1}
RATE=${RATE:-40mbit}
SPINS=${SPINS:-0 500000}
WSET=${WSET:-16}
CAP=${CAP:-30}
ONLY=${ONLY:-.}
[ -x "$NC" ] || { echo "build novacron first (cmake --build build)" >&2; exit 1; }
for c in virsh qemu-img qemu-io nsenter python3 gcc ld openssl; do
	command -v $c >/dev/null || { echo "needs $c" >&2; exit 1; }
done
LVSH="bash test/testbed/libvirtd.sh"
why=$($LVSH check 2>&1) || { echo "cannot run the testbed: $why" >&2; exit 1; }
T=$(mktemp -d /tmp/nc-bench-wan-XXXXXX)
LV=$T/lv
cleanup() { $LVSH down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

NC_LV_WAN=1 NC_LV_TLS=1 $LVSH up 2 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; exit 1; }
set -a; eval "$($LVSH env "$LV")"; set +a
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  images: ["%s/images"]\n' "$T"
  for k in secrets backups boot; do printf '  %s: ["%s"]\n' "$k" "$T"; done
  printf '  pools: ["%s", /var/lib/libvirt/images]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml
inns() { local pid; pid=$(eval echo "\$NC_HOST$1_PID"); shift; nsenter --mount="/proc/$pid/ns/mnt" "$@"; }
uri() { eval echo "\$NC_HOST${1#h}_URI"; }
P=/var/lib/libvirt/images/ncw

mkdir -p "$T/spec" "$T/images"
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 64M &&
	qemu-io -f qcow2 -c 'write -P 0x11 0 32M' "$T/images/base.qcow2" >/dev/null || exit 1
BASE_SHA=$(sha256sum "$T/images/base.qcow2" | cut -c1-64)

netem="no (CONFIG_NET_SCH_NETEM not set: rate only, no added delay)"
if [ -r /proc/config.gz ] && zcat /proc/config.gz | grep -q '^CONFIG_NET_SCH_NETEM=[ym]'; then netem=yes; fi
$LVSH shape 0ms "$RATE" 0 "$LV" 2>"$T/shape.log" || { cat "$T/shape.log"; exit 1; }

# spec MEMVM_HOST MEMVM_STATE STORVM_HOST|- MIGRATION [STORVM_STATE]
spec() {
	cat >"$T/spec/c.yaml" <<YAML
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
spec: {type: dir, path: $P}
---
apiVersion: novacron.io/v1
kind: Image
metadata: {name: base}
spec: {source: {file: base.qcow2}, sha256: $BASE_SHA, format: qcow2}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: mem}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  boot: {kernel: "$T/g.elf"}
  placement: {host: $1}
  state: $2
  migration: $4
YAML
	[ "$3" = - ] && return
	cat >>"$T/spec/c.yaml" <<YAML
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: stor}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  boot: {kernel: "$T/g.elf"}
  placement: {host: $3}
  state: ${5:-running}
  disks: [{name: root, pool: local, size: 64MiB, image: base}]
  migration: $4
YAML
}
apply() { "$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve --allow-mass-delete >"$T/$1.log" 2>&1; }
linkbytes() {   # bytes both ways over the WAN veth so far
	nsenter --net="/proc/$(cat "$LV/netns.pid")/ns/net" ip -j -s link show nc-wan-a |
		python3 -c 'import json, sys; s = json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["bytes"] + s["tx"]["bytes"])'
}
other() { [ "$1" = h1 ] && echo h2 || echo h1; }
rawstats() {   # rawstats HOST VM LOG -> "elapsed_ms downtime_ms bytes"
	timeout 20 virsh -c "$(uri "$1")" domjobinfo "$2" --completed >"$3" 2>&1
	python3 - "$3" <<'PY'
import re, sys
units = {"b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "ms": 1}
s = {}
for l in open(sys.argv[1]):
    k, _, v = l.partition(":")
    m = re.match(r"\s*([0-9.]+)\s*(\w*)", v)
    if m:
        s[k.strip().lower()] = float(m.group(1)) * units.get(m.group(2).lower(), 1)
g = lambda k: s.get(k, 0)
print(int(g("time elapsed")), int(g("total downtime")), int(g("memory processed") + g("file processed")))
PY
}

SETTINGS=(
	"defaults|{timeout: ${CAP}s}"
	"xbzrle|{compression: xbzrle, timeout: ${CAP}s}"
	"parallel 4|{parallelConnections: 4, timeout: ${CAP}s}"
	"post-copy after 3s|{postCopy: {after: 3s}, timeout: ${CAP}s}"
	"post-copy not converging|{postCopy: {notConverging: true}, timeout: ${CAP}s}"
	"autoConverge|{autoConverge: true, timeout: ${CAP}s}"
	"maxBandwidth 2MiB/s|{maxBandwidth: 2MiB, timeout: ${CAP}s}"
	"tls|{tls: true, timeout: ${CAP}s}"
)
STORAGE=(   # incremental first: after a full copy the destination's disk no longer has the base under it
	"copyStorage incremental|{copyStorage: incremental, timeout: ${CAP}s}"
	"copyStorage full|{copyStorage: full, timeout: ${CAP}s}"
)

echo "link: veth between two network namespaces, tbf rate $RATE; netem: $netem"
echo "guest: 64 MiB, 1 vCPU (TCG), writes one word per 4 KiB page over $WSET MiB; cap ${CAP}s per migration; $RUNS run(s) per setting, medians"
at=h1 sat=h1
for spin in $SPINS; do
	gcc -m32 -c -DWSET_MB="$WSET" -DSPIN="$spin" test/integration/wan-guest.S -o "$T/g.o" &&
		ld -m elf_i386 -Ttext=0x100000 -e _start -o "$T/g.elf" "$T/g.o" || exit 1
	# the new kernel runs from the memory VM's next start: stop it (the guest has no ACPI:
	# destroy), then start it where it is (h1 at first)
	timeout 20 virsh -c "$(uri "$at")" destroy mem >/dev/null 2>&1
	spec $at running - "{}"
	apply "up-$spin" || { cat "$T/up-$spin.log"; exit 1; }
	sleep 3
	rate=$(timeout 30 virsh -c "$(uri $at)" domdirtyrate-calc mem --seconds 1 >/dev/null 2>&1; sleep 3
		timeout 20 virsh -c "$(uri $at)" domstats mem --dirtyrate 2>/dev/null | awk -F= '/dirtyrate.megabytes_per_second/{print $2}')
	echo
	echo "SPIN=$spin: the guest dirties ${rate:-?} MiB/s (virsh domdirtyrate-calc over 1 s: distinct pages, at most $WSET MiB/s)"
	printf '%-26s %8s %9s %8s %9s %8s  %s\n' setting "time s" downtime "job MiB" "link MiB" "apply s" result
	run_set() {   # run_set VMNAME LABEL MIGRATION
		local vm=$1 label=$2 mig=$3 r res=() dst s0 s1 key=${2//[^A-Za-z0-9]/_}
		for r in $(seq 1 "$RUNS"); do
			dst=$(other $at)
			if [ "$vm" = mem ]; then spec "$dst" running - "$mig"; else spec "$sat" stopped "$(other "$sat")" "$mig"; dst=$(other "$sat"); fi
			s0=$(date +%s.%N); b0=$(linkbytes)
			apply "run-$spin-$key-$r"; rc=$?
			s1=$(date +%s.%N); b1=$(linkbytes)
			if [ $rc = 0 ]; then
				st=$(rawstats "$dst" "$vm" "$T/job-$spin-$key-$r.txt"); outcome=converged
				grep -q "switched to post-copy" "$T/run-$spin-$key-$r.log" && outcome="converged (post-copy)"
				# libvirt 9.0 keeps no completed-job statistics on either side after a post-copy
				# migration (domjobinfo --completed says "None"): the table shows "-"
				if [ "$vm" = mem ]; then at=$dst; else sat=$dst; fi
			else
				src=$(other "$dst")
				st=$(rawstats "$src" "$vm" "$T/job-$spin-$key-$r.txt")
				if grep -q "timed out" "$T/run-$spin-$key-$r.log"; then outcome="aborted at the ${CAP}s cap"
				else outcome="failed: $(grep -m1 -i error "$T/run-$spin-$key-$r.log" | cut -c1-60)"; fi
				# back to a consistent spec for the next run
				if [ "$vm" = mem ]; then spec "$at" running - "{}"; else spec "$at" stopped "$sat" "{}"; fi
			fi
			res+=("$st $(python3 -c "print($s1 - $s0)") $((b1 - b0))|$outcome")
			sleep 2
		done
		printf '%s\n' "${res[@]}" | python3 -c '
import sys, statistics
rows = [l.rstrip("\n").split("|") for l in sys.stdin if l.strip()]
nums = [r[0].split() for r in rows]
def med(i, f):
    v = [f(n[i]) for n in nums if i >= 3 or int(n[0]) > 0]   # an aborted job leaves no statistics
    return statistics.median(v) if v else float("nan")
outs = sorted(set(r[1] for r in rows))
f = lambda v, fmt: "-" if v != v else fmt % v   # nan: no statistics
print("%-26s %8s %9s %8s %9.1f %8.1f  %s" % (sys.argv[1], f(med(0, int) / 1000, "%.1f"), f(med(1, int), "%.0f ms"),
      f(med(2, int) / 1048576, "%.1f"), med(4, int) / 1048576, med(3, float), "; ".join(outs)))' "$label"
	}
	for s in "${SETTINGS[@]}"; do echo "${s%%|*}" | grep -qE "$ONLY" && run_set mem "${s%%|*}" "${s#*|}"; done
	printf '%s\n' "${STORAGE[@]}" | grep -qE "$ONLY" || continue
	# storage: the memory VM stops, the disk VM starts where the last round left it (h1 first;
	# a later round starts from the disk the earlier one moved)
	timeout 20 virsh -c "$(uri "$at")" destroy mem >/dev/null 2>&1   # the guest has no ACPI: stop fast
	spec "$at" stopped "$sat" "{}" stopped
	apply "stor-def-$spin" || { cat "$T/stor-def-$spin.log"; exit 1; }
	inns "${sat#h}" qemu-io -f qcow2 -c 'write -P 0x77 40M 4M' "$P/stor-root.qcow2" >/dev/null 2>&1 ||
		echo "(could not write 4 MiB into stor's overlay on $sat)"
	spec "$at" stopped "$sat" "{}"
	apply "stor-up-$spin" || { cat "$T/stor-up-$spin.log"; exit 1; }
	for s in "${STORAGE[@]}"; do echo "${s%%|*}" | grep -qE "$ONLY" && run_set stor "${s%%|*}" "${s#*|}"; done
	# the disk VM must not run (with this round's kernel) beside the next round's guest
	timeout 20 virsh -c "$(uri "$sat")" destroy stor >/dev/null 2>&1
done
