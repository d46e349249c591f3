/*
 * test_telemetry.c - collection and derivation (telemetry/collect.c,
 * telemetry/derive.c, the driver's stats op in drivers/host/stats.c):
 * simulated hosts with a scripted load, stepped by NOVACRON_SIM_TIME; the
 * test driver's real statistics call; a host that never answers.
 */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"
#include "../drivers/driver.h"
#include "../spec/util.h"
#include "../telemetry/telemetry.h"

#define T0 1800000000.0

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-collect-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	unsetenv("NOVACRON_SIM_TIME");
}

static void teardown(void)
{
	struct nc_run r;
	char *cmd = nc_xasprintf("rm -rf '%s'", tdir);

	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
	unsetenv("NOVACRON_SIM_TIME");
}

static void set_time(double t)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.3f", t);
	setenv("NOVACRON_SIM_TIME", buf, 1);
}

/* defines and starts a domain on a simulated host: vcpus, memory, disks vda.., NICs */
static void sim_vm(const char *host, const char *name, unsigned vcpus, uint64_t memory, size_t ndisks,
		   size_t nnics)
{
	struct nc_driver_opts o = { tdir };
	struct nc_host_conn *c = NULL;
	struct nc_err err = { "" };
	struct nc_disk_def disks[4];
	struct nc_nic_def nics[4];
	struct nc_domain_def def;
	char *uri = nc_xasprintf("sim:///%s?cpus=8&memory=16GiB", host), tg[4][8], src[4][64], mac[4][20];
	size_t i;

	memset(&def, 0, sizeof(def));
	memset(disks, 0, sizeof(disks));
	memset(nics, 0, sizeof(nics));
	for (i = 0; i < ndisks; i++) {
		snprintf(tg[i], sizeof(tg[i]), "vd%c", (char)('a' + i));
		snprintf(src[i], sizeof(src[i]), "/var/lib/nc/%s-%zu.qcow2", name, i);
		disks[i].name = tg[i];
		disks[i].target = tg[i];
		disks[i].bus = "virtio";
		disks[i].type = "file";
		disks[i].source = src[i];
		disks[i].format = "qcow2";
		disks[i].size = 1ULL << 30;
		disks[i].boot = i == 0;
	}
	for (i = 0; i < nnics; i++) {
		snprintf(mac[i], sizeof(mac[i]), "52:54:00:AA:00:%02zx", i + (name[0] == 'b' ? 16 : 0));
		nics[i].name = "eth";
		nics[i].mac = mac[i];
		nics[i].type = "network";
		nics[i].source = "default";
		nics[i].model = "virtio";
	}
	def.name = name;
	def.vcpus = vcpus;
	def.memory = memory;
	def.disks = disks;
	def.ndisks = ndisks;
	def.nics = nics;
	def.nnics = nnics;
	def.meta_vm = name;
	def.meta_hash = "0";
	ck_assert_msg(nc_host_open(&c, uri, &o, &err) == 0, "%s", err.msg);
	ck_assert_msg(c->drv->define(c, &def, &err) == 0, "%s", err.msg);
	ck_assert_msg(c->drv->start(c, name, &err) == 0, "%s", err.msg);
	ck_assert_msg(c->drv->commit(c, &err) == 0, "%s", err.msg);
	nc_host_close(c);
	free(uri);
}

/* `novacron sim HOST ARGS...` in-process; returns its status, output in *outp (caller frees) */
static int sim_tool(char **outp, const char *host, int argc, const char **argv)
{
	struct nc_err err = { "" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r = nc_sim_tool(tdir, host, argc, (char **)argv, f, &err);

	fclose(f);
	if (r < 0) {
		free(buf);
		buf = nc_xstrdup(err.msg);
	}
	if (outp)
		*outp = buf;
	else
		free(buf);
	return r;
}

static int load(const char *host, const char *a1, const char *a2, const char *a3, const char *a4,
		const char *a5)
{
	const char *argv[] = { "load", a1, a2, a3, a4, a5, NULL };
	int argc = 1;

	while (argc < 6 && argv[argc])
		argc++;
	return sim_tool(NULL, host, argc, argv);
}

static struct nc_spec *spec_of(const char *yaml)
{
	struct nc_spec *spec = NULL;
	struct nc_diags d;

	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load_buffer(&spec, "t.yaml", yaml, strlen(yaml), NULL, &d), 0);
	nc_diags_release(&d);
	return spec;
}

#define HOST(n, uri) "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: " n "}\nspec: {uri: \"" uri "\"}\n---\n"
#define SIMHOST(n) HOST(n, "sim:///" n "?cpus=8&memory=16GiB")
#define TMPL "apiVersion: novacron.io/v1\nkind: Template\nmetadata: {name: t}\nspec: {vcpus: 2, memory: 2GiB}\n---\n"
#define VM(n) "apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: " n "}\nspec: {template: t}\n---\n"

static void collect(struct nc_tm_round *out, const struct nc_spec *spec, const struct nc_tm_round *prev,
		    const char *const *failed, size_t nfailed)
{
	struct nc_tm_collect_opts o;

	memset(&o, 0, sizeof(o));
	o.state_dir = tdir;
	o.timeout_ms = 20000;
	o.failed = failed;
	o.nfailed = nfailed;
	nc_tm_collect(out, spec, prev, &o);
}

static double val(const struct nc_tm_round *r, enum nc_metric_target t, const char *id, unsigned m)
{
	const struct nc_tm_object *o = nc_tm_round_find(r, t, id);

	ck_assert_msg(o != NULL, "no %s %s in the round", nc_metric_target_name(t), id);
	return o->v[m];
}

static void near(double a, double b, const char *what)
{
	ck_assert_msg(fabs(a - b) <= 1e-6 * fabs(b) + 1e-9, "%s = %.9g, want %.9g", what, a, b);
}
#define NEAR(a, b) near((double)(a), (double)(b), #a)

/* the scripted rates come back as derived values, to the byte */
START_TEST(test_tm_sim_scripted_rates)
{
	struct nc_spec *spec = spec_of(SIMHOST("h1") TMPL VM("a"));
	struct nc_tm_round r1, r2;
	const struct nc_tm_object *o;
	double busy;

	sim_vm("h1", "a", 2, 2ULL << 30, 2, 1);
	sim_vm("h1", "b", 1, 1ULL << 30, 1, 1);
	set_time(T0);
	ck_assert_int_eq(load("h1", "a", "cpu=0.5", "memory=25%", "disk-read=10MiB", "disk-write=1MiB"), 0);
	ck_assert_int_eq(load("h1", "a", "disk-read-ops=100", "disk-write-ops=20", "net-rx=2MiB", "net-tx=512KiB"), 0);
	set_time(T0 + 100);
	collect(&r1, spec, NULL, NULL, 0);
	ck_assert_uint_eq(r1.nhosts, 1);
	ck_assert_ptr_null(r1.errors[0]);
	ck_assert(r1.raw[0].t == T0 + 100);
	/* the first round: gauges, no rates */
	ck_assert(val(&r1, NC_MT_HOST, "h1", NC_HM_UP) == 1);
	ck_assert(isnan(val(&r1, NC_MT_HOST, "h1", NC_HM_CPU_USAGE)));
	ck_assert(isnan(val(&r1, NC_MT_VM, "a", NC_VM_CPU_USAGE)));
	ck_assert(isnan(val(&r1, NC_MT_VM, "a", NC_VM_DISK_READ_BPS)));
	NEAR(val(&r1, NC_MT_VM, "a", NC_VM_MEMORY_USED), 0.25 * (2ULL << 30));
	set_time(T0 + 115);
	collect(&r2, spec, &r1, NULL, 0);
	ck_assert_int_eq(r2.t, (time_t)(T0 + 115));     /* the round happens at the simulated time */
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_CPU_USAGE), 0.5);
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_DISK_READ_BPS), 10 << 20);
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_DISK_WRITE_BPS), 1 << 20);
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_DISK_READ_OPS), 100);
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_DISK_WRITE_OPS), 20);
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_NET_RX_BPS), 2 << 20);
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_NET_TX_BPS), 512 << 10);
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_MEMORY_BYTES), 2ULL << 30);
	NEAR(val(&r2, NC_MT_VM, "a", NC_VM_MEMORY_USED_RATIO), 0.25);
	ck_assert(val(&r2, NC_MT_VM, "a", NC_VM_VCPUS) == 2);
	ck_assert(val(&r2, NC_MT_VM, "a", NC_VM_RUNNING) == 1);
	/* b runs its baseline: a small load, known */
	ck_assert(val(&r2, NC_MT_VM, "b", NC_VM_CPU_USAGE) > 0);
	ck_assert(val(&r2, NC_MT_VM, "b", NC_VM_CPU_USAGE) <= 0.1);
	/* a is a spec VM, b is not */
	o = nc_tm_round_find(&r2, NC_MT_VM, "a");
	ck_assert(o->managed);
	ck_assert_str_eq(o->host, "h1");
	ck_assert(!nc_tm_round_find(&r2, NC_MT_VM, "b")->managed);
	/* the node: its guests' CPU over its 8 CPUs, their balloons used */
	busy = 0.5 * 2 + val(&r2, NC_MT_VM, "b", NC_VM_CPU_USAGE) * 1;
	NEAR(val(&r2, NC_MT_HOST, "h1", NC_HM_CPU_USAGE), busy / 8);
	ck_assert(val(&r2, NC_MT_HOST, "h1", NC_HM_CPUS) == 8);
	ck_assert(val(&r2, NC_MT_HOST, "h1", NC_HM_VMS_RUNNING) == 2);
	NEAR(val(&r2, NC_MT_HOST, "h1", NC_HM_MEMORY_TOTAL), 16ULL << 30);
	NEAR(val(&r2, NC_MT_HOST, "h1", NC_HM_MEMORY_USED), 3ULL << 30);
	ck_assert(val(&r2, NC_MT_HOST, "h1", NC_HM_FAILED) == 0);
	/* the raw statistics: per disk and NIC, sorted by domain */
	ck_assert_uint_eq(r2.raw[0].ndoms, 2);
	ck_assert_str_eq(r2.raw[0].doms[0].name, "a");
	ck_assert_uint_eq(r2.raw[0].doms[0].ndisks, 2);
	ck_assert_str_eq(r2.raw[0].doms[0].disks[1].dev, "vdb");
	ck_assert_uint_eq(r2.raw[0].doms[0].nnics, 1);
	ck_assert_str_eq(r2.raw[0].doms[0].nics[0].mac, "52:54:00:aa:00:00");
	/* sorted: hosts, then VMs by id */
	ck_assert_int_eq(r2.objs[0].target, NC_MT_HOST);
	ck_assert_str_eq(r2.objs[1].id, "a");
	ck_assert_str_eq(r2.objs[2].id, "b");
	nc_tm_round_release(&r1);
	nc_tm_round_release(&r2);
	nc_spec_free(spec);
}
END_TEST

static struct nc_host_stats raw_of(const char *host)
{
	struct nc_driver_opts o = { tdir };
	struct nc_host_conn *c = NULL;
	struct nc_err err = { "" };
	struct nc_host_stats s;
	char *uri = nc_xasprintf("sim:///%s?cpus=8&memory=16GiB", host);

	ck_assert_msg(nc_host_open(&c, uri, &o, &err) == 0, "%s", err.msg);
	ck_assert_msg(c->drv->stats(c, &s, &err) == 0, "%s", err.msg);
	nc_host_close(c);
	free(uri);
	return s;
}

/* a load change keeps every counter going up; the new rate holds from the change */
START_TEST(test_tm_sim_counters_monotonic)
{
	struct nc_host_stats s[5];
	struct nc_tm_round r = { 0 };
	int i;

	sim_vm("h1", "a", 4, 1ULL << 30, 1, 1);
	set_time(T0);
	ck_assert_int_eq(load("h1", "a", "cpu=0.9", "disk-write=100MiB", NULL, NULL), 0);
	set_time(T0 + 10);
	s[0] = raw_of("h1");
	ck_assert_int_eq(load("h1", "a", "cpu=0.1", "disk-write=1MiB", NULL, NULL), 0);
	s[1] = raw_of("h1");
	set_time(T0 + 25);
	s[2] = raw_of("h1");
	ck_assert_int_eq(load("h1", "a", "--clear", NULL, NULL, NULL), 0);     /* back to its baseline */
	set_time(T0 + 40);
	s[3] = raw_of("h1");
	ck_assert_int_eq(load("h1", "a", "cpu=2", NULL, NULL, NULL), 0);       /* more than its vCPUs: accepted */
	set_time(T0 + 41);
	s[4] = raw_of("h1");
	for (i = 1; i < 5; i++) {
		ck_assert_uint_ge(s[i].doms[0].cpu_time_ns, s[i - 1].doms[0].cpu_time_ns);
		ck_assert_uint_ge(s[i].doms[0].disks[0].wr_bytes, s[i - 1].doms[0].disks[0].wr_bytes);
		ck_assert_uint_ge(s[i].doms[0].nics[0].rx_bytes, s[i - 1].doms[0].nics[0].rx_bytes);
		ck_assert_uint_ge(s[i].cpu_busy_ns, s[i - 1].cpu_busy_ns);
		ck_assert_uint_ge(s[i].cpu_total_ns, s[i - 1].cpu_total_ns);
	}
	/* the change itself moves no counter */
	ck_assert_uint_eq(s[1].doms[0].cpu_time_ns, s[0].doms[0].cpu_time_ns);
	ck_assert_uint_eq(s[0].doms[0].cpu_time_ns - s[0].doms[0].cpu_time_ns, 0);
	nc_tm_derive(&r, "h1", &s[1], &s[2]);
	nc_tm_round_sort(&r);
	NEAR(val(&r, NC_MT_VM, "a", NC_VM_CPU_USAGE), 0.1);
	NEAR(val(&r, NC_MT_VM, "a", NC_VM_DISK_WRITE_BPS), 1 << 20);
	nc_tm_round_release(&r);
	nc_tm_derive(&r, "h1", &s[3], &s[4]);
	nc_tm_round_sort(&r);
	NEAR(val(&r, NC_MT_VM, "a", NC_VM_CPU_USAGE), 2);
	/* the host saturates: never more than all of its CPUs */
	ck_assert(val(&r, NC_MT_HOST, "h1", NC_HM_CPU_USAGE) <= 1);
	nc_tm_round_release(&r);
	for (i = 0; i < 5; i++)
		nc_host_stats_release(&s[i]);
}
END_TEST

/* `novacron sim HOST load`: the table, bad input, an unknown VM */
START_TEST(test_tm_sim_load_tool)
{
	const char *table[] = { "load" };
	const char *bad1[] = { "load", "a", "cpu=lots" };
	const char *bad2[] = { "load", "a", "memory=1.5" };
	const char *bad3[] = { "load", "a", "disk-reed=1MiB" };
	const char *bad4[] = { "load", "nosuch", "cpu=0.5" };
	const char *ok[] = { "load", "a", "cpu=80%", "net-tx=1MiB" };
	char *out;

	sim_vm("h1", "a", 1, 1ULL << 30, 1, 1);
	sim_vm("h1", "b", 1, 1ULL << 30, 1, 0);
	ck_assert_int_eq(sim_tool(&out, "h1", 1, table), 0);
	HAS(out, "VM                   LOAD       CPU MEMORY");
	HAS(out, "\na                    baseline ");
	HAS(out, "\nb                    baseline ");
	free(out);
	ck_assert_int_eq(sim_tool(&out, "h1", 3, bad1), -1);
	HAS(out, "invalid cpu 'lots'");
	free(out);
	ck_assert_int_eq(sim_tool(&out, "h1", 3, bad2), -1);
	HAS(out, "invalid memory '1.5'");
	free(out);
	ck_assert_int_eq(sim_tool(&out, "h1", 3, bad3), -1);
	HAS(out, "unknown load key 'disk-reed'");
	free(out);
	ck_assert_int_eq(sim_tool(&out, "h1", 3, bad4), -1);
	HAS(out, "cannot find domain");
	free(out);
	ck_assert_int_eq(sim_tool(&out, "h1", 4, ok), 0);
	HAS(out, "\na                    script     80% ");
	HAS(out, "1MiB/s\n");
	free(out);
	/* the command line: exit 1 and the reason */
	{
		struct nc_run r;

		ck_assert_int_eq(nc_run_in(&r, tdir, "$NC sim --state-dir . h1 load a net-rx=-1"), 1);
		HAS(r.err, "novacron sim: invalid net-rx '-1': sizes cannot be negative");
		nc_run_free(&r);
		ck_assert_int_eq(nc_run_in(&r, tdir, "$NC sim --state-dir . h1 load a cpu=0x10"), 1);
		HAS(r.err, "novacron sim: invalid cpu '0x10' (a share: 0.8 or 80%)");
		nc_run_free(&r);
		ck_assert_int_eq(nc_run_in(&r, tdir, "$NC sim --state-dir . h1 load b --clear"), 0);
		HAS(r.out, "\nb                    baseline ");
		nc_run_free(&r);
	}
	/* the file is kept in the state dir; a broken one is a clear error */
	{
		char *p = nc_xasprintf("%s/h1.load", tdir);
		FILE *f;

		ck_assert_int_eq(access(p, F_OK), 0);
		f = fopen(p, "w");
		fputs("{\"vms\": 3}\n", f);
		fclose(f);
		ck_assert_int_eq(sim_tool(&out, "h1", 1, table), -1);
		HAS(out, "h1.load is not a load file written by novacron sim");
		free(out);
		/* values `load` never writes (a tampered file): refused, not shown as "inf%" */
		for (int i = 0; i < 3; i++) {      /* the third, in range, is read */
			f = fopen(p, "w");
			fprintf(f, "{\"format_version\": 1, \"vms\": [{\"vm\": \"a\", \"scripted\": true, \"t0\": 0, "
				"\"vcpus\": 1, \"memory\": %s, \"cpu\": %s, \"disk-read\": 0, \"disk-write\": 0, "
				"\"disk-read-ops\": 0, \"disk-write-ops\": 0, \"net-rx\": 0, \"net-tx\": 0, \"base\": "
				"{\"cpu\": 0, \"disk-read\": 0, \"disk-write\": 0, \"disk-read-ops\": 0, "
				"\"disk-write-ops\": 0, \"net-rx\": 0, \"net-tx\": 0}}]}\n",
				i ? "0.5" : "1e308", i == 1 ? "1e300" : "0.5");
			fclose(f);
			ck_assert_int_eq(sim_tool(&out, "h1", 1, table), i == 2 ? 0 : -1);
			if (i == 2)
				HAS(out, "\na                    script     50%");
			else
				HAS(out, "h1.load is not a load file written by novacron sim");
			free(out);
		}
		free(p);
	}
}
END_TEST

static void dom(struct nc_dom_stats *d, const char *name, enum nc_dom_state st, unsigned vcpus, uint64_t cpu,
		uint64_t rd)
{
	memset(d, 0, sizeof(*d));
	d->name = nc_xstrdup(name);
	d->state = st;
	d->vcpus = vcpus;
	d->cpu_time_ns = cpu;
	d->balloon_cur = d->balloon_max = 1ULL << 30;
	d->mem_unused = d->mem_available = d->rss = NC_STAT_NONE;
	d->disks = nc_xcalloc(1, sizeof(*d->disks));
	d->disks[0].dev = nc_xstrdup("vda");
	d->disks[0].rd_bytes = rd;
	d->disks[0].wr_bytes = d->disks[0].rd_reqs = d->disks[0].wr_reqs = 0;
	d->ndisks = 1;
	d->nics = nc_xcalloc(1, sizeof(*d->nics));
}

static void host(struct nc_host_stats *s, double t, uint64_t busy, uint64_t total, const char *pool, bool shared,
		 uint64_t pool_used)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->cpus = 4;
	s->cpu_busy_ns = busy;
	s->cpu_total_ns = total;
	s->mem_total = 8ULL << 30;
	s->mem_available = NC_STAT_NONE;
	s->doms = nc_xcalloc(8, sizeof(*s->doms));
	s->pools = nc_xcalloc(1, sizeof(*s->pools));
	s->pools[0].name = nc_xstrdup(pool);
	s->pools[0].shared = shared;
	s->pools[0].capacity = 100;
	s->pools[0].allocation = pool_used;
	s->pools[0].available = 100 - pool_used;
	s->npools = 1;
}

/* gaps, never zeros: counters that went backwards, unknown values, no vCPUs, no time passed */
START_TEST(test_tm_derive_gaps)
{
	struct nc_host_stats a, b, c;
	struct nc_tm_round r = { 0 };

	host(&a, 100, 5000, 10000, "local", false, 10);
	host(&b, 110, 4000, 20000, "local", false, 20);         /* node busy went backwards */
	dom(&a.doms[a.ndoms++], "back", NC_DOM_RUNNING, 2, 9000000000ULL, 100);
	dom(&b.doms[b.ndoms++], "back", NC_DOM_RUNNING, 2, 1000000000ULL, 50);   /* restarted */
	dom(&a.doms[a.ndoms++], "fine", NC_DOM_RUNNING, 2, 0, 0);
	dom(&b.doms[b.ndoms++], "fine", NC_DOM_RUNNING, 2, 10000000000ULL, 1000);
	dom(&a.doms[a.ndoms++], "novcpu", NC_DOM_RUNNING, 0, 0, 0);
	dom(&b.doms[b.ndoms++], "novcpu", NC_DOM_RUNNING, 0, 5000000000ULL, NC_STAT_NONE);
	dom(&a.doms[a.ndoms++], "off", NC_DOM_SHUTOFF, 1, NC_STAT_NONE, NC_STAT_NONE);
	dom(&b.doms[b.ndoms++], "off", NC_DOM_SHUTOFF, 1, NC_STAT_NONE, NC_STAT_NONE);
	dom(&a.doms[a.ndoms++], "paused", NC_DOM_RUNNING, 1, 1000, 0);
	dom(&b.doms[b.ndoms++], "paused", NC_DOM_PAUSED, 1, 1000, 0);
	nc_tm_derive(&r, "h1", &a, &b);
	nc_tm_round_sort(&r);
	ck_assert(isnan(val(&r, NC_MT_HOST, "h1", NC_HM_CPU_USAGE)));
	ck_assert(isnan(val(&r, NC_MT_HOST, "h1", NC_HM_MEMORY_USED)));     /* available unknown */
	NEAR(val(&r, NC_MT_HOST, "h1", NC_HM_MEMORY_TOTAL), 8ULL << 30);
	ck_assert(isnan(val(&r, NC_MT_VM, "back", NC_VM_CPU_USAGE)));
	ck_assert(isnan(val(&r, NC_MT_VM, "back", NC_VM_DISK_READ_BPS)));
	NEAR(val(&r, NC_MT_VM, "fine", NC_VM_CPU_USAGE), 0.5);               /* 10 s of 2 vCPUs over 10 s */
	NEAR(val(&r, NC_MT_VM, "fine", NC_VM_DISK_READ_BPS), 100);
	NEAR(val(&r, NC_MT_VM, "fine", NC_VM_NET_RX_BPS), 0);                /* no NIC: nothing sent */
	NEAR(val(&r, NC_MT_VM, "fine", NC_VM_MEMORY_USED), 1ULL << 30);      /* no guest stats nor RSS: the balloon */
	ck_assert(isnan(val(&r, NC_MT_VM, "novcpu", NC_VM_CPU_USAGE)));
	ck_assert(isnan(val(&r, NC_MT_VM, "novcpu", NC_VM_VCPUS)));
	ck_assert(isnan(val(&r, NC_MT_VM, "novcpu", NC_VM_DISK_READ_BPS)));
	ck_assert(val(&r, NC_MT_VM, "off", NC_VM_RUNNING) == 0);
	ck_assert(val(&r, NC_MT_VM, "off", NC_VM_CPU_USAGE) == 0);           /* off: uses nothing */
	ck_assert(val(&r, NC_MT_VM, "off", NC_VM_MEMORY_USED) == 0);
	ck_assert(val(&r, NC_MT_VM, "paused", NC_VM_CPU_USAGE) == 0);
	NEAR(val(&r, NC_MT_VM, "paused", NC_VM_MEMORY_USED), 1ULL << 30);   /* paused: its memory held */
	ck_assert(val(&r, NC_MT_HOST, "h1", NC_HM_VMS_RUNNING) == 3);
	NEAR(val(&r, NC_MT_POOL, "local@h1", NC_PM_USED_RATIO), 0.2);
	nc_tm_round_release(&r);

	/* no time passed: no rates */
	host(&c, 110, 9000, 30000, "local", false, 20);
	dom(&c.doms[c.ndoms++], "fine", NC_DOM_RUNNING, 2, 20000000000ULL, 2000);
	nc_tm_derive(&r, "h1", &b, &c);
	nc_tm_round_sort(&r);
	ck_assert(isnan(val(&r, NC_MT_VM, "fine", NC_VM_CPU_USAGE)));
	ck_assert(isnan(val(&r, NC_MT_HOST, "h1", NC_HM_CPU_USAGE)));
	nc_tm_round_release(&r);
	/* guest statistics: used = available - unused; else RSS */
	c.doms[0].mem_available = 1000;
	c.doms[0].mem_unused = 400;
	c.doms[0].rss = 900;
	nc_tm_derive(&r, "h1", NULL, &c);
	nc_tm_round_sort(&r);
	NEAR(val(&r, NC_MT_VM, "fine", NC_VM_MEMORY_USED), 600);
	nc_tm_round_release(&r);
	c.doms[0].mem_unused = NC_STAT_NONE;
	nc_tm_derive(&r, "h1", NULL, &c);
	nc_tm_round_sort(&r);
	NEAR(val(&r, NC_MT_VM, "fine", NC_VM_MEMORY_USED), 900);
	nc_tm_round_release(&r);
	c.doms[0].rss = (1ULL << 30) + 4096;         /* QEMU's own memory on top: at most the balloon */
	nc_tm_derive(&r, "h1", NULL, &c);
	nc_tm_round_sort(&r);
	NEAR(val(&r, NC_MT_VM, "fine", NC_VM_MEMORY_USED_RATIO), 1);
	/* a host that did not answer: up 0, the rest gaps */
	nc_tm_derive(&r, "h2", &c, NULL);
	nc_tm_round_sort(&r);
	ck_assert(val(&r, NC_MT_HOST, "h2", NC_HM_UP) == 0);
	ck_assert(isnan(val(&r, NC_MT_HOST, "h2", NC_HM_MEMORY_TOTAL)));
	ck_assert(isnan(val(&r, NC_MT_HOST, "h2", NC_HM_CPUS)));
	nc_tm_round_release(&r);
	nc_host_stats_release(&a);
	nc_host_stats_release(&b);
	nc_host_stats_release(&c);
}
END_TEST

/* ids stay unique: a shared pool once, a domain on two hosts once (the running copy) */
START_TEST(test_tm_derive_unique_ids)
{
	struct nc_host_stats a, b;
	struct nc_tm_round r = { 0 };
	const struct nc_tm_object *o;
	size_t i, pools = 0;

	host(&a, 100, 0, 0, "ceph", true, 30);
	host(&b, 100, 0, 0, "ceph", true, 30);
	dom(&a.doms[a.ndoms++], "web", NC_DOM_SHUTOFF, 1, NC_STAT_NONE, NC_STAT_NONE);
	dom(&b.doms[b.ndoms++], "web", NC_DOM_RUNNING, 1, 5, 5);
	nc_tm_derive(&r, "h1", NULL, &a);
	nc_tm_derive(&r, "h2", NULL, &b);
	nc_tm_round_sort(&r);
	ck_assert_uint_eq(r.nobjs, 4);     /* h1, h2, web, ceph */
	o = nc_tm_round_find(&r, NC_MT_VM, "web");
	ck_assert_str_eq(o->host, "h2");
	ck_assert(o->v[NC_VM_RUNNING] == 1);
	for (i = 0; i < r.nobjs; i++)
		pools += r.objs[i].target == NC_MT_POOL;
	ck_assert_uint_eq(pools, 1);
	o = nc_tm_round_find(&r, NC_MT_POOL, "ceph");
	ck_assert_ptr_null(o->host);
	ck_assert_ptr_null(nc_tm_round_find(&r, NC_MT_POOL, "ceph@h1"));
	ck_assert_ptr_null(nc_tm_round_find(&r, NC_MT_VM, "nosuch"));
	nc_tm_round_release(&r);
	nc_host_stats_release(&a);
	nc_host_stats_release(&b);
}
END_TEST

/* NovaCron's libvirt pools (novacron-POOL) are named after their StoragePool; others keep theirs */
START_TEST(test_tm_derive_pool_names)
{
	struct nc_host_stats a, b;
	struct nc_tm_round r = { 0 };
	const struct nc_tm_object *o;

	host(&a, 100, 0, 0, "novacron-local", false, 30);
	host(&b, 100, 0, 0, "default", false, 30);
	nc_tm_derive(&r, "h1", NULL, &a);
	nc_tm_derive(&r, "h1", NULL, &b);
	nc_tm_round_sort(&r);
	o = nc_tm_round_find(&r, NC_MT_POOL, "local@h1");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(o->name, "local");
	ck_assert_str_eq(o->host, "h1");
	ck_assert(o->managed);
	o = nc_tm_round_find(&r, NC_MT_POOL, "default@h1");
	ck_assert_ptr_nonnull(o);
	ck_assert(!o->managed);
	ck_assert_ptr_null(nc_tm_round_find(&r, NC_MT_POOL, "novacron-local@h1"));
	nc_tm_round_release(&r);
	nc_host_stats_release(&a);
	nc_host_stats_release(&b);
}
END_TEST

/* a libvirt pool named "local" that NovaCron did not make does not stand in for
 * its own "novacron-local" on that host (it sorted first by its smaller figures) */
START_TEST(test_tm_derive_pool_name_clash)
{
	struct nc_host_stats a, b;
	struct nc_tm_round r = { 0 };
	const struct nc_tm_object *o;

	host(&a, 100, 0, 0, "local", false, 99);
	a.pools[0].capacity = 100;
	host(&b, 100, 0, 0, "novacron-local", false, 30);
	b.pools[0].capacity = 1000;
	nc_tm_derive(&r, "h1", NULL, &a);
	nc_tm_derive(&r, "h1", NULL, &b);
	nc_tm_round_sort(&r);
	o = nc_tm_round_find(&r, NC_MT_POOL, "local@h1");
	ck_assert_ptr_nonnull(o);
	ck_assert(o->managed);
	ck_assert(o->v[NC_PM_CAPACITY] == 1000);
	ck_assert(o->v[NC_PM_USED] == 30);
	nc_tm_round_release(&r);
	nc_host_stats_release(&a);
	nc_host_stats_release(&b);
}
END_TEST

/* a host down and a host the failure detector holds failed: up 0 and gaps; the others are read */
START_TEST(test_tm_collect_down_and_failed)
{
	static const char *const failed[] = { "h3" };
	struct nc_spec *spec = spec_of(SIMHOST("h1") SIMHOST("h2") SIMHOST("h3"));
	struct nc_tm_round r1, r2;
	struct nc_err err = { "" };

	sim_vm("h1", "a", 1, 1ULL << 30, 1, 1);
	sim_vm("h2", "b", 1, 1ULL << 30, 1, 1);
	set_time(T0);
	collect(&r1, spec, NULL, NULL, 0);
	ck_assert_int_eq(nc_sim_host_set_down(tdir, "h2", true, &err), 0);
	set_time(T0 + 15);
	collect(&r2, spec, &r1, failed, 1);
	ck_assert_uint_eq(r2.nhosts, 3);
	ck_assert_str_eq(r2.hosts[1], "h2");
	ck_assert_ptr_null(r2.errors[0]);
	HAS(r2.errors[1], "is down");
	ck_assert_str_eq(r2.errors[2], "failed health checks; not contacted");
	ck_assert(r2.raw[1].t == 0);
	ck_assert(val(&r2, NC_MT_HOST, "h1", NC_HM_UP) == 1);
	ck_assert(!isnan(val(&r2, NC_MT_VM, "a", NC_VM_CPU_USAGE)));
	ck_assert(val(&r2, NC_MT_HOST, "h2", NC_HM_UP) == 0);
	ck_assert(val(&r2, NC_MT_HOST, "h2", NC_HM_FAILED) == 0);
	ck_assert(isnan(val(&r2, NC_MT_HOST, "h2", NC_HM_CPU_USAGE)));
	ck_assert(isnan(val(&r2, NC_MT_HOST, "h2", NC_HM_MEMORY_USED)));
	ck_assert_ptr_null(nc_tm_round_find(&r2, NC_MT_VM, "b"));   /* unknown: no object, no zeros */
	ck_assert(val(&r2, NC_MT_HOST, "h3", NC_HM_UP) == 0);
	ck_assert(val(&r2, NC_MT_HOST, "h3", NC_HM_FAILED) == 1);
	nc_tm_round_release(&r1);
	/* back up: the round after has values again, rates from its last good round */
	ck_assert_int_eq(nc_sim_host_set_down(tdir, "h2", false, &err), 0);
	set_time(T0 + 30);
	collect(&r1, spec, &r2, NULL, 0);
	ck_assert(val(&r1, NC_MT_HOST, "h2", NC_HM_UP) == 1);
	ck_assert(isnan(val(&r1, NC_MT_VM, "b", NC_VM_CPU_USAGE)));     /* no previous round of it */
	ck_assert(!isnan(val(&r1, NC_MT_VM, "b", NC_VM_MEMORY_USED)));
	nc_tm_round_release(&r1);
	nc_tm_round_release(&r2);
	nc_spec_free(spec);
}
END_TEST

/* a daemon that accepts and never answers: timed out within the round, the others still read */
START_TEST(test_tm_collect_hung_host_times_out)
{
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct nc_spec *spec;
	struct nc_tm_collect_opts o;
	struct nc_tm_round r;
	char *yaml;

	ck_assert_int_ge(fd, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
	yaml = nc_xasprintf(SIMHOST("h1") "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: dead}\n"
			    "spec: {uri: \"qemu+tcp://127.0.0.1:%d/system\"}\n---\n" SIMHOST("h2"),
			    ntohs(addr.sin_port));
	spec = spec_of(yaml);
	sim_vm("h1", "a", 1, 1ULL << 30, 1, 1);
	sim_vm("h2", "b", 1, 1ULL << 30, 1, 1);
	memset(&o, 0, sizeof(o));
	o.state_dir = tdir;
	o.timeout_ms = 1000;
	o.parallel = 1;        /* one worker: the hung host's is replaced, h2 still read */
	nc_tm_collect(&r, spec, NULL, &o);
	ck_assert_uint_eq(r.nhosts, 3);
	ck_assert_str_eq(r.hosts[0], "dead");     /* the spec's order (by name): taken first */
	ck_assert_str_eq(r.errors[0], "timed out after 1.0 s");
	ck_assert(val(&r, NC_MT_HOST, "dead", NC_HM_UP) == 0);
	ck_assert(val(&r, NC_MT_HOST, "h1", NC_HM_UP) == 1);
	ck_assert(val(&r, NC_MT_HOST, "h2", NC_HM_UP) == 1);
	ck_assert(val(&r, NC_MT_VM, "b", NC_VM_RUNNING) == 1);
	nc_tm_round_release(&r);
	nc_spec_free(spec);
	free(yaml);
	close(fd);
}
END_TEST

/* libvirt's test driver: the real statistics call, and what it lacks */
START_TEST(test_tm_test_driver_stats)
{
	struct nc_host_conn *c = NULL;
	struct nc_err err = { "" };
	struct nc_host_stats s;
	struct nc_spec *spec = spec_of(HOST("t1", "test:///default"));
	struct nc_tm_conns *cache = nc_tm_conns_new();
	struct nc_tm_collect_opts o;
	struct nc_tm_round r1, r2;

	ck_assert_msg(nc_host_open(&c, "test:///default", NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(c->drv->stats(c, &s, &err) == 0, "%s", err.msg);
	nc_host_close(c);
	ck_assert(s.t > 0);
	ck_assert_uint_eq(s.cpus, 16);
	ck_assert_uint_eq(s.mem_total, 3ULL << 30);       /* virNodeGetInfo */
	ck_assert_uint_eq(s.mem_available, NC_STAT_NONE);        /* no node memory statistics there */
	ck_assert_uint_ne(s.cpu_total_ns, NC_STAT_NONE);         /* fixed node CPU counters */
	ck_assert_uint_gt(s.cpu_total_ns, s.cpu_busy_ns);
	ck_assert_uint_eq(s.ndoms, 1);
	ck_assert_str_eq(s.doms[0].name, "test");
	ck_assert_int_eq(s.doms[0].state, NC_DOM_RUNNING);
	ck_assert_uint_eq(s.doms[0].cpu_time_ns, NC_STAT_NONE);  /* the state alone */
	ck_assert_uint_eq(s.npools, 1);
	ck_assert_str_eq(s.pools[0].name, "default-pool");
	ck_assert(!s.pools[0].shared);
	ck_assert_uint_eq(s.pools[0].capacity, 100ULL << 30);
	nc_host_stats_release(&s);

	/* two rounds through a kept connection: gaps where the driver gives nothing */
	memset(&o, 0, sizeof(o));
	o.conns = cache;
	nc_tm_collect(&r1, spec, NULL, &o);
	nc_tm_collect(&r2, spec, &r1, &o);
	ck_assert_ptr_null(r2.errors[0]);
	ck_assert(val(&r2, NC_MT_HOST, "t1", NC_HM_UP) == 1);
	ck_assert(isnan(val(&r2, NC_MT_HOST, "t1", NC_HM_CPU_USAGE)));   /* counters that never move */
	ck_assert(isnan(val(&r2, NC_MT_VM, "test", NC_VM_CPU_USAGE)));
	ck_assert(val(&r2, NC_MT_VM, "test", NC_VM_RUNNING) == 1);
	NEAR(val(&r2, NC_MT_POOL, "default-pool@t1", NC_PM_CAPACITY), 100ULL << 30);
	nc_tm_round_release(&r1);
	nc_tm_round_release(&r2);
	nc_tm_conns_free(cache);
	nc_spec_free(spec);
}
END_TEST

static void same_stats(const struct nc_host_stats *a, const struct nc_host_stats *b, const char *host)
{
	size_t i, k;

	ck_assert_msg(a->t == b->t && a->cpus == b->cpus && a->cpu_busy_ns == b->cpu_busy_ns &&
		      a->cpu_total_ns == b->cpu_total_ns && a->mem_total == b->mem_total &&
		      a->mem_available == b->mem_available, "%s: node differs", host);
	ck_assert_uint_eq(a->ndoms, b->ndoms);
	for (i = 0; i < a->ndoms; i++) {
		const struct nc_dom_stats *x = &a->doms[i], *y = &b->doms[i];

		ck_assert_str_eq(x->name, y->name);
		ck_assert_msg(x->state == y->state && x->vcpus == y->vcpus && x->cpu_time_ns == y->cpu_time_ns &&
			      x->balloon_cur == y->balloon_cur && x->balloon_max == y->balloon_max &&
			      x->mem_unused == y->mem_unused && x->mem_available == y->mem_available &&
			      x->rss == y->rss, "%s: domain %s differs", host, x->name);
		ck_assert_uint_eq(x->ndisks, y->ndisks);
		for (k = 0; k < x->ndisks; k++) {
			ck_assert_str_eq(x->disks[k].dev, y->disks[k].dev);
			ck_assert_uint_eq(x->disks[k].rd_bytes, y->disks[k].rd_bytes);
			ck_assert_uint_eq(x->disks[k].wr_reqs, y->disks[k].wr_reqs);
		}
		ck_assert_uint_eq(x->nnics, y->nnics);
		for (k = 0; k < x->nnics; k++) {
			ck_assert_str_eq(x->nics[k].dev, y->nics[k].dev);
			ck_assert_str_eq(x->nics[k].mac, y->nics[k].mac);
			ck_assert_uint_eq(x->nics[k].tx_bytes, y->nics[k].tx_bytes);
		}
	}
	ck_assert_uint_eq(a->npools, b->npools);
	for (i = 0; i < a->npools; i++) {
		ck_assert_str_eq(a->pools[i].name, b->pools[i].name);
		ck_assert_msg(a->pools[i].shared == b->pools[i].shared && a->pools[i].capacity == b->pools[i].capacity &&
			      a->pools[i].allocation == b->pools[i].allocation &&
			      a->pools[i].available == b->pools[i].available, "%s: pool %s differs", host,
			      a->pools[i].name);
	}
}

/* the state-file reading collection uses gives what the stats op of the opened host gives */
START_TEST(test_tm_sim_file_read_matches_op)
{
	static const char *const hosts[] = { "kvm1", "kvm2", "kvm3" };
	struct nc_run r;
	size_t i;

	if (nc_run_in(&r, tdir, "$NC apply '%s/examples/quickstart' --state-dir . --auto-approve",
		      NC_SOURCE_DIR) != 0)
		ck_abort_msg("apply failed:\n%s%s", r.out, r.err);
	nc_run_free(&r);
	ck_assert_int_eq(nc_run_inq(tdir, "$NC sim --state-dir . kvm2 destroy worker-1"), 0);
	ck_assert_int_eq(nc_run_inq(tdir, "$NC sim --state-dir . kvm2 setmem web-1 1GiB"), 0);
	set_time(T0);
	ck_assert_int_eq(load("kvm2", "web-1", "cpu=0.7", "disk-write=3MiB", NULL, NULL), 0);
	set_time(T0 + 33.5);
	for (i = 0; i < 3; i++) {
		struct nc_host_stats op, file;
		struct nc_err err = { "" };
		char *uri = nc_xasprintf("sim:///%s", hosts[i]);

		ck_assert_msg(nc_sim_stats_read(tdir, uri, &file, &err) == 0, "%s", err.msg);
		op = raw_of(hosts[i]);
		same_stats(&op, &file, hosts[i]);
		ck_assert_uint_ge(file.npools, 1);
		if (i == 1) {
			ck_assert_uint_eq(file.ndoms, 6);
			ck_assert_str_eq(file.doms[1].name, "web-1");
			ck_assert_uint_eq(file.doms[1].balloon_cur, 1ULL << 30);
			ck_assert_uint_eq(file.doms[1].ndisks, 2);           /* the seed CD-ROM does no I/O */
			ck_assert_str_eq(file.doms[2].name, "worker-1");
			ck_assert_int_eq(file.doms[2].state, NC_DOM_SHUTOFF);
			ck_assert_uint_eq(file.doms[2].cpu_time_ns, NC_STAT_NONE);
		}
		nc_host_stats_release(&op);
		nc_host_stats_release(&file);
		free(uri);
	}
	/* a host never opened: the empty node its URI describes; one that is down fails as open does */
	{
		struct nc_host_stats s;
		struct nc_err err = { "" };

		ck_assert_int_eq(nc_sim_stats_read(tdir, "sim:///fresh?cpus=4&memory=8GiB", &s, &err), 0);
		ck_assert_uint_eq(s.cpus, 4);
		ck_assert_uint_eq(s.mem_total, 8ULL << 30);
		ck_assert_uint_eq(s.mem_available, 8ULL << 30);
		ck_assert_uint_eq(s.ndoms, 0);
		nc_host_stats_release(&s);
		ck_assert_int_eq(nc_sim_host_set_down(tdir, "kvm1", true, &err), 0);
		ck_assert_int_eq(nc_sim_stats_read(tdir, "sim:///kvm1", &s, &err), -1);
		HAS(err.msg, "simulated host kvm1 is down");
	}
}
END_TEST

Suite *nc_suite_telemetry(void)
{
	Suite *s = suite_create("telemetry");
	TCase *tc = tcase_create("telemetry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tm_sim_scripted_rates);
	tcase_add_test(tc, test_tm_sim_counters_monotonic);
	tcase_add_test(tc, test_tm_sim_load_tool);
	tcase_add_test(tc, test_tm_derive_gaps);
	tcase_add_test(tc, test_tm_derive_unique_ids);
	tcase_add_test(tc, test_tm_derive_pool_names);
	tcase_add_test(tc, test_tm_derive_pool_name_clash);
	tcase_add_test(tc, test_tm_collect_down_and_failed);
	tcase_add_test(tc, test_tm_collect_hung_host_times_out);
	tcase_add_test(tc, test_tm_test_driver_stats);
	tcase_add_test(tc, test_tm_sim_file_read_matches_op);
	suite_add_tcase(s, tc);
	return s;
}
