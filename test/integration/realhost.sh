#!/usr/bin/env bash
# Integration test: examples/realhost applied with the real `novacron apply` to two real
# libvirt daemons (test/testbed/libvirtd.sh, one private network namespace) running a real
# Debian kernel under QEMU TCG: the tiny guest of test/testbed/guest-image.sh. What the
# guest prints on its serial console (NovaCron logs it to
# /var/log/libvirt/qemu/NAME-console.log on the host) shows that
#   - it booted from a copy-on-write clone of the image NovaCron put in the pool
#     (the image's marker file, read from its disk);
#   - it read its NoCloud seed (the sha256 of its user-data equals that of the spec's
#     cloudInit.userData; instance-id and hostname from meta-data);
#   - it got a DHCP lease on the NAT network `lan` that NovaCron created (the NIC's fixed
#     address, and the lease for its MAC in `virsh net-dhcp-leases lan`), and the network's
#     DNS resolves the VM's name to it;
# then userData changes: the plan shows it, apply applies it, and the next boot reads the
# new seed.
# Exit 0 passed, 1 failed, 77 skipped (the machine cannot run the daemons).
# Knobs: NC_GUEST_CACHE (default ~/.cache/novacron-guest), NC_BOOT_WAIT (seconds per boot,
# default 300).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-realhost-XXXXXX)
LV=$T/lv
WAIT=${NC_BOOT_WAIT:-300}
fails=0

# NC_IT_KEEP=1 keeps the testbed and its files (to look at them; stop it with libvirtd.sh down)
cleanup() { [ "${NC_IT_KEEP:-0}" = 1 ] && { echo "kept $T" >&2; return; }; bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
nc()   { "$NC" "$@" "$T/spec" --state-dir "$T/st"; }

bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
	echo "skip: $why"
	exit 77
fi
# the guest: built once from Debian packages, then cached
if ! bash test/testbed/guest-image.sh ${NC_GUEST_CACHE:+"$NC_GUEST_CACHE"} >"$T/guest.env" 2>"$T/guest.log"; then
	cat "$T/guest.log"
	echo "FAIL: test/testbed/guest-image.sh cannot build the test guest"
	exit 1
fi
set -a; . "$T/guest.env"; set +a
NC_LV_ADDR_PREFIX=127.0.106 bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 ||
	{ cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a

# ---------------------------------------------------------------- the example, here
# examples/realhost as a user would run it, with the guest's files where this machine has
# them (the example names the default roots under /var/lib/novacron) and the operator's
# configuration: the testbed's connections, and paths: roots allowing those files
cp -r examples/realhost "$T/spec"
# (the Image's file novacron-guest.raw is a copy of the guest's disk.raw in an images directory)
sed -i -e "s|/var/lib/novacron/boot/novacron-guest/|$NC_GUEST_DIR/|g" "$T/spec"/*.yaml
mkdir -p "$T/images"
cp "$NC_GUEST_DISK" "$T/images/novacron-guest.raw"
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  boot: ["%s"]\n  images: ["%s"]\n  pools: ["/var/lib/libvirt/images"]\n' \
	"$NC_GUEST_DIR" "$T/images"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml
grep -q "sha256: $NC_GUEST_DISK_SHA256" "$T/spec/guest.yaml" &&
	ok "the guest image built here has the sha256 the example names ($NC_GUEST_DISK_SHA256)" ||
	fail "guest image sha256 $NC_GUEST_DISK_SHA256 is not the example's"

VM=guest-1
MAC=52:54:00:4e:43:01
SUBNET=192.168.150
CONSOLE=$LV/h1/log/qemu/$VM-console.log   # /var/log/libvirt/qemu/guest-1-console.log on h1
POOLDIR=$LV/h1/lib/images/novacron        # /var/lib/libvirt/images/novacron on h1
virsh1() { virsh -q -c "$NC_HOST1_URI" "$@"; }

# userdata FILE: the spec's cloudInit.userData (a literal block, indented 6) as cloud-init gets it
userdata() {
	awk '/^    userData: \|$/ {on = 1; next} on && /^      / {print substr($0, 7); next} on {exit}' "$1"
}
# (no "CMD | grep -q": with pipefail, CMD killed by SIGPIPE when grep exits early fails it)
# lastboot: the console lines of the last boot; key K: the value of "NCGUEST K=" in them
lastboot() { awk '/NCGUEST boot=1/ {n = ""} {n = n $0 "\n"} END {printf "%s", n}' "$CONSOLE" 2>/dev/null | tr -d '\r'; }
key() { lastboot | sed -n "s/^NCGUEST $1=\([^ ]*\).*/\1/p" | tail -1; }
# boots: how many boots the console log holds
boots() { grep -c 'NCGUEST boot=1' "$CONSOLE" 2>/dev/null || true; }
# wait_boot [N]: until the log holds more than N boots (default 0) and the last one printed
# "NCGUEST done"; prints the seconds it took
wait_boot() {
	local t0=$SECONDS after=${1:-0}
	for ((i = 0; i < WAIT * 2; i++)); do
		[ "$(boots)" -gt "$after" ] && grep -q '^NCGUEST done' <<<"$(lastboot)" && { echo $((SECONDS - t0)); return 0; }
		sleep 0.5
	done
	return 1
}

# ---------------------------------------------------------------- 0. the plan
nc plan >"$T/p0.log" 2>&1; rc=$?
[ $rc = 2 ] && ok "plan: the example is to be created (exit 2)" || { cat "$T/p0.log"; fail "first plan (exit $rc)"; }
grep -q "network lan" "$T/p0.log" && ok "plan: the Network lan is created on h1" || fail "no network lan in the plan"
grep -q "image novacron-guest" "$T/p0.log" && ok "plan: the Image is uploaded into h1's pool" || fail "no upload of the Image in the plan"
grep -q "cloud-init seed" "$T/p0.log" && ok "plan: the VM gets a cloud-init seed" || fail "no cloud-init seed in the plan"

# ---------------------------------------------------------------- 1. apply, first boot
T0=$SECONDS
nc apply --auto-approve >"$T/a1.log" 2>&1 && ok "apply creates the example on the real daemons ($((SECONDS - T0)) s)" ||
	{ cat "$T/a1.log"; fail "apply"; }
virsh1 dumpxml "$VM" >"$T/dom1.xml" 2>&1 || { cat "$T/dom1.xml"; fail "$VM is not defined on h1"; }
grep -qx "$VM" <<<"$(virsh -q -c "$NC_HOST2_URI" list --all --name)" && fail "$VM is on h2 as well" || ok "$VM is on h1, pinned"
if s=$(wait_boot); then
	ok "the guest booted a Debian kernel under TCG and finished its checks in $s s (console log on h1)"
else
	cat "$CONSOLE" 2>/dev/null | tail -30
	fail "no 'NCGUEST done' on the console within $WAIT s"
fi

# the disk: a copy-on-write clone of the image, and the guest read the image's marker from it
DISK=$POOLDIR/$VM-root.qcow2
backing=$(qemu-img info -U --output=json "$DISK" 2>/dev/null | sed -n 's/.*"backing-filename": "\([^"]*\)".*/\1/p' | head -1)
case "$backing" in
/var/lib/libvirt/images/novacron/novacron-image-novacron-guest-*) ok "the disk is a qcow2 clone of the image NovaCron uploaded into the pool (${backing##*/})" ;;
*) fail "the disk's backing file is '$backing', not the Image's volume in the pool" ;;
esac
img=$POOLDIR/${backing##*/}
[ -f "$img" ] && [ "$(sha256sum <"$img" | cut -d' ' -f1)" = "$NC_GUEST_DISK_SHA256" ] &&
	ok "the uploaded volume's sha256 is the Image's" || fail "the uploaded volume differs from $NC_GUEST_DISK"
[ "$(key marker)" = "$NC_GUEST_MARKER" ] && [ "$(key marker | wc -l)" = 1 ] &&
	grep -q "^NCGUEST marker=$NC_GUEST_MARKER dev=/dev/vda" <<<"$(lastboot)" &&
	ok "the guest read the image's marker from its clone (/dev/vda)" || fail "marker: '$(key marker)'"

# the NoCloud seed
grep -q "device=.cdrom." "$T/dom1.xml" && ok "the domain has the seed as a CD-ROM" || fail "no CD-ROM in the domain"
{
	want=$(userdata "$T/spec/guest.yaml" | sha256sum | cut -d' ' -f1)
	[ "$(key userdata_sha256)" = "$want" ] && ok "the guest read its NoCloud seed: sha256 of user-data = the spec's ($want)" ||
		fail "user-data sha256 in the guest $(key userdata_sha256), spec's $want"
	ID1=$(key instance_id)
	[ -n "$ID1" ] && ok "meta-data has instance-id $ID1" || fail "no instance-id in meta-data"
	[ "$(key hostname)" = "$VM" ] && ok "meta-data has hostname $VM" || fail "hostname in meta-data: '$(key hostname)'"
}

# the network
ip=$(key ip)
[ "$(key mac)" = "$MAC" ] && ok "eth0 has the spec's MAC $MAC" || fail "eth0's MAC is '$(key mac)'"
case "$ip" in
"$SUBNET".*/24) ok "the guest got $ip by DHCP from lan ($SUBNET.0/24)" ;;
*) fail "the guest's DHCP address is '$ip'" ;;
esac
virsh1 net-dhcp-leases lan >"$T/leases.txt" 2>&1
grep -q "$MAC .* ${ip%/*}/24" "$T/leases.txt" && ok "virsh net-dhcp-leases lan shows the lease of $MAC" ||
	{ cat "$T/leases.txt"; fail "no lease for $MAC in net-dhcp-leases"; }
{
	[ "$ip" = "$SUBNET.50/24" ] && ok "... the static lease NovaCron gave the VM's MAC (nic ip: $SUBNET.50)" ||
		fail "the guest got '$ip', not the NIC's ip $SUBNET.50"
	grep -Eq '^Autostart: +yes' <<<"$(virsh1 net-info lan)" && ok "NovaCron's network lan is autostarted on h1" || fail "lan is not autostarted"
	grep -q "$SUBNET.1" <(virsh1 net-dumpxml lan) && ok "lan has the spec's subnet" || fail "lan's subnet"
	grep -qx lan <<<"$(virsh -q -c "$NC_HOST2_URI" net-list --all --name)" && fail "lan was created on h2, which has no VM on it" ||
		ok "lan exists on h1 only, the host whose VM uses it"
	[ "$(key dns_self)" = "$SUBNET.50" ] && ok "the network's DNS (dnsmasq at $SUBNET.1) resolves $VM to $SUBNET.50" ||
		fail "the guest resolved $VM to '$(key dns_self)'"
}
# nothing of it reached the machine's own network stack
grep -q virbr <<<"$(ip -o link show)" && fail "a bridge appeared on the machine" ||
	ok "the network's bridge lives in the testbed's network namespace, not on the machine"

nc plan >"$T/p1.log" 2>&1; rc=$?
[ $rc = 0 ] && ok "the next plan has no changes" || { cat "$T/p1.log"; fail "plan after apply (exit $rc)"; }

# ---------------------------------------------------------------- 2. userData changes
sed -i 's|^      hostname: guest-1$|      hostname: guest-1\n      # changed by realhost.sh|' "$T/spec/guest.yaml"
want2=$(userdata "$T/spec/guest.yaml" | sha256sum | cut -d' ' -f1)
{
	nc plan >"$T/p2.log" 2>&1; rc=$?
	[ $rc = 2 ] && grep -q "$VM" "$T/p2.log" && grep -qi "userdata\|cloud-init\|seed" "$T/p2.log" &&
		ok "plan shows the userData change" || { cat "$T/p2.log"; fail "plan after the userData change (exit $rc)"; }
	nc apply --auto-approve >"$T/a2.log" 2>&1 && ok "apply applies it" || { cat "$T/a2.log"; fail "apply of the userData change"; }
	# cloud-init reads a seed at boot, and apply changed the medium without a restart
	# (docs/plan.md): reboot the guest in place (a reset keeps QEMU and its console log)
	# and look at what that boot read
	n=$(boots)
	grep -q 'NCGUEST boot=1' "$CONSOLE" && virsh1 reset "$VM" >/dev/null 2>&1 || fail "virsh reset $VM"
	if s=$(wait_boot "$n"); then
		[ "$(key userdata_sha256)" = "$want2" ] && ok "the next boot ($s s) reads the new seed (user-data sha256 $want2)" ||
			fail "after the change the guest read user-data $(key userdata_sha256), want $want2"
		[ -n "$(key instance_id)" ] && [ "$(key instance_id)" != "$ID1" ] && ok "... under a new instance-id $(key instance_id)" ||
			fail "instance-id after the change: '$(key instance_id)' (was $ID1)"
		[ "$(key marker)" = "$NC_GUEST_MARKER" ] && ok "... from the same disk" || fail "second boot marker '$(key marker)'"
	else
		tail -30 "$CONSOLE"
		fail "no second boot within $WAIT s"
	fi
	nc plan >"$T/p3.log" 2>&1; rc=$?
	[ $rc = 0 ] && ok "and then no changes" || { cat "$T/p3.log"; fail "plan after the second apply (exit $rc)"; }
}

[ $fails = 0 ]
