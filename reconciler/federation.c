/*
 * federation.c - each cluster's serve read over HTTP (federation.h).
 */
#include "federation.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "serve.h"
#include "web.h"

#define BODY_MAX (4u << 20)     /* a /status larger than this is not a serve's */

struct fetch {
	CURL *c;
	struct curl_slist *headers;
	struct nc_buf body;
	bool too_big;
	char *url;
};

static size_t collect(char *p, size_t s, size_t n, void *u)
{
	struct fetch *f = u;

	if (f->body.len + s * n > BODY_MAX) {
		f->too_big = true;
		return 0;
	}
	nc_buf_add(&f->body, p, s * n);
	return s * n;
}

/* the token of a tokenFile (as serve reads its own), or NULL with *why */
static char *token_of(const char *path, char **why)
{
	char *tok = NULL;
	size_t len, i;
	unsigned mode;

	if (nc_secret_check(path, &mode) == NC_SECRET_MODE_BAD) {
		*why = nc_secret_msg("federation tokenFile", path, mode);
		return NULL;
	}
	if (nc_read_file(path, 4096, &tok, &len) < 0) {
		*why = nc_xasprintf("cannot read tokenFile %s: %s", path, errno ? strerror(errno) : "larger than 4 KiB");
		return NULL;
	}
	while (len && (tok[len - 1] == '\n' || tok[len - 1] == '\r'))
		tok[--len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)tok[i] <= ' ' || tok[i] == 0x7f || !tok[i]) {
			*why = nc_xasprintf("tokenFile %s: the token holds blanks or control characters", path);
			free(tok);
			return NULL;
		}
	if (!len) {
		*why = nc_xasprintf("tokenFile %s is empty", path);
		free(tok);
		return NULL;
	}
	return tok;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

static char *dup_str(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) ? nc_xstrdup(json_object_get_string(v)) : NULL;
}

static uint64_t num(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0 ? (uint64_t)json_object_get_int64(v)
										      : 0;
}

/* a /status document into the row; -1 when it is not one */
static int parse_status(struct nc_fed_row *r, const char *body, size_t len)
{
	struct json_object *doc = nc_json_parse_one(body, len), *hosts, *vms;
	size_t i;

	if (!json_object_is_type(doc, json_type_object) || !get(doc, "last_pass")) {
		json_object_put(doc);
		return -1;
	}
	r->serves = dup_str(get(doc, "cluster"));
	r->leader = json_object_get_boolean(get(doc, "leader"));
	r->revision = dup_str(get(get(doc, "applied"), "revision"));
	r->result = dup_str(get(get(doc, "last_pass"), "result"));
	r->last_pass = (int64_t)num(get(get(doc, "last_pass"), "time"));
	vms = get(doc, "vms");
	r->vms_running = num(get(vms, "running"));
	r->vms_stopped = num(get(vms, "stopped"));
	r->vms_other = num(get(vms, "other"));
	r->drift = num(get(doc, "drift"));
	r->pending = num(get(doc, "pending_actions"));
	hosts = get(doc, "hosts");
	for (i = 0; json_object_is_type(hosts, json_type_array) && i < json_object_array_length(hosts); i++) {
		struct json_object *h = json_object_array_get_idx(hosts, i);

		if (!json_object_get_boolean(get(h, "declared")) && get(h, "declared"))
			continue;
		r->hosts++;
		r->hosts_up += json_object_get_boolean(get(h, "up"));
	}
	json_object_put(doc);
	return 0;
}

size_t nc_federation_read(struct nc_fed_row **out, const struct nc_list *peers, unsigned timeout_ms)
{
	struct nc_fed_row *rows = nc_xcalloc(peers->n + 1, sizeof(*rows));
	struct fetch *f = nc_xcalloc(peers->n + 1, sizeof(*f));
	CURLM *m;
	int running = 0;
	size_t i;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	for (i = 0; i < peers->n; i++) {
		const struct nc_serve_peer *p = (const struct nc_serve_peer *)peers->v + i;
		size_t ul = strlen(p->url.v);
		char *why = NULL, *tok = NULL;

		rows[i].cluster = nc_xstrdup(p->cluster.v);
		rows[i].url = nc_url_redact(p->url.v);
		f[i].body = (struct nc_buf)NC_BUF_INIT;
		if (NC_IS_SET(p->token_file) && !(tok = token_of(p->token_file.v, &why))) {
			rows[i].error = why;
			continue;
		}
		f[i].url = nc_xasprintf("%.*s/status", (int)(ul && p->url.v[ul - 1] == '/' ? ul - 1 : ul), p->url.v);
		f[i].c = curl_easy_init();
		curl_easy_setopt(f[i].c, CURLOPT_URL, f[i].url);
		curl_easy_setopt(f[i].c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(f[i].c, CURLOPT_WRITEDATA, &f[i]);
		curl_easy_setopt(f[i].c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 5000));
		curl_easy_setopt(f[i].c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(f[i].c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(f[i].c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(f[i].c, CURLOPT_PRIVATE, &f[i]);
		if (tok) {
			char *h = nc_xasprintf("Authorization: Bearer %s", tok);

			f[i].headers = curl_slist_append(NULL, h);
			curl_easy_setopt(f[i].c, CURLOPT_HTTPHEADER, f[i].headers);
			memset(h, 0, strlen(h));
			memset(tok, 0, strlen(tok));
			free(h);
			free(tok);
		}
		curl_multi_add_handle(m, f[i].c);
	}
	do {
		int numfds = 0;

		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (running)
			curl_multi_poll(m, NULL, 0, 200, &numfds);
	} while (running);
	for (;;) {
		int left = 0;
		CURLMsg *msg = curl_multi_info_read(m, &left);
		struct fetch *ff = NULL;
		long code = 0;

		if (!msg)
			break;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&ff);
		i = (size_t)(ff - f);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result != CURLE_OK)
			rows[i].error = nc_xstrdup(ff->too_big ? "its /status is larger than 4 MiB" :
						   curl_easy_strerror(msg->data.result));
		else if (code != 200)
			rows[i].error = nc_xasprintf("HTTP status %ld%s", code,
						     code == 401 || code == 403 ? " (a viewer token in tokenFile?)" : "");
		else if (parse_status(&rows[i], ff->body.buf, ff->body.len) < 0)
			rows[i].error = nc_xstrdup("did not answer with a serve's status JSON");
		else
			rows[i].reachable = true;
	}
	for (i = 0; i < peers->n; i++) {
		if (f[i].c) {
			curl_multi_remove_handle(m, f[i].c);
			curl_easy_cleanup(f[i].c);
		}
		if (f[i].c && !rows[i].reachable && !rows[i].error)
			rows[i].error = nc_xstrdup("no answer");
		curl_slist_free_all(f[i].headers);
		nc_buf_release(&f[i].body);
		free(f[i].url);
	}
	curl_multi_cleanup(m);
	curl_global_cleanup();
	free(f);
	*out = rows;
	return peers->n;
}

void nc_federation_free(struct nc_fed_row *rows, size_t n)
{
	size_t i;

	for (i = 0; rows && i < n; i++) {
		free(rows[i].cluster);
		free(rows[i].url);
		free(rows[i].error);
		free(rows[i].serves);
		free(rows[i].revision);
		free(rows[i].result);
	}
	free(rows);
}

void nc_federation_json(const struct nc_fed_row *rows, size_t n, struct nc_buf *out)
{
	struct json_object *doc = nc_json_doc(1), *arr = json_object_new_array_ext((int)n);
	size_t i, down = 0;

	for (i = 0; i < n; i++) {
		const struct nc_fed_row *r = &rows[i];
		struct json_object *o = json_object_new_object(), *x;

		nc_json_set(o, "cluster", nc_json_new_str(r->cluster));
		nc_json_set(o, "url", nc_json_new_str(r->url));
		nc_json_set(o, "reachable", json_object_new_boolean(r->reachable));
		nc_json_set(o, "error", nc_json_new_str(r->error));
		nc_json_set(o, "serves", nc_json_new_str(r->serves));
		nc_json_set(o, "leader", json_object_new_boolean(r->leader));
		nc_json_set(o, "revision", nc_json_new_str(r->revision));
		x = json_object_new_object();
		nc_json_set(x, "result", nc_json_new_str(r->result));
		nc_json_set(x, "time", json_object_new_int64(r->last_pass));
		nc_json_set(o, "last_pass", x);
		x = json_object_new_object();
		nc_json_set(x, "total", nc_json_new_u64(r->hosts));
		nc_json_set(x, "up", nc_json_new_u64(r->hosts_up));
		nc_json_set(o, "hosts", x);
		x = json_object_new_object();
		nc_json_set(x, "running", nc_json_new_u64(r->vms_running));
		nc_json_set(x, "stopped", nc_json_new_u64(r->vms_stopped));
		nc_json_set(x, "other", nc_json_new_u64(r->vms_other));
		nc_json_set(o, "vms", x);
		nc_json_set(o, "drift", nc_json_new_u64(r->drift));
		nc_json_set(o, "pending_actions", nc_json_new_u64(r->pending));
		json_object_array_add(arr, o);
		down += !r->reachable;
	}
	nc_json_set(doc, "clusters", arr);
	nc_json_set(doc, "unreachable", nc_json_new_u64(down));
	nc_json_to_buf(out, doc);
}

/*
 * Text from a remote serve reaches the operator's terminal: only printable
 * ASCII passes, anything else shows as '?'.  Not only C0 controls (ESC):
 * a C1 control (U+0080..U+009F, e.g. CSI U+009B encoded C2 9B, or a lone
 * 0x9B byte) starts an escape sequence in terminals that honour 8-bit
 * controls; a serve's cluster, revision and result are ASCII anyway.
 */
static bool unsafe(char c)
{
	return (unsigned char)c < 0x20 || (unsigned char)c >= 0x7f;
}

static void add_safe(struct nc_buf *out, const char *s)
{
	for (; s && *s; s++)
		nc_buf_addc(out, unsafe(*s) ? '?' : *s);
}

void nc_federation_text(const struct nc_fed_row *rows, size_t n, struct nc_buf *out)
{
	size_t i, w = 7;

	for (i = 0; i < n; i++)
		if (strlen(rows[i].cluster) > w)
			w = strlen(rows[i].cluster);
	nc_buf_addf(out, "%-*s  %-11s  %-6s  %-12s  %-30s  %-9s  %s\n", (int)w, "CLUSTER", "REACHABLE", "LEADER",
		    "REVISION", "LAST PASS", "HOSTS UP", "VMS (running/stopped/other), DRIFT, PENDING");
	for (i = 0; i < n; i++) {
		const struct nc_fed_row *r = &rows[i];
		char when[32] = "-", hosts[32];
		time_t t = (time_t)r->last_pass;
		struct tm tm;

		nc_buf_addf(out, "%-*s  ", (int)w, r->cluster);
		if (!r->reachable) {
			nc_buf_addf(out, "%-11s  ", "no");
			nc_buf_adds(out, r->url);
			nc_buf_adds(out, ": ");
			add_safe(out, r->error);
			nc_buf_addc(out, '\n');
			continue;
		}
		if (t > 0 && gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(hosts, sizeof(hosts), "%llu/%llu", (unsigned long long)r->hosts_up, (unsigned long long)r->hosts);
		{
			char last[64], rev[16], *q;

			snprintf(last, sizeof(last), "%s %s", r->result ? r->result : "-", when);
			snprintf(rev, sizeof(rev), "%.12s", r->revision ? r->revision : "-");
			for (q = rev; *q; q++)
				if (unsafe(*q))
					*q = '?';
			for (q = last; *q; q++)
				if (unsafe(*q))
					*q = '?';
			nc_buf_addf(out, "%-11s  %-6s  %-12.12s  %-30s  %-9s  %llu/%llu/%llu, %llu, %llu", "yes",
				    r->leader ? "yes" : "no", rev, last, hosts,
				    (unsigned long long)r->vms_running, (unsigned long long)r->vms_stopped,
				    (unsigned long long)r->vms_other, (unsigned long long)r->drift,
				    (unsigned long long)r->pending);
		}
		if (r->serves && strcmp(r->serves, r->cluster) != 0) {
			nc_buf_adds(out, " (serves Cluster ");
			add_safe(out, r->serves);
			nc_buf_adds(out, ")");
		} else if (!r->serves) {
			nc_buf_adds(out, " (serves every cluster)");
		}
		nc_buf_addc(out, '\n');
	}
}

/* ---- GET /api/v1/federation ---- */

void nc_federation_peers_dup(struct nc_list *out, const struct nc_list *peers)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->n = peers->n;
	out->v = nc_xcalloc(peers->n + 1, sizeof(struct nc_serve_peer));
	for (i = 0; i < peers->n; i++) {
		const struct nc_serve_peer *from = (const struct nc_serve_peer *)peers->v + i;
		struct nc_serve_peer *to = (struct nc_serve_peer *)out->v + i;

		*to = *from;
		to->cluster.v = nc_xstrdup(from->cluster.v);
		to->url.v = nc_xstrdup(from->url.v);
		to->token_file.v = from->token_file.v ? nc_xstrdup(from->token_file.v) : NULL;
	}
}

void nc_federation_peers_release(struct nc_list *peers)
{
	size_t i;

	for (i = 0; i < peers->n; i++) {
		struct nc_serve_peer *p = (struct nc_serve_peer *)peers->v + i;

		free((char *)p->cluster.v);
		free((char *)p->url.v);
		free((char *)p->token_file.v);
	}
	free(peers->v);
	peers->v = NULL;
	peers->n = 0;
}

static pthread_mutex_t reads_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned reads_running;

struct fed_req {
	pthread_mutex_t mu;              /* refs, done, body, pos */
	int refs;                        /* the reader thread and the stream */
	bool done;
	struct nc_buf body;
	size_t pos;
	/* held while wake runs: the stream's end clears wake, so it never runs after */
	pthread_mutex_t wake_mu;
	void (*wake)(void *cls);
	void *wake_cls;
	struct nc_list peers;            /* a copy: struct nc_serve_peer, strings owned */
};

static void fed_req_put(struct fed_req *q)
{
	int left;

	pthread_mutex_lock(&q->mu);
	left = --q->refs;
	pthread_mutex_unlock(&q->mu);
	if (left)
		return;
	nc_federation_peers_release(&q->peers);
	nc_buf_release(&q->body);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->wake_mu);
	free(q);
}

static void *fed_reader(void *arg)
{
	struct fed_req *q = arg;
	struct nc_fed_row *rows = NULL;
	struct nc_buf b = NC_BUF_INIT;
	size_t n = nc_federation_read(&rows, &q->peers, 5000);

	nc_federation_json(rows, n, &b);
	nc_federation_free(rows, n);
	pthread_mutex_lock(&q->mu);
	q->body = b;
	q->done = true;
	pthread_mutex_unlock(&q->mu);
	pthread_mutex_lock(&q->wake_mu);
	if (q->wake)
		q->wake(q->wake_cls);
	pthread_mutex_unlock(&q->wake_mu);
	pthread_mutex_lock(&reads_mu);
	reads_running--;
	pthread_mutex_unlock(&reads_mu);
	fed_req_put(q);
	return NULL;
}

/* nothing yet (0), the next bytes of the JSON, then the end (-1) */
static ssize_t fed_stream_read(void *cls, char *buf, size_t max)
{
	struct fed_req *q = cls;
	ssize_t n = 0;

	pthread_mutex_lock(&q->mu);
	if (q->done) {
		size_t left = q->body.len - q->pos;

		n = left ? (ssize_t)(left < max ? left : max) : -1;
		if (n > 0) {
			memcpy(buf, q->body.buf + q->pos, (size_t)n);
			q->pos += (size_t)n;
		}
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

static void fed_stream_free(void *cls)
{
	struct fed_req *q = cls;

	pthread_mutex_lock(&q->wake_mu);
	q->wake = NULL;
	pthread_mutex_unlock(&q->wake_mu);
	fed_req_put(q);
}

void nc_federation_answer(const struct nc_list *peers, void (*wake)(void *cls), void *wake_cls,
			  struct nc_web_resp *resp)
{
	struct fed_req *q;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_mutex_lock(&reads_mu);
	if (reads_running >= NC_FEDERATION_READS_MAX) {
		pthread_mutex_unlock(&reads_mu);
		nc_web_error(resp, 503, "%u federation reads are running; try again in a few seconds",
			     NC_FEDERATION_READS_MAX);
		nc_web_resp_header(resp, "Retry-After", "5");
		return;
	}
	reads_running++;
	pthread_mutex_unlock(&reads_mu);
	q = nc_xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_mutex_init(&q->wake_mu, NULL);
	q->refs = 2;
	q->body = (struct nc_buf)NC_BUF_INIT;
	q->wake = wake;
	q->wake_cls = wake_cls;
	nc_federation_peers_dup(&q->peers, peers);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, fed_reader, q);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_lock(&reads_mu);
		reads_running--;
		pthread_mutex_unlock(&reads_mu);
		q->refs = 1;
		fed_req_put(q);
		nc_web_error(resp, 503, "cannot start a thread to read the federation");
		return;
	}
	resp->code = 200;
	resp->type = "application/json";
	resp->stream_read = fed_stream_read;
	resp->stream_free = fed_stream_free;
	resp->stream_cls = q;
}
