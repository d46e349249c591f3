/*
 * cmd-capacity.c - `novacron capacity [PATH...] [--template NAME] [--output text|json]`
 *
 * Without a PATH the spec is the one the configuration's source: names
 * (nc_cli_spec_load), never a blind ".".
 *
 * Observes the cluster and reports, per host, what is used of its capacity
 * (times overcommit), whether its VMs could all restart on the other hosts
 * if it failed (N+1), the cluster's imbalance score (docs/placement.md), and
 * with --template how many more VMs of that template fit.
 * Exit: 0 N+1 holds, 2 some host fails N+1, 1 error.
 */
#include "pass-cli.h"
#include "../policies/placement.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void pct(struct nc_buf *b, double used, double cap)
{
	char u[32], c[32];

	nc_size_format((uint64_t)used / 1048576 * 1048576, u, sizeof(u));
	nc_size_format((uint64_t)cap / 1048576 * 1048576, c, sizeof(c));
	nc_buf_addf(b, "%s/%s (%.0f%%)", u, c, cap > 0 ? used / cap * 100 : 0);
}

int cmd_capacity(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "template", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = NULL, *tmpl = NULL, *config_file = NULL;
	struct nc_cli_config cfg;
	enum nc_output out = NC_OUT_TEXT;
	struct nc_pass_args a;
	struct nc_spec *spec = NULL;
	struct nc_cluster c;
	struct nc_observe_opts oo;
	struct nc_placement_state *ps;
	struct nc_imbalance imb;
	struct nc_buf b = NC_BUF_INIT;
	const struct nc_template *t = NULL;
	size_t i, fails = 0, fit = 0;
	unsigned timeout = 30;
	int ch, ret = NC_EXIT_ERROR;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': state_dir = optarg; break;
		case 'c': config_file = optarg; break;
		case 't': tmpl = optarg; break;
		case 'T': timeout = (unsigned)atoi(optarg); break;
		case 'o':
			if (nc_cli_output(optarg, 1u << NC_OUT_TEXT | 1u << NC_OUT_JSON, &out) < 0) {
				fprintf(stderr, "novacron capacity: --output must be text or json\n");
				return NC_EXIT_ERROR;
			}
			break;
		case 'h':
			printf("usage: novacron capacity [PATH...] [--state-dir DIR] [--config FILE] [--template NAME] [--output text|json]\n");
			return NC_EXIT_OK;
		default:
			fprintf(stderr, "usage: novacron capacity [PATH...] [--state-dir DIR] [--config FILE] [--template NAME] [--output text|json]\n");
			return NC_EXIT_ERROR;
		}
	}
	memset(&a, 0, sizeof(a));
	if (nc_cli_config_load(&cfg, "capacity", config_file) < 0)
		return NC_EXIT_ERROR;
	if (nc_cli_spec_load(&spec, &cfg, "capacity", (const char *const *)argv + optind,
			     (size_t)(argc - optind)) < 0) {
		nc_cli_config_release(&cfg);
		return NC_EXIT_ERROR;
	}
	if (tmpl && !(t = (const struct nc_template *)nc_spec_find(spec, NC_KIND_TEMPLATE, tmpl))) {
		fprintf(stderr, "novacron capacity: no Template named '%s'\n", tmpl);
		nc_spec_free(spec);
		nc_cli_config_release(&cfg);
		return NC_EXIT_ERROR;
	}
	if (!state_dir) {
		/* the same default as plan and apply */
		char *argv0[] = { "capacity", NULL };

		nc_pass_parse(&a, "capacity", 1, argv0, false);
		state_dir = a.state_dir;
	}
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = state_dir;
	oo.timeout_ms = timeout * 1000;
	oo.connections = &cfg.connections;
	nc_observe(&c, spec, &oo);
	ps = nc_placement_new(spec, &c);
	nc_imbalance(ps, true, &imb);
	if (t) {
		struct nc_vm like;

		memset(&like, 0, sizeof(like));
		like.obj.kind = NC_KIND_VM;
		like.obj.meta.name.v = "(template)";
		like.eff = t->eff;
		like.labels = t->eff.labels;
		fit = NC_IS_SET(like.eff.vcpus) && NC_IS_SET(like.eff.memory) ? nc_fit_count(ps, &like, 100000) : 0;
	}

	if (out == NC_OUT_JSON)
		nc_buf_adds(&b, "{\n  \"hosts\": [");
	else
		nc_buf_addf(&b, "%-12s %-12s %-22s %-26s %5s  %s\n", "HOST", "STATE", "VCPUS", "MEMORY", "VMS", "N+1");
	for (i = 0; i < c.nhosts; i++) {
		const struct nc_host_load *l = nc_placement_load(ps, i);
		const char *name = c.hosts[i].spec->obj.meta.name.v;
		const char *state = c.hosts[i].status != NC_HOST_OK ? "unreachable" :
				    l->usable ? "ok" : "maintenance";
		struct nc_buf stranded = NC_BUF_INIT;
		bool n1 = true;

		if (l->usable) {
			n1 = nc_n1_host(ps, i, &stranded);
			fails += !n1;
		}
		if (out == NC_OUT_JSON) {
			nc_buf_adds(&b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
			nc_buf_add_json_str(&b, name);
			nc_buf_addf(&b, ", \"state\": \"%s\", \"vcpus_used\": %.0f, \"vcpus_capacity\": %.0f, "
				       "\"memory_used\": %.0f, \"memory_capacity\": %.0f, \"vms\": %zu, \"n1\": %s, "
				       "\"stranded\": ", state, l->used_vcpus, l->cap_vcpus, l->used_memory,
				    l->cap_memory, l->vms, !l->usable ? "null" : n1 ? "true" : "false");
			nc_buf_add_json_str(&b, stranded.buf);
			nc_buf_addc(&b, '}');
		} else {
			struct nc_buf cpu = NC_BUF_INIT, mem = NC_BUF_INIT;

			nc_buf_addf(&cpu, "%.0f/%.0f (%.0f%%)", l->used_vcpus, l->cap_vcpus,
				    l->cap_vcpus > 0 ? l->used_vcpus / l->cap_vcpus * 100 : 0);
			pct(&mem, l->used_memory, l->cap_memory);
			nc_buf_addf(&b, "%-12s %-12s %-22s %-26s %5zu  %s%s%s\n", name, state, cpu.buf, mem.buf,
				    l->vms, !l->usable ? "-" : n1 ? "ok" : "FAIL: ", n1 ? "" : stranded.buf,
				    n1 || !l->usable ? "" : " cannot restart elsewhere");
			nc_buf_release(&cpu);
			nc_buf_release(&mem);
		}
		nc_buf_release(&stranded);
	}
	if (out == NC_OUT_JSON) {
		nc_buf_addf(&b, "\n  ],\n  \"imbalance\": {\"score\": %.6f, \"memory\": %.6f, \"vcpus\": %.6f, "
			       "\"disk\": %.6f, \"n1_failures\": %zu},\n  \"n1\": %s", imb.score, imb.memory,
			    imb.vcpus, imb.disk, imb.n1_failures, fails ? "false" : "true");
		if (t)
			nc_buf_addf(&b, ",\n  \"template\": {\"name\": \"%s\", \"fit\": %zu}", t->obj.meta.name.v, fit);
		nc_buf_adds(&b, "\n}\n");
	} else {
		nc_buf_addf(&b, "\nImbalance score: %.4f (memory %.4f, vCPUs %.4f, disk %.4f, N+1 failures %zu)\n",
			    imb.score, imb.memory, imb.vcpus, imb.disk, imb.n1_failures);
		if (fails)
			nc_buf_addf(&b, "N+1: FAIL on %zu host%s: losing one of them would leave VMs with nowhere to restart.\n",
				    fails, fails == 1 ? "" : "s");
		else
			nc_buf_adds(&b, "N+1: ok: any one host can fail and its VMs restart on the others.\n");
		if (t)
			nc_buf_addf(&b, "Template %s: %zu more VM%s fit.\n", t->obj.meta.name.v, fit,
				    fit == 1 ? "" : "s");
	}
	fwrite(b.buf, 1, b.len, stdout);
	ret = fails ? NC_EXIT_CHANGES : NC_EXIT_OK;
	nc_buf_release(&b);
	nc_placement_free(ps);
	nc_cluster_release(&c);
	nc_cli_config_release(&cfg);
	nc_spec_free(spec);
	nc_pass_args_release(&a);
	return ret;
}
