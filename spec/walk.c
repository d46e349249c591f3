/* walk.c - see walk.h */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct walker {
	struct nc_file_list *out;
	const char *rroot;      /* the root, resolved */
	struct nc_diags *diags;
	int ret;
};

static bool is_yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

bool nc_walk_inside(const char *resolved_root, const char *real)
{
	size_t n = strlen(resolved_root);

	if (n == 1 && resolved_root[0] == '/')
		return real[0] == '/';
	return strncmp(real, resolved_root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

static void add(struct nc_file_list *fl, char *path)
{
	if (fl->n == fl->alloc) {
		fl->alloc = fl->alloc ? fl->alloc * 2 : 64;
		fl->v = nc_xreallocarray(fl->v, fl->alloc, sizeof(*fl->v));
	}
	fl->v[fl->n++] = path;
}

/* The link's text, for messages ("?" when it cannot be read). */
static char *link_text(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return nc_xstrdup("?");
	buf[n] = '\0';
	return nc_xstrdup(buf);
}

/* A symbolic link found at path (named name): resolve it and decide. */
static void on_link(struct walker *w, char *path, const char *name)
{
	char *real = realpath(path, NULL), *text;
	struct stat st;

	if (!real) {
		int e = errno;

		text = link_text(path);
		if (e == ENOENT || e == ENOTDIR)
			nc_diag_warning(w->diags, nc_pos_file(path),
					"dangling symbolic link (to '%s'): skipped", text);
		else if (e == ELOOP)
			nc_diag_warning(w->diags, nc_pos_file(path),
					"symbolic link loop (to '%s'): skipped", text);
		else
			nc_diag_warning(w->diags, nc_pos_file(path),
					"cannot resolve symbolic link (to '%s'): %s: skipped", text,
					strerror(e));
		free(text);
		free(path);
		return;
	}
	if (stat(real, &st) < 0) {
		free(real);
		free(path);
		return;         /* removed meanwhile */
	}
	if (!nc_walk_inside(w->rroot, real)) {
		if (S_ISDIR(st.st_mode) || is_yaml_name(name)) {
			text = link_text(path);
			nc_diag_error(w->diags, nc_pos_file(path),
				      "symbolic link (to '%s') leads outside the spec directory: "
				      "refused", text);
			free(text);
			w->ret = -1;
		}
		free(real);
		free(path);
		return;
	}
	free(real);
	/* inside: a YAML file is listed; a directory is listed from its real place */
	if (S_ISREG(st.st_mode) && is_yaml_name(name))
		add(w->out, path);
	else
		free(path);
}

static void walk_dir(struct walker *w, const char *dir, int depth)
{
	size_t dl = strlen(dir);
	struct dirent *de;
	DIR *d;

	if (depth > NC_WALK_MAX_DEPTH) {
		nc_diag_error(w->diags, nc_pos_file(dir), "directories nested deeper than %d levels",
			      NC_WALK_MAX_DEPTH);
		w->ret = -1;
		return;
	}
	d = opendir(dir);
	if (!d) {
		if (depth > 0 && errno == ENOENT)
			return;         /* removed while we read */
		nc_diag_error(w->diags, nc_pos_file(dir), "cannot open directory: %s", strerror(errno));
		w->ret = -1;
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = nc_xasprintf("%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", de->d_name);
		if (lstat(path, &st) < 0) {
			free(path);     /* removed meanwhile */
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			walk_dir(w, path, depth + 1);
			free(path);
		} else if (S_ISLNK(st.st_mode)) {
			on_link(w, path, de->d_name);
		} else if (S_ISREG(st.st_mode) && is_yaml_name(de->d_name)) {
			add(w->out, path);
		} else {
			free(path);
		}
	}
	closedir(d);
}

int nc_walk_yaml(struct nc_file_list *out, const char *root, struct nc_diags *diags)
{
	struct walker w = { out, NULL, diags, 0 };
	char *rroot = realpath(root, NULL);

	if (!rroot) {
		nc_diag_error(diags, nc_pos_file(root), "cannot open directory: %s", strerror(errno));
		return -1;
	}
	w.rroot = rroot;
	walk_dir(&w, root, 0);
	free(rroot);
	return w.ret;
}

void nc_file_list_release(struct nc_file_list *fl)
{
	size_t i;

	if (!fl)
		return;
	for (i = 0; i < fl->n; i++)
		free(fl->v[i]);
	free(fl->v);
	memset(fl, 0, sizeof(*fl));
}
