/*
 * diskio.h - reading a VM's disks at a consistent point, and writing disk
 * images back, for backup and restore (issue 6).  Implemented by
 * drivers/storage/diskio.c (libvirt, libnbd, librbd); the design is described there.
 *
 * Reading (nc_disk_snap_begin): the domain's disks (<disk device='disk'>)
 * in XML order.
 *   running domain   libvirt's backup API in pull mode: one
 *   (or paused)      virDomainBackupBegin for all disks that also creates the
 *                    checkpoint "nc-<unix seconds>-<n>" (n counts up until
 *                    the name is free).  libvirt exports each disk's
 *                    point-in-time view over NBD on a unix socket in
 *                    scratch_dir (export name = the disk target) and keeps
 *                    a qcow2 scratch file per disk there while the job
 *                    runs; both are gone after nc_disk_snap_end.  Read
 *                    with libnbd.  With quiesce, the guest agent freezes
 *                    the file systems right before the job begins
 *                    (virDomainFSFreeze) and thaws them right after
 *                    (virDomainFSThaw); when there is no agent the backup
 *                    goes on with quiesced = false.
 *                    Only qcow2 file disks can hold the checkpoint's dirty
 *                    bitmap: other disks (raw, rbd) are not in the
 *                    checkpoint and always read whole (incremental false).
 *                    Incremental: when since_checkpoint names a checkpoint
 *                    the domain still has, the qcow2 disks are backed up
 *                    incrementally from it: `changed` lists the byte
 *                    ranges written since (NBD context
 *                    "qemu:dirty-bitmap:backup-<target>", bitmap
 *                    granularity, 64 KiB by default), sorted and merged;
 *                    s->since is set.  Otherwise (NULL, or a checkpoint the
 *                    domain no longer has) full, s->since = NULL.  Reads
 *                    always see the whole point-in-time disk: `changed` only
 *                    says what needs reading.
 *   shut-off domain  each disk of the inactive XML read as it is (nothing
 *                    can change it): files through a read-only qemu-nbd
 *                    started by libnbd with socket activation (qcow2
 *                    backing chains are followed); rbd ("network") disks
 *                    through librbd (ceph_conf, ceph_user).  Never
 *                    incremental, no checkpoint; quiesced = true,
 *                    live = false.
 *   a snapshot       (o->snapshot) an internal snapshot of the domain: each
 *                    disk a qcow2 file read through qemu-nbd
 *                    --load-snapshot without file locking, running or not; rbd or
 *                    raw disks and external snapshots are refused.  Never
 *                    incremental; quiesced when it was taken shut off.
 *   simulated host   (sim://) like a shut-off domain, whatever its state:
 *                    the files its XML names are read when they exist;
 *                    otherwise it fails with "disk vda of VM x: /path does
 *                    not exist (simulated hosts have no disk data)".
 * Zero extents (NBD "base:allocation", NBD_STATE_ZERO) are reported so a
 * reader can skip them (a backup asks before reading each run of chunks
 * and does not read the chunks wholly inside); for rbd disks of a shut-off
 * domain, the gaps between the objects that exist (rbd_diff_iterate2 from
 * no snapshot, whole objects, the parent's included; none when that
 * fails).
 *
 * nc_disk_snap_end(success): closes the readers and ends the libvirt
 * backup job (virDomainAbortJob); on success keeps the new checkpoint and
 * deletes the domain's older "nc-" checkpoints (their bitmaps go with
 * them); on failure deletes the new checkpoint, so that a later backup from
 * it is a full one rather than trusting a bitmap nobody stored.  Frees s
 * whatever it returns.
 *
 * Writing (nc_disk_writer_open): a disk image file (qcow2 or raw; qemu-nbd
 * read-write through libnbd) or an rbd image (librbd), for restore.
 * Writes are asynchronous: consecutive writes are merged into requests of
 * up to 4 MiB, sent by an I/O thread of the writer (NBD: up to 4 in
 * flight), so a write's failure (qemu-nbd died, disk full) is returned by
 * a later call or by close.  nc_disk_writer_zero uses NBD WRITE_ZEROES
 * (the server may punch holes) / rbd_write_zeroes, writes zeros when the
 * server has no WRITE_ZEROES, and sends nothing on a fresh image.
 *
 * A snapshot or writer is used by one thread.  Every call returns 0 or -1
 * with err filled.
 */
#ifndef NC_DISKIO_H
#define NC_DISKIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../backup/backup.h"
#include "../driver.h"

struct nc_snap_disk {
	char *target;            /* vda */
	char *source;            /* file path or rbd pool/image */
	char *format;            /* qcow2, raw */
	uint64_t size;           /* virtual size, bytes */
	/* incremental only: byte ranges changed since the checkpoint, sorted, merged */
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
	const char *scratch_dir;       /* NBD socket, scratch files (running domain; made if missing) */
	const char *ceph_conf, *ceph_user;  /* for rbd disks of a shut-off domain */
	const char *ceph_key_file;          /* and the user's key (StoragePool rbd.keyFile); NULL: ceph.conf's keyring */
	/* the disks as they were in this internal snapshot of the domain (qcow2 files through
	 * qemu-nbd --load-snapshot, whatever the domain's state; full, no checkpoint); NULL: now */
	const char *snapshot;
};

int nc_disk_snap_begin(struct nc_disk_snap **out, struct nc_host_conn *host, const char *domain,
	const struct nc_disk_snap_opts *o, struct nc_err *err);
/*
 * Reads len bytes of disk i at offset; past the disk's end is refused.  An
 * NBD read larger than 1 MiB goes out as 1 MiB requests, up to 8 in flight
 * (libnbd's asynchronous API); it returns when all have completed.  A
 * backup reads up to NC_DISK_READ_MAX at a time (struct nc_backup_source
 * max_read).
 */
#define NC_DISK_READ_MAX (8u << 20)
int nc_disk_snap_read(struct nc_disk_snap *s, size_t i, uint64_t offset, void *buf, size_t len,
	struct nc_err *err);
/*
 * Several reads of disk i at once (in offset order, each within the disk;
 * struct nc_backup_source read_batch): over NBD all of them go out as
 * requests of up to 1 MiB, 8 in flight, so that scattered chunks (an
 * increment's) do not wait for each other; rbd reads them one by one.
 */
int nc_disk_snap_read_batch(struct nc_disk_snap *s, size_t i, const struct nc_backup_read *v, size_t n,
	struct nc_err *err);
/*
 * Zero extents of disk i within [offset, offset+len) (clipped to it and to
 * the disk), sorted and merged; *out belongs to the caller.
 */
int nc_disk_snap_zeros(struct nc_disk_snap *s, size_t i, uint64_t offset, uint64_t len,
	struct nc_backup_extent **out, size_t *out_n, struct nc_err *err);
/* Ends the snapshot (see above) and frees s; s may be NULL. */
int nc_disk_snap_end(struct nc_disk_snap *s, bool success, struct nc_err *err);

struct nc_disk_writer;
/*
 * path: a file ("qcow2" or "raw" format, which must exist and be as large as
 * the image restored; format NULL = raw) or, with rbd set, "pool/image" in
 * that cluster (ceph_conf NULL = /etc/ceph/ceph.conf, ceph_user NULL = admin,
 * key_file: the user's cephx key, NULL = the keyring ceph.conf names).
 */
int nc_disk_writer_open(struct nc_disk_writer **out, const char *path, const char *format,
	bool rbd, const char *ceph_conf, const char *ceph_user, const char *key_file, struct nc_err *err);
int nc_disk_writer_write(struct nc_disk_writer *w, uint64_t offset, const void *buf, size_t len,
	struct nc_err *err);
int nc_disk_writer_zero(struct nc_disk_writer *w, uint64_t offset, uint64_t len, struct nc_err *err);
/*
 * The image was just created by the caller and reads as zeros everywhere
 * (a new qcow2 without backing file, a sparse raw file, a new rbd image):
 * nc_disk_writer_zero() then sends nothing, the ranges stay holes.
 */
void nc_disk_writer_set_fresh(struct nc_disk_writer *w);
/* Flushes and closes; returns the flush result. */
int nc_disk_writer_close(struct nc_disk_writer *w, struct nc_err *err);

#endif
