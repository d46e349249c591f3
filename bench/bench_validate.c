/*
 * bench_validate.c - how long does loading a large cluster spec take, and how
 * much of that is libyaml's own parsing?
 *
 * usage:
 *   nc-bench-validate [--runs N] DIR
 *   nc-bench-validate --generate DIR [--runs N] [DIR]
 *
 * --generate DIR writes the benchmark spec into DIR (created if missing;
 * files of the same name are overwritten): 10,000 VMs in 100 multi-document
 * files of 100, 500 Hosts in 5 zones, 10 Templates inheriting up to three
 * levels deep, StoragePools, Networks, PlacementPolicies and
 * BackupSchedules, all labelled.  The output is deterministic (fixed seed)
 * and valid under `novacron validate`.  Without a benchmark DIR argument the
 * program stops there.
 *
 * Benchmarking DIR measures two things, each in its own forked child process
 * per run so that one's memory cannot show in the other's figures:
 *
 *   bare   list the *.yaml / *.yml files under DIR as the loader does, read
 *          each into memory (nc_read_file, as the loader does) and pull every
 *          event out of libyaml with yaml_parser_parse(); nothing is kept.
 *          This is the floor: what any libyaml-based loader must pay.
 *   load   nc_spec_load(DIR): the same reading and parsing, plus the node
 *          tree, schema conversion, template inheritance and validation.
 *          nc_spec_free() runs after the clock stops.
 *
 * After one untimed warm-up run of each (which also warms the page cache),
 * the two alternate for N runs (default 5).  For each the table shows the
 * best and median wall time (CLOCK_MONOTONIC) and CPU time
 * (CLOCK_PROCESS_CPUTIME_ID, user + system) of the measured window, and the
 * highest peak RSS over the runs (ru_maxrss of that child from wait4();
 * getrusage(RUSAGE_CHILDREN) would give the maximum over every child waited
 * for so far, mixing the two).  A child's peak RSS includes what it shares
 * with the parent at fork(), so the parent does no work of its own (even
 * --generate runs in a child) and an idle child's peak RSS is printed as the
 * baseline.  The last row gives load / bare; two lines follow with the
 * window's system time and minor page faults (getrusage deltas), which show
 * how much of the difference is the kernel handing out fresh memory.
 *
 * Exit status 1 when a run fails, the load reports any error, or it does not
 * hold exactly 10,000 VMs; 0 otherwise.  See bench/README.md and
 * bench/run.sh.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "../spec/model.h"

#define NC_BENCH_FILES 100
#define NC_BENCH_VMS_PER_FILE 100
#define NC_BENCH_VMS (NC_BENCH_FILES * NC_BENCH_VMS_PER_FILE)
#define NC_BENCH_ZONES 5
#define NC_BENCH_RACKS 5            /* per zone */
#define NC_BENCH_HOSTS_PER_RACK 20
#define NC_BENCH_HOSTS (NC_BENCH_ZONES * NC_BENCH_RACKS * NC_BENCH_HOSTS_PER_RACK)
#define NC_BENCH_MAX_FILE (32u * 1024 * 1024)   /* the loader's default limit */
#define NC_BENCH_MAX_RUNS 1000

/* ------------------------------------------------------------------ */
/* the generator                                                      */
/* ------------------------------------------------------------------ */

struct rng {
	uint64_t s;
};

/* xorshift64*: a fixed seed gives the same spec on every machine */
static uint32_t rnd(struct rng *r, uint32_t n)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 2685821657736338717ULL) >> 32) % n;
}

static const char *const zones[NC_BENCH_ZONES] = { "fra1", "fra2", "ams1", "ams2", "lon1" };

static const struct app {
	const char *name;
	const char *team;
} apps[NC_BENCH_FILES / 5] = {
	{ "shop", "storefront" }, { "checkout", "payments" }, { "billing", "payments" },
	{ "search", "discovery" }, { "catalog", "discovery" }, { "auth", "identity" },
	{ "profile", "identity" }, { "notify", "messaging" }, { "mail", "messaging" },
	{ "chat", "messaging" }, { "media", "content" }, { "cms", "content" },
	{ "analytics", "data" }, { "etl", "data" }, { "reports", "data" },
	{ "ledger", "finance" }, { "fraud", "risk" }, { "ml", "research" },
	{ "gateway", "platform" }, { "metrics", "platform" },
};

enum { ROLE_WEB, ROLE_API, ROLE_WORKER, ROLE_CACHE, ROLE_DB, ROLE_GPU, ROLE__COUNT };

static const struct role {
	const char *name;       /* also the Template's name */
	const char *policy;     /* its PlacementPolicy */
	const char *tier;
	unsigned weight;        /* percent of the VMs */
} roles[ROLE__COUNT] = {
	[ROLE_WEB] = { "web", "web-spread", "frontend", 30 },
	[ROLE_API] = { "api", "api-spread", "backend", 25 },
	[ROLE_WORKER] = { "worker", "worker-balanced", "batch", 20 },
	[ROLE_CACHE] = { "cache", "cache-pack", "data", 10 },
	[ROLE_DB] = { "db", "db-ha", "data", 10 },
	[ROLE_GPU] = { "gpu", "gpu-nodes", "compute", 5 },
};

static unsigned pick_role(struct rng *r)
{
	uint32_t x = rnd(r, 100);
	unsigned i;

	for (i = 0; i + 1 < ROLE__COUNT; i++) {
		if (x < roles[i].weight)
			return i;
		x -= roles[i].weight;
	}
	return i;
}

static void host_name(struct nc_buf *b, unsigned idx)
{
	unsigned per_zone = NC_BENCH_RACKS * NC_BENCH_HOSTS_PER_RACK;

	nc_buf_addf(b, "%s-r%02u-h%02u", zones[idx / per_zone],
		    idx % per_zone / NC_BENCH_HOSTS_PER_RACK + 1, idx % NC_BENCH_HOSTS_PER_RACK + 1);
}

/* VM i belongs to app i / 500, file i / 100; its role is roles_of[i] */
static void vm_name(struct nc_buf *b, const unsigned char *roles_of, unsigned i)
{
	nc_buf_addf(b, "%s-%s-%05u", apps[i / (NC_BENCH_VMS_PER_FILE * 5)].name,
		    roles[roles_of[i]].name, i);
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "nc-bench-validate: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_file(const char *dir, const char *rel, const struct nc_buf *b)
{
	char *path = nc_xasprintf("%s/%s", dir, rel);
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f || fwrite(b->buf, 1, b->len, f) != b->len) {
		fprintf(stderr, "nc-bench-validate: cannot write %s: %s\n", path, strerror(errno));
		ret = -1;
	}
	if (f && fclose(f) != 0 && ret == 0) {
		fprintf(stderr, "nc-bench-validate: cannot write %s: %s\n", path, strerror(errno));
		ret = -1;
	}
	free(path);
	return ret;
}

static void doc_head(struct nc_buf *b, const char *kind)
{
	nc_buf_addf(b, "---\napiVersion: novacron.io/v1\nkind: %s\nmetadata:\n", kind);
}

static int gen_hosts(const char *dir)
{
	struct nc_buf b = NC_BUF_INIT, name = NC_BUF_INIT;
	unsigned z, i, per_zone = NC_BENCH_RACKS * NC_BENCH_HOSTS_PER_RACK;
	int ret = 0;

	for (z = 0; z < NC_BENCH_ZONES && ret == 0; z++) {
		char rel[64];

		nc_buf_reset(&b);
		nc_buf_addf(&b, "# Hosts of zone %s: %u racks of %u hypervisors.\n", zones[z],
			    NC_BENCH_RACKS, NC_BENCH_HOSTS_PER_RACK);
		for (i = z * per_zone; i < (z + 1) * per_zone; i++) {
			unsigned slot = i % NC_BENCH_HOSTS_PER_RACK;
			unsigned rack = i % per_zone / NC_BENCH_HOSTS_PER_RACK + 1;

			nc_buf_reset(&name);
			host_name(&name, i);
			doc_head(&b, "Host");
			nc_buf_addf(&b, "  name: %s\n  labels:\n    zone: %s\n    rack: %s-r%02u\n",
				    name.buf, zones[z], zones[z], rack);
			nc_buf_addf(&b, "    cpu: %s\n    storage: %s\n    gpu: \"%s\"\n    env: %s\n",
				    (slot + rack) % 3 ? "amd-epyc" : "intel-xeon",
				    slot < 8 ? "nvme" : slot < 16 ? "ssd" : "hdd",
				    slot >= 18 ? "true" : "false",
				    z == NC_BENCH_ZONES - 1 ? "staging" : "prod");
			nc_buf_addf(&b, "  annotations:\n    novacron.io/serial: \"SN-%06u\"\n"
				    "    novacron.io/purchased: \"20%02u-%02u-01\"\n",
				    100000 + i * 7, 21 + i % 4, 1 + i % 12);
			nc_buf_addf(&b, "spec:\n  uri: qemu+ssh://root@%s.dc.example.net/system\n", name.buf);
			nc_buf_addf(&b, "  capacity:\n    vcpus: %u\n    memory: %s\n    disk: 7680GiB\n",
				    slot >= 18 ? 128 : 64, slot >= 18 ? "1TiB" : "512GiB");
			if (i % 3 == 0)
				nc_buf_adds(&b, "  overcommit:\n    cpu: 4.0\n    memory: 1.0\n    disk: 2.0\n");
			if (i % 97 == 0)
				nc_buf_adds(&b, "  maintenance: true   # firmware upgrade\n");
		}
		snprintf(rel, sizeof(rel), "hosts/%s.yaml", zones[z]);
		ret = write_file(dir, rel, &b);
	}
	nc_buf_release(&b);
	nc_buf_release(&name);
	return ret;
}

static int gen_infra(const char *dir)
{
	struct nc_buf b = NC_BUF_INIT;
	unsigned z;
	int ret;

	nc_buf_adds(&b, "# Storage: a local pool on every host, SSD and Ceph pools per zone.\n");
	doc_head(&b, "StoragePool");
	nc_buf_adds(&b, "  name: local\n  labels:\n    tier: standard\n    media: mixed\n"
		    "spec:\n  type: dir\n  path: /var/lib/novacron/pools/local\n");
	for (z = 0; z < NC_BENCH_ZONES; z++) {
		doc_head(&b, "StoragePool");
		nc_buf_addf(&b, "  name: ssd-%s\n  labels:\n    tier: fast\n    zone: %s\n"
			    "spec:\n  type: dir\n  path: /srv/pools/ssd\n"
			    "  hostSelector:\n    matchLabels:\n      zone: %s\n"
			    "    matchExpressions:\n      - key: storage\n        operator: In\n"
			    "        values: [ssd, nvme]\n", zones[z], zones[z], zones[z]);
		doc_head(&b, "StoragePool");
		nc_buf_addf(&b, "  name: ceph-%s\n  labels:\n    tier: replicated\n    zone: %s\n"
			    "  annotations:\n    ceph.example.net/cluster: \"ceph-%s\"\n"
			    "spec:\n  type: rbd\n  rbd:\n    pool: vms-%s\n"
			    "    cephConf: /etc/ceph/%s.conf\n    user: novacron\n"
			    "  hostSelector:\n    matchLabels:\n      zone: %s\n",
			    zones[z], zones[z], zones[z], zones[z], zones[z], zones[z]);
	}
	ret = write_file(dir, "infra/storage.yaml", &b);

	nc_buf_reset(&b);
	nc_buf_adds(&b, "# Networks: host bridges for production, NAT networks for dev and lab.\n");
	doc_head(&b, "Network");
	nc_buf_adds(&b, "  name: prod\n  labels:\n    env: prod\n    vlan: \"100\"\n"
		    "spec:\n  type: bridge\n  bridge: br-prod\n");
	doc_head(&b, "Network");
	nc_buf_adds(&b, "  name: mgmt\n  labels:\n    env: prod\n    vlan: \"10\"\n"
		    "spec:\n  type: bridge\n  bridge: br-mgmt\n");
	doc_head(&b, "Network");
	nc_buf_adds(&b, "  name: storage\n  labels:\n    env: prod\n    vlan: \"200\"\n    mtu: \"9000\"\n"
		    "spec:\n  type: bridge\n  bridge: br-stor\n");
	doc_head(&b, "Network");
	nc_buf_adds(&b, "  name: dev\n  labels:\n    env: dev\n"
		    "spec:\n  type: nat\n  subnet: 10.20.0.0/16\n  dhcp: true\n");
	doc_head(&b, "Network");
	nc_buf_adds(&b, "  name: lab\n  labels:\n    env: lab\n"
		    "spec:\n  type: nat\n  subnet: fd00:20::/64\n  dhcp: false\n");
	if (ret == 0)
		ret = write_file(dir, "infra/networks.yaml", &b);
	nc_buf_release(&b);
	return ret;
}

static int gen_templates(const char *dir)
{
	struct nc_buf b = NC_BUF_INIT;
	int ret;

	nc_buf_adds(&b, "# Base templates: every VM is a Debian 12 cloud image on q35.\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b,
		    "  name: base\n  labels:\n    owner: platform\n"
		    "spec:\n  vcpus: 1\n  memory: 1GiB\n  machine: q35\n"
		    "  disks:\n    - name: root\n      pool: local\n      size: 20GiB\n"
		    "      image: debian-12-genericcloud.qcow2\n      bus: virtio\n      boot: true\n"
		    "  nics:\n    - name: eth0\n      network: prod\n      model: virtio\n"
		    "  cloudInit:\n    userData: |\n      #cloud-config\n      package_update: true\n"
		    "      packages: [qemu-guest-agent, chrony]\n      runcmd:\n"
		    "        - [systemctl, enable, --now, qemu-guest-agent]\n"
		    "    networkConfig: |\n      version: 2\n      ethernets:\n"
		    "        eth0: {dhcp4: true}\n"
		    "  labels:\n    managed-by: novacron\n    os: debian-12\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: small\n  labels:\n    owner: platform\n"
		    "spec:\n  inherits: base\n  vcpus: 2\n  memory: 2GiB\n"
		    "  labels:\n    size: small\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: medium\n  labels:\n    owner: platform\n"
		    "spec:\n  inherits: base\n  vcpus: 4\n  memory: 8GiB\n"
		    "  disks:\n    - name: root\n      size: 40GiB\n"
		    "  labels:\n    size: medium\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: large\n  labels:\n    owner: platform\n"
		    "spec:\n  inherits: base\n  vcpus: 8\n  memory: 32GiB\n"
		    "  disks:\n    - name: root\n      size: 80GiB\n"
		    "  nics:\n    - name: eth1\n      network: storage\n"
		    "  labels:\n    size: large\n");
	ret = write_file(dir, "templates/base.yaml", &b);

	nc_buf_reset(&b);
	nc_buf_adds(&b, "# One template per role, on top of the size templates.\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: web\n  labels:\n    owner: platform\n"
		    "spec:\n  inherits: small\n"
		    "  nics:\n    - name: eth1\n      network: mgmt\n"
		    "  labels:\n    role: web\n    tier: frontend\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: api\n  labels:\n    owner: platform\n"
		    "spec:\n  inherits: medium\n  labels:\n    role: api\n    tier: backend\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: worker\n  labels:\n    owner: platform\n"
		    "spec:\n  inherits: small\n"
		    "  disks:\n    - name: scratch\n      pool: local\n      size: 50GiB\n"
		    "  labels:\n    role: worker\n    tier: batch\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: cache\n  labels:\n    owner: platform\n"
		    "spec:\n  inherits: medium\n  memory: 16GiB\n"
		    "  labels:\n    role: cache\n    tier: data\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: db\n  labels:\n    owner: dba\n"
		    "spec:\n  inherits: large\n"
		    "  disks:\n    - name: data\n      pool: local\n      size: 500GiB\n      bus: scsi\n"
		    "    - name: wal\n      pool: local\n      size: 50GiB\n      bus: scsi\n"
		    "  labels:\n    role: db\n    tier: data\n");
	doc_head(&b, "Template");
	nc_buf_adds(&b, "  name: gpu\n  labels:\n    owner: research\n"
		    "spec:\n  inherits: large\n  vcpus: 16\n  memory: 64GiB\n"
		    "  labels:\n    role: gpu\n    tier: compute\n    accelerator: nvidia-a100\n");
	if (ret == 0)
		ret = write_file(dir, "templates/roles.yaml", &b);
	nc_buf_release(&b);
	return ret;
}

static int gen_policies(const char *dir)
{
	struct nc_buf b = NC_BUF_INIT;
	int ret;

	nc_buf_adds(&b, "# Placement: one policy per role, plus staging packed together.\n");
	doc_head(&b, "PlacementPolicy");
	nc_buf_adds(&b, "  name: web-spread\n  labels:\n    owner: platform\n"
		    "spec:\n  vmSelector:\n    matchLabels:\n      role: web\n"
		    "  strategy: spread\n"
		    "  affinity:\n    - type: antiAffinity\n      mode: required\n      topologyKey: host\n"
		    "    - type: antiAffinity\n      mode: preferred\n      topologyKey: rack\n"
		    "      weight: 60\n      selector:\n        matchLabels:\n          role: web\n"
		    "  rebalance:\n    enabled: true\n    maxMovesPerPass: 5\n");
	doc_head(&b, "PlacementPolicy");
	nc_buf_adds(&b, "  name: api-spread\n  labels:\n    owner: platform\n"
		    "spec:\n  vmSelector:\n    matchExpressions:\n"
		    "      - key: role\n        operator: In\n        values: [api]\n"
		    "      - key: env\n        operator: In\n        values: [prod]\n"
		    "  strategy: balanced\n"
		    "  hostSelector:\n    matchExpressions:\n"
		    "      - key: storage\n        operator: In\n        values: [ssd, nvme]\n"
		    "  affinity:\n    - type: antiAffinity\n      mode: preferred\n"
		    "      topologyKey: zone\n      weight: 80\n");
	doc_head(&b, "PlacementPolicy");
	nc_buf_adds(&b, "  name: db-ha\n  labels:\n    owner: dba\n"
		    "spec:\n  vmSelector:\n    matchLabels:\n      role: db\n"
		    "  hostSelector:\n    matchLabels:\n      storage: nvme\n"
		    "  affinity:\n    - type: antiAffinity\n      mode: required\n      topologyKey: rack\n"
		    "  rebalance:\n    enabled: false\n");
	doc_head(&b, "PlacementPolicy");
	nc_buf_adds(&b, "  name: cache-pack\n  labels:\n    owner: platform\n"
		    "spec:\n  vmSelector:\n    matchLabels:\n      role: cache\n"
		    "  strategy: pack\n"
		    "  affinity:\n    - type: affinity\n      mode: preferred\n      topologyKey: host\n"
		    "      weight: 30\n      selector:\n        matchLabels:\n          role: api\n");
	doc_head(&b, "PlacementPolicy");
	nc_buf_adds(&b, "  name: worker-balanced\n  labels:\n    owner: data\n"
		    "spec:\n  vmSelector:\n    matchLabels:\n      role: worker\n"
		    "  strategy: balanced\n"
		    "  hostSelector:\n    matchExpressions:\n"
		    "      - key: gpu\n        operator: NotIn\n        values: [\"true\"]\n"
		    "  rebalance:\n    enabled: true\n    maxMovesPerPass: 20\n    threshold: 0.15\n");
	doc_head(&b, "PlacementPolicy");
	nc_buf_adds(&b, "  name: gpu-nodes\n  labels:\n    owner: research\n"
		    "spec:\n  vmSelector:\n    matchLabels:\n      role: gpu\n"
		    "  strategy: pack\n"
		    "  hostSelector:\n    matchLabels:\n      gpu: \"true\"\n");
	doc_head(&b, "PlacementPolicy");
	nc_buf_adds(&b, "  name: staging-pack\n  labels:\n    owner: platform\n"
		    "spec:\n  vmSelector:\n    matchLabels:\n      env: staging\n"
		    "  strategy: pack\n"
		    "  hostSelector:\n    matchLabels:\n      env: staging\n"
		    "    matchExpressions:\n      - key: storage\n        operator: Exists\n");
	ret = write_file(dir, "policies/placement.yaml", &b);
	nc_buf_release(&b);
	return ret;
}

static int gen_backups(const char *dir, const unsigned char *roles_of)
{
	struct nc_buf b = NC_BUF_INIT;
	unsigned i;
	int ret;

	nc_buf_adds(&b, "# Backups: nightly to disk, hourly databases to RADOS, weekly to S3.\n");
	doc_head(&b, "BackupSchedule");
	nc_buf_adds(&b, "  name: nightly\n  labels:\n    owner: platform\n"
		    "spec:\n  schedule: \"30 2 * * *\"        # 02:30 UTC\n"
		    "  vmSelector:\n    matchLabels:\n      backup: nightly\n"
		    "  target:\n    type: dir\n    path: /var/backups/novacron\n"
		    "  retention:\n    keepLast: 3\n    keepDaily: 7\n    keepWeekly: 4\n    keepMonthly: 6\n"
		    "  compression: zstd\n  compressionLevel: 3\n");
	doc_head(&b, "BackupSchedule");
	nc_buf_adds(&b, "  name: db-hourly\n  labels:\n    owner: dba\n"
		    "spec:\n  schedule: \"0 * * * *\"\n"
		    "  vmSelector:\n    matchLabels:\n      role: db\n"
		    "    matchExpressions:\n      - key: env\n        operator: In\n        values: [prod]\n"
		    "  target:\n    type: rados\n    pool: backups\n    cephConf: /etc/ceph/fra1.conf\n"
		    "  retention:\n    keepLast: 24\n    keepDaily: 7\n");
	doc_head(&b, "BackupSchedule");
	nc_buf_adds(&b, "  name: weekly-s3\n  labels:\n    owner: platform\n"
		    "spec:\n  schedule: \"@weekly\"\n"
		    "  vmSelector:\n    matchExpressions:\n"
		    "      - key: tier\n        operator: In\n        values: [data, backend]\n"
		    "  target:\n    type: s3\n    endpoint: https://s3.eu-central-1.example.net\n"
		    "    bucket: novacron-backups\n    region: eu-central-1\n"
		    "    credentialsFile: /etc/novacron/s3.credentials\n"
		    "  retention:\n    keepWeekly: 8\n    keepMonthly: 12\n"
		    "  encryption:\n    keyFile: /etc/novacron/backup.key\n");
	doc_head(&b, "BackupSchedule");
	nc_buf_adds(&b, "  name: critical\n  labels:\n    owner: sre\n"
		    "  annotations:\n    description: \"hand-picked VMs, every 4 hours on weekdays\"\n"
		    "spec:\n  schedule: \"15 */4 * * mon-fri\"\n  vms:\n");
	for (i = 0; i < NC_BENCH_VMS; i += 250) {
		nc_buf_adds(&b, "    - ");
		vm_name(&b, roles_of, i);
		nc_buf_addc(&b, '\n');
	}
	nc_buf_adds(&b, "  target:\n    type: swift\n    endpoint: https://swift.example.net/v1\n"
		    "    bucket: critical\n    credentialsFile: /etc/novacron/swift.credentials\n"
		    "  retention:\n    keepLast: 30\n  compression: none\n");
	doc_head(&b, "BackupSchedule");
	nc_buf_adds(&b, "  name: monthly-archive\n  labels:\n    owner: data\n"
		    "spec:\n  schedule: \"0 3 1 * *\"\n"
		    "  vmSelector:\n    matchLabels:\n      tier: data\n"
		    "  target:\n    type: dir\n    path: /srv/archive/novacron\n"
		    "  retention:\n    keepMonthly: 24\n  compressionLevel: 19\n");
	ret = write_file(dir, "backups/schedules.yaml", &b);
	nc_buf_release(&b);
	return ret;
}

static void gen_vm(struct nc_buf *b, struct rng *r, const unsigned char *roles_of, unsigned i)
{
	static const char *const memories[] = { "3GiB", "6GiB", "12GiB", "24GiB", "48GiB" };
	unsigned f = i / NC_BENCH_VMS_PER_FILE, role = roles_of[i], z = rnd(r, NC_BENCH_ZONES);
	const struct app *a = &apps[f / 5];
	const char *env = f % 5 == 4 ? "staging" : "prod";
	uint32_t p;
	bool logs, root;

	doc_head(b, "VM");
	nc_buf_adds(b, "  name: ");
	vm_name(b, roles_of, i);
	nc_buf_addf(b, "\n  labels:\n    app: %s\n    role: %s\n    env: %s\n    team: %s\n"
		    "    tier: %s\n    zone: %s\n    version: v%u.%u\n",
		    a->name, roles[role].name, env, a->team, roles[role].tier, zones[z],
		    1 + rnd(r, 3), rnd(r, 20));
	if (rnd(r, 2) == 0)
		nc_buf_adds(b, "    backup: nightly\n");
	if (rnd(r, 2) == 0)
		nc_buf_addf(b, "  annotations:\n    owner: \"%s@example.net\"\n    ticket: OPS-%u\n"
			    "    description: \"%s %s for %s, replica %u\"\n",
			    a->team, 1000 + rnd(r, 9000), a->name, roles[role].name, env, i % 100);
	nc_buf_addf(b, "spec:\n  template: %s\n", roles[role].name);
	if (rnd(r, 10) < 3)
		nc_buf_addf(b, "  vcpus: %u\n  memory: %s\n", 2u << rnd(r, 4),
			    memories[rnd(r, NC_ARRAY_SIZE(memories))]);
	root = rnd(r, 5) == 0;
	logs = rnd(r, 5) == 0;
	if (root || logs)
		nc_buf_adds(b, "  disks:\n");
	if (root)
		nc_buf_addf(b, "    - name: root\n      size: %uGiB\n", 30 + 10 * rnd(r, 18));
	if (logs)
		nc_buf_addf(b, "    - name: logs\n      pool: ceph-%s\n      size: 100GiB\n"
			    "      bus: scsi\n", zones[z]);
	if (rnd(r, 10) == 0) {
		nc_buf_addf(b, "  nics:\n    - name: eth0\n      mac: \"52:54:00:%02x:%02x:%02x\"\n",
			    (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
		if (rnd(r, 3) == 0)
			nc_buf_adds(b, "    - name: eth2\n      network: storage\n      model: e1000\n");
	}
	p = rnd(r, 100);
	if (p < 40) {
		nc_buf_addf(b, "  placement:\n    policy: %s\n",
			    env[0] == 's' ? "staging-pack" : roles[role].policy);
	} else if (p < 60) {
		nc_buf_addf(b, "  placement:\n    hostSelector:\n      matchLabels:\n        zone: %s\n",
			    zones[z]);
	} else if (p < 75) {
		nc_buf_addf(b, "  placement:\n    hostSelector:\n      matchExpressions:\n"
			    "        - key: zone\n          operator: In\n          values: [%s, %s]\n"
			    "        - key: storage\n          operator: NotIn\n          values: [hdd]\n",
			    zones[z], zones[(z + 1) % NC_BENCH_ZONES]);
	} else if (p < 77) {
		nc_buf_adds(b, "  placement:\n    host: ");
		host_name(b, rnd(r, NC_BENCH_HOSTS));
		nc_buf_addc(b, '\n');
	}
	if (role == ROLE_DB || rnd(r, 10) < 2)
		nc_buf_addf(b, "  ha:\n    policy: restart\n    priority: %u\n", rnd(r, 1001));
	if (rnd(r, 10) == 0)
		nc_buf_adds(b, "  backupSchedule: weekly-s3\n");
	if (rnd(r, 20) == 0)
		nc_buf_adds(b, "  state: stopped\n");
	if (role == ROLE_WORKER)
		nc_buf_adds(b, "  deletionPolicy: delete\n");
	if (role == ROLE_DB)
		nc_buf_adds(b, "  deletionProtection: true\n");
	if (rnd(r, 3) == 0)
		nc_buf_adds(b, "  allowRestart: true\n");
}

static int gen_vms(const char *dir, const unsigned char *roles_of)
{
	struct nc_buf b = NC_BUF_INIT;
	struct rng r = { 0x9e3779b97f4a7c15ULL };
	unsigned f, i;
	int ret = 0;

	for (f = 0; f < NC_BENCH_FILES && ret == 0; f++) {
		char rel[64];

		nc_buf_reset(&b);
		nc_buf_addf(&b, "# %s (team %s), %s, batch %u\n", apps[f / 5].name,
			    apps[f / 5].team, f % 5 == 4 ? "staging" : "production", f % 5 + 1);
		for (i = f * NC_BENCH_VMS_PER_FILE; i < (f + 1) * NC_BENCH_VMS_PER_FILE; i++)
			gen_vm(&b, &r, roles_of, i);
		snprintf(rel, sizeof(rel), "vms/%s-%u.yaml", apps[f / 5].name, f % 5 + 1);
		ret = write_file(dir, rel, &b);
	}
	nc_buf_release(&b);
	return ret;
}

static int generate(const char *dir)
{
	static const char *const subdirs[] = { "hosts", "infra", "templates", "policies",
					       "backups", "vms" };
	unsigned char *roles_of = nc_xmalloc(NC_BENCH_VMS);
	struct rng r = { 0x2545f4914f6cdd1dULL };
	size_t i;
	int ret = make_dir(dir);

	for (i = 0; i < NC_ARRAY_SIZE(subdirs) && ret == 0; i++) {
		char *p = nc_xasprintf("%s/%s", dir, subdirs[i]);

		ret = make_dir(p);
		free(p);
	}
	for (i = 0; i < NC_BENCH_VMS; i++)
		roles_of[i] = (unsigned char)pick_role(&r);
	if (ret == 0)
		ret = gen_hosts(dir);
	if (ret == 0)
		ret = gen_infra(dir);
	if (ret == 0)
		ret = gen_templates(dir);
	if (ret == 0)
		ret = gen_policies(dir);
	if (ret == 0)
		ret = gen_backups(dir, roles_of);
	if (ret == 0)
		ret = gen_vms(dir, roles_of);
	free(roles_of);
	return ret;
}

/* ------------------------------------------------------------------ */
/* the measurements (each runs in a child)                            */
/* ------------------------------------------------------------------ */

enum mode { MODE_IDLE, MODE_BARE, MODE_LOAD, MODE_GENERATE };

/* What a child sends back through its pipe. */
struct sample {
	int ok;
	uint64_t wall_ns, cpu_ns;                  /* the measured window */
	uint64_t sys_ns, minflt;                   /* the same window, from getrusage */
	uint64_t files, bytes, docs, events;       /* bare */
	uint64_t objs[NC_KIND__COUNT], errors;     /* load */
	long maxrss_kib;                           /* set by the parent, from wait4 */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Opens and closes a measured window: wall and CPU clocks, system time and
 * minor page faults (the kernel's share: mostly first touches of new memory). */
struct window {
	uint64_t wall, cpu, sys, minflt;
};

static void rusage_now(uint64_t *sys_ns, uint64_t *minflt)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*sys_ns = (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
	*minflt = (uint64_t)ru.ru_minflt;
}

static void window_open(struct window *w)
{
	rusage_now(&w->sys, &w->minflt);
	w->cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	w->wall = clock_ns(CLOCK_MONOTONIC);
}

static void window_close(const struct window *w, struct sample *s)
{
	uint64_t wall = clock_ns(CLOCK_MONOTONIC), cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);

	rusage_now(&s->sys_ns, &s->minflt);
	s->wall_ns = wall - w->wall;
	s->cpu_ns = cpu - w->cpu;
	s->sys_ns -= w->sys;
	s->minflt -= w->minflt;
}

struct file_list {
	char **v;
	size_t n, alloc;
};

static bool is_yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* The files nc_spec_load() would read: recursive, dot entries skipped. */
static int list_files(struct file_list *fl, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		fprintf(stderr, "nc-bench-validate: cannot open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while (ret == 0 && (de = readdir(d))) {
		struct stat st;
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = nc_xasprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			ret = list_files(fl, path);
			free(path);
			continue;
		}
		if (is_yaml_name(de->d_name) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (fl->n == fl->alloc) {
				fl->alloc = fl->alloc ? fl->alloc * 2 : 64;
				fl->v = nc_xreallocarray(fl->v, fl->alloc, sizeof(*fl->v));
			}
			fl->v[fl->n++] = path;
			continue;
		}
		free(path);
	}
	closedir(d);
	return ret;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_events(const char *path, const char *buf, size_t len, struct sample *s)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, ret = 0;

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			fprintf(stderr, "nc-bench-validate: %s:%zu: %s\n", path,
				parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "YAML error");
			ret = -1;
			break;
		}
		s->events++;
		if (ev.type == YAML_DOCUMENT_START_EVENT)
			s->docs++;
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

static void run_bare(const char *dir, struct sample *s)
{
	struct file_list fl = { NULL, 0, 0 };
	struct window w;
	size_t i;
	int ret;

	window_open(&w);
	ret = list_files(&fl, dir);

	if (fl.n > 1)
		qsort(fl.v, fl.n, sizeof(*fl.v), str_cmp);
	for (i = 0; i < fl.n; i++) {
		char *buf;
		size_t len;

		if (ret == 0 && nc_read_file(fl.v[i], NC_BENCH_MAX_FILE, &buf, &len) < 0) {
			fprintf(stderr, "nc-bench-validate: cannot read %s\n", fl.v[i]);
			ret = -1;
		} else if (ret == 0) {
			s->files++;
			s->bytes += len;
			ret = parse_events(fl.v[i], buf, len, s);
			free(buf);
		}
		free(fl.v[i]);
	}
	free(fl.v);
	window_close(&w, s);
	s->ok = ret == 0 && s->files > 0;
}

static void run_load(const char *dir, struct sample *s)
{
	const char *paths[1] = { dir };
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	struct window w;
	size_t k;

	nc_diags_init(&d);
	d.max_errors = 20;
	window_open(&w);
	nc_spec_load(&spec, paths, 1, NULL, &d);
	window_close(&w, s);

	s->errors = d.errors;
	s->files = spec->nfiles;
	s->docs = spec->ndocs;
	for (k = 0; k < NC_KIND__COUNT; k++)
		s->objs[k] = spec->nobjs[k];
	if (d.errors) {
		struct nc_buf b = NC_BUF_INIT;

		nc_diags_format_text(&d, &b, 0);
		fwrite(b.buf, 1, b.len, stderr);
		nc_buf_release(&b);
	}
	s->ok = d.errors == 0 && spec->nobjs[NC_KIND_VM] == NC_BENCH_VMS;
	nc_spec_free(spec);
	nc_diags_release(&d);
}

/*
 * Runs one measurement in a fresh child.  Returns 0 when it succeeded; *out
 * holds what the child reported either way (the counts explain a failure).
 */
static int run_child(struct sample *out, enum mode m, const char *dir)
{
	struct rusage ru;
	size_t got = 0;
	pid_t pid;
	int fds[2], status;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (pipe(fds) < 0) {
		perror("nc-bench-validate: pipe");
		return -1;
	}
	fflush(NULL);   /* nothing buffered may be written twice */
	pid = fork();
	if (pid < 0) {
		perror("nc-bench-validate: fork");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		struct sample s;
		const char *p = (const char *)&s;
		size_t left = sizeof(s);

		memset(&s, 0, sizeof(s));
		close(fds[0]);
		switch (m) {
		case MODE_IDLE:
			s.ok = 1;
			break;
		case MODE_BARE:
			run_bare(dir, &s);
			break;
		case MODE_LOAD:
			run_load(dir, &s);
			break;
		case MODE_GENERATE: {
			struct window w;

			window_open(&w);
			s.ok = generate(dir) == 0;
			window_close(&w, &s);
			break;
		}
		}
		fflush(NULL);
		while (left > 0) {
			n = write(fds[1], p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(1);
			p += n;
			left -= (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(*out)) {
		n = read(fds[0], (char *)out + got, sizeof(*out) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("nc-bench-validate: wait4");
			return -1;
		}
	}
	if (got != sizeof(*out) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "nc-bench-validate: child process failed\n");
		return -1;
	}
	out->maxrss_kib = ru.ru_maxrss;    /* this child's own peak, in KiB on Linux */
	return out->ok ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* figures                                                            */
/* ------------------------------------------------------------------ */

struct stats {
	double wall_best, wall_median, cpu_best, cpu_median;   /* ms */
	double sys_median, minflt_median;                      /* ms, faults */
	double rss;                                            /* MiB, highest */
};

static int u64_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

/* Sorts v; the smallest and the median value, divided by scale. */
static void best_median(uint64_t *v, size_t n, double scale, double *best, double *median)
{
	qsort(v, n, sizeof(*v), u64_cmp);
	*best = (double)v[0] / scale;
	*median = (n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2) / scale;
}

static void summarize(const struct sample *s, size_t n, struct stats *st)
{
	uint64_t *v = nc_xcalloc(n, sizeof(*v));
	double ignored;
	long rss = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = s[i].wall_ns;
	best_median(v, n, 1e6, &st->wall_best, &st->wall_median);
	for (i = 0; i < n; i++)
		v[i] = s[i].cpu_ns;
	best_median(v, n, 1e6, &st->cpu_best, &st->cpu_median);
	for (i = 0; i < n; i++)
		v[i] = s[i].sys_ns;
	best_median(v, n, 1e6, &ignored, &st->sys_median);
	for (i = 0; i < n; i++) {
		v[i] = s[i].minflt;
		if (s[i].maxrss_kib > rss)
			rss = s[i].maxrss_kib;
	}
	best_median(v, n, 1, &ignored, &st->minflt_median);
	st->rss = (double)rss / 1024.0;
	free(v);
}

/* 1234567 -> "1,234,567" */
static const char *grouped(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	size_t n, i, o = 0;

	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	n = strlen(tmp);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void print_row(const char *name, const struct stats *st)
{
	printf("  %-20s %9.1f ms %9.1f ms %9.1f ms %9.1f ms %8.1f MiB\n", name, st->wall_best,
	       st->wall_median, st->cpu_best, st->cpu_median, st->rss);
}

static void print_report(const char *dir, unsigned long runs, const struct sample *wb,
			 const struct sample *wl, const struct sample *idle,
			 const struct stats *sb, const struct stats *sl)
{
	char g1[32], g2[32], g3[32];
	size_t k;

	printf("nc-bench-validate: %s\n", dir);
	printf("  input: %s files, %s documents, %.1f MiB, %s YAML events\n",
	       grouped(wb->files, g1, sizeof(g1)), grouped(wb->docs, g2, sizeof(g2)),
	       (double)wb->bytes / 1048576.0, grouped(wb->events, g3, sizeof(g3)));
	printf("  model:");
	for (k = 0; k < NC_KIND__COUNT; k++)
		printf("%s %s %s", k ? "," : "", grouped(wl->objs[k], g1, sizeof(g1)),
		       wl->objs[k] == 1 ? nc_kind_singular((enum nc_kind)k)
					: nc_kind_plural((enum nc_kind)k));
	printf("; %llu errors\n", (unsigned long long)wl->errors);
	printf("  %lu run%s of each after a warm-up, one child process per run\n\n", runs,
	       runs == 1 ? "" : "s");
	printf("  %-20s %12s %12s %12s %12s %12s\n", "", "wall best", "wall median", "CPU best",
	       "CPU median", "peak RSS");
	print_row("bare libyaml parse", sb);
	print_row("nc_spec_load", sl);
	printf("  %-20s %11.2fx %11.2fx %11.2fx %11.2fx %11.2fx\n\n", "load / bare",
	       ratio(sl->wall_best, sb->wall_best), ratio(sl->wall_median, sb->wall_median),
	       ratio(sl->cpu_best, sb->cpu_best), ratio(sl->cpu_median, sb->cpu_median),
	       ratio(sl->rss, sb->rss));
	printf("  system time (median): bare %.1f ms, load %.1f ms; minor page faults: bare %s, load %s\n",
	       sb->sys_median, sl->sys_median, grouped((uint64_t)sb->minflt_median, g1, sizeof(g1)),
	       grouped((uint64_t)sl->minflt_median, g2, sizeof(g2)));
	printf("  load per VM (median wall): %.1f us; idle child peak RSS (in both rows): %.1f MiB\n",
	       sl->wall_median * 1000.0 / NC_BENCH_VMS, (double)idle->maxrss_kib / 1024.0);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: nc-bench-validate [--runs N] DIR\n"
		   "       nc-bench-validate --generate DIR [--runs N] [DIR]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "generate", required_argument, NULL, 'g' },
		{ "runs", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *gen_dir = NULL, *dir;
	struct sample *bare = NULL, *load = NULL, warm_bare, warm_load, idle, gen;
	struct stats sb, sl;
	unsigned long runs = 5, i;
	char *end;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "g:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			gen_dir = optarg;
			break;
		case 'n':
			errno = 0;
			runs = strtoul(optarg, &end, 10);
			if (*end || errno || runs < 1 || runs > NC_BENCH_MAX_RUNS) {
				fprintf(stderr, "nc-bench-validate: --runs must be 1 to %d\n",
					NC_BENCH_MAX_RUNS);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind > 1 || (argc - optind == 0 && !gen_dir)) {
		usage(stderr);
		return 1;
	}
	if (gen_dir) {
		if (run_child(&gen, MODE_GENERATE, gen_dir) < 0) {
			fprintf(stderr, "nc-bench-validate: generating into %s failed\n", gen_dir);
			return 1;
		}
		printf("generated %d VMs in %d files and %d hosts under %s (%.0f ms)\n",
		       NC_BENCH_VMS, NC_BENCH_FILES, NC_BENCH_HOSTS, gen_dir,
		       (double)gen.wall_ns / 1e6);
		if (optind == argc)
			return 0;
	}
	dir = argv[optind];

	/* warm-up: the page cache, and a first check that the data is as expected */
	if (run_child(&warm_bare, MODE_BARE, dir) < 0) {
		fprintf(stderr, "nc-bench-validate: the bare parse of %s failed\n", dir);
		goto out;
	}
	if (run_child(&warm_load, MODE_LOAD, dir) < 0) {
		fprintf(stderr, "nc-bench-validate: loading %s gave %llu error(s) and %llu VMs "
			"(want 0 and %d)\n", dir, (unsigned long long)warm_load.errors,
			(unsigned long long)warm_load.objs[NC_KIND_VM], NC_BENCH_VMS);
		goto out;
	}
	/* alternate, so that a slow phase of the machine hits both alike */
	bare = nc_xcalloc(runs, sizeof(*bare));
	load = nc_xcalloc(runs, sizeof(*load));
	for (i = 0; i < runs; i++) {
		if (run_child(&bare[i], MODE_BARE, dir) < 0 ||
		    run_child(&load[i], MODE_LOAD, dir) < 0) {
			fprintf(stderr, "nc-bench-validate: run %lu failed (load: %llu errors, "
				"%llu VMs)\n", i + 1, (unsigned long long)load[i].errors,
				(unsigned long long)load[i].objs[NC_KIND_VM]);
			goto out;
		}
	}
	if (run_child(&idle, MODE_IDLE, dir) < 0)
		goto out;
	summarize(bare, runs, &sb);
	summarize(load, runs, &sl);
	print_report(dir, runs, &warm_bare, &warm_load, &idle, &sb, &sl);
	ret = 0;
out:
	free(bare);
	free(load);
	return ret;
}
