/*
 * source.h - where `novacron serve` gets the desired state: a git repository
 * (drivers/source/git.c, libgit2) or a local directory watched with inotify
 * (drivers/source/dir.c), behind one vtable.
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

#include "../driver.h"

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
	const char *state_dir;        /* git: where the last applied commit is kept (NULL: in
					 memory only) */
	bool allow_rollback;          /* git: take a commit that does not descend from the last
					 applied one (default: refuse it) */
};

/*
 * fetch() returns this when it got a revision but refuses it: a signature
 * that does not verify, a symbolic link that leads out of the checkout, a
 * commit that does not descend from the last applied one.  *out is then
 * filled (id, summary, signer) with path NULL, and the caller releases it;
 * err says what was refused and why.  Serve reports it as `invalid`.
 */
#define NC_SOURCE_EREFUSED (-2)

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
	 * releases).  -1 when it could not be fetched (out untouched);
	 * NC_SOURCE_EREFUSED when it was fetched and refused (see above).
	 * Every file in the returned checkout resolves inside it.
	 */
	int (*fetch)(struct nc_source *src, struct nc_revision *out, struct nc_err *err);
	/*
	 * Optional (NULL for dir): the caller put rev in force.  git keeps its
	 * commit (in state_dir/source-git-applied, 0600) as the one later
	 * fetches must descend from.
	 */
	int (*applied)(struct nc_source *src, const struct nc_revision *rev, struct nc_err *err);
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
 * One revision of a local repository (`novacron diff`): nc_git_workdir()
 * finds the working tree of the repository containing path (*out, caller
 * frees).  nc_git_export() writes the tree of rev (a SHA, branch, tag,
 * HEAD~1: anything git rev-parse takes, peeled to a commit), or only its
 * subdir at its place, into dir (which must exist and be empty), with the
 * symbolic-link rules of fetch(); sha gets the commit's hex id.  0, -1, or
 * NC_SOURCE_EREFUSED for a link that leads out.
 */
int nc_git_workdir(char **out, const char *path, struct nc_err *err);
int nc_git_export(const char *repo_dir, const char *rev, const char *subdir, const char *dir,
		  char sha[41], struct nc_err *err);

/*
 * SSH signatures (drivers/source/sshsig.c, OpenSSL): verifies an armored
 * "-----BEGIN SSH SIGNATURE-----" signature over data with namespace "git"
 * against an allowed_signers file (lines "PRINCIPAL KEYTYPE BASE64KEY"; ed25519
 * and rsa keys).  0 and *principal (caller frees) when a listed key made it.
 */
int nc_sshsig_verify(const char *armored, const void *data, size_t len,
		     const char *allowed_signers_file, const char *namespace_,
		     char **principal, struct nc_err *err);

#endif
