/*
 * http.c - the serve endpoint, on libmicrohttpd's own thread.
 *
 *   GET  /healthz   "ok"
 *   GET  /status    JSON (docs/operations.md)
 *   GET  /metrics   Prometheus text
 *   POST /webhook   fetch and reconcile now; needs "Authorization: Bearer
 *                   TOKEN" (refused when no token is configured)
 *
 * It binds to loopback unless told otherwise.  Requests only read the
 * status or raise a flag; the loop does the work.
 */
#include "serve.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct nc_http {
	struct MHD_Daemon *d;
	char *token;
	struct nc_serve_status *status;
	void (*trigger)(void *opaque);
	void *opaque;
};

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

static bool authorized(const struct nc_http *h, struct MHD_Connection *conn)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	size_t n;

	if (!h->token || !auth || strncmp(auth, "Bearer ", 7) != 0)
		return false;
	auth += 7;
	n = strlen(h->token);
	return strlen(auth) == n && CRYPTO_memcmp(auth, h->token, n) == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct nc_http *h = cls;
	struct nc_buf b = NC_BUF_INIT;
	size_t len;
	char *body;

	(void)version;
	(void)upload;
	if (!*con_cls) {
		/* first call: headers only; answer once the body is in */
		*con_cls = h;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;    /* webhook bodies are not needed: ignore them */
		return MHD_YES;
	}
	if (strcmp(url, "/webhook") == 0) {
		if (strcmp(method, "POST") != 0)
			return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
		if (!h->token)
			return text(conn, MHD_HTTP_FORBIDDEN, "webhook disabled: no tokenFile configured");
		if (!authorized(h, conn))
			return text(conn, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
		h->trigger(h->opaque);
		return text(conn, MHD_HTTP_ACCEPTED, "fetch and reconcile scheduled");
	}
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

int nc_http_start(struct nc_http **out, const char *listen, const char *token,
		  struct nc_serve_status *status, void (*trigger)(void *opaque), void *opaque,
		  struct nc_err *err)
{
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
	h->token = token ? nc_xstrdup(token) : NULL;
	h->status = status;
	h->trigger = trigger;
	h->opaque = opaque;
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
				NULL, handle, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!h->d) {
		nc_err_set(err, "cannot listen on %s (in use?)", listen);
		free(h->token);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

void nc_http_stop(struct nc_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h->token);
	free(h);
}
