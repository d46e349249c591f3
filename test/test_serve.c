/*
 * test_serve.c - `novacron serve` for real: real git repositories made in the
 * test (commits pushed to a bare repository), a watched directory, real HTTP
 * requests (curl) to the endpoint, a real HTTP receiver for notifications
 * (libmicrohttpd, in this process), two serve processes racing for the
 * lease, SIGTERM and SIGHUP.  Each test has its own directory T; serve runs
 * in the background with its PID in T/pid and its log in T/log.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

#define HAS(hay, needle) ck_assert_msg(strstr((hay), (needle)) != NULL, \
				       "missing '%s' in:\n%.3000s", (needle), (hay))

static char tdir[64];

/*
 * Check does not run a checked teardown after a failed test, so every test
 * directory is also listed in a registry that the tcase's unchecked
 * teardown (run by the runner process after all tests, failed or not) goes
 * over: it stops what each test started, by the PIDs it recorded, and
 * removes the directories.
 */
static char registry[64];

static void cleanup_dir(const char *dir)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("cd '%s' 2>/dev/null || exit 0; for f in pid pid2; do [ -f $f ] && kill -9 $(cat $f) "
				 "2>/dev/null; done; [ -d ceph ] && bash '%s/../shared/testbed/microceph.sh' down ceph "
				 ">/dev/null 2>&1; cd / && rm -rf '%s'", dir, NC_SOURCE_DIR, dir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}

static void registry_setup(void)
{
	int fd;

	snprintf(registry, sizeof(registry), "/tmp/nc-serve-registry-XXXXXX");
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

	snprintf(tdir, sizeof(tdir), "/tmp/nc-serve-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	f = fopen(registry, "a");
	if (f) {
		fprintf(f, "%s\n", tdir);
		fclose(f);
	}
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

static void teardown(void)
{
	cleanup_dir(tdir);    /* stop what this test started, by PID */
}

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

/* polls GET url until its body contains want; returns the last body (caller frees) */
static char *wait_for(int port, const char *path, const char *want, int seconds)
{
	int i;

	for (i = 0; i < seconds * 10; i++) {
		struct nc_run r;

		sh(&r, "curl -s http://127.0.0.1:%d%s", port, path);
		if (strstr(r.out, want)) {
			free(r.err);
			return r.out;
		}
		if (i == seconds * 10 - 1) {
			char *log = NULL;

			nc_run_free(&r);
			sh(&r, "cat log 2>/dev/null | tail -20");
			log = nc_xasprintf("timed out waiting for '%s' at %s; log:\n%s", want, path, r.out);
			nc_run_free(&r);
			ck_abort_msg("%.3500s", log);
		}
		nc_run_free(&r);
		usleep(100000);
	}
	return NULL;
}

static void write_config(const char *name, const char *source, int port, const char *extra)
{
	ck_assert_int_eq(shq("printf -- 'source:\\n%s\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
			     "interval: 1s\\ndriftInterval: 2s\\nlisten: 127.0.0.1:%d\\n%s' > %s",
			     source, tdir, tdir, port, extra, name), 0);
}

static void start_serve(const char *config, const char *pidfile, const char *log)
{
	ck_assert_int_eq(shq("$NC serve --config %s >/dev/null 2>>%s & echo $! > %s", config, log, pidfile), 0);
}

START_TEST(test_serve_directory_source)
{
	struct nc_run r;
	char *body, *cfg;
	int port = free_port();

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	write_config("serve.yaml", cfg, port, "");
	free(cfg);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	HAS(body, "\"leader\": true");
	HAS(body, "\"applied\": {\"revision\": \"dir:");
	free(body);
	/* counts are as observed at the start of a pass: the next one sees the VMs */
	body = wait_for(port, "/status", "\"vms\": {\"running\": 9, \"stopped\": 1, \"other\": 0}", 20);
	HAS(body, "{\"name\": \"kvm1\", \"uri\": \"sim:///kvm1\", \"up\": true, \"error\": null}");
	free(body);
	/* the human view */
	ck_assert_int_eq(sh(&r, "$NC status --url http://127.0.0.1:%d", port), 0);
	HAS(r.out, "leader:      true (held by this instance)\n");
	HAS(r.out, "last pass:   ok in ");
	HAS(r.out, "host:        kvm2         up   sim:///kvm2\n");
	nc_run_free(&r);
	/* a change in the directory is applied without waiting for the interval */
	ck_assert_int_eq(shq("sed -i 's/  memory: 4GiB/  memory: 2GiB/' spec/vms/db.yaml"), 0);
	body = wait_for(port, "/status", "\"update/done\": 1", 20);
	free(body);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state kvm1 list"), 0);
	HAS(r.out, "cache-1              running   1 vCPU 2GiB");
	nc_run_free(&r);
	/* drift is noticed on the drift interval and repaired */
	ck_assert_int_eq(shq("$NC sim --state-dir state kvm2 destroy worker-1"), 0);
	body = wait_for(port, "/status", "\"start/done\": 1", 20);
	free(body);
	/* metrics */
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "# TYPE novacron_actions_total counter\n");
	HAS(r.out, "novacron_actions_total{kind=\"create\",result=\"done\"} 10\n");
	HAS(r.out, "novacron_host_up{host=\"kvm3\"} 1\n");
	HAS(r.out, "novacron_leader 1\n");
	HAS(r.out, "novacron_passes_total{result=\"ok\"} ");
	nc_run_free(&r);
	/* SIGTERM: a clean stop */
	ck_assert_int_eq(sh(&r, "kill -TERM $(cat pid); for i in $(seq 50); do kill -0 $(cat pid) 2>/dev/null || break; "
				"sleep 0.1; done; kill -0 $(cat pid) 2>/dev/null && echo still running; grep -c stopping log"), 0);
	ck_assert_str_eq(r.out, "1\n");
	nc_run_free(&r);
	shq("rm -f pid");
}
END_TEST

static void make_repo(void)
{
	ck_assert_int_eq(shq("git init -q --bare -b main remote.git && git init -q -b main work && "
			     "cp -r '%s/examples/quickstart' work/cluster && cd work && git add -A && "
			     "git commit -q -m 'quickstart cluster' && git remote add origin ../remote.git && "
			     "git push -q origin main", NC_SOURCE_DIR), 0);
}

START_TEST(test_serve_git_source_keeps_last_good)
{
	struct nc_run r;
	char *body, *cfg, *want;
	int port = free_port();

	make_repo();
	cfg = nc_xasprintf("  git:\\n    url: file://%s/remote.git\\n    ref: main\\n    path: cluster", tdir);
	write_config("serve.yaml", cfg, port, "");
	free(cfg);
	start_serve("serve.yaml", "pid", "log");
	ck_assert_int_eq(sh(&r, "git -C work rev-parse HEAD"), 0);
	r.out[strcspn(r.out, "\n")] = '\0';
	want = nc_xasprintf("\"applied\": {\"revision\": \"%s\"", r.out);
	nc_run_free(&r);
	body = wait_for(port, "/status", want, 30);
	HAS(body, "\"result\": \"ok\"");
	HAS(body, "quickstart cluster (t)");
	free(body);

	/* a bad commit is refused; the good one stays in force */
	ck_assert_int_eq(shq("cd work && sed -i 's/  vcpus: 4/  vcpus: 0/' cluster/vms/db.yaml && "
			     "git commit -q -am 'break db-1' && git push -q origin main"), 0);
	body = wait_for(port, "/status", "\"error\": \"'vcpus' must be at least 1, found 0\"", 20);
	HAS(body, want);
	free(body);
	ck_assert_int_eq(sh(&r, "grep -c 'cluster/vms/db.yaml:11:10: error:' log"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "\",state=\"invalid\"} 0\n");
	nc_run_free(&r);

	/* the fix is applied */
	ck_assert_int_eq(shq("cd work && sed -i 's/  vcpus: 0/  vcpus: 2/' cluster/vms/db.yaml && "
			     "git commit -q -am 'fix db-1' && git push -q origin main"), 0);
	ck_assert_int_eq(sh(&r, "git -C work rev-parse HEAD"), 0);
	r.out[strcspn(r.out, "\n")] = '\0';
	free(want);
	want = nc_xasprintf("\"applied\": {\"revision\": \"%s\"", r.out);
	nc_run_free(&r);
	body = wait_for(port, "/status", want, 20);
	free(body);
	free(want);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state kvm3 list"), 0);
	HAS(r.out, "db-1                 running   2 vCPU");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_serve_webhook_needs_token)
{
	struct nc_run r;
	char *body, *cfg, *extra;
	int port = free_port();

	make_repo();
	ck_assert_int_eq(shq("echo s3cret > token"), 0);
	cfg = nc_xasprintf("  git:\\n    url: %s/remote.git\\n    path: cluster", tdir);
	extra = nc_xasprintf("tokenFile: %s/token\\n", tdir);
	write_config("serve.yaml", cfg, port, extra);
	ck_assert_int_eq(shq("sed -i 's/interval: 1s/interval: 1h/' serve.yaml"), 0);
	free(cfg);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	ck_assert_int_eq(sh(&r, "curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/healthz", port), 0);
	ck_assert_str_eq(r.out, "200");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST http://127.0.0.1:%d/webhook", port), 0);
	ck_assert_str_eq(r.out, "401");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST -H 'Authorization: Bearer wrong' "
				"http://127.0.0.1:%d/webhook", port), 0);
	ck_assert_str_eq(r.out, "401");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST http://127.0.0.1:%d/status", port), 0);
	ck_assert_str_eq(r.out, "405");
	nc_run_free(&r);
	/* a push is fetched only when the webhook says so (the interval is an hour) */
	ck_assert_int_eq(shq("cd work && sed -i 's/  memory: 4GiB/  memory: 3GiB/' cluster/vms/db.yaml && "
			     "git commit -q -am 'cache-1: 3GiB' && git push -q origin main"), 0);
	ck_assert_int_eq(sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST -H 'Authorization: Bearer s3cret' "
				"http://127.0.0.1:%d/webhook", port), 0);
	ck_assert_str_eq(r.out, "202");
	nc_run_free(&r);
	body = wait_for(port, "/status", "cache-1: 3GiB (t)", 20);
	free(body);
}
END_TEST

START_TEST(test_serve_lease_one_leader)
{
	struct nc_run r;
	char *body, *cfg;
	int p1 = free_port(), p2;

	make_repo();
	cfg = nc_xasprintf("  git:\\n    url: %s/remote.git\\n    path: cluster", tdir);
	write_config("a.yaml", cfg, p1, "");
	start_serve("a.yaml", "pid", "log");
	body = wait_for(p1, "/status", "\"leader\": true", 30);
	free(body);
	p2 = free_port();
	write_config("b.yaml", cfg, p2, "");
	free(cfg);
	start_serve("b.yaml", "pid2", "log2");
	/* "standby" is set with the holder; the very first status says leader false already */
	body = wait_for(p2, "/status", "\"result\": \"standby\"", 20);
	HAS(body, "\"leader\": false");
	HAS(body, "\"lease\": \"held by ");
	HAS(body, "\"result\": \"standby\"");
	free(body);
	/* the leader dies hard: the standby takes over */
	ck_assert_int_eq(shq("kill -9 $(cat pid) && rm pid"), 0);
	body = wait_for(p2, "/status", "\"leader\": true", 20);
	free(body);
	body = wait_for(p2, "/status", "\"result\": \"ok\"", 20);
	free(body);
	ck_assert_int_eq(sh(&r, "grep -c 'started' log2"), 0);
	nc_run_free(&r);
}
END_TEST

/* ---- a webhook receiver, in this process ---- */
static pthread_mutex_t got_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nc_buf got = NC_BUF_INIT;

static enum MHD_Result receive(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *upload, size_t *size, void **state)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!*state) {
		*state = conn;
		return MHD_YES;
	}
	if (*size) {
		pthread_mutex_lock(&got_mu);
		nc_buf_add(&got, upload, *size);
		pthread_mutex_unlock(&got_mu);
		*size = 0;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

START_TEST(test_serve_notifies)
{
	struct MHD_Daemon *d;
	char *cfg, *extra, *body;
	int port = free_port(), hook = free_port(), i;
	bool seen = false;

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)hook, NULL, NULL, receive, NULL,
			     MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	extra = nc_xasprintf("notify:\\n  - url: http://127.0.0.1:%d/hook\\n    events: [applied, drift, invalid]\\n", hook);
	write_config("serve.yaml", cfg, port, extra);
	free(cfg);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	ck_assert_int_eq(shq("echo 'kind: [' > spec/broken.yaml"), 0);
	for (i = 0; i < 100 && !seen; i++) {
		usleep(100000);
		pthread_mutex_lock(&got_mu);
		seen = strstr(got.buf, "\"event\": \"invalid\"") != NULL;
		pthread_mutex_unlock(&got_mu);
	}
	pthread_mutex_lock(&got_mu);
	HAS(got.buf, "{\"event\": \"applied\", \"source\": \"");
	HAS(got.buf, "\"message\": \"the cluster now matches the spec\"");
	HAS(got.buf, "{\"event\": \"invalid\"");
	HAS(got.buf, "spec/broken.yaml:2:1: error: YAML syntax error");
	pthread_mutex_unlock(&got_mu);
	MHD_stop_daemon(d);
}
END_TEST

START_TEST(test_serve_rados_lease_expires)
{
	struct nc_run r;
	char *body, *cfg, *extra, *mc;
	int p1 = free_port(), p2 = free_port();

	/* a real single-node Ceph from ../shared/testbed (DIR kept per test) */
	mc = nc_xasprintf("%s/../shared/testbed/microceph.sh", NC_SOURCE_DIR);
	if (access(mc, X_OK) != 0 && access(mc, R_OK) != 0) {
		fprintf(stderr, "skip test_serve_rados_lease_expires: %s not found\n", mc);
		free(mc);
		return;
	}
	if (sh(&r, "MC_MON_PORT=%d MC_MON_V1PORT=%d bash '%s' up ceph", 3400 + p1 % 500, 6900 + p1 % 500, mc) != 0) {
		fprintf(stderr, "skip test_serve_rados_lease_expires: microceph cannot start here: %.300s\n", r.err);
		nc_run_free(&r);
		free(mc);
		return;
	}
	nc_run_free(&r);
	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	extra = nc_xasprintf("lease:\n  rados: {cephConf: %s/ceph/ceph.conf, pool: rbd, object: nc-lease-test}\n"
			     "  duration: 3s\n", tdir);
	write_config("a.yaml", cfg, p1, extra);
	write_config("b.yaml", cfg, p2, extra);
	free(cfg);
	free(extra);
	start_serve("a.yaml", "pid", "log");
	body = wait_for(p1, "/status", "\"leader\": true", 30);
	free(body);
	start_serve("b.yaml", "pid2", "log2");
	/* "standby" is set with the holder; the very first status says leader false already */
	body = wait_for(p2, "/status", "\"result\": \"standby\"", 20);
	HAS(body, "\"leader\": false");
	HAS(body, "\"lease\": \"held by ");
	free(body);
	/* the leader dies without releasing: the lock expires, then B takes it */
	ck_assert_int_eq(shq("kill -9 $(cat pid) && rm pid"), 0);
	body = wait_for(p2, "/status", "\"leader\": true", 30);
	free(body);
	shq("kill -9 $(cat pid2); rm -f pid2; bash '%s' down ceph", mc);
	free(mc);
}
END_TEST

START_TEST(test_serve_sighup_reloads)
{
	struct nc_run r;
	char *body, *cfg;
	int port = free_port();

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && echo t0ken > token", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	write_config("serve.yaml", cfg, port, "");
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	ck_assert_int_eq(sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST -H 'Authorization: Bearer t0ken' "
				"http://127.0.0.1:%d/webhook", port), 0);
	ck_assert_str_eq(r.out, "403");     /* no tokenFile yet */
	nc_run_free(&r);
	/* a broken configuration is refused and the old one kept */
	ck_assert_int_eq(shq("cp serve.yaml good.yaml && echo 'interval: never' >> serve.yaml && kill -HUP $(cat pid)"), 0);
	ck_assert_int_eq(sh(&r, "for i in $(seq 50); do grep -q 'keeping the old one' log && break; sleep 0.1; done; "
				"grep -c 'keeping the old one' log"), 0);
	nc_run_free(&r);
	body = wait_for(port, "/healthz", "ok", 10);
	free(body);
	/* a good one takes effect */
	write_config("serve.yaml", cfg, port, "");
	free(cfg);
	ck_assert_int_eq(shq("echo 'tokenFile: %s/token' >> serve.yaml && kill -HUP $(cat pid)", tdir), 0);
	for (int i = 0; i < 50; i++) {
		sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST -H 'Authorization: Bearer t0ken' "
		       "http://127.0.0.1:%d/webhook", port);
		if (strcmp(r.out, "202") == 0)
			break;
		nc_run_free(&r);
		r.out = NULL;
		usleep(100000);
	}
	ck_assert_ptr_nonnull(r.out);
	ck_assert_str_eq(r.out, "202");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_serve_bad_config)
{
	struct nc_run r;

	ck_assert_int_eq(shq("printf 'source:\\n  git: {url: /x}\\n  directory: /y\\ninterval: soon\\nlisten: 1\\n' > bad.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC serve --config bad.yaml"), 1);
	HAS(r.err, "bad.yaml:4:11: error: invalid duration 'soon' for 'interval': expected a whole number with a unit: ms, s, m or h");
	nc_run_free(&r);
	ck_assert_int_eq(shq("printf 'source:\\n  git: {url: /x}\\n  directory: /y\\n' > bad2.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC serve --config bad2.yaml --check"), 1);
	HAS(r.err, "bad2.yaml:2:3: error: source needs exactly one of 'git' or 'directory'");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC serve --config '%s/dist/serve.yaml' --check", NC_SOURCE_DIR), 0);
	HAS(r.out, "dist/serve.yaml: valid\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC status --url http://127.0.0.1:1"), 1);
	HAS(r.err, "novacron status: cannot read http://127.0.0.1:1/status: ");
	nc_run_free(&r);
}
END_TEST

/*
 * Commits the git source refuses are reported as invalid, with why, and the
 * last good one stays in force: an unsigned commit (allowedSigners), then a
 * rollback to an older, validly signed commit.
 */
START_TEST(test_serve_refused_commits_are_invalid)
{
	struct nc_run r;
	char *body, *cfg, *a, *b, *c, *want, *applied;
	int port = free_port();

	make_repo();
	ck_assert_int_eq(shq("ssh-keygen -q -t ed25519 -N '' -C alice -f alice && "
			     "printf 'alice@example.com %%s\\n' \"$(cut -d' ' -f1,2 alice.pub)\" > allowed_signers && "
			     "cd work && git -c gpg.format=ssh -c user.signingkey=%s/alice commit -q -S --allow-empty "
			     "-m 'signed A' && git push -q origin main", tdir), 0);
	ck_assert_int_eq(sh(&r, "git -C work rev-parse HEAD"), 0);
	a = nc_xstrndup(r.out, 40);
	nc_run_free(&r);
	ck_assert_int_eq(shq("cd work && git -c gpg.format=ssh -c user.signingkey=%s/alice commit -q -S "
			     "--allow-empty -m 'signed B' && git push -q origin main", tdir), 0);
	ck_assert_int_eq(sh(&r, "git -C work rev-parse HEAD"), 0);
	b = nc_xstrndup(r.out, 40);
	nc_run_free(&r);
	cfg = nc_xasprintf("  git:\\n    url: file://%s/remote.git\\n    path: cluster\\n"
			   "    allowedSigners: %s/allowed_signers", tdir, tdir);
	write_config("serve.yaml", cfg, port, "");
	free(cfg);
	start_serve("serve.yaml", "pid", "log");
	applied = nc_xasprintf("\"applied\": {\"revision\": \"%s\"", b);
	body = wait_for(port, "/status", applied, 30);
	free(body);

	/* unsigned: invalid, and why */
	ck_assert_int_eq(shq("cd work && git commit -q --allow-empty -m 'unsigned C' && git push -q origin main"), 0);
	ck_assert_int_eq(sh(&r, "git -C work rev-parse HEAD"), 0);
	c = nc_xstrndup(r.out, 40);
	nc_run_free(&r);
	want = nc_xasprintf("\"invalid\": {\"revision\": \"%s\", \"error\": \"commit %.7s refused: signature "
			    "refused: the commit is not signed (allowedSigners is set)\"}", c, c);
	body = wait_for(port, "/status", want, 20);
	HAS(body, applied);
	free(body);
	free(want);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "\",state=\"invalid\"} 0\n");
	nc_run_free(&r);

	/* the branch moved back to the older, validly signed A: a rollback, invalid */
	ck_assert_int_eq(shq("git -C work push -q -f origin %s:main", a), 0);
	want = nc_xasprintf("\"invalid\": {\"revision\": \"%s\", \"error\": \"commit %.7s refused: it does not "
			    "descend from %.7s, the last applied commit (an older or unrelated commit)", a, a, b);
	body = wait_for(port, "/status", want, 20);
	HAS(body, applied);
	free(body);
	free(want);
	ck_assert_int_eq(sh(&r, "cat log"), 0);
	HAS(r.out, "is invalid: commit ");
	ck_assert_msg(strstr(r.out, "fetch failed") == NULL, "%s", r.out);
	nc_run_free(&r);
	free(applied);
	free(a);
	free(b);
	free(c);
}
END_TEST

Suite *nc_suite_serve(void)
{
	Suite *s = suite_create("serve");
	TCase *tc = tcase_create("serve");

	tcase_add_unchecked_fixture(tc, registry_setup, registry_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_serve_bad_config);
	tcase_add_test(tc, test_serve_directory_source);
	tcase_add_test(tc, test_serve_git_source_keeps_last_good);
	tcase_add_test(tc, test_serve_refused_commits_are_invalid);
	tcase_add_test(tc, test_serve_webhook_needs_token);
	tcase_add_test(tc, test_serve_lease_one_leader);
	tcase_add_test(tc, test_serve_notifies);
	tcase_add_test(tc, test_serve_rados_lease_expires);
	tcase_add_test(tc, test_serve_sighup_reloads);
	suite_add_tcase(s, tc);
	return s;
}
