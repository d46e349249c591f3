/*
 * bench_placement.c - placement and rebalancing at scale.
 *
 *   nc-bench-placement [--hosts N] [--vms M] [--moves K]
 *
 * 1. Placing M VMs (default 10,000) on N empty simulated hosts (default
 *    500): the plan against sim:/// hosts that hold nothing yet, i.e. one
 *    placement decision per VM with the filters and scores of
 *    policies/placement.c, including a required rack anti-affinity group and
 *    a preferred host anti-affinity group.  Prints the time of the diff +
 *    placement phase and the imbalance and N+1 of the result.
 * 2. One rebalance pass on a skewed cluster: the same hosts, with the VMs
 *    observed (an observation built in memory, standing for what observe()
 *    returns) so that a fifth of the hosts carry three times the load of the
 *    rest; the planner proposes up to K moves (default 200).  Prints the
 *    time, the imbalance score before and after, and the number of moves.
 * 3. With --htools DIR (bench/load-hbal.sh runs it): rebalancing by observed
 *    load (docs/placement.md "Observed load").  50 hosts of 32 CPUs and
 *    128GiB, 1,000 VMs of 1-4 vCPUs and 1-4GiB placed skewed as in 2, each
 *    with a synthetic, deterministic load (CPU, memory in use, disk and
 *    network bytes/s; the hot VMs sit on the lightly reserved hosts, so
 *    evening out reservations and evening out use pull apart).  NovaCron
 *    rebalances it twice, with load mode static and observed (one pass,
 *    budget 1,000 moves, threshold 0), and writes each result (and the
 *    start) as a Ganeti htools text file DIR/CASE.data with the VMs' load
 *    as hbal's utilisation file DIR/CASE.util (cpu = busy vCPUs / 32, mem =
 *    used / 128GiB, disk and net = bytes/s / 1GiB: the shares NovaCron
 *    weighs), for hbal's own scorer.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../policies/placement.h"
#include "../reconciler/pass.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(data, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		exit(1);
	}
}

static void generate(const char *dir, unsigned hosts, unsigned vms, unsigned moves)
{
	struct nc_buf b = NC_BUF_INIT;
	char *path;
	unsigned i, f;

	for (i = 0; i < hosts; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata:\n  name: h%03u\n"
			    "  labels: {rack: r%02u, zone: z%u}\nspec:\n  uri: 'sim:///h%03u?cpus=64&memory=512GiB'\n",
			    i, i / 10, i % 3, i);
	nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: PlacementPolicy\nmetadata: {name: db}\n"
		    "spec:\n  vmSelector: {matchLabels: {tier: db}}\n  affinity:\n"
		    "    - {type: antiAffinity, mode: required, topologyKey: rack}\n"
		    "  rebalance: {enabled: true, maxMovesPerPass: %u}\n---\n"
		    "apiVersion: novacron.io/v1\nkind: PlacementPolicy\nmetadata: {name: app}\n"
		    "spec:\n  vmSelector: {matchLabels: {tier: app}}\n  strategy: spread\n  affinity:\n"
		    "    - {type: antiAffinity, mode: preferred, topologyKey: host, weight: 20}\n"
		    "  rebalance: {enabled: true, maxMovesPerPass: %u}\n", moves, moves);
	path = nc_xasprintf("%s/hosts.yaml", dir);
	write_file(path, b.buf);
	free(path);
	for (f = 0; f * 100 < vms; f++) {
		nc_buf_reset(&b);
		for (i = f * 100; i < vms && i < (f + 1) * 100; i++)
			nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: vm%05u\n"
				    "  labels: {tier: %s, app: a%u}\nspec: {vcpus: %u, memory: %uGiB}\n", i,
				    i % 200 == 0 ? "db" : "app", i % 50, 1 + i % 4, 1 + i % 8);
		path = nc_xasprintf("%s/vms-%03u.yaml", dir, f);
		write_file(path, b.buf);
		free(path);
	}
	nc_buf_release(&b);
}

/* an observation of hosts holding the spec's VMs, skewed */
static void skewed(struct nc_cluster *c, const struct nc_spec *spec)
{
	size_t nh = spec->nobjs[NC_KIND_HOST], nv = spec->nobjs[NC_KIND_VM], i, h;
	size_t heavy = nh / 5, *cap = nc_xcalloc(nh, sizeof(*cap));

	memset(c, 0, sizeof(*c));
	c->nhosts = nh;
	c->hosts = nc_xcalloc(nh, sizeof(*c->hosts));
	for (h = 0; h < nh; h++) {
		c->hosts[h].spec = (const struct nc_host *)spec->objs[NC_KIND_HOST][h];
		c->hosts[h].status = NC_HOST_OK;
		c->hosts[h].obs.node.cpus = 64;
		c->hosts[h].obs.node.memory = 512ULL << 30;
		c->hosts[h].obs.doms = nc_xcalloc(nv, sizeof(struct nc_domain));
	}
	/* heavy hosts take three shares each: the first fifth gets 3/7 of the VMs */
	for (i = 0; i < nv; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][i];
		struct nc_domain *d;

		h = i % 7 < 3 ? (i / 7 * 3 + i % 7) % heavy : heavy + (i / 7 * 4 + i % 7 - 3) % (nh - heavy);
		/* keep the db group one per rack, as its required rule wants */
		if (strcmp(nc_map_get(&vm->labels, "tier"), "db") == 0)
			h = (i / 200) * 10 % nh;
		d = &c->hosts[h].obs.doms[c->hosts[h].obs.ndoms++];
		d->name = nc_xstrdup(vm->obj.meta.name.v);
		d->meta_vm = nc_xstrdup(vm->obj.meta.name.v);
		d->managed = true;
		d->state = NC_DOM_RUNNING;
		d->vcpus = (unsigned)vm->eff.vcpus.v;
		d->memory = vm->eff.memory.v;
		cap[h]++;
	}
	free(cap);
}

/* ---- 3. observed load, scored by hbal ---- */

#define LH 50          /* hosts */
#define LV 1000        /* VMs */

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

/* 0..1, deterministic per (i, salt) */
static double unit(unsigned i, unsigned salt)
{
	return (double)(mix(i * 2654435761U + salt) % 10000) / 10000.0;
}

static void load_spec(const char *dir, const char *mode)
{
	struct nc_buf b = NC_BUF_INIT;
	char *path;
	unsigned i;

	for (i = 0; i < LH; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: n%02u}\n"
			    "spec: {uri: 'sim:///n%02u?cpus=32&memory=128GiB'}\n", i, i);
	nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: PlacementPolicy\nmetadata: {name: all}\n"
		    "spec:\n  vmSelector: {}\n  rebalance: {enabled: true, maxMovesPerPass: 1000}\n"
		    "  load: {mode: %s}\n", mode);
	for (i = 0; i < LV; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: i%04u}\n"
			    "spec: {vcpus: %u, memory: %uGiB}\n", i, 1 + i % 4, 1 + (i / 4) % 4);
	path = nc_xasprintf("%s/all.yaml", dir);
	write_file(path, b.buf);
	free(path);
	nc_buf_release(&b);
}

/* where VM i starts: the first fifth of the hosts holds 3/7 of the VMs */
static size_t load_home(unsigned i)
{
	size_t heavy = LH / 5;

	return i % 7 < 3 ? (i / 7 * 3 + i % 7) % heavy : heavy + (i / 7 * 4 + i % 7 - 3) % (LH - heavy);
}

/* the synthetic load: hot VMs (busy, I/O heavy) on the second fifth of the hosts */
static void load_figures(const struct nc_vm *vm, unsigned i, struct nc_load_figures *f)
{
	size_t h = load_home(i);
	bool hot = h >= LH / 5 && h < 2 * LH / 5 && i % 2 == 0;
	double vcpus = (double)vm->eff.vcpus.v, mem = (double)vm->eff.memory.v;

	f->cpu = vcpus * (hot ? 0.85 + 0.1 * unit(i, 1) : 0.05 + 0.25 * unit(i, 1));
	f->memory = mem * (0.3 + 0.6 * unit(i, 2));
	f->disk = (hot ? 150.0 : 5.0) * 1024 * 1024 * unit(i, 3);
	f->net = (hot ? 120.0 : 3.0) * 1024 * 1024 * unit(i, 4);
}

static void load_cluster(struct nc_cluster *c, const struct nc_spec *spec, const size_t *where)
{
	size_t nh = spec->nobjs[NC_KIND_HOST], nv = spec->nobjs[NC_KIND_VM], i, h;

	memset(c, 0, sizeof(*c));
	c->nhosts = nh;
	c->hosts = nc_xcalloc(nh, sizeof(*c->hosts));
	for (h = 0; h < nh; h++) {
		c->hosts[h].spec = (const struct nc_host *)spec->objs[NC_KIND_HOST][h];
		c->hosts[h].status = NC_HOST_OK;
		c->hosts[h].obs.node.cpus = 32;
		c->hosts[h].obs.node.memory = 128ULL << 30;
		c->hosts[h].obs.doms = nc_xcalloc(nv, sizeof(struct nc_domain));
	}
	for (i = 0; i < nv; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][i];
		struct nc_domain *d = &c->hosts[where[i]].obs.doms[c->hosts[where[i]].obs.ndoms++];

		d->name = nc_xstrdup(vm->obj.meta.name.v);
		d->meta_vm = nc_xstrdup(vm->obj.meta.name.v);
		d->managed = true;
		d->state = NC_DOM_RUNNING;
		d->vcpus = (unsigned)vm->eff.vcpus.v;
		d->memory = vm->eff.memory.v;
	}
}

/* DIR/NAME.data (htools text: groups, nodes, instances, tags, ipolicy) and DIR/NAME.util */
static void htools_write(const char *dir, const char *name, const struct nc_spec *spec, const size_t *where,
			 const struct nc_load_data *ld)
{
	static const char *const ipol = "128,1,0,1,1,1|128,1,0,1,1,1;65536,32,1048576,16,8,12|"
					"diskless,file,sharedfile,plain,blockdev,drbd,rbd,ext|4.0|32.0";
	size_t nv = spec->nobjs[NC_KIND_VM], i, h;
	struct nc_buf b = NC_BUF_INIT, u = NC_BUF_INIT;
	double imem[LH] = { 0 };
	char *path;

	for (i = 0; i < nv; i++)
		imem[where[i]] += (double)((const struct nc_vm *)spec->objs[NC_KIND_VM][i])->eff.memory.v / (1 << 20);
	nc_buf_adds(&b, "group-01|fake-uuid-01|preferred||\n\n");
	for (h = 0; h < LH; h++)
		nc_buf_addf(&b, "n%02zu|131072|0|%.0f|1048576|1048576|32|%s|fake-uuid-01|1\n", h, 131072 - imem[h],
			    h ? "N" : "M");
	nc_buf_adds(&b, "\n");
	for (i = 0; i < nv; i++) {
		const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][i];
		const struct nc_load_obs *o = nc_load_find(ld->vms, ld->nvms, vm->obj.meta.name.v);

		nc_buf_addf(&b, "%s|%llu|0|%lld|running|Y|n%02zu||ext||1\n", vm->obj.meta.name.v,
			    (unsigned long long)(vm->eff.memory.v >> 20), (long long)vm->eff.vcpus.v, where[i]);
		nc_buf_addf(&u, "%s %.6f %.6f %.6f %.6f\n", vm->obj.meta.name.v, o->f.cpu / 32,
			    o->f.memory / (128.0 * (1 << 30)), o->f.disk / NC_LOAD_IO_REF, o->f.net / NC_LOAD_IO_REF);
	}
	nc_buf_addf(&b, "\n\n|%s\ngroup-01|%s\n", ipol, ipol);
	path = nc_xasprintf("%s/%s.data", dir, name);
	write_file(path, b.buf);
	free(path);
	path = nc_xasprintf("%s/%s.util", dir, name);
	write_file(path, u.buf);
	free(path);
	nc_buf_release(&b);
	nc_buf_release(&u);
}

static int load_case(const char *tmp, const char *out)
{
	static const char *const modes[] = { "static", "observed" };
	size_t where[LV], after[LV];
	struct nc_load_data ld;
	unsigned m, i;

	for (i = 0; i < LV; i++)
		where[i] = load_home(i);
	memset(&ld, 0, sizeof(ld));
	printf("\nobserved load (docs/placement.md): %d hosts of 32 CPUs / 128GiB, %d VMs, skewed, synthetic load\n",
	       LH, LV);
	for (m = 0; m < NC_ARRAY_SIZE(modes); m++) {
		char *dir = nc_xasprintf("%s/load-%s", tmp, modes[m]);
		const char *paths[1] = { dir };
		struct nc_spec *spec = NULL;
		struct nc_diags d;
		struct nc_cluster c;
		struct nc_plan p;
		struct nc_plan_opts po;
		struct nc_placement_state *ps;
		struct nc_imbalance st, ob;
		double t0, t;
		size_t nmig;

		mkdir(dir, 0755);
		load_spec(dir, modes[m]);
		nc_diags_init(&d);
		if (nc_spec_load(&spec, paths, 1, NULL, &d) < 0 || spec->nobjs[NC_KIND_VM] != LV) {
			fprintf(stderr, "bench: the load spec is invalid\n");
			return 1;
		}
		if (!ld.nvms) {        /* the same figures for both modes */
			ld.window = 3600;
			ld.end = 1767225600;
			ld.vms = nc_xcalloc(LV, sizeof(*ld.vms));
			for (i = 0; i < LV; i++) {
				const struct nc_vm *vm = (const struct nc_vm *)spec->objs[NC_KIND_VM][i];

				ld.vms[i].id = nc_xstrdup(vm->obj.meta.name.v);
				ld.vms[i].has_io = true;
				load_figures(vm, i, &ld.vms[i].f);
			}
			ld.nvms = LV;
			htools_write(out, "start", spec, where, &ld);
		}
		load_cluster(&c, spec, where);
		ps = nc_placement_new(spec, &c);
		nc_placement_use_load(ps, &ld);
		nc_imbalance_mode(ps, NC_LOAD_STATIC, false, &st);
		nc_imbalance_mode(ps, NC_LOAD_OBSERVED, false, &ob);
		if (m == 0)
			printf("  start:    static imbalance %.4f, observed imbalance %.4f (cpu %.4f, mem %.4f, disk %.4f, "
			       "net %.4f)\n", st.score, ob.score, ob.cpu_load, ob.memory_load, ob.disk_load, ob.net_load);
		nc_placement_free(ps);
		memset(&po, 0, sizeof(po));
		po.load = &ld;
		t0 = now();
		nc_plan_build(&p, spec, &c, &po);
		t = now() - t0;
		memcpy(after, where, sizeof(after));
		for (i = 0; i < p.nactions; i++) {
			const struct nc_action *a = &p.actions[i];
			unsigned v;

			if (a->kind != NC_ACT_MIGRATE)
				continue;
			v = (unsigned)atoi(a->vm + 1);
			after[v] = a->target;
		}
		nmig = p.nmigrate;
		nc_plan_release(&p);
		nc_cluster_release(&c);
		load_cluster(&c, spec, after);
		ps = nc_placement_new(spec, &c);
		nc_placement_use_load(ps, &ld);
		nc_imbalance_mode(ps, NC_LOAD_STATIC, false, &st);
		nc_imbalance_mode(ps, NC_LOAD_OBSERVED, false, &ob);
		printf("  %-8s  %zu moves in %.3f s: static imbalance %.4f, observed imbalance %.4f (cpu %.4f, "
		       "mem %.4f, disk %.4f, net %.4f)\n", modes[m], nmig, t, st.score, ob.score, ob.cpu_load,
		       ob.memory_load, ob.disk_load, ob.net_load);
		nc_placement_free(ps);
		nc_cluster_release(&c);
		htools_write(out, modes[m], spec, after, &ld);
		nc_spec_free(spec);
		nc_diags_release(&d);
		free(dir);
	}
	nc_load_release(&ld);
	printf("  htools files: %s/{start,static,observed}.{data,util}\n", out);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned hosts = 500, vms = 10000, moves = 200, i;
	const char *htools = NULL;
	char dir[] = "/tmp/nc-bench-placement-XXXXXX";
	char *spec_dir, *state, *cmd;
	const char *paths[1];
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	struct nc_cluster c;
	struct nc_plan p;
	struct nc_plan_opts po;
	struct nc_observe_opts oo;
	struct nc_placement_state *ps;
	struct nc_imbalance imb;
	double t0, t_place, t_rebal;
	size_t fails;

	for (i = 1; i < (unsigned)argc; i++) {
		if (!strcmp(argv[i], "--hosts") && i + 1 < (unsigned)argc)
			hosts = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vms") && i + 1 < (unsigned)argc)
			vms = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--moves") && i + 1 < (unsigned)argc)
			moves = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--htools") && i + 1 < (unsigned)argc)
			htools = argv[++i];
		else {
			fprintf(stderr, "usage: nc-bench-placement [--hosts N] [--vms M] [--moves K] [--htools DIR]\n");
			return 1;
		}
	}
	if (hosts < 10 || !mkdtemp(dir))
		return 1;
	spec_dir = nc_xasprintf("%s/spec", dir);
	state = nc_xasprintf("%s/state", dir);
	mkdir(spec_dir, 0755);
	generate(spec_dir, hosts, vms, moves);
	paths[0] = spec_dir;
	nc_diags_init(&d);
	if (nc_spec_load(&spec, paths, 1, NULL, &d) < 0) {
		fprintf(stderr, "bench: generated spec is invalid\n");
		return 1;
	}
	printf("NovaCron placement benchmark: %u hosts, %u VMs, rebalance budget %u moves\n\n", hosts, vms, moves);

	/* 1. place everything on empty hosts */
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = state;
	memset(&po, 0, sizeof(po));
	nc_observe(&c, spec, &oo);
	t0 = now();
	nc_plan_build(&p, spec, &c, &po);
	t_place = now() - t0;
	printf("placing %zu new VMs: %.3f s (%.1f us per VM), %zu not placed\n", p.ncreate, t_place,
	       t_place * 1e6 / (double)(p.ncreate ? p.ncreate : 1), p.errors);
	printf("  imbalance after placement: %.4f\n", p.imbalance_after);
	nc_plan_release(&p);
	nc_cluster_release(&c);

	/* 2. one rebalance pass on a skewed cluster */
	skewed(&c, spec);
	ps = nc_placement_new(spec, &c);
	t0 = now();
	nc_imbalance(ps, true, &imb);
	fails = imb.n1_failures;
	printf("\nskewed cluster: imbalance %.4f (memory %.4f, vCPUs %.4f), N+1 failures %zu (%.2f s to compute)\n",
	       imb.score, imb.memory, imb.vcpus, fails, now() - t0);
	nc_placement_free(ps);
	t0 = now();
	nc_plan_build(&p, spec, &c, &po);
	t_rebal = now() - t0;
	printf("rebalance plan: %.3f s, %zu moves, imbalance %.4f -> %.4f (without N+1)\n", t_rebal, p.nmigrate,
	       p.imbalance_before, p.imbalance_after);
	printf("goal: a full rebalance plan at this size in under 10 s: %s\n", t_rebal < 10 ? "met" : "NOT met");
	nc_plan_release(&p);
	nc_cluster_release(&c);
	nc_spec_free(spec);
	nc_diags_release(&d);
	if (htools && load_case(dir, htools) != 0)
		return 1;
	cmd = nc_xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
	free(cmd);
	free(spec_dir);
	free(state);
	return 0;
}
