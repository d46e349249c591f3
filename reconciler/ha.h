/*
 * ha.h - high availability: the record of failed and fenced hosts,
 * STATE_DIR/ha.json (docs/ha.md).
 *
 * Who decides what:
 *   serve's health monitor (reconciler/health.c) moves each host
 *   ok -> suspect -> failed; when a host is failed it runs the host's fence
 *   devices (drivers/fence/fence.h) and records here what they fenced;
 *   `novacron fence confirm HOST` records a manual fence (who and when).
 *   The plan (reconciler/plan.c) only reads this record: a VM last recorded
 *   on an unreachable host (hostrec.h) is restarted elsewhere (NC_ACT_RECOVER)
 *   only when that host is failed and fenced for it here -- the whole host,
 *   or every one of the VM's disks -- and the VM has ha.policy: restart.
 *   apply and serve add the VMs they restarted to `recovered`, and forget a
 *   host once it is reachable again and holds no stale copy of them.
 *
 *   {"format_version": 1, "hosts": [
 *     {"name": "kvm1", "failed_at": 1796000000, "fenced": true,
 *      "fenced_at": 1796000012, "fenced_by": "rbd device ceph",
 *      "detail": "2 exclusive locks broken, their clients blocklisted",
 *      "whole_host": false, "disks": ["rbd/web-1-root"],
 *      "recovered": ["web-1"]}]}
 *
 * Written like hosts.json: temporary file, fsync, rename, mode 0600, under
 * an flock on STATE_DIR/ha.lock.  A missing file is an empty record; a
 * malformed one is an error (a pass that cannot read it restarts nothing).
 * It is trusted state: plan reads it, never writes it.
 */
#ifndef NC_HA_H
#define NC_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../drivers/driver.h"

#define NC_HA_FILE "ha.json"

struct nc_ha_host {
	char *name;
	int64_t failed_at;       /* unix seconds the host was declared failed; 0: unknown */
	bool fenced;             /* some fence succeeded (see whole_host and disks) */
	int64_t fenced_at;
	char *fenced_by;         /* "rbd device ceph", "agent device ipmi-kvm1", "manual: alice" */
	char *detail;            /* one line: what the fence did */
	bool whole_host;         /* the host is off (agent) or confirmed off (manual) */
	char **disks;            /* rbd: "POOL/IMAGE" whose writers are fenced; sorted, unique */
	size_t ndisks;
	char **recovered;        /* VMs restarted elsewhere after this failure; sorted, unique */
	size_t nrecovered;
};

struct nc_ha_record {
	struct nc_ha_host *hosts;    /* sorted by name */
	size_t nhosts;
};

int nc_ha_load(struct nc_ha_record *out, const char *state_dir, struct nc_err *err);
int nc_ha_save(const struct nc_ha_record *r, const char *state_dir, struct nc_err *err);
void nc_ha_release(struct nc_ha_record *r);
const struct nc_ha_host *nc_ha_find(const struct nc_ha_record *r, const char *name);
/* the entry of name, added (not failed, not fenced) when missing */
struct nc_ha_host *nc_ha_get(struct nc_ha_record *r, const char *name);
bool nc_ha_forget(struct nc_ha_record *r, const char *name);
/* adds s to a sorted unique list */
void nc_ha_list_add(char ***list, size_t *n, const char *s);
bool nc_ha_list_has(char *const *list, size_t n, const char *s);

/*
 * apply, before it restarts vm elsewhere (NC_ACT_RECOVER): under the lock,
 * adds vm to `recovered` of each failed host in hosts, which must all still
 * be in the record and fenced (an entry cleared or changed since the plan
 * was made: -1, nothing restarted).  Written before the restart, so a pass
 * cut short after it still finds the stale copy when the host returns.
 * target (NULL: none) is the host the VM now runs on: if it is in the
 * record too (a returned host whose copy left behind is started again), vm
 * leaves its `recovered`, since its copy there is now the one that runs.
 */
int nc_ha_mark_recovered(const char *state_dir, char *const *hosts, size_t nhosts, const char *vm,
			 const char *target, struct nc_err *err);

/*
 * After a pass of apply or serve (never plan): under the lock, forgets each
 * host of the record that this pass could read and that has nothing left
 * to clean up: it holds no copy of a VM in its `recovered` list, or each
 * one was removed as stale by the plan (struct nc_action stale), and no
 * restart in place (ha_restart) is pending -- "removed" and "done" only when
 * applied_all (the plan was applied with nothing failed or skipped).  One
 * line per host forgotten goes to *log ("host kvm1 is back: its HA record
 * is cleared"), for the caller to print or log.  A missing record: nothing
 * to do.  0, or -1 with *err set.
 */
struct nc_cluster;
struct nc_plan;
struct nc_buf;
int nc_ha_commit(const char *state_dir, const struct nc_cluster *c, const struct nc_plan *plan,
		 bool applied_all, struct nc_buf *log, struct nc_err *err);

/* An exclusive lock on STATE_DIR/ha.lock: its fd, or -1 with *err set. */
int nc_ha_lock(const char *state_dir, struct nc_err *err);
void nc_ha_unlock(int fd);

/*
 * Is vm's copy on host h fenced?  True when the whole host is fenced, or
 * when every disk in disks ("POOL/IMAGE" of its rbd disks; a VM with a disk
 * in a dir pool is never fenced by disks) is in h's fenced disks.  A VM
 * with no rbd disk at all is fenced only with the whole host (a disk fence
 * covers nothing of it).
 */
bool nc_ha_vm_fenced(const struct nc_ha_host *h, const char *const *rbd_disks, size_t nrbd,
		     bool has_local_disks);

#endif
