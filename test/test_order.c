/*
 * test_order.c - dependsOn/waves with a health gate, novacron diff of two
 * revisions, novacron history; through the real binary on sim:// hosts
 * (libvirt's test driver: domains run at once and have no guest agent, so an
 * `agent` gate times out, after its 1s timeout here, and its dependants are
 * skipped).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-order-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

/* writes spec/all.yaml: one host, VMs given as "name: {spec}" lines */
#define HOST "apiVersion: novacron.io/v1\\nkind: Host\\nmetadata: {name: kvm1}\\nspec: {uri: sim:///kvm1}\\n"
#define VM(n, extra) VMC(n, "1", extra)
#define VMC(n, cpus, extra) "---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: " n "}\\n" \
	"spec: {vcpus: " cpus ", memory: 1GiB" extra "}\\n"

static size_t pos(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	ck_assert_msg(p != NULL, "'%s' not in:\n%s", needle, hay);
	return (size_t)(p - hay);
}

START_TEST(test_order_validate)
{
	struct nc_run r;

	ck_assert_int_eq(shq("mkdir spec && printf '" HOST VM("a", ", dependsOn: [b]") VM("b", ", dependsOn: [c]")
			     VM("c", ", dependsOn: [a]") VM("d", ", dependsOn: [web-2]") VM("web-1", "")
			     VM("e", ", wave: 1") VM("f", ", dependsOn: [e]") VM("g", ", wave: 101") "' > spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	/* the cycle, once, at the entry that closes it */
	HAS(r.err, "spec/all.yaml:19:44: error: dependsOn cycle: a -> b -> c -> a\n");
	ck_assert_ptr_null(strstr(strstr(r.err, "dependsOn cycle") + 1, "dependsOn cycle"));
	HAS(r.err, "spec/all.yaml:24:44: error: no VM named 'web-2'; did you mean 'web-1'?\n");
	HAS(r.err, "error: VM 'f' (wave 0) depends on 'e' of a later wave (1)");
	HAS(r.err, "spec/all.yaml:44:38: error: 'wave' must be at most 100, found 101\n");
	nc_run_free(&r);
}
END_TEST

/*
 * A hostile spec: a dependsOn chain of 70,000 VMs (validate and plan walked
 * it by recursion and overflowed the C stack at ~65,000), then the same
 * chain closed into one cycle (its message names 32 VMs, not 70,000).
 */
START_TEST(test_order_long_chain)
{
	struct nc_run r;

	ck_assert_int_eq(shq("mkdir spec && printf '" HOST "' > spec/h.yaml && awk 'BEGIN { n = 70000; "
			     "for (i = 0; i < n; i++) { printf \"---\\napiVersion: novacron.io/v1\\nkind: VM\\n"
			     "metadata: {name: v%%06d}\\nspec: {vcpus: 1, memory: 1MiB\", i; "
			     "if (i + 1 < n) printf \", dependsOn: [v%%06d]\", i + 1; print \"}\" } }' > spec/vms.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 0);
	nc_run_free(&r);
	sh(&r, "$NC plan spec --state-dir st");
	ck_assert_int_lt(r.status, 128);
	HAS(r.out, "Plan: ");
	nc_run_free(&r);
	ck_assert_int_eq(shq("sed -i 's/memory: 1MiB}$/memory: 1MiB, dependsOn: [v000000]}/' spec/vms.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 1);
	HAS(r.err, "error: dependsOn cycle: v000000 -> v000001 -> ");
	HAS(r.err, " -> v000015 -> ... (69968 more) -> v069984 -> ");
	HAS(r.err, " -> v069999 -> v000000\n");
	ck_assert_uint_lt(strlen(r.err), 4096);
	nc_run_free(&r);
}
END_TEST

START_TEST(test_order_apply_gates)
{
	struct nc_run r;
	size_t a, b, c, z;

	/* web-1 after db-1 (agent gate: no agent here) and cache-1 (running); app-1 after web-1;
	 * lb-1 in wave 1; zz-1 independent */
	ck_assert_int_eq(shq("mkdir spec && printf '" HOST VM("web-1", ", dependsOn: [db-1, cache-1]")
			     VM("db-1", ", health: {wait: agent, timeout: 1s}") VM("cache-1", "")
			     VM("app-1", ", dependsOn: [web-1]") VM("zz-1", "") VM("lb-1", ", wave: 1")
			     "' > spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state"), 2);
	a = pos(r.out, "+ cache-1: create");
	b = pos(r.out, "+ db-1: create");
	z = pos(r.out, "+ zz-1: create");
	c = pos(r.out, "+ web-1: create");
	ck_assert(a < b && b < z && z < c && c < pos(r.out, "+ app-1: create") &&
		  pos(r.out, "+ app-1: create") < pos(r.out, "+ lb-1: create"));
	HAS(r.out, "      order: wave 0, after cache-1, db-1\n      after: #1 #2\n");
	HAS(r.out, "      order: wave 1\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state -o json"), 2);
	HAS(r.out, "\"vm\": \"web-1\"");
	HASJ(r.out, "\"order\": {\"wave\": 0, \"depends_on\": [\"cache-1\", \"db-1\"]}, \"after\": [1, 2]");
	HASJ(r.out, "\"order\": {\"wave\": 1, \"depends_on\": []}");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state -o markdown"), 2);
	HAS(r.out, "; wave 0, after cache-1, db-1 |\n");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --auto-approve"), 1);
	HAS(r.out, "[1/6] create cache-1 on kvm1 ... done");
	HAS(r.out, "[3/6] create zz-1 on kvm1 ... done");
	HAS(r.out, "      gate cache-1 (running) on kvm1 ... passed");
	HAS(r.out, "      gate db-1 (agent) on kvm1 ... failed: health gate (agent) not passed within 1s: "
		   "guest agent did not answer");
	HAS(r.out, "[4/6] create web-1 on kvm1 ... skipped: waits for db-1, whose health gate (agent) not passed");
	HAS(r.out, "[5/6] create app-1 on kvm1 ... skipped: waits for web-1, which did not complete\n");
	HAS(r.out, "[6/6] create lb-1 on kvm1 ... skipped: waits for lower wave's db-1, whose health gate");
	HAS(r.out, "Apply incomplete: 3 done, 1 failed, 3 skipped.");
	/* the gates are checked when web-1 is due, after the independent VMs were created */
	ck_assert(pos(r.out, "[3/6] create zz-1") < pos(r.out, "gate cache-1"));
	nc_run_free(&r);

	/* the gate of a VM this plan does not touch is checked too: db-1 runs, still no agent */
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --auto-approve"), 1);
	HAS(r.out, "      gate db-1 (agent) on kvm1 ... failed");
	HAS(r.out, "create web-1 on kvm1 ... skipped: waits for db-1, whose health gate (agent)");
	nc_run_free(&r);

	/* a running gate holds: everything comes up, in order */
	ck_assert_int_eq(shq("sed -i 's/wait: agent/wait: running/' spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --auto-approve"), 0);
	HAS(r.out, "      gate db-1 (running) on kvm1 ... passed");
	HAS(r.out, "Apply complete: 3 done, 0 failed, 0 skipped.");
	ck_assert(pos(r.out, "create web-1") < pos(r.out, "create app-1") &&
		  pos(r.out, "create app-1") < pos(r.out, "create lb-1"));
	nc_run_free(&r);

	/* deletes go in reverse order: lb-1 (wave 1) first, then app-1, web-1, ... */
	ck_assert_int_eq(shq("sed -i 's/memory: 1GiB/memory: 1GiB, state: absent/' spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state --allow-mass-delete"), 2);
	a = pos(r.out, "- lb-1: delete");
	b = pos(r.out, "- app-1: delete");
	c = pos(r.out, "- web-1: delete");
	z = pos(r.out, "- cache-1: delete");
	ck_assert(a < b && b < c && c < pos(r.out, "- zz-1: delete") && pos(r.out, "- zz-1: delete") < pos(r.out, "- db-1: delete") &&
		  pos(r.out, "- db-1: delete") < z);
	nc_run_free(&r);
}
END_TEST

START_TEST(test_history)
{
	struct nc_run r;

	ck_assert_int_eq(shq("mkdir spec && printf '" HOST VM("a-1", "") VM("b-1", "") "' > spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC history --state-dir state"), 0);
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	ck_assert_int_eq(shq("$NC apply spec --state-dir state --auto-approve --commit 1111aaaa"), 0);
	/* b-1 changes and a-1 leaves the spec */
	ck_assert_int_eq(shq("printf '" HOST VMC("b-1", "2", "") "' > spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --auto-approve --commit 2222bbbb"), 0);
	HAS(r.out, "update b-1 on kvm1 ... done");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "stat -c %%a state/history.json && $NC history --state-dir state"), 0);
	HAS(r.out, "600\n");
	HAS(r.out, "a-1: last applied from 1111aaaa; left the spec 20");
	HAS(r.out, "b-1: last applied from 2222bbbb\n  20");
	/* newest first */
	ck_assert(pos(strstr(r.out, "b-1:"), "update   done     commit 2222bbbb  plan ") <
		  pos(strstr(r.out, "b-1:"), "create   done     commit 1111aaaa  plan "));
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC history --state-dir state b-1 zz-9 -o json --limit 1"), 0);
	HAS(r.out, "\"format_version\": 1,");
	HAS(r.out, "\"vm\": \"b-1\",\n      \"last_commit\": \"2222bbbb\",\n      \"left_spec\": null,");
	HAS(r.out, "\"action\": \"update\",\n          \"result\": \"done\",\n          \"commit\": \"2222bbbb\",\n          \"plan_digest\": \"");
	HASNT(r.out, "1111aaaa");     /* --limit 1: the newest only */
	HAS(r.out, "\"vm\": \"zz-9\",\n      \"last_commit\": null,");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC history --state-dir state --limit 0"), 1);
	HAS(r.err, "--limit must be a number from 1 to 50");
	nc_run_free(&r);
	/* a VM that left the spec more than 30 days ago is dropped at the next apply */
	ck_assert_int_eq(shq("sed -i 's/\"left_spec\": *\"20[0-9T:Z-]*\"/\"left_spec\": \"2020-01-01T00:00:00Z\"/' state/history.json"), 0);
	ck_assert_int_eq(shq("printf '" HOST VMC("b-1", "4", "") "' > spec/all.yaml"), 0);
	ck_assert_int_eq(shq("$NC apply spec --state-dir state --auto-approve --commit 3333cccc"), 0);
	ck_assert_int_eq(sh(&r, "$NC history --state-dir state"), 0);
	HASNT(r.out, "a-1");
	HAS(r.out, "b-1: last applied from 3333cccc\n");
	nc_run_free(&r);
	/* a damaged file is an error, and apply leaves it alone */
	ck_assert_int_eq(sh(&r, "echo '{' > state/history.json && $NC history --state-dir state"), 1);
	HAS(r.err, "history.json: not a history file of format_version 1");
	nc_run_free(&r);
	ck_assert_int_eq(shq("printf '" HOST VMC("b-1", "3", "") "' > spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --auto-approve && cat state/history.json"), 0);
	HAS(r.out, "warning: the history was not updated: ");
	HAS(r.out, "Apply complete: 1 done");
	ck_assert(strstr(r.out, "\n{\n") != NULL && strstr(r.out, "\"format_version\"") == NULL);
	nc_run_free(&r);
	/* a FIFO in its place (or a link to one, or to /dev/zero) is refused, not waited on forever */
	ck_assert_int_eq(shq("rm state/history.json && mkfifo state/history.json && "
			     "printf '" HOST VMC("b-1", "2", "") "' > spec/all.yaml"), 0);
	ck_assert_int_eq(sh(&r, "timeout 20 $NC history --state-dir state"), 1);
	HAS(r.err, "history.json: not a regular file");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "timeout 20 $NC apply spec --state-dir state --auto-approve"), 0);
	HAS(r.out, "warning: the history was not updated: ");
	nc_run_free(&r);
}
END_TEST

/* serve's applying pass records the revision it applied */
START_TEST(test_history_serve)
{
	struct nc_run r;
	char *sha;

	ck_assert_int_eq(shq("git init -q --bare -b main remote.git && git init -q -b main work && mkdir work/cluster && "
			     "printf '" HOST VM("a-1", "") "' > work/cluster/all.yaml && cd work && git add -A && "
			     "git commit -qm one && git remote add origin ../remote.git && git push -q origin main && cd .. && "
			     "printf 'source:\\n  git:\\n    url: file://%%s/remote.git\\n    ref: main\\n    path: cluster\\n"
			     "cacheDir: %%s/cache\\nstateDir: %%s/state\\nlisten: 127.0.0.1:0\\n' $PWD $PWD $PWD > serve.yaml"), 0);
	ck_assert_int_eq(sh(&r, "git -C work rev-parse HEAD"), 0);
	r.out[strcspn(r.out, "\n")] = '\0';
	sha = nc_xasprintf("a-1: last applied from %s\n", r.out);
	nc_run_free(&r);
	ck_assert_int_eq(shq("timeout 60 $NC serve --config serve.yaml --once"), 0);
	ck_assert_int_eq(sh(&r, "$NC history --state-dir state"), 0);
	HAS(r.out, sha);
	HAS(r.out, "  create   done     commit ");
	nc_run_free(&r);
	free(sha);
}
END_TEST

START_TEST(test_diff)
{
	struct nc_run r;

	ck_assert_int_eq(shq("git init -q -b main repo && mkdir -p repo/spec tmp && cd repo && printf '" HOST
			     VM("a-1", ", disks: [{name: root, pool: p, size: 10GiB}], cloudInit: {userData: password=hunter2}")
			     VM("b-1", "") "---\\napiVersion: novacron.io/v1\\nkind: StoragePool\\nmetadata: {name: p}\\n"
			     "spec: {type: dir, path: /var/lib/novacron/pools/p}\\n' > spec/all.yaml && git add -A && git commit -qm one"), 0);
	ck_assert_msg(sh(&r, "cd repo && $NC validate spec") == 0, "%s", r.err);
	nc_run_free(&r);
	/* a-1 changes (size, label, the password in its user-data), b-1 goes, c-1 comes */
	ck_assert_int_eq(shq("cd repo && sed -i 's/size: 10GiB/size: 20GiB/; s/hunter2/hunter3/; s/name: a-1}/name: a-1, labels: {tier: db}}/; "
			     "s/name: b-1}/name: c-1}/' spec/all.yaml && git commit -qam two"), 0);
	ck_assert_int_eq(sh(&r, "cd repo/spec && TMPDIR=$PWD/../../tmp $NC diff HEAD~1 HEAD --path spec"), 2);
	HAS(r.out, "Desired state: HEAD~1 (");
	HAS(r.out, "\n\n~ VM a-1\n"
		   "    metadata.labels.tier: (unset) -> db\n"
		   "    spec.cloudInit.userData: (sha256 ");
	HAS(r.out, "    spec.disks[root].size: 10GiB -> 20GiB\n- VM b-1\n+ VM c-1\n\nDiff: 1 added, 1 removed, 1 changed.\n");
	HASNT(r.out, "hunter");
	nc_run_free(&r);
	/* the temporary trees are gone */
	ck_assert_int_eq(sh(&r, "ls -A tmp"), 0);
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "cd repo && $NC diff HEAD~1 HEAD --path spec -o json"), 2);
	HAS(r.out, "\"format_version\": 1,");
	HAS(r.out, "\"from\": {\n    \"rev\": \"HEAD~1\",\n    \"commit\": \"");
	HAS(r.out, "\"added\": [\n    {\n      \"kind\": \"VM\",\n      \"name\": \"c-1\"\n    }\n  ],");
	HAS(r.out, "\"field\": \"spec.disks[root].size\",\n          \"from\": \"10GiB\",\n          \"to\": \"20GiB\"");
	HAS(r.out, "\"summary\": {\n    \"added\": 1,\n    \"removed\": 1,\n    \"changed\": 1\n  }");
	HASNT(r.out, "hunter");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "cd repo && $NC diff HEAD~1 HEAD --path spec -o markdown"), 2);
	HAS(r.out, "- changed: **VM a-1**\n\n  | field | from | to |\n  |---|---|---|\n  | `metadata.labels.tier` |  | `db` |\n");
	nc_run_free(&r);
	/* REV2 defaults to the working tree; the same revision twice is no change */
	ck_assert_int_eq(sh(&r, "cd repo && sed -i 's/name: c-1}/name: c-1, labels: {x: y}}/' spec/all.yaml && "
			     "$NC diff HEAD --path spec"), 2);
	HAS(r.out, "-> the working tree\n\n~ VM c-1\n    metadata.labels.x: (unset) -> y\n\nDiff: 0 added, 0 removed, 1 changed.\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "cd repo && $NC diff HEAD main --path spec"), 0);
	HAS(r.out, "No changes in the desired state.\n");
	nc_run_free(&r);
	/* bad input */
	ck_assert_int_eq(sh(&r, "cd repo && $NC diff no-such-rev --path spec"), 1);
	HAS(r.err, "novacron diff: unknown revision 'no-such-rev' in ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "cd tmp && $NC diff HEAD"), 1);
	HAS(r.err, "is not inside a git repository (pass --repo DIR)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC diff HEAD --repo repo --path ../x"), 1);
	HAS(r.err, "--path '../x' must be a folder inside the repository");
	nc_run_free(&r);
	/* a git bomb: a blob of 257 MiB of zeros, 260 KiB in the repository, is refused before it is inflated */
	ck_assert_int_eq(shq("cd repo && h=$(python3 -c \"import hashlib, zlib, os; n = 257 << 20; c = bytes(1 << 20); "
			     "h = b'blob %%d\\0' %% n; s = hashlib.sha1(h); z = zlib.compressobj(1); "
			     "o = [z.compress(h)] + [(s.update(c), z.compress(c))[1] for _ in range(257)] + [z.flush()]; "
			     "d = s.hexdigest(); os.makedirs('.git/objects/' + d[:2], exist_ok=True); "
			     "open('.git/objects/' + d[:2] + '/' + d[2:], 'wb').write(b''.join(o)); print(d)\") && "
			     "git update-index --add --cacheinfo 100644,$h,spec/big.bin && git commit -qm bomb"), 0);
	ck_assert_int_eq(sh(&r, "cd repo && TMPDIR=$PWD/../tmp $NC diff HEAD~1 HEAD --path spec"), 1);
	HAS(r.err, "refused: spec/big.bin is over 256 MiB");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "ls -A tmp"), 0);
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	/* Markdown: a value with backticks stays one code span (a longer fence), so the rest is no Markdown */
	ck_assert_int_eq(shq("git init -q -b main r2 && cd r2 && printf 'apiVersion: novacron.io/v1\\nkind: AlertRule\\n"
			     "metadata: {name: r1}\\nspec: {target: host, metric: memory_used_ratio, threshold: {op: \">\", "
			     "value: 0.9}, summary: \"S\"}\\n' > a.yaml && git add -A && git commit -qm one && "
			     "sed -i 's/\"S\"/\"x` <img src=y> @octocat ``` |\"/' a.yaml && git commit -qam two"), 0);
	ck_assert_int_eq(sh(&r, "cd r2 && $NC diff HEAD~1 HEAD -o markdown"), 2);
	HAS(r.out, "| `spec.summary` | `S` | ```` x` <img src=y> @octocat ``` \\| ```` |\n");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_order(void)
{
	Suite *s = suite_create("order");
	TCase *tc = tcase_create("order");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_order_validate);
	tcase_add_test(tc, test_order_long_chain);
	tcase_add_test(tc, test_order_apply_gates);
	tcase_add_test(tc, test_history);
	tcase_add_test(tc, test_history_serve);
	tcase_add_test(tc, test_diff);
	suite_add_tcase(s, tc);
	return s;
}
