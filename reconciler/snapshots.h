/*
 * snapshots.h - declared snapshots in a plan, and running them
 * (docs/storage.md "Snapshots").
 *
 * nc_plan_snapshots(), once the VM actions are planned: for every VM of the
 * spec that is not absent, not suspended and not being deleted, on the host
 * where it is (or goes: create, recover, migrate), a "create snapshot VM/NAME"
 * action for each declared snapshot the domain lacks, and a "delete snapshot
 * VM/NAME" for each snapshot NovaCron took (description NC_SNAP_MARK) that is
 * no longer declared.  A snapshot of a declared name that NovaCron did not
 * take is left alone with a warning; other snapshots NovaCron did not take
 * are listed in an info note, never touched.  The action's `vm` is
 * "VM/NAME", its vmref the VM and its `snapshot` field the snapshot's name.
 * nc_plan_snapshot_deps(), once actions have ids: a snapshot action waits for
 * the actions of its VM.
 *
 * nc_snapshot_run() runs one of them against its host (apply.c): it looks
 * again first (a snapshot already there, or already gone, is done).
 */
#ifndef NC_SNAPSHOTS_H
#define NC_SNAPSHOTS_H

#include <time.h>

#include "pass.h"

void nc_plan_snapshots(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
		       const struct nc_cluster *c, const struct nc_plan_opts *opts);
void nc_plan_snapshot_deps(struct nc_plan *p);
int nc_snapshot_run(const struct nc_action *a, struct nc_host_conn *conn, struct nc_err *err);

/* a snapshot NovaCron took on a snapshotSchedule (its description says "novacron: scheduled") */
bool nc_snapshot_is_scheduled(const struct nc_dom_snap *o);

/*
 * Scheduled snapshots (spec.snapshotSchedule; serve at the cron's time, or `novacron snapshot
 * run`): takes snapshot auto-YYYYMMDD-HHMM (when, UTC) of the VM's domain, found in c
 * (observed with keep_open), unless one of that name is there, then deletes its scheduled
 * snapshots beyond keep, oldest first.  Plans delete those too, and all of them once the VM
 * has no snapshotSchedule; declared snapshots and others are never touched here.
 */
struct nc_snapshot_run_result {
	char name[32];
	char host[256];
	bool existed;       /* taken before (this minute) */
	size_t pruned;
};
int nc_snapshot_scheduled_run(struct nc_snapshot_run_result *out, struct nc_cluster *c, const struct nc_vm *vm,
			      time_t when, struct nc_err *err);

/* the declared snapshot `name` of vm, or NULL */
const struct nc_snapshot_decl *nc_snapshot_find(const struct nc_vm *vm, const char *name);
/* the description NovaCron writes on a snapshot it takes (NC_SNAP_MARK ...); free it */
char *nc_snapshot_description(const struct nc_snapshot_decl *s, bool running);

#endif
