/* testutil.c - see testutil.h */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
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
