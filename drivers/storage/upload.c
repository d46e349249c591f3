/*
 * storage/upload.c - putting the bytes of a local file into a new volume of
 * a pool (storage.h nc_vol_upload): base images (Image kind) and anything
 * else made here that a host must hold (cloud-init seeds).
 *
 * dir pools go through the host's own libvirt: the volume is created as a
 * sparse raw file of the file's length (virStorageVolCreateXML), then
 * filled by a stream (virStreamNew, virStorageVolUpload with
 * VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM, virStreamSparseSendAll): the data
 * sections of the file are read with pread in 1 MiB pieces, its holes
 * (SEEK_DATA/SEEK_HOLE) are sent as holes.  The daemon writes the file
 * with its own permissions and probes its format (qcow2 or raw) when the
 * pool is refreshed.  Afterwards the volume must hold exactly len bytes.
 * Simulated hosts (the test driver has no upload) record the volume only.
 * rbd pools: rbd.c.
 *
 * The SHA-256 of the bytes sent is computed on the way when the caller
 * asks (nc_vol_upload_verified), with OpenSSL's EVP interface.
 */
#include "storage.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../spec/util.h"

#define PIECE (1U << 20)

struct nc_upload_hash {
	EVP_MD_CTX *ctx;
};

void nc_upload_hash_update(struct nc_upload_hash *h, const void *buf, size_t len)
{
	if (h && len)
		EVP_DigestUpdate(h->ctx, buf, len);
}

/* the hash of n zero bytes (a hole) */
static void hash_zeros(struct nc_upload_hash *h, uint64_t n)
{
	static const unsigned char zeros[65536];

	while (h && n) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);

		EVP_DigestUpdate(h->ctx, zeros, k);
		n -= k;
	}
}

static int lv_fail(struct nc_err *err, const char *vol, const char *what)
{
	const char *m = virGetLastErrorMessage();

	nc_err_set(err, "volume %s: %s: %s", vol, what, m && *m ? m : "unknown libvirt error");
	return -1;
}

static bool format_ok(const char *format)
{
	return !format || strcmp(format, "raw") == 0 || strcmp(format, "qcow2") == 0;
}

/* <volume type='file'><name/><capacity unit='bytes'/><allocation>0</allocation><target><format/></target></volume> */
static char *upload_vol_xml(const char *vol, uint64_t len, const char *format)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "volume"), n;
	xmlChar *mem = NULL;
	char num[32], *out;
	int size = 0;

	xmlDocSetRootElement(doc, root);
	xmlSetProp(root, BAD_CAST "type", BAD_CAST "file");
	xmlNewTextChild(root, NULL, BAD_CAST "name", BAD_CAST vol);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)len);
	n = xmlNewChild(root, NULL, BAD_CAST "capacity", BAD_CAST num);
	xmlSetProp(n, BAD_CAST "unit", BAD_CAST "bytes");
	n = xmlNewChild(root, NULL, BAD_CAST "allocation", BAD_CAST "0");
	xmlSetProp(n, BAD_CAST "unit", BAD_CAST "bytes");
	n = xmlNewChild(root, NULL, BAD_CAST "target", NULL);
	n = xmlNewChild(n, NULL, BAD_CAST "format", NULL);
	xmlSetProp(n, BAD_CAST "type", BAD_CAST format);
	xmlDocDumpFormatMemory(doc, &mem, &size, 1);
	out = nc_xstrndup((const char *)mem, (size_t)size);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return out;
}

/* ---- the stream's callbacks: fd from 0 to len, holes as holes ---- */
struct src {
	int fd;
	uint64_t pos, len;
	struct nc_upload_hash *hash;
	int err;                 /* errno of a failed read, or EIO for a short file */
	bool no_seek_data;       /* the file system has no SEEK_DATA: all data */
};

static int src_read(virStreamPtr st, char *data, size_t nbytes, void *opaque)
{
	struct src *s = opaque;
	ssize_t n;

	(void)st;
	if (s->pos >= s->len)
		return 0;
	if (nbytes > s->len - s->pos)
		nbytes = (size_t)(s->len - s->pos);
	if (nbytes > PIECE)
		nbytes = PIECE;
	do
		n = pread(s->fd, data, nbytes, (off_t)s->pos);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		s->err = n < 0 ? errno : EIO;   /* 0: the file is shorter than len */
		return -1;
	}
	nc_upload_hash_update(s->hash, data, (size_t)n);
	s->pos += (uint64_t)n;
	return (int)n;
}

static int src_hole(virStreamPtr st, int *in_data, long long *length, void *opaque)
{
	struct src *s = opaque;
	off_t data, hole;

	(void)st;
	if (s->pos >= s->len) {
		*in_data = 0;
		*length = 0;
		return 0;
	}
	if (!s->no_seek_data) {
		data = lseek(s->fd, (off_t)s->pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO) {
			/* a hole up to the end of the file */
			*in_data = 0;
			*length = (long long)(s->len - s->pos);
			return 0;
		}
		if (data < 0) {
			s->no_seek_data = true;
		} else if ((uint64_t)data > s->pos) {
			*in_data = 0;
			*length = (long long)(((uint64_t)data < s->len ? (uint64_t)data : s->len) - s->pos);
			return 0;
		} else {
			hole = lseek(s->fd, (off_t)s->pos, SEEK_HOLE);
			if (hole < 0) {
				s->no_seek_data = true;
			} else {
				*in_data = 1;
				*length = (long long)(((uint64_t)hole < s->len ? (uint64_t)hole : s->len) - s->pos);
				if (*length > 0)
					return 0;
			}
		}
	}
	*in_data = 1;
	*length = (long long)(s->len - s->pos);
	return 0;
}

static int src_skip(virStreamPtr st, long long length, void *opaque)
{
	struct src *s = opaque;

	(void)st;
	if (length < 0 || (uint64_t)length > s->len - s->pos) {
		s->err = EINVAL;
		return -1;
	}
	hash_zeros(s->hash, (uint64_t)length);
	s->pos += (uint64_t)length;
	return 0;
}

/* the volume's file size (VIR_STORAGE_VOL_GET_PHYSICAL) */
static int physical_size(virStorageVolPtr v, uint64_t *out)
{
	virStorageVolInfo info;

	if (virStorageVolGetInfoFlags(v, &info, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
		return -1;
	*out = info.allocation;   /* with GET_PHYSICAL: the physical size */
	return 0;
}

int nc_storage_dir_upload(struct nc_host_conn *host, const struct nc_pool_def *pool, const char *vol,
			  const char *format, int fd, uint64_t len, struct nc_upload_hash *hash,
			  struct nc_err *err)
{
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	virStreamPtr st = NULL;
	struct src s = { .fd = fd, .len = len, .hash = hash };
	bool sim = nc_libvirt_is_sim(host), made = false;
	char *xml = NULL;
	uint64_t phys = 0;
	int ret = -1;

	if (nc_storage_dir_pool(host, pool, vol, true, &p, err) < 0)
		return -1;
	v = virStorageVolLookupByName(p, vol);
	if (v) {
		nc_err_set(err, "volume %s: already exists in storage pool %s", vol, pool->name);
		goto out;
	}
	if (virGetLastErrorCode() != VIR_ERR_NO_STORAGE_VOL) {
		lv_fail(err, vol, "cannot look up the volume");
		goto out;
	}
	/* a real daemon gets raw bytes and probes them; a simulated one keeps what it is told */
	xml = upload_vol_xml(vol, len, sim ? format : "raw");
	v = virStorageVolCreateXML(p, xml, 0);
	if (!v) {
		lv_fail(err, vol, "cannot create the volume");
		goto out;
	}
	made = true;
	if (sim) {
		/* no bytes to keep: read them anyway when they are hashed */
		if (hash) {
			char *buf = nc_xmalloc(PIECE);

			while (s.pos < s.len && src_read(NULL, buf, PIECE, &s) > 0)
				;
			free(buf);
			if (s.err) {
				nc_err_set(err, "volume %s: cannot read the image: %s", vol, strerror(s.err));
				goto out;
			}
		}
		ret = 0;
		goto out;
	}
	st = virStreamNew(virStorageVolGetConnect(v), 0);
	if (!st) {
		lv_fail(err, vol, "cannot open a stream");
		goto out;
	}
	if (virStorageVolUpload(v, st, 0, len, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0) {
		lv_fail(err, vol, "cannot start the upload");
		goto out;
	}
	if (virStreamSparseSendAll(st, src_read, src_hole, src_skip, &s) < 0) {
		if (s.err)
			nc_err_set(err, "volume %s: cannot read the image: %s", vol,
				   s.err == EIO ? "the file is shorter than its declared length" : strerror(s.err));
		else
			lv_fail(err, vol, "upload failed");
		virStreamAbort(st);
		goto out;
	}
	if (virStreamFinish(st) < 0) {
		lv_fail(err, vol, "upload failed");
		goto out;
	}
	if (s.pos != len) {
		nc_err_set(err, "volume %s: sent %llu of %llu bytes", vol, (unsigned long long)s.pos,
			   (unsigned long long)len);
		goto out;
	}
	/* the daemon's view: the file holds exactly what was sent */
	if (physical_size(v, &phys) < 0) {
		lv_fail(err, vol, "cannot read the uploaded volume's size");
		goto out;
	}
	if (phys != len) {
		nc_err_set(err, "volume %s: holds %llu bytes after the upload, not %llu", vol,
			   (unsigned long long)phys, (unsigned long long)len);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0 && made && v && virStorageVolDelete(v, 0) < 0)
		virResetLastError();     /* the first error is the one to report */
	if (st)
		virStreamFree(st);
	if (v)
		virStorageVolFree(v);
	if (p) {
		/* the format the daemon probes shows once the pool is refreshed */
		if (ret == 0 && !sim)
			virStoragePoolRefresh(p, 0);
		virStoragePoolFree(p);
	}
	free(xml);
	return ret;
}

/* ---- the calls of storage.h ---- */

static int upload(struct nc_host_conn *host, const struct nc_pool_def *pd, const char *vol,
		  const char *format, int fd, uint64_t len, const char *sha256, struct nc_err *err)
{
	const struct nc_storage_backend *b = NULL;
	struct nc_upload_hash h = { NULL };
	const struct nc_storage_backend *const all[] = { &nc_storage_dir, &nc_storage_rbd };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	struct stat st;
	int ret;

	for (i = 0; i < NC_ARRAY_SIZE(all); i++)
		if (pd && pd->type && strcmp(pd->type, all[i]->type) == 0)
			b = all[i];
	if (!b) {
		nc_err_set(err, "storage pool %s: unknown type '%s' (expected dir or rbd)",
			   pd && pd->name ? pd->name : "?", pd && pd->type ? pd->type : "");
		return -1;
	}
	if (!format_ok(format)) {
		nc_err_set(err, "volume %s: format '%s' is not qcow2 or raw", vol, format);
		return -1;
	}
	if (len == 0) {
		nc_err_set(err, "volume %s: the image is empty", vol);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < len) {
		nc_err_set(err, "volume %s: the image to upload is not a regular file of at least %llu bytes",
			   vol, (unsigned long long)len);
		return -1;
	}
	if (sha256 && strlen(sha256) != 64) {
		nc_err_set(err, "volume %s: a sha256 has 64 hex digits", vol);
		return -1;
	}
	if (nc_driver_fault("vol-upload", err) < 0)
		return -1;
	if (sha256) {
		h.ctx = EVP_MD_CTX_new();
		if (!h.ctx || EVP_DigestInit_ex(h.ctx, EVP_sha256(), NULL) != 1)
			abort();
	}
	ret = b->upload(host, pd, vol, format ? format : "raw", fd, len, sha256 ? &h : NULL, err);
	if (ret == 0 && sha256) {
		EVP_DigestFinal_ex(h.ctx, md, &mdlen);
		for (i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		if (strcasecmp(hex, sha256) != 0) {
			struct nc_err e2;

			nc_err_set(err, "volume %s: the bytes sent have sha256 %s, not the %s expected; "
					"the volume was deleted", vol, hex, sha256);
			(void)b->remove(host, pd, vol, &e2);
			ret = -1;
		}
	}
	if (h.ctx)
		EVP_MD_CTX_free(h.ctx);
	return ret;
}

int nc_vol_upload(struct nc_host_conn *conn, const struct nc_pool_def *pd, const char *vol,
		  const char *format, int fd, uint64_t len, struct nc_err *err)
{
	return upload(conn, pd, vol, format, fd, len, NULL, err);
}

int nc_vol_upload_verified(struct nc_host_conn *conn, const struct nc_pool_def *pd, const char *vol,
			   const char *format, int fd, uint64_t len, const char *sha256, struct nc_err *err)
{
	if (!sha256) {
		nc_err_set(err, "volume %s: no sha256 to verify", vol);
		return -1;
	}
	return upload(conn, pd, vol, format, fd, len, sha256, err);
}
