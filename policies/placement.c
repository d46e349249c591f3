/*
 * placement.c - where VMs may and should run: filter, then score.
 *
 * Filters (a host failing one is rejected, and the reason is kept for the
 * plan): reachable, not in maintenance, the pinned host, the VM's and its
 * policy's host selectors, the hostSelector of every StoragePool its disks
 * use (a pool exists only on the hosts it selects), free vCPUs, memory and local disk under the host's
 * capacity times its overcommit ratio (defaults: cpu 4.0, memory 1.0, disk
 * 1.0; disk is only checked when the Host sets capacity.disk), and the
 * policy's required affinity / anti-affinity rules over their topology key
 * (host, or any host label such as rack or zone).  Scores by the policy's
 * strategy: spread (default) prefers the most free memory share after
 * placement, pack the least, balanced the smallest gap between the CPU and
 * memory shares in use; preferred rules add (affinity) or subtract
 * (anti-affinity) weight/100 when the topology domain already holds a VM of
 * their group.  Ties go to the host first by name: the same inputs always
 * give the same choice.
 *
 * The state knows where every VM is (observed) or will be (planned), so each
 * choice sees the previous ones; a VM being moved never counts against
 * itself.
 */
#include "placement.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../spec/cluster.h"

struct placed {
	const struct nc_vm *vm;        /* NULL for a domain not in the spec */
	const struct nc_map *labels;   /* the VM's effective labels (NULL: none) */
	const char *name;              /* the domain's name (a spec VM's is its name) */
	size_t host;
	double vcpus, memory, disk;
	struct nc_load_figures obs;    /* observed, or static figures when !observed */
	bool observed;
};

struct nc_placement_state {
	const struct nc_spec *spec;
	const struct nc_cluster *c;
	struct nc_host_load *load;
	size_t n;
	struct placed *placed;
	size_t nplaced, aplaced;
	ssize_t *vm_slot;              /* spec VM index -> placed index, or -1 */
	bool capacity_only;            /* skip affinity rules (N+1, fit counts) */
	bool has_load;                 /* nc_placement_use_load got history */
	unsigned window;
	/* the last nc_placement_vm_index lookup: filters ask for the same VM host after host */
	const struct nc_vm *memo_vm;
	ssize_t memo_idx;
	struct host_list {             /* placed entries per host, for affinity */
		size_t *v;
		size_t n, alloc;
	} *on;
	struct trial *trial;           /* the undo log of nc_placement_trial_begin, or NULL */
};

/* what a trial changed, to undo it (nc_placement_trial_end) */
struct trial {
	bool active, capacity_only;
	size_t nplaced;                /* entries beyond this were added by the trial */
	unsigned *mark;                /* host -> epoch it was saved in */
	unsigned epoch;
	size_t *hosts, nhosts;         /* hosts saved this trial, with their figures and lists */
	struct nc_host_load *load;
	struct host_list *lists;       /* copies (v reused from trial to trial) */
	size_t ahosts;
	struct trial_move { size_t slot, host; } *moves;   /* entry slot was on host */
	size_t nmoves, amoves;
};

/* save host h's figures and list the first time a trial touches it */
static void trial_save(struct nc_placement_state *ps, size_t h)
{
	struct trial *t = ps->trial;
	struct host_list *l;

	if (!t || !t->active || t->mark[h] == t->epoch)
		return;
	t->mark[h] = t->epoch;
	if (t->nhosts == t->ahosts) {
		size_t old = t->ahosts;

		t->ahosts = t->ahosts ? t->ahosts * 2 : 16;
		t->hosts = nc_xreallocarray(t->hosts, t->ahosts, sizeof(*t->hosts));
		t->load = nc_xreallocarray(t->load, t->ahosts, sizeof(*t->load));
		t->lists = nc_xreallocarray(t->lists, t->ahosts, sizeof(*t->lists));
		memset(&t->lists[old], 0, (t->ahosts - old) * sizeof(*t->lists));
	}
	t->hosts[t->nhosts] = h;
	t->load[t->nhosts] = ps->load[h];
	l = &t->lists[t->nhosts];
	if (l->alloc < ps->on[h].n) {
		l->alloc = ps->on[h].n;
		l->v = nc_xreallocarray(l->v, l->alloc, sizeof(*l->v));
	}
	l->n = ps->on[h].n;
	if (l->n)
		memcpy(l->v, ps->on[h].v, l->n * sizeof(*l->v));
	t->nhosts++;
}

static void trial_moved(struct nc_placement_state *ps, size_t slot, size_t host)
{
	struct trial *t = ps->trial;

	if (!t || !t->active)
		return;
	if (t->nmoves == t->amoves) {
		t->amoves = t->amoves ? t->amoves * 2 : 16;
		t->moves = nc_xreallocarray(t->moves, t->amoves, sizeof(*t->moves));
	}
	t->moves[t->nmoves].slot = slot;
	t->moves[t->nmoves].host = host;
	t->nmoves++;
}

static void trial_free(struct trial *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ahosts; i++)
		free(t->lists[i].v);
	free(t->lists);
	free(t->load);
	free(t->hosts);
	free(t->moves);
	free(t->mark);
	free(t);
}

static void list_add(struct host_list *l, size_t k)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 16;
		l->v = nc_xreallocarray(l->v, l->alloc, sizeof(*l->v));
	}
	l->v[l->n++] = k;
}

static void list_del(struct host_list *l, size_t k)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->v[i] == k) {
			memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
			l->n--;
			return;
		}
	}
}

static const struct nc_map no_labels;

static ssize_t vm_index(const struct nc_placement_state *ps, const struct nc_vm *vm);

static double vm_disk(const struct nc_spec *spec, const struct nc_vm *vm)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < vm->eff.disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + i;
		const struct nc_pool *p = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL,
									       d->pool.v);

		if (!nc_pool_is_shared(p))   /* rbd and netfs take no room on the host */
			sum += (double)d->size.v;
	}
	return sum;
}

ssize_t nc_placement_vm_index(const struct nc_placement_state *cps, const struct nc_vm *vm)
{
	struct nc_placement_state *ps = (struct nc_placement_state *)cps;   /* the memo only */
	ssize_t k = vm == ps->memo_vm ? ps->memo_idx : vm_index(ps, vm);

	ps->memo_vm = vm;
	ps->memo_idx = k;
	return k;
}

static ssize_t vm_index(const struct nc_placement_state *ps, const struct nc_vm *vm)
{
	size_t lo = 0, hi = ps->spec->nobjs[NC_KIND_VM];
	const char *name = vm->obj.meta.name.v;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(ps->spec->objs[NC_KIND_VM][mid]->meta.name.v, name);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void static_figures(double vcpus, double memory, struct nc_load_figures *out)
{
	out->cpu = vcpus;
	out->memory = memory;
	out->disk = 0;
	out->net = 0;
}

static double max2(double a, double b)
{
	return a > b ? a : b;
}

/* what an entry adds to its host's load, and to mode both's capacity sums */
static void host_add_load(struct nc_host_load *l, const struct placed *p, double sign)
{
	l->load.cpu += sign * p->obs.cpu;
	l->load.memory += sign * p->obs.memory;
	l->load.disk += sign * p->obs.disk;
	l->load.net += sign * p->obs.net;
	l->both_vcpus += sign * max2(p->vcpus, p->obs.cpu);
	l->both_memory += sign * max2(p->memory, p->obs.memory);
}

static void host_add(struct nc_host_load *l, const struct placed *p, double sign)
{
	l->used_vcpus += sign * p->vcpus;
	l->used_memory += sign * p->memory;
	l->used_disk += sign * p->disk;
	host_add_load(l, p, sign);
}

static void add_placed(struct nc_placement_state *ps, const struct nc_vm *vm, const char *name,
		       size_t host, double vcpus, double memory, double disk)
{
	struct placed *p;

	if (ps->nplaced == ps->aplaced) {
		ps->aplaced = ps->aplaced ? ps->aplaced * 2 : 64;
		ps->placed = nc_xreallocarray(ps->placed, ps->aplaced, sizeof(*ps->placed));
	}
	trial_save(ps, host);
	p = &ps->placed[ps->nplaced];
	p->vm = vm;
	p->labels = vm ? &vm->labels : &no_labels;
	p->name = name;
	p->host = host;
	p->vcpus = vcpus;
	p->memory = memory;
	p->disk = disk;
	static_figures(vcpus, memory, &p->obs);
	p->observed = false;
	if (vm) {
		ssize_t k = nc_placement_vm_index(ps, vm);

		if (k >= 0 && ps->vm_slot[k] < 0)
			ps->vm_slot[k] = (ssize_t)ps->nplaced;
	}
	list_add(&ps->on[host], ps->nplaced);
	ps->nplaced++;
	host_add(&ps->load[host], p, 1);
	ps->load[host].vms++;
}

struct nc_placement_state *nc_placement_new(const struct nc_spec *spec, const struct nc_cluster *c)
{
	struct nc_placement_state *ps = nc_xcalloc(1, sizeof(*ps));
	size_t i, j, nvm = spec->nobjs[NC_KIND_VM];

	ps->spec = spec;
	ps->c = c;
	ps->n = c->nhosts;
	ps->load = nc_xcalloc(ps->n ? ps->n : 1, sizeof(*ps->load));
	ps->on = nc_xcalloc(ps->n ? ps->n : 1, sizeof(*ps->on));
	ps->vm_slot = nc_xcalloc(nvm ? nvm : 1, sizeof(*ps->vm_slot));
	for (i = 0; i < nvm; i++)
		ps->vm_slot[i] = -1;
	for (i = 0; i < ps->n; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		const struct nc_host_spec *hs = &v->spec->spec;
		struct nc_host_load *l = &ps->load[i];
		double oc_cpu = NC_IS_SET(hs->overcommit.cpu) ? hs->overcommit.cpu.v : 4.0;
		double oc_mem = NC_IS_SET(hs->overcommit.memory) ? hs->overcommit.memory.v : 1.0;
		double oc_disk = NC_IS_SET(hs->overcommit.disk) ? hs->overcommit.disk.v : 1.0;

		if (v->status != NC_HOST_OK) {
			l->unusable = "unreachable";
			continue;
		}
		l->cap_vcpus = (NC_IS_SET(hs->capacity.vcpus) ? (double)hs->capacity.vcpus.v
							       : (double)v->obs.node.cpus) * oc_cpu;
		l->cap_memory = (NC_IS_SET(hs->capacity.memory) ? (double)hs->capacity.memory.v
								 : (double)v->obs.node.memory) * oc_mem;
		l->cap_disk = NC_IS_SET(hs->capacity.disk) ? (double)hs->capacity.disk.v * oc_disk : INFINITY;
		l->phys_cpus = l->cap_vcpus / oc_cpu;
		l->phys_memory = l->cap_memory / oc_mem;
		if (hs->maintenance.v) {
			l->unusable = "in maintenance";
			continue;
		}
		if (v->moved_from) {
			/* what is placed here would be recorded nowhere (reconciler/hostrec.h) */
			l->unusable = "its old address may still hold its VMs";
			continue;
		}
		l->usable = true;
	}
	/* every observed domain counts where it is; spec VMs by their spec */
	for (i = 0; i < ps->n; i++) {
		const struct nc_host_view *v = &c->hosts[i];

		for (j = 0; j < v->obs.ndoms; j++) {
			const struct nc_domain *d = &v->obs.doms[j];
			const struct nc_vm *vm = d->managed ? (const struct nc_vm *)
				nc_spec_find(spec, NC_KIND_VM, d->meta_vm) : NULL;

			if (vm && NC_IS_SET(vm->eff.vcpus) && NC_IS_SET(vm->eff.memory))
				add_placed(ps, vm, d->name, i, (double)vm->eff.vcpus.v,
					   (double)vm->eff.memory.v, vm_disk(spec, vm));
			else
				add_placed(ps, NULL, d->name, i, d->vcpus, (double)d->memory, 0);
		}
	}
	return ps;
}

void nc_placement_exclude(struct nc_placement_state *ps, size_t host, const char *why)
{
	if (host >= ps->n || !ps->load[host].usable)
		return;
	trial_save(ps, host);
	ps->load[host].usable = false;
	ps->load[host].unusable = why;
}

void nc_placement_capacity_only(struct nc_placement_state *ps)
{
	/* a trial restores the flag itself (nc_placement_trial_end) */
	ps->capacity_only = true;
}

void nc_placement_free(struct nc_placement_state *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->n; i++)
		free(ps->on[i].v);
	free(ps->on);
	free(ps->placed);
	free(ps->load);
	free(ps->vm_slot);
	trial_free(ps->trial);
	free(ps);
}

void nc_placement_trial_begin(struct nc_placement_state *ps)
{
	struct trial *t = ps->trial;

	if (!t) {
		t = ps->trial = nc_xcalloc(1, sizeof(*t));
		t->mark = nc_xcalloc(ps->n ? ps->n : 1, sizeof(*t->mark));
	}
	if (++t->epoch == 0) {   /* wrapped: no host may look saved */
		memset(t->mark, 0, (ps->n ? ps->n : 1) * sizeof(*t->mark));
		t->epoch = 1;
	}
	t->active = true;
	t->capacity_only = ps->capacity_only;
	t->nplaced = ps->nplaced;
	t->nhosts = 0;
	t->nmoves = 0;
}

void nc_placement_trial_end(struct nc_placement_state *ps)
{
	struct trial *t = ps->trial;
	size_t i, nvm = ps->spec->nobjs[NC_KIND_VM];

	if (!t || !t->active)
		return;
	for (i = t->nmoves; i-- > 0;)
		ps->placed[t->moves[i].slot].host = t->moves[i].host;
	for (i = 0; i < t->nhosts; i++) {
		size_t h = t->hosts[i];

		ps->load[h] = t->load[i];
		/* the list only grew or shrank in place: its room holds the saved entries */
		if (ps->on[h].alloc < t->lists[i].n) {
			ps->on[h].alloc = t->lists[i].n;
			ps->on[h].v = nc_xreallocarray(ps->on[h].v, ps->on[h].alloc, sizeof(*ps->on[h].v));
		}
		ps->on[h].n = t->lists[i].n;
		if (t->lists[i].n)
			memcpy(ps->on[h].v, t->lists[i].v, t->lists[i].n * sizeof(*ps->on[h].v));
	}
	if (ps->nplaced > t->nplaced) {
		for (i = 0; i < nvm; i++)
			if (ps->vm_slot[i] >= (ssize_t)t->nplaced)
				ps->vm_slot[i] = -1;
		ps->nplaced = t->nplaced;
	}
	ps->capacity_only = t->capacity_only;
	t->active = false;
}

struct nc_placement_state *nc_placement_clone(const struct nc_placement_state *ps)
{
	struct nc_placement_state *c = nc_xcalloc(1, sizeof(*c));
	size_t nvm = ps->spec->nobjs[NC_KIND_VM];

	*c = *ps;
	c->trial = NULL;
	c->load = nc_xcalloc(ps->n ? ps->n : 1, sizeof(*c->load));
	memcpy(c->load, ps->load, ps->n * sizeof(*c->load));
	c->aplaced = ps->nplaced ? ps->nplaced : 1;
	c->placed = nc_xcalloc(c->aplaced, sizeof(*c->placed));
	if (ps->nplaced)
		memcpy(c->placed, ps->placed, ps->nplaced * sizeof(*c->placed));
	c->vm_slot = nc_xcalloc(nvm ? nvm : 1, sizeof(*c->vm_slot));
	memcpy(c->vm_slot, ps->vm_slot, nvm * sizeof(*c->vm_slot));
	c->on = nc_xcalloc(ps->n ? ps->n : 1, sizeof(*c->on));
	for (size_t i = 0; i < ps->n; i++) {
		c->on[i].n = c->on[i].alloc = ps->on[i].n;
		c->on[i].v = nc_xcalloc(ps->on[i].n ? ps->on[i].n : 1, sizeof(*c->on[i].v));
		if (ps->on[i].n)
			memcpy(c->on[i].v, ps->on[i].v, ps->on[i].n * sizeof(*c->on[i].v));
	}
	return c;
}

size_t nc_placement_hosts(const struct nc_placement_state *ps)
{
	return ps->n;
}

const struct nc_host_load *nc_placement_load(const struct nc_placement_state *ps, size_t host)
{
	return &ps->load[host];
}

int nc_placement_host_of(const struct nc_placement_state *ps, const struct nc_vm *vm)
{
	ssize_t k = nc_placement_vm_index(ps, vm);

	return k >= 0 && ps->vm_slot[k] >= 0 ? (int)ps->placed[ps->vm_slot[k]].host : -1;
}

const struct nc_policy *nc_placement_policy(const struct nc_spec *spec, const struct nc_vm *vm)
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

/* The host's value for a topology key: its name for "host", else a label. */
static const char *topology(const struct nc_host *h, const struct nc_affinity *r)
{
	const char *key = NC_IS_SET(r->topology_key) ? r->topology_key.v : "host";

	if (strcmp(key, "host") == 0)
		return h->obj.meta.name.v;
	return nc_map_get(&h->obj.meta.labels, key);
}

/* VMs of the rule's group (other than vm) in host i's topology domain */
static size_t group_near(const struct nc_placement_state *ps, const struct nc_policy *pol,
			 const struct nc_affinity *r, const struct nc_vm *vm, size_t i)
{
	const struct nc_selector *sel = NC_IS_SET(r->selector) ? &r->selector : &pol->spec.vm_selector;
	const char *here = topology(ps->c->hosts[i].spec, r);
	bool by_host = !NC_IS_SET(r->topology_key) || strcmp(r->topology_key.v, "host") == 0;
	size_t h, k, n = 0;

	if (!here)
		return 0;
	for (h = by_host ? i : 0; h < ps->n; h++) {
		const char *there = by_host ? here : topology(ps->c->hosts[h].spec, r);

		if (!there || strcmp(here, there) != 0)
			continue;
		for (k = 0; k < ps->on[h].n; k++) {
			const struct placed *p = &ps->placed[ps->on[h].v[k]];

			if (p->vm && p->vm != vm && nc_selector_matches(sel, p->labels))
				n++;
		}
		if (by_host)
			break;
	}
	return n;
}

/* VMs of the rule's group (other than vm) anywhere */
static size_t group_any(const struct nc_placement_state *ps, const struct nc_policy *pol,
			const struct nc_affinity *r, const struct nc_vm *vm)
{
	const struct nc_selector *sel = NC_IS_SET(r->selector) ? &r->selector : &pol->spec.vm_selector;
	size_t k, n = 0;

	for (k = 0; k < ps->nplaced; k++) {
		const struct placed *p = &ps->placed[k];

		if (p->vm && p->vm != vm && nc_selector_matches(sel, p->labels))
			n++;
	}
	return n;
}

static void fmt_size(double bytes, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t i = 0;

	while (bytes >= 1024 && i + 1 < NC_ARRAY_SIZE(u)) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, "%.4g%s", bytes, u[i]);
}

/* usage of vm, not counting what it already uses on host (a move in place) */
static void need_on(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t host,
		    double *vcpus, double *mem, double *disk)
{
	int at = nc_placement_host_of(ps, vm);

	*vcpus = (double)vm->eff.vcpus.v;
	*mem = (double)vm->eff.memory.v;
	*disk = vm_disk(ps->spec, vm);
	if (at == (int)host) {
		*vcpus = 0;
		*mem = 0;
		*disk = 0;
	}
}

/* what vm asks of any host, looked up once per choice instead of once per host */
struct want {
	const struct nc_policy *pol;
	double vcpus, mem, disk;
	int at;                        /* where it is placed now, or -1 */
};

static void want_of(const struct nc_placement_state *ps, const struct nc_vm *vm, struct want *out)
{
	out->pol = nc_placement_policy(ps->spec, vm);
	out->vcpus = (double)vm->eff.vcpus.v;
	out->mem = (double)vm->eff.memory.v;
	out->disk = vm_disk(ps->spec, vm);
	out->at = nc_placement_host_of(ps, vm);
}

/* need_on from a want: a VM being moved never counts against itself */
static void want_on(const struct want *w, size_t host, double *vcpus, double *mem, double *disk)
{
	bool here = w->at == (int)host;

	*vcpus = here ? 0 : w->vcpus;
	*mem = here ? 0 : w->mem;
	*disk = here ? 0 : w->disk;
}

int nc_placement_mode(const struct nc_placement_state *ps, const struct nc_vm *vm)
{
	if (!ps->has_load)
		return NC_LOAD_STATIC;
	return nc_load_mode_of(nc_placement_policy(ps->spec, vm));
}

unsigned nc_placement_window(const struct nc_placement_state *ps)
{
	return ps->has_load ? ps->window : 0;
}

bool nc_placement_figures(const struct nc_placement_state *ps, const struct nc_vm *vm,
			  struct nc_load_figures *out)
{
	ssize_t k = nc_placement_vm_index(ps, vm);

	if (k >= 0 && ps->vm_slot[k] >= 0) {
		*out = ps->placed[ps->vm_slot[k]].obs;
		return ps->placed[ps->vm_slot[k]].observed;
	}
	static_figures((double)vm->eff.vcpus.v, (double)vm->eff.memory.v, out);
	return false;
}

/* vm's observed figures, not counting what it already adds on host */
static void load_need_on(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t host,
			 struct nc_load_figures *f)
{
	nc_placement_figures(ps, vm, f);
	if (nc_placement_host_of(ps, vm) == (int)host)
		memset(f, 0, sizeof(*f));
}

static double share(double used, double cap)
{
	return cap > 0 ? used / cap : 0;
}

void nc_placement_use_load(struct nc_placement_state *ps, const struct nc_load_data *d)
{
	size_t i, k;

	if (!d || (!d->nvms && !d->nhosts))
		return;
	ps->has_load = true;
	ps->window = d->window;
	for (i = 0; i < ps->n; i++) {
		struct nc_host_load *l = &ps->load[i];

		memset(&l->load, 0, sizeof(l->load));
		l->own_cpu = l->own_memory = l->both_vcpus = l->both_memory = 0;
	}
	for (k = 0; k < ps->nplaced; k++) {
		struct placed *p = &ps->placed[k];
		const struct nc_load_obs *o = nc_load_find(d->vms, d->nvms, p->name);

		p->observed = o != NULL;
		if (o) {
			p->obs = o->f;
			if (!o->has_io)
				p->obs.disk = p->obs.net = 0;
		}
		host_add_load(&ps->load[p->host], p, 1);
	}
	/* the host's own use: what its series show beyond its VMs' */
	for (i = 0; i < ps->n; i++) {
		struct nc_host_load *l = &ps->load[i];
		const struct nc_load_obs *o = nc_load_find(d->hosts, d->nhosts,
							   ps->c->hosts[i].spec->obj.meta.name.v);

		if (!o)
			continue;
		l->own_cpu = max2(0, o->f.cpu - l->load.cpu);
		l->own_memory = max2(0, o->f.memory - l->load.memory);
		l->load.cpu += l->own_cpu;
		l->load.memory += l->own_memory;
		l->both_vcpus += l->own_cpu;
		l->both_memory += l->own_memory;
	}
}

/* A pool exists only on the hosts its hostSelector matches. */
static bool has_pools(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t i,
		      struct nc_buf *why)
{
	const struct nc_host *h = ps->c->hosts[i].spec;
	size_t r;

	for (r = 0; r < vm->eff.disks.n; r++) {
		const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + r;
		const struct nc_pool *pool = (const struct nc_pool *)nc_spec_find(ps->spec, NC_KIND_STORAGE_POOL,
										   d->pool.v);

		if (pool && NC_IS_SET(pool->spec.host_selector) &&
		    !nc_selector_matches(&pool->spec.host_selector, &h->obj.meta.labels)) {
			if (why)
				nc_buf_addf(why, "; %s: does not have pool %s (disk '%s'; the pool's hostSelector "
					    "does not match)", h->obj.meta.name.v, pool->obj.meta.name.v, d->name.v);
			return false;
		}
	}
	return true;
}

/* mode both: reserved or observed, whichever is more, plus the host's own use, within
 * capacity x overcommit; observed and both: the policy's headroom of observed use */
static bool observed_fits(const struct nc_placement_state *ps, const struct nc_vm *vm,
			  const struct nc_policy *pol, size_t i, struct nc_buf *why)
{
	int mode = nc_placement_mode(ps, vm);
	const struct nc_host_load *u = &ps->load[i];
	const char *name = ps->c->hosts[i].spec->obj.meta.name.v;
	struct nc_load_figures f;
	double vcpus, mem, disk;
	char a[32], b[32];

	if (mode == NC_LOAD_STATIC)
		return true;
	load_need_on(ps, vm, i, &f);
	need_on(ps, vm, i, &vcpus, &mem, &disk);
	if (mode == NC_LOAD_BOTH) {
		double nv = max2(vcpus, f.cpu), nm = max2(mem, f.memory);

		if (u->both_vcpus + nv > u->cap_vcpus + 1e-9) {
			if (why)
				nc_buf_addf(why, "; %s: needs %.0f vCPUs, %.1f of %.0f free counting observed use",
					    name, nv, u->cap_vcpus - u->both_vcpus, u->cap_vcpus);
			return false;
		}
		if (u->both_memory + nm > u->cap_memory + 0.5) {
			if (why) {
				fmt_size(nm, a, sizeof(a));
				fmt_size(u->cap_memory - u->both_memory, b, sizeof(b));
				nc_buf_addf(why, "; %s: needs %s memory, %s free counting observed use", name, a, b);
			}
			return false;
		}
	}
	if (pol && NC_IS_SET(pol->spec.load.headroom)) {
		double keep = 1 - pol->spec.load.headroom.v;

		if (u->load.cpu + f.cpu > keep * u->phys_cpus + 1e-9) {
			if (why)
				nc_buf_addf(why, "; %s: observed CPU use would be %.1f of %.0f CPUs, over %.0f%% "
					    "(headroom of policy %s)", name, u->load.cpu + f.cpu, u->phys_cpus,
					    keep * 100, pol->obj.meta.name.v);
			return false;
		}
		if (u->load.memory + f.memory > keep * u->phys_memory + 0.5) {
			if (why) {
				fmt_size(u->load.memory + f.memory, a, sizeof(a));
				fmt_size(u->phys_memory, b, sizeof(b));
				nc_buf_addf(why, "; %s: observed memory use would be %s of %s, over %.0f%% "
					    "(headroom of policy %s)", name, a, b, keep * 100, pol->obj.meta.name.v);
			}
			return false;
		}
	}
	return true;
}

static bool fits_want(const struct nc_placement_state *ps, const struct nc_vm *vm, const struct want *w,
		      size_t i, struct nc_buf *why)
{
	const struct nc_policy *pol = w->pol;
	const struct nc_host *h = ps->c->hosts[i].spec;
	const struct nc_host_load *u = &ps->load[i];
	const char *name = h->obj.meta.name.v;
	double vcpus, mem, disk;
	char a[32], b[32];
	size_t r;

	if (NC_IS_SET(vm->spec.placement.host) && strcmp(vm->spec.placement.host.v, name) != 0) {
		if (why)
			nc_buf_addf(why, "; %s: the VM is pinned to %s", name, vm->spec.placement.host.v);
		return false;
	}
	if (!nc_spec_same_cluster(&vm->obj, &h->obj)) {   /* spec/cluster.h */
		if (why)
			nc_buf_addf(why, "; %s: in Cluster %s, not the VM's (%s)", name,
				    nc_spec_cluster_name(ps->spec, &h->obj), nc_spec_cluster_name(ps->spec, &vm->obj));
		return false;
	}
	if (!u->usable) {
		if (why)
			nc_buf_addf(why, "; %s: %s", name, u->unusable);
		return false;
	}
	if (NC_IS_SET(vm->spec.placement.host_selector) &&
	    !nc_selector_matches(&vm->spec.placement.host_selector, &h->obj.meta.labels)) {
		if (why)
			nc_buf_addf(why, "; %s: does not match the VM's hostSelector", name);
		return false;
	}
	if (pol && NC_IS_SET(pol->spec.host_selector) &&
	    !nc_selector_matches(&pol->spec.host_selector, &h->obj.meta.labels)) {
		if (why)
			nc_buf_addf(why, "; %s: does not match the hostSelector of policy %s", name,
				    pol->obj.meta.name.v);
		return false;
	}
	if (!has_pools(ps, vm, i, why))
		return false;
	want_on(w, i, &vcpus, &mem, &disk);
	if (u->used_vcpus + vcpus > u->cap_vcpus) {
		if (why)
			nc_buf_addf(why, "; %s: needs %.0f vCPUs, %.0f of %.0f free", name, vcpus,
				    u->cap_vcpus - u->used_vcpus, u->cap_vcpus);
		return false;
	}
	if (u->used_memory + mem > u->cap_memory) {
		if (why) {
			fmt_size(mem, a, sizeof(a));
			fmt_size(u->cap_memory - u->used_memory, b, sizeof(b));
			nc_buf_addf(why, "; %s: needs %s memory, %s free", name, a, b);
		}
		return false;
	}
	if (u->used_disk + disk > u->cap_disk) {
		if (why) {
			fmt_size(disk, a, sizeof(a));
			fmt_size(u->cap_disk - u->used_disk, b, sizeof(b));
			nc_buf_addf(why, "; %s: needs %s disk, %s free", name, a, b);
		}
		return false;
	}
	if (!observed_fits(ps, vm, pol, i, why))
		return false;
	for (r = 0; pol && !ps->capacity_only && r < pol->spec.affinity.n; r++) {
		const struct nc_affinity *rule = (const struct nc_affinity *)pol->spec.affinity.v + r;
		bool anti = rule->type.v == NC_ANTI_AFFINITY;
		size_t near;

		if (NC_IS_SET(rule->mode) && rule->mode.v == NC_PREFERRED)
			continue;
		near = group_near(ps, pol, rule, vm, i);
		if ((anti && near) || (!anti && !near && group_any(ps, pol, rule, vm))) {
			if (why)
				nc_buf_addf(why, "; %s: required %s over %s of policy %s", name,
					    anti ? "anti-affinity" : "affinity",
					    NC_IS_SET(rule->topology_key) ? rule->topology_key.v : "host",
					    pol->obj.meta.name.v);
			return false;
		}
	}
	return true;
}

bool nc_placement_fits(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t i,
		       struct nc_buf *why)
{
	struct want w;

	want_of(ps, vm, &w);
	return fits_want(ps, vm, &w, i, why);
}

static double score_want(const struct nc_placement_state *ps, const struct nc_vm *vm, const struct want *wt,
			 size_t i)
{
	const struct nc_policy *pol = wt->pol;
	int strategy = pol && NC_IS_SET(pol->spec.strategy) ? pol->spec.strategy.v : NC_STRATEGY_SPREAD;
	const struct nc_host_load *u = &ps->load[i];
	double vcpus, mem, disk, free_mem, cpu_share, mem_share, score, bonus = 0;
	size_t r;

	want_on(wt, i, &vcpus, &mem, &disk);
	free_mem = (u->cap_memory - u->used_memory - mem) / u->cap_memory;
	cpu_share = (u->used_vcpus + vcpus) / u->cap_vcpus;
	mem_share = (u->used_memory + mem) / u->cap_memory;
	for (r = 0; pol && !ps->capacity_only && r < pol->spec.affinity.n; r++) {
		const struct nc_affinity *rule = (const struct nc_affinity *)pol->spec.affinity.v + r;
		double w = (NC_IS_SET(rule->weight) ? (double)rule->weight.v : 50) / 100;

		if (!NC_IS_SET(rule->mode) || rule->mode.v != NC_PREFERRED)
			continue;
		if (group_near(ps, pol, rule, vm, i))
			bonus += rule->type.v == NC_ANTI_AFFINITY ? -w : w;
	}
	if (nc_placement_mode(ps, vm) != NC_LOAD_STATIC) {
		/* observed: the host's busiest share (CPU, memory, disk or network I/O) after placement */
		struct nc_load_figures f;
		double busiest;

		load_need_on(ps, vm, i, &f);
		cpu_share = share(u->load.cpu + f.cpu, u->phys_cpus);
		mem_share = share(u->load.memory + f.memory, u->phys_memory);
		busiest = max2(max2(cpu_share, mem_share),
			       max2((u->load.disk + f.disk) / NC_LOAD_IO_REF, (u->load.net + f.net) / NC_LOAD_IO_REF));
		free_mem = 1 - busiest;
	}
	if (strategy == NC_STRATEGY_PACK)
		score = -free_mem;
	else if (strategy == NC_STRATEGY_BALANCED)
		score = -fabs(cpu_share - mem_share);
	else
		score = free_mem;
	return score + bonus;
}

double nc_placement_score(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t i)
{
	struct want w;

	want_of(ps, vm, &w);
	return score_want(ps, vm, &w, i);
}

int nc_placement_choose(struct nc_placement_state *ps, const struct nc_vm *vm, int exclude,
			char **why)
{
	const struct nc_policy *pol = nc_placement_policy(ps->spec, vm);
	int strategy = pol && NC_IS_SET(pol->spec.strategy) ? pol->spec.strategy.v : NC_STRATEGY_SPREAD;
	struct nc_buf rej = NC_BUF_INIT;
	struct want w;
	double best_score = -INFINITY;
	int best = -1;
	size_t i;

	want_of(ps, vm, &w);
	for (i = 0; i < ps->n; i++) {
		double score;

		if ((int)i == exclude)
			continue;
		if (!fits_want(ps, vm, &w, i, why ? &rej : NULL))
			continue;
		score = score_want(ps, vm, &w, i);
		if (score > best_score + 1e-12) {
			best_score = score;
			best = (int)i;
		}
	}
	if (!why)
		return best;
	if (best < 0) {
		*why = nc_xasprintf("no host fits%s%s", rej.len ? ": " : "", rej.len ? rej.buf + 2 : "");
		nc_buf_release(&rej);
		return -1;
	}
	{
		static const char *const names[] = { "spread", "pack", "balanced" };
		const struct nc_host_load *u = &ps->load[best];
		double left = (u->cap_memory - u->used_memory - (double)vm->eff.memory.v) / u->cap_memory * 100;

		struct nc_buf nopool = NC_BUF_INIT;

		/* hosts left out because a pool is not there: said even when another host fits */
		for (i = 0; i < ps->n && !NC_IS_SET(vm->spec.placement.host); i++)
			if ((int)i != exclude && ps->load[i].usable)
				has_pools(ps, vm, i, &nopool);
		if (NC_IS_SET(vm->spec.placement.host)) {
			*why = nc_xasprintf("pinned to %s", ps->c->hosts[best].spec->obj.meta.name.v);
		} else if (nc_placement_mode(ps, vm) != NC_LOAD_STATIC) {
			struct nc_load_figures f;
			char win[16], a[32], b[32];

			load_need_on(ps, vm, (size_t)best, &f);
			nc_load_fmt_window(ps->window, win, sizeof(win));
			fmt_size(u->load.memory + f.memory, a, sizeof(a));
			fmt_size(u->phys_memory, b, sizeof(b));
			*why = nc_xasprintf("%s%s%s, observed load over %s: CPU %.1f of %.0f, memory %s of %s "
					    "in use after placement%s", names[strategy], pol ? ", policy " : "",
					    pol ? pol->obj.meta.name.v : "", win, u->load.cpu + f.cpu, u->phys_cpus,
					    a, b, nopool.len ? nopool.buf : "");
		} else
			*why = nc_xasprintf("%s%s%s: %.0f%% of memory free after placement%s",
					    names[strategy], pol ? ", policy " : "",
					    pol ? pol->obj.meta.name.v : "", left, nopool.len ? nopool.buf : "");
		nc_buf_release(&nopool);
	}
	nc_buf_release(&rej);
	return best;
}

void nc_placement_put(struct nc_placement_state *ps, const struct nc_vm *vm, size_t to)
{
	ssize_t k = nc_placement_vm_index(ps, vm);
	struct placed *p;

	if (k < 0 || ps->vm_slot[k] < 0) {
		add_placed(ps, vm, vm->obj.meta.name.v, to, (double)vm->eff.vcpus.v,
			   (double)vm->eff.memory.v, vm_disk(ps->spec, vm));
		return;
	}
	p = &ps->placed[ps->vm_slot[k]];
	trial_save(ps, p->host);
	trial_save(ps, to);
	trial_moved(ps, (size_t)ps->vm_slot[k], p->host);
	host_add(&ps->load[p->host], p, -1);
	ps->load[p->host].vms--;
	list_del(&ps->on[p->host], (size_t)ps->vm_slot[k]);
	list_add(&ps->on[to], (size_t)ps->vm_slot[k]);
	p->host = to;
	host_add(&ps->load[to], p, 1);
	ps->load[to].vms++;
}

size_t nc_placement_count(const struct nc_placement_state *ps)
{
	return ps->nplaced;
}

void nc_placement_entry(const struct nc_placement_state *ps, size_t k, const struct nc_vm **vm,
			size_t *host, double *memory)
{
	*vm = ps->placed[k].vm;
	*host = ps->placed[k].host;
	*memory = ps->placed[k].memory;
}

void nc_placement_info(const struct nc_placement_state *ps, size_t k, struct nc_placement_info *out)
{
	const struct placed *p = &ps->placed[k];

	out->vm = p->vm;
	out->labels = p->labels ? p->labels : &no_labels;
	out->host = p->host;
	out->vcpus = p->vcpus;
	out->memory = p->memory;
	out->disk = p->disk;
	out->obs = p->obs;
}

const size_t *nc_placement_on(const struct nc_placement_state *ps, size_t host, size_t *n)
{
	*n = ps->on[host].n;
	return ps->on[host].v;
}

ssize_t nc_placement_slot(const struct nc_placement_state *ps, const struct nc_vm *vm)
{
	ssize_t k = nc_placement_vm_index(ps, vm);

	return k >= 0 ? ps->vm_slot[k] : -1;
}

const struct nc_host *nc_placement_host_spec(const struct nc_placement_state *ps, size_t i)
{
	return ps->c->hosts[i].spec;
}

const struct nc_spec *nc_placement_spec(const struct nc_placement_state *ps)
{
	return ps->spec;
}
