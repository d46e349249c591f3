/* test_monitor.c - issue 13 (telemetry): placeholder suite, filled in by its work. */
#include <check.h>

#include "tests.h"

Suite *nc_suite_monitor(void)
{
	Suite *s = suite_create("monitor");
	TCase *tc = tcase_create("monitor");

	suite_add_tcase(s, tc);
	return s;
}
