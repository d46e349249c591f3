/*
 * test_scope.c - plan/apply --target, --selector, --replace, ignoreDifferences, suspended VMs, novacron show.
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_scope(void)
{
	Suite *s = suite_create("scope");

	return s;
}
