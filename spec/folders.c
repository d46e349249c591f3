/*
 * folders.c - objects that own folders of the spec through their spec.paths
 * (Tenant, docs/tenants.md; Cluster, docs/federation.md): which one owns a
 * file, and validate's rule that each folder is claimed once.  Declared in
 * internal.h; the kind's paths are the struct nc_strlist at paths_off
 * inside its objects.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct nc_strlist *paths_of(const struct nc_object *o, size_t paths_off)
{
	return (const struct nc_strlist *)((const char *)o + paths_off);
}

const struct nc_object *nc_spec_folder_owner(const struct nc_spec *spec, enum nc_kind kind, size_t paths_off,
					      const char *file, const struct nc_str **path)
{
	const struct nc_object *best = NULL;
	const char *rel;
	size_t i, j, best_len = 0;

	if (path)
		*path = NULL;
	if (!file || !spec->nobjs[kind])
		return NULL;
	rel = nc_spec_rel_path(spec, file);
	/* the longest path wins, between equal ones (an error) the first object by name, whether
	 * the objects are sorted yet or not */
	for (i = 0; i < spec->nobjs[kind]; i++) {
		const struct nc_object *o = spec->objs[kind][i];
		const struct nc_strlist *l = paths_of(o, paths_off);

		if (!o->meta.name.v)
			continue;
		for (j = 0; j < l->n; j++) {
			const char *why, *p;
			size_t len = 0;

			p = l->v[j].v ? nc_spec_folder(l->v[j].v, &len, &why) : NULL;
			if (p && nc_spec_inside(rel, p, len) && (len > best_len || (len == best_len && best &&
			    strcmp(o->meta.name.v, best->meta.name.v) < 0))) {
				best = o;
				best_len = len;
				if (path)
					*path = &l->v[j];
			}
		}
	}
	return best;
}

struct claim {
	const char *path;     /* folder, len bytes */
	size_t len;
	const struct nc_object *o;
	struct nc_pos pos;
};

static int claim_cmp(const void *pa, const void *pb)
{
	const struct claim *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->path, b->path, n);

	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	c = strcmp(a->o->meta.name.v, b->o->meta.name.v);
	if (c)
		return c;
	return a->pos.line < b->pos.line ? -1 : a->pos.line > b->pos.line;
}

void nc_spec_check_folder_claims(struct nc_spec *spec, enum nc_kind kind, size_t paths_off,
				 struct nc_diags *diags)
{
	const char *kname = nc_kind_name(kind), *one = nc_kind_singular(kind);
	struct claim *cl = NULL;
	size_t n = 0, alloc = 0, i, j;

	for (i = 0; i < spec->nobjs[kind]; i++) {
		const struct nc_object *o = spec->objs[kind][i];
		const struct nc_strlist *l = paths_of(o, paths_off);

		for (j = 0; j < l->n; j++) {
			const struct nc_str *s = &l->v[j];
			const char *why, *p;
			size_t len;

			if (!s->v)
				continue;
			p = nc_spec_folder(s->v, &len, &why);
			if (!p) {
				nc_diag_error(diags, s->pos, "%s '%s': path '%s' is not a folder of the spec: %s",
					      kname, o->meta.name.v, nc_spec_quote(spec, s->v), why);
				continue;
			}
			if (n == alloc) {
				alloc = alloc ? 2 * alloc : 16;
				cl = nc_xreallocarray(cl, alloc, sizeof(*cl));
			}
			cl[n].path = p;
			cl[n].len = len;
			cl[n].o = o;
			cl[n++].pos = s->pos;
		}
	}
	if (n > 1)
		qsort(cl, n, sizeof(*cl), claim_cmp);
	for (i = 1; i < n; i++) {
		const struct claim *a = &cl[i - 1], *b = &cl[i];

		if (a->len != b->len || memcmp(a->path, b->path, a->len) != 0)
			continue;
		if (a->o == b->o) {
			nc_diag_warning(diags, b->pos, "%s '%s' lists path '%.*s' twice", kname, b->o->meta.name.v,
					(int)b->len, b->path);
			continue;
		}
		nc_diag_error(diags, b->pos, "path '%.*s' is claimed by %s '%s' and %s '%s': a folder "
			      "belongs to one %s", (int)b->len, b->path, kname, a->o->meta.name.v, kname,
			      b->o->meta.name.v, one);
		nc_diag_note(diags, a->pos, "%s '%s' claims it here", kname, a->o->meta.name.v);
	}
	free(cl);
}
