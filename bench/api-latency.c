/*
 * api-latency.c - the load side of bench/api-latency.sh (issue 14): N
 * concurrent clients (libcurl multi, one kept-alive connection each) fetch
 * one path of serve's API over and over for S seconds, then the next path.
 *
 *   nc-bench-api-latency [--clients N] [--seconds S] [--per-source N] [--label L] URL TOKEN_FILE PATH...
 *
 * URL is serve's base (http://127.0.0.1:PORT); TOKEN_FILE holds a bearer
 * token (nc_...).  For each PATH it prints the p50/p90/p99/max latency of
 * the requests completed in the window (a request's latency: libcurl's
 * total time, from sending to the last byte), requests/s, the answers that
 * were not 200 and the mean body size; then the reconciliation passes that
 * finished in that window (GET /api/v1/passes, read with json-c), to show
 * serve kept reconciling under the load.
 *
 * serve allows 16 connections per client address (reconciler/http.c,
 * NC_HTTP_MAX_PER_IP), so on a loopback URL the clients bind to source
 * addresses 127.0.0.2, .3, ... (--per-source clients each, default 10), as
 * many operators on their own machines would; the passes are read from
 * 127.0.0.254.  Prints figures, never fails on
 * time; exits 1 only when it cannot run (no token, no curl).
 */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct client {
	CURL *h;
	double t0;
	size_t bytes;
};

struct run {
	double *lat; /* seconds */
	size_t n, cap;
	size_t bad, bytes;
	size_t codes[600]; /* answers by HTTP status; [0]: no answer (transport error) */
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t count_body(char *p, size_t size, size_t n, void *u)
{
	struct client *c = u;

	(void)p;
	c->bytes += size * n;
	return size * n;
}

struct body {
	char *buf;
	size_t len;
};

static size_t keep_body(char *p, size_t size, size_t n, void *u)
{
	struct body *b = u;
	char *nb = realloc(b->buf, b->len + size * n + 1);

	if (!nb)
		return 0;
	memcpy(nb + b->len, p, size * n);
	b->len += size * n;
	nb[b->len] = '\0';
	b->buf = nb;
	return size * n;
}

static void push(struct run *r, double v)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4096;
		r->lat = realloc(r->lat, r->cap * sizeof(*r->lat));
		if (!r->lat) {
			fprintf(stderr, "bench: out of memory\n");
			exit(1);
		}
	}
	r->lat[r->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* the value at quantile q of the sorted a[0..n) (nearest rank) */
static double quantile(const double *a, size_t n, double q)
{
	size_t k;

	if (!n)
		return 0;
	k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return a[k - 1];
}

static int per_source = 10;
static int loopback;

/* client i's source address on a loopback URL (127.0.0.2 + i / per_source); i < 0: the passes reader */
static void source(CURL *h, int i, char *buf, size_t n)
{
	if (!loopback)
		return;
	snprintf(buf, n, "host!127.0.0.%d", i < 0 ? 254 : 2 + i / per_source);
	curl_easy_setopt(h, CURLOPT_INTERFACE, buf);
}

static void setup(struct client *c, const char *url, struct curl_slist *hdrs)
{
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, count_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
}

/* N clients on URL for S seconds: requests started in the window count */
static void load(const char *url, struct curl_slist *hdrs, int nclients, double secs, struct run *r, double *wall)
{
	CURLM *m = curl_multi_init();
	struct client *cl = calloc((size_t)nclients, sizeof(*cl));
	double start = now(), end = start + secs;
	int i, running = 0, active = nclients;

	if (!m || !cl) {
		fprintf(stderr, "bench: cannot set up libcurl\n");
		exit(1);
	}
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)nclients);
	for (i = 0; i < nclients; i++) {
		char src[32];

		cl[i].h = curl_easy_init();
		setup(&cl[i], url, hdrs);
		source(cl[i].h, i, src, sizeof(src));
		cl[i].t0 = now();
		curl_multi_add_handle(m, cl[i].h);
	}
	while (active > 0) {
		CURLMsg *msg;
		int left;

		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct client *c;
			long code = 0;
			double t = now();

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
			push(r, t - c->t0);
			if (msg->data.result != CURLE_OK || code != 200) {
				r->bad++;
				r->codes[msg->data.result != CURLE_OK || code < 0 || code >= 600 ? 0 : code]++;
			}
			r->bytes += c->bytes;
			curl_multi_remove_handle(m, c->h);
			if (t < end) {
				c->bytes = 0;
				c->t0 = now();
				curl_multi_add_handle(m, c->h);
			} else {
				active--;
			}
		}
		if (active > 0)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	*wall = now() - start;
	for (i = 0; i < nclients; i++)
		curl_easy_cleanup(cl[i].h);
	free(cl);
	curl_multi_cleanup(m);
}

/* the passes of GET /api/v1/passes whose time is at or after since (UTC, ISO) */
static void passes(const char *base, struct curl_slist *hdrs, const char *since)
{
	CURL *h = curl_easy_init();
	struct body b = { NULL, 0 };
	char *url = malloc(strlen(base) + 32);
	struct json_object *root = NULL, *items;
	double secs[128], mx = 0;
	size_t n = 0, i, len, drift = 0, actions = 0, failed = 0;
	const char *last = "";
	char src[32];

	sprintf(url, "%s/api/v1/passes", base);
	source(h, -1, src, sizeof(src));
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(h) == CURLE_OK && b.buf)
		root = json_tokener_parse(b.buf);
	if (!root || !json_object_object_get_ex(root, "items", &items) || !json_object_is_type(items, json_type_array)) {
		printf("    passes: cannot read /api/v1/passes\n");
		goto out;
	}
	len = json_object_array_length(items);
	for (i = 0; i < len && n < 128; i++) {
		struct json_object *p = json_object_array_get_idx(items, i), *v;
		const char *t;

		if (!json_object_object_get_ex(p, "time", &v) || !(t = json_object_get_string(v)) ||
		    strcmp(t, since) < 0)
			continue;
		secs[n] = 0;
		if (json_object_object_get_ex(p, "seconds", &v))
			secs[n] = json_object_get_double(v);
		if (secs[n] > mx)
			mx = secs[n];
		if (json_object_object_get_ex(p, "drift", &v))
			drift += (size_t)json_object_get_int64(v);
		if (json_object_object_get_ex(p, "actions", &v))
			actions += (size_t)json_object_get_int64(v);
		if (json_object_object_get_ex(p, "failed", &v))
			failed += (size_t)json_object_get_int64(v);
		if (!*last && json_object_object_get_ex(p, "result", &v) && json_object_get_string(v))
			last = json_object_get_string(v);
		n++;
	}
	qsort(secs, n, sizeof(*secs), cmp_double);
	if (n)
		printf("    passes finished in the window: %zu, %.2f s median / %.2f s max each; drift %zu, actions %zu "
		       "(failed %zu); last result %s\n",
		       n, quantile(secs, n, 0.5), mx, drift, actions, failed, last);
	else
		printf("    passes finished in the window: none (reconciliation stalled or driftInterval longer than the window)\n");
out:
	json_object_put(root);
	free(b.buf);
	free(url);
	curl_easy_cleanup(h);
}

static void usage(void)
{
	fprintf(stderr, "usage: nc-bench-api-latency [--clients N] [--seconds S] [--per-source N] [--label L] URL TOKEN_FILE PATH...\n");
	exit(1);
}

int main(int argc, char **argv)
{
	int clients = 50, i;
	double seconds = 20;
	const char *label = "";
	char tok[512], *hdr;
	struct curl_slist *hdrs = NULL;
	FILE *f;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--clients") == 0)
			clients = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--per-source") == 0)
			per_source = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--label") == 0)
			label = argv[i + 1];
		else
			usage();
	}
	if (argc - i < 3 || clients < 1 || clients > 1000 || seconds <= 0 || per_source < 1 || per_source > 16 ||
	    (clients - 1) / per_source > 250)
		usage();
	loopback = strncmp(argv[i], "http://127.", 11) == 0 || strncmp(argv[i], "https://127.", 12) == 0;
	f = fopen(argv[i + 1], "r");
	if (!f || !fgets(tok, sizeof(tok), f)) {
		fprintf(stderr, "bench: cannot read a token from %s\n", argv[i + 1]);
		return 1;
	}
	fclose(f);
	tok[strcspn(tok, "\r\n")] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	hdr = malloc(strlen(tok) + 32);
	sprintf(hdr, "Authorization: Bearer %s", tok);
	hdrs = curl_slist_append(hdrs, hdr);
	free(hdr);
	printf("%s%s%d clients", label, *label ? ": " : "", clients);
	if (loopback)
		printf(" from %d loopback address%s", (clients + per_source - 1) / per_source,
		       clients > per_source ? "es" : "");
	printf(", %.0f s per path (latency in ms)\n", seconds);
	printf("  %-36s %8s %8s %8s %8s %9s %6s %9s\n", "path", "p50", "p90", "p99", "max", "req/s", "!200", "KiB/resp");
	for (int k = i + 2; k < argc; k++) {
		struct run r;
		char *url = malloc(strlen(argv[i]) + strlen(argv[k]) + 1);
		char since[32];
		time_t t0 = time(NULL);
		double wall;

		memset(&r, 0, sizeof(r));
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t0));
		sprintf(url, "%s%s", argv[i], argv[k]);
		load(url, hdrs, clients, seconds, &r, &wall);
		qsort(r.lat, r.n, sizeof(*r.lat), cmp_double);
		printf("  %-36s %8.1f %8.1f %8.1f %8.1f %9.1f %6zu %9.1f\n", argv[k], 1e3 * quantile(r.lat, r.n, 0.5),
		       1e3 * quantile(r.lat, r.n, 0.9), 1e3 * quantile(r.lat, r.n, 0.99),
		       1e3 * (r.n ? r.lat[r.n - 1] : 0), (double)r.n / wall, r.bad,
		       r.n ? (double)r.bytes / (double)r.n / 1024 : 0);
		for (int c = 0; c < 600; c++)
			if (r.codes[c] && c)
				printf("    %zu answers HTTP %d\n", r.codes[c], c);
			else if (r.codes[c])
				printf("    %zu without an answer (refused, reset or timed out)\n", r.codes[c]);
		passes(argv[i], hdrs, since);
		fflush(stdout);
		free(r.lat);
		free(url);
	}
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	return 0;
}
