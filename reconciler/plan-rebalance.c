/*
 * plan-rebalance.c - the plan's rebalancing moves (docs/placement.md
 * "Rebalance"): for each PlacementPolicy with rebalance enabled, the moves
 * of policies/search.c within the policy's budget (maxMovesPerPass,
 * maxMemoryPerPass), each with the score before and after it and its gain;
 * and a note when nothing moves though a move would gain (pinned VMs, a
 * filter, N+1) or when the budget stopped the search.
 */
#include "plan-int.h"
#include "../policies/placement.h"

#include <stdlib.h>
#include <string.h>

static void note(struct nc_plan *p, size_t *alloc_n, size_t n, const struct nc_rebalance_opts *all,
		 const struct nc_rebalance_report *rep)
{
	if (rep->budget) {
		const struct nc_rebalance_opts *o = all;
		char mem[32];
		size_t i;

		for (i = 0; i < all->npolicies; i++)
			if (all->policies[i] == rep->budget_policy)
				o = &all->policy_opts[i];
		nc_load_fmt_bytes(o->max_memory, "", mem, sizeof(mem));
		nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, NULL,
				 "rebalance: %zu moves; the budget of policy %s ends this pass (maxMovesPerPass %zu%s%s); "
				 "imbalance %.4f -> %.4f, later passes go on", n,
				 rep->budget_policy ? rep->budget_policy->obj.meta.name.v : "?", o->max_moves,
				 o->max_memory > 0 ? ", maxMemoryPerPass " : "", o->max_memory > 0 ? mem : "",
				 rep->before, rep->after);
		return;
	}
	if (n)
		return;
	if (!rep->movable && rep->pinned)
		nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, NULL,
				 "rebalance: nothing can move: the %zu VMs of rebalancing policies are pinned "
				 "(placement.host); imbalance %.4f stays", rep->pinned, rep->before);
	else if (rep->refused)
		nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, NULL,
				 "rebalance: no move: every move that would gain is unsafe (%zu break a filter, %zu "
				 "N+1), the best: %s; imbalance %.4f stays", rep->refused_filter, rep->refused_n1,
				 rep->refused, rep->before);
}

/* Moves that even out the cluster, for VMs whose policy asks for them (policies/search.c):
 * one search for all such policies, each with its own budget and threshold. */
void nc_plan_rebalance(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
		       const struct nc_cluster *c, struct nc_placement_state *ps, const bool *busy)
{
	const struct nc_policy *pol, **pols = nc_xcalloc(spec->nobjs[NC_KIND_PLACEMENT_POLICY] + 1, sizeof(*pols));
	struct nc_rebalance_opts *po = nc_xcalloc(spec->nobjs[NC_KIND_PLACEMENT_POLICY] + 1, sizeof(*po));
	struct nc_rebalance_opts all = { 0 };
	struct nc_rebalance_report rep;
	struct nc_move *moves = NULL;
	size_t i, k, n, np = 0;

	all.mode = NC_LOAD_STATIC;
	NC_SPEC_EACH(spec, NC_KIND_PLACEMENT_POLICY, const struct nc_policy, pol, i) {
		const struct nc_rebalance *rb = &pol->spec.rebalance;
		struct nc_rebalance_opts *o = &po[np];

		o->max_moves = NC_IS_SET(rb->max_moves) ? (size_t)rb->max_moves.v : 5;
		o->max_memory = NC_IS_SET(rb->max_memory) ? (double)rb->max_memory.v : 0;
		o->threshold = NC_IS_SET(rb->threshold) ? rb->threshold.v : 0;
		if (!rb->enabled.v || !o->max_moves)
			continue;
		/* the load terms weigh observed figures when a rebalancing policy asks for them */
		if (nc_placement_window(ps) && nc_load_mode_of(pol) != NC_LOAD_STATIC)
			all.mode = nc_load_mode_of(pol);
		pols[np++] = pol;
	}
	if (!np)
		goto out;
	all.policies = pols;
	all.policy_opts = po;
	all.npolicies = np;
	n = nc_rebalance_run(ps, spec, busy, &all, &moves, &rep);
	for (k = 0; k < n; k++) {
		struct nc_action *a = nc_plan_add_action(p, alloc_a, NC_ACT_MIGRATE, moves[k].vm->obj.meta.name.v,
							 moves[k].from);
		const struct nc_domain *d = NULL;
		const char *pn = nc_placement_policy(spec, moves[k].vm)->obj.meta.name.v;
		struct nc_buf sw = NC_BUF_INIT;
		size_t j;

		for (j = 0; j < c->hosts[moves[k].from].obs.ndoms; j++)
			if (c->hosts[moves[k].from].obs.doms[j].meta_vm &&
			    strcmp(c->hosts[moves[k].from].obs.doms[j].meta_vm, a->vm) == 0)
				d = &c->hosts[moves[k].from].obs.doms[j];
		a->target = moves[k].to;
		a->vmref = moves[k].vm;
		a->live = d && d->state == NC_DOM_RUNNING;
		a->rebalance = true;
		a->score_before = moves[k].before;
		a->score_after = moves[k].after;
		if (moves[k].swap)
			nc_buf_addf(&sw, ", swapped with %s", moves[k].swap->obj.meta.name.v);
		if (moves[k].dim < 0) {
			a->reason = nc_xasprintf("rebalance (policy %s%s): imbalance %.4f -> %.4f (gain %.4f)", pn,
						 sw.buf, moves[k].before, moves[k].after,
						 moves[k].before - moves[k].after);
		} else {
			char win[16], *why = nc_load_move_why(&moves[k], c->hosts[moves[k].from].spec->obj.meta.name.v);

			nc_load_fmt_window(nc_placement_window(ps), win, sizeof(win));
			a->reason = nc_xasprintf("rebalance (policy %s, observed load over %s%s): %s, "
						 "imbalance %.4f -> %.4f (gain %.4f)", pn, win, sw.buf, why,
						 moves[k].before, moves[k].after, moves[k].before - moves[k].after);
			free(why);
		}
		nc_buf_release(&sw);
	}
	note(p, alloc_n, n, &all, &rep);
	free(rep.refused);
	free(moves);
out:
	free(pols);
	free(po);
}
