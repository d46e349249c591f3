/*
 * bench_markdown.c - rendering a Markdown plan of 100,000 actions (built in
 * memory: one host, creates with a reason and a placement), unbounded and
 * bounded at the default 60,000 bytes (docs/ci.md "The bound").  Prints
 * the sizes and the median time of 5 runs of each.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../reconciler/pass.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	enum { N = 100000, RUNS = 5 };
	struct nc_host host;
	struct nc_host_view hv;
	struct nc_cluster c;
	struct nc_plan p;
	struct nc_render_opts o;
	size_t i, bound;

	memset(&host, 0, sizeof(host));
	host.obj.meta.name.v = "kvm1";
	host.spec.uri.v = "sim:///kvm1";
	memset(&hv, 0, sizeof(hv));
	hv.spec = &host;
	memset(&c, 0, sizeof(c));
	c.hosts = &hv;
	c.nhosts = 1;
	memset(&p, 0, sizeof(p));
	p.actions = nc_xcalloc(N, sizeof(*p.actions));
	p.nactions = p.ncreate = N;
	for (i = 0; i < N; i++) {
		p.actions[i].id = (int)i + 1;
		p.actions[i].kind = NC_ACT_CREATE;
		p.actions[i].vm = nc_xasprintf("vm-%06zu", i);
		p.actions[i].reason = (char *)"not on any host";
		p.actions[i].placement = (char *)"spread: 88% of memory free after placement";
	}
	memset(&o, 0, sizeof(o));
	o.marker = "prod";
	for (bound = 0; bound <= 60000; bound += 60000) {
		double t[RUNS];
		size_t len = 0;
		int r;

		o.max_bytes = bound;
		for (r = 0; r < RUNS; r++) {
			struct nc_buf out = NC_BUF_INIT;
			double t0 = now();

			nc_plan_render_markdown(&p, &c, &o, &out);
			t[r] = now() - t0;
			len = out.len;
			nc_buf_release(&out);
		}
		qsort(t, RUNS, sizeof(t[0]), cmp);
		printf("markdown plan, %d actions, --max-bytes %zu: %zu bytes in %.1f ms (median of %d)\n", N, bound,
		       len, t[RUNS / 2] * 1e3, RUNS);
	}
	for (i = 0; i < N; i++)
		free(p.actions[i].vm);
	free(p.actions);
	return 0;
}
