/*
 * serve.h - `novacron serve`: the configuration, the shared status that the
 * HTTP endpoint reads, and the helpers of the loop (reconciler/cmd-serve.c).
 *
 * The loop: hold the lease (one acting instance per cluster), fetch the
 * source on an interval, on a webhook or when the directory changes,
 * validate the new revision (an invalid one is reported, the last good one
 * stays in force), and reconcile on every new revision and on a drift-check
 * interval, backing off with jitter after failures.  SIGTERM stops after the
 * action in progress; SIGHUP reloads the configuration.
 */
#ifndef NC_SERVE_H
#define NC_SERVE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "../drivers/lease/lease.h"
#include "../drivers/source/source.h"
#include "../spec/model.h"
#include "../spec/roots.h"
#include "pass.h"

/* ---- configuration (docs/operations.md) ---- */
#define NC_SERVE_CACHE_DIR "/var/lib/novacron/cache"    /* cacheDir by default */
#define NC_SERVE_STATE_DIR "/var/lib/novacron/sim"      /* stateDir by default */
struct nc_serve_git {
	struct nc_pos pos;
	struct nc_str url, ref, path, username, password_file, ssh_key_file, ssh_pubkey_file,
		known_hosts_file, allowed_signers;
	struct nc_int depth;
	struct nc_bool allow_rollback;   /* take commits that do not descend from the last applied */
};
struct nc_serve_source {
	struct nc_pos pos;
	struct nc_serve_git git;
	struct nc_str directory;
	struct nc_duration debounce;
};
struct nc_serve_rados {
	struct nc_pos pos;
	struct nc_str ceph_conf, pool, object, user;
};
struct nc_serve_lease {
	struct nc_pos pos;
	struct nc_str file;
	struct nc_serve_rados rados;
	struct nc_duration duration;
};
struct nc_serve_apply {
	struct nc_pos pos;
	struct nc_bool enabled;          /* default true; false = plan only */
	struct nc_bool prune;
	struct nc_int delete_threshold;
	struct nc_bool allow_mass_delete;
	struct nc_int max_migrations, max_migrations_per_host;
	struct nc_enum mode;             /* enum nc_apply_mode; default auto */
};
/* apply.mode: auto applies each plan; approve holds it until POST /api/v1/plan/approve names its digest */
enum nc_apply_mode { NC_APPLY_AUTO, NC_APPLY_APPROVE };
/* the payload a notify target gets (docs/monitoring.md "Notifications"); format: is the old name
 * of type: for the first three */
enum nc_notify_format { NC_NOTIFY_GENERIC, NC_NOTIFY_ALERTMANAGER, NC_NOTIFY_SLACK, NC_NOTIFY_MATTERMOST,
			NC_NOTIFY_TEAMS, NC_NOTIFY_GITHUB_STATUS, NC_NOTIFY_GITLAB_STATUS };
struct nc_serve_notify {
	struct nc_pos pos;
	struct nc_str url;               /* webhooks: where to POST; forges: the API (default the public one) */
	struct nc_strlist events;        /* failed, drift, applied, invalid, HA events, alert */
	struct nc_str token_file;
	struct nc_enum format;           /* enum nc_notify_format (the first three); default generic */
	struct nc_enum type;             /* enum nc_notify_format; wins over format */
	struct nc_str secret_file;       /* generic: HMAC-SHA256 key of X-NovaCron-Signature */
	struct nc_str token_env;         /* forges: the token from this environment variable */
	struct nc_str repository;        /* github-status: OWNER/REPO; gitlab-status: the project id or path */
	struct nc_str name;              /* forges: the status is novacron/NAME (default apply) */
	struct nc_str target_url;        /* forges: the status's link (optional) */
};
/* the type a target has: type:, else format:, else generic */
enum nc_notify_format nc_notify_type(const struct nc_serve_notify *n);
bool nc_notify_is_forge(const struct nc_serve_notify *n);
/* `ha:` failure detection and recovery (docs/ha.md); defaults in reconciler/health.h */
struct nc_serve_ha {
	struct nc_pos pos;
	struct nc_bool enabled;          /* default true */
	struct nc_duration check_interval;   /* probe every host this often (1s) */
	struct nc_int suspect_after;     /* missed checks in a row: ok -> suspect (2) */
	struct nc_duration failed_after; /* unreachable this long since the first miss: failed (10s) */
	struct nc_int recover_after;     /* good checks in a row: suspect -> ok (3) */
	struct nc_duration fence_timeout;    /* one fence device run (60s) */
	struct nc_duration fence_retry;  /* after a failed fence (10s) */
	struct nc_int max_recoveries;    /* restarts at once (4) */
};
/* `fencing:` the fence devices (trusted; drivers/fence/fence.h), named by Hosts' spec.fence */
struct nc_serve_fencing {
	struct nc_pos pos;
	struct nc_list devices;          /* struct nc_fence_device */
};
/* `telemetry:` the collection loop (docs/monitoring.md, reconciler/monitor.h) */
struct nc_serve_telemetry {
	struct nc_pos pos;
	struct nc_bool enabled;          /* default true */
	struct nc_duration interval;     /* one collection round (15s, >= 1s) */
	struct nc_str dir;               /* RRD files (default STATE_DIR/telemetry) */
	struct nc_str rrdcached;         /* "unix:/path" or "HOST:PORT"; none: files written directly */
	struct nc_duration host_timeout; /* per host stats call (default min(hostTimeout, interval)) */
	struct nc_size anomaly_disk_limit;   /* Holt-Winters files in all (default 16GiB, store.h) */
};
/* `tls:` the listener's certificate (docs/security.md); required outside loopback */
struct nc_serve_tls {
	struct nc_pos pos;
	struct nc_str cert_file, key_file;
};
/* `api.roles[]`: a role bound to tokens, OIDC users or groups, optionally scoped to tenants */
struct nc_serve_role {
	struct nc_pos pos;
	struct nc_enum role;             /* enum nc_role - 1: viewer, operator, admin */
	struct nc_strlist tokens, users, groups, tenants;
};
/* `api.oidc:` OpenID Connect login for people (reconciler/oidc.c) */
struct nc_serve_oidc {
	struct nc_pos pos;
	struct nc_str issuer, client_id, client_secret_file, redirect_url, groups_claim, ca_file;
	struct nc_strlist scopes;
	struct nc_strlist require_mfa;   /* roles whose sessions need the provider's amr to show MFA */
};
/* `api:` the operator API and dashboard (docs/api.md) */
struct nc_serve_api {
	struct nc_pos pos;
	struct nc_bool enabled;          /* default true */
	struct nc_enum anonymous;        /* role of requests without credentials: none (default) or viewer */
	struct nc_duration session_timeout;   /* default 12h */
	struct nc_list roles;            /* struct nc_serve_role */
	struct nc_serve_oidc oidc;
	struct nc_bool insecure_http;    /* allow plain HTTP outside loopback (default false) */
};
/* `webhooks:` push webhooks from git hosts (POST /webhook) */
struct nc_serve_webhooks {
	struct nc_pos pos;
	struct nc_str github_secret_file;    /* X-Hub-Signature-256 HMAC key */
	struct nc_str gitlab_token_file;     /* X-Gitlab-Token */
};
/* `tenancy:` (trusted) where Tenant objects may be declared (spec/tenant.h) */
struct nc_serve_tenancy {
	struct nc_pos pos;
	struct nc_strlist admin_paths;
};
/* `log:` serve's log lines (docs/operations.md "Logging"); --log-level / --log-format win */
struct nc_serve_logcfg {
	struct nc_pos pos;
	struct nc_enum level;            /* enum nc_log_level (not set: info) */
	struct nc_enum format;           /* enum nc_log_format: text (default) or json */
};
/* `federation:` another cluster's serve that `status --all` and GET /api/v1/federation read
 * (docs/federation.md; trusted: URLs never come from the spec) */
struct nc_serve_peer {
	struct nc_pos pos;
	struct nc_str cluster;           /* the Cluster it serves */
	struct nc_str url;               /* http(s)://HOST:PORT of its endpoint */
	struct nc_str token_file;        /* a viewer token for its API (optional) */
};
struct nc_serve_config {
	struct nc_pos pos;
	struct nc_serve_source source;
	struct nc_str cache_dir;
	struct nc_str state_dir;
	struct nc_duration interval;
	struct nc_duration drift_interval;
	struct nc_duration host_timeout;
	struct nc_str listen;            /* HOST:PORT, default 127.0.0.1:9090 */
	struct nc_str token_file;
	struct nc_serve_lease lease;
	struct nc_serve_apply apply;
	struct nc_list notify;           /* struct nc_serve_notify */
	struct nc_list connections;      /* struct nc_connection (reconciler/connections.h) */
	struct nc_paths_config paths;    /* roots the spec's local paths must stay in (spec/roots.h) */
	struct nc_serve_ha ha;
	struct nc_serve_fencing fencing;
	struct nc_serve_telemetry telemetry;
	struct nc_serve_tls tls;
	struct nc_serve_api api;
	struct nc_serve_webhooks webhooks;
	struct nc_serve_tenancy tenancy;
	struct nc_serve_logcfg log;
	struct nc_str cluster;           /* act on this Cluster of the spec only (clusters.h); --cluster wins */
	struct nc_list federation;       /* struct nc_serve_peer */
};

/* Loads and checks FILE; prints nothing; diagnostics into *diags. */
int nc_serve_config_load(struct nc_serve_config *out, struct nc_spec **holder, const char *path,
			 struct nc_diags *diags);
/* The same file without serve's own requirements (no source needed): what the
 * CLI reads for its connections (reconciler/connections.h). */
int nc_operator_config_load(struct nc_serve_config *out, struct nc_spec **holder, const char *path,
			    struct nc_diags *diags);
/* Checks the local paths of spec against the configuration's `paths:` roots
 * (defaults where it names none; config_path for messages): errors into
 * *diags at the spec's positions, -1 when a path is outside. */
int nc_serve_check_paths(const struct nc_serve_config *cfg, const char *config_path,
			 const struct nc_spec *spec, struct nc_diags *diags);

/* ---- status shared with the HTTP endpoint ---- */
struct nc_health;
struct nc_monitor;
struct nc_host_report {
	char *name, *uri;
	bool up;
	bool declared;                   /* false: recorded, no longer in the spec (hostrec.h) */
	char *error;
};
struct nc_serve_status {
	pthread_mutex_t mu;
	time_t started;
	bool leader;
	char *lease_holder;              /* description of the lease state */
	char *source;                    /* URL or path */
	char *applied_id, *applied_summary;   /* last revision reconciled */
	char *seen_id;                   /* newest revision fetched */
	char *invalid_id, *invalid_error;     /* newest revision refused, if any */
	char *last_result;               /* "ok", "failed", "invalid", "standby", "starting" */
	char *last_error;
	time_t last_pass;
	double last_pass_seconds;
	uint64_t passes_ok, passes_failed, fetch_failures;
	uint64_t backups_ok, backups_failed;  /* VM backups run by schedules */
	time_t last_backup;              /* when the last scheduled run ended */
	char *last_backup_error;
	size_t drift;                    /* drifted VMs in the last pass */
	size_t pending;                  /* actions left undone after the last pass */
	size_t vms_running, vms_stopped, vms_other;
	uint64_t actions[NC_ACT__COUNT][3];   /* kind x (done, failed, skipped) */
	struct nc_host_report *hosts;
	size_t nhosts;
	struct nc_health *health;        /* the failure detector (health.h); NULL: ha disabled */
	struct nc_monitor *monitor;      /* telemetry (monitor.h); NULL: telemetry disabled */
	bool paused;                     /* POST /api/v1/pause (verbs.h): planning, applying nothing */
	bool approve_mode;               /* apply.mode approve */
	char *plan_held;                 /* the digest of the plan held for approval, NULL: none */
	char *cluster;                   /* serve --cluster (or cluster:), NULL: every cluster */
};
void nc_serve_status_init(struct nc_serve_status *s);
void nc_serve_status_release(struct nc_serve_status *s);
void nc_serve_status_json(struct nc_serve_status *s, struct nc_buf *out);
void nc_serve_metrics(struct nc_serve_status *s, struct nc_buf *out);
/* a Prometheus label value: backslash, quote and newline escaped */
void nc_prom_label(struct nc_buf *b, const char *s);
/* replaces *slot with a copy of v (NULL allowed); call with s->mu held */
void nc_set_str(char **slot, const char *v);
/* as nc_set_str, with any credentials in URLs removed (nc_url_redact) */
void nc_set_str_redacted(char **slot, const char *v);
/*
 * One log line on standard error: "TIME novacron serve: MESSAGE\n", written
 * with one write so lines of several threads never interleave.  URLs in the
 * message lose their credentials (nc_url_redact).
 */
void nc_serve_log(const char *fmt, ...) NC_PRINTF(1, 2);
void nc_serve_vlog(const char *fmt, va_list ap) NC_PRINTF(1, 0);
/*
 * Levels and formats (docs/operations.md "Logging").  nc_serve_log is info.
 * A line below the configured level is not written.  Text: as above, with
 * "error: ", "warning: " or "debug: " before MESSAGE at those levels (not
 * twice).  JSON: one object per line, built with json-c:
 * {"time": RFC 3339 with ms, "level", "msg", "revision": SHA|null,
 *  "pass": N|null, and "vm", "host", "action" where the call gives them}.
 * revision and pass come from the current context (nc_log_context), which
 * the serve loop sets: any thread's line carries the pass in progress.
 */
enum nc_log_level { NC_LOG_ERROR, NC_LOG_WARN, NC_LOG_INFO, NC_LOG_DEBUG };
enum nc_log_format { NC_LOG_TEXT, NC_LOG_JSON };
struct nc_log_fields {
	const char *vm, *host, *action;  /* NULL: not said */
};
/* "error", "warn" (or "warning"), "info", "debug" -> the level, -1 for anything else */
int nc_log_level_parse(const char *s);
const char *nc_log_level_name(enum nc_log_level l);
void nc_log_configure(enum nc_log_level level, enum nc_log_format format);
bool nc_log_enabled(enum nc_log_level level);
/* the revision in force (NULL: none) and the pass in progress (0: none), thread-safe */
void nc_log_context(const char *revision, uint64_t pass);
void nc_serve_logl(enum nc_log_level level, const char *fmt, ...) NC_PRINTF(2, 3);
void nc_serve_logf(enum nc_log_level level, const struct nc_log_fields *f, const char *fmt, ...) NC_PRINTF(3, 4);
/* lines as they are (diagnostics: "file:line:col: error: ..."), each a JSON line of its own in JSON */
void nc_serve_log_block(enum nc_log_level level, const char *text);
void nc_serve_logv_at(enum nc_log_level level, const struct nc_log_fields *f, const char *fmt, va_list ap)
	NC_PRINTF(3, 0);
/*
 * Log lines about clients, rate-limited so a flood cannot flood the log: at
 * most burst lines per window seconds, the rest counted; when a window has
 * ended, one "PREFIX: suppressed N messagesWHAT in the last Ws" line.
 * Lines are cut at max_line bytes (0: not cut) and lose trailing newlines.
 */
struct nc_log_limit {
	pthread_mutex_t mu;
	const char *prefix, *what;
	unsigned burst;
	double window, start;            /* seconds; monotonic start of the window */
	size_t max_line;
	unsigned lines;
	unsigned long suppressed;
};
void nc_log_limit_init(struct nc_log_limit *l, const char *prefix, const char *what, unsigned burst,
		       double window, size_t max_line);
/* says what the last window suppressed ("PREFIX: suppressed N messagesWHAT") */
void nc_log_limit_destroy(struct nc_log_limit *l);
void nc_log_limited(struct nc_log_limit *l, const char *fmt, ...) NC_PRINTF(2, 3);
void nc_log_limitedv(struct nc_log_limit *l, const char *fmt, va_list ap) NC_PRINTF(2, 0);
/* the summary of a window that has ended, if any (a timer calls it between lines) */
void nc_log_limit_flush(struct nc_log_limit *l);

/* ---- HTTP endpoint (reconciler/http.c, libmicrohttpd) ---- */
struct nc_http;
struct nc_web;
/*
 * Serves /healthz, /status, /metrics (GET) and /webhook (POST, needs
 * "Authorization: Bearer TOKEN" when a token is configured, else refused).
 * A webhook calls trigger(opaque).  Slow or hostile clients cannot take it
 * down: epoll, a connection limit and a per-IP limit, an idle timeout, a
 * deadline for each request's headers and body, a bounded webhook body, and
 * its log lines rate-limited (limits in reconciler/http.c and
 * docs/operations.md).  Every other path goes to web (NULL: none) through
 * nc_web_handle(): bodies buffered up to 64 KiB, security headers added,
 * event streams suspended until nc_web_wake (docs/api.md).
 */
int nc_http_start(struct nc_http **out, const char *listen, const char *token,
		  const struct nc_serve_config *cfg, struct nc_serve_status *status,
		  void (*trigger)(void *opaque), void *opaque, struct nc_web *web, struct nc_err *err);
void nc_http_stop(struct nc_http *h);

/* ---- notifications (reconciler/notify.c, libcurl) ---- */
/*
 * An event to every configured webhook listening for it, in the background,
 * with up to 3 tries (again only after a transport error, a 5xx or a 429),
 * shaped by the target's type: generic JSON (format_version 1: event,
 * source, revision, pass, host, message, summary, details, time; signed with
 * X-NovaCron-Signature: sha256=HMAC when a secretFile is set), Slack or
 * Mattermost ({"text": ...}, escaped for each) or Teams (an Adaptive Card
 * for a Workflows webhook).  Forge targets take commit statuses only
 * (nc_notify_commit_status).  pass 0: the pass in progress (nc_log_context).
 */
struct json_object;
struct nc_notify_event {
	const char *event, *revision, *host, *message;
	uint64_t pass;
	struct json_object *details;     /* an object (borrowed), or NULL: {} */
};
void nc_notify_event(const struct nc_serve_config *cfg, const struct nc_notify_event *ev);
void nc_notify(const struct nc_serve_config *cfg, const char *event, const char *revision,
	       const char *message);
/* the same with "host": HOST (the HA events: host_suspect, host_failed, host_ok, fenced,
 * fence_failed; partitioned has no host) */
void nc_notify_host(const struct nc_serve_config *cfg, const char *event, const char *revision,
		    const char *host, const char *message);
/*
 * An alert's transition (firing or resolved; telemetry/alerts.h) to every
 * target listening for `alert`, once, shaped by the target's type:
 * generic (the JSON above with "event": "alert" and an "alert" object),
 * alertmanager (Alertmanager's webhook payload, version 4), slack,
 * mattermost or teams (one line: "[FIRING] severity rule: summary").
 */
struct nc_alert_event;
void nc_notify_alert(const struct nc_serve_config *cfg, const struct nc_alert_event *ev);
/*
 * A commit status for revision sha (hex, a git source's commit) to every
 * github-status and gitlab-status target: GitHub's POST
 * {url}/repos/OWNER/REPO/statuses/SHA {state, context, description,
 * target_url}, GitLab's POST {url}/projects/ID/statuses/SHA?state=...
 * (pending is "running", failure and error "failed").  description is cut
 * to 140 bytes; the token (tokenFile or tokenEnv) goes in a header only.
 */
enum nc_commit_state { NC_COMMIT_PENDING, NC_COMMIT_SUCCESS, NC_COMMIT_FAILURE, NC_COMMIT_ERROR };
void nc_notify_commit_status(const struct nc_serve_config *cfg, const char *sha, enum nc_commit_state state,
			     const char *description);
bool nc_notify_has_forge(const struct nc_serve_config *cfg);
/* the pass of the current log context (nc_log_context), 0: none */
uint64_t nc_log_pass(void);
/* waits for notifications in flight (at shutdown), up to timeout_ms */
void nc_notify_drain(unsigned timeout_ms);

#endif
