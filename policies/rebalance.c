/*
 * rebalance.c - the imbalance score with its parts, and N+1.
 *
 * nc_imbalance's score is the whole one of policies/score.h (a superset of
 * Ganeti hbal's, docs/placement.md "Imbalance score"), from scratch; the
 * parts are its terms.  N+1: can every VM of a host restart on the others?
 * The rebalance search is in policies/search.c.
 */
#include "placement.h"
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nc_imbalance_mode(const struct nc_placement_state *ps, int mode, bool with_n1, struct nc_imbalance *out)
{
	struct nc_score_parts full;

	memset(out, 0, sizeof(*out));
	nc_score_full(ps, mode, with_n1, &full);
	out->memory = full.term[NC_ST_FREE_MEM];
	out->vcpus = full.term[NC_ST_VCPU_RATIO];
	out->disk = full.term[NC_ST_FREE_DISK];
	out->load_units = !nc_placement_window(ps) || mode == NC_LOAD_STATIC;
	if (!out->load_units) {
		out->cpu_load = full.term[NC_ST_CPU_LOAD];
		out->memory_load = full.term[NC_ST_MEM_LOAD];
		out->disk_load = full.term[NC_ST_DISK_LOAD];
		out->net_load = full.term[NC_ST_NET_LOAD];
	}
	out->n1_failures = (size_t)full.term[NC_ST_N1];
	out->spread = full.term[NC_ST_SPREAD];
	out->conflicts = full.term[NC_ST_CONFLICTS];
	out->offline = (size_t)full.term[NC_ST_OFFLINE];
	if (out->load_units)
		out->units = full.term[NC_ST_CPU_LOAD];
	out->score = full.total;
}

void nc_imbalance(const struct nc_placement_state *ps, bool with_n1, struct nc_imbalance *out)
{
	nc_imbalance_mode(ps, NC_LOAD_STATIC, with_n1, out);
}

/* ---- N+1 ---- */

struct victim {
	const struct nc_vm *vm;
	double memory;
};

static int victim_cmp(const void *pa, const void *pb)
{
	const struct victim *a = pa, *b = pb;

	if (a->memory != b->memory)
		return a->memory > b->memory ? -1 : 1;
	return strcmp(a->vm->obj.meta.name.v, b->vm->obj.meta.name.v);
}

/*
 * The host fails in a trial on ps itself (policies/placement.h): its VMs
 * leave it, largest first, each for the host nc_placement_choose picks; the
 * trial's end puts everything back as it was.  The same choices as on a
 * clone of the whole state, at the cost of the hosts the VMs land on.
 */
bool nc_n1_host(const struct nc_placement_state *cps, size_t host, struct nc_buf *stranded)
{
	/* changed during the call and restored bit for bit (as the lookup memo is) */
	struct nc_placement_state *ps = (struct nc_placement_state *)cps;
	const size_t *on;
	struct victim *v;
	size_t i, n, nv = 0, lost = 0;

	on = nc_placement_on(ps, host, &n);
	v = nc_xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		struct nc_placement_info e;

		nc_placement_info(ps, on[i], &e);
		if (e.vm) {
			v[nv].vm = e.vm;
			v[nv].memory = e.memory;
			nv++;
		}
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), victim_cmp);
	nc_placement_trial_begin(ps);
	nc_placement_capacity_only(ps);
	nc_placement_exclude(ps, host, "failed");
	for (i = 0; i < nv; i++) {
		int to = nc_placement_choose(ps, v[i].vm, (int)host, NULL);

		if (to < 0) {
			lost++;
			if (stranded)
				nc_buf_addf(stranded, "%s%s", stranded->len ? ", " : "", v[i].vm->obj.meta.name.v);
			continue;
		}
		nc_placement_put(ps, v[i].vm, (size_t)to);
	}
	nc_placement_trial_end(ps);
	free(v);
	return lost == 0;
}

size_t nc_fit_count(const struct nc_placement_state *ps, const struct nc_vm *like, size_t limit)
{
	struct nc_placement_state *c = nc_placement_clone(ps);
	size_t n = 0;

	while (n < limit) {
		char *why = NULL;
		int to = nc_placement_choose(c, like, -1, &why);

		free(why);
		if (to < 0)
			break;
		nc_placement_put(c, like, (size_t)to);
		n++;
	}
	nc_placement_free(c);
	return n;
}
