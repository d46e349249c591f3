/*
 * graphs.c - GET /api/v1/{vms,hosts}/NAME/graphs[/METRIC.png] (graphs.h).
 *
 * The store is opened read-only once (nothing created, nothing rebuilt);
 * with rrdcached the graphs show what the daemon has written to the files
 * so far (this reader never connects to it: its connection is librrd's
 * one, the monitor's).  Renderings are serialised by one lock: the second
 * client of a graph waits for the first and gets its PNG from the cache.
 */
#include "graphs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../telemetry/store.h"

static const struct { const char *name; time_t seconds; } ranges[] = {
	{ "1h", 3600 }, { "6h", 6 * 3600 }, { "24h", 24 * 3600 }, { "7d", 7 * 86400 }, { "30d", 30 * 86400 },
};

#define DEFAULT_W 600
#define DEFAULT_H 160

struct entry {
	char *key;                       /* target/id/metric/range/WxH */
	char *png;
	size_t len;
	time_t made;                     /* monotonic seconds */
};

struct nc_graphs {
	struct nc_tm_store *st;          /* NULL: telemetry disabled (or the store did not open) */
	char *why;                       /* then why */
	pthread_mutex_t mu;              /* the cache */
	pthread_mutex_t render;          /* one rendering at a time */
	struct entry cache[NC_GRAPHS_CACHE];
};

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct nc_graphs *nc_graphs_new(const char *dir)
{
	struct nc_graphs *g = nc_xcalloc(1, sizeof(*g));
	struct nc_tm_store_opts so = { 0 };
	struct nc_err err = { "" };

	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->render, NULL);
	if (!dir) {
		g->why = nc_xstrdup("telemetry is disabled (telemetry.enabled: false)");
		return g;
	}
	so.dir = dir;
	so.step = 15;                    /* readers take the files' own step */
	so.read_only = true;
	if (nc_tm_store_open(&g->st, &so, &err) != 0) {
		g->st = NULL;
		g->why = nc_xasprintf("the history cannot be read: %s", err.msg);
	}
	return g;
}

void nc_graphs_free(struct nc_graphs *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < NC_GRAPHS_CACHE; i++) {
		free(g->cache[i].key);
		free(g->cache[i].png);
	}
	nc_tm_store_close(g->st);
	free(g->why);
	pthread_mutex_destroy(&g->render);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* a fresh PNG of key into body: true when the cache had one */
static bool cache_get(struct nc_graphs *g, const char *key, struct nc_buf *body)
{
	time_t now = mono();
	bool hit = false;
	size_t i;

	pthread_mutex_lock(&g->mu);
	for (i = 0; i < NC_GRAPHS_CACHE; i++) {
		struct entry *e = &g->cache[i];

		if (e->key && strcmp(e->key, key) == 0 && now - e->made < NC_GRAPHS_TTL) {
			nc_buf_add(body, e->png, e->len);
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&g->mu);
	return hit;
}

/* keeps a copy: in the slot of the same key, else an empty one, else the oldest */
static void cache_put(struct nc_graphs *g, const char *key, const char *png, size_t len)
{
	struct entry *slot = NULL;
	size_t i;

	pthread_mutex_lock(&g->mu);
	for (i = 0; i < NC_GRAPHS_CACHE && !slot; i++)
		if (g->cache[i].key && strcmp(g->cache[i].key, key) == 0)
			slot = &g->cache[i];
	for (i = 0; i < NC_GRAPHS_CACHE && !slot; i++)
		if (!g->cache[i].key)
			slot = &g->cache[i];
	if (!slot) {
		slot = &g->cache[0];
		for (i = 1; i < NC_GRAPHS_CACHE; i++)
			if (g->cache[i].made < slot->made)
				slot = &g->cache[i];
	}
	free(slot->key);
	free(slot->png);
	slot->key = nc_xstrdup(key);
	slot->png = nc_xmalloc(len);
	memcpy(slot->png, png, len);
	slot->len = len;
	slot->made = mono();
	pthread_mutex_unlock(&g->mu);
}

/* does the object have a history file? */
static int has_history(struct nc_graphs *g, enum nc_metric_target t, const char *id, struct nc_err *err)
{
	struct nc_tm_series s = { 0 };
	time_t now = time(NULL);
	int rc = nc_tm_store_fetch(g->st, t, id, nc_metric_at(t, 0)->name, NC_TM_AVERAGE, now - 1, now, 0, &s, err);

	nc_tm_series_release(&s);
	return rc;
}

/* sizes come in steps (width 200..1200 by 100, height 80..600 by 40): the cache keys on them, so
 * a client cannot make serve draw (on its one HTTP thread) a new image for every pixel */
static bool size_param(const struct nc_web_req *req, const char *name, unsigned dflt, unsigned lo, unsigned hi,
		       unsigned step, unsigned *out, struct nc_web_resp *resp)
{
	const char *v = req->query(req, name);
	char *end;
	unsigned long n;

	*out = dflt;
	if (!v || !*v)
		return true;
	n = strtoul(v, &end, 10);
	if (*end || v[0] < '0' || v[0] > '9' || n < lo || n > hi || (n - lo) % step) {
		nc_web_error(resp, 400, "%s must be a number of pixels from %u to %u in steps of %u", name, lo, hi,
			     step);
		return false;
	}
	*out = (unsigned)n;
	return true;
}

static void list_json(struct nc_graphs *g, enum nc_metric_target t, const char *id, struct nc_web_resp *resp)
{
	const struct nc_metric_info *ms[NC_METRICS_MAX];
	struct nc_buf *b = &resp->body;
	struct nc_err err = { "" };
	size_t n = 0, i, j;
	int rc = g->st ? has_history(g, t, id, &err) : 0;

	if (rc < 0) {
		nc_web_error(resp, 500, "%s", err.msg);
		return;
	}
	/* the catalogue's metrics of the kind, sorted by name */
	for (i = 0; rc > 0 && i < nc_metric_count(t) && n < NC_METRICS_MAX; i++) {
		const struct nc_metric_info *m = nc_metric_at(t, (unsigned)i);

		for (j = n; j > 0 && strcmp(ms[j - 1]->name, m->name) > 0; j--)
			ms[j] = ms[j - 1];
		ms[j] = m;
		n++;
	}
	nc_buf_adds(b, "{\"items\": [");
	for (i = 0; i < n; i++) {
		nc_buf_adds(b, i ? ",\n  {\"metric\": " : "\n  {\"metric\": ");
		nc_web_json_str(b, ms[i]->name);
		nc_buf_adds(b, ", \"unit\": ");
		nc_web_json_str(b, nc_metric_unit_name(ms[i]->unit));
		nc_buf_adds(b, ", \"title\": ");
		nc_web_json_str(b, ms[i]->help);
		nc_buf_adds(b, "}");
	}
	nc_buf_adds(b, n ? "\n], \"ranges\": [" : "], \"ranges\": [");
	for (i = 0; i < NC_ARRAY_SIZE(ranges); i++)
		nc_buf_addf(b, "%s\"%s\"", i ? ", " : "", ranges[i].name);
	nc_buf_adds(b, "], \"history\": ");
	nc_buf_adds(b, n ? "true" : "false");
	if (!n) {
		nc_buf_adds(b, ", \"why\": ");
		if (g->why)
			nc_web_json_str(b, g->why);
		else
			nc_buf_adds(b, "\"no history yet: telemetry writes it every round\"");
	}
	nc_buf_adds(b, "}\n");
	resp->code = 200;
	resp->type = "application/json";
}

static void png(struct nc_graphs *g, enum nc_metric_target t, const char *id, const char *file,
		const struct nc_web_req *req, struct nc_web_resp *resp)
{
	const char *tname = nc_metric_target_name(t), *since = req->query(req, "since"), *dot = strrchr(file, '.');
	const struct nc_metric_info *m;
	char metric[64], key[512];
	struct nc_err err = { "" };
	unsigned w, h;
	time_t secs = 0, now;
	size_t i;
	int rc;

	if (!dot || strcmp(dot, ".png") != 0 || (size_t)(dot - file) >= sizeof(metric)) {
		nc_web_error(resp, 404, "no such graph: a graph is METRIC.png");
		return;
	}
	memcpy(metric, file, (size_t)(dot - file));
	metric[dot - file] = '\0';
	m = nc_metric_find(t, metric);
	if (!m) {
		nc_web_error(resp, 404, "no %s metric %s (GET .../graphs lists them)", tname, metric);
		return;
	}
	if (!since || !*since)
		since = "24h";
	for (i = 0; i < NC_ARRAY_SIZE(ranges); i++)
		if (strcmp(since, ranges[i].name) == 0)
			secs = ranges[i].seconds;
	if (!secs) {
		nc_web_error(resp, 400, "since must be one of 1h, 6h, 24h, 7d, 30d");
		return;
	}
	if (!size_param(req, "width", DEFAULT_W, 200, 1200, 100, &w, resp) ||
	    !size_param(req, "height", DEFAULT_H, 80, 600, 40, &h, resp))
		return;
	if (!g->st) {
		nc_web_error(resp, 404, "no history for %s %s: %s", tname, id, g->why);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s/%s/%s/%ux%u", tname, id, m->name, since, w, h);
	if (cache_get(g, key, &resp->body))
		goto done;
	pthread_mutex_lock(&g->render);
	/* another client may have drawn it while this one waited */
	if (cache_get(g, key, &resp->body)) {
		pthread_mutex_unlock(&g->render);
		goto done;
	}
	rc = has_history(g, t, id, &err);
	if (rc == 0) {
		pthread_mutex_unlock(&g->render);
		nc_web_error(resp, 404, "no history yet for %s %s: telemetry writes it every round", tname, id);
		return;
	}
	now = time(NULL);
	if (rc < 0 || nc_tm_graph_png(g->st, t, id, m->name, now - secs, now, w, h, &resp->body, &err) != 0) {
		pthread_mutex_unlock(&g->render);
		nc_web_error(resp, 500, "%s", err.msg);
		return;
	}
	cache_put(g, key, resp->body.buf, resp->body.len);
	pthread_mutex_unlock(&g->render);
done:
	resp->code = 200;
	resp->type = "image/png";
}

bool nc_graphs_handle(struct nc_graphs *g, struct nc_api *a, const struct nc_web_req *req,
		      const struct nc_principal *p, struct nc_web_resp *resp)
{
	const char *path = req->path, *rest, *slash;
	enum nc_metric_target t;
	char id[256];

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return false;
	if (strncmp(path, "/api/v1/vms/", 12) == 0) {
		t = NC_MT_VM;
		path += 12;
	} else if (strncmp(path, "/api/v1/hosts/", 14) == 0) {
		t = NC_MT_HOST;
		path += 14;
	} else {
		return false;
	}
	slash = strchr(path, '/');
	if (!slash || (strcmp(slash, "/graphs") != 0 && strncmp(slash, "/graphs/", 8) != 0))
		return false;
	rest = slash[7] ? slash + 8 : NULL;
	if (rest && (!*rest || strchr(rest, '/')))
		return false;
	if ((size_t)(slash - path) >= sizeof(id)) {
		nc_web_error(resp, 404, "no %s of that name", t == NC_MT_VM ? "VM" : "host");
		return true;
	}
	memcpy(id, path, (size_t)(slash - path));
	id[slash - path] = '\0';
	/* the name reaches a file path: the store's rule, then the snapshot (and the tenant) */
	if (!nc_tm_id_ok(id) || (t == NC_MT_VM ? !nc_api_vm_visible(a, p, id) : !nc_api_host_exists(a, id))) {
		nc_web_error(resp, 404, "no %s %s", t == NC_MT_VM ? "VM" : "host", id);
		return true;
	}
	if (rest)
		png(g, t, id, rest, req, resp);
	else
		list_json(g, t, id, resp);
	return true;
}
