/* testutil.c - see testutil.h */
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../spec/util.h"

void nc_test_skipped(const char *fn, int i, const char *fmt, ...)
{
	struct nc_buf b = NC_BUF_INIT;
	size_t n = strlen(fn);
	va_list ap;

	/* START_TEST(name) defines name_fn */
	if (n > 3 && strcmp(fn + n - 3, "_fn") == 0)
		n -= 3;
	nc_buf_addf(&b, "skipped: %.*s:%d: ", (int)n, fn, i);
	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	nc_buf_addc(&b, '\n');
	/* one write: the line stays whole among other tests' output */
	if (write(STDERR_FILENO, b.buf, b.len) < 0)
		(void)0;
	nc_buf_release(&b);
}

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
	__attribute__((format(printf, 3, 0)));

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

/* VALUE of "NAME=VALUE" in env output, into buf; "" when missing */
static void env_value(const char *text, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);
	const char *p = text;

	buf[0] = '\0';
	while (p && *p) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			p += n + 1;
			snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
			return;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

int nc_test_ceph_up(struct nc_test_ceph *out, const char *dir, bool rgw, const char *env,
		    char *why, size_t whylen)
{
	struct nc_test_ceph c;
	struct nc_run r;
	char port[16];
	char *cmd;
	size_t n;

	memset(&c, 0, sizeof(c));
	cmd = nc_xasprintf("bash test/testbed/ceph.sh check >&2 && %s %s bash test/testbed/ceph.sh up '%s' && "
			   "bash test/testbed/ceph.sh env '%s'", rgw ? "NC_CEPH_RGW=1" : "", env ? env : "",
			   dir, dir);
	nc_run_shell(&r, cmd);
	free(cmd);
	if (r.status != 0) {
		n = strlen(r.err);
		snprintf(why, whylen, "Ceph cannot start here (test/testbed/ceph.sh): %s",
			 n > 400 ? r.err + n - 400 : r.err);
		for (n = 0; why[n]; n++)
			if (why[n] == '\n')
				why[n] = ' ';
		nc_run_free(&r);
		return -1;
	}
	env_value(r.out, "CEPH_CONF", c.conf, sizeof(c.conf));
	env_value(r.out, "NC_CEPH_MON_PORT", port, sizeof(port));
	c.mon_port = atoi(port);
	env_value(r.out, "NC_CEPH_MON_V1PORT", port, sizeof(port));
	c.mon_v1port = atoi(port);
	env_value(r.out, "NC_CEPH_RGW_PORT", port, sizeof(port));
	c.rgw_port = atoi(port);
	env_value(r.out, "NC_CEPH_RGW_URL", c.rgw_url, sizeof(c.rgw_url));
	env_value(r.out, "NC_CEPH_S3_ACCESS", c.s3_access, sizeof(c.s3_access));
	env_value(r.out, "NC_CEPH_S3_SECRET", c.s3_secret, sizeof(c.s3_secret));
	env_value(r.out, "NC_CEPH_SWIFT_USER", c.swift_user, sizeof(c.swift_user));
	env_value(r.out, "NC_CEPH_SWIFT_KEY", c.swift_key, sizeof(c.swift_key));
	nc_run_free(&r);
	if (!c.conf[0] || !c.mon_port || (rgw && !c.rgw_port)) {
		snprintf(why, whylen, "test/testbed/ceph.sh env printed no CEPH_CONF or port");
		return -1;
	}
	*out = c;
	return 0;
}

void nc_test_ceph_down(const char *dir)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("bash test/testbed/ceph.sh down '%s' >/dev/null 2>&1", dir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

void nc_check_golden(const char *name, const char *got)
{
	char *path = nc_xasprintf("%s/test/golden/%s", NC_SOURCE_DIR, name);
	const char *regen = getenv("NC_TEST_REGENERATE");
	char *want = NULL;
	size_t len;

	if (regen && *regen && strcmp(regen, "0") != 0) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs(got, f);
		fclose(f);
	}
	ck_assert_msg(nc_read_file(path, 1 << 20, &want, &len) == 0, "cannot read %s", path);
	if (strcmp(want, got) != 0) {
		char *d = nc_first_diff(want, got);

		ck_abort_msg("%s differs (NC_TEST_REGENERATE=1 rewrites it): %s", path, d);
	}
	free(want);
	free(path);
}

char *nc_json_oneline(const char *json)
{
	struct nc_buf b = NC_BUF_INIT;
	const char *p;

	/* JSON strings hold no raw line break: each one is the printer's, with its indentation */
	for (p = json; *p; p++) {
		if (*p != '\n') {
			nc_buf_addc(&b, *p);
			continue;
		}
		if (b.len && b.buf[b.len - 1] == ',')
			nc_buf_addc(&b, ' ');
		while (p[1] == ' ')
			p++;
	}
	return nc_buf_detach(&b, NULL);
}

/* ---- deterministic data ---- */

uint64_t nc_test_rng(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

void nc_test_fill_random(unsigned char *p, size_t n, uint64_t *s)
{
	size_t i;

	for (i = 0; i < n; i += 8) {
		uint64_t v = nc_test_rng(s);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

unsigned char *nc_test_image(size_t size, uint64_t seed, unsigned random_tenths, const char *text)
{
	unsigned char *img = nc_xcalloc(1, size);
	size_t tl = strlen(text), off = 0, i;
	uint64_t s = seed | 1;

	while (off < size) {
		size_t len = (size_t)(4 + nc_test_rng(&s) % 253) * 4096;
		unsigned kind = (unsigned)(nc_test_rng(&s) % 10);

		if (len > size - off)
			len = size - off;
		if (kind < random_tenths)
			nc_test_fill_random(img + off, len, &s);
		else if (kind >= 8)
			for (i = 0; i < len; i++)
				img[off + i] = (unsigned char)text[(off + i) % tl];
		off += len;
	}
	return img;
}
