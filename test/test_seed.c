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
#include "../drivers/storage/storage.h"
#include "../spec/util.h"


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
		NC_TEST_SKIP("blkid (util-linux) is not installed");
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

/* ---- on simulated hosts, through the real binary ---- */

static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)
#define PLAN "$NC plan spec --state-dir state"
#define APPLY "$NC apply spec --state-dir state --auto-approve"

/* spec/cluster.yaml: host h1, pool local, VM web (machine, extra VM lines) */
static void write_spec(const char *machine, const char *vm_extra)
{
	char *path = nc_xasprintf("%s/spec/cluster.yaml", tdir);
	FILE *f;

	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: \"sim:///h1\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\n"
		"spec: {type: dir, path: /var/lib/novacron/pools/local}\n---\n"
		"apiVersion: novacron.io/v1\nkind: Network\nmetadata: {name: lan}\nspec: {type: nat, subnet: 10.9.0.0/24}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: web}\nspec:\n"
		"  vcpus: 1\n  memory: 512MiB\n  machine: %s\n"
		"  disks:\n    - {name: root, pool: local, size: 1GiB, boot: true}\n"
		"  nics:\n    - {name: eth0, network: lan}\n%s",
		machine, vm_extra);
	fclose(f);
	free(path);
}

static void sim_setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-seed-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(shq("mkdir spec state"), 0);
}

static void sim_teardown(void)
{
	shq("rm -rf '%s'", tdir);
}

/* The domain web on h1 (must exist) and whether its seed volume exists. */
static void lookup(struct nc_domain *d, bool *vol_exists)
{
	struct nc_driver_opts o = { .state_dir = NULL };
	struct nc_host_conn *conn = NULL;
	struct nc_pool_def pd = { .name = "local", .type = "dir", .path = "/var/lib/novacron/pools/local" };
	struct nc_volume v;
	struct nc_err err = { "" };
	char *state = nc_xasprintf("%s/state", tdir);

	o.state_dir = state;
	ck_assert_msg(nc_host_open(&conn, "sim:///h1", &o, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(conn->drv->lookup(conn, "web", d, &err), 1);
	memset(&v, 0, sizeof(v));
	ck_assert_msg(nc_vol_info(conn, &pd, "web-cidata.iso", &v, &err) == 0, "%s", err.msg);
	*vol_exists = v.exists;
	nc_volume_release(&v);
	nc_host_close(conn);
	free(state);
}

START_TEST(test_sim_apply_change_remove)
{
	struct nc_run r;
	struct nc_domain d;
	bool vol;
	char *old_iid;

	write_spec("pc", "  cloudInit:\n    userData: |\n      #cloud-config\n      runcmd: [\"echo '</source>' $(id)\"]\n");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "cloud-init seed hda (web-cidata.iso, user-data sha256 ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);   /* converged */
	nc_run_free(&r);
	lookup(&d, &vol);
	ck_assert(vol);
	ck_assert_uint_eq(d.ncdroms, 1);
	ck_assert_str_eq(d.cdroms[0].source, "/var/lib/novacron/pools/local/web-cidata.iso");
	ck_assert_str_eq(d.cdroms[0].bus, "ide");
	ck_assert_str_eq(d.cdroms[0].target, "hda");
	ck_assert_ptr_nonnull(d.meta_ci_iid);
	old_iid = nc_xstrdup(d.meta_ci_iid);
	nc_domain_release(&d);

	/* a new userData, allowRestart false: the seed is rewritten now, the guest reads it at its own next boot */
	write_spec("pc", "  cloudInit:\n    userData: |\n      #cloud-config\n      hostname: other\n");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ web: update on h1\n      why: spec changed; changes marked (restart) take effect at the next "
		   "restart (allowRestart is false)\n      ~ cloudInit userData: sha256 ");
	HAS(r.out, " (cloud-init reads it at next boot, under a new instance-id) (restart)\n");
	HASNT(r.out, "with restart");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"field\": \"cloudInit userData\"");
	HASJ(r.out, "\"cloud_init\": {\"volume\": \"web-cidata.iso\"");
	HASNTJ(r.out, "hostname: other");    /* hashes, never the content */
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	lookup(&d, &vol);
	ck_assert(vol);
	ck_assert_str_ne(d.meta_ci_iid, old_iid);
	nc_domain_release(&d);
	free(old_iid);

	/* allowRestart: true: the guest boots with the new seed now */
	write_spec("pc", "  allowRestart: true\n  cloudInit:\n    userData: |\n      #cloud-config\n      hostname: third\n");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ web: update on h1 (with restart)\n      why: spec changed; restart allowed\n"
		   "      ~ cloudInit userData: sha256 ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "update web on h1 ... done");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);

	/* the seed volume deleted behind NovaCron's back: uploaded again */
	{
		struct nc_driver_opts o;
		struct nc_host_conn *conn = NULL;
		struct nc_pool_def pd = { .name = "local", .type = "dir", .path = "/var/lib/novacron/pools/local" };
		struct nc_err err = { "" };
		char *state = nc_xasprintf("%s/state", tdir);

		o.state_dir = state;
		ck_assert_int_eq(nc_host_open(&conn, "sim:///h1", &o, &err), 0);
		ck_assert_msg(nc_vol_delete(conn, &pd, "web-cidata.iso", &err) == 0, "%s", err.msg);
		ck_assert_msg(conn->drv->commit(conn, &err) == 0, "%s", err.msg);
		nc_host_close(conn);
		free(state);
	}
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ web: update on h1\n      why: drift: changed outside NovaCron\n"
		   "      ~ cloudInit seed volume: missing -> rebuilt and uploaded\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	lookup(&d, &vol);
	ck_assert(vol);
	nc_domain_release(&d);

	/* cloudInit removed: the CD-ROM leaves the definition, the volume is deleted */
	write_spec("pc", "");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ cloudInit seed: hda ide /var/lib/novacron/pools/local/web-cidata.iso -> (none) (restart)\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	lookup(&d, &vol);
	ck_assert(!vol);
	ck_assert_uint_eq(d.ncdroms, 0);
	ck_assert_ptr_null(d.meta_ci_iid);
	nc_domain_release(&d);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/* q35 has no IDE: the seed goes on sata, after the sata disks; deleting the VM deletes the seed */
START_TEST(test_sim_q35_and_delete)
{
	struct nc_run r;
	struct nc_domain d;
	bool vol;

	write_spec("q35", "  cloudInit:\n    networkConfig: |\n      version: 2\n");
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	lookup(&d, &vol);
	ck_assert(vol);
	ck_assert_uint_eq(d.ncdroms, 1);
	ck_assert_str_eq(d.cdroms[0].bus, "sata");
	ck_assert_str_eq(d.cdroms[0].target, "sda");
	nc_domain_release(&d);
	/* a NIC change changes a generated network-config only; this one is the user's */
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);

	write_spec("q35", "  state: absent\n  cloudInit:\n    networkConfig: |\n      version: 2\n");
	ck_assert_int_eq(sh(&r, APPLY " --allow-mass-delete"), 0);
	nc_run_free(&r);
	{
		struct nc_driver_opts o;
		struct nc_host_conn *conn = NULL;
		struct nc_pool_def pd = { .name = "local", .type = "dir", .path = "/var/lib/novacron/pools/local" };
		struct nc_volume v;
		struct nc_err err = { "" };
		char *state = nc_xasprintf("%s/state", tdir);

		o.state_dir = state;
		ck_assert_int_eq(nc_host_open(&conn, "sim:///h1", &o, &err), 0);
		memset(&v, 0, sizeof(v));
		ck_assert_int_eq(nc_vol_info(conn, &pd, "web-cidata.iso", &v, &err), 0);
		ck_assert(!v.exists);
		/* the disk outlives the VM (deletionPolicy: retain), the seed does not */
		ck_assert_int_eq(nc_vol_info(conn, &pd, "web-root.qcow2", &v, &err), 0);
		ck_assert(v.exists);
		nc_volume_release(&v);
		nc_host_close(conn);
		free(state);
	}
}
END_TEST

/* generated network-config follows the NICs: a fixed MAC changes the seed */
START_TEST(test_sim_generated_network_config)
{
	struct nc_run r;

	write_spec("pc", "  cloudInit:\n    userData: \"#cloud-config\\n\"\n");
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("sed -i 's/{name: eth0, network: lan}/{name: eth0, network: lan, mac: \"52:54:00:12:34:56\"}/' spec/cluster.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ cloudInit networkConfig: sha256 ");
	HAS(r.out, ", generated from the NICs (cloud-init reads it at next boot, under a new instance-id) (restart)\n");
	HASNT(r.out, "~ cloudInit userData");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_validate_limits)
{
	struct nc_run r;
	char *path = nc_xasprintf("%s/spec/big.yaml", tdir);
	FILE *f = fopen(path, "w");
	size_t i;

	ck_assert_ptr_nonnull(f);
	fprintf(f, "apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: big}\nspec:\n"
		   "  cloudInit:\n    userData: |\n");
	for (i = 0; i < (1 << 20) / 64 + 1; i++)
		fprintf(f, "      #%063zu\n", i);
	fclose(f);
	free(path);
	write_spec("pc", "");
	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: nodisk}\\n"
			     "spec:\\n  vcpus: 1\\n  memory: 64MiB\\n  cloudInit:\\n    userData: \"#cloud-config\"\\n' "
			     ">>spec/cluster.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	HAS(r.err, "spec/big.yaml:6:15: error: cloudInit.userData is 1065025 bytes; a cloud-init seed document "
		   "may hold at most 1048576 bytes");
	HAS(r.err, "spec/cluster.yaml:35:5: error: VM 'nodisk' has cloudInit but no disk");
	nc_run_free(&r);
}
END_TEST

/* documents cloud-init would refuse at boot are refused here, where they are written */
START_TEST(test_validate_yaml)
{
	struct nc_run r;
	char *path = nc_xasprintf("%s/spec/t.yaml", tdir);
	FILE *f = fopen(path, "w");
	size_t i;

	ck_assert_ptr_nonnull(f);
	fprintf(f, "apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: t1}\nspec:\n  cloudInit:\n"
		   "    userData: |\n      #cloud-config\n      runcmd: [a, b\n      users: x\n"
		   "    networkConfig: |\n      ethernets: {}\n---\n"
		   "apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: t2}\nspec:\n  cloudInit:\n"
		   "    userData: |\n      #!/bin/sh\n      echo [not yaml\n"
		   "    networkConfig: |\n      version: 2\n      ethernets: {eth0: {dhcp4: true}}\n---\n"
		   "apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: t3}\nspec:\n  cloudInit:\n"
		   "    networkConfig: \"[1, 2]\"\n    userData: \"#cloud-config\\na: 1\\n---\\nb: 2\\n\"\n---\n"
		   "apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: t4}\nspec:\n  cloudInit:\n"
		   "    userData: \"#cloud-config\\nx: ");
	/* 200,000 levels: libyaml would take minutes to load it; refused at level 65 */
	for (i = 0; i < 200000; i++)
		fputc('[', f);
	for (i = 0; i < 200000; i++)
		fputc(']', f);
	fprintf(f, "\"\n");
	fclose(f);
	free(path);
	ck_assert_int_eq(sh(&r, "$NC validate spec/t.yaml"), 1);
	HAS(r.err, "spec/t.yaml:6:15: error: cloudInit.userData, line 3 of the document: did not find expected ',' or ']'\n");
	HAS(r.err, "spec/t.yaml:10:20: error: cloudInit.networkConfig, line 1 of the document: expected 'version: 2' (or 1) at the top\n");
	HAS(r.err, "error: cloudInit.networkConfig, line 1 of the document: expected a mapping with 'version: 2' (or 1) at the top\n");
	HAS(r.err, "error: cloudInit.userData, line 3 of the document: a second YAML document: cloud-init reads exactly one\n");
	HAS(r.err, "error: cloudInit.userData, line 2 of the document: nested deeper than 64 levels\n");
	HAS(r.err, "invalid: 5 errors");   /* the shell script and t2's network-config are fine */
	nc_run_free(&r);
}
END_TEST

/* the plan of a seed change, in the three formats, byte for byte and twice the same */
START_TEST(test_plan_golden_seed_change)
{
	static const struct {
		const char *flag, *golden;
	} fmts[] = {
		{ "", "plan-cloudinit.txt" },
		{ "--output markdown", "plan-cloudinit.md" },
		{ "--output json", "plan-cloudinit.json" },
	};
	size_t i;

	write_spec("pc", "  cloudInit:\n    userData: |\n      #cloud-config\n      packages: [nginx]\n");
	ck_assert_int_eq(shq(APPLY), 0);
	write_spec("pc", "  cloudInit:\n    userData: |\n      #cloud-config\n      packages: [nginx, curl]\n"
		   "    networkConfig: |\n      version: 2\n      ethernets:\n        eth0: {dhcp4: true, dhcp6: true}\n");
	for (i = 0; i < NC_ARRAY_SIZE(fmts); i++) {
		struct nc_run a, b;
		char *dg;

		ck_assert_int_eq(sh(&a, PLAN " %s", fmts[i].flag), 2);
		ck_assert_int_eq(sh(&b, PLAN " %s", fmts[i].flag), 2);
		ck_assert_str_eq(a.out, b.out);
		/* the observed digest covers domain UUIDs, new in every run */
		if ((dg = strstr(a.out, "  \"digests\": ")) != NULL)
			strcpy(dg, "  \"digests\": ...\n");
		nc_check_golden(fmts[i].golden, a.out);
		nc_run_free(&a);
		nc_run_free(&b);
	}
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
	tc = tcase_create("sim");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, sim_setup, sim_teardown);
	tcase_add_test(tc, test_sim_apply_change_remove);
	tcase_add_test(tc, test_sim_q35_and_delete);
	tcase_add_test(tc, test_sim_generated_network_config);
	tcase_add_test(tc, test_validate_limits);
	tcase_add_test(tc, test_validate_yaml);
	tcase_add_test(tc, test_plan_golden_seed_change);
	suite_add_tcase(s, tc);
	return s;
}
