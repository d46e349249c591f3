/*
 * roots.c - the operator's `paths:` roots and the check that every local
 * path of a spec stays inside them; see roots.h.
 */
#include "roots.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCHEMA(n, st, tbl) { n, sizeof(st), tbl, NC_ARRAY_SIZE(tbl) }
#define F(k, member, d) \
	{ .key = (k), .type = NC_F_STRLIST, .off = offsetof(struct nc_paths_config, member), \
	  .check = NC_CHK_ABS_PATH, .doc = (d) }

static const struct nc_field paths_fields[] = {
	F("secrets", secrets, "encryption.keyFile, target.credentialsFile and rbd.keyFile (default /etc/novacron)"),
	F("ceph", ceph, "rbd.cephConf and target.cephConf (default /etc/ceph)"),
	F("pools", pools, "dir StoragePool paths (default /var/lib/libvirt/images, /var/lib/novacron/pools)"),
	F("images", images, "disk images given as absolute paths (default /var/lib/libvirt/images, /var/lib/novacron/images)"),
	F("backups", backups, "dir backup targets (default /var/backups/novacron)"),
	F("boot", boot, "boot.kernel and boot.initrd (default /var/lib/libvirt/boot, /var/lib/novacron/boot)"),
};
const struct nc_schema nc_schema_paths = SCHEMA("paths", struct nc_paths_config, paths_fields);

static const char *const kind_names[NC_ROOT__COUNT] = {
	[NC_ROOT_SECRETS] = "secrets", [NC_ROOT_CEPH] = "ceph", [NC_ROOT_POOLS] = "pools",
	[NC_ROOT_IMAGES] = "images", [NC_ROOT_BACKUPS] = "backups", [NC_ROOT_BOOT] = "boot",
};

static const char *const defaults[NC_ROOT__COUNT][3] = {
	[NC_ROOT_SECRETS] = { "/etc/novacron", NULL },
	[NC_ROOT_CEPH] = { "/etc/ceph", NULL },
	[NC_ROOT_POOLS] = { "/var/lib/libvirt/images", "/var/lib/novacron/pools", NULL },
	[NC_ROOT_IMAGES] = { "/var/lib/libvirt/images", "/var/lib/novacron/images", NULL },
	[NC_ROOT_BACKUPS] = { "/var/backups/novacron", NULL },
	[NC_ROOT_BOOT] = { "/var/lib/libvirt/boot", "/var/lib/novacron/boot", NULL },
};

const char *nc_root_kind_name(enum nc_root_kind k)
{
	return kind_names[k];
}

int nc_path_resolve(char **out, const char *path, const char **why)
{
	struct nc_buf cur = NC_BUF_INIT;
	const char *p = path, *e;
	bool exists = true;
	int ret = -1;

	if (path[0] != '/') {
		*why = "it is not an absolute path";
		return -1;
	}
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p = e;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "it has a '..' component";
			goto out;
		}
		nc_buf_addc(&cur, '/');
		nc_buf_add(&cur, p, n);
		p = e;
		if (exists) {
			struct stat st;

			/* the parent is resolved already: only this component can be a link */
			if (lstat(cur.buf, &st) < 0) {
				exists = false;   /* the rest is taken as written */
			} else if (S_ISLNK(st.st_mode)) {
				char *rp = realpath(cur.buf, NULL);

				if (!rp) {
					*why = errno == ELOOP ? "a symlink in it loops"
							      : "a symlink in it does not resolve";
					goto out;
				}
				nc_buf_reset(&cur);
				if (strcmp(rp, "/") != 0)
					nc_buf_adds(&cur, rp);
				free(rp);
			}
		}
	}
	*out = cur.len ? nc_buf_detach(&cur, NULL) : nc_xstrdup("/");
	ret = 0;
out:
	nc_buf_release(&cur);
	return ret;
}

bool nc_path_within(const char *p, const char *r)
{
	size_t n = strlen(r);

	if (strcmp(r, "/") == 0)
		return true;
	return strncmp(p, r, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static void add_root(struct nc_path_roots *r, enum nc_root_kind k, const char *path)
{
	char *res = NULL;
	const char *why;

	/* a root that cannot be resolved still counts as written */
	if (nc_path_resolve(&res, path, &why) < 0)
		res = nc_xstrdup(path);
	r->v[k] = nc_xreallocarray(r->v[k], r->n[k] + 1, sizeof(*r->v[k]));
	r->v[k][r->n[k]++] = res;
}

void nc_path_roots_init(struct nc_path_roots *out, const struct nc_paths_config *cfg,
			const char *source)
{
	const struct nc_strlist *given[NC_ROOT__COUNT] = { NULL };
	size_t k, i;

	memset(out, 0, sizeof(*out));
	out->source = source ? nc_xstrdup(source) : NULL;
	if (cfg) {
		given[NC_ROOT_SECRETS] = &cfg->secrets;
		given[NC_ROOT_CEPH] = &cfg->ceph;
		given[NC_ROOT_POOLS] = &cfg->pools;
		given[NC_ROOT_IMAGES] = &cfg->images;
		given[NC_ROOT_BACKUPS] = &cfg->backups;
		given[NC_ROOT_BOOT] = &cfg->boot;
	}
	for (k = 0; k < NC_ROOT__COUNT; k++) {
		struct nc_buf shown = NC_BUF_INIT;

		if (given[k] && NC_IS_SET(*given[k])) {
			for (i = 0; i < given[k]->n; i++) {
				add_root(out, (enum nc_root_kind)k, given[k]->v[i].v);
				nc_buf_addf(&shown, "%s%s", i ? ", " : "", given[k]->v[i].v);
			}
		} else {
			out->dflt[k] = true;
			for (i = 0; defaults[k][i]; i++) {
				add_root(out, (enum nc_root_kind)k, defaults[k][i]);
				nc_buf_addf(&shown, "%s%s", i ? ", " : "", defaults[k][i]);
			}
		}
		out->shown[k] = nc_buf_detach(&shown, NULL);
	}
}

void nc_path_roots_release(struct nc_path_roots *r)
{
	size_t k, i;

	for (k = 0; k < NC_ROOT__COUNT; k++) {
		for (i = 0; i < r->n[k]; i++)
			free(r->v[k][i]);
		free(r->v[k]);
		free(r->shown[k]);
	}
	free(r->source);
	memset(r, 0, sizeof(*r));
}

/* ---- the spec check ---- */

struct ck {
	const struct nc_path_roots *roots;
	struct nc_diags *diags;
	size_t bad;
	struct nc_pos *seen;          /* positions reported (inherited values repeat) */
	size_t nseen;
};

static void quote(struct nc_buf *b, const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		if (n >= 200) {
			nc_buf_adds(b, "...");
			break;
		}
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\')
			nc_buf_addf(b, "\\x%02x", (unsigned char)*s);
		else
			nc_buf_addc(b, *s);
	}
}

static bool seen(struct ck *c, struct nc_pos pos)
{
	size_t i;

	for (i = 0; i < c->nseen; i++)
		if (c->seen[i].line == pos.line && c->seen[i].col == pos.col &&
		    strcmp(c->seen[i].file ? c->seen[i].file : "", pos.file ? pos.file : "") == 0)
			return true;
	c->seen = nc_xreallocarray(c->seen, c->nseen + 1, sizeof(*c->seen));
	c->seen[c->nseen++] = pos;
	return false;
}

/*
 * 1 when path (absolute) is inside a root of kind k, 0 when outside, -1
 * when it cannot be resolved; *res gets the resolved path (or NULL).
 */
static int allowed(const struct nc_path_roots *r, enum nc_root_kind k, const char *path, char **res,
		   const char **why)
{
	size_t i;

	*res = NULL;
	if (nc_path_resolve(res, path, why) < 0)
		return -1;
	for (i = 0; i < r->n[k]; i++)
		if (nc_path_within(*res, r->v[k][i]))
			return 1;
	return 0;
}

/* what: the field ("boot.kernel"); path: the file it names (value, or pool dir + value) */
static bool check(struct ck *c, enum nc_root_kind k, const struct nc_str *s, const char *what,
		  const char *path)
{
	struct nc_buf m = NC_BUF_INIT;
	const char *why = NULL;
	char *res = NULL;
	int a;

	if (!NC_IS_SET(*s) || !s->v)
		return true;
	a = allowed(c->roots, k, path, &res, &why);
	if (a == 1 && k == NC_ROOT_SECRETS) {
		unsigned mode = 0;

		/* a secret others may read is refused here too, before anything runs
		 * (the backup code refuses it when it opens the file: spec/util.h) */
		int r = nc_secret_check(res, &mode);

		if (r == NC_SECRET_MODE_BAD || r == NC_SECRET_NOT_FILE) {
			char *msg = r == NC_SECRET_MODE_BAD ? nc_secret_msg(what, s->v, mode) :
				nc_xasprintf("%s %s is not a regular file (a directory, a FIFO or a device): "
					     "a secret is read from a file", what, s->v);

			if (!seen(c, s->pos))
				nc_diag_error(c->diags, s->pos, "%s", msg);
			free(msg);
			free(res);
			c->bad++;
			return false;
		}
	}
	if (a == 1) {
		free(res);
		return true;
	}
	c->bad++;
	if (seen(c, s->pos))
		goto out;
	nc_buf_addf(&m, "%s '", what);
	quote(&m, s->v);
	nc_buf_addc(&m, '\'');
	if (strcmp(path, s->v) != 0) {
		nc_buf_adds(&m, " (");
		quote(&m, path);
		nc_buf_adds(&m, ")");
	}
	if (a < 0) {
		nc_buf_addf(&m, " cannot be used: %s", why);
	} else {
		nc_buf_addf(&m, " is outside the operator's allowed roots for %s", kind_names[k]);
		if (c->roots->dflt[k])
			nc_buf_addf(&m, " (paths.%s, by default: %s; set paths.%s in the configuration)",
				    kind_names[k], c->roots->shown[k], kind_names[k]);
		else
			nc_buf_addf(&m, " (paths.%s in %s: %s)", kind_names[k],
				    c->roots->source ? c->roots->source : "the configuration",
				    *c->roots->shown[k] ? c->roots->shown[k] : "none");
		if (strcmp(res, path) != 0) {
			nc_buf_adds(&m, ": it resolves to '");
			quote(&m, res);
			nc_buf_adds(&m, "'");
		}
	}
	nc_diag_error(c->diags, s->pos, "%s", m.buf);
out:
	nc_buf_release(&m);
	free(res);
	return false;
}

static void check_machine(struct ck *c, const struct nc_machine *m)
{
	size_t i;

	check(c, NC_ROOT_BOOT, &m->boot.kernel, "boot.kernel", m->boot.kernel.v);
	check(c, NC_ROOT_BOOT, &m->boot.initrd, "boot.initrd", m->boot.initrd.v);
	for (i = 0; i < m->disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)m->disks.v + i;

		if (NC_IS_SET(d->image) && d->image.v[0] == '/')
			check(c, NC_ROOT_IMAGES, &d->image, "image", d->image.v);
	}
}

static bool is_dir_pool(const struct nc_pool *p)
{
	return p && !(NC_IS_SET(p->spec.type) && p->spec.type.v == NC_POOL_RBD);
}

int nc_spec_check_paths(const struct nc_spec *spec, const struct nc_path_roots *roots,
			struct nc_diags *diags)
{
	struct ck c = { roots, diags, 0, NULL, 0 };
	const struct nc_pool *pool;
	const struct nc_backup *b;
	const struct nc_template *t;
	const struct nc_vm *vm;
	size_t i;

	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, pool, i) {
		if (is_dir_pool(pool))
			check(&c, NC_ROOT_POOLS, &pool->spec.path, "path", pool->spec.path.v);
		else {
			check(&c, NC_ROOT_CEPH, &pool->spec.rbd.ceph_conf, "rbd.cephConf",
			      pool->spec.rbd.ceph_conf.v);
			check(&c, NC_ROOT_SECRETS, &pool->spec.rbd.key_file, "rbd.keyFile",
			      pool->spec.rbd.key_file.v);
		}
	}
	NC_SPEC_EACH(spec, NC_KIND_BACKUP_SCHEDULE, const struct nc_backup, b, i) {
		const struct nc_target *tg = &b->spec.target;

		check(&c, NC_ROOT_BACKUPS, &tg->path, "target.path", tg->path.v);
		check(&c, NC_ROOT_CEPH, &tg->ceph_conf, "target.cephConf", tg->ceph_conf.v);
		check(&c, NC_ROOT_SECRETS, &tg->credentials_file, "target.credentialsFile",
		      tg->credentials_file.v);
		check(&c, NC_ROOT_SECRETS, &b->spec.encryption.key_file, "encryption.keyFile",
		      b->spec.encryption.key_file.v);
	}
	/* an Image's file: a name in one of the images roots, the first that has it,
	 * and it must not lead out of them (a symlink) */
	{
		const struct nc_image *im;

		NC_SPEC_EACH(spec, NC_KIND_IMAGE, const struct nc_image, im, i) {
			const struct nc_str *f = &im->spec.source.file;
			struct stat st;
			size_t r;

			if (!NC_IS_SET(*f) || !f->v || strchr(f->v, '/'))
				continue;
			for (r = 0; r < roots->n[NC_ROOT_IMAGES]; r++) {
				char *full = nc_xasprintf("%s/%s", roots->v[NC_ROOT_IMAGES][r], f->v);
				int found = lstat(full, &st) == 0;

				if (found)
					check(&c, NC_ROOT_IMAGES, f, "source.file", full);
				free(full);
				if (found)
					break;
			}
			if (r == roots->n[NC_ROOT_IMAGES] && roots->image_files_needed && !seen(&c, f->pos)) {
				nc_diag_error(diags, f->pos, "Image '%s': file '%s' is in none of the operator's "
					      "paths.images directories (%s%s%s)", im->obj.meta.name.v, f->v,
					      roots->shown[NC_ROOT_IMAGES] ? roots->shown[NC_ROOT_IMAGES] : "none",
					      roots->source ? " in " : ", by default", roots->source ? roots->source : "");
				c.bad++;
			}
		}
	}
	/* every value written is in exactly one Template's or VM's own machine */
	NC_SPEC_EACH(spec, NC_KIND_TEMPLATE, const struct nc_template, t, i)
		check_machine(&c, &t->spec.m);
	NC_SPEC_EACH(spec, NC_KIND_VM, const struct nc_vm, vm, i) {
		check_machine(&c, &vm->spec.m);
	}
	free(c.seen);
	return c.bad ? -1 : 0;
}
