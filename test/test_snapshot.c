/*
 * test_snapshot.c - declarative snapshots and snapshot revert (issue 16).
 * (Its tests land with the feature.)
 */
#include <check.h>

#include "tests.h"

Suite *nc_suite_snapshot(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("snapshot");

	suite_add_tcase(s, tc);
	return s;
}
