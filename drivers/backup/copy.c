/*
 * backup/copy.c - nc_backup_copy_snapshot(): one snapshot from one
 * repository into another, sending only the chunks the destination lacks
 * (cross-cluster migration, docs/migration.md "Between clusters").
 *
 * Two ways, chosen by what the repositories allow:
 *
 *   raw        same chunk size and the same id and encryption keys (both
 *              unencrypted, or both encrypted with one master key): chunk
 *              ids mean the same in both, so a chunk the destination holds
 *              (exists()) is not sent, and a missing one is sent as its
 *              stored object, after it was fetched and checked against its
 *              id in the source.  A missing delta chunk's base is sent
 *              first when the destination lacks it too.
 *   re-encode  otherwise (other chunk size, other key, one side encrypted):
 *              the snapshot's image is read from the source chunk by chunk
 *              and written into the destination with nc_backup_write(), on
 *              the destination's newest earlier snapshot of the same VM and
 *              disk as parent: the destination hashes with its own keys,
 *              sends only chunks it does not hold, and stores new ones as
 *              deltas on the parent's where smaller.
 *
 * The copy's manifest is the destination's own: checkpoint none (a libvirt
 * checkpoint belongs to the source's host), parent the source's parent when
 * the destination holds it (raw) or the parent chosen above (re-encode).
 * The same snapshot copied twice gives the same manifest, so the same id: a
 * copy killed midway and run again finishes without a duplicate.  Chunks
 * are synced before the manifest is written, as in a backup.
 *
 * Dry run: nothing is written; raw counts exactly the objects that would be
 * sent, re-encode counts each missing chunk at its uncompressed length (an
 * upper bound: stats.exact is false).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define MANIFEST_NAME_LEN (10 + NC_BACKUP_ID_HEX + 1)
#define CHUNK_NAME_LEN (7 + NC_BACKUP_ID_HEX + 1)

static void chunk_name(char name[CHUNK_NAME_LEN], const unsigned char id[32])
{
	char hex[NC_BACKUP_ID_HEX + 1];

	nc_bk_hex_encode(hex, id, 32);
	snprintf(name, CHUNK_NAME_LEN, "chunks/%s", hex);
}

bool nc_backup_copy_raw(const struct nc_backup_repo *dst, const struct nc_backup_repo *src)
{
	if (dst->chunk_size != src->chunk_size || dst->encrypted != src->encrypted)
		return false;
	if (!dst->encrypted)
		return true;
	return CRYPTO_memcmp(dst->id_key, src->id_key, 32) == 0 &&
	       CRYPTO_memcmp(dst->enc_key, src->enc_key, 32) == 0;
}

/* ---- raw ---- */

/* Sends chunk id (checked in src first) unless dst holds it. */
static int raw_chunk(struct nc_backup_copy_stats *st, struct nc_backup_repo *dst,
	struct nc_backup_repo *src, const unsigned char id[32], bool dry_run, struct nc_err *err)
{
	char name[CHUNK_NAME_LEN];
	unsigned char *obj = NULL, *plain = NULL;
	size_t olen, plen;
	struct nc_err e2;
	int rc;

	chunk_name(name, id);
	rc = dst ? dst->t->drv->exists(dst->t, name, err) : 0;
	if (rc < 0)
		return -1;
	if (rc > 0) {
		st->chunks_present++;
		return 0;
	}
	/* fetch and check against the id (a delta with its base), so nothing damaged is sent */
	if (nc_bk_chunk_fetch(src, id, 0, NULL, NULL, &plain, &plen, &e2) < 0) {
		nc_err_set(err, "copy: source %s: %s", name, e2.msg);
		return -1;
	}
	free(plain);
	rc = src->t->drv->get(src->t, name, &obj, &olen, err);
	if (rc == NC_BACKUP_ENOENT)
		nc_err_set(err, "copy: source %s vanished during the copy", name);
	if (rc < 0)
		return -1;
	st->bytes_read += olen;
	if (!dry_run && dst->t->drv->put(dst->t, name, obj, olen, err) < 0) {
		free(obj);
		return -1;
	}
	free(obj);
	st->chunks_sent++;
	st->bytes_sent += olen;
	return 0;
}

static int cmp_id32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int copy_raw(struct nc_backup_copy_stats *st, struct nc_backup_repo *dst,
	struct nc_backup_repo *src, const struct nc_backup_snapshot *s, bool dry_run,
	struct nc_err *err)
{
	unsigned char (*ids)[32] = nc_xcalloc(s->nchunks * 2 + 1, 32);
	size_t n = 0, nb = 0, i;
	int ret = -1;

	/* bases first (a delta is never stored before its base), then the chunks */
	for (i = 0; i < s->nchunks; i++)
		if (memcmp(s->bases[i], nc_bk_zero_id, 32) != 0)
			memcpy(ids[nb++], s->bases[i], 32);
	qsort(ids, nb, 32, cmp_id32);
	for (i = 0; i < nb; i++)
		if (i == 0 || memcmp(ids[i], ids[n - 1], 32) != 0)
			memmove(ids[n++], ids[i], 32);
	nb = n;
	for (i = 0; i < nb; i++)
		if (raw_chunk(st, dst, src, ids[i], dry_run, err) < 0)
			goto out;
	for (i = 0; i < s->nchunks; i++)
		if (memcmp(s->chunks[i], nc_bk_zero_id, 32) != 0)
			memcpy(ids[n++], s->chunks[i], 32);
	qsort(ids + nb, n - nb, 32, cmp_id32);
	for (i = nb; i < n; i++) {
		if (i > nb && memcmp(ids[i], ids[i - 1], 32) == 0)
			continue;
		if (bsearch(ids[i], ids, nb, 32, cmp_id32))
			continue;           /* a base, sent above */
		if (raw_chunk(st, dst, src, ids[i], dry_run, err) < 0)
			goto out;
	}
	ret = 0;
out:
	free(ids);
	return ret;
}

/* ---- re-encode ---- */

/* The source snapshot's image as a struct nc_backup_source. */
struct snap_reader {
	struct nc_backup_repo *r;
	const struct nc_backup_snapshot *s;
	struct nc_bk_chunk_reader cr;
	size_t cached;              /* index of data, or SIZE_MAX */
	unsigned char *data;
	uint64_t bytes_read;        /* plaintext fetched */
};

static int snap_read(void *ctx, uint64_t off, void *buf, size_t len, struct nc_err *err)
{
	struct snap_reader *sr = ctx;
	const struct nc_backup_snapshot *s = sr->s;
	unsigned char *p = buf;

	if (off > s->disk_size || len > s->disk_size - off) {
		nc_err_set(err, "copy: read past the snapshot's end");
		return -1;
	}
	while (len > 0) {
		size_t i = (size_t)(off / s->chunk_size), in = (size_t)(off % s->chunk_size);
		size_t clen = nc_bk_chunk_len(s->disk_size, s->chunk_size, i);
		size_t take = clen - in < len ? clen - in : len;

		if (memcmp(s->chunks[i], nc_bk_zero_id, 32) == 0) {
			memset(p, 0, take);
		} else {
			if (sr->cached != i) {
				unsigned char *d;
				size_t dlen;
				struct nc_err e2;

				if (nc_bk_chunk_fetch(sr->r, s->chunks[i], clen, &sr->cr, NULL, &d, &dlen,
					&e2) < 0) {
					nc_err_set(err, "copy: source snapshot %.12s chunk %zu: %s", s->id, i,
						e2.msg);
					return -1;
				}
				free(sr->data);
				sr->data = d;
				sr->cached = i;
				sr->bytes_read += dlen;
			}
			memcpy(p, sr->data + in, take);
		}
		p += take;
		off += take;
		len -= take;
	}
	return 0;
}

/* The id of dst's newest snapshot of s's VM and disk older than s; "" = none. */
static int dst_parent(char out[NC_BACKUP_ID_HEX + 1], struct nc_backup_repo *dst,
	const struct nc_backup_snapshot *s, struct nc_err *err)
{
	struct nc_backup_snapshot *v;
	size_t n, i;

	*out = '\0';
	if (nc_backup_list(&v, &n, dst, err) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (!strcmp(v[i].vm, s->vm) && !strcmp(v[i].disk, s->disk) && v[i].time < s->time &&
		    v[i].chunk_size == dst->chunk_size)
			memcpy(out, v[i].id, NC_BACKUP_ID_HEX + 1);   /* sorted by time: the last wins */
	nc_backup_snapshots_free(v, n);
	return 0;
}

static int copy_reencode(struct nc_backup_copy_stats *st, struct nc_backup_repo *dst,
	struct nc_backup_repo *src, const struct nc_backup_snapshot *s, bool dry_run,
	struct nc_err *err)
{
	struct snap_reader sr;
	struct nc_backup_source source;
	struct nc_backup_meta meta;
	struct nc_backup_stats ws;
	char parent[NC_BACKUP_ID_HEX + 1];
	unsigned char *buf = NULL, id[32];
	int ret = -1;

	memset(&sr, 0, sizeof(sr));
	sr.r = src;
	sr.s = s;
	sr.cached = SIZE_MAX;
	memset(&source, 0, sizeof(source));
	source.read = snap_read;
	source.ctx = &sr;
	if (dst_parent(parent, dst, s, err) < 0)
		goto out;
	if (dry_run) {
		uint64_t n = (s->disk_size + dst->chunk_size - 1) / dst->chunk_size, i;
		char name[CHUNK_NAME_LEN];

		st->exact = false;
		buf = nc_xmalloc(dst->chunk_size);
		for (i = 0; i < n; i++) {
			size_t len = nc_bk_chunk_len(s->disk_size, dst->chunk_size, (size_t)i);
			size_t k;
			int rc;

			if (snap_read(&sr, i * dst->chunk_size, buf, len, err) < 0)
				goto out;
			for (k = 0; k < len && !buf[k]; k++)
				;
			if (k == len)
				continue;
			nc_bk_content_id(dst, id, buf, len);
			chunk_name(name, id);
			if ((rc = dst->t->drv->exists(dst->t, name, err)) < 0)
				goto out;
			if (rc > 0) {
				st->chunks_present++;
			} else {
				st->chunks_sent++;
				st->bytes_sent += len;
			}
		}
		st->bytes_read = sr.bytes_read;
		ret = 0;
		goto out;
	}
	memset(&meta, 0, sizeof(meta));
	meta.vm = s->vm;
	meta.disk = s->disk;
	meta.disk_size = s->disk_size;
	meta.time = s->time;
	meta.quiesced = s->quiesced;
	meta.parent = *parent ? parent : NULL;
	if (nc_backup_write(&ws, dst, &meta, &source, NULL, err) < 0)
		goto out;
	memcpy(st->id, ws.id, sizeof(st->id));
	st->chunks_sent = ws.chunks_new;
	st->chunks_present = ws.chunks_reused;
	st->bytes_sent = ws.bytes_stored;
	st->bytes_read = sr.bytes_read;
	ret = 0;
out:
	free(buf);
	free(sr.data);
	nc_bk_chunk_reader_release(&sr.cr);
	return ret;
}

/* ---- the copy ---- */

int nc_backup_copy_snapshot(struct nc_backup_copy_stats *out, struct nc_backup_repo *dst,
	struct nc_backup_repo *src, const char *id, const struct nc_backup_copy_opts *o,
	struct nc_err *err)
{
	struct nc_backup_copy_stats st;
	struct nc_backup_snapshot s, c;
	struct nc_buf text = NC_BUF_INIT;
	char name[MANIFEST_NAME_LEN], pname[MANIFEST_NAME_LEN];
	unsigned char *obj = NULL, mid[32];
	bool dry_run = o && o->dry_run;
	size_t olen;
	int rc, ret = -1;

	memset(&st, 0, sizeof(st));
	st.exact = true;
	if (!dst && !dry_run) {
		nc_err_set(err, "copy: no destination repository");
		return -1;
	}
	if (dst == src) {
		nc_err_set(err, "copy: source and destination are the same repository");
		return -1;
	}
	if (nc_backup_snapshot_load(&s, src, id, err) < 0)
		return -1;
	if (s.chunk_size != src->chunk_size) {
		nc_err_set(err, "copy: snapshot %.12s: chunk size %u differs from the repository's %u",
			s.id, s.chunk_size, src->chunk_size);
		goto out;
	}
	st.raw = !dst || nc_backup_copy_raw(dst, src);
	if (!st.raw) {
		if (copy_reencode(&st, dst, src, &s, dry_run, err) < 0)
			goto out;
		*out = st;
		ret = 0;
		goto out;
	}
	if (copy_raw(&st, dst, src, &s, dry_run, err) < 0)
		goto out;
	/* the destination's manifest: same chunks, its own parent, no host checkpoint */
	c = s;
	*c.checkpoint = '\0';
	*c.parent = '\0';
	if (!dst) {
		/* into an empty repository: the manifest as the source stores it */
		nc_bk_manifest_format(&text, &c);
		st.bytes_sent += text.len;
		*out = st;
		ret = 0;
		goto out;
	}
	if (*s.parent) {
		snprintf(pname, sizeof(pname), "snapshots/%s", s.parent);
		if ((rc = dst->t->drv->exists(dst->t, pname, err)) < 0)
			goto out;
		if (rc > 0)
			memcpy(c.parent, s.parent, sizeof(c.parent));
	}
	nc_bk_manifest_format(&text, &c);
	nc_bk_content_id(dst, mid, text.buf, text.len);
	nc_bk_hex_encode(st.id, mid, 32);
	snprintf(name, sizeof(name), "snapshots/%s", st.id);
	if (nc_bk_obj_encode(dst, name, text.buf, text.len, &obj, &olen, err) < 0)
		goto out;
	if ((rc = dst->t->drv->exists(dst->t, name, err)) < 0)
		goto out;
	if (rc == 0) {
		st.bytes_sent += olen;
		/* every chunk durable before the manifest that references them */
		if (!dry_run && (dst->t->drv->sync(dst->t, err) < 0 ||
				 dst->t->drv->put(dst->t, name, obj, olen, err) < 0 ||
				 dst->t->drv->sync(dst->t, err) < 0))
			goto out;
	} else {
		st.already = true;
	}
	*out = st;
	ret = 0;
out:
	free(obj);
	nc_buf_release(&text);
	nc_backup_snapshot_release(&s);
	return ret;
}
