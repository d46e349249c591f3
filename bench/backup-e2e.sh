#!/usr/bin/env bash
# bench/backup-e2e.sh - issue 17: `novacron backup run` and `novacron restore --as` end to end,
# as a user runs them, on a real libvirt daemon (test/testbed/libvirtd.sh, QEMU TCG), side by
# side with borg and restic on the same bytes as raw files, in the same run.
#
#   bench/backup-e2e.sh [--size 2G] [--runs 3] [--no-profile] [--no-bound] [--fresh-fs]
#   bench/backup-e2e.sh --size 64M --runs 1        # smoke: about a minute
#
# The repositories go into the scratch directory (its file system, as a user's would), or with
# --fresh-fs into a new ext4 (mkfs defaults, journal) on a loop device made for each round:
# on an ext4 without a journal (this machine's /), creating files right after thousands were
# deleted is slower (the kernel's recently_deleted() check on every new inode, seen in the
# profile), which a benchmark that removes each repository after use brings on itself and
# which costs novacron (a file per 64 KiB chunk) far more than borg or restic (large files).
#
# Needs root (the testbed does), borg, restic, qemu-img, qemu-io, virsh, /usr/bin/time; perf
# for the profile (else strace), nbdcopy (Debian libnbd-bin, test/testbed/deps.sh) for the
# bound.  Never part of scripts/test.sh (a 2 GiB run takes about 10 minutes).  It builds
# novacron and nc-bench-backup in Release into BUILD (default build-release/), works in
# ${TMPDIR:-/tmp}/nc-backup-e2e.XXXXXX and removes it, and takes its testbed down (by the
# PIDs libvirtd.sh recorded), on exit and on Ctrl-C.  bench/README.md has its figures.
#
# The data: `nc-bench-backup --images-only` (bench_backup.c): image-1, SIZE of 1 MiB regions,
# 40 % random, 40 % zero (holes), 20 % text; image-2 = image-1 with 1 % of its 4 KiB blocks
# overwritten at scattered places.  The VM's disk is image-1 converted to qcow2
# (`qemu-img convert -O qcow2`, zero regions left unallocated) in a dir pool.
#
# Each round r (--runs, default 3) runs the three tools in a rotating order (round 1:
# novacron, borg, restic; round 2: borg, restic, novacron; round 3: restic, novacron, borg),
# each into new repositories:
#   novacron, a new VM vmR (64 MiB, the halting guest of test/integration/backup-restore.sh,
#   which never writes its disk) whose disk is image-1, BackupSchedule with a dir target,
#   no encryption, default chunking and zstd level 3:
#     off-first   `novacron backup run vmR`, the VM shut off (qemu-nbd on the qcow2)
#     off-incr    the same after image-2 was converted over the disk (offline: every chunk
#                 is read, unchanged ones deduplicated, changed ones stored as deltas)
#     restore     `novacron restore vmR --backup FIRST --as vmRr`: a new VM, its disk written
#                 in the pool; compared with image-1 (qemu-img compare, not timed)
#     live-first  the disk set back to image-1, the VM started, a new repository:
#                 `novacron backup run vmR` of the running VM (libvirt pull-mode backup: a
#                 checkpoint, NBD export of the point in time)
#     live-incr   after ~1 % of the disk written while it runs, through QEMU's block layer so
#                 the checkpoint's dirty bitmap sees it (HMP `qemu-io -d virtio-disk0/...
#                 "write -P 0xNN OFF 64k"` at scattered 64 KiB-aligned offsets, SIZE/6.4 MiB
#                 writes: 327 at 2 GiB; not timed): the incremental backup from the bitmap.
#                 Round 1 also restores it into a new VM and compares it with the VM's disk
#                 once stopped (not timed).
#   borg 1.2 (--encryption=none with --compression zstd,3 and with borg's default lz4;
#   --encryption=repokey with zstd,3) and restic (repository v2, zstd auto, always
#   encrypted), as bench/backup-peers.sh runs them: first = image-1, second = image-2 (read
#   whole), restore = the FIRST archive extracted into a new directory (as novacron's
#   restore), compared with image-1 (cmp, not timed).
# Every timed step: `sync` first (outside the clock), then /usr/bin/time -f '%e %U %S %M':
# wall, CPU (user + system of the command and the children it waited for: novacron's
# qemu-nbd is counted, libvirtd's QEMU is not), max RSS (the largest single process among
# them, not a sum).  The page cache is never dropped: after the first read, the images and
# disks are served from memory for every tool (the machine has far more RAM than the data).
# Stored = growth of the repository directory (du -sb).
#
# After the rounds (skipped with --no-profile): a profile of one offline backup and one
# restore (`perf record -g`, the processes and their children), summarised into phases by
# process, library and symbol; fsync/syncfs wall time from `strace -f -T` of a second run.
# Then the bound (--no-bound skips it): the same qcow2 read through qemu-nbd by nbdcopy
# (defaults: 4 requests in flight, 256 KiB, sparse-aware; and one 64 KiB request at a time),
# `qemu-img convert` to raw, image-1 written into a new qcow2 through qemu-nbd by nbdcopy,
# and nc-bench-backup's library-only figures on the raw image-1 (no NBD, no libvirt).
# Ends with the table (tool, step, median wall, each round, CPU, max RSS, stored) and the
# goals of issue 17 with met / not met.  Exit 0, 1 when a restore differs or a step fails,
# 2 bad usage / missing tools, 77 when the machine cannot run the testbed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build-release}
size=2G runs=3 profile=1 bound=1 freshfs=0
while [ $# -gt 0 ]; do
	case $1 in
	--size) size=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--no-profile) profile=0; shift ;;
	--no-bound) bound=0; shift ;;
	--fresh-fs) freshfs=1; shift ;;
	*) echo "usage: $0 [--size 2G] [--runs 3] [--no-profile] [--no-bound] [--fresh-fs]" >&2; exit 2 ;;
	esac
done
for tool in borg restic qemu-img qemu-io virsh cmp /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is not installed (scripts/deps.sh, test/testbed/deps.sh)" >&2; exit 2; }
done
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then echo "skip: $why"; exit 77; fi

echo "backup-e2e: building novacron, nc-bench-backup (Release) in $BUILD/" >&2
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target novacron nc-bench-backup >/dev/null
NC=$ROOT/$BUILD/novacron

S=$(mktemp -d "${TMPDIR:-/tmp}/nc-backup-e2e.XXXXXX")
LV=$S/lv
cleanup() {
	trap - EXIT INT TERM
	mountpoint -q "$S/fs" 2>/dev/null && umount "$S/fs"
	[ -d "$LV" ] && bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1
	rm -rf "$S"
}
trap cleanup EXIT
trap 'echo "backup-e2e: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
R=$S/results     # tool|step|round|wall|cpu|rss KiB|stored bytes
: >"$R"

say() { printf '%s\n' "$*" >&2; }
die() { say "backup-e2e: $*"; exit 1; }
bytes() { du -sb "$1" 2>/dev/null | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# timed TOOL STEP ROUND STORE_DIR CMD...: sync, run CMD under /usr/bin/time, record a line in $R.
# STORE_DIR (or -) is the repository whose growth is "stored".  CMD's output: $S/log.
timed() {
	local tool=$1 step=$2 round=$3 store=$4 a0=0 a1=0
	shift 4
	sync
	[ "$store" = - ] || a0=$(bytes "$store" || echo 0)
	/usr/bin/time -f '%e %U %S %M' -o "$S/time" "$@" >"$S/log" 2>&1 ||
		{ cat "$S/log" >&2; die "failed: $tool $step: $*"; }
	[ "$store" = - ] || a1=$(bytes "$store")
	local stored=-
	[ "$store" = - ] || stored=$((a1 - a0))
	read -r wall usr sys rss <"$S/time"
	local cpu
	cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	echo "$tool|$step|$round|$wall|$cpu|$rss|$stored" >>"$R"
	printf '  round %s  %-22s %-10s %7s s wall %7s s CPU %7s MiB RSS%s\n' "$round" "$tool" "$step" "$wall" "$cpu" \
		"$(mib $((rss * 1024)))" "$([ "$stored" = - ] || echo "   stored $(mib "$stored") MiB")" >&2
}

# ---- data, testbed, spec ----
"$ROOT/$BUILD/nc-bench-backup" --size "$size" --dir "$S" --images-only >"$S/gen.log" || { cat "$S/gen.log" >&2; exit 1; }
IMG=$(echo "$S"/nc-bench-backup.*)
I1=$IMG/image-1 I2=$IMG/image-2
SIZE=$(stat -c %s "$I1")
# once more after a failed start: a daemon once exited at start while another testbed came up
bash test/testbed/libvirtd.sh up 1 "$LV" >"$S/up.log" 2>&1 || { sleep 2; bash test/testbed/libvirtd.sh up 1 "$LV" >"$S/up.log" 2>&1; } ||
	{ cat "$S/up.log" >&2; die "libvirtd.sh up"; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
V() { virsh -q -c "$NC_HOST1_URI" "$@"; }
{ cat "$NC_CONNECTIONS"; printf 'paths:\n'
  for k in secrets pools images backups boot; do printf '  %s: ["%s"]\n' "$k" "$S"; done; } >"$S/novacron.yaml"
export NOVACRON_CONFIG=$S/novacron.yaml
printf '\t.text\n\t.align 4\n\t.long 0x1BADB002\n\t.long 0\n\t.long -0x1BADB002\n\t.globl _start\n_start:\n\tcli\n1:\thlt\n\tjmp 1b\n' >"$S/guest.S"
gcc -m32 -c "$S/guest.S" -o "$S/guest.o" && ld -m elf_i386 -Ttext=0x100000 -e _start -o "$S/guest.elf" "$S/guest.o" ||
	die "cannot build the guest kernel"
mkdir -p "$S/pool" "$S/spec"
nc() { "$NC" "$@" "$S/spec" --state-dir "$S/st"; }
# spec VM STATE REPO: one VM with a disk of SIZE in the dir pool, its schedule's dir repository
spec() {
	cat >"$S/spec/c.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: local}
spec: {type: dir, path: "$S/pool"}
---
apiVersion: novacron.io/v1
kind: BackupSchedule
metadata: {name: bench}
spec:
  schedule: "0 0 1 1 *"
  vms: [$1]
  target: {type: dir, path: "$3"}
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: $1}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: $2
  boot: {kernel: "$S/guest.elf"}
  disks:
    - {name: root, pool: local, size: $SIZE}
  backupSchedule: bench
YAML
	nc apply --auto-approve --shutdown-timeout 1 >"$S/apply.log" 2>&1 || { cat "$S/apply.log" >&2; die "apply $1 $2"; }
}
# disk_from RAW VM: the VM's volume becomes RAW converted to qcow2 (the VM is shut off)
disk_from() { qemu-img convert -f raw -O qcow2 "$1" "$S/pool/$2-root.qcow2"; sync; }
# backup_id LOG: the id of the backup a `backup run` output names (its first 16 hex digits; `backup
# list` orders by time in seconds, and two backups of a small disk can share one)
backup_id() { sed -n 's/^[^ ]*: backup \([0-9a-f]\{16\}\) on .*/\1/p' "$1" | head -1; }
# drop_vm NAME: undefine a VM that `restore --as` defined, remove its disk
drop_vm() { V destroy "$1" >/dev/null 2>&1 || true; V undefine "$1" >/dev/null 2>&1 || true; rm -f "$S/pool/$1-root.qcow2"; V pool-refresh local >/dev/null 2>&1 || true; }
# dirty VM: ~1 % of the running VM's disk written through QEMU's block layer, 64 KiB at
# scattered distinct 64 KiB-aligned offsets (a fixed seed per round)
NWRITES=$(( (SIZE / 65536 + 50) / 100 )); [ "$NWRITES" -ge 1 ] || NWRITES=1
dirty() {
	local out
	awk -v n="$NWRITES" -v slots=$((SIZE / 65536)) -v seed="$2" 'BEGIN { srand(seed); k = 0
		while (k < n) { s = int(rand() * slots); if (!(s in seen)) { seen[s] = 1; k++; print s * 65536 } } }' |
	while read -r off; do
		out=$(V qemu-monitor-command --hmp "$1" "qemu-io -d virtio-disk0/virtio-backend \"write -P 0x$(printf %02x $(( (off / 65536) % 255 + 1 ))) $off 64k\"")
		case $out in *wrote*|"") ;; *) die "qemu-io in $1: $out" ;; esac
	done
}

round_novacron() {
	local r=$1 vm=vm$1 repo=$RB/repo-nc-$1 live=$RB/repo-live-$1 id1 lid2
	# the previous round's VM goes (not timed)
	spec "$vm" stopped "$repo"
	for old in $(ls "$S/pool" | sed -n 's/-root\.qcow2$//p'); do [ "$old" = "$vm" ] || drop_vm "$old"; done
	disk_from "$I1" "$vm"
	timed novacron off-first "$r" "$repo" "$NC" backup run "$vm" "$S/spec" --state-dir "$S/st"
	grep -q "(offline" "$S/log" && grep -q " full " "$S/log" || { cat "$S/log" >&2; die "off-first was not an offline full backup"; }
	cp "$S/log" "$S/off-first-$r.log"
	disk_from "$I2" "$vm"
	timed novacron off-incr "$r" "$repo" "$NC" backup run "$vm" "$S/spec" --state-dir "$S/st"
	cp "$S/log" "$S/off-incr-$r.log"
	id1=$(backup_id "$S/off-first-$r.log")
	timed novacron restore "$r" - "$NC" restore "$vm" --backup "$id1" --as "${vm}r" "$S/spec" --state-dir "$S/st"
	qemu-img compare -q -f raw -F qcow2 "$I1" "$S/pool/${vm}r-root.qcow2" ||
		die "round $r: the restored disk differs from image-1"
	drop_vm "${vm}r"
	rm -rf "$repo"
	# running VM: disk back to image-1, a new repository, pull-mode backups
	disk_from "$I1" "$vm"
	spec "$vm" running "$live"
	timed novacron live-first "$r" "$live" "$NC" backup run "$vm" "$S/spec" --state-dir "$S/st"
	grep -q "(live" "$S/log" && grep -q " full " "$S/log" || { cat "$S/log" >&2; die "live-first was not a live full backup"; }
	dirty "$vm" "$r"
	timed novacron live-incr "$r" "$live" "$NC" backup run "$vm" "$S/spec" --state-dir "$S/st"
	grep -q " incremental " "$S/log" || { cat "$S/log" >&2; die "live-incr was not incremental"; }
	cp "$S/log" "$S/live-incr-$r.log"
	spec "$vm" stopped "$live"
	if [ "$r" = 1 ]; then
		lid2=$(backup_id "$S/live-incr-$r.log")
		nc restore "$vm" --backup "$lid2" --as "${vm}l" >"$S/rl.log" 2>&1 || { cat "$S/rl.log" >&2; die "restore of the live increment"; }
		qemu-img compare -q -f qcow2 -F qcow2 "$S/pool/$vm-root.qcow2" "$S/pool/${vm}l-root.qcow2" ||
			die "the live increment restored differs from the VM's disk"
		echo "  round 1: the live increment restored equals the VM's disk (qemu-img compare)" >&2
		drop_vm "${vm}l"
	fi
	rm -rf "$live"
}

export BORG_BASE_DIR=$S/borg-home BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_PASSPHRASE=novacron-bench BORG_DISPLAY_PASSPHRASE=no RESTIC_CACHE_DIR=$S/restic-cache
echo novacron-bench >"$S/password"
BORG_MODES="borg-none-zstd3 borg-none-lz4 borg-repokey-zstd3"
round_borg() {
	local r=$1 mode repo out enc comp
	for mode in $BORG_MODES; do
		repo=$RB/repo-$mode out=$S/out-$mode
		rm -rf "$repo" "$out" "$BORG_BASE_DIR"; mkdir -p "$out"
		enc=none; case $mode in *repokey*) enc=repokey ;; esac
		comp=(); case $mode in *zstd3) comp=(--compression zstd,3) ;; esac
		borg init --encryption=$enc "$repo" >/dev/null 2>&1 || die "borg init $mode"
		timed "$mode" first "$r" "$repo" borg create "${comp[@]}" "$repo::first" "$I1"
		timed "$mode" second "$r" "$repo" borg create "${comp[@]}" "$repo::second" "$I2"
		(cd "$out" && timed "$mode" restore "$r" - borg extract "$repo::first")
		cmp -s "$out$I1" "$I1" || die "$mode: the restored image differs from image-1"
		rm -rf "$repo" "$out"
	done
}
round_restic() {
	local r=$1 repo=$RB/repo-restic out=$S/out-restic sid
	rm -rf "$repo" "$out" "$RESTIC_CACHE_DIR"
	restic init -q --repo "$repo" --password-file "$S/password" >/dev/null || die "restic init"
	timed restic first "$r" "$repo" restic backup -q --repo "$repo" --password-file "$S/password" "$I1"
	sid=$(restic snapshots -q --repo "$repo" --password-file "$S/password" --json | grep -o '"short_id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
	timed restic second "$r" "$repo" restic backup -q --repo "$repo" --password-file "$S/password" "$I2"
	timed restic restore "$r" - restic restore -q "$sid" --repo "$repo" --password-file "$S/password" --target "$out"
	cmp -s "$out$I1" "$I1" || die "restic: the restored image differs from image-1"
	rm -rf "$repo" "$out"
}

say "backup-e2e: $(sed -n 's/^ *[^ ]*image-1: //p' "$S/gen.log"); $runs round(s); $(borg --version), $(restic version | cut -d' ' -f1-2), $("$NC" --version 2>/dev/null | head -1), $(git log -1 --format='%h %cs' 2>/dev/null)"
say "  load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# new_fs: where the next repositories go (RB): the scratch directory, or with --fresh-fs a new
# ext4 (mkfs defaults: with a journal) on a loop device, 4x the disk size + 1 GiB, made anew
# for each round, the profile and the library run (the old one unmounted and its file removed)
RB=$S
new_fs() {
	[ "$freshfs" = 1 ] || return 0
	mountpoint -q "$S/fs" && umount "$S/fs"
	rm -f "$S/fs.img"; mkdir -p "$S/fs"
	truncate -s $((SIZE * 4 + (1 << 30))) "$S/fs.img"
	mkfs.ext4 -q -F "$S/fs.img" && mount -o loop "$S/fs.img" "$S/fs" || die "cannot make the repositories' file system"
	RB=$S/fs
}
[ "$freshfs" = 1 ] && say "  repositories: a new ext4 on a loop device ($S/fs.img) per round (--fresh-fs)" ||
	say "  repositories: in $S ($(findmnt -n -o FSTYPE,SOURCE -T "$S" | tr -s ' '))"
order=(novacron borg restic)
for r in $(seq 1 "$runs"); do
	new_fs
	for k in 0 1 2; do
		t=${order[$(( (k + r - 1) % 3 ))]}
		"round_$t" "$r"
	done
	say "  load after round $r: $(cut -d' ' -f1-3 /proc/loadavg)"
done

# ---- profile: where novacron's time goes ----
# phases PERFDATA CPU: CPU samples grouped by process, then (novacron's) by library / symbol;
# seconds = share of the samples x CPU (time's user + system of the recorded run)
phases() {
	perf report -i "$1" --no-children --sort comm,dso,sym --stdio -g none -n --percent-limit 0 2>/dev/null |
	awk -v cpu="$2" '/^ *[0-9.]+%/ {
		p = $1; sub(/%/, "", p); comm = $3; dso = $4; sym = ""
		for (i = 6; i <= NF; i++) sym = sym " " $i
		if (comm ~ /qemu-nbd/) c = "qemu-nbd process: qcow2 read/write + NBD serve"
		else if (comm !~ /novacron|^nc-/) c = "other processes: " comm
		else if (dso ~ /zstd/) c = "zstd (compress / decompress)"
		else if (dso ~ /libcrypto/) c = "libcrypto (SHA-256 ids; AES-GCM when encrypted)"
		else if (dso ~ /libnbd/) c = "libnbd (NBD client, user space)"
		else if (dso ~ /^novacron$/) c = "novacron code (chunking, zero checks, manifest, pipeline)"
		else if (dso ~ /ld-linux/) c = "dynamic linker (start-up symbol lookups)"
		else if (dso ~ /libc\.so/) c = (sym ~ /mem(cpy|move|set|cmp)|str/ ? "libc memcpy / memset / memcmp" : "libc, other (malloc, locks, syscalls)")
		else if (dso !~ /kernel/) c = "other libraries (" dso ")"
		else if (sym ~ /unix_stream|skb|sock|_copy_to_iter|_copy_from_iter|recv|sendmsg|tcp/) c = "kernel: NBD socket (receive / send)"
		else if (sym ~ /syncfs|sync_inodes|writeback|wb_|jbd2|blk_|virtblk|bio_|submit_bio|mpage/) c = "kernel: fsync / writeback"
		else if (sym ~ /page_fault|clear_page|mmap|munmap|folio_add|alloc_pages|free_pages|lru_|zap_|pte|vma/) c = "kernel: memory (page faults, mapping)"
		else if (sym ~ /finish_task_switch|schedule|_raw_spin|futex|try_to_wake|enqueue|dequeue|idle/) c = "kernel: scheduling, wake-ups, futexes"
		else c = "kernel: file system (ext4 creates, writes, lookups; page cache)"
		s[c] += p
		# the phases of issue 17
		if (c ~ /qemu-nbd|libnbd|NBD socket/) ph = "disk read / write via NBD (qemu-nbd, libnbd, socket)"
		else if (c ~ /zstd|libcrypto|novacron code|memcpy/) ph = "chunk, hash, compress (or verify, decompress)"
		else if (c ~ /file system/) ph = "target: file creates and writes (kernel)"
		else if (c ~ /fsync/) ph = "fsync / writeback (CPU only; wall time below)"
		else ph = "other (scheduling, start-up, libc, memory)"
		q[ph] += p
	} END {
		for (c in s) printf "    %5.1f %%  %5.2f s  %s\n", s[c], s[c] * cpu / 100, c | "sort -rn"
		close("sort -rn")
		print "    -- summed into the phases of issue 17:"
		for (c in q) printf "    %5.1f %%  %5.2f s  %s\n", q[c], q[c] * cpu / 100, c | "sort -rn"
	}'
}
top_syms() {
	perf report -i "$1" --no-children --sort comm,dso,sym --stdio -g none --percent-limit 1.5 2>/dev/null |
		awk '/^ *[0-9.]+%/ { $4 = ""; printf "     %s\n", $0 }' | head -14
}
if [ "$profile" = 1 ]; then
	say ""
	say "backup-e2e: profile (one offline first backup, one restore)"
	new_fs
	vm=vmp repo=$RB/repo-prof
	spec "$vm" stopped "$repo"
	for old in $(ls "$S/pool" | sed -n 's/-root\.qcow2$//p'); do [ "$old" = "$vm" ] || drop_vm "$old"; done
	disk_from "$I1" "$vm"
	if command -v perf >/dev/null && perf record -q -o "$S/perf-probe.data" -- true >/dev/null 2>&1; then
		sync
		/usr/bin/time -f '%e %U %S %M' -o "$S/time" perf record -q -g -F 999 -o "$S/perf-backup.data" -- \
			"$NC" backup run "$vm" "$S/spec" --state-dir "$S/st" >"$S/log" 2>&1 || { cat "$S/log" >&2; die "perf backup"; }
		read -r w u s m <"$S/time"; c=$(awk -v u=$u -v s=$s 'BEGIN{print u+s}'); say "  backup under perf: $w s wall, $c s CPU"
		say "  CPU samples by phase (% of samples; s = that share of the $c s CPU):"; phases "$S/perf-backup.data" "$c" >&2
		say "  top symbols (comm, dso, symbol, >= 1.5 %):"; top_syms "$S/perf-backup.data" >&2
		id1=$(backup_id "$S/log")
		sync
		/usr/bin/time -f '%e %U %S %M' -o "$S/time" perf record -q -g -F 999 -o "$S/perf-restore.data" -- \
			"$NC" restore "$vm" --backup "$id1" --as "${vm}r" "$S/spec" --state-dir "$S/st" >"$S/log" 2>&1 || { cat "$S/log" >&2; die "perf restore"; }
		read -r w u s m <"$S/time"; c=$(awk -v u=$u -v s=$s 'BEGIN{print u+s}'); say "  restore under perf: $w s wall, $c s CPU"
		say "  CPU samples by phase (% of samples; s = that share of the $c s CPU):"; phases "$S/perf-restore.data" "$c" >&2
		say "  top symbols (comm, dso, symbol, >= 1.5 %):"; top_syms "$S/perf-restore.data" >&2
		drop_vm "${vm}r"; rm -rf "$repo"
	else
		say "  perf cannot record here ($(perf record -q -o "$S/perf-probe.data" -- true 2>&1 | head -1)); strace -c only"
	fi
	# wall time in the sync calls and in the NBD socket reads, from strace -T (a second run)
	if command -v strace >/dev/null; then
		for what in backup restore; do
			sync
			if [ $what = backup ]; then
				strace -f -qq -T -e trace=syncfs,fsync,fdatasync -o "$S/strace-$what" \
					"$NC" backup run "$vm" "$S/spec" --state-dir "$S/st" >"$S/strace-backup.log" 2>&1 || die "strace backup"
			else
				id1=$(backup_id "$S/strace-backup.log")
				strace -f -qq -T -e trace=syncfs,fsync,fdatasync -o "$S/strace-$what" \
					"$NC" restore "$vm" --backup "$id1" --as "${vm}r" "$S/spec" --state-dir "$S/st" >"$S/log" 2>&1 || die "strace restore"
			fi
			awk -v w=$what '/(syncfs|fsync|fdatasync)\(/ { n++; t = $NF; gsub(/[<>]/, "", t); s += t }
				END { printf "  %s: %d sync calls (syncfs/fsync/fdatasync, all processes), %.2f s inside them (strace -T)\n", w, n, s }' \
				"$S/strace-$what" >&2
		done
		drop_vm "${vm}r"; rm -rf "$repo"
	fi
fi

# ---- the bound: what the disk path gives on this machine ----
if [ "$bound" = 1 ]; then
	say ""
	say "backup-e2e: bound (the VM's qcow2 = image-1, $(mib $(du -B1 "$S/pool/vmp-root.qcow2" 2>/dev/null | cut -f1 || echo 0)) MiB allocated; median of 3)"
	vm=vmp
	[ -f "$S/pool/$vm-root.qcow2" ] || disk_from "$I1" "$vm"
	D=$S/pool/$vm-root.qcow2
	bnd() {  # LABEL CMD...
		local label=$1 i w=() r
		shift
		for i in 1 2 3; do
			sync
			/usr/bin/time -f '%e %U %S %M' -o "$S/time" "$@" >"$S/log" 2>&1 || { cat "$S/log" >&2; die "bound: $label"; }
			read -r t u s m <"$S/time"; w+=("$t")
		done
		r=$(printf '%s\n' "${w[@]}" | sort -n | sed -n 2p)
		echo "bound|$label|$r|${w[*]}" >>"$S/bound"
		printf '  %-62s %6s s  (%s)  %6.0f MB/s of the disk size\n' "$label" "$r" "${w[*]}" \
			"$(awk -v b="$SIZE" -v t="$r" 'BEGIN { print (t > 0 ? b / t / 1e6 : 0) }')" >&2
	}
	: >"$S/bound"
	bnd "cat image-1 >/dev/null (page cache, what borg reads)" sh -c "cat '$I1' >/dev/null"
	if command -v nbdcopy >/dev/null; then
		bnd "nbdcopy qemu-nbd(qcow2) -> null: (defaults, sparse-aware)" nbdcopy -- [ qemu-nbd -r -f qcow2 "$D" ] null:
		bnd "nbdcopy qemu-nbd(qcow2) -> null: (1 request of 64 KiB at a time)" \
			nbdcopy --connections=1 --requests=1 --request-size=65536 -- [ qemu-nbd -r -f qcow2 "$D" ] null:
		bnd "nbdcopy image-1 -> qemu-nbd(new qcow2) (write, zeros as holes)" \
			sh -c "rm -f '$S/bw.qcow2'; qemu-img create -q -f qcow2 '$S/bw.qcow2' $SIZE && nbdcopy '$I1' -- [ qemu-nbd -f qcow2 '$S/bw.qcow2' ]"
	else
		say "  (nbdcopy missing: apt-get install libnbd-bin, test/testbed/deps.sh)"
	fi
	bnd "qemu-img convert qcow2 -> raw file (no NBD)" sh -c "rm -f '$S/bw.raw'; qemu-img convert -f qcow2 -O raw '$D' '$S/bw.raw'"
	bnd "qemu-img convert image-1 -> new qcow2 (no NBD)" sh -c "rm -f '$S/bw.qcow2'; qemu-img convert -f raw -O qcow2 '$I1' '$S/bw.qcow2'"
	rm -f "$S/bw.raw" "$S/bw.qcow2"
	say "  library only (nc-bench-backup --plain-only --runs 1 on the raw files: no NBD, no libvirt, no CLI):"
	new_fs
	mkdir -p "$RB/lib"
	"$ROOT/$BUILD/nc-bench-backup" --size "$size" --dir "$RB/lib" --plain-only --runs 1 >"$S/lib.log" 2>&1 || { cat "$S/lib.log" >&2; die "nc-bench-backup"; }
	awk '$1 == "plain" && $2 == 1 { print "    " $0 }' "$S/lib.log" >&2 || true
	awk '$1 == "plain" && $2 == 1 { print "library (raw file)|" $3 "|1|" $4 "|" $6 "|0|" ($3 == "restore" ? "-" : int($8 * 1048576)) }' "$S/lib.log" >>"$R"
	rm -rf "$RB/lib"
fi

# ---- the table and the goals ----
med() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { awk -F'|' -v t="$1" -v s="$2" -v f="$3" '$1 == t && $2 == s { print $f }' "$R"; }
echo
echo "backup-e2e: $(mib "$SIZE") MiB disk, $runs round(s), medians; $(date -u +%Y-%m-%d\ %H:%M) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-20s %-10s %8s  %-26s %8s %9s %11s\n' tool step "wall" "each round (s)" CPU "max RSS" stored
for ts in novacron:off-first novacron:off-incr novacron:restore novacron:live-first novacron:live-incr \
	borg-none-zstd3:first borg-none-zstd3:second borg-none-zstd3:restore \
	borg-none-lz4:first borg-none-lz4:second borg-none-lz4:restore \
	borg-repokey-zstd3:first borg-repokey-zstd3:second borg-repokey-zstd3:restore \
	restic:first restic:second restic:restore \
	"library (raw file):full" "library (raw file):incr-read" "library (raw file):incr-dirty" "library (raw file):restore"; do
	t=${ts%%:*} s=${ts#*:}
	[ -n "$(field "$t" "$s" 4)" ] || continue
	st=$(field "$t" "$s" 7 | awk '$1 != "-"' | med)
	printf '  %-20s %-10s %6s s  %-26s %6s s %9s %11s\n' "$t" "$s" "$(field "$t" "$s" 4 | med)" \
		"$(field "$t" "$s" 4 | paste -sd/ | sed 's|/| / |g')" "$(field "$t" "$s" 5 | med)" \
		"$(x=$(field "$t" "$s" 6 | sort -n | tail -1); [ "$x" = 0 ] && echo - || echo "$(mib $((x * 1024))) MiB")" \
		"$([ "$st" = - ] && echo - || echo "$(mib "$st") MiB")"
done
m() { field "$1" "$2" 4 | med; }
goal() {  # TEXT MET(0/1) DETAIL
	printf '  %-58s %-8s %s\n' "$1" "$([ "$2" = 1 ] && echo met || echo 'NOT met')" "$3"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }' && echo 1 || echo 0; }
echo
echo "goals (issue 17; medians):"
f=$(ratio "$(m borg-none-zstd3 first)" "$(m novacron off-first)")
goal "first backup >= 1.5x faster than borg (none, zstd,3)" "$(ge "$f" 1.5)" \
	"${f}x: novacron $(m novacron off-first) s (shut off; running: $(m novacron live-first) s), borg $(m borg-none-zstd3 first) s (lz4: $(m borg-none-lz4 first) s)"
f=$(ratio "$(m borg-none-zstd3 restore)" "$(m novacron restore)")
goal "restore >= 1.5x faster than borg (none, zstd,3)" "$(ge "$f" 1.5)" \
	"${f}x: novacron $(m novacron restore) s, borg $(m borg-none-zstd3 restore) s (lz4: $(m borg-none-lz4 restore) s)"
f=$(m novacron live-incr)
goal "running-VM increment for ~1 % (dirty bitmap) under 1 s" "$(ge 0.9999 "$f")" "$f s ($NWRITES writes of 64 KiB)"
rss=$(awk -F'|' '$1 == "novacron" { if ($6 > x) x = $6 } END { print x + 0 }' "$R")
goal "memory under 256 MiB (max RSS of any novacron step)" "$(ge 262144 "$rss")" "$(mib $((rss * 1024))) MiB"
