/*
 * tenant.h - Tenants (docs/tenants.md): where in the repository a tenant's
 * objects may be declared, its quotas, and the networks, pools and
 * templates it may use.  Tenant objects themselves may only be declared
 * under the admin paths of the operator's trusted configuration
 * (tenancy.adminPaths).
 */
#ifndef NC_TENANT_H
#define NC_TENANT_H

#include "model.h"

/* the Tenant an object belongs to (by the file it was declared in), NULL: none */
const char *nc_tenant_of(const struct nc_spec *spec, const struct nc_object *obj);

#endif
