/*
 * backup.c - the backup repository engine: chunking, ids, compression,
 * encryption, manifests, restore, check, retention and prune.  The format
 * is described in backup.h; objects go through a target's vtable.
 *
 * OpenSSL does the hashing (SHA-256, HMAC-SHA256), AES-256-GCM and nonces;
 * zstd the compression.  One compression and one decompression context per
 * repository handle are reused for every chunk.
 *
 * nc_backup_write() is a pipeline (see "the backup pipeline" below): the
 * calling thread reads chunks in order into a small ring of slots, worker
 * threads (opts.threads) check each for zeros and hash it, the calling
 * thread decides in chunk order which are new (target exists(), or an
 * earlier chunk of the same backup still in flight), workers compress and
 * seal those, and the calling thread stores them in chunk order.  Only the
 * calling thread uses the target, and every decision is taken in chunk
 * order, so ids, manifests and stats are the same whatever the number of
 * workers.  A new chunk whose parent chunk is stored goes to its worker
 * with that chunk's base object (fetched by the calling thread); the
 * worker stores it as a delta on it when fewer than half its 4 KiB blocks
 * differ ("delta chunks" below, format in backup.h).
 */
#include "backup.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <zstd.h>

#include "../../spec/util.h"

#define FLAG_ZSTD 0x01
#define FLAG_AES 0x02
#define FLAG_DELTA 0x04
#define DBLOCK 4096                      /* the unit of a delta chunk */
#define NONCE_LEN 12
#define TAG_LEN 16
#define MANIFEST_MAX ((size_t)1 << 30)
#define CONFIG_MAX 4096
#define KEYFILE_MAX 4096
#define MAX_PROBLEMS 1000

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

static const unsigned char zero_id[32];

/* ---- small helpers ---- */

static void hex_encode(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_val(char c)
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
static int hex_decode(unsigned char *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = hex_val(s[2 * i]), lo;

		if (hi < 0)
			return -1;
		lo = hex_val(s[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static bool is_id(const char *s)
{
	size_t i;

	for (i = 0; i < NC_BACKUP_ID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

static bool label_ok(const char *s)
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

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static void hmac256(unsigned char out[32], const unsigned char key[32], const void *data,
	size_t len)
{
	unsigned int olen = 32;

	HMAC(EVP_sha256(), key, 32, data, len, out, &olen);
}

/* A chunk's or manifest's id: SHA-256, or HMAC-SHA256 with the id key. */
static void content_id(const struct nc_backup_repo *r, unsigned char out[32],
	const void *data, size_t len)
{
	if (r->encrypted)
		hmac256(out, r->id_key, data, len);
	else
		SHA256(data, len, out);
}

static size_t chunk_len(uint64_t disk_size, uint32_t cs, size_t i)
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
static int obj_encode_cctx(const struct nc_backup_repo *r, ZSTD_CCtx *cctx, const char *name,
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

static int obj_encode(struct nc_backup_repo *r, const char *name, const void *data,
	size_t len, unsigned char **out, size_t *out_len, struct nc_err *err)
{
	return obj_encode_cctx(r, r->cctx, name, 0, data, len, out, out_len, err);
}

/*
 * Opens an object: its plaintext (payload), at most max bytes, and its flags
 * (FLAG_DELTA tells a delta chunk).  dctx is the caller's (one per thread).
 */
static int obj_decode_dctx(const struct nc_backup_repo *r, ZSTD_DCtx *dctx, const char *name,
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
static int obj_decode(struct nc_backup_repo *r, const char *name, const unsigned char *obj,
	size_t len, size_t max, unsigned char **out, size_t *out_len, struct nc_err *err)
{
	unsigned char flags;

	if (obj_decode_dctx(r, r->dctx, name, obj, len, max, out, out_len, &flags, err) < 0)
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
static size_t delta_max(uint32_t cs)
{
	return 32 + (dblocks(cs) + 7) / 8 + cs;
}

/*
 * The delta payload of data against base (both len bytes): base id, bitmap
 * of the 4 KiB blocks that differ, their bytes.  NULL when none or half or
 * more of the blocks differ (then the chunk is stored full).
 */
static unsigned char *delta_make(const unsigned char base_id[32], const unsigned char *base,
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

/* The last bases read (restore, check): consecutive chunks may share one. */
struct chunk_reader {
	struct {
		unsigned char id[32];
		unsigned char *data;
		size_t len;
	} c[2];
	unsigned next;
};

static void chunk_reader_release(struct chunk_reader *cr)
{
	free(cr->c[0].data);
	free(cr->c[1].data);
	memset(cr, 0, sizeof(*cr));
}

/* Gets and opens chunks/<id>: its payload and flags, not yet checked against id. */
static int chunk_open(struct nc_backup_repo *r, const unsigned char id[32], unsigned char **out,
	size_t *out_len, unsigned char *flags, struct nc_err *err)
{
	char name[7 + NC_BACKUP_ID_HEX + 1], hex[NC_BACKUP_ID_HEX + 1];
	unsigned char *obj;
	size_t olen;
	int rc;

	hex_encode(hex, id, 32);
	snprintf(name, sizeof(name), "chunks/%s", hex);
	rc = r->t->drv->get(r->t, name, &obj, &olen, err);
	if (rc < 0)
		return rc;
	rc = obj_decode_dctx(r, r->dctx, name, obj, olen, delta_max(r->chunk_size), out, out_len,
		flags, err);
	free(obj);
	return rc;
}

/*
 * A delta's base: a full (non-delta) chunk's stored bytes.  Not hashed: the
 * chunk built on it is checked against its own id, which is what matters
 * (a base damaged only in blocks the delta replaces still gives the right
 * chunk); the base's own id is checked when it is read as a chunk.
 */
static int base_fetch(struct nc_backup_repo *r, const unsigned char id[32], unsigned char **out,
	size_t *out_len, struct nc_err *err)
{
	char hex[NC_BACKUP_ID_HEX + 1];
	unsigned char *plain, flags;
	size_t plen;
	int rc;

	hex_encode(hex, id, 32);
	rc = chunk_open(r, id, &plain, &plen, &flags, err);
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
static int chunk_fetch(struct nc_backup_repo *r, const unsigned char id[32], size_t want_len,
	struct chunk_reader *cr, unsigned char *base_out, unsigned char **out, size_t *out_len,
	struct nc_err *err)
{
	char name[7 + NC_BACKUP_ID_HEX + 1], hex[NC_BACKUP_ID_HEX + 1];
	unsigned char *plain, got[32], flags;
	size_t plen;
	int rc;

	hex_encode(hex, id, 32);
	snprintf(name, sizeof(name), "chunks/%s", hex);
	rc = chunk_open(r, id, &plain, &plen, &flags, err);
	if (rc < 0)
		return rc;
	if (base_out)
		memset(base_out, 0, 32);
	if (flags & FLAG_DELTA) {
		unsigned char *base = NULL, *full;
		size_t blen = 0;
		unsigned k;
		struct nc_err e2;

		if (plen < 32 || memcmp(plain, zero_id, 32) == 0 || memcmp(plain, id, 32) == 0) {
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
			if (base_fetch(r, plain, &base, &blen, &e2) < 0) {
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
	content_id(r, got, plain, plen);
	if (CRYPTO_memcmp(got, id, 32) != 0) {
		nc_err_set(err, "%s: contents do not match the id (corrupted chunk)", name);
		free(plain);
		return -1;
	}
	*out = plain;
	*out_len = plen;
	return 0;
}

/* ---- keys and config ---- */

static int load_key(unsigned char out[32], const char *path, struct nc_err *err)
{
	char *data = NULL;
	size_t len, b = 0, e;
	unsigned mode = 0;
	int rc = nc_read_secret_file(path, KEYFILE_MAX, &data, &len, &mode);

	if (rc == NC_SECRET_MODE_BAD) {
		char *m = nc_secret_msg("key file", path, mode);

		nc_err_set(err, "%s (a key others can read is refused)", m);
		free(m);
		return -1;
	}
	if (rc == -1) {
		nc_err_set(err, "cannot read key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (rc == -2) {
		nc_err_set(err, "key file %s: too large (want 32 bytes or 64 hex digits)", path);
		return -1;
	}
	if (len == 32) {
		memcpy(out, data, 32);
		rc = 0;
		goto out;
	}
	e = len;
	while (b < e && strchr(" \t\r\n", data[b]))
		b++;
	while (e > b && strchr(" \t\r\n", data[e - 1]))
		e--;
	if (e - b == 64 && hex_decode(out, data + b, 32) == 0) {
		rc = 0;
		goto out;
	}
	nc_err_set(err, "key file %s: want 32 raw bytes or 64 hex digits", path);
	rc = -1;
out:
	OPENSSL_cleanse(data, len);
	free(data);
	return rc;
}

int nc_backup_key_check(const char *path, struct nc_err *err)
{
	unsigned char k[32];
	int rc = load_key(k, path, err);

	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

static void derive(struct nc_backup_repo *r, const unsigned char master[32],
	char check_hex[NC_BACKUP_ID_HEX + 1])
{
	static const char enc_label[] = "novacron-backup v1 encryption";
	static const char id_label[] = "novacron-backup v1 id";
	static const char check_label[] = "novacron-backup v1 key-check";
	unsigned char check[32];

	hmac256(r->enc_key, master, enc_label, sizeof(enc_label) - 1);
	hmac256(r->id_key, master, id_label, sizeof(id_label) - 1);
	hmac256(check, master, check_label, sizeof(check_label) - 1);
	hex_encode(check_hex, check, 32);
}

static struct nc_backup_repo *repo_new(struct nc_backup_target *t, const struct nc_backup_repo_opts *o)
{
	struct nc_backup_repo *r = nc_xcalloc(1, sizeof(*r));

	r->t = t;
	r->level = o && o->no_compression ? 0 : o && o->zstd_level ? o->zstd_level : 3;
	if (o && o->threads) {
		r->threads = o->threads;
	} else {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		r->threads = n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
	}
	r->cctx = ZSTD_createCCtx();
	r->dctx = ZSTD_createDCtx();
	if (!r->cctx || !r->dctx)
		abort();     /* allocation failure, as in nc_xmalloc() */
	return r;
}

static void repo_free(struct nc_backup_repo *r)
{
	if (!r)
		return;
	OPENSSL_cleanse(r->enc_key, sizeof(r->enc_key));
	OPENSSL_cleanse(r->id_key, sizeof(r->id_key));
	ZSTD_freeCCtx(r->cctx);
	ZSTD_freeDCtx(r->dctx);
	free(r);
}

void nc_backup_close(struct nc_backup_repo *r)
{
	if (!r)
		return;
	r->t->drv->close(r->t);
	repo_free(r);
}

uint32_t nc_backup_chunk_size(const struct nc_backup_repo *r)
{
	return r->chunk_size;
}

bool nc_backup_encrypted(const struct nc_backup_repo *r)
{
	return r->encrypted;
}

int nc_backup_create(struct nc_backup_repo **out, struct nc_backup_target *t,
	const struct nc_backup_repo_opts *o, struct nc_err *err)
{
	struct nc_backup_repo *r;
	struct nc_buf cfg = NC_BUF_INIT;
	char check[NC_BACKUP_ID_HEX + 1];
	unsigned char master[32];
	uint32_t cs = o && o->chunk_size ? o->chunk_size : NC_BACKUP_DEFAULT_CHUNK;
	int rc;

	if (cs % 4096 || cs < NC_BACKUP_MIN_CHUNK || cs > NC_BACKUP_MAX_CHUNK) {
		nc_err_set(err, "chunk size %u: want a multiple of 4096 between %u and %u",
			cs, NC_BACKUP_MIN_CHUNK, NC_BACKUP_MAX_CHUNK);
		return -1;
	}
	rc = t->drv->exists(t, "config", err);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		nc_err_set(err, "a backup repository already exists there");
		return -1;
	}
	r = repo_new(t, o);
	r->chunk_size = cs;
	nc_buf_addf(&cfg, "novacron-backup-repository %d\nchunk-size %u\ncompression zstd\n",
		NC_BACKUP_FORMAT, cs);
	if (o && o->key_file) {
		if (load_key(master, o->key_file, err) < 0)
			goto fail;
		r->encrypted = true;
		derive(r, master, check);
		OPENSSL_cleanse(master, sizeof(master));
		nc_buf_addf(&cfg, "encrypted yes\nkey-check %s\n", check);
	} else {
		nc_buf_adds(&cfg, "encrypted no\n");
	}
	if (t->drv->put(t, "config", cfg.buf, cfg.len, err) < 0 || t->drv->sync(t, err) < 0)
		goto fail;
	nc_buf_release(&cfg);
	*out = r;
	return 0;
fail:
	nc_buf_release(&cfg);
	repo_free(r);
	return -1;
}

int nc_backup_open(struct nc_backup_repo **out, struct nc_backup_target *t,
	const struct nc_backup_repo_opts *o, struct nc_err *err)
{
	struct nc_backup_repo *r = NULL;
	unsigned char *data = NULL, master[32];
	char *text = NULL, *line, *save = NULL, check[NC_BACKUP_ID_HEX + 1];
	char want_check[NC_BACKUP_ID_HEX + 1] = "";
	size_t len;
	int rc, format = 0, encrypted = -1;
	unsigned long cs = 0;
	int ret = -1;

	rc = t->drv->get(t, "config", &data, &len, err);
	if (rc == NC_BACKUP_ENOENT) {
		nc_err_set(err, "not a backup repository (no config object)");
		return -1;
	}
	if (rc < 0)
		return -1;
	if (len > CONFIG_MAX || memchr(data, '\0', len)) {
		nc_err_set(err, "repository config: not a text file");
		goto out;
	}
	text = nc_xstrndup((char *)data, len);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, ' ');

		if (!val)
			continue;
		*val++ = '\0';
		if (strcmp(line, "novacron-backup-repository") == 0)
			format = atoi(val);
		else if (strcmp(line, "chunk-size") == 0)
			cs = strtoul(val, NULL, 10);
		else if (strcmp(line, "encrypted") == 0)
			encrypted = strcmp(val, "yes") == 0 ? 1 : strcmp(val, "no") == 0 ? 0 : -1;
		else if (strcmp(line, "key-check") == 0 && strlen(val) == NC_BACKUP_ID_HEX)
			snprintf(want_check, sizeof(want_check), "%s", val);
		else if (strcmp(line, "compression") == 0 && strcmp(val, "zstd") != 0) {
			nc_err_set(err, "repository config: unknown compression '%s'", val);
			goto out;
		}
	}
	if (format != NC_BACKUP_FORMAT) {
		nc_err_set(err, "repository config: format %d not supported (this is %d)",
			format, NC_BACKUP_FORMAT);
		goto out;
	}
	if (cs % 4096 || cs < NC_BACKUP_MIN_CHUNK || cs > NC_BACKUP_MAX_CHUNK || encrypted < 0 ||
	    (encrypted && !*want_check)) {
		nc_err_set(err, "repository config: bad or missing chunk-size, encrypted or key-check");
		goto out;
	}
	if (encrypted && !(o && o->key_file)) {
		nc_err_set(err, "the repository is encrypted: a key file is needed");
		goto out;
	}
	if (!encrypted && o && o->key_file) {
		nc_err_set(err, "the repository is not encrypted, but a key file was given");
		goto out;
	}
	r = repo_new(t, o);
	r->chunk_size = (uint32_t)cs;
	r->encrypted = encrypted;
	if (encrypted) {
		if (load_key(master, o->key_file, err) < 0)
			goto out;
		derive(r, master, check);
		OPENSSL_cleanse(master, sizeof(master));
		if (CRYPTO_memcmp(check, want_check, NC_BACKUP_ID_HEX) != 0) {
			nc_err_set(err, "wrong key: %s is not the key of this repository",
				o->key_file);
			goto out;
		}
	}
	*out = r;
	r = NULL;
	ret = 0;
out:
	repo_free(r);
	free(text);
	free(data);
	return ret;
}

static int open_dir(struct nc_backup_repo **out, const char *path,
	const struct nc_backup_repo_opts *o, bool create, struct nc_err *err)
{
	struct nc_backup_location loc = { .type = "dir", .path = path };
	struct nc_backup_target *t;
	int rc;

	/* a bad key is refused before the directory is made */
	if (create && o && o->key_file && nc_backup_key_check(o->key_file, err) < 0)
		return -1;
	if (nc_backup_target_dir.open(&t, &loc, create, err) < 0)
		return -1;
	rc = create ? nc_backup_create(out, t, o, err) : nc_backup_open(out, t, o, err);
	if (rc < 0)
		t->drv->close(t);
	return rc;
}

int nc_backup_create_dir(struct nc_backup_repo **out, const char *path,
	const struct nc_backup_repo_opts *o, struct nc_err *err)
{
	return open_dir(out, path, o, true, err);
}

int nc_backup_open_dir(struct nc_backup_repo **out, const char *path,
	const struct nc_backup_repo_opts *o, struct nc_err *err)
{
	return open_dir(out, path, o, false, err);
}

/* ---- manifests ---- */

void nc_backup_snapshot_release(struct nc_backup_snapshot *s)
{
	if (!s)
		return;
	free(s->vm);
	free(s->disk);
	free(s->chunks);
	free(s->bases);
	memset(s, 0, sizeof(*s));
}

void nc_backup_snapshots_free(struct nc_backup_snapshot *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		nc_backup_snapshot_release(&v[i]);
	free(v);
}

static void manifest_format(struct nc_buf *b, const struct nc_backup_snapshot *s)
{
	char hex[NC_BACKUP_ID_HEX + 1];
	size_t i;

	nc_buf_addf(b, "novacron-snapshot %d\nvm %s\ndisk %s\ndisk-size %llu\ntime %lld\n"
		"quiesced %s\nparent %s\ncheckpoint %s\nchunk-size %u\nchunks %zu\n",
		NC_BACKUP_FORMAT, s->vm, s->disk, (unsigned long long)s->disk_size,
		(long long)s->time, s->quiesced ? "yes" : "no",
		*s->parent ? s->parent : "none", *s->checkpoint ? s->checkpoint : "none",
		s->chunk_size, s->nchunks);
	nc_buf_grow(b, s->nchunks * (NC_BACKUP_ID_HEX + 1) + 4);
	for (i = 0; i < s->nchunks; i++) {
		if (memcmp(s->chunks[i], zero_id, 32) == 0) {
			nc_buf_adds(b, "zero\n");
			continue;
		}
		hex_encode(hex, s->chunks[i], 32);
		nc_buf_add(b, hex, NC_BACKUP_ID_HEX);
		if (memcmp(s->bases[i], zero_id, 32) != 0) {
			hex_encode(hex, s->bases[i], 32);
			nc_buf_addc(b, ' ');
			nc_buf_add(b, hex, NC_BACKUP_ID_HEX);
		}
		nc_buf_addc(b, '\n');
	}
	nc_buf_adds(b, "end\n");
}

/* The next line of text [*p, end) without its newline; NULL at the end. */
static char *next_line(char **p, char *end)
{
	char *line = *p, *nl;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(end - line));
	if (!nl)
		return NULL;      /* every line ends with a newline */
	*nl = '\0';
	*p = nl + 1;
	return line;
}

/* The value of "KEY value" as the next line, or NULL. */
static const char *field(char **p, char *end, const char *key)
{
	char *line = next_line(p, end);
	size_t kl = strlen(key);

	if (!line || strncmp(line, key, kl) != 0 || line[kl] != ' ')
		return NULL;
	return line + kl + 1;
}

static bool parse_u64(const char *s, unsigned long long *out)
{
	char *e;

	if (!s || !(*s >= '0' && *s <= '9'))
		return false;
	errno = 0;
	*out = strtoull(s, &e, 10);
	return !errno && !*e;
}

static int manifest_parse(struct nc_backup_snapshot *s, char *text, size_t len)
{
	char *p = text, *end = text + len, *line;
	const char *v;
	unsigned long long u, cs, nch;
	long long tm;
	char *e;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (!(line = next_line(&p, end)) || strcmp(line, "novacron-snapshot 1") != 0)
		return -1;
	if (!(v = field(&p, end, "vm")) || !label_ok(v))
		return -1;
	s->vm = nc_xstrdup(v);
	if (!(v = field(&p, end, "disk")) || !label_ok(v))
		goto bad;
	s->disk = nc_xstrdup(v);
	if (!parse_u64(field(&p, end, "disk-size"), &u))
		goto bad;
	s->disk_size = u;
	if (!(v = field(&p, end, "time")) || !*v)
		goto bad;
	errno = 0;
	tm = strtoll(v, &e, 10);
	if (errno || *e)
		goto bad;
	s->time = tm;
	if (!(v = field(&p, end, "quiesced")) || (strcmp(v, "yes") && strcmp(v, "no")))
		goto bad;
	s->quiesced = strcmp(v, "yes") == 0;
	if (!(v = field(&p, end, "parent")) || (strcmp(v, "none") && !is_id(v)))
		goto bad;
	if (strcmp(v, "none"))
		snprintf(s->parent, sizeof(s->parent), "%s", v);
	if (!(v = field(&p, end, "checkpoint")) || !label_ok(v) || strlen(v) >= sizeof(s->checkpoint))
		goto bad;
	if (strcmp(v, "none"))
		snprintf(s->checkpoint, sizeof(s->checkpoint), "%s", v);
	if (!parse_u64(field(&p, end, "chunk-size"), &cs) || !cs || cs > NC_BACKUP_MAX_CHUNK)
		goto bad;
	s->chunk_size = (uint32_t)cs;
	if (!parse_u64(field(&p, end, "chunks"), &nch) ||
	    nch != (s->disk_size + cs - 1) / cs || nch > len / 5)
		goto bad;
	s->nchunks = (size_t)nch;
	s->chunks = nc_xcalloc(s->nchunks ? s->nchunks : 1, 32);
	s->bases = nc_xcalloc(s->nchunks ? s->nchunks : 1, 32);
	for (i = 0; i < s->nchunks; i++) {
		char *base;

		if (!(line = next_line(&p, end)))
			goto bad;
		if (strcmp(line, "zero") == 0)
			continue;
		/* "<id>" (full) or "<id> <base id>" (a delta on that base) */
		base = strlen(line) == 2 * NC_BACKUP_ID_HEX + 1 && line[NC_BACKUP_ID_HEX] == ' ' ?
			line + NC_BACKUP_ID_HEX + 1 : NULL;
		if (base) {
			base[-1] = '\0';
			if (!is_id(base) || hex_decode(s->bases[i], base, 32) < 0 ||
			    memcmp(s->bases[i], zero_id, 32) == 0 || strcmp(base, line) == 0)
				goto bad;
		}
		if (!is_id(line) || hex_decode(s->chunks[i], line, 32) < 0 ||
		    memcmp(s->chunks[i], zero_id, 32) == 0)
			goto bad;
	}
	if (!(line = next_line(&p, end)) || strcmp(line, "end") != 0 || p != end)
		goto bad;
	return 0;
bad:
	nc_backup_snapshot_release(s);
	return -1;
}

/* Loads snapshots/<id> (a full id) and checks its id against its text. */
static int snapshot_get(struct nc_backup_snapshot *out, struct nc_backup_repo *r,
	const char *id, struct nc_err *err)
{
	char name[10 + NC_BACKUP_ID_HEX + 1], hex[NC_BACKUP_ID_HEX + 1];
	unsigned char *obj, *text, got[32];
	size_t olen, tlen;
	int rc;

	snprintf(name, sizeof(name), "snapshots/%s", id);
	rc = r->t->drv->get(r->t, name, &obj, &olen, err);
	if (rc == NC_BACKUP_ENOENT)
		nc_err_set(err, "snapshot %s does not exist", id);
	if (rc < 0)
		return rc;
	rc = obj_decode(r, name, obj, olen, MANIFEST_MAX, &text, &tlen, err);
	free(obj);
	if (rc < 0)
		return rc;
	content_id(r, got, text, tlen);
	hex_encode(hex, got, 32);
	if (strcmp(hex, id) != 0) {
		nc_err_set(err, "%s: contents do not match the id (corrupted manifest)", name);
		free(text);
		return -1;
	}
	if (manifest_parse(out, (char *)text, tlen) < 0) {
		nc_err_set(err, "%s: malformed manifest", name);
		free(text);
		return -1;
	}
	memcpy(out->id, id, sizeof(out->id));
	free(text);
	return 0;
}

/* Snapshot ids in the repository, sorted. */
static int list_ids(char ***out, size_t *out_n, struct nc_backup_repo *r, struct nc_err *err)
{
	char **v;
	size_t n, i, k = 0;

	if (r->t->drv->list(r->t, "snapshots", &v, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (is_id(v[i]))
			v[k++] = v[i];
		else
			free(v[i]);
	}
	*out = v;
	*out_n = k;
	return 0;
}

static int resolve_id(char full[NC_BACKUP_ID_HEX + 1], struct nc_backup_repo *r,
	const char *prefix, struct nc_err *err)
{
	char **ids;
	size_t n, i, len = strlen(prefix), found = 0;

	if (is_id(prefix)) {
		memcpy(full, prefix, NC_BACKUP_ID_HEX + 1);
		return 0;
	}
	for (i = 0; i < len; i++)
		if (hex_val(prefix[i]) < 0 || (prefix[i] >= 'A' && prefix[i] <= 'F'))
			break;
	if (len < 4 || len > NC_BACKUP_ID_HEX || i < len) {
		nc_err_set(err, "'%s' is not a snapshot id (want at least 4 lower-case hex digits)",
			prefix);
		return -1;
	}
	if (list_ids(&ids, &n, r, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (strncmp(ids[i], prefix, len) == 0) {
			if (found++ == 0)
				memcpy(full, ids[i], NC_BACKUP_ID_HEX + 1);
		}
	}
	nc_backup_names_free(ids, n);
	if (found == 1)
		return 0;
	if (found == 0)
		nc_err_set(err, "snapshot %s does not exist", prefix);
	else
		nc_err_set(err, "snapshot id prefix %s is ambiguous (%zu snapshots)", prefix, found);
	return -1;
}

int nc_backup_snapshot_load(struct nc_backup_snapshot *out, struct nc_backup_repo *r,
	const char *id, struct nc_err *err)
{
	char full[NC_BACKUP_ID_HEX + 1];

	if (resolve_id(full, r, id, err) < 0)
		return -1;
	return snapshot_get(out, r, full, err);
}

static int cmp_snapshot(const void *a, const void *b)
{
	const struct nc_backup_snapshot *x = a, *y = b;
	int c = strcmp(x->vm, y->vm);

	if (c)
		return c;
	if ((c = strcmp(x->disk, y->disk)))
		return c;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

int nc_backup_list(struct nc_backup_snapshot **out, size_t *out_n,
	struct nc_backup_repo *r, struct nc_err *err)
{
	struct nc_backup_snapshot *v;
	char **ids;
	size_t n, i;

	if (list_ids(&ids, &n, r, err) < 0)
		return -1;
	v = nc_xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (snapshot_get(&v[i], r, ids[i], err) < 0) {
			nc_backup_snapshots_free(v, i);
			nc_backup_names_free(ids, n);
			return -1;
		}
	}
	nc_backup_names_free(ids, n);
	if (n)
		qsort(v, n, sizeof(*v), cmp_snapshot);
	*out = v;
	*out_n = n;
	return 0;
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
		    chunk_len(s->disk_size, s->chunk_size, i) !=
		    chunk_len(parent->disk_size, parent->chunk_size, i))
			dirty[i] = true;
	return 0;
}

/* ---- the backup pipeline ---- */

/*
 * A slot carries one chunk through the pipeline.  States, in order:
 * FREE -> HASH (queued for a worker) -> HASHED -> (decided by the calling
 * thread: zero, reused, or new) -> ENCODE (new only, queued) -> ENCODED ->
 * stored -> FREE.  Workers change only HASH -> HASHED and ENCODE ->
 * ENCODED, under the mutex; everything else is the calling thread's.
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
	pthread_cond_t work, done;
	struct slot *slots;
	size_t nslots;
	size_t *queue, qhead, qn;        /* slots waiting for a worker, FIFO */
	bool stop;
	pthread_t *th;
	size_t nth;
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

		hex_encode(hex, sl->base, 32);
		snprintf(bname, sizeof(bname), "chunks/%s", hex);
		if (obj_decode_dctx(r, dctx, bname, sl->bobj, sl->bolen, r->chunk_size, &base, &blen,
			&flags, &e2) == 0) {
			if (!(flags & FLAG_DELTA) && blen == sl->len) {
				content_id(r, got, base, blen);
				if (CRYPTO_memcmp(got, sl->base, 32) == 0)
					d = delta_make(sl->base, base, sl->buf, sl->len, &dlen);
			}
			free(base);
		}
		free(sl->bobj);
		sl->bobj = NULL;
	}
	if (d) {
		sl->delta = true;
		rc = obj_encode_cctx(r, cctx, sl->name, FLAG_DELTA, d, dlen, &sl->obj, &sl->olen,
			&sl->err);
		free(d);
		return rc;
	}
	return obj_encode_cctx(r, cctx, sl->name, 0, sl->buf, sl->len, &sl->obj, &sl->olen,
		&sl->err);
}

/* The work on one slot, in a worker or (no workers) in the calling thread. */
static void slot_work(const struct nc_backup_repo *r, ZSTD_CCtx *cctx, ZSTD_DCtx *dctx,
	struct slot *sl)
{
	if (sl->state == SLOT_HASH) {
		sl->zero = all_zero(sl->buf, sl->len);
		if (!sl->zero)
			content_id(r, sl->id, sl->buf, sl->len);
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

/* Hands slot k (state HASH or ENCODE) to a worker, or does the work now. */
static void slot_submit(struct pipeline *p, struct nc_backup_repo *r, size_t k)
{
	struct slot *sl = &p->slots[k];

	if (!p->nth) {
		slot_work(r, r->cctx, r->dctx, sl);
		sl->state = sl->state == SLOT_HASH ? SLOT_HASHED : SLOT_ENCODED;
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->queue[(p->qhead + p->qn++) % p->nslots] = k;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

static enum slot_state slot_state(struct pipeline *p, size_t k)
{
	enum slot_state st;

	if (!p->nth)
		return p->slots[k].state;
	pthread_mutex_lock(&p->mu);
	st = p->slots[k].state;
	pthread_mutex_unlock(&p->mu);
	return st;
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
	rc = obj_decode_dctx(r, r->dctx, name, obj, olen, delta_max(r->chunk_size), &plain, &plen,
		&flags, err);
	free(obj);
	if (rc < 0)
		return -1;
	if (plen < 32 || memcmp(plain, zero_id, 32) == 0) {
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
 * s->chunks, s->bases and the chunk counts of st.  The ring holds a few
 * slots per worker: the calling thread waits only when the oldest slot is
 * not done.  A new chunk whose parent chunk (same index, same length) is
 * stored has that chunk's base (the chunk itself when it is full) fetched
 * by the calling thread; the worker then stores it as a delta on it when
 * that is smaller (slot_encode).
 */
static int backup_chunks(struct nc_backup_stats *st, struct nc_backup_repo *r,
	struct nc_backup_snapshot *s, const struct nc_backup_snapshot *parent, const bool *dirty,
	const struct nc_backup_source *src, struct nc_err *err)
{
	struct pipeline p;
	struct idmap map;
	struct nc_err rerr;
	size_t next = 0, head = 0, dpos = 0, tail = 0, k;
	bool read_failed = false;
	int ret = -1;

	memset(&p, 0, sizeof(p));
	idmap_init(&map, s->nchunks + (parent ? parent->nchunks : 0));
	for (k = 0; parent && k < parent->nchunks; k++)
		if (memcmp(parent->chunks[k], zero_id, 32) != 0)
			idmap_put(&map, parent->chunks[k], parent->bases[k]);
	p.r = r;
	p.nth = r->threads > 1 ? r->threads : 0;
	p.nslots = p.nth ? 4 * p.nth + 2 : 1;
	p.slots = nc_xcalloc(p.nslots, sizeof(*p.slots));
	p.queue = nc_xcalloc(p.nslots, sizeof(*p.queue));
	for (k = 0; k < p.nslots; k++)
		p.slots[k].buf = nc_xmalloc(r->chunk_size);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.done, NULL);
	if (p.nth) {
		p.th = nc_xcalloc(p.nth, sizeof(*p.th));
		for (k = 0; k < p.nth; k++)
			if (pthread_create(&p.th[k], NULL, worker, &p) != 0)
				break;
		p.nth = k;    /* as many as could start; none: the calling thread works */
	}
	for (;;) {
		bool progress = false;

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
			if (memcmp(sl->id, zero_id, 32) == 0) {
				nc_err_set(err, "backup: a chunk id of all zeros (impossible)");
				goto out;
			}
			memcpy(s->chunks[i], sl->id, 32);
			hex_encode(hex, sl->id, 32);
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
			    memcmp(parent->chunks[i], zero_id, 32) != 0 &&
			    chunk_len(parent->disk_size, parent->chunk_size, i) == sl->len) {
				const unsigned char *b = memcmp(parent->bases[i], zero_id, 32) != 0 ?
					parent->bases[i] : parent->chunks[i];
				char bname[7 + NC_BACKUP_ID_HEX + 1];

				hex_encode(hex, b, 32);
				snprintf(bname, sizeof(bname), "chunks/%s", hex);
				memcpy(sl->base, b, 32);
				rc = r->t->drv->get(r->t, bname, &sl->bobj, &sl->bolen, err);
				if (rc == NC_BACKUP_ENOENT)
					sl->bobj = NULL;      /* no base: stored full */
				else if (rc < 0)
					goto out;
			}
			sl->state = SLOT_ENCODE;
			slot_submit(&p, r, (dpos - 1) % p.nslots);
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
			sl->state = SLOT_FREE;
			head++;
			progress = true;
		}
		/* read the next chunk to be read into a free slot */
		while (next < s->nchunks && dirty && !dirty[next]) {
			memcpy(s->chunks[next], parent->chunks[next], 32);
			memcpy(s->bases[next], parent->bases[next], 32);
			st->chunks_unchanged++;
			next++;
		}
		if (next < s->nchunks && !read_failed && tail - head < p.nslots) {
			struct slot *sl = &p.slots[tail % p.nslots];

			sl->idx = next;
			sl->len = chunk_len(s->disk_size, s->chunk_size, next);
			if (src->read(src->ctx, (uint64_t)next * s->chunk_size, sl->buf, sl->len,
				&rerr) < 0) {
				/* store what was read before (as one thread would have), then fail */
				read_failed = true;
				continue;
			}
			st->bytes_read += sl->len;
			sl->state = SLOT_HASH;
			slot_submit(&p, r, tail % p.nslots);
			next++;
			tail++;
			continue;
		}
		if (head == tail && (next == s->nchunks || read_failed))
			break;
		if (progress || !p.nth)
			continue;
		/* nothing to do until the oldest undecided or unstored slot is done */
		pthread_mutex_lock(&p.mu);
		while (!(dpos < tail && p.slots[dpos % p.nslots].state == SLOT_HASHED) &&
		       !(head < dpos && p.slots[head % p.nslots].state == SLOT_ENCODED))
			pthread_cond_wait(&p.done, &p.mu);
		pthread_mutex_unlock(&p.mu);
	}
	if (read_failed) {
		*err = rerr;
		goto out;
	}
	ret = 0;
out:
	pthread_mutex_lock(&p.mu);
	p.stop = true;
	pthread_cond_broadcast(&p.work);
	pthread_mutex_unlock(&p.mu);
	for (k = 0; k < p.nth; k++)
		pthread_join(p.th[k], NULL);
	for (k = 0; k < p.nslots; k++) {
		free(p.slots[k].buf);
		free(p.slots[k].obj);
		free(p.slots[k].bobj);
	}
	idmap_free(&map);
	pthread_cond_destroy(&p.work);
	pthread_cond_destroy(&p.done);
	pthread_mutex_destroy(&p.mu);
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
	if (!label_ok(meta->vm) || !label_ok(meta->disk)) {
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
		if (!label_ok(meta->checkpoint) || strlen(meta->checkpoint) >= sizeof(s.checkpoint)) {
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
	manifest_format(&text, &s);
	content_id(r, mid, text.buf, text.len);
	hex_encode(st.id, mid, 32);
	snprintf(name, sizeof(name), "snapshots/%s", st.id);
	if (obj_encode(r, name, text.buf, text.len, &obj, &olen, err) < 0)
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
	struct chunk_reader cr;
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
		size_t len = chunk_len(s->disk_size, s->chunk_size, i);
		struct nc_err e2;

		if (memcmp(s->chunks[i], zero_id, 32) == 0) {
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
			if (chunk_fetch(r, s->chunks[i], len, &cr, NULL, &data, &dlen, &e2) < 0) {
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
	chunk_reader_release(&cr);
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

/* ---- check ---- */

/*
 * A chunk a manifest references: as a chunk of the disk (with its base when
 * a delta), or as the base of delta chunk of.
 */
struct ref {
	unsigned char id[32];            /* first: cmp_id finds a ref by its id */
	unsigned char base[32];          /* as a chunk: its base, or zeros */
	unsigned char of[32];            /* as a base: the delta using it */
	bool as_base;
	size_t snap;                     /* first snapshot referencing it */
};

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = memcmp(x->id, y->id, 32);

	if (c)
		return c;
	if (x->as_base != y->as_base)
		return x->as_base ? 1 : -1;
	return x->snap < y->snap ? -1 : x->snap > y->snap;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/*
 * Distinct non-zero chunk ids of snapshots and their delta bases, sorted,
 * each with its first referrer (as a chunk before as a base).
 */
static struct ref *collect_refs(const struct nc_backup_snapshot *v, const bool *use,
	size_t n, size_t *out_n)
{
	struct ref *refs = NULL;
	size_t i, j, k = 0, a = 0;

	for (i = 0; i < n; i++) {
		if (use && !use[i])
			continue;
		for (j = 0; j < v[i].nchunks; j++) {
			bool delta = memcmp(v[i].bases[j], zero_id, 32) != 0;

			if (memcmp(v[i].chunks[j], zero_id, 32) == 0)
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
static int stored_chunks(unsigned char (**out)[32], size_t *out_n, struct nc_backup_repo *r,
	struct nc_err *err)
{
	unsigned char (*ids)[32];
	char **names;
	size_t n, i, k = 0;

	if (r->t->drv->list(r->t, "chunks", &names, &n, err) < 0)
		return -1;
	ids = nc_xcalloc(n ? n : 1, 32);
	for (i = 0; i < n; i++)
		if (is_id(names[i]))
			hex_decode(ids[k++], names[i], 32);
	nc_backup_names_free(names, n);
	if (k)
		qsort(ids, k, 32, cmp_id);
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
	struct ref *refs = NULL;
	struct chunk_reader cr;
	unsigned char (*have)[32] = NULL;
	char **ids = NULL, hex[NC_BACKUP_ID_HEX + 1], hex2[NC_BACKUP_ID_HEX + 1];
	size_t nids = 0, nv = 0, nrefs = 0, nhave = 0, i, palloc = 0, present = 0;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	memset(&cr, 0, sizeof(cr));
	if (list_ids(&ids, &nids, r, err) < 0)
		goto out;
	v = nc_xcalloc(nids ? nids : 1, sizeof(*v));
	for (i = 0; i < nids; i++) {
		struct nc_err e2;

		c.snapshots++;
		if (snapshot_get(&v[nv], r, ids[i], &e2) < 0) {
			c.snapshots_bad++;
			problem(&c, &palloc, "snapshot %s: %s", ids[i], e2.msg);
			continue;
		}
		nv++;
	}
	refs = collect_refs(v, NULL, nv, &nrefs);
	c.chunks_referenced = nrefs;
	if (stored_chunks(&have, &nhave, r, err) < 0)
		goto out;
	for (i = 0; i < nrefs; i++) {
		struct nc_err e2;
		unsigned char *data, got_base[32];
		const struct ref *b;
		bool delta = memcmp(refs[i].base, zero_id, 32) != 0;
		size_t dlen;

		hex_encode(hex, refs[i].id, 32);
		if (!bsearch(refs[i].id, have, nhave, 32, cmp_id)) {
			c.chunks_missing++;
			if (refs[i].as_base) {
				hex_encode(hex2, refs[i].of, 32);
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
			b = bsearch(refs[i].base, refs, nrefs, sizeof(*refs), cmp_id);
			if (b && !b->as_base && memcmp(b->base, zero_id, 32) != 0) {
				hex_encode(hex2, refs[i].base, 32);
				problem(&c, &palloc, "chunk %s: delta base %s is itself a delta", hex,
					hex2);
			}
		}
		if (!(o && o->read_data))
			continue;
		if (chunk_fetch(r, refs[i].id, 0, &cr, got_base, &data, &dlen, &e2) < 0) {
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
	chunk_reader_release(&cr);
	nc_backup_check_report_release(&c);
	nc_backup_snapshots_free(v, nv);
	nc_backup_names_free(ids, nids);
	free(refs);
	free(have);
	return ret;
}

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
	struct ref *refs = NULL;
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
	refs = collect_refs(v, keep, nv, &nrefs);
	if (stored_chunks(&have, &nhave, r, err) < 0)
		goto out;
	for (i = 0; i < nhave; i++) {
		struct ref key;

		memcpy(key.id, have[i], 32);
		key.snap = 0;
		if (nrefs && bsearch(&key, refs, nrefs, sizeof(*refs), cmp_id)) {
			p.chunks_kept++;
			continue;
		}
		p.chunks_deleted++;
		if (dry_run)
			continue;
		hex_encode(hex, have[i], 32);
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
