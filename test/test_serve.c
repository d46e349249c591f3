/*
 * test_serve.c - `novacron serve` for real: real git repositories made in the
 * test (commits pushed to a bare repository), a watched directory, real HTTP
 * requests (curl) to the endpoint, a real HTTP receiver for notifications
 * (libmicrohttpd, in this process), two serve processes racing for the
 * lease, SIGTERM and SIGHUP.  Each test has its own directory T; serve runs
 * in the background with its PID in T/pid and its log in T/log.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"


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
				 "2>/dev/null; done; [ -d ceph ] && bash '%s/test/testbed/ceph.sh' down \"$PWD/ceph\" "
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
	HAS(body, "{\"name\": \"kvm1\", \"uri\": \"sim:///kvm1\", \"up\": true, \"error\": null, \"declared\": true}");
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
	HAS(r.out, "novacron_actions_total{kind=\"create\",result=\"done\"} 13\n");
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

/*
 * A host that cannot be read (a real qemu+unix URI whose socket, given by
 * the operator's connections, does not exist) shows in /status and
 * /metrics as down, with why, and the pass as failed (partial).
 */
START_TEST(test_serve_reports_unreachable_hosts)
{
	struct nc_run r;
	char *body, *cfg, *extra;
	int port = free_port();

	ck_assert_int_eq(shq("mkdir spec && printf 'apiVersion: novacron.io/v1\\nkind: Host\\nmetadata: {name: kvm1}\\n"
			     "spec: {uri: \"sim:///kvm1\"}\\n---\\napiVersion: novacron.io/v1\\nkind: Host\\n"
			     "metadata: {name: kvm2}\\nspec: {uri: \"qemu+unix:///system\"}\\n' > spec/hosts.yaml"), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	extra = nc_xasprintf("connections:\\n  - host: kvm2\\n    params: socket=%s/no-daemon/libvirt-sock\\n", tdir);
	write_config("serve.yaml", cfg, port, extra);
	free(cfg);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"failed\"", 30);
	HAS(body, "\"error\": \"partial pass: 1 host could not be read; the cluster may not match the spec\"");
	HAS(body, "{\"name\": \"kvm1\", \"uri\": \"sim:///kvm1\", \"up\": true, \"error\": null, \"declared\": true}");
	HAS(body, "{\"name\": \"kvm2\", \"uri\": \"qemu+unix:///system\", \"up\": false, \"error\": \"cannot connect: ");
	HAS(body, "\"unreachable\": 1,");
	HASNT(body, "no-daemon");   /* the operator's parameters stay private */
	free(body);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "novacron_host_up{host=\"kvm1\"} 1\n");
	HAS(r.out, "novacron_host_up{host=\"kvm2\"} 0\n");
	HAS(r.out, "novacron_hosts_unreachable 1\n");
	HAS(r.out, "novacron_passes_total{result=\"failed\"} ");
	HASNT(r.out, "no-daemon");
	nc_run_free(&r);
	/* status finds serve through the configuration's listen: */
	ck_assert_int_eq(sh(&r, "$NC status --config serve.yaml"), 2);
	HAS(r.out, "host:        kvm2         DOWN qemu+unix:///system: cannot connect: ");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "NOVACRON_CONFIG=serve.yaml $NC status --output json"), 0);
	HAS(r.out, "\"unreachable\": 1,");
	nc_run_free(&r);
	ck_assert_int_eq(shq("kill -TERM $(cat pid); for i in $(seq 50); do kill -0 $(cat pid) 2>/dev/null || break; "
			     "sleep 0.1; done; rm -f pid"), 0);
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
	body = wait_for(port, "/status", "db.yaml:11:10: 'vcpus' must be at least 1, found 0\"", 20);
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
	ck_assert_int_eq(shq("echo s3cret-webhook-token-0123 > token && chmod 600 token"), 0);
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
	ck_assert_int_eq(sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST -H 'Authorization: Bearer s3cret-webhook-token-0123' "
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


/* ---- hardening (issue 10) ---- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* a TCP connection to 127.0.0.1:port from the loopback address src (127.0.0.X); -1 on failure */
static int connect_from(const char *src, int port)
{
	struct sockaddr_in sa, me;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&me, 0, sizeof(me));
	me.sin_family = AF_INET;
	inet_pton(AF_INET, src, &me.sin_addr);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* GET path from 127.0.0.1:port in this process (fast enough to poll); the body, or NULL */
static char *http_get(int port, const char *path)
{
	struct nc_buf b = NC_BUF_INIT;
	char buf[4096], *req, *body;
	int fd = connect_from("127.0.0.1", port);
	struct timeval tv = { 2, 0 };
	ssize_t n;

	if (fd < 0)
		return NULL;
	/* a process that stopped accepting (stopping, stopped) must not hang the test */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	req = nc_xasprintf("GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		free(req);
		close(fd);
		return NULL;
	}
	free(req);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		nc_buf_add(&b, buf, (size_t)n);
	close(fd);
	body = strstr(b.buf, "\r\n\r\n");
	if (!body || strncmp(b.buf, "HTTP/1.", 7) != 0) {
		nc_buf_release(&b);
		return NULL;
	}
	body = nc_xstrdup(body + 4);
	nc_buf_release(&b);
	return body;
}

static int is_leader(int port)
{
	char *body = http_get(port, "/status");
	int r = body && strstr(body, "\"leader\": true") ? 1 : 0;

	free(body);
	return r;
}

/*
 * Polls both instances every 20 ms for the given time: never two leaders at
 * once; returns how many were leader at the last poll.
 */
static int watch_leaders(int p1, int p2, double seconds, const char *what)
{
	double end = now_s() + seconds;
	int a = 0, b = 0;

	while (now_s() < end) {
		a = is_leader(p1);
		b = is_leader(p2);
		ck_assert_msg(!(a && b), "%s: both instances report leader", what);
		usleep(20000);
	}
	return a + b;
}

START_TEST(test_serve_lease_file_replaced)
{
	struct nc_run r;
	struct stat st;
	char *body, *cfg, *path;
	int p1 = free_port(), p2 = free_port(), p3 = free_port(), p4 = free_port(), leaders;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	write_config("a.yaml", cfg, p1, "");
	write_config("b.yaml", cfg, p2, "");
	write_config("b2.yaml", cfg, p3, "");
	write_config("b3.yaml", cfg, p4, "");
	free(cfg);
	start_serve("a.yaml", "pid", "log");
	body = wait_for(p1, "/status", "\"leader\": true", 30);
	free(body);
	start_serve("b.yaml", "pid2", "log2");
	body = wait_for(p2, "/status", "\"result\": \"standby\"", 20);
	free(body);
	/* the default lease file is state, not cache, and the owner's only */
	path = nc_xasprintf("%s/state/lease.lock", tdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
	free(path);
	path = nc_xasprintf("%s/cache/lease.lock", tdir);
	ck_assert_int_eq(stat(path, &st), -1);
	free(path);
	path = nc_xasprintf("%s/state/lease.lock", tdir);

	/*
	 * The lease file is removed while both run, and a new instance starts
	 * (B is restarted): it opens the path, which now names a new inode.
	 * Before the fix, A kept leading on the old inode and the new B led on
	 * the new one.
	 */
	ck_assert_int_eq(shq("rm state/lease.lock && kill -TERM $(cat pid2) && "
			     "for i in $(seq 50); do kill -0 $(cat pid2) 2>/dev/null || break; sleep 0.1; done"), 0);
	start_serve("b2.yaml", "pid2", "log3");
	leaders = watch_leaders(p1, p3, 6, "after the lease file was removed");
	ck_assert_int_eq(leaders, 1);
	ck_assert_int_eq(sh(&r, "grep -h 'lease lost' log log2 log3 | head -1"), 0);
	HAS(r.out, "was removed or replaced");
	nc_run_free(&r);
	ck_assert_int_eq(stat(path, &st), 0);

	/* the same when the file is replaced by another (a rename over it) */
	ck_assert_int_eq(shq("echo x > state/other && mv state/other state/lease.lock && kill -TERM $(cat pid2) && "
			     "for i in $(seq 50); do kill -0 $(cat pid2) 2>/dev/null || break; sleep 0.1; done"), 0);
	start_serve("b3.yaml", "pid2", "log4");
	leaders = watch_leaders(p1, p4, 6, "after the lease file was replaced");
	ck_assert_int_eq(leaders, 1);
	free(path);
}
END_TEST


static int count_in(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
		n++;
	return n;
}

/* how many lines of the serve log at T/name contain needle */
static int count_lines(const char *name, const char *needle)
{
	char *p = nc_xasprintf("%s/%s", tdir, name), *buf = NULL, *q;
	size_t len;
	int n = 0;

	if (nc_read_file(p, 64 << 20, &buf, &len) == 0) {
		for (q = buf; (q = strstr(q, needle)) != NULL; q += strlen(needle))
			n++;
		free(buf);
	}
	free(p);
	return n;
}

START_TEST(test_serve_http_slow_clients)
{
	struct nc_run r;
	struct rlimit rl;
	char *body, *cfg, *extra, buf[256];
	int port = free_port(), i, nfd = 0, *fds, fd;
	double t0, closed_at = 0;
	bool closed = false;
	const int flood = 1100;    /* more than select()'s FD_SETSIZE: the old endpoint failed at ~1,000 */

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && echo webhook-token-0123456789abcdef > token && "
			     "chmod 600 token && head -c 200000 /dev/zero > big", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	extra = nc_xasprintf("tokenFile: %s/token\\n", tdir);
	write_config("serve.yaml", cfg, port, extra);
	free(cfg);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);

	/* many idle connections from one address */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < (rlim_t)flood + 100 && rl.rlim_max >= (rlim_t)flood + 100) {
		rl.rlim_cur = (rlim_t)flood + 100;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = nc_xcalloc((size_t)flood, sizeof(*fds));
	for (i = 0; i < flood; i++) {
		fds[i] = connect_from("127.0.0.1", port);
		if (fds[i] >= 0)
			nfd++;
	}
	ck_assert_int_ge(nfd, 900);
	/* ... and a hundred malformed requests */
	for (i = 0; i < 100; i++) {
		fd = connect_from("127.0.0.4", port);
		if (fd >= 0) {
			ck_assert_int_gt(write(fd, "NOT HTTP AT ALL\r\n\r\n", 19), 0);
			close(fd);
		}
	}
	/* another client is still served, at once */
	ck_assert_int_eq(sh(&r, "curl -s -m 5 --interface 127.0.0.2 -o /dev/null -w '%%{http_code}' "
				"http://127.0.0.1:%d/healthz", port), 0);
	ck_assert_str_eq(r.out, "200");
	nc_run_free(&r);
	for (i = 0; i < flood; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);

	/* a body over the limit is refused before it is read */
	ck_assert_int_eq(sh(&r, "curl -s -m 10 -o /dev/null -w '%%{http_code}' -X POST --data-binary @big "
				"-H 'Authorization: Bearer webhook-token-0123456789abcdef' http://127.0.0.1:%d/webhook", port), 0);
	ck_assert_str_eq(r.out, "413");
	nc_run_free(&r);

	/*
	 * A client that sends its headers a byte every 200 ms is never idle, so
	 * an idle timeout alone keeps it forever: the server must cut it at the
	 * request deadline (10 s).  The test only bounds its own wait (25 s) and
	 * asserts that the server closed the connection (read() == 0 or reset).
	 */
	fd = connect_from("127.0.0.3", port);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(write(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 32), 0);
	t0 = now_s();
	while (!closed && now_s() - t0 < 25) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (send(fd, "X", 1, MSG_NOSIGNAL) < 0) {
			closed = true;
			break;
		}
		if (poll(&pfd, 1, 200) > 0) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n == 0 || (n < 0 && errno == ECONNRESET))
				closed = true;
			ck_assert_msg(n <= 0, "the server answered an incomplete request: %.*s", (int)n, buf);
		}
	}
	closed_at = now_s() - t0;
	close(fd);
	ck_assert_msg(closed, "a byte-a-time client was still connected after %.1fs", closed_at);
	ck_assert_msg(closed_at > 8 && closed_at < 15, "cut after %.1fs, not at the 10s deadline", closed_at);

	/* the endpoint is fine after all that */
	body = wait_for(port, "/healthz", "ok", 5);
	free(body);

	/* log lines about clients are rate-limited, then summed up once the window ends */
	for (i = 0; i < 150 && !count_lines("log", "http: suppressed "); i++)
		usleep(100000);
	ck_assert_int_ge(count_lines("log", "http: suppressed "), 1);
	ck_assert_int_le(count_lines("log", "novacron serve: warning: http: "), 30);
	ck_assert_int_ge(count_lines("log", "no complete request within 10s"), 1);
}
END_TEST

START_TEST(test_serve_refuses_weak_tokens)
{
	struct nc_run r;
	char *cfg, *extra;
	int port = free_port();
	static const char *const bad[] = {
		"printf '' > token",                       /* empty */
		"printf '\\n' > token",                    /* an empty line */
		"printf '        \\n' > token",            /* blanks */
		"printf 'short\\n' > token",               /* 5 bytes */
		"printf 'has a space in the token\\n' > token",
	};
	size_t i;

	ck_assert_int_eq(shq("mkdir spec && cp -r '%s/examples/quickstart/.' spec", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	extra = nc_xasprintf("tokenFile: %s/token\\n", tdir);
	write_config("serve.yaml", cfg, port, extra);
	free(cfg);
	free(extra);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(shq("%s && chmod 600 token", bad[i]), 0);
		ck_assert_int_eq(sh(&r, "timeout 20 $NC serve --config serve.yaml --once"), 1);
		ck_assert_msg(strstr(r.err, "tokenFile ") && strstr(r.err, "refusing to start"),
			      "%s: no clear error: %s", bad[i], r.err);
		ck_assert_msg(!strstr(r.err, "listening on"), "%s: it listened anyway", bad[i]);
		nc_run_free(&r);
	}
	/* a proper one is accepted */
	ck_assert_int_eq(shq("printf 'a-webhook-token-of-32-characters\\n' > token && chmod 600 token"), 0);
	ck_assert_int_eq(sh(&r, "timeout 60 $NC serve --config serve.yaml --once"), 0);
	nc_run_free(&r);
}
END_TEST

/* ---- credentials never shown ---- */
START_TEST(test_url_redact)
{
	static const char *const cases[][2] = {
		{ "https://user:pass@host/x.git", "https://user:***@host/x.git" },
		{ "https://ghp_TOKEN@github.com/o/r", "https://***@github.com/o/r" },
		{ "ssh://git@host:22/r.git", "ssh://git@host:22/r.git" },
		{ "qemu+ssh://root@kvm1/system", "qemu+ssh://root@kvm1/system" },
		{ "https://host/path@x", "https://host/path@x" },
		{ "http://a:b:c@h", "http://a:***@h" },
		{ "https://u:p@ss@h/", "https://u:***@h/" },
		{ "fetch https://u:pw@h/r failed; retry git://v:pw2@g/r", "fetch https://u:***@h/r failed; retry git://v:***@g/r" },
		{ "\"https://u:secret@h\"", "\"https://u:***@h\"" },
		{ "/srv/spec", "/srv/spec" },
		{ "", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got_s = nc_url_redact(cases[i][0]);

		ck_assert_str_eq(got_s, cases[i][1]);
		free(got_s);
	}
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

/* waits up to 10 s for the receiver to get "event": EVENT */
static bool wait_hook(const char *event)
{
	char *want = nc_xasprintf("\"event\": \"%s\"", event);
	bool seen = false;
	int i;

	for (i = 0; i < 100 && !seen; i++) {
		usleep(100000);
		pthread_mutex_lock(&got_mu);
		seen = got.buf && strstr(got.buf, want) != NULL;
		pthread_mutex_unlock(&got_mu);
	}
	free(want);
	return seen;
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
	HAS(got.buf, "\"event\": \"applied\", \"source\": \"");
	HAS(got.buf, "\"message\": \"the cluster now matches the spec\"");
	HAS(got.buf, "\"event\": \"invalid\"");
	HAS(got.buf, "spec/broken.yaml:2:1: error: YAML syntax error");
	pthread_mutex_unlock(&got_mu);
	MHD_stop_daemon(d);
}
END_TEST


/*
 * Secrets never leave the process: a password in the git URL, the
 * passwordFile, the webhook token and a key file's contents appear nowhere
 * in /status, /metrics, `novacron status` (text and JSON), the log or a
 * notification, also when the fetch fails and its error quotes the URL.
 */
START_TEST(test_serve_never_shows_secrets)
{
	static const char *const secrets[] = { "hunter2-url-secret", "pwfile-secret-7777", "tok-secret-abcdefghijklmnop",
					       "keycontent-secret-5555", "pw-in-status-url" };
	struct MHD_Daemon *d;
	struct nc_run r;
	char *cfg, *extra, *body, *metrics, *log = NULL, *logpath;
	int port = free_port(), hook = free_port(), i;
	size_t k, len;
	bool seen = false;

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)hook, NULL, NULL, receive, NULL,
			     MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(shq("echo pwfile-secret-7777 > pw && echo tok-secret-abcdefghijklmnop > token && "
			     "echo 'keycontent-secret-5555' > key && chmod 600 pw token key"), 0);
	cfg = nc_xasprintf("  git:\\n    url: https://novauser:hunter2-url-secret@127.0.0.1:1/repo.git\\n"
			   "    passwordFile: %s/pw\\n    path: cluster", tdir);
	extra = nc_xasprintf("tokenFile: %s/token\\nnotify:\\n  - url: http://127.0.0.1:%d/hook\\n    events: [failed]\\n",
			     tdir, hook);
	write_config("serve.yaml", cfg, port, extra);
	free(cfg);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"error\": \"git source ", 30);
	HAS(body, "\"source\": \"https://novauser:***@127.0.0.1:1/repo.git\"");
	for (i = 0; i < 100 && !seen; i++) {
		usleep(100000);
		pthread_mutex_lock(&got_mu);
		seen = strstr(got.buf, "\"event\": \"failed\"") != NULL;
		pthread_mutex_unlock(&got_mu);
	}
	ck_assert_msg(seen, "no failed notification");
	metrics = http_get(port, "/metrics");
	ck_assert_ptr_nonnull(metrics);
	ck_assert_int_eq(sh(&r, "$NC status --url http://127.0.0.1:%d; $NC status --output json --url http://127.0.0.1:%d; "
				"$NC status --url http://u:pw-in-status-url@127.0.0.1:1", port, port), 1);
	HAS(r.out, "source:      https://novauser:***@127.0.0.1:1/repo.git\n");
	HAS(r.err, "novacron status: cannot read http://u:***@127.0.0.1:1/status");
	logpath = nc_xasprintf("%s/log", tdir);
	ck_assert_int_eq(nc_read_file(logpath, 64 << 20, &log, &len), 0);
	free(logpath);
	HAS(log, "fetch failed: git source https://novauser:***@127.0.0.1:1/repo.git");
	pthread_mutex_lock(&got_mu);
	HAS(got.buf, "\"source\": \"https://novauser:***@127.0.0.1:1/repo.git\"");
	for (k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++) {
		ck_assert_msg(!strstr(body, secrets[k]), "/status shows %s:\n%s", secrets[k], body);
		ck_assert_msg(!strstr(metrics, secrets[k]), "/metrics shows %s", secrets[k]);
		ck_assert_msg(!strstr(r.out, secrets[k]) && !strstr(r.err, secrets[k]), "novacron status shows %s:\n%s%s",
			      secrets[k], r.out, r.err);
		ck_assert_msg(!strstr(log, secrets[k]), "the log shows %s:\n%.3000s", secrets[k], log);
		ck_assert_msg(!strstr(got.buf, secrets[k]), "a notification shows %s:\n%s", secrets[k], got.buf);
	}
	pthread_mutex_unlock(&got_mu);
	nc_run_free(&r);
	free(body);
	free(metrics);
	free(log);
	MHD_stop_daemon(d);
}
END_TEST

/*
 * No shell anywhere in the product (docs/development.md, invariant 7): programs run
 * from argv (posix_spawn/execv).  This walks the product's sources (spec/,
 * drivers/, reconciler/, policies/), comments removed, and fails on any
 * system(, popen(, "/bin/sh" or "sh" "-c".  The test helpers (test/,
 * bench/) drive the real binary through /bin/sh on purpose and are not
 * product code, so they are not scanned.
 */
static struct nc_buf shell_hits = NC_BUF_INIT;

/* the text without comments; string and character literals kept, or emptied when !keep_strings */
static char *strip_comments(const char *s, bool keep_strings)
{
	struct nc_buf b = NC_BUF_INIT;

	while (*s) {
		if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");

			s = e ? e + 2 : s + strlen(s);
			nc_buf_addc(&b, ' ');
		} else if (s[0] == '/' && s[1] == '/') {
			s += strcspn(s, "\n");
		} else if (*s == '"' || *s == '\'') {
			char q = *s;

			nc_buf_addc(&b, *s++);
			while (*s && *s != q) {
				if (*s == '\\' && s[1]) {
					if (keep_strings)
						nc_buf_addc(&b, *s);
					s++;
				}
				if (keep_strings)
					nc_buf_addc(&b, *s);
				s++;
			}
			if (*s)
				nc_buf_addc(&b, *s++);
		} else {
			nc_buf_addc(&b, *s++);
		}
	}
	return nc_buf_detach(&b, NULL);
}

static bool ident_char(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int scan_source(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	static const char *const calls[] = { "system", "popen" };    /* as a whole word, then ( */
	static const char *const literals[] = { "\"/bin/sh\"", "\"sh\"" };
	char *buf = NULL, *code, *strings, *p;
	size_t len, n = strlen(path), i;

	(void)st;
	(void)ftw;
	if (flag != FTW_F || n < 2 || path[n - 2] != '.' || (path[n - 1] != 'c' && path[n - 1] != 'h'))
		return 0;
	if (nc_read_file(path, 16 << 20, &buf, &len) < 0)
		return 0;
	code = strip_comments(buf, false);      /* calls: not in comments or strings */
	strings = strip_comments(buf, true);    /* literals: not in comments */
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		for (p = code; (p = strstr(p, calls[i])) != NULL; p++) {
			const char *q = p + strlen(calls[i]);

			if ((p > code && ident_char(p[-1])) || ident_char(*q))
				continue;
			while (*q == ' ' || *q == '\t' || *q == '\n')
				q++;
			if (*q == '(')
				nc_buf_addf(&shell_hits, "%s: %s(\n", path, calls[i]);
		}
	for (i = 0; i < sizeof(literals) / sizeof(literals[0]); i++)
		for (p = strings; (p = strstr(p, literals[i])) != NULL; p++)
			nc_buf_addf(&shell_hits, "%s: %s\n", path, literals[i]);
	free(strings);
	free(code);
	free(buf);
	return 0;
}

START_TEST(test_no_shell_in_product)
{
	static const char *const dirs[] = { "spec", "drivers", "reconciler", "policies" };
	size_t i;
	char *p;

	FILE *f;

	/* the scanner finds a call, and not a comment or a longer name */
	p = nc_xasprintf("%s/probe.c", tdir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("/* system(\"x\") in a comment */ int f(void) { nc_filesystem(1); // popen(\n"
	      "puts(\"see qemu:///system (the socket)\"); return system (0) + system(\"ls\"); }\n", f);
	fclose(f);
	scan_source(p, NULL, FTW_F, NULL);
	free(p);
	ck_assert_msg(strstr(shell_hits.buf, "probe.c: system(\n") && !strstr(shell_hits.buf, "popen"),
		      "scanner: %s", shell_hits.buf);
	ck_assert_int_eq(count_in(shell_hits.buf, "\n"), 2);     /* system (0) and system("ls") */
	nc_buf_reset(&shell_hits);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		p = nc_xasprintf("%s/%s", NC_SOURCE_DIR, dirs[i]);
		ck_assert_int_eq(nftw(p, scan_source, 16, FTW_PHYS), 0);
		free(p);
	}
	ck_assert_msg(shell_hits.len == 0, "a shell in product code:\n%s", shell_hits.buf);
	nc_buf_release(&shell_hits);
}
END_TEST

START_TEST(test_serve_rados_lease_expires)
{
	struct nc_test_ceph ceph;
	char *body, *cfg, *extra, *cdir;
	char why[600];
	int p1 = free_port(), p2 = free_port();

	/* a real single-node Ceph from test/testbed/ceph.sh in this test's directory */
	cdir = nc_xasprintf("%s/ceph", tdir);
	if (nc_test_ceph_up(&ceph, cdir, false, NULL, why, sizeof(why)) != 0) {
		NC_TEST_SKIP("%s", why);
		free(cdir);
		return;
	}
	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	extra = nc_xasprintf("lease:\n  rados: {cephConf: %s, pool: rbd, object: nc-lease-test}\n"
			     "  duration: 3s\n", ceph.conf);
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
	shq("kill -9 $(cat pid2); rm -f pid2");
	nc_test_ceph_down(cdir);
	free(cdir);
}
END_TEST

START_TEST(test_serve_sighup_reloads)
{
	struct nc_run r;
	char *body, *cfg;
	int port = free_port();

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && echo t0ken-webhook-token-4567 > token && chmod 600 token", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	write_config("serve.yaml", cfg, port, "");
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	ck_assert_int_eq(sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST -H 'Authorization: Bearer t0ken-webhook-token-4567' "
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
		sh(&r, "curl -s -o /dev/null -w '%%{http_code}' -X POST -H 'Authorization: Bearer t0ken-webhook-token-4567' "
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
	HAS(r.err, "bad.yaml:4:11: error: invalid duration 'soon' for 'interval': expected a whole number with a unit: ms, s, m, h or d");
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

/* ---- high availability: failure detection (docs/ha.md) ---- */

/*
 * The quickstart cluster on sim hosts, served with fast HA timings; hook:
 * a webhook receiver's port (0: none).  ha_extra: more lines of `ha:`.
 */
static void ha_serve(int port, int hook, const char *ha_extra)
{
	char *cfg, *extra;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	extra = nc_xasprintf("ha:\\n  checkInterval: 200ms\\n  failedAfter: 2s\\n%s%s", ha_extra,
			     hook ? "notify:\\n  - url: http://127.0.0.1:" : "");
	if (hook) {
		char *e2 = nc_xasprintf("%s%d/hook\\n    events: [host_suspect, host_failed, host_ok, "
					"partitioned]\\n", extra, hook);

		free(extra);
		extra = e2;
	}
	write_config("serve.yaml", cfg, port, extra);
	free(cfg);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
}

/* waits until serve's log has a line containing want */
static void wait_log(const char *want, int seconds)
{
	struct nc_run r;
	int rc = sh(&r, "for i in $(seq %d); do grep -qF -- '%s' log && exit 0; sleep 0.1; done; tail -20 log; exit 1",
		    seconds * 10, want);

	if (rc != 0)
		ck_abort_msg("timed out waiting for '%s' in the log:\n%.3000s", want, r.out);
	nc_run_free(&r);
}

/*
 * A host that stops answering goes ok -> suspect -> failed, in that order,
 * with a log line, /status, /metrics, `novacron status` and a webhook for
 * each step; when it answers again it is ok.  The other hosts stay ok.
 */
START_TEST(test_ha_down_host_suspect_then_failed)
{
	struct MHD_Daemon *d;
	struct nc_run r;
	char *body;
	int port = free_port(), hook = free_port();

	pthread_mutex_lock(&got_mu);
	nc_buf_reset(&got);
	pthread_mutex_unlock(&got_mu);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)hook, NULL, NULL, receive, NULL,
			     MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	ha_serve(port, hook, "");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	HAS(body, "\"ha\": {\"enabled\": true, \"partitioned\": false, \"check_interval_ms\": 200, \"suspect_after\": 2, "
		  "\"failed_after_ms\": 2000, \"recover_after\": 3, \"hosts\": [");
	HAS(body, "{\"name\": \"kvm1\", \"health\": \"ok\", \"since\": ");
	free(body);
	ck_assert_int_eq(shq("touch state/kvm1.down"), 0);
	body = wait_for(port, "/status", "{\"name\": \"kvm1\", \"health\": \"failed\"", 30);
	HAS(body, "\"error\": \"cannot connect: ");
	HAS(body, "{\"name\": \"kvm2\", \"health\": \"ok\"");
	HAS(body, "{\"name\": \"kvm3\", \"health\": \"ok\"");
	HAS(body, "\"partitioned\": false");
	free(body);
	/* the order of the log lines: suspect first, then failed */
	ck_assert_int_eq(sh(&r, "grep -o 'host kvm1: [a-z]* -> [a-z]*' log | uniq"), 0);
	ck_assert_str_eq(r.out, "host kvm1: ok -> suspect\nhost kvm1: suspect -> failed\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "grep -E '^[0-9T:-]+\\.[0-9]{3}Z novacron serve: host kvm1: suspect -> failed "
				"\\(unreachable for [0-9.]+ s since the first missed check' log | wc -l"), 0);
	ck_assert_str_eq(r.out, "1\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "novacron_host_health{host=\"kvm1\",state=\"failed\"} 1\n");
	HAS(r.out, "novacron_host_health{host=\"kvm1\",state=\"ok\"} 0\n");
	HAS(r.out, "novacron_host_health{host=\"kvm2\",state=\"ok\"} 1\n");
	HAS(r.out, "novacron_host_transitions_total{to=\"suspect\"} 1\n");
	HAS(r.out, "novacron_host_transitions_total{to=\"failed\"} 1\n");
	HAS(r.out, "novacron_partitioned 0\n");
	nc_run_free(&r);
	sh(&r, "$NC status --url http://127.0.0.1:%d", port);
	HAS(r.out, "health:      kvm1         FAILED  since 20");
	HAS(r.out, " missed checks (");
	HAS(r.out, "health:      kvm2         ok      since 20");
	nc_run_free(&r);
	ck_assert(wait_hook("host_failed"));
	pthread_mutex_lock(&got_mu);
	HAS(got.buf, "\"event\": \"host_suspect\", \"source\": \"");
	HAS(got.buf, "\"host\": \"kvm1\", \"message\": \"host kvm1: ok -> suspect (");
	HAS(got.buf, "\"event\": \"host_failed\"");
	HASNT(got.buf, "\"host\": \"kvm2\"");
	pthread_mutex_unlock(&got_mu);
	/* back: a pass reads it (nothing of it was restarted elsewhere), the HA record forgets it,
	 * and then it is ok */
	ck_assert_int_eq(shq("rm state/kvm1.down"), 0);
	body = wait_for(port, "/status", "{\"name\": \"kvm1\", \"health\": \"ok\"", 30);
	free(body);
	wait_log("good checks in a row, and the HA record no longer lists it)", 10);
	/* the record was cleared, then the host is ok */
	ck_assert_int_eq(sh(&r, "grep -o 'host kvm1: failed -> ok\\|kvm1 is back' log"), 0);
	HAS(r.out, "kvm1 is back\nhost kvm1: failed -> ok\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "grep -c 'kvm1 is back' log"), 0);
	ck_assert_str_eq(r.out, "1\n");
	nc_run_free(&r);
	MHD_stop_daemon(d);
}
END_TEST

/*
 * A flapping host (down and up again every 0.3 s, for 6 s: more than twice
 * failedAfter) is suspect, never failed: any good check starts the grace
 * time over.  Once it stays up it is ok after recoverAfter good checks.
 */
START_TEST(test_ha_flapping_host_never_fails)
{
	struct nc_run r;
	char *body;
	int port = free_port();

	ha_serve(port, 0, "  recoverAfter: 4\\n");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	ck_assert_int_eq(shq("for i in $(seq 10); do touch state/kvm2.down; sleep 0.3; rm -f state/kvm2.down; "
			     "sleep 0.3; done"), 0);
	wait_log("host kvm2: suspect -> ok (4 good checks in a row)", 20);
	ck_assert_int_eq(sh(&r, "grep -c 'host kvm2: ok -> suspect' log; grep -c -- '-> failed' log"), 1);
	ck_assert_int_ne(atoi(r.out), 0);
	HAS(r.out, "\n0\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "novacron_host_transitions_total{to=\"failed\"} 0\n");
	nc_run_free(&r);
}
END_TEST

/*
 * Every host unreachable at once: the observer assumes it is cut off
 * (partitioned), says so in the log, /status, /metrics, `novacron status`
 * and a webhook; when one host answers the partition is over.
 */
START_TEST(test_ha_all_down_is_partition)
{
	struct MHD_Daemon *d;
	struct nc_run r;
	char *body;
	int port = free_port(), hook = free_port();

	pthread_mutex_lock(&got_mu);
	nc_buf_reset(&got);
	pthread_mutex_unlock(&got_mu);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)hook, NULL, NULL, receive, NULL,
			     MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	ha_serve(port, hook, "");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	ck_assert_int_eq(shq("touch state/kvm1.down state/kvm2.down state/kvm3.down"), 0);
	body = wait_for(port, "/status", "\"partitioned\": true", 30);
	free(body);
	wait_log("partitioned: every declared host (3) is suspect or failed: this instance is assumed cut off; "
		 "fencing nothing and restarting nothing until a host answers", 5);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "novacron_partitioned 1\n");
	nc_run_free(&r);
	sh(&r, "$NC status --url http://127.0.0.1:%d", port);
	HAS(r.out, "ha:          PARTITIONED: every declared host is suspect or failed; nothing is fenced or restarted");
	nc_run_free(&r);
	ck_assert(wait_hook("partitioned"));
	ck_assert_int_eq(shq("rm state/kvm2.down"), 0);
	wait_log("partition over: 1 of 3 hosts ok", 30);
	body = wait_for(port, "/status", "\"partitioned\": false", 10);
	free(body);
	MHD_stop_daemon(d);
}
END_TEST

/* ha: and the HA events are checked like the rest of serve.yaml */
START_TEST(test_ha_config_checked)
{
	struct nc_run r;

	ck_assert_int_eq(shq("printf 'source:\\n  directory: /y\\nha:\\n  checkInterval: 1s\\n  suspectAfter: 0\\n' > bad.yaml && "
			     "printf 'source:\\n  directory: /y\\nha:\\n  checkInterval: 1s\\n  failAfter: 3s\\n' > bad2.yaml && "
			     "printf 'source:\\n  directory: /y\\nnotify:\\n  - url: http://127.0.0.1:1/\\n    events: [host_failed, fenced, host_down]\\n' > bad3.yaml && "
			     "printf 'source:\\n  directory: /y\\nha:\\n  enabled: false\\n  checkInterval: 500ms\\n  suspectAfter: 3\\n"
			     "  failedAfter: 5s\\n  recoverAfter: 2\\n  fenceTimeout: 30s\\n  fenceRetry: 5s\\n  maxRecoveries: 2\\n"
			     "notify:\\n  - url: http://127.0.0.1:1/\\n    events: [host_suspect, host_failed, host_ok, fenced, fence_failed, partitioned]\\n' > good.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC serve --config bad.yaml --check"), 1);
	HAS(r.err, "bad.yaml:5:17: error: 'suspectAfter' must be at least 1, found 0");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC serve --config bad2.yaml --check"), 1);
	HAS(r.err, "bad2.yaml:5:3: error: unknown key 'failAfter' in ha; did you mean 'failedAfter'?");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC serve --config bad3.yaml --check"), 1);
	HAS(r.err, "bad3.yaml:5:35: error: unknown event 'host_down' (expected failed, drift, applied, invalid, "
		   "host_suspect, host_failed, host_ok, fenced, fence_failed, partitioned or alert)");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC serve --config good.yaml --check"), 0);
	nc_run_free(&r);
}
END_TEST

/*
 * A failed host without fence devices is fenced by hand: serve records it
 * failed in ha.json (not fenced), says the fence is pending, and restarts
 * none of its VMs; nothing else on the other hosts changes.
 */
START_TEST(test_ha_manual_fence_waits)
{
	struct nc_run r;
	char *body;
	int port = free_port();

	ha_serve(port, 0, "");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	ck_assert_int_eq(sh(&r, "$NC sim --state-dir state kvm1 list"), 0);
	HAS(r.out, "web-");          /* a VM with ha: restart lives there */
	nc_run_free(&r);
	ck_assert_int_eq(shq("touch state/kvm1.down"), 0);
	wait_log("host kvm1: fence pending (waiting for `novacron fence confirm kvm1`); nothing of it is restarted", 30);
	ck_assert_int_eq(sh(&r, "cat state/ha.json"), 0);
	HAS(r.out, "{\"name\": \"kvm1\", \"failed_at\": ");
	HAS(r.out, "\"fenced\": false");
	nc_run_free(&r);
	body = wait_for(port, "/status", "{\"name\": \"kvm1\", \"health\": \"failed\"", 10);
	HAS(body, "\"fenced\": false, \"fenced_by\": null, \"fence_error\": null}");
	free(body);
	/* a few passes later: still nothing restarted, nothing fenced */
	sleep(3);
	ck_assert_int_eq(sh(&r, "grep -c 'fence pending' log; grep -c 'fenced by\\|FENCE FAILED' log"), 1);
	HAS(r.out, "1\n0\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "novacron_fence_attempts_total 1\n");
	HAS(r.out, "novacron_fence_failures_total 0\n");
	HAS(r.out, "novacron_recoveries_total 0\n");
	nc_run_free(&r);
}
END_TEST

/*
 * Partitioned: every host down; nothing is recorded failed or fenced in
 * ha.json, no fence runs.
 */
START_TEST(test_ha_partition_fences_nothing)
{
	struct nc_run r;
	char *body;
	int port = free_port();

	ha_serve(port, 0, "");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	ck_assert_int_eq(shq("touch state/kvm1.down state/kvm2.down state/kvm3.down"), 0);
	body = wait_for(port, "/status", "{\"name\": \"kvm3\", \"health\": \"failed\"", 30);
	HAS(body, "\"partitioned\": true");
	HASNT(body, "\"health\": \"ok\"");
	free(body);
	sleep(2);
	ck_assert_int_eq(sh(&r, "test -e state/ha.json && cat state/ha.json; grep -c 'fencing host\\|fence pending' log"), 1);
	ck_assert_str_eq(r.out, "0\n");
	nc_run_free(&r);
}
END_TEST

/* validate --config: a Host naming a fence device the configuration lacks is an error at the name */
START_TEST(test_ha_validate_fence_names)
{
	struct nc_run r;

	ck_assert_int_eq(shq("mkdir spec && printf 'apiVersion: novacron.io/v1\\nkind: Host\\nmetadata: {name: kvm1}\\n"
			     "spec:\\n  uri: \"sim:///kvm1\"\\n  fence: [by-hand, ipmi-kvm1]\\n' > spec/hosts.yaml && "
			     "printf 'fencing:\\n  devices:\\n    - name: by-hand\\n      type: manual\\n' > cli.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC validate --config cli.yaml spec"), 1);
	HAS(r.err, "spec/hosts.yaml:6:20: error: Host 'kvm1': no fence device 'ipmi-kvm1' in cli.yaml (fencing: devices:)");
	HASNT(r.err, "'by-hand'");
	nc_run_free(&r);
	/* without a configuration the names cannot be judged */
	ck_assert_int_eq(sh(&r, "$NC validate spec"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(shq("printf '    - name: ipmi-kvm1\\n      type: manual\\n' >> cli.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC validate --config cli.yaml spec"), 0);
	nc_run_free(&r);
}
END_TEST

/*
 * Three sim hosts, a VM with ha: restart (web) and one without (batch), no
 * disks (nothing of them lives on one host: a whole-host fence is all a
 * restart needs).  fence: the spec.fence of every host (NULL: none, manual
 * hosts).  Served with fast timings; extra: more of serve.yaml.
 */
static void ha_cluster(const char *cfg_name, int port, const char *fence, const char *extra)
{
	char *cfg, *more;

	if (shq("test -d spec") != 0) {
		char *f = fence ? nc_xasprintf(", fence: [%s]", fence) : nc_xstrdup("");

		ck_assert_int_eq(shq("mkdir spec && for h in kvm1 kvm2 kvm3; do printf 'apiVersion: novacron.io/v1\\nkind: Host\\n"
				     "metadata: {name: %%s}\\nspec: {uri: \"sim:///%%s?cpus=8&memory=16GiB\"%s}\\n---\\n' $h $h; done > spec/hosts.yaml && "
				     "printf 'apiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: web}\\nspec:\\n  vcpus: 2\\n  memory: 4GiB\\n"
				     "  ha: {policy: restart, priority: 10}\\n---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: batch}\\n"
				     "spec:\\n  vcpus: 2\\n  memory: 4GiB\\n  ha: {policy: none}\\n' > spec/vms.yaml", f), 0);
		free(f);
	}
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	more = nc_xasprintf("ha:\\n  checkInterval: 200ms\\n  failedAfter: 2s\\n  fenceRetry: 1s\\n%s", extra);
	write_config(cfg_name, cfg, port, more);
	free(cfg);
	free(more);
}

/* which of the sim hosts hold a domain named vm, and its state: "kvm2 running\n" */
static char *where(const char *vm)
{
	struct nc_run r;
	char *out;

	sh(&r, "for h in kvm1 kvm2 kvm3; do $NC sim --state-dir state $h list 2>/dev/null | "
	       "awk -v h=$h -v v=%s '$1 == v {print h \" \" $2}'; done", vm);
	out = r.out;
	free(r.err);
	return out;
}

/* the host that runs vm (one), in host[8] */
static void host_of(const char *vm, char host[8])
{
	char *w = where(vm);

	ck_assert_msg(strlen(w) > 5 && strchr(w, '\n') == strrchr(w, '\n'), "%s is not on one host: '%s'", vm, w);
	snprintf(host, 8, "%.4s", w);
	free(w);
}

/*
 * Manual fencing: nothing of a failed host is restarted until an operator
 * runs `novacron fence confirm`; then serve restarts its ha: restart VM on
 * another host by itself (once), not the ha: none one, counts it, and when
 * the host comes back its stale copy is removed and the host is ok again.
 */
START_TEST(test_ha_manual_confirm_then_restart)
{
	struct nc_run r;
	char *body, *w, h[8], *want;
	int port = free_port();

	ha_cluster("serve.yaml", port, NULL, "");
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	host_of("web", h);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h), 0);
	want = nc_xasprintf("host %s: fence pending (waiting for `novacron fence confirm %s`)", h, h);
	wait_log(want, 30);
	free(want);
	sleep(2);
	w = where("web");
	ck_assert_str_eq(w, "");          /* its host cannot be read; nowhere else */
	free(w);
	ck_assert_int_eq(shq("$NC fence confirm %s --state-dir state --by alice >/dev/null", h), 0);
	wait_log("recovery: web on kvm", 20);
	wait_log("apply: [1/1] recover web on kvm", 10);
	body = wait_for(port, "/status", "\"fenced_by\": \"manual: alice\"", 10);
	want = nc_xasprintf("{\"name\": \"%s\", \"health\": \"failed\"", h);
	HAS(body, want);
	free(want);
	free(body);
	w = where("web");
	ck_assert_ptr_null(strstr(w, h));
	HAS(w, " running\n");
	free(w);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "novacron_recoveries_total 1\n");
	nc_run_free(&r);
	/* more passes restart nothing again */
	sleep(3);
	ck_assert_int_eq(sh(&r, "grep -c 'recovery: web' log"), 0);
	ck_assert_str_eq(r.out, "1\n");
	nc_run_free(&r);
	/* back: the stale copy goes, the record forgets the host, its health is ok */
	ck_assert_int_eq(shq("$NC sim --state-dir state %s up >/dev/null", h), 0);
	want = nc_xasprintf("{\"name\": \"%s\", \"health\": \"ok\"", h);
	body = wait_for(port, "/status", want, 40);
	free(want);
	free(body);
	w = where("web");
	ck_assert_ptr_null(strstr(w, h));
	ck_assert_ptr_eq(strchr(w, '\n'), strrchr(w, '\n'));   /* one copy */
	free(w);
}
END_TEST

/*
 * serve killed after fencing, before the restart: the next instance
 * restarts once; killed right after the restart: the next one restarts
 * nothing (ha.json's `recovered` and what it observes).
 */
START_TEST(test_ha_killed_serve_recovers_once)
{
	struct nc_run r;
	char *body, *w, *w2, h[8];
	int port = free_port();

	ha_cluster("serve.yaml", port, NULL, "");
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	host_of("web", h);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h), 0);
	wait_log("fence pending", 30);
	/* killed; fenced while no serve runs */
	ck_assert_int_eq(shq("kill -9 $(cat pid); rm pid; $NC fence confirm %s --state-dir state --by bob >/dev/null", h), 0);
	start_serve("serve.yaml", "pid", "log2");
	ck_assert_int_eq(sh(&r, "for i in $(seq 300); do grep -q 'apply: \\[1/1\\] recover web' log2 && break; sleep 0.1; done; "
				"grep -c 'recovery: web' log2"), 0);
	ck_assert_str_eq(r.out, "1\n");
	nc_run_free(&r);
	/* killed again right after the restart */
	ck_assert_int_eq(shq("kill -9 $(cat pid); rm pid"), 0);
	w = where("web");
	ck_assert_ptr_null(strstr(w, h));
	HAS(w, " running\n");
	start_serve("serve.yaml", "pid", "log3");
	body = wait_for(port, "/status", "\"fenced_by\": \"manual: bob\"", 30);
	free(body);
	sleep(3);
	ck_assert_int_eq(sh(&r, "grep -c 'recovery: \\|apply: ' log3"), 1);
	ck_assert_str_eq(r.out, "0\n");
	nc_run_free(&r);
	w2 = where("web");
	ck_assert_str_eq(w2, w);
	free(w);
	free(w2);
}
END_TEST

/*
 * Two instances on one lease and one state directory: both watch the
 * hosts (the standby those of hosts.json); only the holder fences and
 * restarts.
 */
START_TEST(test_ha_only_leader_fences)
{
	struct nc_run r;
	char *body, h[8], *want;
	int port = free_port(), port2 = free_port();

	ha_cluster("serve.yaml", port, NULL, "");
	ha_cluster("serve2.yaml", port2, NULL, "");
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	start_serve("serve2.yaml", "pid2", "log2");
	body = wait_for(port2, "/status", "\"leader\": false", 30);
	free(body);
	host_of("web", h);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h), 0);
	want = nc_xasprintf("{\"name\": \"%s\", \"health\": \"failed\"", h);
	body = wait_for(port2, "/status", want, 30);
	free(want);
	free(body);
	wait_log("fence pending", 30);
	ck_assert_int_eq(shq("$NC fence confirm %s --state-dir state --by carol >/dev/null", h), 0);
	wait_log("recovery: web on kvm", 20);
	sleep(2);
	ck_assert_int_eq(sh(&r, "grep -c 'host %s: suspect -> failed' log2; grep -c 'fencing host\\|fence pending\\|recovery:\\|applying' log2", h), 1);
	ck_assert_str_eq(r.out, "1\n0\n");
	nc_run_free(&r);
}
END_TEST

/*
 * A fence agent that fails: loud (log, webhook, /status, metrics),
 * retried every fenceRetry, nothing restarted; the agent's password is
 * nowhere.  When it works (the device fixed, SIGHUP), the VM restarts.
 */
START_TEST(test_ha_fence_failed_then_fixed)
{
	struct MHD_Daemon *d;
	struct nc_run r;
	char *body, *w, *extra, h[8], *want;
	int port = free_port(), hook = free_port();

	pthread_mutex_lock(&got_mu);
	nc_buf_reset(&got);
	pthread_mutex_unlock(&got_mu);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)hook, NULL, NULL, receive, NULL,
			     MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(shq("echo pw-secret-0451 > pw && chmod 600 pw"), 0);
	extra = nc_xasprintf("fencing:\\n  devices:\\n    - name: ipmi\\n      type: agent\\n      agent: %s/test/data/fence/fence_nc_test\\n"
			     "      options: {mode: fail}\\n      passwordFile: %s/pw\\n"
			     "notify:\\n  - url: http://127.0.0.1:%d/hook\\n", NC_SOURCE_DIR, tdir, hook);
	ha_cluster("serve.yaml", port, "ipmi", extra);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	host_of("web", h);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h), 0);
	want = nc_xasprintf("FENCE FAILED for host %s: agent device ipmi: ", h);
	wait_log(want, 30);
	free(want);
	wait_log("; nothing of it is restarted; retrying in 1.0 s", 5);
	body = wait_for(port, "/status", "\"fence_error\": \"agent device ipmi: ", 10);
	HAS(body, "\"fenced\": false");
	HASNT(body, "pw-secret-0451");
	free(body);
	/* retried */
	ck_assert_int_eq(sh(&r, "for i in $(seq 100); do [ $(grep -c 'FENCE FAILED' log) -ge 2 ] && break; sleep 0.1; done; "
				"grep -c 'FENCE FAILED' log | awk '$1 >= 2 {print \"retried\"}'"), 0);
	ck_assert_str_eq(r.out, "retried\n");
	nc_run_free(&r);
	w = where("web");
	ck_assert_str_eq(w, "");
	free(w);
	ck_assert_int_eq(sh(&r, "curl -s http://127.0.0.1:%d/metrics", port), 0);
	HAS(r.out, "novacron_fence_failures_total ");
	HASNT(r.out, "novacron_fence_failures_total 0\n");
	HAS(r.out, "novacron_recoveries_total 0\n");
	nc_run_free(&r);
	ck_assert(wait_hook("fence_failed"));
	/* the device fixed: the agent powers it off and reports it off */
	ck_assert_int_eq(shq("sed -i 's/mode: fail/mode: off/' serve.yaml && kill -HUP $(cat pid)"), 0);
	want = nc_xasprintf("host %s fenced by agent device ipmi: ", h);
	wait_log(want, 40);
	free(want);
	wait_log("recovery: web on kvm", 20);
	body = wait_for(port, "/status", "\"fenced_by\": \"agent device ipmi\"", 10);
	free(body);
	w = where("web");
	ck_assert_ptr_null(strstr(w, h));
	HAS(w, " running\n");
	free(w);
	ck_assert_int_eq(sh(&r, "grep -c pw-secret-0451 log state/ha.json"), 1);
	HAS(r.out, "log:0\n");
	HAS(r.out, "ha.json:0\n");
	nc_run_free(&r);
	pthread_mutex_lock(&got_mu);
	HAS(got.buf, "\"event\": \"fenced\"");
	HASNT(got.buf, "pw-secret-0451");
	pthread_mutex_unlock(&got_mu);
	MHD_stop_daemon(d);
}
END_TEST

/*
 * A fence agent that hangs: after ha.fenceTimeout the run counts as
 * failed (FENCE FAILED ... timed out), is retried, and nothing is
 * restarted while the host is not fenced.
 */
START_TEST(test_ha_fence_hangs_times_out)
{
	struct nc_run r;
	char *extra, *w, h[8], *body;
	int port = free_port();

	ck_assert_int_eq(shq("echo pw-secret-0453 > pw && chmod 600 pw"), 0);
	extra = nc_xasprintf("  fenceTimeout: 1s\\nfencing:\\n  devices:\\n    - name: ipmi\\n      type: agent\\n"
			     "      agent: %s/test/data/fence/fence_nc_test\\n      options: {mode: hang, log: %s/agent.log}\\n"
			     "      passwordFile: %s/pw\\n      timeout: 2s\\n", NC_SOURCE_DIR, tdir, tdir);
	ha_cluster("serve.yaml", port, "ipmi", extra);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	host_of("web", h);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h), 0);
	wait_log(": agent device ipmi: timed out after 1.0 s", 30);
	ck_assert_int_eq(sh(&r, "for i in $(seq 100); do [ $(grep -c 'FENCE FAILED' log) -ge 2 ] && break; sleep 0.1; done; "
				"grep -c 'FENCE FAILED' log | awk '$1 >= 2 {print \"retried\"}'"), 0);
	ck_assert_str_eq(r.out, "retried\n");
	nc_run_free(&r);
	w = where("web");
	ck_assert_str_eq(w, "");
	free(w);
	ck_assert_int_eq(sh(&r, "cat state/ha.json"), 0);
	HAS(r.out, "\"fenced\": false");
	nc_run_free(&r);
	/* serve stopped, the last agent run (its own process group) is stopped by the PID it wrote */
	shq("kill -TERM $(cat pid); for i in $(seq 50); do kill -0 $(cat pid) 2>/dev/null || break; sleep 0.1; done; rm -f pid; "
	    "g=$(ps -o pgid= $(cat agent.log.child) | tr -d ' '); [ -n \"$g\" ] && kill -- -$g 2>/dev/null; true");
}
END_TEST

/*
 * `novacron fence run HOST`: refuses a host that can be read (unless
 * --force), fences a down one with its configured device and records it
 * (who, by what), and the next apply restarts its ha: restart VM.
 */
START_TEST(test_ha_fence_run_by_hand)
{
	struct nc_run r;
	char h[8];

	ha_cluster("serve.yaml", free_port(), "ipmi", "");
	ck_assert_int_eq(shq("echo pw-secret-0452 > pw && chmod 600 pw && "
			     "printf 'fencing:\\n  devices:\\n    - name: ipmi\\n      type: agent\\n      agent: %s/test/data/fence/fence_nc_test\\n"
			     "      options: {mode: off, log: %s/agent.log}\\n      passwordFile: %s/pw\\n' > cli.yaml && "
			     "$NC apply spec --state-dir state --auto-approve", NC_SOURCE_DIR, tdir, tdir), 0);
	host_of("web", h);
	ck_assert_int_eq(sh(&r, "$NC fence run %s spec --config cli.yaml --state-dir state --by dave", h), 1);
	HAS(r.err, "can be read right now: it is not failed.");
	nc_run_free(&r);
	ck_assert_int_eq(shq("test ! -e agent.log && test ! -e state/ha.json"), 0);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down", h), 0);
	ck_assert_int_eq(sh(&r, "$NC fence run %s spec --config cli.yaml --state-dir state --by dave", h), 0);
	HAS(r.out, ": 1 VM to restart, 0 rbd disks, the whole host needed\n");
	HAS(r.out, " by agent device ipmi (novacron fence run by dave): ");
	HASNT(r.out, "pw-secret");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "cat state/ha.json"), 0);
	HAS(r.out, "\"fenced\": true");
	HAS(r.out, "\"fenced_by\": \"agent device ipmi (novacron fence run by dave)\"");
	HAS(r.out, "\"whole_host\": true");
	HASNT(r.out, "pw-secret");
	nc_run_free(&r);
	sh(&r, "$NC apply spec --state-dir state --auto-approve");   /* incomplete: a host cannot be read */
	HAS(r.out, "] recover web on kvm");
	nc_run_free(&r);
	/* a host the configuration has no device for */
	ck_assert_int_eq(shq("sed -i 's/name: ipmi/name: other/' cli.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC fence run %s spec --config cli.yaml --state-dir state", h), 1);
	HAS(r.err, "no fence device 'ipmi' in cli.yaml (fencing: devices:)");
	nc_run_free(&r);
}
END_TEST

/*
 * A fence run left behind by ha.fenceTimeout (shorter than the device's own
 * timeout) goes on while serve reloads its configuration (SIGHUP): the run
 * uses its own copy of the device, not the freed configuration (under ASan,
 * the agent's status run read the freed options before the copy).
 */
START_TEST(test_ha_fence_run_outlives_reload)
{
	struct nc_run r;
	char *extra, *body, h[8];
	int port = free_port();

	ck_assert_int_eq(shq("echo pw-secret-0454 > pw && chmod 600 pw"), 0);
	extra = nc_xasprintf("  fenceTimeout: 1s\\nfencing:\\n  devices:\\n    - name: ipmi\\n      type: agent\\n"
			     "      agent: %s/test/data/fence/fence_nc_test\\n      options: {mode: slowoff, log: %s/agent.log}\\n"
			     "      passwordFile: %s/pw\\n      timeout: 20s\\n", NC_SOURCE_DIR, tdir, tdir);
	ha_cluster("serve.yaml", port, "ipmi", extra);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	host_of("web", h);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h), 0);
	wait_log(": agent device ipmi: timed out after 1.0 s", 30);
	ck_assert_int_eq(shq("kill -HUP $(cat pid)"), 0);
	wait_log("SIGHUP: reloading", 10);
	/* the slow run ends (off, then its status run) after the reload */
	if (sh(&r, "for i in $(seq 100); do grep -q '^action=status' agent.log && break; sleep 0.1; done; "
		   "grep -q '^action=status' agent.log || { tail -30 log; cat agent.log; exit 1; }") != 0)
		ck_abort_msg("the slow agent run did not reach its status run:\n%.4000s", r.out);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "grep -c '^mode=slowoff' agent.log"), 0);
	ck_assert_int_ge(atoi(r.out), 2);
	nc_run_free(&r);
	body = wait_for(port, "/status", "\"result\"", 10);   /* serve still answers */
	free(body);
	ck_assert_int_eq(shq("kill -0 $(cat pid)"), 0);
	ck_assert_int_eq(sh(&r, "cat log"), 0);
	HASNT(r.out, "AddressSanitizer");
	HASNT(r.out, "pw-secret");
	nc_run_free(&r);
	shq("kill -TERM $(cat pid); for i in $(seq 50); do kill -0 $(cat pid) 2>/dev/null || break; sleep 0.1; done; rm -f pid");
}
END_TEST

/*
 * A host fails with no VM to restart (its one VM has ha: none), so its fence
 * has nothing to do; then the spec gives the VM ha: restart.  The fence
 * must run then (it was done with nothing, not for this VM), and the VM be
 * restarted: a host once "fenced with nothing" was never fenced again, and
 * the plan said "waiting for fencing" for as long as serve ran.
 */
START_TEST(test_ha_restart_added_after_failure)
{
	char *extra, h[8], *want, *w;
	int port = free_port();

	ck_assert_int_eq(shq("mkdir spec && for h in kvm1 kvm2 kvm3; do printf 'apiVersion: novacron.io/v1\\nkind: Host\\n"
			     "metadata: {name: %%s}\\nspec: {uri: \"sim:///%%s?cpus=8&memory=16GiB\", fence: [ipmi]}\\n---\\n' "
			     "$h $h; done > spec/hosts.yaml && printf 'apiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: "
			     "batch}\\nspec:\\n  vcpus: 2\\n  memory: 4GiB\\n  ha: {policy: none}\\n' > spec/vms.yaml"), 0);
	extra = nc_xasprintf("fencing:\\n  devices:\\n    - name: ipmi\\n      type: agent\\n      agent: %s/test/data/fence/fence_nc_test\\n"
			     "      options: {mode: off}\\n", NC_SOURCE_DIR);
	ha_cluster("serve.yaml", port, "ipmi", extra);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	free(wait_for(port, "/status", "\"result\": \"ok\"", 30));
	host_of("batch", h);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h), 0);
	want = nc_xasprintf("host %s fenced: no VM to restart: nothing to fence", h);
	wait_log(want, 30);
	free(want);
	wait_log("VM batch was last seen on", 10);
	ck_assert_int_eq(shq("sed -i 's/policy: none/policy: restart/' spec/vms.yaml"), 0);
	want = nc_xasprintf("host %s fenced by agent device ipmi: powered off", h);
	wait_log(want, 30);
	free(want);
	wait_log("recovery: batch on kvm", 20);
	w = where("batch");
	ck_assert_ptr_null(strstr(w, h));
	HAS(w, " running\n");
	free(w);
}
END_TEST

/*
 * A host that returned (its stale copy removed, its HA record cleared) while
 * the monitor still counts it failed (recoverAfter good checks not yet seen)
 * is never fenced again when another host fails: the pass reads it.  Before,
 * the second failure's pass fenced it again: with rbd, that broke the lock of
 * the copy restarted on the host that had just failed (found by ha.sh).
 */
START_TEST(test_ha_returned_host_not_fenced_again)
{
	struct nc_run r;
	char *extra, *body, *want, h[8], h2[8];
	int port = free_port();

	extra = nc_xasprintf("  recoverAfter: 150\\nfencing:\\n  devices:\\n    - name: ipmi\\n      type: agent\\n"
			     "      agent: %s/test/data/fence/fence_nc_test\\n      options: {mode: off, log: %s/agent.log}\\n",
			     NC_SOURCE_DIR, tdir);
	ha_cluster("serve.yaml", port, "ipmi", extra);
	free(extra);
	start_serve("serve.yaml", "pid", "log");
	body = wait_for(port, "/status", "\"result\": \"ok\"", 30);
	free(body);
	host_of("web", h);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h), 0);
	want = nc_xasprintf("host %s fenced by agent device ipmi", h);
	wait_log(want, 30);
	free(want);
	wait_log("apply: [1/1] recover web on kvm", 20);
	host_of("web", h2);
	ck_assert_str_ne(h, h2);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s up >/dev/null", h), 0);
	want = nc_xasprintf("host %s is back: its HA record is cleared", h);
	wait_log(want, 30);
	free(want);
	/* h still counts as failed (150 good checks needed); h2 fails now */
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down >/dev/null", h2), 0);
	want = nc_xasprintf("host %s fenced by agent device ipmi", h2);
	wait_log(want, 30);
	free(want);
	want = nc_xasprintf("host %s answers again: not fenced", h);
	wait_log(want, 10);
	free(want);
	ck_assert_int_eq(sh(&r, "grep -c 'host %s fenced by' log", h), 0);
	ck_assert_str_eq(r.out, "1\n");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "grep -c '^action=off' agent.log"), 0);
	ck_assert_str_eq(r.out, "2\n");
	nc_run_free(&r);
	shq("kill -TERM $(cat pid); for i in $(seq 50); do kill -0 $(cat pid) 2>/dev/null || break; sleep 0.1; done; rm -f pid");
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
	tcase_add_test(tc, test_serve_reports_unreachable_hosts);
	tcase_add_test(tc, test_serve_git_source_keeps_last_good);
	tcase_add_test(tc, test_serve_refused_commits_are_invalid);
	tcase_add_test(tc, test_serve_webhook_needs_token);
	tcase_add_test(tc, test_serve_lease_one_leader);
	tcase_add_test(tc, test_serve_notifies);
	tcase_add_test(tc, test_serve_rados_lease_expires);
	tcase_add_test(tc, test_serve_sighup_reloads);
	tcase_add_test(tc, test_serve_lease_file_replaced);
	tcase_add_test(tc, test_serve_http_slow_clients);
	tcase_add_test(tc, test_serve_refuses_weak_tokens);
	tcase_add_test(tc, test_serve_never_shows_secrets);
	tcase_add_test(tc, test_url_redact);
	tcase_add_test(tc, test_no_shell_in_product);
	suite_add_tcase(s, tc);

	tc = tcase_create("ha");
	tcase_add_unchecked_fixture(tc, registry_setup, registry_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ha_config_checked);
	tcase_add_test(tc, test_ha_down_host_suspect_then_failed);
	tcase_add_test(tc, test_ha_flapping_host_never_fails);
	tcase_add_test(tc, test_ha_all_down_is_partition);
	tcase_add_test(tc, test_ha_manual_fence_waits);
	tcase_add_test(tc, test_ha_partition_fences_nothing);
	tcase_add_test(tc, test_ha_validate_fence_names);
	tcase_add_test(tc, test_ha_manual_confirm_then_restart);
	tcase_add_test(tc, test_ha_killed_serve_recovers_once);
	tcase_add_test(tc, test_ha_only_leader_fences);
	tcase_add_test(tc, test_ha_fence_failed_then_fixed);
	tcase_add_test(tc, test_ha_fence_run_by_hand);
	tcase_add_test(tc, test_ha_restart_added_after_failure);
	tcase_add_test(tc, test_ha_fence_hangs_times_out);
	tcase_add_test(tc, test_ha_fence_run_outlives_reload);
	tcase_add_test(tc, test_ha_returned_host_not_fenced_again);
	suite_add_tcase(s, tc);
	return s;
}
