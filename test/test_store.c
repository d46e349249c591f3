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
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	/* a bad one beside a good one: the good one is written */
	make_round(&rd, T0 + 30, NC_MT_VM, ok, 1, 1);
	rd.o[1] = rd.o[0];
	rd.o[1].id = (char *)".hidden";
	rd.r.nobjs = 2;
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	HAS(err.msg, ".hidden");
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
	if (posix_spawn(&pid, bin, NULL, NULL, argv, environ) != 0)
		pid = -1;
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
	/* flushed: the files themselves hold every round */
	make_round(&rd, T0 + 15 * 9, NC_MT_VM, ids, 2, 9);
	ck_assert_int_eq(write_round(st, &rd, &err), 0);
	ck_assert_msg(nc_tm_store_flush(st, &err) == 0, "%s", err.msg);
	nc_tm_store_close(st);
	st = open_store(hist, 15, NULL, true);
	ck_assert_int_eq(nc_tm_store_fetch(st, NC_MT_VM, "web-1", "cpu_usage", NC_TM_AVERAGE,
					   T0 + 15, T0 + 135, 0, &s, &err), 1);
	for (int k = 1; k <= 9; k++)
		ck_assert_msg(fabs(at(&s, T0 + 15 * k) - (k + NC_VM_CPU_USAGE)) < 1e-9, "k=%d %g", k,
			      at(&s, T0 + 15 * k));
	nc_tm_series_release(&s);
	nc_tm_store_close(st);
	stop(pid);
	free(hist);
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
	tcase_add_test(tc, test_store_foreign_layout);
	tcase_add_test(tc, test_store_step_changed);
	tcase_add_test(tc, test_store_bad_ids);
	tcase_add_test(tc, test_store_rrdcached);
	suite_add_tcase(s, tc);
	return s;
}
