/*
 * test_score.c - the hbal-superset imbalance score and the rebalance search (issue 18).
 * (Its tests land with the feature.)
 */
#include <check.h>

#include "tests.h"

Suite *nc_suite_score(void)
{
	Suite *s = suite_create("score");
	TCase *tc = tcase_create("score");

	suite_add_tcase(s, tc);
	return s;
}
