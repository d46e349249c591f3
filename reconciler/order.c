/*
 * order.c - dependsOn and waves: the bring-up order of a plan's VM actions
 * and the health gate each VM passes before the VMs that wait for it go on
 * (docs/plan.md "Ordering and health gates"; plan-int.h, pass.h).
 *
 * The order is (wave, depth, name): depth is 0 for a VM that depends on no
 * VM of its own wave, else one more than the deepest of those it depends
 * on.  validate refuses cycles and a VM that depends on a later wave, so the
 * order is a topological one and deterministic.
 */
#include "plan-int.h"

#include <stdlib.h>
#include <string.h>

bool nc_order_used(const struct nc_spec *spec)
{
	const struct nc_vm *vm;
	size_t i;

	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i)
		if (vm->spec.depends_on.n || vm->spec.wave.v)
			return true;
	return false;
}

void nc_order_gate(const struct nc_spec *spec, const struct nc_vm *vm, enum nc_health_wait *wait,
		   uint64_t *timeout_ms)
{
	const struct nc_vm *o;
	size_t i, j;

	*timeout_ms = NC_IS_SET(vm->spec.health.timeout) ? vm->spec.health.timeout.ms : 300000;
	if (NC_IS_SET(vm->spec.health.wait)) {
		*wait = (enum nc_health_wait)vm->spec.health.wait.v;
		return;
	}
	*wait = NC_WAIT_NONE;
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, o, i) {
		if (o->spec.wave.v > vm->spec.wave.v)
			*wait = NC_WAIT_RUNNING;
		for (j = 0; j < o->spec.depends_on.n; j++)
			if (strcmp(o->spec.depends_on.v[j].v, vm->obj.meta.name.v) == 0)
				*wait = NC_WAIT_RUNNING;
	}
}

/*
 * depth[] -1 unknown, -2 in progress (a cycle validate reported: taken as
 * 0).  Iterative (stack[] the VMs in progress, next[] the dependsOn entry
 * each looks at next): a chain of thousands must not overflow the C stack.
 */
static int depth_of(const struct nc_spec *spec, size_t root, int *depth, size_t *stack, size_t *next)
{
	size_t top = 0;

	if (depth[root] >= 0)
		return depth[root];
	depth[root] = -2;
	stack[0] = root;
	next[0] = 0;
	for (;;) {
		size_t v = stack[top], w;
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][v], *dep;
		int d = 0;

		if (next[top] < vm->spec.depends_on.n) {
			w = nc_spec_pos(spec, NC_KIND_VM, vm->spec.depends_on.v[next[top]++].v);
			if (w == (size_t)-1 || depth[w] != -1)
				continue;
			dep = (const struct nc_vm *)spec->objs[NC_KIND_VM][w];
			if (dep->spec.wave.v != vm->spec.wave.v)
				continue;
			depth[w] = -2;
			stack[++top] = w;
			next[top] = 0;
			continue;
		}
		/* every dependency of v is known (or in progress: a cycle, 0) */
		for (next[top] = 0; next[top] < vm->spec.depends_on.n; next[top]++) {
			w = nc_spec_pos(spec, NC_KIND_VM, vm->spec.depends_on.v[next[top]].v);
			if (w == (size_t)-1)
				continue;
			dep = (const struct nc_vm *)spec->objs[NC_KIND_VM][w];
			if (dep->spec.wave.v == vm->spec.wave.v && (depth[w] < 0 ? 0 : depth[w]) + 1 > d)
				d = (depth[w] < 0 ? 0 : depth[w]) + 1;
		}
		depth[v] = d;
		if (!top)
			return d;
		top--;
	}
}

struct order_key {
	size_t v;
	int wave, depth;
	const char *name;
};

static int order_key_cmp(const void *pa, const void *pb)
{
	const struct order_key *a = pa, *b = pb;

	if (a->wave != b->wave)
		return a->wave < b->wave ? -1 : 1;
	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int str_cmp(const void *pa, const void *pb)
{
	return strcmp(*(char *const *)pa, *(char *const *)pb);
}

void nc_plan_order_prepare(struct nc_plan *p, const struct nc_spec *spec)
{
	size_t n = spec->nobjs[NC_KIND_VM], i, j;
	int *depth, *rank;
	size_t *stack, *next;
	struct order_key *keys;
	char **moving;           /* VMs the plan migrates, sorted */
	size_t nmoving = 0;

	if (!nc_order_used(spec))
		return;
	depth = nc_xcalloc(n + 1, sizeof(*depth));
	rank = nc_xcalloc(n + 1, sizeof(*rank));
	keys = nc_xcalloc(n + 1, sizeof(*keys));
	stack = nc_xcalloc(n + 1, sizeof(*stack));
	next = nc_xcalloc(n + 1, sizeof(*next));
	for (i = 0; i < n; i++)
		depth[i] = -1;
	for (i = 0; i < n; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][i];

		keys[i].v = i;
		keys[i].wave = (int)vm->spec.wave.v;
		keys[i].depth = depth_of(spec, i, depth, stack, next);
		keys[i].name = vm->obj.meta.name.v;
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), order_key_cmp);
	for (i = 0; i < n; i++)
		rank[keys[i].v] = (int)i;
	moving = nc_xcalloc(p->nactions + 1, sizeof(*moving));
	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].kind == NC_ACT_MIGRATE && p->actions[i].obj == NC_OBJ_VM)
			moving[nmoving++] = p->actions[i].vm;
	if (nmoving > 1)
		qsort(moving, nmoving, sizeof(*moving), str_cmp);
	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];
		const struct nc_vm *vm;
		size_t v;

		/* deletes of VMs whose state is absent carry no vmref */
		if (a->obj != NC_OBJ_VM || (v = nc_spec_pos(spec, NC_KIND_VM, a->vm)) == (size_t)-1)
			continue;
		vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][v];
		a->ordered = true;
		a->rank = rank[v];
		a->wave = (int)vm->spec.wave.v;
		/* an update tied to a move stays with it */
		if (a->kind == NC_ACT_UPDATE && nmoving &&
		    bsearch(&a->vm, moving, nmoving, sizeof(*moving), str_cmp))
			a->ordered = false;
		if (!a->ordered || !nc_plan_order_bringup(a))
			continue;
		a->ndeps = vm->spec.depends_on.n;
		a->deps = nc_xcalloc(a->ndeps + 1, sizeof(*a->deps));
		for (j = 0; j < a->ndeps; j++)
			a->deps[j] = nc_xstrdup(vm->spec.depends_on.v[j].v);
		if (a->ndeps > 1)
			qsort(a->deps, a->ndeps, sizeof(*a->deps), str_cmp);
	}
	free(moving);
	free(stack);
	free(next);
	free(depth);
	free(rank);
	free(keys);
}

bool nc_plan_order_bringup(const struct nc_action *a)
{
	return a->ordered && a->obj == NC_OBJ_VM &&
	       (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_START || a->kind == NC_ACT_UPDATE);
}

void nc_plan_order_deps(struct nc_plan *p)
{
	size_t i, j, k;

	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];

		if (!nc_plan_order_bringup(a) || !a->ndeps)
			continue;
		for (j = 0; j < i; j++) {
			const struct nc_action *u = &p->actions[j];
			bool dep = false, have = false;

			if (!nc_plan_order_bringup(u))
				continue;
			for (k = 0; k < a->ndeps && !dep; k++)
				dep = strcmp(a->deps[k], u->vm) == 0;
			for (k = 0; k < a->nafter && !have; k++)
				have = a->after[k] == u->id;
			if (dep && !have) {
				a->after = nc_xreallocarray(a->after, a->nafter + 1, sizeof(*a->after));
				a->after[a->nafter++] = u->id;
			}
		}
	}
}
