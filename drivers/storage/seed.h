/*
 * seed.h - cloud-init NoCloud seeds: the three files a VM's cloud-init reads
 * at boot, put into an ISO 9660 image labelled "cidata" (libisofs).
 *
 * A seed holds
 *   user-data       the spec's cloudInit.userData, byte for byte (empty when
 *                   only networkConfig is given: NoCloud wants the file);
 *   meta-data       "instance-id: nc-<32 hex>" and "local-hostname: <VM>";
 *                   the instance-id is SHA-256 over the other files and the
 *                   hostname, so any change gives a new one and cloud-init
 *                   runs its per-instance modules again at the next boot;
 *   network-config  the spec's cloudInit.networkConfig verbatim, or (when
 *                   none is given) version 2 generated from the VM's NICs:
 *                   each matched by its MAC address, with DHCPv4.
 *
 * The image has Rock Ridge and Joliet trees (cloud-init mounts it and reads
 * the files by their lower-case names; blkid finds it by its label), the
 * volume id "cidata", and no time of its own: every timestamp is fixed
 * (2000-01-01 00:00:00 UTC), owners root, modes 0444/0555.  The same files
 * give the same bytes, in any process, so plans and volumes are
 * reproducible.
 *
 * Text from the spec only ever becomes file content inside the image; the
 * generated YAML quotes every value it writes (names are DNS labels, MACs
 * lower-case hex already, but they are quoted anyway).
 */
#ifndef NC_SEED_H
#define NC_SEED_H

#include <stddef.h>

#include "../driver.h"

#define NC_SEED_LABEL "cidata"
/* the seed volume of VM <vm> is "<vm>-cidata.iso" in its first disk's pool */
#define NC_SEED_SUFFIX "-cidata.iso"

/*
 * The meta-data file (allocated) for hostname, and the instance-id in
 * iid[] ("nc-" + 32 hex digits), from the three inputs; network_config
 * NULL = no network-config file.
 */
char *nc_seed_meta_data(char iid[40], const char *hostname, const char *user_data,
	const char *network_config);

/* network-config version 2 for the NICs (match by MAC, dhcp4); allocated. */
char *nc_seed_network_config(const struct nc_nic_def *nics, size_t nnics);

/*
 * The ISO image of the files (network_config NULL = left out): *out
 * (malloc'd, caller frees) and *len, a multiple of 2048.  0 or -1 with err.
 */
int nc_seed_iso(unsigned char **out, size_t *len, const char *user_data, const char *meta_data,
	const char *network_config, struct nc_err *err);

#endif
