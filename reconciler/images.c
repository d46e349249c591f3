/*
 * images.c - base images (kind Image): sources, the cache, observation of
 * Image volumes, URL checks and parallel uploads.  See images.h.
 */
#include "images.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../drivers/storage/storage.h"
#include "../spec/util.h"
#include "backups.h"
#include "volumes.h"

#define MARK ".ok"
#define SIM_PLACEHOLDER (2ULL << 30)

/* ---- names ---- */

char *nc_image_volume(const struct nc_image *im, const struct nc_pool *pool)
{
	bool rbd = pool->spec.type.v == NC_POOL_RBD;
	bool raw = NC_IS_SET(im->spec.format) && im->spec.format.v == NC_IMAGE_RAW;

	return nc_xasprintf("novacron-image-%s-%.12s%s", im->obj.meta.name.v, im->spec.sha256.v,
			    rbd ? "" : raw ? ".raw" : ".qcow2");
}

char *nc_image_base(const struct nc_image *im, const struct nc_pool *pool)
{
	char *vol = nc_image_volume(im, pool), *out;

	if (pool->spec.type.v == NC_POOL_RBD)
		return vol;
	out = nc_xasprintf("%s/%s", pool->spec.path.v, vol);
	free(vol);
	return out;
}

static const char *format_name(const struct nc_image *im)
{
	return NC_IS_SET(im->spec.format) && im->spec.format.v == NC_IMAGE_RAW ? "raw" : "qcow2";
}

/* ---- observe ---- */

static int vol_cmp(const void *pa, const void *pb)
{
	const struct nc_image_vol *a = pa, *b = pb;
	int c = strcmp(a->pool, b->pool);

	return c ? c : strcmp(a->image, b->image);
}

void nc_image_vols_free(struct nc_image_vol *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].pool);
		free(v[i].image);
	}
	free(v);
}

void nc_images_observe(struct nc_image_vol **out, size_t *nout, struct nc_host_conn *conn,
		       const struct nc_spec *spec)
{
	struct nc_image_vol *v = NULL;
	const struct nc_vm *vm;
	size_t n = 0, i, k, j;

	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		for (k = 0; k < vm->eff.disks.n; k++) {
			const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + k;
			const struct nc_image *im;
			const struct nc_pool *pool;

			if (!NC_IS_SET(d->image) || d->image.v[0] == '/' || !NC_IS_SET(d->pool))
				continue;
			im = (const struct nc_image *)nc_spec_find(spec, NC_KIND_IMAGE, d->image.v);
			pool = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v);
			if (!im || !pool || (pool->spec.type.v == NC_POOL_RBD) != !conn)
				continue;
			for (j = 0; j < n; j++)
				if (strcmp(v[j].pool, d->pool.v) == 0 && strcmp(v[j].image, d->image.v) == 0)
					break;
			if (j < n)
				continue;
			v = nc_xreallocarray(v, n + 1, sizeof(*v));
			memset(&v[n], 0, sizeof(v[n]));
			v[n].pool = nc_xstrdup(pool->obj.meta.name.v);
			v[n].image = nc_xstrdup(im->obj.meta.name.v);
			{
				struct nc_pool_def pd;
				struct nc_volume info;
				struct nc_err err = { "" };
				char *vol = nc_image_volume(im, pool), *mark = nc_xasprintf("%s" MARK, vol);

				nc_pool_def_from_spec(&pd, pool);
				memset(&info, 0, sizeof(info));
				/* a pool that cannot be read holds nothing usable: apply says why */
				if (nc_vol_info(conn, &pd, vol, &info, &err) == 0 && info.exists) {
					v[n].present = true;
					nc_volume_release(&info);
					if (nc_vol_info(conn, &pd, mark, &info, &err) == 0 && info.exists)
						v[n].complete = true;
					nc_volume_release(&info);
				}
				free(vol);
				free(mark);
			}
			n++;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), vol_cmp);
	*out = v;
	*nout = n;
}

/* ---- sources ---- */

/* the URL as it may be shown: no credentials, no query (signed URLs carry tokens) */
static char *url_shown(const char *url)
{
	char *r = nc_url_redact(url), *q = strpbrk(r, "?#");

	if (q) {
		char *t = nc_xasprintf("%.*s?...", (int)(q - r), r);

		free(r);
		r = t;
	}
	return r;
}

static int sha256_fd(int fd, char out[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE], *buf = nc_xmalloc(1 << 20);
	unsigned mdlen = 0, i;
	ssize_t n;
	int ret = -1;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort();
	while ((n = read(fd, buf, 1 << 20)) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	if (n == 0) {
		EVP_DigestFinal_ex(ctx, md, &mdlen);
		for (i = 0; i < mdlen; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		ret = 0;
	}
	EVP_MD_CTX_free(ctx);
	free(buf);
	return ret;
}

/*
 * The sha256 of a local file, remembered in checked/ under a key made of
 * its path, size, mtime and inode: a plan does not hash the same file
 * again until it changes.
 */
static int file_sha256(const char *path, const struct stat *st, const char *cache_dir, char out[65])
{
	char key[65], *memo = NULL, *text = NULL, *dir = NULL;
	char *id = nc_xasprintf("%s\n%llu\n%lld.%09ld\n%llu\n%llu", path, (unsigned long long)st->st_size,
				(long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
				(unsigned long long)st->st_ino, (unsigned long long)st->st_dev);
	size_t len = 0;
	int fd, ret = -1;

	nc_sha256_hex(id, strlen(id), key);
	free(id);
	if (cache_dir) {
		dir = nc_xasprintf("%s/checked", cache_dir);
		memo = nc_xasprintf("%s/%s", dir, key);
		if (nc_read_file(memo, 128, &text, &len) == 0 && len >= 64) {
			memcpy(out, text, 64);
			out[64] = 0;
			ret = 0;
			goto out;
		}
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	ret = sha256_fd(fd, out);
	close(fd);
	if (ret == 0 && memo && nc_mkdir_p_mode(dir, 0700) == 0)
		(void)nc_write_file_atomic(memo, out, 64, 0600);
out:
	free(text);
	free(memo);
	free(dir);
	return ret;
}

static void resolve_file(struct nc_image_src *s, const struct nc_path_roots *roots, const char *cache_dir)
{
	const char *name = s->im->spec.source.file.v;
	size_t i;
	char sum[65];

	s->shown = nc_xasprintf("file %s", name);
	for (i = 0; roots && i < roots->n[NC_ROOT_IMAGES]; i++) {
		char *p = nc_xasprintf("%s/%s", roots->v[NC_ROOT_IMAGES][i], name), *res = NULL;
		const char *why = NULL;
		struct stat st;

		if (lstat(p, &st) < 0) {
			free(p);
			continue;
		}
		/* a symlink in the root must not lead out of it */
		if (nc_path_resolve(&res, p, &why) < 0 || !nc_path_within(res, roots->v[NC_ROOT_IMAGES][i])) {
			s->error = nc_xasprintf("file %s in %s leads outside the operator's paths.images",
						name, roots->v[NC_ROOT_IMAGES][i]);
		} else if (stat(res, &st) < 0 || !S_ISREG(st.st_mode)) {
			s->error = nc_xasprintf("%s is not a regular file", res);
		} else if (file_sha256(res, &st, cache_dir, sum) < 0) {
			s->error = nc_xasprintf("cannot read %s: %s", res, strerror(errno));
		} else if (strcmp(sum, s->im->spec.sha256.v) != 0) {
			s->error = nc_xasprintf("%s has sha256 %s, not the %s the spec gives (a different "
						"file, or the spec is wrong)", res, sum, s->im->spec.sha256.v);
		} else {
			s->path = res;
			res = NULL;
			s->size = (uint64_t)st.st_size;
		}
		free(res);
		free(p);
		return;
	}
	s->error = nc_xasprintf("file %s is in none of the operator's paths.images (%s)", name,
				roots && roots->shown[NC_ROOT_IMAGES] ? roots->shown[NC_ROOT_IMAGES] : "none");
}

static void resolve_url(struct nc_image_src *s, const char *cache_dir)
{
	struct stat st;
	char *p;

	s->shown = url_shown(s->im->spec.source.url.v);
	if (!cache_dir)
		return;
	p = nc_xasprintf("%s/%s", cache_dir, s->im->spec.sha256.v);
	/* only verified bytes are ever renamed to their sha256 */
	if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
		s->path = p;
		s->size = (uint64_t)st.st_size;
		return;
	}
	free(p);
}

static int src_cmp(const void *pa, const void *pb)
{
	const struct nc_image_src *a = pa, *b = pb;

	return strcmp(a->im->obj.meta.name.v, b->im->obj.meta.name.v);
}

void nc_images_resolve(struct nc_image_set *out, const struct nc_spec *spec,
		       const struct nc_path_roots *roots, const char *state_dir)
{
	const struct nc_image *im;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->cache_dir = state_dir ? nc_xasprintf("%s/images", state_dir) : NULL;
	NC_SPEC_EACH(spec, NC_KIND_IMAGE, const struct nc_image, im, i) {
		const struct nc_vm *vm;
		size_t j, k;
		bool used = false;

		NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, j)
			for (k = 0; k < vm->eff.disks.n && !used; k++) {
				const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + k;

				used = NC_IS_SET(d->image) && strcmp(d->image.v, im->obj.meta.name.v) == 0;
			}
		if (!used || im->obj.invalid)
			continue;
		out->v = nc_xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		memset(&out->v[out->n], 0, sizeof(out->v[0]));
		out->v[out->n].im = im;
		if (NC_IS_SET(im->spec.source.file))
			resolve_file(&out->v[out->n], roots, out->cache_dir);
		else
			resolve_url(&out->v[out->n], out->cache_dir);
		out->n++;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), src_cmp);
}

void nc_image_set_release(struct nc_image_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].error);
		free(s->v[i].shown);
	}
	free(s->v);
	free(s->cache_dir);
	memset(s, 0, sizeof(*s));
}

const struct nc_image_src *nc_image_set_find(const struct nc_image_set *s, const char *name)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (strcmp(s->v[i].im->obj.meta.name.v, name) == 0)
			return &s->v[i];
	return NULL;
}

/* ---- libcurl: the spec's URL is untrusted ---- */

/* the options every request to a spec URL gets (docs/security.md) */
static void curl_safe(CURL *c, const char *url)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "novacron");
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)NC_IMAGE_MAX_BYTES);
}

/* "HTTP 404", or curl's words; the URL never (it is shown redacted by the caller) */
static void curl_why(CURL *c, CURLcode rc, const char *ebuf, char *out, size_t len)
{
	long code = 0;

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_HTTP_RETURNED_ERROR && code)
		snprintf(out, len, "HTTP %ld", code);
	else
		snprintf(out, len, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
}

static bool host_is_sim(const struct nc_cluster *c, size_t h)
{
	const char *u = c->hosts[h].spec->spec.uri.v;

	return u && strncmp(u, "sim://", 6) == 0;
}

void nc_images_check_urls(struct nc_plan *p, const struct nc_cluster *c, const struct nc_image_set *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		const struct nc_image_src *src = &s->v[i];
		char ebuf[CURL_ERROR_SIZE] = "", why[CURL_ERROR_SIZE + 32];
		bool needed = false;
		CURL *cu;
		CURLcode rc;

		if (src->path || src->error || !NC_IS_SET(src->im->spec.source.url))
			continue;
		for (j = 0; j < p->nactions && !needed; j++) {
			const struct nc_action *a = &p->actions[j];
			const struct nc_pool *pl;

			if (a->kind != NC_ACT_UPLOAD || strcmp(a->vm, src->im->obj.meta.name.v) != 0)
				continue;
			pl = (const struct nc_pool *)nc_spec_find(p->spec, NC_KIND_STORAGE_POOL, a->pool);
			needed = !host_is_sim(c, a->host) || (pl && pl->spec.type.v == NC_POOL_RBD);
		}
		if (!needed)
			continue;
		cu = curl_easy_init();
		if (!cu)
			abort();
		curl_safe(cu, src->im->spec.source.url.v);
		curl_easy_setopt(cu, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(cu, CURLOPT_TIMEOUT, 30L);
		curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, ebuf);
		rc = curl_easy_perform(cu);
		if (rc != CURLE_OK) {
			curl_why(cu, rc, ebuf, why, sizeof(why));
			nc_plan_add_error(p, NULL, "Image %s: %s cannot be downloaded: %s",
					  src->im->obj.meta.name.v, src->shown, why);
		}
		curl_easy_cleanup(cu);
	}
}

struct fetch {
	int fd;
	EVP_MD_CTX *ctx;
	uint64_t got;
	int err;
};

static size_t fetch_write(char *data, size_t size, size_t nmemb, void *opaque)
{
	struct fetch *f = opaque;
	size_t n = size * nmemb;

	if (f->got + n > NC_IMAGE_MAX_BYTES) {
		f->err = EFBIG;
		return 0;
	}
	if (nc_write_all(f->fd, data, n) < 0) {
		f->err = errno;
		return 0;
	}
	EVP_DigestUpdate(f->ctx, data, n);
	f->got += n;
	return n;
}

int nc_image_fetch(struct nc_image_src *src, const char *cache_dir, struct nc_err *err)
{
	char ebuf[CURL_ERROR_SIZE] = "", why[CURL_ERROR_SIZE + 32], sum[65];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	struct fetch f = { -1, NULL, 0, 0 };
	char *tmp = NULL, *dst = NULL;
	CURL *cu = NULL;
	CURLcode rc;
	int ret = -1;

	if (src->path)
		return 0;
	if (!cache_dir || !NC_IS_SET(src->im->spec.source.url)) {
		nc_err_set(err, "Image %s: nowhere to download it to", src->im->obj.meta.name.v);
		return -1;
	}
	if (nc_mkdir_p_mode(cache_dir, 0700) < 0) {
		nc_err_set(err, "Image %s: cannot create %s: %s", src->im->obj.meta.name.v, cache_dir, strerror(errno));
		return -1;
	}
	dst = nc_xasprintf("%s/%s", cache_dir, src->im->spec.sha256.v);
	tmp = nc_xasprintf("%s/.part-%s-%ld", cache_dir, src->im->spec.sha256.v, (long)getpid());
	f.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f.fd < 0) {
		nc_err_set(err, "Image %s: cannot create %s: %s", src->im->obj.meta.name.v, tmp, strerror(errno));
		goto out;
	}
	f.ctx = EVP_MD_CTX_new();
	if (!f.ctx || EVP_DigestInit_ex(f.ctx, EVP_sha256(), NULL) != 1)
		abort();
	cu = curl_easy_init();
	if (!cu)
		abort();
	curl_safe(cu, src->im->spec.source.url.v);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, ebuf);
	rc = curl_easy_perform(cu);
	if (rc != CURLE_OK) {
		if (f.err)
			snprintf(why, sizeof(why), "%s", f.err == EFBIG ? "larger than the size cap" : strerror(f.err));
		else
			curl_why(cu, rc, ebuf, why, sizeof(why));
		nc_err_set(err, "Image %s: downloading %s failed: %s", src->im->obj.meta.name.v, src->shown, why);
		goto out;
	}
	EVP_DigestFinal_ex(f.ctx, md, &mdlen);
	for (i = 0; i < mdlen; i++)
		snprintf(sum + 2 * i, 3, "%02x", md[i]);
	if (strcmp(sum, src->im->spec.sha256.v) != 0) {
		nc_err_set(err, "Image %s: %s has sha256 %s, not the %s the spec gives; the download was discarded",
			   src->im->obj.meta.name.v, src->shown, sum, src->im->spec.sha256.v);
		goto out;
	}
	if (f.got == 0) {
		nc_err_set(err, "Image %s: %s is empty", src->im->obj.meta.name.v, src->shown);
		goto out;
	}
	if (fsync(f.fd) < 0 || rename(tmp, dst) < 0) {
		nc_err_set(err, "Image %s: cannot keep the download in %s: %s", src->im->obj.meta.name.v, dst,
			   strerror(errno));
		goto out;
	}
	src->path = dst;
	dst = NULL;
	src->size = f.got;
	ret = 0;
out:
	if (cu)
		curl_easy_cleanup(cu);
	if (f.ctx)
		EVP_MD_CTX_free(f.ctx);
	if (f.fd >= 0)
		close(f.fd);
	if (ret < 0 && tmp)
		unlink(tmp);      /* bad bytes are never kept */
	free(tmp);
	free(dst);
	return ret;
}

/* ---- uploads ---- */

struct upload_ctx {
	struct nc_image_upload_job *jobs;
	size_t n, next;
	const struct nc_spec *spec;
	const struct nc_image_set *set;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* one upload action: replace a partial volume, upload (verified), then mark it complete */
static int upload_one(const struct nc_action *a, struct nc_host_conn *conn, const struct nc_spec *spec,
		      const struct nc_image_set *set, struct nc_err *err)
{
	const struct nc_image *im = (const struct nc_image *)nc_spec_find(spec, NC_KIND_IMAGE, a->vm);
	const struct nc_pool *pool = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, a->pool);
	const struct nc_image_src *src = nc_image_set_find(set, a->vm);
	struct nc_pool_def pd;
	struct nc_volume info;
	char *vol = NULL, *mark = NULL;
	bool rbd;
	int fd = -1, ret = -1;

	if (!im || !pool) {
		nc_err_set(err, "Image %s or pool %s is not in the spec", a->vm, a->pool);
		return -1;
	}
	rbd = pool->spec.type.v == NC_POOL_RBD;
	nc_pool_def_from_spec(&pd, pool);
	vol = nc_image_volume(im, pool);
	mark = nc_xasprintf("%s" MARK, vol);
	if (rbd)
		conn = NULL;
	/* re-check: another pass may have finished it meanwhile */
	memset(&info, 0, sizeof(info));
	if (nc_vol_info(conn, &pd, mark, &info, err) < 0)
		goto out;
	if (info.exists) {
		nc_volume_release(&info);
		ret = 0;
		goto out;
	}
	if (nc_vol_info(conn, &pd, vol, &info, err) < 0)
		goto out;
	if (info.exists && nc_vol_delete(conn, &pd, vol, err) < 0)    /* a cut-short upload */
		goto out;
	nc_volume_release(&info);
	if (src && src->path) {
		fd = open(src->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			nc_err_set(err, "Image %s: cannot open %s: %s", a->vm, src->path, strerror(errno));
			goto out;
		}
		/* src->path holds verified bytes: a file hashed by this pass (resolve), or a
		 * download renamed to its sha256 only after it matched; the upload checks the
		 * length the daemon wrote (docs/plan.md says why not the hash again) */
		if (nc_vol_upload(conn, &pd, vol, format_name(im), fd, src->size, err) < 0)
			goto out;
	} else if (conn && nc_libvirt_is_sim(conn)) {
		/* a simulated host holds no bytes: a placeholder of the usual cloud image size */
		if (nc_vol_create(conn, &pd, vol, SIM_PLACEHOLDER, NULL, err) < 0)
			goto out;
	} else {
		nc_err_set(err, "Image %s: its bytes are not here (%s was not downloaded)", a->vm,
			   src ? src->shown : "its source");
		goto out;
	}
	/* the completion mark: small, empty, made last */
	if (nc_vol_create(conn, &pd, mark, 1ULL << 20, NULL, err) < 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(vol);
	free(mark);
	return ret;
}

static void *upload_worker(void *arg)
{
	struct upload_ctx *u = arg;

	for (;;) {
		struct nc_image_upload_job *j;
		double t0;

		size_t i, k;

		/* the next job whose host no other worker is on: one upload per host at a time
		 * (hosts in parallel; a simulated host's state file is written by one) */
		pthread_mutex_lock(&u->mu);
		for (;;) {
			bool left = false;

			j = NULL;
			for (i = 0; i < u->n && !j; i++) {
				bool busy = false;

				if (u->jobs[i].state != 0)
					continue;
				left = true;
				for (k = 0; k < u->n && !busy; k++)
					busy = u->jobs[k].state == 1 && u->jobs[k].conn == u->jobs[i].conn;
				if (!busy)
					j = &u->jobs[i];
			}
			if (j || !left)
				break;
			pthread_cond_wait(&u->cv, &u->mu);
		}
		if (j)
			j->state = 1;
		pthread_mutex_unlock(&u->mu);
		if (!j)
			break;
		t0 = mono();
		j->rc = upload_one(j->a, j->conn, u->spec, u->set, &j->err);
		j->seconds = mono() - t0;
		if (j->conn && j->conn->drv->commit) {
			struct nc_err e2 = { "" };

			if (j->conn->drv->commit(j->conn, &e2) < 0 && j->rc == 0) {
				j->err = e2;
				j->rc = -1;
			}
		}
		pthread_mutex_lock(&u->mu);
		j->state = 2;
		pthread_cond_broadcast(&u->cv);
		pthread_mutex_unlock(&u->mu);
	}
	return NULL;
}

void nc_images_upload(struct nc_image_upload_job *jobs, size_t n, const struct nc_spec *spec,
		      const struct nc_image_set *s)
{
	struct upload_ctx u = { jobs, n, 0, spec, s, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };
	pthread_t t[16];
	size_t k, nt = n < 16 ? n : 16;

	for (k = 0; k < nt; k++)
		pthread_create(&t[k], NULL, upload_worker, &u);
	for (k = 0; k < nt; k++)
		pthread_join(t[k], NULL);
	pthread_mutex_destroy(&u.mu);
	pthread_cond_destroy(&u.cv);
}
