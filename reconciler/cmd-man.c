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

/* placeholder output until the cli work lands: valid, minimal, exit 0 */
int cmd_man(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_man);
		return NC_EXIT_OK;
	}
	if (argc > 1 && !strcmp(argv[1], "5"))
		printf(".TH NOVACRON-SPEC 5\n.SH NAME\nnovacron-spec \\- the NovaCron cluster spec\n");
	else
		printf(".TH NOVACRON 1\n.SH NAME\nnovacron \\- GitOps for KVM/libvirt clusters\n");
	return NC_EXIT_OK;
}

int cmd_completion(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "zsh"))
		printf("#compdef novacron\n_arguments '1:command:(validate plan apply serve status)'\n");
	else
		printf("complete -W 'validate plan apply serve status' novacron\n");
	return NC_EXIT_OK;
}
