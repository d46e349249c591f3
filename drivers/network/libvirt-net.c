/*
 * libvirt-net.c - libvirt virtual networks: XML through libxml2 and the
 * libvirt network API on a host's connection; see network.h.
 *
 * The test driver (sim:// and test:/// hosts) cannot return a running
 * network's persistent definition (no VIR_NETWORK_XML_INACTIVE) and keeps a
 * redefinition of a running network out of sight until it restarts: there,
 * a redefinition of a running network restarts it (nothing is attached to
 * a simulated bridge), and observation reads the one definition it has.
 */
#include "network.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../spec/util.h"
#include "../xml.h"

/* the host's libvirt connection (drivers/host/libvirt.c) */
struct _virConnect;
struct _virConnect *nc_libvirt_conn(struct nc_host_conn *host);

static int fail(struct nc_err *err, const char *what, const char *name)
{
	const char *m = virGetLastErrorMessage();
	size_t n;

	if (!m || !*m)
		m = "unknown libvirt error";
	n = strcspn(m, "\r\n");
	nc_err_set(err, "%s %s: %.*s", what, name, (int)(n > 300 ? 300 : n), m);
	return -1;
}

static virConnectPtr conn_of(struct nc_host_conn *host, struct nc_err *err)
{
	virConnectPtr c = nc_libvirt_conn(host);

	if (!c)
		nc_err_set(err, "host %s has no libvirt connection: networks need one", host ? host->uri : "?");
	return c;
}

static bool is_test_driver(virConnectPtr c)
{
	const char *t = virConnectGetType(c);

	return t && strcasecmp(t, "TEST") == 0;
}

/* ---- the definition ---- */

static void host_release(struct nc_net_host *h)
{
	free(h->mac);
	free(h->name);
	free(h->ip);
}

void nc_net_def_release(struct nc_net_def *d)
{
	size_t i;

	if (!d)
		return;
	free(d->name);
	free(d->uuid);
	free(d->forward);
	free(d->bridge);
	free(d->ip4);
	free(d->ip6);
	free(d->dhcp_start);
	free(d->dhcp_end);
	for (i = 0; i < d->nleases; i++)
		host_release(&d->leases[i]);
	free(d->leases);
	for (i = 0; i < d->ndns; i++)
		host_release(&d->dns[i]);
	free(d->dns);
	free(d->meta_name);
	free(d->meta_hash);
	free(d->meta_commit);
	memset(d, 0, sizeof(*d));
}

void nc_net_obs_release(struct nc_net_obs *o)
{
	if (!o)
		return;
	nc_net_def_release(&o->cfg);
	nc_net_def_release(&o->live);
	memset(o, 0, sizeof(*o));
}

/* ---- building ---- */

static xmlNodePtr lease_node(const struct nc_net_host *h)
{
	xmlNodePtr n = xmlNewNode(NULL, BAD_CAST "host");

	nc_xml_prop(n, "mac", h->mac);
	nc_xml_prop(n, "name", h->name);
	nc_xml_prop(n, "ip", h->ip);
	return n;
}

static xmlNodePtr dns_node(const struct nc_net_host *h)
{
	xmlNodePtr n = xmlNewNode(NULL, BAD_CAST "host");

	nc_xml_prop(n, "ip", h->ip);
	nc_xml_child(n, "hostname", h->name);
	return n;
}

char *nc_netxml_build(const struct nc_net_def *def)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr net = xmlNewNode(NULL, BAD_CAST "network"), md, m, n, ip, dhcp;
	xmlNsPtr ns;
	char num[16];
	size_t i;

	nc_xml_child(net, "name", def->name);
	if (def->uuid)
		nc_xml_child(net, "uuid", def->uuid);
	md = nc_xml_child(net, "metadata", NULL);
	m = xmlNewChild(md, NULL, BAD_CAST "network", NULL);
	ns = xmlNewNs(m, BAD_CAST NC_NET_XMLNS, BAD_CAST "nc");
	xmlSetNs(m, ns);
	xmlNewTextChild(m, ns, BAD_CAST "name", BAD_CAST def->meta_name);
	xmlNewTextChild(m, ns, BAD_CAST "hash", BAD_CAST def->meta_hash);
	if (def->meta_commit)
		xmlNewTextChild(m, ns, BAD_CAST "commit", BAD_CAST def->meta_commit);
	if (def->forward) {
		n = nc_xml_child(net, "forward", NULL);
		nc_xml_prop(n, "mode", def->forward);
	}
	if (def->bridge) {
		n = nc_xml_child(net, "bridge", NULL);
		nc_xml_prop(n, "name", def->bridge);
	}
	if (def->ndns) {
		n = nc_xml_child(net, "dns", NULL);
		for (i = 0; i < def->ndns; i++)
			xmlAddChild(n, dns_node(&def->dns[i]));
	}
	if (def->ip4) {
		ip = nc_xml_child(net, "ip", NULL);
		nc_xml_prop(ip, "address", def->ip4);
		snprintf(num, sizeof(num), "%u", def->prefix4);
		nc_xml_prop(ip, "prefix", num);
		if (def->dhcp) {
			dhcp = nc_xml_child(ip, "dhcp", NULL);
			if (def->dhcp_start && def->dhcp_end) {
				n = nc_xml_child(dhcp, "range", NULL);
				nc_xml_prop(n, "start", def->dhcp_start);
				nc_xml_prop(n, "end", def->dhcp_end);
			}
			for (i = 0; i < def->nleases; i++)
				xmlAddChild(dhcp, lease_node(&def->leases[i]));
		}
	}
	if (def->ip6) {
		ip = nc_xml_child(net, "ip", NULL);
		nc_xml_prop(ip, "family", "ipv6");
		nc_xml_prop(ip, "address", def->ip6);
		snprintf(num, sizeof(num), "%u", def->prefix6);
		nc_xml_prop(ip, "prefix", num);
	}
	return nc_xml_dump(doc, net);
}

/* ---- parsing ---- */

static unsigned prefix_of(xmlNodePtr ip)
{
	char *p = nc_xml_attr(ip, "prefix"), *mask;
	unsigned v = p ? (unsigned)strtoul(p, NULL, 10) : 0;

	free(p);
	if (v || !(mask = nc_xml_attr(ip, "netmask")))
		return v;
	/* netmask="255.255.255.0" */
	{
		unsigned a, b, c, d, m, k;

		if (sscanf(mask, "%u.%u.%u.%u", &a, &b, &c, &d) == 4) {
			m = (a << 24) | (b << 16) | (c << 8) | d;
			for (k = 0; k < 32 && (m & (0x80000000u >> k)); k++)
				v++;
		}
	}
	free(mask);
	return v;
}

static int lease_cmp(const void *pa, const void *pb)
{
	const struct nc_net_host *a = pa, *b = pb;

	return strcasecmp(a->mac ? a->mac : "", b->mac ? b->mac : "");
}

static int dns_cmp(const void *pa, const void *pb)
{
	const struct nc_net_host *a = pa, *b = pb;
	int c = strcmp(a->ip ? a->ip : "", b->ip ? b->ip : "");

	return c ? c : strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

void nc_net_def_sort(struct nc_net_def *d)
{
	if (d->nleases > 1)
		qsort(d->leases, d->nleases, sizeof(*d->leases), lease_cmp);
	if (d->ndns > 1)
		qsort(d->dns, d->ndns, sizeof(*d->dns), dns_cmp);
}

static void parse_meta(struct nc_net_def *d, xmlNodePtr md)
{
	xmlNodePtr m, n;

	for (m = md ? md->children : NULL; m; m = m->next)
		if (nc_xml_is(m, "network") && m->ns && m->ns->href &&
		    strcmp((const char *)m->ns->href, NC_NET_XMLNS) == 0)
			break;
	for (n = m ? m->children : NULL; n; n = n->next) {
		if (nc_xml_is(n, "name") && !d->meta_name)
			d->meta_name = nc_xml_text(n);
		else if (nc_xml_is(n, "hash") && !d->meta_hash)
			d->meta_hash = nc_xml_text(n);
		else if (nc_xml_is(n, "commit") && !d->meta_commit)
			d->meta_commit = nc_xml_text(n);
	}
}

int nc_netxml_parse(struct nc_net_def *out, const char *xml, struct nc_err *err)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "network.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root, n, k;
	struct nc_net_def d;
	size_t nl = 0, nd = 0;

	if (!doc || !(root = xmlDocGetRootElement(doc)) || !nc_xml_is(root, "network")) {
		xmlFreeDoc(doc);
		nc_err_set(err, "cannot parse network XML");
		return -1;
	}
	memset(&d, 0, sizeof(d));
	d.name = nc_xml_text(nc_xml_first(root, "name"));
	d.uuid = nc_xml_text(nc_xml_first(root, "uuid"));
	parse_meta(&d, nc_xml_first(root, "metadata"));
	d.forward = nc_xml_attr(nc_xml_first(root, "forward"), "mode");
	d.bridge = nc_xml_attr(nc_xml_first(root, "bridge"), "name");
	for (n = root->children; n; n = n->next) {
		if (nc_xml_is(n, "ip")) {
			char *fam = nc_xml_attr(n, "family");
			bool v6 = fam ? strcmp(fam, "ipv6") == 0 : false;
			xmlNodePtr dhcp = nc_xml_first(n, "dhcp");

			free(fam);
			if (!v6 && !d.ip4) {
				char *a = nc_xml_attr(n, "address");

				if (a && strchr(a, ':')) {
					v6 = true;
					free(a);
				} else {
					d.ip4 = a;
					d.prefix4 = prefix_of(n);
				}
			}
			if (v6 && !d.ip6) {
				d.ip6 = nc_xml_attr(n, "address");
				d.prefix6 = prefix_of(n);
				continue;
			}
			if (!dhcp || d.dhcp)
				continue;
			d.dhcp = true;
			d.dhcp_start = nc_xml_attr(nc_xml_first(dhcp, "range"), "start");
			d.dhcp_end = nc_xml_attr(nc_xml_first(dhcp, "range"), "end");
			for (k = dhcp->children; k; k = k->next)
				nl += nc_xml_is(k, "host");
			d.leases = nc_xcalloc(nl + 1, sizeof(*d.leases));
			for (k = dhcp->children; k; k = k->next) {
				if (!nc_xml_is(k, "host"))
					continue;
				d.leases[d.nleases].mac = nc_xml_attr(k, "mac");
				d.leases[d.nleases].name = nc_xml_attr(k, "name");
				d.leases[d.nleases].ip = nc_xml_attr(k, "ip");
				d.nleases++;
			}
		} else if (nc_xml_is(n, "dns") && !d.dns) {
			for (k = n->children; k; k = k->next)
				nd += nc_xml_is(k, "host");
			d.dns = nc_xcalloc(nd + 1, sizeof(*d.dns));
			for (k = n->children; k; k = k->next) {
				if (!nc_xml_is(k, "host"))
					continue;
				d.dns[d.ndns].ip = nc_xml_attr(k, "ip");
				d.dns[d.ndns].name = nc_xml_text(nc_xml_first(k, "hostname"));
				d.ndns++;
			}
		}
	}
	xmlFreeDoc(doc);
	nc_net_def_sort(&d);
	*out = d;
	return 0;
}

/* ---- the host ---- */

static int obs_of(virNetworkPtr net, bool test_drv, struct nc_net_obs *out, struct nc_err *err)
{
	struct nc_net_obs o;
	const char *name = virNetworkGetName(net);
	char *xml = NULL;
	int a, r = -1;

	memset(&o, 0, sizeof(o));
	a = virNetworkIsActive(net);
	o.active = a == 1;
	o.persistent = virNetworkIsPersistent(net) == 1;
	if (virNetworkGetAutostart(net, &a) == 0)
		o.autostart = a != 0;
	if (!test_drv)
		xml = virNetworkGetXMLDesc(net, VIR_NETWORK_XML_INACTIVE);
	if (!xml)
		xml = virNetworkGetXMLDesc(net, 0);
	if (!xml || nc_netxml_parse(&o.cfg, xml, err) < 0) {
		if (!xml)
			fail(err, "cannot read network", name ? name : "?");
		goto out;
	}
	if (o.active && !test_drv) {
		free(xml);
		xml = virNetworkGetXMLDesc(net, 0);
		if (!xml) {
			fail(err, "cannot read network", name ? name : "?");
			goto out;
		}
	}
	/* inactive (or the test driver): the one definition there is */
	if (nc_netxml_parse(&o.live, xml, err) < 0)
		goto out;
	o.managed = o.cfg.meta_name != NULL;
	*out = o;
	memset(&o, 0, sizeof(o));
	r = 0;
out:
	free(xml);
	nc_net_obs_release(&o);
	return r;
}

static int obs_cmp(const void *pa, const void *pb)
{
	const struct nc_net_obs *a = pa, *b = pb;

	return strcmp(a->cfg.name ? a->cfg.name : "", b->cfg.name ? b->cfg.name : "");
}

int nc_net_list(struct nc_host_conn *host, struct nc_net_obs **out, size_t *nout, struct nc_err *err)
{
	virConnectPtr c = conn_of(host, err);
	virNetworkPtr *nets = NULL;
	struct nc_net_obs *v;
	bool test_drv;
	int n, i, r = 0;
	size_t k = 0;

	if (!c)
		return -1;
	n = virConnectListAllNetworks(c, &nets, 0);
	if (n < 0)
		return fail(err, "cannot list networks on", host->uri);
	test_drv = is_test_driver(c);
	v = nc_xcalloc((size_t)n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (r == 0 && obs_of(nets[i], test_drv, &v[k], err) == 0)
			k++;
		else
			r = -1;
		virNetworkFree(nets[i]);
	}
	free(nets);
	if (r < 0) {
		for (i = 0; (size_t)i < k; i++)
			nc_net_obs_release(&v[i]);
		free(v);
		return -1;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), obs_cmp);
	*out = v;
	*nout = k;
	return 0;
}

static virNetworkPtr find(virConnectPtr c, const char *name)
{
	virNetworkPtr net = virNetworkLookupByName(c, name);

	return net;
}

int nc_net_lookup(struct nc_host_conn *host, const char *name, struct nc_net_obs *out, struct nc_err *err)
{
	virConnectPtr c = conn_of(host, err);
	virNetworkPtr net;
	int r;

	if (!c)
		return -1;
	net = find(c, name);
	if (!net) {
		if (virGetLastErrorCode() == VIR_ERR_NO_NETWORK)
			return 0;
		return fail(err, "cannot look up network", name);
	}
	r = obs_of(net, is_test_driver(c), out, err);
	virNetworkFree(net);
	return r < 0 ? -1 : 1;
}

int nc_net_define(struct nc_host_conn *host, const struct nc_net_def *def, struct nc_err *err)
{
	virConnectPtr c = conn_of(host, err);
	virNetworkPtr net;
	char *xml, uuid[VIR_UUID_STRING_BUFLEN];
	struct nc_net_def d = *def;
	bool restart = false;

	if (!c)
		return -1;
	if (nc_driver_fault("network define", err) < 0)
		return -1;
	if ((net = find(c, def->name))) {
		/* a redefinition keeps the network's identity */
		if (virNetworkGetUUIDString(net, uuid) == 0)
			d.uuid = uuid;
		/* the test driver shows a running network's new definition only after a restart */
		restart = is_test_driver(c) && virNetworkIsActive(net) == 1;
		if (restart && virNetworkDestroy(net) < 0) {
			virNetworkFree(net);
			return fail(err, "cannot stop network", def->name);
		}
		virNetworkFree(net);
	}
	xml = nc_netxml_build(&d);
	net = virNetworkDefineXML(c, xml);
	free(xml);
	if (!net)
		return fail(err, "cannot define network", def->name);
	if (restart && virNetworkCreate(net) < 0) {
		virNetworkFree(net);
		return fail(err, "cannot start network", def->name);
	}
	virNetworkFree(net);
	return 0;
}

int nc_net_start(struct nc_host_conn *host, const char *name, bool restart, struct nc_err *err)
{
	virConnectPtr c = conn_of(host, err);
	virNetworkPtr net;
	int r = 0;

	if (!c)
		return -1;
	if (nc_driver_fault(restart ? "network restart" : "network start", err) < 0)
		return -1;
	if (!(net = find(c, name)))
		return fail(err, "cannot find network", name);
	if (virNetworkIsActive(net) == 1) {
		if (restart && virNetworkDestroy(net) < 0)
			r = fail(err, "cannot stop network", name);
		else if (!restart)
			goto out;
	}
	if (r == 0 && virNetworkCreate(net) < 0)
		r = fail(err, "cannot start network", name);
out:
	virNetworkFree(net);
	return r;
}

int nc_net_set_autostart(struct nc_host_conn *host, const char *name, bool on, struct nc_err *err)
{
	virConnectPtr c = conn_of(host, err);
	virNetworkPtr net;
	int cur = -1, r = 0;

	if (!c)
		return -1;
	if (nc_driver_fault("network autostart", err) < 0)
		return -1;
	if (!(net = find(c, name)))
		return fail(err, "cannot find network", name);
	if ((virNetworkGetAutostart(net, &cur) < 0 || (cur != 0) != on) &&
	    virNetworkSetAutostart(net, on ? 1 : 0) < 0)
		r = fail(err, "cannot set autostart of network", name);
	virNetworkFree(net);
	return r;
}

static bool host_eq(const struct nc_net_host *a, const struct nc_net_host *b, bool lease)
{
	if (lease && strcasecmp(a->mac ? a->mac : "", b->mac ? b->mac : "") != 0)
		return false;
	return strcmp(a->name ? a->name : "", b->name ? b->name : "") == 0 &&
	       strcmp(a->ip ? a->ip : "", b->ip ? b->ip : "") == 0;
}

static bool contains(const struct nc_net_host *v, size_t n, const struct nc_net_host *h, bool lease)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (host_eq(&v[i], h, lease))
			return true;
	return false;
}

static int update_one(virNetworkPtr net, const char *name, unsigned cmd, int section, xmlNodePtr node,
		      struct nc_err *err)
{
	char *xml = nc_xml_dump(xmlNewDoc(BAD_CAST "1.0"), node);
	int r = virNetworkUpdate(net, cmd, (unsigned)section, -1, xml, VIR_NETWORK_UPDATE_AFFECT_LIVE);

	free(xml);
	return r < 0 ? fail(err, "cannot update network", name) : 0;
}

int nc_net_update_live(struct nc_host_conn *host, const char *name, const struct nc_net_def *have,
		       const struct nc_net_def *want, size_t *changed, struct nc_err *err)
{
	virConnectPtr c = conn_of(host, err);
	virNetworkPtr net;
	size_t i;
	int r = 0;

	*changed = 0;
	if (!c)
		return -1;
	if (nc_driver_fault("network update", err) < 0)
		return -1;
	if (!(net = find(c, name)))
		return fail(err, "cannot find network", name);
	if (virNetworkIsActive(net) != 1)
		goto out;
	/* deletions first: a lease that moves to another MAC frees its address */
	for (i = 0; r == 0 && i < have->nleases; i++)
		if (!contains(want->leases, want->nleases, &have->leases[i], true) &&
		    (r = update_one(net, name, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_IP_DHCP_HOST,
				    lease_node(&have->leases[i]), err)) == 0)
			(*changed)++;
	for (i = 0; r == 0 && i < have->ndns; i++)
		if (!contains(want->dns, want->ndns, &have->dns[i], false) &&
		    (r = update_one(net, name, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_DNS_HOST,
				    dns_node(&have->dns[i]), err)) == 0)
			(*changed)++;
	for (i = 0; r == 0 && i < want->nleases; i++)
		if (!contains(have->leases, have->nleases, &want->leases[i], true) &&
		    (r = update_one(net, name, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_IP_DHCP_HOST,
				    lease_node(&want->leases[i]), err)) == 0)
			(*changed)++;
	for (i = 0; r == 0 && i < want->ndns; i++)
		if (!contains(have->dns, have->ndns, &want->dns[i], false) &&
		    (r = update_one(net, name, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_DNS_HOST,
				    dns_node(&want->dns[i]), err)) == 0)
			(*changed)++;
out:
	virNetworkFree(net);
	return r;
}

int nc_net_delete(struct nc_host_conn *host, const char *name, struct nc_err *err)
{
	virConnectPtr c = conn_of(host, err);
	virNetworkPtr net;
	int r = 0;

	if (!c)
		return -1;
	if (nc_driver_fault("network delete", err) < 0)
		return -1;
	if (!(net = find(c, name))) {
		if (virGetLastErrorCode() == VIR_ERR_NO_NETWORK)
			return 0;
		return fail(err, "cannot look up network", name);
	}
	if (virNetworkIsActive(net) == 1 && virNetworkDestroy(net) < 0)
		r = fail(err, "cannot stop network", name);
	else if (virNetworkIsPersistent(net) == 1 && virNetworkUndefine(net) < 0)
		r = fail(err, "cannot undefine network", name);
	virNetworkFree(net);
	return r;
}
