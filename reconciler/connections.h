/*
 * connections.h - how NovaCron reaches each host: the operator's trusted
 * `connections:` configuration over the spec's untrusted Host URIs.
 *
 * A spec names a host and a transport (a URI that passes the strict check
 * of spec/uri.h).  Everything else -- ssh key, known_hosts, the socket of a
 * local daemon, TLS PKI path, any other libvirt URI parameter, or a whole
 * replacement URI -- comes from the `connections:` list of the operator's
 * configuration file (serve.yaml, or the file given to plan/apply/... with
 * --config or NOVACRON_CONFIG):
 *
 *   connections:
 *     - host: kvm1                  # a Host of the spec
 *       uri: qemu+unix:///system?socket=/run/libvirt-kvm1/libvirt-sock
 *       migrationUri: qemu+tcp://10.0.0.1/system
 *     - host: "*"                   # every host without an entry of its own
 *       params: keyfile=/etc/novacron/id_ed25519&known_hosts=/etc/novacron/known_hosts
 *
 * The resolved URI is only ever opened; plans, JSON, logs and /status show
 * the spec's URI.  Errors from opening a host are cut to their first line
 * (libvirt quotes the file it failed to parse on the next lines) and the
 * resolved URI in them is replaced by the spec's.
 */
#ifndef NC_CONNECTIONS_H
#define NC_CONNECTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "../drivers/driver.h"
#include "../spec/model.h"
#include "../spec/roots.h"

struct nc_connection {
	struct nc_pos pos;
	struct nc_str host;              /* a Host name, or "*" */
	struct nc_str uri;               /* replaces the spec's uri (trusted: any parameter) */
	struct nc_str migration_uri;     /* replaces the URI other daemons use to reach it */
	struct nc_str params;            /* a=b&c=d appended to the URI opened */
	struct nc_str migration_params;  /* appended to the migration URI */
};

struct nc_schema;
extern const struct nc_schema nc_connection_schema;   /* one item of `connections:` */

/* Checks a loaded `connections:` list (struct nc_connection): host names,
 * repeats, URIs and parameters.  0, or -1 with errors in *diags. */
int nc_connections_check(const struct nc_list *conns, struct nc_diags *diags);

/*
 * The URI to open for host h (migration: the URI the other hosts' daemons
 * use to reach it), with the operator's connections (NULL: none) applied.
 * A URI that comes from the spec is checked again with nc_host_uri_check()
 * first.  Returns a string to free, or NULL with *err set.
 */
char *nc_connection_uri(const struct nc_host *h, const struct nc_list *conns, bool migration,
			struct nc_err *err);

/* Makes an error from opening or observing a host fit to show: its first
 * line only, at most 240 bytes, with every copy of resolved replaced by shown. */
void nc_connection_error_clean(struct nc_err *err, const char *resolved, const char *shown);

/* ---- the CLI's configuration file (plan, apply, capacity, backup, restore) ---- */
struct nc_cli_config {
	struct nc_spec *holder;
	struct nc_list connections;      /* struct nc_connection; empty without a file */
	struct nc_paths_config paths;    /* `paths:` (spec/roots.h); unset without a file */
	struct nc_list fence_devices;    /* `fencing: devices:` (struct nc_fence_device); empty without */
	char *file;                      /* the file read, NULL: none */
	char *spec_dir;                  /* where its `source:` keeps the spec serve applies, or NULL
					    (nc_cli_spec_load, pass-cli.h) */
	char *no_spec;                   /* why there is none (a git source serve has not applied yet) */
	char *status_url;                /* http://LISTEN of serve's endpoint (status), or NULL */
	struct nc_strlist admin_paths;   /* `tenancy: adminPaths:` (spec/tenant.h); unset without */
	struct nc_list federation;       /* `federation:` (struct nc_serve_peer, federation.h); empty without */
};

/* Loads path, or $NOVACRON_CONFIG when path is NULL (neither: an empty
 * configuration).  The file has serve.yaml's format; only its connections
 * are used.  Prints diagnostics to stderr as "novacron CMD: ..."; 0 or -1. */
int nc_cli_config_load(struct nc_cli_config *out, const char *cmd, const char *path);
void nc_cli_config_release(struct nc_cli_config *c);
/* Refuses a spec whose local paths leave the configuration's `paths:` roots
 * (or the defaults), or that declares a Tenant outside tenancy.adminPaths
 * (spec/tenant.h): prints the errors and "novacron CMD: ...; nothing was
 * contacted" to stderr and returns -1; 0 when every path is inside. */
int nc_cli_check_paths(const struct nc_cli_config *c, const struct nc_spec *spec, const char *cmd);

#endif
