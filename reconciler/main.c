/*
 * main.c - the novacron command line: the command table and dispatch.
 */
#include "cli.h"
#include "pass-cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../spec/model.h"

#ifndef NC_VERSION
#define NC_VERSION "0.1.0"
#endif

static const struct nc_cmd cmds[] = {
	{ "validate", cmd_validate, NULL, NULL, &nc_doc_validate },
	{ "plan", cmd_plan, NULL, NULL, &nc_doc_plan },
	{ "apply", cmd_apply, NULL, NULL, &nc_doc_apply },
	{ "serve", cmd_serve, NULL, NULL, &nc_doc_serve },
	{ "status", cmd_status, NULL, NULL, &nc_doc_status },
	{ "capacity", cmd_capacity, NULL, NULL, &nc_doc_capacity },
	{ "backup", cmd_backup, NULL, NULL, &nc_doc_backup },
	{ "restore", cmd_restore, NULL, NULL, &nc_doc_restore },
	{ "snapshot", cmd_snapshot, NULL, NULL, &nc_doc_snapshot },
	{ "decommission", cmd_decommission, NULL, NULL, &nc_doc_decommission },
	{ "fence", cmd_fence, NULL, NULL, &nc_doc_fence },
	{ "graph", cmd_graph, NULL, NULL, &nc_doc_graph },
	{ "token", cmd_token, NULL, NULL, &nc_doc_token },
	{ "sim", cmd_sim, NULL, NULL, &nc_doc_sim },
	{ "explain", cmd_explain, NULL, NULL, &nc_doc_explain },
	{ "show", cmd_show, NULL, NULL, &nc_doc_show },
	{ "get", cmd_get, NULL, NULL, &nc_doc_get },
	{ "list", cmd_get, NULL, NULL, &nc_doc_get },
	{ "import", cmd_import, NULL, NULL, &nc_doc_import },
	{ "diff", cmd_diff, NULL, NULL, &nc_doc_diff },
	{ "history", cmd_history, NULL, NULL, &nc_doc_history },
	{ "comment", cmd_comment, NULL, NULL, &nc_doc_comment },
	{ "schema", cmd_schema, NULL, NULL, &nc_doc_schema },
	{ "man", cmd_man, NULL, NULL, &nc_doc_man },
	{ "completion", cmd_completion, NULL, NULL, &nc_doc_completion },
};

/* a command's usage line and summary: its doc's when it has one */
static const char *cmd_usage(const struct nc_cmd *c)
{
	return c->usage ? c->usage : c->doc->synopsis;
}

static const char *cmd_summary(const struct nc_cmd *c)
{
	return c->summary ? c->summary : c->doc->summary;
}

const struct nc_cmd_doc *const *nc_cli_docs(size_t *n)
{
	static const struct nc_cmd_doc *docs[NC_ARRAY_SIZE(cmds)];
	static size_t ndocs;
	size_t i, j;

	if (!ndocs) {
		for (i = 0; i < NC_ARRAY_SIZE(cmds); i++) {
			if (!cmds[i].doc)
				continue;
			for (j = 0; j < ndocs && docs[j] != cmds[i].doc; j++)
				;
			if (j == ndocs)
				docs[ndocs++] = cmds[i].doc;
		}
	}
	*n = ndocs;
	return docs;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: novacron COMMAND [ARGS]\n\n"
		   "NovaCron converges a KVM/libvirt cluster to the spec kept in git.\n\n"
		   "commands:\n");
	for (i = 0; i < NC_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmd_summary(&cmds[i]));
	fprintf(f, "\nusage of each command:\n");
	for (i = 0; i < NC_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  novacron %.*s\n", (int)strcspn(cmd_usage(&cmds[i]), "\n"), cmd_usage(&cmds[i]));
	fprintf(f, "\nexit codes: 0 ok or nothing to do, 1 error, 2 changes pending (plan);\n"
		   "a plan or apply with a host that could not be read, or a VM it cannot create, exits 1\n"
		   "see docs/ for the user guide and the spec reference\n");
}

int nc_cli_output(const char *s, unsigned allowed, enum nc_output *out)
{
	static const char *const names[] = { "text", "json", "markdown" };
	unsigned i;

	for (i = 0; i < NC_ARRAY_SIZE(names); i++) {
		if (s && strcmp(s, names[i]) == 0 && (allowed & (1u << i))) {
			*out = (enum nc_output)i;
			return 0;
		}
	}
	return -1;
}

int nc_cli_color(FILE *f)
{
	const char *term = getenv("TERM");

	if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
		return 0;
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fileno(f));
}

int main(int argc, char **argv)
{
	size_t i;

	/*
	 * Defence in depth: whatever NovaCron creates (state, plans, leases,
	 * checkouts, repositories) is its owner's only, even where a call forgets
	 * its explicit mode.  Disk images are made by libvirt's daemon, not here.
	 */
	umask(077);
	if (argc < 2) {
		usage(stderr);
		return NC_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "help") && argc > 2) {   /* `novacron help CMD` is `novacron CMD --help` */
		for (i = 0; i < NC_ARRAY_SIZE(cmds); i++) {
			if (strcmp(argv[2], cmds[i].name) == 0 && cmds[i].doc) {
				nc_cmd_help(stdout, cmds[i].doc);
				return NC_EXIT_OK;
			}
		}
		fprintf(stderr, "novacron help: unknown command '%s'\n\n", argv[2]);
		usage(stderr);
		return NC_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return NC_EXIT_OK;
	}
	if (!strcmp(argv[1], "__complete"))   /* completion scripts' helper: not a command of its own */
		return cmd_complete_names(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("novacron %s (spec %s)\n", NC_VERSION, NC_API_VERSION);
		return NC_EXIT_OK;
	}
	for (i = 0; i < NC_ARRAY_SIZE(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "novacron: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return NC_EXIT_ERROR;
}
