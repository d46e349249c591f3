/* noop.c - warnings for accepted fields that nothing acts on yet; see noop.h */
#include "noop.h"

#include <string.h>

#include "schema.h"

const struct nc_noop_field nc_noop_fields[] = {
	{ NC_KIND_TEMPLATE, "metadata.labels",
	  "a Template's own labels are not given to its VMs and nothing selects templates "
	  "(spec.labels are the labels its VMs carry)" },
	{ NC_KIND_PLACEMENT_POLICY, "metadata.labels", "nothing selects placement policies by label" },
	{ NC_KIND_BACKUP_SCHEDULE, "metadata.labels", "nothing selects backup schedules by label" },
	{ NC_KIND_NETWORK, "metadata.labels", "nothing selects networks by label" },
	{ NC_KIND_ALERT_RULE, "metadata.labels",
	  "nothing selects alert rules by label and they are not copied onto alerts" },
	{ NC_KIND_TENANT, "metadata.labels", "nothing selects tenants by label" },
	{ NC_KIND_CLUSTER, "metadata.labels", "nothing selects clusters by label" },
	{ NC_KIND_TIER_POLICY, "metadata.labels", "nothing selects storage tier policies by label" },
};
const size_t nc_noop_nfields = NC_ARRAY_SIZE(nc_noop_fields);

/* The field at a dotted path from a kind's root schema, or NULL. */
static const struct nc_field *field_at(enum nc_kind kind, const char *path)
{
	const struct nc_schema *s = nc_kinds[kind].root;

	while (s) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		const struct nc_field *f = NULL;
		size_t i;

		for (i = 0; i < s->nfields; i++)
			if (strlen(s->fields[i].key) == len && memcmp(s->fields[i].key, path, len) == 0)
				f = &s->fields[i];
		if (!f || !dot)
			return f;
		s = f->type == NC_F_STRUCT ? f->sub : NULL;
		path = dot + 1;
	}
	return NULL;
}

const char *nc_noop_field_why(const struct nc_field *f)
{
	size_t k;

	/* metadata is one schema shared by every kind: only spec fields are told apart */
	for (k = 0; k < nc_noop_nfields; k++)
		if (strncmp(nc_noop_fields[k].path, "spec.", 5) == 0 &&
		    field_at(nc_noop_fields[k].kind, nc_noop_fields[k].path) == f)
			return nc_noop_fields[k].why;
	return NULL;
}

/* The position of the value at path in obj, or NULL when the path is not a field. */
static const struct nc_pos *field_pos(const struct nc_object *obj, const char *path)
{
	const struct nc_schema *s = nc_kinds[obj->kind].root;
	const char *base = (const char *)obj;

	while (s) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		const struct nc_field *f = NULL;
		size_t i;

		for (i = 0; i < s->nfields; i++)
			if (strlen(s->fields[i].key) == len && memcmp(s->fields[i].key, path, len) == 0)
				f = &s->fields[i];
		if (!f)
			return NULL;
		base += f->off;
		if (!dot)
			return (const struct nc_pos *)base;
		if (f->type != NC_F_STRUCT)
			return NULL;
		s = f->sub;
		path = dot + 1;
	}
	return NULL;
}

void nc_spec_warn_noops(const struct nc_spec *spec, struct nc_diags *diags)
{
	size_t k, i;

	for (k = 0; k < nc_noop_nfields; k++) {
		const struct nc_noop_field *n = &nc_noop_fields[k];

		for (i = 0; i < spec->nobjs[n->kind]; i++) {
			const struct nc_object *o = spec->objs[n->kind][i];
			const struct nc_pos *p = field_pos(o, n->path);

			if (p && p->line)
				nc_diag_warning(diags, *p, "%s '%s': %s is accepted but not acted on yet: %s",
						nc_kind_name(n->kind), o->meta.name.v ? o->meta.name.v : "?",
						n->path, n->why);
		}
	}
}
