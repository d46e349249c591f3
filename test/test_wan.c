/*
 * test_wan.c - WAN migration tuning (issue 16, docs/migration.md "WAN tuning"):
 * validate's errors and warnings for spec.migration, a PlacementPolicy's
 * migration defaults merged under a VM's own values, and the effective tuning
 * in the plan (text, Markdown, JSON) of a drain on simulated hosts, through the
 * real binary.  What each knob does on real daemons (flags, TLS, post-copy, a
 * link that drops) is test/integration/wan-migrate.sh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../spec/util.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];

static void setup(void)
{
	struct nc_run r;
	char *cmd;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-wan-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	/* the source tree is the working directory (testutil.h) */
	cmd = nc_xasprintf("cp -r examples/quickstart '%s/spec'", tdir);
	nc_run_shell(&r, cmd);
	ck_assert_int_eq(r.status, 0);
	nc_run_free(&r);
	free(cmd);
}

static void teardown(void)
{
	nc_run_inq("/tmp", "rm -rf '%s'", tdir);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

/* worker-1's own migration, appended to its document (the first in workers.yaml) */
#define VM_MIGRATION(yaml) \
	"sed -i '0,/  template: small/s||  template: small\\n  migration: " yaml "|' spec/vms/workers.yaml"
/* a PlacementPolicy for the batch VMs with migration defaults */
#define POLICY(yaml) \
	"printf 'apiVersion: novacron.io/v1\\nkind: PlacementPolicy\\nmetadata: {name: batch}\\n" \
	"spec:\\n  vmSelector: {matchLabels: {app: batch}}\\n  migration: " yaml "\\n' > spec/policies/batch.yaml"
#define DRAIN_KVM2 "sed -i 's|  uri: sim:///kvm2|  uri: sim:///kvm2\\n  maintenance: true|' spec/hosts/hosts.yaml"

START_TEST(test_validate_errors)
{
	struct nc_run r;

	ck_assert_int_eq(shq(VM_MIGRATION("{postCopy: {}, compression: lz4, parallelConnections: 0}")), 0);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	HAS(r.err, "spec/vms/workers.yaml:10:25: error: 'postCopy' needs 'after' (a duration), 'notConverging: true', "
		   "or both: otherwise nothing switches the migration to post-copy\n");
	HAS(r.err, "spec/vms/workers.yaml:10:42: error: invalid value 'lz4' for 'compression' "
		   "(expected none, xbzrle, zstd, zlib, true or false)\n");
	HAS(r.err, "spec/vms/workers.yaml:10:68: error: 'parallelConnections' must be at least 1, found 0\n");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_validate_warnings)
{
	struct nc_run r;

	/* multifd compression: accepted, with the libvirt it needs; post-copy after the timeout */
	ck_assert_int_eq(shq(VM_MIGRATION("{compression: zstd, postCopy: {after: 2m}, timeout: 1m}")), 0);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 0);
	HAS(r.err, "spec/vms/workers.yaml:10:28: warning: compression zstd: multifd compression needs libvirt 9.4 "
		   "or later on the hosts; with an older libvirt (Debian 12 has 9.0) the migration is refused "
		   "before it starts: use xbzrle or none\n");
	HAS(r.err, "warning: postCopy.after (120000 ms) is not before the timeout (60000 ms): the migration is "
		   "aborted before it would switch to post-copy\n");
	nc_run_free(&r);
	/* the older boolean forms still load, without a warning */
	ck_assert_int_eq(shq("cp -r spec spec2 && sed -i 's|compression: zstd, postCopy: {after: 2m}, timeout: 1m|"
			     "compression: true, copyStorage: false|' spec2/vms/workers.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC validate spec2"), 0);
	ck_assert_ptr_null(strstr(r.err, "warning"));
	nc_run_free(&r);
}
END_TEST

/* the VM's own values over its policy's, field by field; shown on the migrate action */
START_TEST(test_plan_shows_effective_tuning)
{
	struct nc_run r;

	ck_assert_int_eq(shq("$NC apply spec --state-dir state --auto-approve"), 0);
	ck_assert_int_eq(shq(POLICY("{compression: xbzrle, parallelConnections: 4, tls: true, timeout: 2m, "
				    "maxBandwidth: 100MiB}")), 0);
	ck_assert_int_eq(shq(VM_MIGRATION("{copyStorage: incremental, postCopy: {after: 30s, notConverging: true}, "
					  "timeout: 5m}")), 0);
	ck_assert_int_eq(shq(DRAIN_KVM2), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state"), 2);
	HAS(r.out, "~ worker-1: migrate kvm2 -> kvm1 (live)\n"
		   "      why: drain: kvm2 is in maintenance\n");
	HAS(r.out, "      tuning: copyStorage incremental, compression xbzrle, 4 connections, post-copy after 30s "
		   "or when not converging, tls, maxBandwidth 100MiB/s, timeout 5m\n");
	/* a live move of a VM no migration setting covers shows no tuning line */
	ck_assert_ptr_null(strstr(r.out, "tuning: copyStorage none, compression none, timeout 10m"));
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state -o markdown"), 2);
	HAS(r.out, "; tuning: copyStorage incremental, compression xbzrle, 4 connections, post-copy after 30s or "
		   "when not converging, tls, maxBandwidth 100MiB/s, timeout 5m |");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state -o json | python3 -c 'import json,sys; "
			       "a=[x for x in json.load(sys.stdin)[\"actions\"] if x[\"vm\"]==\"worker-1\"][0]; "
			       "print(json.dumps(a[\"migration\"], sort_keys=True))'"), 0);
	HAS(r.out, "{\"auto_converge\": false, \"compression\": \"xbzrle\", \"copy_storage\": \"incremental\", "
		   "\"max_bandwidth\": 104857600, \"max_downtime_ms\": 0, \"parallel_connections\": 4, "
		   "\"post_copy\": {\"after_ms\": 30000, \"not_converging\": true}, \"timeout_ms\": 300000, \"tls\": true}\n");
	nc_run_free(&r);

	/* the plan is the same bytes twice (no time, no address) */
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state -o json > p1.json; $NC plan spec --state-dir state "
			       "-o json > p2.json; cmp p1.json p2.json"), 0);
	nc_run_free(&r);
}
END_TEST

/* a policy's migration alone applies to its VMs; the VM's own wins where it says something */
START_TEST(test_policy_defaults_alone)
{
	struct nc_run r;

	ck_assert_int_eq(shq("$NC apply spec --state-dir state --auto-approve"), 0);
	ck_assert_int_eq(shq(POLICY("{copyStorage: true, compression: true, autoConverge: true, maxDowntime: 500ms}")), 0);
	ck_assert_int_eq(shq(DRAIN_KVM2), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state"), 2);
	HAS(r.out, "~ worker-1: migrate kvm2 -> kvm1 (live)\n");
	/* true means full and xbzrle */
	HAS(r.out, "      tuning: copyStorage full, compression xbzrle, autoConverge, maxDowntime 500ms, timeout 10m\n");
	nc_run_free(&r);
	ck_assert_int_eq(shq(VM_MIGRATION("{compression: none, copyStorage: none}")), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state"), 2);
	HAS(r.out, "      tuning: copyStorage none, compression none, autoConverge, maxDowntime 500ms, timeout 10m\n");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_wan(void)
{
	Suite *s = suite_create("wan");
	TCase *tc = tcase_create("wan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_validate_errors);
	tcase_add_test(tc, test_validate_warnings);
	tcase_add_test(tc, test_plan_shows_effective_tuning);
	tcase_add_test(tc, test_policy_defaults_alone);
	suite_add_tcase(s, tc);
	return s;
}
