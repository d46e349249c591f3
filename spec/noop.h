/*
 * noop.h - fields the loader accepts that nothing acts on yet (spec/noop.c).
 *
 * The rule (docs/development.md, invariant 11): every field the loader accepts acts on
 * a real host, or `validate` warns that it does not yet.  This table lists
 * the second kind; nc_spec_validate() warns at each one a spec sets
 * ("file:line:col: warning: ... is accepted but not acted on yet: why"),
 * and docs/spec.md ("Not acted on yet") lists the same fields.  Remove an
 * entry in the commit that makes its field act.
 */
#ifndef NC_NOOP_H
#define NC_NOOP_H

#include <stddef.h>

#include "model.h"

struct nc_noop_field {
	enum nc_kind kind;
	const char *path;    /* dotted YAML keys from the document root: "spec.ha" */
	const char *why;     /* what does not happen */
};
extern const struct nc_noop_field nc_noop_fields[];
extern const size_t nc_noop_nfields;

struct nc_field;
/* Why f (a field of some kind's spec, as `explain` walks them) is not acted
 * on yet, or NULL when it is acted on. */
const char *nc_noop_field_why(const struct nc_field *f);

/* One warning per listed field that an object of the spec sets. */
void nc_spec_warn_noops(const struct nc_spec *spec, struct nc_diags *diags);

#endif
