/*
 * fencing.h - fencing orchestration (docs/ha.md "Fencing"): what to fence
 * on a failed host, running its fence devices in order, and writing what
 * they did into the HA record (ha.h).  Used by serve (for hosts its health
 * monitor declared failed) and by `novacron fence run HOST`.
 *
 * The target: the rbd disks ("CEPHPOOL/IMAGE", as reconciler/desired.c
 * names them) of the VMs with ha.policy: restart that the record of hosts
 * (hostrec.h) lists on the host and that no reachable host runs.  Never
 * the disks of a VM observed on a reachable host: breaking that lock would
 * fence the copy that runs.
 *
 * The devices: the Host's spec.fence names, in order, resolved in the
 * trusted `fencing: devices:` (an unknown name is an error); a Host without
 * spec.fence is fenced by hand (`novacron fence confirm HOST`).  They run
 * until the whole host is fenced or every target disk is; each run is
 * bounded by the timeout (a device still running then counts as failed and
 * is left to end on its own thread).
 */
#ifndef NC_FENCING_H
#define NC_FENCING_H

#include <stdbool.h>
#include <stddef.h>

#include "../drivers/fence/fence.h"
#include "hostrec.h"
#include "pass.h"

/*
 * validate --config and serve: every name in a Host's spec.fence is a
 * device of devices (struct nc_fence_device); errors at the name's
 * position, config_path in the message.  -1 when one is missing.
 */
int nc_fence_names_check(const struct nc_spec *spec, const struct nc_list *devices,
			 const char *config_path, struct nc_diags *diags);

/* the rbd disks to fence on host (sorted, unique, malloc'd), and whether a
 * VM to restart needs the whole host fenced (a local disk, or no rbd disk) */
struct nc_fence_targets {
	char **disks;
	size_t ndisks;
	char **vms;                      /* the VMs they belong to, sorted */
	size_t nvms;
	bool need_host;
};
void nc_fence_targets(struct nc_fence_targets *out, const struct nc_spec *spec, const struct nc_cluster *cl,
		      const struct nc_hostrec *rec, const char *host);
void nc_fence_targets_release(struct nc_fence_targets *t);

struct nc_fencing_opts {
	const char *state_dir;           /* ha.json */
	const struct nc_list *devices;   /* `fencing: devices:` */
	unsigned timeout_ms;             /* per device run; 0: the device's own (nc_fence_timeout_ms) */
	const char *who;                 /* recorded in fenced_by after the device: NULL, or "by alice" */
};

/* what a fence did (or why not), for logs, status and webhooks */
struct nc_fencing_outcome {
	int result;                      /* NC_FENCE_DONE, NC_FENCE_PENDING, or -1 */
	bool whole_host;
	size_t ndisks;                   /* disks fenced, in all, for this failure */
	char by[160];                    /* "rbd device ceph" */
	char detail[512];                /* one line */
	unsigned attempts, failures;     /* device runs in this call */
};

/*
 * Fences host: records it failed in the HA record (failed_at, if not yet),
 * runs its devices until the host or every target disk is fenced, and
 * records what they did (fenced, fenced_at, fenced_by, detail, whole_host,
 * disks) under the record's lock.  Nothing to fence (no VM to restart on
 * it, or already fenced): NC_FENCE_DONE at once.  A manual host, or one
 * whose devices are all manual: NC_FENCE_PENDING.  -1: every device failed,
 * or the host is not declared, or a device name is unknown (*err set).
 */
int nc_fence_host(const struct nc_spec *spec, const struct nc_fence_targets *t, const char *host,
		  const struct nc_fencing_opts *o, struct nc_fencing_outcome *out, struct nc_err *err);

/* who confirms a fence by hand (recorded as "manual: BY"): 1 to 64 printable characters */
bool nc_fence_by_ok(const char *by);

/* what nc_fence_confirm saw of the host */
struct nc_fence_confirm_seen {
	bool readable;                   /* it answered: not off */
	size_t ndoms, running;           /* its domains then */
};
#define NC_FENCE_CONFIRM_UNKNOWN (-2)    /* the host is not in the record of hosts */
#define NC_FENCE_CONFIRM_LIVE (-3)       /* the host can be read right now (and not force) */
/*
 * Records a manual fence of host in STATE_DIR's HA record (`novacron fence
 * confirm`, POST /api/v1/hosts/NAME/fence/confirm): fenced, whole host,
 * fenced_by "manual: BY", detail.  Only a host the record of hosts lists;
 * it is observed alone first (oo: state_dir, timeout and connections set by
 * the caller) and refused while it answers, unless force.  0; -1 with err;
 * NC_FENCE_CONFIRM_UNKNOWN; NC_FENCE_CONFIRM_LIVE (seen says what answered).
 */
int nc_fence_confirm(const char *state_dir, const char *host, const char *by, const char *detail,
		     const struct nc_observe_opts *oo, bool force, struct nc_fence_confirm_seen *seen,
		     struct nc_err *err);

#endif
