/*
 * tiering.h - StorageTierPolicy in a pass (docs/storage.md "Storage tiers").
 *
 * A VM disk's `pool:` is its home.  A tier policy that selects the VM may
 * choose another pool for it: the first of its rules that matches (by the
 * VM's effective labels, by idle time from the telemetry history, or both)
 * names a tier, and the disk goes to a dir pool of that tier the VM's host
 * has (the first by name).  No rule matches: the disk goes home.
 *
 * nc_tier_prepare() decides every move of the pass before VMs are diffed:
 * candidates are sorted largest first (then VM, disk), each policy's budget
 * admits moves while its bytes last, the rest is postponed with a note.  A
 * disk that would move back home from the tier of an idleFor rule waits
 * until the VM has been active for the policy's hysteresis (a note says so).
 *
 * nc_tier_vm() then rewrites the desired sources of a VM's disks to where
 * they are after this pass (moved, held, or postponed: never "drift") and
 * adds one move-volume action per VM with a change per disk; nc_tier_filter()
 * takes the source changes such a move covers out of the VM's update.  The
 * desired hash stays the spec's (home pools), so a moved disk is no drift.
 *
 * nc_tier_run() executes a move-volume action (tiering-apply.c): per disk,
 * live with blockcopy + pivot on a running guest, else an offline copy
 * (drivers/storage/storage.h nc_vol_move); then the persistent definition
 * with the disks where they now are; the old volumes are deleted last.
 *
 * Activity: per VM, read from the telemetry history (disk_read_bps +
 * disk_write_bps of the VM, over twice the longest idleFor or hysteresis of
 * the policies, at least 1h) or given directly.  A VM's
 * disks share its figure (telemetry records block I/O per VM, not per disk).
 */
#ifndef NC_TIERING_H
#define NC_TIERING_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "pass.h"

/* the block I/O history of one VM */
struct nc_tier_io {
	char *vm;
	time_t first;             /* oldest known point */
	time_t end;               /* newest known point */
	time_t last_active;       /* newest point with I/O (0: none in the history) */
	time_t active_since;      /* start of the run of active points ending at last_active */
};
struct nc_tier_io_data {
	struct nc_tier_io *v;     /* sorted by vm */
	size_t n;
};
/* reads dir (telemetry/store.h) over the lookback seconds before its newest point, at
 * the finest resolution the store keeps for that span: 1 filled, 0 no history, -1 error */
int nc_tier_io_read(struct nc_tier_io_data *out, const char *dir, unsigned long lookback, struct nc_err *err);
void nc_tier_io_release(struct nc_tier_io_data *d);

struct nc_tier_state;
struct nc_tier_state *nc_tier_prepare(struct nc_plan *p, size_t *alloc_n, const struct nc_spec *spec,
				      const struct nc_cluster *c, const struct nc_plan_opts *opts);
void nc_tier_vm(struct nc_tier_state *ts, struct nc_plan *p, size_t *alloc_a, const struct nc_vm *vm,
		struct nc_desired *des, size_t host, bool live);
void nc_tier_filter(const struct nc_tier_state *ts, const struct nc_vm *vm, struct nc_action *tmp);
void nc_tier_free(struct nc_tier_state *ts);

/* the pool a desired disk is in: the dir pool whose volume def's source of disk is
 * (a disk tiering moved or keeps elsewhere), else home */
const struct nc_pool *nc_tier_disk_pool(const struct nc_spec *spec, const struct nc_pool *home,
					const struct nc_domain_def *def, const char *disk);

/* apply: one move-volume action on its host's connection; d the domain as re-checked */
int nc_tier_run(const struct nc_plan *p, const struct nc_action *a, struct nc_host_conn *conn,
		const struct nc_domain *d, const struct nc_domain_def *def, struct nc_err *err);

#endif
