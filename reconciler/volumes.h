/*
 * volumes.h - a VM's disks as StoragePool volumes, for apply (volumes.c).
 */
#ifndef NC_VOLUMES_H
#define NC_VOLUMES_H

#include <stdbool.h>

#include "pass.h"
#include "../drivers/storage/storage.h"

/* Creates missing volumes (restore, image clone or empty) and grows small ones. */
int nc_volumes_ensure(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_vm *vm,
	const struct nc_domain_def *def, bool running, struct nc_err *err);
/*
 * The same for HA recovery (docs/ha.md), except that a missing volume is an
 * error: a VM restarted after its host failed keeps its data (rbd pools:
 * the shared images the failed host used), so its disks are never made anew.
 */
int nc_volumes_ensure_existing(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_vm *vm,
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
 * keeps (NULL: none).  in_use: a running QEMU still has them open: rbd
 * images are then left (Ceph refuses to remove an image with watchers; a
 * pass that failed on it every time would never converge), files are
 * unlinked (QEMU keeps reading the open one).
 */
int nc_seed_delete(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain *dom,
	const struct nc_seed_def *keep, bool in_use, struct nc_err *err);
/* Deletes the volumes of an (undefined) domain's disks. */
int nc_volumes_delete(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain *dom,
	struct nc_err *err);

/*
 * ---- cold migration: a VM's local volumes follow it (volumes.c) ----
 *
 * The local volumes of a VM are its spec disks in dir pools (a directory on
 * each host); rbd pools are shared by every host and never copied.
 * nc_volumes_local lists them with the path each has on a host (the pool's
 * directory and the volume name), for plans; nc_volumes_copy copies them
 * from src to dst before the domain moves (storage.h nc_vol_copy: sparse,
 * a leftover of an interrupted copy replaced (known by its marker volume;
 * any other volume of that name on dst is refused), a directory both hosts share
 * detected and left alone), and on failure removes what it made on dst;
 * nc_volumes_copy_undo removes it when a later step fails; and
 * nc_volumes_copy_finish removes the copies' markers and the source volumes
 * once the domain is defined on dst (the disk lives there now).
 */
/*
 * Before a VM moves to dst (live or cold) or restarts there: each of its
 * disks in a netfs pool must be seen by dst, in the same share (the pool is
 * defined and mounted there when missing).  A volume src holds that dst does
 * not see (another share, or the share not mounted) is an error naming it,
 * and nothing is moved.  0, or -1 and err.
 */
/* The name of vm's first disk in a netfs pool, or NULL (a live copyStorage would copy it onto itself). */
const char *nc_volumes_netfs_disk(const struct nc_spec *spec, const struct nc_vm *vm);
int nc_volumes_shared_check(struct nc_host_conn *dst, const struct nc_spec *spec, const struct nc_vm *vm,
	const char *domain, const char *dst_name, struct nc_err *err);

struct nc_local_vol {
	struct nc_pool_def pd;
	char *vol;               /* volume name */
	char *path;              /* its file on a host: pool path/vol */
};
size_t nc_volumes_local(struct nc_local_vol **out, const struct nc_spec *spec, const struct nc_vm *vm,
	const char *domain);
void nc_volumes_local_free(struct nc_local_vol *v, size_t n);

struct nc_volumes_move {
	struct nc_local_vol *vols;
	size_t n;
	struct nc_vol_copy *copies;  /* one per vol */
	uint64_t total;              /* allocation of the source volumes */
	uint64_t bytes;              /* data sent */
	size_t copied;               /* volumes copied (not missing, not shared) */
};
/* progress(opaque, bytes sent so far, total) */
int nc_volumes_copy(struct nc_volumes_move *out, struct nc_host_conn *src, struct nc_host_conn *dst,
	const struct nc_spec *spec, const struct nc_vm *vm, const char *domain,
	void (*progress)(void *opaque, uint64_t done, uint64_t total), void *opaque, struct nc_err *err);
int nc_volumes_copy_undo(struct nc_host_conn *dst, const struct nc_volumes_move *m, struct nc_err *err);
int nc_volumes_copy_finish(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_volumes_move *m,
			   struct nc_err *err);
void nc_volumes_move_release(struct nc_volumes_move *m);
/*
 * After a move cut short between undefining the source and removing its
 * volumes: removes the source volumes that dst has too (not shared).
 */
int nc_volumes_drop_leftovers(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_spec *spec,
	const struct nc_vm *vm, const char *domain, struct nc_err *err);

#endif
