/*
 * test_xmigrate.c - cross-cluster migration (issue 16): the repository copy
 * nc_backup_copy_snapshot() (drivers/backup/copy.c) between real directory
 * repositories in a temporary directory: only the chunks the destination
 * lacks are sent (raw: same chunk size and key; re-encoded: another key,
 * chunk size, or one side encrypted), the copy restores byte for byte, a
 * dry run counts what a copy sends, a copy run again (or killed before its
 * manifest) finishes without a duplicate, a damaged source chunk is refused
 * with nothing referenced in the destination, and an encrypted repository
 * without its key cannot be copied from.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../drivers/backup/backup.h"
#include "../spec/util.h"
#include "tests.h"
#include "testutil.h"

#define MiB (1024u * 1024)
#define IMG_SIZE (8 * MiB)
#define T0 1704067200LL            /* 2024-01-01 00:00:00 UTC */

static char root[PATH_MAX];

static void setup(void)
{
	char tmpl[] = "/tmp/nc-xmigrate-XXXXXX";

	ck_assert_msg(mkdtemp(tmpl) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(root, sizeof(root), "%s", tmpl);
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", root);

	nc_run_shell(&r, cmd);
	if (r.status != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	nc_run_free(&r);
	free(cmd);
}

/* ---- deterministic images ---- */

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

/* regions of 16 KiB to 1 MiB: 40% random, 40% zeros, 20% text */
static unsigned char *make_image(size_t size, uint64_t seed)
{
	static const char text[] = "a disk moves between clusters, chunk by chunk. ";
	unsigned char *img = nc_xcalloc(1, size);
	uint64_t s = seed | 1;
	size_t off = 0, i;

	while (off < size) {
		size_t len = (size_t)(4 + rng_next(&s) % 253) * 4096;
		unsigned kind = (unsigned)(rng_next(&s) % 10);

		if (len > size - off)
			len = size - off;
		if (kind < 4)
			fill_random(img + off, len, &s);
		else if (kind >= 8)
			for (i = 0; i < len; i++)
				img[off + i] = (unsigned char)text[(off + i) % (sizeof(text) - 1)];
		off += len;
	}
	return img;
}

/* changes n scattered 4 KiB blocks */
static void change_blocks(unsigned char *img, size_t size, size_t n, uint64_t seed)
{
	uint64_t s = seed | 1;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t b = (size_t)(rng_next(&s) % (size / 4096));

		fill_random(img + b * 4096, 4096, &s);
	}
}

/* ---- memory source and sink ---- */

struct mem {
	unsigned char *p;
	size_t len;
};

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len, struct nc_err *err)
{
	struct mem *m = ctx;

	if (off > m->len || len > m->len - off) {
		nc_err_set(err, "read past the end");
		return -1;
	}
	memcpy(buf, m->p + off, len);
	return 0;
}

static int mem_write(void *ctx, uint64_t off, const void *buf, size_t len, struct nc_err *err)
{
	struct mem *m = ctx;

	if (off > m->len || len > m->len - off) {
		nc_err_set(err, "write past the end");
		return -1;
	}
	memcpy(m->p + off, buf, len);
	return 0;
}

static char *in_root(const char *name)
{
	return nc_xasprintf("%s/%s", root, name);
}

static char *key_file(const char *name, unsigned char fill)
{
	char *path = in_root(name);
	unsigned char key[32];
	FILE *f;

	memset(key, fill, sizeof(key));
	f = fopen(path, "wb");
	ck_assert(f != NULL);
	ck_assert(fwrite(key, 1, sizeof(key), f) == sizeof(key));
	ck_assert(fclose(f) == 0);
	ck_assert(chmod(path, 0600) == 0);
	return path;
}

static struct nc_backup_repo *repo_create(const char *name, const char *key, uint32_t cs)
{
	struct nc_backup_repo_opts o = { .key_file = key, .chunk_size = cs, .threads = 1 };
	struct nc_backup_repo *r;
	struct nc_err err = { "" };
	char *dir = in_root(name);

	ck_assert_msg(nc_backup_create_dir(&r, dir, &o, &err) == 0, "create: %s", err.msg);
	free(dir);
	return r;
}

static void backup(struct nc_backup_stats *st, struct nc_backup_repo *r, unsigned char *img,
	int64_t t, const char *parent)
{
	struct mem m = { img, IMG_SIZE };
	struct nc_backup_source src = { mem_read, &m };
	struct nc_backup_meta meta = { .vm = "web", .disk = "vda", .disk_size = IMG_SIZE,
				       .time = t, .parent = parent };
	struct nc_err err = { "" };

	ck_assert_msg(nc_backup_write(st, r, &meta, &src, NULL, &err) == 0, "backup: %s", err.msg);
}

static void restore_cmp(struct nc_backup_repo *r, const char *id, const unsigned char *want)
{
	struct mem m = { nc_xcalloc(1, IMG_SIZE), IMG_SIZE };
	struct nc_backup_sink sink = { mem_write, NULL, &m };
	struct nc_err err = { "" };

	ck_assert_msg(nc_backup_restore(NULL, r, id, &sink, &err) == 0, "restore: %s", err.msg);
	ck_assert_msg(memcmp(m.p, want, IMG_SIZE) == 0, "the copy restores another image");
	free(m.p);
}

static void check_clean(struct nc_backup_repo *r)
{
	struct nc_backup_check_opts o = { .read_data = true };
	struct nc_backup_check_report c;
	struct nc_err err = { "" };

	ck_assert_msg(nc_backup_check(&c, r, &o, &err) == 0, "check: %s", err.msg);
	ck_assert_msg(c.nproblems == 0, "check: %s", c.nproblems ? c.problems[0] : "");
	nc_backup_check_report_release(&c);
}

static void copy_ok(struct nc_backup_copy_stats *st, struct nc_backup_repo *dst,
	struct nc_backup_repo *src, const char *id, bool dry_run)
{
	struct nc_backup_copy_opts o = { .dry_run = dry_run };
	struct nc_err err = { "" };

	ck_assert_msg(nc_backup_copy_snapshot(st, dst, src, id, &o, &err) == 0, "copy: %s", err.msg);
}

static size_t nsnapshots(struct nc_backup_repo *r)
{
	struct nc_backup_snapshot *v;
	struct nc_err err = { "" };
	size_t n;

	ck_assert_msg(nc_backup_list(&v, &n, r, &err) == 0, "list: %s", err.msg);
	nc_backup_snapshots_free(v, n);
	return n;
}

/*
 * The migration's own case, for each pairing of keys and chunk sizes:
 * yesterday's backup is in both repositories, today's (1% of the blocks
 * changed) only in the source; the copy sends a small part of the full
 * copy's bytes and restores today's image byte for byte.
 */
static const struct {
	const char *name;
	unsigned char src_key, dst_key;        /* 0: unencrypted, else the key's byte */
	uint32_t src_cs, dst_cs;
	bool raw;
} pairs[] = {
	{ "plain", 0, 0, 0, 0, true },
	{ "same key", 7, 7, 0, 0, true },
	{ "other key", 7, 9, 0, 0, false },
	{ "plain to encrypted", 0, 9, 0, 0, false },
	{ "other chunk size", 0, 0, 65536, 16384, false },
};

START_TEST(test_copy_delta)
{
	char *skey = pairs[_i].src_key ? key_file("src.key", pairs[_i].src_key) : NULL;
	char *dkey = pairs[_i].dst_key ? key_file("dst.key", pairs[_i].dst_key) : NULL;
	struct nc_backup_repo *src = repo_create("src", skey, pairs[_i].src_cs);
	struct nc_backup_repo *dst = repo_create("dst", dkey, pairs[_i].dst_cs);
	unsigned char *img = make_image(IMG_SIZE, 42), *old = make_image(IMG_SIZE, 42);
	struct nc_backup_stats b1, b2;
	struct nc_backup_copy_stats full, dry, c2, again;

	/* yesterday: backed up in the source, copied whole */
	backup(&b1, src, img, T0, NULL);
	copy_ok(&full, dst, src, b1.id, false);
	ck_assert(full.raw == pairs[_i].raw);
	ck_assert(full.exact);
	ck_assert_uint_gt(full.chunks_sent, 0);
	ck_assert_uint_gt(full.bytes_sent, IMG_SIZE / 4);
	restore_cmp(dst, full.id, img);

	/* today: 1% of the blocks changed, an incremental in the source */
	change_blocks(img, IMG_SIZE, IMG_SIZE / 4096 / 100, 7);
	backup(&b2, src, img, T0 + 86400, b1.id);
	copy_ok(&dry, dst, src, b2.id, true);
	ck_assert_uint_eq(nsnapshots(dst), 1);          /* a dry run writes nothing */
	copy_ok(&c2, dst, src, b2.id, false);
	ck_assert_uint_gt(c2.chunks_present, 0);
	ck_assert_uint_gt(c2.chunks_sent, 0);
	ck_assert_msg(c2.bytes_sent * 5 < full.bytes_sent, "%s: %llu bytes sent for 1%% changed, "
		"%llu for the whole", pairs[_i].name, (unsigned long long)c2.bytes_sent,
		(unsigned long long)full.bytes_sent);
	if (pairs[_i].raw) {
		ck_assert(dry.exact);
		ck_assert_uint_eq(dry.bytes_sent, c2.bytes_sent);
		ck_assert_uint_eq(dry.chunks_sent, c2.chunks_sent);
		ck_assert_str_eq(dry.id, c2.id);
	} else {
		ck_assert(!dry.exact);
		ck_assert_uint_ge(dry.bytes_sent, c2.bytes_sent - 4096);  /* an upper bound (+ manifest) */
	}
	restore_cmp(dst, c2.id, img);
	restore_cmp(dst, full.id, old);               /* yesterday's copy is still whole */
	check_clean(dst);
	ck_assert_uint_eq(nsnapshots(dst), 2);

	/* again: nothing but (at most) the manifest, same id, no duplicate */
	copy_ok(&again, dst, src, b2.id, false);
	ck_assert_str_eq(again.id, c2.id);
	ck_assert_uint_eq(again.chunks_sent, 0);
	ck_assert_uint_eq(nsnapshots(dst), 2);
	if (pairs[_i].raw) {
		ck_assert(again.already);
		ck_assert_uint_eq(again.bytes_sent, 0);
	}

	nc_backup_close(src);
	nc_backup_close(dst);
	free(img);
	free(old);
	free(skey);
	free(dkey);
}
END_TEST

/* A copy killed after its chunks, before its manifest: run again, it sends the manifest only. */
START_TEST(test_copy_killed_before_manifest)
{
	struct nc_backup_repo *src = repo_create("src", NULL, 0), *dst = repo_create("dst", NULL, 0);
	unsigned char *img = make_image(IMG_SIZE, 5);
	struct nc_backup_stats b;
	struct nc_backup_copy_stats c1, c2;
	char *man;

	backup(&b, src, img, T0, NULL);
	copy_ok(&c1, dst, src, b.id, false);
	man = nc_xasprintf("%s/dst/snapshots/%s", root, c1.id);
	ck_assert_msg(unlink(man) == 0, "%s: %s", man, strerror(errno));
	ck_assert_uint_eq(nsnapshots(dst), 0);
	copy_ok(&c2, dst, src, b.id, false);
	ck_assert_str_eq(c2.id, c1.id);
	ck_assert_uint_eq(c2.chunks_sent, 0);
	ck_assert_uint_eq(c2.chunks_present, c1.chunks_sent);
	ck_assert_uint_lt(c2.bytes_sent, c1.bytes_sent / 50);
	ck_assert_uint_eq(nsnapshots(dst), 1);
	restore_cmp(dst, c2.id, img);
	check_clean(dst);
	free(man);
	free(img);
	nc_backup_close(src);
	nc_backup_close(dst);
}
END_TEST

/* A damaged chunk in the source: the copy fails and the destination references nothing. */
START_TEST(test_copy_damaged_source)
{
	struct nc_backup_repo *src = repo_create("src", NULL, 0), *dst;
	unsigned char *img = make_image(IMG_SIZE, 11);
	struct nc_backup_copy_stats c;
	struct nc_backup_copy_opts o = { false };
	struct nc_backup_stats b;
	struct nc_err err = { "" };
	struct nc_run r;
	char *cmd;

	backup(&b, src, img, T0, NULL);
	/* flip a byte in the middle of the largest chunk object */
	cmd = nc_xasprintf("f=$(find '%s/src/chunks' -type f -printf '%%s %%p\\n' | sort -n | "
		"tail -1 | cut -d' ' -f2) && printf 'X' | dd of=\"$f\" bs=1 seek=100 conv=notrunc "
		"2>/dev/null", root);
	nc_run_shell(&r, cmd);
	ck_assert_msg(r.status == 0, "%s", r.err);
	nc_run_free(&r);
	free(cmd);
	dst = repo_create("dst", NULL, 0);
	ck_assert(nc_backup_copy_snapshot(&c, dst, src, b.id, &o, &err) < 0);
	HAS(err.msg, "copy: source chunks/");
	ck_assert_uint_eq(nsnapshots(dst), 0);
	nc_backup_close(dst);
	/* re-encoded (another chunk size): refused the same way */
	dst = repo_create("dst2", NULL, 16384);
	ck_assert(nc_backup_copy_snapshot(&c, dst, src, b.id, &o, &err) < 0);
	HAS(err.msg, "copy: source snapshot");
	ck_assert_uint_eq(nsnapshots(dst), 0);
	nc_backup_close(dst);
	nc_backup_close(src);
	free(img);
}
END_TEST

/* An encrypted repository without its key, or with another: no copy, and the reason. */
START_TEST(test_copy_needs_keys)
{
	char *k1 = key_file("k1", 1), *k2 = key_file("k2", 2), *dir = in_root("src");
	struct nc_backup_repo *src = repo_create("src", k1, 0), *r = NULL;
	struct nc_backup_repo_opts none = { .threads = 1 }, wrong = { .key_file = k2 };
	unsigned char *img = make_image(IMG_SIZE, 3);
	struct nc_backup_stats b;
	struct nc_err err = { "" };

	backup(&b, src, img, T0, NULL);
	nc_backup_close(src);
	ck_assert(nc_backup_open_dir(&r, dir, &none, &err) < 0);
	HAS(err.msg, "encrypted: a key file is needed");
	ck_assert(nc_backup_open_dir(&r, dir, &wrong, &err) < 0);
	HAS(err.msg, "wrong key");
	free(img);
	free(dir);
	free(k1);
	free(k2);
}
END_TEST

Suite *nc_suite_xmigrate(void)
{
	Suite *s = suite_create("xmigrate");
	TCase *tc = tcase_create("copy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_copy_delta, 0, (int)(sizeof(pairs) / sizeof(pairs[0])));
	tcase_add_test(tc, test_copy_killed_before_manifest);
	tcase_add_test(tc, test_copy_damaged_source);
	tcase_add_test(tc, test_copy_needs_keys);
	suite_add_tcase(s, tc);
	return s;
}
