/* diag.c - see diag.h */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

static const char *const sev_names[] = {
	[NC_SEV_ERROR] = "error",
	[NC_SEV_WARNING] = "warning",
	[NC_SEV_NOTE] = "note",
};

const char *nc_severity_name(enum nc_severity sev)
{
	return sev_names[sev];
}

void nc_diags_init(struct nc_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void nc_diags_release(struct nc_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	nc_diags_init(d);
}

void nc_diag_vadd(struct nc_diags *d, enum nc_severity sev, struct nc_pos pos,
		  const char *fmt, va_list ap)
{
	struct nc_diag *g;
	struct nc_buf b = NC_BUF_INIT;

	if (sev == NC_SEV_ERROR)
		d->errors++;
	else if (sev == NC_SEV_WARNING)
		d->warnings++;
	if (d->max_errors && sev != NC_SEV_NOTE &&
	    d->errors + d->warnings > d->max_errors) {
		d->dropped++;
		return;
	}
	if (d->n == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 16;
		d->v = nc_xreallocarray(d->v, d->alloc, sizeof(*d->v));
	}
	g = &d->v[d->n];
	g->sev = sev;
	g->file = nc_xstrdup(pos.file ? pos.file : "");
	g->line = pos.line;
	g->col = pos.line ? pos.col : 0;
	nc_buf_vaddf(&b, fmt, ap);
	{
		/* a spec value quoted raw (an escape sequence, a line break) must
		 * not reach a terminal or forge a line of its own: \xNN */
		struct nc_buf c = NC_BUF_INIT;
		size_t i;

		for (i = 0; i < b.len; i++) {
			unsigned char ch = (unsigned char)b.buf[i];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				nc_buf_addf(&c, "\\x%02x", ch);
			else
				nc_buf_addc(&c, (char)ch);
		}
		nc_buf_release(&b);
		b = c;
	}
	g->msg = nc_buf_detach(&b, NULL);
	g->seq = d->n;
	d->n++;
}

void nc_diag_add(struct nc_diags *d, enum nc_severity sev, struct nc_pos pos,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_diag_vadd(d, sev, pos, fmt, ap);
	va_end(ap);
}

/*
 * Notes belong to the diagnostic before them, so sorting moves groups:
 * a group is one error/warning plus the notes that follow it.
 */
struct group {
	size_t first, count;
};

static const struct nc_diag *sort_base;

static int group_cmp(const void *pa, const void *pb)
{
	const struct group *ga = pa, *gb = pb;
	const struct nc_diag *a = &sort_base[ga->first], *b = &sort_base[gb->first];
	int c = strcmp(a->file, b->file);

	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void nc_diags_sort(struct nc_diags *d)
{
	struct group *g;
	struct nc_diag *out;
	size_t ng = 0, i, j, k = 0;

	if (d->n < 2)
		return;
	g = nc_xcalloc(d->n, sizeof(*g));
	for (i = 0; i < d->n; i++) {
		if (d->v[i].sev == NC_SEV_NOTE && ng) {
			g[ng - 1].count++;
			continue;
		}
		g[ng].first = i;
		g[ng].count = 1;
		ng++;
	}
	sort_base = d->v;
	qsort(g, ng, sizeof(*g), group_cmp);
	sort_base = NULL;
	out = nc_xcalloc(d->n, sizeof(*out));
	for (i = 0; i < ng; i++)
		for (j = 0; j < g[i].count; j++)
			out[k++] = d->v[g[i].first + j];
	free(d->v);
	free(g);
	d->v = out;
	d->alloc = d->n;
}

void nc_diags_format_text(const struct nc_diags *d, struct nc_buf *out, int color)
{
	static const char *const colors[] = {
		[NC_SEV_ERROR] = "\033[1;31m",
		[NC_SEV_WARNING] = "\033[1;35m",
		[NC_SEV_NOTE] = "\033[1;36m",
	};
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct nc_diag *g = &d->v[i];

		if (color)
			nc_buf_adds(out, "\033[1m");
		if (g->line)
			nc_buf_addf(out, "%s:%u:%u: ", g->file, g->line, g->col);
		else if (g->file[0])
			nc_buf_addf(out, "%s: ", g->file);
		if (color)
			nc_buf_addf(out, "%s%s:\033[0m ", colors[g->sev],
				    nc_severity_name(g->sev));
		else
			nc_buf_addf(out, "%s: ", nc_severity_name(g->sev));
		nc_buf_adds(out, g->msg);
		nc_buf_addc(out, '\n');
	}
	if (d->dropped)
		nc_buf_addf(out, "novacron: %zu more problems not shown\n", d->dropped);
}

void nc_diags_format_json(const struct nc_diags *d, struct nc_buf *out)
{
	size_t i;

	nc_buf_addc(out, '[');
	for (i = 0; i < d->n; i++) {
		const struct nc_diag *g = &d->v[i];

		nc_buf_adds(out, i ? ",\n    {" : "\n    {");
		nc_buf_adds(out, "\"file\": ");
		nc_buf_add_json_str(out, g->file);
		nc_buf_addf(out, ", \"line\": %u, \"column\": %u, \"severity\": \"%s\", \"message\": ",
			    g->line, g->col, nc_severity_name(g->sev));
		nc_buf_add_json_str(out, g->msg);
		nc_buf_addc(out, '}');
	}
	nc_buf_adds(out, d->n ? "\n  ]" : "]");
}
