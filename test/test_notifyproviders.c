/*
 * test_notifyproviders.c - notification providers (Slack/Mattermost, Teams, JSON, forge commit status) and log levels/formats.
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_notifyproviders(void)
{
	Suite *s = suite_create("notifyproviders");

	return s;
}
