/*
 * test_forecast.c - least-squares trends (telemetry/forecast.c) on
 * synthetic series with a known slope, and `novacron capacity --forecast`
 * on a real RRD history written with nc_tm_store_write at explicit times.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../telemetry/forecast.h"
#include "tests.h"
#include "testutil.h"

#define T0 ((time_t)1796126400)        /* 2026-12-01T12:00:00Z */
#define NOW ((time_t)1796644800)       /* 2026-12-07T12:00:00Z: the history below ends there */
#define GIB 1073741824.0
#define DAY 86400

static void series(struct nc_tm_series *s, time_t start, time_t step, size_t n)
{
	s->start = start;
	s->step = step;
	s->n = n;
	s->v = nc_xcalloc(n, sizeof(double));
}

static void near(double got, double want, double tol, const char *what)
{
	ck_assert_msg(fabs(got - want) <= tol * fmax(1, fabs(want)), "%s: got %.17g, want %.17g", what, got, want);
}

/* a straight line: slope and intercept exact (1e-9), R^2 = 1, the reach exact */
START_TEST(test_fit_known_slope)
{
	struct nc_tm_series s;
	struct nc_fit f;
	double slope = 3.5, v0 = 1000;    /* per second, at T0 */
	size_t i;

	series(&s, T0, 3600, 168);
	for (i = 0; i < s.n; i++)
		s.v[i] = v0 + slope * (double)((time_t)i * s.step);
	nc_fit_series(&s, 12, DAY, &f);
	ck_assert(f.ok);
	ck_assert_uint_eq(f.points, 168);
	ck_assert_int_eq(f.first, T0);
	ck_assert_int_eq(f.last, T0 + 167 * 3600);
	near(f.slope, slope, 1e-9, "slope");
	near(f.intercept, v0 - slope * (double)T0, 1e-9, "intercept");
	near(f.r2, 1, 1e-9, "r2");
	near(nc_fit_at(&f, T0 + 1000), v0 + slope * 1000, 1e-9, "value at T0+1000");
	near(f.last_value, v0 + slope * 167 * 3600, 1e-12, "last value");
	/* the line reaches v0 + slope * 200 h at T0 + 200 h, to the second */
	ck_assert_int_eq(nc_fit_reach(&f, v0 + slope * 200 * 3600, T0 + 167 * 3600), T0 + 200 * 3600);
	/* already past the limit: now */
	ck_assert_int_eq(nc_fit_reach(&f, v0, T0 + 167 * 3600), T0 + 167 * 3600);
	nc_tm_series_release(&s);

	/* bytes growing 1 GiB a day at a 15 s step for a day: slopes of a few
	 * bytes per second at times near 1.8e9 keep their digits */
	series(&s, T0, 15, DAY / 15);
	for (i = 0; i < s.n; i++)
		s.v[i] = 40 * GIB + GIB * (double)((time_t)i * 15) / DAY;
	nc_fit_series(&s, 12, 3600, &f);
	ck_assert(f.ok);
	near(f.slope * DAY, GIB, 1e-9, "bytes per day");
	ck_assert_int_eq(nc_fit_reach(&f, 64 * GIB, T0 + DAY), T0 + 24 * DAY);
	nc_tm_series_release(&s);
}
END_TEST

/* noise around a line: R^2 below 1, the slope close to the true one */
START_TEST(test_fit_noisy)
{
	struct nc_tm_series s;
	struct nc_fit f;
	unsigned x = 12345;
	size_t i;

	series(&s, T0, 3600, 168);
	for (i = 0; i < s.n; i++) {
		x = x * 1103515245u + 12345u;      /* a fixed LCG: the same noise every run */
		s.v[i] = 100 + 0.01 * (double)(i * 3600) + ((double)(x >> 16 & 0x7fff) / 32767.0 - 0.5) * 2000;
	}
	nc_fit_series(&s, 12, DAY, &f);
	ck_assert(f.ok);
	ck_assert_msg(f.r2 < 0.99 && f.r2 > 0.5, "r2 %f", f.r2);
	near(f.slope, 0.01, 0.1, "noisy slope");
	nc_tm_series_release(&s);

	/* pure noise around a constant: R^2 near 0 */
	series(&s, T0, 3600, 168);
	for (i = 0; i < s.n; i++)
		s.v[i] = 100 + (i % 2 ? 5 : -5);
	nc_fit_series(&s, 12, DAY, &f);
	ck_assert(f.ok);
	ck_assert_msg(f.r2 < 0.01, "r2 %f", f.r2);
	nc_tm_series_release(&s);
}
END_TEST

/* flat: never; falling: never, unless the newest value is already past the limit */
START_TEST(test_fit_flat_and_falling)
{
	struct nc_tm_series s;
	struct nc_fit f;
	size_t i;

	series(&s, T0, 3600, 48);
	for (i = 0; i < s.n; i++)
		s.v[i] = 0.1;        /* not exact in binary: the mean must not invent a slope */
	nc_fit_series(&s, 12, DAY, &f);
	ck_assert(f.ok);
	ck_assert(f.slope == 0);
	near(f.r2, 1, 0, "flat r2");
	ck_assert_int_eq(nc_fit_reach(&f, 1.0, T0 + 47 * 3600), 0);
	ck_assert_int_eq(nc_fit_reach(&f, 0.1, T0 + 47 * 3600), T0 + 47 * 3600);
	for (i = 0; i < s.n; i++)
		s.v[i] = 0.9 - 0.01 * (double)i;
	nc_fit_series(&s, 12, DAY, &f);
	ck_assert(f.ok);
	near(f.slope, -0.01 / 3600, 1e-9, "falling slope");
	ck_assert_int_eq(nc_fit_reach(&f, 1.0, T0 + 47 * 3600), 0);
	ck_assert_int_eq(nc_fit_reach(&f, 0.2, T0 + 47 * 3600), T0 + 47 * 3600);
	nc_tm_series_release(&s);
}
END_TEST

/* gaps (NAN: a host that did not answer) are skipped, never read as zeros */
START_TEST(test_fit_gaps_skipped)
{
	struct nc_tm_series s;
	struct nc_fit f;
	size_t i, known = 0;

	series(&s, T0, 600, 500);
	for (i = 0; i < s.n; i++) {
		if (i < 7 || i % 5 == 2 || (i > 200 && i < 260) || i > 495) {
			s.v[i] = NAN;
			continue;
		}
		s.v[i] = 7 + 0.25 * (double)(i * 600);
		known++;
	}
	nc_fit_series(&s, 12, DAY, &f);
	ck_assert(f.ok);
	ck_assert_uint_eq(f.points, known);
	ck_assert_int_eq(f.first, T0 + 8 * 600);    /* 7 is one of the i % 5 == 2 gaps */
	ck_assert_int_eq(f.last, T0 + 495 * 600);
	near(f.slope, 0.25, 1e-9, "slope over gaps");
	near(f.r2, 1, 1e-9, "r2 over gaps");
	near(f.last_value, 7 + 0.25 * 495 * 600, 1e-12, "last value");
	nc_tm_series_release(&s);
}
END_TEST

/* fewer than min_points, or a span shorter than min_span: not enough data */
START_TEST(test_fit_not_enough_data)
{
	struct nc_tm_series s;
	struct nc_fit f;
	size_t i;

	series(&s, T0, 3600, 48);
	for (i = 0; i < s.n; i++)
		s.v[i] = i < 11 ? (double)i : NAN;
	nc_fit_series(&s, 12, 0, &f);
	ck_assert(!f.ok);
	ck_assert_uint_eq(f.points, 11);
	ck_assert_int_eq(nc_fit_reach(&f, 5, T0), 0);
	s.v[11] = 11;
	nc_fit_series(&s, 12, 0, &f);
	ck_assert(f.ok);
	/* 12 points over 11 h: not enough when a day is asked */
	nc_fit_series(&s, 12, DAY, &f);
	ck_assert(!f.ok);
	ck_assert_int_eq(f.last - f.first, 11 * 3600);
	nc_tm_series_release(&s);
	/* nothing at all */
	series(&s, T0, 3600, 0);
	nc_fit_series(&s, 2, 0, &f);
	ck_assert(!f.ok);
	ck_assert_uint_eq(f.points, 0);
	nc_tm_series_release(&s);
}
END_TEST

/* ---- the CLI on a real history ---- */

static char tdir[64];

static void cli_setup(void)
{
	struct nc_run r;
	char *cmd;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-forecast-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	cmd = nc_xasprintf("cp -r examples/quickstart '%s/spec'", tdir);
	nc_run_shell(&r, cmd);
	ck_assert_int_eq(r.status, 0);
	nc_run_free(&r);
	free(cmd);
}

static void cli_teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

static void obj(struct nc_tm_object *o, enum nc_metric_target t, const char *id)
{
	size_t m;

	memset(o, 0, sizeof(*o));
	o->target = t;
	o->id = o->name = (char *)id;
	for (m = 0; m < NC_METRICS_MAX; m++)
		o->v[m] = NAN;
}

/*
 * Eight days of rounds every 10 min up to NOW (2026-12-07T12:00:00Z), in
 * T/state/telemetry, written by the store itself:
 *   kvm1   64 GiB, 40 GiB used at NOW growing 1 GiB a day (runs out in 24 days:
 *          2026-12-31); CPU flat at 25 % of 16
 *   kvm2   only the last 3 hours (not enough data)
 *   kvm3   32 GiB, 20 GiB used falling 0.5 GiB a day (never); CPU 50 % of 8
 *          rising a point a day (not within 30 days)
 *   pool local@kvm1  1 TiB, 100 GiB used + 10 GiB a day (not within 30 days)
 *   pool local@kvm3  500 GiB, 400 GiB used + 5 GiB a day (2026-12-27)
 */
static void write_history(void)
{
	struct nc_tm_store_opts o;
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };
	struct nc_tm_object ob[5];
	struct nc_tm_round r;
	char *dir = nc_xasprintf("%s/state/telemetry", tdir);
	time_t t;

	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.step = 600;
	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	for (t = NOW - 8 * DAY; t <= NOW; t += 600) {
		double d = (double)(t - NOW) / DAY;    /* days since NOW (<= 0) */
		size_t n = 0;

		memset(&r, 0, sizeof(r));
		r.t = t;
		r.objs = ob;
		obj(&ob[n], NC_MT_HOST, "kvm1");
		ob[n].v[NC_HM_UP] = 1;
		ob[n].v[NC_HM_CPUS] = 16;
		ob[n].v[NC_HM_CPU_USAGE] = 0.25;
		ob[n].v[NC_HM_MEMORY_TOTAL] = 64 * GIB;
		ob[n].v[NC_HM_MEMORY_USED] = 40 * GIB + GIB * d;
		n++;
		if (t > NOW - 3 * 3600) {
			obj(&ob[n], NC_MT_HOST, "kvm2");
			ob[n].v[NC_HM_UP] = 1;
			ob[n].v[NC_HM_CPUS] = 8;
			ob[n].v[NC_HM_CPU_USAGE] = 0.1;
			ob[n].v[NC_HM_MEMORY_TOTAL] = 16 * GIB;
			ob[n].v[NC_HM_MEMORY_USED] = 4 * GIB;
			n++;
		}
		obj(&ob[n], NC_MT_HOST, "kvm3");
		ob[n].v[NC_HM_UP] = 1;
		ob[n].v[NC_HM_CPUS] = 8;
		ob[n].v[NC_HM_CPU_USAGE] = 0.5 + 0.01 * d;
		ob[n].v[NC_HM_MEMORY_TOTAL] = 32 * GIB;
		ob[n].v[NC_HM_MEMORY_USED] = 20 * GIB - 0.5 * GIB * d;
		n++;
		obj(&ob[n], NC_MT_POOL, "local@kvm1");
		ob[n].v[NC_PM_CAPACITY] = 1024 * GIB;
		ob[n].v[NC_PM_USED] = 100 * GIB + 10 * GIB * d;
		n++;
		obj(&ob[n], NC_MT_POOL, "local@kvm3");
		ob[n].v[NC_PM_CAPACITY] = 500 * GIB;
		ob[n].v[NC_PM_USED] = 400 * GIB + 5 * GIB * d;
		n++;
		r.nobjs = n;
		ck_assert_msg(nc_tm_store_write(st, &r, &err) == 0, "write at %lld: %s", (long long)t, err.msg);
	}
	nc_tm_store_close(st);
	free(dir);
}

START_TEST(test_forecast_cli_text)
{
	struct nc_run r;

	write_history();
	/* text; "now" is the newest point of the history, not the wall clock */
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast"), 2);
	HAS(r.out, "Capacity forecast: trend over 7d of 1h averages up to 2026-12-07 12:00 UTC; "
		   "horizon 30d (2027-01-06).\n");
	HAS(r.out, "OBJECT                   RESOURCE NOW                        TREND/DAY        R2 POINTS  RUNS OUT\n"
		   "host kvm1                memory   40GiB/64GiB (62.5%)        +1GiB         1.000    168  2026-12-31\n"
		   "host kvm1                cpu      25.0%                      +0.00 pts     1.000    168  never at this trend\n");
	HAS(r.out, "host kvm3                memory   20GiB/32GiB (62.5%)        -512MiB       1.000    168  never at this trend\n"
		   "host kvm3                cpu      50.0%                      +1.00 pts     1.000    168  not within 30d\n");
	HAS(r.out, "cluster                  memory   60GiB/96GiB (62.5%)        +512MiB       1.000    168  not within 30d\n");
	HAS(r.out, "host kvm2                cpu      10.0%                      -                 -      3  "
		   "not enough data (3 points over 2h; need 12 over 1d 18h)\n");
	/* NOW is the newest hourly average (11:00-12:00), the trend the line's */
	HAS(r.out, "pool local@kvm3          disk     399.9GiB/500GiB (80.0%)    +5GiB         1.000    168  2026-12-27\n");
	nc_run_free(&r);
	/* the same history, the same report */
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast 30d > a.txt; "
			     "$NC capacity spec --telemetry-dir state/telemetry --forecast=30d --window 7d > b.txt; "
			     "cmp a.txt b.txt"), 0);
	nc_run_free(&r);
	/* a shorter horizon: kvm1 no longer within it; nothing runs out: exit 0 */
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast 14d"), 0);
	HAS(r.out, "(62.5%)        +1GiB         1.000    168  not within 14d\n");
	nc_run_free(&r);
	/* --now earlier in the history: the forecast from what was known then */
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast --window 2d "
			     "--now 2026-12-05T12:00:00Z"), 2);
	HAS(r.out, "up to 2026-12-05 12:00 UTC");
	HAS(r.out, "host kvm1                memory   38GiB/64GiB (59.3%)        +1GiB         1.000     48  2026-12-31\n");
	nc_run_free(&r);
	/* bad input */
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast 3x"), 1);
	HAS(r.err, "--forecast: '3x' is not a duration");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --output markdown"), 1);
	HAS(r.err, "go with --forecast");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir nothing-here --forecast"), 1);
	HAS(r.err, "no telemetry history of this spec's hosts or pools in nothing-here/telemetry");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_forecast_cli_json_markdown)
{
	struct nc_run r;
	char *flat;

	write_history();
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast --output json"), 2);
	flat = nc_json_oneline(r.out);
	HAS(flat, "{\"format_version\": 1, \"now\": \"2026-12-07T12:00:00Z\", \"horizon_seconds\": 2592000, "
		   "\"horizon_end\": \"2027-01-06T12:00:00Z\", \"window_seconds\": 604800, "
		   "\"resolution_seconds\": 3600, \"min_points\": 12, \"min_span_seconds\": 151200, "
		   "\"forecasts\": [");
	HAS(flat, "{\"target\": \"host\", \"object\": \"kvm1\", \"resource\": \"memory\", \"metric\": "
		   "\"memory_used_bytes\", \"unit\": \"bytes\", \"used\": 42931031609, \"limit\": 68719476736, "
		   "\"points\": 168, \"first\": \"2026-11-30T12:30:00Z\", \"last\": \"2026-12-07T11:30:00Z\", ");
	HAS(flat, "\"enough_data\": true, \"trend_per_day\": 1073741824, \"r2\": 1.000000, \"status\": \"runs_out\", "
		   "\"runs_out\": \"2026-12-31\", \"runs_out_at\": \"2026-12-31T11:55:00Z\", \"summary\": \"2026-12-31\"}");
	HAS(flat, "{\"target\": \"host\", \"object\": \"kvm2\", \"resource\": \"memory\", ");
	HAS(flat, "\"enough_data\": false, \"trend_per_day\": null, \"r2\": null, \"status\": \"not_enough_data\", "
		   "\"runs_out\": null, \"runs_out_at\": null, \"summary\": \"not enough data (3 points over 2h; need 12 over 1d 18h)\"}");
	HAS(flat, "\"object\": \"kvm3\", \"resource\": \"memory\", ");
	HAS(flat, "\"status\": \"never\", \"runs_out\": null, \"runs_out_at\": null, \"summary\": \"never at this trend\"}");
	/* the cluster: kvm1 + kvm3 (kvm2 has too little history of its own) */
	HAS(flat, "{\"target\": \"cluster\", \"object\": \"cluster\", \"resource\": \"memory\", \"metric\": "
		   "\"memory_used_bytes\", \"unit\": \"bytes\", \"used\": 64415188764, \"limit\": 103079215104, ");
	HAS(flat, "\"trend_per_day\": 536870912, \"r2\": 1.000000, \"status\": \"not_within_horizon\", ");
	HAS(flat, "{\"target\": \"cluster\", \"object\": \"cluster\", \"resource\": \"disk\", \"metric\": \"used_bytes\", "
		   "\"unit\": \"bytes\", \"used\": 536591291733, \"limit\": 1636382539776, ");
	HAS(flat, "\"trend_per_day\": 16106127360, ");
	HAS(flat, "}]}");
	HASNT(flat, "\"template\"");
	nc_run_free(&r);
	free(flat);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast --output markdown"), 2);
	HAS(r.out, "### Capacity forecast\n\nTrend over 7d of 1h averages up to 2026-12-07 12:00 UTC; horizon 30d (2027-01-06).\n\n"
		   "| Object | Resource | Now | Trend/day | R² | Points | Runs out |\n|---|---|---|---|---:|---:|---|\n"
		   "| host kvm1 | memory | 40GiB/64GiB (62.5%) | +1GiB | 1.000 | 168 | **2026-12-31** |\n"
		   "| host kvm1 | cpu | 25.0% | +0.00 pts | 1.000 | 168 | never at this trend |\n");
	HAS(r.out, "| host kvm2 | memory | 4GiB/16GiB (25.0%) | - | - | 3 | not enough data (3 points over 2h; need 12 over 1d 18h) |\n");
	HAS(r.out, "| pool local@kvm3 | disk | 399.9GiB/500GiB (80.0%) | +5GiB | 1.000 | 168 | **2026-12-27** |\n");
	HAS(r.out, "| cluster | disk | 499.7GiB/1.5TiB (32.8%) | +15GiB | 1.000 | 168 | not within 30d |\n");
	nc_run_free(&r);
}
END_TEST

/* how many more VMs of a template fit now (as plain `capacity` says) and at the horizon */
START_TEST(test_forecast_cli_template)
{
	struct nc_run r;

	write_history();
	ck_assert_int_eq(shq("$NC apply spec --state-dir state --auto-approve"), 0);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --template small"), 2);
	HAS(r.out, "Template small: 162 more VMs fit.\n");
	nc_run_free(&r);
	/*
	 * Now: kvm1 61 (its 64 schedulable vCPUs bind: 3 used), kvm2 57 (vCPUs),
	 * kvm3 44 (memory: 22 GiB free).  At 30 days: kvm1's memory grows 30 GiB
	 * (28 GiB free: 56, 5 fewer); kvm3's CPU share grows 0.3, reserved as
	 * 0.3 x its 64 schedulable vCPUs = 20 (38 left: 6 fewer); kvm3's memory
	 * falls and kvm2 has not enough data: nothing reserved.  At 7 days the
	 * growth stays under what binds: 162 still.
	 */
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast --template small"), 2);
	HAS(r.out, "\nTemplate small: 162 more VMs fit now, 151 at the horizon (each host's forecast "
		   "memory and CPU growth reserved first).\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast --template small --output json"), 2);
	HAS(r.out, "\n  ],\n  \"template\": {\n    \"name\": \"small\",\n    \"fit_now\": 162,\n    \"fit_at_horizon\": 151\n  }\n}\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --forecast 7d --template small --output markdown"), 0);
	HAS(r.out, "\nTemplate **small**: 162 more VMs fit now, 162 at the horizon.\n");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_forecast(void)
{
	Suite *s = suite_create("forecast");
	TCase *tc = tcase_create("forecast");

	tcase_add_test(tc, test_fit_known_slope);
	tcase_add_test(tc, test_fit_noisy);
	tcase_add_test(tc, test_fit_flat_and_falling);
	tcase_add_test(tc, test_fit_gaps_skipped);
	tcase_add_test(tc, test_fit_not_enough_data);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli");
	tcase_add_checked_fixture(tc, cli_setup, cli_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_forecast_cli_text);
	tcase_add_test(tc, test_forecast_cli_json_markdown);
	tcase_add_test(tc, test_forecast_cli_template);
	suite_add_tcase(s, tc);
	return s;
}
