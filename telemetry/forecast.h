/*
 * forecast.h - when does a resource run out at the current trend
 * (telemetry/forecast.c, `novacron capacity --forecast`, docs/monitoring.md).
 *
 * An ordinary least-squares line through the known points of a series
 * (gaps skipped), with its coefficient of determination R^2 and the number
 * of points: fewer than min_points, or a window shorter than min_span, is
 * "not enough data", never a guess.
 */
#ifndef NC_TM_FORECAST_H
#define NC_TM_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "store.h"

struct nc_fit {
	bool ok;                     /* enough data for a line */
	size_t points;
	double slope;                /* per second */
	double intercept;            /* value at t = 0 (unix epoch) */
	double r2;                   /* 0..1 */
	time_t first, last;          /* span of the points used */
	double last_value;           /* the newest known value (NAN: none) */
	/* the line through (mean_time, mean_value): what nc_fit_at and
	 * nc_fit_reach use, as intercept loses digits at t ~ 1.8e9 */
	double mean_time, mean_value;
};
void nc_fit_series(const struct nc_tm_series *s, size_t min_points, time_t min_span, struct nc_fit *out);
/* the line's value at t (NAN when !f->ok) */
double nc_fit_at(const struct nc_fit *f, time_t t);
/* when the line reaches limit: t, or 0 when it never does (flat or falling), or `now` when
 * the latest value is already at or past it */
time_t nc_fit_reach(const struct nc_fit *f, double limit, time_t now);
/* (0 too when !f->ok; a time beyond 9999-12-31 is clamped to it) */

/*
 * When the history of (t, id) under the store directory dir (DIR/TARGET/ID.rrd,
 * store.h) was last updated: 1 and *out, 0 when there is no such file (or it
 * cannot be read), -1 when id is not a name the store accepts.  `capacity
 * --forecast` takes the newest of these as its "now", never the wall clock.
 */
int nc_fit_last_update(const char *dir, enum nc_metric_target t, const char *id, time_t *out);

#endif
