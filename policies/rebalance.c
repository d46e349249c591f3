/*
 * rebalance.c - the imbalance score, greedy rebalancing, and N+1.
 *
 * Imbalance (docs/placement.md), after Ganeti's hbal cluster score: over the
 * usable hosts, the population standard deviation of the used share of
 * memory, of vCPUs and of local disk (when hosts declare disk capacity),
 * summed; with N+1, plus one for every host whose VMs could not all be
 * restarted on the others.  0 is perfectly even.
 *
 * Rebalance is greedy, like hbal: each step looks at the VMs on the most
 * loaded hosts and the least loaded hosts as targets, ranks every (VM,
 * target) pair by the score it would leave, and takes the best pair that
 * passes every placement filter (capacity, selectors, pinning, required
 * affinity) and does not add an N+1 failure.  It stops at the move budget or
 * when no move gains at least the threshold.
 */
#include "placement.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NDIM 4

struct acc {
	double s[NDIM], ss[NDIM];
	size_t n, ndisk;
	int mode;            /* enum nc_load_mode */
};

/*
 * A host's shares: static: memory, vCPUs and disk reserved of capacity x
 * overcommit; observed and both: CPUs and memory in use of the host's own
 * (no overcommit), disk and network I/O of NC_LOAD_IO_REF (enum nc_load_dim).
 */
static void shares(const struct nc_host_load *l, int mode, double out[NDIM])
{
	if (mode == NC_LOAD_STATIC) {
		out[0] = l->cap_memory > 0 ? l->used_memory / l->cap_memory : 0;
		out[1] = l->cap_vcpus > 0 ? l->used_vcpus / l->cap_vcpus : 0;
		out[2] = isfinite(l->cap_disk) && l->cap_disk > 0 ? l->used_disk / l->cap_disk : 0;
		out[3] = 0;
		return;
	}
	out[NC_LD_CPU] = l->phys_cpus > 0 ? l->load.cpu / l->phys_cpus : 0;
	out[NC_LD_MEMORY] = l->phys_memory > 0 ? l->load.memory / l->phys_memory : 0;
	out[NC_LD_DISK] = l->load.disk / NC_LOAD_IO_REF;
	out[NC_LD_NET] = l->load.net / NC_LOAD_IO_REF;
}

static void acc_add(struct acc *a, const struct nc_host_load *l, double sign)
{
	double v[NDIM];
	int k;

	shares(l, a->mode, v);
	for (k = 0; k < NDIM; k++) {
		a->s[k] += sign * v[k];
		a->ss[k] += sign * v[k] * v[k];
	}
}

static double sd(const struct acc *a, int k, size_t n)
{
	double mean, var;

	if (!n)
		return 0;
	mean = a->s[k] / (double)n;
	var = a->ss[k] / (double)n - mean * mean;
	return var > 0 ? sqrt(var) : 0;
}

static double acc_score(const struct acc *a)
{
	if (a->mode != NC_LOAD_STATIC)
		return sd(a, 0, a->n) + sd(a, 1, a->n) + sd(a, 2, a->n) + sd(a, 3, a->n);
	return sd(a, 0, a->n) + sd(a, 1, a->n) + (a->ndisk ? sd(a, 2, a->n) : 0);
}

static void acc_build(const struct nc_placement_state *ps, int mode, struct acc *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	a->mode = mode;
	for (i = 0; i < nc_placement_hosts(ps); i++) {
		const struct nc_host_load *l = nc_placement_load(ps, i);

		if (!l->usable)
			continue;
		acc_add(a, l, 1);
		a->n++;
		if (isfinite(l->cap_disk))
			a->ndisk++;
	}
}

void nc_imbalance_mode(const struct nc_placement_state *ps, int mode, bool with_n1, struct nc_imbalance *out)
{
	struct acc a;
	size_t i;

	acc_build(ps, mode, &a);
	memset(out, 0, sizeof(*out));
	if (mode == NC_LOAD_STATIC) {
		out->memory = sd(&a, 0, a.n);
		out->vcpus = sd(&a, 1, a.n);
		out->disk = a.ndisk ? sd(&a, 2, a.n) : 0;
	} else {
		out->cpu_load = sd(&a, NC_LD_CPU, a.n);
		out->memory_load = sd(&a, NC_LD_MEMORY, a.n);
		out->disk_load = sd(&a, NC_LD_DISK, a.n);
		out->net_load = sd(&a, NC_LD_NET, a.n);
	}
	if (with_n1)
		for (i = 0; i < nc_placement_hosts(ps); i++)
			if (nc_placement_load(ps, i)->usable && !nc_n1_host(ps, i, NULL))
				out->n1_failures++;
	if (mode == NC_LOAD_STATIC)
		out->score = out->memory + out->vcpus + out->disk + (double)out->n1_failures;
	else
		out->score = out->cpu_load + out->memory_load + out->disk_load + out->net_load +
			     (double)out->n1_failures;
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

bool nc_n1_host(const struct nc_placement_state *ps, size_t host, struct nc_buf *stranded)
{
	struct nc_placement_state *c = nc_placement_clone(ps);
	struct nc_host_load *l = (struct nc_host_load *)nc_placement_load(c, host);
	struct victim *v;
	size_t i, n = 0, nv = 0, lost = 0;

	/* the host fails: its VMs leave it and must land on the others */
	nc_placement_capacity_only(c);
	l->usable = false;
	l->unusable = "failed";
	for (i = 0; i < nc_placement_count(c); i++) {
		const struct nc_vm *vm;
		size_t h;
		double mem;

		nc_placement_entry(c, i, &vm, &h, &mem);
		if (h == host && vm)
			n++;
	}
	v = nc_xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < nc_placement_count(c); i++) {
		const struct nc_vm *vm;
		size_t h;
		double mem;

		nc_placement_entry(c, i, &vm, &h, &mem);
		if (h == host && vm) {
			v[nv].vm = vm;
			v[nv].memory = mem;
			nv++;
		}
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), victim_cmp);
	for (i = 0; i < nv; i++) {
		char *why = NULL;
		int to = nc_placement_choose(c, v[i].vm, (int)host, &why);

		free(why);
		if (to < 0) {
			lost++;
			if (stranded)
				nc_buf_addf(stranded, "%s%s", stranded->len ? ", " : "", v[i].vm->obj.meta.name.v);
			continue;
		}
		nc_placement_put(c, v[i].vm, (size_t)to);
	}
	free(v);
	nc_placement_free(c);
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

/* ---- rebalance ---- */

struct cand {
	size_t entry;       /* placed index */
	size_t to;
	double score;
};

static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	if (a->entry != b->entry)
		return a->entry < b->entry ? -1 : 1;
	return a->to < b->to ? -1 : a->to > b->to;
}

struct ranked {
	size_t host;
	double load;
};

static int ranked_desc(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;

	if (a->load != b->load)
		return a->load > b->load ? -1 : 1;
	return a->host < b->host ? -1 : a->host > b->host;
}

/* the figure of dimension dim on host l, and what it is out of */
static double load_fig(const struct nc_host_load *l, int dim, double *cap)
{
	switch (dim) {
	case NC_LD_CPU: *cap = l->phys_cpus; return l->load.cpu;
	case NC_LD_MEMORY: *cap = l->phys_memory; return l->load.memory;
	case NC_LD_DISK: *cap = NC_LOAD_IO_REF; return l->load.disk;
	default: *cap = NC_LOAD_IO_REF; return l->load.net;
	}
}

size_t nc_rebalance(struct nc_placement_state *ps, const struct nc_spec *spec,
		    const bool *busy, size_t budget, double threshold, struct nc_move **out)
{
	return nc_rebalance_mode(ps, spec, busy, budget, threshold, NC_LOAD_STATIC, out);
}

size_t nc_rebalance_mode(struct nc_placement_state *ps, const struct nc_spec *spec,
			 const bool *busy, size_t budget, double threshold, int mode,
			 struct nc_move **out)
{
	size_t nh = nc_placement_hosts(ps), nmoves = 0, step, i, j;
	struct ranked *r = nc_xcalloc(nh ? nh : 1, sizeof(*r));
	struct nc_move *moves = nc_xcalloc(budget ? budget : 1, sizeof(*moves));
	struct cand *cands = NULL;
	size_t acands = 0;
	bool *n1_ok = nc_xcalloc(nh ? nh : 1, sizeof(*n1_ok));

	for (i = 0; i < nh; i++)
		n1_ok[i] = nc_placement_load(ps, i)->usable && nc_n1_host(ps, i, NULL);

	for (step = 0; step < budget; step++) {
		struct acc a;
		double cur;
		size_t nr = 0, nsrc, ndst, nc = 0, k;
		bool moved = false;

		acc_build(ps, mode, &a);
		cur = acc_score(&a);
		for (i = 0; i < nh; i++) {
			const struct nc_host_load *l = nc_placement_load(ps, i);
			double v[NDIM];

			if (!l->usable)
				continue;
			shares(l, mode, v);
			r[nr].host = i;
			r[nr].load = v[0] + v[1] + v[2] + v[3];
			nr++;
		}
		if (nr < 2)
			break;
		qsort(r, nr, sizeof(*r), ranked_desc);
		nsrc = nr < 8 ? nr : 8;
		ndst = nr < 16 ? nr : 16;

		/* every (VM on a loaded host, lightly loaded target) pair, scored */
		for (k = 0; k < nc_placement_count(ps); k++) {
			const struct nc_vm *vm;
			const struct nc_policy *pol;
			size_t h, s;
			double mem;

			nc_placement_entry(ps, k, &vm, &h, &mem);
			if (!vm)
				continue;
			for (s = 0; s < nsrc && r[s].host != h; s++)
				;
			if (s == nsrc)
				continue;
			pol = nc_placement_policy(spec, vm);
			if (!pol || !pol->spec.rebalance.enabled.v || NC_IS_SET(vm->spec.placement.host))
				continue;
			if (busy) {
				ssize_t idx = nc_placement_vm_index(ps, vm);

				if (idx >= 0 && busy[idx])
					continue;
			}
			for (j = nr - ndst; j < nr; j++) {
				size_t t = r[j].host;
				struct nc_host_load lf = *nc_placement_load(ps, h), lt = *nc_placement_load(ps, t);
				struct acc b = a;
				double dv = (double)vm->eff.vcpus.v, dm = (double)vm->eff.memory.v;
				struct nc_load_figures f;

				if (t == h)
					continue;
				acc_add(&b, &lf, -1);
				acc_add(&b, &lt, -1);
				lf.used_vcpus -= dv;
				lf.used_memory -= dm;
				lt.used_vcpus += dv;
				lt.used_memory += dm;
				if (mode != NC_LOAD_STATIC) {
					nc_placement_figures(ps, vm, &f);
					lf.load.cpu -= f.cpu;
					lf.load.memory -= f.memory;
					lf.load.disk -= f.disk;
					lf.load.net -= f.net;
					lt.load.cpu += f.cpu;
					lt.load.memory += f.memory;
					lt.load.disk += f.disk;
					lt.load.net += f.net;
				}
				acc_add(&b, &lf, 1);
				acc_add(&b, &lt, 1);
				if (nc == acands) {
					acands = acands ? acands * 2 : 256;
					cands = nc_xreallocarray(cands, acands, sizeof(*cands));
				}
				cands[nc].entry = k;
				cands[nc].to = t;
				cands[nc].score = acc_score(&b);
				nc++;
			}
		}
		if (nc > 1)
			qsort(cands, nc, sizeof(*cands), cand_cmp);
		/* the best pair that passes the filters and keeps N+1 */
		for (i = 0; i < nc && cur - cands[i].score >= threshold && cur - cands[i].score > 1e-12; i++) {
			const struct nc_vm *vm;
			size_t h, fails = 0;
			double mem;
			struct nc_host_load src;

			nc_placement_entry(ps, cands[i].entry, &vm, &h, &mem);
			if (!nc_placement_fits(ps, vm, cands[i].to, NULL))
				continue;
			src = *nc_placement_load(ps, h);
			nc_placement_put(ps, vm, cands[i].to);
			/* the two hosts whose VMs changed must still survive a failure
			 * if they did before (a full N+1 per candidate costs too much) */
			fails = (!nc_n1_host(ps, h, NULL) && n1_ok[h]) +
				(!nc_n1_host(ps, cands[i].to, NULL) && n1_ok[cands[i].to]);
			if (fails) {
				nc_placement_put(ps, vm, h);    /* undo: it would cost N+1 */
				continue;
			}
			moves[nmoves].vm = vm;
			moves[nmoves].from = h;
			moves[nmoves].to = cands[i].to;
			moves[nmoves].before = cur;
			moves[nmoves].after = cands[i].score;
			moves[nmoves].dim = -1;
			if (mode != NC_LOAD_STATIC) {
				struct acc b;
				double gain = -INFINITY, cap;
				int dim;

				acc_build(ps, mode, &b);
				for (dim = 0; dim < NDIM; dim++) {
					double g = sd(&a, dim, a.n) - sd(&b, dim, b.n);

					if (g > gain + 1e-12) {
						gain = g;
						moves[nmoves].dim = dim;
					}
				}
				moves[nmoves].src_before = load_fig(&src, moves[nmoves].dim, &cap);
				moves[nmoves].src_after = load_fig(nc_placement_load(ps, h), moves[nmoves].dim,
								   &moves[nmoves].cap);
			}
			nmoves++;
			moved = true;
			break;
		}
		if (!moved)
			break;
	}
	free(cands);
	free(r);
	free(n1_ok);
	*out = moves;
	return nmoves;
}
