/*
 * test_ha.c - high availability (docs/ha.md): the record of failed and
 * fenced hosts (STATE_DIR/ha.json, reconciler/ha.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"
#include "../reconciler/ha.h"
#include "../reconciler/hostrec.h"
#include "../reconciler/pass.h"

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-ha-XXXXXX");
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

static void write_rec(const char *text)
{
	char *path = nc_xasprintf("%s/%s", tdir, NC_HA_FILE);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

START_TEST(test_ha_record_round_trip)
{
	struct nc_ha_record r = { 0 }, back = { 0 };
	struct nc_ha_host *h;
	struct nc_err err = { 0 };
	struct stat st;
	char *path = nc_xasprintf("%s/%s", tdir, NC_HA_FILE), *buf = NULL, *buf2 = NULL;
	size_t len, len2;

	/* missing: an empty record */
	ck_assert_int_eq(nc_ha_load(&r, tdir, &err), 0);
	ck_assert_uint_eq(r.nhosts, 0);
	h = nc_ha_get(&r, "kvm2");
	h->failed_at = 1796000000;
	h = nc_ha_get(&r, "kvm1");
	ck_assert_ptr_eq(nc_ha_get(&r, "kvm1"), h);
	h->failed_at = 1796000000;
	h->fenced = true;
	h->fenced_at = 1796000012;
	h->fenced_by = nc_xstrdup("rbd device ceph");
	h->detail = nc_xstrdup("2 exclusive locks broken, \"quoted\"\n");
	nc_ha_list_add(&h->disks, &h->ndisks, "rbd/web-2-root");
	nc_ha_list_add(&h->disks, &h->ndisks, "rbd/web-1-root");
	nc_ha_list_add(&h->disks, &h->ndisks, "rbd/web-2-root");
	nc_ha_list_add(&h->recovered, &h->nrecovered, "web-1");
	ck_assert_uint_eq(h->ndisks, 2);
	ck_assert_str_eq(h->disks[0], "rbd/web-1-root");
	ck_assert_int_eq(nc_ha_save(&r, tdir, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(nc_ha_load(&back, tdir, &err), 0);
	ck_assert_uint_eq(back.nhosts, 2);
	ck_assert_str_eq(back.hosts[0].name, "kvm1");
	ck_assert_str_eq(back.hosts[1].name, "kvm2");
	ck_assert(back.hosts[0].fenced && !back.hosts[0].whole_host && !back.hosts[1].fenced);
	ck_assert_int_eq(back.hosts[0].fenced_at, 1796000012);
	ck_assert_int_eq(back.hosts[1].failed_at, 1796000000);
	ck_assert_str_eq(back.hosts[0].fenced_by, "rbd device ceph");
	ck_assert_str_eq(back.hosts[0].detail, "2 exclusive locks broken, \"quoted\"\n");
	ck_assert_ptr_null(back.hosts[1].fenced_by);
	ck_assert_uint_eq(back.hosts[0].nrecovered, 1);
	ck_assert(nc_ha_list_has(back.hosts[0].disks, back.hosts[0].ndisks, "rbd/web-2-root"));
	/* the same record writes the same bytes */
	ck_assert_int_eq(nc_read_file(path, 1 << 20, &buf, &len), 0);
	ck_assert_int_eq(nc_ha_save(&back, tdir, &err), 0);
	ck_assert_int_eq(nc_read_file(path, 1 << 20, &buf2, &len2), 0);
	ck_assert_str_eq(buf, buf2);
	ck_assert(nc_ha_forget(&back, "kvm1"));
	ck_assert(!nc_ha_forget(&back, "kvm1"));
	ck_assert_ptr_null(nc_ha_find(&back, "kvm1"));
	ck_assert_ptr_nonnull(nc_ha_find(&back, "kvm2"));
	nc_ha_release(&r);
	nc_ha_release(&back);
	free(buf);
	free(buf2);
	free(path);
}
END_TEST

static const char *const bad_records[] = {
	"not json {",
	"[]\n",
	"{\"format_version\": 2, \"hosts\": []}\n",
	"{\"format_version\": 1}\n",
	"{\"format_version\": 1, \"hosts\": [{\"failed_at\": 1}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"fenced\": \"yes\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"failed_at\": \"soon\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"failed_at\": -5}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"disks\": \"rbd/x\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"recovered\": [[\"x\"]]}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"whole_host\": true}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\\u0000b\"}]}\n",
	"{\"format_version\": 1, \"hosts\": [{\"name\": \"a\", \"detail\": [1]}]}\n",
};

START_TEST(test_ha_record_malformed)
{
	struct nc_ha_record r = { 0 };
	struct nc_err err = { 0 };

	write_rec(bad_records[_i]);
	ck_assert_int_eq(nc_ha_load(&r, tdir, &err), -1);
	HAS(err.msg, "is not an HA record written by novacron; nothing is restarted without it");
	ck_assert_uint_eq(r.nhosts, 0);
}
END_TEST

START_TEST(test_ha_vm_fenced)
{
	struct nc_ha_host h = { 0 };
	const char *const both[] = { "rbd/a", "rbd/b" }, *const one[] = { "rbd/a" };

	ck_assert(!nc_ha_vm_fenced(NULL, one, 1, false));
	h.name = (char *)"kvm1";
	ck_assert(!nc_ha_vm_fenced(&h, one, 1, false));        /* failed, not fenced */
	h.fenced = true;
	nc_ha_list_add(&h.disks, &h.ndisks, "rbd/a");
	ck_assert(nc_ha_vm_fenced(&h, one, 1, false));
	ck_assert(!nc_ha_vm_fenced(&h, both, 2, false));       /* one disk of two */
	ck_assert(!nc_ha_vm_fenced(&h, one, 1, true));         /* and a local disk */
	ck_assert(!nc_ha_vm_fenced(&h, NULL, 0, false));       /* nothing a disk fence covers */
	h.whole_host = true;
	ck_assert(nc_ha_vm_fenced(&h, both, 2, true));
	ck_assert(nc_ha_vm_fenced(&h, NULL, 0, false));
	free(h.disks[0]);
	free(h.disks);
}
END_TEST

START_TEST(test_ha_lock_excludes)
{
	struct nc_err err = { 0 };
	int fd = nc_ha_lock(tdir, &err), fd2;
	char *path = nc_xasprintf("%s/ha.lock", tdir);

	ck_assert_int_ge(fd, 0);
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(flock(fd2, LOCK_EX | LOCK_NB), -1);
	nc_ha_unlock(fd);
	ck_assert_int_eq(flock(fd2, LOCK_EX | LOCK_NB), 0);
	close(fd2);
	free(path);
}
END_TEST

/* ---- recovery on simulated hosts, through the real binary ---- */

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)
#define PLAN "$NC plan spec --state-dir st"
#define APPLY "$NC apply spec --state-dir st --auto-approve"
#define SIM "$NC sim --state-dir st"
#define FENCE "$NC fence --state-dir st"

#define HOST(n) "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: " n ", labels: {name: " n "}}\n" \
		"spec: {uri: \"sim:///" n "?cpus=8&memory=16GiB\"}\n---\n"
#define BASE "apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: t}\nspec: {vcpus: 1, memory: 2GiB}\n---\n"

static void write_file(const char *rel, const char *text)
{
	char *path = nc_xasprintf("%s/%s", tdir, rel);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void sim_setup(void)
{
	setup();
	ck_assert_int_eq(shq("mkdir -p spec st"), 0);
}

/* the managed domains of a simulated host, as "a b " (from `novacron sim HOST list`) */
static char *doms_on(const char *host)
{
	struct nc_run r;
	struct nc_buf b = NC_BUF_INIT;
	char *line, *save = NULL;

	ck_assert_int_eq(sh(&r, SIM " %s list", host), 0);
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];

		if (sscanf(line, "%63s", name) == 1 && strstr(line, "managed") && !strstr(line, "unmanaged"))
			nc_buf_addf(&b, "%s ", name);
	}
	nc_run_free(&r);
	return nc_buf_detach(&b, NULL);
}

/* how many of the hosts hold a managed domain of vm */
static int copies(const char *vm, const char *const *hosts, size_t n)
{
	char *sp = nc_xasprintf(" %s ", vm);
	size_t i;
	int k = 0;

	for (i = 0; i < n; i++) {
		char *d = doms_on(hosts[i]), *pad = nc_xasprintf(" %s", d);

		k += strstr(pad, sp) != NULL;
		free(pad);
		free(d);
	}
	free(sp);
	return k;
}

#define VM(n, extra) "apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: " n "}\nspec: {template: t" extra "}\n---\n"

/* six VMs on h1 alone; then h2 and h3 join, h1 goes down */
static void six_on_h1(void)
{
	char *d;

	write_file("spec/hosts.yaml", HOST("h1"));
	write_file("spec/vms.yaml", BASE
		   VM("v1", ", ha: {policy: restart, priority: 10}")
		   VM("v2", ", ha: {policy: restart, priority: 100}")
		   VM("v3", ", ha: {policy: restart, priority: 50}")
		   VM("v4", ", ha: {policy: restart, priority: 50}")
		   VM("v5", ", ha: {policy: restart}")
		   VM("v6", ", ha: {policy: restart, priority: 100}"));
	ck_assert_int_eq(shq(APPLY), 0);
	d = doms_on("h1");
	ck_assert_str_eq(d, "v1 v2 v3 v4 v5 v6 ");
	free(d);
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2") HOST("h3"));
	ck_assert_int_eq(shq(SIM " h1 down"), 0);
}

/* position of needle in hay (it must be there) */
static size_t at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	ck_assert_msg(p != NULL, "missing '%s' in:\n%.4000s", needle, hay);
	return (size_t)(p - hay);
}

START_TEST(test_ha_recover_by_priority)
{
	static const char *const all[] = { "h1", "h2", "h3" }, *const others[] = { "h2", "h3" };
	static const char *const vms[] = { "v1", "v2", "v3", "v4", "v5", "v6" };
	struct nc_run r;
	char *d;
	size_t i;

	six_on_h1();
	/* not failed, not fenced: nothing restarts, each VM says why */
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "warning: VM v2 was last seen on h1, which cannot be read but is not failed: it is restarted "
		   "elsewhere only once h1 is declared failed and fenced");
	HASNT(r.out, "recover");
	HAS(r.out, "6 VMs are not created");
	nc_run_free(&r);
	/* failed, not fenced yet */
	write_file("st/ha.json", "{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"failed_at\": 1796000000}]}\n");
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "warning: VM v5 is not restarted elsewhere yet: host h1 failed and is waiting for fencing "
		   "(novacron fence confirm h1 fences it by hand)\n");
	HAS(r.out, "not fenced yet");
	HASNT(r.out, "recover");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	nc_run_free(&r);
	for (i = 0; i < NC_ARRAY_SIZE(vms); i++)
		ck_assert_int_eq(copies(vms[i], others, 2), 0);

	/* fenced by hand: six restarts, highest priority first, four at once */
	ck_assert_int_eq(sh(&r, FENCE " confirm h1 --by tester"), 0);
	HAS(r.out, "Recorded: h1 is fenced (confirmed off by tester at ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	ck_assert(at(r.out, "+ v2: recover on") < at(r.out, "+ v6: recover on"));
	ck_assert(at(r.out, "+ v6: recover on") < at(r.out, "+ v3: recover on"));
	ck_assert(at(r.out, "+ v3: recover on") < at(r.out, "+ v4: recover on"));
	ck_assert(at(r.out, "+ v4: recover on") < at(r.out, "+ v1: recover on"));
	ck_assert(at(r.out, "+ v1: recover on") < at(r.out, "+ v5: recover on"));
	HAS(r.out, "then start\n      why: restart on h");
	HAS(r.out, ": host h1 failed and was fenced (manual: tester: confirmed off by hand)\n");
	HAS(r.out, "Plan: 0 to create, 0 to update, 0 to delete, 0 to start, 0 to stop, 6 to restart elsewhere.\n");
	HAS(r.out, "Partial plan: 1 host could not be read (h1)");
	HASNT(r.out, "are not created:");      /* recoverable VMs are not blocked */
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 1);
	HASJ(r.out, "\"recover\": 6,");
	HASJ(r.out, "\"blocked\": 0}");
	HASJ(r.out, "{\"id\": 1, \"action\": \"recover\", \"vm\": \"v2\", \"priority\": 100, \"failed_hosts\": [\"h1\"]");
	HASJ(r.out, "{\"id\": 5, \"action\": \"recover\", \"vm\": \"v1\", \"priority\": 10");
	/* the fifth waits for the first, the sixth for the second */
	HASJ(r.out, "\"after\": [1]}");
	HASJ(r.out, "\"after\": [2]}");
	HASNTJ(r.out, "\"after\": [3]}");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, APPLY), 1);     /* partial: h1 still cannot be read */
	HAS(r.out, "Apply incomplete: 6 done, 0 failed, 0 skipped.");
	nc_run_free(&r);
	for (i = 0; i < NC_ARRAY_SIZE(vms); i++)
		ck_assert_int_eq(copies(vms[i], others, 2), 1);
	ck_assert_int_eq(sh(&r, FENCE " list"), 0);
	HAS(r.out, "h1: failed at 2026");
	HAS(r.out, "restarted elsewhere: v1, v2, v3, v4, v5, v6\n");
	nc_run_free(&r);
	/* a second pass restarts nothing again */
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HASNT(r.out, "recover");
	HAS(r.out, "Plan: 0 to create, 0 to update, 0 to delete, 0 to start, 0 to stop.\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HASNT(r.out, "recover v");
	nc_run_free(&r);

	/* h1 comes back with its copies: each is stale, destroyed and undefined */
	ck_assert_int_eq(shq(SIM " h1 up"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 2);
	for (i = 0; i < NC_ARRAY_SIZE(vms); i++) {
		char *w = nc_xasprintf("- %s: delete on h1\n      why: stale copy: %s was restarted on h", vms[i], vms[i]);

		HAS(r.out, w);
		free(w);
	}
	HAS(r.out, "after h1 failed; destroyed and undefined, its disks kept");
	HASNT(r.out, "several hosts");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --output json"), 2);
	HASJ(r.out, "\"action\": \"delete\", \"vm\": \"v1\", \"stale\": true");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "Apply complete: 6 done");
	HAS(r.out, "host h1 is back: its HA record is cleared\n");
	nc_run_free(&r);
	d = doms_on("h1");
	ck_assert_str_eq(d, "");
	free(d);
	for (i = 0; i < NC_ARRAY_SIZE(vms); i++)
		ck_assert_int_eq(copies(vms[i], all, 3), 1);
	ck_assert_int_eq(sh(&r, FENCE " list"), 0);
	ck_assert_str_eq(r.out, "No failed hosts in the HA record.\n");
	nc_run_free(&r);
	/* nothing moves back; h1 takes new VMs again */
	ck_assert_int_eq(sh(&r, PLAN), 0);
	HAS(r.out, "No changes.");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_ha_why_not_restarted)
{
	static const char *const h2[] = { "h2" };
	struct nc_run r;

	/* a dir pool in the operator's paths root */
	ck_assert_int_eq(shq("mkdir -p pools/local && printf 'paths:\\n  pools: [%s/pools]\\n' > cfg.yaml", tdir), 0);
	write_file("spec/hosts.yaml", HOST("h1"));
	{
		char *vms = nc_xasprintf(BASE
			"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\n"
			"spec: {type: dir, path: %s/pools/local}\n---\n"
			VM("a", ", ha: {policy: restart}")
			VM("b", "")
			VM("c", ", ha: {policy: restart}, disks: [{name: root, pool: local, size: 1GiB}]")
			VM("d", ", ha: {policy: restart}, placement: {hostSelector: {matchLabels: {name: h1}}}"), tdir);

		write_file("spec/vms.yaml", vms);
		free(vms);
	}
	ck_assert_int_eq(shq(APPLY " --config cfg.yaml"), 0);
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2"));
	ck_assert_int_eq(shq(SIM " h1 down && " FENCE " confirm h1"), 0);
	ck_assert_int_eq(sh(&r, PLAN " --config cfg.yaml"), 1);
	HAS(r.out, "+ a: recover on h2, then start\n");
	HAS(r.out, "warning: VM b was last seen on h1, which cannot be read: it is not restarted elsewhere, its "
		   "ha.policy is none (");
	HAS(r.out, "warning: VM c cannot be restarted elsewhere: disk root is on local pool local of failed host h1 "
		   "(only disks in rbd and netfs pools can be reached from another host)\n");
	HAS(r.out, "warning: VM d cannot be restarted elsewhere (host h1 failed and was fenced (manual: ");
	HAS(r.out, "): no host fits: h1: unreachable; h2: does not match the VM's hostSelector\n");
	HAS(r.out, "3 VMs are not created");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, PLAN " --config cfg.yaml --output json"), 1);
	HASJ(r.out, "\"recover\": 1,");
	HASJ(r.out, "\"blocked\": 3}");
	nc_run_free(&r);
	ck_assert_int_eq(shq(APPLY " --config cfg.yaml"), 1);
	ck_assert_int_eq(copies("a", h2, 1), 1);
	ck_assert_int_eq(copies("b", h2, 1), 0);
	ck_assert_int_eq(copies("c", h2, 1), 0);
	ck_assert_int_eq(copies("d", h2, 1), 0);
}
END_TEST

#define RBD_SPEC HOST("h1") HOST("h2") BASE \
	"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: ceph}\nspec: {type: rbd, rbd: {pool: rbd}}\n---\n" \
	VM("w", ", ha: {policy: restart, priority: 7}, disks: [{name: root, pool: ceph, size: 1GiB}, " \
	   "{name: data, pool: ceph, size: 2GiB}]")
#define RBD_HOSTS "{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"uri\": \"sim:///h1?cpus=8&memory=16GiB\", " \
	"\"vms\": [\"w\"]}, {\"name\": \"h2\", \"uri\": \"sim:///h2?cpus=8&memory=16GiB\", \"vms\": []}]}\n"
#define RBD_HA(disks) "{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"failed_at\": 1796000000, " \
	"\"fenced\": true, \"fenced_at\": 1796000012, \"fenced_by\": \"rbd device ceph\", " \
	"\"detail\": \"2 exclusive locks broken, their clients blocklisted\", \"whole_host\": false, " \
	"\"disks\": [" disks "], \"recovered\": []}]}\n"

/*
 * VM w ran on h1 with two rbd disks; h1 is down and its rbd fence broke the
 * locks of one disk, then of both (the record and ha.json are written as
 * serve would have left them; nothing here needs Ceph: a plan never opens it).
 */
START_TEST(test_ha_rbd_fence_covers_every_disk)
{
	static const struct {
		const char *flag, *golden;
	} fmts[] = {
		{ "", "plan-recover.txt" },
		{ "--output json", "plan-recover.json" },
		{ "--output markdown", "plan-recover.md" },
	};
	struct nc_run r, r2;
	size_t i;

	write_file("spec/c.yaml", RBD_SPEC);
	write_file("st/hosts.json", RBD_HOSTS);
	ck_assert_int_eq(shq(SIM " h1 down"), 0);
	write_file("st/ha.json", RBD_HA("\"rbd/w-root\""));
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "warning: VM w is not restarted elsewhere: host h1 failed and was fenced (rbd device ceph: 2 "
		   "exclusive locks broken, their clients blocklisted), but not for rbd disk rbd/w-data, which its old "
		   "copy may still write");
	HASNT(r.out, "recover");
	nc_run_free(&r);
	/* every disk fenced: restarted on h2, the plan the same bytes each time */
	write_file("st/ha.json", RBD_HA("\"rbd/w-data\", \"rbd/w-root\""));
	for (i = 0; i < NC_ARRAY_SIZE(fmts); i++) {
		ck_assert_int_eq(sh(&r, PLAN " %s", fmts[i].flag), 1);
		ck_assert_int_eq(sh(&r2, PLAN " %s", fmts[i].flag), 1);
		ck_assert_str_eq(r.out, r2.out);
		nc_check_golden(fmts[i].golden, r.out);
		nc_run_free(&r);
		nc_run_free(&r2);
	}
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "+ w: recover on h2, then start\n      why: restart on h2: host h1 failed and was fenced (rbd device "
		   "ceph: 2 exclusive locks broken, their clients blocklisted)\n");
	nc_run_free(&r);

	/* a record that is not ours: nothing is restarted, and the command says why */
	write_file("st/ha.json", "{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"fenced\": \"maybe\"}]}\n");
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.err, "st/ha.json is not an HA record written by novacron; nothing is restarted without it");
	HASNT(r.out, "recover");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.err, "is not an HA record written by novacron");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list"), 1);
	nc_run_free(&r);
	{
		static const char *const h2[] = { "h2" };

		ck_assert_int_eq(copies("w", h2, 1), 0);
	}
}
END_TEST

START_TEST(test_ha_fence_cli)
{
	struct nc_run r;

	write_file("spec/hosts.yaml", HOST("h1") HOST("h2"));
	write_file("spec/vms.yaml", BASE VM("a", ", ha: {policy: restart}"));
	ck_assert_int_eq(shq(APPLY), 0);
	/* usage */
	ck_assert_int_eq(sh(&r, FENCE), 1);
	HAS(r.err, "usage: novacron fence confirm HOST");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " confirm"), 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list h1"), 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " run h1"), 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list --output markdown"), 1);
	nc_run_free(&r);
	/* an unknown host, a live host, a bad name */
	ck_assert_int_eq(sh(&r, FENCE " confirm h9"), 1);
	HAS(r.err, "refusing: no host named 'h9' in the record of hosts st/hosts.json");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " confirm h1"), 1);
	HAS(r.err, "refusing: h1 can be read right now (1 domain, 1 running): it is not off.");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " confirm h2 --by \"$(printf 'a\\nb')\""), 1);
	HAS(r.err, "--by must be 1 to 64 printable characters");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list"), 0);
	ck_assert_str_eq(r.out, "No failed hosts in the HA record.\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "test -e st/ha.json"), 1);    /* refusals write nothing */
	nc_run_free(&r);
	/* --force records a live host all the same, and says so */
	ck_assert_int_eq(sh(&r, FENCE " confirm h1 --force --by ops"), 0);
	HAS(r.err, "warning: h1 can be read right now (1 running domain); recording it as off anyway (--force)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "SUDO_USER= USER=bob " FENCE " confirm h2 --force"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list --output json"), 0);
	HAS(r.out, "\"name\": \"h1\",\n      \"failed_at\": ");
	HAS(r.out, "\"fenced\": true,\n");
	HAS(r.out, "\"fenced_by\": \"manual: ops\",\n      \"detail\": \"confirmed off by hand\",\n      \"whole_host\": true,\n"
		   "      \"disks\": [\n      ],\n      \"recovered\": [\n      ]\n    }");
	HAS(r.out, "\"fenced_by\": \"manual: bob\"");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "stat -c %%a st/ha.json"), 0);
	ck_assert_str_eq(r.out, "600\n");
	nc_run_free(&r);
	/* a host in the record gets nothing new placed on it, even reachable */
	write_file("spec/vms.yaml", BASE VM("a", ", ha: {policy: restart}") VM("n", ""));
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "error: cannot place VM n: no host fits: h1: failed (in the HA record until it is cleared); "
		   "h2: failed (in the HA record until it is cleared)");
	nc_run_free(&r);
	/* clear */
	ck_assert_int_eq(sh(&r, FENCE " clear h9"), 1);
	HAS(r.err, "no host named 'h9' in the HA record st/ha.json");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " clear h2"), 0);
	HAS(r.out, "Cleared the HA record of h2");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list"), 0);
	HAS(r.out, "h1: failed at ");
	HAS(r.out, "by manual: ops (the whole host)\n  confirmed off by hand\n  restarted elsewhere: none\n");
	HASNT(r.out, "h2:");
	nc_run_free(&r);
}
END_TEST

/* the plan option serve sets from ha.maxRecoveries: one restart at a time chains them all */
START_TEST(test_ha_max_recoveries_option)
{
	char *specdir = nc_xasprintf("%s/spec", tdir), *st = nc_xasprintf("%s/st", tdir);
	const char *paths[] = { specdir };
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	struct nc_hostrec rec = { 0 };
	struct nc_ha_record ha = { 0 };
	struct nc_observe_opts oo;
	struct nc_plan_opts po;
	struct nc_cluster cl;
	struct nc_plan p;
	struct nc_err err = { "" };
	size_t i, n = 0;

	six_on_h1();
	ck_assert_int_eq(shq(FENCE " confirm h1"), 0);
	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load(&spec, paths, 1, NULL, &d), 0);
	ck_assert_int_eq(nc_hostrec_load(&rec, st, &err), 0);
	ck_assert_int_eq(nc_ha_load(&ha, st, &err), 0);
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = st;
	oo.record = &rec;
	nc_observe(&cl, spec, &oo);
	memset(&po, 0, sizeof(po));
	po.ha = &ha;
	po.max_recoveries = 1;
	ck_assert_int_eq(nc_plan_build(&p, spec, &cl, &po), 0);
	ck_assert_uint_eq(p.nrecover, 6);
	for (i = 0; i < p.nactions; i++) {
		const struct nc_action *a = &p.actions[i];

		if (a->kind != NC_ACT_RECOVER)
			continue;
		if (n++ == 0) {
			ck_assert_uint_eq(a->nafter, 0);
		} else {
			ck_assert_uint_eq(a->nafter, 1);
			ck_assert_int_eq(a->after[0], a->id - 1);
		}
	}
	ck_assert_str_eq(p.actions[0].vm, "v2");
	ck_assert_str_eq(p.actions[5].vm, "v5");
	nc_plan_release(&p);
	nc_cluster_release(&cl);
	nc_ha_release(&ha);
	nc_hostrec_release(&rec);
	nc_spec_free(spec);
	nc_diags_release(&d);
	free(specdir);
	free(st);
}
END_TEST

/*
 * h1 comes back while the host its VM was restarted on cannot be read: the
 * copy on h1 is the only one seen, but not the only one that may run, so it
 * is neither touched nor trusted, and h1 stays in the record until the
 * other copy is seen again and h1's is removed as stale.
 */
START_TEST(test_ha_return_while_restarted_copy_unseen)
{
	static const char *const both[] = { "h1", "h2" };
	struct nc_run r;

	write_file("spec/hosts.yaml", HOST("h1"));
	write_file("spec/vms.yaml", BASE VM("a", ", ha: {policy: restart}"));
	ck_assert_int_eq(shq(APPLY), 0);
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2"));
	ck_assert_int_eq(shq(SIM " h1 down && " FENCE " confirm h1"), 0);
	ck_assert_int_eq(shq(APPLY), 1);
	ck_assert_int_eq(copies("a", both + 1, 1), 1);
	/* h2 goes, h1 returns */
	ck_assert_int_eq(shq(SIM " h2 down && " SIM " h1 up"), 0);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HASNT(r.out, "- a: delete");
	HASNT(r.out, "+ a: recover");
	HASNT(r.out, "is back");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list"), 0);
	HAS(r.out, "h1: failed at ");
	HAS(r.out, "restarted elsewhere: a\n");
	nc_run_free(&r);
	/* h2 returns: h1's copy is the stale one */
	ck_assert_int_eq(shq(SIM " h2 up"), 0);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "- a: delete on h1\n      why: stale copy: a was restarted on h2 after h1 failed");
	HAS(r.out, "host h1 is back: its HA record is cleared\n");
	nc_run_free(&r);
	ck_assert_int_eq(copies("a", both, 2), 1);
	ck_assert_int_eq(copies("a", both + 1, 1), 1);
}
END_TEST

/*
 * apply cut short at each mutating driver call of a recovery converges on
 * the next apply, with each VM running once (and the record knowing it).
 */
START_TEST(test_ha_recover_cut_short)
{
	static const char *const h2[] = { "h2" };
	struct nc_run r;
	int k;
	bool clean = false;

	write_file("spec/hosts.yaml", HOST("h1"));
	write_file("spec/vms.yaml", BASE VM("a", ", ha: {policy: restart, priority: 2}")
		   VM("b", ", ha: {policy: restart, priority: 1}"));
	ck_assert_int_eq(shq(APPLY), 0);
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2"));
	ck_assert_int_eq(shq(SIM " h1 down && " FENCE " confirm h1 && cp -a st snap"), 0);
	for (k = 1; !clean && k < 20; k++) {
		ck_assert_int_eq(shq("rm -rf st && cp -a snap st"), 0);
		ck_assert_int_eq(sh(&r, "NOVACRON_FAIL_AT=%d " APPLY, k), 1);
		clean = strstr(r.out, ", 0 failed, 0 skipped.") != NULL;
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, APPLY), 1);      /* partial: h1 is still down */
		ck_assert_msg(strstr(r.out, " done, 0 failed, 0 skipped.") || (clean && strstr(r.out, "Nothing applied")),
			      "k=%d:\n%s", k, r.out);
		nc_run_free(&r);
		ck_assert_int_eq(copies("a", h2, 1), 1);
		ck_assert_int_eq(copies("b", h2, 1), 1);
		ck_assert_int_eq(sh(&r, PLAN), 1);
		HAS(r.out, "Plan: 0 to create, 0 to update, 0 to delete, 0 to start, 0 to stop.\n");
		nc_run_free(&r);
		ck_assert_int_eq(sh(&r, FENCE " list"), 0);
		HAS(r.out, "restarted elsewhere: a, b\n");
		nc_run_free(&r);
		/* h1 returns: its copies are stale, never a second start */
		ck_assert_int_eq(shq(SIM " h1 up"), 0);
		ck_assert_int_eq(sh(&r, APPLY), 0);
		HAS(r.out, "Apply complete: 2 done, 0 failed, 0 skipped.");
		nc_run_free(&r);
		ck_assert_int_eq(copies("a", h2, 1), 1);
		ck_assert_int_eq(copies("b", h2, 1), 1);
		{
			char *d = doms_on("h1");

			ck_assert_str_eq(d, "");
			free(d);
		}
	}
	ck_assert_msg(clean, "every fault point was not passed");
	ck_assert_int_gt(k, 3);
}
END_TEST

/*
 * Two `novacron apply` at once on a failed, fenced host, with specs that
 * would restart its VM on different hosts (an operator's checkout and
 * another's): without a lock each plans from a cluster where the VM runs
 * nowhere, and it runs twice.  The second waits for the first
 * (STATE_DIR/apply.lock, held here to start them together), then sees the
 * VM running: it is restarted once.
 */
START_TEST(test_ha_two_applies_restart_once)
{
	static const char *const others[] = { "h2", "h3" };
	char *path = nc_xasprintf("%s/st/apply.lock", tdir);
	struct nc_run r;
	int fd;

	write_file("spec/hosts.yaml", HOST("h1"));
	write_file("spec/vms.yaml", BASE VM("a", ", ha: {policy: restart}"));
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("mkdir spec2 && cp spec/vms.yaml spec2/"), 0);
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2"));
	write_file("spec2/hosts.yaml", HOST("h1") HOST("h3"));
	ck_assert_int_eq(shq(SIM " h1 down && " FENCE " confirm h1 >/dev/null"), 0);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(shq("(" APPLY " >a.out 2>a.err & $NC apply spec2 --state-dir st --auto-approve >b.out "
			     "2>b.err & wait; touch both.done) >/dev/null 2>&1 &"), 0);
	/* both wait before they read the cluster */
	ck_assert_int_eq(sh(&r, "for i in $(seq 600); do grep -q 'waiting for another apply or serve pass' a.err && "
			    "grep -q 'waiting for another apply or serve pass' b.err && exit 0; sleep 0.1; done; "
			    "cat a.err b.err; exit 1"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(copies("a", others, 2), 0);
	close(fd);
	ck_assert_int_eq(shq("for i in $(seq 600); do test -e both.done && exit 0; sleep 0.1; done; exit 1"), 0);
	ck_assert_int_eq(copies("a", others, 2), 1);
	ck_assert_int_eq(sh(&r, "cat a.out b.out"), 0);
	HAS(r.out, "recover a on h");
	ck_assert_ptr_null(strstr(strstr(r.out, "recover a on h") + 1, "recover a on h"));
	nc_run_free(&r);
	free(path);
}
END_TEST

/*
 * A double failure: a restarted on h2 after h1 failed, then h2 cannot be
 * read (not failed: partitioned from this observer, a still running there)
 * while h1 comes back after a crash with a's old copy shut off.  That copy
 * is the only one seen, yet h1's record lists a as restarted elsewhere: it
 * is never started (that would run a twice), until h2 is seen again and
 * h1's copy goes as stale.
 */
START_TEST(test_ha_left_behind_copy_not_started)
{
	static const char *const both[] = { "h1", "h2" };
	struct nc_run r;
	char *d;

	write_file("spec/hosts.yaml", HOST("h1"));
	write_file("spec/vms.yaml", BASE VM("a", ", ha: {policy: restart}"));
	ck_assert_int_eq(shq(APPLY), 0);
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2") HOST("h3"));
	ck_assert_int_eq(shq(SIM " h1 down && " FENCE " confirm h1 >/dev/null"), 0);
	ck_assert_int_eq(shq(APPLY), 1);
	ck_assert_int_eq(copies("a", both + 1, 1), 1);
	/* h2 is cut off; h1 rebooted: its copy of a is shut off */
	ck_assert_int_eq(shq(SIM " h2 down && " SIM " h1 up && " SIM " h1 destroy a"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HASNT(r.out, "a: start");
	HASNT(r.out, "a: recover");
	HAS(r.out, "warning: VM a on h1 is the copy left behind when h1 failed: a was restarted elsewhere, and that "
		   "copy may run on a host that cannot be read now; this one is not started or changed");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, SIM " h1 list"), 0);
	HAS(r.out, "a                    shut off");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list"), 0);
	HAS(r.out, "restarted elsewhere: a\n");
	nc_run_free(&r);
	/* once h2 is failed and fenced too, no copy can write unseen: h1's may start */
	ck_assert_int_eq(shq("cp -a st st-before-h2-fenced && " FENCE " confirm h2 >/dev/null"), 0);
	ck_assert_int_eq(sh(&r, PLAN), 1);
	HAS(r.out, "~ a: start on h1\n");
	HASNT(r.out, "the copy left behind");
	nc_run_free(&r);
	ck_assert_int_eq(shq("rm -rf st && mv st-before-h2-fenced st"), 0);
	/* h2 is seen again: h1's copy is stale */
	ck_assert_int_eq(shq(SIM " h2 up"), 0);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "- a: delete on h1\n      why: stale copy: a was restarted on h2 after h1 failed");
	nc_run_free(&r);
	d = doms_on("h1");
	ck_assert_str_eq(d, "");
	free(d);
	ck_assert_int_eq(copies("a", both + 1, 1), 1);
}
END_TEST

/*
 * A double failure: a restarted on h2 after h1 failed; h2 is cut off and
 * fenced too, and h1's copy left behind is started again.  That start is a
 * takeover, recorded as a recovery onto h1 (h2's entry lists a, h1's no
 * longer does): when h2 returns, its copy is the stale one, and h1's, which
 * runs, is kept (before, h1's running copy was deleted as stale and h2's
 * fenced one kept).
 */
START_TEST(test_ha_takeover_after_double_failure)
{
	static const char *const all[] = { "h1", "h2", "h3" };
	struct nc_run r;
	char *d;

	write_file("spec/hosts.yaml", HOST("h1"));
	write_file("spec/vms.yaml", BASE VM("a", ", ha: {policy: restart}"));
	ck_assert_int_eq(shq(APPLY), 0);
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2") HOST("h3"));
	ck_assert_int_eq(shq(SIM " h1 down && " FENCE " confirm h1 >/dev/null"), 0);
	ck_assert_int_eq(shq(APPLY), 1);
	d = doms_on("h2");
	ck_assert_str_eq(d, "a ");
	free(d);
	/* h3 leaves the cluster so that a has nowhere else to go; h2 is cut off, h1 rebooted */
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2"));
	ck_assert_int_eq(shq(SIM " h2 down && " SIM " h1 up && " SIM " h1 destroy a && " FENCE " confirm h2 >/dev/null"), 0);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.out, "a: start on h1");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "cat st/ha.json"), 0);
	/* h2's entry lists a; h1's no longer does */
	ck_assert_ptr_nonnull(strstr(r.out, "\"h2\""));
	{
		const char *h1 = strstr(r.out, "\"name\": \"h1\""), *h2 = strstr(r.out, "\"name\": \"h2\"");
		char *h1part;

		ck_assert_ptr_nonnull(h2);
		if (h1) {
			h1part = h1 < h2 ? strndup(h1, (size_t)(h2 - h1)) : strdup(h1);
			HASNT(h1part, "\"a\"");
			free(h1part);
		}
		HAS(h2, "\"recovered\": [\"a\"]");
	}
	nc_run_free(&r);
	/* h2 returns with its (fenced) copy: that one is stale, h1's keeps running */
	ck_assert_int_eq(shq(SIM " h2 up"), 0);
	ck_assert_int_eq(sh(&r, APPLY), 0);
	HAS(r.out, "- a: delete on h2\n      why: stale copy: a was restarted on h1 after h2 failed");
	HASNT(r.out, "delete on h1");
	nc_run_free(&r);
	d = doms_on("h1");
	ck_assert_str_eq(d, "a ");
	free(d);
	ck_assert_int_eq(copies("a", all, 3), 1);
	ck_assert_int_eq(sh(&r, SIM " h1 list"), 0);
	HAS(r.out, "running");
	nc_run_free(&r);
}
END_TEST

/*
 * `novacron fence run` waits for a pass that changes the cluster (it holds
 * STATE_DIR/apply.lock, as serve's pass does while it fences and restarts):
 * run alongside, the disks it means to fence could be taken by a copy that
 * pass restarts, and their locks broken under it.
 */
START_TEST(test_ha_fence_run_waits_for_a_pass)
{
	char *path = nc_xasprintf("%s/st/apply.lock", tdir);
	struct nc_run r;
	int fd;

	write_file("spec/hosts.yaml", "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\n"
		   "spec: {uri: \"sim:///h1?cpus=8&memory=16GiB\", fence: [ipmi]}\n---\n");
	write_file("spec/vms.yaml", BASE VM("a", ", ha: {policy: restart}"));
	ck_assert_int_eq(shq(APPLY), 0);
	ck_assert_int_eq(shq("cat spec/hosts.yaml > h && printf '%%s' '" HOST("h2") "' >> h && mv h spec/hosts.yaml && "
			     "printf 'fencing:\\n  devices:\\n    - name: ipmi\\n      type: agent\\n      agent: %s/test/data/"
			     "fence/fence_nc_test\\n      options: {mode: off, log: %s/agent.log}\\n' > cfg.yaml",
			     NC_SOURCE_DIR, tdir), 0);
	ck_assert_int_eq(shq(SIM " h1 down"), 0);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(shq("($NC fence run h1 spec --config cfg.yaml --state-dir st >f.out 2>f.err; touch f.done) "
			     ">/dev/null 2>&1 &"), 0);
	ck_assert_int_eq(sh(&r, "for i in $(seq 600); do grep -q 'waiting for an apply or serve pass' f.err && exit 0; "
			    "sleep 0.1; done; cat f.err; exit 1"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(shq("test ! -e agent.log && test ! -e st/ha.json"), 0);
	close(fd);
	ck_assert_int_eq(shq("for i in $(seq 600); do test -e f.done && exit 0; sleep 0.1; done; exit 1"), 0);
	ck_assert_int_eq(sh(&r, "cat f.out f.err"), 0);
	HAS(r.out, "Fenced: h1 by agent device ipmi");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, APPLY), 1);
	HAS(r.out, "recover a on h2 ... done");
	nc_run_free(&r);
	free(path);
}
END_TEST

/*
 * An apply waiting at its "yes" prompt holds no lock (a serve pass, or a
 * recovery, would wait on a person): it takes STATE_DIR/apply.lock once
 * approved, plans again, and applies only if that plan is the one shown.
 */
START_TEST(test_ha_apply_prompt_holds_no_lock)
{
	char *path = nc_xasprintf("%s/st/apply.lock", tdir), *d;
	struct nc_run r;
	int fd, round;

	write_file("spec/hosts.yaml", HOST("h1"));
	write_file("spec/vms.yaml", BASE VM("a", ""));
	for (round = 0; round < 2; round++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(flock(fd, LOCK_EX), 0);
		ck_assert_int_eq(shq("rm -f p.out p.done; (printf 'yes\\n' | script -qfec \"$NC apply spec --state-dir st\" p.out "
				     ">/dev/null 2>&1; touch p.done) >/dev/null 2>&1 &"), 0);
		/* shown and approved while another pass holds the lock; then it waits */
		ck_assert_int_eq(sh(&r, "for i in $(seq 600); do grep -q 'Apply these actions?' p.out 2>/dev/null && "
				    "grep -q 'waiting for another apply or serve pass' p.out && exit 0; sleep 0.1; done; "
				    "cat p.out; exit 1"), 0);
		nc_run_free(&r);
		d = doms_on("h1");
		ck_assert_str_eq(d, "");
		free(d);
		if (round == 0)      /* the cluster changes meanwhile: what was approved is not what would run */
			ck_assert_int_eq(shq(SIM " h1 define-unmanaged zz >/dev/null"), 0);
		close(fd);
		ck_assert_int_eq(shq("for i in $(seq 600); do test -e p.done && exit 0; sleep 0.1; done; exit 1"), 0);
		ck_assert_int_eq(sh(&r, "cat p.out"), 0);
		d = doms_on("h1");
		if (round == 0) {
			HAS(r.out, "refusing: the plan changed while it waited for 'yes'");
			ck_assert_str_eq(d, "");
		} else {
			HAS(r.out, "Apply complete: 1 done, 0 failed, 0 skipped.");
			ck_assert_str_eq(d, "a ");
		}
		free(d);
		nc_run_free(&r);
	}
	free(path);
}
END_TEST

/* serve's health monitor: a host that failed its checks is not contacted at all */
START_TEST(test_ha_observe_skips_failed_hosts)
{
	static const char *const skip[] = { "h1" };
	const char *yaml = HOST("h1") HOST("h2");
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	struct nc_observe_opts oo;
	struct nc_cluster cl;
	struct nc_hostrec rec = { 0 };
	struct nc_hostrec_host rh[2];
	char *vms[] = { (char *)"a", (char *)"b" };

	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load_buffer(&spec, "t.yaml", yaml, strlen(yaml), NULL, &d), 0);
	memset(rh, 0, sizeof(rh));
	rh[0].name = (char *)"h1";
	rh[0].uri = (char *)"sim:///h1?cpus=8&memory=16GiB";
	rh[0].vms = vms;
	rh[0].nvms = 2;
	rh[1].name = (char *)"h2";
	rh[1].uri = (char *)"sim:///h2?cpus=8&memory=16GiB";
	rec.hosts = rh;
	rec.nhosts = 2;
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = tdir;
	oo.record = &rec;
	oo.skip_hosts = skip;
	oo.nskip = 1;
	nc_observe(&cl, spec, &oo);
	ck_assert_uint_eq(cl.nhosts, 2);
	ck_assert_int_eq(cl.hosts[0].status, NC_HOST_UNREACHABLE);
	ck_assert_str_eq(cl.hosts[0].error, "failed health checks; not contacted");
	ck_assert_int_eq(cl.hosts[1].status, NC_HOST_OK);
	ck_assert_uint_eq(cl.unreachable, 1);
	/* what may run there: the record's VMs */
	ck_assert_uint_eq(cl.hosts[0].nrecorded, 2);
	ck_assert_str_eq(cl.hosts[0].recorded_vms[1], "b");
	ck_assert_uint_eq(cl.hosts[1].nrecorded, 0);
	nc_cluster_release(&cl);
	/* not contacted: its state file was never made */
	{
		char *p = nc_xasprintf("%s/h1.xml", tdir);

		ck_assert_int_ne(access(p, F_OK), 0);
		free(p);
	}
	nc_spec_free(spec);
	nc_diags_release(&d);
}
END_TEST

/* ---- rbd disks on a real single-node Ceph (test/testbed/ceph.sh) ---- */

static char ceph_dir[96];

/* unchecked (in the runner's process): the cluster is stopped even when the test fails */
static void ceph_dir_make(void)
{
	snprintf(ceph_dir, sizeof(ceph_dir), "/tmp/nc-ha-ceph-XXXXXX");
	if (!mkdtemp(ceph_dir))
		ceph_dir[0] = '\0';
}

static void ceph_dir_remove(void)
{
	if (ceph_dir[0])
		nc_test_ceph_down(ceph_dir);
}

#define CPLAN PLAN " --config cfg.yaml"
#define CAPPLY APPLY " --config cfg.yaml"

/*
 * VMs with rbd disks: w (ha: restart, deletionPolicy: delete) is restarted
 * on h2 on its own image once h1's rbd fence covers it, and its stale copy
 * on h1 is removed without the image; y (ha: none), whose client the fence
 * blocklisted, is restarted in place when h1 returns; x, whose image is
 * gone, is never restarted on an empty disk.
 */
START_TEST(test_ha_rbd_restart_keeps_disks)
{
	static const char *const h2[] = { "h2" };
	struct nc_test_ceph ceph;
	struct nc_run r;
	char why[600], *spec, *d;

	if (nc_test_ceph_up(&ceph, ceph_dir, false, NULL, why, sizeof(why)) != 0) {
		NC_TEST_SKIP("%s", why);
		return;
	}
	ck_assert_int_eq(shq("printf 'paths:\\n  ceph: [%s]\\n' > cfg.yaml", ceph_dir), 0);
	write_file("spec/hosts.yaml", HOST("h1"));
	spec = nc_xasprintf(BASE
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: ceph}\n"
		"spec: {type: rbd, rbd: {pool: rbd, cephConf: %s}}\n---\n"
		VM("w", ", ha: {policy: restart}, deletionPolicy: delete, disks: [{name: root, pool: ceph, size: 16MiB}]")
		VM("x", ", ha: {policy: restart}, disks: [{name: root, pool: ceph, size: 16MiB}]")
		VM("y", ", disks: [{name: root, pool: ceph, size: 16MiB}]"), ceph.conf);
	write_file("spec/vms.yaml", spec);
	free(spec);
	ck_assert_int_eq(sh(&r, CAPPLY), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "rbd -c '%s' ls rbd", ceph.conf), 0);
	HAS(r.out, "w-root\n");
	HAS(r.out, "x-root\n");
	nc_run_free(&r);
	/* x's image is lost with h1; h1 fails; its rbd fence broke the locks of all three */
	ck_assert_int_eq(shq("rbd -c '%s' rm rbd/x-root 2>/dev/null", ceph.conf), 0);
	write_file("spec/hosts.yaml", HOST("h1") HOST("h2"));
	ck_assert_int_eq(shq(SIM " h1 down"), 0);
	write_file("st/ha.json", "{\"format_version\": 1, \"hosts\": [{\"name\": \"h1\", \"failed_at\": 1796000000, "
		   "\"fenced\": true, \"fenced_at\": 1796000012, \"fenced_by\": \"rbd device ceph\", \"detail\": "
		   "\"3 exclusive locks broken, their clients blocklisted\", \"whole_host\": false, \"disks\": "
		   "[\"rbd/w-root\", \"rbd/x-root\", \"rbd/y-root\"], \"recovered\": []}]}\n");
	ck_assert_int_eq(sh(&r, CPLAN), 1);
	HAS(r.out, "+ w: recover on h2, then start\n");
	HAS(r.out, "+ x: recover on h2, then start\n");
	HAS(r.out, "warning: VM y was last seen on h1, which cannot be read: it is not restarted elsewhere, its "
		   "ha.policy is none");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, CAPPLY), 1);
	HAS(r.out, "recover w on h2 ... done");
	HAS(r.out, "recover x on h2 ... failed: disk root: volume x-root is not in pool ceph: a VM restarted after "
		   "its host failed keeps its data, so its disks are never made anew; not restarted");
	nc_run_free(&r);
	ck_assert_int_eq(copies("w", h2, 1), 1);
	ck_assert_int_eq(copies("x", h2, 1), 0);
	ck_assert_int_eq(sh(&r, "rbd -c '%s' ls rbd", ceph.conf), 0);
	HAS(r.out, "w-root\n");
	HASNT(r.out, "x-root");
	nc_run_free(&r);

	/* h1 returns: w's copy is stale (its image stays: w on h2 uses it), y restarts in place */
	ck_assert_int_eq(shq(SIM " h1 up"), 0);
	ck_assert_int_eq(sh(&r, CPLAN), 2);
	HAS(r.out, "- w: delete on h1\n      why: stale copy: w was restarted on h2 after h1 failed");
	HAS(r.out, "~ y: update on h1 (with restart)\n      why: restart in place: its rbd client was fenced when h1 "
		   "failed (rbd device ceph: 3 exclusive locks broken, their clients blocklisted)");
	HAS(r.out, "~ rbd client: fenced (blocklisted) -> a new one: destroyed, then started (restart)\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, CPLAN " --output json"), 2);
	HASJ(r.out, "\"action\": \"delete\", \"vm\": \"w\", \"stale\": true");
	HASJ(r.out, "\"action\": \"update\", \"vm\": \"y\", \"ha_restart\": true");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, CAPPLY), 0);
	HAS(r.out, "delete w on h1 ... done");
	HAS(r.out, "update y on h1 ... done");
	nc_run_free(&r);
	d = doms_on("h1");
	ck_assert_str_eq(d, "x y ");
	free(d);
	ck_assert_int_eq(copies("w", h2, 1), 1);
	ck_assert_int_eq(sh(&r, "rbd -c '%s' ls rbd", ceph.conf), 0);
	HAS(r.out, "w-root\n");      /* deletionPolicy: delete did not apply to the stale copy */
	HAS(r.out, "y-root\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, FENCE " list"), 0);
	ck_assert_str_eq(r.out, "No failed hosts in the HA record.\n");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_ha(void)
{
	Suite *s = suite_create("ha");
	TCase *tc = tcase_create("record");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ha_record_round_trip);
	tcase_add_loop_test(tc, test_ha_record_malformed, 0, (int)NC_ARRAY_SIZE(bad_records));
	tcase_add_test(tc, test_ha_vm_fenced);
	tcase_add_test(tc, test_ha_lock_excludes);
	suite_add_tcase(s, tc);

	tc = tcase_create("sim");
	tcase_add_checked_fixture(tc, sim_setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_ha_recover_by_priority);
	tcase_add_test(tc, test_ha_why_not_restarted);
	tcase_add_test(tc, test_ha_rbd_fence_covers_every_disk);
	tcase_add_test(tc, test_ha_fence_cli);
	tcase_add_test(tc, test_ha_recover_cut_short);
	tcase_add_test(tc, test_ha_two_applies_restart_once);
	tcase_add_test(tc, test_ha_left_behind_copy_not_started);
	tcase_add_test(tc, test_ha_takeover_after_double_failure);
	tcase_add_test(tc, test_ha_fence_run_waits_for_a_pass);
	tcase_add_test(tc, test_ha_apply_prompt_holds_no_lock);
	tcase_add_test(tc, test_ha_max_recoveries_option);
	tcase_add_test(tc, test_ha_return_while_restarted_copy_unseen);
	tcase_add_test(tc, test_ha_observe_skips_failed_hosts);
	suite_add_tcase(s, tc);

	tc = tcase_create("ceph");
	tcase_add_unchecked_fixture(tc, ceph_dir_make, ceph_dir_remove);
	tcase_add_checked_fixture(tc, sim_setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_ha_rbd_restart_keeps_disks);
	suite_add_tcase(s, tc);
	return s;
}
