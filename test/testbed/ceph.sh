#!/usr/bin/env bash
# ceph.sh - a throwaway single-node Ceph cluster for NovaCron's tests: one mon, one OSD,
# one mgr and, when asked, a radosgw (S3 + Swift), all on 127.0.0.1, all state in DIR.
# Works as root or not, without systemd, without a block device; nothing is written to
# /etc/ceph, /var/lib/ceph or /run/ceph.
#
# usage: ceph.sh up DIR     start the cluster in DIR (a no-op when it already runs there;
#                           a dead or half-started one in DIR is stopped and made anew)
#        ceph.sh down DIR   stop exactly what `up` started there, by PID, and remove DIR
#        ceph.sh env DIR    print the shell variables a client needs (CEPH_CONF, ports,
#                           the radosgw URL and the S3/Swift credentials of user "ci"):
#                           set -a; eval "$(ceph.sh env DIR)"; set +a
#        ceph.sh check      can this machine run it, and if not why (exit 0 / 1)
#        DIR is an absolute or relative path without blanks.
#
# Debian 12 packages (test/testbed/deps.sh installs them when missing):
#   ceph-mon ceph-osd ceph-mgr ceph-common (ceph, rados, rbd, ceph-authtool, monmaptool)
#   radosgw (only for NC_CEPH_RGW=1)
#
# knobs (environment, read by `up`):
#   NC_CEPH_MON_PORT   mon msgr2 port; its msgr1 port is the next one (default: the first
#                      free pair from 3300 + (a hash of DIR) % 600, stepping by 2)
#   NC_CEPH_PORTS      range the OSD, mgr and radosgw messengers bind in (default 6800-7299;
#                      clusters may share it: each daemon takes the first free ports)
#   NC_CEPH_RGW        1 = also start radosgw (S3 + Swift) and its user "ci" (default 0)
#   NC_CEPH_RGW_PORT   its HTTP port (default: the first free one from 8100 + hash % 600)
#   NC_CEPH_S3_ACCESS / NC_CEPH_S3_SECRET / NC_CEPH_SWIFT_KEY  the credentials of user "ci"
#   NC_CEPH_STORE      memstore (default; the OSD keeps objects in RAM) | bluestore (in a
#                      sparse file DIR/osd.0/block, no loop device; slower to make)
#   NC_CEPH_STORE_BYTES the store's size (default 1 GiB; memstore stops taking writes when
#                      full: keep it well above what a test writes)
#   NC_CEPH_POOL       the replicated pool to make, application rbd (default rbd)
#   NC_CEPH_KEEP       1 = `down` keeps DIR (logs)
#
# DIR holds ceph.conf (mon address, keyring, every path inside DIR), the keyring with
# client.admin, run/*.pid (what `down` kills, and only if the process still has DIR's
# ceph.conf on its command line), log/, and the daemons' data. cephx is on.
set -euo pipefail

CMD=${1:-}
case "$CMD" in
up | down | env) [ -n "${2:-}" ] || { sed -n '2,16p' "$0" >&2; exit 2; }; DIR=$2 ;;
check) DIR=${2:-/tmp/nc-ceph-check} ;;
*) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
DIR=$(realpath -m "$DIR")
case "$DIR" in *[[:space:]\'\"\\]*) echo "ceph.sh: DIR must not contain blanks or quotes" >&2; exit 2 ;; esac
CONF=$DIR/ceph.conf
POOL=${NC_CEPH_POOL:-rbd}
PORTS=${NC_CEPH_PORTS:-6800-7299}
RGW=${NC_CEPH_RGW:-0}
STORE=${NC_CEPH_STORE:-memstore}
STORE_BYTES=${NC_CEPH_STORE_BYTES:-1073741824}
S3_ACCESS=${NC_CEPH_S3_ACCESS:-NCTESTBEDACCESS0000}
S3_SECRET=${NC_CEPH_S3_SECRET:-nctestbedsecret0000000000000000000000000}
SWIFT_KEY=${NC_CEPH_SWIFT_KEY:-nctestbedswift}
DAEMONS="client.rgw.a mgr.x osd.0 mon.a" # in the order `down` stops them

now() { date +%s.%N; }
T0=$(now)
say() { printf '[ceph.sh %6.2fs] %s\n' "$(awk -v a="$(now)" -v b="$T0" 'BEGIN{print a-b}')" "$*" >&2; }
die() {
	say "ERROR: $*"
	if [ "${STARTING:-0}" = 1 ]; then # never leave half a cluster running; keep DIR for its logs
		NC_CEPH_KEEP=1 down >/dev/null 2>&1 || true
		say "what was started is stopped again; logs in $DIR/log"
	fi
	exit 1
}
# every client call has a deadline: a mon that does not answer must not hang a test
ceph_() { timeout 60 ceph -c "$CONF" --connect-timeout 20 "$@"; }

# a killed daemon is reparented and may be reaped late: a zombie counts as dead
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# the PID of daemon $1 when it runs and is ours (its command line names our ceph.conf)
ours() {
	local f=$DIR/run/$1.pid pid
	[ -s "$f" ] || return 1
	pid=$(cat "$f")
	alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- " $CONF " || return 1
	echo "$pid"
}

# free TCP port on 127.0.0.1: nothing listens on it (checked with bash's /dev/tcp)
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
dir_hash() { printf %s "$DIR" | cksum | cut -d' ' -f1; }

# ---------------------------------------------------------------- check
check() {
	local bad=0 p
	for p in ceph-mon ceph-osd ceph-mgr ceph ceph-authtool monmaptool rados rbd; do
		command -v "$p" >/dev/null || { echo "missing $p (run test/testbed/deps.sh)"; bad=1; }
	done
	[ "${NC_CEPH_RGW:-0}" != 1 ] || command -v radosgw >/dev/null ||
		{ echo "missing radosgw (run test/testbed/deps.sh)"; bad=1; }
	command -v timeout >/dev/null || { echo "missing timeout (coreutils)"; bad=1; }
	grep -q '^lo:\|^ *lo:' /proc/net/dev 2>/dev/null || { echo "no loopback interface"; bad=1; }
	return $bad
}

# ---------------------------------------------------------------- config
write_conf() { # fsid mon_port
	local lo=${PORTS%-*} hi=${PORTS#*-}
	cat >"$CONF" <<EOF
# written by test/testbed/ceph.sh: a single-node test cluster, loopback only
[global]
fsid = $1
mon host = [v2:127.0.0.1:$2,v1:127.0.0.1:$(($2 + 1))]
mon initial members = a
public network = 127.0.0.0/8
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
ms bind port min = $lo
ms bind port max = $hi
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
# one OSD: one replica, no failure domain above the OSD, no autoscaler
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
auth allow insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 2
mon data avail crit = 1
# quicker osdmap changes (pool create) than the default 1 s batching
paxos propose interval = 0.05
paxos min wait = 0.01
rbd default features = 61

[mon]
mon data = $DIR/mon.\$id
mon cluster log file = $DIR/log/cluster.log

[osd]
osd data = $DIR/osd.\$id
osd objectstore = $STORE
memstore device bytes = $STORE_BYTES
bluestore block create = true
bluestore block size = $STORE_BYTES
bluestore fsck on mkfs = false
osd max object name len = 460
osd max object namespace len = 64
osd op num shards = 1
osd op num threads per shard = 2
osd memory target = 939524096

[mgr]
mgr data = $DIR/mgr.\$id
# the modules a test cluster does not need (they cost CPU at start)
mgr disabled modules = dashboard prometheus restful influx diskprediction_local

[client.rgw.a]
rgw data = $DIR/rgw.a
rgw dns name = localhost
rgw enable usage log = false
rgw thread pool size = 16
EOF
}

wait_for() { # seconds command...
	local end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
osd_up() { ceph_ osd dump 2>/dev/null | grep -q '^osd\.0 up'; }
running() { ours mon.a >/dev/null && ours osd.0 >/dev/null && ours mgr.x >/dev/null &&
	{ [ "$RGW" != 1 ] || ours client.rgw.a >/dev/null; }; }

# ---------------------------------------------------------------- up
up() {
	if [ -s "$DIR/env" ] && running; then
		say "already running in $DIR"
		return 0
	fi
	[ ! -e "$DIR" ] || down >/dev/null 2>&1 # whatever is left there: stop it, start anew
	if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
		say "ERROR: $DIR exists and holds no cluster of ceph.sh: not using it"
		exit 1
	fi
	local h mon=${NC_CEPH_MON_PORT:-} rgw=${NC_CEPH_RGW_PORT:-} i
	h=$(dir_hash)
	if [ -z "$mon" ]; then
		for ((i = 0; i < 300; i++)); do
			mon=$((3300 + (h + 2 * i) % 600))
			port_free "$mon" && port_free $((mon + 1)) && break
			mon=
		done
		[ -n "$mon" ] || die "no free pair of mon ports in 3300-3899"
	fi
	if [ "$RGW" = 1 ] && [ -z "$rgw" ]; then
		for ((i = 0; i < 600; i++)); do
			rgw=$((8100 + (h + i) % 600))
			port_free "$rgw" && break
			rgw=
		done
		[ -n "$rgw" ] || die "no free radosgw port in 8100-8699"
	fi
	STARTING=1
	mkdir -p "$DIR"/{run,log,crash,mon.a,osd.0,mgr.x}
	local fsid osd_uuid
	fsid=$(cat /proc/sys/kernel/random/uuid)
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	write_conf "$fsid" "$mon"

	# every key in one keyring, imported by the mon at mkfs
	(
		umask 077
		ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *'
		ceph-authtool "$DIR/keyring" --gen-key -n client.admin \
			--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *'
		ceph-authtool "$DIR/keyring" --gen-key -n osd.0 \
			--cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *'
		ceph-authtool "$DIR/keyring" --gen-key -n mgr.x \
			--cap mon 'allow profile mgr' --cap mds 'allow *' --cap osd 'allow *'
		ceph-authtool "$DIR/keyring" --gen-key -n client.rgw.a \
			--cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw'
	) >"$DIR/log/keyring.log" 2>&1 || die "ceph-authtool failed: $(tail -3 "$DIR/log/keyring.log")"
	monmaptool --create --fsid "$fsid" \
		--addv a "[v2:127.0.0.1:$mon,v1:127.0.0.1:$((mon + 1))]" "$DIR/monmap" >/dev/null ||
		die "monmaptool failed"
	ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
		>"$DIR/log/mkfs-mon.log" 2>&1 || die "mon mkfs failed: $(tail -3 "$DIR/log/mkfs-mon.log")"
	ceph-mon -c "$CONF" -i a 2>>"$DIR/log/mon.a.stderr" || die "ceph-mon did not start: $(tail -3 "$DIR/log/mon.a.stderr")"
	wait_for 10 ours mon.a || die "ceph-mon exited, see $DIR/log/mon.a.log"
	say "mon.a on 127.0.0.1:$mon (pid $(ours mon.a))"

	local id
	id=$(ceph_ osd new "$osd_uuid" 0 2>>"$DIR/log/client.stderr") || die "mon does not answer: $(tail -3 "$DIR/log/client.stderr")"
	[ "$id" = 0 ] || die "the mon gave osd id '$id', not 0"
	ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/mkfs-osd.log" 2>&1 ||
		die "osd mkfs ($STORE) failed: $(tail -3 "$DIR/log/mkfs-osd.log")"
	ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/osd.0.stderr" || die "ceph-osd did not start: $(tail -3 "$DIR/log/osd.0.stderr")"
	ceph-mgr -c "$CONF" -i x 2>>"$DIR/log/mgr.x.stderr" || die "ceph-mgr did not start: $(tail -3 "$DIR/log/mgr.x.stderr")"
	wait_for 60 osd_up || die "osd.0 did not come up, see $DIR/log/osd.0.log"
	say "osd.0 ($STORE, pid $(ours osd.0)) up, mgr.x pid $(ours mgr.x)"

	ceph_ osd pool create "$POOL" 8 8 replicated --size 1 >/dev/null 2>>"$DIR/log/client.stderr" ||
		die "pool create failed: $(tail -3 "$DIR/log/client.stderr")"
	ceph_ osd pool application enable "$POOL" rbd >/dev/null 2>>"$DIR/log/client.stderr" ||
		die "pool application enable failed"
	# the first write waits until the pool's PGs are active: that is the readiness probe
	echo probe >"$DIR/run/probe"
	timeout 60 rados -c "$CONF" -p "$POOL" put __nc_ceph_probe "$DIR/run/probe" &&
		timeout 30 rados -c "$CONF" -p "$POOL" rm __nc_ceph_probe || die "the pool does not take writes"
	say "pool $POOL takes writes"

	local url=
	if [ "$RGW" = 1 ]; then
		mkdir -p "$DIR/rgw.a"
		radosgw -c "$CONF" -n client.rgw.a --rgw-frontends "beast endpoint=127.0.0.1:$rgw" \
			2>>"$DIR/log/rgw.a.stderr" || die "radosgw did not start: $(tail -3 "$DIR/log/rgw.a.stderr")"
		wait_for 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/$rgw" || die "radosgw does not listen, see $DIR/log/client.rgw.a.log"
		timeout 60 radosgw-admin -c "$CONF" user create --uid=ci --display-name=CI \
			--access-key="$S3_ACCESS" --secret-key="$S3_SECRET" >/dev/null 2>>"$DIR/log/client.stderr" &&
			timeout 60 radosgw-admin -c "$CONF" subuser create --uid=ci --subuser=ci:swift --access=full \
				--key-type=swift --secret-key="$SWIFT_KEY" >/dev/null 2>>"$DIR/log/client.stderr" ||
			die "radosgw user ci: $(tail -3 "$DIR/log/client.stderr")"
		url=http://127.0.0.1:$rgw
		say "radosgw on $url (pid $(ours client.rgw.a)), user ci"
	fi
	{
		echo "CEPH_CONF=$CONF"
		echo "NC_CEPH_DIR=$DIR"
		echo "NC_CEPH_POOL=$POOL"
		echo "NC_CEPH_MON_HOST=127.0.0.1"
		echo "NC_CEPH_MON_PORT=$mon"
		echo "NC_CEPH_MON_V1PORT=$((mon + 1))"
		if [ -n "$url" ]; then
			echo "NC_CEPH_RGW_URL=$url"
			echo "NC_CEPH_RGW_PORT=$rgw"
			echo "NC_CEPH_S3_ACCESS=$S3_ACCESS"
			echo "NC_CEPH_S3_SECRET=$S3_SECRET"
			echo "NC_CEPH_SWIFT_USER=ci:swift"
			echo "NC_CEPH_SWIFT_KEY=$SWIFT_KEY"
		fi
	} >"$DIR/env.tmp" && mv "$DIR/env.tmp" "$DIR/env"
	STARTING=0
	say "ready: export CEPH_CONF=$CONF"
}

# ---------------------------------------------------------------- down
down() {
	[ -d "$DIR" ] || return 0
	local n pid i
	for n in $DAEMONS; do
		pid=$(ours "$n") || continue
		# the data goes away anyway: KILL spares memstore writing itself out
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.05; done
		alive "$pid" && say "WARNING: $n (pid $pid) still there after KILL"
	done
	if [ "${NC_CEPH_KEEP:-0}" = 1 ]; then
		rm -f "$DIR/env"
	elif head -1 "$CONF" 2>/dev/null | grep -q '^# written by test/testbed/ceph.sh'; then
		rm -rf "$DIR" # only a cluster directory of ours: never a path that is something else
	else
		say "not removing $DIR: no cluster of ceph.sh in it"
	fi
	return 0
}

case "$CMD" in
up) up ;;
down) down ;;
env)
	[ -s "$DIR/env" ] || { echo "ceph.sh: no cluster up in $DIR" >&2; exit 1; }
	cat "$DIR/env"
	;;
check) check ;;
esac
