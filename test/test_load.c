/* test_load.c - issue 13 (telemetry): placeholder suite, filled in by its work. */
#include <check.h>

#include "tests.h"

Suite *nc_suite_load(void)
{
	Suite *s = suite_create("load");
	TCase *tc = tcase_create("load");

	suite_add_tcase(s, tc);
	return s;
}
