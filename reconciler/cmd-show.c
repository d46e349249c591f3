/*
 * cmd-show.c - `novacron show PLANFILE [-o text|json|markdown]`: print a plan saved by `plan --out`.
 * (placeholder: filled in by the issue-15 work)
 */
#include "cli.h"
#include "opts.h"

#include <string.h>

static const struct nc_opt show_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const show_examples[] = { NULL };

const struct nc_cmd_doc nc_doc_show = {
	"show", "show PLANFILE [-o text|json|markdown]",
	"print a plan saved by `plan --out`",
	NULL, show_opts, show_examples, NC_COMP_NONE, NULL,
};

int cmd_show(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_show);
		return NC_EXIT_OK;
	}
	fprintf(stderr, "novacron show: not implemented yet\n");
	return NC_EXIT_ERROR;
}
