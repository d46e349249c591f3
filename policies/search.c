/*
 * search.c - the rebalance search (docs/placement.md "Rebalance").
 *
 * Best improvement, as hbal: each step scores every move of a movable VM
 * from one of the hosts with the most pressure (policies/score.h) to one of
 * those with the least (all hosts on small clusters) by the score it would
 * leave, in O(dimensions) each, and takes the best that passes every
 * placement filter, keeps N+1 on both hosts when they had it, fits the
 * budget and gains at least the threshold.  When no single move does, it
 * tries swaps (two VMs trading hosts, which must gain twice the threshold).
 * Then a final pass takes back each move whose loss would be below the
 * threshold (so a VM moved away and back, or a move later ones made
 * worthless, costs no migration).  The result is one move per VM, from its
 * host to its final host, in the order they were last moved, each with the
 * score before and after it in that order.
 *
 * The budget counts VMs whose final host differs from where they started
 * and their memory, so successive passes with a small budget walk the same
 * steps as one pass with a large one.
 */
#include "placement.h"
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define NSRC 16          /* hosts moves leave, on large clusters */
#define NDST 32          /* hosts moves go to */
#define SWAP_SRC 4       /* swaps: the most pressed hosts with the least pressed */
#define SWAP_DST 8

struct ctx {
	struct nc_placement_state *ps;
	struct nc_score *sc;
	const struct nc_rebalance_opts *o;
	struct nc_rebalance_report *rep;
	size_t nh, ne;
	size_t *origin;          /* entry -> host at the start */
	bool *movable;           /* entry */
	bool *n1_ok;             /* host: held N+1 (at the start, or once checked since) */
	size_t *last;            /* entry -> step it last moved (0: never) */
	ssize_t *partner;        /* entry -> the entry it last swapped with, or -1 */
	size_t step;
	size_t np;               /* policies with their own budget (o->npolicies), +1 for o's */
	size_t *pidx;            /* entry -> index into the budgets (np - 1: o's own) */
	size_t *pmoved;          /* per budget: entries away from their origin */
	double *pmem;            /* per budget: their memory */
	struct nc_buf why;       /* the best refused move */
};

struct cand {
	size_t k, to;
	double gain;
	const char *name;        /* the VM's: ties go by name, never by the order domains were observed in */
	const char *name2;       /* a swap's other VM */
};

static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	int r;

	if (a->gain != b->gain)
		return a->gain > b->gain ? -1 : 1;
	if ((r = strcmp(a->name, b->name)) != 0)
		return r;
	if (a->name2 && b->name2 && (r = strcmp(a->name2, b->name2)) != 0)
		return r;
	return a->to < b->to ? -1 : a->to > b->to;
}

struct ranked {
	size_t host;
	double p;
};

static int ranked_desc(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;

	if (a->p != b->p)
		return a->p > b->p ? -1 : 1;
	return a->host < b->host ? -1 : a->host > b->host;
}

static const struct nc_vm *vm_of(const struct ctx *c, size_t k, double *memory)
{
	struct nc_placement_info in;

	nc_placement_info(c->ps, k, &in);
	if (memory)
		*memory = in.memory;
	return in.vm;
}

static const struct nc_rebalance_opts *opts_of(const struct ctx *c, size_t k)
{
	return c->pidx[k] < c->np - 1 ? &c->o->policy_opts[c->pidx[k]] : c->o;
}

/* how entry k going to host `to` changes its budget's count: -1, 0 or 1 */
static int delta(const struct ctx *c, size_t k, size_t to)
{
	size_t at = nc_score_host_of(c->sc, k);

	if (at == c->origin[k] && to != c->origin[k])
		return 1;
	if (at != c->origin[k] && to == c->origin[k])
		return -1;
	return 0;
}

/* would these moves (k2 SIZE_MAX: one) keep every budget?  The first refusal stops the search,
 * so a pass with a small budget makes exactly the first moves of an unbounded one */
static bool budget_ok(struct ctx *c, size_t k1, size_t to1, size_t k2, size_t to2)
{
	size_t ks[2] = { k1, k2 }, tos[2] = { to1, to2 }, i;
	long dn[2] = { 0, 0 };
	double dm[2] = { 0, 0 };

	for (i = 0; i < 2 && ks[i] != SIZE_MAX; i++) {
		int d = delta(c, ks[i], tos[i]);
		double mem;
		size_t j;

		vm_of(c, ks[i], &mem);
		dn[i] += d;
		dm[i] += d * mem;
		for (j = 0; j < i; j++)
			if (c->pidx[ks[j]] == c->pidx[ks[i]]) {
				dn[j] += dn[i];
				dm[j] += dm[i];
				dn[i] = 0;
				dm[i] = 0;
			}
	}
	for (i = 0; i < 2 && ks[i] != SIZE_MAX; i++) {
		const struct nc_rebalance_opts *o = opts_of(c, ks[i]);
		size_t p = c->pidx[ks[i]];

		if (dn[i] <= 0 && dm[i] <= 0)
			continue;
		if ((double)c->pmoved[p] + (double)dn[i] > (double)o->max_moves ||
		    (o->max_memory > 0 && c->pmem[p] + dm[i] > o->max_memory + 0.5)) {
			c->rep->budget = true;
			c->rep->budget_policy = p < c->np - 1 ? c->o->policies[p] : NULL;
			return false;
		}
	}
	return true;
}

static void budget_take(struct ctx *c, size_t k, size_t to)
{
	int d = delta(c, k, to);
	double mem;

	vm_of(c, k, &mem);
	c->pmoved[c->pidx[k]] = (size_t)((long)c->pmoved[c->pidx[k]] + d);
	c->pmem[c->pidx[k]] += d * mem;
}

/* the two hosts a change touched still pass N+1 if they did */
static bool n1_kept(struct ctx *c, size_t a, size_t b)
{
	if (c->n1_ok[a] && !nc_n1_host(c->ps, a, NULL))
		return false;
	if (c->n1_ok[b] && !nc_n1_host(c->ps, b, NULL))
		return false;
	return true;
}

static void refused(struct ctx *c, const struct nc_vm *vm, size_t from, size_t to, double gain, const char *why)
{
	if (c->why.len)
		return;
	nc_buf_addf(&c->why, "%s %s -> %s (gain %.4f): %s", vm->obj.meta.name.v,
		    nc_placement_host_spec(c->ps, from)->obj.meta.name.v,
		    nc_placement_host_spec(c->ps, to)->obj.meta.name.v, gain, why);
}

static void commit(struct ctx *c, size_t k, size_t to)
{
	budget_take(c, k, to);
	nc_score_move(c->sc, k, to);
	c->last[k] = ++c->step;
	c->partner[k] = -1;
}

/* entry k to host `to`, if the filters, N+1 and the budget allow: true when done */
static bool try_move(struct ctx *c, size_t k, size_t to, double gain)
{
	size_t from = nc_score_host_of(c->sc, k);
	const struct nc_vm *vm = vm_of(c, k, NULL);
	struct nc_buf why = NC_BUF_INIT;

	if (!budget_ok(c, k, to, SIZE_MAX, 0))
		return false;
	if (!nc_placement_fits(c->ps, vm, to, &why)) {
		c->rep->refused_filter++;
		refused(c, vm, from, to, gain, why.len > 2 ? why.buf + 2 : "a filter");
		nc_buf_release(&why);
		return false;
	}
	nc_buf_release(&why);
	nc_placement_put(c->ps, vm, to);
	if (!n1_kept(c, from, to)) {
		nc_placement_put(c->ps, vm, from);
		c->rep->refused_n1++;
		refused(c, vm, from, to, gain, "a host would fail N+1");
		return false;
	}
	commit(c, k, to);
	return true;
}

/* the hosts moves leave (sorted by pressure, highest first) and go to */
static size_t rank(struct ctx *c, struct ranked *r)
{
	size_t h, n = 0;

	for (h = 0; h < c->nh; h++) {
		if (!nc_placement_load(c->ps, h)->usable)
			continue;
		r[n].host = h;
		r[n].p = nc_score_pressure(c->sc, h);
		n++;
	}
	if (n > 1)
		qsort(r, n, sizeof(*r), ranked_desc);
	return n;
}

static bool single_step(struct ctx *c, const struct ranked *r, size_t nr, struct cand **cands, size_t *acands)
{
	/* beyond 64 hosts the few most and least pressed: the best move is nearly always among them */
	size_t lim_s = nr > 64 ? 6 : NSRC, lim_d = nr > 64 ? 12 : NDST;
	size_t nsrc = nr < lim_s ? nr : lim_s, ndst = nr < lim_d ? nr : lim_d, s, j, i, nc = 0;
	double cur = nc_score_total(c->sc);

	for (s = 0; s < nsrc; s++) {
		size_t n, x;
		const size_t *on = nc_placement_on(c->ps, r[s].host, &n);

		for (x = 0; x < n; x++) {
			size_t k = on[x];
			double need;

			if (!c->movable[k])
				continue;
			need = opts_of(c, k)->threshold > EPS ? opts_of(c, k)->threshold : EPS;
			for (j = nr - ndst; j < nr; j++) {
				double g;

				if (r[j].host == r[s].host)
					continue;
				g = cur - nc_score_try_move(c->sc, k, r[j].host);
				/* a VM already away from where it started moves on for no new migration */
				if (g < (delta(c, k, r[j].host) > 0 ? need : EPS))
					continue;
				if (nc == *acands) {
					*acands = *acands ? *acands * 2 : 256;
					*cands = nc_xreallocarray(*cands, *acands, sizeof(**cands));
				}
				(*cands)[nc].k = k;
				(*cands)[nc].to = r[j].host;
				(*cands)[nc].gain = g;
				(*cands)[nc].name = vm_of(c, k, NULL)->obj.meta.name.v;
				(*cands)[nc].name2 = NULL;
				nc++;
			}
		}
	}
	if (!nc)
		return false;
	/* the best first; sort only when it is refused */
	for (i = 1, j = 0; i < nc; i++)
		if (cand_cmp(&(*cands)[i], &(*cands)[j]) < 0)
			j = i;
	if (try_move(c, (*cands)[j].k, (*cands)[j].to, (*cands)[j].gain))
		return true;
	qsort(*cands, nc, sizeof(**cands), cand_cmp);
	for (i = 1; i < nc && !c->rep->budget; i++)
		if (try_move(c, (*cands)[i].k, (*cands)[i].to, (*cands)[i].gain))
			return true;
	return false;
}

/* a and b trade hosts, if the filters, N+1 and the budget allow */
static bool try_swap(struct ctx *c, size_t a, size_t b, double gain)
{
	size_t ha = nc_score_host_of(c->sc, a), hb = nc_score_host_of(c->sc, b);
	const struct nc_vm *va = vm_of(c, a, NULL), *vb = vm_of(c, b, NULL);

	if (!budget_ok(c, a, hb, b, ha))
		return false;
	if (nc_placement_fits(c->ps, va, hb, NULL)) {
		nc_placement_put(c->ps, va, hb);
		if (!nc_placement_fits(c->ps, vb, ha, NULL)) {
			nc_placement_put(c->ps, va, ha);
			c->rep->refused_filter++;
			return false;
		}
		nc_placement_put(c->ps, vb, ha);
	} else if (nc_placement_fits(c->ps, vb, ha, NULL)) {
		nc_placement_put(c->ps, vb, ha);
		if (!nc_placement_fits(c->ps, va, hb, NULL)) {
			nc_placement_put(c->ps, vb, hb);
			c->rep->refused_filter++;
			return false;
		}
		nc_placement_put(c->ps, va, hb);
	} else {
		c->rep->refused_filter++;
		return false;
	}
	if (!n1_kept(c, ha, hb)) {
		nc_placement_put(c->ps, va, ha);
		nc_placement_put(c->ps, vb, hb);
		c->rep->refused_n1++;
		return false;
	}
	(void)gain;
	budget_take(c, a, hb);
	nc_score_move(c->sc, a, hb);
	budget_take(c, b, ha);
	nc_score_move(c->sc, b, ha);
	c->last[a] = ++c->step;
	c->last[b] = ++c->step;
	c->partner[a] = (ssize_t)b;
	c->partner[b] = (ssize_t)a;
	c->rep->swaps++;
	return true;
}

static bool swap_step(struct ctx *c, const struct ranked *r, size_t nr)
{
	size_t nsrc = nr < SWAP_SRC ? nr : SWAP_SRC, ndst = nr < SWAP_DST ? nr : SWAP_DST, s, j;
	double cur = nc_score_total(c->sc);
	struct cand *cands = NULL;
	size_t nc = 0, ac = 0, i;
	bool done = false;

	for (s = 0; s < nsrc; s++) {
		size_t na, x;
		const size_t *on_a = nc_placement_on(c->ps, r[s].host, &na);

		for (j = nr - ndst; j < nr; j++) {
			size_t nb, y;
			const size_t *on_b;

			if (r[j].host == r[s].host)
				continue;
			on_b = nc_placement_on(c->ps, r[j].host, &nb);
			for (x = 0; x < na; x++) {
				if (!c->movable[on_a[x]])
					continue;
				for (y = 0; y < nb; y++) {
					double g;
					int nm;

					if (!c->movable[on_b[y]])
						continue;
					g = cur - nc_score_try_swap(c->sc, on_a[x], on_b[y]);
					/* the threshold per new migration: a moved VM going home
					 * while another leaves in its place costs none */
					nm = delta(c, on_a[x], r[j].host) + delta(c, on_b[y], r[s].host);
					if (g < 1e-6 || g < (nm > 0 ? nm : 0) * opts_of(c, on_a[x])->threshold)
						continue;
					if (nc == ac) {
						ac = ac ? ac * 2 : 64;
						cands = nc_xreallocarray(cands, ac, sizeof(*cands));
					}
					cands[nc].k = on_a[x];
					cands[nc].to = on_b[y];    /* the other entry */
					cands[nc].gain = g;
					cands[nc].name = vm_of(c, on_a[x], NULL)->obj.meta.name.v;
					cands[nc].name2 = vm_of(c, on_b[y], NULL)->obj.meta.name.v;
					nc++;
				}
			}
		}
	}
	/* the best first; sort only when it is refused */
	for (i = 1, j = 0; i < nc; i++)
		if (cand_cmp(&cands[i], &cands[j]) < 0)
			j = i;
	if (nc)
		done = try_swap(c, cands[j].k, cands[j].to, cands[j].gain);
	if (!done && nc > 1 && !c->rep->budget) {
		qsort(cands, nc, sizeof(*cands), cand_cmp);
		for (i = 1; i < nc && i < 64 && !done && !c->rep->budget; i++)
			done = try_swap(c, cands[i].k, cands[i].to, cands[i].gain);
	}
	free(cands);
	return done;
}

struct back {
	size_t k;
	double loss;
	const char *name;
};

static int back_cmp(const void *pa, const void *pb)
{
	const struct back *a = pa, *b = pb;

	if (a->loss != b->loss)
		return a->loss < b->loss ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* take back moves whose loss would be below the threshold */
static void drop_pass(struct ctx *c)
{
	struct back *v = nc_xcalloc(c->ne + 1, sizeof(*v));
	size_t n = 0, i, k;

	for (k = 0; k < c->ne; k++)
		if (nc_score_host_of(c->sc, k) != c->origin[k]) {
			v[n].k = k;
			v[n].name = vm_of(c, k, NULL)->obj.meta.name.v;
			v[n].loss = nc_score_try_move(c->sc, k, c->origin[k]) - nc_score_total(c->sc);
			n++;
		}
	if (n > 1)
		qsort(v, n, sizeof(*v), back_cmp);
	for (i = 0; i < n; i++) {
		size_t from;
		double loss;
		const struct nc_vm *vm;

		k = v[i].k;
		from = nc_score_host_of(c->sc, k);
		/* the others may have changed since it was ranked */
		loss = nc_score_try_move(c->sc, k, c->origin[k]) - nc_score_total(c->sc);
		if (loss >= opts_of(c, k)->threshold && loss > EPS)
			continue;
		vm = vm_of(c, k, NULL);
		if (!nc_placement_fits(c->ps, vm, c->origin[k], NULL))
			continue;
		nc_placement_put(c->ps, vm, c->origin[k]);
		if (!n1_kept(c, from, c->origin[k])) {
			nc_placement_put(c->ps, vm, from);
			continue;
		}
		budget_take(c, k, c->origin[k]);
		nc_score_move(c->sc, k, c->origin[k]);
		c->last[k] = 0;
		c->partner[k] = -1;
		c->rep->dropped++;
	}
	free(v);
}

static int last_cmp(const void *pa, const void *pb, void *arg)
{
	const size_t *last = arg, a = *(const size_t *)pa, b = *(const size_t *)pb;

	if (last[a] != last[b])
		return last[a] < last[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* portable qsort_r: a small insertion-merge is enough for the moves of one pass */
static void sort_by_last(size_t *v, size_t n, size_t *last)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		size_t x = v[i];

		for (j = i; j > 0 && last_cmp(&v[j - 1], &x, last) > 0; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* one move per VM away from its origin, replayed in order for the scores around each */
static size_t emit(struct ctx *c, struct nc_move **out)
{
	size_t *v = nc_xcalloc(c->ne + 1, sizeof(*v)), *final = nc_xcalloc(c->ne + 1, sizeof(*final));
	size_t n = 0, i, k;
	struct nc_move *m;

	for (k = 0; k < c->ne; k++)
		if (nc_score_host_of(c->sc, k) != c->origin[k])
			v[n++] = k;
	sort_by_last(v, n, c->last);
	m = nc_xcalloc(n ? n : 1, sizeof(*m));
	for (i = 0; i < n; i++) {
		final[i] = nc_score_host_of(c->sc, v[i]);
		nc_score_move(c->sc, v[i], c->origin[v[i]]);
	}
	for (i = 0; i < n; i++) {
		size_t from = c->origin[v[i]];
		double sd0[NC_ST__SD], best = -INFINITY, cap;
		ssize_t p = c->partner[v[i]];
		bool pair = p >= 0 && i + 1 < n && v[i + 1] == (size_t)p && c->partner[p] == (ssize_t)v[i];
		int t;

		m[i].vm = vm_of(c, v[i], NULL);
		m[i].from = from;
		m[i].to = final[i];
		m[i].before = nc_score_total(c->sc);
		m[i].dim = -1;
		for (t = 0; t < NC_ST__SD; t++)
			sd0[t] = nc_score_sd(c->sc, t);
		nc_score_move(c->sc, v[i], final[i]);
		if (pair) {
			/* a swap: both moves show the pair's scores */
			m[i + 1].vm = vm_of(c, v[i + 1], NULL);
			m[i + 1].from = c->origin[v[i + 1]];
			m[i + 1].to = final[i + 1];
			m[i + 1].before = m[i].before;
			m[i + 1].dim = -1;
			m[i].swap = m[i + 1].vm;
			m[i + 1].swap = m[i].vm;
			nc_score_move(c->sc, v[i + 1], final[i + 1]);
			m[i + 1].after = nc_score_total(c->sc);
		}
		m[i].after = nc_score_total(c->sc);
		if (!nc_score_observed(c->sc)) {
			i += pair;
			continue;
		}
		/* the load dimension whose spread fell most, and the source's figure in it */
		for (t = NC_ST_CPU_LOAD; t <= NC_ST_NET_LOAD; t++) {
			double g = sd0[t] - nc_score_sd(c->sc, t);

			if (g > best + 1e-12) {
				best = g;
				m[i].dim = t - NC_ST_CPU_LOAD;
			}
		}
		m[i].src_after = nc_score_host_raw(c->sc, from, NC_ST_CPU_LOAD + m[i].dim, &m[i].cap);
		if (pair) {
			m[i + 1].dim = m[i].dim;
			m[i + 1].src_after = nc_score_host_raw(c->sc, m[i + 1].from, NC_ST_CPU_LOAD + m[i].dim,
							       &m[i + 1].cap);
			nc_score_move(c->sc, v[i + 1], m[i + 1].from);
		}
		nc_score_move(c->sc, v[i], from);
		m[i].src_before = nc_score_host_raw(c->sc, from, NC_ST_CPU_LOAD + m[i].dim, &cap);
		if (pair)
			m[i + 1].src_before = nc_score_host_raw(c->sc, m[i + 1].from, NC_ST_CPU_LOAD + m[i].dim, &cap);
		nc_score_move(c->sc, v[i], final[i]);
		if (pair) {
			nc_score_move(c->sc, v[i + 1], final[i + 1]);
			i++;
		}
	}
	free(v);
	free(final);
	*out = m;
	return n;
}

size_t nc_rebalance_run(struct nc_placement_state *ps, const struct nc_spec *spec, const bool *busy,
			const struct nc_rebalance_opts *o, struct nc_move **out, struct nc_rebalance_report *rep)
{
	struct ctx c;
	struct ranked *r;
	struct cand *cands = NULL;
	size_t acands = 0, k, h, n, guard;

	memset(rep, 0, sizeof(*rep));
	memset(&c, 0, sizeof(c));
	c.ps = ps;
	c.o = o;
	c.rep = rep;
	c.nh = nc_placement_hosts(ps);
	c.ne = nc_placement_count(ps);
	c.sc = nc_score_new(ps, o->mode);
	c.origin = nc_xcalloc(c.ne + 1, sizeof(*c.origin));
	c.movable = nc_xcalloc(c.ne + 1, sizeof(*c.movable));
	c.last = nc_xcalloc(c.ne + 1, sizeof(*c.last));
	c.partner = nc_xcalloc(c.ne + 1, sizeof(*c.partner));
	c.np = o->npolicies + 1;
	c.pidx = nc_xcalloc(c.ne + 1, sizeof(*c.pidx));
	c.pmoved = nc_xcalloc(c.np, sizeof(*c.pmoved));
	c.pmem = nc_xcalloc(c.np, sizeof(*c.pmem));
	for (k = 0; k < c.ne; k++)
		c.partner[k] = -1;
	c.n1_ok = nc_xcalloc(c.nh + 1, sizeof(*c.n1_ok));
	nc_buf_init(&c.why);
	rep->before = nc_score_total(c.sc);
	for (k = 0; k < c.ne; k++) {
		struct nc_placement_info in;
		const struct nc_policy *pol;
		ssize_t idx;

		nc_placement_info(ps, k, &in);
		c.origin[k] = in.host;
		c.pidx[k] = c.np - 1;
		if (!in.vm || !(pol = nc_placement_policy(spec, in.vm)) || !pol->spec.rebalance.enabled.v)
			continue;
		if (o->npolicies) {
			size_t p;

			for (p = 0; p < o->npolicies && o->policies[p] != pol; p++)
				;
			if (p == o->npolicies)
				continue;
			c.pidx[k] = p;
		}
		idx = nc_placement_vm_index(ps, in.vm);
		if (busy && idx >= 0 && busy[idx])
			continue;
		if (NC_IS_SET(in.vm->spec.placement.host)) {
			rep->pinned++;
			continue;
		}
		if (!nc_placement_load(ps, in.host)->usable)
			continue;
		c.movable[k] = true;
		rep->movable++;
	}
	r = nc_xcalloc(c.nh + 1, sizeof(*r));
	if (rep->movable) {
		for (h = 0; h < c.nh; h++)
			c.n1_ok[h] = nc_placement_load(ps, h)->usable && nc_n1_host(ps, h, NULL);
		for (guard = 0; guard < 4 * c.ne + 16; guard++) {
			size_t nr = rank(&c, r);

			if (nr < 2)
				break;
			if (single_step(&c, r, nr, &cands, &acands))
				continue;
			if (rep->budget || !swap_step(&c, r, nr))
				break;
		}
		/* a pass the budget cut short is the start of a longer one: nothing is taken back */
		if (!rep->budget)
			drop_pass(&c);
	}
	n = emit(&c, out);
	rep->after = nc_score_total(c.sc);
	if (c.why.len)
		rep->refused = nc_buf_detach(&c.why, NULL);
	nc_buf_release(&c.why);
	free(cands);
	free(r);
	free(c.origin);
	free(c.movable);
	free(c.last);
	free(c.partner);
	free(c.pidx);
	free(c.pmoved);
	free(c.pmem);
	free(c.n1_ok);
	nc_score_free(c.sc);
	return n;
}

size_t nc_rebalance_mode(struct nc_placement_state *ps, const struct nc_spec *spec, const bool *busy,
			 size_t budget, double threshold, int mode, struct nc_move **out)
{
	struct nc_rebalance_opts o = { .max_moves = budget, .threshold = threshold, .mode = mode };
	struct nc_rebalance_report rep;
	size_t n = nc_rebalance_run(ps, spec, busy, &o, out, &rep);

	free(rep.refused);
	return n;
}

size_t nc_rebalance(struct nc_placement_state *ps, const struct nc_spec *spec, const bool *busy,
		    size_t budget, double threshold, struct nc_move **out)
{
	return nc_rebalance_mode(ps, spec, busy, budget, threshold, NC_LOAD_STATIC, out);
}
