/*
 * netfs.c - degraded hosts: netfs pools that cannot be read (netfs.h).
 */
#include "netfs.h"
#include "plan-int.h"
#include "backups.h"

#include <stdlib.h>
#include <string.h>

#include "../drivers/storage/storage.h"

void nc_netfs_observe(struct nc_host_conn *conn, const struct nc_spec *spec, const struct nc_host *h,
		      struct nc_observed_host *obs)
{
	const struct nc_pool *pool;
	size_t i;

	/* pools are sorted by name: so is obs->degraded */
	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, pool, i) {
		struct nc_pool_def pd;
		struct nc_err err = { "" };

		if (!nc_pool_is_netfs(pool) || pool->obj.invalid ||
		    (NC_IS_SET(pool->spec.host_selector) &&
		     !nc_selector_matches(&pool->spec.host_selector, &h->obj.meta.labels)))
			continue;
		nc_pool_def_from_spec(&pd, pool);
		if (!pd.netfs_server || !pd.netfs_export || nc_netfs_probe(conn, &pd, &err))
			continue;
		obs->degraded = nc_xreallocarray(obs->degraded, obs->ndegraded + 1, sizeof(*obs->degraded));
		obs->degraded[obs->ndegraded++] = nc_xstrdup(err.msg);
	}
}

void nc_plan_netfs(struct nc_plan *p, size_t *alloc_n, const struct nc_cluster *c)
{
	size_t i, k;

	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];

		for (k = 0; v->status == NC_HOST_OK && k < v->obs.ndegraded; k++)
			nc_plan_add_note(p, alloc_n, NC_NOTE_WARNING, NULL,
					 "host %s is degraded: %s; actions that need this pool fail until its "
					 "server answers again, and nothing in it is deleted or made again",
					 v->spec->obj.meta.name.v, v->obs.degraded[k]);
	}
}
