/*
 * source.h - where `novacron serve` gets the desired state: a git repository
 * (drivers/source-git.c, libgit2) or a local directory watched with inotify
 * (drivers/source-dir.c), behind one vtable.
 *
 * A source produces revisions: a directory holding the spec as of one
 * commit (git) or one moment (directory), and an id for it (the commit's
 * SHA-1 hex, or "dir:" + SHA-256 of the tree's paths and contents).  The
 * core never includes libgit2 headers.
 *
 * Credentials come from files named in the serve configuration, never from
 * the spec.  Every call returns 0 or a negative code and fills *err.
 */
#ifndef NC_SOURCE_H
#define NC_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "driver.h"

struct nc_source_opts {
	const char *url;              /* git: file://, https://, ssh:// (or a plain path); dir: the path */
	const char *ref;              /* git: branch or tag name (default "main") */
	const char *subdir;           /* the spec's folder inside the repository (default: root) */
	const char *cache_dir;        /* git: where the local clone and checkouts live */
	unsigned depth;               /* git: shallow fetch depth (0: full) */
	const char *username;         /* https basic auth user */
	const char *password_file;    /* https: file holding the password or token */
	const char *ssh_key_file;     /* ssh: private key */
	const char *ssh_pubkey_file;  /* ssh: public key (default: key + ".pub") */
	const char *known_hosts_file; /* ssh: accept only these host keys (default: any, logged) */
	const char *allowed_signers;  /* git: verify commit signatures against this file (ssh
					 allowed_signers format); NULL: no verification */
	unsigned debounce_ms;         /* dir: quiet time after the last change (default 200) */
};

struct nc_revision {
	char id[80];                  /* commit SHA-1 hex, or "dir:<sha256>" */
	char *path;                   /* directory to load the spec from (owned) */
	char *summary;                /* one line: commit subject and author, or the path */
	bool signed_ok;               /* signature verified (false when not required) */
	char *signer;                 /* principal of the verified signature, or NULL */
};
void nc_revision_release(struct nc_revision *r);

struct nc_source;

struct nc_source_driver {
	const char *name;             /* "git" or "dir" */
	int (*open)(struct nc_source **out, const struct nc_source_opts *opts, struct nc_err *err);
	/*
	 * Fetches (git) or reads (dir) the newest state.  Fills *out (caller
	 * releases).  A git commit whose signature does not verify while
	 * allowed_signers is set is refused: -1 and an error that names it.
	 */
	int (*fetch)(struct nc_source *src, struct nc_revision *out, struct nc_err *err);
	/*
	 * Waits up to timeout_ms for a sign of change: 1 when there is one
	 * (dir: a debounced inotify event), 0 on timeout.  git returns 0
	 * after the timeout (it is polled).  May return early on EINTR with 0.
	 */
	int (*wait)(struct nc_source *src, unsigned timeout_ms);
	void (*close)(struct nc_source *src);
};

extern const struct nc_source_driver nc_source_git;
extern const struct nc_source_driver nc_source_dir;

/*
 * SSH signatures (drivers/sshsig.c, OpenSSL): verifies an armored
 * "-----BEGIN SSH SIGNATURE-----" signature over data with namespace "git"
 * against an allowed_signers file (lines "PRINCIPAL KEYTYPE BASE64KEY"; ed25519
 * and rsa keys).  0 and *principal (caller frees) when a listed key made it.
 */
int nc_sshsig_verify(const char *armored, const void *data, size_t len,
		     const char *allowed_signers_file, const char *namespace_,
		     char **principal, struct nc_err *err);

#endif
