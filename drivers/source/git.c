/*
 * source/git.c - the desired state from a git repository, with libgit2.
 *
 * open() creates (or reopens) a bare clone at CACHE_DIR/repo.git whose
 * remote "origin" is the configured URL (a plain absolute path is taken as
 * file://).  fetch() lists origin's refs, fetches refs/heads/REF or else
 * refs/tags/REF (an annotated tag is peeled to its commit; a full name
 * "refs/..." is taken as is), verifies the commit's SSH signature when
 * allowed_signers is set, and writes the commit's tree - only the subdir
 * when one is set, at its place - into CACHE_DIR/checkouts/SHA.  A checkout
 * is built in a dot-named temporary directory and renamed into place, so a
 * checkout directory that exists is complete and is reused as it is.  The
 * newest NC_GIT_KEEP_CHECKOUTS checkouts are kept (by modification time,
 * which a reuse refreshes); older ones are deleted.  A caller that needs a
 * revision's files after several newer fetches must copy them.
 *
 * The tree is written blob by blob, without checkout filters (no CRLF
 * conversion, no LFS smudging); submodules become empty directories.
 * Symbolic links are confined: one whose text is absolute or climbs above
 * the repository is refused as it is written, and once the whole tree is
 * written every link in it is resolved (all links, at every level, as
 * realpath(3) does) and the commit is refused when one lands outside the
 * spec directory (chained links such as a -> ., b -> a/.., c -> b/..).
 *
 * Refusals (NC_SOURCE_EREFUSED): with allowed_signers, a commit that is not
 * signed by a listed key; any commit with a link that leads out; and,
 * unless allow_rollback, a commit that does not descend from the last one
 * the caller applied (reported through applied(), kept in
 * STATE_DIR/source-git-applied with the URL and ref it came from, so a
 * restart keeps it; a record for another URL or ref is ignored).  A commit
 * whose history no longer holds the last applied one (a force-push that
 * rewrote it) is refused the same way.
 *
 * Credentials: an https password or token is read from password_file at
 * each fetch (the user is `username`, else the one in the URL); ssh uses
 * ssh_key_file and ssh_pubkey_file (default: the key + ".pub" when it
 * exists), as the user in the URL, else `username`, else "git".  With
 * known_hosts_file, an ssh host key is accepted only when a line there
 * names the host (plain, [host]:port, wildcard or hashed |1| patterns) with
 * the same key, and refused when such a line is marked @revoked; without
 * it, any host key is accepted.  TLS certificates are checked by libgit2.
 *
 * Shallow fetch: libgit2 gained shallow fetches in 1.7.  Built against an
 * older libgit2 (Debian 12 ships 1.5), opts->depth is ignored and every
 * fetch brings the ref's full history; the first fetch of a large
 * repository is correspondingly slower, later ones are incremental.
 */
#include "source.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../../spec/util.h"
#include "../../spec/walk.h"

#define NC_GIT_KEEP_CHECKOUTS 3
#define NC_GIT_MAX_TREE_DEPTH 64
#define NC_GIT_STALE_TMP_SECONDS 3600
#define NC_GIT_MAX_CRED_TRIES 3
#define NC_GIT_PARTIAL_MARKER ".novacron-subdir"
/* a checkout's bounds: git compresses, so a small push can hold a blob of
 * gigabytes (zeros) that would be inflated in memory and written out */
#define NC_GIT_MAX_BLOB (256ull << 20)
#define NC_GIT_MAX_CHECKOUT (1ull << 30)

struct nc_source {
	git_repository *repo;
	git_remote *remote;
	char *url;               /* as given to libgit2 */
	char *display_url;       /* without a password, for messages */
	char *ref;
	char *subdir;            /* normalised, NULL for the root */
	char *checkouts;         /* CACHE_DIR/checkouts */
	unsigned depth;
	char *username, *password_file, *ssh_key_file, *ssh_pubkey_file;
	char *known_hosts_file, *allowed_signers;
	bool allow_rollback;
	char *state_file;        /* STATE_DIR/source-git-applied, or NULL */
	git_oid last;            /* the last applied commit, when has_last */
	bool has_last;
	/* per fetch, for the callbacks */
	unsigned cred_tries;
	char cb_err[400];
};

/* ---- libgit2 initialisation ---- */

static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static int git_init_rc;

static void git_init_once(void)
{
	git_init_rc = git_libgit2_init();
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown error";
}

/* ---- small helpers ---- */

static char *dup_or_null(const char *s)
{
	return s && *s ? nc_xstrdup(s) : NULL;
}

static int rm_cb(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
	(void)sb;
	(void)typeflag;
	(void)ftwbuf;
	return remove(fpath) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "https://user:secret@host/x" -> "https://user:***@host/x": the one redaction (spec/util.c) */
static char *redact_url(const char *url)
{
	return nc_url_redact(url);
}

/* Strips "./", leading and trailing slashes; NULL for the root; -1 if it climbs. */
static int normalize_subdir(char **out, const char *subdir)
{
	struct nc_buf b = NC_BUF_INIT;
	const char *p = subdir ? subdir : "";

	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			nc_buf_release(&b);
			return -1;
		}
		if (!(n == 1 && p[0] == '.')) {
			if (b.len)
				nc_buf_addc(&b, '/');
			nc_buf_add(&b, p, n);
		}
		p += n;
	}
	*out = b.len ? nc_buf_detach(&b, NULL) : NULL;
	nc_buf_release(&b);
	return 0;
}

static void short_id(char out[8], const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), oid);
	memcpy(out, hex, 7);
	out[7] = '\0';
}

/* ---- known_hosts ---- */

static int url_port(const char *url)
{
	const char *p = strstr(url, "://"), *end, *at, *colon;

	if (!p)
		return 22;      /* scp-like user@host:path */
	p += 3;
	end = p + strcspn(p, "/");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb)
			return 22;
		p = rb + 1;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon || colon + 1 == end)
		return 22;
	return atoi(colon + 1);
}

/* Decodes standard base64; -1 when malformed. */
static int b64_decode(unsigned char *out, size_t outsz, const char *in, size_t inlen, size_t *outlen)
{
	size_t pad = 0;
	int n;

	if (inlen == 0 || inlen % 4 || inlen / 4 * 3 > outsz || inlen > 1 << 20)
		return -1;
	if (in[inlen - 1] == '=')
		pad++;
	if (inlen > 1 && in[inlen - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)inlen);
	if (n < 0 || (size_t)n < pad)
		return -1;
	*outlen = (size_t)n - pad;
	return 0;
}

/* "|1|SALT|HASH": HMAC-SHA1 of the host name keyed with the salt. */
static bool hashed_host_matches(const char *pat, size_t len, const char *hostport)
{
	unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
	const char *s = pat + 3, *bar;
	size_t saltlen, wantlen;
	unsigned gotlen = 0;

	bar = memchr(s, '|', len - 3);
	if (!bar)
		return false;
	if (b64_decode(salt, sizeof(salt), s, (size_t)(bar - s), &saltlen) < 0 ||
	    b64_decode(want, sizeof(want), bar + 1, (size_t)(pat + len - bar - 1), &wantlen) < 0)
		return false;
	if (!HMAC(EVP_sha1(), salt, (int)saltlen, (const unsigned char *)hostport, strlen(hostport),
		  got, &gotlen))
		return false;
	return gotlen == wantlen && memcmp(got, want, wantlen) == 0;
}

/* OpenSSH's patterns: '*' and '?' only ('[' is literal, as in "[host]:port"), no case. */
static bool glob_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = ++p;
			resume = s;
		} else if (*p && (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star) {
			p = star;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

/* Does the comma-separated pattern list name the host? A matching "!pat" wins. */
static bool hosts_match(const char *field, const char *hostport)
{
	const char *p = field;
	bool hit = false;

	if (strncmp(field, "|1|", 3) == 0)
		return hashed_host_matches(field, strlen(field), hostport);
	while (*p) {
		size_t n = strcspn(p, ",");
		char *pat = nc_xstrndup(p, n);
		bool neg = pat[0] == '!';

		if (glob_match(pat + neg, hostport)) {
			if (neg) {
				free(pat);
				return false;
			}
			hit = true;
		}
		free(pat);
		p += n;
		if (*p == ',')
			p++;
	}
	return hit;
}

enum kh_result { KH_UNKNOWN_HOST, KH_MISMATCH, KH_OK, KH_REVOKED, KH_UNREADABLE };

static enum kh_result known_hosts_check(const char *file, const char *host, int port,
					const char *keyb64)
{
	char *text = NULL, *line, *save = NULL, *hostport;
	size_t len;
	enum kh_result r = KH_UNKNOWN_HOST;
	bool revoked = false;

	if (nc_read_file(file, 16u << 20, &text, &len) < 0)
		return KH_UNREADABLE;
	hostport = port == 22 ? nc_xstrdup(host) : nc_xasprintf("[%s]:%d", host, port);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { NULL }, *tok, *fsave = NULL;
		size_t nf = 0;
		const char *marker = NULL;

		for (tok = strtok_r(line, " \t\r", &fsave); tok && nf < 4;
		     tok = strtok_r(NULL, " \t\r", &fsave)) {
			if (nf == 0 && !marker && tok[0] == '@') {
				marker = tok;
				continue;
			}
			f[nf++] = tok;
		}
		if (nf < 3 || f[0][0] == '#')
			continue;
		if (marker && strcmp(marker, "@revoked") != 0)
			continue;       /* @cert-authority: certificates are not supported */
		if (!hosts_match(f[0], hostport))
			continue;
		if (strcmp(f[2], keyb64) == 0) {
			if (marker)
				revoked = true;
			else if (r != KH_OK)
				r = KH_OK;
		} else if (!marker && r == KH_UNKNOWN_HOST) {
			r = KH_MISMATCH;
		}
	}
	free(hostport);
	free(text);
	return revoked ? KH_REVOKED : r;
}

/* ---- callbacks ---- */

static int cred_cb(git_credential **out, const char *url, const char *user_from_url,
		   unsigned int allowed, void *payload)
{
	struct nc_source *s = payload;
	const char *user;

	(void)url;
	if (++s->cred_tries > NC_GIT_MAX_CRED_TRIES) {
		snprintf(s->cb_err, sizeof(s->cb_err), "authentication to %s failed",
			 s->display_url);
		return GIT_EUSER;
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && s->ssh_key_file) {
		const char *pub = s->ssh_pubkey_file;
		char *defpub = NULL;
		int rc;

		user = user_from_url ? user_from_url : s->username ? s->username : "git";
		if (!pub) {
			defpub = nc_xasprintf("%s.pub", s->ssh_key_file);
			if (access(defpub, R_OK) == 0)
				pub = defpub;
		}
		rc = git_credential_ssh_key_new(out, user, pub, s->ssh_key_file, NULL);
		free(defpub);
		return rc;
	}
	if (allowed & GIT_CREDENTIAL_USERNAME) {
		user = user_from_url ? user_from_url : s->username ? s->username : "git";
		return git_credential_username_new(out, user);
	}
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && s->password_file) {
		char *pw = NULL;
		size_t len = 0;
		int rc;

		user = s->username ? s->username : user_from_url;
		if (!user) {
			snprintf(s->cb_err, sizeof(s->cb_err),
				 "%s asks for a password: set a username", s->display_url);
			return GIT_EUSER;
		}
		if (nc_read_file(s->password_file, 64 * 1024, &pw, &len) < 0) {
			snprintf(s->cb_err, sizeof(s->cb_err), "cannot read password file %s: %s",
				 s->password_file, strerror(errno));
			return GIT_EUSER;
		}
		while (len && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
			pw[--len] = '\0';
		rc = git_credential_userpass_plaintext_new(out, user, pw);
		explicit_bzero(pw, len);
		free(pw);
		return rc;
	}
	snprintf(s->cb_err, sizeof(s->cb_err), "%s asks for credentials: set %s", s->display_url,
		 allowed & GIT_CREDENTIAL_SSH_KEY ? "ssh_key_file" : "username and password_file");
	return GIT_EUSER;
}

static const char *raw_type_name(git_cert_ssh_raw_type_t t)
{
	switch (t) {
	case GIT_CERT_SSH_RAW_TYPE_RSA: return "ssh-rsa";
	case GIT_CERT_SSH_RAW_TYPE_DSS: return "ssh-dss";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256: return "ecdsa-sha2-nistp256";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384: return "ecdsa-sha2-nistp384";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521: return "ecdsa-sha2-nistp521";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519: return "ssh-ed25519";
	default: return "unknown";
	}
}

static int cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct nc_source *s = payload;
	const git_cert_hostkey *hk;
	unsigned char *b64;
	enum kh_result r;
	int port;

	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return GIT_PASSTHROUGH;         /* TLS: libgit2's own verdict */
	(void)valid;                            /* libgit2 1.5 never trusts ssh keys itself */
	if (!s->known_hosts_file)
		return 0;
	hk = (const git_cert_hostkey *)cert;
	if (!(hk->type & GIT_CERT_SSH_RAW) || !hk->hostkey || hk->hostkey_len == 0 ||
	    hk->hostkey_len > 1 << 16) {
		snprintf(s->cb_err, sizeof(s->cb_err),
			 "host key of %s: the raw key is not available to compare with %s", host,
			 s->known_hosts_file);
		return GIT_EUSER;
	}
	b64 = nc_xmalloc(4 * ((hk->hostkey_len + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)hk->hostkey, (int)hk->hostkey_len);
	port = url_port(s->url);
	r = known_hosts_check(s->known_hosts_file, host, port, (const char *)b64);
	free(b64);
	switch (r) {
	case KH_OK:
		return 0;
	case KH_UNREADABLE:
		snprintf(s->cb_err, sizeof(s->cb_err), "cannot read known_hosts file %s: %s",
			 s->known_hosts_file, strerror(errno));
		break;
	case KH_UNKNOWN_HOST:
		snprintf(s->cb_err, sizeof(s->cb_err),
			 "host key of %s (%s) refused: the host is not in %s", host,
			 raw_type_name(hk->raw_type), s->known_hosts_file);
		break;
	case KH_MISMATCH:
		snprintf(s->cb_err, sizeof(s->cb_err),
			 "host key of %s (%s) refused: it does not match the key in %s "
			 "(changed key or man in the middle)", host, raw_type_name(hk->raw_type),
			 s->known_hosts_file);
		break;
	case KH_REVOKED:
		snprintf(s->cb_err, sizeof(s->cb_err), "host key of %s refused: revoked in %s",
			 host, s->known_hosts_file);
		break;
	}
	return GIT_EUSER;
}

/* ---- open / close ---- */

static void git_close(struct nc_source *s)
{
	if (!s)
		return;
	git_remote_free(s->remote);
	git_repository_free(s->repo);
	free(s->url);
	free(s->display_url);
	free(s->ref);
	free(s->subdir);
	free(s->checkouts);
	free(s->username);
	free(s->password_file);
	free(s->ssh_key_file);
	free(s->ssh_pubkey_file);
	free(s->known_hosts_file);
	free(s->allowed_signers);
	free(s->state_file);
	free(s);
}

/*
 * Records remote "origin" in the clone's configuration and makes an
 * in-memory remote for the URL.  Remotes are not looked up by name: libgit2
 * 1.5 leaks memory applying url.*.insteadOf rules (git_regexp_match), which
 * are not wanted here anyway.
 */
static int setup_remote(struct nc_source *s, struct nc_err *err)
{
	git_remote_create_options ro;
	git_config *cfg = NULL;
	git_buf cur = { 0 };
	int ret = -1;

	if (git_repository_config(&cfg, s->repo) < 0)
		goto fail;
	if (git_config_get_string_buf(&cur, cfg, "remote.origin.url") < 0 ||
	    strcmp(cur.ptr, s->url) != 0) {
		if (git_config_set_string(cfg, "remote.origin.url", s->url) < 0)
			goto fail;
	}
	git_buf_dispose(&cur);
	if (git_config_get_string_buf(&cur, cfg, "remote.origin.fetch") < 0 &&
	    git_config_set_string(cfg, "remote.origin.fetch",
				  "+refs/heads/*:refs/remotes/origin/*") < 0)
		goto fail;
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = s->repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&s->remote, s->url, &ro) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	nc_err_set(err, "git source %s: cannot set up the remote: %s", s->display_url, git_msg());
out:
	git_buf_dispose(&cur);
	git_config_free(cfg);
	return ret;
}

/* ---- the last applied commit ---- */

/* The URL without any user or password: what the record is kept for. */
static char *record_url(const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at, *p;

	if (!auth)
		return nc_xstrdup(url);
	auth += 3;
	end = auth + strcspn(auth, "/");
	at = NULL;
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return nc_xstrdup(url);
	return nc_xasprintf("%.*s%s", (int)(auth - url), url, at + 1);
}

/*
 * STATE_FILE holds "commit HEX\nurl URL\nref REF\n" (the URL without user or
 * password, so a changed credential keeps the record).  A record for another
 * URL or ref (the configuration changed) is ignored; a missing file is no
 * record; an unreadable or malformed one is an error (refusing is safer
 * than forgetting what was applied).
 */
static int load_applied(struct nc_source *s, struct nc_err *err)
{
	char *text = NULL, *want = NULL, *url;
	size_t len;
	int ret = -1;

	if (nc_read_file(s->state_file, 64 * 1024, &text, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		nc_err_set(err, "git source: cannot read %s: %s", s->state_file, strerror(errno));
		return -1;
	}
	url = record_url(s->url);
	want = nc_xasprintf("\nurl %s\nref %s\n", url, s->ref);
	free(url);
	if (len < 7 + GIT_OID_HEXSZ || strncmp(text, "commit ", 7) != 0 ||
	    git_oid_fromstrn(&s->last, text + 7, GIT_OID_HEXSZ) < 0) {
		nc_err_set(err, "git source: %s is malformed: remove it to forget the last "
			   "applied commit", s->state_file);
		goto out;
	}
	s->has_last = strcmp(text + 7 + GIT_OID_HEXSZ, want) == 0;
	ret = 0;
out:
	free(want);
	free(text);
	return ret;
}

static int git_applied(struct nc_source *s, const struct nc_revision *rev, struct nc_err *err)
{
	char *dir = NULL, *text = NULL, *url;
	git_oid id;
	int ret = -1;

	if (git_oid_fromstrn(&id, rev->id, GIT_OID_HEXSZ) < 0 || strlen(rev->id) != GIT_OID_HEXSZ) {
		nc_err_set(err, "git source: '%s' is not a commit id", rev->id);
		return -1;
	}
	git_oid_cpy(&s->last, &id);
	s->has_last = true;
	if (!s->state_file)
		return 0;
	dir = nc_xstrdup(s->state_file);
	*strrchr(dir, '/') = '\0';
	url = record_url(s->url);
	text = nc_xasprintf("commit %s\nurl %s\nref %s\n", rev->id, url, s->ref);
	free(url);
	if ((*dir && nc_mkdir_p(dir) < 0) ||
	    nc_write_file_atomic(s->state_file, text, strlen(text), 0600) < 0) {
		nc_err_set(err, "git source: cannot record the applied commit in %s: %s",
			   s->state_file, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(text);
	free(dir);
	return ret;
}

/*
 * Unless rollbacks are allowed: 0 when the commit is the last applied one
 * or descends from it (or nothing was applied yet), else -1 and why.
 */
static int check_descends(struct nc_source *s, const git_oid *id, const char *sid,
			  struct nc_err *err)
{
	char last[GIT_OID_HEXSZ + 1];
	int rc;

	if (s->allow_rollback || !s->has_last || git_oid_equal(id, &s->last))
		return 0;
	git_oid_tostr(last, sizeof(last), &s->last);
	rc = git_graph_descendant_of(s->repo, id, &s->last);
	if (rc == 1)
		return 0;
	nc_err_set(err, "commit %s refused: it does not descend from %.7s, the last applied "
		   "commit (%s): a rollback or rewritten history; set source.git.allowRollback: "
		   "true to accept it", sid, last,
		   rc == 0 ? "an older or unrelated commit"
			   : "that commit is no longer in the fetched history");
	return -1;
}

static int git_open(struct nc_source **out, const struct nc_source_opts *o, struct nc_err *err)
{
	struct nc_source *s = NULL;
	char *repo_path = NULL;
	int ret = -1;

	pthread_once(&git_once, git_init_once);
	if (git_init_rc < 0) {
		nc_err_set(err, "git source: cannot initialise libgit2");
		return -1;
	}
	if (!o->url || !*o->url) {
		nc_err_set(err, "git source: no URL");
		return -1;
	}
	if (!o->cache_dir || !*o->cache_dir) {
		nc_err_set(err, "git source: no cache directory");
		return -1;
	}
	s = nc_xcalloc(1, sizeof(*s));
	s->url = o->url[0] == '/' ? nc_xasprintf("file://%s", o->url) : nc_xstrdup(o->url);
	s->display_url = redact_url(s->url);
	s->ref = nc_xstrdup(o->ref && *o->ref ? o->ref : "main");
	if (normalize_subdir(&s->subdir, o->subdir) < 0) {
		nc_err_set(err, "git source %s: subdir '%s' leaves the repository", s->display_url,
			   o->subdir);
		goto out;
	}
	s->depth = o->depth;
	s->username = dup_or_null(o->username);
	s->password_file = dup_or_null(o->password_file);
	s->ssh_key_file = dup_or_null(o->ssh_key_file);
	s->ssh_pubkey_file = dup_or_null(o->ssh_pubkey_file);
	s->known_hosts_file = dup_or_null(o->known_hosts_file);
	s->allowed_signers = dup_or_null(o->allowed_signers);
	s->allow_rollback = o->allow_rollback;
	{
		/* secrets its group or others may read are refused, as ssh refuses such a key */
		const char *sec[2] = { s->password_file, s->ssh_key_file };
		const char *what[2] = { "passwordFile", "sshKeyFile" };
		unsigned mode, k;

		for (k = 0; k < 2; k++)
			if (sec[k] && nc_secret_check(sec[k], &mode) == NC_SECRET_MODE_BAD) {
				char *m = nc_secret_msg(what[k], sec[k], mode);

				nc_err_set(err, "git source %s: %s", s->display_url, m);
				free(m);
				goto out;
			}
	}
	if (o->state_dir && *o->state_dir) {
		s->state_file = nc_xasprintf("%s/source-git-applied", o->state_dir);
		if (load_applied(s, err) < 0)
			goto out;
	}
	s->checkouts = nc_xasprintf("%s/checkouts", o->cache_dir);
	if (nc_mkdir_p(s->checkouts) < 0) {
		nc_err_set(err, "git source %s: cannot create %s: %s", s->display_url, s->checkouts,
			   strerror(errno));
		goto out;
	}
	repo_path = nc_xasprintf("%s/repo.git", o->cache_dir);
	if (access(repo_path, F_OK) == 0) {
		if (git_repository_open_bare(&s->repo, repo_path) < 0) {
			nc_err_set(err, "git source %s: cannot open the local clone %s: %s",
				   s->display_url, repo_path, git_msg());
			goto out;
		}
	} else if (git_repository_init(&s->repo, repo_path, 1) < 0) {
		nc_err_set(err, "git source %s: cannot create the local clone %s: %s",
			   s->display_url, repo_path, git_msg());
		goto out;
	}
	if (setup_remote(s, err) < 0)
		goto out;
	*out = s;
	s = NULL;
	ret = 0;
out:
	free(repo_path);
	git_close(s);
	return ret;
}

/* ---- fetch ---- */

/* The remote ref for s->ref: a branch first, then a tag; NULL if neither. */
static const git_remote_head *find_head(struct nc_source *s, const git_remote_head **heads,
					size_t n, char **refspec)
{
	static const char *const prefixes[] = { "refs/heads/", "refs/tags/" };
	size_t i, j;

	if (strncmp(s->ref, "refs/", 5) == 0) {
		for (j = 0; j < n; j++)
			if (strcmp(heads[j]->name, s->ref) == 0) {
				*refspec = nc_xasprintf("+%s:%s", s->ref, s->ref);
				return heads[j];
			}
		return NULL;
	}
	for (i = 0; i < NC_ARRAY_SIZE(prefixes); i++) {
		char *name = nc_xasprintf("%s%s", prefixes[i], s->ref);

		for (j = 0; j < n; j++) {
			if (strcmp(heads[j]->name, name) != 0)
				continue;
			*refspec = i == 0 ? nc_xasprintf("+%s:refs/remotes/origin/%s", name, s->ref)
					  : nc_xasprintf("+%s:%s", name, name);
			free(name);
			return heads[j];
		}
		free(name);
	}
	return NULL;
}

static void set_fetch_err(struct nc_source *s, struct nc_err *err, const char *what)
{
	if (s->cb_err[0])
		nc_err_set(err, "git source %s: %s: %s", s->display_url, what, s->cb_err);
	else
		nc_err_set(err, "git source %s: %s: %s", s->display_url, what, git_msg());
}

/* Fetches the ref and stores its (unpeeled) object id in *oid. */
static int fetch_ref(struct nc_source *s, git_oid *oid, struct nc_err *err)
{
	git_remote_callbacks cb;
	git_proxy_options px;
	git_fetch_options fo;
	const git_remote_head **heads = NULL, *head;
	size_t nheads = 0;
	char *refspec = NULL;
	git_strarray specs;
	int ret = -1;

	s->cred_tries = 0;
	s->cb_err[0] = '\0';
	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb.credentials = cred_cb;
	cb.certificate_check = cert_cb;
	cb.payload = s;
	git_proxy_options_init(&px, GIT_PROXY_OPTIONS_VERSION);
	px.type = GIT_PROXY_AUTO;
	if (git_remote_connect(s->remote, GIT_DIRECTION_FETCH, &cb, &px, NULL) < 0) {
		set_fetch_err(s, err, "cannot connect");
		return -1;
	}
	if (git_remote_ls(&heads, &nheads, s->remote) < 0) {
		set_fetch_err(s, err, "cannot list refs");
		goto out;
	}
	head = find_head(s, heads, nheads, &refspec);
	if (!head) {
		nc_err_set(err, "git source %s: ref '%s' not found (no branch or tag of that name)",
			   s->display_url, s->ref);
		goto out;
	}
	git_oid_cpy(oid, &head->oid);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks = cb;
	fo.proxy_opts = px;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
#if LIBGIT2_VER_MAJOR > 1 || (LIBGIT2_VER_MAJOR == 1 && LIBGIT2_VER_MINOR >= 7)
	fo.depth = s->depth > (unsigned)INT32_MAX ? 0 : (int)s->depth;
#endif
	specs.strings = &refspec;
	specs.count = 1;
	if (git_remote_download(s->remote, &specs, &fo) < 0) {
		char *what = nc_xasprintf("cannot fetch '%s'", s->ref);

		set_fetch_err(s, err, what);
		free(what);
		goto out;
	}
	if (git_remote_update_tips(s->remote, &cb, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, NULL) < 0) {
		set_fetch_err(s, err, "cannot update local refs");
		goto out;
	}
	ret = 0;
out:
	git_remote_disconnect(s->remote);
	free(refspec);
	return ret;
}

static int verify_signature(struct nc_source *s, const git_oid *oid, const char *sid,
			    char **signer, struct nc_err *err)
{
	git_buf sig = { 0 }, data = { 0 };
	struct nc_err verr = { "" };
	char *principal = NULL;
	git_oid id;
	int rc, ret = -1;

	git_oid_cpy(&id, oid);
	rc = git_commit_extract_signature(&sig, &data, s->repo, &id, "gpgsig");
	if (rc == GIT_ENOTFOUND) {
		nc_err_set(err, "commit %s refused: signature refused: the commit is not signed "
			   "(allowedSigners is set)", sid);
		goto out;
	}
	if (rc < 0) {
		nc_err_set(err, "commit %s refused: signature refused: cannot read it: %s", sid,
			   git_msg());
		goto out;
	}
	if (!strstr(sig.ptr, "-----BEGIN SSH SIGNATURE-----")) {
		nc_err_set(err, "commit %s refused: signature refused: not an SSH signature "
			   "(sign with gpg.format=ssh)", sid);
		goto out;
	}
	if (nc_sshsig_verify(sig.ptr, data.ptr, data.size, s->allowed_signers, "git", &principal,
			     &verr) < 0) {
		nc_err_set(err, "commit %s refused: signature refused: %s", sid,
			   verr.msg[0] ? verr.msg : "bad signature");
		goto out;
	}
	*signer = principal;
	ret = 0;
out:
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return ret;
}

/* A tree entry name that is safe to create in a directory. */
static bool safe_name(const char *name)
{
	return *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') &&
	       strcmp(name, ".git") != 0;
}

/* A symlink target that stays inside the repository from directory depth `depth`. */
static bool link_stays_inside(const char *target, int depth)
{
	const char *p = target;

	if (*p == '/' || !*p)
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (n && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	return true;
}

struct tree_writer {
	struct nc_source *s;
	const char *sid;
	struct nc_err *err;
	bool refused;            /* a link leads out, or a blob is too large: the commit is refused */
	git_odb *odb;            /* for a blob's size before it is read */
	uint64_t total;          /* bytes of the blobs written so far */
};

/* Writes tree into the directory dirfd; rel is its path in the repository. */
static int write_tree(struct tree_writer *w, git_tree *tree, int dirfd, const char *rel,
		      int depth)
{
	size_t i, n = git_tree_entrycount(tree);
	int ret = -1;

	if (depth > NC_GIT_MAX_TREE_DEPTH) {
		nc_err_set(w->err, "commit %s: directories nested deeper than %d levels", w->sid,
			   NC_GIT_MAX_TREE_DEPTH);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		char *path = nc_xasprintf("%s%s%s", rel, *rel ? "/" : "", name);
		git_tree *sub = NULL;
		git_blob *blob = NULL;
		git_object_t type;
		size_t size = 0;
		int fd = -1, rc = -1;

		if (!safe_name(name)) {
			nc_err_set(w->err, "commit %s: refusing to write the path '%s'", w->sid, path);
			goto next;
		}
		switch (mode) {
		case GIT_FILEMODE_TREE:
			if (mkdirat(dirfd, name, 0755) < 0 ||
			    (fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC)) < 0) {
				nc_err_set(w->err, "cannot create directory %s: %s", path,
					   strerror(errno));
				goto next;
			}
			if (git_tree_lookup(&sub, w->s->repo, git_tree_entry_id(e)) < 0) {
				nc_err_set(w->err, "commit %s: cannot read tree %s: %s", w->sid, path,
					   git_msg());
				goto next;
			}
			rc = write_tree(w, sub, fd, path, depth + 1);
			break;
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
		case GIT_FILEMODE_LINK:
			if (git_odb_read_header(&size, &type, w->odb, git_tree_entry_id(e)) == 0 &&
			    ((uint64_t)size > NC_GIT_MAX_BLOB || (w->total += size) > NC_GIT_MAX_CHECKOUT)) {
				nc_err_set(w->err, "commit %s refused: %s %s", w->sid, path,
					   (uint64_t)size > NC_GIT_MAX_BLOB ? "is over 256 MiB" :
					   "takes the checkout over 1 GiB");
				w->refused = true;
				goto next;
			}
			if (git_blob_lookup(&blob, w->s->repo, git_tree_entry_id(e)) < 0) {
				nc_err_set(w->err, "commit %s: cannot read %s: %s", w->sid, path,
					   git_msg());
				goto next;
			}
			if (mode == GIT_FILEMODE_LINK) {
				char *target = nc_xstrndup(git_blob_rawcontent(blob),
							   (size_t)git_blob_rawsize(blob));

				if (strlen(target) != (size_t)git_blob_rawsize(blob) ||
				    !link_stays_inside(target, depth)) {
					nc_err_set(w->err,
						   "commit %s refused: symbolic link %s points outside "
						   "the repository", w->sid, path);
					w->refused = true;
					free(target);
					goto next;
				}
				rc = symlinkat(target, dirfd, name);
				free(target);
				if (rc < 0)
					nc_err_set(w->err, "cannot create %s: %s", path,
						   strerror(errno));
				break;
			}
			fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
			if (fd < 0 || nc_write_all(fd, git_blob_rawcontent(blob),
						(size_t)git_blob_rawsize(blob)) < 0) {
				nc_err_set(w->err, "cannot write %s: %s", path, strerror(errno));
				goto next;
			}
			rc = close(fd);
			fd = -1;
			if (rc < 0)
				nc_err_set(w->err, "cannot write %s: %s", path, strerror(errno));
			break;
		case GIT_FILEMODE_COMMIT:       /* submodule: not fetched */
			rc = mkdirat(dirfd, name, 0755);
			if (rc < 0)
				nc_err_set(w->err, "cannot create directory %s: %s", path,
					   strerror(errno));
			break;
		default:
			nc_err_set(w->err, "commit %s: %s has an unknown mode %o", w->sid, path,
				   (unsigned)mode);
			break;
		}
next:
		if (fd >= 0)
			close(fd);
		git_tree_free(sub);
		git_blob_free(blob);
		free(path);
		if (rc < 0)
			goto out;
	}
	ret = 0;
out:
	return ret;
}

/* Writes the commit's tree (or subdir) into a fresh directory tmp. */
static int write_checkout(struct nc_source *s, git_commit *commit, const char *sid,
			  const char *tmp, struct nc_err *err)
{
	struct tree_writer w = { s, sid, err, false, NULL, 0 };
	git_tree *root = NULL, *tree = NULL;
	git_tree_entry *entry = NULL;
	char *dir = NULL;
	int fd = -1, depth = 0, ret = -1;

	if (git_commit_tree(&root, commit) < 0) {
		nc_err_set(err, "commit %s: cannot read its tree: %s", sid, git_msg());
		goto out;
	}
	if (s->subdir) {
		const char *p;

		if (git_tree_entry_bypath(&entry, root, s->subdir) < 0) {
			nc_err_set(err, "subdir '%s' not found in commit %s", s->subdir, sid);
			goto out;
		}
		if (git_tree_entry_type(entry) != GIT_OBJECT_TREE) {
			nc_err_set(err, "subdir '%s' in commit %s is not a directory", s->subdir, sid);
			goto out;
		}
		if (git_tree_lookup(&tree, s->repo, git_tree_entry_id(entry)) < 0) {
			nc_err_set(err, "commit %s: cannot read %s: %s", sid, s->subdir, git_msg());
			goto out;
		}
		for (p = s->subdir; *p; p++)
			depth += *p == '/';
		depth++;
	}
	dir = s->subdir ? nc_xasprintf("%s/%s", tmp, s->subdir) : nc_xstrdup(tmp);
	if (nc_mkdir_p(dir) < 0 ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		nc_err_set(err, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	if (git_repository_odb(&w.odb, s->repo) < 0) {
		nc_err_set(err, "commit %s: cannot open the object database: %s", sid, git_msg());
		goto out;
	}
	if (write_tree(&w, tree ? tree : root, fd, s->subdir ? s->subdir : "", depth) < 0) {
		if (w.refused)
			ret = NC_SOURCE_EREFUSED;
		goto out;
	}
	if (s->subdir) {
		/* outside the spec directory: says the checkout is partial */
		char *marker = nc_xasprintf("%s/" NC_GIT_PARTIAL_MARKER, tmp);
		int mfd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (mfd < 0 || nc_write_all(mfd, s->subdir, strlen(s->subdir)) < 0 ||
		    close(mfd) < 0) {
			nc_err_set(err, "cannot write %s: %s", marker, strerror(errno));
			if (mfd >= 0)
				close(mfd);
			free(marker);
			goto out;
		}
		free(marker);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	git_odb_free(w.odb);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_tree_free(root);
	return ret;
}

/*
 * Resolves every symbolic link under dir (rel: its path in the spec
 * directory, for messages) and refuses the first one that lands outside
 * rroot, the resolved spec directory.  Dangling links and loops stay (the
 * loader warns about them).  0, NC_SOURCE_EREFUSED, or -1 on a read error.
 */
static int check_links(const char *rroot, const char *dir, const char *rel, const char *sid,
		       int depth, struct nc_err *err)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (depth > NC_GIT_MAX_TREE_DEPTH)
		return 0;       /* write_tree refused deeper trees */
	d = opendir(dir);
	if (!d) {
		nc_err_set(err, "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	while (ret == 0 && (de = readdir(d))) {
		char *path, *sub, *real;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = nc_xasprintf("%s/%s", dir, de->d_name);
		sub = nc_xasprintf("%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (lstat(path, &st) < 0) {
			/* removed meanwhile: nothing to check */
		} else if (S_ISDIR(st.st_mode)) {
			ret = check_links(rroot, path, sub, sid, depth + 1, err);
		} else if (S_ISLNK(st.st_mode) && (real = realpath(path, NULL))) {
			if (!nc_walk_inside(rroot, real)) {
				char target[256] = "?";
				ssize_t n = readlink(path, target, sizeof(target) - 1);

				target[n > 0 ? n : 1] = '\0';
				nc_err_set(err, "commit %s refused: symbolic link %s (to '%s') leads "
					   "outside the checkout", sid, sub, target);
				ret = NC_SOURCE_EREFUSED;
			}
			free(real);
		}
		free(sub);
		free(path);
	}
	closedir(d);
	return ret;
}

/* check_links() over the spec directory dir. */
static int confine_links(const char *dir, const char *sid, struct nc_err *err)
{
	char *rroot = realpath(dir, NULL);
	int ret;

	if (!rroot) {
		nc_err_set(err, "cannot resolve %s: %s", dir, strerror(errno));
		return -1;
	}
	ret = check_links(rroot, dir, "", sid, 0, err);
	free(rroot);
	return ret;
}

struct checkout_ent {
	char *name;
	struct timespec mtime;
};

static int cmp_newest_first(const void *a, const void *b)
{
	const struct checkout_ent *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Keeps the current checkout and the newest others, up to NC_GIT_KEEP_CHECKOUTS. */
static void prune_checkouts(struct nc_source *s, const char *current)
{
	struct checkout_ent *v = NULL;
	size_t n = 0, alloc = 0, i, kept = 1;
	struct dirent *de;
	DIR *d = opendir(s->checkouts);
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		char *path;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, current) == 0)
			continue;
		path = nc_xasprintf("%s/%s", s->checkouts, de->d_name);
		if (lstat(path, &st) < 0) {
			free(path);
			continue;
		}
		if (de->d_name[0] == '.') {
			/* a temporary directory left by a crash (or in use: leave recent ones) */
			if (strncmp(de->d_name, ".tmp-", 5) == 0 &&
			    now - st.st_mtim.tv_sec > NC_GIT_STALE_TMP_SECONDS)
				rm_rf(path);
			free(path);
			continue;
		}
		free(path);
		if (!S_ISDIR(st.st_mode))
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			v = nc_xreallocarray(v, alloc, sizeof(*v));
		}
		v[n].name = nc_xstrdup(de->d_name);
		v[n].mtime = st.st_mtim;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_newest_first);
	for (i = 0; i < n; i++) {
		if (kept < NC_GIT_KEEP_CHECKOUTS) {
			kept++;
		} else {
			char *path = nc_xasprintf("%s/%s", s->checkouts, v[i].name);

			rm_rf(path);    /* best effort: retried on the next fetch */
			free(path);
		}
		free(v[i].name);
	}
	free(v);
}

/*
 * A checkout of the whole tree has no marker; one of a subdir only has
 * NC_GIT_PARTIAL_MARKER at its top (outside the spec directory).  Either
 * serves a subdir that it contains.
 */
static bool complete_checkout(struct nc_source *s, const char *final, const char *want)
{
	char *marker;
	bool ok;

	if (s->subdir)
		return is_dir(want);
	if (!is_dir(final))
		return false;
	marker = nc_xasprintf("%s/" NC_GIT_PARTIAL_MARKER, final);
	ok = access(marker, F_OK) < 0 && errno == ENOENT;
	free(marker);
	return ok;
}

/* Makes CHECKOUTS/HEX hold the commit; *out = the spec directory in it. */
static int ensure_checkout(struct nc_source *s, git_commit *commit, const char *hex,
			   const char *sid, char **out, struct nc_err *err)
{
	char *final = nc_xasprintf("%s/%s", s->checkouts, hex);
	char *want = s->subdir ? nc_xasprintf("%s/%s", final, s->subdir) : nc_xstrdup(final);
	char *tmp = NULL;
	int ret = -1;

	if (complete_checkout(s, final, want)) {
		/* checked again: it may predate the check */
		ret = confine_links(want, sid, err);
		if (ret < 0) {
			if (ret == NC_SOURCE_EREFUSED)
				rm_rf(final);
			goto out;
		}
		utimensat(AT_FDCWD, final, NULL, 0);   /* counts as new for pruning */
		goto done;
	}
	/* missing, or checked out earlier with another subdir: rebuild */
	if (rm_rf(final) < 0) {
		nc_err_set(err, "cannot remove the stale checkout %s: %s", final, strerror(errno));
		goto out;
	}
	tmp = nc_xasprintf("%s/.tmp-%s-%ld", s->checkouts, hex, (long)getpid());
	if (rm_rf(tmp) < 0 || mkdir(tmp, 0755) < 0) {
		nc_err_set(err, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	ret = write_checkout(s, commit, sid, tmp, err);
	if (ret == 0) {
		char *spec = s->subdir ? nc_xasprintf("%s/%s", tmp, s->subdir) : nc_xstrdup(tmp);

		ret = confine_links(spec, sid, err);
		free(spec);
	}
	if (ret < 0)
		goto out;
	ret = -1;
	if (rename(tmp, final) < 0) {
		if ((errno == EEXIST || errno == ENOTEMPTY) && is_dir(want))
			goto done;  /* another process won the race with the same content */
		nc_err_set(err, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
		goto out;
	}
done:
	*out = want;
	want = NULL;
	ret = 0;
out:
	if (tmp)
		rm_rf(tmp);     /* no-op after a successful rename */
	free(tmp);
	free(want);
	free(final);
	return ret;
}

static int git_fetch(struct nc_source *s, struct nc_revision *out, struct nc_err *err)
{
	git_object *obj = NULL, *peeled = NULL;
	git_commit *commit;
	const git_signature *author;
	const char *subject;
	char hex[GIT_OID_HEXSZ + 1], sid[8];
	char *path = NULL, *signer = NULL;
	git_oid oid;
	int ret = -1, rc = 0;

	if (fetch_ref(s, &oid, err) < 0)
		return -1;
	if (git_object_lookup(&obj, s->repo, &oid, GIT_OBJECT_ANY) < 0 ||
	    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		nc_err_set(err, "git source %s: ref '%s' does not name a commit: %s",
			   s->display_url, s->ref, git_msg());
		goto out;
	}
	commit = (git_commit *)peeled;
	git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
	short_id(sid, git_commit_id(commit));
	if ((s->allowed_signers &&
	     verify_signature(s, git_commit_id(commit), sid, &signer, err) < 0) ||
	    check_descends(s, git_commit_id(commit), sid, err) < 0) {
		rc = NC_SOURCE_EREFUSED;
		goto refused;
	}
	rc = ensure_checkout(s, commit, hex, sid, &path, err);
	if (rc == NC_SOURCE_EREFUSED)
		goto refused;
	if (rc < 0)
		goto out;
	prune_checkouts(s, hex);
refused:
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", hex);
	out->path = path;
	path = NULL;
	subject = git_commit_summary(commit);
	author = git_commit_author(commit);
	out->summary = nc_xasprintf("%s %s (%s)", sid, subject ? subject : "",
				    author && author->name ? author->name : "unknown");
	out->signed_ok = signer != NULL;
	out->signer = signer;
	signer = NULL;
	ret = rc == NC_SOURCE_EREFUSED ? rc : 0;
out:
	free(signer);
	free(path);
	git_object_free(peeled);
	git_object_free(obj);
	return ret;
}

/* The repository is polled: waiting is sleeping. */
static int git_wait(struct nc_source *s, unsigned timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };

	(void)s;
	nanosleep(&ts, NULL);   /* EINTR: return early */
	return 0;
}

const struct nc_source_driver nc_source_git = {
	.name = "git",
	.open = git_open,
	.fetch = git_fetch,
	.wait = git_wait,
	.applied = git_applied,
	.close = git_close,
};

/* ---- one revision of a local repository, for `novacron diff` ---- */

int nc_git_workdir(char **out, const char *path, struct nc_err *err)
{
	git_buf found = { 0 };
	git_repository *repo = NULL;
	const char *wd;
	int ret = -1;

	pthread_once(&git_once, git_init_once);
	if (git_init_rc < 0) {
		nc_err_set(err, "cannot initialise libgit2: %s", git_msg());
		return -1;
	}
	if (git_repository_discover(&found, path, 0, NULL) < 0 || git_repository_open(&repo, found.ptr) < 0) {
		nc_err_set(err, "%s is not inside a git repository (pass --repo DIR)", path);
		goto out;
	}
	if (!(wd = git_repository_workdir(repo))) {
		nc_err_set(err, "the repository at %s is bare: it has no working tree (name two revisions)",
			   found.ptr);
		goto out;
	}
	*out = nc_xstrdup(wd);
	ret = 0;
out:
	git_repository_free(repo);
	git_buf_dispose(&found);
	return ret;
}

int nc_git_export(const char *repo_dir, const char *rev, const char *subdir, const char *dir,
		  char sha[41], struct nc_err *err)
{
	struct nc_source s;
	git_object *obj = NULL;
	git_commit *commit = NULL;
	char hex[GIT_OID_HEXSZ + 1], sid[8];
	int ret = -1;

	memset(&s, 0, sizeof(s));
	pthread_once(&git_once, git_init_once);
	if (git_init_rc < 0) {
		nc_err_set(err, "cannot initialise libgit2: %s", git_msg());
		return -1;
	}
	if (normalize_subdir(&s.subdir, subdir) < 0) {
		nc_err_set(err, "--path '%s' climbs out of the repository", subdir);
		return -1;
	}
	if (git_repository_open_ext(&s.repo, repo_dir, 0, NULL) < 0) {
		nc_err_set(err, "%s: not a git repository: %s", repo_dir, git_msg());
		goto out;
	}
	if (!*rev || rev[0] == '-' || git_revparse_single(&obj, s.repo, rev) < 0 ||
	    git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		nc_err_set(err, "unknown revision '%s' in %s", rev, repo_dir);
		goto out;
	}
	git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
	short_id(sid, git_commit_id(commit));
	if ((ret = write_checkout(&s, commit, sid, dir, err)) < 0)
		goto out;
	if ((ret = confine_links(dir, sid, err)) < 0)
		goto out;
	memcpy(sha, hex, 41);
out:
	git_commit_free(commit);
	git_object_free(obj);
	git_repository_free(s.repo);
	free(s.subdir);
	return ret;
}
