/*
 * tier.c - validation of StorageTierPolicy objects and pool tiers
 * (docs/storage.md "Storage tiers"); called by nc_spec_load (internal.h).
 *
 *   - a rule's tier must be the tier of some StoragePool;
 *   - only dir pools carry a tier (tiering copies qcow2 files between
 *     directories of one host; an rbd pool's tier would never act);
 *   - a VM is governed by at most one policy (two that select it: error
 *     at the second policy's vmSelector, naming the first).
 */
#include <string.h>

#include "internal.h"

static bool tier_exists(const struct nc_spec *spec, const char *tier)
{
	const struct nc_pool *pl;
	size_t i;

	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, pl, i)
		if (NC_IS_SET(pl->spec.tier) && pl->spec.tier.v && strcmp(pl->spec.tier.v, tier) == 0)
			return true;
	return false;
}

void nc_tier_validate(struct nc_spec *spec, struct nc_diags *diags)
{
	const struct nc_pool *pl;
	const struct nc_tier_policy *tp;
	const struct nc_vm *vm;
	size_t i, j;

	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, pl, i)
		if (NC_IS_SET(pl->spec.tier) && NC_IS_SET(pl->spec.type) && pl->spec.type.v != NC_POOL_DIR)
			nc_diag_error(diags, pl->spec.tier.pos,
				      "StoragePool '%s': only dir pools have a tier (tiering moves qcow2 files "
				      "between directories of a host)", pl->obj.meta.name.v);
	NC_SPEC_EACH(spec, NC_KIND_TIER_POLICY, const struct nc_tier_policy, tp, i) {
		for (j = 0; j < tp->spec.rules.n; j++) {
			const struct nc_tier_rule *r = (const struct nc_tier_rule *)tp->spec.rules.v + j;

			if (NC_IS_SET(r->tier) && r->tier.v && !tier_exists(spec, r->tier.v))
				nc_diag_error(diags, r->tier.pos,
					      "StorageTierPolicy '%s': no StoragePool has tier '%s' (set spec.tier "
					      "on the pools of that tier)", tp->obj.meta.name.v, r->tier.v);
		}
	}
	/* one policy per VM */
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		const struct nc_tier_policy *first = NULL;

		NC_SPEC_EACH(spec, NC_KIND_TIER_POLICY, const struct nc_tier_policy, tp, j) {
			if (!nc_selector_matches(&tp->spec.vm_selector, &vm->labels))
				continue;
			if (!first) {
				first = tp;
				continue;
			}
			nc_diag_error(diags, NC_IS_SET(tp->spec.vm_selector) ? tp->spec.vm_selector.pos : tp->spec.pos,
				      "StorageTierPolicy '%s' selects VM %s, which StorageTierPolicy '%s' already "
				      "selects: a VM's disks follow one tier policy", tp->obj.meta.name.v,
				      vm->obj.meta.name.v, first->obj.meta.name.v);
		}
	}
}
