/*
 * cmd-show.c - `novacron show PLANFILE [-o text|json|markdown]`: print a plan
 * saved by `plan --out` without reading the spec or contacting any host.
 *
 * The saved JSON (docs/plan.md) is read with json-c and shown in the shapes
 * of plan's renderers (render.c) as far as it holds them: hosts, actions
 * with their changes and dependencies, notes, the summary; then what only a
 * saved plan has to say: its inputs (paths, state directory, scope), its
 * digests and whether it is partial.  JSON output is the file as saved.
 */
#include "cli.h"
#include "opts.h"
#include "../spec/model.h"
#include "../spec/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <json-c/json.h>
#include <string.h>

static const struct nc_opt show_opts[] = {
	{ "output", 'o', "FORMAT", "text (default), json (the file as saved) or markdown", NC_COMP_WORDS,
	  "text json markdown" },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const show_examples[] = {
	"review a plan saved for later before applying it",
	"novacron plan clusters/prod --out prod.plan && novacron show prod.plan",
	"the saved plan as a pull request comment",
	"novacron show prod.plan -o markdown",
	NULL,
};

const struct nc_cmd_doc nc_doc_show = {
	"show", "show PLANFILE [-o text|json|markdown]",
	"print a plan saved by `plan --out`",
	"Reads PLANFILE and prints its hosts, actions, notes and summary as `novacron plan` did, with the "
	"inputs it was made from (paths, state directory, --target, --selector, --replace), its digests "
	"and whether it is partial. Nothing is contacted and the spec is not read: `novacron apply "
	"PLANFILE` checks the digests against the spec and the cluster as they are then.",
	show_opts, show_examples, NC_COMP_FILE, NULL,
};

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

static int64_t num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static bool flag(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static json_object *arr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

static size_t alen(json_object *a)
{
	return a ? json_object_array_length(a) : 0;
}

/* one line of text from the file: control characters shown as '?' */
static void clean(struct nc_buf *b, const char *s)
{
	for (; s && *s; s++)
		nc_buf_addc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* Markdown text: the characters render.c escapes, escaped */
static void md(struct nc_buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (strchr("|*_`<>[]\\", *s))
			nc_buf_addc(b, '\\');
		nc_buf_addc(b, (unsigned char)*s < 0x20 ? ' ' : *s);
	}
}

static const char *symbol(const char *action)
{
	if (!strcmp(action, "create") || !strcmp(action, "upload") || !strcmp(action, "recover"))
		return "+";
	return !strcmp(action, "delete") ? "-" : "~";
}

/* "web-1, db-1" from an array of strings */
static void list(struct nc_buf *b, json_object *a)
{
	size_t i;

	for (i = 0; i < alen(a); i++) {
		nc_buf_adds(b, i ? ", " : "");
		clean(b, json_object_get_string(json_object_array_get_idx(a, i)));
	}
	if (!alen(a))
		nc_buf_adds(b, "-");
}

static void summary_line(json_object *s, struct nc_buf *b)
{
	nc_buf_addf(b, "%lld to create, %lld to update, %lld to delete, %lld to start, %lld to stop",
		    (long long)num(s, "create"), (long long)num(s, "update"), (long long)num(s, "delete"),
		    (long long)num(s, "start"), (long long)num(s, "stop"));
	if (num(s, "migrate"))
		nc_buf_addf(b, ", %lld to migrate", (long long)num(s, "migrate"));
	if (num(s, "upload"))
		nc_buf_addf(b, ", %lld image%s to upload", (long long)num(s, "upload"), num(s, "upload") == 1 ? "" : "s");
	if (num(s, "recover"))
		nc_buf_addf(b, ", %lld to restart elsewhere", (long long)num(s, "recover"));
}

/* what a saved plan adds: where it comes from, its digests, partial or not */
static void saved_lines(json_object *root, const char *path, const char *pre, struct nc_buf *b)
{
	json_object *in = NULL, *dg = NULL, *sum = NULL;

	json_object_object_get_ex(root, "inputs", &in);
	json_object_object_get_ex(root, "digests", &dg);
	json_object_object_get_ex(root, "summary", &sum);
	nc_buf_addf(b, "%sSaved plan ", pre);
	clean(b, path);
	nc_buf_addf(b, " (format %lld)\n%s  paths: ", (long long)num(root, "format_version"), pre);
	list(b, arr(in, "paths"));
	nc_buf_addf(b, "; state dir: ");
	clean(b, dash(str(in, "state_dir")));
	nc_buf_addf(b, "; commit: ");
	clean(b, dash(str(in, "commit")));
	nc_buf_addf(b, "; prune: %s; delete threshold: %lld%%\n%s  targets: ", flag(in, "prune") ? "yes" : "no",
		    (long long)num(in, "delete_threshold"), pre);
	list(b, arr(in, "targets"));
	nc_buf_adds(b, "; selector: ");
	clean(b, dash(str(in, "selector")));
	nc_buf_adds(b, "; replace: ");
	list(b, arr(in, "replace"));
	nc_buf_addf(b, "\n%s  digests: spec %s, observed %s, plan %s\n", pre, dash(str(dg, "spec")),
		    dash(str(dg, "observed")), dash(str(dg, "plan")));
	if (flag(sum, "partial"))
		nc_buf_addf(b, "%s  partial: yes, %lld host%s could not be read (apply refuses it without "
			    "--allow-unreachable)\n", pre, (long long)num(sum, "unreachable"),
			    num(sum, "unreachable") == 1 ? "" : "s");
	else
		nc_buf_addf(b, "%s  partial: no\n", pre);
}

static void show_text(json_object *root, const char *path, struct nc_buf *b)
{
	json_object *hosts = arr(root, "hosts"), *acts = arr(root, "actions"), *notes = arr(root, "notes"), *sum = NULL;
	size_t i, j;
	char mem[32];

	json_object_object_get_ex(root, "summary", &sum);
	saved_lines(root, path, "", b);
	nc_buf_adds(b, "\nHosts\n");
	for (i = 0; i < alen(hosts); i++) {
		json_object *h = json_object_array_get_idx(hosts, i);

		nc_buf_adds(b, "  ");
		clean(b, str(h, "name"));
		nc_buf_adds(b, " ");
		clean(b, str(h, "uri"));
		if (str(h, "status") && !strcmp(str(h, "status"), "ok")) {
			nc_size_format((uint64_t)num(h, "memory"), mem, sizeof(mem));
			nc_buf_addf(b, " ok, %lld CPUs, %s, %lld domain%s%s\n", (long long)num(h, "cpus"), mem,
				    (long long)num(h, "domains"), num(h, "domains") == 1 ? "" : "s",
				    flag(h, "maintenance") ? ", maintenance" : "");
		} else {
			nc_buf_adds(b, " unreachable: ");
			clean(b, str(h, "error"));
			nc_buf_addc(b, '\n');
		}
	}
	nc_buf_addc(b, '\n');
	if (alen(acts))
		nc_buf_adds(b, "Actions\n");
	for (i = 0; i < alen(acts); i++) {
		json_object *a = json_object_array_get_idx(acts, i), *ch = arr(a, "changes"), *after = arr(a, "after");
		const char *act = dash(str(a, "action"));

		nc_buf_addf(b, "  %s ", symbol(act));
		if (str(a, "object")) {
			clean(b, str(a, "object"));
			nc_buf_addc(b, ' ');
		}
		clean(b, str(a, "vm"));
		nc_buf_addf(b, ": %s", act);
		if (!strcmp(act, "migrate")) {
			nc_buf_adds(b, " ");
			clean(b, str(a, "host"));
			nc_buf_adds(b, " -> ");
			clean(b, str(a, "target"));
			nc_buf_addf(b, " (%s)", flag(a, "live") ? "live" : "cold");
		} else {
			nc_buf_adds(b, " on ");
			clean(b, str(a, "host"));
		}
		if (str(a, "pool")) {
			nc_buf_adds(b, " into pool ");
			clean(b, str(a, "pool"));
		}
		if (!strcmp(act, "replace"))
			nc_buf_adds(b, " (stop, undefine, define anew, start; disks kept)");
		else if (flag(a, "restart"))
			nc_buf_adds(b, " (with restart)");
		else if (flag(a, "start_after") && strcmp(act, "start") != 0)
			nc_buf_adds(b, ", then start");
		nc_buf_adds(b, "\n      why: ");
		clean(b, str(a, "reason"));
		nc_buf_addc(b, '\n');
		if (str(a, "placement")) {
			nc_buf_adds(b, "      placement: ");
			clean(b, str(a, "placement"));
			nc_buf_addc(b, '\n');
		}
		for (j = 0; j < alen(ch); j++) {
			json_object *c = json_object_array_get_idx(ch, j);

			nc_buf_adds(b, "      ~ ");
			clean(b, str(c, "field"));
			nc_buf_adds(b, ": ");
			clean(b, str(c, "from"));
			nc_buf_adds(b, " -> ");
			clean(b, str(c, "to"));
			nc_buf_adds(b, flag(c, "restart") ? " (restart)\n" : "\n");
		}
		if (alen(after)) {
			nc_buf_adds(b, "      after:");
			for (j = 0; j < alen(after); j++)
				nc_buf_addf(b, " #%d", json_object_get_int(json_object_array_get_idx(after, j)));
			nc_buf_addc(b, '\n');
		}
	}
	if (alen(acts))
		nc_buf_addc(b, '\n');
	for (i = 0; i < alen(notes); i++) {
		json_object *n = json_object_array_get_idx(notes, i);

		clean(b, dash(str(n, "severity")));
		nc_buf_adds(b, ": ");
		clean(b, str(n, "message"));
		nc_buf_addc(b, '\n');
	}
	if (alen(notes))
		nc_buf_addc(b, '\n');
	if (flag(sum, "refused"))
		nc_buf_adds(b, "Plan refused: ");
	else if (!alen(acts))
		nc_buf_adds(b, "No changes in this plan: ");
	else
		nc_buf_adds(b, "Plan: ");
	summary_line(sum, b);
	nc_buf_adds(b, ".\n");
}

static void show_markdown(json_object *root, const char *path, struct nc_buf *b)
{
	json_object *acts = arr(root, "actions"), *notes = arr(root, "notes"), *sum = NULL;
	struct nc_buf t = NC_BUF_INIT;
	size_t i, j;

	json_object_object_get_ex(root, "summary", &sum);
	nc_buf_adds(b, "### NovaCron saved plan: ");
	if (flag(sum, "refused"))
		nc_buf_adds(b, "refused — ");
	else if (flag(sum, "partial"))
		nc_buf_adds(b, "partial — ");
	summary_line(sum, b);
	nc_buf_adds(b, "\n\n");
	if (alen(acts)) {
		nc_buf_adds(b, "| # | | VM | action | host | why |\n|---|---|---|---|---|---|\n");
		for (i = 0; i < alen(acts); i++) {
			json_object *a = json_object_array_get_idx(acts, i);
			const char *act = dash(str(a, "action"));

			nc_buf_addf(b, "| %lld | `%s` | ", (long long)num(a, "id"), symbol(act));
			if (str(a, "object")) {
				md(b, str(a, "object"));
				nc_buf_addc(b, ' ');
			}
			md(b, str(a, "vm"));
			nc_buf_addf(b, " | %s%s | ", act, flag(a, "restart") ? " (restart)" : "");
			md(b, str(a, "host"));
			if (str(a, "target")) {
				nc_buf_adds(b, " → ");
				md(b, str(a, "target"));
			}
			nc_buf_adds(b, " | ");
			md(b, str(a, "reason"));
			nc_buf_adds(b, " |\n");
		}
		nc_buf_addc(b, '\n');
		for (i = 0; i < alen(acts); i++) {
			json_object *a = json_object_array_get_idx(acts, i), *ch = arr(a, "changes");

			if (!alen(ch))
				continue;
			nc_buf_adds(b, "<details><summary>");
			md(b, str(a, "vm"));
			nc_buf_addf(b, ": %zu change%s</summary>\n\n", alen(ch), alen(ch) == 1 ? "" : "s");
			for (j = 0; j < alen(ch); j++) {
				json_object *c = json_object_array_get_idx(ch, j);

				nc_buf_adds(b, "- ");
				md(b, str(c, "field"));
				nc_buf_adds(b, ": ");
				md(b, str(c, "from"));
				nc_buf_adds(b, " → ");
				md(b, str(c, "to"));
				nc_buf_adds(b, flag(c, "restart") ? " (restart)\n" : "\n");
			}
			nc_buf_adds(b, "\n</details>\n\n");
		}
	}
	for (i = 0; i < alen(notes); i++) {
		json_object *n = json_object_array_get_idx(notes, i);

		nc_buf_addf(b, "> **%s:** ", dash(str(n, "severity")));
		md(b, str(n, "message"));
		nc_buf_adds(b, "\n\n");
	}
	saved_lines(root, path, "", &t);
	nc_buf_adds(b, "<details><summary>Saved plan</summary>\n\n```\n");
	nc_buf_adds(b, t.buf);
	nc_buf_adds(b, "```\n\n</details>\n");
	nc_buf_release(&t);
}

int cmd_show(int argc, char **argv)
{
	struct nc_getopt g;
	enum nc_output fmt = NC_OUT_TEXT;
	struct nc_buf b = NC_BUF_INIT;
	json_tokener *tok = NULL;
	json_object *root = NULL;
	char *buf = NULL;
	size_t len;
	int c, ret = NC_EXIT_ERROR;

	nc_getopt_init(&g, show_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case 'o':
			if (nc_cli_output(optarg, 7, &fmt) < 0) {
				fprintf(stderr, "novacron show: --output must be text, json or markdown\n");
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_show);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_show);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (argc - optind != 1) {
		nc_cmd_usage_error(&nc_doc_show);
		return NC_EXIT_ERROR;
	}
	if (nc_read_file(argv[optind], 64 << 20, &buf, &len) < 0) {
		fprintf(stderr, "novacron show: cannot read %s: %s\n", argv[optind], strerror(errno));
		return NC_EXIT_ERROR;
	}
	tok = json_tokener_new();
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(root, json_type_object) || !arr(root, "actions") ||
	    !json_object_object_get_ex(root, "inputs", NULL) || !json_object_object_get_ex(root, "digests", NULL)) {
		fprintf(stderr, "novacron show: %s is not a plan file written by novacron plan --out\n", argv[optind]);
		goto out;
	}
	if (num(root, "format_version") != 1) {
		fprintf(stderr, "novacron show: %s has plan format %lld; this novacron reads format 1\n", argv[optind],
			(long long)num(root, "format_version"));
		goto out;
	}
	if (fmt == NC_OUT_JSON)
		nc_buf_add(&b, buf, len);
	else if (fmt == NC_OUT_MARKDOWN)
		show_markdown(root, argv[optind], &b);
	else
		show_text(root, argv[optind], &b);
	fwrite(b.buf, 1, b.len, stdout);
	ret = NC_EXIT_OK;
out:
	json_object_put(root);
	json_tokener_free(tok);
	nc_buf_release(&b);
	free(buf);
	return ret;
}
