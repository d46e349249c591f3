/*
 * uri.c - the strict check of a host URI written in a spec (see uri.h).
 *
 * An allow-list at every level: scheme, authority, path and each query
 * parameter.  Nothing is decoded: a '%' anywhere is refused, so what is
 * checked is what libvirt sees.  libvirt compares parameter names without
 * regard to case and splits the query on '&' and ';'; here names must match
 * exactly and values are checked character by character, so neither
 * "COMMAND=" nor "no_tty=1;command=..." gets through.
 */
#include "uri.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define URI_MAX 1024

static _Thread_local char why_buf[384];

/* untrusted text is shown at most 40 bytes long (it is printable ASCII by then) */
#define CAP(n) ((int)((n) > 40 ? 40 : (n)))

static const char *say(const char *fmt, ...) NC_PRINTF(1, 2);
static const char *say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	return why_buf;
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

unsigned nc_uri_scheme_len(const char *uri)
{
	const char *p = strstr(uri, "://"), *q;

	if (!p || p == uri || p - uri > 32 || !(*uri >= 'a' && *uri <= 'z'))
		return 0;
	for (q = uri; q < p; q++)
		if (!(*q >= 'a' && *q <= 'z') && !is_digit(*q) && *q != '+' && *q != '-' && *q != '.')
			return 0;
	return (unsigned)(p - uri);
}

enum scheme_kind { S_LOCAL, S_REMOTE, S_UNIX, S_SIM, S_TEST };

static const struct {
	const char *name;
	enum scheme_kind kind;
} schemes[] = {
	{ "qemu", S_LOCAL },   /* qemu:///system, or qemu://HOST/system (TLS) */
	{ "qemu+ssh", S_REMOTE },
	{ "qemu+libssh", S_REMOTE },
	{ "qemu+libssh2", S_REMOTE },
	{ "qemu+tcp", S_REMOTE },
	{ "qemu+tls", S_REMOTE },
	{ "qemu+unix", S_UNIX },
	{ "sim", S_SIM },
	{ "test", S_TEST },
};

#define FROM_CONFIG "how NovaCron reaches a host (ssh keys, known_hosts, sockets, programs, TLS " \
	"files, other libvirt parameters) comes from the operator's connections config, " \
	"not from the spec (docs/operations.md)"

/* a DNS name (labels of letters, digits and '-', not at either end) or an IPv4 address */
static int check_hostname(const char *h, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return -1;
	for (i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0 || h[i - 1] == '-')
				return -1;
			label = 0;
		} else if (is_alnum(h[i]) || (h[i] == '-' && label > 0)) {
			if (++label > 63)
				return -1;
		} else {
			return -1;
		}
	}
	return label == 0 || h[n - 1] == '-' ? -1 : 0;
}

static int check_authority(const char *a, size_t n, const char **why)
{
	const char *at = memchr(a, '@', n), *host, *end = a + n, *port = NULL;
	size_t i;

	if (at) {
		size_t un = (size_t)(at - a);

		if (memchr(a, ':', un)) {
			*why = "a password in the URI is not allowed: credentials come from the operator's "
			       "connections config (docs/operations.md)";
			return -1;
		}
		if (un == 0 || un > 32 || a[0] == '-' || a[0] == '.' || memmem(a, un, "..", 2)) {
			*why = "the user name must be 1 to 32 letters, digits, '.', '_' or '-', "
			       "not starting with '-' or '.'";
			return -1;
		}
		for (i = 0; i < un; i++) {
			if (!is_alnum(a[i]) && a[i] != '.' && a[i] != '_' && a[i] != '-') {
				*why = "the user name must be 1 to 32 letters, digits, '.', '_' or '-', "
				       "not starting with '-' or '.'";
				return -1;
			}
		}
		host = at + 1;
	} else {
		host = a;
	}
	if (memchr(host, '@', (size_t)(end - host))) {
		*why = "more than one '@' in the host part";
		return -1;
	}
	if (host < end && *host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));
		char v6[64];
		unsigned char bin[16];
		size_t vn;

		if (!rb || (vn = (size_t)(rb - host - 1)) == 0 || vn >= sizeof(v6)) {
			*why = "expected an IPv6 address in brackets, e.g. [fd00::1]";
			return -1;
		}
		memcpy(v6, host + 1, vn);
		v6[vn] = '\0';
		for (i = 0; i < vn; i++) {
			if (!is_alnum(v6[i]) && v6[i] != ':' && v6[i] != '.') {
				*why = "expected an IPv6 address in brackets, e.g. [fd00::1] (no zone index)";
				return -1;
			}
		}
		if (inet_pton(AF_INET6, v6, bin) != 1) {
			*why = "expected an IPv6 address in brackets, e.g. [fd00::1]";
			return -1;
		}
		if (rb + 1 < end && rb[1] != ':') {
			*why = "unexpected characters after the IPv6 address";
			return -1;
		}
		if (rb + 1 < end)
			port = rb + 2;
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));
		const char *hend = colon ? colon : end;

		if (check_hostname(host, (size_t)(hend - host)) < 0) {
			*why = "the host must be a DNS name (letters, digits, '-' and '.'), an IPv4 address "
			       "or an IPv6 address in brackets, optionally with USER@ before and :PORT after";
			return -1;
		}
		if (colon)
			port = colon + 1;
	}
	if (port) {
		unsigned long v = 0;
		const char *p;

		if (port == end || end - port > 5) {
			*why = "the port must be a number from 1 to 65535";
			return -1;
		}
		for (p = port; p < end; p++) {
			if (!is_digit(*p)) {
				*why = "the port must be a number from 1 to 65535";
				return -1;
			}
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v == 0 || v > 65535) {
			*why = "the port must be a number from 1 to 65535";
			return -1;
		}
	}
	return 0;
}

static int check_sim_name(const char *s, size_t n, const char **why)
{
	size_t i;

	*why = "a simulated host is sim:///NAME with NAME 1 to 63 lower-case letters, digits or '-', "
	       "starting and ending with a letter or digit";
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return -1;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit(s[i]) || s[i] == '-'))
			return -1;
	return 0;
}

/* one "key=value" of the query; seen: a bit per allowed key, to refuse repeats */
static int check_param(enum scheme_kind k, const char *item, size_t n, unsigned *seen,
		       const char **why)
{
	const char *eq = memchr(item, '=', n);
	size_t kn = eq ? (size_t)(eq - item) : n, vn = eq ? n - kn - 1 : 0, i;
	const char *v = eq ? eq + 1 : "";
	unsigned bit;

	if (n == 0) {
		*why = "an empty query parameter ('&&', '?&' or a trailing '&')";
		return -1;
	}
	if (k == S_SIM && kn == 4 && memcmp(item, "cpus", 4) == 0) {
		unsigned long x = 0;

		bit = 1;
		*why = "cpus must be a number from 1 to 65536";
		if (vn == 0 || vn > 5 || v[0] == '0')
			return -1;
		for (i = 0; i < vn; i++) {
			if (!is_digit(v[i]))
				return -1;
			x = x * 10 + (unsigned long)(v[i] - '0');
		}
		if (x > 65536)
			return -1;
	} else if (k == S_SIM && kn == 6 && memcmp(item, "memory", 6) == 0) {
		char val[32];
		uint64_t bytes;
		const char *e;

		bit = 2;
		*why = "memory must be a size of at least 1MiB, e.g. memory=64GiB";
		if (vn == 0 || vn >= sizeof(val))
			return -1;
		for (i = 0; i < vn; i++)
			if (!is_alnum(v[i]))
				return -1;
		memcpy(val, v, vn);
		val[vn] = '\0';
		if (nc_size_parse(val, &bytes, &e) < 0 || bytes < (1ULL << 20))
			return -1;
	} else if ((k == S_LOCAL || k == S_REMOTE || k == S_UNIX) && kn == 6 &&
		   memcmp(item, "no_tty", 6) == 0) {
		bit = 4;
		*why = "no_tty must be 0 or 1";
		if (vn != 1 || (v[0] != '0' && v[0] != '1'))
			return -1;
	} else if (k == S_SIM) {
		*why = say("query parameter '%.*s' is not allowed: a sim:/// URI takes only cpus=N and "
			   "memory=SIZE", CAP(kn), item);
		return -1;
	} else {
		*why = say("query parameter '%.*s' is not allowed in a spec: " FROM_CONFIG
			   "; a spec may give only no_tty", CAP(kn), item);
		return -1;
	}
	if (*seen & bit) {
		*why = say("query parameter '%.*s' is given twice", CAP(kn), item);
		return -1;
	}
	*seen |= bit;
	return 0;
}

int nc_host_uri_check(const char *uri, const char **why)
{
	const char *p, *rest, *slash, *q, *auth_end;
	const char *path, *query = NULL;
	size_t n = strlen(uri), sl, pn, i;
	enum scheme_kind k = S_LOCAL;
	unsigned seen = 0;

	*why = "expected a URI such as qemu+ssh://root@kvm1/system, qemu:///system or sim:///kvm1";
	if (n > URI_MAX) {
		*why = "a host URI is at most 1024 characters";
		return -1;
	}
	for (p = uri; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f) {
			*why = "control characters, spaces and non-ASCII bytes are not allowed in a host URI";
			return -1;
		}
		if (c == '%') {
			*why = "percent-escapes are not allowed in a host URI: write the characters themselves";
			return -1;
		}
		if (c == '#') {
			*why = "a fragment ('#') is not allowed in a host URI";
			return -1;
		}
	}
	sl = nc_uri_scheme_len(uri);
	if (!sl)
		return -1;
	for (i = 0; i < NC_ARRAY_SIZE(schemes); i++)
		if (strlen(schemes[i].name) == sl && memcmp(schemes[i].name, uri, sl) == 0)
			break;
	if (i == NC_ARRAY_SIZE(schemes)) {
		*why = say("unsupported scheme '%.*s': a spec may use qemu, qemu+ssh, qemu+tcp, qemu+tls, "
			   "qemu+libssh, qemu+libssh2, qemu+unix, sim or test:///default", CAP(sl), uri);
		return -1;
	}
	k = schemes[i].kind;
	if (k == S_TEST) {
		if (strcmp(uri, "test:///default") != 0) {
			*why = "the test driver is allowed only as test:///default: any other test: URI makes "
			       "libvirt read a local file (the operator's connections config may name one)";
			return -1;
		}
		return 0;
	}
	rest = uri + sl + 3;
	q = strchr(rest, '?');
	if (q && strchr(q + 1, '?')) {
		*why = "more than one '?' in a host URI";
		return -1;
	}
	slash = strchr(rest, '/');
	if (slash && q && slash > q)
		slash = NULL;
	auth_end = slash ? slash : (q ? q : rest + strlen(rest));
	path = slash ? slash : auth_end;
	pn = (size_t)((q ? q : uri + n) - path);
	if (q)
		query = q + 1;

	/* authority */
	if (auth_end > rest) {
		if (k == S_SIM || k == S_UNIX) {
			*why = k == S_SIM ? "a simulated host has no host part: sim:///NAME"
					  : "qemu+unix names no host: qemu+unix:///system (the socket comes "
					    "from the operator's connections config)";
			return -1;
		}
		if (check_authority(rest, (size_t)(auth_end - rest), why) < 0)
			return -1;
	} else if (k == S_REMOTE) {
		*why = say("%.*s needs a host, e.g. qemu+ssh://root@kvm1/system", CAP(sl), uri);
		return -1;
	}

	/* path */
	if (k == S_SIM) {
		if (pn < 1 || path[0] != '/' || check_sim_name(path + 1, pn - 1, why) < 0)
			return -1;
	} else if (!((pn == 7 && memcmp(path, "/system", 7) == 0) ||
		     (pn == 8 && memcmp(path, "/session", 8) == 0))) {
		*why = "the path of a qemu URI must be /system or /session";
		return -1;
	}

	/* query */
	if (query) {
		const char *item = query;

		for (;;) {
			const char *amp = strchr(item, '&');
			size_t in = amp ? (size_t)(amp - item) : strlen(item);

			for (i = 0; i < in; i++) {
				if (!is_alnum(item[i]) && item[i] != '_' && item[i] != '=' && item[i] != '-' &&
				    item[i] != '.') {
					/* ';' (a second separator to libvirt), '/', '+', ... */
					const char *eq = memchr(item, '=', in);

					if (eq && item + i > eq && check_param(k, item, (size_t)(eq - item), &seen, why) < 0)
						return -1;
					*why = say("unexpected character in query parameter '%.*s'", CAP(in), item);
					return -1;
				}
			}
			if (check_param(k, item, in, &seen, why) < 0)
				return -1;
			if (!amp)
				break;
			item = amp + 1;
		}
	}
	return 0;
}
