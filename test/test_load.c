/*
 * test_load.c - load-aware placement and rebalance (policies/load.c,
 * docs/placement.md "Observed load"): the real binary plans against
 * simulated hosts, with a history written by the store itself
 * (nc_tm_store_write, explicit timestamps) under STATE_DIR/telemetry.
 *
 * The cluster: h1 and h2, 8 CPUs and 32GiB each; six VMs of 2 vCPUs and
 * 2GiB, three per host (equal reserved sizes: a static rebalance has
 * nothing to do).  web-a on h1 is hot (both its vCPUs busy), the others
 * idle (5 %); each uses 128MiB; each host uses 0.2 CPUs and 1GiB of its own.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policies/placement.h"
#include "../telemetry/store.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

#define PLAN "$NC plan spec --state-dir state"
#define APPLY "$NC apply spec --state-dir state --auto-approve"

#define T0 ((time_t)1767225600)     /* 2026-01-01: any fixed time will do */
#define GiB (1024.0 * 1024 * 1024)
#define MiB (1024.0 * 1024)

static const char *const vms[] = { "web-a", "web-b", "web-c", "web-d", "web-e", "web-f" };

static void write_spec(const char *load, bool pinned)
{
	struct nc_buf b = NC_BUF_INIT;
	char *path = nc_xasprintf("%s/spec/all.yaml", tdir);
	FILE *f;
	size_t i;

	for (i = 1; i <= 2; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h%zu}\n"
			    "spec: {uri: \"sim:///h%zu?cpus=8&memory=32GiB\"}\n", i, i);
	nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: PlacementPolicy\nmetadata: {name: web}\n"
		    "spec:\n  vmSelector: {matchLabels: {app: w}}\n"
		    "  rebalance: {enabled: true, maxMovesPerPass: 2}\n%s", load);
	for (i = 0; i < NC_ARRAY_SIZE(vms); i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: %s, labels: {app: w}}\n"
			    "spec: {vcpus: 2, memory: 2GiB%s%s}\n", vms[i], pinned ? ", placement: {host: " : "",
			    pinned ? (i < 3 ? "h1}" : "h2}") : "");
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(b.buf, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	free(path);
	nc_buf_release(&b);
}

static const char *gap_vm;     /* its cpu_usage is unknown every other round */
static const char *hot2_vm;    /* busy as web-a too (the observed-load tests: a swap evens out use) */

static bool hot(const char *vm)
{
	return strcmp(vm, "web-a") == 0 || (hot2_vm && strcmp(vm, hot2_vm) == 0);
}

/* one hour of rounds, a minute apart; own_mem: each host's own memory use */
static void write_history(const char *skip_vm, double own_mem1, double own_mem2)
{
	char *dir = nc_xasprintf("%s/state/telemetry", tdir);
	struct nc_tm_store_opts o = { .dir = dir, .step = 60 };
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };
	struct nc_tm_object obj[8];
	struct nc_tm_round r;
	int k;

	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	for (k = 0; k <= 60; k++) {
		size_t n = 0, i, m;
		double busy[2] = { 0.2, 0.2 }, used[2] = { own_mem1, own_mem2 };

		memset(&r, 0, sizeof(r));
		memset(obj, 0, sizeof(obj));
		for (i = 0; i < NC_ARRAY_SIZE(vms); i++) {
			busy[i / 3] += hot(vms[i]) ? 2.0 : 0.1;
			used[i / 3] += 128 * MiB;
		}
		for (i = 0; i < 2; i++, n++) {
			obj[n].target = NC_MT_HOST;
			obj[n].name = obj[n].id = (char *)(i ? "h2" : "h1");
			for (m = 0; m < NC_METRICS_MAX; m++)
				obj[n].v[m] = NAN;
			obj[n].v[NC_HM_UP] = 1;
			obj[n].v[NC_HM_CPUS] = 8;
			obj[n].v[NC_HM_CPU_USAGE] = busy[i] / 8;
			obj[n].v[NC_HM_MEMORY_TOTAL] = 32 * GiB;
			obj[n].v[NC_HM_MEMORY_USED] = used[i];
		}
		for (i = 0; i < NC_ARRAY_SIZE(vms); i++) {
			if (skip_vm && strcmp(vms[i], skip_vm) == 0)
				continue;
			obj[n].target = NC_MT_VM;
			obj[n].name = obj[n].id = (char *)vms[i];
			obj[n].host = (char *)(i < 3 ? "h1" : "h2");
			obj[n].managed = true;
			for (m = 0; m < NC_METRICS_MAX; m++)
				obj[n].v[m] = NAN;
			obj[n].v[NC_VM_RUNNING] = 1;
			obj[n].v[NC_VM_VCPUS] = 2;
			obj[n].v[NC_VM_CPU_USAGE] = hot(vms[i]) ? 1.0 : 0.05;
			if (gap_vm && strcmp(vms[i], gap_vm) == 0 && k % 2)
				obj[n].v[NC_VM_CPU_USAGE] = NAN;
			obj[n].v[NC_VM_MEMORY_BYTES] = 2 * GiB;
			obj[n].v[NC_VM_MEMORY_USED] = 128 * MiB;
			obj[n].v[NC_VM_DISK_READ_BPS] = obj[n].v[NC_VM_DISK_WRITE_BPS] = 0;
			obj[n].v[NC_VM_NET_RX_BPS] = obj[n].v[NC_VM_NET_TX_BPS] = 0;
			n++;
		}
		r.t = T0 + 60 * k;
		r.objs = obj;
		r.nobjs = n;
		ck_assert_msg(nc_tm_store_write(st, &r, &err) == 0, "write: %s", err.msg);
	}
	nc_tm_store_close(st);
	free(dir);
}

/* the six VMs running, three per host, then free to move */
static void setup(void)
{
	struct nc_run r;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-load-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(shq("mkdir spec"), 0);
	write_spec("", true);
	ck_assert_msg(sh(&r, APPLY) == 0, "apply: %s%s", r.out, r.err);
	nc_run_free(&r);
}

static void teardown(void)
{
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);
	struct nc_run r;

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

/* static (the default, or said) changes nothing: the plan is today's, byte for byte */
START_TEST(test_load_static_unchanged)
{
	struct nc_run r, r2;

	write_history(NULL, 1 * GiB, 1 * GiB);
	write_spec("", false);
	ck_assert_int_eq(sh(&r, PLAN " --telemetry-dir /nonexistent"), 0);
	HAS(r.out, "No changes.");
	write_spec("  load: {mode: static}\n", false);
	ck_assert_int_eq(sh(&r2, PLAN), 0);
	ck_assert_str_eq(r.out, r2.out);
	nc_run_free(&r2);
	write_spec("", false);
	ck_assert_int_eq(sh(&r2, PLAN), 0);
	ck_assert_str_eq(r.out, r2.out);
	nc_run_free(&r2);
	nc_run_free(&r);
}
END_TEST

/* observed: the hot VM's neighbours leave its host, and the plan says which figures drove it */
START_TEST(test_load_observed_moves_neighbour)
{
	struct nc_run r;

	hot2_vm = "web-b";
	write_history(NULL, 1 * GiB, 1 * GiB);
	write_spec("  load: {mode: observed, window: 1h}\n", false);
	ck_assert_msg(sh(&r, PLAN) == 2, "plan: %s%s", r.out, r.err);
	/* two hot VMs on h1: one trades places with an idle one (a single move would
	 * leave the VM counts, vCPUs and memory uneven, which the score weighs too) */
	HAS(r.out, "~ web-a: migrate h1 -> h2 (live)\n"
		   "      why: rebalance (policy web, observed load over 1h, swapped with web-d): CPU load h1 4.3 -> "
		   "2.4 of 8, imbalance 0.2375 -> 0.0000 (gain 0.2375)\n");
	HAS(r.out, "~ web-d: migrate h2 -> h1 (live)\n");
	HASNT(r.out, "web-b: migrate");
	HASNT(r.out, "no observed load");
	HAS(r.out, "2 to migrate.");
	nc_run_free(&r);
}
END_TEST

/* a VM without history counts with its static figures, and the plan says so */
START_TEST(test_load_missing_history_falls_back)
{
	struct nc_run r;

	write_history("web-e", 1 * GiB, 1 * GiB);
	write_spec("  load: {mode: observed}\n", false);
	ck_assert_msg(sh(&r, PLAN) != 1, "plan: %s%s", r.out, r.err);
	HAS(r.out, "note: no observed load over 1h for web-e: static figures (2 vCPUs busy, 2GiB in use)");
	nc_run_free(&r);
	/* no history at all: a note, and the static plan */
	ck_assert_int_eq(sh(&r, PLAN " --telemetry-dir /nonexistent"), 0);
	HAS(r.out, "note: no observed load over 1h in the history: static figures");
	HAS(r.out, "No changes.");
	nc_run_free(&r);
}
END_TEST

/* the figures come from the files: the same files (even copied) give the same plan */
START_TEST(test_load_deterministic)
{
	struct nc_run r, r2;

	hot2_vm = "web-b";
	write_history(NULL, 1 * GiB, 1 * GiB);
	write_spec("  load: {mode: observed}\n", false);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	ck_assert_int_eq(sh(&r2, PLAN), 2);
	ck_assert_str_eq(r.out, r2.out);
	nc_run_free(&r2);
	ck_assert_int_eq(shq("sleep 1; cp -r state/telemetry copy"), 0);
	ck_assert_int_eq(sh(&r2, PLAN " --telemetry-dir copy --output json"), 2);
	HASJ(r2.out, "\"reason\": \"rebalance (policy web, observed load over 1h, swapped with web-d): CPU load h1 "
		    "4.3 -> 2.4 of 8, imbalance 0.2375 -> 0.0000 (gain 0.2375)\"");
	HASJ(r2.out, "\"rebalance\": {\"before\": 0.237500");
	nc_run_free(&r2);
	ck_assert_int_eq(sh(&r2, PLAN " --telemetry-dir copy"), 2);
	ck_assert_str_eq(r.out, r2.out);
	nc_run_free(&r2);
	nc_run_free(&r);
}
END_TEST

/* headroom: a host whose observed use would pass it takes nothing new */
START_TEST(test_load_headroom)
{
	struct nc_run r;

	write_history(NULL, 1 * GiB, 1 * GiB);
	write_spec("  load: {mode: observed, headroom: 0.8}\n", false);
	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: web-g, "
			     "labels: {app: w}}\\nspec: {vcpus: 2, memory: 2GiB}\\n' >> spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "error: cannot place VM web-g: no host fits: h1: observed CPU use would be 4.4 of 8 CPUs, "
		   "over 20% (headroom of policy web); h2: observed CPU use would be 2.5 of 8 CPUs, over 20% "
		   "(headroom of policy web)\n");
	nc_run_free(&r);
	write_spec("  load: {mode: observed, headroom: 0.6}\n", false);
	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: web-g, "
			     "labels: {app: w}}\\nspec: {vcpus: 2, memory: 2GiB}\\n' >> spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "+ web-g: create on h2, then start\n      why: not found on any host\n"
		   "      placement: spread, policy web, observed load over 1h: CPU 2.5 of 8, memory 3.375GiB of "
		   "32GiB in use after placement\n");
	nc_run_free(&r);
}
END_TEST

/* both: capacity counts the larger of reserved and observed, and the hosts' own use */
START_TEST(test_load_both_counts_own_use)
{
	struct nc_run r;

	write_history(NULL, 25 * GiB, 25 * GiB);
	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: web-g, "
			     "labels: {app: w}}\\nspec: {vcpus: 2, memory: 2GiB}\\n' > spec/g.yaml"), 0);
	write_spec("  load: {mode: both}\n", false);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "error: cannot place VM web-g: no host fits: h1: needs 2GiB memory, 1GiB free counting "
		   "observed use; h2: needs 2GiB memory, 1GiB free counting observed use\n");
	nc_run_free(&r);
	/* observed alone keeps the capacity filters on reserved sizes: it fits */
	write_spec("  load: {mode: observed}\n", false);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "+ web-g: create on h1");
	nc_run_free(&r);
}
END_TEST

/* the figures read: averages of the known points (a gap is not a zero), the window's end
 * the newest update, only what is asked for */
START_TEST(test_load_read_figures)
{
	static const char *const want[] = { "web-a", "web-b", "web-z" };
	struct nc_load_data d;
	struct nc_err err = { "" };
	const struct nc_load_obs *o;
	char *dir = nc_xasprintf("%s/state/telemetry", tdir);

	gap_vm = "web-b";
	write_history(NULL, 1 * GiB, 3 * GiB);
	gap_vm = NULL;
	ck_assert_msg(nc_load_read(&d, dir, 3600, want, 3, NULL, 0, &err) == 1, "%s", err.msg);
	ck_assert_int_eq(d.end, T0 + 3600);
	ck_assert_uint_eq(d.window, 3600);
	ck_assert_uint_eq(d.nvms, 2);
	ck_assert_uint_eq(d.nhosts, 2);
	o = nc_load_find(d.vms, d.nvms, "web-a");
	ck_assert_ptr_nonnull(o);
	ck_assert_double_eq_tol(o->f.cpu, 2.0, 1e-9);
	ck_assert_double_eq_tol(o->f.memory, 128 * MiB, 1);
	ck_assert(o->has_io);
	o = nc_load_find(d.vms, d.nvms, "web-b");
	ck_assert_ptr_nonnull(o);
	ck_assert_double_eq_tol(o->f.cpu, 0.1, 1e-9);      /* not 0.05: the gaps are left out */
	ck_assert_ptr_null(nc_load_find(d.vms, d.nvms, "web-c"));
	o = nc_load_find(d.hosts, d.nhosts, "h2");
	ck_assert_ptr_nonnull(o);
	ck_assert_double_eq_tol(o->f.cpu, 0.5, 1e-9);
	ck_assert_double_eq_tol(o->f.memory, 3 * GiB + 3 * 128 * MiB, 1);
	nc_load_release(&d);
	/* nothing there: no history, not an error */
	free(dir);
	dir = nc_xasprintf("%s/none", tdir);
	ck_assert_int_eq(nc_load_read(&d, dir, 3600, NULL, 0, NULL, 0, &err), 0);
	free(dir);
}
END_TEST

/* window and headroom without observed figures do nothing: validate says so */
START_TEST(test_load_validate_warns_static)
{
	struct nc_run r;

	write_spec("  load: {window: 2h, headroom: 0.2}\n", false);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 0);
	HAS(r.err, "spec/all.yaml:18:18: warning: 'window' is not acted on with load mode static");
	HAS(r.err, "warning: 'headroom' is not acted on with load mode static");
	nc_run_free(&r);
	write_spec("  load: {mode: busy}\n", false);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	HAS(r.err, "busy");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_load(void)
{
	Suite *s = suite_create("load");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_load_static_unchanged);
	tcase_add_test(tc, test_load_observed_moves_neighbour);
	tcase_add_test(tc, test_load_missing_history_falls_back);
	tcase_add_test(tc, test_load_deterministic);
	tcase_add_test(tc, test_load_headroom);
	tcase_add_test(tc, test_load_both_counts_own_use);
	tcase_add_test(tc, test_load_validate_warns_static);
	tcase_add_test(tc, test_load_read_figures);
	suite_add_tcase(s, tc);
	return s;
}
