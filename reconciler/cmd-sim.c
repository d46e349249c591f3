/*
 * cmd-sim.c - `novacron sim [--state-dir DIR] HOST COMMAND [ARGS]`
 *
 * Changes a simulated (sim:///HOST) host by hand, as an operator with virsh
 * would change a real one, to try drift detection and recovery:
 *   list                      domains with state, vCPUs, memory, ownership
 *   define-unmanaged NAME     a domain NovaCron does not own
 *   start|destroy|undefine DOM
 *   setmem DOM SIZE           live balloon (virsh setmem)
 *   setvcpus DOM N            persistent vCPU count
 *   detach-nic DOM MAC        remove a NIC from the persistent definition
 *   down | up                 the host becomes unreachable (every open fails), and back
 *                             with its domains as they were (docs/ha.md)
 *   load [VM [KEY=VALUE...]]  synthetic load of its VMs (cpu=0.8 memory=0.5 disk-read=10MiB
 *   load VM --clear           ...), or back to the VM's baseline (docs/monitoring.md)
 */
#include "pass-cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_STATE_DIR = NC_OPT_LONG_ONLY };

static const struct nc_opt sim_opts[] = {
	{ "state-dir", OPT_STATE_DIR, "DIR", "where the simulated hosts are kept (default as plan's)", NC_COMP_DIR, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const sim_examples[] = {
	"drift: shrink a VM's memory behind NovaCron's back, then see plan notice it",
	"novacron sim kvm1 setmem web-3 1GiB && novacron plan examples/quickstart",
	"take kvm1 down to try HA, then bring it back",
	"novacron sim kvm1 down && novacron sim kvm1 up",
	"make web-3 look busy for the load-aware placement and graphs",
	"novacron sim kvm1 load web-3 cpu=0.8 memory=0.5",
	NULL,
};

const struct nc_cmd_doc nc_doc_sim = {
	"sim", "sim [--state-dir DIR] HOST COMMAND [ARGS]",
	"change a simulated host by hand, as virsh would (to try drift), or take it down (to try HA)",
	"Changes a simulated (sim:///HOST) host as an operator with virsh would change a real one. "
	"COMMAND is one of: list (domains with state, vCPUs, memory, ownership); define-unmanaged NAME "
	"(a domain NovaCron does not own); define XMLFILE (define a domain from libvirt XML, as virsh define); start DOM, destroy DOM, undefine DOM; setmem DOM SIZE (a live "
	"balloon); setvcpus DOM N; detach-nic DOM MAC; down and up (the host becomes unreachable, and back "
	"with its domains as they were); load [VM [cpu=SHARE] [memory=SHARE] [disk-read=SIZE] "
	"[disk-write=SIZE] [disk-read-ops=N] [disk-write-ops=N] [net-rx=SIZE] [net-tx=SIZE]] (synthetic load "
	"of its VMs), load VM --clear (back to the VM's baseline).",
	sim_opts, sim_examples, NC_COMP_HOST,
	"list define-unmanaged define start destroy undefine setmem setvcpus detach-nic down up load",
};

int cmd_sim(int argc, char **argv)
{
	const char *state_dir = getenv("NOVACRON_STATE_DIR");
	char *owned = NULL;
	struct nc_err err = { "" };
	struct nc_getopt g;
	int c, ret;

	nc_getopt_init(&g, sim_opts, "+");
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			state_dir = optarg;
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_sim);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_sim);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (argc - optind < 2) {
		nc_cmd_usage_error(&nc_doc_sim);
		return NC_EXIT_ERROR;
	}
	if (!state_dir || !*state_dir) {
		const char *home = getenv("XDG_STATE_HOME");

		owned = home && *home ? nc_xasprintf("%s/novacron", home)
				      : nc_xasprintf("%s/.local/state/novacron",
						     getenv("HOME") ? getenv("HOME") : "/tmp");
		state_dir = owned;
	}
	ret = nc_sim_tool(state_dir, argv[optind], argc - optind - 1, argv + optind + 1, stdout, &err);
	if (ret < 0)
		fprintf(stderr, "novacron sim: %s\n", err.msg);
	free(owned);
	return ret < 0 ? NC_EXIT_ERROR : NC_EXIT_OK;
}
