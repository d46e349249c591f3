/*
 * history.h - which commit each VM was last applied from (docs/operations.md
 * "History").
 *
 * STATE_DIR/history.json (0600, replaced atomically) holds, per VM, the
 * actions apply (and serve's applying pass) ran on it, oldest first:
 *
 *   {"format_version": 1, "vms": {"web-1": {"left_spec": null, "entries": [
 *     {"time": "2026-12-07T17:45:00Z", "action": "create", "result": "done",
 *      "commit": "0a1b...", "plan_digest": "5f3c..."}]}}}
 *
 * At most NC_HISTORY_PER_VM entries per VM are kept; a VM that left the spec
 * keeps its entries NC_HISTORY_KEEP_DAYS days from when it was first seen
 * gone ("left_spec"), then is dropped.
 */
#ifndef NC_HISTORY_H
#define NC_HISTORY_H

#include <stddef.h>
#include <time.h>

#include "pass.h"

#define NC_HISTORY_FORMAT 1
#define NC_HISTORY_PER_VM 50
#define NC_HISTORY_KEEP_DAYS 30

struct nc_history_event {
	const char *vm;
	const char *action;      /* nc_action_name() */
	const char *result;      /* "done", "failed" or "skipped" */
};

/*
 * Appends one entry per event (commit: NULL for none) to STATE_DIR/history.json,
 * trims it and writes it back.  An unreadable or damaged file is left alone:
 * -1 with *err set.  0 on success.
 */
int nc_history_record(const char *state_dir, const struct nc_spec *spec, const struct nc_history_event *ev,
		      size_t n, const char *commit, const char *plan_digest, time_t now, struct nc_err *err);

/* STATE_DIR/history.json parsed (json-c; the caller puts it), an empty history when there is
 * none, or NULL with *err set. */
struct json_object;
struct json_object *nc_history_load(const char *state_dir, struct nc_err *err);

#endif
