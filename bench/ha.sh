#!/usr/bin/env bash
# bench/ha.sh - high availability (issue 12): the time from a host's death to its guest
# running on another host, with serve's DEFAULT timings, on the real testbed of
# test/integration/ha.sh (test/integration/ha-lib.sh: three libvirt daemons of
# test/testbed/libvirtd.sh, the single-node Ceph of ceph.sh, the guest ha-guest.S on an
# RBD disk with exclusive-lock, ha.policy restart, the rbd fence device).
#
# usage: bench/ha.sh [RUNS]   (default 5; build/novacron must exist; root, like the testbed)
#
# Each run kills (-9) the libvirtd and the QEMU of the host vm1 runs on, as a crash would,
# then takes the times from serve's log lines (milliseconds) and from virsh:
#   detection  the kill -> serve declares the host failed (ok -> suspect -> failed);
#              "suspect" is the part until the first missed check made it suspect
#   fencing    failed -> the fence done (the lock broken, the client blocklisted)
#   restart    fenced -> vm1 running on another host (virsh domstate, polled every 50 ms)
#   total      the kill -> vm1 running elsewhere; also: the kill -> the guest's first
#              write there (its console), which adds the boot of this tiny guest
# then brings the host back (libvirtd.sh restart) and waits until serve removed the stale
# copy and the host is ok again.  Prints each run and the medians, against Proxmox VE HA's
# documented ~120-180 s (its watchdog fencing); the goal is under 30 s.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
NAME=bench/ha.sh
. test/integration/ha-lib.sh
ha_setup
wait_writing "$H" 30 || { echo "bench/ha.sh: the guest does not write"; exit 1; }
ha_serve_config ""
"$NC" serve --config "$T/serve.yaml" --check >"$T/check.log" 2>&1 ||
	{ cat "$T/check.log"; echo "bench/ha.sh: serve refuses the configuration"; exit 1; }
ha_start_serve
all_ok() { local h; for h in 1 2 3; do [ "$(health "$h")" = ok ] || return 1; done; }
for _ in $(seq 150); do all_ok && break; sleep 0.2; done
all_ok || { status; echo "bench/ha.sh: serve does not see h1..h3 ok"; exit 1; }

ms() { echo $(($(date +%s%N) / 1000000)); }
# the time (ms since the epoch) of the first serve log line after line $1 matching $2
log_ms() {
	local l
	l=$(tail -n +"$1" "$T/serve.log" | grep -m1 -E "$2") || { echo -1; return; }
	echo $(($(date -d "$(cut -d' ' -f1 <<<"$l" | sed 's/T/ /; s/Z$//')Z" +%s%N) / 1000000))
}

printf '%-4s %-9s %10s %10s %10s %10s %10s %12s\n' run host suspect detection fencing restart total "first write"
sus=() det=() fen=() res=() tot=() wri=()
for run in $(seq "$RUNS"); do
	X=$(running_on_but | head -1)
	read -r BOOT _ <<<"$(last_written "$X")"
	from=$(($(wc -l <"$T/serve.log") + 1))
	t0=$(ms)
	kill -9 "$(lvd_pid "$X")" "$(qemu_pid "$X")"
	Y=
	for _ in $(seq 3000); do
		Y=$(running_on_but "$X" | head -1)
		[ -n "$Y" ] && break
		sleep 0.05
	done
	t_run=$(ms)
	[ -n "$Y" ] || { tail -30 "$T/serve.log"; echo "bench/ha.sh: run $run: vm1 not restarted"; exit 1; }
	wait_writing "$Y" 60 "$BOOT" || { echo "bench/ha.sh: run $run: no write on h$Y"; exit 1; }
	t_write=$(ms)
	t_suspect=$(log_ms "$from" "host h$X: ok -> suspect")
	t_failed=$(log_ms "$from" "host h$X: suspect -> failed")
	t_fenced=$(log_ms "$from" "host h$X fenced by")
	s=$((t_suspect - t0)) d=$((t_failed - t0)) f=$((t_fenced - t_failed)) r=$((t_run - t_fenced)) a=$((t_run - t0)) w=$((t_write - t0))
	printf '%-4s %-9s %7d ms %7d ms %7d ms %7d ms %7d ms %9d ms\n' "$run" "h$X->h$Y" "$s" "$d" "$f" "$r" "$a" "$w"
	sus+=("$s") det+=("$d") fen+=("$f") res+=("$r") tot+=("$a") wri+=("$w")
	# the host comes back; the next run starts when serve cleaned it up and sees it ok
	bash test/testbed/libvirtd.sh restart "$X" "$LV" >"$T/restart.log" 2>&1 || { cat "$T/restart.log"; exit 1; }
	wait_stale_gone "$X" || { echo "bench/ha.sh: h$X's stale copy stays"; exit 1; }
	for _ in $(seq 300); do all_ok && [ "$(ha_entry "$X")" = None ] && break; sleep 0.2; done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
printf '%-14s %7d ms %7d ms %7d ms %7d ms %7d ms %9d ms\n' "median of $RUNS" "$(median "${sus[@]}")" "$(median "${det[@]}")" "$(median "${fen[@]}")" \
	"$(median "${res[@]}")" "$(median "${tot[@]}")" "$(median "${wri[@]}")"
echo
echo "host death -> guest running elsewhere: median $(awk -v m="$(median "${tot[@]}")" 'BEGIN {printf "%.1f", m / 1000}') s" \
	"with serve's default timings; Proxmox VE HA documents about 120-180 s; goal under 30 s"
