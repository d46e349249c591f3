/*
 * cluster.h - several clusters in one repository (docs/federation.md).
 *
 * A Cluster object (struct nc_cluster_def, spec/model.h) names a cluster
 * and the folders of the spec (spec.paths, measured from the root the
 * spec was loaded from, as Tenant paths are: spec/tenant.h) whose Hosts,
 * VMs, StoragePools and Networks belong to it.  An object's spec.cluster
 * says the same explicitly; when both are given they must agree.
 *
 * The rules nc_spec_load() checks (file:line:col errors):
 *   - with no Cluster declared nothing changes: every object's cluster is
 *     NULL and the whole spec is one implicit cluster;
 *   - once one is declared, every Host and VM belongs to exactly one
 *     cluster; a StoragePool or Network without one is shared by all;
 *     Templates, Images, PlacementPolicies, AlertRules, BackupSchedules and
 *     Tenants are always shared;
 *   - a VM's disks' pools and NICs' networks are its cluster's or shared;
 *     its pinned host is of its cluster, its hostSelector selects hosts of
 *     its cluster;
 *   - names stay unique across the repository, not per cluster: a VM keeps
 *     its identity (libvirt metadata, backups, history) when it moves from
 *     one cluster to another, so two clusters may not each have a VM of the
 *     same name ("declared in two clusters" names both places).
 *
 * Every consumer asks the functions below, never the paths.
 */
#ifndef NC_CLUSTER_H
#define NC_CLUSTER_H

#include <stdbool.h>

#include "model.h"

/* True when the spec declares at least one Cluster. */
bool nc_spec_has_clusters(const struct nc_spec *spec);

/* The Cluster obj (a Host, VM, StoragePool or Network) belongs to, NULL: no Cluster is
 * declared, or obj is shared by every cluster (any other kind, a pool or network without one). */
const struct nc_cluster_def *nc_spec_cluster_of(const struct nc_spec *spec, const struct nc_object *obj);
/* Its name, or NULL. */
const char *nc_spec_cluster_name(const struct nc_spec *spec, const struct nc_object *obj);

/*
 * May a VM of cluster c use obj (a host to run on, a pool, a network)?  True when no
 * Cluster is declared, when obj is shared (cluster NULL), or when it is c's.
 */
bool nc_cluster_admits(const struct nc_cluster_def *c, const struct nc_object *obj);

/* Do a VM and a host belong together (nc_cluster_admits of the VM's cluster)? */
bool nc_spec_same_cluster(const struct nc_object *vm, const struct nc_object *host);

#endif
