/*
 * cmd-man.c - `novacron man [1|5]`: print the man pages (novacron(1), novacron-spec(5)) and shell completion scripts.
 * (placeholder: filled in by the issue-15 work)
 */
#include "cli.h"
#include "opts.h"

#include <string.h>

static const struct nc_opt man_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const man_examples[] = { NULL };

const struct nc_cmd_doc nc_doc_man = {
	"man", "man [1|5] | completion bash|zsh",
	"print the man pages (novacron(1), novacron-spec(5)) and shell completion scripts",
	NULL, man_opts, man_examples, NC_COMP_NONE, NULL,
};

int cmd_man(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_man);
		return NC_EXIT_OK;
	}
	fprintf(stderr, "novacron man: not implemented yet\n");
	return NC_EXIT_ERROR;
}

int cmd_completion(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "novacron completion: not implemented yet\n");
	return NC_EXIT_ERROR;
}
