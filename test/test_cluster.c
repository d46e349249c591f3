/*
 * test_cluster.c - Clusters: the Cluster kind, plan --cluster, per-cluster serve and the federation view (issue 16).
 * (Its tests land with the feature.)
 */
#include <check.h>

#include "tests.h"

Suite *nc_suite_cluster(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("cluster");

	suite_add_tcase(s, tc);
	return s;
}
