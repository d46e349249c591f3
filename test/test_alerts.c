/* test_alerts.c - issue 13 (telemetry): placeholder suite, filled in by its work. */
#include <check.h>

#include "tests.h"

Suite *nc_suite_alerts(void)
{
	Suite *s = suite_create("alerts");
	TCase *tc = tcase_create("alerts");

	suite_add_tcase(s, tc);
	return s;
}
