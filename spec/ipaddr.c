/* ipaddr.c - IPv4/IPv6 addresses and CIDR ranges; see ipaddr.h */
#include "ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int nc_ip_parse(struct nc_ip *out, const char *s)
{
	struct nc_ip ip;

	memset(&ip, 0, sizeof(ip));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, ip.b) != 1)
			return -1;
		ip.family = 6;
	} else {
		if (inet_pton(AF_INET, s, ip.b) != 1)
			return -1;
		ip.family = 4;
	}
	*out = ip;
	return 0;
}

static unsigned bits(const struct nc_ip *ip)
{
	return ip->family == 6 ? 128 : 32;
}

int nc_cidr_parse(struct nc_cidr *out, const char *s, const char **why)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	struct nc_cidr c;
	char *end;
	long prefix;
	size_t n;
	unsigned bit;

	*why = "expected an address range such as 192.168.122.0/24 or fd00::/64";
	if (!slash || (n = (size_t)(slash - s)) >= sizeof(addr))
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	memset(&c, 0, sizeof(c));
	if (nc_ip_parse(&c.ip, addr) < 0)
		return -1;
	if (!slash[1] || slash[1] < '0' || slash[1] > '9')
		return -1;
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	if (*end || errno || prefix < 0 || prefix > (long)bits(&c.ip))
		return -1;
	c.prefix = (unsigned)prefix;
	for (bit = c.prefix; bit < bits(&c.ip); bit++) {
		if (c.ip.b[bit / 8] & (0x80 >> (bit % 8))) {
			*why = "host bits are set: give the first address of the range, e.g. 192.168.122.0/24";
			return -1;
		}
	}
	*out = c;
	return 0;
}

int nc_ip_cmp(const struct nc_ip *a, const struct nc_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, a->family == 6 ? 16 : 4);
}

/* the first `prefix` bits of a and b are equal */
static bool same_prefix(const struct nc_ip *a, const struct nc_ip *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a->b, b->b, full) != 0)
		return false;
	if (!rest)
		return true;
	return ((a->b[full] ^ b->b[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool nc_cidr_contains(const struct nc_cidr *c, const struct nc_ip *ip)
{
	return c->ip.family == ip->family && same_prefix(&c->ip, ip, c->prefix);
}

bool nc_cidr_overlap(const struct nc_cidr *a, const struct nc_cidr *b)
{
	return a->ip.family == b->ip.family &&
	       same_prefix(&a->ip, &b->ip, a->prefix < b->prefix ? a->prefix : b->prefix);
}

void nc_cidr_nth(const struct nc_cidr *c, uint64_t n, struct nc_ip *out)
{
	int i = (c->ip.family == 6 ? 16 : 4) - 1;
	unsigned carry = 0;

	*out = c->ip;
	for (; i >= 0 && (n || carry); i--) {
		unsigned v = out->b[i] + (unsigned)(n & 0xff) + carry;

		out->b[i] = (unsigned char)v;
		carry = v >> 8;
		n >>= 8;
	}
}

void nc_cidr_last(const struct nc_cidr *c, struct nc_ip *out)
{
	unsigned bit;

	*out = c->ip;
	for (bit = c->prefix; bit < bits(&c->ip); bit++)
		out->b[bit / 8] |= (unsigned char)(0x80 >> (bit % 8));
}

void nc_ip_format(const struct nc_ip *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->family == 6 ? AF_INET6 : AF_INET, ip->b, buf, (socklen_t)len) && len)
		buf[0] = '\0';
}
