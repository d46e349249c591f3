/*
 * test_cluster.c - Clusters: the Cluster kind, plan --cluster, per-cluster serve and the federation view (issue 16).
 *
 * Through the real binary on simulated hosts (libvirt's test driver kept in
 * T/state), each test in its own temporary directory T holding a copy of
 * examples/federation in T/spec (Clusters east and west, one folder each,
 * shared templates and pool in spec/shared).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-cluster-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(nc_run_inq(tdir, "cp -r '%s/examples/federation' spec", NC_SOURCE_DIR), 0);
}

static void teardown(void)
{
	nc_run_inq("/tmp", "rm -rf '%s'", tdir);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)
#define PLAN "$NC plan spec --state-dir state"
#define APPLY "$NC apply spec --state-dir state --auto-approve"

/* appends a file's text (YAML) to spec/REL */
static void add(const char *rel, const char *yaml)
{
	char *path = nc_xasprintf("%s/spec/%s", tdir, rel);
	FILE *f = fopen(path, "a");

	ck_assert_ptr_nonnull(f);
	fputs(yaml, f);
	fclose(f);
	free(path);
}

/* got equals want, or the first line that differs (Check cuts long messages) */
static void same(const char *got, const char *want)
{
	char *d = strcmp(got, want) ? nc_first_diff(want, got) : NULL;

	ck_assert_msg(!d, "%s", d);
}

#define VMDOC(name) "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: " name "\nspec:\n"

/* the example is valid; its count line names the clusters */
START_TEST(test_cluster_example_valid)
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, "$NC validate spec"), 0);
	ck_assert_str_eq(r.out, "valid: 4 files, 13 documents, 0 warnings\n  3 hosts, 1 template, 3 VMs, "
			 "1 placement policy, 1 storage pool, 2 networks, 0 backup schedules, 0 images, "
			 "0 alert rules, 0 tenants, 2 clusters\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC validate spec -o json"), 0);
	HASJ(r.out, "\"Tenant\": 0, \"Cluster\": 2}");
	nc_run_free(&r);
	/* without a Cluster: the line and JSON of before (no "clusters") */
	ck_assert_int_eq(sh(&r, "$NC validate '%s/examples/quickstart' -o json", NC_SOURCE_DIR), 0);
	HASJ(r.out, "\"Tenant\": 0}");
	HASNT(r.out, "Cluster");
	nc_run_free(&r);
}
END_TEST

/* every rule with its exact position */
START_TEST(test_cluster_validate_errors)
{
	struct nc_run r;

	/* lines 1-7 of each added document: ---, apiVersion, kind, metadata, name, spec, ... */
	add("clusters/west/west.yaml",
	    VMDOC("web-east-1") "  template: small\n"                        /* 29-35: declared twice */
	    VMDOC("pinned") "  template: small\n  cluster: east\n"            /* 36-45 */
	    "  nics: [{name: eth0, network: east-lan}]\n  placement: {host: west-kvm1}\n"
	    VMDOC("foreign") "  template: small\n  nics:\n    - name: eth0\n      network: east-lan\n" /* 46-55 */
	    "  placement:\n    hostSelector: {matchLabels: {side: east}}\n");
	add("clusters/east/east.yaml",
	    "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata:\n  name: east-kvm3\n  labels: {side: east}\n"
	    "spec:\n  uri: sim:///east-kvm3\n");
	add("shared/shared.yaml", VMDOC("orphan") "  template: small\n"
	    "---\napiVersion: novacron.io/v1\nkind: Cluster\nmetadata:\n  name: south\nspec:\n"
	    "  paths: [clusters/east, /abs]\n");
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	same(r.err,
		"spec/clusters/west/west.yaml:33:9: error: VM 'web-east-1' is declared in two clusters, 'east' and "
		"'west': an object belongs to one cluster, and names are unique across the repository "
		"(docs/federation.md)\n"
		"spec/clusters/east/east.yaml:28:9: note: declared in Cluster 'east' here\n"
		"spec/clusters/west/west.yaml:43:12: error: VM 'pinned' sets cluster 'east' but is declared in a "
		"folder of Cluster 'west' (clusters/west/west.yaml): an object belongs to one cluster; move its "
		"file or change spec.cluster\n"
		"spec/clusters.yaml:18:11: note: Cluster 'west' claims the folder here\n"
		"spec/clusters/west/west.yaml:45:21: error: VM 'pinned' of Cluster 'east' uses Host 'west-kvm1' of "
		"Cluster 'west': a VM runs on hosts of its own cluster\n"
		"spec/clusters/west/west.yaml:55:16: error: VM 'foreign' of Cluster 'west' uses Network 'east-lan' "
		"of Cluster 'east': a VM's NICs use its cluster's networks and shared ones (without a cluster)\n"
		"spec/clusters/west/west.yaml:57:19: error: VM 'foreign' of Cluster 'west': placement.hostSelector "
		"selects no host of its cluster, only hosts of others (Host 'east-kvm3' of Cluster 'east'): a VM "
		"runs on hosts of its own cluster\n"
		"spec/shared/shared.yaml:40:9: error: VM 'orphan' belongs to no cluster: the spec declares clusters "
		"('east', 'south' and 'west'), so every host and VM sets spec.cluster or is declared in a folder of "
		"a Cluster's spec.paths\n"
		"spec/shared/shared.yaml:49:11: error: path 'clusters/east' is claimed by Cluster 'east' and "
		"Cluster 'south': a folder belongs to one cluster\n"
		"spec/clusters.yaml:11:11: note: Cluster 'east' claims it here\n"
		"spec/shared/shared.yaml:49:26: error: Cluster 'south': path '/abs' is not a folder of the spec: an "
		"absolute path; write it relative to the spec's root (e.g. teams/web)\n"
		"invalid: 8 errors, 0 warnings in 4 files\n"
		"  4 hosts, 1 template, 6 VMs, 1 placement policy, 1 storage pool, 2 networks, 0 backup schedules, "
		"0 images, 0 alert rules, 0 tenants, 3 clusters\n");
	nc_run_free(&r);
}
END_TEST

/* a pool of one cluster used through a shared template, and a missing cluster name */
START_TEST(test_cluster_validate_template_pool)
{
	struct nc_run r;

	add("clusters/east/east.yaml",
	    "---\napiVersion: novacron.io/v1\nkind: StoragePool\nmetadata:\n  name: east-fast\n"
	    "spec:\n  type: dir\n  path: /var/lib/novacron/pools/fast\n");
	add("shared/shared.yaml",
	    "---\napiVersion: novacron.io/v1\nkind: Template\nmetadata:\n  name: fast\nspec:\n  inherits: small\n"
	    "  disks:\n    - name: root\n      pool: east-fast\n"
	    "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata:\n  name: lost\nspec:\n  uri: sim:///lost\n"
	    "  cluster: north\n");
	add("clusters/west/west.yaml", VMDOC("quick") "  template: fast\n");
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	HAS(r.err, "spec/shared/shared.yaml:45:13: error: VM 'quick' of Cluster 'west' uses StoragePool 'east-fast' "
		   "of Cluster 'east': a VM's disks use its cluster's pools and shared ones (without a cluster)\n"
		   "spec/clusters/west/west.yaml:33:9: note: VM 'quick' is declared here\n");
	HAS(r.err, "spec/shared/shared.yaml:53:12: error: no Cluster named 'north'");
	HAS(r.err, "invalid: 2 errors");
	nc_run_free(&r);
}
END_TEST

/* placement never crosses clusters: a drained host's VM stays rather than move to another cluster */
START_TEST(test_cluster_placement)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(sh(&r, "$NC get vms spec --state-dir state"), 0);
	HAS(r.out, "web-west-1  west-kvm1");
	HASNT(r.out, "web-east-1  west");
	HASNT(r.out, "web-east-2  west");
	nc_run_free(&r);
	ck_assert_int_eq(shq("sed -i 's|  uri: sim:///west-kvm1|&\\n  maintenance: true|' spec/clusters/west/west.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "warning: cannot move web-west-1 off west-kvm1 (drain: west-kvm1 is in maintenance): no host "
		   "fits: east-kvm1: in Cluster east, not the VM's (west); east-kvm2: in Cluster east, not the VM's "
		   "(west); it stays\n");
	nc_run_free(&r);
	/* capacity per cluster: west's one host fails N+1 (its VM cannot restart in east) */
	ck_assert_int_eq(shq("cp '%s/examples/federation/clusters/west/west.yaml' "
			     "spec/clusters/west/", NC_SOURCE_DIR), 0);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --template small"), 2);
	HAS(r.out, "west-kvm1    ok           1/64 (2%)              512MiB/64GiB (1%)              1  FAIL: web-west-1 "
		   "cannot restart elsewhere\n");
	HAS(r.out, "\nCLUSTER      HOSTS VCPUS                  MEMORY                       VMS  N+1    FIT\n"
		   "east             2 2/128 (2%)             1GiB/128GiB (1%)               2  ok     126\n"
		   "west             1 1/64 (2%)              512MiB/64GiB (1%)              1  FAIL   63\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state -o json"), 2);
	HASJ(r.out, "\"clusters\": [{\"name\": \"east\", \"hosts\": 2, \"vcpus_used\": 2, \"vcpus_capacity\": 128, ");
	HASJ(r.out, "\"name\": \"west\", \"hosts\": 1, \"vcpus_used\": 1, \"vcpus_capacity\": 64, \"memory_used\": "
		    "536870912, \"memory_capacity\": 68719476736, \"vms\": 1, \"n1_failures\": 1}]");
	nc_run_free(&r);
	ck_assert_int_eq(shq("sed -i 's|  uri: sim:///west-kvm1|&\\n  maintenance: true|' spec/clusters/west/west.yaml"), 0);
	/* east's drain moves within east */
	ck_assert_int_eq(shq("sed -i 's|  uri: sim:///east-kvm1|&\\n  maintenance: true|' spec/clusters/east/east.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "  ~ web-east-1: migrate east-kvm1 -> east-kvm2 (live)\n");
	nc_run_free(&r);
}
END_TEST

/* plan --cluster: grouped text with per-cluster summaries, JSON, Markdown; apply --cluster acts on one */
START_TEST(test_cluster_plan_scope)
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "Actions\n  Cluster east\n  + network east-lan: create on east-kvm1, then start\n");
	HAS(r.out, "      after: #2\n  Cluster west\n  + network west-lan: create on west-kvm1, then start\n");
	HAS(r.out, "  + web-west-1: create on west-kvm1, then start\n");
	HAS(r.out, "Plan: 6 to create, 0 to update, 0 to delete, 0 to start, 0 to stop.\n\nClusters\n"
		   "  east     2 hosts, 2 VMs: 4 to create, 0 to update, 0 to delete, 0 to start, 0 to stop\n"
		   "  west     1 host, 1 VM: 2 to create, 0 to update, 0 to delete, 0 to start, 0 to stop\n");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, PLAN " --cluster west -o json"), 2);
	HASJ(r.out, "\"clusters\": [\"west\"]}");
	HASJ(r.out, "\"id\": 1, \"action\": \"create\", \"vm\": \"west-lan\", \"cluster\": \"west\"");
	HASJ(r.out, "\"id\": 2, \"action\": \"create\", \"vm\": \"web-west-1\", \"cluster\": \"west\"");
	HASJ(r.out, "\"clusters\": [{\"name\": \"west\", \"hosts\": 1, \"vms\": 1, \"actions\": 2, \"create\": 2, ");
	HASNT(r.out, "east-lan");
	HASNT(r.out, "web-east");
	/* every host is still observed */
	HASJ(r.out, "\"name\": \"east-kvm1\"");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, PLAN " --cluster east -o markdown"), 2);
	HAS(r.out, "**Cluster `east`**\n\n| # | | VM | action | host | why |\n");
	HAS(r.out, "| `east` | 2 | 2 | 4 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |\n");
	HASNT(r.out, "west-lan");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, PLAN " --cluster wset"), 1);
	HAS(r.err, "novacron plan: --cluster wset: no Cluster named 'wset' in the spec; did you mean 'west'?");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan '%s/examples/quickstart' --state-dir q --cluster east", NC_SOURCE_DIR), 1);
	HAS(r.err, "--cluster east: the spec declares no Cluster (docs/federation.md); nothing was planned");
	nc_run_free(&r);

	/* apply --cluster west: west's VM only; then east's */
	ck_assert_int_eq(sh(&r, APPLY " --cluster west"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC get vms spec --state-dir state"), 0);
	HAS(r.out, "web-west-1  west-kvm1");
	HASNT(r.out, "web-east");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --cluster west"), 0);
	HAS(r.out, "  west     1 host, 1 VM: no changes\n");
	HASNT(r.out, "east     ");
	nc_run_free(&r);
	/* a saved plan keeps its --cluster */
	ck_assert_int_eq(shq(PLAN " --cluster east --out e.plan >/dev/null"), 2);
	ck_assert_int_eq(sh(&r, "$NC apply e.plan --auto-approve --cluster west"), 1);
	HAS(r.err, "--cluster go with novacron plan, not with apply PLANFILE");
	nc_run_free(&r);
	ck_assert_int_eq(shq("$NC apply e.plan --auto-approve >/dev/null"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "No changes.");
	nc_run_free(&r);
}
END_TEST

/* ---- one serve per cluster, and the federation view ---- */

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* polls serve's /status until it holds want; the body (caller frees) */
static char *wait_status(int port, const char *want, const char *log)
{
	struct nc_run r;
	int i;

	for (i = 0; i < 300; i++) {
		sh(&r, "curl -s http://127.0.0.1:%d/status", port);
		if (strstr(r.out, want)) {
			free(r.err);
			return r.out;
		}
		nc_run_free(&r);
		usleep(100000);
	}
	sh(&r, "tail -20 %s", log);
	ck_abort_msg("no '%s' at :%d/status in 30 s; %s:\n%.3000s", want, port, log, r.out);
	return NULL;
}

/* a serve of one cluster; `timeout` ends it even when a failed test cannot (Check runs no teardown then) */
static void start_serve(const char *name, int port, const char *flag, int peer_e, int peer_w)
{
	ck_assert_int_eq(shq("printf -- 'source:\\n  directory: %s/spec\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
			     "interval: 1s\\ndriftInterval: 1s\\nlisten: 127.0.0.1:%d\\n%s"
			     "federation:\\n  - {cluster: east, url: \"http://127.0.0.1:%d\"}\\n"
			     "  - {cluster: west, url: \"http://127.0.0.1:%d/\"}\\n' > %s.yaml",
			     tdir, tdir, tdir, port, flag ? "" : "cluster: west\\n", peer_e, peer_w, name), 0);
	ck_assert_int_eq(shq("timeout 120 $NC serve --config %s.yaml %s >/dev/null 2>%s.log & echo $! > %s.pid",
			     name, flag ? flag : "", name, name), 0);
}

/* serve --config NAME.yaml (the caller wrote it) */
static void start_named_serve(const char *name)
{
	ck_assert_int_eq(shq("timeout 120 $NC serve --config %s.yaml >/dev/null 2>%s.log & echo $! > %s.pid",
			     name, name, name), 0);
}

static void stop_serve(const char *name)
{
	shq("[ -f %s.pid ] && kill -TERM $(cat %s.pid) 2>/dev/null; for i in $(seq 50); do "
	    "kill -0 $(cat %s.pid) 2>/dev/null || break; sleep 0.1; done; rm -f %s.pid", name, name, name, name);
}

/*
 * Two serves, --cluster east and cluster: west, on one state dir: each its own lease, each
 * acts on its own cluster only; status --all reads both, and reports the stopped one.
 */
START_TEST(test_cluster_serve_per_cluster)
{
	struct nc_run r;
	char *body;
	int pe = free_port(), pw = free_port();

	start_serve("east", pe, "--cluster east", pe, pw);
	start_serve("west", pw, NULL, pe, pw);
	body = wait_status(pe, "\"result\": \"ok\"", "east.log");
	HAS(body, "\"cluster\": \"east\"");
	HAS(body, "\"leader\": true");
	/* its hosts only */
	HAS(body, "{\"name\": \"east-kvm1\"");
	HASNT(body, "west-kvm1");
	free(body);
	body = wait_status(pw, "\"result\": \"ok\"", "west.log");
	HAS(body, "\"cluster\": \"west\"");
	HAS(body, "\"leader\": true");
	free(body);
	/* one lease each, both held at once */
	ck_assert_int_eq(shq("test -f state/lease-east.lock && test -f state/lease-west.lock && ! test -e state/lease.lock"), 0);
	ck_assert_int_eq(sh(&r, "grep -c 'applying 4 actions' east.log; grep -c 'applying 2 actions' west.log"), 0);
	ck_assert_str_eq(r.out, "1\n1\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", pe), 0);
	HAS(r.out, "novacron_cluster_info{cluster=\"east\"} 1\n");
	nc_run_free(&r);

	/* the federation view: both (a pass counts what it observed at its start: the next one sees the VMs) */
	free(wait_status(pe, "\"vms\": {\"running\": 2, \"stopped\": 0, \"other\": 0}", "east.log"));
	free(wait_status(pw, "\"vms\": {\"running\": 1, \"stopped\": 0, \"other\": 0}", "west.log"));
	ck_assert_int_eq(sh(&r, "$NC status --all --config east.yaml"), 0);
	HAS(r.out, "CLUSTER  REACHABLE    LEADER  REVISION");
	HAS(r.out, "\neast     yes          yes     dir:");
	HAS(r.out, "\nwest     yes          yes     dir:");
	HAS(r.out, "2/2        2/0/0, 0, 0\n");
	HAS(r.out, "1/1        1/0/0, 0, 0\n");
	nc_run_free(&r);

	/* GET /api/v1/federation: the same rows from east's own configuration, east itself included
	 * (its /status answers while the request waits: the read runs on a thread of its own) */
	ck_assert_int_eq(shq("$NC token create fed-viewer --role viewer --state-dir state > viewer.tok 2>/dev/null && "
			     "$NC token create fed-team --role operator --tenant team-a --state-dir state > team.tok "
			     "2>/dev/null"), 0);
	ck_assert_int_eq(sh(&r, "curl -s -H \"Authorization: Bearer $(cat viewer.tok)\" "
			    "http://127.0.0.1:%d/api/v1/federation", pe), 0);
	HASJ(r.out, "{\"format_version\": 1, \"clusters\": [{\"cluster\": \"east\", \"url\": \"http://127.0.0.1:");
	HASJ(r.out, "\"reachable\": true, \"error\": null, \"serves\": \"east\", \"leader\": true, \"revision\": \"dir:");
	HASJ(r.out, "\"hosts\": {\"total\": 2, \"up\": 2}, \"vms\": {\"running\": 2, \"stopped\": 0, \"other\": 0}");
	HASJ(r.out, "{\"cluster\": \"west\", \"url\": \"http://127.0.0.1:");
	HASJ(r.out, "\"serves\": \"west\", \"leader\": true");
	HASJ(r.out, "\"hosts\": {\"total\": 1, \"up\": 1}, \"vms\": {\"running\": 1, \"stopped\": 0, \"other\": 0}");
	HASJ(r.out, "\"unreachable\": 0}");
	HASNT(r.out, "nc_");
	nc_run_free(&r);
	/* no credentials: 401; a principal scoped to tenants (even an operator): 403 */
	ck_assert_int_eq(sh(&r, "curl -s -w ' %%{http_code}' http://127.0.0.1:%d/api/v1/federation", pe), 0);
	HAS(r.out, "\"authentication required: a bearer token or a session\"}\n 401");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s -w ' %%{http_code}' -H \"Authorization: Bearer $(cat team.tok)\" "
			    "http://127.0.0.1:%d/api/v1/federation", pe), 0);
	HAS(r.out, "not for a principal scoped to tenants\"}\n 403");
	HASNT(r.out, "west");
	nc_run_free(&r);
	/* west's serve has the same list: it reads east and itself */
	ck_assert_int_eq(sh(&r, "curl -s -H \"Authorization: Bearer $(cat viewer.tok)\" "
			    "http://127.0.0.1:%d/api/v1/federation", pw), 0);
	HASJ(r.out, "\"serves\": \"east\", \"leader\": true");
	HASJ(r.out, "\"serves\": \"west\", \"leader\": true");
	HASJ(r.out, "\"unreachable\": 0}");
	nc_run_free(&r);

	/* west's serve stops: east repairs east's drift and leaves west's */
	stop_serve("west");
	ck_assert_int_eq(shq("$NC sim --state-dir state east-kvm1 destroy web-east-1 && "
			     "$NC sim --state-dir state west-kvm1 destroy web-west-1"), 0);
	body = wait_status(pe, "\"start/done\": 1", "east.log");
	free(body);
	ck_assert_int_eq(sh(&r, "sleep 2; $NC get vms spec --state-dir state"), 0);
	HAS(r.out, "web-east-1  east-kvm1  running ");
	HAS(r.out, "web-west-1  west-kvm1  shut off");
	nc_run_free(&r);

	/* the stopped serve is reported, not fatal */
	ck_assert_int_eq(sh(&r, "$NC status --all --config east.yaml"), 2);
	HAS(r.out, "\nwest     no           http://127.0.0.1:");
	HAS(r.out, "\neast     yes          yes");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC status --all --config east.yaml -o json"), 2);
	HASJ(r.out, "\"cluster\": \"west\", \"url\": ");
	HASJ(r.out, "\"reachable\": false, \"error\": \"");
	HASJ(r.out, "\"unreachable\": 1}");
	nc_run_free(&r);
	/* and by the API: the stopped serve is a row that says why */
	ck_assert_int_eq(sh(&r, "curl -s -w ' %%{http_code}' -H \"Authorization: Bearer $(cat viewer.tok)\" "
			    "http://127.0.0.1:%d/api/v1/federation", pe), 0);
	HASJ(r.out, "{\"cluster\": \"west\", \"url\": \"http://127.0.0.1:");
	HASJ(r.out, "\"reachable\": false, \"error\": \"Couldn't connect to server\", \"serves\": null");
	HASJ(r.out, "\"serves\": \"east\", \"leader\": true");
	HASJ(r.out, "\"unreachable\": 1}");
	HAS(r.out, " 200");
	nc_run_free(&r);
	/* without federation: in the configuration */
	ck_assert_int_eq(sh(&r, "$NC status --all"), 1);
	HAS(r.err, "--all needs a federation: list");
	nc_run_free(&r);
	stop_serve("east");
}
END_TEST

/*
 * status --all against hostile serves (a python3 http.server on loopback):
 * one answers a status JSON whose strings hold ESC and C1 controls (U+009B,
 * CSI), one answers non-JSON, one answers more than 4 MiB.  Each is
 * reported on its line; no byte outside printable ASCII reaches the text.
 */
START_TEST(test_cluster_status_all_hostile)
{
	struct nc_run r;
	int p1 = free_port(), p2 = free_port(), p3 = free_port(), p4 = free_port(), p5 = free_port(), p6 = free_port();
	const char *c;

	ck_assert_int_eq(shq("cat > peer.py <<'EOF'\n"
			     "import http.server, os, select, socket, sys\n"
			     "mode = sys.argv[2]\n"
			     "class H(http.server.BaseHTTPRequestHandler):\n"
			     "    def do_GET(self):\n"
			     "        if mode == 'hang':\n"
			     "            open('hang.seen', 'w').close()\n"
			     "            while not os.path.exists('release'):\n"
			     "                if select.select([self.connection], [], [], 0.05)[0] and "
			     "not self.connection.recv(1, socket.MSG_PEEK):\n"
			     "                    open('hang.closed', 'w').close()\n"
			     "                    return\n"
			     "            return\n"
			     "        self.send_response(200); self.end_headers()\n"
			     "        try:\n"
			     "            if mode == 'evil':\n"
			     "                self.wfile.write(b'{\"last_pass\": {\"result\": \"ok\\\\u009b2J\\\\u001b[2J\", \"time\": 1}, '\n"
			     "                    b'\"cluster\": \"x\\\\u009d0;pwn\\\\u0007\", \"applied\": {\"revision\": \"\\\\u009b31mab\"}, '\n"
			     "                    b'\"hosts\": [], \"vms\": {}}')\n"
			     "            elif mode == 'garbage':\n"
			     "                self.wfile.write(b'<html>\\x1b[31m\\xc2\\x9b')\n"
			     "            else:\n"
			     "                self.wfile.write(b'{\"a\": \"' + b'x' * (5 << 20) + b'\"}')\n"
			     "        except OSError:\n"
			     "            pass\n"
			     "    def log_message(self, *a):\n"
			     "        pass\n"
			     "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n"
			     "EOF\n"
			     "for m in evil:%d garbage:%d huge:%d; do python3 peer.py ${m#*:} ${m%%:*} & echo $! >> peers.pid; done; "
			     "for p in %d %d %d; do for i in $(seq 50); do curl -s -o /dev/null --max-time 2 http://127.0.0.1:$p/ "
			     "&& break; sleep 0.1; done; done; "
			     "printf 'federation:\\n  - {cluster: evil, url: \"http://127.0.0.1:%d\"}\\n"
			     "  - {cluster: garbage, url: \"http://127.0.0.1:%d\"}\\n  - {cluster: huge, url: \"http://127.0.0.1:%d\"}\\n'"
			     " > fed.yaml", p1, p2, p3, p1, p2, p3, p1, p2, p3), 0);
	ck_assert_int_eq(sh(&r, "$NC status --all --config fed.yaml"), 2);
	HAS(r.out, "\nevil     yes          no      ??31mab ");
	HAS(r.out, " ok??2J?[2J 1970-01-01T00:00:01Z ");
	HAS(r.out, "(serves Cluster x??0;pwn?)");
	HAS(r.out, "\ngarbage  no           http://127.0.0.1:");
	HAS(r.out, ": did not answer with a serve's status JSON\n");
	HAS(r.out, ": its /status is larger than 4 MiB\n");
	for (c = r.out; *c; c++)
		ck_assert_msg(*c == '\n' || ((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f),
			      "byte 0x%02x at %zu of:\n%s", (unsigned char)*c, (size_t)(c - r.out), r.out);
	nc_run_free(&r);

	/*
	 * GET /api/v1/federation of a real serve whose federation: lists itself, the three,
	 * a port nobody listens on and a peer that holds the request until told: while
	 * that one holds it, the serve's own /status answers (the read does not hold
	 * libmicrohttpd's thread, nor deadlock on the serve itself).
	 */
	ck_assert_int_eq(shq("python3 peer.py %d hang & echo $! >> peers.pid; "
			     "for i in $(seq 50); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d))' "
			     "2>/dev/null && break; sleep 0.1; done; "
			     "printf -- 'source:\\n  directory: %s/spec\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
			     "interval: 1s\\nlisten: 127.0.0.1:%d\\ncluster: east\\nfederation:\\n"
			     "  - {cluster: east, url: \"http://127.0.0.1:%d\"}\\n"
			     "  - {cluster: evil, url: \"http://127.0.0.1:%d\"}\\n  - {cluster: garbage, url: \"http://127.0.0.1:%d\"}\\n"
			     "  - {cluster: huge, url: \"http://127.0.0.1:%d\"}\\n"
			     "  - {cluster: gone, url: \"http://ops:hunter2@127.0.0.1:%d\"}\\n"
			     "  - {cluster: held, url: \"http://127.0.0.1:%d\"}\\n' > fedserve.yaml; "
			     "mkdir -p state && chmod 700 state && "
			     "$NC token create fed-viewer --role viewer --state-dir state > viewer.tok 2>/dev/null",
			     p6, p6, tdir, tdir, tdir, p4, p4, p1, p2, p3, p5, p6), 0);
	start_named_serve("fedserve");
	free(wait_status(p4, "\"result\": \"ok\"", "fedserve.log"));
	ck_assert_int_eq(shq("curl -s -H \"Authorization: Bearer $(cat viewer.tok)\" "
			     "http://127.0.0.1:%d/api/v1/federation > api.out & echo $! > api.pid; "
			     "for i in $(seq 300); do [ -e hang.seen ] && break; sleep 0.1; done; [ -e hang.seen ]", p4), 0);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/status", p4), 0);
	HAS(r.out, "\"cluster\": \"east\"");
	nc_run_free(&r);
	/* the federation request still waits on the held peer: no answer yet, the peer still holds it */
	ck_assert_int_eq(shq("test ! -s api.out && test ! -e hang.closed"), 0);
	ck_assert_int_eq(shq("touch release; for i in $(seq 300); do kill -0 $(cat api.pid) 2>/dev/null || break; "
			     "sleep 0.1; done; ! kill -0 $(cat api.pid) 2>/dev/null"), 0);
	ck_assert_int_eq(sh(&r, "cat api.out"), 0);
	HASJ(r.out, "{\"format_version\": 1, \"clusters\": [{\"cluster\": \"east\", \"url\": \"http://127.0.0.1:");
	HASJ(r.out, "\"reachable\": true, \"error\": null, \"serves\": \"east\", \"leader\": true");
	HASJ(r.out, "{\"cluster\": \"evil\", \"url\": \"http://127.0.0.1:");
	/* JSON carries the peer's strings as they are (U+009D as UTF-8, BEL escaped): a reader's to escape */
	HASJ(r.out, "\"reachable\": true, \"error\": null, \"serves\": \"x\xc2\x9d" "0;pwn\\u0007\"");
	HASJ(r.out, "\"error\": \"did not answer with a serve's status JSON\"");
	HASJ(r.out, "\"error\": \"its /status is larger than 4 MiB\"");
	HASJ(r.out, "{\"cluster\": \"gone\", \"url\": \"http://ops:***@127.0.0.1:");
	HASJ(r.out, "{\"cluster\": \"held\", \"url\": \"http://127.0.0.1:");
	HASJ(r.out, "\"unreachable\": 4}");
	HASNT(r.out, "hunter2");
	HASNT(r.out, "nc_");
	nc_run_free(&r);
	stop_serve("fedserve");
	shq("kill $(cat peers.pid)");
}
END_TEST

Suite *nc_suite_cluster(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("cluster");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_cluster_example_valid);
	tcase_add_test(tc, test_cluster_validate_errors);
	tcase_add_test(tc, test_cluster_validate_template_pool);
	tcase_add_test(tc, test_cluster_placement);
	tcase_add_test(tc, test_cluster_plan_scope);
	tcase_add_test(tc, test_cluster_serve_per_cluster);
	tcase_add_test(tc, test_cluster_status_all_hostile);
	suite_add_tcase(s, tc);
	return s;
}
