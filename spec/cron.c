/* cron.c - see cron.h */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* timegm */
#endif
#include "cron.h"
#include "util.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NC_CRON_FIELDS 5
/* Numbers are clamped here while parsing so huge inputs cannot overflow. */
#define NC_CRON_NUM_CAP 1000000

struct nc_cron_field {
	const char *name;		/* used in messages */
	int min, max;
	const char *const *names;	/* 3-letter names for min, min+1, ... */
	size_t nnames;
};

static const char *const nc_month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec",
};

static const char *const nc_dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

enum { NC_F_MINUTE, NC_F_HOUR, NC_F_DOM, NC_F_MONTH, NC_F_DOW };

static const struct nc_cron_field nc_cron_fields[NC_CRON_FIELDS] = {
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day-of-month", 1, 31, NULL, 0 },
	{ "month", 1, 12, nc_month_names, NC_ARRAY_SIZE(nc_month_names) },
	{ "day-of-week", 0, 7, nc_dow_names, NC_ARRAY_SIZE(nc_dow_names) },
};

struct nc_cron_macro {
	const char *name;
	const char *expansion;
};

static const struct nc_cron_macro nc_cron_macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

struct nc_cron_parser {
	const char *s;
	char *errbuf;
	size_t errlen;
	size_t *err_offset;
};

static int nc_cron_fail(struct nc_cron_parser *p, size_t off,
			const char *fmt, ...) NC_PRINTF(3, 4);

static int nc_cron_fail(struct nc_cron_parser *p, size_t off,
			const char *fmt, ...)
{
	va_list ap;

	if (p->errbuf && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->errbuf, p->errlen, fmt, ap);
		va_end(ap);
	}
	if (p->err_offset)
		*p->err_offset = off;
	return -1;
}

static bool nc_cron_is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool nc_cron_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool nc_cron_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char nc_cron_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of s[0..n) with the NUL-terminated word. */
static bool nc_cron_word_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	if (strlen(word) != n)
		return false;
	for (i = 0; i < n; i++)
		if (nc_cron_lower(s[i]) != word[i])
			return false;
	return true;
}

/* Printable form of a byte for messages: the character, or \xNN. */
static void nc_cron_char_repr(char c, char out[8])
{
	unsigned char u = (unsigned char)c;

	if (u >= 0x20 && u < 0x7f)
		snprintf(out, 8, "%c", c);
	else
		snprintf(out, 8, "\\x%02x", u);
}

static int nc_cron_bad_char(struct nc_cron_parser *p,
			    const struct nc_cron_field *f, size_t i)
{
	char repr[8];

	nc_cron_char_repr(p->s[i], repr);
	return nc_cron_fail(p, i, "invalid character '%s' in %s field", repr,
			    f->name);
}

/* Reads digits at *i, clamped to NC_CRON_NUM_CAP. */
static int nc_cron_number(const char *s, size_t *i, size_t end)
{
	int v = 0;

	while (*i < end && nc_cron_is_digit(s[*i])) {
		if (v < NC_CRON_NUM_CAP)
			v = v * 10 + (s[*i] - '0');
		(*i)++;
	}
	return v;
}

/*
 * Parses a number or a name at *i (within [*i, end)), checks it against the
 * field's range and advances *i past it.
 */
static int nc_cron_value(struct nc_cron_parser *p,
			 const struct nc_cron_field *f, size_t *i, size_t end,
			 int *out)
{
	const char *s = p->s;
	size_t start = *i;
	size_t k;
	int v;

	if (start == end)
		return nc_cron_fail(p, start, "missing end of range in %s field",
				    f->name);
	if (nc_cron_is_digit(s[start])) {
		v = nc_cron_number(s, i, end);
		if (v < f->min || v > f->max)
			return nc_cron_fail(p, start,
					    "%s value %.*s out of range %d-%d",
					    f->name, (int)(*i - start),
					    s + start, f->min, f->max);
		*out = v;
		return 0;
	}
	if (!nc_cron_is_alpha(s[start]))
		return nc_cron_bad_char(p, f, start);

	while (*i < end && nc_cron_is_alpha(s[*i]))
		(*i)++;
	if (!f->names)
		return nc_cron_fail(p, start,
				    "unexpected name '%.*s' in %s field (names are only allowed in month and day-of-week fields)",
				    (int)(*i - start), s + start, f->name);
	for (k = 0; k < f->nnames; k++) {
		if (nc_cron_word_eq(s + start, *i - start, f->names[k])) {
			*out = f->min + (int)k;
			return 0;
		}
	}
	return nc_cron_fail(p, start, "unknown %s name '%.*s'", f->name,
			    (int)(*i - start), s + start);
}

/* Parses the step after a '/' at *i. */
static int nc_cron_step(struct nc_cron_parser *p,
			const struct nc_cron_field *f, size_t *i, size_t end,
			int *out)
{
	size_t start = *i;

	if (start == end)
		return nc_cron_fail(p, start, "missing step after '/' in %s field",
				    f->name);
	if (p->s[start] == '-')
		return nc_cron_fail(p, start, "step must be a positive number");
	if (!nc_cron_is_digit(p->s[start]))
		return nc_cron_bad_char(p, f, start);
	*out = nc_cron_number(p->s, i, end);
	if (*out == 0)
		return nc_cron_fail(p, start, "step must be a positive number");
	return 0;
}

/* One list item in [pos, end): "*", "V", "A-B", each optionally "/STEP". */
static int nc_cron_item(struct nc_cron_parser *p,
			const struct nc_cron_field *f, size_t pos, size_t end,
			uint64_t *mask)
{
	const char *s = p->s;
	size_t i = pos;
	bool single = false;
	int lo, hi, step = 1, v;

	if (s[i] == '*') {
		lo = f->min;
		hi = f->max;
		i++;
	} else {
		if (nc_cron_value(p, f, &i, end, &lo))
			return -1;
		if (i < end && s[i] == '-') {
			i++;
			if (nc_cron_value(p, f, &i, end, &hi))
				return -1;
			if (lo > hi)
				return nc_cron_fail(p, pos,
						    "%s range %.*s is reversed",
						    f->name, (int)(i - pos),
						    s + pos);
		} else {
			hi = lo;
			single = true;
		}
	}
	if (i < end && s[i] == '/') {
		i++;
		if (nc_cron_step(p, f, &i, end, &step))
			return -1;
		if (single)
			hi = f->max;	/* "A/STEP" means "A-max/STEP" */
	}
	if (i < end)
		return nc_cron_bad_char(p, f, i);

	for (v = lo; v <= hi; v += step)
		*mask |= UINT64_C(1) << v;
	return 0;
}

/* A whole field in [start, end): a comma-separated list of items. */
static int nc_cron_field_parse(struct nc_cron_parser *p,
			       const struct nc_cron_field *f, size_t start,
			       size_t end, uint64_t *mask)
{
	size_t pos = start, item_end;

	*mask = 0;
	for (;;) {
		item_end = pos;
		while (item_end < end && p->s[item_end] != ',')
			item_end++;
		if (item_end == pos)
			return nc_cron_fail(p, pos, "empty list item in %s field",
					    f->name);
		if (nc_cron_item(p, f, pos, item_end, mask))
			return -1;
		if (item_end == end)
			return 0;
		pos = item_end + 1;
	}
}

static int nc_cron_fields_parse(struct nc_cron_parser *p, struct nc_cron *c)
{
	const char *s = p->s;
	size_t start[NC_CRON_FIELDS], end[NC_CRON_FIELDS];
	size_t i = 0, n = 0, extra = 0;
	uint64_t mask;
	int k;

	for (;;) {
		while (nc_cron_is_space(s[i]))
			i++;
		if (!s[i])
			break;
		if (n == NC_CRON_FIELDS)
			extra = i;
		if (n < NC_CRON_FIELDS)
			start[n] = i;
		while (s[i] && !nc_cron_is_space(s[i]))
			i++;
		if (n < NC_CRON_FIELDS)
			end[n] = i;
		n++;
	}
	if (n != NC_CRON_FIELDS)
		return nc_cron_fail(p, n > NC_CRON_FIELDS ? extra : 0,
				    "expected 5 fields (minute hour day-of-month month day-of-week), found %zu",
				    n);

	for (k = 0; k < NC_CRON_FIELDS; k++) {
		if (nc_cron_field_parse(p, &nc_cron_fields[k], start[k],
					end[k], &mask))
			return -1;
		switch (k) {
		case NC_F_MINUTE:
			c->minute = mask;
			break;
		case NC_F_HOUR:
			c->hour = (uint32_t)mask;
			break;
		case NC_F_DOM:
			c->dom = (uint32_t)mask;
			c->dom_star = s[start[k]] == '*';
			break;
		case NC_F_MONTH:
			c->month = (uint16_t)mask;
			break;
		case NC_F_DOW:
			/* 7 is Sunday, like 0 */
			if (mask & (UINT64_C(1) << 7))
				mask |= 1;
			c->dow = (uint8_t)(mask & 0x7f);
			c->dow_star = s[start[k]] == '*';
			break;
		}
	}
	return 0;
}

int nc_cron_parse(struct nc_cron *out, const char *expr, char *errbuf,
		  size_t errlen, size_t *err_offset)
{
	struct nc_cron_parser p = { expr ? expr : "", errbuf, errlen,
				    err_offset };
	struct nc_cron c;
	size_t i = 0, name_start, name_end, k;
	char shown[40];

	memset(&c, 0, sizeof(c));
	while (nc_cron_is_space(p.s[i]))
		i++;
	if (!p.s[i])
		return nc_cron_fail(&p, 0, "empty cron expression");

	if (p.s[i] != '@') {
		if (nc_cron_fields_parse(&p, &c))
			return -1;
		if (out)
			*out = c;
		return 0;
	}

	name_start = i;
	while (p.s[i] && !nc_cron_is_space(p.s[i]))
		i++;
	name_end = i;
	for (k = 0; k < NC_ARRAY_SIZE(nc_cron_macros); k++)
		if (nc_cron_word_eq(p.s + name_start, name_end - name_start,
				    nc_cron_macros[k].name))
			break;
	if (k == NC_ARRAY_SIZE(nc_cron_macros))
		return nc_cron_fail(&p, name_start,
				    "unknown macro '%.*s' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
				    (int)(name_end - name_start),
				    p.s + name_start);
	while (nc_cron_is_space(p.s[i]))
		i++;
	if (p.s[i]) {
		snprintf(shown, sizeof(shown), "%.*s",
			 (int)(name_end - name_start), p.s + name_start);
		return nc_cron_fail(&p, i, "unexpected text after macro '%s'",
				    shown);
	}

	p.s = nc_cron_macros[k].expansion;
	if (nc_cron_fields_parse(&p, &c))
		return -1;	/* cannot happen: expansions are valid */
	if (out)
		*out = c;
	return 0;
}

static bool nc_cron_day_matches(const struct nc_cron *c, const struct tm *tm)
{
	bool dom = c->dom & (UINT32_C(1) << tm->tm_mday);
	bool dow = c->dow & (1u << tm->tm_wday);

	/* Vixie cron: OR when both fields are restricted, AND otherwise. */
	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

time_t nc_cron_next(const struct nc_cron *c, time_t after)
{
	struct tm tm, lim;
	time_t t, limit, rem;
	int m;

	if (!gmtime_r(&after, &lim) || lim.tm_year > INT_MAX - 5)
		return (time_t)-1;
	lim.tm_year += 5;
	limit = timegm(&lim);
	if (limit == (time_t)-1 && lim.tm_year != 69)
		return (time_t)-1;

	/* First whole minute strictly after `after` (floor for negatives). */
	rem = after % 60;
	if (rem < 0)
		rem += 60;
	t = after - rem + 60;

	while (t <= limit) {
		if (!gmtime_r(&t, &tm))
			return (time_t)-1;
		if (!(c->month & (1u << (tm.tm_mon + 1)))) {
			/* first day of the next month, 00:00 */
			tm.tm_mday = 1;
			tm.tm_mon++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			t = timegm(&tm);
			if (t == (time_t)-1)
				return (time_t)-1;
			continue;
		}
		if (!nc_cron_day_matches(c, &tm)) {
			t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60);
			continue;
		}
		if (!(c->hour & (UINT32_C(1) << tm.tm_hour))) {
			t += 3600 - tm.tm_min * 60;
			continue;
		}
		for (m = tm.tm_min; m < 60; m++)
			if (c->minute & (UINT64_C(1) << m))
				break;
		if (m == 60) {
			t += 3600 - tm.tm_min * 60;
			continue;
		}
		return t + (m - tm.tm_min) * 60;
	}
	return (time_t)-1;
}
