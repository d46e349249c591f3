/*
 * jsonout.h - the JSON documents the CLI prints, built with json-c (docs/json.md).
 *
 * nc_json_doc() starts a document: an object whose first key is
 * "format_version".  Fields are added with json-c's own calls
 * (json_object_object_add) and the small constructors below, which map the
 * program's values to JSON the same way everywhere: strings are made valid
 * UTF-8 (a byte that is not becomes U+FFFD), a NULL string is null, sizes are
 * integers of bytes, ratios have a fixed number of decimals (a value that is
 * not finite is null).  nc_json_print() and nc_json_to_buf() write a document
 * deterministically (json-c keeps insertion order: insert in a sorted order),
 * pretty, with ", " and ": " spacing, '/' unescaped and a trailing newline,
 * and release it.
 *
 * The compatibility rule of every document: fields are added within a
 * format_version; removing one or changing its meaning bumps the version.
 */
#ifndef NC_JSONOUT_H
#define NC_JSONOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "../spec/util.h"

/* json_object_to_json_string_ext flags of every document the CLI prints */
#define NC_JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A new object {"format_version": version}. */
struct json_object *nc_json_doc(int version);
/* Writes doc and a newline to f and releases doc (json_object_put). */
void nc_json_print(FILE *f, struct json_object *doc);
/* Appends doc and a newline to out and releases doc. */
void nc_json_to_buf(struct nc_buf *out, struct json_object *doc);

/* A string (NULL: null), bytes that are not UTF-8 replaced by U+FFFD. */
struct json_object *nc_json_new_str(const char *s);
/* An array of n strings. */
struct json_object *nc_json_new_strv(const char *const *v, size_t n);
/* A size or count: an integer (uint64 beyond INT64_MAX). */
struct json_object *nc_json_new_u64(uint64_t v);
/* A number written with decimals digits after the point; null when v is not finite. */
struct json_object *nc_json_new_fixed(double v, int decimals);
/*
 * Reading the program's own JSON files (state files, saved plans): the one
 * value of buf (strict JSON, valid UTF-8, nothing but white space after it,
 * no NUL byte), or NULL; the caller puts it.
 */
struct json_object *nc_json_parse_one(const char *buf, size_t len);
/* v's text when v is a string without a NUL byte, else NULL. */
const char *nc_json_get_str(struct json_object *v);

/* Shorthand: json_object_object_add(o, key, v). */
void nc_json_set(struct json_object *o, const char *key, struct json_object *v);

#endif
