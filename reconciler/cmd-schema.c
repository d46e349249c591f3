/*
 * cmd-schema.c - `novacron schema [--out FILE]`: print the JSON Schema of the spec, for editors (yaml-language-server).
 * (placeholder: filled in by the issue-15 work)
 */
#include "cli.h"
#include "opts.h"

#include <string.h>

static const struct nc_opt schema_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const schema_examples[] = { NULL };

const struct nc_cmd_doc nc_doc_schema = {
	"schema", "schema [--out FILE]",
	"print the JSON Schema of the spec, for editors (yaml-language-server)",
	NULL, schema_opts, schema_examples, NC_COMP_NONE, NULL,
};

int cmd_schema(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		nc_cmd_help(stdout, &nc_doc_schema);
		return NC_EXIT_OK;
	}
	fprintf(stderr, "novacron schema: not implemented yet\n");
	return NC_EXIT_ERROR;
}
