#!/usr/bin/env bash
# nfs.sh - a throwaway user-space NFS server for NovaCron's tests: nfs-ganesha (VFS FSAL)
# exporting DIR/export over NFSv3 and NFSv4 (TCP), with its own rpcbind, inside a network
# namespace given by NC_NFS_NETNS (test/testbed/libvirtd.sh's: the daemons' namespace, where
# port 2049 and 111 are free) or a new private one. Nothing is written to /etc/ganesha,
# /run or /var/lib/nfs: rpcbind and ganesha run in a mount namespace of their own with a
# tmpfs over /run; every other file is in DIR. No kernel nfsd is needed (nor used).
#
# usage: nfs.sh up DIR      start rpcbind and ganesha (a no-op when they already run there)
#        nfs.sh stop DIR    stop ganesha only (the server goes away; rpcbind and DIR stay)
#        nfs.sh start DIR   start ganesha again after stop (the same export, same namespace)
#        nfs.sh pause DIR   freeze ganesha (SIGSTOP): a server that stops answering, as a hung
#                           or cut-off one does; its clients' connections stay open
#        nfs.sh resume DIR  let it answer again (SIGCONT)
#        nfs.sh down DIR    stop exactly what up/start started, by PID, and remove DIR
#        nfs.sh env DIR     NC_NFS_SERVER (127.0.0.1), NC_NFS_EXPORT (/export, the path for
#                           v3 and v4 alike), NC_NFS_DIR (DIR/export, the files themselves)
#        nfs.sh check       can this machine run it, and if not why (exit 0 / 1)
#        DIR is an absolute path without blanks.
#
# Debian 12 packages (test/testbed/deps.sh installs them): nfs-ganesha nfs-ganesha-vfs
# rpcbind. Clients: libnfs (nfs-ls, test/testbed/nfs-fuse.c), or a kernel NFS client.
#
# knobs (environment, read by up):
#   NC_NFS_NETNS   a network namespace file (/proc/PID/ns/net) to run in; default: a new
#                  one with only lo (then only clients inside it reach the server)
#   NC_NFS_KEEP    1 = down keeps DIR (ganesha.log)
#
# DIR holds ganesha.conf, export/ (the exported files, owned by root; no root squash),
# recovery/ (NFSv4 client records), ganesha.log, and rpcbind.pid, ganesha.pid, netns.pid
# (a holder when no NC_NFS_NETNS): what down kills, each only while its command line
# still names DIR or its own program. Graceless: NFSv4 clients need not wait 90 s.
set -euo pipefail

CMD=${1:-}
case "$CMD" in
up | stop | start | pause | resume | down | env) [ -n "${2:-}" ] || { sed -n '2,16p' "$0" >&2; exit 2; }; DIR=$2 ;;
check) DIR=/tmp/nc-nfs-check ;;
*) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
DIR=$(realpath -m "$DIR")
case "$DIR" in *[[:space:]\'\"\\]*) echo "nfs.sh: DIR must not contain blanks or quotes" >&2; exit 2 ;; esac
GANESHA=/usr/bin/ganesha.nfsd
RPCBIND=/usr/sbin/rpcbind
FSAL=/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so

now() { date +%s.%N; }
T0=$(now)
say() { printf '[nfs.sh %6.2fs] %s\n' "$(awk -v a="$(now)" -v b="$T0" 'BEGIN{print a-b}')" "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# PID in DIR/$1.pid when it runs and is ours: its command line holds $2
ours() {
	local f=$DIR/$1.pid pid
	[ -s "$f" ] || return 1
	pid=$(cat "$f")
	alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
	echo "$pid"
}

check() {
	local bad=0 p
	[ "$(id -u)" = 0 ] || { echo "not root: ganesha's VFS FSAL opens files by handle (CAP_DAC_READ_SEARCH) and the namespaces need CAP_SYS_ADMIN"; bad=1; }
	for p in "$GANESHA" "$RPCBIND" "$FSAL" /usr/bin/nsenter /usr/bin/unshare; do
		[ -e "$p" ] || { echo "missing $p (run test/testbed/deps.sh)"; bad=1; }
	done
	if [ "$bad" = 0 ] && ! unshare --net --mount --propagation private -- sh -c 'mount -t tmpfs t /run' 2>/dev/null; then
		echo "cannot make a network and mount namespace (unshare; needs CAP_SYS_ADMIN)"
		bad=1
	fi
	return $bad
}

write_conf() {
	cat >"$DIR/ganesha.conf" <<EOF
# written by test/testbed/nfs.sh: one export, NFSv3 and v4 over TCP, no root squash
NFS_CORE_PARAM {
	Protocols = 3, 4;
	NFS_Port = 2049;
	MNT_Port = 20048;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
	Mount_Path_Pseudo = true;
}
NFSV4 {
	Graceless = true;
	RecoveryBackend = fs;
	RecoveryRoot = "$DIR/recovery";
	Allow_Numeric_Owners = true;
	Only_Numeric_Owners = true;
}
NFS_KRB5 { Active_krb5 = false; }
EXPORT {
	Export_Id = 1;
	Path = "$DIR/export";
	Pseudo = /export;
	Access_Type = RW;
	Squash = No_Root_Squash;
	Protocols = 3, 4;
	Transports = TCP;
	SecType = sys;
	FSAL { Name = VFS; }
}
EOF
}

start_ganesha() {
	local rpc pid i
	rpc=$(ours rpcbind "$RPCBIND") || die "rpcbind is not running in $DIR (nfs.sh up first)"
	ours ganesha "$DIR/ganesha.conf" >/dev/null && return 0
	rm -f "$DIR/ganesha.pid"
	setsid nsenter --mount="/proc/$rpc/ns/mnt" --net="/proc/$rpc/ns/net" \
		"$GANESHA" -F -f "$DIR/ganesha.conf" -L "$DIR/ganesha.log" -p "$DIR/ganesha.pid.own" -N NIV_EVENT \
		</dev/null >>"$DIR/ganesha.out" 2>&1 &
	pid=$!
	echo "$pid" >"$DIR/ganesha.pid"
	# ready when port 2049 answers inside the namespace
	for ((i = 0; i < 200; i++)); do
		alive "$pid" || die "ganesha exited: $(grep -E 'CRIT|FATAL|MAJ' "$DIR/ganesha.log" | tail -n 3)"
		if nsenter --net="/proc/$rpc/ns/net" bash -c '(exec 3<>/dev/tcp/127.0.0.1/2049) 2>/dev/null'; then
			say "ganesha up (pid $pid)"
			return 0
		fi
		sleep 0.05
	done
	die "ganesha does not listen on 2049 after 10 s; see $DIR/ganesha.log"
}

up() {
	local ns pid i
	if ours rpcbind "$RPCBIND" >/dev/null; then
		start_ganesha
		return 0
	fi
	check >/dev/null || die "$(check)"
	rm -rf "$DIR"
	mkdir -p "$DIR/export" "$DIR/recovery"
	write_conf
	trap 'down >/dev/null 2>&1 || true' EXIT
	if [ -n "${NC_NFS_NETNS:-}" ]; then
		ns=$NC_NFS_NETNS
		[ -e "$ns" ] || die "NC_NFS_NETNS $ns does not exist"
	else
		setsid unshare --net -- /bin/sh -c 'ip link set lo up && exec sleep infinity' </dev/null >/dev/null 2>&1 &
		echo $! >"$DIR/netns.pid"
		ns=/proc/$!/ns/net
		sleep 0.2
	fi
	# rpcbind holds the mount namespace: a tmpfs over /run for its socket and state
	setsid nsenter --net="$ns" unshare --mount --propagation private -- /bin/sh -c \
		'mount -t tmpfs -o mode=755 nc-nfs-run /run && mkdir -p /run/rpcbind && exec "$1" -f -w' sh "$RPCBIND" \
		</dev/null >"$DIR/rpcbind.out" 2>&1 &
	pid=$!
	echo "$pid" >"$DIR/rpcbind.pid"
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || die "rpcbind exited: $(tail -n 3 "$DIR/rpcbind.out")"
		nsenter --net="/proc/$pid/ns/net" bash -c '(exec 3<>/dev/tcp/127.0.0.1/111) 2>/dev/null' && break
		sleep 0.05
	done
	start_ganesha
	trap - EXIT
	say "NFS server up in $DIR: 127.0.0.1:/export (v3 and v4) = $DIR/export"
}

stop_ganesha() {
	local pid i
	pid=$(ours ganesha "$DIR/ganesha.conf") || return 0
	kill -CONT "$pid" 2>/dev/null || true
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.05; done
	alive "$pid" && kill -9 "$pid" 2>/dev/null || true
	rm -f "$DIR/ganesha.pid"
	say "ganesha stopped (pid $pid)"
}

down() {
	local pid
	[ -d "$DIR" ] || return 0
	stop_ganesha
	if pid=$(ours rpcbind "$RPCBIND"); then kill "$pid" 2>/dev/null || true; fi
	if pid=$(ours netns "sleep infinity"); then kill "$pid" 2>/dev/null || true; fi
	[ "${NC_NFS_KEEP:-0}" = 1 ] || rm -rf "$DIR"
}

case "$CMD" in
check) check ;;
up) up ;;
stop) stop_ganesha ;;
pause | resume)
	pid=$(ours ganesha "$DIR/ganesha.conf") || die "ganesha is not running in $DIR"
	kill "-$([ "$CMD" = pause ] && echo STOP || echo CONT)" "$pid"
	say "ganesha ${CMD}d (pid $pid)"
	;;
start) start_ganesha ;;
down) down ;;
env) printf 'NC_NFS_SERVER=127.0.0.1\nNC_NFS_EXPORT=/export\nNC_NFS_DIR=%s/export\n' "$DIR" ;;
esac
