/*
 * pass-cli.h - the options and steps `plan` and `apply` share.
 */
#ifndef NC_PASS_CLI_H
#define NC_PASS_CLI_H

#include <stdbool.h>

#include "cli.h"
#include "opts.h"
#include "connections.h"
#include "ha.h"
#include "hostrec.h"
#include "pass.h"
#include "images.h"

#define NC_PLAN_USAGE "plan [PATH...] [OPTIONS]"
#define NC_APPLY_USAGE "apply [PLANFILE | PATH...] [OPTIONS]"

extern const struct nc_cmd_doc nc_doc_plan, nc_doc_apply;

struct nc_pass_args {
	const char *cmd;
	const char *const *paths;
	size_t npaths;
	const char *state_dir;
	const char *config_file;         /* --config: the operator's connections (or $NOVACRON_CONFIG) */
	enum nc_output output;
	const char *out_file;
	const char *marker;              /* plan --marker ID (Markdown) */
	size_t max_bytes;                /* plan --max-bytes (Markdown; default 60000, 0 = unlimited) */
	unsigned timeout_s;
	unsigned parallel;
	int color;
	bool auto_approve;
	bool allow_unreachable;          /* apply: a saved plan made while hosts could not be read */
	bool is_apply;
	bool unlocked_preview;           /* apply: this plan is only shown for approval: no apply.lock */
	bool keep_open;                  /* keep the hosts' connections open after observing (get) */
	bool help;
	struct nc_plan_opts popts;
	/* owned copies (plan file, defaults) */
	char *owned_state_dir;
	char *owned_telemetry_dir;       /* STATE_DIR/telemetry (popts.telemetry_dir) */
	char **owned_paths;
	size_t nowned_paths;
	char *owned_commit;
	/* --target, --replace (argv's strings, or copies read from a plan file: owned_scope) */
	const char **targets, **replace;
	char **owned_scope;
	size_t nowned_scope;
	char *owned_selector;
	const char **clusters;           /* --cluster (argv's, or owned_scope's) */
};

struct nc_pass {
	struct nc_spec *spec;
	struct nc_cluster cluster;
	struct nc_plan plan;
	struct nc_cli_config config;     /* the operator's connections */
	struct nc_hostrec record;        /* hosts seen before (STATE_DIR/hosts.json) */
	struct nc_ha_record ha;          /* failed and fenced hosts (STATE_DIR/ha.json), read only */
	struct nc_image_set images;      /* where the Images' bytes are (images.h) */
	int apply_lock;                  /* apply: STATE_DIR/apply.lock (hostrec.h), held until release */
	bool locked;
	bool ready;
};

struct nc_plan_file {
	char spec[65], observed[65], plan[65];
};

/* Returns 0, or -1 after printing the usage error. */
int nc_pass_parse(struct nc_pass_args *a, const char *cmd, int argc, char **argv, bool is_apply);
void nc_pass_args_release(struct nc_pass_args *a);
/* Load + validate (printing diagnostics), observe, plan.  -1 when the spec is invalid. */
int nc_pass_run(struct nc_pass *p, struct nc_pass_args *a);
/* After an apply: brings the record of hosts (hostrec.h) up to date with what
 * was observed and, when applied, what the plan put where.  `plan` never
 * calls it.  Prints a warning and returns -1 when the record cannot be written. */
int nc_pass_record(const struct nc_pass *p, const struct nc_pass_args *a, bool applied);
/* After an apply: clears the HA record (ha.h nc_ha_commit) of hosts that are back with
 * nothing left to clean up, printing a line for each; a warning and -1 on failure. */
int nc_pass_ha_commit(const struct nc_pass *p, const struct nc_pass_args *a, bool applied_all);
/* $NOVACRON_STATE_DIR, $XDG_STATE_HOME/novacron or ~/.local/state/novacron
 * (a copy kept in a->owned_state_dir when built) */
const char *nc_pass_default_state_dir(struct nc_pass_args *a);
void nc_pass_release(struct nc_pass *p);
void nc_pass_render(const struct nc_pass *p, const struct nc_pass_args *a, enum nc_output fmt,
		    int color, struct nc_buf *out);

/* A file whose first non-blank byte is '{' is taken for a saved plan. */
bool nc_is_plan_file(const char *path);
/* Reads a saved plan: its inputs go into *a, its digests into *out. */
int nc_plan_file_read(struct nc_plan_file *out, struct nc_pass_args *a, const char *path);

/*
 * Loads the spec for a command that acts on the cluster outside plan/apply
 * (backup, restore, capacity): the paths given, else the spec the
 * configuration's `source:` names (source.directory, or for source.git the
 * checkout of the commit serve applied last: CACHEDIR/checkouts/SHA[/path],
 * SHA from STATEDIR/source-git-applied), never a blind ".": with neither, a
 * clear error says to pass a path.  Diagnostics are capped at 1,000 as
 * validate's are and printed to stderr with warnings; 0, or -1 when the
 * spec cannot be used (*out is then NULL).
 */
int nc_cli_spec_load(struct nc_spec **out, const struct nc_cli_config *c, const char *cmd,
		     const char *const *paths, size_t npaths);

#endif
