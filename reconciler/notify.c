/*
 * notify.c - tell webhooks about failed passes, drift, applied and refused
 * revisions, HA events and alerts: a JSON POST through libcurl, in a
 * detached thread, with up to three tries (1 s, then 2 s apart) and a 5 s
 * timeout each.  The body is shaped by the target's format: NovaCron's
 * generic JSON, Alertmanager's webhook payload (alerts only) or a Slack /
 * Mattermost {"text": ...} (docs/monitoring.md "Notifications").
 */
#include "serve.h"

#include <curl/curl.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../telemetry/alerts.h"

struct job {
	char *url, *body, *token;
	struct job *next;
};

/*
 * At most NOTIFY_THREADS POSTs at once, the others queued in order (at most
 * NOTIFY_QUEUE_MAX): one AlertRule from git firing on 10,000 VMs at once was
 * 10,000 threads and connections to one receiver.
 */
#define NOTIFY_THREADS 8
#define NOTIFY_QUEUE_MAX 100000
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job *q_head, *q_tail;
static size_t q_len;
static unsigned q_running;
static unsigned long q_dropped;

static atomic_int in_flight;        /* queued and being sent */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static void job_free(struct job *j)
{
	free(j->url);
	free(j->body);
	free(j->token);
	free(j);
}

static void post_one(struct job *j)
{
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		CURL *c = curl_easy_init();
		struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
		long code = 0;
		CURLcode rc;

		if (j->token) {
			char *auth = nc_xasprintf("Authorization: Bearer %s", j->token);

			hdr = curl_slist_append(hdr, auth);
			free(auth);
		}
		curl_easy_setopt(c, CURLOPT_URL, j->url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		if (rc == CURLE_OK && code >= 200 && code < 300)
			break;
		sleep((unsigned)attempt + 1);
	}
}

/* a sender: its job, then the queue's, in order, until it is empty */
static void *post(void *arg)
{
	struct job *j = arg;

	while (j) {
		post_one(j);
		job_free(j);
		atomic_fetch_sub(&in_flight, 1);
		pthread_mutex_lock(&q_mu);
		if ((j = q_head)) {
			q_head = j->next;
			if (!q_head)
				q_tail = NULL;
			q_len--;
		} else {
			q_running--;
		}
		pthread_mutex_unlock(&q_mu);
	}
	/*
	 * The thread is detached: free what OpenSSL keeps for it (its error
	 * queue) now, before nc_notify_drain() can let the process exit, not
	 * in a thread-exit handler that may run after it.
	 */
	OPENSSL_thread_stop();
	return NULL;
}

static bool wants(const struct nc_serve_notify *n, const char *event)
{
	size_t i;

	/* by default: what needs an operator (HA: a host failed, fenced or not, or the observer cut off; alerts) */
	if (!n->events.n) {
		if (n->format.v == NC_NOTIFY_ALERTMANAGER)
			return !strcmp(event, "alert");
		return !strcmp(event, "failed") || !strcmp(event, "drift") || !strcmp(event, "host_failed") ||
		       !strcmp(event, "fenced") || !strcmp(event, "fence_failed") ||
		       !strcmp(event, "partitioned") || !strcmp(event, "alert");
	}
	for (i = 0; i < n->events.n; i++)
		if (strcmp(n->events.v[i].v, event) == 0)
			return true;
	return false;
}

/* POSTs body to n in the background (the token, if any, read now and sent as a header only) */
static void send_body(const struct nc_serve_notify *n, const char *body)
{
	struct job *j;
	pthread_t t;
	pthread_attr_t attr;
	char *tok = NULL;
	size_t len;

	pthread_once(&curl_once, curl_init_once);
	if (NC_IS_SET(n->token_file) && nc_read_file(n->token_file.v, 4096, &tok, &len) == 0)
		tok[strcspn(tok, "\r\n")] = '\0';
	j = nc_xcalloc(1, sizeof(*j));
	j->url = nc_xstrdup(n->url.v);
	j->body = nc_xstrdup(body);
	j->token = tok;
	pthread_mutex_lock(&q_mu);
	if (q_running >= NOTIFY_THREADS) {
		unsigned long dropped = 0;

		if (q_len < NOTIFY_QUEUE_MAX) {
			atomic_fetch_add(&in_flight, 1);
			if (q_tail)
				q_tail->next = j;
			else
				q_head = j;
			q_tail = j;
			q_len++;
			j = NULL;
		} else {
			dropped = ++q_dropped;
		}
		pthread_mutex_unlock(&q_mu);
		if (j) {
			if (dropped == 1 || dropped % 1000 == 0)
				nc_serve_log("notify: %lu notifications dropped: %d waiting to be sent", dropped,
					     NOTIFY_QUEUE_MAX);
			job_free(j);
		}
		return;
	}
	q_running++;
	pthread_mutex_unlock(&q_mu);
	atomic_fetch_add(&in_flight, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, post, j) != 0) {
		atomic_fetch_sub(&in_flight, 1);
		pthread_mutex_lock(&q_mu);
		q_running--;
		pthread_mutex_unlock(&q_mu);
		job_free(j);
	}
	pthread_attr_destroy(&attr);
}

/*
 * Slack's text: '&', '<' and '>' escaped as Slack asks (else "<!channel>" in
 * a message would ping everyone, "<http://x|y>" would hide a link).
 */
static void add_slack_text(struct nc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			nc_buf_adds(b, "&amp;");
		else if (*s == '<')
			nc_buf_adds(b, "&lt;");
		else if (*s == '>')
			nc_buf_adds(b, "&gt;");
		else
			nc_buf_addc(b, *s);
	}
}

/* {"text": TEXT} with TEXT escaped for Slack, then for JSON */
static void slack_body(struct nc_buf *out, const char *text)
{
	struct nc_buf t = NC_BUF_INIT;

	add_slack_text(&t, text);
	nc_buf_adds(out, "{\"text\": ");
	nc_buf_add_json_str(out, t.buf);
	nc_buf_adds(out, "}\n");
	nc_buf_release(&t);
}

static char *source_of(const struct nc_serve_config *cfg)
{
	/* credentials never leave the process: URLs in the payload are shown without them */
	return nc_url_redact(NC_IS_SET(cfg->source.git) ? cfg->source.git.url.v :
			     cfg->source.directory.v ? cfg->source.directory.v : "");
}

void nc_notify(const struct nc_serve_config *cfg, const char *event, const char *revision,
	       const char *message)
{
	nc_notify_host(cfg, event, revision, NULL, message);
}

void nc_notify_host(const struct nc_serve_config *cfg, const char *event, const char *revision,
		    const char *host, const char *message)
{
	struct nc_buf body = NC_BUF_INIT, slack = NC_BUF_INIT, text = NC_BUF_INIT;
	char *safe_source, *safe_message;
	size_t i;

	nc_buf_adds(&body, "{\"event\": ");
	nc_buf_add_json_str(&body, event);
	safe_source = source_of(cfg);
	safe_message = nc_url_redact(message ? message : "");
	nc_buf_adds(&body, ", \"source\": ");
	nc_buf_add_json_str(&body, safe_source);
	nc_buf_adds(&body, ", \"revision\": ");
	if (revision)
		nc_buf_add_json_str(&body, revision);
	else
		nc_buf_adds(&body, "null");
	if (host) {
		nc_buf_adds(&body, ", \"host\": ");
		nc_buf_add_json_str(&body, host);
	}
	nc_buf_adds(&body, ", \"message\": ");
	nc_buf_add_json_str(&body, safe_message);
	nc_buf_addf(&body, ", \"time\": %lld}\n", (long long)time(NULL));
	/* "NovaCron drift at revision 3f2c1a2b0c1d: MESSAGE", "NovaCron host_failed on kvm2: ..." */
	nc_buf_addf(&text, "NovaCron %s", event);
	if (host)
		nc_buf_addf(&text, " on %s", host);
	if (revision)
		nc_buf_addf(&text, " at revision %.12s", revision);
	if (*safe_message)
		nc_buf_addf(&text, ": %s", safe_message);
	slack_body(&slack, text.buf);
	for (i = 0; i < cfg->notify.n; i++) {
		const struct nc_serve_notify *n = (const struct nc_serve_notify *)cfg->notify.v + i;

		if (!wants(n, event) || n->format.v == NC_NOTIFY_ALERTMANAGER)
			continue;
		send_body(n, n->format.v == NC_NOTIFY_SLACK ? slack.buf : body.buf);
	}
	nc_buf_release(&body);
	nc_buf_release(&slack);
	nc_buf_release(&text);
	free(safe_source);
	free(safe_message);
}

/* ---- alerts ---- */

static void json_num(struct nc_buf *b, double v)
{
	if (isnan(v) || isinf(v))
		nc_buf_adds(b, "null");
	else
		nc_buf_addf(b, "%.9g", v);
}

static void rfc3339(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "key": "value" pairs of an alert's labels, in Alertmanager's (sorted) order */
static void am_labels(struct nc_buf *b, const struct nc_alert_event *ev, bool group_only)
{
	nc_buf_adds(b, "{\"alertname\": ");
	nc_buf_add_json_str(b, ev->rule);
	if (group_only) {
		nc_buf_adds(b, "}");
		return;
	}
	if (ev->host) {
		nc_buf_adds(b, ", \"host\": ");
		nc_buf_add_json_str(b, ev->host);
	}
	nc_buf_adds(b, ", \"metric\": ");
	nc_buf_add_json_str(b, ev->metric);
	nc_buf_adds(b, ", \"object\": ");
	nc_buf_add_json_str(b, ev->object);
	nc_buf_adds(b, ", \"severity\": ");
	nc_buf_add_json_str(b, ev->severity);
	nc_buf_addf(b, ", \"target\": \"%s\"}", nc_metric_target_name(ev->target));
}

/* 16 hex digits naming the alert (rule, target, object), as Alertmanager's fingerprint does */
static void fingerprint(char out[17], const struct nc_alert_event *ev)
{
	struct nc_buf b = NC_BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	nc_buf_addf(&b, "%s", ev->rule);
	nc_buf_addc(&b, '\0');
	nc_buf_adds(&b, nc_metric_target_name(ev->target));
	nc_buf_addc(&b, '\0');
	nc_buf_adds(&b, ev->object);
	EVP_Digest(b.buf, b.len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[16] = '\0';
	nc_buf_release(&b);
}

static void alertmanager_body(struct nc_buf *b, const struct nc_serve_config *cfg, const struct nc_alert_event *ev)
{
	const char *status = ev->state == NC_ALERT_RESOLVED ? "resolved" : "firing";
	char starts[32], ends[32], fp[17];
	struct nc_buf url = NC_BUF_INIT, annotations = NC_BUF_INIT, value = NC_BUF_INIT;

	rfc3339(starts, sizeof(starts), ev->since ? ev->since : ev->at);
	if (ev->state == NC_ALERT_RESOLVED)
		rfc3339(ends, sizeof(ends), ev->at);
	else
		snprintf(ends, sizeof(ends), "0001-01-01T00:00:00Z");
	fingerprint(fp, ev);
	nc_buf_addf(&url, "http://%s", NC_IS_SET(cfg->listen) ? cfg->listen.v : "127.0.0.1:9090");
	json_num(&value, ev->value);
	nc_buf_adds(&annotations, "{\"summary\": ");
	nc_buf_add_json_str(&annotations, ev->summary ? ev->summary : "");
	nc_buf_adds(&annotations, ", \"value\": ");
	nc_buf_add_json_str(&annotations, value.buf);
	nc_buf_adds(&annotations, "}");

	nc_buf_adds(b, "{\"version\": \"4\", \"groupKey\": ");
	{
		char *gk = nc_xasprintf("{}:{alertname=\"%s\"}", ev->rule);

		nc_buf_add_json_str(b, gk);
		free(gk);
	}
	nc_buf_addf(b, ", \"truncatedAlerts\": 0, \"status\": \"%s\", \"receiver\": \"novacron\", \"groupLabels\": ",
		    status);
	am_labels(b, ev, true);
	nc_buf_adds(b, ", \"commonLabels\": ");
	am_labels(b, ev, false);
	nc_buf_adds(b, ", \"commonAnnotations\": ");
	nc_buf_add(b, annotations.buf, annotations.len);
	nc_buf_adds(b, ", \"externalURL\": ");
	nc_buf_add_json_str(b, url.buf);
	nc_buf_addf(b, ", \"alerts\": [{\"status\": \"%s\", \"labels\": ", status);
	am_labels(b, ev, false);
	nc_buf_adds(b, ", \"annotations\": ");
	nc_buf_add(b, annotations.buf, annotations.len);
	nc_buf_addf(b, ", \"startsAt\": \"%s\", \"endsAt\": \"%s\", \"generatorURL\": ", starts, ends);
	nc_buf_adds(&url, "/status");
	nc_buf_add_json_str(b, url.buf);
	nc_buf_addf(b, ", \"fingerprint\": \"%s\"}]}\n", fp);
	nc_buf_release(&url);
	nc_buf_release(&annotations);
	nc_buf_release(&value);
}

static void generic_alert_body(struct nc_buf *b, const struct nc_serve_config *cfg, const struct nc_alert_event *ev)
{
	char *safe_source = source_of(cfg);

	nc_buf_adds(b, "{\"event\": \"alert\", \"source\": ");
	nc_buf_add_json_str(b, safe_source);
	nc_buf_adds(b, ", \"revision\": null");
	if (ev->host) {
		nc_buf_adds(b, ", \"host\": ");
		nc_buf_add_json_str(b, ev->host);
	}
	nc_buf_adds(b, ", \"message\": ");
	nc_buf_add_json_str(b, ev->summary ? ev->summary : "");
	nc_buf_addf(b, ", \"time\": %lld, \"alert\": {\"rule\": ", (long long)ev->at);
	nc_buf_add_json_str(b, ev->rule);
	nc_buf_addf(b, ", \"state\": \"%s\", \"severity\": ", nc_alert_state_name(ev->state));
	nc_buf_add_json_str(b, ev->severity);
	nc_buf_addf(b, ", \"target\": \"%s\", \"object\": ", nc_metric_target_name(ev->target));
	nc_buf_add_json_str(b, ev->object);
	nc_buf_adds(b, ", \"host\": ");
	if (ev->host)
		nc_buf_add_json_str(b, ev->host);
	else
		nc_buf_adds(b, "null");
	nc_buf_adds(b, ", \"metric\": ");
	nc_buf_add_json_str(b, ev->metric);
	nc_buf_adds(b, ", \"value\": ");
	json_num(b, ev->value);
	nc_buf_adds(b, ", \"summary\": ");
	nc_buf_add_json_str(b, ev->summary ? ev->summary : "");
	nc_buf_addf(b, ", \"since\": %lld, \"at\": %lld}}\n", (long long)ev->since, (long long)ev->at);
	free(safe_source);
}

void nc_notify_alert(const struct nc_serve_config *cfg, const struct nc_alert_event *ev)
{
	struct nc_buf generic = NC_BUF_INIT, am = NC_BUF_INIT, slack = NC_BUF_INIT, text = NC_BUF_INIT;
	size_t i;

	for (i = 0; i < cfg->notify.n; i++) {
		const struct nc_serve_notify *n = (const struct nc_serve_notify *)cfg->notify.v + i;
		struct nc_buf *b;

		if (!wants(n, "alert"))
			continue;
		switch (n->format.v) {
		case NC_NOTIFY_ALERTMANAGER:
			b = &am;
			if (!b->len)
				alertmanager_body(b, cfg, ev);
			break;
		case NC_NOTIFY_SLACK:
			b = &slack;
			if (!b->len) {
				/* "[FIRING] warning host-memory-high: kvm1 memory at 93.0%" */
				nc_buf_addf(&text, "[%s] %s %s: %s", ev->state == NC_ALERT_RESOLVED ? "RESOLVED" : "FIRING",
					    ev->severity, ev->rule, ev->summary ? ev->summary : "");
				slack_body(b, text.buf);
			}
			break;
		default:
			b = &generic;
			if (!b->len)
				generic_alert_body(b, cfg, ev);
			break;
		}
		send_body(n, b->buf);
	}
	nc_buf_release(&generic);
	nc_buf_release(&am);
	nc_buf_release(&slack);
	nc_buf_release(&text);
}

void nc_notify_drain(unsigned timeout_ms)
{
	unsigned waited = 0;

	while (atomic_load(&in_flight) > 0 && waited < timeout_ms) {
		usleep(20000);
		waited += 20;
	}
}
