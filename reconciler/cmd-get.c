/*
 * cmd-get.c - `novacron get vms|hosts|pools|networks [NAME...] [PATH...] [-o text|wide|json|yaml]`: list what the hosts really hold (observed state), kubectl-style.
 * (placeholder: filled in by the issue-15 work)
 */
#include "cli.h"
#include "opts.h"

#include <string.h>

static const struct nc_opt get_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const get_examples[] = { NULL };

const struct nc_cmd_doc nc_doc_get = {
	"get", "get vms|hosts|pools|networks [NAME...] [PATH...] [-o text|wide|json|yaml]",
	"list what the hosts really hold (observed state), kubectl-style",
	NULL, get_opts, get_examples, NC_COMP_NONE, NULL,
};

int cmd_get(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_get);
		return NC_EXIT_OK;
	}
	fprintf(stderr, "novacron get: not implemented yet\n");
	return NC_EXIT_ERROR;
}
