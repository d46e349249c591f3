/*
 * storage/copy.c - a volume copied from one host's pool to another's, for
 * cold migrations (storage.h, "copying a volume to another host").
 *
 * Only libvirt's storage API on the two hosts' own connections: the data
 * goes source daemon -> this process -> destination daemon as two sparse
 * streams (virStorageVolDownload / virStorageVolUpload with the
 * SPARSE_STREAM flags, pumped by virStreamSparseRecvAll), so holes cost a
 * message, not their length, and memory stays at one buffer.
 */
#include "dir-internal.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/util.h"
#include "../xml.h"

#define MAX_CHAIN 8    /* base images copied along with a volume */

void nc_vol_copy_release(struct nc_vol_copy *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->ncreated; i++)
		free(c->created[i]);
	free(c->created);
	free(c->marker);
	memset(c, 0, sizeof(*c));
}

static void add_created(struct nc_vol_copy *c, const char *path)
{
	c->created = nc_xrealloc(c->created, (c->ncreated + 1) * sizeof(*c->created));
	c->created[c->ncreated++] = nc_xstrdup(path);
}

int nc_vol_copy_undo(struct nc_host_conn *dst, const struct nc_vol_copy *c, struct nc_err *err)
{
	size_t i = c ? c->ncreated : 0;
	int ret = 0;

	while (i-- > 0) {
		struct nc_err e = { "" };

		if (nc_vol_delete_by_path(dst, c->created[i], &e) < 0 && ret == 0) {
			*err = e;
			ret = -1;
		}
	}
	if (c && c->marker) {
		struct nc_err e = { "" };

		if (nc_vol_delete_by_path(dst, c->marker, &e) < 0 && ret == 0) {
			*err = e;
			ret = -1;
		}
	}
	return ret;
}

static char *marker_name(const char *vol)
{
	return nc_xasprintf("%s.novacron-copy", vol);
}

int nc_vol_copy_unmark(struct nc_host_conn *dst, const struct nc_pool_def *pool, const char *vol,
		       struct nc_err *err)
{
	char *m;
	int r;

	if (!pool->type || strcmp(pool->type, "dir") != 0)
		return 0;
	m = marker_name(vol);
	r = nc_vol_delete(dst, pool, m, err);
	free(m);
	return r;
}

/* the marker of vol on pd: made when missing (its path into out->marker); 1 it was there */
static int mark(virStoragePoolPtr pd, const char *vol, struct nc_vol_copy *out, bool make, struct nc_err *err)
{
	char *m = marker_name(vol), *xml = NULL;
	virStorageVolPtr mv = NULL;
	int ret = -1;

	if (nc_dir_vol(pd, m, &mv, err) < 0)
		goto out;
	if (mv) {
		ret = 1;
		goto out;
	}
	if (!make) {
		ret = 0;
		goto out;
	}
	xml = nc_st_vol_xml(m, 0, "raw", NULL, NULL);
	mv = virStorageVolCreateXML(pd, xml, 0);
	if (!mv) {
		nc_st_fail(err, m, "cannot create the copy marker on the destination");
		goto out;
	}
	ret = 0;
out:
	if (mv && !out->marker)
		out->marker = virStorageVolGetPath(mv);
	if (mv)
		virStorageVolFree(mv);
	free(xml);
	free(m);
	return ret;
}

/* ---- shared storage: does src see a volume made on dst? ---- */

/* 1 shared, 0 not; p_src/p_dst: the pool on each host */
static int probe_shared(virStoragePoolPtr p_src, virStoragePoolPtr p_dst, const char *vol,
			struct nc_err *err)
{
	char *name = nc_xasprintf("%s.novacron-probe", vol);
	char *xml = nc_st_vol_xml(name, 512, "raw", NULL, NULL);
	virStorageVolPtr pv = NULL, seen = NULL;
	int ret = -1;

	/* a probe left by a killed pass first */
	if (nc_dir_vol(p_dst, name, &pv, err) < 0)
		goto out;
	if (pv) {
		virStorageVolDelete(pv, 0);
		virStorageVolFree(pv);
		if (virStoragePoolRefresh(p_src, 0) < 0) {
			nc_st_fail(err, vol, "cannot refresh the source pool");
			goto out;
		}
	}
	pv = virStorageVolCreateXML(p_dst, xml, 0);
	if (!pv) {
		nc_st_fail(err, vol, "cannot create a probe volume on the destination");
		goto out;
	}
	if (virStoragePoolRefresh(p_src, 0) < 0) {
		nc_st_fail(err, vol, "cannot refresh the source pool");
		goto out;
	}
	if (nc_dir_vol(p_src, name, &seen, err) < 0)
		goto out;
	ret = seen != NULL;
out:
	if (seen)
		virStorageVolFree(seen);
	if (pv) {
		virStorageVolDelete(pv, 0);
		virStorageVolFree(pv);
		/* the source must not keep listing the probe */
		virStoragePoolRefresh(p_src, 0);
	}
	free(xml);
	free(name);
	return ret;
}

int nc_vol_shared(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_pool_def *pool,
		  const char *vol, struct nc_err *err)
{
	virConnectPtr sc, dc;
	virStoragePoolPtr ps = NULL, pd = NULL;
	virStorageVolPtr vs = NULL, vd = NULL;
	int ret = -1;

	if (pool->type && strcmp(pool->type, "rbd") == 0)
		return 1;
	sc = nc_libvirt_conn(src);
	dc = nc_libvirt_conn(dst);
	if (!sc || !dc) {
		nc_err_set(err, "disk %s: dir pools need libvirt or sim hosts", vol);
		return -1;
	}
	if (nc_dir_pool(sc, pool, vol, false, &ps, err) < 0 || nc_dir_pool(dc, pool, vol, false, &pd, err) < 0)
		goto out;
	ret = 0;
	if (!ps || !pd)
		goto out;
	if (nc_dir_vol(ps, vol, &vs, err) < 0 || nc_dir_vol(pd, vol, &vd, err) < 0) {
		ret = -1;
		goto out;
	}
	if (vs && vd)
		ret = probe_shared(ps, pd, vol, err);
out:
	if (vs)
		virStorageVolFree(vs);
	if (vd)
		virStorageVolFree(vd);
	if (ps)
		virStoragePoolFree(ps);
	if (pd)
		virStoragePoolFree(pd);
	return ret;
}

/* ---- the data ---- */

struct pump {
	virStreamPtr out;
	const char *vol;
	uint64_t done, base;
	bool faulted;
	struct nc_err *err;
	bool failed;             /* err is set */
	void (*progress)(void *opaque, uint64_t bytes);
	void *opaque;
};

static int on_data(virStreamPtr st, const char *buf, size_t n, void *opaque)
{
	struct pump *p = opaque;
	size_t off = 0;

	(void)st;
	while (off < n) {
		int r = virStreamSend(p->out, buf + off, n - off);

		if (r < 0) {
			nc_st_fail(p->err, p->vol, "cannot send to the destination");
			p->failed = true;
			return -1;
		}
		off += (size_t)r;
	}
	p->done += n;
	if (p->progress)
		p->progress(p->opaque, p->base + p->done);
	if (!p->faulted) {
		p->faulted = true;
		if (nc_driver_fault("vol-copy", p->err) < 0) {
			p->failed = true;
			return -1;
		}
	}
	return (int)n;
}

static int on_hole(virStreamPtr st, long long len, void *opaque)
{
	struct pump *p = opaque;

	(void)st;
	if (virStreamSendHole(p->out, len, 0) < 0) {
		nc_st_fail(p->err, p->vol, "cannot send a hole to the destination");
		p->failed = true;
		return -1;
	}
	return 0;
}

static int stream_volume(virConnectPtr sc, virConnectPtr dc, virStorageVolPtr vs, virStorageVolPtr vd,
			 const char *vol, struct pump *p, struct nc_err *err)
{
	virStreamPtr in = virStreamNew(sc, 0), out = virStreamNew(dc, 0);
	bool in_open = false, out_open = false;
	int ret = -1;

	if (!in || !out) {
		nc_st_fail(err, vol, "cannot open a stream");
		goto out;
	}
	if (virStorageVolUpload(vd, out, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0) {
		nc_st_fail(err, vol, "cannot upload to the destination");
		goto out;
	}
	out_open = true;
	if (virStorageVolDownload(vs, in, 0, 0, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0) {
		nc_st_fail(err, vol, "cannot download from the source");
		goto out;
	}
	in_open = true;
	p->out = out;
	p->err = err;
	if (virStreamSparseRecvAll(in, on_data, on_hole, p) < 0) {
		if (!p->failed)
			nc_st_fail(err, vol, "cannot read from the source");
		goto out;
	}
	in_open = false;
	if (virStreamFinish(in) < 0) {
		nc_st_fail(err, vol, "the download did not finish");
		goto out;
	}
	out_open = false;
	if (virStreamFinish(out) < 0) {
		nc_st_fail(err, vol, "the upload did not finish");
		goto out;
	}
	ret = 0;
out:
	if (in_open)
		virStreamAbort(in);
	if (out_open)
		virStreamAbort(out);
	if (in)
		virStreamFree(in);
	if (out)
		virStreamFree(out);
	return ret;
}

/* the volume XML of v with key and path dropped (they are the host's to choose) */
char *nc_st_portable_xml(virStorageVolPtr v, const char *vol, struct nc_err *err)
{
	char *xml = virStorageVolGetXMLDesc(v, 0), *out;
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;

	if (!xml) {
		nc_st_fail(err, vol, "cannot read the volume XML");
		return NULL;
	}
	doc = nc_st_xml_parse(xml);
	free(xml);
	if (!doc) {
		nc_err_set(err, "disk %s: cannot parse the volume XML", vol);
		return NULL;
	}
	ctx = xmlXPathNewContext(doc);
	nc_st_drop_nodes(ctx, "/volume/key | /volume/target/path");
	out = nc_xml_doc_text(doc);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}

/* the pool def of the NovaCron pool holding v on the source; false when none */
static bool novacron_pool_of(virStorageVolPtr v, struct nc_pool_def *pd, char **name, char **path)
{
	virStoragePoolPtr p = virStoragePoolLookupByVolume(v);
	const char *pn;
	char *xml;
	xmlDocPtr doc;
	bool ok = false;

	if (!p) {
		virResetLastError();
		return false;
	}
	pn = virStoragePoolGetName(p);
	xml = virStoragePoolGetXMLDesc(p, 0);
	doc = xml ? nc_st_xml_parse(xml) : NULL;
	if (pn && strncmp(pn, "novacron-", 9) == 0 && pn[9] && doc) {
		xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
		xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST "string(/pool/target/path)", ctx);

		if (o && o->stringval && o->stringval[0] == '/') {
			*name = nc_xstrdup(pn + 9);
			*path = nc_xstrdup((const char *)o->stringval);
			memset(pd, 0, sizeof(*pd));
			pd->name = *name;
			pd->type = "dir";
			pd->path = *path;
			ok = true;
		}
		xmlXPathFreeObject(o);
		xmlXPathFreeContext(ctx);
	}
	if (doc)
		xmlFreeDoc(doc);
	free(xml);
	virStoragePoolFree(p);
	return ok;
}

static int copy_one(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_pool_def *pool,
		    const char *vol, int depth, struct nc_vol_copy *out, struct pump *pp, struct nc_err *err);

/* makes sure dst has the backing file of a volume: 0 ok, -1 err */
static int ensure_backing(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_pool_def *pool,
			  const char *vol, const char *backing, int depth, struct nc_vol_copy *out, struct pump *pp,
			  struct nc_err *err)
{
	virConnectPtr sc = nc_libvirt_conn(src), dc = nc_libvirt_conn(dst);
	virStorageVolPtr bv;
	struct nc_pool_def bpd;
	char *bname = NULL, *bpath = NULL;
	const char *base;
	int ret;

	bv = virStorageVolLookupByPath(dc, backing);
	if (bv) {   /* the chain stays intact: only the overlay is copied */
		virStorageVolFree(bv);
		return 0;
	}
	virResetLastError();
	bv = virStorageVolLookupByPath(sc, backing);
	if (!bv) {
		virResetLastError();
		/* a simulated volume has no data: its backing is a name only */
		if (nc_libvirt_is_sim(src) || nc_libvirt_is_sim(dst))
			return 0;
		nc_err_set(err, "disk %s: its base image %s is not on the destination and not in a storage pool "
				"of the source, so it cannot be copied; put the image on the destination first", vol, backing);
		return -1;
	}
	/* only into the volume's own pool: a pool the spec declares (its path
	 * was checked against the operator's roots), never one a host names */
	if (!novacron_pool_of(bv, &bpd, &bname, &bpath) || strcmp(bpd.name, pool->name) != 0 ||
	    strcmp(bpd.path, pool->path) != 0) {
		virStorageVolFree(bv);
		free(bname);
		free(bpath);
		nc_err_set(err, "disk %s: its base image %s is not on the destination and lies outside "
				"storage pool %s; put the image on the destination first", vol, backing, pool->name);
		return -1;
	}
	if (depth >= MAX_CHAIN) {
		virStorageVolFree(bv);
		free(bname);
		free(bpath);
		nc_err_set(err, "disk %s: more than %d base images in its chain", vol, MAX_CHAIN);
		return -1;
	}
	base = virStorageVolGetName(bv);
	ret = base ? copy_one(src, dst, &bpd, base, depth + 1, out, pp, err) : nc_st_fail(err, vol, "base image");
	if (ret == 0) {
		/* an Image's completion mark (reconciler/images.h: "VOLUME.ok"),
		 * after its data: without it the Image would be taken for a
		 * cut-short upload on dst and replaced under the copied overlay;
		 * copy_one copies nothing when the source has no such volume */
		char *mark = nc_xasprintf("%s.ok", base);

		ret = copy_one(src, dst, &bpd, mark, depth + 1, out, pp, err);
		free(mark);
	}
	virStorageVolFree(bv);
	free(bname);
	free(bpath);
	return ret;
}

static int copy_one(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_pool_def *pool,
		    const char *vol, int depth, struct nc_vol_copy *out, struct pump *pp, struct nc_err *err)
{
	virConnectPtr sc = nc_libvirt_conn(src), dc = nc_libvirt_conn(dst);
	virStoragePoolPtr ps = NULL, pd = NULL;
	virStorageVolPtr vs = NULL, vd = NULL;
	struct nc_volume info;
	char *xml = NULL, *path = NULL;
	bool sim = nc_libvirt_is_sim(src) || nc_libvirt_is_sim(dst);
	int ret = -1, r;

	memset(&info, 0, sizeof(info));
	if (!sc || !dc) {
		nc_err_set(err, "disk %s: dir pools need libvirt or sim hosts", vol);
		return -1;
	}
	if (nc_dir_pool(sc, pool, vol, false, &ps, err) < 0)
		return -1;
	if (!ps) {         /* no pool on the source: no volume to copy */
		ret = 0;
		goto out;
	}
	if (nc_dir_vol(ps, vol, &vs, err) < 0)
		goto out;
	if (!vs) {
		ret = 0;
		goto out;
	}
	if (depth == 0)
		out->found = true;
	if (nc_dir_vol_info(vs, vol, &info, err) < 0)
		goto out;
	if (nc_dir_pool(dc, pool, vol, true, &pd, err) < 0 || nc_dir_vol(pd, vol, &vd, err) < 0)
		goto out;
	if (vd) {
		if (depth > 0) {   /* a base image is there already (same name) */
			ret = 0;
			goto out;
		}
		r = probe_shared(ps, pd, vol, err);
		if (r < 0)
			goto out;
		if (r) {
			out->shared = true;
			ret = 0;
			goto out;
		}
		/* the leftover of an interrupted copy (its marker is there): the
		 * VM is defined on the source, and its disk is the source's.
		 * Anything else is not ours to overwrite. */
		r = mark(pd, vol, out, false, err);
		if (r < 0)
			goto out;
		if (r == 0) {
			nc_err_set(err, "disk %s: the destination already has a volume %s in pool %s that NovaCron "
				   "did not copy there (an operator's file, or a disk a deleted VM retained): it is "
				   "never overwritten; move or remove it on the destination by hand", vol, vol,
				   pool->name);
			goto out;
		}
		if (virStorageVolDelete(vd, 0) < 0) {
			nc_st_fail(err, vol, "cannot remove an incomplete copy on the destination");
			goto out;
		}
		virStorageVolFree(vd);
		vd = NULL;
	}
	if (depth == 0 && mark(pd, vol, out, true, err) < 0)
		goto out;
	if (info.backing && ensure_backing(src, dst, pool, vol, info.backing, depth, out, pp, err) < 0)
		goto out;
	if (sim) {
		xml = nc_st_portable_xml(vs, vol, err);
		if (!xml)
			goto out;
	} else {
		xml = nc_st_vol_xml(vol, info.capacity, info.format && strcmp(info.format, "raw") == 0 ? "raw" : "qcow2",
				    NULL, NULL);
	}
	vd = virStorageVolCreateXML(pd, xml, 0);
	if (!vd) {
		nc_st_fail(err, vol, "cannot create the volume on the destination");
		goto out;
	}
	path = virStorageVolGetPath(vd);
	if (!path) {
		nc_st_fail(err, vol, "cannot read the path of the new volume");
		virStorageVolDelete(vd, 0);
		goto out;
	}
	add_created(out, path);
	pp->vol = vol;
	pp->faulted = false;
	pp->done = 0;
	if (sim) {
		/* the test driver streams nothing: the metadata is the volume */
		pp->done = info.allocation;
		if (pp->progress)
			pp->progress(pp->opaque, pp->base + pp->done);
		if (nc_driver_fault("vol-copy", err) < 0)
			goto out;
	} else {
		if (stream_volume(sc, dc, vs, vd, vol, pp, err) < 0)
			goto out;
		/* libvirt reads the new file's format, size and backing again */
		if (virStoragePoolRefresh(pd, 0) < 0) {
			nc_st_fail(err, vol, "cannot refresh the destination pool");
			goto out;
		}
	}
	pp->base += pp->done;
	out->bytes += pp->done;
	ret = 0;
out:
	nc_volume_release(&info);
	free(xml);
	free(path);
	if (vs)
		virStorageVolFree(vs);
	if (vd)
		virStorageVolFree(vd);
	if (ps)
		virStoragePoolFree(ps);
	if (pd)
		virStoragePoolFree(pd);
	return ret;
}

int nc_vol_copy(struct nc_host_conn *src, struct nc_host_conn *dst, const struct nc_pool_def *pool,
		const char *vol, struct nc_vol_copy *out, void (*progress)(void *opaque, uint64_t bytes),
		void *opaque, struct nc_err *err)
{
	struct nc_vol_copy c;
	struct pump p;

	memset(&c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	p.progress = progress;
	p.opaque = opaque;
	if (!pool->type || strcmp(pool->type, "dir") != 0) {
		/* rbd: one Ceph pool that every host reaches */
		c.found = true;
		c.shared = true;
		*out = c;
		return 0;
	}
	if (copy_one(src, dst, pool, vol, 0, &c, &p, err) < 0) {
		struct nc_err e = { "" };

		nc_vol_copy_undo(dst, &c, &e);
		nc_vol_copy_release(&c);
		return -1;
	}
	*out = c;
	return 0;
}
