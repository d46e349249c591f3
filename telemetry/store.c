/*
 * store.c - the embedded history in RRD files through librrd (store.h).
 *
 * Layout: DIR/TARGET/ID.rrd, one GAUGE data source per metric of the target
 * (named by the catalogue's `ds`), heartbeat twice the step, minimum and
 * maximum unknown; AVERAGE and MAX archives at the step for 6 hours, at 1 min
 * for a day, at 1 h for 60 days and at 1 day for 400 days (rows rounded up
 * to the step: store_layout()).  docs/monitoring.md gives the sizes.
 *
 * Threads.  librrd 1.7's *_r calls (create_r2, updatex_r, fetch_r, info_r)
 * keep no global state; librrd's error string is per thread (rrd_get_context()
 * is thread-local in librrd), so an error is read in the thread that made it.
 * rrd_graph_v() and rrd_tune() are the command line's calls (argv in; graph
 * sets up pango's font map for the process): they run under one
 * process-wide mutex (nc_rrd_argv_lock).  librrd's
 * rrdcached client is one connection per process (Debian's librrd 1.7.2
 * exports only the rrdc_* calls, not rrd_client_new): a store connects it to
 * its address and makes its calls under nc_rrdc_lock.  A store itself is
 * guarded by its own mutex (its cache of files), so threads may share one.
 *
 * Holt-Winters files (nc_tm_anomaly) are always written directly (an update
 * is read back at once), under DIR/anomaly/SHA256(key).rrd.
 *
 * Each file is checked once per store (rrd_info: step, data sources and
 * archives as this version writes them) and its last update remembered, so a
 * round costs one update per object and nothing else.  A round at or before
 * a file's last update is skipped for that file (RRD_SKIP_PAST_UPDATES, and
 * the remembered time for rrdcached, which refuses them).
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <rrd.h>
#include <rrd_client.h>

#include "../reconciler/pass.h"
#include "../spec/util.h"
#include "store-int.h"

#define NC_TM_CREATE_LIMIT 256
#define NC_TM_ANOMALY_DISK_LIMIT (16ull << 30)   /* store.h: anomaly_disk_limit */

pthread_mutex_t nc_rrd_argv_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t nc_rrdc_lock = PTHREAD_MUTEX_INITIALIZER;

/* one file seen by this store: checked, and its last update */
struct nc_tm_file {
	char *key;               /* "vm/web-1" or "anomaly/HEX" */
	time_t last;
	bool checked;
	bool refused;            /* a name the store does not take: said once */
	char *params;            /* anomaly: the parameters it was made with, else NULL */
};

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_tm_file *)a)->key, ((const struct nc_tm_file *)b)->key);
}

static void file_free(void *p)
{
	struct nc_tm_file *f = p;

	free(f->key);
	free(f->params);
	free(f);
}

struct nc_tm_file *nc_tm_store_file(struct nc_tm_store *st, const char *key)
{
	struct nc_tm_file probe = { .key = (char *)key }, *f, **slot;

	slot = tfind(&probe, &st->files, file_cmp);
	if (slot)
		return *slot;
	f = nc_xcalloc(1, sizeof(*f));
	f->key = nc_xstrdup(key);
	slot = tsearch(f, &st->files, file_cmp);
	if (!slot)
		abort();
	st->nfiles++;
	return f;
}

void nc_tm_store_forget(struct nc_tm_store *st, const char *key)
{
	struct nc_tm_file probe = { .key = (char *)key }, **slot, *f;

	slot = tfind(&probe, &st->files, file_cmp);
	if (!slot)
		return;
	f = *slot;
	tdelete(&probe, &st->files, file_cmp);
	file_free(f);
	st->nfiles--;
}

const char *nc_tm_default_dir(const char *state_dir, char *buf, size_t len)
{
	int n;

	if (!state_dir || !buf)
		return NULL;
	n = snprintf(buf, len, "%s/telemetry", state_dir);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return buf;
}

bool nc_tm_id_ok(const char *id)
{
	size_t n;

	if (!id || !*id || id[0] == '.')
		return false;
	n = strlen(id);
	if (n > 200)
		return false;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") == n;
}

const char *nc_tm_rrd_error(void)
{
	const char *e = rrd_test_error() ? rrd_get_error() : NULL;

	return e && *e ? e : "unknown librrd error";
}

/* ---- layout ---- */

/* the archives of a history file: pdp per row and rows, finest first */
size_t nc_tm_store_layout(unsigned step, struct nc_tm_rra out[NC_TM_RRA_MAX])
{
	static const unsigned long res[] = { 0, 60, 3600, 86400 };
	static const unsigned long span[] = { 6 * 3600, 86400, 60 * 86400, 400 * 86400 };
	size_t n = 0;

	for (size_t i = 0; i < NC_ARRAY_SIZE(res); i++) {
		unsigned long pdp = res[i] ? (res[i] + step - 1) / step : 1;
		unsigned long rows, len;

		if (!pdp)
			pdp = 1;
		len = pdp * step;
		rows = (span[i] + len - 1) / len;
		if (n && out[n - 1].pdp == pdp) {   /* the step is 1 min or more: one archive */
			if (rows > out[n - 1].rows)
				out[n - 1].rows = rows;
			continue;
		}
		out[n].pdp = pdp;
		out[n].rows = rows;
		n++;
	}
	return n;
}

static void path_of(struct nc_buf *b, const struct nc_tm_store *st, enum nc_metric_target t,
		    const char *id)
{
	nc_buf_reset(b);
	nc_buf_addf(b, "%s/%s/%s.rrd", st->dir, nc_metric_target_name(t), id);
}

static const char *info_str(const rrd_info_t *in, const char *key)
{
	for (; in; in = in->next)
		if (in->type == RD_I_STR && strcmp(in->key, key) == 0)
			return in->value.u_str;
	return NULL;
}

static bool info_cnt(const rrd_info_t *in, const char *key, unsigned long *out)
{
	for (; in; in = in->next)
		if (in->type == RD_I_CNT && strcmp(in->key, key) == 0) {
			*out = in->value.u_cnt;
			return true;
		}
	return false;
}

bool nc_tm_info_val(const rrd_info_t *in, const char *key, double *out)
{
	for (; in; in = in->next)
		if (in->type == RD_I_VAL && strcmp(in->key, key) == 0) {
			*out = in->value.u_val;
			return true;
		}
	return false;
}

rrd_info_t *nc_tm_info(struct nc_tm_store *st, const char *path)
{
	rrd_clear_error();
	if (st->rrdcached)
		return rrdc_info(path);
	return rrd_info_r(path);
}

/*
 * Is path a history file of target t as this version writes it?  1 yes
 * (*last its last update), 0 no such file, -1 not (why in err).
 */
static int check_history(struct nc_tm_store *st, const char *path, enum nc_metric_target t,
			 time_t *last, struct nc_err *err)
{
	struct nc_tm_rra rra[NC_TM_RRA_MAX];
	size_t nrra = nc_tm_store_layout(st->step, rra), nds = nc_metric_count(t), seen = 0;
	struct stat sb;
	rrd_info_t *in, *p;
	unsigned long v;
	char key[96];
	int ret = -1;

	if (stat(path, &sb) != 0 && errno == ENOENT)
		return 0;
	if (st->rrdcached) {
		/* values the daemon still holds (a serve before this one) count for
		 * the last update: written first */
		rrdc_flush(path);
		rrd_clear_error();
	}
	in = nc_tm_info(st, path);
	if (!in) {
		nc_err_set(err, "%s", nc_tm_rrd_error());
		return -1;
	}
	if (!info_cnt(in, "step", &v) || v != st->step) {
		nc_err_set(err, "step %lu s, not %u s", info_cnt(in, "step", &v) ? v : 0, st->step);
		goto out;
	}
	for (size_t i = 0; i < nds; i++) {
		const struct nc_metric_info *m = nc_metric_at(t, (unsigned)i);
		const char *type;

		snprintf(key, sizeof(key), "ds[%s].type", m->ds);
		type = info_str(in, key);
		if (!type || strcmp(type, "GAUGE") != 0) {
			nc_err_set(err, "no GAUGE data source '%s'", m->ds);
			goto out;
		}
	}
	for (p = in; p; p = p->next)
		if (strncmp(p->key, "ds[", 3) == 0 && strstr(p->key, "].index"))
			seen++;
	if (seen != nds) {
		nc_err_set(err, "%zu data sources, not %zu", seen, nds);
		goto out;
	}
	for (size_t i = 0; i < 2 * nrra + 1; i++) {
		const char *cf;

		snprintf(key, sizeof(key), "rra[%zu].cf", i);
		cf = info_str(in, key);
		if (i == 2 * nrra) {
			if (cf) {
				nc_err_set(err, "more than %zu archives", 2 * nrra);
				goto out;
			}
			break;
		}
		snprintf(key, sizeof(key), "rra[%zu].pdp_per_row", i);
		if (!cf || strcmp(cf, i % 2 ? "MAX" : "AVERAGE") != 0 || !info_cnt(in, key, &v) ||
		    v != rra[i / 2].pdp) {
			nc_err_set(err, "archive %zu is not %s of %lu steps", i,
				   i % 2 ? "MAX" : "AVERAGE", rra[i / 2].pdp);
			goto out;
		}
		snprintf(key, sizeof(key), "rra[%zu].rows", i);
		if (!info_cnt(in, key, &v) || v != rra[i / 2].rows) {
			nc_err_set(err, "archive %zu does not keep %lu rows", i, rra[i / 2].rows);
			goto out;
		}
	}
	if (!info_cnt(in, "last_update", &v)) {
		nc_err_set(err, "no last update");
		goto out;
	}
	*last = (time_t)v;
	ret = 1;
out:
	rrd_info_free(in);
	return ret;
}

/* create a file from argv definitions (directly, or through rrdcached) */
/*
 * librrd 1.7.2 gives no reason when writing a new file fails (a full disk):
 * then the free space of the file's filesystem is the clue.
 */
static const char *create_error(const char *path)
{
	static _Thread_local char buf[128];
	struct statvfs sv;
	char *dir;

	if (rrd_test_error())
		return nc_tm_rrd_error();
	dir = nc_xstrdup(path);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	if (statvfs(dir, &sv) == 0)
		snprintf(buf, sizeof(buf), "librrd gave no reason (%llu KiB free on its filesystem: a full disk?)",
			 (unsigned long long)sv.f_bavail * sv.f_frsize / 1024);
	else
		snprintf(buf, sizeof(buf), "librrd gave no reason");
	free(dir);
	return buf;
}

int nc_tm_create(struct nc_tm_store *st, const char *path, unsigned long step, time_t last_up,
		 int argc, const char **argv, struct nc_err *err)
{
	int rc;

	rrd_clear_error();
	if (st->rrdcached)
		rc = rrdc_create(path, step, last_up, 0, argc, argv);
	else
		rc = rrd_create_r2(path, step, last_up, 0, NULL, NULL, argc, argv);
	if (rc != 0) {
		nc_err_set(err, "%s: cannot create: %s", path, create_error(path));
		return -1;
	}
	return 0;
}

static int create_history(struct nc_tm_store *st, const char *path, enum nc_metric_target t,
			  time_t last_up, struct nc_err *err)
{
	struct nc_tm_rra rra[NC_TM_RRA_MAX];
	size_t nrra = nc_tm_store_layout(st->step, rra), nds = nc_metric_count(t), argc = 0;
	const char *argv[NC_METRICS_MAX + 2 * NC_TM_RRA_MAX];
	char defs[NC_METRICS_MAX + 2 * NC_TM_RRA_MAX][64];
	int rc;

	for (size_t i = 0; i < nds; i++) {
		snprintf(defs[argc], sizeof(defs[argc]), "DS:%s:GAUGE:%u:U:U",
			 nc_metric_at(t, (unsigned)i)->ds, 2 * st->step);
		argv[argc] = defs[argc];
		argc++;
	}
	for (size_t i = 0; i < nrra; i++) {
		for (int cf = 0; cf < 2; cf++) {
			snprintf(defs[argc], sizeof(defs[argc]), "RRA:%s:0.5:%lu:%lu",
				 cf ? "MAX" : "AVERAGE", rra[i].pdp, rra[i].rows);
			argv[argc] = defs[argc];
			argc++;
		}
	}
	rc = nc_tm_create(st, path, st->step, last_up, (int)argc, argv, err);
	return rc;
}

/* renames a bad file to PATH.corrupt; the message for err */
int nc_tm_set_aside(struct nc_tm_store *st, const char *path, const char *why, struct nc_buf *msg)
{
	struct nc_buf to = NC_BUF_INIT;
	int rc = 0;

	nc_buf_addf(&to, "%s.corrupt", path);
	if (rename(path, to.buf) != 0) {
		nc_buf_addf(msg, "%s: unreadable (%s), and cannot be set aside: %s", path, why,
			    strerror(errno));
		rc = -1;
	} else {
		nc_buf_addf(msg, "%s: unreadable or of another layout (%s): kept as %s, started afresh",
			    path, why, to.buf);
	}
	if (st->rrdcached) {
		rrdc_forget(path);
		rrd_clear_error();
	}
	nc_buf_release(&to);
	return rc;
}

static void note(struct nc_buf *errs, size_t *nerr, const char *fmt, ...) NC_PRINTF(3, 4);
static void note(struct nc_buf *errs, size_t *nerr, const char *fmt, ...)
{
	va_list ap;

	if (!(*nerr)++) {
		va_start(ap, fmt);
		nc_buf_vaddf(errs, fmt, ap);
		va_end(ap);
	}
}

/* what the operator must hear about each time (a file set aside, a name
 * refused): its own line when the store has a log, else folded into errs */
static void say(struct nc_tm_store *st, struct nc_buf *errs, size_t *nerr, const char *line)
{
	if (st->log)
		st->log(st->log_opaque, line);
	else
		note(errs, nerr, "%s", line);
}

/*
 * Makes sure path holds a good file of target t: checked once, rebuilt when
 * bad (reported through errs), created when missing.  0 ok, -1 not, 1 not
 * now (the round's budget of new files is spent).
 */
static int ready(struct nc_tm_store *st, struct nc_tm_file *f, const char *path,
		 enum nc_metric_target t, time_t t0, unsigned *creates, struct nc_buf *errs, size_t *nerr)
{
	struct nc_err e = { "" };
	struct nc_buf msg = NC_BUF_INIT;
	time_t last = 0, start;
	int rc;

	rc = check_history(st, path, t, &last, &e);
	if (rc == 1) {
		f->last = last;
		f->checked = true;
		return 0;
	}
	if (*creates >= st->create_limit)
		return 1;               /* this round's budget of new files is spent: later */
	if (rc < 0) {
		if (nc_tm_set_aside(st, path, e.msg, &msg) != 0) {
			say(st, errs, nerr, msg.buf);
			nc_buf_release(&msg);
			return -1;
		}
		say(st, errs, nerr, msg.buf);
		nc_buf_release(&msg);
	}
	/* from the step boundary before the first round, so that round fills its row */
	start = ((t0 - 1) / (time_t)st->step) * (time_t)st->step;
	(*creates)++;
	if (create_history(st, path, t, start, &e) != 0) {
		note(errs, nerr, "%s", e.msg);
		return -1;
	}
	f->last = start;
	f->checked = true;
	return 0;
}

int nc_tm_update(struct nc_tm_store *st, const char *path, const char *value, struct nc_err *err)
{
	const char *argv[1] = { value };
	int rc;

	rrd_clear_error();
	if (st->rrdcached)
		rc = rrdc_update(path, 1, argv);
	else
		rc = rrd_updatex_r(path, NULL, RRD_SKIP_PAST_UPDATES, 1, argv);
	if (rc != 0) {
		nc_err_set(err, "%s: cannot update: %s", path, nc_tm_rrd_error());
		return -1;
	}
	return 0;
}

static void format_update(struct nc_buf *b, time_t t, const struct nc_tm_object *o)
{
	size_t n = nc_metric_count(o->target);

	nc_buf_reset(b);
	nc_buf_addf(b, "%lld", (long long)t);
	for (size_t i = 0; i < n; i++) {
		if (isnan(o->v[i]) || isinf(o->v[i]))
			nc_buf_adds(b, ":U");
		else
			nc_buf_addf(b, ":%.17g", o->v[i]);
	}
}

/* ---- open / close ---- */

/* a file librrd was making (it writes PATH.rrdXXXXXX, then renames it) */
static bool rrd_leftover(const char *name)
{
	size_t n = strlen(name);

	if (n < 11 || name[0] == '.' || memcmp(name + n - 10, ".rrd", 4) != 0)
		return false;
	for (size_t i = n - 6; i < n; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9')))
			return false;
	return true;
}

/*
 * serve killed while librrd made a file leaves PATH.rrdXXXXXX behind, at the
 * file's full size (an anomaly file of a 7d season at 1 s: 46 MB), found by
 * nothing: a store that writes removes them when it opens, and says so.
 */
static void sweep_leftovers(struct nc_tm_store *st)
{
	static const char *const sub[] = { "host", "vm", "pool", "anomaly" };
	struct nc_buf d = NC_BUF_INIT, f = NC_BUF_INIT;

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		DIR *dir;
		struct dirent *de;

		nc_buf_reset(&d);
		nc_buf_addf(&d, "%s/%s", st->dir, sub[i]);
		if (!(dir = opendir(d.buf)))
			continue;
		while ((de = readdir(dir))) {
			if (!rrd_leftover(de->d_name))
				continue;
			nc_buf_reset(&f);
			nc_buf_addf(&f, "%s/%s", d.buf, de->d_name);
			if (unlink(f.buf) == 0 && st->log) {
				char *msg = nc_xasprintf("%s: removed, a file librrd was making when serve stopped", f.buf);

				st->log(st->log_opaque, msg);
				free(msg);
			}
		}
		closedir(dir);
	}
	nc_buf_release(&d);
	nc_buf_release(&f);
}

int nc_tm_store_open(struct nc_tm_store **out, const struct nc_tm_store_opts *o, struct nc_err *err)
{
	struct nc_tm_store *st;

	if (!o || !o->dir || !*o->dir) {
		nc_err_set(err, "telemetry store: no directory");
		return -1;
	}
	if (o->step < 1 || o->step > 86400) {
		nc_err_set(err, "telemetry store: step %u s out of range (1 s to 1 day)", o->step);
		return -1;
	}
	st = nc_xcalloc(1, sizeof(*st));
	st->dir = nc_xstrdup(o->dir);
	st->step = o->step;
	st->read_only = o->read_only;
	st->create_limit = o->create_limit ? o->create_limit : NC_TM_CREATE_LIMIT;
	st->log = o->log;
	st->log_opaque = o->log_opaque;
	st->anomaly_limit = o->anomaly_disk_limit ? o->anomaly_disk_limit : NC_TM_ANOMALY_DISK_LIMIT;
	pthread_mutex_init(&st->lock, NULL);
	if (!o->read_only && nc_mkdir_p_mode(st->dir, 0700) != 0) {
		nc_err_set(err, "telemetry store %s: %s", st->dir, strerror(errno));
		nc_tm_store_close(st);
		return -1;
	}
	if (!o->read_only)
		sweep_leftovers(st);
	if (o->rrdcached && *o->rrdcached) {
		st->rrdcached = nc_xstrdup(o->rrdcached);
		pthread_mutex_lock(&nc_rrdc_lock);
		if (nc_tm_rrdc_connect(st, err) != 0) {
			pthread_mutex_unlock(&nc_rrdc_lock);
			nc_tm_store_close(st);
			return -1;
		}
		pthread_mutex_unlock(&nc_rrdc_lock);
	}
	*out = st;
	return 0;
}

void nc_tm_store_close(struct nc_tm_store *st)
{
	if (!st)
		return;
	if (st->rrdcached) {
		/* librrd's own calls (create, tune) talk to a connected daemon too
		 * (FORGET, FLUSH): leave none connected behind this store */
		pthread_mutex_lock(&nc_rrdc_lock);
		rrdc_disconnect();
		pthread_mutex_unlock(&nc_rrdc_lock);
	}
	tdestroy(st->files, file_free);
	pthread_mutex_destroy(&st->lock);
	free(st->rrdcached);
	free(st->dir);
	free(st);
}

int nc_tm_rrdc_connect(struct nc_tm_store *st, struct nc_err *err)
{
	rrd_clear_error();
	if (rrdc_connect(st->rrdcached) != 0 || !rrdc_is_connected(st->rrdcached)) {
		nc_err_set(err, "rrdcached %s: %s", st->rrdcached, nc_tm_rrd_error());
		return -1;
	}
	return 0;
}

/* Debian's librrd exports no FLUSHALL: every file this store wrote, one by one */
struct flush_ctx {
	struct nc_tm_store *st;
	struct nc_buf path;
	size_t failed;
	struct nc_err *err;
};

static void flush_one(const void *node, VISIT which, void *arg)
{
	const struct nc_tm_file *f = *(const struct nc_tm_file *const *)node;
	struct flush_ctx *c = arg;

	if (which != postorder && which != leaf)
		return;
	if (!f->checked)
		return;
	nc_buf_reset(&c->path);
	nc_buf_addf(&c->path, "%s/%s.rrd", c->st->dir, f->key);
	rrd_clear_error();
	if (rrdc_flush(c->path.buf) != 0 && !c->failed++)
		nc_err_set(c->err, "rrdcached %s: flush %s: %s", c->st->rrdcached, c->path.buf,
			   nc_tm_rrd_error());
}

int nc_tm_store_flush(struct nc_tm_store *st, struct nc_err *err)
{
	struct flush_ctx c = { st, NC_BUF_INIT, 0, err };

	if (!st->rrdcached)
		return 0;
	pthread_mutex_lock(&st->lock);
	pthread_mutex_lock(&nc_rrdc_lock);
	if (nc_tm_rrdc_connect(st, err) != 0)
		c.failed = 1;
	else
		twalk_r(st->files, flush_one, &c);
	pthread_mutex_unlock(&nc_rrdc_lock);
	pthread_mutex_unlock(&st->lock);
	nc_buf_release(&c.path);
	return c.failed ? -1 : 0;
}

/* ---- write ---- */

int nc_tm_store_write(struct nc_tm_store *st, const struct nc_tm_round *r, struct nc_err *err)
{
	struct nc_buf path = NC_BUF_INIT, key = NC_BUF_INIT, val = NC_BUF_INIT, errs = NC_BUF_INIT;
	bool made[NC_MT__COUNT] = { false };
	size_t nerr = 0, written = 0, tried = 0, deferred = 0;
	unsigned creates = 0;
	int ret = 0, rc;

	if (st->read_only) {
		nc_err_set(err, "telemetry store %s: opened read-only", st->dir);
		return -1;
	}
	pthread_mutex_lock(&st->lock);
	if (st->rrdcached) {
		pthread_mutex_lock(&nc_rrdc_lock);
		if (nc_tm_rrdc_connect(st, err) != 0) {
			pthread_mutex_unlock(&nc_rrdc_lock);
			pthread_mutex_unlock(&st->lock);
			return -1;
		}
	}
	for (size_t i = 0; i < r->nobjs; i++) {
		const struct nc_tm_object *o = &r->objs[i];
		struct nc_tm_file *f;
		struct nc_err e = { "" };

		if ((unsigned)o->target >= NC_MT__COUNT)
			continue;
		tried++;
		nc_buf_reset(&key);
		nc_buf_addf(&key, "%s/%s", nc_metric_target_name(o->target), o->id ? o->id : "");
		f = nc_tm_store_file(st, key.buf);
		if (!nc_tm_id_ok(o->id)) {
			if (f->refused)
				tried--;        /* refused before: said then */
			else {
				struct nc_buf m = NC_BUF_INIT;

				nc_buf_addf(&m, "%s '%s': not a name the store accepts ([A-Za-z0-9._@-], "
					    "no leading '.', at most 200 bytes): not kept",
					    nc_metric_target_name(o->target), o->id ? o->id : "");
				say(st, &errs, &nerr, m.buf);
				nc_buf_release(&m);
			}
			f->refused = true;
			continue;
		}
		path_of(&path, st, o->target, o->id);
		if (!f->checked) {
			if (!made[o->target]) {
				struct nc_buf d = NC_BUF_INIT;

				nc_buf_addf(&d, "%s/%s", st->dir, nc_metric_target_name(o->target));
				if (nc_mkdir_p_mode(d.buf, 0700) != 0)
					note(&errs, &nerr, "%s: %s", d.buf, strerror(errno));
				nc_buf_release(&d);
				made[o->target] = true;
			}
			rc = ready(st, f, path.buf, o->target, r->t, &creates, &errs, &nerr);
			if (rc > 0)
				deferred++;
			if (rc != 0)
				continue;
		}
		if (r->t <= f->last) {     /* an older round: skipped for this file */
			written++;
			continue;
		}
		format_update(&val, r->t, o);
		if (nc_tm_update(st, path.buf, val.buf, &e) != 0) {
			/* the file went bad since it was checked? */
			f->checked = false;
			if (ready(st, f, path.buf, o->target, r->t, &creates, &errs, &nerr) != 0 ||
			    r->t <= f->last || nc_tm_update(st, path.buf, val.buf, &e) != 0) {
				note(&errs, &nerr, "%s", e.msg);
				continue;
			}
		}
		f->last = r->t;
		written++;
	}
	if (st->rrdcached)
		pthread_mutex_unlock(&nc_rrdc_lock);
	pthread_mutex_unlock(&st->lock);
	if (nerr) {
		if (nerr > 1)
			nc_buf_addf(&errs, " (and %zu more)", nerr - 1);
		nc_err_set(err, "%s", errs.buf);
	}
	if (tried && !written && deferred < tried)
		ret = -1;
	nc_buf_release(&path);
	nc_buf_release(&key);
	nc_buf_release(&val);
	nc_buf_release(&errs);
	return ret;
}

/* ---- read ---- */

void nc_tm_series_release(struct nc_tm_series *s)
{
	if (!s)
		return;
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int nc_tm_fetch_path(struct nc_tm_store *st, const char *path, const char *cf, const char *ds,
		     time_t start, time_t end, time_t resolution, struct nc_tm_series *out,
		     struct nc_err *err)
{
	/* librrd returns the rows ending after start: ask from just before it, so a
	 * row ending at start (an aligned round) is in the series */
	time_t s = start > 0 ? start - 1 : start, e = end;
	unsigned long step = resolution > 0 ? (unsigned long)resolution : 1, nds = 0, col;
	char **names = NULL;
	rrd_value_t *data = NULL;
	struct nc_tm_series res = { 0 };
	int rc;

	rrd_clear_error();
	if (st->rrdcached)
		rc = rrdc_fetch(path, cf, &s, &e, &step, &nds, &names, &data);
	else
		rc = rrd_fetch_r(path, cf, &s, &e, &step, &nds, &names, &data);
	if (rc != 0) {
		nc_err_set(err, "%s: cannot read: %s", path, nc_tm_rrd_error());
		return -1;
	}
	for (col = 0; col < nds; col++)
		if (strcmp(names[col], ds) == 0)
			break;
	if (col == nds) {
		nc_err_set(err, "%s: no data source '%s'", path, ds);
		rc = -1;
		goto out;
	}
	res.step = (time_t)step;
	res.start = s + res.step;
	res.n = step ? (size_t)((e - s) / (time_t)step) : 0;
	res.v = nc_xcalloc(res.n ? res.n : 1, sizeof(double));
	for (size_t i = 0; i < res.n; i++)
		res.v[i] = data[i * nds + col];
	*out = res;
	rc = 1;
out:
	for (unsigned long i = 0; i < nds; i++)
		rrd_freemem(names[i]);
	rrd_freemem(names);
	rrd_freemem(data);
	return rc;
}

int nc_tm_store_fetch(struct nc_tm_store *st, enum nc_metric_target t, const char *id,
		      const char *metric, enum nc_tm_cf cf, time_t start, time_t end,
		      time_t resolution, struct nc_tm_series *out, struct nc_err *err)
{
	const struct nc_metric_info *m = nc_metric_find(t, metric);
	struct nc_buf path = NC_BUF_INIT;
	struct stat sb;
	int rc;

	if (!m) {
		nc_err_set(err, "no %s metric '%s'", nc_metric_target_name(t), metric ? metric : "");
		return -1;
	}
	if (!nc_tm_id_ok(id)) {
		nc_err_set(err, "%s '%s': not a valid name", nc_metric_target_name(t), id ? id : "");
		return -1;
	}
	if (end < start) {
		nc_err_set(err, "fetch: the end is before the start");
		return -1;
	}
	path_of(&path, st, t, id);
	if (stat(path.buf, &sb) != 0) {
		nc_buf_release(&path);
		if (errno == ENOENT)
			return 0;
		nc_err_set(err, "%s/%s/%s.rrd: %s", st->dir, nc_metric_target_name(t), id, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&st->lock);
	if (st->rrdcached)
		pthread_mutex_lock(&nc_rrdc_lock);
	if (!st->rrdcached || nc_tm_rrdc_connect(st, err) == 0)
		rc = nc_tm_fetch_path(st, path.buf, cf == NC_TM_MAX ? "MAX" : "AVERAGE", m->ds,
				      start, end, resolution, out, err);
	else
		rc = -1;
	if (st->rrdcached)
		pthread_mutex_unlock(&nc_rrdc_lock);
	pthread_mutex_unlock(&st->lock);
	nc_buf_release(&path);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int nc_tm_store_list(struct nc_tm_store *st, enum nc_metric_target t, char ***ids, size_t *n,
		     struct nc_err *err)
{
	struct nc_buf d = NC_BUF_INIT;
	char **v = NULL;
	size_t nv = 0;
	struct dirent *de;
	DIR *dir;

	if ((unsigned)t >= NC_MT__COUNT) {
		nc_err_set(err, "no such target");
		return -1;
	}
	nc_buf_addf(&d, "%s/%s", st->dir, nc_metric_target_name(t));
	dir = opendir(d.buf);
	if (!dir) {
		if (errno != ENOENT) {
			nc_err_set(err, "%s: %s", d.buf, strerror(errno));
			nc_buf_release(&d);
			return -1;
		}
	} else {
		while ((de = readdir(dir))) {
			size_t len = strlen(de->d_name);
			char *id;

			if (len <= 4 || strcmp(de->d_name + len - 4, ".rrd") != 0)
				continue;
			id = nc_xstrndup(de->d_name, len - 4);
			if (!nc_tm_id_ok(id)) {
				free(id);
				continue;
			}
			v = nc_xreallocarray(v, nv + 1, sizeof(*v));
			v[nv++] = id;
		}
		closedir(dir);
	}
	if (nv)
		qsort(v, nv, sizeof(*v), str_cmp);
	*ids = v;
	*n = nv;
	nc_buf_release(&d);
	return 0;
}

/* ---- anomaly detection (Holt-Winters, RRD's aberrant behaviour detection) ---- */

/*
 * The archives, in this order (librrd's rra-num references count from 1):
 *   1 AVERAGE      the values fed, rows (for graphs and checks)
 *   2 HWPREDICT    rows, alpha, beta, season; its SEASONAL is 3
 *   3 SEASONAL     season, gamma; of HWPREDICT 2
 *   4 DEVSEASONAL  season, gamma; of HWPREDICT 2
 *   5 DEVPREDICT   rows; of DEVSEASONAL 4
 *   6 FAILURES     rows, threshold, window; of DEVSEASONAL 4
 * delta (RRD's delta_pos and delta_neg, 2 by default) can only be set by
 * rrd_tune, right after creation.  rows = 2 seasons + the window.
 * SEASONAL and DEVSEASONAL get smoothing-window=0: librrd smooths the
 * seasonal coefficients when the archive's row pointer wraps, and it starts
 * that pointer at a random row (rrd_select_initial_row), so with smoothing
 * the same series would be flagged at different steps from file to file.
 */
#define HW_DS "value"

static unsigned long hw_rows(const struct nc_hw_params *p)
{
	return 2ul * p->season + p->window;
}

static void hw_params_str(char *buf, size_t len, const struct nc_tm_store *st,
			  const struct nc_hw_params *p)
{
	snprintf(buf, len, "%u %u %.17g %.17g %.17g %.17g %u %u", st->step, p->season, p->alpha,
		 p->beta, p->gamma, p->delta, p->threshold, p->window);
}

static int hw_check_params(const struct nc_hw_params *p, struct nc_err *err)
{
	if (p->season < 2 || p->season > 10000000) {
		nc_err_set(err, "anomaly: a season of %u steps (2 to 10,000,000)", p->season);
		return -1;
	}
	if (!(p->alpha > 0 && p->alpha < 1) || !(p->beta > 0 && p->beta < 1) ||
	    !(p->gamma > 0 && p->gamma < 1)) {
		nc_err_set(err, "anomaly: alpha, beta and gamma must be between 0 and 1 (exclusive)");
		return -1;
	}
	if (!(p->delta > 0 && p->delta < 1000)) {
		nc_err_set(err, "anomaly: delta must be above 0 (RRD's default is 2)");
		return -1;
	}
	/* librrd: window at most 28 (MAX_FAILURES_WINDOW_LEN), threshold at most the window */
	if (p->window < 1 || p->window > 28 || p->threshold < 1 || p->threshold > p->window) {
		nc_err_set(err, "anomaly: failures %u in a window of %u steps: the window is 1 to 28 "
			   "steps and the threshold 1 to the window", p->threshold, p->window);
		return -1;
	}
	return 0;
}

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1e-300);
}

/* 1 a file of these parameters (*last), 0 none, 2 other parameters, -1 unreadable (err) */
static int hw_check_file(struct nc_tm_store *st, const char *path, const struct nc_hw_params *p,
			 time_t *last, struct nc_err *err)
{
	static const char *const cfs[] = { "AVERAGE", "HWPREDICT", "SEASONAL", "DEVSEASONAL",
					   "DEVPREDICT", "FAILURES" };
	struct stat sb;
	rrd_info_t *in;
	unsigned long v;
	double d;
	char key[64];
	int ret = 2;

	if (stat(path, &sb) != 0 && errno == ENOENT)
		return 0;
	rrd_clear_error();
	in = rrd_info_r(path);
	if (!in) {
		nc_err_set(err, "%s", nc_tm_rrd_error());
		return -1;
	}
	for (size_t i = 0; i < NC_ARRAY_SIZE(cfs); i++) {
		const char *cf;

		snprintf(key, sizeof(key), "rra[%zu].cf", i);
		cf = info_str(in, key);
		if (!cf || strcmp(cf, cfs[i]) != 0) {
			nc_err_set(err, "archive %zu is not %s", i, cfs[i]);
			ret = -1;
			goto out;
		}
	}
	if (!info_cnt(in, "last_update", &v)) {
		nc_err_set(err, "no last update");
		ret = -1;
		goto out;
	}
	*last = (time_t)v;
	if (!info_cnt(in, "step", &v) || v != st->step || !info_str(in, "ds[" HW_DS "].type"))
		goto out;
	if (!info_cnt(in, "rra[1].rows", &v) || v != hw_rows(p) ||
	    !info_cnt(in, "rra[2].rows", &v) || v != p->season ||
	    !nc_tm_info_val(in, "rra[1].alpha", &d) || !near(d, p->alpha) ||
	    !nc_tm_info_val(in, "rra[1].beta", &d) || !near(d, p->beta) ||
	    !nc_tm_info_val(in, "rra[2].gamma", &d) || !near(d, p->gamma) ||
	    !nc_tm_info_val(in, "rra[5].delta_pos", &d) || !near(d, p->delta) ||
	    !nc_tm_info_val(in, "rra[5].delta_neg", &d) || !near(d, p->delta) ||
	    !info_cnt(in, "rra[5].failure_threshold", &v) || v != p->threshold ||
	    !info_cnt(in, "rra[5].window_length", &v) || v != p->window)
		goto out;
	ret = 1;
out:
	rrd_info_free(in);
	return ret;
}

static unsigned long long file_bytes(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? (unsigned long long)sb.st_size : 0;
}

/* the bytes of DIR/anomaly (its files, set-aside ones too), counted the first time */
static void anomaly_count(struct nc_tm_store *st)
{
	struct nc_buf d = NC_BUF_INIT, f = NC_BUF_INIT;
	DIR *dir;
	struct dirent *de;

	if (st->anomaly_counted)
		return;
	st->anomaly_counted = true;
	st->anomaly_bytes = 0;
	nc_buf_addf(&d, "%s/anomaly", st->dir);
	if ((dir = opendir(d.buf))) {
		while ((de = readdir(dir))) {
			if (de->d_name[0] == '.')
				continue;
			nc_buf_reset(&f);
			nc_buf_addf(&f, "%s/%s", d.buf, de->d_name);
			st->anomaly_bytes += file_bytes(f.buf);
		}
		closedir(dir);
	}
	nc_buf_release(&d);
	nc_buf_release(&f);
}

/* removes an anomaly file, and its bytes from the count */
static int anomaly_unlink(struct nc_tm_store *st, const char *path)
{
	unsigned long long b = file_bytes(path);

	if (unlink(path) != 0)
		return -1;
	if (st->anomaly_counted)
		st->anomaly_bytes = st->anomaly_bytes > b ? st->anomaly_bytes - b : 0;
	return 0;
}

static int hw_create(struct nc_tm_store *st, const char *path, const struct nc_hw_params *p,
		     time_t start, struct nc_err *err)
{
	unsigned long rows = hw_rows(p);
	char defs[7][128];
	const char *argv[7];
	int rc = 0;

	snprintf(defs[0], sizeof(defs[0]), "DS:" HW_DS ":GAUGE:%u:U:U", 2 * st->step);
	snprintf(defs[1], sizeof(defs[1]), "RRA:AVERAGE:0.5:1:%lu", rows);
	snprintf(defs[2], sizeof(defs[2]), "RRA:HWPREDICT:%lu:%.17g:%.17g:%u:3", rows, p->alpha,
		 p->beta, p->season);
	snprintf(defs[3], sizeof(defs[3]), "RRA:SEASONAL:%u:%.17g:2:smoothing-window=0", p->season, p->gamma);
	snprintf(defs[4], sizeof(defs[4]), "RRA:DEVSEASONAL:%u:%.17g:2:smoothing-window=0", p->season, p->gamma);
	snprintf(defs[5], sizeof(defs[5]), "RRA:DEVPREDICT:%lu:4", rows);
	snprintf(defs[6], sizeof(defs[6]), "RRA:FAILURES:%lu:%u:%u:4", rows, p->threshold, p->window);
	for (size_t i = 0; i < 7; i++)
		argv[i] = defs[i];
	anomaly_count(st);
	/* the values it holds (3 x rows + 2 x season doubles) and a header's share */
	{
		unsigned long long need = (3ull * rows + 2ull * p->season) * 8 + 4096;

		if (st->anomaly_bytes + need > st->anomaly_limit) {
			nc_err_set(err, "%s: not made: the anomaly files would pass %llu MiB (%llu MiB used, "
				   "%llu MiB more needed)", path, st->anomaly_limit >> 20, st->anomaly_bytes >> 20,
				   (need + (1 << 20) - 1) >> 20);
			return -1;
		}
	}
	rrd_clear_error();
	if (rrd_create_r2(path, st->step, start, 0, NULL, NULL, 7, argv) != 0) {
		nc_err_set(err, "%s: cannot create: %s", path, create_error(path));
		return -1;
	}
	st->anomaly_bytes += file_bytes(path);
	if (!near(p->delta, 2)) {
		char d[64];
		char *targv[] = { "tune", (char *)path, "--deltapos", d, "--deltaneg", d, NULL };

		snprintf(d, sizeof(d), "%.17g", p->delta);
		pthread_mutex_lock(&nc_rrd_argv_lock);
		rrd_clear_error();
		if (rrd_tune(6, targv) != 0) {
			nc_err_set(err, "%s: cannot set delta: %s", path, nc_tm_rrd_error());
			rc = -1;
		}
		pthread_mutex_unlock(&nc_rrd_argv_lock);
		if (rc)
			anomaly_unlink(st, path);
	}
	return rc;
}

/* the value of the row ending at rt in archive cf, NAN when unknown */
static int hw_value(struct nc_tm_store *st, const char *path, const char *cf, time_t rt, double *out,
		    struct nc_err *err)
{
	struct nc_tm_series s = { 0 };
	int rc = nc_tm_fetch_path(st, path, cf, HW_DS, rt, rt, st->step, &s, err);

	if (rc != 1)
		return -1;
	*out = NAN;
	if (s.n && rt >= s.start && (rt - s.start) % s.step == 0 && (size_t)((rt - s.start) / s.step) < s.n)
		*out = s.v[(rt - s.start) / s.step];
	nc_tm_series_release(&s);
	return 0;
}

/* HWPREDICT, DEVPREDICT and FAILURES of row rt from an update's summary: how many found */
static int hw_summary(const rrd_info_t *sum, time_t rt, double *pred, double *dev, double *fail)
{
	static const char *const cfs[] = { "HWPREDICT", "DEVPREDICT", "FAILURES" };
	double *out[] = { pred, dev, fail };
	char key[96];
	int got = 0;

	for (size_t i = 0; i < NC_ARRAY_SIZE(cfs); i++) {
		snprintf(key, sizeof(key), "[%lld]RRA[%s][1]DS[" HW_DS "]", (long long)rt, cfs[i]);
		if (nc_tm_info_val(sum, key, out[i]))
			got++;
	}
	return got;
}

int nc_tm_anomaly(struct nc_tm_store *st, const char *key, time_t t, double value,
		  const struct nc_hw_params *p, bool *aberrant, double *predicted, double *deviation,
		  struct nc_err *err)
{
	struct nc_buf path = NC_BUF_INIT, fkey = NC_BUF_INIT, msg = NC_BUF_INIT;
	struct nc_tm_file *f;
	struct nc_err e = { "" };
	char hex[65], params[160], val[64];
	double pred = NAN, dev = NAN, fail = NAN;
	time_t last = 0, rt;
	int rc, ret = -1, got;

	if (aberrant)
		*aberrant = false;
	if (predicted)
		*predicted = NAN;
	if (deviation)
		*deviation = NAN;
	if (st->read_only) {
		nc_err_set(err, "telemetry store %s: opened read-only", st->dir);
		return -1;
	}
	if (!key || !*key) {
		nc_err_set(err, "anomaly: no key");
		return -1;
	}
	if (hw_check_params(p, err) != 0)
		return -1;
	nc_sha256_hex(key, strlen(key), hex);
	nc_buf_addf(&path, "%s/anomaly/%s.rrd", st->dir, hex);
	nc_buf_addf(&fkey, "anomaly/%s", hex);
	hw_params_str(params, sizeof(params), st, p);

	pthread_mutex_lock(&st->lock);
	f = nc_tm_store_file(st, fkey.buf);
	if (!f->checked || !f->params || strcmp(f->params, params) != 0) {
		rc = hw_check_file(st, path.buf, p, &last, &e);
		if (rc == -1) {
			if (nc_tm_set_aside(st, path.buf, e.msg, &msg) != 0) {
				nc_err_set(err, "%s", msg.buf);
				goto out;
			}
			nc_err_set(err, "%s", msg.buf);     /* reported, and goes on */
		} else if (rc == 2) {
			anomaly_unlink(st, path.buf);      /* the rule's parameters changed */
		}
		if (rc != 1) {
			struct nc_buf d = NC_BUF_INIT;

			nc_buf_addf(&d, "%s/anomaly", st->dir);
			if (nc_mkdir_p_mode(d.buf, 0700) != 0) {
				nc_err_set(err, "%s: %s", d.buf, strerror(errno));
				nc_buf_release(&d);
				goto out;
			}
			nc_buf_release(&d);
			last = ((t - 1) / (time_t)st->step) * (time_t)st->step;
			if (hw_create(st, path.buf, p, last, &e) != 0) {
				nc_err_set(err, "%s", e.msg);
				goto out;
			}
		}
		f->checked = true;
		f->last = last;
		free(f->params);
		f->params = nc_xstrdup(params);
	}
	/* the last row an update at t completes */
	rt = t - t % (time_t)st->step;
	got = 0;
	if (t > f->last) {
		/* rrd_update_v_r tells the rows it wrote: no fetch needed after it
		 * (Debian's librrd exports no rrd_updatex_v_r: t > last is ours to check) */
		rrd_info_t *sum = rrd_info_push(NULL, nc_xstrdup("nc"), RD_I_INT, (rrd_infoval_t){ .u_int = 0 });

		if (isnan(value) || isinf(value))
			snprintf(val, sizeof(val), "%lld:U", (long long)t);
		else
			snprintf(val, sizeof(val), "%lld:%.17g", (long long)t, value);
		rrd_clear_error();
		if (rrd_update_v_r(path.buf, NULL, 1, (const char *[]){ val }, sum) != 0) {
			rrd_info_free(sum);
			f->checked = false;
			nc_err_set(err, "%s: cannot update: %s", path.buf, nc_tm_rrd_error());
			goto out;
		}
		f->last = t;
		got = hw_summary(sum, rt, &pred, &dev, &fail);
		rrd_info_free(sum);
	}
	if (got != 3 &&
	    (hw_value(st, path.buf, "HWPREDICT", rt, &pred, &e) != 0 ||
	     hw_value(st, path.buf, "DEVPREDICT", rt, &dev, &e) != 0 ||
	     hw_value(st, path.buf, "FAILURES", rt, &fail, &e) != 0)) {
		nc_err_set(err, "%s", e.msg);
		goto out;
	}
	/*
	 * RRD predicts nothing in the first season (HWPREDICT unknown while the
	 * seasonal coefficients are learnt) and has no deviation before the end
	 * of the second: nothing is aberrant until both are known.
	 */
	if (aberrant)
		*aberrant = fail >= 1 && !isnan(pred) && !isnan(dev);
	if (predicted)
		*predicted = pred;
	if (deviation)
		*deviation = dev;
	ret = 0;
out:
	pthread_mutex_unlock(&st->lock);
	nc_buf_release(&path);
	nc_buf_release(&fkey);
	nc_buf_release(&msg);
	return ret;
}

int nc_tm_anomaly_forget(struct nc_tm_store *st, const char *key, struct nc_err *err)
{
	struct nc_buf path = NC_BUF_INIT, fkey = NC_BUF_INIT;
	char hex[65];
	int ret = 0;

	if (st->read_only) {
		nc_err_set(err, "telemetry store %s: opened read-only", st->dir);
		return -1;
	}
	if (!key || !*key) {
		nc_err_set(err, "anomaly: no key");
		return -1;
	}
	nc_sha256_hex(key, strlen(key), hex);
	nc_buf_addf(&path, "%s/anomaly/%s.rrd", st->dir, hex);
	nc_buf_addf(&fkey, "anomaly/%s", hex);
	pthread_mutex_lock(&st->lock);
	nc_tm_store_forget(st, fkey.buf);
	if (anomaly_unlink(st, path.buf) != 0 && errno != ENOENT) {
		nc_err_set(err, "%s: %s", path.buf, strerror(errno));
		ret = -1;
	}
	pthread_mutex_unlock(&st->lock);
	nc_buf_release(&path);
	nc_buf_release(&fkey);
	return ret;
}
