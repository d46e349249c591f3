/*
 * test_clihelp.c - every command's --help, man pages, completion scripts and docs/cli.md from the option tables.
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_clihelp(void)
{
	Suite *s = suite_create("clihelp");

	return s;
}
