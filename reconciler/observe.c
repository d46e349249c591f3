/*
 * observe.c - open and observe every host in parallel, each within a timeout.
 *
 * A pool of worker threads takes hosts in spec order.  The caller waits until
 * every host is done or past its deadline; a host past its deadline is
 * reported unreachable ("timed out") and its worker is abandoned: it drops
 * what it gets when the call finally returns, and a new worker takes its
 * place so that one hung host cannot stall the others.  The job table is
 * shared with reference counts, so the caller may return before a hung
 * worker does.  Every other worker is joined before the caller returns, so
 * that no thread is still ending (and freeing what libraries keep per thread,
 * such as OpenSSL's error queue) when the program exits.
 */
#include "pass.h"
#include "plan-int.h"
#include "../drivers/network/network.h"
#include "../drivers/storage/storage.h"
#include "connections.h"
#include "hostrec.h"
#include "images.h"
#include "netfs.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

struct job {
	char *uri;                   /* what is opened: connections applied; never shown */
	char *shown;                 /* the spec's URI, what errors may name */
	char *refused;               /* why no URI may be opened (then uri is NULL) */
	enum job_state state;
	struct timespec start;
	struct nc_host_conn *conn;
	struct nc_observed_host obs;
	char *error;
	double seconds;
	struct nc_image_vol *images;
	size_t nimages;
	bool declared;                   /* a host of the spec (not a recorded one) */
	const struct nc_host *host;      /* declared: its spec */
	bool skip;                       /* not contacted (nc_observe_opts.skip_hosts) */
};

struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *jobs;
	size_t n, next;
	int refs;
	char *state_dir;
	bool keep_open;
	const struct nc_spec *spec;      /* for the Image volumes to look at */
	/* the workers, and the job each is on (SIZE_MAX: none, it is ending) */
	pthread_t *threads;
	size_t *cur;
	size_t nthreads, cap;
};

struct worker_arg {
	struct shared *s;
	size_t slot;
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void shared_unref(struct shared *s)
{
	size_t i;

	if (--s->refs > 0) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < s->n; i++) {
		free(s->jobs[i].uri);
		free(s->jobs[i].shown);
		free(s->jobs[i].refused);
		free(s->jobs[i].error);
		nc_image_vols_free(s->jobs[i].images, s->jobs[i].nimages);
	}
	free(s->jobs);
	free(s->threads);
	free(s->cur);
	free(s->state_dir);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void *worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct shared *s = wa->s;
	size_t slot = wa->slot;
	struct nc_driver_opts dopts;

	free(wa);
	pthread_mutex_lock(&s->mu);
	dopts.state_dir = s->state_dir;
	while (s->next < s->n) {
		struct job *j = &s->jobs[s->next];
		struct nc_host_conn *conn = NULL;
		struct nc_observed_host obs;
		struct nc_err err = { "" };
		char *uri = j->uri;
		int r;

		s->cur[slot] = s->next++;
		j->state = JOB_RUNNING;
		clock_gettime(CLOCK_MONOTONIC, &j->start);
		pthread_mutex_unlock(&s->mu);

		memset(&obs, 0, sizeof(obs));
		if (j->skip) {
			nc_err_set(&err, "failed health checks; not contacted");
			r = -1;
		} else if (uri) {
			r = nc_host_open(&conn, uri, &dopts, &err);
		} else {
			nc_err_set(&err, "%s", j->refused);
			r = -1;
		}
		if (r == 0 && conn->drv->observe(conn, &obs, &err) < 0)
			r = -1;
		/* the size of each managed domain's volumes, to compare with the spec,
		 * and what they hold (a cold migration copies that) */
		if (r == 0) {
			size_t d, k;

			for (d = 0; d < obs.ndoms; d++)
				for (k = 0; obs.doms[d].managed && k < obs.doms[d].ndisks; k++)
					nc_vol_sizes_by_path(conn, obs.doms[d].disks[k].source,
							     &obs.doms[d].disks[k].capacity,
							     &obs.doms[d].disks[k].allocation);
			/* a seed CD-ROM whose volume is gone (0) is uploaded again */
			for (d = 0; d < obs.ndoms; d++)
				for (k = 0; obs.doms[d].managed && k < obs.doms[d].ncdroms; k++)
					obs.doms[d].cdroms[k].capacity =
						nc_vol_capacity_by_path(conn, obs.doms[d].cdroms[k].source);
		}
		/* the Image volumes of its dir pools (declared hosts only) */
		struct nc_image_vol *imgs = NULL;
		size_t nimgs = 0;

		if (r == 0 && s->spec && j->declared)
			nc_images_observe(&imgs, &nimgs, conn, s->spec);
		/* its netfs pools that cannot be read: a degraded host (netfs.h) */
		if (r == 0 && s->spec && j->declared)
			nc_netfs_observe(conn, s->spec, j->host, &obs);
		/* the libvirt networks: a host without a network driver is still a host */
		if (r == 0) {
			struct nc_err nerr = { "" };

			if (nc_net_list(conn, &obs.nets, &obs.nnets, &nerr) < 0)
				obs.nets_error = nc_xstrdup(nerr.msg);
		}
		if (r < 0)   /* no file contents, no operator's parameters */
			nc_connection_error_clean(&err, uri, j->shown);
		if (r < 0 || !s->keep_open) {
			/* a plan needs no connection after observing: peak memory stays small */
			nc_host_close(conn);
			conn = NULL;
		}

		pthread_mutex_lock(&s->mu);
		if (j->state == JOB_ABANDONED) {
			nc_observed_host_release(&obs);
			nc_host_close(conn);
			nc_image_vols_free(imgs, nimgs);
		} else {
			j->state = JOB_DONE;
			j->images = imgs;
			j->nimages = nimgs;
			j->seconds = since(&j->start);
			j->conn = conn;
			j->obs = obs;
			if (r < 0)
				j->error = nc_xstrdup(err.msg);
			pthread_cond_broadcast(&s->cv);
		}
	}
	s->cur[slot] = SIZE_MAX;
	shared_unref(s);    /* unlocks */
	return NULL;
}

/* starts a worker; called with the lock held */
static void spawn(struct shared *s)
{
	struct worker_arg *wa;

	if (s->nthreads == s->cap)
		return;
	wa = nc_xcalloc(1, sizeof(*wa));
	wa->s = s;
	wa->slot = s->nthreads;
	s->cur[wa->slot] = SIZE_MAX;
	s->refs++;
	if (pthread_create(&s->threads[wa->slot], NULL, worker, wa) != 0) {
		s->refs--;
		free(wa);
		return;
	}
	s->nthreads++;
}

/*
 * True when the recorded host old_name, last declared at old_uri, and the
 * declared host h are one address: the same spec URI, and the same URI
 * opened once the operator's connections are applied to each name (a
 * connections entry may send two hosts with one spec URI to two machines).
 */
static bool same_address(const char *old_name, const char *old_uri, const struct nc_host *h,
			 const struct nc_list *conns)
{
	struct nc_host fake;
	struct nc_err e = { "" };
	char *a, *b;
	bool same;

	if (!old_uri || strcmp(h->spec.uri.v, old_uri) != 0)
		return false;
	memset(&fake, 0, sizeof(fake));
	fake.obj.meta.name.v = old_name;
	fake.spec.uri.v = old_uri;
	a = nc_connection_uri(&fake, conns, false, &e);
	b = nc_connection_uri(h, conns, false, &e);
	same = a && b && strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

/*
 * The recorded hosts (hostrec.h) that the spec no longer declares: they are
 * observed too (invariant 8).  One whose address a declared host now opens
 * was renamed: it is observed under its new name, not twice.
 */
static void gone_hosts(struct nc_cluster *out, const struct nc_spec *spec, const struct nc_hostrec *r,
		       const struct nc_list *conns)
{
	const struct nc_host *h;
	size_t i, k;

	out->gone = nc_xcalloc(r && r->nhosts ? r->nhosts : 1, sizeof(*out->gone));
	out->renamed = nc_xcalloc(r && r->nhosts ? r->nhosts : 1, sizeof(*out->renamed));
	for (i = 0; r && i < r->nhosts; i++) {
		const struct nc_hostrec_host *rh = &r->hosts[i];
		struct nc_gone_host *g;
		bool renamed = false;

		if (nc_spec_find(spec, NC_KIND_HOST, rh->name))
			continue;
		NC_SPEC_EACH(spec, NC_KIND_HOST, const struct nc_host, h, k)
			renamed |= same_address(rh->name, rh->uri, h, conns);
		if (renamed) {
			out->renamed[out->nrenamed++] = nc_xstrdup(rh->name);
			continue;
		}
		g = &out->gone[out->ngone++];
		g->name = nc_xstrdup(rh->name);
		g->uri = nc_xstrdup(rh->uri);
		g->vms = nc_xcalloc(rh->nvms + 1, sizeof(*g->vms));
		for (k = 0; k < rh->nvms; k++)
			g->vms[g->nvms++] = nc_xstrdup(rh->vms[k]);
	}
}

/* an undeclared host is reached as when it was declared: its recorded URI,
 * checked again, with the operator's connections for its name applied */
static void gone_job(struct job *j, const struct nc_gone_host *g, const struct nc_list *conns)
{
	struct nc_host fake;
	struct nc_err e = { "" };

	memset(&fake, 0, sizeof(fake));
	fake.obj.meta.name.v = g->name;
	fake.spec.uri.v = g->uri;
	j->uri = nc_connection_uri(&fake, conns, false, &e);
	if (!j->uri)
		j->refused = nc_xstrdup(e.msg);
	j->shown = nc_xstrdup(g->uri);
}

/* a managed domain of VM vm is observed on a host read in this pass */
static bool vm_observed(const struct nc_cluster *c, const char *vm)
{
	size_t i, j;

	for (i = 0; i < c->nhosts + c->ngone; i++) {
		const struct nc_observed_host *o = i < c->nhosts ? &c->hosts[i].obs : &c->gone[i - c->nhosts].obs;

		if ((i < c->nhosts ? c->hosts[i].status : c->gone[i - c->nhosts].status) != NC_HOST_OK)
			continue;
		for (j = 0; j < o->ndoms; j++)
			if (o->doms[j].managed && o->doms[j].meta_vm && strcmp(o->doms[j].meta_vm, vm) == 0)
				return true;
	}
	return false;
}

/*
 * A declared host recorded at another URI (its Host document now names a
 * different address): the VMs recorded there and found nowhere may still run
 * at the old address (pass.h, struct nc_host_view).  When a declared host
 * now uses the old URI, what runs there is observed: no move is pending.
 */
static void pending_moves(struct nc_cluster *out, const struct nc_spec *spec, const struct nc_hostrec *r,
			  const struct nc_list *conns)
{
	const struct nc_host *h;
	size_t i, k;

	for (i = 0; r && i < out->nhosts; i++) {
		struct nc_host_view *v = &out->hosts[i];
		const struct nc_hostrec_host *rh = nc_hostrec_find(r, v->spec->obj.meta.name.v);
		bool used = false;

		if (!rh || !rh->uri || strcmp(rh->uri, v->spec->spec.uri.v) == 0)
			continue;
		NC_SPEC_EACH(spec, NC_KIND_HOST, const struct nc_host, h, k)
			used |= same_address(rh->name, rh->uri, h, conns);
		if (used)
			continue;
		for (k = 0; k < rh->nvms; k++) {
			if (vm_observed(out, rh->vms[k]))
				continue;
			v->moved_vms = nc_xreallocarray(v->moved_vms, v->nmoved + 1, sizeof(*v->moved_vms));
			v->moved_vms[v->nmoved++] = nc_xstrdup(rh->vms[k]);
		}
		if (v->nmoved)
			v->moved_from = nc_xstrdup(rh->uri);
	}
}

static bool skipped(const struct nc_observe_opts *opts, const char *name)
{
	size_t i;

	for (i = 0; opts && i < opts->nskip; i++)
		if (opts->skip_hosts[i] && strcmp(opts->skip_hosts[i], name) == 0)
			return true;
	return false;
}

/* the managed VMs the record lists on each declared host */
static void recorded_vms(struct nc_cluster *out, const struct nc_hostrec *r)
{
	size_t i, k;

	for (i = 0; r && i < out->nhosts; i++) {
		struct nc_host_view *v = &out->hosts[i];
		const struct nc_hostrec_host *rh = nc_hostrec_find(r, v->spec->obj.meta.name.v);

		if (!rh || !rh->nvms)
			continue;
		v->recorded_vms = nc_xcalloc(rh->nvms, sizeof(*v->recorded_vms));
		for (k = 0; k < rh->nvms; k++)
			v->recorded_vms[v->nrecorded++] = nc_xstrdup(rh->vms[k]);
	}
}

void nc_observe(struct nc_cluster *out, const struct nc_spec *spec,
		const struct nc_observe_opts *opts)
{
	struct shared *s = nc_xcalloc(1, sizeof(*s));
	unsigned timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : 30000;
	unsigned parallel = opts && opts->parallel ? opts->parallel : 16;
	const struct nc_host *h;
	pthread_t *join;
	size_t i, w, njoin = 0;

	memset(out, 0, sizeof(*out));
	out->nhosts = spec->nobjs[NC_KIND_HOST];
	out->hosts = nc_xcalloc(out->nhosts ? out->nhosts : 1, sizeof(*out->hosts));
	gone_hosts(out, spec, opts ? opts->record : NULL, opts ? opts->connections : NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->n = out->nhosts + out->ngone;     /* declared hosts, then undeclared ones */
	s->jobs = nc_xcalloc(s->n ? s->n : 1, sizeof(*s->jobs));
	s->refs = 1;
	s->state_dir = opts && opts->state_dir ? nc_xstrdup(opts->state_dir) : NULL;
	s->keep_open = opts && opts->keep_open;
	s->spec = spec;
	/* at most one worker per host at first, and one more for each host abandoned */
	s->cap = 2 * s->n + 1;
	s->threads = nc_xcalloc(s->cap, sizeof(*s->threads));
	s->cur = nc_xcalloc(s->cap, sizeof(*s->cur));
	NC_SPEC_EACH(spec, NC_KIND_HOST, const struct nc_host, h, i) {
		struct nc_err e = { "" };
		const struct nc_list *conns = opts ? opts->connections : NULL;

		out->hosts[i].spec = h;
		s->jobs[i].uri = nc_connection_uri(h, conns, false, &e);
		if (!s->jobs[i].uri)
			s->jobs[i].refused = nc_xstrdup(e.msg);
		s->jobs[i].shown = nc_xstrdup(h->spec.uri.v);
		s->jobs[i].declared = true;
		s->jobs[i].host = h;
		s->jobs[i].skip = skipped(opts, h->obj.meta.name.v);
		out->hosts[i].migration_uri = nc_connection_uri(h, conns, true, &e);
	}
	for (i = 0; i < out->ngone; i++) {
		gone_job(&s->jobs[out->nhosts + i], &out->gone[i], opts ? opts->connections : NULL);
		s->jobs[out->nhosts + i].skip = skipped(opts, out->gone[i].name);
	}
	recorded_vms(out, opts ? opts->record : NULL);

	pthread_mutex_lock(&s->mu);
	for (w = 0; w < parallel && w < s->n; w++)
		spawn(s);
	for (;;) {
		struct timespec deadline = { 0, 0 };
		bool waiting = false;

		for (i = 0; i < s->n; i++) {
			struct job *j = &s->jobs[i];

			if (j->state == JOB_PENDING) {
				waiting = true;
			} else if (j->state == JOB_RUNNING) {
				if (since(&j->start) * 1000 >= timeout_ms) {
					j->state = JOB_ABANDONED;
					j->error = nc_xasprintf("timed out after %.1f s", timeout_ms / 1000.0);
					j->seconds = timeout_ms / 1000.0;
					if (s->next < s->n)
						spawn(s);   /* replace the hung worker */
					continue;
				}
				waiting = true;
			}
		}
		if (!waiting)
			break;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 50 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
	}
	for (i = 0; i < out->nhosts; i++) {
		struct nc_host_view *v = &out->hosts[i];
		struct job *j = &s->jobs[i];

		v->seconds = j->seconds;
		if (j->error) {
			v->status = NC_HOST_UNREACHABLE;
			v->error = nc_xstrdup(j->error ? j->error : "not observed");
			out->unreachable++;
			continue;
		}
		v->status = NC_HOST_OK;
		v->conn = j->conn;
		v->obs = j->obs;
		v->images = j->images;
		v->nimages = j->nimages;
		j->images = NULL;
		j->nimages = 0;
		j->conn = NULL;
		memset(&j->obs, 0, sizeof(j->obs));
	}
	for (i = 0; i < out->ngone; i++) {
		struct nc_gone_host *g = &out->gone[i];
		struct job *j = &s->jobs[out->nhosts + i];

		g->seconds = j->seconds;
		if (j->error) {
			g->status = NC_HOST_UNREACHABLE;
			g->error = nc_xstrdup(j->error);
			out->gone_unreachable++;
			continue;
		}
		g->status = NC_HOST_OK;
		g->obs = j->obs;         /* never acted on: its connection is closed */
		nc_host_close(j->conn);
		j->conn = NULL;
		memset(&j->obs, 0, sizeof(j->obs));
	}
	/* a worker on an abandoned host is left to end on its own; the others are ending now */
	join = nc_xcalloc(s->nthreads ? s->nthreads : 1, sizeof(*join));
	for (w = 0; w < s->nthreads; w++) {
		if (s->cur[w] != SIZE_MAX && s->jobs[s->cur[w]].state == JOB_ABANDONED)
			pthread_detach(s->threads[w]);
		else
			join[njoin++] = s->threads[w];
	}
	shared_unref(s);    /* unlocks */
	for (w = 0; w < njoin; w++)
		pthread_join(join[w], NULL);
	free(join);
	pending_moves(out, spec, opts ? opts->record : NULL, opts ? opts->connections : NULL);
	/* Image volumes of rbd pools: one look for every host */
	nc_images_observe(&out->rbd_images, &out->nrbd_images, NULL, spec);
}

void nc_cluster_release(struct nc_cluster *c)
{
	size_t i, k;

	for (i = 0; i < c->nhosts; i++) {
		nc_host_close(c->hosts[i].conn);
		nc_observed_host_release(&c->hosts[i].obs);
		free(c->hosts[i].error);
		free(c->hosts[i].migration_uri);
		free(c->hosts[i].moved_from);
		for (k = 0; k < c->hosts[i].nmoved; k++)
			free(c->hosts[i].moved_vms[k]);
		free(c->hosts[i].moved_vms);
		nc_image_vols_free(c->hosts[i].images, c->hosts[i].nimages);
		for (k = 0; k < c->hosts[i].nrecorded; k++)
			free(c->hosts[i].recorded_vms[k]);
		free(c->hosts[i].recorded_vms);
	}
	free(c->hosts);
	for (i = 0; i < c->ngone; i++) {
		nc_observed_host_release(&c->gone[i].obs);
		free(c->gone[i].error);
		free(c->gone[i].name);
		free(c->gone[i].uri);
		for (k = 0; k < c->gone[i].nvms; k++)
			free(c->gone[i].vms[k]);
		free(c->gone[i].vms);
	}
	free(c->gone);
	for (i = 0; i < c->nrenamed; i++)
		free(c->renamed[i]);
	free(c->renamed);
	nc_image_vols_free(c->rbd_images, c->nrbd_images);
	memset(c, 0, sizeof(*c));
}

void nc_cluster_digest(const struct nc_cluster *c, char out[65])
{
	struct nc_buf b = NC_BUF_INIT;
	size_t i, j, k;

	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];

		nc_buf_addf(&b, "host %s %s\n", v->spec->obj.meta.name.v,
			    v->status == NC_HOST_OK ? "ok" : "unreachable");
		if (v->moved_from) {
			nc_buf_addf(&b, " moved-from %s", v->moved_from);
			for (j = 0; j < v->nmoved; j++)
				nc_buf_addf(&b, " %s", v->moved_vms[j]);
			nc_buf_addc(&b, '\n');
		}
		if (v->status != NC_HOST_OK) {
			/* what a plan takes from it: which VMs may be recovered elsewhere */
			for (j = 0; j < v->nrecorded; j++)
				nc_buf_addf(&b, " recorded %s\n", v->recorded_vms[j]);
			continue;
		}
		nc_buf_addf(&b, " node %u %llu\n", v->obs.node.cpus,
			    (unsigned long long)v->obs.node.memory);
		for (j = 0; j < v->nimages; j++)
			nc_buf_addf(&b, " image %s %s %d %d\n", v->images[j].pool, v->images[j].image,
				    v->images[j].present, v->images[j].complete);
		for (j = 0; j < v->obs.ndoms; j++) {
			const struct nc_domain *d = &v->obs.doms[j];

			nc_buf_addf(&b, " dom %s %s %s %u %llu %llu %s %s %s\n", d->name, d->uuid ? d->uuid : "-",
				    nc_dom_state_name(d->state), d->vcpus,
				    (unsigned long long)d->memory, (unsigned long long)d->cur_memory,
				    d->machine ? d->machine : "-", d->meta_vm ? d->meta_vm : "-",
				    d->meta_hash ? d->meta_hash : "-");
			for (k = 0; k < d->ndisks; k++)
				nc_buf_addf(&b, "  disk %s %s %s %s\n", d->disks[k].target ? d->disks[k].target : "-",
					    d->disks[k].bus ? d->disks[k].bus : "-",
					    d->disks[k].source ? d->disks[k].source : "-",
					    d->disks[k].format ? d->disks[k].format : "-");
			for (k = 0; k < d->ncdroms; k++)
				nc_buf_addf(&b, "  cdrom %s %s %s %llu\n", d->cdroms[k].target ? d->cdroms[k].target : "-",
					    d->cdroms[k].bus ? d->cdroms[k].bus : "-",
					    d->cdroms[k].source ? d->cdroms[k].source : "-",
					    (unsigned long long)d->cdroms[k].capacity);
			if (d->meta_ci_iid)
				nc_buf_addf(&b, "  cloudinit %s %s %s\n", d->meta_ci_iid,
					    d->meta_ci_user_data ? d->meta_ci_user_data : "-",
					    d->meta_ci_network_config ? d->meta_ci_network_config : "-");
			for (k = 0; k < d->nnics; k++)
				nc_buf_addf(&b, "  nic %s %s %s %s\n", d->nics[k].mac ? d->nics[k].mac : "-",
					    d->nics[k].type ? d->nics[k].type : "-",
					    d->nics[k].source ? d->nics[k].source : "-",
					    d->nics[k].model ? d->nics[k].model : "-");
			/* snapshots (snapshots.h): only when there are some, digests without stay as they were */
			for (k = 0; k < d->nsnaps; k++)
				nc_buf_addf(&b, "  snapshot %s %d %d\n", d->snaps[k].name, d->snaps[k].managed,
					    d->snaps[k].memory);
		}
		/* only when there are some: digests of hosts without secrets stay as they were */
		for (j = 0; j < v->obs.nsecrets; j++)
			nc_buf_addf(&b, " secret %s %s\n", v->obs.secrets[j].uuid,
				    v->obs.secrets[j].description ? v->obs.secrets[j].description : "-");
	}
	/* the libvirt networks of each host */
	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];

		if (v->status != NC_HOST_OK)
			continue;
		if (v->obs.nets_error)
			nc_buf_addf(&b, "nets %s error\n", v->spec->obj.meta.name.v);
		for (j = 0; j < v->obs.nnets; j++) {
			const struct nc_net_obs *o = &v->obs.nets[j];

			nc_buf_addf(&b, "net %s %d %d %d %d %s\n", v->spec->obj.meta.name.v, o->managed, o->active,
				    o->autostart, o->persistent, o->cfg.meta_hash ? o->cfg.meta_hash : "-");
			nc_net_canonical(&o->cfg, &b);
			nc_net_canonical(&o->live, &b);
		}
	}
	/* undeclared hosts: what a plan takes from them (which VMs they block) */
	for (i = 0; i < c->ngone; i++) {
		const struct nc_gone_host *g = &c->gone[i];

		nc_buf_addf(&b, "gone %s %s %s\n", g->name, g->uri, g->status == NC_HOST_OK ? "ok" : "unreachable");
		for (j = 0; j < g->nvms; j++)
			nc_buf_addf(&b, " recorded %s\n", g->vms[j]);
		for (j = 0; j < g->obs.ndoms; j++)
			nc_buf_addf(&b, " dom %s %s %s\n", g->obs.doms[j].name, nc_dom_state_name(g->obs.doms[j].state),
				    g->obs.doms[j].meta_vm ? g->obs.doms[j].meta_vm : "-");
	}
	for (i = 0; i < c->nrbd_images; i++)
		nc_buf_addf(&b, "rbd-image %s %s %d %d\n", c->rbd_images[i].pool, c->rbd_images[i].image,
			    c->rbd_images[i].present, c->rbd_images[i].complete);
	nc_sha256_hex(b.buf, b.len, out);
	nc_buf_release(&b);
}
