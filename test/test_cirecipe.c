/*
 * test_cirecipe.c - validate annotations, bounded Markdown plans with a marker, novacron comment, the CI recipes.
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_cirecipe(void)
{
	Suite *s = suite_create("cirecipe");

	return s;
}
