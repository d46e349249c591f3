/*
 * cmd-decommission.c - `novacron decommission HOST [--force] [--state-dir DIR]`
 *
 * Removes a host from the record of hosts NovaCron has seen
 * (STATE_DIR/hosts.json, reconciler/hostrec.h), so that passes stop
 * observing it and the VMs it held may be created elsewhere.  A host that
 * leaves the spec is not an empty host (docs/development.md, invariant 8): this is the
 * explicit step that says it is.  The host is opened by the URI it was last
 * declared with (checked again, with the operator's connections applied) and
 * decommission refuses while it still holds managed domains, or cannot be
 * read, unless --force.  It changes nothing on the host.
 * Exit: 0 removed, 1 refused or error.
 */
#include "cli.h"
#include "pass-cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_STATE_DIR = NC_OPT_LONG_ONLY, OPT_CONFIG, OPT_TIMEOUT, OPT_FORCE };

static const struct nc_opt decommission_opts[] = {
	{ "force", OPT_FORCE, NULL, "forget the host even if it still holds managed VMs or cannot be read",
	  NC_COMP_NONE, NULL },
	{ "state-dir", OPT_STATE_DIR, "DIR", "where the record of hosts is kept (default as plan's)", NC_COMP_DIR, NULL },
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration: how to reach the host (default "
	  "$NOVACRON_CONFIG)", NC_COMP_FILE, NULL },
	{ "timeout", OPT_TIMEOUT, "SEC", "give up on the host if it does not answer within SEC seconds "
	  "(1-3600, default 30)", NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const decommission_examples[] = {
	"forget kvm3 after removing it from the spec and moving its VMs away",
	"novacron decommission kvm3",
	"forget a host that is gone for good and cannot be read",
	"novacron decommission kvm3 --force",
	NULL,
};

const struct nc_cmd_doc nc_doc_decommission = {
	"decommission", "decommission HOST [--force] [OPTIONS]",
	"forget a host that left the spec, once it holds no managed VM (docs/plan.md)",
	"A host that leaves the spec is still observed, so the VMs it holds are not created twice. "
	"decommission removes it from the record of hosts (STATE_DIR/hosts.json): passes stop observing it "
	"and its VMs may be created elsewhere. It reads the host first and refuses while it holds managed "
	"VMs or cannot be read, unless --force. It changes nothing on the host. Exit 0 removed, 1 refused "
	"or error.",
	decommission_opts, decommission_examples, NC_COMP_HOST, NULL,
};

static void list_vms(struct nc_buf *b, char *const *vms, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		nc_buf_addf(b, "%s%s", i ? ", " : "", vms[i]);
	if (!n)
		nc_buf_adds(b, "none recorded");
}

int cmd_decommission(int argc, char **argv)
{
	struct nc_pass_args a;          /* only for the default state dir */
	struct nc_cli_config cfg;
	struct nc_hostrec rec = { 0 }, one = { 0 };
	struct nc_observe_opts oo;
	struct nc_cluster cl;
	struct nc_spec none;
	struct nc_err err = { "" };
	struct nc_buf b = NC_BUF_INIT;
	const struct nc_hostrec_host *rh;
	const char *state_dir = NULL, *config_file = NULL, *name;
	unsigned timeout_s = 30;
	bool force = false, observed = false, have_cfg = false;
	struct nc_getopt g;
	int c, lock = -1, ret = NC_EXIT_ERROR;

	memset(&a, 0, sizeof(a));
	memset(&cl, 0, sizeof(cl));
	nc_getopt_init(&g, decommission_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			state_dir = optarg;
			break;
		case OPT_CONFIG:
			config_file = optarg;
			break;
		case OPT_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (!*optarg || *end || v < 1 || v > 3600) {
				fprintf(stderr, "novacron decommission: --timeout must be a number from 1 to 3600\n");
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			timeout_s = (unsigned)v;
			break;
		}
		case OPT_FORCE:
			force = true;
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_decommission);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			goto usage;
		}
	}
	nc_getopt_release(&g);
	if (optind != argc - 1)
		goto usage;
	name = argv[optind];
	if (!state_dir)
		state_dir = nc_pass_default_state_dir(&a);
	if (nc_cli_config_load(&cfg, "decommission", config_file) < 0)
		goto out;
	have_cfg = true;

	/* held until the record is written: a pass that ends meanwhile waits */
	lock = nc_hostrec_lock(state_dir, &err);
	if (lock < 0 || nc_hostrec_load(&rec, state_dir, &err) < 0) {
		fprintf(stderr, "novacron decommission: %s\n", err.msg);
		goto out;
	}
	rh = nc_hostrec_find(&rec, name);
	if (!rh) {
		size_t i;

		for (i = 0; i < rec.nhosts; i++)
			nc_buf_addf(&b, "%s%s", i ? ", " : "", rec.hosts[i].name);
		fprintf(stderr, "novacron decommission: no host named '%s' in the record of hosts %s/%s "
				"(recorded: %s)\n", name, state_dir, NC_HOSTREC_FILE, b.len ? b.buf : "none");
		goto out;
	}

	/* observe it alone, as a pass observes a host that left the spec */
	one.hosts = (struct nc_hostrec_host *)rh;
	one.nhosts = 1;
	memset(&none, 0, sizeof(none));
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = state_dir;
	oo.timeout_ms = timeout_s * 1000;
	oo.connections = &cfg.connections;
	oo.record = &one;
	nc_observe(&cl, &none, &oo);
	observed = true;
	if (cl.ngone != 1) {
		fprintf(stderr, "novacron decommission: internal error: %s was not observed\n", name);
		goto out;
	}

	nc_buf_reset(&b);
	if (cl.gone[0].status != NC_HOST_OK) {
		list_vms(&b, cl.gone[0].vms, cl.gone[0].nvms);
		if (!force) {
			fprintf(stderr,
				"novacron decommission: refusing: %s cannot be read (%s); it may still run the VMs "
				"last seen on it (%s).\n"
				"Fix the connection and run decommission again, or, if %s is gone for good, pass "
				"--force: the next apply then creates those VMs on other hosts, and if %s still runs "
				"them they run twice (same MAC addresses, same disks on shared storage).\n",
				name, cl.gone[0].error, b.buf, name, name);
			goto out;
		}
		fprintf(stderr, "novacron decommission: warning: %s cannot be read (%s); forgetting it anyway "
				"(--force): the next apply creates the VMs last seen on it (%s) on other hosts; "
				"if %s still runs them, they run twice\n", name, cl.gone[0].error, b.buf, name);
	} else {
		const struct nc_observed_host *o = &cl.gone[0].obs;
		size_t i, n = 0;

		for (i = 0; i < o->ndoms; i++)
			if (o->doms[i].managed)
				nc_buf_addf(&b, "%s%s", n++ ? ", " : "",
					    o->doms[i].meta_vm ? o->doms[i].meta_vm : o->doms[i].name);
		if (n && !force) {
			fprintf(stderr,
				"novacron decommission: refusing: %s still holds %zu managed VM%s (%s).\n"
				"Declare it in the spec again with maintenance: true and apply, so that %s move%s to "
				"the other hosts, then decommission it. --force forgets it anyway: the next apply "
				"then creates %s elsewhere while %s still run%s on %s (same MAC addresses twice).\n",
				name, n, n == 1 ? "" : "s", b.buf, n == 1 ? "it" : "they", n == 1 ? "s" : "",
				n == 1 ? "it" : "them", n == 1 ? "it" : "they", n == 1 ? "s" : "", name);
			goto out;
		}
		if (n)
			fprintf(stderr, "novacron decommission: warning: %s still holds %zu managed VM%s (%s); "
					"forgetting it anyway (--force): the next apply creates %s elsewhere while "
					"%s still run%s on %s\n", name, n, n == 1 ? "" : "s", b.buf,
				n == 1 ? "it" : "them", n == 1 ? "it" : "they", n == 1 ? "s" : "", name);
	}

	nc_hostrec_forget(&rec, name);
	if (nc_hostrec_save(&rec, state_dir, &err) < 0) {
		fprintf(stderr, "novacron decommission: %s\n", err.msg);
		goto out;
	}
	printf("Decommissioned %s: removed from the record of hosts (%s/%s); NovaCron no longer observes it.\n"
	       "If the spec still declares it, the next apply records it again.\n",
	       name, state_dir, NC_HOSTREC_FILE);
	ret = NC_EXIT_OK;
	goto out;
usage:
	nc_cmd_usage_error(&nc_doc_decommission);
	return NC_EXIT_ERROR;
out:
	if (observed)
		nc_cluster_release(&cl);
	nc_hostrec_release(&rec);
	nc_hostrec_unlock(lock);
	if (have_cfg)
		nc_cli_config_release(&cfg);
	nc_buf_release(&b);
	nc_pass_args_release(&a);
	return ret;
}
