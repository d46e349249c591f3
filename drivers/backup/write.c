/*
 * backup/write.c - nc_backup_write(): one backup of one disk.
 *
 * nc_backup_write() is a pipeline (see "the backup pipeline" below): a
 * reader thread reads chunks in order into a ring of slots (runs of
 * consecutive chunks with one read when the source allows; chunks the
 * source reports as zero are not read), worker
 * threads (opts.threads) check each for zeros and hash it, the calling
 * thread decides in chunk order which are new (target exists(), or an
 * earlier chunk of the same backup still in flight), workers compress and
 * seal those, and the calling thread stores them in chunk order.  Only the
 * calling thread uses the target, and every decision is taken in chunk
 * order, so ids, manifests and stats are the same whatever the number of
 * workers.  A new chunk whose parent chunk is stored goes to its worker
 * with that chunk's base object (fetched by the calling thread); the
 * worker stores it as a delta on it when fewer than half its 4 KiB blocks
 * differ ("delta chunks" in object.c, format in backup.h).
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zstd.h>

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* ---- backup ---- */

/* Marks the chunks that must be read: those changed, and those the parent lacks. */
static int dirty_chunks(bool *dirty, const struct nc_backup_snapshot *s,
	const struct nc_backup_snapshot *parent, const struct nc_backup_changes *ch,
	struct nc_err *err)
{
	uint64_t cs = s->chunk_size;
	size_t i;

	for (i = 0; i < ch->n; i++) {
		uint64_t off = ch->v[i].offset, len = ch->v[i].length, c, last;

		if (len == 0)
			continue;
		if (off > s->disk_size || len > s->disk_size - off) {
			nc_err_set(err, "changed extent [%llu, +%llu) is outside the disk (%llu bytes)",
				(unsigned long long)off, (unsigned long long)len,
				(unsigned long long)s->disk_size);
			return -1;
		}
		last = (off + len - 1) / cs;
		for (c = off / cs; c <= last; c++)
			dirty[c] = true;
	}
	for (i = 0; i < s->nchunks; i++)
		if (i >= parent->nchunks ||
		    nc_bk_chunk_len(s->disk_size, s->chunk_size, i) !=
		    nc_bk_chunk_len(parent->disk_size, parent->chunk_size, i))
			dirty[i] = true;
	return 0;
}

/* ---- the backup pipeline ---- */

/*
 * A slot carries one chunk through the pipeline.  States, in order:
 * FREE -> (the reader thread reads it) -> HASH (queued for a worker) ->
 * HASHED -> (decided by the calling thread: zero, reused, or new) ->
 * ENCODE (new only, queued) -> ENCODED -> stored -> FREE.  Workers change
 * only HASH -> HASHED and ENCODE -> ENCODED, the reader only FREE -> HASH,
 * under the mutex; everything else is the calling thread's.  Slot k's
 * buffer is mem + k * chunk_size, so consecutive slots are one buffer and
 * the reader reads a run of consecutive chunks with one read().
 */
enum slot_state { SLOT_FREE, SLOT_HASH, SLOT_HASHED, SLOT_ENCODE, SLOT_ENCODED };

struct slot {
	enum slot_state state;
	size_t idx, len;
	unsigned char *buf;              /* the chunk's bytes, chunk_size allocated */
	bool zero, fresh;                /* all zeros; new, to be stored */
	bool dup;                        /* equal to chunk dup_of, earlier and still in flight */
	bool delta;                      /* ENCODED: stored as a delta on base */
	size_t dup_of;
	unsigned char id[32];
	unsigned char base[32];          /* ENCODE: the base to try (with bobj) */
	unsigned char *bobj;             /* ENCODE: the base's stored object, or NULL */
	size_t bolen;
	char name[7 + NC_BACKUP_ID_HEX + 1];
	unsigned char *obj;              /* ENCODED: the object to store */
	size_t olen;
	int rc;
	struct nc_err err;
};

struct pipeline {
	const struct nc_backup_repo *r;
	pthread_mutex_t mu;
	pthread_cond_t work, done, space;
	struct slot *slots;
	unsigned char *mem;              /* every slot's buffer */
	size_t nslots;
	size_t *queue, qhead, qn;        /* slots waiting for a worker, FIFO */
	bool stop;
	pthread_t *th;
	size_t nth;
	pthread_t rth;                   /* the reader */
	/* the reader thread: fills positions [rhead, rtail) of the ring in chunk order */
	const struct nc_backup_source *src;
	const struct nc_backup_snapshot *s;
	const bool *need;                /* chunks to read */
	size_t run_max;                  /* chunks a read */
	size_t rtail, rhead;             /* positions read / freed by the calling thread */
	bool rdone, rfailed;
	struct nc_err rerr;
	uint64_t bytes_read;
};

/*
 * Encodes a new chunk: as a delta on the base whose object the calling
 * thread fetched (when that opens, is full, matches its id and differs in
 * fewer than half the 4 KiB blocks), else whole.
 */
static int slot_encode(const struct nc_backup_repo *r, ZSTD_CCtx *cctx, ZSTD_DCtx *dctx,
	struct slot *sl)
{
	unsigned char *d = NULL;
	size_t dlen = 0;
	int rc;

	sl->delta = false;
	if (sl->bobj) {
		char bname[7 + NC_BACKUP_ID_HEX + 1], hex[NC_BACKUP_ID_HEX + 1];
		unsigned char *base, flags, got[32];
		size_t blen;
		struct nc_err e2;

		nc_bk_hex_encode(hex, sl->base, 32);
		snprintf(bname, sizeof(bname), "chunks/%s", hex);
		if (nc_bk_obj_decode_dctx(r, dctx, bname, sl->bobj, sl->bolen, r->chunk_size, &base, &blen,
			&flags, &e2) == 0) {
			if (!(flags & FLAG_DELTA) && blen == sl->len) {
				nc_bk_content_id(r, got, base, blen);
				if (CRYPTO_memcmp(got, sl->base, 32) == 0)
					d = nc_bk_delta_make(sl->base, base, sl->buf, sl->len, &dlen);
			}
			free(base);
		}
		free(sl->bobj);
		sl->bobj = NULL;
	}
	if (d) {
		sl->delta = true;
		rc = nc_bk_obj_encode_cctx(r, cctx, sl->name, FLAG_DELTA, d, dlen, &sl->obj, &sl->olen,
			&sl->err);
		free(d);
		return rc;
	}
	return nc_bk_obj_encode_cctx(r, cctx, sl->name, 0, sl->buf, sl->len, &sl->obj, &sl->olen,
		&sl->err);
}

/* The work on one slot, in a worker or in the calling thread. */
static void slot_work(const struct nc_backup_repo *r, ZSTD_CCtx *cctx, ZSTD_DCtx *dctx,
	struct slot *sl)
{
	if (sl->state == SLOT_HASH) {
		sl->zero = all_zero(sl->buf, sl->len);
		if (!sl->zero)
			nc_bk_content_id(r, sl->id, sl->buf, sl->len);
	} else {
		sl->rc = slot_encode(r, cctx, dctx, sl);
	}
}

static void *worker(void *arg)
{
	struct pipeline *p = arg;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	ZSTD_DCtx *dctx = ZSTD_createDCtx();

	if (!cctx || !dctx)
		abort();     /* allocation failure, as in nc_xmalloc() */
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct slot *sl;

		while (!p->stop && !p->qn)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		sl = &p->slots[p->queue[p->qhead]];
		p->qhead = (p->qhead + 1) % p->nslots;
		p->qn--;
		pthread_mutex_unlock(&p->mu);
		slot_work(p->r, cctx, dctx, sl);
		pthread_mutex_lock(&p->mu);
		sl->state = sl->state == SLOT_HASH ? SLOT_HASHED : SLOT_ENCODED;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	ZSTD_freeCCtx(cctx);
	ZSTD_freeDCtx(dctx);
	return NULL;
}

/* Queues slot k (state HASH or ENCODE) for a worker; the caller holds the mutex. */
static void slot_queue_locked(struct pipeline *p, size_t k)
{
	p->queue[(p->qhead + p->qn++) % p->nslots] = k;
	pthread_cond_signal(&p->work);
}

static enum slot_state slot_state(struct pipeline *p, size_t k)
{
	enum slot_state st;

	pthread_mutex_lock(&p->mu);
	st = p->slots[k].state;
	pthread_mutex_unlock(&p->mu);
	return st;
}

/*
 * The reader thread: runs of consecutive chunks to be read (need), up to
 * run_max chunks and never across the end of the ring, each read with one
 * read() straight into the slots' buffer once that many slots are free;
 * with read_batch, as many runs as fit in the free slots (run_max chunks
 * in all) go in one call, so scattered chunks are read several at a time.
 * A failed read stops it (rfailed, rerr); what was read before goes on
 * through the pipeline.
 */
static void *reader(void *arg)
{
	struct pipeline *p = arg;
	const struct nc_backup_snapshot *s = p->s;
	struct nc_backup_read *v = nc_xcalloc(p->run_max, sizeof(*v));
	size_t next = 0, j;

	for (;;) {
		size_t run = 1, want, room, k0, nv = 0, taken = 0;
		uint64_t len = 0;
		struct nc_err e2;
		int rc;

		while (next < s->nchunks && !p->need[next])
			next++;
		if (next >= s->nchunks)
			break;
		while (next + run < s->nchunks && run < p->run_max && p->need[next + run])
			run++;
		pthread_mutex_lock(&p->mu);
		for (;;) {
			size_t contig = p->nslots - p->rtail % p->nslots;

			want = run < contig ? run : contig;
			room = p->nslots - (p->rtail - p->rhead);
			if (room > contig)
				room = contig;
			if (p->stop || room >= want)
				break;
			pthread_cond_wait(&p->space, &p->mu);
		}
		k0 = p->rtail % p->nslots;
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		pthread_mutex_unlock(&p->mu);
		if (room > p->run_max)
			room = p->run_max;
		/* runs into the free slots k0, k0 + 1, ... (one run without read_batch) */
		while (next < s->nchunks && taken < room) {
			size_t r = 1;

			if (!p->need[next]) {
				next++;
				continue;
			}
			while (next + r < s->nchunks && taken + r < room && p->need[next + r])
				r++;
			v[nv].offset = (uint64_t)next * s->chunk_size;
			v[nv].buf = p->slots[k0 + taken].buf;
			v[nv].len = 0;
			for (j = 0; j < r; j++) {
				struct slot *sl = &p->slots[k0 + taken + j];

				sl->idx = next + j;
				sl->len = nc_bk_chunk_len(s->disk_size, s->chunk_size, next + j);
				v[nv].len += sl->len;
			}
			len += v[nv].len;
			nv++;
			taken += r;
			next += r;
			if (!p->src->read_batch)
				break;
		}
		if (p->src->read_batch)
			rc = p->src->read_batch(p->src->ctx, v, nv, &e2);
		else
			rc = p->src->read(p->src->ctx, v[0].offset, v[0].buf, v[0].len, &e2);
		pthread_mutex_lock(&p->mu);
		if (rc < 0) {
			p->rfailed = true;
			p->rerr = e2;
			pthread_mutex_unlock(&p->mu);
			break;
		}
		p->bytes_read += len;
		for (j = 0; j < taken; j++) {
			p->slots[k0 + j].state = SLOT_HASH;
			slot_queue_locked(p, k0 + j);
		}
		pthread_cond_broadcast(&p->work);
		p->rtail += taken;
		pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->mu);
	}
	free(v);
	pthread_mutex_lock(&p->mu);
	p->rdone = true;
	pthread_cond_signal(&p->done);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/*
 * need[i]: chunk i is to be read.  Chunks dirty (NULL: all) does not mark
 * are the parent's (unchanged); of the others, those the source's zeros()
 * says are wholly zero are zero chunks, not read.
 */
static int plan_reads(bool *need, struct nc_backup_stats *st, struct nc_backup_snapshot *s,
	const struct nc_backup_snapshot *parent, const bool *dirty,
	const struct nc_backup_source *src, struct nc_err *err)
{
	uint64_t cs = s->chunk_size;
	size_t i = 0, j, k;

	for (i = 0; i < s->nchunks; i++) {
		need[i] = !dirty || dirty[i];
		if (!need[i]) {
			memcpy(s->chunks[i], parent->chunks[i], 32);
			memcpy(s->bases[i], parent->bases[i], 32);
			st->chunks_unchanged++;
		}
	}
	if (!src->zeros)
		return 0;
	for (i = 0; i < s->nchunks;) {
		struct nc_backup_extent *z = NULL;
		size_t nz = 0;
		uint64_t off, end;

		if (!need[i]) {
			i++;
			continue;
		}
		for (j = i; j < s->nchunks && need[j]; j++)
			;
		off = (uint64_t)i * cs;
		end = j == s->nchunks ? s->disk_size : (uint64_t)j * cs;
		if (src->zeros(src->ctx, off, end - off, &z, &nz, err) < 0)
			return -1;
		for (k = 0; k < nz; k++) {
			uint64_t a = z[k].offset, b = z[k].offset + z[k].length, c;

			if (a < off)
				a = off;
			if (b > end)
				b = end;
			/* the chunks wholly inside [a, b); the disk's last one may be short */
			for (c = (a + cs - 1) / cs; c < j && c * cs + nc_bk_chunk_len(s->disk_size, s->chunk_size, c) <= b; c++) {
				if (need[c]) {
					need[c] = false;
					st->chunks_zero++;   /* s->chunks[c] stays 32 zero bytes */
				}
			}
		}
		free(z);
		i = j;
	}
	return 0;
}

/*
 * Chunk id -> its base (32 zero bytes: full) for the parent's chunks and
 * this backup's chunks stored so far: open addressing on pointers into the
 * snapshots' arrays, which outlive it.  The first entry of an id wins.
 */
struct idmap {
	const unsigned char **id, **base;
	size_t mask;
};

static void idmap_init(struct idmap *m, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	m->id = nc_xcalloc(cap, sizeof(*m->id));
	m->base = nc_xcalloc(cap, sizeof(*m->base));
	m->mask = cap - 1;
}

static size_t idmap_find(const struct idmap *m, const unsigned char *id)
{
	uint64_t h;
	size_t k;

	memcpy(&h, id, sizeof(h));
	for (k = (size_t)h & m->mask; m->id[k] && memcmp(m->id[k], id, 32) != 0;
	     k = (k + 1) & m->mask)
		;
	return k;
}

static void idmap_put(struct idmap *m, const unsigned char *id, const unsigned char *base)
{
	size_t k = idmap_find(m, id);

	if (!m->id[k]) {
		m->id[k] = id;
		m->base[k] = base;
	}
}

static const unsigned char *idmap_get(const struct idmap *m, const unsigned char *id)
{
	size_t k = idmap_find(m, id);

	return m->id[k] ? m->base[k] : NULL;
}

static void idmap_free(struct idmap *m)
{
	free(m->id);
	free(m->base);
}

/*
 * The base of a stored chunk no manifest at hand names (another VM's, or
 * left by an interrupted backup): its flags byte (authenticated data, in
 * the clear) says whether it is a delta, the payload starts with the base.
 */
static int stored_base(struct nc_backup_repo *r, const char *name, unsigned char base[32],
	struct nc_err *err)
{
	unsigned char *obj, *plain, flags;
	size_t olen, plen;
	int rc;

	memset(base, 0, 32);
	if (r->t->drv->get(r->t, name, &obj, &olen, err) < 0)
		return -1;
	if (olen < 1 || !(obj[0] & FLAG_DELTA)) {
		free(obj);
		return 0;
	}
	rc = nc_bk_obj_decode_dctx(r, r->dctx, name, obj, olen, nc_bk_delta_max(r->chunk_size), &plain, &plen,
		&flags, err);
	free(obj);
	if (rc < 0)
		return -1;
	if (plen < 32 || memcmp(plain, nc_bk_zero_id, 32) == 0) {
		nc_err_set(err, "%s: bad delta", name);
		free(plain);
		return -1;
	}
	memcpy(base, plain, 32);
	free(plain);
	return 0;
}

/*
 * Reads, hashes, deduplicates, compresses and stores the chunks of s that
 * dirty (NULL: all) marks, taking the others' ids from parent; fills
 * s->chunks, s->bases and the chunk counts of st.  A reader thread reads
 * (runs of up to src->max_read bytes) into a ring of slots ahead of the
 * workers; the calling thread decides and stores in chunk order, and
 * waits only when the oldest slot is not done (doing queued work itself
 * meanwhile, all of it when there are no workers).  A new chunk whose
 * parent chunk (same index, same length) is stored has that chunk's base
 * (the chunk itself when it is full) fetched by the calling thread; the
 * worker then stores it as a delta on it when that is smaller
 * (slot_encode).
 */
#define RING_BYTES (32u << 20)          /* the slots' buffers with max_read */

static int backup_chunks(struct nc_backup_stats *st, struct nc_backup_repo *r,
	struct nc_backup_snapshot *s, const struct nc_backup_snapshot *parent, const bool *dirty,
	const struct nc_backup_source *src, struct nc_err *err)
{
	struct pipeline p;
	struct idmap map;
	size_t head = 0, dpos = 0, tail = 0, k;
	bool *need = NULL, reading = false, rdone = false;
	int ret = -1;

	memset(&p, 0, sizeof(p));
	idmap_init(&map, s->nchunks + (parent ? parent->nchunks : 0));
	for (k = 0; parent && k < parent->nchunks; k++)
		if (memcmp(parent->chunks[k], nc_bk_zero_id, 32) != 0)
			idmap_put(&map, parent->chunks[k], parent->bases[k]);
	p.r = r;
	p.src = src;
	p.s = s;
	p.nth = r->threads > 1 ? r->threads : 0;
	p.nslots = p.nth ? 4 * p.nth + 2 : 2;
	p.run_max = src->max_read / r->chunk_size;
	if (p.run_max < 1)
		p.run_max = 1;
	if (src->max_read && p.nslots < RING_BYTES / r->chunk_size)
		p.nslots = RING_BYTES / r->chunk_size;
	if (p.nslots < 2 * p.run_max)
		p.nslots = 2 * p.run_max;
	p.slots = nc_xcalloc(p.nslots, sizeof(*p.slots));
	p.queue = nc_xcalloc(p.nslots, sizeof(*p.queue));
	p.mem = nc_xmalloc(p.nslots * (size_t)r->chunk_size);
	for (k = 0; k < p.nslots; k++)
		p.slots[k].buf = p.mem + k * (size_t)r->chunk_size;
	need = nc_xcalloc(s->nchunks ? s->nchunks : 1, sizeof(*need));
	p.need = need;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.done, NULL);
	pthread_cond_init(&p.space, NULL);
	if (plan_reads(need, st, s, parent, dirty, src, err) < 0)
		goto out;
	if (p.nth) {
		p.th = nc_xcalloc(p.nth, sizeof(*p.th));
		for (k = 0; k < p.nth; k++)
			if (pthread_create(&p.th[k], NULL, worker, &p) != 0)
				break;
		p.nth = k;    /* as many as could start; none: the calling thread works */
	}
	if (pthread_create(&p.rth, NULL, reader, &p) != 0) {
		nc_err_set(err, "backup: cannot start the reader thread");
		goto out;
	}
	reading = true;
	for (;;) {
		bool progress = false;

		pthread_mutex_lock(&p.mu);
		tail = p.rtail;
		rdone = p.rdone;
		pthread_mutex_unlock(&p.mu);
		/* decide, in chunk order: zero, already stored, or new */
		while (dpos < tail && slot_state(&p, dpos % p.nslots) == SLOT_HASHED) {
			struct slot *sl = &p.slots[dpos % p.nslots];
			char hex[NC_BACKUP_ID_HEX + 1];
			const unsigned char *known;
			struct slot *o = NULL;
			size_t j, i = sl->idx;
			int rc;

			dpos++;
			progress = true;
			if (sl->zero) {
				st->chunks_zero++;
				continue;
			}
			if (memcmp(sl->id, nc_bk_zero_id, 32) == 0) {
				nc_err_set(err, "backup: a chunk id of all zeros (impossible)");
				goto out;
			}
			memcpy(s->chunks[i], sl->id, 32);
			nc_bk_hex_encode(hex, sl->id, 32);
			snprintf(sl->name, sizeof(sl->name), "chunks/%s", hex);
			/* the same chunk earlier in flight: new or reused, its base is known when stored */
			for (j = head; j < dpos - 1 && !o; j++) {
				o = &p.slots[j % p.nslots];
				if (o->zero || memcmp(o->id, sl->id, 32) != 0)
					o = NULL;
			}
			if (o) {
				sl->dup = true;
				sl->dup_of = o->idx;
				st->chunks_reused++;
				continue;
			}
			rc = r->t->drv->exists(r->t, sl->name, err);
			if (rc < 0)
				goto out;
			if (rc > 0) {
				st->chunks_reused++;
				if ((known = idmap_get(&map, sl->id)))
					memcpy(s->bases[i], known, 32);
				else if (stored_base(r, sl->name, s->bases[i], err) < 0)
					goto out;
				continue;
			}
			sl->fresh = true;
			if (parent && i < parent->nchunks &&
			    memcmp(parent->chunks[i], nc_bk_zero_id, 32) != 0 &&
			    nc_bk_chunk_len(parent->disk_size, parent->chunk_size, i) == sl->len) {
				const unsigned char *b = memcmp(parent->bases[i], nc_bk_zero_id, 32) != 0 ?
					parent->bases[i] : parent->chunks[i];
				char bname[7 + NC_BACKUP_ID_HEX + 1];

				nc_bk_hex_encode(hex, b, 32);
				snprintf(bname, sizeof(bname), "chunks/%s", hex);
				memcpy(sl->base, b, 32);
				rc = r->t->drv->get(r->t, bname, &sl->bobj, &sl->bolen, err);
				if (rc == NC_BACKUP_ENOENT)
					sl->bobj = NULL;      /* no base: stored full */
				else if (rc < 0)
					goto out;
			}
			pthread_mutex_lock(&p.mu);
			sl->state = SLOT_ENCODE;
			slot_queue_locked(&p, (dpos - 1) % p.nslots);
			pthread_mutex_unlock(&p.mu);
		}
		/* store, in chunk order */
		while (head < dpos) {
			struct slot *sl = &p.slots[head % p.nslots];

			if (sl->fresh) {
				if (slot_state(&p, head % p.nslots) != SLOT_ENCODED)
					break;
				if (sl->rc < 0) {
					*err = sl->err;
					goto out;
				}
				if (r->t->drv->put(r->t, sl->name, sl->obj, sl->olen, err) < 0)
					goto out;
				st->chunks_new++;
				st->bytes_stored += sl->olen;
				if (sl->delta) {
					memcpy(s->bases[sl->idx], sl->base, 32);
					st->chunks_delta++;
				}
				free(sl->obj);
				sl->obj = NULL;
			} else if (sl->dup) {
				memcpy(s->bases[sl->idx], s->bases[sl->dup_of], 32);
			}
			if (!sl->zero)
				idmap_put(&map, s->chunks[sl->idx], s->bases[sl->idx]);
			sl->fresh = sl->dup = sl->delta = false;
			head++;
			pthread_mutex_lock(&p.mu);
			sl->state = SLOT_FREE;
			p.rhead = head;
			pthread_cond_signal(&p.space);
			pthread_mutex_unlock(&p.mu);
			progress = true;
		}
		if (head == tail && rdone)
			break;
		if (progress)
			continue;
		/* nothing to do until the oldest undecided or unstored slot is done, or more is read:
		 * meanwhile do queued work (all of it when there are no workers) */
		pthread_mutex_lock(&p.mu);
		while (!(dpos < p.rtail && p.slots[dpos % p.nslots].state == SLOT_HASHED) &&
		       !(head < dpos && p.slots[head % p.nslots].state == SLOT_ENCODED) &&
		       !(p.rdone && head == p.rtail)) {
			if (p.qn) {
				struct slot *sl = &p.slots[p.queue[p.qhead]];

				p.qhead = (p.qhead + 1) % p.nslots;
				p.qn--;
				pthread_mutex_unlock(&p.mu);
				slot_work(r, r->cctx, r->dctx, sl);
				pthread_mutex_lock(&p.mu);
				sl->state = sl->state == SLOT_HASH ? SLOT_HASHED : SLOT_ENCODED;
				continue;
			}
			pthread_cond_wait(&p.done, &p.mu);
		}
		pthread_mutex_unlock(&p.mu);
	}
	if (p.rfailed) {
		*err = p.rerr;
		goto out;
	}
	st->bytes_read += p.bytes_read;
	ret = 0;
out:
	pthread_mutex_lock(&p.mu);
	p.stop = true;
	pthread_cond_broadcast(&p.work);
	pthread_cond_broadcast(&p.space);
	pthread_mutex_unlock(&p.mu);
	if (reading)
		pthread_join(p.rth, NULL);
	for (k = 0; k < p.nth; k++)
		pthread_join(p.th[k], NULL);
	for (k = 0; k < p.nslots; k++) {
		free(p.slots[k].obj);
		free(p.slots[k].bobj);
	}
	idmap_free(&map);
	pthread_cond_destroy(&p.work);
	pthread_cond_destroy(&p.done);
	pthread_cond_destroy(&p.space);
	pthread_mutex_destroy(&p.mu);
	free(need);
	free(p.mem);
	free(p.slots);
	free(p.queue);
	free(p.th);
	return ret;
}

int nc_backup_write(struct nc_backup_stats *out, struct nc_backup_repo *r,
	const struct nc_backup_meta *meta, const struct nc_backup_source *src,
	const struct nc_backup_changes *changes, struct nc_err *err)
{
	struct nc_backup_snapshot s, parent;
	struct nc_backup_stats st;
	struct nc_buf text = NC_BUF_INIT;
	unsigned char *obj = NULL, mid[32];
	char name[10 + NC_BACKUP_ID_HEX + 1];
	bool *dirty = NULL, have_parent = false;
	size_t olen;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	memset(&parent, 0, sizeof(parent));
	memset(&st, 0, sizeof(st));
	if (!nc_bk_label_ok(meta->vm) || !nc_bk_label_ok(meta->disk)) {
		nc_err_set(err, "backup: VM and disk names must be 1 to 255 of [A-Za-z0-9._-]");
		return -1;
	}
	if (changes && !meta->parent) {
		nc_err_set(err, "backup: changed extents need a parent snapshot");
		return -1;
	}
	s.vm = (char *)meta->vm;
	s.disk = (char *)meta->disk;
	s.disk_size = meta->disk_size;
	s.time = meta->time;
	s.quiesced = meta->quiesced;
	if (meta->checkpoint) {
		if (!nc_bk_label_ok(meta->checkpoint) || strlen(meta->checkpoint) >= sizeof(s.checkpoint)) {
			nc_err_set(err, "backup: bad checkpoint name \"%.64s\"", meta->checkpoint);
			return -1;
		}
		snprintf(s.checkpoint, sizeof(s.checkpoint), "%s", meta->checkpoint);
	}
	s.chunk_size = r->chunk_size;
	s.nchunks = (size_t)((meta->disk_size + r->chunk_size - 1) / r->chunk_size);
	if (meta->parent) {
		if (nc_backup_snapshot_load(&parent, r, meta->parent, err) < 0)
			goto out;
		have_parent = true;
		if (strcmp(parent.vm, meta->vm) || strcmp(parent.disk, meta->disk)) {
			nc_err_set(err, "backup: parent %.12s is of %s/%s, not %s/%s", parent.id,
				parent.vm, parent.disk, meta->vm, meta->disk);
			goto out;
		}
		if (parent.chunk_size != r->chunk_size) {
			nc_err_set(err, "backup: parent %.12s has chunk size %u, the repository %u",
				parent.id, parent.chunk_size, r->chunk_size);
			goto out;
		}
		memcpy(s.parent, parent.id, sizeof(s.parent));
	}
	if (changes) {
		dirty = nc_xcalloc(s.nchunks ? s.nchunks : 1, sizeof(*dirty));
		if (dirty_chunks(dirty, &s, &parent, changes, err) < 0)
			goto out;
	}
	s.chunks = nc_xcalloc(s.nchunks ? s.nchunks : 1, 32);
	s.bases = nc_xcalloc(s.nchunks ? s.nchunks : 1, 32);
	if (backup_chunks(&st, r, &s, have_parent ? &parent : NULL, dirty, src, err) < 0)
		goto out;
	/* every chunk durable before the manifest that references them */
	if (r->t->drv->sync(r->t, err) < 0)
		goto out;
	nc_bk_manifest_format(&text, &s);
	nc_bk_content_id(r, mid, text.buf, text.len);
	nc_bk_hex_encode(st.id, mid, 32);
	snprintf(name, sizeof(name), "snapshots/%s", st.id);
	if (nc_bk_obj_encode(r, name, text.buf, text.len, &obj, &olen, err) < 0)
		goto out;
	if (r->t->drv->put(r->t, name, obj, olen, err) < 0 || r->t->drv->sync(r->t, err) < 0)
		goto out;
	st.bytes_stored += olen;
	st.chunks = s.nchunks;
	*out = st;
	ret = 0;
out:
	free(obj);
	free(dirty);
	free(s.chunks);
	free(s.bases);
	nc_buf_release(&text);
	if (have_parent)
		nc_backup_snapshot_release(&parent);
	return ret;
}
