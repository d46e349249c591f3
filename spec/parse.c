/*
 * parse.c - files -> YAML trees -> typed objects, driven by the schema tables.
 *
 * Stage one of loading (then resolve.c, then validate.c).  Every problem is
 * reported with its position and conversion goes on, so one run shows them
 * all.
 */
#include "internal.h"
#include "ipaddr.h"
#include "uri.h"
#include "walk.h"
#include "yaml.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NC_DEFAULT_MAX_FILE (32u * 1024 * 1024)

struct kept {
	const char *s;        /* in the spec's arena */
	size_t len;
	uint64_t hash;
};

struct conv {
	struct nc_spec *spec;
	struct nc_diags *diags;
	size_t budget;        /* values left to convert (alias bombs) */
	bool exhausted;
	size_t cap[NC_KIND__COUNT];
	struct kept *kept;    /* keep(): open addressing, alloc a power of two */
	size_t nkept, kept_alloc;
};

/* ---- message helpers ---- */

const char *nc_spec_quote(struct nc_spec *spec, const char *s)
{
	struct nc_buf b = NC_BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	const char *r;

	for (; *p; p++, n++) {
		if (n >= 64) {
			nc_buf_adds(&b, "...");
			break;
		}
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			nc_buf_addf(&b, "\\x%02x", *p);
		else
			nc_buf_addc(&b, (char)*p);
	}
	r = nc_arena_strndup(&spec->arena, b.buf, b.len);
	nc_buf_release(&b);
	return r;
}

const char *nc_spec_suggest(struct nc_spec *spec, const char *word,
			    const char *const *candidates, size_t n)
{
	size_t i, len = strlen(word);
	unsigned best = ~0u, max = len < 4 ? 1 : len < 8 ? 2 : 3, d;
	const char *pick = NULL;

	for (i = 0; i < n; i++) {
		if (strcasecmp(word, candidates[i]) == 0) {
			pick = candidates[i];
			break;
		}
		d = nc_edit_distance(word, candidates[i], max);
		if (d <= max && d < best) {
			best = d;
			pick = candidates[i];
		}
	}
	if (!pick)
		return "";
	{
		char *s = nc_xasprintf("; did you mean '%s'?", pick);
		const char *r = nc_arena_strdup(&spec->arena, s);

		free(s);
		return r;
	}
}

size_t nc_field_size(const struct nc_field *f)
{
	switch (f->type) {
	case NC_F_STR: return sizeof(struct nc_str);
	case NC_F_INT: return sizeof(struct nc_int);
	case NC_F_SIZE: return sizeof(struct nc_size);
	case NC_F_BOOL: return sizeof(struct nc_bool);
	case NC_F_NUM: return sizeof(struct nc_num);
	case NC_F_ENUM: return sizeof(struct nc_enum);
	case NC_F_MAP: return sizeof(struct nc_map);
	case NC_F_STRLIST: return sizeof(struct nc_strlist);
	case NC_F_STRUCT: return f->sub->size;
	case NC_F_LIST: return sizeof(struct nc_list);
	case NC_F_CRON: return sizeof(struct nc_cronval);
	case NC_F_DURATION: return sizeof(struct nc_duration);
	}
	return 0;
}

/* ---- sizes ---- */

static const struct unit {
	const char *name;
	uint64_t mult;
} units[] = {
	{ "B", 1 },
	{ "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 }, { "GiB", 1ULL << 30 },
	{ "TiB", 1ULL << 40 }, { "PiB", 1ULL << 50 },
	{ "Ki", 1ULL << 10 }, { "Mi", 1ULL << 20 }, { "Gi", 1ULL << 30 },
	{ "Ti", 1ULL << 40 }, { "Pi", 1ULL << 50 },
	{ "KB", 1000ULL }, { "MB", 1000000ULL }, { "GB", 1000000000ULL },
	{ "TB", 1000000000000ULL }, { "PB", 1000000000000000ULL },
};

int nc_size_parse(const char *s, uint64_t *out, const char **err)
{
	const char *p = s;
	uint64_t v = 0, mult = 1;
	size_t i;

	while (*p == ' ')
		p++;
	if (*p == '-') {
		*err = "sizes cannot be negative";
		return -1;
	}
	if (*p < '0' || *p > '9') {
		*err = "expected a whole number with a unit, e.g. 4GiB or 512MiB";
		return -1;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10) {
			*err = "too large";
			return -1;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		*err = "sizes are whole numbers: use a smaller unit, e.g. 1536MiB for 1.5GiB";
		return -1;
	}
	while (*p == ' ')
		p++;
	if (*p) {
		for (i = 0; i < NC_ARRAY_SIZE(units); i++)
			if (strcmp(p, units[i].name) == 0)
				break;
		if (i == NC_ARRAY_SIZE(units)) {
			*err = "unknown unit (use B, KiB, MiB, GiB, TiB, PiB, Ki, Mi, Gi, Ti, Pi, or KB, MB, GB, TB, PB)";
			return -1;
		}
		mult = units[i].mult;
	}
	if (v && mult > UINT64_MAX / v) {
		*err = "too large";
		return -1;
	}
	*out = v * mult;
	return 0;
}

int nc_duration_parse(const char *s, uint64_t *out, const char **err)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} dunits[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 } };
	uint64_t v = 0;
	size_t i;

	*err = "expected a whole number with a unit: ms, s, m, h or d (e.g. 300ms, 30s, 10m, 1d)";
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > UINT64_MAX / 10 - 9)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	for (i = 0; i < NC_ARRAY_SIZE(dunits); i++) {
		if (strcmp(s, dunits[i].name) == 0) {
			if (v > UINT64_MAX / dunits[i].ms)
				return -1;
			*out = v * dunits[i].ms;
			return 0;
		}
	}
	return -1;
}

void nc_size_format(uint64_t v, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t i = 0;

	while (i + 1 < NC_ARRAY_SIZE(names) && v && v % 1024 == 0) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)v, names[i]);
}

/* ---- string checks ---- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int check_name(const char *s, const char **why)
{
	size_t i, n = strlen(s);

	*why = "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit";
	if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return -1;
	for (i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return -1;
	return 0;
}

bool nc_name_ok(const char *s)
{
	const char *why;

	return check_name(s, &why) == 0;
}

static int check_label_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return -1;
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return -1;
	return 0;
}

int nc_check_label_key(const char *s, const char **why)
{
	const char *slash = strchr(s, '/');
	size_t i;

	if (slash) {
		size_t plen = (size_t)(slash - s);

		*why = "the prefix before '/' must be a DNS subdomain (lower-case letters, digits, '-' and '.'; at most 253)";
		if (plen == 0 || plen > 253 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[plen - 1]))
			return -1;
		for (i = 0; i < plen; i++) {
			if (!is_lower_alnum(s[i]) && s[i] != '-' && s[i] != '.')
				return -1;
			/* each dot-separated label starts and ends with a letter or digit */
			if (s[i] == '.' && (!is_lower_alnum(s[i - 1]) || !is_lower_alnum(s[i + 1])))
				return -1;
		}
		s = slash + 1;
	}
	*why = "the name must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
	return check_label_name(s, strlen(s));
}

int nc_check_label_value(const char *s, const char **why)
{
	size_t n = strlen(s);

	*why = "values are empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
	return n == 0 ? 0 : check_label_name(s, n);
}

static bool has_ctl_or_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int check_string(enum nc_fcheck chk, const char *s, const char **why)
{
	const char *p;

	switch (chk) {
	case NC_CHK_NAME:
		return check_name(s, why);
	case NC_CHK_LABEL_KEY:
		return nc_check_label_key(s, why);
	case NC_CHK_LABEL_VALUE:
		return nc_check_label_value(s, why);
	case NC_CHK_URI:
		return nc_host_uri_check(s, why);   /* spec/uri.h: the strict allow-list */
	case NC_CHK_HTTP_URL:
		*why = "expected an http:// or https:// URL";
		if (has_ctl_or_space(s))
			return -1;
		if (strncmp(s, "http://", 7) == 0)
			p = s + 7;
		else if (strncmp(s, "https://", 8) == 0)
			p = s + 8;
		else
			return -1;
		return *p && *p != '/' ? 0 : -1;
	case NC_CHK_ABS_PATH:
		*why = "expected an absolute path without '..' components or control characters";
		if (s[0] != '/')
			return -1;
		for (p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f ||
			    (p[0] == '.' && p[1] == '.' && p[-1] == '/' && (p[2] == '/' || !p[2])))
				return -1;
		return 0;
	case NC_CHK_IMAGE:
		/* the name of an Image (checked as a reference by validate), or a path */
		if (s[0] == '/')
			return check_string(NC_CHK_ABS_PATH, s, why);
		*why = "expected the name of an Image (kind: Image) or an absolute path";
		if (!*s || strchr(s, '/'))
			return -1;
		for (p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -1;
		return 0;
	case NC_CHK_FILE_NAME:
		*why = "expected a file name without '/', not starting with '.', of printable characters";
		if (!*s || s[0] == '.' || strchr(s, '/') || strlen(s) > 255)
			return -1;
		for (p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -1;
		return 0;
	case NC_CHK_SHA256:
		*why = "expected a SHA-256 as 64 lower-case hex digits";
		for (p = s; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
				return -1;
		return p - s == 64 ? 0 : -1;
	case NC_CHK_CIDR:
	case NC_CHK_CIDR4:
	case NC_CHK_CIDR6: {
		struct nc_cidr c;

		if (nc_cidr_parse(&c, s, why) < 0)
			return -1;
		if (chk == NC_CHK_CIDR4 && c.ip.family != 4) {
			*why = "expected an IPv4 range such as 192.168.122.0/24 (IPv6 ranges go in subnet6)";
			return -1;
		}
		if (chk == NC_CHK_CIDR6 && c.ip.family != 6) {
			*why = "expected an IPv6 range such as fd00:1::/64";
			return -1;
		}
		return 0;
	}
	case NC_CHK_IPV4: {
		struct nc_ip ip;

		*why = "expected an IPv4 address such as 192.168.122.10";
		return nc_ip_parse(&ip, s) < 0 || ip.family != 4 ? -1 : 0;
	}
	case NC_CHK_MAC: {
		size_t i;
		unsigned first;

		*why = "expected six hex pairs separated by ':', e.g. 52:54:00:12:34:56";
		if (strlen(s) != 17)
			return -1;
		for (i = 0; i < 17; i++) {
			if (i % 3 == 2) {
				if (s[i] != ':')
					return -1;
			} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
				     (s[i] >= 'A' && s[i] <= 'F'))) {
				return -1;
			}
		}
		first = (unsigned)strtoul(s, NULL, 16);
		if (first & 1) {
			*why = "a multicast address cannot be a NIC's address (the first byte must be even)";
			return -1;
		}
		return 0;
	}
	case NC_CHK_IFNAME:
		/* it reaches libvirt XML, the kernel and iptables rules on the host */
		*why = "interface names are 1 to 15 of A-Z a-z 0-9 '_' '.' '-', not starting with '-' or '.'";
		if (!*s || strlen(s) > 15 || s[0] == '-' || s[0] == '.')
			return -1;
		for (p = s; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			      *p == '_' || *p == '.' || *p == '-'))
				return -1;
		return 0;
	case NC_CHK_CEPH_NAME:
		/* it reaches librados, QEMU's rbd options, keyring sections and plans */
		*why = "Ceph pool and user names are 1 to 127 of A-Z a-z 0-9 '_' '.' '-', not starting with '-'";
		if (!*s || strlen(s) > 127 || s[0] == '-')
			return -1;
		for (p = s; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			      *p == '_' || *p == '.' || *p == '-'))
				return -1;
		return 0;
	case NC_CHK_MACHINE:
		/* shown in plans: an escape sequence or a line break would write to the terminal */
		*why = "machine types are 1 to 63 of A-Z a-z 0-9 '_' '.' '-', such as q35 or pc-i440fx-7.2";
		if (!*s || strlen(s) > 63 || s[0] == '-')
			return -1;
		for (p = s; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			      *p == '_' || *p == '.' || *p == '-'))
				return -1;
		return 0;
	case NC_CHK_PRINTABLE:
		*why = "control characters (line breaks, escape sequences) are not allowed";
		for (p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -1;
		return 0;
	case NC_CHK_ALERT_TEMPLATE: {
		char buf[200];
		size_t off;
		int r = nc_alert_template_check(s, &off, why, buf, sizeof(buf));

		if (r < 0)
			*why = "an AlertRule summary with unknown placeholders or control characters";
		return r;
	}
	case NC_CHK_HOSTNAME:
		return nc_check_hostname(s, why);
	case NC_CHK_NONE:
	case NC_CHK_LABELS:
		return 0;
	}
	return 0;
}

/* ---- conversion ---- */

static void kept_grow(struct conv *c)
{
	struct kept *old = c->kept;
	size_t i, j, oalloc = c->kept_alloc;

	c->kept_alloc = oalloc ? oalloc * 2 : 1024;
	c->kept = nc_xcalloc(c->kept_alloc, sizeof(*c->kept));
	for (i = 0; i < oalloc; i++) {
		if (!old[i].s)
			continue;
		for (j = old[i].hash & (c->kept_alloc - 1); c->kept[j].s;
		     j = (j + 1) & (c->kept_alloc - 1))
			;
		c->kept[j] = old[i];
	}
	free(old);
}

/*
 * The model keeps this scalar: copy it out of the file's node tree, which is
 * released as soon as the file is converted.  Equal strings share one copy:
 * label keys and values, references and enum-like values repeat across
 * thousands of objects.
 */
static const char *keep(struct conv *c, const struct nc_ynode *n)
{
	uint64_t h = 14695981039346656037ULL;    /* FNV-1a */
	size_t i, mask;

	for (i = 0; i < n->len; i++)
		h = (h ^ (unsigned char)n->s[i]) * 1099511628211ULL;
	if (2 * (c->nkept + 1) > c->kept_alloc)
		kept_grow(c);
	mask = c->kept_alloc - 1;
	for (i = h & mask; c->kept[i].s; i = (i + 1) & mask)
		if (c->kept[i].hash == h && c->kept[i].len == n->len &&
		    memcmp(c->kept[i].s, n->s, n->len) == 0)
			return c->kept[i].s;
	c->kept[i].s = nc_arena_strndup(&c->spec->arena, n->s, n->len);
	c->kept[i].len = n->len;
	c->kept[i].hash = h;
	c->nkept++;
	return c->kept[i].s;
}

static bool spend(struct conv *c, const struct nc_ynode *n)
{
	if (c->exhausted)
		return false;
	if (c->budget == 0) {
		c->exhausted = true;
		nc_diag_error(c->diags, n->pos,
			      "document too complex: aliases expand to too many values");
		return false;
	}
	c->budget--;
	return true;
}

static void type_error(struct conv *c, const struct nc_ynode *n, const char *want,
		       const char *key)
{
	if (n->kind == NC_Y_SCALAR && !nc_ynode_is_null(n))
		nc_diag_error(c->diags, n->pos, "expected %s for '%s', found %s '%s'", want, key,
			      nc_ynode_describe(n), nc_spec_quote(c->spec, n->s));
	else
		nc_diag_error(c->diags, n->pos, "expected %s for '%s', found %s", want, key,
			      nc_ynode_describe(n));
}

static bool scalar_ok(struct conv *c, const struct nc_ynode *n, const char *want,
		      const char *key)
{
	if (n->kind != NC_Y_SCALAR) {
		type_error(c, n, want, key);
		return false;
	}
	if (strlen(n->s) != n->len) {
		nc_diag_error(c->diags, n->pos, "'%s' contains a NUL character", key);
		return false;
	}
	return true;
}

static bool parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno)
		return false;
	*out = v;
	return true;
}

static void conv_struct(struct conv *c, const struct nc_schema *s, void *base,
			const struct nc_ynode *map, const char *key);

static int kv_cmp(const void *pa, const void *pb)
{
	const struct nc_kv *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	return a->pos.col < b->pos.col ? -1 : a->pos.col > b->pos.col;
}

static void conv_map(struct conv *c, const struct nc_field *f, struct nc_map *out,
		     const struct nc_ynode *n)
{
	size_t i;
	const char *why;

	if (n->kind != NC_Y_MAP) {
		type_error(c, n, "a mapping of strings", f->key);
		return;
	}
	out->pos = n->pos;
	out->v = nc_arena_alloc(&c->spec->arena, (n->n ? n->n : 1) * sizeof(*out->v));
	out->n = 0;
	for (i = 0; i < n->n; i++) {
		const struct nc_ynode *k = n->items[2 * i], *v = n->items[2 * i + 1];
		struct nc_kv *kv;

		if (!spend(c, k))
			return;
		if (!scalar_ok(c, k, "a string key", f->key))
			continue;
		if (v->kind != NC_Y_SCALAR) {
			nc_diag_error(c->diags, v->pos, "expected a string value for '%s' in '%s', found %s",
				      nc_spec_quote(c->spec, k->s), f->key, nc_ynode_describe(v));
			continue;
		}
		if (f->check == NC_CHK_LABELS) {
			if (nc_check_label_key(k->s, &why) < 0) {
				nc_diag_error(c->diags, k->pos, "invalid label key '%s': %s",
					      nc_spec_quote(c->spec, k->s), why);
				continue;
			}
			if (nc_check_label_value(nc_ynode_is_null(v) ? "" : v->s, &why) < 0) {
				nc_diag_error(c->diags, v->pos, "invalid value '%s' for label '%s': %s",
					      nc_spec_quote(c->spec, v->s), k->s, why);
				continue;
			}
		}
		kv = &out->v[out->n++];
		kv->pos = k->pos;
		kv->key = keep(c, k);
		kv->value = nc_ynode_is_null(v) ? "" : keep(c, v);
	}
	/* sorted by key (then position) for lookups; maps can be large */
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), kv_cmp);
}

static void conv_value(struct conv *c, const struct nc_field *f, void *p,
		       const struct nc_ynode *n)
{
	const char *why;
	size_t i;

	if (!spend(c, n))
		return;
	switch (f->type) {
	case NC_F_STR: {
		struct nc_str *v = p;

		if (!scalar_ok(c, n, "a string", f->key))
			return;
		if (n->len == 0) {
			nc_diag_error(c->diags, n->pos, "'%s' must not be empty", f->key);
			return;
		}
		if (f->check == NC_CHK_ALERT_TEMPLATE) {
			char buf[200];
			size_t off;
			struct nc_pos pos = n->pos;

			if (nc_alert_template_check(n->s, &off, &why, buf, sizeof(buf)) < 0) {
				/* point into the template when it is written on one line */
				if (!strchr(n->s, '\n') && (n->plain || !strpbrk(n->s, "\"'\\")))
					pos.col += (uint32_t)off + (n->plain ? 0 : 1);
				nc_diag_error(c->diags, pos, "invalid %s '%s': %s", f->key,
					      nc_spec_quote(c->spec, n->s), why);
			}
		} else if (f->check != NC_CHK_NONE && check_string(f->check, n->s, &why) < 0) {
			nc_diag_error(c->diags, n->pos, "invalid %s '%s': %s",
				      f->check == NC_CHK_NAME ? "name" : f->key,
				      nc_spec_quote(c->spec, n->s), why);
			/* the value is kept: the spec is invalid anyway, and
			 * keeping it spares follow-on errors ("missing path") */
		}
		v->pos = n->pos;
		v->v = keep(c, n);
		return;
	}
	case NC_F_INT: {
		struct nc_int *v = p;
		int64_t x;

		if (n->kind != NC_Y_SCALAR || !n->plain || !parse_int(n->s, &x)) {
			type_error(c, n, "an integer", f->key);
			return;
		}
		if (x < f->min) {
			nc_diag_error(c->diags, n->pos, "'%s' must be at least %lld, found %lld",
				      f->key, (long long)f->min, (long long)x);
			return;
		}
		if (x > f->max) {
			nc_diag_error(c->diags, n->pos, "'%s' must be at most %lld, found %lld",
				      f->key, (long long)f->max, (long long)x);
			return;
		}
		v->pos = n->pos;
		v->v = x;
		return;
	}
	case NC_F_SIZE: {
		struct nc_size *v = p;
		uint64_t x;
		char min[32];

		if (!scalar_ok(c, n, "a size such as 4GiB", f->key))
			return;
		if (nc_size_parse(n->s, &x, &why) < 0) {
			nc_diag_error(c->diags, n->pos, "invalid size '%s' for '%s': %s",
				      nc_spec_quote(c->spec, n->s), f->key, why);
			return;
		}
		if (x < (uint64_t)f->min) {
			nc_size_format((uint64_t)f->min, min, sizeof(min));
			nc_diag_error(c->diags, n->pos, "'%s' must be at least %s, found %s",
				      f->key, min, nc_spec_quote(c->spec, n->s));
			return;
		}
		v->pos = n->pos;
		v->v = x;
		return;
	}
	case NC_F_BOOL: {
		struct nc_bool *v = p;

		if (n->kind == NC_Y_SCALAR && n->plain &&
		    (!strcmp(n->s, "true") || !strcmp(n->s, "True") || !strcmp(n->s, "TRUE"))) {
			v->v = true;
		} else if (n->kind == NC_Y_SCALAR && n->plain &&
			   (!strcmp(n->s, "false") || !strcmp(n->s, "False") || !strcmp(n->s, "FALSE"))) {
			v->v = false;
		} else {
			type_error(c, n, "true or false", f->key);
			return;
		}
		v->pos = n->pos;
		return;
	}
	case NC_F_NUM: {
		struct nc_num *v = p;
		char *end;
		double x;

		if (n->kind != NC_Y_SCALAR || !n->plain || !*n->s) {
			type_error(c, n, "a number", f->key);
			return;
		}
		x = strtod(n->s, &end);
		if (*end || !isfinite(x) || strspn(n->s, "0123456789.eE+-") != n->len) {
			type_error(c, n, "a number", f->key);
			return;
		}
		if (x < f->min_f || x > f->max_f) {
			nc_diag_error(c->diags, n->pos, "'%s' must be between %g and %g, found %s",
				      f->key, f->min_f, f->max_f, n->s);
			return;
		}
		v->pos = n->pos;
		v->v = x;
		return;
	}
	case NC_F_ENUM: {
		struct nc_enum *v = p;
		struct nc_buf list = NC_BUF_INIT;
		size_t nv;
		const char *sugg;

		if (!scalar_ok(c, n, "a string", f->key))
			return;
		for (nv = 0; f->values[nv]; nv++) {
			if (strcmp(f->values[nv], n->s) == 0) {
				v->pos = n->pos;
				v->v = (int)nv;
				return;
			}
		}
		sugg = nc_spec_suggest(c->spec, n->s, f->values, nv);
		if (*sugg) {
			nc_diag_error(c->diags, n->pos, "invalid value '%s' for '%s'%s",
				      nc_spec_quote(c->spec, n->s), f->key, sugg);
			return;
		}
		for (i = 0; i < nv; i++)
			nc_buf_addf(&list, "%s%s", i == 0 ? "" : i + 1 == nv ? " or " : ", ",
				    f->values[i]);
		nc_diag_error(c->diags, n->pos, "invalid value '%s' for '%s' (expected %s)",
			      nc_spec_quote(c->spec, n->s), f->key, list.buf);
		nc_buf_release(&list);
		return;
	}
	case NC_F_MAP:
		conv_map(c, f, p, n);
		return;
	case NC_F_STRLIST: {
		struct nc_strlist *v = p;

		if (n->kind != NC_Y_SEQ) {
			type_error(c, n, "a list of strings", f->key);
			return;
		}
		v->pos = n->pos;
		v->v = nc_arena_alloc(&c->spec->arena, (n->n ? n->n : 1) * sizeof(*v->v));
		v->n = 0;
		for (i = 0; i < n->n; i++) {
			const struct nc_ynode *it = n->items[i];

			if (!spend(c, it))
				return;
			if (!scalar_ok(c, it, "a string", f->key))
				continue;
			if (f->check != NC_CHK_NONE && check_string(f->check, it->s, &why) < 0) {
				nc_diag_error(c->diags, it->pos, "invalid value '%s' in '%s': %s",
					      nc_spec_quote(c->spec, it->s), f->key, why);
				/* kept, as for single strings */
			}
			v->v[v->n].pos = it->pos;
			v->v[v->n].v = keep(c, it);
			v->n++;
		}
		return;
	}
	case NC_F_STRUCT:
		conv_struct(c, f->sub, p, n, f->key);
		return;
	case NC_F_LIST: {
		struct nc_list *v = p;
		const struct nc_field *kf = NULL;

		if (n->kind != NC_Y_SEQ) {
			type_error(c, n, "a list", f->key);
			return;
		}
		for (i = 0; i < f->sub->nfields; i++)
			if (f->sub->fields[i].merge_key)
				kf = &f->sub->fields[i];
		v->pos = n->pos;
		v->v = nc_arena_alloc(&c->spec->arena, (n->n ? n->n : 1) * f->sub->size);
		v->n = 0;
		for (i = 0; i < n->n; i++) {
			char *elem = (char *)v->v + v->n * f->sub->size;
			size_t j;

			if (!spend(c, n->items[i]))
				return;
			if (n->items[i]->kind != NC_Y_MAP) {
				type_error(c, n->items[i], "a mapping", f->key);
				continue;
			}
			/* the slot may hold an item dropped below: start clean */
			memset(elem, 0, f->sub->size);
			conv_struct(c, f->sub, elem, n->items[i], f->key);
			if (kf) {
				const struct nc_str *k = (const struct nc_str *)(elem + kf->off);

				if (!NC_IS_SET(*k))
					continue;
				for (j = 0; j < v->n; j++) {
					const struct nc_str *o = (const struct nc_str *)
						((char *)v->v + j * f->sub->size + kf->off);

					if (NC_IS_SET(*o) && strcmp(o->v, k->v) == 0) {
						nc_diag_error(c->diags, k->pos,
							      "duplicate %s name '%s' (first at line %u, column %u)",
							      f->sub->name, k->v, o->pos.line, o->pos.col);
						break;
					}
				}
				if (j < v->n)
					continue;
			}
			v->n++;
		}
		return;
	}
	case NC_F_DURATION: {
		struct nc_duration *v = p;
		uint64_t ms;

		if (!scalar_ok(c, n, "a duration such as 30s", f->key))
			return;
		if (nc_duration_parse(n->s, &ms, &why) < 0) {
			nc_diag_error(c->diags, n->pos, "invalid duration '%s' for '%s': %s",
				      nc_spec_quote(c->spec, n->s), f->key, why);
			return;
		}
		if (ms < (uint64_t)f->min || ms > (uint64_t)f->max) {
			nc_diag_error(c->diags, n->pos, "'%s' must be between %lldms and %lldms, found %s",
				      f->key, (long long)f->min, (long long)f->max, n->s);
			return;
		}
		v->pos = n->pos;
		v->ms = ms;
		return;
	}
	case NC_F_CRON: {
		struct nc_cronval *v = p;
		char err[160];
		size_t off = 0;
		struct nc_pos pos;

		if (!scalar_ok(c, n, "a cron expression", f->key))
			return;
		if (nc_cron_parse(&v->cron, n->s, err, sizeof(err), &off) < 0) {
			pos = n->pos;
			/* point into the expression when it is written on one line */
			if (!strchr(n->s, '\n'))
				pos.col += (uint32_t)off + (n->plain ? 0 : 1);
			nc_diag_error(c->diags, pos, "invalid cron expression '%s': %s",
				      nc_spec_quote(c->spec, n->s), err);
			memset(&v->cron, 0, sizeof(v->cron));
			return;
		}
		v->pos = n->pos;
		v->v = keep(c, n);
		return;
	}
	}
}

/* True when the suggestion text ("; did you mean 'uri'?") names key. */
static bool suggests(const char *const *suggested, size_t n, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < n; i++) {
		const char *q = strchr(suggested[i], '\'');

		if (q && strncmp(q + 1, key, kl) == 0 && q[1 + kl] == '\'')
			return true;
	}
	return false;
}

static void conv_struct(struct conv *c, const struct nc_schema *s, void *base,
			const struct nc_ynode *map, const char *key)
{
	const char *suggested[8];
	size_t i, nsuggested = 0;

	if (map->kind != NC_Y_MAP) {
		type_error(c, map, "a mapping", key);
		return;
	}
	((struct nc_pos *)base)->file = map->pos.file;
	((struct nc_pos *)base)->line = map->pos.line;
	((struct nc_pos *)base)->col = map->pos.col;
	for (i = 0; i < map->n; i++) {
		const struct nc_ynode *k = map->items[2 * i], *v = map->items[2 * i + 1];
		const struct nc_field *f;

		if (!spend(c, k))
			return;
		if (k->kind != NC_Y_SCALAR) {
			nc_diag_error(c->diags, k->pos, "expected a string key in %s, found %s",
				      s->name, nc_ynode_describe(k));
			continue;
		}
		f = nc_schema_field(s, k->s);
		if (!f) {
			const char *keys[64];
			size_t j, nk = s->nfields < 64 ? s->nfields : 64;
			const char *sugg;

			for (j = 0; j < nk; j++)
				keys[j] = s->fields[j].key;
			sugg = nc_spec_suggest(c->spec, k->s, keys, nk);
			if (*sugg && nsuggested < NC_ARRAY_SIZE(suggested))
				suggested[nsuggested++] = sugg;
			if (*sugg) {
				nc_diag_error(c->diags, k->pos, "unknown key '%s' in %s%s",
					      nc_spec_quote(c->spec, k->s), s->name, sugg);
			} else {
				struct nc_buf list = NC_BUF_INIT;

				for (j = 0; j < nk; j++)
					nc_buf_addf(&list, "%s%s", j ? ", " : "", keys[j]);
				nc_diag_error(c->diags, k->pos, "unknown key '%s' in %s (valid keys: %s)",
					      nc_spec_quote(c->spec, k->s), s->name, list.buf);
				nc_buf_release(&list);
			}
			continue;
		}
		if (nc_ynode_is_null(v))
			continue;   /* "key:" with no value leaves it unset */
		conv_value(c, f, (char *)base + f->off, v);
	}
	for (i = 0; i < s->nfields; i++) {
		const struct nc_field *f = &s->fields[i];
		const struct nc_pos *p = (const struct nc_pos *)((const char *)base + f->off);

		if (f->required && p->line == 0 && !c->exhausted) {
			/* a value that was present but wrong was reported already */
			size_t j;
			bool present = false;

			for (j = 0; j < map->n; j++) {
				const struct nc_ynode *k = map->items[2 * j];

				if (k->kind == NC_Y_SCALAR && strcmp(k->s, f->key) == 0 &&
				    !nc_ynode_is_null(map->items[2 * j + 1]))
					present = true;
			}
			/* "url:" already drew "did you mean 'uri'?" */
			if (!present && !suggests(suggested, nsuggested, f->key))
				nc_diag_error(c->diags, map->pos, "missing required key '%s' in %s",
					      f->key, s->name);
		}
	}
}

static void add_object(struct conv *c, struct nc_object *obj)
{
	struct nc_spec *s = c->spec;
	enum nc_kind k = obj->kind;

	if (s->nobjs[k] == c->cap[k]) {
		c->cap[k] = c->cap[k] ? c->cap[k] * 2 : 16;
		s->objs[k] = nc_xreallocarray(s->objs[k], c->cap[k], sizeof(*s->objs[k]));
	}
	s->objs[k][s->nobjs[k]++] = obj;
}

static void load_doc(struct conv *c, const struct nc_ydoc *doc)
{
	const struct nc_ynode *root = doc->root, *kn, *av;
	const char *names[NC_KIND__COUNT];
	struct nc_object *obj;
	size_t i, before;
	int kind = -1;

	if (!root || nc_ynode_is_null(root))
		return;     /* empty document, e.g. a trailing '---' */
	if (root->kind != NC_Y_MAP) {
		nc_diag_error(c->diags, root->pos,
			      "expected a mapping with apiVersion, kind, metadata and spec, found %s",
			      nc_ynode_describe(root));
		return;
	}
	av = nc_ynode_get(root, "apiVersion");
	if (av && av->kind == NC_Y_SCALAR && strcmp(av->s, NC_API_VERSION) != 0)
		nc_diag_error(c->diags, av->pos, "unsupported apiVersion '%s' (expected '%s')",
			      nc_spec_quote(c->spec, av->s), NC_API_VERSION);
	kn = nc_ynode_get(root, "kind");
	if (!kn || nc_ynode_is_null(kn)) {
		nc_diag_error(c->diags, root->pos, "missing required key 'kind'");
		return;
	}
	if (kn->kind != NC_Y_SCALAR) {
		type_error(c, kn, "a string", "kind");
		return;
	}
	for (i = 0; i < NC_KIND__COUNT; i++) {
		names[i] = nc_kinds[i].name;
		if (strcmp(kn->s, names[i]) == 0)
			kind = (int)i;
	}
	if (kind < 0) {
		const char *sugg = nc_spec_suggest(c->spec, kn->s, names, NC_KIND__COUNT);

		if (*sugg)
			nc_diag_error(c->diags, kn->pos, "unknown kind '%s'%s",
				      nc_spec_quote(c->spec, kn->s), sugg);
		else {
			struct nc_buf list = NC_BUF_INIT;

			for (i = 0; i < NC_KIND__COUNT; i++)
				nc_buf_addf(&list, "%s%s", i == 0 ? "" : i + 1 == NC_KIND__COUNT ? " or " : ", ",
					    names[i]);
			nc_diag_error(c->diags, kn->pos, "unknown kind '%s' (expected %s)",
				      nc_spec_quote(c->spec, kn->s), list.buf);
			nc_buf_release(&list);
		}
		return;
	}
	obj = nc_arena_alloc(&c->spec->arena, nc_kinds[kind].size);
	obj->kind = (enum nc_kind)kind;
	before = c->diags->errors;
	conv_struct(c, nc_kinds[kind].root, obj, root, "document");
	obj->pos = doc->pos;
	/* whole-object checks would only repeat what was already said */
	obj->invalid = c->diags->errors > before;
	add_object(c, obj);
}

static void load_buffer(struct conv *c, const char *file, const char *buf, size_t len,
			const struct nc_load_opts *opts)
{
	struct nc_arena tree = { NULL, 0, 0 };
	struct nc_ydoc *docs = NULL;
	size_t ndocs = 0, i;
	struct nc_ylimits lim = { .max_depth = opts && opts->max_depth ? opts->max_depth : 64 };

	c->spec->nfiles++;
	/* the tree lives only while this file is converted (keep() copies the
	 * strings the model holds on to): memory stays that of one file's tree */
	nc_yaml_parse(&tree, file, buf, len, &lim, &docs, &ndocs, c->diags);
	c->spec->ndocs += ndocs;
	/* budget: each parsed node may be visited a few times through aliases */
	c->budget = 4 * (tree.total / sizeof(struct nc_ynode) + 1) + 100000;
	c->exhausted = false;
	for (i = 0; i < ndocs; i++)
		load_doc(c, &docs[i]);
	nc_arena_release(&tree);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct nc_spec *spec_new(void)
{
	return nc_xcalloc(1, sizeof(struct nc_spec));
}

static void finish(struct nc_spec *spec, struct nc_diags *diags)
{
	nc_spec_index(spec, diags);
	nc_spec_resolve(spec, diags);
	nc_spec_validate(spec, diags);
	nc_diags_sort(diags);
}

static void load_file(struct conv *c, const char *path, const struct nc_load_opts *opts)
{
	size_t limit = opts && opts->max_file_size ? opts->max_file_size : NC_DEFAULT_MAX_FILE;
	const char *file = nc_arena_strdup(&c->spec->arena, path);
	char *buf = NULL;
	size_t len = 0;
	int r = nc_read_file(path, limit, &buf, &len);

	if (r == -2) {
		nc_diag_error(c->diags, nc_pos_file(file),
			      "file too large (the limit is %zu MiB)", limit >> 20);
		return;
	}
	if (r < 0) {
		nc_diag_error(c->diags, nc_pos_file(file), "cannot read: %s",
			      strerror(errno));
		return;
	}
	load_buffer(c, file, buf, len, opts);
	free(buf);
}

int nc_spec_load(struct nc_spec **out, const char *const *paths, size_t npaths,
		 const struct nc_load_opts *opts, struct nc_diags *diags)
{
	struct nc_spec *spec = spec_new();
	struct conv c = { spec, diags, 0, false, { 0 }, NULL, 0, 0 };
	size_t errors = diags->errors, i, j;

	spec->roots = npaths ? nc_arena_alloc(&spec->arena, npaths * sizeof(*spec->roots)) : NULL;
	for (i = 0; i < npaths; i++) {
		struct nc_file_list fl = { NULL, 0, 0 };
		struct stat st;

		if (stat(paths[i], &st) < 0) {
			nc_diag_error(diags, nc_pos_file(paths[i]), "cannot open: %s",
				      strerror(errno));
			continue;
		}
		/* where each file's tenant path is measured from (spec/tenant.h) */
		spec->roots[spec->nroots].path = nc_arena_strdup(&spec->arena, paths[i]);
		spec->roots[spec->nroots++].dir = S_ISDIR(st.st_mode);
		if (!S_ISDIR(st.st_mode)) {
			load_file(&c, paths[i], opts);
			continue;
		}
		nc_walk_yaml(&fl, paths[i], diags);   /* symbolic links confined: walk.h */
		if (fl.n > 1)
			qsort(fl.v, fl.n, sizeof(*fl.v), str_cmp);
		if (fl.n == 0)
			nc_diag_error(diags, nc_pos_file(paths[i]),
				      "no YAML files (*.yaml, *.yml) found");
		for (j = 0; j < fl.n; j++) {
			load_file(&c, fl.v[j], opts);
			free(fl.v[j]);
		}
		free(fl.v);
	}
	free(c.kept);
	finish(spec, diags);
	*out = spec;
	return diags->errors > errors ? -1 : 0;
}

int nc_spec_load_buffer(struct nc_spec **out, const char *file, const char *buf,
			size_t len, const struct nc_load_opts *opts,
			struct nc_diags *diags)
{
	struct nc_spec *spec = spec_new();
	struct conv c = { spec, diags, 0, false, { 0 }, NULL, 0, 0 };
	size_t errors = diags->errors;

	load_buffer(&c, nc_arena_strdup(&spec->arena, file), buf, len, opts);
	free(c.kept);
	finish(spec, diags);
	*out = spec;
	return diags->errors > errors ? -1 : 0;
}

void nc_spec_free(struct nc_spec *spec)
{
	size_t k;

	if (!spec)
		return;
	for (k = 0; k < NC_KIND__COUNT; k++)
		free(spec->objs[k]);
	nc_arena_release(&spec->arena);
	free(spec);
}

int nc_config_load(struct nc_spec **holder, const struct nc_schema *root, const char *path,
		   void *out, struct nc_diags *diags)
{
	struct nc_spec *spec = spec_new();
	struct conv c = { spec, diags, 100000, false, { 0 }, NULL, 0, 0 };
	struct nc_ydoc *docs = NULL;
	size_t ndocs = 0, len = 0, errors = diags->errors, i;
	char *buf = NULL;
	const char *file = nc_arena_strdup(&spec->arena, path);
	int r = nc_read_file(path, NC_DEFAULT_MAX_FILE, &buf, &len);

	*holder = spec;
	if (r < 0) {
		nc_diag_error(diags, nc_pos_file(file), r == -2 ? "file too large" : "cannot read: %s",
			      strerror(errno));
		return -1;
	}
	nc_yaml_parse(&spec->arena, file, buf, len, NULL, &docs, &ndocs, diags);
	free(buf);
	for (i = 0; i < ndocs; i++) {
		if (!docs[i].root || nc_ynode_is_null(docs[i].root))
			continue;
		if (i > 0 && docs[0].root) {
			nc_diag_error(diags, docs[i].pos, "expected one document in a configuration file");
			break;
		}
		conv_struct(&c, root, out, docs[i].root, "configuration");
	}
	free(c.kept);
	if (!ndocs && diags->errors == errors)
		nc_diag_error(diags, nc_pos_file(file), "empty configuration file");
	nc_diags_sort(diags);
	return diags->errors > errors ? -1 : 0;
}
