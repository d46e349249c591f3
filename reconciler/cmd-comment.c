/*
 * cmd-comment.c - `novacron comment --forge github|gitlab --file PLAN.md ...`: post or update the plan comment on a pull request (one comment, found by a hidden marker).
 * (placeholder: filled in by the issue-15 work)
 */
#include "cli.h"
#include "opts.h"

#include <string.h>

static const struct nc_opt comment_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const comment_examples[] = { NULL };

const struct nc_cmd_doc nc_doc_comment = {
	"comment", "comment --forge github|gitlab --file PLAN.md ...",
	"post or update the plan comment on a pull request (one comment, found by a hidden marker)",
	NULL, comment_opts, comment_examples, NC_COMP_NONE, NULL,
};

int cmd_comment(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_comment);
		return NC_EXIT_OK;
	}
	fprintf(stderr, "novacron comment: not implemented yet\n");
	return NC_EXIT_ERROR;
}
