/*
 * placement.h - where VMs may and should run (policies/placement.c), how to
 * even out a cluster (policies/rebalance.c) and whether it survives losing
 * a host (N+1, policies/rebalance.c).
 *
 * A struct nc_placement_state is built from the spec and an observed
 * cluster: it knows each host's capacity (times overcommit) and usage, and
 * where every VM is.  Choices and moves update it, so a pass's later
 * decisions see its earlier ones.
 */
#ifndef NC_PLACEMENT_H
#define NC_PLACEMENT_H

#include <stdbool.h>
#include <sys/types.h>

#include "../reconciler/pass.h"

struct nc_host_load {
	bool usable;                 /* reachable and not in maintenance */
	const char *unusable;        /* why not */
	double cap_vcpus, cap_memory, cap_disk;   /* capacity times overcommit */
	double used_vcpus, used_memory, used_disk;
	size_t vms;
};

struct nc_placement_state;
struct nc_placement_state *nc_placement_new(const struct nc_spec *spec, const struct nc_cluster *c);
struct nc_placement_state *nc_placement_clone(const struct nc_placement_state *ps);
void nc_placement_free(struct nc_placement_state *ps);
/* Nothing is placed on host from now on: it is unusable for `why` (a static string),
 * unless it is unusable already (the first reason stays). */
void nc_placement_exclude(struct nc_placement_state *ps, size_t host, const char *why);
/* From now on ignore affinity rules: capacity, pinning and selectors only. */
void nc_placement_capacity_only(struct nc_placement_state *ps);
/* Index of vm in the spec's (sorted) VM list, or -1. */
ssize_t nc_placement_vm_index(const struct nc_placement_state *ps, const struct nc_vm *vm);

const struct nc_policy *nc_placement_policy(const struct nc_spec *spec, const struct nc_vm *vm);
/* All filters for vm on host; appends "; host: reason" to why (may be NULL) when not. */
bool nc_placement_fits(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t host,
		       struct nc_buf *why);
double nc_placement_score(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t host);
/*
 * The best host for vm other than `exclude` (-1: none excluded), or -1 with
 * the reason each host was rejected.  *why (caller frees) explains the
 * choice.  Does not reserve: call nc_placement_put() for that.
 */
int nc_placement_choose(struct nc_placement_state *ps, const struct nc_vm *vm, int exclude, char **why);
/* Records vm on host `to` (placing it, or moving it from where it was). */
void nc_placement_put(struct nc_placement_state *ps, const struct nc_vm *vm, size_t to);
int nc_placement_host_of(const struct nc_placement_state *ps, const struct nc_vm *vm);

size_t nc_placement_hosts(const struct nc_placement_state *ps);
const struct nc_host_load *nc_placement_load(const struct nc_placement_state *ps, size_t host);
size_t nc_placement_count(const struct nc_placement_state *ps);
void nc_placement_entry(const struct nc_placement_state *ps, size_t k, const struct nc_vm **vm,
			size_t *host, double *memory);

/* ---- rebalance and N+1 (policies/rebalance.c) ---- */
struct nc_imbalance {
	double memory, vcpus, disk;  /* standard deviations of the used shares */
	size_t n1_failures;          /* hosts whose VMs could not all restart elsewhere */
	double score;                /* memory + vcpus + disk + n1_failures */
};
void nc_imbalance(const struct nc_placement_state *ps, bool with_n1, struct nc_imbalance *out);

struct nc_move {
	const struct nc_vm *vm;
	size_t from, to;
	double before, after;        /* imbalance score around this move */
};
/*
 * Greedy rebalance: up to `budget` moves of VMs whose policy enables
 * rebalancing, each the one that lowers the imbalance score most, never
 * breaking a filter, and only when it gains at least `threshold`.  Applies
 * the moves to ps.  Returns the number of moves in *out (caller frees).
 */
size_t nc_rebalance(struct nc_placement_state *ps, const struct nc_spec *spec,
		    const bool *movable, size_t budget, double threshold, struct nc_move **out);

/*
 * N+1 for one host: can every VM on it restart on the others (capacity,
 * pinning and selectors; affinity rules are not re-checked under failure,
 * as in Ganeti)?  Lists those that cannot.
 */
bool nc_n1_host(const struct nc_placement_state *ps, size_t host, struct nc_buf *stranded);
/* How many more VMs shaped like `like` fit (placed one after another), up to limit. */
size_t nc_fit_count(const struct nc_placement_state *ps, const struct nc_vm *like, size_t limit);

#endif
