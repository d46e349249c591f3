/*
 * cli.h - the command table shared by reconciler/main.c and the cmd-*.c files.
 *
 * Each command is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * command name; it returns the process exit code (0 ok / nothing to do,
 * 1 error, 2 changes pending).  Only command files print or choose exit codes.
 */
#ifndef NC_CLI_H
#define NC_CLI_H

#include <stdio.h>

#include "opts.h"

enum nc_output { NC_OUT_TEXT, NC_OUT_JSON, NC_OUT_MARKDOWN };

struct nc_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
	const struct nc_cmd_doc *doc;   /* opts.h: flags, --help, man page, completion (NULL: none yet) */
};

int cmd_validate(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_capacity(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_decommission(int argc, char **argv);
int cmd_fence(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_man(int argc, char **argv);
int cmd_completion(int argc, char **argv);
/* `novacron __complete vms|hosts [PATH...]`: names for the completion scripts, one a line */
int cmd_complete_names(int argc, char **argv);
int cmd_schema(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_comment(int argc, char **argv);

/* each command's documentation (opts.h), defined beside its parser */
extern const struct nc_cmd_doc nc_doc_plan, nc_doc_apply, nc_doc_serve, nc_doc_validate, nc_doc_status,
	nc_doc_capacity, nc_doc_backup, nc_doc_restore, nc_doc_decommission, nc_doc_fence, nc_doc_graph,
	nc_doc_token, nc_doc_sim, nc_doc_explain, nc_doc_completion, nc_doc_man, nc_doc_schema, nc_doc_get,
	nc_doc_import, nc_doc_show, nc_doc_diff, nc_doc_history, nc_doc_comment, nc_doc_snapshot;

/* Parses "text", "json" or "markdown" (allowed: a mask of 1 << enum nc_output). */
int nc_cli_output(const char *s, unsigned allowed, enum nc_output *out);
/* True when colour may be used on this stream (a TTY, NO_COLOR unset, TERM not dumb). */
int nc_cli_color(FILE *f);

#define NC_EXIT_OK 0
#define NC_EXIT_ERROR 1
#define NC_EXIT_CHANGES 2

#endif
