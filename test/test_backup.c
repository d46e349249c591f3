/*
 * test_backup.c - tests for the backup repository (drivers/backup/, the engine in
 * object.c, repo.c, manifest.c, write.c, restore.c, check.c and prune.c) on the
 * directory target (drivers/backup/target-dir.c), with real files in a temporary
 * directory: round trips compared byte for byte, increments from changed
 * extents, dedup, encryption (no plaintext on disk, wrong key, tampering),
 * an interrupted backup, retention and prune; the same ids, stats and
 * objects with 1, 2 and 8 workers; delta chunks (increments that store
 * only the changed 4 KiB blocks of a chunk, on the parent's chunk).
 *
 * NC_BACKUP_FIGURES=1 prints the stored bytes and times of the 32 MiB
 * full and 1% incremental backups to stderr.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <zstd.h>

#include "../drivers/backup/backup.h"
#include "../spec/util.h"
#include "tests.h"
#include "testutil.h"

Suite *nc_suite_backup(void);

#define MiB (1024u * 1024)
#define BIG_SIZE (32 * MiB)
#define T2024 1704067200LL            /* 2024-01-01 00:00:00 UTC, a Monday */

static char root[PATH_MAX];

static void setup(void)
{
	char tmpl[] = "/tmp/nc-backup-XXXXXX";

	ck_assert_msg(mkdtemp(tmpl) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(root, sizeof(root), "%s", tmpl);
}

static void teardown(void)
{
	char *cmd = nc_xasprintf("rm -rf '%s'", root);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	free(cmd);
}

static char *in_root(const char *name)
{
	return nc_xasprintf("%s/%s", root, name);
}

/* ---- deterministic data ---- */

#define make_image(size, seed) nc_test_image((size), (seed), 4, "NovaCron backs up this line of repetitive text. ")

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(fwrite(data, 1, len, f) == len);
	ck_assert(fclose(f) == 0);
	ck_assert(chmod(path, 0600) == 0);        /* key files must be the owner's only */
}

static unsigned char *read_all(const char *path, size_t *len)
{
	char *data;

	ck_assert_msg(nc_read_file(path, (size_t)1 << 30, &data, len) == 0, "read %s", path);
	return (unsigned char *)data;
}

/* ---- source and sink on files ---- */

struct fctx {
	int fd;
	long fail_after;     /* reads before a simulated failure; -1 never */
	long reads;
};

static int src_read(void *ctx, uint64_t off, void *buf, size_t len, struct nc_err *err)
{
	struct fctx *c = ctx;
	size_t done = 0;

	if (c->fail_after >= 0 && c->reads >= c->fail_after) {
		nc_err_set(err, "simulated read failure at offset %llu", (unsigned long long)off);
		return -1;
	}
	c->reads++;
	while (done < len) {
		ssize_t n = pread(c->fd, (char *)buf + done, len - done, (off_t)(off + done));

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
	struct fctx *c = ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(c->fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			nc_err_set(err, "pwrite: %s", strerror(errno));
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* The restored file was truncated to its size: holes already read as zeros. */
static int sink_zero(void *ctx, uint64_t off, uint64_t len, struct nc_err *err)
{
	(void)ctx;
	(void)off;
	(void)len;
	(void)err;
	return 0;
}

static int backup_path(struct nc_backup_stats *st, struct nc_backup_repo *r, const char *path,
	const struct nc_backup_meta *m, const struct nc_backup_changes *ch, long fail_after,
	struct nc_err *err)
{
	struct fctx c = { .fd = open(path, O_RDONLY), .fail_after = fail_after };
	struct nc_backup_source src = { .read = src_read, .ctx = &c };
	int rc;

	ck_assert_msg(c.fd >= 0, "%s: %s", path, strerror(errno));
	rc = nc_backup_write(st, r, m, &src, ch, err);
	close(c.fd);
	return rc;
}

static void backup_ok(struct nc_backup_stats *st, struct nc_backup_repo *r, const char *path,
	const struct nc_backup_meta *m, const struct nc_backup_changes *ch)
{
	struct nc_err err = { "" };

	ck_assert_msg(backup_path(st, r, path, m, ch, -1, &err) == 0, "backup: %s", err.msg);
}

/* Restores id into a new file and compares it with want. */
static void restore_cmp(struct nc_backup_repo *r, const char *id, const unsigned char *want,
	size_t want_len, bool sparse)
{
	char *out = in_root("restored.img");
	struct fctx c = { .fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644) };
	struct nc_backup_sink sink = { sink_write, sparse ? sink_zero : NULL, &c };
	struct nc_backup_restore_stats rs;
	struct nc_err err = { "" };
	unsigned char *got;
	size_t got_len;

	ck_assert(c.fd >= 0);
	ck_assert(ftruncate(c.fd, (off_t)want_len) == 0);
	ck_assert_msg(nc_backup_restore(&rs, r, id, &sink, &err) == 0, "restore: %s", err.msg);
	close(c.fd);
	ck_assert_uint_eq(rs.bytes_written, want_len);
	got = read_all(out, &got_len);
	ck_assert_uint_eq(got_len, want_len);
	ck_assert_msg(memcmp(got, want, want_len) == 0, "restored image differs");
	free(got);
	unlink(out);
	free(out);
}

static struct nc_backup_repo *repo_create(const char *name, const char *key_file)
{
	struct nc_backup_repo_opts o = { .key_file = key_file };
	struct nc_backup_repo *r;
	struct nc_err err = { "" };
	char *dir = in_root(name);

	ck_assert_msg(nc_backup_create_dir(&r, dir, &o, &err) == 0, "create: %s", err.msg);
	free(dir);
	return r;
}

static void check_clean(struct nc_backup_repo *r, size_t *unreferenced)
{
	struct nc_backup_check_opts o = { .read_data = true };
	struct nc_backup_check_report c;
	struct nc_err err = { "" };

	ck_assert_msg(nc_backup_check(&c, r, &o, &err) == 0, "check: %s", err.msg);
	ck_assert_msg(c.nproblems == 0, "check: %s", c.nproblems ? c.problems[0] : "");
	if (unreferenced)
		*unreferenced = c.chunks_unreferenced;
	nc_backup_check_report_release(&c);
}

static size_t count_chunk_files(const char *repo)
{
	char *cmd = nc_xasprintf("find '%s/%s/chunks' -type f ! -name '.tmp-*' | wc -l", root, repo);
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	ck_assert(p != NULL);
	ck_assert(fscanf(p, "%zu", &n) == 1);
	pclose(p);
	free(cmd);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- tests ---- */

START_TEST(test_full_and_incremental)
{
	const size_t size = BIG_SIZE, cs = NC_BACKUP_DEFAULT_CHUNK, nblocks = size / 4096;
	unsigned char *img = make_image(size, 42), *img2;
	char *path = in_root("disk.img"), *path2 = in_root("disk2.img");
	struct nc_backup_repo *r = repo_create("repo", NULL);
	struct nc_backup_meta m = { "web1", "vda", size, T2024, true, NULL, "nc-1704067200-1" };
	struct nc_backup_extent ext[BIG_SIZE / 4096 / 100];
	struct nc_backup_changes ch = { ext, NC_ARRAY_SIZE(ext) };
	struct nc_backup_stats full, inc, inc2;
	struct nc_backup_snapshot snap;
	struct nc_err err = { "" };
	bool dirty[BIG_SIZE / NC_BACKUP_DEFAULT_CHUNK];
	char prefix[9];
	uint64_t s = 7, bound = 0;
	double t0, t_full, t_inc, t_restore;
	size_t i, ndirty = 0;

	write_file(path, img, size);
	t0 = now_s();
	backup_ok(&full, r, path, &m, NULL);
	t_full = now_s() - t0;
	ck_assert_uint_eq(full.chunks, size / cs);
	ck_assert_uint_eq(full.chunks_new + full.chunks_reused + full.chunks_zero, full.chunks);
	ck_assert_uint_eq(full.bytes_read, size);
	ck_assert(full.chunks_zero > 0);
	ck_assert(full.chunks_reused > 0);          /* repetitive text repeats whole chunks */
	ck_assert(full.bytes_stored < size);
	ck_assert_uint_eq(count_chunk_files("repo"), full.chunks_new);
	t0 = now_s();
	restore_cmp(r, full.id, img, size, false);
	t_restore = now_s() - t0;
	restore_cmp(r, full.id, img, size, true);

	/* change 1% of the 4 KiB blocks at random */
	img2 = nc_xmalloc(size);
	memcpy(img2, img, size);
	memset(dirty, 0, sizeof(dirty));
	for (i = 0; i < NC_ARRAY_SIZE(ext); i++) {
		size_t b = (size_t)(nc_test_rng(&s) % nblocks);

		nc_test_fill_random(img2 + b * 4096, 4096, &s);
		ext[i].offset = (uint64_t)b * 4096;
		ext[i].length = 4096;
		if (!dirty[b * 4096 / cs])
			ndirty++;
		dirty[b * 4096 / cs] = true;
	}
	for (i = 0; i < NC_ARRAY_SIZE(dirty); i++) {
		size_t zcap = ZSTD_compressBound(cs), z;
		unsigned char *zb;

		if (!dirty[i])
			continue;
		zb = nc_xmalloc(zcap);
		z = ZSTD_compress(zb, zcap, img2 + i * cs, cs, 3);
		ck_assert(!ZSTD_isError(z));
		bound += 1 + (z < cs ? z : cs);
		free(zb);
	}
	write_file(path2, img2, size);
	m.parent = full.id;
	m.time = T2024 + 86400;
	t0 = now_s();
	backup_ok(&inc, r, path2, &m, &ch);
	t_inc = now_s() - t0;
	ck_assert_uint_eq(inc.chunks_unchanged, size / cs - ndirty);
	ck_assert_uint_eq(inc.bytes_read, ndirty * cs);
	ck_assert_msg(inc.bytes_stored < 2 * bound, "increment stored %llu, bound 2 x %llu",
		(unsigned long long)inc.bytes_stored, (unsigned long long)bound);
	ck_assert(inc.chunks_new <= ndirty);
	restore_cmp(r, inc.id, img2, size, false);
	restore_cmp(r, full.id, img, size, true);

	/* reading everything gives the same snapshot (same manifest, same id) and stores nothing new */
	backup_ok(&inc2, r, path2, &m, NULL);
	ck_assert_str_eq(inc2.id, inc.id);
	ck_assert_uint_eq(inc2.chunks_new, 0);

	/* the manifest records what it was given; prefixes resolve */
	snprintf(prefix, sizeof(prefix), "%.8s", inc.id);
	ck_assert_msg(nc_backup_snapshot_load(&snap, r, prefix, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(snap.id, inc.id);
	ck_assert_str_eq(snap.vm, "web1");
	ck_assert_str_eq(snap.disk, "vda");
	ck_assert_str_eq(snap.parent, full.id);
	ck_assert(snap.quiesced);
	ck_assert_str_eq(snap.checkpoint, "nc-1704067200-1");
	ck_assert_int_eq(snap.time, T2024 + 86400);
	ck_assert_uint_eq(snap.disk_size, size);
	nc_backup_snapshot_release(&snap);
	check_clean(r, NULL);

	if (getenv("NC_BACKUP_FIGURES"))
		fprintf(stderr, "backup 32 MiB: full stored %llu bytes (%zu new, %zu reused, %zu zero "
			"chunks) in %.3f s; restore %.3f s; 1%% increment (%zu chunks read) stored "
			"%llu bytes (%zu new chunks; bound 2 x %llu) in %.3f s\n",
			(unsigned long long)full.bytes_stored, full.chunks_new, full.chunks_reused,
			full.chunks_zero, t_full, t_restore, ndirty,
			(unsigned long long)inc.bytes_stored, inc.chunks_new,
			(unsigned long long)bound, t_inc);
	nc_backup_close(r);
	free(img);
	free(img2);
	free(path);
	free(path2);
}
END_TEST

START_TEST(test_bad_arguments)
{
	const size_t size = MiB;
	unsigned char *img = make_image(size, 3);
	char *path = in_root("disk.img"), *dir = in_root("repo");
	struct nc_backup_repo *r = repo_create("repo", NULL), *r2;
	struct nc_backup_repo_opts o = { .chunk_size = 5000 };
	struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_extent ext = { size - 4096, 8192 };
	struct nc_backup_changes ch = { &ext, 1 };
	struct nc_backup_stats st, st2;
	struct nc_err err = { "" };

	write_file(path, img, size);
	ck_assert_int_lt(nc_backup_create_dir(&r2, dir, NULL, &err), 0);
	ck_assert_msg(strstr(err.msg, "already exists"), "%s", err.msg);
	free(dir);
	dir = in_root("other");
	ck_assert_int_lt(nc_backup_create_dir(&r2, dir, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "multiple of 4096"), "%s", err.msg);
	ck_assert_int_lt(nc_backup_open_dir(&r2, dir, NULL, &err), 0);
	ck_assert_msg(strstr(err.msg, "not a backup repository"), "%s", err.msg);

	ck_assert_int_lt(backup_path(&st, r, path, &m, &ch, -1, &err), 0);
	ck_assert_msg(strstr(err.msg, "need a parent"), "%s", err.msg);
	m.vm = "bad name";
	ck_assert_int_lt(backup_path(&st, r, path, &m, NULL, -1, &err), 0);
	m.vm = "vm";
	backup_ok(&st, r, path, &m, NULL);
	m.parent = st.id;
	ck_assert_int_lt(backup_path(&st2, r, path, &m, &ch, -1, &err), 0);
	ck_assert_msg(strstr(err.msg, "outside the disk"), "%s", err.msg);
	m.disk = "vdb";
	ck_assert_int_lt(backup_path(&st2, r, path, &m, NULL, -1, &err), 0);
	ck_assert_msg(strstr(err.msg, "is of vm/vda"), "%s", err.msg);
	m.disk = "vda";
	m.parent = "zz";
	ck_assert_int_lt(backup_path(&st2, r, path, &m, NULL, -1, &err), 0);
	m.parent = "0000";
	ck_assert_int_lt(backup_path(&st2, r, path, &m, NULL, -1, &err), 0);
	ck_assert_msg(strstr(err.msg, "does not exist"), "%s", err.msg);
	nc_backup_close(r);
	free(img);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_dedup_identical_images)
{
	const size_t size = 8 * MiB;
	unsigned char *img = make_image(size, 99);
	char *path = in_root("disk.img");
	struct nc_backup_repo *r = repo_create("repo", NULL);
	struct nc_backup_meta m = { "db1", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_stats a, b;
	size_t files;

	write_file(path, img, size);
	backup_ok(&a, r, path, &m, NULL);
	files = count_chunk_files("repo");
	ck_assert_uint_eq(files, a.chunks_new);
	m.vm = "db2";                                  /* a clone of the same image */
	backup_ok(&b, r, path, &m, NULL);
	ck_assert_str_ne(a.id, b.id);
	ck_assert_uint_eq(b.chunks_new, 0);
	ck_assert_uint_eq(b.chunks_reused, a.chunks_new + a.chunks_reused);
	ck_assert(b.bytes_stored < 4096);              /* the manifest alone */
	ck_assert_uint_eq(count_chunk_files("repo"), files);
	restore_cmp(r, b.id, img, size, false);
	check_clean(r, NULL);
	nc_backup_close(r);
	free(img);
	free(path);
}
END_TEST

/* Ids, manifests, stats and stored objects do not depend on the number of workers. */
static void backup_threads(struct nc_backup_stats st[3], const char *repo, const char *key,
	unsigned threads, const char *path, const char *path2, const struct nc_backup_changes *ch)
{
	struct nc_backup_repo_opts o = { .key_file = key, .threads = threads };
	struct nc_backup_meta m = { "vm", "vda", 8 * MiB, T2024, false, NULL, NULL };
	struct nc_backup_repo *r;
	struct nc_err err = { "" };
	char *dir = in_root(repo);

	ck_assert_msg(nc_backup_create_dir(&r, dir, &o, &err) == 0, "create: %s", err.msg);
	backup_ok(&st[0], r, path, &m, NULL);
	m.parent = st[0].id;
	m.time += 3600;
	backup_ok(&st[1], r, path2, &m, NULL);
	m.time += 3600;
	backup_ok(&st[2], r, path2, &m, ch);
	check_clean(r, NULL);
	nc_backup_close(r);
	free(dir);
}

static char *chunk_listing(const char *repo)
{
	char *cmd = nc_xasprintf("cd '%s/%s/chunks' && find . -type f -printf '%%p %%s\\n' | sort",
		root, repo);
	struct nc_buf b = NC_BUF_INIT;
	char line[256];
	FILE *p = popen(cmd, "r");

	ck_assert(p != NULL);
	while (fgets(line, sizeof(line), p))
		nc_buf_adds(&b, line);
	pclose(p);
	free(cmd);
	return nc_buf_detach(&b, NULL);
}

START_TEST(test_threads_deterministic)
{
	const size_t size = 8 * MiB;
	static const unsigned nth[] = { 1, 2, 8 };
	unsigned char *img = make_image(size, 42), *img2;
	char *path = in_root("disk.img"), *path2 = in_root("disk2.img"), *key = in_root("key");
	struct nc_backup_extent ext[2] = { { 5 * 4096, 4096 }, { 6 * MiB, 3 * 4096 } };
	struct nc_backup_changes ch = { ext, 2 };
	struct nc_backup_stats st[2][3][3];
	char *list0 = NULL;
	size_t e, i, k;
	uint64_t s = 9;

	/* the second half repeats the first: equal chunks close together, in flight at once */
	memcpy(img + size / 2, img, size / 2);
	write_file(path, img, size);
	img2 = nc_xmalloc(size);
	memcpy(img2, img, size);
	nc_test_fill_random(img2 + ext[0].offset, ext[0].length, &s);
	nc_test_fill_random(img2 + ext[1].offset, ext[1].length, &s);
	write_file(path2, img2, size);
	write_file(key, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65);
	for (e = 0; e < 2; e++) {
		for (k = 0; k < 3; k++) {
			char *repo = nc_xasprintf("repo-%zu-%u", e, nth[k]);

			backup_threads(st[e][k], repo, e ? key : NULL, nth[k], path, path2, &ch);
			if (!e) {
				char *list = chunk_listing(repo);

				if (!list0)
					list0 = list;
				else {
					ck_assert_str_eq(list, list0);
					free(list);
				}
			}
			free(repo);
		}
		for (k = 1; k < 3; k++) {
			for (i = 0; i < 3; i++) {
				struct nc_backup_stats *a = &st[e][0][i], *b = &st[e][k][i];

				ck_assert_str_eq(a->id, b->id);
				ck_assert_uint_eq(a->chunks_new, b->chunks_new);
				ck_assert_uint_eq(a->chunks_reused, b->chunks_reused);
				ck_assert_uint_eq(a->chunks_zero, b->chunks_zero);
				ck_assert_uint_eq(a->chunks_unchanged, b->chunks_unchanged);
				ck_assert_uint_eq(a->chunks_delta, b->chunks_delta);
				ck_assert_uint_eq(a->bytes_read, b->bytes_read);
				ck_assert_uint_eq(a->bytes_stored, b->bytes_stored);
			}
		}
		ck_assert_uint_gt(st[e][0][0].chunks_reused, 0);   /* the repeated half */
		/* the increment's two changed chunks are deltas on the parent's */
		ck_assert_uint_eq(st[e][0][1].chunks_new, 2);
		ck_assert_uint_eq(st[e][0][1].chunks_delta, 2);
	}
	free(list0);
	free(img);
	free(img2);
	free(path);
	free(path2);
	free(key);
}
END_TEST

/* Odd sizes: a disk that is not a multiple of the chunk size, and an empty one. */
/*
 * A source that also reports zero extents (4 KiB blocks of the image that
 * are all zero, merged) and takes runs of chunks: the same snapshot as
 * reading chunk by chunk, with fewer bytes read, reads in offset order and
 * never larger than max_read.
 */
struct zsrc {
	struct fctx f;
	const unsigned char *img;
	size_t size;
	size_t max_len;
	uint64_t next_off;           /* reads come in offset order */
	bool ordered;
	long zero_calls;
	long batches;
	size_t max_batch;
};

static int zsrc_read(void *ctx, uint64_t off, void *buf, size_t len, struct nc_err *err)
{
	struct zsrc *z = ctx;

	if (off < z->next_off)
		z->ordered = false;
	z->next_off = off + len;
	if (len > z->max_len)
		z->max_len = len;
	return src_read(&z->f, off, buf, len, err);
}

static int zsrc_batch(void *ctx, const struct nc_backup_read *v, size_t n, struct nc_err *err)
{
	struct zsrc *z = ctx;
	uint64_t total = 0;
	size_t i;

	z->batches++;
	if (n > z->max_batch)
		z->max_batch = n;
	for (i = 0; i < n; i++) {
		total += v[i].len;
		if (i && v[i].offset < v[i - 1].offset + v[i - 1].len)
			z->ordered = false;
		if (zsrc_read(ctx, v[i].offset, v[i].buf, v[i].len, err) < 0)
			return -1;
	}
	ck_assert_uint_le(total, MiB + 1000);
	return 0;
}

static int zsrc_zeros(void *ctx, uint64_t off, uint64_t len, struct nc_backup_extent **out,
	size_t *out_n, struct nc_err *err)
{
	struct zsrc *z = ctx;
	struct nc_backup_extent *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t b;

	(void)err;
	z->zero_calls++;
	ck_assert(off + len <= z->size);
	for (b = off - off % 4096; b < off + len; b += 4096) {
		size_t bl = z->size - b < 4096 ? z->size - b : 4096;
		size_t i;

		for (i = 0; i < bl && !z->img[b + i]; i++)
			;
		if (i < bl)
			continue;
		if (n && v[n - 1].offset + v[n - 1].length == b) {
			v[n - 1].length += bl;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = nc_xreallocarray(v, cap, sizeof(*v));
		}
		v[n].offset = b;
		v[n].length = bl;
		n++;
	}
	*out = v;
	*out_n = n;
	return 0;
}

START_TEST(test_source_zeros_and_runs)
{
	size_t size = 5 * MiB + 12345;
	unsigned char *img = make_image(size, 11);
	char *path = in_root("zdisk.img");
	struct nc_backup_repo *r1 = repo_create("zrepo1", NULL), *r2 = repo_create("zrepo2", NULL);
	struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_extent ext[2] = { { 100, 5000 }, { 3 * MiB + 7, 300000 } };
	struct nc_backup_changes ch = { ext, 2 };
	struct nc_backup_stats a, b, a2, b2;
	struct nc_err err = { "" };
	struct zsrc z = { .img = img, .size = size, .ordered = true };
	struct nc_backup_source src = { .read = zsrc_read, .ctx = &z, .zeros = zsrc_zeros,
					.max_read = MiB + 1000 };
	uint64_t s = 5;

	memset(img + MiB, 0, 2 * NC_BACKUP_DEFAULT_CHUNK + 4096);     /* zero chunks for sure */
	memset(img + size - 12345, 0, 12345);                          /* a zero short last chunk */
	write_file(path, img, size);
	backup_ok(&a, r1, path, &m, NULL);
	z.f.fd = open(path, O_RDONLY);
	z.f.fail_after = -1;
	ck_assert(z.f.fd >= 0);
	ck_assert_msg(nc_backup_write(&b, r2, &m, &src, NULL, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(a.id, b.id);
	ck_assert_uint_eq(a.chunks_zero, b.chunks_zero);
	ck_assert_uint_ge(a.chunks_zero, 3);
	ck_assert_uint_eq(a.chunks_new, b.chunks_new);
	ck_assert_uint_eq(a.bytes_stored, b.bytes_stored);
	ck_assert_uint_eq(a.bytes_read, size);
	ck_assert_uint_le(b.bytes_read + 3 * NC_BACKUP_DEFAULT_CHUNK, size);
	ck_assert(z.ordered);
	ck_assert_uint_eq(z.max_len, MiB);        /* whole chunks, up to max_read */
	ck_assert_int_lt(z.f.reads, 16);
	ck_assert_int_eq(z.zero_calls, 1);
	restore_cmp(r2, b.id, img, size, false);

	/* an increment from changed extents: the same too */
	nc_test_fill_random(img + ext[0].offset, ext[0].length, &s);
	nc_test_fill_random(img + ext[1].offset, ext[1].length, &s);
	write_file(path, img, size);
	m.parent = a.id;
	m.time++;
	backup_ok(&a2, r1, path, &m, &ch);
	z.next_off = 0;
	z.f.reads = 0;
	src.read_batch = zsrc_batch;         /* the two changed runs, apart: one call */
	ck_assert_msg(nc_backup_write(&b2, r2, &m, &src, &ch, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(a2.id, b2.id);
	ck_assert_uint_eq(a2.chunks_unchanged, b2.chunks_unchanged);
	ck_assert_uint_eq(a2.chunks_delta, b2.chunks_delta);
	ck_assert(z.ordered);
	ck_assert_int_eq(z.batches, 1);
	ck_assert_uint_eq(z.max_batch, 2);
	ck_assert_int_eq(z.f.reads, 2);
	restore_cmp(r2, b2.id, img, size, false);

	/* a read failing midway: the backup fails with the source's message, no snapshot */
	z.next_off = 0;
	z.f.reads = 0;
	z.f.fail_after = 2;
	m.parent = NULL;
	m.time++;
	ck_assert_int_lt(nc_backup_write(&b2, r2, &m, &src, NULL, &err), 0);
	ck_assert_msg(strstr(err.msg, "simulated read failure"), "%s", err.msg);
	{
		struct nc_backup_snapshot *v;
		size_t n;

		ck_assert_int_eq(nc_backup_list(&v, &n, r2, &err), 0);
		ck_assert_uint_eq(n, 2);
		nc_backup_snapshots_free(v, n);
	}
	close(z.f.fd);
	nc_backup_close(r1);
	nc_backup_close(r2);
	free(img);
	free(path);
}
END_TEST

START_TEST(test_partial_last_chunk)
{
	const size_t size = MiB + 12345;
	unsigned char *img = make_image(size, 5);
	char *path = in_root("disk.img");
	struct nc_backup_repo *r = repo_create("repo", NULL);
	struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_extent ext = { size - 100, 100 };
	struct nc_backup_changes ch = { &ext, 1 };
	struct nc_backup_stats st, st2;

	memset(img + size - 100, 'x', 100);
	write_file(path, img, size);
	backup_ok(&st, r, path, &m, NULL);
	ck_assert_uint_eq(st.chunks, MiB / NC_BACKUP_DEFAULT_CHUNK + 1);
	restore_cmp(r, st.id, img, size, false);
	memset(img + size - 100, 'y', 100);
	write_file(path, img, size);
	m.parent = st.id;
	m.time++;
	backup_ok(&st2, r, path, &m, &ch);
	ck_assert_uint_eq(st2.chunks_unchanged, st2.chunks - 1);
	ck_assert_uint_eq(st2.bytes_read, 12345);
	restore_cmp(r, st2.id, img, size, false);

	write_file(path, "", 0);                       /* an empty disk */
	m.disk_size = 0;
	m.parent = NULL;
	backup_ok(&st, r, path, &m, NULL);
	ck_assert_uint_eq(st.chunks, 0);
	restore_cmp(r, st.id, img, 0, false);
	nc_backup_close(r);
	free(img);
	free(path);
}
END_TEST

START_TEST(test_encrypted)
{
	const size_t size = 4 * MiB;
	unsigned char *img = make_image(size, 11), *raw;
	char *path = in_root("disk.img"), *key = in_root("key"), *key2 = in_root("key2");
	char *key3 = in_root("key3"), *dir = in_root("repo"), *cmd, hex[65];
	unsigned char sha[32];
	struct nc_backup_repo *r, *r2;
	struct nc_backup_repo_opts o = { .key_file = key };
	struct nc_backup_meta m = { "secret-vm", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_stats st;
	struct nc_err err = { "" };
	size_t i, rawlen;

	/* a recognisable plaintext in the middle */
	for (i = 0; i < 65536; i++)
		img[MiB + i] = (unsigned char)"PLAINTEXT-MARKER-"[i % 17];
	write_file(path, img, size);
	write_file(key, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65);
	write_file(key2, "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", 64);
	write_file(key3, "short", 5);
	r = repo_create("repo", key);
	ck_assert(nc_backup_encrypted(r));
	backup_ok(&st, r, path, &m, NULL);
	ck_assert(st.chunks_new > 0);
	restore_cmp(r, st.id, img, size, false);
	nc_backup_close(r);

	/* nothing readable on disk: no plaintext, no VM name, no plain SHA-256 ids */
	cmd = nc_xasprintf("grep -rqa -e PLAINTEXT-MARKER -e secret-vm '%s'", dir);
	ck_assert_int_ne(system(cmd), 0);
	free(cmd);
	SHA256(img + MiB, 65536, sha);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
	cmd = nc_xasprintf("%s/chunks/%.2s/%s", dir, hex, hex);
	ck_assert_int_ne(access(cmd, F_OK), 0);
	free(cmd);

	/* keys: none, wrong, malformed */
	ck_assert_int_lt(nc_backup_open_dir(&r2, dir, NULL, &err), 0);
	ck_assert_msg(strstr(err.msg, "encrypted"), "%s", err.msg);
	o.key_file = key2;
	ck_assert_int_lt(nc_backup_open_dir(&r2, dir, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "wrong key"), "%s", err.msg);
	o.key_file = key3;
	ck_assert_int_lt(nc_backup_open_dir(&r2, dir, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "64 hex digits"), "%s", err.msg);

	/* the same key as 32 raw bytes opens it */
	{
		unsigned char k[32];

		for (i = 0; i < 32; i++)
			k[i] = (unsigned char)(0x00 + 0x11 * (i % 16));
		write_file(key3, k, 32);
	}
	o.key_file = key3;
	ck_assert_msg(nc_backup_open_dir(&r, dir, &o, &err) == 0, "%s", err.msg);
	restore_cmp(r, st.id, img, size, true);
	check_clean(r, NULL);

	/* flip one byte of one chunk: restore and check both notice */
	cmd = nc_xasprintf("find '%s/chunks' -type f | sort | head -n 1", dir);
	{
		FILE *p = popen(cmd, "r");
		char victim[PATH_MAX];
		struct nc_backup_check_opts co = { .read_data = true };
		struct nc_backup_check_report c;
		struct fctx sc = { .fd = -1 };
		struct nc_backup_sink sink;
		struct nc_backup_restore_stats rs;

		ck_assert(p && fgets(victim, sizeof(victim), p));
		pclose(p);
		victim[strcspn(victim, "\n")] = '\0';
		raw = read_all(victim, &rawlen);
		raw[rawlen / 2] ^= 0x01;
		write_file(victim, raw, rawlen);
		free(raw);

		sc.fd = open("/dev/null", O_WRONLY);
		sink.write = sink_write;
		sink.zero = NULL;
		sink.ctx = &sc;
		ck_assert_int_lt(nc_backup_restore(&rs, r, st.id, &sink, &err), 0);
		close(sc.fd);
		ck_assert_msg(strstr(err.msg, "authentication failed"), "%s", err.msg);
		ck_assert_int_eq(nc_backup_check(&c, r, &co, &err), 0);
		ck_assert_uint_eq(c.chunks_corrupt, 1);
		ck_assert_uint_eq(c.nproblems, 1);
		ck_assert_msg(strstr(c.problems[0], "authentication failed"), "%s", c.problems[0]);
		nc_backup_check_report_release(&c);
	}
	free(cmd);
	nc_backup_close(r);
	free(img);
	free(path);
	free(key);
	free(key2);
	free(key3);
	free(dir);
}
END_TEST

/* Unencrypted: a flipped byte is caught by the id; a missing chunk by check. */
START_TEST(test_tamper_plain)
{
	const size_t size = 2 * MiB;
	unsigned char *img = nc_xmalloc(size), *raw;
	char *path = in_root("disk.img"), *victim, hex[65];
	struct nc_backup_repo *r = repo_create("repo", NULL);
	struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_check_opts co = { .read_data = true };
	struct nc_backup_check_report c;
	struct nc_backup_restore_stats rs;
	struct fctx sc;
	struct nc_backup_sink sink = { sink_write, NULL, &sc };
	struct nc_backup_stats st;
	struct nc_err err = { "" };
	unsigned char sha[32];
	uint64_t s = 1234;
	size_t rawlen, i;

	nc_test_fill_random(img, size, &s);                    /* incompressible: stored raw */
	write_file(path, img, size);
	backup_ok(&st, r, path, &m, NULL);
	SHA256(img, NC_BACKUP_DEFAULT_CHUNK, sha);     /* ids are plain SHA-256 here */
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
	victim = nc_xasprintf("%s/repo/chunks/%.2s/%s", root, hex, hex);
	raw = read_all(victim, &rawlen);
	ck_assert_uint_eq(rawlen, 1 + NC_BACKUP_DEFAULT_CHUNK);
	ck_assert_int_eq(raw[0], 0);
	raw[100] ^= 0x80;
	write_file(victim, raw, rawlen);
	free(raw);
	sc.fd = open("/dev/null", O_WRONLY);
	ck_assert_int_lt(nc_backup_restore(&rs, r, st.id, &sink, &err), 0);
	close(sc.fd);
	ck_assert_msg(strstr(err.msg, "do not match") && strstr(err.msg, "chunk 0 "), "%s", err.msg);
	unlink(victim);
	ck_assert_int_eq(nc_backup_check(&c, r, &co, &err), 0);
	ck_assert_uint_eq(c.chunks_missing, 1);
	ck_assert_msg(c.nproblems == 1 && strstr(c.problems[0], "missing"), "%s",
		c.nproblems ? c.problems[0] : "");
	nc_backup_check_report_release(&c);
	nc_backup_close(r);
	free(victim);
	free(img);
	free(path);
}
END_TEST

START_TEST(test_interrupted)
{
	const size_t size = 4 * MiB;
	unsigned char *img = make_image(size, 21), *img2;
	char *path = in_root("disk.img"), *path2 = in_root("disk2.img");
	struct nc_backup_repo *r = repo_create("repo", NULL);
	struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_retention keep = { .keep_last = 5 };
	struct nc_backup_prune_report pr;
	struct nc_backup_snapshot *v;
	struct nc_backup_stats st, st2;
	struct nc_err err = { "" };
	size_t n, before, orphans;
	uint64_t s = 77;

	write_file(path, img, size);
	backup_ok(&st, r, path, &m, NULL);
	before = count_chunk_files("repo");
	img2 = nc_xmalloc(size);
	nc_test_fill_random(img2, size, &s);
	write_file(path2, img2, size);
	m.time += 3600;
	ck_assert_int_lt(backup_path(&st2, r, path2, &m, NULL, 30, &err), 0);
	ck_assert_msg(strstr(err.msg, "simulated read failure"), "%s", err.msg);
	ck_assert_uint_eq(count_chunk_files("repo"), before + 30);

	ck_assert_int_eq(nc_backup_list(&v, &n, r, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].id, st.id);
	nc_backup_snapshots_free(v, n);
	check_clean(r, &orphans);
	ck_assert_uint_eq(orphans, 30);

	ck_assert_msg(nc_backup_prune(&pr, r, &keep, true, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(pr.chunks_deleted, 30);
	ck_assert_uint_eq(count_chunk_files("repo"), before + 30);   /* dry run */
	nc_backup_prune_report_release(&pr);
	ck_assert_msg(nc_backup_prune(&pr, r, &keep, false, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(pr.nremoved, 0);
	ck_assert_uint_eq(pr.kept, 1);
	ck_assert_uint_eq(pr.chunks_deleted, 30);
	nc_backup_prune_report_release(&pr);
	ck_assert_uint_eq(count_chunk_files("repo"), before);
	check_clean(r, &orphans);
	ck_assert_uint_eq(orphans, 0);
	restore_cmp(r, st.id, img, size, false);

	/* the retried backup completes */
	backup_ok(&st2, r, path2, &m, NULL);
	restore_cmp(r, st2.id, img2, size, false);
	nc_backup_close(r);
	free(img);
	free(img2);
	free(path);
	free(path2);
}
END_TEST

/* Each snapshot a distinct 64 KiB disk: one chunk of its own. */
static void tiny_backup(struct nc_backup_stats *st, struct nc_backup_repo *r, const char *vm,
	int64_t t)
{
	unsigned char img[NC_BACKUP_DEFAULT_CHUNK];
	char *path = in_root("tiny.img");
	struct nc_backup_meta m = { vm, "vda", sizeof(img), t, false, NULL, NULL };
	uint64_t s = (uint64_t)t * 2654435761u + (unsigned char)vm[0];

	nc_test_fill_random(img, sizeof(img), &s);
	write_file(path, img, sizeof(img));
	backup_ok(st, r, path, &m, NULL);
	free(path);
}

START_TEST(test_retention_prune)
{
	static const int64_t a_times[] = {
		T2024 - 3600,                 /* 2023-12-31 23:00, Sunday: December, its own week */
		T2024 + 1 * 3600,             /* Jan 1 01:00 */
		T2024 + 13 * 3600,            /* Jan 1 13:00 */
		T2024 + 86400 + 10 * 3600,    /* Jan 2 */
		T2024 + 2 * 86400 + 36000,    /* Jan 3 */
		T2024 + 9 * 86400 + 36000,    /* Jan 10 */
		T2024 + 35 * 86400 + 36000,   /* Feb 5 10:00 */
		T2024 + 35 * 86400 + 39600,   /* Feb 5 11:00 */
	};
	/* keep-last 1, daily 4, weekly 3, monthly 3 */
	static const bool a_keep[] = { true, false, false, true, true, true, false, true };
	struct nc_backup_repo *r = repo_create("repo", NULL);
	struct nc_backup_retention ret = { 1, 4, 3, 3 }, none = { 0, 0, 0, 0 };
	struct nc_backup_stats a[NC_ARRAY_SIZE(a_times)], b[3];
	struct nc_backup_prune_report pr;
	struct nc_backup_snapshot *v;
	struct nc_err err = { "" };
	size_t i, n, k;

	for (i = 0; i < NC_ARRAY_SIZE(a_times); i++)
		tiny_backup(&a[i], r, "a", a_times[i]);
	for (i = 0; i < 3; i++)
		tiny_backup(&b[i], r, "b", T2024 + (int64_t)i * 3600);   /* one day */
	ck_assert_uint_eq(count_chunk_files("repo"), NC_ARRAY_SIZE(a_times) + 3);

	ck_assert_int_lt(nc_backup_prune(&pr, r, &none, false, &err), 0);
	ck_assert_msg(strstr(err.msg, "keeps nothing"), "%s", err.msg);

	/* list: sorted by vm, disk, time */
	ck_assert_int_eq(nc_backup_list(&v, &n, r, &err), 0);
	ck_assert_uint_eq(n, NC_ARRAY_SIZE(a_times) + 3);
	for (i = 0; i < NC_ARRAY_SIZE(a_times); i++)
		ck_assert_str_eq(v[i].id, a[i].id);
	ck_assert_str_eq(v[n - 1].id, b[2].id);
	nc_backup_snapshots_free(v, n);

	ck_assert_msg(nc_backup_prune(&pr, r, &ret, false, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(pr.kept, 5 + 1);
	ck_assert_uint_eq(pr.nremoved, 3 + 2);
	ck_assert_uint_eq(pr.chunks_deleted, 5);
	nc_backup_prune_report_release(&pr);
	ck_assert_uint_eq(count_chunk_files("repo"), 6);

	ck_assert_int_eq(nc_backup_list(&v, &n, r, &err), 0);
	ck_assert_uint_eq(n, 6);
	for (i = 0, k = 0; i < NC_ARRAY_SIZE(a_times); i++) {
		if (!a_keep[i])
			continue;
		ck_assert_msg(strcmp(v[k].id, a[i].id) == 0, "snapshot %zu of a should be kept", i);
		k++;
	}
	ck_assert_str_eq(v[k].id, b[2].id);
	nc_backup_snapshots_free(v, n);
	check_clean(r, NULL);

	/* pruning again changes nothing */
	ck_assert_msg(nc_backup_prune(&pr, r, &ret, false, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(pr.nremoved, 0);
	ck_assert_uint_eq(pr.chunks_deleted, 0);
	nc_backup_prune_report_release(&pr);
	nc_backup_close(r);
}
END_TEST

/* A manifest that cannot be read stops prune before it deletes anything. */
START_TEST(test_prune_refuses_bad_manifest)
{
	struct nc_backup_repo *r = repo_create("repo", NULL);
	struct nc_backup_retention ret = { .keep_last = 1 };
	struct nc_backup_check_report c;
	struct nc_backup_prune_report pr;
	struct nc_backup_stats a, b;
	struct nc_err err = { "" };
	char *mpath;
	size_t files;

	tiny_backup(&a, r, "a", T2024);
	tiny_backup(&b, r, "a", T2024 + 1);
	mpath = nc_xasprintf("%s/repo/snapshots/%s", root, a.id);
	write_file(mpath, "garbage", 7);
	files = count_chunk_files("repo");
	ck_assert_int_lt(nc_backup_prune(&pr, r, &ret, false, &err), 0);
	ck_assert_uint_eq(count_chunk_files("repo"), files);
	ck_assert_int_eq(nc_backup_check(&c, r, NULL, &err), 0);
	ck_assert_uint_eq(c.snapshots, 2);
	ck_assert_uint_eq(c.snapshots_bad, 1);
	ck_assert_uint_eq(c.nproblems, 1);
	nc_backup_check_report_release(&c);
	nc_backup_close(r);
	free(mpath);
}
END_TEST

START_TEST(test_dir_target)
{
	struct nc_backup_target *t;
	struct nc_err err = { "" };
	unsigned char *data;
	char **names, *dir = in_root("t"), *tmp;
	size_t len, n;

	ck_assert_int_eq(nc_backup_target_dir.open(&t, &(struct nc_backup_location){ .type = "dir",
		.path = dir }, true, &err), 0);
	ck_assert_int_lt(t->drv->put(t, "../escape", "x", 1, &err), 0);
	ck_assert_int_lt(t->drv->put(t, "chunks/.hidden", "x", 1, &err), 0);
	ck_assert_int_lt(t->drv->put(t, "a/b/c", "x", 1, &err), 0);
	ck_assert_int_eq(t->drv->get(t, "config", &data, &len, &err), NC_BACKUP_ENOENT);
	ck_assert_int_eq(t->drv->put(t, "chunks/abcdef", "one", 3, &err), 0);
	ck_assert_int_eq(t->drv->put(t, "chunks/abcdef", "two", 3, &err), 0);
	ck_assert_int_eq(t->drv->put(t, "chunks/0123", "", 0, &err), 0);
	tmp = nc_xasprintf("%s/chunks/ab/.tmp-leftover", dir);
	write_file(tmp, "partial", 7);
	free(tmp);
	ck_assert_int_eq(t->drv->exists(t, "chunks/abcdef", &err), 1);
	ck_assert_int_eq(t->drv->exists(t, "chunks/abcdee", &err), 0);
	/* an empty file is an object torn by a crash: absent, so it is written again */
	ck_assert_int_eq(t->drv->exists(t, "chunks/0123", &err), 0);
	ck_assert_int_eq(t->drv->get(t, "chunks/abcdef", &data, &len, &err), 0);
	ck_assert(len == 3 && memcmp(data, "two", 3) == 0);
	free(data);
	ck_assert_int_eq(t->drv->list(t, "chunks", &names, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[0], "0123");
	ck_assert_str_eq(names[1], "abcdef");
	nc_backup_names_free(names, n);
	ck_assert_int_eq(t->drv->del(t, "chunks/abcdef", &err), 0);
	ck_assert_int_eq(t->drv->del(t, "chunks/abcdef", &err), 0);
	ck_assert_int_eq(t->drv->sync(t, &err), 0);
	ck_assert_int_eq(t->drv->list(t, "snapshots", &names, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	nc_backup_names_free(names, n);
	t->drv->close(t);
	free(dir);
}
END_TEST

/* Overwrites 1% of img's 4 KiB blocks at random, into ext (n of them). */
static void change_blocks(unsigned char *img, size_t size, struct nc_backup_extent *ext, size_t n,
	uint64_t *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t b = (size_t)(nc_test_rng(s) % (size / 4096));

		nc_test_fill_random(img + b * 4096, 4096, s);
		ext[i].offset = (uint64_t)b * 4096;
		ext[i].length = 4096;
	}
}

/* The first chunk at or after from that is all random data in img (not zero, not text). */
static size_t random_chunk(const unsigned char *img, size_t nchunks, size_t from)
{
	const size_t cs = NC_BACKUP_DEFAULT_CHUNK;
	size_t i;

	for (i = from; i < nchunks; i++) {
		size_t zstd = ZSTD_compressBound(cs), z;
		unsigned char *zb = nc_xmalloc(zstd);

		z = ZSTD_compress(zb, zstd, img + i * cs, cs, 1);
		free(zb);
		if (!ZSTD_isError(z) && z >= cs)
			return i;
	}
	ck_abort_msg("no random chunk");
	return 0;
}

/*
 * Delta chunks: an increment of 1% scattered 4 KiB writes stores the
 * changed blocks, not whole chunks; a second increment on it (deltas whose
 * parent chunk is a delta) and a chunk rewritten in more than half its
 * blocks (stored full); both restore byte for byte, plain and encrypted;
 * prune of the full backup keeps the bases the increments use; a missing
 * base is a problem for check.
 */
START_TEST(test_delta_chunks)
{
	const size_t size = BIG_SIZE, cs = NC_BACKUP_DEFAULT_CHUNK, nch = size / cs;
	unsigned char *img = make_image(size, 43), *img2, *img3;
	char *path = in_root("disk.img"), *path2 = in_root("disk2.img"), *path3 = in_root("disk3.img");
	char *key = in_root("key");
	struct nc_backup_extent ext[BIG_SIZE / 4096 / 100], ext3[BIG_SIZE / 4096 / 100 + 1];
	struct nc_backup_changes ch = { ext, NC_ARRAY_SIZE(ext) }, ch3 = { ext3, NC_ARRAY_SIZE(ext3) };
	struct nc_backup_retention keep2 = { .keep_last = 2 };
	struct nc_backup_check_opts co = { .read_data = true };
	struct nc_backup_check_report c;
	struct nc_backup_prune_report pr;
	struct nc_backup_snapshot snap;
	struct nc_err err = { "" };
	size_t e, i, big, small;
	uint64_t s = 11, bound = 0;

	write_file(path, img, size);
	img2 = nc_xmalloc(size);
	memcpy(img2, img, size);
	change_blocks(img2, size, ext, NC_ARRAY_SIZE(ext), &s);
	write_file(path2, img2, size);
	for (i = 0; i < nch; i++) {
		size_t zcap = ZSTD_compressBound(cs), z;
		unsigned char *zb;

		if (memcmp(img + i * cs, img2 + i * cs, cs) == 0)
			continue;
		zb = nc_xmalloc(zcap);
		z = ZSTD_compress(zb, zcap, img2 + i * cs, cs, 3);
		ck_assert(!ZSTD_isError(z));
		bound += 1 + (z < cs ? z : cs);
		free(zb);
	}
	/* the second increment: another 1%, and one random chunk rewritten in 9 of its 16 blocks */
	img3 = nc_xmalloc(size);
	memcpy(img3, img2, size);
	change_blocks(img3, size, ext3, NC_ARRAY_SIZE(ext3) - 1, &s);
	big = random_chunk(img2, nch, nch / 3);
	nc_test_fill_random(img3 + big * cs, 9 * 4096, &s);
	ext3[NC_ARRAY_SIZE(ext3) - 1].offset = (uint64_t)big * cs;
	ext3[NC_ARRAY_SIZE(ext3) - 1].length = 9 * 4096;
	write_file(path3, img3, size);
	/* a random chunk with one changed block (and no other change) in the first increment */
	for (small = random_chunk(img, nch, 0);; small = random_chunk(img, nch, small + 1)) {
		size_t nb = 0, b;

		for (b = 0; b < cs / 4096; b++)
			nb += memcmp(img + small * cs + b * 4096, img2 + small * cs + b * 4096,
				4096) != 0;
		if (nb == 1 && memcmp(img2 + small * cs, img3 + small * cs, cs) == 0)
			break;
	}
	write_file(key, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65);

	for (e = 0; e < 2; e++) {
		char *name = nc_xasprintf("repo-%zu", e);
		struct nc_backup_repo *r = repo_create(name, e ? key : NULL);
		struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
		struct nc_backup_stats full, inc, inc_all, inc2, inc2_all;
		char hex[NC_BACKUP_ID_HEX + 1], *victim;

		backup_ok(&full, r, path, &m, NULL);
		ck_assert_uint_eq(full.chunks_delta, 0);
		m.parent = full.id;
		m.time += 86400;
		backup_ok(&inc, r, path2, &m, &ch);
		/* whole chunks would store at least bound; deltas less than a quarter of it */
		ck_assert_msg(inc.bytes_stored < bound / 4, "increment stored %llu, whole chunks %llu",
			(unsigned long long)inc.bytes_stored, (unsigned long long)bound);
		ck_assert_uint_gt(inc.chunks_delta, inc.chunks_new / 2);
		ck_assert_uint_le(inc.chunks_delta, inc.chunks_new);
		restore_cmp(r, inc.id, img2, size, false);
		restore_cmp(r, full.id, img, size, true);
		check_clean(r, NULL);
		ck_assert_int_eq(nc_backup_check(&c, r, &co, &err), 0);
		ck_assert_uint_eq(c.chunks_delta, inc.chunks_delta);
		nc_backup_check_report_release(&c);

		/* reading everything finds the same chunks and bases: the same manifest */
		backup_ok(&inc_all, r, path2, &m, NULL);
		ck_assert_str_eq(inc_all.id, inc.id);
		ck_assert_uint_eq(inc_all.chunks_new, 0);

		/* on top of the increment: the deltas' parent chunks are deltas */
		m.parent = inc.id;
		m.time += 86400;
		backup_ok(&inc2, r, path3, &m, &ch3);
		ck_assert_uint_gt(inc2.chunks_delta, 0);
		restore_cmp(r, inc2.id, img3, size, false);
		restore_cmp(r, inc.id, img2, size, true);
		ck_assert_msg(nc_backup_snapshot_load(&snap, r, inc2.id, &err) == 0, "%s", err.msg);
		ck_assert_msg(memcmp(snap.bases[big], (unsigned char[32]){ 0 }, 32) == 0,
			"a chunk changed in 9 of 16 blocks is stored full");
		ck_assert(memcmp(snap.chunks[big], (unsigned char[32]){ 0 }, 32) != 0);
		nc_backup_snapshot_release(&snap);
		ck_assert_msg(nc_backup_snapshot_load(&snap, r, inc.id, &err) == 0, "%s", err.msg);
		ck_assert_msg(memcmp(snap.bases[small], (unsigned char[32]){ 0 }, 32) != 0,
			"a chunk changed in 1 block is a delta");
		nc_backup_snapshot_release(&snap);
		/* the read-everything path on the second increment: the same snapshot */
		backup_ok(&inc2_all, r, path3, &m, NULL);
		ck_assert_str_eq(inc2_all.id, inc2.id);
		check_clean(r, NULL);

		/* prune the full backup: the increments keep its chunks they use as bases */
		ck_assert_msg(nc_backup_prune(&pr, r, &keep2, false, &err) == 0, "%s", err.msg);
		ck_assert_uint_eq(pr.nremoved, 1);
		ck_assert_str_eq(pr.removed[0], full.id);
		nc_backup_prune_report_release(&pr);
		restore_cmp(r, inc.id, img2, size, true);
		restore_cmp(r, inc2.id, img3, size, false);
		check_clean(r, NULL);

		/* a missing base is a problem */
		ck_assert_msg(nc_backup_snapshot_load(&snap, r, inc.id, &err) == 0, "%s", err.msg);
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", snap.bases[small][i]);
		nc_backup_snapshot_release(&snap);
		victim = nc_xasprintf("%s/%s/chunks/%.2s/%s", root, name, hex, hex);
		ck_assert_msg(unlink(victim) == 0, "%s: %s", victim, strerror(errno));
		ck_assert_int_eq(nc_backup_check(&c, r, &co, &err), 0);
		ck_assert_uint_ge(c.chunks_missing, 1);
		ck_assert(c.nproblems >= 1);
		for (i = 0; i < c.nproblems && !strstr(c.problems[i], "delta base"); i++)
			;
		ck_assert_msg(i < c.nproblems && strstr(c.problems[i], hex) &&
			strstr(c.problems[i], "missing"), "%s", c.problems[0]);
		nc_backup_check_report_release(&c);
		free(victim);
		nc_backup_close(r);
		free(name);
	}
	free(img);
	free(img2);
	free(img3);
	free(path);
	free(path2);
	free(path3);
	free(key);
}
END_TEST

/* ---- restores never write from a damaged repository (issue 10, item 3) ---- */

static void file_sha(const char *path, unsigned char out[32])
{
	size_t len;
	unsigned char *d = read_all(path, &len);

	SHA256(d, len, out);
	free(d);
}

static char *chunk_file(const char *repo, const unsigned char id[32])
{
	char hex[65];
	size_t i;

	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	return nc_xasprintf("%s/%s/chunks/%.2s/%s", root, repo, hex, hex);
}

/* A sink on a file that counts its calls. */
struct csink {
	struct fctx f;
	long calls;
};

static void flip_byte(const char *path, size_t at)
{
	size_t len;
	unsigned char *d = read_all(path, &len);

	ck_assert_uint_gt(len, at);
	d[at] ^= 0x20;
	write_file(path, d, len);
	free(d);
}

static int csink_write(void *ctx, uint64_t off, const void *buf, size_t len, struct nc_err *err)
{
	struct csink *c = ctx;

	c->calls++;
	return sink_write(&c->f, off, buf, len, err);
}

/*
 * Restores id into target and expects a refusal whose message has want:
 * no write reached the sink and the file's bytes are what they were.
 */
static void restore_refused(struct nc_backup_repo *r, const char *id, const char *target,
	const char *want)
{
	struct csink c = { .f = { .fd = open(target, O_RDWR) } };
	struct nc_backup_sink sink = { csink_write, NULL, &c };
	unsigned char before[32], after[32];
	struct nc_err err = { "" };

	ck_assert(c.f.fd >= 0);
	file_sha(target, before);
	ck_assert_int_lt(nc_backup_restore(NULL, r, id, &sink, &err), 0);
	close(c.f.fd);
	ck_assert_msg(strstr(err.msg, want), "want '%s' in: %s", want, err.msg);
	ck_assert_msg(c.calls == 0, "%ld writes reached the target: %s", c.calls, err.msg);
	file_sha(target, after);
	ck_assert_msg(memcmp(before, after, 32) == 0, "the target changed");
}

/* Copies repository from into to (a fresh copy for each kind of damage). */
static void repo_copy(const char *from, const char *to)
{
	char *cmd = nc_xasprintf("rm -rf '%s/%s' && cp -a '%s/%s' '%s/%s'", root, to, root, from, root, to);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static struct nc_backup_repo *repo_open(const char *name, const char *key_file)
{
	struct nc_backup_repo_opts o = { .key_file = key_file };
	struct nc_backup_repo *r;
	struct nc_err err = { "" };
	char *dir = in_root(name);

	ck_assert_msg(nc_backup_open_dir(&r, dir, &o, &err) == 0, "open %s: %s", name, err.msg);
	free(dir);
	return r;
}

/*
 * Every kind of damage, on an encrypted and a plain repository, with the
 * damaged chunk at about 70 % of the disk: the restore fails, naming the
 * problem, and not one byte reached the target.  Then a damage that
 * happens between the two passes is reported as the repository changing.
 */
START_TEST(test_restore_damaged_writes_nothing)
{
	const size_t cs = NC_BACKUP_DEFAULT_CHUNK, nch = 64, size = nch * cs - 1000, bad = 45;
	unsigned char *img = make_image(size, 77), *old = make_image(size, 78);
	char *path = in_root("disk.img"), *target = in_root("target.img"), *key = in_root("key");
	char *key2 = in_root("key2"), *f, *g;
	struct nc_backup_stats st1, st2;
	struct nc_backup_snapshot s;
	struct nc_err err = { "" };
	struct nc_backup_extent ext[2];
	struct nc_backup_changes ch = { ext, 2 };
	struct nc_backup_repo *r;
	unsigned p;
	uint64_t seed = 99;

	write_file(key, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65);
	ck_assert_int_eq(chmod(key, 0600), 0);
	write_file(key2, "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", 64);
	ck_assert_int_eq(chmod(key2, 0600), 0);
	nc_test_fill_random(img + (bad - 5) * cs, 10 * cs, &seed);   /* chunks 40..49 hold data */
	write_file(target, old, size);
	for (p = 0; p < 2; p++) {
		const char *name = p ? "plain" : "enc", *k = p ? NULL : key;
		struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
		char *id2, *cmd;

		/* a full backup, then an increment whose chunk `bad` is a delta on the full one's */
		write_file(path, img, size);
		r = repo_create(name, k);
		backup_ok(&st1, r, path, &m, NULL);
		img[bad * cs + 4096] ^= 0xff;
		img[(bad + 1) * cs + 8192] ^= 0xff;
		ext[0].offset = bad * cs + 4096;
		ext[1].offset = (bad + 1) * cs + 8192;
		ext[0].length = ext[1].length = 4096;
		write_file(path, img, size);
		m.time = T2024 + 60;
		m.parent = st1.id;
		backup_ok(&st2, r, path, &m, &ch);
		ck_assert_uint_ge(st2.chunks_delta, 1);
		ck_assert_msg(nc_backup_snapshot_load(&s, r, st2.id, &err) == 0, "%s", err.msg);
		ck_assert_msg(memcmp(s.bases[bad], (unsigned char[32]){ 0 }, 32) != 0, "chunk %zu is no delta", bad);
		nc_backup_close(r);
		id2 = st2.id;

		/* a missing chunk object */
		repo_copy(name, "bad");
		f = chunk_file("bad", s.chunks[bad + 2]);
		ck_assert_int_eq(unlink(f), 0);
		free(f);
		r = repo_open("bad", k);
		restore_refused(r, id2, target, "chunk 47 (offset 3080192): object chunks/");
		restore_refused(r, id2, target, "nothing was written");
		nc_backup_close(r);

		/* a truncated chunk object */
		repo_copy(name, "bad");
		f = chunk_file("bad", s.chunks[bad + 2]);
		ck_assert_int_eq(truncate(f, 100), 0);
		free(f);
		r = repo_open("bad", k);
		restore_refused(r, id2, target, "chunk 47 ");
		nc_backup_close(r);

		/* a flipped byte in the ciphertext, or in the (compressed or raw) data */
		repo_copy(name, "bad");
		f = chunk_file("bad", s.chunks[bad + 2]);
		flip_byte(f, 30);
		free(f);
		r = repo_open("bad", k);
		restore_refused(r, id2, target, p ? "contents do not match the id" : "authentication failed");
		nc_backup_close(r);

		/* a flipped byte in zstd-compressed data (the plain repository's compressed chunks) */
		if (p) {
			size_t i, n = 0;

			for (i = 0; i < s.nchunks; i++) {
				unsigned char *o;
				size_t olen;

				if (memcmp(s.chunks[i], (unsigned char[32]){ 0 }, 32) == 0)
					continue;
				repo_copy(name, "bad");
				f = chunk_file("bad", s.chunks[i]);
				o = read_all(f, &olen);
				if (o[0] == 0x01 && olen > 64) {
					flip_byte(f, olen / 2);
					r = repo_open("bad", k);
					restore_refused(r, id2, target, "chunks/");
					nc_backup_close(r);
					n++;
				}
				free(o);
				free(f);
				if (n == 2)
					break;
			}
			ck_assert_uint_eq(n, 2);
		}

		/* the delta's base: damaged, then missing */
		repo_copy(name, "bad");
		f = chunk_file("bad", s.bases[bad]);
		flip_byte(f, 30);
		r = repo_open("bad", k);
		restore_refused(r, id2, target, "chunk 45 ");
		ck_assert_int_eq(unlink(f), 0);
		restore_refused(r, id2, target, "delta base");
		nc_backup_close(r);
		free(f);

		/* the manifest: a flipped byte, then truncated */
		repo_copy(name, "bad");
		f = nc_xasprintf("%s/bad/snapshots/%s", root, id2);
		flip_byte(f, 20);
		r = repo_open("bad", k);
		restore_refused(r, id2, target, p ? "snapshots/" : "authentication failed");
		ck_assert_int_eq(truncate(f, 30), 0);
		restore_refused(r, id2, target, "snapshots/");
		nc_backup_close(r);
		free(f);

		/* a wrong key never opens the repository, so never restores from it */
		if (!p) {
			struct nc_backup_repo_opts o = { .key_file = key2 };
			char *dir = in_root(name);

			ck_assert_int_lt(nc_backup_open_dir(&r, dir, &o, &err), 0);
			ck_assert_msg(strstr(err.msg, "wrong key"), "%s", err.msg);
			free(dir);
		}

		/*
		 * Damage between the passes (an object replaced on the target
		 * while the restore runs): the second pass still checks every
		 * chunk and says the repository changed; the target is partly
		 * written, the residual risk docs/backup.md describes.  (The
		 * passes are called apart: the write pass fetches ahead of its
		 * writes, so a chunk damaged after it was fetched is not what
		 * this is about.)
		 */
		repo_copy(name, "bad");
		{
			struct csink c = { .f = { .fd = open(target, O_RDWR) } };
			struct nc_backup_sink sink = { csink_write, NULL, &c };
			unsigned char before[32];

			g = chunk_file("bad", s.chunks[bad + 2]);
			file_sha(target, before);
			r = repo_open("bad", k);
			ck_assert_msg(nc_backup_verify_snapshot(NULL, r, &s, &err) == 0, "%s", err.msg);
			flip_byte(g, 40);
			ck_assert_int_lt(nc_backup_restore_snapshot(NULL, r, &s, &sink, &err), 0);
			ck_assert_msg(strstr(err.msg, "chunk 47 ") && strstr(err.msg, "after it was verified") &&
				strstr(err.msg, "repository changed") && strstr(err.msg, "partly written"),
				"%s", err.msg);
			ck_assert_int_gt(c.calls, 0);
			close(c.f.fd);
			nc_backup_close(r);
			free(g);
			/* put the target back for the next round */
			write_file(target, old, size);
		}
		nc_backup_snapshot_release(&s);

		/* undamaged, the same restore works */
		r = repo_open(name, k);
		restore_cmp(r, id2, img, size, false);
		nc_backup_close(r);
		cmd = nc_xasprintf("rm -rf '%s/bad'", root);
		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
		free(img);
		img = make_image(size, 77);
		seed = 99;
		nc_test_fill_random(img + (bad - 5) * cs, 10 * cs, &seed);
	}
	free(img);
	free(old);
	free(path);
	free(target);
	free(key);
	free(key2);
}
END_TEST

/*
 * A manifest that names a chunk of the wrong length (a whole chunk where
 * the short last one belongs, and the reverse) is refused before writing.
 */
START_TEST(test_restore_wrong_size_chunk)
{
	const size_t cs = NC_BACKUP_DEFAULT_CHUNK, nch = 20, size = nch * cs - 5000;
	unsigned char *img = nc_xmalloc(size), sha[32], *obj;
	char *path = in_root("disk.img"), *target = in_root("target.img"), *mf, hex[65];
	struct nc_backup_repo *r = repo_create("repo", NULL);
	struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_stats st;
	struct nc_backup_snapshot s;
	struct nc_err err = { "" };
	struct nc_buf t;
	size_t i, k;
	uint64_t seed = 5;

	nc_test_fill_random(img, size, &seed);
	write_file(path, img, size);
	write_file(target, img + 1, size - 1);
	backup_ok(&st, r, path, &m, NULL);
	ck_assert_msg(nc_backup_snapshot_load(&s, r, st.id, &err) == 0, "%s", err.msg);
	for (k = 0; k < 2; k++) {
		/* k 0: chunk 14 (of 20) is the short last one; k 1: the last is a whole one */
		nc_buf_init(&t);
		nc_buf_addf(&t, "novacron-snapshot 1\nvm vm\ndisk vda\ndisk-size %zu\ntime %lld\nquiesced no\n"
			"parent none\ncheckpoint none\nchunk-size %zu\nchunks %zu\n", size, (long long)T2024, cs, nch);
		for (i = 0; i < nch; i++) {
			size_t from = k == 0 ? (i == 14 ? nch - 1 : i) : (i == nch - 1 ? 0 : i);

			size_t j;

			for (j = 0; j < 32; j++)
				snprintf(hex + 2 * j, 3, "%02x", s.chunks[from][j]);
			nc_buf_addf(&t, "%s\n", hex);
		}
		nc_buf_adds(&t, "end\n");
		SHA256((unsigned char *)t.buf, t.len, sha);
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", sha[i]);
		obj = nc_xmalloc(t.len + 1);
		obj[0] = 0;
		memcpy(obj + 1, t.buf, t.len);
		mf = nc_xasprintf("%s/repo/snapshots/%s", root, hex);
		write_file(mf, obj, t.len + 1);
		restore_refused(r, hex, target, k == 0 ? "chunk 14 " : "chunk 19 ");
		restore_refused(r, hex, target, "expected");
		free(mf);
		free(obj);
		nc_buf_release(&t);
	}
	nc_backup_snapshot_release(&s);
	restore_cmp(r, st.id, img, size, false);
	nc_backup_close(r);
	free(img);
	free(path);
	free(target);
}
END_TEST

/* ---- owner-only files and keys (issue 10, item 9) ---- */

/* Every file and directory under dir (and dir itself) has no group/other bit. */
static void owner_only(const char *dir)
{
	char *cmd = nc_xasprintf("find '%s' -perm /077 | head -n 3", dir);
	FILE *p = popen(cmd, "r");
	char line[PATH_MAX] = "";

	ck_assert(p != NULL);
	ck_assert_msg(!fgets(line, sizeof(line), p), "not owner-only: %s", line);
	pclose(p);
	free(cmd);
}

/*
 * With a permissive umask, a dir repository is made owner-only (0700
 * directories, 0600 objects and config); an older repository's top
 * directory is closed by the next writer; a key file with group or other
 * bits is refused, naming the file and the chmod, before anything is made.
 */
START_TEST(test_repo_owner_only)
{
	const size_t size = 1 * MiB;
	unsigned char *img = make_image(size, 3);
	char *path = in_root("disk.img"), *key = in_root("key"), *dir = in_root("repo"), *cmd;
	struct nc_backup_meta m = { "vm", "vda", size, T2024, false, NULL, NULL };
	struct nc_backup_repo_opts o = { .key_file = key };
	struct nc_backup_repo *r;
	struct nc_backup_stats st;
	struct nc_err err = { "" };
	struct stat sb;
	mode_t old = umask(022);
	static const unsigned bad[] = { 0644, 0640, 0604, 0660, 0700 + 0040 };
	size_t i;

	write_file(path, img, size);
	write_file(key, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65);
	for (i = 0; i < NC_ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(chmod(key, bad[i]), 0);
		ck_assert_int_lt(nc_backup_create_dir(&r, dir, &o, &err), 0);
		ck_assert_msg(strstr(err.msg, "key file ") && strstr(err.msg, key) &&
			      strstr(err.msg, "accessible by group or others") && strstr(err.msg, "run chmod 600 "),
			      "%s", err.msg);
		ck_assert_int_ne(access(dir, F_OK), 0);              /* nothing made */
		ck_assert_int_eq(nc_backup_key_check(key, &err), -1);
	}
	ck_assert_int_eq(chmod(key, 0400), 0);
	ck_assert_msg(nc_backup_key_check(key, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(chmod(key, 0600), 0);
	r = repo_create("repo", key);
	backup_ok(&st, r, path, &m, NULL);
	nc_backup_close(r);
	owner_only(dir);
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);

	/* opening an existing repository: the key is refused the same way */
	ck_assert_int_eq(chmod(key, 0644), 0);
	ck_assert_int_lt(nc_backup_open_dir(&r, dir, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "run chmod 600 "), "%s", err.msg);
	ck_assert_int_eq(chmod(key, 0600), 0);

	/* a repository made by an older version (0755 / 0644): the next writer closes its top */
	cmd = nc_xasprintf("chmod -R go+rX '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	{
		struct nc_backup_location loc = { .type = "dir", .path = dir };
		struct nc_backup_target *t;

		ck_assert_msg(nc_backup_target_open(&t, &loc, false, &err) == 0, "%s", err.msg);
		t->drv->close(t);
		ck_assert_int_eq(stat(dir, &sb), 0);
		ck_assert_uint_eq(sb.st_mode & 07777, 0755);         /* a reader changes nothing */
		ck_assert_msg(nc_backup_target_open(&t, &loc, true, &err) == 0, "%s", err.msg);
		t->drv->close(t);
		ck_assert_int_eq(stat(dir, &sb), 0);
		ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	}
	umask(old);
	free(img);
	free(path);
	free(key);
	free(dir);
}
END_TEST

/* ---- novacron restore on a simulated host whose disk files exist ---- */

static char tdir[64];

static void cli_setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-restore-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void cli_teardown(void)
{
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tdir);
	free(cmd);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)
#define NC_SPEC "spec --state-dir state --config novacron.yaml"   /* paths: T */

/* The disks are as they were: same files, byte for byte (the sums taken in disks.sum). */
#define DISKS_UNCHANGED() ck_assert_int_eq(shq("sha256sum -c --quiet disks.sum"), 0)

/*
 * Restores in place from a damaged repository, every kind of damage the CLI
 * can meet: each exits 1 naming the problem, and both disk files keep
 * every byte (the damage is in the second disk restored, so the first is
 * checked too).  A failed restore --as leaves no volume nor domain behind.
 * The undamaged repository then restores both ways.
 */
START_TEST(test_cli_restore_damaged)
{
	struct nc_run r;
	char id[17], pid[17];
	const char *p;
	int k;
	static const struct {
		const char *what, *damage, *msg;
	} kinds[] = {
		{ "missing chunk", "rm -f $(find repo/chunks -type f | sort | tail -n 1)", "does not exist" },
		{ "truncated chunk", "f=$(find repo/chunks -type f | sort | head -n 1); truncate -s 20 $f",
		  "truncated object" },
		{ "flipped byte", "f=$(find repo/chunks -type f | sort | tail -n 1); "
		  "printf 'X' | dd of=$f bs=1 seek=30 conv=notrunc 2>/dev/null", "authentication failed" },
		{ "flipped manifest", "f=$(find repo/snapshots -type f | sort | head -n 1); "
		  "printf 'X' | dd of=$f bs=1 seek=30 conv=notrunc 2>/dev/null", NULL },
		{ "truncated manifest", "for f in $(find repo/snapshots -type f); do truncate -s 10 $f; done",
		  "snapshots/" },
		{ "wrong key", "printf 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100' > key",
		  "wrong key" },
	};

	ck_assert_int_eq(shq("mkdir -p spec pool && "
		"printf 'paths: {secrets: [\"%%s\"], pools: [\"%%s\"], backups: [\"%%s\"]}\\n' \"$PWD\" \"$PWD\" \"$PWD\" "
		"> novacron.yaml && "
		"printf '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff' > key && chmod 600 key && "
		"cat > spec/c.yaml <<EOF\n"
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: \"sim:///h1\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\nspec: {type: dir, path: \"$PWD/pool\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: nightly}\n"
		"spec:\n  schedule: \"30 2 * * *\"\n  vms: [vm1]\n  target: {type: dir, path: \"$PWD/repo\"}\n"
		"  encryption: {keyFile: \"$PWD/key\"}\n  retention: {keepLast: 5}\n---\n"
		"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: plain}\n"
		"spec:\n  schedule: \"30 3 * * *\"\n  vms: [vm1]\n  target: {type: dir, path: \"$PWD/prepo\"}\n"
		"  retention: {keepLast: 5}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: vm1}\n"
		"spec:\n  vcpus: 1\n  memory: 256MiB\n  state: stopped\n  backupSchedule: nightly\n"
		"  placement: {host: h1}\n"
		"  disks:\n    - {name: root, pool: local, size: 4MiB}\n    - {name: data, pool: local, size: 2MiB}\n"
		"EOF"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply " NC_SPEC " --auto-approve"), 0);
	nc_run_free(&r);
	/* the disks' contents at backup time: root all 0x42 (one distinct chunk), data 1 MiB of 0x17 */
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pool/vm1-root.qcow2 4M && "
			     "qemu-img create -q -f qcow2 pool/vm1-data.qcow2 2M && "
			     "qemu-io -f qcow2 -c 'write -P 0x42 0 4M' pool/vm1-root.qcow2 >/dev/null && "
			     "qemu-io -f qcow2 -c 'write -P 0x17 0 1M' pool/vm1-data.qcow2 >/dev/null && "
			     "cp pool/vm1-root.qcow2 root.at-backup && cp pool/vm1-data.qcow2 data.at-backup"), 0);
	ck_assert_int_eq(sh(&r, "$NC backup run vm1 " NC_SPEC), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup run --schedule plain " NC_SPEC), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule nightly " NC_SPEC), 0);
	ck_assert_ptr_nonnull((p = strstr(r.out, "\n")));
	snprintf(id, sizeof(id), "%.16s", p + 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule plain " NC_SPEC), 0);
	ck_assert_ptr_nonnull((p = strstr(r.out, "\n")));
	snprintf(pid, sizeof(pid), "%.16s", p + 1);
	nc_run_free(&r);

	/* the disks move on; their sums are what a failed restore must keep */
	ck_assert_int_eq(shq("qemu-io -f qcow2 -c 'write -P 0x66 0 4M' pool/vm1-root.qcow2 >/dev/null && "
			     "qemu-io -f qcow2 -c 'write -P 0x67 0 2M' pool/vm1-data.qcow2 >/dev/null && "
			     "sha256sum pool/vm1-root.qcow2 pool/vm1-data.qcow2 > disks.sum && "
			     "cp -a repo repo.good && cp key key.good"), 0);

	for (k = 0; k < (int)NC_ARRAY_SIZE(kinds); k++) {
		ck_assert_int_eq(shq("%s", kinds[k].damage), 0);
		ck_assert_msg(sh(&r, "$NC restore vm1 --backup %s " NC_SPEC, id) == 1, "%s: exit %d\n%s",
			      kinds[k].what, r.status, r.err);
		if (kinds[k].msg)
			HAS(r.err, kinds[k].msg);
		HASNT(r.out, "restored vm1");
		HASNT(r.err, "restore vm1 disk");
		nc_run_free(&r);
		DISKS_UNCHANGED();
		ck_assert_int_eq(shq("rm -rf repo && cp -a repo.good repo && cp key.good key"), 0);
	}
	/* the repositories are the owner's only; a key others can read is refused, nothing written */
	ck_assert_int_eq(shq("test -z \"$(find repo prepo -perm /077)\""), 0);
	ck_assert_int_eq(shq("chmod 644 key && ls repo/snapshots > snaps.before"), 0);
	ck_assert_int_eq(sh(&r, "$NC backup run vm1 " NC_SPEC), 1);
	HAS(r.err, "is accessible by group or others (mode 0644): run chmod 600 ");
	HAS(r.err, "/key");
	nc_run_free(&r);
	ck_assert_int_eq(shq("ls repo/snapshots | cmp -s - snaps.before"), 0);
	ck_assert_int_eq(sh(&r, "$NC restore vm1 --backup %s " NC_SPEC, id), 1);
	HAS(r.err, "run chmod 600 ");
	nc_run_free(&r);
	DISKS_UNCHANGED();
	ck_assert_int_eq(shq("chmod 600 key"), 0);

	/* a chunk damaged after the verification: the message says what changed */
	ck_assert_int_eq(shq("f=$(find repo/chunks -type f | sort | tail -n 1); truncate -s 0 $f"), 0);
	ck_assert_int_eq(sh(&r, "$NC restore vm1 --backup %s " NC_SPEC, id), 1);
	HAS(r.err, "nothing was written, vm1 is as it was");
	nc_run_free(&r);
	DISKS_UNCHANGED();
	ck_assert_int_eq(shq("rm -rf repo && cp -a repo.good repo"), 0);

	/*
	 * The unencrypted repository: damage exactly root's chunk (all 0x42);
	 * the data disk comes first ("data" < "root") and verifies fine, yet
	 * neither is written.
	 */
	ck_assert_int_eq(shq("c=$(head -c 65536 /dev/zero | tr '\\000' '\\102' | sha256sum | cut -c1-64) && "
			     "f=prepo/chunks/$(echo $c | cut -c1-2)/$c && test -f $f && "
			     "printf 'X' | dd of=$f bs=1 seek=30 conv=notrunc 2>/dev/null"), 0);
	ck_assert_int_eq(sh(&r, "$NC restore vm1 --backup %s --schedule plain " NC_SPEC, pid), 1);
	HAS(r.err, "verify backup ");
	HAS(r.err, "novacron restore: disk root: restore ");
	HAS(r.err, "nothing was written");
	nc_run_free(&r);
	DISKS_UNCHANGED();

	/*
	 * restore --as from it: new volumes are written in one pass that checks each chunk as it
	 * goes; the damaged chunk stops it, both new volumes are deleted, no domain is defined
	 * (the simulated host's volumes have no files: made here for the writer)
	 */
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pool/vm1-copy-root.qcow2 4M && "
			     "qemu-img create -q -f qcow2 pool/vm1-copy-data.qcow2 2M"), 0);
	ck_assert_int_eq(sh(&r, "$NC restore vm1 --backup %s --schedule plain --as vm1-copy " NC_SPEC, pid), 1);
	HAS(r.err, "novacron restore: disk root: restore ");
	HAS(r.err, ": chunk 0 (offset 0): chunks/");
	HAS(r.err, "the new volume vm1-copy-root.qcow2 was deleted");
	HAS(r.err, "deleted the new volume local/vm1-copy-data.qcow2");
	HASNT(r.out, "defined vm1-copy");
	nc_run_free(&r);
	ck_assert_int_eq(shq("grep -q 'vm1-copy' state/h1.xml"), 1);
	DISKS_UNCHANGED();

	/* the repository is good, but the write fails midway: no new volume or domain stays */
	ck_assert_int_eq(shq("rm -rf repo && cp -a repo.good repo && "
			     "qemu-img create -q -f qcow2 pool/vm1-copy-root.qcow2 4M && "
			     "qemu-img create -q -f qcow2 pool/vm1-copy-data.qcow2 2M"), 0);
	ck_assert_int_eq(sh(&r, "NOVACRON_RESTORE_FAIL_AT=40 $NC restore vm1 --backup %s --as vm1-copy " NC_SPEC,
			    id), 1);
	HAS(r.err, "injected failure (NOVACRON_RESTORE_FAIL_AT)");
	HAS(r.err, "deleted the new volume local/vm1-copy-data.qcow2");
	HAS(r.err, "the new volume vm1-copy-root.qcow2 was deleted");
	HASNT(r.out, "defined vm1-copy");
	nc_run_free(&r);
	ck_assert_int_eq(shq("grep -q 'vm1-copy' state/h1.xml"), 1);

	/* undamaged: restore --as, then in place; both give the disks as they were at backup time */
	ck_assert_int_eq(sh(&r, "$NC restore vm1 --backup %s --as vm1-copy " NC_SPEC, id), 0);
	HAS(r.out, "defined vm1-copy on h1 (not started)");
	nc_run_free(&r);
	ck_assert_int_eq(shq("qemu-img compare -q pool/vm1-copy-root.qcow2 root.at-backup && "
			     "qemu-img compare -q pool/vm1-copy-data.qcow2 data.at-backup"), 0);
	ck_assert_int_eq(sh(&r, "$NC restore vm1 --backup %s " NC_SPEC, id), 0);
	HAS(r.out, "restored vm1 disk root");
	HAS(r.out, "restored vm1 disk data");
	nc_run_free(&r);
	ck_assert_int_eq(shq("qemu-img compare -q pool/vm1-root.qcow2 root.at-backup && "
			     "qemu-img compare -q pool/vm1-data.qcow2 data.at-backup"), 0);
}
END_TEST

Suite *nc_suite_backup(void)
{
	Suite *s = suite_create("backup");
	TCase *tc = tcase_create("repository");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dir_target);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_full_and_incremental);
	tcase_add_test(tc, test_partial_last_chunk);
	tcase_add_test(tc, test_source_zeros_and_runs);
	tcase_add_test(tc, test_dedup_identical_images);
	tcase_add_test(tc, test_threads_deterministic);
	tcase_add_test(tc, test_encrypted);
	tcase_add_test(tc, test_tamper_plain);
	tcase_add_test(tc, test_interrupted);
	tcase_add_test(tc, test_retention_prune);
	tcase_add_test(tc, test_prune_refuses_bad_manifest);
	tcase_add_test(tc, test_delta_chunks);
	tcase_add_test(tc, test_restore_damaged_writes_nothing);
	tcase_add_test(tc, test_restore_wrong_size_chunk);
	tcase_add_test(tc, test_repo_owner_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("cli");
	tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_cli_restore_damaged);
	suite_add_tcase(s, tc);
	return s;
}
