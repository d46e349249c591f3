/*
 * hostrec.c - the record of the hosts NovaCron has seen (see hostrec.h).
 */
#include "hostrec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonout.h"

#define HOSTREC_MAX_SIZE (16u << 20)

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int host_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_hostrec_host *)a)->name, ((const struct nc_hostrec_host *)b)->name);
}

/* sorts and removes duplicates */
static void vms_normalize(struct nc_hostrec_host *h)
{
	size_t i, n = 0;

	if (h->nvms > 1)
		qsort(h->vms, h->nvms, sizeof(*h->vms), str_cmp);
	for (i = 0; i < h->nvms; i++) {
		if (n && strcmp(h->vms[n - 1], h->vms[i]) == 0) {
			free(h->vms[i]);
			continue;
		}
		h->vms[n++] = h->vms[i];
	}
	h->nvms = n;
}

static void vms_add(struct nc_hostrec_host *h, const char *vm)
{
	h->vms = nc_xreallocarray(h->vms, h->nvms + 1, sizeof(*h->vms));
	h->vms[h->nvms++] = nc_xstrdup(vm);
}

static void vms_clear(struct nc_hostrec_host *h)
{
	size_t i;

	for (i = 0; i < h->nvms; i++)
		free(h->vms[i]);
	free(h->vms);
	h->vms = NULL;
	h->nvms = 0;
}

static void host_release(struct nc_hostrec_host *h)
{
	vms_clear(h);
	free(h->name);
	free(h->uri);
}

void nc_hostrec_release(struct nc_hostrec *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nhosts; i++)
		host_release(&r->hosts[i]);
	free(r->hosts);
	memset(r, 0, sizeof(*r));
}

const struct nc_hostrec_host *nc_hostrec_find(const struct nc_hostrec *r, const char *name)
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

static struct nc_hostrec_host *get_or_add(struct nc_hostrec *r, const char *name)
{
	struct nc_hostrec_host *h = (struct nc_hostrec_host *)nc_hostrec_find(r, name);

	if (h)
		return h;
	r->hosts = nc_xreallocarray(r->hosts, r->nhosts + 1, sizeof(*r->hosts));
	h = &r->hosts[r->nhosts++];
	memset(h, 0, sizeof(*h));
	h->name = nc_xstrdup(name);
	qsort(r->hosts, r->nhosts, sizeof(*r->hosts), host_cmp);
	return (struct nc_hostrec_host *)nc_hostrec_find(r, name);
}

bool nc_hostrec_forget(struct nc_hostrec *r, const char *name)
{
	struct nc_hostrec_host *h = (struct nc_hostrec_host *)nc_hostrec_find(r, name);
	size_t i;

	if (!h)
		return false;
	i = (size_t)(h - r->hosts);
	host_release(h);
	memmove(&r->hosts[i], &r->hosts[i + 1], (r->nhosts - i - 1) * sizeof(*r->hosts));
	r->nhosts--;
	return true;
}

static char *rec_path(const char *state_dir)
{
	return nc_xasprintf("%s/%s", state_dir, NC_HOSTREC_FILE);
}

int nc_hostrec_load(struct nc_hostrec *out, const char *state_dir, struct nc_err *err)
{
	struct nc_hostrec r = { 0 };
	struct json_object *root = NULL, *hosts, *fv;
	char *path = rec_path(state_dir), *buf = NULL;
	size_t len, i, j;
	int ret = -1, rd;

	errno = 0;
	rd = nc_read_file(path, HOSTREC_MAX_SIZE, &buf, &len);
	if (rd == -1 && errno == ENOENT) {
		memset(out, 0, sizeof(*out));
		ret = 0;
		goto out;
	}
	if (rd < 0) {
		nc_err_set(err, "cannot read the record of hosts %s: %s", path,
			   rd == -2 ? "larger than 16 MiB" : strerror(errno));
		goto out;
	}
	/* JSON (json-c), exactly one object of format_version 1 */
	if (!(root = nc_json_parse_one(buf, len)) || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "format_version", &fv) || !json_object_is_type(fv, json_type_int) ||
	    json_object_get_int64(fv) != 1 || !json_object_object_get_ex(root, "hosts", &hosts) ||
	    !json_object_is_type(hosts, json_type_array))
		goto bad;
	for (i = 0; i < json_object_array_length(hosts); i++) {
		struct json_object *h = json_object_array_get_idx(hosts, i), *jn = NULL, *ju = NULL, *vms = NULL;
		const char *name, *uri;
		struct nc_hostrec_host *e;

		if (!json_object_is_type(h, json_type_object) || !json_object_object_get_ex(h, "name", &jn) ||
		    !json_object_object_get_ex(h, "uri", &ju) || !(name = nc_json_get_str(jn)) ||
		    !(uri = nc_json_get_str(ju)) || !*name || !*uri || nc_hostrec_find(&r, name))
			goto bad;
		/* absent: none; null or anything but a list of strings: not ours */
		if (json_object_object_get_ex(h, "vms", &vms) && !json_object_is_type(vms, json_type_array))
			goto bad;
		e = get_or_add(&r, name);
		e->uri = nc_xstrdup(uri);
		for (j = 0; vms && j < json_object_array_length(vms); j++) {
			const char *vm = nc_json_get_str(json_object_array_get_idx(vms, j));

			if (!vm)
				goto bad;
			vms_add(e, vm);
		}
		vms_normalize(e);
	}
	*out = r;
	memset(&r, 0, sizeof(r));
	ret = 0;
	goto out;
bad:
	nc_err_set(err, "%s is not a record of hosts written by novacron; a pass cannot know which hosts "
			"left the spec without it: restore it, or remove it to start a new record", path);
out:
	nc_hostrec_release(&r);
	json_object_put(root);
	free(buf);
	free(path);
	return ret;
}

int nc_hostrec_save(const struct nc_hostrec *r, const char *state_dir, struct nc_err *err)
{
	struct nc_buf b = NC_BUF_INIT;
	char *path = rec_path(state_dir);
	size_t i, j;
	int ret = -1;

	nc_buf_adds(&b, "{\n  \"format_version\": 1,\n  \"hosts\": [");
	for (i = 0; i < r->nhosts; i++) {
		const struct nc_hostrec_host *h = &r->hosts[i];

		nc_buf_adds(&b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
		nc_buf_add_json_str(&b, h->name);
		nc_buf_adds(&b, ", \"uri\": ");
		nc_buf_add_json_str(&b, h->uri ? h->uri : "");
		nc_buf_adds(&b, ", \"vms\": [");
		for (j = 0; j < h->nvms; j++) {
			if (j)
				nc_buf_adds(&b, ", ");
			nc_buf_add_json_str(&b, h->vms[j]);
		}
		nc_buf_adds(&b, "]}");
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

/* the managed VMs observed on a host */
static void vms_from_obs(struct nc_hostrec_host *h, const struct nc_observed_host *o)
{
	size_t i;

	vms_clear(h);
	for (i = 0; i < o->ndoms; i++)
		if (o->doms[i].managed && o->doms[i].meta_vm)
			vms_add(h, o->doms[i].meta_vm);
}

void nc_hostrec_update(struct nc_hostrec *r, const struct nc_spec *spec, const struct nc_cluster *c,
		       const struct nc_plan *applied)
{
	size_t i, k;

	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];
		struct nc_hostrec_host *h;

		if (v->moved_from && nc_hostrec_find(r, v->spec->obj.meta.name.v))
			continue;    /* its old address may still hold VMs: it stays recorded there */
		h = get_or_add(r, v->spec->obj.meta.name.v);
		free(h->uri);
		h->uri = nc_xstrdup(v->spec->spec.uri.v);
		if (v->status != NC_HOST_OK)
			continue;    /* what was recorded still holds */
		vms_from_obs(h, &v->obs);
		for (k = 0; applied && k < applied->nactions; k++) {
			const struct nc_action *a = &applied->actions[k];

			if (a->obj != NC_OBJ_VM)
				continue;
			if (((a->kind == NC_ACT_CREATE || a->kind == NC_ACT_RECOVER || a->kind == NC_ACT_ADOPT) &&
			      a->host == i) ||
			    (a->kind == NC_ACT_MIGRATE && a->target == i))
				vms_add(h, a->vm);
		}
		vms_normalize(h);
	}
	for (i = 0; i < c->ngone; i++) {
		const struct nc_gone_host *g = &c->gone[i];
		struct nc_hostrec_host *h = (struct nc_hostrec_host *)nc_hostrec_find(r, g->name);

		if (!h || g->status != NC_HOST_OK)
			continue;
		vms_from_obs(h, &g->obs);
		vms_normalize(h);
	}
	/* a recorded host that observe found renamed (same address under a declared name) */
	for (i = 0; i < c->nrenamed; i++)
		if (!nc_spec_find(spec, NC_KIND_HOST, c->renamed[i]))
			nc_hostrec_forget(r, c->renamed[i]);
}

int nc_hostrec_lock(const char *state_dir, struct nc_err *err)
{
	return nc_state_lock(state_dir, "hosts.lock", err);
}

static int state_lock(const char *state_dir, const char *name, bool wait, struct nc_err *err)
{
	char *path = nc_xasprintf("%s/%s", state_dir, name);
	int fd = -1;

	if (nc_mkdir_p(state_dir) < 0) {
		nc_err_set(err, "cannot create %s: %s", state_dir, strerror(errno));
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && !wait && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		close(fd);
		fd = -2;
		goto out;
	}
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		nc_err_set(err, "cannot lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	free(path);
	return fd;
}

int nc_state_lock(const char *state_dir, const char *name, struct nc_err *err)
{
	return state_lock(state_dir, name, true, err);
}

int nc_apply_lock(const char *state_dir, bool wait, struct nc_err *err)
{
	return state_lock(state_dir, NC_APPLY_LOCK, wait, err);
}

void nc_hostrec_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int nc_hostrec_commit(const char *state_dir, const struct nc_spec *spec, const struct nc_cluster *c,
		      const struct nc_plan *applied, struct nc_err *err)
{
	struct nc_hostrec r = { 0 };
	int fd = nc_hostrec_lock(state_dir, err), ret = -1;

	if (fd < 0)
		return -1;
	if (nc_hostrec_load(&r, state_dir, err) < 0)
		goto out;
	nc_hostrec_update(&r, spec, c, applied);
	ret = nc_hostrec_save(&r, state_dir, err);
out:
	nc_hostrec_release(&r);
	nc_hostrec_unlock(fd);
	return ret;
}
