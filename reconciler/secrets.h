/*
 * secrets.h - the libvirt secret that holds an rbd pool's cephx key on a host.
 *
 * A StoragePool of type rbd with rbd.keyFile gets one libvirt secret (usage
 * type ceph) on every host that runs, or is about to run, a VM with a disk
 * in it.  Its identity derives from the pool's name alone, so re-applying
 * finds it again: usage name "novacron-ceph-POOL", UUID from
 * SHA-256("novacron ceph secret POOL") (version 5 layout).  Its description
 * names the pool and user and carries a fingerprint of the key (16 hex digits of
 * SHA-256 over the UUID and the key: nothing to recover the key from), so a
 * plan can tell that the key changed without reading the (private) value.
 * The key itself is read from the key file at plan time (to compare) and at
 * apply time (to set), and never enters a plan, a log or any output.
 * Planning them (nc_plan_secrets, nc_plan_secret_deps) is declared in
 * plan-int.h; apply.c sets them through the host driver's secret_define.
 */
#ifndef NC_SECRETS_H
#define NC_SECRETS_H

#include "../spec/model.h"

struct nc_ceph_secret {
	char uuid[37];
	char *usage;             /* novacron-ceph-POOL */
	char *user;              /* cephx id (admin when the pool names none) */
	char *description;       /* with the key's fingerprint; NULL before nc_ceph_secret_load */
	unsigned char *value;    /* the decoded key; NULL before nc_ceph_secret_load */
	size_t len;
};

/* The secret's identity (uuid, usage, user) for an rbd pool with a keyFile. */
void nc_ceph_secret_init(struct nc_ceph_secret *out, const struct nc_pool *pool);
/* Reads the key file: description and value; -1 with a message naming the pool and file. */
int nc_ceph_secret_load(struct nc_ceph_secret *s, const struct nc_pool *pool, char **msg);
/* Wipes the value and frees everything. */
void nc_ceph_secret_release(struct nc_ceph_secret *s);

#endif
