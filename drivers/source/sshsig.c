/*
 * sshsig.c - OpenSSH signatures (PROTOCOL.sshsig) checked with OpenSSL, for
 * git commits signed with `gpg.format ssh`.
 *
 * nc_sshsig_verify() removes the armor, parses the SSHSIG blob strictly
 * (every length checked against what is left, no trailing bytes), checks the
 * namespace, looks the signing key up byte for byte in the allowed_signers
 * file and only then verifies the signature over
 *
 *	"SSHSIG" string(namespace) string(reserved) string(hash_alg) string(H(data))
 *
 * Keys: ssh-ed25519, and ssh-rsa (1024 to 16384 bits) with rsa-sha2-512 or
 * rsa-sha2-256 signatures (SHA-1 "ssh-rsa" signatures are refused, as
 * OpenSSH does).  Hash algorithms: sha512, sha256.
 *
 * allowed_signers (ssh-keygen(1), ALLOWED SIGNERS): one key a line,
 * "PRINCIPALS [OPTIONS] KEYTYPE BASE64 [COMMENT]"; blank lines and lines
 * starting with '#' are skipped.  PRINCIPALS is a comma-separated list,
 * optionally in double quotes; the first one is returned.  OPTIONS is a
 * comma-separated list of
 *	namespaces="PATTERN,..."  the namespace must match (* ?, !negation)
 *	valid-after="TIME"        TIME is YYYYMMDD[HHMM[SS]], local time or
 *	valid-before="TIME"       UTC with a trailing Z; checked against the
 *	                          current time, as the caller passes no signing
 *	                          time
 *	cert-authority            the key signs certificates; such a line never
 *	                          matches a plain key (certificates are not
 *	                          supported)
 * A line that does not parse is skipped; when no line matches, the error
 * names the first one skipped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* timegm */
#endif
#include "source.h"

#include <errno.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../spec/util.h"

#define SS_ARMOR_MAX	(64 * 1024)	/* armored signature, bytes */
#define SS_SIGNERS_MAX	(1024 * 1024)	/* allowed_signers file, bytes */
#define SS_RSA_MIN_BITS	1024
#define SS_RSA_MAX_BITS	16384
#define SS_BEGIN	"-----BEGIN SSH SIGNATURE-----"
#define SS_END		"-----END SSH SIGNATURE-----"

/* A view of bytes in someone else's buffer; reading consumes it. */
struct ss_rd {
	const unsigned char *p;
	size_t len;
};

/* The parts of a signature blob, all views into it. */
struct ss_sig {
	struct ss_rd pubkey;	/* the key, SSH wire format */
	struct ss_rd keytype;	/* first string of pubkey */
	struct ss_rd ns;
	struct ss_rd reserved;
	struct ss_rd hashalg;
	struct ss_rd sigtype;
	struct ss_rd sigblob;
};

/* One parsed allowed_signers line: views into the line. */
struct ss_line {
	const char *principal;	/* the first principal */
	size_t principal_len;
	unsigned char *key;	/* decoded key blob (owned) */
	size_t key_len;
	bool ca;
	char *namespaces;	/* owned, or NULL */
	bool has_after, has_before;
	time_t after, before;
};

/* ---- SSH wire format ---- */

static int rd_u32(struct ss_rd *r, uint32_t *out)
{
	if (r->len < 4)
		return -1;
	*out = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	       (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	r->p += 4;
	r->len -= 4;
	return 0;
}

static int rd_string(struct ss_rd *r, struct ss_rd *out)
{
	uint32_t n;

	if (rd_u32(r, &n) < 0 || n > r->len)
		return -1;
	out->p = r->p;
	out->len = n;
	r->p += n;
	r->len -= n;
	return 0;
}

/* A positive mpint without its leading zeros, at most max bytes. */
static int rd_mpint(struct ss_rd *r, struct ss_rd *out, size_t max)
{
	if (rd_string(r, out) < 0)
		return -1;
	if (out->len > 0 && (out->p[0] & 0x80))
		return -1;
	while (out->len > 0 && out->p[0] == 0) {
		out->p++;
		out->len--;
	}
	return out->len > max ? -1 : 0;
}

static bool rd_eq(const struct ss_rd *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->p, lit, n) == 0;
}

static void put_string(struct nc_buf *b, const void *p, size_t len)
{
	unsigned char n[4];

	n[0] = (unsigned char)(len >> 24);
	n[1] = (unsigned char)(len >> 16);
	n[2] = (unsigned char)(len >> 8);
	n[3] = (unsigned char)len;
	nc_buf_add(b, n, sizeof(n));
	nc_buf_add(b, p, len);
}

/*
 * Untrusted bytes made fit for a one-line message: printable ASCII except
 * quotes, others as '?', cut with "..." when longer than fits in dst.
 */
static void show(char *dst, size_t size, const unsigned char *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < size; i++)
		dst[n++] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' ? (char)p[i] : '?';
	if (i < len) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

/* ---- base64 and armor ---- */

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Strict base64: no whitespace, '=' only as the last one or two characters.
 * OpenSSL's EVP_DecodeBlock alone takes '=' anywhere as zero bits.
 */
static int b64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf;
	size_t i, pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len > INT_MAX / 2)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '=') {
			if (i + 2 < len)
				return -1;
			pad++;
		} else if (pad || !is_b64(s[i])) {
			return -1;
		}
	}
	buf = nc_xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n != len / 4 * 3) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = (size_t)n - pad;
	return 0;
}

static int dearmor(const char *armored, unsigned char **out, size_t *out_len)
{
	struct nc_buf b = NC_BUF_INIT;
	const char *p = armored, *end, *q;
	size_t len = strnlen(armored, SS_ARMOR_MAX + 1);
	int ret = -1;

	if (len > SS_ARMOR_MAX)
		return -1;
	while (is_space(*p))
		p++;
	if (strncmp(p, SS_BEGIN, strlen(SS_BEGIN)) != 0)
		return -1;
	p += strlen(SS_BEGIN);
	end = strstr(p, SS_END);
	if (!end)
		return -1;
	for (q = end + strlen(SS_END); *q; q++)
		if (!is_space(*q))
			return -1;
	for (; p < end; p++)
		if (!is_space(*p))
			nc_buf_addc(&b, *p);
	ret = b64_decode(b.buf, b.len, out, out_len);
	nc_buf_release(&b);
	return ret;
}

static int parse_sig(struct ss_sig *s, const unsigned char *blob, size_t len,
		     struct nc_err *err)
{
	struct ss_rd r = { blob, len }, sig, key;
	uint32_t version;

	if (len < 6 || memcmp(blob, "SSHSIG", 6) != 0) {
		nc_err_set(err, "not an SSH signature");
		return -1;
	}
	r.p += 6;
	r.len -= 6;
	if (rd_u32(&r, &version) < 0)
		goto malformed;
	if (version != 1) {
		nc_err_set(err, "unsupported SSH signature version %lu", (unsigned long)version);
		return -1;
	}
	if (rd_string(&r, &s->pubkey) < 0 || rd_string(&r, &s->ns) < 0 ||
	    rd_string(&r, &s->reserved) < 0 || rd_string(&r, &s->hashalg) < 0 ||
	    rd_string(&r, &sig) < 0 || r.len != 0)
		goto malformed;
	key = s->pubkey;
	if (rd_string(&key, &s->keytype) < 0)
		goto malformed;
	if (rd_string(&sig, &s->sigtype) < 0 || rd_string(&sig, &s->sigblob) < 0 ||
	    sig.len != 0)
		goto malformed;
	return 0;
malformed:
	nc_err_set(err, "malformed SSH signature");
	return -1;
}

/* "SHA256:..." as ssh-keygen -l prints it. */
static void fingerprint(char *dst, size_t size, const struct ss_rd *key)
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mdlen = 0;
	int n;

	if (EVP_Digest(key->p, key->len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		snprintf(dst, size, "SHA256:?");
		return;
	}
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(dst, size, "SHA256:%.*s", n, (const char *)b64);
}

/* ---- allowed_signers ---- */

/* A whitespace-separated token, or a double-quoted one when quotes is set. */
static int next_token(const char **cp, bool quotes, const char **tok, size_t *tok_len)
{
	const char *s = *cp + strspn(*cp, " \t"), *q;

	if (*s == '\0')
		return -1;
	if (quotes && *s == '"') {
		q = strchr(s + 1, '"');
		if (!q || (q[1] != '\0' && q[1] != ' ' && q[1] != '\t'))
			return -1;
		*tok = s + 1;
		*tok_len = (size_t)(q - s - 1);
		*cp = q + 1;
		return 0;
	}
	*tok = s;
	*tok_len = strcspn(s, " \t");
	*cp = s + *tok_len;
	return 0;
}

static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	size_t n = strlen(s), i;
	bool utc = false;
	int v[7] = { 0 };
	time_t t;

	if (n > 0 && (s[n - 1] == 'Z' || s[n - 1] == 'z')) {
		utc = true;
		n--;
	}
	if (n != 8 && n != 12 && n != 14)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		/* fields: YYYY MM DD HH MM SS */
		if (i < 4)
			v[0] = v[0] * 10 + (s[i] - '0');
		else
			v[1 + (i - 4) / 2] = v[1 + (i - 4) / 2] * 10 + (s[i] - '0');
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = t;
	return 0;
}

/*
 * The options field, s[0..len): name or name="value" separated by commas,
 * \" escaping a quote inside a value.
 */
static int parse_options(struct ss_line *l, const char *s, size_t len, const char **why)
{
	static const char *const valued[] = { "namespaces", "valid-after", "valid-before" };
	size_t pos = 0, name_len, i, k;
	struct nc_buf val = NC_BUF_INIT;
	int ret = -1;

	while (pos < len) {
		const char *name = s + pos;

		name_len = strcspn(name, "=,");
		if (pos + name_len > len)
			name_len = len - pos;
		pos += name_len;
		if (name_len == strlen("cert-authority") &&
		    strncasecmp(name, "cert-authority", name_len) == 0 &&
		    (pos == len || s[pos] == ',')) {
			if (l->ca) {
				*why = "cert-authority given twice";
				goto out;
			}
			l->ca = true;
			pos += pos < len;
			continue;
		}
		for (k = 0; k < NC_ARRAY_SIZE(valued); k++)
			if (name_len == strlen(valued[k]) &&
			    strncasecmp(name, valued[k], name_len) == 0)
				break;
		if (k == NC_ARRAY_SIZE(valued)) {
			*why = "unsupported option";
			goto out;
		}
		if (pos + 1 >= len || s[pos] != '=' || s[pos + 1] != '"') {
			*why = "option value must be in double quotes";
			goto out;
		}
		pos += 2;
		nc_buf_reset(&val);
		for (i = pos; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len && s[i + 1] == '"')
				i++;
			nc_buf_addc(&val, s[i]);
		}
		if (i == len) {
			*why = "unterminated quote";
			goto out;
		}
		pos = i + 1;
		if (pos < len && s[pos] != ',') {
			*why = "junk after an option value";
			goto out;
		}
		pos += pos < len;
		if (k == 0) {
			if (l->namespaces) {
				*why = "namespaces given twice";
				goto out;
			}
			l->namespaces = nc_buf_detach(&val, NULL);
		} else {
			bool *has = k == 1 ? &l->has_after : &l->has_before;

			if (*has) {
				*why = k == 1 ? "valid-after given twice" : "valid-before given twice";
				goto out;
			}
			if (parse_time(val.buf, k == 1 ? &l->after : &l->before) < 0) {
				*why = "invalid time (YYYYMMDD[HHMM[SS]][Z])";
				goto out;
			}
			*has = true;
		}
	}
	ret = 0;
out:
	nc_buf_release(&val);
	return ret;
}

/* A key blob from "KEYTYPE BASE64" whose type string is KEYTYPE. */
static int decode_key(const char *type, size_t type_len, const char *b64, size_t b64_len,
		      unsigned char **out, size_t *out_len)
{
	unsigned char *blob;
	size_t len;
	struct ss_rd r, t;

	if (b64_decode(b64, b64_len, &blob, &len) < 0)
		return -1;
	r.p = blob;
	r.len = len;
	if (rd_string(&r, &t) < 0 || t.len != type_len || memcmp(t.p, type, type_len) != 0) {
		free(blob);
		return -1;
	}
	*out = blob;
	*out_len = len;
	return 0;
}

static void line_release(struct ss_line *l)
{
	free(l->key);
	free(l->namespaces);
}

/* 1: a key line, 0: blank or comment, -1: malformed (*why says how). */
static int parse_line(struct ss_line *l, const char *line, const char **why)
{
	const char *cp = line + strspn(line, " \t"), *tok, *type, *b64, *opts;
	size_t tok_len, type_len, b64_len, opts_len;

	memset(l, 0, sizeof(*l));
	if (*cp == '\0' || *cp == '#')
		return 0;
	if (next_token(&cp, true, &tok, &tok_len) < 0) {
		*why = "unterminated quote";
		return -1;
	}
	l->principal = tok;
	l->principal_len = strcspn(tok, ",");
	if (l->principal_len > tok_len)
		l->principal_len = tok_len;
	if (l->principal_len == 0) {
		*why = "empty principal";
		return -1;
	}
	/* "KEYTYPE BASE64" right away, or options first (as OpenSSH decides) */
	opts = cp;
	if (next_token(&cp, false, &type, &type_len) == 0 &&
	    next_token(&cp, false, &b64, &b64_len) == 0 &&
	    decode_key(type, type_len, b64, b64_len, &l->key, &l->key_len) == 0)
		return 1;
	cp = opts + strspn(opts, " \t");
	opts = cp;
	{
		bool quoted = false;

		for (; *cp && (quoted || (*cp != ' ' && *cp != '\t')); cp++) {
			if (quoted && *cp == '\\' && cp[1] == '"')
				cp++;
			else if (*cp == '"')
				quoted = !quoted;
		}
		if (quoted) {
			*why = "unterminated quote";
			return -1;
		}
	}
	opts_len = (size_t)(cp - opts);
	if (opts_len == 0) {
		*why = "missing key";
		return -1;
	}
	if (parse_options(l, opts, opts_len, why) < 0)
		goto bad;
	if (next_token(&cp, false, &type, &type_len) < 0 ||
	    next_token(&cp, false, &b64, &b64_len) < 0) {
		*why = "missing key";
		goto bad;
	}
	if (decode_key(type, type_len, b64, b64_len, &l->key, &l->key_len) < 0) {
		*why = "invalid key";
		goto bad;
	}
	return 1;
bad:
	line_release(l);
	return -1;
}

/* * and ? wildcards, without backtracking blow-up. */
static bool glob_match(const char *s, size_t slen, const char *p, size_t plen)
{
	size_t si = 0, pi = 0, star = SIZE_MAX, mark = 0;

	while (si < slen) {
		if (pi < plen && (p[pi] == '?' || p[pi] == s[si])) {
			si++;
			pi++;
		} else if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/* OpenSSH match_pattern_list(): a matching !pattern refuses outright. */
static bool pattern_list_match(const char *s, const char *list)
{
	size_t slen = strlen(s), n;
	bool found = false, neg;

	for (;;) {
		n = strcspn(list, ",");
		neg = n > 0 && list[0] == '!';
		if (glob_match(s, slen, list + neg, n - neg)) {
			if (neg)
				return false;
			found = true;
		}
		if (list[n] == '\0')
			return found;
		list += n + 1;
	}
}

/*
 * Finds the line listing the signature's key that allows namespace ns now;
 * *out is its first principal.
 */
static int find_signer(char **out, const struct ss_sig *s, const char *path,
		       const char *ns, struct nc_err *err)
{
	char *file = NULL, *line, refused[256] = "", skipped[160] = "", fp[64];
	size_t flen, pos, end, len, lineno = 0;
	const char *why = NULL, *nl;
	struct ss_line l;
	time_t now = time(NULL);
	int rc, ret = -1;

	rc = nc_read_file(path, SS_SIGNERS_MAX, &file, &flen);
	if (rc == -2) {
		nc_err_set(err, "%s is larger than %d KiB", path, SS_SIGNERS_MAX / 1024);
		return -1;
	}
	if (rc < 0) {
		nc_err_set(err, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (memchr(file, '\0', flen)) {
		nc_err_set(err, "%s: not a text file (holds a NUL byte)", path);
		goto out;
	}
	for (pos = 0; pos < flen; pos = end + 1) {
		nl = memchr(file + pos, '\n', flen - pos);
		end = nl ? (size_t)(nl - file) : flen;
		len = end - pos;
		if (len > 0 && file[pos + len - 1] == '\r')
			len--;
		lineno++;
		line = nc_xstrndup(file + pos, len);
		rc = parse_line(&l, line, &why);
		if (rc < 0 && !skipped[0])
			snprintf(skipped, sizeof(skipped), "; line %zu skipped: %s", lineno, why);
		if (rc <= 0 || l.key_len != s->pubkey.len ||
		    memcmp(l.key, s->pubkey.p, l.key_len) != 0) {
			if (rc > 0)
				line_release(&l);
			free(line);
			continue;
		}
		why = NULL;
		if (l.ca)
			why = "is listed as a cert-authority, and certificates are not supported";
		else if (l.namespaces && !pattern_list_match(ns, l.namespaces))
			why = "may not sign in this namespace";
		else if (l.has_after && now < l.after)
			why = "is not valid yet (valid-after)";
		else if (l.has_before && now > l.before)
			why = "has expired (valid-before)";
		if (!why) {
			*out = nc_xstrndup(l.principal, l.principal_len);
			line_release(&l);
			free(line);
			ret = 0;
			goto out;
		}
		if (!refused[0])
			snprintf(refused, sizeof(refused), "the signing key of %.*s %s (%s:%zu)",
				 (int)(l.principal_len > 64 ? 64 : l.principal_len), l.principal,
				 why, path, lineno);
		line_release(&l);
		free(line);
	}
	if (refused[0]) {
		nc_err_set(err, "%s", refused);
	} else {
		char type[40];

		show(type, sizeof(type), s->keytype.p, s->keytype.len);
		fingerprint(fp, sizeof(fp), &s->pubkey);
		nc_err_set(err, "signature made by a key not in %s (%s %s)%s", path, type, fp,
			   skipped);
	}
out:
	free(file);
	return ret;
}

/* ---- signatures ---- */

/* 1: good, 0: bad, -1: OpenSSL failed. */
static int evp_verify(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *sig,
		      size_t sig_len, const unsigned char *msg, size_t msg_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = -1;

	if (!ctx)
		return -1;
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1)
		goto out;
	ret = EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len) == 1;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

static int verify_ed25519(const struct ss_sig *s, const unsigned char *msg, size_t msg_len,
			  struct nc_err *err)
{
	struct ss_rd key = s->pubkey, type, pk;
	EVP_PKEY *pkey;
	int rc;

	if (rd_string(&key, &type) < 0 || rd_string(&key, &pk) < 0 || pk.len != 32 ||
	    key.len != 0) {
		nc_err_set(err, "malformed ssh-ed25519 key");
		return -1;
	}
	if (!rd_eq(&s->sigtype, "ssh-ed25519") || s->sigblob.len != 64) {
		nc_err_set(err, "signature does not verify");
		return -1;
	}
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk.p, pk.len);
	if (!pkey) {
		nc_err_set(err, "malformed ssh-ed25519 key");
		return -1;
	}
	rc = evp_verify(pkey, NULL, s->sigblob.p, s->sigblob.len, msg, msg_len);
	EVP_PKEY_free(pkey);
	if (rc != 1) {
		nc_err_set(err, "signature does not verify");
		return -1;
	}
	return 0;
}

static EVP_PKEY *rsa_key(const struct ss_rd *e, const struct ss_rd *n)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn_e = BN_bin2bn(e->p, (int)e->len, NULL);
	BIGNUM *bn_n = BN_bin2bn(n->p, (int)n->len, NULL);

	if (!bld || !bn_e || !bn_n ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_e);
	BN_free(bn_n);
	return pkey;
}

static int verify_rsa(const struct ss_sig *s, const unsigned char *msg, size_t msg_len,
		      struct nc_err *err)
{
	struct ss_rd key = s->pubkey, type, e, n;
	unsigned char *sig = NULL;
	const EVP_MD *md;
	EVP_PKEY *pkey = NULL;
	size_t bits;
	int ret = -1;

	if (rd_string(&key, &type) < 0 || rd_mpint(&key, &e, SS_RSA_MAX_BITS / 8) < 0 ||
	    rd_mpint(&key, &n, SS_RSA_MAX_BITS / 8) < 0 || key.len != 0 || e.len == 0 ||
	    n.len == 0) {
		nc_err_set(err, "malformed ssh-rsa key");
		return -1;
	}
	bits = n.len * 8;
	for (unsigned char top = n.p[0]; !(top & 0x80); top <<= 1)
		bits--;
	if (bits < SS_RSA_MIN_BITS) {
		nc_err_set(err, "RSA key too small (%zu bits, at least %d wanted)", bits,
			   SS_RSA_MIN_BITS);
		return -1;
	}
	if (rd_eq(&s->sigtype, "rsa-sha2-512")) {
		md = EVP_sha512();
	} else if (rd_eq(&s->sigtype, "rsa-sha2-256")) {
		md = EVP_sha256();
	} else if (rd_eq(&s->sigtype, "ssh-rsa")) {
		nc_err_set(err, "RSA signature with SHA-1 (ssh-rsa) refused");
		return -1;
	} else {
		nc_err_set(err, "signature does not verify");
		return -1;
	}
	/* OpenSSH accepts a signature shorter than the modulus and pads it */
	if (s->sigblob.len == 0 || s->sigblob.len > n.len) {
		nc_err_set(err, "signature does not verify");
		return -1;
	}
	sig = nc_xcalloc(1, n.len);
	memcpy(sig + n.len - s->sigblob.len, s->sigblob.p, s->sigblob.len);
	pkey = rsa_key(&e, &n);
	if (!pkey) {
		nc_err_set(err, "malformed ssh-rsa key");
		goto out;
	}
	if (evp_verify(pkey, md, sig, n.len, msg, msg_len) != 1) {
		nc_err_set(err, "signature does not verify");
		goto out;
	}
	ret = 0;
out:
	EVP_PKEY_free(pkey);
	free(sig);
	return ret;
}

int nc_sshsig_verify(const char *armored, const void *data, size_t len,
		     const char *allowed_signers_file, const char *namespace_,
		     char **principal, struct nc_err *err)
{
	static const unsigned char empty[1];
	unsigned char *blob = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct nc_buf msg = NC_BUF_INIT;
	const EVP_MD *hash;
	struct ss_sig s;
	char *who = NULL, shown[80];
	size_t blob_len;
	int ret = -1;

	if (!armored || (!data && len) || !allowed_signers_file || !namespace_ || !principal) {
		nc_err_set(err, "nc_sshsig_verify: invalid arguments");
		return -1;
	}
	ERR_set_mark();
	if (dearmor(armored, &blob, &blob_len) < 0) {
		nc_err_set(err, "not an SSH signature");
		goto out;
	}
	if (parse_sig(&s, blob, blob_len, err) < 0)
		goto out;
	if (!rd_eq(&s.ns, namespace_)) {
		show(shown, sizeof(shown), s.ns.p, s.ns.len);
		nc_err_set(err, "signature namespace is '%s', expected '%s'", shown, namespace_);
		goto out;
	}
	if (rd_eq(&s.hashalg, "sha512")) {
		hash = EVP_sha512();
	} else if (rd_eq(&s.hashalg, "sha256")) {
		hash = EVP_sha256();
	} else {
		show(shown, sizeof(shown), s.hashalg.p, s.hashalg.len);
		nc_err_set(err, "unsupported signature hash algorithm '%s'", shown);
		goto out;
	}
	if (find_signer(&who, &s, allowed_signers_file, namespace_, err) < 0)
		goto out;
	if (EVP_Digest(data ? data : empty, len, md, &md_len, hash, NULL) != 1) {
		nc_err_set(err, "cannot hash the signed data");
		goto out;
	}
	nc_buf_add(&msg, "SSHSIG", 6);
	put_string(&msg, s.ns.p, s.ns.len);
	put_string(&msg, s.reserved.p, s.reserved.len);
	put_string(&msg, s.hashalg.p, s.hashalg.len);
	put_string(&msg, md, md_len);
	if (rd_eq(&s.keytype, "ssh-ed25519")) {
		if (verify_ed25519(&s, (const unsigned char *)msg.buf, msg.len, err) < 0)
			goto out;
	} else if (rd_eq(&s.keytype, "ssh-rsa")) {
		if (verify_rsa(&s, (const unsigned char *)msg.buf, msg.len, err) < 0)
			goto out;
	} else {
		show(shown, sizeof(shown), s.keytype.p, s.keytype.len);
		nc_err_set(err, "unsupported key type '%s' (ssh-ed25519 and ssh-rsa are)", shown);
		goto out;
	}
	*principal = who;
	who = NULL;
	ret = 0;
out:
	ERR_pop_to_mark();
	nc_buf_release(&msg);
	free(who);
	free(blob);
	return ret;
}
