/*
 * netfs.h - netfs pools (NFS shares libvirt mounts on each host) in a pass:
 * which hosts are degraded because a share cannot be read, and what the
 * plan says about it (docs/storage.md "netfs pools: NFS shares").
 *
 *   nc_netfs_observe  for each netfs pool whose hostSelector matches host h,
 *                     probes the pool on conn (drivers/storage/storage.h
 *                     nc_netfs_probe: mounts a defined, unmounted one, as any
 *                     look at a dir pool starts it) and appends to
 *                     obs->degraded "storage pool P (netfs S:E): why" for
 *                     each that cannot be read, sorted by pool.  A pool
 *                     libvirt does not hold yet is not probed: the first
 *                     volume made in it defines and mounts it.
 *   nc_plan_netfs     one warning per degraded pool of a host: what fails,
 *                     and that nothing there is deleted or made again.
 *
 * A degraded host stays a reachable host: its domains are observed, none is
 * created elsewhere, none is deleted (docs/development.md, invariants 1, 3
 * and 8); an action that needs the pool fails with the pool's error and the
 * next pass tries again.
 */
#ifndef NC_RECONCILER_NETFS_H
#define NC_RECONCILER_NETFS_H

#include "pass.h"

void nc_netfs_observe(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_host *h,
		      struct nc_observed_host *obs);
void nc_plan_netfs(struct nc_plan *p, size_t *alloc_n, const struct nc_cluster *c);

#endif
