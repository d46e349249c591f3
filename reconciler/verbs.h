/*
 * verbs.h - the API's operational verbs (docs/api.md "Verbs"): what is not
 * desired state.  Each asks the loop through struct nc_web_hooks; none
 * waits for a pass.
 *   POST /api/v1/sync                        operator   fetch and reconcile now
 *   POST /api/v1/pause, /api/v1/resume       operator   hold or resume reconciliation
 *   POST /api/v1/plan/approve {"digest"}     operator   apply the pending plan (apply.mode approve)
 *   POST /api/v1/vms/NAME/backup             operator   back the VM up now
 *   POST /api/v1/vms/NAME/restore {"backup", "as"}      operator
 *   POST /api/v1/hosts/NAME/fence/confirm {"by"}        admin
 *
 * Two halves.  nc_verbs_handle() is the HTTP side: it routes, checks the
 * role, the body (json-c), the names from the URL (the spec's name rules)
 * and that the VM or host is in the revision in force and seen by the
 * caller's tenants (else 404), then calls a hook: 202 {"ok": true, ...},
 * or 409 with the hook's reason.  pause, resume, plan/approve and fence confirm act on the
 * whole cluster: a principal scoped to tenants gets 403.
 *
 * struct nc_verbs is the loop's side (cmd-serve.c): the hooks only set
 * flags and queue jobs under its lock, never blocking the HTTP thread; the
 * loop takes them on its next turn and carries them out in its own thread.
 */
#ifndef NC_VERBS_H
#define NC_VERBS_H

#include "web.h"

/* p is identified and passed the CSRF check; resp->code 0 when req is no verb.
 * A hook's -1 is answered 409 with its reason. */
void nc_verbs_handle(const struct nc_web_hooks *hooks, const struct nc_spec *spec, const struct nc_web_req *req,
		     const struct nc_principal *p, struct nc_web_resp *resp);

/* ---- the loop's side ---- */
#define NC_VERBS_PAUSED_FILE "paused"    /* STATE_DIR/paused: serve is paused (survives a restart) */
#define NC_VERBS_MAX_JOBS 16             /* backups, restores and fence confirmations waiting */

enum nc_verb_kind { NC_VERB_BACKUP, NC_VERB_RESTORE, NC_VERB_FENCE_CONFIRM };
struct nc_verb_job {
	enum nc_verb_kind kind;
	char vm[64];                     /* backup, restore */
	char backup[65];                 /* restore: the backup id (or a prefix) */
	char as[64];                     /* restore: the new name, "" none */
	char host[64];                   /* fence confirm */
	char by[200];                    /* fence confirm: who says it is off */
};

struct nc_verbs;
/* paused as STATE_DIR/paused says */
struct nc_verbs *nc_verbs_new(const char *state_dir);
void nc_verbs_free(struct nc_verbs *v);
/* a reload's stateDir: when it is another, paused as its file says (true when that changed the state) */
bool nc_verbs_set_state_dir(struct nc_verbs *v, const char *state_dir);
/* the hooks for nc_web_create (opaque: v) */
void nc_verbs_hooks(struct nc_verbs *v, struct nc_web_hooks *out);

/* apply.mode approve or not (at start and on each reload) */
void nc_verbs_set_approve_mode(struct nc_verbs *v, bool approve);
bool nc_verbs_paused(struct nc_verbs *v);
/* once after pause or resume asked for a change: the new state (*paused), written
 * to or removed from STATE_DIR/paused; -1 when that file could not be written (why) */
bool nc_verbs_take_pause(struct nc_verbs *v, bool *paused, int *file_rc, char *why, size_t n);
/* once after sync */
bool nc_verbs_take_sync(struct nc_verbs *v);
/* once after an approval: a pass is wanted */
bool nc_verbs_take_pass(struct nc_verbs *v);
/* the plan held for approval (its digest), NULL: none */
void nc_verbs_set_pending(struct nc_verbs *v, const char *digest);
/* copies the held digest into out (65 bytes); false when none */
bool nc_verbs_pending(struct nc_verbs *v, char out[65]);
/* Approval is one-shot: the approved digest is taken (forgotten) by the
 * pass that looks.  1: it equals digest (apply); -1: an approval for another
 * plan (copied into was); 0: none. */
int nc_verbs_take_approved(struct nc_verbs *v, const char *digest, char was[65]);
/* copies the approved digest not yet taken into out (65 bytes); false when none */
bool nc_verbs_approved(struct nc_verbs *v, char out[65]);
/* the next queued job, in order; false when none */
bool nc_verbs_take_job(struct nc_verbs *v, struct nc_verb_job *out);

/* ---- carrying the jobs out (the loop's thread) ---- */
struct nc_verbs_env {
	const struct nc_spec *spec;      /* the revision in force */
	const char *state_dir;
	const struct nc_list *connections;   /* the operator's (reconciler/connections.h) */
	unsigned timeout_ms;             /* per host */
	void (*log)(void *opaque, const char *msg);  /* each progress line and the result */
	void *opaque;
};
/* Backs the VM up with its BackupSchedule now, as a scheduled run does. */
int nc_verbs_backup(const struct nc_verbs_env *env, const char *vm, struct nc_err *err);
/* Restores as `novacron restore VM --backup ID [--as NEW]` does. */
int nc_verbs_restore(const struct nc_verbs_env *env, const char *vm, const char *backup, const char *as,
		     struct nc_err *err);
/* Records HOST as fenced by hand, as `novacron fence confirm HOST --by BY` does (no --force:
 * a host that can be read right now is refused). */
int nc_verbs_fence_confirm(const struct nc_verbs_env *env, const char *host, const char *by, struct nc_err *err);

#endif
