/*
 * test_clihelp.c - every command's --help, man pages, completion scripts and docs/cli.md from the option tables.
 *
 * The commands and their flags come from the binary's own tables through the
 * hidden `novacron __complete commands` / `__complete flags CMD`; each must
 * show in --help, in novacron(1) and in docs/cli.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

#include "../spec/util.h"

/* commands whose examples may be missing (none: every command has its examples now) */
static const char *const unfinished[] = { NULL };

static bool is_unfinished(const char *cmd)
{
	size_t i;

	for (i = 0; unfinished[i]; i++)
		if (!strcmp(unfinished[i], cmd))
			return true;
	return false;
}

/* the lines of s as a NULL-ended vector (s is modified) */
static char **lines(char *s, size_t *n)
{
	char **v = NULL, *save = NULL, *tok;

	*n = 0;
	for (tok = strtok_r(s, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		v = realloc(v, (*n + 2) * sizeof(*v));
		ck_assert_ptr_nonnull(v);
		v[(*n)++] = tok;
		v[*n] = NULL;
	}
	return v;
}

/* "--dry-run" as roff writes it: "\-\-dry\-run" */
static char *roff_flag(const char *flag)
{
	struct nc_buf b = NC_BUF_INIT;

	for (; *flag; flag++) {
		if (*flag == '-')
			nc_buf_adds(&b, "\\-");
		else
			nc_buf_addc(&b, *flag);
	}
	return b.buf;
}

START_TEST(test_clihelp_every_command)
{
	struct nc_run cmds, h, h2, fl, man, md, bad;
	char **names, **flags;
	size_t n, nf, i, j, nflags = 0;
	char *cli_md = NULL, *path = nc_xasprintf("%s/docs/cli.md", NC_SOURCE_DIR);
	size_t len;

	nc_run_novacron(&cmds, "__complete commands");
	ck_assert_int_eq(cmds.status, 0);
	names = lines(cmds.out, &n);
	ck_assert_uint_ge(n, 20);
	nc_run_novacron(&man, "man 1");
	ck_assert_int_eq(man.status, 0);
	nc_run_novacron(&md, "man --markdown");
	ck_assert_int_eq(md.status, 0);
	ck_assert_msg(nc_read_file(path, 4 << 20, &cli_md, &len) == 0, "cannot read %s", path);
	nc_run_novacron(&fl, "__complete flags");   /* "CMD --flag", a line each */
	ck_assert_int_eq(fl.status, 0);
	flags = lines(fl.out, &nf);
	for (i = 0; i < n; i++) {
		char *args = nc_xasprintf("%s --help", names[i]), *want;

		nc_run_novacron(&h, args);
		ck_assert_msg(h.status == 0, "novacron %s exits %d", args, h.status);
		want = nc_xasprintf("usage: novacron %s", names[i]);
		ck_assert_msg(strncmp(h.out, want, strlen(want)) == 0, "%s: %s", args, h.out);
		free(want);
		free(args);
		/* help CMD prints the same (a few: each run costs time) */
		if (i % 6 == 0) {
			args = nc_xasprintf("help %s", names[i]);
			nc_run_novacron(&h2, args);
			ck_assert_int_eq(h2.status, 0);
			ck_assert_str_eq(h2.out, h.out);
			nc_run_free(&h2);
			free(args);
		}
		if (!is_unfinished(names[i]))
			ck_assert_msg(strstr(h.out, "\nexamples:\n  # "), "novacron %s --help has no example", names[i]);
		/* every flag of its table: in --help, novacron(1) and docs/cli.md */
		for (j = 0; j < nf; j++) {
			size_t l = strlen(names[i]);
			const char *flag = flags[j] + l + 1;
			char *r, *m;

			if (strncmp(flags[j], names[i], l) != 0 || flags[j][l] != ' ')
				continue;
			nflags++;
			r = roff_flag(flag);
			m = nc_xasprintf("`%s", flag);
			ck_assert_msg(strstr(h.out, flag), "%s --help does not mention %s", names[i], flag);
			ck_assert_msg(strstr(man.out, r), "novacron(1) does not mention %s (%s)", r, names[i]);
			ck_assert_msg(strstr(cli_md, m), "docs/cli.md does not mention %s of %s", flag, names[i]);
			free(r);
			free(m);
		}
		nc_run_free(&h);
		/* an unknown flag: a usage error, exit 1 */
		args = nc_xasprintf("%s --no-such-flag", names[i]);
		nc_run_novacron(&bad, args);
		ck_assert_msg(bad.status == 1, "novacron %s exits %d", args, bad.status);
		if (!is_unfinished(names[i])) {
			want = nc_xasprintf("usage: novacron %s", names[i]);
			ck_assert_msg(strstr(bad.err, want), "novacron %s: %s", args, bad.err);
			HAS(bad.err, "--help' for every flag and examples");
			ck_assert_str_eq(bad.out, "");
			free(want);
		}
		nc_run_free(&bad);
		free(args);
	}
	/* explain --help is help, not a kind */
	nc_run_novacron(&h, "explain --help");
	ck_assert_int_eq(h.status, 0);
	HAS(h.out, "--markdown");
	nc_run_free(&h);
	/* getopt's errors name the command; an abbreviation of two flags names both */
	nc_run_novacron(&h, "explain --no-such-flag");
	ck_assert_int_eq(h.status, 1);
	HAS(h.err, "novacron explain: unknown flag '--no-such-flag'\nusage: novacron explain");
	nc_run_free(&h);
	nc_run_novacron(&h, "plan --max-m 3 examples/quickstart");
	ck_assert_int_eq(h.status, 1);
	HAS(h.err, "novacron plan: '--max-m' is ambiguous: --max-migrations --max-migrations-per-host\n");
	nc_run_free(&h);
	nc_run_novacron(&h, "graph vm web-1 cpu_usage --width");
	ck_assert_int_eq(h.status, 1);
	HAS(h.err, "novacron graph: --width needs an argument (N)\n");
	nc_run_free(&h);
	/* the optional argument parses as before */
	nc_run_novacron(&h, "capacity --forecast=banana");
	ck_assert_int_eq(h.status, 1);
	HAS(h.err, "--forecast: 'banana' is not a duration");
	nc_run_free(&h);
	ck_assert_uint_ge(nflags, 2 * n);   /* --help and more */
	free(flags);
	nc_run_free(&fl);
	free(names);
	free(cli_md);
	free(path);
	nc_run_free(&cmds);
	nc_run_free(&man);
	nc_run_free(&md);
}
END_TEST

START_TEST(test_clihelp_cli_md_current)
{
	/* docs/cli.md is `novacron man --markdown`, kept in step (NC_TEST_REGENERATE=1 rewrites it) */
	struct nc_run r;
	char *path = nc_xasprintf("%s/docs/cli.md", NC_SOURCE_DIR), *want = NULL;
	const char *regen = getenv("NC_TEST_REGENERATE");
	size_t len;

	nc_run_novacron(&r, "man --markdown");
	ck_assert_int_eq(r.status, 0);
	if (regen && *regen && strcmp(regen, "0") != 0) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs(r.out, f);
		fclose(f);
	}
	ck_assert_msg(nc_read_file(path, 4 << 20, &want, &len) == 0, "cannot read %s", path);
	if (strcmp(want, r.out) != 0) {
		char *d = nc_first_diff(want, r.out);

		ck_abort_msg("docs/cli.md differs from `novacron man --markdown` (NC_TEST_REGENERATE=1 rewrites it): %s", d);
	}
	HAS(r.out, "| `-o`, `--output FORMAT` |");
	HAS(r.out, "/usr/share/bash-completion/completions/novacron");
	free(want);
	free(path);
	nc_run_free(&r);
}
END_TEST

START_TEST(test_clihelp_man_pages)
{
	struct nc_run r;
	static const char *const sections[] = { "NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS",
						"ENVIRONMENT", "FILES", "SEE ALSO" };
	size_t i;
	bool groff = nc_run_inq(NC_SOURCE_DIR, "command -v groff") == 0;

	nc_run_novacron(&r, "man");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, ".TH NOVACRON 1 ");
	for (i = 0; i < NC_ARRAY_SIZE(sections); i++) {
		char *sh = nc_xasprintf("\n.SH %s\n", sections[i]);

		HAS(r.out, sh);
		free(sh);
	}
	/* a flag's dashes are minus signs; the examples' too */
	HAS(r.out, "\\fB\\-\\-state\\-dir\\fR \\fIDIR\\fR");
	HAS(r.out, "novacron plan examples/quickstart");
	/* no line begins with a '.' or '\'' that is not a request */
	ck_assert_ptr_null(strstr(r.out, "\n.novacron"));
	nc_run_free(&r);
	nc_run_novacron(&r, "man 5");
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, ".TH NOVACRON\\-SPEC 5 ");
	HAS(r.out, ".SS VM\n");
	HAS(r.out, "\\fBspec.uri\\fR (string, required)");
	nc_run_free(&r);
	nc_run_novacron(&r, "man 7");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "novacron man: no section '7'");
	nc_run_free(&r);
	if (!groff) {
		NC_TEST_SKIP("groff is not installed: the man pages were not linted (scripts/deps.sh installs groff-base)");
		return;
	}
	/* groff -ww: every warning; none may appear */
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(nc_run_in(&r, NC_SOURCE_DIR, "$NC man %s | groff -man -Tutf8 -ww -z", i ? "5" : "1"), 0);
		ck_assert_msg(!*r.err, "groff warns about novacron man %s: %s", i ? "5" : "1", r.err);
		nc_run_free(&r);
	}
	/* and man renders it (the first section's text) */
	if (nc_run_inq(NC_SOURCE_DIR, "command -v man") == 0) {
		ck_assert_int_eq(nc_run_in(&r, NC_SOURCE_DIR, "$NC man 1 > \"${TMPDIR:-/tmp}/nc-clihelp-$$.1\" && "
					   "MANWIDTH=100 man -l \"${TMPDIR:-/tmp}/nc-clihelp-$$.1\" | col -b; "
					   "rm -f \"${TMPDIR:-/tmp}/nc-clihelp-$$.1\""), 0);
		HAS(r.out, "--state-dir DIR");
		HAS(r.out, "novacron validate [PATH...] [OPTIONS]");
		nc_run_free(&r);
	}
}
END_TEST

/* the bash script, sourced by a real bash, completes as the tables say */
static const char bash_test[] =
	"source <(\"$NC\" completion bash) || exit 3\n"
	"t() { COMP_WORDS=(\"$NC\" \"$@\"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _novacron;"
	" echo \"[$*] ${COMPREPLY[*]}\"; }\n"
	"t pl\n"
	"t plan --ou\n"
	"t plan --output ''\n"
	"t validate -o ''\n"
	"t capacity --output = ''\n"
	"t backup ''\n"
	"t backup run ''\n"
	"t explain ''\n"
	"t sim kvm1 ''\n"
	"t token create x --role ''\n"
	"cd ../.. && t restore examples/quickstart db\n"
	"cd \"$1\" && t fence confirm ''\n"
	"complete -p novacron\n"
	/* a hostile spec: a name that is shell code is not completed, and nothing runs it */
	"mkdir h && printf 'apiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: \"$(touch pwned)\"}\\n"
	"spec: {vcpus: 1, memory: 1GiB}\\n---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: ok-1}\\n"
	"spec: {vcpus: 1, memory: 1GiB}\\n' > h/a.yaml && cd h && t backup run ''\n"
	/* the script alone (a binary that printed anything): the names are words, never expanded */
	"cat > ../fake <<'EOF'\n#!/bin/sh\necho '$(touch pwned2)'\necho '*'\nEOF\n"
	"chmod +x ../fake && COMP_WORDS=(../fake backup run ''); COMP_CWORD=3; COMPREPLY=(); _novacron\n"
	"echo \"[fake] ${COMPREPLY[*]:0:2}\"\n"
	"echo \"[ls] $(ls)\"\n";

START_TEST(test_clihelp_completion_bash)
{
	struct nc_run r;
	char dir[] = "/tmp/nc-clihelp-XXXXXX", *script;
	FILE *f;
	int rc;

	if (nc_run_inq(NC_SOURCE_DIR, "command -v bash") != 0) {
		NC_TEST_SKIP("bash is not installed");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	script = nc_xasprintf("%s/t.bash", dir);
	f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fputs(bash_test, f);
	fclose(f);
	rc = nc_run_in(&r, NC_SOURCE_DIR "/examples/quickstart", "NC=\"$NC\" bash %s %s", script, dir);
	free(script);
	script = nc_xasprintf("rm -rf '%s'", dir);   /* before any assertion: a failing one leaves nothing behind */
	ck_assert_int_eq(nc_run_inq(NC_SOURCE_DIR, "%s", script), 0);
	free(script);
	ck_assert_msg(rc == 0, "bash: %s%s", r.out, r.err);
	ck_assert_str_eq(r.err, "");
	HAS(r.out, "[pl] plan\n");
	HAS(r.out, "[plan --ou] --output --out\n");
	HAS(r.out, "[plan --output ] text json markdown\n");
	HAS(r.out, "[validate -o ] text json github gitlab\n");
	HAS(r.out, "[capacity --output = ] text json markdown\n");
	HAS(r.out, "[backup ] run list check prune\n");
	{
		/* VM names from the spec here, then its files */
		const char *l = strstr(r.out, "[backup run ] ");
		char *line;

		ck_assert_ptr_nonnull(l);
		line = nc_xstrndup(l, strcspn(l, "\n"));
		HAS(line, " db-1 ");
		HAS(line, " web-1 ");
		HAS(line, " vms");
		free(line);
	}
	HAS(r.out, "[explain ] Host Template VM ");
	HAS(r.out, "[sim kvm1 ] list define-unmanaged ");
	HAS(r.out, "[token create x --role ] viewer operator admin\n");
	HAS(r.out, "[restore examples/quickstart db] db-1\n");      /* from the path typed */
	HAS(r.out, "[fence confirm ] t.bash\n");                    /* no spec here: no name, quietly; files */
	HAS(r.out, "complete -F _novacron novacron\n");
	HAS(r.out, "[backup run ] ok-1 a.yaml\n");
	HAS(r.out, "[fake] $(touch pwned2) *\n");
	HAS(r.out, "[ls] a.yaml\n");
	nc_run_free(&r);
	/* the helper itself: names one a line, quiet on a folder that is no spec */
	ck_assert_int_eq(nc_run_in(&r, NC_SOURCE_DIR, "$NC __complete hosts examples/quickstart"), 0);
	ck_assert_str_eq(r.out, "kvm1\nkvm2\nkvm3\n");
	nc_run_free(&r);
	ck_assert_int_eq(nc_run_in(&r, NC_SOURCE_DIR, "$NC __complete vms %s/nothing-here", dir), 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "");
	nc_run_free(&r);
}
END_TEST

/* zsh: the script, installed in $fpath, completes in a real interactive zsh
 * (driven through zsh's own pseudo-terminal module, zpty) */
static const char zsh_test[] =
	"zmodload zsh/zpty || exit 3\n"
	"\"$NC\" completion zsh > \"$1/_novacron\" || exit 4\n"
	"zpty z zsh -f -i\n"
	"zpty -w z \"PS1='> '; fpath=($1 \\$fpath); path=(${NC:h} \\$path); autoload -U compinit; "
	"compinit -u -D; zstyle ':completion:*' list-prompt ''\"\n"
	"zpty -n -w z $'novacron plan --output \\t'\n"
	"zpty -r z out '*markdown*' && print -r -- \"OUTPUT ${out//$'\\e'\\[[0-9;?]#[A-Za-z]/}\"\n"
	"zpty -n -w z $'\\x15novacron backup run w\\t'\n"
	"zpty -r z out '*worker-4*' && print -r -- \"VMS ${out//$'\\e'\\[[0-9;?]#[A-Za-z]/}\"\n"
	"zpty -d z\n";

START_TEST(test_clihelp_completion_zsh)
{
	struct nc_run r;
	char dir[] = "/tmp/nc-clihelp-XXXXXX", *script, *fp;
	FILE *f;
	int rc;

	if (nc_run_inq(NC_SOURCE_DIR, "command -v zsh") != 0) {
		NC_TEST_SKIP("zsh is not installed (scripts/deps.sh installs it): the zsh script was not run");
		return;
	}
	ck_assert_int_eq(nc_run_in(&r, NC_SOURCE_DIR, "$NC completion zsh | zsh -n"), 0);
	ck_assert_str_eq(r.err, "");
	nc_run_free(&r);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	script = nc_xasprintf("%s/t.zsh", dir);
	f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fputs(zsh_test, f);
	fclose(f);
	/* timeout: a completion that never shows leaves zpty waiting for its pattern */
	rc = nc_run_in(&r, NC_SOURCE_DIR "/examples/quickstart", "NC=\"$(realpath \"$NC\")\" timeout 60 zsh -f %s %s",
		       script, dir);
	unlink(script);   /* before any assertion: a failing one leaves nothing behind */
	fp = nc_xasprintf("%s/_novacron", dir);
	unlink(fp);
	free(fp);
	rmdir(dir);
	free(script);
	ck_assert_msg(rc == 0, "zsh: %s%s", r.out, r.err);
	HAS(r.out, "OUTPUT ");
	HAS(r.out, "json");
	HAS(r.out, "text");
	HAS(r.out, "VMS ");
	HAS(r.out, "web-1");   /* VM names of the spec in the current folder */
	HASNT(r.out, "cache-1");   /* only those starting with the w typed */
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_clihelp(void)
{
	Suite *s = suite_create("clihelp");
	TCase *tc = tcase_create("clihelp");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_clihelp_every_command);
	tcase_add_test(tc, test_clihelp_cli_md_current);
	tcase_add_test(tc, test_clihelp_man_pages);
	tcase_add_test(tc, test_clihelp_completion_bash);
	tcase_add_test(tc, test_clihelp_completion_zsh);
	suite_add_tcase(s, tc);
	return s;
}
