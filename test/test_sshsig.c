/*
 * test_sshsig.c - tests for drivers/source/sshsig.c with keys and signatures made by
 * the real ssh-keygen and git, plus hostile variants of them (truncated,
 * bit-flipped, re-assembled with OpenSSL).
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../drivers/source/source.h"
#include "../spec/util.h"
#include "testutil.h"

Suite *nc_suite_sshsig(void);


/* Keys, data and signatures shared by every test (made once). */
static char dir[64];

/* Runs a shell command in dir with a private HOME and no agent. */
static void run(const char *fmt, ...) NC_PRINTF(1, 2);

static void run(const char *fmt, ...)
{
	struct nc_buf cmd = NC_BUF_INIT;
	char *log = NULL;
	size_t log_len;
	va_list ap;
	int st;

	nc_buf_addf(&cmd, "cd '%s' && export HOME='%s' GIT_CONFIG_NOSYSTEM=1 && "
		    "unset SSH_AUTH_SOCK && (", dir, dir);
	va_start(ap, fmt);
	nc_buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	nc_buf_adds(&cmd, ") >run.log 2>&1");
	st = system(cmd.buf);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char *path = nc_xasprintf("%s/run.log", dir);

		if (nc_read_file(path, 1 << 16, &log, &log_len) < 0)
			log = NULL;
		free(path);
	}
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "command failed (status %d): %s\n%s", st, cmd.buf, log ? log : "");
	nc_buf_release(&cmd);
}

/*
 * noinline: inlined into its callers, gcc 12 at -O3 takes the returned heap
 * pointer for the address of the local `s` (-Werror=dangling-pointer).
 */
static __attribute__((noinline)) char *slurp(const char *name, size_t *len)
{
	char *path = nc_xasprintf("%s/%s", dir, name), *s = NULL;
	size_t n;

	ck_assert_msg(nc_read_file(path, 1 << 20, &s, &n) == 0, "cannot read %s", path);
	free(path);
	if (len)
		*len = n;
	return s;
}

static void spew(const char *name, const char *text)
{
	char *path = nc_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	free(path);
}

/* printf with a format from the table of cases below. */
static char *fmt2(const char *fmt, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	return nc_xasprintf(fmt, a, b);
#pragma GCC diagnostic pop
}

/* Writes an allowed_signers file: fmt with %s (or %1$s, %2$s) for the keys in pub1, pub2. */

static char *signers(const char *name, const char *fmt, const char *pub1, const char *pub2)
{
	char *a = slurp(pub1, NULL), *b = pub2 ? slurp(pub2, NULL) : NULL, *text;

	/* drop the newline: the key may be followed by more on its line */
	a[strcspn(a, "\n")] = '\0';
	if (b)
		b[strcspn(b, "\n")] = '\0';
	text = fmt2(fmt, a, b ? b : "");
	spew(name, text);
	free(text);
	free(a);
	free(b);
	return nc_xasprintf("%s/%s", dir, name);
}

/* Verifies the armored text sig over the file "data" against allowed file name. */
static int check_sig(const char *sig, const char *allowed, char **who, struct nc_err *err)
{
	char *data, *path = nc_xasprintf("%s/%s", dir, allowed);
	size_t len;
	int rc;

	data = slurp("data", &len);
	*who = NULL;
	err->msg[0] = '\0';
	rc = nc_sshsig_verify(sig, data, len, path, "git", who, err);
	if (rc != 0)
		ck_assert_msg(*who == NULL && err->msg[0], "failure without a message");
	free(data);
	free(path);
	return rc;
}

/* Verifies signature file sig_name over "data" against "allowed". */
static int check_file(const char *sig_name, char **who, struct nc_err *err)
{
	char *sig = slurp(sig_name, NULL);
	int rc = check_sig(sig, "allowed", who, err);

	free(sig);
	return rc;
}

static void expect_ok(const char *sig_name, const char *principal)
{
	struct nc_err err;
	char *who;

	ck_assert_msg(check_file(sig_name, &who, &err) == 0, "%s: %s", sig_name, err.msg);
	ck_assert_str_eq(who, principal);
	free(who);
}

static void expect_fail(const char *sig_name, const char *msg)
{
	struct nc_err err;
	char *who;

	ck_assert_msg(check_file(sig_name, &who, &err) == -1, "%s verified", sig_name);
	HAS(err.msg, msg);
}

/* ---- wire format helpers for crafted signatures ---- */

static void put_u32(struct nc_buf *b, uint32_t v)
{
	unsigned char n[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };

	nc_buf_add(b, n, 4);
}

static void put_str(struct nc_buf *b, const void *p, size_t len)
{
	put_u32(b, (uint32_t)len);
	nc_buf_add(b, p, len);
}

static void put_cstr(struct nc_buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static char *armor(const void *blob, size_t len)
{
	struct nc_buf out = NC_BUF_INIT;
	unsigned char *b64 = nc_xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock(b64, blob, (int)len), i;

	nc_buf_adds(&out, "-----BEGIN SSH SIGNATURE-----\n");
	for (i = 0; i < n; i += 70) {
		nc_buf_add(&out, b64 + i, (size_t)(n - i < 70 ? n - i : 70));
		nc_buf_addc(&out, '\n');
	}
	nc_buf_adds(&out, "-----END SSH SIGNATURE-----\n");
	free(b64);
	return nc_buf_detach(&out, NULL);
}

static unsigned char *unarmor(const char *armored, size_t *len)
{
	struct nc_buf b64 = NC_BUF_INIT;
	const char *p = strchr(armored, '\n') + 1, *end = strstr(armored, "-----END");
	unsigned char *blob;
	int n;

	for (; p < end; p++)
		if (*p != '\n')
			nc_buf_addc(&b64, *p);
	blob = nc_xmalloc(b64.len / 4 * 3 + 1);
	n = EVP_DecodeBlock(blob, (unsigned char *)b64.buf, (int)b64.len);
	ck_assert_int_gt(n, 0);
	*len = (size_t)n - (b64.buf[b64.len - 1] == '=') - (b64.buf[b64.len - 2] == '=');
	nc_buf_release(&b64);
	return blob;
}

/* The key blob of a .pub file. */
static unsigned char *pub_blob(const char *pub, size_t *len)
{
	char *text = slurp(pub, NULL), *b64 = strchr(text, ' ') + 1;
	unsigned char *blob = nc_xmalloc(strlen(b64));
	int n;

	b64[strcspn(b64, " \n")] = '\0';
	n = EVP_DecodeBlock(blob, (unsigned char *)b64, (int)strlen(b64));
	ck_assert_int_gt(n, 0);
	*len = (size_t)n - (b64[strlen(b64) - 1] == '=') - (b64[strlen(b64) - 2] == '=');
	free(text);
	return blob;
}

/*
 * A signature over "data" assembled here and signed with OpenSSL using the
 * PEM private key "rsa", with the given version, RSA digest and trailer,
 * and a zero byte before the RSA signature if zero_first.
 */
static char *craft_rsa(uint32_t version, const char *hashalg, const char *sigtype,
		       const EVP_MD *sigmd, const char *trailer, bool zero_first)
{
	struct nc_buf msg = NC_BUF_INIT, sig = NC_BUF_INIT, blob = NC_BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE], *key, *raw;
	unsigned int md_len;
	size_t key_len, data_len, raw_len = 0;
	char *data = slurp("data", &data_len), *path = nc_xasprintf("%s/rsa", dir), *out;
	FILE *f = fopen(path, "r");
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	ck_assert_ptr_nonnull(f);
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(pkey);
	ck_assert_int_eq(EVP_Digest(data, data_len, md, &md_len,
				    strcmp(hashalg, "sha256") ? EVP_sha512() : EVP_sha256(), NULL), 1);
	nc_buf_add(&msg, "SSHSIG", 6);
	put_cstr(&msg, "git");
	put_cstr(&msg, "");
	put_cstr(&msg, hashalg);
	put_str(&msg, md, md_len);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, sigmd, NULL, pkey), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, NULL, &raw_len, (unsigned char *)msg.buf, msg.len), 1);
	raw = nc_xmalloc(raw_len);
	ck_assert_int_eq(EVP_DigestSign(ctx, raw, &raw_len, (unsigned char *)msg.buf, msg.len), 1);
	put_cstr(&sig, sigtype);
	put_u32(&sig, (uint32_t)(raw_len + zero_first));
	if (zero_first)
		nc_buf_addc(&sig, '\0');
	nc_buf_add(&sig, raw, raw_len);

	key = pub_blob("rsa.pub", &key_len);
	nc_buf_add(&blob, "SSHSIG", 6);
	put_u32(&blob, version);
	put_str(&blob, key, key_len);
	put_cstr(&blob, "git");
	put_cstr(&blob, "");
	put_cstr(&blob, hashalg);
	put_str(&blob, sig.buf, sig.len);
	nc_buf_adds(&blob, trailer);
	out = armor(blob.buf, blob.len);

	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	free(raw);
	free(key);
	free(data);
	free(path);
	nc_buf_release(&msg);
	nc_buf_release(&sig);
	nc_buf_release(&blob);
	return out;
}

/* ---- fixture ---- */

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nc-sshsig-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	run("ssh-keygen -q -t ed25519 -N '' -C alice -f ed && "
	    "ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C bob -f rsa && "
	    "ssh-keygen -q -t ed25519 -N '' -C mallory -f other");
	run("printf 'vms:\\n  - name: web-1\\n' > data && "
	    "for k in ed rsa other; do cp data data.$k && ssh-keygen -Y sign -f $k -n git data.$k; done && "
	    "cp data data.file && ssh-keygen -Y sign -f ed -n file data.file && "
	    "cp data data.sha256 && ssh-keygen -Y sign -f ed -n git -O hashalg=sha256 data.sha256 && "
	    ": > empty && ssh-keygen -Y sign -f ed -n git empty");
	free(signers("allowed", "# NovaCron deployers\n\nalice@example.com %s\n"
		     "\"bob@example.com,robert\" namespaces=\"git\" %s\n", "ed.pub", "rsa.pub"));
}

static void teardown(void)
{
	char *cmd = nc_xasprintf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* ---- signatures made by ssh-keygen ---- */

START_TEST(test_ed25519_verifies)
{
	expect_ok("data.ed.sig", "alice@example.com");
}
END_TEST

START_TEST(test_rsa_verifies)
{
	/* ssh-keygen signs with rsa-sha2-512; the first principal is returned */
	expect_ok("data.rsa.sig", "bob@example.com");
}
END_TEST

START_TEST(test_sha256_hash_verifies)
{
	expect_ok("data.sha256.sig", "alice@example.com");
}
END_TEST

START_TEST(test_empty_data_verifies)
{
	char *sig = slurp("empty.sig", NULL), *path = nc_xasprintf("%s/allowed", dir), *who = NULL;
	struct nc_err err;

	ck_assert_msg(nc_sshsig_verify(sig, NULL, 0, path, "git", &who, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(who, "alice@example.com");
	free(who);
	ck_assert_int_eq(nc_sshsig_verify(sig, "x", 1, path, "git", &who, &err), -1);
	ck_assert_str_eq(err.msg, "signature does not verify");
	free(sig);
	free(path);
}
END_TEST

START_TEST(test_tampered_data_fails)
{
	static const char *const sigs[] = { "data.ed.sig", "data.rsa.sig", "data.sha256.sig" };
	size_t i;

	run("printf 'vms:\\n  - name: web-2\\n' > data");
	for (i = 0; i < NC_ARRAY_SIZE(sigs); i++)
		expect_fail(sigs[i], "signature does not verify");
}
END_TEST

START_TEST(test_unknown_key_fails)
{
	struct nc_err err;
	char *who, *want = nc_xasprintf("signature made by a key not in %s/allowed (ssh-ed25519 SHA256:",
					dir);

	ck_assert_int_eq(check_file("data.other.sig", &who, &err), -1);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got: %s", err.msg);
	free(want);
}
END_TEST

START_TEST(test_fingerprint_matches_ssh_keygen)
{
	struct nc_err err;
	char *who, *fp, *sp;

	run("ssh-keygen -l -f other.pub | cut -d' ' -f2 > other.fp");
	fp = slurp("other.fp", NULL);
	fp[strcspn(fp, "\n")] = '\0';
	ck_assert_int_eq(check_file("data.other.sig", &who, &err), -1);
	sp = strstr(err.msg, "SHA256:");
	ck_assert_ptr_nonnull(sp);
	ck_assert_msg(strncmp(sp, fp, strlen(fp)) == 0 && sp[strlen(fp)] == ')',
		      "want %s in: %s", fp, err.msg);
	free(fp);
}
END_TEST

START_TEST(test_wrong_namespace_fails)
{
	struct nc_err err;
	char *who;

	ck_assert_int_eq(check_file("data.file.sig", &who, &err), -1);
	ck_assert_str_eq(err.msg, "signature namespace is 'file', expected 'git'");
}
END_TEST

START_TEST(test_garbage_is_not_a_signature)
{
	static const char *const bad[] = {
		"",
		"hello",
		"-----BEGIN SSH SIGNATURE-----\n",
		"-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\nmore\n",
		"-----BEGIN SSH SIGNATURE-----\nU1NI=0lH\n-----END SSH SIGNATURE-----\n",
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0l\n-----END SSH SIGNATURE-----\n",
		"-----BEGIN SSH SIGNATURE-----\nU1N*U0lH\n-----END SSH SIGNATURE-----\n",
		/* "SSHSIG" then a group of three '=' (no bytes) */
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0lHA===\n-----END SSH SIGNATURE-----\n",
		/* "SSHSIX" */
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0lY\n-----END SSH SIGNATURE-----\n",
		"-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n-----END PGP SIGNATURE-----\n",
	};
	struct nc_err err;
	char *who;
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(bad); i++) {
		ck_assert_msg(check_sig(bad[i], "allowed", &who, &err) == -1, "#%zu verified", i);
		ck_assert_msg(strcmp(err.msg, "not an SSH signature") == 0, "#%zu: %s", i, err.msg);
	}
	/* a good signature with a group of three '=' (no bytes) appended */
	{
		char *sig = slurp("data.ed.sig", NULL), *end = strstr(sig, "-----END");
		char *bad_pad = nc_xasprintf("%.*sA===\n%s", (int)(end - sig), sig, end);

		ck_assert_int_eq(check_sig(sig, "allowed", &who, &err), 0);
		free(who);
		ck_assert_int_eq(check_sig(bad_pad, "allowed", &who, &err), -1);
		ck_assert_str_eq(err.msg, "not an SSH signature");
		free(bad_pad);
		free(sig);
	}
	/* "SSHSIG" alone: the right magic, nothing after it */
	ck_assert_int_eq(check_sig("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"
				   "-----END SSH SIGNATURE-----", "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "malformed SSH signature");
}
END_TEST

START_TEST(test_oversized_armor_refused)
{
	struct nc_buf b = NC_BUF_INIT;
	struct nc_err err;
	char *who;
	size_t i;

	nc_buf_adds(&b, "-----BEGIN SSH SIGNATURE-----\n");
	for (i = 0; i < 100000; i++)
		nc_buf_addc(&b, 'A');
	nc_buf_adds(&b, "\n-----END SSH SIGNATURE-----\n");
	ck_assert_int_eq(check_sig(b.buf, "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "not an SSH signature");
	nc_buf_release(&b);
}
END_TEST

/* Every truncation and every single-bit change of a good signature fails. */
static void mutate_all(const char *sig_name)
{
	char *sig = slurp(sig_name, NULL), *re, *who;
	struct nc_err err;
	unsigned char *blob, *copy;
	size_t len, i;
	int bit;

	blob = unarmor(sig, &len);
	re = armor(blob, len);
	ck_assert_msg(check_sig(re, "allowed", &who, &err) == 0, "re-armored: %s", err.msg);
	free(who);
	free(re);
	copy = nc_xmalloc(len);
	for (i = 0; i < len; i++) {
		re = armor(blob, i);
		ck_assert_msg(check_sig(re, "allowed", &who, &err) == -1,
			      "%s cut to %zu bytes verified", sig_name, i);
		free(re);
		for (bit = 0; bit < 8; bit++) {
			memcpy(copy, blob, len);
			copy[i] ^= (unsigned char)(1u << bit);
			re = armor(copy, len);
			ck_assert_msg(check_sig(re, "allowed", &who, &err) == -1,
				      "%s with bit %d of byte %zu flipped verified", sig_name, bit, i);
			free(re);
		}
	}
	free(copy);
	free(blob);
	free(sig);
}

START_TEST(test_mutated_ed25519_fails)
{
	mutate_all("data.ed.sig");
}
END_TEST

START_TEST(test_mutated_rsa_fails)
{
	mutate_all("data.rsa.sig");
}
END_TEST

/* ---- signatures assembled with OpenSSL ---- */

START_TEST(test_rsa_sha2_256_verifies)
{
	char *sig = craft_rsa(1, "sha512", "rsa-sha2-256", EVP_sha256(), "", false), *who;
	struct nc_err err;

	ck_assert_msg(check_sig(sig, "allowed", &who, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(who, "bob@example.com");
	free(who);
	free(sig);
	/* the same, claiming the other digest */
	sig = craft_rsa(1, "sha256", "rsa-sha2-512", EVP_sha256(), "", false);
	ck_assert_int_eq(check_sig(sig, "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "signature does not verify");
	free(sig);
}
END_TEST

START_TEST(test_crafted_refused)
{
	struct nc_err err;
	char *sig, *who;

	sig = craft_rsa(1, "sha512", "rsa-sha2-512", EVP_sha512(), "", false);
	ck_assert_msg(check_sig(sig, "allowed", &who, &err) == 0, "%s", err.msg);
	free(who);
	free(sig);

	sig = craft_rsa(1, "sha512", "ssh-rsa", EVP_sha1(), "", false);
	ck_assert_int_eq(check_sig(sig, "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "RSA signature with SHA-1 (ssh-rsa) refused");
	free(sig);

	sig = craft_rsa(2, "sha512", "rsa-sha2-512", EVP_sha512(), "", false);
	ck_assert_int_eq(check_sig(sig, "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "unsupported SSH signature version 2");
	free(sig);

	sig = craft_rsa(1, "sha512", "rsa-sha2-512", EVP_sha512(), "x", false);
	ck_assert_int_eq(check_sig(sig, "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "malformed SSH signature");
	free(sig);

	sig = craft_rsa(1, "md5", "rsa-sha2-512", EVP_sha512(), "", false);
	ck_assert_int_eq(check_sig(sig, "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "unsupported signature hash algorithm 'md5'");
	free(sig);

	/* longer than the modulus */
	sig = craft_rsa(1, "sha512", "rsa-sha2-512", EVP_sha512(), "", true);
	ck_assert_int_eq(check_sig(sig, "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "signature does not verify");
	free(sig);

	sig = craft_rsa(1, "sha512", "ssh-ed25519", EVP_sha512(), "", false);
	ck_assert_int_eq(check_sig(sig, "allowed", &who, &err), -1);
	ck_assert_str_eq(err.msg, "signature does not verify");
	free(sig);
}
END_TEST

/* ---- allowed_signers ---- */

static void allowed_ok(const char *fmt, const char *principal)
{
	char *path = signers("allowed2", fmt, "ed.pub", "rsa.pub"), *sig = slurp("data.ed.sig", NULL);
	struct nc_err err;
	char *who;

	ck_assert_msg(check_sig(sig, "allowed2", &who, &err) == 0, "%s\nfor: %s", err.msg, fmt);
	ck_assert_str_eq(who, principal);
	free(who);
	free(sig);
	free(path);
}

static void allowed_fail(const char *fmt, const char *msg)
{
	char *path = signers("allowed2", fmt, "ed.pub", "rsa.pub"), *sig = slurp("data.ed.sig", NULL);
	struct nc_err err;
	char *who, *want = fmt2(msg, path, "");

	ck_assert_msg(check_sig(sig, "allowed2", &who, &err) == -1, "verified with: %s", fmt);
	HAS(err.msg, want);
	free(want);
	free(sig);
	free(path);
}

START_TEST(test_allowed_signers_format)
{
	/* comments, blank lines, CRLF, indentation, trailing comment; rsa line first */
	allowed_ok("# team\r\n\r\n  bob@example.com %2$s\r\n\t\"alice@example.com,a2\"   %1$s\r\n",
		   "alice@example.com");
	/* quoted principals may hold spaces */
	allowed_ok("\"Alice Example,alice\" %s\n", "Alice Example");
	/* the key may appear twice: the first line that allows it wins */
	allowed_ok("a1 namespaces=\"file\" %1$s\na2 %1$s\na3 %1$s\n", "a2");
	/* no newline at the end */
	allowed_ok("alice %s", "alice");
	/* a line that does not parse is skipped */
	allowed_ok("broken\nx bogus-option %2$s\nalice %1$s\n", "alice");
}
END_TEST

START_TEST(test_allowed_signers_options)
{
	allowed_ok("alice namespaces=\"git\" %s\n", "alice");
	allowed_ok("alice NAMESPACES=\"ci,g?t\" %s\n", "alice");
	allowed_ok("alice namespaces=\"file,*\" %s\n", "alice");
	allowed_ok("alice valid-after=\"20000101Z\",valid-before=\"29991231235959\",namespaces=\"git\" %s\n",
		   "alice");
	allowed_fail("alice namespaces=\"file\" %s\n",
		     "the signing key of alice may not sign in this namespace (%s:1)");
	allowed_fail("alice namespaces=\"*,!git\" %s\n",
		     "the signing key of alice may not sign in this namespace (%s:1)");
	allowed_fail("alice valid-before=\"20000101\" %s\n",
		     "the signing key of alice has expired (valid-before) (%s:1)");
	allowed_fail("alice valid-after=\"299901011200Z\" %s\n",
		     "the signing key of alice is not valid yet (valid-after) (%s:1)");
	allowed_fail("alice cert-authority %s\n",
		     "the signing key of alice is listed as a cert-authority");
}
END_TEST

START_TEST(test_allowed_signers_bad_lines)
{
	allowed_fail("alice namespaces=git %s\n", "line 1 skipped: option value must be in double quotes");
	allowed_fail("alice namespaces=\"git %s\n", "line 1 skipped: unterminated quote");
	allowed_fail("alice valid-after=\"2000\" %s\n", "line 1 skipped: invalid time");
	allowed_fail("alice bogus %s\n", "line 1 skipped: unsupported option");
	allowed_fail("\n\nalice\n", "not in %s (ssh-ed25519 SHA256:");
	allowed_fail("\n\nalice\n", "line 3 skipped: missing key");
	allowed_fail("alice ssh-rsa %s\n", "line 1 skipped: unsupported option");
	allowed_fail("alice ssh-ed25519 AAAA=AAA\n", "line 1 skipped:");
	allowed_fail("\"\" %s\n", "line 1 skipped: empty principal");
	allowed_fail("# only %s\n", "not in %s");
}
END_TEST

START_TEST(test_allowed_signers_unreadable)
{
	struct nc_err err;
	char *who = NULL, *sig = slurp("data.ed.sig", NULL), *data = slurp("data", NULL);

	ck_assert_int_eq(nc_sshsig_verify(sig, data, strlen(data), "/nonexistent/allowed_signers",
					  "git", &who, &err), -1);
	ck_assert_str_eq(err.msg, "cannot read /nonexistent/allowed_signers: No such file or directory");
	ck_assert_ptr_null(who);
	free(sig);
	free(data);
}
END_TEST

/* ---- a real signed git commit ---- */

/* Splits `git cat-file commit` output into the gpgsig header and the payload. */
static void split_commit(const char *raw, struct nc_buf *sig, struct nc_buf *payload)
{
	const char *p = raw, *nl;
	bool header = true, in_sig = false;
	size_t n;

	for (; *p; p += n) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (header && n == 1 && *p == '\n') {
			header = false;
			in_sig = false;
		} else if (header && strncmp(p, "gpgsig ", 7) == 0) {
			in_sig = true;
			nc_buf_add(sig, p + 7, n - 7);
			continue;
		} else if (header && in_sig && *p == ' ') {
			nc_buf_add(sig, p + 1, n - 1);
			continue;
		} else {
			in_sig = false;
		}
		nc_buf_add(payload, p, n);
	}
}

static void commit_with(const char *key, const char *subject)
{
	run("rm -rf repo && git init -q repo && cd repo && git config user.name Alice && "
	    "git config user.email alice@example.com && git config gpg.format ssh && "
	    "git config user.signingkey '%s/%s.pub' && printf 'vms: []\\n' > spec.yaml && "
	    "git add spec.yaml && git commit -q -S -m '%s' && git cat-file commit HEAD > ../commit",
	    dir, key, subject);
}

START_TEST(test_git_commit_verifies)
{
	struct nc_buf sig = NC_BUF_INIT, payload = NC_BUF_INIT;
	char *raw, *path = nc_xasprintf("%s/allowed", dir), *who = NULL, *at;
	struct nc_err err;

	commit_with("ed", "deploy web-1");
	/* git itself agrees with the file */
	run("cd repo && git -c gpg.ssh.allowedSignersFile=../allowed verify-commit HEAD");
	raw = slurp("commit", NULL);
	split_commit(raw, &sig, &payload);
	HAS(sig.buf, "-----BEGIN SSH SIGNATURE-----\n");
	ck_assert_ptr_null(strstr(payload.buf, "gpgsig"));
	HAS(payload.buf, "\n\ndeploy web-1\n");
	ck_assert_msg(nc_sshsig_verify(sig.buf, payload.buf, payload.len, path, "git", &who,
				       &err) == 0, "%s", err.msg);
	ck_assert_str_eq(who, "alice@example.com");
	free(who);
	who = NULL;

	/* the same signature over an edited message */
	at = strstr(payload.buf, "web-1");
	at[4] = '2';
	ck_assert_int_eq(nc_sshsig_verify(sig.buf, payload.buf, payload.len, path, "git", &who,
					  &err), -1);
	ck_assert_str_eq(err.msg, "signature does not verify");
	ck_assert_ptr_null(who);
	free(raw);
	nc_buf_release(&sig);
	nc_buf_release(&payload);
	free(path);
}
END_TEST

START_TEST(test_git_commit_by_stranger_fails)
{
	struct nc_buf sig = NC_BUF_INIT, payload = NC_BUF_INIT;
	char *raw, *path = nc_xasprintf("%s/allowed", dir), *who = NULL;
	struct nc_err err;

	commit_with("other", "deploy web-9");
	raw = slurp("commit", NULL);
	split_commit(raw, &sig, &payload);
	ck_assert_int_eq(nc_sshsig_verify(sig.buf, payload.buf, payload.len, path, "git", &who,
					  &err), -1);
	HAS(err.msg, "signature made by a key not in ");
	ck_assert_ptr_null(who);
	free(raw);
	nc_buf_release(&sig);
	nc_buf_release(&payload);
	free(path);
}
END_TEST

Suite *nc_suite_sshsig(void)
{
	Suite *s = suite_create("sshsig");
	TCase *tc = tcase_create("sshsig");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ed25519_verifies);
	tcase_add_test(tc, test_rsa_verifies);
	tcase_add_test(tc, test_sha256_hash_verifies);
	tcase_add_test(tc, test_empty_data_verifies);
	tcase_add_test(tc, test_unknown_key_fails);
	tcase_add_test(tc, test_fingerprint_matches_ssh_keygen);
	tcase_add_test(tc, test_wrong_namespace_fails);
	tcase_add_test(tc, test_garbage_is_not_a_signature);
	tcase_add_test(tc, test_oversized_armor_refused);
	tcase_add_test(tc, test_mutated_ed25519_fails);
	tcase_add_test(tc, test_mutated_rsa_fails);
	tcase_add_test(tc, test_rsa_sha2_256_verifies);
	tcase_add_test(tc, test_crafted_refused);
	tcase_add_test(tc, test_allowed_signers_format);
	tcase_add_test(tc, test_allowed_signers_options);
	tcase_add_test(tc, test_allowed_signers_bad_lines);
	tcase_add_test(tc, test_allowed_signers_unreadable);
	tcase_add_test(tc, test_git_commit_verifies);
	tcase_add_test(tc, test_git_commit_by_stranger_fails);
	/* last: it rewrites "data" */
	tcase_add_test(tc, test_tampered_data_fails);
	suite_add_tcase(s, tc);
	return s;
}
