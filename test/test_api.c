/* test_api.c - the api suite (docs: see reconciler/web.h) */
#include "tests.h"

#include <check.h>

Suite *nc_suite_api(void)
{
	Suite *s = suite_create("api");

	return s;
}
