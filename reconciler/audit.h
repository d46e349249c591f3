/*
 * audit.h - the audit log of serve's API (docs/api.md "Audit"): every
 * write, allowed or refused, as one JSON line in STATE_DIR/audit/audit.log
 * (who, from where, what, on which object, when, the answer), kept across
 * restarts and readable through GET /api/v1/audit.
 */
#ifndef NC_AUDIT_H
#define NC_AUDIT_H

#include "web.h"

struct nc_audit;
int nc_audit_open(struct nc_audit **out, const char *state_dir, struct nc_err *err);
void nc_audit_close(struct nc_audit *a);
/* one entry; result is the answer's message (never a secret) */
void nc_audit_record(struct nc_audit *a, const struct nc_principal *p, const char *peer, const char *method,
		     const char *path, const char *target, unsigned code, const char *result);
/* the newest entries (at most limit) that viewer may see, as {"items": [...]} */
void nc_audit_json(struct nc_audit *a, const struct nc_principal *viewer, size_t limit, struct nc_buf *out);

#endif
