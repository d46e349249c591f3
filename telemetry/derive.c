/*
 * derive.c - two rounds of one host's raw statistics -> metric values
 * (telemetry.h, docs/monitoring.md "Collection").
 *
 * Rates are (counter now - counter before) / (t now - t before).  A rate is
 * NAN (a gap, never 0) when there is no previous round, when the counter was
 * not reported in either round, when it went backwards (a restarted guest or
 * host), or when the time did not advance.  A VM not running now uses
 * nothing: its rates are 0 (a paused one still holds its memory).  Per-disk and per-NIC counters are summed over
 * the devices present in both rounds (matched by name).
 *
 * Objects are appended to the round unsorted; the objs array grows by
 * doubling whenever nobjs reaches a power of two (from 8).  nc_tm_round_sort
 * sorts them and makes ids unique: a shared (rbd) pool seen from several
 * hosts is kept once, and a domain name found on two hosts (a stale copy
 * after a restart elsewhere) once, the running copy preferred, then the
 * first host by name.
 */
#include "telemetry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../spec/util.h"

static void obj_free(struct nc_tm_object *o)
{
	free(o->name);
	free(o->host);
	free(o->id);
}

void nc_tm_round_release(struct nc_tm_round *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nobjs; i++)
		obj_free(&r->objs[i]);
	free(r->objs);
	for (i = 0; i < r->nhosts; i++) {
		free(r->hosts ? r->hosts[i] : NULL);
		if (r->raw)
			nc_host_stats_release(&r->raw[i]);
		free(r->errors ? r->errors[i] : NULL);
	}
	free(r->hosts);
	free(r->raw);
	free(r->errors);
	for (i = 0; i < r->nrbd; i++) {
		free(r->rbd_pools[i]);
		free(r->rbd_errors[i]);
	}
	free(r->rbd_pools);
	free(r->rbd_errors);
	memset(r, 0, sizeof(*r));
}

static int obj_cmp(const void *a, const void *b)
{
	const struct nc_tm_object *x = a, *y = b;

	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* obj_cmp, then the copy to keep first: running, then by host, then by values */
static int dup_cmp(const void *a, const void *b)
{
	const struct nc_tm_object *x = a, *y = b;
	int c = obj_cmp(a, b), k;

	if (c)
		return c;
	if (x->target == NC_MT_VM && (x->v[NC_VM_RUNNING] == 1) != (y->v[NC_VM_RUNNING] == 1))
		return x->v[NC_VM_RUNNING] == 1 ? -1 : 1;
	/* NovaCron's own pool (novacron-local) before a libvirt pool someone named
	 * "local" on that host: the stranger's figures never stand in for it */
	if (x->managed != y->managed)
		return x->managed ? -1 : 1;
	if ((x->host == NULL) != (y->host == NULL))
		return x->host ? 1 : -1;
	if (x->host && (c = strcmp(x->host, y->host)))
		return c;
	for (k = 0; k < NC_METRICS_MAX; k++) {
		if (isnan(x->v[k]) != isnan(y->v[k]))
			return isnan(x->v[k]) ? 1 : -1;
		if (!isnan(x->v[k]) && x->v[k] != y->v[k])
			return x->v[k] < y->v[k] ? -1 : 1;
	}
	return 0;
}

void nc_tm_round_sort(struct nc_tm_round *r)
{
	size_t i, n = 0;

	if (r->nobjs < 2)
		return;
	qsort(r->objs, r->nobjs, sizeof(*r->objs), dup_cmp);
	for (i = 0; i < r->nobjs; i++) {
		if (n && obj_cmp(&r->objs[n - 1], &r->objs[i]) == 0) {
			obj_free(&r->objs[i]);     /* a duplicate id: the first is kept */
			continue;
		}
		r->objs[n++] = r->objs[i];
	}
	r->nobjs = n;
}

const struct nc_tm_object *nc_tm_round_find(const struct nc_tm_round *r, enum nc_metric_target t,
					    const char *id)
{
	struct nc_tm_object key;

	if (!r || !r->nobjs || !id)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.target = t;
	key.id = (char *)id;
	return bsearch(&key, r->objs, r->nobjs, sizeof(*r->objs), obj_cmp);
}

/* a new object at the end of r, every value NAN */
struct nc_tm_object *nc_tm_round_add(struct nc_tm_round *r, enum nc_metric_target t, const char *name,
				     const char *host, const char *id)
{
	struct nc_tm_object *o;
	size_t k;

	if (r->nobjs == 0 || (r->nobjs >= 8 && (r->nobjs & (r->nobjs - 1)) == 0))
		r->objs = nc_xreallocarray(r->objs, r->nobjs ? 2 * r->nobjs : 8, sizeof(*r->objs));
	o = &r->objs[r->nobjs++];
	memset(o, 0, sizeof(*o));
	o->target = t;
	o->name = nc_xstrdup(name);
	o->host = host ? nc_xstrdup(host) : NULL;
	o->id = nc_xstrdup(id);
	for (k = 0; k < NC_METRICS_MAX; k++)
		o->v[k] = NAN;
	return o;
}

static double known(uint64_t v)
{
	return v == NC_STAT_NONE ? NAN : (double)v;
}

/* (b - a) / dt, NAN when either is unknown or the counter went backwards */
static double rate(uint64_t a, uint64_t b, double dt)
{
	if (a == NC_STAT_NONE || b == NC_STAT_NONE || b < a || !(dt > 0))
		return NAN;
	return (double)(b - a) / dt;
}

static const struct nc_dom_stats *prev_dom(const struct nc_host_stats *prev, const char *name)
{
	size_t lo = 0, hi = prev ? prev->ndoms : 0;

	while (lo < hi) {     /* doms are sorted by name (driver.h) */
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(prev->doms[mid].name, name);

		if (c == 0)
			return &prev->doms[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

enum { D_RD, D_WR, D_RDOPS, D_WROPS };
static uint64_t disk_field(const struct nc_disk_stats *d, int f)
{
	return f == D_RD ? d->rd_bytes : f == D_WR ? d->wr_bytes : f == D_RDOPS ? d->rd_reqs : d->wr_reqs;
}

/* the summed rate of one disk counter over the disks present in both rounds */
static double disks_rate(const struct nc_dom_stats *a, const struct nc_dom_stats *b, int f, double dt)
{
	double sum = 0;
	size_t i, j;

	for (i = 0; i < b->ndisks; i++) {
		for (j = 0; j < a->ndisks; j++)
			if (a->disks[j].dev && b->disks[i].dev && strcmp(a->disks[j].dev, b->disks[i].dev) == 0)
				break;
		if (j == a->ndisks)
			continue;    /* attached since: counted from the next round */
		sum += rate(disk_field(&a->disks[j], f), disk_field(&b->disks[i], f), dt);
	}
	return sum;   /* NAN as soon as one disk's counter is unknown or went backwards */
}

static double nics_rate(const struct nc_dom_stats *a, const struct nc_dom_stats *b, bool tx, double dt)
{
	double sum = 0;
	size_t i, j;

	for (i = 0; i < b->nnics; i++) {
		for (j = 0; j < a->nnics; j++)
			if (a->nics[j].dev && b->nics[i].dev && strcmp(a->nics[j].dev, b->nics[i].dev) == 0)
				break;
		if (j == a->nnics)
			continue;
		sum += tx ? rate(a->nics[j].tx_bytes, b->nics[i].tx_bytes, dt)
			  : rate(a->nics[j].rx_bytes, b->nics[i].rx_bytes, dt);
	}
	return sum;
}

/* used inside the guest (balloon statistics), else the QEMU process's RSS (at most the
 * balloon: RSS counts QEMU's own memory too), else its balloon */
static double vm_memory_used(const struct nc_dom_stats *d)
{
	if (d->mem_available != NC_STAT_NONE && d->mem_unused != NC_STAT_NONE && d->mem_available >= d->mem_unused)
		return (double)(d->mem_available - d->mem_unused);
	if (d->rss != NC_STAT_NONE)
		return (double)(d->balloon_cur != NC_STAT_NONE && d->rss > d->balloon_cur ? d->balloon_cur : d->rss);
	return known(d->balloon_cur);
}

static void derive_vm(struct nc_tm_round *r, const char *host, const struct nc_dom_stats *d,
		      const struct nc_dom_stats *p, double dt)
{
	struct nc_tm_object *o = nc_tm_round_add(r, NC_MT_VM, d->name, host, d->name);
	bool running = d->state == NC_DOM_RUNNING;
	double used, cur;

	o->v[NC_VM_RUNNING] = running ? 1 : 0;
	o->v[NC_VM_VCPUS] = d->vcpus ? (double)d->vcpus : NAN;
	cur = known(d->balloon_cur);
	o->v[NC_VM_MEMORY_BYTES] = cur;
	if (!running) {
		/* a VM that does not run uses nothing (a paused one keeps its memory) */
		if (d->state != NC_DOM_PAUSED) {
			o->v[NC_VM_MEMORY_USED] = 0;
			o->v[NC_VM_MEMORY_USED_RATIO] = 0;
		} else {
			o->v[NC_VM_MEMORY_USED] = vm_memory_used(d);
			o->v[NC_VM_MEMORY_USED_RATIO] = cur > 0 ? o->v[NC_VM_MEMORY_USED] / cur : NAN;
		}
		o->v[NC_VM_CPU_USAGE] = 0;
		o->v[NC_VM_DISK_READ_BPS] = o->v[NC_VM_DISK_WRITE_BPS] = 0;
		o->v[NC_VM_DISK_READ_OPS] = o->v[NC_VM_DISK_WRITE_OPS] = 0;
		o->v[NC_VM_NET_RX_BPS] = o->v[NC_VM_NET_TX_BPS] = 0;
		return;
	}
	used = vm_memory_used(d);
	o->v[NC_VM_MEMORY_USED] = used;
	o->v[NC_VM_MEMORY_USED_RATIO] = cur > 0 ? used / cur : NAN;
	/* rates: only between two rounds in which it ran */
	if (!p || p->state != NC_DOM_RUNNING || !(dt > 0))
		return;
	if (d->vcpus)
		o->v[NC_VM_CPU_USAGE] = rate(p->cpu_time_ns, d->cpu_time_ns, dt) / 1e9 / d->vcpus;
	o->v[NC_VM_DISK_READ_BPS] = disks_rate(p, d, D_RD, dt);
	o->v[NC_VM_DISK_WRITE_BPS] = disks_rate(p, d, D_WR, dt);
	o->v[NC_VM_DISK_READ_OPS] = disks_rate(p, d, D_RDOPS, dt);
	o->v[NC_VM_DISK_WRITE_OPS] = disks_rate(p, d, D_WROPS, dt);
	o->v[NC_VM_NET_RX_BPS] = nics_rate(p, d, false, dt);
	o->v[NC_VM_NET_TX_BPS] = nics_rate(p, d, true, dt);
}

static void derive_pool(struct nc_tm_round *r, const char *host, const struct nc_pool_stats *p)
{
	struct nc_tm_object *o;
	/* NovaCron's libvirt pools are "novacron-POOL" (drivers/storage/storage.c): the
	 * object takes the spec StoragePool's name, which rules select by labels */
	bool ours = strncmp(p->name, "novacron-", 9) == 0 && p->name[9];
	const char *name = ours ? p->name + 9 : p->name;
	char *id = p->shared ? nc_xstrdup(name) : nc_xasprintf("%s@%s", name, host);

	o = nc_tm_round_add(r, NC_MT_POOL, name, p->shared ? NULL : host, id);
	o->managed = ours;
	free(id);
	o->v[NC_PM_CAPACITY] = (double)p->capacity;
	o->v[NC_PM_USED] = (double)p->allocation;
	o->v[NC_PM_AVAILABLE] = (double)p->available;
	o->v[NC_PM_USED_RATIO] = p->capacity ? (double)p->allocation / (double)p->capacity : NAN;
}

void nc_tm_derive(struct nc_tm_round *r, const char *host, const struct nc_host_stats *prev,
		  const struct nc_host_stats *cur)
{
	struct nc_tm_object *h = nc_tm_round_add(r, NC_MT_HOST, host, NULL, host);
	double dt, busy, total;
	size_t i, running = 0;

	h->v[NC_HM_UP] = cur ? 1 : 0;
	h->v[NC_HM_FAILED] = 0;
	if (!cur)
		return;
	if (prev && prev->t <= 0)
		prev = NULL;       /* the host gave nothing the round before */
	dt = prev ? cur->t - prev->t : NAN;
	h->v[NC_HM_CPUS] = cur->cpus ? (double)cur->cpus : NAN;
	if (prev) {
		busy = rate(prev->cpu_busy_ns, cur->cpu_busy_ns, dt);
		total = rate(prev->cpu_total_ns, cur->cpu_total_ns, dt);
		if (total > 0 && busy >= 0)
			h->v[NC_HM_CPU_USAGE] = busy > total ? 1 : busy / total;
	}
	if (cur->mem_total != NC_STAT_NONE && cur->mem_total > 0) {
		h->v[NC_HM_MEMORY_TOTAL] = (double)cur->mem_total;
		if (cur->mem_available != NC_STAT_NONE) {
			uint64_t used = cur->mem_available < cur->mem_total ? cur->mem_total - cur->mem_available : 0;

			h->v[NC_HM_MEMORY_USED] = (double)used;
			h->v[NC_HM_MEMORY_USED_RATIO] = (double)used / (double)cur->mem_total;
		}
	}
	for (i = 0; i < cur->ndoms; i++)
		running += cur->doms[i].state == NC_DOM_RUNNING;
	h->v[NC_HM_VMS_RUNNING] = (double)running;    /* before appending: h moves when objs grows */
	for (i = 0; i < cur->ndoms; i++)
		derive_vm(r, host, &cur->doms[i], prev_dom(prev, cur->doms[i].name), dt);
	for (i = 0; i < cur->npools; i++)
		derive_pool(r, host, &cur->pools[i]);
}
