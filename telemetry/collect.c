/*
 * collect.c - one collection round of the whole cluster (telemetry.h,
 * docs/monitoring.md "Collection").
 *
 * As reconciler/observe.c: a pool of worker threads takes the spec's hosts
 * in order; each opens its host (the operator's connections applied to the
 * spec's URI) and calls the driver's stats op.  The caller waits until
 * every host is done or past timeout_ms; a host past it gets "timed out",
 * up = 0 and gaps, and its worker is abandoned: it drops what it gets when
 * the call finally returns, and a new worker takes its place.  The job
 * table is reference-counted, so the caller returns before a hung worker
 * does; every other worker is joined first.
 *
 * Connections to libvirt daemons may be kept between rounds in a struct
 * nc_tm_conns (opts->conns): a worker takes its host's connection out of
 * the cache, and gives it back only after a successful call in a round
 * that still waits for it; a kept connection that fails is closed and the
 * host opened afresh once, within the same timeout.
 *
 * Simulated hosts are not opened: nc_sim_stats_read() reads the same
 * figures from their state file, without the host's lock (which passes
 * hold while they act) and without the test driver's cost of loading it.
 */
#include "telemetry.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../drivers/storage/storage.h"
#include "../reconciler/backups.h"
#include "../reconciler/connections.h"
#include "../spec/util.h"

/* ---- the connection cache ---- */

struct cached {
	char *host, *uri;
	struct nc_host_conn *conn;
};

struct nc_tm_conns {
	pthread_mutex_t mu;
	int refs;                    /* the owner, and each round's workers still running */
	bool closed;                 /* the owner freed it: nothing more is kept */
	struct cached *v;
	size_t n;
};

struct nc_tm_conns *nc_tm_conns_new(void)
{
	struct nc_tm_conns *c = nc_xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->refs = 1;
	return c;
}

static void conns_drop(struct nc_tm_conns *c, bool owner)
{
	size_t i;
	int left;

	pthread_mutex_lock(&c->mu);
	if (owner) {
		c->closed = true;
		for (i = 0; i < c->n; i++) {
			nc_host_close(c->v[i].conn);
			free(c->v[i].host);
			free(c->v[i].uri);
		}
		free(c->v);
		c->v = NULL;
		c->n = 0;
	}
	left = --c->refs;
	pthread_mutex_unlock(&c->mu);
	if (left == 0) {
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
}

void nc_tm_conns_free(struct nc_tm_conns *c)
{
	if (c)
		conns_drop(c, true);
}

static void conns_ref(struct nc_tm_conns *c)
{
	pthread_mutex_lock(&c->mu);
	c->refs++;
	pthread_mutex_unlock(&c->mu);
}

/* takes host's kept connection to uri out of the cache (NULL: none) */
static struct nc_host_conn *conns_take(struct nc_tm_conns *c, const char *host, const char *uri)
{
	struct nc_host_conn *conn = NULL;
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].host, host) != 0)
			continue;
		if (strcmp(c->v[i].uri, uri) == 0)
			conn = c->v[i].conn;
		else
			nc_host_close(c->v[i].conn);    /* the host moved: forget the old address */
		free(c->v[i].host);
		free(c->v[i].uri);
		c->v[i] = c->v[--c->n];
		break;
	}
	pthread_mutex_unlock(&c->mu);
	return conn;
}

/* keeps conn for the next round, or closes it when the cache is gone */
static void conns_put(struct nc_tm_conns *c, const char *host, const char *uri, struct nc_host_conn *conn)
{
	pthread_mutex_lock(&c->mu);
	if (c->closed) {
		pthread_mutex_unlock(&c->mu);
		nc_host_close(conn);
		return;
	}
	c->v = nc_xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n].host = nc_xstrdup(host);
	c->v[c->n].uri = nc_xstrdup(uri);
	c->v[c->n].conn = conn;
	c->n++;
	pthread_mutex_unlock(&c->mu);
}

/* ---- the round ---- */

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

struct job {
	char *host;
	char *uri;                   /* what is opened: connections applied; never shown */
	char *shown;                 /* the spec's URI, what errors may name */
	char *refused;               /* why no URI may be opened (then uri is NULL) */
	bool skip;                   /* failed: not contacted */
	/* an rbd StoragePool instead of a host: its Ceph cluster through librados
	 * (host holds the pool's name; copies of the spec's values: a worker may
	 * outlive the spec) */
	bool rbd;
	char *rbd_pool, *ceph_conf, *ceph_user, *key_file;
	uint64_t capacity, used, available;
	enum job_state state;
	struct timespec start;
	struct nc_host_stats stats;
	char *error;
};

struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *jobs;
	size_t n, next;
	int refs;
	char *state_dir;
	struct nc_tm_conns *cache;   /* NULL: none; referenced */
	pthread_t *threads;
	size_t *cur;                 /* the job each worker is on (SIZE_MAX: none) */
	size_t nthreads, cap;
};

struct worker_arg {
	struct shared *s;
	size_t slot;
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* called with the lock held; unlocks */
static void shared_unref(struct shared *s)
{
	size_t i;

	if (--s->refs > 0) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < s->n; i++) {
		free(s->jobs[i].host);
		free(s->jobs[i].uri);
		free(s->jobs[i].shown);
		free(s->jobs[i].refused);
		free(s->jobs[i].error);
		free(s->jobs[i].rbd_pool);
		free(s->jobs[i].ceph_conf);
		free(s->jobs[i].ceph_user);
		free(s->jobs[i].key_file);
		nc_host_stats_release(&s->jobs[i].stats);
	}
	if (s->cache)
		conns_drop(s->cache, false);
	free(s->jobs);
	free(s->threads);
	free(s->cur);
	free(s->state_dir);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* opens (or takes from the cache) and reads one host; 0, or -1 with err set */
static int read_host(struct shared *s, const char *host, const char *uri, struct nc_host_conn **connp,
		     struct nc_host_stats *st, struct nc_err *err)
{
	struct nc_driver_opts dopts = { s->state_dir };
	struct nc_host_conn *conn = NULL;
	int r;

	/* simulated hosts: their state file, without opening (no lock, no test driver) */
	if (strncmp(uri, "sim:", 4) == 0)
		return nc_sim_stats_read(s->state_dir, uri, st, err);
	conn = s->cache ? conns_take(s->cache, host, uri) : NULL;
	if (conn) {
		if (conn->drv->stats && conn->drv->stats(conn, st, err) == 0) {
			*connp = conn;
			return 0;
		}
		nc_host_close(conn);     /* the daemon went away meanwhile: once more, afresh */
		conn = NULL;
	}
	if (nc_host_open(&conn, uri, &dopts, err) < 0)
		return -1;
	if (!conn->drv->stats) {
		nc_err_set(err, "the %s driver gives no statistics", conn->drv->name);
		r = -1;
	} else {
		r = conn->drv->stats(conn, st, err);
	}
	if (r < 0) {
		nc_host_close(conn);
		return -1;
	}
	*connp = conn;
	return 0;
}

static void *worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct shared *s = wa->s;
	size_t slot = wa->slot;

	free(wa);
	pthread_mutex_lock(&s->mu);
	while (s->next < s->n) {
		struct job *j = &s->jobs[s->next];
		struct nc_host_conn *conn = NULL;
		struct nc_host_stats st;
		struct nc_err err = { "" };
		int r;

		s->cur[slot] = s->next++;
		j->state = JOB_RUNNING;
		clock_gettime(CLOCK_MONOTONIC, &j->start);
		pthread_mutex_unlock(&s->mu);

		memset(&st, 0, sizeof(st));
		if (j->rbd) {
			struct nc_pool_def pd = { .name = j->host, .type = "rbd", .rbd_pool = j->rbd_pool,
						  .ceph_conf = j->ceph_conf, .ceph_user = j->ceph_user,
						  .key_file = j->key_file };
			uint64_t cap = 0, used = 0, avail = 0;

			r = nc_rbd_pool_usage(&pd, &cap, &used, &avail, &err);
			pthread_mutex_lock(&s->mu);
			if (j->state != JOB_ABANDONED) {
				j->capacity = cap;
				j->used = used;
				j->available = avail;
			}
			pthread_mutex_unlock(&s->mu);
		} else if (j->skip) {
			nc_err_set(&err, "failed health checks; not contacted");
			r = -1;
		} else if (j->uri) {
			r = read_host(s, j->host, j->uri, &conn, &st, &err);
		} else {
			nc_err_set(&err, "%s", j->refused);
			r = -1;
		}
		if (r < 0 && !j->rbd)   /* no file contents, no operator's parameters */
			nc_connection_error_clean(&err, j->uri, j->shown);

		pthread_mutex_lock(&s->mu);
		if (j->state == JOB_ABANDONED) {
			nc_host_stats_release(&st);
			nc_host_close(conn);
		} else {
			j->state = JOB_DONE;
			j->stats = st;
			if (r < 0)
				j->error = nc_xstrdup(err.msg);
			if (conn && s->cache)
				conns_put(s->cache, j->host, j->uri, conn);
			else
				nc_host_close(conn);
			pthread_cond_broadcast(&s->cv);
		}
	}
	s->cur[slot] = SIZE_MAX;
	shared_unref(s);    /* unlocks */
	return NULL;
}

/* starts a worker; called with the lock held */
static void spawn(struct shared *s)
{
	struct worker_arg *wa;

	if (s->nthreads == s->cap)
		return;
	wa = nc_xcalloc(1, sizeof(*wa));
	wa->s = s;
	wa->slot = s->nthreads;
	s->cur[wa->slot] = SIZE_MAX;
	s->refs++;
	if (pthread_create(&s->threads[wa->slot], NULL, worker, wa) != 0) {
		s->refs--;
		free(wa);
		return;
	}
	s->nthreads++;
}

static bool is_failed(const struct nc_tm_collect_opts *opts, const char *name)
{
	for (size_t i = 0; opts && opts->failed && i < opts->nfailed; i++)
		if (opts->failed[i] && strcmp(opts->failed[i], name) == 0)
			return true;
	return false;
}

/* the previous round's raw statistics of host, or NULL */
static const struct nc_host_stats *prev_raw(const struct nc_tm_round *prev, const char *host)
{
	for (size_t i = 0; prev && i < prev->nhosts; i++)
		if (prev->hosts[i] && strcmp(prev->hosts[i], host) == 0)
			return prev->raw && prev->raw[i].t > 0 ? &prev->raw[i] : NULL;
	return NULL;
}

void nc_tm_collect(struct nc_tm_round *out, const struct nc_spec *spec, const struct nc_tm_round *prev,
		   const struct nc_tm_collect_opts *opts)
{
	struct shared *s = nc_xcalloc(1, sizeof(*s));
	unsigned timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : 10000;
	unsigned parallel = opts && opts->parallel ? opts->parallel : 16;
	const struct nc_list *conns = opts ? opts->connections : NULL;
	const struct nc_host *h;
	const struct nc_pool *p;
	struct timespec t0;
	pthread_t *join;
	size_t i, w, njoin = 0, nhosts, nrbd = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(out, 0, sizeof(*out));
	{
		bool simulated;
		double now = nc_sim_clock(&simulated);

		/* NOVACRON_SIM_TIME (tests, benchmarks): the round happens at the simulated time */
		out->t = simulated ? (time_t)now : time(NULL);
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	nhosts = spec->nobjs[NC_KIND_HOST];
	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, p, i)
		nrbd += NC_IS_SET(p->spec.type) && p->spec.type.v == NC_POOL_RBD;
	s->n = nhosts + nrbd;
	s->jobs = nc_xcalloc(s->n ? s->n : 1, sizeof(*s->jobs));
	s->refs = 1;
	s->state_dir = opts && opts->state_dir ? nc_xstrdup(opts->state_dir) : NULL;
	if (opts && opts->conns) {
		s->cache = opts->conns;
		conns_ref(s->cache);
	}
	/* at most one worker per host at first, and one more for each host abandoned */
	s->cap = 2 * s->n + 1;
	s->threads = nc_xcalloc(s->cap, sizeof(*s->threads));
	s->cur = nc_xcalloc(s->cap, sizeof(*s->cur));
	NC_SPEC_EACH(spec, NC_KIND_HOST, const struct nc_host, h, i) {
		struct nc_err e = { "" };
		struct job *j = &s->jobs[i];

		j->host = nc_xstrdup(h->obj.meta.name.v);
		j->uri = nc_connection_uri(h, conns, false, &e);
		if (!j->uri)
			j->refused = nc_xstrdup(e.msg);
		j->shown = nc_xstrdup(h->spec.uri.v);
		j->skip = is_failed(opts, j->host);
	}
	w = nhosts;
	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, p, i) {
		struct nc_pool_def pd;
		struct job *j;

		if (!NC_IS_SET(p->spec.type) || p->spec.type.v != NC_POOL_RBD)
			continue;
		nc_pool_def_from_spec(&pd, p);
		j = &s->jobs[w++];
		j->rbd = true;
		j->host = nc_xstrdup(pd.name);
		j->rbd_pool = pd.rbd_pool ? nc_xstrdup(pd.rbd_pool) : NULL;
		j->ceph_conf = pd.ceph_conf ? nc_xstrdup(pd.ceph_conf) : NULL;
		j->ceph_user = pd.ceph_user ? nc_xstrdup(pd.ceph_user) : NULL;
		j->key_file = pd.key_file ? nc_xstrdup(pd.key_file) : NULL;
	}

	pthread_mutex_lock(&s->mu);
	for (w = 0; w < parallel && w < s->n; w++)
		spawn(s);
	for (;;) {
		struct timespec deadline = { 0, 0 };
		bool waiting = false;

		for (i = 0; i < s->n; i++) {
			struct job *j = &s->jobs[i];

			if (j->state == JOB_PENDING) {
				waiting = true;
			} else if (j->state == JOB_RUNNING) {
				if (since(&j->start) * 1000 >= timeout_ms) {
					j->state = JOB_ABANDONED;
					j->error = nc_xasprintf("timed out after %.1f s", timeout_ms / 1000.0);
					if (s->next < s->n)
						spawn(s);   /* replace the hung worker */
					continue;
				}
				waiting = true;
			}
		}
		if (!waiting)
			break;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 20 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
	}
	/* the results, in spec order; the raw statistics move into the round */
	out->nhosts = nhosts;
	out->hosts = nc_xcalloc(nhosts ? nhosts : 1, sizeof(*out->hosts));
	out->raw = nc_xcalloc(nhosts ? nhosts : 1, sizeof(*out->raw));
	out->errors = nc_xcalloc(nhosts ? nhosts : 1, sizeof(*out->errors));
	out->nrbd = nrbd;
	out->rbd_pools = nc_xcalloc(nrbd ? nrbd : 1, sizeof(*out->rbd_pools));
	out->rbd_errors = nc_xcalloc(nrbd ? nrbd : 1, sizeof(*out->rbd_errors));
	for (i = nhosts; i < s->n; i++) {
		struct job *j = &s->jobs[i];
		struct nc_tm_object *o;

		out->rbd_pools[i - nhosts] = nc_xstrdup(j->host);
		o = nc_tm_round_add(out, NC_MT_POOL, j->host, NULL, j->host);
		o->managed = true;
		if (j->error) {     /* a gap, never zeros */
			out->rbd_errors[i - nhosts] = nc_xstrdup(j->error);
			continue;
		}
		if (j->capacity == 0)   /* a new cluster whose mgr has not reported yet: a gap too */
			continue;
		o->v[NC_PM_CAPACITY] = (double)j->capacity;
		o->v[NC_PM_USED] = (double)j->used;
		o->v[NC_PM_AVAILABLE] = (double)j->available;
		o->v[NC_PM_USED_RATIO] = j->capacity ? (double)j->used / (double)j->capacity : NAN;
	}
	for (i = 0; i < nhosts; i++) {
		struct job *j = &s->jobs[i];

		out->hosts[i] = nc_xstrdup(j->host);
		if (j->error) {
			out->errors[i] = nc_xstrdup(j->error);
			continue;
		}
		out->raw[i] = j->stats;
		memset(&j->stats, 0, sizeof(j->stats));
	}
	/* a worker on an abandoned host is left to end on its own; the others are ending now */
	join = nc_xcalloc(s->nthreads ? s->nthreads : 1, sizeof(*join));
	for (w = 0; w < s->nthreads; w++) {
		if (s->cur[w] != SIZE_MAX && s->jobs[s->cur[w]].state == JOB_ABANDONED)
			pthread_detach(s->threads[w]);
		else
			join[njoin++] = s->threads[w];
	}
	{
		bool *skipped = nc_xcalloc(nhosts ? nhosts : 1, sizeof(*skipped));

		for (i = 0; i < nhosts; i++)
			skipped[i] = s->jobs[i].skip;
		shared_unref(s);    /* unlocks */
		for (w = 0; w < njoin; w++)
			pthread_join(join[w], NULL);
		free(join);
		/* values: every host, from its previous round when it has one */
		for (i = 0; i < out->nhosts; i++) {
			size_t first = out->nobjs;

			nc_tm_derive(out, out->hosts[i], prev_raw(prev, out->hosts[i]),
				     out->errors[i] ? NULL : &out->raw[i]);
			if (skipped[i])
				out->objs[first].v[NC_HM_FAILED] = 1;
		}
		free(skipped);
	}
	for (i = 0; i < out->nobjs; i++)
		if (out->objs[i].target == NC_MT_VM && nc_spec_find(spec, NC_KIND_VM, out->objs[i].name))
			out->objs[i].managed = true;
	nc_tm_round_sort(out);
	out->seconds = since(&t0);
}
