/*
 * oidc.h - OpenID Connect login for people (docs/security.md): the
 * authorization-code flow with PKCE against the provider of api.oidc; the
 * ID token verified with OpenSSL against the provider's JWKS (fetched with
 * libcurl): signature (RS256/ES256; never alg none), issuer, audience,
 * expiry, nonce; MFA from amr for the roles of api.oidc.requireMfa.
 *   GET /auth/oidc           {"enabled": true, "issuer", "login"}: the dashboard's SSO link
 *   GET /auth/oidc/login     redirect to the provider
 *   GET /auth/callback       code -> tokens -> session (nc_auth_session_start)
 * web.c calls nc_oidc_handle before nc_auth_handle for every /auth/ path.
 * oidc-jwt.h holds the JWS and JWK parts.
 */
#ifndef NC_OIDC_H
#define NC_OIDC_H

#include "web.h"

struct nc_auth;
struct nc_oidc;
/* *out NULL when api.oidc is not configured */
int nc_oidc_create(struct nc_oidc **out, const struct nc_serve_config *cfg, struct nc_err *err);
void nc_oidc_destroy(struct nc_oidc *o);
/* /auth/oidc/login and /auth/callback; resp->code 0 when req is neither */
void nc_oidc_handle(struct nc_oidc *o, struct nc_auth *auth, const struct nc_web_req *req,
		    struct nc_web_resp *resp);

#endif
