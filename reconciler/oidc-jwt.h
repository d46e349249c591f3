/*
 * oidc-jwt.h - JSON Web Signatures and keys for oidc.c (internal).
 *
 * base64url without padding (RFC 4648 section 5); json-c helpers that
 * return NULL or -1 for a member of the wrong type; a JWKS as OpenSSL
 * public keys (RSA of at least 2048 bits, EC on P-256, "use" sig or
 * absent; other keys are skipped); the signature of a JWS with RS256 or
 * ES256 (kty says which).
 */
#ifndef NC_OIDC_JWT_H
#define NC_OIDC_JWT_H

#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../drivers/driver.h"
#include "../spec/util.h"

#define NC_JWS_MAX (16 * 1024)          /* a compact JWS (and anything decoded) at most */
#define NC_JWKS_MAX_KEYS 64

/* caller frees */
char *nc_b64url_encode(const unsigned char *in, size_t n);
/* n random bytes (RAND_bytes, at most 64) as base64url into out; -1 when RAND fails or out is too small */
int nc_random_b64url(char *out, size_t outn, size_t n);
/* len characters of s; NULL when s is not base64url or too long; NUL-terminated, caller frees */
unsigned char *nc_b64url_decode(const char *s, size_t len, size_t *out_len);

/* text as one JSON object (trailing blanks allowed); NULL with err naming what */
json_object *nc_json_parse_object(const char *text, const char *what, struct nc_err *err);
/* the string member name of j, or NULL */
const char *nc_json_str(json_object *j, const char *name);
/* a numeric date member (seconds); -1 when absent or not a number */
int nc_json_time(json_object *j, const char *name, int64_t *out);
/* j's member name is the string s, or an array holding s */
bool nc_json_has(json_object *j, const char *name, const char *s);

struct nc_jwk {
	char *kid;                       /* NULL when the JWK has none */
	int kty;                         /* EVP_PKEY_RSA or EVP_PKEY_EC */
	EVP_PKEY *pkey;
};
/* the usable keys of a JWKS document; *out freed with nc_jwks_free */
int nc_jwks_parse(const char *text, struct nc_jwk **out, size_t *n, struct nc_err *err);
void nc_jwks_free(struct nc_jwk *keys, size_t n);
/* sig over signed_part verifies with pkey (RS256 for EVP_PKEY_RSA, ES256 for EVP_PKEY_EC) */
bool nc_jws_verify(EVP_PKEY *pkey, int kty, const char *signed_part, size_t signed_len,
		   const unsigned char *sig, size_t sig_len);

#endif
