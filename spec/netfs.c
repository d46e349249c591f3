/*
 * netfs.c - what the spec knows about netfs pools (an NFS export libvirt
 * mounts on each host; docs/storage.md "netfs pools"): the server name
 * check, the rules between a netfs pool's fields, and which pools are
 * shared by their hosts.
 *
 * The server name reaches libvirt's pool XML (<source><host name=>, escaped
 * by libxml2) and, through libvirt, the argv of mount(8) as "SERVER:EXPORT"
 * on each host.  So it is held to a plain DNS host name or an IP address:
 * no scheme, no user, no port, no path, no blank, no leading '-' (an
 * option to mount), no ':' outside an IPv6 address.
 */
#include "internal.h"
#include "ipaddr.h"

#include <string.h>

int nc_check_hostname(const char *s, const char **why)
{
	size_t n = strlen(s), label = 0;
	struct nc_ip ip;
	const char *p;

	*why = "expected a host name (letters, digits, '-' and '.', labels of at most 63) or an IPv4 "
	       "or IPv6 address; never a URL, a port or a path";
	if (nc_ip_parse(&ip, s) == 0)
		return 0;
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return -1;
	for (p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return -1;
		if (*p == '-' && label == 0)
			return -1;   /* a label (the name, too) never starts with '-' */
		if (++label > 63)
			return -1;
	}
	return s[n - 1] == '-' ? -1 : 0;
}

bool nc_pool_is_netfs(const struct nc_pool *p)
{
	return p && NC_IS_SET(p->spec.type) && p->spec.type.v == NC_POOL_NETFS;
}

bool nc_pool_is_shared(const struct nc_pool *p)
{
	return p && NC_IS_SET(p->spec.type) && (p->spec.type.v == NC_POOL_RBD || p->spec.type.v == NC_POOL_NETFS);
}

void nc_netfs_check_pool(struct nc_diags *diags, const struct nc_pool *p)
{
	const struct nc_pool_spec *s = &p->spec;

	if (!NC_IS_SET(s->path))
		nc_diag_error(diags, s->pos, "missing required key 'path' for a netfs pool (where each host "
			      "mounts the share)");
	if (!NC_IS_SET(s->netfs))
		nc_diag_error(diags, s->pos, "missing required key 'netfs' for a netfs pool "
			      "(netfs: {server: HOST, export: /PATH})");
	if (NC_IS_SET(s->rbd))
		nc_diag_error(diags, s->rbd.pos, "'rbd' does not apply to a netfs pool");
	/* mount(8) splits its options at ',' and libvirt's mount check compares the
	 * "SERVER:EXPORT" it mounted: keep the export plain */
	if (NC_IS_SET(s->netfs.export_path) && strpbrk(s->netfs.export_path.v, ", \t\\"))
		nc_diag_error(diags, s->netfs.export_path.pos, "netfs.export '%s': an export path holds no ',', "
			      "blank or backslash", s->netfs.export_path.v);
	if (NC_IS_SET(s->path) && strpbrk(s->path.v, ", \t\\"))
		nc_diag_error(diags, s->path.pos, "path '%s': a netfs pool's mount point holds no ',', blank or "
			      "backslash", s->path.v);
}

void nc_netfs_check_all(const struct nc_spec *spec, struct nc_diags *diags)
{
	const struct nc_pool *p, *q;
	size_t i, j;

	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, p, i) {
		const struct nc_netfs *n = &p->spec.netfs;

		if (!nc_pool_is_netfs(p) || !NC_IS_SET(n->server) || !NC_IS_SET(n->export_path))
			continue;
		/* the testbed's client (test/testbed/nfs-fuse.c) cannot truncate over v4 */
		if (NC_IS_SET(n->version) && n->version.v == 4)
			nc_diag_warning(diags, n->version.pos, "netfs.version 4 is passed to mount (nfsvers=4) but not "
					"tested by NovaCron's tests, which mount NFSv3 only (docs/storage.md)");
		/* libvirt refuses a second pool of the same source on a host ("Storage source conflict") */
		for (j = 0; j < i; j++) {
			q = (const struct nc_pool *)spec->objs[NC_KIND_STORAGE_POOL][j];
			if (nc_pool_is_netfs(q) && NC_IS_SET(q->spec.netfs.server) && NC_IS_SET(q->spec.netfs.export_path) &&
			    strcmp(q->spec.netfs.server.v, n->server.v) == 0 &&
			    strcmp(q->spec.netfs.export_path.v, n->export_path.v) == 0) {
				nc_diag_error(diags, n->export_path.pos, "netfs pools '%s' and '%s' mount the same export "
					      "%s:%s: libvirt takes one pool per export on a host; use one pool",
					      q->obj.meta.name.v, p->obj.meta.name.v, n->server.v, n->export_path.v);
				break;
			}
		}
	}
}
