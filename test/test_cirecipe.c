/*
 * test_cirecipe.c - validate annotations, bounded Markdown plans with a marker, novacron comment, the CI recipes.
 *
 * The forge is test/ci/forge.py: a real HTTP listener on 127.0.0.1 standing
 * in for GitHub's and GitLab's REST endpoints (the services themselves cannot
 * be reached).  test/integration/ci-recipes.sh runs the recipes' own steps.
 */
#include <check.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"
#include "../reconciler/annotations.h"
#include "../reconciler/pass.h"

/* needle's occurrences in hay; linear (ASan's strstr measures the whole rest of hay on every call) */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	while (*hay) {
		if (*hay == needle[0] && !strncmp(hay, needle, len)) {
			n++;
			hay += len;
		} else {
			hay++;
		}
	}
	return n;
}

/* GitHub's escaping, one command per diagnostic; GitLab's report with stable fingerprints */
START_TEST(test_ci_annotations)
{
	struct nc_diags d;
	struct nc_buf b = NC_BUF_INIT, b2 = NC_BUF_INIT;
	json_object *arr, *o, *v, *loc;
	const char *fp0;
	size_t i;

	nc_gh_escape(&b, "a%b\r\nc:d,e", false);
	ck_assert_str_eq(b.buf, "a%25b%0D%0Ac:d,e");
	nc_buf_reset(&b);
	nc_gh_escape(&b, "a%b\r\nc:d,e", true);
	ck_assert_str_eq(b.buf, "a%25b%0D%0Ac%3Ad%2Ce");
	nc_buf_reset(&b);

	nc_diags_init(&d);
	nc_diag_error(&d, ((struct nc_pos){ "clusters/a,b:c.yaml", 3, 7 }), "unknown key 'url'; 100%% sure");
	nc_diag_note(&d, ((struct nc_pos){ "clusters/a,b:c.yaml", 1, 1 }), "first defined here");
	nc_diag_warning(&d, nc_pos_file("clusters/x.yaml"), "field not acted on yet");
	nc_diags_format_github(&d, &b);
	ck_assert_str_eq(b.buf,
		"::error file=clusters/a%2Cb%3Ac.yaml,line=3,col=7,title=novacron validate::unknown key 'url'; 100%25 sure\n"
		"::notice file=clusters/a%2Cb%3Ac.yaml,line=1,col=1,title=novacron validate::first defined here\n"
		"::warning file=clusters/x.yaml,title=novacron validate::field not acted on yet\n");
	/* a message can never hold a line break (diag.c shows them as \x0a): no forged command */
	nc_diags_release(&d);
	nc_diags_init(&d);
	nc_diag_error(&d, ((struct nc_pos){ "f.yaml", 2, 1 }), "bad\n::error::forged");
	nc_buf_reset(&b);
	nc_diags_format_github(&d, &b);
	ck_assert_uint_eq(count(b.buf, "\n"), 1);
	nc_diags_release(&d);

	nc_diags_init(&d);
	nc_diag_error(&d, ((struct nc_pos){ "clusters/vms.yaml", 20, 13 }), "no Template named 'bsae'");
	nc_diag_warning(&d, ((struct nc_pos){ "clusters/vms.yaml", 21, 1 }), "no Template named 'bsae'");
	nc_diag_warning(&d, nc_pos_file("clusters/hosts.yaml"), "a \"quoted\" word");
	nc_buf_reset(&b);
	nc_diags_format_gitlab(&d, &b);
	nc_diags_format_gitlab(&d, &b2);
	ck_assert_str_eq(b.buf, b2.buf);   /* same problems, same report */
	arr = json_tokener_parse(b.buf);
	ck_assert_ptr_nonnull(arr);
	ck_assert(json_object_is_type(arr, json_type_array));
	ck_assert_uint_eq(json_object_array_length(arr), 3);
	for (i = 0; i < 3; i++) {
		o = json_object_array_get_idx(arr, i);
		ck_assert(json_object_object_get_ex(o, "fingerprint", &v));
		ck_assert_uint_eq(strlen(json_object_get_string(v)), 64);
		ck_assert(json_object_object_get_ex(o, "check_name", &v));
		ck_assert(json_object_object_get_ex(o, "description", &v));
		ck_assert(json_object_object_get_ex(o, "location", &loc));
		ck_assert(json_object_object_get_ex(loc, "path", &v));
		ck_assert(json_object_object_get_ex(loc, "lines", &v));
		ck_assert(json_object_object_get_ex(v, "begin", &v));
	}
	o = json_object_array_get_idx(arr, 0);
	json_object_object_get_ex(o, "severity", &v);
	ck_assert_str_eq(json_object_get_string(v), "major");
	json_object_object_get_ex(o, "fingerprint", &v);
	fp0 = json_object_get_string(v);
	o = json_object_array_get_idx(arr, 1);
	json_object_object_get_ex(o, "severity", &v);
	ck_assert_str_eq(json_object_get_string(v), "minor");
	json_object_object_get_ex(o, "fingerprint", &v);
	ck_assert_str_ne(fp0, json_object_get_string(v));   /* same message, another line */
	o = json_object_array_get_idx(arr, 2);
	json_object_object_get_ex(o, "location", &loc);
	json_object_object_get_ex(loc, "lines", &v);
	json_object_object_get_ex(v, "begin", &v);
	ck_assert_int_eq(json_object_get_int(v), 1);       /* a whole file: line 1 */
	json_object_object_get_ex(o, "description", &v);
	ck_assert_str_eq(json_object_get_string(v), "a \"quoted\" word");
	json_object_put(arr);
	nc_diags_release(&d);
	nc_buf_release(&b);
	nc_buf_release(&b2);
}
END_TEST

/* validate --output github|gitlab: the problems on stdout, the summary on stderr, text's exit code */
START_TEST(test_ci_validate_cli)
{
	struct nc_run r;
	json_object *arr;

	nc_run_novacron(&r, "validate --output github test/data/invalid");
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(count(r.out, "\n"), 16);   /* 15 errors and a note, one line each */
	ck_assert_uint_eq(count(r.out, "::error file=test/data/invalid/"), 15);
	HAS(r.out, "::error file=test/data/invalid/hosts.yaml,line=19,col=3,title=novacron validate::unknown key "
		   "'url' in Host spec; did you mean 'uri'?\n");
	HAS(r.out, "::notice file=test/data/invalid/vms.yaml,line=16,col=9,title=novacron validate::first defined here\n");
	HAS(r.err, "invalid: 15 errors, 0 warnings in 3 files\n");
	HASNT(r.err, "error:");
	nc_run_free(&r);
	nc_run_novacron(&r, "validate --output gitlab test/data/invalid");
	ck_assert_int_eq(r.status, 1);
	arr = json_tokener_parse(r.out);
	ck_assert_ptr_nonnull(arr);
	ck_assert_uint_eq(json_object_array_length(arr), 16);
	json_object_put(arr);
	HAS(r.err, "invalid: 15 errors");
	nc_run_free(&r);
	nc_run_novacron(&r, "validate --output github examples/quickstart");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	HAS(r.err, "valid: 8 files");
	nc_run_free(&r);
	nc_run_novacron(&r, "validate --output gitlab examples/quickstart");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "[\n]\n");
	nc_run_free(&r);
	nc_run_novacron(&r, "validate --output sarif examples/quickstart");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "--output must be text, json, github or gitlab");
	nc_run_free(&r);
}
END_TEST

/* the marker's ID: checked by plan --marker and comment --marker; the Markdown plan starts with it */
START_TEST(test_ci_marker)
{
	static const char *const good[] = { "prod", "a", "eu-west/prod_2.x", NULL };
	static const char *const bad[] = { "", "a b", "x-->", "<b>", "a\nb", "ü", "a:b", NULL };
	char *tmp = strdup("/tmp/nc-ci-marker-XXXXXX"), *cmd;
	char long_id[70];
	struct nc_run r;
	size_t i;

	for (i = 0; good[i]; i++)
		ck_assert_msg(nc_marker_id_ok(good[i]), "%s", good[i]);
	for (i = 0; bad[i]; i++)
		ck_assert_msg(!nc_marker_id_ok(bad[i]), "%s", bad[i]);
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	ck_assert(!nc_marker_id_ok(long_id));
	long_id[64] = '\0';
	ck_assert(nc_marker_id_ok(long_id));

	ck_assert_ptr_nonnull(mkdtemp(tmp));
	cmd = nc_xasprintf("plan --output markdown --marker 'x -->' --state-dir %s examples/quickstart", tmp);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "--marker must be 1 to 64 of");
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	free(cmd);
	cmd = nc_xasprintf("plan --output markdown --max-bytes 100 --state-dir %s examples/quickstart", tmp);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "--max-bytes must be 0 (unlimited) or at least 8192");
	nc_run_free(&r);
	free(cmd);
	cmd = nc_xasprintf("plan --output markdown --marker eu/prod-1 --state-dir %s examples/quickstart", tmp);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 2);
	ck_assert_msg(!strncmp(r.out, "<!-- novacron:plan:eu/prod-1 -->\n### NovaCron plan: ", 52), "%.200s", r.out);
	nc_run_free(&r);
	free(cmd);
	cmd = nc_xasprintf("plan --output markdown --state-dir %s examples/quickstart", tmp);
	nc_run_novacron(&r, cmd);
	ck_assert_int_eq(r.status, 2);
	ck_assert_msg(!strncmp(r.out, "<!-- novacron:plan -->\n### ", 27), "%.200s", r.out);
	nc_run_free(&r);
	free(cmd);
	cmd = nc_xasprintf("rm -rf '%s'", tmp);
	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
	free(tmp);
}
END_TEST

/*
 * A plan of 100,000 actions, built in memory: bounded at 60,000 bytes it
 * keeps the head and the counts, whole rows, no open table or fence, and
 * says how many actions are left out; unbounded, every row is there.
 */
START_TEST(test_ci_markdown_bound)
{
	enum { N = 100000 };
	struct nc_host host;
	struct nc_host_view hv;
	struct nc_cluster c;
	struct nc_plan p;
	struct nc_render_opts o;
	struct nc_buf out = NC_BUF_INIT;
	const char *line, *tail;
	size_t i, rows = 0, full_len;
	char more[256];

	memset(&host, 0, sizeof(host));
	host.obj.meta.name.v = "kvm1";
	host.spec.uri.v = "sim:///kvm1";
	memset(&hv, 0, sizeof(hv));
	hv.spec = &host;
	memset(&c, 0, sizeof(c));
	c.hosts = &hv;
	c.nhosts = 1;
	memset(&p, 0, sizeof(p));
	p.actions = nc_xcalloc(N, sizeof(*p.actions));
	p.nactions = p.ncreate = N;
	for (i = 0; i < N; i++) {
		p.actions[i].id = (int)i + 1;
		p.actions[i].kind = NC_ACT_CREATE;
		p.actions[i].vm = nc_xasprintf("vm-%06zu", i);
		p.actions[i].reason = (char *)"not on any host | <b>markup</b>";
		p.actions[i].start_after = true;
	}
	memset(&o, 0, sizeof(o));
	o.marker = "prod";

	nc_plan_render_markdown(&p, &c, &o, &out);   /* unbounded */
	full_len = out.len;
	ck_assert_uint_gt(full_len, 5000000);
	ck_assert_uint_eq(count(out.buf, "` | create | kvm1 | "), N);
	HASNT(out.buf, "more actions");
	nc_buf_reset(&out);

	o.max_bytes = 60000;
	nc_plan_render_markdown(&p, &c, &o, &out);
	ck_assert_uint_le(out.len, 60000);
	ck_assert_uint_gt(out.len, 50000);   /* the room is used */
	ck_assert_msg(!strncmp(out.buf, "<!-- novacron:plan:prod -->\n### NovaCron plan: 100000 to create", 63),
		      "%.200s", out.buf);
	HAS(out.buf, "| create | update | delete | start | stop | migrate | upload | restart elsewhere | notes |\n");
	HAS(out.buf, "| 100000 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |\n");
	/* every row of the actions table whole; nothing after the table but the line saying what is left */
	line = strstr(out.buf, "| # | | VM | action | host | why |\n|---|---|---|---|---|---|\n");
	ck_assert_ptr_nonnull(line);
	line = strchr(strchr(line, '\n') + 1, '\n') + 1;
	while (!strncmp(line, "| ", 2)) {
		const char *e = strchr(line, '\n');

		ck_assert_ptr_nonnull(e);
		ck_assert_msg(e - line > 4 && !strncmp(e - 2, " |", 2), "broken row: %.*s", (int)(e - line), line);
		rows++;
		line = e + 1;
	}
	ck_assert_uint_gt(rows, 100);
	snprintf(more, sizeof(more), "\n... and %zu more actions (%zu bytes): the full plan is in the job's "
		 "artifacts (`novacron plan --output markdown --max-bytes 0`)\n", (size_t)N - rows, full_len);
	ck_assert_str_eq(line, more);
	tail = strstr(out.buf, "vm-");
	ck_assert_ptr_nonnull(tail);
	ck_assert_uint_eq(count(out.buf, "<details>"), count(out.buf, "</details>"));
	ck_assert_uint_eq(count(out.buf, "```"), 0);
	HAS(out.buf, "not on any host \\| \\<b\\>markup\\</b\\>");

	/* a plan that fits is byte for byte the unbounded one */
	p.nactions = p.ncreate = 10;
	nc_buf_reset(&out);
	nc_plan_render_markdown(&p, &c, &o, &out);
	{
		struct nc_buf un = NC_BUF_INIT;
		struct nc_render_opts o0 = o;

		o0.max_bytes = 0;
		nc_plan_render_markdown(&p, &c, &o0, &un);
		ck_assert_str_eq(out.buf, un.buf);
		nc_buf_release(&un);
	}
	for (i = 0; i < N; i++)
		free(p.actions[i].vm);
	free(p.actions);
	nc_buf_release(&out);
}
END_TEST

/*
 * The forge's folder is made and removed by the parent process (an unchecked
 * fixture), so a failed test leaves nothing behind; the forge itself is
 * stopped by the checked teardown, or with the test's process group.
 */
static pid_t forge_pid;
static char forge_dir[64];

static void forge_dir_make(void)
{
	snprintf(forge_dir, sizeof(forge_dir), "/tmp/nc-ci-comment-XXXXXX");
	if (!mkdtemp(forge_dir))
		forge_dir[0] = '\0';
}

static void forge_dir_remove(void)
{
	struct nc_run r;
	char *cmd;

	if (!forge_dir[0])
		return;
	cmd = nc_xasprintf("rm -rf '%s'", forge_dir);
	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
	forge_dir[0] = '\0';
}

static void forge_stop(void)
{
	if (forge_pid > 0)
		kill(forge_pid, SIGTERM);
	forge_pid = 0;
}

/* a forge (test/ci/forge.py) in dir; its port, or 0 when it cannot run here */
static int forge_up(const char *dir, const char *env, pid_t *pid)
{
	struct nc_run r;
	char *cmd, *port = NULL;
	size_t len;
	int i, p = 0;

	cmd = nc_xasprintf("%s python3 test/ci/forge.py '%s' >'%s/forge.log' 2>&1 & echo $!", env, dir, dir);
	nc_run_shell(&r, cmd);
	free(cmd);
	*pid = (pid_t)atoi(r.out);
	nc_run_free(&r);
	cmd = nc_xasprintf("%s/port", dir);
	for (i = 0; i < 100 && !port; i++) {
		if (nc_read_file(cmd, 64, &port, &len) < 0)
			usleep(50000);
	}
	free(cmd);
	if (port)
		p = atoi(port);
	free(port);
	return p;
}

/*
 * novacron comment against the local forge: posted once, updated after (not
 * duplicated), found across pages; 401 and 404 give the status and the
 * forge's message; the token is never printed; a body over GitHub's limit is
 * cut at a line with a note; http is refused outside loopback.
 */
START_TEST(test_ci_comment)
{
	char *tmp = forge_dir, *cmd, *db = NULL, *path;
	struct nc_run r;
	size_t len;
	int port;

	ck_assert_msg(tmp[0], "no folder for the forge");
	nc_run_shell(&r, "python3 -c 'import http.server, json'");
	if (r.status != 0) {
		nc_run_free(&r);
		NC_TEST_SKIP("python3 is not installed (scripts/deps.sh)");
		return;
	}
	nc_run_free(&r);
	/* a stranger planted a comment with our marker before the first post: not updated */
	port = forge_up(tmp, "FORGE_TOKEN=tok-SECRET-42 FORGE_PAGE_SIZE=2 FORGE_STRANGER=1", &forge_pid);
	ck_assert_msg(port > 0, "the forge did not start (%s/forge.log)", tmp);
	/* a plan with a marker, and a huge one without */
	cmd = nc_xasprintf("printf '<!-- novacron:plan:prod -->\\n### NovaCron plan: 1 to create\\n' >%s/plan.md && "
			   "python3 -c \"import sys; sys.stdout.write('### huge\\n' + ''.join('| %%d | row |\\n' %% i for i in range(20000)))\" >%s/huge.md",
			   tmp, tmp);
	nc_run_shell(&r, cmd);
	ck_assert_int_eq(r.status, 0);
	nc_run_free(&r);
	free(cmd);

#define COMMENT(env, args) \
	do { \
		cmd = nc_xasprintf("env %s '%s' comment --api-url http://127.0.0.1:%d%s %s", env, NC_BINARY, port, \
				   strstr(args, "gitlab") ? "/api/v4/" : "", args); \
		nc_run_shell(&r, cmd); \
		free(cmd); \
		HASNT(r.out, "tok-SECRET-42"); \
		HASNT(r.err, "tok-SECRET-42"); \
	} while (0)

	path = nc_xasprintf("--forge github --repo acme/infra --pr 5 --file %s/plan.md", tmp);
	COMMENT("GITHUB_TOKEN=tok-SECRET-42", path);
	ck_assert_msg(r.status == 0, "%.1500s", r.err);
	HAS(r.out, "novacron comment: posted comment 1004 on acme/infra#5");
	HAS(r.err, "comment 1003 starts with the marker but is not ours (nor a maintainer's): left alone");
	nc_run_free(&r);
	COMMENT("GITHUB_TOKEN=tok-SECRET-42", path);
	ck_assert_msg(r.status == 0, "%.1500s", r.err);
	HAS(r.out, "novacron comment: updated comment 1004 on acme/infra#5");
	nc_run_free(&r);
	/* another marker: another comment */
	free(path);
	path = nc_xasprintf("--forge github --repo acme/infra --pr 5 --marker staging --file - <%s/huge.md", tmp);
	COMMENT("MY_TOKEN=tok-SECRET-42", path);   /* no GITHUB_TOKEN: the named variable */
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "no token: set GITHUB_TOKEN in the environment");
	nc_run_free(&r);
	free(path);
	path = nc_xasprintf("--forge github --repo acme/infra --pr 5 --marker staging --token-env MY_TOKEN "
			    "--file - <%s/huge.md", tmp);
	COMMENT("MY_TOKEN=tok-SECRET-42", path);
	ck_assert_msg(r.status == 0, "%.1500s", r.err);
	HAS(r.out, "novacron comment: posted comment 1005 on acme/infra#5");
	nc_run_free(&r);
	free(path);

	/* GitLab: a project path, URL-encoded; the system note with our marker is not ours */
	path = nc_xasprintf("--forge gitlab --project acme/infra --pr 7 --file %s/plan.md", tmp);
	COMMENT("GITLAB_TOKEN=tok-SECRET-42", path);
	ck_assert_msg(r.status == 0, "%.1500s", r.err);
	HAS(r.out, "novacron comment: posted note 1010 on acme/infra!7");
	HAS(r.err, "comment 1008 starts with the marker but is not ours");
	nc_run_free(&r);
	COMMENT("CI_JOB_TOKEN=tok-SECRET-42", path);   /* JOB-TOKEN header */
	ck_assert_msg(r.status == 0, "%.1500s", r.err);
	HAS(r.out, "novacron comment: updated note 1010 on acme/infra!7");
	nc_run_free(&r);
	free(path);

	/* errors: the status and the forge's own message */
	path = nc_xasprintf("--forge github --repo acme/infra --pr 5 --file %s/plan.md", tmp);
	COMMENT("GITHUB_TOKEN=wrong-token", path);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "GitHub answered HTTP 401 to GET /repos/acme/infra/issues/5/comments?per_page=100: Bad credentials");
	HASNT(r.err, "wrong-token");
	nc_run_free(&r);
	free(path);
	path = nc_xasprintf("--forge github --repo acme/nothing --pr 5 --file %s/plan.md", tmp);
	COMMENT("GITHUB_TOKEN=tok-SECRET-42", path);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "GitHub answered HTTP 404 to GET /repos/acme/nothing/issues/5/comments?per_page=100: Not Found");
	nc_run_free(&r);
	free(path);
	path = nc_xasprintf("--forge gitlab --project acme/other --pr 7 --file %s/plan.md", tmp);
	COMMENT("GITLAB_TOKEN=tok-SECRET-42", path);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "GitLab answered HTTP 404 to GET /projects/acme%2Fother/merge_requests/7/notes?per_page=100: "
		   "404 Project Not Found");
	nc_run_free(&r);
	free(path);
	path = nc_xasprintf("--forge github --repo acme/infra --pr 5 --marker other --file %s/plan.md", tmp);
	COMMENT("GITHUB_TOKEN=tok-SECRET-42", path);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "the file's marker is 'prod', not --marker 'other'");
	nc_run_free(&r);
	free(path);
	path = nc_xasprintf("--forge github --repo acme/infra --pr 5 --marker 'a b' --file %s/plan.md", tmp);
	COMMENT("GITHUB_TOKEN=tok-SECRET-42", path);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "--marker must be 1 to 64 of");
	nc_run_free(&r);
	free(path);
	cmd = nc_xasprintf("GITHUB_TOKEN=x '%s' comment --forge github --repo a/b --pr 1 --file %s/plan.md "
			   "--api-url http://forge.example.com", NC_BINARY, tmp);
	nc_run_shell(&r, cmd);
	free(cmd);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "must be https (http only on a loopback address)");
	nc_run_free(&r);

	/* what the forge holds: ours once per marker, the huge one cut under 65,536 at a line, with the note */
	cmd = nc_xasprintf("%s/comments.json", tmp);
	ck_assert_int_eq(nc_read_file(cmd, 64 << 20, &db, &len), 0);
	free(cmd);
	{
		json_object *j = json_tokener_parse(db), *threads, *gh, *c, *b;
		const char *s;

		ck_assert(json_object_object_get_ex(j, "threads", &threads));
		ck_assert(json_object_object_get_ex(threads, "github:acme/infra#5", &gh));
		ck_assert_uint_eq(json_object_array_length(gh), 5);   /* 3 others, prod, staging */
		c = json_object_array_get_idx(gh, 3);
		json_object_object_get_ex(c, "body", &b);
		ck_assert_str_eq(json_object_get_string(b), "<!-- novacron:plan:prod -->\n### NovaCron plan: 1 to create\n");
		c = json_object_array_get_idx(gh, 4);
		json_object_object_get_ex(c, "body", &b);
		s = json_object_get_string(b);
		ck_assert(!strncmp(s, "<!-- novacron:plan:staging -->\n### huge\n| 0 | row |\n", 52));
		ck_assert_uint_le(strlen(s), 65536);
		ck_assert_uint_gt(strlen(s), 60000);
		HAS(s, " |\n\n... the plan was cut here to fit GitHub's comment limit (65536 characters): the full plan "
		       "is in the job's artifacts.\n");
		ck_assert(json_object_object_get_ex(threads, "gitlab:acme/infra!7", &gh));
		ck_assert_uint_eq(json_object_array_length(gh), 5);   /* 3 others, a system note, ours */
		json_object_put(j);
	}
	free(db);
	/* every request carried the right credentials but the refused ones; none the token in its path */
	cmd = nc_xasprintf("grep -c '\"auth_ok\": false' %s/requests.log; grep -c tok-SECRET %s/requests.log", tmp, tmp);
	nc_run_shell(&r, cmd);
	free(cmd);
	ck_assert_str_eq(r.out, "1\n0\n");
	nc_run_free(&r);
#undef COMMENT
	/* the teardowns stop the forge and remove its folder */
}
END_TEST

Suite *nc_suite_cirecipe(void)
{
	Suite *s = suite_create("cirecipe");
	TCase *tc = tcase_create("cirecipe");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, forge_dir_make, forge_dir_remove);
	tcase_add_checked_fixture(tc, NULL, forge_stop);
	tcase_add_test(tc, test_ci_annotations);
	tcase_add_test(tc, test_ci_validate_cli);
	tcase_add_test(tc, test_ci_marker);
	tcase_add_test(tc, test_ci_markdown_bound);
	tcase_add_test(tc, test_ci_comment);
	suite_add_tcase(s, tc);
	return s;
}
