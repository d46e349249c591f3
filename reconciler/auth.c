/*
 * auth.c - tokens, roles, sessions, CSRF and webhook signatures (auth.h).
 * (placeholder: nobody is authenticated yet)
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

struct nc_auth {
	int unused;
};

int nc_auth_create(struct nc_auth **out, const struct nc_serve_config *cfg, const char *state_dir,
		   struct nc_err *err)
{
	(void)cfg;
	(void)state_dir;
	(void)err;
	*out = nc_xcalloc(1, sizeof(**out));
	return 0;
}

void nc_auth_destroy(struct nc_auth *a)
{
	free(a);
}

int nc_auth_identify(struct nc_auth *a, const struct nc_web_req *req, struct nc_principal *p,
		     struct nc_web_resp *resp)
{
	(void)a;
	(void)req;
	(void)resp;
	memset(p, 0, sizeof(*p));
	snprintf(p->who, sizeof(p->who), "anonymous");
	return 0;
}

int nc_auth_check_write(struct nc_auth *a, const struct nc_web_req *req, const struct nc_principal *p,
			struct nc_web_resp *resp)
{
	(void)a;
	(void)req;
	(void)p;
	nc_web_error(resp, 403, "writes are not possible yet");
	return -1;
}

void nc_auth_handle(struct nc_auth *a, const struct nc_web_req *req, struct nc_web_resp *resp)
{
	(void)a;
	(void)req;
	(void)resp;
}

int nc_auth_session_start(struct nc_auth *a, const struct nc_principal *p, struct nc_web_resp *resp)
{
	(void)a;
	(void)p;
	nc_web_error(resp, 501, "sessions are not implemented yet");
	return -1;
}

void nc_auth_bind_oidc(struct nc_auth *a, const char *subject, const char *email, const char *const *groups,
		       size_t ngroups, struct nc_principal *p)
{
	(void)a;
	(void)subject;
	(void)email;
	(void)groups;
	(void)ngroups;
	memset(p, 0, sizeof(*p));
}

bool nc_auth_webhook(struct nc_auth *a, const struct nc_web_req *req, char *who, size_t n)
{
	(void)a;
	(void)req;
	(void)who;
	(void)n;
	return false;
}

int nc_token_create(const char *state_dir, const struct nc_token_info *info, char *secret, size_t n,
		    struct nc_err *err)
{
	(void)state_dir;
	(void)info;
	(void)secret;
	(void)n;
	nc_err_set(err, "tokens are not implemented yet");
	return -1;
}

int nc_token_revoke(const char *state_dir, const char *name, struct nc_err *err)
{
	(void)state_dir;
	(void)name;
	nc_err_set(err, "tokens are not implemented yet");
	return -1;
}

int nc_token_list(const char *state_dir, struct nc_token_info **out, size_t *n, struct nc_err *err)
{
	(void)state_dir;
	*out = NULL;
	*n = 0;
	(void)err;
	return 0;
}
