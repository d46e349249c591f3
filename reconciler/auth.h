/*
 * auth.h - who may use serve's API and dashboard (docs/security.md):
 * API tokens (stored hashed; `novacron token create`), OpenID Connect
 * login for people (oidc.c), sessions in HttpOnly Secure SameSite cookies
 * with a CSRF token for writes, roles bound to tokens, OIDC users and
 * groups in serve's configuration (api.roles), and the push webhooks'
 * signatures (GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token).
 */
#ifndef NC_AUTH_H
#define NC_AUTH_H

#include "web.h"

struct nc_auth;
int nc_auth_create(struct nc_auth **out, const struct nc_serve_config *cfg, const char *state_dir,
		   struct nc_err *err);
void nc_auth_destroy(struct nc_auth *a);
/*
 * Who sent req: a bearer token, a session cookie, or no one (role none,
 * who "anonymous", or api.anonymous's role).  0; -1 when the credentials
 * given are wrong, expired or forged (resp holds the 401).
 */
int nc_auth_identify(struct nc_auth *a, const struct nc_web_req *req, struct nc_principal *p,
		     struct nc_web_resp *resp);
/* a write by p: the CSRF check for sessions; 0, or -1 with resp holding the 403 */
int nc_auth_check_write(struct nc_auth *a, const struct nc_web_req *req, const struct nc_principal *p,
			struct nc_web_resp *resp);
/* /auth/...: login, OIDC callback, logout, the session's own facts; resp->code 0 when not one */
void nc_auth_handle(struct nc_auth *a, const struct nc_web_req *req, struct nc_web_resp *resp);
/* a new dashboard session for p (after a token login or OIDC): sets its cookies in resp */
int nc_auth_session_start(struct nc_auth *a, const struct nc_principal *p, struct nc_web_resp *resp);
/* the role and tenant scope api.roles gives an OIDC user with these groups (role none: no binding) */
void nc_auth_bind_oidc(struct nc_auth *a, const char *subject, const char *email, const char *const *groups,
		       size_t ngroups, struct nc_principal *p);
/* POST /webhook: the configured token, a GitHub signature or a GitLab token; true when it holds */
bool nc_auth_webhook(struct nc_auth *a, const struct nc_web_req *req, char *who, size_t n);

/* ---- the token store (STATE_DIR/tokens, hashed; `novacron token`) ---- */
struct nc_token_info {
	char name[64];
	enum nc_role role;
	char tenants[NC_PRINCIPAL_MAX_TENANTS][64];
	size_t ntenants;
	time_t created, expires;         /* expires 0: never */
};
/* a new token: the secret is written into secret (shown once, never stored) */
int nc_token_create(const char *state_dir, const struct nc_token_info *info, char *secret, size_t n,
		    struct nc_err *err);
int nc_token_revoke(const char *state_dir, const char *name, struct nc_err *err);
/* the tokens, without secrets; *out freed by the caller */
int nc_token_list(const char *state_dir, struct nc_token_info **out, size_t *n, struct nc_err *err);

#endif
