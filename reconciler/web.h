/*
 * web.h - serve's operator API and dashboard (docs/api.md, docs/dashboard.md,
 * docs/security.md): the contract between its parts.
 *
 *   http.c      libmicrohttpd: connections, limits, TLS, request bodies;
 *               every path but /healthz, /status, /metrics and /webhook
 *               goes to nc_web_handle() as a struct nc_web_req
 *   web.c       the dispatcher: authenticates (auth.c), routes, audits writes
 *   api.c       /api/v1/...: the snapshot of the last pass, the verbs
 *   events.c    the event ring: /api/v1/events and the SSE stream
 *   audit.c     the audit log under STATE_DIR/audit (who, what, when, result)
 *   auth.c      tokens, roles, sessions, CSRF, webhook signatures
 *   oidc.c      OpenID Connect login (authorization code + PKCE, JWKS)
 *   assets.c    the dashboard's files, embedded in the binary (web/ui/)
 *
 * Handlers never see libmicrohttpd: they read a struct nc_web_req and fill
 * a struct nc_web_resp.  Everything here may be called from several
 * threads at once.
 */
#ifndef NC_WEB_H
#define NC_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "../drivers/driver.h"
#include "../spec/util.h"

struct nc_serve_config;
struct nc_serve_status;
struct nc_spec;

/* ---- requests and responses ---- */
#define NC_WEB_MAX_HEADERS 8
struct nc_web_req {
	const char *method;              /* "GET", "POST", ... */
	const char *path;                /* decoded, without the query */
	const char *body;                /* NUL-terminated; "" when none */
	size_t body_len;
	const char *peer;                /* client address */
	bool tls;                        /* came over TLS */
	/* a request header (case-insensitive name) or query argument, NULL when absent */
	const char *(*header)(const struct nc_web_req *r, const char *name);
	const char *(*query)(const struct nc_web_req *r, const char *name);
	/* a cookie's value, NULL when absent */
	const char *(*cookie)(const struct nc_web_req *r, const char *name);
	void *ctx;                       /* http.c's own */
};

struct nc_web_resp {
	unsigned code;                   /* 0: not handled (404 by the dispatcher) */
	const char *type;                /* Content-Type; default application/json */
	struct nc_buf body;
	bool body_static;                /* body.buf points at embedded data (not freed) */
	const void *static_data;         /* with body_static: the bytes and their length */
	size_t static_len;
	char *headers[NC_WEB_MAX_HEADERS][2];   /* extra headers (Set-Cookie, Location, ...), owned */
	size_t nheaders;
	/* a stream (Server-Sent Events): http.c calls read until it returns -1
	 * (end) and free when the connection goes; read returns 0 when there is
	 * nothing yet (http.c suspends the connection until nc_web_wake) */
	ssize_t (*stream_read)(void *cls, char *buf, size_t max);
	void (*stream_free)(void *cls);
	void *stream_cls;
};
void nc_web_resp_header(struct nc_web_resp *resp, const char *name, const char *value);
/* a JSON error body {"error": MSG} with CODE */
void nc_web_error(struct nc_web_resp *resp, unsigned code, const char *fmt, ...) NC_PRINTF(3, 4);

/* ---- who is asking (auth.c) ---- */
enum nc_role { NC_ROLE_NONE = 0, NC_ROLE_VIEWER = 1, NC_ROLE_OPERATOR = 2, NC_ROLE_ADMIN = 3 };
const char *nc_role_name(enum nc_role r);          /* "viewer", ... "none" */
int nc_role_parse(const char *s, enum nc_role *out);

#define NC_PRINCIPAL_MAX_TENANTS 32
struct nc_principal {
	char who[192];                   /* "token:NAME", "oidc:SUBJECT (email)", "anonymous" */
	enum nc_role role;
	bool all_tenants;                /* no tenant scope */
	char tenants[NC_PRINCIPAL_MAX_TENANTS][64];
	size_t ntenants;
	bool session;                    /* by cookie: writes need the CSRF header */
	bool mfa;                        /* the provider said MFA (amr) */
};
/* may p do what needs role need? */
bool nc_principal_can(const struct nc_principal *p, enum nc_role need);
/* may p see an object of tenant (NULL: an object of no tenant, seen by unscoped principals only)? */
bool nc_principal_sees(const struct nc_principal *p, const char *tenant);

/* ---- the whole (web.c) ---- */
struct nc_web;
struct nc_web_hooks {
	/* the loop's verbs (cmd-serve.c); each returns 0 or -1 with a message in why */
	void (*sync)(void *opaque);                               /* fetch and reconcile now */
	void (*pause)(void *opaque, bool paused);                 /* pause or resume reconciliation */
	int (*approve)(void *opaque, const char *digest, char *why, size_t n);
	int (*backup)(void *opaque, const char *vm, char *why, size_t n);
	int (*restore)(void *opaque, const char *vm, const char *backup_id, const char *as,
		       char *why, size_t n);
	int (*fence_confirm)(void *opaque, const char *host, const char *by, char *why, size_t n);
	void *opaque;
};
int nc_web_create(struct nc_web **out, const struct nc_serve_config *cfg, const char *config_path,
		  const char *state_dir, struct nc_serve_status *status,
		  const struct nc_web_hooks *hooks, struct nc_err *err);
void nc_web_destroy(struct nc_web *w);
/* answers one request (never blocks on the loop) */
void nc_web_handle(struct nc_web *w, const struct nc_web_req *req, struct nc_web_resp *resp);
void nc_web_resp_release(struct nc_web_resp *resp);
/* streams that returned 0 have something to read again (events.c calls it) */
void nc_web_set_wake(struct nc_web *w, void (*wake)(void *cls), void *cls);
void nc_web_wake(struct nc_web *w);
/* the read side (api.h): its snapshot, events and audit log outlive a configuration reload */
struct nc_api;
void nc_web_set_api(struct nc_web *w, struct nc_api *api);
/* a JSON string as nc_buf_add_json_str writes it, with <, > and & as \u escapes too
 * (a name never becomes markup, whatever reads it) */
void nc_web_json_str(struct nc_buf *b, const char *s);

#endif
