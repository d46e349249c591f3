/*
 * test_network.c - Networks on simulated hosts (libvirt's test driver),
 * through the real binary: created where VMs need them and before those
 * VMs, static leases and DNS names from fixed addresses, a lease changed
 * live, a subnet change shown as a restart with the VMs it cuts off,
 * deletion only with --prune and never while a VM uses it, an unmanaged
 * network of the same name never touched, recovery after a failure at
 * each driver call, and the network XML's escaping.  Plans for create,
 * restart and prune are compared with test/golden/plan-network-*.txt.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../drivers/network/network.h"
#include "tests.h"
#include "testutil.h"


static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

#define PLAN "$NC plan spec --state-dir state"
#define APPLY "$NC apply spec --state-dir state --auto-approve"
#define SIM "$NC sim --state-dir state"

#define DOC(kind, name) "---\napiVersion: novacron.io/v1\nkind: " kind "\nmetadata: {name: " name "}\n"
#define A_MAC "52:54:00:aa:00:01"

static void write_file(const char *rel, const char *text)
{
	char *path = nc_xasprintf("%s/%s", tdir, rel);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

/* the networks: lan (nat, DHCP, a range, IPv6), back (isolated, no addresses) */
static void write_nets(const char *lan_subnet, const char *range_start, const char *range_end)
{
	char *t = nc_xasprintf(DOC("Network", "lan") "spec:\n  type: nat\n  subnet: %s\n  subnet6: 'fd00:77::/64'\n"
			       "  dhcp: true\n  dhcpRange: {start: %s, end: %s}\n"
			       DOC("Network", "back") "spec: {type: isolated, bridge: ncback0}\n",
			       lan_subnet, range_start, range_end);

	write_file("spec/nets.yaml", t);
	free(t);
}

/* VMs: a (lan, fixed MAC and address), b (lan, derived MAC, an address), c on h2 (lan and back) */
static void write_vms(const char *a_ip, const char *b_ip)
{
	char *t = nc_xasprintf(DOC("VM", "a") "spec:\n  vcpus: 1\n  memory: 256MiB\n  placement: {host: h1}\n"
			       "  nics: [{name: eth0, network: lan, mac: '" A_MAC "', ip: %s}]\n"
			       DOC("VM", "b") "spec:\n  vcpus: 1\n  memory: 256MiB\n  placement: {host: h1}\n"
			       "  nics: [{name: eth0, network: lan, ip: %s}]\n"
			       DOC("VM", "c") "spec:\n  vcpus: 1\n  memory: 256MiB\n  placement: {host: h2}\n"
			       "  nics: [{name: eth0, network: lan}, {name: eth1, network: back}]\n",
			       a_ip, b_ip);

	write_file("spec/vms.yaml", t);
	free(t);
}

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-network-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(shq("mkdir -p spec"), 0);
	write_file("spec/hosts.yaml", DOC("Host", "h1") "spec: {uri: 'sim:///h1'}\n"
				      DOC("Host", "h2") "spec: {uri: 'sim:///h2'}\n"
				      DOC("Host", "h3") "spec: {uri: 'sim:///h3'}\n");
	write_nets("10.77.0.0/24", "10.77.0.100", "10.77.0.199");
	write_vms("10.77.0.10", "10.77.0.11");
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

/* created where VMs need them (h1: lan; h2: lan and back; h3: nothing), before those VMs */
START_TEST(test_created_where_needed)
{
	struct nc_run r, r2;

	ck_assert_int_eq(sh(&r, PLAN), 2);
	ck_assert_int_eq(sh(&r2, PLAN), 2);
	ck_assert_str_eq(r.out, r2.out);
	nc_check_golden("plan-network-create.txt", r.out);
	HAS(r.out, "  + network lan: create on h1, then start\n      why: not found on h1; needed by a, b\n"
		   "      nat, 10.77.0.1/24, fd00:77::1/64, DHCP 10.77.0.100-10.77.0.199, 2 static leases, "
		   "2 DNS names, autostart\n");
	HAS(r.out, "  + network back: create on h2, then start\n");
	HASNT(r.out, "on h3");
	HAS(r.out, "  + a: create on h1, then start\n");
	HAS(r.out, "Plan: 6 to create, 0 to update, 0 to delete, 0 to start, 0 to stop.\n");
	nc_run_free(&r);
	nc_run_free(&r2);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"action\": \"create\", \"vm\": \"lan\", \"object\": \"network\", \"host\": \"h1\"");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "create network lan on h1 ... done");
	HAS(r.out, "Apply complete: 6 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "No changes. The cluster matches the spec.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h2 net-list"), 0);
	ck_assert_str_eq(r.out, "back                 active   autostart    managed\n"
				"lan                  active   autostart    managed\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h3 net-list"), 0);
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	/* what libvirt holds: forward, addresses, range, the leases by MAC and the DNS names */
	ck_assert_int_eq(sh(&r, SIM " h1 net-dumpxml lan"), 0);
	HAS(r.out, "<nc:network xmlns:nc=\"https://novacron.io/xmlns/network/1\">");
	HAS(r.out, "<forward mode='nat'/>");
	HAS(r.out, "<ip address='10.77.0.1' prefix='24'>");
	HAS(r.out, "<range start='10.77.0.100' end='10.77.0.199'/>");
	HAS(r.out, "<host mac='" A_MAC "' name='a' ip='10.77.0.10'/>");
	HAS(r.out, "name='b' ip='10.77.0.11'/>");
	HAS(r.out, "<host ip='10.77.0.10'>\n      <hostname>a</hostname>");
	HAS(r.out, "<ip family='ipv6' address='fd00:77::1' prefix='64'>");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h2 net-dumpxml back"), 0);
	HAS(r.out, "<bridge name='ncback0'");
	HASNT(r.out, "<forward");
	HASNT(r.out, "<ip ");
	nc_run_free(&r);
}
END_TEST

/* a static lease changes live; the subnet changes with a restart that names the running VMs */
START_TEST(test_lease_live_subnet_restart)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	write_vms("10.77.0.20", "10.77.0.11");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "  ~ network lan: update on h1\n      why: spec changed; DHCP and DNS host entries change "
		   "live, no restart\n      ~ dhcp host " A_MAC ": 10.77.0.10 a -> 10.77.0.20 a\n"
		   "      ~ dns host a: 10.77.0.10 -> (none)\n      ~ dns host a: (none) -> 10.77.0.20\n");
	/* h2 has lan too: every host holds the same leases */
	HAS(r.out, "  ~ network lan: update on h2\n");
	HASNT(r.out, "(with restart)");
	HAS(r.out, "Plan: 0 to create, 2 to update, 0 to delete, 0 to start, 0 to stop.\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "Apply complete: 2 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h1 net-dumpxml lan"), 0);
	HAS(r.out, "<host mac='" A_MAC "' name='a' ip='10.77.0.20'/>");
	HASNT(r.out, "ip='10.77.0.10'");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);

	/* a new subnet: a restart, with the running VMs it cuts off */
	write_nets("10.78.0.0/24", "10.78.0.100", "10.78.0.199");
	write_vms("10.78.0.20", "10.78.0.11");
	ck_assert_int_eq(sh(&r, PLAN), 2);
	nc_check_golden("plan-network-restart.txt", r.out);
	HAS(r.out, "  ~ network lan: update on h1 (with restart)\n      why: spec changed; the network restarts: "
		   "its running VMs on h1 (a, b) lose the link until they are restarted\n"
		   "      ~ ipv4: 10.77.0.1/24 -> 10.78.0.1/24 (restart)\n");
	HAS(r.out, "its running VM on h2 (c) loses the link until it is restarted");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"restart\": true");
	HASJ(r.out, "\"affected_vms\": [\"a\", \"b\"]");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "Apply complete: 2 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h1 net-dumpxml lan"), 0);
	HAS(r.out, "<ip address='10.78.0.1' prefix='24'>");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h1 net-list"), 0);
	ck_assert_str_eq(r.out, "lan                  active   autostart    managed\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/* deleted only with --prune, after the VMs that leave, never while a VM stays on it */
START_TEST(test_prune)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	/* c leaves the spec, and with it h2's only reason for lan and back */
	write_file("spec/vms.yaml", DOC("VM", "a") "spec:\n  vcpus: 1\n  memory: 256MiB\n  placement: {host: h1}\n"
				    "  nics: [{name: eth0, network: lan, mac: '" A_MAC "', ip: 10.77.0.10}]\n"
				    DOC("VM", "b") "spec:\n  vcpus: 1\n  memory: 256MiB\n  placement: {host: h1}\n"
				    "  nics: [{name: eth0, network: lan, ip: 10.77.0.11}]\n");
	write_file("spec/nets.yaml", DOC("Network", "lan") "spec:\n  type: nat\n  subnet: 10.77.0.0/24\n"
				     "  subnet6: 'fd00:77::/64'\n  dhcp: true\n"
				     "  dhcpRange: {start: 10.77.0.100, end: 10.77.0.199}\n");
	/* without --prune: kept, and said so; c still uses them */
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "note: network back on h2 is managed by NovaCron and not in the spec, but c still uses it: kept\n");
	HAS(r.out, "note: network lan on h2 is managed by NovaCron and no VM on this host needs it, but c still "
		   "uses it: kept\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --prune --allow-mass-delete"), 2);
	nc_check_golden("plan-network-prune.txt", r.out);
	HAS(r.out, "  - network back: delete on h2\n      why: pruned: not in the spec\n      after: #");
	HAS(r.out, "  - network lan: delete on h2\n      why: pruned: no VM on this host needs it\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY " --prune --allow-mass-delete"), 0);
	HAS(r.out, "delete network back on h2 ... done");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h2 net-list"), 0);
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h1 net-list"), 0);
	ck_assert_str_eq(r.out, "lan                  active   autostart    managed\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --prune"), 0);
	nc_run_free(&r);
}
END_TEST

/* a VM that stays (deletionProtection) keeps its network, even with --prune */
START_TEST(test_never_while_used)
{
	struct nc_run r;

	write_file("spec/vms.yaml", DOC("VM", "c") "spec:\n  vcpus: 1\n  memory: 256MiB\n  placement: {host: h2}\n"
				    "  deletionProtection: true\n  nics: [{name: eth0, network: back}]\n");
	ck_assert_int_eq(shq(APPLY), 0);
	write_file("spec/vms.yaml", "");
	write_file("spec/nets.yaml", "");
	ck_assert_int_eq(sh(&r, PLAN " --prune --allow-mass-delete"), 1);
	HAS(r.out, "error: c on h2 is not in the spec, but it was applied with deletionProtection");
	HAS(r.out, "note: network back on h2 is managed by NovaCron and not in the spec, but c still uses it: kept\n");
	HASNT(r.out, "network back: delete");
	nc_run_free(&r);
}
END_TEST

/* a network of the same name that NovaCron did not create is never touched */
START_TEST(test_unmanaged_untouched)
{
	struct nc_run r;

	ck_assert_int_eq(shq(SIM " h1 net-define-unmanaged lan"), 0);
	ck_assert_int_eq(shq(SIM " h3 net-define-unmanaged default"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "error: a network named lan exists on h1 but is not managed by NovaCron: it is never touched");
	HAS(r.out, "unmanaged networks (never touched): h1/lan h3/default\n");
	HASNT(r.out, "network lan: create on h1");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 1);
	HASJ(r.out, "\"unmanaged_networks\": [{\"host\": \"h1\", \"network\": \"lan\"}, "
		   "{\"host\": \"h3\", \"network\": \"default\"}]");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --prune --output markdown"), 1);
	HAS(r.out, "Unmanaged networks (never touched): h1/lan, h3/default");
	nc_run_free(&r);
}
END_TEST

/* drift: a stopped network is started, autostart put back */
START_TEST(test_drift)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq(SIM " h1 net-destroy lan"), 0);
	ck_assert_int_eq(shq(SIM " h2 net-autostart back off"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "  ~ network lan: start on h1\n      why: defined but not running on h1; needed by a, b\n");
	HAS(r.out, "  ~ network back: update on h2\n      why: drift: changed outside NovaCron\n"
		   "      ~ autostart: off -> on\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h2 net-list"), 0);
	HAS(r.out, "back                 active   autostart    managed\n");
	nc_run_free(&r);
	/* autostart: false is a change of the spec, applied without a restart */
	ck_assert_int_eq(shq("sed -i 's/spec: {type: isolated, bridge: ncback0}/spec: {type: isolated, bridge: ncback0, "
			     "autostart: false}/' spec/nets.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "  ~ network back: update on h2\n      why: spec changed\n      ~ autostart: on -> off\n");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(sh(&r, SIM " h2 net-list"), 0);
	HAS(r.out, "back                 active   no-autostart managed\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/* a VM moving to another host finds its networks there first; the old host's go with --prune */
START_TEST(test_move_creates_on_target)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("sed -i 's/placement: {host: h2}/placement: {host: h3}/' spec/vms.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN " --prune"), 2);
	HAS(r.out, "  + network back: create on h3, then start\n");
	HAS(r.out, "  + network lan: create on h3, then start\n      why: not found on h3; needed by c\n");
	HAS(r.out, "  ~ c: migrate h2 -> h3 (live)\n      why: pinned to h3\n      placement: pinned to h3\n"
		   "      after: #1 #2\n");
	HAS(r.out, "  - network back: delete on h2\n      why: pruned: no VM on this host needs it\n      after: #3\n");
	HAS(r.out, "  - network lan: delete on h2\n      why: pruned: no VM on this host needs it\n      after: #3\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY " --prune"), 0);
	HAS(r.out, "Apply complete: 5 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h3 net-list"), 0);
	ck_assert_str_eq(r.out, "back                 active   autostart    managed\n"
				"lan                  active   autostart    managed\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h2 net-list"), 0);
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --prune"), 0);
	nc_run_free(&r);
}
END_TEST

/* a failure at any driver call leaves a cluster the next pass converges */
START_TEST(test_fail_at_every_call)
{
	int k;

	for (k = 1; k <= 12; k++) {
		struct nc_run r;

		ck_assert_int_eq(shq("rm -rf state"), 0);
		sh(&r, "NOVACRON_FAIL_AT=%d " APPLY, k);
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, APPLY), 0);
		ck_assert_msg(strstr(r.out, "failed") == NULL || strstr(r.out, " 0 failed"), "k=%d:\n%s", k, r.out);
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, PLAN), 0);
		HAS(r.out, "No changes.");
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, SIM " h2 net-list"), 0);
		ck_assert_msg(strcmp(r.out, "back                 active   autostart    managed\n"
					    "lan                  active   autostart    managed\n") == 0, "k=%d: %s", k, r.out);
		nc_run_free(&r);
	}
}
END_TEST

/* an interrupted create (defined, not started) is finished by the next plan */
START_TEST(test_defined_not_started_converges)
{
	struct nc_run r;

	/* the 2nd mutating call is back's start on h2 (networks go first, by name) */
	ck_assert_int_eq(sh(&r, "NOVACRON_FAIL_AT=2 " APPLY), 1);
	HAS(r.out, "create network back on h2 ... failed: network start: injected failure");
	HAS(r.out, "create c on h2 ... skipped: an action it waits for did not complete");
	HAS(r.out, "create a on h1 ... done");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h2 net-list"), 0);
	ck_assert_str_eq(r.out, "back                 inactive no-autostart managed\n"
				"lan                  active   autostart    managed\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "  ~ network back: update on h2, then start\n      why: drift: changed outside NovaCron; defined "
		   "but not running: started after\n      ~ autostart: off -> on\n");
	HAS(r.out, "  + c: create on h2, then start\n");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/* spec text is an attribute value or a text node, never markup */
START_TEST(test_xml_escaping)
{
	struct nc_net_host lease = { "52:54:00:00:00:01", "a'\"<b>&", "10.0.0.5" };
	struct nc_net_def d, back;
	struct nc_err err = { "" };
	char *xml;

	memset(&d, 0, sizeof(d));
	d.name = "x</name><forward mode='bridge'/><name>y";
	d.meta_name = d.name;
	d.meta_hash = "h";
	d.ip4 = "10.0.0.1";
	d.prefix4 = 24;
	d.dhcp = true;
	d.leases = &lease;
	d.nleases = 1;
	d.dns = &lease;
	d.ndns = 1;
	xml = nc_netxml_build(&d);
	HASNT(xml, "<forward");
	HAS(xml, "x&lt;/name&gt;&lt;forward");
	ck_assert_int_eq(nc_netxml_parse(&back, xml, &err), 0);
	ck_assert_str_eq(back.name, d.name);
	ck_assert_ptr_null(back.forward);
	ck_assert_uint_eq(back.nleases, 1);
	ck_assert_str_eq(back.leases[0].name, lease.name);
	ck_assert_str_eq(back.dns[0].name, lease.name);
	ck_assert_str_eq(back.meta_name, d.name);
	nc_net_def_release(&back);
	free(xml);
}
END_TEST

Suite *nc_suite_network(void)
{
	Suite *s = suite_create("network");
	TCase *tc = tcase_create("sim");

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_created_where_needed);
	tcase_add_test(tc, test_lease_live_subnet_restart);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_never_while_used);
	tcase_add_test(tc, test_unmanaged_untouched);
	tcase_add_test(tc, test_drift);
	tcase_add_test(tc, test_move_creates_on_target);
	tcase_add_test(tc, test_fail_at_every_call);
	tcase_add_test(tc, test_defined_not_started_converges);
	tcase_add_test(tc, test_xml_escaping);
	suite_add_tcase(s, tc);
	return s;
}
