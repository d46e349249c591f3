/* test_store.c - issue 13 (telemetry): placeholder suite, filled in by its work. */
#include <check.h>

#include "tests.h"

Suite *nc_suite_store(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	suite_add_tcase(s, tc);
	return s;
}
