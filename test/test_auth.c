/* test_auth.c - the auth suite (docs: see reconciler/web.h) */
#include "tests.h"

#include <check.h>

Suite *nc_suite_auth(void)
{
	Suite *s = suite_create("auth");

	return s;
}
