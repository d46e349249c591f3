/*
 * test_package.c - install rules, the Debian package, the hardened systemd unit, the README tour.
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_package(void)
{
	Suite *s = suite_create("package");

	return s;
}
