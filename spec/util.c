/* util.c - see util.h */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char nc_buf_empty[1];

static void nc_oom(size_t n)
{
	fprintf(stderr, "novacron: out of memory allocating %zu bytes\n", n);
	abort();
}

void *nc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		nc_oom(n);
	return p;
}

void *nc_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		nc_oom(nmemb * size);
	return p;
}

void *nc_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		nc_oom(n);
	return q;
}

void *nc_xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		nc_oom(SIZE_MAX);
	return nc_xrealloc(p, nmemb * size);
}

char *nc_xstrdup(const char *s)
{
	return nc_xstrndup(s, strlen(s));
}

char *nc_xstrndup(const char *s, size_t n)
{
	char *p = nc_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void nc_say(FILE *f, const char *fmt, ...)
{
	va_list ap;

	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fflush(f);
}

char *nc_xasprintf(const char *fmt, ...)
{
	struct nc_buf b = NC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return nc_buf_detach(&b, NULL);
}

void nc_buf_init(struct nc_buf *b)
{
	b->buf = nc_buf_empty;
	b->len = 0;
	b->alloc = 0;
}

void nc_buf_release(struct nc_buf *b)
{
	if (b->alloc)
		free(b->buf);
	nc_buf_init(b);
}

void nc_buf_grow(struct nc_buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		nc_oom(SIZE_MAX);
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return;
	if (!b->alloc)
		b->buf = NULL;
	b->alloc = b->alloc ? b->alloc : 64;
	while (b->alloc < need)
		b->alloc = b->alloc < SIZE_MAX / 2 ? b->alloc * 2 : need;
	b->buf = nc_xrealloc(b->buf, b->alloc);
	if (b->len == 0)
		b->buf[0] = '\0';
}

void nc_buf_add(struct nc_buf *b, const void *data, size_t len)
{
	nc_buf_grow(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void nc_buf_adds(struct nc_buf *b, const char *s)
{
	nc_buf_add(b, s, strlen(s));
}

void nc_buf_addc(struct nc_buf *b, char c)
{
	nc_buf_add(b, &c, 1);
}

void nc_buf_vaddf(struct nc_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	nc_buf_grow(b, (size_t)n);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void nc_buf_addf(struct nc_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void nc_buf_reset(struct nc_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

char *nc_buf_detach(struct nc_buf *b, size_t *out_len)
{
	char *s;

	if (!b->alloc)
		nc_buf_grow(b, 0);
	s = b->buf;
	if (out_len)
		*out_len = b->len;
	nc_buf_init(b);
	return s;
}

size_t nc_utf8_len(const unsigned char *p)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void nc_buf_add_json_str(struct nc_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	nc_buf_addc(b, '"');
	for (; *p; p++) {
		switch (*p) {
		case '"': nc_buf_adds(b, "\\\""); break;
		case '\\': nc_buf_adds(b, "\\\\"); break;
		case '\n': nc_buf_adds(b, "\\n"); break;
		case '\r': nc_buf_adds(b, "\\r"); break;
		case '\t': nc_buf_adds(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				nc_buf_addf(b, "\\u%04x", *p);
			} else if (*p < 0x80) {
				nc_buf_addc(b, (char)*p);
			} else {
				size_t n = nc_utf8_len(p);

				if (n) {
					nc_buf_add(b, p, n);
					p += n - 1;
				} else {
					nc_buf_adds(b, "\\ufffd");
				}
			}
		}
	}
	nc_buf_addc(b, '"');
}

/* ---- arena ---- */

struct nc_arena_block {
	struct nc_arena_block *next;
	size_t size;
	_Alignas(16) unsigned char data[];
};

#define NC_ARENA_BLOCK (64 * 1024)

void *nc_arena_alloc(struct nc_arena *a, size_t n)
{
	struct nc_arena_block *blk;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->used + n > a->head->size) {
		size_t size = n > NC_ARENA_BLOCK / 4 ? n : NC_ARENA_BLOCK;

		blk = nc_xmalloc(sizeof(*blk) + size);
		blk->size = size;
		if (size != NC_ARENA_BLOCK && a->head) {
			/* big allocation: keep filling the current block */
			blk->next = a->head->next;
			a->head->next = blk;
			memset(blk->data, 0, n);
			a->total += n;
			return blk->data;
		}
		blk->next = a->head;
		a->head = blk;
		a->used = 0;
	}
	p = a->head->data + a->used;
	a->used += n;
	a->total += n;
	memset(p, 0, n);
	return p;
}

char *nc_arena_strndup(struct nc_arena *a, const char *s, size_t n)
{
	char *p = nc_arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *nc_arena_strdup(struct nc_arena *a, const char *s)
{
	return nc_arena_strndup(a, s, strlen(s));
}

void nc_arena_release(struct nc_arena *a)
{
	struct nc_arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
	a->used = 0;
	a->total = 0;
}

unsigned nc_edit_distance(const char *a, const char *b, unsigned max)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	unsigned row[65], best, prev, cur;

	if (la > 64 || lb > 64)
		return max + 1;
	if ((la > lb ? la - lb : lb - la) > max)
		return max + 1;
	for (j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (unsigned)i;
		best = row[0];
		for (j = 1; j <= lb; j++) {
			unsigned del = row[j] + 1, ins = row[j - 1] + 1;
			unsigned sub = prev + (a[i - 1] != b[j - 1]);

			cur = del < ins ? del : ins;
			cur = cur < sub ? cur : sub;
			prev = row[j];
			row[j] = cur;
			if (cur < best)
				best = cur;
		}
		if (best > max)
			return max + 1;
	}
	return row[lb] > max ? max + 1 : row[lb];
}

/* reads fd (closed here) as nc_read_file does */
static int read_fd(int fd, size_t limit, char **out, size_t *out_len)
{
	struct stat st;
	struct nc_buf b = NC_BUF_INIT;
	char tmp[65536];
	ssize_t n;
	int ret = -1;

	if (fstat(fd, &st) < 0)
		goto out;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > limit) {
		ret = -2;
		goto out;
	}
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > limit) {
			ret = -2;
			goto out;
		}
		nc_buf_add(&b, tmp, (size_t)n);
	}
	*out = nc_buf_detach(&b, out_len);
	ret = 0;
out:
	if (ret < 0) {
		int e = errno;

		nc_buf_release(&b);
		close(fd);
		errno = e;
		return ret;
	}
	close(fd);
	return ret;
}

int nc_read_file(const char *path, size_t limit, char **out, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	return read_fd(fd, limit, out, out_len);
}

int nc_mkdir_p(const char *path)
{
	char *p = nc_xstrdup(path), *s;
	int ret = 0;

	for (s = p + 1; *s && !ret; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			ret = -1;
		*s = '/';
	}
	if (!ret && mkdir(p, 0755) < 0 && errno != EEXIST)
		ret = -1;
	free(p);
	return ret;
}

int nc_mkdir_p_mode(const char *path, unsigned mode)
{
	char *p = nc_xstrdup(path), *s;
	int ret = 0;

	for (s = p + 1; *s && !ret; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			ret = -1;
		*s = '/';
	}
	if (!ret && mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
		ret = -1;
	free(p);
	return ret;
}

static bool url_scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '-' || c == '.';
}

void nc_time_iso(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *nc_ctl_escape(const char *s)
{
	struct nc_buf b = NC_BUF_INIT;

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			nc_buf_addf(&b, "\\x%02x", c);
		else
			nc_buf_addc(&b, (char)c);
	}
	return nc_buf_detach(&b, NULL);
}

char *nc_url_redact(const char *text)
{
	struct nc_buf b = NC_BUF_INIT;
	const char *p = text ? text : "", *sep;

	while ((sep = strstr(p, "://")) != NULL) {
		const char *scheme = sep, *auth = sep + 3, *end, *at = NULL, *q, *colon;
		bool http;

		while (scheme > p && url_scheme_char(scheme[-1]))
			scheme--;
		/* the authority ends at the path, query, fragment, or anything a URL in a message would end at */
		end = auth + strcspn(auth, "/?# \t\r\n\"'<>");
		for (q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		nc_buf_add(&b, p, (size_t)(auth - p));
		p = auth;
		if (!at)
			continue;
		http = (sep - scheme == 4 && strncasecmp(scheme, "http", 4) == 0) ||
		       (sep - scheme == 5 && strncasecmp(scheme, "https", 5) == 0);
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon) {
			nc_buf_add(&b, auth, (size_t)(colon - auth));
			nc_buf_adds(&b, ":***");
		} else if (http && at > auth) {
			nc_buf_adds(&b, "***");
		} else {
			nc_buf_add(&b, auth, (size_t)(at - auth));
		}
		p = at;
	}
	nc_buf_adds(&b, p);
	return nc_buf_detach(&b, NULL);
}

int nc_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int nc_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char *tmp = nc_xasprintf("%s.tmp-%ld", path, (long)getpid());
	char *dir = nc_xstrdup(path), *slash = strrchr(dir, '/');
	int fd, dfd, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, (mode_t)mode) < 0 || nc_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		goto fail_unlink;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		goto fail_unlink;
	/* the rename itself reaches the disk with the directory */
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	free(tmp);
	return 0;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail:
	saved = errno;
	free(dir);
	free(tmp);
	errno = saved;
	return -1;
}

int nc_secret_check(const char *path, unsigned *bad_mode)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode))
		return NC_SECRET_NOT_FILE;
	if (st.st_mode & 077) {
		*bad_mode = (unsigned)(st.st_mode & 07777);
		return NC_SECRET_MODE_BAD;
	}
	return 0;
}

int nc_read_secret_file(const char *path, size_t limit, char **out, size_t *out_len, unsigned *bad_mode)
{
	/*
	 * O_NONBLOCK: opening a FIFO waits for a writer (a plan hung forever
	 * on one); the checks are on the file opened, not on the path again.
	 */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), e;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return NC_SECRET_NOT_FILE;
	}
	if (st.st_mode & 077) {
		*bad_mode = (unsigned)(st.st_mode & 07777);
		close(fd);
		return NC_SECRET_MODE_BAD;
	}
	return read_fd(fd, limit, out, out_len);
}

char *nc_secret_msg(const char *what, const char *path, unsigned mode)
{
	return nc_xasprintf("%s %s is accessible by group or others (mode %04o): run chmod 600 %s",
			    what, path, mode, path);
}
