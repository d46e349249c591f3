/*
 * pass-cli.c - what `plan` and `apply` share: their options, loading and
 * validating the spec, observing, planning, and reading a saved plan file.
 */
#include "pass-cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonout.h"
#include "annotations.h"
#include "scope.h"
#include "clusters.h"

enum {
	OPT_STATE_DIR = 1000, OPT_PRUNE, OPT_THRESHOLD, OPT_MASS_DELETE, OPT_TIMEOUT,
	OPT_PARALLEL, OPT_COMMIT, OPT_NO_COLOR, OPT_AUTO_APPROVE, OPT_OUT, OPT_SHUTDOWN_TIMEOUT,
	OPT_MAX_MIG, OPT_MAX_MIG_HOST, OPT_CONFIG, OPT_ALLOW_UNREACHABLE, OPT_TELEMETRY_DIR,
	OPT_MAX_BYTES, OPT_MARKER,
	OPT_TARGET, OPT_REPLACE, OPT_CLUSTER,
};

static const char *default_state_dir(struct nc_pass_args *a)
{
	const char *e = getenv("NOVACRON_STATE_DIR");

	if (e && *e)
		return e;
	e = getenv("XDG_STATE_HOME");
	if (e && *e) {
		a->owned_state_dir = nc_xasprintf("%s/novacron", e);
		return a->owned_state_dir;
	}
	e = getenv("HOME");
	a->owned_state_dir = nc_xasprintf("%s/.local/state/novacron", e && *e ? e : "/tmp");
	return a->owned_state_dir;
}

const char *nc_pass_default_state_dir(struct nc_pass_args *a)
{
	return default_state_dir(a);
}

static int parse_uint(const char *cmd, const char *flag, const char *s, unsigned min, unsigned max,
		      unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max) {
		fprintf(stderr, "novacron %s: %s must be a number from %u to %u\n", cmd, flag, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

#define PASS_OPTS \
	{ "target", OPT_TARGET, "NAME", "plan only this VM (or KIND/NAME: Network/lan, Image/debian-12) and " \
	  "what it needs; repeatable; other drift is not shown or acted on", NC_COMP_VM, NULL }, \
	{ "selector", 'l', "EXPR", "plan only the VMs whose labels match: k=v, k!=v, k, !k, joined by ',' " \
	  "(and)", NC_COMP_NONE, NULL }, \
	{ "replace", OPT_REPLACE, "VM", "replace this VM even without drift: stop, undefine, define anew, " \
	  "start; disks kept; repeatable", NC_COMP_VM, NULL }, \
	{ "cluster", OPT_CLUSTER, "NAME", "plan only this Cluster's actions (every host is still observed); " \
	  "repeatable; default all, grouped by cluster (docs/federation.md)", NC_COMP_NONE, NULL }, \
	{ "state-dir", OPT_STATE_DIR, "DIR", "where the record of hosts, HA and plans is kept (default " \
	  "$NOVACRON_STATE_DIR, $XDG_STATE_HOME/novacron or ~/.local/state/novacron)", NC_COMP_DIR, NULL }, \
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration: connections, paths, fence devices " \
	  "(default $NOVACRON_CONFIG)", NC_COMP_FILE, NULL }, \
	{ "prune", OPT_PRUNE, NULL, "also delete managed objects that left the spec", NC_COMP_NONE, NULL }, \
	{ "delete-threshold", OPT_THRESHOLD, "PCT", "refuse a plan that deletes more than PCT % of the " \
	  "managed VMs (default 25; 0 = no limit)", NC_COMP_NONE, NULL }, \
	{ "allow-mass-delete", OPT_MASS_DELETE, NULL, "accept a plan over --delete-threshold", NC_COMP_NONE, NULL }, \
	{ "timeout", OPT_TIMEOUT, "SEC", "give up on a host that does not answer within SEC seconds " \
	  "(1-3600, default 30)", NC_COMP_NONE, NULL }, \
	{ "shutdown-timeout", OPT_SHUTDOWN_TIMEOUT, "SEC", "wait SEC seconds for a guest to shut down " \
	  "before forcing it off (0-3600)", NC_COMP_NONE, NULL }, \
	{ "parallel", OPT_PARALLEL, "N", "read and change up to N hosts at once (1-1024)", NC_COMP_NONE, NULL }, \
	{ "max-migrations", OPT_MAX_MIG, "N", "at most N live migrations in one pass (1-64)", NC_COMP_NONE, NULL }, \
	{ "max-migrations-per-host", OPT_MAX_MIG_HOST, "N", "at most N migrations to or from one host " \
	  "(1-64)", NC_COMP_NONE, NULL }, \
	{ "telemetry-dir", OPT_TELEMETRY_DIR, "DIR", "read load history for placement from DIR " \
	  "(default STATE_DIR/telemetry)", NC_COMP_DIR, NULL }, \
	{ "commit", OPT_COMMIT, "SHA", "the revision the spec comes from, recorded in the plan", NC_COMP_NONE, NULL }, \
	{ "no-color", OPT_NO_COLOR, NULL, "no colour even on a terminal (NO_COLOR=1 does the same)", NC_COMP_NONE, NULL }, \
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL }

static const struct nc_opt plan_opts[] = {
	{ "output", 'o', "FORMAT", "text (default), json or markdown", NC_COMP_WORDS, "text json markdown" },
	{ "out", OPT_OUT, "PLANFILE", "also save the plan as JSON for `novacron apply PLANFILE`", NC_COMP_FILE, NULL },
	{ "max-bytes", OPT_MAX_BYTES, "N", "Markdown: at most N bytes, the actions that do not fit counted "
	  "(default 60000, under GitHub's comment limit; 0 = unlimited; 8192 at least)", NC_COMP_NONE, NULL },
	{ "marker", OPT_MARKER, "ID", "Markdown: start with the hidden line <!-- novacron:plan:ID --> "
	  "(ID: 1-64 of A-Z a-z 0-9 . _ / -) that `novacron comment` finds", NC_COMP_NONE, NULL },
	PASS_OPTS,
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const struct nc_opt apply_opts[] = {
	{ "auto-approve", OPT_AUTO_APPROVE, NULL, "apply without asking (needed when stdin is not a terminal)",
	  NC_COMP_NONE, NULL },
	{ "allow-unreachable", OPT_ALLOW_UNREACHABLE, NULL, "apply a saved plan made while a host could not be "
	  "read", NC_COMP_NONE, NULL },
	{ "output", 'o', "FORMAT", "text (default), json or markdown", NC_COMP_WORDS, "text json markdown" },
	{ "out", OPT_OUT, "PLANFILE", NULL, NC_COMP_FILE, NULL },   /* refused: a usage error */
	PASS_OPTS,
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const plan_examples[] = {
	"what would change in the quickstart's simulated cluster",
	"novacron plan examples/quickstart",
	"save the plan, review it, then apply exactly it",
	"novacron plan clusters/prod --out prod.plan && novacron apply prod.plan",
	"the plan as Markdown, for a pull request comment",
	"novacron plan --output markdown --no-color clusters/prod",
	"a pull request comment for CI: one marker to find it again, the whole plan kept aside",
	"novacron plan --output markdown --marker prod clusters/prod > plan.md; "
	"novacron plan --output markdown --max-bytes 0 clusters/prod > plan-full.md",
	"only web-1 and what it needs (its network, its image upload)",
	"novacron plan clusters/prod --target web-1",
	"only the VMs labelled app=shop that are not databases",
	"novacron plan clusters/prod -l 'app=shop,role!=db'",
	"redefine db-1 anew (new UUID, disks kept) although nothing drifted",
	"novacron plan clusters/prod --replace db-1 --out db1.plan && novacron apply db1.plan",
	NULL,
};

static const char *const apply_examples[] = {
	"converge the quickstart's simulated cluster without asking",
	"novacron apply --auto-approve examples/quickstart",
	"apply a plan saved by `novacron plan --out`, refused if the spec or the cluster changed since",
	"novacron apply prod.plan",
	"converge only web-1; every other VM is left as it is",
	"novacron apply --auto-approve clusters/prod --target web-1",
	NULL,
};

const struct nc_cmd_doc nc_doc_plan = {
	"plan", NC_PLAN_USAGE,
	"show what apply would change (exit 0 none, 2 changes, 1 error)",
	"Loads and validates the spec under each PATH (default \".\"), reads every host it declares, and "
	"prints the actions that would make the cluster match. Nothing is changed. A host that cannot be "
	"read makes the plan partial and the exit code 1.",
	plan_opts, plan_examples, NC_COMP_FILE, NULL,
};

const struct nc_cmd_doc nc_doc_apply = {
	"apply", NC_APPLY_USAGE,
	"make the cluster match the spec, or apply a saved plan verbatim",
	"Plans as `novacron plan` does, shows the plan and asks before acting (or acts at once with "
	"--auto-approve). Given a PLANFILE saved by `plan --out`, applies exactly that plan, and refuses "
	"it when the spec or what the hosts hold changed since.",
	apply_opts, apply_examples, NC_COMP_FILE, NULL,
};

int nc_pass_parse(struct nc_pass_args *a, const char *cmd, int argc, char **argv, bool is_apply)
{
	const struct nc_cmd_doc *doc = is_apply ? &nc_doc_apply : &nc_doc_plan;
	struct nc_getopt g;
	unsigned v;
	int c;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->is_apply = is_apply;
	a->timeout_s = 30;
	a->popts.delete_threshold = 25;
	a->max_bytes = is_apply ? 0 : 60000;   /* apply has no --max-bytes: its Markdown is whole */
	a->color = -1;
	nc_getopt_init(&g, doc->opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			a->state_dir = optarg;
			break;
		case OPT_CONFIG:
			a->config_file = optarg;
			break;
		case 'o':
			if (nc_cli_output(optarg, 7, &a->output) < 0) {
				fprintf(stderr, "novacron %s: --output must be text, json or markdown\n", cmd);
				goto fail;
			}
			break;
		case OPT_OUT:
			a->out_file = optarg;
			break;
		case OPT_MAX_BYTES: {
			unsigned mb;

			if (parse_uint(cmd, "--max-bytes", optarg, 0, 1u << 30, &mb) < 0)
				goto fail;
			if (mb && mb < 8192) {
				fprintf(stderr, "novacron %s: --max-bytes must be 0 (unlimited) or at least 8192\n", cmd);
				goto fail;
			}
			a->max_bytes = mb;
			break;
		}
		case OPT_MARKER:
			if (!nc_marker_id_ok(optarg)) {
				fprintf(stderr, "novacron %s: --marker must be 1 to 64 of A-Z a-z 0-9 . _ / -\n", cmd);
				goto fail;
			}
			a->marker = optarg;
			break;
		case OPT_PRUNE:
			a->popts.prune = true;
			break;
		case OPT_THRESHOLD:
			if (parse_uint(cmd, "--delete-threshold", optarg, 0, 100, &v) < 0)
				goto fail;
			a->popts.delete_threshold = v ? v : 100;
			break;
		case OPT_MASS_DELETE:
			a->popts.allow_mass_delete = true;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(cmd, "--timeout", optarg, 1, 3600, &a->timeout_s) < 0)
				goto fail;
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			if (parse_uint(cmd, "--shutdown-timeout", optarg, 0, 3600, &v) < 0)
				goto fail;
			a->popts.shutdown_timeout_ms = v ? v * 1000 : 1;
			break;
		case OPT_PARALLEL:
			if (parse_uint(cmd, "--parallel", optarg, 1, 1024, &a->parallel) < 0)
				goto fail;
			break;
		case OPT_MAX_MIG:
			if (parse_uint(cmd, "--max-migrations", optarg, 1, 64, &a->popts.max_migrations) < 0)
				goto fail;
			break;
		case OPT_MAX_MIG_HOST:
			if (parse_uint(cmd, "--max-migrations-per-host", optarg, 1, 64,
				       &a->popts.max_migrations_per_host) < 0)
				goto fail;
			break;
		case OPT_COMMIT:
			a->popts.commit = optarg;
			break;
		case OPT_TELEMETRY_DIR:
			a->popts.telemetry_dir = optarg;
			break;
		case OPT_NO_COLOR:
			a->color = 0;
			break;
		case OPT_TARGET:
			a->targets = nc_xreallocarray(a->targets, a->popts.ntargets + 1, sizeof(*a->targets));
			a->targets[a->popts.ntargets++] = optarg;
			a->popts.targets = a->targets;
			break;
		case 'l':
			a->popts.selector = optarg;
			break;
		case OPT_REPLACE:
			a->replace = nc_xreallocarray(a->replace, a->popts.nreplace + 1, sizeof(*a->replace));
			a->replace[a->popts.nreplace++] = optarg;
			a->popts.replace = a->replace;
			break;
		case OPT_CLUSTER:
			a->clusters = nc_xreallocarray(a->clusters, a->popts.nclusters + 1, sizeof(*a->clusters));
			a->clusters[a->popts.nclusters++] = optarg;
			a->popts.clusters = a->clusters;
			break;
		case OPT_AUTO_APPROVE:
			if (!is_apply)
				goto usage;
			a->auto_approve = true;
			break;
		case OPT_ALLOW_UNREACHABLE:
			if (!is_apply)
				goto usage;
			a->allow_unreachable = true;
			break;
		case 'h':
			a->help = true;
			nc_getopt_release(&g);
			return 0;
		default:
			goto usage;
		}
	}
	nc_getopt_release(&g);
	if (a->out_file && is_apply)
		goto usage;
	a->paths = (const char *const *)argv + optind;
	a->npaths = (size_t)(argc - optind);
	if (!a->npaths) {
		static const char *const dot[] = { "." };

		a->paths = dot;
		a->npaths = 1;
	}
	if (!a->state_dir)
		a->state_dir = default_state_dir(a);
	if (a->color < 0)
		a->color = nc_cli_color(stdout);
	return 0;
usage:
	nc_getopt_release(&g);
	nc_cmd_usage_error(doc);
	return -1;
fail:
	nc_getopt_release(&g);
	return -1;
}

void nc_pass_args_release(struct nc_pass_args *a)
{
	size_t i;

	free(a->owned_state_dir);
	free(a->owned_telemetry_dir);
	for (i = 0; i < a->nowned_paths; i++)
		free(a->owned_paths[i]);
	free(a->owned_paths);
	free(a->owned_commit);
	for (i = 0; i < a->nowned_scope; i++)
		free(a->owned_scope[i]);
	free(a->owned_scope);
	free(a->owned_selector);
	free(a->targets);
	free(a->replace);
	free(a->clusters);
}

int nc_pass_run(struct nc_pass *p, struct nc_pass_args *a)
{
	struct nc_diags d;
	struct nc_observe_opts oo;
	struct nc_buf b = NC_BUF_INIT;

	memset(p, 0, sizeof(*p));
	nc_diags_init(&d);
	d.max_errors = 1000;
	if (nc_spec_load(&p->spec, a->paths, a->npaths, NULL, &d) < 0) {
		nc_diags_format_text(&d, &b, nc_cli_color(stderr));
		fwrite(b.buf, 1, b.len, stderr);
		fprintf(stderr, "novacron %s: the spec has %zu error%s; nothing was contacted\n", a->cmd,
			d.errors, d.errors == 1 ? "" : "s");
		nc_buf_release(&b);
		nc_diags_release(&d);
		return -1;
	}
	nc_diags_format_text(&d, &b, nc_cli_color(stderr));   /* warnings */
	fwrite(b.buf, 1, b.len, stderr);
	nc_buf_reset(&b);
	nc_diags_release(&d);
	/* --target, --selector, --replace name what the spec holds (scope.h) */
	if (nc_scope_check(p->spec, &a->popts, &b) < 0 || nc_clusters_check(p->spec, &a->popts, &b) < 0) {
		fprintf(stderr, "novacron %s: %s\n", a->cmd, b.buf);
		nc_buf_release(&b);
		return -1;
	}
	nc_buf_release(&b);
	/* how to reach the hosts: the operator's file, never the spec */
	if (nc_cli_config_load(&p->config, a->cmd, a->config_file) < 0)
		return -1;
	/* the spec's local paths stay inside the operator's roots (spec/roots.h) */
	if (nc_cli_check_paths(&p->config, p->spec, a->cmd) < 0)
		return -1;
	/* the hosts seen before: one that left the spec is observed all the same */
	{
		struct nc_err err = { "" };

		/* one pass that changes the cluster at a time, from its observation to its records */
		if (a->is_apply && !a->unlocked_preview) {
			int fd = nc_apply_lock(a->state_dir, false, &err);

			if (fd == -2) {
				fprintf(stderr, "novacron %s: waiting for another apply or serve pass to end (it holds "
						"%s/%s)\n", a->cmd, a->state_dir, NC_APPLY_LOCK);
				fd = nc_apply_lock(a->state_dir, true, &err);
			}
			if (fd < 0) {
				fprintf(stderr, "novacron %s: %s\n", a->cmd, err.msg);
				return -1;
			}
			p->apply_lock = fd;
			p->locked = true;
		}
		if (nc_hostrec_load(&p->record, a->state_dir, &err) < 0) {
			fprintf(stderr, "novacron %s: %s\n", a->cmd, err.msg);
			return -1;
		}
		/* failed and fenced hosts (docs/ha.md): read only; plan never writes it */
		if (nc_ha_load(&p->ha, a->state_dir, &err) < 0) {
			fprintf(stderr, "novacron %s: %s\n", a->cmd, err.msg);
			return -1;
		}
		a->popts.ha = &p->ha;
		a->popts.ha_state_dir = a->is_apply ? a->state_dir : NULL;
		/* observed load for placement: STATE_DIR/telemetry unless --telemetry-dir */
		if (!a->popts.telemetry_dir && !a->owned_telemetry_dir) {
			a->owned_telemetry_dir = nc_xasprintf("%s/telemetry", a->state_dir);
			a->popts.telemetry_dir = a->owned_telemetry_dir;
		}
	}

	/* where each Image's bytes are: the images roots, the cache (no network) */
	{
		struct nc_path_roots roots;

		nc_path_roots_init(&roots, p->config.file ? &p->config.paths : NULL, p->config.file);
		nc_images_resolve(&p->images, p->spec, &roots, a->state_dir);
		nc_path_roots_release(&roots);
		a->popts.images = &p->images;
	}

	memset(&oo, 0, sizeof(oo));
	oo.connections = &p->config.connections;
	oo.record = &p->record;
	oo.state_dir = a->state_dir;
	oo.timeout_ms = a->timeout_s * 1000;
	oo.parallel = a->parallel;
	oo.keep_open = a->is_apply || a->keep_open;
	nc_observe(&p->cluster, p->spec, &oo);
	nc_plan_build(&p->plan, p->spec, &p->cluster, &a->popts);
	nc_images_check_urls(&p->plan, &p->cluster, &p->images);
	p->ready = true;
	return 0;
}

void nc_pass_release(struct nc_pass *p)
{
	if (p->ready) {
		nc_plan_release(&p->plan);
		nc_cluster_release(&p->cluster);
	}
	nc_spec_free(p->spec);
	nc_cli_config_release(&p->config);
	nc_hostrec_release(&p->record);
	nc_ha_release(&p->ha);
	nc_image_set_release(&p->images);
	if (p->locked)
		nc_hostrec_unlock(p->apply_lock);
	memset(p, 0, sizeof(*p));
}

int nc_pass_record(const struct nc_pass *p, const struct nc_pass_args *a, bool applied)
{
	struct nc_err err = { "" };

	if (!p->ready)
		return 0;
	if (nc_hostrec_commit(a->state_dir, p->spec, &p->cluster, applied ? &p->plan : NULL, &err) < 0) {
		fprintf(stderr, "novacron %s: warning: the record of hosts was not updated: %s\n", a->cmd, err.msg);
		return -1;
	}
	return 0;
}

int nc_pass_ha_commit(const struct nc_pass *p, const struct nc_pass_args *a, bool applied_all)
{
	struct nc_err err = { "" };
	struct nc_buf log = NC_BUF_INIT;
	int ret = 0;

	if (!p->ready)
		return 0;
	/* a scoped plan (--target, -l) or one with suspended VMs did not plan every stale copy
	 * or in-place restart a failed host needs: its HA record stays until a full pass */
	if (p->plan.scoped || p->plan.suspended)
		return 0;
	if (nc_ha_commit(a->state_dir, &p->cluster, &p->plan, applied_all, &log, &err) < 0) {
		fprintf(stderr, "novacron %s: warning: the HA record was not updated: %s\n", a->cmd, err.msg);
		ret = -1;
	}
	fwrite(log.buf, 1, log.len, stdout);
	nc_buf_release(&log);
	return ret;
}

void nc_pass_render(const struct nc_pass *p, const struct nc_pass_args *a, enum nc_output fmt,
		    int color, struct nc_buf *out)
{
	struct nc_render_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.color = color;
	ro.paths = a->paths;
	ro.npaths = a->npaths;
	ro.state_dir = a->state_dir;
	ro.plan_opts = &a->popts;
	ro.marker = a->marker;
	ro.max_bytes = a->max_bytes;
	if (fmt == NC_OUT_JSON)
		nc_plan_render_json(&p->plan, &p->cluster, &ro, out);
	else if (fmt == NC_OUT_MARKDOWN)
		nc_plan_render_markdown(&p->plan, &p->cluster, &ro, out);
	else
		nc_plan_render_text(&p->plan, &p->cluster, &ro, out);
}

/* ---- saved plans ---- */

bool nc_is_plan_file(const char *path)
{
	struct stat st;
	FILE *f;
	int ch;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	f = fopen(path, "r");
	if (!f)
		return false;
	while ((ch = fgetc(f)) == ' ' || ch == '\n' || ch == '\t' || ch == '\r')
		;
	fclose(f);
	return ch == '{';
}

/* a scalar member of o as text (a string, or a number or boolean as JSON writes it), else NULL */
static const char *jscalar(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
		return nc_json_get_str(v);
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		return json_object_get_string(v);
	default:
		return NULL;
	}
}

/* an array member of o, else NULL */
static struct json_object *jarray(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

/* a string element of an array, else NULL */
#define JITEM(arr, i) nc_json_get_str(json_object_array_get_idx((arr), (i)))

int nc_plan_file_read(struct nc_plan_file *out, struct nc_pass_args *a, const char *path)
{
	size_t len, i;
	char *buf = NULL;
	struct json_object *root = NULL, *in = NULL, *dg = NULL, *paths;
	const char *v;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (nc_read_file(path, 64 << 20, &buf, &len) < 0) {
		fprintf(stderr, "novacron apply: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* JSON, read with json-c: one object with format_version, inputs.paths and digests */
	if (!(root = nc_json_parse_one(buf, len)) || !jscalar(root, "format_version") ||
	    !json_object_object_get_ex(root, "inputs", &in) || !json_object_is_type(in, json_type_object) ||
	    !json_object_object_get_ex(root, "digests", &dg) || !json_object_is_type(dg, json_type_object) ||
	    !(paths = jarray(in, "paths"))) {
		fprintf(stderr, "novacron apply: %s is not a plan file written by novacron plan --out\n", path);
		goto out;
	}
	if (strcmp(jscalar(root, "format_version"), "1") != 0) {
		fprintf(stderr, "novacron apply: %s has plan format %s; this novacron reads format 1\n",
			path, jscalar(root, "format_version"));
		goto out;
	}
	a->owned_paths = nc_xcalloc(json_object_array_length(paths) + 1, sizeof(*a->owned_paths));
	for (i = 0; i < json_object_array_length(paths); i++)
		if (JITEM(paths, i))
			a->owned_paths[a->nowned_paths++] = nc_xstrdup(JITEM(paths, i));
	a->paths = (const char *const *)a->owned_paths;
	a->npaths = a->nowned_paths;
	if ((v = jscalar(in, "state_dir"))) {
		free(a->owned_state_dir);
		a->owned_state_dir = nc_xstrdup(v);
		a->state_dir = a->owned_state_dir;
	}
	a->popts.prune = jscalar(in, "prune") && strcmp(jscalar(in, "prune"), "true") == 0;
	a->popts.allow_mass_delete = jscalar(in, "allow_mass_delete") &&
				     strcmp(jscalar(in, "allow_mass_delete"), "true") == 0;
	if (jscalar(in, "delete_threshold"))
		a->popts.delete_threshold = (unsigned)atoi(jscalar(in, "delete_threshold"));
	/* the scope the plan was made with (docs/plan.md): the digest covers it */
	if (a->popts.ntargets || a->popts.nreplace || a->popts.selector || a->popts.nclusters) {
		fprintf(stderr, "novacron apply: a saved plan keeps the scope it was made with: --target, "
				"--selector, --replace and --cluster go with novacron plan, not with apply PLANFILE\n");
		goto out;
	}
	{
		struct json_object *t = jarray(in, "targets"), *r = jarray(in, "replace"), *cl = jarray(in, "clusters");
		size_t nt = t ? json_object_array_length(t) : 0, nr = r ? json_object_array_length(r) : 0;
		size_t nc = cl ? json_object_array_length(cl) : 0, n = nt + nr + nc;

		a->owned_scope = nc_xcalloc(n + 1, sizeof(*a->owned_scope));
		a->targets = nc_xcalloc(n + 1, sizeof(*a->targets));
		a->replace = nc_xcalloc(n + 1, sizeof(*a->replace));
		a->clusters = nc_xcalloc(n + 1, sizeof(*a->clusters));
		for (i = 0; i < nc; i++)
			if (JITEM(cl, i))
				a->clusters[a->popts.nclusters++] = a->owned_scope[a->nowned_scope++] = nc_xstrdup(JITEM(cl, i));
		a->popts.clusters = a->clusters;
		for (i = 0; i < nt; i++)
			if (JITEM(t, i))
				a->targets[a->popts.ntargets++] = a->owned_scope[a->nowned_scope++] = nc_xstrdup(JITEM(t, i));
		for (i = 0; i < nr; i++)
			if (JITEM(r, i))
				a->replace[a->popts.nreplace++] = a->owned_scope[a->nowned_scope++] = nc_xstrdup(JITEM(r, i));
		a->popts.targets = a->targets;
		a->popts.replace = a->replace;
		if (jscalar(in, "selector")) {
			a->owned_selector = nc_xstrdup(jscalar(in, "selector"));
			a->popts.selector = a->owned_selector;
		}
	}
	if (jscalar(in, "commit")) {
		a->owned_commit = nc_xstrdup(jscalar(in, "commit"));
		a->popts.commit = a->owned_commit;
	}
	snprintf(out->spec, sizeof(out->spec), "%s", jscalar(dg, "spec") ? jscalar(dg, "spec") : "");
	snprintf(out->observed, sizeof(out->observed), "%s", jscalar(dg, "observed") ? jscalar(dg, "observed") : "");
	snprintf(out->plan, sizeof(out->plan), "%s", jscalar(dg, "plan") ? jscalar(dg, "plan") : "");
	ret = 0;
out:
	json_object_put(root);
	free(buf);
	return ret;
}

int nc_cli_spec_load(struct nc_spec **out, const struct nc_cli_config *c, const char *cmd,
		     const char *const *paths, size_t npaths)
{
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	struct nc_buf b = NC_BUF_INIT;
	const char *one[1];
	int rc;

	*out = NULL;
	if (!npaths) {
		if (!c->spec_dir) {
			fprintf(stderr, "novacron %s: no spec path given and %s: pass the spec's directory as an "
					"argument (\".\" for the current one), or a configuration (--config FILE or "
					"$NOVACRON_CONFIG) whose source: names it\n", cmd,
				c->no_spec ? c->no_spec : c->file ? "the configuration has no source:" :
				"no configuration names one");
			return -1;
		}
		one[0] = c->spec_dir;
		paths = one;
		npaths = 1;
	}
	nc_diags_init(&d);
	d.max_errors = 1000;    /* as validate and plan: a wrong directory cannot flood the terminal */
	rc = nc_spec_load(&spec, paths, npaths, NULL, &d);
	nc_diags_format_text(&d, &b, nc_cli_color(stderr));
	fwrite(b.buf, 1, b.len, stderr);
	if (rc < 0 || d.errors) {
		fprintf(stderr, "novacron %s: the spec%s%s has %zu error%s; nothing was contacted\n", cmd,
			paths == one ? " in " : "", paths == one ? one[0] : "", d.errors, d.errors == 1 ? "" : "s");
		nc_spec_free(spec);
		rc = -1;
	} else {
		*out = spec;
		rc = 0;
	}
	nc_buf_release(&b);
	nc_diags_release(&d);
	return rc;
}
