#!/usr/bin/env bash
# bench/cold-migrate.sh - a cold migration of a stopped VM with a 1 GiB qcow2 disk holding
# 25% data (4 x 64 MiB written with qemu-io), between two real libvirt daemons
# (test/testbed/libvirtd.sh, on this machine), against the same bytes moved by
#   virsh vol-download (h1) | virsh vol-upload (h2)
# into a volume made beforehand with virsh vol-create-as.
#
#   bench/cold-migrate.sh [--runs N]      (default 3; needs root, as the testbed does)
#
# Each run moves the VM h1 -> h2 and back with `novacron apply` (two moves); the figure is
# the migrate action's own duration as apply prints it (copy + define + undefine + removal
# of the source volume), and the wall time of the whole apply (observe and plan included).
# The virsh pipe is timed once per run, source and destination on the same daemons.
# MB/s = allocated bytes / seconds (10^6 bytes).  The testbed honours NC_LV_ADDR_PREFIX,
# NC_LV_MIG_PORT_BASE and NC_LV_TCP_BASE (see libvirtd.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
	esac
done
NC=${NC:-$ROOT/build/novacron}
[ -x "$NC" ] || { echo "build novacron first (make -C build)" >&2; exit 1; }
T=$(mktemp -d /tmp/nc-bench-cold-XXXXXX)
LV=$T/lv
cleanup() { bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  pools: ["/var/lib/libvirt/images"]\n'; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml
mkdir -p "$T/spec"
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
spec: {type: dir, path: /var/lib/libvirt/images/nc-bench}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: big}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: stopped
  placement: {host: $1}
  disks:
    - {name: root, pool: local, size: 1GiB}
YAML
}
now() { date +%s.%N; }
secs() { awk -v a="$2" -v b="$1" 'BEGIN{printf "%.2f", a-b}'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/1e6/s}'; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

spec h1
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >/dev/null
F1=$NC_HOST1_IMAGES/nc-bench/big-root.qcow2
for off in 0 256M 512M 768M; do qemu-io -f qcow2 -c "write -P 0x5a $off 64M" "$F1" >/dev/null; done
alloc=$(stat -c %s "$F1")
echo "disk: 1 GiB qcow2, 256 MiB written; file ${alloc} bytes, $(du -k "$F1" | cut -f1) KiB on disk"

: >"$T/nc" ; : >"$T/wall"; : >"$T/pipe"
for ((i = 1; i <= runs; i++)); do
	for to in h2 h1; do
		spec $to
		t0=$(now)
		"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a.log" 2>&1 || { cat "$T/a.log"; exit 1; }
		t1=$(now)
		d=$(sed -nE 's/.*migrate big .*\.\.\. done \(([0-9.]+)s\)/\1/p' "$T/a.log")
		[ -n "$d" ] || { cat "$T/a.log"; exit 1; }
		echo "$d" >>"$T/nc"
		secs "$t0" "$t1" >>"$T/wall"; echo >>"$T/wall"
		printf 'run %d: novacron cold move -> %s: %ss (apply %ss)\n' "$i" "$to" "$d" "$(tail -1 "$T/wall")"
	done
	# the VM is back on h1: the same file through a virsh pipe into a fresh volume on h2
	virsh -q -c "$NC_HOST2_URI" vol-create-as novacron-local pipe.qcow2 1G --format qcow2 >/dev/null
	t0=$(now)
	virsh -q -c "$NC_HOST1_URI" vol-download --pool novacron-local big-root.qcow2 /dev/stdout |
		virsh -q -c "$NC_HOST2_URI" vol-upload --pool novacron-local pipe.qcow2 /dev/stdin
	t1=$(now)
	cmp -s "$F1" "$NC_HOST2_IMAGES/nc-bench/pipe.qcow2" || { echo "virsh pipe: copy differs" >&2; exit 1; }
	virsh -q -c "$NC_HOST2_URI" vol-delete --pool novacron-local pipe.qcow2 >/dev/null
	secs "$t0" "$t1" >>"$T/pipe"; echo >>"$T/pipe"
	printf 'run %d: virsh vol-download | vol-upload: %ss\n' "$i" "$(tail -1 "$T/pipe")"
done
n=$(median <"$T/nc"); w=$(median <"$T/wall"); p=$(median <"$T/pipe")
echo "median of $((runs * 2)) moves: novacron ${n}s = $(mbps "$alloc" "$n") MB/s (whole apply ${w}s = $(mbps "$alloc" "$w") MB/s)"
echo "median of $runs: virsh pipe ${p}s = $(mbps "$alloc" "$p") MB/s"
