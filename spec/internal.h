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
/* tenant.c: a file's path below the root it was loaded from ("teams/web/vms.yaml"); a folder
 * as paths: lists write it (len bytes at the result, NULL with *why when it is not one);
 * whether rel lies inside that folder.  Tenant and Cluster paths share them. */
const char *nc_spec_rel_path(const struct nc_spec *spec, const char *file);
const char *nc_spec_folder(const char *p, size_t *len, const char **why);
bool nc_spec_inside(const char *rel, const char *p, size_t len);
/* folders.c: the object of kind whose spec paths (the struct nc_strlist at paths_off in its
 * objects) hold file: the longest path wins, between equal ones the first by name; *path (may
 * be NULL) gets the path that matched.  And validate's rule: each path a folder of the spec,
 * claimed by one object of the kind (Tenant, Cluster). */
const struct nc_object *nc_spec_folder_owner(const struct nc_spec *spec, enum nc_kind kind, size_t paths_off,
					      const char *file, const struct nc_str **path);
void nc_spec_check_folder_claims(struct nc_spec *spec, enum nc_kind kind, size_t paths_off,
				 struct nc_diags *diags);
/* cluster.c: each Host's, VM's, pool's and network's cluster, and the rules (cluster.h) */
void nc_cluster_validate(struct nc_spec *spec, struct nc_diags *diags);
/* cluster.c: the Cluster whose paths hold file, from the objects as loaded (sorted or not) */
const struct nc_cluster_def *nc_cluster_of_file(const struct nc_spec *spec, const char *file,
						const struct nc_str **path);
/* cluster.c: reports dup (same kind and name as first) when the two are in different clusters;
 * false (nothing said) otherwise */
bool nc_cluster_dup(const struct nc_spec *spec, struct nc_object *first, struct nc_object *dup,
		    struct nc_diags *diags);
/* snapshot.c: declared snapshots: names, and pools whose disks can be snapshotted. */
void nc_snapshot_validate(struct nc_spec *spec, struct nc_diags *diags);
/* spec/tier.c: StorageTierPolicy rules and pool tiers */
void nc_tier_validate(struct nc_spec *spec, struct nc_diags *diags);
/* parse.c: the per-value checks validate.c reuses. */
int nc_check_label_key(const char *s, const char **why);
int nc_check_label_value(const char *s, const char **why);
/* netfs.c: a host name or an IP address (NC_CHK_HOSTNAME); a netfs pool's cross-field rules. */
int nc_check_hostname(const char *s, const char **why);
void nc_netfs_check_pool(struct nc_diags *diags, const struct nc_pool *p);
/* netfs.c: rules across netfs pools (one pool per export) and the untested NFSv4 warning. */
void nc_netfs_check_all(const struct nc_spec *spec, struct nc_diags *diags);

#endif
