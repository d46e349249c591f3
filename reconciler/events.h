/*
 * events.h - serve's event ring (docs/api.md "Events"): what happened, in
 * order, with increasing ids; the newest NC_EVENTS_KEEP are kept in memory.
 * Read with GET /api/v1/events?since=ID or live as Server-Sent Events
 * (GET /api/v1/events/stream; Last-Event-ID resumes).  Each reader sees
 * the events of its tenants only.
 */
#ifndef NC_EVENTS_H
#define NC_EVENTS_H

#include "web.h"

#define NC_EVENTS_KEEP 1000
/* a stream with nothing new writes ": keepalive" this often */
#define NC_EVENTS_KEEPALIVE 5.0

/* who sees an event besides the tenant's principals */
enum nc_event_scope {
	NC_EV_TENANT,        /* principals who see its tenant (nc_principal_sees) */
	NC_EV_ALL,           /* every viewer (the cluster's own: passes, pause, plan) */
	NC_EV_ADMIN,         /* admins who see its tenant (audit entries) */
};

struct nc_events;
struct nc_events *nc_events_new(size_t keep);
void nc_events_free(struct nc_events *e);
/* called (outside any lock) after each new event: the web part wakes its streams */
void nc_events_set_wake(struct nc_events *e, void (*wake)(void *cls), void *cls);
/* a new event; object and tenant may be NULL; returns its id */
uint64_t nc_events_publish(struct nc_events *e, const char *type, const char *object, const char *tenant,
			   enum nc_event_scope scope, const char *fmt, ...) NC_PRINTF(6, 7);
/* the id of the newest event (0: none yet) */
uint64_t nc_events_last(struct nc_events *e);
/* {"items": [...]} the events after since that p sees, oldest first */
void nc_events_json(struct nc_events *e, const struct nc_principal *p, uint64_t since, struct nc_buf *out);
/* resp becomes a text/event-stream of the events after since that p sees */
void nc_events_stream(struct nc_events *e, const struct nc_principal *p, uint64_t since,
		      struct nc_web_resp *resp);

#endif
