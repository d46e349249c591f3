/* yemit.c - json-c values as YAML through libyaml's emitter; see yemit.h */
#include "yemit.h"

#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <yaml.h>

static int out_handler(void *data, unsigned char *buf, size_t size)
{
	nc_buf_add((struct nc_buf *)data, (const char *)buf, size);
	return 1;
}

/* would a YAML 1.1 or 1.2 reader resolve this plain scalar to something else than a string? */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = {
		"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
		".inf", "-.inf", "+.inf", ".nan",
	};
	size_t i;
	bool digit = false, other = false;
	char *end;

	if (!*s)
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	/* a number for strtod (12, -1.5, 1e3, 0x1f) */
	(void)strtod(s, &end);
	if (*end == 0)
		return true;
	/* YAML 1.1 numbers: 1_000, 1:30 (base 60), 0o17, 0b101 */
	for (i = 0; s[i]; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digit = true;
		else if (!strchr("+-._:", s[i]))
			other = true;
	}
	if (digit && !other)
		return true;
	return s[0] == '0' && (s[1] == 'o' || s[1] == 'b') && s[2] && strspn(s + 2, "01234567") == strlen(s + 2);
}

static int scalar(yaml_emitter_t *e, const char *s, bool plain)
{
	yaml_event_t ev;
	bool quote = !plain && needs_quotes(s);

	/* no tag: a quoted scalar is a string (quoted_implicit), a plain one is resolved */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), !quote, 1,
					  quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE))
		return -1;
	return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int value(yaml_emitter_t *e, struct json_object *v)
{
	yaml_event_t ev;
	size_t i;
	char num[64];

	switch (json_object_get_type(v)) {
	case json_type_null:
		return scalar(e, "null", true);
	case json_type_boolean:
		return scalar(e, json_object_get_boolean(v) ? "true" : "false", true);
	case json_type_int:
		snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(v));
		return scalar(e, num, true);
	case json_type_double:
		snprintf(num, sizeof(num), "%.17g", json_object_get_double(v));
		return scalar(e, num, true);
	case json_type_string:
		return scalar(e, json_object_get_string(v), false);
	case json_type_array:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return -1;
		for (i = 0; i < json_object_array_length(v); i++)
			if (value(e, json_object_array_get_idx(v, i)) < 0)
				return -1;
		return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(e, &ev) ? 0 : -1;
	case json_type_object:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(e, &ev))
			return -1;
		{
			json_object_object_foreach(v, key, val) {
				if (scalar(e, key, false) < 0 || value(e, val) < 0)
					return -1;
			}
		}
		return yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(e, &ev) ? 0 : -1;
	}
	return -1;
}

int nc_yaml_emit_json(struct json_object *const *docs, size_t n, struct nc_buf *out)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	size_t i;
	int ret = -1;

	if (!yaml_emitter_initialize(&e))
		return -1;
	yaml_emitter_set_output(&e, out_handler, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, 120);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&e, &ev))
		goto out;
	for (i = 0; i < n; i++) {
		if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, n > 1 ? 0 : 1) ||
		    !yaml_emitter_emit(&e, &ev) || value(&e, docs[i]) < 0 ||
		    !yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev))
			goto out;
	}
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev) || !yaml_emitter_flush(&e))
		goto out;
	ret = 0;
out:
	yaml_emitter_delete(&e);
	return ret;
}
