/* tests.h - the Check suites of nc-tests and helpers they share. */
#ifndef NC_TESTS_H
#define NC_TESTS_H

#include <check.h>

#include "../spec/model.h"

Suite *nc_suite_cron(void);
Suite *nc_suite_spec(void);
Suite *nc_suite_golden(void);
Suite *nc_suite_cli(void);
Suite *nc_suite_reconcile(void);
Suite *nc_suite_sshsig(void);
Suite *nc_suite_source(void);
Suite *nc_suite_serve(void);
Suite *nc_suite_backup(void);
Suite *nc_suite_backup_targets(void);
Suite *nc_suite_diskio(void);
Suite *nc_suite_storage(void);
Suite *nc_suite_connections(void);
Suite *nc_suite_hosts_left(void);
Suite *nc_suite_paths(void);
Suite *nc_suite_seed(void);
Suite *nc_suite_poolhosts(void);
Suite *nc_suite_network(void);
Suite *nc_suite_ha(void);
Suite *nc_suite_fence(void);
Suite *nc_suite_telemetry(void);
Suite *nc_suite_store(void);
Suite *nc_suite_alerts(void);
Suite *nc_suite_forecast(void);
Suite *nc_suite_monitor(void);
Suite *nc_suite_load(void);
Suite *nc_suite_api(void);
Suite *nc_suite_auth(void);
Suite *nc_suite_oidc(void);
Suite *nc_suite_tenant(void);
Suite *nc_suite_dashboard(void);
Suite *nc_suite_verbs(void);
Suite *nc_suite_clihelp(void);
Suite *nc_suite_package(void);
Suite *nc_suite_schema(void);
Suite *nc_suite_jsonout(void);
Suite *nc_suite_cirecipe(void);
Suite *nc_suite_notifyproviders(void);
Suite *nc_suite_scope(void);
Suite *nc_suite_adopt(void);
Suite *nc_suite_order(void);
Suite *nc_suite_cluster(void);
Suite *nc_suite_xmigrate(void);
Suite *nc_suite_wan(void);
Suite *nc_suite_snapshot(void);
Suite *nc_suite_netfs(void);
Suite *nc_suite_tier(void);
Suite *nc_suite_score(void);

#endif
