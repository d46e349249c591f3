/*
 * health.c - serve's failure detector: the monitor thread, one probe
 * thread per host, the ok/suspect/failed state machine and the partition
 * rule (health.h, docs/ha.md).
 */
#include "health.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../drivers/driver.h"
#include "serve.h"

/*
 * One host's prober.  Shared by the monitor and the probe thread, each
 * holding a reference; the last one frees it, so a thread stuck in a
 * daemon that never answers may outlive the monitor safely.
 */
struct prober {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	bool quit;
	bool requested;                  /* a probe is asked for */
	bool inflight;                   /* asked for and not answered yet */
	bool done;                       /* an answer waits to be read */
	bool ok;
	char error[512];
	char *uri, *state_dir;
};

struct hstate {
	char *name, *uri;
	struct prober *pr;
	double asked;                    /* monotonic time of the probe in flight */
	enum nc_health_state st;
	unsigned misses, goods;          /* in a row */
	double first_miss;               /* monotonic; 0: the last check was good */
	double since;                    /* wall clock of the last transition (s, ms precision) */
	char *error;                     /* the last miss's reason */
	bool fenced;
	char *fenced_by, *fence_error;
};

struct event {
	char *name, *host, *msg;
};

struct nc_health {
	struct nc_health_opts o;
	char *state_dir;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool stop;
	struct hstate *hosts;            /* sorted by name */
	size_t nhosts;
	bool partitioned;
	double partitioned_since;
	uint64_t transitions[3];         /* into ok, suspect, failed */
	uint64_t fence_attempts, fence_failures, recoveries;
	struct event *events;            /* to hand out once the lock is dropped */
	size_t nevents;
};

const char *nc_health_state_name(enum nc_health_state s)
{
	return s == NC_HEALTH_OK ? "ok" : s == NC_HEALTH_SUSPECT ? "suspect" : "failed";
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)(t.tv_nsec / 1000000) / 1e3;
}

/* ---- probers ---- */

static void prober_unref(struct prober *p)
{
	int left;

	pthread_mutex_lock(&p->mu);
	left = --p->refs;
	pthread_mutex_unlock(&p->mu);
	if (left)
		return;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->uri);
	free(p->state_dir);
	free(p);
}

static void *prober_loop(void *arg)
{
	struct prober *p = arg;
	struct nc_host_probe *conn = NULL;
	struct nc_driver_opts dopts;

	memset(&dopts, 0, sizeof(dopts));
	dopts.state_dir = p->state_dir;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct nc_err err = { "" };
		int r;

		while (!p->requested && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit)
			break;
		p->requested = false;
		pthread_mutex_unlock(&p->mu);
		r = nc_host_probe(&conn, p->uri, &dopts, &err);
		pthread_mutex_lock(&p->mu);
		p->ok = r == 0;
		snprintf(p->error, sizeof(p->error), "%s", r == 0 ? "" : err.msg);
		p->inflight = false;
		p->done = true;
	}
	pthread_mutex_unlock(&p->mu);
	nc_host_probe_close(conn);
	prober_unref(p);
	return NULL;
}

static struct prober *prober_new(const char *uri, const char *state_dir)
{
	struct prober *p = nc_xcalloc(1, sizeof(*p));
	pthread_attr_t attr;
	pthread_t t;

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->refs = 2;
	p->uri = nc_xstrdup(uri);
	p->state_dir = state_dir ? nc_xstrdup(state_dir) : NULL;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, prober_loop, p) != 0) {
		/* no thread: every check of this host is missed, and said so */
		p->refs = 1;
		p->inflight = true;
	}
	pthread_attr_destroy(&attr);
	return p;
}

static void prober_quit(struct prober *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	prober_unref(p);
}

/* ---- the state machine (h->mu held) ---- */

static void emit(struct nc_health *h, const char *name, const char *host, const char *fmt, ...)
	NC_PRINTF(4, 5);

static void emit(struct nc_health *h, const char *name, const char *host, const char *fmt, ...)
{
	struct event *e;
	struct nc_buf m = NC_BUF_INIT;
	va_list ap;

	h->events = nc_xrealloc(h->events, (h->nevents + 1) * sizeof(*h->events));
	e = &h->events[h->nevents++];
	e->name = nc_xstrdup(name);
	e->host = host ? nc_xstrdup(host) : NULL;
	va_start(ap, fmt);
	nc_buf_vaddf(&m, fmt, ap);
	va_end(ap);
	e->msg = nc_xstrdup(m.buf);
	nc_buf_release(&m);
}

static void move(struct nc_health *h, struct hstate *s, enum nc_health_state to, const char *why)
{
	static const char *const events[] = { "host_ok", "host_suspect", "host_failed" };

	nc_serve_log("host %s: %s -> %s (%s)", s->name, nc_health_state_name(s->st), nc_health_state_name(to),
		     why);
	emit(h, events[to], s->name, "host %s: %s -> %s (%s)", s->name, nc_health_state_name(s->st),
	     nc_health_state_name(to), why);
	s->st = to;
	s->since = wall();
	h->transitions[to]++;
}

static void good(struct nc_health *h, struct hstate *s)
{
	char why[96];

	s->misses = 0;
	s->first_miss = 0;
	s->goods++;
	if (s->st == NC_HEALTH_OK || s->goods < h->o.recover_after)
		return;
	if (s->st == NC_HEALTH_FAILED && h->o.may_clear && !h->o.may_clear(h->o.opaque, s->name))
		return;
	snprintf(why, sizeof(why), "%u good checks in a row%s", s->goods,
		 s->st == NC_HEALTH_FAILED && h->o.may_clear ? ", and the HA record no longer lists it" : "");
	free(s->error);
	s->error = NULL;
	move(h, s, NC_HEALTH_OK, why);
}

/* a missed check; conn_error: the daemon refused or dropped the connection (not a timeout) */
static void miss(struct nc_health *h, struct hstate *s, const char *error, bool conn_error)
{
	double now = mono();
	char why[400];

	s->goods = 0;
	s->misses++;
	if (!s->first_miss)
		s->first_miss = now;
	if (!s->error || strcmp(s->error, error) != 0) {
		free(s->error);
		s->error = nc_xstrdup(error);
	}
	if (s->st == NC_HEALTH_FAILED)
		return;
	if (s->misses >= h->o.suspect_after && (now - s->first_miss) * 1000 >= h->o.failed_after_ms) {
		snprintf(why, sizeof(why), "unreachable for %.1f s since the first missed check, %u missed: %s",
			 now - s->first_miss, s->misses, error);
		move(h, s, NC_HEALTH_FAILED, why);
		return;
	}
	if (s->st == NC_HEALTH_OK && (conn_error || s->misses >= h->o.suspect_after)) {
		snprintf(why, sizeof(why), "%u missed check%s: %s", s->misses, s->misses == 1 ? "" : "s", error);
		move(h, s, NC_HEALTH_SUSPECT, why);
	}
}

static void check_partition(struct nc_health *h)
{
	size_t i, bad = 0;
	bool p;

	for (i = 0; i < h->nhosts; i++)
		bad += h->hosts[i].st != NC_HEALTH_OK;
	p = h->nhosts && bad == h->nhosts;
	if (p == h->partitioned)
		return;
	h->partitioned = p;
	h->partitioned_since = wall();
	if (p) {
		nc_serve_log("partitioned: every declared host (%zu) is suspect or failed: this instance is assumed "
			     "cut off; fencing nothing and restarting nothing until a host answers", h->nhosts);
		emit(h, "partitioned", NULL, "every declared host (%zu) is suspect or failed: this instance is "
		     "assumed cut off; fencing nothing and restarting nothing until a host answers", h->nhosts);
	} else {
		nc_serve_log("partition over: %zu of %zu hosts ok", h->nhosts - bad, h->nhosts);
	}
}

/* one tick: read the answers, count the late ones as missed, ask again */
static void tick(struct nc_health *h)
{
	double now = mono();
	size_t i;

	for (i = 0; i < h->nhosts; i++) {
		struct hstate *s = &h->hosts[i];
		struct prober *p = s->pr;
		bool done, ok, late = false, asked = false;
		char error[512];

		pthread_mutex_lock(&p->mu);
		done = p->done;
		ok = p->ok;
		snprintf(error, sizeof(error), "%s", p->error);
		p->done = false;
		if (p->inflight) {
			late = s->asked && (now - s->asked) * 1000 >= h->o.interval_ms * 0.9;
		} else if (p->refs == 2) {
			p->inflight = true;
			p->requested = true;
			pthread_cond_signal(&p->cv);
			asked = true;
		}
		pthread_mutex_unlock(&p->mu);
		if (done && ok)
			good(h, s);
		else if (done)
			miss(h, s, error, true);
		else if (late) {
			char why[96];

			snprintf(why, sizeof(why), "no answer for %.1f s", now - s->asked);
			miss(h, s, why, false);
		}
		if (asked || !s->asked)
			s->asked = now;
	}
	check_partition(h);
}

static void hand_out(struct nc_health *h)
{
	struct event *ev = h->events;
	size_t n = h->nevents, i;

	h->events = NULL;
	h->nevents = 0;
	pthread_mutex_unlock(&h->mu);
	for (i = 0; i < n; i++) {
		if (h->o.event)
			h->o.event(h->o.opaque, ev[i].name, ev[i].host, ev[i].msg);
		free(ev[i].name);
		free(ev[i].host);
		free(ev[i].msg);
	}
	free(ev);
	pthread_mutex_lock(&h->mu);
}

static void *monitor(void *arg)
{
	struct nc_health *h = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		tick(h);
		hand_out(h);
		next.tv_nsec += (long)(h->o.interval_ms % 1000) * 1000000L;
		next.tv_sec += h->o.interval_ms / 1000 + next.tv_nsec / 1000000000L;
		next.tv_nsec %= 1000000000L;
		while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &next) == 0)
			;
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int nc_health_start(struct nc_health **out, const struct nc_health_opts *o, struct nc_err *err)
{
	struct nc_health *h = nc_xcalloc(1, sizeof(*h));
	pthread_condattr_t ca;

	h->o = *o;
	if (!h->o.interval_ms)
		h->o.interval_ms = NC_HA_CHECK_INTERVAL_MS;
	if (!h->o.suspect_after)
		h->o.suspect_after = NC_HA_SUSPECT_AFTER;
	if (!h->o.failed_after_ms)
		h->o.failed_after_ms = NC_HA_FAILED_AFTER_MS;
	if (!h->o.recover_after)
		h->o.recover_after = NC_HA_RECOVER_AFTER;
	h->state_dir = o->state_dir ? nc_xstrdup(o->state_dir) : NULL;
	h->o.state_dir = h->state_dir;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&h->thread, NULL, monitor, h) != 0) {
		nc_err_set(err, "cannot start the health monitor thread");
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		free(h->state_dir);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

static void hstate_release(struct hstate *s)
{
	prober_quit(s->pr);
	free(s->name);
	free(s->uri);
	free(s->error);
	free(s->fenced_by);
	free(s->fence_error);
}

void nc_health_stop(struct nc_health *h)
{
	size_t i;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	for (i = 0; i < h->nhosts; i++)
		hstate_release(&h->hosts[i]);
	free(h->hosts);
	for (i = 0; i < h->nevents; i++) {
		free(h->events[i].name);
		free(h->events[i].host);
		free(h->events[i].msg);
	}
	free(h->events);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h->state_dir);
	free(h);
}

static struct hstate *find(struct nc_health *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nhosts; i++)
		if (strcmp(h->hosts[i].name, name) == 0)
			return &h->hosts[i];
	return NULL;
}

static int cmp_host(const void *a, const void *b)
{
	return strcmp(((const struct hstate *)a)->name, ((const struct hstate *)b)->name);
}

void nc_health_set_hosts(struct nc_health *h, const char *const *names, const char *const *uris, size_t n)
{
	struct hstate *nh = nc_xcalloc(n + 1, sizeof(*nh));
	size_t i, j, k = 0;

	pthread_mutex_lock(&h->mu);
	for (i = 0; i < n; i++) {
		struct hstate *old = find(h, names[i]);

		for (j = 0; j < k; j++)
			if (strcmp(nh[j].name, names[i]) == 0)
				break;
		if (j < k)
			continue;
		if (old) {
			nh[k] = *old;
			memset(old, 0, sizeof(*old));
			old->name = nc_xstrdup("");   /* taken: keeps find() from seeing it again */
			if (strcmp(nh[k].uri, uris[i]) != 0) {
				prober_quit(nh[k].pr);
				free(nh[k].uri);
				nh[k].uri = nc_xstrdup(uris[i]);
				nh[k].pr = prober_new(uris[i], h->state_dir);
				nh[k].asked = 0;
			}
		} else {
			nh[k].name = nc_xstrdup(names[i]);
			nh[k].uri = nc_xstrdup(uris[i]);
			nh[k].pr = prober_new(uris[i], h->state_dir);
			nh[k].st = NC_HEALTH_OK;
			nh[k].since = wall();
		}
		k++;
	}
	for (i = 0; i < h->nhosts; i++)
		hstate_release(&h->hosts[i]);
	free(h->hosts);
	qsort(nh, k, sizeof(*nh), cmp_host);
	h->hosts = nh;
	h->nhosts = k;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void nc_health_pass_miss(struct nc_health *h, const char *host, const char *error)
{
	struct hstate *s;
	char why[300];

	pthread_mutex_lock(&h->mu);
	s = find(h, host);
	if (s) {
		snprintf(why, sizeof(why), "a pass could not read it: %s", error ? error : "unreachable");
		miss(h, s, why, false);
		check_partition(h);
		hand_out(h);
	}
	pthread_mutex_unlock(&h->mu);
}

void nc_health_view(struct nc_health *h, struct nc_health_view *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&h->mu);
	out->partitioned = h->partitioned;
	out->failed = nc_xcalloc(h->nhosts + 1, sizeof(char *));
	out->unreachable = nc_xcalloc(h->nhosts + 1, sizeof(char *));
	for (i = 0; i < h->nhosts; i++) {
		if (h->hosts[i].st != NC_HEALTH_FAILED)
			continue;
		out->failed[out->nfailed++] = nc_xstrdup(h->hosts[i].name);
		/* one that answers again is read by passes: its stale copies are found and removed */
		if (h->hosts[i].misses)
			out->unreachable[out->nunreachable++] = nc_xstrdup(h->hosts[i].name);
	}
	pthread_mutex_unlock(&h->mu);
}

void nc_health_view_release(struct nc_health_view *v)
{
	size_t i;

	for (i = 0; i < v->nfailed; i++)
		free(v->failed[i]);
	free(v->failed);
	for (i = 0; i < v->nunreachable; i++)
		free(v->unreachable[i]);
	free(v->unreachable);
	memset(v, 0, sizeof(*v));
}

enum nc_health_state nc_health_state_of(struct nc_health *h, const char *host)
{
	struct hstate *s;
	enum nc_health_state st = NC_HEALTH_OK;

	pthread_mutex_lock(&h->mu);
	s = find(h, host);
	if (s)
		st = s->st;
	pthread_mutex_unlock(&h->mu);
	return st;
}

void nc_health_set_fence(struct nc_health *h, const char *host, bool fenced, const char *by,
			 const char *error)
{
	struct hstate *s;

	pthread_mutex_lock(&h->mu);
	s = find(h, host);
	if (s) {
		s->fenced = fenced;
		nc_set_str(&s->fenced_by, by);
		nc_set_str(&s->fence_error, error);
	}
	pthread_mutex_unlock(&h->mu);
}

void nc_health_count_fence(struct nc_health *h, bool failed)
{
	pthread_mutex_lock(&h->mu);
	h->fence_attempts++;
	h->fence_failures += failed;
	pthread_mutex_unlock(&h->mu);
}

void nc_health_count_recoveries(struct nc_health *h, unsigned n)
{
	pthread_mutex_lock(&h->mu);
	h->recoveries += n;
	pthread_mutex_unlock(&h->mu);
}

static void jstr(struct nc_buf *b, const char *s)
{
	if (s)
		nc_buf_add_json_str(b, s);
	else
		nc_buf_adds(b, "null");
}

void nc_health_json(struct nc_health *h, struct nc_buf *b)
{
	size_t i;

	if (!h) {
		nc_buf_adds(b, "{\"enabled\": false, \"partitioned\": false, \"hosts\": []}");
		return;
	}
	pthread_mutex_lock(&h->mu);
	nc_buf_addf(b, "{\"enabled\": true, \"partitioned\": %s, \"check_interval_ms\": %u, "
		       "\"suspect_after\": %u, \"failed_after_ms\": %u, \"recover_after\": %u, \"hosts\": [",
		    h->partitioned ? "true" : "false", h->o.interval_ms, h->o.suspect_after, h->o.failed_after_ms,
		    h->o.recover_after);
	for (i = 0; i < h->nhosts; i++) {
		const struct hstate *s = &h->hosts[i];

		nc_buf_adds(b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
		jstr(b, s->name);
		nc_buf_addf(b, ", \"health\": \"%s\", \"since\": %.3f, \"misses\": %u, \"error\": ",
			    nc_health_state_name(s->st), s->since, s->misses);
		jstr(b, s->error);
		nc_buf_addf(b, ", \"fenced\": %s, \"fenced_by\": ", s->fenced ? "true" : "false");
		jstr(b, s->fenced_by);
		nc_buf_adds(b, ", \"fence_error\": ");
		jstr(b, s->fence_error);
		nc_buf_adds(b, "}");
	}
	nc_buf_addf(b, "%s]}", h->nhosts ? "\n  " : "");
	pthread_mutex_unlock(&h->mu);
}

void nc_health_metrics(struct nc_health *h, struct nc_buf *b)
{
	size_t i, k;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	nc_buf_adds(b, "# HELP novacron_host_health 1 for the health state each declared host is in "
		       "(ok, suspect, failed).\n# TYPE novacron_host_health gauge\n");
	for (i = 0; i < h->nhosts; i++)
		for (k = 0; k < 3; k++) {
			nc_buf_adds(b, "novacron_host_health{host=\"");
			nc_prom_label(b, h->hosts[i].name);
			nc_buf_addf(b, "\",state=\"%s\"} %d\n", nc_health_state_name((enum nc_health_state)k),
				    h->hosts[i].st == (enum nc_health_state)k);
		}
	nc_buf_adds(b, "# HELP novacron_host_transitions_total Host health transitions, by the state entered.\n"
		       "# TYPE novacron_host_transitions_total counter\n");
	for (k = 0; k < 3; k++)
		nc_buf_addf(b, "novacron_host_transitions_total{to=\"%s\"} %llu\n",
			    nc_health_state_name((enum nc_health_state)k), (unsigned long long)h->transitions[k]);
	nc_buf_addf(b, "# HELP novacron_partitioned 1 while every declared host is suspect or failed.\n"
		       "# TYPE novacron_partitioned gauge\nnovacron_partitioned %d\n", h->partitioned);
	nc_buf_addf(b, "# HELP novacron_fence_attempts_total Fence device runs.\n"
		       "# TYPE novacron_fence_attempts_total counter\nnovacron_fence_attempts_total %llu\n"
		       "# HELP novacron_fence_failures_total Fence device runs that failed or timed out.\n"
		       "# TYPE novacron_fence_failures_total counter\nnovacron_fence_failures_total %llu\n"
		       "# HELP novacron_recoveries_total VMs of failed hosts restarted elsewhere.\n"
		       "# TYPE novacron_recoveries_total counter\nnovacron_recoveries_total %llu\n",
		    (unsigned long long)h->fence_attempts, (unsigned long long)h->fence_failures,
		    (unsigned long long)h->recoveries);
	pthread_mutex_unlock(&h->mu);
}
