/*
 * cmd-diff.c - `novacron diff REV1 [REV2] [--repo DIR] [--path P] [-o text|markdown|json]`:
 * what changes in the desired state between two revisions of the spec repository.
 *
 * Each revision's tree (or its --path folder) is written by libgit2
 * (drivers/source/git.c nc_git_export) into a private 0700 directory under
 * $TMPDIR, loaded and validated like any spec; without REV2 the working
 * tree is the second side.  Objects are compared field by field through the
 * schema tables (spec/schema.h): every value set in the document, as a
 * dotted path ("spec.disks[root].size") and its text.  cloud-init documents
 * (which may hold passwords) appear as their SHA-256 and length only.
 * Everything is sorted: kind, then name, then path.
 */
#include "cli.h"
#include "opts.h"
#include "pass.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../drivers/source/source.h"
#include "../spec/schema.h"

enum { OPT_REPO = NC_OPT_LONG_ONLY, OPT_PATH };

static const struct nc_opt diff_opts[] = {
	{ "repo", OPT_REPO, "DIR", "the git repository (default: the one containing the current folder)",
	  NC_COMP_DIR, NULL },
	{ "path", OPT_PATH, "P", "the spec's folder inside the repository (default: its root)", NC_COMP_DIR, NULL },
	{ "output", 'o', "FORMAT", "text (default), markdown or json", NC_COMP_WORDS, "text markdown json" },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const diff_examples[] = {
	"what the last commit changed in the desired state", "novacron diff HEAD~1 HEAD",
	"uncommitted edits of the spec folder clusters/prod against main", "novacron diff main --path clusters/prod",
	"a release against the one before it, as JSON", "novacron diff v1.1 v1.2 -o json",
	NULL,
};

const struct nc_cmd_doc nc_doc_diff = {
	"diff", "diff REV1 [REV2] [--repo DIR] [--path P] [-o text|markdown|json]",
	"what changes in the desired state between two revisions of the spec repository",
	"Loads the spec as of REV1 and as of REV2 (default: the working tree) and prints the objects "
	"added and removed and, for each changed object, every field old -> new, sorted. Revisions are "
	"anything git rev-parse takes (SHA, branch, tag, HEAD~1). cloud-init documents are shown as their "
	"SHA-256, never their text.\n\n"
	"Exit status: 0 no change, 2 changes, 1 error (an unknown revision, a spec that does not validate).",
	diff_opts, diff_examples, NC_COMP_NONE, NULL,
};

/* ---- flattening an object into sorted (path, value) pairs ---- */

struct fv {
	char *path, *value;
};
struct flat {
	enum nc_kind kind;
	const char *name;
	struct fv *v;
	size_t n, alloc;
};

static void fv_add(struct flat *f, const char *path, char *value)
{
	if (f->n == f->alloc) {
		f->alloc = f->alloc ? f->alloc * 2 : 16;
		f->v = nc_xreallocarray(f->v, f->alloc, sizeof(*f->v));
	}
	f->v[f->n].path = nc_xstrdup(path);
	f->v[f->n++].value = value;
}

/* user text shown on one line: control characters escaped */
static char *clean(const char *s)
{
	struct nc_buf b = NC_BUF_INIT;

	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			nc_buf_addf(&b, "\\x%02x", (unsigned char)*s);
		else
			nc_buf_addc(&b, *s);
	}
	return nc_buf_detach(&b, NULL);
}

static bool secret_field(const struct nc_field *fd)
{
	return strcmp(fd->key, "userData") == 0 || strcmp(fd->key, "networkConfig") == 0;
}

static char *duration_str(uint64_t ms)
{
	if (ms && ms % 3600000 == 0)
		return nc_xasprintf("%lluh", (unsigned long long)(ms / 3600000));
	if (ms && ms % 60000 == 0)
		return nc_xasprintf("%llum", (unsigned long long)(ms / 60000));
	if (ms && ms % 1000 == 0)
		return nc_xasprintf("%llus", (unsigned long long)(ms / 1000));
	return nc_xasprintf("%llums", (unsigned long long)ms);
}

static void flatten(struct flat *f, const struct nc_schema *s, const void *base, const char *prefix)
{
	size_t i, j;

	for (i = 0; i < s->nfields; i++) {
		const struct nc_field *fd = &s->fields[i];
		const char *p = (const char *)base + fd->off;
		const struct nc_pos *pos = (const struct nc_pos *)p;
		char *path = nc_xasprintf("%s%s%s", prefix, *prefix ? "." : "", fd->key);
		char sz[32];

		if (fd->type != NC_F_STRUCT && !pos->line)
			goto next;
		switch (fd->type) {
		case NC_F_STR: {
			const char *v = ((const struct nc_str *)p)->v;

			if (secret_field(fd)) {
				char h[65];

				nc_sha256_hex(v, strlen(v), h);
				fv_add(f, path, nc_xasprintf("(sha256 %.16s, %zu bytes)", h, strlen(v)));
			} else {
				fv_add(f, path, clean(v));
			}
			break;
		}
		case NC_F_INT:
			fv_add(f, path, nc_xasprintf("%lld", (long long)((const struct nc_int *)p)->v));
			break;
		case NC_F_SIZE:
			nc_size_format(((const struct nc_size *)p)->v, sz, sizeof(sz));
			fv_add(f, path, nc_xstrdup(sz));
			break;
		case NC_F_BOOL:
			fv_add(f, path, nc_xstrdup(((const struct nc_bool *)p)->v ? "true" : "false"));
			break;
		case NC_F_NUM:
			fv_add(f, path, nc_xasprintf("%g", ((const struct nc_num *)p)->v));
			break;
		case NC_F_ENUM: {
			int v = ((const struct nc_enum *)p)->v;

			fv_add(f, path, nc_xstrdup(fd->values && v >= 0 ? fd->values[v] : "?"));
			break;
		}
		case NC_F_MAP: {
			const struct nc_map *m = (const struct nc_map *)p;

			for (j = 0; j < m->n; j++) {
				char *k = clean(m->v[j].key), *kp = nc_xasprintf("%s.%s", path, k);

				fv_add(f, kp, clean(m->v[j].value));
				free(k);
				free(kp);
			}
			if (!m->n)
				fv_add(f, path, nc_xstrdup("{}"));
			break;
		}
		case NC_F_STRLIST: {
			const struct nc_strlist *l = (const struct nc_strlist *)p;
			struct nc_buf b = NC_BUF_INIT;

			nc_buf_addc(&b, '[');
			for (j = 0; j < l->n; j++) {
				char *c = clean(l->v[j].v);

				nc_buf_addf(&b, "%s%s", j ? ", " : "", c);
				free(c);
			}
			nc_buf_addc(&b, ']');
			fv_add(f, path, nc_buf_detach(&b, NULL));
			break;
		}
		case NC_F_STRUCT:
			flatten(f, fd->sub, p, path);
			break;
		case NC_F_LIST: {
			const struct nc_list *l = (const struct nc_list *)p;
			const struct nc_field *key = NULL;
			size_t k;

			for (k = 0; k < fd->sub->nfields; k++)
				if (fd->sub->fields[k].merge_key)
					key = &fd->sub->fields[k];
			for (j = 0; j < l->n; j++) {
				const char *item = (const char *)l->v + j * fd->sub->size;
				char *ip, *kv = NULL;

				if (key && ((const struct nc_str *)(item + key->off))->v)
					kv = clean(((const struct nc_str *)(item + key->off))->v);
				ip = kv ? nc_xasprintf("%s[%s]", path, kv) : nc_xasprintf("%s[%zu]", path, j);
				flatten(f, fd->sub, item, ip);
				free(ip);
				free(kv);
			}
			if (!l->n)
				fv_add(f, path, nc_xstrdup("[]"));
			break;
		}
		case NC_F_CRON:
			fv_add(f, path, clean(((const struct nc_cronval *)p)->v));
			break;
		case NC_F_DURATION:
			fv_add(f, path, duration_str(((const struct nc_duration *)p)->ms));
			break;
		}
next:
		free(path);
	}
}

static int fv_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct fv *)pa)->path, ((const struct fv *)pb)->path);
}

/* every object of the spec, flattened: by kind, then name (the spec's order) */
static struct flat *flatten_spec(const struct nc_spec *spec, size_t *n)
{
	struct flat *out;
	size_t k, i, total = 0, m = 0;

	for (k = 0; k < NC_KIND__COUNT; k++)
		total += spec->nobjs[k];
	out = nc_xcalloc(total + 1, sizeof(*out));
	for (k = 0; k < NC_KIND__COUNT; k++) {
		const struct nc_schema *root = nc_kinds[k].root;

		for (i = 0; i < spec->nobjs[k]; i++) {
			const struct nc_object *o = spec->objs[k][i];
			struct flat *f = &out[m++];
			size_t j;

			f->kind = (enum nc_kind)k;
			f->name = o->meta.name.v;
			for (j = 0; j < root->nfields; j++) {
				const struct nc_field *fd = &root->fields[j];

				/* apiVersion and kind are the same for every object of a kind */
				if (strcmp(fd->key, "metadata") && strcmp(fd->key, "spec"))
					continue;
				flatten(f, fd->sub, (const char *)o + fd->off, fd->key);
			}
			if (f->n > 1)
				qsort(f->v, f->n, sizeof(*f->v), fv_cmp);
		}
	}
	*n = m;
	return out;
}

static void flats_free(struct flat *f, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < f[i].n; j++) {
			free(f[i].v[j].path);
			free(f[i].v[j].value);
		}
		free(f[i].v);
	}
	free(f);
}

static int obj_cmp(const struct flat *a, const struct flat *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* ---- loading a side ---- */

static int rm_cb(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
	(void)sb;
	(void)ftwbuf;
	return typeflag == FTW_DP ? rmdir(fpath) : unlink(fpath);
}

struct side {
	const char *rev;          /* NULL: the working tree */
	char sha[41];
	char *dir;                /* what was loaded */
	struct nc_spec *spec;
};

static int load_side(struct side *s, const char *repo, const char *path, const char *tmp, const char *tag)
{
	struct nc_diags d;
	struct nc_err err = { "" };
	const char *paths[1];
	int rc;

	if (s->rev) {
		char *top = nc_xasprintf("%s/%s", tmp, tag);

		if (mkdir(top, 0700) < 0) {
			fprintf(stderr, "novacron diff: cannot create %s: %s\n", top, strerror(errno));
			free(top);
			return -1;
		}
		rc = nc_git_export(repo, s->rev, path, top, s->sha, &err);
		if (rc < 0) {
			fprintf(stderr, "novacron diff: %s\n", err.msg);
			free(top);
			return -1;
		}
		s->dir = path && *path ? nc_xasprintf("%s/%s", top, path) : nc_xstrdup(top);
		free(top);
	} else {
		s->dir = path && *path ? nc_xasprintf("%s/%s", repo, path) : nc_xstrdup(repo);
	}
	nc_diags_init(&d);
	paths[0] = s->dir;
	rc = nc_spec_load(&s->spec, paths, 1, NULL, &d);
	if (rc < 0) {
		struct nc_buf b = NC_BUF_INIT;

		const char *p, *hit;
		char *prefix = nc_xasprintf("%s/%s/", tmp, tag);

		nc_diags_sort(&d);
		nc_diags_format_text(&d, &b, 0);
		/* files of a revision are named REV:PATH, not by the temporary directory */
		for (p = b.buf; s->rev && (hit = strstr(p, prefix)); p = hit + strlen(prefix)) {
			fwrite(p, 1, (size_t)(hit - p), stderr);
			fprintf(stderr, "%s:", s->rev);
		}
		fprintf(stderr, "%snovacron diff: the spec at %s does not validate\n", s->rev ? p : b.buf,
			s->rev ? s->rev : "the working tree");
		free(prefix);
		nc_buf_release(&b);
	}
	nc_diags_release(&d);
	return rc;
}

/* ---- output ---- */

struct change {
	const struct flat *from, *to;   /* either NULL: added / removed */
};

/*
 * A code span in a table cell.  A backslash does not escape a backtick
 * inside a code span (CommonMark): a value with backticks gets a fence one
 * longer than its longest run of them, and spaces inside it, else the span
 * would end early and the rest ("<img ...>", "@user", links) be Markdown.
 * '|' is escaped as GFM tables read it, even inside a code span.
 */
static void md_cell(struct nc_buf *b, const char *s)
{
	size_t run = 0, longest = 0, i;
	const char *p;

	for (p = s; p && *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	for (i = 0; i <= longest; i++)
		nc_buf_addc(b, '`');
	if (longest)
		nc_buf_addc(b, ' ');
	for (p = s; p && *p; p++) {
		if (*p == '|')
			nc_buf_addc(b, '\\');
		nc_buf_addc(b, *p);
	}
	if (longest)
		nc_buf_addc(b, ' ');
	for (i = 0; i <= longest; i++)
		nc_buf_addc(b, '`');
}

/* calls fn for every field that differs between a and b (either may be NULL) */
typedef void (*field_fn)(void *ctx, const char *path, const char *from, const char *to);

static void each_field(const struct flat *a, const struct flat *b, field_fn fn, void *ctx)
{
	size_t i = 0, j = 0, na = a ? a->n : 0, nb = b ? b->n : 0;

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a->v[i].path, b->v[j].path);

		if (c < 0) {
			fn(ctx, a->v[i].path, a->v[i].value, NULL);
			i++;
		} else if (c > 0) {
			fn(ctx, b->v[j].path, NULL, b->v[j].value);
			j++;
		} else {
			if (strcmp(a->v[i].value, b->v[j].value))
				fn(ctx, a->v[i].path, a->v[i].value, b->v[j].value);
			i++;
			j++;
		}
	}
}

static size_t count_fields(const struct flat *a, const struct flat *b);
static void count_fn(void *ctx, const char *path, const char *from, const char *to)
{
	(void)path;
	(void)from;
	(void)to;
	(*(size_t *)ctx)++;
}
static size_t count_fields(const struct flat *a, const struct flat *b)
{
	size_t n = 0;

	each_field(a, b, count_fn, &n);
	return n;
}

struct out_ctx {
	struct nc_buf *b;
	enum nc_output fmt;
	struct json_object *arr;
};

static void out_fn(void *ctx, const char *path, const char *from, const char *to)
{
	struct out_ctx *o = ctx;

	if (o->fmt == NC_OUT_JSON) {
		struct json_object *f = json_object_new_object();

		json_object_object_add(f, "field", json_object_new_string(path));
		json_object_object_add(f, "from", from ? json_object_new_string(from) : NULL);
		json_object_object_add(f, "to", to ? json_object_new_string(to) : NULL);
		json_object_array_add(o->arr, f);
	} else if (o->fmt == NC_OUT_MARKDOWN) {
		nc_buf_adds(o->b, "| ");
		md_cell(o->b, path);
		nc_buf_adds(o->b, " | ");
		if (from)
			md_cell(o->b, from);
		nc_buf_adds(o->b, " | ");
		if (to)
			md_cell(o->b, to);
		nc_buf_adds(o->b, " |\n");
	} else {
		nc_buf_addf(o->b, "    %s: %s -> %s\n", path, from ? from : "(unset)", to ? to : "(unset)");
	}
}

static struct json_object *side_json(const struct side *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "rev", s->rev ? json_object_new_string(s->rev) : NULL);
	json_object_object_add(o, "commit", s->rev ? json_object_new_string(s->sha) : NULL);
	return o;
}

static void render(struct nc_buf *b, enum nc_output fmt, const struct side *sa, const struct side *sb,
		   const struct change *ch, size_t nch)
{
	size_t i, added = 0, removed = 0, changed = 0;
	const char *ra = sa->rev, *rb = sb->rev ? sb->rev : "the working tree";
	struct json_object *root = NULL, *jadd = NULL, *jrem = NULL, *jch = NULL;

	for (i = 0; i < nch; i++) {
		if (!ch[i].from)
			added++;
		else if (!ch[i].to)
			removed++;
		else
			changed++;
	}
	if (fmt == NC_OUT_JSON) {
		struct json_object *sum = json_object_new_object();

		root = json_object_new_object();
		json_object_object_add(root, "format_version", json_object_new_int(1));
		json_object_object_add(root, "from", side_json(sa));
		json_object_object_add(root, "to", side_json(sb));
		json_object_object_add(root, "added", jadd = json_object_new_array());
		json_object_object_add(root, "removed", jrem = json_object_new_array());
		json_object_object_add(root, "changed", jch = json_object_new_array());
		json_object_object_add(sum, "added", json_object_new_int64((int64_t)added));
		json_object_object_add(sum, "removed", json_object_new_int64((int64_t)removed));
		json_object_object_add(sum, "changed", json_object_new_int64((int64_t)changed));
		json_object_object_add(root, "summary", sum);
	} else if (fmt == NC_OUT_MARKDOWN) {
		nc_buf_addf(b, "### Desired state: `%s` -> `%s`\n\n", ra, rb);
	} else {
		nc_buf_addf(b, "Desired state: %s (%.12s) -> %s%s%.12s%s\n\n", ra, sa->sha, rb,
			    sb->rev ? " (" : "", sb->rev ? sb->sha : "", sb->rev ? ")" : "");
	}
	for (i = 0; i < nch; i++) {
		const struct flat *o = ch[i].from ? ch[i].from : ch[i].to;
		const char *kind = nc_kinds[o->kind].name;
		char sym = !ch[i].from ? '+' : !ch[i].to ? '-' : '~';
		struct out_ctx oc = { b, fmt, NULL };

		if (fmt == NC_OUT_JSON) {
			struct json_object *j = json_object_new_object();

			json_object_object_add(j, "kind", json_object_new_string(kind));
			json_object_object_add(j, "name", json_object_new_string(o->name));
			if (ch[i].from && ch[i].to) {
				oc.arr = json_object_new_array();
				json_object_object_add(j, "fields", oc.arr);
				each_field(ch[i].from, ch[i].to, out_fn, &oc);
			}
			json_object_array_add(sym == '+' ? jadd : sym == '-' ? jrem : jch, j);
			continue;
		}
		if (fmt == NC_OUT_MARKDOWN) {
			nc_buf_addf(b, "%s **%s %s**%s", sym == '+' ? "- added:" : sym == '-' ? "- removed:" : "- changed:",
				    kind, o->name, sym == '~' ? "\n\n  | field | from | to |\n  |---|---|---|" : "\n");
			if (sym == '~') {
				struct nc_buf t = NC_BUF_INIT;
				const char *p, *nl;

				oc.b = &t;
				each_field(ch[i].from, ch[i].to, out_fn, &oc);
				for (p = t.buf; *p; p = nl + 1) {
					nl = strchr(p, '\n');
					nc_buf_adds(b, "\n  ");
					nc_buf_add(b, p, (size_t)(nl - p));
				}
				nc_buf_adds(b, "\n\n");
				nc_buf_release(&t);
			}
			continue;
		}
		nc_buf_addf(b, "%c %s %s\n", sym, kind, o->name);
		if (sym == '~')
			each_field(ch[i].from, ch[i].to, out_fn, &oc);
	}
	if (fmt == NC_OUT_JSON) {
		nc_buf_adds(b, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
		nc_buf_addc(b, '\n');
		json_object_put(root);
		return;
	}
	if (!nch)
		nc_buf_adds(b, "No changes in the desired state.\n");
	else
		nc_buf_addf(b, "\nDiff: %zu added, %zu removed, %zu changed.\n", added, removed, changed);
}

int cmd_diff(int argc, char **argv)
{
	struct nc_getopt g;
	const char *repo_opt = NULL, *path = NULL;
	enum nc_output fmt = NC_OUT_TEXT;
	struct side sa, sb;
	struct flat *fa = NULL, *fb = NULL;
	struct change *ch = NULL;
	size_t na = 0, nb = 0, nch = 0, i, j;
	char *repo = NULL, tmp[] = "/tmp/nc-diff-XXXXXX";
	const char *tmpdir = getenv("TMPDIR");
	char *tmpl = NULL, *madetmp = NULL;
	struct nc_err err = { "" };
	struct nc_buf b = NC_BUF_INIT;
	int c, ret = NC_EXIT_ERROR;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	nc_getopt_init(&g, diff_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_REPO: repo_opt = optarg; break;
		case OPT_PATH: path = optarg; break;
		case 'o':
			if (nc_cli_output(optarg, 1u << NC_OUT_TEXT | 1u << NC_OUT_JSON | 1u << NC_OUT_MARKDOWN, &fmt) < 0) {
				fprintf(stderr, "novacron diff: --output must be text, markdown or json\n");
				goto out;
			}
			break;
		case 'h':
			nc_cmd_help(stdout, &nc_doc_diff);
			ret = NC_EXIT_OK;
			goto out;
		default:
			nc_cmd_usage_error(&nc_doc_diff);
			goto out;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		nc_cmd_usage_error(&nc_doc_diff);
		goto out;
	}
	sa.rev = argv[optind];
	sb.rev = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (path && (path[0] == '/' || strstr(path, ".."))) {
		fprintf(stderr, "novacron diff: --path '%s' must be a folder inside the repository\n", path);
		goto out;
	}
	if (nc_git_workdir(&repo, repo_opt ? repo_opt : ".", &err) < 0) {
		if (!repo_opt || sb.rev == NULL) {
			fprintf(stderr, "novacron diff: %s\n", err.msg);
			goto out;
		}
		repo = nc_xstrdup(repo_opt);   /* a bare repository: two revisions given */
	}
	/* a private directory for the revisions' trees */
	if (tmpdir && *tmpdir && tmpdir[0] == '/') {
		tmpl = nc_xasprintf("%s/nc-diff-XXXXXX", tmpdir);
		madetmp = mkdtemp(tmpl);
	} else {
		madetmp = mkdtemp(tmp);
	}
	if (!madetmp) {
		fprintf(stderr, "novacron diff: cannot create a temporary directory: %s\n", strerror(errno));
		goto out;
	}
	if (load_side(&sa, repo, path, madetmp, "a") < 0 || load_side(&sb, repo, path, madetmp, "b") < 0)
		goto out;
	fa = flatten_spec(sa.spec, &na);
	fb = flatten_spec(sb.spec, &nb);
	ch = nc_xcalloc(na + nb + 1, sizeof(*ch));
	for (i = 0, j = 0; i < na || j < nb;) {
		int cmp = i == na ? 1 : j == nb ? -1 : obj_cmp(&fa[i], &fb[j]);

		if (cmp < 0) {
			ch[nch++].from = &fa[i++];
		} else if (cmp > 0) {
			ch[nch++].to = &fb[j++];
		} else {
			if (count_fields(&fa[i], &fb[j])) {
				ch[nch].from = &fa[i];
				ch[nch++].to = &fb[j];
			}
			i++;
			j++;
		}
	}
	render(&b, fmt, &sa, &sb, ch, nch);
	fwrite(b.buf, 1, b.len, stdout);
	ret = nch ? NC_EXIT_CHANGES : NC_EXIT_OK;
out:
	nc_getopt_release(&g);
	if (madetmp)
		nftw(madetmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(tmpl);
	free(ch);
	flats_free(fa, na);
	flats_free(fb, nb);
	nc_spec_free(sa.spec);
	nc_spec_free(sb.spec);
	free(sa.dir);
	free(sb.dir);
	free(repo);
	nc_buf_release(&b);
	return ret;
}
