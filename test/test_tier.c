/*
 * test_tier.c - storage tiers and StorageTierPolicy (issue 16).
 * (Its tests land with the feature.)
 */
#include <check.h>

#include "tests.h"

Suite *nc_suite_tier(void)
{
	Suite *s = suite_create("tier");
	TCase *tc = tcase_create("tier");

	suite_add_tcase(s, tc);
	return s;
}
