/*
 * test_tenant.c - Tenants (spec/tenant.h, docs/tenants.md): which tenant
 * owns an object (the longest path wins), the rules validate applies with
 * their messages and positions (what a tenant's VMs and Templates may use,
 * infrastructure in a tenant's folder, paths claimed twice, restores),
 * quotas at and past their limits, Tenants outside tenancy.adminPaths (the
 * library call and the real `novacron validate --config` / `plan`), and the
 * usage plan shows in text, Markdown and JSON, byte for byte the same twice.
 */
#include "tests.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../spec/tenant.h"
#include "testutil.h"

#define DOC(kind, name) "---\napiVersion: novacron.io/v1\nkind: " kind "\nmetadata:\n  name: " name "\nspec:\n"

/* the admins' part most tests share: a pool and two networks, two templates */
#define INFRA \
	DOC("StoragePool", "local") "  type: dir\n  path: /var/lib/novacron/pools/local\n" \
	DOC("StoragePool", "fast") "  type: dir\n  path: /var/lib/novacron/pools/fast\n" \
	DOC("Network", "web-net") "  type: bridge\n  bridge: br0\n" \
	DOC("Network", "data-net") "  type: bridge\n  bridge: br1\n" \
	DOC("Template", "small") "  vcpus: 2\n  memory: 2GiB\n  disks:\n    - {name: root, pool: local, size: 10GiB}\n" \
	DOC("Template", "big") "  vcpus: 8\n  memory: 16GiB\n  disks:\n    - {name: root, pool: fast, size: 10GiB}\n"

struct tdir {
	char path[64];
};

static void tdir_make(struct tdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/nc-tenant-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->path));
}

static void tdir_remove(struct tdir *t)
{
	int r = nc_run_inq("/tmp", "rm -rf '%s'", t->path);

	ck_assert_int_eq(r, 0);
}

/* writes dir/rel, making its folders */
static void put(const struct tdir *t, const char *rel, const char *text)
{
	char *path = nc_xasprintf("%s/%s", t->path, rel), *p;
	FILE *f;

	for (p = path + strlen(t->path) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		ck_assert_msg(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s", path);
		*p = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	free(path);
}

/* the diagnostics' text with the directory's name left out ("teams/web/vms.yaml:3:1: ...") */
static char *text_of(const struct tdir *t, const struct nc_diags *d)
{
	struct nc_buf b = NC_BUF_INIT, o = NC_BUF_INIT;
	char *pre = nc_xasprintf("%s/", t->path);
	const char *p, *hit;

	nc_diags_format_text(d, &b, 0);
	for (p = b.buf; (hit = strstr(p, pre)) != NULL; p = hit + strlen(pre))
		nc_buf_add(&o, p, (size_t)(hit - p));
	nc_buf_adds(&o, p);
	nc_buf_release(&b);
	free(pre);
	return nc_buf_detach(&o, NULL);
}

/* loads the directory; admin: also the adminPaths check (NULL: none configured) */
static char *load(const struct tdir *t, struct nc_spec **out, const struct nc_strlist *admin, bool check_admin)
{
	const char *paths[] = { t->path };
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	char *s;

	nc_diags_init(&d);
	nc_spec_load(&spec, paths, 1, NULL, &d);
	if (check_admin)
		nc_tenant_check_admin(spec, admin, &d);
	nc_diags_sort(&d);
	s = text_of(t, &d);
	nc_diags_release(&d);
	if (out)
		*out = spec;
	else
		nc_spec_free(spec);
	return s;
}

START_TEST(test_tenant_of_longest_path)
{
	struct tdir t;
	struct nc_spec *spec;
	char *got;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml",
	    DOC("Tenant", "teams") "  paths: [teams]\n"
	    DOC("Tenant", "web") "  paths: [./teams/web/, teams/webby]\n");
	put(&t, "infra.yaml", INFRA);
	put(&t, "teams/web/vms.yaml", DOC("VM", "w1") "  template: small\n");
	put(&t, "teams/web/deep/vms.yaml", DOC("VM", "w2") "  template: small\n");
	put(&t, "teams/webx/vms.yaml", DOC("VM", "x1") "  template: small\n");
	put(&t, "teams/vms.yaml", DOC("VM", "t1") "  template: small\n");
	put(&t, "other/vms.yaml", DOC("VM", "o1") "  template: small\n");
	got = load(&t, &spec, NULL, false);
	ck_assert_str_eq(got, "");
	ck_assert_str_eq(nc_tenant_of(spec, nc_spec_find(spec, NC_KIND_VM, "w1")), "web");
	ck_assert_str_eq(nc_tenant_of(spec, nc_spec_find(spec, NC_KIND_VM, "w2")), "web");
	/* teams/web is not a prefix of teams/webx: the folder, not the string */
	ck_assert_str_eq(nc_tenant_of(spec, nc_spec_find(spec, NC_KIND_VM, "x1")), "teams");
	ck_assert_str_eq(nc_tenant_of(spec, nc_spec_find(spec, NC_KIND_VM, "t1")), "teams");
	ck_assert_ptr_null(nc_tenant_of(spec, nc_spec_find(spec, NC_KIND_VM, "o1")));
	ck_assert_ptr_null(nc_tenant_of(spec, nc_spec_find(spec, NC_KIND_TEMPLATE, "small")));
	ck_assert_ptr_null(nc_tenant_of(spec, NULL));
	free(got);
	nc_spec_free(spec);
	tdir_remove(&t);
}
END_TEST

/* what a tenant's VMs and Templates may use, at the value that uses it */
START_TEST(test_tenant_allow_lists)
{
	struct tdir t;
	char *got;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml",
	    DOC("Tenant", "web") "  paths: [teams/web]\n  networks: [web-net]\n  pools: [local]\n  templates: [small]\n"
	    DOC("Tenant", "data") "  paths: [teams/data]\n  networks: []\n");
	put(&t, "infra.yaml", INFRA);
	put(&t, "teams/web/vms.yaml",
	    DOC("VM", "ok") "  template: small\n  nics:\n    - {name: eth0, network: web-net}\n"
	    DOC("VM", "net") "  template: small\n  nics:\n    - {name: eth0, network: data-net}\n"
	    DOC("VM", "pool") "  template: small\n  disks:\n    - {name: data, pool: fast, size: 1GiB}\n"
	    DOC("VM", "tmpl") "  template: big\n"
	    DOC("VM", "other") "  template: data-t\n"
	    DOC("Template", "mine") "  inherits: big\n  disks:\n    - {name: d, pool: fast, size: 1GiB}\n"
	    DOC("VM", "own") "  template: mine\n");
	put(&t, "teams/data/vms.yaml",
	    DOC("Template", "data-t") "  vcpus: 1\n  memory: 1GiB\n"
	    /* templates absent: any of the admins'; pools absent: any; networks []: none */
	    DOC("VM", "d1") "  template: big\n  nics:\n    - {name: eth0, network: data-net}\n");
	got = load(&t, NULL, NULL, false);
	HAS(got, "teams/data/vms.yaml:17:29: error: VM 'd1' uses network 'data-net', which Tenant 'data' may "
		 "not use (its networks: none)\n");
	HAS(got, "teams/web/vms.yaml:18:29: error: VM 'net' uses network 'data-net', which Tenant 'web' may not "
		 "use (its networks: web-net)\n");
	HAS(got, "teams/web/vms.yaml:27:26: error: VM 'pool' uses pool 'fast', which Tenant 'web' may not use "
		 "(its pools: local)\n");
	HAS(got, "teams/web/vms.yaml:34:13: error: VM 'tmpl' uses Template 'big', which Tenant 'web' may not "
		 "use (its templates: small)\n");
	/* the template big's pool is the admins' value: said at the VM's template, once the template is refused too */
	HAS(got, "teams/web/vms.yaml:34:13: error: VM 'tmpl' uses pool 'fast' (from Template 'big'), which "
		 "Tenant 'web' may not use (its pools: local)\n");
	HAS(got, "teams/web/vms.yaml:41:13: error: VM 'other' uses Template 'data-t', which Tenant 'web' may "
		 "not use (its templates: small)\n");
	/* the tenant's own template: its own values where written, its parent where named */
	HAS(got, "teams/web/vms.yaml:48:13: error: Template 'mine' uses Template 'big', which Tenant 'web' may "
		 "not use (its templates: small)\n");
	HAS(got, "teams/web/vms.yaml:50:23: error: Template 'mine' uses pool 'fast', which Tenant 'web' may not "
		 "use (its pools: local)\n");
	HAS(got, "teams/web/vms.yaml:57:13: error: VM 'own' uses pool 'fast' (from Template 'mine'), which "
		 "Tenant 'web' may not use (its pools: local)\n");
	HASNT(got, "VM 'ok'");
	HASNT(got, "VM 'own' uses Template");
	HASNT(got, "VM 'd1' uses Template");
	HASNT(got, "VM 'd1' uses pool");
	free(got);
	tdir_remove(&t);
}
END_TEST

/* another tenant's template is never usable without a templates list naming it */
START_TEST(test_tenant_other_tenants_template)
{
	struct tdir t;
	char *got;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml", DOC("Tenant", "a") "  paths: [a]\n" DOC("Tenant", "b") "  paths: [b]\n");
	put(&t, "infra.yaml", INFRA);
	put(&t, "a/t.yaml", DOC("Template", "a-t") "  vcpus: 1\n  memory: 1GiB\n");
	put(&t, "b/vms.yaml", DOC("VM", "b1") "  template: a-t\n" DOC("VM", "b2") "  template: small\n");
	got = load(&t, NULL, NULL, false);
	ck_assert_str_eq(got, "b/vms.yaml:7:13: error: VM 'b1' uses Template 'a-t' of Tenant 'a', which Tenant "
			      "'b' may not use: a tenant uses its own templates, the admins' and those its templates "
			      "list names\n");
	free(got);
	tdir_remove(&t);
}
END_TEST

/* hosts, pools, networks, policies, ... and Tenants in a tenant's folder; a tenant's VM restoring a backup */
START_TEST(test_tenant_no_infrastructure)
{
	struct tdir t;
	char *got;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml", DOC("Tenant", "web") "  paths: [teams/web]\n");
	put(&t, "infra.yaml", INFRA DOC("BackupSchedule", "nightly") "  schedule: '@daily'\n  vms: [w1]\n"
	    "  target: {type: dir, path: /srv/backups}\n");
	put(&t, "teams/web/infra.yaml",
	    DOC("Host", "kvm9") "  uri: sim:///kvm9\n"
	    DOC("StoragePool", "mine") "  type: dir\n  path: /var/lib/novacron/pools/mine\n"
	    DOC("Network", "mynet") "  type: bridge\n  bridge: br9\n"
	    DOC("Tenant", "sneaky") "  paths: [teams/other]\n  quota: {vcpus: 1000}\n"
	    DOC("VM", "w1") "  template: small\n  restore: {backup: 0123456789abcdef, schedule: nightly}\n");
	got = load(&t, NULL, NULL, false);
	HAS(got, "teams/web/infra.yaml:3:7: error: Host 'kvm9' is declared in a folder of Tenant 'web' "
		 "(teams/web/infra.yaml): a tenant declares VMs and Templates only; hosts, pools, networks, "
		 "images, policies, schedules and rules belong to the admins' folders (docs/tenants.md)\n");
	HAS(got, "teams/web/infra.yaml:10:7: error: StoragePool 'mine' is declared in a folder of Tenant 'web'");
	HAS(got, "teams/web/infra.yaml:18:7: error: Network 'mynet' is declared in a folder of Tenant 'web'");
	HAS(got, "teams/web/infra.yaml:26:7: error: Tenant 'sneaky' is declared in a folder of Tenant 'web' "
		 "(teams/web/infra.yaml): a tenant declares VMs and Templates only; Tenants belong to the admins' "
		 "folders (docs/tenants.md)\n");
	HAS(got, "teams/web/infra.yaml:39:12: error: VM 'w1' of Tenant 'web' restores from a backup: a repository "
		 "holds every VM's backups and an id names any of them, so a tenant's VM may not; an admin "
		 "restores it (docs/tenants.md)\n");
	HASNT(got, "'small' is declared");
	free(got);
	tdir_remove(&t);
}
END_TEST

START_TEST(test_tenant_paths_claimed)
{
	struct tdir t;
	char *got;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml",
	    DOC("Tenant", "a") "  paths: [teams/x, teams/a, teams/a/]\n"
	    DOC("Tenant", "b") "  paths: [./teams/x/, ../up, /abs, ., teams//b]\n");
	put(&t, "infra.yaml", INFRA);
	got = load(&t, NULL, NULL, false);
	ck_assert_str_eq(got,
		"admin/tenants.yaml:7:29: warning: Tenant 'a' lists path 'teams/a' twice\n"
		"admin/tenants.yaml:14:11: error: path 'teams/x' is claimed by Tenant 'a' and Tenant 'b': a folder "
		"belongs to one tenant\n"
		"admin/tenants.yaml:7:11: note: Tenant 'a' claims it here\n"
		"admin/tenants.yaml:14:23: error: Tenant 'b': path '../up' is not a folder of the spec: it has an "
		"empty, '.' or '..' component\n"
		"admin/tenants.yaml:14:30: error: Tenant 'b': path '/abs' is not a folder of the spec: an absolute "
		"path; write it relative to the spec's root (e.g. teams/web)\n"
		"admin/tenants.yaml:14:36: error: Tenant 'b': path '.' is not a folder of the spec: the whole spec; "
		"name a folder in it (e.g. teams/web)\n"
		"admin/tenants.yaml:14:39: error: Tenant 'b': path 'teams//b' is not a folder of the spec: it has an "
		"empty, '.' or '..' component\n");
	free(got);
	tdir_remove(&t);
}
END_TEST

/* each quota exactly at its limit passes; one more fails, with usage against quota */
START_TEST(test_tenant_quota_boundaries)
{
	int i = _i;
	struct tdir t;
	struct nc_buf vms = NC_BUF_INIT;
	char *got;

	tdir_make(&t);
	/* 3 VMs, 6 vCPUs, 6GiB, 30GiB; a VM with state absent is not counted */
	put(&t, "admin/tenants.yaml",
	    i == 1 ? DOC("Tenant", "web") "  paths: [w]\n  quota: {vms: 2, vcpus: 6, memory: 6GiB, disk: 30GiB}\n" :
	    i == 2 ? DOC("Tenant", "web") "  paths: [w]\n  quota: {vms: 3, vcpus: 5, memory: 6GiB, disk: 30GiB}\n" :
	    i == 3 ? DOC("Tenant", "web") "  paths: [w]\n  quota: {vms: 3, vcpus: 6, memory: 6143MiB, disk: 30GiB}\n" :
	    i == 4 ? DOC("Tenant", "web") "  paths: [w]\n  quota: {vms: 3, vcpus: 6, memory: 6GiB, disk: 30719MiB}\n" :
		     DOC("Tenant", "web") "  paths: [w]\n  quota: {vms: 3, vcpus: 6, memory: 6GiB, disk: 30GiB}\n");
	put(&t, "infra.yaml", INFRA);
	nc_buf_adds(&vms, DOC("VM", "a") "  template: small\n" DOC("VM", "b") "  template: small\n"
			  DOC("VM", "c") "  template: small\n"
			  DOC("VM", "gone") "  template: big\n  state: absent\n");
	put(&t, "w/vms.yaml", vms.buf);
	got = load(&t, NULL, NULL, false);
	switch (i) {
	case 0:
		ck_assert_str_eq(got, "");
		break;
	case 1:
		ck_assert_str_eq(got, "admin/tenants.yaml:8:16: error: Tenant 'web' is over its quota: 3 VMs of 2 "
				      "allowed (VM a, VM b, VM c)\n");
		break;
	case 2:
		ck_assert_str_eq(got, "admin/tenants.yaml:8:26: error: Tenant 'web' is over its quota: 6 vCPUs of 5 "
				      "allowed (VM a 2, VM b 2, VM c 2)\n");
		break;
	case 3:
		ck_assert_str_eq(got, "admin/tenants.yaml:8:37: error: Tenant 'web' is over its quota: 6GiB of "
				      "memory of 6143MiB allowed (VM a 2GiB, VM b 2GiB, VM c 2GiB)\n");
		break;
	case 4:
		ck_assert_str_eq(got, "admin/tenants.yaml:8:49: error: Tenant 'web' is over its quota: 30GiB of disk "
				      "of 30719MiB allowed (VM a 10GiB, VM b 10GiB, VM c 10GiB)\n");
		break;
	}
	free(got);
	nc_buf_release(&vms);
	tdir_remove(&t);
}
END_TEST

/* a quota of many VMs names the first 20 and counts the rest */
START_TEST(test_tenant_quota_message_bounded)
{
	struct tdir t;
	struct nc_buf vms = NC_BUF_INIT;
	char *got;
	int i;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml", DOC("Tenant", "web") "  paths: [w]\n  quota: {vms: 0}\n");
	put(&t, "infra.yaml", INFRA);
	for (i = 0; i < 25; i++)
		nc_buf_addf(&vms, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: v%02d\nspec:\n"
				  "  template: small\n", i);
	put(&t, "w/vms.yaml", vms.buf);
	got = load(&t, NULL, NULL, false);
	HAS(got, "error: Tenant 'web' is over its quota: 25 VMs of 0 allowed (VM v00, VM v01, ");
	HAS(got, ", VM v19 and 5 more)\n");
	HASNT(got, "v20");
	free(got);
	nc_buf_release(&vms);
	tdir_remove(&t);
}
END_TEST

/* sizes have no upper bound: sums saturate rather than wrap below the quota */
START_TEST(test_tenant_quota_no_overflow)
{
	struct tdir t;
	char *got;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml", DOC("Tenant", "web") "  paths: [w]\n  quota: {memory: 1GiB, disk: 1GiB}\n");
	put(&t, "infra.yaml", INFRA);
	put(&t, "w/vms.yaml",
	    DOC("VM", "a") "  vcpus: 1\n  memory: 8192PiB\n  disks:\n    - {name: r, pool: local, size: 8192PiB}\n"
	    "    - {name: s, pool: local, size: 8192PiB}\n"
	    DOC("VM", "b") "  vcpus: 1\n  memory: 8192PiB\n");
	got = load(&t, NULL, NULL, false);
	ck_assert_str_eq(got, "admin/tenants.yaml:8:19: error: Tenant 'web' is over its quota: 16EiB or more of "
			      "memory of 1GiB allowed (VM a 8192PiB, VM b 8192PiB)\n"
			      "admin/tenants.yaml:8:31: error: Tenant 'web' is over its quota: 16EiB or more of disk "
			      "of 1GiB allowed (VM a 16EiB or more, VM b 0B)\n");
	free(got);
	tdir_remove(&t);
}
END_TEST

/* Tenants only under the operator's adminPaths; without them, a warning */
START_TEST(test_tenant_admin_paths)
{
	struct nc_str v[2] = { { { "serve.yaml", 2, 17 }, "admin" }, { { "serve.yaml", 2, 24 }, "../x" } };
	struct nc_strlist admin = { { "serve.yaml", 2, 16 }, v, 1 };
	struct tdir t;
	char *got;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml", DOC("Tenant", "web") "  paths: [teams/web]\n");
	put(&t, "teams/tenants.yaml", DOC("Tenant", "own") "  paths: [teams/own]\n");
	put(&t, "infra.yaml", INFRA);
	got = load(&t, NULL, &admin, true);
	ck_assert_str_eq(got, "teams/tenants.yaml:3:7: error: Tenant 'own' is declared in teams/tenants.yaml, "
			      "outside the admin paths of serve.yaml (tenancy.adminPaths: admin): only admins' "
			      "folders may declare Tenants and their quotas\n");
	free(got);
	/* no configuration: one warning */
	got = load(&t, NULL, NULL, true);
	ck_assert_str_eq(got, "teams/tenants.yaml:3:7: warning: tenancy is not locked down: the operator's "
			      "configuration sets no tenancy.adminPaths, so a Tenant (and its quota) may be declared "
			      "in any folder of the spec (docs/tenants.md)\n");
	free(got);
	/* adminPaths [] (set, empty): no folder may declare a Tenant; a bad admin path is said in the configuration */
	admin.n = 0;
	got = load(&t, NULL, &admin, true);
	HAS(got, "admin/tenants.yaml:3:7: error: Tenant 'web' is declared in admin/tenants.yaml, outside the "
		 "admin paths of serve.yaml (tenancy.adminPaths: none)");
	free(got);
	admin.v = v + 1;
	admin.n = 1;
	got = load(&t, NULL, &admin, true);
	HAS(got, "serve.yaml:2:24: error: tenancy.adminPaths: '../x' is not a folder of the spec: it has an empty, "
		 "'.' or '..' component\n");
	free(got);
	tdir_remove(&t);
}
END_TEST

/* the real commands: validate --config, plan refusing, plan's usage in every format, twice the same */
START_TEST(test_tenant_cli)
{
	struct nc_run r, r2;
	char dir[64] = "/tmp/nc-tenant-XXXXXX";
	char *cmd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(nc_run_inq(dir, "printf 'tenancy:\\n  adminPaths: [admin]\\n' > ok.yaml && "
					 "printf 'tenancy:\\n  adminPaths: [infra]\\n' > bad.yaml && "
					 "printf 'tenancy:\\n  adminPaths: [admin, /etc]\\n' > abs.yaml"), 0);
	/* an admin path that is no folder of the spec: the configuration is refused where it says so */
	cmd = nc_xasprintf("validate --config %s/abs.yaml examples/tenants", dir);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "abs.yaml:2:23: error: tenancy.adminPaths: '/etc' is not a folder of the spec: an absolute path; "
		   "write it relative to the spec's root (e.g. teams/web)\n");
	nc_run_free(&r);
	free(cmd);
	cmd = nc_xasprintf("validate --config %s/ok.yaml examples/tenants", dir);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "");
	HAS(r.out, "valid: 4 files, 12 documents, 0 warnings\n");
	HAS(r.out, ", 2 tenants\n");
	nc_run_free(&r);
	free(cmd);
	nc_run_novacron(&r, "validate examples/tenants");
	ck_assert_int_eq(r.status, 0);
	HAS(r.err, "examples/tenants/admin/tenants.yaml:15:7: warning: tenancy is not locked down");
	nc_run_free(&r);
	cmd = nc_xasprintf("validate --config %s/bad.yaml examples/tenants", dir);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "examples/tenants/admin/tenants.yaml:4:7: error: Tenant 'web' is declared in "
		   "admin/tenants.yaml, outside the admin paths of ");
	HAS(r.err, "bad.yaml (tenancy.adminPaths: infra)");
	nc_run_free(&r);
	free(cmd);
	/* said with the spec's other errors, not after they are fixed; the root written otherwise */
	ck_assert_int_eq(nc_run_inq(dir, "cp -r %s/examples/tenants spec && "
					 "sed -i 's/template: small/template: smal/' spec/teams/data/vms.yaml", NC_SOURCE_DIR), 0);
	cmd = nc_xasprintf("validate --config %s/bad.yaml %s/spec/", dir, dir);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "/spec/admin/tenants.yaml:4:7: error: Tenant 'web' is declared in admin/tenants.yaml, outside");
	HAS(r.err, "/spec/teams/data/vms.yaml:7:13: error: no Template named 'smal'; did you mean 'small'?\n");
	HAS(r.err, "invalid: 3 errors, 0 warnings in 4 files\n");
	nc_run_free(&r);
	free(cmd);
	ck_assert_int_eq(nc_run_inq(dir, "cp -r %s/examples/tenants clean", NC_SOURCE_DIR), 0);
	cmd = nc_xasprintf("cd %s && $NC validate --config ok.yaml ./clean/ && $NC validate --config ok.yaml clean/. && "
			   "cd clean && $NC validate --config ../ok.yaml", dir);
	ck_assert_int_eq(nc_run_in(&r, "/tmp", "%s", cmd), 0);
	ck_assert_str_eq(r.err, "");
	nc_run_free(&r);
	free(cmd);
	cmd = nc_xasprintf("plan --config %s/bad.yaml examples/tenants --state-dir %s/st", dir, dir);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "novacron plan: the spec declares Tenants outside the operator's tenancy.adminPaths; nothing "
		   "was contacted\n");
	nc_run_free(&r);
	free(cmd);

	cmd = nc_xasprintf("plan --config %s/ok.yaml examples/tenants --state-dir %s/st", dir, dir);
	nc_run_novacron(&r, cmd);
	nc_run_novacron(&r2, cmd);
	ck_assert_int_eq(r.status, 2);   /* changes pending */
	HAS(r.out, "\nTenants (usage declared in the spec, of quota)\n"
		   "  tenant  VMs     vCPUs   memory          disk\n"
		   "  data    1 of 2  4 of 8  16GiB of 32GiB  120GiB\n"
		   "  web     2 of 4  6 of 8  6GiB of 16GiB   40GiB of 200GiB\n");
	ck_assert_str_eq(r.out, r2.out);
	nc_run_free(&r);
	nc_run_free(&r2);
	free(cmd);
	cmd = nc_xasprintf("plan --config %s/ok.yaml examples/tenants --state-dir %s/st --output json", dir, dir);
	nc_run_novacron(&r, cmd);
	nc_run_novacron(&r2, cmd);
	HASJ(r.out, "\"tenants\": [{\"name\": \"data\", \"quota\": {\"vms\": 2, \"vcpus\": 8, \"memory\": 34359738368, "
		   "\"disk\": null}, \"usage\": {\"vms\": 1, \"vcpus\": 4, \"memory\": 17179869184, \"disk\": "
		   "128849018880}}, {\"name\": \"web\", \"quota\": {\"vms\": 4, \"vcpus\": 8, \"memory\": 17179869184, "
		   "\"disk\": 214748364800}, \"usage\": {\"vms\": 2, \"vcpus\": 6, \"memory\": 6442450944, \"disk\": "
		   "42949672960}}], ");
	ck_assert_str_eq(r.out, r2.out);
	nc_run_free(&r);
	nc_run_free(&r2);
	free(cmd);
	cmd = nc_xasprintf("plan --config %s/ok.yaml examples/tenants --state-dir %s/st --output markdown", dir, dir);
	nc_run_novacron(&r, cmd);
	HAS(r.out, "**Tenants** (usage declared in the spec, of quota)\n\n| tenant | VMs | vCPUs | memory | disk |\n"
		   "|---|---|---|---|---|\n| `data` | 1 of 2 | 4 of 8 | 16GiB of 32GiB | 120GiB |\n"
		   "| `web` | 2 of 4 | 6 of 8 | 6GiB of 16GiB | 40GiB of 200GiB |\n");
	nc_run_free(&r);
	free(cmd);
	/* no Tenants: no table, "tenants": [] */
	cmd = nc_xasprintf("plan examples/quickstart --state-dir %s/st2 --output json", dir);
	nc_run_novacron(&r, cmd);
	HASJ(r.out, "\"tenants\": [], ");
	nc_run_free(&r);
	free(cmd);
	ck_assert_int_eq(nc_run_inq("/tmp", "rm -rf '%s'", dir), 0);
}
END_TEST

/* serve refuses a revision with a Tenant outside adminPaths (nothing applied), and applies it inside */
START_TEST(test_tenant_serve_admin_paths)
{
	struct nc_run r;
	char dir[64] = "/tmp/nc-tenant-XXXXXX";
	char *cmd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	cmd = nc_xasprintf("cp -r examples/tenants %s/spec && printf 'source:\\n  directory: %s/spec\\nstateDir: %s/st\\n"
			   "cacheDir: %s/cache\\nlisten: 127.0.0.1:0\\ntelemetry: {enabled: false}\\nha: {enabled: false}\\n"
			   "tenancy:\\n  adminPaths: [infra]\\n' > %s/serve.yaml", dir, dir, dir, dir, dir);
	nc_run_shell(&r, cmd);
	ck_assert_msg(r.status == 0, "%s", r.err);
	nc_run_free(&r);
	free(cmd);
	cmd = nc_xasprintf("serve --config %s/serve.yaml --once", dir);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "/spec/admin/tenants.yaml:4:7: error: Tenant 'web' is declared in admin/tenants.yaml, outside the "
		   "admin paths of ");
	HAS(r.err, "/spec/admin/tenants.yaml:15:7: error: Tenant 'data' is declared in admin/tenants.yaml");
	HAS(r.err, " is invalid (2 errors); nothing stays in force\n");
	HASNT(r.err, "applying");
	/* in the order of their positions */
	ck_assert(strstr(r.err, "/spec/admin/tenants.yaml:4:7") < strstr(r.err, "/spec/admin/tenants.yaml:15:7"));
	nc_run_free(&r);
	ck_assert_int_eq(nc_run_inq(dir, "sed -i 's/\\[infra\\]/[admin]/' serve.yaml"), 0);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 0);
	HAS(r.err, ": 5 actions, 5 done, 0 failed");
	nc_run_free(&r);
	free(cmd);
	ck_assert_int_eq(nc_run_inq("/tmp", "rm -rf '%s'", dir), 0);
}
END_TEST

static bool only_web(const void *ctx, const char *tenant)
{
	ck_assert_str_eq(ctx, "ctx");
	return strcmp(tenant, "web") == 0;
}

/* the API's call: filtered by the caller's tenants, in name order */
START_TEST(test_tenant_usage_json_filtered)
{
	struct tdir t;
	struct nc_spec *spec;
	struct nc_buf b = NC_BUF_INIT;
	char *got;

	tdir_make(&t);
	put(&t, "admin/tenants.yaml",
	    DOC("Tenant", "web") "  paths: [w]\n  quota: {vcpus: 4}\n" DOC("Tenant", "data") "  paths: [d]\n");
	put(&t, "infra.yaml", INFRA);
	put(&t, "w/vms.yaml", DOC("VM", "a") "  template: small\n");
	got = load(&t, &spec, NULL, false);
	ck_assert_str_eq(got, "");
	nc_tenant_usage_json(spec, only_web, "ctx", &b);
	ck_assert_str_eq(b.buf, "[{\"name\": \"web\", \"quota\": {\"vms\": null, \"vcpus\": 4, \"memory\": null, "
				"\"disk\": null}, \"usage\": {\"vms\": 1, \"vcpus\": 2, \"memory\": 2147483648, \"disk\": "
				"10737418240}}]");
	nc_buf_reset(&b);
	nc_tenant_usage_json(spec, NULL, NULL, &b);
	HAS(b.buf, "[{\"name\": \"data\", \"quota\": {\"vms\": null, \"vcpus\": null, \"memory\": null, \"disk\": "
		   "null}, \"usage\": {\"vms\": 0, \"vcpus\": 0, \"memory\": 0, \"disk\": 0}}, {\"name\": \"web\"");
	nc_buf_reset(&b);
	nc_tenant_usage_json(NULL, NULL, NULL, &b);
	ck_assert_str_eq(b.buf, "[]");
	nc_buf_release(&b);
	free(got);
	nc_spec_free(spec);
	tdir_remove(&t);
}
END_TEST

Suite *nc_suite_tenant(void)
{
	Suite *s = suite_create("tenant");
	TCase *tc = tcase_create("tenant");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tenant_of_longest_path);
	tcase_add_test(tc, test_tenant_allow_lists);
	tcase_add_test(tc, test_tenant_other_tenants_template);
	tcase_add_test(tc, test_tenant_no_infrastructure);
	tcase_add_test(tc, test_tenant_paths_claimed);
	tcase_add_loop_test(tc, test_tenant_quota_boundaries, 0, 5);
	tcase_add_test(tc, test_tenant_quota_message_bounded);
	tcase_add_test(tc, test_tenant_quota_no_overflow);
	tcase_add_test(tc, test_tenant_admin_paths);
	tcase_add_test(tc, test_tenant_cli);
	tcase_add_test(tc, test_tenant_serve_admin_paths);
	tcase_add_test(tc, test_tenant_usage_json_filtered);
	suite_add_tcase(s, tc);
	return s;
}
