/*
 * test_diskio.c - drivers/storage/diskio.c against a REAL libvirt daemon running
 * QEMU (TCG) guests, started once for the suite by test/testbed/libvirtd.sh
 * (addresses 127.0.103.N, so it does not meet other testbeds).  The
 * unchecked fixture starts it and stops it again after all tests, failed
 * or not; when the machine cannot run it (libvirtd.sh check), the tests
 * that need it are skipped with a message on stderr.
 *
 * The guest is a multiboot kernel that halts (cli; hlt) booted directly:
 * no OS, no disk access, so a disk's content is what the test wrote into
 * its image with qemu-io while the domain was shut off.  Every VM has a
 * 16 MiB qcow2 disk (vda, in checkpoints) and a 4 MiB raw one (vdb, always
 * backed up whole).  Data read is compared byte for byte with
 * `qemu-img convert -O raw` of the images.
 *
 * Dirty bitmaps: a checkpoint is a persistent bitmap in the qcow2 image;
 * when QEMU stops, it stores it there, and qemu-io (which opens the image
 * with its persistent bitmaps, as any QEMU block user does) marks the
 * clusters it writes dirty.  test_diskio_incremental checks both: the
 * bitmap is listed by `qemu-img info`, and the incremental backup's changed
 * extents cover exactly the qemu-io writes (64 KiB bitmap granularity).
 */
#include <check.h>
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../drivers/storage/diskio.h"
#include "../spec/util.h"
#include "tests.h"
#include "testutil.h"

#define MiB (1024u * 1024)
#define VDA_SIZE (16 * MiB)
#define VDB_SIZE (4 * MiB)

static char T[64];               /* the suite's directory: kernel, images, scratch */
static char lvdir[96];           /* the libvirtd.sh testbed */
static char uri[256];
static bool lv_ok;

static int shell(struct nc_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int shell(struct nc_run *r, const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	struct nc_buf b = NC_BUF_INIT;

	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	cmd = nc_buf_detach(&b, NULL);
	nc_run_shell(r, cmd);
	free(cmd);
	return r->status;
}

/* runs a command, fails the test with its stderr if it fails */
#define SH(...) do { \
		struct nc_run r_; \
		int st_ = shell(&r_, __VA_ARGS__); \
		ck_assert_msg(st_ == 0, "command failed (%d): %.2000s%.2000s", st_, r_.out, r_.err); \
		nc_run_free(&r_); \
	} while (0)

static void suite_setup(void)
{
	static const char guest[] =
		"\t.text\n\t.align 4\n\t.long 0x1BADB002\n\t.long 0\n\t.long -0x1BADB002\n"
		"\t.globl _start\n_start:\n\tcli\n1:\thlt\n\tjmp 1b\n";
	struct nc_run r;
	FILE *f;
	char *path;

	snprintf(T, sizeof(T), "/tmp/nc-diskio-XXXXXX");
	if (!mkdtemp(T)) {
		T[0] = 0;
		fprintf(stderr, "skip diskio: mkdtemp: %s\n", strerror(errno));
		return;
	}
	snprintf(lvdir, sizeof(lvdir), "%s/lv", T);
	if (shell(&r, "bash '%s/test/testbed/libvirtd.sh' check", NC_SOURCE_DIR) != 0) {
		fprintf(stderr, "skip diskio (libvirt tests): %.500s\n", r.out);
		nc_run_free(&r);
		return;
	}
	nc_run_free(&r);
	if (shell(&r, "NC_LV_ADDR_PREFIX=127.0.103 NC_LV_MIG_PORT_BASE=50432 bash '%s/test/testbed/libvirtd.sh' up 1 '%s'",
		  NC_SOURCE_DIR, lvdir) != 0) {
		fprintf(stderr, "skip diskio (libvirt tests): libvirtd.sh up failed: %.1500s\n", r.err);
		nc_run_free(&r);
		return;
	}
	nc_run_free(&r);
	path = nc_xasprintf("%s/guest.S", T);
	f = fopen(path, "w");
	if (f) {
		fputs(guest, f);
		fclose(f);
	}
	free(path);
	if (shell(&r, "cd '%s' && gcc -m32 -c guest.S -o guest.o && ld -m elf_i386 -Ttext=0x100000 -e _start "
		  "-o guest.elf guest.o", T) != 0) {
		fprintf(stderr, "skip diskio (libvirt tests): cannot build the guest kernel: %.500s\n", r.err);
		nc_run_free(&r);
		return;
	}
	nc_run_free(&r);
	snprintf(uri, sizeof(uri), "qemu+unix:///system?socket=%s/h1/sock/libvirt-sock", lvdir);
	lv_ok = true;
}

static void suite_teardown(void)
{
	struct nc_run r;

	if (!T[0])
		return;
	/* stops the daemon and every guest QEMU it started, by PID */
	shell(&r, "bash '%s/test/testbed/libvirtd.sh' down '%s' >/dev/null 2>&1; "
	      "bash '%s/test/testbed/ceph.sh' down '%s/ceph' >/dev/null 2>&1; rm -rf '%s'",
	      NC_SOURCE_DIR, lvdir, NC_SOURCE_DIR, T, T);
	nc_run_free(&r);
}

#define NEED_LIBVIRT() do { \
		if (!lv_ok) { \
			NC_TEST_SKIP("no libvirt testbed (see the diskio suite's first message)"); \
			return; \
		} \
	} while (0)

/* ---- helpers ---- */

static unsigned char *read_file(const char *path, size_t want)
{
	char *buf = NULL;
	size_t len = 0;

	ck_assert_msg(nc_read_file(path, 1 << 30, &buf, &len) == 0, "cannot read %s", path);
	ck_assert_uint_eq(len, want);
	return (unsigned char *)buf;
}

/* the image's content as raw bytes, through qemu-img */
static unsigned char *image_raw(const char *vm, const char *disk, const char *fmt, size_t size)
{
	char *out = nc_xasprintf("%s/%s/%s.expect", T, vm, disk);
	unsigned char *b;

	SH("qemu-img convert -U -f %s -O raw '%s/%s/%s.%s' '%s'", fmt, T, vm, disk, fmt, out);
	b = read_file(out, size);
	unlink(out);
	free(out);
	return b;
}

static unsigned char *snap_all(struct nc_disk_snap *s, size_t i)
{
	unsigned char *b = nc_xmalloc(s->disks[i].size);
	struct nc_err err = { { 0 } };
	uint64_t off;

	for (off = 0; off < s->disks[i].size; off += MiB)
		ck_assert_msg(nc_disk_snap_read(s, i, off, b + off, MiB, &err) == 0, "read: %s", err.msg);
	return b;
}

static void assert_same(const unsigned char *got, const unsigned char *want, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n && got[i] == want[i]; i++)
		;
	ck_assert_msg(i == n, "%s: first difference at byte %zu: got 0x%02x, want 0x%02x", what, i,
		      i < n ? got[i] : 0, i < n ? want[i] : 0);
}

/*
 * Makes T/VM/{vda.qcow2,vdb.raw} with known data and defines a domain VM
 * on the testbed (shut off).
 */
static void make_vm(virConnectPtr c, const char *vm)
{
	char *xml;
	virDomainPtr d;

	SH("mkdir -p '%s/%s' && cd '%s/%s' && qemu-img create -q -f qcow2 vda.qcow2 16M && "
	   "qemu-img create -q -f raw vdb.raw 4M && "
	   "qemu-io -f qcow2 -c 'write -q -P 0xab 0 1M' -c 'write -q -P 0x5c 5M 64k' vda.qcow2 && "
	   "qemu-io -f raw -c 'write -q -P 0x77 1M 4k' vdb.raw", T, vm, T, vm);
	xml = nc_xasprintf(
		"<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
		"<os><type arch='x86_64' machine='pc'>hvm</type><kernel>%s/guest.elf</kernel></os>"
		"<on_poweroff>destroy</on_poweroff><devices>"
		"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
		"<source file='%s/%s/vda.qcow2'/><target dev='vda' bus='virtio'/></disk>"
		"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
		"<source file='%s/%s/vdb.raw'/><target dev='vdb' bus='virtio'/></disk>"
		"<memballoon model='none'/></devices></domain>", vm, T, T, vm, T, vm);
	d = virDomainDefineXML(c, xml);
	ck_assert_msg(d != NULL, "define %s: %s", vm, virGetLastErrorMessage());
	virDomainFree(d);
	free(xml);
}

static void vm_start(virConnectPtr c, const char *vm)
{
	virDomainPtr d = virDomainLookupByName(c, vm);

	ck_assert_ptr_nonnull(d);
	ck_assert_msg(virDomainCreate(d) == 0, "start %s: %s", vm, virGetLastErrorMessage());
	virDomainFree(d);
}

static void vm_stop(virConnectPtr c, const char *vm)
{
	virDomainPtr d = virDomainLookupByName(c, vm);

	ck_assert_ptr_nonnull(d);
	ck_assert_msg(virDomainDestroy(d) == 0, "destroy %s: %s", vm, virGetLastErrorMessage());
	virDomainFree(d);
}

static bool has_checkpoint(virConnectPtr c, const char *vm, const char *name)
{
	virDomainPtr d = virDomainLookupByName(c, vm);
	virDomainCheckpointPtr k;

	ck_assert_ptr_nonnull(d);
	k = virDomainCheckpointLookupByName(d, name, 0);
	virDomainFree(d);
	if (!k)
		return false;
	virDomainCheckpointFree(k);
	return true;
}

struct tb {
	struct nc_host_conn *host;
	virConnectPtr c;
	struct nc_disk_snap_opts o;
	char *scratch;
};

static void tb_open(struct tb *t)
{
	struct nc_err err = { { 0 } };
	struct nc_driver_opts dopts = { 0 };

	memset(t, 0, sizeof(*t));
	ck_assert_msg(nc_host_open(&t->host, uri, &dopts, &err) == 0, "open %s: %s", uri, err.msg);
	t->c = virConnectOpen(uri);
	ck_assert_ptr_nonnull(t->c);
	t->scratch = nc_xasprintf("%s/scratch", T);
	t->o.scratch_dir = t->scratch;
}

static void tb_close(struct tb *t)
{
	virConnectClose(t->c);
	nc_host_close(t->host);
	free(t->scratch);
}

/* does some extent of v cover [off, off+len)? */
static bool covered(const struct nc_backup_extent *v, size_t n, uint64_t off, uint64_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].offset <= off && off + len <= v[i].offset + v[i].length)
			return true;
	return false;
}

static bool overlaps(const struct nc_backup_extent *v, size_t n, uint64_t off, uint64_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].offset < off + len && off < v[i].offset + v[i].length)
			return true;
	return false;
}

static void assert_sorted(const struct nc_backup_extent *v, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		ck_assert_msg(v[i - 1].offset + v[i - 1].length < v[i].offset,
			      "extents %zu and %zu are not sorted and merged", i - 1, i);
}

/* both disks of snapshot s equal T/vm's images now */
static void assert_content(struct nc_disk_snap *s, const char *vm)
{
	unsigned char *want, *got;

	ck_assert_uint_eq(s->ndisks, 2);
	ck_assert_str_eq(s->disks[0].target, "vda");
	ck_assert_str_eq(s->disks[1].target, "vdb");
	ck_assert_uint_eq(s->disks[0].size, VDA_SIZE);
	ck_assert_uint_eq(s->disks[1].size, VDB_SIZE);
	want = image_raw(vm, "vda", "qcow2", VDA_SIZE);
	got = snap_all(s, 0);
	assert_same(got, want, VDA_SIZE, "vda");
	free(want);
	free(got);
	want = image_raw(vm, "vdb", "raw", VDB_SIZE);
	got = snap_all(s, 1);
	assert_same(got, want, VDB_SIZE, "vdb");
	free(want);
	free(got);
}

/* ---- tests ---- */

START_TEST(test_diskio_shutoff)
{
	struct tb t;
	struct nc_disk_snap *s = NULL;
	struct nc_err err = { { 0 } };
	struct nc_backup_extent *z = NULL;
	size_t nz = 0;
	unsigned char b[16];

	NEED_LIBVIRT();
	tb_open(&t);
	make_vm(t.c, "off");
	t.o.quiesce = true;
	t.o.since_checkpoint = "nc-1-1";
	ck_assert_msg(nc_disk_snap_begin(&s, t.host, "off", &t.o, &err) == 0, "%s", err.msg);
	ck_assert(!s->live);
	ck_assert(s->quiesced);
	ck_assert_ptr_null(s->checkpoint);
	ck_assert_ptr_null(s->since);
	ck_assert(!s->disks[0].incremental);
	ck_assert_uint_eq(s->disks[0].nchanged, 0);
	ck_assert_str_eq(s->disks[0].format, "qcow2");
	ck_assert_str_eq(s->disks[1].format, "raw");
	assert_content(s, "off");

	/* zeros: everything but the written ranges; none of these */
	ck_assert_msg(nc_disk_snap_zeros(s, 0, 0, VDA_SIZE, &z, &nz, &err) == 0, "%s", err.msg);
	assert_sorted(z, nz);
	ck_assert(!overlaps(z, nz, 0, MiB));
	ck_assert(!overlaps(z, nz, 5 * MiB, 64 * 1024));
	ck_assert(covered(z, nz, MiB, 4 * MiB));
	ck_assert(covered(z, nz, 6 * MiB, 10 * MiB));
	free(z);
	/* a window: clipped to it */
	ck_assert_msg(nc_disk_snap_zeros(s, 1, 2 * MiB, 64 * 1024, &z, &nz, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(nz, 1);
	ck_assert_uint_eq(z[0].offset, 2 * MiB);
	ck_assert_uint_eq(z[0].length, 64 * 1024);
	free(z);

	/* reading past the end is refused */
	ck_assert_int_lt(nc_disk_snap_read(s, 1, VDB_SIZE - 8, b, sizeof(b), &err), 0);
	ck_assert_msg(strstr(err.msg, "past its end") != NULL, "%s", err.msg);
	ck_assert_int_lt(nc_disk_snap_read(s, 2, 0, b, sizeof(b), &err), 0);

	ck_assert_msg(nc_disk_snap_end(s, true, &err) == 0, "%s", err.msg);
	tb_close(&t);
}
END_TEST

START_TEST(test_diskio_incremental)
{
	static const uint64_t at[] = { 2 * MiB, 9 * MiB + 4096, 15 * MiB + 60 * 1024 };
	struct tb t;
	struct nc_disk_snap *s = NULL;
	struct nc_err err = { { 0 } };
	struct nc_run r;
	char *c1, *c2, *img;
	unsigned char *want, *got;
	uint64_t total = 0;
	size_t i;

	NEED_LIBVIRT();
	tb_open(&t);
	make_vm(t.c, "inc");
	vm_start(t.c, "inc");

	/* full: since names no checkpoint of the domain; no guest agent */
	t.o.quiesce = true;
	t.o.since_checkpoint = "nc-1-1";
	ck_assert_msg(nc_disk_snap_begin(&s, t.host, "inc", &t.o, &err) == 0, "%s", err.msg);
	ck_assert(s->live);
	ck_assert_msg(!s->quiesced, "quiesced without a guest agent");
	ck_assert_ptr_null(s->since);
	ck_assert_ptr_nonnull(s->checkpoint);
	ck_assert_int_eq(strncmp(s->checkpoint, "nc-", 3), 0);
	ck_assert(!s->disks[0].incremental && !s->disks[1].incremental);
	assert_content(s, "inc");
	c1 = nc_xstrdup(s->checkpoint);
	ck_assert_msg(nc_disk_snap_end(s, true, &err) == 0, "%s", err.msg);
	ck_assert_msg(has_checkpoint(t.c, "inc", c1), "checkpoint %s missing after the backup", c1);

	/* change the disks while the domain is off; the bitmap is in the qcow2 */
	vm_stop(t.c, "inc");
	img = nc_xasprintf("%s/inc/vda.qcow2", T);
	ck_assert_int_eq(shell(&r, "qemu-img info --output=json '%s'", img), 0);
	ck_assert_msg(strstr(r.out, c1) != NULL, "no bitmap %s in the image:\n%s", c1, r.out);
	ck_assert_msg(strstr(r.out, "in-use") == NULL, "bitmap left in use:\n%s", r.out);
	nc_run_free(&r);
	for (i = 0; i < NC_ARRAY_SIZE(at); i++)
		SH("qemu-io -f qcow2 -c 'write -q -P 0xcd %llu 4k' '%s'", (unsigned long long)at[i], img);
	SH("qemu-io -f raw -c 'write -q -P 0xee 3M 4k' '%s/inc/vdb.raw'", T);
	vm_start(t.c, "inc");

	t.o.quiesce = false;
	t.o.since_checkpoint = c1;
	ck_assert_msg(nc_disk_snap_begin(&s, t.host, "inc", &t.o, &err) == 0, "%s", err.msg);
	ck_assert(s->live);
	ck_assert(!s->quiesced);
	ck_assert_ptr_nonnull(s->since);
	ck_assert_str_eq(s->since, c1);
	c2 = nc_xstrdup(s->checkpoint);
	ck_assert_str_ne(c1, c2);
	ck_assert(s->disks[0].incremental);
	ck_assert(!s->disks[1].incremental);       /* raw: no bitmap, always whole */
	ck_assert_uint_eq(s->disks[1].nchanged, 0);
	assert_sorted(s->disks[0].changed, s->disks[0].nchanged);
	for (i = 0; i < NC_ARRAY_SIZE(at); i++)
		ck_assert_msg(covered(s->disks[0].changed, s->disks[0].nchanged, at[i], 4096),
			      "write at %llu not in the changed extents", (unsigned long long)at[i]);
	for (i = 0; i < s->disks[0].nchanged; i++)
		total += s->disks[0].changed[i].length;
	ck_assert_msg(total <= NC_ARRAY_SIZE(at) * 64 * 1024, "%llu bytes changed for 3 writes of 4 KiB",
		      (unsigned long long)total);
	ck_assert(!overlaps(s->disks[0].changed, s->disks[0].nchanged, 0, MiB));
	/* the changed ranges read the new bytes; the whole disks read as the images */
	want = image_raw("inc", "vda", "qcow2", VDA_SIZE);
	for (i = 0; i < s->disks[0].nchanged; i++) {
		const struct nc_backup_extent *e = &s->disks[0].changed[i];

		got = nc_xmalloc(e->length);
		ck_assert_msg(nc_disk_snap_read(s, 0, e->offset, got, e->length, &err) == 0, "%s", err.msg);
		assert_same(got, want + e->offset, e->length, "changed extent");
		free(got);
	}
	for (i = 0; i < NC_ARRAY_SIZE(at); i++)
		ck_assert_uint_eq(want[at[i]], 0xcd);
	free(want);
	assert_content(s, "inc");
	ck_assert_msg(nc_disk_snap_end(s, true, &err) == 0, "%s", err.msg);
	ck_assert_msg(has_checkpoint(t.c, "inc", c2), "new checkpoint %s missing", c2);
	ck_assert_msg(!has_checkpoint(t.c, "inc", c1), "old checkpoint %s kept", c1);
	vm_stop(t.c, "inc");
	free(c1);
	free(c2);
	free(img);
	tb_close(&t);
}
END_TEST

START_TEST(test_diskio_failed_backup_drops_checkpoint)
{
	struct tb t;
	struct nc_disk_snap *s = NULL;
	struct nc_err err = { { 0 } };
	char *c1, *c2;

	NEED_LIBVIRT();
	tb_open(&t);
	make_vm(t.c, "fail");
	vm_start(t.c, "fail");
	ck_assert_msg(nc_disk_snap_begin(&s, t.host, "fail", &t.o, &err) == 0, "%s", err.msg);
	c1 = nc_xstrdup(s->checkpoint);
	ck_assert_msg(nc_disk_snap_end(s, true, &err) == 0, "%s", err.msg);

	t.o.since_checkpoint = c1;
	ck_assert_msg(nc_disk_snap_begin(&s, t.host, "fail", &t.o, &err) == 0, "%s", err.msg);
	ck_assert(s->disks[0].incremental);
	ck_assert_uint_eq(s->disks[0].nchanged, 0);        /* nothing wrote to it */
	c2 = nc_xstrdup(s->checkpoint);
	ck_assert(has_checkpoint(t.c, "fail", c2));
	ck_assert_msg(nc_disk_snap_end(s, false, &err) == 0, "%s", err.msg);
	ck_assert_msg(!has_checkpoint(t.c, "fail", c2), "checkpoint %s of a failed backup kept", c2);
	ck_assert_msg(has_checkpoint(t.c, "fail", c1), "failure deleted the older checkpoint %s", c1);

	/* the next backup from the dropped checkpoint is full */
	t.o.since_checkpoint = c2;
	ck_assert_msg(nc_disk_snap_begin(&s, t.host, "fail", &t.o, &err) == 0, "%s", err.msg);
	ck_assert_ptr_null(s->since);
	ck_assert(!s->disks[0].incremental);
	assert_content(s, "fail");
	ck_assert_msg(nc_disk_snap_end(s, true, &err) == 0, "%s", err.msg);
	ck_assert(!has_checkpoint(t.c, "fail", c1));

	/* no socket or scratch file is left */
	{
		struct nc_run r;

		ck_assert_int_eq(shell(&r, "ls -A '%s'", t.scratch), 0);
		ck_assert_msg(r.out[0] == 0, "left in the scratch directory:\n%s", r.out);
		nc_run_free(&r);
	}
	vm_stop(t.c, "fail");
	free(c1);
	free(c2);
	tb_close(&t);
}
END_TEST

/* the same pattern through the writer into an image of each format */
static void write_and_compare(const char *fmt)
{
	struct nc_disk_writer *w = NULL;
	struct nc_err err = { { 0 } };
	unsigned char *want = nc_xcalloc(1, 8 * MiB), *b = nc_xmalloc(3 * MiB);
	char *img = nc_xasprintf("%s/w/out.%s", T, fmt), *exp = nc_xasprintf("%s/w/want.raw", T);
	size_t i;
	FILE *f;

	SH("mkdir -p '%s/w' && qemu-img create -q -f %s '%s' 8M", T, fmt, img);
	for (i = 0; i < 3 * MiB; i++)
		b[i] = (unsigned char)(i * 7 + i / 4096);
	ck_assert_msg(nc_disk_writer_open(&w, img, fmt, false, NULL, NULL, NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_disk_writer_write(w, 512 * 1024, b, 3 * MiB, &err) == 0, "%s", err.msg);
	memcpy(want + 512 * 1024, b, 3 * MiB);
	memset(b, 0x42, 64 * 1024);
	ck_assert_msg(nc_disk_writer_write(w, 7 * MiB, b, 64 * 1024, &err) == 0, "%s", err.msg);
	memset(want + 7 * MiB, 0x42, 64 * 1024);
	/* zero inside written data, and across the end of a written range */
	ck_assert_msg(nc_disk_writer_zero(w, MiB + 4096, 8192, &err) == 0, "%s", err.msg);
	memset(want + MiB + 4096, 0, 8192);
	ck_assert_msg(nc_disk_writer_zero(w, 7 * MiB + 60 * 1024, MiB - 60 * 1024, &err) == 0, "%s", err.msg);
	memset(want + 7 * MiB + 60 * 1024, 0, 4096);
	ck_assert_msg(nc_disk_writer_close(w, &err) == 0, "%s", err.msg);

	f = fopen(exp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(want, 1, 8 * MiB, f), 8 * MiB);
	fclose(f);
	SH("qemu-img compare -q -f raw -F %s '%s' '%s'", fmt, exp, img);
	SH("qemu-img check -q -f %s '%s' 2>/dev/null || [ %s = raw ]", fmt, img, fmt);
	free(want);
	free(b);
	free(img);
	free(exp);
}

START_TEST(test_diskio_writer)
{
	struct nc_disk_writer *w = NULL;
	struct nc_err err = { { 0 } };
	char *missing;

	if (!T[0]) {
		NC_TEST_SKIP("no temporary directory (see the diskio suite's first message)");
		return;
	}
	write_and_compare("qcow2");
	write_and_compare("raw");
	missing = nc_xasprintf("%s/w/missing.qcow2", T);
	ck_assert_int_lt(nc_disk_writer_open(&w, missing, "qcow2", false, NULL, NULL, NULL, &err), 0);
	ck_assert_msg(strstr(err.msg, "missing.qcow2") != NULL, "%s", err.msg);
	free(missing);
	/* a file that is not the format named: qemu-nbd refuses it */
	SH("printf x > '%s/w/notqcow'", T);
	missing = nc_xasprintf("%s/w/notqcow", T);
	ck_assert_int_lt(nc_disk_writer_open(&w, missing, "qcow2", false, NULL, NULL, NULL, &err), 0);
	free(missing);
}
END_TEST

/* simulated hosts: files named in the XML are read if they exist */
START_TEST(test_diskio_sim)
{
	struct nc_host_conn *h = NULL;
	struct nc_driver_opts dopts;
	struct nc_disk_snap *s = NULL;
	struct nc_disk_snap_opts o = { 0 };
	struct nc_err err = { { 0 } };
	struct nc_disk_def disk = { "root", "vda", "virtio", "file", NULL, "qcow2", 16 * MiB, true, NULL, NULL, NULL };
	struct nc_domain_def def = { 0 };
	char *state, *src, *want;
	unsigned char *got, *exp;

	if (!T[0]) {
		NC_TEST_SKIP("no temporary directory (see the diskio suite's first message)");
		return;
	}
	state = nc_xasprintf("%s/sim", T);
	SH("mkdir -p '%s' '%s/simvm' && cd '%s/simvm' && qemu-img create -q -f qcow2 vda.qcow2 16M && "
	   "qemu-io -f qcow2 -c 'write -q -P 0x3c 64k 128k' vda.qcow2", state, T, T);
	dopts.state_dir = state;
	ck_assert_msg(nc_host_open(&h, "sim:///s1", &dopts, &err) == 0, "%s", err.msg);
	def.vcpus = 1;
	def.memory = 64 * MiB;
	def.disks = &disk;
	def.ndisks = 1;

	def.name = "gone";
	src = nc_xasprintf("%s/simvm/none.qcow2", T);
	disk.source = src;
	ck_assert_msg(h->drv->define(h, &def, &err) == 0, "%s", err.msg);
	ck_assert_int_lt(nc_disk_snap_begin(&s, h, "gone", &o, &err), 0);
	want = nc_xasprintf("disk vda of VM gone: %s does not exist (simulated hosts have no disk data)", src);
	ck_assert_str_eq(err.msg, want);
	free(want);
	free(src);

	def.name = "here";
	src = nc_xasprintf("%s/simvm/vda.qcow2", T);
	disk.source = src;
	ck_assert_msg(h->drv->define(h, &def, &err) == 0, "%s", err.msg);
	ck_assert_msg(h->drv->start(h, "here", &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_disk_snap_begin(&s, h, "here", &o, &err) == 0, "%s", err.msg);
	ck_assert(!s->live);
	ck_assert_ptr_null(s->checkpoint);
	ck_assert_uint_eq(s->ndisks, 1);
	ck_assert_uint_eq(s->disks[0].size, 16 * MiB);
	got = snap_all(s, 0);
	exp = image_raw("simvm", "vda", "qcow2", 16 * MiB);
	assert_same(got, exp, 16 * MiB, "sim vda");
	ck_assert_uint_eq(got[64 * 1024], 0x3c);
	free(got);
	free(exp);
	ck_assert_msg(nc_disk_snap_end(s, true, &err) == 0, "%s", err.msg);
	free(src);
	nc_host_close(h);
	free(state);
}
END_TEST

/*
 * rbd: the writer into an image of a real single-node Ceph
 * (test/testbed/ceph.sh), read back through librbd as the disk of
 * a shut-off domain, and with `rbd export`.
 */
START_TEST(test_diskio_rbd)
{
	struct tb t;
	struct nc_disk_writer *w = NULL;
	struct nc_disk_snap *s = NULL;
	struct nc_err err = { { 0 } };
	struct nc_backup_extent *z = NULL;
	size_t nz = 0, i;
	unsigned char *want, *got;
	char *cdir, *conf, *xml, *keyfile, *missing;
	struct nc_test_ceph ceph;
	char why[600];
	virDomainPtr d;

	NEED_LIBVIRT();
	cdir = nc_xasprintf("%s/ceph", T);
	if (nc_test_ceph_up(&ceph, cdir, false, "NC_CEPH_STORE_BYTES=268435456", why, sizeof(why)) != 0) {
		NC_TEST_SKIP("%s", why);
		free(cdir);
		return;
	}
	free(cdir);
	conf = nc_xstrdup(ceph.conf);
	SH("rbd -c '%s' create --size 8M rbd/nc-w", conf);
	want = nc_xcalloc(1, 8 * MiB);

	/* as a cephx user whose key only its key file holds (StoragePool rbd.keyFile) */
	SH("ceph -c '%s' auth get-or-create client.ncdisk mon 'profile rbd' osd 'profile rbd pool=rbd' "
	   "> '%s/ncdisk.keyring' && chmod 600 '%s/ncdisk.keyring'", conf, T, T);
	keyfile = nc_xasprintf("%s/ncdisk.keyring", T);
	missing = nc_xasprintf("%s/none.keyring", T);
	ck_assert_int_lt(nc_disk_writer_open(&w, "rbd/nc-w", "raw", true, conf, "ncdisk", missing, &err), 0);
	ck_assert_msg(strstr(err.msg, "rbd.keyFile") && strstr(err.msg, "cannot read it"), "%s", err.msg);
	free(missing);
	ck_assert_msg(nc_disk_writer_open(&w, "rbd/nc-w", "raw", true, conf, "ncdisk", keyfile, &err) == 0, "%s", err.msg);
	for (i = 0; i < 2 * MiB; i++)
		want[MiB + i] = (unsigned char)(i * 13 + i / 512);
	ck_assert_msg(nc_disk_writer_write(w, MiB, want + MiB, 2 * MiB, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_disk_writer_zero(w, MiB + 8192, 4096, &err) == 0, "%s", err.msg);
	memset(want + MiB + 8192, 0, 4096);
	ck_assert_msg(nc_disk_writer_close(w, &err) == 0, "%s", err.msg);
	ck_assert_int_lt(nc_disk_writer_open(&w, "rbd/nope", "raw", true, conf, NULL, NULL, &err), 0);
	ck_assert_msg(strstr(err.msg, "rbd/nope") != NULL, "%s", err.msg);
	ck_assert_int_lt(nc_disk_writer_open(&w, "nopool", "raw", true, conf, NULL, NULL, &err), 0);

	/* the same bytes through rbd export */
	SH("rbd -c '%s' export rbd/nc-w '%s/rbd.raw' >/dev/null 2>&1", conf, T);
	got = (unsigned char *)nc_xasprintf("%s/rbd.raw", T);
	{
		unsigned char *b = read_file((const char *)got, 8 * MiB);

		assert_same(b, want, 8 * MiB, "rbd export");
		free(b);
	}
	free(got);

	/* a shut-off domain with that image as its disk */
	tb_open(&t);
	xml = nc_xasprintf(
		"<domain type='qemu'><name>rbdvm</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
		"<os><type arch='x86_64' machine='pc'>hvm</type><kernel>%s/guest.elf</kernel></os><devices>"
		"<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
		"<source protocol='rbd' name='rbd/nc-w'><host name='127.0.0.1' port='%d'/></source>"
		"<target dev='vda' bus='virtio'/></disk><memballoon model='none'/></devices></domain>", T,
		ceph.mon_v1port);
	d = virDomainDefineXML(t.c, xml);
	ck_assert_msg(d != NULL, "define: %s", virGetLastErrorMessage());
	virDomainFree(d);
	free(xml);
	t.o.ceph_conf = conf;
	t.o.ceph_user = "ncdisk";
	t.o.ceph_key_file = keyfile;
	ck_assert_msg(nc_disk_snap_begin(&s, t.host, "rbdvm", &t.o, &err) == 0, "%s", err.msg);
	ck_assert(!s->live);
	ck_assert_uint_eq(s->ndisks, 1);
	ck_assert_str_eq(s->disks[0].source, "rbd/nc-w");
	ck_assert_uint_eq(s->disks[0].size, 8 * MiB);
	got = snap_all(s, 0);
	assert_same(got, want, 8 * MiB, "rbd read");
	free(got);
	/* data at [1 MiB, 3 MiB): object 0 (4 MiB) exists, object 1 does not: it is zeros */
	ck_assert_msg(nc_disk_snap_zeros(s, 0, 0, 8 * MiB, &z, &nz, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(nz, 1);
	ck_assert_uint_eq(z[0].offset, 4 * MiB);
	ck_assert_uint_eq(z[0].length, 4 * MiB);
	free(z);
	ck_assert_msg(nc_disk_snap_zeros(s, 0, 3 * MiB, 2 * MiB, &z, &nz, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(nz, 1);
	ck_assert_uint_eq(z[0].offset, 4 * MiB);
	ck_assert_uint_eq(z[0].length, MiB);
	free(z);
	ck_assert_msg(nc_disk_snap_end(s, true, &err) == 0, "%s", err.msg);
	free(want);
	free(conf);
	free(keyfile);
	tb_close(&t);
}
END_TEST

Suite *nc_suite_diskio(void)
{
	Suite *s = suite_create("diskio");
	TCase *tc = tcase_create("diskio");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_diskio_writer);
	tcase_add_test(tc, test_diskio_sim);
	tcase_add_test(tc, test_diskio_shutoff);
	tcase_add_test(tc, test_diskio_incremental);
	tcase_add_test(tc, test_diskio_failed_backup_drops_checkpoint);
	tcase_add_test(tc, test_diskio_rbd);
	suite_add_tcase(s, tc);
	return s;
}
