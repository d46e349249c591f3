/*
 * test_netfs.c - netfs pools (issue 16; docs/storage.md "netfs pools"):
 * validate's errors at their positions (server names that are URLs, paths,
 * options or blanks; missing and misplaced keys; versions), the libvirt
 * pool XML built with libxml2 (hostile text escaped, read back equal), and
 * through the real binary on simulated hosts: the libvirt pool made on the
 * hosts of the pool only, a drain planned with no volume to copy and
 * refused when the destination does not see the volumes (sim hosts share no files),
 * a libvirt pool of that name with another server refused, and HA: a VM on
 * a netfs disk restarts elsewhere only after a whole-host fence.  The real
 * mount against a real NFS server is test/integration/netfs.sh.
 */
#include <check.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../drivers/storage/storage.h"
#include "../spec/util.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)
#define PLAN "$NC plan spec --state-dir st"
#define APPLY "$NC apply spec --state-dir st --auto-approve"
#define VALIDATE "$NC validate spec"

static void write_file(const char *rel, const char *text)
{
	char *path = nc_xasprintf("%s/%s", tdir, rel);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-netfs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(shq("mkdir -p spec st"), 0);
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

#define HOST(n, labels) "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: " n ", labels: {" labels "}}\n" \
	"spec: {uri: \"sim:///" n "?cpus=8&memory=16GiB\"}\n---\n"
/* a pool document whose spec body is given (line 5 is the body's first line) */
#define POOL(name, body) "apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: " name "}\nspec:\n" body
#define NFSPOOL(server) POOL("shared", "  type: netfs\n  path: /var/lib/novacron/pools/shared\n" \
	"  netfs: {server: " server ", export: /srv/vms, version: 3}\n  hostSelector: {matchLabels: {nfs: \"yes\"}}\n")
#define VM(n, extra) "apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: " n "}\n" \
	"spec: {vcpus: 1, memory: 1GiB, disks: [{name: root, pool: shared, size: 1GiB}]" extra "}\n---\n"

/* each bad server name, at its position, with what a server may be */
START_TEST(test_netfs_validate_server_names)
{
	static const char *const bad[] = {
		"nfs://nfs1/srv", "/srv/nfs", "nfs1:/srv", "-oexec", "\"nfs1 -o exec\"", "\"nfs1\\nx\"",
		"nfs1..example", "-nfs1", "nfs1-.example", "user@nfs1", "nfs1:2049", "\"a<b>&'\"",
	};
	struct nc_run r;
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(bad); i++) {
		char *doc = nc_xasprintf(POOL("shared", "  type: netfs\n  path: /var/lib/novacron/pools/s\n"
						"  netfs:\n    server: %s\n    export: /srv\n"), bad[i]);

		write_file("spec/p.yaml", doc);
		free(doc);
		ck_assert_int_eq(sh(&r, VALIDATE), 1);
		HAS(r.err, "spec/p.yaml:8:13: error: ");
		HAS(r.err, "expected a host name (letters, digits, '-' and '.', labels of at most 63) or an IPv4 or "
			   "IPv6 address; never a URL, a port or a path");
		nc_run_free(&r);
	}
	/* names and addresses that are fine */
	write_file("spec/p.yaml", POOL("a", "  type: netfs\n  path: /var/lib/novacron/pools/a\n"
					    "  netfs: {server: nfs1.example.org, export: /srv}\n") "---\n"
		   POOL("b", "  type: netfs\n  path: /var/lib/novacron/pools/b\n  netfs: {server: 192.0.2.7, export: /srv}\n")
		   "---\n" POOL("c", "  type: netfs\n  path: /var/lib/novacron/pools/c\n"
				"  netfs: {server: \"fd00::7\", export: /srv, version: 4}\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 0);
	/* version 4 is acted on (nfsvers=4) but not tested here: validate says so */
	HAS(r.err, "spec/p.yaml:23:53: warning: netfs.version 4 is passed to mount (nfsvers=4) but not tested by "
		   "NovaCron's tests, which mount NFSv3 only (docs/storage.md)\n");
	nc_run_free(&r);
	/* one pool per export: libvirt refuses a second one on a host */
	write_file("spec/p.yaml", POOL("a", "  type: netfs\n  path: /var/lib/novacron/pools/a\n"
					    "  netfs: {server: nfs1, export: /srv}\n") "---\n"
		   POOL("b", "  type: netfs\n  path: /var/lib/novacron/pools/b\n  netfs: {server: nfs1, export: /srv}\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 1);
	HAS(r.err, "spec/p.yaml:15:33: error: netfs pools 'a' and 'b' mount the same export nfs1:/srv: libvirt takes "
		   "one pool per export on a host; use one pool\n");
	nc_run_free(&r);
}
END_TEST

/* the keys a netfs pool needs and those it does not take */
START_TEST(test_netfs_validate_fields)
{
	struct nc_run r;

	write_file("spec/p.yaml", POOL("shared", "  type: netfs\n  path: /var/lib/novacron/pools/s\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 1);
	HAS(r.err, "spec/p.yaml:5:3: error: missing required key 'netfs' for a netfs pool (netfs: {server: HOST, "
		   "export: /PATH})\n");
	nc_run_free(&r);
	write_file("spec/p.yaml", POOL("shared", "  type: netfs\n  netfs: {server: nfs1, export: /srv}\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 1);
	HAS(r.err, "spec/p.yaml:5:3: error: missing required key 'path' for a netfs pool (where each host mounts "
		   "the share)\n");
	nc_run_free(&r);
	write_file("spec/p.yaml", POOL("shared", "  type: netfs\n  path: /var/lib/novacron/pools/s\n"
					       "  netfs: {server: nfs1, export: /srv, version: 2}\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 1);
	HAS(r.err, "spec/p.yaml:7:48: error: 'version' must be at least 3, found 2\n");
	nc_run_free(&r);
	write_file("spec/p.yaml", POOL("shared", "  type: netfs\n  path: /var/lib/novacron/pools/s\n"
					       "  netfs: {server: nfs1, export: \"srv\"}\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 1);
	HAS(r.err, "spec/p.yaml:7:33: error: ");
	HAS(r.err, "absolute path");
	nc_run_free(&r);
	write_file("spec/p.yaml", POOL("shared", "  type: netfs\n  path: /var/lib/novacron/pools/s\n"
					       "  netfs: {server: nfs1, export: \"/srv,exec\"}\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 1);
	HAS(r.err, "spec/p.yaml:7:33: error: netfs.export '/srv,exec': an export path holds no ',', blank or "
		   "backslash\n");
	nc_run_free(&r);
	write_file("spec/p.yaml", POOL("shared", "  type: netfs\n  path: /var/lib/novacron/pools/s\n"
					       "  netfs: {server: nfs1}\n  rbd: {pool: x}\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 1);
	HAS(r.err, "spec/p.yaml:7:10: error: missing required key 'export'");
	HAS(r.err, "spec/p.yaml:8:8: error: 'rbd' does not apply to a netfs pool\n");
	nc_run_free(&r);
	write_file("spec/p.yaml", POOL("shared", "  type: dir\n  path: /var/lib/novacron/pools/s\n"
					       "  netfs: {server: nfs1, export: /srv}\n"));
	ck_assert_int_eq(sh(&r, VALIDATE), 1);
	HAS(r.err, "spec/p.yaml:7:10: error: 'netfs' does not apply to a dir pool\n");
	nc_run_free(&r);
	/* the mount point is a pool path: inside the operator's paths.pools */
	write_file("spec/p.yaml", POOL("shared", "  type: netfs\n  path: /etc/shared\n"
					       "  netfs: {server: nfs1, export: /srv}\n"));
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.err, "spec/p.yaml:6:9: error: ");
	HAS(r.err, "/etc/shared");
	nc_run_free(&r);
}
END_TEST

static char *xp(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	char *s = nc_xstrdup(o && o->stringval ? (const char *)o->stringval : "");

	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return s;
}

/* hostile text (validate refuses it; the XML builder escapes it anyway) reads back the same */
START_TEST(test_netfs_pool_xml_escapes)
{
	struct nc_pool_def pd = { .name = "p", .type = "dir", .path = "/pools/a'b\"<c>&d</path></target>",
				  .netfs_server = "x'/><dir path='/etc'/><host name='y", .netfs_export = "/e&<x>",
				  .netfs_version = 4 };
	struct nc_err err = { "" };
	char *xml = nc_netfs_pool_xml("novacron-p<", &pd), *s;
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL, XML_PARSE_NONET);

	ck_assert_ptr_nonnull(doc);
	s = xp(doc, "string(/pool/@type)");
	ck_assert_str_eq(s, "netfs");
	free(s);
	s = xp(doc, "string(count(/pool/source/host))");
	ck_assert_str_eq(s, "1");
	free(s);
	s = xp(doc, "string(count(/pool/source/dir))");
	ck_assert_str_eq(s, "1");
	free(s);
	s = xp(doc, "string(/pool/source/host/@name)");
	ck_assert_str_eq(s, pd.netfs_server);
	free(s);
	s = xp(doc, "string(/pool/source/dir/@path)");
	ck_assert_str_eq(s, pd.netfs_export);
	free(s);
	s = xp(doc, "string(/pool/target/path)");
	ck_assert_str_eq(s, pd.path);
	free(s);
	s = xp(doc, "string(/pool/source/format/@type)");
	ck_assert_str_eq(s, "nfs");
	free(s);
	s = xp(doc, "string(/pool/source/protocol/@ver)");
	ck_assert_str_eq(s, "4");
	free(s);
	s = xp(doc, "string(/pool/name)");
	ck_assert_str_eq(s, "novacron-p<");
	free(s);
	xmlFreeDoc(doc);
	/* read back: the same pool passes the check, another server or version does not */
	ck_assert_int_eq(nc_netfs_pool_check("novacron-p<", xml, &pd, &err), 0);
	pd.netfs_server = "nfs2";
	ck_assert_int_eq(nc_netfs_pool_check("novacron-p<", xml, &pd, &err), -1);
	HAS(err.msg, "not a netfs pool of nfs2:/e&<x> at");
	pd.netfs_server = "x'/><dir path='/etc'/><host name='y";
	pd.netfs_version = 3;
	ck_assert_int_eq(nc_netfs_pool_check("novacron-p<", xml, &pd, &err), -1);
	HAS(err.msg, "mounts NFS version 4, not 3");
	free(xml);
	/* no version: no <protocol>, mount negotiates */
	pd.netfs_version = 0;
	xml = nc_netfs_pool_xml("n", &pd);
	HASNT(xml, "protocol");
	free(xml);
}
END_TEST

/* the pool on the hosts it selects only; a drain moves the VM without copying a volume */
START_TEST(test_netfs_sim_apply_and_drain)
{
	struct nc_run r;

	write_file("spec/c.yaml", HOST("h1", "nfs: \"yes\"") HOST("h2", "nfs: \"yes\"") HOST("h3", "") NFSPOOL("nfs1.example.org")
		   "---\n" VM("a", ", placement: {host: h1}") VM("b", ", state: stopped, placement: {host: h1}"));
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(shq("grep -q '<pool type=\"netfs\">' st/h1.xml && grep -q '<host name=\"nfs1.example.org\"/>' "
			     "st/h1.xml && grep -q '<dir path=\"/srv/vms\"/>' st/h1.xml && grep -q '<protocol ver=\"3\"/>' "
			     "st/h1.xml && grep -q '<path>/var/lib/novacron/pools/shared</path>' st/h1.xml"), 0);
	ck_assert_int_eq(shq("grep -q novacron-shared st/h3.xml"), 1);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	/* unpinned, then h1 in maintenance: both move to h2 (never h3: no pool there), nothing copied */
	write_file("spec/c.yaml", HOST("h1", "nfs: \"yes\"") HOST("h2", "nfs: \"yes\"") HOST("h3", "") NFSPOOL("nfs1.example.org")
		   "---\n" VM("a", "") VM("b", ", state: stopped"));
	ck_assert_int_eq(shq("sed -i '0,/sim:\\/\\/\\/h1?cpus=8&memory=16GiB\"/s//&, maintenance: true/' spec/c.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "a: migrate h1 -> h2 (live)");
	HAS(r.out, "b: migrate h1 -> h2 (cold)");
	HASNT(r.out, "copies");
	HASNT(r.out, "-> h3");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " -o json"), 2);
	HASNTJ(r.out, "\"copy_volumes\": 1");
	nc_run_free(&r);
	/* simulated hosts share no files: h2 mounts the pool but does not see the volumes, and
	 * nothing moves (on real hosts of one share it does: test/integration/netfs.sh) */
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.out, "h2 does not see volume a-root.qcow2 in netfs pool shared (nfs1.example.org:/srv/vms at "
		   "/var/lib/novacron/pools/shared): not the same share there? nothing moved");
	HAS(r.out, "h2 does not see volume b-root.qcow2 in netfs pool shared");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir st h1 list"), 0);
	HAS(r.out, "a ");
	HAS(r.out, "b ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir st h2 list"), 0);
	HASNT(r.out, "a ");
	nc_run_free(&r);
	/* a live storage copy of a disk on the share would copy it onto itself: refused */
	ck_assert_int_eq(shq("sed -i 's/^metadata: {name: a}$/&/; /name: a}/{n;s/}$/, migration: {copyStorage: full}}/}' "
			     "spec/c.yaml"), 0);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.out, "disk root of a is in a netfs pool, which both hosts mount: migration.copyStorage would copy it "
		   "onto itself; set copyStorage: none");
	nc_run_free(&r);
}
END_TEST

/* a libvirt pool of the name that mounts another server is not redefined behind the user's back */
START_TEST(test_netfs_sim_other_server_refused)
{
	struct nc_run r;

	write_file("spec/c.yaml", HOST("h1", "nfs: \"yes\"") NFSPOOL("nfs1") "---\n" VM("a", ""));
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	write_file("spec/c.yaml", HOST("h1", "nfs: \"yes\"") NFSPOOL("nfs2") "---\n" VM("a", "") VM("b", ""));
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.out, "storage pool shared: libvirt pool novacron-shared on this host is a netfs pool of "
		   "nfs1:/srv/vms at /var/lib/novacron/pools/shared, not a netfs pool of nfs2:/srv/vms at "
		   "/var/lib/novacron/pools/shared; fix the spec or remove that libvirt pool");
	nc_run_free(&r);
	/* nothing redefined, a kept */
	ck_assert_int_eq(shq("grep -q '<host name=\"nfs1\"/>' st/h1.xml && ! grep -q nfs2 st/h1.xml"), 0);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir st h1 list"), 0);
	HAS(r.out, "a ");
	nc_run_free(&r);
}
END_TEST

#define HA_REC "{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"uri\": \"sim:///h1?cpus=8&memory=16GiB\", " \
	"\"vms\": [\"w\"]}, {\"name\": \"h2\", \"uri\": \"sim:///h2?cpus=8&memory=16GiB\", \"vms\": []}]}\n"
#define HA_FENCED(whole, disks) "{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"failed_at\": 1796000000, " \
	"\"fenced\": true, \"fenced_at\": 1796000012, \"fenced_by\": \"rbd device ceph\", " \
	"\"detail\": \"1 exclusive lock broken\", \"whole_host\": " whole ", \"disks\": [" disks "], \"recovered\": []}]}\n"

/* HA: a netfs disk is reachable from h2, but only a whole-host fence keeps its old copy from writing */
START_TEST(test_netfs_ha_needs_whole_host_fence)
{
	struct nc_run r;

	write_file("spec/c.yaml", HOST("h1", "nfs: \"yes\"") HOST("h2", "nfs: \"yes\"") NFSPOOL("nfs1") "---\n"
		   VM("w", ", ha: {policy: restart}"));
	write_file("st/hosts.json", HA_REC);
	ck_assert_int_eq(shq("$NC sim --state-dir st h1 down"), 0);
	write_file("st/ha.json", HA_FENCED("false", "\"rbd/x-root\""));
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "VM w is not restarted elsewhere: host h1 was fenced disk by disk (rbd device ceph: 1 exclusive "
		   "lock broken) and VM w has disks in a netfs pool, which no disk fence covers; only a fence of the "
		   "whole host does (novacron fence confirm h1)");
	HASNT(r.out, "recover");
	nc_run_free(&r);
	write_file("st/ha.json", HA_FENCED("true", ""));
	ck_assert_int_eq(sh(&r, PLAN), 1);     /* partial: h1 cannot be read */
	HAS(r.out, "+ w: recover on h2, then start\n      why: restart on h2: host h1 failed and was fenced");
	nc_run_free(&r);
	/* simulated hosts share no files: h2 has no w-root.qcow2, and a recovery never makes a disk anew */
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.out, "recover w on h2 ... failed: disk root: volume w-root.qcow2 is not in pool shared: a VM "
		   "restarted after its host failed keeps its data, so its disks are never made anew");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_netfs(void)
{
	Suite *s = suite_create("netfs");
	TCase *tc = tcase_create("netfs");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_netfs_validate_server_names);
	tcase_add_test(tc, test_netfs_validate_fields);
	tcase_add_test(tc, test_netfs_pool_xml_escapes);
	tcase_add_test(tc, test_netfs_sim_apply_and_drain);
	tcase_add_test(tc, test_netfs_sim_other_server_refused);
	tcase_add_test(tc, test_netfs_ha_needs_whole_host_fence);
	suite_add_tcase(s, tc);
	return s;
}
