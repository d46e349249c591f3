/* test_oidc.c - the oidc suite (docs: see reconciler/web.h) */
#include "tests.h"

#include <check.h>

Suite *nc_suite_oidc(void)
{
	Suite *s = suite_create("oidc");

	return s;
}
