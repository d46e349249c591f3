/*
 * diskio.h - reading a VM's disks at a consistent point, and writing disk
 * images back, for backup and restore (issue 6).
 *
 * Reading (nc_disk_snap_begin):
 *   running domain   libvirt's backup API in pull mode: virDomainBackupBegin
 *                    with a new checkpoint ("nc-<unix seconds>-<n>"), which
 *                    exports each disk's point-in-time view over NBD on a
 *                    unix socket; read with libnbd.  With quiesce, the
 *                    guest agent freezes the file systems first
 *                    (virDomainFSFreeze/Thaw); when there is no agent the
 *                    backup goes on unquiesced and says so.
 *                    Incremental: when since_checkpoint names a checkpoint
 *                    the domain still has, the backup is incremental from
 *                    it and the changed extents come from the NBD context
 *                    "qemu:dirty-bitmap:<export>"; otherwise full.
 *   shut-off domain  each disk read as it is (nothing can change it):
 *                    qcow2/raw files through qemu-nbd (read-only, started
 *                    by libnbd with socket activation); rbd disks through
 *                    librbd.  Never incremental (no changed extents), and
 *                    quiesced = true (nothing was running).
 *   rbd disks        of a running domain go through the same libvirt backup.
 * Zero and unallocated extents (NBD "base:allocation") are reported so a
 * reader can skip them.
 *
 * nc_disk_snap_end(success): ends the libvirt backup job; on success keeps
 * the new checkpoint and deletes the domain's older "nc-" checkpoints; on
 * failure deletes the new checkpoint, so the next backup falls back to a
 * full one rather than trusting a bitmap nobody stored.
 *
 * Writing (nc_disk_writer_open): a disk image file (qcow2 or raw; qemu-nbd
 * read-write through libnbd) or an rbd image (librbd), for restore.
 */
#ifndef NC_DISKIO_H
#define NC_DISKIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup.h"
#include "driver.h"

struct nc_snap_disk {
	char *target;            /* vda */
	char *source;            /* file path or rbd pool/image */
	char *format;            /* qcow2, raw */
	uint64_t size;           /* virtual size, bytes */
	/* incremental only: byte ranges changed since the checkpoint, sorted */
	struct nc_backup_extent *changed;
	size_t nchanged;
	bool incremental;
};

struct nc_disk_snap {
	char *domain;
	bool quiesced;           /* guest file systems were frozen (or guest not running) */
	bool live;               /* taken from a running guest through libvirt's backup API */
	char *checkpoint;        /* the new checkpoint (live), NULL otherwise */
	char *since;             /* checkpoint it is incremental from, NULL = full */
	struct nc_snap_disk *disks;
	size_t ndisks;
	void *priv;
};

struct nc_disk_snap_opts {
	const char *since_checkpoint;  /* NULL = full */
	bool quiesce;                  /* try the guest agent */
	const char *scratch_dir;       /* where the NBD socket and scratch files go */
	const char *ceph_conf, *ceph_user;  /* for rbd disks of a shut-off domain */
};

int nc_disk_snap_begin(struct nc_disk_snap **out, struct nc_host_conn *host, const char *domain,
	const struct nc_disk_snap_opts *o, struct nc_err *err);
/* Reads len bytes of disk i at offset (thread-unsafe; one reader). */
int nc_disk_snap_read(struct nc_disk_snap *s, size_t i, uint64_t offset, void *buf, size_t len,
	struct nc_err *err);
/* Zero (or unallocated) extents of disk i within [offset, offset+len), sorted. */
int nc_disk_snap_zeros(struct nc_disk_snap *s, size_t i, uint64_t offset, uint64_t len,
	struct nc_backup_extent **out, size_t *out_n, struct nc_err *err);
int nc_disk_snap_end(struct nc_disk_snap *s, bool success, struct nc_err *err);

struct nc_disk_writer;
/*
 * path: a file ("qcow2" or "raw" format, which must exist with at least size
 * bytes) or, with rbd set, "pool/image" in that cluster.
 */
int nc_disk_writer_open(struct nc_disk_writer **out, const char *path, const char *format,
	bool rbd, const char *ceph_conf, const char *ceph_user, struct nc_err *err);
int nc_disk_writer_write(struct nc_disk_writer *w, uint64_t offset, const void *buf, size_t len,
	struct nc_err *err);
int nc_disk_writer_zero(struct nc_disk_writer *w, uint64_t offset, uint64_t len, struct nc_err *err);
/* Flushes and closes; returns the flush result. */
int nc_disk_writer_close(struct nc_disk_writer *w, struct nc_err *err);

#endif
