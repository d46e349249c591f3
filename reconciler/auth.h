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
/*
 * The CSRF token of req's session into buf (GET /api/v1/me shows it to its
 * own session); -1 when req carries no live session cookie.
 */
int nc_auth_session_csrf(struct nc_auth *a, const struct nc_web_req *req, char *buf, size_t n);
/* sessions kept at most (the oldest is ended first); a session id and a CSRF token are 43 characters */
#define NC_AUTH_MAX_SESSIONS 10000u
/* sessions of one principal (who) at once: its next login replaces its oldest */
#define NC_AUTH_MAX_SESSIONS_PER 64u
#define NC_AUTH_SECRET_LEN 43

/*
 * Roles: a token has its own role and tenants (none: all); an api.roles
 * entry naming the token, an OIDC user (subject or e-mail) or one of its
 * groups gives its role with its tenants.  The highest role wins, with the
 * tenant scope of what gave it; several giving the same highest role join
 * their scopes (an empty scope is all tenants).
 */

/* ---- TLS (tls:, api.insecureHttp) ---- */
/*
 * The listener's certificate and key, read and checked (PEM, the key
 * matching the certificate, the key file private): *cert and *key are
 * NULL without tls:.  -1 with a message naming the fix when listen is not
 * loopback and tls: is missing (unless api.insecureHttp: true) or when a
 * file is unreadable or wrong.
 */
int nc_auth_tls_load(const struct nc_serve_config *cfg, const char *listen, char **cert, char **key,
		     struct nc_err *err);

/* ---- push webhooks (POST /webhook) ---- */
struct nc_webhooks;
/*
 * bearer: serve's tokenFile content (NULL: none); webhooks.githubSecretFile
 * and webhooks.gitlabTokenFile are read here (private files, else -1).
 */
int nc_webhooks_create(struct nc_webhooks **out, const struct nc_serve_config *cfg, const char *bearer,
		       struct nc_err *err);
void nc_webhooks_destroy(struct nc_webhooks *w);
/* true when at least one kind of webhook is configured */
bool nc_webhooks_enabled(const struct nc_webhooks *w);
/*
 * Is req an authentic push?  0 with who ("github delivery ID", "gitlab",
 * "bearer token"); else the HTTP code (401 wrong or missing signature or
 * token, 403 that kind is not configured, 409 a replayed GitHub delivery)
 * with why.  GitHub: X-Hub-Signature-256 = "sha256=" HMAC-SHA256 of the
 * body; the last NC_WEBHOOK_DELIVERIES X-GitHub-Delivery ids are remembered.
 */
#define NC_WEBHOOK_DELIVERIES 1000u
unsigned nc_webhooks_check(struct nc_webhooks *w, const struct nc_web_req *req, char *who, size_t n, char *why,
			   size_t whyn);

/*
 * ---- the token store (STATE_DIR/tokens.json, `novacron token`) ----
 * A secret is "nc_" and 43 base64url characters (256 random bits); the
 * store keeps its SHA-256 only, 0600, replaced atomically.  serve reads the
 * store again when it changes: a revoked or expired token is refused at once.
 */
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
/* a token or tenant name: 1 to 63 of [A-Za-z0-9._-], not starting with '.' or '-' */
bool nc_token_name_ok(const char *name);
/* the tokens, without secrets; *out freed by the caller */
int nc_token_list(const char *state_dir, struct nc_token_info **out, size_t *n, struct nc_err *err);

#endif
