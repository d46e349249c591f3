/* testutil.c - see testutil.h */
#include "testutil.h"

#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../spec/util.h"

void nc_run_shell(struct nc_run *r, const char *cmd)
{
	char outp[] = "/tmp/nc-test-out-XXXXXX", errp[] = "/tmp/nc-test-err-XXXXXX";
	int fo = mkstemp(outp), fe = mkstemp(errp), st;
	char *full;
	size_t len;

	if (fo < 0 || fe < 0)
		abort();
	close(fo);
	close(fe);
	full = nc_xasprintf("cd '%s' && (export NO_COLOR=1; %s) >%s 2>%s </dev/null", NC_SOURCE_DIR, cmd,
			    outp, errp);
	st = system(full);
	free(full);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	if (nc_read_file(outp, 64 << 20, &r->out, &len) < 0)
		r->out = nc_xstrdup("");
	if (nc_read_file(errp, 64 << 20, &r->err, &len) < 0)
		r->err = nc_xstrdup("");
	unlink(outp);
	unlink(errp);
}

void nc_run_novacron(struct nc_run *r, const char *args)
{
	char *cmd = nc_xasprintf("'%s' %s", NC_BINARY, args);

	nc_run_shell(r, cmd);
	free(cmd);
}

void nc_run_free(struct nc_run *r)
{
	free(r->out);
	free(r->err);
}

static char *line_at(const char *s, size_t *len)
{
	const char *e = strchr(s, '\n');

	*len = e ? (size_t)(e - s) : strlen(s);
	return (char *)s;
}

char *nc_first_diff(const char *want, const char *got)
{
	size_t line = 1, lw, lg;

	for (;;) {
		const char *w = line_at(want, &lw), *g = line_at(got, &lg);

		if (lw != lg || memcmp(w, g, lw) != 0 || (!*w && *g) || (*w && !*g))
			return nc_xasprintf("line %zu: want '%.*s' got '%.*s'", line, (int)(lw > 300 ? 300 : lw), w,
					    (int)(lg > 300 ? 300 : lg), g);
		if (!w[lw] || !g[lg])
			return nc_xasprintf("line %zu: one output ends early", line);
		want = w + lw + 1;
		got = g + lg + 1;
		line++;
	}
}

static int run_in_v(struct nc_run *r, const char *dir, const char *fmt, va_list ap)
{
	struct nc_buf b = NC_BUF_INIT;
	char *cmd;

	nc_buf_vaddf(&b, fmt, ap);
	cmd = nc_xasprintf("cd '%s' && NC='%s' && unset NOVACRON_FAIL_AT && "
			   "export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com "
			   "GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com && { %s\n}",
			   dir, NC_BINARY, b.buf);
	nc_run_shell(r, cmd);
	free(cmd);
	nc_buf_release(&b);
	return r->status;
}

int nc_run_in(struct nc_run *r, const char *dir, const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = run_in_v(r, dir, fmt, ap);
	va_end(ap);
	return st;
}

int nc_run_inq(const char *dir, const char *fmt, ...)
{
	struct nc_run r;
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = run_in_v(&r, dir, fmt, ap);
	va_end(ap);
	nc_run_free(&r);
	return st;
}
