/*
 * fuzz_uri.c - libFuzzer harness for the Host URI check (spec/uri.h).
 *
 * Each input is one URI.  nc_host_uri_check() must never crash, and what it
 * accepts must hold the promises of spec/uri.h, checked here independently
 * of its implementation: a scheme of the allow-list, test: only as
 * test:///default, no '%', '#', '\', control, blank or non-ASCII byte, no
 * ".." , and a query whose every name (split on '&' and ';', as libvirt
 * does) is no_tty, cpus or memory, each at most once.  A printable input is
 * also loaded as a Host document: the loader must agree with the check.
 *
 * Build (clang, ASan + UBSan + libFuzzer, into build-fuzz/):
 *
 *	make fuzz
 *
 * Run on the seed corpus with the dictionary (copy the seeds for long runs,
 * as test/fuzz/fuzz_spec.c explains):
 *
 *	./build-fuzz/nc-fuzz-uri -max_total_time=300 -dict=test/fuzz/uri.dict test/fuzz/uri-corpus
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../spec/diag.h"
#include "../../spec/model.h"
#include "../../spec/uri.h"
#include "../../spec/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schemes[] = {
	"qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+libssh", "qemu+libssh2", "qemu+unix", "sim", "test",
};

static void check_accepted(const char *s)
{
	const char *p, *q;
	size_t i, n;
	unsigned seen = 0;

	for (p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '%' || *p == '#' || *p == '\\')
			abort();
	if (strstr(s, ".."))
		abort();
	p = strstr(s, "://");
	if (!p)
		abort();
	n = (size_t)(p - s);
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i]) == n && strncmp(s, schemes[i], n) == 0)
			break;
	if (i == sizeof(schemes) / sizeof(schemes[0]))
		abort();
	if (strncmp(s, "test:", 5) == 0 && strcmp(s, "test:///default") != 0)
		abort();
	q = strchr(s, '?');
	if (!q)
		return;
	if (strchr(q + 1, '?'))
		abort();
	for (p = q + 1; *p;) {
		size_t len = strcspn(p, "&;"), kn = strcspn(p, "=&;");
		unsigned bit;

		if (kn == 6 && strncasecmp(p, "no_tty", 6) == 0)
			bit = 1;
		else if (kn == 4 && strncasecmp(p, "cpus", 4) == 0)
			bit = 2;
		else if (kn == 6 && strncasecmp(p, "memory", 6) == 0)
			bit = 4;
		else
			abort();   /* any other parameter reached libvirt */
		if (seen & bit)
			abort();
		seen |= bit;
		p += len;
		if (*p)
			p++;
	}
}

/* a printable URI without quotes or backslashes goes into a Host document as it is */
static void check_loader(const char *s, int accepted)
{
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	struct nc_buf b = NC_BUF_INIT;
	const char *p;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || *p == '"' || *p == '\\')
			return;
	if (!*s)
		return;
	nc_buf_addf(&b, "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h}\nspec: {uri: \"%s\"}\n", s);
	nc_diags_init(&d);
	nc_spec_load_buffer(&spec, "fuzz.yaml", b.buf, b.len, NULL, &d);
	if ((d.errors == 0) != (accepted != 0))
		abort();
	nc_spec_free(spec);
	nc_diags_release(&d);
	nc_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	const char *why = NULL;
	int r;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = nc_host_uri_check(s, &why);
	if (r == 0)
		check_accepted(s);
	else if (!why || !*why)
		abort();
	/* an embedded NUL ends the string: check what the loader would see */
	check_loader(s, r == 0);
	free(s);
	return 0;
}
