/*
 * test_order.c - dependsOn/waves with a health gate, novacron diff of two revisions, novacron history.
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_order(void)
{
	Suite *s = suite_create("order");

	return s;
}
