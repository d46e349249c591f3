/*
 * cmd-status.c - `novacron status [--url URL] [--config FILE] [--output text|json]`
 *
 * Reads a running `serve`'s /status (default: the `listen:` address of the
 * configuration, --config FILE or $NOVACRON_CONFIG, else
 * http://127.0.0.1:9090) with
 * libcurl and prints it for people: leadership, the revision in force, the
 * last pass, drift, pending actions, each host, the telemetry loop and the
 * pending and firing alerts (JSON is passed through).  Exit 0 when the last
 * pass was ok, 2 when it was not (or the instance stands by), 1 when the
 * endpoint cannot be read.
 */
#include "cli.h"
#include "connections.h"
#include "jsonout.h"
#include "federation.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static size_t collect(char *p, size_t s, size_t n, void *u)
{
	nc_buf_add(u, p, s * n);
	return s * n;
}

/* o's member key, or NULL (also for a JSON null) */
static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

static size_t len(struct json_object *a)
{
	return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* a member as text ("-" for none): strings as they are, numbers and booleans as JSON writes them */
static const char *str(struct json_object *n)
{
	char *s = n ? (char *)json_object_get_string(n) : NULL;

	if (!s)
		return "-";
	/* text from the cluster (a domain named with a line break) or from whatever
	 * answers at --url is printed on its line: no forged line, no escape sequence */
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* the failure detector (docs/ha.md): one line per host, its health since when (UTC, ms) */
static void print_ha(struct json_object *ha)
{
	struct json_object *hosts = get(ha, "hosts");
	size_t i;

	if (!ha)
		return;
	if (strcmp(str(get(ha, "enabled")), "true") != 0) {
		printf("ha:          disabled\n");
		return;
	}
	if (strcmp(str(get(ha, "partitioned")), "true") == 0)
		printf("ha:          PARTITIONED: every declared host is suspect or failed; nothing is fenced or "
		       "restarted until one answers\n");
	for (i = 0; i < len(hosts); i++) {
		struct json_object *h = json_object_array_get_idx(hosts, i);
		const char *health = str(get(h, "health")), *misses = str(get(h, "misses"));
		double since = strtod(str(get(h, "since")), NULL);
		time_t secs = (time_t)since;
		struct tm tm;
		char ts[48] = "-", day[32];

		if (secs > 0 && gmtime_r(&secs, &tm) && strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm))
			snprintf(ts, sizeof(ts), "%s.%03dZ", day, (int)((since - (double)secs) * 1000 + 0.5) % 1000);
		printf("health:      %-12s %-7s since %s", str(get(h, "name")),
		       strcmp(health, "ok") == 0 ? "ok" : strcmp(health, "suspect") == 0 ? "SUSPECT" : "FAILED", ts);
		if (strcmp(misses, "0") != 0 && strcmp(misses, "-") != 0)
			printf(", %s missed checks (%s)", misses, str(get(h, "error")));
		if (strcmp(str(get(h, "fenced")), "true") == 0)
			printf(", fenced by %s", str(get(h, "fenced_by")));
		else if (strcmp(health, "failed") == 0)
			printf(", not fenced");
		if (strcmp(str(get(h, "fence_error")), "-") != 0)
			printf(", fence failed: %s", str(get(h, "fence_error")));
		printf("\n");
	}
}

static void utc(char *out, size_t len, const char *secs_s)
{
	time_t secs = (time_t)strtoll(secs_s, NULL, 10);
	struct tm tm;

	if (secs <= 0 || !gmtime_r(&secs, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, len, "-");
}

/* telemetry (docs/monitoring.md): the loop's last round, then each pending or firing alert */
static void print_telemetry(struct json_object *t, struct json_object *alerts)
{
	struct json_object *errs = get(t, "host_errors");
	char ts[32];
	size_t i;

	if (!t)
		return;
	if (strcmp(str(get(t, "enabled")), "true") != 0) {
		printf("telemetry:   disabled\n");
	} else if (strcmp(str(get(t, "active")), "true") != 0) {
		printf("telemetry:   not collecting (standby, or no round yet)\n");
	} else {
		utc(ts, sizeof(ts), str(get(t, "last_round")));
		printf("telemetry:   a round every %ss, last %s in %ss, %s rounds", str(get(t, "interval")), ts,
		       str(get(t, "seconds")), str(get(t, "rounds")));
		for (i = 0; i < len(errs); i++)
			printf("%s%s (%s)", i ? ", " : "; no stats from ", str(get(json_object_array_get_idx(errs, i), "host")),
			       str(get(json_object_array_get_idx(errs, i), "error")));
		printf("\n");
	}
	for (i = 0; i < len(alerts); i++) {
		struct json_object *a = json_object_array_get_idx(alerts, i);
		const char *state = str(get(a, "state"));
		const char *since = str(get(a, "firing_since"));

		if (strcmp(state, "resolved") == 0)
			continue;       /* kept a while in the JSON; people see what is still wrong */
		utc(ts, sizeof(ts), strcmp(since, "-") ? since : str(get(a, "active_since")));
		printf("alert:       %-8s %-8s %s: %s %s", strcmp(state, "firing") == 0 ? "FIRING" : state,
		       str(get(a, "severity")), str(get(a, "rule")), str(get(a, "target")),
		       str(get(a, "object")));
		if (strcmp(str(get(a, "host")), "-") != 0)
			printf(" on %s", str(get(a, "host")));
		printf(", %s since %s: %s\n", str(get(a, "value_text")), ts, str(get(a, "summary")));
	}
}

enum { OPT_URL = NC_OPT_LONG_ONLY, OPT_CONFIG, OPT_ALL };

static const struct nc_opt status_opts[] = {
	{ "url", OPT_URL, "URL", "serve's address (default the configuration's listen:, else "
	  "http://127.0.0.1:9090)", NC_COMP_NONE, NULL },
	{ "config", OPT_CONFIG, "FILE", "the configuration serve runs with, to find its address (default "
	  "$NOVACRON_CONFIG)", NC_COMP_FILE, NULL },
	{ "output", 'o', "FORMAT", "text (default) or json, as serve's /status answers", NC_COMP_WORDS, "text json" },
	{ "all", OPT_ALL, NULL, "every cluster's serve, as the configuration's federation: lists them: one line "
	  "each; one that cannot be read is reported (docs/federation.md)", NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const status_examples[] = {
	"what the serve on this machine reports: revision, last pass, hosts, alerts",
	"novacron status",
	"a serve elsewhere, as JSON",
	"novacron status --url http://kvm-admin:9090 --output json",
	"every cluster's serve (federation: in the configuration)",
	"novacron status --all --config /etc/novacron/serve.yaml",
	NULL,
};

const struct nc_cmd_doc nc_doc_status = {
	"status", "status [--url URL | --all] [--config FILE] [--output text|json]",
	"show what a running serve reports",
	"Asks a running `novacron serve` for its /status and prints it: the revision in force, the last "
	"pass and its result, each host's state and the alerts firing. URL credentials are never printed. "
	"Exit 1 when serve cannot be reached. With --all it reads every serve the configuration's "
	"federation: names, at once, and prints one line per cluster (reachable, leader, revision, last pass, "
	"hosts up, VMs, drift, pending actions); exit 0 when every one answered and its last pass was ok, 2 "
	"otherwise.",
	status_opts, status_examples, NC_COMP_NONE, NULL,
};

/* --all: each serve of federation: (federation.h) */
static int status_all(const char *config, enum nc_output out)
{
	struct nc_cli_config cfg;
	struct nc_fed_row *rows = NULL;
	struct nc_buf b = NC_BUF_INIT;
	size_t n, i;
	int ret = NC_EXIT_OK;

	if (nc_cli_config_load(&cfg, "status", config) < 0)
		return NC_EXIT_ERROR;
	if (!cfg.federation.n) {
		fprintf(stderr, "novacron status: --all needs a federation: list of each cluster's serve in the "
			"configuration (%s; docs/federation.md)\n", cfg.file ? cfg.file : "--config or $NOVACRON_CONFIG");
		nc_cli_config_release(&cfg);
		return NC_EXIT_ERROR;
	}
	n = nc_federation_read(&rows, &cfg.federation, 5000);
	if (out == NC_OUT_JSON)
		nc_federation_json(rows, n, &b);
	else
		nc_federation_text(rows, n, &b);
	fwrite(b.buf, 1, b.len, stdout);
	for (i = 0; i < n; i++)
		if (!rows[i].reachable || !rows[i].result || strcmp(rows[i].result, "ok") != 0)
			ret = NC_EXIT_CHANGES;
	nc_buf_release(&b);
	nc_federation_free(rows, n);
	nc_cli_config_release(&cfg);
	return ret;
}

int cmd_status(int argc, char **argv)
{
	const char *base = NULL, *config = NULL;
	struct nc_cli_config cfg;
	enum nc_output out = NC_OUT_TEXT;
	struct nc_buf body = NC_BUF_INIT;
	size_t i;
	struct json_object *root = NULL, *hosts;
	char *url, *shown;
	CURL *c;
	CURLcode rc;
	long code = 0;
	struct nc_getopt g;
	int ch, ret = NC_EXIT_ERROR;
	bool all = false;

	nc_getopt_init(&g, status_opts, NULL);
	while ((ch = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (ch) {
		case OPT_URL: base = optarg; break;
		case OPT_CONFIG: config = optarg; break;
		case OPT_ALL: all = true; break;
		case 'o':
			if (nc_cli_output(optarg, 1u << NC_OUT_TEXT | 1u << NC_OUT_JSON, &out) < 0) {
				nc_getopt_release(&g);
				fprintf(stderr, "novacron status: --output must be text or json\n");
				return NC_EXIT_ERROR;
			}
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_status);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_status);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (all) {
		if (base) {
			fprintf(stderr, "novacron status: --all reads the serves of the configuration's federation:, "
				"not --url\n");
			return NC_EXIT_ERROR;
		}
		return status_all(config, out);
	}
	/* where serve listens: --url, else the configuration's listen:, else the default */
	memset(&cfg, 0, sizeof(cfg));
	if (!base && nc_cli_config_load(&cfg, "status", config) < 0)
		return NC_EXIT_ERROR;
	url = nc_xasprintf("%s/status", base ? base : cfg.status_url ? cfg.status_url : "http://127.0.0.1:9090");
	nc_cli_config_release(&cfg);
	shown = nc_url_redact(url);     /* the --url may carry credentials: never printed */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || code != 200) {
		fprintf(stderr, "novacron status: cannot read %s: %s\n", shown,
			rc != CURLE_OK ? curl_easy_strerror(rc) : "unexpected HTTP status");
		goto out;
	}
	{
		/* what an older serve might still show: no URL credentials are printed from here either */
		char *safe = nc_url_redact(body.buf);

		nc_buf_reset(&body);
		nc_buf_adds(&body, safe);
		free(safe);
	}
	if (out == NC_OUT_JSON) {
		/* serve's document, its format_version first (an older serve sent none: 1) */
		struct json_object *got = json_tokener_parse(body.buf), *doc, *fv;

		if (!json_object_is_type(got, json_type_object)) {
			json_object_put(got);
			fprintf(stderr, "novacron status: %s did not return status JSON\n", shown);
			goto out;
		}
		doc = nc_json_doc(json_object_object_get_ex(got, "format_version", &fv) &&
				  json_object_is_type(fv, json_type_int) ? json_object_get_int(fv) : 1);
		json_object_object_foreach(got, key, val) {
			if (strcmp(key, "format_version") != 0)
				nc_json_set(doc, key, json_object_get(val));
		}
		json_object_put(got);
		nc_json_print(stdout, doc);
		ret = NC_EXIT_OK;
		goto out;
	}
	if (!json_object_is_type((root = json_tokener_parse(body.buf)), json_type_object)) {
		fprintf(stderr, "novacron status: %s did not return status JSON\n", shown);
		goto out;
	}
	if (strcmp(str(get(root, "cluster")), "-") != 0)
		printf("cluster:     %s\n", str(get(root, "cluster")));
	printf("leader:      %s (%s)\n", str(get(root, "leader")), str(get(root, "lease")));
	printf("source:      %s\n", str(get(root, "source")));
	printf("in force:    %s  %s\n", str(get(get(root, "applied"), "revision")),
	       str(get(get(root, "applied"), "summary")));
	if (strcmp(str(get(get(root, "invalid"), "revision")), "-") != 0)
		printf("refused:     %s  %s\n", str(get(get(root, "invalid"), "revision")),
		       str(get(get(root, "invalid"), "error")));
	printf("last pass:   %s in %ss", str(get(get(root, "last_pass"), "result")),
	       str(get(get(root, "last_pass"), "seconds")));
	if (strcmp(str(get(get(root, "last_pass"), "error")), "-") != 0)
		printf(": %s", str(get(get(root, "last_pass"), "error")));
	printf("\npasses:      %s ok, %s failed\n", str(get(get(root, "passes"), "ok")),
	       str(get(get(root, "passes"), "failed")));
	{
		struct json_object *bk = get(root, "backups");

		printf("backups:     %s ok, %s failed", str(get(bk, "ok")), str(get(bk, "failed")));
		if (strcmp(str(get(bk, "error")), "-") != 0)
			printf(" (last error: %s)", str(get(bk, "error")));
		printf("\n");
	}
	printf("drift:       %s VMs; %s actions pending\n", str(get(root, "drift")), str(get(root, "pending_actions")));
	printf("VMs:         %s running, %s stopped, %s other\n", str(get(get(root, "vms"), "running")),
	       str(get(get(root, "vms"), "stopped")), str(get(get(root, "vms"), "other")));
	hosts = get(root, "hosts");
	for (i = 0; i < len(hosts); i++) {
		struct json_object *h = json_object_array_get_idx(hosts, i);
		bool up = strcmp(str(get(h, "up")), "true") == 0;
		bool gone = strcmp(str(get(h, "declared")), "false") == 0;

		printf("host:        %-12s %-4s %s%s%s%s\n", str(get(h, "name")), up ? "up" : "DOWN",
		       str(get(h, "uri")), gone ? " (not declared)" : "", up ? "" : ": ",
		       up ? "" : str(get(h, "error")));
	}
	print_ha(get(root, "ha"));
	print_telemetry(get(root, "telemetry"), get(root, "alerts"));
	ret = strcmp(str(get(get(root, "last_pass"), "result")), "ok") == 0 ? NC_EXIT_OK : NC_EXIT_CHANGES;
out:
	json_object_put(root);
	nc_buf_release(&body);
	free(url);
	free(shown);
	curl_global_cleanup();
	return ret;
}
