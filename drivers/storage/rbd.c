/*
 * storage/rbd.c - the rbd back-end of storage.h: VM disks as Ceph RBD
 * images, through librbd from the NovaCron machine.
 *
 * Each call connects with the pool's ceph.conf and cephx user (as
 * drivers/lease/rados.c does), works on POOL/VOL and disconnects: calls are
 * rare (a plan's disk actions), and nothing outlives the call.
 *
 * A volume made from a base image is a copy-on-write clone: the base image
 * gets a snapshot "novacron-base" (created and protected once, kept: every
 * clone of the image hangs off it), and rbd_clone3 makes VOL from it; the
 * clone is then grown when a larger size was asked.  Deleting a clone
 * leaves the base image and its snapshot alone.
 *
 * A running domain's disk is grown by QEMU (virDomainBlockResize on the
 * host; QEMU holds the image open, with its exclusive lock, and resizes it
 * through its own librbd); a stopped one with rbd_resize.
 */
#include "storage.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../spec/util.h"

#define BASE_SNAP "novacron-base"

struct rbd_session {
	rados_t cluster;
	rados_ioctx_t io;
	bool connected, has_io;
};

/* ---- cephx keys ---- */

static char *trim(char *s)
{
	char *e;

	while (*s && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* the "key = ..." of section [client.USER] (or of the only section); NULL: none */
static char *keyring_key(char *text, const char *user)
{
	char *want = nc_xasprintf("client.%s", user), *line, *save = NULL, *found = NULL, *any = NULL;
	bool in_want = false, in_any = false;
	int sections = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line), *eq;

		if (*l == '[') {
			char *end = strchr(l, ']');

			if (end)
				*end = '\0';
			in_want = strcmp(trim(l + 1), want) == 0;
			in_any = ++sections == 1;
			continue;
		}
		eq = strchr(l, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (strcmp(trim(l), "key") != 0)
			continue;
		if (in_want && !found)
			found = trim(eq + 1);
		if (in_any && !any)
			any = trim(eq + 1);
	}
	free(want);
	return found ? found : sections == 1 ? any : NULL;
}

int nc_ceph_key_load(const char *path, const char *user, char **out_b64, unsigned char **out_raw,
		     size_t *out_len, struct nc_err *err)
{
	char *text = NULL, *key;
	unsigned char *raw = NULL;
	size_t len = 0, klen, i;
	unsigned mode = 0;
	struct stat st;
	int r, n, pad = 0, ret = -1;

	if (!user || !*user)
		user = "admin";
	/* a FIFO or a device would block or never end: only a regular file is a key file */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		nc_err_set(err, "rbd.keyFile %s: not a regular file", path);
		return -1;
	}
	r = nc_read_secret_file(path, 64 * 1024, &text, &len, &mode);
	if (r == NC_SECRET_MODE_BAD) {
		char *m = nc_secret_msg("rbd.keyFile", path, mode);

		nc_err_set(err, "%s", m);
		free(m);
		return -1;
	}
	if (r == NC_SECRET_NOT_FILE) {
		nc_err_set(err, "rbd.keyFile %s: not a regular file (a directory, a FIFO or a device)", path);
		return -1;
	}
	if (r == -2) {
		nc_err_set(err, "rbd.keyFile %s: larger than 64 KiB, not a cephx key", path);
		return -1;
	}
	if (r < 0) {
		nc_err_set(err, "rbd.keyFile %s: cannot read it: %s", path, strerror(errno));
		return -1;
	}
	key = strchr(text, '[') ? keyring_key(text, user) : trim(text);
	if (!key || !*key) {
		nc_err_set(err, "rbd.keyFile %s: no key for client.%s in it (a keyring with [client.%s] and "
			   "key = ..., or the bare key from `ceph auth get-key client.%s`)", path, user, user, user);
		goto out;
	}
	klen = strlen(key);
	for (i = 0; i < klen; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '+' && key[i] != '/' && key[i] != '=')
			break;
	if (i < klen || klen % 4 || klen < 24) {
		nc_err_set(err, "rbd.keyFile %s: the key for client.%s is not a base64 cephx key", path, user);
		goto out;
	}
	raw = nc_xmalloc(klen);
	n = EVP_DecodeBlock(raw, (const unsigned char *)key, (int)klen);
	if (key[klen - 1] == '=')
		pad = key[klen - 2] == '=' ? 2 : 1;
	if (n < 0 || n - pad < 16) {
		nc_err_set(err, "rbd.keyFile %s: the key for client.%s is not a base64 cephx key", path, user);
		OPENSSL_cleanse(raw, klen);
		free(raw);
		raw = NULL;
		goto out;
	}
	*out_b64 = nc_xstrdup(key);
	*out_raw = raw;
	*out_len = (size_t)(n - pad);
	raw = NULL;
	ret = 0;
out:
	OPENSSL_cleanse(text, len);
	free(text);
	return ret;
}

void nc_ceph_key_free(char *b64, unsigned char *raw, size_t len)
{
	if (b64) {
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
	if (raw) {
		OPENSSL_cleanse(raw, len);
		free(raw);
	}
}

void nc_strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* one monitor entry ("v1:1.2.3.4:6789", "[v2:...,v1:...]", "host:port", "[::1]:6789", "host") */
static char *mon_entry(const char *e, size_t n)
{
	char *s = nc_xstrndup(e, n), *pick = s, *host, *port = NULL, *out;

	if (s[0] == '[' && (strstr(s, "v1:") || strstr(s, "v2:"))) {
		/* an address vector: its msgr1 member, else the first */
		char *v1 = strstr(s, "v1:"), *end;

		pick = v1 ? v1 : s + 1;
		end = pick + strcspn(pick, ",]");
		*end = '\0';
	}
	if (strncmp(pick, "v1:", 3) == 0 || strncmp(pick, "v2:", 3) == 0)
		pick += 3;
	{
		char *slash = strchr(pick, '/');   /* a nonce: "1.2.3.4:6789/0" */

		if (slash)
			*slash = '\0';
	}
	if (pick[0] == '[') {                  /* [IPv6]:port */
		char *end = strchr(pick, ']');

		host = pick + 1;
		if (end) {
			*end = '\0';
			if (end[1] == ':')
				port = end + 2;
		}
	} else {
		char *colon = strrchr(pick, ':');

		host = pick;
		if (colon && strchr(pick, ':') == colon) {
			*colon = '\0';
			port = colon + 1;
		}
	}
	out = *host ? nc_xasprintf("%s %s", host, port && *port ? port : "6789") : NULL;
	free(s);
	return out;
}

int nc_ceph_monitors(const char *ceph_conf, char ***out, struct nc_err *err)
{
	rados_t cluster;
	char buf[4096];
	char **v = NULL;
	size_t n = 0;
	const char *p;
	int r;

	if ((r = rados_create(&cluster, NULL)) < 0) {
		nc_err_set(err, "cannot create a Ceph client: %s", strerror(-r));
		return -1;
	}
	if ((r = rados_conf_read_file(cluster, ceph_conf)) < 0) {
		rados_shutdown(cluster);
		nc_err_set(err, "cannot read %s: %s", ceph_conf ? ceph_conf : "the default ceph.conf", strerror(-r));
		return -1;
	}
	if (rados_conf_get(cluster, "mon_host", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	rados_shutdown(cluster);
	v = nc_xcalloc(1, sizeof(*v));
	for (p = buf; *p;) {
		size_t len;
		char *m;

		while (*p == ',' || *p == ';' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p == '[' && (strncmp(p + 1, "v1:", 3) == 0 || strncmp(p + 1, "v2:", 3) == 0)) {
			const char *end = strchr(p, ']');

			len = end ? (size_t)(end - p) + 1 : strlen(p);
		} else if (*p == '[') {
			len = strcspn(p, "]");
			len += p[len] ? 1 : 0;
			len += strcspn(p + len, ",; \t");
		} else {
			len = strcspn(p, ",; \t");
		}
		m = mon_entry(p, len);
		p += len;
		if (!m)
			continue;
		v = nc_xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = m;
		v[n] = NULL;
	}
	*out = v;
	return 0;
}

static int rbd_fail(struct nc_err *err, const char *vol, const char *what, int r)
{
	nc_err_set(err, "disk %s: %s: %s", vol, what, strerror(-r));
	return -1;
}

static int session_open(struct rbd_session *s, const struct nc_pool_def *pool, const char *vol,
			struct nc_err *err)
{
	int r;

	memset(s, 0, sizeof(*s));
	if (!pool->rbd_pool || !*pool->rbd_pool) {
		nc_err_set(err, "storage pool %s: an rbd pool needs rbd.pool", pool->name);
		return -1;
	}
	if ((r = rados_create(&s->cluster, pool->ceph_user ? pool->ceph_user : "admin")) < 0) {
		nc_err_set(err, "disk %s: cannot create a Ceph client: %s", vol, strerror(-r));
		return -1;
	}
	s->connected = true;    /* rados_shutdown() also frees an unconnected handle */
	if (pool->key_file) {
		char *b64 = NULL;
		unsigned char *raw = NULL;
		size_t len = 0;

		if (nc_ceph_key_load(pool->key_file, pool->ceph_user, &b64, &raw, &len, err) < 0)
			goto fail;
		/* read after the file: the key given here wins over its keyring */
		r = rados_conf_read_file(s->cluster, pool->ceph_conf);
		if (r >= 0)
			r = rados_conf_set(s->cluster, "key", b64);
		nc_ceph_key_free(b64, raw, len);
		if (r < 0) {
			nc_err_set(err, "disk %s: cannot connect to Ceph with %s: %s", vol,
				   pool->ceph_conf ? pool->ceph_conf : "the default ceph.conf", strerror(-r));
			goto fail;
		}
	}
	if ((!pool->key_file && (r = rados_conf_read_file(s->cluster, pool->ceph_conf)) < 0) ||
	    (r = rados_conf_set(s->cluster, "client_mount_timeout", "10")) < 0 ||
	    (r = rados_connect(s->cluster)) < 0) {
		nc_err_set(err, "disk %s: cannot connect to Ceph with %s: %s", vol,
			   pool->ceph_conf ? pool->ceph_conf : "the default ceph.conf", strerror(-r));
		goto fail;
	}
	if ((r = rados_ioctx_create(s->cluster, pool->rbd_pool, &s->io)) < 0) {
		nc_err_set(err, "disk %s: Ceph pool %s: %s", vol, pool->rbd_pool, strerror(-r));
		goto fail;
	}
	s->has_io = true;
	return 0;
fail:
	rados_shutdown(s->cluster);
	s->connected = false;
	return -1;
}

static void session_close(struct rbd_session *s)
{
	if (s->has_io)
		rados_ioctx_destroy(s->io);
	if (s->connected)
		rados_shutdown(s->cluster);
	memset(s, 0, sizeof(*s));
}

int nc_rbd_pool_usage(const struct nc_pool_def *pool, uint64_t *capacity, uint64_t *used,
		      uint64_t *available, struct nc_err *err)
{
	struct rbd_session s;
	struct rados_cluster_stat_t cs;
	int r;

	/* the ioctx is opened too: a pool that does not exist is an error, not the cluster's figures */
	if (session_open(&s, pool, pool->name, err) < 0)
		return -1;
	if ((r = rados_cluster_stat(s.cluster, &cs)) < 0) {
		nc_err_set(err, "storage pool %s: Ceph statistics: %s", pool->name, strerror(-r));
		session_close(&s);
		return -1;
	}
	*capacity = cs.kb * 1024;
	*available = cs.kb_avail * 1024;
	*used = cs.kb_used * 1024;
	session_close(&s);
	return 0;
}

static int rbdb_info(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		     struct nc_volume *out, struct nc_err *err)
{
	struct rbd_session s;
	rbd_image_t img;
	rbd_image_info_t st;
	rbd_linked_image_spec_t parent;
	rbd_snap_spec_t psnap;
	struct nc_volume v;
	int r, ret = -1;

	(void)host;
	if (session_open(&s, pool, vol, err) < 0)
		return -1;
	memset(&v, 0, sizeof(v));
	r = rbd_open_read_only(s.io, vol, &img, NULL);
	if (r == -ENOENT) {
		*out = v;
		ret = 0;
		goto out;
	}
	if (r < 0) {
		rbd_fail(err, vol, "cannot open the image", r);
		goto out;
	}
	r = rbd_stat(img, &st, sizeof(st));
	if (r < 0) {
		rbd_close(img);
		rbd_fail(err, vol, "cannot stat the image", r);
		goto out;
	}
	v.exists = true;
	v.capacity = st.size;
	v.allocation = 0;
	v.format = nc_xstrdup("raw");
	v.path = nc_xasprintf("%s/%s", pool->rbd_pool, vol);
	r = rbd_get_parent(img, &parent, &psnap);
	if (r == 0) {
		v.backing = nc_xasprintf("%s/%s", parent.pool_name, parent.image_name);
		rbd_linked_image_spec_cleanup(&parent);
		rbd_snap_spec_cleanup(&psnap);
	}
	rbd_close(img);
	if (r < 0 && r != -ENOENT) {
		nc_volume_release(&v);
		rbd_fail(err, vol, "cannot read the image's parent", r);
		goto out;
	}
	*out = v;
	ret = 0;
out:
	session_close(&s);
	return ret;
}

/* the base image's snapshot clones hang off: created and protected when missing */
static int base_snapshot(rados_ioctx_t io, const char *vol, const char *base, uint64_t *base_size,
			 struct nc_err *err)
{
	rbd_image_t b;
	rbd_image_info_t st;
	bool exists = false;
	int prot = 0, r;
	int ret = -1;

	r = rbd_open(io, base, &b, NULL);
	if (r == -ENOENT) {
		nc_err_set(err, "disk %s: base image %s does not exist", vol, base);
		return -1;
	}
	if (r < 0)
		return rbd_fail(err, vol, "cannot open the base image", r);
	if ((r = rbd_stat(b, &st, sizeof(st))) < 0) {
		rbd_fail(err, vol, "cannot stat the base image", r);
		goto out;
	}
	*base_size = st.size;
	if ((r = rbd_snap_exists(b, BASE_SNAP, &exists)) < 0) {
		rbd_fail(err, vol, "cannot list the base image's snapshots", r);
		goto out;
	}
	/* another pass may have made it in between: EEXIST is fine */
	if (!exists && (r = rbd_snap_create(b, BASE_SNAP)) < 0 && r != -EEXIST) {
		rbd_fail(err, vol, "cannot snapshot the base image", r);
		goto out;
	}
	if ((r = rbd_snap_is_protected(b, BASE_SNAP, &prot)) < 0) {
		rbd_fail(err, vol, "cannot read the base snapshot", r);
		goto out;
	}
	if (!prot && (r = rbd_snap_protect(b, BASE_SNAP)) < 0 && r != -EBUSY) {
		rbd_fail(err, vol, "cannot protect the base snapshot", r);
		goto out;
	}
	ret = 0;
out:
	rbd_close(b);
	return ret;
}

static int rbdb_create(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		       uint64_t size, const char *base, struct nc_err *err)
{
	struct rbd_session s;
	rbd_image_options_t opts;
	rbd_image_t img;
	uint64_t base_size = 0;
	int r, ret = -1;

	(void)host;
	if (session_open(&s, pool, vol, err) < 0)
		return -1;
	rbd_image_options_create(&opts);
	r = rbd_open_read_only(s.io, vol, &img, NULL);
	if (r == 0) {
		rbd_close(img);
		nc_err_set(err, "disk %s: already exists in storage pool %s", vol, pool->name);
		goto out;
	}
	if (r != -ENOENT) {
		rbd_fail(err, vol, "cannot look up the image", r);
		goto out;
	}
	if (!base) {
		if (size == 0) {
			nc_err_set(err, "disk %s: a size is needed", vol);
			goto out;
		}
		/* the cluster's default features (layering among them) */
		if ((r = rbd_create4(s.io, vol, size, opts)) < 0) {
			rbd_fail(err, vol, "cannot create the image", r);
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (base_snapshot(s.io, vol, base, &base_size, err) < 0)
		goto out;
	if ((r = rbd_clone3(s.io, base, BASE_SNAP, s.io, vol, opts)) < 0) {
		rbd_fail(err, vol, "cannot clone the base image", r);
		goto out;
	}
	/* a clone starts at the base's size: grow it to the size asked */
	if (size > base_size) {
		if ((r = rbd_open(s.io, vol, &img, NULL)) < 0) {
			rbd_fail(err, vol, "cannot open the new clone", r);
			goto out;
		}
		r = rbd_resize(img, size);
		rbd_close(img);
		if (r < 0) {
			rbd_fail(err, vol, "cannot grow the new clone", r);
			goto out;
		}
	}
	ret = 0;
out:
	rbd_image_options_destroy(opts);
	session_close(&s);
	return ret;
}

static int rbdb_resize(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		       uint64_t size, const char *running_domain, const char *target,
		       struct nc_err *err)
{
	struct rbd_session s;
	rbd_image_t img;
	rbd_image_info_t st;
	bool opened = false;
	int r, ret = -1;

	if (session_open(&s, pool, vol, err) < 0)
		return -1;
	r = rbd_open(s.io, vol, &img, NULL);
	if (r == -ENOENT) {
		nc_err_set(err, "disk %s: does not exist in storage pool %s", vol, pool->name);
		goto out;
	}
	if (r < 0) {
		rbd_fail(err, vol, "cannot open the image", r);
		goto out;
	}
	opened = true;
	if ((r = rbd_stat(img, &st, sizeof(st))) < 0) {
		rbd_fail(err, vol, "cannot stat the image", r);
		goto out;
	}
	r = nc_storage_check_grow(vol, st.size, size, err);
	if (r <= 0) {
		ret = r;
		goto out;
	}
	if (host && running_domain && target) {
		/* QEMU holds the image: it resizes it, and the guest sees it */
		rbd_close(img);
		opened = false;
		ret = nc_storage_block_resize(host, vol, running_domain, target, size, err);
		goto out;
	}
	if ((r = rbd_resize(img, size)) < 0) {
		rbd_fail(err, vol, "cannot resize the image", r);
		goto out;
	}
	ret = 0;
out:
	if (opened)
		rbd_close(img);
	session_close(&s);
	return ret;
}

static int rbdb_remove(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		       struct nc_err *err)
{
	struct rbd_session s;
	int r, ret = 0;

	(void)host;
	if (session_open(&s, pool, vol, err) < 0)
		return -1;
	r = rbd_remove(s.io, vol);
	if (r == -EBUSY)
		ret = rbd_fail(err, vol, "cannot delete the image (still open by a client, or has clones)", r);
	else if (r == -ENOTEMPTY)
		ret = rbd_fail(err, vol, "cannot delete the image (it has snapshots)", r);
	else if (r < 0 && r != -ENOENT)
		ret = rbd_fail(err, vol, "cannot delete the image", r);
	session_close(&s);
	return ret;
}

/* every byte 0 */
static bool all_zero(const char *buf, size_t n)
{
	return n == 0 || (buf[0] == 0 && memcmp(buf, buf + 1, n - 1) == 0);
}

/*
 * storage.h nc_vol_upload for rbd: a new image of len bytes, written in
 * 4 MiB pieces read with pread; pieces of zeros are not written (a new
 * image reads as zeros), so the image stays thin.  Only raw bytes: RBD
 * disks are raw block devices.  Failure removes the new image.
 */
static int rbdb_upload(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		       const char *format, int fd, uint64_t len, struct nc_upload_hash *hash,
		       struct nc_err *err)
{
	const size_t piece = 4U << 20;
	struct rbd_session s;
	rbd_image_options_t opts;
	rbd_image_t img;
	bool made = false, opened = false;
	uint64_t pos = 0;
	char *buf = NULL;
	int r, ret = -1;

	(void)host;
	if (format && strcmp(format, "raw") != 0) {
		nc_err_set(err, "volume %s: rbd pools hold raw images, not %s", vol, format);
		return -1;
	}
	if (session_open(&s, pool, vol, err) < 0)
		return -1;
	rbd_image_options_create(&opts);
	r = rbd_open_read_only(s.io, vol, &img, NULL);
	if (r == 0) {
		rbd_close(img);
		nc_err_set(err, "volume %s: already exists in storage pool %s", vol, pool->name);
		goto out;
	}
	if (r != -ENOENT) {
		rbd_fail(err, vol, "cannot look up the image", r);
		goto out;
	}
	if ((r = rbd_create4(s.io, vol, len, opts)) < 0) {
		rbd_fail(err, vol, "cannot create the image", r);
		goto out;
	}
	made = true;
	if ((r = rbd_open(s.io, vol, &img, NULL)) < 0) {
		rbd_fail(err, vol, "cannot open the new image", r);
		goto out;
	}
	opened = true;
	buf = nc_xmalloc(piece);
	while (pos < len) {
		size_t want = len - pos < piece ? (size_t)(len - pos) : piece, got = 0;
		ssize_t n;

		while (got < want) {
			n = pread(fd, buf + got, want - got, (off_t)(pos + got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				nc_err_set(err, "volume %s: cannot read the image: %s", vol,
					   n < 0 ? strerror(errno) : "the file is shorter than its declared length");
				goto out;
			}
			got += (size_t)n;
		}
		nc_upload_hash_update(hash, buf, want);
		if (!all_zero(buf, want)) {
			n = rbd_write(img, pos, want, buf);
			if (n < 0 || (size_t)n != want) {
				rbd_fail(err, vol, "cannot write the image", n < 0 ? (int)n : -EIO);
				goto out;
			}
		}
		pos += want;
	}
	if ((r = rbd_flush(img)) < 0) {
		rbd_fail(err, vol, "cannot flush the image", r);
		goto out;
	}
	ret = 0;
out:
	if (opened)
		rbd_close(img);
	if (ret < 0 && made)
		(void)rbd_remove(s.io, vol);
	free(buf);
	rbd_image_options_destroy(opts);
	session_close(&s);
	return ret;
}

const struct nc_storage_backend nc_storage_rbd = {
	.type = "rbd",
	.info = rbdb_info,
	.create = rbdb_create,
	.resize = rbdb_resize,
	.remove = rbdb_remove,
	.upload = rbdb_upload,
};
