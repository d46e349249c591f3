/*
 * storage.h - VM disk volumes in StoragePools (issue 6).
 *
 * Two back-ends behind one set of calls:
 *   dir  a directory of qcow2 volumes on a host, through libvirt's storage
 *        API on that host's connection (a libvirt pool named
 *        "novacron-<POOL>", type dir, defined and started when missing).
 *        Simulated hosts (sim://) use the test driver's storage, saved with
 *        the host's state file.  A volume made from a base image is a qcow2
 *        overlay whose backing file is the image (copy-on-write).
 *   rbd  Ceph RBD images through librbd, reached from the NovaCron machine
 *        (ceph.conf and cephx user from the pool spec); the pool is shared
 *        by every host.  A volume made from a base image is a clone of the
 *        image's snapshot "novacron-base" (created and protected when
 *        missing), copy-on-write.
 *
 * netfs pools (storage/netfs.c) are dir pools whose libvirt pool is of type
 * netfs: pool_def.netfs_server is set, and the host's libvirt mounts
 * SERVER:EXPORT at the pool's path when it starts the pool.  Every volume
 * call is the dir back-end's, and every one defines the pool when missing
 * (a mount makes no data; a VM that moves needs the share on its new host).  A pool that cannot start (the server is
 * away) fails the call with "storage pool P: cannot mount SERVER:EXPORT at
 * PATH: <libvirt's error>"; nothing is defined again or deleted.
 *
 * Volume names are "<VM>-<DISK>" (rbd) or "<VM>-<DISK>.qcow2" (dir), the
 * names reconciler/desired.c puts into domain XML.
 *
 * Growing resizes in place (never replaces: data is kept); a running
 * domain's disk is grown with virDomainBlockResize so the guest sees it.
 * Shrinking is refused, before anything is touched, with an error naming
 * both sizes; growing to the current size does nothing.
 *
 * dir details: the pool is looked up by name; a pool that exists with a
 * different target path is an error (never redefined behind the user's
 * back).  Only nc_vol_create defines a pool; the other calls take a
 * missing pool as holding no volumes, but start a defined, inactive one;
 * every call refreshes the pool first.  A base image is probed on the host (a volume of any
 * libvirt pool: its XML), else here (qcow2 magic "QFI\xfb" and header size,
 * or raw and the file size), else its format is left to libvirt to probe on
 * the host.  Volume XML is built and parsed with libxml2.
 *
 * Simulated hosts (sim://): the same calls on the test driver's in-memory
 * pools and volumes; no file is created anywhere.  The host's commit()
 * (drivers/host/libvirt.c) saves every pool with its volumes into the state file
 * (/node/pool/volume, the test driver's node format), so they survive
 * closing and reopening the host; a saved pool comes back started.  The
 * test driver has no virStorageVolResize nor virDomainBlockResize: growing
 * is emulated by deleting and recreating the volume's metadata with the new
 * capacity (a simulated volume has no data to keep).
 *
 * rbd details: each call connects (librados) and disconnects; allocation
 * is reported as 0 (unknown).  A base image is "IMAGE" in the same Ceph
 * pool; the clone's backing is "POOL/IMAGE".  A running domain's rbd disk
 * is grown by QEMU (virDomainBlockResize on host, which resizes the image
 * through librbd), a stopped one with rbd_resize.
 *
 * Mutating calls honour NOVACRON_FAIL_AT (driver.h).  Every call returns
 * 0 or negative with err filled.
 */
#ifndef NC_STORAGE_H
#define NC_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "../driver.h"

struct nc_pool_def {
	const char *name;        /* spec StoragePool name */
	const char *type;        /* "dir" or "rbd" */
	const char *path;        /* dir: directory on the host */
	const char *rbd_pool;    /* rbd: Ceph pool */
	const char *ceph_conf;   /* rbd: NULL = /etc/ceph/ceph.conf */
	const char *ceph_user;   /* rbd: cephx id, NULL = admin */
	const char *key_file;    /* rbd: the user's cephx key; NULL = the keyring ceph.conf names */
	const char *netfs_server; /* type "dir" with an NFS share (netfs pools): the server; NULL = a plain dir */
	const char *netfs_export; /* its export */
	int netfs_version;       /* 3, 4, 0 = what mount negotiates */
};

struct nc_volume {
	bool exists;
	uint64_t capacity;       /* virtual size, bytes */
	uint64_t allocation;     /* bytes used (0 when unknown) */
	char *format;            /* "qcow2", "raw" */
	char *path;              /* dir: file path; rbd: pool/image */
	char *backing;           /* base image it was cloned from; NULL = none */
};
void nc_volume_release(struct nc_volume *v);

/* host may be NULL for rbd pools. */
int nc_vol_info(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	struct nc_volume *out, struct nc_err *err);
/*
 * Creates vol of size bytes; base_image (NULL = empty volume): dir: a path
 * (qcow2 or raw, probed) used as the backing file; rbd: an image name in the
 * same Ceph pool.  The volume is at least as large as the base image.
 * Refused when vol exists.
 */
int nc_vol_create(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	uint64_t size, const char *base_image, struct nc_err *err);
/*
 * Grows vol to size bytes.  running_domain/target: when the volume is a
 * disk of a running domain, its name and disk target (vda), so QEMU resizes
 * it live; NULL when not running.  Smaller than the current size: refused.
 */
int nc_vol_resize(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	uint64_t size, const char *running_domain, const char *target, struct nc_err *err);
/* Deletes vol; a missing one is not an error. */
int nc_vol_delete(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	struct nc_err *err);

/*
 * Uploads an image: len bytes of fd, read with pread from offset 0 (fd's
 * own offset is neither used nor moved), become the new volume vol of
 * pool pd.  format ("qcow2", "raw", NULL = raw) is what the bytes are; the
 * volume is recorded with it.  Streams in 1 MiB pieces: never the whole
 * file in memory.  Refused when vol exists (callers reuse or delete it
 * first: a name that carries the content's hash is never overwritten).
 *   dir  virStorageVolCreateXML (a raw file of len bytes, sparse),
 *        virStreamNew, virStorageVolUpload and virStreamSparseSendAll:
 *        holes of fd (SEEK_HOLE) are sent as holes, and stay holes in the
 *        volume.  The daemon probes the format when it refreshes the pool.
 *        Afterwards the volume's file must hold exactly len bytes.
 *   sim  (sim:// hosts) the test driver cannot upload: the volume is
 *        recorded with capacity len and the format, without the bytes.
 *   rbd  only raw: rbd_create of len bytes and rbd_write in 4 MiB pieces;
 *        zeroed pieces are skipped (the image stays thin).
 * On any failure the new volume is deleted again (best effort: a process
 * killed mid-upload can leave a partial volume; callers that reuse volumes
 * by name mark completion themselves, see reconciler/images.c).
 */
int nc_vol_upload(struct nc_host_conn *conn, const struct nc_pool_def *pd, const char *vol,
	const char *format, int fd, uint64_t len, struct nc_err *err);
/*
 * nc_vol_upload, and the SHA-256 of the bytes sent (holes read as zeros)
 * must be sha256 (64 lowercase hex digits): the bytes that reached the
 * host are the ones that were verified, even when the file changed since.
 * A mismatch deletes the volume and fails.
 */
int nc_vol_upload_verified(struct nc_host_conn *conn, const struct nc_pool_def *pd, const char *vol,
	const char *format, int fd, uint64_t len, const char *sha256, struct nc_err *err);
/*
 * ---- moving a volume between two dir pools of one host (storage/move.c; storage tiers) ----
 *
 * nc_vol_move: vol of pool `from` gets a copy in pool `to` (made when
 * missing) that the domain's disk `target` (vda) then uses.  running, on a
 * libvirt host: live, virDomainBlockCopy into a volume made beforehand (same
 * capacity and format, the same backing file: a shallow copy), waited on
 * until ready (timeout_ms, 0 = 1 h), then virDomainBlockJobAbort(PIVOT);
 * else (stopped, or a simulated host, whose test driver has no block jobs)
 * offline: virStorageVolCreateXMLFrom.  The domain's persistent definition
 * is not changed, nor the old volume deleted: the caller redefines the
 * domain, then deletes vol from `from` and calls nc_vol_move_unmark.
 *
 * A marker volume VOL.novacron-move in `to` says a move began: a leftover
 * volume with it (a move cut short) is replaced; without it a volume of
 * that name in `to` is someone else's and the move fails, naming it.  A
 * guest whose live disk is already the new file (a pass cut short after the
 * pivot) is left as it is: 0.  On failure the job is aborted without pivot
 * (the guest keeps its old volume) and the new volume is deleted.
 * *bytes: the volume's allocation (what was copied).  Honours
 * NOVACRON_FAIL_AT ("vol-move": the copy made, before the pivot).
 */
int nc_vol_move(struct nc_host_conn *host, const struct nc_pool_def *from, const struct nc_pool_def *to,
	const char *vol, const char *domain, const char *target, bool running, unsigned timeout_ms,
	uint64_t *bytes, struct nc_err *err);
int nc_vol_move_unmark(struct nc_host_conn *host, const struct nc_pool_def *to, const char *vol, struct nc_err *err);

/*
 * ---- copying a volume to another host (cold migration; storage/copy.c) ----
 *
 * nc_vol_copy copies vol of pool from src to the same pool on dst (made
 * there when missing): a volume of the same capacity and format is created
 * on dst, then virStorageVolDownload on src is streamed into
 * virStorageVolUpload on dst as a sparse stream (holes are not sent; the
 * bytes are the volume's file, so a qcow2 overlay keeps its backing file).
 *   - the volume is missing on src: out->found false, nothing done;
 *   - dst already sees a volume of that name: a probe volume made on dst
 *     tells whether src sees it too (one directory shared by both hosts,
 *     e.g. NFS): then out->shared, nothing copied; else the one on dst is
 *     the leftover of an interrupted copy (the VM is still defined on src,
 *     where its disk is) and is replaced;
 *   - rbd pools are shared by every host: out->shared, nothing copied;
 *   - a qcow2 overlay whose backing file dst already has (a volume at the
 *     same path: an Image NovaCron put there, or an earlier copy) keeps its
 *     chain and only the overlay is sent; else, when the backing file is a
 *     volume of the same pool on src (a bare image name), it is copied
 *     first and stays on dst for the next VM of that image (never removed
 *     from src: other VMs may use it), and after it its completion mark
 *     "BASE.ok" when src has one (an Image's, reconciler/images.h: without
 *     it dst's copy would count as a cut-short upload).  A backing file
 *     elsewhere is an error on real hosts (put the image on the
 *     destination first);
 *   - simulated hosts (the test driver has no volume upload/download): the
 *     volume's metadata (capacity, allocation, format, backing) is created
 *     on dst, so a pool without room for its allocation fails as a real one.
 * On failure everything made on dst is removed again and src is untouched.
 * On success out->created lists the paths made on dst (for
 * nc_vol_copy_undo when a later step fails); the caller removes the source
 * volume once the VM is defined on dst.  progress(opaque, bytes) reports
 * the data bytes sent so far for this call.  Honours NOVACRON_FAIL_AT
 * ("vol-copy", counted once per volume, after its first data is sent: a
 * copy killed midway).
 *
 * A volume of the same name already on dst is overwritten only when it is
 * the leftover of an interrupted copy: a copy first makes a marker volume
 * VOL.novacron-copy beside it, removed by nc_vol_copy_unmark once the
 * domain is defined on dst.  Without the marker, the volume is someone
 * else's (an operator's file, a disk a deleted VM retained) and the copy
 * fails, naming it.
 */
struct nc_vol_copy {
	bool found;              /* vol exists on src */
	bool shared;             /* dst sees the same volume: nothing copied */
	uint64_t bytes;          /* data bytes sent (holes not counted) */
	char **created;          /* paths made on dst, the volume last */
	size_t ncreated;
	char *marker;            /* path of the marker made on dst, if any */
};
int nc_vol_copy(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_pool_def *pool,
	const char *vol, struct nc_vol_copy *out, void (*progress)(void *opaque, uint64_t bytes),
	void *opaque, struct nc_err *err);
/* Deletes on dst what a copy made there (last first); missing ones are fine. */
int nc_vol_copy_undo(struct nc_host_conn *dst, const struct nc_vol_copy *c, struct nc_err *err);
void nc_vol_copy_release(struct nc_vol_copy *c);
/* Removes vol's copy marker from pool on dst (missing: fine). */
int nc_vol_copy_unmark(struct nc_host_conn *dst, const struct nc_pool_def *pool, const char *vol,
	struct nc_err *err);
/*
 * 1 when src and dst see one and the same vol (shared storage: rbd, or a
 * dir both hosts mount), 0 when not or when either lacks it.
 */
int nc_vol_shared(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_pool_def *pool,
	const char *vol, struct nc_err *err);

/*
 * cephx keys (storage/rbd.c).  nc_ceph_key_load() reads the key of client.USER
 * (user NULL = admin) from path: a keyring ("[client.USER]" sections with
 * "key = ...", as `ceph auth get` writes) or the bare base64 key (as `ceph
 * auth get-key` writes).  The file must be private to its owner (spec/util.h
 * nc_read_secret_file).  On success *out_b64 is the key as Ceph writes it and
 * *out_raw and *out_len its decoded bytes (what a libvirt ceph secret holds);
 * free both with nc_ceph_key_free(), which wipes them.  Messages name the
 * file, never its content.
 */
int nc_ceph_key_load(const char *path, const char *user, char **out_b64, unsigned char **out_raw,
		     size_t *out_len, struct nc_err *err);
void nc_ceph_key_free(char *b64, unsigned char *raw, size_t len);

/*
 * The monitors of the cluster that ceph_conf describes (its "mon host" or
 * "mon_host", read with librados: no connection is made), one "HOST PORT"
 * pair per monitor for libvirt's <host name= port=>: the msgr1 address of an
 * address vector (QEMU's librbd takes a bare host:port as msgr1), the
 * default port 6789 when none is written.  *out is a NULL-terminated array;
 * free with nc_strv_free().  0 and an empty array when none are configured.
 */
/*
 * Telemetry of an rbd pool (telemetry/collect.c): its Ceph cluster's raw
 * capacity, used and available bytes (rados_cluster_stat, what `ceph df`
 * shows as RAW STORAGE: every pool of a cluster shares them, replicas
 * included).  Connects (the pool must exist) and disconnects.
 */
int nc_rbd_pool_usage(const struct nc_pool_def *pool, uint64_t *capacity, uint64_t *used,
		      uint64_t *available, struct nc_err *err);
int nc_ceph_monitors(const char *ceph_conf, char ***out, struct nc_err *err);
void nc_strv_free(char **v);

/* ---- internal: the back-ends behind the calls above (one file each) ---- */
/* netfs.c: the libvirt pool XML of a netfs pool_def (name "novacron-<POOL>"), built with libxml2 */
char *nc_netfs_pool_xml(const char *name, const struct nc_pool_def *pool);
/*
 * netfs.c: can host read netfs pool pd now?  1 yes (or libvirt has no such pool yet), 0 no
 * and err says why (it cannot be mounted or read: the server is away).  As every dir pool
 * call does, a defined, inactive pool is started (mounted) and the pool refreshed.
 */
int nc_netfs_probe(struct nc_host_conn *host, const struct nc_pool_def *pd, struct nc_err *err);
/* netfs.c: 0 when an existing libvirt pool's XML is that netfs pool, else -1 and err */
int nc_netfs_pool_check(const char *name, const char *xml, const struct nc_pool_def *pool, struct nc_err *err);
struct nc_upload_hash;   /* upload.c: a running SHA-256 */
void nc_upload_hash_update(struct nc_upload_hash *h, const void *buf, size_t len);
/* the dir back-end's upload (upload.c) */
int nc_storage_dir_upload(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	const char *format, int fd, uint64_t len, struct nc_upload_hash *hash, struct nc_err *err);
/* the started, refreshed libvirt pool of a dir spec pool (storage.c); see dir details */
struct _virStoragePool;
int nc_storage_dir_pool(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	bool create, struct _virStoragePool **out, struct nc_err *err);
struct nc_storage_backend {
	const char *type;        /* pool type it serves: "dir", "rbd" */
	int (*info)(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		    struct nc_volume *out, struct nc_err *err);
	int (*create)(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		      uint64_t size, const char *base_image, struct nc_err *err);
	int (*resize)(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		      uint64_t size, const char *running_domain, const char *target,
		      struct nc_err *err);
	int (*remove)(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		      struct nc_err *err);
	/* see nc_vol_upload; hash, when not NULL, gets every byte sent (in order) */
	int (*upload)(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		      const char *format, int fd, uint64_t len, struct nc_upload_hash *hash,
		      struct nc_err *err);
};
extern const struct nc_storage_backend nc_storage_dir;   /* storage.c */
extern const struct nc_storage_backend nc_storage_rbd;   /* storage/rbd.c */
/*
 * Shared by the back-ends: 1 when size grows vol from cur, 0 when it is the
 * same size (nothing to do), -1 and err ("disk VOL: shrinking from 20 GiB
 * to 10 GiB is not supported; ...") when it would shrink.
 */
int nc_storage_check_grow(const char *vol, uint64_t cur, uint64_t size, struct nc_err *err);
/* virDomainBlockResize(running_domain, target, size bytes) on host. */
int nc_storage_block_resize(struct nc_host_conn *host, const char *vol, const char *running_domain,
			    const char *target, uint64_t size, struct nc_err *err);

/* Virtual size of the volume at path in one of the host's pools; 0 when unknown. */
uint64_t nc_vol_capacity_by_path(struct nc_host_conn *host, const char *path);
/* Its virtual size and the bytes it holds (allocation); both 0 when unknown. */
void nc_vol_sizes_by_path(struct nc_host_conn *host, const char *path, uint64_t *capacity,
	uint64_t *allocation);

/* Deletes the pool volume at path (dir pools); not a pool volume or missing: 0. */
int nc_vol_delete_by_path(struct nc_host_conn *host, const char *path, struct nc_err *err);

/* The libvirt connection behind a libvirt or sim host (drivers/host/libvirt.c). */
struct _virConnect;
struct _virConnect *nc_libvirt_conn(struct nc_host_conn *host);
bool nc_libvirt_is_sim(struct nc_host_conn *host);

#endif
