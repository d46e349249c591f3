/*
 * api.h - the read side of serve's API (docs/api.md): GET /api/v1/...
 * answered from an immutable, refcounted snapshot that the loop publishes
 * after each pass (hosts, VMs desired vs observed, drift, placement, the
 * plan and its digest, the revision), the ring of the last passes, the
 * alerts the monitor reported, the backups per VM (read in the background,
 * never per request), the event ring (events.h) and the audit log
 * (audit.h).  A request takes the current snapshot under a short lock and
 * never waits for a pass.  Per-VM JSON is rendered once per pass.
 */
#ifndef NC_API_H
#define NC_API_H

#include "audit.h"
#include "events.h"
#include "pass.h"
#include "web.h"

struct nc_spec_ref;
struct nc_health;
struct nc_alert_event;
struct nc_api;

#define NC_API_PASSES 100        /* GET /api/v1/passes keeps the last ones */

int nc_api_create(struct nc_api **out, const char *state_dir, struct nc_err *err);
void nc_api_destroy(struct nc_api *a);
struct nc_events *nc_api_events(struct nc_api *a);
struct nc_audit *nc_api_audit(struct nc_api *a);

/* what a pass did, beside the plan (cmd-serve.c's run_pass) */
struct nc_api_pass {
	const char *revision, *summary;  /* the revision in force */
	time_t time;                     /* when it ended */
	double seconds;
	const char *result;              /* "ok", "failed" */
	const char *error;               /* NULL when none */
	size_t actions;                  /* in the pass's plan */
	size_t drift;                    /* of them, drift repaired */
	bool applied;                    /* the plan was applied (r counts its actions) */
	const struct nc_apply_result *r; /* NULL: nothing applied */
	int mode;                        /* enum nc_apply_mode */
	bool approved;                   /* mode approve: this plan's digest was approved */
	bool paused;
};
/* a pass starts (an event) */
void nc_api_pass_started(struct nc_api *a, const char *revision);
/*
 * After a pass: a new snapshot from the spec in force (a reference is
 * taken), what was observed and the plan (after a pass that changed the
 * cluster: observed again and planned again, what is left); health (NULL: ha disabled) gives
 * each host's state.  Events: pass_finished, and plan when mode approve
 * holds a plan with a new digest.
 */
void nc_api_publish(struct nc_api *a, struct nc_spec_ref *spec, const struct nc_cluster *cl,
		    const struct nc_plan *p, struct nc_health *health, const struct nc_api_pass *pass);
/* "drift" events: the VMs whose actions in p repair drift (before apply) */
void nc_api_drift(struct nc_api *a, const struct nc_plan *p);
/* an apply progress line (an "action" event; its VM found in the plan when it names one) */
void nc_api_progress(struct nc_api *a, const struct nc_plan *p, const char *line);
/* an alert fired or resolved (GET /api/v1/alerts and an "alert" event) */
void nc_api_alert(struct nc_api *a, const struct nc_alert_event *ev);
/* reconciliation paused or resumed (a "paused" event; /api/v1/cluster reads /status's paused),
 * and the approval state of the plan shown (verbs) */
void nc_api_set_paused(struct nc_api *a, bool paused, const char *who);
void nc_api_set_approved(struct nc_api *a, const char *digest);
/* the spec of the current snapshot (a reference: nc_spec_ref_put it), NULL before the first pass */
struct nc_spec_ref *nc_api_spec(struct nc_api *a);
/* whether p sees the VM (404 otherwise): it exists in the snapshot and p sees its tenant */
bool nc_api_vm_visible(struct nc_api *a, const struct nc_principal *p, const char *vm);
/* whether the snapshot has the host (hosts are every viewer's to see) */
bool nc_api_host_exists(struct nc_api *a, const char *host);

/* what /status says that GET /api/v1/cluster shows too */
struct nc_api_facts {
	bool leader, paused, approve_mode;
	const char *invalid_id, *invalid_error;   /* the newest revision refused, NULL: none */
};
/* GET /api/v1/...: p is identified (role viewer at least); resp->code 0 when not one of them */
void nc_api_handle(struct nc_api *a, const struct nc_web_req *req, const struct nc_principal *p,
		   const struct nc_api_facts *f, struct nc_web_resp *resp);

#endif
