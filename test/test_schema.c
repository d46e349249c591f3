/*
 * test_schema.c - the JSON Schema of the spec (novacron schema) against real examples.
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_schema(void)
{
	Suite *s = suite_create("schema");

	return s;
}
