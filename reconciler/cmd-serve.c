/*
 * cmd-serve.c - `novacron serve --config FILE [--once]`: the GitOps loop.
 *
 * Each turn: hold the lease or stand by; fetch the source when the interval
 * is up, a webhook asked, or the watched directory changed; validate a new
 * revision (an invalid one is reported and the last good one stays in
 * force); reconcile on every new good revision and on the drift interval.
 * A failed pass or fetch backs off exponentially (1 s doubling to 5 min)
 * with jitter.  SIGTERM/SIGINT: finish the action in progress, start no
 * other, exit 0.  SIGHUP: reload the configuration (a bad one is reported
 * and the old one kept).  --once: one fetch and pass, then exit (0 ok, 1 not).
 * --check: validate the configuration and exit.
 * Log lines go to standard error.
 */
#include "api.h"
#include "backups.h"
#include "snapshots.h"
#include "connections.h"
#include "fencing.h"
#include "hostrec.h"
#include "ha.h"
#include "health.h"
#include "monitor.h"
#include "pass-cli.h"
#include "serve.h"
#include "verbs.h"
#include "clusters.h"
#include "../spec/tenant.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag, hup_flag;
static volatile int cancel_flag;
static pthread_mutex_t trig_mu = PTHREAD_MUTEX_INITIALIZER;
static bool triggered;

static void on_signal(int sig)
{
	if (sig == SIGHUP) {
		hup_flag = 1;
	} else {
		stop_flag = 1;
		cancel_flag = 1;
	}
}

static void on_webhook(void *opaque)
{
	(void)opaque;
	pthread_mutex_lock(&trig_mu);
	triggered = true;
	pthread_mutex_unlock(&trig_mu);
}

static bool take_trigger(void)
{
	bool t;

	pthread_mutex_lock(&trig_mu);
	t = triggered;
	triggered = false;
	pthread_mutex_unlock(&trig_mu);
	return t;
}

/* one line, credentials in URLs removed (reconciler/status.c): info, error, warn, debug */
#define logf_(...) nc_serve_logl(NC_LOG_INFO, __VA_ARGS__)
#define loge_(...) nc_serve_logl(NC_LOG_ERROR, __VA_ARGS__)
#define logw_(...) nc_serve_logl(NC_LOG_WARN, __VA_ARGS__)
#define logd_(...) nc_serve_logl(NC_LOG_DEBUG, __VA_ARGS__)

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct server {
	const char *config_path;
	const char *cluster_flag;        /* --cluster NAME */
	struct nc_serve_config cfg;
	struct nc_spec *cfg_holder;
	const struct nc_source_driver *sdrv;
	struct nc_source *src;
	const struct nc_lease_driver *ldrv;
	struct nc_lease *lease;
	struct nc_http *http;
	struct nc_web *web;              /* the operator API and dashboard (web.h); NULL: api.enabled false */
	struct nc_api *api;              /* its snapshot, events, audit log: kept across reloads (api.h) */
	struct nc_serve_status st;
	char *cache_dir, *state_dir;
	/* the revision in force */
	struct nc_revision good;
	struct nc_spec *good_spec;
	unsigned failures;
	time_t backups_checked;          /* schedules due after this (wall clock) run next */
	time_t snapshots_checked;        /* VMs' snapshotSchedules, the same way (snapshots.h) */
	/* the lease thread: renews (and re-checks) the lease every 250 ms, also during a pass */
	pthread_t lease_thread;
	bool lease_thread_on;
	atomic_int lease_stop;
	atomic_int leader_state;         /* try_acquire's last answer: 1, 0, -1; -2 before the first */
	struct nc_health *health;        /* the failure detector (health.h); NULL: ha.enabled false */
	struct nc_monitor *monitor;      /* telemetry (monitor.h); NULL: telemetry.enabled false */
	struct nc_spec_ref *good_ref;    /* good_spec, shared with the monitor */
	char refused_id[160];            /* the last revision found invalid: not checked again until a reload */
	struct nc_alerts *kept_alerts;   /* the alert states across a reload (monitor.h) */
	bool once;                       /* --once: the monitor runs one round after the pass, no thread */
	/* fencing (fencing.h): per failed host, whether it is fenced and when to try again */
	struct fence_state {
		char *host;
		int result;              /* the last nc_fence_host answer; 2: not tried yet; 3: read by the pass, not fenced */
		double next;             /* monotonic: not before */
		bool back;               /* answering again: a pass was asked for, to clean it up */
	} *fences;
	size_t nfences;
	struct stat ha_seen;             /* ha.json as last looked at: a change (fence confirm) triggers a pass */
	/* the API's verbs (verbs.h): the hooks queue, the loop carries out */
	struct nc_verbs *verbs;
	struct nc_web_hooks hooks;       /* for nc_web_create */
	char held[65];                   /* the digest of the plan held for approval, as last said */
	uint64_t pass_seq;               /* passes run: the log's and notifications' "pass" */
	char status_sha[160];            /* the last commit status posted (forges): for which revision */
	int status_state;                /* and its enum nc_commit_state */
	int log_level_flag, log_format_flag;   /* --log-level, --log-format (-1: not given) */
};

#define NC_LEASE_RENEW_MS 250

/*
 * Renews the lease and publishes the answer: /status, and leader_state for
 * the loop.  Losing the lease sets cancel_flag, so a pass in progress starts
 * no new action (apply checks it before each one).  Transitions are logged.
 */
static void *lease_loop(void *arg)
{
	struct server *s = arg;
	int prev = -2;

	while (!atomic_load(&s->lease_stop)) {
		struct nc_err err = { "" };
		char *holder = NULL;
		int r = s->ldrv->try_acquire(s->lease, &holder, &err);
		unsigned slept;

		pthread_mutex_lock(&s->st.mu);
		s->st.leader = r == 1;
		if (r == 1) {
			nc_set_str(&s->st.lease_holder, "held by this instance");
		} else if (r == 0) {
			char *h = nc_xasprintf("held by %s", holder ? holder : "another instance");

			nc_set_str(&s->st.lease_holder, h);
			nc_set_str(&s->st.last_result, "standby");
			free(h);
		} else {
			nc_set_str(&s->st.lease_holder, err.msg);
		}
		pthread_mutex_unlock(&s->st.mu);
		atomic_store(&s->leader_state, r);
		if (r == 1 && atomic_load(&s->lease_stop))
			break;      /* taken while stopping: closing the lease gives it back at once */
		if (r != 1) {
			atomic_thread_fence(memory_order_seq_cst);
			cancel_flag = 1;
		}
		if (r == 1 && prev != 1)
			logf_("lease acquired: this instance acts");
		else if (r != 1 && prev == 1)
			logw_("lease lost (%s): starting no new action, standing by",
			      r < 0 ? err.msg : holder ? holder : "held by another instance");
		else if (r < 0 && prev != -1)
			logw_("lease: %s", err.msg);
		prev = r;
		free(holder);
		for (slept = 0; slept < NC_LEASE_RENEW_MS && !atomic_load(&s->lease_stop); slept += 50)
			usleep(50000);
	}
	return NULL;
}

/* re-checked before acting: the lease thread's last answer, at most 250 ms old */
static bool leading(struct server *s)
{
	return atomic_load(&s->leader_state) == 1;
}

/*
 * A webhook token shorter than this, or holding blanks or control
 * characters, is refused at startup: an empty file must not mean an empty
 * password.
 */
#define NC_TOKEN_MIN 16

static int read_token(char **out, const char *path)
{
	char *token = NULL;
	size_t len, i;
	unsigned mode;

	if (nc_secret_check(path, &mode) == NC_SECRET_MODE_BAD) {
		char *m = nc_secret_msg("tokenFile", path, mode);

		loge_("%s; refusing to start", m);
		free(m);
		return -1;
	}
	if (nc_read_file(path, 4096, &token, &len) < 0) {
		loge_("cannot read tokenFile %s: %s", path, errno ? strerror(errno) : "larger than 4 KiB");
		return -1;
	}
	while (len && (token[len - 1] == '\n' || token[len - 1] == '\r'))
		token[--len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)token[i] <= ' ' || token[i] == 0x7f)
			break;
	if (i < len || strlen(token) != len) {
		loge_("tokenFile %s: the token holds blanks or control characters; refusing to start", path);
		free(token);
		return -1;
	}
	if (len < NC_TOKEN_MIN) {
		loge_("tokenFile %s: the token is %s (%zu bytes); it needs at least %d characters "
		      "(e.g. openssl rand -hex 32 > %s); refusing to start", path, len ? "too short" : "empty",
		      len, NC_TOKEN_MIN, path);
		free(token);
		return -1;
	}
	*out = token;
	return 0;
}

static const char *or_default(const struct nc_str *s, const char *d)
{
	return NC_IS_SET(*s) ? s->v : d;
}

/*
 * A commit status for revision id to the forge targets (github-status,
 * gitlab-status): git sources only (the id is the commit), once per
 * (revision, state), so a drift pass that changes nothing says nothing.
 */
static void forge_status(struct server *s, const char *id, enum nc_commit_state st, const char *description)
{
	if (!NC_IS_SET(s->cfg.source.git) || !nc_notify_has_forge(&s->cfg) || !id || !*id)
		return;
	if (strcmp(s->status_sha, id) == 0 && s->status_state == (int)st)
		return;
	snprintf(s->status_sha, sizeof(s->status_sha), "%s", id);
	s->status_state = (int)st;
	nc_notify_commit_status(&s->cfg, id, st, description);
}

static bool ha_enabled(const struct nc_serve_config *c)
{
	return !NC_IS_SET(c->ha.enabled) || c->ha.enabled.v;
}

/* a transition of the failure detector: to the webhooks (the monitor logged it) */
static void on_health_event(void *opaque, const char *event, const char *host, const char *message)
{
	struct server *s = opaque;

	nc_notify_host(&s->cfg, event, NULL, host, message);
}

/* a failed host may be ok again once the HA record no longer lists it (nc_ha_commit) */
static bool health_may_clear(void *opaque, const char *host)
{
	struct server *s = opaque;
	struct nc_ha_record rec;
	struct nc_err err = { "" };
	bool clear;

	if (nc_ha_load(&rec, s->state_dir, &err) < 0)
		return false;
	clear = nc_ha_find(&rec, host) == NULL;
	nc_ha_release(&rec);
	return clear;
}

/* the Cluster this instance acts on (docs/federation.md): --cluster, else cluster:, else NULL (all) */
static const char *serve_cluster(const struct server *s)
{
	return s->cluster_flag ? s->cluster_flag : NC_IS_SET(s->cfg.cluster) ? s->cfg.cluster.v : NULL;
}

/* a host of the cluster this instance acts on (every host without --cluster) */
static bool own_host(const struct server *s, const struct nc_host *h)
{
	return !serve_cluster(s) || !s->good_spec || nc_clusters_of(s->good_spec, &h->obj, serve_cluster(s));
}

/* the monitor probes hosts at the URIs the operator's connections give; a refused URI is
 * not probed (the pass reports the host; nothing fences it) */
static void watch_hosts(struct server *s, const struct nc_host *const *hosts, size_t nh)
{
	const char **names = nc_xcalloc(nh + 1, sizeof(*names));
	char **uris = nc_xcalloc(nh + 1, sizeof(*uris));
	size_t i, n = 0;

	for (i = 0; i < nh; i++) {
		struct nc_err err = { "" };

		uris[n] = nc_connection_uri(hosts[i], &s->cfg.connections, false, &err);
		if (uris[n])
			names[n++] = hosts[i]->obj.meta.name.v;
	}
	nc_health_set_hosts(s->health, names, (const char *const *)uris, n);
	for (i = 0; i < n; i++)
		free(uris[i]);
	free(uris);
	free(names);
}

/* the declared hosts of the revision in force */
static void health_hosts(struct server *s)
{
	const struct nc_host **own;
	size_t i, n = 0;

	if (!s->health || !s->good_spec)
		return;
	/* serve --cluster: only its cluster's hosts are watched, and so fenced (docs/federation.md) */
	own = nc_xcalloc(s->good_spec->nobjs[NC_KIND_HOST] + 1, sizeof(*own));
	for (i = 0; i < s->good_spec->nobjs[NC_KIND_HOST]; i++) {
		const struct nc_host *h = (const struct nc_host *)s->good_spec->objs[NC_KIND_HOST][i];

		if (own_host(s, h))
			own[n++] = h;
	}
	watch_hosts(s, own, n);
	free(own);
}

/*
 * A standby has no spec (it fetches nothing): it watches the hosts the
 * leader recorded in STATE_DIR/hosts.json (hostrec.h; a shared stateDir).
 */
static void health_hosts_recorded(struct server *s)
{
	struct nc_hostrec rec = { 0 };
	struct nc_err err = { "" };
	struct nc_host *fake;
	const struct nc_host **hosts;
	size_t i;

	if (nc_hostrec_load(&rec, s->state_dir, &err) < 0)
		return;
	fake = nc_xcalloc(rec.nhosts + 1, sizeof(*fake));
	hosts = nc_xcalloc(rec.nhosts + 1, sizeof(*hosts));
	for (i = 0; i < rec.nhosts; i++) {
		fake[i].obj.meta.name.v = rec.hosts[i].name;
		fake[i].spec.uri.v = rec.hosts[i].uri;
		hosts[i] = &fake[i];
	}
	watch_hosts(s, hosts, rec.nhosts);
	free(hosts);
	free(fake);
	nc_hostrec_release(&rec);
}

static int start_health(struct server *s)
{
	const struct nc_serve_ha *ha = &s->cfg.ha;
	struct nc_health_opts ho;
	struct nc_err err = { "" };

	if (!ha_enabled(&s->cfg)) {
		logf_("ha: disabled (ha.enabled: false): no failure detection, fencing or recovery");
		return 0;
	}
	memset(&ho, 0, sizeof(ho));
	ho.interval_ms = NC_IS_SET(ha->check_interval) ? (unsigned)ha->check_interval.ms : NC_HA_CHECK_INTERVAL_MS;
	ho.suspect_after = NC_IS_SET(ha->suspect_after) ? (unsigned)ha->suspect_after.v : NC_HA_SUSPECT_AFTER;
	ho.failed_after_ms = NC_IS_SET(ha->failed_after) ? (unsigned)ha->failed_after.ms : NC_HA_FAILED_AFTER_MS;
	ho.recover_after = NC_IS_SET(ha->recover_after) ? (unsigned)ha->recover_after.v : NC_HA_RECOVER_AFTER;
	ho.state_dir = s->state_dir;
	ho.event = on_health_event;
	ho.may_clear = health_may_clear;
	ho.opaque = s;
	if (nc_health_start(&s->health, &ho, &err) < 0) {
		loge_("%s", err.msg);
		return -1;
	}
	logf_("ha: checking every host every %u ms; suspect after %u missed checks, failed %u ms after the first, "
	      "ok again after %u good checks", ho.interval_ms, ho.suspect_after, ho.failed_after_ms, ho.recover_after);
	pthread_mutex_lock(&s->st.mu);
	s->st.health = s->health;
	pthread_mutex_unlock(&s->st.mu);
	health_hosts(s);
	return 0;
}

/* before the configuration it reads (webhooks) is replaced */
static void stop_health(struct server *s)
{
	if (!s->health)
		return;
	pthread_mutex_lock(&s->st.mu);
	s->st.health = NULL;
	pthread_mutex_unlock(&s->st.mu);
	nc_health_stop(s->health);
	s->health = NULL;
}

/* telemetry collects only while this instance holds the lease (monitor.h) */
static int monitor_active(void *opaque)
{
	struct server *s = opaque;
	int l = atomic_load(&s->leader_state);

	return l == 1 ? 1 : l == -2 ? -1 : 0;    /* -2: the lease thread's first answer is still to come */
}

static void on_monitor_log(void *opaque, const char *msg)
{
	(void)opaque;
	logf_("%s", msg);
}

/* an alert fired or resolved: a log line and the notify targets listening for it */
static void on_alert(void *opaque, const struct nc_alert_event *ev)
{
	struct server *s = opaque;

	logf_("alert %s: %s on %s %s%s%s (%s, value %g): %s", ev->state == NC_ALERT_FIRING ? "FIRING" : "resolved",
	      ev->rule, nc_metric_target_name(ev->target), ev->object, ev->host ? " on host " : "",
	      ev->host ? ev->host : "", ev->severity, ev->value, ev->summary ? ev->summary : "");
	nc_notify_alert(&s->cfg, ev);
	nc_api_alert(s->api, ev);
}

static bool telemetry_enabled(const struct nc_serve_config *c)
{
	return !NC_IS_SET(c->telemetry.enabled) || c->telemetry.enabled.v;
}

static int start_monitor(struct server *s)
{
	const struct nc_serve_telemetry *t = &s->cfg.telemetry;
	struct nc_monitor_opts mo;
	struct nc_err err = { "" };
	char *dir;
	unsigned host_timeout;

	if (!telemetry_enabled(&s->cfg)) {
		logf_("telemetry: disabled (telemetry.enabled: false)");
		return 0;
	}
	memset(&mo, 0, sizeof(mo));
	mo.interval_ms = NC_IS_SET(t->interval) ? (unsigned)t->interval.ms : NC_TM_INTERVAL_MS;
	host_timeout = NC_IS_SET(s->cfg.host_timeout) ? (unsigned)s->cfg.host_timeout.ms : 30000;
	mo.timeout_ms = NC_IS_SET(t->host_timeout) ? (unsigned)t->host_timeout.ms :
			host_timeout < mo.interval_ms ? host_timeout : mo.interval_ms;
	dir = NC_IS_SET(t->dir) ? nc_xstrdup(t->dir.v) : nc_xasprintf("%s/telemetry", s->state_dir);
	mo.state_dir = s->state_dir;
	mo.dir = dir;
	mo.rrdcached = NC_IS_SET(t->rrdcached) ? t->rrdcached.v : NULL;
	mo.anomaly_disk_limit = NC_IS_SET(t->anomaly_disk_limit) ? t->anomaly_disk_limit.v : 0;
	mo.connections = &s->cfg.connections;
	mo.health = s->health;
	mo.active = monitor_active;
	mo.alert = on_alert;
	mo.log = on_monitor_log;
	mo.opaque = s;
	mo.no_thread = s->once;
	mo.alerts = s->kept_alerts;
	s->kept_alerts = NULL;
	if (nc_monitor_start(&s->monitor, &mo, &err) < 0) {
		loge_("%s", err.msg);
		free(dir);
		return -1;
	}
	logf_("telemetry: a round every %u ms, %u ms per host, history in %s%s%s", mo.interval_ms, mo.timeout_ms,
	      dir, mo.rrdcached ? " through rrdcached at " : "", mo.rrdcached ? mo.rrdcached : "");
	free(dir);
	nc_monitor_set_spec(s->monitor, s->good_ref);
	pthread_mutex_lock(&s->st.mu);
	s->st.monitor = s->monitor;
	pthread_mutex_unlock(&s->st.mu);
	return 0;
}

/* before the configuration (connections, webhooks) or the health monitor it reads goes */
static void stop_monitor(struct server *s)
{
	if (!s->monitor)
		return;
	pthread_mutex_lock(&s->st.mu);
	s->st.monitor = NULL;
	pthread_mutex_unlock(&s->st.mu);
	/* the alert states go on in the next monitor (SIGHUP): nothing fires twice */
	nc_alerts_free(s->kept_alerts);
	s->kept_alerts = nc_monitor_stop_keep_alerts(s->monitor);
	s->monitor = NULL;
}

/* the verbs' queue: made once (a reload keeps what waits); paused as STATE_DIR/paused says */
static void verbs_start(struct server *s)
{
	bool approve = s->cfg.apply.mode.v == NC_APPLY_APPROVE;

	if (!s->verbs) {
		s->verbs = nc_verbs_new(s->state_dir);
		nc_verbs_hooks(s->verbs, &s->hooks);
		if (nc_verbs_paused(s->verbs))
			logf_("paused (%s/%s): planning, applying nothing, until POST /api/v1/resume", s->state_dir,
			      NC_VERBS_PAUSED_FILE);
	} else if (nc_verbs_set_state_dir(s->verbs, s->state_dir)) {
		/* a reload moved stateDir: its paused file says */
		logf_("%s (%s/%s)", nc_verbs_paused(s->verbs) ? "paused: the new stateDir holds a paused file" :
		      "resumed: the new stateDir holds no paused file", s->state_dir, NC_VERBS_PAUSED_FILE);
		nc_api_set_paused(s->api, nc_verbs_paused(s->verbs), "a reload's stateDir");
	}
	nc_verbs_set_approve_mode(s->verbs, approve);
	if (!approve)
		s->held[0] = '\0';
	pthread_mutex_lock(&s->st.mu);
	s->st.paused = nc_verbs_paused(s->verbs);
	s->st.approve_mode = approve;
	pthread_mutex_unlock(&s->st.mu);
}

static int start_parts(struct server *s)
{
	struct nc_source_opts so;
	struct nc_lease_opts lo;
	struct nc_err err = { "" };
	const struct nc_serve_config *c = &s->cfg;
	char host[128] = "localhost", *owner, *lease_file = NULL, *token = NULL;

	free(s->cache_dir);
	free(s->state_dir);
	s->cache_dir = nc_xstrdup(or_default(&c->cache_dir, NC_SERVE_CACHE_DIR));
	s->state_dir = nc_xstrdup(or_default(&c->state_dir, NC_SERVE_STATE_DIR));
	/* the owner's only; never through a shell */
	if (nc_mkdir_p_mode(s->cache_dir, 0700) < 0)
		logw_("cannot create %s: %s", s->cache_dir, strerror(errno));
	if (nc_mkdir_p_mode(s->state_dir, 0700) < 0)
		logw_("cannot create %s: %s", s->state_dir, strerror(errno));
	verbs_start(s);
	/* refused before anything starts: a bad token file is a configuration error */
	if (NC_IS_SET(c->token_file) && read_token(&token, c->token_file.v) < 0)
		return -1;
	{
		/* notify tokens are secrets too: refused at startup when others can read them */
		size_t ni;
		unsigned mode;

		for (ni = 0; ni < c->notify.n; ni++) {
			const struct nc_serve_notify *n = (const struct nc_serve_notify *)c->notify.v + ni;
			char *m;

			const struct nc_str *f = NC_IS_SET(n->token_file) &&
						 nc_secret_check(n->token_file.v, &mode) == NC_SECRET_MODE_BAD ? &n->token_file :
						 NC_IS_SET(n->secret_file) &&
						 nc_secret_check(n->secret_file.v, &mode) == NC_SECRET_MODE_BAD ? &n->secret_file :
						 NULL;

			if (!f)
				continue;
			m = nc_secret_msg(f == &n->token_file ? "notify tokenFile" : "notify secretFile", f->v, mode);
			loge_("%s; refusing to start", m);
			free(m);
			free(token);
			return -1;
		}
	}
	memset(&so, 0, sizeof(so));
	if (NC_IS_SET(c->source.git)) {
		const struct nc_serve_git *g = &c->source.git;

		s->sdrv = &nc_source_git;
		so.url = g->url.v;
		so.ref = or_default(&g->ref, "main");
		so.subdir = NC_IS_SET(g->path) ? g->path.v : NULL;
		so.depth = (unsigned)g->depth.v;
		so.username = NC_IS_SET(g->username) ? g->username.v : NULL;
		so.password_file = NC_IS_SET(g->password_file) ? g->password_file.v : NULL;
		so.ssh_key_file = NC_IS_SET(g->ssh_key_file) ? g->ssh_key_file.v : NULL;
		so.ssh_pubkey_file = NC_IS_SET(g->ssh_pubkey_file) ? g->ssh_pubkey_file.v : NULL;
		so.known_hosts_file = NC_IS_SET(g->known_hosts_file) ? g->known_hosts_file.v : NULL;
		so.allowed_signers = NC_IS_SET(g->allowed_signers) ? g->allowed_signers.v : NULL;
		so.allow_rollback = g->allow_rollback.v;
		so.state_dir = s->state_dir;       /* the last applied commit */
	} else {
		s->sdrv = &nc_source_dir;
		so.url = c->source.directory.v;
	}
	so.cache_dir = s->cache_dir;
	so.debounce_ms = NC_IS_SET(c->source.debounce) ? (unsigned)c->source.debounce.ms : 200;
	if (s->sdrv->open(&s->src, &so, &err) < 0) {
		loge_("cannot open the source: %s", err.msg);
		free(token);
		return -1;
	}
	pthread_mutex_lock(&s->st.mu);
	nc_set_str_redacted(&s->st.source, so.url);
	nc_set_str(&s->st.cluster, serve_cluster(s));
	pthread_mutex_unlock(&s->st.mu);
	if (serve_cluster(s))
		logf_("acting on Cluster %s only", serve_cluster(s));

	memset(&lo, 0, sizeof(lo));
	gethostname(host, sizeof(host) - 1);
	owner = nc_xasprintf("%s:%ld", host, (long)getpid());
	lo.owner = owner;
	lo.duration_ms = NC_IS_SET(c->lease.duration) ? (unsigned)c->lease.duration.ms : 30000;
	if (NC_IS_SET(c->lease.rados)) {
		s->ldrv = &nc_lease_rados;
		lo.ceph_conf = c->lease.rados.ceph_conf.v;
		lo.pool = c->lease.rados.pool.v;
		lo.object = or_default(&c->lease.rados.object, "novacron-lease");
		if (serve_cluster(s))   /* one lease per cluster: the object carries its name */
			lo.object = lease_file = nc_xasprintf("%s-%s", lo.object, serve_cluster(s));
		lo.user = NC_IS_SET(c->lease.rados.user) ? c->lease.rados.user.v : NULL;
	} else {
		s->ldrv = &nc_lease_file;
		/* state, not cache: a cache may be cleaned while instances run */
		lease_file = NC_IS_SET(c->lease.file) ? nc_xstrdup(c->lease.file.v)
						      : nc_xasprintf("%s/lease.lock", s->state_dir);
		if (serve_cluster(s)) {   /* one lease per cluster: lease.lock -> lease-east.lock */
			char *dot = strrchr(lease_file, '.'), *slash = strrchr(lease_file, '/'), *f;

			if (dot && (!slash || dot > slash + 1))
				f = nc_xasprintf("%.*s-%s%s", (int)(dot - lease_file), lease_file, serve_cluster(s), dot);
			else
				f = nc_xasprintf("%s-%s", lease_file, serve_cluster(s));
			free(lease_file);
			lease_file = f;
		}
		lo.file = lease_file;
	}
	if (s->ldrv->open(&s->lease, &lo, &err) < 0) {
		loge_("cannot open the lease: %s", err.msg);
		free(owner);
		free(lease_file);
		free(token);
		return -1;
	}
	free(owner);
	free(lease_file);
	atomic_store(&s->lease_stop, 0);
	atomic_store(&s->leader_state, -2);
	if (pthread_create(&s->lease_thread, NULL, lease_loop, s) != 0) {
		loge_("cannot start the lease thread");
		free(token);
		return -1;
	}
	s->lease_thread_on = true;
	if (start_health(s) < 0 || start_monitor(s) < 0) {
		free(token);
		return -1;
	}
	{
		const char *listen = or_default(&c->listen, "127.0.0.1:9090");
		const char *colon = strrchr(listen, ':');

		if (!colon || strcmp(colon, ":0") != 0) {
			if (!s->api && nc_api_create(&s->api, s->state_dir, &err) < 0) {
				loge_("%s", err.msg);
				free(token);
				return -1;
			}
			if ((!NC_IS_SET(c->api.enabled) || c->api.enabled.v) &&
			    nc_web_create(&s->web, c, s->config_path, s->state_dir, &s->st, &s->hooks, &err) < 0) {
				loge_("%s", err.msg);
				free(token);
				return -1;
			}
			if (s->web)
				nc_web_set_api(s->web, s->api);
			if (nc_http_start(&s->http, listen, token, c, &s->st, on_webhook, NULL, s->web, &err) < 0) {
				loge_("%s", err.msg);
				free(token);
				return -1;
			}
			logf_("listening on %s://%s (/healthz /status /metrics, POST /webhook)",
			      NC_IS_SET(c->tls.cert_file) ? "https" : "http", listen);
		}
	}
	free(token);
	return 0;
}

static void stop_parts(struct server *s)
{
	/* the lease first: a stopping instance takes no lease */
	if (s->lease_thread_on) {
		atomic_store(&s->lease_stop, 1);
		pthread_join(s->lease_thread, NULL);
		s->lease_thread_on = false;
	}
	nc_http_stop(s->http);
	s->http = NULL;
	nc_web_destroy(s->web);
	s->web = NULL;
	stop_monitor(s);
	stop_health(s);
	if (s->lease) {
		s->ldrv->close(s->lease);
		s->lease = NULL;
	}
	if (s->src) {
		s->sdrv->close(s->src);
		s->src = NULL;
	}
}

static int load_config(struct server *s, bool initial)
{
	struct nc_serve_config cfg;
	struct nc_spec *holder = NULL;
	struct nc_diags d;
	struct nc_buf b = NC_BUF_INIT;

	nc_diags_init(&d);
	if (nc_serve_config_load(&cfg, &holder, s->config_path, &d) < 0) {
		nc_diags_format_text(&d, &b, 0);
		nc_serve_log_block(NC_LOG_ERROR, b.buf);
		loge_("%s: invalid configuration%s", s->config_path, initial ? "" : "; keeping the old one");
		nc_buf_release(&b);
		nc_diags_release(&d);
		nc_spec_free(holder);
		return -1;
	}
	nc_diags_release(&d);
	nc_spec_free(s->cfg_holder);
	s->cfg = cfg;
	s->cfg_holder = holder;
	return 0;
}

/* loads a fetched revision's spec; refuses it (keeping the old) when invalid */
static void consider(struct server *s, struct nc_revision *rev, bool *need_pass)
{
	const char *paths[] = { rev->path };
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	struct nc_buf b = NC_BUF_INIT;

	nc_diags_init(&d);
	d.max_errors = 50;
	if (nc_spec_load(&spec, paths, 1, NULL, &d) < 0 ||
	    nc_serve_check_paths(&s->cfg, s->config_path, spec, &d) < 0 ||
	    nc_fence_names_check(spec, &s->cfg.fencing.devices, s->config_path, &d) < 0 ||
	    nc_clusters_check_serve(spec, serve_cluster(s), s->cluster_flag ? NULL : s->config_path, &d) < 0) {
		nc_diags_format_text(&d, &b, 0);
		nc_serve_log_block(NC_LOG_ERROR, b.buf);
		loge_("revision %s is invalid (%zu errors); %s stays in force", rev->id, d.errors,
		      s->good.id[0] ? s->good.id : "nothing");
		snprintf(s->refused_id, sizeof(s->refused_id), "%s", rev->id);
		{
			/* the first error with its place in the revision (relative to its root) */
			const struct nc_diag *e = d.n ? &d.v[0] : NULL;
			size_t i, rl = strlen(rev->path);
			const char *f;
			char *msg;

			for (i = 0; i < d.n; i++)
				if (d.v[i].sev == NC_SEV_ERROR) {
					e = &d.v[i];
					break;
				}
			f = e && e->file ? e->file : NULL;
			if (f && strncmp(f, rev->path, rl) == 0 && f[rl] == '/')
				f += rl + 1;
			msg = !e ? nc_xstrdup("invalid") :
			      f && e->line ? nc_xasprintf("%s:%u:%u: %s%s", f, e->line, e->col, e->msg,
							  d.errors > 1 ? " (and more errors)" : "") :
			      nc_xasprintf("%s%s%s%s", f ? f : "", f ? ": " : "", e->msg,
					   d.errors > 1 ? " (and more errors)" : "");
			pthread_mutex_lock(&s->st.mu);
			nc_set_str(&s->st.invalid_id, rev->id);
			nc_set_str(&s->st.invalid_error, msg);
			pthread_mutex_unlock(&s->st.mu);
			{
				struct json_object *det = json_object_new_object();
				struct nc_notify_event ev = { "invalid", rev->id, NULL, b.buf, 0, det };

				json_object_object_add(det, "errors", json_object_new_int64((int64_t)d.errors));
				json_object_object_add(det, "first_error", json_object_new_string(msg));
				nc_notify_event(&s->cfg, &ev);
				json_object_put(det);
			}
			forge_status(s, rev->id, NC_COMMIT_FAILURE, msg);
			free(msg);
		}
		nc_buf_release(&b);
		nc_diags_release(&d);
		nc_spec_free(spec);
		nc_revision_release(rev);
		return;
	}
	nc_diags_release(&d);
	/* the monitor may still read the old spec in a round: it goes with its last reference */
	nc_spec_ref_put(s->good_ref);
	nc_revision_release(&s->good);
	s->good = *rev;
	memset(rev, 0, sizeof(*rev));
	s->good_spec = spec;
	s->good_ref = nc_spec_ref_new(spec);
	nc_monitor_set_spec(s->monitor, s->good_ref);
	*need_pass = true;
	/* a newer revision is in force: the one refused before is no longer the newest */
	s->refused_id[0] = '\0';
	pthread_mutex_lock(&s->st.mu);
	nc_set_str(&s->st.invalid_id, NULL);
	nc_set_str(&s->st.invalid_error, NULL);
	pthread_mutex_unlock(&s->st.mu);
	health_hosts(s);
	nc_log_context(s->good.id, 0);
	logf_("new revision %s: %s", s->good.id, s->good.summary ? s->good.summary : "");
	if (s->sdrv->applied) {
		struct nc_err err = { "" };

		if (s->sdrv->applied(s->src, &s->good, &err) < 0)
			logw_("%s", err.msg);
	}
}

/* a revision the source refused (signature, links, rollback): reported as invalid */
static void refuse(struct server *s, struct nc_revision *rev, const char *why)
{
	loge_("revision %s is invalid: %s; %s stays in force", rev->id, why,
	      s->good.id[0] ? s->good.id : "nothing");
	pthread_mutex_lock(&s->st.mu);
	nc_set_str(&s->st.seen_id, rev->id);
	nc_set_str(&s->st.invalid_id, rev->id);
	nc_set_str(&s->st.invalid_error, why);
	pthread_mutex_unlock(&s->st.mu);
	nc_notify(&s->cfg, "invalid", rev->id, why);
	forge_status(s, rev->id, NC_COMMIT_FAILURE, why);
	nc_revision_release(rev);
}

static struct fence_state *fence_state(struct server *s, const char *host)
{
	size_t i;

	for (i = 0; i < s->nfences; i++)
		if (strcmp(s->fences[i].host, host) == 0)
			return &s->fences[i];
	s->fences = nc_xreallocarray(s->fences, s->nfences + 1, sizeof(*s->fences));
	s->fences[s->nfences].host = nc_xstrdup(host);
	s->fences[s->nfences].result = 2;
	s->fences[s->nfences].next = 0;
	s->fences[s->nfences].back = false;
	return &s->fences[s->nfences++];
}

/* forgets the hosts that are no longer failed */
static void fence_states_prune(struct server *s, const struct nc_health_view *v)
{
	size_t i, j, k = 0;

	for (i = 0; i < s->nfences; i++) {
		for (j = 0; j < v->nfailed; j++)
			if (strcmp(v->failed[j], s->fences[i].host) == 0)
				break;
		if (j < v->nfailed)
			s->fences[k++] = s->fences[i];
		else
			free(s->fences[i].host);
	}
	s->nfences = k;
}

static unsigned ms_or(const struct nc_duration *d, unsigned dflt)
{
	return NC_IS_SET(*d) ? (unsigned)d->ms : dflt;
}

/*
 * Fences the failed hosts (docs/ha.md "Fencing"), the leader only, never
 * while partitioned: the disks of their VMs to restart that this pass did
 * not see running on a reachable host, with each host's devices.  A fence
 * that fails is retried after ha.fenceRetry; nothing of that host is
 * restarted meanwhile (the plan restarts only what the record says fenced).
 */
/* did this pass read host (declared or not) */
static bool host_read(const struct nc_cluster *cl, const char *host)
{
	size_t i;

	for (i = 0; i < cl->nhosts; i++)
		if (strcmp(cl->hosts[i].spec->obj.meta.name.v, host) == 0)
			return cl->hosts[i].status == NC_HOST_OK;
	for (i = 0; i < cl->ngone; i++)
		if (strcmp(cl->gone[i].name, host) == 0)
			return cl->gone[i].status == NC_HOST_OK;
	return false;
}

static void fence_failed_hosts(struct server *s, const struct nc_cluster *cl, const struct nc_hostrec *rec,
			       const struct nc_health_view *v)
{
	const struct nc_serve_ha *ha = &s->cfg.ha;
	size_t i;

	fence_states_prune(s, v);
	for (i = 0; i < v->nfailed && !stop_flag; i++) {
		struct fence_state *fs = fence_state(s, v->failed[i]);
		struct nc_fence_targets t;
		struct nc_fencing_opts fo;
		struct nc_fencing_outcome out;
		struct nc_err err = { "" };
		int r;

		/* done, too, is asked again each pass (at no cost when it still is): a VM given
		 * ha: restart, or a disk, since the host failed is a target it has not fenced */
		if (mono() < fs->next || !leading(s))
			continue;
		/* a host this pass could read is never fenced, whatever its health says (it
		 * returned, its record cleared, before the monitor saw enough good checks):
		 * its VMs not seen elsewhere may have been restarted on a host that cannot
		 * be read now, and their locks are that copy's */
		if (host_read(cl, fs->host)) {
			if (fs->result != 3)
				logf_("host %s answers again: not fenced", fs->host);
			fs->result = 3;
			continue;
		}
		nc_fence_targets(&t, s->good_spec, cl, rec, fs->host);
		memset(&fo, 0, sizeof(fo));
		fo.state_dir = s->state_dir;
		fo.devices = &s->cfg.fencing.devices;
		fo.timeout_ms = ms_or(&ha->fence_timeout, NC_HA_FENCE_TIMEOUT_MS);
		if (fs->result == 2 || fs->result == 3)
			logw_("fencing host %s: %zu VM%s to restart, %zu rbd disk%s%s", fs->host, t.nvms,
			      t.nvms == 1 ? "" : "s", t.ndisks, t.ndisks == 1 ? "" : "s",
			      t.need_host ? ", the whole host needed (a VM with local or no rbd disks)" : "");
		r = nc_fence_host(s->good_spec, &t, fs->host, &fo, &out, &err);
		nc_fence_targets_release(&t);
		if (s->health) {
			unsigned k;

			for (k = 0; k < out.attempts; k++)
				nc_health_count_fence(s->health, k < out.failures);
		}
		if (r == NC_FENCE_DONE) {
			char *m = nc_xasprintf("host %s fenced%s%s: %s", fs->host, out.by[0] ? " by " : "", out.by,
					       out.detail);

			if (out.attempts || fs->result != NC_FENCE_DONE)
				logf_("%s", m);
			if (out.attempts)
				nc_notify_host(&s->cfg, "fenced", s->good.id, fs->host, m);
			if (s->health)
				nc_health_set_fence(s->health, fs->host, out.whole_host || out.ndisks, out.by[0] ? out.by : NULL,
						    NULL);
			free(m);
		} else if (r == NC_FENCE_PENDING && !out.failures) {
			if (fs->result != NC_FENCE_PENDING)
				logf_("host %s: fence pending (%s); nothing of it is restarted until it is fenced",
				      fs->host, out.detail);
			if (s->health)
				nc_health_set_fence(s->health, fs->host, false, NULL, NULL);
		} else {
			char *m = nc_xasprintf("FENCE FAILED for host %s: %s%s%s%s; nothing of it is restarted; retrying in %.1f s",
					       fs->host, err.msg[0] ? err.msg : out.detail,
					       err.msg[0] && out.detail[0] && strcmp(err.msg, out.detail) ? " (" : "",
					       err.msg[0] && out.detail[0] && strcmp(err.msg, out.detail) ? out.detail : "",
					       err.msg[0] && out.detail[0] && strcmp(err.msg, out.detail) ? ")" : "",
					       ms_or(&ha->fence_retry, NC_HA_FENCE_RETRY_MS) / 1000.0);

			loge_("%s", m);
			nc_notify_host(&s->cfg, "fence_failed", s->good.id, fs->host, m);
			if (s->health)
				nc_health_set_fence(s->health, fs->host, false, NULL, err.msg[0] ? err.msg : out.detail);
			free(m);
		}
		fs->result = r;
		if (r != NC_FENCE_DONE)
			fs->next = mono() + ms_or(&ha->fence_retry, NC_HA_FENCE_RETRY_MS) / 1000.0;
	}
}

/* something to do for HA: a host newly failed, a fence retry due, or ha.json changed (fence confirm) */
static bool ha_due(struct server *s)
{
	struct nc_health_view v;
	struct stat st;
	char *path;
	bool due = false;
	size_t i;

	if (!s->health)
		return false;
	nc_health_view(s->health, &v);
	if (!v.partitioned) {
		for (i = 0; i < v.nfailed && !due; i++) {
			size_t j;

			for (j = 0; j < s->nfences; j++)
				if (strcmp(s->fences[j].host, v.failed[i]) == 0)
					break;
			due = j == s->nfences || (s->fences[j].result != NC_FENCE_DONE && mono() >= s->fences[j].next);
		}
		/* a failed host that answers again: a pass reads it, removes its stale copies, and
		 * nc_ha_commit lets it go (then it is ok) */
		for (i = 0; i < s->nfences; i++) {
			bool answering = false, failed = false;
			size_t j;

			for (j = 0; j < v.nfailed; j++)
				failed = failed || strcmp(v.failed[j], s->fences[i].host) == 0;
			for (j = 0; j < v.nunreachable; j++)
				if (strcmp(v.unreachable[j], s->fences[i].host) == 0)
					break;
			answering = failed && j == v.nunreachable;
			if (answering && !s->fences[i].back)
				due = true;
			s->fences[i].back = answering;
		}
	}
	nc_health_view_release(&v);
	path = nc_xasprintf("%s/%s", s->state_dir, NC_HA_FILE);
	memset(&st, 0, sizeof(st));
	stat(path, &st);
	free(path);
	if (st.st_mtim.tv_sec != s->ha_seen.st_mtim.tv_sec || st.st_mtim.tv_nsec != s->ha_seen.st_mtim.tv_nsec ||
	    st.st_ino != s->ha_seen.st_ino) {
		s->ha_seen = st;
		due = true;
	}
	return due;
}

/* apply's progress lines, each as a log line of its own (a pass that recovers VMs: when each
 * restart was done is what HA is measured by) */
struct progress_log {
	struct nc_buf line;
	bool log;                        /* also in serve's log (recoveries) */
	struct nc_api *api;              /* each line an "action" event */
	const struct nc_plan *plan;
	const struct nc_cluster *cl;
};

/*
 * One apply line ("[3/10] create VM web-1 on kvm1 ... done (0.02s)") as a
 * log line with its VM, host and action: failed an error, skipped a
 * warning, done info for recoveries and debug for the rest (the pass's
 * summary line says how many); migration progress ("  #3 web-1: ...") debug.
 */
static void progress_log_line(struct progress_log *pl, const char *line)
{
	struct nc_log_fields f = { NULL, NULL, NULL };
	enum nc_log_level lvl = pl->log ? NC_LOG_INFO : NC_LOG_DEBUG;
	unsigned long i = 0;

	if (line[0] == '[' && sscanf(line + 1, "%lu/", &i) == 1 && i >= 1 && i <= pl->plan->nactions) {
		const struct nc_action *a = &pl->plan->actions[i - 1];

		f.vm = a->obj == NC_OBJ_VM ? a->vm : NULL;
		f.action = nc_action_name(a->kind);
		if (a->host < pl->cl->nhosts)
			f.host = pl->cl->hosts[a->host].spec->obj.meta.name.v;
		if (strstr(line, " ... failed"))
			lvl = NC_LOG_ERROR;
		else if (strstr(line, " ... skipped"))
			lvl = NC_LOG_WARN;
	} else if (!pl->log) {
		lvl = NC_LOG_DEBUG;
	}
	nc_serve_logf(lvl, &f, "apply: %s", line);
}

static ssize_t progress_write(void *cookie, const char *buf, size_t n)
{
	struct progress_log *pl = cookie;
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			progress_log_line(pl, pl->line.buf ? pl->line.buf : "");
			nc_api_progress(pl->api, pl->plan, pl->line.buf ? pl->line.buf : "");
			nc_buf_reset(&pl->line);
		} else {
			nc_buf_addc(&pl->line, buf[i]);
		}
	}
	return (ssize_t)n;
}

/*
 * apply.mode approve: a plan with actions is held (published with its
 * digest) until POST /api/v1/plan/approve names that digest; the pass after
 * applies it only when it builds the same plan.  Approval is one-shot.
 * True when p is held.
 */
static bool approval(struct server *s, const struct nc_plan *p, bool apply, bool *approved)
{
	char was[65];
	int a;

	*approved = false;
	if (p->errors || p->refused || !p->nactions) {
		if (s->held[0] && !p->errors && !p->refused)
			logf_("plan %.16s no longer pending: nothing to do", s->held);
		nc_verbs_set_pending(s->verbs, NULL);
		s->held[0] = '\0';
		return false;
	}
	if (apply) {
		a = nc_verbs_take_approved(s->verbs, p->plan_digest, was);
		if (a == 1) {
			logf_("plan %s approved: applying its %zu actions", p->plan_digest, p->nactions);
			if (s->api)
				nc_events_publish(nc_api_events(s->api), "plan", p->plan_digest, NULL, NC_EV_ALL,
						  "the approved plan (digest %s): applying its %zu actions", p->plan_digest,
						  p->nactions);
			*approved = true;
			nc_verbs_set_pending(s->verbs, NULL);
			s->held[0] = '\0';
			return false;
		}
		if (a < 0) {
			logf_("the approved plan %.16s is not this pass's (%.16s): the cluster or the spec changed since; "
			      "nothing applied, the new plan is held for approval", was, p->plan_digest);
			if (s->api) {
				nc_events_publish(nc_api_events(s->api), "plan", p->plan_digest, NULL, NC_EV_ALL,
						  "the approved plan (digest %s) is not this pass's: the cluster or the spec "
						  "changed; nothing applied, the new plan (digest %s) waits for approval",
						  was, p->plan_digest);
				nc_api_set_approved(s->api, NULL);
			}
			s->held[0] = '\0';
		}
	}
	nc_verbs_set_pending(s->verbs, p->plan_digest);
	if (strcmp(s->held, p->plan_digest) != 0) {
		logf_("plan %s held for approval: %zu actions; POST /api/v1/plan/approve {\"digest\": \"%s\"} applies it",
		      p->plan_digest, p->nactions, p->plan_digest);
		/* the API's "plan" event is published with the pass (nc_api_publish) */
		snprintf(s->held, sizeof(s->held), "%s", p->plan_digest);
	}
	return true;
}

static int run_pass(struct server *s)
{
	const struct nc_serve_config *c = &s->cfg;
	struct nc_observe_opts oo;
	struct nc_plan_opts po;
	struct nc_image_set imgs = { 0 };
	struct nc_cluster cl;
	struct nc_plan p;
	struct nc_apply_result r;
	struct nc_api_pass republish = { 0 };
	struct nc_hostrec rec = { 0 };
	struct nc_health_view hv = { 0 };
	struct nc_ha_record harec = { 0 };
	bool ha_ok = true;
	struct nc_err rerr = { "" };
	char *incomplete = NULL;
	struct nc_buf tdir = NC_BUF_INIT;
	double t0 = mono();
	bool apply = !NC_IS_SET(c->apply.enabled) || c->apply.enabled.v, rec_ok, applied = false;
	size_t i, j, drift = 0, running = 0, stopped = 0, other = 0;
	int ret = 0, plock = -1;
	bool held = false, approved_now = false, approve_mode = c->apply.mode.v == NC_APPLY_APPROVE;

	/* paused (POST /api/v1/pause): observe and plan, apply and fence nothing */
	if (apply && nc_verbs_paused(s->verbs))
		apply = false;
	/* a hand `novacron apply` running: this pass only observes (hostrec.h, NC_APPLY_LOCK) */
	/* serve --cluster: the other clusters' serves on this state dir hold it for a pass each; wait up
	 * to 5 s for it (a hand apply holds it longer) */
	if (apply && serve_cluster(s))
		for (i = 0; i < 50 && !stop_flag && (plock = nc_apply_lock(s->state_dir, false, &rerr)) == -2; i++)
			usleep(100000);
	if (apply && plock < 0 && (plock = nc_apply_lock(s->state_dir, false, &rerr)) < 0) {
		if (plock == -2)
			logw_("a novacron apply holds %s/%s: this pass applies (and fences) nothing", s->state_dir,
			      NC_APPLY_LOCK);
		else
			loge_("error: %s; nothing is applied", rerr.msg);
		rerr.msg[0] = 0;
		apply = false;
	}
	s->pass_seq++;
	nc_log_context(s->good.id, s->pass_seq);
	logd_("pass %llu started on %s", (unsigned long long)s->pass_seq, s->good.id);
	if (strcmp(s->status_sha, s->good.id) != 0)
		forge_status(s, s->good.id, NC_COMMIT_PENDING, "NovaCron is reconciling the cluster to this revision");
	nc_api_pass_started(s->api, s->good.id);
	memset(&r, 0, sizeof(r));
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = s->state_dir;
	oo.timeout_ms = NC_IS_SET(c->host_timeout) ? (unsigned)c->host_timeout.ms : 30000;
	oo.keep_open = apply;
	oo.connections = &c->connections;
	/* the hosts seen before (hostrec.h): one that left the spec still blocks creates;
	 * without the record a pass cannot know which hosts left, so it applies nothing */
	rec_ok = nc_hostrec_load(&rec, s->state_dir, &rerr) == 0;
	if (!rec_ok) {
		loge_("error: %s; nothing is applied", rerr.msg);
		apply = false;
		ret = -1;
	}
	oo.record = &rec;
	memset(&po, 0, sizeof(po));
	po.prune = c->apply.prune.v;
	po.delete_threshold = NC_IS_SET(c->apply.delete_threshold) ? (unsigned)c->apply.delete_threshold.v : 25;
	if (!po.delete_threshold)
		po.delete_threshold = 100;
	po.allow_mass_delete = c->apply.allow_mass_delete.v;
	po.max_migrations = (unsigned)c->apply.max_migrations.v;
	po.max_migrations_per_host = (unsigned)c->apply.max_migrations_per_host.v;
	po.commit = NC_IS_SET(c->source.git) ? s->good.id : NULL;
	po.cancel = &cancel_flag;
	if (serve_cluster(s)) {   /* serve --cluster: this cluster's actions only (clusters.h) */
		static const char *one[1];

		one[0] = serve_cluster(s);
		po.clusters = one;
		po.nclusters = 1;
	}

	{
		struct nc_path_roots roots;

		nc_path_roots_init(&roots, &c->paths, s->config_path);
		nc_images_resolve(&imgs, s->good_spec, &roots, s->state_dir);
		nc_path_roots_release(&roots);
		po.images = &imgs;
	}
	if (s->health) {
		nc_health_view(s->health, &hv);
		/* the failed hosts are not contacted: the pass never waits on a dead or hung daemon */
		oo.skip_hosts = (const char *const *)hv.unreachable;
		oo.nskip = hv.nunreachable;
	}
	nc_observe(&cl, s->good_spec, &oo);
	/* fencing first: a VM is restarted only once the record says its copy is fenced */
	if (s->health && apply && rec_ok && !hv.partitioned)
		fence_failed_hosts(s, &cl, &rec, &hv);
	/* the record of failed and fenced hosts, read after fencing wrote it; partitioned: none,
	 * so nothing is restarted */
	if (nc_ha_load(&harec, s->state_dir, &rerr) < 0) {
		loge_("error: %s; nothing is applied", rerr.msg);
		apply = false;
		ha_ok = false;
		ret = -1;
	} else if (!hv.partitioned) {
		po.ha = &harec;
	}
	po.max_recoveries = NC_IS_SET(c->ha.max_recoveries) ? (unsigned)c->ha.max_recoveries.v : NC_HA_MAX_RECOVERIES;
	po.ha_state_dir = s->state_dir;
	/* load-aware placement reads the history the telemetry loop keeps (docs/placement.md) */
	if (NC_IS_SET(c->telemetry.dir))
		nc_buf_adds(&tdir, c->telemetry.dir.v);
	else
		nc_buf_addf(&tdir, "%s/telemetry", s->state_dir);
	po.telemetry_dir = tdir.buf;
	nc_plan_build(&p, s->good_spec, &cl, &po);
	nc_images_check_urls(&p, &cl, &imgs);
	for (i = 0; i < p.nactions; i++)
		drift += p.actions[i].drift;
	nc_api_drift(s->api, &p);
	if (approve_mode)
		held = approval(s, &p, apply, &approved_now);
	if (p.errors || p.refused) {
		ret = -1;
	} else if (p.nactions && apply && !held) {
		struct progress_log pl = { NC_BUF_INIT, p.nrecover > 0, s->api, &p, &cl };
		cookie_io_functions_t io = { .write = progress_write };
		FILE *prog = NULL;
		size_t k;

		logf_("applying %zu actions of %s", p.nactions, s->good.id);
		if (p.nrecover) {
			for (k = 0; k < p.nactions; k++)
				if (p.actions[k].kind == NC_ACT_RECOVER) {
					struct nc_log_fields f = { p.actions[k].vm,
								   cl.hosts[p.actions[k].host].spec->obj.meta.name.v,
								   "recover" };

					nc_serve_logf(NC_LOG_WARN, &f, "recovery: %s on %s: %s", p.actions[k].vm,
						      f.host, p.actions[k].reason);
				}
		}
		{
			prog = fopencookie(&pl, "w", io);
			if (prog)
				setvbuf(prog, NULL, _IONBF, 0);
		}
		nc_apply(&r, &p, &cl, &po, prog, 0);
		if (prog)
			fclose(prog);
		nc_buf_release(&pl.line);
		applied = true;
		if (s->health && r.by_kind[NC_ACT_RECOVER][0])
			nc_health_count_recoveries(s->health, (unsigned)r.by_kind[NC_ACT_RECOVER][0]);
		if (r.failed || r.skipped)
			ret = -1;
	}
	/* a host that could not be read, or a VM not created for fear of running it twice */
	if (nc_plan_incomplete(&p)) {
		ret = -1;
		incomplete = p.unreachable ?
			nc_xasprintf("partial pass: %zu host%s could not be read; the cluster may not match the spec",
				     p.unreachable, p.unreachable == 1 ? "" : "s") :
			nc_xasprintf("%zu VM%s not created: %s may run on a host that is not declared",
				     p.blocked, p.blocked == 1 ? " is" : "s are", p.blocked == 1 ? "it" : "they");
	}
	if (rec_ok && nc_hostrec_commit(s->state_dir, s->good_spec, &cl, applied ? &p : NULL, &rerr) < 0)
		logw_("warning: the record of hosts was not updated: %s", rerr.msg);
	/* a failed host that is back with nothing left to clean up leaves the HA record (then its
	 * health may go back to ok); never from a plan that was not applied */
	if (rec_ok && ha_ok && apply && (applied || (!p.nactions && !p.errors && !p.refused))) {
		struct nc_buf hl = NC_BUF_INIT;
		char *line, *save = NULL;

		if (nc_ha_commit(s->state_dir, &cl, &p, applied ? !r.failed && !r.skipped : true, &hl, &rerr) < 0)
			logw_("warning: the HA record was not updated: %s", rerr.msg);
		for (line = hl.buf ? strtok_r(hl.buf, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
			logf_("%s", line);
		nc_buf_release(&hl);
	}
	for (i = 0; i < cl.nhosts; i++)
		for (j = 0; j < cl.hosts[i].obs.ndoms; j++) {
			const struct nc_domain *dm = &cl.hosts[i].obs.doms[j];

			if (!dm->managed || !own_host(s, cl.hosts[i].spec))
				continue;   /* serve --cluster: its cluster's hosts are counted */
			if (dm->state == NC_DOM_RUNNING)
				running++;
			else if (dm->state == NC_DOM_SHUTOFF)
				stopped++;
			else
				other++;
		}

	pthread_mutex_lock(&s->st.mu);
	for (i = 0; i < s->st.nhosts; i++) {
		free(s->st.hosts[i].name);
		free(s->st.hosts[i].uri);
		free(s->st.hosts[i].error);
	}
	free(s->st.hosts);
	/* the declared hosts, then those recorded that left the spec: each up or not */
	s->st.hosts = nc_xcalloc(cl.nhosts + cl.ngone + 1, sizeof(*s->st.hosts));
	s->st.nhosts = 0;
	for (i = 0; i < cl.nhosts; i++) {
		struct nc_host_report *h = &s->st.hosts[s->st.nhosts];

		/* a host the pass could not read is a missed check; one it skipped is known failed */
		if (s->health && cl.hosts[i].status != NC_HOST_OK &&
		    !nc_ha_list_has(hv.unreachable, hv.nunreachable, cl.hosts[i].spec->obj.meta.name.v))
			nc_health_pass_miss(s->health, cl.hosts[i].spec->obj.meta.name.v, cl.hosts[i].error);
		if (!own_host(s, cl.hosts[i].spec))
			continue;   /* serve --cluster: another cluster's serve reports it */
		s->st.nhosts++;
		h->name = nc_xstrdup(cl.hosts[i].spec->obj.meta.name.v);
		h->uri = nc_xstrdup(cl.hosts[i].spec->spec.uri.v);
		h->up = cl.hosts[i].status == NC_HOST_OK;
		h->declared = true;
		h->error = cl.hosts[i].error ? nc_xstrdup(cl.hosts[i].error) : NULL;
		if (cl.hosts[i].status == NC_HOST_OK && cl.hosts[i].obs.ndegraded) {   /* reconciler/netfs.h */
			free(h->error);
			h->error = nc_xasprintf("degraded: %s", cl.hosts[i].obs.degraded[0]);
		}
	}
	for (i = 0; i < cl.ngone; i++) {
		struct nc_host_report *h = &s->st.hosts[s->st.nhosts++];

		h->name = nc_xstrdup(cl.gone[i].name);
		h->uri = nc_xstrdup(cl.gone[i].uri);
		h->up = cl.gone[i].status == NC_HOST_OK;
		h->error = cl.gone[i].error ? nc_xstrdup(cl.gone[i].error) : NULL;
	}
	for (i = 0; i < NC_ACT__COUNT; i++)
		for (j = 0; j < 3; j++)
			s->st.actions[i][j] += r.by_kind[i][j];
	s->st.drift = drift;
	s->st.pending = apply && !held ? r.failed + r.skipped : p.nactions;
	s->st.paused = nc_verbs_paused(s->verbs);
	nc_set_str(&s->st.plan_held, approve_mode && s->held[0] ? s->held : NULL);
	s->st.vms_running = running;
	s->st.vms_stopped = stopped;
	s->st.vms_other = other;
	s->st.last_pass = time(NULL);
	s->st.last_pass_seconds = mono() - t0;
	nc_set_str(&s->st.applied_id, s->good.id);
	nc_set_str(&s->st.applied_summary, s->good.summary);
	if (ret == 0) {
		s->st.passes_ok++;
		nc_set_str(&s->st.last_result, "ok");
		nc_set_str(&s->st.last_error, NULL);
	} else {
		s->st.passes_failed++;
		nc_set_str(&s->st.last_result, "failed");
		nc_set_str(&s->st.last_error, !rec_ok ? rerr.msg :
					      p.errors || p.refused ? (p.nnotes ? p.notes[p.nnotes - 1].text : "plan refused") :
					      r.failed || r.skipped || !incomplete ? "some actions failed" : incomplete);
	}
	pthread_mutex_unlock(&s->st.mu);

	if (s->api) {
		struct nc_api_pass ap;
		char *perr;

		memset(&ap, 0, sizeof(ap));
		pthread_mutex_lock(&s->st.mu);
		ap.time = s->st.last_pass;
		ap.seconds = s->st.last_pass_seconds;
		perr = ret == 0 || !s->st.last_error ? NULL : nc_xstrdup(s->st.last_error);
		pthread_mutex_unlock(&s->st.mu);
		ap.revision = s->good.id;
		ap.summary = s->good.summary;
		ap.result = ret == 0 ? "ok" : "failed";
		ap.error = perr;
		ap.applied = applied;
		ap.r = applied ? &r : NULL;
		ap.actions = p.nactions;
		ap.drift = drift;
		ap.mode = NC_IS_SET(c->apply.mode) ? c->apply.mode.v : NC_APPLY_AUTO;
		ap.approved = approved_now;
		ap.paused = nc_verbs_paused(s->verbs);
		if (applied && r.done) {
			republish = ap;      /* after the connections of this pass are closed */
			republish.error = perr;
			perr = NULL;
		} else {
			nc_api_publish(s->api, s->good_ref, &cl, &p, s->health, &ap);
		}
		free(perr);
	}
	/* the pass's end: info when it had actions, an error when it failed, debug otherwise */
	nc_serve_logl(ret < 0 ? NC_LOG_ERROR : p.nactions ? NC_LOG_INFO : NC_LOG_DEBUG,
		      "pass on %s: %zu actions, %zu done, %zu failed, %zu skipped, %zu drifted (%.2fs)%s%s", s->good.id,
		      p.nactions, r.done, r.failed, r.skipped, drift, mono() - t0, ret < 0 ? ": " : "",
		      ret < 0 ? (s->st.last_error ? s->st.last_error : "failed") : "");
	for (i = 0; i < p.nnotes; i++)
		if (p.notes[i].kind != NC_NOTE_INFO)
			nc_serve_logl(p.notes[i].kind == NC_NOTE_ERROR ? NC_LOG_ERROR : NC_LOG_WARN, "%s",
				      p.notes[i].text);
	{
		/* the pass in numbers, the "details" of its notifications */
		struct json_object *det = json_object_new_object();
		struct nc_notify_event ev = { NULL, s->good.id, NULL, NULL, s->pass_seq, det };
		char *desc;

		json_object_object_add(det, "actions", json_object_new_int64((int64_t)p.nactions));
		json_object_object_add(det, "done", json_object_new_int64((int64_t)r.done));
		json_object_object_add(det, "failed", json_object_new_int64((int64_t)r.failed));
		json_object_object_add(det, "skipped", json_object_new_int64((int64_t)r.skipped));
		json_object_object_add(det, "drifted", json_object_new_int64((int64_t)drift));
		json_object_object_add(det, "applied", json_object_new_boolean(applied));
		if (drift) {
			ev.event = "drift";
			ev.message = "the cluster drifted from the spec; NovaCron restores it";
			nc_notify_event(&s->cfg, &ev);
		}
		if (ret < 0) {
			ev.event = "failed";
			ev.message = s->st.last_error;
			nc_notify_event(&s->cfg, &ev);
		} else if (r.done) {
			ev.event = "applied";
			ev.message = "the cluster now matches the spec";
			nc_notify_event(&s->cfg, &ev);
		}
		json_object_put(det);
		/* the commit status: the pass's result on the revision (git sources, forge targets) */
		if (ret < 0)
			desc = nc_xasprintf("pass %llu failed: %s", (unsigned long long)s->pass_seq,
					    s->st.last_error ? s->st.last_error : "failed");
		else if (held)
			desc = nc_xasprintf("a plan of %zu actions waits for approval", p.nactions);
		else if (p.nactions && !applied)
			desc = nc_xasprintf("%zu actions planned, none applied (paused or apply disabled)", p.nactions);
		else if (applied)
			desc = nc_xasprintf("applied: %zu actions done; the cluster matches this revision", r.done);
		else
			desc = nc_xstrdup("in force: the cluster matches this revision");
		forge_status(s, s->good.id, ret < 0 ? (p.errors || p.refused ? NC_COMMIT_FAILURE : NC_COMMIT_ERROR) :
			     held || (p.nactions && !applied) ? NC_COMMIT_PENDING : NC_COMMIT_SUCCESS, desc);
		free(desc);
	}
	nc_plan_release(&p);
	nc_cluster_release(&cl);
	if (republish.r) {
		/* the API shows the cluster as the pass left it: observed and planned again */
		oo.keep_open = false;
		nc_observe(&cl, s->good_spec, &oo);
		nc_plan_build(&p, s->good_spec, &cl, &po);
		republish.applied = false;
		nc_api_publish(s->api, s->good_ref, &cl, &p, s->health, &republish);
		free((char *)republish.error);
		nc_plan_release(&p);
		nc_cluster_release(&cl);
	}
	nc_image_set_release(&imgs);
	nc_hostrec_release(&rec);
	nc_health_view_release(&hv);
	nc_ha_release(&harec);
	nc_buf_release(&tdir);
	free(incomplete);
	if (plock >= 0)
		nc_hostrec_unlock(plock);
	nc_log_context(s->good.id, 0);
	return ret;
}

/*
 * Runs the BackupSchedules that fell due since the last look (wall clock,
 * UTC, at most one run per schedule per look even if several times were
 * missed; none for times before serve started).  Each VM is backed up in
 * turn, then the schedule's retention is applied.  A failed VM is reported
 * and the others go on; the next due time retries it.
 */
/* VMs' snapshotSchedules due since the last look: one snapshot each, then its retention */
static void run_due_snapshots(struct server *s)
{
	time_t now = time(NULL);
	struct nc_cluster cl;
	bool observed = false;
	size_t i;

	if (!s->snapshots_checked)
		s->snapshots_checked = now;
	if (now <= s->snapshots_checked)
		return;
	for (i = 0; i < s->good_spec->nobjs[NC_KIND_VM] && !stop_flag && leading(s); i++) {
		const struct nc_vm *vm = (const struct nc_vm *)s->good_spec->objs[NC_KIND_VM][i];
		const struct nc_snapshot_schedule *ss = &vm->spec.snapshot_schedule;
		struct nc_snapshot_run_result res;
		struct nc_err err;
		time_t due;

		if (!NC_IS_SET(ss->schedule) || (NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT) ||
		    (due = nc_cron_next(&ss->schedule.cron, s->snapshots_checked)) <= 0 || due > now)
			continue;
		if (!observed) {
			struct nc_observe_opts oo;

			memset(&oo, 0, sizeof(oo));
			oo.state_dir = s->state_dir;
			oo.timeout_ms = NC_IS_SET(s->cfg.host_timeout) ? (unsigned)s->cfg.host_timeout.ms : 30000;
			oo.keep_open = true;
			oo.connections = &s->cfg.connections;
			nc_observe(&cl, s->good_spec, &oo);
			observed = true;
		}
		if (nc_snapshot_scheduled_run(&res, &cl, vm, due, &err) < 0)
			loge_("scheduled snapshot of %s failed: %s", vm->obj.meta.name.v, err.msg);
		else
			logf_("scheduled snapshot %s of %s on %s %s; %zu older deleted", res.name, vm->obj.meta.name.v,
			      res.host, res.existed ? "was there already" : "taken", res.pruned);
	}
	if (observed)
		nc_cluster_release(&cl);
	s->snapshots_checked = now;
}

static void run_due_backups(struct server *s)
{
	time_t now = time(NULL);
	size_t i, j, nv;

	if (!s->backups_checked)
		s->backups_checked = now;
	if (now <= s->backups_checked)
		return;
	for (i = 0; i < s->good_spec->nobjs[NC_KIND_BACKUP_SCHEDULE] && !stop_flag && leading(s); i++) {
		const struct nc_backup *b = (const struct nc_backup *)s->good_spec->objs[NC_KIND_BACKUP_SCHEDULE][i];
		const char *name = b->obj.meta.name.v;
		const struct nc_vm **vms = NULL;
		time_t due = nc_cron_next(&b->spec.schedule.cron, s->backups_checked);
		struct nc_observe_opts oo;
		struct nc_backup_run_opts ro;
		struct nc_cluster cl;
		size_t ok = 0, failed = 0;

		if (due <= 0 || due > now)
			continue;
		nv = nc_schedule_vms(&vms, s->good_spec, b);
		logf_("backup schedule %s: %zu VMs", name, nv);
		memset(&oo, 0, sizeof(oo));
		oo.state_dir = s->state_dir;
		oo.timeout_ms = NC_IS_SET(s->cfg.host_timeout) ? (unsigned)s->cfg.host_timeout.ms : 30000;
		oo.keep_open = true;
		oo.connections = &s->cfg.connections;
		nc_observe(&cl, s->good_spec, &oo);
		memset(&ro, 0, sizeof(ro));
		ro.now = (int64_t)due;
		for (j = 0; j < nv && !stop_flag && leading(s); j++) {
			struct nc_backup_vm_result res;
			struct nc_err err;
			uint64_t stored = 0;
			size_t k;

			/* serve --cluster: another cluster's serve backs its VMs up */
			if (serve_cluster(s) && !nc_clusters_of(s->good_spec, &vms[j]->obj, serve_cluster(s)))
				continue;
			if (nc_backup_vm(&res, s->good_spec, &cl, vms[j], b, &ro, &err) < 0) {
				failed++;
				loge_("backup %s failed: %s", vms[j]->obj.meta.name.v, err.msg);
				pthread_mutex_lock(&s->st.mu);
				nc_set_str(&s->st.last_backup_error, err.msg);
				pthread_mutex_unlock(&s->st.mu);
				nc_notify(&s->cfg, "failed", s->good.id, err.msg);
				continue;
			}
			for (k = 0; k < res.ndisks; k++)
				stored += res.disks[k].stats.bytes_stored;
			ok++;
			logf_("backup %s: %.16s (%s, %s), %llu bytes stored, %.2fs", res.vm, res.id,
			      res.live ? "live" : "offline", res.quiesced ? "quiesced" : "not quiesced",
			      (unsigned long long)stored, res.seconds);
		}
		nc_cluster_release(&cl);
		free(vms);
		if (!failed) {
			struct nc_backup_retention ret;
			const struct nc_retention *r = &b->spec.retention;
			struct nc_backup_repo *repo = NULL;
			struct nc_backup_prune_report pr;
			struct nc_err err;

			memset(&ret, 0, sizeof(ret));
			ret.keep_last = (unsigned)r->keep_last.v;
			ret.keep_daily = (unsigned)r->keep_daily.v;
			ret.keep_weekly = (unsigned)r->keep_weekly.v;
			ret.keep_monthly = (unsigned)r->keep_monthly.v;
			if ((ret.keep_last || ret.keep_daily || ret.keep_weekly || ret.keep_monthly) && nv) {
				if (nc_schedule_repo_open(&repo, b, false, &err) < 0 ||
				    nc_backup_prune(&pr, repo, &ret, false, &err) < 0) {
					logw_("backup schedule %s: prune: %s", name, err.msg);
				} else {
					logf_("backup schedule %s: pruned %zu backups, %zu chunks", name, pr.nremoved,
					      pr.chunks_deleted);
					nc_backup_prune_report_release(&pr);
				}
				if (repo)
					nc_backup_close(repo);
			}
		}
		pthread_mutex_lock(&s->st.mu);
		s->st.backups_ok += ok;
		s->st.backups_failed += failed;
		s->st.last_backup = time(NULL);
		if (!failed)
			nc_set_str(&s->st.last_backup_error, NULL);
		pthread_mutex_unlock(&s->st.mu);
	}
	s->backups_checked = now;
}

/* pause and resume as asked (verbs.h): the state dir's file, /status, the log */
static void verbs_pause(struct server *s)
{
	char why[512] = "";
	bool paused;
	int frc;

	if (!nc_verbs_take_pause(s->verbs, &paused, &frc, why, sizeof(why)))
		return;
	if (frc < 0)
		logw_("warning: %s; the %s state does not survive a restart", why, paused ? "paused" : "resumed");
	logf_("%s through the API%s", paused ? "paused" : "resumed",
	      paused ? ": passes plan and apply nothing, scheduled backups do not run, until POST /api/v1/resume" :
		       ": reconciling");
	nc_api_set_paused(s->api, paused, NULL);    /* the "paused" event; who is in the audit log */
	pthread_mutex_lock(&s->st.mu);
	s->st.paused = paused;
	pthread_mutex_unlock(&s->st.mu);
}

static void verbs_log(void *opaque, const char *msg)
{
	(void)opaque;
	logf_("%s", msg);
}

/* the backups, restores and fence confirmations asked through the API, in order, in this thread */
static void verbs_jobs(struct server *s)
{
	struct nc_verb_job j;
	struct nc_verbs_env env;

	memset(&env, 0, sizeof(env));
	env.spec = s->good_spec;
	env.state_dir = s->state_dir;
	env.connections = &s->cfg.connections;
	env.timeout_ms = NC_IS_SET(s->cfg.host_timeout) ? (unsigned)s->cfg.host_timeout.ms : 30000;
	env.log = verbs_log;
	env.opaque = s;
	while (!stop_flag && leading(s) && nc_verbs_take_job(s->verbs, &j)) {
		struct nc_err err = { "" };
		int rc;

		switch (j.kind) {
		case NC_VERB_BACKUP:
			logf_("backup %s: asked through the API", j.vm);
			if ((rc = nc_verbs_backup(&env, j.vm, &err)) < 0) {
				loge_("backup %s failed: %s", j.vm, err.msg);
				nc_notify(&s->cfg, "failed", s->good.id, err.msg);
			}
			pthread_mutex_lock(&s->st.mu);
			if (rc < 0) {
				s->st.backups_failed++;
				nc_set_str(&s->st.last_backup_error, err.msg);
			} else {
				s->st.backups_ok++;
			}
			s->st.last_backup = time(NULL);
			pthread_mutex_unlock(&s->st.mu);
			break;
		case NC_VERB_RESTORE:
			logf_("restore %s from backup %.16s%s%s: asked through the API", j.vm, j.backup,
			      j.as[0] ? " as " : "", j.as);
			if (nc_verbs_restore(&env, j.vm, j.backup, j.as[0] ? j.as : NULL, &err) < 0)
				loge_("restore %s failed: %s", j.vm, err.msg);
			else
				logf_("restore %s from backup %.16s%s%s: done", j.vm, j.backup, j.as[0] ? " as " : "", j.as);
			break;
		case NC_VERB_FENCE_CONFIRM:
			if (nc_verbs_fence_confirm(&env, j.host, j.by, &err) < 0)
				logw_("fence confirm %s (by %s) refused: %s", j.host, j.by, err.msg);
			break;
		}
		if (s->api) {
			const char *obj = j.kind == NC_VERB_FENCE_CONFIRM ? j.host : j.vm;
			const struct nc_object *o = j.kind == NC_VERB_FENCE_CONFIRM ? NULL :
						    nc_spec_find(s->good_spec, NC_KIND_VM, j.vm);
			static const char *const what[] = { "backup", "restore", "fence confirm" };

			/* a host is no tenant's: its events are the unscoped principals' */
			nc_events_publish(nc_api_events(s->api), "action", obj, o ? nc_tenant_of(s->good_spec, o) : NULL,
					  NC_EV_TENANT, "%s %s (asked through the API): %s", what[j.kind], obj,
					  err.msg[0] ? err.msg : "done");
		}
	}
}

static double backoff(unsigned failures)
{
	double base = 1.0, d;
	unsigned i;

	for (i = 1; i < failures && base < 300; i++)
		base *= 2;
	if (base > 300)
		base = 300;
	d = base * (0.5 + (double)rand() / RAND_MAX);   /* jitter: 0.5x to 1.5x */
	return d;
}

enum { OPT_ONCE = NC_OPT_LONG_ONLY, OPT_CHECK, OPT_LOG_LEVEL, OPT_LOG_FORMAT, OPT_CLUSTER };

/* the log's level and format: a flag, else serve.yaml's log:, else info and text */
static void apply_log_config(const struct server *s, bool loaded)
{
	int level = s->log_level_flag >= 0 ? s->log_level_flag :
		    loaded && NC_IS_SET(s->cfg.log.level) ? s->cfg.log.level.v : NC_LOG_INFO;
	int format = s->log_format_flag >= 0 ? s->log_format_flag :
		     loaded && NC_IS_SET(s->cfg.log.format) ? s->cfg.log.format.v : NC_LOG_TEXT;

	nc_log_configure((enum nc_log_level)level, (enum nc_log_format)format);
}

static const struct nc_opt serve_opts[] = {
	{ "config", 'c', "FILE", "the operator's configuration: source, hosts, paths, API, notifications "
	  "(docs/operations.md); required", NC_COMP_FILE, NULL },
	{ "once", OPT_ONCE, NULL, "one fetch and one pass, then exit (0 ok, 1 not)", NC_COMP_NONE, NULL },
	{ "check", OPT_CHECK, NULL, "only check the configuration and exit", NC_COMP_NONE, NULL },
	{ "cluster", OPT_CLUSTER, "NAME", "act only on this Cluster of the spec, with its own lease "
	  "(default: cluster: of the configuration, else every cluster; docs/federation.md)", NC_COMP_NONE, NULL },
	{ "log-level", OPT_LOG_LEVEL, "LEVEL", "lowest level of log lines written: error, warn, info or debug "
	  "(default: log.level of the configuration, else info)", NC_COMP_WORDS, "error warn info debug" },
	{ "log-format", OPT_LOG_FORMAT, "FORMAT", "text (TIME novacron serve: MESSAGE) or json (one object per line "
	  "with time, level, msg, revision, pass; for journald or Loki); default: log.format, else text",
	  NC_COMP_WORDS, "text json" },
	{ "verbose", 'v', NULL, "the same as --log-level debug", NC_COMP_NONE, NULL },
	{ "quiet", 'q', NULL, "the same as --log-level warn", NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const serve_examples[] = {
	"check a configuration before (re)starting the service",
	"novacron serve --config /etc/novacron/serve.yaml --check",
	"one fetch and reconcile pass, as a cron job or in CI",
	"novacron serve --config serve.yaml --once",
	"run the loop in the foreground (SIGHUP reloads the configuration, SIGTERM stops)",
	"novacron serve --config /etc/novacron/serve.yaml",
	"JSON log lines for journald or Loki, warnings and errors only",
	"novacron serve --config /etc/novacron/serve.yaml --log-format json --quiet",
	NULL,
};

const struct nc_cmd_doc nc_doc_serve = {
	"serve", "serve --config FILE [--once | --check] [--cluster NAME] [--log-level LEVEL] [--log-format text|json] [-v | -q]",
	"run the GitOps loop: fetch, validate, reconcile, report (docs/operations.md)",
	"Each turn fetches the spec's git source when its interval is up, a webhook asked or the watched "
	"folder changed; validates a new revision (an invalid one is reported and the last good one stays "
	"in force); and reconciles on every new good revision and on the drift interval. A failed pass or "
	"fetch backs off exponentially (1 s doubling to 5 min) with jitter. It also serves the API and "
	"dashboard when the configuration enables them.\n\n"
	"SIGTERM or SIGINT finish the action in progress and exit 0; SIGHUP reloads the configuration "
	"(a bad one is reported and the old one kept). Log lines go to standard error.",
	serve_opts, serve_examples, NC_COMP_NONE, NULL,
};

int cmd_serve(int argc, char **argv)
{
	struct server s;
	struct sigaction sa;
	struct nc_getopt g;
	bool once = false, check = false, need_fetch = true, need_pass = false;
	double next_fetch = 0, next_drift = 0, next_watch = 0;
	int c, ret = NC_EXIT_OK;

	memset(&s, 0, sizeof(s));
	s.log_level_flag = s.log_format_flag = -1;
	nc_getopt_init(&g, serve_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case 'c': s.config_path = optarg; break;
		case OPT_ONCE: once = true; s.once = true; break;
		case OPT_CHECK: check = true; break;
		case OPT_CLUSTER:
			if (!nc_name_ok(optarg)) {
				fprintf(stderr, "novacron serve: --cluster must be a Cluster's name (a-z, 0-9, '-'), "
					"not '%s'\n", optarg);
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			s.cluster_flag = optarg;
			break;
		case OPT_LOG_LEVEL:
			if ((s.log_level_flag = nc_log_level_parse(optarg)) < 0) {
				fprintf(stderr, "novacron serve: --log-level must be error, warn, info or debug, not '%s'\n",
					optarg);
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0) {
				fprintf(stderr, "novacron serve: --log-format must be text or json, not '%s'\n", optarg);
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			s.log_format_flag = strcmp(optarg, "json") == 0 ? NC_LOG_JSON : NC_LOG_TEXT;
			break;
		case 'v': s.log_level_flag = NC_LOG_DEBUG; break;
		case 'q': s.log_level_flag = NC_LOG_WARN; break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_serve);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_serve);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (!s.config_path || optind < argc) {
		nc_cmd_usage_error(&nc_doc_serve);
		return NC_EXIT_ERROR;
	}
	apply_log_config(&s, false);
	if (load_config(&s, true) < 0)
		return NC_EXIT_ERROR;
	apply_log_config(&s, true);
	if (check) {
		printf("%s: valid\n", s.config_path);
		nc_spec_free(s.cfg_holder);
		return NC_EXIT_OK;
	}
	nc_serve_status_init(&s.st);
	srand((unsigned)(time(NULL) ^ getpid()));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (start_parts(&s) < 0) {
		stop_parts(&s);
		nc_api_destroy(s.api);
		nc_serve_status_release(&s.st);
		nc_verbs_free(s.verbs);
		nc_spec_free(s.cfg_holder);
		free(s.cache_dir);
		free(s.state_dir);
		return NC_EXIT_ERROR;
	}
	logf_("started (pid %ld), config %s", (long)getpid(), s.config_path);
	if (nc_verbs_paused(s.verbs))
		nc_api_set_paused(s.api, true, "the state dir's paused file, at start");

	while (!stop_flag) {
		struct nc_err err = { "" };
		double now = mono();
		int leader;

		if (hup_flag) {
			hup_flag = 0;
			logf_("SIGHUP: reloading %s", s.config_path);
			/* the monitor reads the configuration: stopped before it is replaced; its host
			 * states start over */
			stop_monitor(&s);
			stop_health(&s);
			if (load_config(&s, false) == 0) {
				apply_log_config(&s, true);
				stop_parts(&s);
				if (start_parts(&s) < 0) {
					ret = NC_EXIT_ERROR;
					break;
				}
				need_fetch = true;
				s.refused_id[0] = '\0';
			} else if (start_health(&s) < 0 || start_monitor(&s) < 0) {
				ret = NC_EXIT_ERROR;
				break;
			}
		}
		verbs_pause(&s);
		/* the lease thread renews the lease; -2: its first answer is still to come */
		leader = atomic_load(&s.leader_state);
		if (leader == -2) {
			usleep(50000);
			continue;
		}
		if (leader != 1) {
			if (once) {
				ret = NC_EXIT_ERROR;
				break;
			}
			/* a standby watches the hosts too (it reports, never fences) */
			if (s.health && !s.good_spec && now >= next_watch) {
				health_hosts_recorded(&s);
				next_watch = now + 1;
			}
			usleep(100000);
			continue;
		}

		if (take_trigger())
			need_fetch = true;
		/* sync: the webhook's trigger, and a pass; an approval or a resume: a pass */
		if (nc_verbs_take_sync(s.verbs))
			need_fetch = need_pass = true;
		if (nc_verbs_take_pass(s.verbs)) {
			char ad[65];

			need_pass = true;
			/* the API shows the plan approved until the pass takes it */
			if (nc_verbs_approved(s.verbs, ad))
				nc_api_set_approved(s.api, ad);
		}
		if (s.good_spec && ha_due(&s))
			need_pass = true;
		if (need_fetch || now >= next_fetch) {
			struct nc_revision rev;
			int frc;

			memset(&rev, 0, sizeof(rev));
			need_fetch = false;
			frc = s.sdrv->fetch(s.src, &rev, &err);
			if (frc == NC_SOURCE_EREFUSED) {
				refuse(&s, &rev, err.msg);
				next_fetch = now + (NC_IS_SET(s.cfg.interval) ? (double)s.cfg.interval.ms / 1000 : 60);
			} else if (frc < 0) {
				s.failures++;
				pthread_mutex_lock(&s.st.mu);
				s.st.fetch_failures++;
				nc_set_str(&s.st.last_error, err.msg);
				pthread_mutex_unlock(&s.st.mu);
				loge_("fetch failed: %s", err.msg);
				nc_notify(&s.cfg, "failed", NULL, err.msg);
				next_fetch = now + backoff(s.failures);
				if (once) {
					ret = NC_EXIT_ERROR;
					break;
				}
			} else {
				pthread_mutex_lock(&s.st.mu);
				nc_set_str(&s.st.seen_id, rev.id);
				pthread_mutex_unlock(&s.st.mu);
				/* a revision refused before is not checked (logged, notified) again at each
				 * fetch; a reload (other paths roots) checks it again */
				if (strcmp(rev.id, s.good.id) != 0 && strcmp(rev.id, s.refused_id) != 0) {
					consider(&s, &rev, &need_pass);
				} else if (strcmp(rev.id, s.good.id) == 0 && s.refused_id[0]) {
					/* the source went back to the revision in force: nothing is refused now */
					s.refused_id[0] = '\0';
					pthread_mutex_lock(&s.st.mu);
					nc_set_str(&s.st.invalid_id, NULL);
					nc_set_str(&s.st.invalid_error, NULL);
					pthread_mutex_unlock(&s.st.mu);
				}
				nc_revision_release(&rev);
				next_fetch = now + (NC_IS_SET(s.cfg.interval) ? (double)s.cfg.interval.ms / 1000 : 60);
			}
		}
		if (s.good_spec && (need_pass || now >= next_drift)) {
			/* re-checked before acting; from here on, losing the lease stops the pass */
			cancel_flag = stop_flag;
			atomic_thread_fence(memory_order_seq_cst);
			if (!leading(&s))
				continue;
			need_pass = false;
			if (run_pass(&s) < 0) {
				s.failures++;
				next_drift = mono() + backoff(s.failures);
				if (once)
					ret = NC_EXIT_ERROR;
			} else {
				s.failures = 0;
				next_drift = mono() + (NC_IS_SET(s.cfg.drift_interval) ?
						       (double)s.cfg.drift_interval.ms / 1000 : 300);
			}
		}
		if (s.good_spec && !once && leading(&s))
			verbs_jobs(&s);
		/* paused: no scheduled backup; those due meanwhile are skipped, not caught up */
		if (s.good_spec && !once && leading(&s) && nc_verbs_paused(s.verbs)) {
			s.backups_checked = time(NULL);
			s.snapshots_checked = time(NULL);
		} else if (s.good_spec && !once && leading(&s)) {
			run_due_backups(&s);
			run_due_snapshots(&s);
		}
		if (once) {
			if (!s.good_spec)
				ret = NC_EXIT_ERROR;
			else if (s.monitor && leading(&s))
				nc_monitor_round(s.monitor);     /* one round: counters and gauges, no rates */
			break;
		}
		/* sleep until something is due, watching the directory if that is the source */
		{
			double due = next_fetch < next_drift || !s.good_spec ? next_fetch : next_drift;
			double wait = due - mono();
			unsigned ms = wait <= 0 ? 0 : wait > 0.25 ? 250 : (unsigned)(wait * 1000);

			if (ms && s.sdrv->wait(s.src, ms) == 1)
				need_fetch = true;
		}
	}
	if (stop_flag)
		logf_("stopping");
	nc_notify_drain(5000);
	stop_parts(&s);
	nc_revision_release(&s.good);
	nc_spec_ref_put(s.good_ref);
	nc_alerts_free(s.kept_alerts);
	for (size_t fi = 0; fi < s.nfences; fi++)
		free(s.fences[fi].host);
	free(s.fences);
	nc_api_destroy(s.api);
	nc_serve_status_release(&s.st);
	nc_spec_free(s.cfg_holder);
	nc_verbs_free(s.verbs);
	free(s.cache_dir);
	free(s.state_dir);
	return ret;
}
