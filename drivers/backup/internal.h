/*
 * backup/internal.h - what the files of the backup repository engine share;
 * not an API (that is backup.h, which also describes the format).
 *
 *   object.c    hex and id helpers, content ids, objects (zstd +
 *               AES-256-GCM encode/decode), delta chunks, the chunk reader
 *               (fetch, open and check a chunk)
 *   repo.c      keys, the config object, create/open/close
 *   manifest.c  snapshot manifests: format, parse, load, list, resolve
 *   write.c     nc_backup_write(): the backup pipeline
 *   restore.c   restore and verify
 *   check.c     nc_backup_check(), and the referenced/stored chunk sets
 *   prune.c     retention and prune
 *   copy.c      nc_backup_copy_snapshot(): a snapshot into another repository
 *
 * Names shared between these files start with nc_bk_ (the project's one prefix); everything else in them
 * is static.
 */
#ifndef NC_BACKUP_INTERNAL_H
#define NC_BACKUP_INTERNAL_H

#include "backup.h"

#include <pthread.h>
#include <stdio.h>
#include <zstd.h>

#include "../../spec/util.h"

/* object flags (byte 0 of every object) */
#define FLAG_ZSTD 0x01
#define FLAG_AES 0x02
#define FLAG_DELTA 0x04

struct nc_backup_repo {
	struct nc_backup_target *t;
	uint32_t chunk_size;
	bool encrypted;
	int level;
	unsigned threads;                /* workers of nc_backup_write(); <= 1: none */
	unsigned char enc_key[32];       /* AES-256-GCM */
	unsigned char id_key[32];        /* HMAC for chunk and snapshot ids */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

/* 32 zero bytes: the id of a zero chunk in a manifest, "no base" as a base */
extern const unsigned char nc_bk_zero_id[32];

/* ---- object.c ---- */

void nc_bk_hex_encode(char *out, const unsigned char *p, size_t n);
int nc_bk_hex_val(char c);
int nc_bk_hex_decode(unsigned char *out, const char *s, size_t n);
bool nc_bk_is_id(const char *s);
bool nc_bk_label_ok(const char *s);
void nc_bk_hmac256(unsigned char out[32], const unsigned char key[32], const void *data,
	size_t len);
void nc_bk_content_id(const struct nc_backup_repo *r, unsigned char out[32],
	const void *data, size_t len);
size_t nc_bk_chunk_len(uint64_t disk_size, uint32_t cs, size_t i);

int nc_bk_obj_encode_cctx(const struct nc_backup_repo *r, ZSTD_CCtx *cctx, const char *name,
	unsigned char xflags, const void *data, size_t len, unsigned char **out, size_t *out_len,
	struct nc_err *err);
int nc_bk_obj_encode(struct nc_backup_repo *r, const char *name, const void *data,
	size_t len, unsigned char **out, size_t *out_len, struct nc_err *err);
int nc_bk_obj_decode_dctx(const struct nc_backup_repo *r, ZSTD_DCtx *dctx, const char *name,
	const unsigned char *obj, size_t len, size_t max, unsigned char **out, size_t *out_len,
	unsigned char *flags_out, struct nc_err *err);
int nc_bk_obj_decode(struct nc_backup_repo *r, const char *name, const unsigned char *obj,
	size_t len, size_t max, unsigned char **out, size_t *out_len, struct nc_err *err);

size_t nc_bk_delta_max(uint32_t cs);
unsigned char *nc_bk_delta_make(const unsigned char base_id[32], const unsigned char *base,
	const unsigned char *data, size_t len, size_t *out_len);

/* The last bases read (restore, check): consecutive chunks may share one. */
struct nc_bk_chunk_reader {
	struct {
		unsigned char id[32];
		unsigned char *data;
		size_t len;
	} c[2];
	unsigned next;
};

void nc_bk_chunk_reader_release(struct nc_bk_chunk_reader *cr);
/*
 * For fetching from several threads at once (restore): each thread its own
 * zstd context (NULL: the repository's), and the target's get() called under
 * get_mu (NULL: no lock), as the target drivers are not made for
 * concurrent calls.
 */
struct nc_bk_fetch_ctx {
	ZSTD_DCtx *dctx;
	pthread_mutex_t *get_mu;
};
int nc_bk_chunk_fetch(struct nc_backup_repo *r, const unsigned char id[32], size_t want_len,
	struct nc_bk_chunk_reader *cr, unsigned char *base_out, unsigned char **out, size_t *out_len,
	struct nc_err *err);

/* nc_bk_chunk_fetch with a fetch context (fc NULL: the repository's, no lock). */
int nc_bk_chunk_fetch_ctx(struct nc_backup_repo *r, const struct nc_bk_fetch_ctx *fc,
	const unsigned char id[32], size_t want_len, struct nc_bk_chunk_reader *cr, unsigned char *base_out,
	unsigned char **out, size_t *out_len, struct nc_err *err);

/* ---- manifest.c ---- */

void nc_bk_manifest_format(struct nc_buf *b, const struct nc_backup_snapshot *s);
int nc_bk_snapshot_get(struct nc_backup_snapshot *out, struct nc_backup_repo *r,
	const char *id, struct nc_err *err);
int nc_bk_list_ids(char ***out, size_t *out_n, struct nc_backup_repo *r, struct nc_err *err);

/* ---- check.c ---- */

/*
 * A chunk a manifest references: as a chunk of the disk (with its base when
 * a delta), or as the base of delta chunk of.
 */
struct nc_bk_ref {
	unsigned char id[32];            /* first: nc_bk_cmp_id finds a ref by its id */
	unsigned char base[32];          /* as a chunk: its base, or zeros */
	unsigned char of[32];            /* as a base: the delta using it */
	bool as_base;
	size_t snap;                     /* first snapshot referencing it */
};

int nc_bk_cmp_id(const void *a, const void *b);
struct nc_bk_ref *nc_bk_collect_refs(const struct nc_backup_snapshot *v, const bool *use,
	size_t n, size_t *out_n);
int nc_bk_stored_chunks(unsigned char (**out)[32], size_t *out_n, struct nc_backup_repo *r,
	struct nc_err *err);

#endif
