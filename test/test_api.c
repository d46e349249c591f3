/*
 * test_api.c - serve's operator API (docs/api.md, reconciler/api.c, web.c,
 * http.c, events.c, audit.c): one serve on the quickstart's sim hosts with
 * a real listener for the whole suite, asked with curl: every GET endpoint,
 * pagination and filters, 404s, a label holding markup comes back escaped,
 * an oversized body is 413, a refused write is in the audit log, the event
 * stream gets pass_finished, and without api.anonymous nothing is answered
 * without credentials (401).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "tests.h"
#include "testutil.h"

#include "../reconciler/audit.h"
#include "../reconciler/events.h"

static char tdir[64];
static int port;

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

/* curl's answer: the body, then a last line "HTTP CODE" */
static char *req(const char *args)
{
	struct nc_run r;
	char *out;

	nc_run_in(&r, tdir, "curl -s --max-time 20 -w '\\nHTTP %%{http_code}' %s", args);
	out = r.out;
	r.out = NULL;
	nc_run_free(&r);
	return out;
}

static char *get(const char *path)
{
	char *a = nc_xasprintf("'http://127.0.0.1:%d%s'", port, path), *out = req(a);

	free(a);
	return out;
}

static char *wait_for(const char *path, const char *want, int seconds)
{
	int i;

	for (i = 0; i < seconds * 5; i++) {
		char *b = get(path);

		if (strstr(b, want))
			return b;
		if (i == seconds * 5 - 1) {
			struct nc_run r;

			nc_run_in(&r, tdir, "tail -20 log");
			ck_abort_msg("timed out waiting for '%s' at %s:\n%.2000s\nlog:\n%.3000s", want, path, b, r.out);
		}
		free(b);
		usleep(200000);
	}
	return NULL;
}

/* once for the suite (unchecked): serve on the quickstart, from a directory whose name holds
 * markup (the revision's summary) */
static void suite_setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-api-XXXXXX");
	if (!mkdtemp(tdir))
		return;
	port = free_port();
	shq("cp -r '%s/examples/quickstart' 's<script>' && ln -s 's<script>' spec && "
	    "printf 'source:\\n  directory: \"%s/s<script>\"\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
	    "interval: 1s\\ndriftInterval: 60s\\nlisten: 127.0.0.1:%d\\ntelemetry:\\n  enabled: false\\n"
	    "api:\\n  anonymous: viewer\\n' > serve.yaml && ($NC serve --config serve.yaml >/dev/null 2>>log & echo $! > pid)",
	    NC_SOURCE_DIR, tdir, tdir, tdir, port);
}

static void suite_teardown(void)
{
	nc_run_inq("/", "cd '%s' 2>/dev/null || exit 0; for f in pid pid2; do [ -f $f ] && kill $(cat $f) 2>/dev/null; "
			"done; sleep 0.3; for f in pid pid2; do [ -f $f ] && kill -9 $(cat $f) 2>/dev/null; done; "
			"cd / && rm -rf '%s'", tdir, tdir);
}

/* the first pass is in */
static void ready(void)
{
	free(wait_for("/api/v1/cluster", "\"running\": 9", 30));
}

START_TEST(test_api_get_each_endpoint)
{
	char *b;

	ready();
	b = get("/api/v1/cluster");
	HAS(b, "\"counts\": {\"hosts\": 3, \"hostsUp\": 3, \"vms\": 10, \"running\": 9, \"stopped\": 1");
	HAS(b, "\"revision\": {\"id\": \"dir:");
	HAS(b, "\"mode\": \"auto\"");
	HAS(b, "\"leader\": true");
	HAS(b, "\nHTTP 200");
	free(b);
	b = get("/api/v1/hosts");
	HAS(b, "{\"name\": \"kvm1\", \"uri\": \"sim:///kvm1\", \"declared\": true, \"up\": true, \"health\": \"ok\"");
	HAS(b, "\"capacity\": {\"vcpus\": 16, \"memory\": 68719476736}");
	free(b);
	b = get("/api/v1/hosts/kvm3");
	HAS(b, "\"vms\": [\"db-1\", \"web-2\"]");
	free(b);
	b = get("/api/v1/vms/db-1");
	HAS(b, "\"desired\": {\"state\": \"running\", \"vcpus\": 4, \"memory\": 8589934592");
	HAS(b, "\"observed\": {\"host\": \"kvm3\", \"state\": \"running\"");
	HAS(b, "\"placement\": {\"host\": \"kvm3\", \"why\": ");
	HAS(b, "\"backups\": [");
	free(b);
	b = get("/api/v1/plan");
	HAS(b, "\"digest\": \"");
	HAS(b, "\"approved\": true, \"actions\": []");
	/* the counts of plan -o json's summary */
	HAS(b, "\"recover\": 0, \"adopt\": 0, \"errors\": 0, \"refused\": false, \"managed\": 10, \"unmanaged\": 0, "
	       "\"unreachable\": 0, \"blocked\": 0, \"suspended\": 0, \"ignored\": 0, \"notes\": [");
	free(b);
	b = get("/api/v1/passes");
	HAS(b, "\"result\": \"ok\"");
	HAS(b, "\"actions\": 16, \"done\": 16");
	free(b);
	b = get("/api/v1/events?since=0");
	HAS(b, "\"type\": \"pass_started\"");
	HAS(b, "\"type\": \"action\", \"object\": \"db-1\"");
	HAS(b, "\"type\": \"pass_finished\"");
	free(b);
	b = get("/api/v1/alerts");
	HAS(b, "{\"items\": [");
	free(b);
	b = get("/api/v1/backups");
	HAS(b, "{\"items\": [");
	HAS(b, "\nHTTP 200");
	free(b);
	b = get("/api/v1/tenants");
	HAS(b, "{\"items\": [");
	free(b);
	b = get("/api/v1/me");
	HAS(b, "{\"who\": \"anonymous\", \"role\": \"viewer\", \"tenants\": null");
	free(b);
	/* the audit log is for admins */
	b = get("/api/v1/audit");
	HAS(b, "\nHTTP 403");
	free(b);
}
END_TEST

START_TEST(test_api_vms_pages_and_filters)
{
	char *b;

	ready();
	b = get("/api/v1/vms?offset=3&limit=2");
	HAS(b, "\"total\": 10,");
	HAS(b, "\"offset\": 3, \"limit\": 2, \"items\": [\n  {\"name\": \"web-1\"");
	HAS(b, "{\"name\": \"web-2\"");
	HASNT(b, "\"scratch\"");
	HASNT(b, "\"web-3\"");
	free(b);
	b = get("/api/v1/vms?q=WORKER&limit=100");
	HAS(b, "\"total\": 4,");
	free(b);
	b = get("/api/v1/vms?host=kvm3");
	HAS(b, "\"total\": 2,");
	HAS(b, "\"name\": \"db-1\", \"tenant\": null, \"host\": \"kvm3\", \"state\": {\"desired\": \"running\", "
	       "\"observed\": \"running\"}, \"drift\": false, \"vcpus\": 4, \"memory\": 8589934592, \"pending\": 0}");
	free(b);
	b = get("/api/v1/vms?limit=-1");
	HAS(b, "\nHTTP 400");
	HAS(b, "{\"error\": ");
	free(b);
}
END_TEST

START_TEST(test_api_not_found)
{
	const char *paths[] = { "/api/v1/vms/nope", "/api/v1/hosts/nope", "/api/v1/nothing", "/api/v2/cluster",
				"/api/v1/vms/db-1/extra", "/nothing-here" };
	size_t i;

	ready();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *b = get(paths[i]);

		HAS(b, "{\"error\": ");
		HAS(b, "\nHTTP 404");
		free(b);
	}
}
END_TEST

/* a revision summary holding markup: JSON-escaped, < and > never as such; security headers */
START_TEST(test_api_markup_escaped)
{
	struct nc_run r;
	char *b;

	ready();
	b = get("/api/v1/cluster");
	HAS(b, "/s\\u003cscript\\u003e\"}");
	HASNT(b, "<script>");
	free(b);
	nc_run_in(&r, tdir, "curl -s -D - -o /dev/null http://127.0.0.1:%d/api/v1/cluster", port);
	HAS(r.out, "X-Content-Type-Options: nosniff");
	HAS(r.out, "Referrer-Policy: no-referrer");
	HAS(r.out, "X-Frame-Options: DENY");
	HAS(r.out, "Content-Type: application/json");
	nc_run_free(&r);
}
END_TEST

/* a body over 64 KiB: 413, nothing done; a write by a viewer: 403, and both writes' attempts audited */
START_TEST(test_api_oversized_and_refused_writes)
{
	struct nc_run r;
	struct stat st;
	char *b, *a, *path;

	ready();
	ck_assert_int_eq(shq("head -c 70000 /dev/zero | tr '\\\\0' x > big"), 0);
	a = nc_xasprintf("-X POST --data-binary @big http://127.0.0.1:%d/api/v1/sync", port);
	b = req(a);
	HAS(b, "\nHTTP 413");
	HAS(b, "too large");
	free(a);
	free(b);
	a = nc_xasprintf("-X POST -d '{}' http://127.0.0.1:%d/api/v1/pause", port);
	b = req(a);
	HAS(b, "\nHTTP 403");
	HAS(b, "{\"error\": \"anonymous may not change anything (role viewer)\"}");
	free(a);
	free(b);
	path = nc_xasprintf("%s/state/audit/audit.log", tdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(path);
	nc_run_in(&r, tdir, "cat state/audit/audit.log; stat -c %%a state/audit");
	HAS(r.out, "\"who\": \"anonymous\", \"role\": \"viewer\", \"peer\": \"127.0.0.1\", \"method\": \"POST\", "
		   "\"path\": \"/api/v1/pause\", \"target\": null, \"code\": 403, "
		   "\"result\": \"anonymous may not change anything (role viewer)\"}\n");
	HAS(r.out, "\n700\n");
	nc_run_free(&r);
}
END_TEST

/* the event stream: opened, a new revision makes a pass whose pass_finished arrives; Last-Event-ID resumes */
START_TEST(test_api_event_stream)
{
	struct nc_run r;
	char *b, *p;
	unsigned long long last;
	int i;

	ready();
	b = get("/api/v1/events");
	p = strstr(b, "\"type\": \"pass_finished\"");
	ck_assert_ptr_nonnull(p);
	free(b);
	ck_assert_int_eq(shq("(curl -sN --max-time 15 http://127.0.0.1:%d/api/v1/events/stream > sse 2>&1 & "
			     "echo $! > pid2)", port), 0);
	for (i = 0; i < 50 && shq("grep -q 'novacron events' sse") != 0; i++)
		usleep(100000);
	ck_assert_int_eq(shq("grep -q ': novacron events' sse"), 0);
	ck_assert_int_eq(shq("printf '# a new revision\\n' >> spec/vms/web.yaml"), 0);
	for (i = 0; i < 100 && shq("grep -q '^event: pass_finished' sse") != 0; i++)
		usleep(100000);
	nc_run_in(&r, tdir, "cat sse");
	/* a stream without Last-Event-ID starts now: the first pass is not replayed */
	HASNT(r.out, "\"pass 1 ");
	HAS(r.out, "event: pass_started\n");
	HAS(r.out, "event: pass_finished\ndata: {\"id\": ");
	HAS(r.out, "\"message\": \"pass 2 ok");
	p = strstr(r.out, "event: pass_finished");
	while (p > r.out && strncmp(p, "id: ", 4) != 0)
		p--;
	last = strtoull(p + 4, NULL, 10);
	ck_assert_uint_gt(last, 0);
	nc_run_free(&r);
	shq("kill $(cat pid2) 2>/dev/null; rm -f pid2");
	/* resuming after the last one seen: only what came after (nothing of that pass again) */
	nc_run_in(&r, tdir, "curl -sN --max-time 6 -H 'Last-Event-ID: %llu' http://127.0.0.1:%d/api/v1/events/stream",
		  last, port);
	HASNT(r.out, "event: pass_started");
	HAS(r.out, ": novacron events");
	/* nothing new for 5 s: a keepalive comment, the stream still open */
	HAS(r.out, "\n: keepalive\n\n");
	nc_run_free(&r);
}
END_TEST

/* without api.anonymous: 401 for every API path, writes too (and those are audited) */
START_TEST(test_api_needs_credentials)
{
	struct nc_run r;
	int p2 = free_port(), i;

	ready();
	ck_assert_int_eq(shq("mkdir -p s2 && printf 'source:\\n  directory: %s/spec\\ncacheDir: %s/cache2\\n"
			     "stateDir: %s/s2\\nlisten: 127.0.0.1:%d\\ntelemetry:\\n  enabled: false\\n' > s2.yaml && "
			     "($NC serve --config s2.yaml >/dev/null 2>>log2 & echo $! > pid2)", tdir, tdir, tdir, p2), 0);
	for (i = 0; i < 100 && shq("curl -sf http://127.0.0.1:%d/healthz >/dev/null", p2) != 0; i++)
		usleep(100000);
	nc_run_in(&r, tdir, "curl -s -w ' %%{http_code}' http://127.0.0.1:%d/api/v1/cluster; "
		  "curl -s -w ' %%{http_code}' -X POST http://127.0.0.1:%d/api/v1/sync; "
		  "curl -s -w ' %%{http_code}' -X POST -H 'Authorization: Bearer nc_forged' "
		  "http://127.0.0.1:%d/api/v1/vms/web-1/backup", p2, p2, p2);
	HAS(r.out, "{\"error\": \"authentication required: a bearer token or a session\"}\n 401");
	ck_assert_int_eq(strstr(strstr(r.out, " 401") + 4, " 401") != NULL, 1);
	HASNT(r.out, " 202");
	nc_run_free(&r);
	for (i = 0; i < 50 && shq("grep -q backup s2/audit/audit.log") != 0; i++)
		usleep(100000);
	nc_run_in(&r, tdir, "cat s2/audit/audit.log; kill $(cat pid2); rm -f pid2");
	HAS(r.out, "\"path\": \"/api/v1/sync\", \"target\": null, \"code\": 401");
	/* forged credentials: refused and recorded, the token never written */
	HAS(r.out, "\"who\": \"unidentified (credentials refused)\", \"role\": \"none\", \"peer\": \"127.0.0.1\", "
		   "\"method\": \"POST\", \"path\": \"/api/v1/vms/web-1/backup\", \"target\": null, \"code\": 401");
	HASNT(r.out, "nc_forged");
	nc_run_free(&r);
	/* api.enabled: false: no API, no dashboard; /healthz stays */
	p2 = free_port();
	ck_assert_int_eq(shq("sed -e 's/^listen: .*/listen: 127.0.0.1:%d/; s|^stateDir: .*|stateDir: %s/s3|' s2.yaml > s3.yaml && "
			     "printf 'api:\\n  enabled: false\\n  anonymous: viewer\\n' >> s3.yaml && "
			     "($NC serve --config s3.yaml >/dev/null 2>>log3 & echo $! > pid2)", p2, tdir), 0);
	for (i = 0; i < 100 && shq("curl -sf http://127.0.0.1:%d/healthz >/dev/null", p2) != 0; i++)
		usleep(100000);
	nc_run_in(&r, tdir, "curl -s -w ' %%{http_code}' http://127.0.0.1:%d/api/v1/cluster; kill $(cat pid2); rm -f pid2",
		  p2);
	HAS(r.out, "not found: try /healthz, /status, /metrics or POST /webhook\n 404");
	nc_run_free(&r);
}
END_TEST

/* a token scoped to tenant web: its VMs only, the others 404, its tenant only, the hosts' VM lists
 * and the events filtered; an unscoped admin sees all and the audit log */
START_TEST(test_api_tenant_filtering)
{
	struct nc_run r;
	char web[128] = "", adm[128] = "", *b, *path;
	int p2 = free_port(), i;

	ready();
	ck_assert_int_eq(shq("mkdir -p ten/state && chmod 700 ten/state && cp -r '%s/examples/tenants' ten/spec && "
			     "printf 'source:\\n  directory: %s/ten/spec\\ncacheDir: %s/ten/cache\\nstateDir: %s/ten/state\\n"
			     "listen: 127.0.0.1:%d\\ntelemetry:\\n  enabled: false\\ntenancy:\\n  adminPaths: [admin]\\n' "
			     "> ten/serve.yaml", NC_SOURCE_DIR, tdir, tdir, tdir, p2), 0);
	nc_run_in(&r, tdir, "$NC token create w --role viewer --tenant web --state-dir ten/state | grep ^nc_ && "
		  "$NC token create a --role admin --state-dir ten/state | grep ^nc_");
	ck_assert_msg(sscanf(r.out, "%127s %127s", web, adm) == 2, "tokens: %s %s", r.out, r.err);
	nc_run_free(&r);
	ck_assert_int_eq(shq("($NC serve --config ten/serve.yaml >/dev/null 2>>ten/log & echo $! > pid2)"), 0);
	path = nc_xasprintf("-H 'Authorization: Bearer %s' http://127.0.0.1:%d/api/v1/cluster", adm, p2);
	for (i = 0; i < 150; i++) {
		b = req(path);
		if (strstr(b, "\"running\": 3"))
			break;
		free(b);
		b = NULL;
		usleep(200000);
	}
	free(path);
	ck_assert_msg(b != NULL, "the tenants' serve made no pass");
	HAS(b, "\"vms\": 3,");
	free(b);
#define AS(tok, p) (path = nc_xasprintf("-H 'Authorization: Bearer %s' 'http://127.0.0.1:%d%s'", tok, p2, p), \
		    b = req(path), free(path), b)
	b = AS(web, "/api/v1/vms");
	HAS(b, "\"total\": 2,");
	HAS(b, "{\"name\": \"web-1\", \"tenant\": \"web\"");
	HASNT(b, "db-1");
	free(b);
	b = AS(web, "/api/v1/vms/db-1");
	HAS(b, "{\"error\": \"no VM db-1\"}\n\nHTTP 404");
	free(b);
	b = AS(web, "/api/v1/vms/nothing-here");
	HAS(b, "{\"error\": \"no VM nothing-here\"}\n\nHTTP 404");
	free(b);
	b = AS(web, "/api/v1/cluster");
	HAS(b, "\"vms\": 2,");
	free(b);
	b = AS(web, "/api/v1/me");
	HAS(b, "\"role\": \"viewer\", \"tenants\": [\"web\"]");
	free(b);
	b = AS(web, "/api/v1/tenants");
	HAS(b, "\"name\": \"web\"");
	HASNT(b, "\"data\"");
	free(b);
	b = AS(web, "/api/v1/hosts");
	HAS(b, "\"kvm1\"");
	free(b);
	for (i = 1; i <= 2; i++) {
		char hp[32];

		snprintf(hp, sizeof(hp), "/api/v1/hosts/kvm%d", i);
		b = AS(web, hp);
		HAS(b, "HTTP 200");
		HASNT(b, "db-1");
		free(b);
	}
	b = AS(web, "/api/v1/events");
	HAS(b, "\"object\": \"web-1\"");
	HASNT(b, "\"object\": \"db-1\"");
	HAS(b, "\"type\": \"pass_finished\"");
	free(b);
	b = AS(web, "/api/v1/plan");
	HASNT(b, "db-1");
	free(b);
	b = AS(web, "/api/v1/backups?vm=db-1");
	HAS(b, "HTTP 404");
	free(b);
	b = AS(web, "/api/v1/audit");
	HAS(b, "HTTP 403");
	free(b);
	b = AS(adm, "/api/v1/vms");
	HAS(b, "\"total\": 3,");
	HAS(b, "{\"name\": \"db-1\", \"tenant\": \"data\"");
	free(b);
	b = AS(adm, "/api/v1/events");
	HAS(b, "\"object\": \"db-1\"");
	free(b);
	b = AS(adm, "/api/v1/audit");
	HAS(b, "HTTP 200");
	free(b);
#undef AS
	shq("kill $(cat pid2); rm -f pid2");
}
END_TEST

/* the audit log: JSON lines, private, read back after a restart, newest first, admins only,
 * no credentials of a URL in a path */
START_TEST(test_api_audit_kept)
{
	struct nc_audit *a;
	struct nc_principal admin, viewer;
	struct nc_err err = { "" };
	struct nc_buf b = NC_BUF_INIT;
	char *dir = nc_xasprintf("%s/auditdir", tdir), *log;
	struct stat st;
	int i;

	memset(&admin, 0, sizeof(admin));
	snprintf(admin.who, sizeof(admin.who), "token:boss");
	admin.role = NC_ROLE_ADMIN;
	admin.all_tenants = true;
	viewer = admin;
	viewer.role = NC_ROLE_VIEWER;
	ck_assert_int_eq(nc_audit_open(&a, dir, &err), 0);
	nc_audit_record(a, &admin, "10.0.0.7", "POST", "/api/v1/vms/web-1/backup", "web-1", 202, "ok");
	nc_audit_record(a, &admin, "10.0.0.7", "POST", "/api/v1/vms/http://u:secret@x/restore", NULL, 400, "bad name");
	nc_audit_close(a);
	log = nc_xasprintf("%s/audit/audit.log", dir);
	ck_assert_int_eq(stat(log, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* reopened (a restart): what was recorded is there, newest first */
	ck_assert_int_eq(nc_audit_open(&a, dir, &err), 0);
	for (i = 0; i < 3; i++)
		nc_audit_record(a, &viewer, "127.0.0.1", "POST", "/api/v1/sync", NULL, 403, "viewer");
	nc_audit_json(a, &admin, 10, &b);
	HAS(b.buf, "\"who\": \"token:boss\", \"role\": \"admin\", \"peer\": \"10.0.0.7\", \"method\": \"POST\", "
		   "\"path\": \"/api/v1/vms/web-1/backup\", \"target\": \"web-1\", \"code\": 202, \"result\": \"ok\"}\n]}");
	HASNT(b.buf, "secret");
	ck_assert(strstr(b.buf, "/api/v1/sync") && strstr(b.buf, "restore") &&
		  strstr(b.buf, "/api/v1/sync") < strstr(b.buf, "restore"));
	nc_buf_reset(&b);
	/* limit 4: the oldest left out */
	nc_audit_json(a, &admin, 4, &b);
	HASNT(b.buf, "web-1/backup");
	HAS(b.buf, "restore");
	nc_buf_reset(&b);
	nc_audit_json(a, &viewer, 10, &b);
	ck_assert_str_eq(b.buf, "{\"items\": []}\n");
	nc_audit_close(a);
	nc_buf_release(&b);
	free(log);
	free(dir);
}
END_TEST

/* attack: a torn last line of the audit log (serve killed mid-write, or a full disk) is closed
 * when serve starts and skipped when read back: the next entry is intact and GET /api/v1/audit
 * stays JSON; a write cut short by a full file takes its partial line back out */
static int audit_items(struct nc_audit *a, const struct nc_principal *p)
{
	struct nc_buf b = NC_BUF_INIT;
	struct json_object *o, *items;
	int n = -1;

	nc_audit_json(a, p, 100, &b);
	o = json_tokener_parse(b.buf);
	ck_assert_msg(o != NULL, "GET /api/v1/audit is not JSON: %s", b.buf);
	if (json_object_object_get_ex(o, "items", &items))
		n = (int)json_object_array_length(items);
	json_object_put(o);
	nc_buf_release(&b);
	return n;
}

START_TEST(test_api_audit_torn_line)
{
	struct nc_audit *a;
	struct nc_principal admin;
	struct nc_err err = { "" };
	char *dir = nc_xasprintf("%s/torn", tdir), *log = nc_xasprintf("%s/audit/audit.log", dir), *line;
	struct stat st;
	pid_t pid;
	int status;

	memset(&admin, 0, sizeof(admin));
	snprintf(admin.who, sizeof(admin.who), "token:boss");
	admin.role = NC_ROLE_ADMIN;
	admin.all_tenants = true;
	ck_assert_int_eq(shq("mkdir -p torn/audit && chmod 700 torn/audit && printf '%%s\\n%%s' "
			     "'{\"time\": \"2026-12-07T10:00:00.000Z\", \"who\": \"token:a\", \"code\": 202}' "
			     "'{\"time\": \"2026-12-07T10:00:01.000Z\", \"who\": \"tok' > torn/audit/audit.log && "
			     "chmod 600 torn/audit/audit.log"), 0);
	ck_assert_int_eq(nc_audit_open(&a, dir, &err), 0);
	ck_assert_int_eq(audit_items(a, &admin), 1);
	nc_audit_record(a, &admin, "127.0.0.1", "POST", "/api/v1/sync", NULL, 202, "ok");
	ck_assert_int_eq(audit_items(a, &admin), 2);
	nc_audit_close(a);
	/* a restart: the new entry is whole, the torn one skipped */
	ck_assert_int_eq(nc_audit_open(&a, dir, &err), 0);
	ck_assert_int_eq(audit_items(a, &admin), 2);
	ck_assert_int_eq(stat(log, &st), 0);
	/* a file that may not grow by a whole line (as a full disk): the partial write is taken back */
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { (rlim_t)st.st_size + 40, (rlim_t)st.st_size + 40 };

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		nc_audit_record(a, &admin, "127.0.0.1", "POST", "/api/v1/sync", NULL, 202, "cut short");
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	nc_audit_record(a, &admin, "127.0.0.1", "POST", "/api/v1/pause", NULL, 202, "after");
	nc_audit_close(a);
	ck_assert_int_eq(nc_audit_open(&a, dir, &err), 0);
	ck_assert_int_eq(audit_items(a, &admin), 3);
	nc_audit_close(a);
	ck_assert_int_eq(nc_read_file(log, 1 << 20, &line, NULL), 0);
	HASNT(line, "cut short");
	HAS(line, "\"path\": \"/api/v1/pause\"");
	free(line);
	free(log);
	free(dir);
}
END_TEST

/* attack: an admin scoped to one tenant may not read the audit log: it names every tenant's VMs
 * and who acted on them (another tenant's objects are never revealed) */
START_TEST(test_api_audit_scoped_admin)
{
	struct nc_audit *a;
	struct nc_principal admin, scoped;
	struct nc_err err = { "" };
	struct nc_buf b = NC_BUF_INIT;
	char *dir = nc_xasprintf("%s/scoped", tdir);

	memset(&admin, 0, sizeof(admin));
	snprintf(admin.who, sizeof(admin.who), "token:boss");
	admin.role = NC_ROLE_ADMIN;
	admin.all_tenants = true;
	scoped = admin;
	scoped.all_tenants = false;
	snprintf(scoped.tenants[0], sizeof(scoped.tenants[0]), "web");
	scoped.ntenants = 1;
	ck_assert_int_eq(nc_audit_open(&a, dir, &err), 0);
	nc_audit_record(a, &admin, "10.0.0.7", "POST", "/api/v1/vms/db-1/backup", "db-1", 202, "ok");
	nc_audit_json(a, &scoped, 10, &b);
	HASNT(b.buf, "db-1");
	ck_assert_str_eq(b.buf, "{\"items\": []}\n");
	nc_buf_reset(&b);
	nc_audit_json(a, &admin, 10, &b);
	HAS(b.buf, "db-1");
	nc_audit_close(a);
	nc_buf_release(&b);
	free(dir);
}
END_TEST

/* graphs: serve on the tenants' sim hosts with telemetry every second; once a round is written,
 * a VM's and a host's graph is a PNG (image/png, the signature), the metric list names the
 * catalogue's metrics; an unknown metric or another tenant's VM is 404, a range off the list
 * 400; the suite's serve (telemetry disabled) answers 404 saying there is no history */
START_TEST(test_api_graphs)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	struct nc_run r;
	char web[128] = "", wh[200], *b = NULL, *path, *png;
	int p2 = free_port(), i;
	size_t len;

	ready();
	b = get("/api/v1/vms/db-1/graphs/cpu_usage.png");
	HAS(b, "{\"error\": \"no history for vm db-1: telemetry is disabled");
	HAS(b, "\nHTTP 404");
	free(b);
	b = get("/api/v1/vms/db-1/graphs");
	HAS(b, "{\"items\": [], \"ranges\": [\"1h\", \"6h\", \"24h\", \"7d\", \"30d\"], \"history\": false");
	free(b);
	ck_assert_int_eq(shq("mkdir -p gr/state && chmod 700 gr/state && cp -r '%s/examples/tenants' gr/spec && "
			     "printf 'source:\\n  directory: %s/gr/spec\\ncacheDir: %s/gr/cache\\nstateDir: %s/gr/state\\n"
			     "listen: 127.0.0.1:%d\\ntelemetry:\\n  interval: 1s\\ntenancy:\\n  adminPaths: [admin]\\n"
			     "api:\\n  anonymous: viewer\\n' > gr/serve.yaml", NC_SOURCE_DIR, tdir, tdir, tdir, p2), 0);
	nc_run_in(&r, tdir, "$NC token create w --role viewer --tenant web --state-dir gr/state | grep ^nc_");
	ck_assert_msg(sscanf(r.out, "%127s", web) == 1, "token: %s %s", r.out, r.err);
	nc_run_free(&r);
	ck_assert_int_eq(shq("($NC serve --config gr/serve.yaml >/dev/null 2>>gr/log & echo $! > pid2)"), 0);
	snprintf(wh, sizeof(wh), "-H 'Authorization: Bearer %s' ", web);
#define AS(h, p) (path = nc_xasprintf("%s'http://127.0.0.1:%d%s'", h, p2, p), b = req(path), free(path), b)
	for (i = 0; i < 150; i++) {
		b = AS("", "/api/v1/vms/db-1/graphs");
		if (strstr(b, "\"history\": true"))
			break;
		free(b);
		b = NULL;
		usleep(200000);
	}
	ck_assert_msg(b != NULL, "no history for db-1 after 30 s");
	HAS(b, "{\"metric\": \"cpu_usage\", \"unit\": \"ratio\", \"title\": ");
	HAS(b, "{\"metric\": \"network_receive_bytes_per_second\", \"unit\": \"bytes/s\"");
	free(b);
	nc_run_in(&r, tdir, "curl -s --max-time 20 -o gr/g.png -w '%%{http_code} %%{content_type}' "
		  "'http://127.0.0.1:%d/api/v1/vms/db-1/graphs/cpu_usage.png?since=1h'", p2);
	ck_assert_str_eq(r.out, "200 image/png");
	nc_run_free(&r);
	path = nc_xasprintf("%s/gr/g.png", tdir);
	png = NULL;
	len = 0;
	ck_assert_int_eq(nc_read_file(path, 1 << 20, &png, &len), 0);
	free(path);
	ck_assert_msg(len > 1000 && memcmp(png, sig, 8) == 0, "not a PNG (%zu bytes)", png ? len : 0);
	free(png);
	nc_run_in(&r, tdir, "curl -s --max-time 20 -o /dev/null -w '%%{http_code} %%{content_type}' "
		  "'http://127.0.0.1:%d/api/v1/hosts/kvm1/graphs/memory_used_ratio.png?since=7d&width=300&height=120'", p2);
	ck_assert_str_eq(r.out, "200 image/png");
	nc_run_free(&r);
	b = AS("", "/api/v1/vms/db-1/graphs/no_such_metric.png");
	HAS(b, "{\"error\": \"no vm metric no_such_metric");
	HAS(b, "\nHTTP 404");
	free(b);
	b = AS("", "/api/v1/hosts/kvm1/graphs/cpu_usage.png?since=2h");
	HAS(b, "{\"error\": \"since must be one of 1h, 6h, 24h, 7d, 30d\"}\n\nHTTP 400");
	free(b);
	b = AS("", "/api/v1/vms/db-1/graphs/cpu_usage.png?width=100000");
	HAS(b, "\nHTTP 400");
	free(b);
	/* sizes in steps only: a new image per pixel would keep serve's HTTP thread drawing */
	b = AS("", "/api/v1/vms/db-1/graphs/cpu_usage.png?width=601");
	HAS(b, "{\"error\": \"width must be a number of pixels from 200 to 1200 in steps of 100\"}\n\nHTTP 400");
	free(b);
	b = AS("", "/api/v1/vms/db-1/graphs/cpu_usage.png?height=161");
	HAS(b, "in steps of 40\"}\n\nHTTP 400");
	free(b);
	b = AS("", "/api/v1/vms/..%2f..%2fetc/graphs/cpu_usage.png");
	HAS(b, "\nHTTP 404");
	free(b);
	/* tenant web: its VM's graphs, not data's (404 as for the VM itself) */
	nc_run_in(&r, tdir, "curl -s --max-time 20 -o /dev/null -w '%%{http_code} %%{content_type}' -H "
		  "'Authorization: Bearer %s' 'http://127.0.0.1:%d/api/v1/vms/web-1/graphs/cpu_usage.png'", web, p2);
	ck_assert_str_eq(r.out, "200 image/png");
	nc_run_free(&r);
	b = AS(wh, "/api/v1/vms/db-1/graphs/cpu_usage.png");
	HAS(b, "{\"error\": \"no VM db-1\"}\n\nHTTP 404");
	free(b);
	b = AS(wh, "/api/v1/vms/db-1/graphs");
	HAS(b, "{\"error\": \"no VM db-1\"}\n\nHTTP 404");
	free(b);
#undef AS
	shq("kill $(cat pid2); rm -f pid2");
}
END_TEST

/* attack: a principal scoped to a tenant counts the VMs on each host: the host list's "vms" is the
 * number of its own there (as GET /api/v1/hosts/NAME lists them), never other tenants' */
START_TEST(test_api_scoped_host_counts)
{
	struct nc_run r;
	char web[128] = "", adm[128] = "", *b, *path;
	struct json_object *o, *items;
	int p2 = free_port(), i, others = 0;
	size_t k;

	ck_assert_int_eq(shq("rm -rf hc && mkdir -p hc/state && chmod 700 hc/state && cp -r '%s/examples/tenants' hc/spec && "
			     "printf 'source:\\n  directory: %s/hc/spec\\ncacheDir: %s/hc/cache\\nstateDir: %s/hc/state\\n"
			     "listen: 127.0.0.1:%d\\ntelemetry:\\n  enabled: false\\ntenancy:\\n  adminPaths: [admin]\\n' "
			     "> hc/serve.yaml", NC_SOURCE_DIR, tdir, tdir, tdir, p2), 0);
	nc_run_in(&r, tdir, "$NC token create w --role viewer --tenant web --state-dir hc/state | grep ^nc_ && "
		  "$NC token create a --role admin --state-dir hc/state | grep ^nc_");
	ck_assert_msg(sscanf(r.out, "%127s %127s", web, adm) == 2, "tokens: %s %s", r.out, r.err);
	nc_run_free(&r);
	ck_assert_int_eq(shq("($NC serve --config hc/serve.yaml >/dev/null 2>>hc/log & echo $! > pid2)"), 0);
	path = nc_xasprintf("-H 'Authorization: Bearer %s' http://127.0.0.1:%d/api/v1/cluster", adm, p2);
	for (i = 0, b = NULL; i < 150; i++) {
		b = req(path);
		if (strstr(b, "\"running\": 3"))
			break;
		free(b);
		b = NULL;
		usleep(200000);
	}
	free(path);
	ck_assert_msg(b != NULL, "the tenants' serve made no pass");
	free(b);
	path = nc_xasprintf("-H 'Authorization: Bearer %s' http://127.0.0.1:%d/api/v1/hosts", web, p2);
	b = req(path);
	free(path);
	*strstr(b, "\nHTTP ") = '\0';
	o = json_tokener_parse(b);
	ck_assert_msg(o && json_object_object_get_ex(o, "items", &items), "hosts: %s", b);
	for (k = 0; k < json_object_array_length(items); k++) {
		struct json_object *h = json_object_array_get_idx(items, k), *v, *n, *one, *list;
		char *hb;

		ck_assert(json_object_object_get_ex(h, "name", &n) && json_object_object_get_ex(h, "vms", &v));
		path = nc_xasprintf("-H 'Authorization: Bearer %s' http://127.0.0.1:%d/api/v1/hosts/%s", web, p2,
				    json_object_get_string(n));
		hb = req(path);
		free(path);
		*strstr(hb, "\nHTTP ") = '\0';
		one = json_tokener_parse(hb);
		ck_assert_msg(one && json_object_object_get_ex(one, "vms", &list), "host: %s", hb);
		ck_assert_msg(json_object_get_int(v) == (int)json_object_array_length(list),
			      "host %s: the list counts %d VMs, the web tenant has %zu there: %s",
			      json_object_get_string(n), json_object_get_int(v), json_object_array_length(list), b);
		json_object_put(one);
		free(hb);
	}
	json_object_put(o);
	free(b);
	/* and the admin's counts hold the data tenant's VM */
	path = nc_xasprintf("-H 'Authorization: Bearer %s' http://127.0.0.1:%d/api/v1/hosts", adm, p2);
	b = req(path);
	free(path);
	*strstr(b, "\nHTTP ") = '\0';
	o = json_tokener_parse(b);
	ck_assert(o && json_object_object_get_ex(o, "items", &items));
	for (k = 0; k < json_object_array_length(items); k++) {
		struct json_object *v;

		ck_assert(json_object_object_get_ex(json_object_array_get_idx(items, k), "vms", &v));
		others += json_object_get_int(v);
	}
	ck_assert_int_eq(others, 3);
	json_object_put(o);
	free(b);
	shq("kill $(cat pid2); rm -f pid2");
}
END_TEST

/* a newest revision that is refused shows in /api/v1/cluster with its error (the one in force
 * stays), and is gone once a good one follows */
START_TEST(test_api_cluster_invalid_revision)
{
	char *b;

	ready();
	ck_assert_int_eq(shq("cp spec/vms/db.yaml db.keep && printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\n"
			     "metadata: {name: broken}\\nspec: {vcpus: many}\\n' >> spec/vms/db.yaml"), 0);
	b = wait_for("/api/v1/cluster", "\"invalid\": {\"id\": \"dir:", 30);
	HAS(b, "db.yaml");
	HAS(b, "\"running\": 9");
	free(b);
	ck_assert_int_eq(shq("cp db.keep spec/vms/db.yaml"), 0);
	free(wait_for("/api/v1/cluster", "\"invalid\": null", 30));
}
END_TEST

/* attack: POSTs without credentials, each with a 30 KB path, wrote 9 MB/s of fsync'd audit log
 * from one connection (the log is never rotated): a disk filled by anyone who reaches the port.
 * Paths are cut, refusals of unidentified callers are recorded at most 20 per 10 s, then counted */
START_TEST(test_api_audit_flood)
{
	struct nc_audit *a;
	struct nc_principal admin, anon;
	struct nc_err err = { "" };
	char *dir = nc_xasprintf("%s/flood", tdir), *log = nc_xasprintf("%s/audit/audit.log", dir), *path, *text;
	struct stat st;
	int i;

	memset(&admin, 0, sizeof(admin));
	snprintf(admin.who, sizeof(admin.who), "token:boss");
	admin.role = NC_ROLE_ADMIN;
	admin.all_tenants = true;
	memset(&anon, 0, sizeof(anon));
	snprintf(anon.who, sizeof(anon.who), "anonymous");
	path = nc_xmalloc(30001);
	memcpy(path, "/api/v1/sync/", 13);
	memset(path + 13, 'A', 30000 - 13);
	path[30000] = '\0';
	ck_assert_int_eq(nc_audit_open(&a, dir, &err), 0);
	for (i = 0; i < 200; i++)
		nc_audit_record(a, &anon, "10.9.9.9", "POST", path, NULL, 401, "authentication required");
	nc_audit_record(a, &admin, "10.0.0.7", "POST", "/api/v1/pause", NULL, 202, "ok");
	nc_audit_close(a);
	ck_assert_int_eq(stat(log, &st), 0);
	ck_assert_msg(st.st_size < 40 * 1024, "200 refusals without credentials wrote %lld bytes", (long long)st.st_size);
	ck_assert_int_eq(nc_read_file(log, 1 << 20, &text, NULL), 0);
	HAS(text, "\"path\": \"/api/v1/pause\"");
	HAS(text, "180 more refused writes");
	free(text);
	free(path);
	free(log);
	free(dir);
}
END_TEST

/* attack: markup in the spec and in a URL comes back as \u escapes, as every string of the API
 * does: the refused revision's error in /api/v1/cluster quoted a label value raw, and so did
 * error answers quoting the path */
START_TEST(test_api_markup_in_errors)
{
	char *b;

	ready();
	ck_assert_int_eq(shq("cp spec/vms/db.yaml db.keep2 && printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\n"
			     "metadata: {name: marked, labels: {x: \"<b>bold</b>\"}}\\nspec: {vcpus: 1}\\n' >> spec/vms/db.yaml"), 0);
	b = wait_for("/api/v1/cluster", "\"invalid\": {\"id\": \"dir:", 30);
	HAS(b, "\\u003cb\\u003ebold");
	HASNT(b, "<b>");
	free(b);
	ck_assert_int_eq(shq("cp db.keep2 spec/vms/db.yaml"), 0);
	free(wait_for("/api/v1/cluster", "\"invalid\": null", 30));
	b = get("/api/v1/%3Cb%3Ehere");
	HAS(b, "HTTP 404");
	HAS(b, "\\u003cb\\u003ehere");
	HASNT(b, "<b>");
	free(b);
}
END_TEST

/* event ids of a new serve are above those of the one before: a client resuming with an old
 * Last-Event-ID gets the new run's events, it does not wait for the ids to count up to it */
START_TEST(test_api_event_ids_across_restarts)
{
	struct nc_events *e1 = nc_events_new(16), *e2;
	uint64_t last1, first2;
	int i;

	for (i = 0; i < 10; i++)
		nc_events_publish(e1, "action", "vm", NULL, NC_EV_ALL, "step %d", i);
	last1 = nc_events_last(e1);
	usleep(2000);
	e2 = nc_events_new(16);
	first2 = nc_events_publish(e2, "pass_started", "rev", NULL, NC_EV_ALL, "pass 1");
	ck_assert_uint_gt(first2, last1);
	ck_assert_uint_lt(first2, (uint64_t)1 << 53);
	nc_events_free(e1);
	nc_events_free(e2);
}
END_TEST

Suite *nc_suite_api(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("serve");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_api_get_each_endpoint);
	tcase_add_test(tc, test_api_vms_pages_and_filters);
	tcase_add_test(tc, test_api_not_found);
	tcase_add_test(tc, test_api_markup_escaped);
	tcase_add_test(tc, test_api_oversized_and_refused_writes);
	tcase_add_test(tc, test_api_event_stream);
	tcase_add_test(tc, test_api_needs_credentials);
	tcase_add_test(tc, test_api_tenant_filtering);
	tcase_add_test(tc, test_api_audit_kept);
	tcase_add_test(tc, test_api_audit_torn_line);
	tcase_add_test(tc, test_api_audit_scoped_admin);
	tcase_add_test(tc, test_api_scoped_host_counts);
	tcase_add_test(tc, test_api_audit_flood);
	tcase_add_test(tc, test_api_markup_in_errors);
	tcase_add_test(tc, test_api_graphs);
	tcase_add_test(tc, test_api_cluster_invalid_revision);
	tcase_add_test(tc, test_api_event_ids_across_restarts);
	suite_add_tcase(s, tc);
	return s;
}
