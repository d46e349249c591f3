/*
 * testutil.h - running the real novacron binary from tests.
 *
 * nc_run_novacron() runs `novacron ARGS` through /bin/sh in the source tree
 * (so paths in its output are relative and stable), with NO_COLOR set, and
 * captures stdout, stderr and the exit status.
 */
#ifndef NC_TESTUTIL_H
#define NC_TESTUTIL_H

struct nc_run {
	int status;      /* exit code, or 128 + signal */
	char *out;
	char *err;
};

void nc_run_novacron(struct nc_run *r, const char *args);
/* Runs an arbitrary shell command the same way. */
void nc_run_shell(struct nc_run *r, const char *cmd);
void nc_run_free(struct nc_run *r);
/*
 * Runs a shell command (printf format) in dir with $NC set to the novacron
 * binary, a fixed git identity, and no NOVACRON_FAIL_AT; returns the exit
 * status.  nc_run_inq() discards the output.
 */
int nc_run_in(struct nc_run *r, const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int nc_run_inq(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "line N: want '...' got '...'" for the first line that differs (caller frees). */
char *nc_first_diff(const char *want, const char *got);

#endif
