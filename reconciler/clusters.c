/*
 * clusters.c - a plan over several clusters: --cluster, each action's
 * cluster, grouping and per-cluster counts (clusters.h).
 */
#include "clusters.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "plan-int.h"
#include "../policies/placement.h"
#include "../spec/cluster.h"
#include "../spec/util.h"

int nc_clusters_check(const struct nc_spec *spec, const struct nc_plan_opts *o, struct nc_buf *why)
{
	size_t i, j;

	for (i = 0; i < o->nclusters; i++) {
		const char *best = NULL;
		unsigned bestd = 4;

		if (nc_spec_find(spec, NC_KIND_CLUSTER, o->clusters[i]))
			continue;
		if (!nc_spec_has_clusters(spec)) {
			nc_buf_addf(why, "--cluster %s: the spec declares no Cluster (docs/federation.md); nothing "
				    "was planned", o->clusters[i]);
			return -1;
		}
		nc_buf_addf(why, "--cluster %s: no Cluster named '%s' in the spec", o->clusters[i], o->clusters[i]);
		for (j = 0; j < spec->nobjs[NC_KIND_CLUSTER]; j++) {
			const char *n = spec->objs[NC_KIND_CLUSTER][j]->meta.name.v;
			unsigned d = nc_edit_distance(o->clusters[i], n, 3);

			if (d < bestd) {
				bestd = d;
				best = n;
			}
		}
		if (best)
			nc_buf_addf(why, "; did you mean '%s'?", best);
		nc_buf_adds(why, "; nothing was planned");
		return -1;
	}
	return 0;
}

int nc_clusters_check_serve(const struct nc_spec *spec, const char *name, const char *config_path,
			    struct nc_diags *diags)
{
	struct nc_pos at = nc_pos_file(config_path ? config_path : "--cluster");

	if (!name || nc_spec_find(spec, NC_KIND_CLUSTER, name))
		return 0;
	if (!nc_spec_has_clusters(spec))
		nc_diag_error(diags, at, "serve acts on Cluster '%s', but the spec declares no Cluster "
			      "(docs/federation.md)", name);
	else
		nc_diag_error(diags, at, "serve acts on Cluster '%s', but the spec declares no Cluster of that name",
			      name);
	return -1;
}

bool nc_clusters_of(const struct nc_spec *spec, const struct nc_object *obj, const char *name)
{
	const char *c = nc_spec_cluster_name(spec, obj);

	return c && name && strcmp(c, name) == 0;
}

bool nc_clusters_in(const struct nc_plan_opts *o, const char *cluster)
{
	size_t i;

	if (!o->nclusters)
		return true;
	for (i = 0; cluster && i < o->nclusters; i++)
		if (strcmp(o->clusters[i], cluster) == 0)
			return true;
	return false;
}

/* the action's cluster: its VM's (spec), else its host's */
static const char *action_cluster(const struct nc_spec *spec, const struct nc_cluster *c,
				  const struct nc_action *a)
{
	const struct nc_vm *vm = a->vmref;

	if (!vm && a->obj == NC_OBJ_VM && a->vm)
		vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, a->vm);
	if (vm && vm->obj.cluster)
		return nc_spec_cluster_name(spec, &vm->obj);
	if (a->host < c->nhosts && c->hosts[a->host].spec)
		return nc_spec_cluster_name(spec, &c->hosts[a->host].spec->obj);
	return NULL;
}

/* a note about a VM of a cluster out of scope */
static bool note_out(const struct nc_spec *spec, const struct nc_plan_opts *opts, const struct nc_note *n)
{
	const struct nc_object *vm = n->vm ? nc_spec_find(spec, NC_KIND_VM, n->vm) : NULL;

	return vm && !nc_clusters_in(opts, nc_spec_cluster_name(spec, vm));
}

static int name_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return a ? -1 : b ? 1 : 0;    /* no cluster last */
	return strcmp(a, b);
}

struct ord {
	size_t i;                    /* index before grouping */
	const char *cluster;
};

static int ord_cmp(const void *pa, const void *pb)
{
	const struct ord *a = pa, *b = pb;
	int r = name_cmp(a->cluster, b->cluster);

	return r ? r : a->i < b->i ? -1 : a->i > b->i;
}

static void renumber(struct nc_plan *p, const int *id)
{
	size_t i, j, m;

	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];

		a->id = (int)i + 1;
		for (j = 0, m = 0; j < a->nafter; j++)
			if (a->after[j] >= 1 && id[a->after[j] - 1])
				a->after[m++] = id[a->after[j] - 1];
		a->nafter = m;
	}
}

void nc_plan_by_cluster(struct nc_plan *p, const struct nc_spec *spec, const struct nc_cluster *c,
			const struct nc_plan_opts *opts)
{
	struct ord *ord;
	struct nc_action *v;
	int *id, *pos;
	size_t i, j, n = 0, total = p->nactions;
	bool group = true;

	if (!nc_spec_has_clusters(spec))
		return;
	for (i = 0; i < total; i++)
		p->actions[i].cluster = action_cluster(spec, c, &p->actions[i]);
	/* --cluster: the others' actions and the notes about their VMs go */
	id = nc_xcalloc(total + 1, sizeof(*id));
	for (i = 0; i < total; i++) {
		if (!nc_clusters_in(opts, p->actions[i].cluster)) {
			nc_plan_action_free(&p->actions[i]);
			continue;
		}
		id[i] = (int)n + 1;
		p->actions[n++] = p->actions[i];
	}
	p->nactions = n;
	renumber(p, id);
	for (i = 0, n = 0; i < p->nnotes; i++) {
		if (note_out(spec, opts, &p->notes[i])) {
			if (p->notes[i].kind == NC_NOTE_ERROR && p->errors)
				p->errors--;
			free(p->notes[i].vm);
			free(p->notes[i].text);
			continue;
		}
		p->notes[n++] = p->notes[i];
	}
	p->nnotes = n;
	nc_plan_recount(p);

	/* group by cluster, unless an action waits for one of another cluster */
	n = p->nactions;
	ord = nc_xcalloc(n + 1, sizeof(*ord));
	for (i = 0; i < n; i++) {
		ord[i].i = i;
		ord[i].cluster = p->actions[i].cluster;
		for (j = 0; j < p->actions[i].nafter; j++)
			if (name_cmp(p->actions[p->actions[i].after[j] - 1].cluster, p->actions[i].cluster) != 0)
				group = false;
	}
	if (group && n > 1) {
		qsort(ord, n, sizeof(*ord), ord_cmp);
		v = nc_xcalloc(n, sizeof(*v));
		pos = nc_xcalloc(n + 1, sizeof(*pos));
		for (i = 0; i < n; i++) {
			v[i] = p->actions[ord[i].i];
			pos[ord[i].i] = (int)i + 1;
		}
		memcpy(p->actions, v, n * sizeof(*v));
		renumber(p, pos);
		free(v);
		free(pos);
	}
	free(ord);
	free(id);
}

size_t nc_plan_clusters(const struct nc_plan *p, const struct nc_plan_opts *opts,
			struct nc_plan_cluster **out, bool *grouped)
{
	const struct nc_spec *spec = p->spec;
	struct nc_plan_cluster *v;
	size_t i, j, n = 0, k;

	*out = NULL;
	*grouped = true;
	if (!spec || !nc_spec_has_clusters(spec))
		return 0;
	v = nc_xcalloc(spec->nobjs[NC_KIND_CLUSTER] + 1, sizeof(*v));
	for (i = 0; i < spec->nobjs[NC_KIND_CLUSTER]; i++) {
		const char *name = spec->objs[NC_KIND_CLUSTER][i]->meta.name.v;

		if (opts && !nc_clusters_in(opts, name))
			continue;
		v[n].name = name;
		v[n].first = p->nactions;
		for (k = 0; k < NC_KIND__COUNT; k++)
			if (k == NC_KIND_HOST || k == NC_KIND_VM)
				for (j = 0; j < spec->nobjs[k]; j++)
					if (name_cmp(nc_spec_cluster_name(spec, spec->objs[k][j]), name) == 0) {
						if (k == NC_KIND_HOST)
							v[n].hosts++;
						else
							v[n].vms++;
					}
		n++;
	}
	for (i = 0; i < p->nactions; i++) {
		const struct nc_action *a = &p->actions[i];
		struct nc_plan_cluster *pc = NULL;

		for (k = 0; k < n; k++)
			if (name_cmp(v[k].name, a->cluster) == 0)
				pc = &v[k];
		if (i && name_cmp(a->cluster, p->actions[i - 1].cluster) < 0)
			*grouped = false;
		if (!pc)
			continue;
		if (!pc->n)
			pc->first = i;
		pc->n++;
		switch (a->kind) {
		case NC_ACT_CREATE: pc->ncreate++; break;
		case NC_ACT_UPDATE: pc->nupdate++; break;
		case NC_ACT_START: pc->nstart++; break;
		case NC_ACT_STOP: pc->nstop++; break;
		case NC_ACT_DELETE: pc->ndelete++; break;
		case NC_ACT_MIGRATE: pc->nmigrate++; break;
		case NC_ACT_UPLOAD: pc->nupload++; break;
		case NC_ACT_RECOVER: pc->nrecover++; break;
		case NC_ACT_ADOPT: pc->nadopt++; break;
		case NC_ACT_MOVE_VOLUME: break;   /* counted in the plan's summary */
		}
	}
	*out = v;
	return n;
}

void nc_plan_cluster_summary(const struct nc_plan_cluster *pc, struct nc_buf *out)
{
	nc_buf_addf(out, "%zu to create, %zu to update, %zu to delete, %zu to start, %zu to stop",
		    pc->ncreate, pc->nupdate, pc->ndelete, pc->nstart, pc->nstop);
	if (pc->nmigrate)
		nc_buf_addf(out, ", %zu to migrate", pc->nmigrate);
	if (pc->nupload)
		nc_buf_addf(out, ", %zu image%s to upload", pc->nupload, pc->nupload == 1 ? "" : "s");
	if (pc->nrecover)
		nc_buf_addf(out, ", %zu to restart elsewhere", pc->nrecover);
	if (pc->nadopt)
		nc_buf_addf(out, ", %zu to adopt", pc->nadopt);
}

/* ---- output ---- */

void nc_plan_clusters_text(const struct nc_plan *p, const struct nc_plan_opts *opts, struct nc_buf *out)
{
	struct nc_plan_cluster *v;
	bool grouped;
	size_t n = nc_plan_clusters(p, opts, &v, &grouped), i, w = 7;

	if (!n) {
		free(v);
		return;
	}
	for (i = 0; i < n; i++)
		if (strlen(v[i].name) > w)
			w = strlen(v[i].name);
	nc_buf_adds(out, "\nClusters\n");
	for (i = 0; i < n; i++) {
		nc_buf_addf(out, "  %-*s  %zu host%s, %zu VM%s: ", (int)w, v[i].name, v[i].hosts,
			    v[i].hosts == 1 ? "" : "s", v[i].vms, v[i].vms == 1 ? "" : "s");
		if (v[i].n)
			nc_plan_cluster_summary(&v[i], out);
		else
			nc_buf_adds(out, "no changes");
		nc_buf_addc(out, '\n');
	}
	free(v);
}

void nc_plan_clusters_markdown(const struct nc_plan *p, const struct nc_plan_opts *opts, struct nc_buf *out)
{
	struct nc_plan_cluster *v;
	bool grouped;
	size_t n = nc_plan_clusters(p, opts, &v, &grouped), i;

	if (!n) {
		free(v);
		return;
	}
	nc_buf_adds(out, "**Clusters**\n\n| cluster | hosts | VMs | create | update | delete | start | stop | migrate "
			 "| upload | restart elsewhere |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < n; i++)
		nc_buf_addf(out, "| `%s` | %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu |\n", v[i].name,
			    v[i].hosts, v[i].vms, v[i].ncreate, v[i].nupdate, v[i].ndelete, v[i].nstart, v[i].nstop,
			    v[i].nmigrate, v[i].nupload, v[i].nrecover);
	nc_buf_addc(out, '\n');
	free(v);
}

struct json_object *nc_plan_clusters_json(const struct nc_plan *p, const struct nc_plan_opts *opts)
{
	struct nc_plan_cluster *v;
	bool grouped;
	size_t n = nc_plan_clusters(p, opts, &v, &grouped), i;
	struct json_object *arr;

	if (!p->spec || !nc_spec_has_clusters(p->spec)) {
		free(v);
		return NULL;
	}
	arr = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		nc_json_set(o, "name", nc_json_new_str(v[i].name));
		nc_json_set(o, "hosts", nc_json_new_u64(v[i].hosts));
		nc_json_set(o, "vms", nc_json_new_u64(v[i].vms));
		nc_json_set(o, "actions", nc_json_new_u64(v[i].n));
		nc_json_set(o, "create", nc_json_new_u64(v[i].ncreate));
		nc_json_set(o, "update", nc_json_new_u64(v[i].nupdate));
		nc_json_set(o, "delete", nc_json_new_u64(v[i].ndelete));
		nc_json_set(o, "start", nc_json_new_u64(v[i].nstart));
		nc_json_set(o, "stop", nc_json_new_u64(v[i].nstop));
		nc_json_set(o, "migrate", nc_json_new_u64(v[i].nmigrate));
		nc_json_set(o, "upload", nc_json_new_u64(v[i].nupload));
		nc_json_set(o, "recover", nc_json_new_u64(v[i].nrecover));
		nc_json_set(o, "adopt", nc_json_new_u64(v[i].nadopt));
		json_object_array_add(arr, o);
	}
	free(v);
	return arr;
}

bool nc_plan_cluster_starts(const struct nc_plan *p, size_t i)
{
	size_t j;

	if (!p->spec || !nc_spec_has_clusters(p->spec) || i >= p->nactions)
		return false;
	/* only when the actions are grouped */
	for (j = 1; j < p->nactions; j++)
		if (name_cmp(p->actions[j].cluster, p->actions[j - 1].cluster) < 0)
			return false;
	return i == 0 || name_cmp(p->actions[i].cluster, p->actions[i - 1].cluster) != 0;
}

/* ---- capacity per cluster ---- */

void nc_capacity_clusters(const struct nc_spec *spec, const struct nc_cluster *c,
			  const struct nc_placement_state *ps, const struct nc_template *t,
			  struct nc_buf *text, struct json_object *doc)
{
	struct json_object *arr = NULL;
	size_t k, i;

	if (!nc_spec_has_clusters(spec))
		return;
	if (doc)
		arr = json_object_new_array();
	else
		nc_buf_addf(text, "\n%-12s %5s %-22s %-26s %5s  %-5s%s\n", "CLUSTER", "HOSTS", "VCPUS", "MEMORY", "VMS",
			    "N+1", t ? "  FIT" : "");
	for (k = 0; k < spec->nobjs[NC_KIND_CLUSTER]; k++) {
		const struct nc_cluster_def *cd = (const struct nc_cluster_def *)spec->objs[NC_KIND_CLUSTER][k];
		double uv = 0, cv = 0, um = 0, cm = 0;
		size_t hosts = 0, vms = 0, fails = 0, fit = 0;

		for (i = 0; i < c->nhosts; i++) {
			const struct nc_host_load *l = nc_placement_load(ps, i);

			if (c->hosts[i].spec->obj.cluster != cd)
				continue;
			hosts++;
			uv += l->used_vcpus;
			cv += l->cap_vcpus;
			um += l->used_memory;
			cm += l->cap_memory;
			vms += l->vms;
			if (l->usable && !nc_n1_host(ps, i, NULL))
				fails++;
		}
		if (t) {
			struct nc_vm like;

			memset(&like, 0, sizeof(like));
			like.obj.kind = NC_KIND_VM;
			like.obj.meta.name.v = "(template)";
			like.obj.cluster = cd;    /* placed on this cluster's hosts only */
			like.eff = t->eff;
			like.labels = t->eff.labels;
			fit = NC_IS_SET(like.eff.vcpus) && NC_IS_SET(like.eff.memory) ? nc_fit_count(ps, &like, 100000) : 0;
		}
		if (arr) {
			struct json_object *o = json_object_new_object();

			nc_json_set(o, "name", nc_json_new_str(cd->obj.meta.name.v));
			nc_json_set(o, "hosts", nc_json_new_u64(hosts));
			nc_json_set(o, "vcpus_used", json_object_new_int64(llround(uv)));
			nc_json_set(o, "vcpus_capacity", json_object_new_int64(llround(cv)));
			nc_json_set(o, "memory_used", json_object_new_int64(llround(um)));
			nc_json_set(o, "memory_capacity", json_object_new_int64(llround(cm)));
			nc_json_set(o, "vms", nc_json_new_u64(vms));
			nc_json_set(o, "n1_failures", nc_json_new_u64(fails));
			if (t)
				nc_json_set(o, "fit", nc_json_new_u64(fit));
			json_object_array_add(arr, o);
		} else {
			char cpu[128], mem[128], a[32], b[32];

			snprintf(cpu, sizeof(cpu), "%.0f/%.0f (%.0f%%)", fmin(uv, 1e15), fmin(cv, 1e15), cv > 0 ? uv / cv * 100 : 0);
			nc_size_format((uint64_t)llround(um), a, sizeof(a));
			nc_size_format((uint64_t)llround(cm), b, sizeof(b));
			snprintf(mem, sizeof(mem), "%s/%s (%.0f%%)", a, b, cm > 0 ? um / cm * 100 : 0);
			nc_buf_addf(text, "%-12s %5zu %-22s %-26s %5zu  %-5s", cd->obj.meta.name.v, hosts, cpu, mem, vms,
				    fails ? "FAIL" : "ok");
			if (t)
				nc_buf_addf(text, "  %zu", fit);
			nc_buf_addc(text, '\n');
		}
	}
	if (arr)
		nc_json_set(doc, "clusters", arr);
}
