/*
 * oidc.c - OpenID Connect login (oidc.h).  (placeholder: not configured)
 */
#include "oidc.h"

#include <stdlib.h>

int nc_oidc_create(struct nc_oidc **out, const struct nc_serve_config *cfg, struct nc_err *err)
{
	(void)cfg;
	(void)err;
	*out = NULL;
	return 0;
}

void nc_oidc_destroy(struct nc_oidc *o)
{
	(void)o;
}

void nc_oidc_handle(struct nc_oidc *o, struct nc_auth *auth, const struct nc_web_req *req,
		    struct nc_web_resp *resp)
{
	(void)o;
	(void)auth;
	(void)req;
	(void)resp;
}
