/*
 * backups.h - backups and restores of VMs, on top of the repository
 * (drivers/backup/backup.h), the disk readers and writers (drivers/storage/diskio.h) and
 * the volumes (drivers/storage/storage.h).  Used by `novacron backup`, `novacron
 * restore`, `serve` (scheduled runs) and apply (declarative restore).
 *
 * A backup run of one VM takes one consistent point of all its disks and
 * writes one snapshot per disk, all with the same time and checkpoint; the
 * snapshots of one run are "a backup" to the user, named by the id of its
 * first disk's snapshot.  A run is incremental when the newest snapshot of
 * every disk records the checkpoint the domain still has; then only the
 * changed extents are read.  Otherwise every chunk is read, and only chunks
 * the repository lacks are stored.
 */
#ifndef NC_BACKUPS_H
#define NC_BACKUPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../drivers/backup/backup.h"
#include "../drivers/storage/storage.h"
#include "pass.h"

/* Opens (create: creating when missing) the repository of a BackupSchedule. */
int nc_schedule_repo_open(struct nc_backup_repo **out, const struct nc_backup *sched, bool create,
	struct nc_err *err);

/* The pool definition of a spec StoragePool (strings point into the spec). */
void nc_pool_def_from_spec(struct nc_pool_def *out, const struct nc_pool *pool);
/* Volume name of a VM's disk in its pool: "VM-DISK.qcow2" (dir) or "VM-DISK" (rbd). */
char *nc_disk_volume_name(const struct nc_pool *pool, const char *vm, const char *disk);

struct nc_backup_disk_result {
	char disk[64];
	struct nc_backup_stats stats;
	bool incremental;
};
struct nc_backup_vm_result {
	char vm[256];
	char host[256];
	char id[NC_BACKUP_ID_HEX + 1];       /* the backup (first disk's snapshot) */
	bool quiesced, live;
	struct nc_backup_disk_result disks[16];
	size_t ndisks;
	double seconds;
};

struct nc_backup_run_opts {
	int64_t now;                 /* recorded time (UTC seconds) */
	const char *scratch_dir;     /* NULL: $TMPDIR or /tmp */
	FILE *progress;              /* NULL: quiet */
	const char *snapshot;        /* read the disks as they were in this snapshot of the domain
				      * (docs/storage.md "Snapshots"): a full backup; NULL: now */
};

/* Backs up one VM of the spec with schedule sched; cluster observed with keep_open. */
int nc_backup_vm(struct nc_backup_vm_result *out, const struct nc_spec *spec, struct nc_cluster *c,
	const struct nc_vm *vm, const struct nc_backup *sched, const struct nc_backup_run_opts *o,
	struct nc_err *err);

/* The VMs a schedule covers (vms plus vmSelector matches), in name order. */
size_t nc_schedule_vms(const struct nc_vm ***out, const struct nc_spec *spec, const struct nc_backup *sched);

/* The snapshots of one backup: the one with id (or prefix) and its siblings (same vm and time). */
int nc_backup_set_load(struct nc_backup_snapshot **out, size_t *n, struct nc_backup_repo *r,
	const char *id, struct nc_err *err);

/*
 * Writes snapshot s into volume vol of pool on host (creating it, size at
 * least the snapshot's, or growing it).  nc_restore_disk(): when the
 * volume exists, first verifies every chunk of s (nc_backup_verify_snapshot)
 * and touches nothing when one fails; when it does not, creates it and
 * writes it in one pass that checks each chunk as it writes it
 * (nc_backup_restore_snapshot_once), zero chunks left as holes.
 * nc_restore_disk_verified() is for a caller that verified every disk of a
 * set first (it still checks each chunk as it writes).  Either deletes the
 * volume again when it created it and the write failed, so a half-written
 * new volume never looks like a good one; *created (may be NULL) says on
 * success whether the volume was made here.
 * NOVACRON_RESTORE_FAIL_AT=K (a test switch) fails the K-th write;
 * NOVACRON_RESTORE_STALL_AT=K stops the process (SIGSTOP) at the K-th.
 */
int nc_restore_disk(struct nc_backup_restore_stats *st, bool *created, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, struct nc_host_conn *host, const struct nc_pool_def *pool,
	const char *vol, uint64_t min_size, struct nc_err *err);
/* 1: a restore into vol (a new volume) was cut short, vol is its leftover (VOL.novacron-restore
 * is there); 0: not; -1: cannot tell (err). */
int nc_restore_marked(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	struct nc_err *err);
int nc_restore_disk_verified(struct nc_backup_restore_stats *st, bool *created,
	struct nc_backup_repo *r, const struct nc_backup_snapshot *s, struct nc_host_conn *host,
	const struct nc_pool_def *pool, const char *vol, uint64_t min_size, struct nc_err *err);

/* The schedule that backs a VM up: its backupSchedule, else the first whose list covers it; NULL: none. */
const struct nc_backup *nc_vm_schedule(const struct nc_spec *spec, const struct nc_vm *vm);

/*
 * Restores backup ID (or a unique prefix) of vm from schedule s's
 * repository, as `novacron restore` does: into the VM itself (its domain
 * must not run) or, with as, into a new domain of that name beside it; on
 * the host holding the domain, else the original's, else host_name.  Every
 * chunk is verified before the first byte is written; a failure deletes
 * the volumes it created.  Observes the cluster with *oo (keep_open set
 * here).  Lines for a person: results to out, steps and warnings to
 * progress (either NULL).  0, or -1 with err.
 */
int nc_restore_vm(const struct nc_spec *spec, const struct nc_vm *vm, const struct nc_backup *s, const char *backup,
	const char *as, const char *host_name, const struct nc_observe_opts *oo, FILE *out, FILE *progress,
	struct nc_err *err);

#endif
