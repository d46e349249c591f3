/*
 * notify.c - tell webhooks about failed passes, drift, applied and refused
 * revisions, HA events and alerts, and git forges about each revision (a
 * commit status): a POST through libcurl, in a detached thread, with up to
 * three tries (1 s, then 2 s apart; only after a transport error, a 5xx or a
 * 429) and a 5 s timeout each.  The body is shaped by the target's type:
 * NovaCron's generic JSON (optionally HMAC-signed), Alertmanager's webhook
 * payload (alerts only), Slack's and Mattermost's {"text": ...}, a Teams
 * Adaptive Card, or GitHub's and GitLab's commit status (docs/monitoring.md
 * "Notifications").  Bodies are built with json-c.  Neither a token nor a
 * webhook URL (Slack's and Teams' hold their key) is ever logged: a target
 * is named by its position, type and host.
 */
#include "serve.h"

#include <ctype.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <math.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../telemetry/alerts.h"

struct job {
	char *url, *body;
	struct curl_slist *headers;      /* with any token: never logged */
	char *label;                     /* "notify[2] (slack, https://hooks.slack.com)": what the log names */
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
	curl_slist_free_all(j->headers);
	free(j->label);
	free(j);
}

static void post_one(struct job *j)
{
	int attempt;
	long code = 0;
	CURLcode rc = CURLE_OK;

	for (attempt = 0; attempt < 3; attempt++) {
		CURL *c = curl_easy_init();

		code = 0;
		curl_easy_setopt(c, CURLOPT_URL, j->url);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->headers);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(c);
		if (rc == CURLE_OK && code >= 200 && code < 300) {
			nc_serve_logl(NC_LOG_DEBUG, "notify: %s: HTTP %ld", j->label, code);
			return;
		}
		/* a refusal (a bad token, a malformed status) is not retried: it would be refused again */
		if (rc == CURLE_OK && code < 500 && code != 429)
			break;
		if (attempt < 2)
			sleep((unsigned)attempt + 1);
	}
	if (rc != CURLE_OK)
		nc_serve_logl(NC_LOG_WARN, "notify: %s: not sent: %s", j->label, curl_easy_strerror(rc));
	else
		nc_serve_logl(NC_LOG_WARN, "notify: %s: refused: HTTP %ld%s", j->label, code,
			      code >= 500 || code == 429 ? " after 3 tries" : "");
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

enum nc_notify_format nc_notify_type(const struct nc_serve_notify *n)
{
	if (NC_IS_SET(n->type))
		return (enum nc_notify_format)n->type.v;
	return (enum nc_notify_format)n->format.v;
}

bool nc_notify_is_forge(const struct nc_serve_notify *n)
{
	enum nc_notify_format t = nc_notify_type(n);

	return t == NC_NOTIFY_GITHUB_STATUS || t == NC_NOTIFY_GITLAB_STATUS;
}

bool nc_notify_has_forge(const struct nc_serve_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->notify.n; i++)
		if (nc_notify_is_forge((const struct nc_serve_notify *)cfg->notify.v + i))
			return true;
	return false;
}

static const char *const type_names[] = { "generic", "alertmanager", "slack", "mattermost", "teams",
					  "github-status", "gitlab-status" };

static bool wants(const struct nc_serve_notify *n, const char *event)
{
	size_t i;

	if (nc_notify_is_forge(n))
		return false;        /* commit statuses only */
	/* by default: what needs an operator (HA: a host failed, fenced or not, or the observer cut off; alerts) */
	if (!n->events.n) {
		if (nc_notify_type(n) == NC_NOTIFY_ALERTMANAGER)
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

/* the target's token: tokenFile's first line, else $tokenEnv; NULL: none (caller frees) */
static char *target_token(const struct nc_serve_notify *n)
{
	char *tok = NULL;
	size_t len;

	if (NC_IS_SET(n->token_file)) {
		if (nc_read_file(n->token_file.v, 4096, &tok, &len) < 0)
			return NULL;
		tok[strcspn(tok, "\r\n")] = '\0';
		return tok;
	}
	if (NC_IS_SET(n->token_env)) {
		const char *e = getenv(n->token_env.v);

		return e && *e && !strpbrk(e, "\r\n") ? nc_xstrdup(e) : NULL;
	}
	return NULL;
}

/* "notify[2] (slack, https://hooks.slack.com)": the URL's path and query (a webhook's key) left out */
static char *target_label(const struct nc_serve_config *cfg, const struct nc_serve_notify *n, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *label;
	size_t idx = (size_t)(n - (const struct nc_serve_notify *)cfg->notify.v);

	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
		curl_url_get(u, CURLUPART_HOST, &host, 0);
		curl_url_get(u, CURLUPART_PORT, &port, 0);
	}
	label = nc_xasprintf("notify[%zu] (%s, %s://%s%s%s)", idx, type_names[nc_notify_type(n)],
			     scheme ? scheme : "?", host ? host : "?", port ? ":" : "", port ? port : "");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return label;
}

/* queues or starts one POST (it owns headers) */
static void enqueue(const struct nc_serve_config *cfg, const struct nc_serve_notify *n, const char *url,
		    const char *body, struct curl_slist *headers)
{
	struct job *j;
	pthread_t t;
	pthread_attr_t attr;

	j = nc_xcalloc(1, sizeof(*j));
	j->url = nc_xstrdup(url);
	j->body = nc_xstrdup(body);
	j->headers = headers;
	j->label = target_label(cfg, n, url);
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
				nc_serve_logl(NC_LOG_WARN, "notify: %lu notifications dropped: %d waiting to be sent",
					      dropped, NOTIFY_QUEUE_MAX);
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

/* X-NovaCron-Signature: sha256=HEX, the HMAC-SHA256 of body under the secretFile's key */
static struct curl_slist *sign(struct curl_slist *h, const struct nc_serve_notify *n, const char *body)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char *key = NULL, hex[2 * EVP_MAX_MD_SIZE + 1], *line;
	size_t klen;

	if (!NC_IS_SET(n->secret_file))
		return h;
	if (nc_read_file(n->secret_file.v, 4096, &key, &klen) < 0)
		return h;       /* checked at startup; a file gone since: unsigned, the receiver refuses it */
	while (klen && (key[klen - 1] == '\n' || key[klen - 1] == '\r'))
		key[--klen] = '\0';
	if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)body, strlen(body), md, &mdlen)) {
		for (i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		hex[2 * mdlen] = '\0';
		line = nc_xasprintf("X-NovaCron-Signature: sha256=%s", hex);
		h = curl_slist_append(h, line);
		free(line);
	}
	OPENSSL_cleanse(key, klen);
	free(key);
	return h;
}

/* POSTs a JSON body to a webhook target in the background: its token as a Bearer header, its signature */
static void send_body(const struct nc_serve_config *cfg, const struct nc_serve_notify *n, const char *body)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char *tok;

	pthread_once(&curl_once, curl_init_once);
	tok = target_token(n);
	if (tok) {
		char *auth = nc_xasprintf("Authorization: Bearer %s", tok);

		h = curl_slist_append(h, auth);
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	if (nc_notify_type(n) == NC_NOTIFY_GENERIC)
		h = sign(h, n, body);
	enqueue(cfg, n, n->url.v, body, h);
}

static const char *to_json(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static struct json_object *jstr_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* at most max bytes of s, cut on a character boundary, "..." when cut (caller frees) */
static char *cut_utf8(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return nc_xstrdup(s);
	n = max - 3;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return nc_xasprintf("%.*s...", (int)n, s);
}

/* chat text is cut here: a refused revision's 50 errors stay readable and under every limit */
#define CHAT_MAX 3000

/*
 * Slack's text: '&', '<' and '>' escaped as Slack asks (else "<!channel>" in
 * a message would ping everyone, "<http://x|y>" would hide a link).
 */
static void add_slack_text(struct nc_buf *b, const char *s)
{
	/* cut at CHAT_MAX bytes, never inside a character */
	for (; *s && (b->len < CHAT_MAX || ((unsigned char)*s & 0xc0) == 0x80); s++) {
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

/*
 * Mattermost's text is Markdown: the characters that make links, images,
 * emphasis, code, headings and tables are escaped with a backslash, and an
 * '@' is followed by a zero-width space, so a name in a message cannot
 * mention @channel or @all, or hide a link.
 */
static void add_mattermost_text(struct nc_buf *b, const char *s)
{
	for (; *s && (b->len < CHAT_MAX || ((unsigned char)*s & 0xc0) == 0x80); s++) {
		if (strchr("\\`*_[]()<>#|~!", *s))
			nc_buf_addc(b, '\\');
		nc_buf_addc(b, *s);
		if (*s == '@')
			nc_buf_adds(b, "\xe2\x80\x8b");
	}
}

/* {"text": TEXT} with TEXT escaped for Slack or Mattermost */
static char *chat_body(enum nc_notify_format type, const char *text)
{
	struct nc_buf t = NC_BUF_INIT;
	struct json_object *o = json_object_new_object();
	char *out;

	if (type == NC_NOTIFY_MATTERMOST)
		add_mattermost_text(&t, text);
	else
		add_slack_text(&t, text);
	json_object_object_add(o, "text", json_object_new_string(t.buf ? t.buf : ""));
	out = nc_xasprintf("%s\n", to_json(o));
	json_object_put(o);
	nc_buf_release(&t);
	return out;
}

/*
 * A Teams Workflows ("When a Teams webhook request is received") message:
 * one Adaptive Card (1.4): a bold title, the message as a plain TextRun (no
 * Markdown: a name cannot make a link), and facts.
 */
static char *teams_body(const char *title, const char *color, const char *message, const char *const *facts)
{
	struct json_object *o = json_object_new_object(), *atts = json_object_new_array(),
			   *att = json_object_new_object(), *card = json_object_new_object(),
			   *body = json_object_new_array(), *tb = json_object_new_object(), *fs, *fl;
	char *cut = cut_utf8(message ? message : "", CHAT_MAX), *out;
	size_t i;

	json_object_object_add(o, "type", json_object_new_string("message"));
	json_object_object_add(att, "contentType", json_object_new_string("application/vnd.microsoft.card.adaptive"));
	json_object_object_add(att, "contentUrl", NULL);
	json_object_object_add(card, "$schema", json_object_new_string("http://adaptivecards.io/schemas/adaptive-card.json"));
	json_object_object_add(card, "type", json_object_new_string("AdaptiveCard"));
	json_object_object_add(card, "version", json_object_new_string("1.4"));
	json_object_object_add(tb, "type", json_object_new_string("TextBlock"));
	json_object_object_add(tb, "text", json_object_new_string(title));
	json_object_object_add(tb, "weight", json_object_new_string("Bolder"));
	json_object_object_add(tb, "size", json_object_new_string("Medium"));
	json_object_object_add(tb, "color", json_object_new_string(color));
	json_object_object_add(tb, "wrap", json_object_new_boolean(1));
	json_object_array_add(body, tb);
	if (*cut) {
		struct json_object *rb = json_object_new_object(), *inl = json_object_new_array(),
				   *run = json_object_new_object();

		json_object_object_add(rb, "type", json_object_new_string("RichTextBlock"));
		json_object_object_add(run, "type", json_object_new_string("TextRun"));
		json_object_object_add(run, "text", json_object_new_string(cut));
		json_object_array_add(inl, run);
		json_object_object_add(rb, "inlines", inl);
		json_object_array_add(body, rb);
	}
	fs = json_object_new_object();
	fl = json_object_new_array();
	json_object_object_add(fs, "type", json_object_new_string("FactSet"));
	for (i = 0; facts && facts[i] && facts[i + 1]; i += 2) {
		struct json_object *f = json_object_new_object();

		json_object_object_add(f, "title", json_object_new_string(facts[i]));
		json_object_object_add(f, "value", json_object_new_string(facts[i + 1]));
		json_object_array_add(fl, f);
	}
	json_object_object_add(fs, "facts", fl);
	if (json_object_array_length(fl))
		json_object_array_add(body, fs);
	else
		json_object_put(fs);
	json_object_object_add(card, "body", body);
	json_object_object_add(att, "content", card);
	json_object_array_add(atts, att);
	json_object_object_add(o, "attachments", atts);
	out = nc_xasprintf("%s\n", to_json(o));
	json_object_put(o);
	free(cut);
	return out;
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
	struct nc_notify_event ev = { event, revision, NULL, message, 0, NULL };

	nc_notify_event(cfg, &ev);
}

void nc_notify_host(const struct nc_serve_config *cfg, const char *event, const char *revision,
		    const char *host, const char *message)
{
	struct nc_notify_event ev = { event, revision, host, message, 0, NULL };

	nc_notify_event(cfg, &ev);
}

/* the events that say something went wrong: red in Teams */
static bool bad_event(const char *event)
{
	return !strcmp(event, "failed") || !strcmp(event, "invalid") || !strcmp(event, "host_failed") ||
	       !strcmp(event, "fence_failed") || !strcmp(event, "partitioned");
}

void nc_notify_event(const struct nc_serve_config *cfg, const struct nc_notify_event *ev)
{
	struct json_object *o;
	struct nc_buf text = NC_BUF_INIT;
	char *safe_source, *safe_message, *generic, *slack = NULL, *mm = NULL, *teams = NULL;
	char passbuf[24] = "", revbuf[16] = "";
	uint64_t pass = ev->pass ? ev->pass : nc_log_pass();
	size_t i;

	if (!cfg->notify.n)
		return;
	safe_source = source_of(cfg);
	safe_message = nc_url_redact(ev->message ? ev->message : "");
	/* "NovaCron drift at revision 3f2c1a2b0c1d: MESSAGE", "NovaCron host_failed on kvm2: ..." */
	nc_buf_addf(&text, "NovaCron %s", ev->event);
	if (ev->host)
		nc_buf_addf(&text, " on %s", ev->host);
	if (ev->revision)
		nc_buf_addf(&text, " at revision %.12s", ev->revision);
	if (pass)
		nc_buf_addf(&text, " (pass %llu)", (unsigned long long)pass);
	if (*safe_message)
		nc_buf_addf(&text, ": %s", safe_message);

	/* the generic shape, format_version 1 (docs/operations.md "Notifications") */
	o = json_object_new_object();
	json_object_object_add(o, "format_version", json_object_new_int(1));
	json_object_object_add(o, "event", json_object_new_string(ev->event));
	json_object_object_add(o, "source", json_object_new_string(safe_source));
	json_object_object_add(o, "revision", jstr_or_null(ev->revision));
	json_object_object_add(o, "pass", pass ? json_object_new_int64((int64_t)pass) : NULL);
	if (ev->host)
		json_object_object_add(o, "host", json_object_new_string(ev->host));
	json_object_object_add(o, "message", json_object_new_string(safe_message));
	{
		/* the summary: the first line of the chat text, cut at 300 bytes */
		char *line = nc_xstrndup(text.buf, strcspn(text.buf, "\n")), *sum = cut_utf8(line, 300);

		json_object_object_add(o, "summary", json_object_new_string(sum));
		free(sum);
		free(line);
	}
	json_object_object_add(o, "details", ev->details ? json_object_get(ev->details) : json_object_new_object());
	json_object_object_add(o, "time", json_object_new_int64((int64_t)time(NULL)));
	generic = nc_xasprintf("%s\n", to_json(o));
	json_object_put(o);

	if (pass)
		snprintf(passbuf, sizeof(passbuf), "%llu", (unsigned long long)pass);
	if (ev->revision)
		snprintf(revbuf, sizeof(revbuf), "%.12s", ev->revision);
	for (i = 0; i < cfg->notify.n; i++) {
		const struct nc_serve_notify *n = (const struct nc_serve_notify *)cfg->notify.v + i;

		if (!wants(n, ev->event))
			continue;
		switch (nc_notify_type(n)) {
		case NC_NOTIFY_ALERTMANAGER:
		case NC_NOTIFY_GITHUB_STATUS:
		case NC_NOTIFY_GITLAB_STATUS:
			break;
		case NC_NOTIFY_SLACK:
			if (!slack)
				slack = chat_body(NC_NOTIFY_SLACK, text.buf);
			send_body(cfg, n, slack);
			break;
		case NC_NOTIFY_MATTERMOST:
			if (!mm)
				mm = chat_body(NC_NOTIFY_MATTERMOST, text.buf);
			send_body(cfg, n, mm);
			break;
		case NC_NOTIFY_TEAMS:
			if (!teams) {
				const char *facts[10];
				size_t k = 0;
				char *title = nc_xasprintf("NovaCron: %s", ev->event);

				if (ev->host) {
					facts[k++] = "Host";
					facts[k++] = ev->host;
				}
				if (ev->revision) {
					facts[k++] = "Revision";
					facts[k++] = revbuf;
				}
				if (pass) {
					facts[k++] = "Pass";
					facts[k++] = passbuf;
				}
				facts[k++] = "Source";
				facts[k++] = safe_source;
				facts[k] = NULL;
				teams = teams_body(title, bad_event(ev->event) ? "Attention" :
						   !strcmp(ev->event, "applied") ? "Good" : "Warning", safe_message, facts);
				free(title);
			}
			send_body(cfg, n, teams);
			break;
		default:
			send_body(cfg, n, generic);
			break;
		}
	}
	free(generic);
	free(slack);
	free(mm);
	free(teams);
	nc_buf_release(&text);
	free(safe_source);
	free(safe_message);
}

/* ---- commit statuses ---- */

/* a git commit id: 40 (SHA-1) or 64 (SHA-256) hex digits, nothing else reaches the URL */
static bool is_sha(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 40 || i == 64;
}

static const char *const github_states[] = { "pending", "success", "failure", "error" };
static const char *const gitlab_states[] = { "running", "success", "failed", "failed" };

void nc_notify_commit_status(const struct nc_serve_config *cfg, const char *sha, enum nc_commit_state state,
			     const char *description)
{
	char *safe = nc_url_redact(description ? description : ""), *desc;
	size_t i;

	if (!sha || !is_sha(sha)) {
		free(safe);
		return;
	}
	/* one line: a refused revision's first error, not its list */
	safe[strcspn(safe, "\n")] = '\0';
	desc = cut_utf8(safe, 140);
	free(safe);
	pthread_once(&curl_once, curl_init_once);
	for (i = 0; i < cfg->notify.n; i++) {
		const struct nc_serve_notify *n = (const struct nc_serve_notify *)cfg->notify.v + i;
		const char *name = NC_IS_SET(n->name) ? n->name.v : "apply";
		struct curl_slist *h = NULL;
		char *tok, *url, *context = nc_xasprintf("novacron/%s", name), *line;

		if (!nc_notify_is_forge(n)) {
			free(context);
			continue;
		}
		tok = target_token(n);
		h = curl_slist_append(h, "User-Agent: novacron");
		if (nc_notify_type(n) == NC_NOTIFY_GITHUB_STATUS) {
			struct json_object *o = json_object_new_object();
			const char *api = NC_IS_SET(n->url) ? n->url.v : "https://api.github.com";

			json_object_object_add(o, "state", json_object_new_string(github_states[state]));
			json_object_object_add(o, "context", json_object_new_string(context));
			json_object_object_add(o, "description", json_object_new_string(desc));
			if (NC_IS_SET(n->target_url))
				json_object_object_add(o, "target_url", json_object_new_string(n->target_url.v));
			size_t al = strlen(api);

			url = nc_xasprintf("%.*s/repos/%s/statuses/%s", (int)(al && api[al - 1] == '/' ? al - 1 : al), api,
					   n->repository.v, sha);
			h = curl_slist_append(h, "Accept: application/vnd.github+json");
			h = curl_slist_append(h, "X-GitHub-Api-Version: 2022-11-28");
			h = curl_slist_append(h, "Content-Type: application/json");
			if (tok) {
				line = nc_xasprintf("Authorization: Bearer %s", tok);
				h = curl_slist_append(h, line);
				OPENSSL_cleanse(line, strlen(line));
				free(line);
			}
			enqueue(cfg, n, url, to_json(o), h);
			json_object_put(o);
		} else {
			const char *api = NC_IS_SET(n->url) ? n->url.v : "https://gitlab.com/api/v4";
			CURL *c = curl_easy_init();
			char *proj = curl_easy_escape(c, n->repository.v, 0), *st = curl_easy_escape(c, gitlab_states[state], 0),
			     *nm = curl_easy_escape(c, context, 0), *ds = curl_easy_escape(c, desc, 0),
			     *tu = NC_IS_SET(n->target_url) ? curl_easy_escape(c, n->target_url.v, 0) : NULL;
			size_t al = strlen(api);

			url = nc_xasprintf("%.*s/projects/%s/statuses/%s?state=%s&name=%s&description=%s%s%s",
					   (int)(al && api[al - 1] == '/' ? al - 1 : al), api, proj, sha, st, nm, ds,
					   tu ? "&target_url=" : "", tu ? tu : "");
			curl_free(proj);
			curl_free(st);
			curl_free(nm);
			curl_free(ds);
			curl_free(tu);
			curl_easy_cleanup(c);
			if (tok) {
				line = nc_xasprintf("PRIVATE-TOKEN: %s", tok);
				h = curl_slist_append(h, line);
				OPENSSL_cleanse(line, strlen(line));
				free(line);
			}
			enqueue(cfg, n, url, "", h);
		}
		if (tok) {
			OPENSSL_cleanse(tok, strlen(tok));
			free(tok);
		}
		free(url);
		free(context);
	}
	free(desc);
}

/* ---- alerts ---- */

static void json_num(struct nc_buf *b, double v)
{
	if (isnan(v) || isinf(v))
		nc_buf_adds(b, "null");
	else
		nc_buf_addf(b, "%.9g", v);
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

	nc_time_iso(starts, sizeof(starts), ev->since ? ev->since : ev->at);
	if (ev->state == NC_ALERT_RESOLVED)
		nc_time_iso(ends, sizeof(ends), ev->at);
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

static char *generic_alert_body(const struct nc_serve_config *cfg, const struct nc_alert_event *ev,
				const char *text)
{
	char *safe_source = source_of(cfg), *out;
	struct json_object *o = json_object_new_object(), *al = json_object_new_object();

	json_object_object_add(al, "rule", json_object_new_string(ev->rule));
	json_object_object_add(al, "state", json_object_new_string(nc_alert_state_name(ev->state)));
	json_object_object_add(al, "severity", json_object_new_string(ev->severity));
	json_object_object_add(al, "target", json_object_new_string(nc_metric_target_name(ev->target)));
	json_object_object_add(al, "object", json_object_new_string(ev->object));
	json_object_object_add(al, "host", jstr_or_null(ev->host));
	json_object_object_add(al, "metric", json_object_new_string(ev->metric));
	if (isnan(ev->value) || isinf(ev->value)) {
		json_object_object_add(al, "value", NULL);
	} else {
		char v[40];

		/* as %.9g, not json-c's 17 digits (0.93, not 0.93000000000000005) */
		snprintf(v, sizeof(v), "%.9g", ev->value);
		json_object_object_add(al, "value", json_object_new_double_s(ev->value, v));
	}
	json_object_object_add(al, "summary", json_object_new_string(ev->summary ? ev->summary : ""));
	json_object_object_add(al, "since", json_object_new_int64((int64_t)ev->since));
	json_object_object_add(al, "at", json_object_new_int64((int64_t)ev->at));

	json_object_object_add(o, "format_version", json_object_new_int(1));
	json_object_object_add(o, "event", json_object_new_string("alert"));
	json_object_object_add(o, "source", json_object_new_string(safe_source));
	json_object_object_add(o, "revision", NULL);
	json_object_object_add(o, "pass", NULL);
	if (ev->host)
		json_object_object_add(o, "host", json_object_new_string(ev->host));
	json_object_object_add(o, "message", json_object_new_string(ev->summary ? ev->summary : ""));
	json_object_object_add(o, "summary", json_object_new_string(text));
	json_object_object_add(o, "details", json_object_new_object());     /* the alert is "alert" */
	json_object_object_add(o, "time", json_object_new_int64((int64_t)ev->at));
	json_object_object_add(o, "alert", al);
	out = nc_xasprintf("%s\n", to_json(o));
	json_object_put(o);
	free(safe_source);
	return out;
}

void nc_notify_alert(const struct nc_serve_config *cfg, const struct nc_alert_event *ev)
{
	struct nc_buf am = NC_BUF_INIT, text = NC_BUF_INIT;
	char *generic = NULL, *slack = NULL, *mm = NULL, *teams = NULL;
	size_t i;

	/* "[FIRING] warning host-memory-high: kvm1 memory at 93.0%" */
	nc_buf_addf(&text, "[%s] %s %s: %s", ev->state == NC_ALERT_RESOLVED ? "RESOLVED" : "FIRING", ev->severity,
		    ev->rule, ev->summary ? ev->summary : "");
	for (i = 0; i < cfg->notify.n; i++) {
		const struct nc_serve_notify *n = (const struct nc_serve_notify *)cfg->notify.v + i;

		if (!wants(n, "alert"))
			continue;
		switch (nc_notify_type(n)) {
		case NC_NOTIFY_ALERTMANAGER:
			if (!am.len)
				alertmanager_body(&am, cfg, ev);
			send_body(cfg, n, am.buf);
			break;
		case NC_NOTIFY_SLACK:
			if (!slack)
				slack = chat_body(NC_NOTIFY_SLACK, text.buf);
			send_body(cfg, n, slack);
			break;
		case NC_NOTIFY_MATTERMOST:
			if (!mm)
				mm = chat_body(NC_NOTIFY_MATTERMOST, text.buf);
			send_body(cfg, n, mm);
			break;
		case NC_NOTIFY_TEAMS:
			if (!teams) {
				const char *facts[] = { "Rule", ev->rule, "Severity", ev->severity, "Object", ev->object,
							ev->host ? "Host" : NULL, ev->host, NULL };
				char *title = nc_xasprintf("NovaCron alert %s: %s",
							   ev->state == NC_ALERT_RESOLVED ? "resolved" : "firing", ev->rule);

				teams = teams_body(title, ev->state == NC_ALERT_RESOLVED ? "Good" : "Attention",
						   ev->summary ? ev->summary : "", facts);
				free(title);
			}
			send_body(cfg, n, teams);
			break;
		case NC_NOTIFY_GITHUB_STATUS:
		case NC_NOTIFY_GITLAB_STATUS:
			break;
		default:
			if (!generic)
				generic = generic_alert_body(cfg, ev, text.buf);
			send_body(cfg, n, generic);
			break;
		}
	}
	nc_buf_release(&am);
	nc_buf_release(&text);
	free(generic);
	free(slack);
	free(mm);
	free(teams);
}

void nc_notify_drain(unsigned timeout_ms)
{
	unsigned waited = 0;

	while (atomic_load(&in_flight) > 0 && waited < timeout_ms) {
		usleep(20000);
		waited += 20;
	}
}
