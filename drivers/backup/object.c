/*
 * backup/object.c - the objects of a backup repository (format in backup.h):
 * hex and id helpers, content ids (SHA-256 or HMAC-SHA256), objects
 * (zstd + AES-256-GCM encode/decode), delta chunks, and the chunk reader
 * that fetches, opens and checks a chunk (restore and check).
 *
 * OpenSSL does the hashing (SHA-256, HMAC-SHA256), AES-256-GCM and nonces;
 * zstd the compression.  One compression and one decompression context per
 * repository handle are reused for every chunk.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <zstd.h>

#define DBLOCK 4096                      /* the unit of a delta chunk */
#define NONCE_LEN 12
#define TAG_LEN 16

const unsigned char nc_bk_zero_id[32];

/* ---- small helpers ---- */

void nc_bk_hex_encode(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int nc_bk_hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes exactly 2n hex digits from s; -1 when s is not that. */
int nc_bk_hex_decode(unsigned char *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = nc_bk_hex_val(s[2 * i]), lo;

		if (hi < 0)
			return -1;
		lo = nc_bk_hex_val(s[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

bool nc_bk_is_id(const char *s)
{
	size_t i;

	for (i = 0; i < NC_BACKUP_ID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

bool nc_bk_label_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return n >= 1 && n <= 255;
}

void nc_bk_hmac256(unsigned char out[32], const unsigned char key[32], const void *data,
	size_t len)
{
	unsigned int olen = 32;

	HMAC(EVP_sha256(), key, 32, data, len, out, &olen);
}

/* A chunk's or manifest's id: SHA-256, or HMAC-SHA256 with the id key. */
void nc_bk_content_id(const struct nc_backup_repo *r, unsigned char out[32],
	const void *data, size_t len)
{
	if (r->encrypted)
		nc_bk_hmac256(out, r->id_key, data, len);
	else
		SHA256(data, len, out);
}

size_t nc_bk_chunk_len(uint64_t disk_size, uint32_t cs, size_t i)
{
	uint64_t off = (uint64_t)i * cs;

	return disk_size - off < cs ? (size_t)(disk_size - off) : cs;
}

/* ---- objects: flags, zstd, AES-256-GCM ---- */

static int gcm(bool enc, const unsigned char key[32], const unsigned char *nonce,
	const unsigned char *aad1, size_t aad1_len, const char *aad2,
	const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl, ok = 0;

	if (!c)
		return -1;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &outl, aad1, (int)aad1_len) != 1 ||
	    EVP_CipherUpdate(c, NULL, &outl, (const unsigned char *)aad2, (int)strlen(aad2)) != 1)
		goto out;
	if (len && EVP_CipherUpdate(c, out, &outl, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + len, &outl) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

/* An object of data; cctx is the caller's (one per thread). */
int nc_bk_obj_encode_cctx(const struct nc_backup_repo *r, ZSTD_CCtx *cctx, const char *name,
	unsigned char xflags, const void *data, size_t len, unsigned char **out, size_t *out_len,
	struct nc_err *err)
{
	size_t zcap = ZSTD_compressBound(len), zlen, plen;
	unsigned char *z = nc_xmalloc(zcap), *obj;
	const unsigned char *payload = data;
	unsigned char flags = xflags;

	/* compression off: stored as it is */
	zlen = r->level > 0 ? ZSTD_compressCCtx(cctx, z, zcap, data, len, r->level) : len;
	if (!ZSTD_isError(zlen) && zlen < len) {
		flags |= FLAG_ZSTD;
		payload = z;
		plen = zlen;
	} else {
		plen = len;
	}
	if (r->encrypted) {
		flags |= FLAG_AES;
		obj = nc_xmalloc(1 + NONCE_LEN + plen + TAG_LEN);
		obj[0] = flags;
		if (RAND_bytes(obj + 1, NONCE_LEN) != 1 ||
		    gcm(true, r->enc_key, obj + 1, &flags, 1, name, payload, plen,
			obj + 1 + NONCE_LEN, obj + 1 + NONCE_LEN + plen) < 0) {
			nc_err_set(err, "%s: encryption failed", name);
			free(obj);
			free(z);
			return -1;
		}
		*out_len = 1 + NONCE_LEN + plen + TAG_LEN;
	} else {
		obj = nc_xmalloc(1 + plen);
		obj[0] = flags;
		memcpy(obj + 1, payload, plen);
		*out_len = 1 + plen;
	}
	free(z);
	*out = obj;
	return 0;
}

int nc_bk_obj_encode(struct nc_backup_repo *r, const char *name, const void *data,
	size_t len, unsigned char **out, size_t *out_len, struct nc_err *err)
{
	return nc_bk_obj_encode_cctx(r, r->cctx, name, 0, data, len, out, out_len, err);
}

/*
 * Opens an object: its plaintext (payload), at most max bytes, and its flags
 * (FLAG_DELTA tells a delta chunk).  dctx is the caller's (one per thread).
 */
int nc_bk_obj_decode_dctx(const struct nc_backup_repo *r, ZSTD_DCtx *dctx, const char *name,
	const unsigned char *obj, size_t len, size_t max, unsigned char **out, size_t *out_len,
	unsigned char *flags_out, struct nc_err *err)
{
	unsigned char flags, *plain = NULL, *res;
	const unsigned char *payload;
	size_t plen;

	if (len < 1) {
		nc_err_set(err, "%s: empty object", name);
		return -1;
	}
	flags = obj[0];
	if (flags & ~(FLAG_ZSTD | FLAG_AES | FLAG_DELTA)) {
		nc_err_set(err, "%s: unknown object flags 0x%02x", name, flags);
		return -1;
	}
	if (!!(flags & FLAG_AES) != r->encrypted) {
		nc_err_set(err, "%s: %s object in %s repository", name,
			flags & FLAG_AES ? "encrypted" : "unencrypted",
			r->encrypted ? "an encrypted" : "an unencrypted");
		return -1;
	}
	payload = obj + 1;
	plen = len - 1;
	if (flags & FLAG_AES) {
		if (plen < NONCE_LEN + TAG_LEN) {
			nc_err_set(err, "%s: truncated object", name);
			return -1;
		}
		plen -= NONCE_LEN + TAG_LEN;
		plain = nc_xmalloc(plen ? plen : 1);
		if (gcm(false, r->enc_key, obj + 1, &flags, 1, name, obj + 1 + NONCE_LEN, plen,
			plain, (unsigned char *)obj + 1 + NONCE_LEN + plen) < 0) {
			nc_err_set(err, "%s: authentication failed (corrupted or tampered object, "
				"or wrong key)", name);
			free(plain);
			return -1;
		}
		payload = plain;
	}
	if (flags & FLAG_ZSTD) {
		unsigned long long n = ZSTD_getFrameContentSize(payload, plen);
		size_t got;

		if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > max) {
			nc_err_set(err, "%s: bad compressed data", name);
			free(plain);
			return -1;
		}
		res = nc_xmalloc(n ? (size_t)n : 1);
		got = ZSTD_decompressDCtx(dctx, res, (size_t)n, payload, plen);
		free(plain);
		if (ZSTD_isError(got) || got != n) {
			nc_err_set(err, "%s: bad compressed data%s%s", name,
				ZSTD_isError(got) ? ": " : "",
				ZSTD_isError(got) ? ZSTD_getErrorName(got) : "");
			free(res);
			return -1;
		}
		*out = res;
		*out_len = got;
		*flags_out = flags;
		return 0;
	}
	if (plen > max) {
		nc_err_set(err, "%s: object too large", name);
		free(plain);
		return -1;
	}
	if (plain) {
		*out = plain;
	} else {
		*out = nc_xmalloc(plen ? plen : 1);
		memcpy(*out, payload, plen);
	}
	*out_len = plen;
	*flags_out = flags;
	return 0;
}

/* A whole object (a manifest): never a delta. */
int nc_bk_obj_decode(struct nc_backup_repo *r, const char *name, const unsigned char *obj,
	size_t len, size_t max, unsigned char **out, size_t *out_len, struct nc_err *err)
{
	unsigned char flags;

	if (nc_bk_obj_decode_dctx(r, r->dctx, name, obj, len, max, out, out_len, &flags, err) < 0)
		return -1;
	if (flags & FLAG_DELTA) {
		nc_err_set(err, "%s: unexpected delta object", name);
		free(*out);
		return -1;
	}
	return 0;
}

/* ---- delta chunks ---- */

static size_t dblocks(size_t len)
{
	return (len + DBLOCK - 1) / DBLOCK;
}

static size_t dblock_len(size_t len, size_t j)
{
	return len - j * DBLOCK < DBLOCK ? len - j * DBLOCK : DBLOCK;
}

/* The largest delta payload of a chunk of at most cs bytes. */
size_t nc_bk_delta_max(uint32_t cs)
{
	return 32 + (dblocks(cs) + 7) / 8 + cs;
}

/*
 * The delta payload of data against base (both len bytes): base id, bitmap
 * of the 4 KiB blocks that differ, their bytes.  NULL when none or half or
 * more of the blocks differ (then the chunk is stored full).
 */
unsigned char *nc_bk_delta_make(const unsigned char base_id[32], const unsigned char *base,
	const unsigned char *data, size_t len, size_t *out_len)
{
	size_t nb = dblocks(len), bm = (nb + 7) / 8, j, changed = 0, pos;
	unsigned char *p;

	for (j = 0; j < nb; j++)
		if (memcmp(base + j * DBLOCK, data + j * DBLOCK, dblock_len(len, j)) != 0)
			changed++;
	if (!changed || 2 * changed >= nb)
		return NULL;
	p = nc_xcalloc(1, 32 + bm + changed * DBLOCK);
	memcpy(p, base_id, 32);
	pos = 32 + bm;
	for (j = 0; j < nb; j++) {
		size_t bl = dblock_len(len, j);

		if (memcmp(base + j * DBLOCK, data + j * DBLOCK, bl) == 0)
			continue;
		p[32 + j / 8] |= (unsigned char)(1u << (j % 8));
		memcpy(p + pos, data + j * DBLOCK, bl);
		pos += bl;
	}
	*out_len = pos;
	return p;
}

/* Applies a delta payload (after its base id) to base: the chunk's bytes in out. */
static int delta_apply(unsigned char *out, const unsigned char *base, size_t len,
	const unsigned char *d, size_t dlen)
{
	size_t nb = dblocks(len), bm = (nb + 7) / 8, j, pos = bm;

	if (dlen < bm)
		return -1;
	for (j = nb; j < bm * 8; j++)
		if (d[j / 8] & (1u << (j % 8)))
			return -1;
	memcpy(out, base, len);
	for (j = 0; j < nb; j++) {
		size_t bl = dblock_len(len, j);

		if (!(d[j / 8] & (1u << (j % 8))))
			continue;
		if (dlen - pos < bl)
			return -1;
		memcpy(out + j * DBLOCK, d + pos, bl);
		pos += bl;
	}
	return pos == dlen ? 0 : -1;
}

void nc_bk_chunk_reader_release(struct nc_bk_chunk_reader *cr)
{
	free(cr->c[0].data);
	free(cr->c[1].data);
	memset(cr, 0, sizeof(*cr));
}

/* Gets and opens chunks/<id>: its payload and flags, not yet checked against id. */
static int chunk_open(struct nc_backup_repo *r, const struct nc_bk_fetch_ctx *fc, const unsigned char id[32],
	unsigned char **out, size_t *out_len, unsigned char *flags, struct nc_err *err)
{
	char name[7 + NC_BACKUP_ID_HEX + 1], hex[NC_BACKUP_ID_HEX + 1];
	unsigned char *obj;
	size_t olen;
	int rc;

	nc_bk_hex_encode(hex, id, 32);
	snprintf(name, sizeof(name), "chunks/%s", hex);
	/* the target is used by one thread at a time; decoding runs in parallel */
	if (fc && fc->get_mu)
		pthread_mutex_lock(fc->get_mu);
	rc = r->t->drv->get(r->t, name, &obj, &olen, err);
	if (fc && fc->get_mu)
		pthread_mutex_unlock(fc->get_mu);
	if (rc < 0)
		return rc;
	rc = nc_bk_obj_decode_dctx(r, fc && fc->dctx ? fc->dctx : r->dctx, name, obj, olen,
		nc_bk_delta_max(r->chunk_size), out, out_len, flags, err);
	free(obj);
	return rc;
}

/*
 * A delta's base: a full (non-delta) chunk's stored bytes.  Not hashed: the
 * chunk built on it is checked against its own id, which is what matters
 * (a base damaged only in blocks the delta replaces still gives the right
 * chunk); the base's own id is checked when it is read as a chunk.
 */
static int base_fetch(struct nc_backup_repo *r, const struct nc_bk_fetch_ctx *fc, const unsigned char id[32],
	unsigned char **out, size_t *out_len, struct nc_err *err)
{
	char hex[NC_BACKUP_ID_HEX + 1];
	unsigned char *plain, flags;
	size_t plen;
	int rc;

	nc_bk_hex_encode(hex, id, 32);
	rc = chunk_open(r, fc, id, &plain, &plen, &flags, err);
	if (rc == NC_BACKUP_ENOENT) {
		nc_err_set(err, "delta base %s missing", hex);
		return rc;
	}
	if (rc < 0)
		return rc;
	if (flags & FLAG_DELTA) {
		nc_err_set(err, "delta base %s is itself a delta", hex);
		free(plain);
		return -1;
	}
	if (plen > r->chunk_size) {
		nc_err_set(err, "delta base %s: too large", hex);
		free(plain);
		return -1;
	}
	*out = plain;
	*out_len = plen;
	return 0;
}

/*
 * Fetches chunk id, opens it (a delta: with its base, from cr's cache when
 * there) and checks it: want_len bytes (0: any up to the chunk size) whose
 * id is id.  base_out (may be NULL): the delta's base, or 32 zero bytes.
 */
int nc_bk_chunk_fetch(struct nc_backup_repo *r, const unsigned char id[32], size_t want_len,
	struct nc_bk_chunk_reader *cr, unsigned char *base_out, unsigned char **out, size_t *out_len,
	struct nc_err *err)
{
	return nc_bk_chunk_fetch_ctx(r, NULL, id, want_len, cr, base_out, out, out_len, err);
}

int nc_bk_chunk_fetch_ctx(struct nc_backup_repo *r, const struct nc_bk_fetch_ctx *fc,
	const unsigned char id[32], size_t want_len, struct nc_bk_chunk_reader *cr, unsigned char *base_out,
	unsigned char **out, size_t *out_len, struct nc_err *err)
{
	char name[7 + NC_BACKUP_ID_HEX + 1], hex[NC_BACKUP_ID_HEX + 1];
	unsigned char *plain, got[32], flags;
	size_t plen;
	int rc;

	nc_bk_hex_encode(hex, id, 32);
	snprintf(name, sizeof(name), "chunks/%s", hex);
	rc = chunk_open(r, fc, id, &plain, &plen, &flags, err);
	if (rc < 0)
		return rc;
	if (base_out)
		memset(base_out, 0, 32);
	if (flags & FLAG_DELTA) {
		unsigned char *base = NULL, *full;
		size_t blen = 0;
		unsigned k;
		struct nc_err e2;

		if (plen < 32 || memcmp(plain, nc_bk_zero_id, 32) == 0 || memcmp(plain, id, 32) == 0) {
			nc_err_set(err, "%s: bad delta", name);
			free(plain);
			return -1;
		}
		for (k = 0; k < 2; k++)
			if (cr && cr->c[k].data && memcmp(cr->c[k].id, plain, 32) == 0) {
				base = cr->c[k].data;
				blen = cr->c[k].len;
			}
		if (!base) {
			if (base_fetch(r, fc, plain, &base, &blen, &e2) < 0) {
				nc_err_set(err, "%s: %s", name, e2.msg);
				free(plain);
				return -1;
			}
			if (cr) {
				k = cr->next++ % 2;
				free(cr->c[k].data);
				memcpy(cr->c[k].id, plain, 32);
				cr->c[k].data = base;
				cr->c[k].len = blen;
			}
		}
		full = nc_xmalloc(blen ? blen : 1);
		rc = delta_apply(full, base, blen, plain + 32, plen - 32);
		if (base_out)
			memcpy(base_out, plain, 32);
		if (!cr)
			free(base);
		free(plain);
		if (rc < 0) {
			nc_err_set(err, "%s: bad delta", name);
			free(full);
			return -1;
		}
		plain = full;
		plen = blen;
	} else if (plen > r->chunk_size) {
		nc_err_set(err, "%s: object too large", name);
		free(plain);
		return -1;
	}
	if (want_len && plen != want_len) {
		nc_err_set(err, "%s: %zu bytes, expected %zu", name, plen, want_len);
		free(plain);
		return -1;
	}
	nc_bk_content_id(r, got, plain, plen);
	if (CRYPTO_memcmp(got, id, 32) != 0) {
		nc_err_set(err, "%s: contents do not match the id (corrupted chunk)", name);
		free(plain);
		return -1;
	}
	*out = plain;
	*out_len = plen;
	return 0;
}
