/*
 * verbs.c - the API's operational verbs (verbs.h).  (placeholder: none yet)
 */
#include "verbs.h"

void nc_verbs_handle(const struct nc_web_hooks *hooks, const struct nc_spec *spec, const struct nc_web_req *req,
		     const struct nc_principal *p, struct nc_web_resp *resp)
{
	(void)hooks;
	(void)spec;
	(void)req;
	(void)p;
	(void)resp;
}
