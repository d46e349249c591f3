/*
 * storage/path.c - the virtual size (and allocation) of a volume a domain's disk names by
 * path, for observation: libvirt knows it when the file lies in one of the
 * host's storage pools (NovaCron's dir pools are), and otherwise it is
 * reported as unknown (0), which plans treat as "nothing to compare".
 */
#include "storage.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

void nc_vol_sizes_by_path(struct nc_host_conn *host, const char *path, uint64_t *capacity,
			  uint64_t *allocation)
{
	virConnectPtr conn = nc_libvirt_conn(host);
	virStorageVolPtr v;
	virStorageVolInfo info;

	*capacity = *allocation = 0;
	if (!conn || !path || path[0] != '/')
		return;
	v = virStorageVolLookupByPath(conn, path);
	if (!v) {
		virResetLastError();
		return;
	}
	if (virStorageVolGetInfo(v, &info) == 0) {
		*capacity = info.capacity;
		*allocation = info.allocation;
	} else {
		virResetLastError();
	}
	virStorageVolFree(v);
}

uint64_t nc_vol_capacity_by_path(struct nc_host_conn *host, const char *path)
{
	uint64_t cap, alloc;

	nc_vol_sizes_by_path(host, path, &cap, &alloc);
	return cap;
}

int nc_vol_delete_by_path(struct nc_host_conn *host, const char *path, struct nc_err *err)
{
	virConnectPtr conn = nc_libvirt_conn(host);
	virStorageVolPtr v;
	int rc = 0;

	if (!conn || !path)
		return 0;
	v = virStorageVolLookupByPath(conn, path);
	if (!v) {
		virResetLastError();
		return 0;     /* not a pool volume, or gone already */
	}
	if (virStorageVolDelete(v, 0) < 0) {
		virErrorPtr e = virGetLastError();

		nc_err_set(err, "cannot delete volume %s: %s", path, e && e->message ? e->message : "unknown error");
		rc = -1;
	}
	virStorageVolFree(v);
	return rc;
}
