/*
 * test_wan.c - WAN migration tuning: compression, multifd, post-copy, TLS, bandwidth, storage copy (issue 16).
 * (Its tests land with the feature.)
 */
#include <check.h>

#include "tests.h"

Suite *nc_suite_wan(void)
{
	Suite *s = suite_create("wan");
	TCase *tc = tcase_create("wan");

	suite_add_tcase(s, tc);
	return s;
}
