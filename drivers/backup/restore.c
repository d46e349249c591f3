/*
 * backup/restore.c - restore and verify a snapshot.
 *
 * Every pass (verify, write after a verify, or the single pass into a new
 * target) is the same pipeline: worker threads (r->threads) claim chunks in
 * order and fetch and check them (target get under one lock, then decrypt,
 * decompress, delta base, length, id, each worker with its own zstd
 * context and delta-base cache) into a ring of slots; the calling thread
 * takes the slots in chunk order, merges runs of zero chunks into one
 * sink->zero() and hands every data chunk to sink->write() (the sink, e.g.
 * drivers/storage/diskio.c's writer, merges consecutive writes into large
 * requests).  The ring bounds the memory: at most `nslots` decoded chunks
 * wait for the calling thread.  Because the slots are taken in order, the
 * first damaged chunk in disk order is the one reported, whatever the
 * threads' timing, and nothing past it is written.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- restore ---- */

enum pass_mode {
	PASS_VERIFY,          /* fetch and check, write nothing */
	PASS_WRITE_VERIFIED,  /* write, after a verify pass (checks again) */
	PASS_WRITE_ONCE,      /* write as it checks: the target is thrown away on failure */
};

struct rslot {
	unsigned char *data;
	size_t len;
	bool ready, failed, zero, dup;
	struct nc_err err;
};

struct rpipe {
	struct nc_backup_repo *r;
	const struct nc_backup_snapshot *s;
	pthread_mutex_t mu, get_mu;
	pthread_cond_t work, done;
	size_t next;          /* next chunk to claim */
	size_t tail;          /* next chunk the calling thread takes; claims stay below tail + nslots */
	size_t nslots;
	struct rslot *slot;
	bool stop;
};

struct rworker {
	struct rpipe *p;
	pthread_t th;
	ZSTD_DCtx *dctx;
	struct nc_bk_chunk_reader cr;
	bool started;
};

static bool chunk_is_dup(const struct nc_backup_snapshot *s, size_t i)
{
	return i > 0 && memcmp(s->chunks[i], s->chunks[i - 1], 32) == 0 &&
		nc_bk_chunk_len(s->disk_size, s->chunk_size, i) ==
		nc_bk_chunk_len(s->disk_size, s->chunk_size, i - 1);
}

/* Fetches and checks chunk i into sl (a worker, without the lock). */
static void slot_fill(struct rworker *w, size_t i, struct rslot *sl)
{
	struct rpipe *p = w->p;
	const struct nc_backup_snapshot *s = p->s;
	size_t len = nc_bk_chunk_len(s->disk_size, s->chunk_size, i);
	struct nc_bk_fetch_ctx fc = { w->dctx, &p->get_mu };

	sl->len = len;
	if (memcmp(s->chunks[i], nc_bk_zero_id, 32) == 0) {
		sl->zero = true;
		return;
	}
	/* the same chunk as the one before: the calling thread still holds its bytes */
	if (chunk_is_dup(s, i)) {
		sl->dup = true;
		return;
	}
	if (nc_bk_chunk_fetch_ctx(p->r, &fc, s->chunks[i], len, &w->cr, NULL, &sl->data, &sl->len, &sl->err) < 0)
		sl->failed = true;
}

static void *worker_main(void *arg)
{
	struct rworker *w = arg;
	struct rpipe *p = w->p;

	pthread_setname_np(pthread_self(), "nc-restore");   /* as profilers show it */
	pthread_mutex_lock(&p->mu);
	while (!p->stop && p->next < p->s->nchunks) {
		size_t i;
		struct rslot *sl;

		if (p->next >= p->tail + p->nslots) {
			pthread_cond_wait(&p->work, &p->mu);
			continue;
		}
		i = p->next++;
		sl = &p->slot[i % p->nslots];
		pthread_mutex_unlock(&p->mu);
		slot_fill(w, i, sl);
		pthread_mutex_lock(&p->mu);
		sl->ready = true;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Hands [off, off+len) of zeros to sink: zero() when it has one, else write() of zero buffers. */
static int sink_zeros(const struct nc_backup_sink *sink, uint64_t off, uint64_t len, unsigned char **zeros,
	uint32_t cs, struct nc_err *err)
{
	if (sink->zero)
		return sink->zero(sink->ctx, off, len, err);
	if (!*zeros)
		*zeros = nc_xcalloc(1, cs);
	while (len) {
		size_t n = len > cs ? cs : (size_t)len;

		if (sink->write(sink->ctx, off, *zeros, n, err) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

static int restore_pass(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, const struct nc_backup_sink *sink, enum pass_mode mode,
	struct nc_err *err)
{
	struct nc_backup_restore_stats st = { 0, 0 };
	struct rpipe p;
	struct rworker *w = NULL;
	unsigned char *last = NULL, *zeros = NULL;
	uint64_t zoff = 0, zlen = 0;
	size_t i, k, nth;
	int ret = -1;

	if (s->chunk_size != r->chunk_size) {
		nc_err_set(err, "snapshot %.12s: chunk size %u differs from the repository's %u",
			s->id, s->chunk_size, r->chunk_size);
		return -1;
	}
	if (s->nchunks != (s->disk_size + s->chunk_size - 1) / s->chunk_size) {
		nc_err_set(err, "snapshot %.12s: %zu chunks do not cover its %llu bytes (malformed manifest)",
			s->id, s->nchunks, (unsigned long long)s->disk_size);
		return -1;
	}
	if (mode == PASS_VERIFY)
		sink = NULL;

	memset(&p, 0, sizeof(p));
	p.r = r;
	p.s = s;
	nth = r->threads > 1 ? r->threads : 1;
	/* about 8 MiB of decoded chunks waiting, at least two per worker */
	p.nslots = (8u << 20) / (s->chunk_size ? s->chunk_size : 1);
	if (p.nslots < 2 * nth + 2)
		p.nslots = 2 * nth + 2;
	if (p.nslots > 256)
		p.nslots = 256;
	p.slot = nc_xcalloc(p.nslots, sizeof(*p.slot));
	pthread_mutex_init(&p.mu, NULL);
	pthread_mutex_init(&p.get_mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.done, NULL);
	w = nc_xcalloc(nth, sizeof(*w));
	for (k = 0; k < nth; k++) {
		w[k].p = &p;
		if (!(w[k].dctx = ZSTD_createDCtx()))
			abort();    /* allocation failure, as in nc_xmalloc() */
		if (pthread_create(&w[k].th, NULL, worker_main, &w[k]) != 0) {
			nc_err_set(err, "restore %.12s: cannot start a thread", s->id);
			goto out;
		}
		w[k].started = true;
	}

	for (i = 0; i < s->nchunks; i++) {
		uint64_t off = (uint64_t)i * s->chunk_size;
		struct rslot sl, *q = &p.slot[i % p.nslots];

		pthread_mutex_lock(&p.mu);
		while (!q->ready)
			pthread_cond_wait(&p.done, &p.mu);
		sl = *q;
		memset(q, 0, sizeof(*q));
		p.tail = i + 1;
		pthread_cond_broadcast(&p.work);
		pthread_mutex_unlock(&p.mu);

		if (sl.failed) {
			if (mode == PASS_WRITE_VERIFIED)
				nc_err_set(err, "restore %.12s: chunk %zu (offset %llu) failed after it was "
					"verified: the repository changed or became unreadable during the "
					"restore, and the target is partly written: %s", s->id, i,
					(unsigned long long)off, sl.err.msg);
			else if (mode == PASS_VERIFY)
				nc_err_set(err, "restore %.12s: chunk %zu (offset %llu): %s; nothing was "
					"written", s->id, i, (unsigned long long)off, sl.err.msg);
			else
				nc_err_set(err, "restore %.12s: chunk %zu (offset %llu): %s", s->id, i,
					(unsigned long long)off, sl.err.msg);
			goto out;
		}
		if (sl.zero) {
			/* zero chunks in a row are one range (a data chunk ends it) */
			if (!zlen)
				zoff = off;
			zlen += sl.len;
			continue;
		}
		if (sink && zlen) {
			if (sink_zeros(sink, zoff, zlen, &zeros, s->chunk_size, err) < 0)
				goto out;
		}
		if (sink)
			st.bytes_written += zlen;
		zlen = 0;
		if (!sl.dup) {
			free(last);
			last = sl.data;
			st.chunks_fetched++;
		}
		if (sink) {
			if (sink->write(sink->ctx, off, last, sl.len, err) < 0)
				goto out;
			st.bytes_written += sl.len;
		}
	}
	if (sink && zlen && sink_zeros(sink, zoff, zlen, &zeros, s->chunk_size, err) < 0)
		goto out;
	if (sink)
		st.bytes_written += zlen;
	if (out)
		*out = st;
	ret = 0;
out:
	pthread_mutex_lock(&p.mu);
	p.stop = true;
	pthread_cond_broadcast(&p.work);
	pthread_mutex_unlock(&p.mu);
	for (k = 0; k < nth; k++) {
		if (w[k].started)
			pthread_join(w[k].th, NULL);
		nc_bk_chunk_reader_release(&w[k].cr);
		ZSTD_freeDCtx(w[k].dctx);
	}
	for (k = 0; k < p.nslots; k++)
		free(p.slot[k].data);
	free(p.slot);
	free(w);
	pthread_cond_destroy(&p.work);
	pthread_cond_destroy(&p.done);
	pthread_mutex_destroy(&p.mu);
	pthread_mutex_destroy(&p.get_mu);
	free(last);
	free(zeros);
	return ret;
}

int nc_backup_verify_snapshot(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, struct nc_err *err)
{
	return restore_pass(out, r, s, NULL, PASS_VERIFY, err);
}

int nc_backup_restore_snapshot(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, const struct nc_backup_sink *sink, struct nc_err *err)
{
	return restore_pass(out, r, s, sink, PASS_WRITE_VERIFIED, err);
}

int nc_backup_restore_snapshot_once(struct nc_backup_restore_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_snapshot *s, const struct nc_backup_sink *sink, struct nc_err *err)
{
	return restore_pass(out, r, s, sink, PASS_WRITE_ONCE, err);
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
