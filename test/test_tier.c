/*
 * test_tier.c - storage tiers and StorageTierPolicy (reconciler/tiering.h,
 * docs/storage.md "Storage tiers"), through the real binary on a simulated
 * host: a label rule moves a VM's disks to the archive tier and a second
 * plan is empty; the budget moves the largest disk first and postpones the
 * rest; an idleFor rule reads a real telemetry history (librrd files written
 * with nc_tm_store_write) and the hysteresis keeps a disk down until the VM
 * was active long enough; a policy removed brings the disks home; a failure
 * injected at every driver call of a move leaves the VM on a volume that
 * exists and the next apply converges; validate errors name file:line:col.
 *
 * T/spec: host h1, dir pools fast (tier fast, home of every disk) and slow
 * (tier archive), VM a (labels data: cold; disks root 1GiB, data 2GiB) and
 * VM b (root 1GiB).  T/state holds the simulated host.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "tests.h"
#include "testutil.h"
#include "../telemetry/store.h"

static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

#define PLAN "$NC plan spec --state-dir state --config cfg.yaml"
#define APPLY "$NC apply spec --state-dir state --config cfg.yaml --auto-approve"
#define T0 ((time_t)1767225600)     /* 2026-01-01 */

static void write_file(const char *rel, const char *text)
{
	char *path = nc_xasprintf("%s/%s", tdir, rel);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void write_policy(const char *body)
{
	char *doc = nc_xasprintf("apiVersion: novacron.io/v1\nkind: StorageTierPolicy\nmetadata: {name: cold}\n"
				 "spec:\n  vmSelector: {}\n%s", body);

	write_file("spec/tier.yaml", doc);
	free(doc);
}

static void setup(void)
{
	char *doc;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-tier-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(shq("mkdir -p spec state pools/fast pools/slow && "
			     "printf 'paths:\\n  pools: [%s/pools]\\n' > cfg.yaml", tdir), 0);
	doc = nc_xasprintf(
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: \"sim:///h1\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: fast}\n"
		"spec: {type: dir, path: %s/pools/fast, tier: fast}\n---\n"
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: slow}\n"
		"spec: {type: dir, path: %s/pools/slow, tier: archive}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: a, labels: {data: cold}}\n"
		"spec:\n  vcpus: 1\n  memory: 1GiB\n  disks:\n    - {name: root, pool: fast, size: 1GiB}\n"
		"    - {name: data, pool: fast, size: 2GiB}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: b}\n"
		"spec:\n  vcpus: 1\n  memory: 1GiB\n  disks:\n    - {name: root, pool: fast, size: 1GiB}\n",
		tdir, tdir);
	write_file("spec/all.yaml", doc);
	free(doc);
	ck_assert_int_eq(shq(APPLY " >/dev/null"), 0);
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

/* the domain of vm uses the volume of disk in pool (its persistent definition in the sim state) */
static bool uses(const char *vm, const char *disk, const char *pool)
{
	return shq("grep -q '<source file=\"%s/pools/%s/%s-%s.qcow2\"' state/h1.xml", tdir, pool, vm, disk) == 0;
}

/* the sim host holds volume VM-DISK.qcow2 in pool (libvirt pool novacron-POOL) */
static bool has_vol(const char *vm, const char *disk, const char *pool)
{
	return shq("grep -q '<path>%s/pools/%s/%s-%s.qcow2</path>' state/h1.xml", tdir, pool, vm, disk) == 0;
}

START_TEST(test_label_rule_moves_and_converges)
{
	struct nc_run r, r2;

	write_policy("  rules:\n    - selector: {matchLabels: {data: cold}}\n      tier: archive\n");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ a: move-volume on h1\n");
	HAS(r.out, "~ disk data: fast -> slow\n");
	HAS(r.out, "~ disk root: fast -> slow\n");
	HAS(r.out, "why: data: rule 1 of StorageTierPolicy cold (selector, tier archive), 2.0 GiB; "
		   "root: rule 1 of StorageTierPolicy cold (selector, tier archive), 1.0 GiB (live: block copy, then pivot)");
	HAS(r.out, "1 VM with disks to move between tiers.");
	HASNT(r.out, "b: move-volume");
	HASNT(r.out, "a: update");
	/* the same inputs: the same plan, byte for byte */
	ck_assert_int_eq(sh(&r2, PLAN), 2);
	ck_assert_str_eq(r.out, r2.out);
	nc_run_free(&r);
	nc_run_free(&r2);
	ck_assert_int_eq(sh(&r, PLAN " -o json"), 2);
	HASJ(r.out, "\"action\": \"move-volume\", \"vm\": \"a\"");
	HASJ(r.out, "\"live\": true, \"copy\": {\"volumes\": 2, \"bytes\": 3221225472}");
	HASJ(r.out, "\"move_volume\": 1");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "move-volume a on h1 ... done");
	nc_run_free(&r);
	ck_assert(uses("a", "root", "slow") && uses("a", "data", "slow"));
	ck_assert(has_vol("a", "root", "slow") && !has_vol("a", "root", "fast"));
	ck_assert(has_vol("a", "data", "slow") && !has_vol("a", "data", "fast"));
	ck_assert(uses("b", "root", "fast"));
	/* moved is not drift: nothing left to do */
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "No changes");
	nc_run_free(&r);
	/* the policy goes: the disks go home */
	ck_assert_int_eq(shq("rm spec/tier.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ disk root: slow -> fast\n");
	HAS(r.out, "root: no StorageTierPolicy selects VM a: back to its own pool, 1.0 GiB");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY " >/dev/null"), 0);
	ck_assert(uses("a", "root", "fast") && has_vol("a", "root", "fast") && !has_vol("a", "root", "slow"));
	ck_assert_int_eq(shq(PLAN " >/dev/null"), 0);
}
END_TEST

START_TEST(test_budget_largest_first)
{
	struct nc_run r;

	write_policy("  budget: 2GiB\n  rules:\n    - tier: archive\n");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	/* 4 GiB wanted: a's data (2 GiB) first, the two 1 GiB roots (a before b) wait */
	HAS(r.out, "~ disk data: fast -> slow\n");
	HASNT(r.out, "~ disk root");
	HAS(r.out, "tiering: move of a/root from pool fast to slow (1.0 GiB) postponed to a later pass: the budget "
		   "of this pass is used by larger moves of StorageTierPolicy cold (2.0 GiB)");
	HAS(r.out, "tiering: move of b/root from pool fast to slow (1.0 GiB) postponed");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY " >/dev/null"), 0);
	ck_assert(uses("a", "data", "slow") && uses("a", "root", "fast"));
	/* the next pass: the two roots fit */
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ a: move-volume on h1\n      why: root:");
	HAS(r.out, "~ b: move-volume on h1\n");
	HASNT(r.out, "postponed");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY " >/dev/null"), 0);
	ck_assert_int_eq(shq(PLAN " >/dev/null"), 0);
	/* a disk larger than the whole budget says so */
	write_policy("  budget: 1GiB\n  rules:\n    - tier: fast\n");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "tiering: move of a/data from pool slow to fast (2.0 GiB) postponed to a later pass: larger than "
		   "the whole budget of StorageTierPolicy cold (1.0 GiB)");
	nc_run_free(&r);
}
END_TEST

/* rounds a minute apart from T0 + 60*k0 to T0 + 60*k1; a does I/O where active(k) */
static void history(int k0, int k1, bool (*active)(int k))
{
	char *dir = nc_xasprintf("%s/state/telemetry", tdir);
	struct nc_tm_store_opts o = { .dir = dir, .step = 60 };
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };
	struct nc_tm_object obj[2];
	struct nc_tm_round r;
	int k;
	size_t i, m;

	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	for (k = k0; k <= k1; k++) {
		memset(&r, 0, sizeof(r));
		memset(obj, 0, sizeof(obj));
		for (i = 0; i < 2; i++) {
			obj[i].target = NC_MT_VM;
			obj[i].name = obj[i].id = (char *)(i ? "b" : "a");
			obj[i].host = (char *)"h1";
			obj[i].managed = true;
			for (m = 0; m < NC_METRICS_MAX; m++)
				obj[i].v[m] = NAN;
			obj[i].v[NC_VM_RUNNING] = 1;
			obj[i].v[NC_VM_VCPUS] = 1;
			obj[i].v[NC_VM_CPU_USAGE] = 0.1;
			obj[i].v[NC_VM_MEMORY_USED] = 1 << 27;
			/* b is always busy; a only where active() says */
			obj[i].v[NC_VM_DISK_READ_BPS] = i || active(k) ? 4096 : 0;
			obj[i].v[NC_VM_DISK_WRITE_BPS] = 0;
		}
		r.t = T0 + 60 * k;
		r.objs = obj;
		r.nobjs = 2;
		ck_assert_msg(nc_tm_store_write(st, &r, &err) == 0, "write: %s", err.msg);
	}
	nc_tm_store_close(st);
	free(dir);
}

static bool first_hour(int k)
{
	return k < 60;
}

static bool always(int k)
{
	(void)k;
	return true;
}

START_TEST(test_idle_rule_and_hysteresis)
{
	struct nc_run r;

	write_policy("  hysteresis: 30m\n  rules:\n    - idleFor: 90m\n      tier: archive\n");
	/* no history: nothing is idle */
	ck_assert_int_eq(shq(PLAN " >/dev/null"), 0);
	/* a busy for an hour, then idle 2 hours; b busy throughout */
	history(0, 180, first_hour);
	ck_assert_msg(sh(&r, PLAN) == 2, "%s%s", r.out, r.err);
	HAS(r.out, "~ a: move-volume on h1\n");
	HASNT(r.out, "~ b:");
	HAS(r.out, "data: rule 1 of StorageTierPolicy cold (idleFor, tier archive): no block I/O for 2h+ "
		   "(last at 2026-01-01T00:59:00Z), 2.0 GiB");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY " >/dev/null"), 0);
	ck_assert(uses("a", "root", "slow") && uses("a", "data", "slow"));
	ck_assert_int_eq(shq(PLAN " >/dev/null"), 0);
	/* a wakes up: 10 minutes of I/O are not the 30m hysteresis: held, with a note */
	history(181, 190, always);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "tiering: disk data of VM a held in pool slow: active for 9m of the 30m hysteresis of "
		   "StorageTierPolicy cold");
	HASNT(r.out, "move-volume");
	nc_run_free(&r);
	/* 40 minutes: back to its own pool */
	history(191, 220, always);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ disk data: slow -> fast\n");
	HAS(r.out, "no rule of StorageTierPolicy cold matches: back to its own pool");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY " >/dev/null"), 0);
	ck_assert(uses("a", "data", "fast"));
	ck_assert_int_eq(shq(PLAN " >/dev/null"), 0);
}
END_TEST

/* a failure at each driver call of the move: the VM is on a volume that exists, the next apply converges */
START_TEST(test_failure_at_every_call)
{
	int k;
	bool done = false;

	write_policy("  rules:\n    - selector: {matchLabels: {data: cold}}\n      tier: archive\n");
	ck_assert_int_eq(shq("cp -a state state.0"), 0);
	for (k = 1; k <= 40 && !done; k++) {
		ck_assert_int_eq(shq("rm -rf state && cp -a state.0 state"), 0);
		if (shq("NOVACRON_FAIL_AT=%d " APPLY " >/dev/null 2>&1", k) == 0) {
			done = true;
			continue;
		}
		/* each disk is defined where its volume is */
		ck_assert_msg((uses("a", "root", "fast") && has_vol("a", "root", "fast")) ||
			      (uses("a", "root", "slow") && has_vol("a", "root", "slow")), "fault %d: root", k);
		ck_assert_msg((uses("a", "data", "fast") && has_vol("a", "data", "fast")) ||
			      (uses("a", "data", "slow") && has_vol("a", "data", "slow")), "fault %d: data", k);
		ck_assert_msg(shq(APPLY " >/dev/null") == 0, "fault %d: the next apply failed", k);
		ck_assert_msg(shq(PLAN " >/dev/null") == 0, "fault %d: not converged", k);
		/* (an old volume whose delete failed after the move is left: the disk outlives it) */
		ck_assert(uses("a", "root", "slow") && has_vol("a", "root", "slow"));
		ck_assert(uses("a", "data", "slow") && has_vol("a", "data", "slow"));
	}
	ck_assert(done);
	ck_assert_int_gt(k, 3);
	/* the run that was not cut short leaves nothing behind */
	ck_assert(!has_vol("a", "root", "fast") && !has_vol("a", "data", "fast"));
	ck_assert_int_eq(shq("! grep -q novacron-move state/h1.xml"), 0);
}
END_TEST

START_TEST(test_validate_errors)
{
	struct nc_run r;

	write_policy("  rules:\n    - tier: cold\n    - idleFor: 10s\n      tier: archive\n");
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	HAS(r.err, "spec/tier.yaml:7:13: error: StorageTierPolicy 'cold': no StoragePool has tier 'cold' "
		   "(set spec.tier on the pools of that tier)");
	HAS(r.err, "spec/tier.yaml:8:16: error: 'idleFor' must be between 60000ms and 34560000000ms, found 10s");
	nc_run_free(&r);
	write_file("spec/two.yaml", "apiVersion: novacron.io/v1\nkind: StorageTierPolicy\nmetadata: {name: dup}\n"
		   "spec:\n  vmSelector: {matchLabels: {data: cold}}\n  rules: [{tier: archive}]\n");
	write_policy("  rules: [{tier: archive}]\n");
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	HAS(r.err, "spec/two.yaml:5:15: error: StorageTierPolicy 'dup' selects VM a, which StorageTierPolicy "
		   "'cold' already selects: a VM's disks follow one tier policy");
	nc_run_free(&r);
	ck_assert_int_eq(shq("rm spec/two.yaml"), 0);
	write_policy("  rules: [{selector: {}}]\n  budget: 0\n");
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	HAS(r.err, "spec/tier.yaml:6:11: error: missing required key 'tier' in tier rule\n");
	HAS(r.err, "spec/tier.yaml:7:11: error: 'budget' must be at least 1B, found 0\n");
	nc_run_free(&r);
}
END_TEST

/*
 * A VM with snapshots keeps its disks where they are: a copy to another
 * pool (blockcopy, or an offline convert) carries the active layer only,
 * so its internal qcow2 snapshots would be lost while libvirt still lists
 * them.  The plan says why; the disks move once the snapshot is gone.
 */
START_TEST(test_snapshots_hold_disks)
{
	struct nc_run r;

	ck_assert_int_eq(shq("sed -i 's/^    - {name: data, pool: fast, size: 2GiB}$/&\\n  snapshots:\\n    - {name: s1}/' "
			     "spec/all.yaml && grep -q 'name: s1' spec/all.yaml"), 0);
	ck_assert_int_eq(shq(APPLY " >/dev/null"), 0);
	write_policy("  rules:\n    - selector: {matchLabels: {data: cold}}\n      tier: archive\n");
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HASNT(r.out, "a: move-volume");
	HAS(r.out, "tiering: disk data of VM a held in pool fast: VM a has 1 snapshot, which a move between pools "
		"would not carry");
	HAS(r.out, "tiering: disk root of VM a held in pool fast: VM a has 1 snapshot");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY " >/dev/null"), 0);
	ck_assert(uses("a", "root", "fast") && uses("a", "data", "fast"));
	/* the snapshot no longer declared: deleted, then the disks move */
	ck_assert_int_eq(shq("sed -i '/^  snapshots:$/d; /name: s1}$/d' spec/all.yaml && " APPLY " >/dev/null && "
			     APPLY " >/dev/null"), 0);
	ck_assert(uses("a", "root", "slow") && uses("a", "data", "slow"));
	ck_assert_int_eq(shq(PLAN " >/dev/null"), 0);
}
END_TEST

Suite *nc_suite_tier(void)
{
	Suite *s = suite_create("tier");
	TCase *tc = tcase_create("tier");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_label_rule_moves_and_converges);
	tcase_add_test(tc, test_budget_largest_first);
	tcase_add_test(tc, test_idle_rule_and_hysteresis);
	tcase_add_test(tc, test_failure_at_every_call);
	tcase_add_test(tc, test_validate_errors);
	tcase_add_test(tc, test_snapshots_hold_disks);
	suite_add_tcase(s, tc);
	return s;
}
