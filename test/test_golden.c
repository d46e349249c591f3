/*
 * test_golden.c - golden files: `novacron validate` on the inputs under
 * test/data/ and examples/, text and JSON, compared byte for byte with
 * test/golden/.  Run with NC_TEST_REGENERATE=1 to rewrite the golden files
 * (then review the diff), as libvirt's VIR_TEST_REGENERATE_OUTPUT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "testutil.h"

static const struct golden {
	const char *name;     /* golden/NAME.txt and golden/NAME.json */
	const char *args;     /* paths, relative to the source tree */
	int exit_code;
} cases[] = {
	{ "quickstart", "examples/quickstart", 0 },
	{ "invalid", "test/data/invalid", 1 },
	{ "syntax", "test/data/syntax.yaml", 1 },
	{ "multi", "test/data/invalid/hosts.yaml test/data/syntax.yaml", 1 },
};

static void check_golden(const char *file, const char *got)
{
	char *path = nc_xasprintf("%s/test/golden/%s", NC_SOURCE_DIR, file);
	char *want = NULL;
	size_t len;
	const char *regen = getenv("NC_TEST_REGENERATE");

	if (regen && *regen && strcmp(regen, "0") != 0) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs(got, f);
		fclose(f);
	}
	ck_assert_msg(nc_read_file(path, 1 << 20, &want, &len) == 0, "cannot read %s", path);
	if (strcmp(want, got) != 0) {
		char *d = nc_first_diff(want, got);

		ck_abort_msg("%s differs from the output (NC_TEST_REGENERATE=1 rewrites it): %s", path, d);
	}
	free(want);
	free(path);
}

START_TEST(test_golden_text)
{
	const struct golden *g = &cases[_i];
	struct nc_run r;
	char *cmd = nc_xasprintf("validate %s", g->args);
	char *file = nc_xasprintf("%s.txt", g->name);
	char *both;

	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, g->exit_code);
	both = nc_xasprintf("# stdout\n%s# stderr\n%s", r.out, r.err);
	check_golden(file, both);
	free(both);
	nc_run_free(&r);
	free(file);
	free(cmd);
}
END_TEST

START_TEST(test_golden_json)
{
	const struct golden *g = &cases[_i];
	struct nc_run r;
	char *cmd = nc_xasprintf("validate --output json %s", g->args);
	char *file = nc_xasprintf("%s.json", g->name);

	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, g->exit_code);
	ck_assert_str_eq(r.err, "");
	check_golden(file, r.out);
	nc_run_free(&r);
	free(file);
	free(cmd);
}
END_TEST

START_TEST(test_golden_deterministic)
{
	struct nc_run a, b;

	nc_run_novacron(&a, "validate --output json test/data/invalid examples/quickstart");
	nc_run_novacron(&b, "validate --output json test/data/invalid examples/quickstart");
	ck_assert_str_eq(a.out, b.out);
	nc_run_free(&a);
	nc_run_free(&b);
}
END_TEST

START_TEST(test_reference_doc_current)
{
	/* docs/reference.md is `novacron explain --markdown`, kept in step */
	struct nc_run r;

	nc_run_novacron(&r, "explain --markdown");
	ck_assert_int_eq(r.status, 0);
	check_golden("../../docs/reference.md", r.out);
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_golden(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("validate");

	tcase_add_loop_test(tc, test_golden_text, 0, (int)NC_ARRAY_SIZE(cases));
	tcase_add_loop_test(tc, test_golden_json, 0, (int)NC_ARRAY_SIZE(cases));
	tcase_add_test(tc, test_golden_deterministic);
	tcase_add_test(tc, test_reference_doc_current);
	suite_add_tcase(s, tc);
	return s;
}
