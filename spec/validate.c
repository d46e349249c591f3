/*
 * validate.c - checks that need the whole spec: names and duplicates
 * (nc_spec_index, before inheritance), then references, cross-field rules
 * and the effective VMs (nc_spec_validate, after it).
 */
#include "internal.h"
#include "metrics.h"
#include "noop.h"
#include "ipaddr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static int obj_cmp(const void *pa, const void *pb)
{
	const struct nc_object *a = *(struct nc_object *const *)pa;
	const struct nc_object *b = *(struct nc_object *const *)pb;
	int c = strcmp(a->meta.name.v, b->meta.name.v);

	if (c)
		return c;
	c = strcmp(a->pos.file, b->pos.file);
	if (c)
		return c;
	return a->pos.line < b->pos.line ? -1 : a->pos.line > b->pos.line;
}

void nc_spec_index(struct nc_spec *spec, struct nc_diags *diags)
{
	size_t k, i, n;

	for (k = 0; k < NC_KIND__COUNT; k++) {
		struct nc_object **v = spec->objs[k];

		/* objects without a valid name were reported; leave them out */
		for (i = 0, n = 0; i < spec->nobjs[k]; i++)
			if (v[i]->meta.name.v)
				v[n++] = v[i];
		if (n > 1)
			qsort(v, n, sizeof(*v), obj_cmp);
		spec->nobjs[k] = n;
		for (i = 1, n = spec->nobjs[k] ? 1 : 0; i < spec->nobjs[k]; i++) {
			if (strcmp(v[i]->meta.name.v, v[n - 1]->meta.name.v) == 0) {
				if (nc_cluster_dup(spec, v[n - 1], v[i], diags))
					continue;
				nc_diag_error(diags, v[i]->meta.name.pos, "duplicate %s '%s'",
					      nc_kinds[k].name, v[i]->meta.name.v);
				nc_diag_note(diags, v[n - 1]->meta.name.pos, "first defined here");
				continue;
			}
			v[n++] = v[i];
		}
		spec->nobjs[k] = n;
	}
}

static int find_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct nc_object *const *)elem)->meta.name.v);
}

size_t nc_spec_pos(const struct nc_spec *spec, enum nc_kind kind, const char *name)
{
	struct nc_object **o;

	if (!name || !spec->nobjs[kind])
		return (size_t)-1;
	o = bsearch(name, spec->objs[kind], spec->nobjs[kind], sizeof(*o), find_cmp);
	return o ? (size_t)(o - spec->objs[kind]) : (size_t)-1;
}

struct nc_object *nc_spec_find(const struct nc_spec *spec, enum nc_kind kind, const char *name)
{
	size_t i = nc_spec_pos(spec, kind, name);

	return i == (size_t)-1 ? NULL : spec->objs[kind][i];
}

/* ---- references ---- */

static void check_ref(struct nc_spec *spec, struct nc_diags *diags, enum nc_kind kind,
		      const struct nc_str *v)
{
	const char **names;
	const char *sugg;
	size_t i, n = spec->nobjs[kind];

	if (!NC_IS_SET(*v) || nc_spec_find(spec, kind, v->v))
		return;
	/* suggestions cost a pass over the names: the first 100 get one */
	if (++spec->missing_refs > 100) {
		nc_diag_error(diags, v->pos, "no %s named '%s'", nc_kinds[kind].name,
			      nc_spec_quote(spec, v->v));
		return;
	}
	names = nc_xcalloc(n ? n : 1, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = spec->objs[kind][i]->meta.name.v;
	sugg = nc_spec_suggest(spec, v->v, names, n);
	free(names);
	nc_diag_error(diags, v->pos, "no %s named '%s'%s", nc_kinds[kind].name,
		      nc_spec_quote(spec, v->v), sugg);
}

/*
 * A disk's image: an absolute path (checked against the operator's roots
 * later), else the name of an Image.  A name that cannot be one (a file
 * name such as debian-12.qcow2: the form before Images existed) says so.
 */
static void check_image_ref(struct nc_spec *spec, struct nc_diags *diags, const struct nc_str *v)
{
	if (!NC_IS_SET(*v) || v->v[0] == '/' || nc_spec_find(spec, NC_KIND_IMAGE, v->v))
		return;
	if (v->v[strspn(v->v, "abcdefghijklmnopqrstuvwxyz0123456789-")] != 0)
		nc_diag_error(diags, v->pos, "no Image named '%s': a disk's image names an Image object "
			      "(kind: Image, with spec.source and spec.sha256), not a file; declare one and "
			      "write its name here (docs/spec.md, Image)", nc_spec_quote(spec, v->v));
	else
		check_ref(spec, diags, NC_KIND_IMAGE, v);
}

static void walk_refs(struct nc_spec *spec, struct nc_diags *diags,
		      const struct nc_schema *s, const void *base)
{
	size_t i, j;

	for (i = 0; i < s->nfields; i++) {
		const struct nc_field *f = &s->fields[i];
		const char *p = (const char *)base + f->off;

		if (f->type == NC_F_STRUCT) {
			walk_refs(spec, diags, f->sub, p);
		} else if (f->type == NC_F_LIST) {
			const struct nc_list *l = (const struct nc_list *)p;

			for (j = 0; j < l->n; j++)
				walk_refs(spec, diags, f->sub, (const char *)l->v + j * f->sub->size);
		} else if (f->check == NC_CHK_IMAGE && f->type == NC_F_STR) {
			check_image_ref(spec, diags, (const struct nc_str *)p);
		} else if (f->ref && f->type == NC_F_STR) {
			check_ref(spec, diags, (enum nc_kind)(f->ref - 1), (const struct nc_str *)p);
		} else if (f->ref && f->type == NC_F_STRLIST) {
			const struct nc_strlist *l = (const struct nc_strlist *)p;

			for (j = 0; j < l->n; j++)
				check_ref(spec, diags, (enum nc_kind)(f->ref - 1), &l->v[j]);
		}
	}
}

/* ---- rules ---- */

static void check_selector(struct nc_diags *diags, const struct nc_selector *sel)
{
	size_t i;

	for (i = 0; i < sel->match_expressions.n; i++) {
		const struct nc_sel_expr *e = (const struct nc_sel_expr *)sel->match_expressions.v + i;
		bool want = e->op.v == NC_SEL_IN || e->op.v == NC_SEL_NOT_IN;

		if (!NC_IS_SET(e->op))
			continue;
		if (want && e->values.n == 0)
			nc_diag_error(diags, NC_IS_SET(e->values) ? e->values.pos : e->op.pos,
				      "operator '%s' needs at least one value",
				      e->op.v == NC_SEL_IN ? "In" : "NotIn");
		else if (!want && NC_IS_SET(e->values))
			nc_diag_error(diags, e->values.pos, "operator '%s' takes no values",
				      e->op.v == NC_SEL_EXISTS ? "Exists" : "DoesNotExist");
	}
}

static void walk_selectors(struct nc_diags *diags, const struct nc_schema *s, const void *base)
{
	size_t i, j;

	if (s == &nc_schema_selector) {
		check_selector(diags, base);
		return;
	}
	for (i = 0; i < s->nfields; i++) {
		const struct nc_field *f = &s->fields[i];
		const char *p = (const char *)base + f->off;

		if (f->type == NC_F_STRUCT) {
			walk_selectors(diags, f->sub, p);
		} else if (f->type == NC_F_LIST) {
			const struct nc_list *l = (const struct nc_list *)p;

			for (j = 0; j < l->n; j++)
				walk_selectors(diags, f->sub, (const char *)l->v + j * f->sub->size);
		}
	}
}

/* A field set where its sibling `type` makes no sense. */
static void not_for(struct nc_diags *diags, const struct nc_pos *p, const char *key,
		    const char *what)
{
	if (p->line)
		nc_diag_error(diags, *p, "'%s' does not apply to %s", key, what);
}

static void need(struct nc_diags *diags, const struct nc_pos *p, struct nc_pos at,
		 const char *key, const char *what)
{
	if (!p->line)
		nc_diag_error(diags, at, "missing required key '%s' for %s", key, what);
}

static int uri_cmp(const void *pa, const void *pb)
{
	const struct nc_host *a = *(const struct nc_host *const *)pa;
	const struct nc_host *b = *(const struct nc_host *const *)pb;
	int c = strcmp(a->spec.uri.v, b->spec.uri.v);

	return c ? c : strcmp(a->obj.meta.name.v, b->obj.meta.name.v);
}

static void check_hosts(struct nc_spec *spec, struct nc_diags *diags)
{
	struct nc_host **all = (struct nc_host **)spec->objs[NC_KIND_HOST];
	struct nc_host **v = nc_xcalloc(spec->nobjs[NC_KIND_HOST] + 1, sizeof(*v));
	size_t n = 0, i;

	/* two Hosts with one URI would be one libvirt host counted twice */
	for (i = 0; i < spec->nobjs[NC_KIND_HOST]; i++)
		if (all[i]->spec.uri.v)
			v[n++] = all[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), uri_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i]->spec.uri.v, v[i - 1]->spec.uri.v) == 0)
			nc_diag_error(diags, v[i]->spec.uri.pos, "Host '%s' has the same uri as Host '%s'",
				      v[i]->obj.meta.name.v, v[i - 1]->obj.meta.name.v);
	free(v);
	for (i = 0; i < spec->nobjs[NC_KIND_HOST]; i++) {
		const struct nc_strlist *f = &all[i]->spec.fence;
		size_t j, k;

		if (f->n > NC_HOST_MAX_FENCE)
			nc_diag_error(diags, f->v[NC_HOST_MAX_FENCE].pos,
				      "Host '%s' names %zu fence devices; at most %d", all[i]->obj.meta.name.v,
				      f->n, NC_HOST_MAX_FENCE);
		for (j = 1; j < f->n && j <= NC_HOST_MAX_FENCE; j++)
			for (k = 0; k < j; k++)
				if (f->v[j].v && f->v[k].v && strcmp(f->v[j].v, f->v[k].v) == 0) {
					nc_diag_error(diags, f->v[j].pos, "fence device '%s' is listed twice in 'fence'",
						      f->v[j].v);
					break;
				}
	}
}

static void check_image(struct nc_diags *diags, const struct nc_image *im)
{
	const struct nc_image_source *src = &im->spec.source;

	if (!NC_IS_SET(*src))
		return;
	if (NC_IS_SET(src->url) && NC_IS_SET(src->file))
		nc_diag_error(diags, src->file.pos, "Image '%s' has both source.url and source.file; "
			      "give exactly one", im->obj.meta.name.v);
	else if (!NC_IS_SET(src->url) && !NC_IS_SET(src->file))
		nc_diag_error(diags, src->pos, "Image '%s' needs source.url or source.file",
			      im->obj.meta.name.v);
	if (NC_IS_SET(src->url)) {
		/* the authority: after "://", up to the first '/', '?' or '#' */
		const char *a = strstr(src->url.v, "://");
		size_t n = a ? strcspn(a + 3, "/?#") : 0;

		if (a && memchr(a + 3, '@', n))
			nc_diag_error(diags, src->url.pos, "Image '%s': source.url carries a user or password; "
				      "credentials never go in the spec (fetch from a server that needs none)",
				      im->obj.meta.name.v);
	}
}

static void check_pool(struct nc_diags *diags, const struct nc_pool *p)
{
	const struct nc_pool_spec *s = &p->spec;

	if (!NC_IS_SET(s->type))
		return;
	if (s->type.v == NC_POOL_NETFS) {
		nc_netfs_check_pool(diags, p);   /* netfs.c */
	} else if (s->type.v == NC_POOL_DIR) {
		need(diags, &s->path.pos, s->pos, "path", "a dir pool");
		not_for(diags, &s->rbd.pos, "rbd", "a dir pool");
		not_for(diags, &s->netfs.pos, "netfs", "a dir pool");
	} else {
		need(diags, &s->rbd.pos, s->pos, "rbd", "an rbd pool");
		not_for(diags, &s->path.pos, "path", "an rbd pool");
		not_for(diags, &s->netfs.pos, "netfs", "an rbd pool");
	}
}

/* an address of the subnet a host or a lease may not take: the range's own, its broadcast, the host's */
static const char *reserved_why(const struct nc_cidr *c, const struct nc_ip *ip)
{
	struct nc_ip x;

	if (nc_ip_cmp(ip, &c->ip) == 0)
		return "is the subnet's own address";
	nc_cidr_last(c, &x);
	if (nc_ip_cmp(ip, &x) == 0)
		return "is the subnet's broadcast address";
	nc_cidr_nth(c, 1, &x);
	if (nc_ip_cmp(ip, &x) == 0)
		return "is the host's address on the network (the subnet's first address)";
	return NULL;
}

/* a subnet field's range, when it parses and is of the family the field takes */
static bool subnet_of(const struct nc_str *v, int family, struct nc_cidr *out)
{
	const char *why;

	return NC_IS_SET(*v) && nc_cidr_parse(out, v->v, &why) == 0 && out->ip.family == family;
}

/*
 * Ranges a host must never route to a bridge: this host ("this network",
 * loopback), link-local, multicast and reserved/broadcast.  A nat Network
 * on 0.0.0.0/1 would take half of the host's default route (libvirt only
 * refuses a route that exists with the same prefix), one on 127.0.0.0/8
 * or fe80::/10 would shadow the host's own.  NULL: the range is usable.
 */
static const char *special_range(const struct nc_cidr *c)
{
	static const struct {
		int family;
		const char *cidr, *what;
	} bad[] = {
		{ 4, "0.0.0.0/8", "'this network' 0.0.0.0/8" },
		{ 4, "127.0.0.0/8", "loopback 127.0.0.0/8" },
		{ 4, "169.254.0.0/16", "link-local 169.254.0.0/16" },
		{ 4, "224.0.0.0/4", "multicast 224.0.0.0/4" },
		{ 4, "240.0.0.0/4", "reserved 240.0.0.0/4 (and the broadcast address)" },
		{ 6, "::/8", "the unspecified, loopback and IPv4-mapped range ::/8" },
		{ 6, "fe80::/10", "link-local fe80::/10" },
		{ 6, "ff00::/8", "multicast ff00::/8" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nc_cidr r;
		const char *why;

		if (bad[i].family == c->ip.family && nc_cidr_parse(&r, bad[i].cidr, &why) == 0 &&
		    nc_cidr_overlap(&r, c))
			return bad[i].what;
	}
	return NULL;
}

static void check_network(struct nc_diags *diags, const struct nc_network *n)
{
	const struct nc_net_spec *s = &n->spec;
	const char *name = n->obj.meta.name.v;
	struct nc_cidr c4;
	bool have4;

	if (!NC_IS_SET(s->type))
		return;
	if (s->type.v == NC_NET_BRIDGE) {
		need(diags, &s->bridge.pos, s->pos, "bridge", "a bridge network");
		not_for(diags, &s->subnet.pos, "subnet", "a bridge network (the host's bridge is not managed)");
		not_for(diags, &s->subnet6.pos, "subnet6", "a bridge network (the host's bridge is not managed)");
		not_for(diags, &s->dhcp.pos, "dhcp", "a bridge network (the host's bridge is not managed)");
		not_for(diags, &s->dhcp_range.pos, "dhcpRange", "a bridge network (the host's bridge is not managed)");
		not_for(diags, &s->autostart.pos, "autostart", "a bridge network (the host's bridge is not managed)");
		return;
	}
	if (s->type.v == NC_NET_NAT)
		need(diags, &s->subnet.pos, s->pos, "subnet", "a nat network");
	have4 = subnet_of(&s->subnet, 4, &c4);
	if (have4 && special_range(&c4)) {
		nc_diag_error(diags, s->subnet.pos,
			      "subnet %s of Network '%s' overlaps %s: a host would route its own traffic there; "
			      "use a private range such as 192.168.150.0/24", s->subnet.v, name, special_range(&c4));
		have4 = false;
	} else if (have4 && c4.prefix > 30)
		nc_diag_error(diags, s->subnet.pos,
			      "subnet %s of Network '%s' is too small: a /30 or larger range holds the host and a guest",
			      s->subnet.v, name);
	if (NC_IS_SET(s->subnet6)) {
		struct nc_cidr c6;

		if (subnet_of(&s->subnet6, 6, &c6) && special_range(&c6))
			nc_diag_error(diags, s->subnet6.pos,
				      "subnet6 %s of Network '%s' overlaps %s: a host would route its own traffic there; "
				      "use a unique local range such as fd00:150::/64", s->subnet6.v, name,
				      special_range(&c6));
		else if (subnet_of(&s->subnet6, 6, &c6) && c6.prefix > 126)
			nc_diag_error(diags, s->subnet6.pos,
				      "subnet6 %s of Network '%s' is too small: a /126 or larger range holds the host and a guest",
				      s->subnet6.v, name);
	}
	if (s->dhcp.v && !NC_IS_SET(s->subnet))
		nc_diag_error(diags, s->dhcp.pos, "'dhcp' needs a 'subnet'");
	if (NC_IS_SET(s->dhcp_range) && !s->dhcp.v)
		nc_diag_error(diags, s->dhcp_range.pos, "'dhcpRange' needs 'dhcp: true'");
	if (NC_IS_SET(s->dhcp_range) && have4 && c4.prefix <= 30) {
		const struct nc_str *ends[2] = { &s->dhcp_range.start, &s->dhcp_range.end };
		struct nc_ip ip[2];
		int ok = 0, k;

		for (k = 0; k < 2; k++) {
			const char *r;

			if (!NC_IS_SET(*ends[k]) || nc_ip_parse(&ip[k], ends[k]->v) < 0 || ip[k].family != 4)
				continue;
			if (!nc_cidr_contains(&c4, &ip[k]))
				nc_diag_error(diags, ends[k]->pos, "DHCP range %s %s is outside subnet %s of Network '%s'",
					      k ? "end" : "start", ends[k]->v, s->subnet.v, name);
			else if ((r = reserved_why(&c4, &ip[k])))
				nc_diag_error(diags, ends[k]->pos, "DHCP range %s %s %s of Network '%s'",
					      k ? "end" : "start", ends[k]->v, r, name);
			else
				ok++;
		}
		if (ok == 2 && nc_ip_cmp(&ip[0], &ip[1]) > 0)
			nc_diag_error(diags, s->dhcp_range.end.pos, "DHCP range of Network '%s' ends (%s) before it starts (%s)",
				      name, s->dhcp_range.end.v, s->dhcp_range.start.v);
	}
}

struct subnet_use {
	const struct nc_network *net;
	const struct nc_str *text;
	struct nc_cidr c;
};

static int subnet_use_cmp(const void *pa, const void *pb)
{
	const struct subnet_use *a = pa, *b = pb;
	int c = nc_ip_cmp(&a->c.ip, &b->c.ip);

	if (c)
		return c;
	if (a->c.prefix != b->c.prefix)
		return a->c.prefix < b->c.prefix ? -1 : 1;
	return strcmp(a->net->obj.meta.name.v, b->net->obj.meta.name.v);
}

/*
 * Subnets of two Networks may not overlap: a host that needs both would
 * route one range to two bridges.  Sorted by address, an overlap shows
 * between a range and one of those before it that reaches this far.
 */
static void check_subnet_overlaps(struct nc_spec *spec, struct nc_diags *diags)
{
	struct subnet_use *v = nc_xcalloc(2 * spec->nobjs[NC_KIND_NETWORK] + 1, sizeof(*v));
	const struct nc_network *n;
	size_t nv = 0, i, j;

	NC_SPEC_EACH(spec, NC_KIND_NETWORK, const struct nc_network, n, i) {
		if (NC_IS_SET(n->spec.type) && n->spec.type.v == NC_NET_BRIDGE)
			continue;
		if (subnet_of(&n->spec.subnet, 4, &v[nv].c)) {
			v[nv].net = n;
			v[nv++].text = &n->spec.subnet;
		}
		if (subnet_of(&n->spec.subnet6, 6, &v[nv].c)) {
			v[nv].net = n;
			v[nv++].text = &n->spec.subnet6;
		}
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), subnet_use_cmp);
	for (i = 1; i < nv; i++) {
		for (j = i; j-- > 0;) {
			if (!nc_cidr_overlap(&v[j].c, &v[i].c))
				continue;
			nc_diag_error(diags, v[i].text->pos, "%s %s of Network '%s' overlaps %s %s of Network '%s'",
				      v[i].c.ip.family == 6 ? "subnet6" : "subnet", v[i].text->v, v[i].net->obj.meta.name.v,
				      v[j].c.ip.family == 6 ? "subnet6" : "subnet", v[j].text->v, v[j].net->obj.meta.name.v);
			break;
		}
	}
	free(v);
}

static int net_bridge_cmp(const void *pa, const void *pb)
{
	const struct nc_network *a = *(const struct nc_network *const *)pa;
	const struct nc_network *b = *(const struct nc_network *const *)pb;
	int c = strcmp(a->spec.bridge.v, b->spec.bridge.v);

	return c ? c : strcmp(a->obj.meta.name.v, b->obj.meta.name.v);
}

/*
 * The bridge a nat or isolated network makes is its own: libvirt cannot
 * create a bridge that another Network creates or that is a host bridge.
 */
static void check_bridge_names(struct nc_spec *spec, struct nc_diags *diags)
{
	const struct nc_network **v = nc_xcalloc(spec->nobjs[NC_KIND_NETWORK] + 1, sizeof(*v));
	const struct nc_network *n;
	size_t nv = 0, i, j;

	NC_SPEC_EACH(spec, NC_KIND_NETWORK, const struct nc_network, n, i)
		if (NC_IS_SET(n->spec.bridge) && NC_IS_SET(n->spec.type))
			v[nv++] = n;
	if (nv > 1)
		qsort(v, nv, sizeof(*v), net_bridge_cmp);
	for (i = 1; i < nv; i++) {
		for (j = i; j-- > 0 && strcmp(v[j]->spec.bridge.v, v[i]->spec.bridge.v) == 0;) {
			if (v[i]->spec.type.v == NC_NET_BRIDGE && v[j]->spec.type.v == NC_NET_BRIDGE)
				continue;   /* two names for one host bridge */
			nc_diag_error(diags, v[i]->spec.bridge.pos,
				      "bridge %s of Network '%s' is also the bridge of Network '%s': a nat or "
				      "isolated network's bridge is created by libvirt and cannot be shared",
				      v[i]->spec.bridge.v, v[i]->obj.meta.name.v, v[j]->obj.meta.name.v);
			break;
		}
	}
	free(v);
}

struct ip_use {
	const char *net;
	struct nc_ip ip;
	const struct nc_str *text;
	const char *vm, *nic;
};

static int ip_use_cmp(const void *pa, const void *pb)
{
	const struct ip_use *a = pa, *b = pb;
	int c = strcmp(a->net, b->net);

	if (c)
		return c;
	c = nc_ip_cmp(&a->ip, &b->ip);
	if (c)
		return c;
	c = strcmp(a->vm, b->vm);
	return c ? c : strcmp(a->nic, b->nic);
}

/* A NIC's fixed address: in its network's subnet, free, and used once per network. */
static void check_nic_ips(struct nc_spec *spec, struct nc_diags *diags)
{
	struct ip_use *v = NULL;
	size_t n = 0, alloc = 0, i, j;
	const struct nc_vm *vm;

	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		if (NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT)
			continue;
		for (j = 0; j < vm->eff.nics.n; j++) {
			const struct nc_nic *nic = (const struct nc_nic *)vm->eff.nics.v + j;
			const struct nc_network *net;
			struct nc_cidr c;
			struct nc_ip ip;
			const char *why;

			if (!NC_IS_SET(nic->ip) || nc_ip_parse(&ip, nic->ip.v) < 0 || ip.family != 4 ||
			    !NC_IS_SET(nic->network))
				continue;
			net = (const struct nc_network *)nc_spec_find(spec, NC_KIND_NETWORK, nic->network.v);
			if (!net || !NC_IS_SET(net->spec.type))
				continue;
			if (net->spec.type.v == NC_NET_BRIDGE || !NC_IS_SET(net->spec.subnet)) {
				nc_diag_error(diags, nic->ip.pos,
					      "nic '%s' of VM '%s' has ip %s, but Network '%s' has no subnet NovaCron manages "
					      "(ip needs a nat or isolated network with a subnet)",
					      nic->name.v, vm->obj.meta.name.v, nic->ip.v, net->obj.meta.name.v);
				continue;
			}
			if (!subnet_of(&net->spec.subnet, 4, &c))
				continue;
			if (!nc_cidr_contains(&c, &ip)) {
				nc_diag_error(diags, nic->ip.pos, "ip %s of nic '%s' of VM '%s' is outside subnet %s of Network '%s'",
					      nic->ip.v, nic->name.v, vm->obj.meta.name.v, net->spec.subnet.v,
					      net->obj.meta.name.v);
				continue;
			}
			if ((why = reserved_why(&c, &ip))) {
				nc_diag_error(diags, nic->ip.pos, "ip %s of nic '%s' of VM '%s' %s of Network '%s'",
					      nic->ip.v, nic->name.v, vm->obj.meta.name.v, why, net->obj.meta.name.v);
				continue;
			}
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				v = nc_xreallocarray(v, alloc, sizeof(*v));
			}
			v[n].net = net->obj.meta.name.v;
			v[n].ip = ip;
			v[n].text = &nic->ip;
			v[n].vm = vm->obj.meta.name.v;
			v[n].nic = nic->name.v;
			n++;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), ip_use_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i].net, v[i - 1].net) == 0 && nc_ip_cmp(&v[i].ip, &v[i - 1].ip) == 0)
			nc_diag_error(diags, v[i].text->pos,
				      "ip %s of nic '%s' of VM '%s' is already taken on Network '%s' by nic '%s' of VM '%s'",
				      v[i].text->v, v[i].nic, v[i].vm, v[i].net, v[i - 1].nic, v[i - 1].vm);
	free(v);
}

/* Vixie cron: with day-of-week unrestricted, day-of-month must exist in a month. */
static bool cron_can_fire(const struct nc_cron *c)
{
	static const int days[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int m, d;

	if (c->dom_star || !c->dow_star)
		return true;
	for (m = 1; m <= 12; m++)
		for (d = 1; d <= days[m]; d++)
			if ((c->month & (1u << m)) && (c->dom & (1u << d)))
				return true;
	return false;
}

/* By value, then by position: the first occurrence of a name sorts first. */
static int str_pos_cmp(const void *pa, const void *pb)
{
	const struct nc_str *a = *(const struct nc_str *const *)pa;
	const struct nc_str *b = *(const struct nc_str *const *)pb;
	int c = strcmp(a->v, b->v);

	if (c)
		return c;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	return a->pos.col < b->pos.col ? -1 : a->pos.col > b->pos.col;
}

static void check_backup(struct nc_diags *diags, const struct nc_backup *b)
{
	const struct nc_backup_spec *s = &b->spec;
	const struct nc_target *t = &s->target;
	const struct nc_retention *r = &s->retention;
	static const char *const what[] = { "a dir target", "a rados target", "an s3 target",
					    "a swift target" };

	size_t i;

	if (!NC_IS_SET(s->vm_selector) && !NC_IS_SET(s->vms) && s->pos.line)
		nc_diag_error(diags, s->pos, "BackupSchedule needs 'vmSelector' or 'vms'");
	else if (!NC_IS_SET(s->vm_selector) && NC_IS_SET(s->vms) && s->vms.n == 0)
		nc_diag_error(diags, s->vms.pos, "BackupSchedule selects no VM: 'vms' is empty and there is no 'vmSelector'");
	if (s->vms.n > 1) {
		/* sorted, not pairwise: 'vms' may list many thousands of names */
		const struct nc_str **v = nc_xcalloc(s->vms.n, sizeof(*v));

		for (i = 0; i < s->vms.n; i++)
			v[i] = &s->vms.v[i];
		qsort(v, s->vms.n, sizeof(*v), str_pos_cmp);
		for (i = 1; i < s->vms.n; i++)
			if (strcmp(v[i]->v, v[i - 1]->v) == 0)
				nc_diag_error(diags, v[i]->pos, "VM '%s' is listed twice in 'vms'",
					      v[i]->v);
		free(v);
	}
	if (NC_IS_SET(s->schedule) && !cron_can_fire(&s->schedule.cron))
		nc_diag_error(diags, s->schedule.pos, "schedule '%s' never fires: no month it names has the days it names",
			      s->schedule.v);
	if (NC_IS_SET(t->type)) {
		const char *w = what[t->type.v];
		bool obj = t->type.v == NC_TARGET_S3 || t->type.v == NC_TARGET_SWIFT;

		if (t->type.v == NC_TARGET_DIR)
			need(diags, &t->path.pos, t->pos, "path", w);
		else
			not_for(diags, &t->path.pos, "path", w);
		if (t->type.v == NC_TARGET_RADOS) {
			need(diags, &t->pool.pos, t->pos, "pool", w);
		} else {
			not_for(diags, &t->pool.pos, "pool", w);
			not_for(diags, &t->ceph_conf.pos, "cephConf", w);
		}
		if (obj) {
			need(diags, &t->endpoint.pos, t->pos, "endpoint", w);
			need(diags, &t->bucket.pos, t->pos, "bucket", w);
			need(diags, &t->credentials_file.pos, t->pos, "credentialsFile", w);
		} else {
			not_for(diags, &t->endpoint.pos, "endpoint", w);
			not_for(diags, &t->bucket.pos, "bucket", w);
			not_for(diags, &t->credentials_file.pos, "credentialsFile", w);
		}
		if (t->type.v != NC_TARGET_S3)
			not_for(diags, &t->region.pos, "region", w);
		if (t->type.v != NC_TARGET_RADOS)
			not_for(diags, &t->ceph_user.pos, "cephUser", w);
		if (t->type.v == NC_TARGET_DIR)
			not_for(diags, &t->prefix.pos, "prefix", w);
	}
	if ((NC_IS_SET(r->keep_last) || NC_IS_SET(r->keep_daily) || NC_IS_SET(r->keep_weekly) ||
	     NC_IS_SET(r->keep_monthly)) &&
	    r->keep_last.v + r->keep_daily.v + r->keep_weekly.v + r->keep_monthly.v == 0)
		nc_diag_error(diags, r->pos, "retention keeps no backup: set keepLast, keepDaily, keepWeekly or keepMonthly above 0");
	if (NC_IS_SET(s->compression_level) && NC_IS_SET(s->compression) &&
	    s->compression.v == NC_COMPRESS_NONE)
		nc_diag_error(diags, s->compression_level.pos,
			      "'compressionLevel' does not apply when compression is none");
}

static void check_policy(struct nc_diags *diags, const struct nc_policy *p)
{
	size_t i;
	const char *why;

	for (i = 0; i < p->spec.affinity.n; i++) {
		const struct nc_affinity *a = (const struct nc_affinity *)p->spec.affinity.v + i;

		if (NC_IS_SET(a->weight) && a->mode.v != NC_PREFERRED)
			nc_diag_error(diags, a->weight.pos,
				      "'weight' applies only to preferred rules (set mode: preferred)");
		if (NC_IS_SET(a->topology_key) && nc_check_label_key(a->topology_key.v, &why) < 0)
			nc_diag_error(diags, a->topology_key.pos, "invalid topologyKey '%s': %s",
				      a->topology_key.v, why);
	}
	/* load: window and headroom act only with observed figures */
	if (!NC_IS_SET(p->spec.load.mode) || p->spec.load.mode.v == NC_LOAD_STATIC) {
		if (NC_IS_SET(p->spec.load.window))
			nc_diag_warning(diags, p->spec.load.window.pos,
					"'window' is not acted on with load mode static (set mode: observed or both)");
		if (NC_IS_SET(p->spec.load.headroom))
			nc_diag_warning(diags, p->spec.load.headroom.pos,
					"'headroom' is not acted on with load mode static (set mode: observed or both)");
	}
}

/* An AlertRule: its metric, one condition, the anomaly's limits, a selector that selects. */
static void check_alert_rule(struct nc_spec *spec, struct nc_diags *diags, const struct nc_alert_rule *ar)
{
	const struct nc_alert_rule_spec *s = &ar->spec;
	const char *name = ar->obj.meta.name.v;
	const struct nc_metric_info *mi = NULL;

	if (!s->pos.line)
		return;
	if (NC_IS_SET(s->threshold) && NC_IS_SET(s->anomaly))
		nc_diag_error(diags, s->anomaly.pos, "AlertRule '%s' has both threshold and anomaly; give exactly one",
			      name);
	else if (!NC_IS_SET(s->threshold) && !NC_IS_SET(s->anomaly) && !ar->obj.invalid)
		nc_diag_error(diags, s->pos, "AlertRule '%s' needs a condition: threshold or anomaly", name);
	if (NC_IS_SET(s->target) && NC_IS_SET(s->metric)) {
		enum nc_metric_target t = (enum nc_metric_target)s->target.v;

		mi = nc_metric_find(t, s->metric.v);
		if (!mi) {
			const char *names[NC_METRICS_MAX];
			size_t n = nc_metric_count(t), i, k;
			const char *sugg, *other = NULL;
			struct nc_buf list = NC_BUF_INIT;

			for (i = 0; i < n && i < NC_METRICS_MAX; i++)
				names[i] = nc_metric_at(t, (unsigned)i)->name;
			for (k = 0; k < NC_MT__COUNT && !other; k++)
				if (k != (size_t)t && nc_metric_find((enum nc_metric_target)k, s->metric.v))
					other = nc_metric_target_name((enum nc_metric_target)k);
			sugg = nc_spec_suggest(spec, s->metric.v, names, i);
			if (*sugg) {
				nc_diag_error(diags, s->metric.pos, "unknown %s metric '%s'%s", nc_metric_target_name(t),
					      nc_spec_quote(spec, s->metric.v), sugg);
			} else {
				for (k = 0; k < i; k++)
					nc_buf_addf(&list, "%s%s", k ? ", " : "", names[k]);
				nc_diag_error(diags, s->metric.pos, "unknown %s metric '%s'%s%s%s (%s metrics: %s)",
					      nc_metric_target_name(t), nc_spec_quote(spec, s->metric.v),
					      other ? ": it is a " : "", other ? other : "", other ? " metric" : "",
					      nc_metric_target_name(t), list.buf);
				nc_buf_release(&list);
			}
		}
	}
	if (mi && mi->unit == NC_MU_RATIO && NC_IS_SET(s->threshold.value) &&
	    (s->threshold.value.v > 1 || s->threshold.value.v < 0))
		nc_diag_warning(diags, s->threshold.value.pos,
				"AlertRule '%s': %s is a ratio (0 to 1) and %g is outside it: for %g %% write %g",
				name, mi->name, s->threshold.value.v, s->threshold.value.v, s->threshold.value.v / 100);
	if (NC_IS_SET(s->anomaly)) {
		const struct nc_alert_anomaly *a = &s->anomaly;
		int64_t window = NC_IS_SET(a->window) ? a->window.v : 9;

		if (NC_IS_SET(a->season) && a->season.ms < 60000)
			nc_diag_error(diags, a->season.pos, "AlertRule '%s': season must be at least 1m", name);
		else if (NC_IS_SET(a->season) && a->season.ms > 7ull * 86400000)
			nc_diag_error(diags, a->season.pos, "AlertRule '%s': season longer than the kept history (7d)",
				      name);
		else if (NC_IS_SET(a->season) && a->season.ms % 1000)
			nc_diag_error(diags, a->season.pos, "AlertRule '%s': season must be whole seconds", name);
		if (NC_IS_SET(a->failures) && a->failures.v > window)
			nc_diag_error(diags, a->failures.pos,
				      "AlertRule '%s': failures (%lld) must be at most window (%lld)", name,
				      (long long)a->failures.v, (long long)window);
	}
	if (NC_IS_SET(s->selector) && NC_IS_SET(s->target)) {
		enum nc_kind k = s->target.v == NC_MT_HOST ? NC_KIND_HOST
			       : s->target.v == NC_MT_VM ? NC_KIND_VM : NC_KIND_STORAGE_POOL;
		size_t i, n = spec->nobjs[k];

		for (i = 0; i < n; i++) {
			const struct nc_object *o = spec->objs[k][i];
			const struct nc_map *labels = k == NC_KIND_VM ? &((const struct nc_vm *)o)->labels : &o->meta.labels;

			if (nc_selector_matches(&s->selector, labels))
				break;
		}
		if (i == n)
			nc_diag_warning(diags, s->selector.pos,
					"AlertRule '%s': the selector matches none of the %zu %s of the spec",
					name, n, n == 1 ? nc_kind_singular(k) : nc_kind_plural(k));
	}
}

/*
 * A cloud-init document that must be YAML (networkConfig, and userData
 * starting with #cloud-config): 0, or -1 with *line (1-based, in the
 * document) and *problem set.  One document, nested at most 64 levels (a
 * deeper one is refused before libyaml spends quadratic time on it); for
 * networkConfig (need_version) a mapping at the top with version 1 or 2.
 * Read as events: nothing is built, aliases are not expanded.
 */
static int yaml_doc_check(const char *text, bool need_version, size_t *line, const char **problem)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, ret = 0, docs = 0, root = -1;   /* root: the top node's event type */
	size_t top = 0;                                /* nodes seen in the top mapping */
	bool is_version_key = false, have_version = false, done = false;

	*line = 0;
	if (!yaml_parser_initialize(&parser))
		return 0;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			*line = parser.problem_mark.line + 1;
			*problem = parser.problem ? parser.problem : "not valid YAML";
			ret = -1;
			break;
		}
		if (root < 0 && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
				 ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT))
			root = (int)ev.type;
		if (depth == 1 && root == YAML_MAPPING_START_EVENT &&
		    (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
		     ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)) {
			const char *v = ev.type == YAML_SCALAR_EVENT ? (const char *)ev.data.scalar.value : NULL;

			if (top % 2 == 0)
				is_version_key = v && strcmp(v, "version") == 0;
			else if (is_version_key)
				have_version = v && (strcmp(v, "1") == 0 || strcmp(v, "2") == 0);
			top++;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > 64) {
				*line = ev.start_mark.line + 1;
				*problem = "nested deeper than 64 levels";
				ret = -1;
				done = true;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				*line = ev.start_mark.line + 1;
				*problem = "a second YAML document: cloud-init reads exactly one";
				ret = -1;
				done = true;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (!ret && need_version && (root != YAML_MAPPING_START_EVENT || !have_version)) {
		*line = 1;
		*problem = root != YAML_MAPPING_START_EVENT ? "expected a mapping with 'version: 2' (or 1) at the top"
							    : "expected 'version: 2' (or 1) at the top";
		ret = -1;
	}
	yaml_parser_delete(&parser);
	return ret;
}

/* A Template's or VM's own cloudInit documents (where they are written). */
static void check_cloud_init(struct nc_diags *diags, const struct nc_cloud_init *ci)
{
	const struct nc_str *docs[2] = { &ci->user_data, &ci->network_config };
	const char *names[2] = { "userData", "networkConfig" };
	const char *problem = NULL;
	size_t i, n, line;

	for (i = 0; i < 2; i++) {
		if (!NC_IS_SET(*docs[i]) || !docs[i]->v)
			continue;
		n = strlen(docs[i]->v);
		if (n > NC_CLOUD_INIT_MAX) {
			nc_diag_error(diags, docs[i]->pos,
				      "cloudInit.%s is %zu bytes; a cloud-init seed document may hold at most "
				      "%d bytes (1 MiB): put large files into the image, or let the guest fetch them",
				      names[i], n, NC_CLOUD_INIT_MAX);
			continue;
		}
		/* cloud-init would stop at boot on these; say so now */
		if (i == 0 && strncmp(docs[i]->v, "#cloud-config", 13) != 0)
			continue;   /* a script, a MIME archive, an #include: not YAML */
		if (yaml_doc_check(docs[i]->v, i == 1, &line, &problem) < 0)
			nc_diag_error(diags, docs[i]->pos, "cloudInit.%s, line %zu of the document: %s",
				      names[i], line, problem);
	}
}

/* The effective machine of a VM must be complete. */
/* ignoreDifferences names only fields the plan reports as drift */
static void check_ignore(struct nc_spec *spec, struct nc_diags *diags, const struct nc_strlist *l)
{
	size_t i, j, n = 0;

	while (nc_ignore_fields[n])
		n++;
	for (i = 0; i < l->n; i++) {
		for (j = 0; j < n && strcmp(l->v[i].v, nc_ignore_fields[j]) != 0; j++)
			;
		if (j == n)
			nc_diag_error(diags, l->v[i].pos, "ignoreDifferences: unknown field '%s'%s (one of vcpus, "
				      "memory, machine, disks, nics, cloudInit, state)", nc_spec_quote(spec, l->v[i].v),
				      nc_spec_suggest(spec, l->v[i].v, nc_ignore_fields, n));
	}
}

/* the annotation novacron.io/reconcile (docs/spec.md): enabled or disabled */
static void check_reconcile_annotation(struct nc_spec *spec, struct nc_diags *diags, const struct nc_object *o)
{
	const struct nc_map *m = &o->meta.annotations;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].key, "novacron.io/reconcile") == 0 && strcmp(m->v[i].value, "enabled") != 0 &&
		    strcmp(m->v[i].value, "disabled") != 0)
			nc_diag_error(diags, m->v[i].pos, "annotation novacron.io/reconcile: '%s' is not enabled or "
				      "disabled", nc_spec_quote(spec, m->v[i].value));
}

static void check_vm(struct nc_spec *spec, struct nc_diags *diags, const struct nc_vm *vm)
{
	const struct nc_machine *m = &vm->eff;
	struct nc_pos at = vm->obj.meta.name.pos;
	const char *name = vm->obj.meta.name.v;
	const char *via = NC_IS_SET(vm->spec.template_name) ? " or in its template" : "";
	size_t i, boot = 0;
	const struct nc_template *t = NULL;

	if (NC_IS_SET(vm->spec.template_name)) {
		t = (const struct nc_template *)nc_spec_find(spec, NC_KIND_TEMPLATE,
							     vm->spec.template_name.v);
		if (!t)
			return;   /* the missing template was reported; don't pile on */
	}
	/* a value that failed to convert was reported where it was written */
	if (vm->obj.invalid || (t && t->broken))
		return;
	if (!NC_IS_SET(m->vcpus))
		nc_diag_error(diags, at, "VM '%s' has no vcpus: set spec.vcpus%s", name, via);
	if (!NC_IS_SET(m->memory))
		nc_diag_error(diags, at, "VM '%s' has no memory: set spec.memory%s", name, via);
	for (i = 0; i < m->disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)m->disks.v + i;

		if (!NC_IS_SET(d->pool))
			nc_diag_error(diags, d->pos, "disk '%s' of VM '%s' has no pool", d->name.v, name);
		if (!NC_IS_SET(d->size) && !NC_IS_SET(d->image))
			nc_diag_error(diags, d->pos, "disk '%s' of VM '%s' needs a size or an image",
				      d->name.v, name);
		if (NC_IS_SET(d->image) && NC_IS_SET(d->pool)) {
			const struct nc_image *im = (const struct nc_image *)nc_spec_find(spec, NC_KIND_IMAGE, d->image.v);
			const struct nc_pool *pl = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v);

			if (im && pl && pl->spec.type.v == NC_POOL_RBD &&
			    (!NC_IS_SET(im->spec.format) || im->spec.format.v != NC_IMAGE_RAW))
				nc_diag_error(diags, d->image.pos, "disk '%s' of VM '%s' is in rbd pool '%s', which "
					      "holds raw images only, and Image '%s' is qcow2 (set its format: raw "
					      "and give a raw file)", d->name.v, name, pl->obj.meta.name.v, im->obj.meta.name.v);
		}
		if (d->boot.v && ++boot == 2)
			nc_diag_error(diags, d->boot.pos, "VM '%s' has more than one boot disk", name);
	}
	for (i = 0; i < m->nics.n; i++) {
		const struct nc_nic *n = (const struct nc_nic *)m->nics.v + i;

		if (!NC_IS_SET(n->network))
			nc_diag_error(diags, n->pos, "nic '%s' of VM '%s' has no network", n->name.v, name);
	}
	if ((NC_IS_SET(m->cloud_init.user_data) || NC_IS_SET(m->cloud_init.network_config)) && !m->disks.n)
		nc_diag_error(diags, m->cloud_init.pos,
			      "VM '%s' has cloudInit but no disk: its seed is a volume in the pool of the "
			      "VM's boot disk (or first disk); add a disk", name);
	if (NC_IS_SET(vm->spec.restore)) {
		const struct nc_restore *r = &vm->spec.restore;
		const char *id = r->backup.v;
		size_t n = id ? strlen(id) : 0, k;

		for (k = 0; k < n && ((id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'f')); k++)
			;
		if (id && (k != n || n < 8 || n > 64))
			nc_diag_error(diags, r->backup.pos,
				      "restore.backup '%s' is not a backup id: 8 to 64 lowercase hex digits (see `novacron backup list`)",
				      id);
		if (!NC_IS_SET(r->schedule) && !NC_IS_SET(vm->spec.backup_schedule))
			nc_diag_error(diags, r->pos,
				      "restore of VM '%s' names no repository: set restore.schedule or backupSchedule",
				      name);
	}
	if (vm->spec.deletion_protection.v && NC_IS_SET(vm->spec.state) &&
	    vm->spec.state.v == NC_STATE_ABSENT)
		nc_diag_error(diags, vm->spec.state.pos,
			      "VM '%s' has deletionProtection, so its state cannot be absent", name);
}

struct mac_use {
	const char *mac;
	const char *vm;
	struct nc_pos pos;
};

static int mac_cmp(const void *pa, const void *pb)
{
	const struct mac_use *a = pa, *b = pb;
	int c = strcasecmp(a->mac, b->mac);

	return c ? c : strcmp(a->vm, b->vm);
}

/* A fixed MAC address may belong to one NIC in the whole cluster. */
static void check_macs(struct nc_spec *spec, struct nc_diags *diags)
{
	struct mac_use *v = NULL;
	size_t n = 0, alloc = 0, i, j;
	const struct nc_vm *vm;

	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		for (j = 0; j < vm->eff.nics.n; j++) {
			const struct nc_nic *nic = (const struct nc_nic *)vm->eff.nics.v + j;

			if (!NC_IS_SET(nic->mac))
				continue;
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				v = nc_xreallocarray(v, alloc, sizeof(*v));
			}
			v[n].mac = nic->mac.v;
			v[n].vm = vm->obj.meta.name.v;
			v[n].pos = vm->obj.meta.name.pos;
			n++;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), mac_cmp);
	for (i = 1; i < n; i++)
		if (strcasecmp(v[i].mac, v[i - 1].mac) == 0)
			nc_diag_error(diags, v[i].pos, "VM '%s' uses MAC address %s, as VM '%s' does",
				      v[i].vm, v[i].mac, v[i - 1].vm);
	free(v);
}

struct vol_use {
	char *key;                   /* where the volume is, and its name */
	const char *vm, *disk, *pool, *vol;
	struct nc_pos pos;
};

static int vol_cmp(const void *pa, const void *pb)
{
	const struct vol_use *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	return c ? c : strcmp(a->vm, b->vm);
}

/*
 * A disk's volume is named VM-DISK in its pool (reconciler/desired.c), so VM
 * 'a' with disk 'b-root' and VM 'a-b' with disk 'root' are one volume,
 * a-b-root: two guests writing one disk destroy it, and a fence of one
 * (docs/ha.md: rbd, breaking its image's lock) cuts off the other.  Pools
 * are compared by where their volumes are (a dir pool's path, an rbd pool's
 * Ceph pool and configuration), not by name.
 */
static void check_volumes(struct nc_spec *spec, struct nc_diags *diags)
{
	struct vol_use *v = NULL;
	size_t n = 0, alloc = 0, i, j;
	const struct nc_vm *vm;

	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		for (j = 0; j < vm->eff.disks.n; j++) {
			const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + j;
			const struct nc_pool *pl = NC_IS_SET(d->pool) ? (const struct nc_pool *)
				nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v) : NULL;
			bool rbd;

			if (!pl || !d->name.v)
				continue;
			rbd = NC_IS_SET(pl->spec.type) && pl->spec.type.v == NC_POOL_RBD;
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				v = nc_xreallocarray(v, alloc, sizeof(*v));
			}
			v[n].key = rbd ? nc_xasprintf("rbd\n%s\n%s\n%s-%s", pl->spec.rbd.ceph_conf.v ? pl->spec.rbd.ceph_conf.v : "",
						      pl->spec.rbd.pool.v ? pl->spec.rbd.pool.v : "", vm->obj.meta.name.v, d->name.v)
				       : nc_xasprintf("dir\n%s\n%s-%s", pl->spec.path.v ? pl->spec.path.v : "/var/lib/novacron",
						      vm->obj.meta.name.v, d->name.v);
			v[n].vol = strrchr(v[n].key, '\n') + 1;
			v[n].vm = vm->obj.meta.name.v;
			v[n].disk = d->name.v;
			v[n].pool = pl->obj.meta.name.v;
			v[n].pos = d->name.pos.line ? d->name.pos : d->pos;
			n++;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), vol_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(v[i].key, v[i - 1].key) == 0 && strcmp(v[i].vm, v[i - 1].vm) != 0)
			nc_diag_error(diags, v[i].pos, "disk '%s' of VM '%s' is volume %s of StoragePool '%s', as disk "
				      "'%s' of VM '%s' is: two VMs would write one disk; rename a VM or a disk",
				      v[i].disk, v[i].vm, v[i].vol, v[i].pool, v[i - 1].disk, v[i - 1].vm);
	for (i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

/*
 * A pool exists only on the hosts its hostSelector matches: a VM whose disk
 * needs it must be able to run on one of them.  Checked against the hosts
 * the VM may run on as far as the spec alone says (its pin and its own
 * hostSelector); plan checks the rest (policies, capacity, reachability).
 */
static void check_pool_hosts(struct nc_spec *spec, struct nc_diags *diags)
{
	const struct nc_vm *vm;
	size_t i, j, h;

	if (!spec->nobjs[NC_KIND_HOST])
		return;
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		const struct nc_placement *pl = &vm->spec.placement;
		size_t may = 0;

		if (vm->obj.invalid || (NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT))
			continue;
		for (h = 0; h < spec->nobjs[NC_KIND_HOST]; h++) {
			const struct nc_host *host = (const struct nc_host *)spec->objs[NC_KIND_HOST][h];

			if ((!NC_IS_SET(pl->host) || strcmp(pl->host.v, host->obj.meta.name.v) == 0) &&
			    nc_selector_matches(&pl->host_selector, &host->obj.meta.labels))
				may++;
		}
		if (!may)
			continue;   /* no host at all: plan says why */
		for (j = 0; j < vm->eff.disks.n; j++) {
			const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + j;
			const struct nc_pool *pool = (const struct nc_pool *)
				nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v);
			size_t has = 0;

			if (!pool || !NC_IS_SET(pool->spec.host_selector))
				continue;
			for (h = 0; h < spec->nobjs[NC_KIND_HOST]; h++) {
				const struct nc_host *host = (const struct nc_host *)spec->objs[NC_KIND_HOST][h];

				if ((!NC_IS_SET(pl->host) || strcmp(pl->host.v, host->obj.meta.name.v) == 0) &&
				    nc_selector_matches(&pl->host_selector, &host->obj.meta.labels) &&
				    nc_selector_matches(&pool->spec.host_selector, &host->obj.meta.labels))
					has++;
			}
			if (has)
				continue;
			if (NC_IS_SET(pl->host))
				nc_diag_error(diags, d->pool.pos,
					      "disk '%s' of VM '%s' needs StoragePool '%s', which Host '%s' (the VM's pinned "
					      "host) does not have: the pool's hostSelector does not match it",
					      d->name.v, vm->obj.meta.name.v, pool->obj.meta.name.v, pl->host.v);
			else
				nc_diag_error(diags, d->pool.pos,
					      "disk '%s' of VM '%s' needs StoragePool '%s', which none of the %zu host%s "
					      "the VM may run on has: the pool's hostSelector matches none of them",
					      d->name.v, vm->obj.meta.name.v, pool->obj.meta.name.v, may,
					      may == 1 ? "" : "s");
		}
	}
}

/* ---- ordering: dependsOn cycles and waves (docs/plan.md) ---- */

/*
 * Depth-first search from each VM in name order (0 new, 1 on the stack, 2
 * done): an edge back onto the stack is a cycle, reported once at the
 * dependsOn entry that closes it, naming the VMs on it (at most
 * CYCLE_NAMES of them: a spec may chain thousands).  Iterative, with
 * next[] the dependsOn entry each VM on the stack looks at next: a long
 * chain must not overflow the C stack.
 */
#define CYCLE_NAMES 32

static void order_dfs(struct nc_spec *spec, struct nc_diags *diags, size_t root, int *color, size_t *stack,
		      size_t *next)
{
	size_t depth = 0, k;

	color[root] = 1;
	stack[0] = root;
	next[0] = 0;
	for (;;) {
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][stack[depth]];
		const struct nc_str *d;
		size_t w;

		if (next[depth] == vm->spec.depends_on.n) {
			color[stack[depth]] = 2;
			if (!depth)
				return;
			depth--;
			continue;
		}
		d = &vm->spec.depends_on.v[next[depth]++];
		w = nc_spec_pos(spec, NC_KIND_VM, d->v);
		if (w == (size_t)-1)
			continue;     /* reported by the reference check */
		if (color[w] == 1) {
			struct nc_buf b = NC_BUF_INIT;
			size_t first;

			for (k = 0; k <= depth && stack[k] != w; k++)
				;
			for (first = k; k <= depth; k++) {
				if (k - first == CYCLE_NAMES / 2 && depth + 1 - first > CYCLE_NAMES) {
					nc_buf_addf(&b, "... (%zu more) -> ", depth + 1 - first - CYCLE_NAMES);
					k = depth + 1 - CYCLE_NAMES / 2;
				}
				nc_buf_addf(&b, "%s -> ", spec->objs[NC_KIND_VM][stack[k]]->meta.name.v);
			}
			nc_buf_adds(&b, d->v);
			nc_diag_error(diags, d->pos, "dependsOn cycle: %s", b.buf);
			nc_buf_release(&b);
		} else if (color[w] == 0) {
			color[w] = 1;
			stack[++depth] = w;
			next[depth] = 0;
		}
	}
}

static void check_order(struct nc_spec *spec, struct nc_diags *diags)
{
	size_t n = spec->nobjs[NC_KIND_VM], i, j;
	int *color;
	size_t *stack, *next;

	for (i = 0; i < n; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][i];

		for (j = 0; j < vm->spec.depends_on.n; j++) {
			const struct nc_str *d = &vm->spec.depends_on.v[j];
			const struct nc_vm *dep = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, d->v);

			if (dep && dep->spec.wave.v > vm->spec.wave.v)
				nc_diag_error(diags, d->pos, "VM '%s' (wave %d) depends on '%s' of a later wave (%d): "
					      "waves go up, so it would wait for itself; raise its wave",
					      vm->obj.meta.name.v, (int)vm->spec.wave.v, dep->obj.meta.name.v,
					      (int)dep->spec.wave.v);
		}
	}
	color = nc_xcalloc(n + 1, sizeof(*color));
	stack = nc_xcalloc(n + 1, sizeof(*stack));
	next = nc_xcalloc(n + 1, sizeof(*next));
	for (i = 0; i < n; i++)
		if (!color[i])
			order_dfs(spec, diags, i, color, stack, next);
	free(color);
	free(stack);
	free(next);
}

void nc_spec_validate(struct nc_spec *spec, struct nc_diags *diags)
{
	size_t k, i;

	for (k = 0; k < NC_KIND__COUNT; k++) {
		for (i = 0; i < spec->nobjs[k]; i++) {
			struct nc_object *o = spec->objs[k][i];
			const void *sp = (const char *)o + nc_schema_field(nc_kinds[k].root, "spec")->off;

			walk_refs(spec, diags, nc_kinds[k].spec, sp);
			walk_selectors(diags, nc_kinds[k].spec, sp);
			switch (o->kind) {
			case NC_KIND_TEMPLATE:
				check_cloud_init(diags, &((const struct nc_template *)o)->spec.m.cloud_init);
				check_ignore(spec, diags, &((const struct nc_template *)o)->spec.m.ignore_differences);
				break;
			case NC_KIND_VM:
				check_cloud_init(diags, &((const struct nc_vm *)o)->spec.m.cloud_init);
				check_ignore(spec, diags, &((const struct nc_vm *)o)->spec.m.ignore_differences);
				check_reconcile_annotation(spec, diags, o);
				check_vm(spec, diags, (const struct nc_vm *)o);
				nc_validate_migration(diags, &((const struct nc_vm *)o)->spec.migration);
				break;
			case NC_KIND_STORAGE_POOL:
				check_pool(diags, (const struct nc_pool *)o);
				break;
			case NC_KIND_NETWORK:
				check_network(diags, (const struct nc_network *)o);
				break;
			case NC_KIND_BACKUP_SCHEDULE:
				check_backup(diags, (const struct nc_backup *)o);
				break;
			case NC_KIND_IMAGE:
				check_image(diags, (const struct nc_image *)o);
				break;
			case NC_KIND_PLACEMENT_POLICY:
				check_policy(diags, (const struct nc_policy *)o);
				nc_validate_migration(diags, &((const struct nc_policy *)o)->spec.migration);
				break;
			case NC_KIND_ALERT_RULE:
				check_alert_rule(spec, diags, (const struct nc_alert_rule *)o);
				break;
			default:
				break;
			}
		}
	}
	check_hosts(spec, diags);
	check_macs(spec, diags);
	check_volumes(spec, diags);
	check_pool_hosts(spec, diags);
	nc_netfs_check_all(spec, diags);
	nc_spec_warn_noops(spec, diags);
	check_subnet_overlaps(spec, diags);
	check_bridge_names(spec, diags);
	check_nic_ips(spec, diags);
	check_order(spec, diags);
	nc_snapshot_validate(spec, diags);
	nc_tenant_validate(spec, diags);
	nc_cluster_validate(spec, diags);
	nc_tier_validate(spec, diags);
}

/* ---- selectors at run time ---- */

static int kv_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct nc_kv *)elem)->key);
}

const char *nc_map_get(const struct nc_map *m, const char *key)
{
	const struct nc_kv *kv;

	if (!m->n)
		return NULL;
	kv = bsearch(key, m->v, m->n, sizeof(*m->v), kv_cmp);
	return kv ? kv->value : NULL;
}

bool nc_selector_matches(const struct nc_selector *sel, const struct nc_map *labels)
{
	size_t i, j;

	for (i = 0; i < sel->match_labels.n; i++) {
		const char *v = nc_map_get(labels, sel->match_labels.v[i].key);

		if (!v || strcmp(v, sel->match_labels.v[i].value) != 0)
			return false;
	}
	for (i = 0; i < sel->match_expressions.n; i++) {
		const struct nc_sel_expr *e = (const struct nc_sel_expr *)sel->match_expressions.v + i;
		const char *v = nc_map_get(labels, e->key.v);
		bool in = false;

		switch ((enum nc_sel_op)e->op.v) {
		case NC_SEL_EXISTS:
			if (!v)
				return false;
			break;
		case NC_SEL_DOES_NOT_EXIST:
			if (v)
				return false;
			break;
		case NC_SEL_IN:
		case NC_SEL_NOT_IN:
			for (j = 0; v && j < e->values.n; j++)
				if (strcmp(v, e->values.v[j].v) == 0)
					in = true;
			if (in != (e->op.v == NC_SEL_IN))
				return false;
			break;
		}
	}
	return true;
}
