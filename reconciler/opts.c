/*
 * opts.c - getopt_long tables and --help text built from a command's
 * option table (opts.h).
 */
#include "opts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../spec/util.h"

void nc_getopt_init(struct nc_getopt *g, const struct nc_opt *opts, const char *prefix)
{
	size_t n = 0, i, len = 0;

	while (opts[n].name)
		n++;
	g->longopts = nc_xcalloc(n + 1, sizeof(*g->longopts));
	if (prefix) {
		len = strlen(prefix);
		if (len >= sizeof(g->shortopts))
			abort();
		memcpy(g->shortopts, prefix, len);
	}
	for (i = 0; i < n; i++) {
		g->longopts[i].name = opts[i].name;
		g->longopts[i].has_arg = !opts[i].arg ? no_argument :
					 opts[i].arg[0] == '[' ? optional_argument : required_argument;
		g->longopts[i].flag = NULL;
		g->longopts[i].val = opts[i].key;
		if (opts[i].key > 0 && opts[i].key < NC_OPT_LONG_ONLY && isgraph(opts[i].key)) {
			if (len + 4 >= sizeof(g->shortopts))
				abort();   /* a table bigger than any command has: a programming error */
			g->shortopts[len++] = (char)opts[i].key;
			if (opts[i].arg)
				g->shortopts[len++] = ':';
			if (opts[i].arg && opts[i].arg[0] == '[')
				g->shortopts[len++] = ':';
		}
	}
	g->shortopts[len] = '\0';
	g->opts = opts;
	optind = 1;
}

int nc_getopt_next(struct nc_getopt *g, int argc, char **argv)
{
	int c, i;

	opterr = 0;   /* the messages below name the command */
	optopt = 0;
	c = getopt_long(argc, argv, g->shortopts, g->longopts, NULL);
	if (c != '?')
		return c;
	for (i = 0; optopt && g->opts[i].name; i++) {
		if (g->opts[i].key == optopt && g->opts[i].arg) {
			fprintf(stderr, "novacron %s: --%s needs an argument (%s)\n", argv[0], g->opts[i].name,
				g->opts[i].arg);
			return '?';
		}
	}
	if (optopt && optopt < NC_OPT_LONG_ONLY && isgraph(optopt)) {
		fprintf(stderr, "novacron %s: unknown flag '-%c'\n", argv[0], optopt);
	} else {
		const char *w = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
		size_t len = strncmp(w, "--", 2) == 0 ? strcspn(w + 2, "=") : 0;
		int n = 0;

		/* an abbreviation of several flags */
		for (i = 0; len && g->opts[i].name; i++)
			n += g->opts[i].help && strncmp(g->opts[i].name, w + 2, len) == 0;
		if (n > 1) {
			fprintf(stderr, "novacron %s: '%.*s' is ambiguous:", argv[0], (int)len + 2, w);
			for (i = 0; g->opts[i].name; i++)
				if (g->opts[i].help && strncmp(g->opts[i].name, w + 2, len) == 0)
					fprintf(stderr, " --%s", g->opts[i].name);
			fputc('\n', stderr);
		} else {
			fprintf(stderr, "novacron %s: unknown flag '%s'\n", argv[0], w);
		}
	}
	return '?';
}

void nc_getopt_release(struct nc_getopt *g)
{
	free(g->longopts);
	g->longopts = NULL;
}

static void flag_name(const struct nc_opt *o, char *buf, size_t size)
{
	const char *sep = !o->arg ? "" : o->arg[0] == '[' ? "" : " ";
	const char *arg = !o->arg ? "" : o->arg[0] == '[' ? "[=" : o->arg;
	const char *rest = o->arg && o->arg[0] == '[' ? o->arg + 1 : "";

	if (o->key > 0 && o->key < NC_OPT_LONG_ONLY && isgraph(o->key))
		snprintf(buf, size, "-%c, --%s%s%s%s", o->key, o->name, sep, arg, rest);
	else
		snprintf(buf, size, "    --%s%s%s%s", o->name, sep, arg, rest);
}

/* prints `text` wrapped at 78 columns, each line indented by `indent` */
static void wrap(FILE *f, const char *text, int indent, int first_col)
{
	int col = first_col;
	const char *p = text;

	while (*p) {
		const char *w = p;
		int len;

		while (*p && *p != ' ' && *p != '\n')
			p++;
		len = (int)(p - w);
		if (col > indent && col + 1 + len > 78) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		} else if (col < indent) {
			fprintf(f, "%*s", indent - col, "");
			col = indent;
		}
		fwrite(w, 1, (size_t)len, f);
		col += len;
		if (*p == '\n') {
			fputc('\n', f);
			col = 0;
			p++;
			if (*p == '\n') {   /* a paragraph break */
				fputc('\n', f);
				p++;
			}
		} else {
			while (*p == ' ')
				p++;
		}
	}
	if (col)
		fputc('\n', f);
}

void nc_cmd_help(FILE *f, const struct nc_cmd_doc *d)
{
	const char *s = d->synopsis, *nl;
	size_t i;
	char name[96];

	fprintf(f, "usage: ");
	while ((nl = strchr(s, '\n'))) {
		fprintf(f, "novacron %.*s\n       ", (int)(nl - s), s);
		s = nl + 1;
	}
	fprintf(f, "novacron %s\n\n", s);
	wrap(f, d->summary, 0, 0);
	if (d->description) {
		fputc('\n', f);
		wrap(f, d->description, 0, 0);
	}
	if (d->opts && d->opts[0].name) {
		fprintf(f, "\noptions:\n");
		for (i = 0; d->opts[i].name; i++) {
			int w;

			if (!d->opts[i].help)
				continue;
			flag_name(&d->opts[i], name, sizeof(name));
			w = fprintf(f, "  %s", name);
			if (w > 29) {
				fputc('\n', f);
				w = 0;
			}
			wrap(f, d->opts[i].help, 30, w);
		}
	}
	if (d->examples && d->examples[0]) {
		fprintf(f, "\nexamples:\n");
		for (i = 0; d->examples[i] && d->examples[i + 1]; i += 2) {
			fprintf(f, "  # ");
			wrap(f, d->examples[i], 4, 4);
			fprintf(f, "  %s\n", d->examples[i + 1]);
			if (d->examples[i + 2])
				fputc('\n', f);
		}
	}
}

void nc_cmd_usage_error(const struct nc_cmd_doc *d)
{
	const char *nl = strchr(d->synopsis, '\n');

	fprintf(stderr, "usage: novacron %.*s\n", nl ? (int)(nl - d->synopsis) : (int)strlen(d->synopsis),
		d->synopsis);
	fprintf(stderr, "run 'novacron %s --help' for every flag and examples\n", d->name);
}
