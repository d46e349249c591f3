/*
 * test_cli.c - the real novacron binary: commands, exit codes, usage errors.
 */
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "testutil.h"


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
	/* the quickstart sets ha:, which HA recovery acts on (docs/ha.md): no warning any more */
	ck_assert_ptr_null(strstr(r.err, "spec.ha is accepted but not acted on yet"));
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
	HAS(r.out, "valid: 8 files");
	nc_run_free(&r);
	free(cmd);
}
END_TEST

START_TEST(test_cli_validate_bad_usage)
{
	struct nc_run r;

	nc_run_novacron(&r, "validate --output yaml examples/quickstart");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "--output must be text, json, github or gitlab");
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
	char *flat;

	nc_run_novacron(&r, "validate -o json test/data/invalid");
	ck_assert_int_eq(r.status, 1);
	HAS(r.out, "\"valid\": false");
	HAS(r.out, "\"errors\": 15");
	flat = nc_json_oneline(r.out);
	HAS(flat, "{\"format_version\": 1, \"valid\": false, ");
	HAS(flat, "{\"file\": \"test/data/invalid/hosts.yaml\", \"line\": 10, \"column\": 16, "
		   "\"severity\": \"error\", \"message\": \"expected true or false for 'maintenance', "
		   "found a string 'yes'\"}");
	free(flat);
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
	/* ha is acted on (docs/ha.md): no longer marked as not acted on (spec/noop.c) */
	HAS(r.out, "high-availability policy\n");
	HASNT(r.out, "NOT ACTED ON YET");
	ck_assert_ptr_null(strstr(r.out, "deletionProtection       bool             true refuses to delete the VM (NOT"));
	nc_run_free(&r);

	nc_run_novacron(&r, "explain VM.ha");
	ck_assert_int_eq(r.status, 0);
	HASNT(r.out, "Not acted on yet");
	nc_run_free(&r);

	nc_run_novacron(&r, "explain Host.fence");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "names of the fence devices that fence this host");
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
	HAS(r.out, "/bad\xef\xbf\xbdname.yaml\",\n      \"line\": 2,\n      \"column\": 1");
	nc_run_free(&r);
	free(cmd);
}
END_TEST

/*
 * backup, restore and capacity without a spec path: the spec the
 * configuration's source: names (a directory; the checkout of the commit
 * serve applied last for git), never a blind "." -- and every command caps
 * its diagnostics at 1,000 as validate does.
 */
START_TEST(test_cli_spec_path_defaults)
{
	static const char *const cmds[] = {
		"backup run v1", "backup list --schedule s", "backup check --schedule s",
		"backup prune --schedule s", "restore v1 --backup 0123456789abcdef", "capacity",
	};
	char dir[64] = "/tmp/nc-cli-spec-XXXXXX";
	const char *hex = "0123456789abcdef0123456789abcdef01234567";
	struct nc_run r;
	size_t i, lines = 0;
	char *p;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* the current directory holds a broken spec; a good one is in spec/ and in a fake checkout */
	ck_assert_int_eq(nc_run_inq(dir, "echo 'kind: [' > broken.yaml && mkdir -p spec cache/checkouts/%s/cluster st && "
				    "printf 'apiVersion: novacron.io/v1\\nkind: Host\\nmetadata: {name: h1}\\n"
				    "spec: {uri: \"sim:///h1\"}\\n' > spec/h.yaml && "
				    "printf 'apiVersion: novacron.io/v1\\nkind: Host\\nmetadata: {name: g1}\\n"
				    "spec: {uri: \"sim:///g1\"}\\n' > cache/checkouts/%s/cluster/h.yaml && "
				    "printf 'source:\\n  directory: %s/spec\\n' > dir.yaml && "
				    "printf 'source:\\n  git: {url: \"file:///nowhere\", path: cluster}\\n"
				    "cacheDir: %s/cache\\nstateDir: %s/st\\n' > git.yaml && "
				    "printf 'connections: []\\n' > none.yaml", hex, hex, dir, dir, dir), 0);
	for (i = 0; i < NC_ARRAY_SIZE(cmds); i++) {
		ck_assert_int_eq(nc_run_in(&r, dir, "unset NOVACRON_CONFIG; $NC %s --state-dir st", cmds[i]), 1);
		HAS(r.err, "no spec path given and no configuration names one: pass the spec's directory as an "
			   "argument (\".\" for the current one), or a configuration (--config FILE or "
			   "$NOVACRON_CONFIG) whose source: names it\n");
		ck_assert_msg(!strstr(r.err, "broken.yaml"), "%s read '.':\n%s", cmds[i], r.err);
		nc_run_free(&r);
		ck_assert_int_eq(nc_run_in(&r, dir, "$NC %s --state-dir st --config none.yaml", cmds[i]), 1);
		HAS(r.err, "no spec path given and the configuration has no source:");
		nc_run_free(&r);
		/* git: serve has applied nothing yet */
		ck_assert_int_eq(nc_run_in(&r, dir, "NOVACRON_CONFIG=git.yaml $NC %s --state-dir st", cmds[i]), 1);
		HAS(r.err, "no spec path given and serve has applied no commit of its git source yet (");
		HAS(r.err, "/st/source-git-applied does not exist)");
		nc_run_free(&r);
	}
	/* the directory source, from --config and from $NOVACRON_CONFIG */
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC capacity --state-dir st --config dir.yaml"), 0);
	HAS(r.out, "h1 ");
	nc_run_free(&r);
	ck_assert_int_eq(nc_run_in(&r, dir, "NOVACRON_CONFIG=dir.yaml $NC backup list --schedule s --state-dir st"), 1);
	HAS(r.err, "no BackupSchedule named 's'");   /* the spec was read: it has none */
	nc_run_free(&r);
	/* the git source: the checkout of the applied commit, at its path */
	ck_assert_int_eq(nc_run_inq(dir, "printf 'commit %s\\nurl file:///nowhere\\nref main\\n' > st/source-git-applied",
				    hex), 0);
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC capacity --state-dir st --config git.yaml"), 0);
	HAS(r.out, "g1 ");
	nc_run_free(&r);
	/* a path given wins, "." included: read, its errors capped and counted */
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC capacity . --state-dir st --config dir.yaml"), 1);
	HAS(r.err, "broken.yaml");
	HAS(r.err, "novacron capacity: the spec has ");
	nc_run_free(&r);
	/* 1,200 documents of an unknown kind: an error each */
	ck_assert_int_eq(nc_run_inq(dir, "mkdir many && yes 'apiVersion: novacron.io/v1\nkind: Nope\n---' | "
				    "head -n 3600 > many/docs.yaml"), 0);
	ck_assert_int_eq(nc_run_in(&r, dir, "$NC backup run v1 many --state-dir st"), 1);
	for (p = r.err; (p = strchr(p, '\n')); p++)
		lines++;
	ck_assert_msg(lines <= 1003, "%zu lines", lines);
	HAS(r.err, "novacron: 200 more problems not shown\n");
	HAS(r.err, "novacron backup: the spec has 1200 errors; nothing was contacted\n");
	nc_run_free(&r);
	nc_run_inq("/", "rm -rf '%s'", dir);
}
END_TEST

Suite *nc_suite_cli(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("commands");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cli_usage);
	tcase_add_test(tc, test_cli_validate_exit_codes);
	tcase_add_test(tc, test_cli_validate_default_path);
	tcase_add_test(tc, test_cli_validate_bad_usage);
	tcase_add_test(tc, test_cli_validate_json_shape);
	tcase_add_test(tc, test_cli_explain);
	tcase_add_test(tc, test_cli_json_non_utf8_file_name);
	tcase_add_test(tc, test_cli_spec_path_defaults);
	suite_add_tcase(s, tc);
	return s;
}
