/*
 * http.c - the serve endpoint, on libmicrohttpd's own thread.
 *
 *   GET  /healthz   "ok"
 *   GET  /status    JSON (docs/operations.md)
 *   GET  /metrics   Prometheus text
 *   POST /webhook   fetch and reconcile now; needs "Authorization: Bearer
 *                   TOKEN" (tokenFile), a GitHub X-Hub-Signature-256 over
 *                   the body (webhooks.githubSecretFile, replays refused)
 *                   or a GitLab X-Gitlab-Token (webhooks.gitlabTokenFile)
 *
 * With tls: it speaks HTTPS only (libmicrohttpd with GnuTLS); outside
 * loopback tls: is required unless api.insecureHttp (auth.c).
 *
 * It binds to loopback unless told otherwise.  Requests only read the
 * status or raise a flag; the loop does the work.
 */
#include "serve.h"
#include "auth.h"
#include "web.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Limits against slow or hostile clients (docs/operations.md, "HTTP limits").
 * The internal thread waits with epoll (MHD_USE_AUTO), so the number of
 * connections is bounded by NC_HTTP_MAX_CONNECTIONS, not by select()'s
 * FD_SETSIZE; one address holds at most NC_HTTP_MAX_PER_IP of them, so a
 * flood from one source leaves room for everyone else.  A connection idle
 * for NC_HTTP_IDLE_TIMEOUT is closed by libmicrohttpd; a request whose
 * headers and body are not all in NC_HTTP_REQUEST_DEADLINE after the
 * connection opened (or after the previous request on it ended) is cut by
 * our watchdog, however steadily it trickles bytes (libmicrohttpd's timeout
 * counts inactivity only).  Headers fit in NC_HTTP_MEMORY per connection
 * (else 431); a body is at most NC_HTTP_MAX_BODY bytes (else 413, or the
 * connection is closed when no Content-Length announced it).
 */
#define NC_HTTP_MAX_CONNECTIONS 256u
#define NC_HTTP_MAX_PER_IP 16u
#define NC_HTTP_IDLE_TIMEOUT 10u           /* seconds */
#define NC_HTTP_REQUEST_DEADLINE 10.0      /* seconds */
#define NC_HTTP_MEMORY ((size_t)32 * 1024)
#define NC_HTTP_MAX_BODY ((size_t)64 * 1024)
/* event streams (GET /api/v1/events/stream) open at once; each is woken at least this often */
#define NC_HTTP_MAX_STREAMS 64u
#define NC_HTTP_STREAM_TICK 1.0            /* seconds: the stream writes its keepalive itself */
/* log lines about clients: at most NC_HTTP_LOG_BURST per NC_HTTP_LOG_WINDOW seconds, then one summary */
#define NC_HTTP_LOG_BURST 10u
#define NC_HTTP_LOG_WINDOW 10.0

/* one per open connection (libmicrohttpd's socket context) */
struct conn {
	struct conn *prev, *next;
	int fd;                  /* our duplicate of the socket: shutdown() stays safe after MHD closes its own */
	double start;            /* when the request in progress began */
	bool answered;           /* a response is queued: the deadline no longer applies */
	size_t body;             /* bytes of body received for the request in progress */
	bool nul;                /* its URL held a %00 (unescape) */
	char addr[INET6_ADDRSTRLEN];
};

/* an event stream: the web part's reader, the connection it suspends */
struct stream {
	struct nc_http *h;
	struct MHD_Connection *mc;
	ssize_t (*read)(void *cls, char *buf, size_t max);
	void (*free)(void *cls);
	void *cls;
	struct stream *next_suspended;
};

struct nc_http {
	struct MHD_Daemon *d;
	struct nc_web *web;              /* every other path (web.h); NULL: none */
	/* event streams: those suspended, resumed by nc_web_wake or the tick */
	pthread_mutex_t smu;
	struct stream *suspended;
	unsigned nstreams;
	double last_tick;
	struct nc_webhooks *hooks;       /* POST /webhook's checks (auth.c) */
	char *tls_cert, *tls_key;        /* PEM, NULL without tls: */
	struct nc_serve_status *status;
	void (*trigger)(void *opaque);
	void *opaque;
	/* connections, for the request deadline */
	pthread_mutex_t mu;
	struct conn *conns;
	pthread_t watchdog;
	bool watchdog_started;
	volatile int stopping;
	struct nc_log_limit log;         /* lines about clients */
};

static double mono_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void hlog(struct nc_http *h, const char *fmt, ...) NC_PRINTF(2, 3);

static void hlog(struct nc_http *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_log_limitedv(&h->log, fmt, ap);
	va_end(ap);
}

/* libmicrohttpd's own messages (refused connections, malformed requests); the format
 * is libmicrohttpd's (clang -Wformat-nonliteral in a Release build wants it said) */
static void mhd_logger(void *cls, const char *fmt, va_list ap) NC_PRINTF(2, 0);

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	nc_log_limitedv(&((struct nc_http *)cls)->log, fmt, ap);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct nc_http *h = cls;
	struct conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fi = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ai = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		c = nc_xcalloc(1, sizeof(*c));
		c->fd = fi ? fcntl(fi->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
		c->start = mono_now();
		if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)ai->client_addr)->sin_addr, c->addr,
				  sizeof(c->addr));
		else if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ai->client_addr)->sin6_addr, c->addr,
				  sizeof(c->addr));
		else
			snprintf(c->addr, sizeof(c->addr), "?");
		pthread_mutex_lock(&h->mu);
		c->next = h->conns;
		if (h->conns)
			h->conns->prev = c;
		h->conns = c;
		pthread_mutex_unlock(&h->mu);
		*socket_context = c;
		return;
	}
	c = *socket_context;
	if (!c)
		return;
	pthread_mutex_lock(&h->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_unlock(&h->mu);
	free(c);
	*socket_context = NULL;
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

/* a request ended (answered, or the client went away): the next one gets a fresh deadline */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct nc_http *h = cls;
	struct conn *c = conn_of(mc);

	(void)toe;
	if (con_cls && *con_cls && *con_cls != h) {
		/* a webhook's or the web part's body */
		nc_buf_release(*con_cls);
		free(*con_cls);
		*con_cls = NULL;
	}
	if (!c)
		return;
	pthread_mutex_lock(&h->mu);
	c->start = mono_now();
	c->answered = false;
	c->body = 0;
	c->nul = false;
	pthread_mutex_unlock(&h->mu);
}

/*
 * libmicrohttpd's own decoding of the path and the query's arguments,
 * noting a %00: the decoded path would end at the NUL (/ui/app.js%00.html
 * would be app.js), so such a request is answered 404 before any routing.
 */
static size_t unescape(void *cls, struct MHD_Connection *mc, char *s)
{
	struct nc_http *h = cls;
	size_t n = MHD_http_unescape(s);
	struct conn *c;

	if (memchr(s, '\0', n)) {
		c = conn_of(mc);
		if (c) {
			pthread_mutex_lock(&h->mu);
			c->nul = true;
			pthread_mutex_unlock(&h->mu);
		}
	}
	return n;
}

static void wake_streams(void *cls);

/* cuts requests past their deadline; writes the log summary when a window ends */
static void *watchdog(void *arg)
{
	struct nc_http *h = arg;

	while (!h->stopping) {
		struct timespec t = { 0, 200 * 1000000L };
		char cut[8][INET6_ADDRSTRLEN];
		size_t ncut = 0, more = 0, i;
		double now = mono_now();
		struct conn *c;

		nanosleep(&t, NULL);
		pthread_mutex_lock(&h->mu);
		for (c = h->conns; c; c = c->next) {
			if (c->answered || now - c->start < NC_HTTP_REQUEST_DEADLINE || c->fd < 0)
				continue;
			/* libmicrohttpd sees the end of the stream and closes the connection itself */
			shutdown(c->fd, SHUT_RDWR);
			c->answered = true;
			if (ncut < 8)
				memcpy(cut[ncut++], c->addr, sizeof(c->addr));
			else
				more++;
		}
		pthread_mutex_unlock(&h->mu);
		for (i = 0; i < ncut; i++)
			hlog(h, "closed a connection from %s: no complete request within %.0fs", cut[i],
			     NC_HTTP_REQUEST_DEADLINE);
		for (i = 0; i < more; i++)
			hlog(h, "closed a connection: no complete request within %.0fs", NC_HTTP_REQUEST_DEADLINE);
		nc_log_limit_flush(&h->log);
		/* streams write their keepalives when woken */
		if (now - h->last_tick >= NC_HTTP_STREAM_TICK) {
			h->last_tick = now;
			wake_streams(h);
		}
	}
	return NULL;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned code, const char *msg)
{
	char *body = nc_xasprintf("%s\n", msg);

	return reply(conn, code, "text/plain; charset=utf-8", body, strlen(body));
}

/* the request is all in: its deadline no longer applies */
static void mark_answered(struct nc_http *h, struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);

	if (!c)
		return;
	pthread_mutex_lock(&h->mu);
	c->answered = true;
	pthread_mutex_unlock(&h->mu);
}

/* a request header, for the webhook's checks (auth.c) */
static const char *hook_header(const struct nc_web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->ctx, MHD_HEADER_KIND, name);
}

/* POST /webhook, its body in: a bearer token, a GitHub signature or a GitLab token */
static enum MHD_Result webhook(struct nc_http *h, struct MHD_Connection *conn, const char *method, struct nc_buf *body)
{
	struct nc_web_req req;
	struct conn *c = conn_of(conn);
	char who[128], why[160];
	unsigned code;

	if (strcmp(method, "POST") != 0)
		return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = "/webhook";
	req.body = body && body->buf ? body->buf : "";
	req.body_len = body ? body->len : 0;
	req.peer = c ? c->addr : "?";
	req.tls = h->tls_cert != NULL;
	req.header = hook_header;
	req.ctx = conn;
	code = nc_webhooks_check(h->hooks, &req, who, sizeof(who), why, sizeof(why));
	if (code) {
		hlog(h, "refused a webhook from %s: %s", req.peer, why);
		return text(conn, code, why);
	}
	nc_serve_log("http: webhook from %s (%s): fetch and reconcile", req.peer, who);
	h->trigger(h->opaque);
	return text(conn, MHD_HTTP_ACCEPTED, "fetch and reconcile scheduled");
}

/* ---- the web part's requests (web.h) ---- */
static const char *req_header(const struct nc_web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->ctx, MHD_HEADER_KIND, name);
}

static const char *req_query(const struct nc_web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->ctx, MHD_GET_ARGUMENT_KIND, name);
}

static const char *req_cookie(const struct nc_web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->ctx, MHD_COOKIE_KIND, name);
}

/* resumes every suspended stream (each reads again) */
static void wake_streams(void *cls)
{
	struct nc_http *h = cls;
	struct stream *st, *next;

	pthread_mutex_lock(&h->smu);
	for (st = h->suspended; st; st = next) {
		next = st->next_suspended;
		st->next_suspended = NULL;
		MHD_resume_connection(st->mc);
	}
	h->suspended = NULL;
	pthread_mutex_unlock(&h->smu);
}

/* libmicrohttpd asks for more of a stream: nothing yet suspends the connection until a wake */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct nc_http *h = st->h;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&h->smu);
	if (h->stopping) {
		pthread_mutex_unlock(&h->smu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = st->read(st->cls, buf, max);
	if (n == 0) {
		/* registered under smu: a wake after the read above finds it */
		MHD_suspend_connection(st->mc);
		st->next_suspended = h->suspended;
		h->suspended = st;
	}
	pthread_mutex_unlock(&h->smu);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	struct nc_http *h = st->h;

	if (st->free)
		st->free(st->cls);
	pthread_mutex_lock(&h->smu);
	h->nstreams--;
	pthread_mutex_unlock(&h->smu);
	free(st);
}

/* the headers every answer of the web part carries (docs/security.md) */
static void security_headers(struct MHD_Response *r, const char *type)
{
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	if (type && strncmp(type, "text/html", 9) == 0)
		MHD_add_response_header(r, "Content-Security-Policy",
					"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
					"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
					"frame-ancestors 'none'");
}

static enum MHD_Result web_answer(struct nc_http *h, struct MHD_Connection *conn, const char *url,
				  const char *method, struct nc_buf *body)
{
	struct nc_web_req req;
	struct nc_web_resp resp;
	struct MHD_Response *r;
	struct conn *c = conn_of(conn);
	enum MHD_Result ret;
	const char *type;
	size_t i;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = method;
	req.path = url;
	req.body = body->buf ? body->buf : "";
	req.body_len = body->len;
	req.peer = c ? c->addr : "?";
	req.tls = h->tls_cert != NULL;
	req.header = req_header;
	req.query = req_query;
	req.cookie = req_cookie;
	req.ctx = conn;
	nc_web_handle(h->web, &req, &resp);
	if (!resp.code)
		nc_web_error(&resp, 404, "not found: %s", url);
	type = resp.type ? resp.type : "application/json";
	if (resp.stream_read) {
		struct stream *st;

		pthread_mutex_lock(&h->smu);
		if (h->nstreams >= NC_HTTP_MAX_STREAMS || h->stopping) {
			pthread_mutex_unlock(&h->smu);
			nc_web_resp_release(&resp);
			memset(&resp, 0, sizeof(resp));
			nc_web_error(&resp, 503, "too many event streams open (at most %u)", NC_HTTP_MAX_STREAMS);
			type = resp.type;
			goto plain;
		}
		h->nstreams++;
		pthread_mutex_unlock(&h->smu);
		st = nc_xcalloc(1, sizeof(*st));
		st->h = h;
		st->mc = conn;
		st->read = resp.stream_read;
		st->free = resp.stream_free;
		st->cls = resp.stream_cls;
		resp.stream_cls = NULL;      /* the stream owns it now */
		resp.stream_free = NULL;
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, st, stream_free);
		/* a stream lives on: neither the request deadline nor the idle timeout applies */
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned int)0);
		MHD_add_response_header(r, "X-Accel-Buffering", "no");
	} else {
plain:
		if (resp.body_static)
			r = MHD_create_response_from_buffer(resp.static_len, (void *)resp.static_data,
							    MHD_RESPMEM_PERSISTENT);
		else {
			/* the body goes to libmicrohttpd as it is (no copy of a 1.7 MB VM list) */
			size_t blen;
			char *bbuf = nc_buf_detach(&resp.body, &blen);

			r = MHD_create_response_from_buffer(blen, bbuf, MHD_RESPMEM_MUST_FREE);
		}
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", resp.body_static ? "no-cache" : "no-store");
	security_headers(r, type);
	for (i = 0; i < resp.nheaders; i++)
		MHD_add_response_header(r, resp.headers[i][0], resp.headers[i][1]);
	ret = MHD_queue_response(conn, resp.code, r);
	MHD_destroy_response(r);
	nc_web_resp_release(&resp);
	return ret;
}

static bool is_builtin(const char *url)
{
	return strcmp(url, "/healthz") == 0 || strcmp(url, "/status") == 0 || strcmp(url, "/metrics") == 0 ||
	       strcmp(url, "/webhook") == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct nc_http *h = cls;
	struct nc_buf b = NC_BUF_INIT;
	struct conn *c;
	size_t len, n;
	char *body;
	bool web = h->web && !is_builtin(url);

	(void)version;
	(void)upload;
	if (!*con_cls) {
		/* first call: headers only; answer once the body is in */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		/* a webhook's body is kept for its signature (bounded); others are not needed */
		*con_cls = web || strcmp(url, "/webhook") == 0 ? (void *)nc_xcalloc(1, sizeof(struct nc_buf)) : (void *)h;
		c = conn_of(conn);
		if (c) {
			bool nul;

			pthread_mutex_lock(&h->mu);
			nul = c->nul;
			pthread_mutex_unlock(&h->mu);
			if (nul) {
				mark_answered(h, conn);
				return text(conn, MHD_HTTP_NOT_FOUND, "not found: a %00 in the URL");
			}
		}
		if (cl && strtoull(cl, NULL, 10) > NC_HTTP_MAX_BODY) {
			c = conn_of(conn);
			hlog(h, "refused a %s body from %s: over %zu bytes", method, c ? c->addr : "?", NC_HTTP_MAX_BODY);
			mark_answered(h, conn);
			if (web) {
				char *m = nc_xasprintf("{\"error\": \"request body too large (at most %zu bytes)\"}\n",
						       NC_HTTP_MAX_BODY);
				struct MHD_Response *r = MHD_create_response_from_buffer(strlen(m), m,
											  MHD_RESPMEM_MUST_FREE);
				enum MHD_Result ret;

				MHD_add_response_header(r, "Content-Type", "application/json");
				MHD_add_response_header(r, "Cache-Control", "no-store");
				security_headers(r, "application/json");
				ret = MHD_queue_response(conn, MHD_HTTP_CONTENT_TOO_LARGE, r);
				MHD_destroy_response(r);
				return ret;
			}
			return text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		}
		return MHD_YES;
	}
	if (*upload_size) {
		/* bodies are not needed (a webhook's is ignored): count them, drop them */
		c = conn_of(conn);
		if (c) {
			pthread_mutex_lock(&h->mu);
			c->body += *upload_size;
			n = c->body;
			pthread_mutex_unlock(&h->mu);
			if (n > NC_HTTP_MAX_BODY) {
				hlog(h, "closed a connection from %s: %s body over %zu bytes", c->addr, method,
				     NC_HTTP_MAX_BODY);
				return MHD_NO;
			}
		}
		if (*con_cls != h) {
			struct nc_buf *wb = *con_cls;

			if (wb->len + *upload_size > NC_HTTP_MAX_BODY)
				return MHD_NO;
			nc_buf_add(wb, upload, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	mark_answered(h, conn);
	if (web)
		return web_answer(h, conn, url, method, *con_cls);
	if (strcmp(url, "/webhook") == 0)
		return webhook(h, conn, method, *con_cls != h ? *con_cls : NULL);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only endpoint");
	if (strcmp(url, "/healthz") == 0)
		return text(conn, MHD_HTTP_OK, "ok");
	if (strcmp(url, "/status") == 0) {
		nc_serve_status_json(h->status, &b);
		body = nc_buf_detach(&b, &len);
		return reply(conn, MHD_HTTP_OK, "application/json", body, len);
	}
	if (strcmp(url, "/metrics") == 0) {
		nc_serve_metrics(h->status, &b);
		body = nc_buf_detach(&b, &len);
		return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", body, len);
	}
	return text(conn, MHD_HTTP_NOT_FOUND, "not found: try /healthz, /status, /metrics or POST /webhook");
}

static void free_tls(struct nc_http *h)
{
	if (h->tls_key) {
		OPENSSL_cleanse(h->tls_key, strlen(h->tls_key));
		free(h->tls_key);
	}
	free(h->tls_cert);
}

int nc_http_start(struct nc_http **out, const char *listen, const char *token,
		  const struct nc_serve_config *cfg, struct nc_serve_status *status,
		  void (*trigger)(void *opaque), void *opaque, struct nc_web *web, struct nc_err *err)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct sockaddr_in sa;
	struct nc_http *h;
	const char *colon = strrchr(listen, ':');
	char host[64];
	long port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (!colon || (size_t)(colon - listen) >= sizeof(host)) {
		nc_err_set(err, "listen address '%s' is not HOST:PORT", listen);
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		nc_err_set(err, "listen address '%s' is not an IPv4 HOST:PORT", listen);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	h = nc_xcalloc(1, sizeof(*h));
	/* tls: (or the refusal to serve plain HTTP outside loopback) and the webhooks' secrets, before listening */
	if (cfg && nc_auth_tls_load(cfg, listen, &h->tls_cert, &h->tls_key, err) < 0) {
		free(h);
		return -1;
	}
	if (h->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		nc_err_set(err, "tls: this libmicrohttpd was built without TLS support");
		goto fail_early;
	}
	if (nc_webhooks_create(&h->hooks, cfg, token, err) < 0)
		goto fail_early;
	if (h->tls_cert)
		flags |= MHD_USE_TLS;
	h->status = status;
	h->trigger = trigger;
	h->opaque = opaque;
	h->web = web;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->smu, NULL);
	nc_log_limit_init(&h->log, "http", " about clients", NC_HTTP_LOG_BURST, NC_HTTP_LOG_WINDOW, 0);
	h->d = MHD_start_daemon(flags, (uint16_t)port,
				NULL, NULL, handle, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,   /* first: every message goes through it */
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, NC_HTTP_MAX_CONNECTIONS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, NC_HTTP_MAX_PER_IP,
				MHD_OPTION_CONNECTION_TIMEOUT, NC_HTTP_IDLE_TIMEOUT,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, NC_HTTP_MEMORY,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_UNESCAPE_CALLBACK, unescape, h,
				/* without tls: the last two are skipped (MHD_OPTION_END ends the list there) */
				h->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert,
				MHD_OPTION_HTTPS_MEM_KEY, h->tls_key,
				MHD_OPTION_END);
	if (!h->d) {
		nc_err_set(err, "cannot listen on %s (in use?)", listen);
		goto fail;
	}
	if (pthread_create(&h->watchdog, NULL, watchdog, h) != 0) {
		nc_err_set(err, "cannot start the HTTP watchdog thread");
		MHD_stop_daemon(h->d);
		goto fail;
	}
	h->watchdog_started = true;
	if (web)
		nc_web_set_wake(web, wake_streams, h);
	*out = h;
	return 0;
fail:
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->smu);
	nc_log_limit_destroy(&h->log);
fail_early:
	nc_webhooks_destroy(h->hooks);
	free_tls(h);
	free(h);
	return -1;
}

void nc_http_stop(struct nc_http *h)
{
	if (!h)
		return;
	if (h->web)
		nc_web_set_wake(h->web, NULL, NULL);
	/* streams end: each resumed one reads the end (stream_reader), none suspends again */
	pthread_mutex_lock(&h->smu);
	h->stopping = 1;
	pthread_mutex_unlock(&h->smu);
	wake_streams(h);
	if (h->watchdog_started)
		pthread_join(h->watchdog, NULL);
	MHD_stop_daemon(h->d);
	nc_log_limit_destroy(&h->log);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->smu);
	nc_webhooks_destroy(h->hooks);
	free_tls(h);
	free(h);
}
