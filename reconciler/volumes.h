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
/* Deletes the volumes of an (undefined) domain's disks. */
int nc_volumes_delete(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain *dom,
	struct nc_err *err);

#endif
