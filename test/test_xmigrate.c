/*
 * test_xmigrate.c - cross-cluster migration: live with storage copy or through backup and restore (issue 16).
 * (Its tests land with the feature.)
 */
#include <check.h>

#include "tests.h"

Suite *nc_suite_xmigrate(void)
{
	Suite *s = suite_create("xmigrate");
	TCase *tc = tcase_create("xmigrate");

	suite_add_tcase(s, tc);
	return s;
}
