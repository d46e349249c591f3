/*
 * plan.c - diff the desired VMs against the observed domains into actions.
 *
 * For each VM in name order: absent -> delete where found; not found ->
 * create on a host chosen by placement (unless a host is unreachable: an
 * unreachable host is not an empty host; nor when a recorded host that the
 * spec no longer declares holds it, or cannot be read: invariant 8, see
 * hostrec.h; such hosts are never changed); found once -> compare the
 * definition and the run state.  Managed domains whose VM left the spec are
 * deleted only with pruning, never when they were applied with
 * deletionProtection, and a pass that would delete more than a threshold
 * share of the managed VMs is refused unless allowed.  Domains without
 * NovaCron's metadata are listed and never touched.  Actions are ordered by
 * phase (delete, stop, update, migrate, create, start) then VM name.
 * A VM on a host in maintenance, or away from the host it is pinned to, is
 * moved (live when running); a PlacementPolicy with rebalance enabled adds
 * the moves that best even out the cluster (policies/rebalance.c).
 * An rbd pool with a keyFile needs its libvirt secret (secrets.h) on every
 * host a VM with a disk in it is on or goes to: the secret is created or
 * updated first, and that host's VM actions wait for it.
 */
#include "pass.h"
#include "volumes.h"
#include "netfs.h"
#include "plan-int.h"
#include "tiering.h"
#include "ha.h"
#include "../drivers/network/network.h"
#include "../policies/placement.h"
#include "images.h"
#include "scope.h"
#include "clusters.h"
#include "migtune.h"
#include "snapshots.h"
#include "xmigrate.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {
	[NC_ACT_CREATE] = "create",
	[NC_ACT_UPDATE] = "update",
	[NC_ACT_START] = "start",
	[NC_ACT_STOP] = "stop",
	[NC_ACT_DELETE] = "delete",
	[NC_ACT_MIGRATE] = "migrate",
	[NC_ACT_UPLOAD] = "upload",
	[NC_ACT_RECOVER] = "recover",
	[NC_ACT_ADOPT] = "adopt",
	[NC_ACT_MOVE_VOLUME] = "move-volume",
};

const char *nc_action_name(enum nc_action_kind k)
{
	return action_names[k];
}

static const char *const object_names[] = {
	[NC_OBJ_VM] = "vm",
	[NC_OBJ_NETWORK] = "network",
	[NC_OBJ_IMAGE] = "image",
	[NC_OBJ_SECRET] = "secret",
	[NC_OBJ_SNAPSHOT] = "snapshot",
};

const char *nc_object_kind_name(enum nc_object_kind k)
{
	return object_names[k];
}

static int phase(const struct nc_action *a)
{
	/* Images are uploaded before anything may need them */
	if (a->kind == NC_ACT_UPLOAD)
		return -3;
	/* secrets come first: the VMs of their host wait for them */
	if (a->obj == NC_OBJ_SECRET)
		return -2;
	/* snapshots last: after their VM is where it goes (snapshots.h) */
	if (a->obj == NC_OBJ_SNAPSHOT)
		return 9;
	/* networks come before the VMs that need them and go after the VMs that leave them */
	if (a->obj == NC_OBJ_NETWORK)
		return a->kind == NC_ACT_DELETE ? 8 : -1;
	/* an ordered spec brings VMs up in one phase, in bring-up order (order.c) */
	if (nc_plan_order_bringup(a))
		return 5;
	switch (a->kind) {
	case NC_ACT_DELETE: return 0;
	case NC_ACT_STOP: return 1;
	case NC_ACT_UPDATE: return 2;
	case NC_ACT_MOVE_VOLUME: return 2;
	case NC_ACT_MIGRATE: return 3;
	case NC_ACT_RECOVER: return 4;
	case NC_ACT_ADOPT: return 4;
	case NC_ACT_CREATE: return 5;
	case NC_ACT_START: return 6;
	case NC_ACT_UPLOAD: return -2;
	}
	return 7;
}

/* ---- building blocks ---- */

struct loc {
	const char *name;    /* domain name */
	size_t host, dom;
};

static int loc_cmp(const void *a, const void *b)
{
	const struct loc *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->host < y->host ? -1 : x->host > y->host;
}

/* a managed domain on a host that the spec no longer declares */
struct gloc {
	const char *vm;
	size_t gone, dom;
};

static int gloc_cmp(const void *a, const void *b)
{
	const struct gloc *x = a, *y = b;
	int c = strcmp(x->vm, y->vm);

	if (c)
		return c;
	return x->gone < y->gone ? -1 : x->gone > y->gone;
}

/* index of the first entry for vm (n when there is none) */
static size_t gloc_first(const struct gloc *g, size_t n, const char *vm)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(g[mid].vm, vm) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(g[lo].vm, vm) == 0 ? lo : n;
}

static int vm_cmp(const void *key, const void *elem)
{
	return strcmp((const char *)key, *(const char *const *)elem);
}

/* the unreachable undeclared host on which vm was recorded last, if any */
static const struct nc_gone_host *recorded_unreachable(const struct nc_cluster *c, const char *vm)
{
	size_t i;

	for (i = 0; i < c->ngone; i++)
		if (c->gone[i].status != NC_HOST_OK &&
		    bsearch(vm, c->gone[i].vms, c->gone[i].nvms, sizeof(*c->gone[i].vms), vm_cmp))
			return &c->gone[i];
	return NULL;
}

/* the declared host recorded at another address where vm may still run, if any */
static const struct nc_host_view *moved_from(const struct nc_cluster *c, const char *vm)
{
	size_t i;

	for (i = 0; i < c->nhosts; i++)
		if (c->hosts[i].moved_from &&
		    bsearch(vm, c->hosts[i].moved_vms, c->hosts[i].nmoved, sizeof(*c->hosts[i].moved_vms), vm_cmp))
			return &c->hosts[i];
	return NULL;
}

static struct nc_action *add_action(struct nc_plan *p, size_t *alloc, enum nc_action_kind k,
				    const char *vm, size_t host)
{
	struct nc_action *a;

	if (p->nactions == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 32;
		p->actions = nc_xreallocarray(p->actions, *alloc, sizeof(*p->actions));
	}
	a = &p->actions[p->nactions++];
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->vm = nc_xstrdup(vm);
	a->host = host;
	return a;
}

static void add_change(struct nc_action *a, bool restart, const char *field, const char *from,
		       const char *to)
{
	struct nc_change *c;

	a->changes = nc_xreallocarray(a->changes, a->nchanges + 1, sizeof(*a->changes));
	c = &a->changes[a->nchanges++];
	c->field = nc_xstrdup(field);
	c->from = nc_xstrdup(from);
	c->to = nc_xstrdup(to);
	c->restart = restart;
}

static void add_note(struct nc_plan *p, size_t *alloc, enum nc_note_kind k, const char *vm,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add_note(struct nc_plan *p, size_t *alloc, enum nc_note_kind k, const char *vm,
		     const char *fmt, ...)
{
	struct nc_note *n;
	struct nc_buf b = NC_BUF_INIT;
	va_list ap;

	if (p->nnotes == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 16;
		p->notes = nc_xreallocarray(p->notes, *alloc, sizeof(*p->notes));
	}
	n = &p->notes[p->nnotes++];
	n->kind = k;
	n->vm = vm ? nc_xstrdup(vm) : NULL;
	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	n->text = nc_buf_detach(&b, NULL);
	if (k == NC_NOTE_ERROR)
		p->errors++;
}

struct nc_action *nc_plan_add_action(struct nc_plan *p, size_t *alloc, enum nc_action_kind k,
				     const char *name, size_t host)
{
	return add_action(p, alloc, k, name, host);
}

void nc_plan_add_change(struct nc_action *a, bool restart, const char *field, const char *from,
			const char *to)
{
	add_change(a, restart, field, from, to);
}

void nc_plan_add_note(struct nc_plan *p, size_t *alloc, enum nc_note_kind k, const char *vm,
		      const char *fmt, ...)
{
	struct nc_buf b = NC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	add_note(p, alloc, k, vm, "%s", b.buf);
	nc_buf_release(&b);
}

static void size_str(uint64_t v, char *buf, size_t len)
{
	nc_size_format(v, buf, len);
}

/* libvirt expands machine types: "q35" is defined as "pc-q35-7.2" */
static bool machine_matches(const char *want, const char *have)
{
	size_t n;

	if (!want)
		return true;
	if (!have)
		return false;
	if (strcmp(want, have) == 0)
		return true;
	n = strlen(want);
	if (strncmp(have, "pc-", 3) == 0 && strncmp(have + 3, want, n) == 0 && have[3 + n] == '-')
		return true;
	return strcmp(want, "pc") == 0 && strncmp(have, "pc-i440fx-", 10) == 0;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(or_dash(a), or_dash(b)) == 0;
}

static void diff_seed(struct nc_action *a, const struct nc_domain_def *d, const struct nc_domain *o,
		      bool running);

/* Compares a definition with what the host holds; fills a->changes. */
static void diff_domain(struct nc_action *a, const struct nc_domain_def *d, const struct nc_domain *o,
			bool running)
{
	char x[32], y[32], *from, *to;
	size_t i, j;

	if (o->vcpus != d->vcpus) {
		snprintf(x, sizeof(x), "%u", o->vcpus);
		snprintf(y, sizeof(y), "%u", d->vcpus);
		add_change(a, running, "vcpus", x, y);
	}
	if (o->memory != (d->memory + 1023) / 1024 * 1024) {
		size_str(o->memory, x, sizeof(x));
		size_str(d->memory, y, sizeof(y));
		/* a running guest can give memory back through its balloon */
		add_change(a, running && d->memory > o->memory, "memory", x, y);
		if (running && d->memory < o->memory)
			a->live_memory = true;
	} else if (running && o->cur_memory && o->cur_memory != o->memory) {
		size_str(o->cur_memory, x, sizeof(x));
		size_str(d->memory, y, sizeof(y));
		add_change(a, false, "memory (live)", x, y);
		a->live_memory = true;
	}
	if (!machine_matches(d->machine, o->machine))
		add_change(a, running, "machine", or_dash(o->machine), d->machine);
	for (i = 0; i < d->ndisks; i++) {
		const struct nc_disk_def *k = &d->disks[i];
		char *field = nc_xasprintf("disk %s", k->name);

		for (j = 0; j < o->ndisks; j++)
			if (str_eq(o->disks[j].target, k->target))
				break;
		to = nc_xasprintf("%s %s %s", k->target, k->bus, k->source);
		if (j == o->ndisks) {
			add_change(a, running, field, "(none)", to);
		} else if (!str_eq(o->disks[j].source, k->source) || !str_eq(o->disks[j].bus, k->bus) ||
			   !str_eq(o->disks[j].format, k->format) || o->disks[j].boot != k->boot) {
			from = nc_xasprintf("%s %s %s", or_dash(o->disks[j].target),
					    or_dash(o->disks[j].bus), or_dash(o->disks[j].source));
			add_change(a, running, field, from, to);
			free(from);
		} else if (k->size && o->disks[j].capacity && k->size > o->disks[j].capacity) {
			/* grown in place, live when running (reconciler/volumes.c) */
			char *sf = nc_xasprintf("disk %s size", k->name);

			size_str(o->disks[j].capacity, x, sizeof(x));
			size_str(k->size, y, sizeof(y));
			add_change(a, false, sf, x, y);
			free(sf);
		}
		free(to);
		free(field);
	}
	for (j = 0; j < o->ndisks; j++) {
		for (i = 0; i < d->ndisks; i++)
			if (str_eq(o->disks[j].target, d->disks[i].target))
				break;
		if (i == d->ndisks) {
			char *field = nc_xasprintf("disk %s", or_dash(o->disks[j].target));

			from = nc_xasprintf("%s %s", or_dash(o->disks[j].target), or_dash(o->disks[j].source));
			add_change(a, running, field, from, "(none)");
			free(from);
			free(field);
		}
	}
	for (i = 0; i < d->nnics; i++) {
		const struct nc_nic_def *k = &d->nics[i];
		char *field = nc_xasprintf("nic %s", k->name);

		for (j = 0; j < o->nnics; j++)
			if (o->nics[j].mac && strcasecmp(o->nics[j].mac, k->mac) == 0)
				break;
		to = nc_xasprintf("%s %s:%s %s", k->mac, k->type, k->source, k->model);
		if (j == o->nnics) {
			add_change(a, running, field, "(none)", to);
		} else if (!str_eq(o->nics[j].type, k->type) || !str_eq(o->nics[j].source, k->source) ||
			   !str_eq(o->nics[j].model, k->model)) {
			from = nc_xasprintf("%s %s:%s %s", or_dash(o->nics[j].mac), or_dash(o->nics[j].type),
					    or_dash(o->nics[j].source), or_dash(o->nics[j].model));
			add_change(a, running, field, from, to);
			free(from);
		}
		free(to);
		free(field);
	}
	for (j = 0; j < o->nnics; j++) {
		for (i = 0; i < d->nnics; i++)
			if (o->nics[j].mac && strcasecmp(o->nics[j].mac, d->nics[i].mac) == 0)
				break;
		if (i == d->nnics) {
			char *field = nc_xasprintf("nic %s", or_dash(o->nics[j].mac));

			from = nc_xasprintf("%s %s:%s", or_dash(o->nics[j].mac), or_dash(o->nics[j].type),
					    or_dash(o->nics[j].source));
			add_change(a, running, field, from, "(none)");
			free(from);
			free(field);
		}
	}
	diff_seed(a, d, o, running);
}

/* "sha256 1a2b3c4d5e6f" (the first 12 hex digits), or "(none)" */
static char *sha_str(const char *hex)
{
	return hex && *hex ? nc_xasprintf("sha256 %.12s", hex) : nc_xstrdup("(none)");
}

/*
 * The cloud-init seed: the CD-ROM device (a new or moved one takes effect at
 * the next restart), its volume (missing: uploaded again), and its content
 * against what the domain's metadata says was applied.  New content is
 * written at once (and a running guest's medium changed), but cloud-init
 * only reads it when the guest boots: for a running guest the change is
 * marked (restart), so allowRestart decides whether that boot is now or
 * the guest's own next one.
 */
static void diff_seed(struct nc_action *a, const struct nc_domain_def *d, const struct nc_domain *o,
		      bool running)
{
	const struct nc_seed_def *s = d->seed;
	size_t j, at = o->ncdroms;
	char *from, *to;

	for (j = 0; s && j < o->ncdroms; j++)
		if (str_eq(o->cdroms[j].target, s->target))
			at = j;
	if (s) {
		to = nc_xasprintf("%s %s %s", s->target, s->bus, s->source);
		if (at == o->ncdroms) {
			add_change(a, running, "cloudInit seed", "(none)", to);
			a->seed_upload = true;
		} else if (!str_eq(o->cdroms[at].source, s->source) || !str_eq(o->cdroms[at].bus, s->bus)) {
			from = nc_xasprintf("%s %s %s", or_dash(o->cdroms[at].target), or_dash(o->cdroms[at].bus),
					    or_dash(o->cdroms[at].source));
			add_change(a, running, "cloudInit seed", from, to);
			a->seed_upload = true;
			free(from);
		} else if (strcmp(s->type, "file") == 0 && !o->cdroms[at].capacity) {
			add_change(a, false, "cloudInit seed volume", "missing", "rebuilt and uploaded");
			a->seed_upload = true;
		}
		free(to);
		if (!str_eq(o->meta_ci_user_data, s->user_data_sha)) {
			from = sha_str(o->meta_ci_user_data);
			to = nc_xasprintf("sha256 %.12s (cloud-init reads it at next boot, under a new instance-id)",
					  s->user_data_sha);
			add_change(a, running, "cloudInit userData", from, to);
			free(from);
			free(to);
		}
		if (!str_eq(o->meta_ci_network_config, s->network_config_sha)) {
			from = sha_str(o->meta_ci_network_config);
			to = nc_xasprintf("sha256 %.12s%s (cloud-init reads it at next boot, under a new instance-id)",
					  s->network_config_sha, s->network_generated ? ", generated from the NICs" : "");
			add_change(a, running, "cloudInit networkConfig", from, to);
			free(from);
			free(to);
		}
		if (!str_eq(o->meta_ci_iid, s->instance_id)) {
			if (str_eq(o->meta_ci_user_data, s->user_data_sha) &&
			    str_eq(o->meta_ci_network_config, s->network_config_sha))
				add_change(a, running, "cloudInit instance-id", or_dash(o->meta_ci_iid), s->instance_id);
			a->seed_upload = true;
		}
	}
	for (j = 0; j < o->ncdroms; j++) {
		if (j == at)
			continue;
		from = nc_xasprintf("%s %s %s", or_dash(o->cdroms[j].target), or_dash(o->cdroms[j].bus),
				    or_dash(o->cdroms[j].source));
		add_change(a, running, s ? "cdrom" : "cloudInit seed", from, "(none)");
		free(from);
	}
}

static int action_cmp(const void *pa, const void *pb)
{
	const struct nc_action *a = pa, *b = pb;
	int c = phase(a) - phase(b);

	if (c)
		return c;
	/* restarts after a host failure: highest ha.priority first, then by name */
	if (a->kind == NC_ACT_RECOVER && b->kind == NC_ACT_RECOVER && a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	/* dependsOn and waves: bring-ups in order, stops and deletes in reverse */
	if (a->ordered && b->ordered && a->rank != b->rank && a->obj == NC_OBJ_VM && b->obj == NC_OBJ_VM &&
	    (nc_plan_order_bringup(a) || a->kind == NC_ACT_STOP || a->kind == NC_ACT_DELETE))
		return (a->rank < b->rank) == nc_plan_order_bringup(a) ? -1 : 1;
	if (a->kind != b->kind && nc_plan_order_bringup(a) && nc_plan_order_bringup(b))
		return a->kind == NC_ACT_UPDATE ? -1 : b->kind == NC_ACT_UPDATE ? 1 : a->kind == NC_ACT_CREATE ? -1 : 1;
	c = strcmp(a->vm, b->vm);
	if (c)
		return c;
	/* a VM's disks move before its update (which defines them where they went) */
	if ((a->kind == NC_ACT_MOVE_VOLUME) != (b->kind == NC_ACT_MOVE_VOLUME))
		return a->kind == NC_ACT_MOVE_VOLUME ? -1 : 1;
	if (a->pool && b->pool && (c = strcmp(a->pool, b->pool)) != 0)
		return c;
	return a->host < b->host ? -1 : a->host > b->host;
}

static void digests(struct nc_plan *p, const struct nc_spec *spec, const struct nc_cluster *c,
		    const struct nc_plan_opts *opts)
{
	struct nc_buf b = NC_BUF_INIT;
	const struct nc_host *h;
	const struct nc_vm *vm;
	size_t i, j;

	NC_SPEC_EACH(spec, NC_KIND_HOST, const struct nc_host, h, i)
		nc_buf_addf(&b, "host %s %s %d\n", h->obj.meta.name.v, h->spec.uri.v, h->spec.maintenance.v);
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i)
		nc_buf_addf(&b, "vm %s %d\n", vm->obj.meta.name.v,
			    NC_IS_SET(vm->spec.state) ? vm->spec.state.v : NC_STATE_RUNNING);
	for (i = 0; i < p->ndesired; i++)
		nc_buf_addf(&b, "def %s %s %d\n", p->desired[i].def.name, p->desired[i].hash,
			    p->desired[i].vm->spec.allow_restart.v);
	for (i = 0; i < p->nnets; i++)
		nc_buf_addf(&b, "net %s %s\n", p->nets[i].def->name, p->nets[i].hash);
	nc_buf_addf(&b, "opts %d %u %d %s\n", opts->prune, opts->delete_threshold,
		    opts->allow_mass_delete, or_dash(opts->commit));
	/* only when given: digests of plans without a scope stay what they were */
	for (i = 0; i < opts->ntargets; i++)
		nc_buf_addf(&b, "target %s\n", opts->targets[i]);
	if (opts->selector)
		nc_buf_addf(&b, "selector %s\n", opts->selector);
	for (i = 0; i < opts->nreplace; i++)
		nc_buf_addf(&b, "replace %s\n", opts->replace[i]);
	for (i = 0; i < opts->nclusters; i++)
		nc_buf_addf(&b, "cluster %s\n", opts->clusters[i]);
	nc_sha256_hex(b.buf, b.len, p->spec_digest);
	nc_cluster_digest(c, p->observed_digest);
	nc_buf_reset(&b);
	for (i = 0; i < p->nactions; i++) {
		const struct nc_action *a = &p->actions[i];

		nc_buf_addf(&b, "%d %s %s %zu %d %d %d %d", a->id, action_names[a->kind], a->vm, a->host,
			    a->restart, a->start_after, a->live_memory, a->redefine);
		/* VM actions keep the text they always had: saved plans stay valid */
		if (a->obj != NC_OBJ_VM)
			nc_buf_addf(&b, " %s %d %d", object_names[a->obj], a->live_entries, a->autostart);
		/* where a move goes, and how: an apply of a saved plan that would take the VM
		 * elsewhere (the pin or the observed load changed) is refused */
		if (a->kind == NC_ACT_MIGRATE || a->kind == NC_ACT_RECOVER)
			nc_buf_addf(&b, " to %zu %d", a->target, a->live);
		if (a->xmove)
			nc_buf_addf(&b, " xcluster %s", nc_xmove_method_name(a->xmove->method));
		nc_buf_addc(&b, '\n');
		if (a->seed_upload)
			nc_buf_adds(&b, " seed\n");
		if (a->copy_vols)
			nc_buf_addf(&b, " copy %zu\n", a->copy_vols);
		if (a->pool)
			nc_buf_addf(&b, " pool %s\n", a->pool);
		if (a->stale)
			nc_buf_adds(&b, " stale\n");
		if (a->ha_restart)
			nc_buf_adds(&b, " ha-restart\n");
		if (a->replace)
			nc_buf_adds(&b, " replace\n");
		for (j = 0; j < a->nfailed_hosts; j++)
			nc_buf_addf(&b, " failed %s\n", a->failed_hosts[j]);
		for (j = 0; j < a->nchanges; j++)
			nc_buf_addf(&b, " %s %s %s %d\n", a->changes[j].field, a->changes[j].from,
				    a->changes[j].to, a->changes[j].restart);
	}
	nc_buf_addf(&b, "%s %s\n", p->spec_digest, p->observed_digest);
	nc_sha256_hex(b.buf, b.len, p->plan_digest);
	nc_buf_release(&b);
}

/*
 * A VM must leave its host when the host is in maintenance (drain) or the VM
 * is pinned elsewhere.  When no host fits, it stays, and the plan says why.
 */
static void plan_move(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n,
		      const struct nc_cluster *c, struct nc_placement_state *ps,
		      const struct nc_vm *vm, size_t from, bool live)
{
	const struct nc_host *h = c->hosts[from].spec;
	const char *name = vm->obj.meta.name.v, *hn = h->obj.meta.name.v;
	char *reason, *why = NULL;
	struct nc_action *a;
	int to;
	size_t k;

	if (h->spec.maintenance.v)
		reason = nc_xasprintf("drain: %s is in maintenance", hn);
	else if (NC_IS_SET(vm->spec.placement.host) && strcmp(vm->spec.placement.host.v, hn) != 0)
		reason = nc_xasprintf("pinned to %s", vm->spec.placement.host.v);
	else
		return;
	to = nc_placement_choose(ps, vm, (int)from, &why);
	if (to < 0) {
		add_note(p, alloc_n, NC_NOTE_WARNING, name, "cannot move %s off %s (%s): %s; it stays",
			 name, hn, reason, why);
		free(reason);
		free(why);
		return;
	}
	nc_placement_put(ps, vm, (size_t)to);
	a = add_action(p, alloc_a, NC_ACT_MIGRATE, name, from);
	a->target = (size_t)to;
	a->live = live;
	a->vmref = vm;
	a->reason = reason;
	a->placement = why;
	/* what was to happen after, happens on the new host */
	for (k = 0; k + 1 < p->nactions; k++) {
		struct nc_action *b = &p->actions[k];

		if (strcmp(b->vm, name) != 0)
			continue;
		if (b->kind == NC_ACT_START)
			b->host = (size_t)to;
		if (b->kind == NC_ACT_UPDATE && b->start_after) {
			b->start_after = false;
			a->start_after = true;
		}
	}
}

/*
 * What each cold migration copies: the VM's volumes in dir pools that its
 * domain on the source uses, and the bytes they hold there (allocation,
 * not capacity: holes are not sent).
 */
static void plan_copies(struct nc_plan *p, const struct nc_spec *spec, const struct nc_cluster *c)
{
	size_t i, j, k, n;

	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];
		const struct nc_observed_host *o = &c->hosts[a->host].obs;
		const struct nc_domain *d = NULL;
		struct nc_local_vol *lv;

		if (a->kind != NC_ACT_MIGRATE || a->live || !a->vmref || a->xmove)
			continue;
		for (j = 0; j < o->ndoms && !d; j++)
			if (o->doms[j].managed && o->doms[j].meta_vm && strcmp(o->doms[j].meta_vm, a->vm) == 0)
				d = &o->doms[j];
		if (!d)
			continue;
		n = nc_volumes_local(&lv, spec, a->vmref, a->vm);
		for (j = 0; j < n; j++)
			for (k = 0; k < d->ndisks; k++)
				if (d->disks[k].source && strcmp(d->disks[k].source, lv[j].path) == 0) {
					a->copy_vols++;
					a->copy_bytes += d->disks[k].allocation;
					break;
				}
		nc_volumes_local_free(lv, n);
	}
}

/*
 * Observed load for the policies that weigh it (docs/placement.md "Observed
 * load"): read once for the longest window; no history at all -> those
 * policies place by their static figures, and the plan says so, as it does
 * for each existing VM of theirs without history.
 */
static void plan_load(struct nc_plan *p, size_t *alloc_n, const struct nc_spec *spec,
		      const struct nc_cluster *c, struct nc_placement_state *ps, const struct nc_plan_opts *opts)
{
	unsigned window = nc_load_window(spec);
	struct nc_load_data d;
	struct nc_err err = { 0 };
	const struct nc_vm *vm;
	char win[16];
	size_t i;
	int r;

	if (!window)
		return;
	nc_load_fmt_window(window, win, sizeof(win));
	if (opts->load) {
		nc_placement_use_load(ps, opts->load);
	} else {
		/* the domains and hosts observed: nothing else is read */
		const char **dv = NULL, **hv = nc_xcalloc(c->nhosts + 1, sizeof(*hv));
		size_t ndv = 0, h, j;

		for (h = 0; h < c->nhosts; h++) {
			hv[h] = c->hosts[h].spec->obj.meta.name.v;
			dv = nc_xreallocarray(dv, ndv + c->hosts[h].obs.ndoms + 1, sizeof(*dv));
			for (j = 0; j < c->hosts[h].obs.ndoms; j++)
				dv[ndv++] = c->hosts[h].obs.doms[j].name;
		}
		r = nc_load_read(&d, opts->telemetry_dir, window, dv, ndv, hv, c->nhosts, &err);
		free(dv);
		free(hv);
		if (r < 0)
			add_note(p, alloc_n, NC_NOTE_WARNING, NULL, "cannot read the history for observed load: %s",
				 err.msg);
		if (r > 0)
			nc_placement_use_load(ps, &d);
		nc_load_release(&d);
	}
	if (!nc_placement_window(ps)) {
		add_note(p, alloc_n, NC_NOTE_INFO, NULL, "no observed load over %s in the history: static figures",
			 win);
		return;
	}
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		struct nc_load_figures f;
		char mem[32];

		if (nc_placement_mode(ps, vm) == NC_LOAD_STATIC || nc_placement_host_of(ps, vm) < 0 ||
		    nc_placement_figures(ps, vm, &f))
			continue;
		nc_load_fmt_bytes(f.memory, "", mem, sizeof(mem));
		add_note(p, alloc_n, NC_NOTE_INFO, vm->obj.meta.name.v,
			 "no observed load over %s for %s: static figures (%.0f vCPUs busy, %s in use)", win,
			 vm->obj.meta.name.v, f.cpu, mem);
	}
}

/* the observed state of Image im's volume in pool on host (dir) or in the rbd pools */
static const struct nc_image_vol *image_vol(const struct nc_cluster *c, size_t host, bool rbd,
					    const char *pool, const char *im)
{
	const struct nc_image_vol *v = rbd ? c->rbd_images : c->hosts[host].images;
	size_t n = rbd ? c->nrbd_images : c->hosts[host].nimages, i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].pool, pool) == 0 && strcmp(v[i].image, im) == 0)
			return &v[i];
	return NULL;
}

/* update a adds disk name (its change "disk NAME" comes from nothing) */
static bool adds_disk(const struct nc_action *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nchanges; i++)
		if (strncmp(a->changes[i].field, "disk ", 5) == 0 && strcmp(a->changes[i].field + 5, name) == 0 &&
		    strcmp(a->changes[i].from, "(none)") == 0)
			return true;
	return false;
}

/*
 * Image uploads: every VM create needs the Images of its disks in their
 * pools on its host (dir) or in the shared rbd pool, and so does a live
 * migration on its destination (the disks there are clones of the same
 * volume; a cold move copies the base along, see reconciler/volumes.c),
 * and an update on its host for the disks it adds; each one missing (or
 * without its completion mark) becomes one upload action, made once.
 */
static void plan_images(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
			const struct nc_cluster *c, const struct nc_plan_opts *opts)
{
	size_t i, k, n = p->nactions, j;

	for (i = 0; i < n; i++) {
		const struct nc_action *a = &p->actions[i];
		size_t host;

		if (a->obj != NC_OBJ_VM || !a->vmref ||
		    (a->kind != NC_ACT_CREATE && a->kind != NC_ACT_UPDATE && !(a->kind == NC_ACT_MIGRATE && a->live)))
			continue;
		host = a->kind == NC_ACT_MIGRATE ? a->target : a->host;
		for (k = 0; k < a->vmref->eff.disks.n; k++) {
			const struct nc_disk *d = (const struct nc_disk *)a->vmref->eff.disks.v + k;
			const struct nc_image *im;
			const struct nc_pool *pool;
			const struct nc_image_vol *v;
			const struct nc_image_src *src;
			struct nc_action *u;
			bool rbd, dup = false;
			char *vol, sz[32];

			if (!NC_IS_SET(d->image) || d->image.v[0] == '/' || !NC_IS_SET(d->pool))
				continue;
			/* an update needs the Images of the disks it adds only */
			if (a->kind == NC_ACT_UPDATE && !(NC_IS_SET(d->name) && adds_disk(a, d->name.v)))
				continue;
			im = (const struct nc_image *)nc_spec_find(spec, NC_KIND_IMAGE, d->image.v);
			pool = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v);
			if (!im || !pool)
				continue;
			rbd = pool->spec.type.v == NC_POOL_RBD;
			v = image_vol(c, host, rbd, pool->obj.meta.name.v, im->obj.meta.name.v);
			if (v && v->complete)
				continue;
			for (j = 0; j < p->nactions && !dup; j++) {
				const struct nc_action *b = &p->actions[j];

				dup = b->kind == NC_ACT_UPLOAD && strcmp(b->vm, im->obj.meta.name.v) == 0 &&
				      strcmp(b->pool, pool->obj.meta.name.v) == 0 && (rbd || b->host == host);
			}
			if (dup)
				continue;
			src = opts->images ? nc_image_set_find(opts->images, im->obj.meta.name.v) : NULL;
			if (src && src->error) {
				add_note(p, alloc_n, NC_NOTE_ERROR, a->vm, "Image %s (for VM %s): %s",
					 im->obj.meta.name.v, a->vm, src->error);
				continue;
			}
			vol = nc_image_volume(im, pool);
			u = add_action(p, alloc_a, NC_ACT_UPLOAD, im->obj.meta.name.v, host);
			a = &p->actions[i];     /* add_action may move the array */
			u->obj = NC_OBJ_IMAGE;
			u->pool = nc_xstrdup(pool->obj.meta.name.v);
			if (src && src->path)
				nc_size_format(src->size, sz, sizeof(sz));
			u->reason = nc_xasprintf("%s %s in %s pool %s%s; uploads %s%s%s%s (sha256 %.12s)",
						 v && v->present ? "volume" : "no volume", vol,
						 rbd ? "rbd" : "dir", pool->obj.meta.name.v,
						 v && v->present ? " has no completion mark (an upload cut short): replaced" :
						 rbd ? "" : " on this host",
						 src && src->path ? sz : "", src && src->path ? " from " : "from ",
						 src ? src->shown : "its source",
						 src && !src->path && src->im->spec.source.url.v ? ", downloaded by apply" : "",
						 im->spec.sha256.v);
			free(vol);
		}
	}
}

/* ---- high availability (docs/ha.md) ---- */

/* the entry of host in the HA record, or NULL */
static const struct nc_ha_host *ha_entry(const struct nc_plan_opts *opts, const char *host)
{
	return opts->ha ? nc_ha_find(opts->ha, host) : NULL;
}

/* one line of trusted state for a plan: control characters shown as '?' */
static void add_clean(struct nc_buf *b, const char *s)
{
	for (; s && *s; s++)
		nc_buf_addc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* "rbd device ceph: 2 exclusive locks broken" */
static void fence_words(struct nc_buf *b, const struct nc_ha_host *h)
{
	add_clean(b, h->fenced_by ? h->fenced_by : "fenced");
	if (h->detail && *h->detail) {
		nc_buf_adds(b, ": ");
		add_clean(b, h->detail);
	}
}

/*
 * The disks of a desired domain as fencing sees them: its rbd disks
 * ("CEPHPOOL/IMAGE", sorted) and its first disk that is not on rbd (a file
 * in a dir pool: it lives on one host), whose spec name and pool go to
 * *local_disk and *local_pool (NULL: none).
 */
static size_t vm_disks(const struct nc_spec *spec, const struct nc_vm *vm, const struct nc_desired *des,
		       const char ***rbd, const char **local_disk, const char **local_pool, bool *netfs)
{
	size_t i, k, n = 0;

	*rbd = nc_xcalloc(des->def.ndisks + 1, sizeof(**rbd));
	*local_disk = *local_pool = NULL;
	*netfs = false;
	for (i = 0; i < des->def.ndisks; i++) {
		const struct nc_disk_def *d = &des->def.disks[i];
		const char *pool = NULL;

		if (d->type && strcmp(d->type, "network") == 0) {
			for (k = n; k > 0 && strcmp((*rbd)[k - 1], d->source) > 0; k--)
				(*rbd)[k] = (*rbd)[k - 1];
			(*rbd)[k] = d->source;
			n++;
			continue;
		}
		for (k = 0; k < vm->eff.disks.n; k++) {
			const struct nc_disk *s = (const struct nc_disk *)vm->eff.disks.v + k;

			if (NC_IS_SET(s->name) && strcmp(s->name.v, d->name) == 0 && NC_IS_SET(s->pool))
				pool = s->pool.v;
		}
		/* a file on an NFS share every host mounts: reachable from another host, but no
		 * disk fence covers it (only a fence of the whole host does) */
		if (pool && nc_pool_is_netfs((const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, pool))) {
			*netfs = true;
		} else if (!*local_disk) {
			*local_disk = d->name;
			*local_pool = pool;
		}
	}
	return n;
}

/* a VM of a failed, fenced host that may be restarted elsewhere */
struct recovery {
	const struct nc_vm *vm;
	struct nc_desired *des;
	int priority;
	bool start;
	char **hosts;                /* the failed hosts it was recorded on */
	size_t nhosts;
	char *reason;                /* "host kvm1 failed and was fenced (...)" */
};

static int recovery_cmp(const void *pa, const void *pb)
{
	const struct recovery *a = pa, *b = pb;

	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	return strcmp(a->vm->obj.meta.name.v, b->vm->obj.meta.name.v);
}

/*
 * A VM found on no reachable host while some hosts cannot be read: may it
 * be restarted elsewhere?  R, the unreachable hosts whose record (hostrec.h)
 * lists it, must all be declared, failed and fenced for it (ha.h), and its
 * ha.policy restart, with no disk on a host's own pool.  1: yes, *out
 * filled; -1: no, a note says why (the VM is blocked); 0: it is recorded on
 * no unreachable declared host only (the caller says what it always said).
 */
static int ha_check(struct nc_plan *p, size_t *alloc_n, const struct nc_cluster *c,
		    const struct nc_plan_opts *opts, const struct nc_vm *vm, struct nc_desired *des,
		    struct recovery *out)
{
	const char *name = vm->obj.meta.name.v, *local_disk, *local_pool, **rbd = NULL;
	struct nc_buf hosts = NC_BUF_INIT, why = NC_BUF_INIT;
	size_t i, k, nr = 0, nrbd;
	size_t *r = nc_xcalloc(c->nhosts + 1, sizeof(*r));
	bool restart = NC_IS_SET(vm->spec.ha.policy) && vm->spec.ha.policy.v == NC_HA_RESTART, netfs;
	int ret = -1;

	for (i = 0; i < c->ngone; i++)
		if (c->gone[i].status != NC_HOST_OK &&
		    bsearch(name, c->gone[i].vms, c->gone[i].nvms, sizeof(*c->gone[i].vms), vm_cmp)) {
			ret = 0;     /* an undeclared host is never failed over: it is not ours to fence */
			goto out;
		}
	for (i = 0; i < c->nhosts; i++)
		if (c->hosts[i].status != NC_HOST_OK && c->hosts[i].nrecorded &&
		    bsearch(name, c->hosts[i].recorded_vms, c->hosts[i].nrecorded, sizeof(char *), vm_cmp)) {
			nc_buf_addf(&hosts, "%s%s", nr ? ", " : "", c->hosts[i].spec->obj.meta.name.v);
			r[nr++] = i;
		}
	if (!nr) {
		ret = 0;
		goto out;
	}
	nrbd = vm_disks(p->spec, vm, des, &rbd, &local_disk, &local_pool, &netfs);
	if (!restart) {
		add_note(p, alloc_n, NC_NOTE_WARNING, name,
			 "VM %s was last seen on %s, which cannot be read: it is not restarted elsewhere, its "
			 "ha.policy is none (ha: {policy: restart} restarts it once the host is failed and fenced)",
			 name, hosts.buf);
		goto out;
	}
	if (local_disk) {
		const char *hn = c->hosts[r[0]].spec->obj.meta.name.v;

		if (local_pool)
			add_note(p, alloc_n, NC_NOTE_WARNING, name,
				 "VM %s cannot be restarted elsewhere: disk %s is on local pool %s of %s host %s "
				 "(only disks in rbd and netfs pools can be reached from another host)", name, local_disk,
				 local_pool, ha_entry(opts, hn) ? "failed" : "unreachable", hn);
		else
			add_note(p, alloc_n, NC_NOTE_WARNING, name,
				 "VM %s cannot be restarted elsewhere: disk %s is a file on %s host %s (not in an rbd "
				 "pool, which another host can reach)", name, local_disk,
				 ha_entry(opts, hn) ? "failed" : "unreachable", hn);
		goto out;
	}
	for (k = 0; k < nr; k++) {
		const char *hn = c->hosts[r[k]].spec->obj.meta.name.v;
		const struct nc_ha_host *h = ha_entry(opts, hn);

		if (!h) {
			add_note(p, alloc_n, NC_NOTE_WARNING, name,
				 "VM %s was last seen on %s, which cannot be read but is not failed: it is restarted "
				 "elsewhere only once %s is declared failed and fenced (by serve's health monitor, or "
				 "novacron fence confirm %s once you know it is off)", name, hn, hn, hn);
			goto out;
		}
		if (!h->fenced) {
			add_note(p, alloc_n, NC_NOTE_WARNING, name,
				 "VM %s is not restarted elsewhere yet: host %s failed and is waiting for fencing "
				 "(novacron fence confirm %s fences it by hand)", name, hn, hn);
			goto out;
		}
		if (!nc_ha_vm_fenced(h, rbd, nrbd, netfs)) {
			const char *miss = NULL;

			for (i = 0; i < nrbd && !miss; i++)
				if (!nc_ha_list_has(h->disks, h->ndisks, rbd[i]))
					miss = rbd[i];
			nc_buf_reset(&why);
			fence_words(&why, h);
			if (netfs && !miss)
				add_note(p, alloc_n, NC_NOTE_WARNING, name,
					 "VM %s is not restarted elsewhere: host %s was fenced disk by disk (%s) and VM %s "
					 "has disks in a netfs pool, which no disk fence covers; only a fence of the "
					 "whole host does (novacron fence confirm %s)", name, hn, why.buf, name, hn);
			else if (miss)
				add_note(p, alloc_n, NC_NOTE_WARNING, name,
					 "VM %s is not restarted elsewhere: host %s failed and was fenced (%s), but not "
					 "for rbd disk %s, which its old copy may still write (novacron fence confirm %s "
					 "fences the whole host by hand)", name, hn, why.buf, miss, hn);
			else
				add_note(p, alloc_n, NC_NOTE_WARNING, name,
					 "VM %s is not restarted elsewhere: host %s was fenced disk by disk (%s) and VM %s "
					 "has no rbd disk; only a fence of the whole host covers it (novacron fence "
					 "confirm %s)", name, hn, why.buf, name, hn);
			goto out;
		}
	}
	memset(out, 0, sizeof(*out));
	out->vm = vm;
	out->des = des;
	out->priority = NC_IS_SET(vm->spec.ha.priority) ? (int)vm->spec.ha.priority.v : 0;
	out->start = !NC_IS_SET(vm->spec.state) || vm->spec.state.v == NC_STATE_RUNNING;
	out->hosts = nc_xcalloc(nr, sizeof(*out->hosts));
	nc_buf_reset(&why);
	for (k = 0; k < nr; k++) {
		const char *hn = c->hosts[r[k]].spec->obj.meta.name.v;

		out->hosts[out->nhosts++] = nc_xstrdup(hn);
		nc_buf_addf(&why, "%shost %s failed and was fenced (", k ? "; " : "", hn);
		fence_words(&why, ha_entry(opts, hn));
		nc_buf_addc(&why, ')');
	}
	out->reason = nc_buf_detach(&why, NULL);
	ret = 1;
out:
	free(rbd);
	free(r);
	nc_buf_release(&hosts);
	nc_buf_release(&why);
	return ret;
}

/*
 * Does every host that cannot be read fence vm's copy there (failed, and
 * fenced as a whole or for each of vm's rbd disks)?  Then no copy of vm
 * can write anywhere unseen.  An unreachable undeclared host never does.
 */
static bool unreachable_all_fence(const struct nc_spec *spec, const struct nc_cluster *c,
				  const struct nc_plan_opts *opts,
				  const struct nc_vm *vm, const struct nc_desired *des)
{
	const char **rbd = NULL, *local_disk, *local_pool;
	bool netfs;
	size_t i, nrbd = vm_disks(spec, vm, des, &rbd, &local_disk, &local_pool, &netfs);
	bool all = c->gone_unreachable == 0;

	for (i = 0; i < c->nhosts && all; i++)
		if (c->hosts[i].status != NC_HOST_OK)
			all = nc_ha_vm_fenced(ha_entry(opts, c->hosts[i].spec->obj.meta.name.v), rbd, nrbd,
					      local_disk != NULL || netfs);
	free(rbd);
	return all;
}

/*
 * The copy left behind on a returned host is started again (or restarted)
 * because every host that cannot be read is failed and fenced for the VM:
 * it becomes the copy that runs, as a recovery onto that host would.  Its
 * start or update records it so (struct nc_action failed_hosts: apply calls
 * nc_ha_mark_recovered with this host as the target), or, when the
 * unreachable hosts return, the copy running here would be taken for the
 * stale one and the fenced one kept.
 */
static void ha_takeover(struct nc_plan *p, const struct nc_cluster *c, const char *name, size_t host,
			size_t first_action)
{
	size_t i, j;

	for (i = first_action; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];

		if (a->host != host || a->obj != NC_OBJ_VM || strcmp(a->vm, name) != 0 || a->nfailed_hosts ||
		    !(a->kind == NC_ACT_START || (a->kind == NC_ACT_UPDATE && (a->start_after || a->restart))))
			continue;
		for (j = 0; j < c->nhosts; j++)
			if (c->hosts[j].status != NC_HOST_OK &&
			    bsearch(name, c->hosts[j].recorded_vms, c->hosts[j].nrecorded, sizeof(char *), vm_cmp))
				nc_ha_list_add(&a->failed_hosts, &a->nfailed_hosts, c->hosts[j].spec->obj.meta.name.v);
	}
}

/* Places the recoveries, highest ha.priority first; one that fits nowhere says why. */
static void plan_recoveries(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, struct nc_placement_state *ps,
			    const struct nc_cluster *c, struct recovery *rv, size_t n)
{
	size_t i;

	if (n > 1)
		qsort(rv, n, sizeof(*rv), recovery_cmp);
	for (i = 0; i < n; i++) {
		const char *name = rv[i].vm->obj.meta.name.v;
		struct nc_action *a;
		char *why = NULL;
		int host = nc_placement_choose(ps, rv[i].vm, -1, &why);

		if (host < 0) {
			add_note(p, alloc_n, NC_NOTE_WARNING, name, "VM %s cannot be restarted elsewhere (%s): %s",
				 name, rv[i].reason, why);
			p->blocked++;
			free(why);
			continue;
		}
		nc_placement_put(ps, rv[i].vm, (size_t)host);
		a = add_action(p, alloc_a, NC_ACT_RECOVER, name, (size_t)host);
		a->vmref = rv[i].vm;
		a->desired = rv[i].des;
		a->redefine = true;
		a->start_after = rv[i].start;
		a->priority = rv[i].priority;
		a->reason = nc_xasprintf("restart on %s: %s", c->hosts[host].spec->obj.meta.name.v, rv[i].reason);
		a->placement = why;
		a->failed_hosts = rv[i].hosts;
		a->nfailed_hosts = rv[i].nhosts;
		rv[i].hosts = NULL;
		rv[i].nhosts = 0;
		p->recovering++;
	}
	for (i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < rv[i].nhosts; k++)
			free(rv[i].hosts[k]);
		free(rv[i].hosts);
		free(rv[i].reason);
	}
}

/*
 * Stale copies: a host in the HA record that can be read again holds a
 * managed domain of a VM its record lists as recovered, while the VM also
 * runs elsewhere (on a host whose record does not list it): that copy is
 * stale.  stale[k] is set for each such entry of locs.
 */
static void find_stale(bool *stale, const struct loc *locs, size_t nlocs, const struct nc_cluster *c,
		       const struct nc_plan_opts *opts)
{
	size_t i, j, k;

	for (i = 0; i < nlocs; i = j) {
		bool other = false;

		for (j = i; j < nlocs && strcmp(locs[j].name, locs[i].name) == 0; j++) {
			const struct nc_domain *d = &c->hosts[locs[j].host].obs.doms[locs[j].dom];
			const struct nc_ha_host *h = ha_entry(opts, c->hosts[locs[j].host].spec->obj.meta.name.v);

			if (!d->managed)
				continue;
			stale[j] = h && nc_ha_list_has(h->recovered, h->nrecovered, locs[j].name);
			other |= !stale[j];
		}
		for (k = i; k < j && !other; k++)
			stale[k] = false;
	}
}

/* the host of the first copy of locs[k]'s VM that is not stale */
static size_t live_copy(const bool *stale, const struct loc *locs, size_t nlocs, size_t k)
{
	size_t i = k;

	while (i > 0 && strcmp(locs[i - 1].name, locs[k].name) == 0)
		i--;
	for (; i < nlocs && strcmp(locs[i].name, locs[k].name) == 0; i++)
		if (!stale[i])
			return locs[i].host;
	return locs[k].host;
}

/*
 * A VM on a host in the HA record that can be read again, running, with an
 * rbd disk that host's fence covered (its client was blocklisted): it cannot
 * write any more, so it is restarted in place, at once, for a new client.
 */
static void ha_restart_in_place(struct nc_plan *p, size_t *alloc_a, const struct nc_cluster *c,
				const struct nc_plan_opts *opts, const struct nc_vm *vm, struct nc_desired *des,
				size_t host, size_t first_action)
{
	const char *name = vm->obj.meta.name.v, *hn = c->hosts[host].spec->obj.meta.name.v;
	const struct nc_ha_host *h = ha_entry(opts, hn);
	const char *local_disk, *local_pool, **rbd = NULL, *hit = NULL;
	struct nc_action *a = NULL;
	struct nc_buf fw = NC_BUF_INIT;
	size_t i, nrbd;
	bool netfs;

	/* restarted elsewhere after this failure: the other copy may run where it cannot be seen now */
	if (!h || !h->fenced || h->whole_host || nc_ha_list_has(h->recovered, h->nrecovered, name))
		return;
	nrbd = vm_disks(p->spec, vm, des, &rbd, &local_disk, &local_pool, &netfs);
	for (i = 0; i < nrbd && !hit; i++)
		if (nc_ha_list_has(h->disks, h->ndisks, rbd[i]))
			hit = rbd[i];
	if (!hit) {
		free(rbd);
		return;
	}
	for (i = first_action; i < p->nactions; i++)
		if (p->actions[i].kind == NC_ACT_UPDATE && strcmp(p->actions[i].vm, name) == 0)
			a = &p->actions[i];
	if (!a) {
		a = add_action(p, alloc_a, NC_ACT_UPDATE, name, host);
		a->vmref = vm;
		a->desired = des;
	}
	free(a->reason);
	fence_words(&fw, h);
	a->reason = nc_xasprintf("restart in place: its rbd client was fenced when %s failed (%s) and it was not "
				 "restarted elsewhere: a new client can write again (allowRestart is not asked)",
				 hn, fw.buf);
	a->restart = true;
	a->ha_restart = true;
	a->start_after = false;
	add_change(a, true, "rbd client", "fenced (blocklisted)", "a new one: destroyed, then started");
	nc_buf_release(&fw);
	free(rbd);
}

void nc_plan_add_error(struct nc_plan *p, const char *vm, const char *fmt, ...)
{
	struct nc_note *n;
	struct nc_buf b = NC_BUF_INIT;
	va_list ap;

	p->notes = nc_xreallocarray(p->notes, p->nnotes + 1, sizeof(*p->notes));
	n = &p->notes[p->nnotes++];
	n->kind = NC_NOTE_ERROR;
	n->vm = vm ? nc_xstrdup(vm) : NULL;
	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	n->text = nc_buf_detach(&b, NULL);
	p->errors++;
}

/* the VM asks to take over an unmanaged domain of its name on this host (docs/adopt.md) */
static bool adoptable(const struct nc_vm *vm, const struct nc_cluster *c, size_t host)
{
	const char *v = nc_map_get(&vm->obj.meta.annotations, NC_ADOPT_ANNOTATION);

	if (!v || strcmp(v, "true") != 0)
		return false;
	return !vm->spec.placement.host.v ||
	       strcmp(vm->spec.placement.host.v, c->hosts[host].spec->obj.meta.name.v) == 0;
}

/* adopt: the drift between the domain and the spec, converged by the plans after it */
static void plan_adopt(struct nc_plan *p, size_t *alloc_a, const struct nc_vm *vm, struct nc_desired *des,
		       const struct nc_domain *o, size_t host, int want)
{
	struct nc_action *a = add_action(p, alloc_a, NC_ACT_ADOPT, vm->obj.meta.name.v, host);
	bool running = o->state == NC_DOM_RUNNING;

	a->vmref = vm;
	a->desired = des;
	diff_domain(a, &des->def, o, running);
	if (want == NC_STATE_RUNNING && o->state == NC_DOM_SHUTOFF)
		add_change(a, false, "state", "shut off", "running");
	else if (want == NC_STATE_STOPPED && running)
		add_change(a, false, "state", "running", "stopped");
	a->reason = nc_xstrdup(a->nchanges ?
		"unmanaged domain taken over (novacron.io/adopt); the changes listed are made by the next plan" :
		"unmanaged domain taken over (novacron.io/adopt); it matches the spec");
}

/* ---- scope: ignoreDifferences, suspended VMs, --target (docs/plan.md) ---- */

static bool ignores(const struct nc_vm *vm, const char *field)
{
	size_t i;

	for (i = 0; field && i < vm->eff.ignore_differences.n; i++)
		if (strcmp(vm->eff.ignore_differences.v[i].v, field) == 0)
			return true;
	return false;
}

/*
 * Drift on the fields the VM's ignoreDifferences names plans nothing: each
 * change is taken out of t and shown as a note "ignored: ...".  vcpus,
 * memory and machine keep their observed values when the domain is
 * redefined for another reason; disks, nics and cloudInit cannot be kept
 * apart from the definition, so a redefine applies them (the note says so).
 * True when the run state is ignored too.
 */
static bool ignore_changes(struct nc_plan *p, size_t *alloc_n, const struct nc_vm *vm, struct nc_desired *des,
			   const struct nc_domain *o, struct nc_action *t, bool hash_changed, int want)
{
	const char *name = vm->obj.meta.name.v;
	size_t k, n = 0;
	bool state = ignores(vm, "state");

	if (!vm->eff.ignore_differences.n)
		return false;
	for (k = 0; k < t->nchanges; k++) {
		struct nc_change *ch = &t->changes[k];
		const char *f = nc_ignore_field_of(ch->field);
		bool kept = f && (!strcmp(f, "vcpus") || !strcmp(f, "memory") || !strcmp(f, "machine"));

		if (!ignores(vm, f)) {
			t->changes[n++] = *ch;
			continue;
		}
		add_note(p, alloc_n, NC_NOTE_INFO, name, "ignored: VM %s %s (desired %s, observed %s)%s", name,
			 ch->field, ch->to, ch->from,
			 hash_changed && !kept ? "; the spec changed, so the redefine applies it all the same" : "");
		p->ignored++;
		if (!strcmp(f, "vcpus"))
			des->def.vcpus = o->vcpus;
		else if (!strcmp(f, "memory") && strcmp(ch->field, "memory") == 0)
			des->def.memory = o->memory;
		else if (!strcmp(f, "machine") && o->machine)
			des->def.machine = nc_arena_strdup(&des->arena, o->machine);
		if (!strcmp(f, "memory"))
			t->live_memory = false;
		free(ch->field);
		free(ch->from);
		free(ch->to);
	}
	t->nchanges = n;
	if (state && ((want == NC_STATE_STOPPED && o->state == NC_DOM_RUNNING) ||
		      (want == NC_STATE_RUNNING && o->state == NC_DOM_SHUTOFF))) {
		add_note(p, alloc_n, NC_NOTE_INFO, name, "ignored: VM %s state (desired %s, observed %s)", name,
			 want == NC_STATE_RUNNING ? "running" : "stopped",
			 o->state == NC_DOM_RUNNING ? "running" : "shut off");
		p->ignored++;
	}
	return state;
}

static void action_free(struct nc_action *a)
{
	size_t j;

	nc_xmove_free(a->xmove);
	free(a->vm);
	free(a->reason);
	free(a->placement);
	free(a->pool);
	free(a->snapshot);
	for (j = 0; j < a->nchanges; j++) {
		free(a->changes[j].field);
		free(a->changes[j].from);
		free(a->changes[j].to);
	}
	free(a->changes);
	free(a->after);
	for (j = 0; j < a->ndeps; j++)
		free(a->deps[j]);
	free(a->deps);
	for (j = 0; j < a->nfailed_hosts; j++)
		free(a->failed_hosts[j]);
	free(a->failed_hosts);
	for (j = 0; j < a->naffected; j++)
		free(a->affected[j]);
	free(a->affected);
}

void nc_plan_action_free(struct nc_action *a)
{
	action_free(a);
}

/*
 * A VM with novacron.io/reconcile: disabled gets no action: each one
 * planned for it (before networks, secrets and images are planned from
 * them) becomes a note "suspended: ...".  Returns how many deletes of a
 * VM leaving were taken out (the mass-delete guard counts the others).
 */
static size_t suspend_filter(struct nc_plan *p, size_t *alloc_n, const struct nc_cluster *c)
{
	size_t i, n = 0, dels = 0, k;
	const char *last = NULL;

	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];
		const struct nc_vm *vm = a->vmref ? a->vmref :
					 (const struct nc_vm *)nc_spec_find(p->spec, NC_KIND_VM, a->vm);
		struct nc_buf b = NC_BUF_INIT;

		if (a->obj != NC_OBJ_VM || !vm || !nc_vm_suspended(vm)) {
			p->actions[n++] = *a;
			continue;
		}
		if (!last || strcmp(last, vm->obj.meta.name.v) != 0)
			p->suspended++;
		last = vm->obj.meta.name.v;
		if (a->kind == NC_ACT_DELETE && !a->stale)
			dels++;
		nc_buf_addf(&b, "suspended: VM %s (annotation %s: disabled): not acted on: %s%s on %s",
			    vm->obj.meta.name.v, NC_RECONCILE_ANNOTATION, a->replace ? "replace" : nc_action_name(a->kind),
			    a->kind == NC_ACT_RECOVER ? " (restart elsewhere)" : "", c->hosts[a->host].spec->obj.meta.name.v);
		if (a->kind == NC_ACT_MIGRATE)
			nc_buf_addf(&b, " -> %s", c->hosts[a->target].spec->obj.meta.name.v);
		nc_buf_addf(&b, " (%s", a->reason ? a->reason : "");
		for (k = 0; k < a->nchanges; k++)
			nc_buf_addf(&b, "%s%s %s -> %s", k ? ", " : "; ", a->changes[k].field, a->changes[k].from,
				    a->changes[k].to);
		nc_buf_adds(&b, ")");
		add_note(p, alloc_n, NC_NOTE_WARNING, vm->obj.meta.name.v, "%s", b.buf);
		nc_buf_release(&b);
		if (a->kind == NC_ACT_RECOVER)
			p->recovering--;
		action_free(a);
	}
	p->nactions = n;
	return dels;
}

/*
 * --target / --selector, once every action has its id and dependencies:
 * the VM actions left are those of VMs in scope; of the others (networks,
 * secrets, Image uploads) only those a kept action waits for, directly or
 * not, and those a target names (Network/lan) stay.  Ids are given again
 * in the same order, the counts made again, and the plan says first that
 * it is partial on purpose.
 */
static void scope_filter(struct nc_plan *p, size_t *alloc_n, const struct nc_spec *spec,
			 const struct nc_plan_opts *opts)
{
	bool *keep = nc_xcalloc(p->nactions + 1, sizeof(*keep)), more = true;
	int *id = nc_xcalloc(p->nactions + 1, sizeof(*id));
	size_t i, j, n = 0;
	struct nc_buf b = NC_BUF_INIT;
	struct nc_note note;

	for (i = 0; i < p->nactions; i++)
		keep[i] = p->actions[i].obj == NC_OBJ_VM && p->actions[i].kind != NC_ACT_UPLOAD ? true :
			  p->actions[i].obj == NC_OBJ_SNAPSHOT ? nc_scope_vm_in(opts, p->actions[i].vmref) :
			  nc_scope_object_targeted(opts, p->actions[i].obj, p->actions[i].vm);
	while (more) {
		more = false;
		for (i = p->nactions; i-- > 0;)
			for (j = 0; keep[i] && j < p->actions[i].nafter; j++) {
				size_t d = (size_t)p->actions[i].after[j] - 1;

				if (d < p->nactions && !keep[d])
					keep[d] = more = true;
			}
	}
	for (i = 0; i < p->nactions; i++) {
		if (!keep[i]) {
			action_free(&p->actions[i]);
			continue;
		}
		id[i] = (int)n + 1;
		p->actions[n++] = p->actions[i];
	}
	p->ncreate = p->nupdate = p->ndelete = p->nstart = p->nstop = p->nmigrate = p->nupload = p->nrecover = 0;
	p->nadopt = 0;
	for (i = 0; i < n; i++) {
		struct nc_action *a = &p->actions[i];
		size_t m = 0;

		a->id = (int)i + 1;
		for (j = 0; j < a->nafter; j++)
			if (id[a->after[j] - 1])
				a->after[m++] = id[a->after[j] - 1];
		a->nafter = m;
		nc_plan_count(p, a->kind);
	}
	p->nactions = n;
	p->scoped = true;
	/* the warning goes first: the plan is partial on purpose */
	for (i = 0; i < opts->ntargets; i++)
		nc_buf_addf(&b, "%s%s", i ? ", " : "", opts->targets[i]);
	if (opts->selector)
		nc_buf_addf(&b, "%sselector %s", b.len ? "; " : "", opts->selector);
	if (!p->scope_vms)
		add_note(p, alloc_n, NC_NOTE_WARNING, NULL, "targeted: 0 of %zu VMs (%s): it matches no VM, so "
			 "nothing is planned", spec->nobjs[NC_KIND_VM], b.buf);
	else
		add_note(p, alloc_n, NC_NOTE_WARNING, NULL, "targeted: %zu of %zu VMs (%s); other drift is not "
			 "shown or acted on, nothing is pruned or rebalanced outside it, and the cluster may still "
			 "differ from the spec after this plan", p->scope_vms, spec->nobjs[NC_KIND_VM], b.buf);
	note = p->notes[p->nnotes - 1];
	memmove(p->notes + 1, p->notes, (p->nnotes - 1) * sizeof(*p->notes));
	p->notes[0] = note;
	nc_buf_release(&b);
	free(keep);
	free(id);
}

int nc_plan_build(struct nc_plan *out, const struct nc_spec *spec, const struct nc_cluster *c,
		  const struct nc_plan_opts *opts)
{
	struct nc_plan p;
	struct nc_placement_state *ps = nc_placement_new(spec, c);
	struct loc *locs;
	struct gloc *glocs;
	size_t nlocs = 0, nglocs = 0, alloc_a = 0, alloc_n = 0, i, j, k;
	size_t ndel = 0;
	const struct nc_vm *vm;
	unsigned threshold = opts->delete_threshold ? opts->delete_threshold : 25;
	bool *busy = nc_xcalloc(spec->nobjs[NC_KIND_VM] + 1, sizeof(*busy)), *stale;
	struct nc_imbalance imb;
	struct recovery *rv = nc_xcalloc(spec->nobjs[NC_KIND_VM] + 1, sizeof(*rv));
	size_t nrv = 0;
	unsigned max_rec = opts->max_recoveries ? opts->max_recoveries : 4;
	struct nc_tier_state *tiers;

	memset(&p, 0, sizeof(p));
	p.spec = spec;
	/* a failed host gets nothing new until its HA record is cleared (docs/ha.md) */
	for (i = 0; i < c->nhosts; i++)
		if (ha_entry(opts, c->hosts[i].spec->obj.meta.name.v))
			nc_placement_exclude(ps, i, "failed (in the HA record until it is cleared)");
	plan_load(&p, &alloc_n, spec, c, ps, opts);
	tiers = nc_tier_prepare(&p, &alloc_n, spec, c, opts);

	/* every observed domain, by name, for lookups; placement learns usage */
	for (i = 0; i < c->nhosts; i++)
		nlocs += c->hosts[i].obs.ndoms;
	locs = nc_xcalloc(nlocs ? nlocs : 1, sizeof(*locs));
	nlocs = 0;
	for (i = 0; i < c->nhosts; i++) {
		for (j = 0; j < c->hosts[i].obs.ndoms; j++) {
			const struct nc_domain *d = &c->hosts[i].obs.doms[j];

			locs[nlocs].name = d->managed ? d->meta_vm : d->name;
			locs[nlocs].host = i;
			locs[nlocs].dom = j;
			nlocs++;
			if (d->managed)
				p.managed++;
			else
				p.unmanaged++;
		}
	}
	if (nlocs > 1)
		qsort(locs, nlocs, sizeof(*locs), loc_cmp);
	stale = nc_xcalloc(nlocs + 1, sizeof(*stale));
	find_stale(stale, locs, nlocs, c, opts);

	for (i = 0; i < c->nhosts; i++) {
		const char *hn = c->hosts[i].spec->obj.meta.name.v;
		const struct nc_ha_host *h = ha_entry(opts, hn);

		if (c->hosts[i].status != NC_HOST_OK && !h) {
			add_note(&p, &alloc_n, NC_NOTE_WARNING, NULL,
				 "host %s is unreachable (%s): its VMs are not checked, and VMs that "
				 "may be on it are not created elsewhere", hn, c->hosts[i].error);
		} else if (h) {
			struct nc_buf fw = NC_BUF_INIT;

			if (h->fenced)
				fence_words(&fw, h);
			if (c->hosts[i].status != NC_HOST_OK)
				add_note(&p, &alloc_n, NC_NOTE_WARNING, NULL,
					 "host %s is unreachable (%s) and failed: %s%s%s; its VMs with ha.policy restart "
					 "are restarted elsewhere once fenced for them, the others are not created "
					 "elsewhere", hn, c->hosts[i].error, h->fenced ? "fenced (" : "not fenced yet",
					 fw.buf, h->fenced ? ")" : "");
			else
				add_note(&p, &alloc_n, NC_NOTE_WARNING, NULL,
					 "host %s failed and can be read again: its stale copies of VMs restarted "
					 "elsewhere are removed (disks kept), its other VMs are reconciled, nothing is "
					 "placed on it until its HA record is cleared (after a pass that finds nothing "
					 "stale, or novacron fence clear %s)", hn, hn);
			nc_buf_release(&fw);
		}
	}
	p.unreachable = c->unreachable + c->gone_unreachable;

	/* a host declared at a new address while the old one may still hold its VMs */
	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		const char *hn = v->spec->obj.meta.name.v;
		struct nc_buf b = NC_BUF_INIT;

		if (!v->moved_from)
			continue;
		for (j = 0; j < v->nmoved; j++)
			nc_buf_addf(&b, "%s%s", j ? ", " : "", v->moved_vms[j]);
		add_note(&p, &alloc_n, NC_NOTE_WARNING, NULL,
			 "host %s is declared at %s but was recorded at %s, and the managed VM%s recorded "
			 "there (%s) %s found on no host: %s may still run at the old address, so %s not "
			 "created elsewhere and no VM is placed on %s; declare %s at %s again with "
			 "maintenance: true to move %s, then change its uri, or, if nothing runs there any "
			 "more, run novacron decommission %s",
			 hn, v->spec->spec.uri.v, v->moved_from, v->nmoved == 1 ? "" : "s", b.buf,
			 v->nmoved == 1 ? "is" : "are", v->nmoved == 1 ? "it" : "they",
			 v->nmoved == 1 ? "it is" : "they are", hn, hn, v->moved_from,
			 v->nmoved == 1 ? "it" : "them", hn);
		nc_buf_release(&b);
	}

	/* hosts that left the spec: never changed, but what they hold is not created elsewhere */
	for (i = 0; i < c->ngone; i++)
		for (j = 0; j < c->gone[i].obs.ndoms; j++)
			nglocs += c->gone[i].obs.doms[j].managed && c->gone[i].obs.doms[j].meta_vm;
	glocs = nc_xcalloc(nglocs ? nglocs : 1, sizeof(*glocs));
	nglocs = 0;
	for (i = 0; i < c->ngone; i++) {
		const struct nc_gone_host *g = &c->gone[i];
		struct nc_buf b = NC_BUF_INIT;
		size_t n = 0;

		for (j = 0; j < g->obs.ndoms; j++) {
			if (!g->obs.doms[j].managed || !g->obs.doms[j].meta_vm)
				continue;
			glocs[nglocs].vm = g->obs.doms[j].meta_vm;
			glocs[nglocs].gone = i;
			glocs[nglocs].dom = j;
			nglocs++;
			nc_buf_addf(&b, "%s%s", n++ ? ", " : "", g->obs.doms[j].meta_vm);
		}
		if (g->status != NC_HOST_OK) {
			for (j = 0; j < g->nvms; j++)
				nc_buf_addf(&b, "%s%s", j ? ", " : "", g->vms[j]);
			add_note(&p, &alloc_n, NC_NOTE_WARNING, NULL,
				 "host %s is no longer declared in the spec and cannot be read (%s): the VMs last "
				 "seen on it (%s) may still run there, so no VM is created while it is unreachable; "
				 "declare it again (with maintenance: true to drain it) once it can be reached, or, "
				 "if it is gone for good, run novacron decommission %s --force",
				 g->name, g->error, b.len ? b.buf : "none recorded", g->name);
		} else if (n) {
			add_note(&p, &alloc_n, NC_NOTE_WARNING, NULL,
				 "host %s is no longer declared in the spec but still holds %zu managed VM%s (%s): "
				 "%s not created elsewhere and never pruned; declare %s again with maintenance: true "
				 "to move %s to declared hosts, then run novacron decommission %s",
				 g->name, n, n == 1 ? "" : "s", b.buf, n == 1 ? "it is" : "they are", g->name,
				 n == 1 ? "it" : "them", g->name);
		} else {
			add_note(&p, &alloc_n, NC_NOTE_INFO, NULL,
				 "host %s is no longer declared in the spec and holds no managed VM: run "
				 "novacron decommission %s to stop observing it", g->name, g->name);
		}
		nc_buf_release(&b);
	}
	if (nglocs > 1)
		qsort(glocs, nglocs, sizeof(*glocs), gloc_cmp);

	p.desired = nc_xcalloc(spec->nobjs[NC_KIND_VM] + 1, sizeof(*p.desired));
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		const char *name = vm->obj.meta.name.v;
		int want = NC_IS_SET(vm->spec.state) ? vm->spec.state.v : NC_STATE_RUNNING;

		busy[i] = true;    /* rebalancing may move it only if it is settled below */
		/* --target / --selector: another VM is neither shown nor acted on (docs/plan.md) */
		if (!nc_scope_vm_in(opts, vm))
			continue;
		p.scope_vms++;
		bool suspended = nc_vm_suspended(vm);
		size_t first_action = p.nactions;
		bool takeover = false;   /* the copy left behind becomes the one that runs (see ha_takeover) */
		struct loc *first;
		size_t nfound = 0, managed_found = 0, gfirst = gloc_first(glocs, nglocs, name), ngfound = 0;
		struct nc_desired *des = NULL;
		const struct loc *at = NULL, *adopt = NULL;

		/* the first location of this name (lower bound) */
		{
			size_t lo = 0, hi = nlocs;

			while (lo < hi) {
				size_t mid = (lo + hi) / 2;

				if (strcmp(locs[mid].name, name) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			first = lo < nlocs && strcmp(locs[lo].name, name) == 0 ? &locs[lo] : NULL;
		}
		for (k = first ? (size_t)(first - locs) : nlocs; k < nlocs && strcmp(locs[k].name, name) == 0; k++) {
			const struct nc_domain *d = &c->hosts[locs[k].host].obs.doms[locs[k].dom];

			if (stale[k]) {
				/* restarted elsewhere while its host was failed: destroyed and undefined */
				const char *hn = c->hosts[locs[k].host].spec->obj.meta.name.v;
				struct nc_action *a = add_action(&p, &alloc_a, NC_ACT_DELETE, d->name, locs[k].host);

				a->stale = true;
				a->vmref = vm;
				a->reason = nc_xasprintf("stale copy: %s was restarted on %s after %s failed; destroyed "
							 "and undefined, its disks kept (the restarted copy uses them)",
							 name, c->hosts[live_copy(stale, locs, nlocs, k)].spec->obj.meta.name.v,
							 hn);
				continue;    /* not a VM leaving: the mass-delete guard does not count it */
			}
			nfound++;
			if (d->managed) {
				managed_found++;
				at = &locs[k];
			} else if (!adopt && adoptable(vm, c, locs[k].host)) {
				adopt = &locs[k];
			} else {
				add_note(&p, &alloc_n, NC_NOTE_ERROR, name,
					 "a domain named %s exists on %s but is not managed by NovaCron: "
					 "it is never touched; rename the VM or the domain",
					 name, c->hosts[locs[k].host].spec->obj.meta.name.v);
			}
		}
		for (k = gfirst; k < nglocs && strcmp(glocs[k].vm, name) == 0; k++)
			ngfound++;
		if (adopt && (nfound != 1 || ngfound || want == NC_STATE_ABSENT)) {
			add_note(&p, &alloc_n, NC_NOTE_ERROR, name,
				 "a domain named %s exists on %s but is not managed by NovaCron, and it cannot be "
				 "adopted (%s): it is never touched", name, c->hosts[adopt->host].spec->obj.meta.name.v,
				 want == NC_STATE_ABSENT ? "the spec says state: absent" :
				 "the VM is also found elsewhere");
			continue;
		}
		if (adopt) {
			des = &p.desired[p.ndesired++];
			nc_desired_build(des, spec, vm, opts->commit);
			plan_adopt(&p, &alloc_a, vm, des, &c->hosts[adopt->host].obs.doms[adopt->dom], adopt->host,
				   want);
			continue;
		}
		if (managed_found != nfound)
			continue;

		if (want == NC_STATE_ABSENT && ngfound)
			add_note(&p, &alloc_n, NC_NOTE_WARNING, name,
				 "VM %s (state: absent) is still defined on %s, which the spec no longer declares: "
				 "NovaCron changes no undeclared host; declare it again to delete %s there",
				 name, c->gone[glocs[gfirst].gone].name, name);
		if (want == NC_STATE_ABSENT) {
			for (k = first ? (size_t)(first - locs) : nlocs; k < nlocs && strcmp(locs[k].name, name) == 0; k++) {
				const struct nc_domain *d = &c->hosts[locs[k].host].obs.doms[locs[k].dom];
				struct nc_action *a;

				if (stale[k])
					continue;
				a = add_action(&p, &alloc_a, NC_ACT_DELETE, d->name, locs[k].host);

				a->reason = nc_xasprintf("state: absent; disks %s",
							 d->meta_delete_disks ? "deleted (deletionPolicy: delete)"
									      : "retained (deletionPolicy: retain)");
				ndel++;
			}
			continue;
		}
		des = &p.desired[p.ndesired++];
		nc_desired_build(des, spec, vm, opts->commit);

		if (managed_found + ngfound > 1) {
			struct nc_buf b = NC_BUF_INIT;

			for (k = first ? (size_t)(first - locs) : nlocs; k < nlocs && strcmp(locs[k].name, name) == 0; k++)
				if (!stale[k])
					nc_buf_addf(&b, "%s%s", b.len ? ", " : "",
						    c->hosts[locs[k].host].spec->obj.meta.name.v);
			for (k = gfirst; k < nglocs && strcmp(glocs[k].vm, name) == 0; k++)
				nc_buf_addf(&b, "%s%s (not declared)", b.len ? ", " : "", c->gone[glocs[k].gone].name);
			add_note(&p, &alloc_n, NC_NOTE_ERROR, name,
				 "VM %s is defined on several hosts (%s): resolve by hand; NovaCron will not guess",
				 name, b.buf);
			nc_buf_release(&b);
			continue;
		}
		/*
		 * The only copy seen is one its host's HA record lists as restarted
		 * elsewhere (not stale only because the restarted copy is not seen):
		 * while a host cannot be read, that copy may run there.  Starting or
		 * changing this one would run the VM twice: it is left as it is.
		 */
		if (at && p.unreachable) {
			const char *hn = c->hosts[at->host].spec->obj.meta.name.v;
			const struct nc_ha_host *h = ha_entry(opts, hn);

			if (h && nc_ha_list_has(h->recovered, h->nrecovered, name) && unreachable_all_fence(spec, c, opts, vm, des))
				takeover = true;
			if (h && nc_ha_list_has(h->recovered, h->nrecovered, name) &&
			    !unreachable_all_fence(spec, c, opts, vm, des)) {
				add_note(&p, &alloc_n, NC_NOTE_WARNING, name,
					 "VM %s on %s is the copy left behind when %s failed: %s was restarted "
					 "elsewhere, and that copy may run on a host that cannot be read now; this one "
					 "is not started or changed (it is removed as stale once the other is seen)",
					 name, hn, hn, name);
				p.blocked++;
				continue;
			}
		}
		if (!at) {
			char *why = NULL;
			int host;
			struct nc_action *a;

			if (ngfound) {
				const char *gn = c->gone[glocs[gfirst].gone].name;

				add_note(&p, &alloc_n, NC_NOTE_WARNING, name,
					 "VM %s runs on %s, a host the spec no longer declares: it is not created "
					 "elsewhere (it would run twice, with the same MAC addresses); declare %s again "
					 "with maintenance: true to move it to a declared host", name, gn, gn);
				p.blocked++;
				continue;
			}
			if (moved_from(c, name)) {
				const struct nc_host_view *mv = moved_from(c, name);

				add_note(&p, &alloc_n, NC_NOTE_WARNING, name,
					 "VM %s was last seen on %s at %s, and %s is now declared at %s: it is not "
					 "created elsewhere (it may still run at the old address, with the same MAC "
					 "addresses)", name, mv->spec->obj.meta.name.v, mv->moved_from,
					 mv->spec->obj.meta.name.v, mv->spec->spec.uri.v);
				p.blocked++;
				continue;
			}
			if (p.unreachable) {
				const struct nc_gone_host *g = recorded_unreachable(c, name);
				int hr = ha_check(&p, &alloc_n, c, opts, vm, des, &rv[nrv]);

				if (hr > 0) {
					nrv++;      /* placed below, highest priority first */
					continue;
				}
				if (hr < 0) {
					/* the note says why */
				} else if (g)
					add_note(&p, &alloc_n, NC_NOTE_WARNING, name,
						 "VM %s was last seen on %s, a host the spec no longer declares and "
						 "that cannot be read; it is not created elsewhere", name, g->name);
				else
					add_note(&p, &alloc_n, NC_NOTE_WARNING, name,
						 "VM %s was not found on any reachable host; it is not created while "
						 "%zu host%s unreachable", name, p.unreachable,
						 p.unreachable == 1 ? " is" : "s are");
				p.blocked++;
				continue;
			}
			host = nc_placement_choose(ps, vm, -1, &why);
			if (host < 0) {
				add_note(&p, &alloc_n, NC_NOTE_ERROR, name, "cannot place VM %s: %s", name, why);
				free(why);
				continue;
			}
			nc_placement_put(ps, vm, (size_t)host);
			busy[i] = true;
			a = add_action(&p, &alloc_a, NC_ACT_CREATE, name, (size_t)host);
			a->vmref = vm;
			if (NC_IS_SET(vm->spec.restore))
				a->reason = nc_xasprintf("not found on any host; missing disks are restored from backup %.16s (%s)",
							 vm->spec.restore.backup.v,
							 vm->spec.restore.schedule.v ? vm->spec.restore.schedule.v
										     : vm->spec.backup_schedule.v);
			else
				a->reason = nc_xstrdup("not found on any host");
			a->placement = why;
			a->start_after = want == NC_STATE_RUNNING;
			a->redefine = true;
			a->desired = des;
			if (nc_scope_replace(opts, name))
				add_note(&p, &alloc_n, NC_NOTE_INFO, name, "replace of VM %s: it is not defined on any "
					 "host, so it is created", name);
			continue;
		}

		{
			const struct nc_domain *o = &c->hosts[at->host].obs.doms[at->dom];
			bool running = o->state == NC_DOM_RUNNING;
			struct nc_action tmp, *a;
			bool restart_needed = false, hash_changed, ign_state;

			memset(&tmp, 0, sizeof(tmp));
			nc_tier_vm(tiers, &p, &alloc_a, vm, des, at->host, running && want == NC_STATE_RUNNING);
			diff_domain(&tmp, &des->def, o, running);
			nc_tier_filter(tiers, vm, &tmp);
			/* a disk is never shrunk (data past the new end would be lost) */
			for (k = 0; k < des->def.ndisks; k++) {
				const struct nc_disk_def *dk = &des->def.disks[k];
				size_t m;

				for (m = 0; m < o->ndisks; m++) {
					char x[32], y[32];

					if (!str_eq(o->disks[m].target, dk->target) || !dk->size ||
					    !o->disks[m].capacity || dk->size >= o->disks[m].capacity)
						continue;
					size_str(o->disks[m].capacity, x, sizeof(x));
					size_str(dk->size, y, sizeof(y));
					add_note(&p, &alloc_n, NC_NOTE_ERROR, name,
						 "disk '%s' of VM %s is %s; the spec asks for %s: shrinking a disk is "
						 "refused (data past the end would be lost): keep the size or add a new disk",
						 dk->name, name, x, y);
				}
			}
			hash_changed = !o->meta_hash || strcmp(o->meta_hash, des->hash) != 0;
			ign_state = ignore_changes(&p, &alloc_n, vm, des, o, &tmp, hash_changed, want);
			for (k = 0; k < tmp.nchanges; k++)
				restart_needed |= tmp.changes[k].restart;

			if (nc_scope_replace(opts, name)) {
				a = add_action(&p, &alloc_a, NC_ACT_UPDATE, name, at->host);
				a->vmref = vm;
				a->changes = tmp.changes;
				a->nchanges = tmp.nchanges;
				a->seed_upload = des->def.seed != NULL;
				a->desired = des;
				a->redefine = true;
				a->replace = true;
				a->drift = !hash_changed;
				a->start_after = want == NC_STATE_RUNNING;
				a->reason = nc_xasprintf("replace asked (--replace): %s, undefined and defined anew (a new "
							 "UUID)%s; disks kept (its volumes are reused, none is deleted or "
							 "made anew)", running ? "shut down" : "stopped",
							 want == NC_STATE_RUNNING ? ", then started" : "");
				add_change(a, running, "domain", running ? "running" : "shut off",
					   want == NC_STATE_RUNNING ? "replaced, started" : "replaced, shut off");
			} else if (want == NC_STATE_STOPPED && running && !ign_state) {
				a = add_action(&p, &alloc_a, NC_ACT_STOP, name, at->host);
				a->reason = nc_xstrdup("running; the spec says stopped");
				a->drift = !hash_changed;
				running = false;
				restart_needed = false;
				tmp.live_memory = false;
				for (k = 0; k < tmp.nchanges; k++)
					tmp.changes[k].restart = false;
			}
			if (nc_scope_replace(opts, name)) {
				/* done above */
			} else if (tmp.nchanges || hash_changed) {
				a = add_action(&p, &alloc_a, NC_ACT_UPDATE, name, at->host);
				a->vmref = vm;
				a->changes = tmp.changes;
				a->nchanges = tmp.nchanges;
				a->live_memory = tmp.live_memory;
				a->seed_upload = tmp.seed_upload;
				a->desired = des;
				a->redefine = true;
				a->drift = !hash_changed;
				if (!tmp.nchanges)
					add_change(a, false, "metadata", "previous spec", "current spec");
				if (restart_needed && vm->spec.allow_restart.v && want == NC_STATE_RUNNING) {
					a->restart = true;
					a->reason = nc_xstrdup(hash_changed ? "spec changed; restart allowed"
									    : "drift; restart allowed");
				} else if (restart_needed) {
					a->reason = nc_xstrdup(hash_changed ?
						"spec changed; changes marked (restart) take effect at the next restart (allowRestart is false)" :
						"drift; changes marked (restart) take effect at the next restart (allowRestart is false)");
				} else {
					a->reason = nc_xstrdup(hash_changed ? "spec changed" : "drift: changed outside NovaCron");
				}
				if (want == NC_STATE_RUNNING && o->state == NC_DOM_SHUTOFF && !ign_state)
					a->start_after = true;
			} else {
				free(tmp.changes);
				if (want == NC_STATE_RUNNING && o->state == NC_DOM_SHUTOFF && !ign_state) {
					a = add_action(&p, &alloc_a, NC_ACT_START, name, at->host);
					a->vmref = vm;
					a->reason = nc_xstrdup("shut off; the spec says running");
					a->drift = true;
				}
			}
			if (o->state == NC_DOM_PAUSED)
				add_note(&p, &alloc_n, NC_NOTE_INFO, name,
					 "VM %s is paused on %s; NovaCron leaves paused domains as they are",
					 name, c->hosts[at->host].spec->obj.meta.name.v);
			if (o->state == NC_DOM_RUNNING && want == NC_STATE_RUNNING)
				ha_restart_in_place(&p, &alloc_a, c, opts, vm, des, at->host, first_action);
			if (takeover)
				ha_takeover(&p, c, name, at->host, first_action);
			if (!suspended && nc_xmove_plan(&p, &alloc_a, &alloc_n, spec, c, ps, vm, at->host, o,
							 want == NC_STATE_RUNNING)) {
				/* its cluster is not its host's: a move between clusters (xmigrate.c) */
			} else if (!suspended)
				plan_move(&p, &alloc_a, &alloc_n, c, ps, vm, at->host,
					  o->state == NC_DOM_RUNNING && want == NC_STATE_RUNNING);
			else if (c->hosts[at->host].spec->spec.maintenance.v ||
				 (NC_IS_SET(vm->spec.placement.host) &&
				  strcmp(vm->spec.placement.host.v, c->hosts[at->host].spec->obj.meta.name.v) != 0))
				/* a suspended VM stays where it is: a drain or a pin leaves it */
				add_note(&p, &alloc_n, NC_NOTE_WARNING, name, "suspended: VM %s (annotation %s: disabled): "
					 "not moved off %s (%s)", name, NC_RECONCILE_ANNOTATION,
					 c->hosts[at->host].spec->obj.meta.name.v,
					 c->hosts[at->host].spec->spec.maintenance.v ? "in maintenance" : "pinned elsewhere");
			busy[i] = p.nactions && strcmp(p.actions[p.nactions - 1].vm, name) == 0 &&
				  p.actions[p.nactions - 1].kind == NC_ACT_MIGRATE;
			if (o->state == NC_DOM_PAUSED || suspended)
				busy[i] = true;
		}
	}
	plan_recoveries(&p, &alloc_a, &alloc_n, ps, c, rv, nrv);
	free(rv);
	nc_imbalance(ps, false, &imb);
	p.imbalance_before = imb.score;
	nc_plan_rebalance(&p, &alloc_a, &alloc_n, spec, c, ps, busy);
	nc_imbalance(ps, false, &imb);
	p.imbalance_after = imb.score;
	free(busy);

	/* managed domains whose VM is no longer in the spec */
	for (k = 0; k < nlocs; k++) {
		const struct nc_domain *d = &c->hosts[locs[k].host].obs.doms[locs[k].dom];
		const char *hn = c->hosts[locs[k].host].spec->obj.meta.name.v;
		struct nc_action *a;

		if (!d->managed || nc_spec_find(spec, NC_KIND_VM, d->meta_vm) || nc_scope_active(opts))
			continue;    /* a scoped plan never prunes */
		if (!opts->prune) {
			add_note(&p, &alloc_n, NC_NOTE_INFO, d->name,
				 "%s on %s is managed by NovaCron but not in the spec; pass --prune to delete it",
				 d->name, hn);
			continue;
		}
		if (d->meta_protected) {
			add_note(&p, &alloc_n, NC_NOTE_ERROR, d->name,
				 "%s on %s is not in the spec, but it was applied with deletionProtection: "
				 "not pruned (set deletionProtection: false and apply before removing it)",
				 d->name, hn);
			continue;
		}
		a = add_action(&p, &alloc_a, NC_ACT_DELETE, d->name, locs[k].host);
		a->reason = nc_xasprintf("pruned: not in the spec; disks %s",
					 d->meta_delete_disks ? "deleted (deletionPolicy: delete)"
							      : "retained");
		ndel++;
	}
	free(locs);
	free(glocs);
	free(stale);
	ndel -= suspend_filter(&p, &alloc_n, c);

	if (ndel && p.managed && ndel * 100 > (size_t)threshold * p.managed && !opts->allow_mass_delete) {
		add_note(&p, &alloc_n, NC_NOTE_ERROR, NULL,
			 "refusing to delete %zu of %zu managed VMs (more than %u%%); pass "
			 "--allow-mass-delete to confirm", ndel, p.managed, threshold);
		p.refused = true;
	}

	plan_copies(&p, spec, c);
	nc_plan_networks(&p, &alloc_a, &alloc_n, spec, c, opts);
	nc_plan_netfs(&p, &alloc_n, c);     /* degraded hosts: netfs pools that cannot be read */
	nc_plan_secrets(&p, &alloc_a, &alloc_n, spec, c);
	plan_images(&p, &alloc_a, &alloc_n, spec, c, opts);
	nc_plan_snapshots(&p, &alloc_a, &alloc_n, spec, c, opts);
	nc_xmove_estimate(&p, spec, c);

	nc_plan_order_prepare(&p, spec);
	if (p.nactions > 1)
		qsort(p.actions, p.nactions, sizeof(*p.actions), action_cmp);
	int *recover_ids = nc_xcalloc(p.nactions + 1, sizeof(*recover_ids));
	size_t nrecover_ids = 0;

	for (i = 0; i < p.nactions; i++) {
		struct nc_action *a = &p.actions[i];

		a->id = (int)i + 1;
		/* at most max_recoveries restarts at once: each later one waits for one before it */
		if (a->kind == NC_ACT_RECOVER) {
			if (nrecover_ids >= max_rec) {
				a->after = nc_xreallocarray(a->after, a->nafter + 1, sizeof(*a->after));
				a->after[a->nafter++] = recover_ids[nrecover_ids - max_rec];
			}
			recover_ids[nrecover_ids++] = a->id;
		}
		switch (a->kind) {
		case NC_ACT_CREATE: p.ncreate++; break;
		case NC_ACT_UPDATE: p.nupdate++; break;
		case NC_ACT_START: p.nstart++; break;
		case NC_ACT_STOP: p.nstop++; break;
		case NC_ACT_DELETE: p.ndelete++; break;
		case NC_ACT_MIGRATE:
			p.nmigrate++;
			nc_migtune_resolve(&a->tune, spec, a->vmref);
			a->tune_set = nc_migtune_set(spec, a->vmref);
			/* between clusters the disks always travel (xmigrate.h) */
			if (a->xmove && a->live)
				a->tune.copy_storage = a->xmove->incremental ? NC_MIG_STORAGE_INCREMENTAL
									     : NC_MIG_STORAGE_FULL;
			break;
		case NC_ACT_UPLOAD: p.nupload++; break;
		case NC_ACT_RECOVER: p.nrecover++; break;
		case NC_ACT_ADOPT: p.nadopt++; break;
		case NC_ACT_MOVE_VOLUME: p.nmove_volume++; break;
		}
		/* creates, updates, and live moves on their destination, wait for the Images of their disks */
		if ((a->kind == NC_ACT_CREATE || a->kind == NC_ACT_UPDATE || (a->kind == NC_ACT_MIGRATE && a->live)) &&
		    a->vmref && a->obj == NC_OBJ_VM) {
			size_t on = a->kind == NC_ACT_MIGRATE ? a->target : a->host;

			for (j = 0; j < i; j++) {
				const struct nc_action *u = &p.actions[j];
				size_t k2;
				bool need = false;

				if (u->kind != NC_ACT_UPLOAD)
					continue;
				for (k2 = 0; k2 < a->vmref->eff.disks.n && !need; k2++) {
					const struct nc_disk *d = (const struct nc_disk *)a->vmref->eff.disks.v + k2;
					const struct nc_pool *pl = NC_IS_SET(d->pool) ?
						(const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v) : NULL;

					need = NC_IS_SET(d->image) && strcmp(d->image.v, u->vm) == 0 && pl &&
					       strcmp(pl->obj.meta.name.v, u->pool) == 0 &&
					       (pl->spec.type.v == NC_POOL_RBD || u->host == on);
				}
				if (need) {
					a->after = nc_xreallocarray(a->after, a->nafter + 1, sizeof(*a->after));
					a->after[a->nafter++] = u->id;
				}
			}
		}
		/* creates wait for the deletes that free room on their host */
		if (a->kind == NC_ACT_CREATE && a->obj == NC_OBJ_VM) {
			for (j = 0; j < i; j++) {
				if (p.actions[j].kind == NC_ACT_DELETE && p.actions[j].host == a->host &&
				    p.actions[j].obj == NC_OBJ_VM) {
					a->after = nc_xreallocarray(a->after, a->nafter + 1, sizeof(*a->after));
					a->after[a->nafter++] = p.actions[j].id;
				}
			}
		}
		/* two actions on one VM (stop, update, migrate, start) run in order */
		for (j = i; j-- > 0 && a->kind != NC_ACT_UPLOAD;) {
			if (strcmp(p.actions[j].vm, a->vm) == 0 && p.actions[j].obj == a->obj &&
			    (a->obj == NC_OBJ_VM || p.actions[j].host == a->host)) {
				a->after = nc_xreallocarray(a->after, a->nafter + 1, sizeof(*a->after));
				a->after[a->nafter++] = p.actions[j].id;
				break;
			}
		}
	}
	free(recover_ids);
	nc_plan_order_deps(&p);
	nc_plan_network_deps(&p);
	nc_plan_secret_deps(&p);
	nc_plan_snapshot_deps(&p);
	if (nc_scope_active(opts))
		scope_filter(&p, &alloc_n, spec, opts);
	nc_plan_by_cluster(&p, spec, c, opts);   /* clusters.h: nothing without Clusters */
	nc_placement_free(ps);
	nc_tier_free(tiers);
	digests(&p, spec, c, opts);
	*out = p;
	return p.errors ? -1 : 0;
}

void nc_plan_count(struct nc_plan *p, enum nc_action_kind k)
{
	switch (k) {
	case NC_ACT_CREATE: p->ncreate++; break;
	case NC_ACT_UPDATE: p->nupdate++; break;
	case NC_ACT_START: p->nstart++; break;
	case NC_ACT_STOP: p->nstop++; break;
	case NC_ACT_DELETE: p->ndelete++; break;
	case NC_ACT_MIGRATE: p->nmigrate++; break;
	case NC_ACT_UPLOAD: p->nupload++; break;
	case NC_ACT_RECOVER: p->nrecover++; break;
	case NC_ACT_ADOPT: p->nadopt++; break;
	case NC_ACT_MOVE_VOLUME: p->nmove_volume++; break;
	}
}

void nc_plan_recount(struct nc_plan *p)
{
	size_t i;

	p->ncreate = p->nupdate = p->ndelete = p->nstart = p->nstop = p->nmigrate = p->nupload = p->nrecover = 0;
	p->nadopt = p->nmove_volume = 0;
	for (i = 0; i < p->nactions; i++)
		nc_plan_count(p, p->actions[i].kind);
}

bool nc_plan_empty(const struct nc_plan *p)
{
	return p->nactions == 0;
}

bool nc_plan_partial(const struct nc_plan *p)
{
	return p->unreachable > 0;
}

bool nc_plan_incomplete(const struct nc_plan *p)
{
	return p->unreachable > 0 || p->blocked > 0;
}

void nc_plan_release(struct nc_plan *p)
{
	size_t i;

	for (i = 0; i < p->nactions; i++)
		action_free(&p->actions[i]);
	free(p->actions);
	for (i = 0; i < p->nnotes; i++) {
		free(p->notes[i].vm);
		free(p->notes[i].text);
	}
	free(p->notes);
	for (i = 0; i < p->ndesired; i++)
		nc_desired_release(&p->desired[i]);
	free(p->desired);
	for (i = 0; i < p->nnets; i++)
		nc_net_desired_release(&p->nets[i]);
	free(p->nets);
	memset(p, 0, sizeof(*p));
}
