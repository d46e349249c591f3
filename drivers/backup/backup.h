/*
 * backup.h - the content-addressed backup repository: deduplicated,
 * compressed and optionally encrypted disk-image backups (issue 6).
 *
 * A repository is a set of named objects behind a small target vtable
 * (struct nc_backup_target_driver: put/get/exists/list/delete/sync).  The
 * local-directory target is drivers/backup/target-dir.c; RADOS and S3 targets
 * implement the same interface.  The engine is split by concern in
 * drivers/backup/ (internal.h lists the files: objects, repository,
 * manifests, write, restore, check, prune).  Object names are "config",
 * "chunks/<64 hex>" and "snapshots/<64 hex>"; a target may store them as it
 * likes (the directory target fans chunks out as chunks/ab/abcdef...).
 *
 * Repository format, version 1:
 *
 *   config           plain text, one "key value" per line:
 *                      novacron-backup-repository 1
 *                      chunk-size 65536
 *                      compression zstd
 *                      encrypted yes|no
 *                      key-check <64 hex>        (encrypted only)
 *   chunks/<id>      one fixed-size piece of a disk image, stored as an
 *                    object (below), whole or as a delta on another chunk.
 *                    id = SHA-256(plaintext), or with encryption
 *                    HMAC-SHA256(id key, plaintext) so that ids say
 *                    nothing about the contents; the plaintext is always
 *                    the chunk's full content, a delta's too.
 *   snapshots/<id>   one backup of one disk: a manifest (below) stored as an
 *                    object; id = SHA-256 (or HMAC) of the manifest text.
 *
 *   object           byte 0: flags (bit 0: zstd-compressed, bit 1:
 *                    encrypted, bit 2: delta chunk); then the payload,
 *                    zstd-compressed when that makes it smaller; with
 *                    encryption the payload is sealed with AES-256-GCM:
 *                    12-byte random nonce, ciphertext, 16-byte tag; the
 *                    additional data is the flags byte and the object
 *                    name, so an object cannot be moved to another name
 *                    nor its delta bit flipped.
 *
 *   delta chunk      (flag bit 2; chunks only) payload = the base chunk's
 *                    id (32 bytes), then a bitmap of the chunk's 4 KiB
 *                    blocks (ceil(blocks / 8) bytes, block j is bit j % 8
 *                    of byte j / 8; unused high bits zero; the last block
 *                    may be short), then the bytes of each block whose bit
 *                    is set, in order.  The chunk is the base's content
 *                    with those blocks replaced; it has the base's length.
 *                    The base is always a full (non-delta) chunk: depth 1.
 *                    A backup with a parent stores a new chunk i as a delta
 *                    when the parent's chunk i has the same length, is not
 *                    zero, and its base (the chunk itself when full, else
 *                    its base) is stored and differs from the new chunk in
 *                    fewer than half the blocks; otherwise whole (and it
 *                    becomes the base of later deltas).  Readers fetch the
 *                    base, apply the blocks and check the result against
 *                    the chunk's id, as for any chunk.
 *
 *   manifest         text, one item a line, in this order:
 *                      novacron-snapshot 1
 *                      vm NAME
 *                      disk NAME
 *                      disk-size BYTES
 *                      time SECONDS          (UTC epoch, given by the caller)
 *                      quiesced yes|no
 *                      parent ID|none
 *                      checkpoint NAME|none  (libvirt checkpoint: the next increment's base)
 *                      chunk-size BYTES
 *                      chunks N              (= ceil(disk-size / chunk-size))
 *                      N lines: "zero" for an all-zero chunk, "<id>" for a
 *                        chunk stored whole, "<id> <base id>" for a delta
 *                        chunk and its base (manifests without the base
 *                        column parse: all their chunks are whole)
 *                      end
 *
 *                    The base column lets prune keep a delta's base alive
 *                    (it marks ids and bases of every remaining manifest)
 *                    and check find a missing base without reading chunk
 *                    objects.
 *
 * Keys: the key file holds 32 raw bytes or 64 hex digits (surrounding white
 * space allowed); a key file with any group or other permission bit is
 * refused (chmod 600 it).  From that master key HMAC-SHA256 derives the AES key, the
 * id key and the key-check value kept in config, so a wrong key is refused
 * at open.  Manifests are encrypted too in an encrypted repository.
 *
 * Chunks are fixed-size (default 64 KiB, a multiple of 4096) and aligned to
 * the disk's offsets: chunk i covers [i * chunk_size, (i + 1) * chunk_size),
 * the last one may be short.  A scattered change of a few blocks so stores
 * only the chunks holding them, and of those chunks, as deltas, only the
 * changed 4 KiB blocks.  All-zero chunks are never stored.  The size is a
 * repository's, chosen at creation; with delta chunks 64 KiB stores less
 * for 1 % of scattered 4 KiB writes than 16 KiB whole chunks did, with 4x
 * fewer objects and twice the full backup's speed (bench/README.md).  A
 * manifest (65 bytes a chunk, 130 a delta, at most 1 GiB) covers disks up
 * to ~1 TiB at 64 KiB (~500 GiB if every chunk were a delta).
 *
 * Crash safety: targets make objects durable in batches: put() alone
 * promises nothing across a power loss, sync() makes every put and del so
 * far durable.  nc_backup_write() stores the chunks, syncs, then writes the
 * manifest and syncs again before it reports success: a chunk is durable
 * before any manifest references it, and the manifest is durable before
 * success is reported.  So a crash at any point leaves every manifest
 * whole and every chunk it references in place; what it can leave behind,
 * lost or torn, is only chunks no manifest references (and the manifest of
 * the backup that did not report success), which check reports and prune
 * deletes.  Until prune runs, a later backup may find such a chunk by
 * exists() and reuse it: the directory target reports an empty (torn)
 * file as absent, so it is written again; a torn non-empty file (possible
 * on some file systems) would be caught by restore's verification and by
 * check --read-data.  Running prune after an unclean shutdown removes both.
 * nc_backup_prune() deletes manifests first and then the chunks no
 * remaining manifest references (mark and sweep); it refuses to sweep when
 * any manifest cannot be read.  Prune must not run concurrently with a
 * backup to the same repository (a backup in progress has chunks not yet
 * referenced): the caller holds a lease around both (drivers/lease/lease.h).
 *
 * Determinism: nothing here reads the clock; times come from the caller,
 * and lists are sorted by (vm, disk, time, id).
 *
 * Every call returns 0 or a negative code and fills the caller's struct
 * nc_err on failure; outputs are written only on success and belong to the
 * caller.  A repository handle is not thread-safe.
 */
#ifndef NC_BACKUP_H
#define NC_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../driver.h"

#define NC_BACKUP_FORMAT 1
#define NC_BACKUP_ID_HEX 64                      /* chunk and snapshot ids */
#define NC_BACKUP_DEFAULT_CHUNK (64u * 1024)
#define NC_BACKUP_MIN_CHUNK 4096u
#define NC_BACKUP_MAX_CHUNK (16u * 1024 * 1024)
#define NC_BACKUP_ENOENT (-2)                    /* target get/delete: no such object */

/* ---- targets: where objects live ---- */

struct nc_backup_target {
	const struct nc_backup_target_driver *drv;
};

struct nc_backup_location;

struct nc_backup_target_driver {
	const char *name;
	/* Opens the target at loc (its type's fields); create: make it if missing. */
	int (*open)(struct nc_backup_target **out, const struct nc_backup_location *loc,
		bool create, struct nc_err *err);
	/* Stores an object atomically (a reader sees the old or the new one, whole). */
	int (*put)(struct nc_backup_target *t, const char *name, const void *data,
		size_t len, struct nc_err *err);
	/* Reads an object into *out (caller frees); NC_BACKUP_ENOENT when it does not exist. */
	int (*get)(struct nc_backup_target *t, const char *name, unsigned char **out,
		size_t *out_len, struct nc_err *err);
	/* 1 exists, 0 does not, negative on error. */
	int (*exists)(struct nc_backup_target *t, const char *name, struct nc_err *err);
	/* Names under "chunks" or "snapshots", without the prefix, sorted. */
	int (*list)(struct nc_backup_target *t, const char *dir, char ***out,
		size_t *out_n, struct nc_err *err);
	/* Deletes an object; deleting a missing one is not an error. */
	int (*del)(struct nc_backup_target *t, const char *name, struct nc_err *err);
	/* Makes every put and del so far durable. */
	int (*sync)(struct nc_backup_target *t, struct nc_err *err);
	void (*close)(struct nc_backup_target *t);
};

extern const struct nc_backup_target_driver nc_backup_target_dir;
extern const struct nc_backup_target_driver nc_backup_target_rados, nc_backup_target_s3,
	nc_backup_target_swift;

/*
 * Where a repository lives, from a BackupSchedule's target or the CLI.
 * Implemented by drivers/backup/target.c (dispatch), target-dir.c,
 * target-rados.c (librados) and target-s3.c (S3 with SigV4, and Swift,
 * over libcurl).
 *
 * rados: prefix names the RADOS namespace the repository's objects live in
 * (one repository per namespace; NULL = the pool's default namespace); the
 * pool must exist (it is never created).  s3, swift: prefix is prepended to
 * every object key ("backups/web/" gives "backups/web/chunks/<id>").
 * credentials_file (mode 0600 or stricter, or it is refused) holds
 * "key = value" lines, '#' comments: access_key and secret_key for s3,
 * user and key for swift (auth v1 at endpoint/auth/1.0 unless the endpoint
 * already ends in /auth/1.0 or /auth/v1.0).
 */
struct nc_backup_location {
	const char *type;              /* "dir", "rados", "s3", "swift" */
	const char *path;              /* dir: repository directory */
	const char *pool;              /* rados: pool */
	const char *ceph_conf;         /* rados: NULL = /etc/ceph/ceph.conf */
	const char *ceph_user;         /* rados: cephx id, NULL = admin */
	const char *endpoint;          /* s3, swift: http(s)://host[:port] */
	const char *bucket;            /* s3 bucket / swift container */
	const char *region;            /* s3: NULL = us-east-1 */
	const char *credentials_file;  /* s3, swift */
	const char *prefix;            /* rados: namespace; s3, swift: key prefix; NULL = none */
};
/* Opens the target a location names; create: make the bucket/dir if missing. */
int nc_backup_target_open(struct nc_backup_target **out, const struct nc_backup_location *loc,
	bool create, struct nc_err *err);

/* Frees a list returned by a target's list(). */
void nc_backup_names_free(char **names, size_t n);

/* ---- repositories ---- */

struct nc_backup_repo;

struct nc_backup_repo_opts {
	const char *key_file;    /* NULL: not encrypted */
	uint32_t chunk_size;     /* create only; 0 = NC_BACKUP_DEFAULT_CHUNK */
	int zstd_level;          /* 0 = 3 */
	bool no_compression;     /* store chunks as they are (this writer; readers take both) */
	unsigned threads;        /* hashing/compression workers in nc_backup_write();
				    0 = one per online CPU (at most 8), 1 = none; the
				    result is the same whatever the number */
};

/*
 * Creates a repository on target t (refused when it already holds one) or
 * opens an existing one.  On success the repository owns t and closes it in
 * nc_backup_close(); on failure t stays the caller's.
 */
int nc_backup_create(struct nc_backup_repo **out, struct nc_backup_target *t,
	const struct nc_backup_repo_opts *o, struct nc_err *err);
int nc_backup_open(struct nc_backup_repo **out, struct nc_backup_target *t,
	const struct nc_backup_repo_opts *o, struct nc_err *err);
/* The same on a local directory. */
int nc_backup_create_dir(struct nc_backup_repo **out, const char *path,
	const struct nc_backup_repo_opts *o, struct nc_err *err);
int nc_backup_open_dir(struct nc_backup_repo **out, const char *path,
	const struct nc_backup_repo_opts *o, struct nc_err *err);
void nc_backup_close(struct nc_backup_repo *r);

/*
 * Checks a key file as create and open do, without a repository: readable,
 * 32 raw bytes or 64 hex digits, and no group/other permission bits (a key
 * others can read is refused, with the chmod to run).  Lets a caller refuse
 * before it makes a target.
 */
int nc_backup_key_check(const char *path, struct nc_err *err);

uint32_t nc_backup_chunk_size(const struct nc_backup_repo *r);
bool nc_backup_encrypted(const struct nc_backup_repo *r);

/* ---- snapshots ---- */

struct nc_backup_snapshot {
	char id[NC_BACKUP_ID_HEX + 1];
	char *vm, *disk;
	uint64_t disk_size;
	int64_t time;
	bool quiesced;
	char parent[NC_BACKUP_ID_HEX + 1];   /* "" = none */
	char checkpoint[128];                /* libvirt checkpoint taken with it; "" = none */
	uint32_t chunk_size;
	size_t nchunks;
	unsigned char (*chunks)[32];         /* 32 zero bytes = an all-zero chunk */
	unsigned char (*bases)[32];          /* chunk i is a delta on bases[i]; 32 zero bytes = full */
};
void nc_backup_snapshot_release(struct nc_backup_snapshot *s);
void nc_backup_snapshots_free(struct nc_backup_snapshot *v, size_t n);

/* Every snapshot, sorted by (vm, disk, time, id). */
int nc_backup_list(struct nc_backup_snapshot **out, size_t *out_n,
	struct nc_backup_repo *r, struct nc_err *err);
/* One snapshot by id or unique id prefix (at least 4 hex digits). */
int nc_backup_snapshot_load(struct nc_backup_snapshot *out, struct nc_backup_repo *r,
	const char *id, struct nc_err *err);

/* ---- backup ---- */

struct nc_backup_meta {
	const char *vm;          /* [A-Za-z0-9._-]{1,255} */
	const char *disk;        /* same */
	uint64_t disk_size;
	int64_t time;            /* seconds since the epoch (UTC), from the caller */
	bool quiesced;           /* guest file systems were frozen */
	const char *parent;      /* snapshot id or prefix of the same vm and disk; NULL = none */
	const char *checkpoint;  /* libvirt checkpoint marking this point ([A-Za-z0-9._-]); NULL = none */
};

/* Byte ranges of a disk: changed since the parent (dirty bitmap), or all zero. */
struct nc_backup_extent {
	uint64_t offset, length;
};

/*
 * Where nc_backup_write() reads the disk image.  read() reads exactly len
 * bytes at offset; 0 or negative.  It is called from one thread at a time,
 * in offset order, but not necessarily the thread that called
 * nc_backup_write() (a reader thread of the pipeline calls it, so reads
 * overlap hashing, compression and stores).  The two fields after ctx are
 * optional: a source given as { read, ctx } reads one chunk a call and
 * reports no zeros.
 *
 * zeros: the extents of [offset, offset+len) known to read as zeros
 * (sorted, merged; *out malloc'd, the caller frees it; NULL with 0), asked
 * once for each run of chunks to be read before any of them is; a chunk
 * wholly inside one is taken as an all-zero chunk without reading it (the
 * same manifest as reading it: a zero chunk is never stored).  NULL: none.
 *
 * max_read: the largest read in bytes: consecutive chunks to be read are
 * asked for together, up to this many bytes (rounded down to whole
 * chunks); 0 = one chunk a call.
 *
 * read_batch: several reads at once (runs of chunks that are not
 * consecutive, as an increment's scattered changes give), n >= 1, in
 * offset order, max_read bytes in all at most, so that the source can
 * keep several in flight; 0 or negative as read().  NULL: read() each.
 */
struct nc_backup_read {
	uint64_t offset;
	void *buf;
	size_t len;
};

struct nc_backup_source {
	int (*read)(void *ctx, uint64_t offset, void *buf, size_t len, struct nc_err *err);
	void *ctx;
	int (*zeros)(void *ctx, uint64_t offset, uint64_t len, struct nc_backup_extent **out,
		size_t *out_n, struct nc_err *err);
	size_t max_read;
	int (*read_batch)(void *ctx, const struct nc_backup_read *v, size_t n, struct nc_err *err);
};
struct nc_backup_changes {
	const struct nc_backup_extent *v;
	size_t n;
};

struct nc_backup_stats {
	char id[NC_BACKUP_ID_HEX + 1];   /* the new snapshot */
	uint64_t bytes_read;             /* from the source (chunks known zero are not read) */
	uint64_t bytes_stored;           /* objects written: new chunks + manifest */
	size_t chunks;                   /* in the snapshot */
	size_t chunks_new;               /* read and stored */
	size_t chunks_reused;            /* read, already in the repository */
	size_t chunks_zero;              /* all zero (read, or known zero from the source's zeros()) */
	size_t chunks_unchanged;         /* not read: taken from the parent */
	size_t chunks_delta;             /* of chunks_new: stored as deltas on the parent's chunk */
};

/*
 * Backs up one disk image.  changes NULL: every chunk is read.  Otherwise
 * (meta->parent required) only the chunks overlapping an extent are read and
 * every other chunk is the parent's.  Chunks already stored are not stored
 * again; with a parent, new chunks are stored as deltas on the parent's
 * chunks where that is smaller (see "delta chunk" above); the manifest is
 * written last.
 */
int nc_backup_write(struct nc_backup_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_meta *meta, const struct nc_backup_source *src,
	const struct nc_backup_changes *changes, struct nc_err *err);

/* ---- restore ---- */

struct nc_backup_sink {
	int (*write)(void *ctx, uint64_t offset, const void *buf, size_t len, struct nc_err *err);
	/* Optional: make [offset, offset+len) read as zeros; NULL = write() zeros. */
	int (*zero)(void *ctx, uint64_t offset, uint64_t len, struct nc_err *err);
	void *ctx;
};

struct nc_backup_restore_stats {
	uint64_t bytes_written;          /* through write() and zero() */
	size_t chunks_fetched;
};

/*
 * Writes the disk image of snapshot id (or unique prefix) to sink, chunk by
 * chunk in offset order, in two passes: the first fetches and checks every
 * chunk (GCM tag, decompression, delta base, length, then its id against
 * the bytes) and writes nothing, so a damaged repository fails the restore
 * before the first byte reaches sink; the second writes, checking each
 * chunk again.  A failure in the second pass (the repository changed or
 * became unreadable in between, or sink failed) leaves what was written
 * written, and the message says so.  out may be NULL.
 */
int nc_backup_restore(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const char *id, const struct nc_backup_sink *sink, struct nc_err *err);

/*
 * The two passes apart, on a loaded snapshot, for a caller that restores
 * several disks and must verify all of them before it writes any:
 * nc_backup_verify_snapshot() is the first pass (writes nothing; out counts
 * the chunks fetched, bytes_written stays 0), nc_backup_restore_snapshot()
 * the second (still checks every chunk; a failure there is reported as the
 * repository having changed since it was verified).
 */
int nc_backup_verify_snapshot(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, struct nc_err *err);
int nc_backup_restore_snapshot(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, const struct nc_backup_sink *sink, struct nc_err *err);
/*
 * One pass that writes each chunk as soon as it is checked, for a target
 * that is thrown away when the restore fails (a volume the restore itself
 * created): half the work of verify + write.  A bad chunk stops it at that
 * chunk ("restore <id>: chunk N (offset O): why"), with what came before
 * it written; the caller removes the target.
 *
 * All three passes fetch and check chunks on r->threads worker threads and
 * call the sink from the calling thread in offset order: write() once per
 * data chunk, zero() once per run of consecutive zero chunks.
 */
int nc_backup_restore_snapshot_once(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, const struct nc_backup_sink *sink, struct nc_err *err);

/* ---- check ---- */

struct nc_backup_check_opts {
	bool read_data;          /* fetch and verify every chunk, not just its presence */
};

struct nc_backup_check_report {
	size_t snapshots, snapshots_bad;
	size_t chunks_referenced;        /* distinct */
	size_t chunks_missing, chunks_corrupt;
	size_t chunks_unreferenced;      /* left by interrupted backups; prune deletes them */
	size_t chunks_delta;             /* of chunks_referenced: deltas (by the manifests) */
	char **problems;                 /* one line each, at most 1000 */
	size_t nproblems;
};
void nc_backup_check_report_release(struct nc_backup_check_report *c);

/*
 * Checks that every manifest reads and every chunk it references exists
 * (and, with read_data, decrypts, decompresses and matches its id).
 * Returns 0 when the check ran, whatever it found: the repository is
 * consistent when out->nproblems == 0.
 */
int nc_backup_check(struct nc_backup_check_report *out, struct nc_backup_repo *r,
	const struct nc_backup_check_opts *o, struct nc_err *err);

/* ---- retention and prune ---- */

/*
 * Per (vm, disk): keep the newest keep_last snapshots, and the newest
 * snapshot of each of the newest keep_daily days, keep_weekly ISO weeks and
 * keep_monthly months that have snapshots (UTC).  The union is kept.
 */
struct nc_backup_retention {
	unsigned keep_last, keep_daily, keep_weekly, keep_monthly;
};

/* keep[i] for snapshots v[0..n) (any order); pure, for plans and tests. */
void nc_backup_retention_select(bool *keep, const struct nc_backup_snapshot *v, size_t n,
	const struct nc_backup_retention *ret);

struct nc_backup_prune_report {
	char **removed;                  /* snapshot ids deleted (or that would be), sorted */
	size_t nremoved;
	size_t kept;
	size_t chunks_deleted;           /* (or that would be) */
	size_t chunks_kept;
};
void nc_backup_prune_report_release(struct nc_backup_prune_report *p);

/*
 * Deletes the snapshots outside retention, then every chunk no remaining
 * snapshot references.  A retention that keeps nothing is refused.
 * dry_run: only report.
 */
int nc_backup_prune(struct nc_backup_prune_report *out, struct nc_backup_repo *r,
	const struct nc_backup_retention *ret, bool dry_run, struct nc_err *err);

/* ---- copy between repositories ---- */

struct nc_backup_copy_opts {
	bool dry_run;            /* count what would be sent; write nothing */
};

struct nc_backup_copy_stats {
	char id[NC_BACKUP_ID_HEX + 1];   /* the snapshot in the destination ("" after a
					    re-encoding dry run: its id is not known) */
	bool raw;                        /* objects sent as stored (see below), else re-encoded */
	bool exact;                      /* bytes_sent is exact; false: an upper bound */
	bool already;                    /* the destination held this copy already */
	size_t chunks_present;           /* distinct chunks the destination held */
	size_t chunks_sent;              /* chunks written (or that would be) */
	uint64_t bytes_sent;             /* object bytes written to the destination
					    (chunks + manifest): what crosses the link */
	uint64_t bytes_read;             /* bytes read from the source */
};

/*
 * Copies snapshot id (or unique prefix) of src into dst, sending only the
 * chunks dst lacks, in one of two ways (drivers/backup/copy.c):
 * raw when both repositories have the same chunk size and keys (unencrypted
 * both, or encrypted with the same key: nc_backup_copy_raw()), comparing
 * chunk ids and sending missing chunks as they are stored (each checked
 * against its id in src first; a delta's base first when dst lacks it);
 * otherwise re-encoded: the image is read from src and written into dst
 * with nc_backup_write() on dst's newest earlier snapshot of the same VM
 * and disk as parent, so dst hashes with its own key and stores only
 * chunks it lacks.  Both repositories must be open, so an encrypted one
 * needs its key: without it nc_backup_open() already refused, and no copy
 * is possible.  The copy's manifest has no checkpoint, and the same
 * snapshot copied again gives the same id (no duplicate).  Works on every
 * target type (only the target vtable is used).  dst NULL with dry_run:
 * what a copy into an empty repository of the same format would send.
 */
int nc_backup_copy_snapshot(struct nc_backup_copy_stats *out, struct nc_backup_repo *dst,
	struct nc_backup_repo *src, const char *id, const struct nc_backup_copy_opts *o,
	struct nc_err *err);
/* Chunk ids mean the same in both repositories (a raw copy is possible). */
bool nc_backup_copy_raw(const struct nc_backup_repo *dst, const struct nc_backup_repo *src);

#endif
