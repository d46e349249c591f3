/*
 * rbd.c - the fence back-end that cuts a failed host's QEMU off its Ceph RBD
 * disks, as Ceph CSI and OpenStack do: for each disk "POOL/IMAGE" of the
 * VMs to restart, the client holding the image's exclusive lock
 * (rbd_lock_get_owners) is added to the OSD map's blocklist
 * (rados_blocklist_add), so the OSDs refuse its every later operation,
 * whatever its host does; then its lock is broken (rbd_lock_break), so the
 * restarted VM can take it.  Then the owners are read again: the disk is
 * fenced only when none is left.
 *
 * The blocklisting is done here, before the break, rather than by librbd
 * during it (rbd_blocklist_on_break_lock is set to false on this client,
 * explicitly): librbd's entry lasts rbd_blocklist_expire_seconds, and librbd
 * 16.2 (Debian 12) fails every lock break with EINVAL when that is not 0,
 * which means the monitors' mon_osd_blocklist_default_expire, 1 hour; and an
 * entry added again keeps its first expiry.  Here the entry lasts
 * NC_FENCE_BLOCKLIST_SECONDS (7 days).  A client's address (IP:port/nonce)
 * is never reused by a new process, so a long entry costs nothing.  When it
 * expires, a client that still runs could be served again: the old host must
 * have been rebooted, or its QEMU killed, by then (docs/ha.md).
 *
 * A disk without a lock owner was not written since its client opened it.
 * The clients that have it open are its watchers (rbd_watchers_list): each
 * (but this fence's own connection) is blocklisted the same way, and the
 * disk is fenced.  With neither owner nor watcher, nothing tells which
 * client to blocklist (a hung QEMU's watch expires after
 * osd_client_watch_timeout, 30 s, while it may still write when it wakes
 * up): the disk is NOT fenced, and the detail says why.  An image without
 * the exclusive-lock feature has no lock to break: not fenced either.
 *
 * Everything is bounded by the device's timeout: client_mount_timeout,
 * rados_mon_op_timeout and rados_osd_op_timeout are each a quarter of it,
 * and no new disk is started once it has passed.
 */
#include "fence.h"

#include <errno.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../spec/util.h"
#include "../storage/storage.h"

#define NC_FENCE_BLOCKLIST_SECONDS (7 * 24 * 3600)

struct rbd_fence {
	rados_t cluster;
	char *self;                    /* rados_getaddrs: this connection's addresses */
	const struct nc_fence_device *dev;
	unsigned broken, watchers;     /* locks broken, watchers blocklisted */
	struct nc_buf notes;           /* "; DISK not fenced: why" ... */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int connect_cluster(struct rbd_fence *f, struct nc_err *err)
{
	const struct nc_fence_device *dev = f->dev;
	const char *user = NC_IS_SET(dev->user) ? dev->user.v : "admin";
	uint64_t t = nc_fence_timeout_ms(dev) / 4000;
	char secs[32];
	int r;

	snprintf(secs, sizeof(secs), "%llu", (unsigned long long)(t ? t : 1));
	if ((r = rados_create(&f->cluster, user)) < 0) {
		nc_err_set(err, "cannot create a Ceph client: %s", strerror(-r));
		f->cluster = NULL;
		return r;
	}
	r = rados_conf_read_file(f->cluster, NC_IS_SET(dev->ceph_conf) ? dev->ceph_conf.v : NULL);
	if (r >= 0 && NC_IS_SET(dev->key_file)) {
		char *b64 = NULL;
		unsigned char *raw = NULL;
		size_t len = 0;

		if (nc_ceph_key_load(dev->key_file.v, user, &b64, &raw, &len, err) < 0)
			return -EACCES;
		/* after the file: the key given here wins over its keyring */
		r = rados_conf_set(f->cluster, "key", b64);
		nc_ceph_key_free(b64, raw, len);
	}
	if (r >= 0)
		r = rados_conf_set(f->cluster, "client_mount_timeout", secs);
	if (r >= 0)
		r = rados_conf_set(f->cluster, "rados_mon_op_timeout", secs);
	if (r >= 0)
		r = rados_conf_set(f->cluster, "rados_osd_op_timeout", secs);
	if (r >= 0)
		r = rados_conf_set(f->cluster, "rbd_blocklist_on_break_lock", "false");   /* see above */
	if (r < 0) {
		nc_err_set(err, "cannot configure a Ceph client with %s: %s",
			   NC_IS_SET(dev->ceph_conf) ? dev->ceph_conf.v : "the default ceph.conf", strerror(-r));
		return r;
	}
	if ((r = rados_connect(f->cluster)) < 0) {
		nc_err_set(err, "cannot connect to Ceph as client.%s with %s: %s", user,
			   NC_IS_SET(dev->ceph_conf) ? dev->ceph_conf.v : "the default ceph.conf", strerror(-r));
		return r;
	}
	if ((r = rados_getaddrs(f->cluster, &f->self)) < 0) {
		nc_err_set(err, "Ceph: cannot read this client's address: %s", strerror(-r));
		f->self = NULL;
		return r;
	}
	return 0;
}

static void not_fenced(struct rbd_fence *f, const char *disk, const char *why)
{
	nc_buf_addf(&f->notes, "; %s not fenced: %s", disk, why);
}

/* the clients having the image open, but this one, blocklisted; how many, or < 0 */
static int blocklist_watchers(struct rbd_fence *f, rbd_image_t img, const char *disk, struct nc_err *err)
{
	rbd_image_watcher_t *w = NULL;
	size_t n = 8, i;
	int r, count = 0;

	for (;;) {
		w = nc_xreallocarray(w, n, sizeof(*w));
		r = rbd_watchers_list(img, w, &n);
		if (r != -ERANGE)
			break;
	}
	if (r < 0) {
		nc_err_set(err, "%s: cannot list its watchers: %s", disk, strerror(-r));
		free(w);
		return r;
	}
	for (i = 0; i < n && r >= 0; i++) {
		if (f->self && strstr(f->self, w[i].addr))
			continue;   /* this fence's own watch */
		r = rados_blocklist_add(f->cluster, w[i].addr, NC_FENCE_BLOCKLIST_SECONDS);
		if (r < 0)
			nc_err_set(err, "%s: cannot blocklist its watcher %s: %s", disk, w[i].addr, strerror(-r));
		else
			count++;
	}
	rbd_watchers_list_cleanup(w, n);
	free(w);
	return r < 0 ? r : count;
}

/* the image's lock owners in *owners (cleanup with rbd_lock_get_owners_cleanup); 0 when none */
static int lock_owners(rbd_image_t img, rbd_lock_mode_t *mode, char ***owners, size_t *n)
{
	size_t cap = 4;
	int r;

	*owners = NULL;
	for (;;) {
		*owners = nc_xreallocarray(*owners, cap, sizeof(**owners));
		*n = cap;
		r = rbd_lock_get_owners(img, mode, *owners, n);
		if (r != -ERANGE)
			break;
		cap = *n > cap ? *n : cap * 2;
	}
	if (r == -ENOENT) {
		*n = 0;
		return 0;
	}
	if (r < 0)
		*n = 0;
	return r;
}

static int fence_disk(struct rbd_fence *f, const char *disk, struct nc_fence_result *res, struct nc_err *err)
{
	const char *slash = strchr(disk, '/');
	char *pool = NULL, **owners = NULL;
	rados_ioctx_t io = NULL;
	rbd_image_t img = NULL;
	rbd_lock_mode_t mode = RBD_LOCK_MODE_EXCLUSIVE;
	uint64_t features = 0;
	size_t n = 0, i;
	int r;

	if (!slash || slash == disk || !slash[1] || strchr(slash + 1, '/')) {
		nc_err_set(err, "disk '%s': expected POOL/IMAGE", disk);
		return -EINVAL;
	}
	pool = nc_xasprintf("%.*s", (int)(slash - disk), disk);
	if ((r = rados_ioctx_create(f->cluster, pool, &io)) < 0) {
		nc_err_set(err, "%s: Ceph pool %s: %s", disk, pool, strerror(-r));
		io = NULL;
		goto out;
	}
	if ((r = rbd_open(io, slash + 1, &img, NULL)) < 0) {
		nc_err_set(err, "%s: cannot open the image: %s", disk,
			   r == -ENOENT ? "no such image" : strerror(-r));
		img = NULL;
		goto out;
	}
	if ((r = rbd_get_features(img, &features)) < 0) {
		nc_err_set(err, "%s: cannot read its features: %s", disk, strerror(-r));
		goto out;
	}
	if (!(features & RBD_FEATURE_EXCLUSIVE_LOCK)) {
		not_fenced(f, disk, "the image lacks the exclusive-lock feature (no lock to break)");
		r = 0;
		goto out;
	}
	if ((r = lock_owners(img, &mode, &owners, &n)) < 0) {
		nc_err_set(err, "%s: cannot read its lock owner: %s", disk, strerror(-r));
		goto out;
	}
	if (n == 0) {
		r = blocklist_watchers(f, img, disk, err);
		if (r < 0)
			goto out;
		if (r == 0) {
			not_fenced(f, disk, "no lock owner and no watcher: cannot tell which client to blocklist");
			goto out;
		}
		f->watchers += (unsigned)r;
		nc_buf_addf(&f->notes, "; %s had no lock owner: %d watcher%s blocklisted", disk, r,
			    r == 1 ? "" : "s");
		nc_fence_result_add_disk(res, disk);
		r = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		/* first cut off, then unlocked: never a moment where it could write unlocked */
		if ((r = rados_blocklist_add(f->cluster, owners[i], NC_FENCE_BLOCKLIST_SECONDS)) < 0) {
			nc_err_set(err, "%s: cannot blocklist the lock owner %s: %s", disk, owners[i],
				   strerror(-r));
			goto out;
		}
		if ((r = rbd_lock_break(img, mode, owners[i])) < 0 && r != -ENOENT) {
			nc_err_set(err, "%s: %s is blocklisted, but its lock cannot be broken: %s", disk,
				   owners[i], strerror(-r));
			goto out;
		}
		f->broken++;
	}
	/* verify: no owner left */
	rbd_lock_get_owners_cleanup(owners, n);
	free(owners);
	owners = NULL;
	if ((r = lock_owners(img, &mode, &owners, &n)) < 0) {
		nc_err_set(err, "%s: cannot read its lock owner after the break: %s", disk, strerror(-r));
		goto out;
	}
	if (n) {
		nc_err_set(err, "%s: still locked by %s after the lock was broken", disk, owners[0]);
		r = -EBUSY;
		goto out;
	}
	nc_fence_result_add_disk(res, disk);
out:
	if (owners) {
		rbd_lock_get_owners_cleanup(owners, n);
		free(owners);
	}
	if (img)
		rbd_close(img);
	if (io)
		rados_ioctx_destroy(io);
	free(pool);
	return r;
}

static int rbd_fence(const struct nc_fence_device *dev, const struct nc_fence_target *t,
		     struct nc_fence_result *res, struct nc_err *err)
{
	struct rbd_fence f;
	uint64_t deadline = now_ms() + nc_fence_timeout_ms(dev);
	size_t i;
	int r = 0;

	memset(&f, 0, sizeof(f));
	f.dev = dev;
	nc_buf_init(&f.notes);
	if (t->nrbd_disks == 0) {
		snprintf(res->detail, sizeof(res->detail), "no RBD disk to fence");
		goto out;
	}
	if ((r = connect_cluster(&f, err)) < 0)
		goto out;
	for (i = 0; i < t->nrbd_disks; i++) {
		if (now_ms() >= deadline) {
			nc_err_set(err, "timed out after %llu s with %zu of %zu disks done",
				   (unsigned long long)(nc_fence_timeout_ms(dev) / 1000), i, t->nrbd_disks);
			r = -ETIMEDOUT;
			goto out;
		}
		if ((r = fence_disk(&f, t->rbd_disks[i], res, err)) < 0)
			goto out;
	}
	if (f.broken)
		snprintf(res->detail, sizeof(res->detail), "%u exclusive lock%s broken, %s blocklisted%s",
			 f.broken, f.broken == 1 ? "" : "s",
			 f.broken == 1 ? "its client" : "their clients", f.notes.buf);
	else
		snprintf(res->detail, sizeof(res->detail), "no exclusive lock broken%s", f.notes.buf);
out:
	if (r < 0) {
		nc_fence_result_release(res);
		res->detail[0] = 0;
	}
	free(f.self);
	if (f.cluster)
		rados_shutdown(f.cluster);
	nc_buf_release(&f.notes);
	return r < 0 ? r : NC_FENCE_DONE;
}

const struct nc_fence_driver nc_fence_rbd_driver = {
	.type = "rbd",
	.fence = rbd_fence,
};
