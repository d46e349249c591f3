/*
 * serve-config.c - the `novacron serve --config FILE` schema, checked with
 * the same machinery (and the same file:line:col errors) as the spec.
 */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

#include "../spec/schema.h"
#include "../spec/tenant.h"
#include "connections.h"
#include "../drivers/fence/fence.h"

#define SCHEMA(n, st, tbl) { n, sizeof(st), tbl, NC_ARRAY_SIZE(tbl) }
#define F(k, t, st, member, ...) \
	{ .key = (k), .type = (t), .off = offsetof(st, member), __VA_ARGS__ }

static const struct nc_field git_fields[] = {
	F("url", NC_F_STR, struct nc_serve_git, url, .required = 1,
	  .doc = "repository: file:///..., https://..., ssh://..., or an absolute path"),
	F("ref", NC_F_STR, struct nc_serve_git, ref, .doc = "branch or tag (default main)"),
	F("path", NC_F_STR, struct nc_serve_git, path, .doc = "the spec's folder in the repository"),
	F("depth", NC_F_INT, struct nc_serve_git, depth, .min = 0, .max = 1000000,
	  .doc = "shallow fetch depth (needs libgit2 1.7; ignored before)"),
	F("username", NC_F_STR, struct nc_serve_git, username, .doc = "https user"),
	F("passwordFile", NC_F_STR, struct nc_serve_git, password_file, .check = NC_CHK_ABS_PATH,
	  .doc = "file holding the https password or token"),
	F("sshKeyFile", NC_F_STR, struct nc_serve_git, ssh_key_file, .check = NC_CHK_ABS_PATH,
	  .doc = "ssh private key"),
	F("sshPublicKeyFile", NC_F_STR, struct nc_serve_git, ssh_pubkey_file, .check = NC_CHK_ABS_PATH,
	  .doc = "ssh public key (default: sshKeyFile + .pub)"),
	F("knownHostsFile", NC_F_STR, struct nc_serve_git, known_hosts_file, .check = NC_CHK_ABS_PATH,
	  .doc = "accept only these ssh host keys"),
	F("allowedSigners", NC_F_STR, struct nc_serve_git, allowed_signers, .check = NC_CHK_ABS_PATH,
	  .doc = "apply only commits signed by these SSH keys (allowed_signers format)"),
	F("allowRollback", NC_F_BOOL, struct nc_serve_git, allow_rollback,
	  .doc = "accept a commit that does not descend from the last applied one (default false)"),
};
static const struct nc_schema git_schema = SCHEMA("git source", struct nc_serve_git, git_fields);

static const struct nc_field source_fields[] = {
	F("git", NC_F_STRUCT, struct nc_serve_source, git, .sub = &git_schema,
	  .doc = "a git repository"),
	F("directory", NC_F_STR, struct nc_serve_source, directory, .check = NC_CHK_ABS_PATH,
	  .doc = "a local directory, watched with inotify"),
	F("debounce", NC_F_DURATION, struct nc_serve_source, debounce, .min = 10, .max = 60000,
	  .doc = "directory: quiet time after a change before acting (default 200ms)"),
};
static const struct nc_schema source_schema = SCHEMA("source", struct nc_serve_source, source_fields);

static const struct nc_field rados_fields[] = {
	F("cephConf", NC_F_STR, struct nc_serve_rados, ceph_conf, .required = 1, .check = NC_CHK_ABS_PATH,
	  .doc = "ceph.conf"),
	F("pool", NC_F_STR, struct nc_serve_rados, pool, .required = 1, .doc = "pool holding the lease object"),
	F("object", NC_F_STR, struct nc_serve_rados, object, .doc = "lease object (default novacron-lease)"),
	F("user", NC_F_STR, struct nc_serve_rados, user, .doc = "cephx id (default admin)"),
};
static const struct nc_schema rados_schema = SCHEMA("rados lease", struct nc_serve_rados, rados_fields);

static const struct nc_field lease_fields[] = {
	F("file", NC_F_STR, struct nc_serve_lease, file, .check = NC_CHK_ABS_PATH,
	  .doc = "flock on this file (instances on one machine)"),
	F("rados", NC_F_STRUCT, struct nc_serve_lease, rados, .sub = &rados_schema,
	  .doc = "RADOS object lock (instances on several machines)"),
	F("duration", NC_F_DURATION, struct nc_serve_lease, duration, .min = 1000, .max = 3600000,
	  .doc = "rados: a lease not renewed for this long expires (default 30s)"),
};
static const struct nc_schema lease_schema = SCHEMA("lease", struct nc_serve_lease, lease_fields);

static const char *const apply_mode_values[] = { "auto", "approve", NULL };
static const struct nc_field apply_fields[] = {
	F("enabled", NC_F_BOOL, struct nc_serve_apply, enabled, .doc = "false: plan and report only"),
	F("prune", NC_F_BOOL, struct nc_serve_apply, prune, .doc = "as --prune"),
	F("deleteThreshold", NC_F_INT, struct nc_serve_apply, delete_threshold, .min = 0, .max = 100,
	  .doc = "as --delete-threshold (default 25)"),
	F("allowMassDelete", NC_F_BOOL, struct nc_serve_apply, allow_mass_delete,
	  .doc = "as --allow-mass-delete"),
	F("maxMigrations", NC_F_INT, struct nc_serve_apply, max_migrations, .min = 1, .max = 64,
	  .doc = "as --max-migrations"),
	F("maxMigrationsPerHost", NC_F_INT, struct nc_serve_apply, max_migrations_per_host, .min = 1,
	  .max = 64, .doc = "as --max-migrations-per-host"),
	F("mode", NC_F_ENUM, struct nc_serve_apply, mode, .values = apply_mode_values,
	  .doc = "auto (default): apply each plan; approve: hold each plan until approved by its digest "
		 "(POST /api/v1/plan/approve, docs/api.md)"),
};
static const struct nc_schema apply_schema = SCHEMA("apply", struct nc_serve_apply, apply_fields);

static const char *const notify_format_values[] = { "generic", "alertmanager", "slack", NULL };
static const char *const notify_type_values[] = { "generic", "alertmanager", "slack", "mattermost", "teams",
						  "github-status", "gitlab-status", NULL };
static const struct nc_field notify_fields[] = {
	F("url", NC_F_STR, struct nc_serve_notify, url, .check = NC_CHK_HTTP_URL,
	  .doc = "where to POST events (required but for forges); github-status and gitlab-status: the API "
		 "(default https://api.github.com, https://gitlab.com/api/v4)"),
	F("type", NC_F_ENUM, struct nc_serve_notify, type, .values = notify_type_values,
	  .doc = "generic (default: NovaCron's JSON), alertmanager (alert events only), slack, mattermost, "
		 "teams (a Workflows webhook: an Adaptive Card), github-status or gitlab-status (a commit "
		 "status for each revision of a git source)"),
	F("events", NC_F_STRLIST, struct nc_serve_notify, events,
	  .doc = "failed, drift, applied, invalid, host_suspect, host_failed, host_ok, fenced, "
	  "fence_failed, partitioned, alert (default failed, drift, the HA events but host_suspect and host_ok, "
	  "and alert; alertmanager targets: alert; forges take none)"),
	F("tokenFile", NC_F_STR, struct nc_serve_notify, token_file, .check = NC_CHK_ABS_PATH,
	  .doc = "webhooks: sent as Authorization: Bearer; forges: the API token"),
	F("tokenEnv", NC_F_STR, struct nc_serve_notify, token_env,
	  .doc = "forges: the API token from this environment variable (when no tokenFile)"),
	F("secretFile", NC_F_STR, struct nc_serve_notify, secret_file, .check = NC_CHK_ABS_PATH,
	  .doc = "generic: sign each body with HMAC-SHA256 under this key (X-NovaCron-Signature: sha256=HEX)"),
	F("repository", NC_F_STR, struct nc_serve_notify, repository,
	  .doc = "github-status: OWNER/REPO; gitlab-status: the project's id or path (required for forges)"),
	F("name", NC_F_STR, struct nc_serve_notify, name,
	  .doc = "forges: the status is named novacron/NAME (default apply)"),
	F("targetUrl", NC_F_STR, struct nc_serve_notify, target_url, .check = NC_CHK_HTTP_URL,
	  .doc = "forges: the status's link (e.g. the dashboard)"),
	F("format", NC_F_ENUM, struct nc_serve_notify, format, .values = notify_format_values,
	  .doc = "the former name of type (generic, alertmanager or slack)"),
};
static const struct nc_schema notify_schema = SCHEMA("notify", struct nc_serve_notify, notify_fields);

static const struct nc_field ha_fields[] = {
	F("enabled", NC_F_BOOL, struct nc_serve_ha, enabled,
	  .doc = "detect failed hosts, fence them and restart their ha: restart VMs (default true)"),
	F("checkInterval", NC_F_DURATION, struct nc_serve_ha, check_interval, .min = 100, .max = 600000,
	  .doc = "probe every declared host this often (default 1s)"),
	F("suspectAfter", NC_F_INT, struct nc_serve_ha, suspect_after, .min = 1, .max = 1000,
	  .doc = "missed checks in a row before a host is suspect (default 2)"),
	F("failedAfter", NC_F_DURATION, struct nc_serve_ha, failed_after, .min = 100, .max = 86400000,
	  .doc = "a host still unreachable this long after its first missed check is failed (default 10s)"),
	F("recoverAfter", NC_F_INT, struct nc_serve_ha, recover_after, .min = 1, .max = 1000,
	  .doc = "good checks in a row before a suspect host is ok again (default 3)"),
	F("fenceTimeout", NC_F_DURATION, struct nc_serve_ha, fence_timeout, .min = 100, .max = 3600000,
	  .doc = "longest wait for one fence device (default 60s)"),
	F("fenceRetry", NC_F_DURATION, struct nc_serve_ha, fence_retry, .min = 100, .max = 3600000,
	  .doc = "wait before fencing again after a fence failed (default 10s)"),
	F("maxRecoveries", NC_F_INT, struct nc_serve_ha, max_recoveries, .min = 1, .max = 1000,
	  .doc = "VMs restarted on other hosts at once (default 4)"),
};
static const struct nc_schema ha_schema = SCHEMA("ha", struct nc_serve_ha, ha_fields);

static const struct nc_field fencing_fields[] = {
	F("devices", NC_F_LIST, struct nc_serve_fencing, devices, .sub = &nc_fence_device_schema,
	  .doc = "fence devices: rbd (break RBD locks), agent (a fence agent), manual (docs/ha.md)"),
};
static const struct nc_schema fencing_schema = SCHEMA("fencing", struct nc_serve_fencing, fencing_fields);

static const struct nc_field telemetry_fields[] = {
	F("enabled", NC_F_BOOL, struct nc_serve_telemetry, enabled,
	  .doc = "collect host, VM and pool statistics, keep their history, evaluate AlertRules (default true)"),
	F("interval", NC_F_DURATION, struct nc_serve_telemetry, interval, .min = 1000, .max = 3600000,
	  .doc = "one collection round this often (default 15s, at least 1s)"),
	F("dir", NC_F_STR, struct nc_serve_telemetry, dir, .check = NC_CHK_ABS_PATH,
	  .doc = "the RRD files (default STATE_DIR/telemetry)"),
	F("rrdcached", NC_F_STR, struct nc_serve_telemetry, rrdcached, .check = NC_CHK_PRINTABLE,
	  .doc = "write through rrdcached at unix:/PATH or HOST:PORT (default: write the files)"),
	F("hostTimeout", NC_F_DURATION, struct nc_serve_telemetry, host_timeout, .min = 100, .max = 3600000,
	  .doc = "per host stats call (default the smaller of hostTimeout and interval)"),
	F("anomalyDiskLimit", NC_F_SIZE, struct nc_serve_telemetry, anomaly_disk_limit, .min = 1 << 20,
	  .doc = "bytes the Holt-Winters files of anomaly AlertRules may take in all (default 16GiB); "
		 "a new (rule, object) past it is a gap, said in the log"),
};
static const struct nc_schema telemetry_schema = SCHEMA("telemetry", struct nc_serve_telemetry,
							telemetry_fields);

static const struct nc_field tls_fields[] = {
	F("certFile", NC_F_STR, struct nc_serve_tls, cert_file, .required = 1, .check = NC_CHK_ABS_PATH,
	  .doc = "PEM certificate (chain) of the listener"),
	F("keyFile", NC_F_STR, struct nc_serve_tls, key_file, .required = 1, .check = NC_CHK_ABS_PATH,
	  .doc = "PEM private key of the listener"),
};
static const struct nc_schema tls_schema = SCHEMA("tls", struct nc_serve_tls, tls_fields);

static const char *const role_values[] = { "viewer", "operator", "admin", NULL };
static const struct nc_field role_fields[] = {
	F("role", NC_F_ENUM, struct nc_serve_role, role, .required = 1, .values = role_values,
	  .doc = "viewer (reads), operator (also sync, pause, approve, backup, restore), admin (also fence confirm, audit)"),
	F("tokens", NC_F_STRLIST, struct nc_serve_role, tokens, .doc = "token names (novacron token create)"),
	F("users", NC_F_STRLIST, struct nc_serve_role, users, .doc = "OIDC subjects or e-mail addresses"),
	F("groups", NC_F_STRLIST, struct nc_serve_role, groups, .doc = "OIDC groups (api.oidc.groupsClaim)"),
	F("tenants", NC_F_STRLIST, struct nc_serve_role, tenants,
	  .doc = "the Tenants this binding sees (default: all)"),
};
static const struct nc_schema role_schema = SCHEMA("role", struct nc_serve_role, role_fields);

static const struct nc_field oidc_fields[] = {
	F("issuer", NC_F_STR, struct nc_serve_oidc, issuer, .required = 1, .check = NC_CHK_HTTP_URL,
	  .doc = "the provider's issuer URL (its /.well-known/openid-configuration is read)"),
	F("clientId", NC_F_STR, struct nc_serve_oidc, client_id, .required = 1, .doc = "this client's id"),
	F("clientSecretFile", NC_F_STR, struct nc_serve_oidc, client_secret_file, .check = NC_CHK_ABS_PATH,
	  .doc = "file holding the client secret (none: a public client, PKCE only)"),
	F("redirectUrl", NC_F_STR, struct nc_serve_oidc, redirect_url, .required = 1, .check = NC_CHK_HTTP_URL,
	  .doc = "https://SERVE/auth/callback as registered at the provider"),
	F("scopes", NC_F_STRLIST, struct nc_serve_oidc, scopes, .doc = "default openid, profile, email, groups"),
	F("groupsClaim", NC_F_STR, struct nc_serve_oidc, groups_claim, .doc = "default groups"),
	F("caFile", NC_F_STR, struct nc_serve_oidc, ca_file, .check = NC_CHK_ABS_PATH,
	  .doc = "CA bundle for the provider (default the system's)"),
	F("requireMfa", NC_F_STRLIST, struct nc_serve_oidc, require_mfa,
	  .doc = "roles whose logins need the ID token's amr to show multi-factor (e.g. [admin])"),
};
static const struct nc_schema oidc_schema = SCHEMA("oidc", struct nc_serve_oidc, oidc_fields);

static const char *const anonymous_values[] = { "none", "viewer", NULL };
static const struct nc_field api_fields[] = {
	F("enabled", NC_F_BOOL, struct nc_serve_api, enabled, .doc = "serve /api/v1 and the dashboard (default true)"),
	F("anonymous", NC_F_ENUM, struct nc_serve_api, anonymous, .values = anonymous_values,
	  .doc = "role of requests without credentials: none (default) or viewer"),
	F("sessionTimeout", NC_F_DURATION, struct nc_serve_api, session_timeout, .min = 60000, .max = 604800000,
	  .doc = "dashboard sessions end this long after login (default 12h)"),
	F("roles", NC_F_LIST, struct nc_serve_api, roles, .sub = &role_schema,
	  .doc = "roles bound to tokens, OIDC users and groups, optionally per tenant"),
	F("oidc", NC_F_STRUCT, struct nc_serve_api, oidc, .sub = &oidc_schema,
	  .doc = "OpenID Connect login for people"),
	F("insecureHttp", NC_F_BOOL, struct nc_serve_api, insecure_http,
	  .doc = "allow plain HTTP on a listen address outside loopback (default false: tls is required)"),
};
static const struct nc_schema api_schema = SCHEMA("api", struct nc_serve_api, api_fields);

static const struct nc_field webhooks_fields[] = {
	F("githubSecretFile", NC_F_STR, struct nc_serve_webhooks, github_secret_file, .check = NC_CHK_ABS_PATH,
	  .doc = "GitHub push webhooks: the secret of X-Hub-Signature-256"),
	F("gitlabTokenFile", NC_F_STR, struct nc_serve_webhooks, gitlab_token_file, .check = NC_CHK_ABS_PATH,
	  .doc = "GitLab push webhooks: the X-Gitlab-Token"),
};
static const struct nc_schema webhooks_schema = SCHEMA("webhooks", struct nc_serve_webhooks, webhooks_fields);

static const struct nc_field tenancy_fields[] = {
	F("adminPaths", NC_F_STRLIST, struct nc_serve_tenancy, admin_paths,
	  .doc = "folders of the spec where Tenant objects may be declared (docs/tenants.md)"),
};
static const struct nc_schema tenancy_schema = SCHEMA("tenancy", struct nc_serve_tenancy, tenancy_fields);

static const char *const log_level_values[] = { "error", "warn", "info", "debug", NULL };
static const char *const log_format_values[] = { "text", "json", NULL };
static const struct nc_field log_fields[] = {
	F("level", NC_F_ENUM, struct nc_serve_logcfg, level, .values = log_level_values,
	  .doc = "lowest level written: error, warn, info (default) or debug; --log-level wins"),
	F("format", NC_F_ENUM, struct nc_serve_logcfg, format, .values = log_format_values,
	  .doc = "text (default: TIME novacron serve: MESSAGE) or json (one object per line); --log-format wins"),
};
static const struct nc_schema log_schema = SCHEMA("log", struct nc_serve_logcfg, log_fields);

static const struct nc_field peer_fields[] = {
	F("cluster", NC_F_STR, struct nc_serve_peer, cluster, .required = 1, .check = NC_CHK_NAME,
	  .doc = "the Cluster that serve acts on"),
	F("url", NC_F_STR, struct nc_serve_peer, url, .required = 1, .check = NC_CHK_HTTP_URL,
	  .doc = "its endpoint, http(s)://HOST:PORT (GET /status there)"),
	F("tokenFile", NC_F_STR, struct nc_serve_peer, token_file, .check = NC_CHK_ABS_PATH,
	  .doc = "a bearer token sent to it (a viewer token of its API), mode 0600"),
};
static const struct nc_schema peer_schema = SCHEMA("federation entry", struct nc_serve_peer, peer_fields);

static const struct nc_field config_fields[] = {
	/* required by serve (checked below); the CLI reads the same file for its connections */
	F("source", NC_F_STRUCT, struct nc_serve_config, source, .sub = &source_schema,
	  .doc = "where the spec comes from (required)"),
	F("cacheDir", NC_F_STR, struct nc_serve_config, cache_dir, .check = NC_CHK_ABS_PATH,
	  .doc = "git clone and checkouts (default /var/lib/novacron/cache)"),
	F("stateDir", NC_F_STR, struct nc_serve_config, state_dir, .check = NC_CHK_ABS_PATH,
	  .doc = "state of sim:/// hosts (default /var/lib/novacron/sim)"),
	F("interval", NC_F_DURATION, struct nc_serve_config, interval, .min = 100, .max = 86400000,
	  .doc = "how often to fetch (default 60s)"),
	F("driftInterval", NC_F_DURATION, struct nc_serve_config, drift_interval, .min = 100,
	  .max = 86400000, .doc = "how often to reconcile without a new revision (default 5m)"),
	F("hostTimeout", NC_F_DURATION, struct nc_serve_config, host_timeout, .min = 100,
	  .max = 3600000, .doc = "per-host observe timeout (default 30s)"),
	F("listen", NC_F_STR, struct nc_serve_config, listen,
	  .doc = "HTTP endpoint address (default 127.0.0.1:9090; port 0: none)"),
	F("tokenFile", NC_F_STR, struct nc_serve_config, token_file, .check = NC_CHK_ABS_PATH,
	  .doc = "bearer token for POST /webhook"),
	F("lease", NC_F_STRUCT, struct nc_serve_config, lease, .sub = &lease_schema,
	  .doc = "one acting instance per cluster (default: file lease STATE_DIR/lease.lock)"),
	F("apply", NC_F_STRUCT, struct nc_serve_config, apply, .sub = &apply_schema,
	  .doc = "what a pass may do"),
	F("notify", NC_F_LIST, struct nc_serve_config, notify, .sub = &notify_schema,
	  .doc = "webhooks told about failed passes and drift"),
	F("connections", NC_F_LIST, struct nc_serve_config, connections, .sub = &nc_connection_schema,
	  .doc = "how to reach each host: URI, ssh key, socket, ... (trusted; never from the spec)"),
	F("paths", NC_F_STRUCT, struct nc_serve_config, paths, .sub = &nc_schema_paths,
	  .doc = "roots the spec's local paths must stay in: secrets, ceph, pools, images, backups, boot"),
	F("ha", NC_F_STRUCT, struct nc_serve_config, ha, .sub = &ha_schema,
	  .doc = "failure detection, fencing and recovery of failed hosts (docs/ha.md)"),
	F("fencing", NC_F_STRUCT, struct nc_serve_config, fencing, .sub = &fencing_schema,
	  .doc = "the fence devices Hosts name in spec.fence (trusted; never from the spec)"),
	F("telemetry", NC_F_STRUCT, struct nc_serve_config, telemetry, .sub = &telemetry_schema,
	  .doc = "statistics of hosts, VMs and pools: collection, history, alerts (docs/monitoring.md)"),
	F("tls", NC_F_STRUCT, struct nc_serve_config, tls, .sub = &tls_schema,
	  .doc = "HTTPS for the listener (required outside loopback unless api.insecureHttp)"),
	F("api", NC_F_STRUCT, struct nc_serve_config, api, .sub = &api_schema,
	  .doc = "the operator API and dashboard: roles, OIDC, sessions (docs/api.md)"),
	F("webhooks", NC_F_STRUCT, struct nc_serve_config, webhooks, .sub = &webhooks_schema,
	  .doc = "GitHub and GitLab push webhooks (POST /webhook)"),
	F("tenancy", NC_F_STRUCT, struct nc_serve_config, tenancy, .sub = &tenancy_schema,
	  .doc = "where Tenant objects may be declared (trusted; docs/tenants.md)"),
	F("cluster", NC_F_STR, struct nc_serve_config, cluster, .check = NC_CHK_NAME,
	  .doc = "act only on this Cluster of the spec: its own lease, status and metrics (serve --cluster wins; "
		 "docs/federation.md)"),
	F("federation", NC_F_LIST, struct nc_serve_config, federation, .sub = &peer_schema,
	  .doc = "each cluster's serve, read by novacron status --all and by GET /api/v1/federation (docs/api.md): "
		 "{cluster, url, tokenFile}"),
	F("log", NC_F_STRUCT, struct nc_serve_config, log, .sub = &log_schema,
	  .doc = "serve's log: level and format (docs/operations.md \"Logging\")"),
};
static const struct nc_schema config_schema = SCHEMA("serve configuration", struct nc_serve_config,
						     config_fields);

int nc_operator_config_load(struct nc_serve_config *out, struct nc_spec **holder, const char *path,
			    struct nc_diags *diags)
{
	memset(out, 0, sizeof(*out));
	if (nc_config_load(holder, &config_schema, path, out, diags) < 0)
		return -1;
	if (nc_fence_devices_check(&out->fencing.devices, diags) < 0)
		return -1;
	/* tenancy.adminPaths are folders of the spec (spec/tenant.h) */
	if (nc_tenant_check_admin(NULL, &out->tenancy.admin_paths, diags) < 0)
		return -1;
	return nc_connections_check(&out->connections, diags);
}

int nc_serve_check_paths(const struct nc_serve_config *cfg, const char *config_path,
			 const struct nc_spec *spec, struct nc_diags *diags)
{
	struct nc_path_roots roots;
	int r;

	nc_path_roots_init(&roots, cfg ? &cfg->paths : NULL, config_path);
	roots.image_files_needed = true;
	r = nc_spec_check_paths(spec, &roots, diags);
	nc_path_roots_release(&roots);
	/* Tenants only in the admins' folders (spec/tenant.h); a revision breaking it is refused */
	if (cfg && nc_tenant_check_admin(spec, &cfg->tenancy.admin_paths, diags) < 0)
		r = -1;
	return r;
}

/* rrdcached: unix:/ABSOLUTE/PATH, or HOST:PORT (what rrdc_connect takes; never a bare path
 * that librrd would take as relative to its working directory) */
static int telemetry_check(const struct nc_serve_telemetry *t, struct nc_diags *diags)
{
	if (NC_IS_SET(t->rrdcached)) {
		const char *a = t->rrdcached.v, *colon = strrchr(a, ':');
		bool ok;

		if (strncmp(a, "unix:", 5) == 0) {
			ok = a[5] == '/' && !strstr(a, "/../") && strcmp(a + strlen(a) - 3, "/..") != 0;
		} else {
			char *end = NULL;
			long port = colon ? strtol(colon + 1, &end, 10) : 0;

			ok = colon && colon != a && end && !*end && port > 0 && port < 65536 && !strchr(a, '/');
		}
		if (!ok) {
			nc_diag_error(diags, t->rrdcached.pos,
				      "rrdcached must be unix:/ABSOLUTE/PATH or HOST:PORT, not '%s'", a);
			return -1;
		}
	}
	return 0;
}

/* only these characters in a word that reaches a forge's URL */
static bool word_ok(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr(extra, *s)))
			return false;
	return true;
}

/* a notify entry's keys make sense for its type */
static int notify_check(const struct nc_serve_notify *n, struct nc_diags *diags)
{
	enum nc_notify_format t = nc_notify_type(n);
	bool forge = nc_notify_is_forge(n);

	if (NC_IS_SET(n->type) && NC_IS_SET(n->format) && n->type.v != n->format.v) {
		nc_diag_error(diags, n->format.pos, "notify: 'format' is the former name of 'type'; give one of them");
		return -1;
	}
	if (!forge && !NC_IS_SET(n->url)) {
		nc_diag_error(diags, n->pos, "missing required key 'url' in notify");
		return -1;
	}
	if (NC_IS_SET(n->secret_file) && t != NC_NOTIFY_GENERIC) {
		nc_diag_error(diags, n->secret_file.pos, "notify: secretFile signs generic bodies only");
		return -1;
	}
	if (NC_IS_SET(n->token_env) && !word_ok(n->token_env.v, "_")) {
		nc_diag_error(diags, n->token_env.pos, "notify: tokenEnv must name an environment variable, not '%s'",
			      n->token_env.v);
		return -1;
	}
	if (!forge) {
		const struct nc_str *f = NC_IS_SET(n->repository) ? &n->repository : NC_IS_SET(n->name) ? &n->name :
					 NC_IS_SET(n->target_url) ? &n->target_url : NC_IS_SET(n->token_env) ? &n->token_env :
					 NULL;

		if (f) {
			nc_diag_error(diags, f->pos, "notify: repository, name, targetUrl and tokenEnv are for "
				      "type github-status or gitlab-status");
			return -1;
		}
		return 0;
	}
	if (n->events.n) {
		nc_diag_error(diags, n->events.pos, "notify: a %s target takes no events: it posts a commit status "
			      "for each revision", t == NC_NOTIFY_GITHUB_STATUS ? "github-status" : "gitlab-status");
		return -1;
	}
	if (!NC_IS_SET(n->repository)) {
		nc_diag_error(diags, n->pos, "missing required key 'repository' in notify (type %s)",
			      t == NC_NOTIFY_GITHUB_STATUS ? "github-status: OWNER/REPO" :
			      "gitlab-status: the project's id or path");
		return -1;
	}
	if (t == NC_NOTIFY_GITHUB_STATUS ? !word_ok(n->repository.v, "._-/") || !strchr(n->repository.v, '/') ||
					  strchr(strchr(n->repository.v, '/') + 1, '/') || n->repository.v[0] == '/' ||
					  !strchr(n->repository.v, '/')[1] :
	    !word_ok(n->repository.v, "._-/") || strstr(n->repository.v, "..") || n->repository.v[0] == '/') {
		nc_diag_error(diags, n->repository.pos, "notify: repository must be %s, not '%s'",
			      t == NC_NOTIFY_GITHUB_STATUS ? "OWNER/REPO" : "a project id or GROUP/PROJECT path",
			      n->repository.v);
		return -1;
	}
	if (NC_IS_SET(n->name) && (!word_ok(n->name.v, "._-/") || strlen(n->name.v) > 100)) {
		nc_diag_error(diags, n->name.pos, "notify: name must be letters, digits, '.', '_', '-' or '/', not '%s'",
			      n->name.v);
		return -1;
	}
	if (!NC_IS_SET(n->token_file) && !NC_IS_SET(n->token_env)) {
		nc_diag_error(diags, n->pos, "notify: a %s target needs tokenFile or tokenEnv (the API token)",
			      t == NC_NOTIFY_GITHUB_STATUS ? "github-status" : "gitlab-status");
		return -1;
	}
	return 0;
}

int nc_serve_config_load(struct nc_serve_config *out, struct nc_spec **holder, const char *path,
			 struct nc_diags *diags)
{
	static const char *const events[] = { "failed", "drift", "applied", "invalid", "host_suspect",
					      "host_failed", "host_ok", "fenced", "fence_failed",
					      "partitioned", "alert" };
	size_t i, j, k;
	int r;

	r = nc_operator_config_load(out, holder, path, diags);
	if (r < 0)
		return -1;
	if (!NC_IS_SET(out->source)) {
		nc_diag_error(diags, out->pos, "missing required key 'source' in serve configuration");
		return -1;
	}
	if (NC_IS_SET(out->source.git) == NC_IS_SET(out->source.directory)) {
		nc_diag_error(diags, out->source.pos, "source needs exactly one of 'git' or 'directory'");
		return -1;
	}
	if (telemetry_check(&out->telemetry, diags) < 0)
		return -1;
	if (NC_IS_SET(out->lease.file) && NC_IS_SET(out->lease.rados)) {
		nc_diag_error(diags, out->lease.pos, "lease needs one of 'file' or 'rados', not both");
		return -1;
	}
	for (i = 0; i < out->notify.n; i++) {
		const struct nc_serve_notify *n = (const struct nc_serve_notify *)out->notify.v + i;

		if (notify_check(n, diags) < 0)
			return -1;

		for (j = 0; j < n->events.n; j++) {
			for (k = 0; k < NC_ARRAY_SIZE(events); k++)
				if (strcmp(n->events.v[j].v, events[k]) == 0)
					break;
			if (k == NC_ARRAY_SIZE(events)) {
				nc_diag_error(diags, n->events.v[j].pos,
					      "unknown event '%s' (expected failed, drift, applied, invalid, host_suspect, "
					      "host_failed, host_ok, fenced, fence_failed, partitioned or alert)",
					      n->events.v[j].v);
				return -1;
			}
			if (nc_notify_type(n) == NC_NOTIFY_ALERTMANAGER && strcmp(n->events.v[j].v, "alert") != 0) {
				nc_diag_error(diags, n->events.v[j].pos,
					      "event '%s' cannot go to a format: alertmanager target: Alertmanager "
					      "takes alerts only (list alert, or use format generic or slack)",
					      n->events.v[j].v);
				return -1;
			}
		}
	}
	return 0;
}
