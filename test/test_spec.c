/*
 * test_spec.c - the spec loader: every class of error with its exact message
 * and position, template inheritance, selectors, sizes, and hostile input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../spec/noop.h"
#include "../spec/uri.h"
#include "tests.h"
#include "../spec/yaml.h"

#define DOC(kind, name) "---\napiVersion: novacron.io/v1\nkind: " kind "\nmetadata:\n  name: " name "\n"

/* Objects that references in the tests below can point at. */
#define BASE \
	DOC("StoragePool", "local") "spec:\n  type: dir\n  path: /srv/pool\n" \
	DOC("Network", "lan") "spec:\n  type: nat\n  subnet: 10.0.0.0/24\n" \
	DOC("Template", "small") "spec:\n  vcpus: 1\n  memory: 512MiB\n"

static struct nc_spec *load(const char *yaml, struct nc_diags *d)
{
	struct nc_spec *spec = NULL;

	nc_diags_init(d);
	nc_spec_load_buffer(&spec, "t.yaml", yaml, strlen(yaml), NULL, d);
	ck_assert_ptr_nonnull(spec);
	return spec;
}

/* Loads yaml and returns its diagnostics as text (caller frees). */
static char *diags_of_len(const char *yaml, size_t len)
{
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	struct nc_buf b = NC_BUF_INIT;

	nc_diags_init(&d);
	nc_spec_load_buffer(&spec, "t.yaml", yaml, len, NULL, &d);
	nc_diags_format_text(&d, &b, 0);
	nc_diags_release(&d);
	nc_spec_free(spec);
	return nc_buf_detach(&b, NULL);
}

static char *diags_of(const char *yaml)
{
	return diags_of_len(yaml, strlen(yaml));
}

#define EXPECT(yaml, want) \
	do { \
		char *got_ = diags_of(yaml); \
		ck_assert_str_eq(got_, want); \
		free(got_); \
	} while (0)

/* ---- a clean spec ---- */

START_TEST(test_clean)
{
	EXPECT(BASE DOC("VM", "web-1") "spec:\n  template: small\n", "");
}
END_TEST

/* ---- YAML syntax ---- */

START_TEST(test_yaml_syntax)
{
	EXPECT("apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: a\n",
	       "t.yaml:4:1: error: YAML syntax error: did not find expected ',' or '}' "
	       "while parsing a flow mapping (started at line 3, column 11)\n");
	EXPECT("a: b\n c: d\n",
	       "t.yaml:2:3: error: YAML syntax error: mapping values are not allowed in this context\n");
}
END_TEST

START_TEST(test_yaml_duplicate_key)
{
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  vcpus: 1\n  vcpus: 2\n",
	       "t.yaml:33:3: error: duplicate key 'vcpus' (first at line 32, column 3)\n");
}
END_TEST

START_TEST(test_not_a_mapping)
{
	EXPECT("- a\n- b\n",
	       "t.yaml:1:1: error: expected a mapping with apiVersion, kind, metadata and spec, found a sequence\n");
}
END_TEST

/* ---- kind and apiVersion ---- */

START_TEST(test_unknown_kind)
{
	EXPECT("apiVersion: novacron.io/v1\nkind: Vm\nmetadata: {name: a}\nspec: {}\n",
	       "t.yaml:2:7: error: unknown kind 'Vm'; did you mean 'VM'?\n");
	EXPECT("apiVersion: novacron.io/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {}\n",
	       "t.yaml:2:7: error: unknown kind 'Deployment' (expected Host, Template, VM, "
	       "PlacementPolicy, StoragePool, Network, BackupSchedule, Image, AlertRule, Tenant, Cluster or StorageTierPolicy)\n");
	EXPECT("apiVersion: novacron.io/v1\nmetadata: {name: a}\n",
	       "t.yaml:1:1: error: missing required key 'kind'\n");
}
END_TEST

START_TEST(test_unknown_api_version)
{
	EXPECT("apiVersion: novacron.io/v2\nkind: Network\nmetadata: {name: a}\n"
	       "spec: {type: bridge, bridge: br0}\n",
	       "t.yaml:1:13: error: unsupported apiVersion 'novacron.io/v2' (expected 'novacron.io/v1')\n");
	EXPECT("kind: Network\nmetadata: {name: a}\nspec: {type: bridge, bridge: br0}\n",
	       "t.yaml:1:1: error: missing required key 'apiVersion' in Network\n");
}
END_TEST

/* ---- keys ---- */

START_TEST(test_unknown_key_suggestion)
{
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  memroy: 1GiB\n",
	       "t.yaml:32:3: error: unknown key 'memroy' in VM spec; did you mean 'memory'?\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  placement: {hots: x}\n",
	       "t.yaml:32:15: error: unknown key 'hots' in placement; did you mean 'host'?\n");
}
END_TEST

START_TEST(test_unknown_key_list)
{
	EXPECT(DOC("Network", "n") "spec:\n  type: bridge\n  bridge: br0\n  colour: blue\n",
	       "t.yaml:9:3: error: unknown key 'colour' in Network spec "
	       "(valid keys: type, bridge, subnet, subnet6, dhcp, dhcpRange, autostart, cluster)\n");
}
END_TEST

START_TEST(test_missing_required)
{
	EXPECT(DOC("Host", "h") "spec:\n  maintenance: true\n",
	       "t.yaml:7:3: error: missing required key 'uri' in Host spec\n");
	EXPECT("apiVersion: novacron.io/v1\nkind: Host\nmetadata: {labels: {a: b}}\nspec: {uri: 'qemu:///system'}\n",
	       "t.yaml:3:11: error: missing required key 'name' in metadata\n");
}
END_TEST

/* ---- types ---- */

START_TEST(test_wrong_types)
{
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  vcpus: four\n",
	       "t.yaml:32:10: error: expected an integer for 'vcpus', found a string 'four'\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  vcpus: \"4\"\n",
	       "t.yaml:32:10: error: expected an integer for 'vcpus', found a string '4'\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  deletionProtection: yes\n",
	       "t.yaml:32:23: error: expected true or false for 'deletionProtection', found a string 'yes'\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  disks: {name: x}\n",
	       "t.yaml:32:10: error: expected a list for 'disks', found a mapping\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: [small]\n",
	       "t.yaml:31:13: error: expected a string for 'template', found a sequence\n");
	EXPECT(DOC("Host", "h") "spec:\n  uri: 'qemu:///system'\n  overcommit: {cpu: lots}\n",
	       "t.yaml:8:21: error: expected a number for 'cpu', found a string 'lots'\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  state: runing\n",
	       "t.yaml:32:10: error: invalid value 'runing' for 'state'; did you mean 'running'?\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  state: gone\n",
	       "t.yaml:32:10: error: invalid value 'gone' for 'state' (expected running, stopped or absent)\n");
}
END_TEST

/* ---- sizes ---- */

START_TEST(test_size_parse)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 }, { "512", 512 }, { "4GiB", 4ULL << 30 }, { "512MiB", 512ULL << 20 },
		{ "2Gi", 2ULL << 30 }, { "1TiB", 1ULL << 40 }, { "10GB", 10000000000ULL },
		{ "3 KiB", 3072 }, { "1B", 1 },
	};
	static const char *const bad[] = { "-1GiB", "4Gb", "1.5GiB", "GiB", "", "99999999999999999999",
					   "16777216TiB" };
	uint64_t v;
	const char *err;
	char buf[32];
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(ok); i++) {
		ck_assert_msg(nc_size_parse(ok[i].s, &v, &err) == 0, "%s", ok[i].s);
		ck_assert_uint_eq(v, ok[i].v);
	}
	for (i = 0; i < NC_ARRAY_SIZE(bad); i++)
		ck_assert_msg(nc_size_parse(bad[i], &v, &err) < 0, "%s", bad[i]);
	nc_size_format(4ULL << 30, buf, sizeof(buf));
	ck_assert_str_eq(buf, "4GiB");
	nc_size_format(1536ULL << 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1536MiB");
	nc_size_format(1000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1000B");
}
END_TEST

START_TEST(test_size_errors)
{
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  memory: 4Gb\n",
	       "t.yaml:32:11: error: invalid size '4Gb' for 'memory': unknown unit "
	       "(use B, KiB, MiB, GiB, TiB, PiB, Ki, Mi, Gi, Ti, Pi, or KB, MB, GB, TB, PB)\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  disks:\n  - {name: d, pool: local, size: -1GiB}\n",
	       "t.yaml:33:34: error: invalid size '-1GiB' for 'size': sizes cannot be negative\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  memory: 1.5GiB\n",
	       "t.yaml:32:11: error: invalid size '1.5GiB' for 'memory': sizes are whole numbers: "
	       "use a smaller unit, e.g. 1536MiB for 1.5GiB\n");
}
END_TEST

/* ---- impossible values ---- */

START_TEST(test_impossible_values)
{
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  vcpus: 0\n",
	       "t.yaml:32:10: error: 'vcpus' must be at least 1, found 0\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  vcpus: 5000\n",
	       "t.yaml:32:10: error: 'vcpus' must be at most 1024, found 5000\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  memory: 0\n",
	       "t.yaml:32:11: error: 'memory' must be at least 1MiB, found 0\n");
	EXPECT(DOC("Host", "h") "spec:\n  uri: 'qemu:///system'\n  overcommit: {memory: 9}\n",
	       "t.yaml:8:24: error: 'memory' must be between 0.1 and 4, found 9\n");
}
END_TEST

/* ---- references ---- */

START_TEST(test_missing_reference)
{
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: smal\n",
	       "t.yaml:31:13: error: no Template named 'smal'; did you mean 'small'?\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  disks:\n  - {name: d, pool: remote, size: 1GiB}\n",
	       "t.yaml:33:21: error: no StoragePool named 'remote'\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  placement: {host: kvm9}\n",
	       "t.yaml:32:21: error: no Host named 'kvm9'\n");
	EXPECT(BASE DOC("BackupSchedule", "b") "spec:\n  schedule: '@daily'\n  vms: [web-9]\n"
	       "  target: {type: dir, path: /b}\n",
	       "t.yaml:32:9: error: no VM named 'web-9'\n");
}
END_TEST

/* Image: its source, sha256 and format, and what a disk's image may name */
START_TEST(test_image_rules)
{
	static const char yaml[] =
	"apiVersion: novacron.io/v1\n"
	"kind: Image\n"
	"metadata: {name: both}\n"
	"spec:\n"
	"  source: {url: \"https://example.org/a.qcow2\", file: a.qcow2}\n"
	"  sha256: 0000000000000000000000000000000000000000000000000000000000000000\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: Image\n"
	"metadata: {name: none}\n"
	"spec:\n"
	"  source: {}\n"
	"  sha256: 0000000000000000000000000000000000000000000000000000000000000000\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: Image\n"
	"metadata: {name: creds}\n"
	"spec:\n"
	"  source: {url: \"https://user:secret@example.org/a.qcow2\"}\n"
	"  sha256: 0000000000000000000000000000000000000000000000000000000000000000\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: Image\n"
	"metadata: {name: badsum}\n"
	"spec:\n"
	"  source: {url: \"ftp://example.org/a.qcow2\"}\n"
	"  sha256: ABCDEF\n"
	"  format: vmdk\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: Image\n"
	"metadata: {name: path}\n"
	"spec:\n"
	"  source: {file: ../etc/shadow}\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: Image\n"
	"metadata: {name: deb}\n"
	"spec:\n"
	"  source: {file: deb.qcow2}\n"
	"  sha256: 0000000000000000000000000000000000000000000000000000000000000000\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: StoragePool\n"
	"metadata: {name: ceph}\n"
	"spec: {type: rbd, rbd: {pool: vms}}\n"
	"---\n"
	"apiVersion: novacron.io/v1\n"
	"kind: VM\n"
	"metadata: {name: v}\n"
	"spec:\n"
	"  vcpus: 1\n"
	"  memory: 64MiB\n"
	"  disks:\n"
	"    - {name: a, pool: ceph, image: deb}\n"
	"    - {name: b, pool: ceph, image: debian-12-genericcloud.qcow2}\n"
	"    - {name: c, pool: ceph, image: dbe}\n"
	"    - {name: d, pool: ceph, image: /abs/x.raw}\n";

	EXPECT(yaml,
	"t.yaml:5:54: error: Image 'both' has both source.url and source.file; give exactly one\n"
	"t.yaml:12:11: error: Image 'none' needs source.url or source.file\n"
	"t.yaml:19:17: error: Image 'creds': source.url carries a user or password; credentials never go in the spec (fetch from a server that needs none)\n"
	"t.yaml:26:17: error: invalid url 'ftp://example.org/a.qcow2': expected an http:// or https:// URL\n"
	"t.yaml:27:11: error: invalid sha256 'ABCDEF': expected a SHA-256 as 64 lower-case hex digits\n"
	"t.yaml:28:11: error: invalid value 'vmdk' for 'format' (expected qcow2 or raw)\n"
	"t.yaml:34:3: error: missing required key 'sha256' in Image spec\n"
	"t.yaml:34:18: error: invalid file '../etc/shadow': expected a file name without '/', not starting with '.', of printable characters\n"
	"t.yaml:55:36: error: disk 'a' of VM 'v' is in rbd pool 'ceph', which holds raw images only, and Image 'deb' is qcow2 (set its format: raw and give a raw file)\n"
	"t.yaml:56:36: error: no Image named 'debian-12-genericcloud.qcow2': a disk's image names an Image object (kind: Image, with spec.source and spec.sha256), not a file; declare one and write its name here (docs/spec.md, Image)\n"
	"t.yaml:57:36: error: no Image named 'dbe'\n");
}
END_TEST

START_TEST(test_inheritance_cycle)
{
	EXPECT(DOC("Template", "a") "spec:\n  inherits: b\n" DOC("Template", "b") "spec:\n  inherits: c\n"
	       DOC("Template", "c") "spec:\n  inherits: a\n",
	       "t.yaml:7:13: error: template inheritance cycle: a -> b -> c -> a\n");
	EXPECT(DOC("Template", "a") "spec:\n  inherits: a\n",
	       "t.yaml:7:13: error: template inheritance cycle: a -> a\n");
}
END_TEST

START_TEST(test_duplicate_names)
{
	EXPECT(BASE DOC("Network", "lan") "spec:\n  type: bridge\n  bridge: br0\n",
	       "t.yaml:29:9: error: duplicate Network 'lan'\n"
	       "t.yaml:13:9: note: first defined here\n");
}
END_TEST

START_TEST(test_duplicate_list_names)
{
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  nics:\n  - {name: eth0, network: lan}\n"
	       "  - {name: eth0, network: lan}\n",
	       "t.yaml:34:12: error: duplicate nic name 'eth0' (first at line 33, column 12)\n");
}
END_TEST

START_TEST(test_duplicate_uri)
{
	EXPECT(DOC("Host", "a") "spec: {uri: 'qemu:///system'}\n" DOC("Host", "b") "spec: {uri: 'qemu:///system'}\n",
	       "t.yaml:12:13: error: Host 'b' has the same uri as Host 'a'\n");
}
END_TEST

START_TEST(test_host_fence_names)
{
	/* names only: what a device is (an agent, an address, a password) is the operator's */
	EXPECT(DOC("Host", "a") "spec: {uri: 'sim:///a', fence: [ipmi-a, ceph]}\n", "");
	EXPECT(DOC("Host", "a") "spec: {uri: 'sim:///a', fence: [ceph, ceph]}\n",
	       "t.yaml:6:39: error: fence device 'ceph' is listed twice in 'fence'\n");
	EXPECT(DOC("Host", "a") "spec: {uri: 'sim:///a', fence: ['/usr/sbin/fence_ipmilan']}\n",
	       "t.yaml:6:33: error: invalid value '/usr/sbin/fence_ipmilan' in 'fence': use at most 63 "
	       "lower-case letters, digits and '-', starting and ending with a letter or digit\n");
	EXPECT(DOC("Host", "a") "spec: {uri: 'sim:///a', fence: ipmi-a}\n",
	       "t.yaml:6:32: error: expected a list of strings for 'fence', found a string 'ipmi-a'\n");
	EXPECT(DOC("Host", "a") "spec: {uri: 'sim:///a', fence: [a, b, c, d, e, f, g, h, i]}\n",
	       "t.yaml:6:57: error: Host 'a' names 9 fence devices; at most 8\n");
}
END_TEST

/* ---- names, labels, selectors ---- */

START_TEST(test_invalid_names)
{
	EXPECT(DOC("Network", "Web_1") "spec: {type: bridge, bridge: br0}\n",
	       "t.yaml:5:9: error: invalid name 'Web_1': use at most 63 lower-case letters, digits "
	       "and '-', starting and ending with a letter or digit\n");
	EXPECT(DOC("Network", "\"a\\x01b\"") "spec: {type: bridge, bridge: br0}\n",
	       "t.yaml:5:9: error: invalid name 'a\\x01b': use at most 63 lower-case letters, digits "
	       "and '-', starting and ending with a letter or digit\n");
	/* well-formed UTF-8 that is not an allowed name */
	EXPECT(DOC("Network", "caf\xc3\xa9") "spec: {type: bridge, bridge: br0}\n",
	       "t.yaml:5:9: error: invalid name 'caf\xc3\xa9': use at most 63 lower-case letters, digits "
	       "and '-', starting and ending with a letter or digit\n");
}
END_TEST

START_TEST(test_invalid_labels)
{
	EXPECT(DOC("Host", "n") "  labels: {'bad key!': x}\nspec: {uri: 'sim:///n'}\n",
	       "t.yaml:6:12: error: invalid label key 'bad key!': the name must be at most 63 letters, "
	       "digits, '-', '_' or '.', starting and ending with a letter or digit\n");
	EXPECT(DOC("Host", "n") "  labels: {Example.COM/x: y}\nspec: {uri: 'sim:///n'}\n",
	       "t.yaml:6:12: error: invalid label key 'Example.COM/x': the prefix before '/' must be a "
	       "DNS subdomain (lower-case letters, digits, '-' and '.'; at most 253)\n");
	EXPECT(DOC("Host", "n") "  labels: {tier: -web}\nspec: {uri: 'sim:///n'}\n",
	       "t.yaml:6:18: error: invalid value '-web' for label 'tier': values are empty or at most "
	       "63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit\n");
}
END_TEST

START_TEST(test_invalid_selectors)
{
	EXPECT(DOC("PlacementPolicy", "p") "spec:\n  vmSelector:\n    matchExpressions:\n"
	       "    - {key: role, operator: In}\n",
	       "t.yaml:9:29: error: operator 'In' needs at least one value\n");
	EXPECT(DOC("PlacementPolicy", "p") "spec:\n  vmSelector:\n    matchExpressions:\n"
	       "    - {key: role, operator: Exists, values: [a]}\n",
	       "t.yaml:9:45: error: operator 'Exists' takes no values\n");
	EXPECT(DOC("PlacementPolicy", "p") "spec:\n  vmSelector:\n    matchExpressions:\n"
	       "    - {key: role, operator: in, values: [a]}\n",
	       "t.yaml:9:29: error: invalid value 'in' for 'operator'; did you mean 'In'?\n");
	EXPECT(DOC("PlacementPolicy", "p") "spec:\n  vmSelector:\n    matchExpressions:\n"
	       "    - {key: 'a b', operator: In, values: ['x y']}\n",
	       "t.yaml:9:13: error: invalid key 'a b': the name must be at most 63 letters, digits, "
	       "'-', '_' or '.', starting and ending with a letter or digit\n"
	       "t.yaml:9:43: error: invalid value 'x y' in 'values': values are empty or at most 63 "
	       "letters, digits, '-', '_' or '.', starting and ending with a letter or digit\n");
	EXPECT(DOC("PlacementPolicy", "p") "spec:\n  vmSelector: {}\n  affinity:\n"
	       "  - {type: antiAffinity, weight: 10}\n",
	       "t.yaml:9:34: error: 'weight' applies only to preferred rules (set mode: preferred)\n");
}
END_TEST

START_TEST(test_selector_matches)
{
	struct nc_diags d;
	struct nc_spec *spec = load(
		DOC("PlacementPolicy", "p") "spec:\n  vmSelector:\n    matchLabels: {app: shop}\n"
		"    matchExpressions:\n    - {key: tier, operator: In, values: [web, api]}\n"
		"    - {key: legacy, operator: DoesNotExist}\n"
		DOC("VM", "a") "  labels: {app: shop, tier: web}\nspec: {vcpus: 1, memory: 1GiB}\n"
		DOC("VM", "b") "  labels: {app: shop, tier: db}\nspec: {vcpus: 1, memory: 1GiB}\n"
		DOC("VM", "c") "  labels: {app: shop, tier: api, legacy: 'yes'}\nspec: {vcpus: 1, memory: 1GiB}\n",
		&d);
	const struct nc_policy *p = (const struct nc_policy *)nc_spec_find(spec, NC_KIND_PLACEMENT_POLICY, "p");
	const struct nc_vm *a = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, "a");
	const struct nc_vm *b = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, "b");
	const struct nc_vm *c = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, "c");

	ck_assert_uint_eq(d.errors, 0);
	ck_assert(nc_selector_matches(&p->spec.vm_selector, &a->labels));
	ck_assert(!nc_selector_matches(&p->spec.vm_selector, &b->labels));
	ck_assert(!nc_selector_matches(&p->spec.vm_selector, &c->labels));
	nc_diags_release(&d);
	nc_spec_free(spec);
}
END_TEST

/* ---- cron ---- */

START_TEST(test_invalid_cron)
{
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: '30 25 * * *'\n  vmSelector: {}\n"
	       "  target: {type: dir, path: /b}\n",
	       "t.yaml:7:17: error: invalid cron expression '30 25 * * *': hour value 25 out of range 0-23\n");
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: 0 0 * * 1-9\n  vmSelector: {}\n"
	       "  target: {type: dir, path: /b}\n",
	       "t.yaml:7:23: error: invalid cron expression '0 0 * * 1-9': day-of-week value 9 out of range 0-7\n");
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: '0 0 * *'\n  vmSelector: {}\n"
	       "  target: {type: dir, path: /b}\n",
	       "t.yaml:7:14: error: invalid cron expression '0 0 * *': expected 5 fields "
	       "(minute hour day-of-month month day-of-week), found 4\n");
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: '0 3 * foo *'\n  vmSelector: {}\n"
	       "  target: {type: dir, path: /b}\n",
	       "t.yaml:7:20: error: invalid cron expression '0 3 * foo *': unknown month name 'foo'\n");
}
END_TEST

START_TEST(test_valid_cron_parsed)
{
	struct nc_diags d;
	struct nc_spec *spec = load(DOC("BackupSchedule", "b") "spec:\n  schedule: '*/15 2 * jan-mar mon-fri'\n"
				    "  vmSelector: {}\n  target: {type: dir, path: /b}\n", &d);
	const struct nc_backup *b = (const struct nc_backup *)nc_spec_find(spec, NC_KIND_BACKUP_SCHEDULE, "b");

	ck_assert_uint_eq(d.errors, 0);
	ck_assert_uint_eq(b->spec.schedule.cron.minute, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45));
	ck_assert_uint_eq(b->spec.schedule.cron.hour, 1u << 2);
	ck_assert_uint_eq(b->spec.schedule.cron.month, (1u << 1) | (1u << 2) | (1u << 3));
	ck_assert_uint_eq(b->spec.schedule.cron.dow, 0x3e);
	nc_diags_release(&d);
	nc_spec_free(spec);
}
END_TEST

/* ---- cross-field rules ---- */

START_TEST(test_cross_field_rules)
{
	EXPECT(DOC("StoragePool", "p") "spec:\n  type: dir\n",
	       "t.yaml:7:3: error: missing required key 'path' for a dir pool\n");
	EXPECT(DOC("StoragePool", "p") "spec:\n  type: rbd\n  path: /x\n  rbd: {pool: vms}\n",
	       "t.yaml:8:9: error: 'path' does not apply to an rbd pool\n");
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: '@daily'\n  target: {type: s3, bucket: b, "
	       "endpoint: 'http://127.0.0.1:8000', credentialsFile: /c}\n",
	       "t.yaml:7:3: error: BackupSchedule needs 'vmSelector' or 'vms'\n");
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: '@daily'\n  vmSelector: {}\n  target: {type: dir, path: /b}\n"
	       "  retention: {keepLast: 0}\n",
	       "t.yaml:10:14: error: retention keeps no backup: set keepLast, keepDaily, keepWeekly or "
	       "keepMonthly above 0\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  deletionProtection: true\n  state: absent\n",
	       "t.yaml:33:10: error: VM 'a' has deletionProtection, so its state cannot be absent\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  memory: 1GiB\n",
	       "t.yaml:29:9: error: VM 'a' has no vcpus: set spec.vcpus\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  disks:\n  - {name: d, size: 1GiB}\n",
	       "t.yaml:33:5: error: disk 'd' of VM 'a' has no pool\n");
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: '@daily'\n  vmSelector: {}\n"
	       "  target: {type: dir, path: /b, cephUser: x}\n",
	       "t.yaml:9:43: error: 'cephUser' does not apply to a dir target\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  restore: {backup: 'ABC', schedule: nope}\n",
	       "t.yaml:32:21: error: restore.backup 'ABC' is not a backup id: 8 to 64 lowercase hex digits "
	       "(see `novacron backup list`)\n"
	       "t.yaml:32:38: error: no BackupSchedule named 'nope'\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  restore: {backup: 0123abcd}\n",
	       "t.yaml:32:12: error: restore of VM 'a' names no repository: set restore.schedule or backupSchedule\n");
	EXPECT(DOC("Network", "n") "spec: {type: nat, subnet: 10.0.0.0/33}\n",
	       "t.yaml:6:27: error: invalid subnet '10.0.0.0/33': expected an address range such as "
	       "192.168.122.0/24 or fd00::/64\n");
	EXPECT(BASE DOC("VM", "a") "spec:\n  template: small\n  nics:\n  - {name: e, network: lan, mac: '01:00:5e:00:00:01'}\n",
	       "t.yaml:33:34: error: invalid mac '01:00:5e:00:00:01': a multicast address cannot be a "
	       "NIC's address (the first byte must be even)\n");
}
END_TEST

/* ---- inheritance ---- */

START_TEST(test_inheritance_merge)
{
	struct nc_diags d;
	struct nc_spec *spec = load(
		BASE DOC("Template", "base") "spec:\n  vcpus: 2\n  memory: 1GiB\n  machine: q35\n"
		"  disks:\n  - {name: root, pool: local, size: 10GiB, boot: true}\n"
		"  - {name: swap, pool: local, size: 1GiB}\n  labels: {tier: base, os: debian}\n"
		DOC("Template", "web") "spec:\n  inherits: base\n  memory: 2GiB\n"
		"  disks:\n  - {name: data, pool: local, size: 50GiB}\n  - {name: root, size: 20GiB}\n"
		"  labels: {tier: web}\n"
		DOC("VM", "w") "  labels: {os: alpine}\nspec:\n  template: web\n  vcpus: 4\n", &d);
	const struct nc_vm *vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, "w");
	const struct nc_disk *disks;

	ck_assert_uint_eq(d.errors, 0);
	ck_assert_int_eq(vm->eff.vcpus.v, 4);
	ck_assert_uint_eq(vm->eff.memory.v, 2ULL << 30);
	ck_assert_str_eq(vm->eff.machine.v, "q35");
	ck_assert_uint_eq(vm->eff.disks.n, 3);
	disks = vm->eff.disks.v;
	ck_assert_str_eq(disks[0].name.v, "root");
	ck_assert_uint_eq(disks[0].size.v, 20ULL << 30);
	ck_assert_str_eq(disks[0].pool.v, "local");
	ck_assert(disks[0].boot.v);
	ck_assert_str_eq(disks[1].name.v, "swap");
	ck_assert_str_eq(disks[2].name.v, "data");
	/* the size override points at the template that wrote it */
	ck_assert_uint_eq(disks[0].size.pos.line, 48);
	ck_assert_uint_eq(vm->labels.n, 2);
	ck_assert_str_eq(nc_map_get(&vm->labels, "tier"), "web");
	ck_assert_str_eq(nc_map_get(&vm->labels, "os"), "alpine");
	nc_diags_release(&d);
	nc_spec_free(spec);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(test_deep_nesting)
{
	struct nc_buf b = NC_BUF_INIT;
	char *got;
	int i;

	for (i = 0; i < 100000; i++)
		nc_buf_addc(&b, '[');
	got = diags_of_len(b.buf, b.len);
	ck_assert_str_eq(got, "t.yaml:1:65: error: nesting too deep (more than 64 levels)\n");
	free(got);
	nc_buf_release(&b);
}
END_TEST

START_TEST(test_billion_laughs)
{
	const char *bomb =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: x}\n"
		"spec: {vcpus: 1, memory: 1GiB}\n";
	char *got = diags_of(bomb);

	/* refused while parsing by the alias byte budget, at the alias that crosses it */
	ck_assert_str_eq(got,
			 "t.yaml:7:8: error: aliases expand to more than 16.0 MiB in this file "
			 "(the alias budget); '*f' alone expands to 9.4 MiB\n");
	free(got);
}
END_TEST

START_TEST(test_alias_bomb_in_schema_path)
{
	/* aliases inside a place the schema walks: expansion is bounded */
	struct nc_buf b = NC_BUF_INIT;
	char *got;
	int i;

	nc_buf_adds(&b, "apiVersion: novacron.io/v1\nkind: Network\nmetadata:\n  name: n\n  labels: &l {");
	for (i = 0; i < 1000; i++)
		nc_buf_addf(&b, "%sk%d: v", i ? ", " : "", i);
	nc_buf_adds(&b, "}\n  annotations: *l\nspec: {type: bridge, bridge: br0}\n");
	for (i = 0; i < 200; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: Network\nmetadata: {name: n%d, labels: *l}\n"
			    "spec: {type: bridge, bridge: br0}\n", i);
	got = diags_of_len(b.buf, b.len);
	/* anchors are per document: later documents cannot see &l */
	ck_assert_ptr_nonnull(strstr(got, "error: unknown alias '*l'"));
	free(got);
	nc_buf_release(&b);
}
END_TEST

START_TEST(test_binary_garbage)
{
	static const char garbage[] = "\x7f" "ELF\x02\x01\x01\x00\x00\x00\xff\xfe";
	char *got = diags_of_len(garbage, sizeof(garbage) - 1);

	ck_assert_str_eq(got, "t.yaml:1:1: error: invalid input: control characters are not allowed (byte 0x7f)\n");
	free(got);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	char *got = diags_of("apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: caf\xff}\n");

	ck_assert_str_eq(got, "t.yaml:3:21: error: invalid input: invalid leading UTF-8 octet (byte 0xff)\n");
	free(got);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char doc[] = "apiVersion: novacron.io/v1\nkind: VM\x00\n";
	char *got = diags_of_len(doc, sizeof(doc) - 1);

	ck_assert_str_eq(got, "t.yaml:2:9: error: invalid input: control characters are not allowed (byte 0x00)\n");
	free(got);
}
END_TEST

START_TEST(test_huge_file)
{
	/* a 50 MB file is refused before it is read into memory */
	char path[] = "/tmp/nc-test-huge-XXXXXX";
	int fd = mkstemp(path);
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	const char *paths[] = { path };
	struct nc_buf b = NC_BUF_INIT;
	char *want;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 50 * 1000 * 1000), 0);
	close(fd);
	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load(&spec, paths, 1, NULL, &d), -1);
	nc_diags_format_text(&d, &b, 0);
	want = nc_xasprintf("%s: error: file too large (the limit is 32 MiB)\n", path);
	ck_assert_str_eq(b.buf, want);
	free(want);
	nc_buf_release(&b);
	nc_diags_release(&d);
	nc_spec_free(spec);
	unlink(path);
}
END_TEST

START_TEST(test_many_nodes_bounded)
{
	/* a big flat document within the file limit still loads in bounded memory */
	struct nc_buf b = NC_BUF_INIT;
	char *got;
	int i;

	nc_buf_adds(&b, "apiVersion: novacron.io/v1\nkind: Network\nmetadata: {name: n}\n"
			"spec: {type: bridge, bridge: br0}\nx: [");
	for (i = 0; i < 300000; i++)
		nc_buf_adds(&b, "1,");
	nc_buf_adds(&b, "1]\n");
	got = diags_of_len(b.buf, b.len);
	ck_assert_str_eq(got, "t.yaml:5:1: error: unknown key 'x' in Network (valid keys: apiVersion, kind, metadata, spec)\n");
	free(got);
	nc_buf_release(&b);
}
END_TEST

/* nc_write_file_atomic: mode whatever the umask, content replaced, no temporary
 * left, and a symlink planted at the temporary name is not followed. */
START_TEST(test_write_file_atomic)
{
	char dir[] = "/tmp/nc-atomic-XXXXXX", *path, *tmp, *got = NULL;
	size_t n;
	struct stat st;
	mode_t old = umask(0);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = nc_xasprintf("%s/f", dir);
	ck_assert_int_eq(nc_write_file_atomic(path, "one", 3, 0600), 0);
	ck_assert_int_eq(nc_write_file_atomic(path, "second", 6, 0600), 0);
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(nc_read_file(path, 100, &got, &n), 0);
	ck_assert_int_eq((int)n, 6);
	ck_assert_int_eq(memcmp(got, "second", 6), 0);
	free(got);
	/* a link at PATH.tmp-PID pointing elsewhere: refused, the target untouched */
	tmp = nc_xasprintf("%s.tmp-%ld", path, (long)getpid());
	ck_assert_int_eq(symlink("/nonexistent-nc-target", tmp), 0);
	ck_assert_int_eq(nc_write_file_atomic(path, "third", 5, 0600), -1);
	ck_assert_int_eq(access("/nonexistent-nc-target", F_OK), -1);
	ck_assert_int_eq(nc_read_file(path, 100, &got, &n), 0);
	ck_assert_int_eq(memcmp(got, "second", 6), 0);
	free(got);
	unlink(tmp);
	unlink(path);
	rmdir(dir);
	free(tmp);
	free(path);
}
END_TEST

START_TEST(test_directory_walk)
{
	char dir[] = "/tmp/nc-test-dir-XXXXXX";
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	const char *paths[1];
	char *p;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	paths[0] = dir;
	p = nc_xasprintf("%s/sub", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	p = nc_xasprintf("%s/.hidden", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	p = nc_xasprintf("%s/sub/b.yml", dir);
	f = fopen(p, "w");
	fputs(DOC("Network", "b") "spec: {type: bridge, bridge: br0}\n", f);
	fclose(f);
	free(p);
	p = nc_xasprintf("%s/a.yaml", dir);
	f = fopen(p, "w");
	fputs(DOC("Network", "a") "spec: {type: bridge, bridge: br1}\n", f);
	fclose(f);
	free(p);
	p = nc_xasprintf("%s/.hidden/c.yaml", dir);
	f = fopen(p, "w");
	fputs("not: [valid\n", f);
	fclose(f);
	free(p);
	p = nc_xasprintf("%s/README.md", dir);
	f = fopen(p, "w");
	fputs("# not yaml\n", f);
	fclose(f);
	free(p);

	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load(&spec, paths, 1, NULL, &d), 0);
	ck_assert_uint_eq(spec->nfiles, 2);
	ck_assert_uint_eq(spec->nobjs[NC_KIND_NETWORK], 2);
	nc_diags_release(&d);
	nc_spec_free(spec);

	/* a missing path and an empty directory are errors */
	p = nc_xasprintf("%s/sub/b.yml", dir);
	unlink(p);
	free(p);
	p = nc_xasprintf("%s/sub", dir);
	paths[0] = p;
	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load(&spec, paths, 1, NULL, &d), -1);
	ck_assert_str_eq(d.v[0].msg, "no YAML files (*.yaml, *.yml) found");
	nc_diags_release(&d);
	nc_spec_free(spec);
	rmdir(p);
	free(p);
	p = nc_xasprintf("%s/.hidden/c.yaml", dir);
	unlink(p);
	free(p);
	p = nc_xasprintf("%s/.hidden", dir);
	rmdir(p);
	free(p);
	p = nc_xasprintf("%s/a.yaml", dir);
	unlink(p);
	free(p);
	p = nc_xasprintf("%s/README.md", dir);
	unlink(p);
	free(p);
	rmdir(dir);

	paths[0] = "/nonexistent/novacron";
	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load(&spec, paths, 1, NULL, &d), -1);
	ck_assert_str_eq(d.v[0].msg, "cannot open: No such file or directory");
	nc_diags_release(&d);
	nc_spec_free(spec);
}
END_TEST

START_TEST(test_injection_names_quoted)
{
	/* text from the spec is escaped in messages, never interpreted */
	EXPECT(DOC("Network", "\"a</name><devices>\"") "spec: {type: bridge, bridge: br0}\n",
	       "t.yaml:5:9: error: invalid name 'a</name><devices>': use at most 63 lower-case letters, "
	       "digits and '-', starting and ending with a letter or digit\n");
	EXPECT(DOC("Host", "h") "spec: {uri: \"qemu:///system\\n; rm -rf /\"}\n",
	       "t.yaml:6:13: error: invalid uri 'qemu:///system\\x0a; rm -rf /': control characters, spaces "
	       "and non-ASCII bytes are not allowed in a host URI\n");
}
END_TEST

/*
 * A Host URI names a host and a transport, nothing more: every libvirt
 * parameter that runs a program, opens a socket, reads a file or weakens a
 * check is refused, however it is spelt (spec/uri.h).
 */
START_TEST(test_host_uri_allow_list)
{
	static const char *const good[] = {
		"qemu:///system", "qemu:///session", "qemu+unix:///system", "qemu://kvm1/system",
		"qemu+ssh://root@kvm1/system", "qemu+ssh://root@kvm1.example.com:2222/system?no_tty=1",
		"qemu+tcp://10.0.0.1:16509/system", "qemu+tls://[fd00::1]:16514/system",
		"qemu+libssh://u@h/system", "qemu+libssh2://u_1.x@h/session", "sim:///kvm1",
		"sim:///h001?cpus=64&memory=512GiB", "sim:///a?memory=1MiB", "test:///default",
	};
	static const struct { const char *uri, *why; } bad[] = {
		/* programs */
		{ "qemu+ssh://localhost/system?command=/tmp/x", "query parameter 'command' is not allowed in a spec" },
		{ "qemu+ssh://h/system?netcat=/tmp/nc", "query parameter 'netcat' is not allowed" },
		{ "qemu+ssh://h/system?proxy=netcat", "query parameter 'proxy' is not allowed" },
		{ "qemu+ext:///system?command=/bin/sh", "unsupported scheme 'qemu+ext'" },
		/* local sockets */
		{ "qemu:///system?socket=/tmp/s", "query parameter 'socket' is not allowed" },
		{ "qemu+unix:///system?socket=/run/x", "query parameter 'socket' is not allowed" },
		/* key, certificate and known_hosts files */
		{ "qemu+ssh://h/system?keyfile=/root/.ssh/id_rsa", "query parameter 'keyfile' is not allowed" },
		{ "qemu+tls://h/system?pkipath=/etc/pki", "query parameter 'pkipath' is not allowed" },
		{ "qemu+ssh://h/system?known_hosts=/tmp/kh", "query parameter 'known_hosts' is not allowed" },
		/* weaker checks, another URI for the remote daemon */
		{ "qemu+tls://h/system?no_verify=1", "query parameter 'no_verify' is not allowed" },
		{ "qemu+ssh://h/system?known_hosts_verify=ignore", "query parameter 'known_hosts_verify'" },
		{ "qemu+ssh://h/system?sshauth=privkey", "query parameter 'sshauth' is not allowed" },
		{ "qemu+tls://h/system?tls_priority=NORMAL", "query parameter 'tls_priority' is not allowed" },
		{ "qemu+ssh://h/system?name=test:///etc/shadow", "query parameter 'name' is not allowed" },
		{ "qemu+ssh://h/system?mode=legacy", "query parameter 'mode' is not allowed" },
		/* files read by the test driver, other drivers' paths */
		{ "test:///etc/passwd", "the test driver is allowed only as test:///default" },
		{ "test:///etc/shadow", "the test driver is allowed only as test:///default" },
		{ "test://relative.xml", "the test driver is allowed only as test:///default" },
		{ "test:///default?x=1", "the test driver is allowed only as test:///default" },
		{ "test+unix:///default", "unsupported scheme 'test+unix'" },
		{ "qemu:///embed?root=/tmp", "the path of a qemu URI must be /system or /session" },
		{ "qemu+ssh://h/system/../x", "the path of a qemu URI must be /system or /session" },
		{ "sim:///../x", "a simulated host is sim:///NAME" },
		{ "sim:///a/b", "a simulated host is sim:///NAME" },
		{ "sim:///x?path=/etc", "query parameter 'path' is not allowed: a sim:/// URI takes only" },
		{ "sim://h/x", "a simulated host has no host part" },
		/* spellings: escapes, case, separators, repeats */
		{ "qemu+ssh://h/system?%63ommand=/tmp/x", "percent-escapes are not allowed" },
		{ "qemu+ssh://h/system?no_tty=1&%43OMMAND=x", "percent-escapes are not allowed" },
		{ "qemu+ssh://h/system?COMMAND=/tmp/x", "query parameter 'COMMAND' is not allowed" },
		{ "qemu+ssh://h/system?Socket=/tmp/s", "query parameter 'Socket' is not allowed" },
		{ "qemu+ssh://h/system?no_tty=1?command=/tmp/x", "more than one '?'" },
		{ "qemu+ssh://h/system?no_tty=1;command=/tmp/x", "no_tty must be 0 or 1" },
		{ "qemu+ssh://h/system?no_tty=1&no_tty=1", "query parameter 'no_tty' is given twice" },
		{ "qemu+ssh://h/system?&no_tty=1", "an empty query parameter" },
		{ "qemu+ssh://h/system?", "an empty query parameter" },
		{ "qemu+ssh://h/system#x", "a fragment ('#') is not allowed" },
		/* the authority */
		{ "qemu+ssh://root:pw@h/system", "a password in the URI is not allowed" },
		{ "qemu+ssh://-oProxyCommand=x@h/system", "the user name must be" },
		{ "qemu+ssh://-oProxyCommand=x/system", "the host must be a DNS name" },
		{ "qemu+ssh://a@b@h/system", "more than one '@'" },
		{ "qemu+ssh://h:0/system", "the port must be a number from 1 to 65535" },
		{ "qemu+ssh://h:65536/system", "the port must be a number from 1 to 65535" },
		{ "qemu+ssh://[fe80::1]x/system", "unexpected characters after the IPv6 address" },
		{ "qemu+ssh://[nope]/system", "expected an IPv6 address in brackets" },
		{ "qemu+ssh:///system", "qemu+ssh needs a host" },
		{ "qemu+unix://h/system", "qemu+unix names no host" },
		/* bytes */
		{ "qemu+ssh://h\xc3\xa9/system", "control characters, spaces and non-ASCII bytes" },
		{ "qemu+ssh://h/system?no_tty=1\x01", "control characters, spaces and non-ASCII bytes" },
		{ "lxc:///system", "unsupported scheme 'lxc'" },
		{ "no-scheme", "expected a URI such as" },
	};
	const char *why;
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(good); i++)
		ck_assert_msg(nc_host_uri_check(good[i], &why) == 0, "%s refused: %s", good[i], why);
	for (i = 0; i < NC_ARRAY_SIZE(bad); i++) {
		ck_assert_msg(nc_host_uri_check(bad[i].uri, &why) < 0, "%s accepted", bad[i].uri);
		ck_assert_msg(strstr(why, bad[i].why) != NULL, "%s: got '%s', want '%s'", bad[i].uri, why,
			      bad[i].why);
	}
	/* each is a validate error at the value's position, for uri and migrationUri alike */
	EXPECT(DOC("Host", "h") "spec:\n  uri: qemu+ssh://localhost/system?command=/tmp/x\n",
	       "t.yaml:7:8: error: invalid uri 'qemu+ssh://localhost/system?command=/tmp/x': query parameter "
	       "'command' is not allowed in a spec: how NovaCron reaches a host (ssh keys, known_hosts, "
	       "sockets, programs, TLS files, other libvirt parameters) comes from the operator's "
	       "connections config, not from the spec (docs/operations.md); a spec may give only no_tty\n");
	EXPECT(DOC("Host", "h") "spec:\n  uri: qemu:///system\n  migrationUri: 'test:///etc/shadow'\n",
	       "t.yaml:8:17: error: invalid migrationUri 'test:///etc/shadow': the test driver is allowed "
	       "only as test:///default: any other test: URI makes libvirt read a local file (the "
	       "operator's connections config may name one)\n");
}
END_TEST

/* ---- rules that keep noise down and catch quiet mistakes ---- */

START_TEST(test_no_follow_on_errors)
{
	/* a cycle keeps each template's own values: no "has no vcpus" after it */
	EXPECT(DOC("Template", "a") "spec: {inherits: b, vcpus: 1, memory: 1GiB}\n"
	       DOC("Template", "b") "spec: {inherits: a}\n" DOC("VM", "v") "spec: {template: a}\n",
	       "t.yaml:6:18: error: template inheritance cycle: a -> b -> a\n");
	/* a missing parent is one error */
	EXPECT(DOC("Template", "a") "spec: {inherits: nope}\n" DOC("VM", "v") "spec: {template: a}\n",
	       "t.yaml:6:18: error: no Template named 'nope'\n");
	/* a value that failed to convert is not also "missing" */
	EXPECT(DOC("VM", "v") "spec: {vcpus: 1, memory: 1.5GiB}\n",
	       "t.yaml:6:26: error: invalid size '1.5GiB' for 'memory': sizes are whole numbers: "
	       "use a smaller unit, e.g. 1536MiB for 1.5GiB\n");
}
END_TEST

/*
 * Found attacking issue 11: a nat Network on 0.0.0.0/1 validated, and
 * libvirt would route half of the host's default route to the bridge;
 * loopback, link-local, multicast and reserved ranges too.
 */
START_TEST(test_network_special_ranges)
{
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 0.0.0.0/1}\n",
	       "t.yaml:6:27: error: subnet 0.0.0.0/1 of Network 'a' overlaps 'this network' 0.0.0.0/8: a host "
	       "would route its own traffic there; use a private range such as 192.168.150.0/24\n");
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 127.0.0.0/8}\n",
	       "t.yaml:6:27: error: subnet 127.0.0.0/8 of Network 'a' overlaps loopback 127.0.0.0/8: a host "
	       "would route its own traffic there; use a private range such as 192.168.150.0/24\n");
	EXPECT(DOC("Network", "a") "spec: {type: isolated, subnet: 128.0.0.0/1}\n",
	       "t.yaml:6:32: error: subnet 128.0.0.0/1 of Network 'a' overlaps link-local 169.254.0.0/16: a host "
	       "would route its own traffic there; use a private range such as 192.168.150.0/24\n");
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 224.0.0.0/24, dhcp: true}\n",
	       "t.yaml:6:27: error: subnet 224.0.0.0/24 of Network 'a' overlaps multicast 224.0.0.0/4: a host "
	       "would route its own traffic there; use a private range such as 192.168.150.0/24\n");
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 255.255.255.252/30}\n",
	       "t.yaml:6:27: error: subnet 255.255.255.252/30 of Network 'a' overlaps reserved 240.0.0.0/4 (and "
	       "the broadcast address): a host would route its own traffic there; use a private range such "
	       "as 192.168.150.0/24\n");
	EXPECT(DOC("Network", "a") "spec: {type: isolated, subnet6: 'fe80::/64'}\n",
	       "t.yaml:6:33: error: subnet6 fe80::/64 of Network 'a' overlaps link-local fe80::/10: a host "
	       "would route its own traffic there; use a unique local range such as fd00:150::/64\n");
	EXPECT(DOC("Network", "a") "spec: {type: isolated, subnet6: '::/1'}\n",
	       "t.yaml:6:33: error: subnet6 ::/1 of Network 'a' overlaps the unspecified, loopback and "
	       "IPv4-mapped range ::/8: a host would route its own traffic there; use a unique local range "
	       "such as fd00:150::/64\n");
	EXPECT(DOC("Network", "a") "spec: {type: isolated, subnet6: 'ff02::/64'}\n",
	       "t.yaml:6:33: error: subnet6 ff02::/64 of Network 'a' overlaps multicast ff00::/8: a host "
	       "would route its own traffic there; use a unique local range such as fd00:150::/64\n");
	/* private and public unicast ranges stay usable */
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 172.16.0.0/12, subnet6: 'fd00::/8'}\n", "");
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 203.0.113.0/24, subnet6: '2001:db8::/64'}\n", "");
}
END_TEST

/*
 * Found attacking issue 11: a VM's machine type took any string, so
 * "pc\e[2J\n  + v9: delete" cleared the terminal and forged a line in the
 * text plan; validate quoted some values raw (topologyKey); cmdline and S3
 * names took line breaks.  Diagnostics now show control characters as \xNN.
 */
START_TEST(test_control_characters_never_printed)
{
	EXPECT(DOC("VM", "v") "spec: {vcpus: 1, memory: 1GiB, machine: \"pc\\e[2J\\n  + v9: delete\"}\n",
	       "t.yaml:6:41: error: invalid machine 'pc\\x1b[2J\\x0a  + v9: delete': machine types are 1 to 63 of "
	       "A-Z a-z 0-9 '_' '.' '-', such as q35 or pc-i440fx-7.2\n");
	EXPECT(DOC("VM", "v") "spec: {vcpus: 1, memory: 1GiB, machine: pc-q35-7.2}\n", "");
	EXPECT(DOC("PlacementPolicy", "p") "spec:\n  vmSelector: {matchLabels: {a: b}}\n"
	       "  affinity: [{topologyKey: \"zone\\e[31m\", selector: {matchLabels: {a: b}}, type: affinity}]\n",
	       "t.yaml:8:28: error: invalid topologyKey 'zone\\x1b[31m': the name must be at most 63 letters, "
	       "digits, '-', '_' or '.', starting and ending with a letter or digit\n");
}
END_TEST

/* Networks (issue 11): subnets, DHCP ranges, fixed addresses, bridge names */
START_TEST(test_network_rules)
{
	/* a clean nat network with a range, IPv6 and a fixed address */
	EXPECT(DOC("Network", "lan") "spec:\n  type: nat\n  subnet: 10.1.0.0/24\n  subnet6: 'fd00:1::/64'\n"
	       "  dhcp: true\n  dhcpRange: {start: 10.1.0.100, end: 10.1.0.200}\n"
	       DOC("VM", "v") "spec:\n  vcpus: 1\n  memory: 1GiB\n"
	       "  nics: [{name: eth0, network: lan, ip: 10.1.0.10, mac: '52:54:00:00:00:0a'}]\n", "");
	/* overlapping subnets, at the second one */
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 10.0.0.0/16}\n"
	       DOC("Network", "b") "spec: {type: isolated, subnet: 10.0.4.0/24}\n",
	       "t.yaml:12:32: error: subnet 10.0.4.0/24 of Network 'b' overlaps subnet 10.0.0.0/16 of Network 'a'\n");
	EXPECT(DOC("Network", "a") "spec: {type: isolated, subnet6: 'fd00::/48'}\n"
	       DOC("Network", "b") "spec: {type: isolated, subnet6: 'fd00:0:0:1::/64'}\n",
	       "t.yaml:12:33: error: subnet6 fd00:0:0:1::/64 of Network 'b' overlaps subnet6 fd00::/48 of Network 'a'\n");
	/* a DHCP range outside the subnet, backwards, or on the host's address */
	EXPECT(DOC("Network", "a") "spec:\n  type: nat\n  subnet: 10.0.0.0/24\n  dhcp: true\n"
	       "  dhcpRange: {start: 10.0.1.5, end: 10.0.0.20}\n",
	       "t.yaml:10:22: error: DHCP range start 10.0.1.5 is outside subnet 10.0.0.0/24 of Network 'a'\n");
	EXPECT(DOC("Network", "a") "spec:\n  type: nat\n  subnet: 10.0.0.0/24\n  dhcp: true\n"
	       "  dhcpRange: {start: 10.0.0.50, end: 10.0.0.20}\n",
	       "t.yaml:10:38: error: DHCP range of Network 'a' ends (10.0.0.20) before it starts (10.0.0.50)\n");
	EXPECT(DOC("Network", "a") "spec:\n  type: nat\n  subnet: 10.0.0.0/24\n  dhcp: true\n"
	       "  dhcpRange: {start: 10.0.0.1, end: 10.0.0.20}\n",
	       "t.yaml:10:22: error: DHCP range start 10.0.0.1 is the host's address on the network "
	       "(the subnet's first address) of Network 'a'\n");
	EXPECT(DOC("Network", "a") "spec:\n  type: nat\n  subnet: 10.0.0.0/24\n"
	       "  dhcpRange: {start: 10.0.0.5, end: 10.0.0.20}\n",
	       "t.yaml:9:14: error: 'dhcpRange' needs 'dhcp: true'\n");
	/* the wrong family in each field */
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 'fd00::/64'}\n",
	       "t.yaml:6:27: error: invalid subnet 'fd00::/64': expected an IPv4 range such as "
	       "192.168.122.0/24 (IPv6 ranges go in subnet6)\n");
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 10.0.0.0/24, subnet6: 10.1.0.0/24}\n",
	       "t.yaml:6:49: error: invalid subnet6 '10.1.0.0/24': expected an IPv6 range such as fd00:1::/64\n");
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 10.0.0.4/30, dhcp: true}\n"
	       DOC("Network", "b") "spec: {type: nat, subnet: 10.0.1.4/31}\n",
	       "t.yaml:12:27: error: subnet 10.0.1.4/31 of Network 'b' is too small: a /30 or larger range "
	       "holds the host and a guest\n");
	/* a bridge name reaches XML, the kernel and iptables: a strict charset */
	EXPECT(DOC("Network", "a") "spec: {type: bridge, bridge: 'br0;reboot'}\n",
	       "t.yaml:6:30: error: invalid bridge 'br0;reboot': interface names are 1 to 15 of "
	       "A-Z a-z 0-9 '_' '.' '-', not starting with '-' or '.'\n");
	EXPECT(DOC("Network", "a") "spec: {type: nat, subnet: 10.0.0.0/24, bridge: '-i'}\n",
	       "t.yaml:6:48: error: invalid bridge '-i': interface names are 1 to 15 of "
	       "A-Z a-z 0-9 '_' '.' '-', not starting with '-' or '.'\n");
	EXPECT(DOC("Network", "a") "spec: {type: bridge, bridge: br0}\n"
	       DOC("Network", "b") "spec: {type: nat, subnet: 10.0.0.0/24, bridge: br0}\n"
	       DOC("Network", "c") "spec: {type: bridge, bridge: br0}\n",
	       "t.yaml:12:48: error: bridge br0 of Network 'b' is also the bridge of Network 'a': a nat or "
	       "isolated network's bridge is created by libvirt and cannot be shared\n"
	       "t.yaml:18:30: error: bridge br0 of Network 'c' is also the bridge of Network 'b': a nat or "
	       "isolated network's bridge is created by libvirt and cannot be shared\n");
	EXPECT(DOC("Network", "a") "spec: {type: bridge, bridge: br0, dhcp: true}\n",
	       "t.yaml:6:41: error: 'dhcp' does not apply to a bridge network (the host's bridge is not managed)\n");
	EXPECT(DOC("Network", "a") "spec: {type: nat}\n",
	       "t.yaml:6:7: error: missing required key 'subnet' for a nat network\n");
	/* fixed addresses: in the subnet, not reserved, once per network, on a managed subnet */
	EXPECT(BASE DOC("VM", "v1") "spec:\n  template: small\n  nics: [{name: eth0, network: lan, ip: 10.0.0.7}]\n"
	       DOC("VM", "v2") "spec:\n  template: small\n  nics: [{name: e0, network: lan, ip: 10.0.0.7}]\n",
	       "t.yaml:40:39: error: ip 10.0.0.7 of nic 'e0' of VM 'v2' is already taken on Network 'lan' by "
	       "nic 'eth0' of VM 'v1'\n");
	EXPECT(BASE DOC("VM", "v1") "spec:\n  template: small\n  nics: [{name: eth0, network: lan, ip: 10.0.1.7}]\n",
	       "t.yaml:32:41: error: ip 10.0.1.7 of nic 'eth0' of VM 'v1' is outside subnet 10.0.0.0/24 of Network 'lan'\n");
	EXPECT(BASE DOC("VM", "v1") "spec:\n  template: small\n  nics: [{name: eth0, network: lan, ip: 10.0.0.255}]\n",
	       "t.yaml:32:41: error: ip 10.0.0.255 of nic 'eth0' of VM 'v1' is the subnet's broadcast address "
	       "of Network 'lan'\n");
	EXPECT(DOC("Network", "br") "spec: {type: bridge, bridge: br0}\n"
	       DOC("VM", "v1") "spec:\n  vcpus: 1\n  memory: 1GiB\n  nics: [{name: eth0, network: br, ip: 10.0.0.5}]\n",
	       "t.yaml:15:40: error: nic 'eth0' of VM 'v1' has ip 10.0.0.5, but Network 'br' has no subnet "
	       "NovaCron manages (ip needs a nat or isolated network with a subnet)\n");
	EXPECT(BASE DOC("VM", "v1") "spec:\n  template: small\n  nics: [{name: eth0, network: lan, ip: 10.0.0.300}]\n",
	       "t.yaml:32:41: error: invalid ip '10.0.0.300': expected an IPv4 address such as 192.168.122.10\n");
}
END_TEST

START_TEST(test_quiet_mistakes)
{
	EXPECT(BASE DOC("Template", "t") "spec:\n  vcpus: 1\n  memory: 1GiB\n"
	       "  nics: [{name: eth0, network: lan, mac: '52:54:00:00:00:01'}]\n"
	       DOC("VM", "v1") "spec: {template: t}\n" DOC("VM", "v2") "spec: {template: t}\n",
	       "t.yaml:44:9: error: VM 'v2' uses MAC address 52:54:00:00:00:01, as VM 'v1' does\n");
	/* volumes are named VM-DISK: VM a's disk b-root and VM a-b's disk root are one volume */
	EXPECT(BASE DOC("VM", "a") "spec: {template: small, disks: [{name: b-root, pool: local, size: 1GiB}]}\n"
	       DOC("VM", "a-b") "spec: {template: small, disks: [{name: root, pool: local, size: 1GiB}]}\n",
	       "t.yaml:36:40: error: disk 'root' of VM 'a-b' is volume a-b-root of StoragePool 'local', as disk 'b-root' "
	       "of VM 'a' is: two VMs would write one disk; rename a VM or a disk\n");
	EXPECT(BASE DOC("StoragePool", "ceph") "spec: {type: rbd, rbd: {pool: vms}}\n"
	       DOC("StoragePool", "ceph2") "spec: {type: rbd, rbd: {pool: vms}}\n"
	       DOC("StoragePool", "other") "spec: {type: rbd, rbd: {pool: other}}\n"
	       DOC("VM", "web-1") "spec: {template: small, disks: [{name: root, pool: ceph, size: 1GiB}]}\n"
	       DOC("VM", "web") "spec: {template: small, disks: [{name: 1-root, pool: ceph2, size: 1GiB}]}\n"
	       DOC("VM", "x") "spec: {template: small, disks: [{name: 1-root, pool: other, size: 1GiB}]}\n"
	       DOC("VM", "x-1") "spec: {template: small, disks: [{name: root, pool: ceph, size: 1GiB}]}\n",
	       "t.yaml:48:40: error: disk 'root' of VM 'web-1' is volume web-1-root of StoragePool 'ceph', as disk "
	       "'1-root' of VM 'web' is: two VMs would write one disk; rename a VM or a disk\n");
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: '0 0 31 2 *'\n  vmSelector: {}\n"
	       "  target: {type: dir, path: /b}\n",
	       "t.yaml:7:13: error: schedule '0 0 31 2 *' never fires: no month it names has the days it names\n");
	EXPECT(DOC("BackupSchedule", "b") "spec:\n  schedule: '@daily'\n  vms: []\n"
	       "  target: {type: dir, path: /b}\n",
	       "t.yaml:8:8: error: BackupSchedule selects no VM: 'vms' is empty and there is no 'vmSelector'\n");
	EXPECT(BASE DOC("VM", "v") "spec: {template: small}\n" DOC("BackupSchedule", "b")
	       "spec:\n  schedule: '@daily'\n  vms: [v, v]\n  target: {type: dir, path: /b}\n",
	       "t.yaml:38:12: error: VM 'v' is listed twice in 'vms'\n");
	EXPECT(BASE DOC("VM", "v") "spec: {template: small, machine: ''}\n",
	       "t.yaml:30:34: error: 'machine' must not be empty\n");
	EXPECT(DOC("Host", "h") "spec: {uri: 'qemu:///system', overcommit: {cpu: 0x2}}\n",
	       "t.yaml:6:49: error: expected a number for 'cpu', found a string '0x2'\n");
	EXPECT(DOC("Network", "n") "spec: {type: nat, subnet: 10.0.0.7/24}\n",
	       "t.yaml:6:27: error: invalid subnet '10.0.0.7/24': host bits are set: give the first "
	       "address of the range, e.g. 192.168.122.0/24\n");
	EXPECT(DOC("Host", "n") "  labels: {a..b/rack: r1}\nspec: {uri: 'sim:///n'}\n",
	       "t.yaml:6:12: error: invalid label key 'a..b/rack': the prefix before '/' must be a "
	       "DNS subdomain (lower-case letters, digits, '-' and '.'; at most 253)\n");
}
END_TEST

START_TEST(test_dropped_list_item_leaves_nothing)
{
	/* found by the fuzzer: a dropped item's values leaked into the next one */
	struct nc_diags d;
	struct nc_spec *spec = load(DOC("VM", "vd") "spec:\n  vcpus: 1\n  memory: 1GiB\n  disks:\n"
				    "    - {name: root, size: 1GiB}\n    - {name: root, pool: bogus, boot: true}\n"
				    "    - {pool: other}\n    - {name: data, size: 2GiB}\n", &d);
	const struct nc_vm *vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, "vd");
	const struct nc_disk *disks = vm->spec.m.disks.v;

	ck_assert_uint_eq(d.errors, 2);
	ck_assert_str_eq(d.v[0].msg, "duplicate disk name 'root' (first at line 10, column 14)");
	ck_assert_str_eq(d.v[1].msg, "missing required key 'name' in disk");
	ck_assert_uint_eq(vm->spec.m.disks.n, 2);
	ck_assert_str_eq(disks[1].name.v, "data");
	ck_assert(!NC_IS_SET(disks[1].pool));
	ck_assert(!disks[1].boot.v);
	nc_diags_release(&d);
	nc_spec_free(spec);
}
END_TEST

START_TEST(test_alias_amplification_bounded)
{
	/* found by the fuzzer: aliases in list items multiplied the work */
	char *path = nc_xasprintf("%s/test/fuzz/corpus/regress-alias-amplification.yaml", NC_SOURCE_DIR);
	const char *paths[] = { path };
	struct nc_diags d;
	struct nc_spec *spec = NULL;

	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load(&spec, paths, 1, NULL, &d), -1);
	ck_assert_uint_lt(d.errors, 200000);
	ck_assert_uint_lt(spec->arena.total, 64u << 20);
	nc_diags_release(&d);
	nc_spec_free(spec);
	free(path);
}
END_TEST

/* ---- byte budgets for aliases (spec/yaml.c): the work counted stays bounded ---- */

/* Parses yaml with the given budgets (0: defaults); its first diagnostic and the work counted. */
static int parse_counted(const char *yaml, size_t len, size_t max_alias, size_t max_expanded,
			 struct nc_ystats *st, char **first)
{
	struct nc_arena arena = { NULL, 0, 0 };
	struct nc_ylimits lim = { .max_alias_bytes = max_alias, .max_expanded_bytes = max_expanded,
				  .stats = st };
	struct nc_ydoc *docs = NULL;
	struct nc_diags d;
	struct nc_buf b = NC_BUF_INIT;
	size_t ndocs = 0;
	int rc;

	nc_diags_init(&d);
	rc = nc_yaml_parse(&arena, "t.yaml", yaml, len, &lim, &docs, &ndocs, &d);
	nc_diags_format_text(&d, &b, 0);
	*first = nc_buf_detach(&b, NULL);
	nc_diags_release(&d);
	nc_arena_release(&arena);
	return rc;
}

START_TEST(test_alias_bytes_bounded)
{
	/* many aliases of a large scalar: each counts its full size */
	struct nc_buf b = NC_BUF_INIT;
	struct nc_ystats st;
	char *got;
	int i;

	nc_buf_adds(&b, "k0: &a \"");
	for (i = 0; i < 100 * 1024; i++)
		nc_buf_addc(&b, 'x');
	nc_buf_adds(&b, "\"\n");
	for (i = 1; i <= 100000; i++)
		nc_buf_addf(&b, "k%d: *a\n", i);
	ck_assert_int_eq(parse_counted(b.buf, b.len, 1 << 20, 0, &st, &got), -1);
	/* refused at the 11th alias (10 x 100 KiB fit in 1 MiB), at its position */
	ck_assert_str_eq(got, "t.yaml:12:6: error: aliases expand to more than 1.0 MiB in this file "
			 "(the alias budget); '*a' alone expands to 100.0 KiB\n");
	ck_assert_uint_le(st.nodes, 2 * 12 + 1);
	ck_assert_uint_le(st.alias_bytes, (1 << 20) + 100 * 1024 + NC_YNODE_COST);
	free(got);

	/* the same with the defaults, through the loader: a file:line:col error, nothing converted */
	got = diags_of_len(b.buf, b.len);
	ck_assert_msg(strstr(got, "t.yaml:") == got && strstr(got, ": error: aliases expand to more "
		      "than 16.0 MiB in this file (the alias budget); '*a' alone expands to 100.0 KiB\n"),
		      "%s", got);
	free(got);
	nc_buf_release(&b);
}
END_TEST

START_TEST(test_alias_fanout_bounded)
{
	/* billion laughs: nested fan-out, each level ten aliases of the one before */
	struct nc_buf b = NC_BUF_INIT;
	struct nc_ystats st;
	char *got;
	int i, j;

	nc_buf_adds(&b, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 40; i++) {
		nc_buf_addf(&b, "l%d: &l%d [", i, i);
		for (j = 0; j < 10; j++)
			nc_buf_addf(&b, "%s*l%d", j ? ", " : "", i - 1);
		nc_buf_adds(&b, "]\n");
	}
	ck_assert_int_eq(parse_counted(b.buf, b.len, 0, 0, &st, &got), -1);
	ck_assert_msg(strstr(got, "error: aliases expand to more than 16.0 MiB in this file (the "
			      "alias budget); '*l5' alone expands to ") != NULL, "%s", got);
	ck_assert_uint_lt(st.nodes, 1000);
	ck_assert_uint_le(st.expanded_bytes, (size_t)64 << 20);
	free(got);
	nc_buf_release(&b);
}
END_TEST

START_TEST(test_expanded_size_bounded)
{
	/* the total budget: raw content counts too, aliases on top */
	struct nc_buf b = NC_BUF_INIT;
	struct nc_ystats st;
	char *got;
	int i;

	nc_buf_adds(&b, "a: &a [");
	for (i = 0; i < 1000; i++)
		nc_buf_addf(&b, "%sitem-%04d", i ? ", " : "", i);
	nc_buf_adds(&b, "]\nb: [*a, *a, *a, *a, *a, *a, *a, *a]\n");
	ck_assert_int_eq(parse_counted(b.buf, b.len, 0, 64 * 1024, &st, &got), -1);
	ck_assert_msg(strstr(got, "t.yaml:2:") == got &&
		      strstr(got, "error: file too large once aliases are expanded: more than 64.0 KiB\n"),
		      "%s", got);
	ck_assert_uint_le(st.expanded_bytes, 64 * 1024 + 1001 * (NC_YNODE_COST + 9));
	free(got);

	/* within the budgets: parsed, and the expanded size is what was counted */
	ck_assert_int_eq(parse_counted(b.buf, b.len, 0, 0, &st, &got), 0);
	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(st.alias_bytes, 8 * (NC_YNODE_COST + 1000 * (NC_YNODE_COST + 9)));
	free(got);
	nc_buf_release(&b);
}
END_TEST

START_TEST(test_alias_of_max_scalar_bounded)
{
	/* a scalar as large as the budget: its first alias is refused, whatever follows */
	size_t n = (16u << 20) + 1, i;
	struct nc_buf b = NC_BUF_INIT;
	char *got;

	nc_buf_adds(&b, "apiVersion: novacron.io/v1\nkind: Network\nmetadata:\n  name: n\n  annotations:\n"
		    "    a: &a ");
	nc_buf_grow(&b, n + 64);
	for (i = 0; i < n; i++)
		nc_buf_addc(&b, 'x');
	nc_buf_adds(&b, "\n");
	for (i = 0; i < 1000; i++)
		nc_buf_addf(&b, "    b%zu: *a\n", i);
	got = diags_of_len(b.buf, b.len);
	ck_assert_str_eq(got, "t.yaml:7:9: error: aliases expand to more than 16.0 MiB in this file "
			 "(the alias budget); '*a' alone expands to 16.0 MiB\n");
	free(got);
	nc_buf_release(&b);
}
END_TEST

/* ---- fields accepted but not acted on yet (spec/noop.c, docs/spec.md) ---- */

START_TEST(test_noop_fields_warn)
{
	/* one case per entry of nc_noop_fields: the document sets the field on line 6 */
	static const struct {
		enum nc_kind kind;
		const char *path;
		const char *yaml;
		const char *want;
		const char *without;   /* the same object without the field (NULL: line 6 taken out) */
	} cases[] = {
		{ NC_KIND_TEMPLATE, "metadata.labels",
		  DOC("Template", "t") "  labels: {tier: web}\nspec:\n  vcpus: 1\n",
		  "t.yaml:6:11: warning: Template 't': metadata.labels is accepted but not acted on yet: "
		  "a Template's own labels are not given to its VMs and nothing selects templates "
		  "(spec.labels are the labels its VMs carry)\n", NULL },
		{ NC_KIND_PLACEMENT_POLICY, "metadata.labels",
		  DOC("PlacementPolicy", "p") "  labels: {a: b}\nspec:\n  vmSelector: {matchLabels: {a: b}}\n",
		  "t.yaml:6:11: warning: PlacementPolicy 'p': metadata.labels is accepted but not acted on "
		  "yet: nothing selects placement policies by label\n", NULL },
		{ NC_KIND_BACKUP_SCHEDULE, "metadata.labels",
		  DOC("BackupSchedule", "b") "  labels: {a: b}\nspec:\n  schedule: '@daily'\n"
		  "  vmSelector: {matchLabels: {a: b}}\n  target: {type: dir, path: /srv/b}\n",
		  "t.yaml:6:11: warning: BackupSchedule 'b': metadata.labels is accepted but not acted on yet: "
		  "nothing selects backup schedules by label\n", NULL },
		{ NC_KIND_NETWORK, "metadata.labels",
		  DOC("Network", "n") "  labels: {a: b}\nspec: {type: bridge, bridge: br0}\n",
		  "t.yaml:6:11: warning: Network 'n': metadata.labels is accepted but not acted on yet: "
		  "nothing selects networks by label\n", NULL },
		{ NC_KIND_ALERT_RULE, "metadata.labels",
		  DOC("AlertRule", "a") "  labels: {a: b}\nspec:\n  target: host\n  metric: up\n"
		  "  threshold: {op: \"<\", value: 1}\n",
		  "t.yaml:6:11: warning: AlertRule 'a': metadata.labels is accepted but not acted on yet: "
		  "nothing selects alert rules by label and they are not copied onto alerts\n", NULL },
		{ NC_KIND_TENANT, "metadata.labels",
		  DOC("Tenant", "t") "  labels: {a: b}\nspec: {paths: [teams/t]}\n",
		  "t.yaml:6:11: warning: Tenant 't': metadata.labels is accepted but not acted on yet: "
		  "nothing selects tenants by label\n", NULL },
		{ NC_KIND_CLUSTER, "metadata.labels",
		  DOC("Cluster", "c") "  labels: {a: b}\nspec: {paths: [east]}\n",
		  "t.yaml:6:11: warning: Cluster 'c': metadata.labels is accepted but not acted on yet: "
		  "nothing selects clusters by label\n", NULL },
		{ NC_KIND_TIER_POLICY, "metadata.labels",
		  DOC("StorageTierPolicy", "s") "  labels: {a: b}\nspec:\n  vmSelector: {}\n  rules: [{tier: cold}]\n"
		  "---\napiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: p}\n"
		  "spec: {type: dir, path: /srv/p, tier: cold}\n",
		  "t.yaml:6:11: warning: StorageTierPolicy 's': metadata.labels is accepted but not acted on yet: "
		  "nothing selects storage tier policies by label\n", NULL },
	};
	size_t i, k;

	/* the table above covers every listed field, and nothing else is listed */
	ck_assert_uint_eq(NC_ARRAY_SIZE(cases), nc_noop_nfields);
	for (k = 0; k < nc_noop_nfields; k++) {
		for (i = 0; i < NC_ARRAY_SIZE(cases); i++)
			if (cases[i].kind == nc_noop_fields[k].kind &&
			    strcmp(cases[i].path, nc_noop_fields[k].path) == 0)
				break;
		ck_assert_msg(i < NC_ARRAY_SIZE(cases), "no test case for %s %s",
			      nc_kind_name(nc_noop_fields[k].kind), nc_noop_fields[k].path);
	}
	for (i = 0; i < NC_ARRAY_SIZE(cases); i++) {
		char *got = diags_of(cases[i].yaml);
		char *without = nc_xstrdup(cases[i].yaml);

		ck_assert_msg(strcmp(got, cases[i].want) == 0, "%s %s:\n got: %s\nwant: %s",
			      nc_kind_name(cases[i].kind), cases[i].path, got, cases[i].want);
		free(got);
		/* the same object without the field: no warning at all */
		if (cases[i].without) {
			got = diags_of(cases[i].without);
			ck_assert_msg(strcmp(got, "") == 0, "%s without %s: %s", nc_kind_name(cases[i].kind),
				      cases[i].path, got);
			free(got);
		} else {
			char *l6 = without, *end;
			int line;

			for (line = 1; line < 6; line++)
				l6 = strchr(l6, '\n') + 1;
			if (cases[i].kind == NC_KIND_VM) {   /* "spec:\n  ha:\n    policy: restart\n" */
				l6 = strchr(l6, '\n') + 1;
				end = strstr(l6, "  vcpus");
			} else {
				end = strchr(l6, '\n') + 1;
			}
			memmove(l6, end, strlen(end) + 1);
			got = diags_of(without);
			ck_assert_msg(strcmp(got, "") == 0, "%s without %s: %s", nc_kind_name(cases[i].kind),
				      cases[i].path, got);
			free(got);
		}
		free(without);
	}
}
END_TEST

Suite *nc_suite_spec(void)
{
	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("errors");
	TCase *tm = tcase_create("model");
	TCase *th = tcase_create("hostile");

	tcase_add_test(tc, test_clean);
	tcase_add_test(tc, test_noop_fields_warn);
	tcase_add_test(tc, test_yaml_syntax);
	tcase_add_test(tc, test_yaml_duplicate_key);
	tcase_add_test(tc, test_not_a_mapping);
	tcase_add_test(tc, test_unknown_kind);
	tcase_add_test(tc, test_unknown_api_version);
	tcase_add_test(tc, test_unknown_key_suggestion);
	tcase_add_test(tc, test_unknown_key_list);
	tcase_add_test(tc, test_missing_required);
	tcase_add_test(tc, test_image_rules);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_size_errors);
	tcase_add_test(tc, test_impossible_values);
	tcase_add_test(tc, test_missing_reference);
	tcase_add_test(tc, test_inheritance_cycle);
	tcase_add_test(tc, test_duplicate_names);
	tcase_add_test(tc, test_duplicate_list_names);
	tcase_add_test(tc, test_duplicate_uri);
	tcase_add_test(tc, test_host_fence_names);
	tcase_add_test(tc, test_invalid_names);
	tcase_add_test(tc, test_invalid_labels);
	tcase_add_test(tc, test_invalid_selectors);
	tcase_add_test(tc, test_invalid_cron);
	tcase_add_test(tc, test_cross_field_rules);
	tcase_add_test(tc, test_injection_names_quoted);
	tcase_add_test(tc, test_host_uri_allow_list);
	tcase_add_test(tc, test_no_follow_on_errors);
	tcase_add_test(tc, test_quiet_mistakes);
	tcase_add_test(tc, test_network_rules);
	tcase_add_test(tc, test_network_special_ranges);
	tcase_add_test(tc, test_control_characters_never_printed);
	suite_add_tcase(s, tc);

	tcase_add_test(tm, test_size_parse);
	tcase_add_test(tm, test_selector_matches);
	tcase_add_test(tm, test_valid_cron_parsed);
	tcase_add_test(tm, test_inheritance_merge);
	tcase_add_test(tm, test_directory_walk);
	tcase_add_test(tm, test_write_file_atomic);
	suite_add_tcase(s, tm);

	tcase_add_test(th, test_deep_nesting);
	tcase_add_test(th, test_billion_laughs);
	tcase_add_test(th, test_alias_bomb_in_schema_path);
	tcase_add_test(th, test_binary_garbage);
	tcase_add_test(th, test_invalid_utf8);
	tcase_add_test(th, test_nul_byte);
	tcase_add_test(th, test_huge_file);
	tcase_add_test(th, test_many_nodes_bounded);
	tcase_add_test(th, test_dropped_list_item_leaves_nothing);
	tcase_add_test(th, test_alias_amplification_bounded);
	tcase_add_test(th, test_alias_bytes_bounded);
	tcase_add_test(th, test_alias_fanout_bounded);
	tcase_add_test(th, test_expanded_size_bounded);
	tcase_add_test(th, test_alias_of_max_scalar_bounded);
	tcase_set_timeout(th, 60);
	suite_add_tcase(s, th);
	return s;
}
