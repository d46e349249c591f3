/*
 * jsonout.c - the JSON documents the CLI prints, built with json-c (jsonout.h).
 */
#include "jsonout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct json_object *nc_json_doc(int version)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "format_version", json_object_new_int(version));
	return o;
}

void nc_json_to_buf(struct nc_buf *out, struct json_object *doc)
{
	nc_buf_adds(out, json_object_to_json_string_ext(doc, NC_JSON_FLAGS));
	nc_buf_addc(out, '\n');
	json_object_put(doc);
}

void nc_json_print(FILE *f, struct json_object *doc)
{
	struct nc_buf b = NC_BUF_INIT;

	nc_json_to_buf(&b, doc);
	fwrite(b.buf, 1, b.len, f);
	nc_buf_release(&b);
}

struct json_object *nc_json_new_str(const char *s)
{
	const unsigned char *p;
	struct nc_buf b = NC_BUF_INIT;
	struct json_object *o;

	if (!s)
		return NULL;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80) {
			size_t n = nc_utf8_len(p);

			if (!n)
				break;
			p += n - 1;
		}
	if (!*p)
		return json_object_new_string(s);
	/* not UTF-8: the bytes that are not become U+FFFD, as JSON must be Unicode */
	for (p = (const unsigned char *)s; *p; p++) {
		size_t n = *p >= 0x80 ? nc_utf8_len(p) : 1;

		if (n) {
			nc_buf_add(&b, p, n);
			p += n - 1;
		} else {
			nc_buf_adds(&b, "\xef\xbf\xbd");
		}
	}
	o = json_object_new_string(b.buf);
	nc_buf_release(&b);
	return o;
}

struct json_object *nc_json_new_strv(const char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array_ext((int)n);
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, nc_json_new_str(v[i]));
	return a;
}

struct json_object *nc_json_new_u64(uint64_t v)
{
	return v > INT64_MAX ? json_object_new_uint64(v) : json_object_new_int64((int64_t)v);
}

struct json_object *nc_json_new_fixed(double v, int decimals)
{
	char s[64];

	if (!isfinite(v))
		return NULL;
	snprintf(s, sizeof(s), "%.*f", decimals, v);
	/* json-c writes the given text for a double made this way */
	return json_object_new_double_s(v, s);
}

void nc_json_set(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

struct json_object *nc_json_parse_one(const char *buf, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (len > INT32_MAX || strlen(buf) != len)
		return NULL;
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		for (end = json_tokener_get_parse_end(tok); end < len && strchr(" \t\r\n", buf[end]); end++)
			;
		if (end < len) {
			json_object_put(o);
			o = NULL;
		}
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

const char *nc_json_get_str(struct json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}
