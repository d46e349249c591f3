/*
 * domxml.c - libvirt domain XML, built and read with libxml2.
 *
 * Text from the spec only ever enters the document as element content or
 * attribute values through libxml2's tree API, which escapes it: a name such
 * as "a</name><devices>" stays one text node (DESIGN.md invariant 7).
 */
#include "driver.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../spec/util.h"

void nc_err_set(struct nc_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static const char *const state_names[] = {
	[NC_DOM_RUNNING] = "running",
	[NC_DOM_PAUSED] = "paused",
	[NC_DOM_SHUTOFF] = "shut off",
	[NC_DOM_OTHER] = "other",
};

const char *nc_dom_state_name(enum nc_dom_state s)
{
	return state_names[s];
}

/* ---- building ---- */

static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, NULL, BAD_CAST name, text ? BAD_CAST text : NULL);
}

static void prop(xmlNodePtr n, const char *name, const char *value)
{
	xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

char *nc_domxml_build(const struct nc_domain_def *def, const char *domain_type)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr dom, md, vm, os, type, devs, n, d;
	xmlNsPtr ns;
	xmlChar *mem = NULL;
	char num[32];
	int len = 0;
	size_t i;
	char *out;

	dom = xmlNewNode(NULL, BAD_CAST "domain");
	xmlDocSetRootElement(doc, dom);
	prop(dom, "type", domain_type);
	child(dom, "name", def->name);
	if (def->uuid)
		child(dom, "uuid", def->uuid);

	md = child(dom, "metadata", NULL);
	vm = xmlNewChild(md, NULL, BAD_CAST "vm", NULL);
	ns = xmlNewNs(vm, BAD_CAST NC_XMLNS, BAD_CAST "nc");
	xmlSetNs(vm, ns);
	xmlNewTextChild(vm, ns, BAD_CAST "name", BAD_CAST def->meta_vm);
	xmlNewTextChild(vm, ns, BAD_CAST "hash", BAD_CAST def->meta_hash);
	if (def->meta_commit)
		xmlNewTextChild(vm, ns, BAD_CAST "commit", BAD_CAST def->meta_commit);
	if (def->meta_protected)
		xmlNewTextChild(vm, ns, BAD_CAST "protected", BAD_CAST "true");
	xmlNewTextChild(vm, ns, BAD_CAST "disks", BAD_CAST(def->meta_delete_disks ? "delete" : "retain"));

	snprintf(num, sizeof(num), "%llu", (unsigned long long)((def->memory + 1023) / 1024));
	n = child(dom, "memory", num);
	prop(n, "unit", "KiB");
	n = child(dom, "currentMemory", num);
	prop(n, "unit", "KiB");
	snprintf(num, sizeof(num), "%u", def->vcpus);
	n = child(dom, "vcpu", num);
	prop(n, "placement", "static");

	os = child(dom, "os", NULL);
	type = child(os, "type", "hvm");
	if (def->machine)
		prop(type, "machine", def->machine);
	n = child(dom, "features", NULL);
	child(n, "acpi", NULL);
	child(dom, "on_poweroff", "destroy");
	child(dom, "on_reboot", "restart");
	child(dom, "on_crash", "destroy");

	devs = child(dom, "devices", NULL);
	for (i = 0; i < def->ndisks; i++) {
		const struct nc_disk_def *k = &def->disks[i];

		d = child(devs, "disk", NULL);
		prop(d, "type", k->type);
		prop(d, "device", "disk");
		n = child(d, "driver", NULL);
		prop(n, "name", "qemu");
		prop(n, "type", k->format);
		n = child(d, "source", NULL);
		if (strcmp(k->type, "network") == 0) {
			prop(n, "protocol", "rbd");
			prop(n, "name", k->source);
		} else {
			prop(n, "file", k->source);
		}
		n = child(d, "target", NULL);
		prop(n, "dev", k->target);
		prop(n, "bus", k->bus);
		if (k->boot) {
			n = child(d, "boot", NULL);
			prop(n, "order", "1");
		}
	}
	for (i = 0; i < def->nnics; i++) {
		const struct nc_nic_def *k = &def->nics[i];

		d = child(devs, "interface", NULL);
		prop(d, "type", k->type);
		n = child(d, "mac", NULL);
		prop(n, "address", k->mac);
		n = child(d, "source", NULL);
		prop(n, strcmp(k->type, "bridge") == 0 ? "bridge" : "network", k->source);
		n = child(d, "model", NULL);
		prop(n, "type", k->model);
	}

	xmlDocDumpFormatMemory(doc, &mem, &len, 1);
	out = nc_xstrndup((const char *)mem, (size_t)len);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return out;
}

/* ---- parsing ---- */

static char *xp_str(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;
	char *s = NULL;

	ctx->node = node;
	o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	if (o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0) {
		xmlChar *c = xmlNodeGetContent(o->nodesetval->nodeTab[0]);

		if (c) {
			s = nc_xstrdup((const char *)c);
			xmlFree(c);
		}
	}
	xmlXPathFreeObject(o);
	return s;
}

static uint64_t scaled(const char *value, const char *unit)
{
	static const struct {
		const char *u;
		uint64_t m;
	} units[] = {
		{ "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
		{ "MB", 1000000 }, { "M", 1ULL << 20 }, { "MiB", 1ULL << 20 },
		{ "GB", 1000000000 }, { "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
		{ "TB", 1000000000000ULL }, { "T", 1ULL << 40 }, { "TiB", 1ULL << 40 },
	};
	uint64_t v = value ? strtoull(value, NULL, 10) : 0, m = 1024;
	size_t i;

	for (i = 0; unit && i < NC_ARRAY_SIZE(units); i++)
		if (strcmp(unit, units[i].u) == 0)
			m = units[i].m;
	return v * m;
}

static xmlXPathObjectPtr nodes(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	ctx->node = node;
	return xmlXPathEvalExpression(BAD_CAST expr, ctx);
}

int nc_domxml_parse(struct nc_domain *out, const char *xml, struct nc_err *err)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr o;
	xmlNodePtr root;
	struct nc_domain d;
	char *v, *u;
	int i, n;

	memset(&d, 0, sizeof(d));
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc || !(root = xmlDocGetRootElement(doc)) ||
	    strcmp((const char *)root->name, "domain") != 0) {
		nc_err_set(err, "cannot parse domain XML");
		xmlFreeDoc(doc);
		return -1;
	}
	ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "nc", BAD_CAST NC_XMLNS);

	d.name = xp_str(ctx, root, "./name");
	d.uuid = xp_str(ctx, root, "./uuid");
	v = xp_str(ctx, root, "./memory");
	u = xp_str(ctx, root, "./memory/@unit");
	d.memory = scaled(v, u);
	free(v);
	free(u);
	v = xp_str(ctx, root, "./currentMemory");
	u = xp_str(ctx, root, "./currentMemory/@unit");
	d.cur_memory = v ? scaled(v, u) : d.memory;
	free(v);
	free(u);
	v = xp_str(ctx, root, "./vcpu");
	d.vcpus = v ? (unsigned)strtoul(v, NULL, 10) : 0;
	free(v);
	d.machine = xp_str(ctx, root, "./os/type/@machine");

	o = nodes(ctx, root, "./devices/disk[@device='disk' or not(@device)]");
	n = o && o->nodesetval ? o->nodesetval->nodeNr : 0;
	d.disks = nc_xcalloc((size_t)(n ? n : 1), sizeof(*d.disks));
	for (i = 0; i < n; i++) {
		xmlNodePtr x = o->nodesetval->nodeTab[i];
		struct nc_dom_disk *k = &d.disks[d.ndisks++];
		char *boot;

		k->target = xp_str(ctx, x, "./target/@dev");
		k->bus = xp_str(ctx, x, "./target/@bus");
		k->type = xp_str(ctx, x, "./@type");
		k->format = xp_str(ctx, x, "./driver/@type");
		k->source = xp_str(ctx, x, "./source/@file");
		if (!k->source)
			k->source = xp_str(ctx, x, "./source/@name");
		if (!k->source)
			k->source = xp_str(ctx, x, "./source/@dev");
		boot = xp_str(ctx, x, "./boot/@order");
		k->boot = boot && strcmp(boot, "1") == 0;
		free(boot);
	}
	xmlXPathFreeObject(o);

	o = nodes(ctx, root, "./devices/interface");
	n = o && o->nodesetval ? o->nodesetval->nodeNr : 0;
	d.nics = nc_xcalloc((size_t)(n ? n : 1), sizeof(*d.nics));
	for (i = 0; i < n; i++) {
		xmlNodePtr x = o->nodesetval->nodeTab[i];
		struct nc_dom_nic *k = &d.nics[d.nnics++];

		k->mac = xp_str(ctx, x, "./mac/@address");
		k->type = xp_str(ctx, x, "./@type");
		k->source = xp_str(ctx, x, "./source/@network");
		if (!k->source)
			k->source = xp_str(ctx, x, "./source/@bridge");
		k->model = xp_str(ctx, x, "./model/@type");
	}
	xmlXPathFreeObject(o);

	d.meta_vm = xp_str(ctx, root, "./metadata/nc:vm/nc:name");
	d.managed = d.meta_vm != NULL;
	d.meta_hash = xp_str(ctx, root, "./metadata/nc:vm/nc:hash");
	d.meta_commit = xp_str(ctx, root, "./metadata/nc:vm/nc:commit");
	v = xp_str(ctx, root, "./metadata/nc:vm/nc:protected");
	d.meta_protected = v && strcmp(v, "true") == 0;
	free(v);
	v = xp_str(ctx, root, "./metadata/nc:vm/nc:disks");
	d.meta_delete_disks = v && strcmp(v, "delete") == 0;
	free(v);

	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	d.persistent = true;
	*out = d;
	return 0;
}

void nc_domain_release(struct nc_domain *d)
{
	size_t i;

	free(d->name);
	free(d->uuid);
	free(d->machine);
	for (i = 0; i < d->ndisks; i++) {
		free(d->disks[i].target);
		free(d->disks[i].bus);
		free(d->disks[i].type);
		free(d->disks[i].source);
		free(d->disks[i].format);
	}
	free(d->disks);
	for (i = 0; i < d->nnics; i++) {
		free(d->nics[i].mac);
		free(d->nics[i].type);
		free(d->nics[i].source);
		free(d->nics[i].model);
	}
	free(d->nics);
	free(d->meta_vm);
	free(d->meta_hash);
	free(d->meta_commit);
	memset(d, 0, sizeof(*d));
}

void nc_observed_host_release(struct nc_observed_host *h)
{
	size_t i;

	for (i = 0; i < h->ndoms; i++)
		nc_domain_release(&h->doms[i]);
	free(h->doms);
	free(h->node.hostname);
	memset(h, 0, sizeof(*h));
}
