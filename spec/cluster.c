/*
 * cluster.c - Clusters (cluster.h, docs/federation.md): which cluster each
 * Host, VM, StoragePool and Network belongs to, and the rules validate
 * checks once a spec declares clusters.
 */
#include "cluster.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* at most this many cluster names are listed in a message */
#define NAMES_MAX 8

bool nc_spec_has_clusters(const struct nc_spec *spec)
{
	return spec && spec->nobjs[NC_KIND_CLUSTER] > 0;
}

const struct nc_cluster_def *nc_spec_cluster_of(const struct nc_spec *spec, const struct nc_object *obj)
{
	(void)spec;
	return obj ? obj->cluster : NULL;
}

const char *nc_spec_cluster_name(const struct nc_spec *spec, const struct nc_object *obj)
{
	const struct nc_cluster_def *c = nc_spec_cluster_of(spec, obj);

	return c ? c->obj.meta.name.v : NULL;
}

bool nc_cluster_admits(const struct nc_cluster_def *c, const struct nc_object *obj)
{
	return !c || !obj || !obj->cluster || obj->cluster == c;
}

bool nc_spec_same_cluster(const struct nc_object *vm, const struct nc_object *host)
{
	return nc_cluster_admits(vm ? vm->cluster : NULL, host);
}

const struct nc_cluster_def *nc_cluster_of_file(const struct nc_spec *spec, const char *file,
						const struct nc_str **path)
{
	return (const struct nc_cluster_def *)nc_spec_folder_owner(spec, NC_KIND_CLUSTER,
								   offsetof(struct nc_cluster_def, spec.paths),
								   file, path);
}

/* ---- validate ---- */

static const struct nc_str *cluster_field(struct nc_object *o)
{
	switch (o->kind) {
	case NC_KIND_HOST: return &((struct nc_host *)o)->spec.cluster;
	case NC_KIND_VM: return &((struct nc_vm *)o)->spec.cluster;
	case NC_KIND_STORAGE_POOL: return &((struct nc_pool *)o)->spec.cluster;
	case NC_KIND_NETWORK: return &((struct nc_network *)o)->spec.cluster;
	default: return NULL;
	}
}

/* "'a', 'b' and 'c'" */
static void cluster_names(const struct nc_spec *spec, struct nc_buf *b)
{
	size_t i, n = spec->nobjs[NC_KIND_CLUSTER];

	for (i = 0; i < n && i < NAMES_MAX; i++)
		nc_buf_addf(b, "%s'%s'", i == 0 ? "" : i + 1 == n ? " and " : ", ",
			    spec->objs[NC_KIND_CLUSTER][i]->meta.name.v);
	if (n > NAMES_MAX)
		nc_buf_addf(b, " and %zu more", n - NAMES_MAX);
}

/* each object's cluster: spec.cluster, else its folder's */
static void assign(struct nc_spec *spec, struct nc_diags *diags)
{
	static const enum nc_kind kinds[] = { NC_KIND_HOST, NC_KIND_VM, NC_KIND_STORAGE_POOL, NC_KIND_NETWORK };
	size_t k, i;

	for (k = 0; k < NC_ARRAY_SIZE(kinds); k++) {
		for (i = 0; i < spec->nobjs[kinds[k]]; i++) {
			struct nc_object *o = spec->objs[kinds[k]][i];
			const struct nc_str *f = cluster_field(o), *path = NULL;
			const struct nc_cluster_def *pc = nc_cluster_of_file(spec, o->pos.file, &path), *ex = NULL;

			if (NC_IS_SET(*f) && f->v) {
				ex = (const struct nc_cluster_def *)nc_spec_find(spec, NC_KIND_CLUSTER, f->v);
				if (!ex) {     /* reported as missing */
					o->cluster = pc;
					continue;
				}
			}
			if (ex && pc && ex != pc) {
				nc_diag_error(diags, f->pos, "%s '%s' sets cluster '%s' but is declared in a folder of "
					      "Cluster '%s' (%s): an object belongs to one cluster; move its file or "
					      "change spec.cluster", nc_kinds[o->kind].name, o->meta.name.v, f->v,
					      pc->obj.meta.name.v, nc_spec_rel_path(spec, o->pos.file));
				nc_diag_note(diags, path->pos, "Cluster '%s' claims the folder here", pc->obj.meta.name.v);
			}
			o->cluster = ex ? ex : pc;
			if (!o->cluster && (o->kind == NC_KIND_HOST || o->kind == NC_KIND_VM)) {
				struct nc_buf b = NC_BUF_INIT;

				cluster_names(spec, &b);
				nc_diag_error(diags, o->meta.name.pos, "%s '%s' belongs to no cluster: the spec declares "
					      "clusters (%s), so every host and VM sets spec.cluster or is declared "
					      "in a folder of a Cluster's spec.paths", nc_kinds[o->kind].name,
					      o->meta.name.v, b.buf);
				nc_buf_release(&b);
			}
		}
	}
}

/* a VM of cluster c uses obj (a pool, a network, a host) written at pos */
static void check_use(struct nc_diags *diags, const struct nc_vm *vm, const struct nc_object *obj,
		      const struct nc_pos *pos, const char *what)
{
	const struct nc_cluster_def *c = vm->obj.cluster;

	if (!obj || nc_cluster_admits(c, obj))
		return;
	nc_diag_error(diags, *pos, "VM '%s' of Cluster '%s' uses %s '%s' of Cluster '%s': %s", vm->obj.meta.name.v,
		      c->obj.meta.name.v, nc_kinds[obj->kind].name, obj->meta.name.v,
		      obj->cluster->obj.meta.name.v, what);
	if (pos->file && strcmp(pos->file, vm->obj.pos.file) != 0)
		nc_diag_note(diags, vm->obj.meta.name.pos, "VM '%s' is declared here", vm->obj.meta.name.v);
}

static void check_vm(struct nc_spec *spec, struct nc_diags *diags, const struct nc_vm *vm)
{
	const struct nc_placement *pl = &vm->spec.placement;
	size_t i;

	if (!vm->obj.cluster)
		return;
	for (i = 0; i < vm->eff.disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + i;

		if (NC_IS_SET(d->pool))
			check_use(diags, vm, nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v), &d->pool.pos,
				  "a VM's disks use its cluster's pools and shared ones (without a cluster)");
	}
	for (i = 0; i < vm->eff.nics.n; i++) {
		const struct nc_nic *n = (const struct nc_nic *)vm->eff.nics.v + i;

		if (NC_IS_SET(n->network))
			check_use(diags, vm, nc_spec_find(spec, NC_KIND_NETWORK, n->network.v), &n->network.pos,
				  "a VM's NICs use its cluster's networks and shared ones (without a cluster)");
	}
	if (NC_IS_SET(pl->host))
		check_use(diags, vm, nc_spec_find(spec, NC_KIND_HOST, pl->host.v), &pl->host.pos,
			  "a VM runs on hosts of its own cluster");
	if (NC_IS_SET(pl->host_selector)) {
		const struct nc_host *h, *other = NULL;
		bool own = false;

		NC_SPEC_EACH(spec, NC_KIND_HOST, const struct nc_host, h, i) {
			if (!nc_selector_matches(&pl->host_selector, &h->obj.meta.labels))
				continue;
			if (nc_cluster_admits(vm->obj.cluster, &h->obj))
				own = true;
			else if (!other)
				other = h;
		}
		if (!own && other)
			nc_diag_error(diags, pl->host_selector.pos, "VM '%s' of Cluster '%s': placement.hostSelector "
				      "selects no host of its cluster, only hosts of others (Host '%s' of Cluster '%s'): "
				      "a VM runs on hosts of its own cluster", vm->obj.meta.name.v,
				      vm->obj.cluster->obj.meta.name.v, other->obj.meta.name.v,
				      other->obj.cluster->obj.meta.name.v);
	}
}

void nc_cluster_validate(struct nc_spec *spec, struct nc_diags *diags)
{
	const struct nc_vm *vm;
	size_t i;

	if (!nc_spec_has_clusters(spec))
		return;
	nc_spec_check_folder_claims(spec, NC_KIND_CLUSTER, offsetof(struct nc_cluster_def, spec.paths), diags);
	assign(spec, diags);
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i)
		check_vm(spec, diags, vm);
}

/* before the index: spec.cluster found by a walk over the (unsorted) Clusters, else the folder's */
static const struct nc_cluster_def *declared_in(const struct nc_spec *spec, struct nc_object *o)
{
	const struct nc_str *f = cluster_field(o);
	size_t i;

	if (f && NC_IS_SET(*f) && f->v)
		for (i = 0; i < spec->nobjs[NC_KIND_CLUSTER]; i++) {
			const struct nc_object *c = spec->objs[NC_KIND_CLUSTER][i];

			if (c->meta.name.v && strcmp(c->meta.name.v, f->v) == 0)
				return (const struct nc_cluster_def *)c;
		}
	return nc_cluster_of_file(spec, o->pos.file, NULL);
}

bool nc_cluster_dup(const struct nc_spec *spec, struct nc_object *first, struct nc_object *dup,
		    struct nc_diags *diags)
{
	const struct nc_cluster_def *a, *b;

	if (!nc_spec_has_clusters(spec) || !cluster_field(dup))
		return false;
	a = declared_in(spec, first);
	b = declared_in(spec, dup);
	if (!a || !b || a == b)
		return false;
	nc_diag_error(diags, dup->meta.name.pos, "%s '%s' is declared in two clusters, '%s' and '%s': an object "
		      "belongs to one cluster, and names are unique across the repository (docs/federation.md)",
		      nc_kinds[dup->kind].name, dup->meta.name.v, a->obj.meta.name.v, b->obj.meta.name.v);
	nc_diag_note(diags, first->meta.name.pos, "declared in Cluster '%s' here", a->obj.meta.name.v);
	return true;
}
