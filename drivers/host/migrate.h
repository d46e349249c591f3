/*
 * migrate.h - the libvirt driver's live migration (internal to drivers/host/).
 *
 * nc_lv_live_migrate() moves a running domain peer-to-peer to o->dest_uri
 * (persistent there, undefined here) with the tuning of o->t
 * (docs/migration.md "WAN tuning"): storage copy (full or incremental),
 * compression (xbzrle; multifd zstd/zlib only with libvirt >= 9.4, refused
 * before the job starts otherwise), parallel connections (multifd), TLS,
 * auto-converge, a bandwidth cap, a downtime budget, and a switch to
 * post-copy after a time or when the memory left stops shrinking.  The job
 * runs in a thread while this one polls its statistics: progress, the
 * post-copy switch, and the timeout, which aborts the job (the guest keeps
 * running on the source) unless it is already in post-copy, which cannot be
 * undone: then the wait goes on.  Returns 0 or -1 with err set.
 */
#ifndef NC_DRIVERS_HOST_MIGRATE_H
#define NC_DRIVERS_HOST_MIGRATE_H

#include <libvirt/libvirt.h>

#include "../driver.h"

/* libvirt's version (major * 1000000 + minor * 1000 + release) multifd compression needs */
#define NC_LV_MULTIFD_COMPRESSION_VERSION 9004000UL

int nc_lv_live_migrate(virDomainPtr dom, const char *name, const struct nc_migrate_opts *o,
		       struct nc_err *err);

#endif
