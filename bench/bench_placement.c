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
 */
#include <math.h>
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

int main(int argc, char **argv)
{
	unsigned hosts = 500, vms = 10000, moves = 200, i;
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
		else {
			fprintf(stderr, "usage: nc-bench-placement [--hosts N] [--vms M] [--moves K]\n");
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
	cmd = nc_xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
	free(cmd);
	free(spec_dir);
	free(state);
	return 0;
}
