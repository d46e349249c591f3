/*
 * test_schema.c - the JSON Schema of the spec (novacron schema) against real examples.
 *
 * docs/novacron.schema.json is the output of `novacron schema`, byte for byte
 * (NC_TEST_REGENERATE=1 rewrites it, as test_golden.c its files).  The
 * validator test runs test/schema/check.py: Python's jsonschema (Debian's
 * python3-jsonschema) checks the schema against the draft-07 and 2020-12
 * metaschemas, every document of the specs validate accepts against the
 * schema, the known-bad files of test/schema/bad/ (each fails both, at the
 * path it names), the edge cases of test/schema/good/ (each passes both),
 * YAML anchors and merge keys (test/schema/anchors*.yaml), and that every
 * field of docs/reference.md is in the schema.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

START_TEST(test_schema_docs_copy)
{
	struct nc_run r, again;
	const char *regen = getenv("NC_TEST_REGENERATE");
	char *path = nc_xasprintf("%s/docs/novacron.schema.json", NC_SOURCE_DIR);
	char *want = NULL, *d;
	char tmp[] = "/tmp/nc-schema-XXXXXX";
	size_t len;
	int fd;

	nc_run_novacron(&r, "schema");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "\"$schema\": \"http://json-schema.org/draft-07/schema#\"");
	HAS(r.out, "\"markdownDescription\"");
	if (regen && *regen && strcmp(regen, "0") != 0) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs(r.out, f);
		fclose(f);
	}
	ck_assert_msg(nc_read_file(path, 1 << 22, &want, &len) == 0, "cannot read %s", path);
	if (strcmp(want, r.out) != 0) {
		d = nc_first_diff(want, r.out);
		ck_abort_msg("%s differs from `novacron schema` (NC_TEST_REGENERATE=1 rewrites it): %s", path, d);
	}
	/* deterministic, and --out writes the same bytes */
	fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	close(fd);
	{
		char *cmd = nc_xasprintf("schema --out %s", tmp);
		char *got = NULL;

		nc_run_novacron(&again, cmd);
		ck_assert_int_eq(again.status, 0);
		ck_assert_str_eq(again.out, "");
		ck_assert_int_eq(nc_read_file(tmp, 1 << 22, &got, &len), 0);
		ck_assert_str_eq(got, r.out);
		free(got);
		free(cmd);
		nc_run_free(&again);
	}
	unlink(tmp);
	/* one kind: its spec only */
	nc_run_novacron(&again, "schema --kind vm");
	ck_assert_int_eq(again.status, 0);
	HAS(again.out, "\"enum\": [\n        \"VM\"\n      ],");
	HAS(again.out, "\"maxDowntime\"");
	HASNT(again.out, "\"keepDaily\"");
	nc_run_free(&again);
	nc_run_novacron(&again, "schema --kind Deployment");
	ck_assert_int_eq(again.status, 1);
	HAS(again.err, "unknown kind 'Deployment'");
	nc_run_free(&again);
	nc_run_novacron(&again, "schema extra");
	ck_assert_int_eq(again.status, 1);
	nc_run_free(&again);
	nc_run_free(&r);
	free(want);
	free(path);
}
END_TEST

START_TEST(test_schema_validator)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("python3 test/schema/check.py '%s' docs/novacron.schema.json .", NC_BINARY);

	nc_run_shell(&r, cmd);
	free(cmd);
	if (r.status == 77) {
		NC_TEST_SKIP("%s", r.out);
		nc_run_free(&r);
		return;
	}
	ck_assert_msg(r.status == 0, "test/schema/check.py failed (%d):\n%.6000s%.2000s", r.status, r.out, r.err);
	HAS(r.out, "bad files: 10");
	HAS(r.out, "good files: 1");
	HAS(r.out, "anchors: checked");
	HAS(r.out, "reference.md fields in the schema: ");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_schema(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_create("schema");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_schema_docs_copy);
	tcase_add_test(tc, test_schema_validator);
	suite_add_tcase(s, tc);
	return s;
}
