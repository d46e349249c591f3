/*
 * test_verbs.c - the API's operational verbs (reconciler/verbs.h): the HTTP
 * side (nc_verbs_handle: roles, bodies, names, tenants, the answers), the
 * queue the hooks fill and the loop takes (pause file, approval one-shot),
 * the jobs the loop carries out (backup, restore, fence confirm) on sim
 * hosts, and a real serve on sim hosts paused and in apply.mode approve.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../reconciler/verbs.h"
#include "../spec/diag.h"
#include "../spec/model.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];
/* the test directories, gone over once more after the tests: a failed test skips its teardown */
static char registry[64];

/* stops what a test started there, by PID, and removes the directory */
static void cleanup_dir(const char *dir)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("cd '%s' 2>/dev/null || exit 0; [ -f pid ] && kill -9 $(cat pid) 2>/dev/null; "
				 "cd / && rm -rf '%s'", dir, dir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

static void registry_setup(void)
{
	int fd;

	snprintf(registry, sizeof(registry), "/tmp/nc-verbs-registry-XXXXXX");
	fd = mkstemp(registry);
	if (fd >= 0)
		close(fd);
}

static void registry_teardown(void)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len;

	if (nc_read_file(registry, 1 << 20, &buf, &len) == 0) {
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			cleanup_dir(line);
		free(buf);
	}
	unlink(registry);
}

static void setup(void)
{
	FILE *f;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-verbs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	f = fopen(registry, "a");
	if (f) {
		fprintf(f, "%s\n", tdir);
		fclose(f);
	}
}

static void teardown(void)
{
	cleanup_dir(tdir);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

/* a sim host h1, a dir pool, a schedule, vm1 (stopped, one disk) and vm2 (running, no disk) */
static void write_spec(void)
{
	ck_assert_int_eq(shq("mkdir -p spec pool && "
		"printf 'paths: {pools: [\"%%s\"], backups: [\"%%s\"]}\\n' \"$PWD\" \"$PWD\" > novacron.yaml && "
		"cat > spec/c.yaml <<EOF\n"
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: \"sim:///h1\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\nspec: {type: dir, path: \"$PWD/pool\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: nightly}\n"
		"spec:\n  schedule: \"30 2 * * *\"\n  vms: [vm1]\n  target: {type: dir, path: \"$PWD/repo\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: vm1}\n"
		"spec:\n  vcpus: 1\n  memory: 256MiB\n  state: stopped\n  placement: {host: h1}\n"
		"  disks:\n    - {name: root, pool: local, size: 4MiB}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: vm2}\n"
		"spec:\n  vcpus: 1\n  memory: 256MiB\n  placement: {host: h1}\n"
		"EOF"), 0);
}

static struct nc_spec *load_spec(void)
{
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	char *path = nc_xasprintf("%s/spec", tdir);
	const char *paths[] = { path };

	nc_diags_init(&d);
	ck_assert_msg(nc_spec_load(&spec, paths, 1, NULL, &d) == 0, "spec: %s", d.n ? d.v[0].msg : "?");
	nc_diags_release(&d);
	free(path);
	return spec;
}

/* ---- requests made by hand: what http.c hands the dispatcher ---- */
static const char *no_lookup(const struct nc_web_req *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

static unsigned call(const struct nc_web_hooks *h, const struct nc_spec *spec, const struct nc_principal *p,
		     const char *method, const char *path, const char *body, char **out)
{
	struct nc_web_req req;
	struct nc_web_resp resp;
	unsigned code;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	nc_buf_init(&resp.body);
	req.method = method;
	req.path = path;
	req.body = body;
	req.body_len = strlen(body);
	req.peer = "127.0.0.1";
	req.header = req.query = req.cookie = no_lookup;
	nc_verbs_handle(h, spec, &req, p, &resp);
	code = resp.code;
	if (out)
		*out = nc_xstrdup(resp.body.buf ? resp.body.buf : "");
	nc_web_resp_release(&resp);
	return code;
}

#define CALL(h, spec, p, m, path, body, want) do { \
		char *b_ = NULL; \
		unsigned c_ = call((h), (spec), (p), (m), (path), (body), &b_); \
		ck_assert_msg(c_ == (want), "%s %s %s: %u, want %u: %s", (m), (path), (body), c_, (unsigned)(want), b_); \
		free(b_); \
	} while (0)

static void principal(struct nc_principal *p, enum nc_role role, const char *tenant)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->who, sizeof(p->who), "token:%s", nc_role_name(role));
	p->role = role;
	p->all_tenants = tenant == NULL;
	if (tenant) {
		snprintf(p->tenants[0], sizeof(p->tenants[0]), "%s", tenant);
		p->ntenants = 1;
	}
}

static const struct { const char *path, *body; } every_verb[] = {
	{ "/api/v1/sync", "" },
	{ "/api/v1/pause", "" },
	{ "/api/v1/resume", "{}" },
	{ "/api/v1/plan/approve", "{\"digest\": \"0000000000000000000000000000000000000000000000000000000000000000\"}" },
	{ "/api/v1/vms/vm1/backup", "" },
	{ "/api/v1/vms/vm1/restore", "{\"backup\": \"abcd1234\"}" },
	{ "/api/v1/hosts/h1/fence/confirm", "{\"by\": \"someone\"}" },
};

/* viewers (and no one) may do no verb; operators all but fence confirm; nothing is queued */
START_TEST(test_verbs_roles)
{
	struct nc_verbs *v = nc_verbs_new(tdir);
	struct nc_web_hooks h;
	struct nc_principal none, viewer, op;
	struct nc_verb_job j;
	struct nc_spec *spec;
	size_t i;
	bool paused;
	int frc;
	char why[256];

	write_spec();
	spec = load_spec();
	nc_verbs_hooks(v, &h);
	principal(&none, NC_ROLE_NONE, NULL);
	principal(&viewer, NC_ROLE_VIEWER, NULL);
	principal(&op, NC_ROLE_OPERATOR, NULL);
	for (i = 0; i < NC_ARRAY_SIZE(every_verb); i++) {
		CALL(&h, spec, &none, "POST", every_verb[i].path, every_verb[i].body, 403);
		CALL(&h, spec, &viewer, "POST", every_verb[i].path, every_verb[i].body, 403);
	}
	ck_assert(!nc_verbs_take_sync(v));
	ck_assert(!nc_verbs_take_pause(v, &paused, &frc, why, sizeof(why)));
	ck_assert(!nc_verbs_take_job(v, &j));
	/* an operator: fence confirm is the admin's */
	CALL(&h, spec, &op, "POST", "/api/v1/hosts/h1/fence/confirm", "", 403);
	CALL(&h, spec, &op, "POST", "/api/v1/sync", "", 202);
	ck_assert(nc_verbs_take_sync(v));
	ck_assert(!nc_verbs_take_sync(v));
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1/backup", "", 202);
	ck_assert(nc_verbs_take_job(v, &j));
	ck_assert_int_eq(j.kind, NC_VERB_BACKUP);
	ck_assert_str_eq(j.vm, "vm1");
	/* not a verb: left to the dispatcher */
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1", "", 0);
	CALL(&h, spec, &op, "POST", "/api/v1/vms", "", 0);
	nc_spec_free(spec);
	nc_verbs_free(v);
}
END_TEST

/* bad methods, bodies and names are refused before anything is queued; other tenants' VMs are not found */
START_TEST(test_verbs_bad_requests)
{
	struct nc_verbs *v = nc_verbs_new(tdir);
	struct nc_web_hooks h;
	struct nc_principal op, admin, scoped;
	struct nc_verb_job j;
	struct nc_spec *spec;
	char *body = NULL;

	write_spec();
	spec = load_spec();
	nc_verbs_hooks(v, &h);
	principal(&op, NC_ROLE_OPERATOR, NULL);
	principal(&admin, NC_ROLE_ADMIN, NULL);
	principal(&scoped, NC_ROLE_ADMIN, "team-a");
	CALL(&h, spec, &op, "GET", "/api/v1/sync", "", 405);
	CALL(&h, spec, &op, "POST", "/api/v1/sync", "[1]", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/sync", "{\"x\": 1}", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/sync", "{\"a\": ", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/sync", "{} x", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/sync", "{}  \n", 202);
	/* names from the URL follow the spec's rules; a bad one is not echoed */
	ck_assert_uint_eq(call(&h, spec, &op, "POST", "/api/v1/vms/<script>/backup", "", &body), 400);
	HASNT(body, "<script>");
	free(body);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/../backup", "", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/a/b/backup", "", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/VM1/backup", "", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/-vm1/backup", "", 400);
	CALL(&h, spec, &op, "POST",
	     "/api/v1/vms/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/backup", "", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm9/backup", "", 404);
	CALL(&h, spec, &admin, "POST", "/api/v1/hosts/h9/fence/confirm", "", 404);
	CALL(&h, NULL, &op, "POST", "/api/v1/vms/vm1/backup", "", 503);
	/* a principal scoped to a tenant sees no VM of another (here: of none) and may not pause the
	 * cluster or fence a host (hosts are no tenant's) */
	CALL(&h, spec, &scoped, "POST", "/api/v1/vms/vm1/backup", "", 404);
	CALL(&h, spec, &scoped, "POST", "/api/v1/hosts/h1/fence/confirm", "", 403);
	CALL(&h, spec, &scoped, "POST", "/api/v1/pause", "", 403);
	CALL(&h, spec, &scoped, "POST", "/api/v1/plan/approve", "{\"digest\": \"00\"}", 403);
	/* restore's body */
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1/restore", "", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1/restore", "{\"backup\": 7}", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1/restore", "{\"backup\": \"../../x\"}", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1/restore", "{\"backup\": \"abcd\", \"as\": \"Bad Name\"}", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1/restore", "{\"backup\": \"abcd\", \"as\": \"vm2\"}", 409);
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1/restore", "{\"backup\": \"abcd\", \"host\": \"h1\"}", 400);
	/* fence confirm's "by" */
	CALL(&h, spec, &admin, "POST", "/api/v1/hosts/h1/fence/confirm", "{\"by\": \"a\\nb\"}", 400);
	CALL(&h, spec, &admin, "POST", "/api/v1/hosts/h1/fence/confirm", "{\"by\": \"\"}", 400);
	/* approve's */
	CALL(&h, spec, &op, "POST", "/api/v1/plan/approve", "", 400);
	CALL(&h, spec, &op, "POST", "/api/v1/plan/approve", "{\"digest\": \"XYZ\"}", 400);
	ck_assert(!nc_verbs_take_job(v, &j));
	/* accepted: the answer says what, and the job holds it */
	ck_assert_uint_eq(call(&h, spec, &op, "POST", "/api/v1/vms/vm1/restore",
			       "{\"backup\": \"abcd1234\", \"as\": \"vm1-copy\"}", &body), 202);
	ck_assert_str_eq(body, "{\"ok\": true, \"verb\": \"restore\", \"vm\": \"vm1\", \"backup\": \"abcd1234\"}\n");
	free(body);
	/* the same again while it waits: refused, not queued twice */
	CALL(&h, spec, &op, "POST", "/api/v1/vms/vm1/restore", "{\"backup\": \"abcd1234\", \"as\": \"vm1-copy\"}", 409);
	ck_assert(nc_verbs_take_job(v, &j));
	ck_assert_int_eq(j.kind, NC_VERB_RESTORE);
	ck_assert_str_eq(j.backup, "abcd1234");
	ck_assert_str_eq(j.as, "vm1-copy");
	ck_assert(!nc_verbs_take_job(v, &j));
	/* fence confirm without "by": the principal's name */
	ck_assert_uint_eq(call(&h, spec, &admin, "POST", "/api/v1/hosts/h1/fence/confirm", "", &body), 202);
	HAS(body, "\"by\": \"token:admin\"");
	free(body);
	ck_assert(nc_verbs_take_job(v, &j));
	ck_assert_str_eq(j.by, "token:admin");
	nc_spec_free(spec);
	nc_verbs_free(v);
}
END_TEST

/* a principal scoped to a tenant reaches its tenant's VMs; another tenant's answer as a VM that is not there */
START_TEST(test_verbs_tenants)
{
	const char *paths[] = { NC_SOURCE_DIR "/examples/tenants" };
	struct nc_verbs *v = nc_verbs_new(tdir);
	struct nc_web_hooks h;
	struct nc_principal web, all;
	struct nc_verb_job j;
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	char *other = NULL, *none = NULL;

	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load(&spec, paths, 1, NULL, &d), 0);
	nc_diags_release(&d);
	nc_verbs_hooks(v, &h);
	principal(&web, NC_ROLE_OPERATOR, "web");
	principal(&all, NC_ROLE_OPERATOR, NULL);
	CALL(&h, spec, &web, "POST", "/api/v1/vms/web-1/backup", "", 202);
	ck_assert(nc_verbs_take_job(v, &j));
	ck_assert_str_eq(j.vm, "web-1");
	ck_assert_uint_eq(call(&h, spec, &web, "POST", "/api/v1/vms/db-1/backup", "", &other), 404);
	ck_assert_uint_eq(call(&h, spec, &web, "POST", "/api/v1/vms/db-9/backup", "", &none), 404);
	/* the same words but the name: nothing tells that db-1 exists */
	HAS(other, "no VM named 'db-1' in revision in force");
	HAS(none, "no VM named 'db-9' in revision in force");
	CALL(&h, spec, &web, "POST", "/api/v1/vms/db-1/restore", "{\"backup\": \"abcd\", \"as\": \"x\"}", 404);
	ck_assert(!nc_verbs_take_job(v, &j));
	/* restore beside one's own VM under a new name: a domain of no tenant, so not for a scoped
	 * principal (whatever the name: nothing tells whether it is another tenant's VM) */
	CALL(&h, spec, &web, "POST", "/api/v1/vms/web-1/restore", "{\"backup\": \"abcd\", \"as\": \"db-1\"}", 403);
	CALL(&h, spec, &web, "POST", "/api/v1/vms/web-1/restore", "{\"backup\": \"abcd\", \"as\": \"web-9\"}", 403);
	CALL(&h, spec, &web, "POST", "/api/v1/vms/web-1/restore", "{\"backup\": \"abcd\"}", 202);
	ck_assert(nc_verbs_take_job(v, &j));
	/* an unscoped operator reaches both */
	CALL(&h, spec, &all, "POST", "/api/v1/vms/db-1/backup", "", 202);
	ck_assert(nc_verbs_take_job(v, &j));
	ck_assert_str_eq(j.vm, "db-1");
	free(other);
	free(none);
	nc_spec_free(spec);
	nc_verbs_free(v);
}
END_TEST

/* approve: only in approve mode, only the pending plan's digest, and once */
START_TEST(test_verbs_approve_one_shot)
{
	static const char d1[] = "1111111111111111111111111111111111111111111111111111111111111111",
			  d2[] = "2222222222222222222222222222222222222222222222222222222222222222";
	struct nc_verbs *v = nc_verbs_new(tdir);
	struct nc_web_hooks h;
	struct nc_principal op;
	char body[128], was[65], *out = NULL;

	nc_verbs_hooks(v, &h);
	principal(&op, NC_ROLE_OPERATOR, NULL);
	snprintf(body, sizeof(body), "{\"digest\": \"%s\"}", d1);
	/* auto mode: nothing to approve */
	ck_assert_uint_eq(call(&h, NULL, &op, "POST", "/api/v1/plan/approve", body, &out), 409);
	HAS(out, "apply.mode is auto");
	free(out);
	nc_verbs_set_approve_mode(v, true);
	ck_assert_uint_eq(call(&h, NULL, &op, "POST", "/api/v1/plan/approve", body, &out), 409);
	HAS(out, "no plan is pending");
	free(out);
	/* the loop held d2; d1 is not it */
	nc_verbs_set_pending(v, d2);
	ck_assert_uint_eq(call(&h, NULL, &op, "POST", "/api/v1/plan/approve", body, &out), 409);
	HAS(out, "is not the pending plan's");
	free(out);
	ck_assert_int_eq(nc_verbs_take_approved(v, d2, was), 0);
	ck_assert(!nc_verbs_take_pass(v));
	/* d2 is */
	snprintf(body, sizeof(body), "{\"digest\": \"%s\"}", d2);
	CALL(&h, NULL, &op, "POST", "/api/v1/plan/approve", body, 202);
	ck_assert(nc_verbs_take_pass(v));
	/* the next pass built d1 (the cluster changed): not applied, and the approval is gone */
	ck_assert_int_eq(nc_verbs_take_approved(v, d1, was), -1);
	ck_assert_str_eq(was, d2);
	ck_assert_int_eq(nc_verbs_take_approved(v, d2, was), 0);
	/* approved again, and the pass builds d2: applied, once */
	CALL(&h, NULL, &op, "POST", "/api/v1/plan/approve", body, 202);
	ck_assert_int_eq(nc_verbs_take_approved(v, d2, was), 1);
	ck_assert_int_eq(nc_verbs_take_approved(v, d2, was), 0);
	nc_verbs_free(v);
}
END_TEST

/* pause writes STATE_DIR/paused when the loop takes it; a new serve starts paused; resume removes it */
START_TEST(test_verbs_pause_survives_restart)
{
	struct nc_verbs *v = nc_verbs_new(tdir), *v2;
	struct nc_web_hooks h;
	struct nc_principal op;
	char *path = nc_xasprintf("%s/%s", tdir, NC_VERBS_PAUSED_FILE), why[256], *other;
	bool paused;
	int frc;

	nc_verbs_hooks(v, &h);
	principal(&op, NC_ROLE_OPERATOR, NULL);
	ck_assert(!nc_verbs_paused(v));
	CALL(&h, NULL, &op, "POST", "/api/v1/pause", "", 202);
	ck_assert(nc_verbs_paused(v));
	ck_assert_int_ne(access(path, F_OK), 0);     /* the HTTP thread writes nothing */
	ck_assert(nc_verbs_take_pause(v, &paused, &frc, why, sizeof(why)));
	ck_assert(paused);
	ck_assert_int_eq(frc, 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert(!nc_verbs_take_pause(v, &paused, &frc, why, sizeof(why)));
	v2 = nc_verbs_new(tdir);
	ck_assert(nc_verbs_paused(v2));
	nc_verbs_free(v2);
	CALL(&h, NULL, &op, "POST", "/api/v1/resume", "", 202);
	ck_assert(nc_verbs_take_pass(v));       /* resumed: a pass at once */
	ck_assert(nc_verbs_take_pause(v, &paused, &frc, why, sizeof(why)));
	ck_assert(!paused);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* a reload to the same stateDir keeps a pause asked and not yet taken; to another, its file says */
	CALL(&h, NULL, &op, "POST", "/api/v1/pause", "", 202);
	ck_assert(!nc_verbs_set_state_dir(v, tdir));
	ck_assert(nc_verbs_take_pause(v, &paused, &frc, why, sizeof(why)));
	ck_assert(paused);
	other = nc_xasprintf("%s/other", tdir);
	ck_assert_int_eq(mkdir(other, 0700), 0);
	ck_assert(nc_verbs_set_state_dir(v, other));
	ck_assert(!nc_verbs_paused(v));
	ck_assert(!nc_verbs_take_pause(v, &paused, &frc, why, sizeof(why)));
	free(other);
	free(path);
	nc_verbs_free(v);
}
END_TEST

static void on_log(void *opaque, const char *msg)
{
	nc_buf_addf(opaque, "%s\n", msg);
}

/*
 * The jobs the loop runs for the verbs, on a sim host: a backup of vm1
 * into its schedule's repository, a restore of it beside vm1 (--as), and
 * a fence confirmation, refused while h1 answers, recorded once it is down.
 */
START_TEST(test_verbs_jobs_backup_restore_fence)
{
	struct nc_run r;
	struct nc_spec *spec;
	struct nc_verbs_env env;
	struct nc_list conns = { { 0 }, NULL, 0 };
	struct nc_buf log = NC_BUF_INIT;
	struct nc_err err = { "" };
	char *state = nc_xasprintf("%s/state", tdir), id[17];
	const char *p;

	write_spec();
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --config novacron.yaml --auto-approve"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pool/vm1-root.qcow2 4M && "
			     "qemu-io -f qcow2 -c 'write -P 0x42 0 1M' pool/vm1-root.qcow2 >/dev/null"), 0);
	spec = load_spec();
	memset(&env, 0, sizeof(env));
	env.spec = spec;
	env.state_dir = state;
	env.connections = &conns;
	env.timeout_ms = 10000;
	env.log = on_log;
	env.opaque = &log;
	ck_assert_msg(nc_verbs_backup(&env, "vm1", &err) == 0, "%s", err.msg);
	HAS(log.buf, "backup vm1 (asked through the API): ");
	HAS(log.buf, "into schedule nightly");
	ck_assert_int_eq(nc_verbs_backup(&env, "vm2", &err), -1);
	HAS(err.msg, "VM 'vm2' has no BackupSchedule");
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule nightly spec --state-dir state --config novacron.yaml"), 0);
	ck_assert_ptr_nonnull((p = strchr(r.out, '\n')));
	snprintf(id, sizeof(id), "%.16s", p + 1);
	nc_run_free(&r);
	/* beside it, under a new name: the disk and a domain that is not started (a sim pool's
	 * volumes are files only where the test makes them) */
	ck_assert_int_eq(shq("cp pool/vm1-root.qcow2 root.at-backup && "
			     "qemu-io -f qcow2 -c 'write -P 0x66 0 4M' pool/vm1-root.qcow2 >/dev/null && "
			     "qemu-img create -q -f qcow2 pool/vm1-copy-root.qcow2 4M"), 0);
	ck_assert_msg(nc_verbs_restore(&env, "vm1", id, "vm1-copy", &err) == 0, "%s", err.msg);
	HAS(log.buf, "restore: restored vm1-copy disk root");
	HAS(log.buf, "restore: defined vm1-copy on h1 (not started)");
	ck_assert_int_eq(shq("qemu-img compare -q pool/vm1-copy-root.qcow2 root.at-backup"), 0);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state h1 list"), 0);
	HAS(r.out, "vm1-copy");
	nc_run_free(&r);
	/* again: the domain exists now */
	ck_assert_int_eq(nc_verbs_restore(&env, "vm1", id, "vm1-copy", &err), -1);
	HAS(err.msg, "a domain named 'vm1-copy' already exists on h1");
	ck_assert_int_eq(nc_verbs_restore(&env, "vm1", "ffffffff", NULL, &err), -1);

	/* fence confirm: h1 answers, so it is not off */
	ck_assert_int_eq(nc_verbs_fence_confirm(&env, "h1", "tester", &err), -1);
	HAS(err.msg, "refusing: h1 can be read right now");
	ck_assert_int_ne(shq("test -f state/ha.json && grep -q manual state/ha.json"), 0);
	ck_assert_int_eq(nc_verbs_fence_confirm(&env, "h9", "tester", &err), -1);
	HAS(err.msg, "no host named 'h9' in the record of hosts");
	ck_assert_int_eq(shq("$NC sim --state-dir state h1 down >/dev/null"), 0);
	ck_assert_msg(nc_verbs_fence_confirm(&env, "h1", "token:ops", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sh(&r, "$NC fence list --state-dir state"), 0);
	HAS(r.out, "h1");
	HAS(r.out, "manual: token:ops");
	nc_run_free(&r);
	nc_buf_release(&log);
	nc_spec_free(spec);
	free(state);
}
END_TEST

/* ---- a real serve ---- */
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

static char *get(int port, const char *path)
{
	struct nc_run r;
	char *out;

	sh(&r, "curl -s --max-time 20 http://127.0.0.1:%d%s", port, path);
	out = r.out;
	r.out = NULL;
	nc_run_free(&r);
	return out;
}

/* polls GET path until its body has want */
static char *wait_body(int port, const char *path, const char *want, int seconds)
{
	int i;

	for (i = 0; i < seconds * 5; i++) {
		char *b = get(port, path);

		if (strstr(b, want))
			return b;
		if (i == seconds * 5 - 1) {
			struct nc_run r;

			sh(&r, "tail -15 log");
			ck_abort_msg("timed out waiting for '%s' at %s:\n%.2500s\nlog:\n%.2500s", want, path, b, r.out);
		}
		free(b);
		usleep(200000);
	}
	return NULL;
}

static void start_serve(int port, const char *extra)
{
	ck_assert_int_eq(shq("printf -- 'source:\\n  directory: %s/spec\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
			     "interval: 1s\\ndriftInterval: 1s\\nlisten: 127.0.0.1:%d\\ntelemetry: {enabled: false}\\n"
			     "paths: {pools: [\"%s\"], backups: [\"%s\"]}\\n%s' > serve.yaml",
			     tdir, tdir, tdir, port, tdir, tdir, extra), 0);
	ck_assert_int_eq(shq("$NC serve --config serve.yaml >/dev/null 2>>log & echo $! > pid"), 0);
}

static void stop_serve(void)
{
	ck_assert_int_eq(shq("kill -TERM $(cat pid); for i in $(seq 100); do kill -0 $(cat pid) 2>/dev/null || break; "
			     "sleep 0.1; done; rm -f pid"), 0);
}

/* passes done so far, by /status */
static long passes(int port)
{
	char *b = get(port, "/status"), *p = strstr(b, "\"passes\": {\"ok\": ");
	long n = p ? strtol(p + 17, NULL, 10) : -1;

	free(b);
	return n;
}

/* ---- over HTTP, with tokens ---- */

/* POST path with TOKEN's file as the bearer: the status code, the body into *out (may be NULL) */
static int post(int port, const char *tokfile, const char *path, const char *body, char **out)
{
	struct nc_run r;
	int code = -1;
	char *nl;

	sh(&r, "curl -s --max-time 20 -o body.out -w '%%{http_code}' -X POST -H \"Authorization: Bearer $(cat %s)\" "
	       "-H 'Content-Type: application/json' --data-binary '%s' http://127.0.0.1:%d%s; echo; cat body.out",
	   tokfile, body, port, path);
	code = atoi(r.out);
	if (out) {
		nl = strchr(r.out, '\n');
		*out = nc_xstrdup(nl ? nl + 1 : "");
	}
	nc_run_free(&r);
	return code;
}

/* GET path with TOKEN's file as the bearer */
static char *get_as(int port, const char *tokfile, const char *path)
{
	struct nc_run r;
	char *out;

	sh(&r, "curl -s --max-time 20 -H \"Authorization: Bearer $(cat %s)\" http://127.0.0.1:%d%s", tokfile, port, path);
	out = r.out;
	r.out = NULL;
	nc_run_free(&r);
	return out;
}

#define POST(port, tok, path, body, want) do { \
		char *b_ = NULL; \
		int c_ = post((port), (tok), (path), (body), &b_); \
		ck_assert_msg(c_ == (want), "POST %s %s as %s: %d, want %d: %s", (path), (body), (tok), c_, (want), b_); \
		free(b_); \
	} while (0)

static void tokens(void)
{
	ck_assert_int_eq(shq("mkdir -p state && chmod 700 state && "
			     "$NC token create view --role viewer --state-dir state > view.tok 2>/dev/null && "
			     "$NC token create op --role operator --state-dir state > op.tok 2>/dev/null && "
			     "$NC token create adm --role admin --state-dir state > adm.tok 2>/dev/null"), 0);
}

/* is the web part behind serve's listener yet (the api helper's bridge)? */
static bool web_part(int port)
{
	return post(port, "view.tok", "/api/v1/sync", "", NULL) == 403;
}

/* the digest of the plan /status says is held, waiting until one is and differs from not */
static void held_digest(int port, const char *not, char out[65])
{
	int i;

	for (i = 0; i < 150; i++) {
		char *b = get(port, "/status"), *p = strstr(b, "\"plan_held\": \"");

		if (p && (!not || strncmp(p + 14, not, 64) != 0)) {
			snprintf(out, 65, "%.64s", p + 14);
			free(b);
			return;
		}
		free(b);
		usleep(200000);
	}
	ck_abort_msg("no plan held (other than %s)", not ? not : "none");
}

/*
 * apply.mode approve over HTTP: viewers get 403 on every verb; a wrong
 * digest is 409 and applies nothing; the held plan's digest applies it
 * (the VMs exist in the sim state); the approval is used once: after new
 * drift the plan is held again, and the old digest is refused.
 */
START_TEST(test_verbs_http_approve)
{
	struct nc_run r;
	char d1[65], d2[65], body[128], *b;
	const char *wrong = "{\"digest\": \"0000000000000000000000000000000000000000000000000000000000000000\"}";
	size_t i;
	long n;
	int port = free_port();

	write_spec();
	tokens();
	start_serve(port, "apply: {mode: approve}\\n");
	held_digest(port, NULL, d1);
	if (!web_part(port)) {
		NC_TEST_SKIP("serve's listener does not route /api/v1/ to the web part yet");
		return;
	}
	for (i = 0; i < NC_ARRAY_SIZE(every_verb); i++)
		POST(port, "view.tok", every_verb[i].path, every_verb[i].body, 403);
	POST(port, "op.tok", "/api/v1/plan/approve", wrong, 409);
	n = passes(port);
	while (passes(port) < n + 2)
		usleep(200000);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state h1 list"), 0);
	HASNT(r.out, "vm2");
	nc_run_free(&r);
	b = get(port, "/status");
	HAS(b, "\"apply_mode\": \"approve\"");
	HAS(b, d1);
	free(b);
	b = get(port, "/metrics");
	HAS(b, "novacron_plan_held 1\n");
	free(b);
	/* said once, not every pass */
	ck_assert_int_eq(sh(&r, "grep -c 'held for approval' log"), 0);
	ck_assert_str_eq(r.out, "1\n");
	nc_run_free(&r);
	/* the held plan's digest: applied by the next pass */
	snprintf(body, sizeof(body), "{\"digest\": \"%s\"}", d1);
	POST(port, "op.tok", "/api/v1/plan/approve", body, 202);
	b = wait_body(port, "/status", "\"plan_held\": null", 30);
	free(b);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state h1 list"), 0);
	HAS(r.out, "vm1");
	HAS(r.out, "vm2");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "grep -c 'approved: applying' log"), 0);
	nc_run_free(&r);
	b = get_as(port, "view.tok", "/api/v1/events");
	HAS(b, "the approved plan (digest ");
	free(b);
	/* drift: a new plan, held; the used approval applies nothing */
	ck_assert_int_eq(shq("$NC sim --state-dir state h1 destroy vm2"), 0);
	held_digest(port, NULL, d2);
	ck_assert_str_ne(d1, d2);
	POST(port, "op.tok", "/api/v1/plan/approve", body, 409);
	n = passes(port);
	while (passes(port) < n + 2)
		usleep(200000);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state h1 list | grep vm2"), 0);
	HASNT(r.out, "running");
	nc_run_free(&r);
	stop_serve();
}
END_TEST

/*
 * pause and resume over HTTP: paused, drift stays (and /status says so);
 * the file keeps a restarted serve paused; resumed, it is repaired.  Then
 * the jobs: a backup and a restore beside the VM, and a fence confirmed
 * by an admin once the host is down (an operator may not).
 */
START_TEST(test_verbs_http_pause_backup_fence)
{
	struct nc_run r;
	char *b, id[17];
	const char *p;
	long n;
	int port = free_port();

	write_spec();
	tokens();
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --config novacron.yaml --auto-approve"), 0);
	nc_run_free(&r);
	start_serve(port, "");
	b = wait_body(port, "/status", "\"result\": \"ok\"", 30);
	free(b);
	if (!web_part(port)) {
		NC_TEST_SKIP("serve's listener does not route /api/v1/ to the web part yet");
		return;
	}
	POST(port, "op.tok", "/api/v1/pause", "", 202);
	b = wait_body(port, "/status", "\"paused\": true", 20);
	free(b);
	ck_assert_int_eq(shq("test -f state/paused && $NC sim --state-dir state h1 destroy vm2"), 0);
	b = wait_body(port, "/status", "\"drift\": 1", 20);
	free(b);
	/* a restart stays paused */
	stop_serve();
	start_serve(port, "");
	b = wait_body(port, "/status", "\"paused\": true", 30);
	free(b);
	b = wait_body(port, "/status", "\"drift\": 1", 20);
	free(b);
	n = passes(port);
	while (passes(port) < n + 2)
		usleep(200000);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state h1 list | grep vm2"), 0);
	HASNT(r.out, "running");
	nc_run_free(&r);
	b = get(port, "/metrics");
	HAS(b, "novacron_paused 1\n");
	free(b);
	ck_assert_int_eq(shq("grep -q 'paused (.*/paused): planning, applying nothing' log"), 0);
	POST(port, "op.tok", "/api/v1/resume", "", 202);
	b = wait_body(port, "/status", "\"start/done\": 1", 30);
	HAS(b, "\"paused\": false");
	free(b);
	ck_assert_int_ne(shq("test -f state/paused"), 0);

	/* backup, then restore beside it */
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pool/vm1-root.qcow2 4M && "
			     "qemu-io -f qcow2 -c 'write -P 0x42 0 1M' pool/vm1-root.qcow2 >/dev/null && "
			     "cp pool/vm1-root.qcow2 root.at-backup && "
			     "qemu-img create -q -f qcow2 pool/vm1-copy-root.qcow2 4M"), 0);
	POST(port, "op.tok", "/api/v1/vms/vm1/backup", "", 202);
	b = wait_body(port, "/status", "\"backups\": {\"ok\": 1", 30);
	free(b);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule nightly spec --state-dir state --config novacron.yaml"), 0);
	ck_assert_ptr_nonnull((p = strchr(r.out, '\n')));
	snprintf(id, sizeof(id), "%.16s", p + 1);
	nc_run_free(&r);
	{
		char body[96];

		snprintf(body, sizeof(body), "{\"backup\": \"%s\", \"as\": \"vm1-copy\"}", id);
		POST(port, "op.tok", "/api/v1/vms/vm1/restore", body, 202);
	}
	for (n = 0; n < 150 && shq("grep -q 'restore vm1 from backup .* as vm1-copy: done' log") != 0; n++)
		usleep(200000);
	ck_assert_int_eq(shq("qemu-img compare -q pool/vm1-copy-root.qcow2 root.at-backup"), 0);

	/* fence confirm: the admin's; refused (in the log) while h1 answers, recorded once it is down */
	POST(port, "op.tok", "/api/v1/hosts/h1/fence/confirm", "", 403);
	POST(port, "adm.tok", "/api/v1/hosts/h1/fence/confirm", "", 202);
	for (n = 0; n < 150 && shq("grep -q 'fence confirm h1 (by token:adm) refused: refusing: h1 can be read' log") != 0; n++)
		usleep(200000);
	ck_assert_int_lt(n, 150);
	ck_assert_int_eq(shq("$NC sim --state-dir state h1 down >/dev/null"), 0);
	POST(port, "adm.tok", "/api/v1/hosts/h1/fence/confirm", "{\"by\": \"night shift\"}", 202);
	for (n = 0; n < 150 && shq("grep -q 'manual: night shift' state/ha.json") != 0; n++)
		usleep(200000);
	ck_assert_int_lt(n, 150);
	/* each said as an event */
	b = get_as(port, "view.tok", "/api/v1/events");
	HAS(b, "reconciliation paused");
	HAS(b, "reconciliation resumed");
	HAS(b, "backup vm1 (asked through the API): done");
	HAS(b, "restore vm1 (asked through the API): done");
	HAS(b, "fence confirm h1 (asked through the API): refusing: h1 can be read right now");
	free(b);
	stop_serve();
}
END_TEST

/*
 * attack: two serves on one state dir.  The second stands by (the first
 * holds the lease): its verbs are 503, not a 202 for what it never carries
 * out; its pause wrote STATE_DIR/paused under the leader, which went on
 * applying (and would come back paused after a restart).
 */
START_TEST(test_verbs_standby_refuses)
{
	struct nc_run r;
	char *b;
	int port = free_port(), port2 = free_port();

	write_spec();
	tokens();
	start_serve(port, "");
	b = wait_body(port, "/status", "\"result\": \"ok\"", 30);
	free(b);
	ck_assert_int_eq(shq("sed 's/127.0.0.1:%d/127.0.0.1:%d/' serve.yaml > serve2.yaml && "
			     "($NC serve --config serve2.yaml >/dev/null 2>>log2 & echo $! >> pid)", port, port2), 0);
	b = wait_body(port2, "/status", "\"result\": \"standby\"", 30);
	free(b);
	if (!web_part(port2)) {
		NC_TEST_SKIP("serve's listener does not route /api/v1/ to the web part yet");
		stop_serve();
		return;
	}
	POST(port2, "op.tok", "/api/v1/pause", "", 503);
	POST(port2, "op.tok", "/api/v1/sync", "", 503);
	POST(port2, "op.tok", "/api/v1/vms/vm1/backup", "", 503);
	usleep(1500000);
	ck_assert_int_eq(sh(&r, "test ! -f state/paused"), 0);
	nc_run_free(&r);
	b = get(port2, "/status");
	HAS(b, "\"paused\": false");
	free(b);
	b = get(port, "/status");
	HAS(b, "\"leader\": true");
	HAS(b, "\"paused\": false");
	free(b);
	/* the leader's verbs act */
	POST(port, "op.tok", "/api/v1/pause", "", 202);
	stop_serve();
}
END_TEST

/* attack: a restore of one's own VM from another VM's backup id (ids are prefixes, 4 hex digits at
 * least) was refused naming that VM, and the refusal is an event of the caller's tenant: a
 * scoped operator probing ids learned other tenants' VM names.  The refusal names no other VM. */
START_TEST(test_verbs_restore_foreign_backup)
{
	struct nc_run r;
	struct nc_spec *spec;
	struct nc_verbs_env env;
	struct nc_list conns = { { 0 }, NULL, 0 };
	struct nc_buf log = NC_BUF_INIT;
	struct nc_err err = { "" };
	char *state = nc_xasprintf("%s/state", tdir), id[17];
	const char *p;

	write_spec();
	ck_assert_int_eq(shq("sed -i 's/vms: \\[vm1\\]/vms: [vm1, secret-db]/' spec/c.yaml && cat >> spec/c.yaml <<EOF\n"
			     "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: secret-db}\n"
			     "spec:\n  vcpus: 1\n  memory: 256MiB\n  state: stopped\n  placement: {host: h1}\n"
			     "  disks:\n    - {name: root, pool: local, size: 4MiB}\n"
			     "EOF"), 0);
	ck_assert_int_eq(sh(&r, "$NC apply spec --state-dir state --config novacron.yaml --auto-approve"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(shq("qemu-img create -q -f qcow2 pool/secret-db-root.qcow2 4M"), 0);
	spec = load_spec();
	memset(&env, 0, sizeof(env));
	env.spec = spec;
	env.state_dir = state;
	env.connections = &conns;
	env.timeout_ms = 10000;
	env.log = on_log;
	env.opaque = &log;
	ck_assert_msg(nc_verbs_backup(&env, "secret-db", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sh(&r, "$NC backup list --schedule nightly spec --state-dir state --config novacron.yaml"), 0);
	ck_assert_ptr_nonnull((p = strchr(r.out, '\n')));
	snprintf(id, sizeof(id), "%.16s", p + 1);
	nc_run_free(&r);
	ck_assert_int_eq(nc_verbs_restore(&env, "vm1", id, NULL, &err), -1);
	HASNT(err.msg, "secret-db");
	HAS(err.msg, "vm1");
	nc_buf_release(&log);
	nc_spec_free(spec);
	free(state);
}
END_TEST

Suite *nc_suite_verbs(void)
{
	Suite *s = suite_create("verbs");
	TCase *tc = tcase_create("verbs");

	tcase_add_unchecked_fixture(tc, registry_setup, registry_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_verbs_roles);
	tcase_add_test(tc, test_verbs_bad_requests);
	tcase_add_test(tc, test_verbs_tenants);
	tcase_add_test(tc, test_verbs_approve_one_shot);
	tcase_add_test(tc, test_verbs_pause_survives_restart);
	tcase_add_test(tc, test_verbs_jobs_backup_restore_fence);
	tcase_add_test(tc, test_verbs_http_approve);
	tcase_add_test(tc, test_verbs_http_pause_backup_fence);
	tcase_add_test(tc, test_verbs_standby_refuses);
	tcase_add_test(tc, test_verbs_restore_foreign_backup);
	suite_add_tcase(s, tc);
	return s;
}
