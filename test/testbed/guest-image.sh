#!/usr/bin/env bash
# guest-image.sh - builds NovaCron's tiny bootable test guest from Debian packages, offline
# but for Debian's apt mirror: nothing is installed, the packages are fetched with
# `apt-get download` and unpacked with `dpkg-deb -x`.
#
# usage: guest-image.sh [CACHEDIR]   build what is missing (default ~/.cache/novacron-guest),
#                                    then print NC_GUEST_* shell variables:
#                                    set -a; eval "$(guest-image.sh)"; set +a
#
# What it makes, in CACHEDIR:
#   vmlinuz      Debian bookworm's kernel (what linux-image-amd64 depends on), booted directly
#                by libvirt (<os><kernel>); cmdline: console=ttyS0 (see NC_GUEST_CMDLINE)
#   initrd.img   a gzip'd cpio: busybox-static, the kernel modules below (with what they
#                depend on, from the unpacked kernel's modules.dep) and /init
#   disk.raw     the "OS image" NovaCron uploads: a 16 MiB ext2 file system (raw) holding
#                /novacron-marker; built reproducibly (fixed UUID, hash seed and times), so
#                its sha256 (disk.raw.sha256, NC_GUEST_DISK_SHA256) is the same on every
#                machine and an example may write it down
#   env          the NC_GUEST_* variables printed at the end
#
# The guest's /init (busybox sh) prints lines "NCGUEST key=value" on the serial console:
#   NCGUEST boot=1 kernel=VERSION          it runs
#   NCGUEST marker=TEXT dev=/dev/vdX       the disk holding /novacron-marker (the image or a
#                                          copy-on-write clone of it), mounted read-only
#   NCGUEST seed=/dev/srN                  the NoCloud seed: an ISO 9660 labelled "cidata"
#   NCGUEST userdata_sha256=HEX            sha256 of its user-data
#   NCGUEST instance_id=ID / hostname=NAME from its meta-data
#   NCGUEST mac=MAC / ip=ADDR/PREFIX       eth0's address, and the DHCP lease udhcpc got
#   NCGUEST router=ADDR / dns_self=ADDR    the lease's router, and what the DNS server there
#                                          says the seed's hostname is
#   NCGUEST done                           then it idles (ncguest.end=poweroff: powers off)
# A step that fails prints NCGUEST KEY=none (or error=...) and the rest goes on.
# Modules loaded: virtio_pci virtio_blk virtio_net virtio_scsi ata_piix ahci sd_mod sr_mod
# isofs crc32c_generic ext4 (the Debian kernel has them as modules; serial, devtmpfs, packet are built in).
#
# Debian packages needed on the machine (test/testbed/deps.sh): apt, dpkg, e2fsprogs
# (mke2fs -d, debugfs), cpio, gzip. Fetched, not installed: linux-image-6.1.*-amd64, busybox-static.
set -euo pipefail

CACHE=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/novacron-guest}
CACHE=$(realpath -m "$CACHE")
MODULES="virtio_pci virtio_blk virtio_net virtio_scsi ata_piix ahci sd_mod sr_mod isofs crc32c_generic ext4"
MARKER="novacron-test-guest-image-1"
CMDLINE="console=ttyS0 panic=-1 loglevel=4"

say() { echo "[guest-image.sh] $*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}

emit_env() {
	cat <<EOF
NC_GUEST_DIR=$CACHE
NC_GUEST_KERNEL=$CACHE/vmlinuz
NC_GUEST_INITRD=$CACHE/initrd.img
NC_GUEST_CMDLINE='$CMDLINE'
NC_GUEST_DISK=$CACHE/disk.raw
NC_GUEST_DISK_SHA256=$(cut -d' ' -f1 "$CACHE/disk.raw.sha256")
NC_GUEST_DISK_SIZE=$(stat -c %s "$CACHE/disk.raw")
NC_GUEST_MARKER=$MARKER
NC_GUEST_KERNEL_VERSION=$(cat "$CACHE/kernel-version")
EOF
}

# The build is keyed by this script's own content: a changed script rebuilds.
KEY=$(sha256sum "$0" | cut -c1-16)
if [ -s "$CACHE/env" ] && [ "$(cat "$CACHE/key" 2>/dev/null)" = "$KEY" ] &&
	[ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/initrd.img" ] && [ -s "$CACHE/disk.raw" ]; then
	cat "$CACHE/env"
	exit 0
fi

for p in apt-get apt-cache dpkg-deb mke2fs debugfs cpio gzip sha256sum; do
	command -v "$p" >/dev/null || die "missing $p (run test/testbed/deps.sh)"
done
mkdir -p "$CACHE"
W=$(mktemp -d "$CACHE/.build-XXXXXX")
trap 'rm -rf "$W"' EXIT

# ---------------------------------------------------------------- packages
# linux-image-amd64 is a meta package: the real kernel is what it depends on
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1; }
KPKG=$(kernel_pkg)
if [ -z "$KPKG" ]; then
	# a machine whose package lists were never fetched: fetch them once
	say "apt does not know linux-image-amd64: apt-get update"
	$([ "$(id -u)" -eq 0 ] || echo sudo) apt-get update -qq >/dev/null 2>&1 || true
	KPKG=$(kernel_pkg)
fi
[ -n "$KPKG" ] || die "apt cannot resolve linux-image-amd64 (apt-get update? a Debian bookworm mirror?)"
say "fetching $KPKG and busybox-static (apt-get download)"
# _apt cannot write a directory only root may: download in a world-writable one
mkdir -p "$W/deb" && chmod 1777 "$W/deb"
(cd "$W/deb" && apt-get download -q "$KPKG" busybox-static >/dev/null 2>"$W/download.err") ||
	die "apt-get download failed: $(tail -3 "$W/download.err")"
say "unpacking (dpkg-deb -x)"
dpkg-deb -x "$W"/deb/linux-image-*.deb "$W/k"
dpkg-deb -x "$W"/deb/busybox-static_*.deb "$W/bb"
BB=$W/bb/bin/busybox
[ -x "$BB" ] || die "busybox-static has no bin/busybox"
KVER=$(ls "$W/k/lib/modules")
[ -n "$KVER" ] && [ -f "$W/k/boot/vmlinuz-$KVER" ] || die "no kernel in $KPKG"

# ---------------------------------------------------------------- modules
# the package ships no modules.dep (its postinst runs depmod): busybox's depmod makes one
"$BB" depmod -b "$W/k" "$KVER"
MD=$W/k/lib/modules/$KVER
R=$W/root
mkdir -p "$R"/{bin,dev,proc,sys,mnt/disk,mnt/seed,tmp,etc} "$R/lib/modules/$KVER"
# the closure of MODULES over modules.dep, in load order (dependencies first)
want=()
for m in $MODULES; do
	line=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$MD/modules.dep") || die "module $m not in $KVER"
	want+=("${line%%:*}")
	for dep in ${line#*:}; do want+=("$dep"); done
done
printf '%s\n' "${want[@]}" | sort -u >"$W/mods"
while read -r f; do
	mkdir -p "$R/lib/modules/$KVER/$(dirname "$f")"
	cp "$MD/$f" "$R/lib/modules/$KVER/$f"
done <"$W/mods"
# modules.dep restricted to what is in the initramfs (busybox modprobe reads it)
grep -F -f <(sed 's/$/:/' "$W/mods") "$MD/modules.dep" >"$R/lib/modules/$KVER/modules.dep"
say "$(wc -l <"$W/mods") modules for $MODULES"

# ---------------------------------------------------------------- initramfs
cp "$BB" "$R/bin/busybox"
cat >"$R/init" <<'EOF'
#!/bin/busybox sh
# NovaCron test guest: prints NCGUEST key=value lines on the console (ttyS0)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
say() { echo "NCGUEST $*"; }
say boot=1 kernel="$(uname -r)"
for m in __MODULES__; do modprobe "$m" 2>/dev/null || say error=modprobe-"$m"; done

# the disk: the first block device with an ext2/3/4 file system holding /novacron-marker
marker=
for i in $(seq 50); do
	for d in /dev/vd? /dev/sd?; do
		[ -b "$d" ] || continue
		if mount -t ext4 -o ro "$d" /mnt/disk 2>/dev/null; then
			if [ -f /mnt/disk/novacron-marker ]; then
				marker=$d
				break 2
			fi
			umount /mnt/disk
		fi
	done
	sleep 0.2
done
say blockdevs="$(cd /sys/class/block && echo *)"
if [ -n "$marker" ]; then
	say marker="$(cat /mnt/disk/novacron-marker)" dev="$marker"
else
	say marker=none
fi

# the NoCloud seed: an ISO 9660 file system labelled cidata (a CD-ROM, or any disk)
seed=
for i in $(seq 50); do
	for d in /dev/sr? /dev/vd? /dev/sd?; do
		[ -b "$d" ] || continue
		# the ISO 9660 volume identifier: 32 bytes at 32768 + 40, padded with blanks
		label=$(dd if="$d" bs=8 skip=4101 count=4 2>/dev/null | tr -d ' \000')
		[ "$label" = cidata ] || continue
		mount -t iso9660 -o ro "$d" /mnt/seed 2>/dev/null && seed=$d && break 2
	done
	sleep 0.2
done
if [ -n "$seed" ]; then
	say seed="$seed"
	if [ -f /mnt/seed/user-data ]; then
		say userdata_sha256="$(sha256sum /mnt/seed/user-data | cut -d' ' -f1)"
	else
		say userdata_sha256=none
	fi
	# meta-data is YAML: "instance-id: ID" and "local-hostname: NAME" (quotes dropped)
	v() { sed -n "s/^$1:[[:space:]]*//p" /mnt/seed/meta-data 2>/dev/null | head -1 | tr -d "\"'\r"; }
	host=$(v local-hostname)
	say instance_id="$(v instance-id)"
	say hostname="$host"
else
	say seed=none
fi

# the network: DHCP on eth0
if [ -e /sys/class/net/eth0 ]; then
	say mac="$(cat /sys/class/net/eth0/address)"
	ip link set lo up
	ip link set eth0 up
	udhcpc -i eth0 -s /bin/udhcpc.script -t 10 -T 2 -A 2 -n -q >/dev/null 2>&1 || say ip=none
	# the network's DNS (at the router, libvirt's dnsmasq): what is this guest's own name?
	if [ -s /tmp/router ] && [ -n "${host:-}" ]; then
		a=$(nslookup "$host" "$(cat /tmp/router)" 2>/dev/null |
			awk '/^Name:/ {n = 1} n && /^Address/ {sub(/^Address:?[ \t]*/, ""); print; exit}')
		say dns_self="${a:-none}"
	fi
else
	say mac=none
	say ip=none
fi
say done
grep -q 'ncguest.end=poweroff' /proc/cmdline && poweroff -f
while :; do sleep 3600; done
EOF
sed -i "s/__MODULES__/$MODULES/" "$R/init"
cat >"$R/bin/udhcpc.script" <<'EOF'
#!/bin/busybox sh
# udhcpc calls this with bound/renew: configure eth0 and print the lease
case "$1" in
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	echo "NCGUEST ip=$ip/$mask" >/dev/console
	[ -n "${router:-}" ] && echo "NCGUEST router=${router%% *}" >/dev/console && echo "${router%% *}" >/tmp/router
	;;
esac
exit 0
EOF
chmod 755 "$R/init" "$R/bin/udhcpc.script"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 -n >"$W/initrd.img"

# ---------------------------------------------------------------- the OS image
# reproducible: fixed UUID, hash seed, file times and mke2fs clock
mkdir -p "$W/img"
printf '%s\n' "$MARKER" >"$W/img/novacron-marker"
printf 'This file system is the disk image of NovaCron'"'"'s test guest (test/testbed/guest-image.sh).\n' >"$W/img/README"
touch -h -d @0 "$W/img" "$W/img"/*
rm -f "$W/disk.raw"
E2FSPROGS_FAKE_TIME=1 mke2fs -q -F -t ext2 -b 1024 -N 64 -m 0 -L ncguest \
	-U 6e6f7661-6372-4f6e-8000-746573746731 -E hash_seed=6e6f7661-6372-4f6e-8000-746573746732,root_owner=0:0 \
	-d "$W/img" "$W/disk.raw" 16M >/dev/null
# mke2fs -d copies each file's ctime, which touch cannot set: zero every time with debugfs
for f in / /lost+found /novacron-marker /README; do
	for t in atime ctime mtime crtime; do printf 'set_inode_field %s %s 0\n' "$f" "$t"; done
done | E2FSPROGS_FAKE_TIME=1 debugfs -w -f - "$W/disk.raw" >/dev/null 2>"$W/debugfs.err" ||
	die "debugfs: $(cat "$W/debugfs.err")"

# ---------------------------------------------------------------- install
cp "$W/k/boot/vmlinuz-$KVER" "$CACHE/vmlinuz"
mv "$W/initrd.img" "$CACHE/initrd.img"
mv "$W/disk.raw" "$CACHE/disk.raw"
(cd "$CACHE" && sha256sum disk.raw >disk.raw.sha256)
echo "$KVER" >"$CACHE/kernel-version"
emit_env >"$CACHE/env"
echo "$KEY" >"$CACHE/key"
say "built in $CACHE: kernel $KVER ($(stat -c %s "$CACHE/vmlinuz") bytes), initrd $(stat -c %s "$CACHE/initrd.img") bytes, disk.raw sha256 $(cut -c1-16 "$CACHE/disk.raw.sha256")..."
cat "$CACHE/env"
