/*
 * backup/prune.c - retention (which snapshots a keep-last/daily/weekly/
 * monthly policy keeps) and prune (delete the others' manifests, then the
 * chunks no kept snapshot references).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- retention and prune ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t bucket(int64_t t, int kind)
{
	int64_t day = floor_div(t, 86400);
	struct tm tm;
	time_t tt = (time_t)t;

	switch (kind) {
	case 0:
		return day;
	case 1:
		return floor_div(day + 3, 7);    /* 1970-01-01 was a Thursday: weeks start Monday */
	default:
		if (!gmtime_r(&tt, &tm))
			return day;
		return (int64_t)tm.tm_year * 12 + tm.tm_mon;
	}
}

static const struct nc_backup_snapshot *sel_v;

static int cmp_newest(const void *a, const void *b)
{
	const struct nc_backup_snapshot *x = &sel_v[*(const size_t *)a];
	const struct nc_backup_snapshot *y = &sel_v[*(const size_t *)b];
	int c = strcmp(x->vm, y->vm);

	if (c)
		return c;
	if ((c = strcmp(x->disk, y->disk)))
		return c;
	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return -strcmp(x->id, y->id);
}

void nc_backup_retention_select(bool *keep, const struct nc_backup_snapshot *v, size_t n,
	const struct nc_backup_retention *ret)
{
	size_t *ix, g, e, i;
	int kind;

	for (i = 0; i < n; i++)
		keep[i] = false;
	if (!n)
		return;
	ix = nc_xcalloc(n, sizeof(*ix));
	for (i = 0; i < n; i++)
		ix[i] = i;
	sel_v = v;
	qsort(ix, n, sizeof(*ix), cmp_newest);
	sel_v = NULL;
	for (g = 0; g < n; g = e) {
		for (e = g + 1; e < n && strcmp(v[ix[e]].vm, v[ix[g]].vm) == 0 &&
		     strcmp(v[ix[e]].disk, v[ix[g]].disk) == 0; e++)
			;
		for (i = g; i < e && i - g < ret->keep_last; i++)
			keep[ix[i]] = true;
		for (kind = 0; kind < 3; kind++) {
			unsigned want = kind == 0 ? ret->keep_daily :
				kind == 1 ? ret->keep_weekly : ret->keep_monthly, got = 0;
			int64_t prev = 0;

			for (i = g; i < e && got < want; i++) {
				int64_t b = bucket(v[ix[i]].time, kind);

				if (got && b == prev)
					continue;
				keep[ix[i]] = true;   /* the newest of its day/week/month */
				prev = b;
				got++;
			}
		}
	}
	free(ix);
}

void nc_backup_prune_report_release(struct nc_backup_prune_report *p)
{
	if (!p)
		return;
	nc_backup_names_free(p->removed, p->nremoved);
	memset(p, 0, sizeof(*p));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int nc_backup_prune(struct nc_backup_prune_report *out, struct nc_backup_repo *r,
	const struct nc_backup_retention *ret, bool dry_run, struct nc_err *err)
{
	struct nc_backup_prune_report p;
	struct nc_backup_snapshot *v = NULL;
	struct nc_bk_ref *refs = NULL;
	unsigned char (*have)[32] = NULL;
	char name[10 + NC_BACKUP_ID_HEX + 1], hex[NC_BACKUP_ID_HEX + 1];
	bool *keep = NULL;
	size_t nv = 0, nrefs = 0, nhave = 0, i;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	if (!ret->keep_last && !ret->keep_daily && !ret->keep_weekly && !ret->keep_monthly) {
		nc_err_set(err, "prune: the retention keeps nothing (set keep-last, -daily, "
			"-weekly or -monthly)");
		return -1;
	}
	/* Any unreadable manifest stops the prune: its chunks cannot be known. */
	if (nc_backup_list(&v, &nv, r, err) < 0)
		return -1;
	keep = nc_xcalloc(nv ? nv : 1, sizeof(*keep));
	nc_backup_retention_select(keep, v, nv, ret);
	for (i = 0; i < nv; i++) {
		if (keep[i]) {
			p.kept++;
			continue;
		}
		p.removed = nc_xreallocarray(p.removed, p.nremoved + 1, sizeof(*p.removed));
		p.removed[p.nremoved++] = nc_xstrdup(v[i].id);
	}
	if (p.nremoved)
		qsort(p.removed, p.nremoved, sizeof(*p.removed), cmp_str);
	/* first the manifests, durably; only then the chunks they alone used */
	if (!dry_run) {
		for (i = 0; i < p.nremoved; i++) {
			snprintf(name, sizeof(name), "snapshots/%s", p.removed[i]);
			if (r->t->drv->del(r->t, name, err) < 0)
				goto out;
		}
		if (r->t->drv->sync(r->t, err) < 0)
			goto out;
	}
	refs = nc_bk_collect_refs(v, keep, nv, &nrefs);
	if (nc_bk_stored_chunks(&have, &nhave, r, err) < 0)
		goto out;
	for (i = 0; i < nhave; i++) {
		struct nc_bk_ref key;

		memcpy(key.id, have[i], 32);
		key.snap = 0;
		if (nrefs && bsearch(&key, refs, nrefs, sizeof(*refs), nc_bk_cmp_id)) {
			p.chunks_kept++;
			continue;
		}
		p.chunks_deleted++;
		if (dry_run)
			continue;
		nc_bk_hex_encode(hex, have[i], 32);
		snprintf(name, sizeof(name), "chunks/%s", hex);
		if (r->t->drv->del(r->t, name, err) < 0)
			goto out;
	}
	if (!dry_run && r->t->drv->sync(r->t, err) < 0)
		goto out;
	*out = p;
	memset(&p, 0, sizeof(p));
	rc = 0;
out:
	nc_backup_prune_report_release(&p);
	nc_backup_snapshots_free(v, nv);
	free(keep);
	free(refs);
	free(have);
	return rc;
}
