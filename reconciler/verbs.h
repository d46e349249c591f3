/*
 * verbs.h - the API's operational verbs (docs/api.md "Verbs"): what is not
 * desired state.  Each asks the loop through struct nc_web_hooks; none
 * waits for a pass.
 *   POST /api/v1/sync                        operator   fetch and reconcile now
 *   POST /api/v1/pause, /api/v1/resume       operator   hold or resume reconciliation
 *   POST /api/v1/plan/approve {"digest"}     operator   apply the pending plan (apply.mode approve)
 *   POST /api/v1/vms/NAME/backup             operator   back the VM up now
 *   POST /api/v1/vms/NAME/restore {"backup", "as"}      operator
 *   POST /api/v1/hosts/NAME/fence/confirm {"by"}        admin
 */
#ifndef NC_VERBS_H
#define NC_VERBS_H

#include "web.h"

/* p is identified and passed the CSRF check; resp->code 0 when req is no verb */
void nc_verbs_handle(const struct nc_web_hooks *hooks, const struct nc_spec *spec, const struct nc_web_req *req,
		     const struct nc_principal *p, struct nc_web_resp *resp);

#endif
