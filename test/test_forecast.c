/* test_forecast.c - issue 13 (telemetry): placeholder suite, filled in by its work. */
#include <check.h>

#include "tests.h"

Suite *nc_suite_forecast(void)
{
	Suite *s = suite_create("forecast");
	TCase *tc = tcase_create("forecast");

	suite_add_tcase(s, tc);
	return s;
}
