/*
 * cmd-graph.c - `novacron graph host|vm|pool NAME METRIC -o FILE.png`
 *
 * Renders the history serve keeps (telemetry/store.h) of one metric of one
 * host, VM or pool as a PNG through librrd's graph API: the average as an
 * area, the maximum as a line.  The history is STATE_DIR/telemetry
 * (--state-dir, as plan and apply), or the directory --telemetry-dir names.
 * Opened read-only: nothing is created or rebuilt.  Times: --since and
 * --until take "now", a duration ago (30m, 24h, 7d, 2w, 90s) or seconds
 * since the epoch.  Exit: 0 written, 1 error (an unknown kind or metric,
 * with a did-you-mean; a bad name; no history for the object).
 */
#include "cli.h"
#include "pass-cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../telemetry/store.h"

enum { OPT_STATE_DIR = NC_OPT_LONG_ONLY, OPT_TM_DIR, OPT_SINCE, OPT_UNTIL, OPT_WIDTH, OPT_HEIGHT, OPT_RRDCACHED };

static const struct nc_opt graph_opts[] = {
	{ "output", 'o', "FILE.png", "the PNG to write; required", NC_COMP_FILE, NULL },
	{ "since", OPT_SINCE, "WHEN", "start: \"now\", a duration ago (30m, 24h, 7d, 2w) or unix seconds "
	  "(default 24h)", NC_COMP_NONE, NULL },
	{ "until", OPT_UNTIL, "WHEN", "end, as --since (default now)", NC_COMP_NONE, NULL },
	{ "width", OPT_WIDTH, "N", "the plot's width in pixels (100-4000, default 800)", NC_COMP_NONE, NULL },
	{ "height", OPT_HEIGHT, "N", "the plot's height in pixels (50-3000, default 250)", NC_COMP_NONE, NULL },
	{ "state-dir", OPT_STATE_DIR, "DIR", "read the history from DIR/telemetry (default as plan's)", NC_COMP_DIR, NULL },
	{ "telemetry-dir", OPT_TM_DIR, "DIR", "read the history from DIR instead", NC_COMP_DIR, NULL },
	{ "rrdcached", OPT_RRDCACHED, "ADDR", "have the rrdcached daemon at ADDR (as serve uses) write its pending "
	  "updates first", NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const graph_examples[] = {
	"a VM's CPU over the last day",
	"novacron graph vm web-1 cpu_usage -o web-1-cpu.png",
	"a host's memory over the last week, wide",
	"novacron graph host kvm1 memory_used_ratio --since 7d --width 1600 -o kvm1-mem.png",
	NULL,
};

const struct nc_cmd_doc nc_doc_graph = {
	"graph", "graph host|vm|pool NAME METRIC -o FILE.png [OPTIONS]",
	"draw a metric's history (average and maximum) as a PNG (docs/monitoring.md)",
	"Draws the history serve keeps of one metric of one host, VM or pool: the average as an area, "
	"the maximum as a line. The history is opened read-only. An unknown kind or metric is refused "
	"with a did-you-mean; exit 0 written, 1 error.",
	graph_opts, graph_examples, NC_COMP_NONE, "host vm pool",
};

/* "now", N{s,m,h,d,w} ago, or epoch seconds; -1 when none of these */
static int parse_when(const char *s, time_t now, time_t *out)
{
	static const struct { char c; long mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
	};
	char *end;
	long long v;

	if (strcmp(s, "now") == 0) {
		*out = now;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (!*end) {
		*out = (time_t)v;
		return 0;
	}
	if (end[1] || v > 100LL * 366 * 86400)
		return -1;
	for (size_t i = 0; i < NC_ARRAY_SIZE(units); i++)
		if (*end == units[i].c && v * units[i].mul <= 100LL * 366 * 86400) {
			*out = now - (time_t)(v * units[i].mul);
			return 0;
		}
	return -1;
}

static int parse_size(const char *flag, const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < (long)min || v > (long)max) {
		fprintf(stderr, "novacron graph: %s must be a number from %u to %u\n", flag, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* "; did you mean 'x'?" among the names, or "" */
static void did_you_mean(struct nc_buf *b, const char *name, const char *const *names, size_t n)
{
	const char *best = NULL;
	unsigned bestd = 4;

	/* a name it begins (cpu -> cpu_usage), else the closest within 3 edits */
	for (size_t i = 0; i < n && !best; i++)
		if (*name && strncmp(names[i], name, strlen(name)) == 0)
			best = names[i];
	for (size_t i = 0; i < n && !best; i++) {
		unsigned d = nc_edit_distance(name, names[i], 3);

		if (d < bestd)
			bestd = d;
	}
	for (size_t i = 0; i < n && !best && bestd < 4; i++)
		if (nc_edit_distance(name, names[i], 3) == bestd)
			best = names[i];
	if (best)
		nc_buf_addf(b, "; did you mean '%s'?", best);
}

static void unknown_metric(enum nc_metric_target t, const char *metric)
{
	struct nc_buf b = NC_BUF_INIT;
	const char *names[NC_METRICS_MAX] = { NULL };
	size_t n = nc_metric_count(t);

	for (size_t i = 0; i < n; i++)
		names[i] = nc_metric_at(t, (unsigned)i)->name;
	nc_buf_addf(&b, "novacron graph: no %s metric '%s'", nc_metric_target_name(t), metric);
	did_you_mean(&b, metric, names, n);
	nc_buf_addf(&b, "\n  %s metrics:", nc_metric_target_name(t));
	for (size_t i = 0; i < n; i++)
		nc_buf_addf(&b, " %s", names[i]);
	fprintf(stderr, "%s\n", b.buf);
	nc_buf_release(&b);
}

static void no_history(struct nc_tm_store *st, enum nc_metric_target t, const char *id,
		       const char *dir)
{
	struct nc_buf b = NC_BUF_INIT;
	struct nc_err err = { "" };
	char **ids = NULL;
	size_t n = 0;

	nc_buf_addf(&b, "novacron graph: no history for %s %s in %s", nc_metric_target_name(t), id, dir);
	if (nc_tm_store_list(st, t, &ids, &n, &err) == 0) {
		if (n)
			did_you_mean(&b, id, (const char *const *)ids, n);
		else
			nc_buf_addf(&b, " (no %s has any: serve writes the history, docs/monitoring.md)",
				    nc_metric_target_name(t));
	}
	fprintf(stderr, "%s\n", b.buf);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	nc_buf_release(&b);
}

int cmd_graph(int argc, char **argv)
{
	struct nc_pass_args a;
	struct nc_tm_store_opts so = { 0 };
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };
	const char *state_dir = NULL, *tm_dir = NULL, *since = "24h", *until = "now", *out = NULL;
	const char *cached = NULL, *kind, *id, *metric;
	char dirbuf[4096];
	unsigned width = 800, height = 250;
	time_t now = time(NULL), start, end;
	int c, t, ret = NC_EXIT_ERROR;
	struct nc_tm_series s = { 0 };
	struct nc_getopt g;

	memset(&a, 0, sizeof(a));
	nc_getopt_init(&g, graph_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_STATE_DIR: state_dir = optarg; break;
		case OPT_TM_DIR: tm_dir = optarg; break;
		case OPT_SINCE: since = optarg; break;
		case OPT_UNTIL: until = optarg; break;
		case OPT_RRDCACHED: cached = optarg; break;
		case 'o': out = optarg; break;
		case OPT_WIDTH:
			if (parse_size("--width", optarg, 100, 4000, &width) != 0) {
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case OPT_HEIGHT:
			if (parse_size("--height", optarg, 50, 3000, &height) != 0) {
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_graph);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_graph);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (argc - optind != 3 || !out) {
		fprintf(stderr, "novacron graph: %s\n",
			argc - optind != 3 ? "expected a kind (host, vm or pool), a name and a metric"
					   : "no output file (-o FILE.png)");
		nc_cmd_usage_error(&nc_doc_graph);
		return NC_EXIT_ERROR;
	}
	if (state_dir && tm_dir) {
		fprintf(stderr, "novacron graph: --state-dir and --telemetry-dir name the same thing: give one\n");
		return NC_EXIT_ERROR;
	}
	kind = argv[optind];
	id = argv[optind + 1];
	metric = argv[optind + 2];
	t = nc_metric_target_parse(kind);
	if (t < 0) {
		fprintf(stderr, "novacron graph: unknown kind '%s': host, vm or pool\n", kind);
		return NC_EXIT_ERROR;
	}
	if (!nc_tm_id_ok(id)) {
		fprintf(stderr, "novacron graph: %s name '%s' is not valid ([A-Za-z0-9._@-], no leading '.', "
			"at most 200 bytes; a host's pool is POOL@HOST)\n", kind, id);
		return NC_EXIT_ERROR;
	}
	if (!nc_metric_find((enum nc_metric_target)t, metric)) {
		unknown_metric((enum nc_metric_target)t, metric);
		return NC_EXIT_ERROR;
	}
	if (parse_when(since, now, &start) != 0 || parse_when(until, now, &end) != 0) {
		fprintf(stderr, "novacron graph: --since and --until take now, a duration ago (30m, 24h, "
			"7d, 2w) or seconds since the epoch\n");
		return NC_EXIT_ERROR;
	}
	if (end <= start) {
		fprintf(stderr, "novacron graph: --until must come after --since\n");
		return NC_EXIT_ERROR;
	}
	if (!tm_dir) {
		if (!state_dir)
			state_dir = nc_pass_default_state_dir(&a);
		tm_dir = nc_tm_default_dir(state_dir, dirbuf, sizeof(dirbuf));
		if (!tm_dir) {
			fprintf(stderr, "novacron graph: state directory name too long\n");
			goto out;
		}
	}
	so.dir = tm_dir;
	so.rrdcached = cached;
	so.step = 15;                   /* readers take the files' own step */
	so.read_only = true;
	if (nc_tm_store_open(&st, &so, &err) != 0) {
		fprintf(stderr, "novacron graph: %s\n", err.msg);
		goto out;
	}
	switch (nc_tm_store_fetch(st, (enum nc_metric_target)t, id, metric, NC_TM_AVERAGE, end - 1, end,
				  0, &s, &err)) {
	case 0:
		no_history(st, (enum nc_metric_target)t, id, tm_dir);
		goto out;
	case -1:
		fprintf(stderr, "novacron graph: %s\n", err.msg);
		goto out;
	}
	if (nc_tm_graph(st, (enum nc_metric_target)t, id, metric, start, end, width, height, out,
			&err) != 0) {
		fprintf(stderr, "novacron graph: %s\n", err.msg);
		goto out;
	}
	printf("wrote %s: %s %s %s, %ux%u\n", out, kind, id, metric, width, height);
	ret = NC_EXIT_OK;
out:
	nc_tm_series_release(&s);
	nc_tm_store_close(st);
	free(a.owned_state_dir);
	return ret;
}
