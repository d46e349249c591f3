/*
 * test_cli.c - the real novacron binary: commands, exit codes, usage errors.
 */
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "testutil.h"

#define HAS(hay, needle) ck_assert_msg(strstr((hay), (needle)) != NULL, \
				       "missing '%s' in:\n%.3000s", (needle), (hay))

START_TEST(test_cli_usage)
{
	struct nc_run r;

	nc_run_novacron(&r, "");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "usage: novacron COMMAND");
	nc_run_free(&r);

	nc_run_novacron(&r, "--help");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "validate");
	HAS(r.out, "exit codes: 0 ok or nothing to do, 1 error, 2 changes pending");
	nc_run_free(&r);

	nc_run_novacron(&r, "--version");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "novacron ");
	HAS(r.out, "novacron.io/v1");
	nc_run_free(&r);

	nc_run_novacron(&r, "frobnicate");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "novacron: unknown command 'frobnicate'");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_cli_validate_exit_codes)
{
	struct nc_run r;

	nc_run_novacron(&r, "validate examples/quickstart");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "valid: ");
	HAS(r.out, "10 VMs");
	/* the quickstart sets ha:, which nothing acts on yet (spec/noop.c): warned, not an error */
	HAS(r.err, "examples/quickstart/vms/db.yaml:24:5: warning: VM 'db-1': spec.ha is accepted but not acted on yet");
	ck_assert_ptr_null(strstr(r.err, "error"));
	ck_assert_ptr_null(strchr(r.out, '\033'));
	nc_run_free(&r);

	nc_run_novacron(&r, "validate --quiet examples/quickstart");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);

	nc_run_novacron(&r, "validate test/data/invalid");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "test/data/invalid/vms.yaml:20:13: error: no Template named 'bsae'; did you mean 'base'?\n");
	ck_assert_ptr_null(strchr(r.err, '\033'));
	nc_run_free(&r);

	nc_run_novacron(&r, "validate does/not/exist");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "does/not/exist: error: cannot open: No such file or directory\n");
	nc_run_free(&r);

	/* errors anywhere make the whole run fail, valid paths included */
	nc_run_novacron(&r, "validate examples/quickstart test/data/syntax.yaml");
	ck_assert_int_eq(r.status, 1);
	nc_run_free(&r);
}
END_TEST

START_TEST(test_cli_validate_default_path)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("cd examples/quickstart && '%s' validate", NC_BINARY);

	nc_run_shell(&r, cmd);
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "valid: 7 files");
	nc_run_free(&r);
	free(cmd);
}
END_TEST

START_TEST(test_cli_validate_bad_usage)
{
	struct nc_run r;

	nc_run_novacron(&r, "validate --output yaml examples/quickstart");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "--output must be text or json");
	nc_run_free(&r);

	nc_run_novacron(&r, "validate --no-such-flag");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "usage: novacron validate");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_cli_validate_json_shape)
{
	struct nc_run r;

	nc_run_novacron(&r, "validate -o json test/data/invalid");
	ck_assert_int_eq(r.status, 1);
	HAS(r.out, "\"valid\": false");
	HAS(r.out, "\"errors\": 15");
	HAS(r.out, "{\"file\": \"test/data/invalid/hosts.yaml\", \"line\": 10, \"column\": 16, "
		   "\"severity\": \"error\", \"message\": \"expected true or false for 'maintenance', "
		   "found a string 'yes'\"}");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_cli_explain)
{
	struct nc_run r;

	nc_run_novacron(&r, "explain");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "PlacementPolicy");
	nc_run_free(&r);

	nc_run_novacron(&r, "explain VM");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "deletionProtection");
	HAS(r.out, "running|stopped|absent");
	nc_run_free(&r);

	nc_run_novacron(&r, "explain vm.disks");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "vm.disks: list of objects");
	HAS(r.out, "virtio|scsi|sata|ide");
	nc_run_free(&r);

	nc_run_novacron(&r, "explain VM.nope");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "no field 'nope' in VM.nope");
	nc_run_free(&r);

	nc_run_novacron(&r, "explain Deployment");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "unknown kind 'Deployment'");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_cli_json_non_utf8_file_name)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("d=$(mktemp -d) && printf 'a: [' > \"$d/$(printf 'bad\\377name.yaml')\" && "
				 "'%s' validate -o json \"$d\"; rc=$?; rm -rf \"$d\"; exit $rc", NC_BINARY);

	nc_run_shell(&r, cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.out, "/bad\\ufffdname.yaml\", \"line\": 2, \"column\": 1");
	nc_run_free(&r);
	free(cmd);
}
END_TEST

Suite *nc_suite_cli(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("commands");

	tcase_add_test(tc, test_cli_usage);
	tcase_add_test(tc, test_cli_validate_exit_codes);
	tcase_add_test(tc, test_cli_validate_default_path);
	tcase_add_test(tc, test_cli_validate_bad_usage);
	tcase_add_test(tc, test_cli_validate_json_shape);
	tcase_add_test(tc, test_cli_explain);
	tcase_add_test(tc, test_cli_json_non_utf8_file_name);
	suite_add_tcase(s, tc);
	return s;
}
