/*
 * yemit.h - YAML output through libyaml's emitter (never by hand): a json-c
 * value written as one YAML document, mappings in insertion order.  Used by
 * `novacron get -o yaml` and `novacron import` (docs/adopt.md).
 */
#ifndef NC_YEMIT_H
#define NC_YEMIT_H

#include <json-c/json.h>

#include "../spec/util.h"

/*
 * Appends to out one YAML document per value of docs (n of them, each
 * starting with "---" when n > 1).  Strings a YAML reader would take for
 * another type (true, no, null, 12, 1e3, "") are double-quoted.  0, or -1
 * when libyaml refused (out then holds what it wrote).
 */
int nc_yaml_emit_json(struct json_object *const *docs, size_t n, struct nc_buf *out);

/* nc_ctl_escape (text from libvirt fit for a terminal) is in spec/util.h. */

#endif
