/*
 * cmd-capacity.c - `novacron capacity [PATH...] [--template NAME] [--output text|json]`
 *
 * Without a PATH the spec is the one the configuration's source: names
 * (nc_cli_spec_load), never a blind ".".
 *
 * Observes the cluster and reports, per host, what is used of its capacity
 * (times overcommit), whether its VMs could all restart on the other hosts
 * if it failed (N+1), the cluster's imbalance score (docs/placement.md), and
 * with --template how many more VMs of that template fit.
 * Exit: 0 N+1 holds, 2 some host fails N+1, 1 error.
 *
 * With --forecast [HORIZON] it reports instead, from the telemetry history
 * (STATE_DIR/telemetry or --telemetry-dir), when memory, CPU and disk run out
 * at the current trend per host, pool and the whole cluster (least squares
 * over --window of 1 h averages, telemetry/forecast.h), and with --template
 * how many more VMs fit now and at the horizon (docs/monitoring.md
 * "Forecasts").  "Now" is the history's newest update (or --now), never the
 * wall clock.  Exit: 0 nothing runs out within the horizon, 2 something
 * does, 1 error.
 */
#include "jsonout.h"
#include "clusters.h"
#include "pass-cli.h"
#include "../policies/placement.h"
#include "../telemetry/forecast.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void pct(struct nc_buf *b, double used, double cap)
{
	char u[32], c[32];

	nc_size_format((uint64_t)used / 1048576 * 1048576, u, sizeof(u));
	nc_size_format((uint64_t)cap / 1048576 * 1048576, c, sizeof(c));
	nc_buf_addf(b, "%s/%s (%.0f%%)", u, c, cap > 0 ? used / cap * 100 : 0);
}

/* ---- --forecast: when memory, CPU and disk run out at the current trend
 * (docs/monitoring.md "Forecasts") ---- */

#define FC_FORMAT_VERSION 1
#define FC_MIN_POINTS 12

enum fc_status { FC_NO_DATA, FC_NO_LIMIT, FC_ALREADY, FC_RUNS_OUT, FC_NOT_WITHIN, FC_NEVER };
static const char *const fc_status_names[] = {
	"not_enough_data", "no_limit", "already", "runs_out", "not_within_horizon", "never",
};

struct fc_row {
	const char *kind;            /* "host", "pool", "cluster" */
	char *object;
	const char *resource;        /* "memory", "cpu", "disk" */
	const char *metric, *limit_metric;
	bool ratio;                  /* cpu: a share of 1.0; else bytes */
	struct nc_fit fit;
	double used, limit;          /* newest known values (NAN: unknown) */
	enum fc_status status;
	time_t reach;
};

struct fc_report {
	struct fc_row *rows;
	size_t n;
	time_t now, horizon, window, resolution, min_span;
	size_t min_points;
	bool fit_done;               /* --template */
	const char *tmpl;
	size_t fit_now, fit_horizon;
};

/* "30d", "7d", "36h", "90m", "600s", "2w": seconds, or -1 */
static time_t fc_duration(const char *s)
{
	static const struct { char unit; time_t sec; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
	};
	char *end;
	unsigned long long v;
	size_t i;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0 || v > 100ULL * 365 * 86400 || end[0] == '\0' || end[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit && v <= 100ULL * 365 * 86400 / (unsigned long long)units[i].sec)
			return (time_t)v * units[i].sec;
	return -1;
}

/* 2d 6h, 42h -> "1d 18h": the two largest non-zero parts */
static void fc_dur_format(struct nc_buf *b, time_t s)
{
	static const struct { const char *unit; time_t sec; } units[] = {
		{ "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 },
	};
	size_t i, parts = 0;

	if (s <= 0) {
		nc_buf_adds(b, "0s");
		return;
	}
	for (i = 0; i < 4 && parts < 2; i++) {
		if (s >= units[i].sec) {
			nc_buf_addf(b, "%s%lld%s", parts ? " " : "", (long long)(s / units[i].sec), units[i].unit);
			s %= units[i].sec;
			parts++;
		} else if (parts) {
			break;
		}
	}
}

enum fc_datefmt { FC_DAY, FC_MINUTE, FC_ISO };

static void fc_date(char *buf, size_t len, time_t t, enum fc_datefmt f)
{
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&t, &tm))
		n = f == FC_DAY ? strftime(buf, len, "%Y-%m-%d", &tm) :
		    f == FC_MINUTE ? strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) :
		    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!n)
		snprintf(buf, len, "%lld", (long long)t);
}

/* "--now 2026-12-07T12:00:00Z" or unix seconds */
static int fc_parse_now(const char *s, time_t *out)
{
	struct tm tm;
	char *end;

	if (*s && strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		*out = (time_t)strtoll(s, &end, 10);
		return errno || *out <= 0 ? -1 : 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return *out > 0 ? 0 : -1;
}

/* sizes in binary units with one decimal ("40GiB", "1.5GiB", "-512MiB") */
static void fc_bytes(struct nc_buf *b, double v, bool sign)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double a = fabs(v);
	size_t i = 0;
	char num[48];
	size_t len;

	/* (1023.96 MiB shows as 1GiB, not 1024MiB) */
	while (i + 1 < sizeof(names) / sizeof(names[0]) && a >= 1023.95) {
		a /= 1024;
		i++;
	}
	snprintf(num, sizeof(num), "%.1f", a);
	len = strlen(num);
	if (len > 2 && strcmp(num + len - 2, ".0") == 0)
		num[len - 2] = '\0';
	nc_buf_addf(b, "%s%s%s", v < 0 ? "-" : sign ? "+" : "", num, names[i]);
}

static double fc_last_known(const struct nc_tm_series *s)
{
	size_t i;

	for (i = s->n; i-- > 0;)
		if (isfinite(s->v[i]))
			return s->v[i];
	return NAN;
}

/* the value of s at time t (a point of its grid), else NAN */
static double fc_at(const struct nc_tm_series *s, time_t t)
{
	time_t d = t - s->start;

	if (!s->v || s->step <= 0 || d < 0 || d % s->step || (size_t)(d / s->step) >= s->n)
		return NAN;
	return s->v[d / s->step];
}

/* acc += s point by point on acc's grid (an unknown value on either side is a gap);
 * an empty acc takes a copy of s */
static void fc_sum(struct nc_tm_series *acc, const struct nc_tm_series *s)
{
	size_t i;

	if (!acc->v) {
		*acc = *s;
		acc->v = nc_xmalloc((s->n ? s->n : 1) * sizeof(double));
		if (s->n)
			memcpy(acc->v, s->v, s->n * sizeof(double));
		return;
	}
	for (i = 0; i < acc->n; i++)
		acc->v[i] += fc_at(s, acc->start + (time_t)i * acc->step);
}

static bool fc_any(const struct nc_tm_series *s)
{
	return s->v && isfinite(fc_last_known(s));
}

static struct fc_row *fc_add(struct fc_report *rep, const char *kind, const char *object,
			     const char *resource, const char *metric, const char *limit_metric, bool ratio)
{
	struct fc_row *r;

	rep->rows = nc_xreallocarray(rep->rows, rep->n + 1, sizeof(*rep->rows));
	r = &rep->rows[rep->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->object = nc_xstrdup(object);
	r->resource = resource;
	r->metric = metric;
	r->limit_metric = limit_metric;
	r->ratio = ratio;
	r->used = r->limit = NAN;
	r->fit.last_value = NAN;
	return r;
}

/* fits used (averages: each point is placed at the middle of its interval) against limit */
static void fc_finish(struct fc_report *rep, struct fc_row *r, struct nc_tm_series *used, double limit)
{
	struct nc_tm_series mid;

	if (used && used->v) {
		mid = *used;
		mid.start -= mid.step / 2;
		nc_fit_series(&mid, rep->min_points, rep->min_span, &r->fit);
	}
	r->used = r->fit.last_value;
	r->limit = limit;
	if (!r->fit.ok) {
		r->status = FC_NO_DATA;
	} else if (!isfinite(limit) || limit <= 0) {
		r->status = FC_NO_LIMIT;
	} else {
		r->reach = nc_fit_reach(&r->fit, limit, rep->now);
		r->status = !r->reach ? FC_NEVER : r->reach <= rep->now ? FC_ALREADY :
			    r->reach > rep->now + rep->horizon ? FC_NOT_WITHIN : FC_RUNS_OUT;
	}
}

/* 1 fetched, 0 no history (or unreadable: warned), -1 error */
static int fc_fetch(struct nc_tm_store *st, const struct fc_report *rep, enum nc_metric_target t,
		    const char *id, const char *metric, struct nc_tm_series *out)
{
	struct nc_err err;
	int rc;

	memset(out, 0, sizeof(*out));
	err.msg[0] = '\0';
	rc = nc_tm_store_fetch(st, t, id, metric, NC_TM_AVERAGE, rep->now - rep->window, rep->now,
			       rep->resolution, out, &err);
	if (rc < 0) {
		fprintf(stderr, "novacron capacity: warning: %s %s: %s\n", nc_metric_target_name(t), id, err.msg);
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (rc <= 0 || !out->v)
		return 0;
	/* only the intervals inside [now - window, now]: librrd widens the
	 * range to whole rows, which may hold what came after --now */
	while (out->n && out->start - out->step < rep->now - rep->window) {
		memmove(out->v, out->v + 1, (out->n - 1) * sizeof(double));
		out->start += out->step;
		out->n--;
	}
	while (out->n && out->start + (time_t)(out->n - 1) * out->step > rep->now)
		out->n--;
	return 1;
}

/* the store's pool ids for the spec's pools ("NAME@HOST" for a host's own pool, "NAME" when shared) */
static bool fc_pool_declared(const struct nc_spec *spec, const char *id)
{
	const char *at = strchr(id, '@');
	char *name = at ? nc_xstrndup(id, (size_t)(at - id)) : nc_xstrdup(id);
	bool ok = nc_spec_find(spec, NC_KIND_STORAGE_POOL, name) &&
		  (!at || nc_spec_find(spec, NC_KIND_HOST, at + 1));

	free(name);
	return ok;
}

static int fc_build(struct fc_report *rep, const struct nc_spec *spec, const char *dir, bool now_given)
{
	struct nc_tm_store_opts so;
	struct nc_tm_store *st = NULL;
	struct nc_tm_series cl_mem = { 0 }, cl_prod = { 0 }, cl_cpus = { 0 }, cl_disk = { 0 };
	double cl_mem_limit = 0, cl_disk_limit = 0;
	bool any_mem = false, any_cpu = false, any_disk = false;
	struct nc_err err;
	char **pools = NULL;
	size_t npools = 0, i;
	struct nc_host *h;
	int ret = -1;

	memset(&so, 0, sizeof(so));
	so.dir = dir;
	so.step = 15;           /* unused when reading */
	so.read_only = true;
	err.msg[0] = '\0';
	if (nc_tm_store_open(&st, &so, &err) < 0) {
		fprintf(stderr, "novacron capacity: %s\n", err.msg);
		return -1;
	}
	if (nc_tm_store_list(st, NC_MT_POOL, &pools, &npools, &err) < 0) {
		fprintf(stderr, "novacron capacity: %s\n", err.msg);
		goto out;
	}
	if (!now_given) {
		/* the newest point of the history, never the wall clock */
		time_t last;

		rep->now = 0;
		NC_SPEC_EACH(spec, NC_KIND_HOST, struct nc_host, h, i)
			if (nc_fit_last_update(dir, NC_MT_HOST, h->obj.meta.name.v, &last) > 0 && last > rep->now)
				rep->now = last;
		for (i = 0; i < npools; i++)
			if (fc_pool_declared(spec, pools[i]) &&
			    nc_fit_last_update(dir, NC_MT_POOL, pools[i], &last) > 0 && last > rep->now)
				rep->now = last;
		if (!rep->now) {
			fprintf(stderr, "novacron capacity: no telemetry history of this spec's hosts or pools in %s "
				"(serve keeps it: docs/monitoring.md)\n", dir);
			goto out;
		}
	}

	NC_SPEC_EACH(spec, NC_KIND_HOST, struct nc_host, h, i) {
		const char *name = h->obj.meta.name.v;
		struct nc_tm_series used = { 0 }, total = { 0 }, cpu = { 0 }, cpus = { 0 };
		bool mem_ok, cpu_ok;

		if (!nc_tm_id_ok(name))
			continue;
		fc_fetch(st, rep, NC_MT_HOST, name, "memory_used_bytes", &used);
		fc_fetch(st, rep, NC_MT_HOST, name, "memory_total_bytes", &total);
		fc_fetch(st, rep, NC_MT_HOST, name, "cpu_usage", &cpu);
		fc_fetch(st, rep, NC_MT_HOST, name, "cpus", &cpus);
		/* (fc_add moves the rows: no pointer kept across it) */
		fc_finish(rep, fc_add(rep, "host", name, "memory", "memory_used_bytes", "memory_total_bytes", false),
			  &used, total.v ? fc_last_known(&total) : NAN);
		mem_ok = rep->rows[rep->n - 1].fit.ok;
		fc_finish(rep, fc_add(rep, "host", name, "cpu", "cpu_usage", NULL, true), &cpu, 1.0);
		cpu_ok = rep->rows[rep->n - 1].fit.ok;
		/* the cluster: the hosts with enough data of their own (one added
		 * yesterday would otherwise leave the sum a day long) */
		if (mem_ok && fc_any(&total)) {
			fc_sum(&cl_mem, &used);
			cl_mem_limit += fc_last_known(&total);
			any_mem = true;
		}
		if (cpu_ok && fc_any(&cpus)) {
			/* busy CPUs = usage x CPUs, summed; over the CPUs summed */
			for (size_t k = 0; k < cpu.n; k++)
				cpu.v[k] *= fc_at(&cpus, cpu.start + (time_t)k * cpu.step);
			fc_sum(&cl_prod, &cpu);
			fc_sum(&cl_cpus, &cpus);
			any_cpu = true;
		}
		nc_tm_series_release(&used);
		nc_tm_series_release(&total);
		nc_tm_series_release(&cpu);
		nc_tm_series_release(&cpus);
	}
	for (i = 0; i < npools; i++) {
		struct nc_tm_series used = { 0 }, cap = { 0 };
		struct fc_row *row;

		if (!fc_pool_declared(spec, pools[i]))
			continue;
		fc_fetch(st, rep, NC_MT_POOL, pools[i], "used_bytes", &used);
		fc_fetch(st, rep, NC_MT_POOL, pools[i], "capacity_bytes", &cap);
		row = fc_add(rep, "pool", pools[i], "disk", "used_bytes", "capacity_bytes", false);
		fc_finish(rep, row, &used, cap.v ? fc_last_known(&cap) : NAN);
		if (row->fit.ok && fc_any(&cap)) {
			/* each pool once: a shared (rbd) pool has one id for every host */
			fc_sum(&cl_disk, &used);
			cl_disk_limit += fc_last_known(&cap);
			any_disk = true;
		}
		nc_tm_series_release(&used);
		nc_tm_series_release(&cap);
	}
	fc_finish(rep, fc_add(rep, "cluster", "cluster", "memory", "memory_used_bytes", "memory_total_bytes", false),
		  any_mem ? &cl_mem : NULL, any_mem ? cl_mem_limit : NAN);
	if (any_cpu)
		for (i = 0; i < cl_prod.n; i++)
			cl_prod.v[i] /= fc_at(&cl_cpus, cl_prod.start + (time_t)i * cl_prod.step);
	fc_finish(rep, fc_add(rep, "cluster", "cluster", "cpu", "cpu_usage", NULL, true),
		  any_cpu ? &cl_prod : NULL, 1.0);
	fc_finish(rep, fc_add(rep, "cluster", "cluster", "disk", "used_bytes", "capacity_bytes", false),
		  any_disk ? &cl_disk : NULL, any_disk ? cl_disk_limit : NAN);
	ret = 0;
out:
	nc_tm_series_release(&cl_mem);
	nc_tm_series_release(&cl_prod);
	nc_tm_series_release(&cl_cpus);
	nc_tm_series_release(&cl_disk);
	for (i = 0; i < npools; i++)
		free(pools[i]);
	free(pools);
	nc_tm_store_close(st);
	return ret;
}

static const struct fc_row *fc_find(const struct fc_report *rep, const char *kind, const char *object,
				    const char *resource)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (strcmp(rep->rows[i].kind, kind) == 0 && strcmp(rep->rows[i].object, object) == 0 &&
		    strcmp(rep->rows[i].resource, resource) == 0)
			return &rep->rows[i];
	return NULL;
}

/* growth of a row's line over the horizon (0 when flat, falling or unknown) */
static double fc_growth(const struct fc_report *rep, const struct fc_row *r)
{
	if (!r || !r->fit.ok || !(r->fit.slope > 0))
		return 0;
	return r->fit.slope * (double)rep->horizon;
}

/* how many more VMs like t fit now, and with each host's forecast growth reserved first */
static void fc_template(struct fc_report *rep, const struct nc_spec *spec, const struct nc_template *t,
			const char *state_dir, const struct nc_cli_config *cfg, unsigned timeout)
{
	struct nc_observe_opts oo;
	struct nc_cluster c;
	struct nc_placement_state *ps, *later;
	struct nc_vm like, *growth;
	size_t i;

	memset(&oo, 0, sizeof(oo));
	oo.state_dir = state_dir;
	oo.timeout_ms = timeout * 1000;
	oo.connections = &cfg->connections;
	nc_observe(&c, spec, &oo);
	ps = nc_placement_new(spec, &c);
	memset(&like, 0, sizeof(like));
	like.obj.kind = NC_KIND_VM;
	like.obj.meta.name.v = "(template)";
	like.eff = t->eff;
	like.labels = t->eff.labels;
	rep->fit_done = true;
	rep->tmpl = t->obj.meta.name.v;
	if (!NC_IS_SET(like.eff.vcpus) || !NC_IS_SET(like.eff.memory)) {
		nc_placement_free(ps);
		nc_cluster_release(&c);
		return;
	}
	rep->fit_now = nc_fit_count(ps, &like, 100000);
	later = nc_placement_clone(ps);
	growth = nc_xcalloc(c.nhosts ? c.nhosts : 1, sizeof(*growth));
	for (i = 0; i < c.nhosts; i++) {
		const char *name = c.hosts[i].spec->obj.meta.name.v;
		const struct fc_row *mem = fc_find(rep, "host", name, "memory");
		const struct fc_row *cpu = fc_find(rep, "host", name, "cpu");
		double cpus = nc_placement_load(ps, i)->cap_vcpus, busy = 0;

		/* the CPU share's growth, reserved as the same share of the
		 * host's schedulable vCPUs (its CPUs x overcommit) */
		busy = fc_growth(rep, cpu) * cpus;
		growth[i].obj.kind = NC_KIND_VM;
		growth[i].obj.meta.name.v = "(forecast growth)";
		growth[i].eff.memory.v = (uint64_t)ceil(fc_growth(rep, mem));
		growth[i].eff.vcpus.v = (int64_t)ceil(busy);
		if (growth[i].eff.memory.v || growth[i].eff.vcpus.v)
			nc_placement_put(later, &growth[i], i);
	}
	rep->fit_horizon = nc_fit_count(later, &like, 100000);
	nc_placement_free(later);
	free(growth);
	nc_placement_free(ps);
	nc_cluster_release(&c);
}

static void fc_now_text(struct nc_buf *b, const struct fc_row *r)
{
	if (!isfinite(r->used)) {
		nc_buf_adds(b, "-");
	} else if (r->ratio) {
		nc_buf_addf(b, "%.1f%%", r->used * 100);
	} else {
		fc_bytes(b, r->used, false);
		if (isfinite(r->limit) && r->limit > 0) {
			nc_buf_addc(b, '/');
			fc_bytes(b, r->limit, false);
			nc_buf_addf(b, " (%.1f%%)", r->used / r->limit * 100);
		}
	}
}

static void fc_trend_text(struct nc_buf *b, const struct fc_row *r)
{
	double d = r->fit.slope * 86400;

	if (!r->fit.ok)
		nc_buf_adds(b, "-");
	else if (r->ratio)
		nc_buf_addf(b, "%+.2f pts", d * 100 + 0.0);
	else
		fc_bytes(b, d, true);
}

static void fc_outcome_text(struct nc_buf *b, const struct fc_report *rep, const struct fc_row *r)
{
	char day[32];

	switch (r->status) {
	case FC_NO_DATA:
		nc_buf_addf(b, "not enough data (%zu point%s over ", r->fit.points, r->fit.points == 1 ? "" : "s");
		fc_dur_format(b, r->fit.points ? r->fit.last - r->fit.first : 0);
		nc_buf_addf(b, "; need %zu over ", rep->min_points);
		fc_dur_format(b, rep->min_span);
		nc_buf_addc(b, ')');
		break;
	case FC_NO_LIMIT:
		nc_buf_adds(b, "no known limit");
		break;
	case FC_ALREADY:
		nc_buf_adds(b, "already at the limit");
		break;
	case FC_RUNS_OUT:
		fc_date(day, sizeof(day), r->reach, FC_DAY);
		nc_buf_adds(b, day);
		break;
	case FC_NOT_WITHIN:
		nc_buf_adds(b, "not within ");
		fc_dur_format(b, rep->horizon);
		break;
	case FC_NEVER:
		nc_buf_adds(b, "never at this trend");
		break;
	}
}

static void fc_object_text(struct nc_buf *b, const struct fc_row *r)
{
	if (strcmp(r->kind, "cluster") == 0)
		nc_buf_adds(b, "cluster");
	else
		nc_buf_addf(b, "%s %s", r->kind, r->object);
}

static void fc_header_text(struct nc_buf *b, const struct fc_report *rep, bool capital)
{
	char now[32], until[32];

	fc_date(now, sizeof(now), rep->now, FC_MINUTE);
	fc_date(until, sizeof(until), rep->now + rep->horizon, FC_DAY);
	nc_buf_adds(b, capital ? "Trend over " : "trend over ");
	fc_dur_format(b, rep->window);
	nc_buf_adds(b, " of ");
	fc_dur_format(b, rep->resolution ? rep->resolution : 1);
	nc_buf_addf(b, " averages up to %s; horizon ", now);
	fc_dur_format(b, rep->horizon);
	nc_buf_addf(b, " (%s)", until);
}

static void fc_render_text(struct nc_buf *b, const struct fc_report *rep)
{
	size_t i;

	nc_buf_adds(b, "Capacity forecast: ");
	fc_header_text(b, rep, false);
	nc_buf_addf(b, ".\n\n%-24s %-8s %-26s %-12s %6s %6s  %s\n", "OBJECT", "RESOURCE", "NOW", "TREND/DAY",
		    "R2", "POINTS", "RUNS OUT");
	for (i = 0; i < rep->n; i++) {
		const struct fc_row *r = &rep->rows[i];
		struct nc_buf obj = NC_BUF_INIT, now = NC_BUF_INIT, trend = NC_BUF_INIT, outc = NC_BUF_INIT;
		char r2[16];

		fc_object_text(&obj, r);
		fc_now_text(&now, r);
		fc_trend_text(&trend, r);
		fc_outcome_text(&outc, rep, r);
		if (r->fit.ok)
			snprintf(r2, sizeof(r2), "%.3f", r->fit.r2);
		else
			snprintf(r2, sizeof(r2), "-");
		nc_buf_addf(b, "%-24s %-8s %-26s %-12s %6s %6zu  %s\n", obj.buf, r->resource, now.buf, trend.buf,
			    r2, r->fit.points, outc.buf);
		nc_buf_release(&obj);
		nc_buf_release(&now);
		nc_buf_release(&trend);
		nc_buf_release(&outc);
	}
	if (rep->fit_done)
		nc_buf_addf(b, "\nTemplate %s: %zu more VM%s fit now, %zu at the horizon (each host's forecast "
			       "memory and CPU growth reserved first).\n", rep->tmpl, rep->fit_now,
			    rep->fit_now == 1 ? "" : "s", rep->fit_horizon);
}

static void fc_render_markdown(struct nc_buf *b, const struct fc_report *rep)
{
	size_t i;

	nc_buf_adds(b, "### Capacity forecast\n\n");
	fc_header_text(b, rep, true);
	nc_buf_adds(b, ".\n\n| Object | Resource | Now | Trend/day | R² | Points | Runs out |\n"
		       "|---|---|---|---|---:|---:|---|\n");
	for (i = 0; i < rep->n; i++) {
		const struct fc_row *r = &rep->rows[i];
		bool bold = r->status == FC_RUNS_OUT || r->status == FC_ALREADY;

		nc_buf_adds(b, "| ");
		fc_object_text(b, r);
		nc_buf_addf(b, " | %s | ", r->resource);
		fc_now_text(b, r);
		nc_buf_adds(b, " | ");
		fc_trend_text(b, r);
		if (r->fit.ok)
			nc_buf_addf(b, " | %.3f | %zu | %s", r->fit.r2, r->fit.points, bold ? "**" : "");
		else
			nc_buf_addf(b, " | - | %zu | ", r->fit.points);
		fc_outcome_text(b, rep, r);
		nc_buf_addf(b, "%s |\n", bold ? "**" : "");
	}
	if (rep->fit_done)
		nc_buf_addf(b, "\nTemplate **%s**: %zu more VM%s fit now, %zu at the horizon.\n", rep->tmpl,
			    rep->fit_now, rep->fit_now == 1 ? "" : "s", rep->fit_horizon);
}

static struct json_object *fc_time_json(time_t t, bool day)
{
	char s[32];

	fc_date(s, sizeof(s), t, day ? FC_DAY : FC_ISO);
	return json_object_new_string(s);
}

/* the forecast as JSON (docs/json.md "capacity --forecast") */
static struct json_object *fc_render_json(const struct fc_report *rep)
{
	struct json_object *doc = nc_json_doc(FC_FORMAT_VERSION), *rows;
	size_t i;

	nc_json_set(doc, "now", fc_time_json(rep->now, false));
	nc_json_set(doc, "horizon_seconds", json_object_new_int64((int64_t)rep->horizon));
	nc_json_set(doc, "horizon_end", fc_time_json(rep->now + rep->horizon, false));
	nc_json_set(doc, "window_seconds", json_object_new_int64((int64_t)rep->window));
	nc_json_set(doc, "resolution_seconds", json_object_new_int64((int64_t)rep->resolution));
	nc_json_set(doc, "min_points", nc_json_new_u64(rep->min_points));
	nc_json_set(doc, "min_span_seconds", json_object_new_int64((int64_t)rep->min_span));
	rows = json_object_new_array_ext((int)rep->n);
	for (i = 0; i < rep->n; i++) {
		const struct fc_row *r = &rep->rows[i];
		struct json_object *o = json_object_new_object();
		struct nc_buf outc = NC_BUF_INIT;
		bool reach = r->status == FC_RUNS_OUT || r->status == FC_ALREADY;

		nc_json_set(o, "target", nc_json_new_str(r->kind));
		nc_json_set(o, "object", nc_json_new_str(r->object));
		nc_json_set(o, "resource", nc_json_new_str(r->resource));
		nc_json_set(o, "metric", nc_json_new_str(r->metric));
		nc_json_set(o, "unit", json_object_new_string(r->ratio ? "ratio" : "bytes"));
		nc_json_set(o, "used", nc_json_new_fixed(r->used, r->ratio ? 6 : 0));
		nc_json_set(o, "limit", nc_json_new_fixed(r->limit, r->ratio ? 6 : 0));
		nc_json_set(o, "points", nc_json_new_u64(r->fit.points));
		nc_json_set(o, "first", r->fit.points ? fc_time_json(r->fit.first, false) : NULL);
		nc_json_set(o, "last", r->fit.points ? fc_time_json(r->fit.last, false) : NULL);
		nc_json_set(o, "enough_data", json_object_new_boolean(r->fit.ok));
		nc_json_set(o, "trend_per_day", nc_json_new_fixed(r->fit.ok ? r->fit.slope * 86400 : NAN, r->ratio ? 9 : 0));
		nc_json_set(o, "r2", nc_json_new_fixed(r->fit.ok ? r->fit.r2 : NAN, 6));
		nc_json_set(o, "status", json_object_new_string(fc_status_names[r->status]));
		nc_json_set(o, "runs_out", reach ? fc_time_json(r->reach, true) : NULL);
		nc_json_set(o, "runs_out_at", reach ? fc_time_json(r->reach, false) : NULL);
		fc_outcome_text(&outc, rep, r);
		nc_json_set(o, "summary", nc_json_new_str(outc.buf));
		nc_buf_release(&outc);
		json_object_array_add(rows, o);
	}
	nc_json_set(doc, "forecasts", rows);
	if (rep->fit_done) {
		struct json_object *t = json_object_new_object();

		nc_json_set(t, "name", nc_json_new_str(rep->tmpl));
		nc_json_set(t, "fit_now", nc_json_new_u64(rep->fit_now));
		nc_json_set(t, "fit_at_horizon", nc_json_new_u64(rep->fit_horizon));
		nc_json_set(doc, "template", t);
	}
	return doc;
}

struct fc_args {
	time_t horizon, window, now;
	bool now_given;
	const char *telemetry_dir;
};

/* Exit: 0 nothing runs out within the horizon, 2 something does (or is at its limit), 1 error. */
static int capacity_forecast(const struct nc_spec *spec, const struct nc_template *t, const char *state_dir,
			     const struct fc_args *fa, enum nc_output out, const struct nc_cli_config *cfg,
			     unsigned timeout)
{
	struct fc_report rep;
	struct nc_buf b = NC_BUF_INIT;
	char dirbuf[4096];
	const char *dir = fa->telemetry_dir;
	size_t i, soon = 0;
	int ret = NC_EXIT_ERROR;

	memset(&rep, 0, sizeof(rep));
	if (!dir && !(dir = nc_tm_default_dir(state_dir, dirbuf, sizeof(dirbuf)))) {
		fprintf(stderr, "novacron capacity: no telemetry directory (--state-dir or --telemetry-dir)\n");
		return NC_EXIT_ERROR;
	}
	rep.horizon = fa->horizon;
	rep.window = fa->window;
	rep.now = fa->now;
	/* 1 h averages; the 1 min ones (kept 2 days) for a window under a day; the finest under an hour */
	rep.resolution = fa->window >= 86400 ? 3600 : fa->window >= 3600 ? 60 : 0;
	rep.min_points = FC_MIN_POINTS;
	rep.min_span = fa->window / 4;
	if (fc_build(&rep, spec, dir, fa->now_given) < 0)
		goto out;
	if (t)
		fc_template(&rep, spec, t, state_dir, cfg, timeout);
	for (i = 0; i < rep.n; i++)
		soon += rep.rows[i].status == FC_RUNS_OUT || rep.rows[i].status == FC_ALREADY;
	if (out == NC_OUT_JSON)
		nc_json_to_buf(&b, fc_render_json(&rep));
	else if (out == NC_OUT_MARKDOWN)
		fc_render_markdown(&b, &rep);
	else
		fc_render_text(&b, &rep);
	fwrite(b.buf, 1, b.len, stdout);
	ret = soon ? NC_EXIT_CHANGES : NC_EXIT_OK;
out:
	for (i = 0; i < rep.n; i++)
		free(rep.rows[i].object);
	free(rep.rows);
	nc_buf_release(&b);
	return ret;
}

enum { OPT_STATE_DIR = NC_OPT_LONG_ONLY, OPT_CONFIG, OPT_TEMPLATE, OPT_TIMEOUT, OPT_FORECAST, OPT_WINDOW,
	OPT_NOW, OPT_TELEMETRY_DIR };

static const struct nc_opt capacity_opts[] = {
	{ "state-dir", OPT_STATE_DIR, "DIR", "where the record of hosts is kept (default as plan's)", NC_COMP_DIR, NULL },
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration: how to reach the hosts, and the spec's "
	  "source when no PATH is given (default $NOVACRON_CONFIG)", NC_COMP_FILE, NULL },
	{ "template", OPT_TEMPLATE, "NAME", "also say how many more VMs of this Template fit, and where",
	  NC_COMP_NONE, NULL },
	{ "output", 'o', "FORMAT", "text (default) or json; markdown too with --forecast", NC_COMP_WORDS,
	  "text json markdown" },
	{ "timeout", OPT_TIMEOUT, "SEC", "give up on a host that does not answer within SEC seconds (default 30)",
	  NC_COMP_NONE, NULL },
	{ "forecast", OPT_FORECAST, "[HORIZON]", "instead, when memory, CPU and disk run out at the current "
	  "trend, looking HORIZON ahead (default 30d; also \"--forecast 30d\"); exit 2 when something runs "
	  "out within it", NC_COMP_NONE, NULL },
	{ "window", OPT_WINDOW, "DURATION", "with --forecast: the history the trend is fitted on (default 7d)",
	  NC_COMP_NONE, NULL },
	{ "now", OPT_NOW, "TIME", "with --forecast: forecast as of TIME (unix seconds or YYYY-MM-DDTHH:MM:SSZ)",
	  NC_COMP_NONE, NULL },
	{ "telemetry-dir", OPT_TELEMETRY_DIR, "DIR", "with --forecast: read the history from DIR (default "
	  "STATE_DIR/telemetry)", NC_COMP_DIR, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const capacity_examples[] = {
	"usage per host and whether every host can fail safely (N+1)",
	"novacron capacity examples/quickstart",
	"how many more VMs of the Template \"small\" fit",
	"novacron capacity --template small examples/quickstart",
	"when the cluster runs out within 90 days, as Markdown",
	"novacron capacity --forecast 90d --output markdown clusters/prod",
	NULL,
};

const struct nc_cmd_doc nc_doc_capacity = {
	"capacity", "capacity [PATH...] [OPTIONS]",
	"usage per host, N+1 (can every host fail safely?), imbalance, room for a template; "
	"--forecast: when they run out",
	"Loads the spec (the PATHs, else the configuration's source), reads every host, and prints each "
	"host's memory, CPU and disk in use against its capacity, whether the VMs of any one host could be "
	"placed on the others if it failed (N+1), how unbalanced the hosts are and, with --template, how "
	"many more VMs of that Template fit.\n\n"
	"With --forecast it reads the recorded load history instead and says when memory, CPU and disk "
	"run out at the current trend (docs/monitoring.md). Exit 2 when a host cannot fail safely or "
	"something runs out within the horizon, 1 on an error.",
	capacity_opts, capacity_examples, NC_COMP_FILE, NULL,
};

int cmd_capacity(int argc, char **argv)
{
	const char *state_dir = NULL, *tmpl = NULL, *config_file = NULL;
	struct nc_cli_config cfg;
	enum nc_output out = NC_OUT_TEXT;
	struct nc_pass_args a;
	struct nc_spec *spec = NULL;
	struct nc_cluster c;
	struct nc_observe_opts oo;
	struct nc_placement_state *ps;
	struct nc_imbalance imb;
	struct nc_buf b = NC_BUF_INIT;
	struct json_object *doc = NULL, *jhosts = NULL;
	const struct nc_template *t = NULL;
	size_t i, fails = 0, fit = 0;
	unsigned timeout = 30;
	int ch, ret = NC_EXIT_ERROR;
	bool forecast = false;
	struct fc_args fa;
	struct nc_getopt g;

	memset(&fa, 0, sizeof(fa));
	fa.horizon = 30 * 86400;
	fa.window = 7 * 86400;
	nc_getopt_init(&g, capacity_opts, NULL);
	while ((ch = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (ch) {
		case OPT_STATE_DIR: state_dir = optarg; break;
		case OPT_CONFIG: config_file = optarg; break;
		case OPT_TEMPLATE: tmpl = optarg; break;
		case OPT_TIMEOUT: timeout = (unsigned)atoi(optarg); break;
		case 'o':
			if (nc_cli_output(optarg, 1u << NC_OUT_TEXT | 1u << NC_OUT_JSON | 1u << NC_OUT_MARKDOWN,
					  &out) < 0) {
				fprintf(stderr, "novacron capacity: --output must be text or json (or markdown with --forecast)\n");
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case OPT_FORECAST:
			forecast = true;
			/* "--forecast 30d" as well as "--forecast=30d": a word after it
			 * that starts with a digit is the horizon (a PATH that does: ./PATH) */
			if (!optarg && optind < argc && isdigit((unsigned char)argv[optind][0]))
				optarg = argv[optind++];
			if (optarg && (fa.horizon = fc_duration(optarg)) < 0) {
				fprintf(stderr, "novacron capacity: --forecast: '%s' is not a duration (e.g. 30d, 12w, 36h)\n",
					optarg);
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case OPT_WINDOW:
			if ((fa.window = fc_duration(optarg)) < 0) {
				fprintf(stderr, "novacron capacity: --window: '%s' is not a duration (e.g. 7d, 36h)\n", optarg);
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case OPT_NOW:
			if (fc_parse_now(optarg, &fa.now) < 0) {
				fprintf(stderr, "novacron capacity: --now: '%s' is neither unix seconds nor YYYY-MM-DDTHH:MM:SSZ\n",
					optarg);
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			fa.now_given = true;
			break;
		case OPT_TELEMETRY_DIR: fa.telemetry_dir = optarg; break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_capacity);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_capacity);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (!forecast && (out == NC_OUT_MARKDOWN || fa.telemetry_dir || fa.now_given ||
			  fa.window != 7 * 86400)) {
		fprintf(stderr, "novacron capacity: --output markdown, --window, --now and --telemetry-dir go with --forecast\n");
		return NC_EXIT_ERROR;
	}
	memset(&a, 0, sizeof(a));
	if (nc_cli_config_load(&cfg, "capacity", config_file) < 0)
		return NC_EXIT_ERROR;
	if (nc_cli_spec_load(&spec, &cfg, "capacity", (const char *const *)argv + optind,
			     (size_t)(argc - optind)) < 0) {
		nc_cli_config_release(&cfg);
		return NC_EXIT_ERROR;
	}
	if (tmpl && !(t = (const struct nc_template *)nc_spec_find(spec, NC_KIND_TEMPLATE, tmpl))) {
		fprintf(stderr, "novacron capacity: no Template named '%s'\n", tmpl);
		nc_spec_free(spec);
		nc_cli_config_release(&cfg);
		return NC_EXIT_ERROR;
	}
	if (!state_dir) {
		/* the same default as plan and apply */
		char *argv0[] = { "capacity", NULL };

		nc_pass_parse(&a, "capacity", 1, argv0, false);
		state_dir = a.state_dir;
	}
	if (forecast) {
		ret = capacity_forecast(spec, t, state_dir, &fa, out, &cfg, timeout);
		nc_cli_config_release(&cfg);
		nc_spec_free(spec);
		nc_pass_args_release(&a);
		return ret;
	}
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = state_dir;
	oo.timeout_ms = timeout * 1000;
	oo.connections = &cfg.connections;
	nc_observe(&c, spec, &oo);
	ps = nc_placement_new(spec, &c);
	nc_imbalance(ps, true, &imb);
	if (t) {
		struct nc_vm like;

		memset(&like, 0, sizeof(like));
		like.obj.kind = NC_KIND_VM;
		like.obj.meta.name.v = "(template)";
		like.eff = t->eff;
		like.labels = t->eff.labels;
		fit = NC_IS_SET(like.eff.vcpus) && NC_IS_SET(like.eff.memory) ? nc_fit_count(ps, &like, 100000) : 0;
	}

	if (out == NC_OUT_JSON) {
		doc = nc_json_doc(1);
		jhosts = json_object_new_array();
		nc_json_set(doc, "hosts", jhosts);
	} else
		nc_buf_addf(&b, "%-12s %-12s %-22s %-26s %5s  %s\n", "HOST", "STATE", "VCPUS", "MEMORY", "VMS", "N+1");
	for (i = 0; i < c.nhosts; i++) {
		const struct nc_host_load *l = nc_placement_load(ps, i);
		const char *name = c.hosts[i].spec->obj.meta.name.v;
		const char *state = c.hosts[i].status != NC_HOST_OK ? "unreachable" :
				    l->usable ? "ok" : "maintenance";
		struct nc_buf stranded = NC_BUF_INIT;
		bool n1 = true;

		if (l->usable) {
			n1 = nc_n1_host(ps, i, &stranded);
			fails += !n1;
		}
		if (out == NC_OUT_JSON) {
			struct json_object *h = json_object_new_object();

			nc_json_set(h, "name", nc_json_new_str(name));
			nc_json_set(h, "state", json_object_new_string(state));
			nc_json_set(h, "vcpus_used", json_object_new_int64(llround(l->used_vcpus)));
			nc_json_set(h, "vcpus_capacity", json_object_new_int64(llround(l->cap_vcpus)));
			nc_json_set(h, "memory_used", json_object_new_int64(llround(l->used_memory)));
			nc_json_set(h, "memory_capacity", json_object_new_int64(llround(l->cap_memory)));
			nc_json_set(h, "vms", nc_json_new_u64(l->vms));
			nc_json_set(h, "n1", l->usable ? json_object_new_boolean(n1) : NULL);
			nc_json_set(h, "stranded", nc_json_new_str(stranded.buf));
			json_object_array_add(jhosts, h);
		} else {
			struct nc_buf cpu = NC_BUF_INIT, mem = NC_BUF_INIT;

			nc_buf_addf(&cpu, "%.0f/%.0f (%.0f%%)", l->used_vcpus, l->cap_vcpus,
				    l->cap_vcpus > 0 ? l->used_vcpus / l->cap_vcpus * 100 : 0);
			pct(&mem, l->used_memory, l->cap_memory);
			nc_buf_addf(&b, "%-12s %-12s %-22s %-26s %5zu  %s%s%s\n", name, state, cpu.buf, mem.buf,
				    l->vms, !l->usable ? "-" : n1 ? "ok" : "FAIL: ", n1 ? "" : stranded.buf,
				    n1 || !l->usable ? "" : " cannot restart elsewhere");
			nc_buf_release(&cpu);
			nc_buf_release(&mem);
		}
		nc_buf_release(&stranded);
	}
	if (out == NC_OUT_JSON) {
		struct json_object *im = json_object_new_object();

		nc_json_set(im, "score", nc_json_new_fixed(imb.score, 6));
		nc_json_set(im, "memory", nc_json_new_fixed(imb.memory, 6));
		nc_json_set(im, "vcpus", nc_json_new_fixed(imb.vcpus, 6));
		nc_json_set(im, "disk", nc_json_new_fixed(imb.disk, 6));
		nc_json_set(im, "n1_failures", nc_json_new_u64(imb.n1_failures));
		nc_json_set(im, "load", nc_json_new_fixed(imb.units, 6));
		nc_json_set(im, "spread", nc_json_new_fixed(imb.spread, 6));
		nc_json_set(im, "conflicts", nc_json_new_fixed(imb.conflicts, 6));
		nc_json_set(im, "offline", nc_json_new_u64(imb.offline));
		nc_json_set(doc, "imbalance", im);
		nc_json_set(doc, "n1", json_object_new_boolean(!fails));
		nc_capacity_clusters(spec, &c, ps, t, NULL, doc);   /* clusters.h: only with Clusters */
		if (t) {
			struct json_object *jt = json_object_new_object();

			nc_json_set(jt, "name", nc_json_new_str(t->obj.meta.name.v));
			nc_json_set(jt, "fit", nc_json_new_u64(fit));
			nc_json_set(doc, "template", jt);
		}
		nc_json_to_buf(&b, doc);
	} else {
		nc_buf_addf(&b, "\nImbalance score: %.4f (memory %.4f, vCPUs %.4f, disk %.4f, load 4 x %.4f, spread %.4f, "
			    "conflicts %.4f, offline VMs %zu, N+1 failures %zu)\n", imb.score, imb.memory, imb.vcpus,
			    imb.disk, imb.units, imb.spread, imb.conflicts, imb.offline, imb.n1_failures);
		if (fails)
			nc_buf_addf(&b, "N+1: FAIL on %zu host%s: losing one of them would leave VMs with nowhere to restart.\n",
				    fails, fails == 1 ? "" : "s");
		else
			nc_buf_adds(&b, "N+1: ok: any one host can fail and its VMs restart on the others.\n");
		if (t)
			nc_buf_addf(&b, "Template %s: %zu more VM%s fit.\n", t->obj.meta.name.v, fit,
				    fit == 1 ? "" : "s");
		nc_capacity_clusters(spec, &c, ps, t, &b, NULL);   /* clusters.h: only with Clusters */
	}
	fwrite(b.buf, 1, b.len, stdout);
	ret = fails ? NC_EXIT_CHANGES : NC_EXIT_OK;
	nc_buf_release(&b);
	nc_placement_free(ps);
	nc_cluster_release(&c);
	nc_cli_config_release(&cfg);
	nc_spec_free(spec);
	nc_pass_args_release(&a);
	return ret;
}
