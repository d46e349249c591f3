/*
 * testutil.h - running the real novacron binary from tests.
 *
 * nc_run_novacron() runs `novacron ARGS` through /bin/sh in the source tree
 * (so paths in its output are relative and stable), with NO_COLOR set, and
 * captures stdout, stderr and the exit status.
 */
#ifndef NC_TESTUTIL_H
#define NC_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * A test that cannot run here says why and returns: NC_TEST_SKIP(fmt, ...)
 * inside START_TEST prints one line "skipped: NAME:I: WHY" on stderr (NAME
 * the test, I its loop index, as in Check's own result lines).  Check counts
 * the test as passed; scripts/test.sh counts these lines and reports them as
 * skipped, not passed.  Call it once per test, then return, having freed
 * what the test allocated (LeakSanitizer checks each test's process).
 */
void nc_test_skipped(const char *fn, int i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define NC_TEST_SKIP(...) nc_test_skipped(__func__, _i, __VA_ARGS__)
/*
 * Runs a shell command (printf format) in dir with $NC set to the novacron
 * binary, a fixed git identity, and no NOVACRON_FAIL_AT; returns the exit
 * status.  nc_run_inq() discards the output.
 */
int nc_run_in(struct nc_run *r, const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int nc_run_inq(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A real single-node Ceph (mon, OSD, mgr; radosgw when rgw) started by the
 * project's test/testbed/ceph.sh in dir (an absolute path of the test's own).
 * env: extra NAME=VALUE words for the script (its NC_CEPH_* knobs) or NULL.
 * Returns 0 and fills *out, or -1 with why the cluster cannot run here in
 * why (the test then says so with NC_TEST_SKIP()).  A cluster already
 * running in dir is reused.  nc_test_ceph_down() stops it by PID and removes
 * dir; it is safe when nothing runs there.
 */
struct nc_test_ceph {
	char conf[256];          /* CEPH_CONF: a client.admin keyring inside */
	int mon_port;            /* msgr2 on 127.0.0.1 */
	int mon_v1port;          /* msgr1 (what QEMU's librbd and libvirt <host> use) */
	int rgw_port;            /* 0 without radosgw */
	char rgw_url[64];
	char s3_access[64], s3_secret[64], swift_user[32], swift_key[64];
};
int nc_test_ceph_up(struct nc_test_ceph *out, const char *dir, bool rgw, const char *env,
		    char *why, size_t whylen);
void nc_test_ceph_down(const char *dir);

/* hay (a command's output, say) holds needle, or not; a failure shows the start of hay */
#define HAS(hay, needle) ck_assert_msg(strstr((hay), (needle)) != NULL, \
				       "missing '%s' in:\n%.4000s", (needle), (hay))
#define HASNT(hay, needle) ck_assert_msg(strstr((hay), (needle)) == NULL, \
					 "unexpected '%s' in:\n%.4000s", (needle), (hay))

/* the same for JSON the CLI printed, looked at on one line (nc_json_oneline) */
#define HASJ(json, needle) do { char *flat_ = nc_json_oneline(json); \
				ck_assert_msg(strstr(flat_, (needle)) != NULL, "missing '%s' in:\n%.4000s", (needle), flat_); \
				free(flat_); } while (0)
#define HASNTJ(json, needle) do { char *flat_ = nc_json_oneline(json); \
				  ck_assert_msg(strstr(flat_, (needle)) == NULL, "unexpected '%s' in:\n%.4000s", (needle), flat_); \
				  free(flat_); } while (0)

/* "line N: want '...' got '...'" for the first line that differs (caller frees). */
char *nc_first_diff(const char *want, const char *got);
/*
 * A pretty JSON document (as the CLI prints it, reconciler/jsonout.h) on one
 * line: {"a": 1, "b": [2, 3]}, for tests that look for a run of fields (caller frees).
 */
char *nc_json_oneline(const char *json);
/* got equals test/golden/NAME (NC_TEST_REGENERATE=1 rewrites the file first, as test_golden.c) */
void nc_check_golden(const char *name, const char *got);

/* ---- deterministic data (xorshift64) ---- */
uint64_t nc_test_rng(uint64_t *s);
/* n bytes of pseudo-random data from state *s */
void nc_test_fill_random(unsigned char *p, size_t n, uint64_t *s);
/*
 * A disk image of size bytes (caller frees): regions of 16 KiB to 1 MiB,
 * 4 KiB aligned, random_tenths in 10 random, the rest zeros or `text`
 * repeated (kinds 8 and 9 of 10), from seed.
 */
unsigned char *nc_test_image(size_t size, uint64_t seed, unsigned random_tenths, const char *text);

#endif
