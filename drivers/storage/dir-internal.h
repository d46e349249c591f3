/*
 * dir-internal.h - the dir back-end's libvirt helpers (storage.c), shared
 * with storage/copy.c.  Only files of drivers/storage/ include it: it pulls
 * in libvirt and libxml2.
 *
 *   nc_dir_pool       the started, refreshed libvirt pool "novacron-<POOL>"
 *                     (defined when create; else missing: *out NULL, 0)
 *   nc_dir_vol        a volume of it by name (missing: *out NULL, 0)
 *   nc_dir_vol_info   a volume's XML as struct nc_volume
 *   nc_st_vol_xml     volume XML: name, capacity (bytes), format (NULL =
 *                     qcow2, v3), optional backing file and its format
 *   nc_st_fail        err = "disk VOL: WHAT: <libvirt's last error>", -1
 */
#ifndef NC_STORAGE_DIR_INTERNAL_H
#define NC_STORAGE_DIR_INTERNAL_H

#include <libvirt/libvirt.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "storage.h"

int nc_dir_pool(virConnectPtr conn, const struct nc_pool_def *pool, const char *vol, bool create,
		virStoragePoolPtr *out, struct nc_err *err);
int nc_dir_vol(virStoragePoolPtr p, const char *vol, virStorageVolPtr *out, struct nc_err *err);
int nc_dir_vol_info(virStorageVolPtr v, const char *vol, struct nc_volume *out, struct nc_err *err);
char *nc_st_vol_xml(const char *vol, uint64_t capacity, const char *fmt, const char *base,
		    const char *base_fmt);
int nc_st_fail(struct nc_err *err, const char *vol, const char *what);
/* copy.c: a simulated volume's XML as a new one of the same name and sizes (the test driver's copy) */
char *nc_st_portable_xml(virStorageVolPtr v, const char *vol, struct nc_err *err);
xmlDocPtr nc_st_xml_parse(const char *xml);
void nc_st_drop_nodes(xmlXPathContextPtr ctx, const char *expr);

#endif
