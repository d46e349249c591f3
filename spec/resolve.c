/*
 * resolve.c - template inheritance: every Template and VM gets `eff`, its own
 * machine values merged over what it inherits.
 *
 * Merging follows nc_schema_machine field by field: a value set on the child
 * wins; structs merge recursively; lists whose items have a merge key (disks
 * and NICs by name) merge item by item, the parent's order first, new items
 * after; label maps are united, the child's value winning.  Every value keeps
 * the position where it was written, so errors found later point there.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void merge_struct(struct nc_arena *a, const struct nc_schema *s, void *dst,
			 const void *child, const void *parent);

static void merge_map(struct nc_arena *a, struct nc_map *dst, const struct nc_map *c,
		      const struct nc_map *p)
{
	size_t i = 0, j = 0, n = 0;
	struct nc_kv *v;

	if (!c->n || !p->n) {
		/* one side empty: share the other's array (maps are never
		 * modified after loading) */
		*dst = c->n ? *c : *p;
		dst->pos = NC_IS_SET(*c) ? c->pos : p->pos;
		return;
	}
	v = nc_arena_alloc(a, (c->n + p->n + 1) * sizeof(*v));
	while (i < c->n || j < p->n) {
		int cmp = i == c->n ? 1 : j == p->n ? -1 : strcmp(c->v[i].key, p->v[j].key);

		if (cmp <= 0) {
			v[n++] = c->v[i++];
			if (cmp == 0)
				j++;
		} else {
			v[n++] = p->v[j++];
		}
	}
	dst->pos = NC_IS_SET(*c) ? c->pos : p->pos;
	dst->v = v;
	dst->n = n;
}

static const struct nc_field *merge_key(const struct nc_schema *s)
{
	size_t i;

	for (i = 0; i < s->nfields; i++)
		if (s->fields[i].merge_key)
			return &s->fields[i];
	return NULL;
}

static void merge_list(struct nc_arena *a, const struct nc_field *f, struct nc_list *dst,
		       const struct nc_list *c, const struct nc_list *p)
{
	const struct nc_schema *s = f->sub;
	const struct nc_field *k = merge_key(s);
	char *out;
	size_t i, j, n = 0;
	bool *used;

	if (!k || !p->n || !c->n) {
		*dst = NC_IS_SET(*c) ? *c : *p;
		return;
	}
	out = nc_arena_alloc(a, (c->n + p->n) * s->size);
	used = nc_xcalloc(c->n, sizeof(*used));
	for (i = 0; i < p->n; i++) {
		const char *pi = (const char *)p->v + i * s->size;
		const struct nc_str *pk = (const struct nc_str *)(pi + k->off);

		for (j = 0; j < c->n; j++) {
			const char *ci = (const char *)c->v + j * s->size;
			const struct nc_str *ck = (const struct nc_str *)(ci + k->off);

			if (!used[j] && pk->v && ck->v && strcmp(pk->v, ck->v) == 0)
				break;
		}
		if (j < c->n) {
			used[j] = true;
			merge_struct(a, s, out + n * s->size, (const char *)c->v + j * s->size, pi);
		} else {
			memcpy(out + n * s->size, pi, s->size);
		}
		n++;
	}
	for (j = 0; j < c->n; j++)
		if (!used[j])
			memcpy(out + n++ * s->size, (const char *)c->v + j * s->size, s->size);
	free(used);
	dst->pos = c->pos;
	dst->v = out;
	dst->n = n;
}

static void merge_struct(struct nc_arena *a, const struct nc_schema *s, void *dst,
			 const void *child, const void *parent)
{
	const struct nc_pos *cp = child, *pp = parent;
	size_t i;

	*(struct nc_pos *)dst = cp->line ? *cp : *pp;
	for (i = 0; i < s->nfields; i++) {
		const struct nc_field *f = &s->fields[i];
		void *d = (char *)dst + f->off;
		const void *c = (const char *)child + f->off, *p = (const char *)parent + f->off;

		switch (f->type) {
		case NC_F_STRUCT:
			merge_struct(a, f->sub, d, c, p);
			break;
		case NC_F_LIST:
			merge_list(a, f, d, c, p);
			break;
		case NC_F_MAP:
			merge_map(a, d, c, p);
			break;
		default:
			memcpy(d, ((const struct nc_pos *)c)->line ? c : p, nc_field_size(f));
			break;
		}
	}
}

static void resolve_template(struct nc_spec *spec, struct nc_template *t,
			     struct nc_diags *diags)
{
	static const struct nc_machine none;
	struct nc_template *parent;
	const struct nc_machine *pm = &none;

	if (t->resolving == 2)
		return;
	if (t->resolving == 1) {
		/* a cycle: report it once, at the edge that closes it */
		struct nc_buf path = NC_BUF_INIT;
		struct nc_template *x = t;

		nc_buf_adds(&path, t->obj.meta.name.v);
		do {
			x = (struct nc_template *)nc_spec_find(spec, NC_KIND_TEMPLATE,
							       x->spec.inherits.v);
			nc_buf_addf(&path, " -> %s", x->obj.meta.name.v);
			/* members keep their own values, and are marked broken */
			merge_struct(&spec->arena, &nc_schema_machine, &x->eff, &x->spec.m, &none);
			x->broken = true;
			x->resolving = 2;
		} while (x != t);
		nc_diag_error(diags, t->spec.inherits.pos, "template inheritance cycle: %s", path.buf);
		nc_buf_release(&path);
		return;
	}
	t->resolving = 1;
	t->broken = t->obj.invalid;
	if (NC_IS_SET(t->spec.inherits)) {
		parent = (struct nc_template *)nc_spec_find(spec, NC_KIND_TEMPLATE,
							    t->spec.inherits.v);
		if (parent) {
			resolve_template(spec, parent, diags);
			if (t->resolving == 2)
				return;    /* part of a cycle, reported */
			pm = &parent->eff;
			t->broken |= parent->broken;
		} else {
			t->broken = true;  /* reported by validate.c */
		}
	}
	merge_struct(&spec->arena, &nc_schema_machine, &t->eff, &t->spec.m, pm);
	t->resolving = 2;
}

void nc_spec_resolve(struct nc_spec *spec, struct nc_diags *diags)
{
	static const struct nc_machine none;
	struct nc_template *t;
	struct nc_vm *vm;
	size_t i;

	NC_SPEC_EACH(spec, NC_KIND_TEMPLATE, struct nc_template, t, i)
		if (t->obj.meta.name.v)
			resolve_template(spec, t, diags);
	NC_SPEC_EACH(spec, NC_KIND_VM, struct nc_vm, vm, i) {
		const struct nc_machine *pm = &none;

		if (NC_IS_SET(vm->spec.template_name)) {
			t = (struct nc_template *)nc_spec_find(spec, NC_KIND_TEMPLATE,
							       vm->spec.template_name.v);
			if (t)
				pm = &t->eff;
		}
		merge_struct(&spec->arena, &nc_schema_machine, &vm->eff, &vm->spec.m, pm);
		merge_map(&spec->arena, &vm->labels, &vm->obj.meta.labels, &vm->eff.labels);
	}
}
