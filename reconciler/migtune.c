/* migtune.c - a VM's effective migration tuning; see migtune.h */
#include "migtune.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "jsonout.h"
#include "../policies/placement.h"

const char *nc_mig_storage_name(enum nc_mig_storage s)
{
	switch (s) {
	case NC_MIG_STORAGE_FULL: return "full";
	case NC_MIG_STORAGE_INCREMENTAL: return "incremental";
	case NC_MIG_STORAGE_NONE: break;
	}
	return "none";
}

const char *nc_mig_compress_name(enum nc_mig_compress c)
{
	switch (c) {
	case NC_MIG_COMPRESS_XBZRLE: return "xbzrle";
	case NC_MIG_COMPRESS_ZSTD: return "zstd";
	case NC_MIG_COMPRESS_ZLIB: return "zlib";
	case NC_MIG_COMPRESS_NONE: break;
	}
	return "none";
}

static enum nc_mig_storage storage_of(int v)
{
	switch ((enum nc_mig_copy)v) {
	case NC_MIG_COPY_FULL:
	case NC_MIG_COPY_TRUE: return NC_MIG_STORAGE_FULL;
	case NC_MIG_COPY_INCREMENTAL: return NC_MIG_STORAGE_INCREMENTAL;
	case NC_MIG_COPY_NONE:
	case NC_MIG_COPY_FALSE: break;
	}
	return NC_MIG_STORAGE_NONE;
}

static enum nc_mig_compress compress_of(int v)
{
	switch ((enum nc_mig_comp)v) {
	case NC_MIG_COMP_XBZRLE:
	case NC_MIG_COMP_TRUE: return NC_MIG_COMPRESS_XBZRLE;
	case NC_MIG_COMP_ZSTD: return NC_MIG_COMPRESS_ZSTD;
	case NC_MIG_COMP_ZLIB: return NC_MIG_COMPRESS_ZLIB;
	case NC_MIG_COMP_NONE:
	case NC_MIG_COMP_FALSE: break;
	}
	return NC_MIG_COMPRESS_NONE;
}

/* the VM's value of a field when written, else the policy's (pick the struct) */
#define PICK(f) (NC_IS_SET(own->f) || !pol ? &own->f : &pol->f)

static const struct nc_migration *policy_migration(const struct nc_spec *spec, const struct nc_vm *vm)
{
	const struct nc_policy *p = spec ? nc_placement_policy(spec, vm) : NULL;

	return p && NC_IS_SET(p->spec.migration) ? &p->spec.migration : NULL;
}

void nc_migtune_resolve(struct nc_migrate_tuning *out, const struct nc_spec *spec, const struct nc_vm *vm)
{
	struct nc_migrate_tuning t = { 0 };
	const struct nc_migration *own, *pol;
	const struct nc_postcopy *pc;

	t.timeout_ms = NC_MIGTUNE_DEFAULT_TIMEOUT_MS;
	if (!vm) {
		*out = t;
		return;
	}
	own = &vm->spec.migration;
	pol = policy_migration(spec, vm);
	t.copy_storage = storage_of(PICK(copy_storage)->v);
	t.compression = compress_of(PICK(compression)->v);
	t.auto_converge = PICK(auto_converge)->v;
	t.tls = PICK(tls)->v;
	t.parallel = NC_IS_SET(*PICK(parallel)) && PICK(parallel)->v > 1 ? (unsigned)PICK(parallel)->v : 0;
	/* postCopy is taken whole: its two triggers belong together */
	pc = PICK(post_copy);
	if (NC_IS_SET(*pc)) {
		t.postcopy = true;
		t.postcopy_after_ms = (unsigned)pc->after.ms;
		t.postcopy_stalled = pc->not_converging.v;
	}
	t.max_downtime_ms = (unsigned)PICK(max_downtime)->ms;
	t.bandwidth_mib = (unsigned long)(PICK(max_bandwidth)->v >> 20);
	if (NC_IS_SET(*PICK(timeout)))
		t.timeout_ms = (unsigned)PICK(timeout)->ms;
	*out = t;
}

bool nc_migtune_set(const struct nc_spec *spec, const struct nc_vm *vm)
{
	return vm && (NC_IS_SET(vm->spec.migration) || policy_migration(spec, vm));
}

/* "30s", "1.5s", "300ms", "10m" */
static void add_ms(struct nc_buf *out, unsigned ms)
{
	if (ms % 60000 == 0 && ms >= 60000)
		nc_buf_addf(out, "%um", ms / 60000);
	else if (ms % 1000 == 0 && ms >= 1000)
		nc_buf_addf(out, "%us", ms / 1000);
	else
		nc_buf_addf(out, "%ums", ms);
}

void nc_migtune_describe(const struct nc_migrate_tuning *t, struct nc_buf *out)
{
	nc_buf_addf(out, "copyStorage %s, compression %s", nc_mig_storage_name(t->copy_storage),
		    nc_mig_compress_name(t->compression));
	if (t->parallel)
		nc_buf_addf(out, ", %u connections", t->parallel);
	if (t->postcopy) {
		nc_buf_adds(out, ", post-copy");
		if (t->postcopy_after_ms) {
			nc_buf_adds(out, " after ");
			add_ms(out, t->postcopy_after_ms);
		}
		if (t->postcopy_stalled)
			nc_buf_addf(out, "%s not converging", t->postcopy_after_ms ? " or when" : " when");
	}
	if (t->auto_converge)
		nc_buf_adds(out, ", autoConverge");
	if (t->tls)
		nc_buf_adds(out, ", tls");
	if (t->bandwidth_mib)
		nc_buf_addf(out, ", maxBandwidth %luMiB/s", t->bandwidth_mib);
	if (t->max_downtime_ms) {
		nc_buf_adds(out, ", maxDowntime ");
		add_ms(out, t->max_downtime_ms);
	}
	nc_buf_adds(out, ", timeout ");
	add_ms(out, t->timeout_ms);
}

struct json_object *nc_migtune_json(const struct nc_migrate_tuning *t)
{
	struct json_object *o = json_object_new_object(), *pc;

	nc_json_set(o, "copy_storage", json_object_new_string(nc_mig_storage_name(t->copy_storage)));
	nc_json_set(o, "compression", json_object_new_string(nc_mig_compress_name(t->compression)));
	nc_json_set(o, "parallel_connections", json_object_new_int(t->parallel ? (int)t->parallel : 1));
	if (t->postcopy) {
		pc = json_object_new_object();
		nc_json_set(pc, "after_ms", nc_json_new_u64(t->postcopy_after_ms));
		nc_json_set(pc, "not_converging", json_object_new_boolean(t->postcopy_stalled));
		nc_json_set(o, "post_copy", pc);
	} else {
		nc_json_set(o, "post_copy", NULL);
	}
	nc_json_set(o, "auto_converge", json_object_new_boolean(t->auto_converge));
	nc_json_set(o, "tls", json_object_new_boolean(t->tls));
	nc_json_set(o, "max_bandwidth", nc_json_new_u64((uint64_t)t->bandwidth_mib << 20));
	nc_json_set(o, "max_downtime_ms", nc_json_new_u64(t->max_downtime_ms));
	nc_json_set(o, "timeout_ms", nc_json_new_u64(t->timeout_ms));
	return o;
}

/* "qemu+tls://root@kvm2.example:16514/system" -> "kvm2.example"; "[fd00::2]" -> "fd00::2" */
char *nc_migtune_tls_host(const struct nc_host *h)
{
	const char *u = NC_IS_SET(h->spec.migration_uri) ? h->spec.migration_uri.v : h->spec.uri.v;
	const char *p, *at, *end;

	if (!u || !(p = strstr(u, "://")))
		return NULL;
	p += 3;
	end = p + strcspn(p, "/?");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb || rb == p + 1)
			return NULL;
		return nc_xstrndup(p + 1, (size_t)(rb - p - 1));
	}
	end = p + strcspn(p, ":/?");
	return end > p ? nc_xstrndup(p, (size_t)(end - p)) : NULL;
}
