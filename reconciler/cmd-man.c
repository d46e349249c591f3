/*
 * cmd-man.c - documentation generated from the option tables (opts.h):
 *
 *   novacron man [1]         novacron(1): every command, its flags and examples (roff)
 *   novacron man 5           novacron-spec(5): the spec's kinds and fields (roff), from
 *                            the schema tables as `explain --markdown` (explain.h)
 *   novacron man --markdown  docs/cli.md
 *   novacron completion bash|zsh
 *                            a completion script: commands, flags, flag values, files,
 *                            kinds, and VM/host names through `novacron __complete`
 *   novacron __complete vms|hosts [PATH...]
 *                            the names declared by the spec under PATH (default "."),
 *                            one a line; quiet (never an error on the terminal), local
 *                            (no host is contacted).
 *   novacron __complete commands | flags [CMD]
 *                            the documented commands, or one command's long flags
 *                            ("--output"; without CMD every command's: "plan --output"),
 *                            one a line, straight from the tables (the tests check
 *                            --help, the man page and docs/cli.md by them).
 *
 * Everything printed is deterministic: no date, sorted as the tables are.
 */
#include "cli.h"
#include "explain.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../spec/diag.h"
#include "../spec/model.h"
#include "../spec/schema.h"

#ifndef NC_VERSION
#define NC_VERSION "0.1.0"
#endif

enum { OPT_MARKDOWN = NC_OPT_LONG_ONLY };

static const struct nc_opt man_opts[] = {
	{ "markdown", OPT_MARKDOWN, NULL, "print the command reference as Markdown (docs/cli.md) instead",
	  NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const man_examples[] = {
	"read the manual without installing it",
	"novacron man | man -l -",
	"install both pages where man finds them",
	"novacron man 1 > /usr/local/share/man/man1/novacron.1 && novacron man 5 > "
	"/usr/local/share/man/man5/novacron-spec.5",
	NULL,
};

const struct nc_cmd_doc nc_doc_man = {
	"man", "man [1|5] [--markdown]",
	"print the man pages: novacron(1) (commands) or novacron-spec(5) (the spec)",
	"Section 1 (the default) is one page with every command's synopsis, description, flags and "
	"examples, from the same tables the parser uses. Section 5 describes every kind and field of "
	"the spec, from the schema tables the loader uses (as `novacron explain`). Both are roff on "
	"standard output.",
	man_opts, man_examples, NC_COMP_NONE, "1 5",
};

static const struct nc_opt completion_opts[] = {
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const completion_examples[] = {
	"complete novacron in this bash session",
	"source <(novacron completion bash)",
	"install for every bash user",
	"novacron completion bash > /usr/share/bash-completion/completions/novacron",
	"install for zsh (a folder in $fpath)",
	"novacron completion zsh > /usr/local/share/zsh/site-functions/_novacron",
	NULL,
};

const struct nc_cmd_doc nc_doc_completion = {
	"completion", "completion bash|zsh",
	"print a shell completion script for bash or zsh",
	"The script completes commands, their flags and the values of flags that take one of a few "
	"words, files and folders, the spec's kinds for explain, and the names of VMs and hosts declared "
	"by the spec in the current folder (or in the paths already typed on the line), which it reads "
	"through the hidden command `novacron __complete vms|hosts [PATH...]`. No host is contacted.",
	completion_opts, completion_examples, NC_COMP_NONE, "bash zsh",
};

/* ---- roff ---- */

/* text for a roff line: '\' and option dashes escaped, `code` in bold, a
 * leading '.' or '\'' made literal.  `code`: every '-' is a minus. */
static void roff_text(struct nc_buf *b, const char *s, int code)
{
	int bold = 0;
	const char *start = s;

	if (*s == '.' || *s == '\'')
		nc_buf_adds(b, "\\&");
	for (; *s; s++) {
		char prev = s > start ? s[-1] : ' ';

		if (*s == '\\')
			nc_buf_adds(b, "\\e");
		else if (*s == '-' && (code || prev == ' ' || prev == '-' || prev == '(' || prev == '[' ||
				       prev == '|' || prev == '`' || prev == '"'))
			nc_buf_adds(b, "\\-");
		else if (*s == '`' && !code) {
			nc_buf_adds(b, bold ? "\\fR" : "\\fB");
			bold = !bold;
		} else if (*s == '\n') {
			nc_buf_adds(b, "\n.br\n");
			if (s[1] == '.' || s[1] == '\'')
				nc_buf_adds(b, "\\&");
		} else
			nc_buf_addc(b, *s);
	}
	if (bold)
		nc_buf_adds(b, "\\fR");
}

/* paragraphs ("\n\n" between them) as .PP blocks */
static void roff_paragraphs(struct nc_buf *b, const char *s)
{
	while (*s) {
		const char *end = strstr(s, "\n\n");
		char *p = nc_xstrndup(s, end ? (size_t)(end - s) : strlen(s));

		nc_buf_adds(b, ".PP\n");
		roff_text(b, p, 0);
		nc_buf_addc(b, '\n');
		free(p);
		s = end ? end + 2 : s + strlen(s);
	}
}

static int has_short(const struct nc_opt *o)
{
	return o->key > 0 && o->key < NC_OPT_LONG_ONLY && isgraph(o->key);
}

/* "-o, --output FORMAT" in roff: the flags bold, the argument italic */
static void roff_flag(struct nc_buf *b, const struct nc_opt *o)
{
	if (has_short(o))
		nc_buf_addf(b, "\\fB\\-%c\\fR, ", o->key);
	nc_buf_adds(b, "\\fB");
	roff_text(b, "--", 1);
	roff_text(b, o->name, 1);
	nc_buf_adds(b, "\\fR");
	if (o->arg && o->arg[0] == '[') {
		nc_buf_adds(b, "[=\\fI");
		roff_text(b, o->arg + 1, 1);
		b->len--;                         /* the closing ']' goes after the italics */
		b->buf[b->len] = '\0';
		nc_buf_adds(b, "\\fR]");
	} else if (o->arg) {
		nc_buf_adds(b, " \\fI");
		roff_text(b, o->arg, 1);
		nc_buf_adds(b, "\\fR");
	}
}

static void roff_command(struct nc_buf *b, const struct nc_cmd_doc *d)
{
	const char *s = d->synopsis;
	size_t i;

	nc_buf_addf(b, ".SS %s\n", d->name);
	while (*s) {
		size_t n = strcspn(s, "\n");
		char *line = nc_xstrndup(s, n);

		nc_buf_adds(b, s == d->synopsis ? ".PP\n.B novacron\n" : ".br\n.B novacron\n");
		roff_text(b, line, 1);
		nc_buf_addc(b, '\n');
		free(line);
		s += n;
		if (*s)
			s++;
	}
	nc_buf_adds(b, ".PP\n");
	roff_text(b, d->summary, 0);
	nc_buf_addc(b, '\n');
	if (d->description)
		roff_paragraphs(b, d->description);
	if (d->opts && d->opts[0].name) {
		nc_buf_adds(b, ".PP\nOptions:\n.RS\n");
		for (i = 0; d->opts[i].name; i++) {
			if (!d->opts[i].help)   /* hidden */
				continue;
			nc_buf_adds(b, ".TP\n");
			roff_flag(b, &d->opts[i]);
			nc_buf_addc(b, '\n');
			roff_text(b, d->opts[i].help, 0);
			nc_buf_addc(b, '\n');
		}
		nc_buf_adds(b, ".RE\n");
	}
	if (d->examples && d->examples[0]) {
		nc_buf_adds(b, ".PP\nExamples:\n.RS\n");
		for (i = 0; d->examples[i] && d->examples[i + 1]; i += 2) {
			nc_buf_adds(b, ".PP\n");
			roff_text(b, d->examples[i], 0);
			nc_buf_adds(b, ":\n.RS\n.nf\n");
			roff_text(b, d->examples[i + 1], 1);
			nc_buf_adds(b, "\n.fi\n.RE\n");
		}
		nc_buf_adds(b, ".RE\n");
	}
}

static void man1(struct nc_buf *b)
{
	const struct nc_cmd_doc *const *docs;
	size_t n, i;

	docs = nc_cli_docs(&n);
	nc_buf_adds(b, ".\\\" generated by `novacron man 1` from the option tables; do not edit\n");
	nc_buf_adds(b, ".TH NOVACRON 1 \"\" \"novacron " NC_VERSION "\" \"NovaCron Manual\"\n"
		       ".SH NAME\nnovacron \\- converge a KVM/libvirt cluster to a spec kept in git\n"
		       ".SH SYNOPSIS\n.B novacron\n.I COMMAND\n.RI [ ARGS ]\n.br\n"
		       ".B novacron\n.I COMMAND\n.B \\-\\-help\n.br\n"
		       ".B novacron help\n.I COMMAND\n.SH DESCRIPTION\n"
		       "NovaCron reads a cluster spec (YAML documents: Hosts, Templates, VMs, storage pools, "
		       "networks, backup schedules, images, alert rules, tenants) and makes the libvirt hosts "
		       "match it, the GitOps way: \\fBvalidate\\fR checks it, \\fBplan\\fR shows what would "
		       "change, \\fBapply\\fR changes it, and \\fBserve\\fR does all three on every new revision "
		       "of a git repository.\n.PP\nThe spec's kinds and fields are described in "
		       "\\fBnovacron\\-spec\\fR(5).\n.SH COMMANDS\n");
	for (i = 0; i < n; i++)
		roff_command(b, docs[i]);
	nc_buf_adds(b, ".SH EXIT STATUS\n.TP\n.B 0\nsuccess, or nothing to do\n.TP\n.B 1\nan error: an invalid "
		       "spec, a usage error, a host that could not be read, a refused plan\n.TP\n.B 2\n"
		       "changes pending (\\fBplan\\fR), a host that cannot fail safely or capacity running out "
		       "(\\fBcapacity\\fR), a fence waiting for an operator (\\fBfence run\\fR)\n"
		       ".SH ENVIRONMENT\n"
		       ".TP\n.B NOVACRON_CONFIG\nthe operator's configuration when \\fB\\-\\-config\\fR is not given\n"
		       ".TP\n.B NOVACRON_STATE_DIR\nthe state folder when \\fB\\-\\-state\\-dir\\fR is not given\n"
		       ".TP\n.B XDG_STATE_HOME\nelse the state folder is \\fI$XDG_STATE_HOME/novacron\\fR "
		       "(default \\fI~/.local/state/novacron\\fR)\n"
		       ".TP\n.B NO_COLOR\nno colour in the output when set and not empty\n"
		       ".TP\n.B TERM\nno colour when \\fBdumb\\fR\n"
		       ".SH FILES\n"
		       ".TP\n.I /etc/novacron/serve.yaml\nthe configuration of the \\fBserve\\fR service\n"
		       ".TP\n.I ~/.local/state/novacron/hosts.json\nthe record of hosts seen (\\fBdecommission\\fR "
		       "forgets one)\n"
		       ".TP\n.I ~/.local/state/novacron/ha.json\nthe HA record of failed and fenced hosts (\\fBfence\\fR)\n"
		       ".TP\n.I STATE_DIR/tokens.json\nthe API tokens of \\fBserve\\fR, hashed (\\fBtoken\\fR)\n"
		       ".SH SEE ALSO\n\\fBnovacron\\-spec\\fR(5), \\fBvirsh\\fR(1), \\fBgit\\fR(1)\n");
}

static void man5_kind(void *ctx, enum nc_kind k)
{
	struct nc_buf *b = ctx;

	nc_buf_addf(b, ".SS %s\n", nc_kinds[k].name);
	roff_text(b, nc_kinds[k].doc, 0);
	nc_buf_adds(b, ".\n");
}

static void man5_field(void *ctx, const char *path, const struct nc_field *f, const char *type,
		       const char *detail, const char *why)
{
	struct nc_buf *b = ctx;

	nc_buf_adds(b, ".TP\n\\fB");
	roff_text(b, path, 1);
	nc_buf_addf(b, "\\fR (%s%s)\n", type, f->required ? ", required" : "");
	roff_text(b, f->doc, 0);
	if (*detail) {
		nc_buf_adds(b, " [");
		roff_text(b, detail, 1);
		nc_buf_adds(b, "]");
	}
	if (why) {
		nc_buf_adds(b, ". Not acted on yet (validate warns): ");
		roff_text(b, why, 0);
		nc_buf_adds(b, ".");
	}
	nc_buf_addc(b, '\n');
}

static void man5_note(void *ctx, const char *path, const char *why)
{
	struct nc_buf *b = ctx;

	nc_buf_adds(b, ".PP\n\\fB");
	roff_text(b, path, 1);
	nc_buf_adds(b, "\\fR is accepted but not acted on yet (validate warns): ");
	roff_text(b, why, 0);
	nc_buf_adds(b, ".\n");
}

static void man5(struct nc_buf *b)
{
	static const struct nc_explain_visit v = { man5_kind, man5_field, man5_note };

	nc_buf_adds(b, ".\\\" generated by `novacron man 5` from the schema tables; do not edit\n");
	nc_buf_adds(b, ".TH NOVACRON\\-SPEC 5 \"\" \"novacron " NC_VERSION "\" \"NovaCron Manual\"\n"
		       ".SH NAME\nnovacron\\-spec \\- the NovaCron cluster spec: kinds and fields\n"
		       ".SH DESCRIPTION\nA spec is a folder of YAML files kept in git. Each document has "
		       "\\fBapiVersion: " NC_API_VERSION "\\fR, \\fBkind\\fR, \\fBmetadata\\fR (\\fBname\\fR "
		       "required, \\fBlabels\\fR, \\fBannotations\\fR) and \\fBspec\\fR. "
		       "\\fBnovacron validate\\fR checks a spec against the fields below and reports every "
		       "problem as file:line:col; \\fBnovacron explain\\fR prints them too.\n"
		       ".PP\nSizes are written as 512MiB, 20GiB...; durations as 30s, 5m, 24h, 7d.\n"
		       ".SH KINDS\n");
	nc_explain_walk(&v, b, 0);
	nc_buf_adds(b, ".SH SEE ALSO\n\\fBnovacron\\fR(1)\n");
}

/* ---- Markdown: docs/cli.md ---- */

/* a table cell: '|' escaped, newlines as spaces */
static void md_cell(struct nc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			nc_buf_adds(b, "\\|");
		else if (*s == '\n')
			nc_buf_addc(b, ' ');
		else
			nc_buf_addc(b, *s);
	}
}

static void md_flag(struct nc_buf *b, const struct nc_opt *o)
{
	nc_buf_adds(b, "`");
	if (has_short(o))
		nc_buf_addf(b, "-%c`, `", o->key);
	nc_buf_addf(b, "--%s", o->name);
	if (o->arg && o->arg[0] == '[')
		nc_buf_addf(b, "[=%s", o->arg + 1);
	else if (o->arg)
		nc_buf_addf(b, " %s", o->arg);
	nc_buf_adds(b, "`");
}

static void markdown(struct nc_buf *b)
{
	const struct nc_cmd_doc *const *docs;
	size_t n, i, j;

	docs = nc_cli_docs(&n);
	nc_buf_adds(b, "# Command line reference\n\n"
		       "Generated by `novacron man --markdown` from the option tables the parser uses; do not "
		       "edit by hand (a test checks it). The same tables give `novacron COMMAND --help`, the "
		       "novacron(1) man page and the shell completion. The spec's kinds and fields are in "
		       "[reference.md](reference.md) and novacron-spec(5).\n\n"
		       "Exit codes: 0 success or nothing to do, 1 an error, 2 changes pending (`plan`) or "
		       "a warning that needs action (`capacity`, `fence run`).\n\n"
		       "## Man pages and completion\n\n"
		       "The Debian package installs them; from a build tree:\n\n"
		       "```sh\n"
		       "novacron man 1 > /usr/local/share/man/man1/novacron.1\n"
		       "novacron man 5 > /usr/local/share/man/man5/novacron-spec.5\n"
		       "novacron completion bash > /usr/share/bash-completion/completions/novacron\n"
		       "novacron completion zsh > /usr/local/share/zsh/site-functions/_novacron\n"
		       "```\n\n"
		       "The package puts them in /usr/share/man/man1, /usr/share/man/man5, "
		       "/usr/share/bash-completion/completions/novacron and "
		       "/usr/share/zsh/vendor-completions/_novacron. To try completion in one bash session: "
		       "`source <(novacron completion bash)`. VM and host names are completed from the spec in "
		       "the current folder, or in the spec paths already typed.\n\n"
		       "## Commands\n\n| command | what it does |\n|---|---|\n");
	for (i = 0; i < n; i++) {
		nc_buf_addf(b, "| [`%s`](#novacron-%s) | ", docs[i]->name, docs[i]->name);
		md_cell(b, docs[i]->summary);
		nc_buf_adds(b, " |\n");
	}
	for (i = 0; i < n; i++) {
		const struct nc_cmd_doc *d = docs[i];

		nc_buf_addf(b, "\n## novacron %s\n\n```\n", d->name);
		for (const char *s = d->synopsis; *s;) {
			size_t len = strcspn(s, "\n");

			nc_buf_addf(b, "novacron %.*s\n", (int)len, s);
			s += len;
			if (*s)
				s++;
		}
		nc_buf_addf(b, "```\n\n%s.\n", d->summary);
		if (d->description)
			nc_buf_addf(b, "\n%s\n", d->description);
		if (d->opts && d->opts[0].name) {
			nc_buf_adds(b, "\n| flag | meaning |\n|---|---|\n");
			for (j = 0; d->opts[j].name; j++) {
				if (!d->opts[j].help)   /* hidden */
					continue;
				nc_buf_adds(b, "| ");
				md_flag(b, &d->opts[j]);
				nc_buf_adds(b, " | ");
				md_cell(b, d->opts[j].help);
				if (d->opts[j].comp == NC_COMP_WORDS && d->opts[j].words)
					nc_buf_addf(b, " (one of: %s)", d->opts[j].words);
				nc_buf_adds(b, " |\n");
			}
		}
		if (d->examples && d->examples[0]) {
			nc_buf_adds(b, "\nExamples:\n\n```sh\n");
			for (j = 0; d->examples[j] && d->examples[j + 1]; j += 2)
				nc_buf_addf(b, "%s# %s\n%s\n", j ? "\n" : "", d->examples[j], d->examples[j + 1]);
			nc_buf_adds(b, "```\n");
		}
	}
}

int cmd_man(int argc, char **argv)
{
	struct nc_buf b = NC_BUF_INIT;
	struct nc_getopt g;
	int c, md = 0;
	const char *section = "1";

	nc_getopt_init(&g, man_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_MARKDOWN:
			md = 1;
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_man);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_man);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (optind < argc)
		section = argv[optind];
	if (argc - optind > 1 || (strcmp(section, "1") && strcmp(section, "5")) || (md && optind < argc)) {
		if (argc - optind == 1 && strcmp(section, "1") && strcmp(section, "5"))
			fprintf(stderr, "novacron man: no section '%s': 1 (commands) or 5 (the spec)\n", section);
		nc_cmd_usage_error(&nc_doc_man);
		return NC_EXIT_ERROR;
	}
	if (md)
		markdown(&b);
	else if (!strcmp(section, "5"))
		man5(&b);
	else
		man1(&b);
	fwrite(b.buf, 1, b.len, stdout);
	nc_buf_release(&b);
	return NC_EXIT_OK;
}

/* ---- completion ---- */

/* the flags of a table, space separated: "-o --output --state-dir ..." */
static void flag_words(struct nc_buf *b, const struct nc_opt *opts, int with_arg_only)
{
	size_t i;

	for (i = 0; opts && opts[i].name; i++) {
		if ((with_arg_only && !opts[i].arg) || !opts[i].help)
			continue;
		if (has_short(&opts[i]))
			nc_buf_addf(b, "%s-%c", b->len ? " " : "", opts[i].key);
		nc_buf_addf(b, "%s--%s", b->len ? " " : "", opts[i].name);
	}
}

static void kind_words(struct nc_buf *b)
{
	size_t k;

	for (k = 0; k < NC_KIND__COUNT; k++)
		nc_buf_addf(b, "%s%s", k ? " " : "", nc_kinds[k].name);
}

/* true when a command's synopsis puts an operand before its subcommand ("sim HOST COMMAND") */
static int operand_first(const struct nc_cmd_doc *d)
{
	const char *s = d->synopsis + strlen(d->name);

	for (;;) {
		s += strspn(s, " ");
		if (*s == '[') {   /* an optional part: skip it, brackets nested */
			int depth = 0;

			do {
				depth += *s == '[';
				depth -= *s == ']';
				s++;
			} while (*s && depth);
			continue;
		}
		return isupper((unsigned char)*s);
	}
}

static const char *bash_comp(enum nc_comp c)
{
	switch (c) {
	case NC_COMP_FILE: return "_novacron_files";
	case NC_COMP_DIR: return "_novacron_dirs";
	case NC_COMP_VM: return "_novacron_names vms";
	case NC_COMP_HOST: return "_novacron_names hosts";
	case NC_COMP_KIND: return "_novacron_kinds";
	case NC_COMP_WORDS:
	case NC_COMP_NONE: break;
	}
	return ":";
}

static const char bash_head[] =
	"# bash completion for novacron (generated by `novacron completion bash`; do not edit)\n"
	"# Install: novacron completion bash > /usr/share/bash-completion/completions/novacron\n"
	"#      or: source <(novacron completion bash)\n"
	"\n"
	"_novacron_words() { COMPREPLY=($(compgen -W \"$1\" -- \"$cur\")); }\n"
	"_novacron_files() { COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null; }\n"
	"_novacron_dirs() { COMPREPLY=($(compgen -d -- \"$cur\")); compopt -o filenames 2>/dev/null; }\n"
	"_novacron_kinds() { _novacron_words \"$_novacron_kind_words\"; }\n"
	"# VM or host names of the spec in the spec paths typed so far, else the current folder\n"
	"# (not compgen -W: it expands each word, and a spec is not to run commands in the shell)\n"
	"_novacron_names() {\n"
	"    local n\n"
	"    local -a names\n"
	"    COMPREPLY=()\n"
	"    mapfile -t names < <(\"${COMP_WORDS[0]}\" __complete \"$1\" \"${_novacron_paths[@]}\" 2>/dev/null)\n"
	"    for n in \"${names[@]}\"; do [[ $n == \"$cur\"* ]] && COMPREPLY+=(\"$n\"); done\n"
	"}\n";

static const char bash_body[] =
	"\n"
	"_novacron() {\n"
	"    local cur prev cmd i w argflags flags subs comp first skip=0 nops=0\n"
	"    local -a _novacron_paths=()\n"
	"    COMPREPLY=()\n"
	"    cur=${COMP_WORDS[COMP_CWORD]}\n"
	"    prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	"    # --flag=value: bash splits at '='\n"
	"    if [[ $cur == = ]]; then prev=${COMP_WORDS[COMP_CWORD-1]}; cur=\n"
	"    elif [[ $prev == = ]]; then prev=${COMP_WORDS[COMP_CWORD-2]}\n"
	"    fi\n"
	"    if [[ $COMP_CWORD -eq 1 ]]; then\n"
	"        _novacron_words \"$_novacron_commands help version --help --version\"\n"
	"        return 0\n"
	"    fi\n"
	"    cmd=${COMP_WORDS[1]}\n"
	"    [[ $cmd == help ]] && { [[ $COMP_CWORD -eq 2 ]] && _novacron_words \"$_novacron_commands\"; return 0; }\n"
	"    case $cmd in\n";

static const char bash_tail[] =
	"    *) return 0 ;;\n"
	"    esac\n"
	"    # the value of a flag\n"
	"    for w in $argflags; do\n"
	"        [[ $prev == \"$w\" ]] && { _novacron_value \"$w\"; return 0; }\n"
	"    done\n"
	"    if [[ $cur == -* ]]; then\n"
	"        _novacron_words \"$flags\"\n"
	"        return 0\n"
	"    fi\n"
	"    # the operands typed so far: how many, and which are spec paths\n"
	"    for ((i = 2; i < COMP_CWORD; i++)); do\n"
	"        w=${COMP_WORDS[i]}\n"
	"        if ((skip)); then skip=0; [[ $w == = ]] && skip=1; continue; fi\n"
	"        [[ $w == = ]] && { skip=1; continue; }\n"
	"        if [[ $w == -* ]]; then\n"
	"            [[ \" $argflags \" == *\" $w \"* ]] && skip=1\n"
	"            continue\n"
	"        fi\n"
	"        nops=$((nops + 1))\n"
	"        [[ -e $w ]] && _novacron_paths+=(\"$w\")\n"
	"    done\n"
	"    if [[ -n $subs ]]; then\n"
	"        if [[ $first == sub && $nops -eq 0 ]] || [[ $first == operand && $nops -eq 1 ]]; then\n"
	"            _novacron_words \"$subs\"\n"
	"            return 0\n"
	"        fi\n"
	"    fi\n"
	"    case $comp in\n"
	"    names\\ *) _novacron_names \"${comp#names }\"\n"
	"        local keep=(\"${COMPREPLY[@]}\")\n"
	"        _novacron_files\n"
	"        COMPREPLY=(\"${keep[@]}\" \"${COMPREPLY[@]}\") ;;\n"
	"    *) $comp ;;\n"
	"    esac\n"
	"    return 0\n"
	"}\n"
	"complete -F _novacron novacron\n";

static void bash_script(struct nc_buf *out)
{
	const struct nc_cmd_doc *const *docs;
	struct nc_buf kinds = NC_BUF_INIT, names = NC_BUF_INIT, w = NC_BUF_INIT;
	size_t n, i, j;

	docs = nc_cli_docs(&n);
	kind_words(&kinds);
	/* every name of the command table, "list" too */
	for (i = 0; i < n; i++)
		nc_buf_addf(&names, "%s%s", i ? " " : "", docs[i]->name);
	if (!strstr(names.buf, " list"))
		nc_buf_adds(&names, " list");
	nc_buf_addf(out, "%s_novacron_commands=\"%s\"\n_novacron_kind_words=\"%s\"\n", bash_head, names.buf, kinds.buf);
	nc_buf_adds(out, bash_body);
	for (i = 0; i < n; i++) {
		const struct nc_cmd_doc *d = docs[i];
		const char *comp = d->operands == NC_COMP_VM ? "names vms" : d->operands == NC_COMP_HOST ?
				   "names hosts" : bash_comp(d->operands);

		nc_buf_addf(out, "    %s%s)\n", d->name, !strcmp(d->name, "get") ? "|list" : "");
		nc_buf_reset(&w);
		flag_words(&w, d->opts, 1);
		nc_buf_addf(out, "        argflags=\"%s\"\n", w.buf);
		nc_buf_reset(&w);
		flag_words(&w, d->opts, 0);
		nc_buf_addf(out, "        flags=\"%s\"\n", w.buf);
		nc_buf_addf(out, "        subs=\"%s\" first=%s comp=\"%s\"\n", d->subcommands ? d->subcommands : "",
			    operand_first(d) ? "operand" : "sub", comp);
		/* what completes each flag's value */
		nc_buf_adds(out, "        _novacron_value() {\n            case $1 in\n");
		for (j = 0; d->opts && d->opts[j].name; j++) {
			const struct nc_opt *o = &d->opts[j];

			if (!o->arg || !o->help)
				continue;
			nc_buf_adds(out, "            ");
			if (has_short(o))
				nc_buf_addf(out, "-%c|", o->key);
			nc_buf_addf(out, "--%s) ", o->name);
			if (o->comp == NC_COMP_WORDS)
				nc_buf_addf(out, "_novacron_words \"%s\"", o->words ? o->words : "");
			else
				nc_buf_adds(out, bash_comp(o->comp));
			nc_buf_adds(out, " ;;\n");
		}
		nc_buf_adds(out, "            esac\n        }\n        ;;\n");
	}
	nc_buf_adds(out, bash_tail);
	nc_buf_release(&kinds);
	nc_buf_release(&names);
	nc_buf_release(&w);
}

/* zsh: a description inside '[...]' of a single-quoted _arguments spec */
static void zsh_desc(struct nc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\'')
			nc_buf_adds(b, "'\\''");
		else if (*s == '[' || *s == ']' || *s == ':' || *s == '\\')
			nc_buf_addf(b, "\\%c", *s);
		else if (*s == '\n')
			nc_buf_addc(b, ' ');
		else
			nc_buf_addc(b, *s);
	}
}

static const char *zsh_comp(enum nc_comp c)
{
	switch (c) {
	case NC_COMP_FILE: return "_files";
	case NC_COMP_DIR: return "_files -/";
	case NC_COMP_VM: return "_novacron_names vms";
	case NC_COMP_HOST: return "_novacron_names hosts";
	case NC_COMP_KIND: return "_novacron_kinds";
	case NC_COMP_WORDS:
	case NC_COMP_NONE: break;
	}
	return " ";
}

static void zsh_script(struct nc_buf *out)
{
	const struct nc_cmd_doc *const *docs;
	struct nc_buf kinds = NC_BUF_INIT;
	size_t n, i, j;

	docs = nc_cli_docs(&n);
	kind_words(&kinds);
	nc_buf_addf(out, "#compdef novacron\n"
			 "# zsh completion for novacron (generated by `novacron completion zsh`; do not edit)\n"
			 "# Install: novacron completion zsh > /usr/local/share/zsh/site-functions/_novacron\n"
			 "#      or: source <(novacron completion zsh)   (after compinit)\n"
			 "\n"
			 "_novacron_kinds() { compadd \"$@\" -- %s }\n"
			 "# VM or host names of the spec in the spec paths typed so far, else the current folder;\n"
			 "# the last argument is vms or hosts, the ones before it _arguments' options for compadd\n"
			 "_novacron_names() {\n"
			 "    local -a paths names\n"
			 "    local w kind=${argv[-1]}\n"
			 "    for w in ${words[2,CURRENT-1]}; do [[ $w != -* && -e $w ]] && paths+=($w); done\n"
			 "    names=(${(f)\"$(${_novacron_cmd:-novacron} __complete $kind $paths 2>/dev/null)\"})\n"
			 "    compadd \"${(@)argv[1,-2]}\" -- $names\n"
			 "    _files\n"
			 "}\n"
			 "\n"
			 "_novacron() {\n"
			 "    local -a cmds\n"
			 "    local _novacron_cmd=${words[1]}\n"
			 "    cmds=(\n", kinds.buf);
	for (i = 0; i < n; i++) {
		nc_buf_addf(out, "        '%s:", docs[i]->name);
		zsh_desc(out, docs[i]->summary);
		nc_buf_adds(out, "'\n");
	}
	nc_buf_adds(out, "        'list:same as get'\n        'help:show a command'\\''s help'\n    )\n"
			 "    if (( CURRENT == 2 )); then\n"
			 "        _describe -t commands 'novacron command' cmds\n"
			 "        return\n"
			 "    fi\n"
			 "    local cmd=${words[2]}\n"
			 "    shift words\n"
			 "    (( CURRENT-- ))\n"
			 "    case $cmd in\n"
			 "    help) _describe -t commands 'novacron command' cmds ;;\n");
	for (i = 0; i < n; i++) {
		const struct nc_cmd_doc *d = docs[i];

		nc_buf_addf(out, "    %s%s)\n        _arguments -s", d->name, !strcmp(d->name, "get") ? "|list" : "");
		for (j = 0; d->opts && d->opts[j].name; j++) {
			const struct nc_opt *o = &d->opts[j];
			const char *eq = !o->arg ? "" : o->arg[0] == '[' ? "=-" : "=";

			if (!o->help)   /* hidden */
				continue;
			nc_buf_adds(out, " \\\n            ");
			if (has_short(o))
				nc_buf_addf(out, "'(-%c --%s)'{-%c%s,--%s%s}'[", o->key, o->name, o->key,
					    o->arg ? (o->arg[0] == '[' ? "-" : "+") : "", o->name, eq);
			else
				nc_buf_addf(out, "'--%s%s[", o->name, eq);
			zsh_desc(out, o->help);
			nc_buf_adds(out, "]");
			if (o->arg) {
				nc_buf_addf(out, ":%s:", o->arg[0] == '[' ? "value" : o->arg);
				if (o->comp == NC_COMP_WORDS)
					nc_buf_addf(out, "(%s)", o->words ? o->words : "");
				else
					nc_buf_adds(out, zsh_comp(o->comp));
			}
			nc_buf_adds(out, "'");
		}
		if (d->subcommands && operand_first(d))
			nc_buf_addf(out, " \\\n            '1:operand:%s' '2:command:(%s)' '*:argument:_files'",
				    zsh_comp(d->operands), d->subcommands);
		else if (d->subcommands)
			nc_buf_addf(out, " \\\n            '1:command:(%s)' '*:operand:%s'", d->subcommands,
				    d->operands == NC_COMP_NONE ? "_files" : zsh_comp(d->operands));
		else if (d->operands != NC_COMP_NONE)
			nc_buf_addf(out, " \\\n            '*:operand:%s'", zsh_comp(d->operands));
		nc_buf_adds(out, " ;;\n");
	}
	/* autoloaded from $fpath: complete now; sourced: register */
	nc_buf_adds(out, "    esac\n}\n\n"
			 "if [[ $funcstack[1] == _novacron ]]; then\n    _novacron \"$@\"\n"
			 "else\n    compdef _novacron novacron\nfi\n");
	nc_buf_release(&kinds);
}

int cmd_completion(int argc, char **argv)
{
	struct nc_buf b = NC_BUF_INIT;
	struct nc_getopt g;
	int c;

	nc_getopt_init(&g, completion_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		nc_getopt_release(&g);
		if (c == 'h') {
			nc_cmd_help(stdout, &nc_doc_completion);
			return NC_EXIT_OK;
		}
		nc_cmd_usage_error(&nc_doc_completion);
		return NC_EXIT_ERROR;
	}
	nc_getopt_release(&g);
	if (argc - optind != 1 || (strcmp(argv[optind], "bash") && strcmp(argv[optind], "zsh"))) {
		if (argc - optind == 1)
			fprintf(stderr, "novacron completion: no script for '%s': bash or zsh\n", argv[optind]);
		nc_cmd_usage_error(&nc_doc_completion);
		return NC_EXIT_ERROR;
	}
	if (!strcmp(argv[optind], "bash"))
		bash_script(&b);
	else
		zsh_script(&b);
	fwrite(b.buf, 1, b.len, stdout);
	nc_buf_release(&b);
	return NC_EXIT_OK;
}

int cmd_complete_names(int argc, char **argv)
{
	static const char *const dot[] = { "." };
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	enum nc_kind kind;
	size_t i;

	if (argc < 2)
		return NC_EXIT_ERROR;
	if (!strcmp(argv[1], "commands") || !strcmp(argv[1], "flags")) {
		const struct nc_cmd_doc *const *docs = nc_cli_docs(&i);
		size_t n = i, j;

		for (i = 0; i < n; i++) {
			if (argc == 2 && !strcmp(argv[1], "commands"))
				printf("%s\n", docs[i]->name);
			else if (argc == 2 || !strcmp(argv[2], docs[i]->name))
				for (j = 0; docs[i]->opts && docs[i]->opts[j].name; j++)
					if (docs[i]->opts[j].help)   /* not the hidden ones */
						printf("%s%s--%s\n", argc == 2 ? docs[i]->name : "", argc == 2 ? " " : "",
					       docs[i]->opts[j].name);
		}
		return NC_EXIT_OK;
	}
	if (!strcmp(argv[1], "vms"))
		kind = NC_KIND_VM;
	else if (!strcmp(argv[1], "hosts"))
		kind = NC_KIND_HOST;
	else
		return NC_EXIT_ERROR;
	alarm(3);   /* bounded: a huge folder is given up on, silently (the shell waits for us) */
	nc_diags_init(&d);
	d.max_errors = 1000;   /* a half-written spec still names what it can; nothing is printed */
	if (argc > 2)
		nc_spec_load(&spec, (const char *const *)argv + 2, (size_t)(argc - 2), NULL, &d);
	else
		nc_spec_load(&spec, dot, 1, NULL, &d);
	/* only valid names: an invalid one ("$(cmd)") reaches the shell's completion */
	for (i = 0; spec && i < spec->nobjs[kind]; i++)
		if (nc_name_ok(spec->objs[kind][i]->meta.name.v))
			printf("%s\n", spec->objs[kind][i]->meta.name.v);
	nc_diags_release(&d);
	nc_spec_free(spec);
	return NC_EXIT_OK;
}
