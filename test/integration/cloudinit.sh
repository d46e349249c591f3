#!/usr/bin/env bash
# Integration test of cloud-init NoCloud seeds on a real libvirt daemon with
# QEMU (TCG) guests, with the novacron CLI:
#   apply puts each VM's seed into its pool as <VM>-cidata.iso (uploaded
#   through libvirt) and attaches it as a read-only CD-ROM: on ide for a pc
#   machine, on sata for q35, and QEMU starts with it; the volume's bytes
#   (virsh vol-download) are an ISO 9660 image labelled cidata (blkid, as
#   cloud-init finds it) holding the user-data byte for byte; a changed
#   userData is planned as such (a restart, not taken: allowRestart is
#   false), applied by rewriting the seed and changing the running guest's
#   medium, and the guest keeps running;
#   cloudInit removed: the CD-ROM leaves the definition and the volume is
#   deleted; a deleted VM takes its seed with it.
# The guests are a 4-instruction multiboot kernel that halts: nothing here
# boots Linux (a guest that reads its seed is the real-host example's test).
# NC_IT_LV_DIR: the testbed's directory (default: under the test's own).
# Uses test/testbed/libvirtd.sh. Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-cloudinit-XXXXXX)
LV=${NC_IT_LV_DIR:-$T/lv}
fails=0

cleanup() {
	bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
	echo "skip: $why"
	exit 77
fi
command -v blkid >/dev/null || PATH=$PATH:/usr/sbin:/sbin
NC_LV_ADDR_PREFIX=${NC_LV_ADDR_PREFIX:-127.0.108} NC_LV_MIG_PORT_BASE=${NC_LV_MIG_PORT_BASE:-50800} \
	bash test/testbed/libvirtd.sh up 1 "$LV" >"$T/up.log" 2>&1 ||
	{ cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
{ cat "$NC_CONNECTIONS"; printf 'paths:\n'
  for k in pools boot; do printf '  %s: ["%s"]\n' "$k" "$T"; done; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
nc()   { "$NC" "$@" "$T/spec" --state-dir "$T/st"; }
v()    { virsh -q -c "$NC_HOST1_URI" "$@"; }

printf '\t.text\n\t.align 4\n\t.long 0x1BADB002\n\t.long 0\n\t.long -0x1BADB002\n\t.globl _start\n_start:\n\tcli\n1:\thlt\n\tjmp 1b\n' >"$T/guest.S"
gcc -m32 -c "$T/guest.S" -o "$T/guest.o" && ld -m elf_i386 -Ttext=0x100000 -e _start -o "$T/guest.elf" "$T/guest.o" ||
	{ echo "FAIL: cannot build the guest kernel"; exit 1; }
mkdir -p "$T/pool" "$T/spec"

# the user-data: text that would break XML, a shell or YAML if it ever reached one
cat >"$T/ud1" <<'EOF'
#cloud-config
runcmd:
  - echo '</source><devices>' "$(reboot)" `id` ; rm -rf / &
write_files: [{path: /etc/motd, content: "a\"b"}]
EOF
printf '#cloud-config\nhostname: second\n' >"$T/ud2"

# spec USERDATA_FILE|"" [ci-state]
spec() {
	{
		cat <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: local}
spec: {type: dir, path: "$T/pool"}
---
apiVersion: novacron.io/v1
kind: Template
metadata: {name: tiny}
spec:
  vcpus: 1
  memory: 64MiB
  boot: {kernel: "$T/guest.elf"}
  disks:
    - {name: root, pool: local, size: 16MiB, boot: true}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: ciq}
spec:
  template: tiny
  machine: q35
  state: ${2:-running}
  cloudInit:
    userData: "#cloud-config\\n"
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: ci}
spec:
  template: tiny
  machine: pc
  allowRestart: ${ALLOW_RESTART:-false}
YAML
		if [ -n "$1" ]; then
			printf '  cloudInit:\n    userData: |\n'
			sed 's/^/      /' "$1"
		fi
	} >"$T/spec/cluster.yaml"
}

# seed_has VM FILE: the VM's seed volume is an ISO labelled cidata holding FILE's bytes
seed_has() {
	local iso=$T/$1.iso off len
	rm -f "$iso"
	v vol-download --pool novacron-local "$1-cidata.iso" "$iso" || return 1
	blkid -p -o export "$iso" >"$T/blkid" || return 1
	grep -qx 'LABEL=cidata' "$T/blkid" && grep -qx 'TYPE=iso9660' "$T/blkid" || { cat "$T/blkid"; return 1; }
	# a file's bytes are one extent of the image: find its first line, compare all of it
	len=$(stat -c %s "$2")
	off=$(grep -obaF -m1 "$(head -1 "$2")" "$iso" | head -1 | cut -d: -f1)
	[ -n "$off" ] && cmp -s <(tail -c +$((off + 1)) "$iso" | head -c "$len") "$2"
}

# 1. apply: seeds uploaded, CD-ROMs attached, the guests run
spec "$T/ud1"
nc apply --auto-approve >"$T/a1.log" 2>&1 && ok "apply creates two VMs with cloud-init seeds" || { cat "$T/a1.log"; fail "apply"; }
[ "$(v domstate ci)" = running ] && [ "$(v domstate ciq)" = running ] && ok "both guests run with their CD-ROM" ||
	{ v domstate ci; v domstate ciq; fail "guests not running"; }
v dumpxml ci >"$T/ci.xml"; v dumpxml ciq >"$T/ciq.xml"
grep -A8 "device='cdrom'" "$T/ci.xml" | tr -d '\n' | grep -q "<source file='$T/pool/ci-cidata.iso'.*<target dev='hda' bus='ide'/>.*<readonly/>" &&
	ok "ci (pc): read-only CD-ROM hda on ide with ci-cidata.iso" || { grep -A10 cdrom "$T/ci.xml"; fail "ci cdrom"; }
grep -A8 "device='cdrom'" "$T/ciq.xml" | tr -d '\n' | grep -q "<source file='$T/pool/ciq-cidata.iso'.*<target dev='sda' bus='sata'/>.*<readonly/>" &&
	ok "ciq (q35): read-only CD-ROM sda on sata with ciq-cidata.iso" || { grep -A10 cdrom "$T/ciq.xml"; fail "ciq cdrom"; }
seed_has ci "$T/ud1" && ok "vol-download: an ISO 9660 image labelled cidata with the user-data byte for byte" || fail "seed content"
nc plan >"$T/p1.log" 2>&1; rc=$?
[ $rc -eq 0 ] && ok "the next plan has nothing to do" || { cat "$T/p1.log"; fail "plan after apply exited $rc"; }

# 2. a new userData: planned as such, applied without a restart
ID=$(v domid ci)
spec "$T/ud2"
nc plan >"$T/p2.log" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q '~ cloudInit userData: sha256 [0-9a-f]\{12\} -> sha256 [0-9a-f]\{12\} (cloud-init reads it at next boot, under a new instance-id) (restart)' "$T/p2.log" &&
	grep -q 'take effect at the next restart (allowRestart is false)' "$T/p2.log" && ! grep -q 'with restart' "$T/p2.log" &&
	ok "plan: the userData change and what it means, no restart (allowRestart is false)" || { cat "$T/p2.log"; fail "plan of a userData change"; }
nc apply --auto-approve >"$T/a2.log" 2>&1 && ok "apply rewrites the seed" || { cat "$T/a2.log"; fail "apply userData change"; }
seed_has ci "$T/ud2" && ok "the seed volume holds the new user-data" || fail "new seed content"
[ "$(v domid ci)" = "$ID" ] && ok "the guest kept running (same QEMU, id $ID)" || fail "guest restarted: id $(v domid ci) was $ID"
# the medium was changed: QEMU holds the new file open, not the deleted old one
PID=$(cat "$LV/h1/run/qemu/ci.pid" 2>/dev/null)
if [ -n "$PID" ] && [ -d "/proc/$PID" ]; then
	ls -l "/proc/$PID/fd" | grep 'ci-cidata.iso' >"$T/fds"
	grep -q 'ci-cidata.iso$' "$T/fds" && ! grep -q deleted "$T/fds" &&
		ok "the running guest's CD-ROM holds the new seed (media change)" || { cat "$T/fds"; fail "QEMU still has the old seed open"; }
else
	fail "no QEMU pid for ci ($LV/h1/run/qemu/ci.pid)"
fi
nc plan >"$T/p3.log" 2>&1 && ok "converged after the change" || { cat "$T/p3.log"; fail "plan after change"; }

# 2b. allowRestart: true: the guest is restarted to boot with the new seed
ALLOW_RESTART=true spec "$T/ud1"
nc plan >"$T/p4.log" 2>&1
grep -q '~ ci: update on h1 (with restart)' "$T/p4.log" && ok "with allowRestart the change restarts the guest" ||
	{ cat "$T/p4.log"; fail "plan with allowRestart"; }
nc apply --auto-approve >"$T/a4.log" 2>&1 || { cat "$T/a4.log"; fail "apply with restart"; }
[ "$(v domstate ci)" = running ] && [ "$(v domid ci)" != "$ID" ] && seed_has ci "$T/ud1" &&
	ok "restarted (id $ID -> $(v domid ci)) with the new seed" || fail "restart: id $(v domid ci), state $(v domstate ci)"
ALLOW_RESTART=true nc plan >"$T/p5.log" 2>&1 || { cat "$T/p5.log"; fail "plan after restart"; }

# 3. cloudInit removed from ci, ciq deleted: their seed volumes go
spec "" absent
nc apply --auto-approve --allow-mass-delete >"$T/a3.log" 2>&1 || { cat "$T/a3.log"; fail "apply removal"; }
v vol-list novacron-local >"$T/vols"
! grep -q 'ci-cidata.iso' "$T/vols" && ! grep -q 'ciq-cidata.iso' "$T/vols" && grep -q 'ci-root.qcow2' "$T/vols" &&
	ok "seeds deleted (with cloudInit, with the VM); disks kept" || { cat "$T/vols"; fail "seed volumes left"; }
v dumpxml --inactive ci | grep -q "device='cdrom'" && fail "ci's definition still has a CD-ROM" ||
	ok "ci's definition has no CD-ROM any more"

[ $fails -eq 0 ]
