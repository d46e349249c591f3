/*
 * api.c - GET /api/v1/... from the snapshot of the last pass (api.h).
 */
#include "api.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../drivers/backup/backup.h"
#include "../spec/tenant.h"
#include "../telemetry/alerts.h"
#include "backups.h"
#include "health.h"
#include "monitor.h"
#include "serve.h"

/* ---- the snapshot: immutable once published, freed with its last reference ---- */
struct snap_vm {
	const char *name;                /* the spec's (the snapshot holds the spec) */
	const char *tenant;
	char *item;                      /* its /api/v1/vms entry */
	char *detail;                    /* /api/v1/vms/NAME without "backups" and the closing brace */
	const char *host;                /* where it runs (or is placed), NULL: nowhere */
	bool running, stopped, drift;
	size_t pending;
};
struct snap_host {
	const char *name;
	char *item;
	size_t vms_at, vms_end;          /* where in item the count of VMs is (the detail lists names) */
	size_t *vms;                     /* indexes into vms */
	size_t nvms;
	bool up;
};
struct snap_action {
	const char *tenant;
	bool global;                     /* a host-level object: every viewer sees it */
	char *json;
};
struct snap {
	int refs;
	struct nc_spec_ref *spec;
	char *revision;                  /* JSON: {id, summary} */
	char *last_pass;                 /* JSON */
	int mode;
	struct snap_vm *vms;             /* by name */
	size_t nvms;
	struct snap_host *hosts;         /* by name */
	size_t nhosts, hosts_up;
	struct snap_action *actions;
	size_t nactions;
	char digest[65];
	char *summary;                   /* JSON object of the plan's counts */
};

/* a backup in a repository, as the background reader last saw it */
struct backup_item {
	char *vm;
	char *tenant;
	char *json;
};

struct alert_item {
	char *key;                       /* rule + object, to find it again */
	char *tenant;
	char *json;
	time_t at;
};

struct nc_api {
	pthread_mutex_t mu;
	struct snap *cur;
	char approved[65];
	char held[65];                   /* the plan last said held ("plan" event) */
	/* passes, newest first */
	char *passes[NC_API_PASSES];
	size_t npasses;
	uint64_t pass_id;
	struct alert_item *alerts;
	size_t nalerts;
	/* backups: read by their own thread */
	struct backup_item *backups;
	size_t nbackups;
	char *backups_error;
	pthread_t bthread;
	bool bthread_on;
	pthread_cond_t bcond;
	bool bstop, bdirty;
	struct nc_events *events;
	struct nc_audit *audit;
};

static void snap_put(struct snap *s)
{
	size_t i;
	bool last;

	if (!s)
		return;
	last = __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0;
	if (!last)
		return;
	for (i = 0; i < s->nvms; i++) {
		free(s->vms[i].item);
		free(s->vms[i].detail);
	}
	for (i = 0; i < s->nhosts; i++) {
		free(s->hosts[i].item);
		free(s->hosts[i].vms);
	}
	for (i = 0; i < s->nactions; i++)
		free(s->actions[i].json);
	free(s->vms);
	free(s->hosts);
	free(s->actions);
	free(s->revision);
	free(s->last_pass);
	free(s->summary);
	nc_spec_ref_put(s->spec);
	free(s);
}

/* the current snapshot, referenced; NULL before the first pass */
static struct snap *snap_get(struct nc_api *a)
{
	struct snap *s;

	pthread_mutex_lock(&a->mu);
	s = a->cur;
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&a->mu);
	return s;
}

static void jstr(struct nc_buf *b, const char *s)
{
	if (s)
		nc_web_json_str(b, s);
	else
		nc_buf_adds(b, "null");
}

static const char *const vm_states[] = { "running", "stopped", "absent" };

static int vm_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct snap_vm *)e)->name);
}

static struct snap_vm *find_vm(const struct snap *s, const char *name)
{
	return s ? bsearch(name, s->vms, s->nvms, sizeof(*s->vms), vm_cmp) : NULL;
}

static int host_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct snap_host *)e)->name);
}

static struct snap_host *find_host(const struct snap *s, const char *name)
{
	return s ? bsearch(name, s->hosts, s->nhosts, sizeof(*s->hosts), host_cmp) : NULL;
}

static int host_sort(const void *x, const void *y)
{
	return strcmp(((const struct snap_host *)x)->name, ((const struct snap_host *)y)->name);
}

/* ---- building a snapshot ---- */
struct obs_ref {
	const struct nc_domain *dom;
	const char *host;
};

static int vmobj_cmp(const void *k, const void *e)
{
	return strcmp(k, (*(const struct nc_object *const *)e)->meta.name.v);
}

static const char *action_host(const struct nc_cluster *cl, size_t i)
{
	return i < cl->nhosts ? cl->hosts[i].spec->obj.meta.name.v : NULL;
}

static void action_json(struct nc_buf *b, const struct nc_action *ac, const struct nc_cluster *cl)
{
	const char *host = action_host(cl, ac->host);
	const char *target = ac->kind == NC_ACT_MIGRATE ? action_host(cl, ac->target) : NULL;
	size_t k;

	nc_buf_addf(b, "{\"id\": %d, \"kind\": \"%s\", \"object\": \"%s\", \"vm\": ", ac->id,
		    nc_action_name(ac->kind), nc_object_kind_name(ac->obj));
	jstr(b, ac->vm);
	nc_buf_adds(b, ", \"host\": ");
	jstr(b, host);
	nc_buf_adds(b, ", \"target\": ");
	jstr(b, target);
	nc_buf_adds(b, ", \"reason\": ");
	jstr(b, ac->reason ? ac->reason : "");
	nc_buf_addf(b, ", \"drift\": %s, \"changes\": [", ac->drift ? "true" : "false");
	for (k = 0; k < ac->nchanges; k++) {
		nc_buf_adds(b, k ? ", {\"field\": " : "{\"field\": ");
		jstr(b, ac->changes[k].field);
		nc_buf_adds(b, ", \"from\": ");
		jstr(b, ac->changes[k].from);
		nc_buf_adds(b, ", \"to\": ");
		jstr(b, ac->changes[k].to);
		nc_buf_addf(b, ", \"restart\": %s}", ac->changes[k].restart ? "true" : "false");
	}
	nc_buf_adds(b, "], \"text\": ");
	{
		struct nc_buf t = NC_BUF_INIT;

		nc_buf_addf(&t, "%s %s %s", nc_action_name(ac->kind), nc_object_kind_name(ac->obj), ac->vm);
		if (target)
			nc_buf_addf(&t, " from %s to %s", host ? host : "?", target);
		else if (host)
			nc_buf_addf(&t, " on %s", host);
		if (ac->reason && *ac->reason)
			nc_buf_addf(&t, ": %s", ac->reason);
		jstr(b, t.buf);
		nc_buf_release(&t);
	}
	nc_buf_adds(b, "}");
}

static void desired_json(struct nc_buf *b, const struct nc_vm *vm)
{
	const struct nc_machine *m = &vm->eff;
	size_t i;

	nc_buf_addf(b, "{\"state\": \"%s\", \"vcpus\": %lld, \"memory\": %llu, \"template\": ",
		    vm_states[(unsigned)vm->spec.state.v < 3 ? vm->spec.state.v : 0], (long long)m->vcpus.v,
		    (unsigned long long)m->memory.v);
	jstr(b, NC_IS_SET(vm->spec.template_name) ? vm->spec.template_name.v : NULL);
	nc_buf_adds(b, ", \"disks\": [");
	for (i = 0; i < m->disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)m->disks.v + i;

		nc_buf_adds(b, i ? ", {\"name\": " : "{\"name\": ");
		jstr(b, d->name.v);
		nc_buf_adds(b, ", \"pool\": ");
		jstr(b, NC_IS_SET(d->pool) ? d->pool.v : NULL);
		nc_buf_addf(b, ", \"size\": %llu, \"image\": ", (unsigned long long)d->size.v);
		jstr(b, NC_IS_SET(d->image) ? d->image.v : NULL);
		nc_buf_adds(b, "}");
	}
	nc_buf_adds(b, "], \"nics\": [");
	for (i = 0; i < m->nics.n; i++) {
		const struct nc_nic *n = (const struct nc_nic *)m->nics.v + i;

		nc_buf_adds(b, i ? ", {\"name\": " : "{\"name\": ");
		jstr(b, n->name.v);
		nc_buf_adds(b, ", \"network\": ");
		jstr(b, NC_IS_SET(n->network) ? n->network.v : NULL);
		nc_buf_adds(b, ", \"ip\": ");
		jstr(b, NC_IS_SET(n->ip) ? n->ip.v : NULL);
		nc_buf_adds(b, "}");
	}
	nc_buf_adds(b, "], \"labels\": {");
	for (i = 0; i < vm->labels.n; i++) {
		if (i)
			nc_buf_adds(b, ", ");
		jstr(b, vm->labels.v[i].key);
		nc_buf_adds(b, ": ");
		jstr(b, vm->labels.v[i].value);
	}
	nc_buf_adds(b, "}, \"pinnedHost\": ");
	jstr(b, NC_IS_SET(vm->spec.placement.host) ? vm->spec.placement.host.v : NULL);
	nc_buf_adds(b, ", \"policy\": ");
	jstr(b, NC_IS_SET(vm->spec.placement.policy) ? vm->spec.placement.policy.v : NULL);
	nc_buf_adds(b, "}");
}

static struct snap *snap_build(struct nc_spec_ref *ref, const struct nc_cluster *cl, const struct nc_plan *p,
			       struct nc_health *health, const struct nc_api_pass *pass)
{
	const struct nc_spec *spec = nc_spec_ref_spec(ref);
	struct snap *s = nc_xcalloc(1, sizeof(*s));
	struct obs_ref *obs;
	size_t **acts, *nacts;
	size_t i, j, nv = spec ? spec->nobjs[NC_KIND_VM] : 0;
	bool undone = !pass->applied || !pass->r || pass->r->failed || pass->r->skipped;
	struct nc_buf b = NC_BUF_INIT;
	char ts[40];

	s->refs = 1;
	s->spec = nc_spec_ref_get(ref);
	s->mode = pass->mode;
	nc_buf_adds(&b, "{\"id\": ");
	jstr(&b, pass->revision);
	nc_buf_adds(&b, ", \"summary\": ");
	jstr(&b, pass->summary ? pass->summary : "");
	nc_buf_adds(&b, "}");
	s->revision = nc_buf_detach(&b, NULL);
	nc_time_iso(ts, sizeof(ts), pass->time);
	nc_buf_addf(&b, "{\"time\": \"%s\", \"seconds\": %.3f, \"result\": ", ts, pass->seconds);
	jstr(&b, pass->result);
	nc_buf_adds(&b, ", \"error\": ");
	jstr(&b, pass->error);
	nc_buf_adds(&b, "}");
	s->last_pass = nc_buf_detach(&b, NULL);

	/* where each spec VM is observed */
	obs = nc_xcalloc(nv + 1, sizeof(*obs));
	acts = nc_xcalloc(nv + 1, sizeof(*acts));
	nacts = nc_xcalloc(nv + 1, sizeof(*nacts));
	for (i = 0; i < cl->nhosts; i++) {
		const struct nc_host_view *hv = &cl->hosts[i];

		for (j = 0; j < hv->obs.ndoms; j++) {
			const struct nc_domain *d = &hv->obs.doms[j];
			const char *name = d->meta_vm ? d->meta_vm : d->name;
			struct nc_object **o;

			if (!d->managed || !nv)
				continue;
			o = bsearch(name, spec->objs[NC_KIND_VM], nv, sizeof(*o), vmobj_cmp);
			if (o && !obs[o - spec->objs[NC_KIND_VM]].dom) {
				obs[o - spec->objs[NC_KIND_VM]].dom = d;
				obs[o - spec->objs[NC_KIND_VM]].host = hv->spec->obj.meta.name.v;
			}
		}
	}
	/* the plan's actions, rendered once; each VM's own */
	s->actions = nc_xcalloc(p->nactions + 1, sizeof(*s->actions));
	s->nactions = p->nactions;
	for (i = 0; i < p->nactions; i++) {
		const struct nc_action *ac = &p->actions[i];
		struct nc_object **o = NULL;

		action_json(&b, ac, cl);
		s->actions[i].json = nc_buf_detach(&b, NULL);
		if (ac->obj == NC_OBJ_VM && nv)
			o = bsearch(ac->vm, spec->objs[NC_KIND_VM], nv, sizeof(*o), vmobj_cmp);
		if (o) {
			size_t k = (size_t)(o - spec->objs[NC_KIND_VM]);

			s->actions[i].tenant = nc_tenant_of(spec, *o);
			acts[k] = nc_xreallocarray(acts[k], nacts[k] + 1, sizeof(**acts));
			acts[k][nacts[k]++] = i;
		} else {
			s->actions[i].global = ac->obj != NC_OBJ_VM;
		}
	}
	memcpy(s->digest, p->plan_digest, sizeof(s->digest));
	/* the counts of `plan -o json`'s summary (render.c) */
	nc_buf_addf(&b, "{\"create\": %zu, \"update\": %zu, \"delete\": %zu, \"start\": %zu, \"stop\": %zu, "
		       "\"migrate\": %zu, \"upload\": %zu, \"recover\": %zu, \"adopt\": %zu, \"errors\": %zu, "
		       "\"refused\": %s, \"managed\": %zu, \"unmanaged\": %zu, \"unreachable\": %zu, \"blocked\": %zu, "
		       "\"suspended\": %zu, \"ignored\": %zu, \"notes\": [", p->ncreate, p->nupdate, p->ndelete, p->nstart,
		    p->nstop, p->nmigrate, p->nupload, p->nrecover, p->nadopt, p->errors, p->refused ? "true" : "false",
		    p->managed, p->unmanaged, p->unreachable, p->blocked, p->suspended, p->ignored);
	for (i = 0; i < p->nnotes; i++) {
		nc_buf_addf(&b, "%s{\"kind\": \"%s\", \"text\": ", i ? ", " : "",
			    p->notes[i].kind == NC_NOTE_ERROR ? "error" : p->notes[i].kind == NC_NOTE_WARNING ?
			    "warning" : "info");
		jstr(&b, p->notes[i].text);
		nc_buf_adds(&b, "}");
	}
	nc_buf_adds(&b, "]}");
	s->summary = nc_buf_detach(&b, NULL);

	/* the VMs */
	s->vms = nc_xcalloc(nv + 1, sizeof(*s->vms));
	s->nvms = nv;
	for (i = 0; i < nv; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][i];
		struct snap_vm *sv = &s->vms[i];
		const char *where = obs[i].host, *why = NULL;
		char whybuf[256];
		bool drift = false;
		size_t k, c, nd = 0;

		sv->name = vm->obj.meta.name.v;
		sv->tenant = nc_tenant_of(spec, &vm->obj);
		for (k = 0; k < nacts[i]; k++) {
			const struct nc_action *ac = &p->actions[acts[i][k]];

			drift = drift || ac->drift;
			if (ac->kind == NC_ACT_CREATE || ac->kind == NC_ACT_RECOVER) {
				where = action_host(cl, ac->host);
				why = ac->placement ? ac->placement : ac->reason;
			} else if (ac->kind == NC_ACT_MIGRATE) {
				where = action_host(cl, ac->target);
				why = ac->reason;
			}
		}
		if (!why && obs[i].host) {
			snprintf(whybuf, sizeof(whybuf), "observed on %s", obs[i].host);
			why = whybuf;
		}
		sv->host = obs[i].host ? obs[i].host : where;
		sv->drift = drift;
		sv->pending = undone ? nacts[i] : 0;
		sv->running = obs[i].dom && obs[i].dom->state == NC_DOM_RUNNING;
		sv->stopped = obs[i].dom && obs[i].dom->state == NC_DOM_SHUTOFF;
		/* the list entry */
		nc_buf_adds(&b, "{\"name\": ");
		jstr(&b, sv->name);
		nc_buf_adds(&b, ", \"tenant\": ");
		jstr(&b, sv->tenant);
		nc_buf_adds(&b, ", \"host\": ");
		jstr(&b, obs[i].host ? obs[i].host : where);
		nc_buf_addf(&b, ", \"state\": {\"desired\": \"%s\", \"observed\": ",
			    vm_states[(unsigned)vm->spec.state.v < 3 ? vm->spec.state.v : 0]);
		jstr(&b, obs[i].dom ? nc_dom_state_name(obs[i].dom->state) : NULL);
		nc_buf_addf(&b, "}, \"drift\": %s, \"vcpus\": %lld, \"memory\": %llu, \"pending\": %zu}",
			    drift ? "true" : "false", (long long)vm->eff.vcpus.v, (unsigned long long)vm->eff.memory.v,
			    sv->pending);
		sv->item = nc_buf_detach(&b, NULL);
		/* the detail, without backups */
		nc_buf_adds(&b, "{\"name\": ");
		jstr(&b, sv->name);
		nc_buf_adds(&b, ", \"tenant\": ");
		jstr(&b, sv->tenant);
		nc_buf_adds(&b, ", \"host\": ");
		jstr(&b, obs[i].host ? obs[i].host : where);
		nc_buf_adds(&b, ", \"desired\": ");
		desired_json(&b, vm);
		nc_buf_adds(&b, ", \"observed\": ");
		if (obs[i].dom) {
			const struct nc_domain *d = obs[i].dom;

			nc_buf_adds(&b, "{\"host\": ");
			jstr(&b, obs[i].host);
			nc_buf_addf(&b, ", \"state\": \"%s\", \"vcpus\": %u, \"memory\": %llu, \"currentMemory\": %llu, "
				       "\"persistent\": %s, \"commit\": ", nc_dom_state_name(d->state), d->vcpus,
				    (unsigned long long)d->memory, (unsigned long long)d->cur_memory,
				    d->persistent ? "true" : "false");
			jstr(&b, d->meta_commit);
			nc_buf_adds(&b, "}");
		} else {
			nc_buf_adds(&b, "null");
		}
		nc_buf_adds(&b, ", \"drift\": [");
		for (k = 0; k < nacts[i]; k++) {
			const struct nc_action *ac = &p->actions[acts[i][k]];

			if (!ac->drift)
				continue;
			for (c = 0; c < ac->nchanges; c++) {
				nc_buf_adds(&b, nd++ ? ", " : "");
				jstr(&b, ac->changes[c].field);
			}
			if (!ac->nchanges) {
				nc_buf_adds(&b, nd++ ? ", " : "");
				jstr(&b, nc_action_name(ac->kind));
			}
		}
		nc_buf_adds(&b, "], \"placement\": {\"host\": ");
		jstr(&b, where);
		nc_buf_adds(&b, ", \"why\": ");
		jstr(&b, why);
		nc_buf_adds(&b, "}, \"actions\": [");
		for (k = 0; k < nacts[i]; k++) {
			nc_buf_adds(&b, k ? ", " : "");
			nc_buf_adds(&b, s->actions[acts[i][k]].json);
		}
		nc_buf_addf(&b, "], \"pending\": %zu", sv->pending);
		sv->detail = nc_buf_detach(&b, NULL);
		free(acts[i]);
	}
	free(acts);
	free(nacts);

	/* the hosts: declared, then recorded ones that left the spec */
	s->hosts = nc_xcalloc(cl->nhosts + cl->ngone + 1, sizeof(*s->hosts));
	for (i = 0; i < cl->nhosts + cl->ngone; i++) {
		const struct nc_host_view *hv = i < cl->nhosts ? &cl->hosts[i] : NULL;
		const struct nc_gone_host *g = hv ? NULL : &cl->gone[i - cl->nhosts];
		const struct nc_observed_host *o = hv ? &hv->obs : &g->obs;
		struct snap_host *sh = &s->hosts[s->nhosts++];
		const char *uri = hv ? hv->spec->spec.uri.v : g->uri, *err = hv ? hv->error : g->error;
		uint64_t cap_mem = o->node.memory, used_mem = 0;
		long long cap_cpu = o->node.cpus, used_cpu = 0;
		size_t ndoms = 0;
		char *ruri = nc_url_redact(uri ? uri : "");

		sh->name = hv ? hv->spec->obj.meta.name.v : g->name;
		sh->up = hv ? hv->status == NC_HOST_OK : g->status == NC_HOST_OK;
		s->hosts_up += sh->up;
		if (hv && NC_IS_SET(hv->spec->spec.capacity.vcpus))
			cap_cpu = hv->spec->spec.capacity.vcpus.v;
		if (hv && NC_IS_SET(hv->spec->spec.capacity.memory))
			cap_mem = hv->spec->spec.capacity.memory.v;
		for (j = 0; j < o->ndoms; j++) {
			if (!o->doms[j].managed)
				continue;
			ndoms++;
			if (o->doms[j].state == NC_DOM_RUNNING || o->doms[j].state == NC_DOM_PAUSED) {
				used_cpu += o->doms[j].vcpus;
				used_mem += o->doms[j].memory;
			}
		}
		nc_buf_adds(&b, "{\"name\": ");
		jstr(&b, sh->name);
		nc_buf_adds(&b, ", \"uri\": ");
		jstr(&b, ruri);
		nc_buf_addf(&b, ", \"declared\": %s, \"up\": %s, \"health\": ", hv ? "true" : "false",
			    sh->up ? "true" : "false");
		if (health)
			nc_buf_addf(&b, "\"%s\"", nc_health_state_name(nc_health_state_of(health, sh->name)));
		else
			nc_buf_adds(&b, "null");
		nc_buf_addf(&b, ", \"maintenance\": %s, \"capacity\": {\"vcpus\": %lld, \"memory\": %llu}, "
			       "\"used\": {\"vcpus\": %lld, \"memory\": %llu}, \"vms\": %zu, \"error\": ",
			    hv && hv->spec->spec.maintenance.v ? "true" : "false", cap_cpu,
			    (unsigned long long)cap_mem, used_cpu, (unsigned long long)used_mem, ndoms);
		sh->vms_end = b.len - strlen(", \"error\": ");
		{
			char nb[24];

			sh->vms_at = sh->vms_end - (size_t)snprintf(nb, sizeof(nb), "%zu", ndoms);
		}
		jstr(&b, err);
		nc_buf_adds(&b, "}");
		sh->item = nc_buf_detach(&b, NULL);
		free(ruri);
	}
	qsort(s->hosts, s->nhosts, sizeof(*s->hosts), host_sort);
	for (i = 0; i < s->nvms; i++) {
		struct snap_host *sh = s->vms[i].host ? find_host(s, s->vms[i].host) : NULL;

		if (!sh)
			continue;
		sh->vms = nc_xreallocarray(sh->vms, sh->nvms + 1, sizeof(*sh->vms));
		sh->vms[sh->nvms++] = i;
	}
	free(obs);
	return s;
}

/* ---- the backups, read in the background ---- */
static int backup_sort(const void *x, const void *y)
{
	const struct backup_item *a = x, *b = y;
	int c = strcmp(a->vm, b->vm);

	return c ? c : strcmp(a->json, b->json);
}

/* every schedule's repository listed once; never while a request waits */
static void backups_read(struct nc_api *a, struct nc_spec_ref *ref)
{
	const struct nc_spec *spec = nc_spec_ref_spec(ref);
	struct backup_item *items = NULL;
	struct nc_buf errs = NC_BUF_INIT, b = NC_BUF_INIT;
	size_t n = 0, i, k;

	for (i = 0; spec && i < spec->nobjs[NC_KIND_BACKUP_SCHEDULE]; i++) {
		const struct nc_backup *sched = (const struct nc_backup *)spec->objs[NC_KIND_BACKUP_SCHEDULE][i];
		struct nc_backup_repo *r = NULL;
		struct nc_backup_snapshot *v = NULL;
		size_t nv = 0;
		struct nc_err err = { "" };

		if (nc_schedule_repo_open(&r, sched, false, &err) < 0 || nc_backup_list(&v, &nv, r, &err) < 0) {
			nc_buf_addf(&errs, "%s%s: %s", errs.len ? "; " : "", sched->obj.meta.name.v, err.msg);
			if (r)
				nc_backup_close(r);
			continue;
		}
		for (k = 0; k < nv; k++) {
			struct nc_object **o = bsearch(v[k].vm, spec->objs[NC_KIND_VM], spec->nobjs[NC_KIND_VM],
						       sizeof(*o), vmobj_cmp);
			const char *tenant = o ? nc_tenant_of(spec, *o) : NULL;
			char ts[40];

			nc_time_iso(ts, sizeof(ts), (time_t)v[k].time);
			nc_buf_adds(&b, "{\"vm\": ");
			jstr(&b, v[k].vm);
			nc_buf_addf(&b, ", \"id\": \"%s\", \"time\": \"%s\", \"schedule\": ", v[k].id, ts);
			jstr(&b, sched->obj.meta.name.v);
			nc_buf_adds(&b, ", \"disk\": ");
			jstr(&b, v[k].disk);
			nc_buf_addf(&b, ", \"bytes\": %llu, \"quiesced\": %s}", (unsigned long long)v[k].disk_size,
				    v[k].quiesced ? "true" : "false");
			items = nc_xreallocarray(items, n + 1, sizeof(*items));
			items[n].vm = nc_xstrdup(v[k].vm);
			items[n].tenant = tenant ? nc_xstrdup(tenant) : NULL;
			items[n].json = nc_buf_detach(&b, NULL);
			n++;
		}
		nc_backup_snapshots_free(v, nv);
		nc_backup_close(r);
	}
	if (n)
		qsort(items, n, sizeof(*items), backup_sort);
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nbackups; i++) {
		free(a->backups[i].vm);
		free(a->backups[i].tenant);
		free(a->backups[i].json);
	}
	free(a->backups);
	a->backups = items;
	a->nbackups = n;
	free(a->backups_error);
	a->backups_error = errs.len ? nc_buf_detach(&errs, NULL) : NULL;
	pthread_mutex_unlock(&a->mu);
	nc_buf_release(&errs);
}

#define NC_API_BACKUPS_EVERY 60     /* seconds between two reads of the repositories */

static void *backups_loop(void *arg)
{
	struct nc_api *a = arg;

	pthread_mutex_lock(&a->mu);
	while (!a->bstop) {
		struct timespec until;
		struct nc_spec_ref *ref;

		if (a->bdirty && a->cur) {
			a->bdirty = false;
			ref = nc_spec_ref_get(a->cur->spec);
			pthread_mutex_unlock(&a->mu);
			backups_read(a, ref);
			nc_spec_ref_put(ref);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += NC_API_BACKUPS_EVERY;
		if (pthread_cond_timedwait(&a->bcond, &a->mu, &until) != 0)
			a->bdirty = true;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- the whole ---- */
int nc_api_create(struct nc_api **out, const char *state_dir, struct nc_err *err)
{
	struct nc_api *a = nc_xcalloc(1, sizeof(*a));

	if (nc_audit_open(&a->audit, state_dir, err) < 0) {
		free(a);
		return -1;
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->bcond, NULL);
	a->events = nc_events_new(NC_EVENTS_KEEP);
	if (pthread_create(&a->bthread, NULL, backups_loop, a) == 0)
		a->bthread_on = true;
	*out = a;
	return 0;
}

void nc_api_destroy(struct nc_api *a)
{
	size_t i;

	if (!a)
		return;
	if (a->bthread_on) {
		pthread_mutex_lock(&a->mu);
		a->bstop = true;
		pthread_cond_signal(&a->bcond);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->bthread, NULL);
	}
	snap_put(a->cur);
	for (i = 0; i < a->npasses; i++)
		free(a->passes[i]);
	for (i = 0; i < a->nalerts; i++) {
		free(a->alerts[i].key);
		free(a->alerts[i].tenant);
		free(a->alerts[i].json);
	}
	free(a->alerts);
	for (i = 0; i < a->nbackups; i++) {
		free(a->backups[i].vm);
		free(a->backups[i].tenant);
		free(a->backups[i].json);
	}
	free(a->backups);
	free(a->backups_error);
	nc_events_free(a->events);
	nc_audit_close(a->audit);
	pthread_cond_destroy(&a->bcond);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

struct nc_events *nc_api_events(struct nc_api *a)
{
	return a ? a->events : NULL;
}

struct nc_audit *nc_api_audit(struct nc_api *a)
{
	return a ? a->audit : NULL;
}

void nc_api_pass_started(struct nc_api *a, const char *revision)
{
	if (a)
		nc_events_publish(a->events, "pass_started", revision, NULL, NC_EV_ALL, "pass started on %s",
				  revision ? revision : "?");
}

void nc_api_publish(struct nc_api *a, struct nc_spec_ref *spec, const struct nc_cluster *cl,
		    const struct nc_plan *p, struct nc_health *health, const struct nc_api_pass *pass)
{
	struct snap *s, *old;
	struct nc_buf b = NC_BUF_INIT;
	const struct nc_apply_result *r = pass->r;
	char ts[40];
	uint64_t id;
	bool held_again;

	if (!a)
		return;
	s = snap_build(spec, cl, p, health, pass);
	nc_time_iso(ts, sizeof(ts), pass->time);
	pthread_mutex_lock(&a->mu);
	old = a->cur;
	a->cur = s;
	a->bdirty = a->bdirty || !old || old->spec != s->spec;
	if (a->bdirty)
		pthread_cond_signal(&a->bcond);
	if (strcmp(a->approved, s->digest) != 0 && !pass->approved)
		a->approved[0] = '\0';
	else if (pass->approved)
		snprintf(a->approved, sizeof(a->approved), "%s", s->digest);
	id = ++a->pass_id;
	held_again = strcmp(a->held, s->digest) == 0;
	snprintf(a->held, sizeof(a->held), "%s",
		 pass->mode == NC_APPLY_APPROVE && p->nactions && !pass->applied && !pass->r ? s->digest : "");
	nc_buf_addf(&b, "{\"id\": %llu, \"time\": \"%s\", \"seconds\": %.3f, \"result\": ", (unsigned long long)id, ts,
		    pass->seconds);
	jstr(&b, pass->result);
	nc_buf_adds(&b, ", \"revision\": ");
	jstr(&b, pass->revision);
	nc_buf_addf(&b, ", \"actions\": %zu, \"done\": %zu, \"failed\": %zu, \"skipped\": %zu, \"drift\": %zu, "
		       "\"error\": ", pass->actions, r ? r->done : 0, r ? r->failed : 0, r ? r->skipped : 0,
		    pass->drift);
	jstr(&b, pass->error);
	nc_buf_adds(&b, "}");
	if (a->npasses == NC_API_PASSES)
		free(a->passes[--a->npasses]);
	memmove(a->passes + 1, a->passes, a->npasses * sizeof(*a->passes));
	a->passes[0] = nc_buf_detach(&b, NULL);
	a->npasses++;
	pthread_mutex_unlock(&a->mu);
	snap_put(old);
	/* a plan held for approval, once per digest */
	if (pass->mode == NC_APPLY_APPROVE && p->nactions && !pass->applied && !pass->r && !held_again)
		nc_events_publish(a->events, "plan", s->digest, NULL, NC_EV_ALL,
				  "a plan of %zu actions waits for approval (digest %s)", p->nactions, s->digest);
	/* the error may name any tenant's VMs: it is in /api/v1/passes for unscoped principals */
	nc_events_publish(a->events, "pass_finished", pass->revision, NULL, NC_EV_ALL,
			  "pass %llu %s: %zu actions, %zu done, %zu failed, %zu skipped", (unsigned long long)id,
			  pass->result ? pass->result : "?", pass->actions, r ? r->done : 0, r ? r->failed : 0,
			  r ? r->skipped : 0);
}

void nc_api_drift(struct nc_api *a, const struct nc_plan *p)
{
	const char *last = NULL;
	size_t i;

	for (i = 0; a && i < p->nactions; i++) {
		const struct nc_action *ac = &p->actions[i];

		if (!ac->drift || ac->obj != NC_OBJ_VM || (last && strcmp(last, ac->vm) == 0))
			continue;
		last = ac->vm;
		nc_events_publish(a->events, "drift", ac->vm, ac->vmref && p->spec ? nc_tenant_of(p->spec, &ac->vmref->obj) :
				  NULL, NC_EV_TENANT, "VM %s drifted from the spec: %s", ac->vm, ac->reason ? ac->reason : "");
	}
}

void nc_api_progress(struct nc_api *a, const struct nc_plan *p, const char *line)
{
	const char *vm = NULL, *tenant = NULL;
	size_t i;

	if (!a)
		return;
	for (i = 0; p && i < p->nactions && !vm; i++) {
		const struct nc_action *ac = &p->actions[i];
		const char *at = ac->vm ? strstr(line, ac->vm) : NULL;
		size_t n = ac->vm ? strlen(ac->vm) : 0;

		/* the VM's name as a word of the line */
		while (at && !((at == line || at[-1] == ' ') && (at[n] == '\0' || at[n] == ' ' || at[n] == ':')))
			at = strstr(at + 1, ac->vm);
		if (at) {
			vm = ac->vm;
			tenant = ac->vmref && p->spec ? nc_tenant_of(p->spec, &ac->vmref->obj) : NULL;
			if (ac->obj != NC_OBJ_VM)
				tenant = NULL;
		}
	}
	/* a line of no known VM goes to unscoped principals only, as one of no tenant */
	nc_events_publish(a->events, "action", vm, tenant, NC_EV_TENANT, "%s", line);
}

void nc_api_alert(struct nc_api *a, const struct nc_alert_event *ev)
{
	struct nc_buf b = NC_BUF_INIT, key = NC_BUF_INIT;
	struct nc_spec_ref *ref;
	const struct nc_spec *spec;
	const char *tenant = NULL;
	char since[40], val[64];
	size_t i;

	if (!a)
		return;
	ref = nc_api_spec(a);
	spec = nc_spec_ref_spec(ref);
	if (spec && ev->target == NC_MT_VM) {
		struct nc_object **o = bsearch(ev->object, spec->objs[NC_KIND_VM], spec->nobjs[NC_KIND_VM],
					       sizeof(*o), vmobj_cmp);

		tenant = o ? nc_tenant_of(spec, *o) : NULL;
	}
	nc_time_iso(since, sizeof(since), ev->since ? ev->since : ev->at);
	snprintf(val, sizeof(val), "%g", ev->value);
	nc_buf_adds(&key, ev->rule);
	nc_buf_addc(&key, '\n');
	nc_buf_adds(&key, ev->object);
	nc_buf_adds(&b, "{\"rule\": ");
	jstr(&b, ev->rule);
	nc_buf_adds(&b, ", \"target\": ");
	jstr(&b, nc_metric_target_name(ev->target));
	nc_buf_adds(&b, ", \"object\": ");
	jstr(&b, ev->object);
	nc_buf_adds(&b, ", \"host\": ");
	jstr(&b, ev->host);
	nc_buf_adds(&b, ", \"tenant\": ");
	jstr(&b, tenant);
	nc_buf_adds(&b, ", \"severity\": ");
	jstr(&b, ev->severity);
	nc_buf_addf(&b, ", \"state\": \"%s\", \"since\": \"%s\", \"value\": ", nc_alert_state_name(ev->state), since);
	if (ev->value != ev->value || ev->value > 1e300 || ev->value < -1e300)
		nc_buf_adds(&b, "null");
	else
		nc_buf_adds(&b, val);
	nc_buf_adds(&b, ", \"summary\": ");
	jstr(&b, ev->summary ? ev->summary : "");
	nc_buf_adds(&b, "}");
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nalerts; i++)
		if (strcmp(a->alerts[i].key, key.buf) == 0)
			break;
	if (i == a->nalerts) {
		a->alerts = nc_xreallocarray(a->alerts, a->nalerts + 1, sizeof(*a->alerts));
		a->alerts[a->nalerts].key = nc_buf_detach(&key, NULL);
		a->alerts[a->nalerts].tenant = tenant ? nc_xstrdup(tenant) : NULL;
		a->alerts[a->nalerts].json = NULL;
		a->nalerts++;
	}
	free(a->alerts[i].json);
	a->alerts[i].json = nc_buf_detach(&b, NULL);
	a->alerts[i].at = ev->at;
	/* resolved ones go after a while: the list holds what fires and what just stopped */
	{
		size_t k, m = 0;
		time_t now = time(NULL);

		for (k = 0; k < a->nalerts; k++) {
			if (strstr(a->alerts[k].json, "\"state\": \"resolved\"") && now - a->alerts[k].at > 900) {
				free(a->alerts[k].key);
				free(a->alerts[k].tenant);
				free(a->alerts[k].json);
				continue;
			}
			a->alerts[m++] = a->alerts[k];
		}
		a->nalerts = m;
	}
	pthread_mutex_unlock(&a->mu);
	nc_events_publish(a->events, "alert", ev->object, tenant, tenant ? NC_EV_TENANT : NC_EV_ALL,
			  "alert %s %s on %s: %s", ev->rule, ev->state == NC_ALERT_FIRING ? "firing" : "resolved",
			  ev->object, ev->summary ? ev->summary : "");
	nc_buf_release(&key);
	nc_spec_ref_put(ref);
}

void nc_api_set_paused(struct nc_api *a, bool paused, const char *who)
{
	if (!a)
		return;
	nc_events_publish(a->events, "paused", NULL, NULL, NC_EV_ALL, "reconciliation %s%s%s",
			  paused ? "paused" : "resumed", who ? " by " : "", who ? who : "");
}

void nc_api_set_approved(struct nc_api *a, const char *digest)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	snprintf(a->approved, sizeof(a->approved), "%s", digest ? digest : "");
	pthread_mutex_unlock(&a->mu);
}

struct nc_spec_ref *nc_api_spec(struct nc_api *a)
{
	struct nc_spec_ref *r = NULL;

	if (!a)
		return NULL;
	pthread_mutex_lock(&a->mu);
	if (a->cur)
		r = nc_spec_ref_get(a->cur->spec);
	pthread_mutex_unlock(&a->mu);
	return r;
}

bool nc_api_vm_visible(struct nc_api *a, const struct nc_principal *p, const char *vm)
{
	struct snap *s = snap_get(a);
	const struct snap_vm *v = find_vm(s, vm);
	bool ok = v && nc_principal_sees(p, v->tenant);

	snap_put(s);
	return ok;
}

bool nc_api_host_exists(struct nc_api *a, const char *host)
{
	struct snap *s = snap_get(a);
	bool ok = find_host(s, host) != NULL;

	snap_put(s);
	return ok;
}

/* ---- GET /api/v1/... ---- */
static bool qparam(const struct nc_web_req *req, const char *name, size_t dflt, size_t max, size_t *out,
		   struct nc_web_resp *resp)
{
	const char *v = req->query ? req->query(req, name) : NULL;
	char *end;
	unsigned long long n;

	*out = dflt;
	if (!v || !*v)
		return true;
	n = strtoull(v, &end, 10);
	if (*end || v[0] == '-' || n > max) {
		nc_web_error(resp, 400, "%s must be a whole number from 0 to %zu", name, max);
		return false;
	}
	*out = (size_t)n;
	return true;
}

static void ok_json(struct nc_web_resp *resp)
{
	resp->code = 200;
	resp->type = "application/json";
}

/* a pass's JSON; for a principal scoped to tenants without its error (it may name any tenant's VMs) */
static void add_pass(struct nc_buf *b, const char *json, const struct nc_principal *p)
{
	const char *e = strstr(json, ", \"error\": ");

	if (p->all_tenants || !e || strcmp(e, ", \"error\": null}") == 0) {
		nc_buf_adds(b, json);
		return;
	}
	nc_buf_add(b, json, (size_t)(e - json));
	nc_buf_adds(b, ", \"error\": \"failed (the reason is shown to unscoped principals only)\"}");
}

static void get_cluster(const struct snap *s, const struct nc_principal *p, const struct nc_api_facts *f,
			struct nc_web_resp *resp)
{
	struct nc_buf *b = &resp->body;
	size_t vms = 0, running = 0, stopped = 0, drift = 0, pending = 0, i;

	for (i = 0; s && i < s->nvms; i++) {
		const struct snap_vm *v = &s->vms[i];

		if (!nc_principal_sees(p, v->tenant))
			continue;
		vms++;
		running += v->running;
		stopped += v->stopped;
		drift += v->drift;
		pending += v->pending;
	}
	nc_buf_adds(b, "{\"revision\": ");
	nc_buf_adds(b, s ? s->revision : "null");
	/* the newest revision refused: its errors may name any tenant's files, so only unscoped
	 * principals read them */
	nc_buf_adds(b, ", \"invalid\": ");
	if (f->invalid_id) {
		nc_buf_adds(b, "{\"id\": ");
		nc_web_json_str(b, f->invalid_id);
		nc_buf_adds(b, ", \"error\": ");
		nc_web_json_str(b, !f->invalid_error ? "invalid" : p->all_tenants ? f->invalid_error :
				   "invalid (the reason is shown to unscoped principals only)");
		nc_buf_adds(b, "}");
	} else {
		nc_buf_adds(b, "null");
	}
	nc_buf_addf(b, ", \"paused\": %s, \"mode\": \"%s\", \"leader\": %s, \"lastPass\": ",
		    f->paused ? "true" : "false",
		    (s ? s->mode == NC_APPLY_APPROVE : f->approve_mode) ? "approve" : "auto", f->leader ? "true" : "false");
	if (s)
		add_pass(b, s->last_pass, p);
	else
		nc_buf_adds(b, "null");
	nc_buf_adds(b, ", ");
	nc_buf_addf(b, "\"counts\": {\"hosts\": %zu, \"hostsUp\": %zu, \"vms\": %zu, \"running\": %zu, "
		       "\"stopped\": %zu, \"drift\": %zu, \"pending\": %zu}}\n", s ? s->nhosts : 0, s ? s->hosts_up : 0,
		    vms, running, stopped, drift, pending);
	ok_json(resp);
}

static void get_hosts(const struct snap *s, const struct nc_principal *p, struct nc_web_resp *resp)
{
	size_t i, k, n;

	nc_buf_adds(&resp->body, "{\"items\": [");
	for (i = 0; s && i < s->nhosts; i++) {
		const struct snap_host *h = &s->hosts[i];

		nc_buf_adds(&resp->body, i ? ",\n  " : "\n  ");
		if (p->all_tenants) {
			nc_buf_adds(&resp->body, h->item);
			continue;
		}
		/* scoped: its own VMs there are counted, not other tenants' (their existence is not told) */
		for (k = 0, n = 0; k < h->nvms; k++)
			n += nc_principal_sees(p, s->vms[h->vms[k]].tenant);
		nc_buf_add(&resp->body, h->item, h->vms_at);
		nc_buf_addf(&resp->body, "%zu", n);
		nc_buf_adds(&resp->body, h->item + h->vms_end);
	}
	nc_buf_adds(&resp->body, s && s->nhosts ? "\n]}\n" : "]}\n");
	ok_json(resp);
}

static void get_host(const struct snap *s, const char *name, const struct nc_principal *p,
		     struct nc_web_resp *resp)
{
	const struct snap_host *h = find_host(s, name);
	struct nc_buf *b = &resp->body;
	size_t i, n = 0;

	if (!h) {
		nc_web_error(resp, 404, "no host %s", name);
		return;
	}
	nc_buf_add(b, h->item, h->vms_at);
	nc_buf_adds(b, "[");
	for (i = 0; i < h->nvms; i++) {
		const struct snap_vm *v = &s->vms[h->vms[i]];

		if (!nc_principal_sees(p, v->tenant))
			continue;
		nc_buf_adds(b, n++ ? ", " : "");
		jstr(b, v->name);
	}
	nc_buf_adds(b, "]");
	nc_buf_adds(b, h->item + h->vms_end);
	nc_buf_adds(b, "\n");
	ok_json(resp);
}

static void get_vms(const struct snap *s, const struct nc_web_req *req, const struct nc_principal *p,
		    struct nc_web_resp *resp)
{
	const char *host = req->query(req, "host"), *tenant = req->query(req, "tenant"), *q = req->query(req, "q");
	struct nc_buf *b = &resp->body;
	size_t offset, limit, total = 0, shown = 0, i;
	int pass;

	if (!qparam(req, "offset", 0, (size_t)1 << 40, &offset, resp) ||
	    !qparam(req, "limit", 100, 10000, &limit, resp))
		return;
	if (host && !*host)
		host = NULL;
	if (q && !*q)
		q = NULL;
	/* the total first (a walk over the names: cheap), then the page */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			nc_buf_addf(b, "{\"total\": %zu, \"offset\": %zu, \"limit\": %zu, \"items\": [", total,
				    offset, limit);
		total = 0;
		for (i = 0; s && i < s->nvms; i++) {
			const struct snap_vm *v = &s->vms[i];

			if (!nc_principal_sees(p, v->tenant))
				continue;
			if (host && (!v->host || strcmp(v->host, host) != 0))
				continue;
			if (tenant && (*tenant ? !v->tenant || strcmp(v->tenant, tenant) != 0 : v->tenant != NULL))
				continue;
			if (q && !strcasestr(v->name, q))
				continue;
			if (total++ < offset || shown >= limit || pass == 0)
				continue;
			nc_buf_adds(b, shown++ ? ",\n  " : "\n  ");
			nc_buf_adds(b, v->item);
		}
	}
	nc_buf_adds(b, shown ? "\n]}\n" : "]}\n");
	ok_json(resp);
}

static void backups_of(struct nc_api *a, const char *vm, const struct nc_principal *p, struct nc_buf *b)
{
	size_t i, n = 0;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nbackups; i++) {
		if ((vm && strcmp(a->backups[i].vm, vm) != 0) || !nc_principal_sees(p, a->backups[i].tenant))
			continue;
		nc_buf_adds(b, n++ ? ",\n  " : "\n  ");
		nc_buf_adds(b, a->backups[i].json);
	}
	pthread_mutex_unlock(&a->mu);
	if (n)
		nc_buf_adds(b, "\n");
}

static void get_vm(struct nc_api *a, const struct snap *s, const char *name, const struct nc_principal *p,
		   struct nc_web_resp *resp)
{
	const struct snap_vm *v = find_vm(s, name);

	if (!v || !nc_principal_sees(p, v->tenant)) {
		nc_web_error(resp, 404, "no VM %s", name);
		return;
	}
	nc_buf_adds(&resp->body, v->detail);
	nc_buf_adds(&resp->body, ", \"backups\": [");
	backups_of(a, v->name, p, &resp->body);
	nc_buf_adds(&resp->body, "]}\n");
	ok_json(resp);
}

static void get_plan(struct nc_api *a, const struct snap *s, const struct nc_principal *p,
		     struct nc_web_resp *resp)
{
	struct nc_buf *b = &resp->body;
	size_t i, n = 0;
	bool approved;

	pthread_mutex_lock(&a->mu);
	approved = s && s->digest[0] && strcmp(a->approved, s->digest) == 0;
	pthread_mutex_unlock(&a->mu);
	nc_buf_adds(b, "{\"digest\": ");
	jstr(b, s ? s->digest : NULL);
	nc_buf_addf(b, ", \"mode\": \"%s\", \"approved\": %s, \"actions\": [",
		    s && s->mode == NC_APPLY_APPROVE ? "approve" : "auto",
		    !s || s->mode != NC_APPLY_APPROVE || !s->nactions || approved ? "true" : "false");
	for (i = 0; s && i < s->nactions; i++) {
		const struct snap_action *ac = &s->actions[i];

		/* an object of no tenant (a network, an image) is the admins': its reason may name
		 * any tenant's VMs */
		if (!nc_principal_sees(p, ac->tenant))
			continue;
		nc_buf_adds(b, n++ ? ",\n  " : "\n  ");
		nc_buf_adds(b, ac->json);
	}
	nc_buf_adds(b, n ? "\n], \"summary\": " : "], \"summary\": ");
	nc_buf_adds(b, s ? s->summary : "null");
	nc_buf_adds(b, "}\n");
	ok_json(resp);
}

static void get_passes(struct nc_api *a, const struct nc_principal *p, struct nc_web_resp *resp)
{
	size_t i;

	nc_buf_adds(&resp->body, "{\"items\": [");
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->npasses; i++) {
		nc_buf_adds(&resp->body, i ? ",\n  " : "\n  ");
		add_pass(&resp->body, a->passes[i], p);
	}
	nc_buf_adds(&resp->body, a->npasses ? "\n]}\n" : "]}\n");
	pthread_mutex_unlock(&a->mu);
	ok_json(resp);
}

static void get_alerts(struct nc_api *a, const struct nc_principal *p, struct nc_web_resp *resp)
{
	size_t i, n = 0;

	nc_buf_adds(&resp->body, "{\"items\": [");
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nalerts; i++) {
		if (a->alerts[i].tenant && !nc_principal_sees(p, a->alerts[i].tenant))
			continue;
		nc_buf_adds(&resp->body, n++ ? ",\n  " : "\n  ");
		nc_buf_adds(&resp->body, a->alerts[i].json);
	}
	pthread_mutex_unlock(&a->mu);
	nc_buf_adds(&resp->body, n ? "\n]}\n" : "]}\n");
	ok_json(resp);
}

/* ?since=ID, else Last-Event-ID; neither: 0, or for a stream the newest event (it starts now) */
static bool since_param(struct nc_api *a, const struct nc_web_req *req, bool stream, uint64_t *out,
			struct nc_web_resp *resp)
{
	const char *v = req->query(req, "since");
	char *end;

	if (!v || !*v)
		v = req->header(req, "Last-Event-ID");
	*out = 0;
	if (!v || !*v) {
		if (stream)
			*out = nc_events_last(a->events);
		return true;
	}
	*out = strtoull(v, &end, 10);
	if (*end || v[0] == '-') {
		nc_web_error(resp, 400, "since must be an event id");
		return false;
	}
	return true;
}

void nc_api_handle(struct nc_api *a, const struct nc_web_req *req, const struct nc_principal *p,
		   const struct nc_api_facts *f, struct nc_web_resp *resp)
{
	const char *path = req->path;
	struct snap *s;
	uint64_t since;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return;
	if (strncmp(path, "/api/v1/", 8) != 0)
		return;
	path += 8;
	if (strcmp(path, "events") == 0) {
		if (since_param(a, req, false, &since, resp)) {
			nc_events_json(a->events, p, since, &resp->body);
			ok_json(resp);
		}
		return;
	}
	if (strcmp(path, "events/stream") == 0) {
		if (since_param(a, req, true, &since, resp))
			nc_events_stream(a->events, p, since, resp);
		return;
	}
	if (strcmp(path, "audit") == 0) {
		size_t limit;

		if (!nc_principal_can(p, NC_ROLE_ADMIN)) {
			nc_web_error(resp, 403, "the audit log is for admins");
			return;
		}
		/* it names every tenant's VMs: not for an admin scoped to tenants */
		if (!p->all_tenants) {
			nc_web_error(resp, 403, "the audit log is for admins of every tenant");
			return;
		}
		if (!qparam(req, "limit", 1000, 1000, &limit, resp))
			return;
		nc_audit_json(a->audit, p, limit, &resp->body);
		ok_json(resp);
		return;
	}
	if (strcmp(path, "passes") == 0) {
		get_passes(a, p, resp);
		return;
	}
	if (strcmp(path, "alerts") == 0) {
		get_alerts(a, p, resp);
		return;
	}
	if (strcmp(path, "backups") == 0) {
		const char *vm = req->query(req, "vm");

		if (vm && *vm && !nc_api_vm_visible(a, p, vm)) {
			nc_web_error(resp, 404, "no VM %s", vm);
			return;
		}
		nc_buf_adds(&resp->body, "{\"items\": [");
		backups_of(a, vm && *vm ? vm : NULL, p, &resp->body);
		nc_buf_adds(&resp->body, "]}\n");
		ok_json(resp);
		return;
	}
	s = snap_get(a);
	if (strcmp(path, "cluster") == 0)
		get_cluster(s, p, f, resp);
	else if (strcmp(path, "hosts") == 0)
		get_hosts(s, p, resp);
	else if (strncmp(path, "hosts/", 6) == 0 && path[6] && !strchr(path + 6, '/'))
		get_host(s, path + 6, p, resp);
	else if (strcmp(path, "vms") == 0)
		get_vms(s, req, p, resp);
	else if (strncmp(path, "vms/", 4) == 0 && path[4] && !strchr(path + 4, '/'))
		get_vm(a, s, path + 4, p, resp);
	else if (strcmp(path, "plan") == 0)
		get_plan(a, s, p, resp);
	snap_put(s);
}
