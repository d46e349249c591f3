/*
 * web.c - the dispatcher of serve's API and dashboard (web.h): identifies
 * the caller (auth.c), routes /auth/..., /api/v1/... and the dashboard's
 * files, and records every write in the audit log.
 */
#include "web.h"

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "assets.h"
#include "audit.h"
#include "auth.h"
#include "federation.h"
#include "graphs.h"
#include "monitor.h"
#include "../spec/tenant.h"
#include "verbs.h"
#include "oidc.h"
#include "serve.h"

struct nc_web {
	struct nc_auth *auth;
	struct nc_oidc *oidc;            /* NULL without api.oidc */
	struct nc_serve_status *status;
	struct nc_web_hooks hooks;
	char *state_dir;
	enum nc_role anonymous;          /* api.anonymous */
	struct nc_api *api;
	struct nc_graphs *graphs;        /* /api/v1/{vms,hosts}/NAME/graphs (graphs.h) */
	pthread_mutex_t mu;              /* wake */
	void (*wake)(void *cls);
	void *wake_cls;
	struct nc_list federation;       /* a copy of federation: (struct nc_serve_peer, strings owned) */
};

void nc_web_json_str(struct nc_buf *b, const char *s)
{
	size_t start = b->len, i;
	struct nc_buf t = NC_BUF_INIT;

	nc_buf_add_json_str(b, s ? s : "");
	if (!strpbrk(b->buf + start, "<>&"))
		return;
	for (i = start; i < b->len; i++) {
		char c = b->buf[i];

		if (c == '<')
			nc_buf_adds(&t, "\\u003c");
		else if (c == '>')
			nc_buf_adds(&t, "\\u003e");
		else if (c == '&')
			nc_buf_adds(&t, "\\u0026");
		else
			nc_buf_addc(&t, c);
	}
	b->len = start;
	b->buf[start] = '\0';
	nc_buf_add(b, t.buf, t.len);
	nc_buf_release(&t);
}

static const char *const role_names[] = { "none", "viewer", "operator", "admin" };

const char *nc_role_name(enum nc_role r)
{
	return (unsigned)r < NC_ARRAY_SIZE(role_names) ? role_names[r] : "none";
}

int nc_role_parse(const char *s, enum nc_role *out)
{
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(role_names); i++)
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum nc_role)i;
			return 0;
		}
	return -1;
}

bool nc_principal_can(const struct nc_principal *p, enum nc_role need)
{
	return p && p->role >= need && need > NC_ROLE_NONE;
}

bool nc_principal_sees(const struct nc_principal *p, const char *tenant)
{
	size_t i;

	if (!p || p->role == NC_ROLE_NONE)
		return false;
	if (p->all_tenants)
		return true;
	if (!tenant)
		return false;
	for (i = 0; i < p->ntenants; i++)
		if (strcmp(p->tenants[i], tenant) == 0)
			return true;
	return false;
}

void nc_web_resp_header(struct nc_web_resp *resp, const char *name, const char *value)
{
	if (resp->nheaders >= NC_WEB_MAX_HEADERS)
		return;
	resp->headers[resp->nheaders][0] = nc_xstrdup(name);
	resp->headers[resp->nheaders][1] = nc_xstrdup(value);
	resp->nheaders++;
}

void nc_web_error(struct nc_web_resp *resp, unsigned code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nc_buf_reset(&resp->body);
	nc_buf_adds(&resp->body, "{\"error\": ");
	nc_web_json_str(&resp->body, msg);
	nc_buf_adds(&resp->body, "}\n");
	resp->type = "application/json";
	resp->code = code;
}

void nc_web_resp_release(struct nc_web_resp *resp)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i][0]);
		free(resp->headers[i][1]);
	}
	resp->nheaders = 0;
	if (!resp->body_static)
		nc_buf_release(&resp->body);
	if (resp->stream_free && resp->stream_cls)
		resp->stream_free(resp->stream_cls);
	resp->stream_cls = NULL;
}

int nc_web_create(struct nc_web **out, const struct nc_serve_config *cfg, const char *config_path,
		  const char *state_dir, struct nc_serve_status *status,
		  const struct nc_web_hooks *hooks, struct nc_err *err)
{
	struct nc_web *w = nc_xcalloc(1, sizeof(*w));

	(void)config_path;
	if (nc_auth_create(&w->auth, cfg, state_dir, err) < 0) {
		free(w);
		return -1;
	}
	if (nc_oidc_create(&w->oidc, cfg, err) < 0) {
		nc_auth_destroy(w->auth);
		free(w);
		return -1;
	}
	w->status = status;
	w->anonymous = NC_IS_SET(cfg->api.anonymous) && cfg->api.anonymous.v == 1 ? NC_ROLE_VIEWER : NC_ROLE_NONE;
	pthread_mutex_init(&w->mu, NULL);
	if (hooks)
		w->hooks = *hooks;
	w->state_dir = nc_xstrdup(state_dir);
	nc_federation_peers_dup(&w->federation, &cfg->federation);
	/* the history serve's telemetry writes: telemetry.dir, else STATE_DIR/telemetry */
	if (NC_IS_SET(cfg->telemetry.enabled) && !cfg->telemetry.enabled.v) {
		w->graphs = nc_graphs_new(NULL);
	} else {
		char *tdir = NC_IS_SET(cfg->telemetry.dir) ? nc_xstrdup(cfg->telemetry.dir.v)
							   : nc_xasprintf("%s/telemetry", state_dir);

		w->graphs = nc_graphs_new(tdir);
		free(tdir);
	}
	*out = w;
	return 0;
}

void nc_web_destroy(struct nc_web *w)
{
	if (!w)
		return;
	if (w->api)
		nc_events_set_wake(nc_api_events(w->api), NULL, NULL);
	pthread_mutex_destroy(&w->mu);
	nc_graphs_free(w->graphs);
	nc_oidc_destroy(w->oidc);
	nc_auth_destroy(w->auth);
	nc_federation_peers_release(&w->federation);
	free(w->state_dir);
	free(w);
}

void nc_web_set_wake(struct nc_web *w, void (*wake)(void *cls), void *cls)
{
	pthread_mutex_lock(&w->mu);
	w->wake = wake;
	w->wake_cls = cls;
	pthread_mutex_unlock(&w->mu);
}

void nc_web_wake(struct nc_web *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->wake)
		w->wake(w->wake_cls);
	pthread_mutex_unlock(&w->mu);
}

static void wake_from_events(void *cls)
{
	nc_web_wake(cls);
}

void nc_web_set_api(struct nc_web *w, struct nc_api *api)
{
	w->api = api;
	if (api)
		nc_events_set_wake(nc_api_events(api), wake_from_events, w);
}

/* GET /api/v1/me */
static void get_me(struct nc_web *w, const struct nc_web_req *req, const struct nc_principal *p,
		   struct nc_web_resp *resp)
{
	struct nc_buf *b = &resp->body;
	char csrf[NC_AUTH_SECRET_LEN + 8];
	size_t i;

	nc_buf_adds(b, "{\"who\": ");
	nc_web_json_str(b, p->who);
	nc_buf_addf(b, ", \"role\": \"%s\", \"tenants\": ", nc_role_name(p->role));
	if (p->all_tenants) {
		nc_buf_adds(b, "null");
	} else {
		nc_buf_adds(b, "[");
		for (i = 0; i < p->ntenants; i++) {
			nc_buf_adds(b, i ? ", " : "");
			nc_web_json_str(b, p->tenants[i]);
		}
		nc_buf_adds(b, "]");
	}
	nc_buf_addf(b, ", \"session\": %s, \"mfa\": %s", p->session ? "true" : "false", p->mfa ? "true" : "false");
	/* a session's own CSRF token, for its writes (X-CSRF-Token) */
	if (p->session && nc_auth_session_csrf(w->auth, req, csrf, sizeof(csrf)) == 0) {
		nc_buf_adds(b, ", \"csrf\": ");
		nc_web_json_str(b, csrf);
	}
	nc_buf_adds(b, "}\n");
	resp->code = 200;
	resp->type = "application/json";
}

static bool sees_tenant(const void *cls, const char *tenant)
{
	return nc_principal_sees(cls, tenant);
}

/* GET /api/v1/tenants: those p sees, with quota and usage (spec/tenant.h) */
static void get_tenants(struct nc_web *w, const struct nc_principal *p, struct nc_web_resp *resp)
{
	struct nc_spec_ref *ref = nc_api_spec(w->api);

	nc_buf_adds(&resp->body, "{\"items\": ");
	nc_tenant_usage_json(nc_spec_ref_spec(ref), sees_tenant, p, &resp->body);
	nc_buf_adds(&resp->body, "}\n");
	nc_spec_ref_put(ref);
	resp->code = 200;
	resp->type = "application/json";
}

/* the object a write names: /api/v1/vms/NAME/..., /api/v1/hosts/NAME/... */
static char *write_target(const char *path)
{
	const char *t = NULL, *end;

	if (strncmp(path, "/api/v1/vms/", 12) == 0)
		t = path + 12;
	else if (strncmp(path, "/api/v1/hosts/", 14) == 0)
		t = path + 14;
	if (!t || !*t)
		return NULL;
	end = strchr(t, '/');
	return end ? nc_xstrndup(t, (size_t)(end - t)) : nc_xstrdup(t);
}

/* the message of an answer: its "error" (at most 300 bytes), else "ok" */
static char *answer_message(const struct nc_web_resp *resp)
{
	struct json_object *o, *e;
	char *m;

	if (resp->code < 400)
		return nc_xstrdup("ok");
	o = resp->body.buf ? json_tokener_parse(resp->body.buf) : NULL;
	if (o && json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string))
		m = nc_xstrndup(json_object_get_string(e), strnlen(json_object_get_string(e), 300));
	else
		m = nc_xstrdup("refused");
	json_object_put(o);
	/* it may quote the path: no credentials of a URL in the audit log or an event */
	{
		char *safe = nc_url_redact(m);

		free(m);
		m = safe;
	}
	return m;
}

static bool is_write(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0;
}

static void api_write(struct nc_web *w, const struct nc_web_req *req, struct nc_principal *p,
		      struct nc_web_resp *resp)
{
	char *target = write_target(req->path), *msg, *safe_path;
	const char *tenant = NULL;
	struct nc_spec_ref *ref = NULL;
	bool standby;

	/* another instance holds the lease (not: this one is starting and has not tried yet) */
	pthread_mutex_lock(&w->status->mu);
	standby = !w->status->leader && w->status->last_result && strcmp(w->status->last_result, "standby") == 0;
	pthread_mutex_unlock(&w->status->mu);
	if (!nc_principal_can(p, NC_ROLE_OPERATOR)) {
		nc_web_error(resp, 403, "%s may not change anything (role %s)", p->who, nc_role_name(p->role));
	} else if (standby) {
		/* a standby carries out nothing: its verbs would wait for a lease it may never get, and
		 * its pause would be written under the leader's state */
		nc_web_error(resp, 503, "this instance stands by (another holds the lease): send writes to the leader");
	} else if (target && strncmp(req->path, "/api/v1/vms/", 12) == 0 && !nc_api_vm_visible(w->api, p, target)) {
		nc_web_error(resp, 404, "no VM %s", target);
	} else if (nc_auth_check_write(w->auth, req, p, resp) == 0) {
		ref = nc_api_spec(w->api);
		nc_verbs_handle(&w->hooks, nc_spec_ref_spec(ref), req, p, resp);
		if (!resp->code)
			nc_web_error(resp, 404, "no such endpoint: %s %s", req->method, req->path);
	}
	msg = answer_message(resp);
	nc_audit_record(nc_api_audit(w->api), p, req->peer, req->method, req->path, target, resp->code, msg);
	if (target && strncmp(req->path, "/api/v1/vms/", 12) == 0 && ref) {
		const struct nc_spec *spec = nc_spec_ref_spec(ref);
		size_t i;

		for (i = 0; spec && i < spec->nobjs[NC_KIND_VM]; i++)
			if (strcmp(spec->objs[NC_KIND_VM][i]->meta.name.v, target) == 0)
				tenant = nc_tenant_of(spec, spec->objs[NC_KIND_VM][i]);
	}
	safe_path = nc_url_redact(req->path);
	nc_events_publish(nc_api_events(w->api), "audit", target, tenant, NC_EV_ADMIN, "%s %s %s by %s: %u %s",
			  req->method, safe_path, resp->code < 400 ? "done" : "refused", p->who, resp->code, msg);
	free(safe_path);
	nc_spec_ref_put(ref);
	free(msg);
	free(target);
}

/*
 * An event stream lives on after its request: before each read it is
 * identified again with the credentials it was opened with, and ended when
 * they are gone (a session logged out or expired, a token revoked or
 * expired) or now name another role or scope (the client reconnects).
 */
struct stream_guard {
	struct nc_web *w;
	char *auth, *sid, *peer;
	struct nc_principal p;
	ssize_t (*read)(void *cls, char *buf, size_t max);
	void (*free)(void *cls);
	void *cls;
};

static const char *guard_header(const struct nc_web_req *r, const char *name)
{
	const struct stream_guard *g = r->ctx;

	return strcasecmp(name, "Authorization") == 0 ? g->auth : NULL;
}

static const char *guard_cookie(const struct nc_web_req *r, const char *name)
{
	const struct stream_guard *g = r->ctx;

	return strcmp(name, "nc_session") == 0 ? g->sid : NULL;
}

static const char *guard_query(const struct nc_web_req *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

static bool same_principal(const struct nc_principal *a, const struct nc_principal *b)
{
	size_t i;

	if (a->role != b->role || a->all_tenants != b->all_tenants || a->ntenants != b->ntenants)
		return false;
	for (i = 0; i < a->ntenants; i++)
		if (strcmp(a->tenants[i], b->tenants[i]) != 0)
			return false;
	return true;
}

static ssize_t guard_read(void *cls, char *buf, size_t max)
{
	struct stream_guard *g = cls;

	if (g->auth || g->sid) {
		struct nc_web_req req;
		struct nc_web_resp resp;
		struct nc_principal p;
		int rc;

		memset(&req, 0, sizeof(req));
		memset(&resp, 0, sizeof(resp));
		req.method = "GET";
		req.path = "/api/v1/events/stream";
		req.body = "";
		req.peer = g->peer;
		req.header = guard_header;
		req.cookie = guard_cookie;
		req.query = guard_query;
		req.ctx = g;
		rc = nc_auth_identify(g->w->auth, &req, &p, &resp);
		nc_web_resp_release(&resp);
		if (rc < 0 || !same_principal(&p, &g->p))
			return -1;
	}
	return g->read(g->cls, buf, max);
}

static void guard_free(void *cls)
{
	struct stream_guard *g = cls;

	if (g->free)
		g->free(g->cls);
	free(g->auth);
	if (g->sid) {
		OPENSSL_cleanse(g->sid, strlen(g->sid));
		free(g->sid);
	}
	free(g->peer);
	free(g);
}

static void guard_stream(struct nc_web *w, const struct nc_web_req *req, const struct nc_principal *p,
			 struct nc_web_resp *resp)
{
	struct stream_guard *g = nc_xcalloc(1, sizeof(*g));
	const char *auth = req->header ? req->header(req, "Authorization") : NULL;
	const char *sid = req->cookie ? req->cookie(req, "nc_session") : NULL;

	g->w = w;
	g->auth = auth ? nc_xstrdup(auth) : NULL;
	g->sid = !auth && sid ? nc_xstrdup(sid) : NULL;
	g->peer = nc_xstrdup(req->peer ? req->peer : "?");
	g->p = *p;
	g->read = resp->stream_read;
	g->free = resp->stream_free;
	g->cls = resp->stream_cls;
	resp->stream_read = guard_read;
	resp->stream_free = guard_free;
	resp->stream_cls = g;
}

/*
 * GET /api/v1/federation: every cluster's serve, read now (federation.h);
 * viewer, every tenant: the rows are whole clusters, not one tenant's share
 */
static void get_federation(struct nc_web *w, const struct nc_principal *p, struct nc_web_resp *resp)
{
	if (!p->all_tenants) {
		nc_web_error(resp, 403, "the federation view shows whole clusters: not for a principal scoped to tenants");
		return;
	}
	if (!w->federation.n) {
		nc_web_error(resp, 404, "this serve's configuration has no federation: list (docs/federation.md)");
		return;
	}
	nc_federation_answer(&w->federation, wake_from_events, w, resp);
}

static void api_request(struct nc_web *w, const struct nc_web_req *req, struct nc_web_resp *resp)
{
	struct nc_principal p;
	struct nc_api_facts f;
	char *invalid_id, *invalid_error;

	memset(&p, 0, sizeof(p));
	if (nc_auth_identify(w->auth, req, &p, resp) < 0) {
		if (!p.who[0])
			snprintf(p.who, sizeof(p.who), "unidentified (credentials refused)");
		if (is_write(req->method) && w->api) {
			char *msg = answer_message(resp);

			nc_audit_record(nc_api_audit(w->api), &p, req->peer, req->method, req->path, NULL,
					resp->code, msg);
			free(msg);
		}
		return;
	}
	/* no credentials: api.anonymous gives a role (none by default) */
	if (p.role == NC_ROLE_NONE && strcmp(p.who, "anonymous") == 0 && w->anonymous != NC_ROLE_NONE) {
		p.role = w->anonymous;
		p.all_tenants = true;
	}
	if (p.role == NC_ROLE_NONE) {
		nc_web_error(resp, 401, "authentication required: a bearer token or a session");
		nc_web_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"novacron\"");
		if (is_write(req->method) && w->api) {
			nc_audit_record(nc_api_audit(w->api), &p, req->peer, req->method, req->path, NULL, 401,
					"authentication required");
		}
		return;
	}
	if (!w->api) {
		nc_web_error(resp, 503, "the API is not ready");
		return;
	}
	if (is_write(req->method)) {
		api_write(w, req, &p, resp);
		return;
	}
	if (strcmp(req->path, "/api/v1/me") == 0) {
		get_me(w, req, &p, resp);
		return;
	}
	if (strcmp(req->path, "/api/v1/tenants") == 0) {
		get_tenants(w, &p, resp);
		return;
	}
	if (strcmp(req->path, "/api/v1/federation") == 0) {
		get_federation(w, &p, resp);
		return;
	}
	if (nc_graphs_handle(w->graphs, w->api, req, &p, resp))
		return;
	memset(&f, 0, sizeof(f));
	pthread_mutex_lock(&w->status->mu);
	f.leader = w->status->leader;
	f.paused = w->status->paused;
	f.approve_mode = w->status->approve_mode;
	invalid_id = w->status->invalid_id ? nc_xstrdup(w->status->invalid_id) : NULL;
	invalid_error = w->status->invalid_error ? nc_xstrdup(w->status->invalid_error) : NULL;
	pthread_mutex_unlock(&w->status->mu);
	f.invalid_id = invalid_id;
	f.invalid_error = invalid_error;
	nc_api_handle(w->api, req, &p, &f, resp);
	free(invalid_id);
	free(invalid_error);
	if (resp->stream_read)
		guard_stream(w, req, &p, resp);
	if (!resp->code)
		nc_web_error(resp, 404, "no such endpoint: %s", req->path);
}

void nc_web_handle(struct nc_web *w, const struct nc_web_req *req, struct nc_web_resp *resp)
{
	const void *data;
	size_t len;
	const char *type;

	if (strncmp(req->path, "/auth/", 6) == 0) {
		nc_oidc_handle(w->oidc, w->auth, req, resp);
		if (resp->code)
			return;
		nc_auth_handle(w->auth, req, resp);
		if (resp->code)
			return;
	}
	if (strncmp(req->path, "/api/", 5) == 0) {
		api_request(w, req, resp);
		return;
	}
	if (strcmp(req->method, "GET") == 0 && nc_asset_get(req->path, &data, &len, &type) == 0) {
		resp->code = 200;
		resp->type = type;
		resp->body_static = true;
		resp->static_data = data;
		resp->static_len = len;
		return;
	}
	nc_web_error(resp, 404, "not found: %s", req->path);
}
