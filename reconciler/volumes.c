/*
 * volumes.c - the disks of a VM as volumes in its StoragePools, for apply.
 *
 * Before a domain is defined (create) or redefined (update), every disk of
 * the spec must exist as a volume of at least the spec's size:
 *   missing  created: from the VM's restore backup when the spec names one
 *            (declarative restore: only ever into a volume that does not
 *            exist, so it happens once), else as a copy-on-write clone of
 *            the disk's image (an Image's volume in the same pool, or
 *            an absolute path), else empty;
 *   smaller  grown in place (live through QEMU when the domain runs);
 *   larger   refused: plans report it as an error before apply runs.
 * A volume that exists is reused as it is: a pass cut short after creating
 * a volume converges on the next one without a second copy.
 * Deleting a VM whose deletionPolicy is delete removes its volumes after
 * the domain is undefined.
 *
 * The cloud-init seed is no disk of the user's: it is made from the spec
 * alone, so it is rebuilt whenever its content changes (deleted, then
 * uploaded again) and deleted with its VM whatever the deletionPolicy.
 */
#include "backups.h"
#include "volumes.h"
#include "tiering.h"
#include "../drivers/storage/seed.h"
#include "images.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../spec/util.h"

static int restore_one(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_vm *vm,
	const char *disk, const struct nc_pool_def *pd, const char *vol, uint64_t size, struct nc_err *err)
{
	const char *sname = vm->spec.restore.schedule.v ? vm->spec.restore.schedule.v : vm->spec.backup_schedule.v;
	const struct nc_backup *s = sname ? (const struct nc_backup *)nc_spec_find(spec, NC_KIND_BACKUP_SCHEDULE, sname) : NULL;
	struct nc_backup_repo *r = NULL;
	struct nc_backup_snapshot *set = NULL;
	size_t n = 0, i;
	int ret = -1;

	if (!s) {
		nc_err_set(err, "restore of %s: no BackupSchedule", vm->obj.meta.name.v);
		return -1;
	}
	if (nc_schedule_repo_open(&r, s, false, err) < 0 ||
	    nc_backup_set_load(&set, &n, r, vm->spec.restore.backup.v, err) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (strcmp(set[i].disk, disk) == 0)
			break;
	if (i == n) {
		/* a disk added after the backup starts empty */
		ret = nc_vol_create(conn, pd, vol, size, NULL, err);
		goto out;
	}
	ret = nc_restore_disk(NULL, NULL, r, &set[i], conn, pd, vol, size, err);
out:
	nc_backup_snapshots_free(set, n);
	if (r)
		nc_backup_close(r);
	return ret;
}

/*
 * A disk's image: the name of an Image, whose volume in the same pool
 * (reconciler/images.h; uploaded by the plan's upload action, which this
 * create waited for) is the clone's base; or an absolute path, used as it
 * is (checked against the operator's roots when the spec was loaded:
 * spec/roots.h).
 */
static int create_from_image(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_pool *pool,
	const struct nc_pool_def *pd, const char *vol, uint64_t size, const char *image, struct nc_err *err)
{
	char *base = NULL;
	int rc;

	if (image && image[0] != '/') {
		const struct nc_image *im = (const struct nc_image *)nc_spec_find(spec, NC_KIND_IMAGE, image);

		if (!im) {
			nc_err_set(err, "disk %s: no Image named %s", vol, image);
			return -1;
		}
		image = base = nc_image_base(im, pool);
	}
	rc = nc_vol_create(conn, pd, vol, size, image, err);
	free(base);
	return rc;
}

static int ensure(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_vm *vm,
	const struct nc_domain_def *def, bool running, bool must_exist, struct nc_err *err)
{
	size_t i, j;

	if (!spec || !vm)
		return 0;
	for (i = 0; i < vm->eff.disks.n; i++) {
		const struct nc_disk *k = (const struct nc_disk *)vm->eff.disks.v + i;
		const struct nc_pool *pool = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, k->pool.v);
		const char *target = NULL;
		struct nc_pool_def pd;
		struct nc_volume info;
		uint64_t size = NC_IS_SET(k->size) ? k->size.v : 0;
		char *vol;
		int rc = 0;

		if (!pool)
			continue;
		/* a disk tiering moved lives in another pool (tiering.h) */
		pool = nc_tier_disk_pool(spec, pool, def, k->name.v);
		for (j = 0; j < def->ndisks; j++)
			if (strcmp(def->disks[j].name, k->name.v) == 0)
				target = def->disks[j].target;
		nc_pool_def_from_spec(&pd, pool);
		vol = nc_disk_volume_name(pool, def->name, k->name.v);
		memset(&info, 0, sizeof(info));
		if (nc_vol_info(conn, &pd, vol, &info, err) < 0) {
			free(vol);
			return -1;
		}
		if (!info.exists && must_exist) {
			nc_err_set(err, "disk %s: volume %s is not in pool %s: a VM restarted after its host failed "
					"keeps its data, so its disks are never made anew; not restarted",
				   k->name.v, vol, pool->obj.meta.name.v);
			rc = -1;
		} else if (info.exists && NC_IS_SET(vm->spec.restore) &&
			   (rc = nc_restore_marked(conn, &pd, vol, err)) < 0) {
			/* rc < 0: err says why */
		} else if (!info.exists || rc > 0) {
			/* (a restore cut short leaves its marker: the volume is made anew, backups.h) */
			if (NC_IS_SET(vm->spec.restore))
				rc = restore_one(conn, spec, vm, k->name.v, &pd, vol, size, err);
			else
				rc = create_from_image(conn, spec, pool, &pd, vol, size,
						       NC_IS_SET(k->image) ? k->image.v : NULL, err);
		} else if (size && size > info.capacity) {
			rc = nc_vol_resize(conn, &pd, vol, size, running ? def->name : NULL, running ? target : NULL, err);
		} else if (size && size < info.capacity) {
			char x[32], y[32];

			nc_size_format(info.capacity, x, sizeof(x));
			nc_size_format(size, y, sizeof(y));
			nc_err_set(err, "disk %s: shrinking from %s to %s is refused", vol, x, y);
			rc = -1;
		}
		nc_volume_release(&info);
		free(vol);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int nc_volumes_ensure(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_vm *vm,
	const struct nc_domain_def *def, bool running, struct nc_err *err)
{
	return ensure(conn, spec, vm, def, running, false, err);
}

int nc_volumes_ensure_existing(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_vm *vm,
	const struct nc_domain_def *def, bool running, struct nc_err *err)
{
	return ensure(conn, spec, vm, def, running, true, err);
}

int nc_volumes_delete(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain *dom,
	struct nc_err *err)
{
	size_t i, p;

	for (i = 0; i < dom->ndisks; i++) {
		const struct nc_dom_disk *k = &dom->disks[i];

		if (!k->source)
			continue;
		if (k->type && strcmp(k->type, "network") == 0) {
			/* rbd: pool/image, in the spec pool with that Ceph pool */
			const char *slash = strchr(k->source, '/');

			for (p = 0; slash && spec && p < spec->nobjs[NC_KIND_STORAGE_POOL]; p++) {
				const struct nc_pool *pool = (const struct nc_pool *)spec->objs[NC_KIND_STORAGE_POOL][p];
				struct nc_pool_def pd;

				nc_pool_def_from_spec(&pd, pool);
				if (strcmp(pd.type, "rbd") || !pd.rbd_pool || strlen(pd.rbd_pool) != (size_t)(slash - k->source) ||
				    strncmp(pd.rbd_pool, k->source, (size_t)(slash - k->source)))
					continue;
				if (nc_vol_delete(conn, &pd, slash + 1, err) < 0)
					return -1;
				break;
			}
		} else if (nc_vol_delete_by_path(conn, k->source, err) < 0) {
			return -1;
		}
	}
	return 0;
}

static const struct nc_pool *seed_pool(const struct nc_spec *spec, const char *name, struct nc_pool_def *pd,
	struct nc_err *err)
{
	const struct nc_pool *pool = spec && name ?
		(const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, name) : NULL;

	if (!pool) {
		nc_err_set(err, "cloud-init seed: no StoragePool %s", name ? name : "(none)");
		return NULL;
	}
	nc_pool_def_from_spec(pd, pool);
	return pool;
}

int nc_seed_ensure(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain_def *def,
	bool force, struct nc_err *err)
{
	const struct nc_seed_def *s = def->seed;
	struct nc_pool_def pd;
	struct nc_volume info;
	unsigned char *iso = NULL;
	size_t len = 0, off = 0;
	int fd = -1, ret = -1;

	if (!s)
		return 0;
	if (!seed_pool(spec, s->pool, &pd, err))
		return -1;
	memset(&info, 0, sizeof(info));
	if (nc_vol_info(conn, &pd, s->volume, &info, err) < 0)
		return -1;
	if (info.exists && !force) {
		nc_volume_release(&info);
		return 0;
	}
	if (nc_seed_iso(&iso, &len, s->user_data, s->meta_data, s->network_config, err) < 0)
		goto out;
	/* the upload reads a file descriptor: an anonymous one, nothing on disk */
	fd = memfd_create("novacron-seed", MFD_CLOEXEC);
	if (fd < 0) {
		nc_err_set(err, "cloud-init seed: memfd_create: %s", strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, iso + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			nc_err_set(err, "cloud-init seed: write: %s", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (info.exists && nc_vol_delete(conn, &pd, s->volume, err) < 0)
		goto out;
	ret = nc_vol_upload(conn, &pd, s->volume, "raw", fd, (uint64_t)len, err);
out:
	if (fd >= 0)
		close(fd);
	free(iso);
	nc_volume_release(&info);
	return ret;
}

int nc_seed_delete(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_domain *dom,
	const struct nc_seed_def *keep, bool in_use, struct nc_err *err)
{
	char *want = nc_xasprintf("%s%s", dom->name, NC_SEED_SUFFIX);
	size_t i, p, n = strlen(want);
	int ret = 0;

	for (i = 0; i < dom->ncdroms && ret == 0; i++) {
		const char *src = dom->cdroms[i].source;
		size_t m = src ? strlen(src) : 0;

		/* only "<...>/<VM>-cidata.iso", and not the one kept */
		if (m <= n || strcmp(src + m - n, want) != 0 || src[m - n - 1] != '/' ||
		    (keep && strcmp(keep->source, src) == 0))
			continue;
		if (dom->cdroms[i].type && strcmp(dom->cdroms[i].type, "network") == 0) {
			if (in_use)
				continue;
			for (p = 0; spec && p < spec->nobjs[NC_KIND_STORAGE_POOL]; p++) {
				const struct nc_pool *pool = (const struct nc_pool *)spec->objs[NC_KIND_STORAGE_POOL][p];
				struct nc_pool_def pd;

				nc_pool_def_from_spec(&pd, pool);
				if (strcmp(pd.type, "rbd") || !pd.rbd_pool || strlen(pd.rbd_pool) != m - n - 1 ||
				    strncmp(pd.rbd_pool, src, m - n - 1))
					continue;
				ret = nc_vol_delete(conn, &pd, want, err);
				break;
			}
		} else {
			ret = nc_vol_delete_by_path(conn, src, err);
		}
	}
	free(want);
	return ret;
}

/* ---- cold migration ---- */

size_t nc_volumes_local(struct nc_local_vol **out, const struct nc_spec *spec, const struct nc_vm *vm,
			const char *domain)
{
	struct nc_local_vol *v = NULL;
	size_t i, n = 0;

	*out = NULL;
	if (!spec || !vm)
		return 0;
	for (i = 0; i < vm->eff.disks.n; i++) {
		const struct nc_disk *k = (const struct nc_disk *)vm->eff.disks.v + i;
		const struct nc_pool *pool = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, k->pool.v);
		struct nc_pool_def pd;

		if (!pool)
			continue;
		nc_pool_def_from_spec(&pd, pool);
		/* netfs: every host of the pool sees the same files, nothing to copy */
		if (!pd.type || strcmp(pd.type, "dir") != 0 || !pd.path || pd.netfs_server)
			continue;
		v = nc_xreallocarray(v, n + 1, sizeof(*v));
		v[n].pd = pd;
		v[n].vol = nc_disk_volume_name(pool, domain, k->name.v);
		v[n].path = nc_xasprintf("%s/%s", pd.path, v[n].vol);
		n++;
	}
	*out = v;
	return n;
}

const char *nc_volumes_netfs_disk(const struct nc_spec *spec, const struct nc_vm *vm)
{
	size_t i;

	for (i = 0; spec && vm && i < vm->eff.disks.n; i++) {
		const struct nc_disk *k = (const struct nc_disk *)vm->eff.disks.v + i;

		if (nc_pool_is_netfs((const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, k->pool.v)))
			return k->name.v;
	}
	return NULL;
}

int nc_volumes_shared_check(struct nc_host_conn *dst, const struct nc_spec *spec, const struct nc_vm *vm,
	const char *domain, const char *dst_name, struct nc_err *err)
{
	size_t i;

	for (i = 0; spec && vm && i < vm->eff.disks.n; i++) {
		const struct nc_disk *k = (const struct nc_disk *)vm->eff.disks.v + i;
		const struct nc_pool *pool = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, k->pool.v);
		struct nc_pool_def pd;
		struct nc_volume info;
		char *vol;
		int r;

		if (!nc_pool_is_netfs(pool))
			continue;
		nc_pool_def_from_spec(&pd, pool);
		vol = nc_disk_volume_name(pool, domain, k->name.v);
		memset(&info, 0, sizeof(info));
		r = nc_vol_info(dst, &pd, vol, &info, err);
		if (r == 0 && !info.exists) {
			nc_err_set(err, "%s does not see volume %s in netfs pool %s (%s:%s at %s): not the same share "
				   "there? nothing moved", dst_name, vol, pd.name, pd.netfs_server, pd.netfs_export, pd.path);
			r = -1;
		}
		nc_volume_release(&info);
		free(vol);
		if (r < 0)
			return -1;
	}
	return 0;
}

void nc_volumes_local_free(struct nc_local_vol *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].vol);
		free(v[i].path);
	}
	free(v);
}

void nc_volumes_move_release(struct nc_volumes_move *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; m->copies && i < m->n; i++)
		nc_vol_copy_release(&m->copies[i]);
	free(m->copies);
	nc_volumes_local_free(m->vols, m->n);
	memset(m, 0, sizeof(*m));
}

struct copy_prog {
	void (*fn)(void *opaque, uint64_t done, uint64_t total);
	void *opaque;
	uint64_t before, total;
};

static void copy_progress(void *opaque, uint64_t bytes)
{
	struct copy_prog *cp = opaque;

	if (cp->fn)
		cp->fn(cp->opaque, cp->before + bytes, cp->total);
}

int nc_volumes_copy(struct nc_volumes_move *out, struct nc_host_conn *src, struct nc_host_conn *dst,
		    const struct nc_spec *spec, const struct nc_vm *vm, const char *domain,
		    void (*progress)(void *opaque, uint64_t done, uint64_t total), void *opaque, struct nc_err *err)
{
	struct nc_volumes_move m;
	struct copy_prog cp = { progress, opaque, 0, 0 };
	size_t i;

	memset(&m, 0, sizeof(m));
	m.n = nc_volumes_local(&m.vols, spec, vm, domain);
	m.copies = nc_xcalloc(m.n + 1, sizeof(*m.copies));
	for (i = 0; i < m.n; i++) {
		struct nc_volume info;

		memset(&info, 0, sizeof(info));
		if (nc_vol_info(src, &m.vols[i].pd, m.vols[i].vol, &info, err) < 0)
			goto fail;
		m.total += info.allocation;
		nc_volume_release(&info);
	}
	cp.total = m.total;
	for (i = 0; i < m.n; i++) {
		cp.before = m.bytes;
		if (nc_vol_copy(src, dst, &m.vols[i].pd, m.vols[i].vol, &m.copies[i], copy_progress, &cp, err) < 0)
			goto fail;
		m.bytes += m.copies[i].bytes;
		if (m.copies[i].found && !m.copies[i].shared)
			m.copied++;
	}
	*out = m;
	return 0;
fail:
	{
		struct nc_err e = { "" };

		nc_volumes_copy_undo(dst, &m, &e);
	}
	nc_volumes_move_release(&m);
	return -1;
}

int nc_volumes_copy_undo(struct nc_host_conn *dst, const struct nc_volumes_move *m, struct nc_err *err)
{
	size_t i = m->n;
	int ret = 0;

	while (i-- > 0) {
		struct nc_err e = { "" };

		if (nc_vol_copy_undo(dst, &m->copies[i], &e) < 0 && ret == 0) {
			*err = e;
			ret = -1;
		}
	}
	return ret;
}

int nc_volumes_copy_finish(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_volumes_move *m,
			   struct nc_err *err)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (!m->copies[i].found || m->copies[i].shared)
			continue;
		/* the copy is the VM's disk now: no longer a leftover to replace */
		if (nc_vol_copy_unmark(dst, &m->vols[i].pd, m->vols[i].vol, err) < 0)
			return -1;
		if (nc_vol_delete(src, &m->vols[i].pd, m->vols[i].vol, err) < 0)
			return -1;
	}
	return 0;
}

int nc_volumes_drop_leftovers(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_spec *spec,
			      const struct nc_vm *vm, const char *domain, struct nc_err *err)
{
	struct nc_local_vol *v;
	size_t n = nc_volumes_local(&v, spec, vm, domain), i;
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++) {
		struct nc_volume a, b;
		int shared;

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		if (nc_vol_info(src, &v[i].pd, v[i].vol, &a, err) < 0 || nc_vol_info(dst, &v[i].pd, v[i].vol, &b, err) < 0) {
			ret = -1;
		} else if (b.exists && nc_vol_copy_unmark(dst, &v[i].pd, v[i].vol, err) < 0) {
			ret = -1;
		} else if (a.exists && b.exists) {
			shared = nc_vol_shared(src, dst, &v[i].pd, v[i].vol, err);
			if (shared < 0 || (!shared && nc_vol_delete(src, &v[i].pd, v[i].vol, err) < 0))
				ret = -1;
		}
		nc_volume_release(&a);
		nc_volume_release(&b);
	}
	nc_volumes_local_free(v, n);
	return ret;
}
