/*
 * cmd-schema.c - `novacron schema [--out FILE] [--kind KIND]`: the JSON Schema
 * of the spec, for editors (yaml-language-server) and CI checks.
 *
 * Generated from the schema tables the loader converts YAML with
 * (spec/schema.c), so it cannot drift from what validate accepts: a key the
 * loader refuses is refused here (additionalProperties false), types, enums,
 * integer and number ranges, size and duration limits (as regular
 * expressions on the text, since "4GiB" is a string) and required keys are
 * the loader's.  A key written with no value (or null) leaves a field unset
 * in the loader, so optional fields also accept null.  Where the loader
 * reads a scalar as text (names, free text), a value YAML reads as a number
 * or true/false is text too, so those fields accept numbers and booleans.
 * Cross-references (a VM naming a missing template), duplicate names and
 * rules between fields stay with validate (docs/editors.md).
 *
 * The document declares draft-07, which yaml-language-server implements, and
 * uses only keywords that mean the same in draft 2020-12.  json-c keeps
 * insertion order and keys are inserted in table order: same binary, same
 * bytes.
 */
#include "cli.h"
#include "jsonout.h"
#include "opts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../spec/model.h"
#include "../spec/noop.h"
#include "../spec/schema.h"

#define SCHEMA_DRAFT "http://json-schema.org/draft-07/schema#"
#define SCHEMA_ID "https://novacron.io/schema/novacron.io-v1.schema.json"

/* ---- regular expressions for numbers written as text ---- */

static uint64_t pow10u(unsigned k)
{
	uint64_t p = 1;

	while (k--)
		p *= 10;
	return p;
}

static unsigned ndigits(uint64_t v)
{
	unsigned n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* start and stop have as many digits: one alternative of digit classes */
static void range_piece(struct nc_buf *b, uint64_t start, uint64_t stop)
{
	char a[24], z[24];
	size_t i, n;

	snprintf(a, sizeof(a), "%llu", (unsigned long long)start);
	snprintf(z, sizeof(z), "%llu", (unsigned long long)stop);
	n = strlen(a);
	for (i = 0; i < n; i++) {
		if (a[i] == z[i])
			nc_buf_addc(b, a[i]);
		else if (a[i] == '0' && z[i] == '9')
			nc_buf_adds(b, "[0-9]");
		else
			nc_buf_addf(b, "[%c-%c]", a[i], z[i]);
	}
}

static int u64_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

/*
 * Alternatives (joined by '|') matching the decimal numbers lo..hi without
 * leading zeros, lo >= 1, both with as many digits: the stops where a run
 * of trailing nines or zeros ends split the range into pieces of digit classes.
 */
static void range_same_len(struct nc_buf *b, uint64_t lo, uint64_t hi, bool *first)
{
	uint64_t stops[48], start = lo;
	size_t n = 0, i;
	unsigned k;

	stops[n++] = hi;
	for (k = 1; k < 20; k++) {
		uint64_t p = pow10u(k), s = lo - lo % p + p - 1;

		if (s < lo || s >= hi)
			break;
		stops[n++] = s;
	}
	for (k = 1; k < 20; k++) {
		uint64_t p = pow10u(k), s = (hi + 1) - (hi + 1) % p;

		if (s == 0 || s - 1 <= lo || s - 1 > hi)
			break;
		stops[n++] = s - 1;
	}
	qsort(stops, n, sizeof(*stops), u64_cmp);
	for (i = 0; i < n; i++) {
		if (i && stops[i] == stops[i - 1])
			continue;
		if (stops[i] < start)
			continue;
		nc_buf_adds(b, *first ? "" : "|");
		*first = false;
		range_piece(b, start, stops[i]);
		start = stops[i] + 1;
	}
}

/*
 * A group matching a decimal number (leading zeros allowed, as the loader's
 * digit loop takes them) from lo to hi; hi == UINT64_MAX: no upper bound.
 */
static void number_range(struct nc_buf *b, uint64_t lo, uint64_t hi)
{
	bool first = true;
	unsigned d, dl, dh;

	nc_buf_adds(b, "0*(?:");
	if (lo == 0) {
		nc_buf_adds(b, "0");
		first = false;
		lo = 1;
	}
	if (lo <= hi) {
		dl = ndigits(lo);
		dh = hi == UINT64_MAX ? dl : ndigits(hi);
		for (d = dl; d <= dh; d++) {
			uint64_t top = pow10u(d) - 1;

			if (hi != UINT64_MAX && top > hi)
				top = hi;
			range_same_len(b, d == dl ? lo : pow10u(d - 1), top, &first);
		}
		if (hi == UINT64_MAX)
			nc_buf_addf(b, "%s[1-9][0-9]{%u,}", first ? "" : "|", dl);
	}
	nc_buf_adds(b, ")");
}

/* the loader's size units (spec/parse.c nc_size_parse), grouped by multiplier */
static const struct {
	uint64_t mult;
	const char *names;   /* alternatives; "" for the bare number */
} size_units[] = {
	{ 1, "B" },
	{ 1ULL << 10, "KiB|Ki" }, { 1ULL << 20, "MiB|Mi" }, { 1ULL << 30, "GiB|Gi" },
	{ 1ULL << 40, "TiB|Ti" }, { 1ULL << 50, "PiB|Pi" },
	{ 1000ULL, "KB" }, { 1000000ULL, "MB" }, { 1000000000ULL, "GB" },
	{ 1000000000000ULL, "TB" }, { 1000000000000000ULL, "PB" },
};

static char *size_pattern(uint64_t min)
{
	struct nc_buf b = NC_BUF_INIT;
	size_t i;

	nc_buf_adds(&b, "^ *(?:");
	for (i = 0; i < NC_ARRAY_SIZE(size_units); i++) {
		uint64_t lo = (min + size_units[i].mult - 1) / size_units[i].mult;

		nc_buf_adds(&b, i ? "|" : "");
		number_range(&b, lo, UINT64_MAX);
		/* a bare number is bytes; "512 MiB" may have spaces before the unit */
		nc_buf_addf(&b, " *(?:%s)%s", size_units[i].names, size_units[i].mult == 1 ? "?" : "");
	}
	nc_buf_adds(&b, ")$");
	return nc_buf_detach(&b, NULL);
}

static char *duration_pattern(uint64_t min, uint64_t max)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} dunits[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 } };
	struct nc_buf b = NC_BUF_INIT;
	size_t i;
	bool any = false;

	nc_buf_adds(&b, "^(?:");
	for (i = 0; i < NC_ARRAY_SIZE(dunits); i++) {
		uint64_t lo = (min + dunits[i].ms - 1) / dunits[i].ms, hi = max / dunits[i].ms;

		if (lo > hi)
			continue;
		nc_buf_adds(&b, any ? "|" : "");
		any = true;
		number_range(&b, lo, hi);
		nc_buf_adds(&b, dunits[i].name);
	}
	nc_buf_adds(&b, ")$");
	return nc_buf_detach(&b, NULL);
}

/* ---- string checks (spec/schema.h nc_fcheck): a pattern where one is cheap ---- */

#define CTL "\\x00-\\x1f\\x7f"
#define NAME_RE "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#define LABEL_NAME_RE "[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?"
#define DNS_LABEL_RE "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
#define LABEL_KEY_RE "^(?:(?=[^/]{1,253}/)" DNS_LABEL_RE "(?:\\." DNS_LABEL_RE ")*/)?" LABEL_NAME_RE "$"
#define LABEL_NAME_HOST_RE "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#define ABS_PATH_RE "(?!.*/\\.\\.(?:/|$))/[^" CTL "]*"

static const char *check_pattern(enum nc_fcheck chk)
{
	switch (chk) {
	case NC_CHK_NAME: return "^" NAME_RE "$";
	case NC_CHK_LABEL_KEY: return LABEL_KEY_RE;
	case NC_CHK_LABEL_VALUE: return "^(?:" LABEL_NAME_RE ")?$";
	case NC_CHK_URI: return "^[A-Za-z][A-Za-z0-9+.-]*://";
	case NC_CHK_ABS_PATH: return "^" ABS_PATH_RE "$";
	case NC_CHK_IMAGE: return "^(?:" ABS_PATH_RE "|[^/" CTL "]+)$";
	case NC_CHK_CIDR: return "^[0-9A-Fa-f:.]+/[0-9]+$";
	case NC_CHK_CIDR4: return "^[0-9.]+/[0-9]+$";
	case NC_CHK_CIDR6: return "^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]+$";
	case NC_CHK_IPV4: return "^[0-9]{1,3}(?:\\.[0-9]{1,3}){3}$";
	case NC_CHK_MAC: return "^[0-9A-Fa-f][02468aceACE](?::[0-9A-Fa-f]{2}){5}$";
	case NC_CHK_IFNAME: return "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$";
	case NC_CHK_HTTP_URL: return "^https?://[^/\\s][^\\s]*$";
	case NC_CHK_FILE_NAME: return "^[^./" CTL "][^/" CTL "]{0,254}$";
	case NC_CHK_SHA256: return "^[0-9a-f]{64}$";
	case NC_CHK_CEPH_NAME: return "^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,126}$";
	case NC_CHK_MACHINE: return "^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,62}$";
	case NC_CHK_PRINTABLE: return "^[^" CTL "]*$";
	case NC_CHK_HOSTNAME:
		return "^(?:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*|" LABEL_NAME_HOST_RE "(?:\\." LABEL_NAME_HOST_RE ")*)$";
	case NC_CHK_ALERT_TEMPLATE:
	case NC_CHK_LABELS:
	case NC_CHK_NONE:
		break;
	}
	return NULL;
}

/*
 * What a text field takes besides a string: the loader reads the scalar's
 * text, so `name: 123` is the name "123"; a schema sees the number 123.
 */
enum text_kind {
	TEXT_STRING,    /* a string only: no number's text passes the check */
	TEXT_NAME,      /* also a whole number >= 0 or true/false ("42" is a name, "4.2" is not) */
	TEXT_WORD,      /* also a number >= 0 or true/false ("7.2" passes, "-1" does not) */
	TEXT_ANY,       /* also any number or true/false */
	TEXT_BOOL,      /* also true/false (an enum that takes an older boolean form) */
};

static enum text_kind text_kind(enum nc_fcheck chk)
{
	switch (chk) {
	case NC_CHK_NAME:
		return TEXT_NAME;
	case NC_CHK_LABEL_KEY:
	case NC_CHK_LABEL_VALUE:
	case NC_CHK_IFNAME:
	case NC_CHK_CEPH_NAME:
	case NC_CHK_MACHINE:
		return TEXT_WORD;
	case NC_CHK_NONE:
	case NC_CHK_PRINTABLE:
	case NC_CHK_ALERT_TEMPLATE:
	case NC_CHK_IMAGE:
	case NC_CHK_FILE_NAME:
	case NC_CHK_LABELS:
		return TEXT_ANY;
	default:
		return TEXT_STRING;
	}
}

/* ---- building ---- */

static void set(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *str(const char *s)
{
	return json_object_new_string(s);
}

static struct json_object *dbl(double v)
{
	char s[64];

	snprintf(s, sizeof(s), "%g", v);
	return json_object_new_double_s(v, s);
}

/* "type": one name, or a list when null or other scalars are allowed too */
static void set_type(struct json_object *o, const char *t, enum text_kind tk, bool nullable)
{
	struct json_object *a;

	if (tk == TEXT_STRING && !nullable) {
		set(o, "type", str(t));
		return;
	}
	a = json_object_new_array();
	json_object_array_add(a, str(t));
	if (tk == TEXT_NAME) {
		json_object_array_add(a, str("integer"));
		json_object_array_add(a, str("boolean"));
	} else if (tk == TEXT_WORD || tk == TEXT_ANY) {
		json_object_array_add(a, str("number"));
		json_object_array_add(a, str("boolean"));
	} else if (tk == TEXT_BOOL) {
		json_object_array_add(a, str("boolean"));
	}
	if (nullable)
		json_object_array_add(a, str("null"));
	set(o, "type", a);
}

static void limits_text(const struct nc_field *f, struct nc_buf *b)
{
	size_t i;
	char sz[32];

	switch (f->type) {
	case NC_F_ENUM:
		for (i = 0; f->values[i]; i++)
			nc_buf_addf(b, "%s%s", i ? ", " : "one of: ", f->values[i]);
		break;
	case NC_F_INT:
		nc_buf_addf(b, "%lld to %lld", (long long)f->min, (long long)f->max);
		break;
	case NC_F_NUM:
		nc_buf_addf(b, "%g to %g", f->min_f, f->max_f);
		break;
	case NC_F_SIZE:
		nc_size_format((uint64_t)f->min, sz, sizeof(sz));
		nc_buf_addf(b, "a size such as 4GiB or a number of bytes%s%s", f->min ? ", at least " : "",
			    f->min ? sz : "");
		break;
	case NC_F_DURATION:
		nc_buf_addf(b, "a duration such as 30s (ms, s, m, h, d), %lldms to %lldms", (long long)f->min,
			    (long long)f->max);
		break;
	case NC_F_CRON:
		nc_buf_adds(b, "five cron fields or @hourly, @daily, ...");
		break;
	default:
		break;
	}
}

static struct json_object *struct_schema(const struct nc_schema *s, bool nullable, const char *doc);

static void describe(struct json_object *o, const struct nc_field *f)
{
	struct nc_buf d = NC_BUF_INIT, md = NC_BUF_INIT, lim = NC_BUF_INIT;
	const char *why = nc_noop_field_why(f);

	limits_text(f, &lim);
	nc_buf_addf(&d, "%s%s%s%s%s%s", f->doc, lim.len ? " (" : "", lim.buf, lim.len ? ")" : "",
		    why ? ". Not acted on yet (validate warns): " : "", why ? why : "");
	nc_buf_addf(&md, "%s%s%s%s%s%s%s", f->doc, f->required ? " **Required.**" : "",
		    lim.len ? "\n\n`" : "", lim.buf, lim.len ? "`" : "",
		    why ? "\n\n**Not acted on yet** (validate warns): " : "", why ? why : "");
	set(o, "description", str(d.buf));
	set(o, "markdownDescription", str(md.buf));
	nc_buf_release(&d);
	nc_buf_release(&md);
	nc_buf_release(&lim);
}

static void text_schema(struct json_object *o, enum nc_fcheck chk, bool nonempty, bool nullable)
{
	enum text_kind tk = text_kind(chk);
	const char *pat = check_pattern(chk);

	set_type(o, "string", tk, nullable);
	if (nonempty)
		set(o, "minLength", json_object_new_int(1));
	if (pat)
		set(o, "pattern", str(pat));
	if (tk == TEXT_NAME || tk == TEXT_WORD)
		set(o, "minimum", json_object_new_int(0));
}

static struct json_object *map_schema(const struct nc_field *f, bool nullable)
{
	struct json_object *o = json_object_new_object(), *v = json_object_new_object(), *k;

	set_type(o, "object", TEXT_STRING, nullable);
	if (f->check == NC_CHK_LABELS) {
		k = json_object_new_object();
		set(k, "pattern", str(LABEL_KEY_RE));
		set(o, "propertyNames", k);
		text_schema(v, NC_CHK_LABEL_VALUE, false, true);
	} else {
		set_type(v, "string", TEXT_ANY, true);
	}
	set(o, "additionalProperties", v);
	return o;
}

static struct json_object *field_schema(const struct nc_field *f)
{
	struct json_object *o = NULL, *a, *alt;
	bool nullable = !f->required;
	char *pat;
	size_t i;

	switch (f->type) {
	case NC_F_STR:
		o = json_object_new_object();
		text_schema(o, f->check, true, nullable);
		break;
	case NC_F_INT:
		o = json_object_new_object();
		set_type(o, "integer", TEXT_STRING, nullable);
		set(o, "minimum", json_object_new_int64(f->min));
		set(o, "maximum", json_object_new_int64(f->max));
		break;
	case NC_F_NUM:
		o = json_object_new_object();
		set_type(o, "number", TEXT_STRING, nullable);
		set(o, "minimum", dbl(f->min_f));
		set(o, "maximum", dbl(f->max_f));
		break;
	case NC_F_BOOL:
		o = json_object_new_object();
		set_type(o, "boolean", TEXT_STRING, nullable);
		break;
	case NC_F_ENUM:
		o = json_object_new_object();
		/* an enum whose values include true and false also takes YAML's booleans
		 * (migration.compression, migration.copyStorage: their older boolean form) */
		for (i = 0; f->values[i] && strcmp(f->values[i], "true") != 0; i++)
			;
		set_type(o, "string", f->values[i] ? TEXT_BOOL : TEXT_STRING, nullable);
		a = json_object_new_array();
		for (i = 0; f->values[i]; i++) {
			json_object_array_add(a, str(f->values[i]));
			if (!strcmp(f->values[i], "true") || !strcmp(f->values[i], "false"))
				json_object_array_add(a, json_object_new_boolean(!strcmp(f->values[i], "true")));
		}
		if (nullable)
			json_object_array_add(a, NULL);
		set(o, "enum", a);
		break;
	case NC_F_SIZE:
		/* "4GiB" (text, the limit as a pattern) or a bare number of bytes */
		o = json_object_new_object();
		a = json_object_new_array();
		alt = json_object_new_object();
		set(alt, "type", str("string"));
		pat = size_pattern((uint64_t)f->min);
		set(alt, "pattern", str(pat));
		free(pat);
		json_object_array_add(a, alt);
		alt = json_object_new_object();
		set(alt, "type", str("integer"));
		set(alt, "minimum", json_object_new_int64(f->min));
		json_object_array_add(a, alt);
		if (nullable) {
			alt = json_object_new_object();
			set(alt, "type", str("null"));
			json_object_array_add(a, alt);
		}
		set(o, "anyOf", a);
		break;
	case NC_F_DURATION:
		o = json_object_new_object();
		set_type(o, "string", TEXT_STRING, nullable);
		pat = duration_pattern((uint64_t)f->min, (uint64_t)f->max);
		set(o, "pattern", str(pat));
		free(pat);
		break;
	case NC_F_CRON:
		/* the fields' values are checked by validate */
		o = json_object_new_object();
		set_type(o, "string", TEXT_STRING, nullable);
		set(o, "pattern", str("^[ \\t]*(?:@[A-Za-z]+|[^ \\t]+(?:[ \\t]+[^ \\t]+){4})[ \\t]*$"));
		break;
	case NC_F_MAP:
		o = map_schema(f, nullable);
		break;
	case NC_F_STRLIST:
		o = json_object_new_object();
		set_type(o, "array", TEXT_STRING, nullable);
		alt = json_object_new_object();
		text_schema(alt, f->check, false, false);
		set(o, "items", alt);
		break;
	case NC_F_STRUCT:
		o = struct_schema(f->sub, nullable, NULL);
		break;
	case NC_F_LIST:
		o = json_object_new_object();
		set_type(o, "array", TEXT_STRING, nullable);
		set(o, "items", struct_schema(f->sub, false, NULL));
		break;
	}
	describe(o, f);
	return o;
}

static struct json_object *struct_schema(const struct nc_schema *s, bool nullable, const char *doc)
{
	struct json_object *o = json_object_new_object(), *props = json_object_new_object();
	struct json_object *req = json_object_new_array();
	size_t i;

	set_type(o, "object", TEXT_STRING, nullable);
	if (doc)
		set(o, "description", str(doc));
	for (i = 0; i < s->nfields; i++) {
		set(props, s->fields[i].key, field_schema(&s->fields[i]));
		if (s->fields[i].required)
			json_object_array_add(req, str(s->fields[i].key));
	}
	set(o, "properties", props);
	if (json_object_array_length(req))
		set(o, "required", req);
	else
		json_object_put(req);
	set(o, "additionalProperties", json_object_new_boolean(0));
	return o;
}

/*
 * The document: apiVersion, kind, metadata and spec, then one if/then per
 * kind that checks spec against that kind's table, so a mistake is reported
 * under the kind the document names.  kind >= 0: that kind only.
 */
static struct json_object *build(int only)
{
	struct json_object *doc = json_object_new_object(), *props, *p, *a, *all, *rule, *cond, *then;
	const struct nc_schema *root = nc_kinds[only >= 0 ? only : 0].root;
	char *title;
	size_t i, k;

	set(doc, "$schema", str(SCHEMA_DRAFT));
	if (only < 0) {
		set(doc, "$id", str(SCHEMA_ID));
		title = nc_xasprintf("NovaCron spec (%s)", NC_API_VERSION);
	} else {
		char *id = nc_xasprintf("https://novacron.io/schema/novacron.io-v1-%s.schema.json",
					nc_kinds[only].name);

		for (i = 0; id[i]; i++)
			id[i] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] - 'A' + 'a' : id[i]);
		set(doc, "$id", str(id));
		free(id);
		title = nc_xasprintf("NovaCron %s (%s)", nc_kinds[only].name, NC_API_VERSION);
	}
	set(doc, "title", str(title));
	free(title);
	set(doc, "description",
	    str("One document of a NovaCron spec, generated by `novacron schema` from the tables "
		"validate uses. References between objects, duplicate names and rules between "
		"fields are checked by `novacron validate` only (docs/editors.md)."));
	/* an empty document (a trailing ---) is skipped by the loader */
	a = json_object_new_array();
	json_object_array_add(a, str("object"));
	json_object_array_add(a, str("null"));
	set(doc, "type", a);
	props = json_object_new_object();
	for (i = 0; i < root->nfields; i++) {
		const struct nc_field *f = &root->fields[i];

		if (!strcmp(f->key, "apiVersion")) {
			p = json_object_new_object();
			set(p, "const", str(NC_API_VERSION));
			describe(p, f);
		} else if (!strcmp(f->key, "kind")) {
			p = json_object_new_object();
			set(p, "type", str("string"));
			a = json_object_new_array();
			for (k = 0; k < NC_KIND__COUNT; k++)
				if (only < 0 || (int)k == only)
					json_object_array_add(a, str(nc_kinds[k].name));
			set(p, "enum", a);
			describe(p, f);
		} else if (!strcmp(f->key, "spec")) {
			p = json_object_new_object();
			set(p, "type", str("object"));
			describe(p, f);
		} else {
			p = field_schema(f);
		}
		set(props, f->key, p);
	}
	set(doc, "properties", props);
	a = json_object_new_array();
	for (i = 0; i < root->nfields; i++)
		if (root->fields[i].required)
			json_object_array_add(a, str(root->fields[i].key));
	set(doc, "required", a);
	set(doc, "additionalProperties", json_object_new_boolean(0));
	all = json_object_new_array();
	for (k = 0; k < NC_KIND__COUNT; k++) {
		if (only >= 0 && (int)k != only)
			continue;
		rule = json_object_new_object();
		cond = json_object_new_object();
		p = json_object_new_object();
		a = json_object_new_object();
		set(a, "const", str(nc_kinds[k].name));
		set(p, "kind", a);
		set(cond, "properties", p);
		a = json_object_new_array();
		json_object_array_add(a, str("kind"));
		set(cond, "required", a);
		set(rule, "if", cond);
		then = json_object_new_object();
		p = json_object_new_object();
		set(p, "spec", struct_schema(nc_kinds[k].spec, false, nc_kinds[k].doc));
		set(then, "properties", p);
		set(rule, "then", then);
		json_object_array_add(all, rule);
	}
	set(doc, "allOf", all);
	return doc;
}

enum { OPT_OUT = NC_OPT_LONG_ONLY, OPT_KIND };

static const struct nc_opt schema_opts[] = {
	{ "out", OPT_OUT, "FILE", "write the schema to FILE instead of standard output", NC_COMP_FILE, NULL },
	{ "kind", OPT_KIND, "KIND", "the schema of one kind only (VM, Host, ...; any case)", NC_COMP_KIND, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const schema_examples[] = {
	"the schema editors read (docs/editors.md), next to the spec",
	"novacron schema --out spec/.novacron.schema.json",
	"the schema of VM documents only",
	"novacron schema --kind VM",
	NULL,
};

const struct nc_cmd_doc nc_doc_schema = {
	"schema", "schema [--out FILE] [--kind KIND]",
	"print the JSON Schema of the spec, for editors (yaml-language-server)",
	"Prints a JSON Schema (draft-07, which yaml-language-server reads; valid under draft 2020-12 too) "
	"generated from the tables validate uses: keys, types, enums, ranges, sizes, durations and "
	"required fields, with each field's documentation for hover. An editor with it checks a spec as "
	"it is typed. References between objects and rules between fields are checked by validate "
	"only. docs/novacron.schema.json is a copy; docs/editors.md shows how to use it.",
	schema_opts, schema_examples, NC_COMP_NONE, NULL,
};

int cmd_schema(int argc, char **argv)
{
	const char *out = NULL, *kind = NULL;
	struct json_object *doc;
	struct nc_getopt g;
	const char *text;
	int c, only = -1;
	size_t k;
	FILE *f;

	nc_getopt_init(&g, schema_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_KIND:
			kind = optarg;
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_schema);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_schema);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (optind < argc) {
		nc_cmd_usage_error(&nc_doc_schema);
		return NC_EXIT_ERROR;
	}
	if (kind) {
		for (k = 0; k < NC_KIND__COUNT; k++)
			if (strcasecmp(kind, nc_kinds[k].name) == 0)
				only = (int)k;
		if (only < 0) {
			fprintf(stderr, "novacron schema: unknown kind '%s' (novacron explain lists them)\n", kind);
			return NC_EXIT_ERROR;
		}
	}
	doc = build(only);
	text = json_object_to_json_string_ext(doc, NC_JSON_FLAGS);
	if (!out || !strcmp(out, "-")) {
		printf("%s\n", text);
		json_object_put(doc);
		return ferror(stdout) ? NC_EXIT_ERROR : NC_EXIT_OK;
	}
	f = fopen(out, "w");
	if (f) {
		int bad = fprintf(f, "%s\n", text) < 0;

		if (fclose(f) != 0 || bad)
			f = NULL;
	}
	if (!f) {
		fprintf(stderr, "novacron schema: cannot write %s: %s\n", out, strerror(errno));
		json_object_put(doc);
		return NC_EXIT_ERROR;
	}
	json_object_put(doc);
	return NC_EXIT_OK;
}
