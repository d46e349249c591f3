/*
 * tenant.c - Tenants (tenant.h).  (placeholder: no object has a tenant yet)
 */
#include "tenant.h"

const char *nc_tenant_of(const struct nc_spec *spec, const struct nc_object *obj)
{
	(void)spec;
	(void)obj;
	return NULL;
}
