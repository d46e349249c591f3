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

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int cmd_sim(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = getenv("NOVACRON_STATE_DIR");
	char *owned = NULL;
	struct nc_err err = { "" };
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			state_dir = optarg;
			break;
		case 'h':
			printf("usage: novacron sim [--state-dir DIR] HOST list|define-unmanaged NAME|define XMLFILE|start DOM|"
			       "destroy DOM|undefine DOM|setmem DOM SIZE|setvcpus DOM N|detach-nic DOM MAC|down|up|"
			       "load [VM [cpu=SHARE] [memory=SHARE] [disk-read=SIZE] [disk-write=SIZE] "
			       "[disk-read-ops=N] [disk-write-ops=N] [net-rx=SIZE] [net-tx=SIZE] | VM --clear]\n");
			return NC_EXIT_OK;
		default:
			return NC_EXIT_ERROR;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: novacron sim [--state-dir DIR] HOST COMMAND [ARGS]\n");
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
