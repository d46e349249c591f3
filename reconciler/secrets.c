/* secrets.c - see secrets.h */
#include "secrets.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../drivers/storage/storage.h"
#include "../spec/util.h"
#include "plan-int.h"

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

static bool vm_uses_pool(const struct nc_vm *vm, const char *pool)
{
	size_t i;

	for (i = 0; vm && i < vm->eff.disks.n; i++) {
		const struct nc_disk *d = (const struct nc_disk *)vm->eff.disks.v + i;

		if (NC_IS_SET(d->pool) && strcmp(d->pool.v, pool) == 0)
			return true;
	}
	return false;
}

/*
 * (plan-int.h) The libvirt secret of each rbd pool with a keyFile, on each reachable host
 * where a VM with a disk in the pool is (observed) or goes (an action's host
 * or destination): created when missing, updated when its description (the
 * key's fingerprint) differs.  The key file is read here; an unreadable one
 * is an error of the plan.
 */
void nc_plan_secrets(struct nc_plan *p, size_t *alloc_a, size_t *alloc_n, const struct nc_spec *spec,
		     const struct nc_cluster *c)
{
	const struct nc_pool *pool;
	size_t i, j, h, nact = p->nactions;
	bool *need = nc_xcalloc(c->nhosts + 1, sizeof(*need));

	NC_SPEC_EACH(spec, NC_KIND_STORAGE_POOL, const struct nc_pool, pool, i) {
		const char *pn = pool->obj.meta.name.v;
		struct nc_ceph_secret sec;
		bool any = false;
		char *msg = NULL;

		if (!NC_IS_SET(pool->spec.type) || pool->spec.type.v != NC_POOL_RBD ||
		    !NC_IS_SET(pool->spec.rbd.key_file) || !pool->spec.rbd.key_file.v)
			continue;
		memset(need, 0, (c->nhosts + 1) * sizeof(*need));
		for (j = 0; j < nact; j++) {
			const struct nc_action *a = &p->actions[j];
			const struct nc_vm *vm = a->vmref ? a->vmref :
				(const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, a->vm);

			if (a->obj != NC_OBJ_VM || a->kind == NC_ACT_DELETE || a->kind == NC_ACT_STOP ||
			    !vm_uses_pool(vm, pn))
				continue;
			need[a->kind == NC_ACT_MIGRATE ? a->target : a->host] = true;
		}
		for (h = 0; h < c->nhosts; h++)
			for (j = 0; j < c->hosts[h].obs.ndoms; j++) {
				const struct nc_domain *d = &c->hosts[h].obs.doms[j];

				if (d->managed && d->meta_vm &&
				    vm_uses_pool((const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, d->meta_vm), pn))
					need[h] = true;
			}
		for (h = 0; h < c->nhosts; h++)
			any |= need[h] && c->hosts[h].status == NC_HOST_OK;
		if (!any)
			continue;
		nc_ceph_secret_init(&sec, pool);
		if (nc_ceph_secret_load(&sec, pool, &msg) < 0) {
			nc_plan_add_note(p, alloc_n, NC_NOTE_ERROR, NULL, "%s", msg);
			free(msg);
			nc_ceph_secret_release(&sec);
			continue;
		}
		for (h = 0; h < c->nhosts; h++) {
			const struct nc_observed_host *o = &c->hosts[h].obs;
			const struct nc_host_secret *have = NULL;
			struct nc_action *a;

			if (!need[h] || c->hosts[h].status != NC_HOST_OK)
				continue;
			for (j = 0; j < o->nsecrets; j++)
				if (strcmp(o->secrets[j].uuid, sec.uuid) == 0)
					have = &o->secrets[j];
			if (have && have->description && strcmp(have->description, sec.description) == 0)
				continue;
			a = nc_plan_add_action(p, alloc_a, have ? NC_ACT_UPDATE : NC_ACT_CREATE, pn, h);
			a->obj = NC_OBJ_SECRET;
			msg = nc_xasprintf("the key of client.%s in %s", sec.user, pool->spec.rbd.key_file.v);
			if (have) {
				a->reason = nc_xasprintf("the key in %s is not the one the host holds",
							 pool->spec.rbd.key_file.v);
				nc_plan_add_change(a, false, "value", "another key", msg);
			} else {
				a->reason = nc_xasprintf("disks of StoragePool %s authenticate as client.%s; the host "
							 "has no secret %s", pn, sec.user, sec.usage);
				nc_plan_add_change(a, false, "value", "-", msg);
			}
			free(msg);
			msg = NULL;
		}
		nc_ceph_secret_release(&sec);
	}
	free(need);
}

/* (plan-int.h) a host's VM actions wait for the secrets put on it (which sort before them) */
void nc_plan_secret_deps(struct nc_plan *p)
{
	size_t i, j;

	for (i = 0; i < p->nactions; i++) {
		struct nc_action *a = &p->actions[i];
		size_t on = a->kind == NC_ACT_MIGRATE ? a->target : a->host;

		if (a->obj != NC_OBJ_VM || a->kind == NC_ACT_DELETE || a->kind == NC_ACT_STOP)
			continue;
		for (j = 0; j < i; j++) {
			if (p->actions[j].obj == NC_OBJ_SECRET && p->actions[j].host == on) {
				a->after = nc_xreallocarray(a->after, a->nafter + 1, sizeof(*a->after));
				a->after[a->nafter++] = p->actions[j].id;
			}
		}
	}
}
