/*
 * tenant.c - Tenants (tenant.h, docs/tenants.md): which tenant owns an
 * object, the rules validate applies to tenants' folders, quotas, and the
 * usage plan and the API show.
 */
#include "tenant.h"

#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* at most this many VMs are named in a quota message */
#define QUOTA_LIST_MAX 20

/* ---- paths ---- */

/* The path of file below the root it was loaded from ("teams/web/vms.yaml"). */
static const char *rel_path(const struct nc_spec *spec, const char *file)
{
	const char *best = NULL;
	size_t best_len = 0, i;

	for (i = 0; i < spec->nroots; i++) {
		const struct nc_spec_root *r = &spec->roots[i];
		size_t n = strlen(r->path);

		if (!r->dir) {
			if (strcmp(file, r->path) == 0 && n >= best_len) {
				const char *slash = strrchr(file, '/');

				best = slash ? slash + 1 : file;
				best_len = n;
			}
			continue;
		}
		if (n < best_len || strncmp(file, r->path, n) != 0)
			continue;
		if (n && r->path[n - 1] == '/')
			best = file + n;
		else if (file[n] == '/')
			best = file + n + 1;
		else
			continue;
		best_len = n;
	}
	if (!best)
		best = file;
	while (best[0] == '.' && best[1] == '/')
		best += 2;
	while (*best == '/')
		best++;
	return best;
}

/*
 * A folder as written in paths or adminPaths, without a leading "./" and
 * trailing slashes: *len bytes at the returned pointer.  NULL with *why
 * when it is not a folder of the spec.
 */
static const char *folder(const char *p, size_t *len, const char **why)
{
	const char *s, *c;
	size_t n;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	*len = n;
	if (p[0] == '/') {
		*why = "an absolute path; write it relative to the spec's root (e.g. teams/web)";
		return NULL;
	}
	if (!n || (n == 1 && p[0] == '.')) {
		*why = "the whole spec; name a folder in it (e.g. teams/web)";
		return NULL;
	}
	for (s = p; s < p + n; s = c + 1) {
		c = memchr(s, '/', (size_t)(p + n - s));
		if (!c)
			c = p + n;
		if (c == s || (c - s == 1 && s[0] == '.') || (c - s == 2 && s[0] == '.' && s[1] == '.')) {
			*why = "it has an empty, '.' or '..' component";
			return NULL;
		}
	}
	for (s = p; s < p + n; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\') {
			*why = "it has a control character or a backslash";
			return NULL;
		}
	return p;
}

/* Is rel (a file's path below the root) inside folder p (len bytes)? */
static bool inside(const char *rel, const char *p, size_t len)
{
	return strncmp(rel, p, len) == 0 && (rel[len] == '/' || rel[len] == '\0');
}

/* the same three for spec/cluster.c (internal.h) */
const char *nc_spec_rel_path(const struct nc_spec *spec, const char *file)
{
	return rel_path(spec, file);
}

const char *nc_spec_folder(const char *p, size_t *len, const char **why)
{
	return folder(p, len, why);
}

bool nc_spec_inside(const char *rel, const char *p, size_t len)
{
	return inside(rel, p, len);
}

const struct nc_tenant *nc_tenant_of_file(const struct nc_spec *spec, const char *file)
{
	return (const struct nc_tenant *)nc_spec_folder_owner(spec, NC_KIND_TENANT,
							      offsetof(struct nc_tenant, spec.paths), file, NULL);
}

const char *nc_tenant_of(const struct nc_spec *spec, const struct nc_object *obj)
{
	const struct nc_tenant *t = obj ? nc_tenant_of_file(spec, obj->pos.file) : NULL;

	return t ? t->obj.meta.name.v : NULL;
}

/* ---- validate ---- */

static bool listed(const struct nc_strlist *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].v && strcmp(l->v[i].v, name) == 0)
			return true;
	return false;
}

/* "(its pools: a, b)" / "(its pools: none)" */
static void list_words(struct nc_buf *b, const char *what, const struct nc_strlist *l)
{
	size_t i;

	nc_buf_addf(b, "its %s: ", what);
	if (!l->n)
		nc_buf_adds(b, "none");
	for (i = 0; i < l->n; i++)
		nc_buf_addf(b, "%s%s", i ? ", " : "", l->v[i].v ? l->v[i].v : "?");
}

/* May tenant t use the network or pool `name` (l: its allow list)? */
static void check_use(struct nc_spec *spec, struct nc_diags *diags, const struct nc_tenant *t,
		      const struct nc_strlist *l, const char *what, const struct nc_str *v,
		      const char *who, const char *via, struct nc_pos at)
{
	struct nc_buf b = NC_BUF_INIT;

	if (!NC_IS_SET(*v) || !v->v || !NC_IS_SET(*l) || listed(l, v->v))
		return;
	list_words(&b, strcmp(what, "network") == 0 ? "networks" : "pools", l);
	nc_diag_error(diags, at, "%s uses %s '%s'%s, which Tenant '%s' may not use (%s)", who, what,
		      nc_spec_quote(spec, v->v), via, t->obj.meta.name.v, b.buf);
	nc_buf_release(&b);
}

/* May tenant t use Template name?  Its own always; others as its templates list says. */
static void check_template(struct nc_spec *spec, struct nc_diags *diags, const struct nc_tenant *t,
			   const struct nc_str *v, const char *who)
{
	const struct nc_template *tp;
	const struct nc_tenant *owner;
	struct nc_buf b = NC_BUF_INIT;

	if (!NC_IS_SET(*v) || !v->v)
		return;
	tp = (const struct nc_template *)nc_spec_find(spec, NC_KIND_TEMPLATE, v->v);
	if (!tp)
		return;   /* reported as missing */
	owner = nc_tenant_of_file(spec, tp->obj.pos.file);
	if (owner == t)
		return;
	if (NC_IS_SET(t->spec.templates)) {
		if (listed(&t->spec.templates, v->v))
			return;
		list_words(&b, "templates", &t->spec.templates);
		nc_diag_error(diags, v->pos, "%s uses Template '%s', which Tenant '%s' may not use (%s)", who,
			      v->v, t->obj.meta.name.v, b.buf);
	} else if (owner) {
		nc_diag_error(diags, v->pos, "%s uses Template '%s' of Tenant '%s', which Tenant '%s' may not "
			      "use: a tenant uses its own templates, the admins' and those its templates list names",
			      who, v->v, owner->obj.meta.name.v, t->obj.meta.name.v);
	}
	nc_buf_release(&b);
}

/*
 * The networks and pools of a machine.  own: values written in the object
 * itself, reported where they are; else the effective machine's values that
 * come from outside the tenant's folders, reported at `at` (the VM's
 * template), "from Template 'x'".
 */
static void check_machine(struct nc_spec *spec, struct nc_diags *diags, const struct nc_tenant *t,
			  const struct nc_machine *m, bool own, const char *who, const char *tmpl,
			  struct nc_pos at)
{
	char *via = tmpl ? nc_xasprintf(" (from Template '%s')", tmpl) : nc_xstrdup("");
	size_t i;

	for (i = 0; i < m->disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)m->disks.v + i;

		if (own)
			check_use(spec, diags, t, &t->spec.pools, "pool", &d->pool, who, "", d->pool.pos);
		else if (NC_IS_SET(d->pool) && nc_tenant_of_file(spec, d->pool.pos.file) != t)
			check_use(spec, diags, t, &t->spec.pools, "pool", &d->pool, who, via, at);
	}
	for (i = 0; i < m->nics.n; i++) {
		const struct nc_nic *n = (const struct nc_nic *)m->nics.v + i;

		if (own)
			check_use(spec, diags, t, &t->spec.networks, "network", &n->network, who, "",
				  n->network.pos);
		else if (NC_IS_SET(n->network) && nc_tenant_of_file(spec, n->network.pos.file) != t)
			check_use(spec, diags, t, &t->spec.networks, "network", &n->network, who, via, at);
	}
	free(via);
}

/* a tenant's folder holds VMs and Templates only */
static void check_kinds(struct nc_spec *spec, struct nc_diags *diags)
{
	size_t k, i;

	for (k = 0; k < NC_KIND__COUNT; k++) {
		if (k == NC_KIND_VM || k == NC_KIND_TEMPLATE)
			continue;
		for (i = 0; i < spec->nobjs[k]; i++) {
			const struct nc_object *o = spec->objs[k][i];
			const struct nc_tenant *t = nc_tenant_of_file(spec, o->pos.file);
			struct nc_pos at = NC_IS_SET(o->kind_str) ? o->kind_str.pos : o->pos;

			if (!t)
				continue;
			nc_diag_error(diags, at, "%s '%s' is declared in a folder of Tenant '%s' (%s): a tenant "
				      "declares VMs and Templates only; %s belong to the admins' folders (docs/tenants.md)",
				      nc_kinds[k].name, o->meta.name.v, t->obj.meta.name.v, rel_path(spec, o->pos.file),
				      k == NC_KIND_TENANT ? "Tenants" : "hosts, pools, networks, images, policies, "
				      "schedules and rules");
		}
	}
}

static void check_objects(struct nc_spec *spec, struct nc_diags *diags)
{
	const struct nc_template *tp;
	const struct nc_vm *vm;
	size_t i;

	NC_SPEC_EACH(spec, NC_KIND_TEMPLATE, const struct nc_template, tp, i) {
		const struct nc_tenant *t = nc_tenant_of_file(spec, tp->obj.pos.file);
		char *who;

		if (!t)
			continue;
		who = nc_xasprintf("Template '%s'", tp->obj.meta.name.v);
		check_template(spec, diags, t, &tp->spec.inherits, who);
		check_machine(spec, diags, t, &tp->spec.m, true, who, NULL, tp->obj.pos);
		free(who);
	}
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		const struct nc_tenant *t = nc_tenant_of_file(spec, vm->obj.pos.file);
		const struct nc_template *from = NULL;
		char *who;

		if (!t)
			continue;
		who = nc_xasprintf("VM '%s'", vm->obj.meta.name.v);
		check_template(spec, diags, t, &vm->spec.template_name, who);
		check_machine(spec, diags, t, &vm->spec.m, true, who, NULL, vm->obj.pos);
		if (NC_IS_SET(vm->spec.template_name))
			from = (const struct nc_template *)nc_spec_find(spec, NC_KIND_TEMPLATE,
									vm->spec.template_name.v);
		if (from)
			check_machine(spec, diags, t, &vm->eff, false, who, from->obj.meta.name.v,
				      vm->spec.template_name.pos);
		if (NC_IS_SET(vm->spec.restore))
			nc_diag_error(diags, vm->spec.restore.pos, "VM '%s' of Tenant '%s' restores from a backup: "
				      "a repository holds every VM's backups and an id names any of them, so a "
				      "tenant's VM may not; an admin restores it (docs/tenants.md)",
				      vm->obj.meta.name.v, t->obj.meta.name.v);
		free(who);
	}
}

/* ---- usage ---- */

/* sums saturate: sizes have no upper bound, and a wrapped sum would pass any quota */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static bool counts(const struct nc_vm *vm)
{
	return !(NC_IS_SET(vm->spec.state) && vm->spec.state.v == NC_STATE_ABSENT);
}

static uint64_t vm_disk(const struct nc_vm *vm)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < vm->eff.disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + i;

		if (NC_IS_SET(d->size))
			sum = sat_add(sum, d->size.v);
	}
	return sum;
}

static size_t tenant_index(const struct nc_spec *spec, const struct nc_tenant *t)
{
	size_t i;

	for (i = 0; i < spec->nobjs[NC_KIND_TENANT]; i++)
		if (spec->objs[NC_KIND_TENANT][i] == &t->obj)
			return i;
	return 0;
}

enum quota_what { Q_VMS, Q_VCPUS, Q_MEMORY, Q_DISK };

static uint64_t vm_amount(const struct nc_vm *vm, enum quota_what w)
{
	switch (w) {
	case Q_VMS:
		return 1;
	case Q_VCPUS:
		return NC_IS_SET(vm->eff.vcpus) && vm->eff.vcpus.v > 0 ? (uint64_t)vm->eff.vcpus.v : 0;
	case Q_MEMORY:
		return NC_IS_SET(vm->eff.memory) ? vm->eff.memory.v : 0;
	case Q_DISK:
		return vm_disk(vm);
	}
	return 0;
}

size_t nc_tenant_usage(const struct nc_spec *spec, struct nc_tenant_usage **out)
{
	size_t n = spec->nobjs[NC_KIND_TENANT], i;
	struct nc_tenant_usage *u = nc_xcalloc(n ? n : 1, sizeof(*u));
	const struct nc_vm *vm;

	for (i = 0; i < n; i++)
		u[i].tenant = (const struct nc_tenant *)spec->objs[NC_KIND_TENANT][i];
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		const struct nc_tenant *t = n ? nc_tenant_of_file(spec, vm->obj.pos.file) : NULL;
		struct nc_tenant_usage *x;

		if (!t || !counts(vm))
			continue;
		x = &u[tenant_index(spec, t)];
		x->vms++;
		x->vcpus = sat_add(x->vcpus, vm_amount(vm, Q_VCPUS));
		x->memory = sat_add(x->memory, vm_amount(vm, Q_MEMORY));
		x->disk = sat_add(x->disk, vm_amount(vm, Q_DISK));
	}
	*out = u;
	return n;
}

static void amount(struct nc_buf *b, enum quota_what w, uint64_t v)
{
	char s[32];

	if (v == UINT64_MAX) {
		nc_buf_adds(b, "16EiB or more");   /* a saturated sum */
	} else if (w == Q_MEMORY || w == Q_DISK) {
		nc_size_format(v, s, sizeof(s));
		nc_buf_adds(b, s);
	} else {
		nc_buf_addf(b, "%llu", (unsigned long long)v);
	}
}

/* "Tenant 'web' is over its quota: 12 vCPUs of 8 allowed (VM a 4, VM b 8)" at the quota's value */
static void over_quota(struct nc_spec *spec, struct nc_diags *diags, const struct nc_tenant *t,
		       enum quota_what w, uint64_t used, uint64_t limit, struct nc_pos at)
{
	static const char *const unit[] = { " VMs", " vCPUs", " of memory", " of disk" };
	struct nc_buf b = NC_BUF_INIT;
	const struct nc_vm *vm;
	size_t i, shown = 0, more = 0;

	amount(&b, w, used);
	nc_buf_addf(&b, "%s of ", unit[w]);
	amount(&b, w, limit);
	nc_buf_adds(&b, " allowed (");
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		if (!counts(vm) || nc_tenant_of_file(spec, vm->obj.pos.file) != t)
			continue;
		if (shown == QUOTA_LIST_MAX) {
			more++;
			continue;
		}
		nc_buf_addf(&b, "%sVM %s", shown++ ? ", " : "", vm->obj.meta.name.v);
		if (w != Q_VMS) {
			nc_buf_addc(&b, ' ');
			amount(&b, w, vm_amount(vm, w));
		}
	}
	if (more)
		nc_buf_addf(&b, " and %zu more", more);
	nc_buf_addc(&b, ')');
	nc_diag_error(diags, at, "Tenant '%s' is over its quota: %s", t->obj.meta.name.v, b.buf);
	nc_buf_release(&b);
}

static void check_quotas(struct nc_spec *spec, struct nc_diags *diags)
{
	struct nc_tenant_usage *u = NULL;
	size_t n = nc_tenant_usage(spec, &u), i;

	for (i = 0; i < n; i++) {
		const struct nc_tenant_quota *q = &u[i].tenant->spec.quota;

		if (NC_IS_SET(q->vms) && u[i].vms > (uint64_t)q->vms.v)
			over_quota(spec, diags, u[i].tenant, Q_VMS, u[i].vms, (uint64_t)q->vms.v, q->vms.pos);
		if (NC_IS_SET(q->vcpus) && u[i].vcpus > (uint64_t)q->vcpus.v)
			over_quota(spec, diags, u[i].tenant, Q_VCPUS, u[i].vcpus, (uint64_t)q->vcpus.v, q->vcpus.pos);
		if (NC_IS_SET(q->memory) && u[i].memory > q->memory.v)
			over_quota(spec, diags, u[i].tenant, Q_MEMORY, u[i].memory, q->memory.v, q->memory.pos);
		if (NC_IS_SET(q->disk) && u[i].disk > q->disk.v)
			over_quota(spec, diags, u[i].tenant, Q_DISK, u[i].disk, q->disk.v, q->disk.pos);
	}
	free(u);
}

void nc_tenant_validate(struct nc_spec *spec, struct nc_diags *diags)
{
	if (!spec->nobjs[NC_KIND_TENANT])
		return;
	nc_spec_check_folder_claims(spec, NC_KIND_TENANT, offsetof(struct nc_tenant, spec.paths), diags);
	check_kinds(spec, diags);
	check_objects(spec, diags);
	check_quotas(spec, diags);
}

int nc_tenant_check_admin(const struct nc_spec *spec, const struct nc_strlist *admin_paths,
			  struct nc_diags *diags)
{
	const struct nc_tenant *t;
	size_t errors = diags->errors, i, j;
	bool set = admin_paths && NC_IS_SET(*admin_paths);
	struct nc_buf list = NC_BUF_INIT;

	if (set) {
		for (j = 0; j < admin_paths->n; j++) {
			const char *why;
			size_t len;

			if (admin_paths->v[j].v && !folder(admin_paths->v[j].v, &len, &why))
				nc_diag_error(diags, admin_paths->v[j].pos,
					      "tenancy.adminPaths: '%s' is not a folder of the spec: %s",
					      admin_paths->v[j].v, why);
			else if (admin_paths->v[j].v)
				nc_buf_addf(&list, "%s%s", list.len ? ", " : "", admin_paths->v[j].v);
		}
	}
	if (!spec || !spec->nobjs[NC_KIND_TENANT])
		goto out;
	if (!set) {
		t = (const struct nc_tenant *)spec->objs[NC_KIND_TENANT][0];
		nc_diag_warning(diags, NC_IS_SET(t->obj.kind_str) ? t->obj.kind_str.pos : t->obj.pos,
				"tenancy is not locked down: the operator's configuration sets no tenancy.adminPaths, "
				"so a Tenant (and its quota) may be declared in any folder of the spec (docs/tenants.md)");
		goto out;
	}
	NC_SPEC_EACH(spec, NC_KIND_TENANT, const struct nc_tenant, t, i) {
		const char *rel = rel_path(spec, t->obj.pos.file);
		bool ok = false;

		for (j = 0; j < admin_paths->n && !ok; j++) {
			const char *why, *p;
			size_t len;

			p = admin_paths->v[j].v ? folder(admin_paths->v[j].v, &len, &why) : NULL;
			ok = p && inside(rel, p, len);
		}
		if (!ok)
			nc_diag_error(diags, NC_IS_SET(t->obj.kind_str) ? t->obj.kind_str.pos : t->obj.pos,
				      "Tenant '%s' is declared in %s, outside the admin paths of %s "
				      "(tenancy.adminPaths: %s): only admins' folders may declare Tenants and their quotas",
				      t->obj.meta.name.v, rel, admin_paths->pos.file ? admin_paths->pos.file : "the configuration",
				      list.len ? list.buf : "none");
	}
out:
	nc_buf_release(&list);
	nc_diags_sort(diags);   /* serve prints them as they are */
	return diags->errors > errors ? -1 : 0;
}

/* ---- rendering ---- */

void nc_tenant_usage_json(const struct nc_spec *spec, bool (*sees)(const void *ctx, const char *tenant),
			  const void *ctx, struct nc_buf *out)
{
	struct nc_tenant_usage *u = NULL;
	size_t n = spec ? nc_tenant_usage(spec, &u) : 0, i, shown = 0;

	nc_buf_addc(out, '[');
	for (i = 0; i < n; i++) {
		const struct nc_tenant_quota *q = &u[i].tenant->spec.quota;
		const char *name = u[i].tenant->obj.meta.name.v;

		if (sees && !sees(ctx, name))
			continue;
		nc_buf_adds(out, shown++ ? ", {\"name\": " : "{\"name\": ");
		nc_buf_add_json_str(out, name);
		nc_buf_adds(out, ", \"quota\": {\"vms\": ");
		if (NC_IS_SET(q->vms))
			nc_buf_addf(out, "%lld", (long long)q->vms.v);
		else
			nc_buf_adds(out, "null");
		nc_buf_adds(out, ", \"vcpus\": ");
		if (NC_IS_SET(q->vcpus))
			nc_buf_addf(out, "%lld", (long long)q->vcpus.v);
		else
			nc_buf_adds(out, "null");
		nc_buf_adds(out, ", \"memory\": ");
		if (NC_IS_SET(q->memory))
			nc_buf_addf(out, "%llu", (unsigned long long)q->memory.v);
		else
			nc_buf_adds(out, "null");
		nc_buf_adds(out, ", \"disk\": ");
		if (NC_IS_SET(q->disk))
			nc_buf_addf(out, "%llu", (unsigned long long)q->disk.v);
		else
			nc_buf_adds(out, "null");
		nc_buf_addf(out, "}, \"usage\": {\"vms\": %llu, \"vcpus\": %llu, \"memory\": %llu, \"disk\": %llu}}",
			    (unsigned long long)u[i].vms, (unsigned long long)u[i].vcpus,
			    (unsigned long long)u[i].memory, (unsigned long long)u[i].disk);
	}
	nc_buf_addc(out, ']');
	free(u);
}

/* the cells of one tenant's row: "2 of 4" or "2" without a limit */
static void cells(const struct nc_tenant_usage *u, char cell[4][80])
{
	const struct nc_tenant_quota *q = &u->tenant->spec.quota;
	char a[32], b[32];

	if (NC_IS_SET(q->vms))
		snprintf(cell[0], 80, "%llu of %lld", (unsigned long long)u->vms, (long long)q->vms.v);
	else
		snprintf(cell[0], 80, "%llu", (unsigned long long)u->vms);
	if (NC_IS_SET(q->vcpus))
		snprintf(cell[1], 80, "%llu of %lld", (unsigned long long)u->vcpus, (long long)q->vcpus.v);
	else
		snprintf(cell[1], 80, "%llu", (unsigned long long)u->vcpus);
	nc_size_format(u->memory, a, sizeof(a));
	nc_size_format(q->memory.v, b, sizeof(b));
	if (NC_IS_SET(q->memory))
		snprintf(cell[2], 80, "%s of %s", a, b);
	else
		snprintf(cell[2], 80, "%s", a);
	nc_size_format(u->disk, a, sizeof(a));
	nc_size_format(q->disk.v, b, sizeof(b));
	if (NC_IS_SET(q->disk))
		snprintf(cell[3], 80, "%s of %s", a, b);
	else
		snprintf(cell[3], 80, "%s", a);
}

void nc_tenant_usage_text(const struct nc_spec *spec, struct nc_buf *out)
{
	static const char *const head[5] = { "tenant", "VMs", "vCPUs", "memory", "disk" };
	struct nc_tenant_usage *u = NULL;
	size_t n = spec ? nc_tenant_usage(spec, &u) : 0, i, k, w[5];
	char cell[4][80];

	if (!n)
		goto out;
	for (k = 0; k < 5; k++)
		w[k] = strlen(head[k]);
	for (i = 0; i < n; i++) {
		cells(&u[i], cell);
		if (strlen(u[i].tenant->obj.meta.name.v) > w[0])
			w[0] = strlen(u[i].tenant->obj.meta.name.v);
		for (k = 0; k < 4; k++)
			if (strlen(cell[k]) > w[k + 1])
				w[k + 1] = strlen(cell[k]);
	}
	nc_buf_adds(out, "\nTenants (usage declared in the spec, of quota)\n");
	for (k = 0; k < 5; k++)
		nc_buf_addf(out, "  %-*s", k < 4 ? (int)w[k] : 0, head[k]);
	nc_buf_addc(out, '\n');
	for (i = 0; i < n; i++) {
		cells(&u[i], cell);
		nc_buf_addf(out, "  %-*s", (int)w[0], u[i].tenant->obj.meta.name.v);
		for (k = 0; k < 4; k++)
			nc_buf_addf(out, "  %-*s", k < 3 ? (int)w[k + 1] : 0, cell[k]);
		nc_buf_addc(out, '\n');
	}
out:
	free(u);
}

void nc_tenant_usage_markdown(const struct nc_spec *spec, struct nc_buf *out)
{
	struct nc_tenant_usage *u = NULL;
	size_t n = spec ? nc_tenant_usage(spec, &u) : 0, i;
	char cell[4][80];

	if (!n)
		goto out;
	nc_buf_adds(out, "**Tenants** (usage declared in the spec, of quota)\n\n"
			 "| tenant | VMs | vCPUs | memory | disk |\n|---|---|---|---|---|\n");
	for (i = 0; i < n; i++) {
		cells(&u[i], cell);
		nc_buf_addf(out, "| `%s` | %s | %s | %s | %s |\n", u[i].tenant->obj.meta.name.v, cell[0], cell[1],
			    cell[2], cell[3]);
	}
	nc_buf_addc(out, '\n');
out:
	free(u);
}
