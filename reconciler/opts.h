/*
 * opts.h - one table per command describes its flags; the same table drives
 * getopt_long (nc_getopt_*), `--help` (nc_cmd_help), the man page, shell
 * completion and docs/cli.md (cmd-man.c), so none of them can drift from
 * what the parser accepts.
 *
 * A command declares
 *
 *	static const struct nc_opt plan_opts[] = {
 *		{ "output", 'o', "FORMAT", "text, json or markdown", NC_COMP_WORDS, "text json markdown" },
 *		{ "state-dir", OPT_STATE_DIR, "DIR", "where state is kept", NC_COMP_DIR, NULL },
 *		{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
 *		{ NULL, 0, NULL, NULL, 0, NULL },
 *	};
 *	const struct nc_cmd_doc nc_doc_plan = { "plan", "plan [PATH...] [OPTIONS]", "summary",
 *		"description", plan_opts, plan_examples, NC_COMP_FILE };
 *
 * and parses with
 *
 *	struct nc_getopt g;
 *	nc_getopt_init(&g, plan_opts);
 *	while ((c = nc_getopt_next(&g, argc, argv)) != -1) switch (c) { ... }
 *	nc_getopt_release(&g);
 *
 * A key below 256 that is a printable character is also the short option
 * ("-o"); other keys (>= 256) are long-only.
 */
#ifndef NC_OPTS_H
#define NC_OPTS_H

#include <getopt.h>
#include <stdio.h>

/* what completes a flag's argument or a command's operands */
enum nc_comp {
	NC_COMP_NONE,     /* nothing to offer */
	NC_COMP_FILE,     /* a file or folder path */
	NC_COMP_DIR,      /* a folder */
	NC_COMP_VM,       /* a VM name from the spec in the current folder */
	NC_COMP_HOST,     /* a Host name from the spec */
	NC_COMP_KIND,     /* a spec kind (VM, Host, ...) */
	NC_COMP_WORDS,    /* one of `words` (space separated) */
};

#define NC_OPT_LONG_ONLY 256   /* first key for long-only flags */

struct nc_opt {
	const char *name;      /* long name without "--"; NULL ends the table */
	int key;               /* short option character, or >= NC_OPT_LONG_ONLY */
	const char *arg;       /* metavariable ("DIR"), NULL when the flag takes no argument;
				* "[ARG]" when the argument is optional (--flag or --flag=ARG) */
	const char *help;      /* one sentence: what it does, its default; NULL: a hidden flag, accepted
				* but left out of --help, man pages, completion and docs (e.g. apply's
				* "out", kept so getopt does not take "--out" for an abbreviation of
				* "--output") */
	enum nc_comp comp;     /* what completes its argument */
	const char *words;     /* NC_COMP_WORDS: the values, space separated */
};

struct nc_cmd_doc {
	const char *name;              /* "plan" */
	const char *synopsis;          /* after "novacron ": "plan [PATH...] [OPTIONS]" (several: '\n') */
	const char *summary;           /* one line */
	const char *description;       /* paragraphs separated by "\n\n"; may be NULL */
	const struct nc_opt *opts;     /* the table the parser uses */
	const char *const *examples;   /* pairs {comment, command line}, ended by NULL */
	enum nc_comp operands;         /* what positional arguments complete to */
	const char *subcommands;       /* "run list check prune" or NULL (completion) */
};

struct nc_getopt {
	struct option *longopts;
	char shortopts[160];
	const struct nc_opt *opts;
};

/* Builds getopt_long's tables from opts (a leading '+' in `prefix` stops at
 * the first operand, as for `sim`); prefix may be NULL. */
void nc_getopt_init(struct nc_getopt *g, const struct nc_opt *opts, const char *prefix);
/* getopt_long over the table: the key, '?' on an unknown flag or a missing
 * argument (having printed "novacron CMD: unknown flag '--x'" or "... --x
 * needs an argument", CMD being argv[0]), -1 at the end.  Resets optind on
 * the first call after init. */
int nc_getopt_next(struct nc_getopt *g, int argc, char **argv);
void nc_getopt_release(struct nc_getopt *g);

/* `novacron CMD --help`: usage, description, every flag with its
 * description, examples. */
void nc_cmd_help(FILE *f, const struct nc_cmd_doc *d);
/* One short usage line to stderr after a usage error, pointing at --help. */
void nc_cmd_usage_error(const struct nc_cmd_doc *d);

/* Every command's doc, in the order of `novacron --help` (main.c). */
const struct nc_cmd_doc *const *nc_cli_docs(size_t *n);

#endif
