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
 * "Not converging": the memory left to copy at the start of a pass over the
 * guest's RAM is not at least 10 % below what was left at the start of the
 * pass before, from the third pass on (the first copies everything, the second
 * what the guest dirtied meanwhile).
 */
struct converge {
	unsigned long long iteration;    /* the pass seen last */
	unsigned long long rem_prev;     /* remaining at the start of the pass before */
	unsigned long long rem_cur;      /* remaining at the start of the current pass */
};

static bool stalled(struct converge *cv, virDomainPtr dom)
{
	virTypedParameterPtr par = NULL;
	int npar = 0, type;
	unsigned long long it = 0, rem = 0;
	bool ret = false;

	if (virDomainGetJobStats(dom, &type, &par, &npar, 0) < 0)
		return false;
	if (virTypedParamsGetULLong(par, npar, VIR_DOMAIN_JOB_MEMORY_ITERATION, &it) == 1 &&
	    virTypedParamsGetULLong(par, npar, VIR_DOMAIN_JOB_MEMORY_REMAINING, &rem) == 1 &&
	    it > cv->iteration) {
		cv->iteration = it;
		cv->rem_prev = cv->rem_cur;
		cv->rem_cur = rem;
		ret = it >= 3 && cv->rem_prev && cv->rem_cur * 10 > cv->rem_prev * 9;
	}
	virTypedParamsFree(par, npar);
	return ret;
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
	struct converge cv = { 0, 0, 0 };
	pthread_t th;
	double t0 = mono(), last_t = t0, last_abort = 0, switched_at = 0;
	uint64_t last_rem = 0;
	bool aborted = false, timed_out = false, downtime_set = false, postcopy = false;
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
	/* before the migration starts, or its first pass already assumes the default */
	if (t->max_downtime_ms && virDomainMigrateSetMaxDowntime(dom, t->max_downtime_ms, 0) == 0)
		downtime_set = true;
	if (pthread_create(&th, NULL, mig_thread, j) != 0) {
		nc_err_set(err, "cannot start the migration thread");
		mig_job_free(j);
		return -1;
	}
	for (;;) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		virDomainJobInfo ji;
		double now;
		int done;

		pthread_mutex_lock(&j->mu);
		done = j->done;
		pthread_mutex_unlock(&j->mu);
		if (done)
			break;
		if (t->max_downtime_ms && !downtime_set &&
		    virDomainMigrateSetMaxDowntime(dom, t->max_downtime_ms, 0) == 0)
			downtime_set = true;
		if (o->progress && virDomainGetJobInfo(dom, &ji) == 0 && ji.type != VIR_DOMAIN_JOB_NONE) {
			struct nc_migrate_progress p;

			now = mono();
			p.total = ji.dataTotal;
			p.remaining = ji.dataRemaining;
			p.elapsed = now - t0;
			p.speed = last_rem > p.remaining && now > last_t ?
				  (double)(last_rem - p.remaining) / (now - last_t) : 0;
			last_rem = p.remaining;
			last_t = now;
			o->progress(o->opaque, &p);
		}
		now = mono();
		/* the switch to post-copy: by time, or when the passes stop shrinking */
		if (t->postcopy && !postcopy && !timed_out &&
		    ((t->postcopy_after_ms && (now - t0) * 1000 >= t->postcopy_after_ms) ||
		     (t->postcopy_stalled && stalled(&cv, dom))) &&
		    virDomainMigrateStartPostCopy(dom, 0) == 0) {
			postcopy = true;
			switched_at = now - t0;
		}
		/* in post-copy the guest runs on the destination: there is no going back */
		if (!postcopy && t->timeout_ms && (now - t0) * 1000 >= t->timeout_ms) {
			timed_out = true;
			/* the job may not be registered yet when the time is up, or the abort may
			 * be lost while it is set up: keep asking */
			if (now - last_abort >= NC_MIGRATE_REABORT) {
				last_abort = now;
				if (virDomainAbortJob(dom) == 0)
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
