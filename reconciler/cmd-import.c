/*
 * cmd-import.c - `novacron import DOMAIN... --host HOST [PATH...]`: describes
 * existing unmanaged libvirt domains as VM documents of the spec, with the
 * annotation novacron.io/adopt: "true".  Nothing is changed: once the
 * documents are committed, plan shows an `adopt` action for each and apply
 * writes NovaCron's ownership metadata into the domain (docs/adopt.md).
 */
#include "cli.h"
#include "opts.h"
#include "pass-cli.h"
#include "yemit.h"
#include "../drivers/storage/storage.h"
#include "../spec/util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_HOST = NC_OPT_LONG_ONLY, OPT_OUT, OPT_CONFIG, OPT_STATE_DIR, OPT_TIMEOUT };

static const struct nc_opt import_opts[] = {
	{ "host", OPT_HOST, "HOST", "the Host of the spec whose domains are read (required); the documents "
	  "pin their VMs to it", NC_COMP_HOST, NULL },
	{ "out", OPT_OUT, "FILE", "write the documents to FILE instead of standard output; an existing FILE "
	  "is never overwritten", NC_COMP_FILE, NULL },
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration: how hosts are reached (default "
	  "$NOVACRON_CONFIG)", NC_COMP_FILE, NULL },
	{ "state-dir", OPT_STATE_DIR, "DIR", "where simulated hosts keep their state (default "
	  "$NOVACRON_STATE_DIR, $XDG_STATE_HOME/novacron or ~/.local/state/novacron)", NC_COMP_DIR, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const import_examples[] = {
	"describe the unmanaged domain web-1 of host kvm1 (spec in the current folder)",
	"novacron import web-1 --host kvm1",
	"write two domains into a new file of the spec, review it, then plan: it shows two adopt actions",
	"novacron import web-1 db-1 --host kvm1 clusters/prod --out clusters/prod/vms/adopted.yaml && "
	"novacron plan clusters/prod",
	NULL,
};

const struct nc_cmd_doc nc_doc_import = {
	"import", "import DOMAIN... --host HOST [PATH...] [--out FILE] [--config FILE] [--state-dir DIR]",
	"describe existing unmanaged libvirt domains as VM documents that adopt them",
	"Reads each DOMAIN on HOST (a Host of the spec under PATH, default \".\") and prints a VM document "
	"that describes it as the spec would: vcpus, memory, disks (volumes of the spec's StoragePools), "
	"NICs (network or bridge, MAC), state, placement pinned to HOST, and the annotation "
	"novacron.io/adopt: \"true\". What the spec cannot express is listed on standard error. Nothing is "
	"changed: commit the documents, and plan shows an adopt action for each; apply then writes "
	"NovaCron's ownership metadata into the domain without restarting it (docs/adopt.md).\n\n"
	"An argument that names an existing file or folder is a PATH; any other is a DOMAIN. A domain "
	"already declared as a VM of the spec, a domain that does not exist, one that NovaCron already "
	"manages, and a name the spec does not allow are errors (exit 1).",
	import_opts, import_examples, NC_COMP_FILE, NULL,
};

/* "4GiB", "1536MiB", or bytes: the exact value in the largest unit that divides it */
static void exact_size(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };
	size_t i;

	for (i = 0; i < 4; i++) {
		uint64_t u = 1ULL << (10 * (4 - i));

		if (v && v % u == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(v / u), units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void jset(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static void jstr(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

/* the StoragePool and disk name a volume path stands for, as desired.c names volumes */
static bool disk_from_source(const struct nc_spec *spec, const char *vm, const struct nc_dom_disk *d,
			     const char **pool, char **disk)
{
	const struct nc_pool *p;
	size_t i;

	if (!d->source)
		return false;
	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, p, i) {
		bool rbd = NC_IS_SET(p->spec.type) && p->spec.type.v == NC_POOL_RBD;
		const char *base = rbd ? p->spec.rbd.pool.v : p->spec.path.v;
		const char *suffix = rbd ? "" : ".qcow2";
		size_t bl = base ? strlen(base) : 0, vl = strlen(vm), sl = strlen(d->source), xl = strlen(suffix);

		if (!base || (rbd != (d->type && strcmp(d->type, "network") == 0)))
			continue;
		while (bl > 1 && base[bl - 1] == '/')
			bl--;
		/* BASE/VM-DISK[.qcow2] */
		if (sl > bl + 1 + vl + 1 + xl && strncmp(d->source, base, bl) == 0 && d->source[bl] == '/' &&
		    strncmp(d->source + bl + 1, vm, vl) == 0 && d->source[bl + 1 + vl] == '-' &&
		    strcmp(d->source + sl - xl, suffix) == 0) {
			char *name = nc_xstrndup(d->source + bl + 1 + vl + 1, sl - (bl + 1 + vl + 1) - xl);

			if (!nc_name_ok(name)) {
				free(name);
				continue;
			}
			*pool = p->obj.meta.name.v;
			*disk = name;
			return true;
		}
	}
	return false;
}

/* the Network a NIC is on: a libvirt network by its name, a bridge by a bridge Network */
static const char *nic_network(const struct nc_spec *spec, const struct nc_dom_nic *n)
{
	const struct nc_network *net;
	size_t i;

	if (!n->source || !n->type)
		return NULL;
	NC_SPEC_EACH(spec, NC_KIND_NETWORK, const struct nc_network, net, i) {
		bool bridge = NC_IS_SET(net->spec.type) && net->spec.type.v == NC_NET_BRIDGE;

		if (bridge && strcmp(n->type, "bridge") == 0 && net->spec.bridge.v &&
		    strcmp(net->spec.bridge.v, n->source) == 0)
			return net->obj.meta.name.v;
		if (!bridge && strcmp(n->type, "network") == 0 && strcmp(net->obj.meta.name.v, n->source) == 0)
			return net->obj.meta.name.v;
	}
	return NULL;
}

static int bus_rank(const char *bus)
{
	return !bus ? 0 : !strcmp(bus, "virtio") ? 0 : !strcmp(bus, "scsi") ? 1 : !strcmp(bus, "sata") ? 2 : 3;
}

static int disk_cmp(const void *pa, const void *pb)
{
	const struct nc_dom_disk *a = *(const struct nc_dom_disk *const *)pa, *b = *(const struct nc_dom_disk *const *)pb;

	return strcmp(a->target ? a->target : "", b->target ? b->target : "");
}

/* one VM document; what cannot be represented goes to lost ("web-1: ...\n" lines) */
static struct json_object *vm_doc(const struct nc_spec *spec, const char *host, struct nc_host_conn *conn,
				  const struct nc_domain *d, struct nc_buf *lost)
{
	struct json_object *doc = json_object_new_object(), *md = json_object_new_object(),
			   *an = json_object_new_object(), *sp = json_object_new_object(),
			   *pl = json_object_new_object(), *disks = json_object_new_array(),
			   *nics = json_object_new_array();
	const struct nc_dom_disk **sorted;
	char sz[48];
	size_t i;

	jstr(doc, "apiVersion", "novacron.io/v1");
	jstr(doc, "kind", "VM");
	jstr(md, "name", d->name);
	jstr(an, NC_ADOPT_ANNOTATION, "true");
	jset(md, "annotations", an);
	jset(doc, "metadata", md);
	jset(sp, "vcpus", json_object_new_int((int)d->vcpus));
	exact_size(d->memory, sz, sizeof(sz));
	jstr(sp, "memory", sz);
	if (d->state == NC_DOM_SHUTOFF)
		jstr(sp, "state", "stopped");
	else if (d->state != NC_DOM_RUNNING)
		nc_buf_addf(lost, "%s: it is %s; the spec knows running and stopped (running is written)\n",
			    d->name, nc_dom_state_name(d->state));
	jstr(pl, "host", host);
	jset(sp, "placement", pl);
	if (d->machine)
		nc_buf_addf(lost, "%s: machine type %s is left out (NovaCron keeps the machine type of a domain "
			    "whose spec names none)\n", d->name, d->machine);

	/* disks in target order per bus, as desired.c gives targets */
	sorted = nc_xcalloc(d->ndisks + 1, sizeof(*sorted));
	for (i = 0; i < d->ndisks; i++)
		sorted[i] = &d->disks[i];
	if (d->ndisks > 1)
		qsort(sorted, d->ndisks, sizeof(*sorted), disk_cmp);
	for (int rank = 0; rank < 4; rank++) {
		for (i = 0; i < d->ndisks; i++) {
			const struct nc_dom_disk *k = sorted[i];
			struct json_object *j;
			const char *pool = NULL;
			char *name = NULL;
			uint64_t cap = k->capacity, alloc = 0;

			if (bus_rank(k->bus) != rank)
				continue;
			if (!disk_from_source(spec, d->name, k, &pool, &name)) {
				nc_buf_addf(lost, "%s: disk %s (%s) is left out: the spec names a disk's volume "
					    "POOLPATH/%s-DISK.qcow2 (dir pools) or RBDPOOL/%s-DISK (rbd) of a declared "
					    "StoragePool; move or rename the volume, or keep it out of the spec\n",
					    d->name, k->target ? k->target : "?", k->source ? k->source : "no source",
					    d->name, d->name);
				continue;
			}
			j = json_object_new_object();
			jstr(j, "name", name);
			jstr(j, "pool", pool);
			if (!cap && conn && k->source)
				nc_vol_sizes_by_path(conn, k->source, &cap, &alloc);
			if (cap >= (1ULL << 20)) {
				exact_size(cap, sz, sizeof(sz));
				jstr(j, "size", sz);
			}
			if (k->bus && strcmp(k->bus, "virtio") != 0)
				jstr(j, "bus", k->bus);
			if (k->boot)
				jset(j, "boot", json_object_new_boolean(1));
			json_object_array_add(disks, j);
			free(name);
		}
	}
	free(sorted);
	if (json_object_array_length(disks))
		jset(sp, "disks", disks);
	else
		json_object_put(disks);
	for (i = 0; i < d->ncdroms; i++)
		nc_buf_addf(lost, "%s: CD-ROM %s (%s) is left out: the spec has no CD-ROMs (cloud-init seeds "
			    "are made by NovaCron)\n", d->name, d->cdroms[i].target ? d->cdroms[i].target : "?",
			    d->cdroms[i].source ? d->cdroms[i].source : "empty");

	for (i = 0; i < d->nnics; i++) {
		const struct nc_dom_nic *n = &d->nics[i];
		const char *net = nic_network(spec, n);
		struct json_object *j = json_object_new_object();
		char name[32];

		snprintf(name, sizeof(name), "eth%zu", i);
		jstr(j, "name", name);
		if (net)
			jstr(j, "network", net);
		else
			nc_buf_addf(lost, "%s: NIC %s (%s %s) is on no Network of the spec: declare one (type bridge "
				    "for a host bridge) and set its network\n", d->name, n->mac ? n->mac : "?",
				    n->type ? n->type : "?", n->source ? n->source : "?");
		if (n->model && (!strcmp(n->model, "e1000") || !strcmp(n->model, "rtl8139")))
			jstr(j, "model", n->model);
		else if (n->model && strcmp(n->model, "virtio") != 0)
			nc_buf_addf(lost, "%s: NIC %s model %s is not one the spec knows (virtio is written)\n",
				    d->name, n->mac ? n->mac : "?", n->model);
		if (n->mac) {
			char mac[18];
			size_t c;

			snprintf(mac, sizeof(mac), "%s", n->mac);
			for (c = 0; mac[c]; c++)
				mac[c] = (char)(mac[c] >= 'A' && mac[c] <= 'F' ? mac[c] - 'A' + 'a' : mac[c]);
			jstr(j, "mac", mac);
		}
		json_object_array_add(nics, j);
	}
	if (json_object_array_length(nics))
		jset(sp, "nics", nics);
	else
		json_object_put(nics);
	jset(doc, "spec", sp);
	return doc;
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* the domains of the host, for "did you mean" and the list of those that exist */
static void unknown_domain(const char *name, const char *host, const struct nc_observed_host *o)
{
	unsigned len = (unsigned)strlen(name), max = len < 4 ? 1 : len < 8 ? 2 : 3, best = ~0u;
	const char *pick = NULL;
	struct nc_buf b = NC_BUF_INIT;
	size_t i, shown = 0;

	for (i = 0; i < o->ndoms; i++) {
		unsigned dist = nc_edit_distance(name, o->doms[i].name, max);

		if (dist <= max && dist < best) {
			best = dist;
			pick = o->doms[i].name;
		}
		if (shown < 20) {
			char *q = nc_ctl_escape(o->doms[i].name);

			nc_buf_addf(&b, "%s%s", shown++ ? ", " : "", q);
			free(q);
		}
	}
	if (o->ndoms > shown)
		nc_buf_addf(&b, " and %zu more", o->ndoms - shown);
	{
		char *q = nc_ctl_escape(name);

		fprintf(stderr, "novacron import: no domain named '%s' on %s", q, host);
		free(q);
	}
	if (pick) {
		char *q = nc_ctl_escape(pick);

		fprintf(stderr, "; did you mean '%s'?", q);
		free(q);
	}
	fprintf(stderr, " (domains there: %s)\n", o->ndoms ? b.buf : "none");
	nc_buf_release(&b);
}

int cmd_import(int argc, char **argv)
{
	struct nc_getopt g;
	const char *host_name = NULL, *out_file = NULL, *config_file = NULL, *state_dir = NULL;
	struct nc_pass_args pa;
	struct nc_cli_config cfg;
	struct nc_spec *spec = NULL;
	const char **paths, **doms;
	size_t npaths = 0, ndoms = 0, i, j;
	struct nc_host_conn *conn = NULL;
	struct nc_observed_host obs;
	struct json_object **docs = NULL;
	struct nc_buf out = NC_BUF_INIT, lost = NC_BUF_INIT;
	const struct nc_host *host;
	struct nc_err err = { "" };
	int c, rc = NC_EXIT_ERROR;
	bool bad = false;

	memset(&pa, 0, sizeof(pa));
	memset(&cfg, 0, sizeof(cfg));
	memset(&obs, 0, sizeof(obs));
	nc_getopt_init(&g, import_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_HOST: host_name = optarg; break;
		case OPT_OUT: out_file = optarg; break;
		case OPT_CONFIG: config_file = optarg; break;
		case OPT_STATE_DIR: state_dir = optarg; break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_import);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_import);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	paths = nc_xcalloc((size_t)argc + 1, sizeof(*paths));
	doms = nc_xcalloc((size_t)argc + 1, sizeof(*doms));
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		if (exists(argv[i]))
			paths[npaths++] = argv[i];
		else
			doms[ndoms++] = argv[i];
	}
	if (!host_name || !ndoms) {
		fprintf(stderr, "novacron import: %s\n", !host_name ? "--host HOST is required" :
			"name at least one DOMAIN (an argument naming an existing file or folder is a PATH)");
		nc_cmd_usage_error(&nc_doc_import);
		goto out;
	}
	if (!npaths)
		paths[npaths++] = ".";
	if (!state_dir)
		state_dir = nc_pass_default_state_dir(&pa);
	for (i = 0; i < ndoms; i++) {
		if (!nc_name_ok(doms[i])) {
			char *q = nc_ctl_escape(doms[i]);

			fprintf(stderr, "novacron import: '%s' is not a valid VM name (at most 63 of a-z, 0-9 and -, "
				"a letter or digit at each end); rename the domain first, e.g. virsh domrename '%s' "
				"NEWNAME (it must be shut off)\n", q, q);
			free(q);
			bad = true;
		}
		for (j = 0; j < i; j++)
			if (strcmp(doms[i], doms[j]) == 0) {
				fprintf(stderr, "novacron import: domain %s is named twice\n", doms[i]);
				bad = true;
			}
	}
	if (bad)
		goto out;
	if (nc_cli_config_load(&cfg, "import", config_file) < 0 ||
	    nc_cli_spec_load(&spec, &cfg, "import", paths, npaths) < 0)
		goto out;
	/* a VM the spec declares already: importing it would declare it twice */
	for (i = 0; i < ndoms; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, doms[i]);

		if (vm) {
			fprintf(stderr, "%s:%u:%u: error: VM '%s' is already declared here; import describes only "
				"domains the spec does not declare (give the VM novacron.io/adopt: \"true\" to adopt "
				"the domain of its name)\n", vm->obj.meta.pos.file ? vm->obj.meta.pos.file : "?",
				vm->obj.meta.name.pos.line, vm->obj.meta.name.pos.col, doms[i]);
			bad = true;
		}
	}
	if (bad)
		goto out;
	host = (const struct nc_host *)nc_spec_find(spec, NC_KIND_HOST, host_name);
	if (!host) {
		fprintf(stderr, "novacron import: no Host named '%s' in the spec\n", host_name);
		goto out;
	}
	{
		char *uri = nc_connection_uri(host, &cfg.connections, false, &err);
		struct nc_driver_opts dopts = { state_dir };

		if (!uri || nc_host_open(&conn, uri, &dopts, &err) < 0 || conn->drv->observe(conn, &obs, &err) < 0) {
			if (uri)
				nc_connection_error_clean(&err, uri, host->spec.uri.v);
			fprintf(stderr, "novacron import: cannot read host %s: %s\n", host_name, err.msg);
			free(uri);
			goto out;
		}
		free(uri);
	}
	docs = nc_xcalloc(ndoms + 1, sizeof(*docs));
	for (i = 0; i < ndoms; i++) {
		const struct nc_domain *d = NULL;

		for (j = 0; j < obs.ndoms; j++)
			if (strcmp(obs.doms[j].name, doms[i]) == 0)
				d = &obs.doms[j];
		if (!d) {
			unknown_domain(doms[i], host_name, &obs);
			bad = true;
			continue;
		}
		if (d->managed) {
			fprintf(stderr, "novacron import: domain %s on %s is already managed by NovaCron (as VM %s): "
				"nothing to adopt\n", d->name, host_name, d->meta_vm);
			bad = true;
			continue;
		}
		docs[i] = vm_doc(spec, host_name, conn, d, &lost);
	}
	if (bad)
		goto out;
	if (nc_yaml_emit_json(docs, ndoms, &out) < 0) {
		fprintf(stderr, "novacron import: cannot write YAML\n");
		goto out;
	}
	if (out_file) {
		int fd = open(out_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd < 0) {
			fprintf(stderr, "novacron import: cannot create %s: %s%s\n", out_file, strerror(errno),
				errno == EEXIST ? " (import never overwrites a file)" : "");
			goto out;
		}
		if (write(fd, out.buf, out.len) != (ssize_t)out.len || close(fd) < 0) {
			fprintf(stderr, "novacron import: cannot write %s: %s\n", out_file, strerror(errno));
			unlink(out_file);
			goto out;
		}
	} else {
		fwrite(out.buf, 1, out.len, stdout);
	}
	if (lost.len)
		fprintf(stderr, "novacron import: not represented in the spec:\n%s", lost.buf);
	fprintf(stderr, "novacron import: %zu VM%s described%s%s; commit %s under the spec, then novacron plan "
		"shows %s adopt action%s\n", ndoms, ndoms == 1 ? "" : "s", out_file ? " in " : "",
		out_file ? out_file : "", ndoms == 1 ? "it" : "them", ndoms == 1 ? "an" : "the",
		ndoms == 1 ? "" : "s");
	rc = NC_EXIT_OK;
out:
	for (i = 0; docs && i < ndoms; i++)
		if (docs[i])
			json_object_put(docs[i]);
	free(docs);
	nc_buf_release(&out);
	nc_buf_release(&lost);
	nc_observed_host_release(&obs);
	if (conn)
		nc_host_close(conn);
	nc_spec_free(spec);
	nc_cli_config_release(&cfg);
	nc_pass_args_release(&pa);
	free(paths);
	free(doms);
	return rc;
}
