/*
 * audit.c - the audit log (audit.h).  (placeholder: records nothing yet)
 */
#include "audit.h"

#include <stdlib.h>

struct nc_audit {
	int unused;
};

int nc_audit_open(struct nc_audit **out, const char *state_dir, struct nc_err *err)
{
	(void)state_dir;
	(void)err;
	*out = nc_xcalloc(1, sizeof(**out));
	return 0;
}

void nc_audit_close(struct nc_audit *a)
{
	free(a);
}

void nc_audit_record(struct nc_audit *a, const struct nc_principal *p, const char *peer, const char *method,
		     const char *path, const char *target, unsigned code, const char *result)
{
	(void)a;
	(void)p;
	(void)peer;
	(void)method;
	(void)path;
	(void)target;
	(void)code;
	(void)result;
}

void nc_audit_json(struct nc_audit *a, const struct nc_principal *viewer, size_t limit, struct nc_buf *out)
{
	(void)a;
	(void)viewer;
	(void)limit;
	nc_buf_adds(out, "{\"items\": []}\n");
}
