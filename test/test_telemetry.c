/* test_telemetry.c - issue 13 (telemetry): placeholder suite, filled in by its work. */
#include <check.h>

#include "tests.h"

Suite *nc_suite_telemetry(void)
{
	Suite *s = suite_create("telemetry");
	TCase *tc = tcase_create("telemetry");

	suite_add_tcase(s, tc);
	return s;
}
