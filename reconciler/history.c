/* history.c - per-VM record of what apply did and from which commit; see history.h */
#include "history.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *history_path(const char *state_dir)
{
	return nc_xasprintf("%s/history.json", state_dir);
}

static time_t parse_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return timegm(&tm);
}

struct json_object *nc_history_load(const char *state_dir, struct nc_err *err)
{
	char *path = history_path(state_dir);
	struct json_object *root = NULL, *vms, *fv;
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT) {
			nc_err_set(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		root = json_object_new_object();
		json_object_object_add(root, "format_version", json_object_new_int(NC_HISTORY_FORMAT));
		json_object_object_add(root, "vms", json_object_new_object());
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {   /* a FIFO or a device (through a symlink) would hang apply, lock held */
		nc_err_set(err, "%s: not a regular file", path);
		goto out;
	}
	root = json_object_from_file(path);
	if (!root || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "vms", &vms) || !json_object_is_type(vms, json_type_object) ||
	    !json_object_object_get_ex(root, "format_version", &fv) || json_object_get_int(fv) != NC_HISTORY_FORMAT) {
		nc_err_set(err, "%s: not a history file of format_version %d", path, NC_HISTORY_FORMAT);
		json_object_put(root);
		root = NULL;
	}
out:
	free(path);
	return root;
}

static struct json_object *vm_record(struct json_object *vms, const char *vm)
{
	struct json_object *rec, *entries;

	if (json_object_object_get_ex(vms, vm, &rec) && json_object_is_type(rec, json_type_object) &&
	    json_object_object_get_ex(rec, "entries", &entries) && json_object_is_type(entries, json_type_array))
		return rec;
	rec = json_object_new_object();
	json_object_object_add(rec, "left_spec", NULL);
	json_object_object_add(rec, "entries", json_object_new_array());
	json_object_object_add(vms, vm, rec);
	return rec;
}

int nc_history_record(const char *state_dir, const struct nc_spec *spec, const struct nc_history_event *ev,
		      size_t n, const char *commit, const char *plan_digest, time_t now, struct nc_err *err)
{
	struct json_object *root = nc_history_load(state_dir, err), *vms, *rec, *entries, *left;
	char when[32], *path = NULL;
	const char *text;
	char **gone = NULL;
	size_t i, ngone = 0;
	int ret = -1;

	if (!root)
		return -1;
	json_object_object_get_ex(root, "vms", &vms);
	nc_time_iso(when, sizeof(when), now);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		size_t len;

		rec = vm_record(vms, ev[i].vm);
		json_object_object_get_ex(rec, "entries", &entries);
		json_object_object_add(e, "time", json_object_new_string(when));
		json_object_object_add(e, "action", json_object_new_string(ev[i].action));
		json_object_object_add(e, "result", json_object_new_string(ev[i].result));
		json_object_object_add(e, "commit", commit ? json_object_new_string(commit) : NULL);
		json_object_object_add(e, "plan_digest", json_object_new_string(plan_digest));
		json_object_array_add(entries, e);
		len = json_object_array_length(entries);
		if (len > NC_HISTORY_PER_VM)
			json_object_array_del_idx(entries, 0, len - NC_HISTORY_PER_VM);
	}
	/* VMs that left the spec: marked when first seen gone, dropped after the grace */
	{
		struct json_object_iterator it = json_object_iter_begin(vms), end = json_object_iter_end(vms);

		gone = nc_xcalloc(json_object_object_length(vms) + 1, sizeof(*gone));
		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *name = json_object_iter_peek_name(&it);

			rec = json_object_iter_peek_value(&it);
			if (!json_object_is_type(rec, json_type_object))
				continue;
			if (nc_spec_find(spec, NC_KIND_VM, name)) {
				json_object_object_add(rec, "left_spec", NULL);
				continue;
			}
			if (!json_object_object_get_ex(rec, "left_spec", &left) || !left)
				json_object_object_add(rec, "left_spec", json_object_new_string(when));
			else if (now - parse_time(json_object_get_string(left)) > (time_t)NC_HISTORY_KEEP_DAYS * 86400)
				gone[ngone++] = nc_xstrdup(name);
		}
		for (i = 0; i < ngone; i++)
			json_object_object_del(vms, gone[i]);
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	path = history_path(state_dir);
	if (nc_write_file_atomic(path, text, strlen(text), 0600) < 0) {
		nc_err_set(err, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < ngone; i++)
		free(gone[i]);
	free(gone);
	free(path);
	json_object_put(root);
	return ret;
}
