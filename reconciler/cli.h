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

enum nc_output { NC_OUT_TEXT, NC_OUT_JSON, NC_OUT_MARKDOWN };

struct nc_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
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
int cmd_decommission(int argc, char **argv);
int cmd_fence(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_token(int argc, char **argv);

/* Parses "text", "json" or "markdown" (allowed: a mask of 1 << enum nc_output). */
int nc_cli_output(const char *s, unsigned allowed, enum nc_output *out);
/* True when colour may be used on this stream (a TTY, NO_COLOR unset, TERM not dumb). */
int nc_cli_color(FILE *f);

#define NC_EXIT_OK 0
#define NC_EXIT_ERROR 1
#define NC_EXIT_CHANGES 2

#endif
