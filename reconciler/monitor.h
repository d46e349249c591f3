/*
 * monitor.h - serve's telemetry loop (docs/monitoring.md "Metrics",
 * reconciler/monitor.c).
 *
 * A thread of its own (as the failure detector, health.h), so a slow host
 * never holds the reconcile loop: every telemetry.interval it collects one
 * round from the hosts of the spec in force (nc_tm_collect: the hosts the
 * failure detector holds failed are not contacted), writes it to the RRD
 * history (nc_tm_store_write), evaluates the AlertRules (nc_alerts_eval)
 * and hands every transition to the alert callback (serve logs it and
 * sends it to the notify targets).  The last round is kept for /metrics:
 * rendered into Prometheus text once, by the monitor thread right after the
 * round when the round before was scraped, else by the first scrape; a
 * cluster nobody scrapes costs no rendering.
 *
 * Only the lease holder collects: a standby (the active callback answers
 * false) reads no host, writes no history and evaluates and sends no
 * alert, so two instances never notify twice; its /metrics then has no
 * cluster series and its alerts start over when it takes the lease.
 *
 * The spec in force is shared with the reconcile loop through a reference
 * count (nc_spec_ref): a new revision never waits for a round in progress.
 */
#ifndef NC_MONITOR_H
#define NC_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "../spec/model.h"
#include "../telemetry/alerts.h"
#include "../telemetry/telemetry.h"

/* a spec shared between threads: freed with its last reference */
struct nc_spec_ref;
struct nc_spec_ref *nc_spec_ref_new(struct nc_spec *spec);     /* takes spec; NULL -> NULL */
struct nc_spec_ref *nc_spec_ref_get(struct nc_spec_ref *r);    /* NULL allowed */
void nc_spec_ref_put(struct nc_spec_ref *r);                   /* NULL allowed */
const struct nc_spec *nc_spec_ref_spec(const struct nc_spec_ref *r);

/* the defaults of serve.yaml's telemetry: (docs/operations.md) */
#define NC_TM_INTERVAL_MS 15000

struct nc_health;
struct nc_monitor_opts {
	unsigned interval_ms;            /* a round this often */
	unsigned timeout_ms;             /* per host stats call */
	const char *state_dir;           /* sim:/// hosts (copied) */
	const char *dir;                 /* the RRD files (copied); NULL: no history */
	const char *rrdcached;           /* NULL: write the files (copied) */
	unsigned long long anomaly_disk_limit;   /* bytes; 0: the store's default (16 GiB) */
	const struct nc_list *connections;   /* the operator's; must outlive the monitor */
	struct nc_health *health;        /* failed hosts are not contacted; NULL: none */
	/* may this instance collect: > 0 yes (it holds the lease), 0 no (standby: states
	 * dropped), < 0 not known yet (no round, states kept).  NULL: always */
	int (*active)(void *opaque);
	/* an alert fired or resolved: called on the monitor's thread */
	void (*alert)(void *opaque, const struct nc_alert_event *ev);
	/* a problem worth a log line (store errors, once per distinct message) */
	void (*log)(void *opaque, const char *msg);
	void *opaque;
	bool no_thread;                  /* rounds only through nc_monitor_round (serve --once) */
	/* alert states to go on from (taken over; from nc_monitor_stop_keep_alerts: a reload
	 * neither fires again nor forgets what fires); NULL: start afresh */
	struct nc_alerts *alerts;
};
struct nc_monitor;
int nc_monitor_start(struct nc_monitor **out, const struct nc_monitor_opts *o, struct nc_err *err);
/* stops the thread (a round in progress ends first: at most one host timeout) and frees */
void nc_monitor_stop(struct nc_monitor *m);
/* the same, handing the alert states to the caller (for the next monitor's opts.alerts) */
struct nc_alerts *nc_monitor_stop_keep_alerts(struct nc_monitor *m);
/* the spec in force (a reference is taken; NULL: collect nothing) */
void nc_monitor_set_spec(struct nc_monitor *m, struct nc_spec_ref *spec);
/* one round now on the caller's thread (serve --once, tests): 0, -1 when there is no spec */
int nc_monitor_round(struct nc_monitor *m);

/* /status: "telemetry": {...}, "alerts": [...] (two members, no braces around); m NULL: disabled */
void nc_monitor_json(struct nc_monitor *m, struct nc_buf *b);
/* /metrics: the loop's own series, the last round's cluster series, ALERTS */
void nc_monitor_metrics(struct nc_monitor *m, struct nc_buf *b);

/*
 * The Prometheus text of one round (docs/monitoring.md "Metrics"): raw
 * counters from r->raw in base units (`_total`), gauges from the derived
 * values, HELP and TYPE lines, families sorted by name, series in the
 * round's order; a NAN value has no series (a gap).  spec (may be NULL)
 * names the NICs of its VMs.
 */
void nc_tm_round_prometheus(const struct nc_tm_round *r, const struct nc_spec *spec, struct nc_buf *out);

#endif
