/*
 * bench_alerts.c - the cost of AlertRule evaluation (telemetry/alerts.c):
 * RULES rules (default 1000: half on VMs, a quarter on hosts, a quarter on
 * pools; half of them with a selector) over HOSTS hosts and VMS VMs
 * (default 500 / 10,000), one round after another with values that move so
 * that some alerts go pending, fire and resolve (each round 1 object in 100
 * is over every limit, the others under all of them).  Prints the CPU time of the
 * first round (which works out each rule's selection) and of the following
 * rounds, and the pairs evaluated.
 *
 *   nc-bench-alerts [RULES [VMS [HOSTS [ROUNDS]]]]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../spec/model.h"
#include "../telemetry/alerts.h"

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int obj_cmp(const void *pa, const void *pb)
{
	const struct nc_tm_object *a = pa, *b = pb;

	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	return strcmp(a->id, b->id);
}

int main(int argc, char **argv)
{
	size_t rules = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	size_t vms = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	size_t hosts = argc > 3 ? strtoul(argv[3], NULL, 10) : 500;
	size_t rounds = argc > 4 ? strtoul(argv[4], NULL, 10) : 20;
	struct nc_buf y = NC_BUF_INIT;
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	struct nc_alerts *a = nc_alerts_new();
	struct nc_tm_round r;
	size_t i, k, pairs = 0, events = 0, pending, firing;
	double t0, first = 0, rest = 0;
	static const char *const vm_metrics[] = { "cpu_usage", "memory_used_ratio", "disk_read_bps", "net_rx_bps" };

	nc_buf_adds(&y, "---\napiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local, labels: {kind: dir}}\n"
			"spec: {type: dir, path: /var/lib/novacron/pools/local}\n");
	for (i = 0; i < hosts; i++)
		nc_buf_addf(&y, "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h%zu, labels: {rack: r%zu}}\n"
				"spec: {uri: 'sim:///h%zu'}\n", i, i % 20, i);
	for (i = 0; i < vms; i++)
		nc_buf_addf(&y, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: vm%zu, labels: {tier: t%zu, "
				"team: x%zu}}\nspec: {vcpus: 1, memory: 1GiB}\n", i, i % 10, i % 7);
	for (i = 0; i < rules; i++) {
		const char *target = i % 4 < 2 ? "vm" : i % 4 == 2 ? "host" : "pool";
		const char *metric = i % 4 < 2 ? vm_metrics[i % 4 ? 1 : 0] : i % 4 == 2 ? "memory_used_ratio" : "used_ratio";

		nc_buf_addf(&y, "---\napiVersion: novacron.io/v1\nkind: AlertRule\nmetadata: {name: rule%zu}\nspec:\n"
				"  target: %s\n  metric: %s\n  threshold: {op: '>', value: 0.%zu}\n  for: %s\n",
				i, target, metric, 5 + i % 5, i % 3 ? "1m" : "0s");
		if ((i / 4) % 2 && i % 4 < 2)
			nc_buf_addf(&y, "  selector: {matchLabels: {tier: t%zu}}\n", i % 10);
		else if ((i / 4) % 2 && i % 4 == 2)
			nc_buf_addf(&y, "  selector: {matchLabels: {rack: r%zu}}\n", i % 20);
		else if ((i / 4) % 2)
			nc_buf_adds(&y, "  selector: {matchLabels: {kind: dir}}\n");
	}
	nc_diags_init(&d);
	t0 = cpu_now();
	if (nc_spec_load_buffer(&spec, "bench.yaml", y.buf, y.len, NULL, &d) < 0) {
		struct nc_buf t = NC_BUF_INIT;

		nc_diags_format_text(&d, &t, 0);
		fprintf(stderr, "%.2000s", t.buf);
		return 1;
	}
	printf("spec: %zu rules, %zu hosts, %zu VMs loaded in %.2f s\n", rules, hosts, vms, cpu_now() - t0);
	nc_diags_release(&d);

	memset(&r, 0, sizeof(r));
	r.nobjs = hosts * 2 + vms;
	r.objs = nc_xcalloc(r.nobjs, sizeof(*r.objs));
	for (i = 0; i < hosts; i++) {
		struct nc_tm_object *h = &r.objs[i], *p = &r.objs[hosts + i];

		h->target = NC_MT_HOST;
		h->name = nc_xasprintf("h%zu", i);
		h->id = nc_xstrdup(h->name);
		p->target = NC_MT_POOL;
		p->name = nc_xstrdup("local");
		p->host = nc_xstrdup(h->name);
		p->id = nc_xasprintf("local@h%zu", i);
	}
	for (i = 0; i < vms; i++) {
		struct nc_tm_object *o = &r.objs[2 * hosts + i];

		o->target = NC_MT_VM;
		o->name = nc_xasprintf("vm%zu", i);
		o->id = nc_xstrdup(o->name);
		o->host = nc_xasprintf("h%zu", i % (hosts ? hosts : 1));
	}
	qsort(r.objs, r.nobjs, sizeof(*r.objs), obj_cmp);
	srand(1);
	for (k = 0; k < rounds; k++) {
		struct nc_alert_event *ev = NULL;
		size_t nev = 0;
		double t;

		r.t = 1700000000 + (time_t)(15 * k);
		for (i = 0; i < r.nobjs; i++) {
			size_t m;

			/* mostly quiet (under every limit), 1 in 100 objects busy this round */
			for (m = 0; m < NC_METRICS_MAX; m++)
				r.objs[i].v[m] = rand() % 100 == 0 ? 0.99 : (double)(rand() % 400) / 1000.0;
			if (r.objs[i].target == NC_MT_HOST)
				r.objs[i].v[NC_HM_UP] = 1;
		}
		t = cpu_now();
		pairs = nc_alerts_eval(a, spec, &r, NULL, &ev, &nev);
		t = cpu_now() - t;
		if (k == 0)
			first = t;
		else
			rest += t;
		events += nev;
		nc_alert_events_release(ev, nev);
	}
	nc_alerts_counts(a, &pending, &firing);
	printf("round 1 (selections made): %.1f ms CPU; then %.1f ms CPU per round (%zu rounds)\n", first * 1e3,
	       rounds > 1 ? rest * 1e3 / (double)(rounds - 1) : 0.0, rounds);
	printf("%zu rule x object pairs per round; %zu transitions in all; now %zu pending, %zu firing\n", pairs, events,
	       pending, firing);
	{
		struct nc_buf j = NC_BUF_INIT;
		double t = cpu_now();

		nc_alerts_json(a, &j);
		printf("/status alerts JSON: %zu bytes in %.1f ms\n", j.len, (cpu_now() - t) * 1e3);
		nc_buf_release(&j);
	}
	for (i = 0; i < r.nobjs; i++) {
		free(r.objs[i].name);
		free(r.objs[i].host);
		free(r.objs[i].id);
	}
	free(r.objs);
	nc_alerts_free(a);
	nc_spec_free(spec);
	nc_buf_release(&y);
	return 0;
}
