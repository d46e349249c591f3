/*
 * backup/restore.c - restore and verify a snapshot (two passes: check
 * every chunk, then write).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- restore ---- */

/*
 * Restores verify before they write (docs/backup.md, "Restore"): the first
 * pass fetches, opens and checks every chunk the manifest names (GCM tag,
 * decompression, delta base, length, id) and writes nothing; only when all
 * of them pass does the second pass write, fetching and checking each chunk
 * again.  The manifest is loaded once and its id checked against its text,
 * so both passes follow the same list.  A chunk that fails in the second
 * pass was good a moment before: the repository changed (an object
 * replaced or deleted) or became unreadable during the restore, and the
 * message says so, and that the target is now partly written.
 */
static int restore_pass(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, const struct nc_backup_sink *sink, struct nc_err *err)
{
	struct nc_backup_restore_stats st = { 0, 0 };
	struct nc_bk_chunk_reader cr;
	unsigned char *data = NULL, *zeros = NULL, last[32];
	size_t i, dlen = 0;
	bool have_last = false;
	int ret = -1;

	memset(&cr, 0, sizeof(cr));
	if (s->chunk_size != r->chunk_size) {
		nc_err_set(err, "snapshot %.12s: chunk size %u differs from the repository's %u",
			s->id, s->chunk_size, r->chunk_size);
		goto out;
	}
	if (s->nchunks != (s->disk_size + s->chunk_size - 1) / s->chunk_size) {
		nc_err_set(err, "snapshot %.12s: %zu chunks do not cover its %llu bytes (malformed manifest)",
			s->id, s->nchunks, (unsigned long long)s->disk_size);
		goto out;
	}
	for (i = 0; i < s->nchunks; i++) {
		uint64_t off = (uint64_t)i * s->chunk_size;
		size_t len = nc_bk_chunk_len(s->disk_size, s->chunk_size, i);
		struct nc_err e2;

		if (memcmp(s->chunks[i], nc_bk_zero_id, 32) == 0) {
			if (!sink) {
				/* nothing to check */
			} else if (sink->zero) {
				if (sink->zero(sink->ctx, off, len, err) < 0)
					goto out;
			} else {
				if (!zeros)
					zeros = nc_xcalloc(1, s->chunk_size);
				if (sink->write(sink->ctx, off, zeros, len, err) < 0)
					goto out;
			}
			st.bytes_written += sink ? len : 0;
			continue;
		}
		if (!have_last || memcmp(last, s->chunks[i], 32) != 0 || dlen != len) {
			free(data);
			data = NULL;
			have_last = false;
			if (nc_bk_chunk_fetch(r, s->chunks[i], len, &cr, NULL, &data, &dlen, &e2) < 0) {
				if (sink)
					nc_err_set(err, "restore %.12s: chunk %zu (offset %llu) failed after it was "
						"verified: the repository changed or became unreadable during the "
						"restore, and the target is partly written: %s", s->id, i,
						(unsigned long long)off, e2.msg);
				else
					nc_err_set(err, "restore %.12s: chunk %zu (offset %llu): %s; nothing was "
						"written", s->id, i, (unsigned long long)off, e2.msg);
				goto out;
			}
			memcpy(last, s->chunks[i], 32);
			have_last = true;
			st.chunks_fetched++;
		}
		if (sink) {
			if (sink->write(sink->ctx, off, data, len, err) < 0)
				goto out;
			st.bytes_written += len;
		}
	}
	if (out)
		*out = st;
	ret = 0;
out:
	nc_bk_chunk_reader_release(&cr);
	free(data);
	free(zeros);
	return ret;
}

int nc_backup_verify_snapshot(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, struct nc_err *err)
{
	return restore_pass(out, r, s, NULL, err);
}

int nc_backup_restore_snapshot(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, const struct nc_backup_sink *sink, struct nc_err *err)
{
	return restore_pass(out, r, s, sink, err);
}

int nc_backup_restore(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const char *id, const struct nc_backup_sink *sink, struct nc_err *err)
{
	struct nc_backup_snapshot s;
	int ret;

	if (nc_backup_snapshot_load(&s, r, id, err) < 0)
		return -1;
	ret = nc_backup_verify_snapshot(NULL, r, &s, err);
	if (ret == 0)
		ret = nc_backup_restore_snapshot(out, r, &s, sink, err);
	nc_backup_snapshot_release(&s);
	return ret;
}
