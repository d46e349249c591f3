/*
 * web.c - the dispatcher of serve's API and dashboard (web.h): identifies
 * the caller (auth.c), routes /auth/..., /api/v1/... and the dashboard's
 * files, and records every write in the audit log.
 */
#include "web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "auth.h"
#include "oidc.h"
#include "serve.h"

struct nc_web {
	struct nc_auth *auth;
	struct nc_oidc *oidc;            /* NULL without api.oidc */
	struct nc_serve_status *status;
	struct nc_web_hooks hooks;
	char *state_dir;
	void (*wake)(void *cls);
	void *wake_cls;
};

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
	nc_buf_add_json_str(&resp->body, msg);
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
	if (hooks)
		w->hooks = *hooks;
	w->state_dir = nc_xstrdup(state_dir);
	*out = w;
	return 0;
}

void nc_web_destroy(struct nc_web *w)
{
	if (!w)
		return;
	nc_oidc_destroy(w->oidc);
	nc_auth_destroy(w->auth);
	free(w->state_dir);
	free(w);
}

void nc_web_set_wake(struct nc_web *w, void (*wake)(void *cls), void *cls)
{
	w->wake = wake;
	w->wake_cls = cls;
}

void nc_web_wake(struct nc_web *w)
{
	if (w && w->wake)
		w->wake(w->wake_cls);
}

void nc_web_handle(struct nc_web *w, const struct nc_web_req *req, struct nc_web_resp *resp)
{
	struct nc_principal p;
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
		if (nc_auth_identify(w->auth, req, &p, resp) < 0)
			return;
		nc_web_error(resp, 404, "no such endpoint: %s", req->path);
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
