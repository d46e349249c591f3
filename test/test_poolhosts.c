/*
 * test_poolhosts.c - a StoragePool exists only on the hosts its hostSelector
 * matches (policies/placement.c, spec/validate.c), through the real binary
 * on simulated hosts: a VM whose disk needs the pool lands only on such a
 * host, the plan says which hosts were left out and why, the pool is
 * created only there, a drain moves the VM to another such host, a VM no
 * eligible host can take is a plan error, and a pin or hostSelector that
 * excludes every such host is a validate error at the disk's pool; restore
 * --host refuses a host without the pool.
 *
 * Each test works in its own directory T: T/spec holds hosts h1 and h3
 * (labelled disk: ssd) and h2 (no label), the pool "fast" (a dir pool
 * under T/pools, selecting disk: ssd) and VM a with a disk in it; T/cfg.yaml
 * allows T/pools; T/state holds the simulated hosts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"


static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

#define PLAN "$NC plan spec --state-dir state --config cfg.yaml"
#define APPLY "$NC apply spec --state-dir state --config cfg.yaml --auto-approve"

static void write_file(const char *rel, const char *text)
{
	char *path = nc_xasprintf("%s/%s", tdir, rel);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

/* hosts: h1 and h3 have disk: ssd; `maint` is "h1", "h3", "h1 h3" or "" */
static void write_hosts(const char *maint)
{
	char *doc = nc_xasprintf(
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1, labels: {disk: ssd}}\n"
		"spec: {uri: \"sim:///h1\", maintenance: %s}\n"
		"---\napiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h2}\nspec: {uri: \"sim:///h2\"}\n"
		"---\napiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h3, labels: {disk: ssd}}\n"
		"spec: {uri: \"sim:///h3\", maintenance: %s}\n",
		strstr(maint, "h1") ? "true" : "false", strstr(maint, "h3") ? "true" : "false");

	write_file("spec/hosts.yaml", doc);
	free(doc);
}

/* VM a; `placement` is a flow mapping body or "" */
static void write_vm(const char *placement)
{
	char *doc = nc_xasprintf(
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: a}\n"
		"spec:\n  vcpus: 1\n  memory: 1GiB\n"
		"  disks:\n    - {name: root, pool: fast, size: 1GiB}\n"
		"%s%s%s",
		*placement ? "  placement: {" : "", placement, *placement ? "}\n" : "");

	write_file("spec/vm.yaml", doc);
	free(doc);
}

static void setup(void)
{
	char *pool;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-poolhosts-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(shq("mkdir -p spec pools/fast && printf 'paths:\\n  pools: [%s/pools]\\n' > cfg.yaml",
			     tdir), 0);
	write_hosts("");
	pool = nc_xasprintf("apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: fast}\n"
			    "spec:\n  type: dir\n  path: %s/pools/fast\n"
			    "  hostSelector: {matchLabels: {disk: ssd}}\n", tdir);
	write_file("spec/pool.yaml", pool);
	free(pool);
	write_vm("");
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

/* whether simulated host h holds libvirt pool novacron-fast (saved in its state file) */
static bool has_pool(const char *h)
{
	return shq("test -f state/%s.xml && grep -q '<name>novacron-fast</name>' state/%s.xml", h, h) == 0;
}

static bool runs_on(const char *h)
{
	struct nc_run r;
	bool yes;

	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state %s list", h), 0);
	yes = strncmp(r.out, "a ", 2) == 0 || strstr(r.out, "\na ") != NULL;
	nc_run_free(&r);
	return yes;
}

/* h2 would win the tie (first by name among empty hosts) but has no pool */
START_TEST(test_lands_only_where_the_pool_is)
{
	struct nc_run r;

	write_hosts("h1");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "+ a: create on h3");
	HAS(r.out, "h2: does not have pool fast (disk 'root'; the pool's hostSelector does not match)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " -o json"), 2);
	HASJ(r.out, "h2: does not have pool fast");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert(runs_on("h3"));
	ck_assert(!runs_on("h2"));
	ck_assert(has_pool("h3"));
	ck_assert(!has_pool("h2"));
	ck_assert(!has_pool("h1"));
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/* a drain moves the VM to the other host that has the pool, never to h2 */
START_TEST(test_drain_respects_the_pool)
{
	struct nc_run r;

	write_hosts("h3");
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert(runs_on("h1"));
	write_hosts("h1");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "a: migrate h1 -> h3");
	HASNT(r.out, "-> h2");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert(runs_on("h3"));
	ck_assert(!has_pool("h2"));
	/* with both pool hosts in maintenance the VM stays, and the plan says why */
	write_hosts("h1 h3");
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "cannot move a off h3 (drain: h3 is in maintenance): no host fits: h1: in maintenance; "
		   "h2: does not have pool fast (disk 'root'; the pool's hostSelector does not match)");
	nc_run_free(&r);
}
END_TEST

/* no eligible host has the pool: a plan error, nothing created anywhere */
START_TEST(test_no_eligible_host_is_a_plan_error)
{
	struct nc_run r;

	write_hosts("h1 h3");
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "cannot place VM a: no host fits: h1: in maintenance; h2: does not have pool fast "
		   "(disk 'root'; the pool's hostSelector does not match); h3: in maintenance");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	nc_run_free(&r);
	ck_assert(!runs_on("h2"));
	ck_assert(!has_pool("h2"));
}
END_TEST

/* what the spec alone shows is a validate error at the disk's pool */
START_TEST(test_validate_pin_and_selector)
{
	struct nc_run r;

	write_vm("host: h2");
	ck_assert_int_eq(sh(&r, "$NC validate spec --config cfg.yaml"), 1);
	HAS(r.err, "spec/vm.yaml:8:26: error: disk 'root' of VM 'a' needs StoragePool 'fast', which Host 'h2' "
		   "(the VM's pinned host) does not have: the pool's hostSelector does not match it\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.err, "spec/vm.yaml:8:26: error: disk 'root' of VM 'a'");
	nc_run_free(&r);
	ck_assert_int_eq(shq("test ! -e state/h2.xml"), 0);

	write_vm("hostSelector: {matchExpressions: [{key: disk, operator: DoesNotExist}]}");
	ck_assert_int_eq(sh(&r, "$NC validate spec --config cfg.yaml"), 1);
	HAS(r.err, "spec/vm.yaml:8:26: error: disk 'root' of VM 'a' needs StoragePool 'fast', which none of "
		   "the 1 host the VM may run on has: the pool's hostSelector matches none of them\n");
	nc_run_free(&r);

	/* pinned to a host that has it: valid, and created there */
	write_vm("host: h3");
	ck_assert_int_eq(sh(&r, "$NC validate spec --config cfg.yaml"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert(runs_on("h3"));
}
END_TEST

/* restore --host: only onto a host that has the disk's pool; nothing made elsewhere */
START_TEST(test_restore_only_where_the_pool_is)
{
	struct nc_run r;
	char id[17];

	ck_assert_int_eq(shq("printf '  backups: [%s/repo]\\n' >> cfg.yaml && "
			     "printf 'apiVersion: novacron.io/v1\\nkind: BackupSchedule\\nmetadata: {name: b}\\n"
			     "spec: {schedule: \"@daily\", vms: [a], target: {type: dir, path: \"%s/repo\"}}\\n' "
			     "> spec/backup.yaml", tdir, tdir), 0);
	write_vm("host: h1");
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	/* a simulated host keeps no bytes: give the volume a file, as test_backup.c does */
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pools/fast/a-root.qcow2 1G"), 0);
	ck_assert_int_eq(sh(&r, "$NC backup run a spec --state-dir state --config cfg.yaml"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule b spec --config cfg.yaml"), 0);
	ck_assert_ptr_nonnull(strchr(r.out, '\n'));
	snprintf(id, sizeof(id), "%.16s", strchr(r.out, '\n') + 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC restore a --backup %s --as a2 --host h2 spec --state-dir state --config cfg.yaml",
			    id), 1);
	HAS(r.err, "novacron restore: host h2 does not have pool fast (disk 'root'): the pool's hostSelector does "
		   "not match it; give --host with a host it selects\n");
	nc_run_free(&r);
	ck_assert(!has_pool("h2"));
	ck_assert_int_eq(shq("test ! -e pools/fast/a2-root.qcow2"), 0);
	/* on h3 it is restored (the simulated volume gets a file first, as test_backup.c does) */
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pools/fast/a2-root.qcow2 1G"), 0);
	ck_assert_msg(sh(&r, "$NC restore a --backup %s --as a2 --host h3 spec --state-dir state --config cfg.yaml",
			 id) == 0, "%s%s", r.out, r.err);
	HAS(r.out, "defined a2 on h3");
	nc_run_free(&r);
	ck_assert(has_pool("h3"));
}
END_TEST

Suite *nc_suite_poolhosts(void)
{
	Suite *s = suite_create("poolhosts");
	TCase *tc = tcase_create("sim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_lands_only_where_the_pool_is);
	tcase_add_test(tc, test_drain_respects_the_pool);
	tcase_add_test(tc, test_no_eligible_host_is_a_plan_error);
	tcase_add_test(tc, test_validate_pin_and_selector);
	tcase_add_test(tc, test_restore_only_where_the_pool_is);
	suite_add_tcase(s, tc);
	return s;
}
