/*
 * storage/move.c - a volume moved between two dir pools of one host, the
 * domain's disk following it (storage tiers; storage.h nc_vol_move).
 *
 * Live (a running domain on a libvirt host): virDomainBlockCopy into a
 * volume made beforehand in the target pool (REUSE_EXT; SHALLOW when the
 * volume has a backing file, which the new one gets too), polled with
 * virDomainGetBlockJobInfo until the mirror is ready, then
 * virDomainBlockJobAbort(PIVOT): QEMU writes to the new file from then on.
 * Offline (a stopped domain, or a simulated host, whose test driver has no
 * block jobs): virStorageVolCreateXMLFrom on the host.
 */
#include "dir-internal.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../spec/util.h"
#include "../xml.h"

#define MARK_SUFFIX ".novacron-move"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* the source file of the running domain's disk target (live XML), or NULL */
static char *live_source(virDomainPtr dom, const char *target)
{
	char *xml = virDomainGetXMLDesc(dom, 0), *out = NULL;
	xmlDocPtr doc = xml ? nc_st_xml_parse(xml) : NULL;
	xmlNodePtr devs, n;

	free(xml);
	if (!doc)
		return NULL;
	devs = nc_xml_first(xmlDocGetRootElement(doc), "devices");
	for (n = devs ? devs->children : NULL; n && !out; n = n->next) {
		char *dev;

		if (!nc_xml_is(n, "disk"))
			continue;
		dev = nc_xml_attr(nc_xml_first(n, "target"), "dev");
		if (dev && strcmp(dev, target) == 0)
			out = nc_xml_attr(nc_xml_first(n, "source"), "file");
		free(dev);
	}
	xmlFreeDoc(doc);
	return out;
}

/* <disk type='file'><source file='PATH'/><driver type='qcow2'/></disk> */
static char *copy_dest_xml(const char *path, const char *fmt)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr disk = xmlNewNode(NULL, BAD_CAST "disk"), n;

	nc_xml_prop(disk, "type", "file");
	n = nc_xml_child(disk, "source", NULL);
	nc_xml_prop(n, "file", path);
	n = nc_xml_child(disk, "driver", NULL);
	nc_xml_prop(n, "type", fmt ? fmt : "qcow2");
	return nc_xml_dump(doc, disk);
}

static int mark(virStoragePoolPtr p, const char *vol, struct nc_err *err)
{
	char *name = nc_xasprintf("%s%s", vol, MARK_SUFFIX);
	char *xml = nc_st_vol_xml(name, 512, "raw", NULL, NULL);
	virStorageVolPtr v = virStorageVolLookupByName(p, name);
	int ret = 0;

	if (!v) {
		virResetLastError();
		v = virStorageVolCreateXML(p, xml, 0);
		if (!v)
			ret = nc_st_fail(err, vol, "cannot create the move marker");
	}
	if (v)
		virStorageVolFree(v);
	free(xml);
	free(name);
	return ret;
}

static bool marked(virStoragePoolPtr p, const char *vol)
{
	char *name = nc_xasprintf("%s%s", vol, MARK_SUFFIX);
	virStorageVolPtr v = virStorageVolLookupByName(p, name);

	free(name);
	if (!v) {
		virResetLastError();
		return false;
	}
	virStorageVolFree(v);
	return true;
}

int nc_vol_move_unmark(struct nc_host_conn *host, const struct nc_pool_def *to, const char *vol, struct nc_err *err)
{
	char *name = nc_xasprintf("%s%s", vol, MARK_SUFFIX);
	int r = nc_vol_delete(host, to, name, err);

	free(name);
	return r;
}

static void drop(virStorageVolPtr *v)
{
	if (*v) {
		virStorageVolDelete(*v, 0);
		virStorageVolFree(*v);
		*v = NULL;
	}
}

/* the mirror is ready: pivot, retrying while QEMU says it is not ready yet */
static int copy_and_pivot(virDomainPtr dom, const char *target, const char *dest_path, const char *fmt,
			  bool shallow, unsigned timeout_ms, const char *vol, struct nc_err *err)
{
	char *dx = copy_dest_xml(dest_path, fmt);
	unsigned flags = VIR_DOMAIN_BLOCK_COPY_REUSE_EXT | VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB |
			 (shallow ? VIR_DOMAIN_BLOCK_COPY_SHALLOW : 0);
	double deadline = now_s() + (timeout_ms ? timeout_ms : 3600000) / 1000.0;
	int ret = -1;

	if (virDomainBlockCopy(dom, target, dx, NULL, 0, flags) < 0) {
		free(dx);
		return nc_st_fail(err, vol, "block copy did not start");
	}
	free(dx);
	for (;;) {
		virDomainBlockJobInfo info;
		int r = virDomainGetBlockJobInfo(dom, target, &info, 0);

		if (r < 0) {
			nc_st_fail(err, vol, "cannot read the block copy job");
			goto abort;
		}
		if (r == 0) {
			nc_err_set(err, "disk %s: the block copy job ended before it was ready", vol);
			goto abort;
		}
		if (info.end > 0 && info.cur == info.end) {
			if (nc_driver_fault("vol-move", err) < 0)
				goto abort;
			if (virDomainBlockJobAbort(dom, target, VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT) == 0) {
				ret = 0;
				break;
			}
		}
		if (now_s() > deadline) {
			nc_err_set(err, "disk %s: the block copy was not ready within %u s", vol,
				   (timeout_ms ? timeout_ms : 3600000) / 1000);
			goto abort;
		}
		usleep(100000);
	}
	return ret;
abort:
	/* no pivot: the guest keeps writing to the old volume */
	virDomainBlockJobAbort(dom, target, 0);
	return -1;
}

int nc_vol_move(struct nc_host_conn *host, const struct nc_pool_def *from, const struct nc_pool_def *to,
		const char *vol, const char *domain, const char *target, bool running, unsigned timeout_ms,
		uint64_t *bytes, struct nc_err *err)
{
	virConnectPtr conn = nc_libvirt_conn(host);
	virStoragePoolPtr pf = NULL, pt = NULL;
	virStorageVolPtr vs = NULL, vt = NULL;
	virDomainPtr dom = NULL;
	struct nc_volume info;
	bool sim = host->drv && strcmp(host->drv->name, "sim") == 0;
	char *xml = NULL, *dest_path = NULL, *cur = NULL;
	int ret = -1;

	memset(&info, 0, sizeof(info));
	*bytes = 0;
	if (!conn) {
		nc_err_set(err, "disk %s: dir pools need a libvirt or sim host", vol);
		return -1;
	}
	if (nc_dir_pool(conn, from, vol, false, &pf, err) < 0 || nc_dir_pool(conn, to, vol, true, &pt, err) < 0)
		goto out;
	if (!pf) {
		nc_err_set(err, "disk %s: pool %s is not on this host", vol, from->name);
		goto out;
	}
	dest_path = nc_xasprintf("%s/%s", to->path, vol);
	if (running && !sim) {
		dom = virDomainLookupByName(conn, domain);
		if (!dom) {
			nc_st_fail(err, vol, "cannot look up the domain");
			goto out;
		}
		/* a pass cut short after the pivot: the guest is on the new volume already */
		cur = live_source(dom, target);
		if (cur && strcmp(cur, dest_path) == 0) {
			ret = 0;
			goto out;
		}
	}
	if (nc_dir_vol(pf, vol, &vs, err) < 0)
		goto out;
	if (!vs) {
		nc_err_set(err, "disk %s: volume %s is not in pool %s", vol, vol, from->name);
		goto out;
	}
	if (nc_dir_vol_info(vs, vol, &info, err) < 0 || nc_dir_vol(pt, vol, &vt, err) < 0)
		goto out;
	if (vt) {
		/* the leftover of a move cut short (its marker says so) is replaced; anything else is kept */
		if (!marked(pt, vol)) {
			nc_err_set(err, "disk %s: pool %s already holds a volume %s that no move of NovaCron began: "
					"remove or rename it first", vol, to->name, vol);
			goto out;
		}
		drop(&vt);
	}
	if (mark(pt, vol, err) < 0)
		goto out;
	xml = nc_st_vol_xml(vol, info.capacity, info.format, info.backing, NULL);
	if (running && !sim) {
		vt = virStorageVolCreateXML(pt, xml, 0);
		if (!vt) {
			nc_st_fail(err, vol, "cannot create the new volume");
			goto out;
		}
		if (copy_and_pivot(dom, target, dest_path, info.format, info.backing != NULL, timeout_ms, vol, err) < 0) {
			drop(&vt);
			goto out;
		}
	} else if (sim) {
		/* the test driver clones only within a pool: the metadata is the volume */
		free(xml);
		xml = nc_st_portable_xml(vs, vol, err);
		if (!xml)
			goto out;
		vt = virStorageVolCreateXML(pt, xml, 0);
		if (!vt) {
			nc_st_fail(err, vol, "cannot copy the volume");
			goto out;
		}
		if (nc_driver_fault("vol-move", err) < 0) {
			drop(&vt);
			goto out;
		}
	} else {
		vt = virStorageVolCreateXMLFrom(pt, xml, vs, 0);
		if (!vt) {
			nc_st_fail(err, vol, "cannot copy the volume");
			goto out;
		}
		if (nc_driver_fault("vol-move", err) < 0) {
			drop(&vt);
			goto out;
		}
	}
	*bytes = info.allocation;
	ret = 0;
out:
	if (ret < 0 && pt && !vt)
		nc_vol_move_unmark(host, to, vol, &(struct nc_err){ "" });
	free(cur);
	free(xml);
	free(dest_path);
	nc_volume_release(&info);
	if (vs)
		virStorageVolFree(vs);
	if (vt)
		virStorageVolFree(vt);
	if (dom)
		virDomainFree(dom);
	if (pf)
		virStoragePoolFree(pf);
	if (pt)
		virStoragePoolFree(pt);
	return ret;
}
