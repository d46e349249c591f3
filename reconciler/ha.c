/*
 * ha.c - the record of failed and fenced hosts, STATE_DIR/ha.json (see ha.h).
 */
#include "ha.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostrec.h"
#include "jsonout.h"
#include "pass.h"

#define HA_MAX_SIZE (16u << 20)

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int host_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_ha_host *)a)->name, ((const struct nc_ha_host *)b)->name);
}

static void list_clear(char ***list, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

bool nc_ha_list_has(char *const *list, size_t n, const char *s)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(list[mid], s);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void nc_ha_list_add(char ***list, size_t *n, const char *s)
{
	if (nc_ha_list_has(*list, *n, s))
		return;
	*list = nc_xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = nc_xstrdup(s);
	qsort(*list, *n, sizeof(**list), str_cmp);
}

static void host_release(struct nc_ha_host *h)
{
	list_clear(&h->disks, &h->ndisks);
	list_clear(&h->recovered, &h->nrecovered);
	free(h->name);
	free(h->fenced_by);
	free(h->detail);
}

void nc_ha_release(struct nc_ha_record *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nhosts; i++)
		host_release(&r->hosts[i]);
	free(r->hosts);
	memset(r, 0, sizeof(*r));
}

const struct nc_ha_host *nc_ha_find(const struct nc_ha_record *r, const char *name)
{
	size_t lo = 0, hi = r ? r->nhosts : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->hosts[mid].name, name);

		if (c == 0)
			return &r->hosts[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct nc_ha_host *nc_ha_get(struct nc_ha_record *r, const char *name)
{
	struct nc_ha_host *h = (struct nc_ha_host *)nc_ha_find(r, name);

	if (h)
		return h;
	r->hosts = nc_xreallocarray(r->hosts, r->nhosts + 1, sizeof(*r->hosts));
	h = &r->hosts[r->nhosts++];
	memset(h, 0, sizeof(*h));
	h->name = nc_xstrdup(name);
	qsort(r->hosts, r->nhosts, sizeof(*r->hosts), host_cmp);
	return (struct nc_ha_host *)nc_ha_find(r, name);
}

bool nc_ha_forget(struct nc_ha_record *r, const char *name)
{
	struct nc_ha_host *h = (struct nc_ha_host *)nc_ha_find(r, name);
	size_t i;

	if (!h)
		return false;
	i = (size_t)(h - r->hosts);
	host_release(h);
	memmove(&r->hosts[i], &r->hosts[i + 1], (r->nhosts - i - 1) * sizeof(*r->hosts));
	r->nhosts--;
	return true;
}

bool nc_ha_vm_fenced(const struct nc_ha_host *h, const char *const *rbd_disks, size_t nrbd,
		     bool has_local_disks)
{
	size_t i;

	if (!h || !h->fenced)
		return false;
	if (h->whole_host)
		return true;
	if (has_local_disks || nrbd == 0)
		return false;    /* a VM without rbd disks has nothing a disk fence covers */
	for (i = 0; i < nrbd; i++)
		if (!nc_ha_list_has(h->disks, h->ndisks, rbd_disks[i]))
			return false;
	return true;
}

static char *rec_path(const char *state_dir)
{
	return nc_xasprintf("%s/%s", state_dir, NC_HA_FILE);
}

/* optional string: absent or null -> NULL (ok); *bad on anything else */
static char *opt_str(struct json_object *map, const char *key, bool *bad)
{
	struct json_object *n = NULL;
	const char *s;

	if (!json_object_object_get_ex(map, key, &n) || !n)
		return NULL;
	if (!(s = nc_json_get_str(n))) {
		*bad = true;
		return NULL;
	}
	return nc_xstrdup(s);
}

static bool opt_bool(struct json_object *map, const char *key, bool *bad)
{
	struct json_object *n = NULL;

	if (!json_object_object_get_ex(map, key, &n))
		return false;
	if (!json_object_is_type(n, json_type_boolean)) {
		*bad = true;
		return false;
	}
	return json_object_get_boolean(n);
}

static int64_t opt_int(struct json_object *map, const char *key, bool *bad)
{
	struct json_object *n = NULL;
	int64_t v;

	if (!json_object_object_get_ex(map, key, &n))
		return 0;
	errno = 0;
	if (!json_object_is_type(n, json_type_int) || (v = json_object_get_int64(n)) < 0 || errno) {
		*bad = true;
		return 0;
	}
	return v;
}

static void opt_list(struct json_object *map, const char *key, char ***list, size_t *n, bool *bad)
{
	struct json_object *seq = NULL;
	size_t i;

	if (!json_object_object_get_ex(map, key, &seq))
		return;
	if (!json_object_is_type(seq, json_type_array)) {
		*bad = true;
		return;
	}
	for (i = 0; i < json_object_array_length(seq); i++) {
		const char *s = nc_json_get_str(json_object_array_get_idx(seq, i));

		if (!s || !*s) {
			*bad = true;
			return;
		}
		nc_ha_list_add(list, n, s);
	}
}

int nc_ha_load(struct nc_ha_record *out, const char *state_dir, struct nc_err *err)
{
	struct nc_ha_record r = { 0 };
	struct json_object *root = NULL, *hosts, *fv;
	char *path = rec_path(state_dir), *buf = NULL;
	size_t len, i;
	int ret = -1, rd;
	bool bad = false;

	errno = 0;
	rd = nc_read_file(path, HA_MAX_SIZE, &buf, &len);
	if (rd == -1 && errno == ENOENT) {
		memset(out, 0, sizeof(*out));
		ret = 0;
		goto out;
	}
	if (rd < 0) {
		nc_err_set(err, "cannot read the HA record %s: %s", path,
			   rd == -2 ? "larger than 16 MiB" : strerror(errno));
		goto out;
	}
	/* JSON (json-c), exactly one object of format_version 1 */
	if (!(root = nc_json_parse_one(buf, len)) || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "format_version", &fv) || !json_object_is_type(fv, json_type_int) ||
	    json_object_get_int64(fv) != 1 || !json_object_object_get_ex(root, "hosts", &hosts) ||
	    !json_object_is_type(hosts, json_type_array))
		goto bad;
	for (i = 0; i < json_object_array_length(hosts) && !bad; i++) {
		struct json_object *h = json_object_array_get_idx(hosts, i);
		struct json_object *jn = NULL;
		const char *name;
		struct nc_ha_host *e;

		if (!json_object_is_type(h, json_type_object) || !json_object_object_get_ex(h, "name", &jn) ||
		    !(name = nc_json_get_str(jn)) || !*name ||
		    nc_ha_find(&r, name))
			goto bad;
		e = nc_ha_get(&r, name);
		e->failed_at = opt_int(h, "failed_at", &bad);
		e->fenced = opt_bool(h, "fenced", &bad);
		e->fenced_at = opt_int(h, "fenced_at", &bad);
		e->fenced_by = opt_str(h, "fenced_by", &bad);
		e->detail = opt_str(h, "detail", &bad);
		e->whole_host = opt_bool(h, "whole_host", &bad);
		opt_list(h, "disks", &e->disks, &e->ndisks, &bad);
		opt_list(h, "recovered", &e->recovered, &e->nrecovered, &bad);
		if (e->whole_host && !e->fenced)
			bad = true;  /* a host off yet not fenced: no writer of ours says that */
	}
	if (bad)
		goto bad;
	*out = r;
	memset(&r, 0, sizeof(r));
	ret = 0;
	goto out;
bad:
	nc_err_set(err, "%s is not an HA record written by novacron; nothing is restarted without it: "
			"restore it, or remove it once every failed host is known off (its fences are forgotten)",
		   path);
out:
	nc_ha_release(&r);
	json_object_put(root);
	free(buf);
	free(path);
	return ret;
}

static void add_list(struct nc_buf *b, const char *key, char *const *list, size_t n)
{
	size_t j;

	nc_buf_addf(b, ", \"%s\": [", key);
	for (j = 0; j < n; j++) {
		if (j)
			nc_buf_adds(b, ", ");
		nc_buf_add_json_str(b, list[j]);
	}
	nc_buf_adds(b, "]");
}

static void add_opt_str(struct nc_buf *b, const char *key, const char *s)
{
	nc_buf_addf(b, ", \"%s\": ", key);
	if (s)
		nc_buf_add_json_str(b, s);
	else
		nc_buf_adds(b, "null");
}

int nc_ha_save(const struct nc_ha_record *r, const char *state_dir, struct nc_err *err)
{
	struct nc_buf b = NC_BUF_INIT;
	char *path = rec_path(state_dir);
	size_t i;
	int ret = -1;

	nc_buf_adds(&b, "{\n  \"format_version\": 1,\n  \"hosts\": [");
	for (i = 0; i < r->nhosts; i++) {
		const struct nc_ha_host *h = &r->hosts[i];

		nc_buf_adds(&b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
		nc_buf_add_json_str(&b, h->name);
		nc_buf_addf(&b, ", \"failed_at\": %" PRId64 ", \"fenced\": %s, \"fenced_at\": %" PRId64,
			    h->failed_at, h->fenced ? "true" : "false", h->fenced_at);
		add_opt_str(&b, "fenced_by", h->fenced_by);
		add_opt_str(&b, "detail", h->detail);
		nc_buf_addf(&b, ", \"whole_host\": %s", h->whole_host ? "true" : "false");
		add_list(&b, "disks", h->disks, h->ndisks);
		add_list(&b, "recovered", h->recovered, h->nrecovered);
		nc_buf_adds(&b, "}");
	}
	nc_buf_adds(&b, r->nhosts ? "\n  ]\n}\n" : "]\n}\n");

	if (nc_mkdir_p(state_dir) < 0) {
		nc_err_set(err, "cannot create %s: %s", state_dir, strerror(errno));
		goto out;
	}
	if (nc_write_file_atomic(path, b.buf, b.len, 0600) < 0) {
		nc_err_set(err, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	nc_buf_release(&b);
	free(path);
	return ret;
}

int nc_ha_lock(const char *state_dir, struct nc_err *err)
{
	return nc_state_lock(state_dir, "ha.lock", err);
}

void nc_ha_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int nc_ha_mark_recovered(const char *state_dir, char *const *hosts, size_t nhosts, const char *vm,
			 const char *target, struct nc_err *err)
{
	struct nc_ha_record r = { 0 };
	int fd = nc_ha_lock(state_dir, err), ret = -1;
	size_t i;

	if (fd < 0)
		return -1;
	if (nc_ha_load(&r, state_dir, err) < 0)
		goto out;
	for (i = 0; i < nhosts; i++) {
		struct nc_ha_host *h = (struct nc_ha_host *)nc_ha_find(&r, hosts[i]);

		if (!h || !h->fenced) {
			nc_err_set(err, "host %s is no longer failed and fenced in %s/%s (changed since the plan was "
					"made): %s is not restarted; plan again", hosts[i], state_dir, NC_HA_FILE, vm);
			goto out;
		}
		nc_ha_list_add(&h->recovered, &h->nrecovered, vm);
	}
	if (target) {
		struct nc_ha_host *t = (struct nc_ha_host *)nc_ha_find(&r, target);

		for (i = 0; t && i < t->nrecovered; i++)
			if (strcmp(t->recovered[i], vm) == 0) {
				free(t->recovered[i]);
				memmove(&t->recovered[i], &t->recovered[i + 1],
					(t->nrecovered - i - 1) * sizeof(char *));
				t->nrecovered--;
				break;
			}
	}
	ret = nc_ha_save(&r, state_dir, err);
out:
	nc_ha_release(&r);
	nc_ha_unlock(fd);
	return ret;
}

/* does the plan remove host's copy of vm as stale (NULL plan: no) */
static bool stale_delete(const struct nc_plan *plan, size_t host, const char *vm)
{
	size_t j;

	for (j = 0; plan && j < plan->nactions; j++) {
		const struct nc_action *a = &plan->actions[j];

		if (a->stale && a->host == host && a->vmref && strcmp(a->vmref->obj.meta.name.v, vm) == 0)
			return true;
	}
	return false;
}

/*
 * A host of the record: may its entry go?  Only when this pass read it and
 * it holds no copy of a VM in its `recovered` list (or the applied plan
 * removed each one as stale), and nothing else the plan does there for HA
 * (a restart in place) is left undone.
 */
static bool ha_done(const struct nc_ha_host *h, const struct nc_cluster *c, const struct nc_plan *plan,
		    bool applied_all)
{
	const struct nc_observed_host *o = NULL;
	size_t i, j, host = SIZE_MAX;

	for (i = 0; i < c->nhosts && !o; i++)
		if (strcmp(c->hosts[i].spec->obj.meta.name.v, h->name) == 0) {
			if (c->hosts[i].status != NC_HOST_OK)
				return false;
			o = &c->hosts[i].obs;
			host = i;
		}
	for (i = 0; i < c->ngone && !o; i++)
		if (strcmp(c->gone[i].name, h->name) == 0) {
			if (c->gone[i].status != NC_HOST_OK)
				return false;
			o = &c->gone[i].obs;    /* plans never change an undeclared host */
		}
	if (!o)
		return false;
	/* a copy of a VM restarted elsewhere: gone once removed as stale; the only copy
	 * there is, when every host was read (its restart never took place) */
	for (j = 0; j < o->ndoms; j++)
		if (o->doms[j].managed && o->doms[j].meta_vm &&
		    nc_ha_list_has(h->recovered, h->nrecovered, o->doms[j].meta_vm) &&
		    !(applied_all && host != SIZE_MAX && stale_delete(plan, host, o->doms[j].meta_vm)) &&
		    (!plan || plan->unreachable || (host != SIZE_MAX && stale_delete(plan, host, o->doms[j].meta_vm))))
			return false;
	for (j = 0; plan && host != SIZE_MAX && j < plan->nactions; j++)
		if (plan->actions[j].host == host && plan->actions[j].ha_restart && !applied_all)
			return false;
	return true;
}

int nc_ha_commit(const char *state_dir, const struct nc_cluster *c, const struct nc_plan *plan,
		 bool applied_all, struct nc_buf *log, struct nc_err *err)
{
	struct nc_ha_record r = { 0 };
	int fd = nc_ha_lock(state_dir, err), ret = -1;
	size_t i = 0, before;

	if (fd < 0)
		return -1;
	if (nc_ha_load(&r, state_dir, err) < 0)
		goto out;
	before = r.nhosts;
	while (i < r.nhosts) {
		if (!ha_done(&r.hosts[i], c, plan, applied_all)) {
			i++;
			continue;
		}
		if (log)
			nc_buf_addf(log, "host %s is back: its HA record is cleared\n", r.hosts[i].name);
		nc_ha_forget(&r, r.hosts[i].name);
	}
	ret = r.nhosts == before ? 0 : nc_ha_save(&r, state_dir, err);
out:
	nc_ha_release(&r);
	nc_ha_unlock(fd);
	return ret;
}
