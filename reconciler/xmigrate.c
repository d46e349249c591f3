/*
 * xmigrate.c - moving a VM between clusters: the plan (which host, which
 * method, how many bytes, how long) and the backup method's apply.  The
 * design is in xmigrate.h; the live method is an ordinary live migration
 * with storage copy (apply.c run_migrate).
 */
#include "xmigrate.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../drivers/backup/backup.h"
#include "../drivers/storage/diskio.h"
#include "../policies/placement.h"
#include "../spec/cluster.h"
#include "../spec/util.h"
#include "backups.h"
#include "plan-int.h"
#include "volumes.h"

static const char *const method_names[] = { [NC_XMOVE_LIVE] = "live", [NC_XMOVE_BACKUP] = "backup" };

const char *nc_xmove_method_name(enum nc_xmove_method m)
{
	return method_names[m];
}

void nc_xmove_free(struct nc_xmove *x)
{
	if (!x)
		return;
	free(x->from_cluster);
	free(x->to_cluster);
	free(x->why);
	free(x->basis);
	free(x);
}

/* ---- plan ---- */

/* The pools and networks of vm the destination cluster does not have, "pool x, network y"; NULL: none. */
static char *missing_parts(const struct nc_spec *spec, const struct nc_cluster_def *to, const struct nc_vm *vm)
{
	struct nc_buf b = NC_BUF_INIT;
	size_t k;

	for (k = 0; k < vm->eff.disks.n; k++) {
		const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + k;
		const struct nc_object *o = NC_IS_SET(d->pool) ? nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v) : NULL;

		if (o && !nc_cluster_admits(to, o))
			nc_buf_addf(&b, "%spool %s (disk %s)", b.len ? ", " : "", d->pool.v,
				    NC_IS_SET(d->name) ? d->name.v : "?");
	}
	for (k = 0; k < vm->eff.nics.n; k++) {
		const struct nc_nic *n = (const struct nc_nic *)vm->eff.nics.v + k;
		const struct nc_object *o = NC_IS_SET(n->network) ? nc_spec_find(spec, NC_KIND_NETWORK, n->network.v) : NULL;

		if (o && !nc_cluster_admits(to, o))
			nc_buf_addf(&b, "%snetwork %s (nic %s)", b.len ? ", " : "", n->network.v,
				    NC_IS_SET(n->name) ? n->name.v : "?");
	}
	if (!b.len) {
		nc_buf_release(&b);
		return NULL;
	}
	return nc_buf_detach(&b, NULL);
}

bool nc_xmove_plan(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
	const struct nc_cluster *c, struct nc_placement_state *ps, const struct nc_vm *vm, size_t from,
	const struct nc_domain *o, bool want_running)
{
	const struct nc_host *h = c->hosts[from].spec;
	const struct nc_cluster_def *to_c = nc_spec_cluster_of(spec, &vm->obj);
	const struct nc_cluster_def *from_c = nc_spec_cluster_of(spec, &h->obj);
	const char *name = vm->obj.meta.name.v, *hn = h->obj.meta.name.v, *tn, *fn;
	struct nc_placement_state *ps2;
	struct nc_xmove *x;
	struct nc_action *a;
	char *why = NULL, *missing;
	bool running = o->state == NC_DOM_RUNNING, live_ok;
	size_t i, k;
	int to;

	if (!to_c || !from_c || to_c == from_c)
		return false;
	tn = to_c->obj.meta.name.v;
	fn = from_c->obj.meta.name.v;
	if ((missing = missing_parts(spec, to_c, vm))) {
		nc_plan_add_note(p, alloc_n, NC_NOTE_ERROR, name, "cannot move VM %s from cluster %s to %s: "
				 "cluster %s lacks %s; nothing is done", name, fn, tn, tn, missing);
		free(missing);
		return true;
	}
	/* snapshots do not travel: libvirt migrates no domain with snapshots (nor undefines one at the
	 * source), and a backup holds the disks' current state only; refused before any backup or copy */
	if (o->nsnaps) {
		nc_plan_add_note(p, alloc_n, NC_NOTE_ERROR, name, "cannot move VM %s from cluster %s to %s: it has "
				 "%zu snapshot%s on %s, which a move between clusters does not carry (libvirt moves no "
				 "domain with snapshots); delete them first (spec.snapshots, docs/storage.md "
				 "\"Snapshots\"); nothing is done", name, fn, tn, o->nsnaps, o->nsnaps == 1 ? "" : "s", hn);
		return true;
	}
	/* placement among the destination cluster's hosts only */
	ps2 = nc_placement_clone(ps);
	for (i = 0; i < c->nhosts; i++)
		if (!nc_cluster_admits(to_c, &c->hosts[i].spec->obj))
			nc_placement_exclude(ps2, i, "another cluster");
	to = nc_placement_choose(ps2, vm, (int)from, &why);
	nc_placement_free(ps2);
	if (to < 0) {
		nc_plan_add_note(p, alloc_n, NC_NOTE_ERROR, name, "cannot move VM %s from cluster %s to %s: "
				 "no host of %s fits: %s; it stays on %s", name, fn, tn, tn, why, hn);
		free(why);
		return true;
	}
	x = nc_xcalloc(1, sizeof(*x));
	x->from_cluster = nc_xstrdup(fn);
	x->to_cluster = nc_xstrdup(tn);
	live_ok = !NC_IS_SET(to_c->spec.transfer.live) || to_c->spec.transfer.live.v;
	if (running && want_running && live_ok) {
		x->method = NC_XMOVE_LIVE;
		x->why = nc_xstrdup("running, both hosts read in this pass, live moves allowed");
	} else {
		x->method = NC_XMOVE_BACKUP;
		if (!running)
			x->why = nc_xasprintf("%s", o->state == NC_DOM_SHUTOFF ? "not running" : "not running (paused)");
		else if (!want_running)
			x->why = nc_xstrdup("to be stopped");
		else
			x->why = nc_xasprintf("cluster %s does not allow live moves (transfer.live: false): shut down "
					      "for the move", tn);
		x->stop_first = running;
		x->src_sched = nc_vm_schedule(spec, vm);
		if (NC_IS_SET(to_c->spec.transfer.backup_schedule))
			x->dst_sched = (const struct nc_backup *)nc_spec_find(spec, NC_KIND_BACKUP_SCHEDULE,
									      to_c->spec.transfer.backup_schedule.v);
		if (!x->src_sched || !x->dst_sched) {
			nc_plan_add_note(p, alloc_n, NC_NOTE_ERROR, name, "cannot move VM %s from cluster %s to %s "
					 "through a backup (%s): %s; nothing is done", name, fn, tn, x->why,
					 !x->src_sched ? "the VM has no BackupSchedule (spec.backupSchedule) to back it "
					 "up in its cluster" : "the destination Cluster sets no transfer.backupSchedule "
					 "to receive it");
			nc_xmove_free(x);
			free(why);
			return true;
		}
	}
	nc_placement_put(ps, vm, (size_t)to);
	a = nc_plan_add_action(p, alloc_a, NC_ACT_MIGRATE, name, from);
	a->target = (size_t)to;
	a->live = x->method == NC_XMOVE_LIVE;
	a->vmref = vm;
	a->xmove = x;
	a->reason = nc_xasprintf("cluster: VM %s belongs to cluster %s, its domain is on %s of cluster %s; "
				 "method %s: %s", name, tn, hn, fn, nc_xmove_method_name(x->method), x->why);
	a->placement = why;
	a->start_after = x->method == NC_XMOVE_BACKUP && want_running;
	/* what was to happen after, happens on the new host (as plan.c plan_move does) */
	for (k = 0; k + 1 < p->nactions; k++) {
		struct nc_action *b = &p->actions[k];

		if (strcmp(b->vm, name) != 0)
			continue;
		if (b->kind == NC_ACT_START) {
			b->host = (size_t)to;
			if (x->method == NC_XMOVE_BACKUP)
				a->start_after = false;   /* the start follows on the new host */
		}
		if (b->kind == NC_ACT_UPDATE && b->start_after) {
			b->start_after = false;
			a->start_after = true;
		}
	}
	return true;
}

static const struct nc_domain *find_dom(const struct nc_observed_host *o, const char *vm)
{
	size_t j;

	for (j = 0; j < o->ndoms; j++)
		if (o->doms[j].managed && o->doms[j].meta_vm && strcmp(o->doms[j].meta_vm, vm) == 0)
			return &o->doms[j];
	return NULL;
}

/* The Image of pool is (or will be, by an upload of this plan) complete on host. */
static bool image_there(const struct nc_plan *p, const struct nc_cluster *c, size_t host, const char *pool,
			const char *image)
{
	const struct nc_host_view *v = &c->hosts[host];
	size_t i;

	for (i = 0; i < v->nimages; i++)
		if (!strcmp(v->images[i].pool, pool) && !strcmp(v->images[i].image, image) && v->images[i].complete)
			return true;
	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].kind == NC_ACT_UPLOAD && p->actions[i].host == host && p->actions[i].pool &&
		    !strcmp(p->actions[i].pool, pool) && !strcmp(p->actions[i].vm, image))
			return true;
	return false;
}

/* allocation of vm's disk in a dir pool on the source (0 unknown), and whether it is in a dir pool */
static bool local_alloc(const struct nc_spec *spec, const struct nc_vm *vm, const struct nc_disk *d,
			const struct nc_domain *dom, uint64_t *alloc)
{
	const struct nc_pool *pool = NC_IS_SET(d->pool) ?
		(const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, d->pool.v) : NULL;
	char *vol, *path;
	size_t k;

	*alloc = 0;
	if (!pool || pool->spec.type.v == NC_POOL_RBD || !NC_IS_SET(d->name))
		return false;
	vol = nc_disk_volume_name(pool, vm->obj.meta.name.v, d->name.v);
	path = nc_xasprintf("%s/%s", NC_IS_SET(pool->spec.path) ? pool->spec.path.v : "", vol);
	for (k = 0; dom && k < dom->ndisks; k++)
		if (dom->disks[k].source && strcmp(dom->disks[k].source, path) == 0)
			*alloc = dom->disks[k].allocation;
	free(vol);
	free(path);
	return true;
}

static void human(uint64_t v, char *buf, size_t len);

static void estimate_live(const struct nc_plan *p, const struct nc_spec *spec, const struct nc_cluster *c,
			  struct nc_action *a)
{
	struct nc_xmove *x = a->xmove;
	const struct nc_vm *vm = a->vmref;
	const struct nc_domain *dom = find_dom(&c->hosts[a->host].obs, a->vm);
	uint64_t mem = dom && dom->memory ? dom->memory : vm->eff.memory.v, disks = 0, al;
	bool inc = true, unknown = false;
	size_t k, nlocal = 0;
	char mb[32];

	for (k = 0; k < vm->eff.disks.n; k++) {
		const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + k;

		if (!local_alloc(spec, vm, d, dom, &al))
			continue;        /* shared (rbd): not copied */
		nlocal++;
		disks += al;
		unknown |= al == 0;
		if (!NC_IS_SET(d->image) || d->image.v[0] == '/' ||
		    !image_there(p, c, a->target, d->pool.v, d->image.v))
			inc = false;
	}
	x->incremental = inc && nlocal > 0;
	x->bytes = mem + disks;
	x->estimate = true;
	human(mem, mb, sizeof(mb));
	x->basis = nc_xasprintf("memory %s + %s of %zu local disk%s (%s)%s; pages the guest dirties meanwhile "
				"are sent again", mb,
				x->incremental ? "overlay allocation" : "allocation",
				nlocal, nlocal == 1 ? "" : "s",
				x->incremental ? "incremental: their base images are in the destination pool" :
				nlocal ? "full copy" : "no local disk",
				unknown ? "; a disk's allocation is unknown" : "");
}

/* the newest backup of vm in r: the ids of its snapshots (one per disk), or 0 */
static size_t newest_set(struct nc_backup_snapshot **out, struct nc_backup_repo *r, const char *vm,
			 struct nc_err *err)
{
	struct nc_backup_snapshot *v, *set;
	size_t n, i, k = 0;
	int64_t t = 0;
	bool any = false;

	*out = NULL;
	if (nc_backup_list(&v, &n, r, err) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!strcmp(v[i].vm, vm) && (!any || v[i].time > t)) {
			t = v[i].time;
			any = true;
		}
	set = nc_xcalloc(n + 1, sizeof(*set));
	for (i = 0; any && i < n; i++)
		if (!strcmp(v[i].vm, vm) && v[i].time == t) {
			set[k++] = v[i];       /* moved: the list gives up its strings */
			memset(&v[i], 0, sizeof(v[i]));
		}
	nc_backup_snapshots_free(v, n);
	*out = set;
	return k;
}

static void estimate_backup(const struct nc_spec *spec, const struct nc_cluster *c, struct nc_action *a)
{
	struct nc_xmove *x = a->xmove;
	const struct nc_vm *vm = a->vmref;
	const struct nc_domain *dom = find_dom(&c->hosts[a->host].obs, a->vm);
	struct nc_backup_repo *sr = NULL, *dr = NULL;
	struct nc_backup_snapshot *set = NULL;
	struct nc_err err = { "" };
	uint64_t alloc = 0, al, sent = 0;
	size_t k, n = 0, present = 0, nsent = 0;
	bool exact = true, empty = false;

	for (k = 0; k < vm->eff.disks.n; k++)
		if (local_alloc(spec, vm, (const struct nc_disk *)vm->eff.disks.v + k, dom, &al))
			alloc += al;
	x->estimate = true;
	if (x->src_sched == x->dst_sched) {
		x->bytes = 0;
		x->basis = nc_xasprintf("both clusters use BackupSchedule %s: the backup is not copied",
					x->src_sched->obj.meta.name.v);
		return;
	}
	if (nc_schedule_repo_open(&sr, x->src_sched, false, &err) < 0 || !(n = newest_set(&set, sr, a->vm, &err))) {
		x->bytes = alloc;
		x->unknown = !alloc;
		x->basis = nc_xasprintf("the disks' allocation, an upper bound: no backup of %s in %s's repository "
					"to compare with the destination's yet%s%s", a->vm, x->src_sched->obj.meta.name.v,
					*err.msg ? ": " : "", err.msg);
		goto out;
	}
	if (nc_schedule_repo_open(&dr, x->dst_sched, false, &err) < 0) {
		/* no repository at the destination yet: every chunk of the backup is sent */
		dr = NULL;
		empty = true;
	}
	for (k = 0; k < n; k++) {
		struct nc_backup_copy_opts o = { .dry_run = true };
		struct nc_backup_copy_stats st;

		if (nc_backup_copy_snapshot(&st, dr, sr, set[k].id, &o, &err) < 0) {
			x->bytes = alloc;
			x->unknown = !alloc;
			x->basis = nc_xasprintf("the disks' allocation, an upper bound: comparing backup %.16s failed: %s",
						set[k].id, err.msg);
			goto out;
		}
		sent += st.bytes_sent;
		present += st.chunks_present;
		nsent += st.chunks_sent;
		exact &= st.exact;
	}
	x->bytes = sent;
	x->basis = nc_xasprintf("the chunks %s's repository lacks of the newest backup of %s in %s's (%zu of %zu "
				"chunks%s%s), an estimate: the backup the move takes is newer", x->dst_sched->obj.meta.name.v,
				a->vm, x->src_sched->obj.meta.name.v, nsent, nsent + present,
				exact ? "" : ", uncompressed: the keys or chunk sizes differ",
				empty ? "; it holds no repository yet" : "");
out:
	nc_backup_snapshots_free(set, n);
	if (sr)
		nc_backup_close(sr);
	if (dr)
		nc_backup_close(dr);
}

void nc_xmove_estimate(struct nc_plan *p, const struct nc_spec *spec, const struct nc_cluster *c)
{
	size_t i;

	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];
		struct nc_xmove *x = a->xmove;
		const struct nc_cluster_def *fc, *tc;
		uint64_t bw = 0;

		if (!x)
			continue;
		fc = nc_spec_cluster_of(spec, &c->hosts[a->host].spec->obj);
		tc = nc_spec_cluster_of(spec, &c->hosts[a->target].spec->obj);
		if (fc && NC_IS_SET(fc->spec.transfer.bandwidth))
			bw = fc->spec.transfer.bandwidth.v;
		if (tc && NC_IS_SET(tc->spec.transfer.bandwidth) && (!bw || tc->spec.transfer.bandwidth.v < bw))
			bw = tc->spec.transfer.bandwidth.v;
		x->default_bandwidth = !bw;
		x->bandwidth = bw ? bw : NC_XMOVE_DEFAULT_BANDWIDTH;
		if (x->method == NC_XMOVE_LIVE)
			estimate_live(p, spec, c, a);
		else
			estimate_backup(spec, c, a);
		x->seconds = (double)x->bytes / (double)x->bandwidth;
	}
}

static void human(uint64_t v, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)v;
	size_t i = 0;

	while (x >= 1024 && i + 1 < sizeof(u) / sizeof(u[0])) {
		x /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, len, "%.1f %s", x, u[i]);
}

void nc_xmove_describe(const struct nc_xmove *x, char *buf, size_t len)
{
	char b[32], bw[32];

	human(x->bytes, b, sizeof(b));
	human(x->bandwidth, bw, sizeof(bw));
	if (x->unknown) {
		snprintf(buf, len, "cluster %s -> %s, %s%s, bytes over the link unknown (no allocation observed) at "
			 "%s/s%s", x->from_cluster, x->to_cluster, nc_xmove_method_name(x->method),
			 x->stop_first ? " (shut down first)" : "", bw, x->default_bandwidth ? " (default)" : "");
		return;
	}
	snprintf(buf, len, "cluster %s -> %s, %s%s%s, %s%s over the link, ~%llu s at %s/s%s", x->from_cluster,
		 x->to_cluster, nc_xmove_method_name(x->method),
		 x->method == NC_XMOVE_LIVE ? (x->incremental ? " with incremental storage copy" :
					       " with full storage copy") : "",
		 x->stop_first ? " (shut down first)" : "", x->estimate ? "~" : "", b, (unsigned long long)(x->seconds + 0.999), bw,
		 x->default_bandwidth ? " (default)" : "");
}

/* ---- apply: the backup method ---- */

struct restored {
	struct nc_pool_def pd;
	char *vol;
	bool created;
	bool shared;                 /* the source's own volume (a directory both hosts see) */
};

extern char **environ;

/* qemu-img create -q -f qcow2 PATH SIZE, at most 60 s (argv only: nothing from a spec) */
static int qcow2_create(const char *path, uint64_t size, struct nc_err *err)
{
	char sz[32], *argv[] = { (char *)"qemu-img", (char *)"create", (char *)"-q", (char *)"-f",
				 (char *)"qcow2", (char *)path, sz, NULL };
	pid_t pid;
	int st = 0, i, rc;

	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	if ((rc = posix_spawnp(&pid, "qemu-img", NULL, NULL, argv, environ)) != 0) {
		nc_err_set(err, "cannot run qemu-img: %s", strerror(rc));
		return -1;
	}
	for (i = 0; i < 600; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		nanosleep(&ts, NULL);
	}
	if (i == 600) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		nc_err_set(err, "qemu-img create timed out");
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		nc_err_set(err, "qemu-img create %s failed", path);
		return -1;
	}
	return 0;
}

static int w_write(void *ctx, uint64_t off, const void *buf, size_t len, struct nc_err *err)
{
	return nc_disk_writer_write(ctx, off, buf, len, err);
}

static int w_zero(void *ctx, uint64_t off, uint64_t len, struct nc_err *err)
{
	return nc_disk_writer_zero(ctx, off, len, err);
}

/*
 * Restores snapshot s into vol of a dir pool on a real (remote) host: into
 * a local scratch qcow2 first (holes stay holes), then uploaded through
 * libvirt's stream API (nc_vol_upload), so the destination may be any host
 * its daemon serves.  A volume of that name already there is replaced only
 * when no domain of the host uses it (a leftover of a move cut short).
 */
static int restore_upload(struct restored *rd, struct nc_backup_repo *r, const struct nc_backup_snapshot *s,
			  struct nc_host_conn *dst, const struct nc_observed_host *dobs, uint64_t min_size,
			  struct nc_err *err)
{
	struct nc_volume info;
	struct nc_disk_writer *w = NULL;
	struct nc_backup_sink sink;
	char tmpl[] = "/tmp/nc-xmove-XXXXXX", *file = NULL;
	uint64_t size = s->disk_size > min_size ? s->disk_size : min_size;
	struct stat sb;
	int fd = -1, ret = -1;
	size_t i, j;

	memset(&info, 0, sizeof(info));
	if (nc_vol_info(dst, &rd->pd, rd->vol, &info, err) < 0)
		return -1;
	if (info.exists) {
		for (i = 0; i < dobs->ndoms; i++)
			for (j = 0; info.path && j < dobs->doms[i].ndisks; j++)
				if (dobs->doms[i].disks[j].source && !strcmp(dobs->doms[i].disks[j].source, info.path)) {
					nc_err_set(err, "the destination's volume %s/%s is a disk of domain %s there: not "
						   "replaced", rd->pd.name, rd->vol, dobs->doms[i].name);
					goto out;
				}
		if (nc_vol_delete(dst, &rd->pd, rd->vol, err) < 0)
			goto out;
	}
	if (!mkdtemp(tmpl)) {
		nc_err_set(err, "scratch directory: %s", strerror(errno));
		goto out;
	}
	file = nc_xasprintf("%s/disk.qcow2", tmpl);
	if (qcow2_create(file, size, err) < 0 ||
	    nc_disk_writer_open(&w, file, "qcow2", false, NULL, NULL, NULL, err) < 0)
		goto out;
	sink.write = w_write;
	sink.zero = w_zero;
	sink.ctx = w;
	ret = nc_backup_restore_snapshot(NULL, r, s, &sink, err);
	if (nc_disk_writer_close(w, ret == 0 ? err : &(struct nc_err){ "" }) < 0)
		ret = -1;
	if (ret < 0)
		goto out;
	ret = -1;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
		nc_err_set(err, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (nc_vol_upload(dst, &rd->pd, rd->vol, "qcow2", fd, (uint64_t)sb.st_size, err) < 0)
		goto out;
	rd->created = true;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (file) {
		unlink(file);
		rmdir(tmpl);
	}
	free(file);
	nc_volume_release(&info);
	return ret;
}

int nc_xmove_run_backup(const struct nc_plan *p, const struct nc_action *a, struct nc_cluster *c,
	unsigned shutdown_timeout_ms, FILE *progress, struct nc_err *err)
{
	const struct nc_xmove *x = a->xmove;
	const struct nc_spec *spec = p->spec;
	const struct nc_vm *vm = a->vmref;
	struct nc_host_conn *src = c->hosts[a->host].conn, *dst = c->hosts[a->target].conn;
	const char *sn = c->hosts[a->host].spec->obj.meta.name.v, *dn = c->hosts[a->target].spec->obj.meta.name.v;
	const struct nc_domain_def *want = NULL;
	struct nc_backup_repo *sr = NULL, *dr = NULL;
	struct nc_backup_snapshot *set = NULL, *dset = NULL;
	struct nc_backup_vm_result res;
	struct nc_backup_run_opts bo;
	struct restored *rs = NULL;
	struct nc_domain d;
	size_t nset = 0, i, j;
	bool was_running = false, defined = false, moved = false, have_d = false;
	uint64_t total = 0;
	int found, ret = -1;

	memset(&d, 0, sizeof(d));
	if (!src || !dst || !vm) {
		nc_err_set(err, "%s is not connected", !src ? sn : dn);
		return -1;
	}
	for (i = 0; i < p->ndesired; i++)
		if (!strcmp(p->desired[i].def.name, a->vm))
			want = &p->desired[i].def;
	if (!want) {
		nc_err_set(err, "no definition of %s to define at the destination", a->vm);
		return -1;
	}
	/* a pass cut short: already at the destination? */
	found = dst->drv->lookup(dst, a->vm, &d, err);
	if (found < 0)
		return -1;
	if (found) {
		bool dst_running = d.state == NC_DOM_RUNNING;

		nc_domain_release(&d);
		found = src->drv->lookup(src, a->vm, &d, err);
		if (found > 0) {
			nc_domain_release(&d);
			nc_err_set(err, "%s is defined on both %s and %s; resolve by hand", a->vm, sn, dn);
			return -1;
		}
		if (found < 0)
			return -1;
		if (a->start_after && !dst_running && dst->drv->start(dst, a->vm, err) < 0)
			return -1;
		return dst->drv->commit ? dst->drv->commit(dst, err) : 0;
	}
	found = src->drv->lookup(src, a->vm, &d, err);
	if (found <= 0) {
		if (!found)
			nc_err_set(err, "%s is on neither %s nor %s", a->vm, sn, dn);
		return -1;
	}
	have_d = true;
	if (!d.managed) {
		nc_err_set(err, "domain %s is not managed by NovaCron: not touched", a->vm);
		goto out;
	}
	if (d.state == NC_DOM_PAUSED) {
		nc_err_set(err, "%s is paused on %s: NovaCron leaves paused domains as they are", a->vm, sn);
		goto out;
	}
	was_running = d.state == NC_DOM_RUNNING;
	if (was_running) {
		nc_say(progress, "      #%d %s: shutting down on %s for the move\n", a->id, a->vm, sn);
		if (src->drv->shutdown(src, a->vm, shutdown_timeout_ms, err) < 0)
			goto out;
	}
	/* 1. a backup into the source cluster's repository */
	memset(&bo, 0, sizeof(bo));
	bo.now = (int64_t)time(NULL);
	bo.progress = progress;
	if (nc_backup_vm(&res, spec, c, vm, x->src_sched, &bo, err) < 0)
		goto out;
	nc_say(progress, "      #%d %s: backup %.16s into %s (%zu disk%s)\n", a->id, a->vm, res.id,
	    x->src_sched->obj.meta.name.v, res.ndisks, res.ndisks == 1 ? "" : "s");
	if (nc_schedule_repo_open(&sr, x->src_sched, false, err) < 0 ||
	    nc_backup_set_load(&set, &nset, sr, res.id, err) < 0)
		goto out;
	/* 2. into the destination's repository: only the chunks it lacks */
	if (x->src_sched == x->dst_sched) {
		dr = sr;
	} else if (nc_schedule_repo_open(&dr, x->dst_sched, true, err) < 0) {
		goto out;
	}
	dset = nc_xcalloc(nset + 1, sizeof(*dset));
	rs = nc_xcalloc(nset + 1, sizeof(*rs));
	for (i = 0; i < nset; i++) {
		struct nc_backup_copy_opts dry = { .dry_run = true }, real = { .dry_run = false };
		struct nc_backup_copy_stats st;
		char id[NC_BACKUP_ID_HEX + 1];
		char b[32];

		snprintf(id, sizeof(id), "%s", set[i].id);
		if (dr != sr) {
			if (nc_backup_copy_snapshot(&st, dr, sr, set[i].id, &dry, err) < 0)
				goto out;
			human(st.bytes_sent, b, sizeof(b));
			nc_say(progress, "      #%d %s: disk %s: %s%s to send to %s (it lacks %zu of %zu chunks)\n", a->id,
			    a->vm, set[i].disk, st.exact ? "" : "at most ", b, x->dst_sched->obj.meta.name.v,
			    st.chunks_sent, st.chunks_sent + st.chunks_present);
			if (nc_backup_copy_snapshot(&st, dr, sr, set[i].id, &real, err) < 0)
				goto out;
			total += st.bytes_sent;
			snprintf(id, sizeof(id), "%s", st.id);
		}
		if (nc_backup_snapshot_load(&dset[i], dr, id, err) < 0)
			goto out;
	}
	if (dr != sr) {
		char b[32];

		human(total, b, sizeof(b));
		nc_say(progress, "      #%d %s: %s (%llu bytes) sent to %s's repository\n", a->id, a->vm, b, (unsigned long long)total,
		    x->dst_sched->obj.meta.name.v);
	}
	/* 3. restore into the destination pools: every chunk checked before the first write */
	for (i = 0; i < nset; i++) {
		const struct nc_disk *k = NULL;
		const struct nc_pool *pool;

		for (j = 0; j < vm->eff.disks.n; j++)
			if (!strcmp(((const struct nc_disk *)vm->eff.disks.v + j)->name.v, dset[i].disk))
				k = (const struct nc_disk *)vm->eff.disks.v + j;
		pool = k ? (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, k->pool.v) : NULL;
		if (!pool) {
			nc_err_set(err, "disk %s of %s: not in the spec, or no StoragePool", dset[i].disk, a->vm);
			goto out;
		}
		nc_pool_def_from_spec(&rs[i].pd, pool);
		rs[i].vol = nc_disk_volume_name(pool, a->vm, dset[i].disk);
		if (nc_backup_verify_snapshot(NULL, dr, &dset[i], err) < 0)
			goto out;
	}
	for (i = 0; i < nset; i++) {
		const struct nc_disk *k = NULL;

		for (j = 0; j < vm->eff.disks.n; j++)
			if (!strcmp(((const struct nc_disk *)vm->eff.disks.v + j)->name.v, dset[i].disk))
				k = (const struct nc_disk *)vm->eff.disks.v + j;
		uint64_t min = k && NC_IS_SET(k->size) ? k->size.v : 0;
		int sh;

		/* a directory (or rbd pool) both hosts see: the backup was taken from this very volume */
		if ((sh = nc_vol_shared(src, dst, &rs[i].pd, rs[i].vol, err)) < 0)
			goto out;
		if (sh) {
			rs[i].shared = true;
			nc_say(progress, "      #%d %s: disk %s: %s/%s is the source's own volume (shared): kept\n", a->id,
			    a->vm, dset[i].disk, rs[i].pd.name, rs[i].vol);
			continue;
		}
		nc_say(progress, "      #%d %s: restore disk %s into %s/%s on %s\n", a->id, a->vm, dset[i].disk,
		    rs[i].pd.name, rs[i].vol, dn);
		if (strcmp(rs[i].pd.type, "rbd") != 0 && !nc_libvirt_is_sim(dst)) {
			if (restore_upload(&rs[i], dr, &dset[i], dst, &c->hosts[a->target].obs, min, err) < 0)
				goto out;
		} else if (nc_restore_disk_verified(NULL, &rs[i].created, dr, &dset[i], dst, &rs[i].pd, rs[i].vol,
						    min, err) < 0) {
			goto out;
		}
	}
	/* 4. define at the destination (its seed first), 5. let go of the source */
	if (nc_seed_ensure(dst, spec, want, true, err) < 0 || dst->drv->define(dst, want, err) < 0)
		goto out;
	defined = true;
	if (src->drv->undefine(src, a->vm, err) < 0)
		goto out;
	moved = true;        /* the move is made: nothing below undoes it */
	ret = 0;
	{
		struct nc_err e2 = { "" };

		bool any_shared = false;

		for (i = 0; i < nset; i++)
			any_shared |= rs[i].shared;
		/* the source's disks stay unless the spec says delete (invariant 3); never the
		 * volumes the destination uses too */
		if (vm->spec.deletion_policy.v == NC_DELETE_DELETE && !any_shared &&
		    nc_volumes_delete(src, spec, &d, &e2) < 0)
			nc_say(progress, "      #%d %s: warning: source disks not deleted: %s\n", a->id, a->vm, e2.msg);
		if (!any_shared && nc_seed_delete(src, spec, &d, NULL, false, &e2) < 0)
			nc_say(progress, "      #%d %s: warning: source seed not deleted: %s\n", a->id, a->vm, e2.msg);
	}
	/* 6. start it there */
	if (a->start_after && dst->drv->start(dst, a->vm, err) < 0)
		ret = -1;
out:
	/* a failed move leaves nothing defined and no new volume at the destination, and the VM as
	 * it was at the source (invariant 10); once the source let go, a failed start is retried
	 * by the next pass on the destination */
	if (ret < 0 && !moved && defined) {
		struct nc_err e2 = { "" };

		dst->drv->undefine(dst, a->vm, &e2);
	}
	for (i = 0; rs && ret < 0 && !moved && i < nset; i++) {
		struct nc_err e2 = { "" };

		if (rs[i].created)
			nc_vol_delete(dst, &rs[i].pd, rs[i].vol, &e2);
	}
	if (ret < 0 && !moved && was_running && have_d) {
		struct nc_domain now;
		struct nc_err e2 = { "" };

		memset(&now, 0, sizeof(now));
		if (src->drv->lookup(src, a->vm, &now, &e2) > 0) {
			if (now.state != NC_DOM_RUNNING && src->drv->start(src, a->vm, &e2) < 0)
				nc_say(progress, "      #%d %s: warning: cannot start it again on %s: %s\n", a->id, a->vm,
				    sn, e2.msg);
			nc_domain_release(&now);
		}
	}
	{
		struct nc_err e2 = { "" };

		if (src->drv->commit)
			src->drv->commit(src, &e2);
		if (dst->drv->commit)
			dst->drv->commit(dst, &e2);
	}
	for (i = 0; rs && i < nset; i++)
		free(rs[i].vol);
	free(rs);
	if (dset)
		for (i = 0; i < nset; i++)
			nc_backup_snapshot_release(&dset[i]);
	free(dset);
	nc_backup_snapshots_free(set, nset);
	if (dr && dr != sr)
		nc_backup_close(dr);
	if (sr)
		nc_backup_close(sr);
	if (have_d)
		nc_domain_release(&d);
	return ret;
}
