/*
 * tenant.h - Tenants (docs/tenants.md): where in the repository a tenant's
 * objects may be declared, its quotas, and the networks, pools and
 * templates it may use.  Tenant objects themselves may only be declared
 * under the admin paths of the operator's trusted configuration
 * (tenancy.adminPaths).
 *
 * An object belongs to the Tenant one of whose spec.paths holds the file
 * it was declared in, the path measured from the root the spec was loaded
 * from (the directory given to nc_spec_load; a file given directly is
 * measured by its own name).  The longest such path wins.  Objects under
 * no tenant's path are the admins'.
 *
 * nc_spec_load() checks the rules that need the spec only (internal.h:
 * nc_tenant_validate): paths, VMs and Templates using what their tenant
 * may not, infrastructure declared in a tenant's folder, quotas.
 * nc_tenant_check_admin() adds the rule that needs the operator's
 * configuration; validate, plan, apply and serve call it.
 */
#ifndef NC_TENANT_H
#define NC_TENANT_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* the Tenant an object belongs to (by the file it was declared in), NULL: none */
const char *nc_tenant_of(const struct nc_spec *spec, const struct nc_object *obj);
/* the same for a file of the spec (a struct nc_pos's file) */
const struct nc_tenant *nc_tenant_of_file(const struct nc_spec *spec, const char *file);

/*
 * Tenant objects must be declared under admin_paths (tenancy.adminPaths of
 * the operator's configuration; their positions name its file): an error
 * at each one outside, and at an admin path that is not a folder of the
 * spec.  admin_paths NULL or not set: a warning (at the first Tenant) that
 * tenancy is not locked down.  Returns -1 when an error was added, else 0.
 */
int nc_tenant_check_admin(const struct nc_spec *spec, const struct nc_strlist *admin_paths,
			  struct nc_diags *diags);

/* What a tenant's VMs (state absent excepted) take, as declared in the spec. */
struct nc_tenant_usage {
	const struct nc_tenant *tenant;
	uint64_t vms, vcpus, memory, disk;   /* memory and disk in bytes */
};
/* One per Tenant, in name order, into *out (free() it); returns how many. */
size_t nc_tenant_usage(const struct nc_spec *spec, struct nc_tenant_usage **out);

/*
 * The usage of every tenant sees(ctx, name) accepts (sees NULL: all) as a
 * JSON array, in name order:
 *   [{"name": "web", "quota": {"vms": 4|null, "vcpus": 8|null, "memory": BYTES|null,
 *     "disk": BYTES|null}, "usage": {"vms": 2, "vcpus": 6, "memory": BYTES, "disk": BYTES}}]
 * (null: no limit).  `plan --output json` has it as "tenants"; GET
 * /api/v1/tenants answers {"items": ARRAY}.
 */
void nc_tenant_usage_json(const struct nc_spec *spec, bool (*sees)(const void *ctx, const char *tenant),
			  const void *ctx, struct nc_buf *out);
/* The same as plan's text table ("Tenants" ...), nothing when there is no Tenant. */
void nc_tenant_usage_text(const struct nc_spec *spec, struct nc_buf *out);
/* ... and as a Markdown table (plan --output markdown), nothing without Tenants. */
void nc_tenant_usage_markdown(const struct nc_spec *spec, struct nc_buf *out);

#endif
