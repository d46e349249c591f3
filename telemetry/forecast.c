/* forecast.c - least-squares trends and when they reach a limit (forecast.h). */
#include "forecast.h"

#include <math.h>
#include <rrd.h>
#include <string.h>
#include <sys/stat.h>

/*
 * Ordinary least squares on the known points, computed around the points'
 * mean time and value (two passes), so that times near 1.8e9 s and slopes
 * of a few bytes per second keep their digits.
 */
void nc_fit_series(const struct nc_tm_series *s, size_t min_points, time_t min_span, struct nc_fit *out)
{
	double tm = 0, vm = 0, sxx = 0, sxy = 0, syy = 0, ssr = 0, vmin = INFINITY, vmax = -INFINITY;
	size_t i, n = 0;
	struct nc_fit f;

	memset(&f, 0, sizeof(f));
	f.last_value = NAN;
	if (min_points < 2)
		min_points = 2;
	for (i = 0; s && s->v && i < s->n; i++) {
		time_t t = s->start + (time_t)i * s->step;

		if (!isfinite(s->v[i]))
			continue;
		if (!n)
			f.first = t;
		f.last = t;
		f.last_value = s->v[i];
		tm += (double)(t - s->start);
		vm += s->v[i];
		vmin = fmin(vmin, s->v[i]);
		vmax = fmax(vmax, s->v[i]);
		n++;
	}
	f.points = n;
	if (n < min_points || f.last - f.first < min_span || f.last == f.first) {
		*out = f;
		return;
	}
	tm /= (double)n;
	vm /= (double)n;
	for (i = 0; i < s->n; i++) {
		double dt, dv;

		if (!isfinite(s->v[i]))
			continue;
		dt = (double)((time_t)i * s->step) - tm;
		dv = s->v[i] - vm;
		sxx += dt * dt;
		sxy += dt * dv;
		syy += dv * dv;
	}
	f.ok = true;
	if (vmin == vmax) {
		/* a constant series: flat, and the line fits it exactly */
		f.slope = 0;
		f.mean_value = vmin;
		f.r2 = 1;
	} else {
		f.slope = sxy / sxx;
		f.mean_value = vm;
		for (i = 0; i < s->n; i++) {
			double e;

			if (!isfinite(s->v[i]))
				continue;
			e = s->v[i] - (vm + f.slope * ((double)((time_t)i * s->step) - tm));
			ssr += e * e;
		}
		f.r2 = syy > 0 ? 1 - ssr / syy : 1;
		if (f.r2 < 0)
			f.r2 = 0;
		if (f.r2 > 1)
			f.r2 = 1;
	}
	f.mean_time = (double)s->start + tm;
	f.intercept = f.mean_value - f.slope * f.mean_time;
	*out = f;
}

double nc_fit_at(const struct nc_fit *f, time_t t)
{
	if (!f->ok)
		return NAN;
	return f->mean_value + f->slope * ((double)t - f->mean_time);
}

time_t nc_fit_reach(const struct nc_fit *f, double limit, time_t now)
{
	double dt;

	if (!f->ok)
		return 0;
	if (f->last_value >= limit)
		return now;
	if (!(f->slope > 0))
		return 0;
	/* from the points' mean, where the line is best known */
	dt = (limit - f->mean_value) / f->slope;
	if (f->mean_time + dt <= (double)now)
		return now;
	/* far beyond any horizon: clamp rather than overflow time_t */
	if (f->mean_time + dt > 253402300799.0)     /* 9999-12-31T23:59:59Z */
		return (time_t)253402300799LL;
	return (time_t)llround(f->mean_time + dt);
}

int nc_fit_last_update(const char *dir, enum nc_metric_target t, const char *id, time_t *out)
{
	struct nc_buf path = NC_BUF_INIT;
	struct stat sb;
	time_t last;
	int ret = 0;

	if (!nc_tm_id_ok(id))
		return -1;
	nc_buf_addf(&path, "%s/%s/%s.rrd", dir, nc_metric_target_name(t), id);
	if (stat(path.buf, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto out;
	rrd_clear_error();
	last = rrd_last_r(path.buf);
	if (last > 0) {
		*out = last;
		ret = 1;
	}
out:
	nc_buf_release(&path);
	return ret;
}
