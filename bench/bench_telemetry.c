/*
 * bench_telemetry.c - what telemetry costs serve per round (issue 13).
 *
 *   nc-bench-telemetry [--hosts N] [--vms M] [--rules R] [--rounds K] [--dir DIR]
 *
 * Generates a spec of N sim:/// hosts (default 500), M VMs (default 10,000)
 * and R threshold AlertRules on VMs (default 1,000, each over every VM: the
 * worst case, R x M pairs), applies it once so the VMs exist and run, then
 * measures, with the simulated clock stepped 15 s per round
 * (NOVACRON_SIM_TIME):
 *
 *   collection   nc_tm_collect (16 threads), wall and CPU time of this
 *                process; the first round (no previous one: no rates) and
 *                K steady rounds.  A simulated host's figures are read from
 *                its state file in this process (telemetry/collect.c); for
 *                comparison, the bare libvirt calls that would load the
 *                same hosts into libvirt's test driver and ask them
 *                (virConnectOpen + virConnectGetAllDomainStats + close,
 *                16 threads).
 *   store        nc_tm_store_write of the round: the first (creates every
 *                file: no create_limit here, serve spreads it) and K steady ones, straight into the files; then K
 *                later ones into the same files through rrdcached when
 *                /usr/bin/rrdcached exists (started here with -w 3600, so
 *                it batches them; stopped by its PID), with the daemon's
 *                own CPU time and the flush that writes them.
 *   memory       RSS growth over the rounds and the open store, per series
 *                (object x metric).
 *   disk         file sizes under DIR/telemetry per series (each file keeps
 *                400 days: that is the cost of a year).
 *   alerts       nc_alerts_eval on the round: the first call (works out the
 *                selections) and K steady ones, pairs evaluated.
 *   /metrics     nc_tm_round_prometheus of the round (serve renders it once
 *                a round; a scrape copies it).
 *
 * Prints figures, never asserts; the goal (under 1 s of serve CPU per round
 * at a 15 s interval: collect + store + alerts + /metrics) is judged at the
 * end.  The directory is removed unless
 * --dir names one.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../reconciler/monitor.h"
#include "../reconciler/pass.h"
#include "../telemetry/alerts.h"
#include "../telemetry/store.h"
#include "../telemetry/telemetry.h"

extern char **environ;

#define STEP 15
#define SIM_T0 1796644800L      /* 2026-12-07T12:00:00Z */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* user + system CPU of this process (every thread) */
static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of another process (utime + stime from /proc/PID/stat) */
static double cpu_of(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')))
		return 0;
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long rss_kib(void)
{
	char line[256];
	long v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(data, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		exit(1);
	}
}

static void generate(const char *dir, unsigned hosts, unsigned vms, unsigned rules)
{
	static const char *const metrics[] = {
		"cpu_usage", "memory_used_ratio", "disk_read_bytes_per_second", "disk_write_bytes_per_second",
		"network_receive_bytes_per_second", "network_transmit_bytes_per_second", "running",
	};
	struct nc_buf b = NC_BUF_INIT;
	char *path;
	unsigned i, f;

	for (i = 0; i < hosts; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata:\n  name: h%03u\n"
			    "  labels: {rack: r%02u, zone: z%u}\nspec:\n  uri: 'sim:///h%03u?cpus=64&memory=512GiB'\n",
			    i, i / 20, i % 3, i);
	path = nc_xasprintf("%s/hosts.yaml", dir);
	write_file(path, b.buf);
	free(path);
	nc_buf_reset(&b);
	nc_buf_adds(&b, "apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\n"
			"spec: {type: dir, path: /var/lib/novacron/pools/local}\n---\n"
			"apiVersion: novacron.io/v1\nkind: Network\nmetadata: {name: lan}\n"
			"spec: {type: nat, subnet: 10.0.0.0/16}\n---\n"
			"apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: base}\n"
			"spec:\n  vcpus: 1\n  memory: 1GiB\n  disks: [{name: root, pool: local, size: 10GiB, boot: true}]\n"
			"  nics: [{name: eth0, network: lan}]\n");
	path = nc_xasprintf("%s/infra.yaml", dir);
	write_file(path, b.buf);
	free(path);
	for (f = 0; f * 100 < vms; f++) {
		nc_buf_reset(&b);
		for (i = f * 100; i < vms && i < (f + 1) * 100; i++)
			nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: vm%05u\n"
				    "  labels: {app: a%u}\nspec:\n  template: base\n", i, i % 50);
		path = nc_xasprintf("%s/vms-%03u.yaml", dir, f);
		write_file(path, b.buf);
		free(path);
	}
	nc_buf_reset(&b);
	for (i = 0; i < rules; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: AlertRule\nmetadata: {name: r%04u}\n"
			    "spec:\n  target: vm\n  metric: %s\n  threshold: {op: \">\", value: %u}\n"
			    "  for: 5m\n  severity: warning\n  summary: \"{{ object }} on {{ host }}: {{ value }}\"\n",
			    i, metrics[i % (sizeof(metrics) / sizeof(metrics[0]))], 1000000 + i);
	path = nc_xasprintf("%s/rules.yaml", dir);
	if (rules)
		write_file(path, b.buf);
	free(path);
	nc_buf_release(&b);
}

/* ---- the bare libvirt calls for the same hosts ---- */

struct bare {
	const char *state;
	unsigned hosts;
	atomic_uint next;
	atomic_ulong doms;
};

static void quiet(void *u, virErrorPtr e)
{
	(void)u;
	(void)e;
}

static void *bare_worker(void *arg)
{
	struct bare *b = arg;
	unsigned i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->hosts) {
		char *uri = nc_xasprintf("test://%s/h%03u.xml", b->state, i);
		virConnectPtr c = virConnectOpen(uri);
		virDomainStatsRecordPtr *recs = NULL;
		virNodeInfo ni;
		int n;

		free(uri);
		if (!c) {
			fprintf(stderr, "bench: cannot open host %u\n", i);
			exit(1);
		}
		virNodeGetInfo(c, &ni);
		n = virConnectGetAllDomainStats(c, 0, &recs, 0);
		if (n > 0) {
			atomic_fetch_add(&b->doms, (unsigned long)n);
			virDomainStatsRecordListFree(recs);
		}
		virConnectClose(c);
	}
	return NULL;
}

static double bare_run(const char *state, unsigned hosts, unsigned threads, double *cpu_s, unsigned long *doms)
{
	struct bare b = { state, hosts, 0, 0 };
	pthread_t t[64];
	double t0 = now(), c0 = cpu();
	unsigned i;

	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, bare_worker, &b);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	*doms = b.doms;
	*cpu_s = cpu() - c0;
	return now() - t0;
}

/* ---- helpers ---- */

static void sim_time(long t)
{
	char s[32];

	snprintf(s, sizeof(s), "%ld", t);
	setenv("NOVACRON_SIM_TIME", s, 1);
}

static size_t series_of(const struct nc_tm_round *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->nobjs; i++)
		n += nc_metric_count(r->objs[i].target);
	return n;
}

static unsigned long long disk_bytes[NC_MT__COUNT], disk_blocks[NC_MT__COUNT];
static size_t disk_files[NC_MT__COUNT];

static int disk_visit(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	int t;

	(void)ftw;
	if (flag != FTW_F || !strstr(path, ".rrd"))
		return 0;
	for (t = 0; t < NC_MT__COUNT; t++) {
		char part[32];

		snprintf(part, sizeof(part), "/%s/", nc_metric_target_name((enum nc_metric_target)t));
		if (strstr(path, part)) {
			disk_bytes[t] += (unsigned long long)sb->st_size;
			disk_blocks[t] += (unsigned long long)sb->st_blocks * 512;
			disk_files[t]++;
			break;
		}
	}
	return 0;
}

static int rm_visit(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

static pid_t start_rrdcached(const char *dir, char **addr)
{
	char *sock = nc_xasprintf("%s/rrdcached.sock", dir), *pidf = nc_xasprintf("%s/rrdcached.pid", dir);
	char *l = nc_xasprintf("unix:%s", sock);
	char *argv[] = { "rrdcached", "-g", "-l", l, "-p", pidf, "-w", "3600", "-f", "7200", "-F", NULL };
	posix_spawn_file_actions_t fa;
	struct stat sb;
	pid_t pid;
	int i;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
	if (posix_spawn(&pid, "/usr/bin/rrdcached", &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		free(sock);
		free(pidf);
		free(l);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < 100 && stat(sock, &sb) != 0; i++)
		usleep(50000);
	free(sock);
	free(pidf);
	*addr = l;
	return pid;
}

static void stop(pid_t pid)
{
	int st;

	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &st, 0);
	}
}

struct store_fig {
	double first_wall, first_cpu, wall, cpu, daemon_cpu, flush_wall, daemon_cpu_flush;
	bool ok;
};

/* with `first`, one round at rd->t (creates the files, or only reads their
 * headers when they exist: its time is then too old and skipped); then
 * `rounds` steady ones at from + k x STEP (k = 1..rounds) */
static void store_rounds(const char *dir, const char *rrdcached, pid_t daemon, struct nc_tm_round *rd,
			 bool first, time_t from, unsigned rounds, struct store_fig *f)
{
	struct nc_tm_store_opts o = { .dir = dir, .rrdcached = rrdcached, .step = STEP, .create_limit = UINT_MAX };
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };
	time_t t0 = rd->t;
	double w, c, d0;
	unsigned k;

	memset(f, 0, sizeof(*f));
	if (nc_tm_store_open(&st, &o, &err) < 0) {
		fprintf(stderr, "bench: store %s: %s\n", dir, err.msg);
		return;
	}
	if (first) {
		w = now();
		c = cpu();
		if (nc_tm_store_write(st, rd, &err) < 0)
			fprintf(stderr, "bench: store write: %s\n", err.msg);
		f->first_wall = now() - w;
		f->first_cpu = cpu() - c;
	}
	d0 = daemon > 0 ? cpu_of(daemon) : 0;
	w = now();
	c = cpu();
	for (k = 1; k <= rounds; k++) {
		rd->t = from + (time_t)k * STEP;
		err.msg[0] = '\0';
		if (nc_tm_store_write(st, rd, &err) < 0 || err.msg[0])
			fprintf(stderr, "bench: store write: %s\n", err.msg);
	}
	f->wall = (now() - w) / rounds;
	f->cpu = (cpu() - c) / rounds;
	if (daemon > 0) {
		f->daemon_cpu = (cpu_of(daemon) - d0) / rounds;
		w = now();
		if (nc_tm_store_flush(st, &err) < 0)
			fprintf(stderr, "bench: rrdcached flush: %s\n", err.msg);
		f->flush_wall = now() - w;
		f->daemon_cpu_flush = cpu_of(daemon) - d0;
	}
	rd->t = t0;
	nc_tm_store_close(st);
	f->ok = true;
}

int main(int argc, char **argv)
{
	unsigned hosts = 500, vms = 10000, rules = 1000, rounds = 3, i;
	char tmpl[] = "/tmp/nc-bench-telemetry-XXXXXX";
	const char *dir = NULL;
	bool own_dir = false;
	char *spec_dir, *state, *tdir, *addr = NULL;
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	struct nc_tm_round r1, r2;
	struct nc_tm_collect_opts co;
	struct nc_alerts *al;
	struct store_fig direct, cached;
	double w, c, c1w, c1c, cw = 0, cc = 0, bare_w, bare_c, aw1, ac1, aw = 0, ac = 0, ew = 0, ec = 0, apply_s;
	long rss0, rss1;
	size_t pairs = 0, series;
	unsigned long bare_doms;
	pid_t daemon = -1;

	for (i = 1; i < (unsigned)argc; i++) {
		if (!strcmp(argv[i], "--hosts") && i + 1 < (unsigned)argc)
			hosts = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vms") && i + 1 < (unsigned)argc)
			vms = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rules") && i + 1 < (unsigned)argc)
			rules = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < (unsigned)argc)
			rounds = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < (unsigned)argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: nc-bench-telemetry [--hosts N] [--vms M] [--rules R] [--rounds K] [--dir DIR]\n");
			return 1;
		}
	}
	if (hosts < 1 || hosts > 1000 || rounds < 1 || rounds > 100) {
		fprintf(stderr, "bench: --hosts 1..1000, --rounds 1..100\n");
		return 1;
	}
	if (!dir) {
		if (!(dir = mkdtemp(tmpl))) {
			perror("mkdtemp");
			return 1;
		}
		own_dir = true;
	}
	virSetErrorFunc(NULL, quiet);
	spec_dir = nc_xasprintf("%s/spec", dir);
	state = nc_xasprintf("%s/state", dir);
	tdir = nc_xasprintf("%s/telemetry", dir);
	mkdir(spec_dir, 0755);
	generate(spec_dir, hosts, vms, rules);
	printf("NovaCron telemetry benchmark: %u simulated hosts, %u VMs, %u alert rules, %u steady rounds, "
	       "%d s interval\n\n", hosts, vms, rules, rounds, STEP);

	/* the cluster, converged once (its VMs exist and run) */
	{
		const char *paths[] = { spec_dir };
		struct nc_observe_opts oo = { .state_dir = state, .timeout_ms = 60000, .parallel = 16,
					      .keep_open = true };
		struct nc_plan_opts po;
		struct nc_cluster cl;
		struct nc_plan p;
		struct nc_apply_result ar;

		memset(&po, 0, sizeof(po));
		nc_diags_init(&d);
		w = now();
		if (nc_spec_load(&spec, paths, 1, NULL, &d) < 0) {
			fprintf(stderr, "bench: generated spec is invalid (%zu errors)\n", d.errors);
			return 1;
		}
		nc_observe(&cl, spec, &oo);
		nc_plan_build(&p, spec, &cl, &po);
		nc_apply(&ar, &p, &cl, &po, NULL, 0);
		apply_s = now() - w;
		printf("setup: apply from empty, %zu actions, %zu failed, %.1f s\n\n", ar.done, ar.failed, apply_s);
		nc_plan_release(&p);
		nc_cluster_release(&cl);
		if (ar.failed)
			return 1;
	}

	/* collection */
	memset(&co, 0, sizeof(co));
	co.state_dir = state;
	co.timeout_ms = 60000;
	co.parallel = 16;
	rss0 = rss_kib();
	sim_time(SIM_T0);
	w = now();
	c = cpu();
	nc_tm_collect(&r1, spec, NULL, &co);
	c1w = now() - w;
	c1c = cpu() - c;
	for (i = 1; i <= rounds; i++) {
		sim_time(SIM_T0 + (long)i * STEP);
		w = now();
		c = cpu();
		nc_tm_collect(&r2, spec, &r1, &co);
		cw += now() - w;
		cc += cpu() - c;
		nc_tm_round_release(&r1);
		r1 = r2;
	}
	cw /= rounds;
	cc /= rounds;
	bare_w = bare_run(state, hosts, 16, &bare_c, &bare_doms);
	series = series_of(&r1);
	{
		size_t n[NC_MT__COUNT] = { 0 }, down = 0;

		for (i = 0; i < r1.nobjs; i++)
			n[r1.objs[i].target]++;
		for (i = 0; i < r1.nhosts; i++)
			down += r1.errors && r1.errors[i];
		printf("round: %zu hosts (%zu gave no stats), %zu VMs, %zu pools: %zu objects, %zu series\n\n",
		       n[NC_MT_HOST], down, n[NC_MT_VM], n[NC_MT_POOL], r1.nobjs, series);
	}
	printf("%-52s %9s %9s\n", "per round", "wall s", "CPU s");
	printf("%-52s %9.3f %9.3f\n", "collect, first round (no rates yet)", c1w, c1c);
	printf("%-52s %9.3f %9.3f\n", "collect, steady round (mean)", cw, cc);
	printf("%-52s %9.3f %9.3f   (%lu domains)\n", "  (bare libvirt test driver: open + all-domain stats)",
	       bare_w, bare_c, bare_doms);

	/* store: files, then the same files through rrdcached (later rounds) */
	store_rounds(tdir, NULL, -1, &r1, true, r1.t, rounds, &direct);
	printf("%-52s %9.3f %9.3f   (serve: at most 256 new files a round)\n",
	       "store write, first round (creates every file)", direct.first_wall, direct.first_cpu);
	printf("%-52s %9.3f %9.3f\n", "store write, steady round, files (mean)", direct.wall, direct.cpu);
	if (access("/usr/bin/rrdcached", X_OK) == 0 && (daemon = start_rrdcached(dir, &addr)) > 0) {
		/* a new store reads each file's header once (its first write): timed apart */
		store_rounds(tdir, addr, daemon, &r1, true, r1.t + (time_t)rounds * STEP, rounds, &cached);
		if (cached.ok) {
			printf("%-52s %9.3f %9.3f   (a new store checks each file once)\n",
			       "store write, first round via rrdcached", cached.first_wall, cached.first_cpu);
			printf("%-52s %9.3f %9.3f   (rrdcached's own CPU %.3f s)\n",
			       "store write, steady round via rrdcached (mean)", cached.wall, cached.cpu,
			       cached.daemon_cpu);
			printf("%-52s %9.3f %9s   (rrdcached's CPU, queueing + flush: %.3f s)\n",
			       "  rrdcached flush of those rounds to the files", cached.flush_wall, "-",
			       cached.daemon_cpu_flush);
		}
		stop(daemon);
	} else {
		memset(&cached, 0, sizeof(cached));
		printf("store via rrdcached: skipped (no /usr/bin/rrdcached, or it did not start)\n");
	}

	/* alerts */
	al = nc_alerts_new();
	{
		struct nc_alert_event *ev = NULL;
		size_t nev = 0;

		w = now();
		c = cpu();
		pairs = nc_alerts_eval(al, spec, &r1, NULL, &ev, &nev);
		aw1 = now() - w;
		ac1 = cpu() - c;
		nc_alert_events_release(ev, nev);
		for (i = 1; i <= rounds; i++) {
			ev = NULL;
			nev = 0;
			r1.t += STEP;
			w = now();
			c = cpu();
			nc_alerts_eval(al, spec, &r1, NULL, &ev, &nev);
			aw += now() - w;
			ac += cpu() - c;
			nc_alert_events_release(ev, nev);
		}
		aw /= rounds;
		ac /= rounds;
	}
	printf("%-52s %9.3f %9.3f   (%zu rule x VM pairs)\n", "alert rules, first round (selections)", aw1, ac1,
	       pairs);
	printf("%-52s %9.3f %9.3f\n", "alert rules, steady round (mean)", aw, ac);
	/* /metrics: the round's Prometheus series, rendered once per round */
	{
		struct nc_buf body = NC_BUF_INIT;

		for (i = 0; i < rounds; i++) {
			nc_buf_reset(&body);
			w = now();
			c = cpu();
			nc_tm_round_prometheus(&r1, spec, &body);
			ew += now() - w;
			ec += cpu() - c;
		}
		ew /= rounds;
		ec /= rounds;
		printf("%-52s %9.3f %9.3f   (%.1f MB)\n", "/metrics series of the round (mean)", ew, ec,
		       (double)body.len / 1e6);
		nc_buf_release(&body);
	}
	rss1 = rss_kib();

	/* memory and disk */
	nftw(tdir, disk_visit, 16, FTW_PHYS);
	printf("\nmemory: RSS %ld -> %ld MiB over collect, store, alerts and /metrics: %.0f bytes per series (%zu series);\n"
	       "        a round's own values: %zu bytes per object, %.0f per series (two rounds are kept)\n",
	       rss0 / 1024, rss1 / 1024, (double)(rss1 - rss0) * 1024 / (double)series, series,
	       sizeof(struct nc_tm_object), (double)(r1.nobjs * sizeof(struct nc_tm_object)) / (double)series);
	for (i = 0; i < NC_MT__COUNT; i++) {
		size_t nds = nc_metric_count((enum nc_metric_target)i);

		if (!disk_files[i])
			continue;
		printf("disk: %-5s %6zu files of %zu series, %7.0f KiB each (%.0f KiB allocated): "
		       "%.1f KiB per series per year\n", nc_metric_target_name((enum nc_metric_target)i), disk_files[i],
		       nds, (double)disk_bytes[i] / (double)disk_files[i] / 1024,
		       (double)disk_blocks[i] / (double)disk_files[i] / 1024,
		       (double)disk_bytes[i] / (double)disk_files[i] / (double)nds / 1024);
	}

	/* the goal */
	{
		double direct_total = cc + direct.cpu + ac + ec;

		printf("\nserve CPU per steady round, direct files: collect %.3f + store %.3f + alerts %.3f + /metrics %.3f"
		       " = %.3f s of %d s (goal under 1 s: %s)\n", cc, direct.cpu, ac, ec, direct_total, STEP,
		       direct_total < 1 ? "met" : "NOT met");
		if (cached.ok)
			printf("serve CPU per steady round, rrdcached:    collect %.3f + store %.3f + alerts %.3f + /metrics %.3f"
			       " = %.3f s (goal: %s); the daemon's %.3f s is its own process\n", cc, cached.cpu, ac, ec,
			       cc + cached.cpu + ac + ec, cc + cached.cpu + ac + ec < 1 ? "met" : "NOT met",
			       cached.daemon_cpu);
	}

	nc_alerts_free(al);
	nc_tm_round_release(&r1);
	nc_spec_free(spec);
	nc_diags_release(&d);
	if (own_dir && nftw(dir, rm_visit, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
	free(addr);
	free(spec_dir);
	free(state);
	free(tdir);
	return 0;
}
