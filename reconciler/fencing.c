/*
 * fencing.c - fencing orchestration (fencing.h, docs/ha.md).
 */
#include "fencing.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ha.h"

int nc_fence_names_check(const struct nc_spec *spec, const struct nc_list *devices,
			 const char *config_path, struct nc_diags *diags)
{
	size_t i, j;
	int ret = 0;

	for (i = 0; i < spec->nobjs[NC_KIND_HOST]; i++) {
		const struct nc_host *h = (const struct nc_host *)spec->objs[NC_KIND_HOST][i];

		for (j = 0; j < h->spec.fence.n; j++) {
			const struct nc_str *n = &h->spec.fence.v[j];

			if (nc_fence_device_find(devices, n->v))
				continue;
			nc_diag_error(diags, n->pos, "Host '%s': no fence device '%s' in %s (fencing: devices:)",
				      h->obj.meta.name.v, n->v, config_path ? config_path : "the configuration");
			ret = -1;
		}
	}
	return ret;
}

/* ---- targets ---- */

static bool observed_on_reachable(const struct nc_cluster *cl, const char *vm)
{
	size_t i, j;

	for (i = 0; i < cl->nhosts + cl->ngone; i++) {
		const struct nc_observed_host *o;
		bool ok;

		if (i < cl->nhosts) {
			ok = cl->hosts[i].status == NC_HOST_OK;
			o = &cl->hosts[i].obs;
		} else {
			ok = cl->gone[i - cl->nhosts].status == NC_HOST_OK;
			o = &cl->gone[i - cl->nhosts].obs;
		}
		if (!ok)
			continue;
		for (j = 0; j < o->ndoms; j++)
			if (o->doms[j].managed && o->doms[j].meta_vm && strcmp(o->doms[j].meta_vm, vm) == 0)
				return true;
	}
	return false;
}

void nc_fence_targets(struct nc_fence_targets *out, const struct nc_spec *spec, const struct nc_cluster *cl,
		      const struct nc_hostrec *rec, const char *host)
{
	const struct nc_hostrec_host *rh = nc_hostrec_find(rec, host);
	size_t i, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; rh && i < rh->nvms; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, rh->vms[i]);
		struct nc_desired d;
		size_t nrbd = 0;
		bool local = false;

		if (!vm || !NC_IS_SET(vm->spec.ha.policy) || vm->spec.ha.policy.v != NC_HA_RESTART)
			continue;
		/* never the disks of a copy that runs where it can be seen */
		if (observed_on_reachable(cl, rh->vms[i]))
			continue;
		nc_desired_build(&d, spec, vm, NULL);
		for (k = 0; k < d.def.ndisks; k++) {
			const struct nc_disk_def *dk = &d.def.disks[k];

			if (dk->type && strcmp(dk->type, "network") == 0 && dk->source) {
				nc_ha_list_add(&out->disks, &out->ndisks, dk->source);
				nrbd++;
			} else {
				local = true;
			}
		}
		nc_desired_release(&d);
		if (local || !nrbd)
			out->need_host = true;
		nc_ha_list_add(&out->vms, &out->nvms, rh->vms[i]);
	}
}

void nc_fence_targets_release(struct nc_fence_targets *t)
{
	size_t i;

	for (i = 0; i < t->ndisks; i++)
		free(t->disks[i]);
	free(t->disks);
	for (i = 0; i < t->nvms; i++)
		free(t->vms[i]);
	free(t->vms);
	memset(t, 0, sizeof(*t));
}

/* ---- one device run, bounded in time ---- */

struct run {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	bool done;
	const struct nc_fence_driver *drv;
	struct nc_fence_device dev;      /* a copy: a run left behind outlives a reloaded configuration */
	struct nc_fence_target t;
	char *host;
	char **disks;
	size_t ndisks;
	int r;
	struct nc_fence_result res;
	struct nc_err err;
};

/*
 * The run's own copy of the device: the configuration it came from is freed
 * by a reload (SIGHUP) while a run that timed out may still be going.
 */
#define DEV_STRS(d) { &(d)->name, &(d)->type, &(d)->ceph_conf, &(d)->user, &(d)->key_file, \
		      &(d)->agent, &(d)->password_file }

static void dev_copy(struct nc_fence_device *to, const struct nc_fence_device *from)
{
	size_t i;

	*to = *from;
	{
		struct nc_str *strs[] = DEV_STRS(to);

		for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
			strs[i]->pos.file = NULL;
			if (strs[i]->v)
				strs[i]->v = nc_xstrdup(strs[i]->v);
		}
	}
	to->pos.file = NULL;
	to->timeout.pos.file = NULL;
	to->options.pos.file = NULL;
	to->options.v = from->options.n ? nc_xcalloc(from->options.n, sizeof(*to->options.v)) : NULL;
	for (i = 0; i < from->options.n; i++) {
		to->options.v[i].key = nc_xstrdup(from->options.v[i].key);
		to->options.v[i].value = nc_xstrdup(from->options.v[i].value ? from->options.v[i].value : "");
	}
}

static void dev_free(struct nc_fence_device *d)
{
	size_t i;
	struct nc_str *strs[] = DEV_STRS(d);

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free((char *)strs[i]->v);
	for (i = 0; i < d->options.n; i++) {
		free((char *)d->options.v[i].key);
		free((char *)d->options.v[i].value);
	}
	free(d->options.v);
	memset(d, 0, sizeof(*d));
}

static void run_unref(struct run *r)
{
	size_t i;
	int left;

	pthread_mutex_lock(&r->mu);
	left = --r->refs;
	pthread_mutex_unlock(&r->mu);
	if (left)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	for (i = 0; i < r->ndisks; i++)
		free(r->disks[i]);
	free(r->disks);
	free(r->host);
	dev_free(&r->dev);
	nc_fence_result_release(&r->res);
	free(r);
}

/*
 * The hosts with a device run still going (one entry per run): a run left
 * behind by its timeout may still break a lock or power a host off.  While
 * one runs, no other device is run for that host, so the host cannot be
 * recorded fenced, and nothing restarted, before it ends: an rbd run that
 * read the lock owner late would otherwise blocklist the restarted copy.
 */
static pthread_mutex_t inflight_mu = PTHREAD_MUTEX_INITIALIZER;
static char **inflight;
static size_t ninflight;

static void inflight_add(const char *host)
{
	pthread_mutex_lock(&inflight_mu);
	inflight = nc_xreallocarray(inflight, ninflight + 1, sizeof(*inflight));
	inflight[ninflight++] = nc_xstrdup(host);
	pthread_mutex_unlock(&inflight_mu);
}

static void inflight_remove(const char *host)
{
	size_t i;

	pthread_mutex_lock(&inflight_mu);
	for (i = 0; i < ninflight; i++)
		if (strcmp(inflight[i], host) == 0) {
			free(inflight[i]);
			inflight[i] = inflight[--ninflight];
			break;
		}
	if (!ninflight) {
		free(inflight);
		inflight = NULL;
	}
	pthread_mutex_unlock(&inflight_mu);
}

static bool inflight_has(const char *host)
{
	bool has = false;
	size_t i;

	pthread_mutex_lock(&inflight_mu);
	for (i = 0; i < ninflight && !has; i++)
		has = strcmp(inflight[i], host) == 0;
	pthread_mutex_unlock(&inflight_mu);
	return has;
}

static void *run_thread(void *arg)
{
	struct run *r = arg;
	int rc = r->drv->fence(&r->dev, &r->t, &r->res, &r->err);

	inflight_remove(r->host);
	pthread_mutex_lock(&r->mu);
	r->r = rc;
	r->done = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	run_unref(r);
	return NULL;
}

/* runs dev on its own thread; a run not over after timeout_ms is left to end alone: -1 */
static int run_device(const struct nc_fence_driver *drv, const struct nc_fence_device *dev, const char *host,
		      char *const *disks, size_t ndisks, unsigned timeout_ms, struct nc_fence_result *res,
		      struct nc_err *err)
{
	struct run *r = nc_xcalloc(1, sizeof(*r));
	pthread_condattr_t ca;
	pthread_attr_t attr;
	pthread_t th;
	struct timespec dl;
	size_t i;
	int rc;

	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	r->refs = 2;
	r->drv = drv;
	dev_copy(&r->dev, dev);
	r->host = nc_xstrdup(host);
	r->disks = nc_xcalloc(ndisks + 1, sizeof(char *));
	for (i = 0; i < ndisks; i++)
		r->disks[i] = nc_xstrdup(disks[i]);
	r->ndisks = ndisks;
	r->t.host = r->host;
	r->t.rbd_disks = (const char *const *)r->disks;
	r->t.nrbd_disks = ndisks;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	inflight_add(host);
	if (pthread_create(&th, &attr, run_thread, r) != 0) {
		inflight_remove(host);
		pthread_attr_destroy(&attr);
		r->refs = 1;
		run_unref(r);
		nc_err_set(err, "cannot start a thread for the fence device");
		return -1;
	}
	pthread_attr_destroy(&attr);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->mu);
	while (!r->done && pthread_cond_timedwait(&r->cv, &r->mu, &dl) != ETIMEDOUT)
		;
	if (!r->done) {
		pthread_mutex_unlock(&r->mu);
		nc_err_set(err, "timed out after %.1f s (left running; it may still end)", timeout_ms / 1000.0);
		run_unref(r);
		return -1;
	}
	rc = r->r;
	if (rc < 0)
		*err = r->err;
	*res = r->res;               /* moved out */
	memset(&r->res, 0, sizeof(r->res));
	pthread_mutex_unlock(&r->mu);
	run_unref(r);
	return rc;
}

/* ---- the record ---- */

static bool complete(const struct nc_ha_host *e, const struct nc_fence_targets *t)
{
	size_t i;

	if (e->whole_host)
		return true;
	if (t->need_host)
		return false;
	for (i = 0; i < t->ndisks; i++)
		if (!nc_ha_list_has(e->disks, e->ndisks, t->disks[i]))
			return false;
	return true;
}

/*
 * Under the lock: load, change host's entry (failed_at when missing; the
 * device's result when res), save.  *done: the host is now fenced for
 * every target.  todo (when not NULL): the target disks the entry does not
 * hold yet, the only ones a device may touch.
 */
static int record(const char *state_dir, const char *host, const struct nc_fence_targets *t,
		  const struct nc_fence_result *res, const char *by, bool *done, struct nc_fencing_outcome *out,
		  struct nc_fence_targets *todo, struct nc_err *err)
{
	struct nc_ha_record rec;
	struct nc_ha_host *e;
	int fd = nc_ha_lock(state_dir, err), ret = -1;
	bool changed = false;
	size_t i;

	if (fd < 0)
		return -1;
	if (nc_ha_load(&rec, state_dir, err) < 0) {
		nc_ha_unlock(fd);
		return -1;
	}
	e = nc_ha_get(&rec, host);
	if (!e->failed_at) {
		e->failed_at = (int64_t)time(NULL);
		changed = true;
	}
	if (res && (res->whole_host || res->ndisks)) {
		e->fenced = true;
		e->fenced_at = (int64_t)time(NULL);
		free(e->fenced_by);
		e->fenced_by = nc_xstrdup(by);
		free(e->detail);
		e->detail = nc_xstrdup(res->detail);
		if (res->whole_host)
			e->whole_host = true;
		for (i = 0; i < res->ndisks; i++)
			nc_ha_list_add(&e->disks, &e->ndisks, res->disks[i]);
		changed = true;
	}
	*done = complete(e, t);
	/*
	 * A disk fenced once for this failure is never fenced again: its lock may
	 * now belong to the VM restarted elsewhere (on a host this pass could not
	 * read), and a second break would cut off that copy, the live one.
	 */
	for (i = 0; todo && i < t->ndisks; i++)
		if (!nc_ha_list_has(e->disks, e->ndisks, t->disks[i]))
			nc_ha_list_add(&todo->disks, &todo->ndisks, t->disks[i]);
	out->ndisks = e->ndisks;
	out->whole_host = e->whole_host;
	if (e->fenced && !res) {
		snprintf(out->by, sizeof(out->by), "%s", e->fenced_by ? e->fenced_by : "");
		snprintf(out->detail, sizeof(out->detail), "%s", e->detail ? e->detail : "");
	}
	if (!changed || nc_ha_save(&rec, state_dir, err) == 0)
		ret = 0;
	nc_ha_release(&rec);
	nc_ha_unlock(fd);
	return ret;
}

int nc_fence_host(const struct nc_spec *spec, const struct nc_fence_targets *t, const char *host,
		  const struct nc_fencing_opts *o, struct nc_fencing_outcome *out, struct nc_err *err)
{
	const struct nc_host *h = (const struct nc_host *)nc_spec_find(spec, NC_KIND_HOST, host);
	static const struct nc_fence_device manual = {
		.name = { .v = "manual" }, .type = { .v = "manual" },
	};
	struct nc_err last = { "" };
	struct nc_fence_targets todo = { 0 };
	bool done = false, pending = false;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	out->result = -1;
	if (!h) {
		nc_err_set(err, "host %s is not declared in the spec", host);
		return -1;
	}
	if (record(o->state_dir, host, t, NULL, NULL, &done, out, &todo, err) < 0) {
		nc_fence_targets_release(&todo);
		return -1;
	}
	if (done) {
		nc_fence_targets_release(&todo);
		out->result = NC_FENCE_DONE;
		if (!out->detail[0])
			snprintf(out->detail, sizeof(out->detail), "%s",
				 out->whole_host ? "the whole host is fenced" :
				 t->nvms ? "every disk of its VMs to restart is fenced" : "no VM to restart: nothing to fence");
		return NC_FENCE_DONE;
	}
	out->by[0] = out->detail[0] = '\0';
	n = h->spec.fence.n ? h->spec.fence.n : 1;
	for (i = 0; i < n && !done; i++) {
		const struct nc_fence_device *dev = h->spec.fence.n ?
			nc_fence_device_find(o->devices, h->spec.fence.v[i].v) : &manual;
		const struct nc_fence_driver *drv;
		struct nc_fence_result res;
		struct nc_err e = { "" };
		char by[160];
		unsigned tmo;
		int r;

		if (!dev) {
			nc_err_set(&last, "fence device '%s' of host %s is not in fencing: devices:",
				   h->spec.fence.v[i].v, host);
			out->failures++;
			continue;
		}
		drv = nc_fence_driver_find(dev->type.v);
		if (!drv) {
			nc_err_set(&last, "fence device '%s': no back-end for type '%s'", dev->name.v, dev->type.v);
			out->failures++;
			continue;
		}
		snprintf(by, sizeof(by), "%s device %s%s%s", dev->type.v, dev->name.v, o->who ? " " : "",
			 o->who ? o->who : "");
		if (inflight_has(host)) {
			nc_err_set(&last, "an earlier fence run of host %s (one that timed out) is still going: no other "
					  "is started until it ends", host);
			out->failures++;
			break;
		}
		tmo = o->timeout_ms ? o->timeout_ms : (unsigned)nc_fence_timeout_ms(dev);
		memset(&res, 0, sizeof(res));
		out->attempts++;
		r = run_device(drv, dev, host, todo.disks, todo.ndisks, tmo, &res, &e);
		if (r == NC_FENCE_PENDING) {
			pending = true;
			snprintf(out->by, sizeof(out->by), "%s", by);
			snprintf(out->detail, sizeof(out->detail), "%s", res.detail[0] ? res.detail :
				 "waiting for `novacron fence confirm`");
			nc_fence_result_release(&res);
			continue;
		}
		if (r < 0) {
			out->failures++;
			nc_err_set(&last, "%s: %s", by, e.msg);
			nc_fence_result_release(&res);
			continue;
		}
		nc_fence_targets_release(&todo);   /* the next device: what is still unfenced */
		if (record(o->state_dir, host, t, &res, by, &done, out, &todo, err) < 0) {
			nc_fence_result_release(&res);
			nc_fence_targets_release(&todo);
			return -1;
		}
		snprintf(out->by, sizeof(out->by), "%s", by);
		snprintf(out->detail, sizeof(out->detail), "%s", res.detail);
		nc_fence_result_release(&res);
	}
	nc_fence_targets_release(&todo);
	if (done) {
		out->result = NC_FENCE_DONE;
		return NC_FENCE_DONE;
	}
	if (pending && !last.msg[0]) {
		out->result = NC_FENCE_PENDING;
		return NC_FENCE_PENDING;
	}
	if (!last.msg[0])
		nc_err_set(&last, "the devices fenced only part of it (%zu disk%s)", out->ndisks,
			   out->ndisks == 1 ? "" : "s");
	*err = last;
	snprintf(out->detail, sizeof(out->detail), "%s", last.msg);
	/* a manual device still waits for its operator: pending, with the others' failure said */
	out->result = pending ? NC_FENCE_PENDING : -1;
	return out->result;
}

bool nc_fence_by_ok(const char *by)
{
	size_t n = strlen(by), i;

	if (!n || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)by[i] < 0x20 || by[i] == 0x7f)
			return false;
	return true;
}

int nc_fence_confirm(const char *state_dir, const char *host, const char *by, const char *detail,
		     const struct nc_observe_opts *oo_in, bool force, struct nc_fence_confirm_seen *seen,
		     struct nc_err *err)
{
	struct nc_hostrec rec = { 0 }, one = { 0 };
	struct nc_ha_record ha = { 0 };
	struct nc_observe_opts oo = *oo_in;
	struct nc_cluster cl;
	struct nc_spec none;
	const struct nc_hostrec_host *rh;
	struct nc_ha_host *h;
	bool observed = false;
	int lock = -1, ret = -1;
	int64_t now = (int64_t)time(NULL);
	size_t i;

	memset(seen, 0, sizeof(*seen));
	if (!nc_fence_by_ok(by)) {
		nc_err_set(err, "by must be 1 to 64 printable characters");
		return -1;
	}
	if (nc_hostrec_load(&rec, state_dir, err) < 0)
		goto out;
	rh = nc_hostrec_find(&rec, host);
	if (!rh) {
		ret = NC_FENCE_CONFIRM_UNKNOWN;
		goto out;
	}
	/* can it be read right now?  Opened alone, as a pass opens a host */
	one.hosts = (struct nc_hostrec_host *)rh;
	one.nhosts = 1;
	memset(&none, 0, sizeof(none));
	oo.keep_open = false;
	oo.record = &one;
	nc_observe(&cl, &none, &oo);
	observed = true;
	if (cl.ngone == 1 && cl.gone[0].status == NC_HOST_OK) {
		seen->readable = true;
		seen->ndoms = cl.gone[0].obs.ndoms;
		for (i = 0; i < cl.gone[0].obs.ndoms; i++)
			seen->running += cl.gone[0].obs.doms[i].state == NC_DOM_RUNNING;
		if (!force) {
			ret = NC_FENCE_CONFIRM_LIVE;
			goto out;
		}
	}
	lock = nc_ha_lock(state_dir, err);
	if (lock < 0 || nc_ha_load(&ha, state_dir, err) < 0)
		goto out;
	h = nc_ha_get(&ha, host);
	if (!h->failed_at)
		h->failed_at = now;
	h->fenced = true;
	h->whole_host = true;
	h->fenced_at = now;
	free(h->fenced_by);
	h->fenced_by = nc_xasprintf("manual: %s", by);
	free(h->detail);
	h->detail = nc_xstrdup(detail);
	if (nc_ha_save(&ha, state_dir, err) < 0)
		goto out;
	ret = 0;
out:
	if (observed)
		nc_cluster_release(&cl);
	nc_hostrec_release(&rec);
	nc_ha_release(&ha);
	nc_ha_unlock(lock);
	return ret;
}
