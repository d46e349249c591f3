/*
 * test_monitor.c - serve's telemetry (issue 13, reconciler/monitor.c): the
 * Prometheus exposition of a round built by hand, checked line by line and
 * by a real `promtool check metrics`; the serve.yaml `telemetry:` section's
 * errors; serve on sim hosts with scripted load: /metrics, /status, the RRD
 * files, an AlertRule firing to a real HTTP receiver, a down host's gaps.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"

#include "../reconciler/monitor.h"
#include "../reconciler/pass.h"
#include "../reconciler/serve.h"

static char tdir[64];

/*
 * Check runs no checked teardown after a failed test: every test directory
 * is also listed in a registry that the unchecked teardown (run after all
 * tests, failed or not) goes over, as test_serve.c does.
 */
static char registry[64];

/* stop what a test started, by the PIDs it recorded, then remove its directory */
static void cleanup_dir(const char *dir)
{
	nc_run_inq("/", "cd '%s' 2>/dev/null || exit 0; for f in pid pid2; do [ -f $f ] && kill $(cat $f) 2>/dev/null; "
			"done; sleep 0.2; for f in pid pid2; do [ -f $f ] && kill -9 $(cat $f) 2>/dev/null; done; "
			"cd / && rm -rf '%s'", dir, dir);
}

static void registry_setup(void)
{
	int fd;

	snprintf(registry, sizeof(registry), "/tmp/nc-monitor-registry-XXXXXX");
	fd = mkstemp(registry);
	if (fd >= 0)
		close(fd);
}

static void registry_teardown(void)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len;

	if (nc_read_file(registry, 1 << 20, &buf, &len) == 0) {
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			cleanup_dir(line);
		free(buf);
	}
	unlink(registry);
}

static void setup(void)
{
	FILE *f;

	snprintf(tdir, sizeof(tdir), "/tmp/nc-monitor-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	f = fopen(registry, "a");
	if (f) {
		fprintf(f, "%s\n", tdir);
		fclose(f);
	}
}

static void teardown(void)
{
	cleanup_dir(tdir);
}

#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

static char *xs(const char *s)
{
	return nc_xstrdup(s);
}

static struct nc_spec *quickstart(void)
{
	const char *paths[] = { NC_SOURCE_DIR "/examples/quickstart" };
	struct nc_spec *spec = NULL;
	struct nc_diags d;

	nc_diags_init(&d);
	ck_assert_int_eq(nc_spec_load(&spec, paths, 1, NULL, &d), 0);
	nc_diags_release(&d);
	return spec;
}

static void obj(struct nc_tm_round *r, enum nc_metric_target t, const char *name, const char *host,
		bool managed)
{
	struct nc_tm_object *o;
	size_t i;

	r->objs = nc_xreallocarray(r->objs, r->nobjs + 1, sizeof(*r->objs));
	o = &r->objs[r->nobjs++];
	memset(o, 0, sizeof(*o));
	o->target = t;
	o->name = xs(name);
	o->host = host ? xs(host) : NULL;
	o->id = t == NC_MT_POOL && host ? nc_xasprintf("%s@%s", name, host) : xs(name);
	o->managed = managed;
	for (i = 0; i < NC_METRICS_MAX; i++)
		o->v[i] = NAN;
}

static void free_round(struct nc_tm_round *r)
{
	size_t i, j, k;

	for (i = 0; i < r->nobjs; i++) {
		free(r->objs[i].name);
		free(r->objs[i].host);
		free(r->objs[i].id);
	}
	free(r->objs);
	for (i = 0; i < r->nhosts; i++) {
		struct nc_host_stats *h = &r->raw[i];

		for (j = 0; j < h->ndoms; j++) {
			for (k = 0; k < h->doms[j].ndisks; k++)
				free(h->doms[j].disks[k].dev);
			for (k = 0; k < h->doms[j].nnics; k++) {
				free(h->doms[j].nics[k].dev);
				free(h->doms[j].nics[k].mac);
			}
			free(h->doms[j].disks);
			free(h->doms[j].nics);
			free(h->doms[j].name);
		}
		free(h->doms);
		free(r->hosts[i]);
		free(r->errors[i]);
	}
	free(r->hosts);
	free(r->raw);
	free(r->errors);
}

/*
 * Two hosts, kvm2 silent this round; on kvm1 the spec VM web-1 (two disks,
 * its NIC by MAC and a second NIC the spec does not know), an unmanaged
 * domain whose name needs escaping, a host pool; a shared pool.
 */
static void build_round(struct nc_tm_round *r, const struct nc_spec *spec)
{
	const struct nc_vm *web = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, "web-1");
	struct nc_host_stats *h;
	struct nc_dom_stats *d;
	char mac[18];

	ck_assert_ptr_nonnull(web);
	nc_nic_mac(web, (const struct nc_nic *)web->eff.nics.v, mac);
	memset(r, 0, sizeof(*r));
	r->t = 1700000000;
	r->seconds = 0.25;
	r->nhosts = 2;
	r->hosts = nc_xcalloc(2, sizeof(char *));
	r->raw = nc_xcalloc(2, sizeof(*r->raw));
	r->errors = nc_xcalloc(2, sizeof(char *));
	/* declared order kvm2, kvm1: the series come sorted by host all the same */
	r->hosts[0] = xs("kvm2");
	r->errors[0] = xs("timed out after 1000 ms");
	r->hosts[1] = xs("kvm1");
	h = &r->raw[1];
	h->t = 1700000000.5;
	h->cpus = 8;
	h->cpu_busy_ns = 1500000000000ull;
	h->cpu_total_ns = 8000000000000ull;
	h->mem_total = 16ull << 30;
	h->mem_available = 10ull << 30;
	h->ndoms = 2;
	h->doms = nc_xcalloc(2, sizeof(*h->doms));
	d = &h->doms[0];
	d->name = xs("we\"ird\\dom");
	d->state = NC_DOM_RUNNING;
	d->vcpus = 1;
	d->cpu_time_ns = 42;
	d->nnics = 1;
	d->nics = nc_xcalloc(1, sizeof(*d->nics));
	d->nics[0].dev = xs("vnet7");
	d->nics[0].rx_bytes = 5;
	d->nics[0].tx_bytes = 6;
	d->nics[0].rx_pkts = d->nics[0].tx_pkts = NC_STAT_NONE;
	d = &h->doms[1];
	d->name = xs("web-1");
	d->state = NC_DOM_RUNNING;
	d->vcpus = 2;
	d->cpu_time_ns = 12500000000ull;
	d->ndisks = 2;
	d->disks = nc_xcalloc(2, sizeof(*d->disks));
	d->disks[0].dev = xs("vda");
	d->disks[0].rd_bytes = 4096;
	d->disks[0].wr_bytes = 8192;
	d->disks[0].rd_reqs = 1;
	d->disks[0].wr_reqs = 2;
	d->disks[1].dev = xs("vdb");
	d->disks[1].rd_bytes = 0;
	d->disks[1].wr_bytes = NC_STAT_NONE;
	d->disks[1].rd_reqs = 0;
	d->disks[1].wr_reqs = 0;
	d->nnics = 2;
	d->nics = nc_xcalloc(2, sizeof(*d->nics));
	d->nics[0].dev = xs("vnet3");
	d->nics[0].mac = xs(mac);
	d->nics[0].rx_bytes = 1000;
	d->nics[0].tx_bytes = 2000;
	d->nics[0].rx_pkts = 10;
	d->nics[0].tx_pkts = 20;
	d->nics[1].dev = xs("vnet4");
	d->nics[1].mac = xs("52:54:00:ff:ff:ff");
	d->nics[1].rx_bytes = 1;
	d->nics[1].tx_bytes = 2;
	d->nics[1].rx_pkts = 3;
	d->nics[1].tx_pkts = 4;

	/* sorted by target, then id */
	obj(r, NC_MT_HOST, "kvm1", NULL, false);
	r->objs[0].v[NC_HM_UP] = 1;
	r->objs[0].v[NC_HM_FAILED] = 0;
	r->objs[0].v[NC_HM_CPU_USAGE] = 0.1875;
	r->objs[0].v[NC_HM_CPUS] = 8;
	r->objs[0].v[NC_HM_MEMORY_TOTAL] = (double)(16ull << 30);
	r->objs[0].v[NC_HM_MEMORY_USED] = (double)(6ull << 30);
	r->objs[0].v[NC_HM_MEMORY_USED_RATIO] = 0.375;
	r->objs[0].v[NC_HM_VMS_RUNNING] = 2;
	obj(r, NC_MT_HOST, "kvm2", NULL, false);
	r->objs[1].v[NC_HM_UP] = 0;
	obj(r, NC_MT_VM, "we\"ird\\dom", "kvm1", false);
	r->objs[2].v[NC_VM_RUNNING] = 1;
	obj(r, NC_MT_VM, "web-1", "kvm1", true);
	r->objs[3].v[NC_VM_RUNNING] = 1;
	r->objs[3].v[NC_VM_CPU_USAGE] = 0.5;
	r->objs[3].v[NC_VM_VCPUS] = 2;
	r->objs[3].v[NC_VM_MEMORY_BYTES] = (double)(2ull << 30);
	r->objs[3].v[NC_VM_MEMORY_USED] = (double)(1ull << 30);
	r->objs[3].v[NC_VM_MEMORY_USED_RATIO] = 0.5;
	r->objs[3].v[NC_VM_DISK_READ_BPS] = 100;
	obj(r, NC_MT_POOL, "ceph", NULL, false);
	r->objs[4].v[NC_PM_CAPACITY] = 1e12;
	r->objs[4].v[NC_PM_USED] = 9e11;
	r->objs[4].v[NC_PM_USED_RATIO] = 0.9;
	obj(r, NC_MT_POOL, "local", "kvm1", false);
	r->objs[5].v[NC_PM_CAPACITY] = 1000;
	r->objs[5].v[NC_PM_USED] = 250;
	r->objs[5].v[NC_PM_AVAILABLE] = 750;
	r->objs[5].v[NC_PM_USED_RATIO] = 0.25;
}

static void promtool_check(const char *body)
{
	struct nc_run r;
	char *path = nc_xasprintf("%s/metrics.txt", tdir);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(body, f);
	fclose(f);
	/* installed by scripts/deps.sh: a missing promtool fails, it is not skipped */
	nc_run_in(&r, tdir, "command -v promtool >/dev/null || { echo 'promtool not installed (scripts/deps.sh)'; "
			    "exit 127; }; promtool check metrics < metrics.txt 2>&1");
	ck_assert_msg(r.status == 0, "promtool check metrics failed (%d):\n%.3000s\n--- body:\n%.3000s", r.status,
		      r.out, body);
	nc_run_free(&r);
	free(path);
}

START_TEST(test_monitor_exposition)
{
	struct nc_spec *spec = quickstart();
	struct nc_tm_round r;
	struct nc_buf b = NC_BUF_INIT, again = NC_BUF_INIT;
	const char *p;

	build_round(&r, spec);
	nc_tm_round_prometheus(&r, spec, &b);
	/* raw counters in base units */
	HAS(b.buf, "# TYPE novacron_vm_cpu_seconds_total counter\n");
	HAS(b.buf, "\nnovacron_vm_cpu_seconds_total{host=\"kvm1\",vm=\"web-1\",managed=\"true\"} 12.500000000\n");
	HAS(b.buf, "\nnovacron_vm_cpu_seconds_total{host=\"kvm1\",vm=\"we\\\"ird\\\\dom\",managed=\"false\"} 0.000000042\n");
	HAS(b.buf, "\nnovacron_host_cpu_seconds_total{host=\"kvm1\",mode=\"busy\"} 1500.000000000\n"
		   "novacron_host_cpu_seconds_total{host=\"kvm1\",mode=\"idle\"} 6500.000000000\n");
	HAS(b.buf, "\nnovacron_vm_disk_read_bytes_total{host=\"kvm1\",vm=\"web-1\",managed=\"true\",disk=\"vda\"} 4096\n"
		   "novacron_vm_disk_read_bytes_total{host=\"kvm1\",vm=\"web-1\",managed=\"true\",disk=\"vdb\"} 0\n");
	HAS(b.buf, "\nnovacron_vm_disk_write_bytes_total{host=\"kvm1\",vm=\"web-1\",managed=\"true\",disk=\"vda\"} 8192\n#");
	HAS(b.buf, "\nnovacron_vm_disk_writes_total{host=\"kvm1\",vm=\"web-1\",managed=\"true\",disk=\"vda\"} 2\n");
	/* NICs: the spec's name by MAC, the host device for one the spec does not know and for
	 * an unmanaged domain */
	HAS(b.buf, "\nnovacron_vm_network_receive_bytes_total{host=\"kvm1\",vm=\"web-1\",managed=\"true\",nic=\"eth0\"} 1000\n");
	HAS(b.buf, "\nnovacron_vm_network_transmit_bytes_total{host=\"kvm1\",vm=\"web-1\",managed=\"true\",nic=\"vnet4\"} 2\n");
	HAS(b.buf, "\nnovacron_vm_network_receive_bytes_total{host=\"kvm1\",vm=\"we\\\"ird\\\\dom\",managed=\"false\",nic=\"vnet7\"} 5\n");
	HASNT(b.buf, "nic=\"vnet7\"} 0");      /* packets not reported: no series */
	/* gauges from the derived values, ratios _ratio; rates are left to rate() */
	HAS(b.buf, "\nnovacron_vm_cpu_usage_ratio{host=\"kvm1\",vm=\"web-1\",managed=\"true\"} 0.5\n");
	HAS(b.buf, "\nnovacron_host_memory_used_bytes{host=\"kvm1\"} 6442450944\n");
	HAS(b.buf, "\nnovacron_host_memory_used_ratio{host=\"kvm1\"} 0.375\n");
	HAS(b.buf, "\nnovacron_host_cpu_usage_ratio{host=\"kvm1\"} 0.1875\n");
	HAS(b.buf, "\nnovacron_pool_used_bytes{pool=\"ceph\"} 900000000000\n"
		   "novacron_pool_used_bytes{pool=\"local\",host=\"kvm1\"} 250\n");
	HAS(b.buf, "\nnovacron_pool_used_ratio{pool=\"ceph\"} 0.9\n");
	HAS(b.buf, "# HELP novacron_host_stats_up 1 when the host answered this round's stats call");
	HAS(b.buf, "\nnovacron_host_stats_up{host=\"kvm1\"} 1\nnovacron_host_stats_up{host=\"kvm2\"} 0\n");
	HASNT(b.buf, "per_second");
	HASNT(b.buf, "novacron_host_up{");          /* the pass's own, in status.c */
	/* a gap is no series, never a zero: kvm2 has only stats_up */
	HASNT(b.buf, "novacron_host_cpus{host=\"kvm2\"}");
	HASNT(b.buf, "novacron_pool_available_bytes{pool=\"ceph\"}");
	/* families sorted by name: ..._host_cpu_seconds_total before ..._vm_cpu_seconds_total */
	p = strstr(b.buf, "# HELP novacron_host_cpu_seconds_total");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(strstr(p, "# HELP novacron_vm_cpu_seconds_total"));
	/* the same round renders byte-identically */
	nc_tm_round_prometheus(&r, spec, &again);
	ck_assert_str_eq(b.buf, again.buf);
	promtool_check(b.buf);
	nc_buf_release(&b);
	nc_buf_release(&again);
	free_round(&r);
	nc_spec_free(spec);
}
END_TEST

/* an empty round renders nothing (no HELP without a sample) */
START_TEST(test_monitor_exposition_empty)
{
	struct nc_tm_round r;
	struct nc_buf b = NC_BUF_INIT;

	memset(&r, 0, sizeof(r));
	nc_tm_round_prometheus(&r, NULL, &b);
	ck_assert_uint_eq(b.len, 0);
	nc_buf_release(&b);
}
END_TEST

/* serve.yaml telemetry: values checked with file:line:col, before serve starts */
START_TEST(test_monitor_config_checked)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{ "telemetry:\n  interval: 500ms\n", "serve.yaml:5:13: error:" },
		{ "telemetry:\n  rrdcached: relative/sock\n", "serve.yaml:5:14: error: rrdcached must be unix:/ABSOLUTE/PATH or HOST:PORT" },
		{ "telemetry:\n  rrdcached: unix:run/x.sock\n", "rrdcached must be unix:/ABSOLUTE/PATH" },
		{ "telemetry:\n  rrdcached: kvm1:99999\n", "rrdcached must be" },
		{ "telemetry:\n  dir: var/tm\n", "serve.yaml:5:8: error:" },
		{ "telemetry:\n  intervall: 1s\n", "did you mean 'interval'" },
		{ "telemetry:\n  enabled: maybe\n", "serve.yaml:5:12: error:" },
		{ "telemetry:\n  hostTimeout: 10ms\n", "serve.yaml:5:16: error:" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nc_run r;

		ck_assert_int_eq(shq("printf 'source:\\n  directory: /tmp\\nstateDir: %s/state\\n' > serve.yaml && "
				     "printf '%%s' '%s' >> serve.yaml", tdir, cases[i].yaml), 0);
		nc_run_in(&r, tdir, "$NC serve --config serve.yaml --check");
		ck_assert_msg(r.status == 1, "case %zu: status %d", i, r.status);
		HAS(r.err, cases[i].want);
		nc_run_free(&r);
	}
	ck_assert_int_eq(shq("printf 'source:\\n  directory: /tmp\\ntelemetry:\\n  enabled: true\\n  interval: 1s\\n"
			     "  dir: /tmp/x\\n  rrdcached: unix:/run/rrdcached.sock\\n  hostTimeout: 500ms\\n' > ok.yaml && "
			     "$NC serve --config ok.yaml --check | grep -q valid && "
			     "printf 'source:\\n  directory: /tmp\\ntelemetry:\\n  rrdcached: 127.0.0.1:42217\\n' > ok2.yaml && "
			     "$NC serve --config ok2.yaml --check | grep -q valid"), 0);
}
END_TEST

/*
 * dist/: the Prometheus rules pass `promtool check rules` and their own
 * `promtool test rules` (each fires on its series, at the time it should);
 * the Grafana dashboard is JSON with its panels; every novacron_* series
 * either names is one serve exports.
 */
START_TEST(test_monitor_dist)
{
	struct nc_spec *spec = quickstart();
	struct nc_tm_round r;
	struct nc_buf b = NC_BUF_INIT;
	struct nc_run run;
	FILE *f;
	char *path;

	nc_run_in(&run, NC_SOURCE_DIR, "command -v promtool >/dev/null || { echo 'promtool not installed "
			"(scripts/deps.sh)'; exit 127; }; promtool check rules dist/prometheus/novacron-rules.yml 2>&1 && "
			"promtool test rules test/data/monitor/rules-test.yml 2>&1");
	ck_assert_msg(run.status == 0, "promtool (%d):\n%.3000s", run.status, run.out);
	HAS(run.out, "SUCCESS: 5 rules found");
	nc_run_free(&run);

	/* the families serve exports: a round's, the loop's, the pass's */
	build_round(&r, spec);
	nc_tm_round_prometheus(&r, spec, &b);
	nc_buf_adds(&b, "# TYPE novacron_telemetry_round_seconds gauge\n# TYPE novacron_telemetry_host_errors_total counter\n"
			"# TYPE novacron_telemetry_last_round_timestamp_seconds gauge\n# TYPE novacron_leader gauge\n");
	path = nc_xasprintf("%s/families", tdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(b.buf, f);
	fclose(f);
	nc_run_in(&run, NC_SOURCE_DIR,
		  "python3 - '%s' <<'EOF' 2>&1\n"
		  "import json, re, sys\n"
		  "fams = set(l.split()[2] for l in open(sys.argv[1]) if l.startswith('# TYPE '))\n"
		  "d = json.load(open('dist/grafana/novacron-dashboard.json'))\n"
		  "titles = [p['title'] for p in d['panels']]\n"
		  "assert len(titles) >= 8, titles\n"
		  "for want in ('Host CPU', 'Host memory', 'Top 10 VMs by CPU', 'disk', 'network', 'pool', 'Alerts'):\n"
		  "    assert any(want.lower() in t.lower() for t in titles), (want, titles)\n"
		  "exprs = [t['expr'] for p in d['panels'] for t in p.get('targets', [])]\n"
		  "rules = open('dist/prometheus/novacron-rules.yml').read()\n"
		  "used = set(re.findall(r'novacron_[a-z_]+', ' '.join(exprs) + rules.split('groups:')[1]))\n"
		  "missing = sorted(n for n in used if n not in fams)\n"
		  "assert not missing, missing\n"
		  "print('ok', len(titles), 'panels', len(used), 'series names')\n"
		  "EOF", path);
	ck_assert_msg(run.status == 0, "dashboard or rules (%d):\n%.3000s", run.status, run.out);
	HAS(run.out, "ok ");
	nc_run_free(&run);
	free(path);
	nc_buf_release(&b);
	free_round(&r);
	nc_spec_free(spec);
}
END_TEST

/* ---- serve on sim hosts ---- */
static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static char *get(int port, const char *path)
{
	struct nc_run r;
	char *out;

	nc_run_in(&r, tdir, "curl -s --max-time 20 http://127.0.0.1:%d%s", port, path);
	out = r.out;
	r.out = NULL;
	nc_run_free(&r);
	return out;
}

/* polls GET path until its body has want (or, with want starting with '!', lacks it) */
static char *wait_body(int port, const char *path, const char *want, int seconds)
{
	bool neg = want[0] == '!';
	int i;

	for (i = 0; i < seconds * 5; i++) {
		char *b = get(port, path);

		if ((strstr(b, want + neg) != NULL) != neg)
			return b;
		if (i == seconds * 5 - 1) {
			struct nc_run r;

			nc_run_in(&r, tdir, "tail -15 log");
			ck_abort_msg("timed out waiting for '%s' at %s:\n%.2500s\nlog:\n%.2500s", want, path, b, r.out);
		}
		free(b);
		usleep(200000);
	}
	return NULL;
}

/* how many rounds /status says were done */
static long rounds(int port)
{
	char *b = get(port, "/status"), *p = strstr(b, "\"rounds\": ");
	long n = p ? strtol(p + 10, NULL, 10) : -1;

	free(b);
	return n;
}

static void wait_rounds(int port, long more)
{
	long want = rounds(port) + more;
	int i;

	for (i = 0; i < 100 && rounds(port) < want; i++)
		usleep(200000);
	if (rounds(port) < want) {   /* say why: serve's log and what /status gave */
		struct nc_run r;
		char *b = get(port, "/status");

		nc_run_in(&r, tdir, "tail -c 3000 log; ps -o pid,stat,args -p $(cat pid) 2>&1");
		ck_abort_msg("rounds: want %ld, have %ld; /status: %.1500s\nserve: %s", want, rounds(port),
			     b ? b : "(nothing)", r.out);
	}
}

/* the value of the first series line starting with prefix, or NAN */
static double series(const char *body, const char *prefix)
{
	const char *p = body;

	while ((p = strstr(p, prefix))) {
		if (p == body || p[-1] == '\n') {
			const char *sp = strchr(p, ' ');

			return sp ? strtod(sp + 1, NULL) : NAN;
		}
		p++;
	}
	return NAN;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

/* ---- a notification receiver, in this process ---- */
static pthread_mutex_t got_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nc_buf got = NC_BUF_INIT;

static enum MHD_Result receive(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *upload, size_t *size, void **state)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!*state) {
		*state = conn;
		return MHD_YES;
	}
	if (*size) {
		pthread_mutex_lock(&got_mu);
		nc_buf_add(&got, upload, *size);
		pthread_mutex_unlock(&got_mu);
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&got_mu);
	nc_buf_addc(&got, '\n');
	pthread_mutex_unlock(&got_mu);
	resp = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static bool wait_got(const char *want, int seconds)
{
	bool seen = false;
	int i;

	for (i = 0; i < seconds * 10 && !seen; i++) {
		pthread_mutex_lock(&got_mu);
		seen = strstr(got.buf, want) != NULL;
		pthread_mutex_unlock(&got_mu);
		if (!seen)
			usleep(100000);
	}
	return seen;
}

/*
 * The quickstart cluster on sim hosts, telemetry every second, a rule `vm
 * cpu_usage > 0.5 for 2s` on the shop's VMs, a receiver for its
 * notifications.  web-1's scripted load goes to 90 %: /metrics has its
 * series (the derived ratio at the scripted rate, the counter advancing),
 * promtool passes on the real body, the alert goes pending then firing, is
 * logged, in /status, `novacron status`, ALERTS and notified once.  Its
 * host goes down: gaps (no series, stats_up 0, a host error), the alert
 * neither resolves nor fires again, nor does it after a SIGHUP; back up
 * and at 10 %, it resolves (notified).  The RRD files are there.
 */
START_TEST(test_monitor_serve_sim)
{
	struct MHD_Daemon *d;
	struct nc_run r;
	char *body, host[16] = "", *prefix;
	int port = free_port(), hook = free_port(), i;
	double c0, c1;
	long n0;

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)hook, NULL, NULL, receive, NULL,
			     MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	pthread_mutex_lock(&got_mu);
	nc_buf_reset(&got);
	pthread_mutex_unlock(&got_mu);
	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && printf '%%s\\n' 'apiVersion: novacron.io/v1' "
			     "'kind: AlertRule' 'metadata: {name: vm-cpu-busy}' 'spec:' '  target: vm' "
			     "'  selector: {matchLabels: {app: shop}}' '  metric: cpu_usage' "
			     "'  threshold: {op: \">\", value: 0.5}' '  for: 2s' '  severity: critical' "
			     "'  summary: \"VM {{ object }} on {{ host }}: CPU {{ value }}\"' > spec/alert.yaml", NC_SOURCE_DIR), 0);
	ck_assert_int_eq(shq("printf 'source:\\n  directory: %s/spec\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
			     "interval: 1s\\ndriftInterval: 60s\\nlisten: 127.0.0.1:%d\\ntelemetry:\\n  interval: 1s\\n"
			     "notify:\\n  - url: http://127.0.0.1:%d/hook\\n    events: [alert]\\n' > serve.yaml",
			     tdir, tdir, tdir, port, hook), 0);
	ck_assert_int_eq(shq("$NC serve --config serve.yaml >/dev/null 2>>log & echo $! > pid"), 0);
	free(wait_body(port, "/status", "\"result\": \"ok\"", 30));
	/* the round after the pass knows where web-1 runs */
	body = wait_body(port, "/metrics", "vm=\"web-1\",managed=\"true\"} ", 20);
	for (i = 1; i <= 3 && !host[0]; i++) {
		char *line = nc_xasprintf("\nnovacron_vm_running{host=\"kvm%d\",vm=\"web-1\",managed=\"true\"} 1\n", i);

		if (strstr(body, line))
			snprintf(host, sizeof(host), "kvm%d", i);
		free(line);
	}
	ck_assert_msg(strncmp(host, "kvm", 3) == 0, "web-1's host: %s", host);
	free(body);

	ck_assert_int_eq(shq("$NC sim --state-dir state %s load web-1 cpu=0.9", host), 0);
	wait_rounds(port, 3);
	body = get(port, "/metrics");
	prefix = nc_xasprintf("novacron_vm_cpu_usage_ratio{host=\"%s\",vm=\"web-1\",managed=\"true\"} ", host);
	ck_assert_msg(fabs(series(body, prefix) - 0.9) < 0.02, "%s%g", prefix, series(body, prefix));
	free(prefix);
	prefix = nc_xasprintf("novacron_vm_cpu_seconds_total{host=\"%s\",vm=\"web-1\",managed=\"true\"} ", host);
	c0 = series(body, prefix);
	promtool_check(body);
	HAS(body, "\nnovacron_telemetry_rounds_total ");
	HAS(body, "# TYPE novacron_host_cpu_seconds_total counter\n");
	HAS(body, "\nnovacron_pool_used_bytes{pool=\"local\",host=\"kvm1\"} ");   /* the spec StoragePool, per host */
	free(body);
	wait_rounds(port, 2);
	body = get(port, "/metrics");
	c1 = series(body, prefix);
	/* 2 vCPUs at 90 %: at least a second of CPU in 2 rounds (no wall-clock bound) */
	ck_assert_msg(c1 - c0 > 1.0, "web-1's CPU counter went from %f to %f", c0, c1);
	free(body);
	free(prefix);

	body = wait_body(port, "/status", "\"state\": \"firing\"", 20);
	HAS(body, "\"rule\": \"vm-cpu-busy\", \"state\": \"firing\", \"severity\": \"critical\", \"target\": \"vm\", "
		  "\"object\": \"web-1\"");
	HAS(body, "\"telemetry\": {\"enabled\": true, \"active\": true, \"interval\": 1,");
	free(body);
	nc_run_in(&r, tdir, "$NC status --url http://127.0.0.1:%d", port);
	HAS(r.out, "alert:       FIRING   critical vm-cpu-busy: vm web-1 on kvm");
	HAS(r.out, "telemetry:   a round every 1s, last ");
	nc_run_free(&r);
	body = get(port, "/metrics");
	HAS(body, "ALERTS{alertname=\"vm-cpu-busy\",alertstate=\"firing\"");
	free(body);
	nc_run_in(&r, tdir, "cat log");
	ck_assert_int_eq(count(r.out, "alert FIRING: vm-cpu-busy on vm web-1"), 1);
	nc_run_free(&r);
	ck_assert_msg(wait_got("\"event\": \"alert\"", 10) && wait_got("\"rule\": \"vm-cpu-busy\", \"state\": \"firing\"", 5),
		      "no firing notification: %s", got.buf);

	/* a reload (SIGHUP) keeps the alert states: nothing fires twice */
	ck_assert_int_eq(shq("kill -HUP $(cat pid)"), 0);
	free(wait_body(port, "/status", "\"telemetry\": {\"enabled\": true, \"active\": true", 10));
	wait_rounds(port, 2);
	body = get(port, "/status");
	HAS(body, "\"rule\": \"vm-cpu-busy\", \"state\": \"firing\"");
	free(body);

	/* the host goes down: gaps, not zeros; the alert holds */
	ck_assert_int_eq(shq("$NC sim --state-dir state %s down", host), 0);
	n0 = rounds(port);
	body = wait_body(port, "/status", "\"host_errors\": [{\"host\": \"kvm", 10);
	free(body);
	wait_rounds(port, 2);
	body = get(port, "/metrics");
	prefix = nc_xasprintf("novacron_host_stats_up{host=\"%s\"} 0\n", host);
	HAS(body, prefix);
	free(prefix);
	prefix = nc_xasprintf("novacron_telemetry_host_errors_total{host=\"%s\"} ", host);
	ck_assert_msg(series(body, prefix) >= 1, "%s", body);
	free(prefix);
	HASNT(body, "vm=\"web-1\"");
	HAS(body, "ALERTS{alertname=\"vm-cpu-busy\",alertstate=\"firing\"");
	free(body);
	ck_assert_int_ge(rounds(port) - n0, 2);
	ck_assert_int_eq(shq("$NC sim --state-dir state %s up", host), 0);
	free(wait_body(port, "/metrics", "vm=\"web-1\",managed=\"true\"} ", 10));
	wait_rounds(port, 2);
	nc_run_in(&r, tdir, "cat log");
	HAS(r.out, "SIGHUP: reloading");
	ck_assert_int_eq(count(r.out, "alert FIRING: vm-cpu-busy"), 1);
	ck_assert_int_eq(count(r.out, "alert resolved: vm-cpu-busy"), 0);
	nc_run_free(&r);

	/* back to 10 %: resolved, notified */
	ck_assert_int_eq(shq("$NC sim --state-dir state %s load web-1 cpu=0.1", host), 0);
	free(wait_body(port, "/status", "\"state\": \"resolved\"", 10));
	ck_assert_msg(wait_got("\"rule\": \"vm-cpu-busy\", \"state\": \"resolved\"", 10), "no resolved notification: %s",
		      got.buf);
	nc_run_in(&r, tdir, "cat log");
	ck_assert_int_eq(count(r.out, "alert resolved: vm-cpu-busy on vm web-1"), 1);
	nc_run_free(&r);
	pthread_mutex_lock(&got_mu);
	ck_assert_int_eq(count(got.buf, "\"state\": \"firing\""), 1);     /* once: not again after the gap or the reload */
	pthread_mutex_unlock(&got_mu);

	ck_assert_int_eq(shq("test -s state/telemetry/vm/web-1.rrd && test -s state/telemetry/host/%s.rrd", host), 0);
	/* SIGTERM stops it within a round; under ASan/UBSan its log shows what they found */
	ck_assert_int_eq(shq("kill $(cat pid); for i in $(seq 100); do kill -0 $(cat pid) 2>/dev/null || exit 0; "
			     "sleep 0.1; done; exit 1"), 0);
	nc_run_in(&r, tdir, "cat log");
	HAS(r.out, "novacron serve: stopping");
	HASNT(r.out, "runtime error");
	HASNT(r.out, "Sanitizer");
	nc_run_free(&r);
	MHD_stop_daemon(d);
}
END_TEST

/* serve --once runs one round after its pass (history written); telemetry.enabled: false none */
START_TEST(test_monitor_once_and_disabled)
{
	struct nc_run r;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && printf 'source:\\n  directory: %s/spec\\n"
			     "cacheDir: %s/cache\\nstateDir: %s/state\\nlisten: 127.0.0.1:0\\n' > serve.yaml && "
			     "cp serve.yaml off.yaml && printf 'telemetry:\\n  enabled: false\\n' >> off.yaml",
			     NC_SOURCE_DIR, tdir, tdir, tdir), 0);
	nc_run_in(&r, tdir, "$NC serve --config off.yaml --once");
	ck_assert_msg(r.status == 0, "%s", r.err);
	HAS(r.err, "telemetry: disabled (telemetry.enabled: false)");
	nc_run_free(&r);
	ck_assert_int_ne(shq("test -e state/telemetry"), 0);
	nc_run_in(&r, tdir, "$NC serve --config serve.yaml --once");
	ck_assert_msg(r.status == 0, "%s", r.err);
	HAS(r.err, "telemetry: a round every 15000 ms, 15000 ms per host, history in ");
	nc_run_free(&r);
	ck_assert_int_eq(shq("test -s state/telemetry/host/kvm1.rrd && test -s state/telemetry/vm/web-1.rrd"), 0);
}
END_TEST

/*
 * Two instances, one lease: the standby collects, stores and alerts
 * nothing (no cluster series, "active": false, no round) while the leader
 * does; when the leader stops, the other takes the lease and collects.
 */
START_TEST(test_monitor_standby_collects_nothing)
{
	int p1 = free_port(), p2 = free_port();
	char *body;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && for n in 1 2; do printf 'source:\\n  directory: %s/spec\\n"
			     "cacheDir: %s/cache$n\\nstateDir: %s/state\\nlisten: 127.0.0.1:%%s\\ntelemetry:\\n  interval: 1s\\n' "
			     "$([ $n = 1 ] && echo %d || echo %d) > s$n.yaml; done",
			     NC_SOURCE_DIR, tdir, tdir, tdir, p1, p2), 0);
	ck_assert_int_eq(shq("$NC serve --config s1.yaml >/dev/null 2>>log & echo $! > pid"), 0);
	free(wait_body(p1, "/metrics", "vm=\"web-1\",managed=\"true\"} ", 30));
	ck_assert_int_eq(shq("$NC serve --config s2.yaml >/dev/null 2>>log2 & echo $! > pid2"), 0);
	free(wait_body(p2, "/status", "\"lease\": \"held by ", 20));
	wait_rounds(p1, 2);
	body = get(p2, "/status");
	HAS(body, "\"leader\": false");
	HAS(body, "\"telemetry\": {\"enabled\": true, \"active\": false, \"interval\": 1, \"rounds\": 0,");
	free(body);
	body = get(p2, "/metrics");
	HAS(body, "novacron_telemetry_rounds_total 0\n");
	HASNT(body, "novacron_vm_");
	HASNT(body, "novacron_host_stats_up");
	free(body);
	/* the leader goes: the standby takes over and collects */
	ck_assert_int_eq(shq("kill $(cat pid); for i in $(seq 100); do kill -0 $(cat pid) 2>/dev/null || exit 0; "
			     "sleep 0.1; done; exit 1"), 0);
	free(wait_body(p2, "/metrics", "vm=\"web-1\",managed=\"true\"} ", 30));
	body = get(p2, "/status");
	HAS(body, "\"leader\": true");
	free(body);
	ck_assert_int_eq(shq("kill $(cat pid2)"), 0);
}
END_TEST

/* a serve log line is one line: a domain name with a line break (libvirt takes
 * "\r", its XML reads it back as "\n") or an escape sequence cannot forge lines */
START_TEST(test_monitor_log_one_line)
{
	char *path = nc_xasprintf("%s/log", tdir), *buf = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(STDERR_FILENO);
	size_t len = 0, lines = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	nc_serve_log("alert FIRING: r on vm %s (critical)", "x\r\n2026-12-07T11:54:31.004Z novacron serve: lease lost\x1b[2K\ttab\x7f");
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	ck_assert_int_eq(nc_read_file(path, 1 << 20, &buf, &len), 0);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	ck_assert_msg(lines == 1 && buf[len - 1] == '\n', "%s", buf);
	HAS(buf, " novacron serve: alert FIRING: r on vm x\\x0d\\x0a2026-12-07T11:54:31.004Z novacron serve: "
		 "lease lost\\x1b[2K\ttab\\x7f (critical)\n");
	free(buf);
	free(path);
}
END_TEST

/* history that is not kept (rrdcached configured but not running) shows in
 * /status, not only once in the log: "history" says only that it is configured */
START_TEST(test_monitor_history_error_in_status)
{
	int port = free_port();
	char *body;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && printf 'source:\\n  directory: %s/spec\\n"
			     "cacheDir: %s/cache\\nstateDir: %s/state\\ninterval: 1s\\nlisten: 127.0.0.1:%d\\n"
			     "telemetry:\\n  interval: 1s\\n  rrdcached: unix:%s/none.sock\\n' > serve.yaml",
			     NC_SOURCE_DIR, tdir, tdir, tdir, port, tdir), 0);
	ck_assert_int_eq(shq("$NC serve --config serve.yaml >/dev/null 2>>log & echo $! > pid"), 0);
	body = wait_body(port, "/status", "\"history_error\": \"history not kept: rrdcached unix:", 30);
	HAS(body, "\"history\": true, \"history_error\": \"history not kept: rrdcached unix:");
	HAS(body, "none.sock");
	free(body);
	ck_assert_int_eq(shq("kill $(cat pid)"), 0);
	/* without rrdcached: written, no error */
	ck_assert_int_eq(shq("sed -i '/rrdcached/d' serve.yaml && for i in $(seq 100); do kill -0 $(cat pid) 2>/dev/null "
			     "|| break; sleep 0.1; done; $NC serve --config serve.yaml >/dev/null 2>>log & echo $! > pid"), 0);
	body = wait_body(port, "/status", "\"telemetry\": {\"enabled\": true, \"active\": true, ", 30);
	HAS(body, "\"history\": true, \"history_error\": null, ");
	free(body);
	ck_assert_int_eq(shq("kill $(cat pid)"), 0);
}
END_TEST

static enum MHD_Result hostile_status(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version, const char *upload, size_t *size,
				      void **state)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	(void)size;
	(void)state;
	resp = MHD_create_response_from_buffer(strlen(cls), cls, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* `novacron status` prints names from the cluster (an unmanaged domain may be
 * named "x\rleader: ...") and summaries on their own line, escape sequences out */
START_TEST(test_monitor_status_cli_one_line)
{
	static const char body[] =
		"{\"leader\": true, \"lease\": \"held\", \"telemetry\": {\"enabled\": true, \"active\": true, "
		"\"interval\": 15, \"rounds\": 3, \"last_round\": 1795003585, \"seconds\": 0.031, \"history\": true, "
		"\"host_errors\": []}, \"alerts\": [{\"rule\": \"r\", \"state\": \"firing\", \"severity\": \"info\", "
		"\"target\": \"vm\", \"object\": \"tab\\there\\nleader:      forged\", \"host\": \"kvm1\", "
		"\"metric\": \"cpu_usage\", \"value\": 0, \"value_text\": \"0.0%\", \"active_since\": 1795003585, "
		"\"firing_since\": 1795003585, \"summary\": \"\\u001b[2Jcleared\\r\"}]}";
	int port = free_port();
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
						hostile_status, (void *)body, MHD_OPTION_END);
	struct nc_run r;

	ck_assert_ptr_nonnull(d);
	nc_run_in(&r, tdir, "$NC status --url http://127.0.0.1:%d", port);
	MHD_stop_daemon(d);
	HAS(r.out, "alert:       FIRING   info     r: vm tab?here?leader:      forged on kvm1, 0.0% since ");
	HAS(r.out, ": ?[2Jcleared?\n");
	HASNT(r.out, "\nleader:      forged");
	HASNT(r.out, "\x1b");
	nc_run_free(&r);
}
END_TEST

/* an anomaly check that fails (the history's anomaly/ cannot be made) is a gap and
 * said in serve's log: nothing called nc_alerts_errors(), so it went unreported */
START_TEST(test_monitor_anomaly_error_logged)
{
	struct nc_run r;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && printf '%%s\\n' 'apiVersion: novacron.io/v1' "
			     "'kind: AlertRule' 'metadata: {name: host-mem-anomaly}' 'spec:' '  target: host' "
			     "'  metric: memory_total_bytes' '  anomaly: {season: 1h}' '  severity: info' > spec/alert.yaml && "
			     "printf 'source:\\n  directory: %s/spec\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
			     "listen: 127.0.0.1:0\\n' > serve.yaml && mkdir -p state/telemetry && "
			     "echo not-a-directory > state/telemetry/anomaly", NC_SOURCE_DIR, tdir, tdir, tdir), 0);
	nc_run_in(&r, tdir, "$NC serve --config serve.yaml --once");
	ck_assert_msg(r.status == 0, "%s", r.err);
	HAS(r.err, "telemetry: anomaly check failed (a gap; others may have too): AlertRule host-mem-anomaly, host kvm");
	HAS(r.err, "/state/telemetry/anomaly/");
	nc_run_free(&r);
}
END_TEST

/* telemetry.anomalyDiskLimit reaches the store: a 7d season's file (2.6 MB at 15 s) passes 1MiB */
START_TEST(test_monitor_anomaly_disk_limit)
{
	struct nc_run r;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && printf '%%s\\n' 'apiVersion: novacron.io/v1' "
			     "'kind: AlertRule' 'metadata: {name: host-mem-anomaly}' 'spec:' '  target: host' "
			     "'  metric: memory_used_bytes' '  anomaly: {season: 7d}' '  severity: info' > spec/alert.yaml && "
			     "printf 'source:\\n  directory: %s/spec\\ncacheDir: %s/cache\\nstateDir: %s/state\\n"
			     "listen: 127.0.0.1:0\\ntelemetry:\\n  anomalyDiskLimit: 1MiB\\n' > serve.yaml",
			     NC_SOURCE_DIR, tdir, tdir, tdir), 0);
	nc_run_in(&r, tdir, "$NC serve --config serve.yaml --once");
	ck_assert_msg(r.status == 0, "%s", r.err);
	HAS(r.err, "telemetry: anomaly check failed (a gap; others may have too): AlertRule host-mem-anomaly, host kvm");
	HAS(r.err, "the anomaly files would pass 1 MiB");
	nc_run_free(&r);
	ck_assert_int_eq(shq("test -z \"$(ls state/telemetry/anomaly 2>/dev/null)\""), 0);
	/* a limit below 1MiB is refused */
	ck_assert_int_eq(shq("sed -i 's/1MiB/1KiB/' serve.yaml"), 0);
	nc_run_in(&r, tdir, "$NC serve --config serve.yaml --once");
	ck_assert_int_eq(r.status, 1);
	HAS(r.err, "anomalyDiskLimit");
	nc_run_free(&r);
}
END_TEST

Suite *nc_suite_monitor(void)
{
	Suite *s = suite_create("monitor");
	TCase *tc = tcase_create("monitor");

	tcase_add_unchecked_fixture(tc, registry_setup, registry_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_monitor_exposition);
	tcase_add_test(tc, test_monitor_exposition_empty);
	tcase_add_test(tc, test_monitor_config_checked);
	tcase_add_test(tc, test_monitor_dist);
	tcase_add_test(tc, test_monitor_serve_sim);
	tcase_add_test(tc, test_monitor_once_and_disabled);
	tcase_add_test(tc, test_monitor_standby_collects_nothing);
	tcase_add_test(tc, test_monitor_log_one_line);
	tcase_add_test(tc, test_monitor_history_error_in_status);
	tcase_add_test(tc, test_monitor_status_cli_one_line);
	tcase_add_test(tc, test_monitor_anomaly_error_logged);
	tcase_add_test(tc, test_monitor_anomaly_disk_limit);
	suite_add_tcase(s, tc);
	return s;
}
