/*
 * bench_hbal.c - NovaCron's rebalance on clusters in Ganeti's htools text
 * format, for bench/hbal.sh (issue 18; docs/placement.md "Rebalance").
 *
 *   nc-bench-hbal gen NODES INSTANCES OUT.data
 *       a synthetic shared-storage cluster (disk template ext, so every
 *       instance can move): nodes of 256GiB and 32 CPUs, instances of 1-4GiB
 *       and 1-4 vCPUs, placed unevenly (each node's share of the instances
 *       drawn between 0.25 and 1.75 of the mean; deterministic).
 *   nc-bench-hbal run IN.data OUT.data [SPECDIR]
 *       converts IN.data to a NovaCron spec (one Host per node with a sim://
 *       URI of its CPUs and memory, one VM per instance, one PlacementPolicy
 *       with rebalance enabled and no budget to speak of), written as YAML
 *       into SPECDIR (default: a temporary directory, removed) and loaded
 *       from there; the instances' primaries are the observed cluster (an
 *       observation built in memory, standing for what observe() returns).
 *       Rebalances in one unbounded pass (policies/search.c), then writes
 *       IN.data with each instance on its new node as OUT.data.  Prints the
 *       moves, the time of the search, the peak RSS, and NovaCron's score
 *       before and after.  hbal scores OUT.data (bench/hbal.sh).  The
 *       environment's NC_BENCH_THRESHOLD sets the policy's threshold (min gain).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

static unsigned lcg(unsigned *x)
{
	*x = *x * 1103515245u + 12345u;
	return (*x >> 8) & 0xffffff;
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(data, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		exit(1);
	}
}

static const char ipol[] = "128,1,0,1,1,1|128,1,0,1,1,1;65536,32,1048576,16,8,12|"
			   "diskless,file,sharedfile,plain,blockdev,drbd,rbd,ext|4.0|32.0";

static int gen(unsigned nodes, unsigned insts, const char *out)
{
	double *w = calloc(nodes, sizeof(*w)), sum = 0;
	unsigned *mem_used = calloc(nodes, sizeof(*mem_used)), i, seed = 18, *where = calloc(insts, sizeof(*where));
	unsigned *imem = calloc(insts, sizeof(*imem)), *icpu = calloc(insts, sizeof(*icpu));
	struct nc_buf b = NC_BUF_INIT;

	for (i = 0; i < nodes; i++) {
		w[i] = 0.25 + 1.5 * (double)(lcg(&seed) % 1000) / 1000;
		sum += w[i];
	}
	for (i = 0; i < insts; i++) {
		double x = (double)(lcg(&seed) % 1000000) / 1000000 * sum, acc = 0;
		unsigned n;

		for (n = 0; n + 1 < nodes && acc + w[n] <= x; n++)
			acc += w[n];
		where[i] = n;
		imem[i] = 1024 * (1 + lcg(&seed) % 4);
		icpu[i] = 1 + lcg(&seed) % 4;
		mem_used[n] += imem[i];
	}
	nc_buf_adds(&b, "group-01|fake-uuid-01|preferred||\n\n");
	for (i = 0; i < nodes; i++)
		nc_buf_addf(&b, "node%03u|262144|0|%u|1048576|1048576|32|N|fake-uuid-01|1\n", i, 262144 - mem_used[i]);
	nc_buf_adds(&b, "\n");
	for (i = 0; i < insts; i++)
		nc_buf_addf(&b, "inst%05u|%u|0|%u|running|Y|node%03u||ext||1\n", i, imem[i], icpu[i], where[i]);
	nc_buf_addf(&b, "\n\n|%s\ngroup-01|%s\n", ipol, ipol);
	write_file(out, b.buf);
	nc_buf_release(&b);
	free(w);
	free(mem_used);
	free(where);
	free(imem);
	free(icpu);
	return 0;
}

/* ---- the text format: sections split by empty lines; fields by '|' ---- */

struct node { char *name; unsigned tmem, cpus; };
struct inst { char *name, *line; unsigned mem, vcpus; size_t node; };

static char *field(char *line, int n, char *buf, size_t len)
{
	char *p = line;
	size_t k = 0;

	while (n-- > 0 && (p = strchr(p, '|')))
		p++;
	if (!p)
		return NULL;
	while (p[k] && p[k] != '|' && p[k] != '\n' && k + 1 < len) {
		buf[k] = p[k];
		k++;
	}
	buf[k] = 0;
	return buf;
}

int main(int argc, char **argv)
{
	FILE *f;
	char *text = NULL, *line, *save = NULL, tmp[] = "/tmp/nc-bench-hbal-XXXXXX", buf[256];
	const char *specdir;
	size_t len = 0, nn = 0, ni = 0, i, k, n, section = 0, an = 0, ai = 0;
	struct node *nodes = NULL;
	struct inst *insts = NULL;
	struct nc_buf b = NC_BUF_INIT, out = NC_BUF_INIT, tail = NC_BUF_INIT;
	struct nc_spec *spec = NULL;
	struct nc_diags d;
	struct nc_cluster c;
	struct nc_placement_state *ps;
	struct nc_rebalance_opts o = { .max_moves = 1000000, .threshold = 0, .mode = NC_LOAD_STATIC };
	struct nc_rebalance_report rep;
	struct nc_move *mv = NULL;
	struct rusage ru;
	const char *paths[1];
	double t0, t;
	bool own_dir = false;

	if (getenv("NC_BENCH_THRESHOLD"))
		o.threshold = atof(getenv("NC_BENCH_THRESHOLD"));
	if (argc == 5 && strcmp(argv[1], "gen") == 0)
		return gen((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), argv[4]);
	if (argc < 4 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: nc-bench-hbal gen NODES INSTANCES OUT.data | run IN.data OUT.data [SPECDIR]\n");
		return 2;
	}
	f = fopen(argv[2], "r");
	if (!f || getdelim(&text, &len, 0, f) < 0) {
		fprintf(stderr, "bench: cannot read %s\n", argv[2]);
		return 1;
	}
	fclose(f);
	/* sections: groups, nodes, instances, tags, policies */
	for (line = text; line && *line; ) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = 0;
		if (!*line) {
			section++;
		} else if (section == 1) {
			if (nn == an)
				nodes = nc_xreallocarray(nodes, an = an ? an * 2 : 64, sizeof(*nodes));
			nodes[nn].name = nc_xstrdup(field(line, 0, buf, sizeof(buf)));
			nodes[nn].tmem = (unsigned)atoi(field(line, 1, buf, sizeof(buf)));
			nodes[nn].cpus = (unsigned)atoi(field(line, 6, buf, sizeof(buf)));
			nn++;
		} else if (section == 2) {
			if (ni == ai)
				insts = nc_xreallocarray(insts, ai = ai ? ai * 2 : 256, sizeof(*insts));
			insts[ni].name = nc_xstrdup(field(line, 0, buf, sizeof(buf)));
			insts[ni].mem = (unsigned)atoi(field(line, 1, buf, sizeof(buf)));
			insts[ni].vcpus = (unsigned)atoi(field(line, 3, buf, sizeof(buf)));
			field(line, 6, buf, sizeof(buf));
			for (k = 0; k < nn && strcmp(nodes[k].name, buf) != 0; k++)
				;
			insts[ni].node = k;
			insts[ni].line = nc_xstrdup(line);
			ni++;
		} else if (section >= 3) {
			nc_buf_addf(&tail, "%s\n", line);
		}
		if (section >= 3 && !*line)
			nc_buf_adds(&tail, "\n");
		line = nl ? nl + 1 : NULL;
	}
	(void)save;
	/* the spec: names sort as the file lists them (nodeNNN, instNNNNN) */
	for (i = 0; i < nn; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: %s}\n"
			    "spec: {uri: 'sim:///%s?cpus=%u&memory=%uMiB'}\n", nodes[i].name, nodes[i].name, nodes[i].cpus,
			    nodes[i].tmem);
	nc_buf_adds(&b, "---\napiVersion: novacron.io/v1\nkind: PlacementPolicy\nmetadata: {name: all}\n"
		    "spec: {vmSelector: {}, rebalance: {enabled: true, maxMovesPerPass: 10000}}\n");
	for (i = 0; i < ni; i++)
		nc_buf_addf(&b, "---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: %s}\n"
			    "spec: {vcpus: %u, memory: %uMiB}\n", insts[i].name, insts[i].vcpus, insts[i].mem);
	if (argc > 4) {
		specdir = argv[4];
		mkdir(specdir, 0755);
	} else {
		specdir = mkdtemp(tmp);
		own_dir = true;
	}
	{
		char *p = nc_xasprintf("%s/cluster.yaml", specdir);

		write_file(p, b.buf);
		free(p);
	}
	nc_diags_init(&d);
	paths[0] = specdir;
	if (nc_spec_load(&spec, paths, 1, NULL, &d) < 0 || spec->nobjs[NC_KIND_VM] != ni) {
		fprintf(stderr, "bench: the converted spec is invalid\n");
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.nhosts = nn;
	c.hosts = nc_xcalloc(nn, sizeof(*c.hosts));
	for (i = 0; i < nn; i++) {
		c.hosts[i].spec = (const struct nc_host *)spec->objs[NC_KIND_HOST][i];
		c.hosts[i].status = NC_HOST_OK;
		c.hosts[i].obs.node.cpus = nodes[i].cpus;
		c.hosts[i].obs.node.memory = (uint64_t)nodes[i].tmem << 20;
		c.hosts[i].obs.doms = nc_xcalloc(ni + 1, sizeof(struct nc_domain));
	}
	for (i = 0; i < ni; i++) {
		struct nc_domain *dm = &c.hosts[insts[i].node].obs.doms[c.hosts[insts[i].node].obs.ndoms++];

		dm->name = nc_xstrdup(insts[i].name);
		dm->meta_vm = nc_xstrdup(insts[i].name);
		dm->managed = true;
		dm->state = NC_DOM_RUNNING;
		dm->vcpus = insts[i].vcpus;
		dm->memory = (uint64_t)insts[i].mem << 20;
	}
	ps = nc_placement_new(spec, &c);
	t0 = now();
	n = nc_rebalance_run(ps, spec, NULL, &o, &mv, &rep);
	t = now() - t0;
	getrusage(RUSAGE_SELF, &ru);
	for (k = 0; k < n; k++) {
		ssize_t vi = nc_placement_vm_index(ps, mv[k].vm);

		insts[vi].node = mv[k].to;    /* spec VMs sort as the file lists them */
	}
	printf("novacron: %zu moves (%zu swaps, %zu taken back) in %.3f s, peak RSS %ld KiB, score %.4f -> %.4f\n", n,
	       rep.swaps, rep.dropped, t, ru.ru_maxrss, rep.before, rep.after);
	/* back to the text format: the same file with each instance's primary node */
	nc_buf_adds(&out, "group-01|fake-uuid-01|preferred||\n\n");
	{
		double *used = nc_xcalloc(nn + 1, sizeof(*used));

		for (i = 0; i < ni; i++)
			used[insts[i].node] += insts[i].mem;
		for (i = 0; i < nn; i++)
			nc_buf_addf(&out, "%s|%u|0|%.0f|1048576|1048576|%u|N|fake-uuid-01|1\n", nodes[i].name,
				    nodes[i].tmem, nodes[i].tmem - used[i], nodes[i].cpus);
		free(used);
	}
	nc_buf_adds(&out, "\n");
	for (i = 0; i < ni; i++)
		nc_buf_addf(&out, "%s|%u|0|%u|running|Y|%s||ext||1\n", insts[i].name, insts[i].mem, insts[i].vcpus,
			    nodes[insts[i].node].name);
	nc_buf_addf(&out, "\n\n|%s\ngroup-01|%s\n", ipol, ipol);
	write_file(argv[3], out.buf);
	if (own_dir) {
		char *p = nc_xasprintf("%s/cluster.yaml", specdir);

		unlink(p);
		rmdir(specdir);
		free(p);
	}
	free(mv);
	free(rep.refused);
	nc_placement_free(ps);
	nc_cluster_release(&c);
	nc_spec_free(spec);
	nc_diags_release(&d);
	for (i = 0; i < nn; i++)
		free(nodes[i].name);
	for (i = 0; i < ni; i++) {
		free(insts[i].name);
		free(insts[i].line);
	}
	free(nodes);
	free(insts);
	free(text);
	nc_buf_release(&b);
	nc_buf_release(&out);
	nc_buf_release(&tail);
	return 0;
}
