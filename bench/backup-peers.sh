#!/usr/bin/env bash
# bench/backup-peers.sh - the peers of nc-bench-backup: borg and restic
# (Debian packages borgbackup and restic) on the SAME image files.
#
#   bench/backup-peers.sh [--images DIR] [--runs N] [--size BYTES] [--only borg|restic]
#
# DIR holds image-1 and image-2 as `nc-bench-backup --keep` or
# `--images-only` leave them (nc-bench-backup.*).  Without --images the
# script generates them into a temporary directory with nc-bench-backup
# --images-only (BUILD=dir names its build directory, default build-bench)
# and removes it at the end (it builds that program only when missing;
# bench/run.sh --backup builds it first).
#
# For each tool and mode, each run: a new repository, a backup of image-1
# (first), a backup of image-2 (second; the tool reads the whole file, as
# neither is told which blocks changed), and a restore of the second
# archive into a new directory, then compared with image-2 (cmp, not
# timed).  Modes:
#   borg-none     borg init --encryption=none, default chunker (buzhash,
#                 ~2 MiB average), default compression (lz4)
#   borg-repokey  the same with --encryption=repokey (AES-CTR + HMAC-SHA256)
#   restic        restic init (always encrypted; repository version 2,
#                 zstd "auto" compression), password file
# Each step is timed with /usr/bin/time -f (wall, user + system CPU);
# "stored" is the growth of the repository, `du -sb` (apparent) and
# `du -sB1` (disk).  The images come from the page cache when they were
# just written, as for nc-bench-backup.  Caches (borg's, restic's) live in
# the scratch directory and are removed with it.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
images= runs=1 size=2G only=
while [ $# -gt 0 ]; do
	case $1 in
	--images) images=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) echo "usage: $0 [--images DIR] [--runs N] [--size BYTES] [--only borg|restic]" >&2; exit 2 ;;
	esac
done
for tool in borg restic /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is not installed (scripts/deps.sh)" >&2; exit 2; }
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/nc-bench-peers.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
if [ -z "$images" ]; then
	[ -x "$BUILD/nc-bench-backup" ] || cmake --build "$BUILD" --target nc-bench-backup >/dev/null
	"$BUILD/nc-bench-backup" --size "$size" --dir "$scratch" --images-only >/dev/null
	images=$(echo "$scratch"/nc-bench-backup.*)
fi
[ -f "$images/image-1" ] && [ -f "$images/image-2" ] ||
	{ echo "$0: no image-1 and image-2 in $images" >&2; exit 2; }
img1=$(cd "$images" && pwd)/image-1
img2=$(cd "$images" && pwd)/image-2

export BORG_BASE_DIR=$scratch/borg-home
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_PASSPHRASE=novacron-bench BORG_DISPLAY_PASSPHRASE=no
export RESTIC_CACHE_DIR=$scratch/restic-cache
echo novacron-bench > "$scratch/password"

# timed LABEL CMD...: runs CMD, prints "wall cpu" (seconds) into $scratch/t
timed() {
	sync    # no step pays for what an earlier one left dirty (nc-bench-backup does the same)
	/usr/bin/time -f '%e %U %S' -o "$scratch/time" "$@" >"$scratch/log" 2>&1 ||
		{ cat "$scratch/log" >&2; echo "$0: failed: $*" >&2; exit 1; }
	awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$scratch/time" > "$scratch/t"
}
bytes() { du -sb "$1" | cut -f1; }
disk() { du -sB1 "$1" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
row() {  # mode run step wall cpu [apparent disk]
	printf '  %-13s %2s  %-8s %8s s %8s s' "$1" "$2" "$3" "$4" "$5"
	if [ $# -gt 5 ]; then printf '  %10s MiB %10s MiB\n' "$(mib "$6")" "$(mib "$7")"; else echo; fi
}

# one MODE RUN
one() {
	local mode=$1 run=$2 repo=$scratch/repo-$1 out=$scratch/restore a0 d0 a1 d1
	rm -rf "$repo" "$out" "$BORG_BASE_DIR" "$RESTIC_CACHE_DIR"
	mkdir -p "$out"
	case $mode in
	borg-none) timed borg init --encryption=none "$repo" ;;
	borg-repokey) timed borg init --encryption=repokey "$repo" ;;
	restic) timed restic init --repo "$repo" --password-file "$scratch/password" ;;
	esac
	for step in first second; do
		local img=$img1
		[ $step = second ] && img=$img2
		a0=$(bytes "$repo") d0=$(disk "$repo")
		case $mode in
		borg-*) timed borg create "$repo::$step" "$img" ;;
		restic) timed restic backup -q --repo "$repo" --password-file "$scratch/password" "$img" ;;
		esac
		a1=$(bytes "$repo") d1=$(disk "$repo")
		read -r wall cpu < "$scratch/t"
		row "$mode" "$run" "$step" "$wall" "$cpu" $((a1 - a0)) $((d1 - d0))
	done
	case $mode in
	borg-*) (cd "$out" && timed borg extract "$repo::second") ;;
	restic) timed restic restore -q latest --repo "$repo" --password-file "$scratch/password" \
			--target "$out" ;;
	esac
	read -r wall cpu < "$scratch/t"
	row "$mode" "$run" restore "$wall" "$cpu"
	cmp -s "$out$img2" "$img2" || { echo "$0: $mode: the restored image differs" >&2; exit 1; }
	rm -rf "$repo" "$out"
}

echo "backup-peers: $images ($(mib "$(stat -c %s "$img1")") MiB images); $(borg --version), $(restic version | cut -d' ' -f1-2)"
echo "  mode         run  step         wall        CPU      stored    on disk"
for run in $(seq 1 "$runs"); do
	for mode in borg-none borg-repokey restic; do
		case $only in "" | "${mode%%-*}") one "$mode" "$run" ;; esac
	done
done
echo "  restores: identical to image-2 (cmp)"
