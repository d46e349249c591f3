/*
 * backup/repo.c - a repository handle: the key file and the keys derived
 * from it, the config object, create/open/close (on any target, or on a
 * local directory).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zstd.h>

#define CONFIG_MAX 4096
#define KEYFILE_MAX 4096

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
	if (rc == NC_SECRET_NOT_FILE) {
		nc_err_set(err, "key file %s: not a regular file (a directory, a FIFO or a device)", path);
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
	if (e - b == 64 && nc_bk_hex_decode(out, data + b, 32) == 0) {
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

	nc_bk_hmac256(r->enc_key, master, enc_label, sizeof(enc_label) - 1);
	nc_bk_hmac256(r->id_key, master, id_label, sizeof(id_label) - 1);
	nc_bk_hmac256(check, master, check_label, sizeof(check_label) - 1);
	nc_bk_hex_encode(check_hex, check, 32);
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
