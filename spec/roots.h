/*
 * roots.h - where the local file paths a spec names may point.
 *
 * The spec is untrusted (it comes from pull requests), so a path it names
 * is accepted only inside the roots the operator configures in the trusted
 * configuration (the `paths:` section of serve.yaml and of the CLI's
 * --config FILE), one list per kind of file:
 *
 *   secrets  encryption.keyFile, target.credentialsFile,  /etc/novacron
 *            StoragePool rbd.keyFile
 *   ceph     StoragePool rbd.cephConf, target.cephConf    /etc/ceph
 *   pools    StoragePool path (dir pools)                 /var/lib/libvirt/images,
 *                                                         /var/lib/novacron/pools
 *   images   a disk's image given as an absolute path,    /var/lib/libvirt/images,
 *            and an Image's source.file (a file name,     /var/lib/novacron/images
 *            looked up in these roots in order)
 *   backups  BackupSchedule target.path (dir targets)     /var/backups/novacron
 *   boot     boot.kernel and boot.initrd                  /var/lib/libvirt/boot,
 *                                                         /var/lib/novacron/boot
 *
 * (the right-hand column is the default when the configuration does not
 * name that kind; an empty list allows nothing).  An Image's source.file
 * that is in none of the images roots is an error here too, at its
 * position.
 *
 * A path and every root are resolved the same way: lexically (no "..", "."
 * and "//" dropped), then the longest prefix that exists here is resolved
 * with all its symlinks, and the rest is appended as written; a symlink that
 * does not resolve (dangling or looping) is refused, so a file created later
 * cannot land outside.  The resolved path must equal a resolved root or lie
 * below it.  A secrets file that exists must also be private to its owner
 * (nc_secret_check(), spec/util.h): no group or other permission bits.  Pools, images and boot files live on the hosts: for a remote
 * host the resolution here is lexical plus whatever exists on this machine.
 *
 * `validate` judges the spec alone (absolute paths, no ".." component, no
 * control character: NC_CHK_ABS_PATH); every command that acts (plan,
 * apply, backup, restore, serve) calls nc_spec_check_paths() right after
 * loading the spec, before any host is contacted or any file is opened.
 */
#ifndef NC_ROOTS_H
#define NC_ROOTS_H

#include <stdbool.h>

#include "model.h"
#include "schema.h"

enum nc_root_kind {
	NC_ROOT_SECRETS,
	NC_ROOT_CEPH,
	NC_ROOT_POOLS,
	NC_ROOT_IMAGES,
	NC_ROOT_BACKUPS,
	NC_ROOT_BOOT,
	NC_ROOT__COUNT
};
/* "secrets", "pools", ...: the key under `paths:` */
const char *nc_root_kind_name(enum nc_root_kind k);

/* The `paths:` section of a configuration file, as loaded (nc_config_load). */
struct nc_paths_config {
	struct nc_pos pos;
	struct nc_strlist secrets, ceph, pools, images, backups, boot;
};
/* Its schema, for a configuration's field table:
 *   F("paths", NC_F_STRUCT, struct cfg, paths, .sub = &nc_schema_paths, .doc = ...) */
extern const struct nc_schema nc_schema_paths;

/* The roots in force, resolved. */
struct nc_path_roots {
	char **v[NC_ROOT__COUNT];     /* resolved roots of each kind */
	size_t n[NC_ROOT__COUNT];
	char *shown[NC_ROOT__COUNT];  /* the roots as written, for messages */
	bool dflt[NC_ROOT__COUNT];    /* the kind uses the built-in defaults */
	char *source;                 /* the configuration file, NULL: none */
	/* An Image's source.file must be in an images root (plan, apply, serve: the
	 * commands that read it); false (validate, the default): only checked when there */
	bool image_files_needed;
};

/*
 * Fills *out from cfg (NULL: no configuration) and the defaults for every
 * kind cfg does not name; source is the configuration file's name for
 * messages (NULL when there is none).  Release with nc_path_roots_release().
 */
void nc_path_roots_init(struct nc_path_roots *out, const struct nc_paths_config *cfg,
			const char *source);
void nc_path_roots_release(struct nc_path_roots *r);

/*
 * Resolves an absolute path as described above into *out (malloc'd).
 * Returns 0, or -1 with *why (static text) when it cannot be resolved: not
 * absolute, a ".." component, or a symlink that does not resolve.
 */
int nc_path_resolve(char **out, const char *path, const char **why);
/* True when the resolved path p is r or lies below it (both resolved). */
bool nc_path_within(const char *p, const char *r);

/*
 * Checks every local path of spec against roots: an error at the value's
 * position for each one outside (or that cannot be resolved).  Returns 0
 * when all are inside, -1 otherwise.  Touches nothing but lstat/realpath.
 */
int nc_spec_check_paths(const struct nc_spec *spec, const struct nc_path_roots *roots,
			struct nc_diags *diags);

#endif
