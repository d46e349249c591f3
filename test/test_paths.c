/*
 * test_paths.c - the local file paths a spec names stay inside the
 * operator's `paths:` roots (spec/roots.h).
 *
 * Unit tests of the resolution (lexical, "..", symlinks that leave, that
 * dangle, that loop) and of the check over a loaded spec; then the real
 * binary: for every path field, `plan` refuses a spec that points outside
 * its roots with file:line:col and exit 1 before any host is contacted
 * (nothing appears in the state directory), as do `backup` and `restore`
 * (no repository is made) and `serve` (the revision is invalid); a symlink
 * inside a root that leads outside is refused; everything inside is
 * accepted; the configuration's roots replace the defaults; `validate`
 * judges the paths against the same roots (--config, $NOVACRON_CONFIG, or
 * the defaults).
 *
 * Each test works in its own directory T: T/roots/KIND are the roots of a
 * configuration T/cfg.yaml, T/out is outside every root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../spec/roots.h"
#include "tests.h"
#include "testutil.h"


static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-paths-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(shq("mkdir -p roots/secrets roots/ceph roots/pools/local roots/images "
			     "roots/backups roots/boot out spec && "
			     "touch roots/boot/vmlinuz roots/boot/initrd roots/images/base.qcow2 "
			     "roots/pools/local/base.qcow2 out/secret out/vmlinuz && "
			     "echo '[global]' > roots/ceph/ceph.conf && "
			     "head -c 32 /dev/zero > roots/secrets/backup.key && chmod 600 roots/secrets/backup.key && "
			     "printf 'access_key=a\\nsecret_key=b\\n' > roots/secrets/s3.cred && chmod 600 roots/secrets/s3.cred && "
			     "printf 'paths:\\n  secrets: [%s/roots/secrets]\\n  ceph: [%s/roots/ceph]\\n"
			     "  pools: [%s/roots/pools]\\n  images: [%s/roots/images]\\n"
			     "  backups: [%s/roots/backups]\\n  boot: [%s/roots/boot]\\n' > cfg.yaml",
			     tdir, tdir, tdir, tdir, tdir, tdir), 0);
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

/* ---- resolution ---- */

START_TEST(test_resolve)
{
	const char *why = NULL;
	char *p = NULL, *want;

	ck_assert_int_eq(nc_path_resolve(&p, "//a/./b//c/", &why), 0);
	ck_assert_str_eq(p, "/a/b/c");
	free(p);
	ck_assert_int_eq(nc_path_resolve(&p, "/", &why), 0);
	ck_assert_str_eq(p, "/");
	free(p);
	ck_assert_int_eq(nc_path_resolve(&p, "/a/../etc", &why), -1);
	ck_assert_str_eq(why, "it has a '..' component");
	ck_assert_int_eq(nc_path_resolve(&p, "rel/x", &why), -1);

	/* a link to a directory: followed, the missing rest appended as written */
	ck_assert_int_eq(shq("ln -s ../out roots/up && ln -s %s/out/nothing roots/dangling && "
			     "ln -s loop roots/loop", tdir), 0);
	want = nc_xasprintf("%s/roots/up/new/file", tdir);
	ck_assert_int_eq(nc_path_resolve(&p, want, &why), 0);
	free(want);
	want = nc_xasprintf("%s/out/new/file", tdir);
	ck_assert_str_eq(p, want);
	free(want);
	free(p);
	/* a dangling or looping link is refused: a file made later could land anywhere */
	want = nc_xasprintf("%s/roots/dangling", tdir);
	ck_assert_int_eq(nc_path_resolve(&p, want, &why), -1);
	ck_assert_str_eq(why, "a symlink in it does not resolve");
	free(want);
	want = nc_xasprintf("%s/roots/loop/x", tdir);
	ck_assert_int_eq(nc_path_resolve(&p, want, &why), -1);
	ck_assert_str_eq(why, "a symlink in it loops");
	free(want);

	ck_assert(nc_path_within("/a/b", "/a"));
	ck_assert(nc_path_within("/a", "/a"));
	ck_assert(!nc_path_within("/ab", "/a"));
	ck_assert(!nc_path_within("/", "/a"));
	ck_assert(nc_path_within("/anything", "/"));
}
END_TEST

/* ---- the check over a loaded spec, with roots from a `paths:` file ---- */

static struct nc_spec *load(const char *yaml)
{
	struct nc_spec *spec = NULL;
	struct nc_diags d;

	nc_diags_init(&d);
	ck_assert_msg(nc_spec_load_buffer(&spec, "c.yaml", yaml, strlen(yaml), NULL, &d) == 0,
		      "%s", d.n ? d.v[0].msg : "");
	nc_diags_release(&d);
	return spec;
}

START_TEST(test_check_defaults_and_config)
{
	struct nc_path_roots roots;
	struct nc_paths_config cfg;
	struct nc_spec *spec, *holder = NULL;
	struct nc_diags d;
	char *file = nc_xasprintf("%s/paths.yaml", tdir);
	const char *yaml =
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\n"
		"spec: {type: dir, path: /var/lib/novacron/pools/local}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: v}\nspec:\n"
		"  vcpus: 1\n  memory: 64MiB\n  boot: {kernel: /boot/vmlinuz}\n";

	spec = load(yaml);
	/* the defaults: the pool is inside, a kernel in /boot is not */
	nc_path_roots_init(&roots, NULL, NULL);
	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_check_paths(spec, &roots, &d), -1);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_uint_eq(d.v[0].line, 12);
	ck_assert_uint_eq(d.v[0].col, 18);
	ck_assert_str_eq(d.v[0].msg, "boot.kernel '/boot/vmlinuz' is outside the operator's allowed roots "
		"for boot (paths.boot, by default: /var/lib/libvirt/boot, /var/lib/novacron/boot; "
		"set paths.boot in the configuration)");
	nc_diags_release(&d);
	nc_path_roots_release(&roots);

	/* a configuration's roots replace the defaults of the kinds it names */
	ck_assert_int_eq(shq("printf 'pools: [/srv/pools]\\nboot: [/boot]\\n' > paths.yaml"), 0);
	memset(&cfg, 0, sizeof(cfg));
	nc_diags_init(&d);
	ck_assert_int_eq(nc_config_load(&holder, &nc_schema_paths, file, &cfg, &d), 0);
	nc_diags_release(&d);
	nc_path_roots_init(&roots, &cfg, file);
	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_check_paths(spec, &roots, &d), -1);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_uint_eq(d.v[0].line, 4);
	HAS(d.v[0].msg, "path '/var/lib/novacron/pools/local' is outside the operator's allowed roots for pools "
		"(paths.pools in ");
	HAS(d.v[0].msg, "paths.yaml: /srv/pools)");
	nc_diags_release(&d);
	nc_path_roots_release(&roots);
	nc_spec_free(holder);
	holder = NULL;

	/* an empty list allows nothing; "/" allows everything */
	ck_assert_int_eq(shq("printf 'pools: []\\nboot: [/]\\n' > paths.yaml"), 0);
	memset(&cfg, 0, sizeof(cfg));
	nc_diags_init(&d);
	ck_assert_int_eq(nc_config_load(&holder, &nc_schema_paths, file, &cfg, &d), 0);
	nc_diags_release(&d);
	nc_path_roots_init(&roots, &cfg, file);
	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_check_paths(spec, &roots, &d), -1);
	ck_assert_uint_eq(d.errors, 1);
	HAS(d.v[0].msg, "paths.yaml: none)");
	nc_diags_release(&d);
	nc_path_roots_release(&roots);
	nc_spec_free(holder);

	/* a root must be an absolute path without '..' */
	holder = NULL;
	ck_assert_int_eq(shq("printf 'pools: [/srv/../etc]\\n' > paths.yaml"), 0);
	memset(&cfg, 0, sizeof(cfg));
	nc_diags_init(&d);
	ck_assert_int_eq(nc_config_load(&holder, &nc_schema_paths, file, &cfg, &d), -1);
	nc_diags_release(&d);
	nc_spec_free(holder);
	nc_spec_free(spec);
	free(file);
}
END_TEST

/* ---- the real binary ---- */

/*
 * A spec with every kind of local path; fields[i].good is inside the roots
 * of cfg.yaml (R is T/roots), fields[i].bad outside (O is T/out).
 */
static const char spec_fmt[] =
	"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: 'sim:///h1'}\n---\n"
	"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\n"
	"spec: {type: dir, path: %s}\n---\n"
	"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: ceph}\n"
	"spec: {type: rbd, rbd: {pool: vms, cephConf: %s, user: nc, keyFile: %s}}\n---\n"
	"apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: t}\n"
	"spec:\n  vcpus: 1\n  memory: 64MiB\n  boot: {kernel: %s, initrd: %s}\n---\n"
	"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: v1}\n"
	"spec:\n  template: t\n  disks: [{name: root, pool: local, size: 1GiB, image: %s}]\n---\n"
	"apiVersion: novacron.io/v1\nkind: Image\nmetadata: {name: base}\n"
	"spec:\n  source: {file: %s}\n  sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n---\n"
	"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: v2}\n"
	"spec:\n  vcpus: 1\n  memory: 64MiB\n  disks: [{name: root, pool: local, size: 1GiB, image: base}]\n---\n"
	"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: b-dir}\n"
	"spec:\n  schedule: '@daily'\n  vms: [v1]\n  target: {type: dir, path: %s}\n  encryption: {keyFile: %s}\n---\n"
	"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: b-rados}\n"
	"spec:\n  schedule: '@daily'\n  vms: [v1]\n  target: {type: rados, pool: backups, cephConf: %s}\n---\n"
	"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: b-s3}\n"
	"spec:\n  schedule: '@daily'\n  vms: [v1]\n"
	"  target: {type: s3, endpoint: 'http://127.0.0.1:1', bucket: b, credentialsFile: %s}\n";

static const struct field {
	const char *name, *kind, *good, *bad;
} fields[] = {
	{ "path", "pools", "R/pools/local", "O/pool" },
	{ "rbd.cephConf", "ceph", "R/ceph/ceph.conf", "O/ceph.conf" },
	{ "rbd.keyFile", "secrets", "R/secrets/ceph.keyring", "O/ceph.keyring" },
	{ "boot.kernel", "boot", "R/boot/vmlinuz", "O/vmlinuz" },
	{ "boot.initrd", "boot", "R/boot/initrd", "/root/.ssh/id_rsa" },
	{ "image", "images", "R/images/base.qcow2", "O/secret" },
	{ "source.file", "images", "base.qcow2", "leak" },   /* R/images/leak -> O/secret */
	{ "target.path", "backups", "R/backups/repo", "O/repo" },
	{ "encryption.keyFile", "secrets", "R/secrets/backup.key", "/etc/shadow" },
	{ "target.cephConf", "ceph", "R/ceph/ceph.conf", "/etc/passwd" },
	{ "target.credentialsFile", "secrets", "R/secrets/s3.cred", "O/s3.cred" },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* "R/x" -> "T/roots/x", "O/x" -> "T/out/x" */
static char *expand(const char *v)
{
	if (v[0] == 'R' && v[1] == '/')
		return nc_xasprintf("%s/roots/%s", tdir, v + 2);
	if (v[0] == 'O' && v[1] == '/')
		return nc_xasprintf("%s/out/%s", tdir, v + 2);
	return nc_xstrdup(v);
}

/* Writes T/spec/c.yaml with field bad_i (-1: none) set to bad, the rest good. */
static char *write_spec(int bad_i, const char *bad)
{
	char *v[NFIELDS], *yaml, *path;
	size_t i;
	FILE *f;

	for (i = 0; i < NFIELDS; i++)
		v[i] = expand((int)i == bad_i ? bad : fields[i].good);
	yaml = nc_xasprintf(spec_fmt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
	path = nc_xasprintf("%s/spec/c.yaml", tdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(yaml, f);
	fclose(f);
	free(path);
	for (i = 0; i < NFIELDS; i++)
		free(v[i]);
	return yaml;
}

/* "spec/c.yaml:LINE:COL: error: " of the first occurrence of value */
static char *where(const char *yaml, const char *value)
{
	const char *at = strstr(yaml, value), *p;
	unsigned line = 1, col = 1;

	for (p = yaml; p < at; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return nc_xasprintf("spec/c.yaml:%u:%u: error: ", line, col);
}

#define PLAN_CFG "unset NOVACRON_CONFIG; $NC plan spec --state-dir state --config cfg.yaml"
#define STATE_EMPTY "test ! -e state || [ -z \"$(ls -A state)\" ]"

START_TEST(test_plan_inside_accepted)
{
	struct nc_run r;

	free(write_spec(-1, NULL));
	ck_assert_int_eq(sh(&r, PLAN_CFG), 2);
	HAS(r.out, "Plan: 2 to create");
	nc_run_free(&r);
	/* the same from $NOVACRON_CONFIG */
	ck_assert_int_eq(sh(&r, "NOVACRON_CONFIG=cfg.yaml $NC plan spec --state-dir state"), 2);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "unset NOVACRON_CONFIG; $NC validate spec --config cfg.yaml"), 0);
	nc_run_free(&r);
	/* validate judges the paths too, against the operator's roots (--config,
	 * $NOVACRON_CONFIG) or else the defaults: a pool at /etc is an error */
	free(write_spec(0, "/etc"));
	ck_assert_int_eq(sh(&r, "unset NOVACRON_CONFIG; $NC validate spec"), 1);
	HAS(r.err, "spec/c.yaml:9:25: error: path '/etc' is outside the operator's allowed roots for pools "
		   "(paths.pools, by default: /var/lib/libvirt/images, /var/lib/novacron/pools; set paths.pools "
		   "in the configuration)\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "unset NOVACRON_CONFIG; $NC validate spec --config cfg.yaml -o json"), 1);
	HAS(r.out, "\"valid\": false");
	HAS(r.out, "path '/etc' is outside the operator's allowed roots for pools (paths.pools in cfg.yaml: ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "NOVACRON_CONFIG=cfg.yaml $NC validate spec"), 1);
	HAS(r.err, "(paths.pools in cfg.yaml: ");
	nc_run_free(&r);
	/* through '..' (refused as written) and through a symlink inside the root */
	free(write_spec(0, "R/pools/../../out"));
	ck_assert_int_eq(sh(&r, "$NC validate spec --config cfg.yaml"), 1);
	HAS(r.err, "expected an absolute path without '..' components");
	nc_run_free(&r);
	ck_assert_int_eq(shq("ln -s /etc roots/pools/etc"), 0);
	free(write_spec(0, "R/pools/etc"));
	ck_assert_int_eq(sh(&r, "$NC validate spec --config cfg.yaml"), 1);
	HAS(r.err, "is outside the operator's allowed roots for pools");
	nc_run_free(&r);
}
END_TEST

/* every field, pointing outside its roots: refused before any host is touched */
START_TEST(test_plan_outside_refused)
{
	const struct field *f = &fields[_i];
	struct nc_run r;
	char *bad = expand(f->bad), *yaml, *pos, *msg;

	if (_i == 6)   /* an Image's file name that is a link out of the images root */
		ck_assert_int_eq(shq("ln -sf ../../out/secret roots/images/leak"), 0);
	yaml = write_spec(_i, f->bad);
	ck_assert_ptr_nonnull(strstr(yaml, bad));
	pos = where(yaml, bad);
	msg = nc_xasprintf("is outside the operator's allowed roots for %s (paths.%s in cfg.yaml: ", f->kind,
			   f->kind);
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	HAS(r.err, pos);
	HAS(r.err, msg);
	HAS(r.err, "nothing was contacted");
	HAS(r.err, f->name);
	ck_assert_msg(strstr(r.err, "error: ") == strstr(r.err, pos) + strlen(pos) - 7 &&
		      !strstr(strstr(r.err, pos) + strlen(pos), "error: "), "one error only:\n%s", r.err);
	HASNT(r.out, "Plan:");
	nc_run_free(&r);
	ck_assert_int_eq(shq(STATE_EMPTY), 0);
	/* apply refuses the same way */
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --config cfg.yaml --auto-approve"), 1);
	HAS(r.err, pos);
	nc_run_free(&r);
	/* and validate, with the same configuration */
	ck_assert_int_eq(sh(&r, "$NC validate spec --config cfg.yaml"), 1);
	HAS(r.err, pos);
	HAS(r.err, msg);
	nc_run_free(&r);
	ck_assert_int_eq(shq(STATE_EMPTY), 0);
	free(msg);
	free(pos);
	free(yaml);
	free(bad);
}
END_TEST

/* a symlink inside a root that leads out of it, for a file and for a directory */
/*
 * An Image's file on simulated hosts: a name in none of the images roots is
 * an error at its position before any host is contacted; a file whose sha256
 * differs is a plan error; the right one is uploaded (read and verified: a
 * sim host records the volume with the file's length) and reused.
 */
static const char image_spec_fmt[] =
	"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: 'sim:///h1'}\n---\n"
	"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\n"
	"spec: {type: dir, path: %s/roots/pools/local}\n---\n"
	"apiVersion: novacron.io/v1\nkind: Image\nmetadata: {name: deb}\n"
	"spec:\n  source: {file: %s}\n  sha256: %s\n---\n"
	"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: v1}\n"
	"spec:\n  vcpus: 1\n  memory: 64MiB\n  disks: [{name: root, pool: local, size: 1GiB, image: deb}]\n";

static void write_image_spec(const char *file, const char *sha)
{
	char *yaml = nc_xasprintf(image_spec_fmt, tdir, file, sha), *path = nc_xasprintf("%s/spec/c.yaml", tdir);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(yaml, f);
	fclose(f);
	free(path);
	free(yaml);
}

START_TEST(test_image_file_plan)
{
	struct nc_run r;
	char sum[65];

	ck_assert_int_eq(shq("head -c 300000 /dev/urandom > roots/images/deb.img"), 0);
	ck_assert_int_eq(sh(&r, "sha256sum roots/images/deb.img"), 0);
	snprintf(sum, sizeof(sum), "%.64s", r.out);
	nc_run_free(&r);

	/* not in the images root: at its position, nothing contacted */
	write_image_spec("nope.img", sum);
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	HAS(r.err, "spec/c.yaml:15:18: error: Image 'deb': file 'nope.img' is in none of the operator's "
		   "paths.images directories (");
	HAS(r.err, "nothing was contacted");
	nc_run_free(&r);
	ck_assert_int_eq(shq(STATE_EMPTY), 0);

	/* another sha256: a plan error, exit 1, naming both */
	write_image_spec("deb.img", "00000000000000000000000000000000000000000000000000000000000000ff");
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	HAS(r.out, "error: Image deb (for VM v1): ");
	HAS(r.out, "/roots/images/deb.img has sha256 ");
	HAS(r.out, sum);
	HAS(r.out, "not the 00000000000000000000000000000000000000000000000000000000000000ff the spec gives");
	nc_run_free(&r);

	/* the right one: an upload, then the create; applied; then nothing to do */
	write_image_spec("deb.img", sum);
	ck_assert_int_eq(sh(&r, PLAN_CFG), 2);
	HAS(r.out, "+ image deb: upload on h1 into pool local\n");
	HAS(r.out, "uploads 300000B from file deb.img");
	HAS(r.out, "Plan: 1 to create, 0 to update, 0 to delete, 0 to start, 0 to stop, 1 image to upload.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --config cfg.yaml --auto-approve"), 0);
	HAS(r.out, "upload image deb on h1 into pool local ... done");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "grep -A3 '<name>novacron-image-deb-%.12s.qcow2</name>' state/h1.xml", sum), 0);
	HAS(r.out, "<capacity unit=\"bytes\">300000</capacity>");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN_CFG), 0);
	HAS(r.out, "No changes.");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_symlink_escapes)
{
	struct nc_run r;
	char *yaml, *out;

	ck_assert_int_eq(shq("ln -s ../../out/secret roots/secrets/evil.key && ln -s ../../out roots/backups/up && "
			     "ln -s ../../out/nothing roots/backups/dangling"), 0);
	yaml = write_spec(8, "R/secrets/evil.key");
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	out = nc_xasprintf("encryption.keyFile '%s/roots/secrets/evil.key' is outside the operator's allowed "
			   "roots for secrets (paths.secrets in cfg.yaml: %s/roots/secrets): it resolves to "
			   "'%s/out/secret'", tdir, tdir, tdir);
	HAS(r.err, out);
	free(out);
	free(yaml);
	nc_run_free(&r);
	/* a repository that does not exist yet, below a link that leaves */
	free(write_spec(7, "R/backups/up/repo"));
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	HAS(r.err, "is outside the operator's allowed roots for backups (paths.backups in cfg.yaml: ");
	HAS(r.err, "): it resolves to ");
	nc_run_free(&r);
	/* a link that does not resolve could be made to point anywhere later */
	free(write_spec(7, "R/backups/dangling"));
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	HAS(r.err, "cannot be used: a symlink in it does not resolve");
	nc_run_free(&r);
	/* '..' is refused by validate already */
	free(write_spec(8, "R/secrets/../../out/secret"));
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	HAS(r.err, "expected an absolute path without '..' components");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	nc_run_free(&r);
	ck_assert_int_eq(shq(STATE_EMPTY), 0);
}
END_TEST

/* without a configuration the defaults hold; a configuration replaces them */
START_TEST(test_defaults_and_override)
{
	struct nc_run r;

	ck_assert_int_eq(shq("cp -r %s/examples/quickstart qs", NC_SOURCE_DIR), 0);
	ck_assert_int_eq(sh(&r, "unset NOVACRON_CONFIG; $NC plan qs --state-dir state"), 2);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "unset NOVACRON_CONFIG; $NC plan qs --state-dir state2 --config cfg.yaml"), 1);
	HAS(r.err, "qs/infra.yaml:7:9: error: path '/var/lib/novacron/pools/local' is outside the operator's "
		   "allowed roots for pools (paths.pools in cfg.yaml: ");
	HAS(r.err, "qs/infra.yaml:33:11: error: target.path '/var/backups/novacron' is outside");
	nc_run_free(&r);
	ck_assert_int_eq(shq("test ! -e state2"), 0);
	/* the defaults refuse what the configuration allowed */
	free(write_spec(-1, NULL));
	ck_assert_int_eq(sh(&r, "unset NOVACRON_CONFIG; $NC plan spec --state-dir state3"), 1);
	HAS(r.err, "(paths.pools, by default: /var/lib/libvirt/images, /var/lib/novacron/pools; "
		   "set paths.pools in the configuration)");
	HAS(r.err, "(paths.secrets, by default: /etc/novacron; set paths.secrets in the configuration)");
	nc_run_free(&r);
	ck_assert_int_eq(shq("test ! -e state3"), 0);
}
END_TEST

/* backup and restore refuse before a repository is opened or made */
START_TEST(test_backup_restore_refused)
{
	struct nc_run r;

	free(write_spec(7, "O/repo"));
	ck_assert_int_eq(sh(&r, "$NC backup run v1 spec --state-dir state --config cfg.yaml"), 1);
	HAS(r.err, "is outside the operator's allowed roots for backups");
	HAS(r.err, "novacron backup: the spec names 1 local path outside the operator's roots");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule b-dir spec --config cfg.yaml"), 1);
	HAS(r.err, "is outside the operator's allowed roots for backups");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC restore v1 --backup 0123456789abcdef spec --state-dir state --config cfg.yaml"), 1);
	HAS(r.err, "novacron restore: the spec names 1 local path");
	nc_run_free(&r);
	ck_assert_int_eq(shq("test ! -e out/repo && " STATE_EMPTY), 0);
	/* the key file the same way */
	free(write_spec(8, "O/secret"));
	ck_assert_int_eq(sh(&r, "$NC backup check --schedule b-dir spec --config cfg.yaml"), 1);
	HAS(r.err, "encryption.keyFile '");
	nc_run_free(&r);
}
END_TEST

/* a secrets file inside its root that others may read is refused by plan already */
START_TEST(test_secret_mode)
{
	struct nc_run r;
	char *want;

	free(write_spec(-1, NULL));
	ck_assert_int_eq(shq("chmod 640 roots/secrets/s3.cred"), 0);
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	want = nc_xasprintf("target.credentialsFile %s/roots/secrets/s3.cred is accessible by group or others "
			    "(mode 0640): run chmod 600 ", tdir);
	HAS(r.err, want);
	free(want);
	nc_run_free(&r);
	ck_assert_int_eq(shq(STATE_EMPTY), 0);
	/* a secrets file that does not exist (yet) on this machine is no reason to refuse a plan */
	ck_assert_int_eq(shq("chmod 600 roots/secrets/s3.cred && rm roots/secrets/backup.key"), 0);
	ck_assert_int_eq(sh(&r, PLAN_CFG), 2);
	nc_run_free(&r);
}
END_TEST

/*
 * A secret that is not a regular file (found attacking issue 11): a FIFO in
 * the secrets root made plan wait forever for a writer when it read an
 * rbd.keyFile; a directory failed only when read.  Now the reader opens
 * without blocking and refuses both, and validate/plan refuse the path.
 */
START_TEST(test_secret_not_a_file)
{
	struct nc_run r;
	char *path, *data = NULL, *want;
	size_t len = 0;
	unsigned mode = 0;

	free(write_spec(-1, NULL));
	ck_assert_int_eq(shq("rm roots/secrets/backup.key && mkfifo -m 600 roots/secrets/backup.key && "
			     "mkdir -m 700 roots/secrets/adir"), 0);
	path = nc_xasprintf("%s/roots/secrets/backup.key", tdir);
	ck_assert_int_eq(nc_read_secret_file(path, 4096, &data, &len, &mode), NC_SECRET_NOT_FILE);
	ck_assert_int_eq(nc_secret_check(path, &mode), NC_SECRET_NOT_FILE);
	free(path);
	path = nc_xasprintf("%s/roots/secrets/adir", tdir);
	ck_assert_int_eq(nc_read_secret_file(path, 4096, &data, &len, &mode), NC_SECRET_NOT_FILE);
	free(path);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	want = nc_xasprintf("encryption.keyFile %s/roots/secrets/backup.key is not a regular file", tdir);
	HAS(r.err, want);
	free(want);
	nc_run_free(&r);
	ck_assert_int_eq(shq(STATE_EMPTY), 0);
}
END_TEST

/*
 * Found attacking issue 11: rbd.user and rbd.pool took any string, so a
 * newline and an escape sequence reached the plan (a forged line, a
 * coloured terminal) and a keyring section; and a change value with a
 * backtick left its code span in the Markdown plan a pull request shows.
 */
START_TEST(test_rbd_names_and_markdown_spans)
{
	struct nc_run r;
	char *yaml, *want;

	yaml = nc_xasprintf("apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: 'sim:///h1'}\n---\n"
			    "apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: ceph}\nspec:\n  type: rbd\n"
			    "  rbd: {pool: \"rbd\\n\\n## LGTM\", cephConf: %s/roots/ceph/ceph.conf, "
			    "user: \"x\\e[31m\\n+ v9: delete\", keyFile: '%s/roots/secrets/k`![t](x.png)`'}\n---\n"
			    "apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: v1}\n"
			    "spec: {vcpus: 1, memory: 128MiB, disks: [{name: root, pool: ceph, size: 1GiB}]}\n", tdir, tdir);
	ck_assert_int_eq(shq("cat > spec/c.yaml <<'EOF'\n%sEOF", yaml), 0);
	ck_assert_int_eq(shq("printf '[client.x]\\n\\tkey = AQBkZ2VtYWNoaW5lc2VjcmV0a2V5MTIzNDU2Nzg5MA==\\n' > "
			     "'roots/secrets/k`![t](x.png)`' && chmod 600 roots/secrets/k*"), 0);
	ck_assert_int_eq(sh(&r, PLAN_CFG), 1);
	HAS(r.err, "spec/c.yaml:11:15: error: invalid pool 'rbd\\x0a\\x0a## LGTM': Ceph pool and user names are 1 "
		   "to 127 of A-Z a-z 0-9 '_' '.' '-', not starting with '-'");
	HAS(r.err, "error: invalid user 'x\\x1b[31m\\x0a+ v9: delete': ");
	HASNT(r.out, "\x1b[31m");
	nc_run_free(&r);
	ck_assert_int_eq(shq(STATE_EMPTY), 0);

	/* valid names: the key file's name, backticks and all, stays inside its code span */
	ck_assert_int_eq(shq("sed -i -e 's/pool: \"[^\"]*\"/pool: rbd/' -e 's/user: \"[^\"]*\"/user: x/' spec/c.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN_CFG " --output markdown"), 2);
	want = nc_xasprintf("- value: `-` → `` the key of client.x in %s/roots/secrets/k`![t](x.png)` ``\n", tdir);
	HAS(r.out, want);
	free(want);
	nc_run_free(&r);
	free(yaml);
}
END_TEST

/* serve takes a revision with a path outside its roots for invalid */
START_TEST(test_serve_refuses_revision)
{
	struct nc_run r;
	int i, rc = 1;

	free(write_spec(3, "O/vmlinuz"));
	ck_assert_int_eq(shq("cat cfg.yaml > serve.yaml && printf 'source: {directory: %s/spec}\\n"
			     "cacheDir: %s/cache\\nstateDir: %s/state\\nlisten: 127.0.0.1:0\\n' >> serve.yaml && "
			     "($NC serve --config serve.yaml > /dev/null 2> log & echo $! > pid)", tdir, tdir, tdir), 0);
	for (i = 0; i < 100 && rc; i++) {
		usleep(100000);
		rc = shq("grep -q 'is invalid' log");
	}
	shq("kill $(cat pid)");
	ck_assert_int_eq(sh(&r, "sleep 0.3; cat log"), 0);
	ck_assert_msg(rc == 0, "no refusal in the log:\n%s", r.out);
	HAS(r.out, "is outside the operator's allowed roots for boot (paths.boot in serve.yaml: ");
	HASNT(r.out, "new revision");
	nc_run_free(&r);
	ck_assert_int_eq(shq("test ! -e state/h1.lock"), 0);
}
END_TEST

Suite *nc_suite_paths(void)
{
	Suite *s = suite_create("paths");
	TCase *tc = tcase_create("paths");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_check_defaults_and_config);
	tcase_add_test(tc, test_plan_inside_accepted);
	tcase_add_loop_test(tc, test_plan_outside_refused, 0, (int)NFIELDS);
	tcase_add_test(tc, test_symlink_escapes);
	tcase_add_test(tc, test_image_file_plan);
	tcase_add_test(tc, test_defaults_and_override);
	tcase_add_test(tc, test_backup_restore_refused);
	tcase_add_test(tc, test_secret_mode);
	tcase_add_test(tc, test_secret_not_a_file);
	tcase_add_test(tc, test_rbd_names_and_markdown_spans);
	tcase_add_test(tc, test_serve_refuses_revision);
	suite_add_tcase(s, tc);
	return s;
}
