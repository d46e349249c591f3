/*
 * ipaddr.h - IPv4/IPv6 addresses and CIDR ranges, for Network subnets,
 * DHCP ranges and fixed NIC addresses (validate.c) and for the network
 * definitions built from them (reconciler/networks.c).
 *
 * Addresses are kept as 16 bytes in network order (IPv4 in the first 4);
 * parsing goes through inet_pton, so only canonical textual forms that the
 * C library accepts pass.  Nothing here allocates.
 */
#ifndef NC_IPADDR_H
#define NC_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nc_ip {
	int family;                  /* 4 or 6 */
	unsigned char b[16];
};

struct nc_cidr {
	struct nc_ip ip;             /* first address of the range (host bits clear) */
	unsigned prefix;
};

/* "192.168.1.5" or "fd00::5": 0, or -1 when it is neither. */
int nc_ip_parse(struct nc_ip *out, const char *s);
/* "192.168.1.0/24": 0; -1 and *why when malformed or host bits are set. */
int nc_cidr_parse(struct nc_cidr *out, const char *s, const char **why);
/* <0, 0, >0 as a sorts before b (by family, then bytes). */
int nc_ip_cmp(const struct nc_ip *a, const struct nc_ip *b);
bool nc_cidr_contains(const struct nc_cidr *c, const struct nc_ip *ip);
bool nc_cidr_overlap(const struct nc_cidr *a, const struct nc_cidr *b);
/* The address n past the first of c (n = 1: the first usable); no range check. */
void nc_cidr_nth(const struct nc_cidr *c, uint64_t n, struct nc_ip *out);
/* The last address of c (IPv4: the broadcast address). */
void nc_cidr_last(const struct nc_cidr *c, struct nc_ip *out);
/* Text form of ip into buf (at least 46 bytes). */
void nc_ip_format(const struct nc_ip *ip, char *buf, size_t len);

#endif
