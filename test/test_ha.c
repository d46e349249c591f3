/*
 * test_ha.c - high availability (docs/ha.md): the record of failed and
 * fenced hosts (STATE_DIR/ha.json, reconciler/ha.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"
#include "../reconciler/ha.h"

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-ha-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

static void write_rec(const char *text)
{
	char *path = nc_xasprintf("%s/%s", tdir, NC_HA_FILE);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

START_TEST(test_ha_record_round_trip)
{
	struct nc_ha_record r = { 0 }, back = { 0 };
	struct nc_ha_host *h;
	struct nc_err err = { 0 };
	struct stat st;
	char *path = nc_xasprintf("%s/%s", tdir, NC_HA_FILE), *buf = NULL, *buf2 = NULL;
	size_t len, len2;

	/* missing: an empty record */
	ck_assert_int_eq(nc_ha_load(&r, tdir, &err), 0);
	ck_assert_uint_eq(r.nhosts, 0);
	h = nc_ha_get(&r, "kvm2");
	h->failed_at = 1796000000;
	h = nc_ha_get(&r, "kvm1");
	ck_assert_ptr_eq(nc_ha_get(&r, "kvm1"), h);
	h->failed_at = 1796000000;
	h->fenced = true;
	h->fenced_at = 1796000012;
	h->fenced_by = nc_xstrdup("rbd device ceph");
	h->detail = nc_xstrdup("2 exclusive locks broken, \"quoted\"\n");
	nc_ha_list_add(&h->disks, &h->ndisks, "rbd/web-2-root");
	nc_ha_list_add(&h->disks, &h->ndisks, "rbd/web-1-root");
	nc_ha_list_add(&h->disks, &h->ndisks, "rbd/web-2-root");
	nc_ha_list_add(&h->recovered, &h->nrecovered, "web-1");
	ck_assert_uint_eq(h->ndisks, 2);
	ck_assert_str_eq(h->disks[0], "rbd/web-1-root");
	ck_assert_int_eq(nc_ha_save(&r, tdir, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(nc_ha_load(&back, tdir, &err), 0);
	ck_assert_uint_eq(back.nhosts, 2);
	ck_assert_str_eq(back.hosts[0].name, "kvm1");
	ck_assert_str_eq(back.hosts[1].name, "kvm2");
	ck_assert(back.hosts[0].fenced && !back.hosts[0].whole_host && !back.hosts[1].fenced);
	ck_assert_int_eq(back.hosts[0].fenced_at, 1796000012);
	ck_assert_int_eq(back.hosts[1].failed_at, 1796000000);
	ck_assert_str_eq(back.hosts[0].fenced_by, "rbd device ceph");
	ck_assert_str_eq(back.hosts[0].detail, "2 exclusive locks broken, \"quoted\"\n");
	ck_assert_ptr_null(back.hosts[1].fenced_by);
	ck_assert_uint_eq(back.hosts[0].nrecovered, 1);
	ck_assert(nc_ha_list_has(back.hosts[0].disks, back.hosts[0].ndisks, "rbd/web-2-root"));
	/* the same record writes the same bytes */
	ck_assert_int_eq(nc_read_file(path, 1 << 20, &buf, &len), 0);
	ck_assert_int_eq(nc_ha_save(&back, tdir, &err), 0);
	ck_assert_int_eq(nc_read_file(path, 1 << 20, &buf2, &len2), 0);
	ck_assert_str_eq(buf, buf2);
	ck_assert(nc_ha_forget(&back, "kvm1"));
	ck_assert(!nc_ha_forget(&back, "kvm1"));
	ck_assert_ptr_null(nc_ha_find(&back, "kvm1"));
	ck_assert_ptr_nonnull(nc_ha_find(&back, "kvm2"));
	nc_ha_release(&r);
	nc_ha_release(&back);
	free(buf);
	free(buf2);
	free(path);
}
END_TEST

static const char *const bad_records[] = {
	"not json {",
	"[]\n",
	"{\"format_version\": 2, \"hosts\": []}\n",
	"{\"format_version\": 1}\n",
	"{\"format_version\": 1, \"hosts\": [{\"failed_at\": 1}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"fenced\": \"yes\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"failed_at\": \"soon\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"failed_at\": -5}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"disks\": \"rbd/x\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"recovered\": [[\"x\"]]}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"whole_host\": true}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\\u0000b\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"detail\": [1]}]}\n",
};

START_TEST(test_ha_record_malformed)
{
	struct nc_ha_record r = { 0 };
	struct nc_err err = { 0 };

	write_rec(bad_records[_i]);
	ck_assert_int_eq(nc_ha_load(&r, tdir, &err), -1);
	HAS(err.msg, "is not an HA record written by novacron; nothing is restarted without it");
	ck_assert_uint_eq(r.nhosts, 0);
}
END_TEST

START_TEST(test_ha_vm_fenced)
{
	struct nc_ha_host h = { 0 };
	const char *const both[] = { "rbd/a", "rbd/b" }, *const one[] = { "rbd/a" };

	ck_assert(!nc_ha_vm_fenced(NULL, one, 1, false));
	h.name = (char *)"kvm1";
	ck_assert(!nc_ha_vm_fenced(&h, one, 1, false));        /* failed, not fenced */
	h.fenced = true;
	nc_ha_list_add(&h.disks, &h.ndisks, "rbd/a");
	ck_assert(nc_ha_vm_fenced(&h, one, 1, false));
	ck_assert(!nc_ha_vm_fenced(&h, both, 2, false));       /* one disk of two */
	ck_assert(!nc_ha_vm_fenced(&h, one, 1, true));         /* and a local disk */
	ck_assert(!nc_ha_vm_fenced(&h, NULL, 0, false));       /* nothing a disk fence covers */
	h.whole_host = true;
	ck_assert(nc_ha_vm_fenced(&h, both, 2, true));
	ck_assert(nc_ha_vm_fenced(&h, NULL, 0, false));
	free(h.disks[0]);
	free(h.disks);
}
END_TEST

START_TEST(test_ha_lock_excludes)
{
	struct nc_err err = { 0 };
	int fd = nc_ha_lock(tdir, &err), fd2;
	char *path = nc_xasprintf("%s/ha.lock", tdir);

	ck_assert_int_ge(fd, 0);
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(flock(fd2, LOCK_EX | LOCK_NB), -1);
	nc_ha_unlock(fd);
	ck_assert_int_eq(flock(fd2, LOCK_EX | LOCK_NB), 0);
	close(fd2);
	free(path);
}
END_TEST

Suite *nc_suite_ha(void)
{
	Suite *s = suite_create("ha");
	TCase *tc = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ha_record_round_trip);
	tcase_add_loop_test(tc, test_ha_record_malformed, 0, (int)NC_ARRAY_SIZE(bad_records));
	tcase_add_test(tc, test_ha_vm_fenced);
	tcase_add_test(tc, test_ha_lock_excludes);
	suite_add_tcase(s, tc);
	return s;
}
