#!/usr/bin/env bash
# Integration test of ordering and health gates on a real libvirt daemon with
# QEMU (TCG) guests (docs/plan.md "Ordering and health gates"):
#   cache (running gate) and db (agent gate, 3 s) come up first; app depends
#   on cache and is created once libvirt reports cache running; web depends on
#   db, whose guest has no QEMU guest agent (a 40-byte kernel, no agent
#   channel), so db's gate times out and web is skipped with the reason; a
#   later apply checks db's gate again (db is not touched) and skips web
#   again; deletes go in reverse order.  Uses test/testbed/libvirtd.sh.
# Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-order-XXXXXX)
LV=$T/lv
fails=0

cleanup() { bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
	echo "skip: $why"
	exit 77
fi
bash test/testbed/libvirtd.sh up 1 "$LV" >"$T/up.log" 2>&1 || { cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  boot: ["%s"]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

mkdir -p "$T/spec"
gcc -m32 -c test/integration/dirty-guest.S -o "$T/dirty.o" &&
	ld -m elf_i386 -Ttext=0x100000 -e _start -o "$T/dirty.elf" "$T/dirty.o" || { echo "FAIL: cannot build the guest kernel"; exit 1; }
vm() {   # vm NAME EXTRA
	printf -- '---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: %s}\nspec:\n  vcpus: 1\n  memory: 32MiB\n  machine: pc\n  boot: {kernel: "%s"}\n%b' "$1" "$T/dirty.elf" "$2"
}
spec() {   # spec STATE
	{ printf 'apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: "%s"}\n' "$NC_HOST1_SPEC_URI"
	  vm cache "  state: $1\n"
	  vm db "  state: $1\n  health: {wait: agent, timeout: 3s}\n"
	  vm app "  state: $1\n  dependsOn: [cache]\n"
	  vm web "  state: $1\n  dependsOn: [db]\n"; } > "$T/spec/cluster.yaml"
}
spec running
"$NC" plan "$T/spec" --state-dir "$T/st" >"$T/p1.log" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "order: wave 0, after db" "$T/p1.log" && ok "the plan shows the order" || { cat "$T/p1.log"; fail "plan (exit $rc)"; }
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a1.log" 2>&1; rc=$?
grep -q "gate cache (running) on h1 ... passed" "$T/a1.log" && grep -q "create app on h1 ... done" "$T/a1.log" \
	&& ok "the running gate holds on a QEMU guest: app is created after cache" || { cat "$T/a1.log"; fail "running gate"; }
[ $rc = 1 ] && grep -q "gate db (agent) on h1 ... failed: health gate (agent) not passed within 3s" "$T/a1.log" \
	&& grep -q "create web on h1 ... skipped: waits for db, whose health gate (agent)" "$T/a1.log" \
	&& ok "a guest without an agent fails the agent gate; web is skipped" || { cat "$T/a1.log"; fail "agent gate (exit $rc)"; }
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve >"$T/a2.log" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "gate db (agent) on h1 ... failed" "$T/a2.log" && grep -q "Apply incomplete: 0 done, 1 failed, 1 skipped." "$T/a2.log" \
	&& ok "db is not touched again, its gate still holds web back" || { cat "$T/a2.log"; fail "second apply (exit $rc)"; }
spec absent
"$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve --allow-mass-delete >"$T/a3.log" 2>&1; rc=$?
a=$(grep -n "delete app" "$T/a3.log" | cut -d: -f1); c=$(grep -n "delete cache" "$T/a3.log" | cut -d: -f1)
[ $rc = 0 ] && [ -n "$a" ] && [ -n "$c" ] && [ "$a" -lt "$c" ] && ok "deletes in reverse order: app before cache" \
	|| { cat "$T/a3.log"; fail "delete (exit $rc)"; }
[ $fails = 0 ]
