/*
 * backup/target-s3.c - the backup targets on object stores over HTTP (libcurl):
 * S3 (AWS Signature Version 4, path-style URLs) and OpenStack Swift (auth
 * v1).  Both share the plumbing at the top of this file: one curl handle
 * per target (so connections are kept alive), a request run with retries,
 * URL encoding and the credentials file.
 *
 *   S3      ENDPOINT/BUCKET/PREFIX+NAME
 *   Swift   STORAGE_URL/CONTAINER/PREFIX+NAME   (STORAGE_URL from auth)
 *
 * Requests.  Each request is tried up to HTTP_TRIES times: again after a
 * transport error (connection refused or reset, timeout) and after HTTP
 * 5xx or 429, waiting 0.2 s, 0.8 s, 3.2 s in between.  Every other answer
 * is final.  A PUT replaces the whole object or nothing (both stores
 * guarantee it), so a put is atomic, and an acknowledged PUT or DELETE is
 * durable: sync() has nothing to do.
 *
 * S3.  Every request is signed with SigV4 (HMAC-SHA256 over the canonical
 * request: method, URI, sorted query, the signed headers host,
 * x-amz-content-sha256 and x-amz-date, and the payload's SHA-256).  The
 * payload hash is always sent, so the server verifies every upload.  The
 * signature uses the clock (x-amz-date); servers refuse a skew of more than
 * 15 minutes.  list() is ListObjectsV2 with prefix PREFIX+DIR/, following
 * continuation tokens; its XML, and the XML error documents whose Code
 * goes into the error message ("HTTP 403 SignatureDoesNotMatch"), are
 * parsed with libxml2.  create makes the bucket (an existing bucket that
 * the user can list is fine); open without create checks that the bucket
 * answers a listing.
 *
 * Swift.  GET ENDPOINT/auth/1.0 with X-Auth-User and X-Auth-Key returns
 * X-Storage-Url and X-Auth-Token; a 401 later (an expired token) gets a
 * new token and the request is tried once more.  Uploads carry their MD5
 * as ETag, which Swift verifies.  list() reads the plain-text container
 * listing (one name a line) in pages of SWIFT_PAGE with prefix and marker.
 *
 * Credentials file: "key = value" lines, blank lines and '#' comments;
 * access_key and secret_key for S3, user and key for Swift.  A file that
 * its group or others may read is refused, like ssh refuses such keys.
 */
#include "backup.h"

#include <curl/curl.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "../../spec/util.h"

#define HTTP_TRIES 4
#define HTTP_MAX_BODY ((size_t)64 << 20)     /* far above NC_BACKUP_MAX_CHUNK */
#define SWIFT_PAGE 1000
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- shared HTTP plumbing ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

struct http_resp {
	long status;
	struct nc_buf body;
	struct nc_buf headers;
	bool too_big;
};
#define HTTP_RESP_INIT { 0, NC_BUF_INIT, NC_BUF_INIT, false }

static void http_resp_release(struct http_resp *rs)
{
	nc_buf_release(&rs->body);
	nc_buf_release(&rs->headers);
}

/* Builds the headers of one try (signatures carry the time: fresh each try). */
typedef struct curl_slist *(*http_headers_fn)(void *ctx);

struct http_req {
	const char *method;          /* GET, PUT, HEAD, DELETE */
	const char *url;
	const void *body;            /* PUT */
	size_t len;
	http_headers_fn headers;
	void *ctx;
};

struct upload {
	const unsigned char *p;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct upload *u = ud;
	size_t n = size * nmemb;

	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *rs = ud;
	size_t n = size * nmemb;

	if (rs->body.len + n > HTTP_MAX_BODY) {
		rs->too_big = true;
		return 0;
	}
	nc_buf_add(&rs->body, data, n);
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *rs = ud;
	size_t n = size * nmemb;

	/* a new status line (after "100 Continue") starts a new set */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
		nc_buf_reset(&rs->headers);
	nc_buf_add(&rs->headers, data, n);
	return n;
}

/* The value of a response header (trimmed; caller frees), or NULL. */
static char *http_header(const struct http_resp *rs, const char *name)
{
	size_t nl = strlen(name);
	const char *p = rs->headers.buf;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);

		if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e = p + ll;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			return nc_xstrndup(v, (size_t)(e - v));
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return NULL;
}

static bool curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_WRITE_ERROR:          /* our body limit */
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return false;
	default:
		return true;
	}
}

/*
 * Runs rq, with retries; fills *rs with the last answer.  0 when an HTTP
 * answer came (whatever its status), -1 with err set when none did.
 */
static int http_run(CURL *c, const struct http_req *rq, struct http_resp *rs,
	const char *what, struct nc_err *err)
{
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc = CURLE_OK;
	int try;

	for (try = 0; try < HTTP_TRIES; try++) {
		struct upload up = { rq->body, rq->len };
		struct curl_slist *h;

		if (try) {
			struct timespec ts = { 0, 200000000L };
			int i;

			for (i = 1; i < try; i++)
				ts.tv_nsec *= 4;
			ts.tv_sec = ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		nc_buf_reset(&rs->body);
		nc_buf_reset(&rs->headers);
		rs->status = 0;
		rs->too_big = false;
		errbuf[0] = '\0';
		h = rq->headers(rq->ctx);
		h = curl_slist_append(h, "Expect:");
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, rq->url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		if (strcmp(rq->method, "PUT") == 0) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &up);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->len);
		} else if (strcmp(rq->method, "HEAD") == 0) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (strcmp(rq->method, "GET") != 0) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
		}
		cc = curl_easy_perform(c);
		curl_slist_free_all(h);
		if (cc == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
			if ((rs->status < 500 && rs->status != 429) || try + 1 == HTTP_TRIES)
				return 0;
			continue;
		}
		if (rs->too_big) {
			nc_err_set(err, "%s: answer larger than %zu bytes", what, HTTP_MAX_BODY);
			return -1;
		}
		if (!curl_retryable(cc))
			break;
	}
	nc_err_set(err, "%s: %s (%d %s)", what, errbuf[0] ? errbuf : curl_easy_strerror(cc),
		try < HTTP_TRIES ? try + 1 : HTTP_TRIES, try ? "tries" : "try");
	return -1;
}

/* Percent-encodes s (RFC 3986 unreserved kept; '/' too when keep_slash). */
static void url_enc(struct nc_buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
			nc_buf_addc(b, (char)ch);
		} else {
			nc_buf_addc(b, '%');
			nc_buf_addc(b, hex[ch >> 4]);
			nc_buf_addc(b, hex[ch & 15]);
		}
	}
}

static char *url_enc_dup(const char *s, bool keep_slash)
{
	struct nc_buf b = NC_BUF_INIT;

	url_enc(&b, s, keep_slash);
	return nc_buf_detach(&b, NULL);
}

static void hex_enc(char *out, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The names the engine uses: [A-Za-z0-9._-] in one or two components, no leading dot. */
static bool name_ok(const char *name)
{
	const char *p;
	size_t slashes = 0;

	if (!*name || *name == '.')
		return false;
	for (p = name; *p; p++) {
		if (*p == '/') {
			if (++slashes > 1 || p[1] == '\0' || p[1] == '.' || p == name)
				return false;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	}
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_add(char ***v, size_t *n, size_t *a, const char *s)
{
	if (*n == *a) {
		*a = *a ? 2 * *a : 256;
		*v = nc_xreallocarray(*v, *a, sizeof(**v));
	}
	(*v)[(*n)++] = nc_xstrdup(s);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*e = '\0';
	return s;
}

/*
 * Reads the values of keys k1 and k2 from a credentials file into *v1 and
 * *v2 (caller frees).  Refuses a file its group or others may read.
 */
static int read_credentials(const char *path, const char *k1, char **v1, const char *k2,
	char **v2, struct nc_err *err)
{
	char *text = NULL, *line, *save = NULL, *a = NULL, *b = NULL;
	size_t len;
	unsigned mode = 0;
	int ret = -1, lineno = 0, r;

	r = nc_read_secret_file(path, 64 * 1024, &text, &len, &mode);
	if (r == NC_SECRET_MODE_BAD) {
		char *m = nc_secret_msg("credentials file", path, mode);

		nc_err_set(err, "%s", m);
		free(m);
		return -1;
	}
	if (r == NC_SECRET_NOT_FILE) {
		nc_err_set(err, "credentials file %s: not a regular file (a directory, a FIFO or a device)", path);
		return -1;
	}
	if (r == -2) {
		nc_err_set(err, "credentials file %s: larger than 64 KiB", path);
		return -1;
	}
	if (r < 0) {
		nc_err_set(err, "cannot read credentials file %s: %s", path, strerror(errno));
		return -1;
	}
	for (line = text; line; line = save) {
		char *eq, *key, *val;

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			nc_err_set(err, "%s:%d: expected 'key = value'", path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (strcmp(key, k1) == 0) {
			free(a);
			a = nc_xstrdup(val);
		} else if (strcmp(key, k2) == 0) {
			free(b);
			b = nc_xstrdup(val);
		}
	}
	if (!a || !*a || !b || !*b) {
		nc_err_set(err, "credentials file %s: needs %s and %s", path, k1, k2);
		goto out;
	}
	*v1 = a;
	*v2 = b;
	a = b = NULL;
	ret = 0;
out:
	if (a)
		OPENSSL_cleanse(a, strlen(a));
	if (b)
		OPENSSL_cleanse(b, strlen(b));
	free(a);
	free(b);
	OPENSSL_cleanse(text, len);
	free(text);
	return ret;
}

/* "http(s)://host[:port][/path]" without a trailing slash; NULL when not http(s). */
static char *endpoint_norm(const char *endpoint)
{
	size_t n = strlen(endpoint);

	if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)
		return NULL;
	while (n > 0 && endpoint[n - 1] == '/')
		n--;
	return nc_xstrndup(endpoint, n);
}

/* ---- S3 ---- */

struct s3_target {
	struct nc_backup_target pub;     /* first: the public part */
	CURL *curl;
	char *endpoint;                  /* normalised: scheme://authority[/path] */
	char *host;                      /* authority: the Host header */
	char *base_path;                 /* "" or "/path" */
	char *bucket, *region, *prefix;
	char *access, *secret;
};

/* The request being signed. */
struct s3_sig {
	struct s3_target *s;
	const char *method;
	const char *uri;                 /* canonical (encoded) path */
	const char *query;               /* canonical query, "" for none */
	char payload[2 * SHA256_DIGEST_LENGTH + 1];
};

static void hmac(unsigned char out[32], const void *key, size_t klen, const char *msg)
{
	unsigned int olen = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &olen);
}

static struct curl_slist *s3_headers(void *ctx)
{
	struct s3_sig *g = ctx;
	struct s3_target *s = g->s;
	struct nc_buf canon = NC_BUF_INIT, sts = NC_BUF_INIT;
	unsigned char h[SHA256_DIGEST_LENGTH], k[32];
	char amzdate[17], day[9], hhex[65], sig[65];
	struct curl_slist *hl = NULL;
	struct tm tm;
	time_t now = time(NULL);
	char *kdate, *line;

	gmtime_r(&now, &tm);
	strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	nc_buf_addf(&canon, "%s\n%s\n%s\nhost:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n\n"
		"host;x-amz-content-sha256;x-amz-date\n%s", g->method, g->uri, g->query, s->host,
		g->payload, amzdate, g->payload);
	SHA256((const unsigned char *)canon.buf, canon.len, h);
	hex_enc(hhex, h, sizeof(h));
	nc_buf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", amzdate, day,
		s->region, hhex);
	kdate = nc_xasprintf("AWS4%s", s->secret);
	hmac(k, kdate, strlen(kdate), day);
	OPENSSL_cleanse(kdate, strlen(kdate));
	free(kdate);
	hmac(k, k, 32, s->region);
	hmac(k, k, 32, "s3");
	hmac(k, k, 32, "aws4_request");
	hmac(h, k, 32, sts.buf);
	OPENSSL_cleanse(k, sizeof(k));
	hex_enc(sig, h, sizeof(h));

	line = nc_xasprintf("Host: %s", s->host);
	hl = curl_slist_append(hl, line);
	free(line);
	line = nc_xasprintf("x-amz-date: %s", amzdate);
	hl = curl_slist_append(hl, line);
	free(line);
	line = nc_xasprintf("x-amz-content-sha256: %s", g->payload);
	hl = curl_slist_append(hl, line);
	free(line);
	line = nc_xasprintf("Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
		"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s",
		s->access, day, s->region, sig);
	hl = curl_slist_append(hl, line);
	free(line);
	if (strcmp(g->method, "PUT") == 0)
		hl = curl_slist_append(hl, "Content-Type: application/octet-stream");
	nc_buf_release(&canon);
	nc_buf_release(&sts);
	return hl;
}

/* The text of the first element named name under n (depth first), or NULL. */
static xmlNode *xml_find(xmlNode *n, const char *name)
{
	for (; n; n = n->next) {
		xmlNode *c;

		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return n;
		if ((c = xml_find(n->children, name)) != NULL)
			return c;
	}
	return NULL;
}

static char *xml_text(xmlNode *n)
{
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	char *s;

	if (!t)
		return NULL;
	s = nc_xstrdup((const char *)t);
	xmlFree(t);
	return s;
}

/* "s3 WHAT: HTTP 403 SignatureDoesNotMatch: message" from an error answer. */
static void s3_error(struct nc_err *err, const char *what, const struct http_resp *rs)
{
	char *code = NULL, *msg = NULL;
	xmlDoc *doc = NULL;

	if (rs->body.len)
		doc = xmlReadMemory(rs->body.buf, (int)rs->body.len, "error.xml", NULL,
			XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc) {
		xmlNode *root = xmlDocGetRootElement(doc);

		code = xml_text(xml_find(root, "Code"));
		msg = xml_text(xml_find(root, "Message"));
		xmlFreeDoc(doc);
	}
	nc_err_set(err, "%s: HTTP %ld%s%s%s%s", what, rs->status, code ? " " : "",
		code ? code : "", msg && *msg ? ": " : "", msg && *msg ? msg : "");
	free(code);
	free(msg);
}

/*
 * One signed S3 request to /BUCKET[/KEY] (key NULL: the bucket itself)
 * with a canonical query.  0 when an answer came.
 */
static int s3_request(struct s3_target *s, const char *method, const char *key,
	const char *query, const void *body, size_t len, struct http_resp *rs, const char *what,
	struct nc_err *err)
{
	struct nc_buf uri = NC_BUF_INIT;
	struct s3_sig g = { s, method, NULL, query ? query : "", "" };
	struct http_req rq = { method, NULL, body, len, s3_headers, &g };
	unsigned char h[SHA256_DIGEST_LENGTH];
	char *url;
	int rc;

	nc_buf_adds(&uri, s->base_path);
	nc_buf_addc(&uri, '/');
	url_enc(&uri, s->bucket, false);
	if (key) {
		nc_buf_addc(&uri, '/');
		url_enc(&uri, key, true);
	}
	g.uri = uri.buf;
	if (len) {
		SHA256(body, len, h);
		hex_enc(g.payload, h, sizeof(h));
	} else {
		snprintf(g.payload, sizeof(g.payload), "%s", EMPTY_SHA256);
	}
	url = nc_xasprintf("%s%s%s%s", s->endpoint, uri.buf + strlen(s->base_path),
		*g.query ? "?" : "", g.query);
	/* the endpoint's path is in s->endpoint already; uri holds it for signing */
	rq.url = url;
	rc = http_run(s->curl, &rq, rs, what, err);
	free(url);
	nc_buf_release(&uri);
	return rc;
}

static void s3_close(struct nc_backup_target *t)
{
	struct s3_target *s = (struct s3_target *)t;

	if (!t)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->endpoint);
	free(s->host);
	free(s->base_path);
	free(s->bucket);
	free(s->region);
	free(s->prefix);
	if (s->secret)
		OPENSSL_cleanse(s->secret, strlen(s->secret));
	free(s->access);
	free(s->secret);
	free(s);
}

/* Checks that the bucket answers a listing (gives S3's error code when not). */
static int s3_check_bucket(struct s3_target *s, struct nc_err *err)
{
	struct http_resp rs = HTTP_RESP_INIT;
	char *what = nc_xasprintf("s3 bucket %s at %s", s->bucket, s->endpoint);
	int ret = -1;

	if (s3_request(s, "GET", NULL, "list-type=2&max-keys=1", NULL, 0, &rs, what, err) < 0)
		goto out;
	if (rs.status != 200) {
		s3_error(err, what, &rs);
		goto out;
	}
	ret = 0;
out:
	free(what);
	http_resp_release(&rs);
	return ret;
}

static int s3_make_bucket(struct s3_target *s, struct nc_err *err)
{
	struct http_resp rs = HTTP_RESP_INIT;
	char *what = nc_xasprintf("s3 create bucket %s at %s", s->bucket, s->endpoint);
	char *body = NULL;
	int ret = -1;

	if (strcmp(s->region, "us-east-1") != 0)
		body = nc_xasprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
			"2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
			"</CreateBucketConfiguration>", s->region);
	if (s3_request(s, "PUT", NULL, "", body, body ? strlen(body) : 0, &rs, what, err) < 0)
		goto out;
	if (rs.status == 200) {
		ret = 0;
	} else if (rs.status == 409) {
		/* exists: fine when it is ours (a listing works) */
		ret = s3_check_bucket(s, err);
		if (ret < 0)
			s3_error(err, what, &rs);
	} else {
		s3_error(err, what, &rs);
	}
out:
	free(body);
	free(what);
	http_resp_release(&rs);
	return ret;
}

static int s3_open(struct nc_backup_target **out, const struct nc_backup_location *loc,
	bool create, struct nc_err *err)
{
	struct s3_target *s;
	const char *auth, *slash;

	if (!loc->endpoint || !*loc->endpoint || !loc->bucket || !*loc->bucket) {
		nc_err_set(err, "s3 target needs endpoint and bucket");
		return -1;
	}
	if (!loc->credentials_file || !*loc->credentials_file) {
		nc_err_set(err, "s3 target needs credentialsFile");
		return -1;
	}
	pthread_once(&curl_once, curl_init_once);
	s = nc_xcalloc(1, sizeof(*s));
	s->pub.drv = &nc_backup_target_s3;
	s->bucket = nc_xstrdup(loc->bucket);
	s->region = nc_xstrdup(loc->region && *loc->region ? loc->region : "us-east-1");
	s->prefix = nc_xstrdup(loc->prefix ? loc->prefix : "");
	s->endpoint = endpoint_norm(loc->endpoint);
	if (!s->endpoint) {
		nc_err_set(err, "s3 endpoint '%s' is not an http:// or https:// URL", loc->endpoint);
		goto fail;
	}
	auth = strstr(s->endpoint, "://") + 3;
	slash = strchr(auth, '/');
	s->host = slash ? nc_xstrndup(auth, (size_t)(slash - auth)) : nc_xstrdup(auth);
	s->base_path = nc_xstrdup(slash ? slash : "");
	if (!*s->host || strchr(s->host, '@') || strchr(s->host, '?')) {
		nc_err_set(err, "s3 endpoint '%s': expected http(s)://host[:port]", loc->endpoint);
		goto fail;
	}
	if (read_credentials(loc->credentials_file, "access_key", &s->access, "secret_key",
			&s->secret, err) < 0)
		goto fail;
	s->curl = curl_easy_init();
	if (!s->curl) {
		nc_err_set(err, "s3 target: cannot initialise libcurl");
		goto fail;
	}
	if ((create ? s3_make_bucket(s, err) : s3_check_bucket(s, err)) < 0)
		goto fail;
	*out = &s->pub;
	return 0;
fail:
	s3_close(&s->pub);
	return -1;
}

static int s3_list(struct nc_backup_target *t, const char *dir, char ***out,
	size_t *out_n, struct nc_err *err)
{
	struct s3_target *s = (struct s3_target *)t;
	struct http_resp rs = HTTP_RESP_INIT;
	char **v = NULL, *pfx, *epfx, *token = NULL, *what;
	size_t n = 0, a = 0, plen;
	int ret = -1;

	if (!name_ok(dir) || strchr(dir, '/')) {
		nc_err_set(err, "invalid object directory '%s'", dir);
		return -1;
	}
	pfx = nc_xasprintf("%s%s/", s->prefix, dir);
	plen = strlen(pfx);
	epfx = url_enc_dup(pfx, false);
	what = nc_xasprintf("s3 list %s/%s", s->bucket, pfx);
	for (;;) {
		char *query, *etok = token ? url_enc_dup(token, false) : NULL, *trunc;
		xmlDoc *doc;
		xmlNode *root, *c;

		/* the canonical query: parameters sorted by name */
		query = nc_xasprintf("%s%s%slist-type=2&prefix=%s", etok ? "continuation-token=" : "",
			etok ? etok : "", etok ? "&" : "", epfx);
		free(etok);
		ret = s3_request(s, "GET", NULL, query, NULL, 0, &rs, what, err);
		free(query);
		if (ret < 0)
			goto out;
		ret = -1;
		if (rs.status != 200) {
			s3_error(err, what, &rs);
			goto out;
		}
		doc = xmlReadMemory(rs.body.buf, (int)rs.body.len, "list.xml", NULL,
			XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
		root = doc ? xmlDocGetRootElement(doc) : NULL;
		if (!root || strcmp((const char *)root->name, "ListBucketResult") != 0) {
			nc_err_set(err, "%s: not a ListBucketResult document", what);
			xmlFreeDoc(doc);
			goto out;
		}
		for (c = root->children; c; c = c->next) {
			char *k;

			if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "Contents") != 0)
				continue;
			k = xml_text(xml_find(c->children, "Key"));
			if (k && strncmp(k, pfx, plen) == 0 && name_ok(k + plen) && !strchr(k + plen, '/'))
				names_add(&v, &n, &a, k + plen);
			free(k);
		}
		free(token);
		token = NULL;
		trunc = NULL;
		for (c = root->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (strcmp((const char *)c->name, "IsTruncated") == 0) {
				free(trunc);
				trunc = xml_text(c);
			} else if (strcmp((const char *)c->name, "NextContinuationToken") == 0) {
				free(token);
				token = xml_text(c);
			}
		}
		xmlFreeDoc(doc);
		if (!trunc || strcmp(trunc, "true") != 0) {
			free(trunc);
			break;
		}
		free(trunc);
		if (!token || !*token) {
			nc_err_set(err, "%s: truncated listing without a continuation token", what);
			goto out;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	*out_n = n;
	v = NULL;
	n = 0;
	ret = 0;
out:
	nc_backup_names_free(v, n);
	free(token);
	free(pfx);
	free(epfx);
	free(what);
	http_resp_release(&rs);
	return ret;
}

/*
 * ---- object requests, the same for S3 and Swift ----
 *
 * put/get/exists/del differ between the two services only in how a
 * request is made and signed, how an object's key is spelled and how an
 * error body is read: struct obj_proto carries those; the status handling
 * is shared.
 */
struct obj_proto {
	const char *label;               /* "s3", "swift" (in messages) */
	const char *(*bucket)(struct nc_backup_target *t);
	const char *(*prefix)(struct nc_backup_target *t);
	int (*request)(struct nc_backup_target *t, const char *method, const char *key,
		const void *body, size_t len, struct http_resp *rs, const char *what, struct nc_err *err);
	void (*error)(struct nc_err *err, const char *what, const struct http_resp *rs);
};

static const struct obj_proto *proto_of(const struct nc_backup_target *t);

/*
 * METHOD on object NAME: the HTTP status (2xx, or 404 when allow_404), or
 * -1 with err set (a bad name, no answer, or another status with the
 * service's message).
 */
static long obj_call(struct nc_backup_target *t, const char *method, const char *name,
	const void *body, size_t len, bool allow_404, struct http_resp *rs, struct nc_err *err)
{
	const struct obj_proto *p = proto_of(t);
	char *key, *what;
	long st = -1;

	if (!name_ok(name)) {
		nc_err_set(err, "invalid object name '%s'", name);
		return -1;
	}
	key = nc_xasprintf("%s%s", p->prefix(t), name);
	what = nc_xasprintf("%s %s %s/%s", p->label, method, p->bucket(t), key);
	if (p->request(t, method, key, body, len, rs, what, err) == 0) {
		if (rs->status / 100 == 2 || (allow_404 && rs->status == 404))
			st = rs->status;
		else
			p->error(err, what, rs);
	}
	free(key);
	free(what);
	return st;
}

static int obj_put(struct nc_backup_target *t, const char *name, const void *data,
	size_t len, struct nc_err *err)
{
	struct http_resp rs = HTTP_RESP_INIT;
	long st = obj_call(t, "PUT", name, data, len, false, &rs, err);

	http_resp_release(&rs);
	return st < 0 ? -1 : 0;
}

static int obj_get(struct nc_backup_target *t, const char *name, unsigned char **out,
	size_t *out_len, struct nc_err *err)
{
	struct http_resp rs = HTTP_RESP_INIT;
	long st = obj_call(t, "GET", name, NULL, 0, true, &rs, err);
	int ret = -1;

	if (st == 404) {
		nc_err_set(err, "object %s does not exist", name);
		ret = NC_BACKUP_ENOENT;
	} else if (st > 0) {
		*out_len = rs.body.len;
		*out = (unsigned char *)nc_buf_detach(&rs.body, NULL);
		ret = 0;
	}
	http_resp_release(&rs);
	return ret;
}

static int obj_exists(struct nc_backup_target *t, const char *name, struct nc_err *err)
{
	struct http_resp rs = HTTP_RESP_INIT;
	long st = obj_call(t, "HEAD", name, NULL, 0, true, &rs, err);

	http_resp_release(&rs);
	return st < 0 ? -1 : st == 404 ? 0 : 1;
}

/* Deleting a missing object is not an error. */
static int obj_del(struct nc_backup_target *t, const char *name, struct nc_err *err)
{
	struct http_resp rs = HTTP_RESP_INIT;
	long st = obj_call(t, "DELETE", name, NULL, 0, true, &rs, err);

	http_resp_release(&rs);
	return st < 0 ? -1 : 0;
}

/* An acknowledged PUT or DELETE is durable. */
static int http_sync(struct nc_backup_target *t, struct nc_err *err)
{
	(void)t;
	(void)err;
	return 0;
}

const struct nc_backup_target_driver nc_backup_target_s3 = {
	.name = "s3",
	.open = s3_open,
	.put = obj_put,
	.get = obj_get,
	.exists = obj_exists,
	.list = s3_list,
	.del = obj_del,
	.sync = http_sync,
	.close = s3_close,
};

/* ---- Swift ---- */

struct swift_target {
	struct nc_backup_target pub;     /* first: the public part */
	CURL *curl;
	char *auth_url, *user, *key;
	char *container, *prefix;
	char *storage_url, *token;       /* from auth */
};

struct swift_hdr {
	struct swift_target *w;
	bool auth;                       /* the auth request */
	const char *etag;                /* PUT: MD5 hex of the body */
};

static struct curl_slist *swift_headers(void *ctx)
{
	struct swift_hdr *g = ctx;
	struct curl_slist *hl = NULL;
	char *line;

	if (g->auth) {
		line = nc_xasprintf("X-Auth-User: %s", g->w->user);
		hl = curl_slist_append(hl, line);
		free(line);
		line = nc_xasprintf("X-Auth-Key: %s", g->w->key);
		hl = curl_slist_append(hl, line);
		OPENSSL_cleanse(line, strlen(line));
		free(line);
		return hl;
	}
	line = nc_xasprintf("X-Auth-Token: %s", g->w->token ? g->w->token : "");
	hl = curl_slist_append(hl, line);
	free(line);
	if (g->etag) {
		line = nc_xasprintf("ETag: %s", g->etag);
		hl = curl_slist_append(hl, line);
		free(line);
		hl = curl_slist_append(hl, "Content-Type: application/octet-stream");
	}
	return hl;
}

static int swift_auth(struct swift_target *w, struct nc_err *err)
{
	struct http_resp rs = HTTP_RESP_INIT;
	struct swift_hdr g = { w, true, NULL };
	struct http_req rq = { "GET", w->auth_url, NULL, 0, swift_headers, &g };
	char *what = nc_xasprintf("swift auth at %s as %s", w->auth_url, w->user);
	char *url = NULL, *tok = NULL;
	int ret = -1;

	if (http_run(w->curl, &rq, &rs, what, err) < 0)
		goto out;
	if (rs.status != 200 && rs.status != 204) {
		nc_err_set(err, "%s: HTTP %ld%s", what, rs.status,
			rs.status == 401 || rs.status == 403 ? " (wrong user or key)" : "");
		goto out;
	}
	url = http_header(&rs, "X-Storage-Url");
	tok = http_header(&rs, "X-Auth-Token");
	if (!url || !*url || !tok || !*tok) {
		nc_err_set(err, "%s: no X-Storage-Url or X-Auth-Token in the answer", what);
		goto out;
	}
	while (*url && url[strlen(url) - 1] == '/')
		url[strlen(url) - 1] = '\0';
	free(w->storage_url);
	free(w->token);
	w->storage_url = url;
	w->token = tok;
	url = tok = NULL;
	ret = 0;
out:
	free(url);
	free(tok);
	free(what);
	http_resp_release(&rs);
	return ret;
}

/*
 * One authenticated request to CONTAINER[/OBJECT] with a query (already
 * encoded, "" for none); a 401 renews the token once.
 */
static int swift_request(struct swift_target *w, const char *method, const char *object,
	const char *query, const void *body, size_t len, struct http_resp *rs, const char *what,
	struct nc_err *err)
{
	struct swift_hdr g = { w, false, NULL };
	struct http_req rq = { method, NULL, body, len, swift_headers, &g };
	char etag[2 * 16 + 1];
	int again, rc = -1;

	if (strcmp(method, "PUT") == 0 && object) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;

		EVP_Digest(len ? body : "", len, md, &mdlen, EVP_md5(), NULL);
		hex_enc(etag, md, 16);
		g.etag = etag;
	}
	for (again = 0; again < 2; again++) {
		struct nc_buf url = NC_BUF_INIT;

		if (!w->token && swift_auth(w, err) < 0)
			return -1;
		nc_buf_adds(&url, w->storage_url);
		nc_buf_addc(&url, '/');
		url_enc(&url, w->container, false);
		if (object) {
			nc_buf_addc(&url, '/');
			url_enc(&url, object, true);
		}
		if (query && *query)
			nc_buf_addf(&url, "?%s", query);
		rq.url = url.buf;
		rc = http_run(w->curl, &rq, rs, what, err);
		nc_buf_release(&url);
		if (rc < 0 || rs->status != 401)
			break;
		free(w->token);
		w->token = NULL;
	}
	return rc;
}

static void swift_error(struct nc_err *err, const char *what, const struct http_resp *rs)
{
	size_t n = rs->body.len;

	while (n && (rs->body.buf[n - 1] == '\n' || rs->body.buf[n - 1] == '\r'))
		n--;
	nc_err_set(err, "%s: HTTP %ld%s%.*s", what, rs->status, n ? ": " : "",
		(int)(n > 200 ? 200 : n), rs->body.buf);
}

static void swift_close(struct nc_backup_target *t)
{
	struct swift_target *w = (struct swift_target *)t;

	if (!t)
		return;
	if (w->curl)
		curl_easy_cleanup(w->curl);
	if (w->key)
		OPENSSL_cleanse(w->key, strlen(w->key));
	free(w->auth_url);
	free(w->user);
	free(w->key);
	free(w->container);
	free(w->prefix);
	free(w->storage_url);
	free(w->token);
	free(w);
}

static int swift_open(struct nc_backup_target **out, const struct nc_backup_location *loc,
	bool create, struct nc_err *err)
{
	struct http_resp rs = HTTP_RESP_INIT;
	struct swift_target *w;
	char *ep, *what = NULL;
	size_t n;

	if (!loc->endpoint || !*loc->endpoint || !loc->bucket || !*loc->bucket) {
		nc_err_set(err, "swift target needs endpoint and bucket (the container)");
		return -1;
	}
	if (!loc->credentials_file || !*loc->credentials_file) {
		nc_err_set(err, "swift target needs credentialsFile");
		return -1;
	}
	pthread_once(&curl_once, curl_init_once);
	w = nc_xcalloc(1, sizeof(*w));
	w->pub.drv = &nc_backup_target_swift;
	w->container = nc_xstrdup(loc->bucket);
	w->prefix = nc_xstrdup(loc->prefix ? loc->prefix : "");
	ep = endpoint_norm(loc->endpoint);
	if (!ep) {
		nc_err_set(err, "swift endpoint '%s' is not an http:// or https:// URL", loc->endpoint);
		goto fail;
	}
	n = strlen(ep);
	if ((n >= 9 && strcmp(ep + n - 9, "/auth/1.0") == 0) ||
	    (n >= 10 && strcmp(ep + n - 10, "/auth/v1.0") == 0))
		w->auth_url = ep;
	else {
		w->auth_url = nc_xasprintf("%s/auth/1.0", ep);
		free(ep);
	}
	if (strchr(w->container, '/')) {
		nc_err_set(err, "swift container '%s' contains '/'", w->container);
		goto fail;
	}
	if (read_credentials(loc->credentials_file, "user", &w->user, "key", &w->key, err) < 0)
		goto fail;
	w->curl = curl_easy_init();
	if (!w->curl) {
		nc_err_set(err, "swift target: cannot initialise libcurl");
		goto fail;
	}
	if (swift_auth(w, err) < 0)
		goto fail;
	what = nc_xasprintf("swift %s container %s", create ? "create" : "open", w->container);
	if (swift_request(w, create ? "PUT" : "HEAD", NULL, "", NULL, 0, &rs, what, err) < 0)
		goto fail;
	if (rs.status == 404) {
		nc_err_set(err, "%s: it does not exist", what);
		goto fail;
	}
	if (rs.status / 100 != 2) {
		swift_error(err, what, &rs);
		goto fail;
	}
	free(what);
	http_resp_release(&rs);
	*out = &w->pub;
	return 0;
fail:
	free(what);
	http_resp_release(&rs);
	swift_close(&w->pub);
	return -1;
}

static int swift_list(struct nc_backup_target *t, const char *dir, char ***out,
	size_t *out_n, struct nc_err *err)
{
	struct swift_target *w = (struct swift_target *)t;
	struct http_resp rs = HTTP_RESP_INIT;
	char **v = NULL, *pfx, *epfx, *marker = NULL, *what;
	size_t n = 0, a = 0, plen;
	int ret = -1;

	if (!name_ok(dir) || strchr(dir, '/')) {
		nc_err_set(err, "invalid object directory '%s'", dir);
		return -1;
	}
	pfx = nc_xasprintf("%s%s/", w->prefix, dir);
	plen = strlen(pfx);
	epfx = url_enc_dup(pfx, false);
	what = nc_xasprintf("swift list %s/%s", w->container, pfx);
	for (;;) {
		char *query, *emark = marker ? url_enc_dup(marker, false) : NULL, *line, *save;
		size_t page = 0;

		query = nc_xasprintf("limit=%d&prefix=%s%s%s", SWIFT_PAGE, epfx,
			emark ? "&marker=" : "", emark ? emark : "");
		free(emark);
		ret = swift_request(w, "GET", NULL, query, NULL, 0, &rs, what, err);
		free(query);
		if (ret < 0)
			goto out;
		ret = -1;
		if (rs.status == 204 || (rs.status == 200 && rs.body.len == 0))
			break;
		if (rs.status != 200) {
			swift_error(err, what, &rs);
			goto out;
		}
		for (line = rs.body.buf; line && *line; line = save) {
			save = strchr(line, '\n');
			if (save)
				*save++ = '\0';
			line = trim(line);
			if (!*line)
				continue;
			page++;
			if (marker && strcmp(line, marker) <= 0) {
				nc_err_set(err, "%s: listing not in order after '%s'", what, marker);
				goto out;
			}
			free(marker);
			marker = nc_xstrdup(line);
			if (strncmp(line, pfx, plen) == 0 && name_ok(line + plen) &&
			    !strchr(line + plen, '/'))
				names_add(&v, &n, &a, line + plen);
		}
		if (page == 0)
			break;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	*out_n = n;
	v = NULL;
	n = 0;
	ret = 0;
out:
	nc_backup_names_free(v, n);
	free(marker);
	free(pfx);
	free(epfx);
	free(what);
	http_resp_release(&rs);
	return ret;
}

const struct nc_backup_target_driver nc_backup_target_swift = {
	.name = "swift",
	.open = swift_open,
	.put = obj_put,
	.get = obj_get,
	.exists = obj_exists,
	.list = swift_list,
	.del = obj_del,
	.sync = http_sync,
	.close = swift_close,
};

/* ---- the two protocols' object requests (see obj_call) ---- */

static const char *s3_bucket_of(struct nc_backup_target *t)
{
	return ((struct s3_target *)t)->bucket;
}

static const char *s3_prefix_of(struct nc_backup_target *t)
{
	return ((struct s3_target *)t)->prefix;
}

static int s3_obj_request(struct nc_backup_target *t, const char *method, const char *key,
	const void *body, size_t len, struct http_resp *rs, const char *what, struct nc_err *err)
{
	return s3_request((struct s3_target *)t, method, key, "", body, len, rs, what, err);
}

static const char *swift_container_of(struct nc_backup_target *t)
{
	return ((struct swift_target *)t)->container;
}

static const char *swift_prefix_of(struct nc_backup_target *t)
{
	return ((struct swift_target *)t)->prefix;
}

static int swift_obj_request(struct nc_backup_target *t, const char *method, const char *key,
	const void *body, size_t len, struct http_resp *rs, const char *what, struct nc_err *err)
{
	return swift_request((struct swift_target *)t, method, key, "", body, len, rs, what, err);
}

static const struct obj_proto s3_proto = { "s3", s3_bucket_of, s3_prefix_of, s3_obj_request, s3_error };
static const struct obj_proto swift_proto = {
	"swift", swift_container_of, swift_prefix_of, swift_obj_request, swift_error
};

static const struct obj_proto *proto_of(const struct nc_backup_target *t)
{
	return t->drv == &nc_backup_target_s3 ? &s3_proto : &swift_proto;
}
