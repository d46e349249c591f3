/*
 * telemetry-store.c - the cost of the embedded history (telemetry/store.c):
 *
 *   nc-bench-telemetry-store [--hosts N] [--vms M] [--rounds R] [--step S]
 *                            [--dir DIR] [--no-rrdcached]
 *
 * 1. Disk: the exact size of a host, VM and pool file at the step (and at
 *    60 s), per data source (= per series), which is also its size for a
 *    year of history: RRD files are made at their full size and never grow.
 * 2. Writes, straight into the files: one round of N hosts (default 500) and
 *    M VMs (default 10,000) with every metric known; the first round
 *    creates the files (timed apart), then R rounds (default 5) are timed:
 *    wall clock and this process's CPU (user + system), median and best.
 * 3. The same through a real rrdcached (-g -l unix:DIR/sock -b DIR -B,
 *    started and stopped here by its PID; skipped when the binary is
 *    missing): the round as serve pays it (rrdc_update per file), the
 *    daemon's CPU over the rounds (/proc/PID/stat), then the flush of every
 *    file (what the daemon does later, once per -w interval, batched).
 * 4. Memory: the store's own bookkeeping (one entry per file) from
 *    mallinfo2 before and after the first round; peak RSS of the process.
 *
 * Files go to a temporary directory (or DIR), removed at the end.  Needs
 * about (N x 1.3 MiB + M x 2 MiB) of free disk at a 15 s step.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../spec/util.h"
#include "../telemetry/store.h"

extern char **environ;

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of a process, seconds; -1 when unreadable */
static double cpu_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long rss_kib_of(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void rmtree(const char *d)
{
	char *const argv[] = { "rm", "-rf", (char *)d, NULL };
	pid_t pid;

	if (posix_spawnp(&pid, "rm", NULL, NULL, argv, environ) == 0)
		waitpid(pid, NULL, 0);
}

static void make_round(struct nc_tm_round *r, unsigned hosts, unsigned vms)
{
	memset(r, 0, sizeof(*r));
	r->nobjs = hosts + vms;
	r->objs = nc_xcalloc(r->nobjs, sizeof(*r->objs));
	for (unsigned i = 0; i < hosts; i++) {
		struct nc_tm_object *o = &r->objs[i];

		o->target = NC_MT_HOST;
		o->id = nc_xasprintf("kvm%04u", i);
		o->name = o->id;
	}
	for (unsigned i = 0; i < vms; i++) {
		struct nc_tm_object *o = &r->objs[hosts + i];

		o->target = NC_MT_VM;
		o->id = nc_xasprintf("vm%05u", i);
		o->name = o->id;
	}
}

static void fill(struct nc_tm_round *r, time_t t, unsigned k)
{
	r->t = t;
	for (size_t i = 0; i < r->nobjs; i++)
		for (size_t m = 0; m < nc_metric_count(r->objs[i].target); m++)
			r->objs[i].v[m] = 0.25 + 0.5 * sin((double)(i + m + k) / 7.0);
}

static void free_round(struct nc_tm_round *r)
{
	for (size_t i = 0; i < r->nobjs; i++)
		free(r->objs[i].id);
	free(r->objs);
}

static off_t fsize(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 ? sb.st_size : -1;
}

static void sizes(const char *dir, unsigned step)
{
	static const char *const ids[NC_MT__COUNT] = { "h", "v", "p@h" };
	struct nc_tm_store_opts o = { .dir = dir, .step = step };
	struct nc_tm_object objs[NC_MT__COUNT];
	struct nc_tm_round r = { .t = 1700000040, .objs = objs, .nobjs = NC_MT__COUNT };
	struct nc_tm_store *st;
	struct nc_err err = { "" };

	memset(objs, 0, sizeof(objs));
	for (int t = 0; t < NC_MT__COUNT; t++) {
		objs[t].target = (enum nc_metric_target)t;
		objs[t].id = objs[t].name = (char *)ids[t];
		for (int m = 0; m < NC_METRICS_MAX; m++)
			objs[t].v[m] = 1;
	}
	if (nc_tm_store_open(&st, &o, &err) != 0 || nc_tm_store_write(st, &r, &err) != 0) {
		fprintf(stderr, "sizes: %s\n", err.msg);
		exit(1);
	}
	nc_tm_store_close(st);
	for (int t = 0; t < NC_MT__COUNT; t++) {
		char *p = nc_xasprintf("%s/%s/%s.rrd", dir, nc_metric_target_name((enum nc_metric_target)t),
				       ids[t]);
		off_t sz = fsize(p);
		size_t nds = nc_metric_count((enum nc_metric_target)t);

		printf("  step %2us  %-4s  %2zu series  file %9lld bytes (%.2f MiB)  per series %7lld bytes"
		       " (%.1f KiB), the same for a year\n", step,
		       nc_metric_target_name((enum nc_metric_target)t), nds, (long long)sz,
		       (double)sz / 1048576.0, (long long)(sz / (off_t)nds), (double)sz / (double)nds / 1024);
		free(p);
	}
}

struct timing {
	double first_wall, first_cpu;
	double wall[64], cpu[64];
	unsigned n;
};

static int run_rounds(struct nc_tm_store *st, struct nc_tm_round *r, unsigned rounds, unsigned step,
		      struct timing *tm)
{
	struct nc_err err = { "" };
	time_t t0 = 1700000040;
	double w, c;

	fill(r, t0 + step, 0);
	w = mono();
	c = cpu_self();
	if (nc_tm_store_write(st, r, &err) != 0 || err.msg[0]) {
		fprintf(stderr, "round 1: %s\n", err.msg);
		return -1;
	}
	tm->first_wall = mono() - w;
	tm->first_cpu = cpu_self() - c;
	tm->n = 0;
	for (unsigned k = 1; k <= rounds && k < 64; k++) {
		fill(r, t0 + (time_t)step * (k + 1), k);
		w = mono();
		c = cpu_self();
		if (nc_tm_store_write(st, r, &err) != 0 || err.msg[0]) {
			fprintf(stderr, "round %u: %s\n", k + 1, err.msg);
			return -1;
		}
		tm->wall[tm->n] = mono() - w;
		tm->cpu[tm->n] = cpu_self() - c;
		tm->n++;
	}
	return 0;
}

static void report(const char *what, struct timing *tm, size_t nobjs)
{
	qsort(tm->wall, tm->n, sizeof(double), dcmp);
	qsort(tm->cpu, tm->n, sizeof(double), dcmp);
	printf("  %-26s first round (creates %zu files): %.2f s wall, %.2f s CPU\n", what, nobjs,
	       tm->first_wall, tm->first_cpu);
	printf("  %-26s a round: median %.3f s wall / %.3f s CPU, best %.3f / %.3f (%u rounds); "
	       "%.1f us CPU per object\n", "", tm->wall[tm->n / 2], tm->cpu[tm->n / 2], tm->wall[0],
	       tm->cpu[0], tm->n, tm->cpu[tm->n / 2] * 1e6 / (double)nobjs);
}

static pid_t start_rrdcached(const char *dir, char *addr, size_t len)
{
	static const char *const where[] = { "/usr/bin/rrdcached", "/usr/sbin/rrdcached" };
	const char *bin = NULL;
	char *sock = nc_xasprintf("%s/sock", dir), *pidf = nc_xasprintf("%s/rrdcached.pid", dir);
	char *l = nc_xasprintf("unix:%s", sock);
	pid_t pid = -1;
	struct stat sb;

	for (size_t i = 0; i < NC_ARRAY_SIZE(where) && !bin; i++)
		if (access(where[i], X_OK) == 0)
			bin = where[i];
	if (bin) {
		char *const argv[] = { (char *)bin, "-g", "-l", l, "-b", (char *)dir, "-B", "-F",
				       "-p", pidf, "-w", "3600", "-f", "7200", NULL };

		if (posix_spawn(&pid, bin, NULL, NULL, argv, environ) != 0)
			pid = -1;
		for (int i = 0; pid > 0 && i < 1000 && stat(sock, &sb) != 0; i++)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
		if (pid > 0 && stat(sock, &sb) != 0) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			pid = -1;
		}
	}
	snprintf(addr, len, "%s", l);
	free(sock);
	free(pidf);
	free(l);
	return pid;
}

int main(int argc, char **argv)
{
	unsigned hosts = 500, vms = 10000, rounds = 5, step = 15;
	const char *dir_arg = NULL;
	bool cached = true;
	char *dir, *sub;
	struct nc_tm_round r;
	struct nc_tm_store *st;
	struct nc_tm_store_opts o = { 0 };
	struct nc_err err = { "" };
	struct timing tm;
	struct mallinfo2 m0, m1;
	struct rusage ru;

	signal(SIGPIPE, SIG_IGN);        /* as serve: a daemon gone is an error, not a death */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hosts") && i + 1 < argc)
			hosts = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vms") && i + 1 < argc)
			vms = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--step") && i + 1 < argc)
			step = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir_arg = argv[++i];
		else if (!strcmp(argv[i], "--no-rrdcached"))
			cached = false;
		else {
			fprintf(stderr, "usage: nc-bench-telemetry-store [--hosts N] [--vms M] [--rounds R] "
				"[--step S] [--dir DIR] [--no-rrdcached]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > 63 || step < 1) {
		fprintf(stderr, "--rounds 1 to 63, --step at least 1\n");
		return 2;
	}
	if (dir_arg) {
		dir = nc_xasprintf("%s/nc-bench-store-%d", dir_arg, (int)getpid());
		if (mkdir(dir, 0700) != 0) {
			perror(dir);
			return 1;
		}
	} else {
		dir = nc_xstrdup("/tmp/nc-bench-store-XXXXXX");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
	}

	printf("disk per file and per series (RRD files have their full size from the start):\n");
	sub = nc_xasprintf("%s/sizes", dir);
	sizes(sub, step);
	if (step != 60) {
		rmtree(sub);
		sizes(sub, 60);
	}
	rmtree(sub);
	free(sub);

	make_round(&r, hosts, vms);
	printf("\none round of %u hosts + %u VMs (%zu objects, %zu series), step %u s:\n", hosts, vms,
	       r.nobjs, (size_t)hosts * nc_metric_count(NC_MT_HOST) + (size_t)vms * nc_metric_count(NC_MT_VM),
	       step);
	sub = nc_xasprintf("%s/direct", dir);
	o.dir = sub;
	o.step = step;
	o.create_limit = UINT_MAX;      /* the whole first round at once, timed */
	m0 = mallinfo2();
	if (nc_tm_store_open(&st, &o, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (run_rounds(st, &r, rounds, step, &tm) != 0)
		return 1;
	m1 = mallinfo2();
	report("straight into the files:", &tm, r.nobjs);
	printf("  %-26s the store's memory: %.1f KiB for %zu files = %.0f bytes per file, %.1f per series\n",
	       "", (double)(m1.uordblks - m0.uordblks) / 1024.0, r.nobjs,
	       (double)(m1.uordblks - m0.uordblks) / (double)r.nobjs,
	       (double)(m1.uordblks - m0.uordblks) /
	       (double)((size_t)hosts * nc_metric_count(NC_MT_HOST) + (size_t)vms * nc_metric_count(NC_MT_VM)));
	nc_tm_store_close(st);
	{
		/* serve restarted: every file checked once (rrd_info) in its first round */
		double w0, c0;

		o.create_limit = 0;
		if (nc_tm_store_open(&st, &o, &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		fill(&r, 1700000040 + (time_t)step * (rounds + 2), rounds + 1);
		w0 = mono();
		c0 = cpu_self();
		if (nc_tm_store_write(st, &r, &err) != 0 || err.msg[0]) {
			fprintf(stderr, "restart round: %s\n", err.msg);
			return 1;
		}
		printf("  %-26s after a restart, the first round (every file checked): %.2f s wall, %.2f s CPU\n",
		       "", mono() - w0, cpu_self() - c0);
		nc_tm_store_close(st);
	}
	{
		char *pv = nc_xasprintf("%s/vm/vm00000.rrd", sub), *ph = nc_xasprintf("%s/host/kvm0000.rrd", sub);

		printf("  %-26s on disk: %.2f GiB for the round's files\n", "",
		       ((double)fsize(pv) * vms + (double)fsize(ph) * hosts) / 1073741824.0);
		free(pv);
		free(ph);
	}
	rmtree(sub);
	free(sub);

	if (cached) {
		char addr[512];
		pid_t pid;
		double c0, c1, w;

		sub = nc_xasprintf("%s/cached", dir);
		mkdir(sub, 0700);
		pid = start_rrdcached(sub, addr, sizeof(addr));
		if (pid < 0) {
			printf("  through rrdcached: skipped (no rrdcached binary, or it did not start)\n");
		} else {
			char *tdir = nc_xasprintf("%s/telemetry", sub);

			o.dir = tdir;
			o.rrdcached = addr;
			o.create_limit = UINT_MAX;
			if (nc_tm_store_open(&st, &o, &err) != 0) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			c0 = cpu_of(pid);
			if (run_rounds(st, &r, rounds, step, &tm) != 0)
				return 1;
			c1 = cpu_of(pid);
			report("through rrdcached:", &tm, r.nobjs);
			printf("  %-26s rrdcached's CPU over those %u rounds (creation included): %.2f s; its RSS %ld KiB\n",
			       "", rounds + 1, c1 - c0, rss_kib_of(pid));
			w = mono();
			c0 = cpu_of(pid);
			if (nc_tm_store_flush(st, &err) != 0)
				fprintf(stderr, "flush: %s\n", err.msg);
			printf("  %-26s flushing every file (%u pending values each): %.2f s wall, daemon CPU %.2f s\n",
			       "", rounds, mono() - w, cpu_of(pid) - c0);
			nc_tm_store_close(st);
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			free(tdir);
		}
		rmtree(sub);
		free(sub);
	}
	{
		/* anomaly detection: one round of 1,000 (rule, object) pairs, after the files exist */
		struct nc_hw_params hp = { .season = 5760, .alpha = 0.1, .beta = 0.0035, .gamma = 0.1,
					   .delta = 2, .threshold = 7, .window = 9 };
		unsigned pairs = 1000, k;
		double w, wall[8], cpu[8];
		char key[64], *p;

		sub = nc_xasprintf("%s/hw", dir);
		o.dir = sub;
		o.rrdcached = NULL;
		o.step = step;
		if (nc_tm_store_open(&st, &o, &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		w = mono();
		for (unsigned i = 0; i < pairs; i++) {
			snprintf(key, sizeof(key), "vm-cpu-anomaly/vm%05u", i);
			if (nc_tm_anomaly(st, key, 1700000040 + step, 0.5, &hp, NULL, NULL, NULL, &err) != 0) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
		}
		w = mono() - w;
		for (k = 0; k < 8; k++) {
			double w0 = mono(), c0 = cpu_self();

			for (unsigned i = 0; i < pairs; i++) {
				bool ab;

				snprintf(key, sizeof(key), "vm-cpu-anomaly/vm%05u", i);
				nc_tm_anomaly(st, key, 1700000040 + (time_t)step * (k + 2), 0.5 + 0.01 * i, &hp,
					      &ab, NULL, NULL, &err);
			}
			wall[k] = mono() - w0;
			cpu[k] = cpu_self() - c0;
		}
		qsort(wall, 8, sizeof(double), dcmp);
		qsort(cpu, 8, sizeof(double), dcmp);
		p = nc_xasprintf("%s/anomaly", sub);
		{
			DIR *dd = opendir(p);
			struct dirent *de;

			while (dd && (de = readdir(dd))) {
				if (de->d_name[0] != '.') {
					char *f = nc_xasprintf("%s/%s", p, de->d_name);

					printf("\none anomaly file (season %u steps, rows 2 seasons + window): %lld bytes",
					       hp.season, (long long)fsize(f));
					free(f);
					break;
				}
			}
			if (dd)
				closedir(dd);
		}
		printf("\nanomaly detection (season %u steps = 1 day at %u s, 7 of 9):\n"
		       "  %u (rule, object) pairs: first round (creates the files) %.2f s; a round: median "
		       "%.3f s wall / %.3f s CPU = %.0f us per pair (one rrd_update_v_r: the rows it wrote are the answer)\n",
		       hp.season, step, pairs, w, wall[4], cpu[4], cpu[4] * 1e6 / pairs);
		free(p);
		nc_tm_store_close(st);
		rmtree(sub);
		free(sub);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("\npeak RSS of this process: %ld MiB\n", ru.ru_maxrss / 1024);
	free_round(&r);
	rmtree(dir);
	free(dir);
	return 0;
}
