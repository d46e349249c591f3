/*
 * alerts.h - AlertRule evaluation (telemetry/alerts.c, docs/monitoring.md).
 *
 * Each round, every AlertRule of the spec in force is evaluated on every
 * object of its target that its selector matches (hosts by their labels,
 * VMs by their effective labels, pools by theirs):
 *   threshold  value OP limit, held for `for:` (0: at once) -> firing;
 *   anomaly    the Holt-Winters FAILURES archive flags the value (store.h).
 * An alert (rule, object) goes inactive -> pending -> firing -> resolved;
 * a gap (NAN: the host did not answer) keeps the state it had, so a
 * timeout never flaps an alert.  A rule removed from the spec resolves its
 * alerts.  Transitions are returned once each, for notifications.
 */
#ifndef NC_TM_ALERTS_H
#define NC_TM_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "store.h"
#include "telemetry.h"

enum nc_alert_state { NC_ALERT_INACTIVE, NC_ALERT_PENDING, NC_ALERT_FIRING, NC_ALERT_RESOLVED };
const char *nc_alert_state_name(enum nc_alert_state s);   /* "inactive", "pending", ... */

/* a transition to notify: firing or resolved */
struct nc_alert_event {
	char *rule;                  /* AlertRule name */
	char *severity;              /* "critical", "warning", "info" */
	enum nc_metric_target target;
	char *object;                /* object id */
	char *host;                  /* where it is (NULL for hosts and shared pools) */
	char *metric;
	enum nc_alert_state state;   /* NC_ALERT_FIRING or NC_ALERT_RESOLVED */
	double value;                /* the value that made it so (NAN for a removed rule) */
	char *summary;               /* the rule's template filled in */
	time_t since;                /* when it started firing */
	time_t at;                   /* this transition */
};
void nc_alert_events_release(struct nc_alert_event *ev, size_t n);

struct nc_alerts;
struct nc_alerts *nc_alerts_new(void);
void nc_alerts_free(struct nc_alerts *a);

/*
 * Evaluates every AlertRule of spec on round r; store (may be NULL: anomaly
 * rules then stay inactive) for Holt-Winters.  Appends the transitions of
 * this round to *ev / *nev (caller releases).  Returns how many rule x object
 * pairs were evaluated.
 */
size_t nc_alerts_eval(struct nc_alerts *a, const struct nc_spec *spec, const struct nc_tm_round *r,
		      struct nc_tm_store *store, struct nc_alert_event **ev, size_t *nev);

/*
 * Pending, firing and recently resolved alerts (kept nc_alerts_set_keep_resolved
 * seconds) as a JSON array (for /status "alerts"), sorted by rule, object:
 * {"rule", "state", "severity", "target", "object", "host" (or null),
 *  "metric", "value" (or null), "value_text", "active_since", "firing_since"
 *  (once it fired), "resolved_at" (once resolved), "summary"}.
 */
void nc_alerts_json(struct nc_alerts *a, struct nc_buf *out);
/* Prometheus: ALERTS{alertname,alertstate,severity,target,object,host} 1 per pending/firing
 * alert and novacron_alerts_firing / _pending gauges. */
void nc_alerts_metrics(struct nc_alerts *a, struct nc_buf *out);
/* counts now */
void nc_alerts_counts(struct nc_alerts *a, size_t *pending, size_t *firing);

/*
 * Seconds between rounds (serve's telemetry interval; default 15): an
 * anomaly rule's season is season / step rounds of Holt-Winters.
 */
void nc_alerts_set_step(struct nc_alerts *a, unsigned seconds);
/*
 * Which objects each rule selects is worked out once per spec (selectors
 * against labels), not per round.  nc_alerts_eval() notices a spec at
 * another address or of another shape by itself; call this when a new
 * revision is in force to be sure (a spec freed and loaded again may land
 * at the same address).
 */
void nc_alerts_spec_changed(struct nc_alerts *a);
/* A resolved alert stays in the JSON this long (seconds, default 900), then is dropped. */
void nc_alerts_set_keep_resolved(struct nc_alerts *a, unsigned seconds);
/*
 * Anomaly checks (nc_tm_anomaly) that failed in the last round (each was a
 * gap: the alert kept its state), with the first one's message in buf.
 */
size_t nc_alerts_errors(struct nc_alerts *a, char *buf, size_t len);
/*
 * A value as people read it, for its unit: a ratio as a percentage
 * ("93.5%"), bytes in IEC units ("7.5 GiB"), rates with "/s"; NAN as
 * "unknown".
 */
void nc_alert_format_value(char *buf, size_t len, enum nc_metric_unit u, double v);

#endif
