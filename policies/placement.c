/*
 * placement.c - choose a host for a new VM: filter, then score.
 *
 * Filters (a host failing one is rejected, with the reason kept for the
 * plan): reachable, not in maintenance, the pinned host, the VM's and its
 * policy's host selectors, free vCPUs and memory under the host's capacity
 * times its overcommit ratio (defaults: cpu 4.0, memory 1.0), and the
 * policy's required affinity / anti-affinity rules over their topology key
 * (host, or any host label such as rack or zone).  Score by the policy's
 * strategy: spread (default) prefers the most free memory share after
 * placement, pack the least, balanced the smallest gap between the CPU and
 * memory shares in use; preferred rules add or subtract weight/100 when the
 * topology domain holds a VM of their group.  Ties go to the host first by
 * name, so the same inputs always give the same choice.  Each choice
 * reserves its resources so later choices in the pass see them.
 */
#include "../reconciler/pass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct usage {
	bool usable;
	const char *unusable;    /* why, when not usable */
	double cap_vcpus;        /* capacity times overcommit */
	double cap_memory;
	double used_vcpus;
	double used_memory;
};

struct placed {
	const struct nc_map *labels;   /* the VM's effective labels */
	size_t host;
};

struct nc_placement_state {
	const struct nc_spec *spec;
	const struct nc_cluster *c;
	struct usage *u;
	size_t n;
	struct placed *placed;         /* VMs known to run somewhere */
	size_t nplaced, aplaced;
};

static void remember(struct nc_placement_state *ps, const struct nc_map *labels, size_t host)
{
	if (ps->nplaced == ps->aplaced) {
		ps->aplaced = ps->aplaced ? ps->aplaced * 2 : 64;
		ps->placed = nc_xreallocarray(ps->placed, ps->aplaced, sizeof(*ps->placed));
	}
	ps->placed[ps->nplaced].labels = labels;
	ps->placed[ps->nplaced].host = host;
	ps->nplaced++;
}

struct nc_placement_state *nc_placement_new(const struct nc_spec *spec, const struct nc_cluster *c)
{
	struct nc_placement_state *ps = nc_xcalloc(1, sizeof(*ps));
	size_t i;

	ps->spec = spec;
	ps->c = c;
	ps->n = c->nhosts;
	ps->u = nc_xcalloc(ps->n ? ps->n : 1, sizeof(*ps->u));
	for (i = 0; i < ps->n; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		const struct nc_host_spec *hs = &v->spec->spec;
		struct usage *u = &ps->u[i];
		double oc_cpu = NC_IS_SET(hs->overcommit.cpu) ? hs->overcommit.cpu.v : 4.0;
		double oc_mem = NC_IS_SET(hs->overcommit.memory) ? hs->overcommit.memory.v : 1.0;

		if (v->status != NC_HOST_OK) {
			u->unusable = "unreachable";
			continue;
		}
		if (hs->maintenance.v) {
			u->unusable = "in maintenance";
			continue;
		}
		u->usable = true;
		u->cap_vcpus = (NC_IS_SET(hs->capacity.vcpus) ? (double)hs->capacity.vcpus.v
							       : (double)v->obs.node.cpus) * oc_cpu;
		u->cap_memory = (NC_IS_SET(hs->capacity.memory) ? (double)hs->capacity.memory.v
								 : (double)v->obs.node.memory) * oc_mem;
	}
	/* where the VMs of the spec already are, for affinity rules */
	for (i = 0; i < ps->n; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		size_t j;

		for (j = 0; j < v->obs.ndoms; j++) {
			const struct nc_domain *d = &v->obs.doms[j];
			const struct nc_vm *vm;

			if (!d->managed)
				continue;
			vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, d->meta_vm);
			if (vm)
				remember(ps, &vm->labels, i);
		}
	}
	return ps;
}

void nc_placement_free(struct nc_placement_state *ps)
{
	if (!ps)
		return;
	free(ps->placed);
	free(ps->u);
	free(ps);
}

void nc_placement_account(struct nc_placement_state *ps, size_t host, unsigned vcpus,
			  uint64_t memory)
{
	ps->u[host].used_vcpus += vcpus;
	ps->u[host].used_memory += (double)memory;
}

static const struct nc_policy *policy_for(const struct nc_spec *spec, const struct nc_vm *vm)
{
	const struct nc_policy *p;
	size_t i;

	if (NC_IS_SET(vm->spec.placement.policy))
		return (const struct nc_policy *)nc_spec_find(spec, NC_KIND_PLACEMENT_POLICY,
							      vm->spec.placement.policy.v);
	NC_SPEC_EACH(spec, NC_KIND_PLACEMENT_POLICY, const struct nc_policy, p, i)
		if (nc_selector_matches(&p->spec.vm_selector, &vm->labels))
			return p;
	return NULL;
}

static void fmt_size(double bytes, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t i = 0;

	while (bytes >= 1024 && i + 1 < NC_ARRAY_SIZE(u)) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, "%.4g%s", bytes, u[i]);
}

/* The host's value for a topology key: its name for "host", else a label. */
static const char *topology(const struct nc_host *h, const struct nc_affinity *r)
{
	const char *key = NC_IS_SET(r->topology_key) ? r->topology_key.v : "host";

	if (strcmp(key, "host") == 0)
		return h->obj.meta.name.v;
	return nc_map_get(&h->obj.meta.labels, key);
}

/* VMs of the rule's group already in the same topology domain as host i */
static size_t group_near(const struct nc_placement_state *ps, const struct nc_policy *pol,
			 const struct nc_affinity *r, size_t i)
{
	const struct nc_selector *sel = NC_IS_SET(r->selector) ? &r->selector : &pol->spec.vm_selector;
	const char *here = topology(ps->c->hosts[i].spec, r);
	size_t k, n = 0;

	if (!here)
		return 0;
	for (k = 0; k < ps->nplaced; k++) {
		const char *there = topology(ps->c->hosts[ps->placed[k].host].spec, r);

		if (there && strcmp(here, there) == 0 && nc_selector_matches(sel, ps->placed[k].labels))
			n++;
	}
	return n;
}

/* VMs of the rule's group placed anywhere */
static size_t group_size(const struct nc_placement_state *ps, const struct nc_policy *pol,
			 const struct nc_affinity *r)
{
	const struct nc_selector *sel = NC_IS_SET(r->selector) ? &r->selector : &pol->spec.vm_selector;
	size_t k, n = 0;

	for (k = 0; k < ps->nplaced; k++)
		if (nc_selector_matches(sel, ps->placed[k].labels))
			n++;
	return n;
}

int nc_placement_choose(struct nc_placement_state *ps, const struct nc_vm *vm, char **why)
{
	const struct nc_policy *pol = policy_for(ps->spec, vm);
	int strategy = pol && NC_IS_SET(pol->spec.strategy) ? pol->spec.strategy.v : NC_STRATEGY_SPREAD;
	double vcpus = (double)vm->eff.vcpus.v, mem = (double)vm->eff.memory.v;
	struct nc_buf rej = NC_BUF_INIT;
	double best_score = -INFINITY;
	int best = -1;
	size_t i;

	for (i = 0; i < ps->n; i++) {
		const struct nc_host_view *v = &ps->c->hosts[i];
		const struct nc_host *h = v->spec;
		const struct usage *u = &ps->u[i];
		const char *name = h->obj.meta.name.v;
		char a[32], b[32];
		double score, free_mem, cpu_share, mem_share, bonus_all = 0;

		if (NC_IS_SET(vm->spec.placement.host) && strcmp(vm->spec.placement.host.v, name) != 0)
			continue;   /* pinned elsewhere: not worth a line */
		if (!u->usable) {
			nc_buf_addf(&rej, "; %s: %s", name, u->unusable);
			continue;
		}
		if (NC_IS_SET(vm->spec.placement.host_selector) &&
		    !nc_selector_matches(&vm->spec.placement.host_selector, &h->obj.meta.labels)) {
			nc_buf_addf(&rej, "; %s: does not match the VM's hostSelector", name);
			continue;
		}
		if (pol && NC_IS_SET(pol->spec.host_selector) &&
		    !nc_selector_matches(&pol->spec.host_selector, &h->obj.meta.labels)) {
			nc_buf_addf(&rej, "; %s: does not match the hostSelector of policy %s", name,
				    pol->obj.meta.name.v);
			continue;
		}
		if (u->used_vcpus + vcpus > u->cap_vcpus) {
			nc_buf_addf(&rej, "; %s: needs %.0f vCPUs, %.0f of %.0f free", name, vcpus,
				    u->cap_vcpus - u->used_vcpus, u->cap_vcpus);
			continue;
		}
		if (u->used_memory + mem > u->cap_memory) {
			fmt_size(mem, a, sizeof(a));
			fmt_size(u->cap_memory - u->used_memory, b, sizeof(b));
			nc_buf_addf(&rej, "; %s: needs %s memory, %s free", name, a, b);
			continue;
		}
		{
			const char *broken = NULL;
			double bonus = 0;
			size_t r;

			for (r = 0; pol && r < pol->spec.affinity.n; r++) {
				const struct nc_affinity *rule = (const struct nc_affinity *)pol->spec.affinity.v + r;
				bool anti = rule->type.v == NC_ANTI_AFFINITY;
				size_t near = group_near(ps, pol, rule, i);

				if (NC_IS_SET(rule->mode) && rule->mode.v == NC_PREFERRED) {
					double w = (NC_IS_SET(rule->weight) ? (double)rule->weight.v : 50) / 100;

					bonus += near ? (anti ? -w : w) : 0;
				} else if (anti && near) {
					broken = "anti-affinity";
				} else if (!anti && !near && group_size(ps, pol, rule)) {
					broken = "affinity";
				}
				if (broken) {
					nc_buf_addf(&rej, "; %s: required %s over %s of policy %s", name, broken,
						    NC_IS_SET(rule->topology_key) ? rule->topology_key.v : "host",
						    pol->obj.meta.name.v);
					break;
				}
			}
			if (broken)
				continue;
			free_mem = (u->cap_memory - u->used_memory - mem) / u->cap_memory;
			bonus_all = bonus;
		}
		cpu_share = (u->used_vcpus + vcpus) / u->cap_vcpus;
		mem_share = (u->used_memory + mem) / u->cap_memory;
		if (strategy == NC_STRATEGY_PACK)
			score = -free_mem;
		else if (strategy == NC_STRATEGY_BALANCED)
			score = -fabs(cpu_share - mem_share);
		else
			score = free_mem;
		score += bonus_all;
		if (score > best_score + 1e-12) {
			best_score = score;
			best = (int)i;
		}
	}
	if (best < 0) {
		*why = nc_xasprintf("no host fits%s%s", rej.len ? ": " : "",
				    rej.len ? rej.buf + 2 : "");
		nc_buf_release(&rej);
		return -1;
	}
	{
		const struct usage *u = &ps->u[best];
		static const char *const names[] = { "spread", "pack", "balanced" };
		double left = (u->cap_memory - u->used_memory - mem) / u->cap_memory * 100;

		if (NC_IS_SET(vm->spec.placement.host))
			*why = nc_xasprintf("pinned to %s", ps->c->hosts[best].spec->obj.meta.name.v);
		else
			*why = nc_xasprintf("%s%s%s: %.0f%% of memory free after placement",
					    names[strategy], pol ? ", policy " : "",
					    pol ? pol->obj.meta.name.v : "", left);
	}
	nc_buf_release(&rej);
	nc_placement_account(ps, (size_t)best, (unsigned)vcpus, (uint64_t)mem);
	remember(ps, &vm->labels, (size_t)best);
	return best;
}
