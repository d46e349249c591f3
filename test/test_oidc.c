/*
 * test_oidc.c - OpenID Connect login for real: the project's own test
 * provider (test/oidc/provider.mjs on Node.js, started with posix_spawn)
 * and a real `novacron serve` whose api.oidc points at it; the test is the
 * browser: it follows the redirects by hand with libcurl and keeps the
 * cookies.  The provider and serve are started once for the tcase (in its
 * unchecked fixture, so every test's process sees them) and stopped by PID.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "../reconciler/auth.h"
#include "../reconciler/oidc-jwt.h"
#include "../reconciler/oidc.h"
#include "../reconciler/serve.h"
#include "../spec/diag.h"
#include "tests.h"
#include "testutil.h"

extern char **environ;

#define CLIENT_SECRET "s3cret-of-the-test-client"

static char tdir[64];
static char skip_why[256];        /* the suite cannot run here: why */
static char unrouted[256];        /* serve does not route /auth/ yet: why */
static char setup_error[1024];    /* it should have run and did not */
static pid_t provider_pid, serve_pid, tls_provider_pid, public_provider_pid;
static int provider_port, serve_port, tls_provider_port, public_provider_port;

/* node on PATH, or false */
static bool have_node(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	if (!path)
		return false;
	copy = nc_xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *p = nc_xasprintf("%s/node", dir);

		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* starts a provider with these options; its "port N" line read within 30 s */
static int provider_start(char *const *opts, pid_t *pid, int *port)
{
	posix_spawn_file_actions_t fa;
	char *script = nc_xasprintf("%s/test/oidc/provider.mjs", NC_SOURCE_DIR);
	char *argv[24] = { "node", script, "--client-id", "novacron" };
	char line[128];
	size_t len = 0, n = 4;
	int fds[2], rc = -1;
	struct pollfd pfd;
	time_t deadline = time(NULL) + 30;

	for (; *opts && n < NC_ARRAY_SIZE(argv) - 1; opts++)
		argv[n++] = *opts;
	argv[n] = NULL;
	if (pipe(fds) < 0)
		goto out_free;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	errno = posix_spawnp(pid, "node", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (errno) {
		snprintf(setup_error, sizeof(setup_error), "cannot start node: %s", strerror(errno));
		*pid = 0;
		goto out;
	}
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (len < sizeof(line) - 1 && !memchr(line, '\n', len) && time(NULL) < deadline) {
		ssize_t got;

		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		got = read(fds[0], line + len, sizeof(line) - 1 - len);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	line[len] = 0;
	if (sscanf(line, "port %d", port) != 1) {
		snprintf(setup_error, sizeof(setup_error), "the provider did not say its port: '%s'", line);
		goto out;
	}
	rc = 0;
out:
	close(fds[0]);
out_free:
	free(script);
	return rc;
}

/* a throwaway self-signed certificate for 127.0.0.1 (EC P-256): cert.pem and key.pem in tdir */
static int make_cert(void)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	char *cp = nc_xasprintf("%s/cert.pem", tdir), *kp = nc_xasprintf("%s/key.pem", tdir);
	FILE *f = NULL, *g = NULL;
	int rc = -1;

	if (!pk || !x)
		goto out;
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
	if (!ext || !X509_add_ext(x, ext, -1) || X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	f = fopen(cp, "w");
	g = fopen(kp, "w");
	if (!f || !g || chmod(kp, 0600) < 0 || !PEM_write_X509(f, x) ||
	    !PEM_write_PrivateKey(g, pk, NULL, NULL, 0, NULL, NULL))
		goto out;
	rc = 0;
out:
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	if (rc < 0)
		snprintf(setup_error, sizeof(setup_error), "cannot make a test certificate in %s", tdir);
	X509_EXTENSION_free(ext);
	X509_free(x);
	EVP_PKEY_free(pk);
	free(cp);
	free(kp);
	return rc;
}

/* GET url: the status, the body (caller frees) and where it redirects (caller frees) */
static long get(CURL *c, const char *url, char **body, char **location)
{
	struct nc_buf b = NC_BUF_INIT;
	long code = 0;
	char *loc = NULL;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
	}
	if (location)
		*location = loc ? nc_xstrdup(loc) : NULL;
	if (body)
		*body = nc_buf_detach(&b, NULL);
	nc_buf_release(&b);
	return code;
}

static size_t to_buf(char *p, size_t size, size_t nmemb, void *u)
{
	nc_buf_add(u, p, size * nmemb);
	return size * nmemb;
}

/* a new browser: no cookies yet */
static CURL *browser(void)
{
	CURL *c = curl_easy_init();

	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");     /* keep cookies in memory */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	return c;
}

static bool has_cookie(CURL *c, const char *name)
{
	struct curl_slist *list = NULL, *l;
	bool found = false;

	curl_easy_getinfo(c, CURLINFO_COOKIELIST, &list);
	for (l = list; l; l = l->next) {
		/* Netscape format: domain, flag, path, secure, expiry, name, value */
		const char *f = l->data;
		int tabs = 0;

		while (*f && tabs < 5)
			if (*f++ == '\t')
				tabs++;
		if (strncmp(f, name, strlen(name)) == 0 && f[strlen(name)] == '\t' && f[strlen(name) + 1])
			found = true;
	}
	curl_slist_free_all(list);
	return found;
}

/*
 * One login in browser c: serve's /auth/oidc/login, the provider's
 * /authorize with who (query parameters for the test provider), serve's
 * /auth/callback.  The callback's status; its body and the callback URL
 * (to replay it) when asked for.
 */
static long login(CURL *c, const char *who, char **body, char **callback_url)
{
	char *url = nc_xasprintf("http://127.0.0.1:%d/auth/oidc/login", serve_port), *loc = NULL, *b = NULL;
	char *authz, *cb = NULL;
	long code;

	code = get(c, url, &b, &loc);
	ck_assert_msg(code == 302 && loc, "/auth/oidc/login answered %ld: %s", code, b);
	free(url);
	free(b);
	ck_assert_msg(strncmp(loc, "http://127.0.0.1:", 17) == 0 && strstr(loc, "/authorize?"), "%s", loc);
	HAS(loc, "response_type=code");
	HAS(loc, "client_id=novacron");
	HAS(loc, "code_challenge_method=S256");
	HAS(loc, "code_challenge=");
	HAS(loc, "&state=");
	HAS(loc, "&nonce=");
	HAS(loc, "scope=openid%20email%20groups&");   /* api.oidc.scopes, openid added */
	authz = nc_xasprintf("%s&%s", loc, who);
	free(loc);
	code = get(c, authz, &b, &cb);
	ck_assert_msg(code == 302 && cb, "the provider answered %ld: %s", code, b);
	free(authz);
	free(b);
	code = get(c, cb, body, NULL);
	if (callback_url)
		*callback_url = cb;
	else
		free(cb);
	return code;
}

/* GET /api/v1/me in browser c (caller frees) */
static char *me(CURL *c)
{
	char *url = nc_xasprintf("http://127.0.0.1:%d/api/v1/me", serve_port), *body = NULL;
	long code = get(c, url, &body, NULL);

	free(url);
	ck_assert_msg(code == 200, "/api/v1/me answered %ld: %s", code, body);
	return body;
}

static char *serve_log(void)
{
	char *path = nc_xasprintf("%s/log", tdir), *text = NULL;
	size_t len;

	if (nc_read_file(path, 1 << 22, &text, &len) < 0)
		text = nc_xstrdup("");
	free(path);
	return text;
}

static int write_text(const char *name, const char *text, mode_t mode)
{
	char *path = nc_xasprintf("%s/%s", tdir, name);
	int rc = nc_write_file_atomic(path, text, strlen(text), mode);

	free(path);
	return rc;
}

static int serve_start(void)
{
	posix_spawn_file_actions_t fa;
	char *cfg = nc_xasprintf("%s/serve.yaml", tdir), *log = nc_xasprintf("%s/log", tdir);
	char *argv[] = { "novacron", "serve", "--config", cfg, NULL };
	char *yaml, *health = NULL, *url;
	CURL *c;
	int i, rc = -1;

	yaml = nc_xasprintf(
		"source:\n  directory: %s/spec\ncacheDir: %s/cache\nstateDir: %s/state\ninterval: 60s\n"
		"listen: 127.0.0.1:%d\n"
		"api:\n"
		"  roles:\n"
		"    - {role: admin, users: [root-user]}\n"
		"    - {role: operator, groups: [ops]}\n"
		"    - {role: viewer, users: [vera@example.com]}\n"
		"  oidc:\n"
		"    issuer: http://127.0.0.1:%d\n"
		"    clientId: novacron\n"
		"    clientSecretFile: %s/client-secret\n"
		"    redirectUrl: http://127.0.0.1:%d/auth/callback\n"
		"    scopes: [email, groups]\n"
		"    groupsClaim: roles\n"
		"    requireMfa: [admin]\n",
		tdir, tdir, tdir, serve_port, provider_port, tdir, serve_port);
	if (write_text("serve.yaml", yaml, 0644) < 0 || write_text("client-secret", CLIENT_SECRET "\n", 0600) < 0 ||
	    nc_run_inq(tdir, "mkdir -p spec && printf 'apiVersion: novacron.io/v1\\nkind: Host\\n"
			 "metadata: {name: kvm1}\\nspec: {uri: \"sim:///kvm1\"}\\n' > spec/hosts.yaml") != 0) {
		snprintf(setup_error, sizeof(setup_error), "cannot write the test's files in %s", tdir);
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	errno = posix_spawn(&serve_pid, NC_BINARY, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (errno) {
		snprintf(setup_error, sizeof(setup_error), "cannot start serve: %s", strerror(errno));
		serve_pid = 0;
		goto out;
	}
	c = browser();
	url = nc_xasprintf("http://127.0.0.1:%d/healthz", serve_port);
	for (i = 0; i < 300; i++) {
		free(health);
		health = NULL;
		if (get(c, url, &health, NULL) == 200)
			break;
		if (waitpid(serve_pid, NULL, WNOHANG) == serve_pid) {
			char *l = serve_log();

			serve_pid = 0;
			snprintf(setup_error, sizeof(setup_error), "serve stopped at once:\n%.900s", l);
			free(l);
			break;
		}
		usleep(100000);
	}
	if (i < 300 && serve_pid)
		rc = 0;
	else if (!setup_error[0])
		snprintf(setup_error, sizeof(setup_error), "serve did not answer /healthz in 30 s");
	free(health);
	free(url);
	curl_easy_cleanup(c);
out:
	free(yaml);
	free(cfg);
	free(log);
	return rc;
}

static void stop(pid_t *pid)
{
	int i;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (i = 0; i < 50; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid)
			break;
		usleep(100000);
	}
	if (i == 50) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

static void suite_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!have_node()) {
		snprintf(skip_why, sizeof(skip_why), "node (Node.js) is not installed: the OIDC test provider "
			 "needs it (scripts/deps.sh installs it)");
		return;
	}
	snprintf(tdir, sizeof(tdir), "/tmp/nc-oidc-XXXXXX");
	if (!mkdtemp(tdir)) {
		snprintf(setup_error, sizeof(setup_error), "mkdtemp: %s", strerror(errno));
		tdir[0] = 0;
		return;
	}
	serve_port = free_port();
	if (serve_port < 0) {
		snprintf(setup_error, sizeof(setup_error), "no free port");
		return;
	}
	{
		char *redirect = nc_xasprintf("http://127.0.0.1:%d/auth/callback", serve_port);
		char *cert = nc_xasprintf("%s/cert.pem", tdir), *key = nc_xasprintf("%s/key.pem", tdir);
		char *opts[] = { "--client-secret", CLIENT_SECRET, "--redirect-uri", redirect, "--groups-claim", "roles",
				 NULL };
		/* for test_oidc_https_ca_file_and_public_client: HTTPS with client_secret_post only, and public */
		char *tls_opts[] = { "--client-secret", CLIENT_SECRET, "--tls-cert", cert, "--tls-key", key,
				     "--auth-methods", "client_secret_post", NULL };
		char *public_opts[] = { NULL };
		int rc = provider_start(opts, &provider_pid, &provider_port);

		if (rc == 0)
			rc = make_cert();
		if (rc == 0)
			rc = provider_start(tls_opts, &tls_provider_pid, &tls_provider_port);
		if (rc == 0)
			rc = provider_start(public_opts, &public_provider_pid, &public_provider_port);
		free(redirect);
		free(cert);
		free(key);
		if (rc < 0 || serve_start() < 0)
			return;
	}
	{
		CURL *c = browser();
		char *url = nc_xasprintf("http://127.0.0.1:%d/auth/oidc", serve_port), *body = NULL;

		if (get(c, url, &body, NULL) == 404 && strstr(body, "try /healthz"))
			snprintf(unrouted, sizeof(unrouted), "serve's listener does not route /auth/ to the web part yet");
		free(body);
		free(url);
		curl_easy_cleanup(c);
	}
}

static void suite_teardown(void)
{
	stop(&serve_pid);
	stop(&provider_pid);
	stop(&tls_provider_pid);
	stop(&public_provider_pid);
	if (tdir[0])
		nc_run_inq("/", "rm -rf '%s'", tdir);
	curl_global_cleanup();
}

/* at the start of each test: skip (node missing) or fail (the fixture failed) */
#define READY()                                                     \
	do {                                                        \
		if (skip_why[0] || unrouted[0]) {                   \
			NC_TEST_SKIP("%s", skip_why[0] ? skip_why : unrouted); \
			return;                                     \
		}                                                   \
		ck_assert_msg(!setup_error[0], "%s", setup_error);  \
	} while (0)

/* a good login: a session cookie; /api/v1/me shows the role api.roles binds; no token in the log */
START_TEST(test_oidc_login_good)
{
	static const struct {
		const char *who, *role, *name;
	} cases[] = {
		{ "sub=root-user&amr=pwd,otp", "\"role\": \"admin\"", "oidc:root-user" },
		{ "sub=opal&email=opal@example.com&groups=devs,ops&alg=ES256", "\"role\": \"operator\"",
		  "oidc:opal (opal@example.com)" },
		{ "sub=v-123&email=vera@example.com&groups=", "\"role\": \"viewer\"", "vera@example.com" },
	};
	CURL *c;
	char *body = NULL, *m, *log;
	size_t i;

	READY();
	for (i = 0; i < NC_ARRAY_SIZE(cases); i++) {
		c = browser();
		ck_assert_msg(login(c, cases[i].who, &body, NULL) == 302, "%s: %s", cases[i].who, body);
		free(body);
		ck_assert_msg(has_cookie(c, "nc_session"), "%s: no session cookie", cases[i].who);
		m = me(c);
		HAS(m, cases[i].role);
		HAS(m, cases[i].name);
		free(m);
		curl_easy_cleanup(c);
	}
	log = serve_log();
	HAS(log, "oidc: oidc:root-user logged in as admin");
	HASNT(log, "eyJ");           /* no JWT (header or claims) */
	HASNT(log, CLIENT_SECRET);
	free(log);
}
END_TEST

/*
 * The provider signs with a key it published after serve read its JWKS:
 * serve reads the JWKS again and takes the login.  (First in the tcase:
 * unknown keys make serve read the JWKS at most once per 30 s, and
 * test_oidc_bad_tokens sends one.)
 */
START_TEST(test_oidc_key_rotation)
{
	CURL *c;
	char *body = NULL, *m;

	READY();
	c = browser();
	ck_assert_msg(login(c, "sub=opal&groups=ops&rotate=1", &body, NULL) == 302, "%s", body);
	free(body);
	m = me(c);
	HAS(m, "\"role\": \"operator\"");
	free(m);
	curl_easy_cleanup(c);
}
END_TEST

/* every bad ID token is refused with why, and no session */
static const struct {
	const char *bad, *why;
} bad_tokens[] = {
	{ "expired", "the ID token has expired" },
	{ "aud", "the ID token is not for this client (aud)" },
	{ "azp", "the ID token was issued to another party (azp)" },
	{ "iss", "the ID token&#39;s issuer is not http://127.0.0.1:" },
	{ "none", "signed with alg none: only RS256 and ES256 are accepted" },
	{ "hs256", "signed with alg HS256: only RS256 and ES256 are accepted" },
	{ "kid", "key (kid rsa-unknown, RS256) is not in the provider&#39;s JWKS" },
	{ "sig", "the ID token&#39;s signature does not verify" },
	{ "nonce", "the ID token&#39;s nonce is not this login&#39;s" },
	{ "iat", "the ID token&#39;s issue time (iat) is missing or in the future" },
};

START_TEST(test_oidc_bad_tokens)
{
	CURL *c;
	char *who, *body = NULL, *m = NULL, *url;
	long code;

	READY();
	c = browser();
	who = nc_xasprintf("sub=root-user&amr=otp&bad=%s", bad_tokens[_i].bad);
	code = login(c, who, &body, NULL);
	ck_assert_msg(code == 401, "bad=%s: %ld %s", bad_tokens[_i].bad, code, body);
	HAS(body, bad_tokens[_i].why);
	ck_assert_msg(!has_cookie(c, "nc_session"), "bad=%s: a session cookie", bad_tokens[_i].bad);
	/* and the API does not know this browser */
	url = nc_xasprintf("http://127.0.0.1:%d/api/v1/me", serve_port);
	code = get(c, url, &m, NULL);
	ck_assert_msg(code == 401, "/api/v1/me after bad=%s: %ld %s", bad_tokens[_i].bad, code, m);
	free(url);
	free(m);
	free(body);
	free(who);
	curl_easy_cleanup(c);
}
END_TEST

/* api.oidc.requireMfa: [admin]: an admin whose amr shows no second factor is refused */
START_TEST(test_oidc_mfa_required)
{
	static const char *const without[] = { "sub=root-user", "sub=root-user&amr=pwd", "sub=root-user&amr=pwd,sms" };
	static const char *const with[] = { "sub=root-user&amr=pwd,mfa", "sub=root-user&amr=hwk",
					    "sub=root-user&amr=otp&alg=ES256" };
	CURL *c;
	char *body = NULL, *m;
	size_t i;

	READY();
	for (i = 0; i < NC_ARRAY_SIZE(without); i++) {
		c = browser();
		ck_assert_int_eq(login(c, without[i], &body, NULL), 403);
		HAS(body, "Multi-factor login required");
		HAS(body, "amr claim must show mfa, otp or hwk");
		ck_assert(!has_cookie(c, "nc_session"));
		free(body);
		curl_easy_cleanup(c);
	}
	for (i = 0; i < NC_ARRAY_SIZE(with); i++) {
		c = browser();
		ck_assert_msg(login(c, with[i], &body, NULL) == 302, "%s: %s", with[i], body);
		free(body);
		m = me(c);
		HAS(m, "\"role\": \"admin\"");
		free(m);
		curl_easy_cleanup(c);
	}
	/* an operator needs no second factor */
	c = browser();
	ck_assert_int_eq(login(c, "sub=opal&groups=ops&amr=pwd", &body, NULL), 302);
	free(body);
	curl_easy_cleanup(c);
}
END_TEST

/* a user no role binds: 403, no session */
START_TEST(test_oidc_no_role)
{
	CURL *c = NULL;
	char *body = NULL, *log;

	READY();
	c = browser();
	ck_assert_int_eq(login(c, "sub=mallory&email=mallory@example.com&groups=devs&amr=otp", &body, NULL), 403);
	HAS(body, "No role for you");
	ck_assert(!has_cookie(c, "nc_session"));
	free(body);
	curl_easy_cleanup(c);
	log = serve_log();
	HAS(log, "oidc: oidc:mallory (mallory@example.com) logged in but no role of api.roles binds them");
	free(log);
}
END_TEST

/* a state is good once, in the browser that started the login, and must be one serve made */
START_TEST(test_oidc_state_replay)
{
	CURL *c, *other;
	char *body = NULL, *cb = NULL, *url, *forged;
	long code;

	READY();
	c = browser();
	ck_assert_int_eq(login(c, "sub=opal&groups=ops", &body, &cb), 302);
	free(body);
	/* the same callback again, even from the browser that logged in: refused */
	code = get(c, cb, &body, NULL);
	ck_assert_int_eq(code, 400);
	HAS(body, "This login is unknown, expired or was already used");
	free(body);
	/* a state serve never made */
	forged = nc_xasprintf("http://127.0.0.1:%d/auth/callback?code=abc&state=not-a-state", serve_port);
	ck_assert_int_eq(get(c, forged, &body, NULL), 400);
	free(body);
	free(forged);
	free(cb);
	curl_easy_cleanup(c);

	/* a callback taken to another browser (login CSRF): refused, and that login is spent */
	c = browser();
	url = nc_xasprintf("http://127.0.0.1:%d/auth/oidc/login", serve_port);
	ck_assert_int_eq(get(c, url, &body, &cb), 302);
	free(body);
	forged = nc_xasprintf("%s&sub=opal&groups=ops", cb);
	free(cb);
	ck_assert_int_eq(get(c, forged, &body, &cb), 302);
	free(body);
	other = browser();
	ck_assert_int_eq(get(other, cb, &body, NULL), 400);
	HAS(body, "This login was not started by this browser");
	ck_assert(!has_cookie(other, "nc_session"));
	free(body);
	ck_assert_int_eq(get(c, cb, &body, NULL), 400);
	free(body);
	free(cb);
	free(forged);
	free(url);
	curl_easy_cleanup(other);
	curl_easy_cleanup(c);
}
END_TEST

/* the provider says no (access_denied): refused with its error; /auth/oidc says OIDC is on */
START_TEST(test_oidc_denied_and_info)
{
	CURL *c;
	char *body = NULL, *url;

	READY();
	c = browser();
	ck_assert_int_eq(login(c, "deny=1", &body, NULL), 401);
	HAS(body, "The provider refused the login: access_denied");
	ck_assert(!has_cookie(c, "nc_session"));
	free(body);
	url = nc_xasprintf("http://127.0.0.1:%d/auth/oidc", serve_port);
	ck_assert_int_eq(get(c, url, &body, NULL), 200);
	HAS(body, "\"enabled\": true");
	HAS(body, "\"login\": \"/auth/oidc/login\"");
	free(body);
	free(url);
	curl_easy_cleanup(c);
}
END_TEST

/* nc_oidc_create refuses a provider whose issuer differs, and plain http outside loopback */
static int create_with(const char *issuer, char *msg, size_t n)
{
	struct nc_serve_config cfg;
	struct nc_spec *holder = NULL;
	struct nc_diags diags;
	struct nc_oidc *o = NULL;
	struct nc_err err;
	char *path = nc_xasprintf("%s/create.yaml", tdir);
	char *yaml = nc_xasprintf("source:\n  directory: %s/spec\napi:\n  oidc:\n    issuer: %s\n"
				  "    clientId: novacron\n    redirectUrl: http://127.0.0.1:1/auth/callback\n",
				  tdir, issuer);
	int rc;

	ck_assert_int_eq(nc_write_file_atomic(path, yaml, strlen(yaml), 0644), 0);
	nc_diags_init(&diags);
	ck_assert_int_eq(nc_serve_config_load(&cfg, &holder, path, &diags), 0);
	nc_diags_release(&diags);
	memset(&err, 0, sizeof(err));
	rc = nc_oidc_create(&o, &cfg, &err);
	snprintf(msg, n, "%s", err.msg);
	if (rc == 0)
		ck_assert_ptr_nonnull(o);
	nc_oidc_destroy(o);
	nc_spec_free(holder);
	free(yaml);
	free(path);
	return rc;
}

START_TEST(test_oidc_create_checks_provider)
{
	char msg[512], *issuer;

	if (skip_why[0]) {
		NC_TEST_SKIP("%s", skip_why);
		return;
	}
	ck_assert_msg(provider_port > 0, "%s", setup_error);
	issuer = nc_xasprintf("http://127.0.0.1:%d", provider_port);
	ck_assert_int_eq(create_with(issuer, msg, sizeof(msg)), 0);
	free(issuer);
	/* a trailing slash is another issuer: the discovery document's must match exactly */
	issuer = nc_xasprintf("http://127.0.0.1:%d/", provider_port);
	ck_assert_int_eq(create_with(issuer, msg, sizeof(msg)), -1);
	HAS(msg, "its issuer is not api.oidc.issuer");
	HAS(msg, "(it must match exactly)");
	free(issuer);
	ck_assert_int_eq(create_with("http://idp.example.com", msg, sizeof(msg)), -1);
	HAS(msg, "api.oidc.issuer http://idp.example.com: only https is allowed");
	/* loopback is the host, not how the URL starts */
	ck_assert_int_eq(create_with("http://127.0.0.1.idp.example.com", msg, sizeof(msg)), -1);
	HAS(msg, "only https is allowed");
	ck_assert_int_eq(create_with("http://127.0.0.1@idp.example.com/", msg, sizeof(msg)), -1);
	HAS(msg, "only https is allowed");
	ck_assert_int_eq(create_with("http://localhost.idp.example.com", msg, sizeof(msg)), -1);
	HAS(msg, "only https is allowed");
	/* a provider that does not answer now is read again at the first login */
	ck_assert_int_eq(create_with("http://127.0.0.1:1", msg, sizeof(msg)), 0);
	/* serve itself refuses to start on the wrong issuer, and says why */
	{
		struct nc_run r;
		char *yaml = nc_xasprintf("source:\n  directory: %s/spec\ncacheDir: %s/cache-bad\nstateDir: %s/state-bad\n"
					  "listen: 127.0.0.1:%d\napi:\n  oidc:\n    issuer: http://127.0.0.1:%d/\n"
					  "    clientId: novacron\n    redirectUrl: http://127.0.0.1:1/auth/callback\n",
					  tdir, tdir, tdir, free_port(), provider_port);

		ck_assert_int_eq(write_text("bad-issuer.yaml", yaml, 0644), 0);
		free(yaml);
		nc_run_in(&r, tdir, "timeout 30 $NC serve --config bad-issuer.yaml");
		ck_assert_msg(r.status == 1, "serve exited %d:\n%s", r.status, r.err);
		HAS(r.err, "api.oidc: http://127.0.0.1:");
		HAS(r.err, "/.well-known/openid-configuration: its issuer is not api.oidc.issuer http://127.0.0.1:");
		nc_run_free(&r);
	}
}
END_TEST

/* ---- nc_oidc_handle called directly, as web.c does, with a request the test makes ---- */
struct fake_req {
	const char *query[4][2];
	const char *cookie;              /* the value of nc_oidc_state */
};

static const char *fake_none(const struct nc_web_req *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

static const char *fake_query(const struct nc_web_req *r, const char *name)
{
	const struct fake_req *f = r->ctx;
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(f->query) && f->query[i][0]; i++)
		if (strcmp(f->query[i][0], name) == 0)
			return f->query[i][1];
	return NULL;
}

static const char *fake_cookie(const struct nc_web_req *r, const char *name)
{
	const struct fake_req *f = r->ctx;

	return strcmp(name, "nc_oidc_state") == 0 ? f->cookie : NULL;
}

static void call(struct nc_oidc *o, struct nc_auth *a, const char *path, struct fake_req *f,
		 struct nc_web_resp *resp)
{
	struct nc_web_req req = { .method = "GET", .path = path, .body = "", .peer = "127.0.0.1",
				  .header = fake_none, .query = fake_query, .cookie = fake_cookie, .ctx = f };

	memset(resp, 0, sizeof(*resp));
	nc_buf_init(&resp->body);
	nc_oidc_handle(o, a, &req, resp);
}

/* resp's header name whose value starts with prefix, or NULL */
static const char *resp_header(const struct nc_web_resp *resp, const char *name, const char *prefix)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i][0], name) == 0 &&
		    strncmp(resp->headers[i][1], prefix, strlen(prefix)) == 0)
			return resp->headers[i][1];
	return NULL;
}

/* the value of query parameter name in url (caller frees) */
static char *url_param(const char *url, const char *name)
{
	char *key = nc_xasprintf("%s=", name);
	const char *p = strchr(url, '?');
	char *v = NULL;

	while (p && !v) {
		p++;
		if (strncmp(p, key, strlen(key)) == 0)
			v = nc_xstrndup(p + strlen(key), strcspn(p + strlen(key), "&#"));
		p = strchr(p, '&');
	}
	free(key);
	return v;
}

/* serve's log lines (stderr) of this process go to tdir/stderr until stderr_text() */
static int stderr_to_file(void)
{
	char *p = nc_xasprintf("%s/stderr", tdir);
	int saved, fd;

	fflush(stderr);
	saved = dup(2);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
	free(p);
	return saved;
}

/* stderr back; what was written meanwhile (caller frees) */
static char *stderr_text(int saved)
{
	char *p = nc_xasprintf("%s/stderr", tdir), *text = NULL;
	size_t len;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (nc_read_file(p, 1 << 20, &text, &len) < 0)
		text = nc_xstrdup("");
	free(p);
	return text;
}

/*
 * Clients of other kinds, nc_oidc_handle called directly: a provider on
 * HTTPS whose certificate only api.oidc.caFile trusts and whose token
 * endpoint takes client_secret_post only (a whole login works; without
 * caFile the provider cannot be read and login says 503), and a public
 * client (no clientSecretFile: PKCE alone) at a provider that refuses any
 * client secret.
 */
START_TEST(test_oidc_https_ca_file_and_public_client)
{
	static const struct {
		bool tls, secret, ca, wrong_secret;
		unsigned want;
	} cases[] = {
		{ true, true, true, false, 302 },
		{ true, true, false, false, 503 },
		{ false, false, false, false, 302 },
		{ true, true, true, true, 401 },       /* the provider says invalid_client */
	};
	struct nc_serve_config cfg;
	struct nc_spec *holder = NULL;
	struct nc_diags diags;
	struct nc_oidc *o = NULL;
	struct nc_auth *a = NULL;
	struct nc_err err;
	struct nc_web_resp resp;
	struct fake_req f;
	char *path, *yaml, *state_dir, *authz, *ca, *cb = NULL, *body = NULL, *state, *code, *cookie, *secret;
	const char *loc, *set;
	CURL *c;
	size_t k;
	int saved_err;
	char *log;

	if (skip_why[0]) {
		NC_TEST_SKIP("%s", skip_why);
		return;
	}
	ck_assert_msg(tls_provider_port > 0 && public_provider_port > 0, "%s", setup_error);
	ca = nc_xasprintf("%s/cert.pem", tdir);
	state_dir = nc_xasprintf("%s/state-inproc", tdir);
	path = nc_xasprintf("%s/inproc.yaml", tdir);
	for (k = 0; k < NC_ARRAY_SIZE(cases); k++) {
		secret = cases[k].secret ? nc_xasprintf("    clientSecretFile: %s/%s\n", tdir,
							cases[k].wrong_secret ? "wrong-secret" : "client-secret")
					 : nc_xstrdup("");
		if (cases[k].wrong_secret)
			ck_assert_int_eq(write_text("wrong-secret", "not-the-secret-of-the-client\n", 0600), 0);
		yaml = nc_xasprintf("source:\n  directory: %s/spec\nstateDir: %s\napi:\n"
				    "  roles: [{role: operator, groups: [ops]}]\n"
				    "  oidc:\n    issuer: %s://127.0.0.1:%d\n    clientId: novacron\n%s"
				    "    redirectUrl: http://127.0.0.1:1/auth/callback\n%s%s%s",
				    tdir, state_dir, cases[k].tls ? "https" : "http",
				    cases[k].tls ? tls_provider_port : public_provider_port, secret,
				    cases[k].ca ? "    caFile: " : "", cases[k].ca ? ca : "", cases[k].ca ? "\n" : "");
		free(secret);
		ck_assert_int_eq(nc_write_file_atomic(path, yaml, strlen(yaml), 0644), 0);
		free(yaml);
		nc_diags_init(&diags);
		ck_assert_int_eq(nc_serve_config_load(&cfg, &holder, path, &diags), 0);
		nc_diags_release(&diags);
		ck_assert_int_eq(nc_auth_create(&a, &cfg, state_dir, &err), 0);
		ck_assert_msg(nc_oidc_create(&o, &cfg, &err) == 0, "%s", err.msg);
		memset(&f, 0, sizeof(f));
		call(o, a, "/auth/oidc/login", &f, &resp);
		ck_assert_msg(resp.code == (cases[k].want == 503 ? 503 : 302), "case %zu: %u %s", k, resp.code,
			      resp.body.buf);
		if (resp.code == 503) {
			HAS(resp.body.buf, "The OpenID Connect provider could not be reached");
			nc_web_resp_release(&resp);
			goto next;
		}
		loc = resp_header(&resp, "Location", cases[k].tls ? "https://127.0.0.1:" : "http://127.0.0.1:");
		ck_assert_ptr_nonnull(loc);
		set = resp_header(&resp, "Set-Cookie", "nc_oidc_state=");
		ck_assert_ptr_nonnull(set);
		HAS(set, "; HttpOnly; SameSite=Lax");
		authz = nc_xasprintf("%s&sub=tls-user&groups=ops", loc);
		state = url_param(loc, "state");
		nc_web_resp_release(&resp);
		/* the browser at the provider (it trusts the same CA) */
		c = browser();
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		ck_assert_int_eq(get(c, authz, &body, &cb), 302);
		curl_easy_cleanup(c);
		free(body);
		free(authz);
		code = url_param(cb, "code");
		ck_assert_ptr_nonnull(code);
		/* back at serve: the code is redeemed (client_secret_post over HTTPS, or no secret) */
		f.query[0][0] = "code";
		f.query[0][1] = code;
		f.query[1][0] = "state";
		f.query[1][1] = state;
		f.cookie = state;
		saved_err = stderr_to_file();
		call(o, a, "/auth/callback", &f, &resp);
		log = stderr_text(saved_err);
		if (cases[k].want == 401) {
			ck_assert_msg(resp.code == 401, "case %zu: %u %s", k, resp.code, resp.body.buf);
			HAS(resp.body.buf, "the provider did not give tokens for this login");
			ck_assert_ptr_null(resp_header(&resp, "Set-Cookie", "nc_session="));
			nc_web_resp_release(&resp);
			/* the log says why, the provider's OAuth error code, and nothing of the secret */
			HAS(log, "oidc: the token endpoint refused the code: https://127.0.0.1:");
			HAS(log, "/token: HTTP 401: invalid_client");
			HASNT(log, "not-the-secret");
			free(log);
			free(code);
			free(state);
			free(cb);
			cb = NULL;
			goto next;
		}
		ck_assert_msg(resp.code == 302, "case %zu: %u %s", k, resp.code, resp.body.buf);
		HAS(log, "oidc: oidc:tls-user logged in as operator");
		free(log);
		ck_assert_str_eq(resp_header(&resp, "Location", ""), "/");
		cookie = (char *)resp_header(&resp, "Set-Cookie", "nc_session=");
		ck_assert_ptr_nonnull(cookie);
		HAS(cookie, "HttpOnly");
		nc_web_resp_release(&resp);
		free(code);
		free(state);
		free(cb);
		cb = NULL;
next:
		nc_oidc_destroy(o);
		nc_auth_destroy(a);
		nc_spec_free(holder);
		holder = NULL;
	}
	free(path);
	free(state_dir);
	free(ca);
}
END_TEST

/* ---- the JWS and JWK pieces (oidc-jwt.c), without a provider ---- */

/* base64url of bn padded to len bytes (0: its own length); caller frees */
static char *bn_b64(const EVP_PKEY *pk, const char *param, int len)
{
	BIGNUM *bn = NULL;
	unsigned char buf[600];
	char *out;
	int n;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, param, &bn), 1);
	n = len ? BN_bn2binpad(bn, buf, len) : BN_bn2bin(bn, buf);
	ck_assert_int_gt(n, 0);
	out = nc_b64url_encode(buf, (size_t)n);
	BN_free(bn);
	return out;
}

static void add_rsa(struct nc_buf *b, const char *kid, size_t bits, const char *extra)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
	char *n, *e;

	ck_assert_ptr_nonnull(pk);
	n = bn_b64(pk, OSSL_PKEY_PARAM_RSA_N, 0);
	e = bn_b64(pk, OSSL_PKEY_PARAM_RSA_E, 0);
	nc_buf_addf(b, "%s{\"kty\": \"RSA\", \"kid\": \"%s\", \"n\": \"%s\", \"e\": \"%s\"%s}", b->len > 10 ? ", " : "",
		    kid, n, e, extra);
	free(n);
	free(e);
	EVP_PKEY_free(pk);
}

static void add_ec(struct nc_buf *b, const char *kid, const char *curve, const char *crv, bool off_curve,
		   const char *extra)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	int len = strcmp(crv, "P-384") == 0 ? 48 : 32;
	char *x, *y;

	ck_assert_ptr_nonnull(pk);
	x = bn_b64(pk, OSSL_PKEY_PARAM_EC_PUB_X, len);
	y = bn_b64(pk, OSSL_PKEY_PARAM_EC_PUB_Y, len);
	if (off_curve)                   /* another y: almost surely no point of the curve */
		y[3] = y[3] == 'A' ? 'B' : 'A';
	nc_buf_addf(b, "%s{\"kty\": \"EC\", \"kid\": \"%s\", \"crv\": \"%s\", \"x\": \"%s\", \"y\": \"%s\"%s}",
		    b->len > 10 ? ", " : "", kid, crv, x, y, extra);
	free(x);
	free(y);
	EVP_PKEY_free(pk);
}

/* a JWKS gives only the keys this client may use: RSA >= 2048 bits, EC on P-256, for signatures */
START_TEST(test_oidc_jwks_keys)
{
	struct nc_buf b = NC_BUF_INIT;
	struct nc_jwk *keys = NULL;
	struct nc_err err;
	size_t n = 0, i;
	unsigned char *raw;
	size_t len;

	nc_buf_adds(&b, "{\"keys\": [");
	add_rsa(&b, "good-rsa", 2048, ", \"use\": \"sig\", \"alg\": \"RS256\"");
	add_rsa(&b, "weak-rsa", 1024, "");
	add_rsa(&b, "enc-rsa", 2048, ", \"use\": \"enc\"");
	add_ec(&b, "good-ec", "P-256", "P-256", false, "");
	add_ec(&b, "off-curve", "P-256", "P-256", true, "");
	add_ec(&b, "p384", "P-384", "P-384", false, "");
	nc_buf_adds(&b, ", {\"kty\": \"oct\", \"kid\": \"hmac\", \"k\": \"c2VjcmV0\"}"
		    ", {\"kty\": \"RSA\", \"kid\": \"garbage\", \"n\": \"!!\", \"e\": \"AQAB\"}"
		    ", {\"kty\": \"EC\", \"kid\": \"short\", \"crv\": \"P-256\", \"x\": \"AQAB\", \"y\": \"AQAB\"}"
		    ", \"not an object\"]}");
	ck_assert_msg(nc_jwks_parse(b.buf, &keys, &n, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(keys[0].kid, "good-rsa");
	ck_assert_int_eq(keys[0].kty, EVP_PKEY_RSA);
	ck_assert_str_eq(keys[1].kid, "good-ec");
	ck_assert_int_eq(keys[1].kty, EVP_PKEY_EC);
	for (i = 0; i < n; i++)
		ck_assert_ptr_nonnull(keys[i].pkey);
	nc_jwks_free(keys, n);
	nc_buf_release(&b);
	ck_assert_int_eq(nc_jwks_parse("{\"keys\": 1}", &keys, &n, &err), -1);
	HAS(err.msg, "the JWKS has no keys array");
	ck_assert_int_eq(nc_jwks_parse("[]", &keys, &n, &err), -1);
	ck_assert_int_eq(nc_jwks_parse("{\"keys\": []} x", &keys, &n, &err), -1);
	/* base64url: no padding, no standard alphabet, no impossible lengths */
	raw = nc_b64url_decode("aGk", 3, &len);
	ck_assert_ptr_nonnull(raw);
	ck_assert_uint_eq(len, 2);
	ck_assert_str_eq((char *)raw, "hi");
	free(raw);
	ck_assert_ptr_null(nc_b64url_decode("aGk=", 4, &len));
	ck_assert_ptr_null(nc_b64url_decode("a+/b", 4, &len));
	ck_assert_ptr_null(nc_b64url_decode("abcde", 5, &len));
}
END_TEST

/* ES256 signatures are 64 bytes r||s; anything else is refused before OpenSSL sees it */
START_TEST(test_oidc_es256_raw_signature)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128], raw[64];
	const unsigned char *p = der;
	size_t dl = sizeof(der);
	ECDSA_SIG *es;
	const char *msg = "header.claims";

	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
	ck_assert_int_eq(EVP_DigestSign(md, der, &dl, (const unsigned char *)msg, strlen(msg)), 1);
	es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	ck_assert_ptr_nonnull(es);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	ck_assert(nc_jws_verify(pk, EVP_PKEY_EC, msg, strlen(msg), raw, 64));
	ck_assert(!nc_jws_verify(pk, EVP_PKEY_EC, msg, strlen(msg) - 1, raw, 64));
	ck_assert(!nc_jws_verify(pk, EVP_PKEY_EC, msg, strlen(msg), raw, 63));
	ck_assert(!nc_jws_verify(pk, EVP_PKEY_EC, msg, strlen(msg), der, dl));   /* DER is not JWS */
	raw[10] ^= 1;
	ck_assert(!nc_jws_verify(pk, EVP_PKEY_EC, msg, strlen(msg), raw, 64));
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
}
END_TEST

/* attack: anyone may start logins (GET /auth/oidc/login); 1,024 were kept and the oldest went
 * first, so a client starting them in a loop made every real user's login fail when it came back
 * from the provider.  One address's logins now replace only its own. */
START_TEST(test_oidc_pending_flood)
{
	CURL *c, *flood;
	char *body = NULL, *cb = NULL, *url, *authz;
	int i;

	READY();
	c = browser();
	url = nc_xasprintf("http://127.0.0.1:%d/auth/oidc/login", serve_port);
	ck_assert_int_eq(get(c, url, &body, &cb), 302);
	free(body);
	authz = nc_xasprintf("%s&sub=opal&groups=ops", cb);
	free(cb);
	/* the flood, from another address of the loopback */
	flood = browser();
	curl_easy_setopt(flood, CURLOPT_INTERFACE, "host!127.0.0.2");
	for (i = 0; i < 1100; i++) {
		long code = get(flood, url, &body, NULL);

		free(body);
		ck_assert_int_eq(code, 302);
	}
	curl_easy_cleanup(flood);
	/* the user comes back from the provider: logged in */
	ck_assert_int_eq(get(c, authz, &body, &cb), 302);
	free(body);
	ck_assert_msg(get(c, cb, &body, NULL) == 302, "the login failed after the flood: %s", body);
	free(body);
	ck_assert(has_cookie(c, "nc_session"));
	free(cb);
	free(authz);
	free(url);
	curl_easy_cleanup(c);
}
END_TEST

Suite *nc_suite_oidc(void)
{
	Suite *s = suite_create("oidc");
	TCase *tc = tcase_create("oidc");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_oidc_key_rotation);
	tcase_add_test(tc, test_oidc_login_good);
	tcase_add_loop_test(tc, test_oidc_bad_tokens, 0, (int)NC_ARRAY_SIZE(bad_tokens));
	tcase_add_test(tc, test_oidc_mfa_required);
	tcase_add_test(tc, test_oidc_no_role);
	tcase_add_test(tc, test_oidc_state_replay);
	tcase_add_test(tc, test_oidc_denied_and_info);
	tcase_add_test(tc, test_oidc_create_checks_provider);
	tcase_add_test(tc, test_oidc_https_ca_file_and_public_client);
	tcase_add_test(tc, test_oidc_pending_flood);
	suite_add_tcase(s, tc);
	tc = tcase_create("jwt");
	tcase_add_test(tc, test_oidc_jwks_keys);
	tcase_add_test(tc, test_oidc_es256_raw_signature);
	suite_add_tcase(s, tc);
	return s;
}
