/* migrate.c - the libvirt driver's live migration with its WAN tuning; see migrate.h */
#include "migrate.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../spec/util.h"

struct mig_job {
	virDomainPtr dom;                /* its own reference (virDomainRef) */
	virTypedParameterPtr params;
	int nparams;
	unsigned int flags;
	char *dest;
	int result;
	char error[512];
	int done;
	bool abandoned;                  /* the poller gave up waiting: the thread frees the job */
	pthread_mutex_t mu;
};

static void mig_job_free(struct mig_job *j)
{
	virTypedParamsFree(j->params, j->nparams);
	virDomainFree(j->dom);
	free(j->dest);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static void *mig_thread(void *arg)
{
	struct mig_job *j = arg;
	int r = virDomainMigrateToURI3(j->dom, j->dest, j->params, (unsigned)j->nparams, j->flags);
	bool abandoned;

	pthread_mutex_lock(&j->mu);
	j->result = r;
	if (r < 0)
		snprintf(j->error, sizeof(j->error), "%s", virGetLastErrorMessage());
	j->done = 1;
	abandoned = j->abandoned;
	pthread_mutex_unlock(&j->mu);
	if (abandoned)
		mig_job_free(j);
	return NULL;
}

/*
 * The poller's own connection to the source.  The migration call holds its
 * connection for the whole job; libvirt 9.0's client, asked for something
 * else on that connection from a second thread meanwhile, can leave that
 * call waiting until the migration ends: virDomainGetJobStats always,
 * virDomainGetState in about one run of three once the switch to post-copy
 * is asked for (the switch then went unseen).  On a connection of its own
 * each call is answered at once.  NULL: cannot (the caller polls through
 * dom's connection, as before).
 */
static virDomainPtr poll_domain(virDomainPtr dom, const char *name, virConnectPtr *conn)
{
	char *uri = virConnectGetURI(virDomainGetConnect(dom));
	virDomainPtr d = NULL;

	*conn = uri ? virConnectOpen(uri) : NULL;
	free(uri);
	if (*conn && !(d = virDomainLookupByName(*conn, name))) {
		virConnectClose(*conn);
		*conn = NULL;
	}
	return d;
}

static void poll_close(virDomainPtr d, virConnectPtr conn)
{
	virDomainFree(d);
	if (conn)
		virConnectClose(conn);
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * The flags and parameters of the tuning (docs/migration.md "WAN tuning").
 * Fails, before anything starts, for what this libvirt cannot do.
 */
static int build_job(struct mig_job *j, virDomainPtr dom, const char *name,
		     const struct nc_migrate_tuning *t, const char *tls_host, struct nc_err *err)
{
	int maxp = 0;
	unsigned long ver = 0;

	j->flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
		   VIR_MIGRATE_UNDEFINE_SOURCE | VIR_MIGRATE_ABORT_ON_ERROR;
	if (t->copy_storage == NC_MIG_STORAGE_FULL)
		j->flags |= VIR_MIGRATE_NON_SHARED_DISK;
	else if (t->copy_storage == NC_MIG_STORAGE_INCREMENTAL)
		j->flags |= VIR_MIGRATE_NON_SHARED_INC;
	if (t->auto_converge)
		j->flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (t->tls)
		j->flags |= VIR_MIGRATE_TLS;
	if (t->postcopy)
		j->flags |= VIR_MIGRATE_POSTCOPY;
	virTypedParamsAddString(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_DEST_NAME, name);
	switch (t->compression) {
	case NC_MIG_COMPRESS_NONE:
		break;
	case NC_MIG_COMPRESS_XBZRLE:
		j->flags |= VIR_MIGRATE_COMPRESSED;
		virTypedParamsAddString(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_COMPRESSION, "xbzrle");
		break;
	case NC_MIG_COMPRESS_ZSTD:
	case NC_MIG_COMPRESS_ZLIB:
		/* multifd compression: libvirt 9.0 knows only xbzrle and mt (and its QEMU's
		 * multifd-compression, set behind its back, would not be set on the destination) */
		if (virConnectGetLibVersion(virDomainGetConnect(dom), &ver) < 0 ||
		    ver < NC_LV_MULTIFD_COMPRESSION_VERSION) {
			nc_err_set(err, "compression %s is multifd compression, which needs libvirt 9.4 or later; "
				   "the source host runs libvirt %lu.%lu.%lu: use compression xbzrle or none",
				   t->compression == NC_MIG_COMPRESS_ZSTD ? "zstd" : "zlib",
				   ver / 1000000, ver / 1000 % 1000, ver % 1000);
			return -1;
		}
		j->flags |= VIR_MIGRATE_COMPRESSED | VIR_MIGRATE_PARALLEL;
		virTypedParamsAddString(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_COMPRESSION,
					t->compression == NC_MIG_COMPRESS_ZSTD ? "zstd" : "zlib");
		break;
	}
	if (t->parallel) {
		j->flags |= VIR_MIGRATE_PARALLEL;
		virTypedParamsAddInt(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
				     (int)t->parallel);
	}
	if (t->tls && tls_host)
		virTypedParamsAddString(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_TLS_DESTINATION, tls_host);
	if (t->bandwidth_mib)
		virTypedParamsAddULLong(&j->params, &j->nparams, &maxp, VIR_MIGRATE_PARAM_BANDWIDTH,
					t->bandwidth_mib);
	return 0;
}

/*
 * "Not converging": the memory left to copy has not dropped below 90 % of its
 * lowest value so far for NC_MIGRATE_STALL seconds.  (From virDomainGetJobInfo:
 * virDomainGetJobStats, which has the pass number, blocked for the whole
 * migration in libvirt 9.0 when called on the migration's own connection;
 * see poll_domain.)
 */
#define NC_MIGRATE_STALL 5.0
struct converge {
	unsigned long long best;         /* lowest memory remaining seen (0: none yet) */
	double best_at;                  /* when it was seen */
};

static bool stalled(struct converge *cv, const virDomainJobInfo *ji, double now)
{
	if (ji->memTotal == 0 || ji->memProcessed == 0)
		return false;                /* the memory phase has not started (storage copy) */
	if (cv->best == 0 || ji->memRemaining * 10 < cv->best * 9) {
		cv->best = ji->memRemaining;
		cv->best_at = now;
		return false;
	}
	return now - cv->best_at >= NC_MIGRATE_STALL;
}

/*
 * After the timeout the job is aborted, and the abort asked again every
 * NC_MIGRATE_REABORT seconds: an abort that reaches libvirt while the job
 * is still being set up can be lost, and a migration that cannot converge
 * (a guest dirtying memory faster than the bandwidth allows) would then run
 * for ever.  NC_MIGRATE_GIVE_UP seconds after the timeout the wait ends
 * with an error: the thread is left to finish on its own, the apply goes on.
 */
#define NC_MIGRATE_REABORT 2.0
#define NC_MIGRATE_GIVE_UP 60.0

int nc_lv_live_migrate(virDomainPtr dom, const char *name, const struct nc_migrate_opts *o,
		       struct nc_err *err)
{
	const struct nc_migrate_tuning *t = &o->t;
	struct mig_job *j;
	struct converge cv = { 0, 0 };
	virConnectPtr pconn = NULL;
	virDomainPtr pd;
	pthread_t th;
	double t0 = mono(), last_t = t0, last_abort = 0, switched_at = 0;
	uint64_t last_rem = 0;
	bool aborted = false, timed_out = false, downtime_set = false, postcopy = false, asked = false;
	int st, reason;
	int result;

	j = nc_xcalloc(1, sizeof(*j));
	pthread_mutex_init(&j->mu, NULL);
	virDomainRef(dom);
	j->dom = dom;
	j->dest = nc_xstrdup(o->dest_uri);
	if (build_job(j, dom, name, t, o->tls_host, err) < 0) {
		mig_job_free(j);
		return -1;
	}
	if (!(pd = poll_domain(dom, name, &pconn))) {
		pd = dom;
		virDomainRef(dom);
	}
	/* before the migration starts, or its first pass already assumes the default */
	if (t->max_downtime_ms && virDomainMigrateSetMaxDowntime(pd, t->max_downtime_ms, 0) == 0)
		downtime_set = true;
	if (pthread_create(&th, NULL, mig_thread, j) != 0) {
		nc_err_set(err, "cannot start the migration thread");
		poll_close(pd, pconn);
		mig_job_free(j);
		return -1;
	}
	for (;;) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		virDomainJobInfo ji;
		double now;
		int done;
		bool have_ji;

		pthread_mutex_lock(&j->mu);
		done = j->done;
		pthread_mutex_unlock(&j->mu);
		if (done)
			break;
		if (t->max_downtime_ms && !downtime_set &&
		    virDomainMigrateSetMaxDowntime(pd, t->max_downtime_ms, 0) == 0)
			downtime_set = true;
		have_ji = (o->progress || t->postcopy_stalled) && virDomainGetJobInfo(pd, &ji) == 0 &&
			  ji.type != VIR_DOMAIN_JOB_NONE;
		if (o->progress && have_ji) {
			struct nc_migrate_progress p;

			now = mono();
			p.total = ji.dataTotal;
			p.remaining = ji.dataRemaining;
			p.elapsed = now - t0;
			p.postcopy = postcopy;
			p.speed = last_rem > p.remaining && now > last_t ?
				  (double)(last_rem - p.remaining) / (now - last_t) : 0;
			last_rem = p.remaining;
			last_t = now;
			o->progress(o->opaque, &p);
		}
		now = mono();
		/* the switch to post-copy: by time, or when the memory left stops shrinking;
		 * asked for, QEMU switches at the end of its current pass */
		if (t->postcopy && !asked && !timed_out &&
		    ((t->postcopy_after_ms && (now - t0) * 1000 >= t->postcopy_after_ms) ||
		     (t->postcopy_stalled && have_ji && stalled(&cv, &ji, now))) &&
		    virDomainMigrateStartPostCopy(pd, 0) == 0)
			asked = true;
		/* switched when the source is paused for post-copy: from then on the guest runs on
		 * the destination and the timeout no longer aborts (there is no going back) */
		if (asked && !postcopy && virDomainGetState(pd, &st, &reason, 0) == 0 &&
		    st == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_POSTCOPY) {
			postcopy = true;
			switched_at = now - t0;
			if (o->progress) {
				struct nc_migrate_progress p = { 0, 0, 0, switched_at, true };

				o->progress(o->opaque, &p);
			}
		}
		/* in post-copy the guest runs on the destination: there is no going back */
		if (!postcopy && t->timeout_ms && (now - t0) * 1000 >= t->timeout_ms) {
			timed_out = true;
			/* the job may not be registered yet when the time is up, or the abort may
			 * be lost while it is set up: keep asking */
			if (now - last_abort >= NC_MIGRATE_REABORT) {
				last_abort = now;
				if (virDomainAbortJob(pd) == 0)
					aborted = true;
			}
			if ((now - t0) - t->timeout_ms / 1000.0 >= NC_MIGRATE_GIVE_UP) {
				bool finished;

				pthread_mutex_lock(&j->mu);
				finished = j->done;
				if (!finished)
					j->abandoned = true;
				pthread_mutex_unlock(&j->mu);
				if (!finished) {
					pthread_detach(th);
					poll_close(pd, pconn);
					nc_err_set(err, "migration timed out after %.1f s and libvirt did not end it "
						   "within %.0f s of the abort; %s may still be migrating: see "
						   "`virsh domjobinfo %s` on the source",
						   t->timeout_ms / 1000.0, NC_MIGRATE_GIVE_UP, name, name);
					return -1;
				}
				break;
			}
		}
		nanosleep(&ts, NULL);
	}
	pthread_join(th, NULL);
	poll_close(pd, pconn);
	result = j->result;
	if (result < 0) {
		if (postcopy)
			nc_err_set(err, "migration failed in post-copy (switched after %.1f s): %s; %s is paused "
				   "(postcopy-failed) with its memory split between the hosts: when the link is "
				   "back, `virsh migrate --postcopy --postcopy-resume` finishes it; NovaCron does "
				   "not retry (docs/migration.md)", switched_at, j->error, name);
		else if (aborted || timed_out)
			nc_err_set(err, "migration timed out after %.1f s and was aborted; %s keeps running on the source",
				   t->timeout_ms / 1000.0, name);
		else
			nc_err_set(err, "migration failed: %s%s", j->error,
				   t->tls ? " (tls: each daemon needs its certificates in qemu.conf's "
					    "migrate_tls_x509_cert_dir)" : "");
	}
	mig_job_free(j);
	return result < 0 ? -1 : 0;
}
