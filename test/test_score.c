/*
 * test_score.c - the hbal-superset imbalance score and the rebalance search
 * (issue 18; docs/placement.md "Imbalance score" and "Rebalance").
 *
 * On sim:// hosts (apply places 32 VMs skewed, pinned; the pins are then
 * dropped from the spec): the incremental score against a recomputation
 * from scratch after random moves and swaps (static and observed figures);
 * the search's properties (the score falls, filters and required rules
 * hold, N+1 does not get worse, one move per VM, scores chain); successive
 * passes with the default budget end where one unbounded pass does; the
 * memory budget; and the plans for clusters where nothing can move.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policies/placement.h"
#include "../policies/score.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)
#define PLAN "$NC plan spec --state-dir state"
#define APPLY "$NC apply spec --state-dir state --auto-approve"
#define NVM 32

/* five hosts in three racks; web VMs (preferred anti-affinity over host, preferred
 * affinity over rack for the db tier), three db VMs (required anti-affinity over host) */
static void write_spec(const char *dir, const char *rebalance, bool pinned, bool all_pinned)
{
	struct nc_buf b = NC_BUF_INIT;
	char *path = nc_xasprintf("%s/%s/all.yaml", tdir, dir);
	FILE *f;
	int i;

	for (i = 1; i <= 5; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h%d, labels: {rack: r%d}}\n"
			    "spec: {uri: \"sim:///h%d?cpus=%d&memory=%dGiB\"}\n", i, (i + 1) / 2, i, i == 5 ? 8 : 16,
			    i == 4 ? 32 : 64);
	nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: PlacementPolicy\nmetadata: {name: db}\n"
		    "spec:\n  vmSelector: {matchLabels: {tier: db}}\n"
		    "  affinity: [{type: antiAffinity, mode: required, topologyKey: host}]\n"
		    "  rebalance: {enabled: true%s}\n", rebalance);
	nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: PlacementPolicy\nmetadata: {name: web}\n"
		    "spec:\n  vmSelector: {matchLabels: {app: w}}\n  affinity:\n"
		    "    - {type: antiAffinity, mode: preferred, topologyKey: host, weight: 40}\n"
		    "    - {type: affinity, mode: preferred, topologyKey: rack, weight: 20, selector: {matchLabels: {tier: c}}}\n"
		    "  rebalance: {enabled: true%s}\n", rebalance);
	for (i = 1; i <= NVM; i++) {
		bool db = i <= 3;
		int host = db ? i : (i % 10 < 6 ? 1 : 2 + i % 3);

		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: v%02d, labels: {%s}}\n"
			    "spec: {vcpus: %d, memory: %dGiB", i, db ? "tier: db" : i % 4 ? "app: w" : "app: w, tier: c",
			    1 + i % 4, 1 + i % 3);
		if (pinned || all_pinned || i == 7)
			nc_buf_addf(&b, ", placement: {host: h%d}", host);
		nc_buf_adds(&b, "}\n");
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(b.buf, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	free(path);
	nc_buf_release(&b);
}

static void setup(void)
{
	struct nc_run r;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-score-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(shq("mkdir spec"), 0);
	write_spec("spec", "", true, false);
	ck_assert_msg(sh(&r, APPLY) == 0, "apply: %s%s", r.out, r.err);
	nc_run_free(&r);
	write_spec("spec", "", false, false);
}

static void teardown(void)
{
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);
	struct nc_run r;

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

struct world {
	struct nc_spec *spec;
	struct nc_diags d;
	struct nc_cluster c;
	struct nc_placement_state *ps;
};

static void world_open(struct world *w)
{
	char *specdir = nc_xasprintf("%s/spec", tdir), *st = nc_xasprintf("%s/state", tdir);
	const char *paths[] = { specdir };
	struct nc_observe_opts oo;

	memset(w, 0, sizeof(*w));
	nc_diags_init(&w->d);
	ck_assert_int_eq(nc_spec_load(&w->spec, paths, 1, NULL, &w->d), 0);
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = st;
	nc_observe(&w->c, w->spec, &oo);
	w->ps = nc_placement_new(w->spec, &w->c);
	ck_assert_uint_eq(nc_placement_count(w->ps), NVM);
	free(specdir);
	free(st);
}

static void world_close(struct world *w)
{
	nc_placement_free(w->ps);
	nc_cluster_release(&w->c);
	nc_spec_free(w->spec);
	nc_diags_release(&w->d);
}

static unsigned lcg(unsigned *x)
{
	*x = *x * 1103515245u + 12345u;
	return (*x >> 8) & 0xffffff;
}

static void check_against_full(struct world *w, const struct nc_score *sc, int mode, double expect)
{
	struct nc_score_parts full;

	nc_score_full(w->ps, mode, false, &full);
	ck_assert_msg(fabs(full.total - expect) < 1e-9, "incremental %.12f, from scratch %.12f", expect, full.total);
	ck_assert_msg(fabs(full.total - nc_score_total(sc)) < 1e-9, "state %.12f, from scratch %.12f",
		      nc_score_total(sc), full.total);
}

/* the incremental score equals a recomputation after every random move and swap */
START_TEST(test_score_incremental_matches_full)
{
	int modes[] = { NC_LOAD_STATIC, NC_LOAD_OBSERVED };
	size_t m;

	for (m = 0; m < 2; m++) {
		struct world w;
		struct nc_score *sc;
		struct nc_load_data ld;
		unsigned seed = 42, step;
		size_t nh, i;

		world_open(&w);
		memset(&ld, 0, sizeof(ld));
		if (modes[m] == NC_LOAD_OBSERVED) {
			/* figures made by the test, as nc_placement_use_load allows */
			ld.end = 1767225600;
			ld.window = 3600;
			ld.nvms = NVM - 2;          /* two VMs without history: static figures */
			ld.vms = nc_xcalloc(ld.nvms, sizeof(*ld.vms));
			for (i = 0; i < ld.nvms; i++) {
				ld.vms[i].id = nc_xasprintf("v%02zu", i + 1);
				ld.vms[i].f.cpu = 0.1 + 0.37 * (double)(i % 5);
				ld.vms[i].f.memory = (double)(256 + 97 * i) * 1024 * 1024;
				ld.vms[i].f.disk = (double)(i % 3) * 5e6;
				ld.vms[i].f.net = (double)(i % 4) * 3e6;
				ld.vms[i].has_io = true;
			}
			nc_placement_use_load(w.ps, &ld);
		}
		sc = nc_score_new(w.ps, modes[m]);
		ck_assert(nc_score_observed(sc) == (modes[m] == NC_LOAD_OBSERVED));
		check_against_full(&w, sc, modes[m], nc_score_total(sc));
		nh = nc_placement_hosts(w.ps);
		for (step = 0; step < 400; step++) {
			size_t k = lcg(&seed) % NVM, to = lcg(&seed) % nh;
			struct nc_placement_info a, b;
			double expect;

			nc_placement_info(w.ps, k, &a);
			if (step % 3 == 2) {
				size_t k2 = lcg(&seed) % NVM;

				nc_placement_info(w.ps, k2, &b);
				if (a.host == b.host)
					continue;
				expect = nc_score_try_swap(sc, k, k2);
				nc_placement_put(w.ps, a.vm, b.host);
				nc_placement_put(w.ps, b.vm, a.host);
				nc_score_move(sc, k, b.host);
				nc_score_move(sc, k2, a.host);
			} else {
				expect = nc_score_try_move(sc, k, to);
				nc_placement_put(w.ps, a.vm, to);
				nc_score_move(sc, k, to);
			}
			check_against_full(&w, sc, modes[m], expect);
		}
		nc_score_free(sc);
		nc_load_release(&ld);
		world_close(&w);
	}
}
END_TEST

/* the terms: one unit per VM, spread, conflicts; the weights documented */
START_TEST(test_score_terms)
{
	struct world w;
	struct nc_score_parts p;
	size_t on[5] = { 0 }, k, h;
	double mean = 0, var = 0;

	world_open(&w);
	nc_score_full(w.ps, NC_LOAD_STATIC, true, &p);
	for (k = 0; k < NVM; k++) {
		struct nc_placement_info in;

		nc_placement_info(w.ps, k, &in);
		on[in.host]++;
	}
	for (h = 0; h < 5; h++)
		mean += (double)on[h] / 5;
	for (h = 0; h < 5; h++)
		var += ((double)on[h] - mean) * ((double)on[h] - mean) / 5;
	/* without observed figures each load term is the spread of VMs per host, as hbal's */
	ck_assert(fabs(p.term[NC_ST_CPU_LOAD] - sqrt(var)) < 1e-9);
	ck_assert(fabs(p.term[NC_ST_NET_LOAD] - sqrt(var)) < 1e-9);
	ck_assert(fabs(p.term[NC_ST_SPREAD] - sqrt(var)) < 1e-9);
	ck_assert(p.term[NC_ST_CONFLICTS] > 0);      /* web VMs share hosts */
	ck_assert(p.term[NC_ST_OFFLINE] == 0);
	ck_assert_str_eq(nc_score_term_name(NC_ST_OFFLINE), "offline");
	ck_assert(nc_score_weight(NC_ST_OFFLINE) == 20);
	ck_assert(nc_score_weight(NC_ST_CONFLICTS) == 2);
	ck_assert(nc_score_weight(NC_ST_FREE_MEM) == 1);
	world_close(&w);
}
END_TEST

static size_t n1_failures(const struct nc_placement_state *ps)
{
	size_t h, n = 0;

	for (h = 0; h < nc_placement_hosts(ps); h++)
		if (nc_placement_load(ps, h)->usable && !nc_n1_host(ps, h, NULL))
			n++;
	return n;
}

/* the search: the score falls, filters hold, one move per VM, scores chain */
START_TEST(test_score_search_properties)
{
	struct world w;
	struct nc_rebalance_opts o = { .max_moves = 1000, .threshold = 0, .mode = NC_LOAD_STATIC };
	struct nc_rebalance_report rep;
	struct nc_move *mv = NULL;
	struct nc_score_parts full;
	size_t n, i, j, n1_before, db_on[5] = { 0 };

	world_open(&w);
	n1_before = n1_failures(w.ps);
	n = nc_rebalance_run(w.ps, w.spec, NULL, &o, &mv, &rep);
	ck_assert_uint_gt(n, 0);
	ck_assert(rep.after < rep.before);
	nc_score_full(w.ps, NC_LOAD_STATIC, false, &full);
	ck_assert(fabs(full.total - rep.after) < 1e-9);
	ck_assert_uint_le(n1_failures(w.ps), n1_before);
	ck_assert_uint_eq(rep.pinned, 1);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(mv[i].vm);
		ck_assert_str_ne(mv[i].vm->obj.meta.name.v, "v07");          /* pinned */
		ck_assert_uint_ne(mv[i].from, mv[i].to);
		ck_assert_int_eq(nc_placement_host_of(w.ps, mv[i].vm), (int)mv[i].to);
		ck_assert(nc_placement_fits(w.ps, mv[i].vm, mv[i].to, NULL));
		for (j = i + 1; j < n; j++)
			ck_assert_ptr_ne(mv[i].vm, mv[j].vm);
		if (i + 1 < n && !mv[i].swap)
			ck_assert(fabs(mv[i].after - mv[i + 1].before) < 1e-9);
	}
	ck_assert(fabs(mv[0].before - rep.before) < 1e-9);
	ck_assert(fabs(mv[n - 1].after - rep.after) < 1e-9);
	/* the required rule: the db VMs stay one per host */
	for (i = 0; i < NVM; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)w.spec->objs[NC_KIND_VM][i];

		if (strcmp(nc_map_get(&vm->labels, "tier") ? nc_map_get(&vm->labels, "tier") : "", "db") == 0)
			ck_assert_uint_eq(db_on[nc_placement_host_of(w.ps, vm)]++, 0);
	}
	free(mv);
	free(rep.refused);
	/* a second run from there finds nothing worth a move */
	n = nc_rebalance_run(w.ps, w.spec, NULL, &o, &mv, &rep);
	ck_assert_uint_eq(n, 0);
	free(mv);
	free(rep.refused);
	world_close(&w);
}
END_TEST

/* a threshold: every move gains at least it, and fewer moves are made */
START_TEST(test_score_threshold)
{
	struct world w, w2;
	struct nc_rebalance_opts o = { .max_moves = 1000, .threshold = 0, .mode = NC_LOAD_STATIC };
	struct nc_rebalance_report rep, rep2;
	struct nc_move *mv = NULL, *mv2 = NULL;
	size_t n, n2, i;

	world_open(&w);
	world_open(&w2);
	n = nc_rebalance_run(w.ps, w.spec, NULL, &o, &mv, &rep);
	o.threshold = 0.5;
	n2 = nc_rebalance_run(w2.ps, w2.spec, NULL, &o, &mv2, &rep2);
	ck_assert_uint_lt(n2, n);
	ck_assert(rep2.after >= rep.after - 1e-9);
	for (i = 0; i < n2; i++)
		if (!mv2[i].swap)
			ck_assert_msg(mv2[i].before - mv2[i].after >= 0.5 - 1e-9, "move %zu gains %.4f", i,
				      mv2[i].before - mv2[i].after);
	free(mv);
	free(mv2);
	free(rep.refused);
	free(rep2.refused);
	world_close(&w);
	world_close(&w2);
}
END_TEST

/* each host's VMs, one line per host */
static char *where(const char *state)
{
	struct nc_run r;
	char *out;

	ck_assert_int_eq(sh(&r, "for h in h1 h2 h3 h4 h5; do echo $h: $($NC sim --state-dir %s $h list | sort | "
			    "tr '\\n' ' '); done", state), 0);
	out = nc_xstrdup(r.out);
	nc_run_free(&r);
	return out;
}

/* passes with the default budget (5) end where one unbounded pass does */
START_TEST(test_score_passes_reach_unbounded)
{
	struct nc_run r;
	char *a, *b;
	int pass;

	ck_assert_int_eq(shq("cp -r state state2 && mkdir spec2"), 0);
	write_spec("spec2", ", maxMovesPerPass: 10000", false, false);
	ck_assert_msg(sh(&r, "$NC apply spec2 --state-dir state2 --auto-approve") == 0, "%s%s", r.out, r.err);
	HAS(r.out, "swapped with");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan spec2 --state-dir state2"), 0);
	nc_run_free(&r);
	for (pass = 0; pass < 30; pass++) {
		int st = sh(&r, APPLY);

		ck_assert_msg(st == 0, "apply failed (exit %d): %.2000s%.2000s", st, r.out, r.err);
		if (strstr(r.out, "No changes.")) {
			nc_run_free(&r);
			break;
		}
		if (pass == 0)
			HAS(r.out, "ends this pass (maxMovesPerPass 5)");
		nc_run_free(&r);
	}
	ck_assert_int_gt(pass, 1);
	ck_assert_int_lt(pass, 30);
	a = where("state");
	b = where("state2");
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

/* maxMemoryPerPass bounds the memory migrated; JSON carries each move's scores */
START_TEST(test_score_memory_budget)
{
	struct nc_run r;
	char *p;
	size_t n = 0;

	write_spec("spec", ", maxMemoryPerPass: 4GiB", false, false);
	ck_assert_msg(sh(&r, PLAN " --output json") == 2, "%s%s", r.out, r.err);
	HASJ(r.out, "\"rebalance\": {\"before\": ");
	HASJ(r.out, "maxMemoryPerPass 4GiB");
	for (p = r.out; (p = strstr(p, "\"action\": \"migrate\"")); p++)
		n++;
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, 4);    /* VMs of 1-3GiB: at most 4GiB in all */
	nc_run_free(&r);
}
END_TEST

/* nothing can move (all pinned), a host in maintenance whose VMs cannot leave
 * (required anti-affinity): the plan says so and proposes nothing unsafe */
START_TEST(test_score_nothing_can_move)
{
	struct nc_run r;

	write_spec("spec", "", false, true);
	ck_assert_msg(sh(&r, PLAN) == 0, "%s%s", r.out, r.err);
	HAS(r.out, "note: rebalance: nothing can move: the 32 VMs of rebalancing policies are pinned (placement.host)");
	HASNT(r.out, "migrate");
	nc_run_free(&r);
	/* h1 in maintenance: its VMs leave (but v07, pinned there), nothing moves onto it */
	write_spec("spec", "", false, false);
	ck_assert_int_eq(shq("sed -i 's|\"sim:///h1?cpus=16&memory=64GiB\"}|\"sim:///h1?cpus=16\\&memory=64GiB\", "
			     "maintenance: true}|' spec/all.yaml"), 0);
	ck_assert_msg(sh(&r, PLAN) == 2, "%s%s", r.out, r.err);
	HAS(r.out, "drain: h1 is in maintenance");
	HASNT(r.out, "-> h1 (live)");
	HASNT(r.out, "~ v07: migrate");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_score(void)
{
	Suite *s = suite_create("score");
	TCase *tc = tcase_create("score");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_score_incremental_matches_full);
	tcase_add_test(tc, test_score_terms);
	tcase_add_test(tc, test_score_search_properties);
	tcase_add_test(tc, test_score_threshold);
	tcase_add_test(tc, test_score_passes_reach_unbounded);
	tcase_add_test(tc, test_score_memory_budget);
	tcase_add_test(tc, test_score_nothing_can_move);
	suite_add_tcase(s, tc);
	return s;
}
