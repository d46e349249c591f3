/*
 * storage.c - VM disk volumes (storage.h): the dispatch over the pool type,
 * the helpers both back-ends share, and the dir back-end.
 *
 * dir works through libvirt's storage API on the host's own connection, so
 * the files are made by the host's daemon (its qemu-img, its permissions)
 * wherever the host is: a pool "novacron-<POOL>" of type dir with the
 * spec's path, defined, built, started and marked autostart when missing;
 * volumes "<VM>-<DISK>.qcow2" made with virStorageVolCreateXML (qcow2, and
 * for a base image a <backingStore>: a copy-on-write overlay).  Every XML
 * document is built as a libxml2 tree (names and paths from the spec are
 * escaped by the serializer) and every answer is read with XPath, never by
 * hand.  On a simulated host the test driver stands in for the daemon; the
 * differences are written down in storage.h.
 */
#include "storage.h"
#include "dir-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../spec/util.h"
#include "../xml.h"

static const struct nc_storage_backend *const backends[] = {
	&nc_storage_dir,
	&nc_storage_rbd,
};

void nc_volume_release(struct nc_volume *v)
{
	if (!v)
		return;
	free(v->format);
	free(v->path);
	free(v->backing);
	memset(v, 0, sizeof(*v));
}

static const struct nc_storage_backend *backend_for(const struct nc_pool_def *pool,
						    struct nc_err *err)
{
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(backends); i++)
		if (pool && pool->type && strcmp(pool->type, backends[i]->type) == 0)
			return backends[i];
	nc_err_set(err, "storage pool %s: unknown type '%s' (expected dir or rbd)",
		   pool && pool->name ? pool->name : "?", pool && pool->type ? pool->type : "");
	return NULL;
}

int nc_vol_info(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		struct nc_volume *out, struct nc_err *err)
{
	const struct nc_storage_backend *b = backend_for(pool, err);

	return b ? b->info(host, pool, vol, out, err) : -1;
}

int nc_vol_create(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		  uint64_t size, const char *base_image, struct nc_err *err)
{
	const struct nc_storage_backend *b = backend_for(pool, err);

	if (!b || nc_driver_fault("vol-create", err) < 0)
		return -1;
	return b->create(host, pool, vol, size, base_image && *base_image ? base_image : NULL, err);
}

int nc_vol_resize(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		  uint64_t size, const char *running_domain, const char *target, struct nc_err *err)
{
	const struct nc_storage_backend *b = backend_for(pool, err);

	if (!b || nc_driver_fault("vol-resize", err) < 0)
		return -1;
	return b->resize(host, pool, vol, size, running_domain, target, err);
}

int nc_vol_delete(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		  struct nc_err *err)
{
	const struct nc_storage_backend *b = backend_for(pool, err);

	if (!b || nc_driver_fault("vol-delete", err) < 0)
		return -1;
	return b->remove(host, pool, vol, err);
}

/* ---- shared helpers ---- */

/* "20 GiB", "1536 MiB", "1000000 bytes": the largest unit that divides v */
static void size_text(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t i = 0;

	while (i + 1 < NC_ARRAY_SIZE(units) && v && v % 1024 == 0) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[i]);
}

int nc_storage_check_grow(const char *vol, uint64_t cur, uint64_t size, struct nc_err *err)
{
	char a[48], b[48];

	if (size > cur)
		return 1;
	if (size == cur)
		return 0;
	size_text(cur, a, sizeof(a));
	size_text(size, b, sizeof(b));
	nc_err_set(err, "disk %s: shrinking from %s to %s is not supported; grow it or create a new disk",
		   vol, a, b);
	return -1;
}

int nc_st_fail(struct nc_err *err, const char *vol, const char *what)
{
	const char *m = virGetLastErrorMessage();

	nc_err_set(err, "disk %s: %s: %s", vol, what, m && *m ? m : "unknown libvirt error");
	return -1;
}

int nc_storage_block_resize(struct nc_host_conn *host, const char *vol, const char *running_domain,
			    const char *target, uint64_t size, struct nc_err *err)
{
	virConnectPtr conn = nc_libvirt_conn(host);
	virDomainPtr d;
	int ret = 0;

	if (!conn) {
		nc_err_set(err, "disk %s: resizing it live needs the host of domain %s", vol, running_domain);
		return -1;
	}
	d = virDomainLookupByName(conn, running_domain);
	if (!d)
		return nc_st_fail(err, vol, "cannot find the running domain");
	if (virDomainBlockResize(d, target, size, VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0)
		ret = nc_st_fail(err, vol, "cannot resize the disk of the running domain");
	virDomainFree(d);
	return ret;
}

/* ---- XML: built with libxml2, read with XPath ---- */

xmlDocPtr nc_st_xml_parse(const char *xml)
{
	return xmlReadMemory(xml, (int)strlen(xml), "storage.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* the text (or attribute value) of the first node expr selects; NULL = none */
static char *xpath_str(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	char *out = NULL;

	if (o && o->nodesetval && o->nodesetval->nodeNr > 0) {
		xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);

		if (t) {
			out = nc_xstrdup((const char *)t);
			xmlFree(t);
		}
	}
	xmlXPathFreeObject(o);
	return out;
}

/* <capacity unit='...'>N</capacity> in bytes; false when absent or bad */
static bool xpath_size(xmlXPathContextPtr ctx, const char *elem, uint64_t *out)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "b", 1 }, { "bytes", 1 }, { "k", 1ULL << 10 }, { "kib", 1ULL << 10 },
		{ "kb", 1000 }, { "m", 1ULL << 20 }, { "mib", 1ULL << 20 }, { "mb", 1000000 },
		{ "g", 1ULL << 30 }, { "gib", 1ULL << 30 }, { "gb", 1000000000 },
		{ "t", 1ULL << 40 }, { "tib", 1ULL << 40 }, { "tb", 1000000000000ULL },
	};
	char *expr = nc_xasprintf("%s/@unit", elem);
	char *num = xpath_str(ctx, elem), *unit = xpath_str(ctx, expr), *end;
	uint64_t mul = 1, v;
	bool ok = false;
	size_t i;

	free(expr);
	if (!num)
		goto out;
	if (unit) {
		for (i = 0; i < NC_ARRAY_SIZE(units); i++)
			if (strcasecmp(unit, units[i].unit) == 0)
				break;
		if (i == NC_ARRAY_SIZE(units))
			goto out;
		mul = units[i].mul;
	}
	errno = 0;
	v = strtoull(num, &end, 10);
	if (errno || end == num || *end)
		goto out;
	*out = v * mul;
	ok = true;
out:
	free(num);
	free(unit);
	return ok;
}

/* a volume's XML -> struct nc_volume */
static int vol_parse(const char *xml, const char *vol, struct nc_volume *out, struct nc_err *err)
{
	xmlDocPtr doc = nc_st_xml_parse(xml);
	xmlXPathContextPtr ctx;
	struct nc_volume v;

	if (!doc) {
		nc_err_set(err, "disk %s: cannot parse the volume XML", vol);
		return -1;
	}
	memset(&v, 0, sizeof(v));
	ctx = xmlXPathNewContext(doc);
	v.exists = true;
	if (!xpath_size(ctx, "/volume/capacity", &v.capacity)) {
		nc_err_set(err, "disk %s: the volume XML has no capacity", vol);
		xmlXPathFreeContext(ctx);
		xmlFreeDoc(doc);
		return -1;
	}
	if (!xpath_size(ctx, "/volume/allocation", &v.allocation))
		v.allocation = 0;
	v.format = xpath_str(ctx, "/volume/target/format/@type");
	v.path = xpath_str(ctx, "/volume/target/path");
	v.backing = xpath_str(ctx, "/volume/backingStore/path");
	if (v.backing && !*v.backing) {
		free(v.backing);
		v.backing = NULL;
	}
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	*out = v;
	return 0;
}

static char *pool_xml(const char *name, const char *path)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "pool"), t;
	char *out;

	xmlDocSetRootElement(doc, root);
	xmlSetProp(root, BAD_CAST "type", BAD_CAST "dir");
	xmlNewTextChild(root, NULL, BAD_CAST "name", BAD_CAST name);
	t = xmlNewChild(root, NULL, BAD_CAST "target", NULL);
	xmlNewTextChild(t, NULL, BAD_CAST "path", BAD_CAST path);
	out = nc_xml_doc_text(doc);
	xmlFreeDoc(doc);
	return out;
}

char *nc_st_vol_xml(const char *vol, uint64_t capacity, const char *fmt, const char *base, const char *base_fmt)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "volume"), n;
	char num[32];
	char *out;

	xmlDocSetRootElement(doc, root);
	xmlSetProp(root, BAD_CAST "type", BAD_CAST "file");
	xmlNewTextChild(root, NULL, BAD_CAST "name", BAD_CAST vol);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)capacity);
	n = xmlNewChild(root, NULL, BAD_CAST "capacity", BAD_CAST num);
	xmlSetProp(n, BAD_CAST "unit", BAD_CAST "bytes");
	n = xmlNewChild(root, NULL, BAD_CAST "allocation", BAD_CAST "0");   /* sparse */
	xmlSetProp(n, BAD_CAST "unit", BAD_CAST "bytes");
	n = xmlNewChild(root, NULL, BAD_CAST "target", NULL);
	if (!fmt)
		fmt = "qcow2";
	/* qcow2 v3: v2 (libvirt's default "0.10") cannot hold the persistent
	 * dirty bitmaps that incremental backups need */
	if (strcmp(fmt, "qcow2") == 0)
		xmlNewChild(n, NULL, BAD_CAST "compat", BAD_CAST "1.1");
	n = xmlNewChild(n, NULL, BAD_CAST "format", NULL);
	xmlSetProp(n, BAD_CAST "type", BAD_CAST fmt);
	if (base) {
		n = xmlNewChild(root, NULL, BAD_CAST "backingStore", NULL);
		xmlNewTextChild(n, NULL, BAD_CAST "path", BAD_CAST base);
		/* no format: libvirt probes it on the host */
		if (base_fmt) {
			n = xmlNewChild(n, NULL, BAD_CAST "format", NULL);
			xmlSetProp(n, BAD_CAST "type", BAD_CAST base_fmt);
		}
	}
	out = nc_xml_doc_text(doc);
	xmlFreeDoc(doc);
	return out;
}

/* ---- dir: pools and volumes on the host's libvirt ---- */

static virConnectPtr dir_conn(struct nc_host_conn *host, const char *vol, struct nc_err *err)
{
	virConnectPtr conn = nc_libvirt_conn(host);

	if (!conn)
		nc_err_set(err, "disk %s: dir pools need a libvirt or sim host", vol);
	return conn;
}

/*
 * The started, refreshed libvirt pool of a spec pool.  Missing: defined,
 * built, started and marked autostart when create, else *out = NULL and 0.
 */
int nc_storage_dir_pool(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
			bool create, struct _virStoragePool **out, struct nc_err *err)
{
	virConnectPtr conn = dir_conn(host, vol, err);

	*out = NULL;
	return conn ? nc_dir_pool(conn, pool, vol, create, out, err) : -1;
}

/*
 * Looking a pool up and defining, building and starting it when missing is
 * one step per process: two threads of one apply (two migrations to one host
 * at once) would otherwise both find it missing and the second define fail
 * ("pool ... already exists").  The refresh after it runs unlocked.
 */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;

int nc_dir_pool(virConnectPtr conn, const struct nc_pool_def *pool, const char *vol, bool create,
		    virStoragePoolPtr *out, struct nc_err *err)
{
	char *name = nc_xasprintf("novacron-%s", pool->name);
	virStoragePoolPtr p = NULL;
	bool locked = true;
	int ret = -1;

	pthread_mutex_lock(&pool_mu);
	*out = NULL;
	if (!pool->path || pool->path[0] != '/') {
		nc_err_set(err, "storage pool %s: a dir pool needs an absolute path", pool->name);
		goto out;
	}
	/* a netfs pool is defined (mounted) whenever a call needs it: it makes no data, and
	 * a VM that moves or restarts needs the share on its new host (netfs.c) */
	if (pool->netfs_server)
		create = true;
	p = virStoragePoolLookupByName(conn, name);
	if (p && pool->netfs_server) {
		/* a netfs pool (storage/netfs.c): same server, export, version and mount point */
		char *xml = virStoragePoolGetXMLDesc(p, 0);
		int r = xml ? nc_netfs_pool_check(name, xml, pool, err) : nc_st_fail(err, vol, "cannot read the XML of libvirt pool");

		free(xml);
		if (r < 0)
			goto out;
	} else if (p) {
		/* a pool of this name with another directory is not ours to change */
		char *xml = virStoragePoolGetXMLDesc(p, 0), *path = NULL;
		xmlDocPtr doc = xml ? nc_st_xml_parse(xml) : NULL;

		free(xml);
		if (doc) {
			xmlXPathContextPtr ctx = xmlXPathNewContext(doc);

			path = xpath_str(ctx, "/pool/target/path");
			xmlXPathFreeContext(ctx);
			xmlFreeDoc(doc);
		}
		if (!path) {
			nc_st_fail(err, vol, "cannot read the XML of libvirt pool");
			goto out;
		}
		if (strcmp(path, pool->path) != 0) {
			nc_err_set(err, "storage pool %s: libvirt pool %s on this host has path %s, not %s; "
					"fix the spec or remove that libvirt pool", pool->name, name, path, pool->path);
			free(path);
			goto out;
		}
		free(path);
	} else if (virGetLastErrorCode() != VIR_ERR_NO_STORAGE_POOL) {
		nc_st_fail(err, vol, "cannot look up libvirt pool");
		goto out;
	} else if (!create) {
		ret = 0;
		goto out;
	} else {
		char *xml = pool->netfs_server ? nc_netfs_pool_xml(name, pool) : pool_xml(name, pool->path);

		p = virStoragePoolDefineXML(conn, xml, 0);
		free(xml);
		if (!p) {
			nc_st_fail(err, vol, "cannot define libvirt pool");
			goto out;
		}
		/* dir and netfs: makes the directory (the mount point); an existing one is kept */
		if (virStoragePoolBuild(p, 0) < 0) {
			nc_st_fail(err, vol, "cannot build libvirt pool");
			goto out;
		}
		if (virStoragePoolSetAutostart(p, 1) < 0) {
			nc_st_fail(err, vol, "cannot mark libvirt pool autostart");
			goto out;
		}
	}
	if (virStoragePoolIsActive(p) != 1 && virStoragePoolCreate(p, 0) < 0) {
		if (pool->netfs_server) {
			const char *m = virGetLastErrorMessage();

			nc_err_set(err, "storage pool %s: cannot mount %s:%s at %s: %s", pool->name, pool->netfs_server,
				   pool->netfs_export, pool->path, m ? m : "unknown error");
		} else {
			nc_st_fail(err, vol, "cannot start libvirt pool");
		}
		goto out;
	}
	pthread_mutex_unlock(&pool_mu);
	locked = false;
	/* files made or removed behind libvirt's back */
	if (virStoragePoolRefresh(p, 0) < 0) {
		if (pool->netfs_server) {
			const char *m = virGetLastErrorMessage();

			/* libvirt stops (unmounts) a pool whose refresh failed: the next look mounts it again */
			nc_err_set(err, "storage pool %s: cannot read %s:%s at %s: %s", pool->name, pool->netfs_server,
				   pool->netfs_export, pool->path, m ? m : "unknown error");
		} else {
			nc_st_fail(err, vol, "cannot refresh libvirt pool");
		}
		goto out;
	}
	*out = p;
	p = NULL;
	ret = 0;
out:
	if (locked)
		pthread_mutex_unlock(&pool_mu);
	if (p)
		virStoragePoolFree(p);
	free(name);
	return ret;
}

/* vol in p: *out NULL and 0 when missing */
int nc_dir_vol(virStoragePoolPtr p, const char *vol, virStorageVolPtr *out, struct nc_err *err)
{
	*out = virStorageVolLookupByName(p, vol);
	if (*out || virGetLastErrorCode() == VIR_ERR_NO_STORAGE_VOL)
		return 0;
	return nc_st_fail(err, vol, "cannot look up the volume");
}

int nc_dir_vol_info(virStorageVolPtr v, const char *vol, struct nc_volume *out, struct nc_err *err)
{
	char *xml = virStorageVolGetXMLDesc(v, 0);
	int ret;

	if (!xml)
		return nc_st_fail(err, vol, "cannot read the volume XML");
	ret = vol_parse(xml, vol, out, err);
	free(xml);
	return ret;
}

static int dir_info(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		    struct nc_volume *out, struct nc_err *err)
{
	virConnectPtr conn = dir_conn(host, vol, err);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	int ret = -1;

	if (!conn || nc_dir_pool(conn, pool, vol, false, &p, err) < 0)
		return -1;
	if (p && nc_dir_vol(p, vol, &v, err) < 0)
		goto out;
	if (!v) {
		memset(out, 0, sizeof(*out));
		ret = 0;
		goto out;
	}
	ret = nc_dir_vol_info(v, vol, out, err);
out:
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	return ret;
}

/* the 8-byte big-endian number at buf */
static uint64_t be64(const unsigned char *buf)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | buf[i];
	return v;
}

/*
 * A base image's format and virtual size: from its XML when it is a volume
 * of a libvirt pool on the host, else from the file when it is readable
 * here (qcow2 magic and header size, or raw and the file's size).  Neither:
 * *fmt NULL and *vsize 0, and libvirt probes the format on the host.
 */
static int probe_base(virConnectPtr conn, const char *vol, const char *base, char **fmt,
		      uint64_t *vsize, struct nc_err *err)
{
	virStorageVolPtr bv = virStorageVolLookupByPath(conn, base);
	unsigned char hdr[32];
	struct stat st;
	int fd;

	*fmt = NULL;
	*vsize = 0;
	if (bv) {
		struct nc_volume info;
		int r = nc_dir_vol_info(bv, vol, &info, err);

		virStorageVolFree(bv);
		if (r < 0)
			return -1;
		if (info.format && (strcmp(info.format, "qcow2") == 0 || strcmp(info.format, "raw") == 0)) {
			*fmt = info.format;
			info.format = NULL;
			*vsize = info.capacity;
			nc_volume_release(&info);
			return 0;
		}
		nc_volume_release(&info);
	}
	fd = open(base, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		ssize_t n = pread(fd, hdr, sizeof(hdr), 0);

		if (n >= 32 && memcmp(hdr, "QFI\xfb", 4) == 0) {
			*fmt = nc_xstrdup("qcow2");
			*vsize = be64(hdr + 24);
		} else if (n >= 0) {
			*fmt = nc_xstrdup("raw");
			*vsize = (uint64_t)st.st_size;
		}
	}
	close(fd);
	return 0;
}

static int dir_create(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		      uint64_t size, const char *base, struct nc_err *err)
{
	virConnectPtr conn = dir_conn(host, vol, err);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	char *fmt = NULL, *xml = NULL;
	uint64_t vsize = 0;
	int ret = -1;

	if (!conn || nc_dir_pool(conn, pool, vol, true, &p, err) < 0)
		return -1;
	if (nc_dir_vol(p, vol, &v, err) < 0)
		goto out;
	if (v) {
		nc_err_set(err, "disk %s: already exists in storage pool %s", vol, pool->name);
		goto out;
	}
	if (base && probe_base(conn, vol, base, &fmt, &vsize, err) < 0)
		goto out;
	if (size < vsize)
		size = vsize;
	if (size == 0) {
		nc_err_set(err, "disk %s: a size is needed", vol);
		goto out;
	}
	xml = nc_st_vol_xml(vol, size, NULL, base, fmt);
	v = virStorageVolCreateXML(p, xml, 0);
	if (!v) {
		nc_st_fail(err, vol, base ? "cannot create the volume from its base image" :
					 "cannot create the volume");
		goto out;
	}
	ret = 0;
out:
	if (v)
		virStorageVolFree(v);
	virStoragePoolFree(p);
	free(fmt);
	free(xml);
	return ret;
}

void nc_st_drop_nodes(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	int i;

	for (i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
		xmlUnlinkNode(o->nodesetval->nodeTab[i]);
		xmlFreeNode(o->nodesetval->nodeTab[i]);
		o->nodesetval->nodeTab[i] = NULL;
	}
	xmlXPathFreeObject(o);
}

/*
 * Simulated hosts: the test driver cannot resize a volume, and a simulated
 * volume has no data, so growing is deleting the volume's metadata and
 * creating it again from its own XML with the new capacity.
 */
static int sim_grow(virStoragePoolPtr p, virStorageVolPtr *v, const char *vol, uint64_t size,
		    struct nc_err *err)
{
	char *xml = virStorageVolGetXMLDesc(*v, 0), *text = NULL;
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o;
	virStorageVolPtr nv;
	char num[32];
	int ret = -1;

	if (!xml)
		return nc_st_fail(err, vol, "cannot read the volume XML");
	doc = nc_st_xml_parse(xml);
	free(xml);
	if (!doc) {
		nc_err_set(err, "disk %s: cannot parse the volume XML", vol);
		return -1;
	}
	ctx = xmlXPathNewContext(doc);
	o = xmlXPathEvalExpression(BAD_CAST "/volume/capacity", ctx);
	if (!o || !o->nodesetval || o->nodesetval->nodeNr != 1) {
		nc_err_set(err, "disk %s: the volume XML has no capacity", vol);
		goto out;
	}
	snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
	xmlNodeSetContent(o->nodesetval->nodeTab[0], BAD_CAST num);
	xmlSetProp(o->nodesetval->nodeTab[0], BAD_CAST "unit", BAD_CAST "bytes");
	/* the test driver sets key and path itself (and leaks parsed ones) */
	nc_st_drop_nodes(ctx, "/volume/key | /volume/target/path");
	text = nc_xml_doc_text(doc);
	if (virStorageVolDelete(*v, 0) < 0) {
		nc_st_fail(err, vol, "cannot resize the simulated volume");
		goto out;
	}
	nv = virStorageVolCreateXML(p, text, 0);
	if (!nv) {
		nc_st_fail(err, vol, "cannot resize the simulated volume");
		goto out;
	}
	virStorageVolFree(*v);
	*v = nv;
	ret = 0;
out:
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	free(text);
	return ret;
}

static int dir_resize(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		      uint64_t size, const char *running_domain, const char *target, struct nc_err *err)
{
	virConnectPtr conn = dir_conn(host, vol, err);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	struct nc_volume cur;
	int ret = -1, r;

	if (!conn || nc_dir_pool(conn, pool, vol, false, &p, err) < 0)
		return -1;
	if (p && nc_dir_vol(p, vol, &v, err) < 0)
		goto out;
	if (!v) {
		nc_err_set(err, "disk %s: does not exist in storage pool %s", vol, pool->name);
		goto out;
	}
	if (nc_dir_vol_info(v, vol, &cur, err) < 0)
		goto out;
	r = nc_storage_check_grow(vol, cur.capacity, size, err);
	nc_volume_release(&cur);
	if (r <= 0) {
		ret = r;
		goto out;
	}
	if (nc_libvirt_is_sim(host))
		ret = sim_grow(p, &v, vol, size, err);
	else if (running_domain && target)
		ret = nc_storage_block_resize(host, vol, running_domain, target, size, err);
	else if (virStorageVolResize(v, size, 0) < 0)
		ret = nc_st_fail(err, vol, "cannot resize the volume");
	else
		ret = 0;
out:
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	return ret;
}

static int dir_remove(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
		      struct nc_err *err)
{
	virConnectPtr conn = dir_conn(host, vol, err);
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	int ret = -1;

	if (!conn || nc_dir_pool(conn, pool, vol, false, &p, err) < 0)
		return -1;
	if (p && nc_dir_vol(p, vol, &v, err) < 0)
		goto out;
	if (v && virStorageVolDelete(v, 0) < 0 && virGetLastErrorCode() != VIR_ERR_NO_STORAGE_VOL) {
		nc_st_fail(err, vol, "cannot delete the volume");
		goto out;
	}
	ret = 0;
out:
	if (v)
		virStorageVolFree(v);
	if (p)
		virStoragePoolFree(p);
	return ret;
}

const struct nc_storage_backend nc_storage_dir = {
	.type = "dir",
	.info = dir_info,
	.create = dir_create,
	.resize = dir_resize,
	.remove = dir_remove,
	.upload = nc_storage_dir_upload,
};
