/*
 * load.c - observed load for placement and rebalance (docs/placement.md,
 * "Observed load"): each VM's and host's use averaged over a window of the
 * history serve keeps (telemetry/store.h).
 *
 * The window ends at the newest point in the history, never at the wall
 * clock, so the same files always give the same figures and the same plan.
 * A VM's figures: CPU = cpu_usage x vcpus (vCPUs actually busy), memory =
 * memory_used_bytes, disk = read + write bytes/s, network = rx + tx bytes/s,
 * each the mean of the known AVERAGE points in the window (a point counts
 * when every series the figure needs is known there; gaps never count as
 * zero).  A host's: cpu_usage x cpus and memory_used_bytes.  A VM without a
 * known CPU and memory point in the window has no figures (placement then
 * uses its static ones and the plan says so).
 */
#include "placement.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../telemetry/forecast.h"
#include "../telemetry/store.h"

int nc_load_mode_of(const struct nc_policy *pol)
{
	if (!pol || !NC_IS_SET(pol->spec.load.mode))
		return NC_LOAD_STATIC;
	return pol->spec.load.mode.v;
}

unsigned nc_load_window(const struct nc_spec *spec)
{
	const struct nc_policy *pol;
	unsigned w = 0;
	size_t i;

	NC_SPEC_EACH(spec, NC_KIND_PLACEMENT_POLICY, const struct nc_policy, pol, i) {
		unsigned pw;

		if (nc_load_mode_of(pol) == NC_LOAD_STATIC)
			continue;
		pw = NC_IS_SET(pol->spec.load.window) ? (unsigned)(pol->spec.load.window.ms / 1000) : 3600;
		if (pw > w)
			w = pw;
	}
	return w;
}

void nc_load_fmt_window(unsigned s, char *buf, size_t len)
{
	if (s && s % 86400 == 0)
		snprintf(buf, len, "%ud", s / 86400);
	else if (s && s % 3600 == 0)
		snprintf(buf, len, "%uh", s / 3600);
	else if (s && s % 60 == 0)
		snprintf(buf, len, "%um", s / 60);
	else
		snprintf(buf, len, "%us", s);
}

static int obs_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_load_obs *)a)->id, ((const struct nc_load_obs *)b)->id);
}

const struct nc_load_obs *nc_load_find(const struct nc_load_obs *v, size_t n, const char *id)
{
	struct nc_load_obs key = { .id = (char *)id };

	if (!n || !id)
		return NULL;
	return bsearch(&key, v, n, sizeof(*v), obs_cmp);
}

void nc_load_release(struct nc_load_data *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nvms; i++)
		free(d->vms[i].id);
	for (i = 0; i < d->nhosts; i++)
		free(d->hosts[i].id);
	free(d->vms);
	free(d->hosts);
	memset(d, 0, sizeof(*d));
}

/* ---- reading the store ---- */

struct fetched {
	struct nc_tm_series s[2];
	bool have[2];
};

static const char *metric_name(enum nc_metric_target t, unsigned idx)
{
	return nc_metric_at(t, idx)->name;
}

static int fetch(struct nc_tm_store *st, enum nc_metric_target t, const char *id, unsigned idx,
		 time_t start, time_t end, struct nc_tm_series *out, bool *have, struct nc_err *err)
{
	int r = nc_tm_store_fetch(st, t, id, metric_name(t, idx), NC_TM_AVERAGE, start, end, 0, out, err);

	*have = r > 0;
	return r < 0 ? -1 : 0;
}

/* value of s at time t (the point whose interval holds t), NAN when none */
static double at(const struct nc_tm_series *s, time_t t)
{
	long i;

	if (!s->n || s->step <= 0 || t < s->start)
		return NAN;
	i = (long)((t - s->start) / s->step);
	return i >= 0 && (size_t)i < s->n ? s->v[i] : NAN;
}

/*
 * Mean over [start, end] of a op b (op: 0 a alone, 1 a*b, 2 a+b), on a's
 * points; false when no point is known.
 */
static bool mean(const struct nc_tm_series *a, const struct nc_tm_series *b, int op, time_t start,
		 time_t end, double *out)
{
	double sum = 0;
	size_t i, n = 0;

	for (i = 0; i < a->n; i++) {
		time_t t = a->start + (time_t)i * a->step;
		double x = a->v[i], y = 0;

		if (t < start || t > end || !isfinite(x))
			continue;
		if (op) {
			y = at(b, t);
			if (!isfinite(y))
				continue;
		}
		sum += op == 1 ? x * y : op == 2 ? x + y : x;
		n++;
	}
	if (!n)
		return false;
	*out = sum / (double)n;
	return true;
}

/* figure = mean of m1 (op) m2 of object id; false when unknown */
static int figure(struct nc_tm_store *st, enum nc_metric_target t, const char *id, unsigned m1,
		  int op, unsigned m2, time_t start, time_t end, double *out, bool *known,
		  struct nc_err *err)
{
	struct nc_tm_series a = { 0 }, b = { 0 };
	bool ha = false, hb = false;
	int ret = -1;

	*known = false;
	if (fetch(st, t, id, m1, start, end, &a, &ha, err) < 0)
		goto out;
	if (op && ha && fetch(st, t, id, m2, start, end, &b, &hb, err) < 0)
		goto out;
	if (ha && (!op || hb))
		*known = mean(&a, &b, op, start, end, out);
	ret = 0;
out:
	nc_tm_series_release(&a);
	nc_tm_series_release(&b);
	return ret;
}

/* The newest update among a target's files (the last round written), 0 when none. */
static time_t newest(const char *dir, enum nc_metric_target t, char **ids, size_t n)
{
	time_t end = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		time_t last = 0;

		if (nc_fit_last_update(dir, t, ids[i], &last) > 0 && last > end)
			end = last;
	}
	return end;
}

static void free_ids(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static void push(struct nc_load_obs **v, size_t *n, const char *id, const struct nc_load_figures *f,
		 bool has_io)
{
	*v = nc_xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].id = nc_xstrdup(id);
	(*v)[*n].f = *f;
	(*v)[*n].has_io = has_io;
	(*n)++;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* keeps the ids that want holds too (when want is given) */
static void pick(char **ids, size_t *n, const char *const *want, size_t nwant)
{
	const char **w;
	size_t i, k = 0;

	if (!want)
		return;
	w = nc_xcalloc(nwant ? nwant : 1, sizeof(*w));
	if (nwant)
		memcpy(w, want, nwant * sizeof(*w));
	qsort(w, nwant, sizeof(*w), str_cmp);
	for (i = 0; i < *n; i++) {
		if (nwant && bsearch(&ids[i], w, nwant, sizeof(*w), str_cmp))
			ids[k++] = ids[i];
		else
			free(ids[i]);
	}
	*n = k;
	free(w);
}

int nc_load_read(struct nc_load_data *out, const char *dir, unsigned window, const char *const *want_vms,
		 size_t nwant_vms, const char *const *want_hosts, size_t nwant_hosts, struct nc_err *err)
{
	/* the step matters only to writers; a reader takes each file's own */
	struct nc_tm_store_opts o = { .dir = dir, .step = 15, .read_only = true };
	struct nc_tm_store *st = NULL;
	struct nc_load_data d;
	char **vms = NULL, **hosts = NULL;
	size_t nvms = 0, nhosts = 0, i;
	time_t end, hend, start;
	int ret = -1;

	memset(&d, 0, sizeof(d));
	memset(out, 0, sizeof(*out));
	if (!dir || !window)
		return 0;
	if (nc_tm_store_open(&st, &o, err) < 0)
		return -1;
	if (nc_tm_store_list(st, NC_MT_VM, &vms, &nvms, err) < 0 ||
	    nc_tm_store_list(st, NC_MT_HOST, &hosts, &nhosts, err) < 0)
		goto out;
	/* the window's end comes from every file, so it does not depend on what is wanted */
	end = newest(dir, NC_MT_VM, vms, nvms);
	hend = newest(dir, NC_MT_HOST, hosts, nhosts);
	if (hend > end)
		end = hend;
	if (!end) {
		ret = 0;
		goto out;
	}
	pick(vms, &nvms, want_vms, nwant_vms);
	pick(hosts, &nhosts, want_hosts, nwant_hosts);
	start = end - (time_t)window;
	d.end = end;
	d.window = window;
	for (i = 0; i < nvms; i++) {
		struct nc_load_figures f = { 0 };
		bool kc, km, kd, kn;

		if (figure(st, NC_MT_VM, vms[i], NC_VM_CPU_USAGE, 1, NC_VM_VCPUS, start, end, &f.cpu, &kc, err) < 0 ||
		    figure(st, NC_MT_VM, vms[i], NC_VM_MEMORY_USED, 0, 0, start, end, &f.memory, &km, err) < 0 ||
		    figure(st, NC_MT_VM, vms[i], NC_VM_DISK_READ_BPS, 2, NC_VM_DISK_WRITE_BPS, start, end,
			   &f.disk, &kd, err) < 0 ||
		    figure(st, NC_MT_VM, vms[i], NC_VM_NET_RX_BPS, 2, NC_VM_NET_TX_BPS, start, end,
			   &f.net, &kn, err) < 0)
			goto out;
		if (kc && km)
			push(&d.vms, &d.nvms, vms[i], &f, kd && kn);
	}
	for (i = 0; i < nhosts; i++) {
		struct nc_load_figures f = { 0 };
		bool kc, km;

		if (figure(st, NC_MT_HOST, hosts[i], NC_HM_CPU_USAGE, 1, NC_HM_CPUS, start, end, &f.cpu, &kc, err) < 0 ||
		    figure(st, NC_MT_HOST, hosts[i], NC_HM_MEMORY_USED, 0, 0, start, end, &f.memory, &km, err) < 0)
			goto out;
		if (kc && km)
			push(&d.hosts, &d.nhosts, hosts[i], &f, false);
	}
	/* nc_tm_store_list sorts; keep the invariant even if it did not */
	if (d.nvms > 1)
		qsort(d.vms, d.nvms, sizeof(*d.vms), obs_cmp);
	if (d.nhosts > 1)
		qsort(d.hosts, d.nhosts, sizeof(*d.hosts), obs_cmp);
	ret = d.nvms || d.nhosts ? 1 : 0;
	if (ret)
		*out = d;
	else
		nc_load_release(&d);
out:
	if (ret < 0)
		nc_load_release(&d);
	free_ids(vms, nvms);
	free_ids(hosts, nhosts);
	nc_tm_store_close(st);
	return ret;
}

/* 1.5GiB (as placement's reasons write sizes) */
void nc_load_fmt_bytes(double bytes, const char *suffix, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t i = 0;

	while (bytes >= 1024 && i + 1 < NC_ARRAY_SIZE(u)) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, "%.4g%s%s", bytes, u[i], suffix);
}

char *nc_load_move_why(const struct nc_move *m, const char *from)
{
	char a[32], b[32], c[32];

	switch (m->dim) {
	case NC_LD_CPU:
		return nc_xasprintf("CPU load %s %.1f -> %.1f of %.0f", from, m->src_before, m->src_after, m->cap);
	case NC_LD_MEMORY:
		nc_load_fmt_bytes(m->src_before, "", a, sizeof(a));
		nc_load_fmt_bytes(m->src_after, "", b, sizeof(b));
		nc_load_fmt_bytes(m->cap, "", c, sizeof(c));
		return nc_xasprintf("memory in use %s %s -> %s of %s", from, a, b, c);
	case NC_LD_DISK:
	case NC_LD_NET:
		nc_load_fmt_bytes(m->src_before, "/s", a, sizeof(a));
		nc_load_fmt_bytes(m->src_after, "/s", b, sizeof(b));
		return nc_xasprintf("%s I/O %s %s -> %s", m->dim == NC_LD_DISK ? "disk" : "network", from, a, b);
	default:
		return nc_xstrdup("reserved sizes");
	}
}
