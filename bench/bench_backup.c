/*
 * bench_backup.c - the backup benchmark of issue 6: a full backup of a disk
 * image, an increment after a 1% scattered change, and a restore, through
 * the library API (drivers/backup/backup.h) on a directory repository.
 *
 *   nc-bench-backup [--size BYTES] [--dir DIR] [--runs N] [--threads N]
 *                   [--chunk-size BYTES] [--level N] [--plain-only]
 *                   [--keep] [--images-only]
 *
 * The image (default 2 GiB) is generated deterministically (xorshift PRNG,
 * fixed seed) as 1 MiB regions, each random (40%), zero (40%) or text
 * (20%): log-like lines from a small vocabulary with varying numbers, so
 * the text compresses well but does not deduplicate trivially.  The file
 * is sparse where it is zero.  image-2 is the same image with 1% of its
 * 4 KiB blocks, at random distinct positions, overwritten with random
 * bytes; their list, merged into extents, stands for a dirty bitmap.
 *
 * Each run, once without and once with encryption (a key file):
 *
 *   full        image-1 into a new repository
 *   incr-read   image-2 with the full backup as parent, every chunk read
 *               (deduplication, and delta chunks on the parent's)
 *   incr-dirty  image-2 with the changed extents given (only the chunks
 *               holding them are read)
 *   restore     the incr-dirty snapshot into a sparse file, then compared
 *               with image-2 by SHA-256 (not timed)
 *
 * The two increments start from the same state: after the full backup the
 * repository is copied with hard links (`cp -al`; objects are never
 * modified in place) and each increment goes to its own copy.  Both must
 * produce the same chunk list.
 *
 * For each step: wall time (CLOCK_MONOTONIC around the one library call),
 * CPU time (getrusage(RUSAGE_SELF) user + system, all threads), and the
 * bytes stored: the growth of the repository directory, apparent size (sum
 * of st_size, as `du -sb`) and disk usage (st_blocks, as `du -sB1`), and
 * the size of the snapshot's manifest object.  The
 * images are read from the page cache (they were just written), as for
 * borg and restic in bench/backup-peers.sh, which reuses them (--keep or
 * --images-only leave them in DIR/nc-bench-backup.*).  Prints every run,
 * then the best and median of each step; exits 1 if a restore differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../drivers/backup/backup.h"
#include "../spec/util.h"

#define MiB (1024ull * 1024)
#define BLOCK 4096u
#define REGION MiB
#define SEED 0x6e6f7661636f6e31ull
#define T0 1764547200LL                  /* 2025-12-01, the full backup's time */

enum { S_FULL, S_READ, S_DIRTY, S_RESTORE, NSTEPS };
static const char *step_name[NSTEPS] = { "full", "incr-read", "incr-dirty", "restore" };

struct meas {
	double wall, cpu;
	uint64_t apparent, disk;         /* repository growth */
	uint64_t bytes_read;
	uint64_t manifest;               /* the snapshot object's size */
	size_t chunks_new, chunks_reused, chunks_zero, chunks_unchanged;
	size_t chunks_delta;             /* of chunks_new */
};

static struct {
	uint64_t size;
	const char *dir;
	unsigned runs, threads, chunk_size;
	int level;
	bool keep, images_only, plain_only;
} opt = { 2048 * MiB, "/tmp", 1, 0, 0, 0, false, false, false };

static char work[4096];

/* ---- small helpers ---- */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nc-bench-backup: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void fill_random(unsigned char *p, size_t n, uint64_t *s)
{
	size_t i;

	for (i = 0; i < n; i += 8) {
		uint64_t v = rng_next(s);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* Log-like lines: compressible, and not the same from one chunk to the next. */
static void fill_text(unsigned char *p, size_t n, uint64_t *s)
{
	static const char *const msg[] = {
		"reconciled", "observed", "started", "migrated", "backed up", "placed",
	};
	static const char *const app[] = { "web", "api", "worker", "cache", "db" };
	char line[160];
	size_t done = 0;

	while (done < n) {
		uint64_t v = rng_next(s);
		int len = snprintf(line, sizeof(line),
			"2025-12-01T%02u:%02u:%02u.%03uZ host-%02u novacron[%u]: %s vm %s-%u "
			"(generation %u)\n",
			(unsigned)(v % 24), (unsigned)(v >> 8) % 60, (unsigned)(v >> 16) % 60,
			(unsigned)(v >> 24) % 1000, (unsigned)(v >> 34) % 50,
			1000 + (unsigned)(v >> 40) % 8, msg[(v >> 44) % 6], app[(v >> 48) % 5],
			(unsigned)(v >> 52) % 100, (unsigned)(v >> 58) % 8);
		size_t k = (size_t)len < n - done ? (size_t)len : n - done;

		memcpy(p + done, line, k);
		done += k;
	}
}

static void pwrite_all(int fd, const void *buf, size_t len, uint64_t off, const char *path)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0)
			die("write %s: %s", path, strerror(errno));
		done += (size_t)n;
	}
}

/* ---- the images ---- */

static void make_image(const char *path, uint64_t size)
{
	unsigned char *buf = nc_xmalloc(REGION);
	uint64_t s = SEED, off;
	unsigned counts[3] = { 0, 0, 0 };
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		die("create %s: %s", path, strerror(errno));
	for (off = 0; off < size; off += REGION) {
		size_t len = size - off < REGION ? (size_t)(size - off) : REGION;
		unsigned kind = (unsigned)(rng_next(&s) % 10);

		if (kind < 4) {
			fill_random(buf, len, &s);
			pwrite_all(fd, buf, len, off, path);
			counts[0]++;
		} else if (kind < 8) {
			counts[1]++;                     /* a hole */
		} else {
			fill_text(buf, len, &s);
			pwrite_all(fd, buf, len, off, path);
			counts[2]++;
		}
	}
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
	free(buf);
	printf("  %s: %.0f MiB, 1 MiB regions: %u random, %u zero (holes), %u text\n", path,
		(double)size / MiB, counts[0], counts[1], counts[2]);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Overwrites 1% of the 4 KiB blocks of path; the changed extents, merged. */
static struct nc_backup_extent *change_image(const char *path, uint64_t size, size_t *out_n,
	size_t *out_blocks)
{
	uint64_t nblocks = size / BLOCK, nchg = nblocks / 100, *blk, s = SEED ^ 0x5a5a5a5a, i;
	unsigned char *taken = nc_xcalloc(nblocks ? nblocks : 1, 1), buf[BLOCK];
	struct nc_backup_extent *ext;
	size_t n = 0;
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	blk = nc_xcalloc(nchg ? nchg : 1, sizeof(*blk));
	for (i = 0; i < nchg; ) {
		uint64_t b = rng_next(&s) % nblocks;

		if (taken[b])
			continue;
		taken[b] = 1;
		blk[i++] = b;
	}
	qsort(blk, nchg, sizeof(*blk), cmp_u64);
	ext = nc_xcalloc(nchg ? nchg : 1, sizeof(*ext));
	for (i = 0; i < nchg; i++) {
		fill_random(buf, BLOCK, &s);
		pwrite_all(fd, buf, BLOCK, blk[i] * BLOCK, path);
		if (n && ext[n - 1].offset + ext[n - 1].length == blk[i] * BLOCK) {
			ext[n - 1].length += BLOCK;
		} else {
			ext[n].offset = blk[i] * BLOCK;
			ext[n++].length = BLOCK;
		}
	}
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
	free(taken);
	free(blk);
	*out_n = n;
	*out_blocks = (size_t)nchg;
	return ext;
}

static void sha256_file(unsigned char out[32], const char *path)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char *buf = nc_xmalloc(4 * MiB);
	unsigned int olen = 32;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		die("hash %s: %s", path, strerror(errno));
	while ((n = read(fd, buf, 4 * MiB)) > 0)
		EVP_DigestUpdate(c, buf, (size_t)n);
	if (n < 0)
		die("read %s: %s", path, strerror(errno));
	EVP_DigestFinal_ex(c, out, &olen);
	EVP_MD_CTX_free(c);
	close(fd);
	free(buf);
}

/* ---- repository size (du) ---- */

static uint64_t du_apparent, du_disk;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)path;
	(void)f;
	if (flag == FTW_F) {
		du_apparent += (uint64_t)st->st_size;
		du_disk += (uint64_t)st->st_blocks * 512;
	}
	return 0;
}

static void du(const char *dir, uint64_t *apparent, uint64_t *disk)
{
	du_apparent = du_disk = 0;
	if (nftw(dir, du_one, 32, FTW_PHYS) < 0)
		die("walk %s: %s", dir, strerror(errno));
	*apparent = du_apparent;
	*disk = du_disk;
}

static void run_cmd(const char *cmd)
{
	if (system(cmd) != 0)
		die("command failed: %s", cmd);
}

/* ---- source and sink on files ---- */

static int src_read(void *ctx, uint64_t off, void *buf, size_t len, struct nc_err *err)
{
	int fd = *(int *)ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n <= 0) {
			nc_err_set(err, "pread: %s", n < 0 ? strerror(errno) : "short file");
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int sink_write(void *ctx, uint64_t off, const void *buf, size_t len, struct nc_err *err)
{
	int fd = *(int *)ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			nc_err_set(err, "pwrite: %s", strerror(errno));
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* The file was truncated to the disk's size: its holes already read as zeros. */
static int sink_zero(void *ctx, uint64_t off, uint64_t len, struct nc_err *err)
{
	(void)ctx;
	(void)off;
	(void)len;
	(void)err;
	return 0;
}

/* ---- the steps ---- */

static struct nc_backup_repo *repo_open(const char *path, const char *key, bool create)
{
	struct nc_backup_repo_opts o = {
		.key_file = key, .chunk_size = opt.chunk_size, .zstd_level = opt.level,
		.threads = opt.threads,
	};
	struct nc_backup_repo *r;
	struct nc_err err = { "" };
	int rc = create ? nc_backup_create_dir(&r, path, &o, &err)
			: nc_backup_open_dir(&r, path, &o, &err);

	if (rc < 0)
		die("repository %s: %s", path, err.msg);
	return r;
}

static void backup(struct meas *m, char id[NC_BACKUP_ID_HEX + 1], const char *repo,
	const char *key, bool create, const char *image, const char *parent, int64_t time,
	const struct nc_backup_changes *ch)
{
	struct nc_backup_repo *r = repo_open(repo, key, create);
	struct nc_backup_meta meta = {
		.vm = "bench", .disk = "vda", .disk_size = opt.size, .time = time,
		.parent = parent,
	};
	struct nc_backup_source src;
	struct nc_backup_stats st;
	struct nc_err err = { "" };
	uint64_t a0, d0, a1, d1;
	double w, c;
	int fd = open(image, O_RDONLY);

	if (fd < 0)
		die("open %s: %s", image, strerror(errno));
	memset(&src, 0, sizeof(src));
	src.read = src_read;
	src.ctx = &fd;
	du(repo, &a0, &d0);
	sync();     /* no step pays for what an earlier one (or making the images) left dirty */
	w = now();
	c = cpu_now();
	if (nc_backup_write(&st, r, &meta, &src, ch, &err) < 0)
		die("backup of %s: %s", image, err.msg);
	m->wall = now() - w;
	m->cpu = cpu_now() - c;
	nc_backup_close(r);
	close(fd);
	du(repo, &a1, &d1);
	m->apparent = a1 - a0;
	m->disk = d1 - d0;
	m->bytes_read = st.bytes_read;
	m->chunks_new = st.chunks_new;
	m->chunks_reused = st.chunks_reused;
	m->chunks_zero = st.chunks_zero;
	m->chunks_unchanged = st.chunks_unchanged;
	m->chunks_delta = st.chunks_delta;
	memcpy(id, st.id, NC_BACKUP_ID_HEX + 1);
	{
		char *mp = nc_xasprintf("%s/snapshots/%s", repo, st.id);
		struct stat mst;

		m->manifest = stat(mp, &mst) == 0 ? (uint64_t)mst.st_size : 0;
		free(mp);
	}
}

static bool restore(struct meas *m, const char *repo, const char *key, const char *id,
	const char *out, const unsigned char want[32])
{
	struct nc_backup_repo *r = repo_open(repo, key, false);
	struct nc_backup_restore_stats rs;
	struct nc_backup_sink sink;
	struct nc_err err = { "" };
	unsigned char got[32];
	double w, c;
	int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)opt.size) < 0)
		die("create %s: %s", out, strerror(errno));
	sink.write = sink_write;
	sink.zero = sink_zero;
	sink.ctx = &fd;
	sync();
	w = now();
	c = cpu_now();
	if (nc_backup_restore(&rs, r, id, &sink, &err) < 0)
		die("restore: %s", err.msg);
	m->wall = now() - w;
	m->cpu = cpu_now() - c;
	nc_backup_close(r);
	if (close(fd) < 0)
		die("close %s: %s", out, strerror(errno));
	m->bytes_read = rs.bytes_written;
	sha256_file(got, out);
	unlink(out);
	return memcmp(got, want, 32) == 0;
}

static bool same_chunks(const char *repo_a, const char *id_a, const char *repo_b,
	const char *id_b, const char *key)
{
	struct nc_backup_repo *ra = repo_open(repo_a, key, false), *rb = repo_open(repo_b, key, false);
	struct nc_backup_snapshot a, b;
	struct nc_err err = { "" };
	bool same;

	if (nc_backup_snapshot_load(&a, ra, id_a, &err) < 0 ||
	    nc_backup_snapshot_load(&b, rb, id_b, &err) < 0)
		die("load snapshot: %s", err.msg);
	same = a.nchunks == b.nchunks && memcmp(a.chunks, b.chunks, a.nchunks * 32) == 0 &&
		memcmp(a.bases, b.bases, a.nchunks * 32) == 0;
	nc_backup_snapshot_release(&a);
	nc_backup_snapshot_release(&b);
	nc_backup_close(ra);
	nc_backup_close(rb);
	return same;
}

static void print_meas(const char *mode, unsigned run, int step, const struct meas *m)
{
	printf("  %-5s %2u  %-10s %8.2f s %8.2f s", mode, run, step_name[step], m->wall, m->cpu);
	if (step == S_RESTORE) {
		printf("  %10.1f MiB written\n", (double)m->bytes_read / MiB);
		return;
	}
	printf("  %10.1f MiB %10.1f MiB  read %7.1f MiB  new %zu (delta %zu) reused %zu zero %zu"
		" unchanged %zu  manifest %.1f KiB\n",
		(double)m->apparent / MiB, (double)m->disk / MiB, (double)m->bytes_read / MiB,
		m->chunks_new, m->chunks_delta, m->chunks_reused, m->chunks_zero,
		m->chunks_unchanged, (double)m->manifest / 1024);
}

/* One run: full, both increments, restore.  false when a check failed. */
static bool one_run(struct meas m[NSTEPS], unsigned run, const char *key,
	const struct nc_backup_changes *ch, const unsigned char sha2[32])
{
	char *dir = nc_xasprintf("%s/run-%u-%s", work, run, key ? "enc" : "plain");
	char *ra = nc_xasprintf("%s/repo-a", dir), *rb = nc_xasprintf("%s/repo-b", dir);
	char *img1 = nc_xasprintf("%s/image-1", work), *img2 = nc_xasprintf("%s/image-2", work);
	char *out = nc_xasprintf("%s/restored", dir), *cmd;
	char full[NC_BACKUP_ID_HEX + 1], id_a[NC_BACKUP_ID_HEX + 1], id_b[NC_BACKUP_ID_HEX + 1];
	const char *mode = key ? "enc" : "plain";
	bool ok = true;
	int i;

	if (mkdir(dir, 0755) < 0)
		die("mkdir %s: %s", dir, strerror(errno));
	backup(&m[S_FULL], full, ra, key, true, img1, NULL, T0, NULL);
	cmd = nc_xasprintf("cp -al '%s' '%s'", ra, rb);
	run_cmd(cmd);
	free(cmd);
	backup(&m[S_READ], id_a, ra, key, false, img2, full, T0 + 86400, NULL);
	backup(&m[S_DIRTY], id_b, rb, key, false, img2, full, T0 + 86400, ch);
	if (!restore(&m[S_RESTORE], rb, key, id_b, out, sha2)) {
		fprintf(stderr, "nc-bench-backup: %s run %u: the restored image differs from image-2\n",
			mode, run);
		ok = false;
	}
	if (!same_chunks(ra, id_a, rb, id_b, key)) {
		fprintf(stderr, "nc-bench-backup: %s run %u: incr-read and incr-dirty differ\n",
			mode, run);
		ok = false;
	}
	for (i = 0; i < NSTEPS; i++)
		print_meas(mode, run, i, &m[i]);
	fflush(stdout);
	if (!opt.keep) {
		cmd = nc_xasprintf("rm -rf '%s'", dir);
		run_cmd(cmd);
		free(cmd);
	}
	free(dir);
	free(ra);
	free(rb);
	free(img1);
	free(img2);
	free(out);
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void summary(const char *mode, struct meas *all, unsigned runs)
{
	double *w = nc_xcalloc(runs, sizeof(double)), *c = nc_xcalloc(runs, sizeof(double));
	unsigned k;
	int i;

	for (i = 0; i < NSTEPS; i++) {
		for (k = 0; k < runs; k++) {
			w[k] = all[k * NSTEPS + i].wall;
			c[k] = all[k * NSTEPS + i].cpu;
		}
		qsort(w, runs, sizeof(double), cmp_double);
		qsort(c, runs, sizeof(double), cmp_double);
		printf("  %-5s %-10s %8.2f s %8.2f s %8.2f s %8.2f s", mode, step_name[i], w[0],
			w[runs / 2], c[0], c[runs / 2]);
		if (i == S_RESTORE)
			printf("\n");
		else
			printf("  %10.1f MiB %10.1f MiB\n", (double)all[i].apparent / MiB,
				(double)all[i].disk / MiB);
	}
	free(w);
	free(c);
}

static uint64_t parse_size(const char *s)
{
	char *e;
	unsigned long long v = strtoull(s, &e, 10);

	switch (*e) {
	case 'k': case 'K': v <<= 10; e++; break;
	case 'm': case 'M': v <<= 20; e++; break;
	case 'g': case 'G': v <<= 30; e++; break;
	default: break;
	}
	if (*e || !v)
		die("bad size '%s'", s);
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: nc-bench-backup [--size BYTES] [--dir DIR] [--runs N] "
		"[--threads N] [--chunk-size BYTES] [--level N] [--plain-only] [--keep] "
		"[--images-only]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct nc_backup_extent *ext;
	struct nc_backup_changes ch;
	struct meas *plain, *enc;
	struct statvfs vfs;
	unsigned char sha2[32], key[32];
	char *img1, *img2, *keyf, *cmd;
	size_t next, nblocks, i;
	uint64_t s = SEED ^ 0x1234, need;
	bool ok = true;
	unsigned k;
	double t;
	int a, fd;

	for (a = 1; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (strcmp(argv[a], "--keep") == 0)
			opt.keep = true;
		else if (strcmp(argv[a], "--images-only") == 0)
			opt.images_only = opt.keep = true;
		else if (strcmp(argv[a], "--plain-only") == 0)
			opt.plain_only = true;
		else if (!v)
			usage();
		else if (strcmp(argv[a], "--size") == 0 && ++a)
			opt.size = parse_size(v);
		else if (strcmp(argv[a], "--dir") == 0 && ++a)
			opt.dir = v;
		else if (strcmp(argv[a], "--runs") == 0 && ++a)
			opt.runs = (unsigned)atoi(v);
		else if (strcmp(argv[a], "--threads") == 0 && ++a)
			opt.threads = (unsigned)atoi(v);
		else if (strcmp(argv[a], "--chunk-size") == 0 && ++a)
			opt.chunk_size = (unsigned)parse_size(v);
		else if (strcmp(argv[a], "--level") == 0 && ++a)
			opt.level = atoi(v);
		else
			usage();
	}
	if (!opt.runs || opt.size < 64 * 1024)
		usage();
	/* two sparse images (60% data), a restore, repositories: ask for 4x */
	need = 4 * opt.size;
	if (statvfs(opt.dir, &vfs) < 0)
		die("%s: %s", opt.dir, strerror(errno));
	if ((uint64_t)vfs.f_bavail * vfs.f_frsize < need) {
		fprintf(stderr, "nc-bench-backup: %s has %.1f GiB free, want %.1f GiB\n", opt.dir,
			(double)vfs.f_bavail * vfs.f_frsize / (1024.0 * MiB),
			(double)need / (1024.0 * MiB));
		return 2;
	}
	snprintf(work, sizeof(work), "%s/nc-bench-backup.XXXXXX", opt.dir);
	if (!mkdtemp(work))
		die("mkdtemp %s: %s", work, strerror(errno));
	img1 = nc_xasprintf("%s/image-1", work);
	img2 = nc_xasprintf("%s/image-2", work);
	keyf = nc_xasprintf("%s/key", work);

	printf("nc-bench-backup: %s\n", work);
	t = now();
	make_image(img1, opt.size);
	make_image(img2, opt.size);
	ext = change_image(img2, opt.size, &next, &nblocks);
	ch.v = ext;
	ch.n = next;
	printf("  image-2: %zu of %llu blocks of 4 KiB changed (%zu extents); %.1f s\n", nblocks,
		(unsigned long long)(opt.size / BLOCK), next, now() - t);
	/* the changed extents, for bench/backup-peers.sh and curious readers */
	{
		char *p = nc_xasprintf("%s/changes", work);
		FILE *f = fopen(p, "w");

		if (!f)
			die("create %s: %s", p, strerror(errno));
		for (i = 0; i < next; i++)
			fprintf(f, "%llu %llu\n", (unsigned long long)ext[i].offset,
				(unsigned long long)ext[i].length);
		fclose(f);
		free(p);
	}
	if (opt.images_only) {
		printf("images left in %s\n", work);
		return 0;
	}
	fill_random(key, sizeof(key), &s);
	fd = open(keyf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, key, 32) != 32 || close(fd) < 0)
		die("write %s: %s", keyf, strerror(errno));
	sha256_file(sha2, img2);

	printf("  threads %u (0 = library default), chunk size %u (0 = default), zstd level %d "
		"(0 = default)\n\n", opt.threads, opt.chunk_size, opt.level);
	printf("  mode  run step             wall        CPU      stored    on disk\n");
	plain = nc_xcalloc(opt.runs * NSTEPS, sizeof(*plain));
	enc = nc_xcalloc(opt.runs * NSTEPS, sizeof(*enc));
	for (k = 0; k < opt.runs; k++) {
		ok &= one_run(plain + k * NSTEPS, k + 1, NULL, &ch, sha2);
		if (!opt.plain_only)
			ok &= one_run(enc + k * NSTEPS, k + 1, keyf, &ch, sha2);
	}
	printf("\n  %u run(s)      wall best   median   CPU best   median      stored    on disk\n",
		opt.runs);
	summary("plain", plain, opt.runs);
	if (!opt.plain_only)
		summary("enc", enc, opt.runs);
	printf("  restores: %s\n", ok ? "identical to image-2 (SHA-256)" : "FAILED");
	if (opt.keep) {
		printf("kept %s\n", work);
	} else {
		cmd = nc_xasprintf("rm -rf '%s'", work);
		run_cmd(cmd);
		free(cmd);
	}
	free(plain);
	free(enc);
	free(ext);
	free(img1);
	free(img2);
	free(keyf);
	return ok ? 0 : 1;
}
