#!/usr/bin/env bash
# bench/cold-migrate.sh - a cold migration of a stopped VM with a 1 GiB disk holding 25% data
# (4 x 64 MiB written with qemu-io), between two real libvirt daemons (test/testbed/libvirtd.sh,
# on this machine), against the same file moved by
#   virsh vol-download (h1) | virsh vol-upload (h2)
# into a volume made beforehand with virsh vol-create-as.  Two disks: qcow2 (the file holds
# the data and no holes: both send ~256 MiB) and raw (a 1 GiB file with holes: NovaCron's
# sparse streams send the 256 MiB of data, the plain pipe sends 1 GiB).
#
#   bench/cold-migrate.sh [--runs N]      (default 3; needs root, as the testbed does)
#
# Each run moves the VM h1 -> h2 and back with `novacron apply` (two moves); the figure is
# the migrate action's own duration as apply prints it (copy + define + undefine + removal
# of the source volume).  The virsh pipe is timed once per run, same daemons.
# MB/s = the 256 MiB of data / seconds (10^6 bytes).  The testbed honours NC_LV_ADDR_PREFIX,
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
YAML
	for vm in qcow2 raw; do
		cat >>"$T/spec/c.yaml" <<YAML
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: $vm}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: stopped
  placement: {host: $([ "$vm" = "$2" ] && echo "$1" || echo "$3")}
  disks:
    - {name: root, pool: local, size: 1GiB}
YAML
	done
}
now() { date +%s.%N; }
secs() { awk -v a="$2" -v b="$1" 'BEGIN{printf "%.2f", a-b}'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/1e6/s}'; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

spec h1 qcow2 h1
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >/dev/null
P1=$NC_HOST1_IMAGES/nc-bench
P2=$NC_HOST2_IMAGES/nc-bench
# qcow2: the volume apply made; raw: replaced by a raw file of the same name (libvirt probes
# the format), 1 GiB long.  Both get 4 x 64 MiB of data spread over the disk.
rm -f "$P1/raw-root.qcow2" && qemu-img create -q -f raw "$P1/raw-root.qcow2" 1G
virsh -q -c "$NC_HOST1_URI" pool-refresh novacron-local >/dev/null
for fmt in qcow2 raw; do
	for off in 0 256M 512M 768M; do qemu-io -f $fmt -c "write -P 0x5a $off 64M" "$P1/$fmt-root.qcow2" >/dev/null; done
	echo "$fmt disk: 1 GiB, 256 MiB written; file $(stat -c %s "$P1/$fmt-root.qcow2") bytes long, $(du -k "$P1/$fmt-root.qcow2" | cut -f1) KiB on disk"
done
data=$((256 << 20))

for fmt in qcow2 raw; do
	: >"$T/nc.$fmt"; : >"$T/pipe.$fmt"
	for ((i = 1; i <= runs; i++)); do
		for to in h2 h1; do
			spec "$to" "$fmt" h1
			"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a.log" 2>&1 || { cat "$T/a.log"; exit 1; }
			d=$(sed -nE "s/.*migrate $fmt .*\.\.\. done \(([0-9.]+)s\)/\1/p" "$T/a.log")
			[ -n "$d" ] || { cat "$T/a.log"; exit 1; }
			echo "$d" >>"$T/nc.$fmt"
			printf 'run %d: %s, novacron cold move -> %s: %ss\n' "$i" "$fmt" "$to" "$d"
		done
		# the VM is back on h1: the same file through a virsh pipe into a fresh volume on h2
		virsh -q -c "$NC_HOST2_URI" vol-create-as novacron-local pipe.img 1G --format "$fmt" >/dev/null
		t0=$(now)
		virsh -q -c "$NC_HOST1_URI" vol-download --pool novacron-local "$fmt-root.qcow2" /dev/stdout |
			virsh -q -c "$NC_HOST2_URI" vol-upload --pool novacron-local pipe.img /dev/stdin
		t1=$(now)
		cmp -s "$P1/$fmt-root.qcow2" "$P2/pipe.img" || { echo "virsh pipe: copy differs" >&2; exit 1; }
		virsh -q -c "$NC_HOST2_URI" vol-delete --pool novacron-local pipe.img >/dev/null
		secs "$t0" "$t1" >>"$T/pipe.$fmt"; echo >>"$T/pipe.$fmt"
		printf 'run %d: %s, virsh vol-download | vol-upload: %ss\n' "$i" "$fmt" "$(tail -1 "$T/pipe.$fmt")"
	done
done
for fmt in qcow2 raw; do
	n=$(median <"$T/nc.$fmt"); p=$(median <"$T/pipe.$fmt")
	echo "$fmt, 256 MiB of data: novacron median ${n}s = $(mbps $data "$n") MB/s of data ($((runs * 2)) moves); virsh pipe ${p}s = $(mbps $data "$p") MB/s ($runs)"
done
