#!/usr/bin/env bash
# Installs, when missing, the Debian 12 packages the testbed scripts need: test/testbed/
# libvirtd.sh (real libvirt daemons with QEMU (TCG) guests), test/testbed/ceph.sh (a
# single-node Ceph: mon, OSD, mgr, radosgw), test/testbed/guest-image.sh (a tiny guest) and
# test/testbed/nfs.sh (an NFS server) with the NFS client test/testbed/nfs-fuse.c.
# Uses sudo when not root. Safe to run again.
#   deps.sh            the daemons, QEMU, qemu-img and virsh (the tests ask the daemons with
#                      it), libvirt's network driver's helpers, QEMU's rbd block driver, the
#                      Ceph daemons and their CLI tools, what guest-image.sh needs
# A C client of the daemons also needs libvirt-dev (scripts/deps.sh installs it).
set -euo pipefail

PKGS=(
	libvirt-daemon             # /usr/sbin/libvirtd
	libvirt-daemon-driver-qemu # the QEMU driver module
	qemu-system-x86            # qemu-system-x86_64 (+ seabios, ipxe ROMs)
	qemu-utils                 # qemu-img, qemu-io for guest disks
	libvirt-clients            # virsh: tests check what the daemons hold with it
	util-linux                 # unshare, nsenter, setsid (essential; listed for clarity)
	iproute2                   # ip: lo up in the testbed's network namespace
	dnsmasq-base               # libvirt's network driver: DHCP and DNS of NAT/isolated networks
	iptables                   # libvirt's network driver: NAT and forwarding rules (in the namespace); libvirtd.sh shape: loss on the WAN link
	openssl                    # libvirtd.sh NC_LV_TLS=1: the testbed CA and certificates (wan-migrate.sh)
	qemu-block-extra           # QEMU's rbd driver: guests with RBD disks (cephx) start
	ceph-mon ceph-osd ceph-mgr # test/testbed/ceph.sh: the cluster
	radosgw                    # its S3 and Swift endpoint (backup targets)
	ceph-common                # ceph, rados, rbd, ceph-authtool, monmaptool
	e2fsprogs                  # guest-image.sh: mke2fs -d and debugfs make the guest's disk image
	cpio                       # guest-image.sh: the guest's initramfs
	gzip                       # guest-image.sh: the initramfs is gzip'd
	python3                    # python3 -m http.server: the HTTP server test/integration/images.sh serves images from
	curl                       # test/integration/images.sh waits for that server with it
	fence-agents               # fence_ipmilan: the agent fence back-end's test (test/test_fence.c)
	openipmi                   # ipmi_sim: the BMC fence_ipmilan powers off in that test
	ipmitool                   # what fence_ipmilan runs to speak IPMI
	nfs-ganesha nfs-ganesha-vfs # test/testbed/nfs.sh: the user-space NFS server (VFS FSAL)
	rpcbind                    # its portmapper (NFSv3 MOUNT), run by nfs.sh in a namespace
	nfs-common                 # /sbin/mount.nfs, which test/integration/netfs.sh binds its client over
	libnfs-dev libfuse3-dev    # test/testbed/nfs-fuse.c: the user-space NFS client on FUSE
	pkg-config                 # finds libnfs and fuse3 to build it
	libnbd-bin                 # nbdcopy: bench/backup-e2e.sh's bound (qemu-nbd read/write throughput)
)
# guest-image.sh fetches (apt-get download) and unpacks, without installing them,
# bookworm's linux-image-6.1.*-amd64 and busybox-static: nothing to install for those.

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "testbed deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# no recommends: they would pull libvirt-daemon-system, which adds users and init scripts,
# and ceph's would pull a whole ceph-mgr dashboard stack
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
