/*
 * test_scope.c - plan/apply --target, --selector, --replace, ignoreDifferences, suspended VMs, novacron show.
 *
 * Through the real binary on simulated hosts (libvirt's test driver kept in
 * T/state), each test in its own temporary directory T holding a copy of
 * examples/quickstart in T/spec.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "testutil.h"

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-scope-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(nc_run_inq(tdir, "cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
}

static void teardown(void)
{
	nc_run_inq("/tmp", "rm -rf '%s'", tdir);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)
#define PLAN "$NC plan spec --state-dir state"
#define APPLY "$NC apply spec --state-dir state --auto-approve"
#define SIM "$NC sim --state-dir state"

/* the domain's UUID in a simulated host's persisted state ("" when absent; caller frees) */
static char *uuid_of(const char *host, const char *dom)
{
	struct nc_run r;
	char *u;

	sh(&r, "grep -A1 '<name>%s</name>' state/%s.xml | grep -o '<uuid>[0-9a-f-]*' | cut -c7-", dom, host);
	u = nc_xstrdup(r.out);
	nc_run_free(&r);
	return u;
}

/*
 * --target and --selector: what a targeted create brings along (its image
 * upload and network, nothing of the others), the warning, JSON's record of
 * the scope, a saved scoped plan through show and apply, an untargeted VM
 * still drifted after, and the errors.
 */
START_TEST(test_scope_target_selector)
{
	struct nc_run r;

	/* an empty cluster: web-1 alone, with what it needs */
	ck_assert_int_eq(sh(&r, PLAN " --target web-1"), 2);
	HAS(r.out, "  + image debian-12: upload on kvm1 into pool local\n");
	HAS(r.out, "  + network lan: create on kvm1, then start\n      why: not found on kvm1; needed by web-1\n");
	HAS(r.out, "  + web-1: create on kvm1, then start\n");
	HAS(r.out, "      after: #1 #2\n");
	HAS(r.out, "warning: targeted: 1 of 10 VMs (web-1); other drift is not shown or acted on");
	HAS(r.out, "Plan: 2 to create, 0 to update, 0 to delete, 0 to start, 0 to stop, 1 image to upload.\n");
	HASNT(r.out, "web-2");
	HASNT(r.out, "db-1");
	nc_run_free(&r);

	ck_assert_int_eq(shq(APPLY), 0);
	/* drift on three VMs */
	ck_assert_int_eq(shq(SIM " kvm2 setvcpus web-1 4 && " SIM " kvm1 setvcpus web-3 4 && " SIM
			     " kvm2 destroy worker-1"), 0);

	ck_assert_int_eq(sh(&r, PLAN " -l 'app=batch,role!=db' -o json"), 2);
	HASJ(r.out, "\"targets\": [], \"replace\": [], \"selector\": \"app=batch,role!=db\"}");
	HASJ(r.out, "\"scope\": {\"vms\": 4, \"of\": 10}");
	HASJ(r.out, "\"action\": \"start\", \"vm\": \"worker-1\"");
	HASNT(r.out, "web-1");
	nc_run_free(&r);

	/* selecting nothing is an answer, not an error */
	ck_assert_int_eq(sh(&r, PLAN " -l app=nothing"), 0);
	HAS(r.out, "warning: targeted: 0 of 10 VMs (selector app=nothing): it matches no VM, so nothing is planned");
	HAS(r.out, "No changes for the targeted VMs (the others were not looked at).");
	nc_run_free(&r);

	/* saved with its scope: show reads it, apply honours it */
	ck_assert_int_eq(sh(&r, PLAN " --target web-1 --out t.plan"), 2);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC show t.plan"), 0);
	HAS(r.out, "Saved plan t.plan (format 1)\n  paths: spec; state dir: state;");
	HAS(r.out, "  targets: web-1; selector: -; replace: -\n  digests: spec ");
	HAS(r.out, "  partial: no\n");
	HAS(r.out, "  ~ web-1: update on kvm2\n");
	HAS(r.out, "      ~ vcpus: 4 -> 2 (restart)\n");
	HAS(r.out, "Plan: 0 to create, 1 to update, 0 to delete, 0 to start, 0 to stop.\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC show -o markdown t.plan"), 0);
	HAS(r.out, "### NovaCron saved plan: 0 to create, 1 to update");
	HAS(r.out, "| 1 | `~` | web-1 | update | kvm2 |");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC show -o json t.plan | cmp - t.plan"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC apply t.plan --target web-2"), 1);
	HAS(r.err, "a saved plan keeps the scope it was made with");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC apply t.plan"), 0);
	HAS(r.out, "Apply complete: 1 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	/* the others are still drifted: the apply touched web-1 alone (a rebalance note may still
	 * name web-1 as a candidate move: no action for it) */
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HASNT(r.out, "  ~ web-1:");
	HASNT(r.out, "| web-1 |");
	HAS(r.out, "  ~ web-3: update on kvm1\n");
	HAS(r.out, "  ~ worker-1: start on kvm2\n");
	nc_run_free(&r);

	/* bad input: nothing planned, nothing contacted */
	ck_assert_int_eq(sh(&r, PLAN " --target web-l"), 1);
	HAS(r.err, "novacron plan: --target web-l: no VM named 'web-l' in the spec; did you mean 'web-1'?; "
		   "nothing was planned\n");
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --target Network/lann"), 1);
	HAS(r.err, "no Network named 'lann' in the spec; did you mean 'lan'?");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --target Host/kvm1"), 1);
	HAS(r.err, "--target Host/kvm1: unknown kind");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " -l 'app=a=b'"), 1);
	HAS(r.err, "--selector: cannot read 'app=a=b'");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --replace db-9"), 1);
	HAS(r.err, "--replace db-9: no VM named 'db-9' in the spec; did you mean 'db-1'?");
	nc_run_free(&r);
}
END_TEST

/* --replace: the domain is defined anew (new UUID) on the same disks; the plan says so first */
START_TEST(test_scope_replace)
{
	struct nc_run r;
	char *before, *after;

	ck_assert_int_eq(shq(APPLY), 0);
	before = uuid_of("kvm3", "db-1");
	ck_assert_int_eq((int)strlen(before), 37);   /* 36 + newline */
	ck_assert_int_eq(sh(&r, PLAN " --replace db-1"), 2);
	HAS(r.out, "  ~ db-1: replace on kvm3 (stop, undefine, define anew, start; disks kept)\n"
		   "      why: replace asked (--replace): shut down, undefined and defined anew (a new UUID), then "
		   "started; disks kept");
	HAS(r.out, "Plan: 0 to create, 1 to update, 0 to delete, 0 to start, 0 to stop.\n");
	nc_run_free(&r);
	/* a VM --replace names is in a scoped plan too */
	ck_assert_int_eq(sh(&r, PLAN " --target web-1 --replace db-1"), 2);
	HAS(r.out, "warning: targeted: 2 of 10 VMs (web-1); ");
	HAS(r.out, "  ~ db-1: replace on kvm3");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --replace db-1 -o json"), 2);
	HASJ(r.out, "\"action\": \"replace\", \"vm\": \"db-1\"");
	HASJ(r.out, "\"replace\": [\"db-1\"]");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY " --replace db-1"), 0);
	HAS(r.out, "replace db-1 on kvm3 ... done");
	nc_run_free(&r);
	after = uuid_of("kvm3", "db-1");
	ck_assert_int_eq((int)strlen(after), 37);
	ck_assert_str_ne(before, after);
	ck_assert_int_eq(sh(&r, SIM " kvm3 list"), 0);
	HAS(r.out, "db-1                 running   4 vCPU 8GiB     managed");
	nc_run_free(&r);
	/* the same disks, the same definition: nothing left to do */
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "No changes. The cluster matches the spec.");
	nc_run_free(&r);
	free(before);
	free(after);
}
END_TEST

/*
 * ignoreDifferences and novacron.io/reconcile: disabled: drift shown as
 * ignored or suspended, never corrected, through a drain; validate's errors.
 */
START_TEST(test_scope_ignore_suspend)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("sed -i 's/^  name: web-3$/  name: web-3\\n  annotations: {novacron.io\\/reconcile: enabled}/; "
			     "0,/^  template: web$/s//  template: web\\n  ignoreDifferences: [vcpuz]/' spec/vms/web.yaml && "
			     "sed -i 's/^  name: worker-1$/  name: worker-1\\n  annotations:\\n    novacron.io\\/reconcile: maybe/' "
			     "spec/vms/workers.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC validate spec 2>&1"), 1);
	HAS(r.out, "spec/vms/web.yaml:11:23: error: ignoreDifferences: unknown field 'vcpuz'; did you mean 'vcpus'?");
	HAS(r.out, "spec/vms/workers.yaml:7:5: error: annotation novacron.io/reconcile: 'maybe' is not enabled or disabled");
	nc_run_free(&r);
	ck_assert_int_eq(shq("sed -i 's/vcpuz/vcpus, state/' spec/vms/web.yaml && "
			     "sed -i 's/reconcile: maybe/reconcile: disabled/' spec/vms/workers.yaml"), 0);
	ck_assert_int_eq(shq(SIM " kvm2 setvcpus web-1 4 && " SIM " kvm2 destroy web-1 && " SIM
			     " kvm2 destroy worker-1"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "note: ignored: VM web-1 vcpus (desired 2, observed 4)\n");
	HAS(r.out, "note: ignored: VM web-1 state (desired running, observed shut off)\n");
	HAS(r.out, "warning: suspended: VM worker-1 (annotation novacron.io/reconcile: disabled): not acted on: start "
		   "on kvm2 (shut off; the spec says running)\n");
	HAS(r.out, "No changes. The cluster matches the spec but for what is ignored or suspended above.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " -o json"), 0);
	HASJ(r.out, "\"suspended\": 1, \"ignored\": 2");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm2 list"), 0);
	HAS(r.out, "web-1                shut off  4 vCPU 2GiB     managed");
	HAS(r.out, "worker-1             shut off  1 vCPU 512MiB   managed");
	nc_run_free(&r);
	/* kvm2 drained: the others move, the suspended VM stays */
	ck_assert_int_eq(shq("sed -i 's|  uri: sim:///kvm2|  uri: sim:///kvm2\\n  maintenance: true|' spec/hosts/hosts.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "  ~ worker-2: migrate kvm2 -> ");
	HASNT(r.out, "  ~ worker-1: migrate");
	HAS(r.out, "warning: suspended: VM worker-1 (annotation novacron.io/reconcile: disabled): not moved off kvm2 "
		   "(in maintenance)\n");
	nc_run_free(&r);
}
END_TEST

#define HA_SPEC \
	"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: \"sim:///h1?cpus=8&memory=16GiB\"}\n---\n" \
	"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h2}\nspec: {uri: \"sim:///h2?cpus=8&memory=16GiB\"}\n---\n" \
	"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: ceph}\nspec: {type: rbd, rbd: {pool: rbd}}\n---\n" \
	"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: w, annotations: {novacron.io/reconcile: %s}}\n" \
	"spec: {vcpus: 1, memory: 1GiB, ha: {policy: restart}, disks: [{name: root, pool: ceph, size: 1GiB}]}\n"

/* a suspended VM whose host failed and was fenced is not restarted elsewhere; enabled, it is */
START_TEST(test_scope_suspend_ha)
{
	struct nc_run r;
	FILE *f;
	char *p;

	ck_assert_int_eq(shq("rm -rf spec && mkdir -p spec state && " SIM " h1 down"), 0);
	p = nc_xasprintf("%s/state/hosts.json", tdir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"uri\": \"sim:///h1?cpus=8&memory=16GiB\", "
	      "\"vms\": [\"w\"]}, {\"name\": \"h2\", \"uri\": \"sim:///h2?cpus=8&memory=16GiB\", \"vms\": []}]}\n", f);
	fclose(f);
	free(p);
	p = nc_xasprintf("%s/state/ha.json", tdir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"failed_at\": 1796000000, \"fenced\": true, "
	      "\"fenced_at\": 1796000012, \"fenced_by\": \"operator\", \"whole_host\": true, \"disks\": [], "
	      "\"recovered\": []}]}\n", f);
	fclose(f);
	free(p);
	p = nc_xasprintf("%s/spec/c.yaml", tdir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, HA_SPEC, "disabled");
	fclose(f);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "warning: suspended: VM w (annotation novacron.io/reconcile: disabled): not acted on: recover "
		   "(restart elsewhere) on h2");
	HASNT(r.out, "+ w: recover");
	nc_run_free(&r);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, HA_SPEC, "enabled");
	fclose(f);
	free(p);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "+ w: recover on h2, then start");
	nc_run_free(&r);
	/* h1 is back, empty: only a full pass clears its HA record, not a scoped one */
	ck_assert_int_eq(shq(SIM " h1 up && sed -i 's/spec: {vcpus/spec: {state: absent, vcpus/' spec/c.yaml"), 0);
	ck_assert_int_eq(sh(&r, APPLY " --target w"), 0);
	HASNT(r.out, "host h1 is back");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "grep -c '\"h1\"' state/ha.json"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "host h1 is back: its HA record is cleared");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_scope(void)
{
	Suite *s = suite_create("scope");
	TCase *tc = tcase_create("sim");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_scope_target_selector);
	tcase_add_test(tc, test_scope_replace);
	tcase_add_test(tc, test_scope_ignore_suspend);
	tcase_add_test(tc, test_scope_suspend_ha);
	suite_add_tcase(s, tc);
	return s;
}
