/*
 * netfs.c - the netfs flavour of the dir back-end (storage.h): a libvirt
 * pool of type netfs, an NFS export that the host's libvirt mounts at the
 * pool's path (mount -t nfs SERVER:EXPORT PATH, nfsvers when the spec sets
 * a version) when it starts the pool, and unmounts when it stops it.  Its
 * volumes are files in that directory, so every other call is the dir
 * back-end's, unchanged.
 *
 * The pool XML is built with libxml2 (the spec's server, export and path
 * are escaped by the serializer); an existing libvirt pool of the name is
 * read back with XPath and must point at the same server, export and path:
 * NovaCron never redefines a pool behind the operator's back.
 */
#include "storage.h"
#include "dir-internal.h"

#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/util.h"
#include "../xml.h"

char *nc_netfs_pool_xml(const char *name, const struct nc_pool_def *pool)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "pool"), src, n;
	char ver[16];

	xmlDocSetRootElement(doc, root);
	nc_xml_prop(root, "type", "netfs");
	nc_xml_child(root, "name", name);
	src = nc_xml_child(root, "source", NULL);
	n = nc_xml_child(src, "host", NULL);
	nc_xml_prop(n, "name", pool->netfs_server);
	n = nc_xml_child(src, "dir", NULL);
	nc_xml_prop(n, "path", pool->netfs_export);
	n = nc_xml_child(src, "format", NULL);
	nc_xml_prop(n, "type", "nfs");
	if (pool->netfs_version) {
		snprintf(ver, sizeof(ver), "%d", pool->netfs_version);
		n = nc_xml_child(src, "protocol", NULL);
		nc_xml_prop(n, "ver", ver);
	}
	n = nc_xml_child(root, "target", NULL);
	nc_xml_child(n, "path", pool->path);
	return nc_xml_dump(doc, NULL);
}

static char *xp_str(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	char *s = NULL;

	if (o && o->type == XPATH_STRING && o->stringval && *o->stringval)
		s = nc_xstrdup((const char *)o->stringval);
	xmlXPathFreeObject(o);
	return s;
}

int nc_netfs_pool_check(const char *name, const char *xml, const struct nc_pool_def *pool, struct nc_err *err)
{
	xmlDocPtr doc = nc_st_xml_parse(xml);
	xmlXPathContextPtr ctx;
	char *type, *host, *dir, *path, *ver, want_ver[16], have[1024], want[1024];
	int ret = 0;

	if (!doc) {
		nc_err_set(err, "storage pool %s: cannot read the XML of libvirt pool %s", pool->name, name);
		return -1;
	}
	ctx = xmlXPathNewContext(doc);
	type = xp_str(ctx, "string(/pool/@type)");
	host = xp_str(ctx, "string(/pool/source/host/@name)");
	dir = xp_str(ctx, "string(/pool/source/dir/@path)");
	path = xp_str(ctx, "string(/pool/target/path)");
	ver = xp_str(ctx, "string(/pool/source/protocol/@ver)");
	snprintf(want_ver, sizeof(want_ver), "%d", pool->netfs_version);
	snprintf(have, sizeof(have), "%s pool of %s:%s at %s", type ? type : "?", host ? host : "?",
		 dir ? dir : "?", path ? path : "?");
	snprintf(want, sizeof(want), "netfs pool of %s:%s at %s", pool->netfs_server, pool->netfs_export,
		 pool->path);
	if (strcmp(have, want) != 0) {
		nc_err_set(err, "storage pool %s: libvirt pool %s on this host is a %s, not a %s; fix the spec "
			   "or remove that libvirt pool", pool->name, name, have, want);
		ret = -1;
	} else if (pool->netfs_version ? !ver || strcmp(ver, want_ver) != 0 : ver != NULL) {
		nc_err_set(err, "storage pool %s: libvirt pool %s on this host mounts NFS version %s, not %s; "
			   "fix the spec or remove that libvirt pool", pool->name, name, ver ? ver : "(any)",
			   pool->netfs_version ? want_ver : "(any)");
		ret = -1;
	}
	free(type);
	free(host);
	free(dir);
	free(path);
	free(ver);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}

int nc_netfs_probe(struct nc_host_conn *host, const struct nc_pool_def *pd, struct nc_err *err)
{
	virConnectPtr conn = nc_libvirt_conn(host);
	char *name = nc_xasprintf("novacron-%s", pd->name);
	struct _virStoragePool *p = conn ? virStoragePoolLookupByName(conn, name) : NULL;

	free(name);
	if (!p)
		return 1;    /* not defined here yet (or no libvirt): nothing to probe */
	virStoragePoolFree(p);
	p = NULL;
	if (nc_storage_dir_pool(host, pd, pd->name, false, &p, err) < 0)
		return 0;
	if (p)
		virStoragePoolFree(p);
	return 1;
}
