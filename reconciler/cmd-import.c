/*
 * cmd-import.c - `novacron import DOMAIN... --host HOST [PATH...]`: adopt existing libvirt domains into management: prints their spec and a plan that adopts them.
 * (placeholder: filled in by the issue-15 work)
 */
#include "cli.h"
#include "opts.h"

#include <string.h>

static const struct nc_opt import_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const import_examples[] = { NULL };

const struct nc_cmd_doc nc_doc_import = {
	"import", "import DOMAIN... --host HOST [PATH...]",
	"adopt existing libvirt domains into management: prints their spec and a plan that adopts them",
	NULL, import_opts, import_examples, NC_COMP_NONE, NULL,
};

int cmd_import(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_import);
		return NC_EXIT_OK;
	}
	fprintf(stderr, "novacron import: not implemented yet\n");
	return NC_EXIT_ERROR;
}
