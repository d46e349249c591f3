/*
 * desired.c - from a VM's effective spec to the domain a host should hold.
 *
 * Disk targets follow the bus (virtio vda.., scsi/sata sda.., ide hda..) in
 * the order of the merged disk list; a dir pool's volume is
 * POOLPATH/VM-DISK.qcow2, an rbd pool's POOL/VM-DISK; NICs without a fixed
 * MAC get 52:54:00 plus three bytes of SHA-256("VM/NIC"), stable across
 * runs.  The hash stored in the domain's metadata is the SHA-256 of the
 * definition's canonical text, so any change to what would be defined (or
 * to deletionProtection / deletionPolicy) changes it.
 */
#include "pass.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void nc_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static const char *bus_prefix(const char *bus)
{
	if (strcmp(bus, "virtio") == 0)
		return "vd";
	if (strcmp(bus, "ide") == 0)
		return "hd";
	return "sd";
}

static const char *const bus_names[] = { "virtio", "scsi", "sata", "ide" };
static const char *const model_names[] = { "virtio", "e1000", "rtl8139" };

static void canonical(const struct nc_domain_def *d, struct nc_buf *b)
{
	size_t i;

	nc_buf_addf(b, "name %s\nvcpus %u\nmemory %llu\nmachine %s\nprotected %d\ndisks-policy %s\n",
		    d->name, d->vcpus, (unsigned long long)d->memory, d->machine ? d->machine : "-",
		    d->meta_protected, d->meta_delete_disks ? "delete" : "retain");
	if (d->kernel)
		nc_buf_addf(b, "kernel %s %s %s\n", d->kernel, d->initrd ? d->initrd : "-",
			    d->cmdline ? d->cmdline : "-");
	for (i = 0; i < d->ndisks; i++)
		nc_buf_addf(b, "disk %s %s %s %s %s %s %llu %d\n", d->disks[i].name, d->disks[i].target,
			    d->disks[i].bus, d->disks[i].type, d->disks[i].source, d->disks[i].format,
			    (unsigned long long)d->disks[i].size, d->disks[i].boot);
	for (i = 0; i < d->nnics; i++)
		nc_buf_addf(b, "nic %s %s %s %s %s\n", d->nics[i].name, d->nics[i].mac, d->nics[i].type,
			    d->nics[i].source, d->nics[i].model);
}

void nc_desired_build(struct nc_desired *out, const struct nc_spec *spec, const struct nc_vm *vm,
		      const char *commit)
{
	struct nc_arena *a = &out->arena;
	struct nc_domain_def *d = &out->def;
	const struct nc_machine *m = &vm->eff;
	struct nc_buf b = NC_BUF_INIT;
	unsigned counts[3] = { 0, 0, 0 };
	size_t i;

	memset(out, 0, sizeof(*out));
	out->vm = vm;
	d->name = vm->obj.meta.name.v;
	d->vcpus = (unsigned)m->vcpus.v;
	d->memory = m->memory.v;
	d->machine = NC_IS_SET(m->machine) ? m->machine.v : NULL;
	d->kernel = NC_IS_SET(m->boot.kernel) ? m->boot.kernel.v : NULL;
	d->initrd = NC_IS_SET(m->boot.initrd) ? m->boot.initrd.v : NULL;
	d->cmdline = NC_IS_SET(m->boot.cmdline) ? m->boot.cmdline.v : NULL;
	d->meta_vm = vm->obj.meta.name.v;
	d->meta_commit = commit;
	d->meta_protected = vm->spec.deletion_protection.v;
	d->meta_delete_disks = NC_IS_SET(vm->spec.deletion_policy) &&
			       vm->spec.deletion_policy.v == NC_DELETE_DELETE;

	d->ndisks = m->disks.n;
	d->disks = nc_arena_alloc(a, (d->ndisks + 1) * sizeof(*d->disks));
	for (i = 0; i < m->disks.n; i++) {
		const struct nc_disk *s = (const struct nc_disk *)m->disks.v + i;
		struct nc_disk_def *k = &d->disks[i];
		const struct nc_pool *pool = (const struct nc_pool *)
			nc_spec_find(spec, NC_KIND_STORAGE_POOL, s->pool.v);
		const char *bus = bus_names[NC_IS_SET(s->bus) ? s->bus.v : NC_BUS_VIRTIO];
		const char *prefix = bus_prefix(bus);
		unsigned *cnt = &counts[prefix[0] == 'v' ? 0 : prefix[0] == 's' ? 1 : 2];
		char target[16];

		snprintf(target, sizeof(target), "%s%c", prefix, 'a' + (*cnt)++ % 26);
		k->name = s->name.v;
		k->target = nc_arena_strdup(a, target);
		k->bus = bus;
		k->size = s->size.v;
		k->boot = s->boot.v;
		if (pool && NC_IS_SET(pool->spec.type) && pool->spec.type.v == NC_POOL_RBD) {
			char *src = nc_xasprintf("%s/%s-%s", pool->spec.rbd.pool.v, d->name, s->name.v);

			k->type = "network";
			k->format = "raw";
			k->source = nc_arena_strdup(a, src);
			free(src);
		} else {
			char *src = nc_xasprintf("%s/%s-%s.qcow2",
						 pool && pool->spec.path.v ? pool->spec.path.v : "/var/lib/novacron",
						 d->name, s->name.v);

			k->type = "file";
			k->format = "qcow2";
			k->source = nc_arena_strdup(a, src);
			free(src);
		}
	}

	d->nnics = m->nics.n;
	d->nics = nc_arena_alloc(a, (d->nnics + 1) * sizeof(*d->nics));
	for (i = 0; i < m->nics.n; i++) {
		const struct nc_nic *s = (const struct nc_nic *)m->nics.v + i;
		struct nc_nic_def *k = &d->nics[i];
		const struct nc_network *net = (const struct nc_network *)
			nc_spec_find(spec, NC_KIND_NETWORK, s->network.v);

		k->name = s->name.v;
		k->model = model_names[NC_IS_SET(s->model) ? s->model.v : NC_NIC_VIRTIO];
		if (net && NC_IS_SET(net->spec.type) && net->spec.type.v == NC_NET_BRIDGE) {
			k->type = "bridge";
			k->source = net->spec.bridge.v;
		} else {
			k->type = "network";
			k->source = s->network.v;
		}
		if (NC_IS_SET(s->mac)) {
			char *mac = nc_xstrdup(s->mac.v);
			char *p;

			for (p = mac; *p; p++)
				if (*p >= 'A' && *p <= 'F')
					*p = (char)(*p - 'A' + 'a');
			k->mac = nc_arena_strdup(a, mac);
			free(mac);
		} else {
			char *key = nc_xasprintf("%s/%s", d->name, s->name.v);
			char hex[65], mac[18];

			nc_sha256_hex(key, strlen(key), hex);
			snprintf(mac, sizeof(mac), "52:54:00:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4);
			k->mac = nc_arena_strdup(a, mac);
			free(key);
		}
	}

	canonical(d, &b);
	nc_sha256_hex(b.buf, b.len, out->hash);
	d->meta_hash = out->hash;
	nc_buf_release(&b);
}

void nc_desired_release(struct nc_desired *d)
{
	nc_arena_release(&d->arena);
}
