/*
 * backup/check.c - nc_backup_check(): every manifest and the chunks it
 * references (present, delta bases full, and with read_data their
 * contents); also the referenced and stored chunk sets prune uses.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PROBLEMS 1000

/* ---- check ---- */

static int cmp_ref(const void *a, const void *b)
{
	const struct nc_bk_ref *x = a, *y = b;
	int c = memcmp(x->id, y->id, 32);

	if (c)
		return c;
	if (x->as_base != y->as_base)
		return x->as_base ? 1 : -1;
	return x->snap < y->snap ? -1 : x->snap > y->snap;
}

int nc_bk_cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/*
 * Distinct non-zero chunk ids of snapshots and their delta bases, sorted,
 * each with its first referrer (as a chunk before as a base).
 */
struct nc_bk_ref *nc_bk_collect_refs(const struct nc_backup_snapshot *v, const bool *use,
	size_t n, size_t *out_n)
{
	struct nc_bk_ref *refs = NULL;
	size_t i, j, k = 0, a = 0;

	for (i = 0; i < n; i++) {
		if (use && !use[i])
			continue;
		for (j = 0; j < v[i].nchunks; j++) {
			bool delta = memcmp(v[i].bases[j], nc_bk_zero_id, 32) != 0;

			if (memcmp(v[i].chunks[j], nc_bk_zero_id, 32) == 0)
				continue;
			if (k + 2 > a) {
				a = a ? 2 * a : 1024;
				refs = nc_xreallocarray(refs, a, sizeof(*refs));
			}
			memset(&refs[k], 0, sizeof(refs[k]));
			memcpy(refs[k].id, v[i].chunks[j], 32);
			memcpy(refs[k].base, v[i].bases[j], 32);
			refs[k++].snap = i;
			if (!delta)
				continue;
			memset(&refs[k], 0, sizeof(refs[k]));
			memcpy(refs[k].id, v[i].bases[j], 32);
			memcpy(refs[k].of, v[i].chunks[j], 32);
			refs[k].as_base = true;
			refs[k++].snap = i;
		}
	}
	if (k)
		qsort(refs, k, sizeof(*refs), cmp_ref);
	for (i = 0, j = 0; i < k; i++)
		if (j == 0 || memcmp(refs[j - 1].id, refs[i].id, 32) != 0)
			refs[j++] = refs[i];
	*out_n = j;
	return refs;
}

/* The repository's chunk ids, binary, sorted; names that are not ids are skipped. */
int nc_bk_stored_chunks(unsigned char (**out)[32], size_t *out_n, struct nc_backup_repo *r,
	struct nc_err *err)
{
	unsigned char (*ids)[32];
	char **names;
	size_t n, i, k = 0;

	if (r->t->drv->list(r->t, "chunks", &names, &n, err) < 0)
		return -1;
	ids = nc_xcalloc(n ? n : 1, 32);
	for (i = 0; i < n; i++)
		if (nc_bk_is_id(names[i]))
			nc_bk_hex_decode(ids[k++], names[i], 32);
	nc_backup_names_free(names, n);
	if (k)
		qsort(ids, k, 32, nc_bk_cmp_id);
	*out = ids;
	*out_n = k;
	return 0;
}

void nc_backup_check_report_release(struct nc_backup_check_report *c)
{
	if (!c)
		return;
	nc_backup_names_free(c->problems, c->nproblems);
	memset(c, 0, sizeof(*c));
}

static void problem(struct nc_backup_check_report *c, size_t *alloc, const char *fmt, ...)
	NC_PRINTF(3, 4);
static void problem(struct nc_backup_check_report *c, size_t *alloc, const char *fmt, ...)
{
	struct nc_buf b = NC_BUF_INIT;
	va_list ap;

	if (c->nproblems >= MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (c->nproblems == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 16;
		c->problems = nc_xreallocarray(c->problems, *alloc, sizeof(*c->problems));
	}
	c->problems[c->nproblems++] = nc_buf_detach(&b, NULL);
}

int nc_backup_check(struct nc_backup_check_report *out, struct nc_backup_repo *r,
	const struct nc_backup_check_opts *o, struct nc_err *err)
{
	struct nc_backup_check_report c;
	struct nc_backup_snapshot *v = NULL;
	struct nc_bk_ref *refs = NULL;
	struct nc_bk_chunk_reader cr;
	unsigned char (*have)[32] = NULL;
	char **ids = NULL, hex[NC_BACKUP_ID_HEX + 1], hex2[NC_BACKUP_ID_HEX + 1];
	size_t nids = 0, nv = 0, nrefs = 0, nhave = 0, i, palloc = 0, present = 0;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	memset(&cr, 0, sizeof(cr));
	if (nc_bk_list_ids(&ids, &nids, r, err) < 0)
		goto out;
	v = nc_xcalloc(nids ? nids : 1, sizeof(*v));
	for (i = 0; i < nids; i++) {
		struct nc_err e2;

		c.snapshots++;
		if (nc_bk_snapshot_get(&v[nv], r, ids[i], &e2) < 0) {
			c.snapshots_bad++;
			problem(&c, &palloc, "snapshot %s: %s", ids[i], e2.msg);
			continue;
		}
		nv++;
	}
	refs = nc_bk_collect_refs(v, NULL, nv, &nrefs);
	c.chunks_referenced = nrefs;
	if (nc_bk_stored_chunks(&have, &nhave, r, err) < 0)
		goto out;
	for (i = 0; i < nrefs; i++) {
		struct nc_err e2;
		unsigned char *data, got_base[32];
		const struct nc_bk_ref *b;
		bool delta = memcmp(refs[i].base, nc_bk_zero_id, 32) != 0;
		size_t dlen;

		nc_bk_hex_encode(hex, refs[i].id, 32);
		if (!bsearch(refs[i].id, have, nhave, 32, nc_bk_cmp_id)) {
			c.chunks_missing++;
			if (refs[i].as_base) {
				nc_bk_hex_encode(hex2, refs[i].of, 32);
				problem(&c, &palloc, "chunk %s: delta base %s missing (snapshot %.12s "
					"and maybe others)", hex2, hex, v[refs[i].snap].id);
			} else {
				problem(&c, &palloc, "chunk %s (of snapshot %.12s and maybe others) "
					"is missing", hex, v[refs[i].snap].id);
			}
			continue;
		}
		present++;
		if (delta) {
			c.chunks_delta++;
			b = bsearch(refs[i].base, refs, nrefs, sizeof(*refs), nc_bk_cmp_id);
			if (b && !b->as_base && memcmp(b->base, nc_bk_zero_id, 32) != 0) {
				nc_bk_hex_encode(hex2, refs[i].base, 32);
				problem(&c, &palloc, "chunk %s: delta base %s is itself a delta", hex,
					hex2);
			}
		}
		if (!(o && o->read_data))
			continue;
		if (nc_bk_chunk_fetch(r, refs[i].id, 0, &cr, got_base, &data, &dlen, &e2) < 0) {
			c.chunks_corrupt++;
			problem(&c, &palloc, "chunk %s (of snapshot %.12s and maybe others): %s",
				hex, v[refs[i].snap].id, e2.msg);
			continue;
		}
		free(data);
		if (!refs[i].as_base && memcmp(got_base, refs[i].base, 32) != 0) {
			c.chunks_corrupt++;
			problem(&c, &palloc, "chunk %s (of snapshot %.12s and maybe others): stored "
				"as %s, not as its manifest says", hex, v[refs[i].snap].id,
				delta ? "a full chunk or on another base" : "a delta");
		}
	}
	c.chunks_unreferenced = nhave - present;
	*out = c;
	memset(&c, 0, sizeof(c));
	ret = 0;
out:
	nc_bk_chunk_reader_release(&cr);
	nc_backup_check_report_release(&c);
	nc_backup_snapshots_free(v, nv);
	nc_backup_names_free(ids, nids);
	free(refs);
	free(have);
	return ret;
}
