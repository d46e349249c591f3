/*
 * network.h - libvirt virtual networks on a host (issue 11, Networks).
 *
 * A Network of type nat or isolated becomes a libvirt network of the same
 * name on every host that needs it (reconciler/networks.c decides which).
 * Its XML is built here with libxml2 (never by hand: names, MACs and
 * addresses from the spec are only ever attribute values or text nodes) and
 * carries NovaCron's ownership element in <metadata>:
 *
 *   <nc:network xmlns:nc="https://novacron.io/xmlns/network/1">
 *     <nc:name>lan</nc:name><nc:hash>SHA-256 of the definition</nc:hash>
 *     <nc:commit>...</nc:commit>
 *   </nc:network>
 *
 * A network without it is unmanaged: observed and reported, never changed.
 *
 * What a definition holds: <forward mode="nat"/> (nat; none for isolated),
 * <bridge name=.../> when the spec names one (else libvirt picks virbrN),
 * one <ip> per family (the host takes the subnet's first address) with, on
 * IPv4, <dhcp> (a range, and one <host mac name ip/> per static lease), and
 * <dns> with one <host ip><hostname/></host> per VM name.
 *
 * The calls work on any libvirt connection (sim hosts: the test driver,
 * whose networks are saved with the host's state file by its commit()).
 * Mutating calls honour NOVACRON_FAIL_AT (driver.h) and return 0 or a
 * negative code with err filled.
 */
#ifndef NC_NETWORK_H
#define NC_NETWORK_H

#include <stdbool.h>
#include <stddef.h>

#include "../driver.h"

#define NC_NET_XMLNS "https://novacron.io/xmlns/network/1"

/* a static lease (DHCP host entry) and/or a DNS name */
struct nc_net_host {
	char *mac;               /* NULL: DNS only */
	char *name;              /* VM name: DHCP host name and DNS hostname */
	char *ip;
};

/* the part of a network definition NovaCron sets, desired or observed */
struct nc_net_def {
	char *name;
	char *uuid;              /* NULL: new (nc_net_define keeps an existing network's) */
	char *forward;           /* "nat", or NULL (isolated) */
	char *bridge;            /* NULL: libvirt's choice (desired), unknown (observed) */
	char *ip4;               /* host address, e.g. 192.168.122.1; NULL: no IPv4 */
	unsigned prefix4;
	char *ip6;               /* host address, e.g. fd00:1::1; NULL: no IPv6 */
	unsigned prefix6;
	bool dhcp;
	char *dhcp_start, *dhcp_end;
	struct nc_net_host *leases;  /* DHCP hosts, sorted by MAC */
	size_t nleases;
	struct nc_net_host *dns;     /* DNS hosts, sorted by IP */
	size_t ndns;
	bool autostart;          /* desired only; observed: see struct nc_net_obs */
	/* ownership */
	char *meta_name, *meta_hash, *meta_commit;
};
void nc_net_def_release(struct nc_net_def *d);
/* puts leases (by MAC) and DNS hosts (by IP, then name) in the order above */
void nc_net_def_sort(struct nc_net_def *d);

struct nc_net_obs {
	struct nc_net_def cfg;   /* persistent definition (cfg.name is the libvirt name) */
	struct nc_net_def live;  /* running definition; equal to cfg when inactive */
	bool active, persistent, autostart;
	bool managed;            /* cfg carries NovaCron's element */
};
void nc_net_obs_release(struct nc_net_obs *o);

/* XML: generate (caller frees) and parse (out filled on success). */
char *nc_netxml_build(const struct nc_net_def *def);
int nc_netxml_parse(struct nc_net_def *out, const char *xml, struct nc_err *err);

/* Every network of the host, sorted by name (*out owned by the caller). */
int nc_net_list(struct nc_host_conn *host, struct nc_net_obs **out, size_t *n, struct nc_err *err);
/* One network: 1 and *out filled, 0 when there is none. */
int nc_net_lookup(struct nc_host_conn *host, const char *name, struct nc_net_obs *out,
		  struct nc_err *err);
/* Defines (or replaces the persistent definition of) def->name. */
int nc_net_define(struct nc_host_conn *host, const struct nc_net_def *def, struct nc_err *err);
/* Starts it when inactive; restart: stops it first when active. */
int nc_net_start(struct nc_host_conn *host, const char *name, bool restart, struct nc_err *err);
int nc_net_set_autostart(struct nc_host_conn *host, const char *name, bool on, struct nc_err *err);
/*
 * Brings the running network's DHCP host and DNS host entries to want's
 * with virNetworkUpdate (live only: the persistent definition is written by
 * nc_net_define): entries in have but not in want are deleted, missing ones
 * added.  *changed counts the entries changed.
 */
int nc_net_update_live(struct nc_host_conn *host, const char *name, const struct nc_net_def *have,
		       const struct nc_net_def *want, size_t *changed, struct nc_err *err);
/* Stops (when active) and undefines; a missing network is not an error. */
int nc_net_delete(struct nc_host_conn *host, const char *name, struct nc_err *err);

#endif
