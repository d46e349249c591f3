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
 *
 * A VM with cloudInit gets a NoCloud seed (drivers/storage/seed.h): the
 * volume "<VM>-cidata.iso" in the pool of its boot disk (else its first
 * disk), attached as a read-only CD-ROM after the disks: on sata when the
 * machine type is q35 (its AHCI controller), else on ide (pc/i440fx PIIX
 * IDE); a Linux guest sees either with the standard modules (ahci or
 * ata_piix, sr_mod).  Its network-config is the spec's, or generated from
 * the NICs above by their MACs: fixed ones, or the derived ones, which are
 * stable, so the generated file only changes when the NICs do.  The seed's
 * instance-id is part of the canonical text: any change of the seed's
 * content changes the hash.
 *
 * An rbd disk of a pool with rbd.keyFile authenticates as the pool's user
 * with the pool's libvirt secret (secrets.h); a pool that names its own
 * cephConf (a file on the NovaCron machine, which the hosts do not have)
 * gives its disks the monitors of that file as <host> elements.
 */
#include "pass.h"
#include "../drivers/storage/seed.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../drivers/storage/storage.h"
#include "secrets.h"

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

/*
 * The monitors of a ceph.conf (drivers/storage/rbd.c), kept per path while
 * its mtime and size stay the same: a plan builds every VM's domain.
 */
struct mon_cache {
	char *path;
	struct timespec mtime;
	off_t size;
	char **mons;
};
static pthread_mutex_t mon_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mon_cache *mon_cache;
static size_t mon_ncache;

static const char *const *monitors(const char *conf, struct nc_arena *a)
{
	struct stat st;
	const char **out = NULL;
	char **mons = NULL;
	struct nc_err err;
	size_t i, n;

	if (stat(conf, &st) < 0)
		return NULL;
	pthread_mutex_lock(&mon_mu);
	for (i = 0; i < mon_ncache; i++) {
		if (strcmp(mon_cache[i].path, conf) == 0) {
			if (mon_cache[i].mtime.tv_sec == st.st_mtim.tv_sec &&
			    mon_cache[i].mtime.tv_nsec == st.st_mtim.tv_nsec && mon_cache[i].size == st.st_size)
				mons = mon_cache[i].mons;
			break;
		}
	}
	if (!mons && nc_ceph_monitors(conf, &mons, &err) == 0) {
		if (i == mon_ncache) {
			mon_cache = nc_xreallocarray(mon_cache, mon_ncache + 1, sizeof(*mon_cache));
			mon_cache[mon_ncache++].path = nc_xstrdup(conf);
		} else {
			nc_strv_free(mon_cache[i].mons);
		}
		mon_cache[i].mtime = st.st_mtim;
		mon_cache[i].size = st.st_size;
		mon_cache[i].mons = mons;
	}
	if (mons && mons[0]) {
		for (n = 0; mons[n]; n++)
			;
		out = nc_arena_alloc(a, (n + 1) * sizeof(*out));
		for (i = 0; i < n; i++)
			out[i] = nc_arena_strdup(a, mons[i]);
		out[n] = NULL;
	}
	pthread_mutex_unlock(&mon_mu);
	return out;
}

static void canonical(const struct nc_domain_def *d, struct nc_buf *b)
{
	size_t i, m;

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
	/* only when set, so the hash of a disk without them stays what it was */
	for (i = 0; i < d->ndisks; i++) {
		if (d->disks[i].auth_user)
			nc_buf_addf(b, "auth %s %s %s\n", d->disks[i].name, d->disks[i].auth_user,
				    d->disks[i].secret_uuid);
		for (m = 0; d->disks[i].mons && d->disks[i].mons[m]; m++)
			nc_buf_addf(b, "mon %s %s\n", d->disks[i].name, d->disks[i].mons[m]);
	}
	for (i = 0; i < d->nnics; i++)
		nc_buf_addf(b, "nic %s %s %s %s %s\n", d->nics[i].name, d->nics[i].mac, d->nics[i].type,
			    d->nics[i].source, d->nics[i].model);
	if (d->seed)
		nc_buf_addf(b, "seed %s %s %s %s %s\n", d->seed->target, d->seed->bus, d->seed->type,
			    d->seed->source, d->seed->instance_id);
}

/* q35 has an AHCI (sata) controller and no IDE; pc (i440fx) has PIIX IDE */
static bool machine_is_q35(const char *machine)
{
	return machine && strstr(machine, "q35") != NULL;
}

static void build_seed(struct nc_desired *out, const struct nc_spec *spec, const struct nc_vm *vm,
		       unsigned counts[3])
{
	struct nc_arena *a = &out->arena;
	struct nc_domain_def *d = &out->def;
	const struct nc_cloud_init *ci = &vm->eff.cloud_init;
	const struct nc_disk *home = NULL;
	const struct nc_pool *pool;
	struct nc_seed_def *s;
	char iid[40], hex[65], target[16], *md, *ncfg = NULL, *src;
	size_t i;

	if (!NC_IS_SET(ci->user_data) && !NC_IS_SET(ci->network_config))
		return;
	for (i = 0; i < vm->eff.disks.n; i++) {
		const struct nc_disk *k = (const struct nc_disk *)vm->eff.disks.v + i;

		if (!home || (k->boot.v && !home->boot.v))
			home = k;
	}
	pool = home ? (const struct nc_pool *)nc_spec_find(spec, NC_KIND_STORAGE_POOL, home->pool.v) : NULL;
	if (!pool)
		return;   /* validate refuses cloudInit without a disk in a pool */
	s = nc_arena_alloc(a, sizeof(*s));
	memset(s, 0, sizeof(*s));
	if (machine_is_q35(d->machine)) {
		s->bus = "sata";
		snprintf(target, sizeof(target), "sd%c", 'a' + counts[1]++ % 26);
	} else {
		s->bus = "ide";
		snprintf(target, sizeof(target), "hd%c", 'a' + counts[2]++ % 26);
	}
	s->target = nc_arena_strdup(a, target);
	s->pool = pool->obj.meta.name.v;
	s->volume = nc_arena_strdup(a, src = nc_xasprintf("%s%s", d->name, NC_SEED_SUFFIX));
	free(src);
	if (NC_IS_SET(pool->spec.type) && pool->spec.type.v == NC_POOL_RBD) {
		s->type = "network";
		src = nc_xasprintf("%s/%s", pool->spec.rbd.pool.v, s->volume);
		/* reached the way the disk in the same pool is: its cephx user, secret, monitors */
		for (i = 0; i < d->ndisks; i++) {
			if (strcmp(d->disks[i].name, home->name.v) != 0)
				continue;
			s->auth_user = d->disks[i].auth_user;
			s->secret_uuid = d->disks[i].secret_uuid;
			s->mons = d->disks[i].mons;
		}
	} else {
		s->type = "file";
		src = nc_xasprintf("%s/%s", pool->spec.path.v ? pool->spec.path.v : "/var/lib/novacron", s->volume);
	}
	s->source = nc_arena_strdup(a, src);
	free(src);

	s->user_data = NC_IS_SET(ci->user_data) ? ci->user_data.v : "";
	if (NC_IS_SET(ci->network_config)) {
		s->network_config = ci->network_config.v;
	} else {
		ncfg = nc_seed_network_config(d->nics, d->nnics);
		s->network_config = nc_arena_strdup(a, ncfg);
		s->network_generated = true;
		free(ncfg);
	}
	md = nc_seed_meta_data(iid, d->name, s->user_data, s->network_config);
	s->meta_data = nc_arena_strdup(a, md);
	free(md);
	s->instance_id = nc_arena_strdup(a, iid);
	nc_sha256_hex(s->user_data, strlen(s->user_data), hex);
	s->user_data_sha = nc_arena_strdup(a, hex);
	nc_sha256_hex(s->network_config, strlen(s->network_config), hex);
	s->network_config_sha = nc_arena_strdup(a, hex);
	d->seed = s;
}

void nc_nic_mac(const struct nc_vm *vm, const struct nc_nic *nic, char out[18])
{
	if (NC_IS_SET(nic->mac)) {
		char *p;

		snprintf(out, 18, "%s", nic->mac.v);
		for (p = out; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	} else {
		char *key = nc_xasprintf("%s/%s", vm->obj.meta.name.v, nic->name.v);
		char hex[65];

		nc_sha256_hex(key, strlen(key), hex);
		snprintf(out, 18, "52:54:00:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4);
		free(key);
	}
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
			if (NC_IS_SET(pool->spec.rbd.key_file) && pool->spec.rbd.key_file.v) {
				struct nc_ceph_secret sec;

				nc_ceph_secret_init(&sec, pool);
				k->auth_user = nc_arena_strdup(a, sec.user);
				k->secret_uuid = nc_arena_strdup(a, sec.uuid);
				nc_ceph_secret_release(&sec);
			}
			if (NC_IS_SET(pool->spec.rbd.ceph_conf) && pool->spec.rbd.ceph_conf.v)
				k->mons = monitors(pool->spec.rbd.ceph_conf.v, a);
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
		{
			char mac[18];

			nc_nic_mac(vm, s, mac);
			k->mac = nc_arena_strdup(a, mac);
		}
	}

	build_seed(out, spec, vm, counts);

	canonical(d, &b);
	nc_sha256_hex(b.buf, b.len, out->hash);
	d->meta_hash = out->hash;
	nc_buf_release(&b);
}

void nc_desired_release(struct nc_desired *d)
{
	nc_arena_release(&d->arena);
}
