/*
 * volumes.h - a VM's disks as StoragePool volumes, for apply (volumes.c).
 */
#ifndef NC_VOLUMES_H
#define NC_VOLUMES_H

#include <stdbool.h>

#include "pass.h"

/* Creates missing volumes (restore, image clone or empty) and grows small ones. */
int nc_volumes_ensure(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_vm *vm,
	const struct nc_domain_def *def, bool running, struct nc_err *err);
/*
 * The cloud-init seed of def (none: nothing to do): built (drivers/storage/
 * seed.h) and uploaded as def->seed->volume into its pool when the volume
 * is missing, or always when force (its content changed); an old volume is
 * deleted first.  The upload streams from an anonymous memory file.
 */
int nc_seed_ensure(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain_def *def,
	bool force, struct nc_err *err);
/*
 * Deletes the seed volumes of dom's CD-ROMs ("<VM>-cidata.iso" only: a
 * CD-ROM someone else attached is left alone).  keep: the seed the domain
 * keeps (NULL: none).
 */
int nc_seed_delete(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain *dom,
	const struct nc_seed_def *keep, struct nc_err *err);
/* Deletes the volumes of an (undefined) domain's disks. */
int nc_volumes_delete(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain *dom,
	struct nc_err *err);

#endif
