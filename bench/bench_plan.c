/*
 * bench_plan.c - how long a plan takes on a big simulated cluster, and how
 * that compares with the bare libvirt calls any tool must make.
 *
 *   nc-bench-plan [--hosts N] [--vms M] [--runs R] [--dir DIR]
 *
 * Generates a spec of N sim:/// hosts (default 500) and M VMs (default
 * 10,000, 100 per file), applies it once (timed: that is the apply figure),
 * then measures a full plan against the converged cluster R times (default
 * 3), split into load (parse + validate), observe (open every host, list
 * its domains, read and parse their XML) and diff (desired vs observed, with
 * placement), each in a child process so that peak RSS is the plan's own.
 * The baseline is the bare libvirt work for the same cluster: for each host
 * virConnectOpen + virConnectListAllDomains + virDomainGetXMLDesc +
 * virDomainGetState, sequentially and with the same 16 threads the
 * observer uses.  Prints a table; exits 1 if the plan is not empty.
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../reconciler/pass.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(data, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		exit(1);
	}
}

static void generate(const char *dir, unsigned hosts, unsigned vms)
{
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
			"  nics: [{name: eth0, network: lan}]\n---\n"
			"apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: app}\n"
			"spec:\n  inherits: base\n  vcpus: 2\n  memory: 2GiB\n  disks: [{name: data, pool: local, size: 20GiB}]\n"
			"  labels: {tier: app}\n---\n"
			"apiVersion: novacron.io/v1\nkind: PlacementPolicy\nmetadata: {name: spread}\n"
			"spec:\n  vmSelector: {matchLabels: {tier: app}}\n  strategy: spread\n");
	path = nc_xasprintf("%s/infra.yaml", dir);
	write_file(path, b.buf);
	free(path);
	for (f = 0; f * 100 < vms; f++) {
		nc_buf_reset(&b);
		for (i = f * 100; i < vms && i < (f + 1) * 100; i++)
			nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: vm%05u\n"
				    "  labels: {app: a%u}\nspec:\n  template: %s\n", i, i % 50,
				    i % 2 ? "app" : "base");
		path = nc_xasprintf("%s/vms-%03u.yaml", dir, f);
		write_file(path, b.buf);
		free(path);
	}
	nc_buf_release(&b);
}

/* ---- the bare libvirt baseline ---- */

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
		virDomainPtr *doms = NULL;
		int n, k;

		free(uri);
		if (!c) {
			fprintf(stderr, "bench: cannot open host %u\n", i);
			exit(1);
		}
		n = virConnectListAllDomains(c, &doms, 0);
		for (k = 0; k < n; k++) {
			int st, reason;
			char *xml = virDomainGetXMLDesc(doms[k], VIR_DOMAIN_XML_INACTIVE);

			virDomainGetState(doms[k], &st, &reason, 0);
			free(xml);
			virDomainFree(doms[k]);
		}
		atomic_fetch_add(&b->doms, (unsigned long)(n > 0 ? n : 0));
		free(doms);
		virConnectClose(c);
	}
	return NULL;
}

static double bare_run(const char *state, unsigned hosts, unsigned threads, unsigned long *doms)
{
	struct bare b = { state, hosts, 0, 0 };
	pthread_t t[64];
	double t0 = now();
	unsigned i;

	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, bare_worker, &b);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	*doms = b.doms;
	return now() - t0;
}

/* ---- the plan, in phases ---- */

struct plan_times {
	double load, observe, diff, render, total;
	size_t actions, managed;
	long rss_kib;
};

static void plan_once(const char *spec_dir, const char *state, struct plan_times *t)
{
	const char *paths[] = { spec_dir };
	struct nc_observe_opts oo = { .state_dir = state, .timeout_ms = 60000, .parallel = 16 };
	struct nc_plan_opts po;
	struct nc_render_opts ro;
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	struct nc_cluster c;
	struct nc_plan p;
	struct nc_buf out = NC_BUF_INIT;
	double t0 = now(), t1, t2, t3;

	memset(&po, 0, sizeof(po));
	memset(&ro, 0, sizeof(ro));
	nc_diags_init(&d);
	if (nc_spec_load(&spec, paths, 1, NULL, &d) < 0) {
		fprintf(stderr, "bench: generated spec is invalid (%zu errors)\n", d.errors);
		exit(1);
	}
	t1 = now();
	nc_observe(&c, spec, &oo);
	t2 = now();
	nc_plan_build(&p, spec, &c, &po);
	t3 = now();
	nc_plan_render_text(&p, &c, &ro, &out);
	t->render = now() - t3;
	t->load = t1 - t0;
	t->observe = t2 - t1;
	t->diff = t3 - t2;
	t->total = now() - t0;
	t->actions = p.nactions;
	t->managed = p.managed;
	if (c.unreachable) {
		fprintf(stderr, "bench: %zu hosts unreachable\n", c.unreachable);
		exit(1);
	}
	nc_buf_release(&out);
	nc_plan_release(&p);
	nc_cluster_release(&c);
	nc_spec_free(spec);
	nc_diags_release(&d);
}

/* runs plan_once in a child so its peak RSS is its own */
static void plan_child(const char *spec_dir, const char *state, struct plan_times *t)
{
	int fds[2];
	pid_t pid;
	struct rusage ru;
	int st;

	if (pipe(fds) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		plan_once(spec_dir, state, t);
		if (write(fds[1], t, sizeof(*t)) != (ssize_t)sizeof(*t))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], t, sizeof(*t)) != (ssize_t)sizeof(*t)) {
		fprintf(stderr, "bench: plan child failed\n");
		exit(1);
	}
	close(fds[0]);
	wait4(pid, &st, 0, &ru);
	t->rss_kib = ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned hosts = 500, vms = 10000, runs = 3, i;
	char tmpl[] = "/tmp/nc-bench-plan-XXXXXX";
	const char *dir = NULL;
	char *spec_dir, *state, *cmd;
	struct plan_times t[16];
	double totals[16], seq, par, t0, apply_s;
	unsigned long doms_seq, doms_par;

	for (i = 1; i < (unsigned)argc; i++) {
		if (!strcmp(argv[i], "--hosts") && i + 1 < (unsigned)argc)
			hosts = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vms") && i + 1 < (unsigned)argc)
			vms = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--runs") && i + 1 < (unsigned)argc)
			runs = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < (unsigned)argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: nc-bench-plan [--hosts N] [--vms M] [--runs R] [--dir DIR]\n");
			return 1;
		}
	}
	if (runs < 1 || runs > 16)
		runs = 3;
	if (!dir && !(dir = mkdtemp(tmpl))) {
		perror("mkdtemp");
		return 1;
	}
	virSetErrorFunc(NULL, quiet);
	spec_dir = nc_xasprintf("%s/spec", dir);
	state = nc_xasprintf("%s/state", dir);
	mkdir(spec_dir, 0755);
	generate(spec_dir, hosts, vms);

	printf("NovaCron plan benchmark: %u simulated hosts, %u VMs (%u files), %u runs\n\n", hosts, vms,
	       (vms + 99) / 100, runs);

	/* converge once: the apply figure */
	{
		const char *paths[] = { spec_dir };
		struct nc_observe_opts oo = { .state_dir = state, .timeout_ms = 60000, .parallel = 16,
					      .keep_open = true };
		struct nc_plan_opts po;
		struct nc_diags d;
		struct nc_spec *spec = NULL;
		struct nc_cluster c;
		struct nc_plan p;
		struct nc_apply_result r;

		memset(&po, 0, sizeof(po));
		nc_diags_init(&d);
		t0 = now();
		if (nc_spec_load(&spec, paths, 1, NULL, &d) < 0)
			return 1;
		nc_observe(&c, spec, &oo);
		nc_plan_build(&p, spec, &c, &po);
		nc_apply(&r, &p, &c, &po, NULL, 0);
		apply_s = now() - t0;
		printf("apply from empty: %zu actions, %zu failed, %.2f s (%.0f actions/s)\n\n", r.done,
		       r.failed, apply_s, (double)r.done / apply_s);
		if (r.failed)
			return 1;
		nc_plan_release(&p);
		nc_cluster_release(&c);
		nc_spec_free(spec);
		nc_diags_release(&d);
	}

	for (i = 0; i < runs; i++) {
		plan_child(spec_dir, state, &t[i]);
		totals[i] = t[i].total;
		if (t[i].actions) {
			fprintf(stderr, "bench: the plan after apply is not empty (%zu actions)\n", t[i].actions);
			return 1;
		}
	}
	qsort(totals, runs, sizeof(double), cmp_double);
	seq = bare_run(state, hosts, 1, &doms_seq);
	par = bare_run(state, hosts, 16, &doms_par);

	printf("%-36s %10s\n", "phase (fastest run)", "seconds");
	{
		size_t best = 0;

		for (i = 1; i < runs; i++)
			if (t[i].total < t[best].total)
				best = i;
		printf("%-36s %10.3f\n", "load + validate spec", t[best].load);
		printf("%-36s %10.3f\n", "observe (16 threads)", t[best].observe);
		printf("%-36s %10.3f\n", "diff + placement", t[best].diff);
		printf("%-36s %10.3f\n", "render text", t[best].render);
		printf("%-36s %10.3f   (median %.3f)\n", "whole plan", t[best].total, totals[runs / 2]);
		printf("%-36s %10ld MiB\n", "peak RSS of the plan process", t[best].rss_kib / 1024);
		printf("%-36s %10zu\n", "managed domains observed", t[best].managed);
		printf("\n%-36s %10.3f   (%lu domains)\n", "bare libvirt calls, 1 thread", seq, doms_seq);
		printf("%-36s %10.3f   (%lu domains)\n", "bare libvirt calls, 16 threads", par, doms_par);
		printf("\nwhole plan / bare calls (16 threads): %.2fx   (goal: under 2x)\n", t[best].total / par);
		printf("whole plan / bare calls (1 thread):   %.2fx\n", t[best].total / seq);
	}
	if (!strncmp(dir, "/tmp/nc-bench-plan-", 19)) {
		cmd = nc_xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: could not remove %s\n", dir);
		free(cmd);
	}
	free(spec_dir);
	free(state);
	return 0;
}
