/* secrets.c - see secrets.h */
#include "secrets.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../drivers/storage/storage.h"
#include "../spec/util.h"
#include "pass.h"

void nc_ceph_secret_init(struct nc_ceph_secret *out, const struct nc_pool *pool)
{
	const char *name = pool->obj.meta.name.v;
	char *seed = nc_xasprintf("novacron ceph secret %s", name);
	char hex[65];

	memset(out, 0, sizeof(*out));
	nc_sha256_hex(seed, strlen(seed), hex);
	free(seed);
	/* 8-4-4-4-12, version 5 and the RFC 4122 variant, so libvirt takes it as any UUID */
	hex[12] = '5';
	hex[16] = "89ab"[(hex[16] >= 'a' ? hex[16] - 'a' + 10 : hex[16] - '0') & 3];
	snprintf(out->uuid, sizeof(out->uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
	out->usage = nc_xasprintf("novacron-ceph-%s", name);
	out->user = nc_xstrdup(NC_IS_SET(pool->spec.rbd.user) && pool->spec.rbd.user.v[0] ?
			       pool->spec.rbd.user.v : "admin");
}

int nc_ceph_secret_load(struct nc_ceph_secret *s, const struct nc_pool *pool, char **msg)
{
	struct nc_err err = { "" };
	char *b64 = NULL, *seed, hex[65];

	if (nc_ceph_key_load(pool->spec.rbd.key_file.v, s->user, &b64, &s->value, &s->len, &err) < 0) {
		*msg = nc_xasprintf("StoragePool %s: %s", pool->obj.meta.name.v, err.msg);
		return -1;
	}
	seed = nc_xasprintf("novacron:%s:%s", s->uuid, b64);
	nc_sha256_hex(seed, strlen(seed), hex);
	OPENSSL_cleanse(seed, strlen(seed));
	free(seed);
	nc_ceph_key_free(b64, NULL, 0);
	free(s->description);
	s->description = nc_xasprintf("NovaCron: cephx key of client.%s for StoragePool %s (fingerprint %.16s)",
				      s->user, pool->obj.meta.name.v, hex);
	return 0;
}

void nc_ceph_secret_release(struct nc_ceph_secret *s)
{
	nc_ceph_key_free(NULL, s->value, s->len);
	free(s->usage);
	free(s->user);
	free(s->description);
	memset(s, 0, sizeof(*s));
}
