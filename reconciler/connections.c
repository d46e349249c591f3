/*
 * connections.c - the operator's `connections:` over the spec's Host URIs
 * (see connections.h), and the CLI's configuration file.
 */
#include "connections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../spec/schema.h"
#include "../spec/tenant.h"
#include "../spec/uri.h"
#include "serve.h"

#define F(k, t, st, member, ...) \
	{ .key = (k), .type = (t), .off = offsetof(st, member), __VA_ARGS__ }

static const struct nc_field connection_fields[] = {
	F("host", NC_F_STR, struct nc_connection, host, .required = 1,
	  .doc = "a Host of the spec, or \"*\" for every host without an entry of its own"),
	F("uri", NC_F_STR, struct nc_connection, uri,
	  .doc = "the URI to open instead of the spec's (any libvirt URI and parameter)"),
	F("migrationUri", NC_F_STR, struct nc_connection, migration_uri,
	  .doc = "the URI other hosts' daemons use to reach this one, instead of the spec's"),
	F("params", NC_F_STR, struct nc_connection, params,
	  .doc = "KEY=VALUE&... appended to the URI opened, e.g. keyfile=/etc/novacron/id_ed25519 "
		 "(\"*\": not to sim:/// or test:/// URIs)"),
	F("migrationParams", NC_F_STR, struct nc_connection, migration_params,
	  .doc = "KEY=VALUE&... appended to the migration URI"),
};
const struct nc_schema nc_connection_schema = {
	"connection", sizeof(struct nc_connection), connection_fields, NC_ARRAY_SIZE(connection_fields)
};

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int check_trusted_uri(const struct nc_str *u, const char *key, struct nc_diags *diags)
{
	if (!NC_IS_SET(*u))
		return 0;
	if (!printable(u->v) || !nc_uri_scheme_len(u->v) || !nc_driver_for_uri(u->v)) {
		nc_diag_error(diags, u->pos, "invalid %s '%s': expected a libvirt URI with a supported "
			      "scheme (qemu, qemu+ssh, qemu+tcp, qemu+tls, qemu+unix, qemu+libssh, "
			      "qemu+libssh2, test, sim) and no spaces", key, u->v);
		return -1;
	}
	return 0;
}

static int check_params(const struct nc_str *p, const char *key, struct nc_diags *diags)
{
	if (!NC_IS_SET(*p))
		return 0;
	if (!printable(p->v) || strpbrk(p->v, "?#") || p->v[0] == '&' || !strchr(p->v, '=')) {
		nc_diag_error(diags, p->pos, "invalid %s: expected KEY=VALUE&KEY=VALUE, without '?', "
			      "'#' or spaces", key);
		return -1;
	}
	return 0;
}

int nc_connections_check(const struct nc_list *conns, struct nc_diags *diags)
{
	const struct nc_connection *v = conns->v;
	size_t i, j, errors = diags->errors;

	for (i = 0; i < conns->n; i++) {
		const struct nc_connection *c = &v[i];

		if (!NC_IS_SET(c->host))
			continue;   /* reported by the loader */
		if (strcmp(c->host.v, "*") != 0 && !printable(c->host.v))
			nc_diag_error(diags, c->host.pos, "invalid host: expected a Host name or \"*\"");
		for (j = 0; j < i; j++) {
			if (NC_IS_SET(v[j].host) && strcmp(v[j].host.v, c->host.v) == 0) {
				nc_diag_error(diags, c->host.pos, "connections for host '%s' are given twice",
					      c->host.v);
				nc_diag_note(diags, v[j].host.pos, "first given here");
				break;
			}
		}
		if (strcmp(c->host.v, "*") == 0 && (NC_IS_SET(c->uri) || NC_IS_SET(c->migration_uri)))
			nc_diag_error(diags, NC_IS_SET(c->uri) ? c->uri.pos : c->migration_uri.pos,
				      "a URI replaces one host's: give it in an entry for that host, not \"*\"");
		check_trusted_uri(&c->uri, "uri", diags);
		check_trusted_uri(&c->migration_uri, "migrationUri", diags);
		check_params(&c->params, "params", diags);
		check_params(&c->migration_params, "migrationParams", diags);
	}
	return diags->errors > errors ? -1 : 0;
}

static const struct nc_connection *find(const struct nc_list *conns, const char *host)
{
	const struct nc_connection *v = conns ? conns->v : NULL;
	size_t i;

	for (i = 0; conns && i < conns->n; i++)
		if (NC_IS_SET(v[i].host) && strcmp(v[i].host.v, host) == 0)
			return &v[i];
	return NULL;
}

char *nc_connection_uri(const struct nc_host *h, const struct nc_list *conns, bool migration,
			struct nc_err *err)
{
	const struct nc_connection *own = find(conns, h->obj.meta.name.v), *star = find(conns, "*");
	const struct nc_connection *c = own ? own : star;
	const struct nc_str *params;
	const char *base, *why;
	bool trusted = false;

	if (migration && own && NC_IS_SET(own->migration_uri)) {
		base = own->migration_uri.v;
		trusted = true;
	} else if (migration && NC_IS_SET(h->spec.migration_uri)) {
		base = h->spec.migration_uri.v;
	} else if (migration) {
		return nc_connection_uri(h, conns, false, err);   /* as the host is reached */
	} else if (own && NC_IS_SET(own->uri)) {
		base = own->uri.v;
		trusted = true;
	} else {
		base = h->spec.uri.v;
	}
	/* defence in depth: validate checked it, but a URI from a spec is never opened unchecked */
	if (!trusted && nc_host_uri_check(base, &why) < 0) {
		nc_err_set(err, "refused the %s of host %s: %s", migration ? "migrationUri" : "uri",
			   h->obj.meta.name.v, why);
		return NULL;
	}
	params = !c ? NULL : migration ? &c->migration_params : &c->params;
	if (!params || !NC_IS_SET(*params))
		return nc_xstrdup(base);
	/* "*" is for real hosts: a simulated or test host takes no such parameters */
	if (c == star && !trusted && (strncmp(base, "sim:", 4) == 0 || strncmp(base, "test:", 5) == 0))
		return nc_xstrdup(base);
	return nc_xasprintf("%s%c%s", base, strchr(base, '?') ? '&' : '?', params->v);
}

/* replaces each copy of what (when at least 3 bytes) in err->msg by with */
static void replace_all(struct nc_err *err, const char *what, size_t wn, const char *with)
{
	struct nc_buf b = NC_BUF_INIT;
	const char *p = err->msg, *hit;

	if (wn < 3)
		return;
	while ((hit = memmem(p, strlen(p), what, wn)) != NULL) {
		nc_buf_add(&b, p, (size_t)(hit - p));
		nc_buf_adds(&b, with);
		p = hit + wn;
	}
	if (p == err->msg)
		return;
	nc_buf_adds(&b, p);
	snprintf(err->msg, sizeof(err->msg), "%s", b.buf);
	nc_buf_release(&b);
}

void nc_connection_error_clean(struct nc_err *err, const char *resolved, const char *shown)
{
	const char *q;
	char *p;

	err->msg[strcspn(err->msg, "\r\n")] = '\0';
	if (resolved && shown && strcmp(resolved, shown) != 0) {
		replace_all(err, resolved, strlen(resolved), shown);
		/* the operator's parameter values (sockets, key files) stay private */
		for (q = strchr(resolved, '?'); q && *q; ) {
			const char *eq, *end;

			q++;
			end = q + strcspn(q, "&;");
			eq = memchr(q, '=', (size_t)(end - q));
			if (eq)
				replace_all(err, eq + 1, (size_t)(end - eq - 1), "(from connections)");
			q = *end ? end : NULL;
		}
	}
	for (p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	if (strlen(err->msg) > 240)
		memcpy(err->msg + 237, "...", 4);
}

/* The spec serve works from, as its configuration says (see nc_cli_spec_load). */
static void source_spec_dir(struct nc_cli_config *out, const struct nc_serve_config *cfg)
{
	const struct nc_serve_git *g = &cfg->source.git;
	const char *cache = NC_IS_SET(cfg->cache_dir) ? cfg->cache_dir.v : NC_SERVE_CACHE_DIR;
	const char *state = NC_IS_SET(cfg->state_dir) ? cfg->state_dir.v : NC_SERVE_STATE_DIR;
	char *rec, *text = NULL, hex[41];
	size_t len = 0, i;

	if (NC_IS_SET(cfg->source.directory)) {
		out->spec_dir = nc_xstrdup(cfg->source.directory.v);
		return;
	}
	if (!NC_IS_SET(g->url))
		return;
	rec = nc_xasprintf("%s/source-git-applied", state);
	if (nc_read_file(rec, 64 * 1024, &text, &len) < 0 || len < 47 || strncmp(text, "commit ", 7) != 0) {
		out->no_spec = nc_xasprintf("serve has applied no commit of its git source yet (%s %s)", rec,
					    text ? "is malformed" : "does not exist");
		goto out;
	}
	for (i = 0; i < 40; i++) {
		char ch = text[7 + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			out->no_spec = nc_xasprintf("serve's record of the applied commit (%s) is malformed", rec);
			goto out;
		}
		hex[i] = ch;
	}
	hex[40] = '\0';
	out->spec_dir = NC_IS_SET(g->path) ? nc_xasprintf("%s/checkouts/%s/%s", cache, hex, g->path.v)
					   : nc_xasprintf("%s/checkouts/%s", cache, hex);
out:
	free(text);
	free(rec);
}

int nc_cli_config_load(struct nc_cli_config *out, const char *cmd, const char *path)
{
	struct nc_serve_config cfg;
	struct nc_diags d;
	struct nc_buf b = NC_BUF_INIT;
	int r;

	memset(out, 0, sizeof(*out));
	if (!path) {
		path = getenv("NOVACRON_CONFIG");
		if (!path || !*path)
			return 0;
	}
	nc_diags_init(&d);
	r = nc_operator_config_load(&cfg, &out->holder, path, &d);
	nc_diags_sort(&d);
	nc_diags_format_text(&d, &b, 0);
	fwrite(b.buf, 1, b.len, stderr);
	if (r < 0)
		fprintf(stderr, "novacron %s: the configuration file %s has errors; nothing was contacted\n",
			cmd, path);
	else {
		out->connections = cfg.connections;
		out->paths = cfg.paths;
		out->fence_devices = cfg.fencing.devices;
		out->admin_paths = cfg.tenancy.admin_paths;
		out->federation = cfg.federation;
		out->file = nc_xstrdup(path);
		source_spec_dir(out, &cfg);
		if (NC_IS_SET(cfg.listen)) {
			/* a wildcard address is reached on loopback */
			const char *l = cfg.listen.v;

			if (strncmp(l, "0.0.0.0:", 8) == 0)
				out->status_url = nc_xasprintf("http://127.0.0.1%s", l + 7);
			else if (strncmp(l, "[::]:", 5) == 0)
				out->status_url = nc_xasprintf("http://[::1]%s", l + 4);
			else
				out->status_url = nc_xasprintf("http://%s", l);
		}
	}
	nc_buf_release(&b);
	nc_diags_release(&d);
	return r;
}

void nc_cli_config_release(struct nc_cli_config *c)
{
	nc_spec_free(c->holder);
	free(c->file);
	free(c->spec_dir);
	free(c->no_spec);
	free(c->status_url);
	memset(c, 0, sizeof(*c));
}

int nc_cli_check_paths(const struct nc_cli_config *c, const struct nc_spec *spec, const char *cmd)
{
	struct nc_path_roots roots;
	struct nc_diags d;
	struct nc_buf b = NC_BUF_INIT;
	int r;

	nc_diags_init(&d);
	nc_path_roots_init(&roots, c->file ? &c->paths : NULL, c->file);
	roots.image_files_needed = strcmp(cmd, "plan") == 0 || strcmp(cmd, "apply") == 0;
	r = nc_spec_check_paths(spec, &roots, &d);
	if (r < 0) {
		nc_diags_sort(&d);
		nc_diags_format_text(&d, &b, 0);
		fwrite(b.buf, 1, b.len, stderr);
		fprintf(stderr, "novacron %s: the spec names %zu local path%s outside the operator's roots; "
			"nothing was contacted\n", cmd, d.errors, d.errors == 1 ? "" : "s");
	} else if (c->file && nc_tenant_check_admin(spec, &c->admin_paths, &d) < 0) {
		/* Tenants outside the admin paths (without a configuration: validate warns) */
		nc_diags_sort(&d);
		nc_diags_format_text(&d, &b, 0);
		fwrite(b.buf, 1, b.len, stderr);
		fprintf(stderr, "novacron %s: the spec declares Tenants outside the operator's tenancy.adminPaths; "
			"nothing was contacted\n", cmd);
		r = -1;
	}
	nc_buf_release(&b);
	nc_diags_release(&d);
	nc_path_roots_release(&roots);
	return r;
}
