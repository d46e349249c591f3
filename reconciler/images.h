/*
 * images.h - base images (kind Image) from their source to the pools that
 * need them (issue 11; docs/spec.md "Image", docs/plan.md, docs/security.md).
 *
 * An Image names a source (a URL, or a file name inside the operator's
 * paths.images directories), a required sha256 and a format.  A disk whose
 * `image:` names it becomes a copy-on-write clone of the Image's volume in
 * the disk's pool: "novacron-image-NAME-SHA12.qcow2" (or .raw) in a dir
 * pool, "novacron-image-NAME-SHA12" in an rbd pool.  The name carries the
 * first 12 hex digits of the sha256, so a present volume is reused and a
 * changed sha256 gives a new volume (the old one stays: clones hang off it).
 *
 * A volume counts only with its completion mark, the small volume
 * "VOLUME.ok" made after the upload of verified bytes finished and the
 * daemon's file has their length: a pass killed mid-upload leaves a volume
 * without mark, which the next plan shows and apply replaces.
 *
 *   observe  each host: which Image volumes (and marks) its dir pools hold,
 *            for the (pool, Image) pairs VM disks use; rbd pools once.
 *   resolve  (before plan, no network) where each used Image's bytes are:
 *            a file source is looked up in the images roots and hashed (the
 *            result remembered in STATE_DIR/images/checked/ by path, size,
 *            mtime and inode); a URL source is in the cache
 *            STATE_DIR/images/SHA256 once apply downloaded it.
 *   plan     an upload action per (host, dir pool) or (rbd pool) that a VM
 *            create needs and that lacks the volume; the creates wait for it.
 *            A URL not cached yet gets one HEAD request (nc_images_check_urls),
 *            only for uploads to real hosts.
 *   apply    downloads URL images into the cache (libcurl, verified, see
 *            nc_image_fetch), then runs the uploads in parallel, one thread
 *            per action.  Simulated hosts get the bytes only when they are
 *            here already (a file source, or a cached URL); else the volume is
 *            recorded as a 2 GiB placeholder without bytes.
 */
#ifndef NC_IMAGES_H
#define NC_IMAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "../spec/model.h"
#include "../spec/roots.h"
#include "pass.h"

/* where the bytes of one Image are */
struct nc_image_src {
	const struct nc_image *im;
	char *path;              /* local file with the verified bytes; NULL: not here (URL not cached) */
	uint64_t size;           /* of path */
	char *error;             /* why it cannot be used: shown as a plan error */
	char *shown;             /* "file NAME" or the URL, redacted */
};
struct nc_image_set {
	struct nc_image_src *v;  /* Images of the spec that VM disks use, by name */
	size_t n;
	char *cache_dir;         /* STATE_DIR/images */
};

/* The Image volume's name in pool (caller frees). */
char *nc_image_volume(const struct nc_image *im, const struct nc_pool *pool);
/* What a clone's base is: dir: POOL_PATH/VOLUME; rbd: VOLUME (caller frees). */
char *nc_image_base(const struct nc_image *im, const struct nc_pool *pool);

/* Fills the image volumes of one host (conn: dir pools) or of the rbd pools (conn NULL). */
void nc_images_observe(struct nc_image_vol **out, size_t *nout, struct nc_host_conn *conn,
		       const struct nc_spec *spec);
void nc_image_vols_free(struct nc_image_vol *v, size_t n);

/* Resolves the Images VM disks use (no network).  roots: the images roots. */
void nc_images_resolve(struct nc_image_set *out, const struct nc_spec *spec,
		       const struct nc_path_roots *roots, const char *state_dir);
void nc_image_set_release(struct nc_image_set *s);
const struct nc_image_src *nc_image_set_find(const struct nc_image_set *s, const char *name);

/* After nc_plan_build: a HEAD request for each URL not cached that an upload to a real host needs. */
void nc_images_check_urls(struct nc_plan *p, const struct nc_cluster *c, const struct nc_image_set *s);

/*
 * Downloads src's URL into the cache (libcurl: http/https only, redirects
 * too; no credentials; connect timeout 30 s, below 1 KiB/s for 60 s aborts;
 * at most NC_IMAGE_MAX_BYTES), hashing as it writes; a sha256 mismatch
 * removes the file.  On success src->path and size are set.
 */
#define NC_IMAGE_MAX_BYTES (256ULL << 30)
int nc_image_fetch(struct nc_image_src *src, const char *cache_dir, struct nc_err *err);

/* Runs the plan's upload actions [first, last) in parallel (apply.c). */
struct nc_image_upload_job {
	const struct nc_action *a;
	struct nc_host_conn *conn;
	int rc;
	struct nc_err err;
	double seconds;
	int state;               /* internal: 0 waiting, 1 running, 2 done */
};
void nc_images_upload(struct nc_image_upload_job *jobs, size_t n, const struct nc_spec *spec,
		      const struct nc_image_set *s);

#endif
