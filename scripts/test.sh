#!/usr/bin/env bash
# README command 2: the whole test suite.
#  1. installs what is missing (scripts/deps.sh)
#  2. builds and runs the Check suites (unit, golden, CLI)
#  3. builds and runs them again under AddressSanitizer + UBSan
#  4. validates every example under examples/
#  5. runs the integration tests on real libvirt daemons with QEMU guests
#     (test/integration/libvirtd-migrate.sh, backup-restore.sh, cloudinit.sh,
#     cold-migrate.sh, libvirtd-network.sh,
#     rbd-cephx.sh, realhost.sh, images.sh, ha.sh, telemetry.sh; they install
#     what they need, and are skipped with the reason only when the machine
#     cannot run them); dashboard.sh drives the dashboard in headless
#     Chromium against serve on simulated hosts; package.sh builds the .deb
#     and installs it into a scratch root
#  6. replays the fuzz corpus through the libFuzzer harness (clang)
# Ends with "N passed, N failed, N skipped" and exits non-zero on any failure.
# A test that cannot run here is skipped, never counted as passed: a Check
# test says so with a "skipped: NAME:I: WHY" line on stderr (NC_TEST_SKIP in
# test/testutil.h), an integration script by exiting 77.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
skipped=0

./scripts/deps.sh || exit 1
# the Check suites start real libvirt daemons with QEMU guests too (storage,
# disk I/O): install what they need first, so they run on a new machine
bash test/testbed/deps.sh || exit 1

# run_check NAME BUILDDIR: runs nc-tests, adds its Check counts to the totals
run_check() {
	local name=$1 dir=$2 out summary checks fails errors
	echo "== $name"
	# two halves at once: the slow suites mostly wait on daemons, timers and
	# serve's passes, so the other half runs in their waits (test/main.c)
	local t0=$SECONDS heavy=serve,backup_targets,monitor,verbs,auth,api rc1 rc2
	(cd "$dir" && NC_SUITES=$heavy CK_VERBOSITY=normal ./nc-tests >/tmp/nc-check1.$$ 2>&1) &
	local p1=$!
	(cd "$dir" && NC_SKIP_SUITES=$heavy CK_VERBOSITY=normal ./nc-tests >/tmp/nc-check2.$$ 2>&1)
	rc2=$?
	wait "$p1"; rc1=$?
	out=$(cat /tmp/nc-check1.$$ /tmp/nc-check2.$$)
	rm -f /tmp/nc-check1.$$ /tmp/nc-check2.$$
	echo "   ($name: $((SECONDS - t0)) s)"
	local rc=$((rc1 | rc2))
	printf '%s\n' "$out" | grep -E '^[0-9]+%:' || true
	# tests that could not run here say so on stderr: show why
	printf '%s\n' "$out" | grep -iE '(^| )skip' | sed 's/^/  /' || true
	# Check counts a skipped test as passed: take out each one that said
	# "skipped: NAME:I:" and did not fail (Check's ":F:TCASE:NAME:I:" lines)
	local skips fails_at nskip
	skips=$(printf '%s\n' "$out" | grep -oE 'skipped: test_[A-Za-z0-9_]+:[0-9]+:' | cut -d' ' -f2)
	fails_at=$(printf '%s\n' "$out" | grep -oE ':[FE]:[^:]*:test_[A-Za-z0-9_]+:[0-9]+:' |
		cut -d: -f4,5 | sed 's/$/:/')
	nskip=$(printf '%s\n' "$skips" | grep -vxF -e "${fails_at:-/}" | grep -c . || true)
	# a failure's message may span lines: show each with what follows it
	printf '%s\n' "$out" | grep -A12 -E ':[FE]:' || true
	summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks:')
	if [ "$(grep -c . <<<"$summary")" -ne 2 ]; then
		echo "$name: a half gave no Check summary (exit $rc1 and $rc2)"; printf '%s\n' "$out" | tail -20
		failed=$((failed + 1)); return
	fi
	checks=$(($(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$summary" | paste -sd+)))
	fails=$(($(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$summary" | paste -sd+)))
	errors=$(($(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$summary" | paste -sd+)))
	passed=$((passed + checks - fails - errors - nskip))
	failed=$((failed + fails + errors))
	skipped=$((skipped + nskip))
	[ "$rc" -eq 0 ] || [ $((fails + errors)) -gt 0 ] || failed=$((failed + 1))
}

# step NAME CMD...: one pass/fail check outside Check
step() {
	local name=$1; shift
	if "$@" >/tmp/nc-step.$$ 2>&1; then
		passed=$((passed + 1)); echo "ok   $name"
	else
		failed=$((failed + 1)); echo "FAIL $name"; tail -30 /tmp/nc-step.$$
	fi
	rm -f /tmp/nc-step.$$
}

echo "== build"
if cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
   cmake --build build -j "$JOBS" >/tmp/nc-build.$$ 2>&1; then
	built=1
else
	cat /tmp/nc-build.$$; failed=$((failed + 1)); built=0
fi
rm -f /tmp/nc-build.$$

# the sanitizer build compiles while the first suite runs (which mostly waits on
# daemons and timers): the same work, minutes sooner
( cmake -S . -B build-asan -DNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null &&
  nice cmake --build build-asan -j "$JOBS" ) >/tmp/nc-build-asan.$$ 2>&1 &
asan_pid=$!
[ "$built" = 1 ] && run_check "unit, golden and CLI tests" build

echo "== build (ASan + UBSan)"
if wait "$asan_pid"; then
	( CC=clang cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null &&
	  nice cmake --build build-release -j "$JOBS" ) >/tmp/nc-build-rel.$$ 2>&1 &
	rel_pid=$!
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		run_check "tests under ASan + UBSan" build-asan
else
	cat /tmp/nc-build-asan.$$; failed=$((failed + 1))
	( exit 1 ) & rel_pid=$!
fi
rm -f /tmp/nc-build-asan.$$

# one optimised configuration (issue 18): Release (-O3) with clang, every target
# including the tests, compiled (not run) warning-free with -Werror, while the
# ASan suite above ran; it must stay cheap: CI has 30 minutes
echo "== build (Release, clang -O3, compile only)"
if wait "$rel_pid"; then
	echo "ok: Release build with clang"
else
	cat /tmp/nc-build-rel.$$; failed=$((failed + 1))
fi
rm -f /tmp/nc-build-rel.$$

echo "== examples"
for ex in examples/*/; do
	[ "$ex" = examples/ci/ ] && continue   # CI recipes, not a spec (test/integration/ci-recipes.sh runs them)
	step "validate ${ex%/}" ./build/novacron validate --quiet "$ex"
done

# bounded SECS CMD...: runs CMD in a process group of its own; past SECS the group gets TERM
# (the script's EXIT trap stops its daemons), 30 s later KILL; exit 124 when it was cut
bounded() {
	local secs=$1 pid w rc cut=/tmp/nc-it-cut.$$; shift
	rm -f "$cut"
	setsid "$@" &
	pid=$!
	# the watcher holds none of our output open, and ends its sleep when told to
	( exec </dev/null >/dev/null 2>&1
	  sleep "$secs" & sp=$!
	  trap 'kill $sp; exit 0' TERM
	  wait $sp
	  : >"$cut"; kill -TERM -- -"$pid"
	  sleep 30 & sp=$!
	  wait $sp
	  kill -KILL -- -"$pid" ) &
	w=$!
	wait "$pid"; rc=$?
	kill "$w" 2>/dev/null; wait "$w" 2>/dev/null
	if [ -e "$cut" ]; then rc=124; rm -f "$cut"; fi
	return "$rc"
}

# integration NAME SCRIPT: runs an integration script (exit 0 / 1 / 77 skipped), counting its
# ok/FAIL lines; one that does not end within NC_IT_TIMEOUT seconds (default 900) fails with
# what it printed, so a hang costs one script, never the whole run
integration() {
	echo "== integration: $1"
	local t0=$SECONDS
	bounded "${NC_IT_TIMEOUT:-900}" bash "$2" </dev/null >/tmp/nc-it.$$ 2>&1
	local rc=$?
	if [ $rc -eq 124 ]; then
		echo "FAIL $2 did not finish within ${NC_IT_TIMEOUT:-900} s; what it printed:"
		cat /tmp/nc-it.$$
		failed=$((failed + 1))
		rm -f /tmp/nc-it.$$
		return
	fi
	echo "   ($2: $((SECONDS - t0)) s)"
	if [ $rc -eq 77 ]; then
		echo "skip: $(grep '^skip' /tmp/nc-it.$$)"
		skipped=$((skipped + 1))
	elif [ $rc -eq 0 ]; then
		passed=$((passed + $(grep -c '^ok' /tmp/nc-it.$$))); grep -E '^(ok|skip)' /tmp/nc-it.$$
		# parts of a script that cannot run here ("skip: why" lines) count as skipped
		skipped=$((skipped + $(grep -c '^skip' /tmp/nc-it.$$)))
	else
		cat /tmp/nc-it.$$
		passed=$((passed + $(grep -c '^ok' /tmp/nc-it.$$)))
		skipped=$((skipped + $(grep -c '^skip' /tmp/nc-it.$$)))
		failed=$((failed + $(grep -c '^FAIL' /tmp/nc-it.$$) + 0))
		grep -q '^FAIL' /tmp/nc-it.$$ || failed=$((failed + 1))
	fi
	rm -f /tmp/nc-it.$$
}
integration "live migration on real libvirt daemons with QEMU guests" test/integration/libvirtd-migrate.sh
integration "storage pools, backups and restores on a real libvirt daemon" test/integration/backup-restore.sh
integration "backup faults on a real libvirt daemon: a disk that changes size, qemu-nbd killed mid-read, a target that fills up" test/integration/backup-faults.sh
integration "restore faults on a real libvirt daemon: a damaged chunk mid-restore, a volume smaller than the backup, qemu-nbd killed mid-write" test/integration/restore-faults.sh
integration "cloud-init seeds on a real libvirt daemon" test/integration/cloudinit.sh
integration "cold migration copies local disks between real libvirt daemons" test/integration/cold-migrate.sh
integration "WAN migration tuning between two sites of real libvirt daemons: xbzrle, parallel + TLS, post-copy, TLS without certificates, a link that drops" test/integration/wan-migrate.sh
integration "snapshots on a real libvirt daemon: disk-only and with memory, revert restores the bytes, delete, refusals" test/integration/snapshots.sh
integration "ordering and health gates on a real libvirt daemon: running gate holds, agent gate times out, dependants skipped" test/integration/order-gates.sh
integration "NAT network (DHCP, static lease, live update, restart, prune) on a real libvirt daemon" test/integration/libvirtd-network.sh
integration "RBD disks with cephx on a real libvirt daemon and a real Ceph" test/integration/rbd-cephx.sh
integration "examples/realhost on real libvirt daemons: a Debian guest boots from NovaCron's clone, seed and network" test/integration/realhost.sh
integration "Images uploaded to two real libvirt daemons, served over HTTP" test/integration/images.sh
integration "high availability: a guest on an RBD disk, fencing by lock break, on real daemons and a real Ceph" test/integration/ha.sh
integration "operator API: serve's answers on sim hosts checked against docs/openapi.yaml" test/integration/api-openapi.sh
integration "CI recipes (examples/ci) run locally: annotations, one plan comment posted then updated, bounded plans, against a local forge" test/integration/ci-recipes.sh
integration "dashboard in headless Chromium: login, roles, XSS as text, keyboard, approve, OIDC; first render at 10,000 VMs" test/integration/dashboard.sh
integration "install rules and the Debian package: cpack, dpkg --root into a scratch root, conffile, purge, man, completion, the unit's security score" test/integration/package.sh
integration "telemetry: a TCG guest's CPU series, an alert firing and resolving to a local receiver, RRD and graph, on a real daemon" test/integration/telemetry.sh
integration "netfs pools: two real daemons mount one nfs-ganesha export (user-space client on FUSE), a live migration with no storage copy, the server away: host degraded, nothing deleted, the next pass converges" test/integration/netfs.sh
integration "between clusters: a running guest moved live with incremental storage copy, a stopped one through the backup repositories, on two real daemons" test/integration/xcluster-migrate.sh
integration "storage tiers: a running TCG guest's disk moved live (blockcopy, pivot) and a stopped one offline between dir pools of two tiers, bytes kept, a move cut before the pivot" test/integration/tiering.sh

echo "== fuzz corpus replay"
if command -v clang >/dev/null; then
	step "build fuzz harness" make -s fuzz
	# -timeout / -rss_limit_mb: an input that takes too long or too much memory fails
	step "replay test/fuzz/corpus" ./build-fuzz/nc-fuzz-spec -runs=0 -timeout=10 -rss_limit_mb=2048 test/fuzz/corpus
	step "replay test/fuzz/uri-corpus" ./build-fuzz/nc-fuzz-uri -runs=0 test/fuzz/uri-corpus
else
	echo "skip: clang is not installed, the libFuzzer harness cannot be built"
	skipped=$((skipped + 3))   # the three steps above
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
