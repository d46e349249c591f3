/* test_cron.c - tests for spec/cron.c */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* timegm */
#endif
#include <check.h>
#include <string.h>
#include <time.h>

#include "../spec/cron.h"

Suite *nc_suite_cron(void);

static struct nc_cron parse_ok(const char *expr)
{
	struct nc_cron c;
	char err[256] = "";
	size_t off = 12345;
	int rc;

	memset(&c, 0xa5, sizeof(c));
	rc = nc_cron_parse(&c, expr, err, sizeof(err), &off);
	ck_assert_msg(rc == 0, "parse of '%s' failed: %s (offset %zu)", expr,
		      err, off);
	return c;
}

static void check_err(const char *expr, const char *msg, size_t offset)
{
	struct nc_cron c;
	char err[256] = "";
	size_t off = 12345;
	int rc;

	rc = nc_cron_parse(&c, expr, err, sizeof(err), &off);
	ck_assert_msg(rc == -1, "parse of '%s' unexpectedly succeeded", expr);
	ck_assert_str_eq(err, msg);
	ck_assert_msg(off == offset, "'%s': offset %zu, expected %zu", expr,
		      off, offset);
}

/* Builds a UTC time_t. */
static time_t utc(int y, int mon, int d, int h, int min)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = min;
	return timegm(&tm);
}

static time_t next_of(const char *expr, time_t after)
{
	struct nc_cron c = parse_ok(expr);

	return nc_cron_next(&c, after);
}

static uint64_t bits(int lo, int hi, int step)
{
	uint64_t m = 0;
	int v;

	for (v = lo; v <= hi; v += step)
		m |= UINT64_C(1) << v;
	return m;
}

/* ---- valid expressions ---- */

START_TEST(test_every_15_minutes)
{
	struct nc_cron c = parse_ok("*/15 * * * *");

	ck_assert_uint_eq(c.minute, bits(0, 45, 15));
	ck_assert_uint_eq(c.hour, bits(0, 23, 1));
	ck_assert_uint_eq(c.dom, bits(1, 31, 1));
	ck_assert_uint_eq(c.month, bits(1, 12, 1));
	ck_assert_uint_eq(c.dow, 0x7f);
	ck_assert(c.dom_star);
	ck_assert(c.dow_star);
}
END_TEST

START_TEST(test_office_hours)
{
	struct nc_cron c = parse_ok("0 9-17/2 * * mon-fri");

	ck_assert_uint_eq(c.minute, 1);
	ck_assert_uint_eq(c.hour, (1u << 9) | (1u << 11) | (1u << 13) |
			  (1u << 15) | (1u << 17));
	ck_assert_uint_eq(c.dom, bits(1, 31, 1));
	ck_assert_uint_eq(c.month, bits(1, 12, 1));
	ck_assert_uint_eq(c.dow, bits(1, 5, 1));
	ck_assert(c.dom_star);
	ck_assert(!c.dow_star);
}
END_TEST

START_TEST(test_macro_daily)
{
	struct nc_cron c = parse_ok("@daily");

	ck_assert_uint_eq(c.minute, 1);
	ck_assert_uint_eq(c.hour, 1);
	ck_assert_uint_eq(c.dom, bits(1, 31, 1));
	ck_assert_uint_eq(c.month, bits(1, 12, 1));
	ck_assert_uint_eq(c.dow, 0x7f);
	ck_assert(c.dom_star);
	ck_assert(c.dow_star);
}
END_TEST

START_TEST(test_macros_all)
{
	struct nc_cron c;

	c = parse_ok("@midnight");
	ck_assert_uint_eq(c.minute, 1);
	ck_assert_uint_eq(c.hour, 1);
	c = parse_ok("  @hourly\t");
	ck_assert_uint_eq(c.minute, 1);
	ck_assert_uint_eq(c.hour, bits(0, 23, 1));
	c = parse_ok("@weekly");
	ck_assert_uint_eq(c.dow, 1);
	ck_assert(c.dom_star);
	ck_assert(!c.dow_star);
	c = parse_ok("@monthly");
	ck_assert_uint_eq(c.dom, 1u << 1);
	ck_assert_uint_eq(c.month, bits(1, 12, 1));
	c = parse_ok("@yearly");
	ck_assert_uint_eq(c.dom, 1u << 1);
	ck_assert_uint_eq(c.month, 1u << 1);
	ck_assert(!c.dom_star);
	ck_assert(c.dow_star);
	c = parse_ok("@annually");
	ck_assert_uint_eq(c.month, 1u << 1);
}
END_TEST

START_TEST(test_lists_and_month_names)
{
	struct nc_cron c = parse_ok("0 0 1,15 jan,jul *");

	ck_assert_uint_eq(c.minute, 1);
	ck_assert_uint_eq(c.hour, 1);
	ck_assert_uint_eq(c.dom, (1u << 1) | (1u << 15));
	ck_assert_uint_eq(c.month, (1u << 1) | (1u << 7));
	ck_assert_uint_eq(c.dow, 0x7f);
	ck_assert(!c.dom_star);
	ck_assert(c.dow_star);
}
END_TEST

START_TEST(test_dow_seven_is_sunday)
{
	struct nc_cron c = parse_ok("5 4 * * 7");

	ck_assert_uint_eq(c.minute, 1u << 5);
	ck_assert_uint_eq(c.hour, 1u << 4);
	ck_assert_uint_eq(c.dow, 1);

	c = parse_ok("0 0 * * 5-7");
	ck_assert_uint_eq(c.dow, (1u << 5) | (1u << 6) | 1u);
	c = parse_ok("0 0 * * 0-7");
	ck_assert_uint_eq(c.dow, 0x7f);
}
END_TEST

START_TEST(test_misc_syntax)
{
	struct nc_cron c;

	/* names are case-insensitive; whitespace is spaces and tabs */
	c = parse_ok(" \t0  0\t* JAN-Mar SUN,sat  ");
	ck_assert_uint_eq(c.month, bits(1, 3, 1));
	ck_assert_uint_eq(c.dow, (1u << 0) | (1u << 6));
	/* "A/STEP" means "A-max/STEP" */
	c = parse_ok("5/20 * * * *");
	ck_assert_uint_eq(c.minute, bits(5, 59, 20));
	/* a step larger than the range only keeps the start */
	c = parse_ok("*/90 * * * *");
	ck_assert_uint_eq(c.minute, 1);
	/* "*" + step in day-of-month still counts as starting with '*' */
	c = parse_ok("0 0 */2 * mon");
	ck_assert(c.dom_star);
	ck_assert_uint_eq(c.dom, bits(1, 31, 2));
	/* mixed list items */
	c = parse_ok("0,10-12,50/5 * * * *");
	ck_assert_uint_eq(c.minute, 1 | bits(10, 12, 1) | bits(50, 59, 5));
	c = parse_ok("59 23 31 12 6");
	ck_assert_uint_eq(c.minute, UINT64_C(1) << 59);
	ck_assert_uint_eq(c.hour, 1u << 23);
	ck_assert_uint_eq(c.dom, 1u << 31);
	ck_assert_uint_eq(c.month, 1u << 12);
	ck_assert_uint_eq(c.dow, 1u << 6);
}
END_TEST

START_TEST(test_null_out_and_errbuf)
{
	size_t off = 7;

	ck_assert_int_eq(nc_cron_parse(NULL, "* * * * *", NULL, 0, NULL), 0);
	ck_assert_int_eq(nc_cron_parse(NULL, "bad", NULL, 0, &off), -1);
	ck_assert_uint_eq(off, 0);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_err_field_count)
{
	check_err("* * * *",
		  "expected 5 fields (minute hour day-of-month month day-of-week), found 4",
		  0);
	check_err("  0 0 * * * extra",
		  "expected 5 fields (minute hour day-of-month month day-of-week), found 6",
		  12);
}
END_TEST

START_TEST(test_err_empty)
{
	check_err("", "empty cron expression", 0);
	check_err(" \t ", "empty cron expression", 0);
}
END_TEST

START_TEST(test_err_out_of_range)
{
	check_err("60 * * * *", "minute value 60 out of range 0-59", 0);
	check_err("0 24 * * *", "hour value 24 out of range 0-23", 2);
	check_err("0 0 0 * *", "day-of-month value 0 out of range 1-31", 4);
	check_err("0 0 * 13 *", "month value 13 out of range 1-12", 6);
	check_err("0 0 * * 8", "day-of-week value 8 out of range 0-7", 8);
	check_err("0 1-99 * * *", "hour value 99 out of range 0-23", 4);
	check_err("99999999999999999999 * * * *",
		  "minute value 99999999999999999999 out of range 0-59", 0);
}
END_TEST

START_TEST(test_err_reversed)
{
	check_err("0 5-2 * * *", "hour range 5-2 is reversed", 2);
	check_err("0 0 * * fri-mon", "day-of-week range fri-mon is reversed",
		  8);
}
END_TEST

START_TEST(test_err_step)
{
	check_err("*/0 * * * *", "step must be a positive number", 2);
	check_err("0 1-5/-1 * * *", "step must be a positive number", 6);
	check_err("*/ * * * *", "missing step after '/' in minute field", 2);
	check_err("*/x * * * *", "invalid character 'x' in minute field", 2);
}
END_TEST

START_TEST(test_err_names)
{
	check_err("0 0 * foo *", "unknown month name 'foo'", 6);
	check_err("0 0 * * xyz", "unknown day-of-week name 'xyz'", 8);
	/* names are only valid in their own field */
	check_err("0 0 * mon *", "unknown month name 'mon'", 6);
	check_err("0 0 * * jan", "unknown day-of-week name 'jan'", 8);
	check_err("0 0 * january *", "unknown month name 'january'", 6);
	check_err("0 noon * * *",
		  "unexpected name 'noon' in hour field (names are only allowed in month and day-of-week fields)",
		  2);
}
END_TEST

START_TEST(test_err_invalid_char)
{
	check_err("0 0 ? * *", "invalid character '?' in day-of-month field",
		  4);
	check_err("0 0 1-2-3 * *",
		  "invalid character '-' in day-of-month field", 7);
	check_err("*5 * * * *", "invalid character '5' in minute field", 1);
	check_err("0 0 * * 1\n",
		  "invalid character '\\x0a' in day-of-week field", 9);
	check_err("0 1- * * *", "missing end of range in hour field", 4);
}
END_TEST

START_TEST(test_err_empty_item)
{
	check_err("0 1,,2 * * *", "empty list item in hour field", 4);
	check_err(",5 * * * *", "empty list item in minute field", 0);
	check_err("5, * * * *", "empty list item in minute field", 2);
}
END_TEST

START_TEST(test_err_macro)
{
	check_err("@fortnightly",
		  "unknown macro '@fortnightly' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
		  0);
	check_err("  @reboot",
		  "unknown macro '@reboot' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
		  2);
	check_err("@daily 0", "unexpected text after macro '@daily'", 7);
}
END_TEST

/* ---- nc_cron_next ---- */

START_TEST(test_next_daily_time)
{
	ck_assert_int_eq(next_of("30 2 * * *", utc(2026, 1, 1, 3, 0)),
			 utc(2026, 1, 2, 2, 30));
	ck_assert_int_eq(next_of("30 2 * * *", utc(2026, 1, 1, 2, 0)),
			 utc(2026, 1, 1, 2, 30));
}
END_TEST

START_TEST(test_next_strictly_after)
{
	time_t t = utc(2026, 3, 10, 12, 0);

	ck_assert_int_eq(next_of("* * * * *", t), t + 60);
	ck_assert_int_eq(next_of("* * * * *", t + 59), t + 60);
	ck_assert_int_eq(next_of("0 12 * * *", t), utc(2026, 3, 11, 12, 0));
	ck_assert_int_eq(next_of("*/15 * * * *", t + 1), t + 15 * 60);
	ck_assert_int_eq(next_of("@hourly", t), t + 3600);
	/* before the epoch, rounding goes down */
	ck_assert_int_eq(next_of("* * * * *", (time_t)-1), 0);
}
END_TEST

START_TEST(test_next_year_and_month_rollover)
{
	ck_assert_int_eq(next_of("59 23 31 12 *", utc(2026, 12, 31, 23, 59)),
			 utc(2027, 12, 31, 23, 59));
	ck_assert_int_eq(next_of("0 0 31 * *", utc(2026, 1, 31, 0, 0)),
			 utc(2026, 3, 31, 0, 0));
	ck_assert_int_eq(next_of("@yearly", utc(2026, 6, 1, 0, 0)),
			 utc(2027, 1, 1, 0, 0));
}
END_TEST

START_TEST(test_next_leap_day)
{
	ck_assert_int_eq(next_of("0 0 29 2 *", utc(2026, 1, 1, 0, 0)),
			 utc(2028, 2, 29, 0, 0));
	ck_assert_int_eq(next_of("0 0 29 2 *", utc(2028, 2, 29, 0, 0)),
			 utc(2032, 2, 29, 0, 0));
}
END_TEST

START_TEST(test_next_never)
{
	ck_assert_int_eq(next_of("0 0 31 2 *", utc(2026, 1, 1, 0, 0)),
			 (time_t)-1);
	ck_assert_int_eq(next_of("0 0 30 2 *", utc(2026, 1, 1, 0, 0)),
			 (time_t)-1);
}
END_TEST

START_TEST(test_next_dom_dow_or)
{
	/* 2026-01-01 is a Thursday: Fridays and the 13th both match */
	time_t t = utc(2026, 1, 1, 0, 0);

	t = next_of("0 0 13 * fri", t);
	ck_assert_int_eq(t, utc(2026, 1, 2, 0, 0));
	t = next_of("0 0 13 * fri", t);
	ck_assert_int_eq(t, utc(2026, 1, 9, 0, 0));
	t = next_of("0 0 13 * fri", t);
	ck_assert_int_eq(t, utc(2026, 1, 13, 0, 0));
	t = next_of("0 0 13 * fri", t);
	ck_assert_int_eq(t, utc(2026, 1, 16, 0, 0));
}
END_TEST

START_TEST(test_next_dom_dow_and)
{
	/* dom starts with '*': both must match (first odd Monday) */
	ck_assert_int_eq(next_of("0 0 */2 * mon", utc(2026, 1, 1, 0, 0)),
			 utc(2026, 1, 5, 0, 0));
	ck_assert_int_eq(next_of("0 0 */2 * mon", utc(2026, 1, 5, 0, 0)),
			 utc(2026, 1, 19, 0, 0));
	/* dow is "*": only the 13th matches */
	ck_assert_int_eq(next_of("0 0 13 * *", utc(2026, 1, 14, 0, 0)),
			 utc(2026, 2, 13, 0, 0));
	ck_assert_int_eq(next_of("0 9-17/2 * * mon-fri",
				 utc(2026, 1, 2, 17, 0)),
			 utc(2026, 1, 5, 9, 0));
}
END_TEST

Suite *nc_suite_cron(void)
{
	Suite *s = suite_create("cron");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_every_15_minutes);
	tcase_add_test(tc, test_office_hours);
	tcase_add_test(tc, test_macro_daily);
	tcase_add_test(tc, test_macros_all);
	tcase_add_test(tc, test_lists_and_month_names);
	tcase_add_test(tc, test_dow_seven_is_sunday);
	tcase_add_test(tc, test_misc_syntax);
	tcase_add_test(tc, test_null_out_and_errbuf);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_err_field_count);
	tcase_add_test(tc, test_err_empty);
	tcase_add_test(tc, test_err_out_of_range);
	tcase_add_test(tc, test_err_reversed);
	tcase_add_test(tc, test_err_step);
	tcase_add_test(tc, test_err_names);
	tcase_add_test(tc, test_err_invalid_char);
	tcase_add_test(tc, test_err_empty_item);
	tcase_add_test(tc, test_err_macro);
	suite_add_tcase(s, tc);

	tc = tcase_create("next");
	tcase_add_test(tc, test_next_daily_time);
	tcase_add_test(tc, test_next_strictly_after);
	tcase_add_test(tc, test_next_year_and_month_rollover);
	tcase_add_test(tc, test_next_leap_day);
	tcase_add_test(tc, test_next_never);
	tcase_add_test(tc, test_next_dom_dow_or);
	tcase_add_test(tc, test_next_dom_dow_and);
	suite_add_tcase(s, tc);

	return s;
}
