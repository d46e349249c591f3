/*
 * audit.c - the audit log (audit.h): one JSON line per write attempt in
 * STATE_DIR/audit/audit.log (0600, its directory 0700), appended with
 * O_APPEND and fsync'd before the answer goes out; the newest
 * NC_AUDIT_KEEP entries are also kept in memory (read back from the file
 * when serve starts) for GET /api/v1/audit.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"

#define NC_AUDIT_KEEP 1000
#define NC_AUDIT_TAIL ((off_t)1 << 20)   /* bytes read back at start */
#define NC_AUDIT_PATH_MAX 512            /* bytes of a path recorded (a request may send 32 KiB) */
/* writes refused to callers with no valid credentials: recorded at most this many per window, then
 * counted in one entry (anyone who reaches the port could fill the disk otherwise) */
#define NC_AUDIT_ANON_BURST 20u
#define NC_AUDIT_ANON_WINDOW 10.0        /* seconds */

struct nc_audit {
	pthread_mutex_t mu;
	int fd;
	char *path;
	char *ring[NC_AUDIT_KEEP];           /* JSON objects, oldest at head */
	size_t n, head;
	double anon_window;                  /* the rate limit of unidentified callers' entries */
	unsigned anon_n;
	unsigned long anon_dropped;
};

static double mono_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void flush_dropped_locked(struct nc_audit *a, double now, bool force);

static void keep(struct nc_audit *a, char *line)
{
	if (a->n == NC_AUDIT_KEEP) {
		free(a->ring[a->head]);
		a->ring[a->head] = NULL;
		a->head = (a->head + 1) % NC_AUDIT_KEEP;
		a->n--;
	}
	a->ring[(a->head + a->n) % NC_AUDIT_KEEP] = line;
	a->n++;
}

/* the newest entries of the file, back into memory */
static void read_back(struct nc_audit *a)
{
	struct stat st;
	char *buf, *line, *save = NULL;
	off_t from;
	ssize_t got;
	size_t len;

	if (fstat(a->fd, &st) < 0 || st.st_size == 0)
		return;
	from = st.st_size > NC_AUDIT_TAIL ? st.st_size - NC_AUDIT_TAIL : 0;
	len = (size_t)(st.st_size - from);
	buf = nc_xmalloc(len + 1);
	got = pread(a->fd, buf, len, from);
	if (got < 0) {
		free(buf);
		return;
	}
	buf[got] = '\0';
	line = strtok_r(buf, "\n", &save);
	if (from > 0 && line)        /* a partial first line */
		line = strtok_r(NULL, "\n", &save);
	for (; line; line = strtok_r(NULL, "\n", &save)) {
		/* only whole JSON objects: a line torn by a crash or a full disk is skipped */
		struct json_object *o = line[0] == '{' ? json_tokener_parse(line) : NULL;

		if (o && json_object_is_type(o, json_type_object))
			keep(a, nc_xstrdup(line));
		json_object_put(o);
	}
	free(buf);
}

/* a last line without its newline (serve killed while writing it): closed, so the next entry
 * starts a line of its own */
static void close_torn_line(struct nc_audit *a, int rfd)
{
	struct stat st;
	char c;

	if (fstat(rfd, &st) == 0 && st.st_size > 0 && pread(rfd, &c, 1, st.st_size - 1) == 1 && c != '\n' &&
	    nc_write_all(a->fd, "\n", 1) < 0)
		nc_serve_log("audit: cannot write %s: %s", a->path, strerror(errno));
}

int nc_audit_open(struct nc_audit **out, const char *state_dir, struct nc_err *err)
{
	struct nc_audit *a;
	char *dir = nc_xasprintf("%s/audit", state_dir);

	if (nc_mkdir_p_mode(dir, 0700) < 0) {
		nc_err_set(err, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	chmod(dir, 0700);
	a = nc_xcalloc(1, sizeof(*a));
	a->path = nc_xasprintf("%s/audit.log", dir);
	free(dir);
	a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->fd < 0) {
		nc_err_set(err, "cannot open %s: %s", a->path, strerror(errno));
		free(a->path);
		free(a);
		return -1;
	}
	fchmod(a->fd, 0600);
	{
		int rfd = open(a->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (rfd >= 0) {
			int wfd = a->fd;

			close_torn_line(a, rfd);
			a->fd = rfd;
			read_back(a);
			a->fd = wfd;
			close(rfd);
		}
	}
	pthread_mutex_init(&a->mu, NULL);
	a->anon_window = mono_now();
	*out = a;
	return 0;
}

void nc_audit_close(struct nc_audit *a)
{
	size_t i;

	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	flush_dropped_locked(a, mono_now(), true);
	pthread_mutex_unlock(&a->mu);
	if (a->fd >= 0)
		close(a->fd);
	for (i = 0; i < NC_AUDIT_KEEP; i++)
		free(a->ring[i]);
	pthread_mutex_destroy(&a->mu);
	free(a->path);
	free(a);
}

static void field(struct nc_buf *b, const char *name, const char *v, bool comma)
{
	nc_buf_addf(b, "\"%s\": ", name);
	if (v)
		nc_web_json_str(b, v);
	else
		nc_buf_adds(b, "null");
	if (comma)
		nc_buf_adds(b, ", ");
}

/* one entry, as a JSON object without its line break */
static char *entry(const char *who, enum nc_role role, const char *peer, const char *method, const char *path,
		   const char *target, unsigned code, const char *result)
{
	struct nc_buf b = NC_BUF_INIT;
	struct timespec now;
	struct tm tm;
	char ts[40];
	char *safe_path = NULL;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (path) {
		size_t n;

		/* a path could carry credentials (a URL given as a name): never logged */
		safe_path = nc_url_redact(path);
		n = strlen(safe_path);
		if (n > NC_AUDIT_PATH_MAX) {
			/* cut, not inside a UTF-8 sequence */
			for (n = NC_AUDIT_PATH_MAX; n > 0 && ((unsigned char)safe_path[n] & 0xC0) == 0x80; n--)
				;
			memcpy(safe_path + n, "...", 4);
		}
	}
	nc_buf_addf(&b, "{\"time\": \"%s.%03ldZ\", ", ts, now.tv_nsec / 1000000);
	field(&b, "who", who, true);
	nc_buf_addf(&b, "\"role\": \"%s\", ", nc_role_name(role));
	field(&b, "peer", peer, true);
	field(&b, "method", method, true);
	field(&b, "path", safe_path, true);
	field(&b, "target", target, true);
	nc_buf_addf(&b, "\"code\": %u, ", code);
	field(&b, "result", result ? result : "", false);
	nc_buf_adds(&b, "}");
	free(safe_path);
	return nc_buf_detach(&b, NULL);
}

/* appends line to the file (synced) and keeps it; call with mu held */
static void append_locked(struct nc_audit *a, char *line)
{
	size_t len = strlen(line);
	off_t end;

	line[len] = '\n';
	end = lseek(a->fd, 0, SEEK_END);
	if (nc_write_all(a->fd, line, len + 1) < 0 || fsync(a->fd) < 0) {
		int e = errno;

		/* a full disk: the part written is taken back, the next entry starts a whole line */
		if (end >= 0 && ftruncate(a->fd, end) < 0)
			e = errno;
		nc_serve_log("audit: cannot write %s: %s", a->path, strerror(e));
	}
	line[len] = '\0';
	keep(a, line);
}

/* the count of unidentified callers' entries left out, once their window is over; mu held */
static void flush_dropped_locked(struct nc_audit *a, double now, bool force)
{
	if (!force && now - a->anon_window < NC_AUDIT_ANON_WINDOW)
		return;
	if (a->anon_dropped) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%lu more refused writes without valid credentials in %.0f s, not recorded "
			 "one by one", a->anon_dropped, NC_AUDIT_ANON_WINDOW);
		append_locked(a, entry("unidentified", NC_ROLE_NONE, NULL, NULL, NULL, NULL, 401, msg));
	}
	a->anon_window = now;
	a->anon_n = 0;
	a->anon_dropped = 0;
}

void nc_audit_record(struct nc_audit *a, const struct nc_principal *p, const char *peer, const char *method,
		     const char *path, const char *target, unsigned code, const char *result)
{
	bool unidentified = !p || p->role == NC_ROLE_NONE;
	char *line;

	if (!a)
		return;
	line = entry(p ? p->who : "anonymous", p ? p->role : NC_ROLE_NONE, peer, method, path ? path : "", target,
		     code, result);
	pthread_mutex_lock(&a->mu);
	flush_dropped_locked(a, mono_now(), false);
	if (unidentified && a->anon_n >= NC_AUDIT_ANON_BURST) {
		a->anon_dropped++;
		free(line);
	} else {
		if (unidentified)
			a->anon_n++;
		append_locked(a, line);
	}
	pthread_mutex_unlock(&a->mu);
}

void nc_audit_json(struct nc_audit *a, const struct nc_principal *viewer, size_t limit, struct nc_buf *out)
{
	size_t i, from;
	bool any;

	nc_buf_adds(out, "{\"items\": [");
	/* entries name every tenant's VMs and who acted on them: admins of all tenants only */
	if (!a || !nc_principal_can(viewer, NC_ROLE_ADMIN) || !viewer->all_tenants) {
		nc_buf_adds(out, "]}\n");
		return;
	}
	pthread_mutex_lock(&a->mu);
	from = limit && a->n > limit ? a->n - limit : 0;
	any = a->n > from;
	/* newest first */
	for (i = a->n; i > from; i--) {
		nc_buf_adds(out, i == a->n ? "\n  " : ",\n  ");
		nc_buf_adds(out, a->ring[(a->head + i - 1) % NC_AUDIT_KEEP]);
	}
	pthread_mutex_unlock(&a->mu);
	nc_buf_adds(out, any ? "\n]}\n" : "]}\n");
}
