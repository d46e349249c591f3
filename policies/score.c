/*
 * score.c - the imbalance score, a superset of Ganeti hbal's (score.h has
 * the terms and weights; docs/placement.md "Imbalance score").
 *
 * Each standard-deviation term keeps, over the usable hosts, the sum and
 * the sum of squares of the hosts' values (raw figure x 1/capacity); a move
 * changes two hosts, so its effect on every term is two subtractions and
 * two additions.  Preferred rules keep their group's count per topology
 * domain, so a move changes at most two counts per rule the VM is in.  A
 * try (nc_score_try_move/swap) applies the change, reads the total and
 * restores the saved figures exactly; nc_score_move applies it for good
 * and re-sums the terms from the hosts' values, so no rounding drifts in.
 */
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

#define SD NC_ST__SD

static const struct {
	const char *name;
	double weight;
} terms[NC_ST__COUNT] = {
	[NC_ST_FREE_MEM] = { "free_mem", 1 },
	[NC_ST_FREE_DISK] = { "free_disk", 1 },
	[NC_ST_VCPU_RATIO] = { "vcpu_ratio", 1 },
	[NC_ST_CPU_LOAD] = { "cpu_load", 1 },
	[NC_ST_MEM_LOAD] = { "mem_load", 1 },
	[NC_ST_DISK_LOAD] = { "disk_load", 1 },
	[NC_ST_NET_LOAD] = { "net_load", 1 },
	[NC_ST_SPREAD] = { "vm_spread", 1 },
	[NC_ST_RESERVED_MEM] = { "reserved_mem", 1 },
	[NC_ST_CONFLICTS] = { "conflicts", 2 },
	[NC_ST_OFFLINE] = { "offline", 20 },
	[NC_ST_N1] = { "n1_failures", 1 },
};

double nc_score_weight(int t)
{
	return t >= 0 && t < NC_ST__COUNT ? terms[t].weight : 0;
}

const char *nc_score_term_name(int t)
{
	return t >= 0 && t < NC_ST__COUNT ? terms[t].name : "?";
}

struct rule {
	double w;                    /* weight / 100 */
	bool anti;
	int *dom;                    /* per host: its topology domain, -1 for none */
	size_t ndom;
	long *cnt;                   /* the group's VMs per domain */
	long used;                   /* domains holding some (affinity) */
	long extra;                  /* VMs beyond the first per domain (anti-affinity) */
};

struct nc_score {
	size_t nh, ne;
	bool observed;
	bool *usable;                /* per host */
	bool *in;                    /* nh x SD: the host counts in the term */
	double *inv;                 /* nh x SD: 1 / what the term's figure is a share of */
	double *raw;                 /* nh x SD: the host's figure */
	double *a;                   /* ne x SD: what each entry adds to its host's figure */
	size_t *host;                /* ne */
	bool *is_vm;                 /* ne: a spec VM (counts as offline on an unusable host) */
	size_t n[SD];
	double S[SD], Q[SD];
	struct rule *rules;
	size_t nrules;
	size_t *roff, *rid;          /* entry k's rules: rid[roff[k] .. roff[k + 1]) */
	double offline;
};

static double val(const struct nc_score *s, size_t h, int t)
{
	return s->raw[h * SD + t] * s->inv[h * SD + t];
}

static double sd_of(double S, double Q, size_t n)
{
	double mean, var;

	if (!n)
		return 0;
	mean = S / (double)n;
	var = Q / (double)n - mean * mean;
	return var > 0 ? sqrt(var) : 0;
}

static double conflicts(const struct nc_score *s)
{
	double c = 0;
	size_t r;

	for (r = 0; r < s->nrules; r++)
		c += s->rules[r].w * (double)(s->rules[r].anti ? s->rules[r].extra
							       : (s->rules[r].used > 1 ? s->rules[r].used - 1 : 0));
	return c;
}

static void resum(struct nc_score *s)
{
	size_t h;
	int t;

	memset(s->S, 0, sizeof(s->S));
	memset(s->Q, 0, sizeof(s->Q));
	for (h = 0; h < s->nh; h++)
		for (t = 0; t < SD; t++)
			if (s->in[h * SD + t]) {
				double v = val(s, h, t);

				s->S[t] += v;
				s->Q[t] += v * v;
			}
}

static const char *topology(const struct nc_host *h, const struct nc_affinity *r)
{
	const char *key = NC_IS_SET(r->topology_key) ? r->topology_key.v : "host";

	return strcmp(key, "host") == 0 ? h->obj.meta.name.v : nc_map_get(&h->obj.meta.labels, key);
}

/* every preferred rule of every policy, with its domains per host */
static void build_rules(struct nc_score *s, const struct nc_placement_state *ps)
{
	const struct nc_spec *spec = nc_placement_spec(ps);
	const struct nc_policy *pol;
	size_t i, r, h, k, nr = 0;
	const char **names = nc_xcalloc(s->nh ? s->nh : 1, sizeof(*names));
	const struct nc_selector **sel = NULL;

	NC_SPEC_EACH(spec, NC_KIND_PLACEMENT_POLICY, const struct nc_policy, pol, i) {
		for (r = 0; r < pol->spec.affinity.n; r++) {
			const struct nc_affinity *a = (const struct nc_affinity *)pol->spec.affinity.v + r;
			struct rule *ru;

			if (!NC_IS_SET(a->mode) || a->mode.v != NC_PREFERRED)
				continue;
			s->rules = nc_xreallocarray(s->rules, nr + 1, sizeof(*s->rules));
			sel = nc_xreallocarray(sel, nr + 1, sizeof(*sel));
			ru = &s->rules[nr];
			memset(ru, 0, sizeof(*ru));
			ru->w = (NC_IS_SET(a->weight) ? (double)a->weight.v : 50) / 100;
			ru->anti = a->type.v == NC_ANTI_AFFINITY;
			ru->dom = nc_xcalloc(s->nh ? s->nh : 1, sizeof(*ru->dom));
			sel[nr] = NC_IS_SET(a->selector) ? &a->selector : &pol->spec.vm_selector;
			/* domains numbered by first appearance in host (name) order */
			for (h = 0; h < s->nh; h++) {
				const char *v = topology(nc_placement_host_spec(ps, h), a);
				size_t d;

				ru->dom[h] = -1;
				if (!v)
					continue;
				for (d = 0; d < ru->ndom && strcmp(names[d], v) != 0; d++)
					;
				if (d == ru->ndom)
					names[ru->ndom++] = v;
				ru->dom[h] = (int)d;
			}
			ru->cnt = nc_xcalloc(ru->ndom ? ru->ndom : 1, sizeof(*ru->cnt));
			nr++;
		}
	}
	s->nrules = nr;
	s->roff = nc_xcalloc(s->ne + 1, sizeof(*s->roff));
	for (k = 0; k < s->ne; k++) {
		struct nc_placement_info in;

		s->roff[k + 1] = s->roff[k];
		if (!nr)
			continue;
		nc_placement_info(ps, k, &in);
		if (!in.vm)
			continue;
		for (r = 0; r < nr; r++) {
			int d;

			if (!nc_selector_matches(sel[r], in.labels))
				continue;
			s->rid = nc_xreallocarray(s->rid, s->roff[k + 1] + 1, sizeof(*s->rid));
			s->rid[s->roff[k + 1]++] = r;
			d = s->rules[r].dom[in.host];
			if (d < 0)
				continue;
			if (s->rules[r].cnt[d]++ == 0)
				s->rules[r].used++;
			else
				s->rules[r].extra++;
		}
	}
	free(sel);
	free(names);
}

struct nc_score *nc_score_new(const struct nc_placement_state *ps, int mode)
{
	struct nc_score *s = nc_xcalloc(1, sizeof(*s));
	size_t h, k;
	int t;

	s->nh = nc_placement_hosts(ps);
	s->ne = nc_placement_count(ps);
	s->observed = mode != NC_LOAD_STATIC && nc_placement_window(ps) > 0;
	s->usable = nc_xcalloc(s->nh + 1, sizeof(*s->usable));
	s->in = nc_xcalloc(s->nh * SD + 1, sizeof(*s->in));
	s->inv = nc_xcalloc(s->nh * SD + 1, sizeof(*s->inv));
	s->raw = nc_xcalloc(s->nh * SD + 1, sizeof(*s->raw));
	s->a = nc_xcalloc(s->ne * SD + 1, sizeof(*s->a));
	s->host = nc_xcalloc(s->ne + 1, sizeof(*s->host));
	s->is_vm = nc_xcalloc(s->ne + 1, sizeof(*s->is_vm));
	for (h = 0; h < s->nh; h++) {
		const struct nc_host_load *l = nc_placement_load(ps, h);
		double *inv = &s->inv[h * SD];
		bool *in = &s->in[h * SD];

		s->usable[h] = l->usable;
		if (!l->usable)
			continue;
		inv[NC_ST_FREE_MEM] = l->phys_memory > 0 ? 1 / l->phys_memory : 0;
		inv[NC_ST_FREE_DISK] = isfinite(l->cap_disk) && l->cap_disk > 0 ? 1 / l->cap_disk : 0;
		inv[NC_ST_VCPU_RATIO] = l->phys_cpus > 0 ? 1 / l->phys_cpus : 0;
		if (s->observed) {
			inv[NC_ST_CPU_LOAD] = l->phys_cpus > 0 ? 1 / l->phys_cpus : 0;
			inv[NC_ST_MEM_LOAD] = l->phys_memory > 0 ? 1 / l->phys_memory : 0;
			inv[NC_ST_DISK_LOAD] = 1 / NC_LOAD_IO_REF;
			inv[NC_ST_NET_LOAD] = 1 / NC_LOAD_IO_REF;
			/* the host's own use, beyond its VMs' */
			s->raw[h * SD + NC_ST_CPU_LOAD] = l->own_cpu;
			s->raw[h * SD + NC_ST_MEM_LOAD] = l->own_memory;
		} else {
			for (t = NC_ST_CPU_LOAD; t <= NC_ST_NET_LOAD; t++)
				inv[t] = 1;
		}
		inv[NC_ST_SPREAD] = 1;
		for (t = 0; t < SD; t++)
			in[t] = t == NC_ST_FREE_DISK ? inv[t] > 0 : true;
		for (t = 0; t < SD; t++)
			if (in[t])
				s->n[t]++;
	}
	for (k = 0; k < s->ne; k++) {
		struct nc_placement_info in;
		double *a = &s->a[k * SD];

		nc_placement_info(ps, k, &in);
		s->host[k] = in.host;
		s->is_vm[k] = in.vm != NULL;
		a[NC_ST_FREE_MEM] = in.memory;
		a[NC_ST_FREE_DISK] = in.disk;
		a[NC_ST_VCPU_RATIO] = in.vcpus;
		if (s->observed) {
			a[NC_ST_CPU_LOAD] = in.obs.cpu;
			a[NC_ST_MEM_LOAD] = in.obs.memory;
			a[NC_ST_DISK_LOAD] = in.obs.disk;
			a[NC_ST_NET_LOAD] = in.obs.net;
		} else {
			for (t = NC_ST_CPU_LOAD; t <= NC_ST_NET_LOAD; t++)
				a[t] = 1;
		}
		a[NC_ST_SPREAD] = 1;
		for (t = 0; t < SD; t++)
			s->raw[in.host * SD + t] += a[t];
		if (s->is_vm[k] && !s->usable[in.host])
			s->offline++;
	}
	build_rules(s, ps);
	resum(s);
	return s;
}

void nc_score_free(struct nc_score *s)
{
	size_t r;

	if (!s)
		return;
	for (r = 0; r < s->nrules; r++) {
		free(s->rules[r].dom);
		free(s->rules[r].cnt);
	}
	free(s->rules);
	free(s->roff);
	free(s->rid);
	free(s->usable);
	free(s->in);
	free(s->inv);
	free(s->raw);
	free(s->a);
	free(s->host);
	free(s->is_vm);
	free(s);
}

double nc_score_total(const struct nc_score *s)
{
	double sum = 0;
	int t;

	for (t = 0; t < SD; t++)
		sum += terms[t].weight * sd_of(s->S[t], s->Q[t], s->n[t]);
	return sum + terms[NC_ST_CONFLICTS].weight * conflicts(s) + terms[NC_ST_OFFLINE].weight * s->offline;
}

void nc_score_parts(const struct nc_score *s, struct nc_score_parts *out)
{
	int t;

	memset(out, 0, sizeof(*out));
	for (t = 0; t < SD; t++)
		out->term[t] = sd_of(s->S[t], s->Q[t], s->n[t]);
	out->term[NC_ST_CONFLICTS] = conflicts(s);
	out->term[NC_ST_OFFLINE] = s->offline;
	out->total = nc_score_total(s);
}

/* the group counts of entry k's rules as it leaves `from` for `to` (sign -1: undo) */
static void rules_move(struct nc_score *s, size_t k, size_t from, size_t to)
{
	size_t i;

	for (i = s->roff[k]; i < s->roff[k + 1]; i++) {
		struct rule *r = &s->rules[s->rid[i]];
		int df = r->dom[from], dt = r->dom[to];

		if (df == dt)
			continue;
		if (df >= 0) {
			if (--r->cnt[df] == 0)
				r->used--;
			else
				r->extra--;
		}
		if (dt >= 0) {
			if (r->cnt[dt]++ == 0)
				r->used++;
			else
				r->extra++;
		}
	}
}

/* host h's figures change by sign x entry k's */
static void host_change(struct nc_score *s, size_t h, size_t k, double sign)
{
	int t;

	for (t = 0; t < SD; t++) {
		double *raw = &s->raw[h * SD + t];

		if (s->in[h * SD + t]) {
			double v = *raw * s->inv[h * SD + t], w;

			*raw += sign * s->a[k * SD + t];
			w = *raw * s->inv[h * SD + t];
			s->S[t] += w - v;
			s->Q[t] += w * w - v * v;
		} else {
			*raw += sign * s->a[k * SD + t];
		}
	}
	if (s->is_vm[k] && !s->usable[h])
		s->offline += sign;
}

struct saved {
	double S[SD], Q[SD], r1[SD], r2[SD], offline;
	size_t h1, h2;
};

static void save(const struct nc_score *s, size_t h1, size_t h2, struct saved *sv)
{
	memcpy(sv->S, s->S, sizeof(sv->S));
	memcpy(sv->Q, s->Q, sizeof(sv->Q));
	memcpy(sv->r1, &s->raw[h1 * SD], sizeof(sv->r1));
	memcpy(sv->r2, &s->raw[h2 * SD], sizeof(sv->r2));
	sv->offline = s->offline;
	sv->h1 = h1;
	sv->h2 = h2;
}

static void restore(struct nc_score *s, const struct saved *sv)
{
	memcpy(s->S, sv->S, sizeof(sv->S));
	memcpy(s->Q, sv->Q, sizeof(sv->Q));
	memcpy(&s->raw[sv->h1 * SD], sv->r1, sizeof(sv->r1));
	memcpy(&s->raw[sv->h2 * SD], sv->r2, sizeof(sv->r2));
	s->offline = sv->offline;
}

double nc_score_try_move(const struct nc_score *cs, size_t k, size_t to)
{
	struct nc_score *s = (struct nc_score *)cs;   /* changed and restored exactly */
	size_t from = s->host[k];
	struct saved sv;
	double total;

	if (from == to)
		return nc_score_total(s);
	save(s, from, to, &sv);
	host_change(s, from, k, -1);
	host_change(s, to, k, 1);
	rules_move(s, k, from, to);
	total = nc_score_total(s);
	rules_move(s, k, to, from);
	restore(s, &sv);
	return total;
}

double nc_score_try_swap(const struct nc_score *cs, size_t a, size_t b)
{
	struct nc_score *s = (struct nc_score *)cs;   /* changed and restored exactly */
	size_t ha = s->host[a], hb = s->host[b];
	struct saved sv;
	double total;

	if (ha == hb)
		return nc_score_total(s);
	save(s, ha, hb, &sv);
	host_change(s, ha, a, -1);
	host_change(s, hb, a, 1);
	host_change(s, hb, b, -1);
	host_change(s, ha, b, 1);
	rules_move(s, a, ha, hb);
	rules_move(s, b, hb, ha);
	total = nc_score_total(s);
	rules_move(s, b, ha, hb);
	rules_move(s, a, hb, ha);
	restore(s, &sv);
	return total;
}

void nc_score_move(struct nc_score *s, size_t k, size_t to)
{
	size_t from = s->host[k];

	if (from == to)
		return;
	host_change(s, from, k, -1);
	host_change(s, to, k, 1);
	rules_move(s, k, from, to);
	s->host[k] = to;
	resum(s);
}

size_t nc_score_host_of(const struct nc_score *s, size_t k)
{
	return s->host[k];
}

double nc_score_sd(const struct nc_score *s, int t)
{
	return t >= 0 && t < SD ? sd_of(s->S[t], s->Q[t], s->n[t]) : 0;
}

double nc_score_host_raw(const struct nc_score *s, size_t h, int t, double *cap)
{
	double inv = s->inv[h * SD + t];

	*cap = inv > 0 ? 1 / inv : 0;
	return s->raw[h * SD + t];
}

bool nc_score_observed(const struct nc_score *s)
{
	return s->observed;
}

double nc_score_pressure(const struct nc_score *s, size_t h)
{
	double p = 0;
	int t;

	if (!s->usable[h])
		return 0;
	for (t = 0; t < SD; t++) {
		double sd = sd_of(s->S[t], s->Q[t], s->n[t]);

		if (!s->in[h * SD + t] || sd <= 1e-12)
			continue;
		p += terms[t].weight * (val(s, h, t) - s->S[t] / (double)s->n[t]) / sd;
	}
	return p;
}

/* ---- from scratch ---- */

void nc_score_full(const struct nc_placement_state *ps, int mode, bool with_n1, struct nc_score_parts *out)
{
	struct nc_score *s = nc_score_new(ps, mode);
	size_t nh = s->nh, h, k, r;
	double *raw = nc_xcalloc(nh * SD + 1, sizeof(*raw));
	int t;

	memset(out, 0, sizeof(*out));
	/* the hosts' figures summed again from the placement state's entries */
	for (h = 0; h < nh; h++)
		if (s->observed && s->usable[h]) {
			raw[h * SD + NC_ST_CPU_LOAD] = nc_placement_load(ps, h)->own_cpu;
			raw[h * SD + NC_ST_MEM_LOAD] = nc_placement_load(ps, h)->own_memory;
		}
	for (k = 0; k < nc_placement_count(ps); k++) {
		struct nc_placement_info in;
		double *x;

		nc_placement_info(ps, k, &in);
		x = &raw[in.host * SD];
		x[NC_ST_FREE_MEM] += in.memory;
		x[NC_ST_FREE_DISK] += in.disk;
		x[NC_ST_VCPU_RATIO] += in.vcpus;
		x[NC_ST_CPU_LOAD] += s->observed ? in.obs.cpu : 1;
		x[NC_ST_MEM_LOAD] += s->observed ? in.obs.memory : 1;
		x[NC_ST_DISK_LOAD] += s->observed ? in.obs.disk : 1;
		x[NC_ST_NET_LOAD] += s->observed ? in.obs.net : 1;
		x[NC_ST_SPREAD] += 1;
		if (in.vm && !nc_placement_load(ps, in.host)->usable)
			out->term[NC_ST_OFFLINE]++;
	}
	for (t = 0; t < SD; t++) {
		double mean = 0, var = 0;
		size_t n = 0;

		for (h = 0; h < nh; h++)
			if (s->in[h * SD + t]) {
				mean += raw[h * SD + t] * s->inv[h * SD + t];
				n++;
			}
		if (!n)
			continue;
		mean /= (double)n;
		for (h = 0; h < nh; h++)
			if (s->in[h * SD + t]) {
				double d = raw[h * SD + t] * s->inv[h * SD + t] - mean;

				var += d * d;
			}
		out->term[t] = sqrt(var / (double)n);
	}
	/* conflicts: the group counted per domain again, by walking the entries */
	for (r = 0; r < s->nrules; r++) {
		long *cnt = nc_xcalloc(s->rules[r].ndom + 1, sizeof(*cnt)), used = 0, extra = 0;
		size_t d;

		for (k = 0; k < s->ne; k++) {
			struct nc_placement_info in;
			size_t i;
			int dd;

			for (i = s->roff[k]; i < s->roff[k + 1] && s->rid[i] != r; i++)
				;
			if (i == s->roff[k + 1])
				continue;
			nc_placement_info(ps, k, &in);
			dd = s->rules[r].dom[in.host];
			if (dd >= 0)
				cnt[dd]++;
		}
		for (d = 0; d < s->rules[r].ndom; d++) {
			used += cnt[d] > 0;
			extra += cnt[d] > 1 ? cnt[d] - 1 : 0;
		}
		out->term[NC_ST_CONFLICTS] += s->rules[r].w * (double)(s->rules[r].anti ? extra : (used > 1 ? used - 1 : 0));
		free(cnt);
	}
	if (with_n1)
		for (h = 0; h < nh; h++)
			if (nc_placement_load(ps, h)->usable && !nc_n1_host(ps, h, NULL))
				out->term[NC_ST_N1]++;
	for (t = 0; t < NC_ST__COUNT; t++)
		out->total += terms[t].weight * out->term[t];
	free(raw);
	nc_score_free(s);
}
