/*
 * fence.h - fencing: making sure a failed host can never write again before
 * any of its VMs is restarted elsewhere (docs/ha.md).  Back-ends behind one
 * vtable (drivers/fence/{rbd,agent,manual}.c):
 *
 *   rbd     for the host's VMs whose disks are Ceph RBD images with the
 *           exclusive-lock feature: breaks the lock of the client holding it
 *           (rbd_lock_get_owners, rbd_lock_break), which blocklists that
 *           client, so the old QEMU can never write again.  Fences disks,
 *           not the host: a disk with no lock owner is not fenced.
 *   agent   runs a fence agent of Debian's fence-agents (fence_ipmilan,
 *           fence_redfish, ...) by argv, never a shell; every option,
 *           the password from its file included, goes on standard input as
 *           key=value lines (never on the command line); "action=off", then
 *           "action=status" must report the power off.  Fences the host.
 *   manual  fences nothing itself: recovery waits until an operator runs
 *           `novacron fence confirm HOST`.
 *
 * Fence devices are trusted configuration (serve.yaml `fencing:`, or the
 * CLI's --config file): a Host in the spec only names the devices that fence
 * it (spec.fence); it can never point an agent at an address of its choosing.
 */
#ifndef NC_FENCE_H
#define NC_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../driver.h"
#include "../../spec/model.h"

/* one device of `fencing: devices:` (trusted) */
struct nc_fence_device {
	struct nc_pos pos;
	struct nc_str name;
	struct nc_str type;          /* rbd, agent, manual */
	/* rbd */
	struct nc_str ceph_conf, user, key_file;
	/* agent */
	struct nc_str agent;         /* fence_ipmilan, or an absolute path */
	struct nc_map options;       /* key=value lines on its stdin (ip, username, plug, ...) */
	struct nc_str password_file; /* its first line becomes password=... on stdin */
	struct nc_duration timeout;  /* per agent run; default 60 s */
};

/* what is asked: fence host, whose VMs to restart have these rbd disks */
struct nc_fence_target {
	const char *host;
	const char *const *rbd_disks;    /* "POOL/IMAGE", sorted */
	size_t nrbd_disks;
};

struct nc_fence_result {
	bool whole_host;                 /* the host is off */
	char **disks;                    /* rbd: disks whose writer is fenced (malloc'd) */
	size_t ndisks;
	char detail[256];                /* one line for logs, status and the record */
};
void nc_fence_result_release(struct nc_fence_result *r);

enum { NC_FENCE_DONE = 0, NC_FENCE_PENDING = 1 };   /* or < 0: failed, *err set */

struct nc_fence_driver {
	const char *type;
	/* Fences target; NC_FENCE_DONE with *res filled, NC_FENCE_PENDING (manual:
	 * waits for an operator), or < 0.  Must return within the device's timeout. */
	int (*fence)(const struct nc_fence_device *dev, const struct nc_fence_target *t,
		     struct nc_fence_result *res, struct nc_err *err);
};

const struct nc_fence_driver *nc_fence_driver_find(const char *type);

/* ---- the configuration (drivers/fence/fence.c) ---- */

#define NC_FENCE_DEFAULT_TIMEOUT_MS 60000

/* the fields of one item of `fencing: devices:` (serve.yaml, the CLI's --config) */
struct nc_schema;
extern const struct nc_schema nc_fence_device_schema;
/*
 * Checks devices loaded with nc_fence_device_schema (struct nc_fence_device):
 * names unique, type rbd/agent/manual, the fields each type needs and no
 * field it does not use, the agent found and executable, files readable
 * (key and password files: not readable by group or others), agent options
 * one line each and neither action nor password.  -1 when it added errors.
 */
int nc_fence_devices_check(const struct nc_list *devs, struct nc_diags *diags);
/* the device called name in devs (a list of struct nc_fence_device), or NULL */
const struct nc_fence_device *nc_fence_device_find(const struct nc_list *devs, const char *name);
/* dev->timeout, or NC_FENCE_DEFAULT_TIMEOUT_MS */
uint64_t nc_fence_timeout_ms(const struct nc_fence_device *dev);
/*
 * The program of an agent: a bare fence_[a-z0-9_]+ found in /usr/sbin, then
 * /sbin; or an absolute path (trusted configuration) to an executable file.
 * malloc'd, or NULL with *err set.
 */
char *nc_fence_agent_path(const char *agent, struct nc_err *err);
/* for back-ends: appends a copy of disk to r->disks */
void nc_fence_result_add_disk(struct nc_fence_result *r, const char *disk);

#endif
