/*
 * telemetry-exposition.c - the cost of serve's /metrics cluster series
 * (reconciler/monitor.c, docs/monitoring.md "Metrics"):
 *
 *   nc-bench-telemetry-exposition [--hosts N] [--vms M] [--rounds R]
 *
 * Builds one round of N hosts (default 500) and M VMs (default 10,000,
 * spread evenly, each with 2 disks and 1 NIC, unmanaged: no spec), one
 * local pool per host, every value known; renders it R times (default 5)
 * with nc_tm_round_prometheus (what the telemetry thread does once per
 * round) and prints the series, the bytes of the body, and the render time
 * (wall clock, median and best).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../reconciler/monitor.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void object(struct nc_tm_round *r, enum nc_metric_target t, const char *name, const char *host)
{
	struct nc_tm_object *o = &r->objs[r->nobjs++];
	size_t i;

	memset(o, 0, sizeof(*o));
	o->target = t;
	o->name = nc_xstrdup(name);
	o->host = host ? nc_xstrdup(host) : NULL;
	o->id = host && t == NC_MT_POOL ? nc_xasprintf("%s@%s", name, host) : nc_xstrdup(name);
	for (i = 0; i < NC_METRICS_MAX; i++)
		o->v[i] = i < nc_metric_count(t) ? 0.25 + (double)i : NAN;
}

int main(int argc, char **argv)
{
	unsigned hosts = 500, vms = 10000, rounds = 5, h, v, k, i;
	struct nc_tm_round r;
	double *t;
	size_t bytes = 0, lines = 0;

	for (i = 1; i + 1 < (unsigned)argc; i += 2) {
		if (strcmp(argv[i], "--hosts") == 0)
			hosts = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--vms") == 0)
			vms = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = (unsigned)atoi(argv[i + 1]);
	}
	if (!hosts || !rounds) {
		fprintf(stderr, "usage: nc-bench-telemetry-exposition [--hosts N] [--vms M] [--rounds R]\n");
		return 1;
	}
	memset(&r, 0, sizeof(r));
	r.nhosts = hosts;
	r.hosts = nc_xcalloc(hosts, sizeof(char *));
	r.raw = nc_xcalloc(hosts, sizeof(*r.raw));
	r.errors = nc_xcalloc(hosts, sizeof(char *));
	r.objs = nc_xcalloc((size_t)hosts * 2 + vms, sizeof(*r.objs));
	for (h = 0; h < hosts; h++) {
		struct nc_host_stats *hs = &r.raw[h];
		unsigned nd = vms / hosts + (h < vms % hosts);

		r.hosts[h] = nc_xasprintf("kvm%04u", h);
		hs->t = 1.0;
		hs->cpus = 64;
		hs->cpu_busy_ns = 123456789012345ull;
		hs->cpu_total_ns = 987654321098765ull;
		hs->ndoms = nd;
		hs->doms = nc_xcalloc(nd + 1, sizeof(*hs->doms));
		for (v = 0; v < nd; v++) {
			struct nc_dom_stats *d = &hs->doms[v];

			d->name = nc_xasprintf("vm%04u-%03u", h, v);
			d->cpu_time_ns = 1234567890123ull;
			d->ndisks = 2;
			d->disks = nc_xcalloc(2, sizeof(*d->disks));
			for (k = 0; k < 2; k++) {
				d->disks[k].dev = nc_xstrdup(k ? "vdb" : "vda");
				d->disks[k].rd_bytes = d->disks[k].wr_bytes = 12345678901ull;
				d->disks[k].rd_reqs = d->disks[k].wr_reqs = 1234567ull;
			}
			d->nnics = 1;
			d->nics = nc_xcalloc(1, sizeof(*d->nics));
			d->nics[0].dev = nc_xasprintf("vnet%u", v);
			d->nics[0].rx_bytes = d->nics[0].tx_bytes = 98765432101ull;
			d->nics[0].rx_pkts = d->nics[0].tx_pkts = 987654321ull;
		}
	}
	/* sorted by target, then id: hosts, VMs, pools */
	for (h = 0; h < hosts; h++)
		object(&r, NC_MT_HOST, r.hosts[h], NULL);
	for (h = 0; h < hosts; h++)
		for (v = 0; v < r.raw[h].ndoms; v++)
			object(&r, NC_MT_VM, r.raw[h].doms[v].name, r.hosts[h]);
	for (h = 0; h < hosts; h++)
		object(&r, NC_MT_POOL, "local", r.hosts[h]);

	t = nc_xcalloc(rounds, sizeof(*t));
	for (i = 0; i < rounds; i++) {
		struct nc_buf b = NC_BUF_INIT;
		double t0 = now();
		const char *p;

		nc_tm_round_prometheus(&r, NULL, &b);
		t[i] = now() - t0;
		bytes = b.len;
		lines = 0;
		for (p = b.buf; (p = strchr(p, '\n')); p++)
			lines++;
		nc_buf_release(&b);
	}
	qsort(t, rounds, sizeof(*t), cmp_d);
	{
		size_t comments = 0;
		struct nc_buf b = NC_BUF_INIT;
		const char *p;

		nc_tm_round_prometheus(&r, NULL, &b);
		for (p = b.buf; *p; p = strchr(p, '\n') + 1)
			comments += *p == '#';
		nc_buf_release(&b);
		printf("hosts %u, VMs %u (2 disks, 1 NIC each), %u pools\n", hosts, vms, hosts);
		printf("series %zu, body %zu bytes (%.1f bytes a series), %zu HELP/TYPE lines\n", lines - comments, bytes,
		       (double)bytes / (double)(lines - comments), comments);
	}
	printf("render: median %.1f ms, best %.1f ms over %u rounds\n", t[rounds / 2] * 1e3, t[0] * 1e3, rounds);
	free(t);
	nc_tm_round_release(&r);
	return 0;
}
