/*
 * cmd-get.c - `novacron get vms|hosts|pools|volumes|networks [NAME...]
 * [PATH...] [-o text|wide|json|yaml]`: what the hosts really hold (observed
 * state), kubectl-style.  The hosts are those of the spec under PATH, read
 * as plan reads them (pass-cli.c nc_pass_run: the operator's connections,
 * in parallel, with a timeout); nothing is changed.  One json-c list is
 * built and printed as a table, as JSON or as YAML (libyaml's emitter).
 * `list` is the same command.
 */
#include "cli.h"
#include "opts.h"
#include "pass-cli.h"
#include "yemit.h"
#include "../drivers/network/network.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum { OPT_HOST = NC_OPT_LONG_ONLY, OPT_CONFIG, OPT_STATE_DIR, OPT_TIMEOUT };
enum out_fmt { OUT_TEXT, OUT_WIDE, OUT_JSON, OUT_YAML };
enum kind { K_VMS, K_HOSTS, K_POOLS, K_VOLUMES, K_NETWORKS };

static const struct nc_opt get_opts[] = {
	{ "output", 'o', "FORMAT", "text (default), wide (more columns), json or yaml", NC_COMP_WORDS,
	  "text wide json yaml" },
	{ "selector", 'l', "SELECTOR", "only VMs (or hosts) whose spec labels match KEY=VALUE[,KEY=VALUE...]; "
	  "unmanaged domains have no labels", NC_COMP_NONE, NULL },
	{ "host", OPT_HOST, "HOST", "only what HOST holds", NC_COMP_HOST, NULL },
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration: how hosts are reached (default "
	  "$NOVACRON_CONFIG)", NC_COMP_FILE, NULL },
	{ "state-dir", OPT_STATE_DIR, "DIR", "where the record of hosts is kept and simulated hosts keep their "
	  "state (default $NOVACRON_STATE_DIR, $XDG_STATE_HOME/novacron or ~/.local/state/novacron)",
	  NC_COMP_DIR, NULL },
	{ "timeout", OPT_TIMEOUT, "SEC", "give up on a host that does not answer within SEC seconds (1-3600, "
	  "default 30)", NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const get_examples[] = {
	"every domain of the quickstart's simulated hosts, managed or not",
	"novacron get vms examples/quickstart",
	"two VMs with their disks, NICs, addresses and drift against the spec",
	"novacron get vms web-1 web-2 -o wide examples/quickstart",
	"hosts as JSON, for a script",
	"novacron get hosts -o json clusters/prod",
	"the networks of one host as YAML",
	"novacron list networks --host kvm1 -o yaml clusters/prod",
	NULL,
};

const struct nc_cmd_doc nc_doc_get = {
	"get", "get vms|hosts|pools|volumes|networks [NAME...] [PATH...] [-o text|wide|json|yaml] [-l SELECTOR] "
	"[--host HOST] [--config FILE] [--state-dir DIR] [--timeout SEC]",
	"list what the hosts really hold (observed state), kubectl-style",
	"Reads every Host of the spec under PATH (default \".\") as plan does and lists, sorted, one row per "
	"object: vms (every domain, managed by NovaCron or not), hosts, pools (active storage pools), volumes "
	"(the disks of domains and the Image volumes NovaCron keeps) or networks. Nothing is changed. -o "
	"json and -o yaml print {format_version: 1, kind: VMList|HostList|PoolList|VolumeList|NetworkList, "
	"items: [...]}. A host that cannot be read gives an entry with its error and exit code 1.\n\n"
	"An argument that names an existing file or folder is a PATH; any other is a NAME (only those "
	"objects are listed). `novacron list` is the same command.",
	get_opts, get_examples, NC_COMP_FILE, NULL,
};

static const char *const kind_list[] = { "VMList", "HostList", "PoolList", "VolumeList", "NetworkList" };

static int parse_kind(const char *s, enum kind *k)
{
	static const struct { const char *name; enum kind k; } names[] = {
		{ "vms", K_VMS }, { "vm", K_VMS }, { "domains", K_VMS },
		{ "hosts", K_HOSTS }, { "host", K_HOSTS },
		{ "pools", K_POOLS }, { "pool", K_POOLS },
		{ "volumes", K_VOLUMES }, { "volume", K_VOLUMES }, { "vols", K_VOLUMES },
		{ "networks", K_NETWORKS }, { "network", K_NETWORKS }, { "nets", K_NETWORKS },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*k = names[i].k;
			return 0;
		}
	return -1;
}

/* ---- selection ---- */

struct sel { char *key, *value; };

struct filter {
	const char *const *names;
	size_t nnames;
	const char *host;
	struct sel *sels;
	size_t nsels;
};

static int parse_selector(const char *s, struct filter *f)
{
	char *copy = nc_xstrdup(s), *tok, *save = NULL;
	int ret = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok) {
			ret = -1;
			break;
		}
		*eq = 0;
		f->sels = nc_xreallocarray(f->sels, f->nsels + 1, sizeof(*f->sels));
		f->sels[f->nsels].key = nc_xstrdup(tok);
		f->sels[f->nsels].value = nc_xstrdup(eq + 1 + (eq[1] == '='));   /* k=v or k==v */
		f->nsels++;
	}
	free(copy);
	return f->nsels ? ret : -1;
}

static bool labels_match(const struct filter *f, const struct nc_map *labels)
{
	size_t i;

	for (i = 0; i < f->nsels; i++) {
		const char *v = labels ? nc_map_get(labels, f->sels[i].key) : NULL;

		if (!v || strcmp(v, f->sels[i].value) != 0)
			return false;
	}
	return true;
}

static bool name_wanted(const struct filter *f, const char *a, const char *b)
{
	size_t i;

	if (!f->nnames)
		return true;
	for (i = 0; i < f->nnames; i++)
		if ((a && strcmp(a, f->names[i]) == 0) || (b && strcmp(b, f->names[i]) == 0))
			return true;
	return false;
}

/* ---- items ---- */

static void jstr(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void jint(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void jbool(struct json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

/* an entry for a host that could not be read: {"host": H, "error": ...} */
static void host_error(struct json_object *items, const char *host, const char *error)
{
	struct json_object *o = json_object_new_object();

	jstr(o, "host", host);
	jstr(o, "error", error ? error : "unreachable");
	json_object_array_add(items, o);
}

/* the address of a NIC: the static DHCP lease of its MAC on a network of the host */
static const char *nic_ip(const struct nc_observed_host *o, const struct nc_dom_nic *n)
{
	size_t i, j;

	for (i = 0; n->mac && n->type && strcmp(n->type, "network") == 0 && i < o->nnets; i++) {
		const struct nc_net_def *d = &o->nets[i].cfg;

		if (!d->name || !n->source || strcmp(d->name, n->source) != 0)
			continue;
		for (j = 0; j < d->nleases; j++)
			if (d->leases[j].mac && strcasecmp(d->leases[j].mac, n->mac) == 0)
				return d->leases[j].ip;
	}
	return NULL;
}

/* the plan has something to change on this VM (on this host) */
static bool drifted(const struct nc_plan *p, const char *vm, size_t host)
{
	size_t i;

	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].obj == NC_OBJ_VM && p->actions[i].host == host && strcmp(p->actions[i].vm, vm) == 0)
			return true;
	return false;
}

static void vm_items(const struct nc_pass *p, const struct filter *f, struct json_object *items)
{
	const struct nc_cluster *c = &p->cluster;
	size_t i, j, k;

	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		const char *hn = v->spec->obj.meta.name.v;

		if (f->host && strcmp(f->host, hn) != 0)
			continue;
		if (v->status != NC_HOST_OK) {
			host_error(items, hn, v->error);
			continue;
		}
		for (j = 0; j < v->obs.ndoms; j++) {
			const struct nc_domain *d = &v->obs.doms[j];
			const struct nc_vm *vm = (const struct nc_vm *)nc_spec_find(p->spec, NC_KIND_VM,
										 d->managed ? d->meta_vm : d->name);
			struct json_object *o, *disks, *nics;

			if (!name_wanted(f, d->name, d->managed ? d->meta_vm : NULL) ||
			    (f->nsels && !(vm && d->managed && labels_match(f, &vm->labels))))
				continue;
			o = json_object_new_object();
			jstr(o, "name", d->name);
			jstr(o, "host", hn);
			jstr(o, "state", nc_dom_state_name(d->state));
			jint(o, "vcpus", d->vcpus);
			jint(o, "memory", (int64_t)d->memory);
			jbool(o, "managed", d->managed);
			jstr(o, "vm", d->managed ? d->meta_vm : NULL);
			jstr(o, "uuid", d->uuid);
			jstr(o, "template", vm && d->managed && vm->spec.template_name.v ? vm->spec.template_name.v : NULL);
			jstr(o, "commit", d->managed ? d->meta_commit : NULL);
			/* drift: only for a managed domain of a VM the spec declares */
			if (vm && d->managed)
				jbool(o, "drift", drifted(&p->plan, d->meta_vm, i));
			else
				json_object_object_add(o, "drift", NULL);
			disks = json_object_new_array();
			for (k = 0; k < d->ndisks; k++) {
				struct json_object *dk = json_object_new_object();

				jstr(dk, "target", d->disks[k].target);
				jstr(dk, "bus", d->disks[k].bus);
				jstr(dk, "source", d->disks[k].source);
				jint(dk, "capacity", (int64_t)d->disks[k].capacity);
				json_object_array_add(disks, dk);
			}
			json_object_object_add(o, "disks", disks);
			nics = json_object_new_array();
			for (k = 0; k < d->nnics; k++) {
				struct json_object *n = json_object_new_object();

				jstr(n, "mac", d->nics[k].mac);
				jstr(n, "type", d->nics[k].type);
				jstr(n, "source", d->nics[k].source);
				jstr(n, "model", d->nics[k].model);
				jstr(n, "ip", nic_ip(&v->obs, &d->nics[k]));
				json_object_array_add(nics, n);
			}
			json_object_object_add(o, "nics", nics);
			json_object_array_add(items, o);
		}
	}
}

static void host_items(const struct nc_pass *p, const struct filter *f, struct json_object *items)
{
	const struct nc_cluster *c = &p->cluster;
	size_t i, j;

	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		const char *hn = v->spec->obj.meta.name.v;
		struct json_object *o;
		uint64_t used = 0;
		size_t managed = 0;
		char *uri;

		if ((f->host && strcmp(f->host, hn) != 0) || !name_wanted(f, hn, NULL) ||
		    (f->nsels && !labels_match(f, &v->spec->obj.meta.labels)))
			continue;
		o = json_object_new_object();
		jstr(o, "name", hn);
		uri = nc_url_redact(v->spec->spec.uri.v);
		jstr(o, "uri", uri);
		free(uri);
		jbool(o, "up", v->status == NC_HOST_OK);
		if (v->status != NC_HOST_OK) {
			jstr(o, "error", v->error ? v->error : "unreachable");
			json_object_array_add(items, o);
			continue;
		}
		for (j = 0; j < v->obs.ndoms; j++) {
			if (v->obs.doms[j].state == NC_DOM_RUNNING || v->obs.doms[j].state == NC_DOM_PAUSED)
				used += v->obs.doms[j].memory;
			managed += v->obs.doms[j].managed;
		}
		jint(o, "vcpus", v->obs.node.cpus);
		jint(o, "memory", (int64_t)v->obs.node.memory);
		jint(o, "memory_used", (int64_t)used);
		jint(o, "vms", (int64_t)v->obs.ndoms);
		jint(o, "managed", (int64_t)managed);
		jbool(o, "maintenance", v->spec->spec.maintenance.v);
		jstr(o, "hostname", v->obs.node.hostname);
		json_object_array_add(items, o);
	}
}

static void pool_items(const struct nc_pass *p, const struct filter *f, struct json_object *items)
{
	const struct nc_cluster *c = &p->cluster;
	size_t i, j;

	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		const char *hn = v->spec->obj.meta.name.v;
		struct nc_host_stats st;
		struct nc_err err = { "" };

		if (f->host && strcmp(f->host, hn) != 0)
			continue;
		if (v->status != NC_HOST_OK || !v->conn) {
			host_error(items, hn, v->error);
			continue;
		}
		memset(&st, 0, sizeof(st));
		if (!v->conn->drv->stats || v->conn->drv->stats(v->conn, &st, &err) < 0) {
			host_error(items, hn, v->conn->drv->stats ? err.msg : "this host's driver cannot list pools");
			nc_host_stats_release(&st);
			continue;
		}
		for (j = 0; j < st.npools; j++) {
			const struct nc_object *sp;
			struct json_object *o;

			if (!name_wanted(f, st.pools[j].name, NULL))
				continue;
			o = json_object_new_object();
			jstr(o, "name", st.pools[j].name);
			jstr(o, "host", hn);
			/* NovaCron names a StoragePool's libvirt pool novacron-POOL (drivers/storage/storage.c) */
			sp = strncmp(st.pools[j].name, "novacron-", 9) == 0 ?
			     nc_spec_find(p->spec, NC_KIND_STORAGE_POOL, st.pools[j].name + 9) : NULL;
			jbool(o, "managed", sp != NULL);
			jstr(o, "pool", sp ? sp->meta.name.v : NULL);
			jbool(o, "shared", st.pools[j].shared);
			jint(o, "capacity", (int64_t)st.pools[j].capacity);
			jint(o, "allocation", (int64_t)st.pools[j].allocation);
			jint(o, "available", (int64_t)st.pools[j].available);
			json_object_array_add(items, o);
		}
		nc_host_stats_release(&st);
	}
}

static void volume_items(const struct nc_pass *p, const struct filter *f, struct json_object *items)
{
	const struct nc_cluster *c = &p->cluster;
	size_t i, j, k;

	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		const char *hn = v->spec->obj.meta.name.v;

		if (f->host && strcmp(f->host, hn) != 0)
			continue;
		if (v->status != NC_HOST_OK) {
			host_error(items, hn, v->error);
			continue;
		}
		for (j = 0; j < v->obs.ndoms; j++) {
			const struct nc_domain *d = &v->obs.doms[j];

			for (k = 0; k < d->ndisks; k++) {
				const struct nc_dom_disk *dk = &d->disks[k];
				struct json_object *o;

				if (!name_wanted(f, dk->source, d->name))
					continue;
				o = json_object_new_object();
				jstr(o, "name", dk->source);
				jstr(o, "host", hn);
				jstr(o, "domain", d->name);
				jstr(o, "target", dk->target);
				jstr(o, "format", dk->format);
				jstr(o, "type", dk->type);
				jint(o, "capacity", (int64_t)dk->capacity);
				jint(o, "allocation", (int64_t)dk->allocation);
				json_object_array_add(items, o);
			}
		}
		for (j = 0; j < v->nimages; j++) {
			struct json_object *o;

			if (!v->images[j].present || !name_wanted(f, v->images[j].image, NULL))
				continue;
			o = json_object_new_object();
			jstr(o, "name", v->images[j].image);
			jstr(o, "host", hn);
			jstr(o, "domain", NULL);
			jstr(o, "pool", v->images[j].pool);
			jstr(o, "image", v->images[j].image);
			jbool(o, "complete", v->images[j].complete);
			json_object_array_add(items, o);
		}
	}
}

static void network_items(const struct nc_pass *p, const struct filter *f, struct json_object *items)
{
	const struct nc_cluster *c = &p->cluster;
	size_t i, j;

	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		const char *hn = v->spec->obj.meta.name.v;

		if (f->host && strcmp(f->host, hn) != 0)
			continue;
		if (v->status != NC_HOST_OK || v->obs.nets_error) {
			host_error(items, hn, v->status != NC_HOST_OK ? v->error : v->obs.nets_error);
			continue;
		}
		for (j = 0; j < v->obs.nnets; j++) {
			const struct nc_net_obs *n = &v->obs.nets[j];
			struct json_object *o;
			char sub[80];

			if (!name_wanted(f, n->cfg.name, n->managed ? n->cfg.meta_name : NULL))
				continue;
			o = json_object_new_object();
			jstr(o, "name", n->cfg.name);
			jstr(o, "host", hn);
			jbool(o, "active", n->active);
			jbool(o, "autostart", n->autostart);
			jbool(o, "managed", n->managed);
			jstr(o, "forward", n->cfg.forward ? n->cfg.forward : "none");
			jstr(o, "bridge", n->cfg.bridge);
			if (n->cfg.ip4) {
				snprintf(sub, sizeof(sub), "%s/%u", n->cfg.ip4, n->cfg.prefix4);
				jstr(o, "ipv4", sub);
			} else {
				jstr(o, "ipv4", NULL);
			}
			jint(o, "leases", (int64_t)n->cfg.nleases);
			json_object_array_add(items, o);
		}
	}
}

/* ---- text ---- */

enum col_fmt { C_STR, C_SIZE, C_INT, C_BOOL, C_COUNT, C_NICS_IP };
struct col { const char *hdr, *key; enum col_fmt fmt; bool wide; };

static const struct col vm_cols[] = {
	{ "NAME", "name", C_STR, false }, { "HOST", "host", C_STR, false }, { "STATE", "state", C_STR, false },
	{ "VCPUS", "vcpus", C_INT, false }, { "MEMORY", "memory", C_SIZE, false },
	{ "MANAGED", "managed", C_BOOL, false }, { "DISKS", "disks", C_COUNT, true },
	{ "NICS", "nics", C_COUNT, true }, { "IP", "nics", C_NICS_IP, true },
	{ "TEMPLATE", "template", C_STR, true }, { "UUID", "uuid", C_STR, true }, { "DRIFT", "drift", C_BOOL, true },
	{ NULL, NULL, C_STR, false },
};
static const struct col host_cols[] = {
	{ "NAME", "name", C_STR, false }, { "URI", "uri", C_STR, false }, { "UP", "up", C_BOOL, false },
	{ "VCPUS", "vcpus", C_INT, false }, { "MEMORY", "memory", C_SIZE, false },
	{ "USED", "memory_used", C_SIZE, false }, { "VMS", "vms", C_INT, false },
	{ "MANAGED", "managed", C_INT, true }, { "MAINTENANCE", "maintenance", C_BOOL, true },
	{ "HOSTNAME", "hostname", C_STR, true },
	{ NULL, NULL, C_STR, false },
};
static const struct col pool_cols[] = {
	{ "NAME", "name", C_STR, false }, { "HOST", "host", C_STR, false }, { "MANAGED", "managed", C_BOOL, false },
	{ "CAPACITY", "capacity", C_SIZE, false }, { "ALLOCATION", "allocation", C_SIZE, false },
	{ "AVAILABLE", "available", C_SIZE, false }, { "SPEC", "pool", C_STR, true },
	{ "SHARED", "shared", C_BOOL, true },
	{ NULL, NULL, C_STR, false },
};
static const struct col volume_cols[] = {
	{ "NAME", "name", C_STR, false }, { "HOST", "host", C_STR, false }, { "DOMAIN", "domain", C_STR, false },
	{ "CAPACITY", "capacity", C_SIZE, false }, { "ALLOCATION", "allocation", C_SIZE, false },
	{ "TARGET", "target", C_STR, true }, { "FORMAT", "format", C_STR, true }, { "POOL", "pool", C_STR, true },
	{ NULL, NULL, C_STR, false },
};
static const struct col network_cols[] = {
	{ "NAME", "name", C_STR, false }, { "HOST", "host", C_STR, false }, { "ACTIVE", "active", C_BOOL, false },
	{ "MANAGED", "managed", C_BOOL, false }, { "FORWARD", "forward", C_STR, false },
	{ "IPV4", "ipv4", C_STR, false }, { "AUTOSTART", "autostart", C_BOOL, true },
	{ "BRIDGE", "bridge", C_STR, true }, { "LEASES", "leases", C_INT, true },
	{ NULL, NULL, C_STR, false },
};

/* one cell, escaped (names come from libvirt); "-" for nothing */
static char *cell(struct json_object *item, const struct col *c)
{
	struct json_object *v = NULL;
	char buf[64];
	size_t i;

	if (!json_object_object_get_ex(item, c->key, &v) || !v)
		return nc_xstrdup("-");
	switch (c->fmt) {
	case C_STR:
		return nc_ctl_escape(json_object_get_string(v));
	case C_SIZE:
		if (!json_object_get_int64(v))
			return nc_xstrdup("-");
		nc_size_format((uint64_t)json_object_get_int64(v), buf, sizeof(buf));
		return nc_xstrdup(buf);
	case C_INT:
		return nc_xasprintf("%lld", (long long)json_object_get_int64(v));
	case C_BOOL:
		return nc_xstrdup(json_object_get_boolean(v) ? "yes" : "no");
	case C_COUNT:
		return nc_xasprintf("%zu", json_object_array_length(v));
	case C_NICS_IP:
		for (i = 0; i < json_object_array_length(v); i++) {
			struct json_object *ip = NULL;

			if (json_object_object_get_ex(json_object_array_get_idx(v, i), "ip", &ip) && ip)
				return nc_ctl_escape(json_object_get_string(ip));
		}
		return nc_xstrdup("-");
	}
	return nc_xstrdup("-");
}

static void text_out(struct json_object *items, const struct col *cols, bool wide, struct nc_buf *out)
{
	size_t ncols = 0, n = json_object_array_length(items), i, k, w[16];
	char **cells;

	for (k = 0; cols[k].hdr; k++)
		if (wide || !cols[k].wide)
			w[ncols++] = strlen(cols[k].hdr);
	cells = nc_xcalloc(n * ncols + 1, sizeof(*cells));
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(items, i), *err = NULL;
		size_t x = 0;

		if (json_object_object_get_ex(it, "error", &err) && err && !json_object_object_get_ex(it, "up", NULL))
			continue;    /* only its error, after the table */
		for (k = 0; cols[k].hdr; k++) {
			if (!wide && cols[k].wide)
				continue;
			cells[i * ncols + x] = cell(it, &cols[k]);
			if (strlen(cells[i * ncols + x]) > w[x])
				w[x] = strlen(cells[i * ncols + x]);
			x++;
		}
	}
	for (k = 0, i = 0; cols[k].hdr; k++)
		if (wide || !cols[k].wide) {
			nc_buf_addf(out, "%-*s%s", i + 1 < ncols ? (int)w[i] : 0, cols[k].hdr, i + 1 < ncols ? "  " : "\n");
			i++;
		}
	for (i = 0; i < n; i++) {
		if (!cells[i * ncols])
			continue;
		for (k = 0; k < ncols; k++)
			nc_buf_addf(out, "%-*s%s", k + 1 < ncols ? (int)w[k] : 0, cells[i * ncols + k],
				    k + 1 < ncols ? "  " : "\n");
	}
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(items, i), *h = NULL, *e = NULL;

		if (!json_object_object_get_ex(it, "error", &e) || !e)
			continue;
		if (!json_object_object_get_ex(it, "host", &h))
			json_object_object_get_ex(it, "name", &h);
		{
			char *hs = nc_ctl_escape(h ? json_object_get_string(h) : "?");
			char *es = nc_ctl_escape(json_object_get_string(e));

			nc_buf_addf(out, "error: host %s could not be read: %s\n", hs, es);
			free(hs);
			free(es);
		}
	}
	for (i = 0; i < n * ncols; i++)
		free(cells[i]);
	free(cells);
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

int cmd_get(int argc, char **argv)
{
	struct nc_getopt g;
	struct nc_pass_args a;
	struct nc_pass p;
	struct filter f;
	enum out_fmt fmt = OUT_TEXT;
	enum kind kind;
	const char **paths = NULL, **names = NULL;
	size_t npaths = 0, nnames = 0, i, unreachable = 0;
	struct json_object *root = NULL, *items;
	struct nc_buf out = NC_BUF_INIT;
	int c, rc = NC_EXIT_ERROR;
	char *end;

	memset(&a, 0, sizeof(a));
	memset(&p, 0, sizeof(p));
	memset(&f, 0, sizeof(f));
	a.cmd = "get";
	a.timeout_s = 30;
	a.popts.delete_threshold = 25;
	nc_getopt_init(&g, get_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case 'o':
			if (!strcmp(optarg, "text"))
				fmt = OUT_TEXT;
			else if (!strcmp(optarg, "wide"))
				fmt = OUT_WIDE;
			else if (!strcmp(optarg, "json"))
				fmt = OUT_JSON;
			else if (!strcmp(optarg, "yaml"))
				fmt = OUT_YAML;
			else {
				fprintf(stderr, "novacron get: --output must be text, wide, json or yaml\n");
				goto usage;
			}
			break;
		case 'l':
			if (parse_selector(optarg, &f) < 0) {
				fprintf(stderr, "novacron get: --selector must be KEY=VALUE[,KEY=VALUE...]\n");
				goto usage;
			}
			break;
		case OPT_HOST: f.host = optarg; break;
		case OPT_CONFIG: a.config_file = optarg; break;
		case OPT_STATE_DIR: a.state_dir = optarg; break;
		case OPT_TIMEOUT:
			errno = 0;
			a.timeout_s = (unsigned)strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || a.timeout_s < 1 || a.timeout_s > 3600) {
				fprintf(stderr, "novacron get: --timeout must be a number from 1 to 3600\n");
				goto usage;
			}
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_get);
			rc = NC_EXIT_OK;
			goto out;
		default:
			goto usage;
		}
	}
	nc_getopt_release(&g);
	if (optind >= argc || parse_kind(argv[optind], &kind) < 0) {
		fprintf(stderr, "novacron get: say what to list: vms, hosts, pools, volumes or networks\n");
		nc_cmd_usage_error(&nc_doc_get);
		goto out;
	}
	paths = nc_xcalloc((size_t)argc + 1, sizeof(*paths));
	names = nc_xcalloc((size_t)argc + 1, sizeof(*names));
	for (i = (size_t)optind + 1; i < (size_t)argc; i++) {
		if (exists(argv[i]))
			paths[npaths++] = argv[i];
		else
			names[nnames++] = argv[i];
	}
	if (!npaths)
		paths[npaths++] = ".";
	f.names = names;
	f.nnames = nnames;
	a.paths = paths;
	a.npaths = npaths;
	a.keep_open = kind == K_POOLS;
	if (!a.state_dir)
		a.state_dir = nc_pass_default_state_dir(&a);
	if (nc_pass_run(&p, &a) < 0)
		goto out;
	if (f.host && !nc_spec_find(p.spec, NC_KIND_HOST, f.host)) {
		fprintf(stderr, "novacron get: no Host named '%s' in the spec\n", f.host);
		goto out;
	}
	root = json_object_new_object();
	items = json_object_new_array();
	json_object_object_add(root, "format_version", json_object_new_int(1));
	json_object_object_add(root, "kind", json_object_new_string(kind_list[kind]));
	json_object_object_add(root, "items", items);
	switch (kind) {
	case K_VMS: vm_items(&p, &f, items); break;
	case K_HOSTS: host_items(&p, &f, items); break;
	case K_POOLS: pool_items(&p, &f, items); break;
	case K_VOLUMES: volume_items(&p, &f, items); break;
	case K_NETWORKS: network_items(&p, &f, items); break;
	}
	for (i = 0; i < json_object_array_length(items); i++)
		unreachable += json_object_object_get_ex(json_object_array_get_idx(items, i), "error", NULL);
	if (fmt == OUT_JSON) {
		nc_buf_adds(&out, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_SPACED |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
		nc_buf_addc(&out, '\n');
	} else if (fmt == OUT_YAML) {
		if (nc_yaml_emit_json(&root, 1, &out) < 0) {
			fprintf(stderr, "novacron get: cannot write YAML\n");
			goto out;
		}
	} else {
		static const struct col *const cols[] = { vm_cols, host_cols, pool_cols, volume_cols, network_cols };

		if (!json_object_array_length(items))
			fprintf(stderr, "novacron get: no %s found\n", argv[optind]);
		else
			text_out(items, cols[kind], fmt == OUT_WIDE, &out);
	}
	fwrite(out.buf, 1, out.len, stdout);
	rc = unreachable ? NC_EXIT_ERROR : NC_EXIT_OK;
	goto out;
usage:
	nc_getopt_release(&g);
	nc_cmd_usage_error(&nc_doc_get);
out:
	if (root)
		json_object_put(root);
	nc_buf_release(&out);
	nc_pass_release(&p);
	nc_pass_args_release(&a);
	for (i = 0; i < f.nsels; i++) {
		free(f.sels[i].key);
		free(f.sels[i].value);
	}
	free(f.sels);
	free(paths);
	free(names);
	return rc;
}
