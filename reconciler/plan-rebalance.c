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

static void note(struct nc_plan *p, size_t *alloc_n, const char *pn, size_t n, const struct nc_rebalance_opts *o,
		 const struct nc_rebalance_report *rep)
{
	if (rep->budget) {
		char mem[32];

		nc_load_fmt_bytes(o->max_memory, "", mem, sizeof(mem));
		nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, NULL,
				 "rebalance (policy %s): %zu moves, the budget of this pass (maxMovesPerPass %zu%s%s); "
				 "imbalance %.4f -> %.4f, later passes go on", pn, n, o->max_moves,
				 o->max_memory > 0 ? ", maxMemoryPerPass " : "", o->max_memory > 0 ? mem : "",
				 rep->before, rep->after);
		return;
	}
	if (n)
		return;
	if (!rep->movable && rep->pinned)
		nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, NULL,
				 "rebalance (policy %s): nothing can move: its %zu VMs are pinned (placement.host); "
				 "imbalance %.4f stays", pn, rep->pinned, rep->before);
	else if (rep->refused)
		nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, NULL,
				 "rebalance (policy %s): no move: every move that would gain is unsafe (%zu break a "
				 "filter, %zu N+1), the best: %s; imbalance %.4f stays", pn, rep->refused_filter,
				 rep->refused_n1, rep->refused, rep->before);
}

/* Moves that even out the cluster, for VMs whose policy asks for them (policies/search.c). */
void nc_plan_rebalance(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
			   const struct nc_cluster *c, struct nc_placement_state *ps, const bool *busy)
{
	const struct nc_policy *pol;
	size_t i, k, nvm = spec->nobjs[NC_KIND_VM];
	bool *skip = nc_xcalloc(nvm + 1, sizeof(*skip));

	NC_SPEC_EACH(spec, NC_KIND_PLACEMENT_POLICY, const struct nc_policy, pol, i) {
		const struct nc_rebalance *rb = &pol->spec.rebalance;
		const char *pn = pol->obj.meta.name.v;
		struct nc_move *moves = NULL;
		struct nc_rebalance_opts o = { 0 };
		struct nc_rebalance_report rep;
		size_t n;

		o.max_moves = NC_IS_SET(rb->max_moves) ? (size_t)rb->max_moves.v : 5;
		o.max_memory = NC_IS_SET(rb->max_memory) ? (double)rb->max_memory.v : 0;
		o.threshold = NC_IS_SET(rb->threshold) ? rb->threshold.v : 0;
		if (!rb->enabled.v || !o.max_moves)
			continue;
		/* this policy's VMs only, and none that already move or are new */
		for (k = 0; k < nvm; k++) {
			const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][k];

			skip[k] = busy[k] || nc_placement_policy(spec, vm) != pol;
		}
		o.mode = nc_placement_window(ps) ? nc_load_mode_of(pol) : NC_LOAD_STATIC;
		n = nc_rebalance_run(ps, spec, skip, &o, &moves, &rep);
		for (k = 0; k < n; k++) {
			struct nc_action *a = nc_plan_add_action(p, alloc_a, NC_ACT_MIGRATE, moves[k].vm->obj.meta.name.v,
							 moves[k].from);
			const struct nc_domain *d = NULL;
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
				char win[16], *why = nc_load_move_why(&moves[k],
								       c->hosts[moves[k].from].spec->obj.meta.name.v);

				nc_load_fmt_window(nc_placement_window(ps), win, sizeof(win));
				a->reason = nc_xasprintf("rebalance (policy %s, observed load over %s%s): %s, "
							 "imbalance %.4f -> %.4f (gain %.4f)", pn, win, sw.buf, why,
							 moves[k].before, moves[k].after, moves[k].before - moves[k].after);
				free(why);
			}
			nc_buf_release(&sw);
			skip[nc_placement_vm_index(ps, moves[k].vm)] = true;
		}
		note(p, alloc_n, pn, n, &o, &rep);
		free(rep.refused);
		free(moves);
	}
	free(skip);
}
