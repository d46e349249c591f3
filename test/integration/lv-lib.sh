# lv-lib.sh - what the integration scripts on one real libvirt daemon share; sourced by
# them (from the project's root), never run.
#
#   lv_begin NAME      ROOT, NC (the binary: $NC or build/novacron), T (a new
#                      /tmp/nc-it-NAME-XXXXXX), LV ($T/lv), fails=0; on exit the script's own
#                      lv_cleanup (when it defines one) runs, then the testbed goes down and
#                      $T is removed
#   lv_up PREFIX       the testbed's packages and `libvirtd.sh check` (exit 77 with the
#                      reason when the machine cannot), one daemon h1 at PREFIX.1, its NC_*
#                      variables, and $T/novacron.yaml: its connections file plus `paths:`
#                      under $T (NOVACRON_CONFIG)
#   lv_halt_guest OUT  a multiboot kernel that halts at once: its guest never writes its
#                      disk, so the disk changes only when the test changes it
#   ok / fail / nc     "ok   ..." / "FAIL ..." (counted in fails) / novacron on $T/spec
#                      with the state dir $T/st
# shellcheck shell=bash

lv_begin() {
	ROOT=$PWD
	NC=${NC:-$ROOT/build/novacron}
	T=$(mktemp -d "/tmp/nc-it-$1-XXXXXX")
	LV=$T/lv
	fails=0
	trap lv_end EXIT
}

lv_end() {
	declare -F lv_cleanup >/dev/null && lv_cleanup
	bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1
	rm -rf "$T"
}

lv_up() {
	local why
	bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
	if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
		echo "skip: $why"
		exit 77
	fi
	NC_LV_ADDR_PREFIX=$1 bash test/testbed/libvirtd.sh up 1 "$LV" >"$T/up.log" 2>&1 ||
		{ cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
	set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
	# a spec names the hosts (NC_HOSTn_SPEC_URI); the operator's connections file says how to
	# reach their daemons' sockets, and lets the spec's files be under $T (paths:)
	{ cat "$NC_CONNECTIONS"; printf 'paths:\n'
	  for k in secrets pools images backups boot; do printf '  %s: ["%s"]\n' "$k" "$T"; done; } >"$T/novacron.yaml"
	export NOVACRON_CONFIG=$T/novacron.yaml
}

lv_halt_guest() {
	printf '\t.text\n\t.align 4\n\t.long 0x1BADB002\n\t.long 0\n\t.long -0x1BADB002\n\t.globl _start\n_start:\n\tcli\n1:\thlt\n\tjmp 1b\n' >"$1.S"
	gcc -m32 -c "$1.S" -o "$1.o" && ld -m elf_i386 -Ttext=0x100000 -e _start -o "$1" "$1.o" ||
		{ echo "FAIL: cannot build the guest kernel"; exit 1; }
}

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
nc()   { "$NC" "$@" "$T/spec" --state-dir "$T/st"; }
