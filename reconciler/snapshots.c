/* snapshots.c - see snapshots.h */
#include "snapshots.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../spec/util.h"
#include "plan-int.h"
#include "scope.h"

const struct nc_snapshot_decl *nc_snapshot_find(const struct nc_vm *vm, const char *name)
{
	const struct nc_snapshot_decl *s = vm->spec.snapshots.v;
	size_t i;

	for (i = 0; i < vm->spec.snapshots.n; i++)
		if (s[i].name.v && strcmp(s[i].name.v, name) == 0)
			return &s[i];
	return NULL;
}

char *nc_snapshot_description(const struct nc_snapshot_decl *s, bool running)
{
	bool quiesce = !NC_IS_SET(s->quiesce) || s->quiesce.v;

	/* what was asked, and what a qcow2 internal snapshot gives (drivers/host/snapshot.c) */
	return nc_xasprintf(NC_SNAP_MARK " declared; memory=%s%s; quiesced=no (%s)",
			    running ? "yes" : "no",
			    running && !s->memory.v ? " (a running guest's internal snapshot holds its memory)" :
			    !running && s->memory.v ? " (the guest was not running)" : "",
			    !quiesce ? "not asked" : running ? "not needed: memory state" : "not running");
}

#define SCHEDULED NC_SNAP_MARK " scheduled"

bool nc_snapshot_is_scheduled(const struct nc_dom_snap *o)
{
	return o->managed && o->description && strncmp(o->description, SCHEDULED, strlen(SCHEDULED)) == 0;
}

/* the scheduled snapshots of d beyond the newest keep: *n of them, oldest first, in *out (free) */
static size_t beyond_keep(const struct nc_domain *d, const struct nc_vm *vm, const struct nc_dom_snap ***out)
{
	const struct nc_snapshot_schedule *ss = &vm->spec.snapshot_schedule;
	size_t keep = !NC_IS_SET(ss->schedule) ? 0 : NC_IS_SET(ss->keep) ? (size_t)ss->keep.v : NC_SNAPSHOT_KEEP_DEFAULT;
	size_t i, n = 0, k = 0;

	*out = nc_xcalloc(d->nsnaps + 1, sizeof(**out));
	for (i = 0; i < d->nsnaps; i++)
		n += nc_snapshot_is_scheduled(&d->snaps[i]);
	/* d->snaps is oldest first (creation time, then name) */
	for (i = 0; i < d->nsnaps && n > keep; i++)
		if (nc_snapshot_is_scheduled(&d->snaps[i])) {
			(*out)[k++] = &d->snaps[i];
			n--;
		}
	return k;
}

/* where the VM's domain is (observed) or goes (this plan's create, recover, migrate) */
static bool locate(const struct nc_plan *p, const struct nc_cluster *c, const char *vm, size_t nact,
		   size_t *host, const struct nc_domain **dom, bool *leaving)
{
	size_t h, i;
	bool found = false;

	*dom = NULL;
	*leaving = false;
	for (h = 0; h < c->nhosts && !found; h++) {
		if (c->hosts[h].status != NC_HOST_OK)
			continue;
		for (i = 0; i < c->hosts[h].obs.ndoms; i++) {
			const struct nc_domain *d = &c->hosts[h].obs.doms[i];

			if (d->managed && d->meta_vm && strcmp(d->meta_vm, vm) == 0) {
				*host = h;
				*dom = d;
				found = true;
				break;
			}
		}
	}
	for (i = 0; i < nact; i++) {
		const struct nc_action *a = &p->actions[i];

		if (a->obj != NC_OBJ_VM || strcmp(a->vm, vm) != 0)
			continue;
		if (a->kind == NC_ACT_DELETE && !a->stale)
			*leaving = true;
		else if (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_RECOVER) {
			*host = a->host;
			*dom = NULL;
			found = true;
		} else if (a->kind == NC_ACT_MIGRATE) {
			*host = a->target;
			found = true;
		}
	}
	return found;
}

static struct nc_action *add(struct nc_plan *p, size_t *alloc_a, enum nc_action_kind k, const struct nc_vm *vm,
			     const char *snap, size_t host)
{
	char *name = nc_xasprintf("%s/%s", vm->obj.meta.name.v, snap);
	struct nc_action *a = nc_plan_add_action(p, alloc_a, k, name, host);

	free(name);
	a->obj = NC_OBJ_SNAPSHOT;
	a->vmref = vm;
	a->snapshot = nc_xstrdup(snap);
	return a;
}

void nc_plan_snapshots(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
		       const struct nc_cluster *c, const struct nc_plan_opts *opts)
{
	const struct nc_vm *vm;
	size_t i, j, nact = p->nactions;

	(void)opts;
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		const char *name = vm->obj.meta.name.v;
		const struct nc_snapshot_decl *s = vm->spec.snapshots.v;
		const struct nc_domain *dom;
		struct nc_buf other = NC_BUF_INIT;
		size_t host = 0, nother = 0;
		bool leaving, running;

		if ((NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT) || nc_vm_suspended(vm) ||
		    !locate(p, c, name, nact, &host, &dom, &leaving) || leaving)
			continue;
		/* libvirt refuses to live-migrate a domain that has snapshots (qemuMigrationSrcIsAllowed) */
		for (j = 0; dom && dom->nsnaps && j < nact; j++) {
			const struct nc_action *m = &p->actions[j];

			if (m->obj == NC_OBJ_VM && m->kind == NC_ACT_MIGRATE && m->live && strcmp(m->vm, name) == 0)
				nc_plan_add_note(p, alloc_n, NC_NOTE_WARNING, name,
						 "VM %s has %zu snapshot%s: libvirt refuses to live-migrate a domain with "
						 "snapshots, so its migration will fail until they are deleted "
						 "(docs/storage.md \"Snapshots\")", name, dom->nsnaps, dom->nsnaps == 1 ? "" : "s");
		}
		running = dom ? dom->state == NC_DOM_RUNNING || dom->state == NC_DOM_PAUSED :
			  !NC_IS_SET(vm->spec.state) || vm->spec.state.v == NC_STATE_RUNNING;
		for (j = 0; j < vm->spec.snapshots.n; j++) {
			const struct nc_dom_snap *have = NULL;
			struct nc_action *a;
			size_t k;

			if (!s[j].name.v)
				continue;
			for (k = 0; dom && k < dom->nsnaps; k++)
				if (strcmp(dom->snaps[k].name, s[j].name.v) == 0)
					have = &dom->snaps[k];
			if (have && !have->managed) {
				nc_plan_add_note(p, alloc_n, NC_NOTE_WARNING, name,
						 "snapshot %s is declared, but the snapshot of that name on host %s was "
						 "not taken by NovaCron: left alone (rename one of them)",
						 s[j].name.v, c->hosts[host].spec->obj.meta.name.v);
				continue;
			}
			if (have)
				continue;
			a = add(p, alloc_a, NC_ACT_CREATE, vm, s[j].name.v, host);
			a->reason = nc_xstrdup(running && !s[j].memory.v ?
					       "declared in spec.snapshots, not on the host; the guest runs, so its "
					       "internal snapshot holds its memory too" :
					       "declared in spec.snapshots, not on the host");
			nc_plan_add_change(a, false, "memory", "-", running ? "yes" : "no");
			nc_plan_add_change(a, false, "disks", "-", running ? "internal (qcow2), guest running" :
					   "internal (qcow2), guest shut off");
		}
		if (dom) {
			const struct nc_dom_snap **old;
			size_t n = beyond_keep(dom, vm, &old), k;

			for (k = 0; k < n; k++) {
				struct nc_action *a = add(p, alloc_a, NC_ACT_DELETE, vm, old[k]->name, host);

				a->reason = NC_IS_SET(vm->spec.snapshot_schedule.schedule) ?
					nc_xasprintf("scheduled snapshot older than the newest %lld kept (snapshotSchedule.keep)",
						     NC_IS_SET(vm->spec.snapshot_schedule.keep) ?
						     (long long)vm->spec.snapshot_schedule.keep.v : (long long)NC_SNAPSHOT_KEEP_DEFAULT) :
					nc_xstrdup("taken on a snapshotSchedule the VM no longer has");
				nc_plan_add_change(a, false, "memory", old[k]->memory ? "yes" : "no", "-");
			}
			free(old);
		}
		for (j = 0; dom && j < dom->nsnaps; j++) {
			const struct nc_dom_snap *o = &dom->snaps[j];
			struct nc_action *a;

			if (nc_snapshot_is_scheduled(o))
				continue;
			if (!o->managed) {
				nc_buf_addf(&other, "%s%s", nother++ ? ", " : "", o->name);
				continue;
			}
			if (nc_snapshot_find(vm, o->name))
				continue;
			a = add(p, alloc_a, NC_ACT_DELETE, vm, o->name, host);
			a->reason = nc_xstrdup("taken by NovaCron, no longer declared in spec.snapshots");
			nc_plan_add_change(a, false, "memory", o->memory ? "yes" : "no", "-");
		}
		if (nother)
			nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, name,
					 "%zu snapshot%s on host %s not taken by NovaCron, left alone: %s", nother,
					 nother == 1 ? "" : "s", c->hosts[host].spec->obj.meta.name.v, other.buf);
		nc_buf_release(&other);
	}
}

void nc_plan_snapshot_deps(struct nc_plan *p)
{
	size_t i, j;

	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];
		size_t len;

		if (a->obj != NC_OBJ_SNAPSHOT || !a->vmref)
			continue;
		len = strlen(a->vmref->obj.meta.name.v);
		for (j = 0; j < p->nactions; j++) {
			const struct nc_action *b = &p->actions[j];

			if (j == i || b->id >= a->id ||
			    !((b->obj == NC_OBJ_VM && strcmp(b->vm, a->vmref->obj.meta.name.v) == 0) ||
			      (b->obj == NC_OBJ_SNAPSHOT && strncmp(b->vm, a->vm, len + 1) == 0)))
				continue;
			/* the VM's own actions, and the snapshot actions of the VM before it (one at a time) */
			a->after = nc_xreallocarray(a->after, a->nafter + 1, sizeof(*a->after));
			a->after[a->nafter++] = b->id;
		}
	}
}

int nc_snapshot_run(const struct nc_action *a, struct nc_host_conn *conn, struct nc_err *err)
{
	const struct nc_host_driver *drv = conn->drv;
	const char *vm = a->vmref->obj.meta.name.v;
	const struct nc_dom_snap *have = NULL;
	struct nc_domain d;
	size_t i;
	int found, ret = 0;

	if (!drv->snap_create || !drv->snap_delete || !drv->lookup) {
		nc_err_set(err, "host driver %s has no snapshots", drv->name);
		return -1;
	}
	memset(&d, 0, sizeof(d));
	found = drv->lookup(conn, vm, &d, err);
	if (found < 0)
		return -1;
	if (!found || !d.managed || !d.meta_vm || strcmp(d.meta_vm, vm) != 0) {
		if (found)
			nc_domain_release(&d);
		if (a->kind == NC_ACT_DELETE)
			return 0;   /* nothing left to delete */
		nc_err_set(err, "VM %s is not on this host as a managed domain", vm);
		return -1;
	}
	for (i = 0; i < d.nsnaps; i++)
		if (strcmp(d.snaps[i].name, a->snapshot) == 0)
			have = &d.snaps[i];
	if (a->kind == NC_ACT_CREATE) {
		const struct nc_snapshot_decl *s = nc_snapshot_find(a->vmref, a->snapshot);
		bool running = d.state == NC_DOM_RUNNING || d.state == NC_DOM_PAUSED, quiesced = false;

		if (have && !have->managed) {
			nc_err_set(err, "a snapshot %s that NovaCron did not take is already there: left alone", a->snapshot);
			ret = -1;
		} else if (!have && s) {
			char *desc = nc_snapshot_description(s, running);
			struct nc_snap_def def = {
				.name = a->snapshot, .description = desc, .memory = s->memory.v,
				.quiesce = !NC_IS_SET(s->quiesce) || s->quiesce.v,
			};

			ret = drv->snap_create(conn, vm, &def, &quiesced, err);
			free(desc);
		} else if (!s) {
			nc_err_set(err, "snapshot %s is no longer declared", a->snapshot);
			ret = -1;
		}
	} else if (have) {
		if (!have->managed) {
			nc_err_set(err, "snapshot %s was not taken by NovaCron: left alone", a->snapshot);
			ret = -1;
		} else {
			ret = drv->snap_delete(conn, vm, a->snapshot, err);
		}
	}
	nc_domain_release(&d);
	return ret;
}

int nc_snapshot_scheduled_run(struct nc_snapshot_run_result *out, struct nc_cluster *c, const struct nc_vm *vm,
			      time_t when, struct nc_err *err)
{
	const struct nc_snapshot_schedule *ss = &vm->spec.snapshot_schedule;
	const char *name = vm->obj.meta.name.v;
	struct nc_host_conn *conn = NULL;
	const struct nc_dom_snap **old = NULL;
	struct nc_domain d;
	struct tm tm;
	time_t t = when;
	size_t h, i, n;
	bool running, quiesced = false;
	int found = 0, ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	if (!NC_IS_SET(ss->schedule)) {
		nc_err_set(err, "VM %s has no snapshotSchedule", name);
		return -1;
	}
	for (h = 0; h < c->nhosts && !found; h++) {
		if (c->hosts[h].status != NC_HOST_OK || !c->hosts[h].conn)
			continue;
		for (i = 0; i < c->hosts[h].obs.ndoms; i++) {
			const struct nc_domain *o = &c->hosts[h].obs.doms[i];

			if (o->managed && o->meta_vm && strcmp(o->meta_vm, name) == 0) {
				conn = c->hosts[h].conn;
				snprintf(out->host, sizeof(out->host), "%s", c->hosts[h].spec->obj.meta.name.v);
				found = 1;
				break;
			}
		}
	}
	if (!conn) {
		nc_err_set(err, "VM %s is on no host that could be read", name);
		return -1;
	}
	if (!conn->drv->snap_create || !conn->drv->snap_delete) {
		nc_err_set(err, "host driver %s has no snapshots", conn->drv->name);
		return -1;
	}
	gmtime_r(&t, &tm);
	strftime(out->name, sizeof(out->name), "auto-%Y%m%d-%H%M", &tm);
	if ((found = conn->drv->lookup(conn, name, &d, err)) <= 0) {
		if (!found)
			nc_err_set(err, "VM %s disappeared", name);
		return -1;
	}
	for (i = 0; i < d.nsnaps; i++)
		if (strcmp(d.snaps[i].name, out->name) == 0) {
			/* taken already this minute (a pass cut short, another run) */
			out->existed = true;
			break;
		}
	running = d.state == NC_DOM_RUNNING || d.state == NC_DOM_PAUSED;
	if (!out->existed) {
		char *desc = nc_xasprintf(SCHEDULED "; memory=%s; quiesced=no (%s)", running ? "yes" : "no",
					  running ? "not needed: memory state" : "not running");
		struct nc_snap_def def = { .name = out->name, .description = desc, .memory = ss->memory.v };

		ret = conn->drv->snap_create(conn, name, &def, &quiesced, err);
		free(desc);
		if (ret < 0)
			goto out;
		nc_domain_release(&d);
		if ((found = conn->drv->lookup(conn, name, &d, err)) <= 0) {
			ret = -1;
			goto out;
		}
	}
	/* retention: the scheduled snapshots beyond keep, oldest first */
	n = beyond_keep(&d, vm, &old);
	for (i = 0; i < n; i++) {
		if (conn->drv->snap_delete(conn, name, old[i]->name, err) < 0) {
			ret = -1;
			goto out;
		}
		out->pruned++;
	}
	ret = 0;
out:
	free(old);
	nc_domain_release(&d);
	if (conn->drv->commit) {
		struct nc_err cerr = { "" };

		if (conn->drv->commit(conn, &cerr) < 0 && ret == 0) {
			*err = cerr;
			ret = -1;
		}
	}
	return ret;
}
