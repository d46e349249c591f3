/*
 * networks.c - the libvirt networks a plan creates, updates, starts and
 * deletes (issue 11, Networks; docs/plan.md "Networks").
 *
 * A Network of type nat or isolated is needed on a host when a VM that
 * will be there after this plan (placed there now, moving there, or
 * staying) has a NIC on it.  For each reachable host, in spec order:
 *   missing              create: define, start, autostart;
 *   unmanaged            an error: a network NovaCron did not create is
 *                        never touched (rename one of them);
 *   managed, different   update: DHCP host and DNS host entries change
 *                        live (virNetworkUpdate) and the definition is
 *                        rewritten; anything else (forward mode, bridge,
 *                        addresses, DHCP on/off or range) needs a restart
 *                        of the network, shown with the running VMs it cuts
 *                        off; a running network that differs from its own
 *                        definition (an interrupted pass) converges the same way;
 *   defined, stopped     start (or update, then start).
 * A managed network no longer needed on a host is deleted only with
 * --prune, and never while a domain that stays on the host uses it.
 * Network creates, updates and starts run before every VM action, deletes
 * after them; VM actions wait (`after`) for the network actions they need.
 */
#include "plan-int.h"
#include "../drivers/network/network.h"
#include "../spec/ipaddr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool managed_type(const struct nc_network *n)
{
	return NC_IS_SET(n->spec.type) && n->spec.type.v != NC_NET_BRIDGE;
}

static char *ip_text(const struct nc_ip *ip)
{
	char buf[64];

	nc_ip_format(ip, buf, sizeof(buf));
	return nc_xstrdup(buf);
}

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

void nc_net_canonical(const struct nc_net_def *d, struct nc_buf *b)
{
	size_t i;

	nc_buf_addf(b, "network %s\nforward %s\nbridge %s\nipv4 %s/%u\nipv6 %s/%u\ndhcp %d %s %s\n",
		    dash(d->name), dash(d->forward), dash(d->bridge), dash(d->ip4), d->prefix4, dash(d->ip6),
		    d->prefix6, d->dhcp, dash(d->dhcp_start), dash(d->dhcp_end));
	for (i = 0; i < d->nleases; i++)
		nc_buf_addf(b, "lease %s %s %s\n", dash(d->leases[i].mac), dash(d->leases[i].name),
			    dash(d->leases[i].ip));
	for (i = 0; i < d->ndns; i++)
		nc_buf_addf(b, "dns %s %s\n", dash(d->dns[i].ip), dash(d->dns[i].name));
}

static void add_host(struct nc_net_host **v, size_t *n, const char *mac, const char *name, const char *ip)
{
	*v = nc_xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].mac = mac ? nc_xstrdup(mac) : NULL;
	(*v)[*n].name = nc_xstrdup(name);
	(*v)[*n].ip = nc_xstrdup(ip);
	(*n)++;
}

static void build(struct nc_net_desired *out, const struct nc_spec *spec, const struct nc_network *n,
		  const char *commit)
{
	struct nc_net_def *d = nc_xcalloc(1, sizeof(*d));
	const struct nc_net_spec *s = &n->spec;
	const char *name = n->obj.meta.name.v, *why;
	struct nc_buf b = NC_BUF_INIT;
	struct nc_cidr c;
	struct nc_ip ip;
	const struct nc_vm *vm;
	size_t i, j;

	memset(out, 0, sizeof(*out));
	out->net = n;
	out->def = d;
	d->name = nc_xstrdup(name);
	d->meta_name = nc_xstrdup(name);
	d->meta_commit = commit ? nc_xstrdup(commit) : NULL;
	d->forward = s->type.v == NC_NET_NAT ? nc_xstrdup("nat") : NULL;
	d->bridge = NC_IS_SET(s->bridge) ? nc_xstrdup(s->bridge.v) : NULL;
	d->autostart = NC_IS_SET(s->autostart) ? s->autostart.v : true;
	if (NC_IS_SET(s->subnet) && nc_cidr_parse(&c, s->subnet.v, &why) == 0 && c.ip.family == 4) {
		nc_cidr_nth(&c, 1, &ip);
		d->ip4 = ip_text(&ip);
		d->prefix4 = c.prefix;
		d->dhcp = s->dhcp.v;
		if (d->dhcp && NC_IS_SET(s->dhcp_range)) {
			d->dhcp_start = nc_xstrdup(s->dhcp_range.start.v);
			d->dhcp_end = nc_xstrdup(s->dhcp_range.end.v);
		} else if (d->dhcp) {
			struct nc_ip last;

			/* the host has the first address; the broadcast address is not handed out */
			nc_cidr_nth(&c, 2, &ip);
			d->dhcp_start = ip_text(&ip);
			nc_cidr_last(&c, &last);
			last.b[3]--;
			d->dhcp_end = ip_text(&last);
		}
	}
	if (NC_IS_SET(s->subnet6) && nc_cidr_parse(&c, s->subnet6.v, &why) == 0 && c.ip.family == 6) {
		nc_cidr_nth(&c, 1, &ip);
		d->ip6 = ip_text(&ip);
		d->prefix6 = c.prefix;
	}
	/* every VM with a fixed address on it: a static lease and a DNS name */
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		if (NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT)
			continue;
		for (j = 0; j < vm->eff.nics.n; j++) {
			const struct nc_nic *nic = (const struct nc_nic *)vm->eff.nics.v + j;
			char mac[18];

			if (!NC_IS_SET(nic->ip) || !nic->network.v || strcmp(nic->network.v, name) != 0 || !d->ip4)
				continue;
			nc_nic_mac(vm, nic, mac);
			if (d->dhcp)
				add_host(&d->leases, &d->nleases, mac, vm->obj.meta.name.v, nic->ip.v);
			add_host(&d->dns, &d->ndns, NULL, vm->obj.meta.name.v, nic->ip.v);
		}
	}
	nc_net_def_sort(d);
	nc_net_canonical(d, &b);
	nc_buf_addf(&b, "autostart %d\n", d->autostart);
	nc_sha256_hex(b.buf, b.len, out->hash);
	d->meta_hash = nc_xstrdup(out->hash);
	nc_buf_release(&b);
}

void nc_net_desired_release(struct nc_net_desired *d)
{
	if (!d)
		return;
	nc_net_def_release(d->def);
	free(d->def);
	d->def = NULL;
}

/* ---- where VMs will be ---- */

struct at {
	const char *vm;
	size_t host;
	int prio;            /* 0 observed, 1 created there, 2 migrated there */
};

static int at_cmp(const void *pa, const void *pb)
{
	const struct at *a = pa, *b = pb;
	int c = strcmp(a->vm, b->vm);

	if (c)
		return c;
	if (a->prio != b->prio)
		return a->prio > b->prio ? -1 : 1;
	return a->host < b->host ? -1 : a->host > b->host;
}

/* one host's use of one network: needed, and by which VMs */
struct need {
	bool need;
	struct nc_buf vms;
};

static void need_vm(struct need *nd, const char *vm)
{
	nc_buf_addf(&nd->vms, "%s%s", nd->need ? ", " : "", vm);
	nd->need = true;
}

static size_t net_index(const struct nc_spec *spec, const char *name)
{
	size_t i;

	for (i = 0; i < spec->nobjs[NC_KIND_NETWORK]; i++)
		if (strcmp(spec->objs[NC_KIND_NETWORK][i]->meta.name.v, name) == 0)
			return i;
	return (size_t)-1;
}

static void find_needs(struct need *needs, const struct nc_plan *p, const struct nc_spec *spec,
		       const struct nc_cluster *c)
{
	struct at *v;
	size_t n = 0, alloc = p->nactions + 1, i, j, k;

	for (i = 0; i < c->nhosts; i++)
		alloc += c->hosts[i].obs.ndoms;
	v = nc_xcalloc(alloc, sizeof(*v));
	for (i = 0; i < c->nhosts; i++)
		for (j = 0; j < c->hosts[i].obs.ndoms; j++)
			if (c->hosts[i].obs.doms[j].managed && c->hosts[i].obs.doms[j].meta_vm)
				v[n++] = (struct at){ c->hosts[i].obs.doms[j].meta_vm, i, 0 };
	for (i = 0; i < p->nactions; i++) {
		const struct nc_action *a = &p->actions[i];

		if (a->obj != NC_OBJ_VM)
			continue;
		if (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_RECOVER)
			v[n++] = (struct at){ a->vm, a->host, 1 };
		else if (a->kind == NC_ACT_MIGRATE)
			v[n++] = (struct at){ a->vm, a->target, 2 };
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), at_cmp);
	for (i = 0; i < n; i = j) {
		const struct nc_vm *vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, v[i].vm);

		for (j = i + 1; j < n && strcmp(v[j].vm, v[i].vm) == 0; j++)
			;
		if (!vm || (NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT))
			continue;
		/* a move or a create decides; else wherever it is found */
		for (k = i; k < j && (k == i || v[k].prio == v[i].prio); k++) {
			size_t m;

			for (m = 0; m < vm->eff.nics.n; m++) {
				const struct nc_nic *nic = (const struct nc_nic *)vm->eff.nics.v + m;
				size_t ni = nic->network.v ? net_index(spec, nic->network.v) : (size_t)-1;
				size_t q;
				bool dup = false;

				if (ni == (size_t)-1 ||
				    !managed_type((const struct nc_network *)spec->objs[NC_KIND_NETWORK][ni]))
					continue;
				for (q = 0; q < m; q++)   /* two NICs on one network: named once */
					if (((const struct nc_nic *)vm->eff.nics.v)[q].network.v &&
					    strcmp(((const struct nc_nic *)vm->eff.nics.v)[q].network.v, nic->network.v) == 0)
						dup = true;
				if (!dup)
					need_vm(&needs[ni * c->nhosts + v[k].host], vm->obj.meta.name.v);
			}
		}
	}
	free(v);
}

/* ---- comparing a definition with what a host holds ---- */

struct diff {
	bool restart;        /* forward, bridge, addresses or DHCP changed */
	bool entries;        /* DHCP or DNS host entries changed */
};

static void addr_text(char *buf, size_t len, const char *ip, unsigned prefix)
{
	if (ip)
		snprintf(buf, len, "%s/%u", ip, prefix);
	else
		snprintf(buf, len, "(none)");
}

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool has_lease(const struct nc_net_def *d, const struct nc_net_host *h)
{
	size_t i;

	for (i = 0; i < d->nleases; i++)
		if (strcasecmp(dash(d->leases[i].mac), dash(h->mac)) == 0 && same(d->leases[i].ip, h->ip) &&
		    same(d->leases[i].name, h->name))
			return true;
	return false;
}

static bool has_dns(const struct nc_net_def *d, const struct nc_net_host *h)
{
	size_t i;

	for (i = 0; i < d->ndns; i++)
		if (same(d->dns[i].ip, h->ip) && same(d->dns[i].name, h->name))
			return true;
	return false;
}

static const struct nc_net_host *lease_by_mac(const struct nc_net_def *d, const char *mac)
{
	size_t i;

	for (i = 0; i < d->nleases; i++)
		if (strcasecmp(dash(d->leases[i].mac), dash(mac)) == 0)
			return &d->leases[i];
	return NULL;
}

/* Compares want with have; records the differences on a when it is given. */
static struct diff compare(struct nc_action *a, const struct nc_net_def *want, const struct nc_net_def *have,
			   const char *suffix)
{
	struct diff r = { false, false };
	char x[96], y[96], *f, *ff;
	size_t i;

#define CHANGE(restart_, field_, from_, to_) do { \
		ff = nc_xasprintf("%s%s", (field_), suffix); \
		if (a) \
			nc_plan_add_change(a, (restart_), ff, (from_), (to_)); \
		free(ff); \
	} while (0)
	if (!same(want->forward, have->forward)) {
		CHANGE(true, "forward", have->forward ? have->forward : "none", want->forward ? want->forward : "none");
		r.restart = true;
	}
	if (want->bridge && !same(want->bridge, have->bridge)) {
		CHANGE(true, "bridge", dash(have->bridge), want->bridge);
		r.restart = true;
	}
	if (!same(want->ip4, have->ip4) || (want->ip4 && want->prefix4 != have->prefix4)) {
		addr_text(x, sizeof(x), have->ip4, have->prefix4);
		addr_text(y, sizeof(y), want->ip4, want->prefix4);
		CHANGE(true, "ipv4", x, y);
		r.restart = true;
	}
	if (!same(want->ip6, have->ip6) || (want->ip6 && want->prefix6 != have->prefix6)) {
		addr_text(x, sizeof(x), have->ip6, have->prefix6);
		addr_text(y, sizeof(y), want->ip6, want->prefix6);
		CHANGE(true, "ipv6", x, y);
		r.restart = true;
	}
	if (want->dhcp != have->dhcp || !same(want->dhcp_start, have->dhcp_start) ||
	    !same(want->dhcp_end, have->dhcp_end)) {
		if (have->dhcp)
			snprintf(x, sizeof(x), "%s-%s", dash(have->dhcp_start), dash(have->dhcp_end));
		else
			snprintf(x, sizeof(x), "off");
		if (want->dhcp)
			snprintf(y, sizeof(y), "%s-%s", dash(want->dhcp_start), dash(want->dhcp_end));
		else
			snprintf(y, sizeof(y), "off");
		CHANGE(true, "dhcp", x, y);
		r.restart = true;
	}
	/* static leases by MAC, then DNS names */
	for (i = 0; i < want->nleases; i++) {
		const struct nc_net_host *w = &want->leases[i], *h;

		if (has_lease(have, w))
			continue;
		h = lease_by_mac(have, w->mac);
		snprintf(y, sizeof(y), "%s %s", dash(w->ip), dash(w->name));
		if (h)
			snprintf(x, sizeof(x), "%s %s", dash(h->ip), dash(h->name));
		f = nc_xasprintf("dhcp host %s", w->mac);
		CHANGE(false, f, h ? x : "(none)", y);
		free(f);
		r.entries = true;
	}
	for (i = 0; i < have->nleases; i++) {
		const struct nc_net_host *h = &have->leases[i];

		if (lease_by_mac(want, h->mac))
			continue;
		snprintf(x, sizeof(x), "%s %s", dash(h->ip), dash(h->name));
		f = nc_xasprintf("dhcp host %s", dash(h->mac));
		CHANGE(false, f, x, "(none)");
		free(f);
		r.entries = true;
	}
	for (i = 0; i < have->ndns; i++) {
		if (has_dns(want, &have->dns[i]))
			continue;
		f = nc_xasprintf("dns host %s", dash(have->dns[i].name));
		CHANGE(false, f, dash(have->dns[i].ip), "(none)");
		free(f);
		r.entries = true;
	}
	for (i = 0; i < want->ndns; i++) {
		if (has_dns(have, &want->dns[i]))
			continue;
		f = nc_xasprintf("dns host %s", dash(want->dns[i].name));
		CHANGE(false, f, "(none)", dash(want->dns[i].ip));
		free(f);
		r.entries = true;
	}
#undef CHANGE
	return r;
}

/* domains on host h that keep using network `name` after this plan (not deleted, not moved away) */
static void users(const struct nc_plan *p, const struct nc_cluster *c, size_t h, const char *name,
		  bool running_only, struct nc_buf *out, size_t *n)
{
	const struct nc_observed_host *o = &c->hosts[h].obs;
	size_t i, j, k;

	*n = 0;
	for (i = 0; i < o->ndoms; i++) {
		const struct nc_domain *d = &o->doms[i];
		bool uses = false, leaves = false;

		for (j = 0; j < d->nnics; j++)
			if (d->nics[j].type && strcmp(d->nics[j].type, "network") == 0 && same(d->nics[j].source, name))
				uses = true;
		if (!uses || (running_only && d->state != NC_DOM_RUNNING))
			continue;
		for (k = 0; k < p->nactions && !running_only; k++) {
			const struct nc_action *a = &p->actions[k];

			if (a->obj == NC_OBJ_VM && a->host == h &&
			    ((a->kind == NC_ACT_DELETE && strcmp(a->vm, d->name) == 0) ||
			     (a->kind == NC_ACT_MIGRATE && d->meta_vm && strcmp(a->vm, d->meta_vm) == 0)))
				leaves = true;
		}
		if (leaves)
			continue;
		nc_buf_addf(out, "%s%s", (*n)++ ? ", " : "", d->managed && d->meta_vm ? d->meta_vm : d->name);
	}
}

static const struct nc_net_obs *find_obs(const struct nc_observed_host *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->nnets; i++)
		if (same(o->nets[i].cfg.name, name))
			return &o->nets[i];
	return NULL;
}

static void plan_one(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_cluster *c,
		     const struct nc_net_desired *nd, size_t h, const struct nc_net_obs *o, const char *vms)
{
	const char *name = nd->def->name, *hn = c->hosts[h].spec->obj.meta.name.v;
	struct nc_action tmp, *a;
	struct diff dc, dl = { false, false };
	bool hash_changed, autostart_changed, redefine;
	size_t k;

	if (!o) {
		a = nc_plan_add_action(p, alloc_a, NC_ACT_CREATE, name, h);
		a->obj = NC_OBJ_NETWORK;
		a->net = nd;
		a->start_after = true;
		a->redefine = true;
		a->autostart = true;
		a->reason = nc_xasprintf("not found on %s; needed by %s", hn, vms);
		return;
	}
	if (!o->managed) {
		nc_plan_add_note(p, alloc_n, NC_NOTE_ERROR, NULL,
				 "a network named %s exists on %s but is not managed by NovaCron: it is never "
				 "touched; VMs there that need Network %s (%s) cannot use it: rename the Network "
				 "or the libvirt network", name, hn, name, vms);
		return;
	}
	memset(&tmp, 0, sizeof(tmp));
	dc = compare(&tmp, nd->def, &o->cfg, "");
	if (o->active) {
		dl = compare(NULL, nd->def, &o->live, "");
		/* the definition matches but the running network does not (an interrupted pass) */
		if (!tmp.nchanges && (dl.restart || dl.entries))
			compare(&tmp, nd->def, &o->live, " (running)");
	}
	hash_changed = !o->cfg.meta_hash || strcmp(o->cfg.meta_hash, nd->hash) != 0;
	autostart_changed = o->autostart != nd->def->autostart;
	if (autostart_changed)
		nc_plan_add_change(&tmp, false, "autostart", o->autostart ? "on" : "off",
				   nd->def->autostart ? "on" : "off");
	redefine = hash_changed || dc.restart || dc.entries;
	if (!redefine && !dl.restart && !dl.entries && !autostart_changed) {
		free(tmp.changes);
		if (!o->active) {
			a = nc_plan_add_action(p, alloc_a, NC_ACT_START, name, h);
			a->obj = NC_OBJ_NETWORK;
			a->net = nd;
			a->drift = true;
			a->reason = nc_xasprintf("defined but not running on %s; needed by %s", hn, vms);
		}
		return;
	}
	a = nc_plan_add_action(p, alloc_a, NC_ACT_UPDATE, name, h);
	a->obj = NC_OBJ_NETWORK;
	a->net = nd;
	a->changes = tmp.changes;
	a->nchanges = tmp.nchanges;
	a->redefine = redefine;
	a->autostart = autostart_changed;
	a->drift = !hash_changed;
	a->start_after = !o->active;
	if (!a->nchanges)
		nc_plan_add_change(a, false, "metadata", "previous spec", "current spec");
	if (o->active && (dc.restart || dl.restart)) {
		struct nc_buf b = NC_BUF_INIT;
		size_t n = 0;

		a->restart = true;
		users(p, c, h, name, true, &b, &n);
		if (n) {
			const char *s = b.buf;

			/* the names, one by one, for JSON and apply's report */
			a->affected = nc_xcalloc(n, sizeof(*a->affected));
			for (k = 0; k < n; k++) {
				size_t len = strcspn(s, ",");

				a->affected[k] = nc_xstrndup(s, len);
				s += len;
				s += strspn(s, ", ");
			}
			a->naffected = n;
		}
		a->reason = n ? nc_xasprintf("%s; the network restarts: its running VM%s on %s (%s) lose%s the "
					     "link until %s restarted", hash_changed ? "spec changed" : "drift",
					     n == 1 ? "" : "s", hn, b.buf, n == 1 ? "s" : "", n == 1 ? "it is" : "they are")
			      : nc_xasprintf("%s; the network restarts (no running VM on %s uses it)",
					     hash_changed ? "spec changed" : "drift", hn);
		nc_buf_release(&b);
	} else {
		a->live_entries = o->active && (dc.entries || dl.entries);
		a->reason = nc_xasprintf("%s%s", hash_changed ? "spec changed" : "drift: changed outside NovaCron",
					 a->live_entries ? "; DHCP and DNS host entries change live, no restart" :
					 !o->active ? "; defined but not running: started after" : "");
	}
}

void nc_plan_networks(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
		      const struct nc_cluster *c, const struct nc_plan_opts *opts)
{
	size_t nn = spec->nobjs[NC_KIND_NETWORK], i, h, k;
	struct need *needs = nc_xcalloc(nn * c->nhosts + 1, sizeof(*needs));
	const struct nc_network *n;
	size_t *slot = nc_xcalloc(nn + 1, sizeof(*slot));

	for (i = 0; i < nn * c->nhosts; i++)
		nc_buf_init(&needs[i].vms);
	/* the definitions, one per managed Network */
	p->nets = nc_xcalloc(nn + 1, sizeof(*p->nets));
	NC_SPEC_EACH(spec, NC_KIND_NETWORK, const struct nc_network, n, i) {
		slot[i] = (size_t)-1;
		if (!managed_type(n) || n->obj.invalid)
			continue;
		slot[i] = p->nnets;
		build(&p->nets[p->nnets++], spec, n, opts->commit);
	}
	find_needs(needs, p, spec, c);

	for (i = 0; i < nn; i++) {
		if (slot[i] == (size_t)-1)
			continue;
		for (h = 0; h < c->nhosts; h++) {
			const struct nc_host_view *v = &c->hosts[h];
			struct need *nd = &needs[i * c->nhosts + h];

			if (!nd->need || v->status != NC_HOST_OK)
				continue;
			if (v->obs.nets_error) {
				nc_plan_add_note(p, alloc_n, NC_NOTE_ERROR, NULL,
						 "the networks of host %s cannot be read (%s): Network %s, needed there by "
						 "%s, is not checked", v->spec->obj.meta.name.v, v->obs.nets_error,
						 p->nets[slot[i]].def->name, nd->vms.buf);
				continue;
			}
			plan_one(p, alloc_a, alloc_n, c, &p->nets[slot[i]], h,
				 find_obs(&v->obs, p->nets[slot[i]].def->name), nd->vms.buf);
		}
	}

	/* managed networks no host needs any more; unmanaged ones are only counted */
	for (h = 0; h < c->nhosts; h++) {
		const struct nc_host_view *v = &c->hosts[h];
		const char *hn = v->spec->obj.meta.name.v;

		if (v->status != NC_HOST_OK)
			continue;
		for (k = 0; k < v->obs.nnets; k++) {
			const struct nc_net_obs *o = &v->obs.nets[k];
			const char *name = o->cfg.name;
			size_t ni;
			const char *why;
			struct nc_buf b = NC_BUF_INIT;
			size_t nusers = 0;
			struct nc_action *a;

			if (!o->managed) {
				p->unmanaged_nets++;
				continue;
			}
			ni = net_index(spec, name);
			if (ni != (size_t)-1 && slot[ni] != (size_t)-1 && needs[ni * c->nhosts + h].need)
				continue;
			why = ni == (size_t)-1 ? "not in the spec" :
			      slot[ni] == (size_t)-1 ? "its Network is not a nat or isolated network any more" :
			      "no VM on this host needs it";
			users(p, c, h, name, false, &b, &nusers);
			if (nusers) {
				nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, NULL,
						 "network %s on %s is managed by NovaCron and %s, but %s still use%s it: kept",
						 name, hn, why, b.buf, nusers == 1 ? "s" : "");
			} else if (!opts->prune) {
				nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, NULL,
						 "network %s on %s is managed by NovaCron and %s; pass --prune to delete it",
						 name, hn, why);
			} else {
				a = nc_plan_add_action(p, alloc_a, NC_ACT_DELETE, name, h);
				a->obj = NC_OBJ_NETWORK;
				a->reason = nc_xasprintf("pruned: %s", why);
			}
			nc_buf_release(&b);
		}
	}
	for (i = 0; i < nn * c->nhosts; i++)
		nc_buf_release(&needs[i].vms);
	free(needs);
	free(slot);
}

static void wait_for(struct nc_action *a, int id)
{
	size_t j;

	for (j = 0; j < a->nafter; j++)
		if (a->after[j] == id)
			return;
	a->after = nc_xreallocarray(a->after, a->nafter + 1, sizeof(*a->after));
	a->after[a->nafter++] = id;
}

static int int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void nc_plan_network_deps(struct nc_plan *p)
{
	size_t i, j, m, k, nnet = 0;
	size_t *nets = nc_xcalloc(p->nactions + 1, sizeof(*nets));   /* the network actions, few */

	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].obj == NC_OBJ_NETWORK && p->actions[i].kind != NC_ACT_DELETE)
			nets[nnet++] = i;

	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];
		size_t h = a->kind == NC_ACT_MIGRATE ? a->target : a->host;

		if (a->obj == NC_OBJ_NETWORK && a->kind == NC_ACT_DELETE) {
			/* after the VMs that leave the host */
			for (j = 0; j < i; j++)
				if (p->actions[j].obj == NC_OBJ_VM && p->actions[j].host == a->host &&
				    (p->actions[j].kind == NC_ACT_DELETE || p->actions[j].kind == NC_ACT_MIGRATE))
					wait_for(a, p->actions[j].id);
			continue;
		}
		if (a->obj != NC_OBJ_VM || !a->vmref || a->kind == NC_ACT_DELETE || a->kind == NC_ACT_STOP)
			continue;
		for (m = 0; m < a->vmref->eff.nics.n; m++) {
			const struct nc_nic *nic = (const struct nc_nic *)a->vmref->eff.nics.v + m;

			for (k = 0; k < nnet; k++) {
				const struct nc_action *b = &p->actions[nets[k]];

				if (b->host == h &&
				    nic->network.v && strcmp(b->vm, nic->network.v) == 0)
					wait_for(a, b->id);
			}
		}
	}
	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].nafter > 1)
			qsort(p->actions[i].after, p->actions[i].nafter, sizeof(int), int_cmp);
	free(nets);
}
