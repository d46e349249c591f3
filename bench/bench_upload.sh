#!/usr/bin/env bash
# bench_upload.sh - how fast does NovaCron put an Image into the hosts' pools?
#
# Seconds per GiB of `novacron apply` uploading one Image (a file source of SIZE
# random bytes, so no hole helps) into the dir pool of 1 and of 2 real libvirt
# daemons (test/testbed/libvirtd.sh, one machine), against `virsh vol-upload`
# of the same file into the same daemon's pool (the same libvirt stream over
# the same unix socket). NovaCron's figure is the upload action's own time
# (what `apply` prints for it: volume create, stream,
# size check, completion mark) and, for 2 hosts, the wall time of the
# whole apply (observe, plan, both uploads in parallel, the VM creates: on the
# testbed each define can take ~20 s, see bench/README.md).
# The file's sha256 is computed once before (plan remembers it in the state
# directory), so no run pays it twice. Best of RUNS.
#
# usage: bench/bench_upload.sh [SIZE_MIB] [RUNS]      (default 1024 MiB, 3 runs)
# knobs: NC_LV_ADDR_PREFIX (127.0.106), NC_LV_MIG_PORT_BASE (50600), NC (build-bench/novacron
#        or build/novacron)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SIZE_MIB=${1:-1024}
RUNS=${2:-3}
NC=${NC:-}
[ -z "$NC" ] && { [ -x build-bench/novacron ] && NC=$ROOT/build-bench/novacron || NC=$ROOT/build/novacron; }
T=$(mktemp -d /tmp/nc-bench-upload-XXXXXX)
LV=$T/lv
cleanup() { bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

bash test/testbed/libvirtd.sh check >/dev/null 2>&1 || { echo "skip: libvirtd.sh cannot run here"; exit 77; }
NC_LV_ADDR_PREFIX=${NC_LV_ADDR_PREFIX:-127.0.106} NC_LV_MIG_PORT_BASE=${NC_LV_MIG_PORT_BASE:-50600} \
	bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
mkdir -p "$T/images" "$T/spec"
POOL=/var/lib/libvirt/images/nc-bench-upload
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  pools: ["/var/lib/libvirt/images"]\n  images: ["%s/images"]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

echo "bench_upload: $SIZE_MIB MiB of random bytes, $RUNS runs, $(nproc) CPUs, $($NC --version 2>/dev/null | head -1)"
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$T/images/img.raw"
SUM=$(sha256sum "$T/images/img.raw" | cut -c1-64)
GIB=$(awk "BEGIN{print $SIZE_MIB/1024}")

# spec HOSTS...: the Image and one stopped VM per host that needs it
spec() {
	{
		for h in "$@"; do
			n=${h#h}
			printf 'apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: %s}\nspec: {uri: "%s"}\n---\n' \
				"$h" "$(eval echo "\$NC_HOST${n}_SPEC_URI")"
		done
		printf 'apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\nspec: {type: dir, path: "%s"}\n---\n' "$POOL"
		printf 'apiVersion: novacron.io/v1\nkind: Image\nmetadata: {name: img}\nspec: {source: {file: img.raw}, sha256: %s, format: raw}\n' "$SUM"
		for h in "$@"; do
			printf -- '---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: vm-%s}\nspec:\n  vcpus: 1\n  memory: 64MiB\n  state: stopped\n  placement: {host: %s}\n  disks: [{name: root, pool: local, image: img}]\n' "$h" "$h"
		done
	} >"$T/spec/c.yaml"
}
# wipe: remove the VMs and every volume of the pool on both hosts, drop the page cache's dirty pages
wipe() {
	for n in 1 2; do
		u=$(eval echo "\$NC_HOST${n}_URI")
		for d in $(virsh -c "$u" list --all --name 2>/dev/null); do virsh -c "$u" undefine "$d" >/dev/null 2>&1; done
		for v in $(virsh -c "$u" vol-list novacron-local 2>/dev/null | awk 'NR>2 && $1 {print $1}'); do
			virsh -c "$u" vol-delete --pool novacron-local "$v" >/dev/null 2>&1
		done
	done
	sync
}
best() { sort -g | head -1; }
per_gib() { awk "BEGIN{printf \"%.3f\", $1/$GIB}"; }

# one run of each, interleaved (the machine may be shared: each figure is the best of RUNS,
# and a burst of load hits all four alike)
virsh_up() {   # HOSTS...: virsh vol-upload into each at once; prints the wall seconds
	local n t0 t1 pids=()
	wipe
	for n in "$@"; do
		virsh -c "$(eval echo "\$NC_HOST${n}_URI")" vol-create-as novacron-local v.raw "$((SIZE_MIB << 20))" --format raw >/dev/null || exit 1
	done
	t0=$(date +%s.%N)
	for n in "$@"; do
		virsh -c "$(eval echo "\$NC_HOST${n}_URI")" vol-upload --pool novacron-local v.raw "$T/images/img.raw" >/dev/null & pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(date +%s.%N)
	awk "BEGIN{print $t1-$t0}"
}
nc_up() {      # HOSTS...: novacron apply; prints "slowest-upload-action wall"
	local t0 t1 out
	spec "$@"
	wipe
	t0=$(date +%s.%N)
	out=$("$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve 2>&1) || { echo "$out" >&2; exit 1; }
	t1=$(date +%s.%N)
	echo "$(sed -n 's/.*upload image img on h[12] into pool local ... done (\([0-9.]*\)s).*/\1/p' <<<"$out" | sort -g | tail -1) $(awk "BEGIN{print $t1-$t0}")"
}
spec h1 h2
"$NC" plan "$T/spec" --state-dir "$T/st" >/dev/null 2>&1    # hashes the file once, remembered
# the pools exist on both hosts before virsh uses them
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >/dev/null 2>&1 || exit 1
vs=(); vs2=(); nc1=(); nc2=(); wall2=()
for _ in $(seq "$RUNS"); do
	vs+=("$(virsh_up 1)")
	r=$(nc_up h1); nc1+=("${r%% *}")
	vs2+=("$(virsh_up 1 2)")
	r=$(nc_up h1 h2); nc2+=("${r%% *}"); wall2+=("${r##* }")
done
VS=$(printf '%s\n' "${vs[@]}" | best)
NC1=$(printf '%s\n' "${nc1[@]}" | best)
VS2=$(printf '%s\n' "${vs2[@]}" | best)
NC2=$(printf '%s\n' "${nc2[@]}" | best)
WALL2=$(printf '%s\n' "${wall2[@]}" | best)
echo "runs (s): virsh 1 host ${vs[*]}; novacron 1 host ${nc1[*]}; virsh 2 hosts ${vs2[*]}; novacron 2 hosts ${nc2[*]} (apply ${wall2[*]})"

printf '\n%-58s %8s %9s\n' "upload of $SIZE_MIB MiB (best of $RUNS)" "seconds" "s/GiB"
printf '%-58s %8.3f %9s\n' "virsh vol-upload, 1 host" "$VS" "$(per_gib "$VS")"
printf '%-58s %8.3f %9s\n' "novacron apply, upload action, 1 host" "$NC1" "$(per_gib "$NC1")"
printf '%-58s %8.3f %9s\n' "2 x virsh vol-upload at once, 2 hosts (wall)" "$VS2" "$(per_gib "$VS2")"
printf '%-58s %8.3f %9s\n' "novacron apply, 2 hosts, slower upload action" "$NC2" "$(per_gib "$NC2")"
printf '%-58s %8.3f %9s\n' "novacron apply, 2 hosts, whole apply (wall)" "$WALL2" "$(per_gib "$WALL2")"
printf '\nratio NovaCron / virsh: 1 host %.2fx, 2 hosts %.2fx (goal: within 1.2x)\n' \
	"$(awk "BEGIN{print $NC1/$VS}")" "$(awk "BEGIN{print $NC2/$VS2}")"
