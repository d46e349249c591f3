/*
 * cmd-history.c - `novacron history [VM...] [--state-dir DIR] [-o text|json] [--limit N]`:
 * what apply did to each VM, when, and from which commit (STATE_DIR/history.json, history.h).
 */
#include "cli.h"
#include "history.h"
#include "opts.h"
#include "pass-cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_STATE_DIR_H = NC_OPT_LONG_ONLY, OPT_LIMIT };

static const struct nc_opt history_opts[] = {
	{ "state-dir", OPT_STATE_DIR_H, "DIR", "where history.json is kept (default $NOVACRON_STATE_DIR, "
	  "$XDG_STATE_HOME/novacron or ~/.local/state/novacron)", NC_COMP_DIR, NULL },
	{ "output", 'o', "FORMAT", "text (default) or json", NC_COMP_WORDS, "text json" },
	{ "limit", OPT_LIMIT, "N", "show at most N entries per VM, newest first (1-50, default 10)", NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const history_examples[] = {
	"the commit each VM was last applied from, and its last 10 actions", "novacron history",
	"one VM, all 50 entries kept, as JSON", "novacron history web-1 --limit 50 -o json",
	NULL,
};

const struct nc_cmd_doc nc_doc_history = {
	"history", "history [VM...] [--state-dir DIR] [-o text|json] [--limit N]",
	"what was applied to each VM, when, and from which commit",
	"apply and serve's applying passes record every action on a VM in STATE_DIR/history.json: "
	"its time, result, the commit applied (--commit, or serve's revision) and the plan's digest. "
	"The last 50 entries of each VM are kept; a VM that left the spec is kept 30 days.\n\n"
	"history prints, for each VM (all, or those named), the commit of its last action that was done, "
	"then its entries newest first.",
	history_opts, history_examples, NC_COMP_VM, NULL,
};

static const char *str_or(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return dflt;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* the commit of the newest entry that was done, or NULL */
static const char *last_commit(struct json_object *entries)
{
	size_t k = json_object_array_length(entries);

	while (k-- > 0) {
		struct json_object *e = json_object_array_get_idx(entries, k);

		if (strcmp(str_or(e, "result", ""), "done") == 0)
			return str_or(e, "commit", NULL);
	}
	return NULL;
}

int cmd_history(int argc, char **argv)
{
	struct nc_getopt g;
	struct nc_pass_args pa;
	const char *state_dir = NULL;
	enum nc_output out = NC_OUT_TEXT;
	unsigned limit = 10;
	struct json_object *root = NULL, *vms, *res = NULL, *list;
	struct nc_err err = { "" };
	const char **names = NULL;
	size_t nnames = 0, i;
	int c, ret = NC_EXIT_ERROR;

	memset(&pa, 0, sizeof(pa));
	nc_getopt_init(&g, history_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_STATE_DIR_H:
			state_dir = optarg;
			break;
		case 'o':
			if (nc_cli_output(optarg, 1u << NC_OUT_TEXT | 1u << NC_OUT_JSON, &out) < 0) {
				fprintf(stderr, "novacron history: --output must be text or json\n");
				goto out;
			}
			break;
		case OPT_LIMIT: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || v < 1 || v > NC_HISTORY_PER_VM) {
				fprintf(stderr, "novacron history: --limit must be a number from 1 to %d\n", NC_HISTORY_PER_VM);
				goto out;
			}
			limit = (unsigned)v;
			break;
		}
		case 'h':
			nc_cmd_help(stdout, &nc_doc_history);
			ret = NC_EXIT_OK;
			goto out;
		default:
			nc_cmd_usage_error(&nc_doc_history);
			goto out;
		}
	}
	if (!state_dir)
		state_dir = nc_pass_default_state_dir(&pa);
	if (!(root = nc_history_load(state_dir, &err))) {
		fprintf(stderr, "novacron history: %s\n", err.msg);
		goto out;
	}
	json_object_object_get_ex(root, "vms", &vms);
	if (optind < argc) {
		names = nc_xcalloc((size_t)(argc - optind) + 1, sizeof(*names));
		for (i = (size_t)optind; i < (size_t)argc; i++)
			names[nnames++] = argv[i];
	} else {
		struct json_object_iterator it = json_object_iter_begin(vms), end = json_object_iter_end(vms);

		names = nc_xcalloc(json_object_object_length(vms) + 1, sizeof(*names));
		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
			names[nnames++] = json_object_iter_peek_name(&it);
	}
	if (nnames > 1)
		qsort(names, nnames, sizeof(*names), name_cmp);

	res = json_object_new_object();
	json_object_object_add(res, "format_version", json_object_new_int(NC_HISTORY_FORMAT));
	list = json_object_new_array();
	json_object_object_add(res, "vms", list);
	for (i = 0; i < nnames; i++) {
		struct json_object *rec = NULL, *entries = NULL, *v = json_object_new_object(), *shown;
		const char *lc = NULL, *left = NULL;
		size_t k, n = 0;

		if (json_object_object_get_ex(vms, names[i], &rec) &&
		    json_object_object_get_ex(rec, "entries", &entries) && json_object_is_type(entries, json_type_array)) {
			lc = last_commit(entries);
			left = str_or(rec, "left_spec", NULL);
			n = json_object_array_length(entries);
		}
		json_object_object_add(v, "vm", json_object_new_string(names[i]));
		json_object_object_add(v, "last_commit", lc ? json_object_new_string(lc) : NULL);
		json_object_object_add(v, "left_spec", left ? json_object_new_string(left) : NULL);
		shown = json_object_new_array();
		for (k = 0; k < n && k < limit; k++)
			json_object_array_add(shown, json_object_get(json_object_array_get_idx(entries, n - 1 - k)));
		json_object_object_add(v, "entries", shown);
		json_object_array_add(list, v);
		if (out != NC_OUT_TEXT)
			continue;
		if (!n) {
			printf("%s: no history\n", names[i]);
			continue;
		}
		printf("%s: last applied from %s%s%s\n", names[i], lc ? lc : "no commit",
		       left ? "; left the spec " : "", left ? left : "");
		for (k = 0; k < json_object_array_length(shown); k++) {
			struct json_object *e = json_object_array_get_idx(shown, k);
			const char *pd = str_or(e, "plan_digest", "");

			printf("  %s  %-8s %-8s commit %s  plan %.12s\n", str_or(e, "time", "?"),
			       str_or(e, "action", "?"), str_or(e, "result", "?"), str_or(e, "commit", "-"), pd);
		}
	}
	if (out == NC_OUT_JSON)
		printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	ret = NC_EXIT_OK;
out:
	nc_getopt_release(&g);
	free(names);
	json_object_put(res);
	json_object_put(root);
	free(pa.owned_state_dir);
	return ret;
}
