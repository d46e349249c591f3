/*
 * auth.c - tokens, roles, sessions, CSRF, TLS files and webhook signatures
 * (auth.h, docs/security.md).
 *
 * Secrets (tokens, session ids, CSRF tokens) come from RAND_bytes; the
 * token store keeps SHA-256 digests only; every comparison of a secret is
 * CRYPTO_memcmp over fixed lengths.  Nothing here logs or returns a secret
 * except the one place that hands it out (nc_token_create, a login's CSRF).
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oidc-jwt.h"
#include "serve.h"

#define TOKEN_PREFIX "nc_"
#define TOKEN_STORE "tokens.json"
#define TOKEN_STORE_MAX ((size_t)4 << 20)

/* ---- small helpers ---- */

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned v = 0;
		int k;

		for (k = 0; k < 2; k++) {
			char c = s[2 * i + (size_t)k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* a + b equal, in time that depends on their lengths only */
static bool secret_eq(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

bool nc_token_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 63 || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void add_tenant(struct nc_principal *p, const char *t)
{
	size_t i;

	for (i = 0; i < p->ntenants; i++)
		if (strcmp(p->tenants[i], t) == 0)
			return;
	if (p->ntenants < NC_PRINCIPAL_MAX_TENANTS && strlen(t) < sizeof(p->tenants[0]))
		snprintf(p->tenants[p->ntenants++], sizeof(p->tenants[0]), "%s", t);
}

/* ---- the token store ---- */

struct tok {
	struct nc_token_info info;
	unsigned char hash[32];
};

static int tok_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tok *)a)->info.name, ((const struct tok *)b)->info.name);
}

static char *store_path(const char *state_dir)
{
	return nc_xasprintf("%s/%s", state_dir, TOKEN_STORE);
}

/* reads the store (none: no tokens); -1 with why */
static int store_load(const char *path, struct tok **out, size_t *n, struct nc_err *err)
{
	struct json_object *root = NULL, *list, *e, *v;
	struct tok *t = NULL;
	char *data = NULL;
	size_t len, i, cnt = 0, k;
	int rc;

	*out = NULL;
	*n = 0;
	rc = nc_read_file(path, TOKEN_STORE_MAX, &data, &len);
	if (rc < 0 && rc != -2 && errno == ENOENT)
		return 0;
	if (rc < 0) {
		nc_err_set(err, "cannot read %s: %s", path, rc == -2 ? "too large" : strerror(errno));
		return -1;
	}
	root = json_tokener_parse(data);
	free(data);
	if (!root || !json_object_object_get_ex(root, "tokens", &list) || !json_object_is_type(list, json_type_array))
		goto bad;
	cnt = json_object_array_length(list);
	t = nc_xcalloc(cnt ? cnt : 1, sizeof(*t));
	for (i = 0; i < cnt; i++) {
		struct tok *x = &t[i];

		e = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(e, "name", &v) || !json_object_is_type(v, json_type_string) ||
		    !nc_token_name_ok(json_object_get_string(v)))
			goto bad;
		snprintf(x->info.name, sizeof(x->info.name), "%s", json_object_get_string(v));
		if (!json_object_object_get_ex(e, "sha256", &v) || !json_object_is_type(v, json_type_string) ||
		    unhex(json_object_get_string(v), x->hash, sizeof(x->hash)) < 0)
			goto bad;
		if (!json_object_object_get_ex(e, "role", &v) || !json_object_is_type(v, json_type_string) ||
		    nc_role_parse(json_object_get_string(v), &x->info.role) < 0 || x->info.role == NC_ROLE_NONE)
			goto bad;
		if (json_object_object_get_ex(e, "tenants", &v)) {
			if (!json_object_is_type(v, json_type_array))
				goto bad;
			for (k = 0; k < json_object_array_length(v) && k < NC_PRINCIPAL_MAX_TENANTS; k++) {
				const char *s = json_object_get_string(json_object_array_get_idx(v, k));

				if (!s || !nc_token_name_ok(s))
					goto bad;
				snprintf(x->info.tenants[x->info.ntenants++], sizeof(x->info.tenants[0]), "%s", s);
			}
		}
		if (json_object_object_get_ex(e, "created", &v))
			x->info.created = (time_t)json_object_get_int64(v);
		if (json_object_object_get_ex(e, "expires", &v))
			x->info.expires = (time_t)json_object_get_int64(v);
	}
	json_object_put(root);
	qsort(t, cnt, sizeof(*t), tok_cmp);
	*out = t;
	*n = cnt;
	return 0;
bad:
	json_object_put(root);
	free(t);
	nc_err_set(err, "%s is not a token store NovaCron wrote (damaged?)", path);
	return -1;
}

static int store_save(const char *path, const struct tok *t, size_t n, struct nc_err *err)
{
	struct nc_buf b = NC_BUF_INIT;
	char h[65];
	size_t i, k;
	int rc;

	nc_buf_adds(&b, "{\"tokens\": [");
	for (i = 0; i < n; i++) {
		nc_buf_adds(&b, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
		nc_buf_add_json_str(&b, t[i].info.name);
		hex(t[i].hash, sizeof(t[i].hash), h);
		nc_buf_addf(&b, ", \"sha256\": \"%s\", \"role\": \"%s\", \"tenants\": [", h, nc_role_name(t[i].info.role));
		for (k = 0; k < t[i].info.ntenants; k++) {
			if (k)
				nc_buf_adds(&b, ", ");
			nc_buf_add_json_str(&b, t[i].info.tenants[k]);
		}
		nc_buf_addf(&b, "], \"created\": %lld, \"expires\": %lld}", (long long)t[i].info.created,
			    (long long)t[i].info.expires);
	}
	nc_buf_adds(&b, n ? "\n]}\n" : "]}\n");
	rc = nc_write_file_atomic(path, b.buf, b.len, 0600);
	if (rc < 0)
		nc_err_set(err, "cannot write %s: %s", path, strerror(errno));
	nc_buf_release(&b);
	return rc;
}

/* the store's lock (create and revoke read, change and write it) */
static int store_lock(const char *state_dir, struct nc_err *err)
{
	char *p;
	int fd;

	if (nc_mkdir_p_mode(state_dir, 0700) < 0) {
		nc_err_set(err, "cannot create %s: %s", state_dir, strerror(errno));
		return -1;
	}
	p = nc_xasprintf("%s/tokens.lock", state_dir);
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		nc_err_set(err, "cannot lock %s: %s", p, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(p);
	return fd;
}

int nc_token_create(const char *state_dir, const struct nc_token_info *info, char *secret, size_t n,
		    struct nc_err *err)
{
	struct tok *t = NULL;
	char *path = store_path(state_dir);
	char sec[4 + NC_AUTH_SECRET_LEN + 1];
	size_t cnt = 0, i;
	int fd, rc = -1;

	if (!nc_token_name_ok(info->name)) {
		nc_err_set(err, "token name '%s': use 1 to 63 letters, digits, '.', '_' or '-'", info->name);
		goto out_nolock;
	}
	if (info->role == NC_ROLE_NONE) {
		nc_err_set(err, "a token needs a role: viewer, operator or admin");
		goto out_nolock;
	}
	for (i = 0; i < info->ntenants; i++)
		if (!nc_token_name_ok(info->tenants[i])) {
			nc_err_set(err, "tenant name '%s' is not a name", info->tenants[i]);
			goto out_nolock;
		}
	if (n < sizeof(sec)) {
		nc_err_set(err, "no room for the secret");
		goto out_nolock;
	}
	fd = store_lock(state_dir, err);
	if (fd < 0)
		goto out_nolock;
	if (store_load(path, &t, &cnt, err) < 0)
		goto out;
	for (i = 0; i < cnt; i++)
		if (strcmp(t[i].info.name, info->name) == 0) {
			nc_err_set(err, "token '%s' exists: revoke it first (novacron token revoke %s)", info->name,
				   info->name);
			goto out;
		}
	memcpy(sec, TOKEN_PREFIX, 3);
	if (nc_random_b64url(sec + 3, sizeof(sec) - 3, 32) < 0) {
		nc_err_set(err, "no random bytes from OpenSSL");
		goto out;
	}
	t = nc_xrealloc(t, (cnt + 1) * sizeof(*t));
	memset(&t[cnt], 0, sizeof(t[cnt]));
	t[cnt].info = *info;
	sha256(sec, strlen(sec), t[cnt].hash);
	cnt++;
	qsort(t, cnt, sizeof(*t), tok_cmp);
	if (store_save(path, t, cnt, err) < 0)
		goto out;
	snprintf(secret, n, "%s", sec);
	rc = 0;
out:
	close(fd);
out_nolock:
	OPENSSL_cleanse(sec, sizeof(sec));
	free(t);
	free(path);
	return rc;
}

int nc_token_revoke(const char *state_dir, const char *name, struct nc_err *err)
{
	struct tok *t = NULL;
	char *path = store_path(state_dir);
	size_t cnt = 0, i;
	int fd, rc = -1;

	fd = store_lock(state_dir, err);
	if (fd < 0)
		goto out_nolock;
	if (store_load(path, &t, &cnt, err) < 0)
		goto out;
	for (i = 0; i < cnt; i++)
		if (strcmp(t[i].info.name, name) == 0)
			break;
	if (i == cnt) {
		nc_err_set(err, "no token named '%s'", name);
		goto out;
	}
	memmove(&t[i], &t[i + 1], (cnt - i - 1) * sizeof(*t));
	cnt--;
	rc = store_save(path, t, cnt, err);
out:
	close(fd);
out_nolock:
	free(t);
	free(path);
	return rc;
}

int nc_token_list(const char *state_dir, struct nc_token_info **out, size_t *n, struct nc_err *err)
{
	struct tok *t = NULL;
	char *path = store_path(state_dir);
	size_t cnt = 0, i;
	int rc = store_load(path, &t, &cnt, err);

	free(path);
	*out = NULL;
	*n = 0;
	if (rc < 0)
		return -1;
	*out = nc_xcalloc(cnt ? cnt : 1, sizeof(**out));
	for (i = 0; i < cnt; i++)
		(*out)[i] = t[i].info;
	*n = cnt;
	free(t);
	return 0;
}

/* ---- serve's side ---- */

struct session {
	char id[NC_AUTH_SECRET_LEN + 1];
	char csrf[NC_AUTH_SECRET_LEN + 1];
	struct nc_principal p;
	bool by_token;                   /* logged in with a token (else OIDC) */
	unsigned char token_hash[32];    /* that token's SHA-256 */
	time_t expires;
};

struct nc_auth {
	const struct nc_serve_config *cfg;
	char *store;                     /* STATE_DIR/tokens.json */
	enum nc_role anonymous;
	time_t session_timeout;          /* seconds */
	bool secure;                     /* the listener has TLS: cookies are Secure */
	pthread_mutex_t mu;
	/* the token store as last read, and what it looked like then */
	struct tok *toks;
	size_t ntoks;
	bool stat_ok;
	struct stat st;
	/* sessions: a ring in creation order; the next slot holds the oldest */
	struct session **sessions;
	size_t next;
	/* log lines about requests: at most AUTH_LOG_BURST per AUTH_LOG_WINDOW seconds, then a summary */
	struct nc_log_limit log;
};

#define AUTH_LOG_BURST 20u
#define AUTH_LOG_WINDOW 10

static void alog(struct nc_auth *a, const char *fmt, ...) NC_PRINTF(2, 3);

/* a log line about a request, rate-limited: a flood of bad credentials cannot flood the log */
static void alog(struct nc_auth *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nc_log_limitedv(&a->log, fmt, ap);
	va_end(ap);
}

int nc_auth_create(struct nc_auth **out, const struct nc_serve_config *cfg, const char *state_dir,
		   struct nc_err *err)
{
	struct nc_auth *a = nc_xcalloc(1, sizeof(*a));

	(void)err;
	a->cfg = cfg;
	a->store = store_path(state_dir);
	a->anonymous = cfg && NC_IS_SET(cfg->api.anonymous) && cfg->api.anonymous.v == 1 ? NC_ROLE_VIEWER
											 : NC_ROLE_NONE;
	a->session_timeout = cfg && NC_IS_SET(cfg->api.session_timeout) ? (time_t)(cfg->api.session_timeout.ms / 1000)
									: 12 * 3600;
	a->secure = cfg && NC_IS_SET(cfg->tls.cert_file);
	a->sessions = nc_xcalloc(NC_AUTH_MAX_SESSIONS, sizeof(*a->sessions));
	pthread_mutex_init(&a->mu, NULL);
	nc_log_limit_init(&a->log, "auth", "", AUTH_LOG_BURST, AUTH_LOG_WINDOW, 511);
	*out = a;
	return 0;
}

void nc_auth_destroy(struct nc_auth *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < NC_AUTH_MAX_SESSIONS; i++)
		if (a->sessions[i]) {
			OPENSSL_cleanse(a->sessions[i], sizeof(*a->sessions[i]));
			free(a->sessions[i]);
		}
	free(a->sessions);
	free(a->toks);
	free(a->store);
	nc_log_limit_destroy(&a->log);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

/* the store again when it changed since it was read; call with mu held */
static void refresh_locked(struct nc_auth *a)
{
	struct nc_err err = { "" };
	struct stat st;
	struct tok *t;
	size_t n;

	if (stat(a->store, &st) < 0) {
		if (a->stat_ok || a->ntoks) {
			free(a->toks);
			a->toks = NULL;
			a->ntoks = 0;
		}
		a->stat_ok = false;
		return;
	}
	if (a->stat_ok && st.st_ino == a->st.st_ino && st.st_dev == a->st.st_dev && st.st_size == a->st.st_size &&
	    st.st_mtim.tv_sec == a->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == a->st.st_mtim.tv_nsec)
		return;
	if (store_load(a->store, &t, &n, &err) < 0) {
		/* refuse every token rather than keep ones that may have been revoked */
		nc_serve_log("auth: %s; no token is accepted until it is fixed", err.msg);
		t = NULL;
		n = 0;
	}
	free(a->toks);
	a->toks = t;
	a->ntoks = n;
	a->st = st;
	a->stat_ok = true;
}

/* the role and scope api.roles entries matching one of names (kind: tokens, users or groups) add to p */
static void merge_binding(struct nc_principal *p, enum nc_role role, const struct nc_strlist *tenants)
{
	size_t i;

	if (role < p->role)
		return;
	if (role > p->role) {
		p->role = role;
		p->all_tenants = tenants->n == 0;
		p->ntenants = 0;
	} else if (tenants->n == 0) {
		p->all_tenants = true;
	}
	if (p->all_tenants) {
		p->ntenants = 0;
		return;
	}
	for (i = 0; i < tenants->n; i++)
		add_tenant(p, tenants->v[i].v);
}

enum bind_kind { BIND_TOKEN, BIND_USER, BIND_GROUP };

static bool list_has(const struct nc_strlist *l, const char *s)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].v, s) == 0)
			return true;
	return false;
}

static void bind_roles(const struct nc_auth *a, enum bind_kind kind, const char *name, struct nc_principal *p)
{
	const struct nc_serve_role *r;
	size_t i;

	if (!a->cfg)
		return;
	r = a->cfg->api.roles.v;
	for (i = 0; i < a->cfg->api.roles.n; i++) {
		const struct nc_strlist *l = kind == BIND_TOKEN ? &r[i].tokens : kind == BIND_USER ? &r[i].users
												   : &r[i].groups;

		if (list_has(l, name)) {
			struct nc_strlist t = r[i].tenants;

			merge_binding(p, (enum nc_role)(r[i].role.v + 1), &t);
		}
	}
}

/* the principal of a token secret; -1 (with why) when unknown, expired or malformed */
static int token_principal(struct nc_auth *a, const char *secret, struct nc_principal *p, const char **why)
{
	unsigned char h[32];
	struct nc_token_info info;
	struct nc_strlist scope;
	struct nc_str tenants[NC_PRINCIPAL_MAX_TENANTS];
	bool found = false;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (strncmp(secret, TOKEN_PREFIX, 3) != 0 || strlen(secret) != 3 + NC_AUTH_SECRET_LEN) {
		*why = "not a NovaCron token";
		return -1;
	}
	sha256(secret, strlen(secret), h);
	pthread_mutex_lock(&a->mu);
	refresh_locked(a);
	for (i = 0; i < a->ntoks; i++)
		if (CRYPTO_memcmp(a->toks[i].hash, h, sizeof(h)) == 0) {
			info = a->toks[i].info;
			found = true;
		}
	pthread_mutex_unlock(&a->mu);
	if (!found) {
		*why = "unknown or revoked token";
		return -1;
	}
	if (info.expires && time(NULL) >= info.expires) {
		*why = "expired token";
		return -1;
	}
	snprintf(p->who, sizeof(p->who), "token:%s", info.name);
	memset(&scope, 0, sizeof(scope));
	memset(tenants, 0, sizeof(tenants));
	for (i = 0; i < info.ntenants; i++)
		tenants[i].v = info.tenants[i];
	scope.v = tenants;
	scope.n = info.ntenants;
	merge_binding(p, info.role, &scope);
	bind_roles(a, BIND_TOKEN, info.name, p);
	return 0;
}

/* the token a session logged in with is still in the store and not expired; call with mu held */
static bool token_alive_locked(struct nc_auth *a, const unsigned char *hash, time_t now)
{
	size_t i;

	refresh_locked(a);
	for (i = 0; i < a->ntoks; i++)
		if (CRYPTO_memcmp(a->toks[i].hash, hash, 32) == 0)
			return !a->toks[i].info.expires || now < a->toks[i].info.expires;
	return false;
}

static struct session *session_find_locked(struct nc_auth *a, const char *id)
{
	time_t now = time(NULL);
	size_t i;

	if (!id || strlen(id) != NC_AUTH_SECRET_LEN)
		return NULL;
	for (i = 0; i < NC_AUTH_MAX_SESSIONS; i++) {
		struct session *s = a->sessions[i];

		if (s && CRYPTO_memcmp(s->id, id, NC_AUTH_SECRET_LEN) == 0) {
			/* expired, or its token revoked or expired since: the session ends */
			if (now >= s->expires || (s->by_token && !token_alive_locked(a, s->token_hash, now))) {
				OPENSSL_cleanse(s, sizeof(*s));
				free(s);
				a->sessions[i] = NULL;
				return NULL;
			}
			return s;
		}
	}
	return NULL;
}

static const char *req_header(const struct nc_web_req *req, const char *name)
{
	return req->header ? req->header(req, name) : NULL;
}

static const char *req_cookie(const struct nc_web_req *req, const char *name)
{
	return req->cookie ? req->cookie(req, name) : NULL;
}

static void unauthorized(struct nc_web_resp *resp, const char *why)
{
	nc_web_error(resp, 401, "%s", why);
	nc_web_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"novacron\"");
}

int nc_auth_identify(struct nc_auth *a, const struct nc_web_req *req, struct nc_principal *p,
		     struct nc_web_resp *resp)
{
	const char *auth = req_header(req, "Authorization");
	const char *sid = req_cookie(req, "nc_session");
	const char *why = "";

	memset(p, 0, sizeof(*p));
	if (auth) {
		if (strncasecmp(auth, "Bearer ", 7) != 0 || token_principal(a, auth + 7, p, &why) < 0) {
			if (!*why)
				why = "not a bearer token";
			alog(a, "refused %s %s from %s: %s", req->method, req->path, req->peer ? req->peer : "?",
				     why);
			memset(p, 0, sizeof(*p));
			unauthorized(resp, why);
			return -1;
		}
		return 0;
	}
	if (sid) {
		struct session *s;

		pthread_mutex_lock(&a->mu);
		s = session_find_locked(a, sid);
		if (s)
			*p = s->p;
		pthread_mutex_unlock(&a->mu);
		if (!s) {
			unauthorized(resp, "session expired or ended: log in again");
			return -1;
		}
		return 0;
	}
	snprintf(p->who, sizeof(p->who), "anonymous");
	p->role = a->anonymous;
	p->all_tenants = a->anonymous != NC_ROLE_NONE;
	return 0;
}

int nc_auth_check_write(struct nc_auth *a, const struct nc_web_req *req, const struct nc_principal *p,
			struct nc_web_resp *resp)
{
	const char *given = req_header(req, "X-CSRF-Token");
	struct session *s;
	bool ok = false;

	if (!p->session)
		return 0;
	pthread_mutex_lock(&a->mu);
	s = session_find_locked(a, req_cookie(req, "nc_session"));
	if (s && given)
		ok = secret_eq(s->csrf, given);
	pthread_mutex_unlock(&a->mu);
	if (ok)
		return 0;
	alog(a, "refused %s %s from %s (%s): %s X-CSRF-Token header", req->method, req->path,
		     req->peer ? req->peer : "?", p->who, given ? "wrong" : "no");
	nc_web_error(resp, 403, "a write from a session needs the X-CSRF-Token header (the csrf of GET /api/v1/me)");
	return -1;
}

int nc_auth_session_csrf(struct nc_auth *a, const struct nc_web_req *req, char *buf, size_t n)
{
	struct session *s;
	int rc = -1;

	pthread_mutex_lock(&a->mu);
	s = session_find_locked(a, req_cookie(req, "nc_session"));
	if (s && n > strlen(s->csrf)) {
		snprintf(buf, n, "%s", s->csrf);
		rc = 0;
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

static void set_cookie(struct nc_auth *a, struct nc_web_resp *resp, const char *value, long max_age)
{
	char c[256];

	snprintf(c, sizeof(c), "nc_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%ld%s", value, max_age,
		 a->secure ? "; Secure" : "");
	nc_web_resp_header(resp, "Set-Cookie", c);
}

/* a new session for p: its cookie set in resp, its CSRF token into csrf */
static int session_new(struct nc_auth *a, const struct nc_principal *p, const char *token, struct nc_web_resp *resp,
		       char *csrf, size_t n)
{
	struct session *s = nc_xcalloc(1, sizeof(*s));

	if (p->role == NC_ROLE_NONE) {
		free(s);
		nc_web_error(resp, 403, "%s has no role here", p->who);
		return -1;
	}
	if (nc_random_b64url(s->id, sizeof(s->id), 32) < 0 || nc_random_b64url(s->csrf, sizeof(s->csrf), 32) < 0) {
		free(s);
		nc_web_error(resp, 500, "no random bytes from OpenSSL");
		return -1;
	}
	s->p = *p;
	s->p.session = true;
	if (token) {
		s->by_token = true;
		sha256(token, strlen(token), s->token_hash);
	}
	s->expires = time(NULL) + a->session_timeout;
	set_cookie(a, resp, s->id, (long)a->session_timeout);
	if (csrf)
		snprintf(csrf, n, "%s", s->csrf);
	pthread_mutex_lock(&a->mu);
	{
		/* a free or expired slot; a principal with NC_AUTH_MAX_SESSIONS_PER sessions replaces its own
		 * oldest (one token logging in again and again never pushes out other users' sessions);
		 * else the ring's next */
		size_t i, slot = NC_AUTH_MAX_SESSIONS, oldest = NC_AUTH_MAX_SESSIONS, own = 0;
		time_t now = time(NULL);

		for (i = 0; i < NC_AUTH_MAX_SESSIONS; i++) {
			const struct session *x = a->sessions[i];

			if (!x || x->expires <= now) {
				if (slot == NC_AUTH_MAX_SESSIONS)
					slot = i;
				continue;
			}
			if (strcmp(x->p.who, s->p.who) == 0) {
				own++;
				if (oldest == NC_AUTH_MAX_SESSIONS || x->expires < a->sessions[oldest]->expires)
					oldest = i;
			}
		}
		if (own >= NC_AUTH_MAX_SESSIONS_PER)
			slot = oldest;
		else if (slot == NC_AUTH_MAX_SESSIONS) {
			slot = a->next;
			a->next = (a->next + 1) % NC_AUTH_MAX_SESSIONS;
		}
		if (a->sessions[slot]) {
			OPENSSL_cleanse(a->sessions[slot], sizeof(*a->sessions[slot]));
			free(a->sessions[slot]);
		}
		a->sessions[slot] = s;
	}
	pthread_mutex_unlock(&a->mu);
	return 0;
}

int nc_auth_session_start(struct nc_auth *a, const struct nc_principal *p, struct nc_web_resp *resp)
{
	return session_new(a, p, NULL, resp, NULL, 0);
}

static void login(struct nc_auth *a, const struct nc_web_req *req, struct nc_web_resp *resp)
{
	struct json_object *root = NULL, *v;
	struct json_tokener *tk = json_tokener_new();
	struct nc_principal p;
	char csrf[NC_AUTH_SECRET_LEN + 1];
	const char *why = "no token given";
	const char *ct = req_header(req, "Content-Type");

	/*
	 * Only JSON: a form on another site can POST text/plain or a form
	 * encoding without asking, but not application/json, so no other site
	 * can log a browser in with a token of its choosing (login CSRF).
	 */
	if (!ct || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
		if (tk)
			json_tokener_free(tk);
		nc_web_error(resp, 415, "send the token as JSON: Content-Type: application/json, {\"token\": \"nc_...\"}");
		return;
	}
	if (tk)
		root = json_tokener_parse_ex(tk, req->body ? req->body : "", (int)req->body_len);
	if (tk)
		json_tokener_free(tk);
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		nc_web_error(resp, 400, "the body must be JSON: {\"token\": \"nc_...\"}");
		return;
	}
	if (!json_object_object_get_ex(root, "token", &v) || !json_object_is_type(v, json_type_string) ||
	    token_principal(a, json_object_get_string(v), &p, &why) < 0) {
		json_object_put(root);
		alog(a, "refused a login from %s: %s", req->peer ? req->peer : "?", why);
		nc_web_error(resp, 401, "%s", why);
		return;
	}
	if (session_new(a, &p, json_object_get_string(v), resp, csrf, sizeof(csrf)) < 0) {
		json_object_put(root);
		return;
	}
	json_object_put(root);
	alog(a, "%s logged in from %s (%s)", p.who, req->peer ? req->peer : "?", nc_role_name(p.role));
	nc_buf_reset(&resp->body);
	nc_buf_adds(&resp->body, "{\"ok\": true, \"who\": ");
	nc_buf_add_json_str(&resp->body, p.who);
	nc_buf_addf(&resp->body, ", \"role\": \"%s\", \"csrf\": \"%s\"}\n", nc_role_name(p.role), csrf);
	OPENSSL_cleanse(csrf, sizeof(csrf));
	resp->type = "application/json";
	resp->code = 200;
}

static void logout(struct nc_auth *a, const struct nc_web_req *req, struct nc_web_resp *resp)
{
	const char *sid = req_cookie(req, "nc_session");
	size_t i;

	pthread_mutex_lock(&a->mu);
	if (sid && strlen(sid) == NC_AUTH_SECRET_LEN)
		for (i = 0; i < NC_AUTH_MAX_SESSIONS; i++) {
			struct session *s = a->sessions[i];

			if (s && CRYPTO_memcmp(s->id, sid, NC_AUTH_SECRET_LEN) == 0) {
				alog(a, "%s logged out", s->p.who);
				OPENSSL_cleanse(s, sizeof(*s));
				free(s);
				a->sessions[i] = NULL;
			}
		}
	pthread_mutex_unlock(&a->mu);
	set_cookie(a, resp, "", 0);
	nc_buf_reset(&resp->body);
	nc_buf_adds(&resp->body, "{\"ok\": true}\n");
	resp->type = "application/json";
	resp->code = 200;
}

void nc_auth_handle(struct nc_auth *a, const struct nc_web_req *req, struct nc_web_resp *resp)
{
	bool is_login = strcmp(req->path, "/auth/login") == 0, is_logout = strcmp(req->path, "/auth/logout") == 0;

	if (!is_login && !is_logout)
		return;
	if (strcmp(req->method, "POST") != 0) {
		nc_web_error(resp, 405, "use POST");
		nc_web_resp_header(resp, "Allow", "POST");
		return;
	}
	if (is_login)
		login(a, req, resp);
	else
		logout(a, req, resp);
}

void nc_auth_bind_oidc(struct nc_auth *a, const char *subject, const char *email, const char *const *groups,
		       size_t ngroups, struct nc_principal *p)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	if (email && *email)
		snprintf(p->who, sizeof(p->who), "oidc:%.80s (%.80s)", subject ? subject : "?", email);
	else
		snprintf(p->who, sizeof(p->who), "oidc:%.160s", subject ? subject : "?");
	bind_roles(a, BIND_USER, subject, p);
	bind_roles(a, BIND_USER, email, p);
	for (i = 0; i < ngroups; i++)
		bind_roles(a, BIND_GROUP, groups[i], p);
	if (p->role == NC_ROLE_NONE) {
		p->all_tenants = false;
		p->ntenants = 0;
	}
}

/* ---- TLS ---- */

static char *ssl_error(void)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (!e)
		return nc_xstrdup("not PEM");
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return nc_xstrdup(buf);
}

static bool loopback(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	char host[64];
	struct in_addr in;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return false;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	return inet_pton(AF_INET, host, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127;
}

int nc_auth_tls_load(const struct nc_serve_config *cfg, const char *listen, char **cert, char **key,
		     struct nc_err *err)
{
	char *c = NULL, *k = NULL, *why;
	size_t clen = 0, klen = 0;
	unsigned mode = 0;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	BIO *bio;
	int rc;

	*cert = *key = NULL;
	if (!NC_IS_SET(cfg->tls.cert_file)) {
		if (loopback(listen) || (NC_IS_SET(cfg->api.insecure_http) && cfg->api.insecure_http.v))
			return 0;
		nc_err_set(err, "listen %s is not loopback and tls: is not set: add tls: {certFile: ..., keyFile: ...} "
			   "(or api: {insecureHttp: true} to serve plain HTTP there anyway); refusing to start", listen);
		return -1;
	}
	if (nc_read_file(cfg->tls.cert_file.v, 1 << 20, &c, &clen) < 0) {
		nc_err_set(err, "tls certFile %s: cannot read it: %s", cfg->tls.cert_file.v, strerror(errno));
		return -1;
	}
	rc = nc_read_secret_file(cfg->tls.key_file.v, 1 << 20, &k, &klen, &mode);
	if (rc == NC_SECRET_MODE_BAD) {
		char *m = nc_secret_msg("tls keyFile", cfg->tls.key_file.v, mode);

		nc_err_set(err, "%s; refusing to start", m);
		free(m);
		goto fail;
	}
	if (rc < 0) {
		nc_err_set(err, "tls keyFile %s: cannot read it: %s", cfg->tls.key_file.v,
			   rc == NC_SECRET_NOT_FILE ? "not a regular file" : strerror(errno));
		goto fail;
	}
	bio = BIO_new_mem_buf(c, (int)clen);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!x) {
		why = ssl_error();
		nc_err_set(err, "tls certFile %s is not a PEM certificate (%s)", cfg->tls.cert_file.v, why);
		free(why);
		goto fail;
	}
	bio = BIO_new_mem_buf(k, (int)klen);
	pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!pk) {
		why = ssl_error();
		nc_err_set(err, "tls keyFile %s is not an unencrypted PEM private key (%s)", cfg->tls.key_file.v, why);
		free(why);
		goto fail;
	}
	if (X509_check_private_key(x, pk) != 1) {
		ERR_clear_error();
		nc_err_set(err, "tls keyFile %s is not the key of certFile %s", cfg->tls.key_file.v, cfg->tls.cert_file.v);
		goto fail;
	}
	X509_free(x);
	EVP_PKEY_free(pk);
	*cert = c;
	*key = k;
	return 0;
fail:
	X509_free(x);
	EVP_PKEY_free(pk);
	free(c);
	if (k) {
		OPENSSL_cleanse(k, klen);
		free(k);
	}
	return -1;
}

/* ---- webhooks ---- */

struct nc_webhooks {
	char *bearer, *github, *gitlab;
	size_t github_len;
	pthread_mutex_t mu;
	char (*seen)[80];                /* the last NC_WEBHOOK_DELIVERIES GitHub delivery ids, a ring */
	char (*seen_sig)[7 + 2 * EVP_MAX_MD_SIZE + 1]; /* and their signatures: the id is not signed, the body is */
	size_t next;
};

/* a webhook secret file: private, not empty, without its final line break */
static int read_hook_secret(const char *what, const char *path, char **out, size_t *len, struct nc_err *err)
{
	unsigned mode = 0;
	char *s = NULL;
	size_t n = 0;
	int rc = nc_read_secret_file(path, 4096, &s, &n, &mode);

	if (rc == NC_SECRET_MODE_BAD) {
		char *m = nc_secret_msg(what, path, mode);

		nc_err_set(err, "%s; refusing to start", m);
		free(m);
		return -1;
	}
	if (rc < 0) {
		nc_err_set(err, "cannot read %s %s: %s", what, path, rc == -2 ? "larger than 4 KiB" : strerror(errno));
		return -1;
	}
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	if (n < 16 || strlen(s) != n) {
		nc_err_set(err, "%s %s: the secret is shorter than 16 characters or holds a NUL (e.g. openssl rand -hex 32 > %s); "
			   "refusing to start", what, path, path);
		OPENSSL_cleanse(s, n);
		free(s);
		return -1;
	}
	*out = s;
	*len = n;
	return 0;
}

int nc_webhooks_create(struct nc_webhooks **out, const struct nc_serve_config *cfg, const char *bearer,
		       struct nc_err *err)
{
	struct nc_webhooks *w = nc_xcalloc(1, sizeof(*w));
	size_t n;

	pthread_mutex_init(&w->mu, NULL);
	w->bearer = bearer ? nc_xstrdup(bearer) : NULL;
	if (cfg && NC_IS_SET(cfg->webhooks.github_secret_file) &&
	    read_hook_secret("webhooks githubSecretFile", cfg->webhooks.github_secret_file.v, &w->github,
			     &w->github_len, err) < 0)
		goto fail;
	if (cfg && NC_IS_SET(cfg->webhooks.gitlab_token_file) &&
	    read_hook_secret("webhooks gitlabTokenFile", cfg->webhooks.gitlab_token_file.v, &w->gitlab, &n, err) < 0)
		goto fail;
	w->seen = nc_xcalloc(NC_WEBHOOK_DELIVERIES, sizeof(*w->seen));
	w->seen_sig = nc_xcalloc(NC_WEBHOOK_DELIVERIES, sizeof(*w->seen_sig));
	*out = w;
	return 0;
fail:
	nc_webhooks_destroy(w);
	return -1;
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void nc_webhooks_destroy(struct nc_webhooks *w)
{
	if (!w)
		return;
	free_secret(w->bearer);
	free_secret(w->github);
	free_secret(w->gitlab);
	free(w->seen);
	free(w->seen_sig);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

bool nc_webhooks_enabled(const struct nc_webhooks *w)
{
	return w && (w->bearer || w->github || w->gitlab);
}

static unsigned github(struct nc_webhooks *w, const struct nc_web_req *req, const char *sig, char *who, size_t n,
		       char *why, size_t whyn)
{
	const char *delivery = req_header(req, "X-GitHub-Delivery");
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char want[7 + 2 * EVP_MAX_MD_SIZE + 1];
	size_t i;
	bool replay = false;

	if (!w->github) {
		snprintf(why, whyn, "GitHub webhooks are not configured (webhooks.githubSecretFile)");
		return 403;
	}
	if (!HMAC(EVP_sha256(), w->github, (int)w->github_len, (const unsigned char *)(req->body ? req->body : ""),
		  req->body_len, mac, &maclen)) {
		snprintf(why, whyn, "cannot compute the HMAC");
		return 500;
	}
	memcpy(want, "sha256=", 7);
	hex(mac, maclen, want + 7);
	if (!secret_eq(want, sig)) {
		snprintf(why, whyn, "wrong X-Hub-Signature-256");
		return 401;
	}
	if (!delivery || !*delivery || strlen(delivery) >= sizeof(w->seen[0])) {
		snprintf(why, whyn, "no X-GitHub-Delivery id");
		return 400;
	}
	pthread_mutex_lock(&w->mu);
	/* a delivery id seen again, or a signed body seen again under a new id (anyone may set the id) */
	for (i = 0; i < NC_WEBHOOK_DELIVERIES && !replay; i++)
		replay = strcmp(w->seen[i], delivery) == 0 || strcmp(w->seen_sig[i], want) == 0;
	if (!replay) {
		snprintf(w->seen[w->next], sizeof(w->seen[0]), "%s", delivery);
		snprintf(w->seen_sig[w->next], sizeof(w->seen_sig[0]), "%s", want);
		w->next = (w->next + 1) % NC_WEBHOOK_DELIVERIES;
	}
	pthread_mutex_unlock(&w->mu);
	if (replay) {
		snprintf(why, whyn, "GitHub delivery %.79s was seen already (a replay)", delivery);
		return 409;
	}
	snprintf(who, n, "github delivery %.79s", delivery);
	return 0;
}

unsigned nc_webhooks_check(struct nc_webhooks *w, const struct nc_web_req *req, char *who, size_t n, char *why,
			   size_t whyn)
{
	const char *sig = req_header(req, "X-Hub-Signature-256");
	const char *gl = req_header(req, "X-Gitlab-Token");
	const char *auth = req_header(req, "Authorization");

	snprintf(who, n, "?");
	snprintf(why, whyn, "?");
	if (sig)
		return github(w, req, sig, who, n, why, whyn);
	if (gl) {
		if (!w->gitlab) {
			snprintf(why, whyn, "GitLab webhooks are not configured (webhooks.gitlabTokenFile)");
			return 403;
		}
		if (!secret_eq(w->gitlab, gl)) {
			snprintf(why, whyn, "wrong X-Gitlab-Token");
			return 401;
		}
		snprintf(who, n, "gitlab");
		return 0;
	}
	if (!w->bearer) {
		snprintf(why, whyn, "%s", nc_webhooks_enabled(w) ? "no X-Hub-Signature-256 or X-Gitlab-Token header"
							     : "webhook disabled: no tokenFile configured");
		return nc_webhooks_enabled(w) ? 401 : 403;
	}
	if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !secret_eq(w->bearer, auth + 7)) {
		snprintf(why, whyn, "missing or wrong bearer token");
		return 401;
	}
	snprintf(who, n, "bearer token");
	return 0;
}
