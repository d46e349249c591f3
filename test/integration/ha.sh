#!/usr/bin/env bash
# Integration test of high availability (docs/ha.md) on real libvirt daemons and a real Ceph:
# three hosts of test/testbed/libvirtd.sh and the single-node Ceph of test/testbed/ceph.sh,
# all in the testbed's network namespace.  The guest (ha-guest.S, a tiny kernel booted
# directly, under TCG) has one disk, an RBD image with exclusive-lock (the default
# features), opened by QEMU's rbd driver; it writes a record "NCHA b=BOOTID s=SEQ" every
# 200 ms (a ring of the last 4096 plus the latest at sector 0) and prints each write and
# each refused write on its serial console, which libvirt logs on the host.
#
# 0. the physics of fencing, by hand with the rbd CLI: QEMU stopped (SIGSTOP), its
#    exclusive lock broken (`rbd lock rm`), QEMU continued (SIGCONT): Ceph blocklists the
#    client and its next write is refused (the console says so), nothing of it lands.
# Then `novacron serve` with the rbd fence device (serve.yaml `fencing:`), short timings:
# 1. crash: h1's libvirtd and QEMU killed (-9): serve sees the host suspect, then failed,
#    breaks the lock (the dead client blocklisted), restarts vm1 elsewhere; the copy goes on
#    from at least the last SEQ the old one printed.  h1 comes back with vm1 defined: serve
#    undefines that stale copy, which never runs.
# 2. hung host: the next host's libvirtd and QEMU stopped (SIGSTOP): fenced and restarted
#    elsewhere; the old QEMU continued: Ceph refuses its writes, no record of its BOOTID
#    lands after the new copy started.
# 3. that host returns (libvirtd continued, the stale copy running there): serve destroys
#    and undefines it, the disk is kept, the new copy keeps writing, the HA record clears.
# 4. split: serve loses a host whose QEMU is alive (only libvirtd stopped): fenced first
#    (its QEMU's writes refused), then restarted; the disk's records show the BOOTIDs never
#    interleave along SEQ, over the whole run.
# Everything is observed: virsh on the daemons, the rbd and ceph CLI, the disk's content,
# the guest's console, serve's /status, log and HA record (STATE_DIR/ha.json); no timer is
# asserted (bench/ha.sh measures the times).
#
# Exit 0 passed, 1 failed, 77 skipped (the reason on a "skip:" line).
# NC_IT_KEEP=1 keeps the testbed (and says where) for a look.  Setup: ha-lib.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
NAME=ha.sh
. test/integration/ha-lib.sh
ha_setup

# ---------------------------------------------------------------- start
ok "vm1 created and running on h$H"
wait_writing "$H" 30 && ok "the guest writes its counter to its RBD disk ($(last_written "$H"))" ||
	{ console "$H" | tail -5; fail "the guest does not write"; exit 1; }
F=$(rbd_ info "$IMG" | sed -n 's/^[[:space:]]*features: //p')
grep -q exclusive-lock <<<"$F" && ok "the image has exclusive-lock ($F)" || fail "no exclusive-lock on $IMG: $F"
L=$(lock_owner)
[ -n "$L" ] && ok "QEMU holds the image's exclusive lock ($L)" || { rbd_ lock ls "$IMG"; fail "no lock owner"; }

# ---------------------------------------------------------------- 0. the physics
# SIGSTOP QEMU, break its lock by hand, SIGCONT: its next write is refused
Q=$(qemu_pid "$H")
BOOT=$(last_written "$H"); BOOT=${BOOT%% *}
kill -STOP "$Q"
read -r LOCKER ADDR <<<"$(lock_owner)"
LOCKID=$(rbd_ lock ls "$IMG" | awk -v l="$LOCKER" '$1 == l {print $2, $3}')
rbd_ lock rm "$IMG" "$LOCKID" "$LOCKER" >"$T/lockrm.log" 2>&1 && ok "rbd lock rm broke $LOCKER's lock" ||
	{ cat "$T/lockrm.log"; fail "rbd lock rm"; }
BL=$(ceph_ osd blocklist ls 2>&1)
grep -qF "${ADDR}" <<<"$BL" && ok "ceph osd blocklist ls lists the stopped QEMU's client ($ADDR)" ||
	{ echo "$BL"; fail "$ADDR not in the blocklist"; }
BEFORE=$(disk_records | awk -v b="$BOOT" '$2 == b' | tail -1)
kill -CONT "$Q"
for _ in $(seq 300); do console "$H" | grep -q '^NCHA err' && break; sleep 0.1; done
E=$(console "$H" | grep -a '^NCHA err' | head -1)
[ -n "$E" ] && ok "the continued QEMU's next write is refused: $E" ||
	{ console "$H" | tail -5; fail "no write error after the lock break"; }
AFTER=$(disk_records | awk -v b="$BOOT" '$2 == b' | tail -1)
[ "$BEFORE" = "$AFTER" ] && ok "nothing of the fenced QEMU landed on the disk after the break (last record $AFTER)" ||
	fail "the fenced QEMU wrote on: before the break $BEFORE, now $AFTER"

# ---------------------------------------------------------------- serve
# a fresh QEMU for vm1 (the fenced one can never write again): by hand, on the same host
virsh_ "$H" destroy vm1 >/dev/null 2>&1
virsh_ "$H" start vm1 >/dev/null 2>&1 && wait_writing "$H" 30 "$BOOT" &&
	ok "vm1 started again on h$H by hand, the new QEMU writes ($(last_written "$H"))" ||
	{ console "$H" | tail -5; fail "vm1 does not write again after its restart"; exit 1; }

ha_serve_config "hostTimeout: 2s
ha:
  checkInterval: 500ms
  suspectAfter: 2
  failedAfter: 2s
  recoverAfter: 2
  fenceTimeout: 20s
  fenceRetry: 1s"
"$NC" serve --config "$T/serve.yaml" --check >"$T/check.log" 2>&1 && ok "serve takes the ha: and fencing: configuration" ||
	{ cat "$T/check.log"; fail "serve --check refuses the configuration"; exit 1; }
ha_start_serve
for _ in $(seq 300); do [ "$(health 1)" = ok ] && break; sleep 0.2; done
[ "$(health 1)" = ok ] && ok "serve runs and sees h1..h3 ok" || { status; tail -20 "$T/serve.log"; fail "serve's /status"; }

# ---------------------------------------------------------------- 1. crash
A=$H
read -r B0 _ <<<"$(last_written "$A")"
read -r LOCKER ADDR <<<"$(lock_owner)"
say "1. crash: kill -9 h$A's libvirtd and QEMU (lock owner $LOCKER $ADDR)"
L0=$(log_lines)
kill -9 "$(lvd_pid "$A")" "$(qemu_pid "$A")"
sleep 0.3
read -r _ LASTW <<<"$(last_written "$A")"
if B=$(wait_restarted "$A"); then
	ok "1. crash: vm1 restarted on h$B after h$A crashed"
else
	status; tail -30 "$T/serve.log"; fail "1. crash: vm1 not restarted elsewhere"; exit 1
fi
wait_writing "$B" 30 "$B0" && read -r NB LAST <<<"$(boot_line "$B")" &&
	[ "$LAST" -ge "$LASTW" ] && ok "1. crash: the data is intact: the copy on h$B (boot $NB) went on from SEQ $LAST (h$A's last printed $LASTW)" ||
	{ console "$B" | head -3; fail "1. crash: the copy on h$B: $(boot_line "$B") after h$A's last write $LASTW"; }
ceph_ osd blocklist ls 2>/dev/null | grep -qF "$ADDR" && ok "1. crash: h$A's client $ADDR is blocklisted (its lock was broken)" ||
	fail "1. crash: $ADDR is not in the blocklist"
grep -q "host h$A: ok -> suspect" "$T/serve.log" && grep -q "host h$A: suspect -> failed" "$T/serve.log" &&
	ok "1. crash: serve logged h$A ok -> suspect -> failed" || fail "1. crash: serve's log has no suspect/failed for h$A"
fenced_before_restart "$L0" "$A" && ok "1. crash: serve's log: h$A fenced (lock broken), then vm1 restarted" ||
	{ tail -n +"$L0" "$T/serve.log"; fail "1. crash: not fenced before the restart in serve's log"; }
E=$(ha_entry "$A")
grep -q "'fenced': True" <<<"$E" && grep -q "'recovered': \['vm1'\]" <<<"$E" &&
	ok "1. crash: the HA record has h$A fenced, vm1 recovered: $E" || fail "1. crash: HA record of h$A: $E"
S=$(ha_status "$A")
[ "$S" = "failed True rbd device ceph" ] && ok "1. crash: /status shows h$A failed, fenced by rbd device ceph" ||
	fail "1. crash: /status of h$A: $S"

# the crashed host returns with vm1 still defined there (shut off)
bash test/testbed/libvirtd.sh restart "$A" "$LV" >"$T/restart.log" 2>&1 || { cat "$T/restart.log"; fail "restart h$A"; }
if wait_stale_gone "$A"; then
	ok "1. h$A returned: serve undefined its stale copy of vm1, which never ran there"
else
	virsh_ "$A" list --all; tail -20 "$T/serve.log"; fail "1. h$A returned: the stale copy is still there or ran"
fi
# the next scenario starts once serve is done with this one: h$A's record cleared, h$A ok
for _ in $(seq 300); do [ "$(ha_entry "$A")" = None ] && [ "$(health "$A")" = ok ] && break; sleep 0.2; done
[ "$(ha_entry "$A")" = None ] && [ "$(health "$A")" = ok ] && ok "1. h$A's HA record is cleared and it is ok again" ||
	fail "1. h$A returned: HA record $(ha_entry "$A"), health $(health "$A")"
# the copy on h$B writes on after the removal (so its QEMU holds the image's lock again)
read -r _ BEFORE <<<"$(last_written "$B")"
for _ in $(seq 300); do read -r _ NOW <<<"$(last_written "$B")"; [ "$NOW" -gt "$BEFORE" ] && break; sleep 0.1; done
[ "$NOW" -gt "$BEFORE" ] && ok "1. the copy on h$B keeps writing after the removal (SEQ $BEFORE -> $NOW)" ||
	fail "1. the copy on h$B stopped writing at $NOW"

# ---------------------------------------------------------------- 2. hung host
# h$B's libvirtd and QEMU stopped: the QEMU could still write if it were continued
read -r B1 _ <<<"$(last_written "$B")"
read -r LOCKER ADDR <<<"$(lock_owner)"
QB=$(qemu_pid "$B"); LB=$(lvd_pid "$B")
say "2. hung host: SIGSTOP h$B's libvirtd $LB and QEMU $QB (lock owner $LOCKER $ADDR)"
L0=$(log_lines)
kill -STOP "$LB" "$QB"
read -r _ LASTW <<<"$(last_written "$B")"
if C=$(wait_restarted "$B"); then
	ok "2. hung host: vm1 restarted on h$C while h$B hangs"
else
	status; tail -30 "$T/serve.log"; fail "2. hung host: vm1 not restarted elsewhere"; kill -CONT "$LB" "$QB"; exit 1
fi
wait_writing "$C" 30 "$B1" && read -r NB LAST <<<"$(boot_line "$C")" &&
	[ "$LAST" -ge "$LASTW" ] && ok "2. hung host: the copy on h$C (boot $NB) went on from SEQ $LAST (h$B's last printed $LASTW)" ||
	{ console "$C" | head -3; fail "2. hung host: the copy on h$C: $(boot_line "$C") after h$B's last write $LASTW"; }
ceph_ osd blocklist ls 2>/dev/null | grep -qF "$ADDR" && ok "2. hung host: h$B's client $ADDR is blocklisted" ||
	fail "2. hung host: $ADDR is not in the blocklist"
fenced_before_restart "$L0" "$B" && ok "2. hung host: serve's log: h$B fenced, then vm1 restarted" ||
	{ tail -n +"$L0" "$T/serve.log"; fail "2. hung host: not fenced before the restart in serve's log"; }
# the old QEMU continued: Ceph refuses its writes
kill -CONT "$QB"
for _ in $(seq 300); do console "$B" | grep -q '^NCHA err' && break; sleep 0.1; done
E=$(console "$B" | grep -a '^NCHA err' | head -1)
[ -n "$E" ] && ok "2. hung host: the old QEMU, continued, is refused: $E" ||
	{ console "$B" | tail -3; fail "2. hung host: the continued QEMU wrote no error"; }
# a few more records of the new copy
read -r _ NOW <<<"$(last_written "$C")"
for _ in $(seq 300); do read -r _ S <<<"$(last_written "$C")"; [ "$S" -gt $((NOW + 2)) ] && break; sleep 0.1; done
M=$(max_seq_of "$B1")
[ "$M" -le "$LAST" ] && ok "2. hung host: no record of boot $B1 on the disk after the new copy's start (its last is SEQ $M)" ||
	fail "2. hung host: boot $B1 wrote SEQ $M, after the new copy started from $LAST"

# ---------------------------------------------------------------- 3. the host returns
# h$B's libvirtd continued: the stale copy is defined and running there (its QEMU fenced)
say "3. h$B returns: SIGCONT libvirtd $LB"
kill -CONT "$LB"
if wait_stale_gone "$B" was-running; then
	ok "3. h$B returned: serve destroyed and undefined its stale copy of vm1"
else
	virsh_ "$B" list --all; tail -20 "$T/serve.log"; fail "3. h$B returned: the stale copy is still there"
fi
alive_() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
alive_ "$QB" && fail "3. the stale QEMU $QB still runs" || ok "3. the stale QEMU is gone"
rbd_ info "$IMG" >/dev/null 2>&1 && ok "3. vm1's disk was kept" || fail "3. vm1's disk $IMG is gone"
# the copy on h$C writes on after the removal of the stale one (whose disk it uses)
read -r _ BEFORE <<<"$(last_written "$C")"
for _ in $(seq 300); do read -r _ NOW <<<"$(last_written "$C")"; [ "$NOW" -gt "$BEFORE" ] && break; sleep 0.1; done
[ "$NOW" -gt "$BEFORE" ] && ok "3. the copy on h$C keeps writing after the removal (SEQ $BEFORE -> $NOW)" ||
	fail "3. the copy on h$C stopped writing at $NOW"
for _ in $(seq 300); do [ "$(ha_entry "$B")" = None ] && [ "$(health "$B")" = ok ] && break; sleep 0.2; done
E=$(ha_entry "$B")
[ "$E" = None ] && ok "3. the HA record of h$B is cleared" || fail "3. the HA record still has h$B: $E"
[ "$(ha_entry "$A")" = None ] && ok "3. the HA record of h$A is cleared too" || fail "3. the HA record still has h$A: $(ha_entry "$A")"

# ---------------------------------------------------------------- 4. split
# serve loses h$C (its libvirtd stopped) while h$C's QEMU is alive and writing
read -r B3 _ <<<"$(last_written "$C")"
read -r LOCKER ADDR <<<"$(lock_owner)"
QC=$(qemu_pid "$C"); LC=$(lvd_pid "$C")
say "4. split: SIGSTOP h$C's libvirtd $LC only; its QEMU $QC writes on (lock owner $LOCKER $ADDR)"
L0=$(log_lines)
kill -STOP "$LC"
if D=$(wait_restarted "$C"); then
	ok "4. split: vm1 restarted on h$D while h$C's QEMU was alive"
else
	status; tail -30 "$T/serve.log"; fail "4. split: vm1 not restarted elsewhere"; kill -CONT "$LC"; exit 1
fi
wait_writing "$D" 30 "$B3" && read -r ND LAST <<<"$(boot_line "$D")" &&
	ok "4. split: the copy on h$D (boot $ND) writes, from SEQ $LAST" || { console "$D" | head -3; fail "4. split: no writes on h$D"; }
for _ in $(seq 300); do console "$C" | grep -q '^NCHA err' && break; sleep 0.1; done
E=$(console "$C" | grep -a '^NCHA err' | head -1)
[ -n "$E" ] && ok "4. split: the live QEMU on h$C was fenced: $E" || fail "4. split: the QEMU on h$C never saw a refused write"
read -r _ LASTC <<<"$(last_written "$C")"
[ "$LASTC" -le "$LAST" ] && ok "4. split: h$C's last write (SEQ $LASTC) came before the new copy started (from $LAST): fencing first" ||
	fail "4. split: h$C wrote SEQ $LASTC, after the new copy started from $LAST"
fenced_before_restart "$L0" "$C" && ok "4. split: serve's log: h$C fenced, then vm1 restarted" ||
	{ tail -n +"$L0" "$T/serve.log"; fail "4. split: not fenced before the restart in serve's log"; }
M=$(max_seq_of "$B3")
[ "$M" -le "$LAST" ] && ok "4. split: no record of boot $B3 on the disk after the new copy's start (its last is SEQ $M)" ||
	fail "4. split: boot $B3 wrote SEQ $M, after the new copy started from $LAST"
kill -CONT "$LC"
wait_stale_gone "$C" was-running && ok "4. h$C back: its stale copy destroyed and undefined" ||
	{ virsh_ "$C" list --all; fail "4. h$C back: the stale copy is still there"; }

# ---------------------------------------------------------------- all along
R=$(running_on_but)
[ "$R" = "$D" ] && ok "vm1 runs on h$D only" || fail "vm1 runs on: $R"
for _ in $(seq 300); do [ "$(health "$C")" = ok ] && break; sleep 0.2; done
S="$(health 1) $(health 2) $(health 3)"
[ "$S" = "ok ok ok" ] && ok "serve's /status: h1 h2 h3 ok again" || fail "serve's /status health at the end: $S"
R=$(metric novacron_recoveries_total)
[ "$R" = 3 ] && ok "serve's /metrics: novacron_recoveries_total 3" || fail "novacron_recoveries_total: $R (3 recoveries)"
W=$(no_interleave) && ok "the disk's records: BOOTIDs never interleave along SEQ ($(disk_records | awk '{print $2}' | uniq -c | awk '{printf "%sboot %s x%s", s, $2, $1; s=", "}'))" ||
	fail "two copies wrote in turn: $W"

[ $fails = 0 ]
