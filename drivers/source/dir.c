/*
 * source/dir.c - the desired state from a local directory, watched with
 * inotify; also nc_revision_release(), shared by every source.
 *
 * open() watches the directory and its subdirectories (not those whose name
 * starts with '.', such as .git, nor symbolic links to directories), and
 * adds watches for subdirectories created or moved in later.  fetch()
 * returns the directory itself; its id is "dir:" + SHA-256 over the sorted
 * relative paths of the *.yaml and *.yml files that the spec loader reads
 * (the same walk, spec/walk.h: dot entries skipped, symbolic links that
 * lead outside the directory never read) and the SHA-256 of each one's
 * content, so a change to anything else leaves the id alone.
 *
 * wait() returns 1 after an event on a name not starting with '.' (editors'
 * swap files are ignored) once debounce_ms (default 200) pass without a new
 * one, even if that runs past timeout_ms; a directory written without pause
 * ends the wait anyway after max(timeout_ms, 10 x debounce_ms) of settling.
 * 0 on timeout.  A signal (EINTR) returns 0 early; a change seen before it is
 * kept and reported by the next wait().  An overflow of the event queue
 * counts as a change and re-scans the watches.
 */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../spec/util.h"
#include "../../spec/walk.h"

#define NC_DIR_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | \
		     IN_CLOSE_WRITE | IN_DELETE_SELF)
#define NC_DIR_MAX_DEPTH 64
#define NC_DIR_DEFAULT_DEBOUNCE_MS 200

void nc_revision_release(struct nc_revision *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->summary);
	free(r->signer);
	memset(r, 0, sizeof(*r));
}

struct dir_watch {
	int wd;
	char *path;
};

struct nc_source {
	char *root;
	int fd;                 /* inotify */
	struct dir_watch *w;
	size_t nw, walloc;
	unsigned debounce_ms;
	bool pending;           /* a change seen, not yet reported */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);

	return nc_xasprintf("%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
}

/* ---- watches ---- */

static struct dir_watch *find_wd(struct nc_source *s, int wd)
{
	size_t i;

	for (i = 0; i < s->nw; i++)
		if (s->w[i].wd == wd)
			return &s->w[i];
	return NULL;
}

static void forget_at(struct nc_source *s, size_t i)
{
	free(s->w[i].path);
	s->w[i] = s->w[--s->nw];
}

/* Watches path and the directories below it; -1 (errno) if path itself fails. */
static int add_watches(struct nc_source *s, const char *path, int depth)
{
	struct dir_watch *w;
	struct dirent *de;
	DIR *d;
	int wd;

	if (depth > NC_DIR_MAX_DEPTH)
		return 0;
	wd = inotify_add_watch(s->fd, path, NC_DIR_MASK | IN_ONLYDIR | (depth ? IN_DONT_FOLLOW : 0));
	if (wd < 0)
		return -1;
	w = find_wd(s, wd);
	if (w) {
		free(w->path);          /* renamed, or seen again after an overflow */
	} else {
		if (s->nw == s->walloc) {
			s->walloc = s->walloc ? s->walloc * 2 : 16;
			s->w = nc_xreallocarray(s->w, s->walloc, sizeof(*s->w));
		}
		w = &s->w[s->nw++];
		w->wd = wd;
	}
	w->path = nc_xstrdup(path);
	d = opendir(path);
	if (!d)
		return 0;               /* removed meanwhile: its events tell */
	while ((de = readdir(d))) {
		struct stat st;
		char *sub;

		if (de->d_name[0] == '.')
			continue;
		sub = join(path, de->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode) && add_watches(s, sub, depth + 1) < 0 &&
		    errno == ENOSPC) {
			free(sub);
			closedir(d);
			return -1;
		}
		free(sub);
	}
	closedir(d);
	return 0;
}

static int depth_of(const struct nc_source *s, const char *path)
{
	const char *p = path + strlen(s->root);
	int n = 0;

	for (; *p; p++)
		n += *p == '/';
	return n;
}

/* A directory moved away: stop watching it and what is below it. */
static void drop_watches_under(struct nc_source *s, const char *path)
{
	size_t i = 0, len = strlen(path);

	while (i < s->nw) {
		const char *p = s->w[i].path;

		if (strncmp(p, path, len) == 0 && (p[len] == '\0' || p[len] == '/')) {
			inotify_rm_watch(s->fd, s->w[i].wd);
			forget_at(s, i);
			continue;
		}
		i++;
	}
}

/* Reads every queued event; true when one of them is a change that counts. */
static bool drain(struct nc_source *s)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;
	ssize_t n;

	for (;;) {
		char *p;

		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			const char *name = ev->len ? ev->name : NULL;
			struct dir_watch *w;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				relevant = true;
				add_watches(s, s->root, 0);
				continue;
			}
			w = find_wd(s, ev->wd);
			if (ev->mask & IN_IGNORED) {
				if (w)
					forget_at(s, (size_t)(w - s->w));
				continue;
			}
			if (name && name[0] == '.')
				continue;
			relevant = true;
			if (!w || !name || !(ev->mask & IN_ISDIR))
				continue;
			if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
				char *sub = join(w->path, name);

				add_watches(s, sub, depth_of(s, sub));
				free(sub);
			} else if (ev->mask & IN_MOVED_FROM) {
				char *sub = join(w->path, name);

				drop_watches_under(s, sub);
				free(sub);
			}
		}
	}
	return relevant;
}

/* ---- driver ---- */

static void dir_close(struct nc_source *s)
{
	size_t i;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	for (i = 0; i < s->nw; i++)
		free(s->w[i].path);
	free(s->w);
	free(s->root);
	free(s);
}

static int dir_open(struct nc_source **out, const struct nc_source_opts *o, struct nc_err *err)
{
	struct nc_source *s;
	struct stat st;

	if (!o->url || !*o->url) {
		nc_err_set(err, "directory source: no path");
		return -1;
	}
	if (stat(o->url, &st) < 0) {
		nc_err_set(err, "directory source %s: %s", o->url, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		nc_err_set(err, "directory source %s: not a directory", o->url);
		return -1;
	}
	s = nc_xcalloc(1, sizeof(*s));
	s->root = nc_xstrdup(o->url);
	s->debounce_ms = o->debounce_ms ? o->debounce_ms : NC_DIR_DEFAULT_DEBOUNCE_MS;
	s->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->fd < 0) {
		nc_err_set(err, "directory source %s: inotify: %s", o->url, strerror(errno));
		goto fail;
	}
	if (add_watches(s, s->root, 0) < 0) {
		nc_err_set(err, "directory source %s: cannot watch it: %s%s", o->url, strerror(errno),
			   errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	dir_close(s);
	return -1;
}

/*
 * The files the spec loader reads, relative to the root: the same walk
 * (spec/walk.h), so symbolic links leading out are never read here either.
 * Its diagnostics are the loader's to report; only a root that cannot be
 * read fails the fetch.
 */
static int collect(struct nc_file_list *fl, const char *root, struct nc_err *err)
{
	struct nc_diags d;
	size_t rl = strlen(root), i;
	int ret = 0;

	nc_diags_init(&d);
	if (nc_walk_yaml(fl, root, &d) < 0) {
		for (i = 0; i < d.n; i++)
			if (d.v[i].sev == NC_SEV_ERROR && strcmp(d.v[i].file, root) == 0) {
				nc_err_set(err, "cannot read directory %s: %s", root, d.v[i].msg);
				ret = -1;
				break;
			}
	}
	nc_diags_release(&d);
	for (i = 0; i < fl->n; i++) {
		const char *rel = fl->v[i] + rl;
		char *r;

		while (*rel == '/')
			rel++;
		r = nc_xstrdup(rel);
		free(fl->v[i]);
		fl->v[i] = r;
	}
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SHA-256 of a file's content; 1 when it vanished meanwhile. */
static int hash_file(unsigned char md[32], const char *path, struct nc_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char buf[65536];
	int fd, ret = -1;

	if (!ctx) {
		nc_err_set(err, "SHA-256: out of memory");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			ret = 1;
		else
			nc_err_set(err, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto crypto;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			nc_err_set(err, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			goto crypto;
	}
	if (!EVP_DigestFinal_ex(ctx, md, NULL))
		goto crypto;
	ret = 0;
	goto out;
crypto:
	nc_err_set(err, "SHA-256 of %s failed", path);
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	return ret;
}

static int dir_fetch(struct nc_source *s, struct nc_revision *out, struct nc_err *err)
{
	struct nc_file_list fl = { NULL, 0, 0 };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	char hex[65];
	size_t i;
	int ret = -1;

	if (!ctx) {
		nc_err_set(err, "SHA-256: out of memory");
		return -1;
	}
	if (collect(&fl, s->root, err) < 0)
		goto out;
	if (fl.n)
		qsort(fl.v, fl.n, sizeof(*fl.v), cmp_str);
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto crypto;
	for (i = 0; i < fl.n; i++) {
		char *path = join(s->root, fl.v[i]);
		int rc = hash_file(md, path, err);

		free(path);
		if (rc < 0)
			goto out;
		if (rc > 0)
			continue;
		/* path, NUL, digest: unambiguous whatever the names */
		if (!EVP_DigestUpdate(ctx, fl.v[i], strlen(fl.v[i]) + 1) ||
		    !EVP_DigestUpdate(ctx, md, sizeof(md)))
			goto crypto;
	}
	if (!EVP_DigestFinal_ex(ctx, md, NULL))
		goto crypto;
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "dir:%s", hex);
	out->path = nc_xstrdup(s->root);
	out->summary = nc_xstrdup(s->root);
	ret = 0;
	goto out;
crypto:
	nc_err_set(err, "SHA-256 failed");
out:
	nc_file_list_release(&fl);
	EVP_MD_CTX_free(ctx);
	return ret;
}

/* poll() on the inotify fd: 1 readable, 0 timeout, -1 error or signal */
static int wait_readable(int fd, uint64_t ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int r = poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);

	return r < 0 ? -1 : r > 0;
}

static int dir_wait(struct nc_source *s, unsigned timeout_ms)
{
	uint64_t start = now_ms(), deadline = start + timeout_ms, settle_cap, quiet_since, t;
	int r;

	while (!s->pending) {
		t = now_ms();
		r = wait_readable(s->fd, deadline > t ? deadline - t : 0);
		if (r <= 0)
			return 0;       /* timeout, EINTR */
		if (drain(s))
			s->pending = true;
		else if (now_ms() >= deadline)
			return 0;
	}
	/* settle: until debounce_ms pass without a new change */
	settle_cap = timeout_ms > 10ull * s->debounce_ms ? timeout_ms : 10ull * s->debounce_ms;
	start = now_ms();
	quiet_since = start;
	for (;;) {
		t = now_ms();
		if (t - quiet_since >= s->debounce_ms || t - start >= settle_cap)
			break;
		r = wait_readable(s->fd, s->debounce_ms - (t - quiet_since));
		if (r < 0)
			return 0;       /* EINTR: s->pending keeps the change */
		if (r > 0 && drain(s))
			quiet_since = now_ms();
	}
	s->pending = false;
	return 1;
}

const struct nc_source_driver nc_source_dir = {
	.name = "dir",
	.open = dir_open,
	.fetch = dir_fetch,
	.wait = dir_wait,
	.close = dir_close,
};
