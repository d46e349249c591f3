/*
 * status.c - what `serve` reports: /status as JSON (docs/operations.md) and
 * /metrics in the Prometheus text format.  Callers hold nothing: both take
 * the status mutex themselves.
 */
#include "serve.h"

#include "health.h"
#include "monitor.h"

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void nc_set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? nc_xstrdup(v) : NULL;
}

void nc_set_str_redacted(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? nc_url_redact(v) : NULL;
}

/* ---- the log: levels, text or JSON lines, the pass in progress (serve.h) ---- */
static atomic_int log_level = NC_LOG_INFO;
static atomic_int log_format = NC_LOG_TEXT;
static pthread_mutex_t ctx_mu = PTHREAD_MUTEX_INITIALIZER;
static char ctx_revision[160];
static uint64_t ctx_pass;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int nc_log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(level_names); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcmp(s, "warning") == 0)
		return NC_LOG_WARN;
	return -1;
}

const char *nc_log_level_name(enum nc_log_level l)
{
	return (unsigned)l < NC_ARRAY_SIZE(level_names) ? level_names[l] : "info";
}

void nc_log_configure(enum nc_log_level level, enum nc_log_format format)
{
	atomic_store(&log_level, (int)level);
	atomic_store(&log_format, (int)format);
}

bool nc_log_enabled(enum nc_log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

void nc_log_context(const char *revision, uint64_t pass)
{
	pthread_mutex_lock(&ctx_mu);
	snprintf(ctx_revision, sizeof(ctx_revision), "%s", revision ? revision : "");
	ctx_pass = pass;
	pthread_mutex_unlock(&ctx_mu);
}

uint64_t nc_log_pass(void)
{
	uint64_t p;

	pthread_mutex_lock(&ctx_mu);
	p = ctx_pass;
	pthread_mutex_unlock(&ctx_mu);
	return p;
}

/* s with every byte that is not part of valid UTF-8 replaced by '?' (in place): a JSON line
 * a parser can read whatever a name from the cluster holds */
static void utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		unsigned n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
			     (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 3 : 4;
		unsigned i;

		if (n == 4) {
			*p++ = '?';
			continue;
		}
		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (i <= n) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

static void json_add_str(struct json_object *o, const char *k, const char *v)
{
	char *c;

	if (!v) {
		json_object_object_add(o, k, NULL);
		return;
	}
	c = nc_url_redact(v);
	utf8_clean(c);
	json_object_object_add(o, k, json_object_new_string(c));
	free(c);
}

void nc_serve_logv_at(enum nc_log_level level, const struct nc_log_fields *f, const char *fmt, va_list ap)
{
	struct nc_buf b = NC_BUF_INIT;
	char ts[32], *safe;
	struct timespec now;
	struct tm tm;

	if (!nc_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	nc_buf_vaddf(&b, fmt, ap);
	safe = nc_url_redact(b.buf);
	nc_buf_reset(&b);
	if (atomic_load(&log_format) == NC_LOG_JSON) {
		/* {"time", "level", "msg", "revision", "pass", then vm, host, action where given} */
		struct json_object *o = json_object_new_object();
		char tbuf[80];

		snprintf(tbuf, sizeof(tbuf), "%s.%03ldZ", ts, now.tv_nsec / 1000000);
		json_object_object_add(o, "time", json_object_new_string(tbuf));
		json_object_object_add(o, "level", json_object_new_string(nc_log_level_name(level)));
		utf8_clean(safe);
		json_object_object_add(o, "msg", json_object_new_string(safe));
		pthread_mutex_lock(&ctx_mu);
		json_object_object_add(o, "revision", ctx_revision[0] ? json_object_new_string(ctx_revision) : NULL);
		json_object_object_add(o, "pass", ctx_pass ? json_object_new_int64((int64_t)ctx_pass) : NULL);
		pthread_mutex_unlock(&ctx_mu);
		if (f && f->vm)
			json_add_str(o, "vm", f->vm);
		if (f && f->host)
			json_add_str(o, "host", f->host);
		if (f && f->action)
			json_add_str(o, "action", f->action);
		nc_buf_adds(&b, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
		const char *pre = prefix[level];

		/* messages that say their level themselves keep their words */
		if (*pre && strncmp(safe, pre, strlen(pre)) == 0)
			pre = "";
		nc_buf_addf(&b, "%s.%03ldZ novacron serve: %s", ts, now.tv_nsec / 1000000, pre);
		/* one event, one line: names from the cluster (an unmanaged domain may be
		 * called "x\r\nnovacron serve: lease lost") cannot forge lines or move the cursor */
		for (const unsigned char *p = (const unsigned char *)safe; *p; p++) {
			if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
				nc_buf_addf(&b, "\\x%02x", *p);
			else
				nc_buf_addc(&b, (char)*p);
		}
	}
	nc_buf_adds(&b, "\n");
	free(safe);
	fflush(stderr);
	(void)nc_write_all(STDERR_FILENO, b.buf, b.len);
	nc_buf_release(&b);
}

void nc_serve_log_block(enum nc_log_level level, const char *text)
{
	char *copy, *line, *save = NULL;

	if (!text || !*text || !nc_log_enabled(level))
		return;
	if (atomic_load(&log_format) != NC_LOG_JSON) {
		fflush(stderr);
		(void)nc_write_all(STDERR_FILENO, text, strlen(text));
		return;
	}
	copy = nc_xstrdup(text);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		nc_serve_logl(level, "%s", line);
	free(copy);
}

void nc_serve_vlog(const char *fmt, va_list ap)
{
	nc_serve_logv_at(NC_LOG_INFO, NULL, fmt, ap);
}

void nc_serve_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_serve_logv_at(NC_LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void nc_serve_logl(enum nc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_serve_logv_at(level, NULL, fmt, ap);
	va_end(ap);
}

void nc_serve_logf(enum nc_log_level level, const struct nc_log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_serve_logv_at(level, f, fmt, ap);
	va_end(ap);
}

void nc_serve_status_init(struct nc_serve_status *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->started = time(NULL);
	s->last_result = nc_xstrdup("starting");
}

void nc_serve_status_release(struct nc_serve_status *s)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++) {
		free(s->hosts[i].name);
		free(s->hosts[i].uri);
		free(s->hosts[i].error);
	}
	free(s->hosts);
	free(s->lease_holder);
	free(s->source);
	free(s->applied_id);
	free(s->applied_summary);
	free(s->seen_id);
	free(s->invalid_id);
	free(s->invalid_error);
	free(s->last_result);
	free(s->last_error);
	free(s->last_backup_error);
	free(s->plan_held);
	free(s->cluster);
	pthread_mutex_destroy(&s->mu);
}

static void jstr(struct nc_buf *b, const char *s)
{
	if (s)
		nc_buf_add_json_str(b, s);
	else
		nc_buf_adds(b, "null");
}

/* for every field that may hold a URL or quote one: credentials never leave */
static void jsafe(struct nc_buf *b, const char *s)
{
	char *r;

	if (!s) {
		nc_buf_adds(b, "null");
		return;
	}
	r = nc_url_redact(s);
	nc_buf_add_json_str(b, r);
	free(r);
}

static const char *const results[] = { "done", "failed", "skipped" };

/* hosts that could not be read in the last pass, declared or recorded */
static size_t unreachable(const struct nc_serve_status *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nhosts; i++)
		n += !s->hosts[i].up;
	return n;
}

void nc_serve_status_json(struct nc_serve_status *s, struct nc_buf *b)
{
	size_t i, k, r;
	bool first = true;

	pthread_mutex_lock(&s->mu);
	nc_buf_addf(b, "{\n  \"format_version\": 1,\n  \"leader\": %s,\n  \"paused\": %s,\n  \"apply_mode\": \"%s\",\n  \"plan_held\": ",
		    s->leader ? "true" : "false", s->paused ? "true" : "false", s->approve_mode ? "approve" : "auto");
	jstr(b, s->plan_held);
	nc_buf_adds(b, ",\n  \"cluster\": ");   /* serve --cluster (docs/federation.md) */
	jstr(b, s->cluster);
	nc_buf_adds(b, ",\n  \"lease\": ");
	jsafe(b, s->lease_holder);
	nc_buf_adds(b, ",\n  \"source\": ");
	jsafe(b, s->source);
	nc_buf_adds(b, ",\n  \"applied\": {\"revision\": ");
	jstr(b, s->applied_id);
	nc_buf_adds(b, ", \"summary\": ");
	jsafe(b, s->applied_summary);
	nc_buf_adds(b, "},\n  \"seen\": ");
	jstr(b, s->seen_id);
	nc_buf_adds(b, ",\n  \"invalid\": {\"revision\": ");
	jstr(b, s->invalid_id);
	nc_buf_adds(b, ", \"error\": ");
	jsafe(b, s->invalid_error);
	nc_buf_adds(b, "},\n  \"last_pass\": {\"result\": ");
	jstr(b, s->last_result);
	nc_buf_addf(b, ", \"time\": %lld, \"seconds\": %.3f, \"error\": ", (long long)s->last_pass,
		    s->last_pass_seconds);
	jsafe(b, s->last_error);
	nc_buf_addf(b, "},\n  \"backups\": {\"ok\": %llu, \"failed\": %llu, \"last\": %lld, \"error\": ",
		    (unsigned long long)s->backups_ok, (unsigned long long)s->backups_failed, (long long)s->last_backup);
	jsafe(b, s->last_backup_error);
	nc_buf_addf(b, "},\n  \"passes\": {\"ok\": %llu, \"failed\": %llu},\n  \"drift\": %zu,\n"
		       "  \"pending_actions\": %zu,\n  \"vms\": {\"running\": %zu, \"stopped\": %zu, \"other\": %zu},\n"
		       "  \"actions\": {", (unsigned long long)s->passes_ok, (unsigned long long)s->passes_failed,
		    s->drift, s->pending, s->vms_running, s->vms_stopped, s->vms_other);
	for (k = 0; k < NC_ACT__COUNT; k++) {
		for (r = 0; r < 3; r++) {
			if (!s->actions[k][r])
				continue;
			nc_buf_addf(b, "%s\"%s/%s\": %llu", first ? "" : ", ", nc_action_name((enum nc_action_kind)k),
				    results[r], (unsigned long long)s->actions[k][r]);
			first = false;
		}
	}
	nc_buf_adds(b, "},\n  \"hosts\": [");
	for (i = 0; i < s->nhosts; i++) {
		nc_buf_adds(b, i ? ", {\"name\": " : "{\"name\": ");
		jstr(b, s->hosts[i].name);
		nc_buf_adds(b, ", \"uri\": ");
		jsafe(b, s->hosts[i].uri);
		nc_buf_addf(b, ", \"up\": %s, \"error\": ", s->hosts[i].up ? "true" : "false");
		jsafe(b, s->hosts[i].error);
		nc_buf_addf(b, ", \"declared\": %s}", s->hosts[i].declared ? "true" : "false");
	}
	nc_buf_adds(b, "],\n  \"ha\": ");
	nc_health_json(s->health, b);
	nc_buf_adds(b, ",\n  ");
	nc_monitor_json(s->monitor, b);
	nc_buf_addf(b, ",\n  \"unreachable\": %zu,\n  \"uptime\": %lld\n}\n", unreachable(s),
		    (long long)(time(NULL) - s->started));
	pthread_mutex_unlock(&s->mu);
}

void nc_prom_label(struct nc_buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			nc_buf_addc(b, '\\');
		if (*s == '\n')
			nc_buf_adds(b, "\\n");
		else
			nc_buf_addc(b, *s);
	}
}

void nc_serve_metrics(struct nc_serve_status *s, struct nc_buf *b)
{
	size_t i, k, r;

	pthread_mutex_lock(&s->mu);
	nc_buf_addf(b, "# HELP novacron_leader 1 when this instance holds the lease.\n"
		       "# TYPE novacron_leader gauge\nnovacron_leader %d\n", s->leader);
	nc_buf_addf(b, "# HELP novacron_paused 1 when reconciliation is paused (POST /api/v1/pause).\n"
		       "# TYPE novacron_paused gauge\nnovacron_paused %d\n", s->paused);
	nc_buf_addf(b, "# HELP novacron_plan_held 1 when a plan waits for approval (apply.mode approve).\n"
		       "# TYPE novacron_plan_held gauge\nnovacron_plan_held %d\n", s->plan_held != NULL);
	if (s->cluster) {   /* serve --cluster: which cluster this instance serves (docs/federation.md) */
		nc_buf_adds(b, "# HELP novacron_cluster_info The Cluster of the spec this instance acts on.\n"
			       "# TYPE novacron_cluster_info gauge\nnovacron_cluster_info{cluster=\"");
		nc_prom_label(b, s->cluster);
		nc_buf_adds(b, "\"} 1\n");
	}
	nc_buf_addf(b, "# HELP novacron_pass_duration_seconds Duration of the last reconcile pass.\n"
		       "# TYPE novacron_pass_duration_seconds gauge\nnovacron_pass_duration_seconds %.6f\n",
		    s->last_pass_seconds);
	nc_buf_addf(b, "# HELP novacron_last_pass_timestamp_seconds When the last pass ended.\n"
		       "# TYPE novacron_last_pass_timestamp_seconds gauge\nnovacron_last_pass_timestamp_seconds %lld\n",
		    (long long)s->last_pass);
	nc_buf_addf(b, "# HELP novacron_passes_total Reconcile passes by result.\n"
		       "# TYPE novacron_passes_total counter\nnovacron_passes_total{result=\"ok\"} %llu\n"
		       "novacron_passes_total{result=\"failed\"} %llu\n",
		    (unsigned long long)s->passes_ok, (unsigned long long)s->passes_failed);
	nc_buf_addf(b, "# HELP novacron_backups_total VM backups run by BackupSchedules, by result.\n"
		       "# TYPE novacron_backups_total counter\nnovacron_backups_total{result=\"ok\"} %llu\n"
		       "novacron_backups_total{result=\"failed\"} %llu\n",
		    (unsigned long long)s->backups_ok, (unsigned long long)s->backups_failed);
	nc_buf_addf(b, "# HELP novacron_last_backup_timestamp_seconds When the last scheduled backup run ended.\n"
		       "# TYPE novacron_last_backup_timestamp_seconds gauge\nnovacron_last_backup_timestamp_seconds %lld\n",
		    (long long)s->last_backup);
	nc_buf_addf(b, "# HELP novacron_fetch_failures_total Source fetches that failed.\n"
		       "# TYPE novacron_fetch_failures_total counter\nnovacron_fetch_failures_total %llu\n",
		    (unsigned long long)s->fetch_failures);
	nc_buf_adds(b, "# HELP novacron_actions_total Actions applied, by kind and result.\n"
		       "# TYPE novacron_actions_total counter\n");
	for (k = 0; k < NC_ACT__COUNT; k++)
		for (r = 0; r < 3; r++)
			nc_buf_addf(b, "novacron_actions_total{kind=\"%s\",result=\"%s\"} %llu\n",
				    nc_action_name((enum nc_action_kind)k), results[r],
				    (unsigned long long)s->actions[k][r]);
	nc_buf_addf(b, "# HELP novacron_drift VMs that drifted from the spec in the last pass.\n"
		       "# TYPE novacron_drift gauge\nnovacron_drift %zu\n", s->drift);
	nc_buf_addf(b, "# HELP novacron_pending_actions Actions not done after the last pass.\n"
		       "# TYPE novacron_pending_actions gauge\nnovacron_pending_actions %zu\n", s->pending);
	nc_buf_addf(b, "# HELP novacron_vms Managed VMs by observed state.\n# TYPE novacron_vms gauge\n"
		       "novacron_vms{state=\"running\"} %zu\nnovacron_vms{state=\"stopped\"} %zu\n"
		       "novacron_vms{state=\"other\"} %zu\n", s->vms_running, s->vms_stopped, s->vms_other);
	nc_buf_adds(b, "# HELP novacron_host_up 1 when the host answered in the last pass.\n"
		       "# TYPE novacron_host_up gauge\n");
	for (i = 0; i < s->nhosts; i++) {
		nc_buf_adds(b, "novacron_host_up{host=\"");
		nc_prom_label(b, s->hosts[i].name);
		nc_buf_addf(b, "\"} %d\n", s->hosts[i].up);
	}
	nc_buf_addf(b, "# HELP novacron_hosts_unreachable Hosts (declared, or recorded and no longer declared) "
		       "that could not be read in the last pass.\n# TYPE novacron_hosts_unreachable gauge\n"
		       "novacron_hosts_unreachable %zu\n", unreachable(s));
	nc_health_metrics(s->health, b);
	nc_buf_adds(b, "# HELP novacron_revision_info The revision in force (1) and the newest refused (0).\n"
		       "# TYPE novacron_revision_info gauge\n");
	if (s->applied_id) {
		nc_buf_adds(b, "novacron_revision_info{revision=\"");
		nc_prom_label(b, s->applied_id);
		nc_buf_adds(b, "\",state=\"applied\"} 1\n");
	}
	if (s->invalid_id) {
		nc_buf_adds(b, "novacron_revision_info{revision=\"");
		nc_prom_label(b, s->invalid_id);
		nc_buf_adds(b, "\",state=\"invalid\"} 0\n");
	}
	nc_monitor_metrics(s->monitor, b);
	pthread_mutex_unlock(&s->mu);
}

static double log_limit_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void nc_log_limit_init(struct nc_log_limit *l, const char *prefix, const char *what, unsigned burst,
		       double window, size_t max_line)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->prefix = prefix;
	l->what = what;
	l->burst = burst;
	l->window = window;
	l->max_line = max_line;
	l->start = log_limit_now();
}

/* call with mu held */
static void log_limit_flush_locked(struct nc_log_limit *l, double now)
{
	if (now - l->start < l->window)
		return;
	if (l->suppressed)
		nc_serve_logl(NC_LOG_WARN, "%s: suppressed %lu messages%s in the last %.0fs", l->prefix, l->suppressed, l->what,
			     l->window);
	l->start = now;
	l->lines = 0;
	l->suppressed = 0;
}

void nc_log_limit_flush(struct nc_log_limit *l)
{
	pthread_mutex_lock(&l->mu);
	log_limit_flush_locked(l, log_limit_now());
	pthread_mutex_unlock(&l->mu);
}

void nc_log_limitedv(struct nc_log_limit *l, const char *fmt, va_list ap)
{
	struct nc_buf b = NC_BUF_INIT;

	nc_buf_vaddf(&b, fmt, ap);
	if (l->max_line && b.len > l->max_line)
		b.buf[b.len = l->max_line] = '\0';
	while (b.len && (b.buf[b.len - 1] == '\n' || b.buf[b.len - 1] == '\r'))
		b.buf[--b.len] = '\0';
	pthread_mutex_lock(&l->mu);
	log_limit_flush_locked(l, log_limit_now());
	if (l->lines < l->burst) {
		l->lines++;
		nc_serve_logl(NC_LOG_WARN, "%s: %s", l->prefix, b.buf);
	} else {
		l->suppressed++;
	}
	pthread_mutex_unlock(&l->mu);
	nc_buf_release(&b);
}

void nc_log_limited(struct nc_log_limit *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_log_limitedv(l, fmt, ap);
	va_end(ap);
}

void nc_log_limit_destroy(struct nc_log_limit *l)
{
	pthread_mutex_lock(&l->mu);
	if (l->suppressed)
		nc_serve_logl(NC_LOG_WARN, "%s: suppressed %lu messages%s", l->prefix, l->suppressed, l->what);
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_destroy(&l->mu);
}
