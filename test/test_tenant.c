/* test_tenant.c - the tenant suite (docs: see reconciler/web.h) */
#include "tests.h"

#include <check.h>

Suite *nc_suite_tenant(void)
{
	Suite *s = suite_create("tenant");

	return s;
}
