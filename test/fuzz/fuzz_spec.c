/*
 * fuzz_spec.c - libFuzzer harness for the spec loader.
 *
 * Each input is loaded as one YAML file with nc_spec_load_buffer(), so every
 * stage runs on it: the libyaml event parser, the node tree (spec/yaml.c),
 * the schema-driven conversion (spec/parse.c), template inheritance
 * (spec/resolve.c) and validation (spec/validate.c).  The diagnostics are
 * then rendered as text (with and without colour) and as JSON, and
 * everything is freed, so leaks are reported by LeakSanitizer.
 *
 * Work per input is measured two ways.  The node tree is parsed once more
 * with nc_yaml_parse() and the work it counted (nodes, bytes added by
 * aliases, expanded size) must stay within the loader's budgets (an
 * alias's cost is at most what was counted before it, so a refused input
 * ends under twice a budget); an input over them aborts.  And the replay in
 * scripts/test.sh runs with -timeout and -rss_limit_mb, so an input that
 * takes too long or too much memory fails it, as in a fuzzing run.
 *
 * Build (clang, ASan + UBSan + libFuzzer, into build-fuzz/):
 *
 *	make fuzz
 *
 * Run on the seed corpus with the keyword dictionary:
 *
 *	./build-fuzz/nc-fuzz-spec -max_total_time=300 -rss_limit_mb=2048 -timeout=10 \
 *		-dict=test/fuzz/spec.dict test/fuzz/corpus
 *
 * libFuzzer adds every new input to the first corpus directory, so for long
 * runs copy the seeds elsewhere and keep crash files out of the tree:
 *
 *	mkdir -p /tmp/fuzz-corpus /tmp/fuzz-artifacts
 *	cp -r test/fuzz/corpus/. /tmp/fuzz-corpus/
 *	./build-fuzz/nc-fuzz-spec -max_total_time=600 -rss_limit_mb=2048 \
 *		-timeout=10 -dict=test/fuzz/spec.dict \
 *		-artifact_prefix=/tmp/fuzz-artifacts/ /tmp/fuzz-corpus
 *
 * Reproduce or minimise a finding:
 *
 *	./build-fuzz/nc-fuzz-spec /tmp/fuzz-artifacts/crash-...
 *	./build-fuzz/nc-fuzz-spec -minimize_crash=1 -runs=10000 \
 *		-artifact_prefix=/tmp/fuzz-artifacts/min- /tmp/fuzz-artifacts/crash-...
 *
 * The seeds in test/fuzz/corpus/ are the quickstart examples plus hostile
 * cases (alias bombs, deep nesting, NUL and non-UTF-8 bytes, bad values);
 * test/fuzz/spec.dict lists the kinds, keys and enum values of the schema.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/diag.h"
#include "../../spec/model.h"
#include "../../spec/tenant.h"
#include "../../spec/util.h"
#include "../../spec/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The loader's documented contract: a spec is always returned, and the
 * result is 0 exactly when no error was reported.
 */
static void nc_fuzz_check(int ret, const struct nc_diags *diags, const struct nc_spec *spec)
{
	if (!spec)
		abort();
	if ((ret == 0) != (diags->errors == 0))
		abort();
}

/* The work the node tree counted stays within the default budgets (spec/yaml.h). */
static void nc_fuzz_check_work(const uint8_t *data, size_t size)
{
	struct nc_arena arena = { NULL, 0, 0 };
	struct nc_ystats st;
	struct nc_ylimits lim;
	struct nc_ydoc *docs = NULL;
	struct nc_diags diags;
	size_t ndocs = 0;

	memset(&lim, 0, sizeof(lim));
	memset(&st, 0, sizeof(st));
	lim.stats = &st;
	nc_diags_init(&diags);
	nc_yaml_parse(&arena, "fuzz.yaml", (const char *)data, size, &lim, &docs, &ndocs, &diags);
	if (st.nodes > 2000000 + 1 || st.alias_bytes > 2 * ((size_t)64 << 20) ||
	    st.expanded_bytes > 2 * ((size_t)64 << 20))
		abort();
	nc_diags_release(&diags);
	nc_arena_release(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nc_spec *spec = NULL;
	struct nc_diags diags;
	struct nc_buf text = NC_BUF_INIT;
	struct nc_buf json = NC_BUF_INIT;
	int ret;

	nc_fuzz_check_work(data, size);
	nc_diags_init(&diags);
	ret = nc_spec_load_buffer(&spec, "fuzz.yaml", (const char *)data, size, NULL, &diags);
	nc_fuzz_check(ret, &diags, spec);

	nc_diags_format_text(&diags, &text, 0);
	nc_buf_reset(&text);
	nc_diags_format_text(&diags, &text, 1);
	nc_diags_format_json(&diags, &json);
	if (json.len == 0 || json.buf[0] != '[' || json.buf[json.len - 1] != ']')
		abort();

	/* tenants (spec/tenant.h): usage as plan and the API show it, every VM's tenant */
	nc_buf_reset(&json);
	nc_tenant_usage_json(spec, NULL, NULL, &json);
	nc_tenant_usage_text(spec, &json);
	nc_tenant_usage_markdown(spec, &json);
	for (size_t i = 0; i < spec->nobjs[NC_KIND_VM]; i++)
		(void)nc_tenant_of(spec, spec->objs[NC_KIND_VM][i]);
	nc_tenant_check_admin(spec, NULL, &diags);

	nc_buf_release(&text);
	nc_buf_release(&json);
	nc_spec_free(spec);
	nc_diags_release(&diags);
	return 0;
}
