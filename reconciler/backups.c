/*
 * backups.c - backups and restores of VMs (see backups.h).
 *
 * The repository of a BackupSchedule is opened from its target (the
 * location types of drivers/backup/backup.h), created on first use.  A backup run
 * finds the VM's domain among the observed hosts, takes one consistent
 * point of all its disks (drivers/storage/diskio.h), and writes one snapshot per
 * disk.  The snapshot of a disk records the libvirt checkpoint taken with
 * it; the next run asks for an increment from that checkpoint only when
 * every disk's newest snapshot names it, so a checkpoint made for another
 * repository (or lost) can only cost a full read, never a wrong backup.
 */
#include "backups.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../drivers/storage/diskio.h"
#include "../spec/util.h"

static const char *const target_types[] = { "dir", "rados", "s3", "swift" };

int nc_schedule_repo_open(struct nc_backup_repo **out, const struct nc_backup *sched, bool create,
	struct nc_err *err)
{
	const struct nc_target *t = &sched->spec.target;
	struct nc_backup_location loc;
	struct nc_backup_repo_opts ro;
	struct nc_backup_target *tg = NULL;
	int have, rc;

	memset(&loc, 0, sizeof(loc));
	loc.type = target_types[NC_IS_SET(t->type) ? t->type.v : 0];
	loc.path = t->path.v;
	loc.pool = t->pool.v;
	loc.ceph_conf = t->ceph_conf.v;
	loc.ceph_user = t->ceph_user.v;
	loc.endpoint = t->endpoint.v;
	loc.bucket = t->bucket.v;
	loc.region = t->region.v;
	loc.credentials_file = t->credentials_file.v;
	loc.prefix = t->prefix.v;
	memset(&ro, 0, sizeof(ro));
	ro.key_file = sched->spec.encryption.key_file.v;
	ro.no_compression = NC_IS_SET(sched->spec.compression) && sched->spec.compression.v == NC_COMPRESS_NONE;
	if (NC_IS_SET(sched->spec.compression_level))
		ro.zstd_level = (int)sched->spec.compression_level.v;
	/* a bad key (unreadable, malformed, readable by others) is refused before anything is made */
	if (ro.key_file && nc_backup_key_check(ro.key_file, err) < 0) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg);
		nc_err_set(err, "BackupSchedule %s: %s", sched->obj.meta.name.v, m);
		return -1;
	}
	if (!create && strcmp(loc.type, "dir") == 0 && loc.path && access(loc.path, F_OK) != 0) {
		nc_err_set(err, "BackupSchedule %s: its dir target holds no repository yet (no backup has run)",
			   sched->obj.meta.name.v);
		return -1;
	}
	if (nc_backup_target_open(&tg, &loc, create, err) < 0) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg);
		nc_err_set(err, "BackupSchedule %s: %s", sched->obj.meta.name.v, m);
		return -1;
	}
	have = tg->drv->exists(tg, "config", err);
	if (have < 0) {
		tg->drv->close(tg);
		return -1;
	}
	if (!have && !create) {
		nc_err_set(err, "BackupSchedule %s: its %s target holds no repository yet (no backup has run)",
			   sched->obj.meta.name.v, loc.type);
		tg->drv->close(tg);
		return -1;
	}
	rc = have ? nc_backup_open(out, tg, &ro, err) : nc_backup_create(out, tg, &ro, err);
	if (rc < 0)
		tg->drv->close(tg);
	return rc;
}

void nc_pool_def_from_spec(struct nc_pool_def *out, const struct nc_pool *pool)
{
	memset(out, 0, sizeof(*out));
	out->name = pool->obj.meta.name.v;
	if (NC_IS_SET(pool->spec.type) && pool->spec.type.v == NC_POOL_RBD) {
		out->type = "rbd";
		out->rbd_pool = pool->spec.rbd.pool.v;
		out->ceph_conf = pool->spec.rbd.ceph_conf.v;
		out->ceph_user = pool->spec.rbd.user.v;
		out->key_file = pool->spec.rbd.key_file.v;
	} else {
		out->type = "dir";
		out->path = pool->spec.path.v ? pool->spec.path.v : "/var/lib/novacron";
		if (nc_pool_is_netfs(pool)) {
			/* a dir pool on an NFS share (drivers/storage/netfs.c) */
			out->netfs_server = pool->spec.netfs.server.v;
			out->netfs_export = pool->spec.netfs.export_path.v;
			out->netfs_version = NC_IS_SET(pool->spec.netfs.version) ? (int)pool->spec.netfs.version.v : 0;
		}
	}
}

char *nc_disk_volume_name(const struct nc_pool *pool, const char *vm, const char *disk)
{
	if (pool && NC_IS_SET(pool->spec.type) && pool->spec.type.v == NC_POOL_RBD)
		return nc_xasprintf("%s-%s", vm, disk);
	return nc_xasprintf("%s-%s.qcow2", vm, disk);
}

static int vm_name_cmp(const void *a, const void *b)
{
	const struct nc_vm *x = *(const struct nc_vm *const *)a, *y = *(const struct nc_vm *const *)b;

	return strcmp(x->obj.meta.name.v, y->obj.meta.name.v);
}

size_t nc_schedule_vms(const struct nc_vm ***out, const struct nc_spec *spec, const struct nc_backup *sched)
{
	const struct nc_backup_spec *b = &sched->spec;
	size_t i, j, n = 0, nvms = spec->nobjs[NC_KIND_VM];
	const struct nc_vm **v = nc_xcalloc(nvms + 1, sizeof(*v));

	for (i = 0; i < nvms; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][i];
		bool in = NC_IS_SET(b->vm_selector) && nc_selector_matches(&b->vm_selector, &vm->labels);

		for (j = 0; !in && j < b->vms.n; j++)
			in = strcmp(b->vms.v[j].v, vm->obj.meta.name.v) == 0;
		if (in && !(NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT))
			v[n++] = vm;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), vm_name_cmp);
	*out = v;
	return n;
}

/* The host index and observed domain of a VM's managed domain, or -1. */
static long find_domain(const struct nc_cluster *c, const char *vm, const struct nc_domain **dom)
{
	size_t h, i;

	for (h = 0; h < c->nhosts; h++) {
		const struct nc_observed_host *o = &c->hosts[h].obs;

		if (c->hosts[h].status != NC_HOST_OK)
			continue;
		for (i = 0; i < o->ndoms; i++) {
			if (o->doms[i].managed && o->doms[i].meta_vm && strcmp(o->doms[i].meta_vm, vm) == 0) {
				*dom = &o->doms[i];
				return (long)h;
			}
		}
	}
	return -1;
}

struct snap_src {
	struct nc_disk_snap *snap;
	size_t disk;
};

static int snap_read(void *ctx, uint64_t offset, void *buf, size_t len, struct nc_err *err)
{
	struct snap_src *s = ctx;
	static long reads;
	const char *stall = getenv("NOVACRON_BACKUP_STALL_AT");

	/* test switch: stop dead at the k-th read, as a backup killed midway would; with
	 * NOVACRON_BACKUP_STALL_UNTIL=FILE, go on once FILE exists (a test kills qemu-nbd meanwhile) */
	if (stall && ++reads == atol(stall)) {
		const char *until = getenv("NOVACRON_BACKUP_STALL_UNTIL");

		fprintf(stderr, "backup: stalled at read %ld (NOVACRON_BACKUP_STALL_AT)\n", reads);
		while (until && *until && access(until, F_OK) != 0)
			usleep(20 * 1000);
		while (!until || !*until)
			pause();
	}

	return nc_disk_snap_read(s->snap, s->disk, offset, buf, len, err);
}

static int snap_read_batch(void *ctx, const struct nc_backup_read *v, size_t n, struct nc_err *err)
{
	struct snap_src *s = ctx;

	if (n == 1)
		return snap_read(ctx, v[0].offset, v[0].buf, v[0].len, err);
	/* with the test switch on, each run of a batch is read (and counted) on its own */
	if (getenv("NOVACRON_BACKUP_STALL_AT")) {
		size_t j;

		for (j = 0; j < n; j++)
			if (snap_read(ctx, v[j].offset, v[j].buf, v[j].len, err) < 0)
				return -1;
		return 0;
	}
	return nc_disk_snap_read_batch(s->snap, s->disk, v, n, err);
}

static int snap_zeros(void *ctx, uint64_t offset, uint64_t len, struct nc_backup_extent **out,
	size_t *out_n, struct nc_err *err)
{
	struct snap_src *s = ctx;

	return nc_disk_snap_zeros(s->snap, s->disk, offset, len, out, out_n, err);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int nc_backup_vm(struct nc_backup_vm_result *out, const struct nc_spec *spec, struct nc_cluster *c,
	const struct nc_vm *vm, const struct nc_backup *sched, const struct nc_backup_run_opts *o,
	struct nc_err *err)
{
	const char *name = vm->obj.meta.name.v;
	const struct nc_domain *dom = NULL;
	struct nc_backup_repo *r = NULL;
	struct nc_backup_snapshot *all = NULL;
	const struct nc_backup_snapshot **newest = NULL;
	struct nc_disk_snap *snap = NULL;
	struct nc_disk_snap_opts so;
	struct nc_desired d;
	char *scratch = NULL;
	const char *since = NULL;
	size_t nall = 0, i, j;
	double t0 = mono();
	long h;
	int ret = -1;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	snprintf(out->vm, sizeof(out->vm), "%s", name);
	h = find_domain(c, name, &dom);
	if (h < 0) {
		nc_err_set(err, "VM %s has no domain on any reachable host (apply the spec first)", name);
		return -1;
	}
	if (!c->hosts[h].conn) {
		nc_err_set(err, "VM %s: host %s is not connected", name, c->hosts[h].spec->obj.meta.name.v);
		return -1;
	}
	snprintf(out->host, sizeof(out->host), "%s", c->hosts[h].spec->obj.meta.name.v);
	nc_desired_build(&d, spec, vm, NULL);
	if (nc_schedule_repo_open(&r, sched, true, err) < 0)
		goto out;
	if (nc_backup_list(&all, &nall, r, err) < 0)
		goto out;

	/* the newest snapshot of each disk, by target (the list is sorted by vm, disk, time) */
	newest = nc_xcalloc(d.def.ndisks + 1, sizeof(*newest));
	for (j = 0; j < d.def.ndisks; j++)
		for (i = 0; i < nall; i++)
			if (strcmp(all[i].vm, name) == 0 && strcmp(all[i].disk, d.def.disks[j].name) == 0)
				newest[j] = &all[i];
	for (j = 0; j < d.def.ndisks; j++) {
		if (!newest[j] || !*newest[j]->checkpoint || (since && strcmp(since, newest[j]->checkpoint))) {
			since = NULL;
			break;
		}
		since = newest[j]->checkpoint;
	}

	{
		const char *tmp = o->scratch_dir ? o->scratch_dir : getenv("TMPDIR");

		scratch = nc_xasprintf("%s/novacron-backup-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(scratch)) {
			nc_err_set(err, "cannot create a scratch directory %s: %s", scratch, strerror(errno));
			goto out;
		}
		chmod(scratch, 0700);
		/* who owns a backup job whose socket is here (drivers/storage/diskio.c) */
		{
			char *pf = nc_xasprintf("%s/owner.pid", scratch);
			int fd = open(pf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

			if (fd >= 0) {
				char line[32];
				int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());

				if (nc_write_all(fd, line, (size_t)n) < 0)
					unlink(pf);
				close(fd);
			}
			free(pf);
		}
	}
	memset(&so, 0, sizeof(so));
	if (o->snapshot)
		since = NULL;   /* a snapshot's disks are read whole */
	so.snapshot = o->snapshot;
	so.since_checkpoint = since;
	so.quiesce = !NC_IS_SET(sched->spec.quiesce) || sched->spec.quiesce.v;
	so.scratch_dir = scratch;
	for (j = 0; j < vm->eff.disks.n; j++) {
		const struct nc_disk *k = (const struct nc_disk *)vm->eff.disks.v + j;
		const struct nc_pool *p = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, k->pool.v);

		if (p && NC_IS_SET(p->spec.type) && p->spec.type.v == NC_POOL_RBD) {
			so.ceph_conf = p->spec.rbd.ceph_conf.v;
			so.ceph_user = p->spec.rbd.user.v;
			so.ceph_key_file = p->spec.rbd.key_file.v;
			break;
		}
	}
	if (o->progress)
		fprintf(o->progress, "backup %s on %s: %s%s%s%s\n", name, out->host,
			since ? "incremental from checkpoint " : "full", since ? since : "",
			o->snapshot ? ", from snapshot " : "", o->snapshot ? o->snapshot : "");
	if (nc_disk_snap_begin(&snap, c->hosts[h].conn, dom->name, &so, err) < 0)
		goto out;
	out->quiesced = snap->quiesced;
	out->live = snap->live;
	if (snap->ndisks > NC_ARRAY_SIZE(out->disks)) {
		nc_err_set(err, "VM %s has %zu disks; a backup takes at most %zu", name, snap->ndisks,
			   NC_ARRAY_SIZE(out->disks));
		goto end;
	}
	for (i = 0; i < snap->ndisks; i++) {
		struct nc_snap_disk *sd = &snap->disks[i];
		const char *disk = sd->target;
		const struct nc_backup_snapshot *parent = NULL;
		struct nc_backup_meta m;
		struct nc_backup_changes ch;
		struct snap_src src = { snap, i };
		/* zero extents are not read; runs of chunks are read up to 8 MiB at a time, and
		 * scattered ones (an increment's) several at a time */
		struct nc_backup_source bs = { .read = snap_read, .ctx = &src, .zeros = snap_zeros,
					       .max_read = NC_DISK_READ_MAX, .read_batch = snap_read_batch };
		struct nc_backup_disk_result *dr = &out->disks[out->ndisks];

		for (j = 0; j < d.def.ndisks; j++)
			if (strcmp(d.def.disks[j].target, sd->target) == 0) {
				disk = d.def.disks[j].name;
				parent = newest[j];
			}
		memset(&m, 0, sizeof(m));
		m.vm = name;
		m.disk = disk;
		m.disk_size = sd->size;
		m.time = o->now;
		m.quiesced = snap->quiesced;
		m.parent = parent ? parent->id : NULL;
		m.checkpoint = snap->checkpoint;
		ch.v = sd->changed;
		ch.n = sd->nchanged;
		dr->incremental = sd->incremental && parent && since && parent->disk_size == sd->size;
		snprintf(dr->disk, sizeof(dr->disk), "%s", disk);
		if (o->progress)
			fprintf(o->progress, "  disk %s (%s): reading %s\n", disk, sd->target,
				dr->incremental ? "changed extents" : "everything");
		if (nc_backup_write(&dr->stats, r, &m, &bs, dr->incremental ? &ch : NULL, err) < 0) {
			char msg[sizeof(err->msg)];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			nc_err_set(err, "VM %s disk %s: %s", name, disk, msg);
			goto end;
		}
		if (!out->ndisks)
			memcpy(out->id, dr->stats.id, sizeof(out->id));
		out->ndisks++;
	}
	ok = true;
end:
	{
		struct nc_err e2;

		if (nc_disk_snap_end(snap, ok, &e2) < 0 && ok) {
			*err = e2;
			ok = false;
		}
	}
	if (ok)
		ret = 0;
out:
	out->seconds = mono() - t0;
	if (scratch) {
		char *pf = nc_xasprintf("%s/owner.pid", scratch);

		unlink(pf);
		free(pf);
		rmdir(scratch);
		free(scratch);
	}
	free(newest);
	nc_backup_snapshots_free(all, nall);
	if (r)
		nc_backup_close(r);
	nc_desired_release(&d);
	return ret;
}

int nc_backup_set_load(struct nc_backup_snapshot **out, size_t *n, struct nc_backup_repo *r,
	const char *id, struct nc_err *err)
{
	struct nc_backup_snapshot one, *all = NULL, *v;
	size_t nall = 0, i, k = 0;

	if (nc_backup_snapshot_load(&one, r, id, err) < 0)
		return -1;
	if (nc_backup_list(&all, &nall, r, err) < 0) {
		nc_backup_snapshot_release(&one);
		return -1;
	}
	v = nc_xcalloc(nall + 1, sizeof(*v));
	/* one run: same vm, time and checkpoint; of the chosen disk, only the chosen snapshot */
	for (i = 0; i < nall; i++) {
		if (strcmp(all[i].vm, one.vm) == 0 && all[i].time == one.time &&
		    strcmp(all[i].checkpoint, one.checkpoint) == 0 &&
		    (strcmp(all[i].disk, one.disk) != 0 || strcmp(all[i].id, one.id) == 0)) {
			v[k++] = all[i];
			memset(&all[i], 0, sizeof(all[i]));
		}
	}
	nc_backup_snapshot_release(&one);
	nc_backup_snapshots_free(all, nall);
	*out = v;
	*n = k;
	return 0;
}

struct vol_sink {
	struct nc_disk_writer *w;
	long writes, fail_at;            /* NOVACRON_RESTORE_FAIL_AT */
	long stall_at;                   /* NOVACRON_RESTORE_STALL_AT */
};

static int sink_fault(struct vol_sink *sk, struct nc_err *err)
{
	++sk->writes;
	if (sk->fail_at > 0 && sk->writes == sk->fail_at) {
		nc_err_set(err, "restore write %ld: injected failure (NOVACRON_RESTORE_FAIL_AT)", sk->writes);
		return -1;
	}
	/* test switch: stop the whole process (SIGSTOP) at the k-th write, so a test can
	 * kill the qemu-nbd writing the volume and continue it (SIGCONT) */
	if (sk->stall_at > 0 && sk->writes == sk->stall_at) {
		fprintf(stderr, "restore: stalled at write %ld (NOVACRON_RESTORE_STALL_AT)\n", sk->writes);
		fflush(stderr);
		raise(SIGSTOP);
	}
	return 0;
}

static int sink_write(void *ctx, uint64_t offset, const void *buf, size_t len, struct nc_err *err)
{
	struct vol_sink *sk = ctx;

	if (sink_fault(sk, err) < 0)
		return -1;
	return nc_disk_writer_write(sk->w, offset, buf, len, err);
}

static int sink_zero(void *ctx, uint64_t offset, uint64_t len, struct nc_err *err)
{
	struct vol_sink *sk = ctx;

	if (sink_fault(sk, err) < 0)
		return -1;
	return nc_disk_writer_zero(sk->w, offset, len, err);
}

static int restore_disk(struct nc_backup_restore_stats *st, bool *created, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, struct nc_host_conn *host, const struct nc_pool_def *pool,
	const char *vol, uint64_t min_size, bool verified, struct nc_err *err);

int nc_restore_disk(struct nc_backup_restore_stats *st, bool *created, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, struct nc_host_conn *host, const struct nc_pool_def *pool,
	const char *vol, uint64_t min_size, struct nc_err *err)
{
	return restore_disk(st, created, r, s, host, pool, vol, min_size, false, err);
}

int nc_restore_disk_verified(struct nc_backup_restore_stats *st, bool *created,
	struct nc_backup_repo *r, const struct nc_backup_snapshot *s, struct nc_host_conn *host,
	const struct nc_pool_def *pool, const char *vol, uint64_t min_size, struct nc_err *err)
{
	return restore_disk(st, created, r, s, host, pool, vol, min_size, true, err);
}

/*
 * verified: every chunk was checked already.  Otherwise, a volume that
 * exists is verified before its first byte is written; a volume this
 * restore creates is written in one pass that checks each chunk as it
 * writes it, and deleted again if any fails (docs/backup.md, "Restore").
 */
/*
 * A restore into a new volume first makes a marker volume VOL.novacron-restore
 * beside it and deletes it once the volume is whole.  A marker found later
 * means a restore was cut short (kill -9, a power cut) after it made VOL:
 * VOL is that restore's half-written leftover, never anyone's disk, and is
 * made anew.  Without it a declarative restore: would find VOL there on the
 * next pass and boot the VM on a partial disk.
 */
#define RESTORE_MARK ".novacron-restore"

/* 1 vol exists in pool, 0 not, -1 cannot tell (err) */
static int vol_exists(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	struct nc_err *err)
{
	struct nc_volume vi;
	int there;

	memset(&vi, 0, sizeof(vi));
	there = nc_vol_info(host, pool, vol, &vi, err) < 0 ? -1 : vi.exists;
	nc_volume_release(&vi);
	return there;
}

int nc_restore_marked(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
	struct nc_err *err)
{
	char *mk = nc_xasprintf("%s%s", vol, RESTORE_MARK);
	int marked = vol_exists(host, pool, mk, err);

	free(mk);
	return marked;
}

static int restore_disk(struct nc_backup_restore_stats *st, bool *created, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, struct nc_host_conn *host, const struct nc_pool_def *pool,
	const char *vol, uint64_t min_size, bool verified, struct nc_err *err)
{
	struct nc_volume info;
	struct vol_sink sk = { NULL, 0, 0, 0 };
	struct nc_backup_sink sink = { sink_write, sink_zero, &sk };
	bool rbd = strcmp(pool->type, "rbd") == 0, made = false;
	uint64_t size = s->disk_size > min_size ? s->disk_size : min_size;
	const char *fa = getenv("NOVACRON_RESTORE_FAIL_AT");
	char *path = NULL, *mk = nc_xasprintf("%s%s", vol, RESTORE_MARK);
	bool leftover = false;
	int ret = -1, rc;

	if (fa)
		sk.fail_at = atol(fa);
	if ((fa = getenv("NOVACRON_RESTORE_STALL_AT")))
		sk.stall_at = atol(fa);
	memset(&info, 0, sizeof(info));
	if (nc_vol_info(host, pool, vol, &info, err) < 0) {
		free(mk);
		return -1;
	}
	/* the leftover of a restore into a new volume that was cut short: made anew */
	if ((rc = nc_restore_marked(host, pool, vol, err)) < 0)
		goto out;
	leftover = rc > 0;
	if (leftover && info.exists) {
		if (nc_vol_delete(host, pool, vol, err) < 0)
			goto out;
		nc_volume_release(&info);
		memset(&info, 0, sizeof(info));
	}
	if (info.exists && !verified) {
		struct nc_err e1;

		if (nc_backup_verify_snapshot(NULL, r, s, &e1) < 0) {
			*err = e1;
			goto out;
		}
		verified = true;
	}
	if (!info.exists) {
		if (!leftover && nc_vol_create(host, pool, mk, 512, NULL, err) < 0)
			goto out;
		leftover = true;      /* marked */
		if (nc_vol_create(host, pool, vol, size, NULL, err) < 0)
			goto out;
		made = true;
		nc_volume_release(&info);
		memset(&info, 0, sizeof(info));
		if (nc_vol_info(host, pool, vol, &info, err) < 0)
			goto out;
	} else if (info.capacity < s->disk_size) {
		if (nc_vol_resize(host, pool, vol, s->disk_size, NULL, NULL, err) < 0)
			goto out;
		info.capacity = s->disk_size;
	}
	path = rbd ? nc_xasprintf("%s/%s", pool->rbd_pool, vol) : nc_xstrdup(info.path ? info.path : vol);
	if (nc_disk_writer_open(&sk.w, path, info.format ? info.format : (rbd ? "raw" : "qcow2"), rbd,
				pool->ceph_conf, pool->ceph_user, pool->key_file, err) < 0)
		goto out;
	if (made)
		nc_disk_writer_set_fresh(sk.w);   /* reads as zeros: zero chunks stay holes */
	ret = verified ? nc_backup_restore_snapshot(st, r, s, &sink, err)
		       : nc_backup_restore_snapshot_once(st, r, s, &sink, err);
	/* a volume larger than the backup reads as zeros past its end */
	if (ret == 0 && info.capacity > s->disk_size)
		ret = nc_disk_writer_zero(sk.w, s->disk_size, info.capacity - s->disk_size, err);
	{
		struct nc_err e2;

		if (nc_disk_writer_close(sk.w, &e2) < 0 && ret == 0) {
			*err = e2;
			ret = -1;
		}
	}
	/* the volume is whole: its marker goes (a marker that cannot go fails the restore: the
	 * next one starts over) */
	if (ret == 0 && leftover && nc_vol_delete(host, pool, mk, err) < 0)
		ret = -1;
	else if (ret == 0)
		leftover = false;
out:
	if (ret < 0 && made) {
		/* never leave a half-written new volume that a later pass would take as restored */
		struct nc_err e2;
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg);
		if (nc_vol_delete(host, pool, vol, &e2) < 0)
			nc_err_set(err, "%s; the half-written new volume %s could not be deleted: %s", m, vol, e2.msg);
		else
			nc_err_set(err, "%s; the new volume %s was deleted", m, vol);
	}
	/* failed, and the new volume is gone: so can its marker (kept while the volume stays) */
	if (ret < 0 && leftover) {
		struct nc_err e3;

		if (vol_exists(host, pool, vol, &e3) == 0)
			nc_vol_delete(host, pool, mk, &e3);
	}
	if (ret == 0 && created)
		*created = made;
	free(mk);
	free(path);
	nc_volume_release(&info);
	return ret;
}

const struct nc_backup *nc_vm_schedule(const struct nc_spec *spec, const struct nc_vm *vm)
{
	size_t i, j, n;

	if (NC_IS_SET(vm->spec.backup_schedule))
		return (const struct nc_backup *)nc_spec_find(spec, NC_KIND_BACKUP_SCHEDULE,
							      vm->spec.backup_schedule.v);
	for (i = 0; i < spec->nobjs[NC_KIND_BACKUP_SCHEDULE]; i++) {
		const struct nc_backup *s = (const struct nc_backup *)spec->objs[NC_KIND_BACKUP_SCHEDULE][i];
		const struct nc_vm **v;

		n = nc_schedule_vms(&v, spec, s);
		for (j = 0; j < n; j++)
			if (v[j] == vm) {
				free(v);
				return s;
			}
		free(v);
	}
	return NULL;
}

int nc_restore_vm(const struct nc_spec *spec, const struct nc_vm *vm, const struct nc_backup *s, const char *backup,
		  const char *as, const char *host_name, const struct nc_observe_opts *oo_in, FILE *out, FILE *progress,
		  struct nc_err *err)
{
	const char *target_name;
	struct nc_backup_snapshot *set = NULL;
	struct nc_backup_repo *r = NULL;
	struct nc_observe_opts oo = *oo_in;
	struct nc_cluster c;
	struct nc_desired d;
	struct nc_vm copy;
	size_t nset = 0, i, j, h, nh;
	const struct nc_domain *dom = NULL;
	long host = -1;
	int ret = -1;
	bool observed = false, built = false;
	struct restore_disk {
		bool use, created, exists;
		struct nc_pool_def pd;
		char *vol;
		uint64_t min_size;
	} *todo = NULL;

	if (nc_schedule_repo_open(&r, s, false, err) < 0 || nc_backup_set_load(&set, &nset, r, backup, err) < 0)
		goto out;
	if (strcmp(set[0].vm, vm->obj.meta.name.v) != 0) {
		/* the other VM is not named: through the API this reaches principals of another tenant */
		nc_err_set(err, "backup %.16s is not a backup of VM '%s' (novacron backup list shows its backups)",
			   set[0].id, vm->obj.meta.name.v);
		goto out;
	}
	target_name = as ? as : vm->obj.meta.name.v;
	copy = *vm;
	copy.obj.meta.name.v = (char *)target_name;
	nc_desired_build(&d, spec, &copy, NULL);
	built = true;
	/* a copy beside the original gets its own MAC addresses, fixed ones too */
	for (i = 0; as && i < d.def.nnics; i++) {
		char *key = nc_xasprintf("%s/%s", target_name, d.def.nics[i].name);
		char hex[65], mac[18];

		nc_sha256_hex(key, strlen(key), hex);
		snprintf(mac, sizeof(mac), "52:54:00:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4);
		d.def.nics[i].mac = nc_arena_strdup(&d.arena, mac);
		free(key);
	}
	oo.keep_open = true;
	nc_observe(&c, spec, &oo);
	observed = true;

	/* where: the host holding the target domain, else the original's, else host_name */
	for (h = 0, nh = c.nhosts; h < nh && host < 0; h++) {
		const struct nc_observed_host *o = &c.hosts[h].obs;

		for (i = 0; i < o->ndoms; i++)
			if (strcmp(o->doms[i].name, d.def.name) == 0) {
				host = (long)h;
				dom = &o->doms[i];
				break;
			}
	}
	if (as && dom) {
		nc_err_set(err, "a domain named '%s' already exists on %s: choose another --as name", as,
			   c.hosts[host].spec->obj.meta.name.v);
		goto out;
	}
	if (dom && (dom->state == NC_DOM_RUNNING || dom->state == NC_DOM_PAUSED)) {
		nc_err_set(err, "VM '%s' is running on %s: stop it first (spec state: stopped, then apply), "
			   "or restore next to it with --as NEWNAME", target_name, c.hosts[host].spec->obj.meta.name.v);
		goto out;
	}
	if (host < 0 && host_name) {
		for (h = 0; h < c.nhosts; h++)
			if (strcmp(c.hosts[h].spec->obj.meta.name.v, host_name) == 0)
				host = (long)h;
		if (host < 0) {
			nc_err_set(err, "no Host named '%s'", host_name);
			goto out;
		}
	}
	for (h = 0; h < c.nhosts && host < 0; h++)
		for (i = 0; i < c.hosts[h].obs.ndoms; i++)
			if (strcmp(c.hosts[h].obs.doms[i].name, vm->obj.meta.name.v) == 0) {
				host = (long)h;
				break;
			}
	if (host < 0) {
		nc_err_set(err, "VM '%s' has no domain on any host: give --host HOST", vm->obj.meta.name.v);
		goto out;
	}
	if (c.hosts[host].status != NC_HOST_OK || !c.hosts[host].conn) {
		nc_err_set(err, "host %s is unreachable: %s", c.hosts[host].spec->obj.meta.name.v,
			   c.hosts[host].error ? c.hosts[host].error : "?");
		goto out;
	}

	/* which disks, into which volumes */
	todo = nc_xcalloc(nset + 1, sizeof(*todo));
	for (i = 0; i < nset; i++) {
		const struct nc_disk *k = NULL;
		const struct nc_pool *pool;

		for (j = 0; j < vm->eff.disks.n; j++)
			if (strcmp(((const struct nc_disk *)vm->eff.disks.v + j)->name.v, set[i].disk) == 0)
				k = (const struct nc_disk *)vm->eff.disks.v + j;
		if (!k) {
			nc_say(progress, "novacron restore: VM '%s' has no disk '%s' in the spec any more: skipped\n",
			    vm->obj.meta.name.v, set[i].disk);
			continue;
		}
		pool = (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, k->pool.v);
		if (!pool) {
			nc_err_set(err, "disk '%s': no StoragePool '%s'", set[i].disk, k->pool.v);
			goto out;
		}
		/* a pool exists only on the hosts its hostSelector matches (docs/placement.md) */
		if (NC_IS_SET(pool->spec.host_selector) &&
		    !nc_selector_matches(&pool->spec.host_selector, &c.hosts[host].spec->obj.meta.labels)) {
			nc_err_set(err, "host %s does not have pool %s (disk '%s'): the pool's hostSelector does not "
				   "match it; give --host with a host it selects", c.hosts[host].spec->obj.meta.name.v,
				   pool->obj.meta.name.v, set[i].disk);
			goto out;
		}
		todo[i].use = true;
		nc_pool_def_from_spec(&todo[i].pd, pool);
		todo[i].vol = nc_disk_volume_name(pool, target_name, set[i].disk);
		todo[i].min_size = NC_IS_SET(k->size) ? k->size.v : 0;
	}
	/*
	 * Every chunk of every disk going into an existing volume is checked before the first
	 * byte is written anywhere.  A disk going into a new volume is written in one pass that
	 * checks each chunk as it goes (nothing to lose: the volume is deleted if it fails); those
	 * are written first, so that such a failure leaves the existing volumes untouched.
	 */
	for (i = 0; i < nset; i++) {
		struct nc_volume info;
		struct nc_err e1;

		if (!todo[i].use)
			continue;
		memset(&info, 0, sizeof(info));
		if (nc_vol_info(c.hosts[host].conn, &todo[i].pd, todo[i].vol, &info, &e1) < 0) {
			nc_err_set(err, "disk %s: %s", set[i].disk, e1.msg);
			goto out;
		}
		todo[i].exists = info.exists;
		/* an existing volume that is a disk of another domain (a name that collides: --as
		 * "a-b" of disk "root" is VM "a"'s disk "b-root"; a domain defined outside the spec) is
		 * never written over: on a shared pool (rbd, netfs) a domain on any host counts */
		if (info.exists && info.path) {
			bool shared = (todo[i].pd.type && strcmp(todo[i].pd.type, "dir") != 0) ||
				      todo[i].pd.netfs_server;
			const char *user = NULL, *where = NULL;

			for (h = 0; h < c.nhosts && !user; h++) {
				const struct nc_observed_host *o = &c.hosts[h].obs;
				size_t k, m;

				if ((long)h != host && !shared)
					continue;
				for (k = 0; k < o->ndoms && !user; k++) {
					if (strcmp(o->doms[k].name, target_name) == 0)
						continue;   /* in place: the VM's own disk (on a shared pool, a
							     * definition of it left on another host too) */
					for (m = 0; m < o->doms[k].ndisks; m++)
						if (o->doms[k].disks[m].source &&
						    strcmp(o->doms[k].disks[m].source, info.path) == 0) {
							user = o->doms[k].name;
							where = c.hosts[h].spec->obj.meta.name.v;
							break;
						}
				}
			}
			if (user) {
				nc_err_set(err, "disk %s: the volume %s/%s already exists and is a disk of domain '%s' "
					   "on %s: not written over; nothing was written%s", set[i].disk, todo[i].pd.name,
					   todo[i].vol, user, where, as ? " (choose another --as name)" : "");
				nc_volume_release(&info);
				goto out;
			}
		}
		nc_volume_release(&info);
	}
	for (i = 0; i < nset; i++) {
		struct nc_err e1;

		if (!todo[i].use || !todo[i].exists)
			continue;
		nc_say(progress, "verify backup %.16s of disk %s\n", set[i].id, set[i].disk);
		if (nc_backup_verify_snapshot(NULL, r, &set[i], &e1) < 0) {
			nc_err_set(err, "disk %s: %s\nnovacron restore: the backup is damaged; nothing was written, %s is "
				   "as it was", set[i].disk, e1.msg, target_name);
			goto out;
		}
	}
	for (j = 0; j < 2 * nset; j++) {
		struct nc_backup_restore_stats st;
		struct nc_err e1;
		char sz[32];
		int rc;

		i = j % nset;
		if (!todo[i].use || todo[i].exists != (j >= nset))
			continue;
		nc_say(progress, "restore %s disk %s from %.16s into %s/%s%s\n", target_name, set[i].disk, set[i].id,
		    todo[i].pd.name, todo[i].vol, todo[i].exists ? "" : " (new volume: written as verified)");
		if (todo[i].exists)
			rc = nc_restore_disk_verified(&st, &todo[i].created, r, &set[i], c.hosts[host].conn,
						      &todo[i].pd, todo[i].vol, todo[i].min_size, &e1);
		else
			rc = nc_restore_disk(&st, &todo[i].created, r, &set[i], c.hosts[host].conn, &todo[i].pd,
					     todo[i].vol, todo[i].min_size, &e1);
		if (rc < 0) {
			nc_err_set(err, "disk %s: %s", set[i].disk, e1.msg);
			goto out;
		}
		nc_size_format(set[i].disk_size, sz, sizeof(sz));
		nc_say(out, "restored %s disk %s (%s) from backup %.16s: %zu chunks\n", target_name, set[i].disk, sz,
		    set[i].id, st.chunks_fetched);
	}
	if (!dom) {
		const struct nc_host_driver *drv = c.hosts[host].conn->drv;
		struct nc_err e1;

		if (drv->define(c.hosts[host].conn, &d.def, &e1) < 0 ||
		    (drv->commit && drv->commit(c.hosts[host].conn, &e1) < 0)) {
			nc_err_set(err, "cannot define %s: %s", target_name, e1.msg);
			goto out;
		}
		nc_say(out, "defined %s on %s (not started)%s\n", target_name, c.hosts[host].spec->obj.meta.name.v,
		    as ? "; add a VM of that name to the spec to manage it" : "");
	}
	ret = 0;
out:
	/* a failed restore leaves no new volume behind that looks restored (nor a domain: defined last) */
	for (i = 0; todo && ret != 0 && i < nset; i++) {
		struct nc_err e2;

		if (!todo[i].created)
			continue;
		if (nc_vol_delete(c.hosts[host].conn, &todo[i].pd, todo[i].vol, &e2) < 0)
			nc_say(progress, "novacron restore: cannot delete the new volume %s/%s: %s\n", todo[i].pd.name,
			    todo[i].vol, e2.msg);
		else
			nc_say(progress, "novacron restore: deleted the new volume %s/%s\n", todo[i].pd.name, todo[i].vol);
	}
	for (i = 0; todo && i < nset; i++)
		free(todo[i].vol);
	free(todo);
	if (observed)
		nc_cluster_release(&c);
	if (built)
		nc_desired_release(&d);
	nc_backup_snapshots_free(set, nset);
	if (r)
		nc_backup_close(r);
	return ret;
}
