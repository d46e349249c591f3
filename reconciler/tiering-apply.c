/*
 * tiering-apply.c - a move-volume action on its host (tiering.h nc_tier_run).
 *
 * Per disk of the action ("disk NAME": from pool -> to pool), re-checked
 * against the domain as it is now: already in `to` (a pass cut short after
 * its definition): only the old volume is removed; in `from`: moved with
 * nc_vol_move (live blockcopy + pivot, or offline copy).  Then the domain's
 * persistent definition is written with each disk where it is now (moved
 * ones in `to`, the others where they were), and only then are the old
 * volumes deleted and the move markers removed.  A failure stops at that
 * disk: the ones before it are defined where they went, it stays where it
 * was, and the next pass plans what is left.
 */
#include "tiering.h"

#include <stdlib.h>
#include <string.h>

#include "backups.h"
#include "../drivers/storage/storage.h"

struct done {
	const struct nc_pool *from, *to;
	const char *disk;
	char *vol, *from_path, *to_path;
	bool moved;              /* copied in this run (or found moved): define with to_path */
};

static const struct nc_dom_disk *dom_disk(const struct nc_domain *d, const char *target)
{
	size_t i;

	for (i = 0; target && i < d->ndisks; i++)
		if (d->disks[i].target && strcmp(d->disks[i].target, target) == 0)
			return &d->disks[i];
	return NULL;
}

int nc_tier_run(const struct nc_plan *p, const struct nc_action *a, struct nc_host_conn *conn,
		const struct nc_domain *d, const struct nc_domain_def *def, struct nc_err *err)
{
	struct done *dn = nc_xcalloc(a->nchanges + 1, sizeof(*dn));
	struct nc_disk_def *disks = nc_xcalloc(def->ndisks + 1, sizeof(*disks));
	struct nc_domain_def nd = *def;
	size_t i, k, n = 0;
	int ret = 0;

	for (i = 0; i < a->nchanges && ret == 0; i++) {
		const struct nc_change *ch = &a->changes[i];
		struct done *x = &dn[n];
		struct nc_pool_def fpd, tpd;
		const struct nc_dom_disk *od;
		const char *target = NULL;
		uint64_t bytes = 0;

		if (strncmp(ch->field, "disk ", 5) != 0)
			continue;
		x->disk = ch->field + 5;
		x->from = (const struct nc_pool *)nc_spec_find(p->spec, NC_KIND_STORAGE_POOL, ch->from);
		x->to = (const struct nc_pool *)nc_spec_find(p->spec, NC_KIND_STORAGE_POOL, ch->to);
		if (!x->from || !x->to) {
			nc_err_set(err, "disk %s: pool %s or %s is no longer in the spec", x->disk, ch->from, ch->to);
			ret = -1;
			break;
		}
		n++;
		x->vol = nc_disk_volume_name(x->from, a->vm, x->disk);
		x->from_path = nc_xasprintf("%s/%s", x->from->spec.path.v, x->vol);
		x->to_path = nc_xasprintf("%s/%s", x->to->spec.path.v, x->vol);
		for (k = 0; k < def->ndisks; k++)
			if (strcmp(def->disks[k].name, x->disk) == 0)
				target = def->disks[k].target;
		od = dom_disk(d, target);
		if (od && od->source && strcmp(od->source, x->to_path) == 0) {
			x->moved = true;    /* defined there by a pass cut short before the old volume went */
			continue;
		}
		if (!od || !od->source || strcmp(od->source, x->from_path) != 0) {
			nc_err_set(err, "disk %s of %s is no longer %s (the domain changed since the plan was made)",
				   x->disk, a->vm, x->from_path);
			ret = -1;
			break;
		}
		nc_pool_def_from_spec(&fpd, x->from);
		nc_pool_def_from_spec(&tpd, x->to);
		if (nc_vol_move(conn, &fpd, &tpd, x->vol, a->vm, target, d->state == NC_DOM_RUNNING, 0, &bytes, err) < 0) {
			ret = -1;
			break;
		}
		x->moved = true;
	}
	/* the persistent definition: each disk where it is now */
	memcpy(disks, def->disks, def->ndisks * sizeof(*disks));
	nd.disks = disks;
	for (k = 0; k < nd.ndisks; k++) {
		for (i = 0; i < n; i++) {
			if (strcmp(disks[k].name, dn[i].disk) != 0)
				continue;
			disks[k].source = dn[i].moved ? dn[i].to_path : dn[i].from_path;
		}
	}
	for (i = 0, k = 0; i < n; i++)
		k += dn[i].moved;
	if (k) {
		struct nc_err e = { "" };

		if (conn->drv->define(conn, &nd, &e) < 0) {
			if (ret == 0)
				*err = e;
			ret = -1;
			goto out;
		}
	}
	/* only now: the old volumes and the markers of the moves that completed */
	for (i = 0; i < n; i++) {
		struct nc_pool_def fpd, tpd;
		struct nc_err e = { "" };

		if (!dn[i].moved)
			continue;
		nc_pool_def_from_spec(&fpd, dn[i].from);
		nc_pool_def_from_spec(&tpd, dn[i].to);
		if ((nc_vol_delete(conn, &fpd, dn[i].vol, &e) < 0 || nc_vol_move_unmark(conn, &tpd, dn[i].vol, &e) < 0) &&
		    ret == 0) {
			*err = e;
			ret = -1;
		}
	}
out:
	for (i = 0; i < n; i++) {
		free(dn[i].vol);
		free(dn[i].from_path);
		free(dn[i].to_path);
	}
	free(dn);
	free(disks);
	return ret;
}
