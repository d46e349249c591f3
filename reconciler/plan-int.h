/*
 * plan-int.h - shared by the files that build a plan (plan.c, networks.c, secrets.c);
 * not part of the reconciler's API.
 */
#ifndef NC_PLAN_INT_H
#define NC_PLAN_INT_H

#include "pass.h"

struct nc_action *nc_plan_add_action(struct nc_plan *p, size_t *alloc, enum nc_action_kind k,
				     const char *name, size_t host);
void nc_plan_add_change(struct nc_action *a, bool restart, const char *field, const char *from,
			const char *to);
void nc_plan_add_note(struct nc_plan *p, size_t *alloc, enum nc_note_kind k, const char *vm,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* frees what an action owns (a plan's action dropped from it: clusters.c) */
void nc_plan_action_free(struct nc_action *a);
/* the per-kind counts (ncreate, nupdate, ...): one more action of kind k; all of them again
 * from the actions */
void nc_plan_count(struct nc_plan *p, enum nc_action_kind k);
void nc_plan_recount(struct nc_plan *p);

/*
 * networks.c: the desired networks (p->nets), then the network actions of
 * every reachable host, from the VM actions already planned (where each VM
 * will be); nc_plan_network_deps() runs once actions have their ids: VM
 * actions wait for their networks, network deletes for the VMs leaving.
 */
void nc_plan_networks(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
		      const struct nc_cluster *c, const struct nc_plan_opts *opts);
void nc_plan_network_deps(struct nc_plan *p);
void nc_net_desired_release(struct nc_net_desired *d);
/* Canonical text of a definition (hashes, digests). */
void nc_net_canonical(const struct nc_net_def *d, struct nc_buf *b);

/*
 * secrets.c: the libvirt secrets of rbd pools with a keyFile on the hosts
 * their VMs are on or go to (the key file is read; an unreadable one is an
 * error note); nc_plan_secret_deps() runs once actions have their ids: a
 * host's VM actions wait for its secrets.
 */
void nc_plan_secrets(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
		     const struct nc_cluster *c);
void nc_plan_secret_deps(struct nc_plan *p);

/*
 * order.c: dependsOn and waves (docs/plan.md "Ordering and health gates").
 * nc_plan_order_prepare() runs before the actions are sorted: it marks the
 * VM actions of a spec that uses ordering with their rank and wave (plan.c's
 * sort puts bring-ups in rank order, stops and deletes in reverse);
 * nc_plan_order_deps() runs once actions have their ids: a bring-up waits
 * for the bring-ups of the VMs it depends on.
 */
void nc_plan_order_prepare(struct nc_plan *p, const struct nc_spec *spec);
void nc_plan_order_deps(struct nc_plan *p);
/* true for the VM actions that bring a VM up (create, start, update) in an ordered plan */
bool nc_plan_order_bringup(const struct nc_action *a);

/* plan-rebalance.c: the rebalancing moves of every policy that enables them
 * (busy: spec VM index -> already moving or new), applied to ps */
struct nc_placement_state;
void nc_plan_rebalance(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
		       const struct nc_cluster *c, struct nc_placement_state *ps, const bool *busy);

#endif
