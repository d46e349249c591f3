/*
 * domxml.c - libvirt domain XML, built and read with libxml2.
 *
 * Text from the spec only ever enters the document as element content or
 * attribute values through libxml2's tree API, which escapes it: a name such
 * as "a</name><devices>" stays one text node (DESIGN.md invariant 7).
 */
#include "../driver.h"
#include "../network/network.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/util.h"

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

/* <source protocol='rbd' name=POOL/IMAGE><host name= port=/>...</source><auth .../> of disk d */
static void rbd_source(xmlNodePtr d, const char *name, const char *const *mons, const char *auth_user,
		       const char *secret_uuid)
{
	xmlNodePtr n = child(d, "source", NULL);
	size_t m;

	prop(n, "protocol", "rbd");
	prop(n, "name", name);
	for (m = 0; mons && mons[m]; m++) {
		const char *sp = strchr(mons[m], ' ');
		char *host = nc_xstrndup(mons[m], sp ? (size_t)(sp - mons[m]) : strlen(mons[m]));
		xmlNodePtr h = child(n, "host", NULL);

		prop(h, "name", host);
		if (sp)
			prop(h, "port", sp + 1);
		free(host);
	}
	if (auth_user && secret_uuid) {
		xmlNodePtr au = child(d, "auth", NULL), se;

		prop(au, "username", auth_user);
		se = child(au, "secret", NULL);
		prop(se, "type", "ceph");
		prop(se, "uuid", secret_uuid);
	}
}

/* the cloud-init seed: a read-only CD-ROM on a bus the machine has */
static xmlNodePtr seed_disk(xmlNodePtr parent, const struct nc_seed_def *k, bool medium)
{
	xmlNodePtr d = parent ? child(parent, "disk", NULL) : xmlNewNode(NULL, BAD_CAST "disk"), n;

	prop(d, "type", k->type);
	prop(d, "device", "cdrom");
	n = child(d, "driver", NULL);
	prop(n, "name", "qemu");
	prop(n, "type", "raw");
	if (medium && strcmp(k->type, "network") == 0) {
		rbd_source(d, k->source, k->mons, k->auth_user, k->secret_uuid);
	} else if (medium) {
		n = child(d, "source", NULL);
		prop(n, "file", k->source);
	}
	n = child(d, "target", NULL);
	prop(n, "dev", k->target);
	prop(n, "bus", k->bus);
	child(d, "readonly", NULL);
	return d;
}

char *nc_domxml_seed(const struct nc_seed_def *seed, bool medium)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlChar *mem = NULL;
	int len = 0;
	char *out;

	xmlDocSetRootElement(doc, seed_disk(NULL, seed, medium));
	xmlDocDumpFormatMemory(doc, &mem, &len, 1);
	out = nc_xstrndup((const char *)mem, (size_t)len);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return out;
}

/* may a domain name be a file name in NC_CONSOLE_LOG_DIR: 1 to 63 of [a-z0-9-] */
static bool console_log_name_ok(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n == 0 || n > 63)
		return false;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return false;
	return true;
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
	if (def->seed) {
		/* what the seed held when it was applied: plans show how it changes */
		n = xmlNewChild(vm, ns, BAD_CAST "cloudinit", NULL);
		prop(n, "instance-id", def->seed->instance_id);
		prop(n, "user-data", def->seed->user_data_sha);
		prop(n, "network-config", def->seed->network_config_sha);
	}

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
	if (def->kernel)
		child(os, "kernel", def->kernel);
	if (def->initrd)
		child(os, "initrd", def->initrd);
	if (def->cmdline)
		child(os, "cmdline", def->cmdline);
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
		if (strcmp(k->type, "network") == 0) {
			rbd_source(d, k->source, k->mons, k->auth_user, k->secret_uuid);
		} else {
			n = child(d, "source", NULL);
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
	if (def->seed)
		seed_disk(devs, def->seed, true);
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

	/* a serial console (ttyS0, what `virsh console` opens) whose output is also logged on the
	 * host, under the directory where libvirt keeps its guests' logs and named after the
	 * domain, so the path is NovaCron's, never the spec's; only for a name that is a DNS
	 * label (what the spec allows: no '/', no "..") */
	d = child(devs, "serial", NULL);
	prop(d, "type", "pty");
	if (console_log_name_ok(def->name)) {
		struct nc_buf path = NC_BUF_INIT;

		nc_buf_addf(&path, "%s/%s%s", NC_CONSOLE_LOG_DIR, def->name, NC_CONSOLE_LOG_SUFFIX);
		n = child(d, "log", NULL);
		prop(n, "file", path.buf);
		prop(n, "append", "off");
		nc_buf_release(&path);
	}
	n = child(d, "target", NULL);
	prop(n, "port", "0");
	d = child(devs, "console", NULL);
	prop(d, "type", "pty");
	n = child(d, "target", NULL);
	prop(n, "type", "serial");
	prop(n, "port", "0");

	xmlDocDumpFormatMemory(doc, &mem, &len, 1);
	out = nc_xstrndup((const char *)mem, (size_t)len);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return out;
}

/* ---- parsing: a direct walk of the tree (XPath costs more than the rest) ---- */

static bool is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr first(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;

	for (n = parent ? parent->children : NULL; n; n = n->next)
		if (is(n, name))
			return n;
	return NULL;
}

static char *text(xmlNodePtr n)
{
	xmlChar *c;
	char *s;

	if (!n)
		return NULL;
	c = xmlNodeGetContent(n);
	s = c ? nc_xstrdup((const char *)c) : NULL;
	xmlFree(c);
	return s;
}

static char *attr(xmlNodePtr n, const char *name)
{
	xmlChar *c;
	char *s;

	if (!n)
		return NULL;
	c = xmlGetProp(n, BAD_CAST name);
	s = c ? nc_xstrdup((const char *)c) : NULL;
	xmlFree(c);
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

static uint64_t memory_of(xmlNodePtr n)
{
	char *v = text(n), *u = attr(n, "unit");
	uint64_t r = scaled(v, u);

	free(v);
	free(u);
	return r;
}

static void parse_disk(struct nc_dom_disk *k, xmlNodePtr x)
{
	xmlNodePtr src = first(x, "source"), tgt = first(x, "target");
	char *boot = attr(first(x, "boot"), "order");

	k->target = attr(tgt, "dev");
	k->bus = attr(tgt, "bus");
	k->type = attr(x, "type");
	k->format = attr(first(x, "driver"), "type");
	k->source = attr(src, "file");
	if (!k->source)
		k->source = attr(src, "name");
	if (!k->source)
		k->source = attr(src, "dev");
	k->boot = boot && strcmp(boot, "1") == 0;
	free(boot);
}

static void parse_nic(struct nc_dom_nic *k, xmlNodePtr x)
{
	xmlNodePtr src = first(x, "source");

	k->mac = attr(first(x, "mac"), "address");
	k->type = attr(x, "type");
	k->source = attr(src, "network");
	if (!k->source)
		k->source = attr(src, "bridge");
	k->model = attr(first(x, "model"), "type");
}

/* <metadata><nc:vm xmlns:nc="NC_XMLNS">...</nc:vm></metadata> */
static void parse_meta(struct nc_domain *d, xmlNodePtr md)
{
	xmlNodePtr vm, n;

	for (vm = md ? md->children : NULL; vm; vm = vm->next)
		if (is(vm, "vm") && vm->ns && vm->ns->href &&
		    strcmp((const char *)vm->ns->href, NC_XMLNS) == 0)
			break;
	if (!vm)
		return;
	for (n = vm->children; n; n = n->next) {
		char *v;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		v = text(n);
		if (is(n, "name") && !d->meta_vm) {
			d->meta_vm = v;
			continue;
		}
		if (is(n, "hash") && !d->meta_hash) {
			d->meta_hash = v;
			continue;
		}
		if (is(n, "commit") && !d->meta_commit) {
			d->meta_commit = v;
			continue;
		}
		if (is(n, "cloudinit") && !d->meta_ci_iid) {
			free(v);
			d->meta_ci_iid = attr(n, "instance-id");
			d->meta_ci_user_data = attr(n, "user-data");
			d->meta_ci_network_config = attr(n, "network-config");
			continue;
		}
		if (is(n, "protected"))
			d->meta_protected = v && strcmp(v, "true") == 0;
		else if (is(n, "disks"))
			d->meta_delete_disks = v && strcmp(v, "delete") == 0;
		free(v);
	}
	d->managed = d->meta_vm != NULL;
}

int nc_domxml_parse(struct nc_domain *out, const char *xml, struct nc_err *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, devs, n;
	struct nc_domain d;
	size_t ndisks = 0, nnics = 0, ncdroms = 0;
	char *v;

	memset(&d, 0, sizeof(d));
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc || !(root = xmlDocGetRootElement(doc)) || !is(root, "domain")) {
		nc_err_set(err, "cannot parse domain XML");
		xmlFreeDoc(doc);
		return -1;
	}
	d.name = text(first(root, "name"));
	d.uuid = text(first(root, "uuid"));
	d.memory = memory_of(first(root, "memory"));
	n = first(root, "currentMemory");
	d.cur_memory = n ? memory_of(n) : d.memory;
	v = text(first(root, "vcpu"));
	d.vcpus = v ? (unsigned)strtoul(v, NULL, 10) : 0;
	free(v);
	d.machine = attr(first(first(root, "os"), "type"), "machine");
	parse_meta(&d, first(root, "metadata"));

	devs = first(root, "devices");
	for (n = devs ? devs->children : NULL; n; n = n->next) {
		if (is(n, "disk")) {
			char *dev = attr(n, "device");

			if (dev && strcmp(dev, "cdrom") == 0)
				ncdroms++;
			else
				ndisks++;
			free(dev);
		} else if (is(n, "interface")) {
			nnics++;
		}
	}
	d.disks = nc_xcalloc(ndisks ? ndisks : 1, sizeof(*d.disks));
	d.cdroms = nc_xcalloc(ncdroms ? ncdroms : 1, sizeof(*d.cdroms));
	d.nics = nc_xcalloc(nnics ? nnics : 1, sizeof(*d.nics));
	for (n = devs ? devs->children : NULL; n; n = n->next) {
		if (is(n, "disk")) {
			char *dev = attr(n, "device");

			if (!dev || strcmp(dev, "disk") == 0)
				parse_disk(&d.disks[d.ndisks++], n);
			else if (strcmp(dev, "cdrom") == 0)
				parse_disk(&d.cdroms[d.ncdroms++], n);
			free(dev);
		} else if (is(n, "interface")) {
			parse_nic(&d.nics[d.nnics++], n);
		}
	}
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
	for (i = 0; i < d->ncdroms; i++) {
		free(d->cdroms[i].target);
		free(d->cdroms[i].bus);
		free(d->cdroms[i].type);
		free(d->cdroms[i].source);
		free(d->cdroms[i].format);
	}
	free(d->cdroms);
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
	free(d->meta_ci_iid);
	free(d->meta_ci_user_data);
	free(d->meta_ci_network_config);
	memset(d, 0, sizeof(*d));
}

void nc_observed_host_release(struct nc_observed_host *h)
{
	size_t i;

	for (i = 0; i < h->ndoms; i++)
		nc_domain_release(&h->doms[i]);
	free(h->doms);
	for (i = 0; i < h->nnets; i++)
		nc_net_obs_release(&h->nets[i]);
	free(h->nets);
	free(h->nets_error);
	for (i = 0; i < h->nsecrets; i++) {
		free(h->secrets[i].uuid);
		free(h->secrets[i].usage);
		free(h->secrets[i].description);
	}
	free(h->secrets);
	free(h->node.hostname);
	memset(h, 0, sizeof(*h));
}
