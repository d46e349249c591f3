/*
 * oidc-jwt.c - the pieces of OpenID Connect that are JSON Web Signatures
 * and keys (oidc-jwt.h), for oidc.c: base64url, json-c helpers, JWKS
 * keys built with OpenSSL 3 (EVP_PKEY_fromdata from the JWK's n, e or
 * x, y) and the RS256/ES256 signature check (EVP_DigestVerify; ES256's
 * raw r||s turned into DER first).
 */
#include "oidc-jwt.h"

#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

char *nc_b64url_encode(const unsigned char *in, size_t n)
{
	char *out = nc_xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	int i;

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = 0;
	for (i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

int nc_random_b64url(char *out, size_t outn, size_t n)
{
	unsigned char raw[64];
	char *s;
	size_t len;
	int ret = -1;

	if (n > sizeof(raw) || RAND_bytes(raw, (int)n) != 1)
		return -1;
	s = nc_b64url_encode(raw, n);
	len = strlen(s);
	if (len + 1 <= outn) {
		memcpy(out, s, len + 1);
		ret = 0;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(s, len);
	free(s);
	return ret;
}

/* decodes len characters of s; NULL when s is not base64url (no padding) */
unsigned char *nc_b64url_decode(const char *s, size_t len, size_t *out_len)
{
	size_t i, padded = (len + 3) / 4 * 4, pad = padded - len;
	unsigned char *tmp, *out;
	int n;

	if (len % 4 == 1 || len > NC_JWS_MAX)
		return NULL;
	tmp = nc_xmalloc(padded + 1);
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!isalnum((unsigned char)c)) {
			free(tmp);
			return NULL;
		}
		tmp[i] = (unsigned char)c;
	}
	for (; i < padded; i++)
		tmp[i] = '=';
	tmp[padded] = 0;
	out = nc_xmalloc(padded / 4 * 3 + 1);
	n = padded ? EVP_DecodeBlock(out, tmp, (int)padded) : 0;
	free(tmp);
	if (n < 0 || (size_t)n < pad) {
		free(out);
		return NULL;
	}
	*out_len = (size_t)n - pad;
	out[*out_len] = 0;
	return out;
}

json_object *nc_json_parse_object(const char *text, const char *what, struct nc_err *err)
{
	json_tokener *tok = json_tokener_new();
	json_object *j = json_tokener_parse_ex(tok, text, (int)strlen(text));

	if (!j || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != strlen(text)) {
		/* trailing blanks are fine */
		if (j && json_tokener_get_error(tok) == json_tokener_success) {
			const char *rest = text + json_tokener_get_parse_end(tok);

			while (*rest && isspace((unsigned char)*rest))
				rest++;
			if (!*rest)
				goto ok;
		}
		json_object_put(j);
		json_tokener_free(tok);
		nc_err_set(err, "%s is not valid JSON", what);
		return NULL;
	}
ok:
	json_tokener_free(tok);
	if (!json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		nc_err_set(err, "%s is not a JSON object", what);
		return NULL;
	}
	return j;
}

/* the string member name of j, or NULL */
const char *nc_json_str(json_object *j, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(j, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* a numeric date member (seconds); -1 when absent or not a number */
int nc_json_time(json_object *j, const char *name, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(j, name, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

/* j's member name is the string s, or an array holding s */
bool nc_json_has(json_object *j, const char *name, const char *s)
{
	json_object *v;
	size_t i;

	if (!json_object_object_get_ex(j, name, &v))
		return false;
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), s) == 0;
	if (!json_object_is_type(v, json_type_array))
		return false;
	for (i = 0; i < json_object_array_length(v); i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), s) == 0)
			return true;
	}
	return false;
}

static BIGNUM *jwk_bn(json_object *k, const char *name, size_t *len)
{
	const char *s = nc_json_str(k, name);
	unsigned char *raw;
	size_t n;
	BIGNUM *bn;

	if (!s || !(raw = nc_b64url_decode(s, strlen(s), &n)) )
		return NULL;
	if (n == 0) {
		free(raw);
		return NULL;
	}
	bn = BN_bin2bn(raw, (int)n, NULL);
	if (len)
		*len = n;
	free(raw);
	return bn;
}

/* one JWK as an OpenSSL public key; NULL for a key this client does not use */
static EVP_PKEY *jwk_key(json_object *k, int *kty)
{
	const char *type = nc_json_str(k, "kty"), *use = nc_json_str(k, "use");
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	unsigned char *x = NULL, *y = NULL, pub[65];
	size_t xl = 0, yl = 0;

	if (!type || (use && strcmp(use, "sig") != 0))
		return NULL;
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		return NULL;
	if (strcmp(type, "RSA") == 0) {
		if (!(n = jwk_bn(k, "n", NULL)) || !(e = jwk_bn(k, "e", NULL)) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		*kty = EVP_PKEY_RSA;
	} else if (strcmp(type, "EC") == 0) {
		const char *crv = nc_json_str(k, "crv"), *xs = nc_json_str(k, "x"), *ys = nc_json_str(k, "y");

		if (!crv || strcmp(crv, "P-256") != 0 || !xs || !ys ||
		    !(x = nc_b64url_decode(xs, strlen(xs), &xl)) || !(y = nc_b64url_decode(ys, strlen(ys), &yl)) ||
		    xl != 32 || yl != 32)
			goto out;
		pub[0] = 0x04;       /* uncompressed point */
		memcpy(pub + 1, x, 32);
		memcpy(pub + 33, y, 32);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		*kty = EVP_PKEY_EC;
	} else {
		goto out;
	}
	if (!ctx || !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		pkey = NULL;
		goto out;
	}
	/* the point is on the curve; an RSA key has at least 2048 bits */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!check || EVP_PKEY_public_check(check) <= 0 ||
	    (*kty == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < 2048)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(x);
	free(y);
	return pkey;
}

int nc_jwks_parse(const char *text, struct nc_jwk **out, size_t *nout, struct nc_err *err)
{
	json_object *j, *arr;
	struct nc_jwk *keys = NULL;
	size_t i, n = 0;

	if (!(j = nc_json_parse_object(text, "the JWKS", err)))
		return -1;
	if (!json_object_object_get_ex(j, "keys", &arr) || !json_object_is_type(arr, json_type_array)) {
		json_object_put(j);
		nc_err_set(err, "the JWKS has no keys array");
		return -1;
	}
	for (i = 0; i < json_object_array_length(arr) && n < NC_JWKS_MAX_KEYS; i++) {
		json_object *k = json_object_array_get_idx(arr, i);
		const char *kid;
		EVP_PKEY *pkey;
		int kty = 0;

		if (!json_object_is_type(k, json_type_object) || !(pkey = jwk_key(k, &kty)))
			continue;
		keys = nc_xreallocarray(keys, n + 1, sizeof(*keys));
		kid = nc_json_str(k, "kid");
		keys[n].kid = kid ? nc_xstrdup(kid) : NULL;
		keys[n].kty = kty;
		keys[n].pkey = pkey;
		n++;
	}
	json_object_put(j);
	*out = keys;
	*nout = n;
	return 0;
}

void nc_jwks_free(struct nc_jwk *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(keys[i].kid);
		EVP_PKEY_free(keys[i].pkey);
	}
	free(keys);
}

bool nc_jws_verify(EVP_PKEY *pkey, int kty, const char *signed_part, size_t signed_len,
		       const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	const unsigned char *s = sig;
	size_t slen = sig_len;
	ECDSA_SIG *es = NULL;
	bool ok = false;

	if (!md)
		return false;
	if (kty == EVP_PKEY_EC) {
		/* JWS ES256 carries r||s (32 bytes each); OpenSSL wants DER */
		BIGNUM *r, *ss;
		int dl;

		if (sig_len != 64 || !(es = ECDSA_SIG_new()))
			goto out;
		r = BN_bin2bn(sig, 32, NULL);
		ss = BN_bin2bn(sig + 32, 32, NULL);
		if (!r || !ss || !ECDSA_SIG_set0(es, r, ss)) {
			BN_free(r);
			BN_free(ss);
			goto out;
		}
		dl = i2d_ECDSA_SIG(es, &der);
		if (dl <= 0)
			goto out;
		s = der;
		slen = (size_t)dl;
	} else if (sig_len != (size_t)EVP_PKEY_get_size(pkey)) {
		goto out;
	}
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	     EVP_DigestVerify(md, s, slen, (const unsigned char *)signed_part, signed_len) == 1;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return ok;
}
