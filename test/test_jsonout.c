/*
 * test_jsonout.c - versioned JSON outputs built with json-c, checked against docs/json.md.
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_jsonout(void)
{
	Suite *s = suite_create("jsonout");

	return s;
}
