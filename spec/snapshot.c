/*
 * snapshot.c - validation of a VM's declared snapshots (spec.snapshots,
 * docs/storage.md "Snapshots"); called by nc_spec_validate (internal.h).
 *
 * Checked here: each name at most NC_SNAPSHOT_NAME_MAX characters and
 * unique within its VM; the VM has disks; and every disk is in a pool whose
 * volumes NovaCron can snapshot.  Volumes of dir pools (and of any pool
 * type whose volumes are qcow2 files) are snapshotted inside the qcow2 file
 * through libvirt; volumes of rbd pools are not yet, so a VM with a disk in
 * one is an error here rather than a snapshot silently skipped at apply.
 * quiesce, when set, is warned about: no qcow2 snapshot needs a freeze
 * (drivers/host/snapshot.c), so it acts on nothing yet (rule 11).
 */
#include <string.h>

#include "internal.h"

static struct nc_pos at(const struct nc_snapshot_decl *s)
{
	return s->name.pos.line ? s->name.pos : s->pos;
}

const struct nc_pool *nc_snapshot_unsupported_pool(const struct nc_spec *spec, const struct nc_vm *vm,
						   const struct nc_disk **disk)
{
	size_t i;

	for (i = 0; i < vm->eff.disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + i;
		const struct nc_pool *pl = NC_IS_SET(d->pool) ? (const struct nc_pool *)
			nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v) : NULL;

		if (pl && NC_IS_SET(pl->spec.type) && pl->spec.type.v == NC_POOL_RBD) {
			if (disk)
				*disk = d;
			return pl;
		}
	}
	return NULL;
}

void nc_snapshot_validate(struct nc_spec *spec, struct nc_diags *diags)
{
	const struct nc_vm *vm;
	size_t i, j, k;

	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		const struct nc_snapshot_decl *s = vm->spec.snapshots.v;
		const struct nc_disk *disk = NULL;
		const struct nc_pool *pl;

		if (!vm->spec.snapshots.n && !NC_IS_SET(vm->spec.snapshot_schedule))
			continue;
		for (j = 0; j < vm->spec.snapshots.n; j++) {
			if (!s[j].name.v)
				continue;
			if (NC_IS_SET(s[j].quiesce))
				nc_diag_warning(diags, s[j].quiesce.pos, "quiesce has no effect yet: qcow2 snapshots "
						"are taken with the running guest's memory (consistent without a freeze) "
						"or of a shut-off guest (docs/storage.md \"Snapshots\")");
			if (strlen(s[j].name.v) > NC_SNAPSHOT_NAME_MAX)
				nc_diag_error(diags, at(&s[j]), "snapshot name '%s' is longer than %d characters",
					      s[j].name.v, NC_SNAPSHOT_NAME_MAX);
			for (k = 0; k < j; k++)
				if (s[k].name.v && strcmp(s[k].name.v, s[j].name.v) == 0) {
					nc_diag_error(diags, at(&s[j]), "snapshot '%s' is declared twice in VM '%s'",
						      s[j].name.v, vm->obj.meta.name.v);
					break;
				}
		}
		if (!vm->eff.disks.n) {
			nc_diag_error(diags, vm->spec.snapshots.n ? vm->spec.snapshots.pos : vm->spec.snapshot_schedule.pos,
				      "VM '%s' declares snapshots but has no disks", vm->obj.meta.name.v);
			continue;
		}
		pl = nc_snapshot_unsupported_pool(spec, vm, &disk);
		if (pl)
			nc_diag_error(diags, vm->spec.snapshots.n ? vm->spec.snapshots.pos : vm->spec.snapshot_schedule.pos,
				      "VM '%s' declares snapshots, but its disk '%s' is in StoragePool '%s' of type rbd, "
				      "whose volumes NovaCron cannot snapshot yet (only qcow2 volumes of dir pools)",
				      vm->obj.meta.name.v, disk->name.v ? disk->name.v : "?", pl->obj.meta.name.v);
	}
}
