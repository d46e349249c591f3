#!/usr/bin/env bash
# Integration test on a real libvirt daemon (test/testbed/libvirtd.sh, inside the testbed's
# private network namespace: the bridge, dnsmasq and iptables rules of a NAT network never
# reach the machine): a spec with a NAT Network (DHCP, a range, a static lease from a VM's
# fixed MAC and address) and a stopped VM on it.
#   apply  -> the daemon holds the network: net-info active + autostart, net-dumpxml with
#             NovaCron's metadata, forward nat, the host's address, the range, the lease, the
#             DNS name; the plan after it has no changes
#   a new address for the VM -> the plan updates the lease live; apply changes the running
#             network (virNetworkUpdate): the lease and DNS name change, dnsmasq keeps its PID
#             (no restart) and its hosts file has the new address
#   a new subnet -> the plan shows a restart; apply: new address, a new dnsmasq
#   the VM and the Network leave the spec -> kept without --prune, deleted with it
# No guest boots (a stopped VM needs its network on its host all the same): lean.
# Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-network-XXXXXX)
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
export NOVACRON_CONFIG=$NC_CONNECTIONS

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
V() { virsh -c "$NC_HOST1_URI" "$@" 2>&1; }
# dnsmasq of network lan: its PID (libvirt's pid file) and its static hosts file
dnsmasq_pid() { cat "$LV/h1/run/network/lan.pid" 2>/dev/null; }
hostsfile() { cat "$LV/h1/lib/dnsmasq/lan.hostsfile" 2>/dev/null; }
MAC=52:54:00:77:00:10

spec() {   # spec SUBNET PREFIX VM_IP [absent]
	mkdir -p "$T/spec"
	cat > "$T/spec/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
YAML
	[ "${4:-}" = absent ] && return
	cat >> "$T/spec/cluster.yaml" <<YAML
---
apiVersion: novacron.io/v1
kind: Network
metadata: {name: lan}
spec:
  type: nat
  subnet: $1.0/24
  dhcp: true
  dhcpRange: {start: $1.100, end: $1.199}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: tiny}
spec:
  vcpus: 1
  memory: 64MiB
  state: stopped
  nics: [{name: eth0, network: lan, mac: "$MAC", ip: $1.$3}]
YAML
}
plan() { "$NC" plan "$T/spec" --state-dir "$T/st" "$@"; }
apply() { "$NC" apply "$T/spec" --state-dir "$T/st" --auto-approve "$@"; }

# 1. created, started, autostarted, holding what the spec says
spec 10.151.0 24 10
plan >"$T/p1.log"; rc=$?
[ $rc = 2 ] && grep -q "+ network lan: create on h1, then start" "$T/p1.log" && grep -q "after: #1" "$T/p1.log" \
	&& ok "the plan creates network lan on h1 before the VM" || { cat "$T/p1.log"; fail "plan create (exit $rc)"; }
apply >"$T/a1.log" 2>&1 && grep -q "create network lan on h1 ... done" "$T/a1.log" \
	&& ok "apply creates the network" || { cat "$T/a1.log"; fail "apply create"; }
V net-info lan >"$T/info1"
grep -Eq "^Active: +yes" "$T/info1" && grep -Eq "^Autostart: +yes" "$T/info1" && grep -Eq "^Persistent: +yes" "$T/info1" \
	&& ok "net-info: active, persistent, autostart" || { cat "$T/info1"; fail "net-info"; }
V net-dumpxml lan >"$T/x1"
grep -q '<nc:network xmlns:nc="https://novacron.io/xmlns/network/1">' "$T/x1" && grep -q "<forward mode='nat'" "$T/x1" \
	&& grep -q "<ip address='10.151.0.1' prefix='24'>" "$T/x1" \
	&& grep -q "<range start='10.151.0.100' end='10.151.0.199'" "$T/x1" \
	&& grep -q "<host mac='$MAC' name='tiny' ip='10.151.0.10'/>" "$T/x1" \
	&& grep -q "<hostname>tiny</hostname>" "$T/x1" \
	&& ok "net-dumpxml: metadata, NAT, address, range, static lease, DNS name" || { cat "$T/x1"; fail "net-dumpxml"; }
hostsfile | grep -q "$MAC,10.151.0.10,tiny" && ok "dnsmasq serves the lease" || { hostsfile; fail "dnsmasq hosts file"; }
plan >"$T/p2.log"; rc=$?
[ $rc = 0 ] && ok "then no changes" || { cat "$T/p2.log"; fail "plan after create (exit $rc)"; }

# 2. a new address for the VM: the lease changes live, dnsmasq is not restarted
pid1=$(dnsmasq_pid)
spec 10.151.0 24 20
plan >"$T/p3.log"; rc=$?   # (grep on files: with pipefail, grep -q could kill its writer)
[ $rc = 2 ] && grep -q "~ network lan: update on h1$" "$T/p3.log" && grep -q "change live, no restart" "$T/p3.log" \
	&& grep -q "dhcp host $MAC: 10.151.0.10 tiny -> 10.151.0.20 tiny" "$T/p3.log" \
	&& ok "a changed lease is planned as a live update" || { cat "$T/p3.log"; fail "plan lease (exit $rc)"; }
apply >"$T/a3.log" 2>&1 && ok "apply the live update" || { cat "$T/a3.log"; fail "apply lease"; }
V net-dumpxml lan >"$T/x3"
V net-dumpxml --inactive lan >"$T/x3i"
grep -q "<host mac='$MAC' name='tiny' ip='10.151.0.20'/>" "$T/x3" && grep -q "<host mac='$MAC' name='tiny' ip='10.151.0.20'/>" "$T/x3i" \
	&& grep -q "<host ip='10.151.0.20'>" "$T/x3" && ! grep -q "ip='10.151.0.10'" "$T/x3" \
	&& ok "the running network and its definition hold the new lease and DNS name" || { cat "$T/x3" "$T/x3i"; fail "lease after update"; }
pid2=$(dnsmasq_pid)
[ -n "$pid1" ] && [ "$pid1" = "$pid2" ] && ok "dnsmasq kept running (no restart)" || fail "dnsmasq pid $pid1 -> $pid2"
hostsfile | grep -q "$MAC,10.151.0.20,tiny" && ok "dnsmasq serves the new lease" || { hostsfile; fail "hosts file after update"; }
plan >"$T/p4.log"; rc=$?
[ $rc = 0 ] && ok "then no changes" || { cat "$T/p4.log"; fail "plan after live update (exit $rc)"; }

# 3. a new subnet: a restart
spec 10.152.0 24 20
plan >"$T/p5.log"; rc=$?
[ $rc = 2 ] && grep -q "~ network lan: update on h1 (with restart)" "$T/p5.log" \
	&& grep -q "ipv4: 10.151.0.1/24 -> 10.152.0.1/24 (restart)" "$T/p5.log" \
	&& ok "a new subnet is planned as a restart" || { cat "$T/p5.log"; fail "plan subnet (exit $rc)"; }
apply >"$T/a5.log" 2>&1 && ok "apply the restart" || { cat "$T/a5.log"; fail "apply subnet"; }
V net-dumpxml lan >"$T/x5"
V net-info lan >"$T/info5"
grep -q "<ip address='10.152.0.1' prefix='24'>" "$T/x5" && grep -q "ip='10.152.0.20'" "$T/x5" \
	&& grep -Eq "^Active: +yes" "$T/info5" && ok "the network runs on the new subnet" || { cat "$T/x5"; fail "subnet after restart"; }
pid3=$(dnsmasq_pid)
[ -n "$pid3" ] && [ "$pid3" != "$pid2" ] && ok "dnsmasq was restarted" || fail "dnsmasq pid $pid2 -> $pid3"
plan >"$T/p6.log"; rc=$?
[ $rc = 0 ] && ok "then no changes" || { cat "$T/p6.log"; fail "plan after restart (exit $rc)"; }

# 4. the VM and the Network leave the spec: kept, then deleted with --prune
spec x x x absent
plan >"$T/p7.log"; rc=$?
grep -q "network lan on h1 is managed by NovaCron and not in the spec, but tiny still uses it: kept" "$T/p7.log" \
	&& ok "without --prune the network stays (tiny still uses it)" || { cat "$T/p7.log"; fail "plan without prune (exit $rc)"; }
apply --prune --allow-mass-delete >"$T/a7.log" 2>&1 && grep -q "delete tiny on h1 ... done" "$T/a7.log" \
	&& grep -q "delete network lan on h1 ... done" "$T/a7.log" \
	&& ok "--prune deletes the VM, then the network" || { cat "$T/a7.log"; fail "prune"; }
V net-list --all --name >"$T/l7"
! grep -qx lan "$T/l7" && ok "the daemon holds no network lan" || { cat "$T/l7"; fail "network still there"; }
plan --prune >"$T/p8.log"; rc=$?
[ $rc = 0 ] && ok "then no changes" || { cat "$T/p8.log"; fail "plan after prune (exit $rc)"; }

[ $fails = 0 ]
