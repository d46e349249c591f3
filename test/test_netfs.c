/*
 * test_netfs.c - NetFS storage pools (issue 16).
 * (Its tests land with the feature.)
 */
#include <check.h>

#include "tests.h"

Suite *nc_suite_netfs(void)
{
	Suite *s = suite_create("netfs");
	TCase *tc = tcase_create("netfs");

	suite_add_tcase(s, tc);
	return s;
}
