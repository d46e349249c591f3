/*
 * cmd-token.c - `novacron token create|list|revoke`: the API tokens serve
 * accepts (reconciler/auth.h, docs/security.md).  The store is
 * STATE_DIR/tokens.json of serve's state dir: --state-dir DIR, else
 * --config FILE's stateDir, else serve's default.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../spec/diag.h"
#include "../spec/model.h"
#include "auth.h"
#include "jsonout.h"
#include "serve.h"

enum { OPT_STATE_DIR = NC_OPT_LONG_ONLY, OPT_CONFIG, OPT_ROLE, OPT_TENANT, OPT_EXPIRES };

static const struct nc_opt token_opts[] = {
	{ "role", OPT_ROLE, "ROLE", "create: viewer (read), operator (also act on VMs) or admin (everything); "
	  "required", NC_COMP_WORDS, "viewer operator admin" },
	{ "tenant", OPT_TENANT, "T", "create: limit the token to this tenant's objects (repeat for several)",
	  NC_COMP_NONE, NULL },
	{ "expires", OPT_EXPIRES, "DURATION", "create: the token stops working after 30d, 12h, 90m, 2w... "
	  "(default never)", NC_COMP_NONE, NULL },
	{ "output", 'o', "FORMAT", "list: text (default) or json", NC_COMP_WORDS, "text json" },
	{ "state-dir", OPT_STATE_DIR, "DIR", "serve's state folder, which holds tokens.json", NC_COMP_DIR, NULL },
	{ "config", OPT_CONFIG, "FILE", "serve's configuration, whose stateDir holds tokens.json (default: "
	  "serve's default state folder)", NC_COMP_FILE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const token_examples[] = {
	"a read-only token for a dashboard viewer, valid 30 days (the secret is printed once)",
	"novacron token create grafana --role viewer --expires 30d --config /etc/novacron/serve.yaml",
	"a token for team-a's operators, limited to their tenant",
	"novacron token create team-a-ci --role operator --tenant team-a",
	"list the tokens (never their secrets), then revoke one",
	"novacron token list && novacron token revoke grafana",
	NULL,
};

const struct nc_cmd_doc nc_doc_token = {
	"token",
	"token create NAME --role viewer|operator|admin [--tenant T]... [--expires 30d] [OPTIONS]\n"
	"token list [--output text|json] [OPTIONS]\n"
	"token revoke NAME [OPTIONS]",
	"API tokens for serve's API and dashboard: the secret is shown once, stored hashed (docs/security.md)",
	"create prints the new token's secret once on standard output and stores only its hash in "
	"tokens.json of serve's state folder (--state-dir, else --config's stateDir, else serve's "
	"default). list shows every token's name, role, tenants and expiry; revoke removes one. serve "
	"sees the change at once.",
	token_opts, token_examples, NC_COMP_NONE, "create list revoke",
};

/* "30d", "12h", "90m", "3600s", "2w" -> seconds; -1 when not one */
static long long parse_expiry(const char *s)
{
	char *end;
	long long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (v <= 0 || v > 100000 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (*end) {
	case 's':
		return v;
	case 'm':
		return v * 60;
	case 'h':
		return v * 3600;
	case 'd':
		return v * 86400;
	case 'w':
		return v * 7 * 86400;
	default:
		return -1;
	}
}

static void fmt_time(time_t t, char *buf, size_t n)
{

	if (!t) {
		snprintf(buf, n, "never");
		return;
	}
	nc_time_iso(buf, n, t);
}

static int token_list(const char *state_dir, enum nc_output out)
{
	struct nc_token_info *t;
	struct nc_err err = { "" };
	size_t n, i, k;
	time_t now = time(NULL);
	char c[32], e[32];

	if (nc_token_list(state_dir, &t, &n, &err) < 0) {
		fprintf(stderr, "novacron token: %s\n", err.msg);
		return NC_EXIT_ERROR;
	}
	if (out == NC_OUT_JSON) {
		struct json_object *doc = nc_json_doc(1), *items = json_object_new_array_ext((int)n);

		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object(), *jt;

			nc_json_set(o, "name", nc_json_new_str(t[i].name));
			nc_json_set(o, "role", json_object_new_string(nc_role_name(t[i].role)));
			jt = t[i].ntenants ? json_object_new_array() : NULL;     /* null: all tenants */
			for (k = 0; k < t[i].ntenants; k++)
				json_object_array_add(jt, nc_json_new_str(t[i].tenants[k]));
			nc_json_set(o, "tenants", jt);
			fmt_time(t[i].created, c, sizeof(c));
			fmt_time(t[i].expires, e, sizeof(e));
			nc_json_set(o, "created", json_object_new_string(c));
			nc_json_set(o, "expires", t[i].expires ? json_object_new_string(e) : NULL);
			nc_json_set(o, "expired", json_object_new_boolean(t[i].expires && now >= t[i].expires));
			json_object_array_add(items, o);
		}
		nc_json_set(doc, "items", items);
		nc_json_print(stdout, doc);
	} else {
		printf("%-24s %-9s %-20s %-21s %s\n", "NAME", "ROLE", "CREATED", "EXPIRES", "TENANTS");
		for (i = 0; i < n; i++) {
			fmt_time(t[i].created, c, sizeof(c));
			fmt_time(t[i].expires, e, sizeof(e));
			if (t[i].expires && now >= t[i].expires)
				snprintf(e, sizeof(e), "expired");
			printf("%-24s %-9s %-20s %-21s ", t[i].name, nc_role_name(t[i].role), c, e);
			if (!t[i].ntenants)
				printf("(all)");
			for (k = 0; k < t[i].ntenants; k++)
				printf("%s%s", k ? "," : "", t[i].tenants[k]);
			printf("\n");
		}
	}
	free(t);
	return NC_EXIT_OK;
}

/* stateDir of a serve.yaml; NULL (after saying why) when it cannot be read */
static char *config_state_dir(const char *path)
{
	struct nc_serve_config cfg;
	struct nc_spec *holder = NULL;
	struct nc_diags d;
	char *out = NULL;

	nc_diags_init(&d);
	memset(&cfg, 0, sizeof(cfg));
	if (nc_serve_config_load(&cfg, &holder, path, &d) < 0) {
		struct nc_buf b = NC_BUF_INIT;

		nc_diags_format_text(&d, &b, 0);
		fprintf(stderr, "%s", b.buf ? b.buf : "");
		nc_buf_release(&b);
	} else {
		out = nc_xstrdup(NC_IS_SET(cfg.state_dir) ? cfg.state_dir.v : NC_SERVE_STATE_DIR);
	}
	nc_diags_release(&d);
	if (holder)
		nc_spec_free(holder);
	return out;
}

int cmd_token(int argc, char **argv)
{
	struct nc_token_info info;
	struct nc_err err = { "" };
	enum nc_output out = NC_OUT_TEXT;
	const char *state_dir = NULL, *config = NULL, *sub;
	char *owned = NULL, secret[128];
	long long expires = 0;
	bool has_role = false;
	int c, ret = NC_EXIT_ERROR;
	size_t nargs;
	struct nc_getopt g;

	memset(&info, 0, sizeof(info));
	nc_getopt_init(&g, token_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			state_dir = optarg;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_ROLE:
			if (nc_role_parse(optarg, &info.role) < 0 || info.role == NC_ROLE_NONE) {
				fprintf(stderr, "novacron token: --role must be viewer, operator or admin\n");
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			has_role = true;
			break;
		case OPT_TENANT:
			if (!nc_token_name_ok(optarg)) {
				fprintf(stderr, "novacron token: --tenant '%s' is not a tenant name\n", optarg);
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			if (info.ntenants >= NC_PRINCIPAL_MAX_TENANTS) {
				fprintf(stderr, "novacron token: at most %d --tenant\n", NC_PRINCIPAL_MAX_TENANTS);
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			snprintf(info.tenants[info.ntenants++], sizeof(info.tenants[0]), "%s", optarg);
			break;
		case OPT_EXPIRES:
			expires = parse_expiry(optarg);
			if (expires < 0) {
				fprintf(stderr, "novacron token: --expires takes a duration such as 30d, 12h, 90m, 2w\n");
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case 'o':
			if (nc_cli_output(optarg, 3, &out) < 0) {
				fprintf(stderr, "novacron token: --output must be text or json\n");
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_token);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			goto usage;
		}
	}
	nc_getopt_release(&g);
	if (optind >= argc)
		goto usage;
	sub = argv[optind];
	nargs = (size_t)(argc - optind - 1);
	if (!state_dir && config) {
		owned = config_state_dir(config);
		if (!owned)
			return NC_EXIT_ERROR;
		state_dir = owned;
	}
	if (!state_dir)
		state_dir = NC_SERVE_STATE_DIR;
	if (strcmp(sub, "create") == 0 && nargs == 1) {
		if (!has_role) {
			fprintf(stderr, "novacron token create: --role viewer|operator|admin is required\n");
			goto out;
		}
		snprintf(info.name, sizeof(info.name), "%s", argv[optind + 1]);
		if (strlen(argv[optind + 1]) >= sizeof(info.name) || !nc_token_name_ok(argv[optind + 1])) {
			fprintf(stderr, "novacron token create: '%s' is not a token name (1 to 63 letters, digits, '.', '_', '-')\n",
				argv[optind + 1]);
			goto out;
		}
		info.created = time(NULL);
		info.expires = expires ? info.created + (time_t)expires : 0;
		if (nc_token_create(state_dir, &info, secret, sizeof(secret), &err) < 0) {
			fprintf(stderr, "novacron token create: %s\n", err.msg);
			goto out;
		}
		/* the secret on stdout alone (scripts capture it); the rest on stderr */
		printf("%s\n", secret);
		fprintf(stderr, "token %s (%s) created; the secret above is shown once, keep it now\n", info.name,
			nc_role_name(info.role));
		memset(secret, 0, sizeof(secret));
		ret = NC_EXIT_OK;
	} else if (strcmp(sub, "list") == 0 && nargs == 0) {
		ret = token_list(state_dir, out);
	} else if (strcmp(sub, "revoke") == 0 && nargs == 1) {
		if (nc_token_revoke(state_dir, argv[optind + 1], &err) < 0) {
			fprintf(stderr, "novacron token revoke: %s\n", err.msg);
			goto out;
		}
		printf("token %s revoked\n", argv[optind + 1]);
		ret = NC_EXIT_OK;
	} else {
		goto usage;
	}
out:
	free(owned);
	return ret;
usage:
	free(owned);
	nc_cmd_usage_error(&nc_doc_token);
	return NC_EXIT_ERROR;
}
