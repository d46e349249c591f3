/*
 * main.c - the Check runner for every unit suite.  Prints Check's summary
 * and exits non-zero on any failure.  NC_TEST_REGENERATE=1 rewrites the
 * golden files instead of comparing (see test/test_golden.c).
 */
#include <check.h>
#include <stdlib.h>

#include "tests.h"

int main(void)
{
	SRunner *sr = srunner_create(nc_suite_cron());
	int failed;

	srunner_add_suite(sr, nc_suite_spec());
	srunner_add_suite(sr, nc_suite_golden());
	srunner_add_suite(sr, nc_suite_cli());
	srunner_add_suite(sr, nc_suite_reconcile());
	srunner_add_suite(sr, nc_suite_sshsig());
	srunner_add_suite(sr, nc_suite_source());
	srunner_add_suite(sr, nc_suite_serve());
	srunner_add_suite(sr, nc_suite_backup());
	srunner_add_suite(sr, nc_suite_backup_targets());
	srunner_add_suite(sr, nc_suite_diskio());
	srunner_add_suite(sr, nc_suite_storage());
	srunner_add_suite(sr, nc_suite_connections());
	srunner_add_suite(sr, nc_suite_hosts_left());
	srunner_add_suite(sr, nc_suite_paths());
	srunner_add_suite(sr, nc_suite_seed());
	srunner_add_suite(sr, nc_suite_poolhosts());
	srunner_add_suite(sr, nc_suite_network());
	srunner_add_suite(sr, nc_suite_ha());
	srunner_add_suite(sr, nc_suite_fence());
	srunner_add_suite(sr, nc_suite_telemetry());
	srunner_add_suite(sr, nc_suite_store());
	srunner_add_suite(sr, nc_suite_alerts());
	srunner_add_suite(sr, nc_suite_forecast());
	srunner_add_suite(sr, nc_suite_monitor());
	srunner_add_suite(sr, nc_suite_load());
	srunner_add_suite(sr, nc_suite_api());
	srunner_add_suite(sr, nc_suite_auth());
	srunner_add_suite(sr, nc_suite_oidc());
	srunner_add_suite(sr, nc_suite_tenant());
	srunner_add_suite(sr, nc_suite_dashboard());
	srunner_add_suite(sr, nc_suite_verbs());
	srunner_add_suite(sr, nc_suite_clihelp());
	srunner_add_suite(sr, nc_suite_package());
	srunner_add_suite(sr, nc_suite_schema());
	srunner_add_suite(sr, nc_suite_jsonout());
	srunner_add_suite(sr, nc_suite_cirecipe());
	srunner_add_suite(sr, nc_suite_notifyproviders());
	srunner_add_suite(sr, nc_suite_scope());
	srunner_add_suite(sr, nc_suite_adopt());
	srunner_add_suite(sr, nc_suite_order());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
