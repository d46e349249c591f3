/*
 * diskio.c - reading a VM's disks at one consistent point (backup) and
 * writing disk images (restore); the API is documented in diskio.h.
 *
 * Design
 *
 *   One reader per disk, behind the same three calls (read, zeros,
 *   changed): an NBD connection (libnbd) or an open rbd image (librbd).
 *
 *   Running (or paused) domain on a real libvirt host: one pull-mode
 *   backup job for all disks, begun with one virDomainBackupBegin that
 *   also creates the checkpoint "nc-<unix seconds>-<n>" (n counts up until
 *   the name is free).  libvirt makes QEMU export every disk's view at
 *   that instant on an NBD server listening on a unix socket in
 *   scratch_dir, export name = disk target; writes the guest makes after
 *   it are copied-before-write into a qcow2 scratch file per disk (also in
 *   scratch_dir; libvirt creates and removes it).  Checkpoints carry
 *   dirty bitmaps, which only qcow2 disks can hold: qcow2 disks are in the
 *   checkpoint (checkpoint='bitmap'), every other disk (raw, rbd) is not
 *   (checkpoint='no') and is always backed up whole (backupmode='full').
 *   When since_checkpoint still exists on the domain, the qcow2 disks are
 *   backed up incrementally from it: libvirt exposes the bitmap of the
 *   changes since then as NBD meta context
 *   "qemu:dirty-bitmap:backup-<target>", which is read once over the whole
 *   disk into nc_snap_disk.changed (merged, sorted).  The data read is
 *   always the full point-in-time view; "changed" only says what a reader
 *   needs to read.  With quiesce, virDomainFSFreeze before the job begins
 *   and virDomainFSThaw as soon as it has begun (the point is taken at
 *   begin); without a guest agent the backup goes on with quiesced=false.
 *
 *   Shut-off domain (and every domain of a simulated host, whose disks
 *   are just the files its XML names): the disks of the inactive XML as
 *   they are: files through a read-only qemu-nbd that libnbd starts with
 *   socket activation (so it dies with the connection, and qcow2 backing
 *   chains are followed), rbd images through librbd opened read-only.
 *   quiesced=true, live=false, never incremental.
 *
 *   Zeros come from NBD "base:allocation" (NBD_STATE_ZERO); for rbd from
 *   rbd_diff_iterate2 (whole objects): the ranges no object covers.
 *
 *   nc_disk_snap_end: closes the NBD connections, ends the pull job with
 *   virDomainAbortJob (the normal way to end a pull backup), then keeps the
 *   new checkpoint and deletes every older "nc-" checkpoint of the domain
 *   (flags 0: QEMU drops their bitmaps; the new checkpoint's own bitmap
 *   stays), or, on failure, deletes the new checkpoint so that the next
 *   backup is full.  The socket and scratch files are removed.
 *
 *   Writer: files through a read-write qemu-nbd started by libnbd (nbd_zero
 *   when the server can, otherwise zeros are written), rbd images through
 *   librbd (rbd_write2, rbd_write_zeroes).  Close flushes, then closes
 *   (and for files waits for qemu-nbd to exit, so the image is closed).
 */
#include "diskio.h"

#include <errno.h>
#include <libnbd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <dirent.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <signal.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../spec/util.h"
#include "storage.h"

#define IO_MAX (32u << 20)           /* largest NBD request */
#define BS_MAX (1ull << 30)          /* largest block-status request */
#define CKPT_PREFIX "nc-"

/* ---- small helpers ---- */

static int lv_fail(struct nc_err *err, const char *what)
{
	const char *m = virGetLastErrorMessage();

	nc_err_set(err, "%s: %s", what, m && *m ? m : "unknown libvirt error");
	return -1;
}

static int nbd_fail(struct nc_err *err, const char *what)
{
	const char *m = nbd_get_error();

	nc_err_set(err, "%s: %s", what, m && *m ? m : "unknown NBD error");
	return -1;
}

struct extents {
	struct nc_backup_extent *v;
	size_t n, cap;
};

/* appends [off, off+len), merging with the last extent when they touch */
static void ext_add(struct extents *e, uint64_t off, uint64_t len)
{
	if (!len)
		return;
	if (e->n && e->v[e->n - 1].offset + e->v[e->n - 1].length >= off) {
		uint64_t end = off + len, last = e->v[e->n - 1].offset + e->v[e->n - 1].length;

		if (end > last)
			e->v[e->n - 1].length = end - e->v[e->n - 1].offset;
		return;
	}
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 16;
		e->v = nc_xreallocarray(e->v, e->cap, sizeof(*e->v));
	}
	e->v[e->n].offset = off;
	e->v[e->n].length = len;
	e->n++;
}

/* ---- rbd ---- */

struct rbd_handle {
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t img;
	bool connected, has_io, open;
};

static void rbdh_close(struct rbd_handle *r)
{
	if (r->open)
		rbd_close(r->img);
	if (r->has_io)
		rados_ioctx_destroy(r->io);
	if (r->connected)
		rados_shutdown(r->cluster);
	memset(r, 0, sizeof(*r));
}

/* spec: "pool/image" */
static int rbdh_open(struct rbd_handle *r, const char *spec, bool read_only, const char *ceph_conf,
	const char *ceph_user, const char *key_file, struct nc_err *err)
{
	const char *slash = strchr(spec, '/');
	char *pool = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!slash || slash == spec || !slash[1]) {
		nc_err_set(err, "rbd image %s: want pool/image", spec);
		return -1;
	}
	pool = nc_xstrndup(spec, (size_t)(slash - spec));
	if ((rc = rados_create(&r->cluster, ceph_user ? ceph_user : "admin")) < 0) {
		nc_err_set(err, "rbd image %s: %s", spec, strerror(-rc));
		goto fail;
	}
	r->connected = true;   /* rados_shutdown also frees a handle that never connected */
	if ((rc = rados_conf_read_file(r->cluster, ceph_conf)) >= 0 && key_file) {
		/* the pool's cephx key (rbd.keyFile): it wins over the keyring ceph.conf names */
		char *b64 = NULL;
		unsigned char *raw = NULL;
		size_t len = 0;

		if (nc_ceph_key_load(key_file, ceph_user, &b64, &raw, &len, err) < 0)
			goto fail;
		rc = rados_conf_set(r->cluster, "key", b64);
		nc_ceph_key_free(b64, raw, len);
	}
	if (rc < 0 ||
	    (rc = rados_conf_set(r->cluster, "client_mount_timeout", "10")) < 0 ||
	    (rc = rados_connect(r->cluster)) < 0) {
		nc_err_set(err, "rbd image %s: cannot connect with %s: %s", spec,
			   ceph_conf ? ceph_conf : "/etc/ceph/ceph.conf", strerror(-rc));
		goto fail;
	}
	if ((rc = rados_ioctx_create(r->cluster, pool, &r->io)) < 0) {
		nc_err_set(err, "rbd image %s: pool %s: %s", spec, pool, strerror(-rc));
		goto fail;
	}
	r->has_io = true;
	rc = read_only ? rbd_open_read_only(r->io, slash + 1, &r->img, NULL)
		       : rbd_open(r->io, slash + 1, &r->img, NULL);
	if (rc < 0) {
		nc_err_set(err, "rbd image %s: %s", spec, strerror(-rc));
		goto fail;
	}
	r->open = true;
	free(pool);
	return 0;
fail:
	free(pool);
	rbdh_close(r);
	return -1;
}

/* ---- qemu-nbd through libnbd ---- */

/*
 * Starts qemu-nbd on path with socket activation.  A path is given as
 * "./x" when relative, so that QEMU never takes "a:b" for a protocol.
 */
static struct nbd_handle *qemu_nbd_open(const char *path, const char *format, bool read_only,
	const char *snapshot, bool share, struct nc_err *err)
{
	struct nbd_handle *h = nbd_create();
	char *fmt = nc_xasprintf("--format=%s", format && *format ? format : "raw");
	char *p = path[0] == '/' ? nc_xstrdup(path) : nc_xasprintf("./%s", path);
	char *snap = snapshot ? nc_xasprintf("--load-snapshot=snapshot.name=%s", snapshot) : NULL;
	char *argv[10];
	int n = 0;

	if (!h) {
		nbd_fail(err, "cannot create an NBD handle");
		goto out;
	}
	argv[n++] = (char *)"qemu-nbd";
	if (read_only)
		argv[n++] = (char *)"--read-only";
	/* qemu-nbd 7.2 has no --force-share: the image's file is opened without locking instead
	 * (--image-opts, the path's commas doubled as QEMU's option syntax wants) */
	if (share && read_only) {
		struct nc_buf b = NC_BUF_INIT;
		const char *c;

		nc_buf_addf(&b, "driver=%s,file.driver=file,file.locking=off,file.filename=",
			    format && *format ? format : "raw");
		for (c = p; *c; c++)
			nc_buf_addf(&b, *c == ',' ? ",," : "%c", *c);
		free(p);
		p = nc_buf_detach(&b, NULL);
		argv[n++] = (char *)"--image-opts";
	} else {
		argv[n++] = fmt;
	}
	argv[n++] = (char *)"--cache=writeback";
	if (!read_only)
		argv[n++] = (char *)"--discard=unmap";
	/* an internal snapshot of a qcow2 image, read-only; a running QEMU holds the image's
	 * write lock (share: not taken), and the snapshot's clusters are never written (copy on write) */
	if (snap && read_only)
		argv[n++] = snap;
	argv[n++] = p;
	argv[n] = NULL;
	if (nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) < 0 ||
	    nbd_connect_systemd_socket_activation(h, argv) < 0) {
		char *what = nc_xasprintf("qemu-nbd %s", path);

		nbd_fail(err, what);
		free(what);
		nbd_close(h);
		h = NULL;
	}
out:
	free(fmt);
	free(p);
	free(snap);
	return h;
}

/*
 * A large read as several NBD requests of AIO_REQ bytes, up to AIO_MAX of
 * them in flight at once (libnbd's asynchronous API), so that the server
 * works on the next while the last is on the wire; a read of at most
 * AIO_REQ is one synchronous request.  Returns only once no request is in
 * flight (buf is the caller's).
 */
#define AIO_REQ (1u << 20)
#define AIO_MAX 8u

struct aio_state {
	unsigned inflight;
	int error;                   /* errno of the first failed request */
};

static int aio_done(void *user_data, int *error)
{
	struct aio_state *a = user_data;

	if (*error && !a->error)
		a->error = *error;
	a->inflight--;
	return 1;                    /* retire the command */
}

/* v[0..n): the reads, in order, each split into requests of AIO_REQ at most */
static int nbd_read_list(struct nbd_handle *h, const struct nc_backup_read *v, size_t n,
	struct nc_err *err)
{
	struct aio_state a = { 0, 0 };
	size_t k = 0, done = 0;      /* next request: v[k] from done */
	bool failed = false;
	int poll_errors = 0;

	if (n == 1 && v[0].len <= AIO_REQ) {
		if (nbd_pread(h, v[0].buf, v[0].len, v[0].offset, 0) < 0) {
			char *what = nc_xasprintf("NBD read of %zu bytes at %llu", v[0].len,
						  (unsigned long long)v[0].offset);

			nbd_fail(err, what);
			free(what);
			return -1;
		}
		return 0;
	}
	while ((k < n && !failed && !a.error) || a.inflight) {
		while (k < n && !failed && !a.error && a.inflight < AIO_MAX) {
			size_t len = v[k].len - done, m = len > AIO_REQ ? AIO_REQ : len;
			nbd_completion_callback cb = { .callback = aio_done, .user_data = &a };

			if (m && nbd_aio_pread(h, (unsigned char *)v[k].buf + done, m, v[k].offset + done,
					       cb, 0) < 0) {
				char *what = nc_xasprintf("NBD read at %llu",
							  (unsigned long long)(v[k].offset + done));

				nbd_fail(err, what);
				free(what);
				failed = true;
				break;
			}
			if (m)
				a.inflight++;
			done += m;
			if (done == v[k].len) {
				k++;
				done = 0;
			}
		}
		if (!a.inflight)
			break;
		if (nbd_poll(h, -1) < 0) {
			if (!failed && !a.error)
				nbd_fail(err, "NBD read");
			failed = true;
			/* dead: libnbd completed (failed) every request still in flight; otherwise
			 * poll on until they complete (they write into the buffers), but not forever */
			if (nbd_aio_is_dead(h) || nbd_aio_is_closed(h) || ++poll_errors > 100)
				break;
		}
	}
	if (a.error && !failed) {
		const char *m = nbd_get_error();
		uint64_t total = 0;
		size_t j;

		for (j = 0; j < n; j++)
			total += v[j].len;
		nc_err_set(err, "NBD read of %llu bytes at %llu: %s", (unsigned long long)total,
			   (unsigned long long)v[0].offset, m && *m ? m : strerror(a.error));
		failed = true;
	}
	return failed ? -1 : 0;
}

static int nbd_read_all(struct nbd_handle *h, uint64_t off, void *buf, size_t len, struct nc_err *err)
{
	struct nc_backup_read r = { off, buf, len };

	return nbd_read_list(h, &r, 1, err);
}

/*
 * Extents of one meta context over [off, off+len) whose flags have any bit
 * of mask set, appended to e.  Block status may answer for less than asked;
 * the loop goes on from where the answer ended.
 */
struct bs_ctx {
	const char *context;
	uint32_t mask;
	uint64_t end;                /* of the request */
	uint64_t upto;               /* answered up to */
	struct extents *e;
};

static int bs_cb(void *opaque, const char *metacontext, uint64_t offset, uint32_t *entries,
	size_t nr_entries, int *error)
{
	struct bs_ctx *c = opaque;
	size_t i;

	(void)error;
	if (strcmp(metacontext, c->context) != 0)
		return 0;
	for (i = 0; i + 1 < nr_entries && offset < c->end; i += 2) {
		uint64_t len = entries[i];

		if (offset + len > c->end)
			len = c->end - offset;
		if (entries[i + 1] & c->mask)
			ext_add(c->e, offset, len);
		offset += len;
	}
	if (offset > c->upto)
		c->upto = offset;
	return 0;
}

static int nbd_extents(struct nbd_handle *h, const char *context, uint32_t mask, uint64_t off,
	uint64_t len, struct extents *e, struct nc_err *err)
{
	uint64_t end = off + len;

	while (off < end) {
		uint64_t n = end - off > BS_MAX ? BS_MAX : end - off;
		struct bs_ctx c = { context, mask, off + n, off, e };
		nbd_extent_callback cb = { .callback = bs_cb, .user_data = &c };

		if (nbd_block_status(h, n, off, cb, 0) < 0)
			return nbd_fail(err, "NBD block status");
		if (c.upto <= off) {
			nc_err_set(err, "NBD block status: no answer for context %s at %llu", context,
				   (unsigned long long)off);
			return -1;
		}
		off = c.upto;
	}
	return 0;
}

/* ---- snapshots ---- */

struct disk_priv {
	struct nbd_handle *nbd;
	struct rbd_handle rbd;
	bool is_rbd;
	char *scratch;               /* live only */
};

struct snap_priv {
	virDomainPtr dom;
	bool job;                    /* the pull backup job is running */
	char *sock;
	struct disk_priv *d;
};

static void snap_free(struct nc_disk_snap *s)
{
	struct snap_priv *p;
	size_t i;

	if (!s)
		return;
	p = s->priv;
	for (i = 0; i < s->ndisks; i++) {
		struct nc_snap_disk *k = &s->disks[i];

		if (p) {
			if (p->d[i].nbd) {
				nbd_shutdown(p->d[i].nbd, 0);
				nbd_close(p->d[i].nbd);
			}
			rbdh_close(&p->d[i].rbd);
			if (p->d[i].scratch)
				unlink(p->d[i].scratch);
			free(p->d[i].scratch);
		}
		free(k->target);
		free(k->source);
		free(k->format);
		free(k->changed);
	}
	if (p) {
		if (p->sock)
			unlink(p->sock);
		free(p->sock);
		if (p->dom)
			virDomainFree(p->dom);
		free(p->d);
		free(p);
	}
	free(s->disks);
	free(s->domain);
	free(s->checkpoint);
	free(s->since);
	free(s);
}

/* fills s->disks (target, source, format) and p->d from parsed disks */
static void snap_disks_from(struct nc_disk_snap *s, struct snap_priv *p, const struct nc_domain *d)
{
	size_t i;

	s->disks = nc_xcalloc(d->ndisks ? d->ndisks : 1, sizeof(*s->disks));
	p->d = nc_xcalloc(d->ndisks ? d->ndisks : 1, sizeof(*p->d));
	for (i = 0; i < d->ndisks; i++) {
		const struct nc_dom_disk *k = &d->disks[i];

		s->disks[i].target = nc_xstrdup(k->target ? k->target : "");
		s->disks[i].source = k->source ? nc_xstrdup(k->source) : NULL;
		s->disks[i].format = nc_xstrdup(k->format ? k->format : "raw");
		p->d[i].is_rbd = k->type && strcmp(k->type, "network") == 0;
	}
	s->ndisks = d->ndisks;
}

static int dom_xml(struct nc_domain *out, virDomainPtr dom, unsigned flags, const char *name,
	struct nc_err *err)
{
	char *xml = virDomainGetXMLDesc(dom, flags);
	int rc;

	if (!xml) {
		char *what = nc_xasprintf("cannot read the XML of VM %s", name);

		rc = lv_fail(err, what);
		free(what);
		return rc;
	}
	rc = nc_domxml_parse(out, xml, err);
	free(xml);
	return rc;
}

/* shut-off domains and simulated hosts: each disk as it is */
static int snap_offline(struct nc_disk_snap *s, struct snap_priv *p, bool sim,
	const struct nc_disk_snap_opts *o, struct nc_err *err)
{
	size_t i;

	for (i = 0; i < s->ndisks; i++) {
		struct nc_snap_disk *k = &s->disks[i];
		struct disk_priv *d = &p->d[i];
		struct stat st;
		int64_t size;

		if (!k->source || !*k->source) {
			nc_err_set(err, "disk %s of VM %s has no source", k->target, s->domain);
			return -1;
		}
		if (d->is_rbd) {
			if (sim) {
				nc_err_set(err, "disk %s of VM %s: rbd image %s (simulated hosts have no disk data)",
					   k->target, s->domain, k->source);
				return -1;
			}
			if (rbdh_open(&d->rbd, k->source, true, o->ceph_conf, o->ceph_user, o->ceph_key_file, err) < 0 ||
			    rbd_get_size(d->rbd.img, &k->size) < 0) {
				if (d->rbd.open)
					nc_err_set(err, "rbd image %s: cannot get its size", k->source);
				return -1;
			}
			continue;
		}
		if (stat(k->source, &st) != 0) {
			nc_err_set(err, "disk %s of VM %s: %s %s%s", k->target, s->domain, k->source,
				   errno == ENOENT ? "does not exist" : strerror(errno),
				   sim ? " (simulated hosts have no disk data)" : "");
			return -1;
		}
		if (!(d->nbd = qemu_nbd_open(k->source, k->format, true, o->snapshot, o->snapshot != NULL, err)))
			return -1;
		if ((size = nbd_get_size(d->nbd)) < 0)
			return nbd_fail(err, "NBD export size");
		k->size = (uint64_t)size;
	}
	s->quiesced = true;
	return 0;
}

static bool ckpt_exists(virDomainPtr dom, const char *name)
{
	virDomainCheckpointPtr c = virDomainCheckpointLookupByName(dom, name, 0);

	if (!c)
		return false;
	virDomainCheckpointFree(c);
	return true;
}

static bool is_qcow2(const struct nc_snap_disk *k, const struct disk_priv *d)
{
	return !d->is_rbd && strcmp(k->format, "qcow2") == 0;
}

/* <domaincheckpoint> and <domainbackup mode='pull'> documents */
static void backup_xml(char **out_ckpt, char **out_backup, const struct nc_disk_snap *s,
	const struct snap_priv *p)
{
	xmlDocPtr cdoc = xmlNewDoc(BAD_CAST "1.0"), bdoc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr c = xmlNewNode(NULL, BAD_CAST "domaincheckpoint");
	xmlNodePtr b = xmlNewNode(NULL, BAD_CAST "domainbackup");
	xmlNodePtr cdisks, bdisks, n;
	xmlChar *mem;
	int len;
	size_t i;

	xmlDocSetRootElement(cdoc, c);
	xmlDocSetRootElement(bdoc, b);
	xmlNewTextChild(c, NULL, BAD_CAST "name", BAD_CAST s->checkpoint);
	cdisks = xmlNewChild(c, NULL, BAD_CAST "disks", NULL);
	xmlNewProp(b, BAD_CAST "mode", BAD_CAST "pull");
	if (s->since)
		xmlNewTextChild(b, NULL, BAD_CAST "incremental", BAD_CAST s->since);
	n = xmlNewChild(b, NULL, BAD_CAST "server", NULL);
	xmlNewProp(n, BAD_CAST "transport", BAD_CAST "unix");
	xmlNewProp(n, BAD_CAST "socket", BAD_CAST p->sock);
	bdisks = xmlNewChild(b, NULL, BAD_CAST "disks", NULL);
	for (i = 0; i < s->ndisks; i++) {
		const struct nc_snap_disk *k = &s->disks[i];
		bool bitmap = is_qcow2(k, &p->d[i]);

		n = xmlNewChild(cdisks, NULL, BAD_CAST "disk", NULL);
		xmlNewProp(n, BAD_CAST "name", BAD_CAST k->target);
		xmlNewProp(n, BAD_CAST "checkpoint", BAD_CAST(bitmap ? "bitmap" : "no"));

		n = xmlNewChild(bdisks, NULL, BAD_CAST "disk", NULL);
		xmlNewProp(n, BAD_CAST "name", BAD_CAST k->target);
		xmlNewProp(n, BAD_CAST "backup", BAD_CAST "yes");
		xmlNewProp(n, BAD_CAST "type", BAD_CAST "file");
		if (s->since) {
			xmlNewProp(n, BAD_CAST "backupmode", BAD_CAST(bitmap ? "incremental" : "full"));
			if (bitmap)
				xmlNewProp(n, BAD_CAST "incremental", BAD_CAST s->since);
		}
		xmlNewProp(xmlNewChild(n, NULL, BAD_CAST "driver", NULL), BAD_CAST "type", BAD_CAST "qcow2");
		xmlNewProp(xmlNewChild(n, NULL, BAD_CAST "scratch", NULL), BAD_CAST "file",
			   BAD_CAST p->d[i].scratch);
	}
	xmlDocDumpMemory(cdoc, &mem, &len);
	*out_ckpt = nc_xstrndup((const char *)mem, (size_t)len);
	xmlFree(mem);
	xmlDocDumpMemory(bdoc, &mem, &len);
	*out_backup = nc_xstrndup((const char *)mem, (size_t)len);
	xmlFree(mem);
	xmlFreeDoc(cdoc);
	xmlFreeDoc(bdoc);
}

/*
 * A pull-mode backup job outlives the client that began it: a NovaCron
 * killed midway leaves the job (and its NBD export) running, and every later
 * backup, block resize or migration of the domain fails.  The job is
 * NovaCron's when its socket lies in a scratch directory with an owner.pid
 * (reconciler/backups.c writes it); when that process is gone, the job is
 * aborted and the directory cleaned.  A live owner means a concurrent backup
 * of the same VM: refused.  Someone else's backup job is left alone.
 */
static int abort_stale_backup(virDomainPtr dom, const char *domain, struct nc_err *err)
{
	char *xml = virDomainBackupGetXMLDesc(dom, 0), *dir = NULL, *pidfile = NULL, *slash;
	xmlDocPtr doc;
	xmlNodePtr n;
	xmlChar *sock = NULL;
	long pid = 0;
	FILE *f;
	int rc = 0, tries;

	if (!xml) {
		virResetLastError();
		return 0;       /* no backup job */
	}
	doc = xmlReadMemory(xml, (int)strlen(xml), "backup.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(xml);
	for (n = doc ? xmlDocGetRootElement(doc)->children : NULL; n && !sock; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "server") == 0)
			sock = xmlGetProp(n, BAD_CAST "socket");
	if (sock && (slash = strrchr((char *)sock, '/'))) {
		dir = nc_xstrndup((char *)sock, (size_t)(slash - (char *)sock));
		pidfile = nc_xasprintf("%s/owner.pid", dir);
		if ((f = fopen(pidfile, "r"))) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
	}
	if (!pid) {
		nc_err_set(err, "VM %s has a backup job NovaCron did not start: it must end first", domain);
		rc = -1;
	} else if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
		nc_err_set(err, "another backup of VM %s is running (pid %ld)", domain, pid);
		rc = -1;
	} else {
		/* the job of a backup that died: end it, then its leftovers */
		if (virDomainAbortJob(dom) < 0)
			virResetLastError();
		for (tries = 0; tries < 100; tries++) {
			char *x = virDomainBackupGetXMLDesc(dom, 0);

			if (!x) {
				virResetLastError();
				break;
			}
			free(x);
			usleep(100000);
		}
		if (tries == 100) {
			nc_err_set(err, "VM %s: cannot end the backup job left by a backup that died (pid %ld)",
				   domain, pid);
			rc = -1;
		} else {
			DIR *d = opendir(dir);
			struct dirent *e;

			while (d && (e = readdir(d))) {
				char *path;

				if (e->d_name[0] == '.')
					continue;
				path = nc_xasprintf("%s/%s", dir, e->d_name);
				unlink(path);
				free(path);
			}
			if (d)
				closedir(d);
			rmdir(dir);
		}
	}
	xmlFree(sock);
	xmlFreeDoc(doc);
	free(dir);
	free(pidfile);
	return rc;
}

static int snap_live(struct nc_disk_snap *s, struct snap_priv *p, const struct nc_disk_snap_opts *o,
	struct nc_err *err)
{
	static unsigned seq;
	char *cxml = NULL, *bxml = NULL, *ctx = NULL;
	bool frozen = false;
	long now = (long)time(NULL);
	unsigned n;
	size_t i;
	int rc = -1;

	if (!o->scratch_dir || !*o->scratch_dir) {
		nc_err_set(err, "backup of running VM %s: no scratch directory", s->domain);
		return -1;
	}
	if (nc_mkdir_p(o->scratch_dir) != 0) {
		nc_err_set(err, "scratch directory %s: %s", o->scratch_dir, strerror(errno));
		return -1;
	}
	for (n = ++seq;; n = ++seq) {
		s->checkpoint = nc_xasprintf(CKPT_PREFIX "%ld-%u", now, n);
		if (!ckpt_exists(p->dom, s->checkpoint))
			break;
		free(s->checkpoint);
	}
	if (o->since_checkpoint && ckpt_exists(p->dom, o->since_checkpoint))
		s->since = nc_xstrdup(o->since_checkpoint);
	p->sock = nc_xasprintf("%s/%s.sock", o->scratch_dir, s->checkpoint);
	if (strlen(p->sock) >= 108) {
		nc_err_set(err, "scratch directory %s: path too long for a unix socket", o->scratch_dir);
		goto out;
	}
	unlink(p->sock);
	for (i = 0; i < s->ndisks; i++) {
		p->d[i].scratch = nc_xasprintf("%s/%s-%s.scratch.qcow2", o->scratch_dir, s->checkpoint,
					       s->disks[i].target);
		unlink(p->d[i].scratch);
	}
	backup_xml(&cxml, &bxml, s, p);

	if (abort_stale_backup(p->dom, s->domain, err) < 0)
		goto out;
	if (o->quiesce)
		frozen = virDomainFSFreeze(p->dom, NULL, 0, 0) >= 0;
	if (virDomainBackupBegin(p->dom, bxml, cxml, 0) < 0) {
		char *what = nc_xasprintf("cannot begin the backup of VM %s", s->domain);

		lv_fail(err, what);
		free(what);
		if (frozen)
			virDomainFSThaw(p->dom, NULL, 0, 0);
		goto out;
	}
	p->job = true;
	if (frozen && virDomainFSThaw(p->dom, NULL, 0, 0) < 0) {
		char *what = nc_xasprintf("cannot thaw the file systems of VM %s", s->domain);

		lv_fail(err, what);
		free(what);
		goto out;
	}
	s->quiesced = frozen;
	s->live = true;

	for (i = 0; i < s->ndisks; i++) {
		struct nc_snap_disk *k = &s->disks[i];
		struct disk_priv *d = &p->d[i];
		int64_t size;

		k->incremental = s->since && is_qcow2(k, d);
		free(ctx);
		ctx = nc_xasprintf("qemu:dirty-bitmap:backup-%s", k->target);
		if (!(d->nbd = nbd_create()) ||
		    nbd_set_export_name(d->nbd, k->target) < 0 ||
		    nbd_add_meta_context(d->nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) < 0 ||
		    (k->incremental && nbd_add_meta_context(d->nbd, ctx) < 0) ||
		    nbd_connect_unix(d->nbd, p->sock) < 0) {
			char *what = nc_xasprintf("disk %s of VM %s: NBD export", k->target, s->domain);

			nbd_fail(err, what);
			free(what);
			goto out;
		}
		if ((size = nbd_get_size(d->nbd)) < 0) {
			nbd_fail(err, "NBD export size");
			goto out;
		}
		k->size = (uint64_t)size;
		if (k->incremental) {
			struct extents e = { 0 };

			if (nbd_can_meta_context(d->nbd, ctx) != 1) {
				nc_err_set(err, "disk %s of VM %s: the NBD server has no %s", k->target,
					   s->domain, ctx);
				goto out;
			}
			if (nbd_extents(d->nbd, ctx, 1, 0, k->size, &e, err) < 0) {
				free(e.v);
				goto out;
			}
			k->changed = e.v;
			k->nchanged = e.n;
		}
	}
	rc = 0;
out:
	free(ctx);
	free(cxml);
	free(bxml);
	return rc;
}

/*
 * o->snapshot: the disks as they were in that internal snapshot of the domain
 * (docs/storage.md "Snapshots"): each a qcow2 file read through qemu-nbd
 * --load-snapshot (opened without file locking: a running QEMU holds the lock),
 * whatever the domain's state; never incremental, no checkpoint.  Quiesced
 * when the snapshot was taken of a shut-off guest (disks at rest).
 */
static int snap_from_snapshot(struct nc_disk_snap *s, struct snap_priv *p, struct nc_domain *d, bool sim,
	const struct nc_disk_snap_opts *o, struct nc_err *err)
{
	virDomainSnapshotPtr snap;
	char *xml = NULL;
	size_t i;
	int rc;

	for (i = 0; o->snapshot[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", o->snapshot[i]))
			break;
	if (!*o->snapshot || o->snapshot[i] || strlen(o->snapshot) > 128) {
		nc_err_set(err, "snapshot name '%s': only letters, digits, '.', '_' and '-' can be read", o->snapshot);
		return -1;
	}
	if (!(snap = virDomainSnapshotLookupByName(p->dom, o->snapshot, 0))) {
		char *what = nc_xasprintf("VM %s has no snapshot %s", s->domain, o->snapshot);

		lv_fail(err, what);
		free(what);
		return -1;
	}
	xml = virDomainSnapshotGetXMLDesc(snap, 0);
	virDomainSnapshotFree(snap);
	if (!xml)
		return lv_fail(err, "cannot read the snapshot's XML");
	if (strstr(xml, "snapshot='external'") || strstr(xml, "snapshot=\"external\"") ||
	    strstr(xml, "<state>disk-snapshot</state>")) {
		nc_err_set(err, "snapshot %s of VM %s is external: only internal (qcow2) snapshots are read",
			   o->snapshot, s->domain);
		free(xml);
		return -1;
	}
	s->quiesced = strstr(xml, "<state>shutoff</state>") != NULL;
	free(xml);
	if (dom_xml(d, p->dom, VIR_DOMAIN_XML_INACTIVE, s->domain, err) < 0)
		return -1;
	snap_disks_from(s, p, d);
	for (i = 0; i < s->ndisks; i++)
		if (p->d[i].is_rbd || !s->disks[i].format || strcmp(s->disks[i].format, "qcow2") != 0) {
			nc_err_set(err, "disk %s of VM %s is not a qcow2 file: it has no internal snapshot to read",
				   s->disks[i].target, s->domain);
			return -1;
		}
	{
		bool quiesced = s->quiesced;

		rc = snap_offline(s, p, sim, o, err);
		s->quiesced = quiesced;
	}
	s->live = false;
	return rc;
}

int nc_disk_snap_begin(struct nc_disk_snap **out, struct nc_host_conn *host, const char *domain,
	const struct nc_disk_snap_opts *o, struct nc_err *err)
{
	static const struct nc_disk_snap_opts none = { 0 };
	virConnectPtr conn = nc_libvirt_conn(host);
	struct nc_disk_snap *s = NULL;
	struct snap_priv *p;
	struct nc_domain d = { 0 };
	bool sim = nc_libvirt_is_sim(host), running;
	int state = 0, reason, rc = -1;

	if (!o)
		o = &none;
	if (!conn) {
		nc_err_set(err, "backup of VM %s: not a libvirt host", domain);
		return -1;
	}
	s = nc_xcalloc(1, sizeof(*s));
	s->domain = nc_xstrdup(domain);
	s->priv = p = nc_xcalloc(1, sizeof(*p));
	if (!(p->dom = virDomainLookupByName(conn, domain))) {
		char *what = nc_xasprintf("cannot find VM %s", domain);

		lv_fail(err, what);
		free(what);
		goto out;
	}
	if (virDomainGetState(p->dom, &state, &reason, 0) < 0) {
		char *what = nc_xasprintf("cannot get the state of VM %s", domain);

		lv_fail(err, what);
		free(what);
		goto out;
	}
	running = !sim && (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_PAUSED ||
			   state == VIR_DOMAIN_BLOCKED);
	if (o->snapshot) {
		rc = snap_from_snapshot(s, p, &d, sim, o, err);
		goto out;
	}
	if (dom_xml(&d, p->dom, running ? 0 : VIR_DOMAIN_XML_INACTIVE, domain, err) < 0)
		goto out;
	snap_disks_from(s, p, &d);
	rc = running ? snap_live(s, p, o, err) : snap_offline(s, p, sim, o, err);
out:
	nc_domain_release(&d);
	if (rc < 0) {
		struct nc_err ignore;

		if (p->job) {
			nc_disk_snap_end(s, false, &ignore);
			return -1;
		}
		snap_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int nc_disk_snap_read(struct nc_disk_snap *s, size_t i, uint64_t offset, void *buf, size_t len,
	struct nc_err *err)
{
	struct snap_priv *p = s->priv;
	struct nc_snap_disk *k;

	if (i >= s->ndisks) {
		nc_err_set(err, "VM %s has no disk %zu", s->domain, i);
		return -1;
	}
	k = &s->disks[i];
	if (offset > k->size || len > k->size - offset) {
		nc_err_set(err, "disk %s of VM %s: read of %zu bytes at %llu is past its end (%llu)",
			   k->target, s->domain, len, (unsigned long long)offset,
			   (unsigned long long)k->size);
		return -1;
	}
	if (p->d[i].is_rbd && !p->d[i].nbd) {
		char *b = buf;

		while (len) {
			ssize_t n = rbd_read2(p->d[i].rbd.img, offset, len > IO_MAX ? IO_MAX : len, b, 0);

			if (n <= 0) {
				nc_err_set(err, "rbd image %s: read at %llu: %s", k->source,
					   (unsigned long long)offset, n < 0 ? strerror((int)-n) : "short read");
				return -1;
			}
			b += n;
			offset += (uint64_t)n;
			len -= (size_t)n;
		}
		return 0;
	}
	return nbd_read_all(p->d[i].nbd, offset, buf, len, err);
}

int nc_disk_snap_read_batch(struct nc_disk_snap *s, size_t i, const struct nc_backup_read *v, size_t n,
	struct nc_err *err)
{
	struct snap_priv *p = s->priv;
	size_t j;

	if (i >= s->ndisks) {
		nc_err_set(err, "VM %s has no disk %zu", s->domain, i);
		return -1;
	}
	for (j = 0; j < n; j++) {
		const struct nc_snap_disk *k = &s->disks[i];

		if (v[j].offset > k->size || v[j].len > k->size - v[j].offset) {
			nc_err_set(err, "disk %s of VM %s: read of %zu bytes at %llu is past its end (%llu)",
				   k->target, s->domain, v[j].len, (unsigned long long)v[j].offset,
				   (unsigned long long)k->size);
			return -1;
		}
	}
	if (!p->d[i].nbd) {
		for (j = 0; j < n; j++)
			if (nc_disk_snap_read(s, i, v[j].offset, v[j].buf, v[j].len, err) < 0)
				return -1;
		return 0;
	}
	return nbd_read_list(p->d[i].nbd, v, n, err);
}

/* rbd_diff_iterate2 from no snapshot: the extents holding data, in offset order */
struct rbd_data {
	uint64_t at;                 /* zeros: the end of the data so far */
	struct extents data;
};

static int rbd_data_cb(uint64_t off, size_t len, int exists, void *arg)
{
	struct rbd_data *d = arg;

	if (exists)
		ext_add(&d->data, off, len);
	return 0;
}

int nc_disk_snap_zeros(struct nc_disk_snap *s, size_t i, uint64_t offset, uint64_t len,
	struct nc_backup_extent **out, size_t *out_n, struct nc_err *err)
{
	struct snap_priv *p = s->priv;
	struct extents e = { 0 };
	struct nc_snap_disk *k;

	if (i >= s->ndisks) {
		nc_err_set(err, "VM %s has no disk %zu", s->domain, i);
		return -1;
	}
	k = &s->disks[i];
	if (offset > k->size)
		offset = k->size;
	if (len > k->size - offset)
		len = k->size - offset;
	if (p->d[i].nbd && nbd_can_meta_context(p->d[i].nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1 &&
	    nbd_extents(p->d[i].nbd, LIBNBD_CONTEXT_BASE_ALLOCATION, LIBNBD_STATE_ZERO, offset, len,
			&e, err) < 0) {
		free(e.v);
		return -1;
	}
	if (p->d[i].is_rbd && p->d[i].rbd.open && len) {
		/* the objects that exist (the parent's too), whole: the gaps between them are zeros */
		struct rbd_data d = { offset, { 0 } };
		int rc = rbd_diff_iterate2(p->d[i].rbd.img, NULL, offset, len, 1, 1, rbd_data_cb, &d);

		if (rc < 0) {
			free(d.data.v);   /* no map: nothing is known to be zero, everything is read */
		} else {
			size_t j;

			for (j = 0; j < d.data.n && d.at < offset + len; j++) {
				uint64_t a = d.data.v[j].offset < offset + len ? d.data.v[j].offset : offset + len;

				if (a > d.at)
					ext_add(&e, d.at, a - d.at);
				if (d.data.v[j].offset + d.data.v[j].length > d.at)
					d.at = d.data.v[j].offset + d.data.v[j].length;
			}
			if (d.at < offset + len)
				ext_add(&e, d.at, offset + len - d.at);
			free(d.data.v);
		}
	}
	*out = e.v;
	*out_n = e.n;
	return 0;
}

/* deletes one checkpoint by name; a missing one is not an error */
static int ckpt_delete(virDomainPtr dom, const char *name, struct nc_err *err)
{
	virDomainCheckpointPtr c = virDomainCheckpointLookupByName(dom, name, 0);
	int tries, rc = -1;

	if (!c)
		return 0;
	/* the backup job may still be winding down right after the abort */
	for (tries = 0; tries < 50; tries++) {
		if ((rc = virDomainCheckpointDelete(c, 0)) == 0)
			break;
		if (virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID &&
		    virGetLastErrorCode() != VIR_ERR_OPERATION_TIMEOUT)
			break;
		usleep(100 * 1000);
	}
	if (rc < 0) {
		char *what = nc_xasprintf("cannot delete checkpoint %s", name);

		lv_fail(err, what);
		free(what);
	}
	virDomainCheckpointFree(c);
	return rc;
}

int nc_disk_snap_end(struct nc_disk_snap *s, bool success, struct nc_err *err)
{
	struct snap_priv *p;
	size_t i;
	int rc = 0;

	if (!s)
		return 0;
	p = s->priv;
	for (i = 0; i < s->ndisks; i++) {
		if (p->d[i].nbd) {
			nbd_shutdown(p->d[i].nbd, 0);
			nbd_close(p->d[i].nbd);
			p->d[i].nbd = NULL;
		}
	}
	if (p->job) {
		if (virDomainAbortJob(p->dom) < 0 && virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID) {
			char *what = nc_xasprintf("cannot end the backup job of VM %s", s->domain);

			rc = lv_fail(err, what);
			free(what);
		} else {
			/* the job ends asynchronously: wait, so the next backup does not find it */
			for (i = 0; i < 100; i++) {
				char *x = virDomainBackupGetXMLDesc(p->dom, 0);

				if (!x) {
					virResetLastError();
					break;
				}
				free(x);
				usleep(100000);
			}
		}
		p->job = false;
	}
	if (s->live && s->checkpoint) {
		if (!success || rc < 0) {
			struct nc_err e2;

			if (ckpt_delete(p->dom, s->checkpoint, rc < 0 ? &e2 : err) < 0)
				rc = -1;
		} else {
			virDomainCheckpointPtr *v = NULL;
			int n = virDomainListAllCheckpoints(p->dom, &v, 0), j;

			if (n < 0) {
				char *what = nc_xasprintf("cannot list the checkpoints of VM %s", s->domain);

				rc = lv_fail(err, what);
				free(what);
			}
			for (j = 0; j < n; j++) {
				const char *name = virDomainCheckpointGetName(v[j]);

				if (rc == 0 && name && strncmp(name, CKPT_PREFIX, strlen(CKPT_PREFIX)) == 0 &&
				    strcmp(name, s->checkpoint) != 0 && ckpt_delete(p->dom, name, err) < 0)
					rc = -1;
				virDomainCheckpointFree(v[j]);
			}
			free(v);
		}
	}
	snap_free(s);
	return rc;
}

/* ---- writer ---- */

/*
 * The caller's writes are merged into requests of up to WBUF bytes while
 * offsets follow each other; an I/O thread sends them (NBD: asynchronous
 * commands, up to WINFLIGHT at once, driven by nbd_poll; rbd: one
 * synchronous call at a time), so that the caller's work (fetching and
 * decoding chunks) overlaps the writes.  WOPS requests at most are queued or
 * in flight: the caller waits for one to complete when all are taken, which
 * bounds the memory to WOPS * WBUF.  The first failure is kept and returned
 * by every later call (and by close).  The server may complete requests in
 * any order: a request that overlaps one in flight waits for it (a restore's
 * never do); close waits for all of them before it flushes.
 */
#define WBUF (4u << 20)
#define WOPS 8u
#define WINFLIGHT 4u
#define WZERO_MAX (1ull << 30)

enum { WOP_WRITE, WOP_ZERO };

struct wop {
	struct nc_disk_writer *w;
	int kind;
	uint64_t off, len;
	unsigned char *buf;      /* WBUF bytes, kept for the next use of the slot */
	bool done;
};

struct nc_disk_writer {
	char *path;
	struct nbd_handle *nbd;
	struct rbd_handle rbd;
	bool is_rbd, can_zero, fresh;
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* the I/O thread: work queued; the caller: a slot free */
	pthread_t io;
	bool io_started, closing, failed;
	struct nc_err ferr;
	struct wop ops[WOPS];
	uint64_t head;           /* ops[head % WOPS]: being filled by the caller (when filling) */
	uint64_t sub;            /* [sub, head): queued; [tail, sub): submitted */
	uint64_t tail;
	bool filling;
	unsigned inflight;
	unsigned char *zbuf;     /* zeros, for rbd without write_zeroes */
};

/* under mu */
static void wfail(struct nc_disk_writer *w, uint64_t off, const char *why)
{
	if (!w->failed) {
		w->failed = true;
		nc_err_set(&w->ferr, "disk image %s: %s at %llu: %s", w->path,
			   w->is_rbd ? "rbd write" : "write", (unsigned long long)off, why);
	}
	pthread_cond_broadcast(&w->cv);
}

static int wop_done(void *user_data, int *error)
{
	struct wop *op = user_data;
	struct nc_disk_writer *w = op->w;

	pthread_mutex_lock(&w->mu);
	if (*error)
		wfail(w, op->off, strerror(*error));
	op->done = true;
	w->inflight--;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 1;
}

/* The I/O thread's work on one op, without the lock. */
static void wop_submit(struct nc_disk_writer *w, struct wop *op)
{
	char why[256];
	bool bad = false;

	if (w->is_rbd) {
		uint64_t off = op->off, len = op->len;

		while (len && !bad) {
			size_t n = len > IO_MAX ? IO_MAX : (size_t)len;
			ssize_t r;

			if (op->kind == WOP_WRITE) {
				r = rbd_write2(w->rbd.img, off, n, (const char *)op->buf + (off - op->off), 0);
				if (r < 0 || (size_t)r != n) {
					snprintf(why, sizeof(why), "%s", r < 0 ? strerror((int)-r) : "short write");
					bad = true;
				}
			} else {
				r = w->zbuf ? -EOPNOTSUPP : rbd_write_zeroes(w->rbd.img, off, n, 0, 0);
				if (r < 0) {
					/* no write_zeroes: write zeros */
					if (!w->zbuf)
						w->zbuf = nc_xcalloc(1, IO_MAX);
					r = rbd_write2(w->rbd.img, off, n, (const char *)w->zbuf, 0);
					if (r < 0 || (size_t)r != n) {
						snprintf(why, sizeof(why), "%s", r < 0 ? strerror((int)-r) : "short write");
						bad = true;
					}
				}
			}
			off += n;
			len -= n;
		}
		pthread_mutex_lock(&w->mu);
		if (bad)
			wfail(w, op->off, why);
		op->done = true;
		w->inflight--;
		pthread_mutex_unlock(&w->mu);
		return;
	} else {
		nbd_completion_callback cb = { .callback = wop_done, .user_data = op };
		int64_t c = op->kind == WOP_WRITE ? nbd_aio_pwrite(w->nbd, op->buf, op->len, op->off, cb, 0)
						  : nbd_aio_zero(w->nbd, op->len, op->off, cb, 0);

		if (c < 0) {
			/* not issued: the callback is not called */
			snprintf(why, sizeof(why), "%s", nbd_get_error() ? nbd_get_error() : "NBD error");
			pthread_mutex_lock(&w->mu);
			wfail(w, op->off, why);
			op->done = true;
			w->inflight--;
			pthread_mutex_unlock(&w->mu);
		}
	}
}

/* Does the next op overlap one in flight?  Then it waits: the server may complete them in any order. */
static bool woverlaps(struct nc_disk_writer *w)
{
	const struct wop *n = &w->ops[w->sub % WOPS];
	uint64_t k;

	for (k = w->tail; k < w->sub; k++) {
		const struct wop *o = &w->ops[k % WOPS];

		if (!o->done && o->off < n->off + n->len && n->off < o->off + o->len)
			return true;
	}
	return false;
}

static void *writer_io(void *arg)
{
	struct nc_disk_writer *w = arg;

	pthread_setname_np(pthread_self(), "nc-disk-write");   /* as profilers show it */
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->sub < w->head && w->inflight < WINFLIGHT && !w->failed && !woverlaps(w)) {
			struct wop *op = &w->ops[w->sub++ % WOPS];

			w->inflight++;
			pthread_mutex_unlock(&w->mu);
			wop_submit(w, op);
			pthread_mutex_lock(&w->mu);
		}
		while (w->tail < w->sub && w->ops[w->tail % WOPS].done) {
			w->ops[w->tail % WOPS].done = false;
			w->tail++;
			pthread_cond_broadcast(&w->cv);
		}
		if (!w->inflight && (w->failed || (w->closing && w->sub == w->head)))
			break;
		if (!w->inflight) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		{
			/* completions (and the rest of a large request) come through poll; a short
			 * timeout so that a request queued meanwhile goes out soon */
			int rc = nbd_poll(w->nbd, 5);

			pthread_mutex_lock(&w->mu);
			if (rc < 0) {
				char why[256];

				snprintf(why, sizeof(why), "%s", nbd_get_error() ? nbd_get_error() : "NBD error");
				wfail(w, w->ops[w->tail % WOPS].off, why);
				/* nothing more is waited for; the buffers stay until nbd_close */
				w->inflight = 0;
				break;
			}
		}
	}
	/* nothing more is sent: wake a caller waiting for a slot */
	w->closing = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int nc_disk_writer_open(struct nc_disk_writer **out, const char *path, const char *format,
	bool rbd, const char *ceph_conf, const char *ceph_user, const char *key_file, struct nc_err *err)
{
	struct nc_disk_writer *w = nc_xcalloc(1, sizeof(*w));
	unsigned k;

	w->path = nc_xstrdup(path);
	w->is_rbd = rbd;
	if (rbd) {
		if (rbdh_open(&w->rbd, path, false, ceph_conf, ceph_user, key_file, err) < 0)
			goto fail;
		w->can_zero = true;
	} else {
		if (access(path, F_OK) != 0) {
			nc_err_set(err, "disk image %s: %s", path, strerror(errno));
			goto fail;
		}
		if (!(w->nbd = qemu_nbd_open(path, format, false, NULL, false, err)))
			goto fail;
		w->can_zero = nbd_can_zero(w->nbd) == 1;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	for (k = 0; k < WOPS; k++)
		w->ops[k].w = w;
	if (pthread_create(&w->io, NULL, writer_io, w) != 0) {
		nc_err_set(err, "disk image %s: cannot start a thread", path);
		if (rbd)
			rbdh_close(&w->rbd);
		else
			nbd_close(w->nbd);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		goto fail;
	}
	w->io_started = true;
	*out = w;
	return 0;
fail:
	free(w->path);
	free(w);
	return -1;
}

void nc_disk_writer_set_fresh(struct nc_disk_writer *w)
{
	w->fresh = true;
}

/* Queues the op being filled (under no lock). */
static void wqueue(struct nc_disk_writer *w)
{
	if (!w->filling)
		return;
	pthread_mutex_lock(&w->mu);
	w->head++;
	w->filling = false;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* A free op to fill (waits for one), or NULL after a failure (err set). */
static struct wop *wtake(struct nc_disk_writer *w, int kind, uint64_t off, struct nc_err *err)
{
	struct wop *op;

	pthread_mutex_lock(&w->mu);
	while (!w->failed && !w->closing && w->head - w->tail >= WOPS)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->failed || w->closing) {
		if (w->failed)
			*err = w->ferr;
		else
			nc_err_set(err, "disk image %s: the writer stopped", w->path);
		pthread_mutex_unlock(&w->mu);
		return NULL;
	}
	pthread_mutex_unlock(&w->mu);
	op = &w->ops[w->head % WOPS];
	op->kind = kind;
	op->off = off;
	op->len = 0;
	op->done = false;
	if (kind == WOP_WRITE && !op->buf)
		op->buf = nc_xmalloc(WBUF);
	w->filling = true;
	return op;
}

static bool wfailed(struct nc_disk_writer *w, struct nc_err *err)
{
	bool f;

	pthread_mutex_lock(&w->mu);
	f = w->failed;
	if (f)
		*err = w->ferr;
	pthread_mutex_unlock(&w->mu);
	return f;
}

int nc_disk_writer_write(struct nc_disk_writer *w, uint64_t offset, const void *buf, size_t len,
	struct nc_err *err)
{
	const unsigned char *b = buf;

	if (wfailed(w, err))
		return -1;
	while (len) {
		struct wop *op = w->filling ? &w->ops[w->head % WOPS] : NULL;
		size_t n;

		if (!op || op->kind != WOP_WRITE || op->off + op->len != offset || op->len == WBUF) {
			wqueue(w);
			if (!(op = wtake(w, WOP_WRITE, offset, err)))
				return -1;
		}
		n = WBUF - (size_t)op->len;
		if (n > len)
			n = len;
		memcpy(op->buf + op->len, b, n);
		op->len += n;
		b += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int nc_disk_writer_zero(struct nc_disk_writer *w, uint64_t offset, uint64_t len, struct nc_err *err)
{
	if (wfailed(w, err))
		return -1;
	/* a new image reads as zeros already: a hole needs no request */
	if (w->fresh)
		return 0;
	if (!w->can_zero) {
		static const unsigned char z[65536];

		while (len) {
			size_t n = len > sizeof(z) ? sizeof(z) : (size_t)len;

			if (nc_disk_writer_write(w, offset, z, n, err) < 0)
				return -1;
			offset += n;
			len -= n;
		}
		return 0;
	}
	while (len) {
		uint64_t n = len > WZERO_MAX ? WZERO_MAX : len;
		struct wop *op;

		wqueue(w);
		if (!(op = wtake(w, WOP_ZERO, offset, err)))
			return -1;
		op->len = n;
		wqueue(w);
		offset += n;
		len -= n;
	}
	return 0;
}

int nc_disk_writer_close(struct nc_disk_writer *w, struct nc_err *err)
{
	int rc = 0;
	unsigned k;

	if (!w)
		return 0;
	wqueue(w);
	pthread_mutex_lock(&w->mu);
	w->closing = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->io_started)
		pthread_join(w->io, NULL);
	if (w->failed) {
		*err = w->ferr;
		rc = -1;
	}
	if (w->is_rbd) {
		int r = rc == 0 ? rbd_flush(w->rbd.img) : 0;

		if (r < 0) {
			nc_err_set(err, "rbd image %s: flush: %s", w->path, strerror(-r));
			rc = -1;
		}
		rbdh_close(&w->rbd);
	} else if (w->nbd) {
		if (rc == 0 && (nbd_flush(w->nbd, 0) < 0 || nbd_shutdown(w->nbd, 0) < 0)) {
			char *what = nc_xasprintf("disk image %s: flush", w->path);

			rc = nbd_fail(err, what);
			free(what);
		}
		nbd_close(w->nbd);     /* waits for qemu-nbd to exit */
	}
	for (k = 0; k < WOPS; k++)
		free(w->ops[k].buf);
	free(w->zbuf);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->path);
	free(w);
	return rc;
}
