/*
 * lease.h - at most one reconciler acts on a cluster at a time (docs/development.md,
 * invariant 6), behind a vtable:
 *
 *   file   (drivers/lease/file.c)   an exclusive flock on a file: for
 *          instances on one machine; released by the kernel the moment the
 *          holder dies.
 *   rados  (drivers/lease/rados.c)  an exclusive RADOS object lock with a
 *          duration, renewed while held: for instances on several machines;
 *          a dead holder's lease runs out after the duration.
 *
 * try_acquire() takes or renews the lease without blocking: 1 held, 0 held by
 * someone else (*holder, when the back-end knows, describes them), -1 error.
 */
#ifndef NC_LEASE_H
#define NC_LEASE_H

#include "../driver.h"

struct nc_lease_opts {
	const char *file;            /* file lease: path */
	const char *ceph_conf;       /* rados lease: ceph.conf */
	const char *pool;
	const char *object;          /* default "novacron-lease" */
	const char *user;            /* cephx id (default admin) */
	unsigned duration_ms;        /* rados: how long a lease lasts without renewal (default 30 s) */
	const char *owner;           /* description of this instance: host:pid */
};

struct nc_lease;
struct nc_lease_driver {
	const char *name;
	int (*open)(struct nc_lease **out, const struct nc_lease_opts *o, struct nc_err *err);
	int (*try_acquire)(struct nc_lease *l, char **holder, struct nc_err *err);
	void (*release)(struct nc_lease *l);
	void (*close)(struct nc_lease *l);
};

extern const struct nc_lease_driver nc_lease_file;
extern const struct nc_lease_driver nc_lease_rados;   /* NULL-safe: see lease/rados.c */

#endif
