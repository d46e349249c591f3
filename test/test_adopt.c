/*
 * test_adopt.c - novacron get/list of observed state and novacron import
 * (adopting libvirt domains), through the real binary on simulated hosts
 * (libvirt's test driver): the lists in each format (JSON read back with
 * json-c, YAML with libyaml), import -> validate -> plan (one adopt) ->
 * apply -> empty plan, and the refusals (a clash with a declared VM, an
 * unknown domain, a bad name, an unmanaged domain without the annotation).
 */
#include <check.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "../spec/util.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];

static const char spec_hosts[] =
	"apiVersion: novacron.io/v1\n"
	"kind: Host\n"
	"metadata:\n"
	"  name: node1\n"
	"spec:\n"
	"  uri: sim:///node1\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: Host\n"
	"metadata:\n"
	"  name: node2\n"
	"  labels: {rack: r2}\n"
	"spec:\n"
	"  uri: sim:///node2\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: StoragePool\n"
	"metadata:\n"
	"  name: local\n"
	"spec:\n"
	"  type: dir\n"
	"  path: /var/lib/novacron/pools/local\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: Network\n"
	"metadata:\n"
	"  name: lan\n"
	"spec:\n"
	"  type: nat\n"
	"  subnet: 192.168.150.0/24\n";

static void setup(void)
{
	FILE *f;
	char *p;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-adopt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(nc_run_inq(tdir, "mkdir spec state"), 0);
	p = nc_xasprintf("%s/spec/hosts.yaml", tdir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(spec_hosts, f);
	fclose(f);
	free(p);
}

static void teardown(void)
{
	nc_run_inq("/tmp", "rm -rf '%s'", tdir);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)
#define SIM "$NC sim --state-dir state"
#define ST "--state-dir state"

/* the items of `get KIND -o json`, checked for format_version and kind (caller puts the root) */
static struct json_object *get_json(const char *what, const char *kind, int want_rc, struct json_object **items)
{
	struct nc_run r;
	struct json_object *root, *v;

	ck_assert_int_eq(sh(&r, "$NC get %s -o json spec " ST, what), want_rc);
	root = json_tokener_parse(r.out);
	ck_assert_msg(root != NULL, "not JSON:\n%s", r.out);
	ck_assert(json_object_object_get_ex(root, "format_version", &v));
	ck_assert_int_eq(json_object_get_int(v), 1);
	ck_assert(json_object_object_get_ex(root, "kind", &v));
	ck_assert_str_eq(json_object_get_string(v), kind);
	ck_assert(json_object_object_get_ex(root, "items", items));
	nc_run_free(&r);
	return root;
}

static const char *jget(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

/* the scalars of a YAML stream, in order, "\n"-joined, read with libyaml's parser (caller frees) */
static char *yaml_scalars(const char *text)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct nc_buf b = NC_BUF_INIT;
	bool done = false;

	ck_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	while (!done) {
		ck_assert_msg(yaml_parser_parse(&p, &ev), "YAML error: %s in:\n%s", p.problem, text);
		if (ev.type == YAML_SCALAR_EVENT)
			nc_buf_addf(&b, "%s%s\n", ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ? "\"" : "",
				    (const char *)ev.data.scalar.value);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return nc_buf_detach(&b, NULL);
}

/* get in every format; import -> validate -> plan (exactly one adopt) -> apply -> empty plan */
START_TEST(test_adopt_import_to_empty_plan)
{
	struct nc_run r;
	struct json_object *root, *items, *it, *acts, *a;
	char *ys;

	ck_assert_int_eq(shq(SIM " node1 define-unmanaged web-1"), 0);
	ck_assert_int_eq(shq(SIM " node1 setvcpus web-1 2"), 0);
	ck_assert_int_eq(shq(SIM " node1 define-unmanaged Bad_Name"), 0);
	ck_assert_int_eq(shq(SIM " node2 define-unmanaged other"), 0);

	/* get vms: JSON */
	root = get_json("vms", "VMList", 0, &items);
	ck_assert_int_eq((int)json_object_array_length(items), 3);
	it = json_object_array_get_idx(items, 1);      /* node1: Bad_Name, web-1; node2: other */
	ck_assert_str_eq(jget(it, "name"), "web-1");
	ck_assert_str_eq(jget(it, "host"), "node1");
	ck_assert_str_eq(jget(it, "managed"), "false");
	ck_assert_str_eq(jget(it, "vcpus"), "2");
	ck_assert_str_eq(jget(it, "memory"), "268435456");
	json_object_put(root);
	/* text and wide */
	ck_assert_int_eq(sh(&r, "$NC get vms spec " ST), 0);
	HAS(r.out, "NAME      HOST   STATE     VCPUS  MEMORY  MANAGED\n");
	HAS(r.out, "web-1     node1  shut off  2      256MiB  no\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC list vms web-1 -o wide spec " ST), 0);
	HAS(r.out, "DISKS  NICS  IP  TEMPLATE  UUID");
	HASNT(r.out, "Bad_Name");
	nc_run_free(&r);
	/* YAML, through libyaml's parser */
	ck_assert_int_eq(sh(&r, "$NC get hosts -o yaml -l rack=r2 spec " ST), 0);
	ys = yaml_scalars(r.out);
	HAS(ys, "format_version\n1\nkind\nHostList\nitems\nname\nnode2\nuri\nsim:///node2\nup\ntrue\n");
	HASNT(ys, "node1");
	free(ys);
	nc_run_free(&r);

	/* import: a document that validates, with the annotation */
	ck_assert_int_eq(sh(&r, "$NC import web-1 --host node1 spec " ST " --out spec/web-1.yaml"), 0);
	HAS(r.err, "1 VM described in spec/web-1.yaml");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "cat spec/web-1.yaml"), 0);
	ys = yaml_scalars(r.out);
	HAS(ys, "name\nweb-1\nannotations\nnovacron.io/adopt\n\"true\nspec\nvcpus\n2\nmemory\n256MiB\nstate\nstopped\n"
		"placement\nhost\nnode1\n");
	free(ys);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 0);
	nc_run_free(&r);
	/* never overwritten; and now a clash with the declared VM, at its file:line:col */
	ck_assert_int_eq(sh(&r, "$NC import web-1 --host node1 spec " ST), 1);
	HAS(r.err, "spec/web-1.yaml:4:9: error: VM 'web-1' is already declared here");
	nc_run_free(&r);

	/* the plan: exactly one adopt */
	ck_assert_int_eq(sh(&r, "$NC plan -o json spec " ST), 2);
	root = json_tokener_parse(r.out);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_object_object_get_ex(root, "actions", &acts));
	ck_assert_int_eq((int)json_object_array_length(acts), 1);
	a = json_object_array_get_idx(acts, 0);
	ck_assert_str_eq(jget(a, "action"), "adopt");
	ck_assert_str_eq(jget(a, "vm"), "web-1");
	ck_assert_str_eq(jget(a, "host"), "node1");
	ck_assert(json_object_object_get_ex(root, "summary", &a));
	ck_assert_str_eq(jget(a, "adopt"), "1");
	ck_assert_str_eq(jget(a, "create"), "0");
	json_object_put(root);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan spec " ST), 2);
	HAS(r.out, "~ web-1: adopt on node1\n");
	HAS(r.out, "1 to adopt.");
	HAS(r.out, "unmanaged (never touched): node1/Bad_Name node2/other\n");
	nc_run_free(&r);

	/* apply adopts; the next plan is empty; get shows it managed */
	ck_assert_int_eq(sh(&r, "$NC apply --auto-approve spec " ST), 0);
	HAS(r.out, "adopt web-1 on node1 ... done");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan spec " ST), 0);
	HAS(r.out, "No changes.");
	nc_run_free(&r);
	root = get_json("vms web-1", "VMList", 0, &items);
	ck_assert_int_eq((int)json_object_array_length(items), 1);
	ck_assert_str_eq(jget(json_object_array_get_idx(items, 0), "managed"), "true");
	ck_assert_str_eq(jget(json_object_array_get_idx(items, 0), "drift"), "false");
	json_object_put(root);
	/* managed now: import refuses, and the annotation left in place is a no-op */
	ck_assert_int_eq(shq("mkdir spec2 && cp spec/hosts.yaml spec2/"), 0);
	ck_assert_int_eq(sh(&r, "$NC import web-1 --host node1 spec2 " ST), 1);
	HAS(r.err, "domain web-1 on node1 is already managed by NovaCron (as VM web-1)");
	nc_run_free(&r);
}
END_TEST

/* drift shown in the adopt action; refusals: no annotation, unknown domain, bad name; unreachable host */
START_TEST(test_adopt_refusals)
{
	struct nc_run r;
	struct json_object *root, *items, *it;
	FILE *f;
	char *p;

	ck_assert_int_eq(shq(SIM " node1 define-unmanaged web-1"), 0);
	ck_assert_int_eq(shq(SIM " node1 define-unmanaged db-1"), 0);
	ck_assert_int_eq(shq(SIM " node1 define-unmanaged Bad_Name"), 0);
	p = nc_xasprintf("%s/spec/vms.yaml", tdir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("apiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: web-1\n  annotations:\n"
	      "    novacron.io/adopt: \"true\"\nspec:\n  vcpus: 1\n  memory: 1GiB\n  state: stopped\n"
	      "  placement: {host: node1}\n"
	      "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: db-1\nspec:\n  vcpus: 1\n"
	      "  memory: 256MiB\n  state: stopped\n  placement: {host: node1}\n", f);
	fclose(f);
	free(p);

	/* adopt with drift: shown, made by the next plan; db-1 (no annotation) stays an error */
	ck_assert_int_eq(sh(&r, "$NC plan spec " ST), 1);
	HAS(r.out, "~ web-1: adopt on node1 (changes after adoption: memory 256MiB -> 1GiB)\n");
	HAS(r.out, "error: a domain named db-1 exists on node1 but is not managed by NovaCron");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC apply --auto-approve spec " ST), 1);   /* a plan with errors is not applied */
	HAS(r.out, "error: a domain named db-1 exists");
	nc_run_free(&r);
	ck_assert_int_eq(shq("sed -i '/^---$/,$d' spec/vms.yaml"), 0);     /* db-1 leaves the spec */
	ck_assert_int_eq(sh(&r, "$NC apply --auto-approve spec " ST), 0);
	HAS(r.out, "adopt web-1 on node1 ... done");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan spec " ST), 2);
	HAS(r.out, "~ web-1: update on node1\n");
	HAS(r.out, "~ memory: 256MiB -> 1GiB");
	nc_run_free(&r);

	/* import: unknown domain (did you mean), bad name, missing --host */
	ck_assert_int_eq(sh(&r, "$NC import cache-1 web-11 --host node1 spec " ST), 1);
	HAS(r.err, "no domain named 'web-11' on node1; did you mean 'web-1'? (domains there: Bad_Name, db-1, web-1)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC import Bad_Name --host node1 spec " ST), 1);
	HAS(r.err, "'Bad_Name' is not a valid VM name");
	HAS(r.err, "virsh domrename");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC import web-1 spec " ST), 1);
	HAS(r.err, "--host HOST is required");
	nc_run_free(&r);

	/* an unreachable host: an entry with its error, exit 1 */
	ck_assert_int_eq(shq(SIM " node2 down"), 0);
	root = get_json("hosts", "HostList", 1, &items);
	ck_assert_int_eq((int)json_object_array_length(items), 2);
	it = json_object_array_get_idx(items, 1);
	ck_assert_str_eq(jget(it, "name"), "node2");
	ck_assert_str_eq(jget(it, "up"), "false");
	ck_assert_ptr_nonnull(strstr(jget(it, "error"), "down"));
	json_object_put(root);
	ck_assert_int_eq(sh(&r, "$NC get vms spec " ST), 1);
	HAS(r.out, "error: host node2 could not be read: ");
	nc_run_free(&r);
}
END_TEST

/* import of a domain with a disk and NICs: volumes of a declared pool and networks map; the rest is told */
START_TEST(test_adopt_import_devices)
{
	struct nc_run r;
	FILE *f;
	char *p, *ys;

	p = nc_xasprintf("%s/dom.xml", tdir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("<domain type='test'><name>app-1</name><memory unit='MiB'>1536</memory><vcpu>2</vcpu>"
	      "<os><type>hvm</type></os><devices>"
	      "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
	      "<source file='/var/lib/novacron/pools/local/app-1-root.qcow2'/><target dev='vda' bus='virtio'/></disk>"
	      "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
	      "<source file='/srv/legacy.img'/><target dev='vdb' bus='virtio'/></disk>"
	      "<interface type='network'><mac address='52:54:00:AA:BB:01'/><source network='lan'/>"
	      "<model type='e1000'/></interface>"
	      "<interface type='bridge'><mac address='52:54:00:aa:bb:02'/><source bridge='br9'/></interface>"
	      "</devices></domain>", f);
	fclose(f);
	free(p);
	ck_assert_int_eq(sh(&r, SIM " node2 define dom.xml"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC import app-1 --host node2 spec " ST), 0);
	ys = yaml_scalars(r.out);
	HAS(ys, "memory\n1536MiB\nstate\nstopped\nplacement\nhost\nnode2\ndisks\nname\nroot\npool\nlocal\n"
		"nics\nname\neth0\nnetwork\nlan\nmodel\ne1000\nmac\n52:54:00:aa:bb:01\nname\neth1\nmac\n52:54:00:aa:bb:02\n");
	free(ys);
	HAS(r.err, "app-1: disk vdb (/srv/legacy.img) is left out");
	HAS(r.err, "app-1: NIC 52:54:00:aa:bb:02 (bridge br9) is on no Network of the spec");
	nc_run_free(&r);
	/* get volumes / networks / pools of the same host */
	ck_assert_int_eq(sh(&r, "$NC get volumes --host node2 spec " ST), 0);
	HAS(r.out, "/srv/legacy.img");
	HAS(r.out, "app-1");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC get networks --host node1 -o yaml spec " ST), 0);
	HAS(r.out, "kind: NetworkList");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC get pools spec " ST), 0);
	nc_run_free(&r);
	/* a name from libvirt with a control character: escaped in text, exact in JSON */
	ck_assert_int_eq(shq("printf \"<domain type='test'><name>evil&#9;tab</name><memory unit='MiB'>64</memory>"
			     "<vcpu>1</vcpu><os><type>hvm</type></os></domain>\" > e.xml && " SIM " node2 define e.xml"), 0);
	ck_assert_int_eq(sh(&r, "$NC get vms --host node2 spec " ST), 0);
	HAS(r.out, "\nevil\\x09tab  node2  shut off");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC get vms --host node2 -o json spec " ST), 0);
	HAS(r.out, "\"name\": \"evil\\ttab\"");
	nc_run_free(&r);
	/* ... and in the plan's list of unmanaged domains (text; the JSON is exact) */
	ck_assert_int_eq(sh(&r, "$NC plan spec " ST), 0);
	HAS(r.out, "unmanaged (never touched): node2/app-1 node2/evil\\x09tab\n");
	HASNT(r.out, "evil\ttab");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan spec -o json " ST), 0);
	HAS(r.out, "\"evil\\ttab\"");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC get frobs spec " ST), 1);
	HAS(r.err, "vms, hosts, pools, volumes or networks");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_adopt(void)
{
	Suite *s = suite_create("adopt");
	TCase *tc = tcase_create("adopt");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_adopt_import_to_empty_plan);
	tcase_add_test(tc, test_adopt_refusals);
	tcase_add_test(tc, test_adopt_import_devices);
	suite_add_tcase(s, tc);
	return s;
}
