/*
 * xmigrate.h - moving a VM between clusters (docs/migration.md "Between
 * clusters", docs/federation.md "Moving a VM between clusters").
 *
 * A VM whose cluster (spec.cluster, or the Cluster whose paths hold its
 * file: spec/cluster.h) is not the cluster of the host its domain runs on
 * moves there: a migrate action with a struct nc_xmove attached
 * (action->xmove), to a host placement chooses among the destination
 * cluster's hosts.  Two methods:
 *
 *   live    the VM runs, wants to run, both hosts are read in this pass and
 *           the destination Cluster allows live moves (transfer.live, default
 *           true): a live migration with storage copy, incremental
 *           (VIR_MIGRATE_NON_SHARED_INC: only each disk's overlay crosses)
 *           when every disk made from an Image has that Image in the
 *           destination pool (already, or uploaded there by this plan, from
 *           the Image's own source), full otherwise.  Bytes expected: the
 *           memory plus the allocation of what is copied (an estimate: pages
 *           the guest dirties meanwhile are sent again).
 *   backup  otherwise: (stop the VM,) back it up into the source's
 *           repository (its BackupSchedule; incremental when it can be),
 *           copy that backup into the destination Cluster's repository
 *           (transfer.backupSchedule) sending only the chunks it lacks
 *           (nc_backup_copy_snapshot), restore it into the destination
 *           pool, define it there (start it when its state is running),
 *           then undefine it at the source; source disks are deleted only
 *           with deletionPolicy: delete (invariant 3).  Bytes expected: the
 *           chunks the destination repository lacks of the source's newest
 *           backup of the VM, found by comparing chunk ids (dry run); an
 *           estimate, since the backup the move takes is newer; without a
 *           backup to compare, the disks' allocation (an upper bound).
 *
 * Time expected: bytes / bandwidth, the slower of the two clusters'
 * transfer.bandwidth (NC_XMOVE_DEFAULT_BANDWIDTH when neither sets one).
 *
 * Refusals (an error note, no action, nothing done): the destination
 * cluster admits none of the VM's pools or networks (named), no host of it
 * fits, or the backup method without a BackupSchedule on either side.
 */
#ifndef NC_XMIGRATE_H
#define NC_XMIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pass.h"

struct nc_placement_state;

/* 1 Gbit/s in bytes per second: the bandwidth assumed when no Cluster sets transfer.bandwidth */
#define NC_XMOVE_DEFAULT_BANDWIDTH 125000000ull

enum nc_xmove_method { NC_XMOVE_LIVE, NC_XMOVE_BACKUP };
const char *nc_xmove_method_name(enum nc_xmove_method m);

struct nc_xmove {
	char *from_cluster, *to_cluster;
	enum nc_xmove_method method;
	char *why;                   /* why this method, one line */
	bool incremental;            /* live: overlays only; backup: the source backup is an increment */
	uint64_t bytes;              /* expected over the link */
	bool estimate;               /* bytes is not exact (basis says why) */
	bool unknown;                /* not even an estimate: no allocation observed, no backup to compare */
	char *basis;                 /* how bytes was found, one line */
	uint64_t bandwidth;          /* bytes/s assumed */
	bool default_bandwidth;      /* no Cluster sets it */
	double seconds;              /* bytes / bandwidth */
	bool stop_first;             /* backup: the VM runs and is shut down first */
	const struct nc_backup *src_sched, *dst_sched;
};
void nc_xmove_free(struct nc_xmove *x);

/*
 * Called by nc_plan_build for a VM whose domain o was found on host `from`:
 * when the host's cluster is not the VM's, plans the move (a migrate action
 * with xmove, or an error note) and returns true; false otherwise (the
 * ordinary moves apply).  want_running: the spec's state is running.
 */
bool nc_xmove_plan(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
	const struct nc_cluster *c, struct nc_placement_state *ps, const struct nc_vm *vm, size_t from,
	const struct nc_domain *o, bool want_running);
/*
 * After the image uploads are planned: the method's bytes and time of each
 * cross-cluster move (reads the backup repositories of backup moves, never
 * writes them).
 */
void nc_xmove_estimate(struct nc_plan *p, const struct nc_spec *spec, const struct nc_cluster *c);

/* "backup, 1.2 GiB over the link (estimate), ~10 s at 125.0 MB/s" */
void nc_xmove_describe(const struct nc_xmove *x, char *buf, size_t len);

/*
 * Runs a backup move (apply; the migrate worker calls it for xmove->method
 * NC_XMOVE_BACKUP).  Converges when run again after a pass cut short:
 * the VM already defined at the destination and gone from the source is
 * done; defined on both is an error to resolve by hand (as for any move).
 * On failure the VM is left (running, if it was) at the source and nothing
 * it made at the destination stays defined.  progress: step lines (may be NULL).
 */
int nc_xmove_run_backup(const struct nc_plan *p, const struct nc_action *a, struct nc_cluster *c,
	unsigned shutdown_timeout_ms, FILE *progress, struct nc_err *err);

#endif
