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

#define make_image(size, seed) nc_test_image((size), (seed), 4, "a disk moves between clusters, chunk by chunk. ")

/* changes n scattered 4 KiB blocks */
static void change_blocks(unsigned char *img, size_t size, size_t n, uint64_t seed)
{
	uint64_t s = seed | 1;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t b = (size_t)(nc_test_rng(&s) % (size / 4096));

		nc_test_fill_random(img + b * 4096, 4096, &s);
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
	struct nc_backup_source src = { .read = mem_read, .ctx = &m };
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

/* ---- plans and applies on simulated hosts ---- */

/*
 * T/spec: Clusters a (h1) and b (h2, h3), each with a BackupSchedule (dir
 * repositories T/repo-a and T/repo-b), the shared dir pool "local" (T/pool)
 * and VM v1 of cluster CLUSTER, 256 MiB, one 4 MiB disk, state STATE; b's
 * transfer.live LIVE.  T/cfg.yaml allows T as pool and backup root.
 */
static char sdir[64];

#define sh(r, ...) nc_run_in((r), sdir, __VA_ARGS__)
#define shq(...) nc_run_inq(sdir, __VA_ARGS__)
#define OPTS " spec --state-dir state --config cfg.yaml"
#define PLAN "$NC plan" OPTS
#define APPLY "$NC apply" OPTS " --auto-approve"

static void write_spec(const char *cluster, const char *state, const char *live, const char *extra)
{
	ck_assert_int_eq(shq(
		"mkdir -p spec pool && printf 'paths: {pools: [\"%%s\"], backups: [\"%%s\"]}\\n' \"$PWD\" \"$PWD\" "
		"> cfg.yaml && cat > spec/all.yaml <<EOF\n"
		"apiVersion: novacron.io/v1\nkind: Cluster\nmetadata: {name: a}\n"
		"spec: {transfer: {bandwidth: 100MiB, backupSchedule: bk-a}}\n---\n"
		"apiVersion: novacron.io/v1\nkind: Cluster\nmetadata: {name: b}\n"
		"spec: {transfer: {bandwidth: 10MiB, backupSchedule: bk-b, live: %s}}\n---\n"
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: \"sim:///h1\", cluster: a}\n---\n"
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h2}\nspec: {uri: \"sim:///h2\", cluster: b}\n---\n"
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h3}\nspec: {uri: \"sim:///h3\", cluster: b}\n---\n"
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\nspec: {type: dir, path: \"$PWD/pool\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: bk-a}\n"
		"spec:\n  schedule: \"30 2 * * *\"\n  vms: [v1]\n  target: {type: dir, path: \"$PWD/repo-a\"}\n"
		"  retention: {keepLast: 5}\n---\n"
		"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: bk-b}\n"
		"spec:\n  schedule: \"30 2 * * *\"\n  vmSelector: {matchLabels: {transfer: b}}\n  target: {type: dir, path: \"$PWD/repo-b\"}\n"
		"  retention: {keepLast: 5}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: v1}\n"
		"spec:\n  cluster: %s\n  vcpus: 1\n  memory: 256MiB\n  state: %s\n  backupSchedule: bk-a\n"
		"  disks:\n    - {name: root, pool: local, size: 4MiB}\n%s"
		"EOF", live, cluster, state, extra), 0);
}

static void plan_setup(void)
{
	snprintf(sdir, sizeof(sdir), "/tmp/nc-xmove-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sdir));
}

static void plan_teardown(void)
{
	nc_run_inq("/", "rm -rf '%s'", sdir);
}

static bool on_host(const char *h, const char *vm)
{
	struct nc_run r;
	char *needle = nc_xasprintf("%s ", vm);
	bool yes;

	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state %s list", h), 0);
	yes = strncmp(r.out, needle, strlen(needle)) == 0;
	nc_run_free(&r);
	free(needle);
	return yes;
}

/* a running VM moves live to a host of its new cluster; the plan says how, how much, how long */
START_TEST(test_plan_live)
{
	struct nc_run r;

	write_spec("a", "running", "true", "");
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert(on_host("h1", "v1"));
	write_spec("b", "running", "true", "");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "v1: migrate h1 -> h2 (cluster a -> b, live with full storage copy, ~256.0 MiB over the link, "
		"~26 s at 10.0 MiB/s)");
	HAS(r.out, "cluster: VM v1 belongs to cluster b, its domain is on h1 of cluster a; method live");
	nc_run_free(&r);
	/* the same in Markdown and JSON */
	ck_assert_int_eq(sh(&r, PLAN " --output markdown"), 2);
	HAS(r.out, "cluster a -> b, live with full storage copy");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"cluster_move\": {\"from\": \"a\", \"to\": \"b\", \"method\": \"live\"");
	HASJ(r.out, "\"seconds\": 26}");
	HASJ(r.out, "\"bandwidth\": 10485760");
	HASJ(r.out, "\"estimate\": true");
	nc_run_free(&r);
	/* byte-identical plans for the same inputs */
	ck_assert_int_eq(shq(PLAN " --output json > p1 ; " PLAN " --output json > p2 ; cmp p1 p2"), 0);
	/* applied: the VM runs on h2, and the next plan is empty */
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert(!on_host("h1", "v1"));
	ck_assert(on_host("h2", "v1"));
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/* live not allowed, or the VM stopped: through a backup, with an honest estimate */
START_TEST(test_plan_backup_method)
{
	struct nc_run r;

	write_spec("a", "running", "false", "");
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	write_spec("b", "running", "false", "");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "v1: migrate h1 -> h2 (cluster a -> b, backup (shut down first)");
	HAS(r.out, "cluster b does not allow live moves (transfer.live: false)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"method\": \"backup\"");
	HASJ(r.out, "an upper bound: no backup of v1 in bk-a's repository");
	nc_run_free(&r);

	/* stopped: backup too; once a backup exists, the estimate compares chunk ids */
	write_spec("a", "stopped", "true", "");
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pool/v1-root.qcow2 4M && "
			     "qemu-io -f qcow2 -c 'write -P 0x42 0 1M' -c 'write -P 0x17 2M 1M' pool/v1-root.qcow2 "
			     ">/dev/null && qemu-img convert -O raw pool/v1-root.qcow2 a.raw && sha256sum a.raw > disk.sum"), 0);
	ck_assert_int_eq(sh(&r, "$NC backup run v1" OPTS), 0);
	nc_run_free(&r);
	write_spec("b", "stopped", "true", "");
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"method\": \"backup\"");
	HASJ(r.out, "the chunks bk-b's repository lacks of the newest backup of v1 in bk-a's");
	HASJ(r.out, "an estimate: the backup the move takes is newer");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "sent to bk-b's repository");
	nc_run_free(&r);
	ck_assert(!on_host("h1", "v1"));
	ck_assert(on_host("h2", "v1"));
	/* the guest sees the same bytes (sim pools of every host are one local directory) */
	ck_assert_int_eq(shq("qemu-img convert -O raw pool/v1-root.qcow2 a.raw && sha256sum -c disk.sum >/dev/null"), 0);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule bk-b" OPTS), 0);
	HAS(r.out, "v1");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/*
 * A backup move cut short at every driver call, of a stopped VM (_i 0) and
 * of a running one whose destination allows no live moves (_i 1): the VM
 * stays at the source (running again, if it ran) with nothing defined at
 * the destination, or the move is made; the next apply converges, once.
 */
static bool running_on(const char *h, const char *vm)
{
	struct nc_run r;
	bool yes;

	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state %s list", h), 0);
	yes = strncmp(r.out, vm, strlen(vm)) == 0 && strstr(r.out, " running ") != NULL;
	nc_run_free(&r);
	return yes;
}

START_TEST(test_backup_move_faults)
{
	const char *state = _i ? "running" : "stopped", *live = _i ? "false" : "true";
	int k, failed = 0;

	write_spec("a", state, live, "");
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pool/v1-root.qcow2 4M && "
			     "qemu-io -f qcow2 -c 'write -P 0x42 0 1M' pool/v1-root.qcow2 >/dev/null"), 0);
	write_spec("b", state, live, "");
	ck_assert_int_eq(shq("cp -a state state.0"), 0);
	for (k = 1; k <= 8; k++) {
		struct nc_run r;
		int rc;

		ck_assert_int_eq(shq("rm -rf state repo-b && cp -a state.0 state"), 0);
		rc = sh(&r, "NOVACRON_FAIL_AT=%d " APPLY, k);
		if (rc == 0) {       /* fewer calls than k: nothing failed */
			nc_run_free(&r);
			break;
		}
		ck_assert_int_eq(rc, 1);
		HAS(r.out, "injected failure");
		nc_run_free(&r);
		failed++;
		/* defined once: at the source (running again if it ran), or (cut short after the move)
		 * at the destination */
		ck_assert(on_host("h1", "v1") != (on_host("h2", "v1") || on_host("h3", "v1")));
		if (_i && on_host("h1", "v1"))
			ck_assert_msg(running_on("h1", "v1"), "k=%d: v1 not running again on h1", k);
		ck_assert_int_eq(sh(&r, APPLY), 0);
		nc_run_free(&r);
		ck_assert(!on_host("h1", "v1"));
		ck_assert(on_host("h2", "v1"));
		ck_assert_int_eq(sh(&r, PLAN), 0);
		nc_run_free(&r);
		if (_i)
			ck_assert(running_on("h2", "v1"));
	}
	ck_assert_int_ge(failed, 3);
}
END_TEST

/* refusals: no BackupSchedule at the destination; a network the destination lacks */
START_TEST(test_plan_refusals)
{
	struct nc_run r;

	write_spec("a", "stopped", "true", "");
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	write_spec("b", "stopped", "true", "");
	ck_assert_int_eq(shq("sed -i 's/, backupSchedule: bk-b//' spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "cannot move VM v1 from cluster a to b through a backup (not running): the destination "
		"Cluster sets no transfer.backupSchedule to receive it; nothing is done");
	nc_run_free(&r);
	ck_assert(on_host("h1", "v1"));
	/* a network of cluster a only */
	write_spec("b", "stopped", "true", "  nics:\n    - {name: eth0, network: lan-a}\n---\n"
		   "apiVersion: novacron.io/v1\nkind: Network\nmetadata: {name: lan-a}\n"
		   "spec: {type: nat, subnet: 192.168.171.0/24, cluster: a}\n");
	ck_assert_int_eq(sh(&r, PLAN), 1);
	ck_assert_msg(strstr(r.out, "lan-a") || strstr(r.err, "lan-a"), "%s%s", r.out, r.err);
	nc_run_free(&r);
	ck_assert(on_host("h1", "v1"));
}
END_TEST

/*
 * A VM with snapshots is not moved between clusters, live (_i 1) or
 * through a backup (_i 0): refused in the plan before any backup is taken
 * or sent (the backup move used to back up, copy and restore it, then
 * fail at the source's undefine, and do it all again every pass); the VM
 * stays on h1, as it was, with its snapshot.
 */
START_TEST(test_plan_refuses_snapshots)
{
	const char *state = _i ? "running" : "stopped";
	const char *snaps = "  snapshots:\n    - {name: s1}\n";
	struct nc_run r;

	write_spec("a", state, "true", snaps);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pool/v1-root.qcow2 4M"), 0);
	write_spec("b", state, "true", snaps);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "cannot move VM v1 from cluster a to b: it has 1 snapshot on h1, which a move between clusters "
		"does not carry");
	HASNT(r.out, "migrate h1 -> h2");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	nc_run_free(&r);
	ck_assert(on_host("h1", "v1"));
	ck_assert(!on_host("h2", "v1") && !on_host("h3", "v1"));
	ck_assert(!_i || running_on("h1", "v1"));
	ck_assert_int_eq(shq("test ! -e repo-a && test ! -e repo-b"), 0);
	ck_assert_int_eq(sh(&r, "$NC snapshot list v1" OPTS), 0);
	HAS(r.out, "s1 ");
	nc_run_free(&r);
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
	tc = tcase_create("plan");
	tcase_add_checked_fixture(tc, plan_setup, plan_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_plan_live);
	tcase_add_test(tc, test_plan_backup_method);
	tcase_add_loop_test(tc, test_backup_move_faults, 0, 2);
	tcase_add_test(tc, test_plan_refusals);
	tcase_add_loop_test(tc, test_plan_refuses_snapshots, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
