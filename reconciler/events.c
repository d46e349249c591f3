/*
 * events.c - the event ring and its Server-Sent Events streams (events.h).
 */
#include "events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct event {
	uint64_t id;
	char *tenant;
	enum nc_event_scope scope;
	char *type;
	char *json;              /* the whole object */
};

struct nc_events {
	pthread_mutex_t mu;
	struct event *ring;
	size_t keep, n, head;    /* head: the oldest */
	uint64_t next_id;
	pthread_mutex_t wake_mu;         /* held while wake runs: set_wake waits for it */
	void (*wake)(void *cls);
	void *wake_cls;
};

struct nc_events *nc_events_new(size_t keep)
{
	struct nc_events *e = nc_xcalloc(1, sizeof(*e));

	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->wake_mu, NULL);
	e->keep = keep ? keep : NC_EVENTS_KEEP;
	e->ring = nc_xcalloc(e->keep, sizeof(*e->ring));
	/* ids go on across restarts: a dashboard resuming with the Last-Event-ID of the serve before
	 * must not wait for this one to count up to it (wall-clock milliseconds x 1000: a run would
	 * need a million events a second to overlap the next; below 2^53 for JavaScript) */
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		e->next_id = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) * 1000 + 1;
	}
	return e;
}

static void event_release(struct event *ev)
{
	free(ev->tenant);
	free(ev->type);
	free(ev->json);
	memset(ev, 0, sizeof(*ev));
}

void nc_events_free(struct nc_events *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->keep; i++)
		event_release(&e->ring[i]);
	free(e->ring);
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->wake_mu);
	free(e);
}

void nc_events_set_wake(struct nc_events *e, void (*wake)(void *cls), void *cls)
{
	pthread_mutex_lock(&e->wake_mu);
	e->wake = wake;
	e->wake_cls = cls;
	pthread_mutex_unlock(&e->wake_mu);
}

uint64_t nc_events_publish(struct nc_events *e, const char *type, const char *object, const char *tenant,
			   enum nc_event_scope scope, const char *fmt, ...)
{
	struct nc_buf msg = NC_BUF_INIT, j = NC_BUF_INIT;
	struct event *ev;
	char ts[32];
	time_t now = time(NULL);
	va_list ap;
	uint64_t id;

	if (!e)
		return 0;
	va_start(ap, fmt);
	nc_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	nc_time_iso(ts, sizeof(ts), now);
	pthread_mutex_lock(&e->mu);
	id = e->next_id++;
	nc_buf_addf(&j, "{\"id\": %llu, \"time\": \"%s\", \"type\": ", (unsigned long long)id, ts);
	nc_web_json_str(&j, type);
	nc_buf_adds(&j, ", \"object\": ");
	if (object)
		nc_web_json_str(&j, object);
	else
		nc_buf_adds(&j, "null");
	nc_buf_adds(&j, ", \"tenant\": ");
	if (tenant)
		nc_web_json_str(&j, tenant);
	else
		nc_buf_adds(&j, "null");
	nc_buf_adds(&j, ", \"message\": ");
	nc_web_json_str(&j, msg.buf ? msg.buf : "");
	nc_buf_adds(&j, "}");
	if (e->n == e->keep) {
		ev = &e->ring[e->head];
		event_release(ev);
		e->head = (e->head + 1) % e->keep;
		e->n--;
	}
	ev = &e->ring[(e->head + e->n) % e->keep];
	e->n++;
	ev->id = id;
	ev->tenant = tenant ? nc_xstrdup(tenant) : NULL;
	ev->scope = scope;
	ev->type = nc_xstrdup(type);
	ev->json = nc_buf_detach(&j, NULL);
	pthread_mutex_unlock(&e->mu);
	nc_buf_release(&msg);
	pthread_mutex_lock(&e->wake_mu);
	if (e->wake)
		e->wake(e->wake_cls);
	pthread_mutex_unlock(&e->wake_mu);
	return id;
}

uint64_t nc_events_last(struct nc_events *e)
{
	uint64_t id;

	pthread_mutex_lock(&e->mu);
	id = e->next_id - 1;
	pthread_mutex_unlock(&e->mu);
	return id;
}

static bool visible(const struct event *ev, const struct nc_principal *p)
{
	if (!nc_principal_can(p, NC_ROLE_VIEWER))
		return false;
	switch (ev->scope) {
	case NC_EV_ALL:
		return true;
	case NC_EV_ADMIN:
		return nc_principal_can(p, NC_ROLE_ADMIN) && (p->all_tenants || nc_principal_sees(p, ev->tenant));
	default:
		return nc_principal_sees(p, ev->tenant);
	}
}

/* the index in the ring of the first event after since; call with mu held */
static size_t first_after(const struct nc_events *e, uint64_t since)
{
	size_t lo = 0, hi = e->n;

	/* ids increase along the ring */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (e->ring[(e->head + mid) % e->keep].id <= since)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void nc_events_json(struct nc_events *e, const struct nc_principal *p, uint64_t since, struct nc_buf *out)
{
	size_t i;
	bool first = true;

	nc_buf_adds(out, "{\"items\": [");
	pthread_mutex_lock(&e->mu);
	for (i = first_after(e, since); i < e->n; i++) {
		const struct event *ev = &e->ring[(e->head + i) % e->keep];

		if (!visible(ev, p))
			continue;
		nc_buf_adds(out, first ? "\n  " : ",\n  ");
		nc_buf_adds(out, ev->json);
		first = false;
	}
	pthread_mutex_unlock(&e->mu);
	nc_buf_adds(out, first ? "]}\n" : "\n]}\n");
}

/* ---- streams ---- */
struct stream {
	struct nc_events *e;
	struct nc_principal p;
	uint64_t last;
	struct nc_buf out;       /* what is still to be written */
	size_t off;
	double last_write;
};

static double mono_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static ssize_t stream_read(void *cls, char *buf, size_t max)
{
	struct stream *st = cls;
	struct nc_events *e = st->e;
	size_t i, n;

	if (st->off >= st->out.len) {
		nc_buf_reset(&st->out);
		st->off = 0;
		pthread_mutex_lock(&e->mu);
		for (i = first_after(e, st->last); i < e->n && st->out.len < 65536; i++) {
			const struct event *ev = &e->ring[(e->head + i) % e->keep];

			st->last = ev->id;
			if (!visible(ev, &st->p))
				continue;
			nc_buf_addf(&st->out, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)ev->id,
				    ev->type, ev->json);
		}
		pthread_mutex_unlock(&e->mu);
		if (!st->out.len && mono_now() - st->last_write >= NC_EVENTS_KEEPALIVE)
			nc_buf_adds(&st->out, ": keepalive\n\n");
		if (!st->out.len)
			return 0;
	}
	n = st->out.len - st->off;
	if (n > max)
		n = max;
	memcpy(buf, st->out.buf + st->off, n);
	st->off += n;
	st->last_write = mono_now();
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	nc_buf_release(&st->out);
	free(st);
}

void nc_events_stream(struct nc_events *e, const struct nc_principal *p, uint64_t since,
		      struct nc_web_resp *resp)
{
	struct stream *st = nc_xcalloc(1, sizeof(*st));

	st->e = e;
	st->p = *p;
	st->last = since;
	st->last_write = mono_now();
	/* the client knows at once that the stream is open, and how soon to come back */
	nc_buf_adds(&st->out, ": novacron events\nretry: 3000\n\n");
	resp->code = 200;
	resp->type = "text/event-stream";
	resp->stream_read = stream_read;
	resp->stream_free = stream_free;
	resp->stream_cls = st;
}
