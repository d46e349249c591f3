/*
 * cmd-history.c - `novacron history [VM...] [--state-dir DIR] [-o text|json]`: what was applied to each VM, when, and from which commit.
 * (placeholder: filled in by the issue-15 work)
 */
#include "cli.h"
#include "opts.h"

#include <string.h>

static const struct nc_opt history_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const history_examples[] = { NULL };

const struct nc_cmd_doc nc_doc_history = {
	"history", "history [VM...] [--state-dir DIR] [-o text|json]",
	"what was applied to each VM, when, and from which commit",
	NULL, history_opts, history_examples, NC_COMP_NONE, NULL,
};

int cmd_history(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_history);
		return NC_EXIT_OK;
	}
	fprintf(stderr, "novacron history: not implemented yet\n");
	return NC_EXIT_ERROR;
}
