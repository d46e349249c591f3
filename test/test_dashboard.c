/* test_dashboard.c - the dashboard suite (docs: see reconciler/web.h) */
#include "tests.h"

#include <check.h>

Suite *nc_suite_dashboard(void)
{
	Suite *s = suite_create("dashboard");

	return s;
}
