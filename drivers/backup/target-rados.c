/*
 * backup/target-rados.c - the backup target on a RADOS pool (librados).
 *
 * Each repository object is one RADOS object of the same name ("config",
 * "chunks/<id>", "snapshots/<id>").  The location's prefix, when set, is
 * the RADOS namespace of the repository: a pool holds any number of
 * repositories side by side, and listing one walks only its own namespace.
 * Without a prefix the objects live in the pool's default namespace and
 * list() skips every object not under "chunks/" or "snapshots/" there.
 *
 * put() is rados_write_full(), which replaces the object in one atomic
 * transaction on the OSD; it returns once every replica has committed the
 * write, so sync() has nothing left to do.  get() stats the object and
 * reads one byte more than its size, so an object replaced by a larger one
 * in between is noticed and read again.  The pool must exist: creating
 * pools (replication, PG count) is the cluster administrator's decision,
 * so create only checks.
 *
 * The connection follows drivers/lease/rados.c: a cephx user (default
 * "admin"), a ceph.conf (NULL = librados' default search: $CEPH_CONF,
 * /etc/ceph/ceph.conf, ...), and a 10 s mount timeout so that a cluster
 * that is down fails the open instead of hanging it.
 */
#include "backup.h"

#include <errno.h>
#include <rados/librados.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/util.h"

#define RADOS_MAX_OBJECT (64u * 1024 * 1024)     /* far above NC_BACKUP_MAX_CHUNK */

struct rados_target {
	struct nc_backup_target pub;     /* first: the public part */
	rados_t cluster;
	rados_ioctx_t io;
	char *pool, *nspace;
	bool connected, have_io;
};

/* The names the engine uses: [A-Za-z0-9._-] in one or two components, no leading dot. */
static bool name_ok(const char *name)
{
	const char *p;
	size_t slashes = 0;

	if (!*name || *name == '.')
		return false;
	for (p = name; *p; p++) {
		if (*p == '/') {
			if (++slashes > 1 || p[1] == '\0' || p[1] == '.' || p == name)
				return false;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	}
	return true;
}

static void rt_close(struct nc_backup_target *t)
{
	struct rados_target *r = (struct rados_target *)t;

	if (!t)
		return;
	if (r->have_io)
		rados_ioctx_destroy(r->io);
	if (r->connected)
		rados_shutdown(r->cluster);
	free(r->pool);
	free(r->nspace);
	free(r);
}

static int rt_open(struct nc_backup_target **out, const struct nc_backup_location *loc,
	bool create, struct nc_err *err)
{
	const char *user = loc->ceph_user && *loc->ceph_user ? loc->ceph_user : "admin";
	const char *conf = loc->ceph_conf && *loc->ceph_conf ? loc->ceph_conf : NULL;
	struct rados_target *r;
	int rc;

	(void)create;
	if (!loc->pool || !*loc->pool) {
		nc_err_set(err, "rados target needs pool");
		return -1;
	}
	r = nc_xcalloc(1, sizeof(*r));
	r->pub.drv = &nc_backup_target_rados;
	r->pool = nc_xstrdup(loc->pool);
	r->nspace = nc_xstrdup(loc->prefix ? loc->prefix : "");
	if ((rc = rados_create(&r->cluster, user)) < 0) {
		nc_err_set(err, "rados target: cannot create a client for %s: %s", user, strerror(-rc));
		goto fail;
	}
	if ((rc = rados_conf_read_file(r->cluster, conf)) < 0) {
		rados_shutdown(r->cluster);
		nc_err_set(err, "rados target: cannot read %s: %s",
			conf ? conf : "the default ceph.conf", strerror(-rc));
		goto fail;
	}
	if ((rc = rados_conf_set(r->cluster, "client_mount_timeout", "10")) < 0 ||
	    (rc = rados_connect(r->cluster)) < 0) {
		rados_shutdown(r->cluster);
		nc_err_set(err, "rados target: cannot connect as client.%s with %s: %s", user,
			conf ? conf : "the default ceph.conf", strerror(-rc));
		goto fail;
	}
	r->connected = true;
	if ((rc = rados_ioctx_create(r->cluster, r->pool, &r->io)) < 0) {
		nc_err_set(err, "rados target: pool %s: %s%s", r->pool, strerror(-rc),
			rc == -ENOENT ? " (create the pool first)" : "");
		goto fail;
	}
	r->have_io = true;
	rados_ioctx_set_namespace(r->io, r->nspace);
	*out = &r->pub;
	return 0;
fail:
	rt_close(&r->pub);
	return -1;
}

static int rt_put(struct nc_backup_target *t, const char *name, const void *data,
	size_t len, struct nc_err *err)
{
	struct rados_target *r = (struct rados_target *)t;
	int rc;

	if (!name_ok(name)) {
		nc_err_set(err, "invalid object name '%s'", name);
		return -1;
	}
	if (len > RADOS_MAX_OBJECT) {
		nc_err_set(err, "rados put %s: object of %zu bytes too large", name, len);
		return -1;
	}
	rc = rados_write_full(r->io, name, len ? data : "", len);
	if (rc < 0) {
		nc_err_set(err, "rados put %s/%s: %s", r->pool, name, strerror(-rc));
		return -1;
	}
	return 0;
}

static int rt_get(struct nc_backup_target *t, const char *name, unsigned char **out,
	size_t *out_len, struct nc_err *err)
{
	struct rados_target *r = (struct rados_target *)t;
	unsigned char *data = NULL;
	uint64_t size;
	time_t mtime;
	int rc, ret = -1;

	if (!name_ok(name)) {
		nc_err_set(err, "invalid object name '%s'", name);
		return -1;
	}
	/* stat, then read the size plus one byte: a short read is the whole object */
	for (;;) {
		size_t want;

		rc = rados_stat(r->io, name, &size, &mtime);
		if (rc == -ENOENT) {
			nc_err_set(err, "object %s does not exist", name);
			ret = NC_BACKUP_ENOENT;
			goto out;
		}
		if (rc < 0) {
			nc_err_set(err, "rados stat %s/%s: %s", r->pool, name, strerror(-rc));
			goto out;
		}
		if (size > RADOS_MAX_OBJECT) {
			nc_err_set(err, "rados get %s/%s: object too large", r->pool, name);
			goto out;
		}
		want = (size_t)size + 1;
		free(data);
		data = nc_xmalloc(want);
		rc = rados_read(r->io, name, (char *)data, want, 0);
		if (rc == -ENOENT) {
			nc_err_set(err, "object %s does not exist", name);
			ret = NC_BACKUP_ENOENT;
			goto out;
		}
		if (rc < 0) {
			nc_err_set(err, "rados get %s/%s: %s", r->pool, name, strerror(-rc));
			goto out;
		}
		if ((size_t)rc < want)
			break;
	}
	*out = data;
	*out_len = (size_t)rc;
	data = NULL;
	ret = 0;
out:
	free(data);
	return ret;
}

static int rt_exists(struct nc_backup_target *t, const char *name, struct nc_err *err)
{
	struct rados_target *r = (struct rados_target *)t;
	uint64_t size;
	time_t mtime;
	int rc;

	if (!name_ok(name)) {
		nc_err_set(err, "invalid object name '%s'", name);
		return -1;
	}
	rc = rados_stat(r->io, name, &size, &mtime);
	if (rc == 0)
		return 1;
	if (rc == -ENOENT)
		return 0;
	nc_err_set(err, "rados stat %s/%s: %s", r->pool, name, strerror(-rc));
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int rt_list(struct nc_backup_target *t, const char *dir, char ***out,
	size_t *out_n, struct nc_err *err)
{
	struct rados_target *r = (struct rados_target *)t;
	rados_list_ctx_t ctx;
	char **v = NULL, *pfx;
	size_t n = 0, a = 0, plen;
	int rc, ret = -1;

	if (!name_ok(dir) || strchr(dir, '/')) {
		nc_err_set(err, "invalid object directory '%s'", dir);
		return -1;
	}
	pfx = nc_xasprintf("%s/", dir);
	plen = strlen(pfx);
	rc = rados_nobjects_list_open(r->io, &ctx);
	if (rc < 0) {
		nc_err_set(err, "rados list %s: %s", r->pool, strerror(-rc));
		free(pfx);
		return -1;
	}
	for (;;) {
		const char *entry, *key, *nspace;

		rc = rados_nobjects_list_next(ctx, &entry, &key, &nspace);
		if (rc == -ENOENT)
			break;
		if (rc < 0) {
			nc_err_set(err, "rados list %s: %s", r->pool, strerror(-rc));
			goto out;
		}
		if (strncmp(entry, pfx, plen) != 0 || !entry[plen] || !name_ok(entry))
			continue;
		if (n == a) {
			a = a ? 2 * a : 256;
			v = nc_xreallocarray(v, a, sizeof(*v));
		}
		v[n++] = nc_xstrdup(entry + plen);
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	*out_n = n;
	v = NULL;
	n = 0;
	ret = 0;
out:
	rados_nobjects_list_close(ctx);
	nc_backup_names_free(v, n);
	free(pfx);
	return ret;
}

static int rt_del(struct nc_backup_target *t, const char *name, struct nc_err *err)
{
	struct rados_target *r = (struct rados_target *)t;
	int rc;

	if (!name_ok(name)) {
		nc_err_set(err, "invalid object name '%s'", name);
		return -1;
	}
	rc = rados_remove(r->io, name);
	if (rc < 0 && rc != -ENOENT) {
		nc_err_set(err, "rados delete %s/%s: %s", r->pool, name, strerror(-rc));
		return -1;
	}
	return 0;
}

/* Every write and remove above returned after the OSDs committed it. */
static int rt_sync(struct nc_backup_target *t, struct nc_err *err)
{
	(void)t;
	(void)err;
	return 0;
}

const struct nc_backup_target_driver nc_backup_target_rados = {
	.name = "rados",
	.open = rt_open,
	.put = rt_put,
	.get = rt_get,
	.exists = rt_exists,
	.list = rt_list,
	.del = rt_del,
	.sync = rt_sync,
	.close = rt_close,
};
