/*
 * oidc.c - OpenID Connect login for people (oidc.h, docs/security.md).
 *
 * The provider's discovery document is read when serve starts (again on a
 * login while it could not be read); /auth/oidc/login keeps a pending login
 * (state -> PKCE verifier, nonce, expiry) in memory and sends the browser to
 * the provider; /auth/callback takes the pending login once, trades the code
 * for tokens at the token endpoint, verifies the ID token against the
 * provider's JWKS (RS256 or ES256 only) and its claims, binds the user to a
 * role (nc_auth_bind_oidc), checks multi-factor for the roles of
 * api.oidc.requireMfa and starts a session.  Tokens, codes and secrets are
 * never logged nor shown.  oidc-jwt.c holds the JWS and JWK parts.
 */
#include "oidc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "oidc-jwt.h"
#include "serve.h"

#define PENDING_MAX 4096            /* logins in progress at once; the oldest goes first */
#define PENDING_PER_PEER 32         /* of one client address: its next replaces its own oldest */
#define PENDING_TTL 600             /* a login must come back within 10 minutes */
#define DOC_MAX (256 * 1024)        /* discovery document, JWKS, token response */
#define JWKS_REFETCH_MIN 30         /* seconds between two JWKS fetches for unknown keys */
#define JWKS_MAX_AGE 3600           /* keys older than this are read again on the next login */
#define DISCOVERY_RETRY 10          /* seconds between two discovery attempts */
#define LEEWAY 60                   /* clock skew allowed on exp */
#define IAT_FUTURE_MAX 300          /* an iat further ahead than this is refused */
#define GROUPS_MAX 256
#define STATE_COOKIE "nc_oidc_state"

struct pending {
	char state[48], verifier[48], nonce[48];
	char peer[48];                   /* the client address that started it */
	time_t expires;
};

enum client_auth { AUTH_NONE, AUTH_BASIC, AUTH_POST };

struct nc_oidc {
	pthread_mutex_t mu;
	char *issuer, *client_id, *client_secret, *redirect_uri, *scope, *groups_claim, *ca_file;
	bool mfa_role[NC_ROLE_ADMIN + 1];
	/* discovery (under mu) */
	char *authz_ep, *token_ep, *jwks_uri;
	enum client_auth client_auth;
	time_t discovery_tried;
	/* pending logins (under mu) */
	struct pending pending[PENDING_MAX];
	size_t npending;
	/* JWKS (under mu) */
	struct nc_jwk *keys;
	size_t nkeys;
	time_t jwks_fetched;             /* the last fetch */
	time_t jwks_refetched;           /* the last fetch for an unknown key */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- base64url (RFC 4648 section 5, no padding) ---- */

static void random_b64url(char *out, size_t n)
{
	if (nc_random_b64url(out, n, 32) < 0)
		abort();             /* no randomness: nothing secure can be done */
}

/* ---- HTTP to the provider (libcurl) ---- */

struct sink {
	struct nc_buf b;
	bool too_big;
};

static size_t sink_write(char *p, size_t size, size_t nmemb, void *u)
{
	struct sink *s = u;
	size_t n = size * nmemb;

	if (s->b.len + n > DOC_MAX) {
		s->too_big = true;
		return 0;
	}
	nc_buf_add(&s->b, p, n);
	return n;
}

/* an http URL whose host is 127.x.x.x, [::1] or localhost (libcurl's URL parser says which host) */
static bool url_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	struct in_addr a;
	bool loop = false;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && strcmp(scheme, "http") == 0)
		loop = strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
		       (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return loop;
}

/* https, or plain http to a provider on loopback */
static bool url_allowed(const char *url)
{
	return strncmp(url, "https://", 8) == 0 || url_is_loopback(url);
}

/*
 * GET url (form NULL) or POST form to it; the answer's body into *out (the
 * caller frees).  Nothing of form or the body is ever put in err.
 */
static int fetch(const struct nc_oidc *o, const char *url, const char *form, const char *user,
		 const char *password, char **out, struct nc_err *err)
{
	struct sink s = { NC_BUF_INIT, false };
	struct curl_slist *hdr = NULL;
	CURL *c;
	CURLcode rc;
	long code = 0;
	int ret = -1;

	pthread_once(&curl_once, curl_init_once);
	if (!url_allowed(url)) {
		nc_err_set(err, "%s: only https is allowed (plain http only to a provider on loopback)", url);
		return -1;
	}
	c = curl_easy_init();
	if (!c) {
		nc_err_set(err, "cannot start a libcurl handle");
		return -1;
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)DOC_MAX);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "novacron/" NC_VERSION);
	if (o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (form) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
		if (user) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERNAME, user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, password);
		}
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
			nc_err_set(err, "%s: the answer is larger than %d KiB", url, DOC_MAX / 1024);
		else
			nc_err_set(err, "%s: %s", url, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		/* an OAuth error code says why (invalid_client, invalid_grant, ...); nothing else of the body */
		json_tokener *tok = json_tokener_new();
		json_object *j = tok ? json_tokener_parse_ex(tok, s.b.buf, (int)s.b.len) : NULL;
		const char *e = j && json_object_is_type(j, json_type_object) ? nc_json_str(j, "error") : NULL;
		size_t i;

		for (i = 0; e && e[i]; i++)
			if (!(isalnum((unsigned char)e[i]) || e[i] == '_') || i >= 64)
				e = NULL;
		nc_err_set(err, "%s: HTTP %ld%s%s", url, code, e ? ": " : "", e ? e : "");
		json_object_put(j);
		if (tok)
			json_tokener_free(tok);
		goto out;
	}
	*out = nc_buf_detach(&s.b, NULL);
	ret = 0;
out:
	nc_buf_release(&s.b);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return ret;
}

/* ---- discovery ---- */

/* -1: the provider could not be read; -2: what it says is wrong (a configuration error) */
static int discover(struct nc_oidc *o, struct nc_err *err)
{
	char *url, *text = NULL;
	json_object *j = NULL;
	const char *iss, *authz, *token, *jwks;
	enum client_auth ca = AUTH_NONE;
	size_t n = strlen(o->issuer);
	int ret = -1;

	url = nc_xasprintf("%s%s.well-known/openid-configuration", o->issuer,
			   n && o->issuer[n - 1] == '/' ? "" : "/");
	if (fetch(o, url, NULL, NULL, NULL, &text, err) < 0)
		goto out;
	ret = -2;
	if (!(j = nc_json_parse_object(text, "the discovery document", err)))
		goto out;
	iss = nc_json_str(j, "issuer");
	authz = nc_json_str(j, "authorization_endpoint");
	token = nc_json_str(j, "token_endpoint");
	jwks = nc_json_str(j, "jwks_uri");
	if (!iss || strcmp(iss, o->issuer) != 0) {
		nc_err_set(err, "%s: its issuer is not api.oidc.issuer %s (it must match exactly)", url, o->issuer);
		goto out;
	}
	if (!authz || !token || !jwks) {
		nc_err_set(err, "%s: authorization_endpoint, token_endpoint or jwks_uri is missing", url);
		goto out;
	}
	if (!url_allowed(authz) || !url_allowed(token) || !url_allowed(jwks)) {
		nc_err_set(err, "%s: an endpoint is not https (plain http only on loopback)", url);
		goto out;
	}
	if (o->client_secret) {
		json_object *m;

		/* client_secret_basic is the default when the provider says nothing */
		if (!json_object_object_get_ex(j, "token_endpoint_auth_methods_supported", &m) ||
		    nc_json_has(j, "token_endpoint_auth_methods_supported", "client_secret_basic"))
			ca = AUTH_BASIC;
		else if (nc_json_has(j, "token_endpoint_auth_methods_supported", "client_secret_post"))
			ca = AUTH_POST;
		else {
			nc_err_set(err, "%s: the provider takes neither client_secret_basic nor client_secret_post "
				   "(api.oidc.clientSecretFile)", url);
			goto out;
		}
	}
	pthread_mutex_lock(&o->mu);
	free(o->authz_ep);
	free(o->token_ep);
	free(o->jwks_uri);
	o->authz_ep = nc_xstrdup(authz);
	o->token_ep = nc_xstrdup(token);
	o->jwks_uri = nc_xstrdup(jwks);
	o->client_auth = ca;
	pthread_mutex_unlock(&o->mu);
	ret = 0;
out:
	json_object_put(j);
	free(text);
	free(url);
	return ret;
}

/* ---- JWKS ---- */

static int jwks_fetch(struct nc_oidc *o, struct nc_err *err)
{
	char *url, *text = NULL;
	struct nc_jwk *keys = NULL;
	size_t n = 0;
	int ret = -1;

	pthread_mutex_lock(&o->mu);
	url = o->jwks_uri ? nc_xstrdup(o->jwks_uri) : NULL;
	o->jwks_fetched = time(NULL);
	pthread_mutex_unlock(&o->mu);
	if (!url) {
		nc_err_set(err, "the provider's discovery document was not read");
		return -1;
	}
	if (fetch(o, url, NULL, NULL, NULL, &text, err) < 0)
		goto out;
	if (nc_jwks_parse(text, &keys, &n, err) < 0) {
		struct nc_err e2 = *err;

		nc_err_set(err, "%s: %s", url, e2.msg);
		goto out;
	}
	pthread_mutex_lock(&o->mu);
	nc_jwks_free(o->keys, o->nkeys);
	o->keys = keys;
	o->nkeys = n;
	pthread_mutex_unlock(&o->mu);
	keys = NULL;
	n = 0;
	ret = 0;
out:
	nc_jwks_free(keys, n);
	free(text);
	free(url);
	return ret;
}

/* the key for kid (NULL: the only key of that type); a reference the caller frees */
static EVP_PKEY *key_find(struct nc_oidc *o, const char *kid, int kty)
{
	EVP_PKEY *found = NULL;
	size_t i, matches = 0;

	pthread_mutex_lock(&o->mu);
	for (i = 0; i < o->nkeys; i++) {
		if (o->keys[i].kty != kty)
			continue;
		if (kid ? (o->keys[i].kid && strcmp(o->keys[i].kid, kid) == 0) : true) {
			found = o->keys[i].pkey;
			matches++;
		}
	}
	if (matches != 1)
		found = NULL;
	if (found)
		EVP_PKEY_up_ref(found);
	pthread_mutex_unlock(&o->mu);
	return found;
}

/* ---- the ID token ---- */

/*
 * Verifies the ID token: its form, alg, signature, iss, aud (azp), exp,
 * iat and nonce.  *claims (the caller puts it) on success; why says what
 * failed otherwise (never the token).
 */
static int verify_id_token(struct nc_oidc *o, const char *jwt, const char *nonce, json_object **claims,
			   char *why, size_t whylen)
{
	const char *d1, *d2, *alg, *kid;
	unsigned char *hdr_raw = NULL, *pay_raw = NULL, *sig = NULL;
	size_t hl, pl, sl;
	json_object *hdr = NULL, *pay = NULL, *crit;
	EVP_PKEY *pkey = NULL;
	struct nc_err err;
	int kty, ret = -1;
	bool stale;
	int64_t exp, iat;
	time_t now = time(NULL);
	const char *v;

	if (strlen(jwt) > NC_JWS_MAX || !(d1 = strchr(jwt, '.')) || !(d2 = strchr(d1 + 1, '.')) ||
	    strchr(d2 + 1, '.')) {
		snprintf(why, whylen, "the ID token is not a JWS in compact form");
		goto out;
	}
	if (!(hdr_raw = nc_b64url_decode(jwt, (size_t)(d1 - jwt), &hl)) ||
	    !(pay_raw = nc_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pl)) ||
	    !(sig = nc_b64url_decode(d2 + 1, strlen(d2 + 1), &sl)) ||
	    strlen((char *)hdr_raw) != hl || strlen((char *)pay_raw) != pl ||
	    !(hdr = nc_json_parse_object((char *)hdr_raw, "the ID token's header", &err)) ||
	    !(pay = nc_json_parse_object((char *)pay_raw, "the ID token's claims", &err))) {
		snprintf(why, whylen, "the ID token is not a JWS in compact form");
		goto out;
	}
	alg = nc_json_str(hdr, "alg");
	if (!alg || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0)) {
		snprintf(why, whylen, "the ID token is signed with alg %.32s: only RS256 and ES256 are accepted",
			 alg ? alg : "(none)");
		goto out;
	}
	if (json_object_object_get_ex(hdr, "crit", &crit)) {
		snprintf(why, whylen, "the ID token has critical header extensions this client does not know");
		goto out;
	}
	kty = alg[0] == 'R' ? EVP_PKEY_RSA : EVP_PKEY_EC;
	kid = nc_json_str(hdr, "kid");
	pthread_mutex_lock(&o->mu);
	stale = now - o->jwks_fetched >= JWKS_MAX_AGE;
	pthread_mutex_unlock(&o->mu);
	if (stale && jwks_fetch(o, &err) < 0)      /* the keys are read again now and then */
		nc_serve_log("oidc: cannot read the provider's keys: %s", err.msg);
	pkey = key_find(o, kid, kty);
	if (!pkey) {
		time_t last;

		/* a new key at the provider: read the JWKS again, at most once per JWKS_REFETCH_MIN */
		pthread_mutex_lock(&o->mu);
		last = o->jwks_refetched;
		if (now - last >= JWKS_REFETCH_MIN)
			o->jwks_refetched = now;
		pthread_mutex_unlock(&o->mu);
		if (now - last >= JWKS_REFETCH_MIN) {
			if (jwks_fetch(o, &err) < 0)
				nc_serve_log("oidc: cannot read the provider's keys: %s", err.msg);
			pkey = key_find(o, kid, kty);
		}
	}
	if (!pkey) {
		snprintf(why, whylen, "the ID token's key (kid %.64s, %s) is not in the provider's JWKS",
			 kid ? kid : "(none)", alg);
		goto out;
	}
	if (!nc_jws_verify(pkey, kty, jwt, (size_t)(d2 - jwt), sig, sl)) {
		snprintf(why, whylen, "the ID token's signature does not verify");
		goto out;
	}
	if (!(v = nc_json_str(pay, "iss")) || strcmp(v, o->issuer) != 0) {
		snprintf(why, whylen, "the ID token's issuer is not %s", o->issuer);
		goto out;
	}
	if (!nc_json_has(pay, "aud", o->client_id)) {
		snprintf(why, whylen, "the ID token is not for this client (aud)");
		goto out;
	}
	{
		json_object *aud;

		v = nc_json_str(pay, "azp");
		json_object_object_get_ex(pay, "aud", &aud);
		if ((json_object_is_type(aud, json_type_array) && json_object_array_length(aud) > 1 && !v) ||
		    (v && strcmp(v, o->client_id) != 0)) {
			snprintf(why, whylen, "the ID token was issued to another party (azp)");
			goto out;
		}
	}
	if (nc_json_time(pay, "exp", &exp) < 0 || exp + LEEWAY <= (int64_t)now) {
		snprintf(why, whylen, "the ID token has expired");
		goto out;
	}
	if (nc_json_time(pay, "iat", &iat) < 0 || iat > (int64_t)now + IAT_FUTURE_MAX) {
		snprintf(why, whylen, "the ID token's issue time (iat) is missing or in the future");
		goto out;
	}
	v = nc_json_str(pay, "nonce");
	if (!v || strlen(v) != strlen(nonce) || CRYPTO_memcmp(v, nonce, strlen(nonce)) != 0) {
		snprintf(why, whylen, "the ID token's nonce is not this login's");
		goto out;
	}
	*claims = pay;
	pay = NULL;
	ret = 0;
out:
	EVP_PKEY_free(pkey);
	json_object_put(hdr);
	json_object_put(pay);
	free(hdr_raw);
	free(pay_raw);
	free(sig);
	return ret;
}

/* ---- pages ---- */

static void add_html(struct nc_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': nc_buf_adds(b, "&lt;"); break;
		case '>': nc_buf_adds(b, "&gt;"); break;
		case '&': nc_buf_adds(b, "&amp;"); break;
		case '"': nc_buf_adds(b, "&quot;"); break;
		case '\'': nc_buf_adds(b, "&#39;"); break;
		default:
			nc_buf_addc(b, (unsigned char)*s < 0x20 ? '?' : *s);
		}
	}
}

/* a small HTML page for the browser: login refused, with why */
static void page(struct nc_web_resp *resp, unsigned code, const char *title, const char *msg)
{
	nc_buf_reset(&resp->body);
	nc_buf_adds(&resp->body, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
	add_html(&resp->body, title);
	nc_buf_adds(&resp->body, "</title></head>\n<body><h1>");
	add_html(&resp->body, title);
	nc_buf_adds(&resp->body, "</h1>\n<p>");
	add_html(&resp->body, msg);
	nc_buf_adds(&resp->body, "</p>\n<p><a href=\"/\">Back to NovaCron</a></p></body></html>\n");
	resp->type = "text/html; charset=utf-8";
	resp->code = code;
}

static void state_cookie(struct nc_web_resp *resp, const struct nc_web_req *req, const char *value)
{
	char *c = nc_xasprintf(STATE_COOKIE "=%s; Path=/auth/; HttpOnly; SameSite=Lax; Max-Age=%d%s",
			       value, value[0] ? PENDING_TTL : 0, req->tls ? "; Secure" : "");

	nc_web_resp_header(resp, "Set-Cookie", c);
	free(c);
}

/* ---- the two endpoints ---- */

static void add_param(struct nc_buf *b, const char *name, const char *value)
{
	char *e = curl_easy_escape(NULL, value, 0);

	nc_buf_addf(b, "%s%s=%s", b->len ? "&" : "", name, e ? e : "");
	curl_free(e);
}

static void login(struct nc_oidc *o, const struct nc_web_req *req, struct nc_web_resp *resp)
{
	struct pending p;
	struct nc_buf q = NC_BUF_INIT;
	unsigned char digest[32];
	unsigned int dl = 0;
	char *challenge, *url, *authz;
	time_t now = time(NULL), tried;
	size_t i, oldest, mine;

	pthread_mutex_lock(&o->mu);
	tried = o->discovery_tried;
	authz = o->authz_ep ? nc_xstrdup(o->authz_ep) : NULL;
	if (!authz && now - tried >= DISCOVERY_RETRY)
		o->discovery_tried = now;
	pthread_mutex_unlock(&o->mu);
	if (!authz && now - tried >= DISCOVERY_RETRY) {
		struct nc_err err;

		if (discover(o, &err) < 0)
			nc_serve_log("oidc: %s", err.msg);
		pthread_mutex_lock(&o->mu);
		authz = o->authz_ep ? nc_xstrdup(o->authz_ep) : NULL;
		pthread_mutex_unlock(&o->mu);
	}
	if (!authz) {
		page(resp, 503, "Login unavailable", "The OpenID Connect provider could not be reached. "
		     "Try again later; serve's log says why.");
		return;
	}
	memset(&p, 0, sizeof(p));
	random_b64url(p.state, sizeof(p.state));
	random_b64url(p.nonce, sizeof(p.nonce));
	random_b64url(p.verifier, sizeof(p.verifier));
	p.expires = now + PENDING_TTL;
	snprintf(p.peer, sizeof(p.peer), "%s", req->peer ? req->peer : "?");
	if (EVP_Digest(p.verifier, strlen(p.verifier), digest, &dl, EVP_sha256(), NULL) != 1)
		abort();
	challenge = nc_b64url_encode(digest, dl);

	pthread_mutex_lock(&o->mu);
	for (i = 0; i < o->npending;) {           /* the expired go */
		if (o->pending[i].expires <= now)
			o->pending[i] = o->pending[--o->npending];
		else
			i++;
	}
	/* one address's logins replace its own oldest: a client starting logins in a loop never pushes
	 * out other users' logins in progress */
	for (i = 0, mine = 0, oldest = SIZE_MAX; i < o->npending; i++)
		if (strcmp(o->pending[i].peer, p.peer) == 0) {
			mine++;
			if (oldest == SIZE_MAX || o->pending[i].expires < o->pending[oldest].expires)
				oldest = i;
		}
	if (mine >= PENDING_PER_PEER) {
		o->pending[oldest] = o->pending[--o->npending];
	} else if (o->npending == PENDING_MAX) {  /* full: the oldest goes */
		for (oldest = 0, i = 1; i < o->npending; i++)
			if (o->pending[i].expires < o->pending[oldest].expires)
				oldest = i;
		o->pending[oldest] = o->pending[--o->npending];
	}
	o->pending[o->npending++] = p;
	pthread_mutex_unlock(&o->mu);

	add_param(&q, "response_type", "code");
	add_param(&q, "client_id", o->client_id);
	add_param(&q, "redirect_uri", o->redirect_uri);
	add_param(&q, "scope", o->scope);
	add_param(&q, "state", p.state);
	add_param(&q, "nonce", p.nonce);
	add_param(&q, "code_challenge", challenge);
	add_param(&q, "code_challenge_method", "S256");
	url = nc_xasprintf("%s%c%s", authz, strchr(authz, '?') ? '&' : '?', q.buf);
	nc_buf_reset(&resp->body);
	resp->code = 302;
	resp->type = "text/plain; charset=utf-8";
	nc_buf_adds(&resp->body, "to the OpenID Connect provider\n");
	nc_web_resp_header(resp, "Location", url);
	nc_web_resp_header(resp, "Cache-Control", "no-store");
	state_cookie(resp, req, p.state);
	OPENSSL_cleanse(&p, sizeof(p));
	free(url);
	free(challenge);
	free(authz);
	nc_buf_release(&q);
}

/* takes the pending login of state (once); false when unknown or expired */
static bool take_pending(struct nc_oidc *o, const char *state, struct pending *out)
{
	time_t now = time(NULL);
	size_t i, n = strlen(state);
	bool found = false;

	pthread_mutex_lock(&o->mu);
	for (i = 0; i < o->npending; i++) {
		if (strlen(o->pending[i].state) == n && CRYPTO_memcmp(o->pending[i].state, state, n) == 0) {
			*out = o->pending[i];
			o->pending[i] = o->pending[--o->npending];
			found = out->expires > now;
			break;
		}
	}
	pthread_mutex_unlock(&o->mu);
	return found;
}

/* the code for tokens; the ID token into *id_token (the caller frees) */
static int redeem(struct nc_oidc *o, const char *code, const struct pending *p, char **id_token, char *why,
		  size_t whylen)
{
	struct nc_buf form = NC_BUF_INIT;
	char *token_ep, *text = NULL, *user = NULL, *pass = NULL;
	enum client_auth ca;
	json_object *j = NULL;
	struct nc_err err;
	const char *idt;
	int ret = -1;

	pthread_mutex_lock(&o->mu);
	token_ep = nc_xstrdup(o->token_ep);
	ca = o->client_auth;
	pthread_mutex_unlock(&o->mu);
	add_param(&form, "grant_type", "authorization_code");
	add_param(&form, "code", code);
	add_param(&form, "redirect_uri", o->redirect_uri);
	add_param(&form, "code_verifier", p->verifier);
	if (ca != AUTH_BASIC)
		add_param(&form, "client_id", o->client_id);
	if (ca == AUTH_POST)
		add_param(&form, "client_secret", o->client_secret);
	if (ca == AUTH_BASIC) {
		/* RFC 6749 2.3.1: both form-encoded before Basic */
		user = curl_easy_escape(NULL, o->client_id, 0);
		pass = curl_easy_escape(NULL, o->client_secret, 0);
	}
	if (fetch(o, token_ep, form.buf, user, pass, &text, &err) < 0) {
		nc_serve_log("oidc: the token endpoint refused the code: %s", err.msg);
		snprintf(why, whylen, "the provider did not give tokens for this login");
		goto out;
	}
	if (!(j = nc_json_parse_object(text, "the token response", &err)) || !(idt = nc_json_str(j, "id_token"))) {
		snprintf(why, whylen, "the provider's token response holds no ID token");
		goto out;
	}
	*id_token = nc_xstrdup(idt);
	ret = 0;
out:
	json_object_put(j);
	if (text)
		OPENSSL_cleanse(text, strlen(text));
	free(text);
	OPENSSL_cleanse(form.buf, form.len);
	nc_buf_release(&form);
	curl_free(user);
	if (pass)
		OPENSSL_cleanse(pass, strlen(pass));
	curl_free(pass);
	free(token_ep);
	return ret;
}

/* printable, no blanks at the ends, not too long: it goes into logs and the audit trail */
static bool plain(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void callback(struct nc_oidc *o, struct nc_auth *auth, const struct nc_web_req *req,
		     struct nc_web_resp *resp)
{
	const char *state = req->query(req, "state"), *code = req->query(req, "code");
	const char *error = req->query(req, "error"), *cookie = req->cookie(req, STATE_COOKIE);
	const char *sub, *email, *groups[GROUPS_MAX];
	size_t ngroups = 0, i;
	struct pending p;
	struct nc_principal pr;
	json_object *claims = NULL, *g, *amr;
	char why[256], *idt = NULL;
	bool mfa = false;

	memset(&p, 0, sizeof(p));
	if (!state || !take_pending(o, state, &p)) {
		page(resp, 400, "Login refused", "This login is unknown, expired or was already used. Log in again.");
		return;
	}
	state_cookie(resp, req, "");
	if (!cookie || strcmp(cookie, state) != 0) {
		page(resp, 400, "Login refused", "This login was not started by this browser. Log in again.");
		goto out;
	}
	if (error || !code) {
		snprintf(why, sizeof(why), "The provider refused the login: %.64s",
			 error && plain(error, 64) ? error : "no code given");
		page(resp, 401, "Login refused", why);
		goto out;
	}
	if (redeem(o, code, &p, &idt, why, sizeof(why)) < 0 ||
	    verify_id_token(o, idt, p.nonce, &claims, why, sizeof(why)) < 0) {
		nc_serve_log("oidc: login refused from %s: %s", req->peer ? req->peer : "?", why);
		page(resp, 401, "Login refused", why);
		goto out;
	}
	sub = nc_json_str(claims, "sub");
	email = nc_json_str(claims, "email");
	if (!sub || !plain(sub, 128) || (email && !plain(email, 128))) {
		page(resp, 401, "Login refused", "The ID token's subject or e-mail is missing or not printable.");
		goto out;
	}
	if (json_object_object_get_ex(claims, o->groups_claim, &g)) {
		if (json_object_is_type(g, json_type_string))
			groups[ngroups++] = json_object_get_string(g);
		else if (json_object_is_type(g, json_type_array))
			for (i = 0; i < json_object_array_length(g) && ngroups < GROUPS_MAX; i++) {
				json_object *e = json_object_array_get_idx(g, i);

				if (json_object_is_type(e, json_type_string))
					groups[ngroups++] = json_object_get_string(e);
			}
	}
	if (json_object_object_get_ex(claims, "amr", &amr) && json_object_is_type(amr, json_type_array))
		mfa = nc_json_has(claims, "amr", "mfa") || nc_json_has(claims, "amr", "otp") || nc_json_has(claims, "amr", "hwk");
	nc_auth_bind_oidc(auth, sub, email, groups, ngroups, &pr);
	if (!pr.who[0])
		snprintf(pr.who, sizeof(pr.who), "oidc:%s%s%s%s", sub, email ? " (" : "", email ? email : "",
			 email ? ")" : "");
	pr.mfa = mfa;
	pr.session = true;
	if (pr.role == NC_ROLE_NONE) {
		nc_serve_log("oidc: %s logged in but no role of api.roles binds them", pr.who);
		page(resp, 403, "No role for you", "You logged in, but no role of serve's configuration (api.roles) "
		     "is bound to your user or groups. Ask an administrator.");
		goto out;
	}
	if ((unsigned)pr.role < NC_ARRAY_SIZE(o->mfa_role) && o->mfa_role[pr.role] && !mfa) {
		nc_serve_log("oidc: %s refused: role %s needs multi-factor login", pr.who, nc_role_name(pr.role));
		page(resp, 403, "Multi-factor login required",
		     "Your role needs a multi-factor login: the provider's amr claim must show mfa, otp or hwk. "
		     "Log in at the provider with a second factor, then try again.");
		goto out;
	}
	if (nc_auth_session_start(auth, &pr, resp) < 0)
		goto out;
	nc_serve_log("oidc: %s logged in as %s", pr.who, nc_role_name(pr.role));
	nc_buf_reset(&resp->body);
	nc_buf_adds(&resp->body, "logged in\n");
	resp->type = "text/plain; charset=utf-8";
	resp->code = 302;
	nc_web_resp_header(resp, "Location", "/");
	nc_web_resp_header(resp, "Cache-Control", "no-store");
out:
	json_object_put(claims);
	if (idt)
		OPENSSL_cleanse(idt, strlen(idt));
	free(idt);
	OPENSSL_cleanse(&p, sizeof(p));
}

void nc_oidc_handle(struct nc_oidc *o, struct nc_auth *auth, const struct nc_web_req *req,
		    struct nc_web_resp *resp)
{
	if (!o)
		return;
	if (strcmp(req->path, "/auth/oidc") == 0 && strcmp(req->method, "GET") == 0) {
		/* the dashboard shows "Log in with SSO" when this answers */
		nc_buf_reset(&resp->body);
		nc_buf_adds(&resp->body, "{\"enabled\": true, \"issuer\": ");
		nc_buf_add_json_str(&resp->body, o->issuer);
		nc_buf_adds(&resp->body, ", \"login\": \"/auth/oidc/login\"}\n");
		resp->type = "application/json";
		resp->code = 200;
		return;
	}
	if (strcmp(req->path, "/auth/oidc/login") != 0 && strcmp(req->path, "/auth/callback") != 0)
		return;
	if (strcmp(req->method, "GET") != 0) {
		nc_web_error(resp, 405, "%s takes GET", req->path);
		nc_web_resp_header(resp, "Allow", "GET");
		return;
	}
	if (req->path[6] == 'o')
		login(o, req, resp);
	else
		callback(o, auth, req, resp);
}

/* ---- life ---- */

int nc_oidc_create(struct nc_oidc **out, const struct nc_serve_config *cfg, struct nc_err *err)
{
	const struct nc_serve_oidc *c = &cfg->api.oidc;
	struct nc_oidc *o;
	struct nc_buf scope = NC_BUF_INIT;
	struct nc_err e2;
	size_t i;
	int rc;

	*out = NULL;
	if (!c->issuer.v)
		return 0;
	if (!url_allowed(c->issuer.v)) {
		nc_err_set(err, "api.oidc.issuer %s: only https is allowed (plain http only to a provider on "
			   "loopback)", c->issuer.v);
		return -1;
	}
	o = nc_xcalloc(1, sizeof(*o));
	pthread_mutex_init(&o->mu, NULL);
	o->issuer = nc_xstrdup(c->issuer.v);
	o->client_id = nc_xstrdup(c->client_id.v ? c->client_id.v : "");
	o->redirect_uri = nc_xstrdup(c->redirect_url.v ? c->redirect_url.v : "");
	o->groups_claim = nc_xstrdup(c->groups_claim.v ? c->groups_claim.v : "groups");
	o->ca_file = c->ca_file.v ? nc_xstrdup(c->ca_file.v) : NULL;
	if (c->scopes.n == 0) {
		nc_buf_adds(&scope, "openid profile email groups");
	} else {
		bool openid = false;

		for (i = 0; i < c->scopes.n; i++)
			openid |= strcmp(c->scopes.v[i].v, "openid") == 0;
		if (!openid)
			nc_buf_adds(&scope, "openid");
		for (i = 0; i < c->scopes.n; i++)
			nc_buf_addf(&scope, "%s%s", scope.len ? " " : "", c->scopes.v[i].v);
	}
	o->scope = nc_buf_detach(&scope, NULL);
	for (i = 0; i < c->require_mfa.n; i++) {
		enum nc_role r;

		if (nc_role_parse(c->require_mfa.v[i].v, &r) < 0 || r == NC_ROLE_NONE) {
			nc_err_set(err, "api.oidc.requireMfa: %s is not a role (viewer, operator, admin)",
				   c->require_mfa.v[i].v);
			goto fail;
		}
		o->mfa_role[r] = true;
	}
	if (c->client_secret_file.v) {
		char *s = NULL;
		size_t len = 0;
		unsigned mode = 0;
		int r2 = nc_read_secret_file(c->client_secret_file.v, 4096, &s, &len, &mode);

		if (r2 == NC_SECRET_MODE_BAD) {
			char *m = nc_secret_msg("api.oidc.clientSecretFile", c->client_secret_file.v, mode);

			nc_err_set(err, "%s", m);
			free(m);
			goto fail;
		}
		if (r2 < 0) {
			nc_err_set(err, "api.oidc.clientSecretFile %s cannot be read", c->client_secret_file.v);
			goto fail;
		}
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			s[--len] = 0;
		if (len == 0) {
			free(s);
			nc_err_set(err, "api.oidc.clientSecretFile %s is empty", c->client_secret_file.v);
			goto fail;
		}
		o->client_secret = s;
	}
	/*
	 * The provider is read now.  A provider that answers wrongly (another
	 * issuer, plain http endpoints) is a configuration error; one that
	 * cannot be reached is read again on the first login.
	 */
	o->discovery_tried = time(NULL);
	rc = discover(o, &e2);
	if (rc == -2) {
		nc_err_set(err, "api.oidc: %s", e2.msg);
		goto fail;
	}
	if (rc < 0) {
		nc_serve_log("oidc: cannot read the provider now (again at the first login): %s", e2.msg);
	} else if (jwks_fetch(o, &e2) < 0) {
		nc_serve_log("oidc: cannot read the provider's keys now (again at the first login): %s", e2.msg);
		o->jwks_fetched = 0;
	}
	*out = o;
	return 0;
fail:
	nc_oidc_destroy(o);
	return -1;
}

void nc_oidc_destroy(struct nc_oidc *o)
{
	if (!o)
		return;
	pthread_mutex_destroy(&o->mu);
	free(o->issuer);
	free(o->client_id);
	if (o->client_secret)
		OPENSSL_cleanse(o->client_secret, strlen(o->client_secret));
	free(o->client_secret);
	free(o->redirect_uri);
	free(o->scope);
	free(o->groups_claim);
	free(o->ca_file);
	free(o->authz_ep);
	free(o->token_ep);
	free(o->jwks_uri);
	nc_jwks_free(o->keys, o->nkeys);
	OPENSSL_cleanse(o->pending, sizeof(o->pending));
	free(o);
}
