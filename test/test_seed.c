/*
 * test_seed.c - cloud-init NoCloud seeds (drivers/storage/seed.h): the ISO
 * image is read back with libisofs (volume id, the three files byte for
 * byte, Rock Ridge names) and looked at from outside with blkid, the way
 * cloud-init finds it (label cidata, type iso9660); the same input gives
 * the same bytes; the instance-id follows every input; the generated
 * network-config matches NICs by MAC.
 */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <stdint.h>
#include <sys/types.h>
#include <libisofs/libisofs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

#include "../drivers/storage/seed.h"
#include "../spec/util.h"

#define HAS(hay, needle) ck_assert_msg(strstr((hay), (needle)) != NULL, \
				       "missing '%s' in:\n%.3000s", (needle), (hay))

/* hostile text: XML, shell, YAML, a NUL-free binary-ish tail */
static const char hostile[] =
	"#cloud-config\nruncmd:\n  - echo '</name><devices>' \"$(reboot)\" `id` ; rm -rf / &\n"
	"write_files: [{path: /etc/x, content: \"a\\\"b\"}]\n\x01\x7f\xc3\xa9\xff\n";

static char *write_tmp(const unsigned char *buf, size_t len)
{
	char *path = nc_xstrdup("/tmp/nc-seed-XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return path;
}

/* The content of /name in the image at path, or NULL when it is not there. */
static char *iso_file(IsoImage *image, const char *name)
{
	IsoNode *node = NULL;
	IsoStream *st;
	struct nc_buf b = NC_BUF_INIT;
	char chunk[4096];
	char *path = nc_xasprintf("/%s", name);
	int n;

	if (iso_tree_path_to_node(image, path, &node) != 1 || !node || iso_node_get_type(node) != LIBISO_FILE) {
		free(path);
		return NULL;
	}
	free(path);
	st = iso_file_get_stream((IsoFile *)node);
	ck_assert_int_ge(iso_stream_open(st), 0);
	while ((n = iso_stream_read(st, chunk, sizeof(chunk))) > 0)
		nc_buf_add(&b, chunk, (size_t)n);
	iso_stream_close(st);
	return nc_buf_detach(&b, NULL);
}

static IsoImage *iso_read(const char *file)
{
	IsoDataSource *src = NULL;
	IsoReadOpts *ro = NULL;
	IsoImage *image = NULL;
	IsoReadImageFeatures *features = NULL;

	ck_assert_int_ge(iso_data_source_new_from_file(file, &src), 0);
	ck_assert_int_ge(iso_read_opts_new(&ro, 0), 0);
	ck_assert_int_ge(iso_image_new("x", &image), 0);
	ck_assert_int_ge(iso_image_import(image, src, ro, &features), 0);
	ck_assert(iso_read_image_features_has_rockridge(features));
	ck_assert(iso_read_image_features_has_joliet(features));
	iso_read_image_features_destroy(features);
	iso_read_opts_free(ro);
	iso_data_source_unref(src);
	return image;
}

static void build(unsigned char **iso, size_t *len, const char *ud, const char *md, const char *ncfg)
{
	struct nc_err err = { "" };

	ck_assert_msg(nc_seed_iso(iso, len, ud, md, ncfg, &err) == 0, "%s", err.msg);
	ck_assert_uint_gt(*len, 0);
	ck_assert_uint_eq(*len % 2048, 0);
}

START_TEST(test_iso_read_back)
{
	char iid[40];
	char *md = nc_seed_meta_data(iid, "web-1", hostile, "version: 2\n");
	unsigned char *iso;
	size_t len;
	char *file, *s;
	IsoImage *image;

	build(&iso, &len, hostile, md, "version: 2\n");
	file = write_tmp(iso, len);
	image = iso_read(file);
	ck_assert_str_eq(iso_image_get_volume_id(image), "cidata");
	s = iso_file(image, "user-data");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, hostile);
	free(s);
	s = iso_file(image, "meta-data");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, md);
	free(s);
	s = iso_file(image, "network-config");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "version: 2\n");
	free(s);
	iso_image_unref(image);
	unlink(file);
	free(file);
	free(iso);

	/* without a network-config, the file is left out */
	build(&iso, &len, "", md, NULL);
	file = write_tmp(iso, len);
	image = iso_read(file);
	s = iso_file(image, "user-data");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_ptr_null(iso_file(image, "network-config"));
	iso_image_unref(image);
	unlink(file);
	free(file);
	free(iso);
	free(md);
}
END_TEST

/* what cloud-init's ds-identify and NoCloud look for: blkid sees TYPE iso9660, LABEL cidata */
START_TEST(test_blkid_label)
{
	unsigned char *iso;
	size_t len;
	char *file, *cmd;
	struct nc_run r;

	if (access("/usr/sbin/blkid", X_OK) != 0 && access("/sbin/blkid", X_OK) != 0) {
		fprintf(stderr, "seed: skipped: blkid (util-linux) is not installed\n");
		return;
	}
	build(&iso, &len, "#cloud-config\n", "instance-id: x\n", NULL);
	file = write_tmp(iso, len);
	cmd = nc_xasprintf("PATH=/usr/sbin:/sbin:$PATH blkid -p -o export '%s'", file);
	nc_run_shell(&r, cmd);
	ck_assert_msg(r.status == 0, "blkid: %s %s", r.out, r.err);
	HAS(r.out, "LABEL=cidata\n");
	HAS(r.out, "TYPE=iso9660\n");
	nc_run_free(&r);
	free(cmd);
	unlink(file);
	free(file);
	free(iso);
}
END_TEST

START_TEST(test_deterministic)
{
	unsigned char *a, *b, *c;
	size_t la, lb, lc;

	build(&a, &la, hostile, "instance-id: nc-1\n", "version: 2\n");
	sleep(1);   /* a clock that leaked in would show */
	build(&b, &lb, hostile, "instance-id: nc-1\n", "version: 2\n");
	ck_assert_uint_eq(la, lb);
	ck_assert_msg(memcmp(a, b, la) == 0, "two builds of the same seed differ");
	build(&c, &lc, "#cloud-config\n", "instance-id: nc-1\n", "version: 2\n");
	ck_assert_msg(la != lc || memcmp(a, c, la) != 0, "another user-data gives the same image");
	/* no 4-digit year of this century's clock anywhere in the image */
	ck_assert_ptr_null(memmem(a, la, "2026", 4));
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_instance_id)
{
	char i1[40], i2[40], i3[40], i4[40], i5[40];
	char *m1 = nc_seed_meta_data(i1, "web-1", "#cloud-config\n", NULL);
	char *m2 = nc_seed_meta_data(i2, "web-1", "#cloud-config\n", NULL);
	char *m3 = nc_seed_meta_data(i3, "web-1", "#cloud-config\n\n", NULL);
	char *m4 = nc_seed_meta_data(i4, "web-2", "#cloud-config\n", NULL);
	char *m5 = nc_seed_meta_data(i5, "web-1", "#cloud-config\n", "version: 2\n");

	ck_assert_str_eq(i1, i2);
	ck_assert_str_eq(m1, m2);
	ck_assert_str_ne(i1, i3);
	ck_assert_str_ne(i1, i4);
	ck_assert_str_ne(i1, i5);
	ck_assert_uint_eq(strlen(i1), 35);
	ck_assert(strncmp(i1, "nc-", 3) == 0);
	HAS(m1, "instance-id: ");
	HAS(m1, i1);
	HAS(m4, "local-hostname: \"web-2\"\n");
	free(m1);
	free(m2);
	free(m3);
	free(m4);
	free(m5);
}
END_TEST

START_TEST(test_network_config)
{
	struct nc_nic_def nics[2] = {
		{ .name = "eth0", .mac = "52:54:00:aa:bb:cc" },
		{ .name = "lan", .mac = "52:54:00:00:00:01" },
	};
	char *s = nc_seed_network_config(nics, 2);

	ck_assert_str_eq(s,
		"version: 2\n"
		"ethernets:\n"
		"  \"eth0\":\n    match:\n      macaddress: \"52:54:00:aa:bb:cc\"\n    dhcp4: true\n"
		"  \"lan\":\n    match:\n      macaddress: \"52:54:00:00:00:01\"\n    dhcp4: true\n");
	free(s);
	s = nc_seed_network_config(NULL, 0);
	ck_assert_str_eq(s, "version: 2\nethernets: {}\n");
	free(s);
}
END_TEST

Suite *nc_suite_seed(void)
{
	Suite *s = suite_create("seed");
	TCase *tc = tcase_create("seed");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_iso_read_back);
	tcase_add_test(tc, test_blkid_label);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_instance_id);
	tcase_add_test(tc, test_network_config);
	suite_add_tcase(s, tc);
	return s;
}
