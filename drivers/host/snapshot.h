/*
 * snapshot.h - the libvirt driver's snapshots (internal to drivers/host/;
 * snapshot.c says what libvirt 9.0 and QEMU do with them).
 *
 * nc_host_snaps_read() fills out's snapshots from a virDomainPtr (dom);
 * nc_sim_snaps_save() writes a simulated host's snapshots of dom into its
 * state file's domain element (root, in the test driver's namespace ns);
 * nc_host_snap_create/delete/revert() are the driver's snap_* operations
 * (driver.h).  Each returns 0, or -1 with err set.
 */
#ifndef NC_HOST_SNAPSHOT_H
#define NC_HOST_SNAPSHOT_H

#include <libxml/tree.h>
#include <stdbool.h>

#include "../driver.h"

int nc_host_snaps_read(void *dom, struct nc_domain *out, struct nc_err *err);
int nc_sim_snaps_save(void *dom, xmlNodePtr root, xmlNsPtr ns, struct nc_err *err);
int nc_host_snap_create(struct nc_host_conn *conn, const char *name, const struct nc_snap_def *def,
			bool *quiesced, struct nc_err *err);
int nc_host_snap_delete(struct nc_host_conn *conn, const char *name, const char *snap, struct nc_err *err);
int nc_host_snap_revert(struct nc_host_conn *conn, const char *name, const char *snap, struct nc_err *err);

#endif
