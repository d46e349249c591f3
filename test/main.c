/*
 * main.c - the Check runner for every unit suite.  Prints Check's summary
 * and exits non-zero on any failure.  NC_TEST_REGENERATE=1 rewrites the
 * golden files instead of comparing (see test/test_golden.c).
 *
 * NC_SUITES=a,b runs only those suites, NC_SKIP_SUITES=a,b all but those
 * (by the function's name: nc_suite_NAME): scripts/test.sh runs two such
 * halves at once, since most of the slow suites wait on daemons and timers.
 * (Check's own CK_RUN_SUITE takes a suite's title, one at a time.)
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static const struct {
	const char *name;
	Suite *(*make)(void);
} suites[] = {
	{ "cron", nc_suite_cron },
	{ "spec", nc_suite_spec },
	{ "golden", nc_suite_golden },
	{ "cli", nc_suite_cli },
	{ "reconcile", nc_suite_reconcile },
	{ "sshsig", nc_suite_sshsig },
	{ "source", nc_suite_source },
	{ "serve", nc_suite_serve },
	{ "backup", nc_suite_backup },
	{ "backup_targets", nc_suite_backup_targets },
	{ "diskio", nc_suite_diskio },
	{ "storage", nc_suite_storage },
	{ "connections", nc_suite_connections },
	{ "hosts_left", nc_suite_hosts_left },
	{ "paths", nc_suite_paths },
	{ "seed", nc_suite_seed },
	{ "poolhosts", nc_suite_poolhosts },
	{ "network", nc_suite_network },
	{ "ha", nc_suite_ha },
	{ "fence", nc_suite_fence },
	{ "telemetry", nc_suite_telemetry },
	{ "store", nc_suite_store },
	{ "alerts", nc_suite_alerts },
	{ "forecast", nc_suite_forecast },
	{ "monitor", nc_suite_monitor },
	{ "load", nc_suite_load },
	{ "api", nc_suite_api },
	{ "auth", nc_suite_auth },
	{ "oidc", nc_suite_oidc },
	{ "tenant", nc_suite_tenant },
	{ "dashboard", nc_suite_dashboard },
	{ "verbs", nc_suite_verbs },
	{ "clihelp", nc_suite_clihelp },
	{ "package", nc_suite_package },
	{ "schema", nc_suite_schema },
	{ "jsonout", nc_suite_jsonout },
	{ "cirecipe", nc_suite_cirecipe },
	{ "notifyproviders", nc_suite_notifyproviders },
	{ "scope", nc_suite_scope },
	{ "adopt", nc_suite_adopt },
	{ "order", nc_suite_order },
	{ "cluster", nc_suite_cluster },
	{ "xmigrate", nc_suite_xmigrate },
	{ "wan", nc_suite_wan },
	{ "snapshot", nc_suite_snapshot },
	{ "netfs", nc_suite_netfs },
	{ "tier", nc_suite_tier },
	{ "score", nc_suite_score },
};

/* true when `name` is an item of the comma-separated `list` */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

int main(void)
{
	const char *only = getenv("NC_SUITES"), *skip = getenv("NC_SKIP_SUITES");
	SRunner *sr = NULL;
	size_t i;
	int failed;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if ((only && *only && !listed(only, suites[i].name)) || (skip && listed(skip, suites[i].name)))
			continue;
		if (!sr)
			sr = srunner_create(suites[i].make());
		else
			srunner_add_suite(sr, suites[i].make());
	}
	if (!sr)
		sr = srunner_create(suite_create("none"));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
