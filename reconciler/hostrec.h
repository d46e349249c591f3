/*
 * hostrec.h - the record of the hosts NovaCron has seen: STATE_DIR/hosts.json.
 *
 * Invariant 8 (docs/development.md): a host that leaves the spec is not an empty host.
 * Libvirt stays the source of truth for domains; this record only remembers
 * which hosts exist, so that a host whose Host document was removed is still
 * observed (by the URI it was last declared with) and its managed domains
 * still block creates of the same VMs elsewhere.  For each host it holds:
 *
 *   name   the Host's name as last declared;
 *   uri    its uri as last declared (it passed the spec's URI check then);
 *   vms    the managed VMs last seen on it, plus those an apply put there
 *          (a superset is safe: it only blocks more).
 *
 *   {"format_version": 1, "hosts": [
 *     {"name": "kvm1", "uri": "sim:///kvm1", "vms": ["cache-1", "web-2"]}]}
 *
 * Who writes it: `apply` and `serve`, after each pass (also when nothing was
 * applied: the observation is still news).  `plan` only reads it: plan runs
 * on untrusted pull requests in CI, and a spec that is not merged must not
 * add hosts that later passes would contact.  `decommission HOST` removes a
 * host, once it is empty (or with --force).  A host stays in the record
 * until it is decommissioned; a recorded host that is no longer declared and
 * whose URI a declared host now uses was renamed, and is dropped.  A host
 * declared at a new URI keeps its old one here while managed VMs recorded
 * there are found on no host (a pending move, struct nc_host_view in
 * pass.h): they may still run at the old address.
 *
 * The file is written to a temporary file and renamed (mode 0600), under an
 * flock on STATE_DIR/hosts.lock so two writers never lose each other's
 * hosts; it is parsed with the project's YAML loader (JSON is YAML).  A
 * missing file is an empty record; an unreadable or malformed one is an
 * error (a pass that cannot know which hosts left must not create VMs).
 */
#ifndef NC_HOSTREC_H
#define NC_HOSTREC_H

#include <stdbool.h>
#include <stddef.h>

#include "pass.h"

#define NC_HOSTREC_FILE "hosts.json"

struct nc_hostrec_host {
	char *name;
	char *uri;
	char **vms;          /* sorted, unique */
	size_t nvms;
};

struct nc_hostrec {
	struct nc_hostrec_host *hosts;   /* sorted by name */
	size_t nhosts;
};

/* Reads STATE_DIR/hosts.json into *out (empty when the file does not exist). */
int nc_hostrec_load(struct nc_hostrec *out, const char *state_dir, struct nc_err *err);
/* Writes it (temporary file, fsync, rename; mode 0600). */
int nc_hostrec_save(const struct nc_hostrec *r, const char *state_dir, struct nc_err *err);
void nc_hostrec_release(struct nc_hostrec *r);

const struct nc_hostrec_host *nc_hostrec_find(const struct nc_hostrec *r, const char *name);
/* Removes a host; false when it was not recorded. */
bool nc_hostrec_forget(struct nc_hostrec *r, const char *name);

/*
 * Brings the record up to date with a pass: every declared host gets its
 * declared URI and, when it was read, the managed VMs observed on it plus
 * those that the applied plan (NULL: nothing applied) creates or migrates
 * there; an undeclared host that was read gets the managed VMs observed on
 * it; one that could not be read keeps what was recorded.
 */
void nc_hostrec_update(struct nc_hostrec *r, const struct nc_spec *spec, const struct nc_cluster *c,
		       const struct nc_plan *applied);

/* An exclusive lock on STATE_DIR/NAME (made 0600 when missing): its fd, or -1 with *err set. */
int nc_state_lock(const char *state_dir, const char *name, struct nc_err *err);
/*
 * STATE_DIR/apply.lock, held by each pass that may change the cluster
 * (novacron apply, a serve pass that applies) from before it observes until
 * its records are written: two passes at once would each plan from a
 * cluster the other is changing (docs/ha.md: a VM of a failed host restarted
 * by both, on two hosts).  wait: block until it is free; else -2 when it is
 * held (err untouched).  Its fd, or -1 with *err set.
 */
#define NC_APPLY_LOCK "apply.lock"
int nc_apply_lock(const char *state_dir, bool wait, struct nc_err *err);
/* An exclusive lock on STATE_DIR/hosts.lock: returns its fd, or -1. */
int nc_hostrec_lock(const char *state_dir, struct nc_err *err);
void nc_hostrec_unlock(int fd);

/* lock, load, update, save, unlock: what apply and serve call after a pass */
int nc_hostrec_commit(const char *state_dir, const struct nc_spec *spec, const struct nc_cluster *c,
		      const struct nc_plan *applied, struct nc_err *err);

#endif
