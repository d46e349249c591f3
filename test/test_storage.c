/*
 * test_storage.c - VM disk volumes (drivers/storage/storage.h) for real:
 *
 *   dir  on a real libvirt daemon from test/testbed/libvirtd.sh (one for the
 *        suite, on 127.0.102.x so it does not meet another testbed), checked
 *        from outside with qemu-img and qemu-io: qcow2 volumes, overlays of
 *        raw and qcow2 base images, growing (also of a running QEMU guest's
 *        disk), shrinking refused, deleting;
 *   sim  the same calls on a simulated host, and the volumes survive
 *        closing and reopening it;
 *   rbd  on a real single-node Ceph (test/testbed/ceph.sh):
 *        clones of a base image written here with librbd.
 *
 * The daemon and Ceph are started by the runner process (unchecked fixture)
 * or by a test, and stopped by the unchecked teardown, which runs after the
 * tests whether they failed or not.  A service that cannot start here makes
 * its tests skip with a line on stderr (NC_TEST_SKIP).
 */
#include <fcntl.h>
#include <math.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <rbd/librbd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

#include "../drivers/storage/storage.h"
#include "../spec/util.h"
#include "../telemetry/telemetry.h"

#define MiB (1ULL << 20)

static char base_dir[64];        /* everything of this run: /tmp/nc-storage-XXXXXX */
static char lv_dir[96];          /* the libvirtd.sh testbed */
static char ceph_dir[96];        /* test/testbed/ceph.sh, started by the rbd test */
static char host_uri[512];       /* "" when no daemon could start */

#define sh(r, ...) nc_run_in((r), base_dir, __VA_ARGS__)
#define shq(...) nc_run_inq(base_dir, __VA_ARGS__)

static void suite_setup(void)
{
	struct nc_run r;
	char *p;

	snprintf(base_dir, sizeof(base_dir), "/tmp/nc-storage-XXXXXX");
	if (!mkdtemp(base_dir))
		abort();
	snprintf(lv_dir, sizeof(lv_dir), "%s/lv", base_dir);
	snprintf(ceph_dir, sizeof(ceph_dir), "%s/ceph", base_dir);
	host_uri[0] = 0;
	if (sh(&r, "bash '%s/test/testbed/libvirtd.sh' check && NC_LV_ADDR_PREFIX=127.0.102 "
		   "bash '%s/test/testbed/libvirtd.sh' up 1 '%s' && bash '%s/test/testbed/libvirtd.sh' env '%s'",
	       NC_SOURCE_DIR, NC_SOURCE_DIR, lv_dir, NC_SOURCE_DIR, lv_dir) != 0) {
		/* libvirtd.sh check says what is missing on stdout, up on stderr */
		fprintf(stderr, "storage: no libvirt daemon here, dir tests skip: %.400s%.400s\n", r.out,
			r.err);
	} else if ((p = strstr(r.out, "NC_HOST1_URI=")) != NULL) {
		p += strlen("NC_HOST1_URI=");
		snprintf(host_uri, sizeof(host_uri), "%.*s", (int)strcspn(p, "\n"), p);
		/* env quotes values that need it */
		if (host_uri[0] == '\'') {
			memmove(host_uri, host_uri + 1, strlen(host_uri));
			host_uri[strcspn(host_uri, "'")] = 0;
		}
	}
	nc_run_free(&r);
}

static void suite_teardown(void)
{
	/* a serve the cephx test started, if it is still there */
	shq("[ -s auth/serve.pid ] && kill -9 $(cat auth/serve.pid) 2>/dev/null; true");
	shq("[ -d '%s' ] && bash '%s/test/testbed/libvirtd.sh' down '%s' >/dev/null 2>&1; "
	    "bash '%s/test/testbed/ceph.sh' down '%s' >/dev/null 2>&1; "
	    "cd / && rm -rf '%s'", lv_dir, NC_SOURCE_DIR, lv_dir, NC_SOURCE_DIR, ceph_dir, base_dir);
}

/* ---- dir pools on a real daemon ---- */

static struct nc_host_conn *open_host(void)
{
	struct nc_host_conn *h = NULL;
	struct nc_err err = { "" };

	if (!host_uri[0])
		return NULL;
	ck_assert_msg(nc_host_open(&h, host_uri, NULL, &err) == 0, "%s", err.msg);
	return h;
}

#define SKIP_WITHOUT_DAEMON(h) do { \
		if (!(h)) { \
			NC_TEST_SKIP("no libvirt daemon (see the storage suite's first message)"); \
			return; \
		} \
	} while (0)

static struct nc_pool_def dir_pool(const char *name, char *path_buf, size_t len)
{
	struct nc_pool_def p = { .name = name, .type = "dir" };

	snprintf(path_buf, len, "%s/pools/%s", base_dir, name);
	p.path = path_buf;
	return p;
}

/* `qemu-img info --output=json` of a file (caller frees) */
static char *img_info(const char *path)
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, "qemu-img info -U --output=json '%s'", path), 0);
	free(r.err);
	return r.out;
}

/* the <description> of a secret on a real daemon (caller frees) */
static char *secret_description(struct nc_host_conn *h, const char *uuid)
{
	virSecretPtr s = virSecretLookupByUUIDString(nc_libvirt_conn(h), uuid);
	char *xml, *a, *e, *out;

	ck_assert_msg(s != NULL, "%s", virGetLastErrorMessage());
	xml = virSecretGetXMLDesc(s, 0);
	virSecretFree(s);
	ck_assert_ptr_nonnull(xml);
	a = strstr(xml, "<description>");
	e = a ? strstr(a, "</description>") : NULL;
	out = a && e ? nc_xstrndup(a + 13, (size_t)(e - a - 13)) : nc_xstrdup("");
	free(xml);
	return out;
}

/*
 * A secret cut short between its definition and its value (a kill) must not
 * look right: its description (the key's fingerprint, what plans compare) is
 * written only after the value.  Found attacking issue 11: the final
 * description came first, so a secret left without its value, or with the
 * old key, matched every later plan.
 */
START_TEST(test_storage_secret_cut_short)
{
	struct nc_host_conn *h;
	struct nc_err err = { "" };
	static const unsigned char key1[16] = "0123456789abcdef", key2[16] = "fedcba9876543210";
	struct nc_secret_def d = { "6a1d1f0e-3b1e-5c1a-9a1b-0123456789ab", "novacron-ceph-cutshort",
				   "NovaCron: key A", key1, sizeof(key1) };
	virSecretPtr s;
	char *desc;

	/* calls 1 and 2: the first secret; 3 and 4: the second, cut short after its definition
	 * (the switch is read once per process: Check forks each test) */
	setenv("NOVACRON_FAIL_AT", "4", 1);
	h = open_host();
	SKIP_WITHOUT_DAEMON(h);
	ck_assert_msg(h->drv->secret_define(h, &d, &err) == 0, "%s", err.msg);
	desc = secret_description(h, d.uuid);
	ck_assert_str_eq(desc, "NovaCron: key A");
	free(desc);

	d.description = "NovaCron: key B";
	d.value = key2;
	ck_assert_int_eq(h->drv->secret_define(h, &d, &err), -1);
	ck_assert_msg(strstr(err.msg, "secret value: injected failure") != NULL, "%s", err.msg);
	desc = secret_description(h, d.uuid);
	ck_assert_msg(strcmp(desc, "NovaCron: key B") != 0 && strcmp(desc, "NovaCron: key A") != 0,
		      "a secret cut short looks set: '%s'", desc);
	free(desc);

	/* the next pass sets it */
	ck_assert_msg(h->drv->secret_define(h, &d, &err) == 0, "%s", err.msg);
	desc = secret_description(h, d.uuid);
	ck_assert_str_eq(desc, "NovaCron: key B");
	free(desc);
	s = virSecretLookupByUUIDString(nc_libvirt_conn(h), d.uuid);
	ck_assert_ptr_nonnull(s);
	virSecretUndefine(s);
	virSecretFree(s);
	nc_host_close(h);
	unsetenv("NOVACRON_FAIL_AT");
}
END_TEST

START_TEST(test_storage_dir_create_empty)
{
	struct nc_host_conn *h = open_host();
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_run r;
	char path[128], *file, *info;
	struct nc_pool_def pool = dir_pool("empty", path, sizeof(path));

	SKIP_WITHOUT_DAEMON(h);
	/* nothing yet: no volume, and looking does not define the pool */
	ck_assert_int_eq(nc_vol_info(h, &pool, "vm1-root.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_int_eq(sh(&r, "virsh -c '%s' pool-info novacron-empty", host_uri), 1);
	HAS(r.err, "Storage pool not found");
	nc_run_free(&r);

	ck_assert_msg(nc_vol_create(h, &pool, "vm1-root.qcow2", 64 * MiB, NULL, &err) == 0, "%s", err.msg);
	file = nc_xasprintf("%s/vm1-root.qcow2", path);
	info = img_info(file);
	HAS(info, "\"format\": \"qcow2\"");
	HAS(info, "\"virtual-size\": 67108864,");
	ck_assert_ptr_null(strstr(info, "backing-filename"));
	free(info);
	/* the libvirt pool is there, running and autostarted */
	ck_assert_int_eq(sh(&r, "virsh -c '%s' pool-info novacron-empty", host_uri), 0);
	ck_assert_msg(strstr(r.out, "running") && strstr(r.out, "Autostart:      yes"), "%s", r.out);
	nc_run_free(&r);

	ck_assert_msg(nc_vol_info(h, &pool, "vm1-root.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, 64 * MiB);
	ck_assert_uint_lt(v.allocation, 4 * MiB);
	ck_assert_str_eq(v.format, "qcow2");
	ck_assert_str_eq(v.path, file);
	ck_assert_ptr_null(v.backing);
	nc_volume_release(&v);
	nc_volume_release(&v);    /* released twice: harmless */

	/* an existing volume is never overwritten */
	ck_assert_int_eq(nc_vol_create(h, &pool, "vm1-root.qcow2", 128 * MiB, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "disk vm1-root.qcow2: already exists in storage pool empty");
	info = img_info(file);
	HAS(info, "\"virtual-size\": 67108864,");
	free(info);

	/* a file made behind libvirt's back is seen (the pool is refreshed) */
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 '%s/stray.qcow2' 1M", path), 0);
	ck_assert_msg(nc_vol_info(h, &pool, "stray.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, 1 * MiB);
	nc_volume_release(&v);
	free(file);
	nc_host_close(h);
}
END_TEST

START_TEST(test_storage_dir_clone_base)
{
	struct nc_host_conn *h = open_host();
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_run r;
	struct stat st;
	char path[128], *file, *info, *base;
	struct nc_pool_def pool = dir_pool("clones", path, sizeof(path));

	SKIP_WITHOUT_DAEMON(h);
	/* a raw base image with known bytes at 0 and at 8 MiB */
	base = nc_xasprintf("%s/base.raw", base_dir);
	ck_assert_int_eq(shq("qemu-img create -q -f raw base.raw 16M && "
			     "qemu-io -f raw -c 'write -q -P 0xab 0 1M' -c 'write -q -P 0xcd 8M 1M' base.raw"), 0);
	/* smaller than the base: the volume gets the base's size */
	ck_assert_msg(nc_vol_create(h, &pool, "vm1-root.qcow2", 8 * MiB, base, &err) == 0, "%s", err.msg);
	file = nc_xasprintf("%s/vm1-root.qcow2", path);
	info = img_info(file);
	HAS(info, "\"format\": \"qcow2\"");
	HAS(info, "\"virtual-size\": 16777216,");
	HAS(info, "\"backing-filename-format\": \"raw\"");
	HAS(info, base);
	free(info);
	/* the base's bytes show through the overlay, which holds none of them */
	ck_assert_int_eq(sh(&r, "qemu-io -r -f qcow2 -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 8M 1M' "
				"-c 'read -P 0 2M 1M' '%s'", file), 0);
	ck_assert_msg(!strstr(r.out, "Pattern verification failed"), "%s", r.out);
	nc_run_free(&r);
	ck_assert_int_eq(shq("qemu-img compare -U base.raw '%s'", file), 0);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_lt(st.st_size, 1 << 20);

	ck_assert_msg(nc_vol_info(h, &pool, "vm1-root.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, 16 * MiB);
	ck_assert_str_eq(v.format, "qcow2");
	ck_assert_ptr_nonnull(v.backing);
	ck_assert_str_eq(v.backing, base);
	nc_volume_release(&v);

	/* a qcow2 base, larger ask: backing format qcow2, the size asked */
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 base.qcow2 32M && "
			     "qemu-io -f qcow2 -c 'write -q -P 0x11 4M 1M' base.qcow2"), 0);
	free(base);
	base = nc_xasprintf("%s/base.qcow2", base_dir);
	ck_assert_msg(nc_vol_create(h, &pool, "vm2-root.qcow2", 48 * MiB, base, &err) == 0, "%s", err.msg);
	free(file);
	file = nc_xasprintf("%s/vm2-root.qcow2", path);
	info = img_info(file);
	HAS(info, "\"virtual-size\": 50331648,");
	HAS(info, "\"backing-filename-format\": \"qcow2\"");
	free(info);
	ck_assert_int_eq(sh(&r, "qemu-io -r -f qcow2 -c 'read -P 0x11 4M 1M' '%s'", file), 0);
	ck_assert_msg(!strstr(r.out, "Pattern verification failed"), "%s", r.out);
	nc_run_free(&r);
	/* a missing base image is an error, and leaves no volume behind */
	ck_assert_int_eq(nc_vol_create(h, &pool, "vm3-root.qcow2", 8 * MiB, "/nonexistent/base.img", &err), -1);
	HAS(err.msg, "disk vm3-root.qcow2: cannot create the volume from its base image: ");
	ck_assert_int_eq(nc_vol_info(h, &pool, "vm3-root.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	free(file);
	free(base);
	nc_host_close(h);
}
END_TEST

START_TEST(test_storage_dir_grow_shrink)
{
	struct nc_host_conn *h = open_host();
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_run r;
	char path[128], *file, *info;
	struct nc_pool_def pool = dir_pool("resize", path, sizeof(path));

	SKIP_WITHOUT_DAEMON(h);
	ck_assert_msg(nc_vol_create(h, &pool, "vm1-root.qcow2", 32 * MiB, NULL, &err) == 0, "%s", err.msg);
	file = nc_xasprintf("%s/vm1-root.qcow2", path);
	ck_assert_int_eq(shq("qemu-io -f qcow2 -c 'write -q -P 0x5a 0 1M' -c 'write -q -P 0x77 31M 1M' '%s'", file), 0);

	ck_assert_msg(nc_vol_resize(h, &pool, "vm1-root.qcow2", 64 * MiB, NULL, NULL, &err) == 0, "%s", err.msg);
	info = img_info(file);
	HAS(info, "\"virtual-size\": 67108864,");
	free(info);
	ck_assert_int_eq(sh(&r, "qemu-io -r -f qcow2 -c 'read -P 0x5a 0 1M' -c 'read -P 0x77 31M 1M' "
				"-c 'read -P 0 40M 1M' '%s'", file), 0);
	ck_assert_msg(!strstr(r.out, "Pattern verification failed"), "%s", r.out);
	nc_run_free(&r);
	ck_assert_int_eq(nc_vol_info(h, &pool, "vm1-root.qcow2", &v, &err), 0);
	ck_assert_uint_eq(v.capacity, 64 * MiB);
	nc_volume_release(&v);

	/* the same size: nothing to do */
	ck_assert_msg(nc_vol_resize(h, &pool, "vm1-root.qcow2", 64 * MiB, NULL, NULL, &err) == 0, "%s", err.msg);
	/* shrinking: refused, nothing touched */
	ck_assert_int_eq(nc_vol_resize(h, &pool, "vm1-root.qcow2", 16 * MiB, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "disk vm1-root.qcow2: shrinking from 64 MiB to 16 MiB is not supported; "
				  "grow it or create a new disk");
	info = img_info(file);
	HAS(info, "\"virtual-size\": 67108864,");
	free(info);
	ck_assert_int_eq(sh(&r, "qemu-io -r -f qcow2 -c 'read -P 0x77 31M 1M' '%s'", file), 0);
	ck_assert_msg(!strstr(r.out, "Pattern verification failed"), "%s", r.out);
	nc_run_free(&r);
	/* a missing volume cannot be resized */
	ck_assert_int_eq(nc_vol_resize(h, &pool, "vm9-root.qcow2", 64 * MiB, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "disk vm9-root.qcow2: does not exist in storage pool resize");
	free(file);
	nc_host_close(h);
}
END_TEST

/* the disk of a running QEMU guest (TCG, no OS needed) grows live */
START_TEST(test_storage_dir_grow_running)
{
	struct nc_host_conn *h = open_host();
	struct nc_err err = { "" };
	struct nc_run r;
	char path[128];
	struct nc_pool_def pool = dir_pool("live", path, sizeof(path));

	SKIP_WITHOUT_DAEMON(h);
	ck_assert_msg(nc_vol_create(h, &pool, "stor-live-root.qcow2", 32 * MiB, NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(sh(&r, "cat > live.xml <<EOF\n"
				"<domain type='qemu'><name>stor-live</name><memory unit='MiB'>64</memory>"
				"<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices>"
				"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
				"<source file='%s/stor-live-root.qcow2'/><target dev='vda' bus='virtio'/></disk>"
				"</devices></domain>\nEOF\n"
				"virsh -c '%s' define live.xml && virsh -c '%s' start stor-live",
				path, host_uri, host_uri) == 0, "%s", r.err);
	nc_run_free(&r);
	ck_assert_msg(nc_vol_resize(h, &pool, "stor-live-root.qcow2", 96 * MiB, "stor-live", "vda", &err) == 0,
		      "%s", err.msg);
	/* the guest's view (QEMU's block device) has the new size */
	ck_assert_int_eq(sh(&r, "virsh -c '%s' domblkinfo stor-live vda --human", host_uri), 0);
	HAS(r.out, "Capacity:       96.000 MiB");
	nc_run_free(&r);
	/* shrinking a running guest's disk: refused before QEMU is asked */
	ck_assert_int_eq(nc_vol_resize(h, &pool, "stor-live-root.qcow2", 32 * MiB, "stor-live", "vda", &err), -1);
	HAS(err.msg, "shrinking from 96 MiB to 32 MiB is not supported");
	shq("virsh -c '%s' destroy stor-live; virsh -c '%s' undefine stor-live", host_uri, host_uri);
	nc_host_close(h);
}
END_TEST

START_TEST(test_storage_dir_delete)
{
	struct nc_host_conn *h = open_host();
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_run r;
	char path[128], other[128], *file;
	struct nc_pool_def pool = dir_pool("del", path, sizeof(path));
	struct nc_pool_def never = dir_pool("never", other, sizeof(other));

	SKIP_WITHOUT_DAEMON(h);
	ck_assert_msg(nc_vol_create(h, &pool, "vm1-root.qcow2", 16 * MiB, NULL, &err) == 0, "%s", err.msg);
	file = nc_xasprintf("%s/vm1-root.qcow2", path);
	ck_assert_int_eq(access(file, F_OK), 0);
	ck_assert_msg(nc_vol_delete(h, &pool, "vm1-root.qcow2", &err) == 0, "%s", err.msg);
	ck_assert_int_ne(access(file, F_OK), 0);
	ck_assert_int_eq(nc_vol_info(h, &pool, "vm1-root.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	/* again, and in a pool that was never made: nothing to do */
	ck_assert_msg(nc_vol_delete(h, &pool, "vm1-root.qcow2", &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_vol_delete(h, &never, "vm1-root.qcow2", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sh(&r, "virsh -c '%s' pool-info novacron-never", host_uri), 1);
	HAS(r.err, "Storage pool not found");
	nc_run_free(&r);
	/* created again after the delete */
	ck_assert_msg(nc_vol_create(h, &pool, "vm1-root.qcow2", 16 * MiB, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(access(file, F_OK), 0);
	free(file);
	nc_host_close(h);
}
END_TEST

START_TEST(test_storage_dir_errors)
{
	struct nc_host_conn *h = open_host();
	struct nc_err err = { "" };
	struct nc_volume v;
	char path[128];
	struct nc_pool_def pool = dir_pool("conflict", path, sizeof(path));
	struct nc_pool_def moved = pool, odd = pool;

	SKIP_WITHOUT_DAEMON(h);
	ck_assert_msg(nc_vol_create(h, &pool, "vm1-root.qcow2", 16 * MiB, NULL, &err) == 0, "%s", err.msg);
	/* the libvirt pool of that name has another directory: not redefined */
	moved.path = "/tmp/elsewhere";
	ck_assert_int_eq(nc_vol_info(h, &moved, "vm1-root.qcow2", &v, &err), -1);
	ck_assert_msg(strstr(err.msg, "storage pool conflict: libvirt pool novacron-conflict on this host has path ") &&
		      strstr(err.msg, ", not /tmp/elsewhere"), "%s", err.msg);
	odd.type = "nfs";
	ck_assert_int_eq(nc_vol_create(h, &odd, "vm1-root.qcow2", 16 * MiB, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "storage pool conflict: unknown type 'nfs' (expected dir or rbd)");
	/* dir pools need a libvirt host */
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm1-root.qcow2", &v, &err), -1);
	ck_assert_str_eq(err.msg, "disk vm1-root.qcow2: dir pools need a libvirt or sim host");
	nc_host_close(h);
}
END_TEST

/* sha256sum of a file here (64 hex digits into out) */
static void file_sha256(const char *file, char out[65])
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, "sha256sum '%s'", file), 0);
	snprintf(out, 65, "%.64s", r.out);
	nc_run_free(&r);
}

static int open_ro(const char *file, uint64_t *len)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*len = (uint64_t)st.st_size;
	return fd;
}

START_TEST(test_storage_dir_upload)
{
	struct nc_host_conn *h = open_host();
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_run r;
	struct stat st;
	char path[128], sum[65], bad[65], *src, *vfile, *clone, *info;
	struct nc_pool_def pool = dir_pool("images", path, sizeof(path));
	uint64_t len;
	int fd;

	SKIP_WITHOUT_DAEMON(h);
	/* a qcow2 image with known bytes, streamed into the host's pool */
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 up.qcow2 24M && "
			     "qemu-io -f qcow2 -c 'write -q -P 0x5a 0 1M' -c 'write -q -P 0x33 20M 2M' up.qcow2"), 0);
	src = nc_xasprintf("%s/up.qcow2", base_dir);
	file_sha256(src, sum);
	fd = open_ro(src, &len);
	ck_assert_msg(nc_vol_upload_verified(h, &pool, "img-up-1.qcow2", "qcow2", fd, len, sum, &err) == 0,
		      "%s", err.msg);
	vfile = nc_xasprintf("%s/img-up-1.qcow2", path);
	/* byte for byte the same file, and the daemon sees a qcow2 of 24 MiB */
	ck_assert_int_eq(shq("cmp '%s' '%s'", src, vfile), 0);
	ck_assert_msg(nc_vol_info(h, &pool, "img-up-1.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_str_eq(v.format, "qcow2");
	ck_assert_uint_eq(v.capacity, 24 * MiB);
	nc_volume_release(&v);
	/* a VM disk as a copy-on-write clone of it */
	ck_assert_msg(nc_vol_create(h, &pool, "vm1-root.qcow2", 32 * MiB, vfile, &err) == 0, "%s", err.msg);
	clone = nc_xasprintf("%s/vm1-root.qcow2", path);
	info = img_info(clone);
	HAS(info, "\"backing-filename-format\": \"qcow2\"");
	HAS(info, vfile);
	free(info);
	ck_assert_int_eq(sh(&r, "qemu-io -r -f qcow2 -c 'read -P 0x5a 0 1M' -c 'read -P 0x33 20M 2M' '%s'", clone), 0);
	ck_assert_msg(!strstr(r.out, "Pattern verification failed"), "%s", r.out);
	nc_run_free(&r);
	/* never overwritten */
	ck_assert_int_eq(nc_vol_upload(h, &pool, "img-up-1.qcow2", "qcow2", fd, len, &err), -1);
	ck_assert_str_eq(err.msg, "volume img-up-1.qcow2: already exists in storage pool images");

	/* a wrong sha256: refused after the bytes went, and nothing is kept */
	memcpy(bad, sum, sizeof(bad));
	bad[0] = bad[0] == '0' ? '1' : '0';
	ck_assert_int_eq(nc_vol_upload_verified(h, &pool, "img-up-2.qcow2", "qcow2", fd, len, bad, &err), -1);
	HAS(err.msg, "volume img-up-2.qcow2: the bytes sent have sha256 ");
	HAS(err.msg, "the volume was deleted");
	ck_assert_int_eq(nc_vol_info(h, &pool, "img-up-2.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	{
		char *gone = nc_xasprintf("%s/img-up-2.qcow2", path);

		ck_assert_int_ne(access(gone, F_OK), 0);
		free(gone);
	}
	/* a file shorter than the length given: an error, nothing kept */
	ck_assert_int_eq(nc_vol_upload(h, &pool, "img-up-3.raw", "raw", fd, len + 4096, &err), -1);
	HAS(err.msg, "volume img-up-3.raw: the image to upload is not a regular file of at least ");
	ck_assert_int_eq(nc_vol_info(h, &pool, "img-up-3.raw", &v, &err), 0);
	ck_assert(!v.exists);
	close(fd);

	/* a sparse raw image: 64 MiB with 2 MiB of data stays sparse on the host */
	ck_assert_int_eq(shq("truncate -s 64M sparse.raw && "
			     "qemu-io -f raw -c 'write -q -P 0x77 4M 1M' -c 'write -q -P 0x78 40M 1M' sparse.raw"), 0);
	free(src);
	src = nc_xasprintf("%s/sparse.raw", base_dir);
	file_sha256(src, sum);
	fd = open_ro(src, &len);
	ck_assert_msg(nc_vol_upload_verified(h, &pool, "img-sparse.raw", "raw", fd, len, sum, &err) == 0,
		      "%s", err.msg);
	close(fd);
	free(vfile);
	vfile = nc_xasprintf("%s/img-sparse.raw", path);
	ck_assert_int_eq(shq("cmp '%s' '%s'", src, vfile), 0);
	ck_assert_int_eq(stat(vfile, &st), 0);
	ck_assert_int_eq(st.st_size, 64 * MiB);
	ck_assert_msg((uint64_t)st.st_blocks * 512 < 8 * MiB, "allocated %llu bytes",
		      (unsigned long long)st.st_blocks * 512);
	ck_assert_msg(nc_vol_info(h, &pool, "img-sparse.raw", &v, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(v.format, "raw");
	nc_volume_release(&v);
	/* bad arguments, before anything is touched */
	ck_assert_int_eq(nc_vol_upload(h, &pool, "x.img", "vmdk", 0, 1, &err), -1);
	ck_assert_str_eq(err.msg, "volume x.img: format 'vmdk' is not qcow2 or raw");
	free(src);
	free(vfile);
	free(clone);
	nc_host_close(h);
}
END_TEST

/* ---- sim hosts ---- */

START_TEST(test_storage_sim_persists)
{
	struct nc_driver_opts opts;
	struct nc_host_conn *h = NULL;
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_pool_def pool = { .name = "local", .type = "dir", .path = "/var/lib/novacron/local" };
	char *state = nc_xasprintf("%s/sim-state", base_dir), *xml = NULL;
	size_t len;

	opts.state_dir = state;
	ck_assert_msg(nc_host_open(&h, "sim:///stor1", &opts, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_info(h, &pool, "vm1-root.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_msg(nc_vol_create(h, &pool, "vm1-root.qcow2", 20ULL << 30, NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_vol_create(h, &pool, "vm2-root.qcow2", 10ULL << 30, "/images/debian-12.qcow2", &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(nc_vol_create(h, &pool, "vm1-root.qcow2", 20ULL << 30, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "disk vm1-root.qcow2: already exists in storage pool local");
	/* no file is made on a simulated host */
	ck_assert_int_ne(access("/var/lib/novacron/local/vm1-root.qcow2", F_OK), 0);
	/* grow (emulated: the test driver has no resize), refuse to shrink */
	ck_assert_msg(nc_vol_resize(h, &pool, "vm2-root.qcow2", 30ULL << 30, "vm2", "vda", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_resize(h, &pool, "vm1-root.qcow2", 10ULL << 30, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "disk vm1-root.qcow2: shrinking from 20 GiB to 10 GiB is not supported; "
				  "grow it or create a new disk");
	ck_assert_msg(nc_vol_create(h, &pool, "vm3-data.qcow2", 1ULL << 30, NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_vol_delete(h, &pool, "vm3-data.qcow2", &err) == 0, "%s", err.msg);
	ck_assert_msg(h->drv->commit(h, &err) == 0, "%s", err.msg);
	nc_host_close(h);

	/* the state file holds them the test driver's way */
	xml = nc_xasprintf("%s/stor1.xml", state);
	{
		char *text = NULL;

		ck_assert_int_eq(nc_read_file(xml, 1 << 20, &text, &len), 0);
		HAS(text, "<name>novacron-local</name>");
		HAS(text, "<name>vm1-root.qcow2</name>");
		ck_assert_ptr_null(strstr(text, "vm3-data"));
		free(text);
	}
	free(xml);

	/* reopened: the same volumes, sizes and backing files */
	ck_assert_msg(nc_host_open(&h, "sim:///stor1", &opts, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_vol_info(h, &pool, "vm1-root.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, 20ULL << 30);
	ck_assert_str_eq(v.format, "qcow2");
	ck_assert_str_eq(v.path, "/var/lib/novacron/local/vm1-root.qcow2");
	ck_assert_ptr_null(v.backing);
	nc_volume_release(&v);
	ck_assert_msg(nc_vol_info(h, &pool, "vm2-root.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, 30ULL << 30);
	ck_assert_ptr_nonnull(v.backing);
	ck_assert_str_eq(v.backing, "/images/debian-12.qcow2");
	nc_volume_release(&v);
	ck_assert_int_eq(nc_vol_info(h, &pool, "vm3-data.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	/* deleted and committed: gone after the next reopen, the other stays */
	ck_assert_msg(nc_vol_delete(h, &pool, "vm1-root.qcow2", &err) == 0, "%s", err.msg);
	ck_assert_msg(h->drv->commit(h, &err) == 0, "%s", err.msg);
	nc_host_close(h);
	ck_assert_msg(nc_host_open(&h, "sim:///stor1", &opts, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_info(h, &pool, "vm1-root.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_int_eq(nc_vol_info(h, &pool, "vm2-root.qcow2", &v, &err), 0);
	ck_assert(v.exists);
	nc_volume_release(&v);
	nc_host_close(h);
	free(state);
}
END_TEST

/* a simulated host records an uploaded volume without its bytes, and keeps it */
START_TEST(test_storage_sim_upload)
{
	struct nc_driver_opts opts;
	struct nc_host_conn *h = NULL;
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_pool_def pool = { .name = "local", .type = "dir", .path = "/var/lib/novacron/local" };
	char *state = nc_xasprintf("%s/sim-up", base_dir), *src = nc_xasprintf("%s/sim.qcow2", base_dir);
	char sum[65];
	uint64_t len;
	int fd;

	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 sim.qcow2 5M"), 0);
	file_sha256(src, sum);
	fd = open_ro(src, &len);
	opts.state_dir = state;
	ck_assert_msg(nc_host_open(&h, "sim:///up1", &opts, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_vol_upload_verified(h, &pool, "img-a.qcow2", "qcow2", fd, len, sum, &err) == 0,
		      "%s", err.msg);
	/* the bytes are still read and checked: a wrong sha256 is refused here too */
	sum[5] = sum[5] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(nc_vol_upload_verified(h, &pool, "img-b.qcow2", "qcow2", fd, len, sum, &err), -1);
	HAS(err.msg, "the volume was deleted");
	ck_assert_msg(h->drv->commit(h, &err) == 0, "%s", err.msg);
	nc_host_close(h);
	ck_assert_msg(nc_host_open(&h, "sim:///up1", &opts, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_vol_info(h, &pool, "img-a.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, len);
	ck_assert_str_eq(v.format, "qcow2");
	nc_volume_release(&v);
	ck_assert_int_eq(nc_vol_info(h, &pool, "img-b.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_int_ne(access("/var/lib/novacron/local/img-a.qcow2", F_OK), 0);
	nc_host_close(h);
	close(fd);
	free(src);
	free(state);
}
END_TEST

/* a volume with allocation bytes in a sim host's pool (the test driver counts it against the pool) */
static void sim_vol(struct nc_host_conn *h, const char *name, uint64_t capacity, uint64_t allocation)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(nc_libvirt_conn(h), "novacron-local");
	char *xml = nc_xasprintf("<volume><name>%s</name><capacity>%llu</capacity><allocation>%llu</allocation>"
				 "<target><format type='qcow2'/></target></volume>", name,
				 (unsigned long long)capacity, (unsigned long long)allocation);
	virStorageVolPtr v;

	ck_assert_ptr_nonnull(p);
	v = virStorageVolCreateXML(p, xml, 0);
	ck_assert_msg(v != NULL, "%s", virGetLastErrorMessage());
	virStorageVolFree(v);
	virStoragePoolFree(p);
	free(xml);
}

/*
 * Cold migration's copy between two simulated hosts (the test driver has no
 * volume upload/download: the volume's metadata is the copy): capacity and
 * allocation arrive; a destination pool without room for the allocation
 * fails and keeps nothing; a leftover of an interrupted copy is replaced;
 * undo removes the copy; a missing source volume is no copy.
 */
START_TEST(test_storage_sim_copy)
{
	struct nc_driver_opts opts;
	struct nc_host_conn *a = NULL, *b = NULL;
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_vol_copy c;
	struct nc_pool_def pool = { .name = "local", .type = "dir", .path = "/var/lib/novacron/local" };
	char *state = nc_xasprintf("%s/sim-copy", base_dir);

	opts.state_dir = state;
	ck_assert_msg(nc_host_open(&a, "sim:///copya", &opts, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_host_open(&b, "sim:///copyb", &opts, &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_vol_create(a, &pool, "vm3-root.qcow2", 1ULL << 30, NULL, &err) == 0, "%s", err.msg);
	sim_vol(a, "vm1-root.qcow2", 80ULL << 30, 60ULL << 30);
	sim_vol(a, "vm2-root.qcow2", 40ULL << 30, 30ULL << 30);

	ck_assert_msg(nc_vol_copy(a, b, &pool, "vm1-root.qcow2", &c, NULL, NULL, &err) == 0, "%s", err.msg);
	ck_assert(c.found && !c.shared);
	ck_assert_uint_eq(c.bytes, 60ULL << 30);
	ck_assert_uint_eq(c.ncreated, 1);
	ck_assert_str_eq(c.created[0], "/var/lib/novacron/local/vm1-root.qcow2");
	nc_vol_copy_release(&c);
	ck_assert_msg(nc_vol_info(b, &pool, "vm1-root.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, 80ULL << 30);
	ck_assert_uint_eq(v.allocation, 60ULL << 30);
	ck_assert_str_eq(v.format, "qcow2");
	nc_volume_release(&v);
	/* its marker stays until the domain is defined there, then goes */
	ck_assert_int_eq(nc_vol_info(b, &pool, "vm1-root.qcow2.novacron-copy", &v, &err), 0);
	ck_assert(v.exists);
	nc_volume_release(&v);
	ck_assert_msg(nc_vol_copy_unmark(b, &pool, "vm1-root.qcow2", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_info(b, &pool, "vm1-root.qcow2.novacron-copy", &v, &err), 0);
	ck_assert(!v.exists);
	/* two hosts' own pools: not shared (the probe is gone again) */
	ck_assert_int_eq(nc_vol_shared(a, b, &pool, "vm1-root.qcow2", &err), 0);
	ck_assert_int_eq(nc_vol_info(b, &pool, "vm1-root.qcow2.novacron-probe", &v, &err), 0);
	ck_assert(!v.exists);

	/* the destination pool (100 GiB) holds 60 + 20: no room for 30 more */
	sim_vol(b, "filler.qcow2", 20ULL << 30, 20ULL << 30);
	ck_assert_int_eq(nc_vol_copy(a, b, &pool, "vm2-root.qcow2", &c, NULL, NULL, &err), -1);
	HAS(err.msg, "disk vm2-root.qcow2: cannot create the volume on the destination: ");
	ck_assert_int_eq(nc_vol_info(b, &pool, "vm2-root.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_int_eq(nc_vol_info(b, &pool, "vm2-root.qcow2.novacron-copy", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_int_eq(nc_vol_info(a, &pool, "vm2-root.qcow2", &v, &err), 0);
	ck_assert(v.exists);
	nc_volume_release(&v);

	/*
	 * A volume of that name on the destination that no copy left there (an
	 * operator's file, a disk a deleted VM retained) is never overwritten:
	 * before the copy marker, it was deleted and replaced (found attacking
	 * issue 11).
	 */
	sim_vol(b, "vm3-root.qcow2", 2ULL << 30, 0);
	ck_assert_int_eq(nc_vol_copy(a, b, &pool, "vm3-root.qcow2", &c, NULL, NULL, &err), -1);
	ck_assert_msg(strstr(err.msg, "did not copy there") != NULL, "%s", err.msg);
	ck_assert_msg(nc_vol_info(b, &pool, "vm3-root.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, 2ULL << 30);
	nc_volume_release(&v);
	ck_assert_msg(nc_vol_info(b, &pool, "vm3-root.qcow2.novacron-copy", &v, &err) == 0, "%s", err.msg);
	ck_assert(!v.exists);
	nc_volume_release(&v);

	/* a leftover of an interrupted copy (its marker beside it) is replaced by the source's */
	sim_vol(b, "vm3-root.qcow2.novacron-copy", 0, 0);
	ck_assert_msg(nc_vol_copy(a, b, &pool, "vm3-root.qcow2", &c, NULL, NULL, &err) == 0, "%s", err.msg);
	ck_assert(c.found && !c.shared);
	ck_assert_msg(nc_vol_info(b, &pool, "vm3-root.qcow2", &v, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(v.capacity, 1ULL << 30);
	nc_volume_release(&v);
	ck_assert_msg(nc_vol_copy_undo(b, &c, &err) == 0, "%s", err.msg);
	nc_vol_copy_release(&c);
	ck_assert_int_eq(nc_vol_info(b, &pool, "vm3-root.qcow2", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_int_eq(nc_vol_info(b, &pool, "vm3-root.qcow2.novacron-copy", &v, &err), 0);
	ck_assert(!v.exists);

	/* nothing on the source: nothing to copy */
	ck_assert_msg(nc_vol_copy(a, b, &pool, "nosuch.qcow2", &c, NULL, NULL, &err) == 0, "%s", err.msg);
	ck_assert(!c.found);
	ck_assert_uint_eq(c.ncreated, 0);
	nc_vol_copy_release(&c);
	nc_host_close(a);
	nc_host_close(b);
	free(state);
}
END_TEST

/* ---- rbd on a real Ceph ---- */

static int rbd_bytes_are(rbd_image_t img, uint64_t off, size_t len, unsigned char want)
{
	unsigned char *buf = nc_xmalloc(len);
	ssize_t n = rbd_read(img, off, len, (char *)buf);
	size_t i;
	int ok = n == (ssize_t)len;

	for (i = 0; ok && i < len; i++)
		ok = buf[i] == want;
	free(buf);
	return ok;
}

START_TEST(test_storage_rbd)
{
	struct nc_err err = { "" };
	struct nc_volume v;
	struct nc_test_ceph ceph;
	char why[600];
	char *conf;
	struct nc_pool_def pool = { .name = "ceph", .type = "rbd", .rbd_pool = "rbd" };
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t img;
	int order = 22, prot = 0;
	char *chunk;

	if (nc_test_ceph_up(&ceph, ceph_dir, false, NULL, why, sizeof(why)) != 0) {
		NC_TEST_SKIP("%s", why);
		return;
	}
	conf = nc_xstrdup(ceph.conf);
	pool.ceph_conf = conf;

	/* a base image with data, written here with librbd */
	ck_assert_int_eq(rados_create(&cluster, "admin"), 0);
	ck_assert_int_eq(rados_conf_read_file(cluster, conf), 0);
	ck_assert_int_eq(rados_connect(cluster), 0);
	ck_assert_int_eq(rados_ioctx_create(cluster, "rbd", &io), 0);
	ck_assert_int_eq(rbd_create2(io, "debian-base", 32 * MiB, 1 /* layering */, &order), 0);
	ck_assert_int_eq(rbd_open(io, "debian-base", &img, NULL), 0);
	chunk = nc_xmalloc(MiB);
	memset(chunk, 0xab, MiB);
	ck_assert_int_eq(rbd_write(img, 0, MiB, chunk), (ssize_t)MiB);
	memset(chunk, 0xcd, MiB);
	ck_assert_int_eq(rbd_write(img, 20 * MiB, MiB, chunk), (ssize_t)MiB);
	free(chunk);
	ck_assert_int_eq(rbd_close(img), 0);

	/* a clone of it: the base's bytes, its parent, the size asked */
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm1-root", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_msg(nc_vol_create(NULL, &pool, "vm1-root", 64 * MiB, "debian-base", &err) == 0, "%s", err.msg);
	ck_assert_msg(nc_vol_info(NULL, &pool, "vm1-root", &v, &err) == 0, "%s", err.msg);
	ck_assert(v.exists);
	ck_assert_uint_eq(v.capacity, 64 * MiB);
	ck_assert_str_eq(v.format, "raw");
	ck_assert_str_eq(v.path, "rbd/vm1-root");
	ck_assert_ptr_nonnull(v.backing);
	ck_assert_str_eq(v.backing, "rbd/debian-base");
	nc_volume_release(&v);
	ck_assert_int_eq(rbd_open_read_only(io, "vm1-root", &img, NULL), 0);
	ck_assert(rbd_bytes_are(img, 0, MiB, 0xab));
	ck_assert(rbd_bytes_are(img, 20 * MiB, MiB, 0xcd));
	ck_assert(rbd_bytes_are(img, 40 * MiB, MiB, 0));
	rbd_close(img);
	/* the base's snapshot is there and protected */
	ck_assert_int_eq(rbd_open_read_only(io, "debian-base", &img, NULL), 0);
	ck_assert_int_eq(rbd_snap_is_protected(img, "novacron-base", &prot), 0);
	ck_assert_int_eq(prot, 1);
	rbd_close(img);
	/* a second clone reuses the snapshot; smaller ask: the base's size */
	ck_assert_msg(nc_vol_create(NULL, &pool, "vm2-root", 8 * MiB, "debian-base", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm2-root", &v, &err), 0);
	ck_assert_uint_eq(v.capacity, 32 * MiB);
	nc_volume_release(&v);
	/* exists: refused; a missing base: refused */
	ck_assert_int_eq(nc_vol_create(NULL, &pool, "vm1-root", 64 * MiB, "debian-base", &err), -1);
	ck_assert_str_eq(err.msg, "disk vm1-root: already exists in storage pool ceph");
	ck_assert_int_eq(nc_vol_create(NULL, &pool, "vm3-root", 64 * MiB, "nope", &err), -1);
	ck_assert_str_eq(err.msg, "disk vm3-root: base image nope does not exist");

	/* an empty volume */
	ck_assert_msg(nc_vol_create(NULL, &pool, "vm1-data", 16 * MiB, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm1-data", &v, &err), 0);
	ck_assert_uint_eq(v.capacity, 16 * MiB);
	ck_assert_ptr_null(v.backing);
	nc_volume_release(&v);

	/* grow keeps the data; shrink is refused and changes nothing */
	ck_assert_msg(nc_vol_resize(NULL, &pool, "vm1-root", 128 * MiB, NULL, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm1-root", &v, &err), 0);
	ck_assert_uint_eq(v.capacity, 128 * MiB);
	nc_volume_release(&v);
	ck_assert_int_eq(nc_vol_resize(NULL, &pool, "vm1-root", 32 * MiB, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "disk vm1-root: shrinking from 128 MiB to 32 MiB is not supported; "
				  "grow it or create a new disk");
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm1-root", &v, &err), 0);
	ck_assert_uint_eq(v.capacity, 128 * MiB);
	nc_volume_release(&v);
	ck_assert_int_eq(rbd_open_read_only(io, "vm1-root", &img, NULL), 0);
	ck_assert(rbd_bytes_are(img, 20 * MiB, MiB, 0xcd));
	rbd_close(img);

	/* delete: gone, twice is fine, the base stays */
	ck_assert_msg(nc_vol_delete(NULL, &pool, "vm1-root", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm1-root", &v, &err), 0);
	ck_assert(!v.exists);
	ck_assert_msg(nc_vol_delete(NULL, &pool, "vm1-root", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "debian-base", &v, &err), 0);
	ck_assert(v.exists);
	nc_volume_release(&v);
	/* a base with snapshots cannot be deleted: said so */
	ck_assert_int_eq(nc_vol_delete(NULL, &pool, "debian-base", &err), -1);
	HAS(err.msg, "disk debian-base: cannot delete the image");

	/* an uploaded raw image: its bytes, thin where it has zeros; qcow2 refused */
	{
		char sum[65], *src = nc_xasprintf("%s/rbd-up.raw", base_dir);
		uint64_t len, used = 0;
		int fd;

		ck_assert_int_eq(shq("truncate -s 24M rbd-up.raw && "
				     "qemu-io -f raw -c 'write -q -P 0x42 0 1M' -c 'write -q -P 0x43 16M 1M' rbd-up.raw"), 0);
		file_sha256(src, sum);
		fd = open_ro(src, &len);
		ck_assert_msg(nc_vol_upload_verified(NULL, &pool, "img-up", "raw", fd, len, sum, &err) == 0,
			      "%s", err.msg);
		ck_assert_int_eq(rbd_open_read_only(io, "img-up", &img, NULL), 0);
		ck_assert(rbd_bytes_are(img, 0, MiB, 0x42));
		ck_assert(rbd_bytes_are(img, 16 * MiB, MiB, 0x43));
		ck_assert(rbd_bytes_are(img, 8 * MiB, MiB, 0));
		ck_assert_int_eq(rbd_get_size(img, &used), 0);
		ck_assert_uint_eq(used, 24 * MiB);
		rbd_close(img);
		/* a clone of the uploaded image, as VM disks are made */
		ck_assert_msg(nc_vol_create(NULL, &pool, "vm4-root", 32 * MiB, "img-up", &err) == 0, "%s", err.msg);
		ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm4-root", &v, &err), 0);
		ck_assert_str_eq(v.backing, "rbd/img-up");
		nc_volume_release(&v);
		ck_assert_int_eq(nc_vol_upload(NULL, &pool, "img-up", "raw", fd, len, &err), -1);
		ck_assert_str_eq(err.msg, "volume img-up: already exists in storage pool ceph");
		ck_assert_int_eq(nc_vol_upload(NULL, &pool, "img-q", "qcow2", fd, len, &err), -1);
		ck_assert_str_eq(err.msg, "volume img-q: rbd pools hold raw images, not qcow2");
		sum[0] = sum[0] == 'f' ? 'e' : 'f';
		ck_assert_int_eq(nc_vol_upload_verified(NULL, &pool, "img-bad", "raw", fd, len, sum, &err), -1);
		HAS(err.msg, "the volume was deleted");
		ck_assert_int_eq(nc_vol_info(NULL, &pool, "img-bad", &v, &err), 0);
		ck_assert(!v.exists);
		close(fd);
		free(src);
	}

	rados_ioctx_destroy(io);
	rados_shutdown(cluster);
	/* telemetry of the pool (nc_rbd_pool_usage) and through a collection round */
	{
		uint64_t cap = 0, used = 0, avail = 0;
		struct nc_pool_def nopool = pool;
		struct nc_spec *spec = NULL;
		struct nc_diags d;
		struct nc_tm_round r;
		const struct nc_tm_object *o;
		char *yaml = nc_xasprintf("apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: ceph}\n"
					  "spec: {type: rbd, rbd: {pool: rbd, cephConf: %s}}\n"
					  "---\napiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: gone}\n"
					  "spec: {type: rbd, rbd: {pool: nosuchpool, cephConf: %s}}\n", conf, conf);

		/* a new cluster's figures come once its mgr has reported the OSD's: wait for them */
		for (int k = 0; k < 120; k++) {
			ck_assert_msg(nc_rbd_pool_usage(&pool, &cap, &used, &avail, &err) == 0, "%s", err.msg);
			if (cap > 0 && used > 0)
				break;
			usleep(500 * 1000);
		}
		ck_assert_uint_gt(cap, 0);
		ck_assert_uint_gt(used, 0);      /* the images written above, and the OSD's own */
		ck_assert_uint_lt(avail, cap);
		nopool.rbd_pool = "nosuchpool";
		ck_assert_int_eq(nc_rbd_pool_usage(&nopool, &cap, &used, &avail, &err), -1);
		HAS(err.msg, "Ceph pool nosuchpool");
		nc_diags_init(&d);
		ck_assert_int_eq(nc_spec_load_buffer(&spec, "pools.yaml", yaml, strlen(yaml), NULL, &d), 0);
		nc_tm_collect(&r, spec, NULL, NULL);
		o = nc_tm_round_find(&r, NC_MT_POOL, "ceph");
		ck_assert_ptr_nonnull(o);
		ck_assert(o->managed);
		ck_assert_ptr_null(o->host);
		ck_assert(o->v[NC_PM_CAPACITY] > 0 && o->v[NC_PM_USED_RATIO] > 0 && o->v[NC_PM_USED_RATIO] < 1);
		/* a pool that cannot be read: a gap and why, never zeros */
		o = nc_tm_round_find(&r, NC_MT_POOL, "gone");
		ck_assert_ptr_nonnull(o);
		ck_assert(isnan(o->v[NC_PM_CAPACITY]));
		ck_assert_uint_eq(r.nrbd, 2);
		ck_assert_str_eq(r.rbd_pools[1], "gone");
		ck_assert_ptr_nonnull(r.rbd_errors[1]);
		HAS(r.rbd_errors[1], "nosuchpool");
		ck_assert_ptr_null(r.rbd_errors[0]);
		nc_tm_round_release(&r);
		nc_spec_free(spec);
		nc_diags_release(&d);
		free(yaml);
	}
	/* a wrong ceph.conf: an error naming it */
	pool.ceph_conf = "/nonexistent/ceph.conf";
	ck_assert_int_eq(nc_vol_info(NULL, &pool, "vm1-root", &v, &err), -1);
	HAS(err.msg, "disk vm1-root: cannot connect to Ceph with /nonexistent/ceph.conf: ");
	nc_test_ceph_down(ceph_dir);
	free(conf);
}
END_TEST

/*
 * rbd pools with cephx: a StoragePool naming a user and a key file, applied
 * to a simulated host with volumes on a real Ceph.  The plan creates the
 * pool's libvirt secret before the VM, the domain's disk carries <auth> and
 * the monitors of the pool's ceph.conf, the volume is made with that user's
 * key, a new key is planned as an update of the secret, and a missing,
 * unreadable or malformed key file is an error of the plan.  The key never
 * appears in any output nor in the state directory.
 */
static char *key_of(const char *keyring)
{
	struct nc_run r;
	char *k;

	ck_assert_int_eq(sh(&r, "sed -n 's/^[[:space:]]*key = //p' '%s'", keyring), 0);
	r.out[strcspn(r.out, "\n")] = 0;
	ck_assert_uint_ge(strlen(r.out), 24);
	k = nc_xstrdup(r.out);
	nc_run_free(&r);
	return k;
}

#define AUTH_PLAN "$NC plan auth/spec --config auth/cfg.yaml --state-dir auth/st"

START_TEST(test_storage_rbd_auth_sim)
{
	struct nc_test_ceph ceph;
	struct nc_run r;
	char why[600];
	char *key1, *key2, *o;
	static const char *const outs[] = { "text", "json", "markdown" };
	size_t i;

	if (nc_test_ceph_up(&ceph, ceph_dir, false, NULL, why, sizeof(why)) != 0) {
		NC_TEST_SKIP("%s", why);
		return;
	}
	/* a cephx user that may use pool rbd only, its keyring in the secrets root */
	ck_assert_int_eq(shq("mkdir -p auth/secrets auth/spec && chmod 700 auth/secrets && "
			     "ceph -c '%s' auth get-or-create client.ncsim mon 'profile rbd' osd 'profile rbd pool=rbd' "
			     "> auth/secrets/ncsim.keyring && chmod 600 auth/secrets/ncsim.keyring && "
			     "printf 'paths:\n  secrets: [%s/auth/secrets]\n  ceph: [%s]\n' > auth/cfg.yaml",
			     ceph.conf, base_dir, ceph_dir), 0);
	key1 = key_of("auth/secrets/ncsim.keyring");
	ck_assert_int_eq(shq("cat > auth/spec/c.yaml <<'EOF'\n"
			     "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: 'sim:///h1'}\n---\n"
			     "apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: ceph}\n"
			     "spec:\n  type: rbd\n  rbd: {pool: rbd, cephConf: %s, user: ncsim, keyFile: %s/auth/secrets/ncsim.keyring}\n---\n"
			     "apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: vm1}\n"
			     "spec:\n  state: stopped\n  vcpus: 1\n  memory: 64MiB\n  disks: [{name: root, pool: ceph, size: 16MiB}]\n"
			     "EOF", ceph.conf, base_dir), 0);

	/* the plan: the secret first, the VM after it; the key in no output */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(sh(&r, AUTH_PLAN " --output %s", outs[i]), 2);
		HASNT(r.out, key1);
		HASNT(r.err, key1);
		if (i == 0) {
			HAS(r.out, "+ secret ceph: create on h1");
			HAS(r.out, "the host has no secret novacron-ceph-ceph");
			HAS(r.out, "after: #1");
		} else if (i == 1) {
			HAS(r.out, "\"object\": \"secret\"");
		}
		nc_run_free(&r);
	}
	ck_assert_int_eq(sh(&r, "$NC apply auth/spec --config auth/cfg.yaml --state-dir auth/st --auto-approve"), 0);
	HAS(r.out, "create secret ceph on h1 ... done");
	HASNT(r.out, key1);
	HASNT(r.err, key1);
	nc_run_free(&r);
	/* the sim host holds the secret (without its value) and the disk uses it */
	ck_assert_int_eq(sh(&r, "cat auth/st/h1.secrets"), 0);
	HAS(r.out, "usage=\"novacron-ceph-ceph\"");
	HASNT(r.out, key1);
	nc_run_free(&r);
	ck_assert_int_ne(shq("grep -rqF '%s' auth/st", key1), 0);
	ck_assert_int_eq(sh(&r, "cat auth/st/h1.xml"), 0);
	HAS(r.out, "<auth username=\"ncsim\">");
	HAS(r.out, "<secret type=\"ceph\" uuid=\"");
	o = nc_xasprintf("<host name=\"127.0.0.1\" port=\"%d\"/>", ceph.mon_v1port);
	HAS(r.out, o);
	free(o);
	nc_run_free(&r);
	/* the volume was made as client.ncsim (librados with the key from the file) */
	ck_assert_int_eq(sh(&r, "rbd -c '%s' ls rbd", ceph.conf), 0);
	HAS(r.out, "vm1-root");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, AUTH_PLAN), 0);
	HAS(r.out, "No changes.");
	nc_run_free(&r);

	/* a new key for the user: the secret is updated, the domain is not touched */
	ck_assert_int_eq(shq("ceph -c '%s' auth rm client.ncsim && ceph -c '%s' auth get-or-create client.ncsim "
			     "mon 'profile rbd' osd 'profile rbd pool=rbd' > auth/secrets/ncsim.keyring",
			     ceph.conf, ceph.conf), 0);
	key2 = key_of("auth/secrets/ncsim.keyring");
	ck_assert_str_ne(key1, key2);
	ck_assert_int_eq(sh(&r, AUTH_PLAN), 2);
	HAS(r.out, "~ secret ceph: update on h1");
	HAS(r.out, "is not the one the host holds");
	HAS(r.out, "Plan: 0 to create, 1 to update");
	HASNT(r.out, key1);
	HASNT(r.out, key2);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC apply auth/spec --config auth/cfg.yaml --state-dir auth/st --auto-approve"), 0);
	HASNT(r.out, key2);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, AUTH_PLAN), 0);
	nc_run_free(&r);

	/* serve reads the key on every pass: not in /status, /metrics or its log */
	{
		int port = 0;

		ck_assert_int_eq(sh(&r, "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); "
					"print(s.getsockname()[1])'"), 0);
		port = atoi(r.out);
		nc_run_free(&r);
		ck_assert_int_gt(port, 0);
		ck_assert_int_eq(shq("printf 'source:\\n  directory: %s/auth/spec\\ncacheDir: %s/auth/cache\\n"
				     "stateDir: %s/auth/st\\ninterval: 1s\\nlisten: 127.0.0.1:%d\\n' > auth/serve.yaml && "
				     "sed -n '/^paths:/,$p' auth/cfg.yaml >> auth/serve.yaml && "
				     "($NC serve --config auth/serve.yaml > auth/serve.out 2> auth/serve.log & echo $! > auth/serve.pid)",
				     base_dir, base_dir, base_dir, port), 0);
		for (i = 0; i < 300; i++) {
			if (shq("curl -sf http://127.0.0.1:%d/status | grep -q '\"result\": \"ok\"'", port) == 0)
				break;
			usleep(100000);
		}
		ck_assert_int_eq(sh(&r, "curl -sf http://127.0.0.1:%d/status; curl -sf http://127.0.0.1:%d/metrics; "
				    "cat auth/serve.out auth/serve.log", port, port), 0);
		HAS(r.out, "\"result\": \"ok\"");
		HAS(r.out, "novacron_");
		HASNT(r.out, key2);
		nc_run_free(&r);
		shq("kill $(cat auth/serve.pid); rm -f auth/serve.pid");
	}

	/* the key file the bare way (`ceph auth get-key`) is the same key: no change */
	ck_assert_int_eq(shq("ceph -c '%s' auth get-key client.ncsim > auth/secrets/ncsim.keyring", ceph.conf), 0);
	ck_assert_int_eq(sh(&r, AUTH_PLAN), 0);
	nc_run_free(&r);

	/* bad key files: errors of the plan, naming the file, never its content */
	ck_assert_int_eq(shq("echo 'not a key at all!' > auth/secrets/ncsim.keyring"), 0);
	ck_assert_int_eq(sh(&r, AUTH_PLAN), 1);
	HAS(r.out, "StoragePool ceph: rbd.keyFile ");
	HAS(r.out, "is not a base64 cephx key");
	HAS(r.out, "No changes can be planned while the errors above remain.");
	HASNT(r.out, "not a key at all");
	nc_run_free(&r);
	ck_assert_int_eq(shq("printf '[client.other]\\n\\tkey = %s\\n[client.more]\\n\\tkey = %s\\n' > "
			     "auth/secrets/ncsim.keyring", key2, key2), 0);
	ck_assert_int_eq(sh(&r, AUTH_PLAN), 1);
	HAS(r.out, "no key for client.ncsim in it");
	HASNT(r.out, key2);
	HASNT(r.err, key2);
	nc_run_free(&r);
	ck_assert_int_eq(shq("rm auth/secrets/ncsim.keyring"), 0);
	ck_assert_int_eq(sh(&r, AUTH_PLAN), 1);
	HAS(r.out, "ncsim.keyring: cannot read it: No such file or directory");
	nc_run_free(&r);
	/* a FIFO in the secrets root would block a reader forever: refused, at once */
	ck_assert_int_eq(shq("mkfifo -m 600 auth/secrets/ncsim.keyring"), 0);
	ck_assert_int_eq(sh(&r, "timeout 60 " AUTH_PLAN), 1);
	/* validate refuses it first, at the spec's position (test_secret_not_a_file) */
	HAS(r.err, "auth/spec/c.yaml:11:");
	HAS(r.err, "ncsim.keyring is not a regular file (a directory, a FIFO or a device)");
	nc_run_free(&r);
	ck_assert_int_eq(shq("rm auth/secrets/ncsim.keyring"), 0);
	ck_assert_int_eq(shq("echo '%s' > auth/secrets/ncsim.keyring && chmod 644 auth/secrets/ncsim.keyring", key2), 0);
	ck_assert_int_eq(sh(&r, AUTH_PLAN), 1);
	HAS(r.err, "auth/spec/c.yaml:11:");   /* refused with the spec's position, before any host */
	HAS(r.err, "is accessible by group or others (mode 0644)");
	HASNT(r.out, key2);
	HASNT(r.err, key2);
	nc_run_free(&r);
	free(key1);
	free(key2);
}
END_TEST

/*
 * A cloud-init seed in an rbd pool with cephx: apply (on a simulated host,
 * the seed on a real Ceph) writes <VM>-cidata.iso with librbd as the pool's
 * user, the CD-ROM reaches it the way the disk does (rbd source, monitors,
 * <auth>), the image read back is labelled cidata and holds the user-data;
 * a changed userData rewrites it; the VM's deletion deletes it.
 */
#define SEED_PLAN "$NC plan seed/spec --config seed/cfg.yaml --state-dir seed/st"
#define SEED_APPLY "$NC apply seed/spec --config seed/cfg.yaml --state-dir seed/st --auto-approve"

static void seed_spec(const char *conf, const char *user_data, const char *state)
{
	ck_assert_int_eq(shq("cat > seed/spec/c.yaml <<'EOF'\n"
			     "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: 'sim:///h1'}\n---\n"
			     "apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: ceph}\n"
			     "spec:\n  type: rbd\n  rbd: {pool: rbd, cephConf: %s, user: ncseed, keyFile: %s/seed/secrets/ncseed.keyring}\n---\n"
			     "apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: vmseed}\n"
			     "spec:\n  state: %s\n  machine: q35\n  vcpus: 1\n  memory: 64MiB\n"
			     "  disks: [{name: root, pool: ceph, size: 16MiB}]\n"
			     "  cloudInit:\n    userData: |\n      %s\n"
			     "EOF", conf, base_dir, state, user_data), 0);
}

START_TEST(test_storage_rbd_seed_sim)
{
	struct nc_test_ceph ceph;
	struct nc_run r;
	char why[600];

	if (nc_test_ceph_up(&ceph, ceph_dir, false, NULL, why, sizeof(why)) != 0) {
		NC_TEST_SKIP("%s", why);
		return;
	}
	ck_assert_int_eq(shq("mkdir -p seed/secrets seed/spec && chmod 700 seed/secrets && "
			     "ceph -c '%s' auth get-or-create client.ncseed mon 'profile rbd' osd 'profile rbd pool=rbd' "
			     "> seed/secrets/ncseed.keyring && chmod 600 seed/secrets/ncseed.keyring && "
			     "printf 'paths:\n  secrets: [%s/seed/secrets]\n  ceph: [%s]\n' > seed/cfg.yaml",
			     ceph.conf, base_dir, ceph_dir), 0);
	seed_spec(ceph.conf, "#cloud-config first-seed-marker", "stopped");
	ck_assert_int_eq(sh(&r, SEED_APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "rbd -c '%s' export rbd/vmseed-cidata.iso seed/1.iso && "
			     "PATH=$PATH:/usr/sbin:/sbin blkid -p -o export seed/1.iso && grep -c first-seed-marker seed/1.iso",
			     ceph.conf), 0);
	HAS(r.out, "LABEL=cidata\n");
	HAS(r.out, "TYPE=iso9660\n");
	nc_run_free(&r);
	/* the CD-ROM: rbd, on sata (q35), with the pool's monitors and cephx user */
	ck_assert_int_eq(sh(&r, "grep -A12 'device=\"cdrom\"' seed/st/h1.xml"), 0);
	HAS(r.out, "protocol=\"rbd\" name=\"rbd/vmseed-cidata.iso\"");
	HAS(r.out, "<host name=\"127.0.0.1\"");
	HAS(r.out, "<auth username=\"ncseed\">");
	HAS(r.out, "bus=\"sata\"");
	HAS(r.out, "<readonly/>");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SEED_PLAN), 0);
	nc_run_free(&r);

	/* a new userData: planned, the rbd image rewritten */
	seed_spec(ceph.conf, "#cloud-config second-seed-marker", "stopped");
	ck_assert_int_eq(sh(&r, SEED_PLAN), 2);
	HAS(r.out, "~ cloudInit userData: sha256 ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SEED_APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(shq("rbd -c '%s' export rbd/vmseed-cidata.iso seed/2.iso && grep -q second-seed-marker seed/2.iso && "
			     "! grep -q first-seed-marker seed/2.iso", ceph.conf), 0);
	ck_assert_int_eq(sh(&r, SEED_PLAN), 0);
	nc_run_free(&r);

	/* deleted with its VM (its disk stays: deletionPolicy retain) */
	seed_spec(ceph.conf, "#cloud-config second-seed-marker", "absent");
	ck_assert_int_eq(sh(&r, SEED_APPLY " --allow-mass-delete"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "rbd -c '%s' ls rbd", ceph.conf), 0);
	HAS(r.out, "vmseed-root");
	ck_assert_ptr_null(strstr(r.out, "vmseed-cidata.iso"));
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_storage(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = tcase_create("storage");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_storage_dir_create_empty);
	tcase_add_test(tc, test_storage_secret_cut_short);
	tcase_add_test(tc, test_storage_dir_clone_base);
	tcase_add_test(tc, test_storage_dir_grow_shrink);
	tcase_add_test(tc, test_storage_dir_grow_running);
	tcase_add_test(tc, test_storage_dir_delete);
	tcase_add_test(tc, test_storage_dir_errors);
	tcase_add_test(tc, test_storage_dir_upload);
	tcase_add_test(tc, test_storage_sim_persists);
	tcase_add_test(tc, test_storage_sim_upload);
	tcase_add_test(tc, test_storage_sim_copy);
	tcase_add_test(tc, test_storage_rbd);
	tcase_add_test(tc, test_storage_rbd_auth_sim);
	tcase_add_test(tc, test_storage_rbd_seed_sim);
	suite_add_tcase(s, tc);
	return s;
}
