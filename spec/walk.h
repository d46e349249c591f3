/*
 * walk.h - the one function that lists the YAML files of a spec directory,
 * used by the spec loader (`novacron validate DIR`, plan, apply, and serve
 * on every revision) and by serve's directory source (its revision id).
 *
 * The directory is walked recursively; entries whose name starts with '.'
 * are skipped (.git, editors' files), and so are directories nested deeper
 * than NC_WALK_MAX_DEPTH (an error).  Files named *.yaml or *.yml are
 * listed.  The directory is untrusted content (a checkout of a pull
 * request), so symbolic links are confined to it:
 *
 *  - every symbolic link is resolved completely (all links, at every level,
 *    as realpath(3) does) and compared with the resolved root;
 *  - a link named *.yaml / *.yml, or one that resolves to a directory, that
 *    lands outside the root is an error at the link's path: its file is
 *    never read;
 *  - a link that resolves inside the root to a YAML file is listed under
 *    the link's own path; one to a directory is not followed (the files
 *    there are listed from their real place, once);
 *  - a dangling link, a loop, or a link that cannot be resolved is a
 *    warning at its path, not a silent skip;
 *  - links with other names that resolve to files are ignored (never read).
 *
 * The listed paths are the root as given joined with the relative path, in
 * no particular order (callers sort).  Diagnostics go into the caller's list.
 */
#ifndef NC_WALK_H
#define NC_WALK_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define NC_WALK_MAX_DEPTH 32

struct nc_file_list {
	char **v;               /* root + "/" + relative path, owned */
	size_t n, alloc;
};

/*
 * Appends the YAML files under root to *out.  Returns 0, or -1 when an
 * error was added to diags (the files found are still listed).
 */
int nc_walk_yaml(struct nc_file_list *out, const char *root, struct nc_diags *diags);
void nc_file_list_release(struct nc_file_list *fl);

/* True when the resolved path `real` is resolved_root or lies below it. */
bool nc_walk_inside(const char *resolved_root, const char *real);

#endif
