/*
 * scope.c - --target, --selector, --replace and the suspend annotation (scope.h).
 */
#include "scope.h"

#include <string.h>

#include "../spec/util.h"

static const struct {
	const char *word;            /* as typed after "KIND/" (case-insensitive) */
	enum nc_kind kind;
} kinds[] = {
	{ "vm", NC_KIND_VM }, { "network", NC_KIND_NETWORK }, { "image", NC_KIND_IMAGE },
	{ "storagepool", NC_KIND_STORAGE_POOL },
};

/* "VM/web-1" -> kind, name; a bare name is a VM; -1 for an unknown kind */
static int split(const char *t, enum nc_kind *kind, const char **name)
{
	const char *s = strchr(t, '/');
	size_t i;

	if (!s) {
		*kind = NC_KIND_VM;
		*name = t;
		return 0;
	}
	for (i = 0; i < NC_ARRAY_SIZE(kinds); i++)
		if (strlen(kinds[i].word) == (size_t)(s - t) && strncasecmp(t, kinds[i].word, (size_t)(s - t)) == 0) {
			*kind = kinds[i].kind;
			*name = s + 1;
			return 0;
		}
	return -1;
}

/* "; did you mean 'x'?" among the names of kind k, or nothing */
static void suggest(struct nc_buf *b, const struct nc_spec *spec, enum nc_kind k, const char *name)
{
	const char *best = NULL;
	unsigned bestd = 4, d;
	size_t i;

	for (i = 0; i < spec->nobjs[k]; i++) {
		const char *n = spec->objs[k][i]->meta.name.v;

		d = nc_edit_distance(name, n, 3);
		if (d < bestd) {
			bestd = d;
			best = n;
		}
	}
	if (best)
		nc_buf_addf(b, "; did you mean '%s'?", best);
}

static bool key_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 253)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '.' || s[i] == '_' || s[i] == '-' || s[i] == '/'))
			return false;
	return true;
}

/* one term of an expression: [lo, hi); op 0 exists, 1 not exists, 2 equals, 3 differs */
struct term {
	const char *key, *val;
	size_t nkey, nval;
	int op;
};

static int parse_term(const char *lo, const char *hi, struct term *t)
{
	const char *eq;

	memset(t, 0, sizeof(*t));
	while (lo < hi && *lo == ' ')
		lo++;
	while (hi > lo && hi[-1] == ' ')
		hi--;
	if (lo < hi && *lo == '!' && !memchr(lo, '=', (size_t)(hi - lo))) {
		t->op = 1;
		lo++;
	}
	eq = memchr(lo, '=', (size_t)(hi - lo));
	if (!eq) {
		t->key = lo;
		t->nkey = (size_t)(hi - lo);
		return key_ok(t->key, t->nkey) ? 0 : -1;
	}
	t->key = lo;
	t->nkey = (size_t)(eq - lo);
	t->op = 2;
	if (t->nkey && eq[-1] == '!') {
		t->op = 3;
		t->nkey--;
	}
	eq++;
	if (t->op == 2 && eq < hi && *eq == '=')
		eq++;
	t->val = eq;
	t->nval = (size_t)(hi - eq);
	if (!key_ok(t->key, t->nkey) || memchr(t->val, '=', t->nval) || memchr(t->val, '!', t->nval))
		return -1;
	for (size_t i = 0; i < t->nval; i++)
		if (!key_ok(t->val + i, 1) || t->val[i] == '/')
			return -1;
	return 0;
}

int nc_label_selector_check(const char *expr, struct nc_buf *why)
{
	const char *p = expr, *e;
	struct term t;

	if (!*expr) {
		nc_buf_adds(why, "--selector: an empty expression (use k=v, k!=v, k or !k, joined by ',')");
		return -1;
	}
	for (;;) {
		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		if (parse_term(p, e, &t) < 0) {
			nc_buf_addf(why, "--selector: cannot read '%.*s' in '%s' (use k=v, k==v, k!=v, k or !k, "
				    "joined by ','; keys and values of letters, digits, '.', '_', '-')",
				    (int)(e - p), p, expr);
			return -1;
		}
		if (!*e)
			return 0;
		p = e + 1;
	}
}

bool nc_label_selector_match(const char *expr, const struct nc_map *labels)
{
	const char *p = expr, *e;
	struct term t;

	for (;;) {
		const char *v;
		char key[256];

		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		if (parse_term(p, e, &t) < 0)
			return false;
		snprintf(key, sizeof(key), "%.*s", (int)t.nkey, t.key);
		v = nc_map_get(labels, key);
		switch (t.op) {
		case 0: if (!v) return false; break;
		case 1: if (v) return false; break;
		case 2: if (!v || strlen(v) != t.nval || strncmp(v, t.val, t.nval)) return false; break;
		default: if (v && strlen(v) == t.nval && !strncmp(v, t.val, t.nval)) return false; break;
		}
		if (!*e)
			return true;
		p = e + 1;
	}
}

int nc_scope_check(const struct nc_spec *spec, const struct nc_plan_opts *o, struct nc_buf *why)
{
	size_t i;

	for (i = 0; i < o->ntargets; i++) {
		enum nc_kind k;
		const char *name;

		if (split(o->targets[i], &k, &name) < 0) {
			nc_buf_addf(why, "--target %s: unknown kind (VM, Network, Image or StoragePool; a bare name is "
				    "a VM)", o->targets[i]);
			return -1;
		}
		if (!nc_spec_find(spec, k, name)) {
			nc_buf_addf(why, "--target %s: no %s named '%s' in the spec", o->targets[i], nc_kind_name(k), name);
			suggest(why, spec, k, name);
			nc_buf_adds(why, "; nothing was planned");
			return -1;
		}
	}
	for (i = 0; i < o->nreplace; i++)
		if (!nc_spec_find(spec, NC_KIND_VM, o->replace[i])) {
			nc_buf_addf(why, "--replace %s: no VM named '%s' in the spec", o->replace[i], o->replace[i]);
			suggest(why, spec, NC_KIND_VM, o->replace[i]);
			nc_buf_adds(why, "; nothing was planned");
			return -1;
		}
	if (o->selector && nc_label_selector_check(o->selector, why) < 0)
		return -1;
	return 0;
}

bool nc_scope_active(const struct nc_plan_opts *o)
{
	return o->ntargets || o->selector;
}

bool nc_scope_vm_in(const struct nc_plan_opts *o, const struct nc_vm *vm)
{
	size_t i;

	if (!nc_scope_active(o) || nc_scope_replace(o, vm->obj.meta.name.v))
		return true;     /* a VM --replace names is in scope too */
	for (i = 0; i < o->ntargets; i++) {
		enum nc_kind k;
		const char *name;

		if (split(o->targets[i], &k, &name) == 0 && k == NC_KIND_VM && strcmp(name, vm->obj.meta.name.v) == 0)
			return true;
	}
	return o->selector && nc_label_selector_match(o->selector, &vm->labels);
}

bool nc_scope_object_targeted(const struct nc_plan_opts *o, enum nc_object_kind ok, const char *name)
{
	enum nc_kind want = ok == NC_OBJ_NETWORK ? NC_KIND_NETWORK : ok == NC_OBJ_IMAGE ? NC_KIND_IMAGE :
			    ok == NC_OBJ_SECRET ? NC_KIND_STORAGE_POOL : NC_KIND_VM;
	size_t i;

	for (i = 0; i < o->ntargets; i++) {
		enum nc_kind k;
		const char *n;

		if (split(o->targets[i], &k, &n) == 0 && k == want && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

bool nc_scope_replace(const struct nc_plan_opts *o, const char *vm)
{
	size_t i;

	for (i = 0; i < o->nreplace; i++)
		if (strcmp(o->replace[i], vm) == 0)
			return true;
	return false;
}

bool nc_vm_suspended(const struct nc_vm *vm)
{
	const char *v = nc_map_get(&vm->obj.meta.annotations, NC_RECONCILE_ANNOTATION);

	return v && strcmp(v, "disabled") == 0;
}
