/*
 * cmd-diff.c - `novacron diff REV1 [REV2] [--repo DIR] [--path P]`: what changes in the desired state between two revisions of the spec repository.
 * (placeholder: filled in by the issue-15 work)
 */
#include "cli.h"
#include "opts.h"

#include <string.h>

static const struct nc_opt diff_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const diff_examples[] = { NULL };

const struct nc_cmd_doc nc_doc_diff = {
	"diff", "diff REV1 [REV2] [--repo DIR] [--path P]",
	"what changes in the desired state between two revisions of the spec repository",
	NULL, diff_opts, diff_examples, NC_COMP_NONE, NULL,
};

int cmd_diff(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_diff);
		return NC_EXIT_OK;
	}
	fprintf(stderr, "novacron diff: not implemented yet\n");
	return NC_EXIT_ERROR;
}
