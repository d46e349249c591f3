/*
 * explain.h - a walk over the spec's schema tables (spec/schema.h) in the
 * order of the reference: `novacron explain --markdown` (docs/reference.md)
 * and the novacron-spec(5) man page (cmd-man.c) both print from it.
 */
#ifndef NC_EXPLAIN_H
#define NC_EXPLAIN_H

#include "../spec/model.h"
#include "../spec/schema.h"

struct nc_explain_visit {
	/* a kind begins: its name and one-line doc are nc_kinds[k] */
	void (*kind)(void *ctx, enum nc_kind k);
	/* one field: its dotted path ("spec.disks[].size"), its type's name,
	 * what restricts it ("1..64", "a|b"; "" when nothing), and why it is
	 * not acted on yet (NULL when it is) */
	void (*field)(void *ctx, const char *path, const struct nc_field *f, const char *type,
		      const char *detail, const char *noop_why);
	/* after a kind's fields: a field outside spec that is accepted but not acted on yet */
	void (*note)(void *ctx, const char *path, const char *why);
};

/* Visits every kind and field; `markdown`: a '|' in an enum's values is
 * escaped as "\|" (a Markdown table cell). */
void nc_explain_walk(const struct nc_explain_visit *v, void *ctx, int markdown);

#endif
