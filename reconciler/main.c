/*
 * main.c - the novacron command line: the command table and dispatch.
 */
#include "cli.h"
#include "pass-cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../spec/model.h"

#ifndef NC_VERSION
#define NC_VERSION "0.1.0"
#endif

static const struct nc_cmd cmds[] = {
	{ "validate", cmd_validate, "validate [PATH...] [--output text|json] [--quiet]",
	  "check a cluster spec and report every problem as file:line:col", NULL },
	{ "plan", cmd_plan, "plan [PATH...] [--output text|json|markdown] [--out PLANFILE] [--state-dir DIR] ...",
	  "show what apply would change (exit 0 none, 2 changes, 1 error)", &nc_doc_plan },
	{ "apply", cmd_apply, "apply [PLANFILE | PATH...] [--auto-approve] [--state-dir DIR] ...",
	  "make the cluster match the spec, or apply a saved plan verbatim", &nc_doc_apply },
	{ "serve", cmd_serve, NULL, NULL, &nc_doc_serve },
	{ "status", cmd_status, "status [--url http://127.0.0.1:9090] [--output text|json]",
	  "show what a running serve reports", NULL },
	{ "capacity", cmd_capacity, "capacity [PATH...] [--state-dir DIR] [--template NAME] [--output text|json] [--forecast [30d]]",
	  "usage per host, N+1 (can every host fail safely?), imbalance, room for a template; "
	  "--forecast: when they run out", NULL },
	{ "backup", cmd_backup, "backup run VM...|--schedule NAME, list|check|prune --schedule NAME",
	  "back VMs up now, list backups, verify a repository, apply retention (docs/backup.md)", NULL },
	{ "restore", cmd_restore, "restore VM --backup ID [--as NEWNAME] [--host HOST]",
	  "write a backup back into a VM's disks, or into a new VM beside it", NULL },
	{ "decommission", cmd_decommission, "decommission HOST [--force] [--state-dir DIR] [--config FILE]",
	  "forget a host that left the spec, once it holds no managed VM (docs/plan.md)", NULL },
	{ "fence", cmd_fence, "fence confirm HOST [--by NAME] [--force] | run HOST [PATH...] [--force] | list [--output text|json] | clear HOST",
	  "the HA record of failed hosts: confirm one is off by hand, run its fence devices, list, clear (docs/ha.md)", NULL },
	{ "graph", cmd_graph, "graph host|vm|pool NAME METRIC [--since 24h] [--until now] -o FILE.png [--state-dir DIR]",
	  "draw a metric's history (average and maximum) as a PNG (docs/monitoring.md)", NULL },
	{ "token", cmd_token, "token create NAME --role viewer|operator|admin [--tenant T]... [--expires 30d] | list | revoke NAME",
	  "API tokens for serve's API and dashboard: the secret is shown once, stored hashed (docs/security.md)", NULL },
	{ "sim", cmd_sim, "sim [--state-dir DIR] HOST list|setmem DOM SIZE|destroy DOM|down|up|...",
	  "change a simulated host by hand, as virsh would (to try drift), or take it down (to try HA)", NULL },
	{ "explain", cmd_explain, "explain [KIND[.field...]] [--markdown]",
	  "describe the kinds and fields of the spec", NULL },
	{ "show", cmd_show, NULL, NULL, &nc_doc_show },
	{ "get", cmd_get, NULL, NULL, &nc_doc_get },
	{ "list", cmd_get, NULL, NULL, &nc_doc_get },
	{ "import", cmd_import, NULL, NULL, &nc_doc_import },
	{ "diff", cmd_diff, NULL, NULL, &nc_doc_diff },
	{ "history", cmd_history, NULL, NULL, &nc_doc_history },
	{ "comment", cmd_comment, NULL, NULL, &nc_doc_comment },
	{ "schema", cmd_schema, NULL, NULL, &nc_doc_schema },
	{ "man", cmd_man, NULL, NULL, &nc_doc_man },
	{ "completion", cmd_completion, NULL, NULL, &nc_doc_man },
};

/* a command's usage line and summary: its doc's when it has one */
static const char *cmd_usage(const struct nc_cmd *c)
{
	return c->usage ? c->usage : c->doc->synopsis;
}

static const char *cmd_summary(const struct nc_cmd *c)
{
	return c->summary ? c->summary : c->doc->summary;
}

const struct nc_cmd_doc *const *nc_cli_docs(size_t *n)
{
	static const struct nc_cmd_doc *docs[NC_ARRAY_SIZE(cmds)];
	static size_t ndocs;
	size_t i, j;

	if (!ndocs) {
		for (i = 0; i < NC_ARRAY_SIZE(cmds); i++) {
			if (!cmds[i].doc)
				continue;
			for (j = 0; j < ndocs && docs[j] != cmds[i].doc; j++)
				;
			if (j == ndocs)
				docs[ndocs++] = cmds[i].doc;
		}
	}
	*n = ndocs;
	return docs;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: novacron COMMAND [ARGS]\n\n"
		   "NovaCron converges a KVM/libvirt cluster to the spec kept in git.\n\n"
		   "commands:\n");
	for (i = 0; i < NC_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmd_summary(&cmds[i]));
	fprintf(f, "\nusage of each command:\n");
	for (i = 0; i < NC_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  novacron %.*s\n", (int)strcspn(cmd_usage(&cmds[i]), "\n"), cmd_usage(&cmds[i]));
	fprintf(f, "\nexit codes: 0 ok or nothing to do, 1 error, 2 changes pending (plan);\n"
		   "a plan or apply with a host that could not be read, or a VM it cannot create, exits 1\n"
		   "see docs/ for the user guide and the spec reference\n");
}

int nc_cli_output(const char *s, unsigned allowed, enum nc_output *out)
{
	static const char *const names[] = { "text", "json", "markdown" };
	unsigned i;

	for (i = 0; i < NC_ARRAY_SIZE(names); i++) {
		if (s && strcmp(s, names[i]) == 0 && (allowed & (1u << i))) {
			*out = (enum nc_output)i;
			return 0;
		}
	}
	return -1;
}

int nc_cli_color(FILE *f)
{
	const char *term = getenv("TERM");

	if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
		return 0;
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fileno(f));
}

int main(int argc, char **argv)
{
	size_t i;

	/*
	 * Defence in depth: whatever NovaCron creates (state, plans, leases,
	 * checkouts, repositories) is its owner's only, even where a call forgets
	 * its explicit mode.  Disk images are made by libvirt's daemon, not here.
	 */
	umask(077);
	if (argc < 2) {
		usage(stderr);
		return NC_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return NC_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("novacron %s (spec %s)\n", NC_VERSION, NC_API_VERSION);
		return NC_EXIT_OK;
	}
	for (i = 0; i < NC_ARRAY_SIZE(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "novacron: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return NC_EXIT_ERROR;
}
