/*
 * apply.c - run a plan's actions in order.
 *
 * Every action looks at the domain again before it acts (invariant 4): a
 * create finds a managed domain of its VM already there and redefines it
 * instead of failing or duplicating; a delete of a domain that is gone is
 * done; start and stop are no-ops when the domain is already in that state.
 * After each action the host commits (a simulated host writes its state
 * file), so a pass killed between actions leaves a cluster that the next
 * pass converges.  An action whose prerequisite failed is skipped; others go
 * on.  Progress lines go to `progress`, one per action, with its duration.
 *
 * Migrations run side by side, at most max_migrations in the cluster and
 * max_migrations_per_host touching any one host (as source or destination);
 * a live migration reports the data left and the speed as it goes.
 */
#include "pass.h"
#include "secrets.h"
#include "volumes.h"
#include "tiering.h"
#include "xmigrate.h"
#include "../drivers/network/network.h"
#include "images.h"
#include "ha.h"
#include "history.h"
#include "snapshots.h"
#include "migtune.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum result { R_DONE, R_FAILED, R_SKIPPED };

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Looks the domain up; 1 found (managed by this VM), 0 absent, -1 error. */
static int recheck(struct nc_host_conn *conn, const struct nc_action *a, struct nc_domain *d,
		   struct nc_err *err)
{
	int r = conn->drv->lookup(conn, a->vm, d, err);

	if (r <= 0)
		return r;
	if (!d->managed) {
		nc_err_set(err, "domain %s is not managed by NovaCron: not touched", a->vm);
		nc_domain_release(d);
		return -1;
	}
	return 1;
}

struct mig_ctx {
	pthread_mutex_t *mu;
	FILE *progress;
	const struct nc_action *a;
	double last;
	bool postcopy;       /* the switch to post-copy was reported */
};

static void mig_progress(void *opaque, const struct nc_migrate_progress *p)
{
	struct mig_ctx *m = opaque;
	char rem[32], tot[32], sp[32];

	if (m->progress && p->postcopy && !m->postcopy) {
		m->postcopy = true;
		pthread_mutex_lock(m->mu);
		fprintf(m->progress, "      #%d %s: switched to post-copy after %.1fs: it runs on the destination now\n",
			m->a->id, m->a->vm, p->elapsed);
		fflush(m->progress);
		pthread_mutex_unlock(m->mu);
	}
	/* libvirt reports nothing while the destination QEMU starts */
	if (!m->progress || p->elapsed - m->last < 1.0 || !p->total)
		return;
	m->last = p->elapsed;
	nc_size_format(p->remaining / 1048576 * 1048576, rem, sizeof(rem));
	nc_size_format(p->total / 1048576 * 1048576, tot, sizeof(tot));
	nc_size_format((uint64_t)p->speed / 1048576 * 1048576, sp, sizeof(sp));
	pthread_mutex_lock(m->mu);
	fprintf(m->progress, "      #%d %s: %s of %s left, %s/s, %.0fs\n", m->a->id, m->a->vm, rem, tot, sp,
		p->elapsed);
	fflush(m->progress);
	pthread_mutex_unlock(m->mu);
}

/* the running domain d already has the seed's CD-ROM (a new one waits for a restart) */
static bool has_cdrom(const struct nc_domain *d, const struct nc_seed_def *s)
{
	size_t i;

	for (i = 0; i < d->ncdroms; i++)
		if (d->cdroms[i].target && strcmp(d->cdroms[i].target, s->target) == 0 &&
		    d->cdroms[i].source && strcmp(d->cdroms[i].source, s->source) == 0)
			return true;
	return false;
}

/* the definition the plan wants for vm (NULL: none, e.g. a pruned domain) */
static const struct nc_domain_def *desired_def(const struct nc_plan *p, const char *vm)
{
	size_t i;

	for (i = 0; i < p->ndesired; i++)
		if (strcmp(p->desired[i].def.name, vm) == 0)
			return &p->desired[i].def;
	return NULL;
}

/* progress of a cold migration's volume copy, as migration progress */
struct copy_ctx {
	const struct nc_migrate_opts *mo;
	double t0, last_t;
	uint64_t last_done;
	double speed;
};

static void copy_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct copy_ctx *cc = opaque;
	struct nc_migrate_progress mp = { 0 };
	double t = now();

	if (!cc->mo->progress)
		return;
	if (t - cc->last_t >= 0.5) {
		cc->speed = (double)(done - cc->last_done) / (t - cc->last_t);
		cc->last_t = t;
		cc->last_done = done;
	}
	mp.total = total > done ? total : done;
	mp.remaining = mp.total - done;
	mp.elapsed = t - cc->t0;
	mp.speed = cc->speed;
	cc->mo->progress(cc->mo->opaque, &mp);
}

static int commit_both(struct nc_host_conn *src, struct nc_host_conn *dst, int ret, struct nc_err *err)
{
	if (src->drv->commit) {
		struct nc_err e1 = { "" }, e2 = { "" };

		if (src->drv->commit(src, &e1) < 0 && !ret) {
			*err = e1;
			ret = -1;
		}
		if (dst->drv->commit(dst, &e2) < 0 && !ret) {
			*err = e2;
			ret = -1;
		}
	}
	return ret;
}

/* appends "; and removing the copies failed: ..." when undoing a copy fails */
static void undo_copies(struct nc_host_conn *dst, const struct nc_volumes_move *mv, struct nc_err *err)
{
	struct nc_err e = { "" };

	if (nc_volumes_copy_undo(dst, mv, &e) < 0)
		nc_err_append(err, "; and removing the copies failed: %s", e.msg);
}

/*
 * A live migration with migration.copyStorage: libvirt copies the local
 * disks into volumes it makes on the destination, but only inside a pool
 * defined there, which a host has only once NovaCron made a volume in it.
 * So the destination gets empty volumes of the source's size first.  A
 * volume the destination has already is refused: in a directory both hosts
 * see, the disk would be copied onto itself.  made[i] says which volumes
 * were made here (removed again when the migration fails).
 */
static int live_copy_prepare(struct nc_local_vol *lv, size_t n, bool *made, struct nc_host_conn *src,
			     struct nc_host_conn *dst, const char *dname, bool incremental, struct nc_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct nc_volume sv, dv;
		int r;

		memset(&sv, 0, sizeof(sv));
		memset(&dv, 0, sizeof(dv));
		if (nc_vol_info(src, &lv[i].pd, lv[i].vol, &sv, err) < 0)
			return -1;
		r = !sv.exists ? 0 : nc_vol_info(dst, &lv[i].pd, lv[i].vol, &dv, err);
		if (r == 0 && sv.exists && dv.exists) {
			nc_err_set(err, "%s already has volume %s/%s (a directory both hosts see, or a leftover): "
				   "copyStorage would copy the disk onto it; remove it there, or set "
				   "migration.copyStorage: none for shared storage", dname, lv[i].pd.name, lv[i].vol);
			r = -1;
		}
		if (r == 0 && sv.exists) {
			/* incremental (VIR_MIGRATE_NON_SHARED_INC): QEMU copies the top image only,
			 * onto an overlay of the same base, which must be there already */
			r = nc_vol_create(dst, &lv[i].pd, lv[i].vol, sv.capacity,
					  incremental ? sv.backing : NULL, err);
			made[i] = r == 0;
		}
		nc_volume_release(&sv);
		nc_volume_release(&dv);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* removes the volumes live_copy_prepare made (the migration failed); appends to err */
static void live_copy_undo(struct nc_local_vol *lv, size_t n, const bool *made, struct nc_host_conn *dst,
			   struct nc_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct nc_err e = { "" };

		if (made[i] && nc_vol_delete(dst, &lv[i].pd, lv[i].vol, &e) < 0)
			nc_err_append(err, "; and removing %s there failed: %s", lv[i].vol, e.msg);
	}
}

/*
 * A migration.  A cold one (the domain is shut off) first copies the VM's
 * local volumes (dir pools) to the destination (volumes.h), then moves the
 * definition, checks the domain is there, and removes the source volumes.
 * When the copy or the move fails, what was made on the destination is
 * removed and the VM stays defined on the source with its disks, so the
 * next pass tries again.
 */
static int run_migrate(const struct nc_plan *p, const struct nc_action *a, struct nc_cluster *c,
		       struct nc_migrate_opts *mo, struct nc_err *err)
{
	const struct nc_domain_def *want = desired_def(p, a->vm);
	struct nc_host_conn *src = c->hosts[a->host].conn, *dst = c->hosts[a->target].conn;
	const struct nc_host *dh = c->hosts[a->target].spec;
	struct nc_volumes_move mv;
	struct nc_domain d;
	struct nc_local_vol *live = NULL;    /* live + copyStorage: the local volumes */
	size_t nlive = 0;
	bool *live_made = NULL;
	int found, ret = 0;
	bool copying = false;

	memset(&d, 0, sizeof(d));
	memset(&mv, 0, sizeof(mv));
	if (!src) {
		nc_err_set(err, "source %s is not connected", c->hosts[a->host].spec->obj.meta.name.v);
		return -1;
	}
	if (!dst) {
		nc_err_set(err, "destination %s is not connected", dh->obj.meta.name.v);
		return -1;
	}
	/* already moved by an earlier, interrupted pass? */
	found = recheck(dst, a, &d, err);
	if (found < 0)
		return -1;
	if (found) {
		nc_domain_release(&d);
		found = recheck(src, a, &d, err);
		if (found > 0) {
			nc_domain_release(&d);
			nc_err_set(err, "%s is defined on both %s and %s; resolve by hand", a->vm,
				   c->hosts[a->host].spec->obj.meta.name.v, dh->obj.meta.name.v);
			return -1;
		}
		if (found < 0)
			return -1;
		/* cut short before the source volumes were removed */
		ret = nc_volumes_drop_leftovers(src, dst, p->spec, a->vmref, a->vm, err);
		return commit_both(src, dst, ret, err);
	}
	found = recheck(src, a, &d, err);
	if (found <= 0) {
		if (!found)
			nc_err_set(err, "%s is on neither host", a->vm);
		return -1;
	}
	mo->live = a->live && d.state == NC_DOM_RUNNING;
	/* the spec's migrationUri (or uri) with the operator's connections applied */
	mo->dest_uri = c->hosts[a->target].migration_uri;
	if (!mo->dest_uri) {
		nc_domain_release(&d);
		nc_err_set(err, "the migration URI of %s was refused (see novacron validate)", dh->obj.meta.name.v);
		return -1;
	}
	if (!mo->live) {
		struct nc_local_vol *lv;
		size_t n = nc_volumes_local(&lv, p->spec, a->vmref, a->vm);

		nc_volumes_local_free(lv, n);
		copying = n > 0;
		if (copying && d.state != NC_DOM_SHUTOFF) {
			nc_err_set(err, "%s is %s: a cold migration copies its disks only when it is shut off",
				   a->vm, nc_dom_state_name(d.state));
			nc_domain_release(&d);
			return -1;
		}
	}
	/* libvirt's storage copy takes every file disk: one on a share both hosts mount would be
	 * copied onto itself while the guest writes it */
	if (mo->live && mo->t.copy_storage != NC_MIG_STORAGE_NONE && nc_volumes_netfs_disk(p->spec, a->vmref)) {
		nc_err_set(err, "disk %s of %s is in a netfs pool, which both hosts mount: migration.copyStorage would "
			   "copy it onto itself; set copyStorage: none (nothing to copy on shared storage)",
			   nc_volumes_netfs_disk(p->spec, a->vmref), a->vm);
		nc_domain_release(&d);
		return -1;
	}
	/* netfs disks: the destination mounts the same share and sees them (volumes.h) */
	if (nc_volumes_shared_check(dst, p->spec, a->vmref, a->vm, dh->obj.meta.name.v, err) < 0) {
		nc_domain_release(&d);
		return -1;
	}
	if (mo->live && mo->t.copy_storage != NC_MIG_STORAGE_NONE) {
		nlive = nc_volumes_local(&live, p->spec, a->vmref, a->vm);
		live_made = nc_xcalloc(nlive + 1, sizeof(*live_made));
		if (live_copy_prepare(live, nlive, live_made, src, dst, dh->obj.meta.name.v,
				      mo->t.copy_storage == NC_MIG_STORAGE_INCREMENTAL, err) < 0)
			ret = -1;
	}
	if (copying) {
		struct copy_ctx cc = { mo, now(), now(), 0, 0 };

		if (nc_volumes_copy(&mv, src, dst, p->spec, a->vmref, a->vm, copy_progress, &cc, err) < 0) {
			nc_domain_release(&d);
			return commit_both(src, dst, -1, err);
		}
	}
	/*
	 * The cloud-init seed must be on the destination before QEMU starts
	 * there.  A dir pool is the host's own: its seed is written again (an
	 * old one left there by an earlier stay may hold other content) and the
	 * source's is deleted once the domain has moved; an rbd pool is shared
	 * by both hosts, so its seed is only put there when missing.
	 */
	if (!ret && want && want->seed &&
	    nc_seed_ensure(dst, p->spec, want, strcmp(want->seed->type, "file") == 0, err) < 0)
		ret = -1;
	if (!ret) {
		char *tls_host = mo->t.tls ? nc_migtune_tls_host(dh) : NULL;

		mo->tls_host = tls_host;
		if (src->drv->migrate(src, dst, a->vm, mo, err) < 0)
			ret = -1;
		mo->tls_host = NULL;
		free(tls_host);
	}
	if (ret && copying)
		undo_copies(dst, &mv, err);
	if (ret && live_made)
		live_copy_undo(live, nlive, live_made, dst, err);
	if (!ret && live_made) {
		/* it runs on the destination from its copies: the source's are left over */
		struct nc_domain moved;
		size_t i;

		memset(&moved, 0, sizeof(moved));
		found = recheck(dst, a, &moved, err);
		if (found > 0)
			nc_domain_release(&moved);
		for (i = 0; found > 0 && i < nlive; i++) {
			if (live_made[i] && nc_vol_delete(src, &live[i].pd, live[i].vol, err) < 0) {
				char m[sizeof(err->msg)];

				snprintf(m, sizeof(m), "%s", err->msg);
				nc_err_set(err, "moved to %s, but the source volume %s was not removed: %s",
					   dh->obj.meta.name.v, live[i].vol, m);
				ret = -1;
				break;
			}
		}
		if (found == 0)
			nc_err_set(err, "%s is not on %s after the move", a->vm, dh->obj.meta.name.v);
		if (found <= 0)
			ret = -1;
	}
	nc_volumes_local_free(live, nlive);
	free(live_made);
	if (!ret && copying) {
		/* the domain is defined on the destination: its disks live there now */
		struct nc_domain moved;

		memset(&moved, 0, sizeof(moved));
		found = recheck(dst, a, &moved, err);
		if (found > 0)
			nc_domain_release(&moved);
		if (found == 0)
			nc_err_set(err, "%s is not on %s after the move", a->vm, dh->obj.meta.name.v);
		if (found <= 0) {
			ret = -1;
		} else if (nc_volumes_copy_finish(src, dst, &mv, err) < 0) {
			char m[sizeof(err->msg)];

			snprintf(m, sizeof(m), "%s", err->msg);
			nc_err_set(err, "moved to %s, but the source volumes were not all removed: %s",
				   dh->obj.meta.name.v, m);
			ret = -1;
		}
	}
	nc_volumes_move_release(&mv);
	if (!ret && want && want->seed && strcmp(want->seed->type, "file") == 0 &&
	    nc_seed_delete(src, p->spec, &d, NULL, false, err) < 0)
		ret = -1;
	nc_domain_release(&d);
	if (!ret && a->start_after && dst->drv->start(dst, a->vm, err) < 0)
		ret = -1;
	/* both hosts changed (or may have, after a failure) */
	return commit_both(src, dst, ret, err);
}

/* domains on the host that use network `name`, for a delete's last check */
static int net_users(struct nc_host_conn *conn, const char *name, char *who, size_t len, struct nc_err *err)
{
	struct nc_observed_host h;
	size_t i, j;
	int n = 0;

	if (conn->drv->observe(conn, &h, err) < 0)
		return -1;
	who[0] = '\0';
	for (i = 0; i < h.ndoms; i++)
		for (j = 0; j < h.doms[i].nnics; j++)
			if (h.doms[i].nics[j].type && strcmp(h.doms[i].nics[j].type, "network") == 0 &&
			    h.doms[i].nics[j].source && strcmp(h.doms[i].nics[j].source, name) == 0) {
				if (!n++)
					snprintf(who, len, "%s", h.doms[i].name);
				break;
			}
	nc_observed_host_release(&h);
	return n;
}

/*
 * A network action, re-checked against the host first: a create finds a
 * network an interrupted pass defined and carries on (starts it); an update
 * of a network that is gone defines it again; a delete of a missing one is
 * done.  An unmanaged network of that name is never touched.
 */
static int run_network(const struct nc_action *a, struct nc_host_conn *conn, struct nc_err *err)
{
	const struct nc_net_def *want = a->net ? a->net->def : NULL;
	struct nc_net_obs o;
	int found, ret = -1;
	size_t changed = 0;

	memset(&o, 0, sizeof(o));
	found = nc_net_lookup(conn, a->vm, &o, err);
	if (found < 0)
		return -1;
	if (found && !o.managed) {
		nc_err_set(err, "network %s is not managed by NovaCron: not touched", a->vm);
		goto out;
	}
	switch (a->kind) {
	case NC_ACT_CREATE:
	case NC_ACT_UPDATE:
	case NC_ACT_START:
		if (!want) {
			nc_err_set(err, "no definition for network %s", a->vm);
			goto out;
		}
		/* entries of the running network first: the definition written next has them too */
		if (found && o.active && !a->restart && a->live_entries &&
		    nc_net_update_live(conn, a->vm, &o.live, want, &changed, err) < 0)
			goto out;
		if ((!found || a->redefine || (a->restart && a->kind == NC_ACT_UPDATE)) && nc_net_define(conn, want, err) < 0)
			goto out;
		if (nc_net_start(conn, a->vm, found && o.active && a->restart, err) < 0)
			goto out;
		if ((!found || a->autostart || o.autostart != want->autostart) &&
		    nc_net_set_autostart(conn, a->vm, want->autostart, err) < 0)
			goto out;
		ret = 0;
		break;
	case NC_ACT_DELETE: {
		char who[256];
		int n;

		if (!found) {
			ret = 0;
			break;
		}
		n = net_users(conn, a->vm, who, sizeof(who), err);
		if (n < 0)
			goto out;
		if (n) {
			nc_err_set(err, "network %s is used by %s%s: not deleted", a->vm, who, n > 1 ? " and others" : "");
			goto out;
		}
		ret = nc_net_delete(conn, a->vm, err);
		break;
	}
	default:
		nc_err_set(err, "%s is not an action on a network", nc_action_name(a->kind));
		break;
	}
out:
	nc_net_obs_release(&o);
	return ret;
}

/* an rbd pool's libvirt secret: the key is read again here, set, and wiped */
static int run_secret(const struct nc_plan *p, const struct nc_action *a, struct nc_host_conn *conn,
		      struct nc_err *err)
{
	const struct nc_pool *pool = (const struct nc_pool *)nc_spec_find(p->spec, NC_KIND_STORAGE_POOL, a->vm);
	struct nc_ceph_secret sec;
	struct nc_secret_def def;
	char *msg = NULL;
	int ret = -1;

	if (!pool || !NC_IS_SET(pool->spec.rbd.key_file)) {
		nc_err_set(err, "StoragePool %s has no rbd.keyFile any more", a->vm);
		return -1;
	}
	if (!conn->drv->secret_define) {
		nc_err_set(err, "this host's driver cannot hold secrets");
		return -1;
	}
	nc_ceph_secret_init(&sec, pool);
	if (nc_ceph_secret_load(&sec, pool, &msg) < 0) {
		nc_err_set(err, "%s", msg);
		free(msg);
		goto out;
	}
	def.uuid = sec.uuid;
	def.usage = sec.usage;
	def.description = sec.description;
	def.value = sec.value;
	def.len = sec.len;
	ret = conn->drv->secret_define(conn, &def, err);
out:
	nc_ceph_secret_release(&sec);
	return ret;
}

/*
 * adopt (docs/adopt.md): the domain, still unmanaged, gets NovaCron's
 * metadata and nothing else; a pass cut short and run again finds it
 * managed (a no-op).  The spec's hash is written only when the domain
 * matched it in every field a plan compares; otherwise a placeholder, so
 * the next plan redefines it from the spec.
 */
static int run_adopt(const struct nc_action *a, struct nc_host_conn *conn, struct nc_err *err)
{
	struct nc_domain d;
	struct nc_domain_def def;
	int r;

	if (!conn->drv->set_meta) {
		nc_err_set(err, "this host's driver cannot adopt domains");
		return -1;
	}
	memset(&d, 0, sizeof(d));
	r = conn->drv->lookup(conn, a->vm, &d, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		nc_err_set(err, "domain %s disappeared since the plan was made", a->vm);
		return -1;
	}
	if (d.managed) {
		r = strcmp(d.meta_vm, a->vm) == 0 ? 0 : -1;
		if (r < 0)
			nc_err_set(err, "domain %s is now managed as VM %s: not adopted", a->vm, d.meta_vm);
		nc_domain_release(&d);
		return r;
	}
	nc_domain_release(&d);
	def = a->desired->def;
	if (a->nchanges || def.seed || def.kernel)
		def.meta_hash = "adopted";
	return conn->drv->set_meta(conn, a->vm, &def, err);
}

static int run_action(const struct nc_plan *p, const struct nc_action *a, struct nc_host_conn *conn,
		      const char *host_name, const struct nc_plan_opts *opts, struct nc_err *err)
{
	const struct nc_host_driver *drv = conn->drv;
	unsigned timeout = opts->shutdown_timeout_ms ? opts->shutdown_timeout_ms : 60000;
	struct nc_domain d;
	struct nc_domain_def def;
	int found, ret = 0;

	if (a->obj == NC_OBJ_SECRET)
		return run_secret(p, a, conn, err);
	if (a->obj == NC_OBJ_SNAPSHOT) {
		ret = nc_snapshot_run(a, conn, err);
		goto commit;
	}
	memset(&d, 0, sizeof(d));
	memset(&def, 0, sizeof(def));
	if (a->obj == NC_OBJ_NETWORK) {
		ret = run_network(a, conn, err);
		goto commit;
	}
	if (a->kind == NC_ACT_ADOPT) {
		ret = run_adopt(a, conn, err);
		goto commit;
	}
	found = recheck(conn, a, &d, err);
	/* HA: the copy left behind here is started again in place of those on the fenced
	 * hosts (plan.c ha_takeover): recorded first, as a recovery onto this host is */
	if (found >= 0 && a->nfailed_hosts && (a->kind == NC_ACT_START || a->kind == NC_ACT_UPDATE) &&
	    (!opts->ha_state_dir ||
	     nc_ha_mark_recovered(opts->ha_state_dir, a->failed_hosts, a->nfailed_hosts, a->vm, host_name, err) < 0)) {
		if (!opts->ha_state_dir)
			nc_err_set(err, "no state directory to record the takeover in: not started");
		if (found > 0)
			nc_domain_release(&d);
		return -1;
	}
	if (found < 0)
		return -1;
	if (a->desired) {
		def = a->desired->def;
		def.uuid = found ? d.uuid : NULL;   /* keep the domain's identity */
	}
	switch (a->kind) {
	case NC_ACT_CREATE:
		/* a previous pass may have defined it before being cut short */
		if (nc_volumes_ensure(conn, p->spec, a->vmref, &def, found && d.state == NC_DOM_RUNNING, err) < 0 ||
		    nc_seed_ensure(conn, p->spec, &def, true, err) < 0 ||
		    drv->define(conn, &def, err) < 0 ||
		    (a->start_after && drv->start(conn, a->vm, err) < 0))
			ret = -1;
		break;
	case NC_ACT_RECOVER:
		/* HA (docs/ha.md): on the disks the failed host used (none made anew); recorded
		 * before the define, so a pass cut short still knows the copy left behind */
		if (!opts->ha_state_dir) {
			nc_err_set(err, "no state directory to record the restart in: not restarted");
			ret = -1;
		} else if (nc_volumes_ensure_existing(conn, p->spec, a->vmref, &def, found && d.state == NC_DOM_RUNNING,
						      err) < 0 ||
			   nc_ha_mark_recovered(opts->ha_state_dir, a->failed_hosts, a->nfailed_hosts, a->vm, host_name,
						err) < 0 ||
			   nc_seed_ensure(conn, p->spec, &def, false, err) < 0 ||
			   drv->define(conn, &def, err) < 0 ||
			   (a->start_after && drv->start(conn, a->vm, err) < 0)) {
			ret = -1;
		}
		break;
	case NC_ACT_UPDATE:
		if (!found) {
			nc_err_set(err, "domain %s disappeared since the plan was made", a->vm);
			ret = -1;
			break;
		}
		if (a->replace) {
			/* --replace (docs/plan.md): shut down, undefine, define anew without the old
			 * UUID (libvirt gives a new one), start; the volumes are found and kept.  Cut
			 * short after the undefine, the next plan creates it again on the same disks. */
			def.uuid = NULL;
			if ((d.state == NC_DOM_RUNNING && drv->shutdown(conn, a->vm, timeout, err) < 0) ||
			    drv->undefine(conn, a->vm, err) < 0 ||
			    nc_volumes_ensure(conn, p->spec, a->vmref, &def, false, err) < 0 ||
			    nc_seed_ensure(conn, p->spec, &def, true, err) < 0 ||
			    drv->define(conn, &def, err) < 0 ||
			    (a->start_after && drv->start(conn, a->vm, err) < 0))
				ret = -1;
			break;
		}
		/* HA: a guest whose rbd client was fenced cannot write: no graceful shutdown */
		if (a->restart && d.state == NC_DOM_RUNNING &&
		    drv->shutdown(conn, a->vm, a->ha_restart ? 1 : timeout, err) < 0) {
			ret = -1;
			break;
		}
		if (nc_volumes_ensure(conn, p->spec, a->vmref, &def,
				      d.state == NC_DOM_RUNNING && !a->restart, err) < 0) {
			ret = -1;
			break;
		}
		/* the seed before the definition that records its content: a pass cut
		 * short in between shows the change again, and uploads it again */
		if (nc_seed_ensure(conn, p->spec, &def, a->seed_upload, err) < 0) {
			ret = -1;
			break;
		}
		if (a->redefine && drv->define(conn, &def, err) < 0) {
			ret = -1;
			break;
		}
		if (nc_seed_delete(conn, p->spec, &d, def.seed, d.state == NC_DOM_RUNNING && !a->restart, err) < 0) {
			ret = -1;
			break;
		}
		/* a running guest that keeps its CD-ROM sees the new seed at its next boot */
		if (a->seed_upload && def.seed && d.state == NC_DOM_RUNNING && !a->restart && drv->change_media &&
		    has_cdrom(&d, def.seed) && drv->change_media(conn, a->vm, def.seed, err) < 0) {
			ret = -1;
			break;
		}
		if (!a->restart && a->live_memory && d.state == NC_DOM_RUNNING &&
		    drv->set_live(conn, a->vm, 0, def.memory, err) < 0) {
			ret = -1;
			break;
		}
		if ((a->restart || a->start_after) && drv->start(conn, a->vm, err) < 0)
			ret = -1;
		break;
	case NC_ACT_START:
		if (!found) {
			nc_err_set(err, "domain %s disappeared since the plan was made", a->vm);
			ret = -1;
		} else if (drv->start(conn, a->vm, err) < 0) {
			ret = -1;
		}
		break;
	case NC_ACT_STOP:
		if (found && drv->shutdown(conn, a->vm, timeout, err) < 0)
			ret = -1;
		break;
	case NC_ACT_DELETE:
		if (found && drv->undefine(conn, a->vm, err) < 0)
			ret = -1;
		else if (a->stale) {
			/* a stale copy: its disks and seed are the restarted copy's */
		} else if (found && d.meta_delete_disks && nc_volumes_delete(conn, p->spec, &d, err) < 0)
			ret = -1;
		else if (found && nc_seed_delete(conn, p->spec, &d, NULL, false, err) < 0)
			ret = -1;
		break;
	case NC_ACT_MOVE_VOLUME:
		if (!found) {
			nc_err_set(err, "domain %s disappeared since the plan was made", a->vm);
			ret = -1;
		} else {
			ret = nc_tier_run(p, a, conn, &d, &def, err);
		}
		break;
	case NC_ACT_MIGRATE:
	case NC_ACT_UPLOAD:
	case NC_ACT_ADOPT:
		ret = -1;    /* run_adopt(), run_migrate() and run_uploads() handle these */
		break;
	}
	nc_domain_release(&d);
commit:
	/* commit what was done, even after a failure part-way */
	if (drv->commit) {
		struct nc_err cerr = { "" };

		if (drv->commit(conn, &cerr) < 0 && ret == 0) {
			*err = cerr;
			ret = -1;
		}
	}
	return ret;
}

struct runner {
	const struct nc_plan *p;
	struct nc_cluster *c;
	const struct nc_plan_opts *opts;
	FILE *progress;
	int color;
	enum result *res;
	int *state;              /* migrations: 0 waiting, 1 running, 2 finished */
	unsigned *per_host;      /* migrations touching each host now */
	unsigned running, max, max_host;
	size_t first, last;      /* the migrations of the plan: [first, last) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct nc_apply_result *out;
	int *gate;               /* ordering: each spec VM's health gate: 0 not checked, 1 passed, -1 failed */
	char **gate_why;         /* why a gate failed, by spec VM */
};

static const char *ok_color(int color, enum result r)
{
	if (!color)
		return "";
	return r == R_DONE ? "\033[32m" : r == R_FAILED ? "\033[31m" : "\033[33m";
}

static void report(struct runner *r, size_t i, enum result res, const char *msg, double secs)
{
	const struct nc_action *a = &r->p->actions[i];

	r->res[i] = res;
	r->out->by_kind[a->kind][res]++;
	if (res == R_DONE)
		r->out->done++;
	else if (res == R_FAILED)
		r->out->failed++;
	else
		r->out->skipped++;
	if (!r->progress)
		return;
	fprintf(r->progress, "[%zu/%zu] %s %s%s%s", i + 1, r->p->nactions, a->replace ? "replace" : nc_action_name(a->kind),
		a->obj ? nc_object_kind_name(a->obj) : "", a->obj ? " " : "", a->vm);
	if (a->kind == NC_ACT_MIGRATE)
		fprintf(r->progress, " %s -> %s (%s)", r->c->hosts[a->host].spec->obj.meta.name.v,
			r->c->hosts[a->target].spec->obj.meta.name.v,
			a->xmove ? nc_xmove_method_name(a->xmove->method) : a->live ? "live" : "cold");
	else
		fprintf(r->progress, " on %s", r->c->hosts[a->host].spec->obj.meta.name.v);
	if (a->pool)
		fprintf(r->progress, " into pool %s", a->pool);
	fprintf(r->progress, " ... %s%s%s", ok_color(r->color, res),
		res == R_DONE ? "done" : res == R_FAILED ? "failed" : "skipped", r->color ? "\033[0m" : "");
	if (res == R_DONE)
		fprintf(r->progress, " (%.2fs)\n", secs);
	else
		fprintf(r->progress, ": %s\n", msg);
	fflush(r->progress);
}

/* 0 ready, 1 must wait, -1 a prerequisite did not complete */
static int deps_state(const struct runner *r, const struct nc_action *a)
{
	size_t j;
	int st = 0;

	for (j = 0; j < a->nafter; j++) {
		size_t d = (size_t)a->after[j] - 1;

		if (d >= r->first && d < r->last && r->state[d - r->first] != 2)
			st = 1;
		else if (r->res[d] != R_DONE && (d < r->first || d >= r->last || r->state[d - r->first] == 2))
			return -1;
	}
	return st;
}

static void *mig_worker(void *arg)
{
	struct runner *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		size_t i, pick = r->last;
		bool waiting = false;

		for (i = r->first; i < r->last; i++) {
			const struct nc_action *a = &r->p->actions[i];
			int ds;

			if (r->state[i - r->first] != 0)
				continue;
			waiting = true;
			if (r->opts->cancel && *r->opts->cancel) {
				r->state[i - r->first] = 2;
				report(r, i, R_SKIPPED, "stopping", 0);
				continue;
			}
			ds = deps_state(r, a);
			if (ds < 0) {
				r->state[i - r->first] = 2;
				report(r, i, R_SKIPPED, "an action it waits for did not complete", 0);
				pthread_cond_broadcast(&r->cv);
				continue;
			}
			if (ds == 0 && r->running < r->max && r->per_host[a->host] < r->max_host &&
			    r->per_host[a->target] < r->max_host) {
				pick = i;
				break;
			}
		}
		if (pick == r->last) {
			if (!waiting)
				break;
			pthread_cond_wait(&r->cv, &r->mu);
			continue;
		}
		{
			const struct nc_action *a = &r->p->actions[pick];
			struct nc_migrate_opts mo;
			struct mig_ctx mc = { &r->mu, r->progress, a, 0, false };
			struct nc_err err = { "" };
			double t0 = now();
			int rc;

			r->state[pick - r->first] = 1;
			r->running++;
			r->per_host[a->host]++;
			r->per_host[a->target]++;
			if (r->progress) {
				char mode[256];

				nc_migrate_mode(a, mode, sizeof(mode));
				fprintf(r->progress, "      #%d %s: migrating %s -> %s (%s) ...\n", a->id, a->vm,
					r->c->hosts[a->host].spec->obj.meta.name.v,
					r->c->hosts[a->target].spec->obj.meta.name.v, mode);
				fflush(r->progress);
			}
			pthread_mutex_unlock(&r->mu);

			memset(&mo, 0, sizeof(mo));
			/* the effective tuning the plan showed (migtune.h) */
			mo.t = a->tune;
			mo.progress = mig_progress;
			mo.opaque = &mc;
			if (a->xmove && a->xmove->method == NC_XMOVE_BACKUP)
				rc = nc_xmove_run_backup(r->p, a, r->c, r->opts->shutdown_timeout_ms ?
							 r->opts->shutdown_timeout_ms : 60000, r->progress, &err);
			else
				rc = run_migrate(r->p, a, r->c, &mo, &err);

			pthread_mutex_lock(&r->mu);
			r->running--;
			r->per_host[a->host]--;
			r->per_host[a->target]--;
			r->state[pick - r->first] = 2;
			report(r, pick, rc < 0 ? R_FAILED : R_DONE, err.msg, now() - t0);
			pthread_cond_broadcast(&r->cv);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/*
 * The plan's uploads [first, last): the URL images they need are downloaded
 * into the cache first (one at a time, verified), then the uploads run in
 * parallel, one per host at a time (images.h).
 */
static void run_uploads(struct runner *r, size_t first, size_t last)
{
	struct nc_image_upload_job *jobs = nc_xcalloc(last - first + 1, sizeof(*jobs));
	struct nc_image_set *set = r->opts->images;
	size_t i, n = 0, k;

	for (i = first; i < last; i++) {
		const struct nc_action *a = &r->p->actions[i];
		struct nc_image_src *src = NULL;
		const struct nc_pool *pl = (const struct nc_pool *)nc_spec_find(r->p->spec, NC_KIND_STORAGE_POOL, a->pool);
		struct nc_err err = { "" };
		bool sim = r->c->hosts[a->host].spec->spec.uri.v &&
			   strncmp(r->c->hosts[a->host].spec->spec.uri.v, "sim://", 6) == 0;

		for (k = 0; set && k < set->n; k++)
			if (strcmp(set->v[k].im->obj.meta.name.v, a->vm) == 0)
				src = &set->v[k];
		if (r->opts->cancel && *r->opts->cancel) {
			report(r, i, R_SKIPPED, "stopping", 0);
			continue;
		}
		if (!r->c->hosts[a->host].conn && !(pl && pl->spec.type.v == NC_POOL_RBD)) {
			report(r, i, R_SKIPPED, "host not connected", 0);
			continue;
		}
		if (src && src->error) {
			report(r, i, R_FAILED, src->error, 0);
			continue;
		}
		/* simulated hosts take no bytes that are not here already */
		if (src && !src->path && (!sim || (pl && pl->spec.type.v == NC_POOL_RBD))) {
			double t0 = now();

			if (r->progress) {
				fprintf(r->progress, "      image %s: downloading %s ...\n", a->vm, src->shown);
				fflush(r->progress);
			}
			if (nc_image_fetch(src, set->cache_dir, &err) < 0) {
				free(src->error);
				src->error = nc_xstrdup(err.msg);    /* the other uploads of it fail the same way */
				report(r, i, R_FAILED, err.msg, 0);
				continue;
			}
			if (r->progress) {
				char sz[32];

				nc_size_format(src->size, sz, sizeof(sz));
				fprintf(r->progress, "      image %s: %s downloaded and verified (%.2fs)\n", a->vm, sz,
					now() - t0);
				fflush(r->progress);
			}
		}
		jobs[n].a = a;
		jobs[n].conn = r->c->hosts[a->host].conn;
		n++;
	}
	nc_images_upload(jobs, n, r->p->spec, set);
	for (k = 0; k < n; k++)
		report(r, (size_t)(jobs[k].a - r->p->actions), jobs[k].rc < 0 ? R_FAILED : R_DONE, jobs[k].err.msg,
		       jobs[k].seconds);
	free(jobs);
}

static void run_migrations(struct runner *r)
{
	pthread_t t[64];
	unsigned n = r->max < 64 ? r->max : 64, k;

	if (r->last - r->first < n)
		n = (unsigned)(r->last - r->first);
	r->state = nc_xcalloc(r->last - r->first + 1, sizeof(*r->state));
	for (k = 0; k < n; k++)
		pthread_create(&t[k], NULL, mig_worker, r);
	for (k = 0; k < n; k++)
		pthread_join(t[k], NULL);
	free(r->state);
	r->state = NULL;
}

/* ---- ordering: health gates (docs/plan.md "Ordering and health gates") ---- */

static bool bringup(const struct nc_action *a)
{
	return a->ordered && a->obj == NC_OBJ_VM &&
	       (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_START || a->kind == NC_ACT_UPDATE);
}

static const char *const wait_names[] = { "running", "agent", "none" };

/*
 * The health gate of VM v (spec index) on host h: polled until it passes or
 * its timeout; checked once per apply, when the first action that waits for
 * the VM is due.  1 passed, -1 failed (r->gate_why[v] says why).
 */
static int gate_check(struct runner *r, size_t v, size_t h)
{
	const struct nc_vm *vm = (const struct nc_vm *)r->p->spec->objs[NC_KIND_VM][v];
	const char *name = vm->obj.meta.name.v;
	struct nc_host_conn *conn = r->c->hosts[h].conn;
	enum nc_health_wait wait;
	uint64_t timeout_ms;
	struct nc_err err = { "" };
	double t0 = now(), deadline;
	bool ok = false;

	if (r->gate[v])
		return r->gate[v];
	nc_order_gate(r->p->spec, vm, &wait, &timeout_ms);
	if (wait == NC_WAIT_NONE || (NC_IS_SET(vm->spec.state) && vm->spec.state.v != NC_STATE_RUNNING)) {
		r->gate[v] = 1;
		return 1;
	}
	deadline = t0 + (double)timeout_ms / 1000;
	for (;;) {
		struct nc_domain d;
		int found = -1;
		double left;

		memset(&d, 0, sizeof(d));
		if (!conn)
			nc_err_set(&err, "host %s is not connected", r->c->hosts[h].spec->obj.meta.name.v);
		else if ((found = conn->drv->lookup(conn, name, &d, &err)) == 0)
			nc_err_set(&err, "domain %s is not defined", name);
		else if (found > 0 && d.state != NC_DOM_RUNNING)
			nc_err_set(&err, "domain is not running");
		else if (found > 0 && wait == NC_WAIT_RUNNING)
			ok = true;
		else if (found > 0 && !conn->drv->agent_ping)
			nc_err_set(&err, "the host's driver has no guest agent");
		else if (found > 0) {
			left = deadline - now();
			ok = conn->drv->agent_ping(conn, name, left > 5 ? 5 : left < 1 ? 1 : (unsigned)left, &err) == 0;
		}
		if (found > 0)
			nc_domain_release(&d);
		if (ok || !conn || (left = deadline - now()) <= 0)
			break;
		if (r->opts->cancel && *r->opts->cancel) {
			nc_err_set(&err, "stopping");
			break;
		}
		{
			double nap = left < 0.5 ? left : 0.5;
			struct timespec ts = { (time_t)nap, (long)((nap - (double)(time_t)nap) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	r->gate[v] = ok ? 1 : -1;
	if (!ok) {
		r->gate_why[v] = nc_xasprintf("health gate (%s) not passed within %.3gs: %s", wait_names[wait],
					      (double)timeout_ms / 1000, err.msg);
		r->out->failed++;
	}
	if (r->progress) {
		fprintf(r->progress, "      gate %s (%s) on %s ... %s%s%s", name, wait_names[wait],
			r->c->hosts[h].spec->obj.meta.name.v, ok_color(r->color, ok ? R_DONE : R_FAILED),
			ok ? "passed" : "failed", r->color ? "\033[0m" : "");
		if (ok)
			fprintf(r->progress, " (%.2fs)\n", now() - t0);
		else
			fprintf(r->progress, ": %s\n", r->gate_why[v]);
		fflush(r->progress);
	}
	return r->gate[v];
}

/* the host where the cluster was seen running domain name, or -1 */
static size_t observed_on(const struct nc_cluster *c, const char *name)
{
	size_t h, k;

	for (h = 0; h < c->nhosts; h++)
		for (k = 0; c->hosts[h].status == NC_HOST_OK && k < c->hosts[h].obs.ndoms; k++)
			if (strcmp(c->hosts[h].obs.doms[k].name, name) == 0)
				return h;
	return (size_t)-1;
}

/*
 * NULL when every VM that action i waits for is up and healthy, else why
 * not: the VMs of its dependsOn (acted on by this plan or not) and the VMs
 * of lower waves this plan brings up.
 */
static char *order_wait(struct runner *r, size_t i)
{
	const struct nc_action *a = &r->p->actions[i];
	size_t j, k;

	for (j = 0; j < i; j++) {
		const struct nc_action *u = &r->p->actions[j];
		bool dep = false;

		if (!bringup(u) || strcmp(u->vm, a->vm) == 0)
			continue;
		for (k = 0; k < a->ndeps && !dep; k++)
			dep = strcmp(a->deps[k], u->vm) == 0;
		if (!dep && u->wave >= a->wave)
			continue;
		if (r->res[j] != R_DONE)
			return nc_xasprintf("waits for %s%s, which did not complete", dep ? "" : "lower wave's ", u->vm);
		if (gate_check(r, nc_spec_pos(r->p->spec, NC_KIND_VM, u->vm), u->host) < 0)
			return nc_xasprintf("waits for %s%s, whose %s", dep ? "" : "lower wave's ", u->vm,
					    r->gate_why[nc_spec_pos(r->p->spec, NC_KIND_VM, u->vm)]);
	}
	/* dependencies this plan does not touch: as the hosts were seen */
	for (k = 0; k < a->ndeps; k++) {
		size_t v = nc_spec_pos(r->p->spec, NC_KIND_VM, a->deps[k]), h;
		const struct nc_vm *vm;
		bool acted = false;

		for (j = 0; j < r->p->nactions && !acted; j++)
			acted = bringup(&r->p->actions[j]) && strcmp(r->p->actions[j].vm, a->deps[k]) == 0;
		if (acted || v == (size_t)-1)
			continue;
		vm = (const struct nc_vm *)r->p->spec->objs[NC_KIND_VM][v];
		if (NC_IS_SET(vm->spec.state) && vm->spec.state.v != NC_STATE_RUNNING)
			continue;
		if ((h = observed_on(r->c, a->deps[k])) == (size_t)-1)
			return nc_xasprintf("waits for %s, which is on no host read", a->deps[k]);
		if (gate_check(r, v, h) < 0)
			return nc_xasprintf("waits for %s, whose %s", a->deps[k], r->gate_why[v]);
	}
	return NULL;
}

void nc_apply(struct nc_apply_result *out, const struct nc_plan *p, struct nc_cluster *c,
	      const struct nc_plan_opts *opts, FILE *progress, int color)
{
	struct runner r;
	size_t i, j;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.c = c;
	r.opts = opts;
	r.progress = progress;
	r.color = color;
	r.out = out;
	r.res = nc_xcalloc(p->nactions + 1, sizeof(*r.res));
	r.per_host = nc_xcalloc(c->nhosts + 1, sizeof(*r.per_host));
	r.gate = nc_xcalloc(p->spec->nobjs[NC_KIND_VM] + 1, sizeof(*r.gate));
	r.gate_why = nc_xcalloc(p->spec->nobjs[NC_KIND_VM] + 1, sizeof(*r.gate_why));
	r.max = opts->max_migrations ? opts->max_migrations : 4;
	r.max_host = opts->max_migrations_per_host ? opts->max_migrations_per_host : 2;
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	for (i = 0; i < p->nactions; i++) {
		const struct nc_action *a = &p->actions[i];
		struct nc_host_view *v = &c->hosts[a->host];
		struct nc_err err = { "" };
		double t0 = now();
		int blocked = 0;

		if (a->kind == NC_ACT_UPLOAD) {
			for (j = i; j < p->nactions && p->actions[j].kind == NC_ACT_UPLOAD; j++)
				;
			run_uploads(&r, i, j);
			i = j - 1;
			continue;
		}
		if (a->kind == NC_ACT_MIGRATE) {
			for (j = i; j < p->nactions && p->actions[j].kind == NC_ACT_MIGRATE; j++)
				;
			r.first = i;
			r.last = j;
			run_migrations(&r);
			r.first = r.last = 0;
			i = j - 1;
			continue;
		}
		for (j = 0; j < a->nafter; j++)
			if (r.res[a->after[j] - 1] != R_DONE)
				blocked = a->after[j];
		if (opts->cancel && *opts->cancel) {
			report(&r, i, R_SKIPPED, "stopping", 0);
			continue;
		}
		if (bringup(a)) {
			char *why = order_wait(&r, i);

			if (why) {
				report(&r, i, R_SKIPPED, why, 0);
				free(why);
				continue;
			}
		}
		if (blocked || !v->conn) {
			report(&r, i, R_SKIPPED, blocked ? "an action it waits for did not complete"
							 : "host not connected", 0);
			continue;
		}
		if (run_action(p, a, v->conn, v->spec->obj.meta.name.v, opts, &err) < 0) {
			report(&r, i, R_FAILED, err.msg, 0);
			continue;
		}
		report(&r, i, R_DONE, "", now() - t0);
	}
	/* a gate the spec sets explicitly is checked even when nothing waits for it */
	for (i = 0; i < p->nactions; i++)
		if (bringup(&p->actions[i]) && r.res[i] == R_DONE &&
		    NC_IS_SET(p->actions[i].vmref->spec.health.wait) && !(opts->cancel && *opts->cancel))
			gate_check(&r, nc_spec_pos(p->spec, NC_KIND_VM, p->actions[i].vm), p->actions[i].host);
	/* the history of each VM acted on (history.h), with the commit applied */
	if (opts->ha_state_dir) {
		static const char *const res_names[] = { "done", "failed", "skipped" };
		struct nc_history_event *ev = nc_xcalloc(p->nactions + 1, sizeof(*ev));
		struct nc_err herr = { "" };
		size_t n = 0;

		for (i = 0; i < p->nactions; i++)
			if (p->actions[i].obj == NC_OBJ_VM) {
				ev[n].vm = p->actions[i].vm;
				ev[n].action = nc_action_name(p->actions[i].kind);
				ev[n++].result = res_names[r.res[i]];
			}
		if (n && nc_history_record(opts->ha_state_dir, p->spec, ev, n, opts->commit, p->plan_digest,
					   time(NULL), &herr) < 0 && progress)
			fprintf(progress, "warning: the history was not updated: %s\n", herr.msg);
		free(ev);
	}
	for (i = 0; i < p->spec->nobjs[NC_KIND_VM]; i++)
		free(r.gate_why[i]);
	free(r.gate_why);
	free(r.gate);
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	free(r.per_host);
	free(r.res);
}
