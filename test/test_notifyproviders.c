/*
 * test_notifyproviders.c - notification providers and serve's log, for real:
 * `novacron serve --once` on sim:// hosts posts to a real HTTP receiver in
 * this process (libmicrohttpd) standing in for a generic webhook, Slack,
 * Mattermost, Teams, GitHub's and GitLab's status APIs; every body is parsed
 * with json-c, the headers (tokens, the HMAC signature) and the retries
 * checked; the log (text and JSON lines) is read back.
 */
#include <check.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

static char tdir[64];

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

/*
 * Check runs no checked teardown after a failed test: each test's directory
 * is also listed in a registry that the unchecked teardown (in the runner
 * process, after every test) removes.
 */
static char registry[64];

static void registry_setup(void)
{
	int fd;

	snprintf(registry, sizeof(registry), "/tmp/nc-notify-registry-XXXXXX");
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
			if (strncmp(line, "/tmp/nc-notify-", 15) == 0)
				nc_run_inq("/", "rm -rf '%s'", line);
		free(buf);
	}
	unlink(registry);
}

static void setup(void)
{
	FILE *f;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-notify-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	f = fopen(registry, "a");
	if (f) {
		fprintf(f, "%s\n", tdir);
		fclose(f);
	}
}

static void teardown(void)
{
	nc_run_inq("/", "rm -rf '%s'", tdir);
}

/* ---- the receiver: every request kept (path, query, the headers that matter, body) ---- */
struct req {
	char *path, *query_state, *query_name, *query_desc, *auth, *private_token, *signature, *agent, *body;
};
#define MAX_REQS 64
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct req reqs[MAX_REQS];
static size_t nreqs;
static int flaky_left;           /* /flaky answers 500 this many times first */

struct conn {
	struct nc_buf body;
};

static char *dup_or_null(const char *s)
{
	return s ? nc_xstrdup(s) : NULL;
}

static enum MHD_Result receive(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload, size_t *size, void **state)
{
	struct conn *k = *state;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned code = MHD_HTTP_OK;

	(void)cls;
	(void)method;
	(void)version;
	if (!k) {
		k = nc_xcalloc(1, sizeof(*k));
		*state = k;
		return MHD_YES;
	}
	if (*size) {
		nc_buf_add(&k->body, upload, *size);
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&mu);
	if (nreqs < MAX_REQS) {
		struct req *r = &reqs[nreqs++];

		r->path = nc_xstrdup(url);
		r->query_state = dup_or_null(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state"));
		r->query_name = dup_or_null(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name"));
		r->query_desc = dup_or_null(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "description"));
		r->auth = dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
		r->private_token = dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "PRIVATE-TOKEN"));
		r->signature = dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-NovaCron-Signature"));
		r->agent = dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent"));
		r->body = nc_xstrdup(k->body.buf ? k->body.buf : "");
	}
	if (strcmp(url, "/flaky") == 0 && flaky_left > 0) {
		flaky_left--;
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else if (strcmp(url, "/refuse") == 0) {
		code = MHD_HTTP_UNAUTHORIZED;
	}
	pthread_mutex_unlock(&mu);
	resp = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode tc)
{
	struct conn *k = *state;

	(void)cls;
	(void)c;
	(void)tc;
	if (k) {
		nc_buf_release(&k->body);
		free(k);
		*state = NULL;
	}
}

static void reqs_reset(void)
{
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < nreqs; i++) {
		free(reqs[i].path);
		free(reqs[i].query_state);
		free(reqs[i].query_name);
		free(reqs[i].query_desc);
		free(reqs[i].auth);
		free(reqs[i].private_token);
		free(reqs[i].signature);
		free(reqs[i].agent);
		free(reqs[i].body);
	}
	memset(reqs, 0, sizeof(reqs));
	nreqs = 0;
	pthread_mutex_unlock(&mu);
}

static struct MHD_Daemon *receiver(int *port)
{
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, receive, NULL,
						MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
						MHD_OPTION_END);
	const union MHD_DaemonInfo *info;

	ck_assert_ptr_nonnull(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*port = info->port;
	reqs_reset();
	return d;
}

/* the requests to path, in order of arrival (at most max) */
static size_t find(const char *path, const struct req **out, size_t max)
{
	size_t i, n = 0;

	pthread_mutex_lock(&mu);
	for (i = 0; i < nreqs && n < max; i++)
		if (strcmp(reqs[i].path, path) == 0)
			out[n++] = &reqs[i];
	pthread_mutex_unlock(&mu);
	return n;
}

static struct json_object *parse(const char *body)
{
	struct json_object *o = json_tokener_parse(body);

	ck_assert_msg(o != NULL, "not JSON: %s", body);
	return o;
}

static const char *jget(struct json_object *o, const char *path)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, path, &v), "no '%s' in %s", path, json_object_to_json_string(o));
	return v ? json_object_get_string(v) : NULL;
}

static int64_t jint(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = NULL, *w = NULL;

	ck_assert(json_object_object_get_ex(o, a, &v));
	if (b)
		ck_assert_msg(json_object_object_get_ex(v, b, &w), "no '%s.%s'", a, b);
	return json_object_get_int64(b ? w : v);
}

/* ---- a serve on three sim:// hosts, once ---- */
static void write_config(const char *source, const char *extra)
{
	ck_assert_int_eq(shq("printf -- 'source:\\n%s\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
			     "listen: 127.0.0.1:0\\n%s' > serve.yaml", source, tdir, tdir, extra), 0);
}

/* the revision id the log gave the pass ("applying N actions of ID") */
static char *applied_id(const char *log)
{
	const char *p = strstr(log, "actions of ");

	ck_assert_msg(p != NULL, "no pass in:\n%.3000s", log);
	p += strlen("actions of ");
	return nc_xstrndup(p, strcspn(p, "\n \""));
}

/*
 * One pass that applies the quickstart cluster: a generic target (a Bearer
 * token and an HMAC signature), Slack, Mattermost, Teams, a target that
 * answers 500 once (retried) and one that answers 401 (not retried); then a
 * refused revision whose error quotes a name made to ping and link.
 */
START_TEST(test_notify_chat_and_generic_bodies)
{
	struct nc_run r;
	struct MHD_Daemon *d;
	const struct req *got[8];
	struct json_object *o, *v = NULL, *att;
	unsigned char md[32];
	unsigned int mdlen = 0, i;
	char *extra, *cfg, *rev, hex[65], *want;
	int port;

	d = receiver(&port);
	flaky_left = 1;
	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && umask 077 && "
			     "printf 'tok-3f9a1c7e5b2d4f60\\n' > token && printf 'hmac-key-77c1e0d2a9\\n' > secret",
			     NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	extra = nc_xasprintf("notify:\\n"
			     "  - url: http://127.0.0.1:%d/generic\\n    events: [applied, invalid]\\n"
			     "    tokenFile: %s/token\\n    secretFile: %s/secret\\n"
			     "  - url: http://127.0.0.1:%d/services/T0/B0/slackhookkey42\\n    type: slack\\n"
			     "    events: [applied, invalid]\\n"
			     "  - url: http://127.0.0.1:%d/mm\\n    type: mattermost\\n    events: [applied, invalid]\\n"
			     "  - url: http://127.0.0.1:%d/teams\\n    type: teams\\n    events: [applied, invalid]\\n"
			     "  - url: http://127.0.0.1:%d/flaky\\n    events: [applied]\\n"
			     "  - url: http://127.0.0.1:%d/refuse\\n    format: generic\\n    events: [applied]\\n",
			     port, tdir, tdir, port, port, port, port, port);
	write_config(cfg, extra);
	free(cfg);
	free(extra);
	/* a failure shows the sanitizer's report, if any, else the log's start */
	ck_assert_msg(sh(&r, "$NC serve --config serve.yaml --once -v") == 0, "serve failed:\n%.3000s",
		      strstr(r.err, "ERROR") ? strstr(r.err, "ERROR") : r.err);
	rev = applied_id(r.err);
	/* no secret in the log: the token, the key, a webhook's key in its path */
	HASNT(r.err, "tok-3f9a1c7e5b2d4f60");
	HASNT(r.err, "hmac-key-77c1e0d2a9");
	HASNT(r.err, "slackhookkey42");
	HAS(r.err, "notify[1] (slack, http://127.0.0.1:");
	HAS(r.err, "notify[5] (generic, http://127.0.0.1:");
	HAS(r.err, "refused: HTTP 401\n");
	nc_run_free(&r);

	/* generic: the documented shape, the Bearer token, the signature over the exact body */
	ck_assert_uint_eq(find("/generic", got, 8), 1);
	o = parse(got[0]->body);
	ck_assert_int_eq(jint(o, "format_version", NULL), 1);
	ck_assert_str_eq(jget(o, "event"), "applied");
	ck_assert_str_eq(jget(o, "revision"), rev);
	ck_assert_int_eq(jint(o, "pass", NULL), 1);
	ck_assert_int_eq(jint(o, "details", "actions"), 16);
	ck_assert_int_eq(jint(o, "details", "done"), 16);
	ck_assert_int_eq(jint(o, "details", "failed"), 0);
	ck_assert_str_eq(jget(o, "message"), "the cluster now matches the spec");
	HAS(jget(o, "summary"), "NovaCron applied at revision dir:");
	ck_assert(jint(o, "time", NULL) > 1700000000);
	HAS(jget(o, "source"), "/spec");
	json_object_put(o);
	ck_assert_str_eq(got[0]->auth, "Bearer tok-3f9a1c7e5b2d4f60");
	ck_assert(HMAC(EVP_sha256(), "hmac-key-77c1e0d2a9", 19, (const unsigned char *)got[0]->body,
		       strlen(got[0]->body), md, &mdlen) != NULL);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	want = nc_xasprintf("sha256=%s", hex);
	ck_assert_ptr_nonnull(got[0]->signature);
	ck_assert_str_eq(got[0]->signature, want);
	free(want);

	/* Slack and Mattermost: {"text": ...} */
	ck_assert_uint_eq(find("/services/T0/B0/slackhookkey42", got, 8), 1);
	o = parse(got[0]->body);
	HAS(jget(o, "text"), "NovaCron applied at revision dir:");
	HAS(jget(o, "text"), "(pass 1): the cluster now matches the spec");
	ck_assert_ptr_null(got[0]->auth);
	ck_assert_ptr_null(got[0]->signature);
	json_object_put(o);
	ck_assert_uint_eq(find("/mm", got, 8), 1);
	o = parse(got[0]->body);
	HAS(jget(o, "text"), "NovaCron applied at revision dir:");
	json_object_put(o);

	/* Teams: a message with one Adaptive Card */
	ck_assert_uint_eq(find("/teams", got, 8), 1);
	o = parse(got[0]->body);
	ck_assert_str_eq(jget(o, "type"), "message");
	ck_assert(json_object_object_get_ex(o, "attachments", &v));
	ck_assert_int_eq((int)json_object_array_length(v), 1);
	att = json_object_array_get_idx(v, 0);
	ck_assert_str_eq(jget(att, "contentType"), "application/vnd.microsoft.card.adaptive");
	ck_assert(json_object_object_get_ex(att, "content", &v));
	ck_assert_str_eq(jget(v, "type"), "AdaptiveCard");
	ck_assert_str_eq(jget(v, "version"), "1.4");
	ck_assert(json_object_object_get_ex(v, "body", &v));
	ck_assert_str_eq(jget(json_object_array_get_idx(v, 0), "text"), "NovaCron: applied");
	HAS(json_object_to_json_string(v), "the cluster now matches the spec");
	json_object_put(o);

	/* a 500 is tried again, a 401 is not */
	ck_assert_uint_eq(find("/flaky", got, 8), 2);
	ck_assert_str_eq(got[0]->body, got[1]->body);
	ck_assert_uint_eq(find("/refuse", got, 8), 1);

	/* a refused revision: its error quotes a name made to ping everyone and hide a link */
	reqs_reset();
	ck_assert_int_eq(shq("printf 'apiVersion: novacron.io/v1\\nkind: VM\\nmetadata:\\n  name: \"@channel <!here> "
			     "[x](http://evil.example)\"\\nspec:\\n  template: base\\n' > spec/evil.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC serve --config serve.yaml --once"), 1);
	nc_run_free(&r);
	ck_assert_uint_eq(find("/services/T0/B0/slackhookkey42", got, 8), 1);
	o = parse(got[0]->body);
	HAS(jget(o, "text"), "NovaCron invalid at revision dir:");
	HAS(jget(o, "text"), "&lt;!here&gt;");
	HASNT(jget(o, "text"), "<!here>");
	json_object_put(o);
	ck_assert_uint_eq(find("/mm", got, 8), 1);
	o = parse(got[0]->body);
	HAS(jget(o, "text"), "@\xe2\x80\x8b" "channel");
	HAS(jget(o, "text"), "\\[x\\]\\(http://evil.example\\)");
	HASNT(jget(o, "text"), "[x](http");
	json_object_put(o);
	ck_assert_uint_eq(find("/generic", got, 8), 1);
	o = parse(got[0]->body);
	ck_assert_str_eq(jget(o, "event"), "invalid");
	HAS(jget(o, "message"), "evil.yaml:");
	ck_assert(jint(o, "details", "errors") >= 1);
	HAS(json_object_to_json_string(o), "first_error");
	json_object_put(o);
	ck_assert_uint_eq(find("/teams", got, 8), 1);
	o = parse(got[0]->body);
	HAS(got[0]->body, "\"TextRun\"");
	HAS(got[0]->body, "\"Attention\"");
	json_object_put(o);
	free(rev);
	reqs_reset();
	MHD_stop_daemon(d);
}
END_TEST

/*
 * Commit statuses for a real git source: the applied revision gets pending,
 * then success, at GitHub's and GitLab's paths with their tokens; a revision
 * that does not validate gets failure (GitLab: failed) with its first error.
 */
START_TEST(test_notify_commit_status)
{
	struct nc_run r;
	struct MHD_Daemon *d;
	const struct req *got[8];
	struct json_object *o;
	char *extra, *cfg, sha[64], *path, *glpath;
	int port;

	d = receiver(&port);
	ck_assert_int_eq(shq("git init -q --bare -b main remote.git && git init -q -b main work && "
			     "cp -r '%s/examples/quickstart' work/cluster && cd work && git add -A && "
			     "git commit -q -m 'quickstart cluster' && git remote add origin ../remote.git && "
			     "git push -q origin main && cd .. && umask 077 && printf 'glpat-0123456789abcdef\\n' > gltoken",
			     NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  git:\\n    url: file://%s/remote.git\\n    ref: main\\n    path: cluster", tdir);
	extra = nc_xasprintf("notify:\\n"
			     "  - type: github-status\\n    url: http://127.0.0.1:%d/api/v3\\n    repository: acme/cluster\\n"
			     "    tokenEnv: NC_TEST_GH_TOKEN\\n    name: prod\\n    targetUrl: https://novacron.example/\\n"
			     "  - type: gitlab-status\\n    url: http://127.0.0.1:%d/gl/api/v4/\\n    repository: ops/cluster\\n"
			     "    tokenFile: %s/gltoken\\n", port, port, tdir);
	write_config(cfg, extra);
	free(cfg);
	free(extra);
	ck_assert_int_eq(sh(&r, "NC_TEST_GH_TOKEN=ghp_secret0123456789 $NC serve --config serve.yaml --once"), 0);
	HASNT(r.err, "ghp_secret0123456789");
	HASNT(r.err, "glpat-0123456789abcdef");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "git -C work rev-parse HEAD"), 0);
	snprintf(sha, sizeof(sha), "%.40s", r.out);
	nc_run_free(&r);

	path = nc_xasprintf("/api/v3/repos/acme/cluster/statuses/%s", sha);
	ck_assert_uint_eq(find(path, got, 8), 2);
	o = parse(got[0]->body);
	ck_assert_str_eq(jget(o, "state"), "pending");
	ck_assert_str_eq(jget(o, "context"), "novacron/prod");
	ck_assert_str_eq(jget(o, "target_url"), "https://novacron.example/");
	json_object_put(o);
	o = parse(got[1]->body);
	ck_assert_str_eq(jget(o, "state"), "success");
	HAS(jget(o, "description"), "applied: 16 actions done");
	ck_assert(strlen(jget(o, "description")) <= 140);
	json_object_put(o);
	ck_assert_str_eq(got[1]->auth, "Bearer ghp_secret0123456789");
	HAS(got[1]->agent, "novacron");
	/* GitLab: the project's path escaped in the URL, the values in the query */
	glpath = nc_xasprintf("/gl/api/v4/projects/ops%%2Fcluster/statuses/%s", sha);
	if (find(glpath, got, 8) == 0) {
		free(glpath);       /* libmicrohttpd may give the path unescaped */
		glpath = nc_xasprintf("/gl/api/v4/projects/ops/cluster/statuses/%s", sha);
	}
	ck_assert_uint_eq(find(glpath, got, 8), 2);
	ck_assert_str_eq(got[0]->query_state, "running");
	ck_assert_str_eq(got[1]->query_state, "success");
	ck_assert_str_eq(got[1]->query_name, "novacron/apply");
	ck_assert_str_eq(got[1]->private_token, "glpat-0123456789abcdef");
	ck_assert_ptr_null(got[1]->auth);
	free(path);
	free(glpath);

	/* a commit that does not validate: failure, with its first error */
	reqs_reset();
	ck_assert_int_eq(shq("cd work && sed -i 's/  vcpus: 4/  vcpus: 0/' cluster/vms/db.yaml && "
			     "git commit -q -am 'break db-1' && git push -q origin main"), 0);
	ck_assert_int_eq(sh(&r, "NC_TEST_GH_TOKEN=ghp_secret0123456789 $NC serve --config serve.yaml --once"), 1);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "git -C work rev-parse HEAD"), 0);
	snprintf(sha, sizeof(sha), "%.40s", r.out);
	nc_run_free(&r);
	path = nc_xasprintf("/api/v3/repos/acme/cluster/statuses/%s", sha);
	ck_assert_uint_eq(find(path, got, 8), 1);
	o = parse(got[0]->body);
	ck_assert_str_eq(jget(o, "state"), "failure");
	HAS(jget(o, "description"), "vms/db.yaml:11:10: 'vcpus' must be at least 1, found 0");
	json_object_put(o);
	free(path);
	pthread_mutex_lock(&mu);
	ck_assert_uint_eq(nreqs, 2);
	ck_assert_str_eq(reqs[0].path[1] == 'g' ? reqs[0].query_state : reqs[1].query_state, "failed");
	pthread_mutex_unlock(&mu);
	reqs_reset();
	MHD_stop_daemon(d);
}
END_TEST

/* keys of a JSON log line; pass lines carry the revision and the pass */
static void check_json_lines(const char *err, bool want_info, int *pass_lines)
{
	char *copy = nc_xstrdup(err), *line, *save = NULL;
	int n = 0;

	*pass_lines = 0;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line), *v;
		const char *msg, *level;

		ck_assert_msg(o != NULL, "not JSON: %s", line);
		ck_assert(json_object_object_get_ex(o, "time", &v));
		ck_assert_int_eq((int)strlen(json_object_get_string(v)), 24);      /* 2026-12-07T17:34:19.123Z */
		ck_assert(json_object_object_get_ex(o, "level", &v));
		level = json_object_get_string(v);
		ck_assert_msg(want_info || strcmp(level, "info") != 0, "an info line at --log-level warn: %s", line);
		ck_assert(json_object_object_get_ex(o, "msg", &v));
		msg = json_object_get_string(v);
		ck_assert(json_object_object_get_ex(o, "revision", &v));
		ck_assert(json_object_object_get_ex(o, "pass", &v));
		if (strncmp(msg, "applying ", 9) == 0 || strncmp(msg, "pass on ", 8) == 0 ||
		    strncmp(msg, "apply: ", 7) == 0) {
			ck_assert_int_eq(json_object_get_int(v), 1);
			ck_assert(json_object_object_get_ex(o, "revision", &v));
			ck_assert_msg(strncmp(json_object_get_string(v), "dir:", 4) == 0, "%s", line);
			(*pass_lines)++;
		}
		if (strncmp(msg, "apply: [", 8) == 0 && strstr(msg, " VM ")) {
			ck_assert(json_object_object_get_ex(o, "vm", &v));
			ck_assert(json_object_object_get_ex(o, "host", &v));
			ck_assert(json_object_object_get_ex(o, "action", &v));
		}
		json_object_put(o);
		n++;
	}
	ck_assert_int_gt(n, 0);
	free(copy);
}

/*
 * --log-format json: every line of standard error is one JSON object with
 * time, level, msg, revision and pass; --log-level warn (and -q) hides info;
 * serve.yaml's log: applies and a flag wins over it.
 */
START_TEST(test_serve_log_levels_and_json)
{
	struct nc_run r;
	char *cfg;
	int pass_lines;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
	cfg = nc_xasprintf("  directory: %s/spec", tdir);
	write_config(cfg, "log:\\n  format: json\\n");
	/* the config's json, debug by the flag: every apply line too */
	ck_assert_int_eq(sh(&r, "$NC serve --config serve.yaml --once -v"), 0);
	check_json_lines(r.err, true, &pass_lines);
	ck_assert_int_ge(pass_lines, 2 + 16);
	HAS(r.err, "\"level\":\"debug\"");
	HAS(r.err, "\"vm\":\"web-1\"");
	nc_run_free(&r);
	/* warn: no info line (the pass has nothing to do; started, lease lines are info) */
	ck_assert_int_eq(sh(&r, "$NC serve --config serve.yaml --once --log-level warn"), 0);
	HASNT(r.err, "\"level\":\"info\"");
	nc_run_free(&r);
	/* the flag wins: text; -q hides the info lines of text too */
	ck_assert_int_eq(sh(&r, "$NC serve --config serve.yaml --once --log-format text"), 0);
	HAS(r.err, " novacron serve: started (pid ");
	HASNT(r.err, "{\"time\"");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC serve --config serve.yaml --once --log-format text -q"), 0);
	HASNT(r.err, "started (pid");
	nc_run_free(&r);
	/* a config that does not load: its diagnostics are JSON lines too */
	write_config(cfg, "log:\\n  format: json\\nnotify:\\n  - type: github-status\\n    repository: acme\\n"
		     "    tokenEnv: T\\n");
	ck_assert_int_eq(sh(&r, "$NC serve --config serve.yaml --once --log-format json"), 1);
	check_json_lines(r.err, true, &pass_lines);
	HAS(r.err, "repository must be OWNER/REPO, not 'acme'");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC serve --config serve.yaml --log-level loud"), 1);
	HAS(r.err, "--log-level must be error, warn, info or debug, not 'loud'");
	nc_run_free(&r);
	free(cfg);
}
END_TEST

Suite *nc_suite_notifyproviders(void)
{
	Suite *s = suite_create("notifyproviders");
	TCase *tc = tcase_create("notifyproviders");

	tcase_add_unchecked_fixture(tc, registry_setup, registry_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_notify_chat_and_generic_bodies);
	tcase_add_test(tc, test_notify_commit_status);
	tcase_add_test(tc, test_serve_log_levels_and_json);
	suite_add_tcase(s, tc);
	return s;
}
