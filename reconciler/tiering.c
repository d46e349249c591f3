/*
 * tiering.c - StorageTierPolicy decisions in a plan (tiering.h).
 */
#include "tiering.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan-int.h"
#include "scope.h"
#include "../spec/metrics.h"
#include "../telemetry/forecast.h"
#include "../telemetry/store.h"

/* ---- activity from the telemetry history ---- */

void nc_tier_io_release(struct nc_tier_io_data *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		free(d->v[i].vm);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static int io_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_tier_io *)a)->vm, ((const struct nc_tier_io *)b)->vm);
}

/* the activity of one VM from its read and write series (same layout) */
static bool io_of(const struct nc_tm_series *r, const struct nc_tm_series *w, struct nc_tier_io *out)
{
	size_t i;
	bool any = false, run = false;

	for (i = 0; i < r->n; i++) {
		time_t t = r->start + (time_t)i * r->step;
		double x = r->v[i], y = i < w->n ? w->v[i] : NAN;

		if (!isfinite(x) && !isfinite(y))
			continue;
		if (!any)
			out->first = t;
		any = true;
		out->end = t;
		if ((isfinite(x) && x > 0) || (isfinite(y) && y > 0)) {
			if (!run)
				out->active_since = t;
			run = true;
			out->last_active = t;
		} else {
			run = false;
		}
	}
	return any;
}

int nc_tier_io_read(struct nc_tier_io_data *out, const char *dir, unsigned long lookback, struct nc_err *err)
{
	struct nc_tm_store_opts o = { .dir = dir, .step = 15, .read_only = true };
	struct nc_tm_store *st = NULL;
	char **ids = NULL;
	size_t n = 0, i;
	time_t end = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!dir)
		return 0;
	if (nc_tm_store_open(&st, &o, err) < 0)
		return -1;
	if (nc_tm_store_list(st, NC_MT_VM, &ids, &n, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		time_t last = 0;

		if (nc_fit_last_update(dir, NC_MT_VM, ids[i], &last) > 0 && last > end)
			end = last;
	}
	for (i = 0; end && i < n; i++) {
		struct nc_tm_series r = { 0 }, w = { 0 };
		struct nc_tier_io io;
		int a, b;

		memset(&io, 0, sizeof(io));
		/* the finest resolution that covers the span is taken */
		a = nc_tm_store_fetch(st, NC_MT_VM, ids[i], nc_metric_at(NC_MT_VM, NC_VM_DISK_READ_BPS)->name, NC_TM_AVERAGE, end - (time_t)lookback, end,
				      0, &r, err);
		b = a > 0 ? nc_tm_store_fetch(st, NC_MT_VM, ids[i], nc_metric_at(NC_MT_VM, NC_VM_DISK_WRITE_BPS)->name, NC_TM_AVERAGE,
					      end - (time_t)lookback, end, 0, &w, err) : 0;
		if (a < 0 || b < 0) {
			nc_tm_series_release(&r);
			nc_tm_series_release(&w);
			goto out;
		}
		if (a > 0 && io_of(&r, &w, &io)) {
			io.vm = nc_xstrdup(ids[i]);
			out->v = nc_xreallocarray(out->v, out->n + 1, sizeof(*out->v));
			out->v[out->n++] = io;
		}
		nc_tm_series_release(&r);
		nc_tm_series_release(&w);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), io_cmp);
	ret = out->n ? 1 : 0;
out:
	if (ret < 0)
		nc_tier_io_release(out);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	nc_tm_store_close(st);
	return ret;
}

/* ---- decisions ---- */

enum move_state { MV_MOVE, MV_POSTPONED, MV_HELD };

struct move {
	const struct nc_vm *vm;
	const struct nc_tier_policy *pol;
	const char *disk;
	size_t host;
	const struct nc_pool *from, *to;
	char *from_path, *to_path;
	uint64_t bytes;
	char *why;
	enum move_state state;
};

struct nc_tier_state {
	struct move *m;          /* sorted by VM, then disk */
	size_t n;
};

static const char *pool_tier(const struct nc_pool *p)
{
	return p && NC_IS_SET(p->spec.tier) ? p->spec.tier.v : NULL;
}

static char *vol_path(const struct nc_pool *p, const char *vm, const char *disk)
{
	return nc_xasprintf("%s/%s-%s.qcow2", p->spec.path.v ? p->spec.path.v : "/var/lib/novacron", vm, disk);
}

static bool pool_dir(const struct nc_pool *p)
{
	return p && (!NC_IS_SET(p->spec.type) || p->spec.type.v == NC_POOL_DIR) && p->spec.path.v;
}

static bool pool_on(const struct nc_pool *p, const struct nc_host *h)
{
	return !NC_IS_SET(p->spec.host_selector) || nc_selector_matches(&p->spec.host_selector, &h->obj.meta.labels);
}

/* the first dir pool of tier that host has, by name */
static const struct nc_pool *tier_pool(const struct nc_spec *spec, const char *tier, const struct nc_host *h)
{
	const struct nc_pool *pl;
	size_t i;

	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, pl, i)
		if (pool_dir(pl) && pool_tier(pl) && strcmp(pool_tier(pl), tier) == 0 && pool_on(pl, h))
			return pl;
	return NULL;
}

static const struct nc_tier_io *io_find(const struct nc_tier_io_data *d, const char *vm)
{
	struct nc_tier_io key = { .vm = (char *)vm };

	return d && d->n ? bsearch(&key, d->v, d->n, sizeof(*d->v), io_cmp) : NULL;
}

static void fmt_dur(uint64_t s, char *buf, size_t len)
{
	if (s >= 86400 && s % 86400 == 0)
		snprintf(buf, len, "%llud", (unsigned long long)(s / 86400));
	else if (s >= 86400)
		snprintf(buf, len, "%llud%lluh", (unsigned long long)(s / 86400), (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%s", (unsigned long long)(s / 3600), s % 3600 ? "+" : "");
	else
		snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
}

static void fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)v;
	size_t i = 0;

	while (x >= 1024 && i + 1 < NC_ARRAY_SIZE(u)) {
		x /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", x, u[i]);
}

/* the idle time of vm in seconds, or -1 when the history does not say */
static int64_t idle_secs(const struct nc_tier_io *io)
{
	if (!io)
		return -1;
	return (int64_t)(io->end - (io->last_active ? io->last_active : io->first));
}

/*
 * The rule of pol that matches vm (first in order), or NULL; *why_idle
 * says how long it was idle when an idleFor rule matched.
 */
static const struct nc_tier_rule *match_rule(const struct nc_tier_policy *pol, const struct nc_vm *vm,
					     const struct nc_tier_io *io, size_t *idx)
{
	size_t j;

	for (j = 0; j < pol->spec.rules.n; j++) {
		const struct nc_tier_rule *r = (const struct nc_tier_rule *)pol->spec.rules.v + j;

		if (NC_IS_SET(r->selector) && !nc_selector_matches(&r->selector, &vm->labels))
			continue;
		if (NC_IS_SET(r->idle_for) && (idle_secs(io) < 0 || (uint64_t)idle_secs(io) * 1000 < r->idle_for.ms))
			continue;
		*idx = j;
		return r;
	}
	return NULL;
}

/* does an idleFor rule of pol send disks to tier? (hysteresis guards the way back) */
static bool idle_tier(const struct nc_tier_policy *pol, const char *tier)
{
	size_t j;

	for (j = 0; tier && j < pol->spec.rules.n; j++) {
		const struct nc_tier_rule *r = (const struct nc_tier_rule *)pol->spec.rules.v + j;

		if (NC_IS_SET(r->idle_for) && strcmp(r->tier.v, tier) == 0)
			return true;
	}
	return false;
}

static const struct nc_tier_policy *policy_of(const struct nc_spec *spec, const struct nc_vm *vm)
{
	const struct nc_tier_policy *tp;
	size_t i;

	NC_SPEC_EACH(spec, NC_KIND_TIER_POLICY, const struct nc_tier_policy, tp, i)
		if (nc_selector_matches(&tp->spec.vm_selector, &vm->labels))
			return tp;
	return NULL;
}

/* the single managed copy of vm on a readable host: 1 with *host, *dom */
static int find_dom(const struct nc_cluster *c, const char *vm, size_t *host, const struct nc_domain **dom)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->nhosts; i++) {
		if (c->hosts[i].status != NC_HOST_OK)
			continue;
		for (j = 0; j < c->hosts[i].obs.ndoms; j++) {
			const struct nc_domain *d = &c->hosts[i].obs.doms[j];

			if (d->managed && d->meta_vm && strcmp(d->meta_vm, vm) == 0) {
				*host = i;
				*dom = d;
				n++;
			}
		}
	}
	return n == 1;
}

static int move_size_cmp(const void *pa, const void *pb)
{
	const struct move *a = pa, *b = pb;
	int c;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if ((c = strcmp(a->vm->obj.meta.name.v, b->vm->obj.meta.name.v)) != 0)
		return c;
	return strcmp(a->disk, b->disk);
}

static int move_vm_cmp(const void *pa, const void *pb)
{
	const struct move *a = pa, *b = pb;
	int c = strcmp(a->vm->obj.meta.name.v, b->vm->obj.meta.name.v);

	return c ? c : strcmp(a->disk, b->disk);
}

static void push(struct nc_tier_state *ts, const struct move *m)
{
	ts->m = nc_xreallocarray(ts->m, ts->n + 1, sizeof(*ts->m));
	ts->m[ts->n++] = *m;
}

/* the disk stays where it is (no note: nothing to say) */
static void stay(struct nc_tier_state *ts, struct move *m)
{
	m->state = MV_HELD;
	m->to = m->from;
	m->to_path = nc_xstrdup(m->from_path);
	push(ts, m);
}

struct nc_tier_state *nc_tier_prepare(struct nc_plan *p, size_t *alloc_n, const struct nc_spec *spec,
				      const struct nc_cluster *c, const struct nc_plan_opts *opts)
{
	struct nc_tier_state *ts;
	struct nc_tier_io_data own = { 0 };
	const struct nc_tier_io_data *io = opts->tier_io;
	const struct nc_vm *vm;
	const struct nc_tier_policy *tp;
	size_t i, j, k;

	const struct nc_pool *tiered;
	bool any = false;

	/* no pool has a tier: no disk was ever moved, none is to be */
	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, tiered, i)
		any |= pool_tier(tiered) != NULL;
	if (!any)
		return NULL;
	ts = nc_xcalloc(1, sizeof(*ts));
	bool idle_rules = false;

	NC_SPEC_EACH(spec, NC_KIND_TIER_POLICY, const struct nc_tier_policy, tp, i)
		for (j = 0; j < tp->spec.rules.n; j++)
			idle_rules |= NC_IS_SET(((const struct nc_tier_rule *)tp->spec.rules.v + j)->idle_for);
	/* the history only matters to idleFor rules (and the hysteresis of their tiers) */
	if (!io && idle_rules && opts->telemetry_dir) {
		struct nc_err err = { "" };
		unsigned long lookback = 3600;

		/* twice the longest span a rule looks at */
		NC_SPEC_EACH(spec, NC_KIND_TIER_POLICY, const struct nc_tier_policy, tp, i) {
			if (NC_IS_SET(tp->spec.hysteresis) && tp->spec.hysteresis.ms / 500 > lookback)
				lookback = (unsigned long)(tp->spec.hysteresis.ms / 500);
			for (j = 0; j < tp->spec.rules.n; j++) {
				const struct nc_tier_rule *r = (const struct nc_tier_rule *)tp->spec.rules.v + j;

				if (NC_IS_SET(r->idle_for) && r->idle_for.ms / 500 > lookback)
					lookback = (unsigned long)(r->idle_for.ms / 500);
			}
		}
		if (nc_tier_io_read(&own, opts->telemetry_dir, lookback, &err) < 0)
			nc_plan_add_note(p, alloc_n, NC_NOTE_WARNING, NULL,
					 "tiering: the telemetry history cannot be read (%s): idleFor rules match no VM",
					 err.msg);
		io = &own;
	}
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		const char *name = vm->obj.meta.name.v;
		const struct nc_tier_policy *pol = policy_of(spec, vm);
		const struct nc_tier_io *vio = io_find(io, name);
		const struct nc_domain *dom = NULL;
		const struct nc_host_view *hv;
		size_t host = 0, ridx = 0;
		const struct nc_tier_rule *rule;
		bool frozen;

		if ((NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT) ||
		    !nc_scope_vm_in(opts, vm) || !find_dom(c, name, &host, &dom))
			continue;
		hv = &c->hosts[host];
		/* suspended, or on a draining host: its disks stay where they are */
		frozen = nc_vm_suspended(vm) || hv->spec->spec.maintenance.v;
		rule = pol ? match_rule(pol, vm, vio, &ridx) : NULL;
		for (j = 0; j < vm->eff.disks.n; j++) {
			const struct nc_disk *dk = (const struct nc_disk *)vm->eff.disks.v + j;
			const struct nc_pool *home = NC_IS_SET(dk->pool) ?
				(const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, dk->pool.v) : NULL;
			const struct nc_pool *cur = NULL, *to = NULL, *pl;
			struct move m;
			char *cur_path = NULL;
			char a[32], b[32];

			if (!pool_dir(home) || !NC_IS_SET(dk->name))
				continue;
			/* where the disk is now: the dir pool whose volume the domain uses */
			NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, pl, k) {
				char *path;
				size_t d;

				if (!pool_dir(pl) || cur)
					continue;
				path = vol_path(pl, name, dk->name.v);
				for (d = 0; d < dom->ndisks; d++)
					if (dom->disks[d].source && strcmp(dom->disks[d].source, path) == 0) {
						cur = pl;
						cur_path = path;
						break;
					}
				if (!cur)
					free(path);
			}
			if (!cur)
				continue;    /* not made yet, or outside every pool: the update says so */
			memset(&m, 0, sizeof(m));
			m.vm = vm;
			m.pol = pol;
			m.disk = dk->name.v;
			m.host = host;
			m.from = cur;
			m.from_path = cur_path;
			for (k = 0; k < dom->ndisks; k++)
				if (dom->disks[k].source && strcmp(dom->disks[k].source, cur_path) == 0)
					m.bytes = dom->disks[k].allocation ? dom->disks[k].allocation : dom->disks[k].capacity;
			if (frozen) {
				/* suspended, or its host drained: kept where it is */
				stay(ts, &m);
				continue;
			}
			if (rule) {
				if (pool_tier(cur) && strcmp(pool_tier(cur), rule->tier.v) == 0) {
					stay(ts, &m);    /* already on its tier */
					continue;
				}
				to = tier_pool(spec, rule->tier.v, hv->spec);
				if (!to) {
					nc_plan_add_note(p, alloc_n, NC_NOTE_WARNING, name,
							 "tiering: disk %s of VM %s stays in pool %s: rule %zu of "
							 "StorageTierPolicy %s asks for tier %s, and host %s has no dir pool "
							 "of that tier", m.disk, name, cur->obj.meta.name.v, ridx + 1,
							 pol->obj.meta.name.v, rule->tier.v, hv->spec->obj.meta.name.v);
					stay(ts, &m);
					continue;
				}
				fmt_size(m.bytes, b, sizeof(b));
				if (NC_IS_SET(rule->idle_for)) {
					char since[40];

					fmt_dur((uint64_t)idle_secs(vio), a, sizeof(a));
					nc_time_iso(since, sizeof(since), vio->last_active ? vio->last_active : vio->first);
					m.why = nc_xasprintf("rule %zu of StorageTierPolicy %s (idleFor, tier %s): no block I/O "
							     "for %s (%s %s), %s", ridx + 1, pol->obj.meta.name.v, rule->tier.v,
							     a, vio->last_active ? "last at" : "none since", since, b);
				} else {
					m.why = nc_xasprintf("rule %zu of StorageTierPolicy %s (selector, tier %s), %s",
							     ridx + 1, pol->obj.meta.name.v, rule->tier.v, b);
				}
			} else {
				if (cur == home) {
					free(cur_path);
					continue;
				}
				to = home;
				fmt_size(m.bytes, b, sizeof(b));
				if (pol)
					m.why = nc_xasprintf("no rule of StorageTierPolicy %s matches: back to its own "
							     "pool, %s", pol->obj.meta.name.v, b);
				else
					m.why = nc_xasprintf("no StorageTierPolicy selects VM %s: back to its own pool, %s",
							     name, b);
				/* the way back up from an idle tier: only after activity for the hysteresis */
				if (pol && idle_tier(pol, pool_tier(cur))) {
					uint64_t hy = NC_IS_SET(pol->spec.hysteresis) ? pol->spec.hysteresis.ms
										     : NC_TIER_HYSTERESIS_MS;
					uint64_t act = vio && vio->last_active ?
						(uint64_t)(vio->last_active - vio->active_since) * 1000 : 0;

					if (act < hy) {
						fmt_dur(act / 1000, a, sizeof(a));
						fmt_dur(hy / 1000, b, sizeof(b));
						m.state = MV_HELD;
						free(m.why);
						m.why = nc_xasprintf("held in pool %s: active for %s of the %s hysteresis of "
								     "StorageTierPolicy %s", cur->obj.meta.name.v, a, b,
								     pol->obj.meta.name.v);
					}
				}
			}
			/* internal qcow2 snapshots do not follow a copy (blockcopy mirrors the active layer,
			 * an offline copy converts it): the disk stays while the VM has snapshots */
			if (dom->nsnaps && m.state == MV_MOVE) {
				free(m.why);
				m.state = MV_HELD;
				m.why = nc_xasprintf("held in pool %s: VM %s has %zu snapshot%s, which a move between "
						     "pools would not carry; delete them to let it move", cur->obj.meta.name.v,
						     name, dom->nsnaps, dom->nsnaps == 1 ? "" : "s");
			}
			m.to = to;
			m.to_path = vol_path(to, name, m.disk);
			push(ts, &m);
		}
	}
	/* each policy's budget: largest first, then by VM and disk */
	if (ts->n > 1)
		qsort(ts->m, ts->n, sizeof(*ts->m), move_size_cmp);
	for (i = 0; i <= spec->nobjs[NC_KIND_TIER_POLICY]; i++) {
		uint64_t budget, used = 0;
		char a[32], b[32];

		/* the last round: disks of VMs no policy selects any more, on the default budget */
		tp = i < spec->nobjs[NC_KIND_TIER_POLICY] ? (const struct nc_tier_policy *)spec->objs[NC_KIND_TIER_POLICY][i]
							   : NULL;
		budget = tp && NC_IS_SET(tp->spec.budget) ? tp->spec.budget.v : NC_TIER_BUDGET;

		for (j = 0; j < ts->n; j++) {
			struct move *m = &ts->m[j];

			if (m->pol != tp || m->state != MV_MOVE)
				continue;
			if (used + m->bytes <= budget) {
				used += m->bytes;
				continue;
			}
			m->state = MV_POSTPONED;
			fmt_size(m->bytes, a, sizeof(a));
			fmt_size(budget, b, sizeof(b));
			nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, m->vm->obj.meta.name.v,
					 "tiering: move of %s/%s from pool %s to %s (%s) postponed to a later pass: %s",
					 m->vm->obj.meta.name.v, m->disk, m->from->obj.meta.name.v, m->to->obj.meta.name.v, a,
					 m->bytes > budget ? "larger than the whole budget" :
					 "the budget of this pass is used by larger moves");
			/* the policy and its budget, as one sentence */
			{
				struct nc_note *n = &p->notes[p->nnotes - 1];
				char *t = tp ? nc_xasprintf("%s of StorageTierPolicy %s (%s)", n->text, tp->obj.meta.name.v, b)
					     : nc_xasprintf("%s (%s, the default)", n->text, b);

				free(n->text);
				n->text = t;
			}
		}
	}
	for (j = 0; j < ts->n; j++)
		if (ts->m[j].state == MV_HELD && ts->m[j].from != ts->m[j].to)
			nc_plan_add_note(p, alloc_n, NC_NOTE_INFO, ts->m[j].vm->obj.meta.name.v,
					 "tiering: disk %s of VM %s %s", ts->m[j].disk, ts->m[j].vm->obj.meta.name.v,
					 ts->m[j].why);
	if (ts->n > 1)
		qsort(ts->m, ts->n, sizeof(*ts->m), move_vm_cmp);
	nc_tier_io_release(&own);
	return ts;
}

static struct move *moves_of(const struct nc_tier_state *ts, const char *vm, size_t *n)
{
	size_t lo = 0, hi = ts ? ts->n : 0, e;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(ts->m[mid].vm->obj.meta.name.v, vm) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (e = lo; ts && e < ts->n && strcmp(ts->m[e].vm->obj.meta.name.v, vm) == 0; e++)
		;
	*n = e - lo;
	return ts ? ts->m + lo : NULL;
}

void nc_tier_vm(struct nc_tier_state *ts, struct nc_plan *p, size_t *alloc_a, const struct nc_vm *vm,
		struct nc_desired *des, size_t host, bool live)
{
	size_t n, i, k;
	struct move *m = moves_of(ts, vm->obj.meta.name.v, &n);
	struct nc_action *a = NULL;
	struct nc_buf why = NC_BUF_INIT;

	for (i = 0; i < n; i++) {
		/* where the disk is after this pass: its new pool, or where it is */
		const char *want = m[i].state == MV_MOVE ? m[i].to_path : m[i].from_path;
		const char *home = NULL;

		for (k = 0; k < des->def.ndisks; k++)
			if (des->def.disks[k].name && strcmp(des->def.disks[k].name, m[i].disk) == 0)
				home = des->def.disks[k].source = nc_arena_strdup(&des->arena, want);
		if (!home || m[i].state != MV_MOVE || m[i].host != host)
			continue;
		if (!a) {
			a = nc_plan_add_action(p, alloc_a, NC_ACT_MOVE_VOLUME, vm->obj.meta.name.v, host);
			a->vmref = vm;
			a->desired = des;
			a->live = live;
		}
		{
			char *field = nc_xasprintf("disk %s", m[i].disk);

			nc_plan_add_change(a, false, field, m[i].from->obj.meta.name.v, m[i].to->obj.meta.name.v);
			free(field);
		}
		a->copy_vols++;
		a->copy_bytes += m[i].bytes;
		nc_buf_addf(&why, "%s%s: %s", why.len ? "; " : "", m[i].disk, m[i].why);
	}
	if (a)
		a->reason = nc_xasprintf("%s (%s)", why.buf, live ? "live: block copy, then pivot" : "offline copy");
	nc_buf_release(&why);
}

void nc_tier_filter(const struct nc_tier_state *ts, const struct nc_vm *vm, struct nc_action *tmp)
{
	size_t n, i, k, out = 0;
	struct move *m = moves_of(ts, vm->obj.meta.name.v, &n);

	for (k = 0; k < tmp->nchanges; k++) {
		struct nc_change *ch = &tmp->changes[k];
		bool drop = false;

		for (i = 0; i < n && !drop; i++) {
			char *field = nc_xasprintf("disk %s", m[i].disk);
			const char *at;

			/* the same disk, and only its file differs: from's C path is to's T path */
			if (m[i].state == MV_MOVE && strcmp(ch->field, field) == 0 && ch->from && ch->to &&
			    (at = strstr(ch->from, m[i].from_path)) != NULL) {
				char *exp = nc_xasprintf("%.*s%s%s", (int)(at - ch->from), ch->from, m[i].to_path,
							 at + strlen(m[i].from_path));

				drop = strcmp(exp, ch->to) == 0;
				free(exp);
			}
			free(field);
		}
		if (drop) {
			free(ch->field);
			free(ch->from);
			free(ch->to);
		} else {
			tmp->changes[out++] = *ch;
		}
	}
	tmp->nchanges = out;
}

void nc_tier_free(struct nc_tier_state *ts)
{
	size_t i;

	if (!ts)
		return;
	for (i = 0; i < ts->n; i++) {
		free(ts->m[i].from_path);
		free(ts->m[i].to_path);
		free(ts->m[i].why);
	}
	free(ts->m);
	free(ts);
}

const struct nc_pool *nc_tier_disk_pool(const struct nc_spec *spec, const struct nc_pool *home,
					const struct nc_domain_def *def, const char *disk)
{
	const struct nc_pool *pl;
	const char *src = NULL;
	size_t i;

	for (i = 0; i < def->ndisks; i++)
		if (def->disks[i].name && strcmp(def->disks[i].name, disk) == 0)
			src = def->disks[i].source;
	if (!src || !pool_dir(home))
		return home;
	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, pl, i) {
		char *path;
		bool same;

		if (!pool_dir(pl) || !pool_tier(pl))
			continue;
		path = vol_path(pl, def->name, disk);
		same = strcmp(path, src) == 0;
		free(path);
		if (same)
			return pl;
	}
	return home;
}
