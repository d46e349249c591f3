/*
 * test_reconcile.c - plan and apply against libvirt's test driver, through
 * the real binary: convergence, drift, unmanaged domains, unreachable hosts,
 * pruning and its safety threshold, deletion protection, saved plans,
 * recovery after a failure at every driver call, and domain XML escaping.
 *
 * Each test works in its own temporary directory T holding a copy of
 * examples/quickstart in T/spec and the simulated hosts' state in T/state,
 * and runs commands from T so that plans (which name those paths) are the
 * same on every run.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../drivers/driver.h"
#include "tests.h"
#include "testutil.h"


static char tdir[64];

static void setup(void)
{
	struct nc_run r;
	char *cmd;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-reconcile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	cmd = nc_xasprintf("cp -r examples/quickstart '%s/spec'", tdir);
	nc_run_shell(&r, cmd);
	ck_assert_int_eq(r.status, 0);
	nc_run_free(&r);
	free(cmd);
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

/* Runs a shell command in T with $NC set to the novacron binary. */
#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

#define PLAN "$NC plan spec --state-dir state"
#define APPLY "$NC apply spec --state-dir state --auto-approve"
#define SIM "$NC sim --state-dir state"

START_TEST(test_converges_and_stays)
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "Plan: 13 to create, 0 to update, 0 to delete, 0 to start, 0 to stop, 3 images to upload.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "Apply complete: 16 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	/* a later process sees the same cluster: nothing to do */
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "No changes. The cluster matches the spec.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "for h in kvm1 kvm2 kvm3; do " SIM " $h list; done"), 0);
	HAS(r.out, "db-1                 running   4 vCPU 8GiB     managed");
	HAS(r.out, "scratch              shut off  1 vCPU 512MiB   managed");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm3 list"), 0);
	HAS(r.out, "db-1 ");     /* pinned to kvm3 */
	nc_run_free(&r);
}
END_TEST

/*
 * The observed cluster's digest covers the domains' UUIDs, new with every
 * apply: after an apply, JSON's digests line is compared as a placeholder.
 */
static void mask_digests(struct nc_run *r)
{
	char *p = strstr(r->out, "  \"digests\": {"), *e, *out;

	/* the object ends at its closing brace, on a line of its own */
	if (!p || !(e = strstr(p, "\n  }")))
		return;
	e += 4;
	out = nc_xasprintf("%.*s  \"digests\": \"(masked: the domains' UUIDs differ per apply)\"%s",
			   (int)(p - r->out), r->out, e);
	free(r->out);
	r->out = out;
}

/* the plan in each format twice (same bytes), compared with golden/NAME.{txt,json,md} */
static void plan_goldens(const char *name, bool applied)
{
	static const struct {
		const char *flag, *ext;
	} fmts[] = {
		{ "", "txt" },
		{ "--output json", "json" },
		{ "--output markdown", "md" },
	};
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(fmts); i++) {
		struct nc_run a, b;
		char *path = nc_xasprintf("%s/test/golden/%s.%s", NC_SOURCE_DIR, name, fmts[i].ext);
		const char *regen = getenv("NC_TEST_REGENERATE");
		char *want = NULL;
		size_t len;

		ck_assert_int_eq(sh(&a, PLAN " %s", fmts[i].flag), 2);
		ck_assert_int_eq(sh(&b, PLAN " %s", fmts[i].flag), 2);
		ck_assert_str_eq(a.out, b.out);
		if (applied)
			mask_digests(&a);
		if (regen && *regen && strcmp(regen, "0") != 0) {
			FILE *f = fopen(path, "w");

			ck_assert_ptr_nonnull(f);
			fputs(a.out, f);
			fclose(f);
		}
		ck_assert_msg(nc_read_file(path, 1 << 20, &want, &len) == 0, "cannot read %s", path);
		if (strcmp(want, a.out) != 0) {
			char *d = nc_first_diff(want, a.out);

			ck_abort_msg("%s differs (NC_TEST_REGENERATE=1 rewrites it): %s", path, d);
		}
		free(want);
		free(path);
		nc_run_free(&a);
		nc_run_free(&b);
	}
}

START_TEST(test_plan_golden_and_deterministic)
{
	plan_goldens("plan-quickstart", false);
}
END_TEST

START_TEST(test_drift_detected_and_restored)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq(SIM " kvm2 setmem web-1 1GiB"), 0);
	ck_assert_int_eq(shq(SIM " kvm2 destroy worker-1"), 0);
	ck_assert_int_eq(shq(SIM " kvm2 detach-nic worker-2 52:54:00:e6:79:3b"), 0);
	ck_assert_int_eq(shq(SIM " kvm1 setvcpus cache-1 3"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ web-1: update on kvm2\n      why: drift: changed outside NovaCron\n"
		   "      ~ memory (live): 1GiB -> 2GiB\n");
	HAS(r.out, "~ worker-1: start on kvm2\n      why: shut off; the spec says running\n");
	HAS(r.out, "~ nic eth0: (none) -> 52:54:00:e6:79:3b network:lan virtio (restart)");
	HAS(r.out, "~ vcpus: 3 -> 1 (restart)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"action\": \"update\", \"vm\": \"web-1\", \"host\": \"kvm2\", \"reason\": "
		   "\"drift: changed outside NovaCron\", \"drift\": true");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "Apply complete: 4 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm2 list"), 0);
	HAS(r.out, "web-1                running   2 vCPU 2GiB     managed");
	HAS(r.out, "worker-1             running");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_spec_change_update)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	/* cache-1: 4GiB -> 2GiB gives memory back live; db-1 gets more vCPUs */
	ck_assert_int_eq(shq("sed -i 's/  memory: 4GiB/  memory: 2GiB/' spec/vms/db.yaml && "
			     "sed -i 's/  vcpus: 4/  vcpus: 6\\n  allowRestart: true/' spec/vms/db.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ cache-1: update on kvm1\n      why: spec changed\n      ~ memory: 4GiB -> 2GiB\n");
	HAS(r.out, "~ db-1: update on kvm3 (with restart)\n      why: spec changed; restart allowed\n"
		   "      ~ vcpus: 4 -> 6 (restart)\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm3 list"), 0);
	HAS(r.out, "db-1                 running   6 vCPU 8GiB");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_unmanaged_never_touched)
{
	struct nc_run r;

	ck_assert_int_eq(shq(SIM " kvm1 define-unmanaged legacy"), 0);
	ck_assert_int_eq(shq(APPLY " --prune"), 0);
	ck_assert_int_eq(sh(&r, PLAN " --prune"), 0);
	HAS(r.out, "unmanaged (never touched): kvm1/legacy\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm1 list"), 0);
	HAS(r.out, "legacy               shut off  1 vCPU 256MiB   unmanaged");
	nc_run_free(&r);

	/* an unmanaged domain with a VM's name blocks that VM, loudly */
	ck_assert_int_eq(shq(SIM " kvm2 define-unmanaged web-9"), 0);
	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: web-9}\\n"
			     "spec: {template: small}\\n' >> spec/vms/web.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "error: a domain named web-9 exists on kvm2 but is not managed by NovaCron: it is "
		   "never touched; rename the VM or the domain\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.err, "the plan has errors; nothing was applied");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_unreachable_host_is_not_empty)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: Host\\nmetadata: {name: kvm9}\\n"
			     "spec: {uri: \"qemu+unix:///system\"}\\n"
			     "---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: new-1}\\n"
			     "spec: {template: small}\\n' > spec/extra.yaml"), 0);
	/* the socket comes from the operator's connections, never from the spec */
	ck_assert_int_eq(shq("printf 'connections:\\n  - host: kvm9\\n"
			     "    params: socket=/nonexistent/novacron-test.sock\\n' > conn.yaml"), 0);
	/* a partial plan is printed, and exits 1 (never "matches the spec") */
	ck_assert_int_eq(sh(&r, PLAN " --prune --config conn.yaml"), 1);
	HAS(r.out, "kvm9         qemu+unix:///system      unreachable: cannot connect: ");
	HASNT(r.out, "/nonexistent");
	HAS(r.out, "warning: host kvm9 is unreachable (cannot connect: ");
	HAS(r.out, "warning: VM new-1 was not found on any reachable host; it is not created while 1 host is unreachable\n");
	HAS(r.out, "Partial plan: 1 host could not be read (kvm9): what it holds is unknown, so the cluster may "
		   "not match the spec.\n1 VM is not created: ");
	HAS(r.out, "Plan: 0 to create, 0 to update, 0 to delete, 0 to start, 0 to stop.\n");
	HASNT(r.out, "No changes.");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_hung_host_times_out)
{
	/* a socket that accepts connections and never answers: libvirt waits */
	struct sockaddr_un addr;
	struct nc_run r;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/hung.sock", tdir);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(shq("printf -- '---\napiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: kvm0}\n"
			     "spec: {uri: \"qemu+unix:///system\"}\n' > spec/hung.yaml"), 0);
	ck_assert_int_eq(shq("printf 'connections:\n  - host: kvm0\n    uri: \"qemu:///system?socket=%s\"\n' "
			     "> conn.yaml", addr.sun_path), 0);
	ck_assert_int_eq(sh(&r, PLAN " --timeout 1 --config conn.yaml"), 1);   /* partial */
	HAS(r.out, "unreachable: timed out after 1.0 s\n");
	HAS(r.out, "warning: host kvm0 is unreachable (timed out after 1.0 s)");
	/* the other hosts were observed all the same */
	HAS(r.out, "kvm1         sim:///kvm1              ok, 16 CPUs");
	nc_run_free(&r);
	close(fd);
}
END_TEST

START_TEST(test_prune_threshold_and_protection)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	/* worker-1..4 and scratch leave the spec: 5 of 10 managed VMs */
	ck_assert_int_eq(shq("rm spec/vms/workers.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "note: worker-1 on kvm2 is managed by NovaCron but not in the spec; pass --prune to delete it\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --prune"), 1);
	HAS(r.out, "error: refusing to delete 5 of 10 managed VMs (more than 25%); pass --allow-mass-delete to confirm\n");
	HAS(r.out, "Plan refused: 0 to create, 0 to update, 5 to delete, 0 to start, 0 to stop.\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY " --prune"), 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --prune --delete-threshold 60"), 2);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY " --prune --allow-mass-delete"), 0);
	HAS(r.out, "- worker-1: delete on kvm2\n      why: pruned: not in the spec; disks retained\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm2 list"), 0);
	HASNT(r.out, "worker-1");
	nc_run_free(&r);

	/* db-1 was applied with deletionProtection: pruning refuses it */
	ck_assert_int_eq(shq("rm spec/vms/db.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN " --prune --allow-mass-delete"), 1);
	HAS(r.out, "error: db-1 on kvm3 is not in the spec, but it was applied with deletionProtection: not pruned");
	HAS(r.out, "- cache-1: delete on kvm1");
	nc_run_free(&r);
}
END_TEST

/* backup and restore commands on simulated hosts whose disk files exist (qemu-img) */
START_TEST(test_backup_commands_sim)
{
	struct nc_run r;
	char id[17], *cfg;
	const char *p;

	ck_assert_int_eq(shq("sed -i \"s#/var/backups/novacron#$PWD/repo#; s#/var/lib/novacron/pools/local#$PWD/pool#\" "
			     "$(grep -rl 'kind: BackupSchedule\\|kind: StoragePool' spec)"), 0);
	/* web's disks 2 and 5 GiB instead of 20 and 50: an offline backup reads every byte */
	ck_assert_int_eq(shq("sed -i 's/size: 20GiB/size: 2GiB/; s/size: 50GiB/size: 5GiB/' spec/templates/templates.yaml"), 0);
	/* the operator allows them there (the roots of spec/roots.h), for every command below */
	ck_assert_int_eq(shq("printf 'paths: {pools: [\"%%s\"], backups: [\"%%s\"]}\\n' \"$PWD\" \"$PWD\" > novacron.yaml"), 0);
	cfg = nc_xasprintf("%s/novacron.yaml", tdir);
	setenv("NOVACRON_CONFIG", cfg, 1);
	free(cfg);
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule nightly spec --state-dir state"), 1);
	HAS(r.err, "BackupSchedule nightly: its dir target holds no repository yet (no backup has run)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup run web-1 spec --state-dir state"), 1);
	HAS(r.err, "(simulated hosts have no disk data)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup run nosuch spec --state-dir state"), 1);
	HAS(r.err, "novacron backup run: no VM named 'nosuch'");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup run --schedule nope spec --state-dir state"), 1);
	HAS(r.err, "no BackupSchedule named 'nope'");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup frob"), 1);
	HAS(r.err, "novacron backup: unknown subcommand 'frob'");
	nc_run_free(&r);

	/* give the simulated disks content: then they are read like a shut-off VM's */
	ck_assert_int_eq(shq("mkdir -p pool && qemu-img create -q -f qcow2 pool/web-1-root.qcow2 2G && "
			     "qemu-img create -q -f qcow2 pool/web-1-data.qcow2 5G && "
			     "qemu-io -f qcow2 -c 'write -P 0x42 1M 3M' pool/web-1-root.qcow2 >/dev/null"), 0);
	ck_assert_int_eq(sh(&r, "$NC backup run web-1 spec --state-dir state"), 0);
	HAS(r.out, "web-1: backup ");
	HAS(r.out, "(offline, quiesced)");
	HAS(r.out, "disk root ");
	HAS(r.out, "disk data ");
	nc_run_free(&r);
	/* the same disks again: every chunk is already there */
	ck_assert_int_eq(sh(&r, "$NC backup run web-1 spec --state-dir state"), 0);
	HAS(r.out, " 0 new, ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule nightly --vm web-1 spec --state-dir state"), 0);
	HAS(r.out, "ID                VM               DISK");
	ck_assert_ptr_nonnull((p = strstr(r.out, "\n")));
	snprintf(id, sizeof(id), "%.16s", p + 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule nightly -o json spec --state-dir state"), 0);
	HAS(r.out, "\"vm\": \"web-1\",\n      \"disk\": \"data\"");
	HAS(r.out, "\"disk_size\": 2147483648,\n      \"quiesced\": true");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC backup check --schedule nightly --read-data spec --state-dir state"), 0);
	HAS(r.out, "check --read-data: 4 backups (0 bad)");
	HAS(r.out, "repository is consistent");
	nc_run_free(&r);
	/* keepLast 3 of each disk: one of each goes */
	ck_assert_int_eq(sh(&r, "$NC backup prune --schedule nightly --dry-run spec --state-dir state"), 0);
	HAS(r.out, "prune: 4 kept, 0 to remove");
	nc_run_free(&r);
	/* a corrupt chunk is found and named */
	ck_assert_int_eq(shq("f=$(find repo/chunks -type f | head -1) && printf 'X' | dd of=$f bs=1 seek=20 conv=notrunc 2>/dev/null"), 0);
	ck_assert_int_eq(sh(&r, "$NC backup check --schedule nightly --read-data spec --state-dir state"), 1);
	HAS(r.out, "1 corrupt");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, "$NC restore web-1 spec --state-dir state"), 1);
	HAS(r.err, "usage: novacron restore VM --backup ID");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC restore web-1 --backup %s spec --state-dir state", id), 1);
	HAS(r.err, "is running on kvm");
	HAS(r.err, "stop it first");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC restore web-1 --backup 0000ffff spec --state-dir state"), 1);
	nc_run_free(&r);
	unsetenv("NOVACRON_CONFIG");
}
END_TEST

START_TEST(test_state_absent_deletes)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	/* apply made the VM's volume in the simulated host's pool */
	ck_assert_int_eq(shq("grep -q '<name>scratch-root.qcow2</name>' state/kvm2.xml"), 0);
	ck_assert_int_eq(shq("sed -i 's/  state: stopped/  state: absent/' spec/vms/workers.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "- scratch: delete on kvm2\n      why: state: absent; disks deleted (deletionPolicy: delete)\n");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("grep -q 'scratch-root.qcow2' state/kvm2.xml"), 1);
	/* a VM whose policy retains its disks keeps them */
	ck_assert_int_eq(shq("grep -q '<name>web-1-root.qcow2</name>' state/kvm*.xml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

START_TEST(test_saved_plan_verbatim_or_refused)
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, PLAN " --out p.json"), 2);
	HAS(r.out, "Saved the plan to p.json; apply exactly it with: novacron apply p.json\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC apply p.json"), 0);
	HAS(r.out, "Apply complete: 16 done, 0 failed, 0 skipped.");
	nc_run_free(&r);

	/* the cluster moves after the plan: refused */
	ck_assert_int_eq(shq(SIM " kvm2 destroy web-1"), 0);
	ck_assert_int_eq(shq(PLAN " --out p.json"), 2);
	ck_assert_int_eq(shq(SIM " kvm2 destroy worker-1"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply p.json"), 1);
	HAS(r.err, "refusing the saved plan: the cluster changed since it was made; run novacron plan again\n");
	nc_run_free(&r);

	/* the spec moves after the plan: refused */
	ck_assert_int_eq(shq(PLAN " --out p.json"), 2);
	ck_assert_int_eq(shq("sed -i 's/  memory: 4GiB/  memory: 3GiB/' spec/vms/db.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply p.json"), 1);
	HAS(r.err, "refusing the saved plan: the spec changed since it was made");
	nc_run_free(&r);

	/* nothing moved: applied verbatim */
	ck_assert_int_eq(shq(PLAN " --out p.json"), 2);
	ck_assert_int_eq(sh(&r, "$NC apply p.json"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "echo '{\"x\": 1}' > bad.json && $NC apply bad.json"), 1);
	HAS(r.err, "bad.json is not a plan file written by novacron plan --out");
	nc_run_free(&r);
}
END_TEST

/* a saved migration is refused when the VM would now go to another host (its pin moved) */
START_TEST(test_saved_plan_refused_when_target_changes)
{
	struct nc_run r;
	const char *spec3 =
		"mkdir -p s3 && for h in h1 h2 h3; do printf 'apiVersion: novacron.io/v1\\nkind: Host\\n"
		"metadata: {name: %s}\\nspec: {uri: \"sim:///%s\"}\\n---\\n' $h $h; done > s3/all.yaml && "
		"printf 'apiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: v}\\n"
		"spec: {vcpus: 1, memory: 1GiB, placement: {host: h1}}\\n' >> s3/all.yaml";

	ck_assert_int_eq(shq("%s", spec3), 0);
	ck_assert_int_eq(shq("$NC apply s3 --state-dir st3 --auto-approve"), 0);
	ck_assert_int_eq(shq("sed -i 's/host: h1/host: h2/' s3/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC plan s3 --state-dir st3 --out p.json"), 2);
	HAS(r.out, "~ v: migrate h1 -> h2 (live)");
	nc_run_free(&r);
	ck_assert_int_eq(shq("sed -i 's/host: h2/host: h3/' s3/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply p.json"), 1);
	HAS(r.err, "refusing the saved plan: the plan changed since it was made");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir st3 h1 list"), 0);
	HAS(r.out, "v ");
	nc_run_free(&r);
	/* the pin back where the plan said: applied */
	ck_assert_int_eq(shq("sed -i 's/host: h3/host: h2/' s3/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply p.json"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir st3 h2 list"), 0);
	HAS(r.out, "v ");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_fault_at_every_call_converges)
{
	/* 10 defines and 9 starts: fail each call in turn, then run again */
	int k;

	for (k = 1; k <= 19; k++) {
		struct nc_run r;

		ck_assert_int_eq(shq("rm -rf state"), 0);
		ck_assert_int_eq(sh(&r, "NOVACRON_FAIL_AT=%d " APPLY, k), 1);
		HAS(r.out, "injected failure");
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, APPLY), 0);
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, PLAN), 0);
		nc_run_free(&r);
		/* exactly the ten VMs, each once, running except scratch */
		ck_assert_int_eq(sh(&r, "for h in kvm1 kvm2 kvm3; do " SIM " $h list; done | sort"), 0);
		ck_assert_int_eq(strlen(r.out) > 0, 1);
		{
			size_t lines = 0, running = 0;
			const char *p;

			for (p = r.out; *p; p++)
				lines += *p == '\n';
			for (p = r.out; (p = strstr(p, " running ")); p++)
				running++;
			ck_assert_uint_eq(lines, 10);
			ck_assert_uint_eq(running, 9);
		}
		nc_run_free(&r);
	}
}
END_TEST

START_TEST(test_apply_needs_approval)
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state"), 1);
	HAS(r.err, "standard input is not a terminal: pass --auto-approve or apply a saved plan");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 2);    /* nothing was applied */
	nc_run_free(&r);
}
END_TEST

START_TEST(test_invalid_spec_touches_nothing)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("cat state/*.xml | sha256sum > before"), 0);
	ck_assert_int_eq(shq("sed -i 's/  vcpus: 4/  vcpus: 0/' spec/vms/db.yaml"), 0);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.err, "spec/vms/db.yaml:11:10: error: 'vcpus' must be at least 1, found 0\n");
	HAS(r.err, "novacron apply: the spec has 1 error; nothing was contacted\n");
	nc_run_free(&r);
	ck_assert_int_eq(shq("cat state/*.xml | sha256sum | cmp - before"), 0);
}
END_TEST

START_TEST(test_cli_plan_usage)
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, "$NC plan --output yaml spec"), 1);
	HAS(r.err, "--output must be text, json or markdown");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan --timeout 0 spec"), 1);
	HAS(r.err, "--timeout must be a number from 1 to 3600");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC apply --out x spec"), 1);
	HAS(r.err, "usage: novacron apply");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm1 frob x"), 1);
	HAS(r.err, "novacron sim: ");
	nc_run_free(&r);
}
END_TEST

/* ---- domain XML ---- */

START_TEST(test_domxml_escapes_spec_text)
{
	struct nc_disk_def disk = { "root", "vda", "virtio", "file", "/p/a'b\"<c>.qcow2", "qcow2", 1 << 30, true, NULL, NULL, NULL };
	struct nc_nic_def nic = { "eth0", "52:54:00:00:00:01", "network", "lan</source><x>", "virtio" };
	struct nc_domain_def def;
	struct nc_domain d;
	struct nc_err err;
	char *xml;

	memset(&def, 0, sizeof(def));
	def.name = "a</name><devices>";
	def.vcpus = 2;
	def.memory = 1ULL << 30;
	def.disks = &disk;
	def.ndisks = 1;
	def.nics = &nic;
	def.nnics = 1;
	def.meta_vm = "x&y";
	def.meta_hash = "h";
	xml = nc_domxml_build(&def, "test");
	HAS(xml, "<name>a&lt;/name&gt;&lt;devices&gt;</name>");
	HASNT(xml, "<devices>\n    <devices>");
	/* a serial console, but a name that is no DNS label never becomes a log file name */
	HAS(xml, "<serial type=\"pty\">");
	HASNT(xml, "<log ");
	ck_assert_int_eq(nc_domxml_parse(&d, xml, &err), 0);
	ck_assert_str_eq(d.name, "a</name><devices>");
	ck_assert_str_eq(d.meta_vm, "x&y");
	ck_assert_uint_eq(d.ndisks, 1);
	ck_assert_str_eq(d.disks[0].source, "/p/a'b\"<c>.qcow2");
	ck_assert(d.disks[0].boot);
	ck_assert_uint_eq(d.nnics, 1);
	ck_assert_str_eq(d.nics[0].source, "lan</source><x>");
	ck_assert_uint_eq(d.memory, 1ULL << 30);
	ck_assert_uint_eq(d.vcpus, 2);
	ck_assert(d.managed);
	nc_domain_release(&d);
	free(xml);
}
END_TEST

/* every domain has a serial console logged to NovaCron's own path, named after the domain */
START_TEST(test_domxml_console_log)
{
	struct nc_domain_def def;
	char *xml;

	memset(&def, 0, sizeof(def));
	def.name = "web-1";
	def.vcpus = 1;
	def.memory = 64ULL << 20;
	def.meta_vm = "web-1";
	def.meta_hash = "h";
	xml = nc_domxml_build(&def, "qemu");
	HAS(xml, "<serial type=\"pty\">\n      <log file=\"/var/log/libvirt/qemu/web-1-console.log\" append=\"off\"/>\n"
		 "      <target port=\"0\"/>\n    </serial>");
	HAS(xml, "<console type=\"pty\">\n      <target type=\"serial\" port=\"0\"/>\n    </console>");
	free(xml);
	def.name = "..";
	xml = nc_domxml_build(&def, "qemu");
	HASNT(xml, "<log ");
	free(xml);
}
END_TEST

/* ---- placement, drain, rebalance, capacity ---- */

#define MAINT(h) "sed -i 's|  uri: sim:///" h "|  uri: sim:///" h "\\n  maintenance: true|' spec/hosts/hosts.yaml"

/* a drain's plan: live and cold migrations, what the cold one copies (plan-drain.*) */
START_TEST(test_drain_plan_golden)
{
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq(MAINT("kvm2")), 0);
	plan_goldens("plan-drain", true);
}
END_TEST

START_TEST(test_drain_moves_what_fits)
{
	struct nc_run r, r2;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq(MAINT("kvm2")), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "kvm2         sim:///kvm2              ok, 16 CPUs, 64GiB, 6 domains, maintenance\n");
	/* a simulated volume holds no data: 0 B to send */
	HAS(r.out, "~ scratch: migrate kvm2 -> kvm1 (cold, copies 1 volume, 0 B allocated)\n"
		   "      why: drain: kvm2 is in maintenance\n");
	HAS(r.out, "~ worker-1: migrate kvm2 -> kvm1 (live)\n");
	/* web-1 has nowhere to go without breaking its required anti-affinity */
	HAS(r.out, "warning: cannot move web-1 off kvm2 (drain: kvm2 is in maintenance): no host fits: "
		   "kvm1: required anti-affinity over host of policy web-spread; kvm3: required "
		   "anti-affinity over host of policy web-spread; it stays\n");
	HAS(r.out, "Plan: 0 to create, 0 to update, 0 to delete, 0 to start, 0 to stop, 5 to migrate.\n");
	ck_assert_int_eq(sh(&r2, PLAN), 2);
	ck_assert_str_eq(r.out, r2.out);     /* deterministic */
	nc_run_free(&r);
	nc_run_free(&r2);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"action\": \"migrate\", \"vm\": \"worker-1\", \"host\": \"kvm2\", \"reason\": "
		   "\"drain: kvm2 is in maintenance\", \"drift\": false, \"restart\": false, "
		   "\"start_after\": false, \"target\": \"kvm1\", \"live\": true");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY " --max-migrations 3 --max-migrations-per-host 1"), 0);
	HAS(r.out, "Apply complete: 5 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm2 list"), 0);
	ck_assert_str_eq(r.out, "web-1                running   2 vCPU 2GiB     managed\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm1 list"), 0);
	HAS(r.out, "scratch              shut off");
	HAS(r.out, "worker-4             running");
	nc_run_free(&r);
}
END_TEST

/* An update that adds a disk cloned from an Image its host lacks uploads it there first. */
START_TEST(test_update_adding_image_disk_uploads)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: Image\\nmetadata: {name: tools}\\n"
			     "spec: {source: {url: \"https://images.example.org/tools.qcow2\"}, sha256: %s}\\n' >> spec/images.yaml",
			     "7777777777777777777777777777777777777777777777777777777777777777"), 0);
	ck_assert_int_eq(shq("sed -i 's/      bus: scsi/      bus: scsi\\n    - name: tools\\n      pool: local\\n"
			     "      size: 4GiB\\n      image: tools/' spec/vms/db.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "+ image tools: upload on kvm3 into pool local\n");
	HAS(r.out, "~ db-1: update on kvm3");
	HAS(r.out, "after: #1");
	/* no other host gets it: nothing there adds a disk from it */
	HASNT(r.out, "+ image tools: upload on kvm1");
	HASNT(r.out, "+ image debian-12");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/* A live move to a host without the Image of the VM's disks uploads it there first. */
START_TEST(test_live_move_uploads_image)
{
	struct nc_run r;
	const char *up, *mig;
	char *flat;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: Host\\nmetadata: {name: kvm4}\\n"
			     "spec: {uri: \"sim:///kvm4\"}\\n' >> spec/hosts/hosts.yaml"), 0);
	ck_assert_int_eq(shq("sed -i 's/    host: kvm3/    host: kvm4/' spec/vms/db.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "+ image debian-12: upload on kvm4 into pool local\n");
	HAS(r.out, "~ db-1: migrate kvm3 -> kvm4 (live)\n");
	nc_run_free(&r);
	/* the move waits for the upload */
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	flat = nc_json_oneline(r.out);
	free(r.out);
	r.out = flat;
	up = strstr(r.out, "\"action\": \"upload\", \"vm\": \"debian-12\", \"object\": \"image\", "
		 "\"pool\": \"local\", \"host\": \"kvm4\"");
	mig = strstr(r.out, "\"action\": \"migrate\", \"vm\": \"db-1\"");
	ck_assert_msg(up && mig, "%s", r.out);
	{
		const char *s = up, *after = strstr(mig, "\"after\": [");
		long id, dep;
		bool found = false;
		char *end;

		while (s > r.out && strncmp(s, "{\"id\": ", 7) != 0)
			s--;
		id = strtol(s + 7, NULL, 10);
		ck_assert_ptr_nonnull(after);
		for (s = after + strlen("\"after\": ["); *s && *s != ']'; s = end + (*end == ',' ? 1 : 0)) {
			dep = strtol(s, &end, 10);
			ck_assert_ptr_ne(end, s);
			found |= dep == id;
		}
		ck_assert_msg(found, "migrate does not wait for upload #%ld: %.200s", id, after);
	}
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " kvm4 list"), 0);
	HAS(r.out, "db-1                 running");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_pinned_host_moves)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("sed -i 's/    host: kvm3/    host: kvm2/' spec/vms/db.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	HAS(r.out, "~ db-1: migrate kvm3 -> kvm2 (live)\n      why: pinned to kvm2\n      placement: pinned to kvm2\n");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(sh(&r, SIM " kvm2 list"), 0);
	HAS(r.out, "db-1                 running   4 vCPU 8GiB     managed");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
}
END_TEST

/* the volumes named VOL in a simulated host's state file */
#define VOLS(h, vol) "grep -c '<name>" vol "</name>' state/" h ".xml"

/*
 * A cold migration copies the VM's local volume and removes the source's
 * once the domain is on the destination.  A failure at each mutating step
 * of the move in turn (the copy midway, the cloud-init seed, the move, the
 * removals) leaves the VM on kvm2 with its disk and no copy on kvm3, or
 * moved with its disk on kvm3 (a source volume that could not be removed
 * is said so and left); the next apply converges.
 */
START_TEST(test_cold_move_copies_volumes)
{
	struct nc_run r;
	int k, rc = 1;

	for (k = 1; rc != 0; k++) {
		bool moved, left;

		ck_assert_int_lt(k, 12);
		/* scratch (stopped, the last VM of the file) pinned to kvm2 */
		ck_assert_int_eq(shq("rm -rf state spec && cp -r '%s/examples/quickstart' spec && "
				     "printf '  placement:\\n    host: kvm2\\n' >> spec/vms/workers.yaml", NC_SOURCE_DIR), 0);
		ck_assert_int_eq(shq(APPLY), 0);
		ck_assert_int_eq(sh(&r, VOLS("kvm2", "scratch-root.qcow2")), 0);
		ck_assert_str_eq(r.out, "1\n");
		nc_run_free(&r);
		ck_assert_int_eq(shq("sed -i 's/^    host: kvm2/    host: kvm3/' spec/vms/workers.yaml"), 0);
		if (k == 1) {
			ck_assert_int_eq(sh(&r, PLAN), 2);
			/* a simulated volume holds no data: 0 B to send */
			HAS(r.out, "~ scratch: migrate kvm2 -> kvm3 (cold, copies 1 volume, 0 B allocated)\n");
			nc_run_free(&r);
			ck_assert_int_eq(sh(&r, PLAN " -o json"), 2);
			HASJ(r.out, "\"target\": \"kvm3\", \"live\": false, \"copy\": {\"volumes\": 1, \"bytes\": 0}");
			nc_run_free(&r);
		}
		rc = sh(&r, "NOVACRON_FAIL_AT=%d " APPLY, k);
		if (rc == 0) {
			ck_assert_int_ge(k, 4);    /* copy, seed, move, removals */
			nc_run_free(&r);
			break;
		}
		ck_assert_int_eq(rc, 1);
		HAS(r.out, "injected failure");
		if (k == 1)
			HAS(r.out, "migrate scratch kvm2 -> kvm3 (cold) ... failed: vol-copy: injected failure");
		left = strstr(r.out, "moved to kvm3, but the source volumes were not all removed: "
				     "vol-delete: injected failure") != NULL;
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, SIM " kvm2 list"), 0);
		moved = strstr(r.out, "scratch ") == NULL;
		nc_run_free(&r);
		/* on kvm2 with its disk and nothing on kvm3, or on kvm3 with its disk */
		sh(&r, VOLS("kvm2", "scratch-root.qcow2"));
		ck_assert_str_eq(r.out, !moved || left ? "1\n" : "0\n");
		nc_run_free(&r);
		sh(&r, VOLS("kvm3", "scratch-root.qcow2"));
		ck_assert_str_eq(r.out, moved ? "1\n" : "0\n");
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, APPLY), 0);
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, PLAN), 0);
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, SIM " kvm3 list"), 0);
		HAS(r.out, "scratch              shut off");
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, VOLS("kvm3", "scratch-root.qcow2")), 0);
		ck_assert_str_eq(r.out, "1\n");
		nc_run_free(&r);
		/* gone from the source, but for a removal that failed after the move */
		sh(&r, VOLS("kvm2", "scratch-root.qcow2"));
		ck_assert_str_eq(r.out, left ? "1\n" : "0\n");
		nc_run_free(&r);
	}
	/* the last run had no failure left to inject: moved, nothing left behind */
	ck_assert_int_eq(sh(&r, VOLS("kvm3", "scratch-root.qcow2")), 0);
	ck_assert_str_eq(r.out, "1\n");
	nc_run_free(&r);
	sh(&r, VOLS("kvm2", "scratch-root.qcow2"));
	ck_assert_str_eq(r.out, "0\n");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_nothing_fits_says_why)
{
	struct nc_run r;

	ck_assert_int_eq(shq("printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: huge}\\n"
			     "spec: {template: small, vcpus: 200}\\n' > spec/huge.yaml"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "error: cannot place VM huge: no host fits: kvm1: needs 200 vCPUs, 63 of 64 free; "
		   "kvm2: needs 200 vCPUs, 64 of 64 free; kvm3: needs 200 vCPUs, 60 of 64 free\n");
	nc_run_free(&r);
}
END_TEST

static void write_skewed(void)
{
	/* four hosts; twelve VMs that all start on h1, then may spread */
	ck_assert_int_eq(shq("rm -rf spec && mkdir spec && { "
			     "for h in h1 h2 h3 h4; do printf -- '---\\napiVersion: novacron.io/v1\\nkind: Host\\n"
			     "metadata: {name: %%s}\\nspec: {uri: \"sim:///%%s?cpus=16&memory=32GiB\"}\\n' $h $h; done; "
			     "printf -- '---\\napiVersion: novacron.io/v1\\nkind: PlacementPolicy\\nmetadata: {name: even}\\n"
			     "spec: {vmSelector: {matchLabels: {app: a}}, rebalance: {enabled: true, maxMovesPerPass: 3}}\\n'; "
			     "for i in 01 02 03 04 05 06 07 08 09 10 11 12; do printf -- '---\\napiVersion: novacron.io/v1\\n"
			     "kind: VM\\nmetadata: {name: v%%s, labels: {app: a}}\\nspec: {vcpus: 1, memory: 2GiB, "
			     "placement: {host: h1}}\\n' $i; done; } > spec/all.yaml"), 0);
}

START_TEST(test_rebalance_evens_out_within_budget)
{
	struct nc_run r;
	int pass;

	write_skewed();
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("sed -i 's/, placement: {host: h1}//' spec/all.yaml"), 0);
	ck_assert_msg(sh(&r, PLAN) == 2, "plan exit %d: %.2000s", r.status, r.err);
	HAS(r.out, "Plan: 0 to create, 0 to update, 0 to delete, 0 to start, 0 to stop, 3 to migrate.\n");
	HAS(r.out, "~ v01: migrate h1 -> h2 (live)\n      why: rebalance (policy even): imbalance 26.6303 -> 23.7636 "
		   "(gain 2.8666)\n");
	HAS(r.out, "Imbalance score: 26.6303 now, 17.7535 after this plan (docs/placement.md).\n");
	HAS(r.out, "note: rebalance: 3 moves; the budget of policy even ends this pass (maxMovesPerPass 3); "
		   "imbalance 26.6303 -> 17.7535, later passes go on\n");
	nc_run_free(&r);
	/* each pass moves at most three, until no move is worth it */
	for (pass = 0; pass < 6; pass++) {
		int st = sh(&r, APPLY);

		ck_assert_msg(st == 0, "apply failed (exit %d): %.2000s%.2000s", st, r.out, r.err);
		if (strstr(r.out, "No changes.")) {
			nc_run_free(&r);
			break;
		}
		nc_run_free(&r);
	}
	ck_assert_int_lt(pass, 6);
	ck_assert_int_eq(sh(&r, PLAN), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "for h in h1 h2 h3 h4; do " SIM " $h list | wc -l; done | tr '\\n' ' '"), 0);
	ck_assert_str_eq(r.out, "3 3 3 3 ");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_capacity_report)
{
	struct nc_run r;

	ck_assert_int_eq(shq(APPLY), 0);
	/* db-1 is pinned to kvm3: it cannot restart anywhere else */
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --template small"), 2);
	HAS(r.out, "HOST         STATE        VCPUS                  MEMORY                       VMS  N+1\n");
	HAS(r.out, "kvm3         ok           6/64 (9%)              10GiB/32GiB (31%)              2  FAIL: db-1 cannot restart elsewhere\n");
	HAS(r.out, "kvm1         ok           3/64 (5%)              6GiB/64GiB (9%)                2  ok\n");
	HAS(r.out, "N+1: FAIL on 1 host: losing one of them would leave VMs with nowhere to restart.\n");
	HAS(r.out, "Template small: 162 more VMs fit.\n");
	nc_run_free(&r);
	ck_assert_int_eq(shq("sed -i '/^  placement:$/{N;/host: kvm3/d}' spec/vms/db.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state"), 0);
	HAS(r.out, "N+1: ok: any one host can fail and its VMs restart on the others.\n");
	nc_run_free(&r);
	ck_assert_int_eq(shq(MAINT("kvm2")), 0);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --output json"), 2);
	HAS(r.out, "\"name\": \"kvm3\",\n      \"state\": \"ok\",\n      \"vcpus_used\": 6,\n      \"vcpus_capacity\": 64,\n");
	HAS(r.out, "\"name\": \"kvm1\",\n      \"state\": \"ok\",\n      \"vcpus_used\": 3,\n      \"vcpus_capacity\": 64,\n"
		   "      \"memory_used\": 6442450944,\n      \"memory_capacity\": 68719476736,\n      \"vms\": 2,\n"
		   "      \"n1\": false,\n      \"stranded\": \"cache-1\"\n    }");
	HAS(r.out, "\"state\": \"maintenance\",\n");
	HAS(r.out, "\"vms\": 6,\n      \"n1\": null,\n      \"stranded\": \"\"\n    }");
	HAS(r.out, "\"n1\": false\n}");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC capacity spec --state-dir state --template nope"), 1);
	HAS(r.err, "no Template named 'nope'");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_reconcile(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("sim");
	TCase *tx = tcase_create("domxml");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_converges_and_stays);
	tcase_add_test(tc, test_plan_golden_and_deterministic);
	tcase_add_test(tc, test_drift_detected_and_restored);
	tcase_add_test(tc, test_spec_change_update);
	tcase_add_test(tc, test_unmanaged_never_touched);
	tcase_add_test(tc, test_unreachable_host_is_not_empty);
	tcase_add_test(tc, test_hung_host_times_out);
	tcase_add_test(tc, test_prune_threshold_and_protection);
	tcase_add_test(tc, test_state_absent_deletes);
	tcase_add_test(tc, test_backup_commands_sim);
	tcase_add_test(tc, test_saved_plan_verbatim_or_refused);
	tcase_add_test(tc, test_saved_plan_refused_when_target_changes);
	tcase_add_test(tc, test_fault_at_every_call_converges);
	tcase_add_test(tc, test_apply_needs_approval);
	tcase_add_test(tc, test_invalid_spec_touches_nothing);
	tcase_add_test(tc, test_cli_plan_usage);
	tcase_add_test(tc, test_drain_moves_what_fits);
	tcase_add_test(tc, test_drain_plan_golden);
	tcase_add_test(tc, test_pinned_host_moves);
	tcase_add_test(tc, test_live_move_uploads_image);
	tcase_add_test(tc, test_update_adding_image_disk_uploads);
	tcase_add_test(tc, test_cold_move_copies_volumes);
	tcase_add_test(tc, test_nothing_fits_says_why);
	tcase_add_test(tc, test_rebalance_evens_out_within_budget);
	tcase_add_test(tc, test_capacity_report);
	suite_add_tcase(s, tc);
	tcase_add_test(tx, test_domxml_escapes_spec_text);
	tcase_add_test(tx, test_domxml_console_log);
	suite_add_tcase(s, tx);
	return s;
}
