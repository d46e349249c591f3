/*
 * clusters.h - a plan over several clusters (docs/federation.md "Planning
 * by cluster"): `plan --cluster NAME` / `apply --cluster NAME`.
 *
 * A pass always observes every declared host, of every cluster: reading is
 * safe, and a VM found on a host of another cluster is never created a
 * second time.  Once the plan is built, nc_plan_by_cluster() gives each
 * action its cluster (its VM's, else its host's), keeps only the actions of
 * the clusters opts->clusters names (all when none), drops notes about VMs
 * of other clusters, and groups the actions by cluster in name order
 * (ids given again; the order inside a cluster kept) unless an action waits
 * for one of another cluster, when the plan's order is kept.
 *
 * With no Cluster declared nothing changes: a->cluster stays NULL and the
 * text, Markdown and JSON are as before.
 */
#ifndef NC_CLUSTERS_H
#define NC_CLUSTERS_H

#include <stdbool.h>

#include "pass.h"

/* --cluster names against the spec: -1 with one line in *why (unknown name, or no Cluster). */
int nc_clusters_check(const struct nc_spec *spec, const struct nc_plan_opts *o, struct nc_buf *why);
/*
 * serve --cluster NAME (or cluster: in config_path; NULL: the flag): the spec has that Cluster,
 * else an error (at the configuration's file) into diags and -1.  name NULL: 0.
 */
int nc_clusters_check_serve(const struct nc_spec *spec, const char *name, const char *config_path,
			    struct nc_diags *diags);
/* Does obj (a Host, VM, pool or network) belong to Cluster name? */
bool nc_clusters_of(const struct nc_spec *spec, const struct nc_object *obj, const char *name);
/* Is the cluster name in the plan's scope (always without --cluster)? */
bool nc_clusters_in(const struct nc_plan_opts *o, const char *cluster);

/* See above; called by nc_plan_build() before the digests. */
void nc_plan_by_cluster(struct nc_plan *p, const struct nc_spec *spec, const struct nc_cluster *c,
			const struct nc_plan_opts *opts);

/* One cluster's share of a plan. */
struct nc_plan_cluster {
	const char *name;
	size_t first, n;             /* its actions: p->actions[first .. first + n) when grouped */
	size_t ncreate, nupdate, ndelete, nstart, nstop, nmigrate, nupload, nrecover, nadopt;
	size_t hosts, vms;           /* declared in the spec */
};
/*
 * One entry per Cluster of the spec in scope, in name order, into *out (free() it); returns
 * how many (0 without Clusters).  grouped: the actions are in cluster order (first/n valid).
 */
size_t nc_plan_clusters(const struct nc_plan *p, const struct nc_plan_opts *opts,
			struct nc_plan_cluster **out, bool *grouped);
/* "2 to create, 0 to update, ..." as the plan's summary line says it */
void nc_plan_cluster_summary(const struct nc_plan_cluster *pc, struct nc_buf *out);

/*
 * Output (opts NULL: every cluster).  Nothing (NULL) without Clusters:
 *   text:      "\nClusters\n  east     2 hosts, 2 VMs: 3 to create, ...\n"
 *   markdown:  a table, cluster by row, of hosts, VMs and counts
 *   json:      [{"name", "hosts", "vms", "actions", "create", "update", "delete", "start", "stop",
 *               "migrate", "upload", "recover", "adopt"}] (plan -o json's "clusters")
 * nc_plan_cluster_starts(): action i opens its cluster's group (grouped plans only).
 */
void nc_plan_clusters_text(const struct nc_plan *p, const struct nc_plan_opts *opts, struct nc_buf *out);
void nc_plan_clusters_markdown(const struct nc_plan *p, const struct nc_plan_opts *opts, struct nc_buf *out);
struct json_object;
struct json_object *nc_plan_clusters_json(const struct nc_plan *p, const struct nc_plan_opts *opts);
bool nc_plan_cluster_starts(const struct nc_plan *p, size_t i);

/*
 * novacron capacity, per Cluster (nothing without Clusters): hosts, vCPUs and memory reserved of
 * capacity, VMs, hosts failing N+1 (a VM restarts in its own cluster only) and, with t, how many
 * more VMs of the Template fit on the cluster's hosts.  doc NULL: a table into text; else
 * doc's "clusters" array.
 */
struct nc_placement_state;
void nc_capacity_clusters(const struct nc_spec *spec, const struct nc_cluster *c,
			  const struct nc_placement_state *ps, const struct nc_template *t,
			  struct nc_buf *text, struct json_object *doc);

#endif
