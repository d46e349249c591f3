/*
 * domxml.c - libvirt domain XML, built and read with libxml2.
 *
 * Text from the spec only ever enters the document as element content or
 * attribute values through libxml2's tree API, which escapes it: a name such
 * as "a</name><devices>" stays one text node (docs/development.md, invariant 7).
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
#include "../xml.h"

void nc_err_set(struct nc_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void nc_err_append(struct nc_err *err, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (!err)
		return;
	len = strnlen(err->msg, sizeof(err->msg) - 1);
	va_start(ap, fmt);
	vsnprintf(err->msg + len, sizeof(err->msg) - len, fmt, ap);   /* cut at the end: a message */
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

/* <source protocol='rbd' name=POOL/IMAGE><host name= port=/>...</source><auth .../> of disk d */
static void rbd_source(xmlNodePtr d, const char *name, const char *const *mons, const char *auth_user,
		       const char *secret_uuid)
{
	xmlNodePtr n = nc_xml_child(d, "source", NULL);
	size_t m;

	nc_xml_prop(n, "protocol", "rbd");
	nc_xml_prop(n, "name", name);
	for (m = 0; mons && mons[m]; m++) {
		const char *sp = strchr(mons[m], ' ');
		char *host = nc_xstrndup(mons[m], sp ? (size_t)(sp - mons[m]) : strlen(mons[m]));
		xmlNodePtr h = nc_xml_child(n, "host", NULL);

		nc_xml_prop(h, "name", host);
		if (sp)
			nc_xml_prop(h, "port", sp + 1);
		free(host);
	}
	if (auth_user && secret_uuid) {
		xmlNodePtr au = nc_xml_child(d, "auth", NULL), se;

		nc_xml_prop(au, "username", auth_user);
		se = nc_xml_child(au, "secret", NULL);
		nc_xml_prop(se, "type", "ceph");
		nc_xml_prop(se, "uuid", secret_uuid);
	}
}

/* the cloud-init seed: a read-only CD-ROM on a bus the machine has */
static xmlNodePtr seed_disk(xmlNodePtr parent, const struct nc_seed_def *k, bool medium)
{
	xmlNodePtr d = parent ? nc_xml_child(parent, "disk", NULL) : xmlNewNode(NULL, BAD_CAST "disk"), n;

	nc_xml_prop(d, "type", k->type);
	nc_xml_prop(d, "device", "cdrom");
	n = nc_xml_child(d, "driver", NULL);
	nc_xml_prop(n, "name", "qemu");
	nc_xml_prop(n, "type", "raw");
	if (medium && strcmp(k->type, "network") == 0) {
		rbd_source(d, k->source, k->mons, k->auth_user, k->secret_uuid);
	} else if (medium) {
		n = nc_xml_child(d, "source", NULL);
		nc_xml_prop(n, "file", k->source);
	}
	n = nc_xml_child(d, "target", NULL);
	nc_xml_prop(n, "dev", k->target);
	nc_xml_prop(n, "bus", k->bus);
	nc_xml_child(d, "readonly", NULL);
	return d;
}

char *nc_domxml_seed(const struct nc_seed_def *seed, bool medium)
{
	return nc_xml_dump(xmlNewDoc(BAD_CAST "1.0"), seed_disk(NULL, seed, medium));
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

/* the ownership fields of NovaCron's <vm> element (docs/development.md "Ownership") */
static void meta_fields(xmlNodePtr vm, xmlNsPtr ns, const struct nc_domain_def *def)
{
	xmlNewTextChild(vm, ns, BAD_CAST "name", BAD_CAST def->meta_vm);
	xmlNewTextChild(vm, ns, BAD_CAST "hash", BAD_CAST def->meta_hash);
	if (def->meta_commit)
		xmlNewTextChild(vm, ns, BAD_CAST "commit", BAD_CAST def->meta_commit);
	if (def->meta_protected)
		xmlNewTextChild(vm, ns, BAD_CAST "protected", BAD_CAST "true");
	xmlNewTextChild(vm, ns, BAD_CAST "disks", BAD_CAST(def->meta_delete_disks ? "delete" : "retain"));
}

char *nc_domxml_meta(const struct nc_domain_def *def)
{
	xmlNodePtr vm = xmlNewNode(NULL, BAD_CAST "vm");

	/* libvirt puts the element in the namespace given with it */
	meta_fields(vm, NULL, def);
	return nc_xml_dump(xmlNewDoc(BAD_CAST "1.0"), vm);
}

char *nc_domxml_build(const struct nc_domain_def *def, const char *domain_type)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr dom, md, vm, os, type, devs, n, d;
	xmlNsPtr ns;
	char num[32];
	size_t i;

	dom = xmlNewNode(NULL, BAD_CAST "domain");
	xmlDocSetRootElement(doc, dom);
	nc_xml_prop(dom, "type", domain_type);
	nc_xml_child(dom, "name", def->name);
	if (def->uuid)
		nc_xml_child(dom, "uuid", def->uuid);

	md = nc_xml_child(dom, "metadata", NULL);
	vm = xmlNewChild(md, NULL, BAD_CAST "vm", NULL);
	ns = xmlNewNs(vm, BAD_CAST NC_XMLNS, BAD_CAST "nc");
	xmlSetNs(vm, ns);
	meta_fields(vm, ns, def);
	if (def->seed) {
		/* what the seed held when it was applied: plans show how it changes */
		n = xmlNewChild(vm, ns, BAD_CAST "cloudinit", NULL);
		nc_xml_prop(n, "instance-id", def->seed->instance_id);
		nc_xml_prop(n, "user-data", def->seed->user_data_sha);
		nc_xml_prop(n, "network-config", def->seed->network_config_sha);
	}

	snprintf(num, sizeof(num), "%llu", (unsigned long long)((def->memory + 1023) / 1024));
	n = nc_xml_child(dom, "memory", num);
	nc_xml_prop(n, "unit", "KiB");
	n = nc_xml_child(dom, "currentMemory", num);
	nc_xml_prop(n, "unit", "KiB");
	snprintf(num, sizeof(num), "%u", def->vcpus);
	n = nc_xml_child(dom, "vcpu", num);
	nc_xml_prop(n, "placement", "static");

	os = nc_xml_child(dom, "os", NULL);
	type = nc_xml_child(os, "type", "hvm");
	if (def->machine)
		nc_xml_prop(type, "machine", def->machine);
	if (def->kernel)
		nc_xml_child(os, "kernel", def->kernel);
	if (def->initrd)
		nc_xml_child(os, "initrd", def->initrd);
	if (def->cmdline)
		nc_xml_child(os, "cmdline", def->cmdline);
	n = nc_xml_child(dom, "features", NULL);
	nc_xml_child(n, "acpi", NULL);
	nc_xml_child(dom, "on_poweroff", "destroy");
	nc_xml_child(dom, "on_reboot", "restart");
	nc_xml_child(dom, "on_crash", "destroy");

	devs = nc_xml_child(dom, "devices", NULL);
	for (i = 0; i < def->ndisks; i++) {
		const struct nc_disk_def *k = &def->disks[i];

		d = nc_xml_child(devs, "disk", NULL);
		nc_xml_prop(d, "type", k->type);
		nc_xml_prop(d, "device", "disk");
		n = nc_xml_child(d, "driver", NULL);
		nc_xml_prop(n, "name", "qemu");
		nc_xml_prop(n, "type", k->format);
		if (strcmp(k->type, "network") == 0) {
			rbd_source(d, k->source, k->mons, k->auth_user, k->secret_uuid);
		} else {
			n = nc_xml_child(d, "source", NULL);
			nc_xml_prop(n, "file", k->source);
		}
		n = nc_xml_child(d, "target", NULL);
		nc_xml_prop(n, "dev", k->target);
		nc_xml_prop(n, "bus", k->bus);
		if (k->boot) {
			n = nc_xml_child(d, "boot", NULL);
			nc_xml_prop(n, "order", "1");
		}
	}
	if (def->seed)
		seed_disk(devs, def->seed, true);
	for (i = 0; i < def->nnics; i++) {
		const struct nc_nic_def *k = &def->nics[i];

		d = nc_xml_child(devs, "interface", NULL);
		nc_xml_prop(d, "type", k->type);
		n = nc_xml_child(d, "mac", NULL);
		nc_xml_prop(n, "address", k->mac);
		n = nc_xml_child(d, "source", NULL);
		nc_xml_prop(n, strcmp(k->type, "bridge") == 0 ? "bridge" : "network", k->source);
		n = nc_xml_child(d, "model", NULL);
		nc_xml_prop(n, "type", k->model);
	}

	/* a serial console (ttyS0, what `virsh console` opens) whose output is also logged on the
	 * host, under the directory where libvirt keeps its guests' logs and named after the
	 * domain, so the path is NovaCron's, never the spec's; only for a name that is a DNS
	 * label (what the spec allows: no '/', no "..") */
	d = nc_xml_child(devs, "serial", NULL);
	nc_xml_prop(d, "type", "pty");
	if (console_log_name_ok(def->name)) {
		struct nc_buf path = NC_BUF_INIT;

		nc_buf_addf(&path, "%s/%s%s", NC_CONSOLE_LOG_DIR, def->name, NC_CONSOLE_LOG_SUFFIX);
		n = nc_xml_child(d, "log", NULL);
		nc_xml_prop(n, "file", path.buf);
		nc_xml_prop(n, "append", "off");
		nc_buf_release(&path);
	}
	n = nc_xml_child(d, "target", NULL);
	nc_xml_prop(n, "port", "0");
	d = nc_xml_child(devs, "console", NULL);
	nc_xml_prop(d, "type", "pty");
	n = nc_xml_child(d, "target", NULL);
	nc_xml_prop(n, "type", "serial");
	nc_xml_prop(n, "port", "0");

	return nc_xml_dump(doc, NULL);
}

/* ---- parsing: a direct walk of the tree (XPath costs more than the rest) ---- */

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
	char *v = nc_xml_text(n), *u = nc_xml_attr(n, "unit");
	uint64_t r = scaled(v, u);

	free(v);
	free(u);
	return r;
}

static void parse_disk(struct nc_dom_disk *k, xmlNodePtr x)
{
	xmlNodePtr src = nc_xml_first(x, "source"), tgt = nc_xml_first(x, "target");
	char *boot = nc_xml_attr(nc_xml_first(x, "boot"), "order");

	k->target = nc_xml_attr(tgt, "dev");
	k->bus = nc_xml_attr(tgt, "bus");
	k->type = nc_xml_attr(x, "type");
	k->format = nc_xml_attr(nc_xml_first(x, "driver"), "type");
	k->source = nc_xml_attr(src, "file");
	if (!k->source)
		k->source = nc_xml_attr(src, "name");
	if (!k->source)
		k->source = nc_xml_attr(src, "dev");
	k->boot = boot && strcmp(boot, "1") == 0;
	free(boot);
}

static void parse_nic(struct nc_dom_nic *k, xmlNodePtr x)
{
	xmlNodePtr src = nc_xml_first(x, "source");

	k->mac = nc_xml_attr(nc_xml_first(x, "mac"), "address");
	k->type = nc_xml_attr(x, "type");
	k->source = nc_xml_attr(src, "network");
	if (!k->source)
		k->source = nc_xml_attr(src, "bridge");
	k->model = nc_xml_attr(nc_xml_first(x, "model"), "type");
}

/* <metadata><nc:vm xmlns:nc="NC_XMLNS">...</nc:vm></metadata> */
static void parse_meta(struct nc_domain *d, xmlNodePtr md)
{
	xmlNodePtr vm, n;

	for (vm = md ? md->children : NULL; vm; vm = vm->next)
		if (nc_xml_is(vm, "vm") && vm->ns && vm->ns->href &&
		    strcmp((const char *)vm->ns->href, NC_XMLNS) == 0)
			break;
	if (!vm)
		return;
	for (n = vm->children; n; n = n->next) {
		char *v;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		v = nc_xml_text(n);
		if (nc_xml_is(n, "name") && !d->meta_vm) {
			d->meta_vm = v;
			continue;
		}
		if (nc_xml_is(n, "hash") && !d->meta_hash) {
			d->meta_hash = v;
			continue;
		}
		if (nc_xml_is(n, "commit") && !d->meta_commit) {
			d->meta_commit = v;
			continue;
		}
		if (nc_xml_is(n, "cloudinit") && !d->meta_ci_iid) {
			free(v);
			d->meta_ci_iid = nc_xml_attr(n, "instance-id");
			d->meta_ci_user_data = nc_xml_attr(n, "user-data");
			d->meta_ci_network_config = nc_xml_attr(n, "network-config");
			continue;
		}
		if (nc_xml_is(n, "protected"))
			d->meta_protected = v && strcmp(v, "true") == 0;
		else if (nc_xml_is(n, "disks"))
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
	if (!doc || !(root = xmlDocGetRootElement(doc)) || !nc_xml_is(root, "domain")) {
		nc_err_set(err, "cannot parse domain XML");
		xmlFreeDoc(doc);
		return -1;
	}
	d.name = nc_xml_text(nc_xml_first(root, "name"));
	d.uuid = nc_xml_text(nc_xml_first(root, "uuid"));
	d.memory = memory_of(nc_xml_first(root, "memory"));
	n = nc_xml_first(root, "currentMemory");
	d.cur_memory = n ? memory_of(n) : d.memory;
	v = nc_xml_text(nc_xml_first(root, "vcpu"));
	d.vcpus = v ? (unsigned)strtoul(v, NULL, 10) : 0;
	free(v);
	d.machine = nc_xml_attr(nc_xml_first(nc_xml_first(root, "os"), "type"), "machine");
	parse_meta(&d, nc_xml_first(root, "metadata"));

	devs = nc_xml_first(root, "devices");
	for (n = devs ? devs->children : NULL; n; n = n->next) {
		if (nc_xml_is(n, "disk")) {
			char *dev = nc_xml_attr(n, "device");

			if (dev && strcmp(dev, "cdrom") == 0)
				ncdroms++;
			else
				ndisks++;
			free(dev);
		} else if (nc_xml_is(n, "interface")) {
			nnics++;
		}
	}
	d.disks = nc_xcalloc(ndisks ? ndisks : 1, sizeof(*d.disks));
	d.cdroms = nc_xcalloc(ncdroms ? ncdroms : 1, sizeof(*d.cdroms));
	d.nics = nc_xcalloc(nnics ? nnics : 1, sizeof(*d.nics));
	for (n = devs ? devs->children : NULL; n; n = n->next) {
		if (nc_xml_is(n, "disk")) {
			char *dev = nc_xml_attr(n, "device");

			if (!dev || strcmp(dev, "disk") == 0)
				parse_disk(&d.disks[d.ndisks++], n);
			else if (strcmp(dev, "cdrom") == 0)
				parse_disk(&d.cdroms[d.ncdroms++], n);
			free(dev);
		} else if (nc_xml_is(n, "interface")) {
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
	for (i = 0; i < d->nsnaps; i++) {
		free(d->snaps[i].name);
		free(d->snaps[i].description);
		free(d->snaps[i].state);
	}
	free(d->snaps);
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
	for (i = 0; i < h->ndegraded; i++)
		free(h->degraded[i]);
	free(h->degraded);
	free(h->node.hostname);
	memset(h, 0, sizeof(*h));
}
