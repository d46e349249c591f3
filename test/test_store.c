/*
 * test_store.c - the embedded history (telemetry/store.c, graph.c): real RRD
 * files through librrd, a real rrdcached, Holt-Winters anomaly detection on
 * synthetic series, PNG graphs and `novacron graph`.  Explicit timestamps
 * throughout: nothing waits for the clock.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "../spec/util.h"
#include "../telemetry/store.h"
#include "tests.h"
#include "testutil.h"

extern char **environ;

/* a multiple of 60 (and of 15): minute rows line up with rounds */
#define T0 ((time_t)1700000040)

static char *tmpdir(void)
{
	char *d = nc_xstrdup("/tmp/nc-store-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void rmtree(char *d)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", d);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
	free(d);
}

static struct nc_tm_store *open_store(const char *dir, unsigned step, const char *cached, bool ro)
{
	struct nc_tm_store_opts o = { .dir = dir, .rrdcached = cached, .step = step, .read_only = ro };
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };

	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	return st;
}

/* one round of objects of target t with ids ids[], every metric = val(id index, metric) */
struct round {
	struct nc_tm_round r;
	struct nc_tm_object o[8];
};

static void make_round(struct round *rd, time_t t, enum nc_metric_target tg, const char *const *ids,
		       size_t n, double base)
{
	memset(rd, 0, sizeof(*rd));
	rd->r.t = t;
	rd->r.objs = rd->o;
	rd->r.nobjs = n;
	for (size_t i = 0; i < n; i++) {
		rd->o[i].target = tg;
		rd->o[i].id = (char *)ids[i];
		rd->o[i].name = (char *)ids[i];
		for (size_t m = 0; m < NC_METRICS_MAX; m++)
			rd->o[i].v[m] = m < nc_metric_count(tg) ? base + (double)i * 100 + (double)m : NAN;
	}
}

static double at(const struct nc_tm_series *s, time_t t)
{
	if (t < s->start || (t - s->start) % s->step)
		return -12345;
	size_t i = (size_t)((t - s->start) / s->step);
	return i < s->n ? s->v[i] : -12345;
}

static int write_round(struct nc_tm_store *st, struct round *rd, struct nc_err *err)
{
	err->msg[0] = 0;
	return nc_tm_store_write(st, &rd->r, err);
}

START_TEST(test_store_roundtrip_gaps)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	static const char *const ids[] = { "kvm1", "kvm2" };
	struct nc_tm_series s = { 0 };
	struct nc_err err = { "" };
	struct round rd;
	char **list = NULL;
	size_t n = 0;

	for (int k = 1; k <= 20; k++) {
		if (k >= 5 && k <= 7)        /* three rounds missed: a gap */
			continue;
		make_round(&rd, T0 + 15 * k, NC_MT_HOST, ids, 2, k);
		if (k == 10)
			rd.o[0].v[NC_HM_CPU_USAGE] = NAN;     /* unknown this round */
		ck_assert_msg(write_round(st, &rd, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(err.msg, "");
	}
	/* an older round again: skipped for every file, not an error */
	make_round(&rd, T0 + 15 * 3, NC_MT_HOST, ids, 2, 999);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	ck_assert_str_eq(err.msg, "");

	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_HOST, "kvm1", "cpu_usage", NC_TM_AVERAGE,
					   T0 + 15, T0 + 300, 0, &s, &err), 1);
	ck_assert_int_eq(s.step, 15);
	for (int k = 1; k <= 20; k++) {
		double v = at(&s, T0 + 15 * k), want = k + NC_HM_CPU_USAGE;

		if ((k >= 5 && k <= 8) || k == 10)
			ck_assert_msg(isnan(v), "k=%d: %g, not a gap", k, v);
		else
			ck_assert_msg(fabs(v - want) < 1e-9, "k=%d: %g, not %g", k, v, want);
	}
	nc_tm_series_release(&s);
	/* the other host, another metric: its own values */
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_HOST, "kvm2", "memory_used_bytes", NC_TM_MAX,
					   T0 + 15, T0 + 300, 0, &s, &err), 1);
	ck_assert(fabs(at(&s, T0 + 15 * 12) - (12 + 100 + NC_HM_MEMORY_USED)) < 1e-9);
	nc_tm_series_release(&s);

	/* no history: 0; unknown metric, bad id: -1 */
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_HOST, "kvm9", "cpu_usage", NC_TM_AVERAGE,
					   T0, T0 + 300, 0, &s, &err), 0);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_HOST, "kvm1", "cpu", NC_TM_AVERAGE,
					   T0, T0 + 300, 0, &s, &err), -1);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_HOST, "../kvm1", "cpu_usage", NC_TM_AVERAGE,
					   T0, T0 + 300, 0, &s, &err), -1);

	ck_assert_int_eq(nc_tm_store_list(st, NC_MT_HOST, &list, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0], "kvm1");
	ck_assert_str_eq(list[1], "kvm2");
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	ck_assert_int_eq(nc_tm_store_list(st, NC_MT_VM, &list, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	free(list);
	nc_tm_store_close(st);

	/* a read-only store sees the same and writes nothing */
	st = open_store(d, 15, NULL, true);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_HOST, "kvm1", "cpu_usage", NC_TM_AVERAGE,
					   T0 + 15, T0 + 300, 0, &s, &err), 1);
	ck_assert(fabs(at(&s, T0 + 15 * 20) - (20 + NC_HM_CPU_USAGE)) < 1e-9);
	nc_tm_series_release(&s);
	make_round(&rd, T0 + 15 * 21, NC_MT_HOST, ids, 2, 1);
	ck_assert_int_eq(write_round(st, &rd, &err), -1);
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

START_TEST(test_store_consolidation_minute)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	static const char *const ids[] = { "web-1" };
	struct nc_tm_series avg = { 0 }, max = { 0 };
	struct nc_err err = { "" };
	struct round rd;

	/* 12 minutes of rounds; in minute m the 4 values are m, m+2, m+4, m+10 (k-th of the minute) */
	for (int k = 1; k <= 48; k++) {
		int m = (k - 1) / 4, j = (k - 1) % 4;
		static const double off[] = { 0, 2, 4, 10 };

		make_round(&rd, T0 + 15 * k, NC_MT_VM, ids, 1, 0);
		rd.o[0].v[NC_VM_CPU_USAGE] = m + off[j];
		ck_assert_msg(write_round(st, &rd, &err) == 0, "%s", err.msg);
	}
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "web-1", "cpu_usage", NC_TM_AVERAGE,
					   T0, T0 + 720, 60, &avg, &err), 1);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "web-1", "cpu_usage", NC_TM_MAX,
					   T0, T0 + 720, 60, &max, &err), 1);
	ck_assert_int_eq(avg.step, 60);
	ck_assert_int_eq(max.step, 60);
	for (int m = 0; m < 12; m++) {
		time_t t = T0 + 60 * (m + 1);

		ck_assert_msg(fabs(at(&avg, t) - (m + 4.0)) < 1e-9, "minute %d avg %g", m, at(&avg, t));
		ck_assert_msg(fabs(at(&max, t) - (m + 10.0)) < 1e-9, "minute %d max %g", m, at(&max, t));
	}
	nc_tm_series_release(&avg);
	nc_tm_series_release(&max);
	/* the finest archive that covers the range: the step's */
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "web-1", "cpu_usage", NC_TM_AVERAGE,
					   T0 + 60, T0 + 720, 0, &avg, &err), 1);
	ck_assert_int_eq(avg.step, 15);
	ck_assert(fabs(at(&avg, T0 + 15 * 8) - (1 + 10.0)) < 1e-9);
	nc_tm_series_release(&avg);
	/* a range reaching back beyond a day: a coarser archive */
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "web-1", "cpu_usage", NC_TM_AVERAGE,
					   T0 + 720 - 3 * 86400, T0 + 720, 0, &avg, &err), 1);
	ck_assert_int_ge(avg.step, 60);
	nc_tm_series_release(&avg);
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void put_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(nc_write_all(fd, data, len), 0);
	close(fd);
}

/* rounds 1..2 for a, b, c; the file of a spoiled by spoil(); round 3 rebuilds a only */
static void corrupt_case(int how)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	static const char *const ids[] = { "a", "b", "c" };
	struct nc_tm_series s = { 0 };
	struct nc_err err = { "" };
	struct round rd;
	char *pa = nc_xasprintf("%s/vm/a.rrd", d), *pc = nc_xasprintf("%s/vm/a.rrd.corrupt", d);
	off_t size;

	for (int k = 1; k <= 2; k++) {
		make_round(&rd, T0 + 15 * k, NC_MT_VM, ids, 3, k);
		ck_assert_msg(write_round(st, &rd, &err) == 0, "%s", err.msg);
	}
	nc_tm_store_close(st);
	size = file_size(pa);
	ck_assert_int_gt(size, 4096);
	if (how == 0) {                 /* truncated */
		ck_assert_int_eq(truncate(pa, 600), 0);
	} else if (how == 1) {          /* garbage of the same size */
		char *junk = nc_xmalloc((size_t)size);

		for (off_t i = 0; i < size; i++)
			junk[i] = (char)('A' + i % 26);
		put_file(pa, junk, (size_t)size);
		free(junk);
	} else {                        /* a good RRD of another layout */
		const char *argv[] = { "DS:speed:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:10" };

		unlink(pa);
		ck_assert_int_eq(rrd_create_r2(pa, 300, T0, 0, NULL, NULL, 2, argv), 0);
	}

	st = open_store(d, 15, NULL, false);
	make_round(&rd, T0 + 45, NC_MT_VM, ids, 3, 3);
	ck_assert_msg(write_round(st, &rd, &err) == 0, "%s", err.msg);
	HAS(err.msg, pa);
	HAS(err.msg, "kept as");
	HAS(err.msg, "a.rrd.corrupt");
	HASNT(err.msg, "b.rrd");
	ck_assert_int_gt(file_size(pc), 0);
	/* a started afresh: round 3 only */
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "a", "vcpus", NC_TM_AVERAGE,
					   T0 + 15, T0 + 45, 0, &s, &err), 1);
	ck_assert(isnan(at(&s, T0 + 15)));
	ck_assert(fabs(at(&s, T0 + 45) - (3 + NC_VM_VCPUS)) < 1e-9);
	nc_tm_series_release(&s);
	/* b and c untouched: all three rounds */
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "b", "vcpus", NC_TM_AVERAGE,
					   T0 + 15, T0 + 45, 0, &s, &err), 1);
	for (int k = 1; k <= 3; k++)
		ck_assert(fabs(at(&s, T0 + 15 * k) - (k + 100 + NC_VM_VCPUS)) < 1e-9);
	nc_tm_series_release(&s);
	/* reported once: the next round is quiet */
	make_round(&rd, T0 + 60, NC_MT_VM, ids, 3, 4);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	ck_assert_str_eq(err.msg, "");
	nc_tm_store_close(st);

	/* a read-only store never rebuilds */
	ck_assert_int_eq(truncate(pa, 600), 0);
	st = open_store(d, 15, NULL, true);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "a", "vcpus", NC_TM_AVERAGE,
					   T0 + 15, T0 + 60, 0, &s, &err), -1);
	ck_assert_int_eq(file_size(pa), 600);
	nc_tm_store_close(st);
	free(pa);
	free(pc);
	rmtree(d);
}

START_TEST(test_store_corrupt_truncated)
{
	corrupt_case(0);
}
END_TEST

START_TEST(test_store_corrupt_garbage)
{
	corrupt_case(1);
}
END_TEST

START_TEST(test_store_foreign_layout)
{
	corrupt_case(2);
}
END_TEST

static void collect_line(void *opaque, const char *line)
{
	nc_buf_addf(opaque, "%s\n", line);
}

/* with a log, every file set aside and every name refused is said on its own
 * line: serve said the first and "(and N more)", the other paths never */
START_TEST(test_store_each_set_aside_said)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	static const char *const ids[] = { "a", "b", "c" }, *const ids2[] = { "a", "b", "c", "../x", "y z" };
	struct nc_tm_store_opts o = { .dir = d, .step = 15, .log = collect_line };
	struct nc_buf lines = NC_BUF_INIT;
	struct nc_err err = { "" };
	struct round rd;
	char *pa = nc_xasprintf("%s/vm/a.rrd", d), *pc = nc_xasprintf("%s/vm/c.rrd", d);

	make_round(&rd, T0 + 15, NC_MT_VM, ids, 3, 1);
	ck_assert_msg(write_round(st, &rd, &err) == 0, "%s", err.msg);
	nc_tm_store_close(st);
	ck_assert_int_eq(truncate(pa, 600), 0);
	ck_assert_int_eq(truncate(pc, 0), 0);
	o.log_opaque = &lines;
	st = NULL;
	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	make_round(&rd, T0 + 30, NC_MT_VM, ids2, 5, 2);
	ck_assert_msg(write_round(st, &rd, &err) == 0, "%s", err.msg);
	HASNT(err.msg, "more)");
	HAS(lines.buf, "/vm/a.rrd: unreadable or of another layout (");
	HAS(lines.buf, "/vm/a.rrd.corrupt, started afresh\n");
	HAS(lines.buf, "/vm/c.rrd.corrupt, started afresh\n");
	HAS(lines.buf, "vm '../x': not a name the store accepts");
	HAS(lines.buf, "vm 'y z': not a name the store accepts");
	HASNT(lines.buf, "b.rrd");
	/* said once: the next round is quiet */
	nc_buf_reset(&lines);
	make_round(&rd, T0 + 45, NC_MT_VM, ids2, 5, 3);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_msg(lines.len == 0, "%s", lines.buf);
	nc_tm_store_close(st);
	nc_buf_release(&lines);
	free(pa);
	free(pc);
	rmtree(d);
}
END_TEST

/* serve killed while librrd made a file left PATH.rrdXXXXXX (its full size) that
 * nothing found: a writing store removes them when it opens; readers and other names stay */
START_TEST(test_store_leftovers_removed)
{
	char *d = tmpdir();
	struct nc_tm_store_opts o = { .dir = d, .step = 15, .log = collect_line };
	struct nc_buf lines = NC_BUF_INIT;
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };

	o.log_opaque = &lines;
	ck_assert_int_eq(nc_run_inq(d, "mkdir vm anomaly && echo x > vm/web-1.rrdAb3xYz && echo x > anomaly/0a.rrdQWERTY "
				       "&& echo x > vm/web-1.rrd && echo x > vm/web-1.rrd.corrupt && echo x > vm/notes.rrdx"), 0);
	o.read_only = true;
	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	nc_tm_store_close(st);
	ck_assert_int_eq(nc_run_inq(d, "test -e vm/web-1.rrdAb3xYz"), 0);
	o.read_only = false;
	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	nc_tm_store_close(st);
	ck_assert_int_ne(nc_run_inq(d, "test -e vm/web-1.rrdAb3xYz"), 0);
	ck_assert_int_ne(nc_run_inq(d, "test -e anomaly/0a.rrdQWERTY"), 0);
	ck_assert_int_eq(nc_run_inq(d, "test -e vm/web-1.rrd && test -e vm/web-1.rrd.corrupt && test -e vm/notes.rrdx"), 0);
	HAS(lines.buf, "/vm/web-1.rrdAb3xYz: removed, a file librrd was making when serve stopped\n");
	HAS(lines.buf, "/anomaly/0a.rrdQWERTY: removed");
	nc_buf_release(&lines);
	rmtree(d);
}
END_TEST

/* a new file that cannot be written whole (a full disk; here a file size limit):
 * librrd gives no reason, the error gives the free space ("unknown librrd error") */
START_TEST(test_store_create_fails_says_why)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	static const char *const ids[] = { "a" };
	struct rlimit old, lim;
	struct nc_err err = { "" };
	struct round rd;

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 65536;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	make_round(&rd, T0 + 15, NC_MT_VM, ids, 1, 1);
	ck_assert_int_eq(write_round(st, &rd, &err), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	HAS(err.msg, "/vm/a.rrd: cannot create: ");
	HASNT(err.msg, "unknown librrd error");
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

START_TEST(test_store_step_changed)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	static const char *const ids[] = { "p@kvm1" };
	struct nc_err err = { "" };
	struct round rd;

	make_round(&rd, T0 + 15, NC_MT_POOL, ids, 1, 1);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	nc_tm_store_close(st);
	st = open_store(d, 60, NULL, false);       /* serve's interval changed */
	make_round(&rd, T0 + 120, NC_MT_POOL, ids, 1, 2);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	HAS(err.msg, "step 15 s, not 60 s");
	HAS(err.msg, "p@kvm1.rrd.corrupt");
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

START_TEST(test_store_bad_ids)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	char longid[202];
	const char *const bad[] = { "../x", ".hidden", "a/b", "", "a b", longid };
	const char *ok[] = { "ok-1" };
	struct nc_err err = { "" };
	struct round rd;
	char **list;
	size_t n;

	memset(longid, 'x', 201);
	longid[201] = 0;
	ck_assert(nc_tm_id_ok("web-1.example_com@kvm1"));
	ck_assert(!nc_tm_id_ok(longid));
	longid[200] = 0;
	ck_assert(nc_tm_id_ok(longid));
	longid[200] = 'x';
	for (size_t i = 0; i < NC_ARRAY_SIZE(bad); i++)
		ck_assert_msg(!nc_tm_id_ok(bad[i]), "%s accepted", bad[i]);
	make_round(&rd, T0 + 15, NC_MT_VM, bad, NC_ARRAY_SIZE(bad), 1);
	ck_assert_int_eq(write_round(st, &rd, &err), -1);        /* nothing written */
	HAS(err.msg, "vm '../x': not a name the store accepts");
	HAS(err.msg, "(and 5 more)");
	ck_assert_int_eq(nc_tm_store_list(st, NC_MT_VM, &list, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	free(list);
	{
		char *outside = nc_xasprintf("%s/x.rrd", d);

		ck_assert_int_eq(file_size(outside), -1);
		free(outside);
	}
	/* said once: the same names again are quiet (still nothing written) */
	make_round(&rd, T0 + 30, NC_MT_VM, bad, NC_ARRAY_SIZE(bad), 1);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	ck_assert_str_eq(err.msg, "");
	/* a bad one beside a good one: the good one is written */
	make_round(&rd, T0 + 45, NC_MT_VM, ok, 1, 1);
	rd.o[1] = rd.o[0];
	rd.o[1].id = (char *)"..new";
	rd.r.nobjs = 2;
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	HAS(err.msg, "vm '..new': not a name the store accepts");
	ck_assert_int_eq(nc_tm_store_list(st, NC_MT_VM, &list, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0], "ok-1");
	free(list[0]);
	free(list);
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

START_TEST(test_store_create_limit)
{
	char *d = tmpdir();
	struct nc_tm_store_opts o = { .dir = d, .step = 15, .create_limit = 2 };
	struct nc_tm_store *st = NULL;
	static const char *const ids[] = { "a", "b", "c", "d", "e" };
	struct nc_tm_series s = { 0 };
	struct nc_err err = { "" };
	struct round rd;
	char **list;
	size_t n;

	ck_assert_int_eq(nc_tm_store_open(&st, &o, &err), 0);
	for (int k = 1; k <= 3; k++) {
		make_round(&rd, T0 + 15 * k, NC_MT_VM, ids, 5, k);
		ck_assert_int_eq(write_round(st, &rd, &err), 0);     /* not an error */
		ck_assert_str_eq(err.msg, "");
		ck_assert_int_eq(nc_tm_store_list(st, NC_MT_VM, &list, &n, &err), 0);
		ck_assert_uint_eq(n, k == 3 ? 5 : 2 * (size_t)k);     /* two new files a round, in order */
		ck_assert_str_eq(list[0], "a");
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
	}
	/* a, b from round 1, e from round 3 only */
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "a", "vcpus", NC_TM_AVERAGE, T0 + 15, T0 + 45, 0,
					   &s, &err), 1);
	ck_assert(fabs(at(&s, T0 + 15) - (1 + NC_VM_VCPUS)) < 1e-9);
	nc_tm_series_release(&s);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "e", "vcpus", NC_TM_AVERAGE, T0 + 15, T0 + 45, 0,
					   &s, &err), 1);
	ck_assert(isnan(at(&s, T0 + 30)));
	ck_assert(fabs(at(&s, T0 + 45) - (3 + 400 + NC_VM_VCPUS)) < 1e-9);
	nc_tm_series_release(&s);
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

static const struct nc_hw_params hw;

/* two threads on one store: rounds written while anomalies, reads and a graph go on */
struct thread_arg {
	struct nc_tm_store *st;
	const char *dir;
	int failures;
};

static void *writer(void *p)
{
	struct thread_arg *a = p;
	static const char *const ids[] = { "t1", "t2", "t3" };
	struct nc_err err = { "" };
	struct round rd;

	for (int k = 1; k <= 60; k++) {
		make_round(&rd, T0 + 15 * k, NC_MT_VM, ids, 3, k);
		if (nc_tm_store_write(a->st, &rd.r, &err) != 0 || err.msg[0])
			a->failures++;
	}
	return NULL;
}

static void *reader(void *p)
{
	struct thread_arg *a = p;
	struct nc_err err = { "" };
	struct nc_tm_series s = { 0 };
	char *png = nc_xasprintf("%s/t.png", a->dir);

	for (int k = 1; k <= 60; k++) {
		bool ab;

		if (nc_tm_anomaly(a->st, "threads", T0 + 15 * k, k % 7, &hw, &ab, NULL, NULL, &err) != 0)
			a->failures++;
		if (nc_tm_store_fetch(a->st, NC_MT_VM, "t1", "cpu_usage", NC_TM_AVERAGE, T0, T0 + 900, 0,
				      &s, &err) == 1)
			nc_tm_series_release(&s);
		if (k % 20 == 0 &&
		    nc_tm_graph(a->st, NC_MT_VM, "t1", "cpu_usage", T0, T0 + 900, 300, 100, png, &err) != 0 &&
		    !strstr(err.msg, "no history"))
			a->failures++;
	}
	free(png);
	return NULL;
}

START_TEST(test_store_threads)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	struct thread_arg w = { st, d, 0 }, r = { st, d, 0 };
	struct nc_tm_series s = { 0 };
	struct nc_err err = { "" };
	pthread_t tw, tr;

	ck_assert_int_eq(pthread_create(&tw, NULL, writer, &w), 0);
	ck_assert_int_eq(pthread_create(&tr, NULL, reader, &r), 0);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	ck_assert_int_eq(w.failures, 0);
	ck_assert_int_eq(r.failures, 0);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "t3", "vcpus", NC_TM_AVERAGE, T0 + 15, T0 + 900,
					   0, &s, &err), 1);
	for (int k = 1; k <= 60; k++)
		ck_assert(fabs(at(&s, T0 + 15 * k) - (k + 200 + NC_VM_VCPUS)) < 1e-9);
	nc_tm_series_release(&s);
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

/* ---- rrdcached ---- */

static const char *find_rrdcached(void)
{
	static const char *const where[] = { "/usr/bin/rrdcached", "/usr/sbin/rrdcached" };

	for (size_t i = 0; i < NC_ARRAY_SIZE(where); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* rrdcached in the foreground on unix:DIR/sock, base dir DIR; its PID, or -1 */
static pid_t start_rrdcached(const char *bin, const char *dir, char *addr, size_t len)
{
	char *sock = nc_xasprintf("%s/sock", dir), *pidf = nc_xasprintf("%s/rrdcached.pid", dir);
	char *l = nc_xasprintf("unix:%s", sock), *j = nc_xasprintf("%s/journal", dir);
	char *const argv[] = { (char *)bin, "-l", l, "-b", (char *)dir, "-B", "-g", "-F",
			       "-p", pidf, NULL };
	pid_t pid = -1;
	struct stat sb;

	(void)j;
	pid = fork();
	if (pid == 0) {
		/* a test that fails ends its process: the daemon goes with it */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(bin, argv);
		_exit(127);
	}
	/* wait (bounded: 10 s) for its socket */
	for (int i = 0; pid > 0 && i < 1000; i++) {
		int status;

		if (stat(sock, &sb) == 0)
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = -1;
			break;
		}
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	if (pid > 0 && stat(sock, &sb) != 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	snprintf(addr, len, "%s", l);
	free(sock);
	free(pidf);
	free(l);
	free(j);
	return pid;
}

static void stop(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

START_TEST(test_store_rrdcached)
{
	const char *bin = find_rrdcached();
	char *d;
	char addr[512], *hist;
	static const char *const ids[] = { "web-1", "web-2" };
	struct nc_tm_store *st;
	struct nc_tm_series s = { 0 };
	struct nc_err err = { "" };
	struct round rd;
	pid_t pid;

	if (!bin) {
		NC_TEST_SKIP("no rrdcached binary (apt-get install rrdcached)");
		return;
	}
	d = tmpdir();
	pid = start_rrdcached(bin, d, addr, sizeof(addr));
	if (pid < 0) {
		NC_TEST_SKIP("rrdcached did not start here");
		rmtree(d);
		return;
	}
	hist = nc_xasprintf("%s/telemetry", d);
	st = open_store(hist, 15, addr, false);
	for (int k = 1; k <= 8; k++) {
		make_round(&rd, T0 + 15 * k, NC_MT_VM, ids, 2, k);
		if (k == 4)
			rd.o[1].v[NC_VM_CPU_USAGE] = NAN;
		ck_assert_msg(write_round(st, &rd, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(err.msg, "");
	}
	/* an older round through the daemon too: skipped, not an error */
	make_round(&rd, T0 + 15 * 2, NC_MT_VM, ids, 2, 99);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	ck_assert_str_eq(err.msg, "");
	/* read through the daemon (it flushes the file first) */
	ck_assert_msg(nc_tm_store_fetch(st, NC_MT_VM, "web-2", "cpu_usage", NC_TM_AVERAGE,
					T0 + 15, T0 + 120, 0, &s, &err) == 1, "%s", err.msg);
	ck_assert(fabs(at(&s, T0 + 15 * 8) - (8 + 100 + NC_VM_CPU_USAGE)) < 1e-9);
	ck_assert(isnan(at(&s, T0 + 15 * 4)));
	nc_tm_series_release(&s);
	/* serve restarted while the daemon holds values: an older round still skipped */
	make_round(&rd, T0 + 15 * 10, NC_MT_VM, ids, 2, 10);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	nc_tm_store_close(st);
	st = open_store(hist, 15, addr, false);
	make_round(&rd, T0 + 15 * 9, NC_MT_VM, ids, 2, 99);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	ck_assert_str_eq(err.msg, "");
	/* flushed: the files themselves hold every round */
	make_round(&rd, T0 + 15 * 11, NC_MT_VM, ids, 2, 11);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_msg(nc_tm_store_flush(st, &err) == 0, "%s", err.msg);
	nc_tm_store_close(st);
	st = open_store(hist, 15, NULL, true);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "web-1", "cpu_usage", NC_TM_AVERAGE,
					   T0 + 15, T0 + 165, 0, &s, &err), 1);
	for (int k = 1; k <= 11; k++)     /* round 9 never came: one late round takes the next value */
		ck_assert_msg(fabs(at(&s, T0 + 15 * k) - ((k == 9 ? 10 : k) + NC_VM_CPU_USAGE)) < 1e-9,
			      "k=%d %g", k, at(&s, T0 + 15 * k));
	nc_tm_series_release(&s);
	nc_tm_store_close(st);
	stop(pid);
	free(hist);
	rmtree(d);
}
END_TEST

/* ---- anomaly detection ---- */

/* a daily-like cycle: a sine of one season, plus deterministic noise (an LCG) */
static double series(unsigned k, unsigned season, unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return 50 + 20 * sin(2 * M_PI * k / season) + (double)((*seed >> 16) % 1000) / 1000.0;
}

static const struct nc_hw_params hw = { .season = 60, .alpha = 0.1, .beta = 0.0035, .gamma = 0.1,
					.delta = 2, .threshold = 7, .window = 9 };

/* AlertRules come from git: the anomaly files they ask for are bounded in bytes
 * (a 7d season at 1 s is 46 MB a (rule, object)); past the limit a new pair is a
 * gap with the reason, an existing one goes on, a forgotten one gives its room back */
START_TEST(test_store_anomaly_disk_limit)
{
	char *d = tmpdir();
	struct nc_tm_store_opts o = { .dir = d, .step = 15, .anomaly_disk_limit = 20000 };
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };
	unsigned made = 0, refused = 0;
	char key[32];
	struct nc_run r;

	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	for (unsigned i = 0; i < 6; i++) {
		bool ab;

		snprintf(key, sizeof(key), "rule/vm-%u", i);
		err.msg[0] = 0;
		if (nc_tm_anomaly(st, key, T0 + 15, 1.0, &hw, &ab, NULL, NULL, &err) == 0) {
			ck_assert_msg(refused == 0, "made after one was refused: %u", i);
			made++;
		} else {
			HAS(err.msg, ": not made: the anomaly files would pass 0 MiB (");
			refused++;
		}
	}
	ck_assert_uint_ge(made, 1);
	ck_assert_uint_ge(refused, 1);
	nc_run_in(&r, d, "test $(cat anomaly/* | wc -c) -le 20000");
	ck_assert_msg(r.status == 0, "anomaly files: %s", r.err);
	nc_run_free(&r);
	/* the first pair goes on; its room, once forgotten, takes a new one */
	ck_assert_msg(nc_tm_anomaly(st, "rule/vm-0", T0 + 30, 1.0, &hw, NULL, NULL, NULL, &err) == 0, "%s", err.msg);
	snprintf(key, sizeof(key), "rule/vm-%u", made);
	ck_assert_int_eq(nc_tm_anomaly(st, key, T0 + 30, 1.0, &hw, NULL, NULL, NULL, &err), -1);
	ck_assert_int_eq(nc_tm_anomaly_forget(st, "rule/vm-0", &err), 0);
	ck_assert_msg(nc_tm_anomaly(st, key, T0 + 30, 1.0, &hw, NULL, NULL, NULL, &err) == 0, "%s", err.msg);
	nc_tm_store_close(st);
	/* a new store counts what is on disk */
	st = NULL;
	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	ck_assert_int_eq(nc_tm_anomaly(st, "rule/vm-5", T0 + 45, 1.0, &hw, NULL, NULL, NULL, &err), -1);
	HAS(err.msg, "not made");
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

START_TEST(test_store_anomaly_clean)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	struct nc_err err = { "" };
	unsigned seed = 1, flagged = 0, predicted = 0;

	for (unsigned k = 1; k <= 5 * hw.season; k++) {
		bool ab = true;
		double pred = 0, dev = 0;

		ck_assert_msg(nc_tm_anomaly(st, "vm-cpu/web-1", T0 + 15 * k, series(k, hw.season, &seed),
					    &hw, &ab, &pred, &dev, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(err.msg, "");
		if (k <= hw.season)          /* the first season is learnt: no prediction */
			ck_assert_msg(isnan(pred) && !ab, "k=%u: pred %g", k, pred);
		if (!isnan(pred))
			predicted++;
		if (k > 2 * hw.season + 1)   /* a deviation once the second season is seen */
			ck_assert_msg(!isnan(dev) && fabs(pred - 50 - 20 * sin(2 * M_PI * k / hw.season)) < 3,
				      "k=%u: pred %g dev %g", k, pred, dev);
		flagged += ab;
	}
	ck_assert_uint_eq(flagged, 0);
	ck_assert_uint_ge(predicted, 3 * hw.season);
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

/* a spike of +40 for 12 steps from step `at`: the first step flagged, 0 if none */
static unsigned spike_case(struct nc_tm_store *st, const char *key, unsigned at,
			   const struct nc_hw_params *p)
{
	struct nc_err err = { "" };
	unsigned seed = 7, first = 0;

	for (unsigned k = 1; k <= 5 * p->season; k++) {
		bool ab = false;
		double v = series(k, p->season, &seed);

		if (k >= at && k < at + 12)
			v += 40;
		ck_assert_msg(nc_tm_anomaly(st, key, T0 + 15 * k, v, p, &ab, NULL, NULL, &err) == 0,
			      "%s", err.msg);
		if (ab && !first)
			first = k;
	}
	return first;
}

/* N: a spike is flagged within the FAILURES window (9 steps) of its start */
#define NC_ANOMALY_N 9

START_TEST(test_store_anomaly_spike)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	struct nc_hw_params p = hw;
	unsigned at = 4 * hw.season + 10, first;
	struct nc_err err = { "" };
	bool ab;
	double pred;

	first = spike_case(st, "vm-cpu/web-2", at, &hw);
	ck_assert_msg(first >= at && first < at + NC_ANOMALY_N, "spike at %u flagged at %u", at, first);
	/* a spike in the first season is learnt, never flagged then */
	first = spike_case(st, "vm-cpu/web-3", 20, &hw);
	ck_assert_msg(first == 0 || first > 2 * hw.season, "flagged at %u", first);
	/* a wider band (delta 6, set by rrd_tune) and 9 failures in 9: the whole window */
	p.delta = 6;
	p.threshold = 9;
	first = spike_case(st, "vm-cpu/web-4", at, &p);
	ck_assert_msg(first >= at + 8 && first < at + 12, "threshold 9: flagged at %u", first);
	/* reopened: the file is recognised as made with these parameters (delta included), kept */
	nc_tm_store_close(st);
	st = open_store(d, 15, NULL, false);
	ck_assert_int_eq(nc_tm_anomaly(st, "vm-cpu/web-4", T0 + 15 * (5 * hw.season + 1), 50, &p, &ab,
				       &pred, NULL, &err), 0);
	ck_assert_msg(!isnan(pred), "web-4 was recreated");
	/* the same key with other parameters: recreated, learning again */
	ck_assert_int_eq(nc_tm_anomaly(st, "vm-cpu/web-2", T0 + 15 * (5 * hw.season + 1), 50, &p, &ab,
				       &pred, NULL, &err), 0);
	ck_assert_msg(isnan(pred) && !ab, "pred %g", pred);
	/* forgotten: the next value starts learning again */
	ck_assert_int_eq(nc_tm_anomaly_forget(st, "vm-cpu/web-4", &err), 0);
	ck_assert_int_eq(nc_tm_anomaly_forget(st, "vm-cpu/none", &err), 0);
	ck_assert_int_eq(nc_tm_anomaly(st, "vm-cpu/web-4", T0 + 15 * (5 * hw.season + 2), 50, &p, &ab,
				       &pred, NULL, &err), 0);
	ck_assert_msg(isnan(pred) && !ab, "pred %g", pred);
	/* bad parameters */
	p.window = 29;
	ck_assert_int_eq(nc_tm_anomaly(st, "k", T0, 1, &p, &ab, NULL, NULL, &err), -1);
	HAS(err.msg, "window");
	nc_tm_store_close(st);
	rmtree(d);
}
END_TEST

/* ---- graphs ---- */

static bool is_png(const char *path)
{
	static const unsigned char magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char head[8];
	FILE *f = fopen(path, "rb");
	bool ok;

	if (!f)
		return false;
	ok = fread(head, 1, 8, f) == 8 && memcmp(head, magic, 8) == 0;
	fclose(f);
	return ok && file_size(path) > 100;
}

START_TEST(test_store_graph)
{
	char *d = tmpdir();
	struct nc_tm_store *st = open_store(d, 15, NULL, false);
	static const char *const ids[] = { "web-1" };
	struct nc_err err = { "" };
	struct round rd;
	struct nc_run r;
	char *png = nc_xasprintf("%s/web-1.png", d), *png2 = nc_xasprintf("%s/cli.png", d), *args;

	for (int k = 1; k <= 40; k++) {
		make_round(&rd, T0 + 15 * k, NC_MT_VM, ids, 1, 0);
		rd.o[0].v[NC_VM_CPU_USAGE] = 0.5 + 0.4 * sin(k / 5.0);
		ck_assert_int_eq(write_round(st, &rd, &err), 0);
	}
	ck_assert_msg(nc_tm_graph(st, NC_MT_VM, "web-1", "cpu_usage", T0, T0 + 600, 600, 200, png,
				  &err) == 0, "%s", err.msg);
	ck_assert(is_png(png));
	ck_assert_int_eq(nc_tm_graph(st, NC_MT_VM, "web-9", "cpu_usage", T0, T0 + 600, 600, 200, png,
				     &err), -1);
	HAS(err.msg, "no history for vm web-9");
	ck_assert_int_eq(nc_tm_graph(st, NC_MT_VM, "../web-1", "cpu_usage", T0, T0 + 600, 600, 200, png,
				     &err), -1);
	nc_tm_store_close(st);

	/* the command */
	args = nc_xasprintf("graph vm web-1 cpu_usage --since %lld --until %lld --width 400 --height 150 "
			    "--telemetry-dir %s -o %s", (long long)T0, (long long)(T0 + 600), d, png2);
	nc_run_novacron(&r, args);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	HAS(r.out, "wrote ");
	ck_assert(is_png(png2));
	nc_run_free(&r);
	free(args);
	/* an unknown metric: exit 1, did you mean, nothing written */
	unlink(png2);
	args = nc_xasprintf("graph vm web-1 cpu --telemetry-dir %s -o %s", d, png2);
	nc_run_novacron(&r, args);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "novacron graph: no vm metric 'cpu'; did you mean 'cpu_usage'?");
	ck_assert_int_eq(file_size(png2), -1);
	nc_run_free(&r);
	free(args);
	/* no history: exit 1, the close name */
	args = nc_xasprintf("graph vm web-2 cpu_usage --telemetry-dir %s -o %s", d, png2);
	nc_run_novacron(&r, args);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "no history for vm web-2");
	HAS(r.err, "did you mean 'web-1'?");
	nc_run_free(&r);
	free(args);
	/* a bad name, a bad kind */
	args = nc_xasprintf("graph vm ../web-1 cpu_usage --telemetry-dir %s -o %s", d, png2);
	nc_run_novacron(&r, args);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "vm name '../web-1' is not valid");
	nc_run_free(&r);
	free(args);
	args = nc_xasprintf("graph vms web-1 cpu_usage --state-dir %s -o %s", d, png2);
	nc_run_novacron(&r, args);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "unknown kind 'vms'");
	nc_run_free(&r);
	free(args);
	ck_assert_int_eq(file_size(png2), -1);
	free(png);
	free(png2);
	rmtree(d);
}
END_TEST

Suite *nc_suite_store(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_store_roundtrip_gaps);
	tcase_add_test(tc, test_store_consolidation_minute);
	tcase_add_test(tc, test_store_corrupt_truncated);
	tcase_add_test(tc, test_store_corrupt_garbage);
	tcase_add_test(tc, test_store_each_set_aside_said);
	tcase_add_test(tc, test_store_leftovers_removed);
	tcase_add_test(tc, test_store_create_fails_says_why);
	tcase_add_test(tc, test_store_foreign_layout);
	tcase_add_test(tc, test_store_step_changed);
	tcase_add_test(tc, test_store_bad_ids);
	tcase_add_test(tc, test_store_create_limit);
	tcase_add_test(tc, test_store_threads);
	tcase_add_test(tc, test_store_rrdcached);
	tcase_add_test(tc, test_store_anomaly_clean);
	tcase_add_test(tc, test_store_anomaly_disk_limit);
	tcase_add_test(tc, test_store_anomaly_spike);
	tcase_add_test(tc, test_store_graph);
	suite_add_tcase(s, tc);
	return s;
}
