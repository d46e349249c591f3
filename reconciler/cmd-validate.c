/*
 * cmd-validate.c - `novacron validate [PATH...] [--output text|json|github|gitlab] [--quiet] [--config FILE]`
 *
 * Loads and validates the spec under each PATH (default "."), checks its
 * local paths against the operator's `paths:` roots (--config FILE or
 * $NOVACRON_CONFIG, else the defaults of spec/roots.h), prints every
 * problem as file:line:col: error: message (text, on stderr) or as the JSON
 * document described in docs/validate.md (on stdout), or for CI (docs/ci.md) as
 * GitHub workflow commands or a GitLab Code Quality report (on stdout, the
 * summary on stderr), and a summary.
 * Exit 0 when valid, 1 when any error was found or on bad usage.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "../spec/model.h"
#include "../spec/tenant.h"
#include "connections.h"
#include "fencing.h"
#include "jsonout.h"
#include "annotations.h"

static void count_line(const struct nc_spec *spec, struct nc_buf *b)
{
	size_t k;

	for (k = 0; k < NC_KIND__COUNT; k++) {
		size_t n = spec->nobjs[k];

		if ((k == NC_KIND_CLUSTER || k == NC_KIND_TIER_POLICY) && !n)
			continue;   /* one implicit cluster: the line it always had */

		nc_buf_addf(b, "%s%zu %s", k ? ", " : "", n,
			    n == 1 ? nc_kind_singular((enum nc_kind)k) : nc_kind_plural((enum nc_kind)k));
	}
}

static void print_json(const struct nc_spec *spec, const struct nc_diags *d)
{
	struct json_object *doc = nc_json_doc(1), *objs = json_object_new_object(), *diags;
	size_t k;

	nc_json_set(doc, "valid", json_object_new_boolean(!d->errors));
	nc_json_set(doc, "errors", nc_json_new_u64(d->errors));
	nc_json_set(doc, "warnings", nc_json_new_u64(d->warnings));
	nc_json_set(doc, "files", nc_json_new_u64(spec->nfiles));
	nc_json_set(doc, "documents", nc_json_new_u64(spec->ndocs));
	for (k = 0; k < NC_KIND__COUNT; k++)
		if ((k != NC_KIND_CLUSTER && k != NC_KIND_TIER_POLICY) || spec->nobjs[k])   /* "Cluster", "StorageTierPolicy" only when the spec has one */
			nc_json_set(objs, nc_kind_name((enum nc_kind)k), nc_json_new_u64(spec->nobjs[k]));
	nc_json_set(doc, "objects", objs);
	diags = json_object_new_array_ext((int)d->n);
	for (k = 0; k < d->n; k++) {
		const struct nc_diag *g = &d->v[k];
		struct json_object *o = json_object_new_object();

		nc_json_set(o, "file", nc_json_new_str(g->file));
		nc_json_set(o, "line", nc_json_new_u64(g->line));
		nc_json_set(o, "column", nc_json_new_u64(g->col));
		nc_json_set(o, "severity", json_object_new_string(nc_severity_name(g->sev)));
		nc_json_set(o, "message", nc_json_new_str(g->msg));
		json_object_array_add(diags, o);
	}
	nc_json_set(doc, "diagnostics", diags);
	nc_json_print(stdout, doc);
}

enum { OPT_CONFIG = NC_OPT_LONG_ONLY };

static const struct nc_opt validate_opts[] = {
	{ "output", 'o', "FORMAT", "text (default: problems on standard error), json (docs/validate.md, "
	  "on standard output), github (workflow commands: annotations) or gitlab (a Code Quality report; "
	  "docs/ci.md)", NC_COMP_WORDS, "text json github gitlab" },
	{ "quiet", 'q', NULL, "print nothing when the spec is valid (problems are still printed)", NC_COMP_NONE, NULL },
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration, whose paths: roots and fence devices "
	  "the spec is checked against (default $NOVACRON_CONFIG)", NC_COMP_FILE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const validate_examples[] = {
	"check the quickstart's spec",
	"novacron validate examples/quickstart",
	"the problems as JSON, for an editor or a CI step",
	"novacron validate --output json clusters/prod",
	"each problem as an annotation on a GitHub pull request (docs/ci.md)",
	"novacron validate --output github clusters/",
	"a GitLab Code Quality report (artifacts: reports: codequality)",
	"novacron validate --output gitlab clusters/ > gl-code-quality.json",
	"a silent check in a pre-commit hook: only problems are printed",
	"novacron validate -q .",
	NULL,
};

const struct nc_cmd_doc nc_doc_validate = {
	"validate", "validate [PATH...] [OPTIONS]",
	"check a cluster spec and report every problem as file:line:col",
	"Loads every YAML file under each PATH (default \".\"), checks each document against the schema "
	"(`novacron explain`) and the spec as a whole (names, references, placement, local paths against "
	"the operator's roots), and prints every problem as file:line:col: error: message. Nothing is "
	"contacted. Exit 0 when the spec is valid (warnings allowed), 1 when any error was found.",
	validate_opts, validate_examples, NC_COMP_FILE, NULL,
};

int cmd_validate(int argc, char **argv)
{
	enum nc_output out = NC_OUT_TEXT;
	const char *dflt[] = { "." };
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	struct nc_buf b = NC_BUF_INIT;
	struct nc_cli_config cfg;
	struct nc_path_roots roots;
	struct nc_getopt g;
	const char *config = NULL;
	int c, quiet = 0, ret, ci = 0;   /* ci: 1 github, 2 gitlab (annotations.h) */

	nc_getopt_init(&g, validate_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case 'o':
			ci = !strcmp(optarg, "github") ? 1 : !strcmp(optarg, "gitlab") ? 2 : 0;
			if (!ci && nc_cli_output(optarg, 1u << NC_OUT_TEXT | 1u << NC_OUT_JSON, &out) < 0) {
				nc_getopt_release(&g);
				fprintf(stderr, "novacron validate: --output must be text, json, github or gitlab\n");
				return NC_EXIT_ERROR;
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_validate);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_validate);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	nc_diags_init(&d);
	d.max_errors = 1000;
	if (optind < argc)
		nc_spec_load(&spec, (const char *const *)argv + optind, (size_t)(argc - optind), NULL, &d);
	else
		nc_spec_load(&spec, dflt, 1, NULL, &d);
	/* where the spec's local paths may point is the operator's: its file, or the defaults */
	if (nc_cli_config_load(&cfg, "validate", config) < 0) {
		nc_diags_release(&d);
		nc_spec_free(spec);
		return NC_EXIT_ERROR;
	}
	if (!d.errors) {   /* as plan does: a value already refused is not judged twice */
		nc_path_roots_init(&roots, cfg.file ? &cfg.paths : NULL, cfg.file);
		nc_spec_check_paths(spec, &roots, &d);
		/* the fence devices Hosts name are the operator's: judged when there is a configuration */
		if (cfg.file)
			nc_fence_names_check(spec, &cfg.fence_devices, cfg.file, &d);
		nc_diags_sort(&d);
		nc_path_roots_release(&roots);
	}
	/* Tenants only under tenancy.adminPaths, whatever else is wrong; without them a warning
	 * (docs/tenants.md); sorts the diagnostics */
	nc_tenant_check_admin(spec, cfg.file ? &cfg.admin_paths : NULL, &d);
	nc_cli_config_release(&cfg);

	if (out == NC_OUT_JSON && !ci) {
		print_json(spec, &d);
	} else {
		/* github, gitlab: the problems on stdout for the CI system, the summary on stderr */
		if (ci == 1)
			nc_diags_format_github(&d, &b);
		else if (ci == 2)
			nc_diags_format_gitlab(&d, &b);
		else
			nc_diags_format_text(&d, &b, nc_cli_color(stderr));
		fwrite(b.buf, 1, b.len, ci ? stdout : stderr);
		nc_buf_reset(&b);
		if (ci && d.dropped)
			fprintf(stderr, "novacron: %zu more problems not shown\n", d.dropped);
		if (!quiet || d.errors) {
			if (d.errors)
				nc_buf_addf(&b, "invalid: %zu error%s, %zu warning%s in %zu file%s\n",
					    d.errors, d.errors == 1 ? "" : "s", d.warnings,
					    d.warnings == 1 ? "" : "s", spec->nfiles,
					    spec->nfiles == 1 ? "" : "s");
			else
				nc_buf_addf(&b, "valid: %zu file%s, %zu document%s, %zu warning%s\n",
					    spec->nfiles, spec->nfiles == 1 ? "" : "s", spec->ndocs,
					    spec->ndocs == 1 ? "" : "s", d.warnings,
					    d.warnings == 1 ? "" : "s");
			nc_buf_adds(&b, "  ");
			count_line(spec, &b);
			nc_buf_addc(&b, '\n');
			fwrite(b.buf, 1, b.len, d.errors || ci ? stderr : stdout);
		}
	}
	ret = d.errors ? NC_EXIT_ERROR : NC_EXIT_OK;
	nc_buf_release(&b);
	nc_diags_release(&d);
	nc_spec_free(spec);
	return ret;
}
