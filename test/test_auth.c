/*
 * test_auth.c - the auth suite (reconciler/auth.h, docs/security.md):
 * `novacron token` for real (the binary, its store on disk), auth.c's
 * calls with real requests' shape (headers and cookies), serve.yaml's
 * api.roles loaded by the real loader.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "../reconciler/auth.h"
#include "../reconciler/serve.h"
#include "../spec/diag.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/*
 * Check runs no checked teardown after a failed test, so each test
 * directory is also listed in a registry that the unchecked teardown (the
 * runner's, after all tests) goes over: it stops the serve a test started,
 * by the PID in DIR/pid, and removes the directory.
 */
static char registry[64];

static void registry_setup(void)
{
	int fd;

	snprintf(registry, sizeof(registry), "/tmp/nc-auth-registry-XXXXXX");
	fd = mkstemp(registry);
	if (fd >= 0)
		close(fd);
}

static void cleanup_dir(const char *dir)
{
	char *pf = nc_xasprintf("%s/pid", dir), *buf = NULL;
	size_t len;

	if (nc_read_file(pf, 64, &buf, &len) == 0) {
		pid_t pid = (pid_t)atol(buf);

		if (pid > 1 && kill(pid, SIGKILL) == 0)
			waitpid(pid, NULL, 0);
		free(buf);
	}
	free(pf);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
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

	snprintf(tdir, sizeof(tdir), "/tmp/nc-auth-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	f = fopen(registry, "a");
	if (f) {
		fprintf(f, "%s\n", tdir);
		fclose(f);
	}
}

static void serve_down(void);

static void teardown(void)
{
	serve_down();
	nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- a request as http.c hands it over ---- */
struct fake {
	struct nc_web_req r;
	const char *h[8][2];
	size_t nh;
	const char *c[4][2];
	size_t nc;
};

static const char *fake_header(const struct nc_web_req *r, const char *name)
{
	const struct fake *f = r->ctx;
	size_t i;

	for (i = 0; i < f->nh; i++)
		if (strcasecmp(f->h[i][0], name) == 0)
			return f->h[i][1];
	return NULL;
}

static const char *fake_cookie(const struct nc_web_req *r, const char *name)
{
	const struct fake *f = r->ctx;
	size_t i;

	for (i = 0; i < f->nc; i++)
		if (strcmp(f->c[i][0], name) == 0)
			return f->c[i][1];
	return NULL;
}

static const char *fake_query(const struct nc_web_req *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

static void req_init(struct fake *f, const char *method, const char *path, const char *body)
{
	memset(f, 0, sizeof(*f));
	f->r.method = method;
	f->r.path = path;
	f->r.body = body ? body : "";
	f->r.body_len = strlen(f->r.body);
	f->r.peer = "127.0.0.1";
	f->r.header = fake_header;
	f->r.cookie = fake_cookie;
	f->r.query = fake_query;
	f->r.ctx = f;
}

static void req_header(struct fake *f, const char *name, const char *value)
{
	f->h[f->nh][0] = name;
	f->h[f->nh][1] = value;
	f->nh++;
}

static void req_cookie(struct fake *f, const char *name, const char *value)
{
	f->c[f->nc][0] = name;
	f->c[f->nc][1] = value;
	f->nc++;
}

static const char *resp_header(const struct nc_web_resp *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i][0], name) == 0)
			return resp->headers[i][1];
	return NULL;
}

/* a token made through the library (so expiry can be set in the past) */
static void make_token(const char *name, enum nc_role role, const char *tenant, time_t expires, char *secret,
		       size_t n)
{
	struct nc_token_info info;
	struct nc_err err = { "" };

	memset(&info, 0, sizeof(info));
	snprintf(info.name, sizeof(info.name), "%s", name);
	info.role = role;
	if (tenant)
		snprintf(info.tenants[info.ntenants++], sizeof(info.tenants[0]), "%s", tenant);
	info.created = time(NULL);
	info.expires = expires;
	ck_assert_msg(nc_token_create(tdir, &info, secret, n, &err) == 0, "%s", err.msg);
}

/* serve.yaml with extra (api:, tls:, ...) loaded by the real loader */
static void load_cfg(struct nc_serve_config *cfg, struct nc_spec **holder, const char *extra)
{
	struct nc_diags d;
	struct nc_buf b = NC_BUF_INIT;
	char *path = nc_xasprintf("%s/serve.yaml", tdir);
	char *yaml = nc_xasprintf("source:\n  directory: %s\nstateDir: %s\n%s", tdir, tdir, extra);

	ck_assert_int_eq(nc_write_file_atomic(path, yaml, strlen(yaml), 0600), 0);
	nc_diags_init(&d);
	memset(cfg, 0, sizeof(*cfg));
	*holder = NULL;
	if (nc_serve_config_load(cfg, holder, path, &d) < 0) {
		nc_diags_format_text(&d, &b, 0);
		ck_abort_msg("serve.yaml: %s", b.buf);
	}
	nc_diags_release(&d);
	free(path);
	free(yaml);
}

START_TEST(test_auth_token_cli)
{
	struct nc_run r;
	char *p, *data = NULL, secret[64];
	size_t len;
	struct stat st;

	nc_run_in(&r, tdir, "$NC token create ci --role operator --tenant team-a --expires 30d --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(strlen(r.out), 3 + 43 + 1);
	ck_assert(strncmp(r.out, "nc_", 3) == 0);
	snprintf(secret, sizeof(secret), "%.46s", r.out);
	HAS(r.err, "shown once");
	nc_run_free(&r);
	/* the store: 0600, the SHA-256 only */
	p = nc_xasprintf("%s/tokens.json", tdir);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(nc_read_file(p, 1 << 20, &data, &len), 0);
	HASNT(data, secret);
	HASNT(data, secret + 3);
	HAS(data, "\"sha256\": \"");
	free(data);
	free(p);
	/* a second with the same name is refused; a bad role or name too */
	nc_run_in(&r, tdir, "$NC token create ci --role viewer --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "token 'ci' exists");
	nc_run_free(&r);
	nc_run_in(&r, tdir, "$NC token create x --role root --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 1);
	nc_run_free(&r);
	nc_run_in(&r, tdir, "$NC token create ../x --role viewer --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "not a token name");
	nc_run_free(&r);
	nc_run_in(&r, tdir, "$NC token create y --role admin --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 0);
	nc_run_free(&r);
	/* list: sorted, no secret, the scope */
	nc_run_in(&r, tdir, "$NC token list --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "ci ");
	HAS(r.out, "operator");
	HAS(r.out, "team-a");
	HAS(r.out, "(all)");
	ck_assert(strstr(r.out, "ci ") < strstr(r.out, "y "));
	HASNT(r.out, "nc_");
	nc_run_free(&r);
	nc_run_in(&r, tdir, "$NC token list -o json --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 0);
	HAS(r.out, "\"name\": \"ci\",\n      \"role\": \"operator\",\n      \"tenants\": [\n        \"team-a\"\n      ]");
	HAS(r.out, "\"name\": \"y\",\n      \"role\": \"admin\",\n      \"tenants\": null");
	nc_run_free(&r);
	/* revoke */
	nc_run_in(&r, tdir, "$NC token revoke ci --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 0);
	nc_run_free(&r);
	nc_run_in(&r, tdir, "$NC token revoke ci --state-dir %s", tdir);
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "no token named 'ci'");
	nc_run_free(&r);
	nc_run_in(&r, tdir, "$NC token list --state-dir %s", tdir);
	HASNT(r.out, "ci ");
	HAS(r.out, "y ");
	nc_run_free(&r);
}
END_TEST

START_TEST(test_auth_identify_tokens)
{
	struct nc_serve_config cfg;
	struct nc_spec *holder;
	struct nc_auth *a;
	struct nc_err err = { "" };
	struct nc_principal p;
	struct nc_web_resp resp;
	struct fake f;
	char view[64], old[64], other[64], hdr[96], bad[64];

	load_cfg(&cfg, &holder, "");
	make_token("view", NC_ROLE_VIEWER, NULL, 0, view, sizeof(view));
	make_token("old", NC_ROLE_ADMIN, NULL, time(NULL) - 1, old, sizeof(old));
	make_token("other", NC_ROLE_OPERATOR, "team-b", 0, other, sizeof(other));
	ck_assert_int_eq(nc_auth_create(&a, &cfg, tdir, &err), 0);

	/* a good token */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	snprintf(hdr, sizeof(hdr), "Bearer %s", view);
	req_header(&f, "Authorization", hdr);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), 0);
	ck_assert_str_eq(p.who, "token:view");
	ck_assert_int_eq(p.role, NC_ROLE_VIEWER);
	ck_assert(p.all_tenants);
	ck_assert(!p.session);
	/* a bearer write needs no CSRF */
	ck_assert_int_eq(nc_auth_check_write(a, &f.r, &p, &resp), 0);
	nc_web_resp_release(&resp);

	/* scoped */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	snprintf(hdr, sizeof(hdr), "Bearer %s", other);
	req_header(&f, "Authorization", hdr);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), 0);
	ck_assert_int_eq(p.role, NC_ROLE_OPERATOR);
	ck_assert(!p.all_tenants);
	ck_assert_uint_eq(p.ntenants, 1);
	ck_assert_str_eq(p.tenants[0], "team-b");
	ck_assert(nc_principal_sees(&p, "team-b"));
	ck_assert(!nc_principal_sees(&p, "team-a"));
	nc_web_resp_release(&resp);

	/* expired, wrong, malformed: 401 */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	snprintf(hdr, sizeof(hdr), "Bearer %s", old);
	req_header(&f, "Authorization", hdr);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), -1);
	ck_assert_uint_eq(resp.code, 401);
	HAS(resp.body.buf, "expired token");
	ck_assert_int_eq(p.role, NC_ROLE_NONE);
	nc_web_resp_release(&resp);

	snprintf(bad, sizeof(bad), "%s", view);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	snprintf(hdr, sizeof(hdr), "Bearer %s", bad);
	req_header(&f, "Authorization", hdr);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), -1);
	ck_assert_uint_eq(resp.code, 401);
	HASNT(resp.body.buf, bad);
	nc_web_resp_release(&resp);

	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	req_header(&f, "Authorization", "Basic dXNlcjpwYXNz");
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), -1);
	ck_assert_uint_eq(resp.code, 401);
	nc_web_resp_release(&resp);

	/* revoked: refused at once (the store is read again when it changes) */
	ck_assert_int_eq(nc_token_revoke(tdir, "view", &err), 0);
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	snprintf(hdr, sizeof(hdr), "Bearer %s", view);
	req_header(&f, "Authorization", hdr);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), -1);
	ck_assert_uint_eq(resp.code, 401);
	HAS(resp.body.buf, "unknown or revoked");
	nc_web_resp_release(&resp);

	/* no credentials: anonymous, role none (api.anonymous unset) */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), 0);
	ck_assert_str_eq(p.who, "anonymous");
	ck_assert_int_eq(p.role, NC_ROLE_NONE);
	nc_web_resp_release(&resp);

	nc_auth_destroy(a);
	nc_spec_free(holder);
}
END_TEST

START_TEST(test_auth_roles_bindings)
{
	struct nc_serve_config cfg;
	struct nc_spec *holder;
	struct nc_auth *a;
	struct nc_err err = { "" };
	struct nc_principal p;
	struct nc_web_resp resp;
	struct fake f;
	char sec[64], hdr[96];
	const char *groups[] = { "ops", "staff" };

	load_cfg(&cfg, &holder,
		 "api:\n  anonymous: viewer\n  roles:\n"
		 "  - {role: admin, tokens: [ci], tenants: [team-a]}\n"
		 "  - {role: operator, users: [alice@example.org], tenants: [team-a]}\n"
		 "  - {role: operator, groups: [ops], tenants: [team-b]}\n"
		 "  - {role: viewer, groups: [staff]}\n"
		 "  - {role: admin, users: [root-sub]}\n");
	make_token("ci", NC_ROLE_VIEWER, NULL, 0, sec, sizeof(sec));
	ck_assert_int_eq(nc_auth_create(&a, &cfg, tdir, &err), 0);

	/* the binding's admin beats the token's own viewer, with the binding's scope */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	snprintf(hdr, sizeof(hdr), "Bearer %s", sec);
	req_header(&f, "Authorization", hdr);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), 0);
	ck_assert_int_eq(p.role, NC_ROLE_ADMIN);
	ck_assert(!p.all_tenants);
	ck_assert_uint_eq(p.ntenants, 1);
	ck_assert_str_eq(p.tenants[0], "team-a");
	nc_web_resp_release(&resp);

	/* OIDC: the user's operator and the group's operator join their scopes; staff's viewer loses */
	nc_auth_bind_oidc(a, "sub-1", "alice@example.org", groups, 2, &p);
	ck_assert_int_eq(p.role, NC_ROLE_OPERATOR);
	ck_assert(!p.all_tenants);
	ck_assert_uint_eq(p.ntenants, 2);
	ck_assert(nc_principal_sees(&p, "team-a"));
	ck_assert(nc_principal_sees(&p, "team-b"));
	HAS(p.who, "alice@example.org");
	nc_auth_bind_oidc(a, "root-sub", NULL, NULL, 0, &p);
	ck_assert_int_eq(p.role, NC_ROLE_ADMIN);
	ck_assert(p.all_tenants);
	nc_auth_bind_oidc(a, "nobody", "n@example.org", groups + 1, 1, &p);
	ck_assert_int_eq(p.role, NC_ROLE_VIEWER);
	ck_assert(p.all_tenants);
	nc_auth_bind_oidc(a, "stranger", NULL, NULL, 0, &p);
	ck_assert_int_eq(p.role, NC_ROLE_NONE);

	/* api.anonymous: viewer */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), 0);
	ck_assert_int_eq(p.role, NC_ROLE_VIEWER);
	nc_web_resp_release(&resp);

	nc_auth_destroy(a);
	nc_spec_free(holder);
}
END_TEST

/* the value of a Set-Cookie's nc_session into id */
static void cookie_value(const char *set_cookie, char *id, size_t n)
{
	const char *v = strstr(set_cookie, "nc_session=");
	size_t len;

	ck_assert_ptr_nonnull(v);
	v += strlen("nc_session=");
	len = strcspn(v, ";");
	ck_assert_uint_lt(len, n);
	memcpy(id, v, len);
	id[len] = '\0';
}

START_TEST(test_auth_sessions_csrf)
{
	struct nc_serve_config cfg;
	struct nc_spec *holder;
	struct nc_auth *a;
	struct nc_err err = { "" };
	struct nc_principal p;
	struct nc_web_resp resp;
	struct fake f;
	char sec[64], body[128], sid[64], csrf[64], csrf2[64];
	const char *c;

	load_cfg(&cfg, &holder, "api:\n  sessionTimeout: 2h\n");
	make_token("op", NC_ROLE_OPERATOR, NULL, 0, sec, sizeof(sec));
	ck_assert_int_eq(nc_auth_create(&a, &cfg, tdir, &err), 0);

	/* a wrong token: 401, no cookie */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "POST", "/auth/login", "{\"token\": \"nc_nope\"}");
	req_header(&f, "Content-Type", "application/json");
	nc_auth_handle(a, &f.r, &resp);
	ck_assert_uint_eq(resp.code, 401);
	ck_assert_ptr_null(resp_header(&resp, "Set-Cookie"));
	nc_web_resp_release(&resp);
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "POST", "/auth/login", "not json");
	req_header(&f, "Content-Type", "application/json");
	nc_auth_handle(a, &f.r, &resp);
	ck_assert_uint_eq(resp.code, 400);
	nc_web_resp_release(&resp);

	/* a good token as a form (another site's form can send that): refused, no session (login CSRF) */
	snprintf(body, sizeof(body), "{\"token\": \"%s\"}", sec);
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "POST", "/auth/login", body);
	req_header(&f, "Content-Type", "text/plain");
	nc_auth_handle(a, &f.r, &resp);
	ck_assert_uint_eq(resp.code, 415);
	ck_assert_ptr_null(resp_header(&resp, "Set-Cookie"));
	nc_web_resp_release(&resp);
	/* login: the cookie's flags, the csrf in the body */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "POST", "/auth/login", body);
	req_header(&f, "Content-Type", "application/json; charset=utf-8");
	nc_auth_handle(a, &f.r, &resp);
	ck_assert_uint_eq(resp.code, 200);
	c = resp_header(&resp, "Set-Cookie");
	ck_assert_ptr_nonnull(c);
	HAS(c, "; HttpOnly");
	HAS(c, "; SameSite=Strict");
	HAS(c, "; Path=/");
	HAS(c, "; Max-Age=7200");
	HASNT(c, "Secure");              /* no tls: configured */
	HASNT(c, sec);
	cookie_value(c, sid, sizeof(sid));
	ck_assert_uint_eq(strlen(sid), NC_AUTH_SECRET_LEN);
	HAS(resp.body.buf, "\"csrf\": \"");
	HAS(resp.body.buf, "\"role\": \"operator\"");
	snprintf(csrf, sizeof(csrf), "%.43s", strstr(resp.body.buf, "\"csrf\": \"") + 9);
	nc_web_resp_release(&resp);

	/* the session identifies; /me's csrf matches */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "POST", "/api/v1/sync", NULL);
	req_cookie(&f, "nc_session", sid);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), 0);
	ck_assert_str_eq(p.who, "token:op");
	ck_assert(p.session);
	ck_assert_int_eq(nc_auth_session_csrf(a, &f.r, csrf2, sizeof(csrf2)), 0);
	ck_assert_str_eq(csrf, csrf2);
	/* a write without the header: 403 */
	ck_assert_int_eq(nc_auth_check_write(a, &f.r, &p, &resp), -1);
	ck_assert_uint_eq(resp.code, 403);
	nc_web_resp_release(&resp);
	/* a wrong one: 403; the right one passes */
	memset(&resp, 0, sizeof(resp));
	req_header(&f, "X-CSRF-Token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	ck_assert_int_eq(nc_auth_check_write(a, &f.r, &p, &resp), -1);
	ck_assert_uint_eq(resp.code, 403);
	nc_web_resp_release(&resp);
	memset(&resp, 0, sizeof(resp));
	f.h[0][1] = csrf;
	ck_assert_int_eq(nc_auth_check_write(a, &f.r, &p, &resp), 0);
	nc_web_resp_release(&resp);

	/* a session of a revoked token ends with it */
	{
		char sec2[64], sid2[64];

		make_token("short", NC_ROLE_VIEWER, NULL, 0, sec2, sizeof(sec2));
		snprintf(body, sizeof(body), "{\"token\": \"%s\"}", sec2);
		memset(&resp, 0, sizeof(resp));
		req_init(&f, "POST", "/auth/login", body);
		req_header(&f, "Content-Type", "application/json");
		nc_auth_handle(a, &f.r, &resp);
		ck_assert_uint_eq(resp.code, 200);
		cookie_value(resp_header(&resp, "Set-Cookie"), sid2, sizeof(sid2));
		nc_web_resp_release(&resp);
		/* revoked and made again under the same name: the old session does not come back */
		ck_assert_int_eq(nc_token_revoke(tdir, "short", &err), 0);
		make_token("short", NC_ROLE_VIEWER, NULL, 0, sec2, sizeof(sec2));
		memset(&resp, 0, sizeof(resp));
		req_init(&f, "GET", "/api/v1/cluster", NULL);
		req_cookie(&f, "nc_session", sid2);
		ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), -1);
		ck_assert_uint_eq(resp.code, 401);
		nc_web_resp_release(&resp);
	}

	/* logout: the session is gone, the cookie cleared */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "POST", "/auth/logout", NULL);
	req_cookie(&f, "nc_session", sid);
	nc_auth_handle(a, &f.r, &resp);
	ck_assert_uint_eq(resp.code, 200);
	HAS(resp_header(&resp, "Set-Cookie"), "Max-Age=0");
	nc_web_resp_release(&resp);
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/cluster", NULL);
	req_cookie(&f, "nc_session", sid);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), -1);
	ck_assert_uint_eq(resp.code, 401);
	ck_assert_int_eq(nc_auth_session_csrf(a, &f.r, csrf2, sizeof(csrf2)), -1);
	nc_web_resp_release(&resp);

	/* GET /auth/login: 405; another /auth/ path is not ours (code 0) */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/auth/login", NULL);
	nc_auth_handle(a, &f.r, &resp);
	ck_assert_uint_eq(resp.code, 405);
	nc_web_resp_release(&resp);
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/auth/callback", NULL);
	nc_auth_handle(a, &f.r, &resp);
	ck_assert_uint_eq(resp.code, 0);
	nc_web_resp_release(&resp);

	nc_auth_destroy(a);
	nc_spec_free(holder);
}
END_TEST


/* ---- a real serve on sim hosts, asked over a real listener (libcurl) ---- */

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

struct http_res {
	long code;
	CURLcode rc;
	struct nc_buf body;
	struct nc_buf headers;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	nc_buf_add(ud, p, sz * n);
	return sz * n;
}

/*
 * One request: method, url, body (NULL: none), headers (NULL-ended "Name: value"),
 * cafile for https (NULL: plain).  The result's buffers are released by http_free.
 */
static void http_do(struct http_res *res, const char *method, const char *url, const char *body,
		    const char *const *headers, const char *cafile)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	size_t i;

	memset(res, 0, sizeof(*res));
	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &res->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &res->headers);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	for (i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (body && !(headers && headers[0] && strncasecmp(headers[0], "Content-Type:", 13) == 0))
		hl = curl_slist_append(hl, "Content-Type: application/json");
	if (!body)
		hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	res->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->code);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (!res->body.buf)
		nc_buf_adds(&res->body, "");
	if (!res->headers.buf)
		nc_buf_adds(&res->headers, "");
}

static void http_free(struct http_res *res)
{
	nc_buf_release(&res->body);
	nc_buf_release(&res->headers);
}

static pid_t serve_pid;
static bool resp_hdr(const struct http_res *r, const char *name, char *out, size_t n);
static void state_token(const char *name, enum nc_role role, const char *tenant, char *secret, size_t n);

/* serve.yaml in tdir: the quickstart spec on sim hosts, listen on port, extra lines */
static void write_serve_yaml(int port, const char *extra)
{
	char *yaml = nc_xasprintf("source:\n  directory: %s/spec\ncacheDir: %s/cache\nstateDir: %s/state\n"
				  "interval: 1h\nlisten: 127.0.0.1:%d\ntelemetry: {enabled: false}\n%s",
				  tdir, tdir, tdir, port, extra);
	char *path = nc_xasprintf("%s/serve.yaml", tdir);

	ck_assert_int_eq(nc_run_inq(tdir, "[ -d spec ] || cp -r '%s/examples/quickstart' spec", NC_SOURCE_DIR), 0);
	ck_assert_int_eq(nc_write_file_atomic(path, yaml, strlen(yaml), 0600), 0);
	free(path);
	free(yaml);
}

/* starts serve in the background (PID in serve_pid) and waits for /healthz on base */
static void serve_up(const char *base, const char *cafile)
{
	char *cfg = nc_xasprintf("%s/serve.yaml", tdir), *logp = nc_xasprintf("%s/log", tdir);
	char *url = nc_xasprintf("%s/healthz", base);
	int i;

	serve_pid = fork();
	ck_assert_int_ge(serve_pid, 0);
	if (serve_pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(NC_BINARY, "novacron", "serve", "--config", cfg, (char *)NULL);
		_exit(127);
	}
	{
		/* for the registry's cleanup after a failed test */
		char *pf = nc_xasprintf("%s/pid", tdir), *pv = nc_xasprintf("%d\n", (int)serve_pid);

		ck_assert_int_eq(nc_write_file_atomic(pf, pv, strlen(pv), 0600), 0);
		free(pf);
		free(pv);
	}
	for (i = 0; i < 300; i++) {
		struct http_res r;

		if (waitpid(serve_pid, NULL, WNOHANG) == serve_pid) {
			serve_pid = 0;
			i = 300;
			break;
		}
		http_do(&r, "GET", url, NULL, NULL, cafile);
		http_free(&r);
		if (r.code == 200)
			break;
		usleep(100000);
	}
	if (i == 300) {
		struct nc_run lr;

		nc_run_in(&lr, tdir, "tail -20 log");
		ck_abort_msg("serve did not answer %s; log:\n%s", url, lr.out);
	}
	free(cfg);
	free(logp);
	free(url);
}

static void serve_down(void)
{
	char *logp = nc_xasprintf("%s/log", tdir), *log = NULL;
	size_t len;

	if (serve_pid > 0) {
		kill(serve_pid, SIGTERM);
		waitpid(serve_pid, NULL, 0);
		/* under NC_SANITIZE serve reports memory errors and leaks in its log */
		if (nc_read_file(logp, 8 << 20, &log, &len) == 0) {
			HASNT(log, "Sanitizer");
			HASNT(log, "runtime error");
			free(log);
		}
	}
	serve_pid = 0;
	free(logp);
}

/* a throwaway self-signed certificate for 127.0.0.1 (EC P-256), written as cert.pem and key.pem in tdir */
static void make_cert(void)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	char *cp = nc_xasprintf("%s/cert.pem", tdir), *kp = nc_xasprintf("%s/key.pem", tdir);
	FILE *f;

	ck_assert_ptr_nonnull(pk);
	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
	ck_assert_ptr_nonnull(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);
	f = fopen(cp, "w");
	ck_assert_ptr_nonnull(f);
	PEM_write_X509(f, x);
	fclose(f);
	umask(077);
	f = fopen(kp, "w");
	ck_assert_ptr_nonnull(f);
	chmod(kp, 0600);
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	umask(022);
	X509_free(x);
	EVP_PKEY_free(pk);
	free(cp);
	free(kp);
}

/* `novacron serve` that must refuse to start: its exit status and what it said */
static void serve_refused(const char *want)
{
	struct nc_run r;

	nc_run_in(&r, tdir, "timeout 30 $NC serve --config serve.yaml");
	ck_assert_msg(r.status == 1, "serve exited %d, not 1:\n%s", r.status, r.err);
	HAS(r.err, want);
	nc_run_free(&r);
}

START_TEST(test_auth_tls_listener)
{
	struct http_res r;
	char *extra, *base, *plain, *ca = nc_xasprintf("%s/cert.pem", tdir);
	int port = free_port();

	make_cert();
	extra = nc_xasprintf("tls: {certFile: %s/cert.pem, keyFile: %s/key.pem}\n", tdir, tdir);
	write_serve_yaml(port, extra);
	base = nc_xasprintf("https://127.0.0.1:%d", port);
	plain = nc_xasprintf("http://127.0.0.1:%d/healthz", port);
	serve_up(base, ca);
	/* https answers, verified against the certificate */
	free(base);
	base = nc_xasprintf("https://127.0.0.1:%d/status", port);
	http_do(&r, "GET", base, NULL, NULL, ca);
	ck_assert_int_eq(r.rc, CURLE_OK);
	ck_assert_int_eq(r.code, 200);
	http_free(&r);
	/* a session cookie over TLS is Secure */
	{
		char tk[64], body[96], set[512], *login = nc_xasprintf("https://127.0.0.1:%d/auth/login", port);

		state_token("tls-op", NC_ROLE_OPERATOR, NULL, tk, sizeof(tk));
		snprintf(body, sizeof(body), "{\"token\": \"%s\"}", tk);
		http_do(&r, "POST", login, body, NULL, ca);
		ck_assert_int_eq(r.code, 200);
		ck_assert(resp_hdr(&r, "Set-Cookie", set, sizeof(set)));
		HAS(set, "; Secure");
		HAS(set, "HttpOnly");
		http_free(&r);
		free(login);
	}
	/* plain HTTP gets no answer */
	http_do(&r, "GET", plain, NULL, NULL, NULL);
	ck_assert_msg(r.rc != CURLE_OK || r.code != 200, "plain HTTP answered %ld", r.code);
	http_free(&r);
	serve_down();
	free(base);
	free(plain);
	free(extra);
	free(ca);
}
END_TEST

START_TEST(test_auth_startup_refusals)
{
	char *extra;
	int port = free_port();

	/* outside loopback without tls: refused, naming the fix */
	write_serve_yaml(port, "");
	ck_assert_int_eq(nc_run_inq(tdir, "sed -i 's/^listen: 127.0.0.1:/listen: 0.0.0.0:/' serve.yaml"), 0);
	serve_refused("is not loopback and tls: is not set");
	serve_refused("insecureHttp");
	/* ... unless api.insecureHttp says so */
	ck_assert_int_eq(nc_run_inq(tdir, "printf 'api: {insecureHttp: true}\\n' >> serve.yaml"), 0);
	{
		char *base = nc_xasprintf("http://127.0.0.1:%d", port);

		serve_up(base, NULL);
		serve_down();
		free(base);
	}
	/* a key that is not the certificate's, a certificate that is not PEM, a key others can read */
	make_cert();
	ck_assert_int_eq(nc_run_inq(tdir, "mv key.pem key1.pem && mv cert.pem cert1.pem"), 0);
	make_cert();
	extra = nc_xasprintf("tls: {certFile: %s/cert.pem, keyFile: %s/key1.pem}\n", tdir, tdir);
	write_serve_yaml(port, extra);
	free(extra);
	serve_refused("is not the key of certFile");
	ck_assert_int_eq(nc_run_inq(tdir, "echo garbage > cert.pem"), 0);
	extra = nc_xasprintf("tls: {certFile: %s/cert.pem, keyFile: %s/key.pem}\n", tdir, tdir);
	write_serve_yaml(port, extra);
	free(extra);
	serve_refused("is not a PEM certificate");
	ck_assert_int_eq(nc_run_inq(tdir, "cp cert1.pem cert.pem && chmod 644 key.pem"), 0);
	serve_refused("chmod 600");
}
END_TEST

/* X-Hub-Signature-256 of body under key */
static void gh_sig(const char *key, const char *body, char *out, size_t n)
{
	unsigned char mac[32];
	unsigned int len = 0;
	size_t i, k;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, strlen(body), mac, &len);
	k = (size_t)snprintf(out, n, "X-Hub-Signature-256: sha256=");
	for (i = 0; i < len && k + 3 < n; i++)
		k += (size_t)snprintf(out + k, n - k, "%02x", mac[i]);
}

START_TEST(test_auth_webhooks)
{
	struct http_res r;
	char *extra, *base, *url, sig[128];
	const char *gh_secret = "gh-secret-0123456789abcdef", *gl_token = "gl-token-0123456789abcdef";
	const char *bearer = "bearer-0123456789abcdef";
	const char *body = "{\"ref\": \"refs/heads/main\", \"after\": \"abc\"}";
	int port = free_port();
	struct nc_run lr;

	ck_assert_int_eq(nc_run_inq(tdir, "umask 077; printf '%%s\\n' %s > gh; printf '%%s' %s > gl; printf '%%s' %s > tok",
				    gh_secret, gl_token, bearer), 0);
	extra = nc_xasprintf("tokenFile: %s/tok\nwebhooks: {githubSecretFile: %s/gh, gitlabTokenFile: %s/gl}\n", tdir,
			     tdir, tdir);
	write_serve_yaml(port, extra);
	base = nc_xasprintf("http://127.0.0.1:%d", port);
	url = nc_xasprintf("%s/webhook", base);
	serve_up(base, NULL);

	/* GitHub: a good signature, then the same delivery again (a replay), a bad signature, none */
	gh_sig(gh_secret, body, sig, sizeof(sig));
	{
		const char *h[] = { sig, "X-GitHub-Delivery: 11111111-2222", "X-GitHub-Event: push", NULL };

		http_do(&r, "POST", url, body, h, NULL);
		ck_assert_int_eq(r.code, 202);
		http_free(&r);
		http_do(&r, "POST", url, body, h, NULL);
		ck_assert_int_eq(r.code, 409);
		HAS(r.body.buf, "replay");
		http_free(&r);
	}
	{
		const char *h[] = { sig, "X-GitHub-Delivery: 33333333-4444", NULL };

		/* the same signature over another body */
		http_do(&r, "POST", url, "{\"ref\": \"refs/heads/evil\"}", h, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
	}
	gh_sig("not-the-secret-at-all", body, sig, sizeof(sig));
	{
		const char *h[] = { sig, "X-GitHub-Delivery: 55555555-6666", NULL };

		http_do(&r, "POST", url, body, h, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
	}
	/* GitLab: good and bad */
	{
		char good[96];
		const char *h[] = { good, NULL };
		const char *hb[] = { "X-Gitlab-Token: gl-token-0123456789abcdeX", NULL };

		snprintf(good, sizeof(good), "X-Gitlab-Token: %s", gl_token);
		http_do(&r, "POST", url, body, h, NULL);
		ck_assert_int_eq(r.code, 202);
		http_free(&r);
		http_do(&r, "POST", url, body, hb, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
	}
	/* the bearer token still works; a wrong one and none do not */
	{
		char good[96];
		const char *h[] = { good, NULL };
		const char *hb[] = { "Authorization: Bearer bearer-0123456789abcdeX", NULL };

		snprintf(good, sizeof(good), "Authorization: Bearer %s", bearer);
		http_do(&r, "POST", url, NULL, h, NULL);
		ck_assert_int_eq(r.code, 202);
		http_free(&r);
		http_do(&r, "POST", url, NULL, hb, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
		http_do(&r, "POST", url, NULL, NULL, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
	}
	serve_down();
	/* logged: the replay and the refusals, never a secret */
	nc_run_in(&lr, tdir, "cat log");
	HAS(lr.out, "refused a webhook from 127.0.0.1: GitHub delivery 11111111-2222 was seen already");
	HAS(lr.out, "wrong X-Hub-Signature-256");
	HAS(lr.out, "wrong X-Gitlab-Token");
	HASNT(lr.out, gh_secret);
	HASNT(lr.out, gl_token);
	HASNT(lr.out, bearer);
	nc_run_free(&lr);
	free(extra);
	free(base);
	free(url);
}
END_TEST

/* the value of header name in a response's headers (first match) into out; false when absent */
static bool resp_hdr(const struct http_res *r, const char *name, char *out, size_t n)
{
	const char *p = r->headers.buf;
	size_t nl = strlen(name);

	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			len -= (size_t)(v - p);
			while (len && (v[len - 1] == '\r' || v[len - 1] == '\n'))
				len--;
			snprintf(out, n, "%.*s", (int)len, v);
			return true;
		}
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* the JSON string member key of body (a flat search: the test's own answers) into out */
static void json_member(const char *body, const char *key, char *out, size_t n)
{
	char *k = nc_xasprintf("\"%s\": \"", key);
	const char *p = strstr(body, k);

	ck_assert_msg(p != NULL, "no %s in %s", key, body);
	p += strlen(k);
	snprintf(out, n, "%.*s", (int)strcspn(p, "\""), p);
	free(k);
}

/* the web part answers here (http.c hands /auth/ to web.c) */
static bool web_part_up(const char *base)
{
	struct http_res r;
	char *url = nc_xasprintf("%s/auth/login", base);
	bool up;

	http_do(&r, "POST", url, "{}", NULL, NULL);
	up = r.code == 400 || r.code == 401;   /* a JSON refusal, not http.c's 404 or 405 */
	http_free(&r);
	free(url);
	return up;
}

static void state_dir_make(void)
{
	char *sd = nc_xasprintf("%s/state", tdir);

	ck_assert_int_eq(nc_mkdir_p_mode(sd, 0700), 0);
	free(sd);
}

/* a token in serve's state dir (tdir/state) */
static void state_token(const char *name, enum nc_role role, const char *tenant, char *secret, size_t n)
{
	struct nc_token_info info;
	struct nc_err err = { "" };
	char *sd = nc_xasprintf("%s/state", tdir);

	memset(&info, 0, sizeof(info));
	snprintf(info.name, sizeof(info.name), "%s", name);
	info.role = role;
	if (tenant)
		snprintf(info.tenants[info.ntenants++], sizeof(info.tenants[0]), "%s", tenant);
	info.created = time(NULL);
	ck_assert_msg(nc_token_create(sd, &info, secret, n, &err) == 0, "%s", err.msg);
	free(sd);
}

START_TEST(test_auth_sessions_over_http)
{
	struct http_res r;
	char *base, *url, body[128], cookie[160], csrf[64], set[512], bearer[96], hcookie[200], hcsrf[96];
	char op[64], view[64];
	int port = free_port();

	write_serve_yaml(port, "");
	state_dir_make();
	state_token("op", NC_ROLE_OPERATOR, NULL, op, sizeof(op));
	state_token("view", NC_ROLE_VIEWER, NULL, view, sizeof(view));
	base = nc_xasprintf("http://127.0.0.1:%d", port);
	serve_up(base, NULL);
	ck_assert_msg(web_part_up(base), "serve's listener does not route /auth/ to the web part");
	/* a wrong token: 401, no cookie */
	url = nc_xasprintf("%s/auth/login", base);
	http_do(&r, "POST", url, "{\"token\": \"nc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", NULL, NULL);
	ck_assert_int_eq(r.code, 401);
	ck_assert(!resp_hdr(&r, "Set-Cookie", set, sizeof(set)));
	http_free(&r);
	/* a good token sent as a form: refused (login CSRF) */
	snprintf(body, sizeof(body), "{\"token\": \"%s\"}", op);
	{
		const char *h[] = { "Content-Type: application/x-www-form-urlencoded", NULL };

		http_do(&r, "POST", url, body, h, NULL);
		ck_assert_int_eq(r.code, 415);
		ck_assert(!resp_hdr(&r, "Set-Cookie", set, sizeof(set)));
		http_free(&r);
	}
	/* login: the cookie's flags */
	http_do(&r, "POST", url, body, NULL, NULL);
	ck_assert_int_eq(r.code, 200);
	ck_assert(resp_hdr(&r, "Set-Cookie", set, sizeof(set)));
	HAS(set, "HttpOnly");
	HAS(set, "SameSite=Strict");
	HAS(set, "Path=/");
	HASNT(set, "Secure");
	HASNT(r.body.buf, op);
	snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(set, ";"), set);
	json_member(r.body.buf, "csrf", csrf, sizeof(csrf));
	http_free(&r);
	free(url);
	snprintf(hcookie, sizeof(hcookie), "Cookie: %s", cookie);
	/* /me shows the session its csrf */
	url = nc_xasprintf("%s/api/v1/me", base);
	{
		const char *h[] = { hcookie, NULL };
		char me_csrf[64];

		http_do(&r, "GET", url, NULL, h, NULL);
		ck_assert_int_eq(r.code, 200);
		HAS(r.body.buf, "token:op");
		json_member(r.body.buf, "csrf", me_csrf, sizeof(me_csrf));
		ck_assert_str_eq(me_csrf, csrf);
		http_free(&r);
	}
	free(url);
	/* a session's write: without the header 403, a wrong one 403, the right one passes */
	url = nc_xasprintf("%s/api/v1/sync", base);
	{
		const char *h0[] = { hcookie, NULL };
		const char *h1[] = { hcookie, "X-CSRF-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL };
		const char *h2[] = { hcookie, hcsrf, NULL };

		snprintf(hcsrf, sizeof(hcsrf), "X-CSRF-Token: %s", csrf);
		http_do(&r, "POST", url, "{}", h0, NULL);
		ck_assert_int_eq(r.code, 403);
		http_free(&r);
		http_do(&r, "POST", url, "{}", h1, NULL);
		ck_assert_int_eq(r.code, 403);
		http_free(&r);
		http_do(&r, "POST", url, "{}", h2, NULL);
		ck_assert_msg(r.code / 100 == 2, "sync with the CSRF token: %ld %s", r.code, r.body.buf);
		http_free(&r);
	}
	/* bearer: the operator needs no CSRF token; a viewer may not write; a wrong token is 401 */
	{
		const char *h[] = { bearer, NULL };
		const char *hb[] = { "Authorization: Bearer nc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL };

		snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", op);
		http_do(&r, "POST", url, "{}", h, NULL);
		ck_assert_msg(r.code / 100 == 2, "operator sync: %ld %s", r.code, r.body.buf);
		http_free(&r);
		snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", view);
		http_do(&r, "POST", url, "{}", h, NULL);
		ck_assert_int_eq(r.code, 403);
		http_free(&r);
		http_do(&r, "POST", url, "{}", hb, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
		http_do(&r, "POST", url, "{}", NULL, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
	}
	free(url);
	/* revoked while serve runs: refused at once */
	{
		struct nc_err err = { "" };
		char *sd = nc_xasprintf("%s/state", tdir);
		const char *h[] = { bearer, NULL };

		url = nc_xasprintf("%s/api/v1/cluster", base);
		http_do(&r, "GET", url, NULL, h, NULL);
		ck_assert_int_eq(r.code, 200);
		http_free(&r);
		ck_assert_int_eq(nc_token_revoke(sd, "view", &err), 0);
		http_do(&r, "GET", url, NULL, h, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
		free(url);
		free(sd);
	}
	/* a flood of wrong tokens: all refused, and not each one logged (20 lines per 10 s) */
	{
		const char *hb[] = { "Authorization: Bearer nc_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", NULL };
		struct nc_run lr;
		int n;

		url = nc_xasprintf("%s/api/v1/hosts", base);
		for (n = 0; n < 100; n++) {
			http_do(&r, "GET", url, NULL, hb, NULL);
			ck_assert_int_eq(r.code, 401);
			http_free(&r);
		}
		free(url);
		nc_run_in(&lr, tdir, "grep -c 'refused GET /api/v1/hosts' log");
		ck_assert_msg(atoi(lr.out) >= 1 && atoi(lr.out) < 100, "%s lines about 100 refusals", lr.out);
		nc_run_free(&lr);
	}
	/* logout ends the session */
	url = nc_xasprintf("%s/auth/logout", base);
	{
		const char *h[] = { hcookie, NULL };

		http_do(&r, "POST", url, "{}", h, NULL);
		ck_assert_int_eq(r.code, 200);
		ck_assert(resp_hdr(&r, "Set-Cookie", set, sizeof(set)));
		HAS(set, "Max-Age=0");
		http_free(&r);
		free(url);
		url = nc_xasprintf("%s/api/v1/me", base);
		http_do(&r, "GET", url, NULL, h, NULL);
		ck_assert_int_eq(r.code, 401);
		http_free(&r);
	}
	free(url);
	serve_down();
	free(base);
}
END_TEST

/*
 * THE ROLE WALK: every path and method of the API, with no credentials, a
 * viewer, an operator, an admin and an operator of another tenant.  The
 * table is checked against docs/openapi.yaml when that file exists (every
 * operation there must be here).  need: the lowest role allowed; vm: the
 * path names one VM (another tenant's caller gets 404); get answers 200 to
 * those allowed; a write by those allowed is anything but 401 and 403 (a
 * verb may refuse its arguments: 400, 404, 409); cluster: pause, resume
 * and approve act on every tenant, and the federation view shows whole
 * clusters, so a principal scoped to tenants gets 403 (reconciler/verbs.c,
 * web.c).
 */
struct walk {
	const char *method, *path, *spec_path;
	enum nc_role need;
	bool vm;
	bool cluster;                    /* acts on the whole cluster: 403 for a principal scoped to tenants */
};

static const struct walk walk_table[] = {
	{ "GET", "/api/v1/me", "/api/v1/me", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/cluster", "/api/v1/cluster", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/hosts", "/api/v1/hosts", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/hosts/kvm1", "/api/v1/hosts/{name}", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/vms", "/api/v1/vms", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/vms/web-1", "/api/v1/vms/{name}", NC_ROLE_VIEWER, true, false },
	{ "GET", "/api/v1/plan", "/api/v1/plan", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/passes", "/api/v1/passes", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/events", "/api/v1/events", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/backups", "/api/v1/backups", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/alerts", "/api/v1/alerts", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/tenants", "/api/v1/tenants", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/audit", "/api/v1/audit", NC_ROLE_ADMIN, false, false },
	{ "GET", "/api/v1/federation", "/api/v1/federation", NC_ROLE_VIEWER, false, true },
	{ "GET", "/api/v1/hosts/kvm1/graphs", "/api/v1/hosts/{name}/graphs", NC_ROLE_VIEWER, false, false },
	{ "GET", "/api/v1/hosts/kvm1/graphs/cpu_usage.png", "/api/v1/hosts/{name}/graphs/{metric}.png", NC_ROLE_VIEWER,
	  false, false },
	{ "GET", "/api/v1/vms/web-1/graphs", "/api/v1/vms/{name}/graphs", NC_ROLE_VIEWER, true, false },
	{ "GET", "/api/v1/vms/web-1/graphs/cpu_usage.png", "/api/v1/vms/{name}/graphs/{metric}.png", NC_ROLE_VIEWER,
	  true, false },
	{ "POST", "/api/v1/sync", "/api/v1/sync", NC_ROLE_OPERATOR, false, false },
	{ "POST", "/api/v1/pause", "/api/v1/pause", NC_ROLE_OPERATOR, false, true },
	{ "POST", "/api/v1/resume", "/api/v1/resume", NC_ROLE_OPERATOR, false, true },
	{ "POST", "/api/v1/plan/approve", "/api/v1/plan/approve", NC_ROLE_OPERATOR, false, true },
	{ "POST", "/api/v1/vms/web-1/backup", "/api/v1/vms/{name}/backup", NC_ROLE_OPERATOR, true, false },
	{ "POST", "/api/v1/vms/web-1/restore", "/api/v1/vms/{name}/restore", NC_ROLE_OPERATOR, true, false },
	{ "POST", "/api/v1/hosts/kvm1/fence/confirm", "/api/v1/hosts/{name}/fence/confirm", NC_ROLE_ADMIN, false, false },
};

/* the operations of docs/openapi.yaml ("GET /api/v1/..."), read with libyaml; 0 when there is no such file */
static size_t openapi_ops(char ops[][160], size_t max)
{
	char *path = nc_xasprintf("%s/docs/openapi.yaml", NC_SOURCE_DIR);
	FILE *f = fopen(path, "rb");
	yaml_parser_t ps;
	yaml_document_t doc;
	yaml_node_t *root, *paths = NULL;
	yaml_node_pair_t *pr, *mp;
	size_t n = 0;

	free(path);
	if (!f)
		return 0;
	ck_assert(yaml_parser_initialize(&ps));
	yaml_parser_set_input_file(&ps, f);
	ck_assert_msg(yaml_parser_load(&ps, &doc), "docs/openapi.yaml is not YAML");
	root = yaml_document_get_root_node(&doc);
	ck_assert(root && root->type == YAML_MAPPING_NODE);
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key);

		if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, "paths") == 0)
			paths = yaml_document_get_node(&doc, pr->value);
	}
	ck_assert_msg(paths && paths->type == YAML_MAPPING_NODE, "docs/openapi.yaml has no paths:");
	for (pr = paths->data.mapping.pairs.start; pr < paths->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key), *v = yaml_document_get_node(&doc, pr->value);

		if (k->type != YAML_SCALAR_NODE || v->type != YAML_MAPPING_NODE)
			continue;
		for (mp = v->data.mapping.pairs.start; mp < v->data.mapping.pairs.top; mp++) {
			yaml_node_t *m = yaml_document_get_node(&doc, mp->key);
			const char *meth = (const char *)m->data.scalar.value;
			char up[16];
			size_t i;

			if (m->type != YAML_SCALAR_NODE || strlen(meth) >= sizeof(up) ||
			    (strcmp(meth, "get") && strcmp(meth, "post") && strcmp(meth, "put") && strcmp(meth, "delete") &&
			     strcmp(meth, "patch")))
				continue;
			for (i = 0; meth[i]; i++)
				up[i] = (char)(meth[i] - 'a' + 'A');
			up[i] = '\0';
			if (n < max)
				snprintf(ops[n++], sizeof(ops[0]), "%s %s", up, (char *)k->data.scalar.value);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&ps);
	fclose(f);
	return n;
}

/* "/vms/{vm}/backup" -> "/vms/{}/backup": parameters compared by place, not by name */
static void params_blank(char *s)
{
	char *o = s;

	while (*s) {
		*o++ = *s;
		if (*s++ == '{') {
			while (*s && *s != '}')
				s++;
		}
	}
	*o = '\0';
}

START_TEST(test_auth_role_walk)
{
	static char ops[128][160];
	struct http_res r;
	char *base, tok[4][64], hdr[4][320];
	static const char *const who[] = { "viewer", "operator", "admin", "other-tenant operator" };
	static const enum nc_role roles[] = { NC_ROLE_VIEWER, NC_ROLE_OPERATOR, NC_ROLE_ADMIN, NC_ROLE_OPERATOR };
	size_t nops, i, k;
	int port = free_port(), checked = 0;

	/* the table covers every operation the OpenAPI file documents */
	nops = openapi_ops(ops, 128);
	for (i = 0; i < nops; i++) {
		bool found = false;

		if (strstr(ops[i], "/api/v1/") == NULL || strstr(ops[i], "/events/stream"))
			continue;              /* the stream: an open connection, walked by the api suite */
		params_blank(ops[i]);
		for (k = 0; k < NC_ARRAY_SIZE(walk_table) && !found; k++) {
			char one[160];

			snprintf(one, sizeof(one), "%s %s", walk_table[k].method, walk_table[k].spec_path);
			params_blank(one);
			found = strcmp(one, ops[i]) == 0;
		}
		ck_assert_msg(found, "docs/openapi.yaml has %s: add it to the role walk", ops[i]);
	}

	/* GET /api/v1/federation reads this serve itself */
	snprintf(hdr[0], sizeof(hdr[0]), "federation:\n  - {cluster: self, url: \"http://127.0.0.1:%d\"}\n", port);
	write_serve_yaml(port, hdr[0]);
	state_dir_make();
	state_token("v", NC_ROLE_VIEWER, NULL, tok[0], sizeof(tok[0]));
	state_token("o", NC_ROLE_OPERATOR, NULL, tok[1], sizeof(tok[1]));
	state_token("a", NC_ROLE_ADMIN, NULL, tok[2], sizeof(tok[2]));
	state_token("t", NC_ROLE_OPERATOR, "team-elsewhere", tok[3], sizeof(tok[3]));
	for (k = 0; k < 4; k++)
		snprintf(hdr[k], sizeof(hdr[k]), "Authorization: Bearer %s", tok[k]);
	base = nc_xasprintf("http://127.0.0.1:%d", port);
	serve_up(base, NULL);
	ck_assert_msg(web_part_up(base), "serve's listener does not route /auth/ to the web part");
	/* the first pass published its hosts and VMs */
	{
		char *url = nc_xasprintf("%s/api/v1/vms", base);
		const char *h[] = { hdr[2], NULL };
		int n;

		for (n = 0; n < 300; n++) {
			bool done;

			http_do(&r, "GET", url, NULL, h, NULL);
			done = r.code == 200 && strstr(r.body.buf, "\"web-1\"");
			http_free(&r);
			if (done)
				break;
			usleep(100000);
		}
		ck_assert_msg(n < 300, "no first pass in 30 s");
		free(url);
	}
	for (i = 0; i < NC_ARRAY_SIZE(walk_table); i++) {
		const struct walk *w = &walk_table[i];
		char *url = nc_xasprintf("%s%s", base, w->path);
		bool get = strcmp(w->method, "GET") == 0;

		/* no credentials */
		http_do(&r, w->method, url, get ? NULL : "{}", NULL, NULL);
		ck_assert_msg(r.code == 401, "%s %s without credentials: %ld %s", w->method, w->path, r.code, r.body.buf);
		http_free(&r);
		for (k = 0; k < 4; k++) {
			const char *h[] = { hdr[k], NULL };

			http_do(&r, w->method, url, get ? NULL : "{}", h, NULL);
			if (roles[k] < w->need || (k == 3 && w->cluster))
				ck_assert_msg(r.code == 403, "%s %s as %s: %ld, not 403: %s", w->method, w->path, who[k],
					      r.code, r.body.buf);
			else if (k == 3 && w->vm)
				ck_assert_msg(r.code == 404, "%s %s as %s: %ld, not 404: %s", w->method, w->path, who[k],
					      r.code, r.body.buf);
			else if (get && strstr(w->path, ".png"))   /* a graph: this serve keeps no history */
				ck_assert_msg(r.code == 404 && strstr(r.body.buf, "no history for"), "%s %s as %s: %ld: %s",
					      w->method, w->path, who[k], r.code, r.body.buf);
			else if (get)
				ck_assert_msg(r.code == 200, "%s %s as %s: %ld, not 200: %s", w->method, w->path, who[k],
					      r.code, r.body.buf);
			else
				ck_assert_msg(r.code != 401 && r.code != 403 && r.code < 500, "%s %s as %s: %ld: %s",
					      w->method, w->path, who[k], r.code, r.body.buf);
			/* another tenant's caller never sees a VM of no tenant in a list */
			if (k == 3 && get && r.code == 200 && strcmp(w->path, "/api/v1/vms") == 0)
				HASNT(r.body.buf, "\"web-1\"");
			http_free(&r);
			checked++;
		}
		free(url);
	}
	ck_assert_int_eq(checked, (int)NC_ARRAY_SIZE(walk_table) * 4);
	serve_down();
	free(base);
}
END_TEST

/* attack: an event stream outlives its credentials.  A session's stream after logout, a token's
 * after the token is revoked: serve ends each, and no event reaches it after the end of its
 * credentials. */
static int stream_open(int port, const char *hdr)
{
	struct sockaddr_in sa;
	struct timeval tv = { 20, 0 };
	char *rq = nc_xasprintf("GET /api/v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n\r\n", hdr);
	char buf[4096];
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(nc_write_all(fd, rq, strlen(rq)), 0);
	free(rq);
	/* the stream is open once its first comment is in */
	while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, ": novacron events"))
			break;
	}
	ck_assert_msg(got > 0 && strstr(buf, "200 OK") && strstr(buf, ": novacron events"), "stream: %.*s", (int)got, buf);
	return fd;
}

/* what the stream says until serve ends it (or some 12 s pass); *ended: serve closed it */
static char *stream_rest(int fd, bool *ended)
{
	struct nc_buf b = NC_BUF_INIT;
	char buf[4096];
	struct timespec t0, t;
	ssize_t n;

	*ended = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (t = t0; t.tv_sec - t0.tv_sec < 12; clock_gettime(CLOCK_MONOTONIC, &t)) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0) {
			*ended = true;
			break;
		}
		if (n < 0)
			break;
		nc_buf_add(&b, buf, (size_t)n);
	}
	close(fd);
	if (!b.buf)
		nc_buf_adds(&b, "");
	return nc_buf_detach(&b, NULL);
}

START_TEST(test_auth_stream_ends_with_credentials)
{
	struct http_res r;
	char *base, *url, body[128], set[512], cookie[200], hadm[128], hop[128], *rest;
	char adm[64], op[64], ci[64];
	int port = free_port(), fd, fd2;
	bool ended;

	write_serve_yaml(port, "");
	state_dir_make();
	state_token("adm", NC_ROLE_ADMIN, NULL, adm, sizeof(adm));
	state_token("op", NC_ROLE_OPERATOR, NULL, op, sizeof(op));
	state_token("ci", NC_ROLE_VIEWER, NULL, ci, sizeof(ci));
	snprintf(hadm, sizeof(hadm), "Authorization: Bearer %s", adm);
	base = nc_xasprintf("http://127.0.0.1:%d", port);
	serve_up(base, NULL);
	/* a session */
	url = nc_xasprintf("%s/auth/login", base);
	snprintf(body, sizeof(body), "{\"token\": \"%s\"}", op);
	http_do(&r, "POST", url, body, NULL, NULL);
	ck_assert_int_eq(r.code, 200);
	ck_assert(resp_hdr(&r, "Set-Cookie", set, sizeof(set)));
	snprintf(cookie, sizeof(cookie), "Cookie: %.*s", (int)strcspn(set, ";"), set);
	http_free(&r);
	free(url);
	fd = stream_open(port, cookie);
	snprintf(hop, sizeof(hop), "Authorization: Bearer %s", ci);
	fd2 = stream_open(port, hop);
	/* the session ends, the token ci is revoked; then a pass makes events */
	url = nc_xasprintf("%s/auth/logout", base);
	{
		const char *h[] = { cookie, NULL };

		http_do(&r, "POST", url, "{}", h, NULL);
		ck_assert_int_eq(r.code, 200);
		http_free(&r);
	}
	free(url);
	ck_assert_int_eq(nc_run_inq(tdir, "$NC token revoke ci --state-dir state >/dev/null"), 0);
	url = nc_xasprintf("%s/api/v1/sync", base);
	{
		const char *h[] = { hadm, NULL };

		http_do(&r, "POST", url, "{}", h, NULL);
		ck_assert_int_eq(r.code, 202);
		http_free(&r);
	}
	free(url);
	rest = stream_rest(fd, &ended);
	HASNT(rest, "event: pass");
	ck_assert_msg(ended, "the session's stream went on after logout: %s", rest);
	free(rest);
	rest = stream_rest(fd2, &ended);
	HASNT(rest, "event: pass");
	ck_assert_msg(ended, "the revoked token's stream went on: %s", rest);
	free(rest);
	serve_down();
	free(base);
}
END_TEST

/* attack: a captured GitHub delivery sent again under a new X-GitHub-Delivery id (the id is not
 * signed): the same signed body is a replay whatever the id */
START_TEST(test_auth_webhook_replay_new_id)
{
	struct http_res r;
	char *extra, *base, *url, sig[128];
	const char *gh_secret = "gh-secret-0123456789abcdef";
	const char *body = "{\"ref\": \"refs/heads/main\", \"after\": \"def\"}";
	int port = free_port();

	ck_assert_int_eq(nc_run_inq(tdir, "umask 077; printf '%%s\\n' %s > gh", gh_secret), 0);
	extra = nc_xasprintf("webhooks: {githubSecretFile: %s/gh}\n", tdir);
	write_serve_yaml(port, extra);
	base = nc_xasprintf("http://127.0.0.1:%d", port);
	url = nc_xasprintf("%s/webhook", base);
	serve_up(base, NULL);
	gh_sig(gh_secret, body, sig, sizeof(sig));
	{
		const char *h1[] = { sig, "X-GitHub-Delivery: aaaaaaaa-0001", "X-GitHub-Event: push", NULL };
		const char *h2[] = { sig, "X-GitHub-Delivery: aaaaaaaa-0002", "X-GitHub-Event: push", NULL };
		const char *body2 = "{\"ref\": \"refs/heads/main\", \"after\": \"fed\"}";
		char sig2[128];
		const char *h3[] = { sig2, "X-GitHub-Delivery: aaaaaaaa-0003", "X-GitHub-Event: push", NULL };

		http_do(&r, "POST", url, body, h1, NULL);
		ck_assert_int_eq(r.code, 202);
		http_free(&r);
		http_do(&r, "POST", url, body, h2, NULL);
		ck_assert_msg(r.code == 409, "the same signed body under a new delivery id: %ld %s", r.code, r.body.buf);
		HAS(r.body.buf, "replay");
		http_free(&r);
		/* another push is no replay */
		gh_sig(gh_secret, body2, sig2, sizeof(sig2));
		http_do(&r, "POST", url, body2, h3, NULL);
		ck_assert_int_eq(r.code, 202);
		http_free(&r);
	}
	serve_down();
	free(url);
	free(base);
	free(extra);
}
END_TEST

/* attack: one viewer's token logs in again and again: the sessions were a ring of 10,000, so it
 * pushed out every other user's session (an admin's too); a principal's sessions now replace its own */
START_TEST(test_auth_session_flood)
{
	struct nc_serve_config cfg;
	struct nc_spec *holder;
	struct nc_auth *a;
	struct nc_err err = { "" };
	struct nc_principal p;
	struct nc_web_resp resp;
	struct fake f;
	char adm[64], view[64], body[128], sid[64], first[64] = "";
	unsigned i;

	load_cfg(&cfg, &holder, "");
	make_token("adm", NC_ROLE_ADMIN, NULL, 0, adm, sizeof(adm));
	make_token("view", NC_ROLE_VIEWER, NULL, 0, view, sizeof(view));
	ck_assert_int_eq(nc_auth_create(&a, &cfg, tdir, &err), 0);
	snprintf(body, sizeof(body), "{\"token\": \"%s\"}", adm);
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "POST", "/auth/login", body);
	req_header(&f, "Content-Type", "application/json");
	nc_auth_handle(a, &f.r, &resp);
	ck_assert_uint_eq(resp.code, 200);
	cookie_value(resp_header(&resp, "Set-Cookie"), sid, sizeof(sid));
	nc_web_resp_release(&resp);
	snprintf(body, sizeof(body), "{\"token\": \"%s\"}", view);
	for (i = 0; i < NC_AUTH_MAX_SESSIONS + 10; i++) {
		memset(&resp, 0, sizeof(resp));
		req_init(&f, "POST", "/auth/login", body);
		req_header(&f, "Content-Type", "application/json");
		nc_auth_handle(a, &f.r, &resp);
		ck_assert_uint_eq(resp.code, 200);
		if (i == 0)
			cookie_value(resp_header(&resp, "Set-Cookie"), first, sizeof(first));
		nc_web_resp_release(&resp);
	}
	/* the admin's session holds; the flooder's oldest is gone */
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/me", NULL);
	req_cookie(&f, "nc_session", sid);
	ck_assert_msg(nc_auth_identify(a, &f.r, &p, &resp) == 0, "the admin's session was pushed out");
	ck_assert_str_eq(p.who, "token:adm");
	nc_web_resp_release(&resp);
	memset(&resp, 0, sizeof(resp));
	req_init(&f, "GET", "/api/v1/me", NULL);
	req_cookie(&f, "nc_session", first);
	ck_assert_int_eq(nc_auth_identify(a, &f.r, &p, &resp), -1);
	nc_web_resp_release(&resp);
	nc_auth_destroy(a);
	nc_spec_free(holder);
}
END_TEST

/* attack: a write whose path holds a URL with credentials: the audit log redacts them, the audit
 * event (GET /api/v1/events, the stream) carried them as sent */
START_TEST(test_auth_audit_event_redacted)
{
	struct http_res r;
	char *base, *url, hadm[128], adm[64];
	int port = free_port();

	write_serve_yaml(port, "");
	state_dir_make();
	state_token("adm", NC_ROLE_ADMIN, NULL, adm, sizeof(adm));
	snprintf(hadm, sizeof(hadm), "Authorization: Bearer %s", adm);
	base = nc_xasprintf("http://127.0.0.1:%d", port);
	serve_up(base, NULL);
	{
		const char *h[] = { hadm, NULL };

		url = nc_xasprintf("%s/api/v1/vms/http://user:s3cretpw@example.com/restore", base);
		http_do(&r, "POST", url, "{}", h, NULL);
		ck_assert_int_ge(r.code, 400);
		HASNT(r.body.buf, "s3cretpw");
		http_free(&r);
		free(url);
		url = nc_xasprintf("%s/api/v1/events", base);
		http_do(&r, "GET", url, NULL, h, NULL);
		ck_assert_int_eq(r.code, 200);
		HAS(r.body.buf, "\"type\": \"audit\"");
		HASNT(r.body.buf, "s3cretpw");
		http_free(&r);
		free(url);
	}
	serve_down();
	free(base);
}
END_TEST

Suite *nc_suite_auth(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_unchecked_fixture(tc, registry_setup, registry_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_auth_token_cli);
	tcase_add_test(tc, test_auth_identify_tokens);
	tcase_add_test(tc, test_auth_roles_bindings);
	tcase_add_test(tc, test_auth_sessions_csrf);
	tcase_add_test(tc, test_auth_tls_listener);
	tcase_add_test(tc, test_auth_startup_refusals);
	tcase_add_test(tc, test_auth_webhooks);
	tcase_add_test(tc, test_auth_sessions_over_http);
	tcase_add_test(tc, test_auth_role_walk);
	tcase_add_test(tc, test_auth_stream_ends_with_credentials);
	tcase_add_test(tc, test_auth_webhook_replay_new_id);
	tcase_add_test(tc, test_auth_session_flood);
	tcase_add_test(tc, test_auth_audit_event_redacted);
	suite_add_tcase(s, tc);
	return s;
}
