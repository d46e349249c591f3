/*
 * cron.h - five-field cron expressions.
 *
 * Syntax (as Vixie cron / crontab(5)): "MIN HOUR DOM MONTH DOW", each field a
 * comma-separated list of items; an item is "*", a value, or a range "A-B",
 * optionally followed by "/STEP" ("*" + step, or "A/STEP" meaning A-max/STEP).
 * Ranges: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec,
 * day of week 0-7 or sun-sat (0 and 7 are both Sunday).  Names are
 * case-insensitive and allowed in ranges (mon-fri).  Macros: @yearly,
 * @annually, @monthly, @weekly, @daily, @midnight, @hourly.
 *
 * As in Vixie cron, when both day of month and day of week are restricted
 * (neither starts with "*"), a day matches if either matches.
 */
#ifndef NC_CRON_H
#define NC_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct nc_cron {
	uint64_t minute;   /* bit i set = minute i (0-59) */
	uint32_t hour;     /* bits 0-23 */
	uint32_t dom;      /* bits 1-31 */
	uint16_t month;    /* bits 1-12 */
	uint8_t dow;       /* bits 0-6, Sunday = 0 */
	bool dom_star;     /* day-of-month field started with '*' */
	bool dow_star;     /* day-of-week field started with '*' */
};

/*
 * Parses expr.  On success returns 0 and fills *out.  On error returns -1,
 * writes a message (no position, no trailing newline, e.g.
 * "minute value 60 out of range 0-59") into errbuf, and sets *err_offset to
 * the byte offset in expr where the offending token starts.
 */
int nc_cron_parse(struct nc_cron *out, const char *expr, char *errbuf,
		  size_t errlen, size_t *err_offset);

/*
 * The first time strictly after `after` (UTC, whole minutes) that matches;
 * returns (time_t)-1 if none within 5 years (e.g. "0 0 31 2 *").
 */
time_t nc_cron_next(const struct nc_cron *c, time_t after);

#endif
