/*
 * internal.h - shared between the spec/ stages (parse.c -> resolve.c ->
 * validate.c); not part of the public API.
 */
#ifndef NC_SPEC_INTERNAL_H
#define NC_SPEC_INTERNAL_H

#include "model.h"
#include "schema.h"

/* Escaped, length-capped copy of user text for messages (arena-owned). */
const char *nc_spec_quote(struct nc_spec *spec, const char *s);
/* "; did you mean 'x'?" for the closest candidate, or "" (arena-owned). */
const char *nc_spec_suggest(struct nc_spec *spec, const char *word,
			    const char *const *candidates, size_t n);
/* Size in bytes of the value a field of this type occupies. */
size_t nc_field_size(const struct nc_field *f);

/* validate.c: sort each kind by name, report missing and duplicate names. */
void nc_spec_index(struct nc_spec *spec, struct nc_diags *diags);
/* resolve.c: template inheritance and effective VMs. */
void nc_spec_resolve(struct nc_spec *spec, struct nc_diags *diags);
/* validate.c: names, duplicates, references and cross-field rules. */
void nc_spec_validate(struct nc_spec *spec, struct nc_diags *diags);
/* tenant.c: tenants' paths, what their VMs and Templates use, quotas (tenant.h). */
void nc_tenant_validate(struct nc_spec *spec, struct nc_diags *diags);
/* spec.migration of a VM or PlacementPolicy (spec/migration.c) */
void nc_validate_migration(struct nc_diags *diags, const struct nc_migration *m);
/* parse.c: the per-value checks validate.c reuses. */
int nc_check_label_key(const char *s, const char **why);
int nc_check_label_value(const char *s, const char **why);

#endif
