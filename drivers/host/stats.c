/*
 * stats.c - the host driver's `stats` op (driver.h), and the synthetic load
 * of simulated hosts (`novacron sim HOST load`, docs/monitoring.md).
 *
 * libvirt URIs: one virConnectGetAllDomainStats call for every domain
 * (state, cpu, balloon, vcpu, interface, block), virNodeGetInfo,
 * virNodeGetCPUStats and virNodeGetMemoryStats for the node, and each
 * active storage pool's virStoragePoolGetInfo.  What a driver does not
 * report is NC_STAT_NONE: libvirt's test driver (test:///default) gives a
 * domain's state alone, fixed node CPU counters and no node memory
 * statistics (the node's total then comes from virNodeGetInfo).
 *
 * sim:/// hosts: the domains, their vCPUs, balloons, disks and NICs are the
 * test driver's; the load is synthetic and scripted per VM in
 * STATE_DIR/HOST.load (JSON, written atomically under the host's lock).
 * Every counter is a closed form of time, so it is monotonic across load
 * changes: counter(t) = base + rate * (t - t0), where t0 is when the load
 * last changed and base the counter's value then.  A VM without a script
 * runs a small baseline load derived from the first bytes of SHA-256 of its
 * name, counted from NC_SIM_EPOCH (base 0).
 *
 * nc_sim_stats_read() gives the same figures without opening the host:
 * it reads the state file (replaced atomically by every commit, so a
 * consistent snapshot) with libxml2, takes no lock, and costs a fraction
 * of what the test driver's loading of the file does.  The clock is CLOCK_REALTIME,
 * or NOVACRON_SIM_TIME=UNIXSECONDS (a test and benchmark switch: steps the
 * clock of every simulated host deterministically).
 */
#include "../driver.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../spec/model.h"
#include "../../spec/util.h"
#include "../../spec/yaml.h"
#include "../storage/storage.h"

const char *nc_libvirt_state_file(struct nc_host_conn *host);
int nc_host_stats_read(struct nc_host_conn *conn, struct nc_host_stats *out, struct nc_err *err);
int nc_sim_load_tool(struct nc_host_conn *conn, int argc, char **argv, FILE *out, struct nc_err *err);

/*
 * Baselines and the node's CPU total count from here (2025-01-01T00:00:00Z), so
 * counters stay far from overflowing: the total (CPUs x ns) fits 64 bits for
 * about 570 CPU-years, e.g. a host of 128 CPUs until 2029 (then it saturates
 * and host cpu_usage is unknown).  A clock before it counts nothing.
 */
#define NC_SIM_EPOCH 1735689600.0
#define LOAD_MAX_SIZE (16u << 20)

static int st_fail(struct nc_err *err, const char *what)
{
	const char *m = virGetLastErrorMessage();
	size_t n;

	if (!m || !*m)
		m = "unknown libvirt error";
	n = strcspn(m, "\r\n");
	nc_err_set(err, "%s: %.*s", what, (int)(n > 300 ? 300 : n), m);
	return -1;
}

static enum nc_dom_state st_state(int st)
{
	switch (st) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return NC_DOM_RUNNING;
	case VIR_DOMAIN_PAUSED:
		return NC_DOM_PAUSED;
	case VIR_DOMAIN_SHUTOFF:
	case VIR_DOMAIN_SHUTDOWN:
		return NC_DOM_SHUTOFF;
	default:
		return NC_DOM_OTHER;
	}
}

static int dom_stats_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_dom_stats *)a)->name, ((const struct nc_dom_stats *)b)->name);
}

static int pool_stats_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_pool_stats *)a)->name, ((const struct nc_pool_stats *)b)->name);
}

static void dom_none(struct nc_dom_stats *d)
{
	d->cpu_time_ns = d->balloon_cur = d->balloon_max = NC_STAT_NONE;
	d->mem_unused = d->mem_available = d->rss = NC_STAT_NONE;
}

/* ---- libvirt: typed parameters -> struct nc_dom_stats ---- */

static uint64_t p_ull(virTypedParameterPtr p, int n, const char *name, uint64_t mult)
{
	unsigned long long v;

	if (virTypedParamsGetULLong(p, n, name, &v) == 1)
		return v > UINT64_MAX / mult ? NC_STAT_NONE : (uint64_t)v * mult;
	return NC_STAT_NONE;
}

static unsigned p_uint(virTypedParameterPtr p, int n, const char *name)
{
	unsigned v;

	return virTypedParamsGetUInt(p, n, name, &v) == 1 ? v : 0;
}

static const char *p_str(virTypedParameterPtr p, int n, const char *name)
{
	const char *v = NULL;

	return virTypedParamsGetString(p, n, name, &v) == 1 ? v : NULL;
}

static void record_to_stats(struct nc_dom_stats *d, virDomainStatsRecordPtr rec)
{
	virTypedParameterPtr p = rec->params;
	int n = rec->nparams, st = 0;
	unsigned i, count;
	char key[64];

	dom_none(d);
	d->name = nc_xstrdup(virDomainGetName(rec->dom));
	d->state = virTypedParamsGetInt(p, n, "state.state", &st) == 1 ? st_state(st) : NC_DOM_OTHER;
	d->vcpus = p_uint(p, n, "vcpu.current");
	d->cpu_time_ns = p_ull(p, n, "cpu.time", 1);
	d->balloon_cur = p_ull(p, n, "balloon.current", 1024);
	d->balloon_max = p_ull(p, n, "balloon.maximum", 1024);
	d->mem_unused = p_ull(p, n, "balloon.unused", 1024);
	d->mem_available = p_ull(p, n, "balloon.available", 1024);
	d->rss = p_ull(p, n, "balloon.rss", 1024);
	count = p_uint(p, n, "block.count");
	if (count > 4096)
		count = 4096;
	d->disks = nc_xcalloc(count ? count : 1, sizeof(*d->disks));
	for (i = 0; i < count; i++) {
		struct nc_disk_stats *k = &d->disks[d->ndisks];
		const char *name;

		snprintf(key, sizeof(key), "block.%u.name", i);
		if (!(name = p_str(p, n, key)))
			continue;
		k->dev = nc_xstrdup(name);
		snprintf(key, sizeof(key), "block.%u.rd.bytes", i);
		k->rd_bytes = p_ull(p, n, key, 1);
		snprintf(key, sizeof(key), "block.%u.wr.bytes", i);
		k->wr_bytes = p_ull(p, n, key, 1);
		snprintf(key, sizeof(key), "block.%u.rd.reqs", i);
		k->rd_reqs = p_ull(p, n, key, 1);
		snprintf(key, sizeof(key), "block.%u.wr.reqs", i);
		k->wr_reqs = p_ull(p, n, key, 1);
		d->ndisks++;
	}
	count = p_uint(p, n, "net.count");
	if (count > 4096)
		count = 4096;
	d->nics = nc_xcalloc(count ? count : 1, sizeof(*d->nics));
	for (i = 0; i < count; i++) {
		struct nc_nic_stats *k = &d->nics[d->nnics];
		const char *name;

		snprintf(key, sizeof(key), "net.%u.name", i);
		if (!(name = p_str(p, n, key)))
			continue;
		k->dev = nc_xstrdup(name);
		snprintf(key, sizeof(key), "net.%u.rx.bytes", i);
		k->rx_bytes = p_ull(p, n, key, 1);
		snprintf(key, sizeof(key), "net.%u.tx.bytes", i);
		k->tx_bytes = p_ull(p, n, key, 1);
		snprintf(key, sizeof(key), "net.%u.rx.pkts", i);
		k->rx_pkts = p_ull(p, n, key, 1);
		snprintf(key, sizeof(key), "net.%u.tx.pkts", i);
		k->tx_pkts = p_ull(p, n, key, 1);
		d->nnics++;
	}
}

/* node CPU (all CPUs) and memory; what the driver lacks stays NC_STAT_NONE */
static void node_stats(virConnectPtr c, struct nc_host_stats *s)
{
	virNodeCPUStatsPtr cs = NULL;
	virNodeMemoryStatsPtr ms = NULL;
	int n = 0, i;

	s->cpu_busy_ns = s->cpu_total_ns = s->mem_available = NC_STAT_NONE;
	if (virNodeGetCPUStats(c, VIR_NODE_CPU_STATS_ALL_CPUS, NULL, &n, 0) == 0 && n > 0 && n < 64) {
		uint64_t user = NC_STAT_NONE, kernel = NC_STAT_NONE, idle = NC_STAT_NONE, iowait = 0;

		cs = nc_xcalloc((size_t)n, sizeof(*cs));
		if (virNodeGetCPUStats(c, VIR_NODE_CPU_STATS_ALL_CPUS, cs, &n, 0) == 0) {
			for (i = 0; i < n; i++) {
				if (strcmp(cs[i].field, VIR_NODE_CPU_STATS_USER) == 0)
					user = cs[i].value;
				else if (strcmp(cs[i].field, VIR_NODE_CPU_STATS_KERNEL) == 0)
					kernel = cs[i].value;
				else if (strcmp(cs[i].field, VIR_NODE_CPU_STATS_IDLE) == 0)
					idle = cs[i].value;
				else if (strcmp(cs[i].field, VIR_NODE_CPU_STATS_IOWAIT) == 0)
					iowait = cs[i].value;
			}
			if (user != NC_STAT_NONE && kernel != NC_STAT_NONE && idle != NC_STAT_NONE) {
				s->cpu_busy_ns = user + kernel + iowait;
				s->cpu_total_ns = s->cpu_busy_ns + idle;
			}
		}
	}
	n = 0;
	if (virNodeGetMemoryStats(c, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &n, 0) == 0 && n > 0 && n < 64) {
		uint64_t total = NC_STAT_NONE, avail = 0;
		bool any = false;

		ms = nc_xcalloc((size_t)n, sizeof(*ms));
		if (virNodeGetMemoryStats(c, VIR_NODE_MEMORY_STATS_ALL_CELLS, ms, &n, 0) == 0) {
			for (i = 0; i < n; i++) {
				if (strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_TOTAL) == 0) {
					total = ms[i].value * 1024;
				} else if (strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_FREE) == 0 ||
					   strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) == 0 ||
					   strcmp(ms[i].field, VIR_NODE_MEMORY_STATS_CACHED) == 0) {
					avail += ms[i].value * 1024;
					any = true;
				}
			}
			if (total != NC_STAT_NONE)
				s->mem_total = total;
			if (any)
				s->mem_available = avail;
		}
	}
	virResetLastError();
	free(cs);
	free(ms);
}

/* a pool's type from its XML: <pool type='rbd'> */
static bool pool_is_rbd(virStoragePoolPtr p)
{
	char *xml = virStoragePoolGetXMLDesc(p, 0);
	xmlDocPtr d = xml ? xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL,
					 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING) : NULL;
	xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
	xmlChar *type = root ? xmlGetProp(root, BAD_CAST "type") : NULL;
	bool rbd = type && strcmp((const char *)type, "rbd") == 0;

	xmlFree(type);
	xmlFreeDoc(d);
	free(xml);
	return rbd;
}

static int pools_stats(virConnectPtr c, struct nc_host_stats *s, struct nc_err *err)
{
	virStoragePoolPtr *pools = NULL;
	int n = virConnectListAllStoragePools(c, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE), i;

	if (n < 0) {
		/* a daemon without a storage driver has no pools: not an error */
		if (virGetLastErrorCode() == VIR_ERR_NO_SUPPORT) {
			virResetLastError();
			return 0;
		}
		return st_fail(err, "cannot list storage pools");
	}
	s->pools = nc_xcalloc(n ? (size_t)n : 1, sizeof(*s->pools));
	for (i = 0; i < n; i++) {
		virStoragePoolInfo info;
		struct nc_pool_stats *p = &s->pools[s->npools];

		/* a pool stopped or removed meanwhile is simply not there */
		if (virStoragePoolGetInfo(pools[i], &info) == 0 && info.state == VIR_STORAGE_POOL_RUNNING) {
			p->name = nc_xstrdup(virStoragePoolGetName(pools[i]));
			p->shared = pool_is_rbd(pools[i]);
			p->capacity = info.capacity;
			p->allocation = info.allocation;
			p->available = info.available;
			s->npools++;
		}
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	virResetLastError();
	if (s->npools > 1)
		qsort(s->pools, s->npools, sizeof(*s->pools), pool_stats_cmp);
	return 0;
}

static double wall_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int lv_stats_read(virConnectPtr c, struct nc_host_stats *s, struct nc_err *err)
{
	virDomainStatsRecordPtr *recs = NULL;
	unsigned types = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
			 VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK;
	int n, i;

	s->t = wall_now();
	/* NOWAIT: a domain in the middle of a job (a migration) answers what it can at once */
	n = virConnectGetAllDomainStats(c, types, &recs, VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
	if (n < 0 && virGetLastErrorCode() == VIR_ERR_INVALID_ARG)
		n = virConnectGetAllDomainStats(c, types, &recs, 0);
	if (n < 0)
		return st_fail(err, "cannot read domain statistics");
	s->doms = nc_xcalloc(n ? (size_t)n : 1, sizeof(*s->doms));
	for (i = 0; i < n; i++)
		record_to_stats(&s->doms[s->ndoms++], recs[i]);
	virDomainStatsRecordListFree(recs);
	if (s->ndoms > 1)
		qsort(s->doms, s->ndoms, sizeof(*s->doms), dom_stats_cmp);
	node_stats(c, s);
	return 0;
}

/* ---- sim: scripted synthetic load ---- */

enum { L_CPU, L_RD, L_WR, L_RDOPS, L_WROPS, L_RX, L_TX, L__N };
static const char *const load_keys[L__N] = {
	"cpu", "disk-read", "disk-write", "disk-read-ops", "disk-write-ops", "net-rx", "net-tx",
};

/* one VM's load: rates per second (cpu: share of its vCPUs), the counters at t0 */
struct sim_load {
	char *vm;
	bool scripted;               /* false: its baseline (kept after --clear, for continuity) */
	double t0;
	double rate[L__N];
	double memory;               /* share of the balloon the guest uses */
	uint64_t base[L__N];         /* cpu: ns; disk: bytes and requests; net: bytes */
	unsigned vcpus;              /* the vCPUs the cpu rate was counted with since t0 */
};

struct sim_loads {
	struct sim_load *v;
	size_t n;
};

static void loads_release(struct sim_loads *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].vm);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int load_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sim_load *)a)->vm, ((const struct sim_load *)b)->vm);
}

static struct sim_load *loads_find(const struct sim_loads *l, const char *vm)
{
	struct sim_load key = { .vm = (char *)vm };

	return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), load_cmp) : NULL;
}

/* the simulated clock: NOVACRON_SIM_TIME=UNIXSECONDS (tests, benchmarks), else the wall clock */
double nc_sim_clock(bool *simulated)
{
	const char *s = getenv("NOVACRON_SIM_TIME");
	char *end;
	double t;

	if (s && *s) {
		errno = 0;
		t = strtod(s, &end);
		if (!errno && !*end && t > 0 && isfinite(t)) {
			if (simulated)
				*simulated = true;
			return t;
		}
	}
	if (simulated)
		*simulated = false;
	return wall_now();
}

static double sim_now(void)
{
	return nc_sim_clock(NULL);
}

/* the baseline of a VM without a script, from SHA-256 of its name (docs/monitoring.md) */
static void baseline(struct sim_load *l, const char *vm)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;

	memset(h, 0, sizeof(h));
	EVP_Digest(vm, strlen(vm), h, &hl, EVP_sha256(), NULL);
	l->scripted = false;
	l->t0 = NC_SIM_EPOCH;
	memset(l->base, 0, sizeof(l->base));
	l->rate[L_CPU] = 0.01 + (h[0] % 10) / 100.0;            /* 1% .. 10% of its vCPUs */
	l->memory = 0.25 + (h[1] % 26) / 100.0;                 /* 25% .. 50% of its balloon */
	l->rate[L_RD] = (double)(h[2] % 32) * 4096;             /* 0 .. 124 KiB/s */
	l->rate[L_WR] = (double)(h[3] % 32) * 4096;
	l->rate[L_RDOPS] = l->rate[L_RD] / 4096;                /* 4 KiB requests */
	l->rate[L_WROPS] = l->rate[L_WR] / 4096;
	l->rate[L_RX] = (double)(h[4] % 64) * 1024;             /* 0 .. 63 KiB/s */
	l->rate[L_TX] = (double)(h[5] % 64) * 1024;
}

/* v rounded, within 0 .. NC_STAT_NONE - 1 (a counter never reads as "not reported") */
static uint64_t to_u64(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= 1.8e19)
		return NC_STAT_NONE - 1;
	return (uint64_t)(v + 0.5);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > NC_STAT_NONE - 1 - b ? NC_STAT_NONE - 1 : a + b;
}

/* counter k of load l at time t (vcpus: the VM's current vCPUs) */
static uint64_t counter(const struct sim_load *l, int k, double t, unsigned vcpus)
{
	double dt = t > l->t0 ? t - l->t0 : 0, r = l->rate[k];
	double v;

	/* an entry of the load file keeps the vCPUs it was counted with (monotonic across setvcpus) */
	if (k == L_CPU)
		r *= 1e9 * (l->vcpus ? l->vcpus : vcpus);
	v = r * dt;
	return sat_add(l->base[k], to_u64(v));
}

/* the load in effect for vm: its entry, or its baseline */
static struct sim_load effective(const struct sim_loads *l, const char *vm)
{
	const struct sim_load *e = loads_find(l, vm);
	struct sim_load r;

	if (e)
		return *e;
	memset(&r, 0, sizeof(r));
	r.vm = (char *)vm;
	baseline(&r, vm);
	return r;
}

static char *load_path(const char *sf)
{
	size_t n = strlen(sf);

	/* STATE_DIR/NAME.xml -> STATE_DIR/NAME.load */
	return nc_xasprintf("%.*s.load", (int)(n > 4 ? n - 4 : n), sf);
}

static double num(const struct nc_ynode *map, const char *key, bool *bad)
{
	const struct nc_ynode *n = nc_ynode_get(map, key);
	const char *s = n ? nc_ynode_str(n) : NULL;
	char *end;
	double v;

	if (!s || !*s) {
		*bad = true;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0)
		*bad = true;
	return v;
}

static uint64_t unum(const struct nc_ynode *map, const char *key, bool *bad)
{
	const struct nc_ynode *n = nc_ynode_get(map, key);
	const char *s = n ? nc_ynode_str(n) : NULL;
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-') {
		*bad = true;
		return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		*bad = true;
	return (uint64_t)v;
}

static int loads_read(struct sim_loads *out, const char *state_file, struct nc_err *err)
{
	struct sim_loads l = { 0 };
	struct nc_arena arena = { 0 };
	struct nc_diags d;
	struct nc_ydoc *docs = NULL;
	const struct nc_ynode *root, *vms;
	char *path = load_path(state_file), *buf = NULL, key[40];
	size_t ndocs = 0, len, i;
	int rd, ret = -1, k;
	bool bad = false;

	nc_diags_init(&d);
	errno = 0;
	rd = nc_read_file(path, LOAD_MAX_SIZE, &buf, &len);
	if (rd == -1 && errno == ENOENT) {
		memset(out, 0, sizeof(*out));
		ret = 0;
		goto out;
	}
	if (rd < 0) {
		nc_err_set(err, "cannot read %s: %s", path, rd == -2 ? "larger than 16 MiB" : strerror(errno));
		goto out;
	}
	if (nc_yaml_parse(&arena, path, buf, len, NULL, &docs, &ndocs, &d) < 0 || ndocs != 1 ||
	    !(root = docs[0].root) || root->kind != NC_Y_MAP || !(vms = nc_ynode_get(root, "vms")) ||
	    vms->kind != NC_Y_SEQ)
		goto bad;
	l.v = nc_xcalloc(vms->n ? vms->n : 1, sizeof(*l.v));
	for (i = 0; i < vms->n && !bad; i++) {
		const struct nc_ynode *m = vms->items[i], *base;
		struct sim_load *e = &l.v[l.n];
		const char *name;

		if (m->kind != NC_Y_MAP || !(name = nc_ynode_str(nc_ynode_get(m, "vm"))) || !*name ||
		    !(base = nc_ynode_get(m, "base")) || base->kind != NC_Y_MAP)
			goto bad;
		e->vm = nc_xstrdup(name);
		l.n++;
		e->scripted = nc_ynode_str(nc_ynode_get(m, "scripted")) &&
			      strcmp(nc_ynode_str(nc_ynode_get(m, "scripted")), "true") == 0;
		e->t0 = num(m, "t0", &bad);
		e->memory = num(m, "memory", &bad);
		bad |= e->memory > 1;                   /* as `load` takes them */
		e->vcpus = (unsigned)unum(m, "vcpus", &bad);
		for (k = 0; k < L__N; k++) {
			e->rate[k] = num(m, load_keys[k], &bad);
			bad |= k == L_CPU && e->rate[k] > 64;
			snprintf(key, sizeof(key), "%s", load_keys[k]);
			e->base[k] = unum(base, key, &bad);
		}
	}
	if (bad)
		goto bad;
	qsort(l.v, l.n, sizeof(*l.v), load_cmp);
	*out = l;
	memset(&l, 0, sizeof(l));
	ret = 0;
	goto out;
bad:
	nc_err_set(err, "%s is not a load file written by novacron sim (remove it to go back to baselines)",
		   path);
out:
	loads_release(&l);
	nc_arena_release(&arena);
	nc_diags_release(&d);
	free(buf);
	free(path);
	return ret;
}

/* a double as JSON: the shortest of %.15g and %.17g that reads back the same */
static void add_num(struct nc_buf *b, double v)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	nc_buf_adds(b, buf);
}

static int loads_write(const struct sim_loads *l, struct nc_host_conn *conn, struct nc_err *err)
{
	struct nc_buf b = NC_BUF_INIT;
	char *path = load_path(nc_libvirt_state_file(conn));
	int ret = 0, k;

	nc_buf_adds(&b, "{\"format_version\": 1, \"vms\": [");
	for (size_t i = 0; i < l->n; i++) {
		const struct sim_load *e = &l->v[i];

		nc_buf_adds(&b, i ? ",\n  {\"vm\": " : "\n  {\"vm\": ");
		nc_buf_add_json_str(&b, e->vm);
		nc_buf_addf(&b, ", \"scripted\": %s, \"t0\": ", e->scripted ? "true" : "false");
		add_num(&b, e->t0);
		nc_buf_addf(&b, ", \"vcpus\": %u, \"memory\": ", e->vcpus);
		add_num(&b, e->memory);
		for (k = 0; k < L__N; k++) {
			nc_buf_addf(&b, ", \"%s\": ", load_keys[k]);
			add_num(&b, e->rate[k]);
		}
		nc_buf_adds(&b, ", \"base\": {");
		for (k = 0; k < L__N; k++)
			nc_buf_addf(&b, "%s\"%s\": %llu", k ? ", " : "", load_keys[k], (unsigned long long)e->base[k]);
		nc_buf_adds(&b, "}}");
	}
	nc_buf_adds(&b, "\n]}\n");
	if (nc_write_file_atomic(path, b.buf, b.len, 0600) < 0) {
		nc_err_set(err, "cannot write %s: %s", path, strerror(errno));
		ret = -1;
	}
	nc_buf_release(&b);
	free(path);
	return ret;
}

static bool is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* a domain's disk targets (device='disk') and NIC MACs, from its <domain> element */
static void sim_devices_of(xmlNodePtr root, struct nc_dom_stats *d)
{
	xmlNodePtr k, dev, c;
	size_t ndisk = 0, nnic = 0;

	for (k = root ? root->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE && strcmp((const char *)k->name, "devices") == 0)
			break;
	for (dev = k ? k->children : NULL; dev; dev = dev->next) {
		if (dev->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)dev->name, "disk") == 0)
			ndisk++;
		else if (strcmp((const char *)dev->name, "interface") == 0)
			nnic++;
	}
	d->disks = nc_xcalloc(ndisk ? ndisk : 1, sizeof(*d->disks));
	d->nics = nc_xcalloc(nnic ? nnic : 1, sizeof(*d->nics));
	for (dev = k ? k->children : NULL; dev; dev = dev->next) {
		bool disk, nic;
		xmlChar *device;

		if (dev->type != XML_ELEMENT_NODE)
			continue;
		disk = strcmp((const char *)dev->name, "disk") == 0;
		nic = strcmp((const char *)dev->name, "interface") == 0;
		device = disk ? xmlGetProp(dev, BAD_CAST "device") : NULL;
		if (disk && device && strcmp((const char *)device, "disk") != 0)
			disk = false;     /* a CD-ROM seed does no I/O here */
		xmlFree(device);
		for (c = dev->children; c && (disk || nic); c = c->next) {
			xmlChar *v;

			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (disk && strcmp((const char *)c->name, "target") == 0 &&
			    (v = xmlGetProp(c, BAD_CAST "dev"))) {
				d->disks[d->ndisks++].dev = nc_xstrdup((const char *)v);
				xmlFree(v);
				break;
			}
			if (nic && strcmp((const char *)c->name, "mac") == 0 &&
			    (v = xmlGetProp(c, BAD_CAST "address"))) {
				struct nc_nic_stats *s = &d->nics[d->nnics++];

				s->mac = nc_xstrdup((const char *)v);
				for (char *p = s->mac; *p; p++)
					if (*p >= 'A' && *p <= 'Z')
						*p = (char)(*p - 'A' + 'a');
				s->dev = nc_xstrdup(s->mac);   /* no host-side interface on a sim host */
				xmlFree(v);
				break;
			}
		}
	}
}

/* the same from a domain of the test driver (its live XML) */
static void sim_devices(virDomainPtr dom, struct nc_dom_stats *d)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	xmlDocPtr doc = xml ? xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
					   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING) : NULL;

	free(xml);
	sim_devices_of(doc ? xmlDocGetRootElement(doc) : NULL, d);
	xmlFreeDoc(doc);
}

/* share total among n items: each total/n, the first also the remainder */
static uint64_t share(uint64_t total, size_t n, size_t i)
{
	return total / n + (i == 0 ? total % n : 0);
}

/*
 * The synthetic figures of a simulated host whose domains (name, state,
 * balloons, vCPUs, disks and NICs), CPUs and memory s already holds: the
 * counters at time t under loads, the node's busy and available figures.
 */
static void sim_fill(struct nc_host_stats *s, const struct sim_loads *loads, double t)
{
	uint64_t busy = 0, used = 0;
	size_t i, k;

	s->t = t;
	for (i = 0; i < s->ndoms; i++) {
		struct nc_dom_stats *d = &s->doms[i];
		struct sim_load l;

		if (d->state != NC_DOM_RUNNING && d->state != NC_DOM_PAUSED)
			continue;    /* an inactive domain: state and balloon, as libvirt reports */
		l = effective(loads, d->name);
		d->cpu_time_ns = counter(&l, L_CPU, t, d->vcpus);
		d->mem_available = d->balloon_cur;
		d->rss = to_u64((double)d->balloon_cur * (l.memory > 1 ? 1 : l.memory));
		d->mem_unused = d->balloon_cur - d->rss;
		if (d->state == NC_DOM_RUNNING) {
			busy = sat_add(busy, d->cpu_time_ns);
			used += d->balloon_cur;
		}
		for (k = 0; k < d->ndisks; k++) {
			d->disks[k].rd_bytes = share(counter(&l, L_RD, t, 0), d->ndisks, k);
			d->disks[k].wr_bytes = share(counter(&l, L_WR, t, 0), d->ndisks, k);
			d->disks[k].rd_reqs = share(counter(&l, L_RDOPS, t, 0), d->ndisks, k);
			d->disks[k].wr_reqs = share(counter(&l, L_WROPS, t, 0), d->ndisks, k);
		}
		for (k = 0; k < d->nnics; k++) {
			d->nics[k].rx_bytes = share(counter(&l, L_RX, t, 0), d->nnics, k);
			d->nics[k].tx_bytes = share(counter(&l, L_TX, t, 0), d->nnics, k);
			d->nics[k].rx_pkts = d->nics[k].rx_bytes / 1024;   /* 1 KiB packets */
			d->nics[k].tx_pkts = d->nics[k].tx_bytes / 1024;
		}
	}
	if (s->ndoms > 1)
		qsort(s->doms, s->ndoms, sizeof(*s->doms), dom_stats_cmp);
	if (s->npools > 1)
		qsort(s->pools, s->npools, sizeof(*s->pools), pool_stats_cmp);
	/* the node: busy is what its running guests use, counted since NC_SIM_EPOCH */
	s->cpu_busy_ns = busy;
	s->cpu_total_ns = to_u64((double)s->cpus * 1e9 * (t > NC_SIM_EPOCH ? t - NC_SIM_EPOCH : 0));
	s->mem_available = used < s->mem_total ? s->mem_total - used : 0;
}

/* the stats op on an open simulated host: its test driver's domains */
static int sim_stats_read(struct nc_host_conn *conn, virConnectPtr c, struct nc_host_stats *s,
			  struct nc_err *err)
{
	struct sim_loads loads = { 0 };
	virDomainPtr *doms = NULL;
	virNodeInfo ni;
	double t = sim_now();
	int n = 0, i, ret = -1;

	if (loads_read(&loads, nc_libvirt_state_file(conn), err) < 0)
		return -1;
	if (virNodeGetInfo(c, &ni) < 0) {
		st_fail(err, "cannot read node info");
		goto out;
	}
	n = virConnectListAllDomains(c, &doms, 0);
	if (n < 0) {
		st_fail(err, "cannot list domains");
		goto out;
	}
	s->cpus = ni.cpus;
	s->mem_total = (uint64_t)ni.memory * 1024;
	s->doms = nc_xcalloc(n ? (size_t)n : 1, sizeof(*s->doms));
	for (i = 0; i < n; i++) {
		struct nc_dom_stats *d = &s->doms[s->ndoms];
		virDomainInfo info;

		if (virDomainGetInfo(doms[i], &info) < 0)
			continue;    /* gone meanwhile */
		dom_none(d);
		d->name = nc_xstrdup(virDomainGetName(doms[i]));
		s->ndoms++;
		d->state = st_state(info.state);
		d->balloon_cur = (uint64_t)info.memory * 1024;
		d->balloon_max = (uint64_t)info.maxMem * 1024;
		if (d->state == NC_DOM_RUNNING || d->state == NC_DOM_PAUSED) {
			d->vcpus = info.nrVirtCpu;
			sim_devices(doms[i], d);
		} else {
			d->disks = nc_xcalloc(1, sizeof(*d->disks));
			d->nics = nc_xcalloc(1, sizeof(*d->nics));
		}
	}
	sim_fill(s, &loads, t);
	ret = 0;
out:
	for (i = 0; doms && i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	loads_release(&loads);
	return ret;
}

/* ---- sim: the same from the state file, without opening the host ---- */

/* an element's text as a size, in the unit of its unit attribute (dflt when none) */
static uint64_t xml_size(xmlNodePtr n, const char *dflt)
{
	xmlChar *text = xmlNodeGetContent(n), *unit = xmlGetProp(n, BAD_CAST "unit");
	const char *u = unit ? (const char *)unit : dflt, *why;
	uint64_t v = NC_STAT_NONE;
	char *s;

	if (strcmp(u, "bytes") == 0 || strcmp(u, "b") == 0)
		u = "";
	else if (strcmp(u, "k") == 0)
		u = "KiB";
	s = nc_xasprintf("%s%s", text ? (const char *)text : "", u);
	if (nc_size_parse(s, &v, &why) < 0)
		v = NC_STAT_NONE;
	free(s);
	xmlFree(text);
	xmlFree(unit);
	return v;
}

/* a small positive number: attribute attr, or the element's text when NULL; 0 when none */
static unsigned xml_uint(xmlNodePtr n, const char *attr)
{
	xmlChar *text = attr ? xmlGetProp(n, BAD_CAST attr) : xmlNodeGetContent(n);
	long v = text ? strtol((const char *)text, NULL, 10) : 0;

	xmlFree(text);
	return v > 0 && v < (1L << 20) ? (unsigned)v : 0;
}

static char *xml_text(xmlNodePtr n)
{
	xmlChar *v = xmlNodeGetContent(n);
	char *s = nc_xstrdup(v ? (const char *)v : "");

	xmlFree(v);
	return s;
}

static void file_domain(struct nc_host_stats *s, xmlNodePtr dom)
{
	struct nc_dom_stats *d = &s->doms[s->ndoms];
	xmlNodePtr k;
	int runstate = VIR_DOMAIN_RUNNING;     /* the test driver's default */
	unsigned vcpus = 0;

	memset(d, 0, sizeof(*d));
	dom_none(d);
	for (k = dom->children; k; k = k->next) {
		if (is_elem(k, "name")) {
			free(d->name);
			d->name = xml_text(k);
		} else if (is_elem(k, "memory")) {
			d->balloon_max = xml_size(k, "KiB");
		} else if (is_elem(k, "currentMemory")) {
			d->balloon_cur = xml_size(k, "KiB");
		} else if (is_elem(k, "vcpu")) {
			vcpus = xml_uint(k, "current");
			if (!vcpus)
				vcpus = xml_uint(k, NULL);
		} else if (is_elem(k, "runstate") && k->ns && k->ns->href &&
			   strcmp((const char *)k->ns->href, "http://libvirt.org/schemas/domain/test/1.0") == 0) {
			runstate = (int)xml_uint(k, NULL);
		}
	}
	if (!d->name || !*d->name) {
		free(d->name);
		memset(d, 0, sizeof(*d));
		return;
	}
	if (d->balloon_cur == NC_STAT_NONE)
		d->balloon_cur = d->balloon_max;
	d->state = st_state(runstate);
	if (d->state == NC_DOM_RUNNING || d->state == NC_DOM_PAUSED) {
		d->vcpus = vcpus;
		sim_devices_of(dom, d);
	} else {
		d->disks = nc_xcalloc(1, sizeof(*d->disks));
		d->nics = nc_xcalloc(1, sizeof(*d->nics));
	}
	s->ndoms++;
}

static void file_pool(struct nc_host_stats *s, xmlNodePtr pool)
{
	struct nc_pool_stats *p = &s->pools[s->npools];
	xmlChar *type = xmlGetProp(pool, BAD_CAST "type");
	xmlNodePtr k;

	memset(p, 0, sizeof(*p));
	p->capacity = p->allocation = p->available = NC_STAT_NONE;
	p->shared = type && strcmp((const char *)type, "rbd") == 0;
	xmlFree(type);
	for (k = pool->children; k; k = k->next) {
		if (is_elem(k, "name")) {
			free(p->name);
			p->name = xml_text(k);
		} else if (is_elem(k, "capacity")) {
			p->capacity = xml_size(k, "bytes");
		} else if (is_elem(k, "allocation")) {
			p->allocation = xml_size(k, "bytes");
		} else if (is_elem(k, "available")) {
			p->available = xml_size(k, "bytes");
		}
	}
	if (!p->name || !*p->name || p->capacity == NC_STAT_NONE || p->allocation == NC_STAT_NONE ||
	    p->available == NC_STAT_NONE) {
		free(p->name);
		memset(p, 0, sizeof(*p));
		return;
	}
	s->npools++;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

/* sim:///NAME?... -> NAME, CPUs and memory (drivers/host/libvirt.c) */
int nc_sim_uri_parse(const char *uri, char **name, unsigned *cpus, uint64_t *memory, struct nc_err *err);

int nc_sim_stats_read(const char *state_dir, const char *uri, struct nc_host_stats *out, struct nc_err *err)
{
	struct nc_host_stats s;
	struct sim_loads loads = { 0 };
	char *name = NULL, *file = NULL, *buf = NULL;
	unsigned cpus;
	uint64_t memory;
	size_t len = 0, nd = 0, np = 0;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, k;
	double t = sim_now();
	int ret = -1, rd;

	memset(&s, 0, sizeof(s));
	/* collection calls this on many threads at once, maybe before any host was opened */
	pthread_once(&xml_once, xml_init);
	if (nc_sim_uri_parse(uri, &name, &cpus, &memory, err) < 0)
		return -1;
	if (!state_dir || !*state_dir) {
		nc_err_set(err, "sim:// hosts need a state directory (--state-dir or NOVACRON_STATE_DIR)");
		goto out;
	}
	if (nc_sim_host_down(state_dir, name)) {
		nc_err_set(err, "cannot connect: simulated host %s is down (novacron sim %s up brings it back)",
			   name, name);
		goto out;
	}
	file = nc_xasprintf("%s/%s.xml", state_dir, name);
	if (loads_read(&loads, file, err) < 0)
		goto out;
	s.cpus = cpus;
	s.mem_total = memory;
	errno = 0;
	rd = nc_read_file(file, 1u << 30, &buf, &len);
	if (rd < 0 && !(rd == -1 && errno == ENOENT)) {
		nc_err_set(err, "cannot read %s: %s", file, rd == -2 ? "larger than 1 GiB" : strerror(errno));
		goto out;
	}
	if (rd == 0) {     /* else never opened: the empty host its URI describes */
		doc = xmlReadMemory(buf, (int)len, "node.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE);
		root = doc ? xmlDocGetRootElement(doc) : NULL;
		if (!root || !is_elem(root, "node")) {
			nc_err_set(err, "cannot open simulated host: %s is not a host definition", file);
			goto out;
		}
		for (k = root->children; k; k = k->next) {
			nd += is_elem(k, "domain");
			np += is_elem(k, "pool");
		}
		s.doms = nc_xcalloc(nd ? nd : 1, sizeof(*s.doms));
		s.pools = nc_xcalloc(np ? np : 1, sizeof(*s.pools));
		for (k = root->children; k; k = k->next) {
			if (is_elem(k, "domain")) {
				file_domain(&s, k);
			} else if (is_elem(k, "pool")) {
				file_pool(&s, k);
			} else if (is_elem(k, "memory")) {
				uint64_t m = xml_size(k, "KiB");

				if (m != NC_STAT_NONE)
					s.mem_total = m;
			} else if (is_elem(k, "cpu")) {
				for (xmlNodePtr c = k->children; c; c = c->next)
					if (is_elem(c, "active") && xml_uint(c, NULL))
						s.cpus = xml_uint(c, NULL);
			}
		}
	} else {
		s.doms = nc_xcalloc(1, sizeof(*s.doms));
		s.pools = nc_xcalloc(1, sizeof(*s.pools));
	}
	sim_fill(&s, &loads, t);
	*out = s;
	memset(&s, 0, sizeof(s));
	ret = 0;
out:
	nc_host_stats_release(&s);
	loads_release(&loads);
	xmlFreeDoc(doc);
	free(buf);
	free(file);
	free(name);
	return ret;
}
int nc_host_stats_read(struct nc_host_conn *conn, struct nc_host_stats *out, struct nc_err *err)
{
	virConnectPtr c = nc_libvirt_conn(conn);
	struct nc_host_stats s;
	int r;

	memset(&s, 0, sizeof(s));
	if (!c) {
		nc_err_set(err, "no statistics for this host");
		return -1;
	}
	if (nc_libvirt_is_sim(conn)) {
		r = sim_stats_read(conn, c, &s, err);
	} else {
		virNodeInfo ni;

		if (virNodeGetInfo(c, &ni) < 0)
			return st_fail(err, "cannot read node info");
		s.cpus = ni.cpus;
		s.mem_total = (uint64_t)ni.memory * 1024;
		r = lv_stats_read(c, &s, err);
	}
	if (r == 0)
		r = pools_stats(c, &s, err);
	if (r < 0) {
		nc_host_stats_release(&s);
		return -1;
	}
	*out = s;
	return 0;
}

/* ---- `novacron sim HOST load ...` ---- */

static void fmt_rate(char *buf, size_t len, double v, bool bytes)
{
	if (bytes && v >= 1 && fmod(v, 1) == 0) {
		nc_size_format((uint64_t)v, buf, len);
		snprintf(buf + strlen(buf), len - strlen(buf), "/s");
	} else {
		snprintf(buf, len, "%g%s", v, bytes ? "B/s" : "/s");
	}
}

static int load_table(struct nc_host_conn *conn, const struct sim_loads *loads, FILE *out,
		      struct nc_err *err)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(nc_libvirt_conn(conn), &doms, 0), i, j;

	if (n < 0)
		return st_fail(err, "cannot list domains");
	for (i = 1; i < n; i++)       /* by name */
		for (j = i; j > 0 && strcmp(virDomainGetName(doms[j - 1]), virDomainGetName(doms[j])) > 0; j--) {
			virDomainPtr x = doms[j];

			doms[j] = doms[j - 1];
			doms[j - 1] = x;
		}
	fprintf(out, "%-20s %-8s %5s %6s %12s %12s %10s %10s %12s %12s\n", "VM", "LOAD", "CPU", "MEMORY",
		"DISK-READ", "DISK-WRITE", "READ-OPS", "WRITE-OPS", "NET-RX", "NET-TX");
	for (i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		struct sim_load l = effective(loads, name);
		char rd[32], wr[32], ro[32], wo[32], rx[32], tx[32];

		fmt_rate(rd, sizeof(rd), l.rate[L_RD], true);
		fmt_rate(wr, sizeof(wr), l.rate[L_WR], true);
		fmt_rate(ro, sizeof(ro), l.rate[L_RDOPS], false);
		fmt_rate(wo, sizeof(wo), l.rate[L_WROPS], false);
		fmt_rate(rx, sizeof(rx), l.rate[L_RX], true);
		fmt_rate(tx, sizeof(tx), l.rate[L_TX], true);
		fprintf(out, "%-20s %-8s %4.0f%% %5.0f%% %12s %12s %10s %10s %12s %12s\n", name,
			l.scripted ? "script" : "baseline", l.rate[L_CPU] * 100, l.memory * 100, rd, wr, ro, wo,
			rx, tx);
	}
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	return 0;
}

/* KEY=VALUE of `load`: cpu and memory are shares (0.8 or 80%), the rest rates per second */
static int load_arg(struct sim_load *l, const char *arg, struct nc_err *err)
{
	const char *eq = strchr(arg, '=');
	size_t kl = eq ? (size_t)(eq - arg) : 0;
	const char *v = eq ? eq + 1 : NULL;
	int k;

	if (!eq) {
		nc_err_set(err, "expected KEY=VALUE, got '%s'", arg);
		return -1;
	}
	if ((kl == 3 && strncmp(arg, "cpu", 3) == 0) || (kl == 6 && strncmp(arg, "memory", 6) == 0)) {
		char *end;
		double x;

		errno = 0;
		x = strtod(v, &end);
		if (strpbrk(v, "xX") || !((*v >= '0' && *v <= '9') || *v == '.'))
			end = (char *)v;           /* decimal only: not 0x10 (16), not " 1" */
		if (*end == '%') {
			x /= 100;
			end++;
		}
		if (errno || end == v || *end || !isfinite(x) || x < 0 || (kl == 6 && x > 1) || x > 64) {
			nc_err_set(err, "invalid %.*s '%s' (a share: 0.8 or 80%%%s)", (int)kl, arg, v,
				   kl == 6 ? ", at most 1" : "");
			return -1;
		}
		if (kl == 3)
			l->rate[L_CPU] = x;
		else
			l->memory = x;
		return 0;
	}
	for (k = 1; k < L__N; k++) {
		if (strlen(load_keys[k]) == kl && strncmp(arg, load_keys[k], kl) == 0) {
			uint64_t x;
			const char *why;

			if (nc_size_parse(v, &x, &why) < 0) {
				nc_err_set(err, "invalid %s '%s': %s", load_keys[k], v, why);
				return -1;
			}
			l->rate[k] = (double)x;
			return 0;
		}
	}
	nc_err_set(err, "unknown load key '%.*s' (cpu, memory, disk-read, disk-write, disk-read-ops, "
			"disk-write-ops, net-rx, net-tx)", (int)kl, arg);
	return -1;
}

int nc_sim_load_tool(struct nc_host_conn *conn, int argc, char **argv, FILE *out, struct nc_err *err)
{
	struct sim_loads loads = { 0 };
	struct sim_load cur, *e;
	virDomainPtr dom = NULL;
	virDomainInfo info;
	double t = sim_now();
	int ret = -1, i, k;
	bool clear = false;

	if (loads_read(&loads, nc_libvirt_state_file(conn), err) < 0)
		return -1;
	if (argc == 1) {
		ret = load_table(conn, &loads, out, err);
		goto out;
	}
	if (argc == 3 && strcmp(argv[2], "--clear") == 0)
		clear = true;
	dom = virDomainLookupByName(nc_libvirt_conn(conn), argv[1]);
	if (!dom) {
		st_fail(err, "cannot find domain");
		goto out;
	}
	if (virDomainGetInfo(dom, &info) < 0) {
		st_fail(err, "cannot read domain");
		goto out;
	}
	/* the counters now, under the load in effect until now */
	cur = effective(&loads, argv[1]);
	cur.vm = NULL;
	for (k = 0; k < L__N; k++)
		cur.base[k] = counter(&cur, k, t, info.nrVirtCpu);
	cur.t0 = t;
	cur.vcpus = info.nrVirtCpu;
	if (clear) {
		struct sim_load b;

		baseline(&b, argv[1]);
		memcpy(cur.rate, b.rate, sizeof(cur.rate));
		cur.memory = b.memory;
		cur.scripted = false;
	} else {
		for (i = 2; i < argc; i++)
			if (load_arg(&cur, argv[i], err) < 0)
				goto out;
		cur.scripted = true;
	}
	e = loads_find(&loads, argv[1]);
	if (!e) {
		loads.v = nc_xreallocarray(loads.v, loads.n + 1, sizeof(*loads.v));
		e = &loads.v[loads.n++];
		e->vm = nc_xstrdup(argv[1]);
	}
	cur.vm = e->vm;
	*e = cur;
	qsort(loads.v, loads.n, sizeof(*loads.v), load_cmp);
	if (loads_write(&loads, conn, err) < 0)
		goto out;
	ret = load_table(conn, &loads, out, err);
out:
	if (dom)
		virDomainFree(dom);
	loads_release(&loads);
	return ret;
}
