/*
 * test_backup_targets.c - the backup repository on its network targets,
 * against a real single-node Ceph with radosgw started once for the suite
 * by test/testbed/ceph.sh: RADOS (librados), S3 (SigV4) and Swift
 * (auth v1) on radosgw.  Loop tests run once per target (_i: 0 rados,
 * 1 s3, 2 swift): the raw target operations, a full and an incremental
 * backup restored byte for byte, encryption with a wrong key refused, an
 * interrupted backup that check and prune clean up, and a listing of more
 * than 1000 objects (S3 continuation tokens, Swift markers).  Wrong
 * credentials, missing buckets and pools, bad locations and an endpoint
 * that refuses connections give clear errors.
 *
 * The cluster runs in a temporary directory, on ports ceph.sh finds free,
 * so parallel runs do not collide.  The tcase's unchecked
 * fixture starts it in the runner process and stops it after the last
 * test, whatever the tests did.  When Ceph cannot start here, the tests
 * that need it say why on stderr (NC_TEST_SKIP) and scripts/test.sh counts
 * them as skipped.  Each test uses its own
 * namespace, bucket or container, named after the test and its PID.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../drivers/backup/backup.h"
#include "../spec/util.h"
#include "tests.h"
#include "testutil.h"

#define MiB (1024u * 1024)
#define T2024 1704067200LL


enum { K_RADOS, K_S3, K_SWIFT };
static const char *const kinds[] = { "rados", "s3", "swift" };

/* set by the unchecked fixture in the runner, inherited by each forked test */
static char cdir[64];             /* the suite's directory; ceph/ holds the cluster */
static bool ceph_up;
static int rgw_port;
static char skip_why[600];

/* ---- the cluster ---- */

static void write_secret(const char *name, const char *text)
{
	char *path = nc_xasprintf("%s/%s", cdir, name);
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, 0600);
	free(path);
}

static void ceph_setup(void)
{
	struct nc_test_ceph ceph;
	char *ceph_dir;

	snprintf(cdir, sizeof(cdir), "/tmp/nc-targets-XXXXXX");
	if (!mkdtemp(cdir)) {
		snprintf(skip_why, sizeof(skip_why), "mkdtemp: %s", strerror(errno));
		cdir[0] = '\0';
		return;
	}
	write_secret("s3.cred", "# radosgw user ci\naccess_key = NCTARGETSACCESS0000\n"
		"secret_key = nctargetssecret00000000000000000000000000\n");
	write_secret("swift.cred", "user = ci:swift\nkey = nctargetsswift\n");
	write_secret("s3-badsecret.cred", "access_key = NCTARGETSACCESS0000\nsecret_key = nope\n");
	write_secret("s3-badaccess.cred", "access_key = NOSUCHACCESSKEY\nsecret_key = nope\n");
	write_secret("swift-bad.cred", "user = ci:swift\nkey = wrong\n");
	ceph_dir = nc_xasprintf("%s/ceph", cdir);
	if (nc_test_ceph_up(&ceph, ceph_dir, true, "NC_CEPH_S3_ACCESS=NCTARGETSACCESS0000 "
			    "NC_CEPH_S3_SECRET=nctargetssecret00000000000000000000000000 "
			    "NC_CEPH_SWIFT_KEY=nctargetsswift", skip_why, sizeof(skip_why)) == 0) {
		ceph_up = true;
		rgw_port = ceph.rgw_port;
	}
	free(ceph_dir);
}

static void ceph_teardown(void)
{
	struct nc_run r;
	char *cmd;

	if (!cdir[0])
		return;
	cmd = nc_xasprintf("%s/ceph", cdir);
	nc_test_ceph_down(cmd);
	free(cmd);
	cmd = nc_xasprintf("rm -rf '%s'", cdir);
	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

/* no cluster: the test says why and stops (before it allocates anything) */
#define SKIP_WITHOUT_CEPH() do { \
		if (!ceph_up) { \
			NC_TEST_SKIP("%s", skip_why); \
			return; \
		} \
	} while (0)

/* ---- locations and targets ---- */

static char *in_dir(const char *name)
{
	return nc_xasprintf("%s/%s", cdir, name);
}

/* Strings of locations live until the test process ends (one test each). */
static char *kept[64];
static size_t nkept;

static char *keep(char *s)
{
	ck_assert(nkept < NC_ARRAY_SIZE(kept));
	return kept[nkept++] = s;
}

static struct nc_backup_location loc_for(int kind, const char *tag, const char *cred)
{
	struct nc_backup_location loc = { .type = kinds[kind] };
	char *name = keep(nc_xasprintf("bt-%s-%ld", tag, (long)getpid()));

	if (kind == K_RADOS) {
		loc.pool = "rbd";
		loc.ceph_conf = keep(in_dir("ceph/ceph.conf"));
		loc.prefix = name;                         /* the namespace */
	} else {
		loc.endpoint = keep(nc_xasprintf("http://127.0.0.1:%d", rgw_port));
		loc.bucket = name;
		loc.credentials_file = keep(in_dir(cred ? cred : kind == K_S3 ? "s3.cred" : "swift.cred"));
	}
	return loc;
}

static struct nc_backup_target *target_open(const struct nc_backup_location *loc, bool create)
{
	struct nc_backup_target *t;
	struct nc_err err = { "" };

	ck_assert_msg(nc_backup_target_open(&t, loc, create, &err) == 0, "open %s: %s",
		loc->type, err.msg);
	return t;
}

static size_t count_objects(struct nc_backup_target *t, const char *dir)
{
	struct nc_err err = { "" };
	char **names;
	size_t n;

	ck_assert_msg(t->drv->list(t, dir, &names, &n, &err) == 0, "list: %s", err.msg);
	nc_backup_names_free(names, n);
	return n;
}

/* ---- deterministic data, a source and a sink in memory ---- */

#define make_image(size, seed) nc_test_image((size), (seed), 5, "NovaCron backs up this line to an object store. ")

struct mem {
	unsigned char *p;
	size_t len;
	long fail_after;     /* reads before a simulated failure; -1 never */
	long reads;
};

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len, struct nc_err *err)
{
	struct mem *m = ctx;

	if (m->fail_after >= 0 && m->reads >= m->fail_after) {
		nc_err_set(err, "simulated read failure at offset %llu", (unsigned long long)off);
		return -1;
	}
	m->reads++;
	ck_assert(off + len <= m->len);
	memcpy(buf, m->p + off, len);
	return 0;
}

static int mem_write(void *ctx, uint64_t off, const void *buf, size_t len, struct nc_err *err)
{
	struct mem *m = ctx;

	(void)err;
	ck_assert(off + len <= m->len);
	memcpy(m->p + off, buf, len);
	return 0;
}

static int backup_mem(struct nc_backup_stats *st, struct nc_backup_repo *r,
	const struct nc_backup_meta *meta, unsigned char *img, long fail_after,
	const struct nc_backup_changes *ch, struct nc_err *err)
{
	struct mem m = { img, meta->disk_size, fail_after, 0 };
	struct nc_backup_source src = { .read = mem_read, .ctx = &m };

	return nc_backup_write(st, r, meta, &src, ch, err);
}

static void backup_ok(struct nc_backup_stats *st, struct nc_backup_repo *r,
	const struct nc_backup_meta *meta, unsigned char *img, const struct nc_backup_changes *ch)
{
	struct nc_err err = { "" };

	ck_assert_msg(backup_mem(st, r, meta, img, -1, ch, &err) == 0, "backup: %s", err.msg);
}

static void restore_cmp(struct nc_backup_repo *r, const char *id, const unsigned char *want,
	size_t len)
{
	struct mem m = { nc_xmalloc(len), len, -1, 0 };
	struct nc_backup_sink sink = { mem_write, NULL, &m };
	struct nc_backup_restore_stats rs;
	struct nc_err err = { "" };

	memset(m.p, 0xa5, len);
	ck_assert_msg(nc_backup_restore(&rs, r, id, &sink, &err) == 0, "restore: %s", err.msg);
	ck_assert_uint_eq(rs.bytes_written, len);
	ck_assert_msg(memcmp(m.p, want, len) == 0, "restored image differs");
	free(m.p);
}

static struct nc_backup_repo *repo_create(const struct nc_backup_location *loc,
	const char *key_file, uint32_t chunk_size)
{
	struct nc_backup_repo_opts o = { .key_file = key_file, .chunk_size = chunk_size };
	struct nc_backup_target *t = target_open(loc, true);
	struct nc_backup_repo *r;
	struct nc_err err = { "" };

	ck_assert_msg(nc_backup_create(&r, t, &o, &err) == 0, "create on %s: %s", loc->type, err.msg);
	return r;
}

/* Opens the repository on a new target handle: what a later run sees. */
static int repo_open(struct nc_backup_repo **out, const struct nc_backup_location *loc,
	const char *key_file, struct nc_err *err)
{
	struct nc_backup_repo_opts o = { .key_file = key_file };
	struct nc_backup_target *t = target_open(loc, false);
	int rc = nc_backup_open(out, t, &o, err);

	if (rc < 0)
		t->drv->close(t);
	return rc;
}

static void check_clean(struct nc_backup_repo *r, bool read_data, size_t *unreferenced)
{
	struct nc_backup_check_opts o = { .read_data = read_data };
	struct nc_backup_check_report c;
	struct nc_err err = { "" };

	ck_assert_msg(nc_backup_check(&c, r, &o, &err) == 0, "check: %s", err.msg);
	ck_assert_msg(c.nproblems == 0, "check: %s", c.nproblems ? c.problems[0] : "");
	if (unreferenced)
		*unreferenced = c.chunks_unreferenced;
	nc_backup_check_report_release(&c);
}

/* The repository's target, through a second handle on the same location. */
static size_t stored_chunks(const struct nc_backup_location *loc)
{
	struct nc_backup_target *t = target_open(loc, false);
	size_t n = count_objects(t, "chunks");

	t->drv->close(t);
	return n;
}

/* ---- tests ---- */

START_TEST(test_target_ops)
{
	struct nc_backup_location loc, other;
	struct nc_backup_target *t, *u;
	struct nc_err err = { "" };
	unsigned char *data;
	char **names;
	size_t len, n;

	SKIP_WITHOUT_CEPH();
	loc = loc_for(_i, "ops", NULL);
	t = target_open(&loc, true);
	ck_assert_int_eq(t->drv->get(t, "config", &data, &len, &err), NC_BACKUP_ENOENT);
	ck_assert_int_eq(t->drv->exists(t, "config", &err), 0);
	ck_assert_int_lt(t->drv->put(t, "../escape", "x", 1, &err), 0);
	ck_assert_int_lt(t->drv->put(t, "a/b/c", "x", 1, &err), 0);
	ck_assert_int_eq(t->drv->put(t, "config", "cfg", 3, &err), 0);
	ck_assert_int_eq(t->drv->put(t, "chunks/abcdef", "one", 3, &err), 0);
	ck_assert_msg(t->drv->put(t, "chunks/abcdef", "two!", 4, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(t->drv->put(t, "chunks/0123", "", 0, &err), 0);
	ck_assert_int_eq(t->drv->put(t, "snapshots/ff00", "s", 1, &err), 0);
	ck_assert_int_eq(t->drv->exists(t, "chunks/abcdef", &err), 1);
	ck_assert_int_eq(t->drv->exists(t, "chunks/abcdee", &err), 0);
	ck_assert_msg(t->drv->get(t, "chunks/abcdef", &data, &len, &err) == 0, "%s", err.msg);
	ck_assert(len == 4 && memcmp(data, "two!", 4) == 0);
	free(data);
	ck_assert_int_eq(t->drv->get(t, "chunks/0123", &data, &len, &err), 0);
	ck_assert_uint_eq(len, 0);
	free(data);
	ck_assert_int_eq(t->drv->list(t, "chunks", &names, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[0], "0123");
	ck_assert_str_eq(names[1], "abcdef");
	nc_backup_names_free(names, n);
	ck_assert_int_eq(t->drv->list(t, "snapshots", &names, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "ff00");
	nc_backup_names_free(names, n);

	/* another namespace, bucket or container sees none of it */
	other = loc_for(_i, "ops2", NULL);
	u = target_open(&other, true);
	ck_assert_uint_eq(count_objects(u, "chunks"), 0);
	ck_assert_int_eq(u->drv->get(u, "config", &data, &len, &err), NC_BACKUP_ENOENT);
	u->drv->close(u);

	ck_assert_int_eq(t->drv->del(t, "chunks/abcdef", &err), 0);
	ck_assert_msg(t->drv->del(t, "chunks/abcdef", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(t->drv->exists(t, "chunks/abcdef", &err), 0);
	ck_assert_int_eq(t->drv->sync(t, &err), 0);
	ck_assert_uint_eq(count_objects(t, "chunks"), 1);
	t->drv->close(t);

	/* s3, swift: a prefix keeps repositories apart in one bucket */
	if (_i != K_RADOS) {
		struct nc_backup_location p = loc;

		p.prefix = "repos/web/";
		t = target_open(&p, false);
		ck_assert_uint_eq(count_objects(t, "chunks"), 0);
		ck_assert_int_eq(t->drv->put(t, "chunks/99", "p", 1, &err), 0);
		ck_assert_uint_eq(count_objects(t, "chunks"), 1);
		t->drv->close(t);
		t = target_open(&loc, false);
		ck_assert_int_eq(t->drv->list(t, "chunks", &names, &n, &err), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_str_eq(names[0], "0123");
		nc_backup_names_free(names, n);
		t->drv->close(t);
	}
}
END_TEST

START_TEST(test_full_and_incremental)
{
	const size_t size = 4 * MiB, cs = NC_BACKUP_DEFAULT_CHUNK;
	struct nc_backup_meta m = { .vm = "web1", .disk = "vda", .disk_size = size, .time = T2024,
		.quiesced = true };
	struct nc_backup_extent ext[12];
	struct nc_backup_changes ch = { ext, NC_ARRAY_SIZE(ext) };
	struct nc_backup_stats full, inc, again;
	struct nc_backup_location loc;
	struct nc_backup_snapshot *v;
	struct nc_backup_repo *r;
	struct nc_err err = { "" };
	unsigned char *img, *img2;
	bool dirty[4 * MiB / NC_BACKUP_DEFAULT_CHUNK] = { false };
	size_t i, n, ndirty = 0;
	uint64_t s = 99;

	SKIP_WITHOUT_CEPH();
	loc = loc_for(_i, "full", NULL);
	img = make_image(size, 42 + (uint64_t)_i);
	r = repo_create(&loc, NULL, 0);
	backup_ok(&full, r, &m, img, NULL);
	ck_assert_uint_eq(full.chunks, size / cs);
	ck_assert(full.chunks_new > 0);
	ck_assert(full.chunks_zero > 0);
	ck_assert_uint_eq(stored_chunks(&loc), full.chunks_new);
	restore_cmp(r, full.id, img, size);

	/* change a dozen 4 KiB blocks: the increment stores only their chunks */
	img2 = nc_xmalloc(size);
	memcpy(img2, img, size);
	for (i = 0; i < NC_ARRAY_SIZE(ext); i++) {
		size_t b = (size_t)(nc_test_rng(&s) % (size / 4096));

		nc_test_fill_random(img2 + b * 4096, 4096, &s);
		ext[i].offset = (uint64_t)b * 4096;
		ext[i].length = 4096;
		if (!dirty[b * 4096 / cs])
			ndirty++;
		dirty[b * 4096 / cs] = true;
	}
	m.parent = full.id;
	m.time += 86400;
	backup_ok(&inc, r, &m, img2, &ch);
	ck_assert_uint_eq(inc.chunks_unchanged, size / cs - ndirty);
	ck_assert_uint_eq(inc.bytes_read, ndirty * cs);
	ck_assert_uint_eq(inc.chunks_new, ndirty);      /* random blocks: every dirty chunk is new */
	ck_assert_uint_eq(stored_chunks(&loc), full.chunks_new + inc.chunks_new);
	restore_cmp(r, inc.id, img2, size);

	/* reading everything again stores nothing */
	backup_ok(&again, r, &m, img2, NULL);
	ck_assert_str_eq(again.id, inc.id);
	ck_assert_uint_eq(again.chunks_new, 0);
	check_clean(r, true, NULL);
	nc_backup_close(r);

	/* a later run opens it and finds both snapshots */
	ck_assert_msg(repo_open(&r, &loc, NULL, &err) == 0, "open: %s", err.msg);
	ck_assert_int_eq(nc_backup_list(&v, &n, r, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].id, full.id);
	ck_assert_str_eq(v[1].id, inc.id);
	nc_backup_snapshots_free(v, n);
	restore_cmp(r, full.id, img, size);
	nc_backup_close(r);
	/* creating it again is refused */
	{
		struct nc_backup_repo_opts o = { 0 };
		struct nc_backup_target *t = target_open(&loc, true);

		ck_assert_int_lt(nc_backup_create(&r, t, &o, &err), 0);
		HAS(err.msg, "already exists");
		t->drv->close(t);
	}
	free(img);
	free(img2);
}
END_TEST

START_TEST(test_encrypted)
{
	const size_t size = 2 * MiB;
	struct nc_backup_meta m = { .vm = "db", .disk = "vdb", .disk_size = size, .time = T2024,
		.quiesced = false };
	struct nc_backup_location loc;
	struct nc_backup_stats st;
	struct nc_backup_repo *r;
	struct nc_backup_target *t;
	struct nc_err err = { "" };
	char *key = NULL, *bad = NULL, **names;
	unsigned char *img, *obj;
	size_t n, len;

	SKIP_WITHOUT_CEPH();
	key = nc_xasprintf("%s/key-%d", cdir, _i);
	bad = nc_xasprintf("%s/badkey-%d", cdir, _i);
	write_secret(strrchr(key, '/') + 1,
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	write_secret(strrchr(bad, '/') + 1,
		"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n");
	loc = loc_for(_i, "enc", NULL);
	img = make_image(size, 7);
	r = repo_create(&loc, key, 0);
	ck_assert(nc_backup_encrypted(r));
	backup_ok(&st, r, &m, img, NULL);
	nc_backup_close(r);

	/* what the store holds is sealed: no chunk contains the image's text */
	t = target_open(&loc, false);
	ck_assert_int_eq(t->drv->list(t, "chunks", &names, &n, &err), 0);
	ck_assert_uint_eq(n, st.chunks_new);
	ck_assert(n > 0);
	{
		char *name = nc_xasprintf("chunks/%s", names[0]);

		ck_assert_int_eq(t->drv->get(t, name, &obj, &len, &err), 0);
		ck_assert(obj[0] & 2);                     /* the encrypted flag */
		ck_assert(memmem(obj, len, "NovaCron backs up", 17) == NULL);
		free(obj);
		free(name);
	}
	nc_backup_names_free(names, n);
	t->drv->close(t);

	ck_assert_int_lt(repo_open(&r, &loc, bad, &err), 0);
	HAS(err.msg, "wrong key");
	ck_assert_int_lt(repo_open(&r, &loc, NULL, &err), 0);
	HAS(err.msg, "encrypted");
	ck_assert_msg(repo_open(&r, &loc, key, &err) == 0, "open: %s", err.msg);
	restore_cmp(r, st.id, img, size);
	check_clean(r, true, NULL);
	nc_backup_close(r);
	free(img);
	free(key);
	free(bad);
}
END_TEST

START_TEST(test_interrupted_and_prune)
{
	const size_t size = MiB, cs = NC_BACKUP_DEFAULT_CHUNK;
	struct nc_backup_meta m = { .vm = "vm", .disk = "vda", .disk_size = size, .time = T2024,
		.quiesced = false };
	struct nc_backup_retention keep5 = { .keep_last = 5 }, keep1 = { .keep_last = 1 };
	struct nc_backup_prune_report pr;
	struct nc_backup_location loc;
	struct nc_backup_snapshot *v;
	struct nc_backup_stats a, b;
	struct nc_backup_repo *r;
	struct nc_err err = { "" };
	unsigned char *img, *img2;
	uint64_t s = 1234 + (uint64_t)_i;
	size_t n, orphans;

	SKIP_WITHOUT_CEPH();
	img = nc_xmalloc(size);
	img2 = nc_xmalloc(size);
	nc_test_fill_random(img, size, &s);
	nc_test_fill_random(img2, size, &s);
	loc = loc_for(_i, "intr", NULL);
	r = repo_create(&loc, NULL, 0);
	backup_ok(&a, r, &m, img, NULL);
	ck_assert_uint_eq(a.chunks_new, size / cs);

	/* the source fails after 5 chunks: those 5 are stored, no manifest */
	m.time += 3600;
	ck_assert_int_lt(backup_mem(&b, r, &m, img2, 5, NULL, &err), 0);
	HAS(err.msg, "simulated read failure");
	ck_assert_uint_eq(stored_chunks(&loc), a.chunks_new + 5);
	ck_assert_int_eq(nc_backup_list(&v, &n, r, &err), 0);
	ck_assert_uint_eq(n, 1);
	nc_backup_snapshots_free(v, n);
	check_clean(r, false, &orphans);
	ck_assert_uint_eq(orphans, 5);
	ck_assert_msg(nc_backup_prune(&pr, r, &keep5, false, &err) == 0, "prune: %s", err.msg);
	ck_assert_uint_eq(pr.nremoved, 0);
	ck_assert_uint_eq(pr.chunks_deleted, 5);
	nc_backup_prune_report_release(&pr);
	ck_assert_uint_eq(stored_chunks(&loc), a.chunks_new);
	check_clean(r, true, &orphans);
	ck_assert_uint_eq(orphans, 0);
	restore_cmp(r, a.id, img, size);

	/* the retried backup completes; pruning to one snapshot deletes a's chunks */
	backup_ok(&b, r, &m, img2, NULL);
	ck_assert_uint_eq(b.chunks_new, size / cs);     /* 5 were swept, all stored again */
	ck_assert_msg(nc_backup_prune(&pr, r, &keep1, false, &err) == 0, "prune: %s", err.msg);
	ck_assert_uint_eq(pr.nremoved, 1);
	ck_assert_str_eq(pr.removed[0], a.id);
	ck_assert_uint_eq(pr.chunks_deleted, a.chunks_new);
	nc_backup_prune_report_release(&pr);
	ck_assert_uint_eq(stored_chunks(&loc), b.chunks_new);
	restore_cmp(r, b.id, img2, size);
	check_clean(r, true, NULL);
	nc_backup_close(r);
	free(img);
	free(img2);
}
END_TEST

/* 4 KiB chunks of 5 MiB of random data: 1280 objects, more than one listing page. */
START_TEST(test_many_objects)
{
	const size_t size = 5 * MiB;
	struct nc_backup_meta m = { .vm = "big", .disk = "vda", .disk_size = size, .time = T2024,
		.quiesced = false };
	struct nc_backup_location loc;
	struct nc_backup_stats st;
	struct nc_backup_repo *r;
	unsigned char *img;
	uint64_t s = 4242;
	size_t unref;

	SKIP_WITHOUT_CEPH();
	img = nc_xmalloc(size);
	nc_test_fill_random(img, size, &s);
	loc = loc_for(_i, "many", NULL);
	r = repo_create(&loc, NULL, NC_BACKUP_MIN_CHUNK);
	ck_assert_uint_eq(nc_backup_chunk_size(r), 4096);
	backup_ok(&st, r, &m, img, NULL);
	ck_assert_uint_eq(st.chunks_new, size / 4096);
	ck_assert_uint_eq(stored_chunks(&loc), 1280);
	check_clean(r, false, &unref);
	ck_assert_uint_eq(unref, 0);
	/*
	 * A full restore is 1280 GETs; radosgw's beast frontend answers a GET
	 * on a kept-alive connection only after a delayed ACK (about 40 ms),
	 * so over HTTP the restore is checked on a 64-chunk copy instead.
	 */
	if (_i == K_RADOS) {
		restore_cmp(r, st.id, img, size);
	} else {
		struct nc_backup_meta small = m;
		struct nc_backup_stats st2;

		small.disk = "vdb";
		small.disk_size = 64 * 4096;
		backup_ok(&st2, r, &small, img, NULL);
		ck_assert_uint_eq(st2.chunks_reused, 64);        /* found by their names */
		restore_cmp(r, st2.id, img, small.disk_size);
	}
	nc_backup_close(r);
	free(img);
}
END_TEST

/*
 * The whole path from a BackupSchedule's target to the repository: the
 * novacron binary backs up a simulated VM (whose disk file exists) into
 * this Ceph through each target type, with encryption and a prefix, then
 * lists, checks and prunes it.
 */
START_TEST(test_cli_schedule_targets)
{
	struct nc_run r;
	char *dir, *target, *yaml, *cfg;
	int kind = _i;

	SKIP_WITHOUT_CEPH();
	dir = nc_xasprintf("%s/cli-%s", cdir, kinds[kind]);
	if (kind == K_RADOS)
		target = nc_xasprintf("{type: rados, pool: rbd, cephConf: %s/ceph/ceph.conf, cephUser: admin, "
				      "prefix: cli-%ld}", cdir, (long)getpid());
	else
		target = nc_xasprintf("{type: %s, endpoint: 'http://127.0.0.1:%d', bucket: cli-%s-%ld, "
				      "credentialsFile: %s/%s.cred, prefix: team-a/}", kinds[kind], rgw_port,
				      kinds[kind], (long)getpid(), cdir, kinds[kind]);
	yaml = nc_xasprintf(
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: 'sim:///h1'}\n---\n"
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\n"
		"spec: {type: dir, path: %s/pool}\n---\n"
		"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: s}\nspec:\n"
		"  schedule: '@daily'\n  vms: [v]\n  target: %s\n  encryption: {keyFile: %s/key}\n"
		"  retention: {keepLast: 1}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: v}\nspec:\n  vcpus: 1\n  memory: 64MiB\n"
		"  disks: [{name: root, pool: local, size: 16MiB}]\n", dir, target, dir);
	ck_assert_int_eq(nc_mkdir_p(dir), 0);
	/* the operator lets the spec's pool, key, credentials and ceph.conf be here */
	ck_assert_int_eq(nc_run_inq(dir, "printf 'paths: {secrets: [%s], ceph: [%s], pools: [%s]}\\n' > novacron.yaml",
				    cdir, cdir, cdir), 0);
	cfg = nc_xasprintf("%s/novacron.yaml", dir);
	setenv("NOVACRON_CONFIG", cfg, 1);
	ck_assert_int_eq(nc_run_inq(dir, "mkdir -p spec pool && cat > spec/c.yaml <<'EOF'\n%sEOF\n"
				    "(umask 077 && head -c 32 /dev/urandom > key) && $NC apply spec --state-dir st --auto-approve && "
				    "qemu-img create -q -f qcow2 pool/v-root.qcow2 16M && "
				    "qemu-io -f qcow2 -c 'write -P 0x77 1M 2M' pool/v-root.qcow2", yaml), 0);
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC backup run v spec --state-dir st"), 0);
	ck_assert_msg(strstr(r.out, "v: backup ") != NULL, "%.2000s%.2000s", r.out, r.err);
	nc_run_free(&r);
	ck_assert_int_eq(nc_run_inq(dir, "qemu-io -f qcow2 -c 'write -P 0x78 5M 4k' pool/v-root.qcow2"), 0);
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC backup run v spec --state-dir st"), 0);
	ck_assert_msg(strstr(r.out, "chunks 1 new") != NULL, "%.2000s%.2000s", r.out, r.err);
	nc_run_free(&r);
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC backup list --schedule s -o json spec --state-dir st | grep -c '\"id\"'"), 0);
	ck_assert_str_eq(r.out, "2\n");
	nc_run_free(&r);
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC backup check --schedule s --read-data spec --state-dir st"), 0);
	ck_assert_msg(strstr(r.out, "repository is consistent") != NULL, "%.2000s", r.out);
	nc_run_free(&r);
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC backup prune --schedule s spec --state-dir st"), 0);
	ck_assert_msg(strstr(r.out, "prune: 1 kept, 1 removed") != NULL, "%.2000s", r.out);
	nc_run_free(&r);
	/* a wrong key is refused, and says so */
	ck_assert_int_eq(nc_run_in(&r, dir, "head -c 32 /dev/urandom > key && "
				   "$NC backup list --schedule s spec --state-dir st"), 1);
	ck_assert_msg(strstr(r.err, "wrong key") != NULL, "%.2000s", r.err);
	nc_run_free(&r);
	unsetenv("NOVACRON_CONFIG");
	free(cfg);
	free(yaml);
	free(target);
	free(dir);
}
END_TEST

START_TEST(test_wrong_credentials)
{
	struct nc_backup_location loc;
	struct nc_backup_target *t;
	struct nc_err err = { "" };

	SKIP_WITHOUT_CEPH();
	loc = loc_for(K_S3, "cred", "s3-badsecret.cred");
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "HTTP 403 SignatureDoesNotMatch");
	loc = loc_for(K_S3, "cred", "s3-badaccess.cred");
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, false, &err), 0);
	HAS(err.msg, "HTTP 403 InvalidAccessKeyId");
	loc = loc_for(K_SWIFT, "cred", "swift-bad.cred");
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "swift auth at http://127.0.0.1:");
	HAS(err.msg, "wrong user or key");
	loc = loc_for(K_RADOS, "cred", NULL);
	loc.ceph_user = "nosuchuser";
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "cannot connect as client.nosuchuser");

	/* missing bucket, container, pool; an empty bucket is no repository */
	loc = loc_for(K_S3, "missing", NULL);
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, false, &err), 0);
	HAS(err.msg, "HTTP 404 NoSuchBucket");
	loc = loc_for(K_SWIFT, "missing", NULL);
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, false, &err), 0);
	HAS(err.msg, "does not exist");
	loc = loc_for(K_RADOS, "missing", NULL);
	loc.pool = "nosuchpool";
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "pool nosuchpool");
	{
		struct nc_backup_repo *r;

		loc = loc_for(K_S3, "empty", NULL);
		t = target_open(&loc, true);
		t->drv->close(t);
		ck_assert_int_lt(repo_open(&r, &loc, NULL, &err), 0);
		HAS(err.msg, "not a backup repository");
	}
}
END_TEST

/* Needs no cluster. */
START_TEST(test_location_errors)
{
	struct nc_backup_location loc = { .type = "s3" };
	struct nc_backup_target *t;
	struct nc_err err = { "" };
	char *cred;

	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	ck_assert_str_eq(err.msg, "s3 target needs endpoint and bucket");
	loc.type = "swift";
	loc.endpoint = "http://127.0.0.1:1";
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "swift target needs endpoint and bucket");
	loc.type = "rados";
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	ck_assert_str_eq(err.msg, "rados target needs pool");
	loc.type = "dir";
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	ck_assert_str_eq(err.msg, "dir target needs path");
	loc.type = "ftp";
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "unknown backup target type 'ftp'");
	loc.type = NULL;
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "no type");

	/* the dir type goes through the same entry point */
	loc = (struct nc_backup_location){ .type = "dir", .path = NULL };
	loc.path = cred = nc_xasprintf("%s/dir-repo", cdir[0] ? cdir : "/tmp");
	ck_assert_msg(nc_backup_target_open(&t, &loc, true, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(t->drv->name, "dir");
	ck_assert_int_eq(t->drv->put(t, "config", "x", 1, &err), 0);
	t->drv->close(t);
	free(cred);
	if (!cdir[0]) {
		NC_TEST_SKIP("the credentials-file checks: %s", skip_why);
		return;
	}

	/* credentials files: too open, incomplete, malformed */
	loc = (struct nc_backup_location){ .type = "s3", .endpoint = "http://127.0.0.1:1",
		.bucket = "b" };
	loc.credentials_file = cred = in_dir("open.cred");
	write_secret("open.cred", "access_key = a\nsecret_key = b\n");
	chmod(cred, 0644);
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "is accessible by group or others (mode 0644): run chmod 600 ");
	free(cred);
	loc.credentials_file = cred = in_dir("half.cred");
	write_secret("half.cred", "# no secret\naccess_key = a\n");
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "needs access_key and secret_key");
	free(cred);
	loc.credentials_file = cred = in_dir("bad.cred");
	write_secret("bad.cred", "access_key a\n");
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "bad.cred:1: expected 'key = value'");
	loc.endpoint = "ftp://127.0.0.1";
	write_secret("bad.cred", "access_key = a\nsecret_key = b\n");
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "is not an http:// or https:// URL");

	/* nothing listens on port 1: retried, then a clear error */
	loc.endpoint = "http://127.0.0.1:1/";
	ck_assert_int_lt(nc_backup_target_open(&t, &loc, true, &err), 0);
	HAS(err.msg, "s3 create bucket b at http://127.0.0.1:1: ");
	HAS(err.msg, "(4 tries)");
	free(cred);
}
END_TEST

Suite *nc_suite_backup_targets(void)
{
	Suite *s = suite_create("backup_targets");
	TCase *tc = tcase_create("targets");

	tcase_add_unchecked_fixture(tc, ceph_setup, ceph_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_location_errors);
	tcase_add_loop_test(tc, test_target_ops, K_RADOS, K_SWIFT + 1);
	tcase_add_loop_test(tc, test_full_and_incremental, K_RADOS, K_SWIFT + 1);
	tcase_add_loop_test(tc, test_encrypted, K_RADOS, K_SWIFT + 1);
	tcase_add_loop_test(tc, test_interrupted_and_prune, K_RADOS, K_SWIFT + 1);
	tcase_add_loop_test(tc, test_many_objects, K_RADOS, K_SWIFT + 1);
	tcase_add_test(tc, test_wrong_credentials);
	tcase_add_loop_test(tc, test_cli_schedule_targets, K_RADOS, K_SWIFT + 1);
	suite_add_tcase(s, tc);
	return s;
}
