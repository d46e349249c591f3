#!/usr/bin/env bash
# libvirtd.sh - N real libvirt daemons (QEMU driver, TCG guests) on this one machine, for
# NovaCron's integration tests: define/start tiny guests and LIVE-MIGRATE them between daemons.
# Works as root without systemd and without /dev/kvm. Nothing is written to the machine's
# /etc/libvirt, /run/libvirt, /var/lib/libvirt...: each daemon sees private ones (the script
# only creates those that are missing, as empty mount points, and `down` removes them).
#
# usage: libvirtd.sh up N [DIR]   start N daemons h1..hN (stops a previous run in DIR first)
#        libvirtd.sh down [DIR]   stop exactly what `up` started (guests too), remove DIR
#        libvirtd.sh restart H [DIR]  start host hH's daemon again after it died (killed as a
#                                 host crash would be): its guests' QEMU that still run are
#                                 kept (the new daemon finds them), dead ones are cleaned up
#        libvirtd.sh env  [DIR]   print NC_* shell variables (URIs) of the running hosts:
#                                 set -a; eval "$(libvirtd.sh env)"; set +a
#                                 and write DIR/connections.yaml (NC_CONNECTIONS) for NovaCron
#        libvirtd.sh check        can this machine run it, and if not why (exit 0 / 1)
#        libvirtd.sh shape DELAY RATE [LOSS] [DIR]   (NC_LV_WAN=1 testbeds) shape the WAN link
#                                 both ways: DELAY 20ms, RATE 100mbit, LOSS 1% (0: none; 100%:
#                                 the link drops); `shape off [DIR]` removes it (see WAN mode)
#        DIR defaults to /tmp/nc-libvirtd (an absolute path without blanks)
#
# Debian 12 packages needed (test/testbed/deps.sh installs them when missing):
#   libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils iproute2
#   dnsmasq-base iptables (libvirt's network driver: NAT/isolated networks with DHCP)
#   plus util-linux, mount, coreutils, findutils, sed, mawk (all part of every Debian).
#   libvirt-clients (virsh) as well: the tests use it to look at what the daemons hold; this
#   script uses it only, when present, to confirm each daemon answers.
#
# How it works:
#   * one `libvirtd` per host, started by `unshare --mount` in its own mount namespace in
#     which DIR/hN/{etc,run,lib,log} are bind-mounted over /etc/libvirt, /run/libvirt,
#     /var/lib/libvirt, /var/log/libvirt (and DIR/cache, shared, over /var/cache/libvirt).
#     The QEMU driver hard-codes those paths; this is what keeps two system-mode daemons
#     and their guests (QEMU stays in the daemon's namespace) apart. DIR itself is visible
#     from every namespace, so are the unix sockets in it.
#   * all daemons of one testbed share ONE private network namespace, made by `up` (a holder
#     process, `unshare --net` running `sleep`, DIR/netns.pid; its /proc/PID/ns/net is what
#     each daemon enters with nsenter before its `unshare --mount`). Only `lo` is up in it.
#     So whatever the daemons create for a NAT or isolated libvirt network (bridges, taps,
#     dnsmasq's DHCP/DNS, iptables rules, ip_forward) lives in that namespace, never on the
#     machine, and two testbeds never see each other's addresses or ports. The hosts of
#     one testbed share that one network stack: a network's subnet can be active on one of
#     them at a time (libvirt refuses a subnet already routed, "already in use by interface").
#     `nsenter --net=/proc/$(cat DIR/netns.pid)/ns/net CMD` runs CMD inside (e.g. `ip addr`).
#   * clients and the SOURCE daemon of a peer-to-peer migration reach a daemon through its
#     unix socket, qemu+unix:///system?socket=
#     DIR/hN/sock/libvirt-sock (auth none): the filesystem, not the network namespace.
#     A spec may not name a socket (docs/security.md):
#     a spec's Host hN says uri: $NC_HOSTn_SPEC_URI, a stand-in that resolves nowhere, and the
#     operator's connections file NC_CONNECTIONS (--config) maps hN to the socket URIs.
#     The migration data goes over TCP on the namespace's loopback (127/8 routes to lo),
#     to 127.0.100.N (qemu.conf migration_address + migration_host; libvirt refuses 127.0.0.1
#     and "localhost" as migration_host), from a port range of the host's own.
#     Optionally (NC_LV_TCP_BASE) each daemon also listens on 127.0.100.N:BASE+N (qemu+tcp),
#     inside the namespace (reach it with nsenter --net as above).
#   * each daemon has its own host_uuid (libvirt refuses to migrate to "the same host");
#     the hostname may be the same.
#   * QEMU runs as root with security_driver "none", no cgroups, no per-guest namespace,
#     stdio_handler "file": no virtlogd/virtlockd, nothing left in /sys/fs/cgroup.
#   * DIR/hN/libvirtd.pid holds the daemon's PID, DIR/hN/mntns its mount namespace. `down`
#     kills, by PID and only if still in that namespace, the daemons, then the guests' QEMU
#     (the pid files libvirt writes), then anything else left in the namespaces (dnsmasq),
#     then the network namespace's holder (DIR/netns.pid, checked against DIR/netns), and
#     removes DIR. The bind mounts exist only inside the namespaces and vanish with their
#     last process; mount points this script had to create (empty dirs) are removed again.
#
# knobs (environment, read by `up`):
#   NC_LV_TCP_BASE      also listen for qemu+tcp on 127.0.100.N:(BASE+N) (default 0 = no)
#   NC_LV_ADDR_PREFIX   host N's loopback address is PREFIX.N (default 127.0.100)
#   NC_LV_MIG_PORT_BASE first migration data port; host N uses BASE+(N-1)*64 .. +63
#                       (default 49152). Two testbeds at once need distinct DIRs; each has
#                       its own network namespace, so addresses and ports may stay the same.
#   NC_LV_KVM           1 = the daemons may use /dev/kvm (default 0: guests run under TCG,
#                       the same on every machine, which the tests are written for)
#   NC_LV_LOG_LEVEL     libvirtd log level, 1 debug .. 4 error (default 3)
#   NC_LV_WAIT          seconds to wait for each daemon to come up (default 30)
#   NC_LV_KEEP          1 = `down` keeps DIR (logs, disk images)
#   NC_LV_BIND          "SRC:DST ..." extra bind mounts in every daemon's mount namespace (kept by
#                       `restart`); each DST must exist. test/integration/netfs.sh binds its
#                       user-space NFS client (test/testbed/nfs-fuse.c) over /sbin/mount.nfs
#   NC_LV_WAN           1 = WAN mode: two sites joined by a veth pair that `shape` shapes. Host h1
#                       is at site a (the testbed's network namespace), h2..hN at site b (a
#                       second one, DIR/netns-b.pid); the veth nc-wan-a (site a) / nc-wan-b (site
#                       b) carries 10.250.0.0/24, host N's address (migration, tcp) is 10.250.0.N
#                       on its site's end, so migration data between sites crosses the veth (on
#                       the same site it stays on lo).  Default 0: one namespace, as described above.
#                       `shape` uses netem (delay, rate, loss) when the kernel has sch_netem; without
#                       it (CONFIG_NET_SCH_NETEM unset) the rate is a tbf qdisc, the loss an iptables
#                       statistic DROP rule, and the delay is NOT emulated: it says so on stderr.
#   NC_LV_TLS           1 = a CA and per-host certificates (openssl, test only) in DIR/hN/pki, and
#                       qemu.conf's migrate_tls_x509_cert_dir points there (verify on): migrations
#                       with VIR_MIGRATE_TLS work; without it they fail (no certificates)
set -euo pipefail

CMD=${1:-}
case "$CMD" in
up) N=${2:-}; DIR=${3:-/tmp/nc-libvirtd} ;;
restart) H=${2:-}; DIR=${3:-/tmp/nc-libvirtd} ;;
down | env) DIR=${2:-/tmp/nc-libvirtd} ;;
shape)
	SHAPE=("${@:2}")
	DIR=/tmp/nc-libvirtd
	# a last argument that is a path is DIR
	if [ "${#SHAPE[@]}" -gt 0 ] && [[ "${SHAPE[-1]}" == /* ]]; then
		DIR=${SHAPE[-1]}
		unset 'SHAPE[-1]'
	fi
	;;
check) DIR=/tmp/nc-libvirtd ;;
*)
	sed -n '2,16p' "$0" >&2
	exit 2
	;;
esac
DIR=$(realpath -m "$DIR")
case "$DIR" in *[[:space:]]*) echo "libvirtd.sh: DIR must not contain blanks" >&2; exit 2 ;; esac
TCP_BASE=${NC_LV_TCP_BASE:-0}
MIG_BASE=${NC_LV_MIG_PORT_BASE:-49152}
ADDR_PREFIX=${NC_LV_ADDR_PREFIX:-127.0.100}
LOG_LEVEL=${NC_LV_LOG_LEVEL:-3}
KVM=${NC_LV_KVM:-0}
WAIT=${NC_LV_WAIT:-30}
BIND=${NC_LV_BIND:-}
WAN=${NC_LV_WAN:-0}
TLS=${NC_LV_TLS:-0}
# WAN mode: the hosts' addresses are on the veth between the sites
[ "$WAN" = 1 ] && [ -z "${NC_LV_ADDR_PREFIX:-}" ] && ADDR_PREFIX=10.250.0
LIBVIRTD=${NC_LV_LIBVIRTD:-/usr/sbin/libvirtd}
QEMU=${NC_LV_QEMU:-/usr/bin/qemu-system-x86_64}
IP=/usr/sbin/ip
QEMU_DRIVER=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so
# machine path inside each namespace  ->  what is bind-mounted there (DIR/hN/...). The cache
# (QEMU capabilities, ~2 s to probe per daemon) is shared: DIR/cache, the same for every host.
MOUNTS="/etc/libvirt:etc /run/libvirt:run /var/lib/libvirt:lib /var/log/libvirt:log /var/cache/libvirt:../cache"

now() { date +%s.%N; }
T0=$(now)
say() { printf '[libvirtd.sh %6.2fs] %s\n' "$(awk -v a="$(now)" -v b="$T0" 'BEGIN{print a-b}')" "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}

# a killed process is reparented to PID 1, which may reap it late: count zombies as dead
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# prints VAR=VALUE, single-quoting VALUE only when the shell would mangle it
emit() {
	case "$2" in
	*[!A-Za-z0-9_/:.+?=,@%-]*) printf "%s='%s'\n" "$1" "$(printf %s "$2" | sed "s/'/'\\\\''/g")" ;;
	*) printf '%s=%s\n' "$1" "$2" ;;
	esac
}

host_count() { [ -s "$DIR/hosts" ] && cat "$DIR/hosts" || echo 0; }
sock_of() { echo "$DIR/h$1/sock/libvirt-sock"; }
addr_of() { echo "$ADDR_PREFIX.$1"; }
uri_of() { echo "qemu+unix:///system?socket=$(sock_of "$1")"; }
# what a spec says: a transport and a host name only; the connections file says how
spec_uri_of() { echo "qemu+tcp://h$1.nc-testbed.invalid/system"; }

# ---------------------------------------------------------------- check
# Prints one line per problem; returns non-zero if any.
check() {
	local bad=0 p
	[ "$(id -u)" -eq 0 ] || {
		echo "not root: the daemons run in system mode and bind-mount over /run/libvirt etc. (run as root or with sudo)"
		bad=1
	}
	[ "$(uname -s)" = Linux ] || {
		echo "not Linux"
		bad=1
	}
	for p in "$LIBVIRTD" "$QEMU" /usr/bin/qemu-img /usr/bin/unshare /usr/bin/nsenter /usr/bin/setsid "$IP"; do
		[ -x "$p" ] || {
			echo "missing $p (run test/testbed/deps.sh)"
			bad=1
		}
	done
	[ -e "$QEMU_DRIVER" ] || {
		echo "missing libvirt QEMU driver $QEMU_DRIVER (package libvirt-daemon-driver-qemu)"
		bad=1
	}
	if [ "$bad" = 0 ] && ! unshare --mount --propagation private -- \
		sh -c 'd=$(mktemp -d) && mount --bind "$d" "$d" && umount "$d" && rmdir "$d"' 2>/dev/null; then
		echo "cannot create a mount namespace with a bind mount (unshare --mount; needs CAP_SYS_ADMIN)"
		bad=1
	fi
	if [ "$bad" = 0 ] && ! unshare --net -- "$IP" link set lo up 2>/dev/null; then
		echo "cannot create a network namespace with lo up (unshare --net; needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"
		bad=1
	fi
	if [ -S /run/libvirt/libvirt-sock ] && ! grep -qs " /run/libvirt " /proc/self/mountinfo; then
		echo "note: a system libvirtd seems to run here too; it is not touched and does not conflict"
	fi
	[ -e /dev/kvm ] || echo "note: no /dev/kvm: guests must be <domain type='qemu'> (TCG software emulation)"
	[ -e /dev/kvm ] && [ "$KVM" != 1 ] && echo "note: /dev/kvm is hidden from the daemons (their /dev has none): guests run under TCG (NC_LV_KVM=1 to use it)"
	return $bad
}

# ---------------------------------------------------------------- down
# Kills a list of PIDs with TERM, waits up to $2 seconds, then KILL.
kill_pids() {
	local pids=$1 secs=$2 p i
	[ -n "$pids" ] || return 0
	kill -TERM $pids 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		local left=
		for p in $pids; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	for p in $pids; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
	sleep 0.2
}

# PIDs of all processes (but this shell) whose mount namespace is $1, as stored in
# DIR/hN/mntns (readlink /proc/PID/ns/mnt, e.g. "mnt:[4026532345]"); one `find`, no loop
pids_in_ns() {
	local ns=$1
	[ -n "$ns" ] || return 0
	# -lname takes a glob: the brackets of "mnt:[N]" become "?"
	find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "mnt:?${ns//[^0-9]/}?" 2>/dev/null |
		sed 's|^/proc/\([0-9]*\)/.*|\1|' | grep -vx "$$" || true
}

# PIDs of all processes (but this shell and $2) in the network namespace $1 (as in DIR/netns)
pids_in_netns() {
	local ns=$1
	[ -n "$ns" ] || return 0
	find /proc/[0-9]*/ns/net -maxdepth 0 -lname "net:?${ns//[^0-9]/}?" 2>/dev/null |
		sed 's|^/proc/\([0-9]*\)/.*|\1|' | grep -vx -e "$$" -e "${2:-$$}" || true
}

# Stops the network namespace's holder (and anything else still in that namespace: the
# namespace goes away with its last process, and with it every bridge, tap and rule in it)
stop_netns() {
	local ns pid rest n=${1:-netns}
	[ -s "$DIR/$n" ] || { rm -f "$DIR/$n.pid"; return 0; }
	ns=$(cat "$DIR/$n")
	pid=$(cat "$DIR/$n.pid" 2>/dev/null || true)
	rest=$(pids_in_netns "$ns" "$pid" | tr '\n' ' ')
	if [ -n "${rest// /}" ]; then
		say "stopping leftover processes in the network namespace $rest"
		kill_pids "$rest" 5
	fi
	if [ -n "$pid" ] && alive "$pid" && [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$ns" ]; then
		kill_pids "$pid" 5
	fi
	rm -f "$DIR/$n" "$DIR/$n.pid"
}

# is $1 a live process in mount namespace $2?
in_ns() { [ -n "$2" ] && alive "$1" && [ "$(readlink "/proc/$1/ns/mnt" 2>/dev/null)" = "$2" ]; }

# Stops the hosts h1..h$1 all at once, everything by PID and checked to belong to the host's
# own mount namespace (PIDs get reused): 1. the daemons, 2. the guests' QEMU, 3. leftovers.
stop_hosts() {
	local n=$1 h d ns pid f q guests='' daemons='' rest=''
	for ((h = 1; h <= n; h++)); do
		d=$DIR/h$h
		[ -s "$d/mntns" ] || continue
		ns=$(cat "$d/mntns")
		pid=$(cat "$d/libvirtd.pid" 2>/dev/null || true)
		# libvirt writes each guest's QEMU PID to /run/libvirt/qemu/NAME.pid, which is
		# DIR/hN/run/qemu/NAME.pid; driver.pid there is the driver's lock (libvirtd's PID)
		for f in "$d"/run/qemu/*.pid; do
			[ -s "$f" ] && [ "${f##*/}" != driver.pid ] || continue
			q=$(cat "$f")
			[ "$q" != "$pid" ] && in_ns "$q" "$ns" && guests="$guests $q"
		done
		in_ns "$pid" "$ns" && daemons="$daemons $pid"
	done
	# daemons first: a libvirtd that sees its guests die spends seconds cleaning up after them
	[ -n "$daemons" ] && say "stopping libvirtd$daemons"
	kill_pids "$daemons" 10
	[ -n "$guests" ] && say "stopping guest QEMU$guests"
	kill_pids "$guests" 5
	# anything still in a namespace (a helper, a QEMU whose pid file was removed)
	for ((h = 1; h <= n; h++)); do
		[ -s "$DIR/h$h/mntns" ] && rest="$rest $(pids_in_ns "$(cat "$DIR/h$h/mntns")" | tr '\n' ' ')"
	done
	if [ -n "${rest// /}" ]; then
		say "stopping leftover processes$rest"
		kill_pids "$rest" 5
	fi
	for ((h = 1; h <= n; h++)); do rm -f "$DIR/h$h/libvirtd.pid" "$DIR/h$h/mntns"; done
}

# Removes the mount points a libvirtd.sh created (they hold a marker file), unless some
# process anywhere (another testbed, in another DIR) still mounts something on them.
MARK=.made-by-nc-libvirtd.sh
remove_mountpoints() {
	local m
	for m in $MOUNTS; do
		m=${m%%:*}
		[ -e "$m/$MARK" ] || continue
		if grep -qs " $m " /proc/[0-9]*/mountinfo; then
			say "keeping $m: another testbed still uses it"
		else
			rm -f "$m/$MARK"
			rmdir "$m" 2>/dev/null || true
		fi
	done
}

down() {
	local n h d
	[ -d "$DIR" ] || return 0
	n=$(host_count)
	# also hosts of a larger earlier run whose hosts file was overwritten
	for d in "$DIR"/h[0-9]*; do
		[ -d "$d" ] || continue
		h=${d##*/h}
		[ "$h" -gt "$n" ] && n=$h
	done
	stop_hosts "$n"
	stop_netns
	stop_netns netns-b
	remove_mountpoints
	rm -f "$DIR/hosts"
	if [ "${NC_LV_KEEP:-0}" = 1 ]; then
		say "down; kept $DIR"
	else
		rm -rf "$DIR"
		say "down; removed $DIR"
	fi
}

# ---------------------------------------------------------------- up
# a stable, valid UUID (version 4 layout), distinct per DIR and per $1
uuid_of() {
	printf '%s/h%s' "$DIR" "$1" | md5sum |
		sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\1-\2-4\3-8\4-\5/'
}

write_conf() {
	local h=$1 d=$DIR/h$1 uuid
	uuid=$(uuid_of "$h")
	echo "$uuid" >"$d/uuid"
	cat >"$d/etc/libvirtd.conf" <<EOF
# written by libvirtd.sh for host h$h; only this file is read by this daemon (libvirtd -f)
unix_sock_dir = "$d/sock"
unix_sock_group = "root"
unix_sock_ro_perms = "0770"
unix_sock_rw_perms = "0770"
unix_sock_admin_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
listen_tls = 0
listen_tcp = $([ "$TCP_BASE" -gt 0 ] && echo 1 || echo 0)
listen_addr = "$(addr_of "$h")"
tcp_port = "$((TCP_BASE + h))"
auth_tcp = "none"
host_uuid = "$uuid"
log_level = $LOG_LEVEL
log_outputs = "$LOG_LEVEL:file:/var/log/libvirt/libvirtd.log"
EOF
	cat >"$d/etc/qemu.conf" <<EOF
# written by libvirtd.sh for host h$h; this is /etc/libvirt/qemu.conf inside its namespace
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
# no cgroups (nothing is left in /sys/fs/cgroup), no per-guest /dev namespace
cgroup_controllers = [ ]
namespaces = [ ]
# guest console/log to a file: no virtlogd needed
stdio_handler = "file"
# migration data: the destination QEMU listens on this host's own loopback address and the
# source connects there (libvirt rejects exactly 127.0.0.1 and "localhost*" as migration_host)
migration_address = "$(addr_of "$h")"
migration_host = "$(addr_of "$h")"
migration_port_min = $((MIG_BASE + (h - 1) * 64))
migration_port_max = $((MIG_BASE + (h - 1) * 64 + 63))
# graphics (none needed) would stay on loopback too
vnc_listen = "$(addr_of "$h")"
spice_listen = "$(addr_of "$h")"
vnc_auto_unix_socket = 1
max_processes = 0
max_files = 0
EOF
	if [ "$TLS" = 1 ]; then
		make_certs "$h"
		printf '# NC_LV_TLS=1: migration TLS (VIR_MIGRATE_TLS) with the testbed CA\nmigrate_tls_x509_cert_dir = "%s"\nmigrate_tls_x509_verify = 1\n' \
			"$d/pki" >>"$d/etc/qemu.conf"
	fi
	# client config of the library *inside* the daemon (peer-to-peer migration connects out)
	echo '# empty: no URI aliases' >"$d/etc/libvirt.conf"
	# storage pool "default" (dir /var/lib/libvirt/images, autostarted), as on a real host:
	# with it, a copy-storage migration (VIR_MIGRATE_NON_SHARED_DISK) creates the disk on
	# the destination by itself; without a pool the file would have to exist there already
	mkdir -p "$d/etc/storage/autostart"
	cat >"$d/etc/storage/default.xml" <<EOF
<pool type='dir'>
  <name>default</name>
  <uuid>$(uuid_of "$h/pool")</uuid>
  <target><path>/var/lib/libvirt/images</path></target>
</pool>
EOF
	ln -sf ../default.xml "$d/etc/storage/autostart/default.xml"
}

# The one network namespace of this testbed: a holder process that only sleeps in it, with
# lo up (127/8 then routes to lo: the migration addresses PREFIX.N work without more).
start_netns() {
	local pid ns i n=${1:-netns}
	setsid unshare --net -- /bin/sh -c '"$1" link set lo up && exec sleep infinity' sh "$IP" \
		</dev/null >"$DIR/$n.out" 2>&1 &
	pid=$!
	echo "$pid" >"$DIR/$n.pid"
	# up to 30 s: on a loaded machine starting unshare, sh and ip can take seconds
	for ((i = 0; i < 1500; i++)); do
		alive "$pid" || die "network namespace holder exited: $(cat "$DIR/$n.out")"
		ns=$(readlink "/proc/$pid/ns/net" 2>/dev/null || true)
		# ready when in its own namespace and lo is up (then the shell has exec'd sleep)
		if [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/net)" ] &&
			[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ]; then
			echo "$ns" >"$DIR/$n"
			break
		fi
		sleep 0.02
	done
	[ -s "$DIR/$n" ] || die "network namespace holder not ready"
	# lo up: seen up to 50 times, set up again if it is not (a loaded machine has shown
	# the first look failing).  No `| grep -q`: with pipefail, ip killed by SIGPIPE fails.
	for ((i = 0; ; i++)); do
		case "$(nsenter --net="/proc/$pid/ns/net" "$IP" -o link show dev lo 2>&1)" in
		*"<LOOPBACK,UP"*) break ;;
		esac
		[ "$i" -lt 50 ] || die "lo is not up in the testbed's network namespace: $(nsenter --net="/proc/$pid/ns/net" "$IP" -o link show dev lo 2>&1)"
		nsenter --net="/proc/$pid/ns/net" "$IP" link set lo up 2>/dev/null || true
		sleep 0.1
	done
	say "network namespace $ns (holder $pid)"
}

start_host() {
	local h=$1 d=$DIR/h$1 pid ns i m binds=''
	# log/qemu: /var/log/libvirt/qemu, where a Debian host keeps its guests' logs (NovaCron
	# puts each VM's serial console log there); libvirt does not create it by itself
	mkdir -p "$d"/{etc,run,lib/images,log/qemu,sock} "$DIR/cache"
	write_conf "$h"
	for m in $MOUNTS; do binds="$binds ${m%%:*}=$d/${m#*:}"; done
	for m in $BIND; do
		[ -e "${m%%:*}" ] && [ -e "${m#*:}" ] || die "NC_LV_BIND: $m: source or mount point missing"
		binds="$binds ${m#*:}=${m%%:*}"
	done
	# Debian's QEMU driver refuses to start unless its compiled-in user/group libvirt-qemu
	# exist (made by libvirt-daemon-system, which we do not want: it starts services).
	# Rather than adding a user to the machine, the namespace sees a passwd/group with it.
	# QEMU still runs as root (qemu.conf user/group).
	if ! getent passwd libvirt-qemu >/dev/null || ! getent group libvirt-qemu >/dev/null; then
		{ cat /etc/passwd; getent passwd libvirt-qemu >/dev/null ||
			echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu (libvirtd.sh namespace only):/nonexistent:/usr/sbin/nologin'; } >"$d/passwd"
		{ cat /etc/group; getent group libvirt-qemu >/dev/null || echo 'libvirt-qemu:x:64055:'; } >"$d/group"
		binds="$binds /etc/passwd=$d/passwd /etc/group=$d/group"
	fi
	# TCG unless NC_LV_KVM=1: the daemon's /dev has no kvm (a tmpfs holding bind mounts of
	# everything else in /dev), so the host's capabilities offer domain type 'qemu' only
	# (nested KVM can be present but unusable: in a VM, a Debian kernel hangs while it
	# decompresses under KVM here). A /dev/kvm that exists but fails (/dev/null bound over
	# it) would not do: libvirt then finds its capabilities cache stale on every use and
	# probes QEMU again, about 15 s each time.
	local nokvm=
	if [ "$KVM" != 1 ] && [ -e /dev/kvm ]; then
		nokvm=$d/dev
		mkdir -p "$nokvm"
	fi
	# setsid: own session, no terminal. unshare execs the shell, which mounts and execs
	# libvirtd, so $! is libvirtd's PID; the daemon's own pid file (-p) has the last word.
	# nsenter: into the testbed's network namespace; it execs unshare, which execs the shell
	setsid nsenter --net="/proc/$(cat "$DIR/$(netns_of "$h").pid")/ns/net" \
		unshare --mount --propagation private -- /bin/sh -c '
		set -e
		for b in $1; do mount --bind "${b#*=}" "${b%%=*}"; done
		if [ -n "$5" ]; then
			mount -t tmpfs -o mode=755 nc-dev "$5"
			for e in /dev/*; do
				n=${e##*/}
				if [ "$n" = kvm ]; then continue
				# a bound /dev/ptmx finds no pts beside it: use the devpts one, as containers do
				elif [ "$n" = ptmx ]; then ln -s pts/ptmx "$5/ptmx"
				elif [ -L "$e" ]; then cp -P "$e" "$5/$n"
				elif [ -d "$e" ]; then mkdir "$5/$n" && mount --rbind "$e" "$5/$n"
				else : >"$5/$n" && mount --bind "$e" "$5/$n"
				fi
			done
			mount --move "$5" /dev
		fi
		exec "$2" -f "$3/etc/libvirtd.conf" -p "$3/libvirtd.pid" $4
	' sh "$binds" "$LIBVIRTD" "$d" "$([ "$TCP_BASE" -gt 0 ] && echo --listen || true)" "$nokvm" \
		</dev/null >"$d/daemon.out" 2>&1 &
	pid=$!
	echo "$pid" >"$d/libvirtd.pid"
	# Ready: the rw socket exists and the QEMU driver took its lock (run/qemu/driver.pid),
	# which it does after reading qemu.conf (config errors make the daemon exit before).
	# Until all drivers are initialized the daemon queues connections rather than failing.
	for ((i = 0; i < WAIT * 20; i++)); do
		alive "$pid" || die "h$h: libvirtd exited: $(tail -n 5 "$d/daemon.out" "$d/log/libvirtd.log" 2>/dev/null)"
		if [ ! -s "$d/mntns" ]; then
			ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null || true)
			[ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/mnt)" ] && echo "$ns" >"$d/mntns"
		fi
		[ -S "$d/sock/libvirt-sock" ] && [ -s "$d/run/qemu/driver.pid" ] && [ -s "$d/mntns" ] && break
		sleep 0.05
	done
	[ -S "$d/sock/libvirt-sock" ] && [ -s "$d/run/qemu/driver.pid" ] ||
		die "h$h: not up after ${WAIT}s; see $d/log/libvirtd.log"
	pid=$(cat "$d/libvirtd.pid")
	alive "$pid" || die "h$h: libvirtd exited: $(tail -n 5 "$d/log/libvirtd.log" 2>/dev/null)"
	[ "$(readlink "/proc/$pid/ns/mnt")" = "$(cat "$d/mntns")" ] || die "h$h: pid file $pid is not our daemon"
	say "h$h: libvirtd $pid up, $(uri_of "$h")"
}

# EXIT trap while `up` runs: a failure stops whatever was started, keeping DIR for the logs
up_failed() {
	local rc=$?
	[ "$rc" -eq 0 ] && return 0
	say "up failed; stopping what was started (logs kept in $DIR)"
	NC_LV_KEEP=1 down
	exit "$rc"
}

up() {
	local h m
	[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 up N [DIR]"
	# one loopback address (PREFIX.N) and 64 migration ports per host
	[ "$N" -le 100 ] && [ $((MIG_BASE + N * 64)) -le 65536 ] || die "N=$N: at most 100 hosts within the port range"
	check >&2 || die "this machine cannot run the daemons (see above)"
	if [ -d "$DIR" ]; then
		say "stopping the previous run in $DIR"
		NC_LV_KEEP=0 down
	fi
	mkdir -p "$DIR"
	echo "$N" >"$DIR/hosts"
	# what `env` must know about this run, whatever its own environment says
	printf 'TCP_BASE=%s\nADDR_PREFIX=%s\nMIG_BASE=%s\nKVM=%s\nLOG_LEVEL=%s\nBIND=%s\nWAN=%s\nTLS=%s\n' \
		"$TCP_BASE" "$ADDR_PREFIX" "$MIG_BASE" "$KVM" "$LOG_LEVEL" "$BIND" "$WAN" "$TLS" >"$DIR/settings"
	# bind mounts need existing mount points; create the missing ones (empty but for a
	# marker, so that `down` knows it may remove them)
	for m in $MOUNTS; do
		m=${m%%:*}
		if [ ! -d "$m" ]; then
			mkdir -p "$m"
			: >"$m/$MARK"
		fi
	done
	# from here on, a failure stops whatever was started
	trap up_failed EXIT
	start_netns
	if [ "$WAN" = 1 ]; then
		start_netns netns-b
		start_wan
	fi
	[ "$TLS" = 1 ] && make_ca
	for ((h = 1; h <= N; h++)); do start_host "$h"; done
	# optional end-to-end confirmation (waits for every driver to be initialized)
	if command -v virsh >/dev/null; then
		for ((h = 1; h <= N; h++)); do
			timeout "$WAIT" virsh -q -c "$(uri_of "$h")" hostname >/dev/null 2>&1 ||
				die "h$h: daemon does not answer; see $DIR/h$h/log/libvirtd.log"
		done
	fi
	trap - EXIT
	say "$N host(s) up in $DIR; URIs: set -a; eval \"\$($0 env $DIR)\"; set +a"
}

# ---------------------------------------------------------------- WAN mode and TLS
# which network namespace host $1 lives in: "netns" (site a), or "netns-b" in WAN mode for h2..hN
netns_of() { if [ "$WAN" = 1 ] && [ "$1" -gt 1 ]; then echo netns-b; else echo netns; fi; }
in_net() { local n=$1; shift; nsenter --net="/proc/$(cat "$DIR/$n.pid")/ns/net" "$@"; }

# the veth pair between the sites, each host's address on its site's end
start_wan() {
	local h
	in_net netns "$IP" link add nc-wan-a type veth peer name nc-wan-b netns "$(cat "$DIR/netns-b.pid")" ||
		die "cannot make the WAN veth pair"
	in_net netns "$IP" link set nc-wan-a up
	in_net netns-b "$IP" link set nc-wan-b up
	for ((h = 1; h <= N; h++)); do
		if [ "$(netns_of "$h")" = netns ]; then
			in_net netns "$IP" addr add "$(addr_of "$h")/24" dev nc-wan-a
		else
			in_net netns-b "$IP" addr add "$(addr_of "$h")/24" dev nc-wan-b
		fi
	done
	say "WAN: site a (h1) nc-wan-a <-> nc-wan-b site b (h2..h$N), $ADDR_PREFIX.0/24"
}

# a CA (DIR/pki) and, per host, the files QEMU reads from migrate_tls_x509_cert_dir: ca-cert.pem,
# server-cert.pem / server-key.pem (its address, hN, and the host name of the spec URI
# hN.nc-testbed.invalid, which NovaCron passes as VIR_MIGRATE_PARAM_TLS_DESTINATION),
# client-cert.pem / client-key.pem
make_ca() {
	mkdir -p "$DIR/pki"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=nc-testbed-ca" \
		-keyout "$DIR/pki/ca-key.pem" -out "$DIR/pki/ca-cert.pem" >/dev/null 2>&1 || die "openssl: cannot make the CA"
}
make_certs() {
	local h=$1 p=$DIR/h$1/pki k
	mkdir -p "$p"
	cp "$DIR/pki/ca-cert.pem" "$p/ca-cert.pem"
	for k in server client; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=h$h" -keyout "$p/$k-key.pem" -out "$p/$k.csr" >/dev/null 2>&1 &&
			printf 'subjectAltName=IP:%s,DNS:h%s,DNS:h%s.nc-testbed.invalid\nextendedKeyUsage=%s\n' "$(addr_of "$h")" "$h" "$h" \
				"$([ $k = server ] && echo serverAuth || echo clientAuth)" >"$p/$k.ext" &&
			openssl x509 -req -in "$p/$k.csr" -CA "$DIR/pki/ca-cert.pem" -CAkey "$DIR/pki/ca-key.pem" \
				-CAcreateserial -days 2 -extfile "$p/$k.ext" -out "$p/$k-cert.pem" >/dev/null 2>&1 ||
			die "h$h: openssl cannot make the $k certificate"
		rm -f "$p/$k.csr" "$p/$k.ext"
	done
}

# shape DELAY RATE [LOSS] | off: both directions of the veth (each end's egress)
shape() {
	local n dev delay rate loss p netem=0 rule
	[ -s "$DIR/settings" ] && [ "$(sed -n 's/^WAN=//p' "$DIR/settings")" = 1 ] ||
		die "shape: no WAN-mode testbed in $DIR (up it with NC_LV_WAN=1)"
	if [ "${SHAPE[0]:-}" = off ]; then
		for n in netns netns-b; do
			dev=nc-wan-a
			[ "$n" = netns-b ] && dev=nc-wan-b
			in_net "$n" tc qdisc del dev "$dev" root >/dev/null 2>&1 || true
			in_net "$n" iptables -D OUTPUT -o "$dev" -j NC-WAN >/dev/null 2>&1 || true
			in_net "$n" iptables -F NC-WAN >/dev/null 2>&1 || true
			in_net "$n" iptables -X NC-WAN >/dev/null 2>&1 || true
		done
		say "WAN link: not shaped"
		return 0
	fi
	[ "${#SHAPE[@]}" -ge 2 ] || die "usage: $0 shape DELAY RATE [LOSS] [DIR] | shape off [DIR]"
	delay=${SHAPE[0]} rate=${SHAPE[1]} loss=${SHAPE[2]:-0}
	[[ "$delay" =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)?$ ]] || die "shape: DELAY like 20ms, not '$delay'"
	[[ "$rate" =~ ^[0-9]+(\.[0-9]+)?([kmg]?bit|[KMG]?bps)?$ ]] || die "shape: RATE like 100mbit (0: no cap), not '$rate'"
	[[ "$loss" =~ ^[0-9]+(\.[0-9]+)?%?$ ]] || die "shape: LOSS like 1% (100%: the link drops), not '$loss'"
	loss=${loss%\%}
	# netem when the running kernel has it (tried on a scratch veth in a throwaway namespace)
	unshare --net -- sh -c '"$1" link add s0 type veth peer name s1 && tc qdisc add dev s0 root netem delay 1ms' sh "$IP" \
		>/dev/null 2>&1 && netem=1
	# From one shape to the next without a moment of an open link (a migration over a
	# capped link would finish in it): the new drop rule goes in before the old rules go,
	# and the qdisc is replaced, not deleted and added.
	for n in netns netns-b; do
		dev=nc-wan-a
		[ "$n" = netns-b ] && dev=nc-wan-b
		if [ "$netem" = 1 ]; then
			# shellcheck disable=SC2046
			in_net "$n" tc qdisc replace dev "$dev" root netem delay "$delay" \
				$([ "$rate" != 0 ] && echo rate "$rate") loss "$loss%" || die "tc netem on $dev"
			continue
		fi
		in_net "$n" iptables -N NC-WAN >/dev/null 2>&1 || true
		in_net "$n" iptables -C OUTPUT -o "$dev" -j NC-WAN >/dev/null 2>&1 ||
			in_net "$n" iptables -A OUTPUT -o "$dev" -j NC-WAN || die "iptables on $dev"
		if [ "$loss" != 0 ]; then
			p=$(awk -v l="$loss" 'BEGIN { printf "%.6f", l / 100 }')
			rule="-j DROP"
			[ "$p" = 1.000000 ] || rule="-m statistic --mode random --probability $p -j DROP"
			# shellcheck disable=SC2086
			in_net "$n" iptables -I NC-WAN 1 $rule || die "iptables on $dev"
		fi
		if [ "$rate" != 0 ]; then
			in_net "$n" tc qdisc replace dev "$dev" root tbf rate "$rate" burst 64kb latency 1s || die "tc tbf on $dev"
		else
			in_net "$n" tc qdisc del dev "$dev" root >/dev/null 2>&1 || true
		fi
		# the old rules (after the new one, if any)
		while in_net "$n" iptables -D NC-WAN "$([ "$loss" != 0 ] && echo 2 || echo 1)" >/dev/null 2>&1; do :; done
	done
	if [ "$netem" = 1 ]; then
		say "WAN link: netem delay $delay rate $rate loss $loss% each way"
	else
		say "WAN link: rate $rate (tbf), loss $loss% (iptables) each way; delay $delay NOT emulated: this kernel has no sch_netem"
	fi
}

# ---------------------------------------------------------------- restart
# host hH's daemon again, with the settings `up` used; refused while it still runs
restart() {
	local d=$DIR/h$H v
	[[ "$H" =~ ^[1-9][0-9]*$ ]] && [ "$H" -le "$(host_count)" ] || die "usage: $0 restart H [DIR] (no host h$H up in $DIR)"
	[ -s "$DIR/netns.pid" ] && alive "$(cat "$DIR/netns.pid")" || die "the testbed's network namespace is gone"
	for v in TCP_BASE ADDR_PREFIX MIG_BASE KVM LOG_LEVEL BIND WAN TLS; do
		grep -q "^$v=" "$DIR/settings" && printf -v "$v" %s "$(sed -n "s/^$v=//p" "$DIR/settings")"
	done
	in_ns "$(cat "$d/libvirtd.pid" 2>/dev/null || true)" "$(cat "$d/mntns" 2>/dev/null || true)" &&
		die "h$H: libvirtd $(cat "$d/libvirtd.pid") still runs"
	# what the dead daemon left would look like readiness to start_host
	rm -f "$d/mntns" "$d/sock/libvirt-sock" "$d/run/qemu/driver.pid"
	start_host "$H"
}

# ---------------------------------------------------------------- env
env_() {
	local n h d
	n=$(host_count)
	[ "$n" -gt 0 ] || die "nothing up in $DIR"
	TCP_BASE=$(sed -n 's/^TCP_BASE=//p' "$DIR/settings")
	ADDR_PREFIX=$(sed -n 's/^ADDR_PREFIX=//p' "$DIR/settings")
	emit NC_LIBVIRTD_DIR "$DIR"
	emit NC_HOSTS "$n"
	# NovaCron's connections (novacron plan|apply|... --config $NC_CONNECTIONS): how to reach
	# the spec's Hosts h1..hN (named so), and how their daemons reach each other to migrate
	{
		echo "connections:"
		for ((h = 1; h <= n; h++)); do
			printf '  - host: h%s\n    uri: "%s"\n    migrationUri: "%s"\n' "$h" "$(uri_of "$h")" "$(uri_of "$h")"
		done
	} >"$DIR/connections.yaml"
	emit NC_CONNECTIONS "$DIR/connections.yaml"
	for ((h = 1; h <= n; h++)); do
		d=$DIR/h$h
		# what a client on this machine opens
		emit "NC_HOST${h}_URI" "$(uri_of "$h")"
		# what a spec's Host h$h says (the connections file replaces it)
		emit "NC_HOST${h}_SPEC_URI" "$(spec_uri_of "$h")"
		# what the SOURCE daemon opens to reach this host in a peer-to-peer migration
		# (dconnuri of virDomainMigrateToURI3); same socket, visible in every namespace
		emit "NC_HOST${h}_MIGRATE_URI" "$(uri_of "$h")"
		[ "$TCP_BASE" -gt 0 ] && emit "NC_HOST${h}_TCP_URI" "qemu+tcp://$(addr_of "$h"):$((TCP_BASE + h))/system"
		emit "NC_HOST${h}_ADDR" "$(addr_of "$h")"
		emit "NC_HOST${h}_UUID" "$(cat "$d/uuid")"
		emit "NC_HOST${h}_PID" "$(cat "$d/libvirtd.pid" 2>/dev/null || true)"
		# disk images: the guest XML says /var/lib/libvirt/images/X, which is this host's
		# NC_HOSTn_IMAGES/X seen from outside (each host has its own, as on real machines)
		emit "NC_HOST${h}_IMAGES" "$d/lib/images"
		emit "NC_HOST${h}_LOG" "$d/log/libvirtd.log"
	done
	# the testbed's network namespace: nsenter --net=/proc/$NC_NETNS_PID/ns/net CMD
	emit NC_NETNS_PID "$(cat "$DIR/netns.pid" 2>/dev/null || true)"
	# WAN mode: site b's namespace (hosts h2..hN), the veth's two ends
	if [ "$(sed -n 's/^WAN=//p' "$DIR/settings")" = 1 ]; then
		emit NC_WAN 1
		emit NC_NETNS_B_PID "$(cat "$DIR/netns-b.pid" 2>/dev/null || true)"
		emit NC_WAN_DEV_A nc-wan-a
		emit NC_WAN_DEV_B nc-wan-b
	fi
	emit NC_GUEST_IMAGES /var/lib/libvirt/images
}

case "$CMD" in
up) up ;;
shape) shape ;;
restart) restart ;;
down) down ;;
env) env_ ;;
check)
	if out=$(check); then
		[ -n "$out" ] && echo "$out"
		echo "ok: this machine can run libvirtd.sh (libvirt $("$LIBVIRTD" --version | awk '{print $NF}'), $("$QEMU" --version | head -1))"
	else
		echo "$out"
		echo "no: this machine cannot run libvirtd.sh"
		exit 1
	fi
	;;
esac
