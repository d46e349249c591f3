/*
 * test_alerts.c - AlertRule: the kind (parse and validate, with positions
 * and did-you-mean), evaluation (telemetry/alerts.c: pending, firing,
 * resolved, gaps, removed rules and objects, JSON and Prometheus), and the
 * notifications of alerts in the three payload formats, received by a real
 * HTTP listener (reconciler/notify.c).
 */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../reconciler/serve.h"
#include "../spec/model.h"
#include "../telemetry/alerts.h"
#include "tests.h"
#include "testutil.h"

#define RULE(name) "---\napiVersion: novacron.io/v1\nkind: AlertRule\nmetadata:\n  name: " name "\nspec:\n"
#define HOST(name, labels) "---\napiVersion: novacron.io/v1\nkind: Host\nmetadata:\n  name: " name \
	"\n  labels: " labels "\nspec:\n  uri: sim:///" name "\n"

static char *diags_of(const char *yaml)
{
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	struct nc_buf b = NC_BUF_INIT;

	nc_diags_init(&d);
	nc_spec_load_buffer(&spec, "t.yaml", yaml, strlen(yaml), NULL, &d);
	nc_diags_format_text(&d, &b, 0);
	nc_diags_release(&d);
	nc_spec_free(spec);
	return nc_buf_detach(&b, NULL);
}

static struct nc_spec *load_ok(const char *yaml)
{
	struct nc_diags d;
	struct nc_spec *spec = NULL;
	struct nc_buf b = NC_BUF_INIT;

	nc_diags_init(&d);
	nc_spec_load_buffer(&spec, "t.yaml", yaml, strlen(yaml), NULL, &d);
	nc_diags_format_text(&d, &b, 0);
	ck_assert_msg(d.errors == 0, "spec has errors:\n%s", b.buf);
	nc_buf_release(&b);
	nc_diags_release(&d);
	return spec;
}

/* ---- the kind ---- */

START_TEST(test_alert_rule_errors)
{
	char *got = diags_of(
		RULE("mem")
		"  target: host\n"
		"  metric: memory_used_ratoi\n"                         /* line 8 */
		"  threshold: {op: \">\", value: 0.9}\n"
		"  summary: \"{{ object }} memory at {{ valeu }}\"\n"   /* line 10 */
		RULE("cpu")
		"  target: vm\n"
		"  metric: cpus\n"                                      /* line 18 */
		"  anomaly: {season: 8d, window: 5, failures: 7}\n"     /* line 19 */
		"  threshold: {op: \">\", value: 1}\n"
		"  severity: critcal\n"                                 /* line 21 */
		"  for: 25h\n"
		RULE("none")
		"  target: pool\n"
		"  metric: used_ratio\n"
		RULE("where")
		"  target: pool\n"
		"  metric: vcpus\n"
		"  threshold: {op: \"=>\", value: 1}\n"
		"  anomaly: {season: 30s}\n");

	HAS(got, "t.yaml:8:11: error: unknown host metric 'memory_used_ratoi'; did you mean 'memory_used_ratio'?\n");
	HAS(got, "t.yaml:10:36: error: invalid summary '{{ object }} memory at {{ valeu }}': unknown placeholder "
		 "'{{ valeu }}' (expected object, value, threshold, host, rule, metric, target or severity)\n");
	HAS(got, "t.yaml:18:11: error: unknown vm metric 'cpus'; did you mean 'vcpus'?\n");
	HAS(got, "t.yaml:19:12: error: AlertRule 'cpu' has both threshold and anomaly; give exactly one\n");
	HAS(got, "t.yaml:19:21: error: AlertRule 'cpu': season longer than the kept history (7d)\n");
	HAS(got, "t.yaml:19:46: error: AlertRule 'cpu': failures (7) must be at most window (5)\n");
	HAS(got, "t.yaml:21:13: error: invalid value 'critcal' for 'severity'; did you mean 'critical'?\n");
	HAS(got, "t.yaml:22:8: error: 'for' must be between 0ms and 86400000ms, found 25h\n");
	HAS(got, "t.yaml:29:3: error: AlertRule 'none' needs a condition: threshold or anomaly\n");
	HAS(got, "error: unknown pool metric 'vcpus': it is a vm metric (pool metrics: capacity");
	HAS(got, "error: invalid value '=>' for 'op'; did you mean '>'?\n");
	HAS(got, "error: AlertRule 'where': season must be at least 1m\n");
	free(got);

	/* a good rule loads without a word; a ratio written as a percentage is a warning */
	got = diags_of(RULE("ok") "  target: host\n  metric: memory_used_ratio\n"
		       "  threshold: {op: \">\", value: 0.9}\n  for: 5m\n  severity: critical\n"
		       "  summary: '{{object}} at {{ value }} (limit {{ threshold }})'\n"
		       RULE("anom") "  target: vm\n  metric: cpu_usage\n  anomaly: {season: 1d}\n"
		       RULE("pct") "  target: pool\n  metric: used_ratio\n  threshold: {op: \">=\", value: 85}\n");
	ck_assert_str_eq(got, "t.yaml:30:32: warning: AlertRule 'pct': used_ratio is a ratio (0 to 1) and 85 is "
			      "outside it: for 85 % write 0.85\n");
	free(got);
}
END_TEST

START_TEST(test_alert_rule_selector_matches_nothing)
{
	char *got = diags_of(HOST("kvm1", "{rack: r1}")
			     RULE("r2-hosts") "  target: host\n  selector: {matchLabels: {rack: r2}}\n"
			     "  metric: up\n  threshold: {op: \"<\", value: 1}\n"
			     RULE("r1-hosts") "  target: host\n  selector: {matchLabels: {rack: r1}}\n"
			     "  metric: up\n  threshold: {op: \"<\", value: 1}\n");

	ck_assert_str_eq(got, "t.yaml:16:13: warning: AlertRule 'r2-hosts': the selector matches none of the 1 host "
			      "of the spec\n");
	free(got);
}
END_TEST

/* no template can do more than fill in its placeholders */
START_TEST(test_alert_template)
{
	const char *vals[NC_PH__COUNT] = { "web-1", "93.0%", "90.0%", "kvm1", "r", "cpu_usage", "vm", "info" };
	struct nc_buf b = NC_BUF_INIT;
	size_t off;
	const char *why;
	char buf[200];

	ck_assert_int_eq(nc_alert_template_check("{{object}} {{ value }} $(id) `id` {{ host }} {x} }}", &off, &why,
						 buf, sizeof(buf)), 0);
	nc_alert_template_expand(&b, "{{object}} {{ value }} $(id) `id` {{ host }} {x} }}", vals);
	ck_assert_str_eq(b.buf, "web-1 93.0% $(id) `id` kvm1 {x} }}");
	nc_buf_release(&b);
	ck_assert_int_eq(nc_alert_template_check("a {{ file:/etc/passwd }}", &off, &why, buf, sizeof(buf)), -1);
	ck_assert_uint_eq(off, 2);
	ck_assert_int_eq(nc_alert_template_check("ok {{ value", &off, &why, buf, sizeof(buf)), -1);
	ck_assert_str_eq(why, "'{{' without a closing '}}'");
	ck_assert_int_eq(nc_alert_template_check("a\nb", &off, &why, buf, sizeof(buf)), -1);
	ck_assert_uint_eq(off, 1);
}
END_TEST

START_TEST(test_alert_format_value)
{
	char b[64];

	nc_alert_format_value(b, sizeof(b), NC_MU_RATIO, 0.935);
	ck_assert_str_eq(b, "93.5%");
	nc_alert_format_value(b, sizeof(b), NC_MU_BYTES, 7.5 * 1024 * 1024 * 1024);
	ck_assert_str_eq(b, "7.5 GiB");
	nc_alert_format_value(b, sizeof(b), NC_MU_BYTES, 512);
	ck_assert_str_eq(b, "512 B");
	nc_alert_format_value(b, sizeof(b), NC_MU_BYTES_PER_S, 3 * 1024 * 1024);
	ck_assert_str_eq(b, "3.0 MiB/s");
	nc_alert_format_value(b, sizeof(b), NC_MU_OPS_PER_S, 120);
	ck_assert_str_eq(b, "120.0 ops/s");
	nc_alert_format_value(b, sizeof(b), NC_MU_COUNT, NAN);
	ck_assert_str_eq(b, "unknown");
}
END_TEST

/* ---- evaluation on hand-made rounds ---- */

struct round {
	struct nc_tm_round r;
	size_t alloc;
};

static struct nc_tm_object *add_obj(struct round *rd, enum nc_metric_target t, const char *name, const char *host)
{
	struct nc_tm_object *o;
	size_t i;

	if (rd->r.nobjs == rd->alloc) {
		rd->alloc = rd->alloc ? rd->alloc * 2 : 16;
		rd->r.objs = nc_xreallocarray(rd->r.objs, rd->alloc, sizeof(*rd->r.objs));
	}
	o = &rd->r.objs[rd->r.nobjs++];
	memset(o, 0, sizeof(*o));
	o->target = t;
	o->name = nc_xstrdup(name);
	o->host = host ? nc_xstrdup(host) : NULL;
	o->id = t == NC_MT_POOL && host ? nc_xasprintf("%s@%s", name, host) : nc_xstrdup(name);
	for (i = 0; i < NC_METRICS_MAX; i++)
		o->v[i] = NAN;
	return o;
}

static void round_free(struct round *rd)
{
	size_t i;

	for (i = 0; i < rd->r.nobjs; i++) {
		free(rd->r.objs[i].name);
		free(rd->r.objs[i].host);
		free(rd->r.objs[i].id);
	}
	free(rd->r.objs);
	memset(rd, 0, sizeof(*rd));
}

/* a round at t: hosts kvm1, kvm2 (up, memory used mem1/mem2), VM web-1 on kvm1 (cpu) */
static void make_round(struct round *rd, time_t t, double mem1, double mem2, double cpu, bool kvm1_up)
{
	struct nc_tm_object *o;

	memset(rd, 0, sizeof(*rd));
	rd->r.t = t;
	o = add_obj(rd, NC_MT_HOST, "kvm1", NULL);
	o->v[NC_HM_UP] = kvm1_up ? 1 : 0;
	o->v[NC_HM_MEMORY_USED_RATIO] = kvm1_up ? mem1 : NAN;
	o = add_obj(rd, NC_MT_HOST, "kvm2", NULL);
	o->v[NC_HM_UP] = 1;
	o->v[NC_HM_MEMORY_USED_RATIO] = mem2;
	if (kvm1_up) {
		o = add_obj(rd, NC_MT_VM, "web-1", "kvm1");
		o->v[NC_VM_RUNNING] = 1;
		o->v[NC_VM_CPU_USAGE] = cpu;
	}
}

static const char *const spec_two_hosts =
	HOST("kvm1", "{rack: r1}")
	HOST("kvm2", "{rack: r2}")
	RULE("host-memory-high")
	"  target: host\n  metric: memory_used_ratio\n  threshold: {op: \">\", value: 0.9}\n  for: 5m\n"
	"  summary: '{{ object }} memory at {{ value }}'\n"
	RULE("vm-cpu-busy")
	"  target: vm\n  metric: cpu_usage\n  threshold: {op: \">=\", value: 0.95}\n  severity: info\n";

/* one round: evaluates and returns the events' lines "STATE RULE OBJECT SUMMARY", one each */
static char *step(struct nc_alerts *a, const struct nc_spec *spec, struct round *rd)
{
	struct nc_alert_event *ev = NULL;
	size_t nev = 0, i;
	struct nc_buf b = NC_BUF_INIT;

	nc_alerts_eval(a, spec, &rd->r, NULL, &ev, &nev);
	for (i = 0; i < nev; i++) {
		ck_assert_int_eq(ev[i].at, rd->r.t);
		nc_buf_addf(&b, "%s %s %s: %s\n", nc_alert_state_name(ev[i].state), ev[i].rule, ev[i].object,
			    ev[i].summary);
	}
	nc_alert_events_release(ev, nev);
	round_free(rd);
	return nc_buf_detach(&b, NULL);
}

#define STEP_EXPECT(a, spec, t, m1, m2, cpu, up, want) do { \
		struct round rd_; \
		char *got_; \
		make_round(&rd_, (t), (m1), (m2), (cpu), (up)); \
		got_ = step((a), (spec), &rd_); \
		ck_assert_msg(strcmp(got_, (want)) == 0, "round at %d: want '%s' got '%s'", (int)(t), (want), got_); \
		free(got_); \
	} while (0)

START_TEST(test_alert_threshold_for)
{
	struct nc_spec *spec = load_ok(spec_two_hosts);
	struct nc_alerts *a = nc_alerts_new();
	size_t pending, firing;
	time_t t0 = 1700000000;
	int i;
	struct nc_buf b = NC_BUF_INIT;

	STEP_EXPECT(a, spec, t0, 0.5, 0.5, 0.1, true, "");
	/* over the limit at t0+15: pending, for 5 minutes of rounds */
	STEP_EXPECT(a, spec, t0 + 15, 0.95, 0.5, 0.1, true, "");
	nc_alerts_counts(a, &pending, &firing);
	ck_assert_uint_eq(pending, 1);
	ck_assert_uint_eq(firing, 0);
	for (i = 2; i < 21; i++)
		STEP_EXPECT(a, spec, t0 + 15 * i, 0.95, 0.5, 0.1, true, "");
	/* 300 s after it began: firing, once */
	STEP_EXPECT(a, spec, t0 + 15 * 21, 0.96, 0.5, 0.1, true,
		    "firing host-memory-high kvm1: kvm1 memory at 96.0%\n");
	STEP_EXPECT(a, spec, t0 + 15 * 22, 0.97, 0.5, 0.1, true, "");
	nc_alerts_counts(a, &pending, &firing);
	ck_assert_uint_eq(pending, 0);
	ck_assert_uint_eq(firing, 1);
	/* for: 0 fires at once; the default summary says what and how */
	STEP_EXPECT(a, spec, t0 + 15 * 23, 0.97, 0.5, 0.99, true,
		    "firing vm-cpu-busy web-1: vm web-1: cpu_usage 99.0% >= 95.0%\n");
	/* kvm1 does not answer: its value is a gap and web-1 is missing: both alerts stay */
	for (i = 24; i < 30; i++)
		STEP_EXPECT(a, spec, t0 + 15 * i, NAN, 0.5, NAN, false, "");
	nc_alerts_counts(a, &pending, &firing);
	ck_assert_uint_eq(firing, 2);
	/* back, and both clear: resolved, once each */
	STEP_EXPECT(a, spec, t0 + 15 * 30, 0.5, 0.5, 0.2, true,
		    "resolved host-memory-high kvm1: kvm1 memory at 50.0%\n"
		    "resolved vm-cpu-busy web-1: vm web-1: cpu_usage 20.0% >= 95.0%\n");
	STEP_EXPECT(a, spec, t0 + 15 * 31, 0.5, 0.5, 0.2, true, "");
	nc_alerts_json(a, &b);
	HAS(b.buf, "{\"rule\": \"host-memory-high\", \"state\": \"resolved\", \"severity\": \"warning\", "
		   "\"target\": \"host\", \"object\": \"kvm1\", \"host\": null, \"metric\": \"memory_used_ratio\", "
		   "\"value\": 0.5, \"value_text\": \"50.0%\", \"active_since\": 1700000015, \"firing_since\": "
		   "1700000315, \"resolved_at\": 1700000450, \"summary\": \"kvm1 memory at 50.0%\"}");
	HAS(b.buf, "\"rule\": \"vm-cpu-busy\", \"state\": \"resolved\", \"severity\": \"info\", \"target\": \"vm\", "
		   "\"object\": \"web-1\", \"host\": \"kvm1\"");
	nc_buf_reset(&b);
	/* kept visible for 15 minutes, then dropped */
	STEP_EXPECT(a, spec, t0 + 15 * 30 + 899, 0.5, 0.5, 0.2, true, "");
	nc_alerts_json(a, &b);
	HAS(b.buf, "resolved");
	nc_buf_reset(&b);
	STEP_EXPECT(a, spec, t0 + 15 * 30 + 900, 0.5, 0.5, 0.2, true, "");
	nc_alerts_json(a, &b);
	ck_assert_str_eq(b.buf, "[]");
	nc_buf_release(&b);
	/* pending that clears before its time never fires nor resolves */
	STEP_EXPECT(a, spec, t0 + 2000, 0.95, 0.5, 0.1, true, "");
	STEP_EXPECT(a, spec, t0 + 2015, 0.5, 0.5, 0.1, true, "");
	nc_alerts_counts(a, &pending, &firing);
	ck_assert_uint_eq(pending + firing, 0);
	nc_alerts_free(a);
	nc_spec_free(spec);
}
END_TEST

/* a gap while pending keeps it pending: it fires once the condition has held for its time */
START_TEST(test_alert_gap_keeps_pending)
{
	struct nc_spec *spec = load_ok(spec_two_hosts);
	struct nc_alerts *a = nc_alerts_new();
	time_t t0 = 1700000000;

	STEP_EXPECT(a, spec, t0, 0.95, 0.5, 0.1, true, "");
	STEP_EXPECT(a, spec, t0 + 100, NAN, 0.5, 0.1, false, "");
	STEP_EXPECT(a, spec, t0 + 299, NAN, 0.5, 0.1, false, "");
	STEP_EXPECT(a, spec, t0 + 300, 0.95, 0.5, 0.1, true, "firing host-memory-high kvm1: kvm1 memory at 95.0%\n");
	nc_alerts_free(a);
	nc_spec_free(spec);
}
END_TEST

/* a rule removed, a VM gone while its host answers, a selector that no longer selects: resolved once */
START_TEST(test_alert_removed)
{
	struct nc_spec *spec = load_ok(spec_two_hosts);
	struct nc_spec *spec2 = load_ok(HOST("kvm1", "{rack: r1}") HOST("kvm2", "{rack: r2}")
					RULE("vm-cpu-busy") "  target: vm\n  metric: cpu_usage\n"
					"  threshold: {op: \">=\", value: 0.95}\n");
	struct nc_spec *spec3 = load_ok(HOST("kvm1", "{rack: r1}") HOST("kvm2", "{rack: r2}")
					RULE("vm-cpu-busy") "  target: vm\n  metric: cpu_usage\n"
					"  selector: {matchLabels: {tier: db}}\n"
					"  threshold: {op: \">=\", value: 0.95}\n");
	struct nc_alerts *a = nc_alerts_new();
	struct round rd;
	char *got;
	struct nc_buf b = NC_BUF_INIT;
	time_t t0 = 1700000000;

	STEP_EXPECT(a, spec, t0, 0.95, 0.5, 0.99, true, "firing vm-cpu-busy web-1: vm web-1: cpu_usage 99.0% >= 95.0%\n");
	STEP_EXPECT(a, spec, t0 + 300, 0.95, 0.5, 0.99, true, "firing host-memory-high kvm1: kvm1 memory at 95.0%\n");
	/* the rule is gone from the spec */
	STEP_EXPECT(a, spec2, t0 + 315, 0.95, 0.5, 0.99, true, "resolved host-memory-high kvm1: kvm1 memory at 95.0%\n");
	STEP_EXPECT(a, spec2, t0 + 330, 0.95, 0.5, 0.99, true, "");
	/* web-1 gone while kvm1 answers */
	make_round(&rd, t0 + 345, 0.5, 0.5, 0.99, true);
	rd.r.nobjs = 2;
	free(rd.r.objs[2].name);
	free(rd.r.objs[2].host);
	free(rd.r.objs[2].id);
	got = step(a, spec2, &rd);
	ck_assert_str_eq(got, "resolved vm-cpu-busy web-1: vm web-1: cpu_usage 99.0% >= 95.0%\n");
	free(got);
	/* back and busy: fires again; then the selector stops selecting it (web-1 is not a declared VM) */
	STEP_EXPECT(a, spec2, t0 + 360, 0.5, 0.5, 0.99, true, "firing vm-cpu-busy web-1: vm web-1: cpu_usage 99.0% >= 95.0%\n");
	STEP_EXPECT(a, spec3, t0 + 375, 0.5, 0.5, 0.99, true, "resolved vm-cpu-busy web-1: vm web-1: cpu_usage 99.0% >= 95.0%\n");
	STEP_EXPECT(a, spec3, t0 + 390, 0.5, 0.5, 0.99, true, "");
	nc_alerts_metrics(a, &b);
	HASNT(b.buf, "ALERTS{");
	HAS(b.buf, "novacron_alerts_firing 0\n");
	nc_buf_release(&b);
	nc_alerts_free(a);
	nc_spec_free(spec);
	nc_spec_free(spec2);
	nc_spec_free(spec3);
}
END_TEST

/* selectors: hosts by their labels, VMs by their effective labels; names escaped in /metrics */
START_TEST(test_alert_selectors_and_metrics)
{
	struct nc_spec *spec = load_ok(
		HOST("kvm1", "{rack: r1}") HOST("kvm2", "{rack: r2}")
		"---\napiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: web-1, labels: {tier: web}}\n"
		"spec: {vcpus: 1, memory: 1GiB}\n"
		RULE("r2-memory") "  target: host\n  selector: {matchLabels: {rack: r2}}\n  metric: memory_used_ratio\n"
		"  threshold: {op: \">\", value: 0.1}\n  severity: critical\n"
		RULE("web-cpu") "  target: vm\n  selector: {matchLabels: {tier: web}}\n  metric: cpu_usage\n"
		"  threshold: {op: \">\", value: 0.5}\n  for: 1m\n");
	struct nc_alerts *a = nc_alerts_new();
	struct nc_buf b = NC_BUF_INIT;
	struct round rd;
	char *got;
	struct nc_tm_object *o;
	time_t t0 = 1700000000;

	/* kvm1 is over the limit too but not selected; an unmanaged VM (no labels) is not selected */
	make_round(&rd, t0, 0.95, 0.5, 0.99, true);
	o = add_obj(&rd, NC_MT_VM, "x\"y\\z", "kvm2");
	o->v[NC_VM_CPU_USAGE] = 1;
	got = step(a, spec, &rd);
	ck_assert_str_eq(got, "firing r2-memory kvm2: host kvm2: memory_used_ratio 50.0% > 10.0%\n");
	free(got);
	nc_alerts_metrics(a, &b);
	ck_assert_str_eq(b.buf,
		"# HELP ALERTS Pending and firing NovaCron alerts (AlertRules), one series each.\n"
		"# TYPE ALERTS gauge\n"
		"ALERTS{alertname=\"r2-memory\",alertstate=\"firing\",severity=\"critical\",target=\"host\",object=\"kvm2\"} 1\n"
		"ALERTS{alertname=\"web-cpu\",alertstate=\"pending\",severity=\"warning\",target=\"vm\",object=\"web-1\",host=\"kvm1\"} 1\n"
		"# HELP novacron_alerts_firing Alerts firing now.\n# TYPE novacron_alerts_firing gauge\n"
		"novacron_alerts_firing 1\n"
		"# HELP novacron_alerts_pending Alerts whose condition holds, waiting out their rule's for.\n"
		"# TYPE novacron_alerts_pending gauge\nnovacron_alerts_pending 1\n");
	nc_buf_release(&b);
	nc_alerts_free(a);
	nc_spec_free(spec);

	/* with no selector, every VM is watched, undeclared ones too, and labels are escaped */
	spec = load_ok(RULE("any-cpu") "  target: vm\n  metric: cpu_usage\n  threshold: {op: \">\", value: 0.5}\n");
	a = nc_alerts_new();
	make_round(&rd, t0, 0.95, 0.5, 0.1, true);
	o = add_obj(&rd, NC_MT_VM, "x\"y\\z\nw", "kvm2");
	o->v[NC_VM_CPU_USAGE] = 1;
	got = step(a, spec, &rd);
	ck_assert_str_eq(got, "firing any-cpu x\"y\\z\nw: vm x\"y\\z\nw: cpu_usage 100.0% > 50.0%\n");
	free(got);
	nc_alerts_metrics(a, &b);
	HAS(b.buf, "ALERTS{alertname=\"any-cpu\",alertstate=\"firing\",severity=\"warning\",target=\"vm\","
		   "object=\"x\\\"y\\\\z\\nw\",host=\"kvm2\"} 1\n");
	nc_buf_reset(&b);
	nc_alerts_json(a, &b);
	HAS(b.buf, "\"object\": \"x\\\"y\\\\z\\nw\"");
	nc_buf_release(&b);
	nc_alerts_free(a);
	nc_spec_free(spec);
}
END_TEST

/* ---- anomaly rules on a real Holt-Winters RRD (telemetry/store.c) ---- */

/* a daily-like cycle of one season, CPU between 0.3 and 0.7, plus deterministic noise */
static double cycle(unsigned k, unsigned season, unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return 0.5 + 0.2 * sin(2 * M_PI * k / season) + (double)((*seed >> 16) % 1000) / 100000.0;
}

/* N: a spike is reported within the FAILURES window of its start */
#define NC_ALERT_ANOMALY_N 9

START_TEST(test_alert_anomaly)
{
	char dir[] = "/tmp/nc-alerts-XXXXXX", *cmd;
	struct nc_tm_store *st = NULL;
	struct nc_tm_store_opts so = { .step = 15 };
	struct nc_err err = { "" };
	struct nc_spec *spec = load_ok(RULE("vm-cpu-anomaly") "  target: vm\n  metric: cpu_usage\n"
				       "  anomaly: {season: 15m}\n  severity: warning\n");
	struct nc_alerts *a = nc_alerts_new();
	const unsigned season = 60, at = 4 * 60 + 10;   /* 15m at 15 s; the spike 10 rounds into the 5th season */
	unsigned seed1 = 1, seed2 = 7, k, fired = 0, resolved = 0;
	struct nc_run r;
	char why[300];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	so.dir = dir;
	ck_assert_msg(nc_tm_store_open(&st, &so, &err) == 0, "%s", err.msg);
	nc_alerts_set_step(a, 15);
	for (k = 1; k <= 6 * season; k++) {
		struct round rd;
		struct nc_tm_object *o;
		struct nc_alert_event *ev = NULL;
		size_t nev = 0, i;

		memset(&rd, 0, sizeof(rd));
		rd.r.t = 1700000040 + 15 * (time_t)k;
		o = add_obj(&rd, NC_MT_HOST, "kvm1", NULL);
		o->v[NC_HM_UP] = 1;
		o = add_obj(&rd, NC_MT_VM, "clean", "kvm1");
		o->v[NC_VM_CPU_USAGE] = cycle(k, season, &seed1);
		o = add_obj(&rd, NC_MT_VM, "spiked", "kvm1");
		o->v[NC_VM_CPU_USAGE] = cycle(k, season, &seed2) + (k >= at && k < at + 12 ? 0.4 : 0);
		nc_alerts_eval(a, spec, &rd.r, st, &ev, &nev);
		ck_assert_uint_eq(nc_alerts_errors(a, why, sizeof(why)), 0);
		for (i = 0; i < nev; i++) {
			ck_assert_msg(strcmp(ev[i].object, "spiked") == 0, "round %u: %s %s", k, ev[i].object,
				      nc_alert_state_name(ev[i].state));
			if (ev[i].state == NC_ALERT_FIRING && !fired)
				fired = k;
			if (ev[i].state == NC_ALERT_RESOLVED && !resolved)
				resolved = k;
		}
		nc_alert_events_release(ev, nev);
		round_free(&rd);
	}
	ck_assert_msg(fired >= at && fired < at + NC_ALERT_ANOMALY_N, "spike at round %u fired at %u", at, fired);
	/* resolved once Holt-Winters has caught up again (here round 301: the spike pushed its level
	 * and trend up, and values back to normal read low for a while) */
	ck_assert_msg(resolved > at + 12, "resolved at round %u", resolved);
	/* 300 VMs: 256 Holt-Winters series are started in the first round, the rest in the next */
	{
		struct nc_spec *sp = load_ok(RULE("many") "  target: vm\n  metric: cpu_usage\n  anomaly: {season: 1m}\n");
		struct nc_alerts *b = nc_alerts_new();
		int round;

		for (round = 0; round < 2; round++) {
			struct round rd;
			struct nc_alert_event *ev = NULL;
			size_t nev = 0, i;
			char *ls;

			memset(&rd, 0, sizeof(rd));
			rd.r.t = 1800000000 + 15 * round;
			add_obj(&rd, NC_MT_HOST, "kvm1", NULL)->v[NC_HM_UP] = 1;
			for (i = 0; i < 300; i++) {
				char name[16];

				snprintf(name, sizeof(name), "vm%03zu", i);
				add_obj(&rd, NC_MT_VM, name, "kvm1")->v[NC_VM_CPU_USAGE] = 0.5;
			}
			nc_alerts_eval(b, sp, &rd.r, st, &ev, &nev);
			ck_assert_uint_eq(nc_alerts_errors(b, why, sizeof(why)), 0);
			nc_alert_events_release(ev, nev);
			round_free(&rd);
			ls = nc_xasprintf("ls '%s/anomaly' | grep -c rrd$", dir);
			nc_run_shell(&r, ls);
			/* the 2 series of the test above, then 256, then all 300 */
			ck_assert_str_eq(r.out, round == 0 ? "258\n" : "302\n");
			nc_run_free(&r);
			free(ls);
		}
		nc_alerts_free(b);
		nc_spec_free(sp);
	}
	/* without a store an anomaly rule stays inactive */
	{
		struct round rd;
		struct nc_alert_event *ev = NULL;
		size_t nev = 0, pending, firing;
		struct nc_alerts *b = nc_alerts_new();

		make_round(&rd, 1700000000, 0.5, 0.5, 5, true);
		nc_alerts_eval(b, spec, &rd.r, NULL, &ev, &nev);
		ck_assert_uint_eq(nev, 0);
		nc_alerts_counts(b, &pending, &firing);
		ck_assert_uint_eq(pending + firing, 0);
		round_free(&rd);
		nc_alerts_free(b);
	}
	nc_tm_store_close(st);
	nc_alerts_free(a);
	nc_spec_free(spec);
	cmd = nc_xasprintf("rm -rf '%s'", dir);
	nc_run_shell(&r, cmd);
	nc_run_free(&r);
	free(cmd);
}
END_TEST

/* ---- notifications, received by a real HTTP listener in this process ---- */

static pthread_mutex_t got_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nc_buf got = NC_BUF_INIT;      /* "PATH AUTHORIZATION\nBODY\n" per request */
static int got_n;

struct upload {
	struct nc_buf body;
};

static enum MHD_Result receive(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *data, size_t *size, void **state)
{
	struct upload *u = *state;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *auth;

	(void)cls;
	(void)method;
	(void)version;
	if (!u) {
		u = nc_xcalloc(1, sizeof(*u));
		nc_buf_init(&u->body);
		*state = u;
		return MHD_YES;
	}
	if (*size) {
		nc_buf_add(&u->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	pthread_mutex_lock(&got_mu);
	nc_buf_addf(&got, "%s %s\n%s", url, auth ? auth : "-", u->body.buf);
	got_n++;
	pthread_mutex_unlock(&got_mu);
	nc_buf_release(&u->body);
	free(u);
	*state = NULL;
	resp = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

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

/* the body received at path (the first one), or NULL; caller frees */
static char *body_at(const char *path)
{
	char *want = nc_xasprintf("%s ", path), *p, *end, *r = NULL;

	pthread_mutex_lock(&got_mu);
	for (p = got.buf; p && (p = strstr(p, want)); p++) {
		if (p != got.buf && p[-1] != '\n')
			continue;
		p = strchr(p, '\n') + 1;
		end = strstr(p, "}\n");
		r = end ? nc_xstrndup(p, (size_t)(end + 1 - p)) : nc_xstrdup(p);
		break;
	}
	pthread_mutex_unlock(&got_mu);
	free(want);
	return r;
}

static void wait_bodies(int n)
{
	int i, have = 0;

	for (i = 0; i < 200 && have < n; i++) {
		pthread_mutex_lock(&got_mu);
		have = got_n;
		pthread_mutex_unlock(&got_mu);
		if (have < n)
			usleep(50000);
	}
	nc_notify_drain(10000);
}

/* a slow receiver: how many requests it holds at once, at most, and how many it had */
static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static int slow_now, slow_max, slow_done;

static enum MHD_Result slow_receive(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				    const char *version, const char *upload, size_t *size, void **state)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (!*state) {
		*state = conn;
		pthread_mutex_lock(&slow_mu);
		if (++slow_now > slow_max)
			slow_max = slow_now;
		pthread_mutex_unlock(&slow_mu);
		return MHD_YES;
	}
	if (*size) {
		*size = 0;
		return MHD_YES;
	}
	usleep(100000);
	pthread_mutex_lock(&slow_mu);
	slow_now--;
	slow_done++;
	pthread_mutex_unlock(&slow_mu);
	resp = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* an AlertRule from git firing on every VM at once: the POSTs wait their turn
 * (at most 8 at once), in order, and every one is sent */
START_TEST(test_alert_notifications_bounded)
{
	char dir[] = "/tmp/nc-alerts-XXXXXX", *path, *yaml;
	int port = free_port(), i, done = 0;
	struct MHD_Daemon *d;
	struct nc_serve_config cfg;
	struct nc_spec *holder = NULL;
	struct nc_diags diags;
	FILE *f;
	struct nc_run r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL,
			     NULL, slow_receive, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	yaml = nc_xasprintf("source: {directory: %s}\nnotify:\n  - {url: 'http://127.0.0.1:%d/h', events: [drift]}\n",
			    dir, port);
	path = nc_xasprintf("%s/serve.yaml", dir);
	f = fopen(path, "w");
	fputs(yaml, f);
	fclose(f);
	free(yaml);
	nc_diags_init(&diags);
	ck_assert_int_eq(nc_serve_config_load(&cfg, &holder, path, &diags), 0);
	nc_diags_release(&diags);
	for (i = 0; i < 40; i++)
		nc_notify(&cfg, "drift", NULL, "vm drifted");
	for (i = 0; i < 200 && done < 40; i++) {
		usleep(50000);
		pthread_mutex_lock(&slow_mu);
		done = slow_done;
		pthread_mutex_unlock(&slow_mu);
	}
	nc_notify_drain(10000);
	MHD_stop_daemon(d);
	ck_assert_int_eq(done, 40);
	ck_assert_msg(slow_max <= 8, "%d POSTs at once", slow_max);
	ck_assert_int_ge(slow_max, 2);
	nc_spec_free(holder);
	free(path);
	path = nc_xasprintf("rm -rf '%s'", dir);
	nc_run_shell(&r, path);
	nc_run_free(&r);
	free(path);
}
END_TEST

START_TEST(test_alert_notifications)
{
	char dir[] = "/tmp/nc-alerts-XXXXXX", *path, *yaml, *b;
	int port = free_port();
	struct MHD_Daemon *d;
	struct nc_serve_config cfg;
	struct nc_spec *holder = NULL, *spec;
	struct nc_diags diags;
	struct nc_alerts *a = nc_alerts_new();
	struct nc_alert_event *ev = NULL;
	size_t nev = 0;
	struct round rd;
	FILE *f;
	struct nc_run r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, receive, NULL,
			     MHD_OPTION_END);
	ck_assert_ptr_nonnull(d);
	path = nc_xasprintf("%s/token", dir);
	f = fopen(path, "w");
	fputs("s3cret-alert-token-42\n", f);
	fclose(f);
	free(path);
	yaml = nc_xasprintf("source: {directory: %s}\nlisten: 127.0.0.1:9999\nnotify:\n"
			    "  - {url: 'http://127.0.0.1:%d/generic', events: [alert, host_failed], tokenFile: %s/token}\n"
			    "  - {url: 'http://127.0.0.1:%d/am', format: alertmanager, tokenFile: %s/token}\n"
			    "  - {url: 'http://127.0.0.1:%d/slack', format: slack, tokenFile: %s/token}\n"
			    "  - {url: 'http://127.0.0.1:%d/quiet', events: [drift]}\n",
			    dir, port, dir, port, dir, port, dir, port);
	path = nc_xasprintf("%s/serve.yaml", dir);
	f = fopen(path, "w");
	fputs(yaml, f);
	fclose(f);
	free(yaml);
	nc_diags_init(&diags);
	ck_assert_int_eq(nc_serve_config_load(&cfg, &holder, path, &diags), 0);
	nc_diags_release(&diags);

	/* a real transition: kvm1's memory over the limit (summary with a Slack mention in it) */
	spec = load_ok(RULE("host-memory-high") "  target: host\n  metric: memory_used_ratio\n"
		       "  threshold: {op: \">\", value: 0.9}\n  severity: critical\n"
		       "  summary: '{{ object }} memory at {{ value }} <!channel> & \"quotes\"'\n");
	make_round(&rd, 1700000000, 0.93, 0.5, 0.1, true);
	nc_alerts_eval(a, spec, &rd.r, NULL, &ev, &nev);
	round_free(&rd);
	ck_assert_uint_eq(nev, 1);
	nc_notify_alert(&cfg, &ev[0]);
	nc_alert_events_release(ev, nev);
	ev = NULL;
	nev = 0;
	wait_bodies(3);
	b = body_at("/generic");
	ck_assert_ptr_nonnull(b);
	{
		char *want = nc_xasprintf("{ \"format_version\": 1, \"event\": \"alert\", \"source\": \"%s\", "
					  "\"revision\": null, \"pass\": null, "
					  "\"message\": \"kvm1 memory at 93.0%% <!channel> & \\\"quotes\\\"\", \"summary\": ", dir);

		ck_assert_msg(strncmp(b, want, strlen(want)) == 0, "want '%s...' got '%s'", want, b);
		free(want);
	}
	HAS(b, "\"event\": \"alert\"");
	HAS(b, "\"time\": 1700000000, \"alert\": { \"rule\": \"host-memory-high\", \"state\": \"firing\", "
	       "\"severity\": \"critical\", "
	       "\"target\": \"host\", \"object\": \"kvm1\", \"host\": null, \"metric\": \"memory_used_ratio\", "
	       "\"value\": 0.93, \"summary\": \"kvm1 memory at 93.0% <!channel> & \\\"quotes\\\"\", "
	       "\"since\": 1700000000, \"at\": 1700000000 } }");
	free(b);
	b = body_at("/am");
	ck_assert_ptr_nonnull(b);
	HAS(b, "{\"version\": \"4\", \"groupKey\": \"{}:{alertname=\\\"host-memory-high\\\"}\", "
			    "\"truncatedAlerts\": 0, \"status\": \"firing\", \"receiver\": \"novacron\", "
			    "\"groupLabels\": {\"alertname\": \"host-memory-high\"}, "
			    "\"commonLabels\": {\"alertname\": \"host-memory-high\", \"metric\": \"memory_used_ratio\", "
			    "\"object\": \"kvm1\", \"severity\": \"critical\", \"target\": \"host\"}, "
			    "\"commonAnnotations\": {\"summary\": \"kvm1 memory at 93.0% <!channel> & \\\"quotes\\\"\", "
			    "\"value\": \"0.93\"}, \"externalURL\": \"http://127.0.0.1:9999\", "
			    "\"alerts\": [{\"status\": \"firing\", \"labels\": {\"alertname\": \"host-memory-high\", "
			    "\"metric\": \"memory_used_ratio\", \"object\": \"kvm1\", \"severity\": \"critical\", "
			    "\"target\": \"host\"}, \"annotations\": {\"summary\": \"kvm1 memory at 93.0% <!channel> & "
			    "\\\"quotes\\\"\", \"value\": \"0.93\"}, \"startsAt\": \"2023-11-14T22:13:20Z\", "
			    "\"endsAt\": \"0001-01-01T00:00:00Z\", \"generatorURL\": \"http://127.0.0.1:9999/status\", "
			    "\"fingerprint\": \"");
	/* 16 hex digits, then the end */
	ck_assert_uint_eq(strspn(strstr(b, "\"fingerprint\": \"") + 16, "0123456789abcdef"), 16);
	HAS(b, "\"}]}");
	free(b);
	b = body_at("/slack");
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b, "{ \"text\": \"[FIRING] critical host-memory-high: kvm1 memory at 93.0% &lt;!channel&gt; "
			    "&amp; \\\"quotes\\\"\" }");
	free(b);
	pthread_mutex_lock(&got_mu);
	/* the token is a header, never in a payload; the target listening for drift only got nothing */
	HAS(got.buf, "/am Bearer s3cret-alert-token-42\n");
	ck_assert_int_eq(got_n, 3);
	{
		/* three requests, three headers: the token appears nowhere else */
		const char *p = got.buf;
		int seen = 0;

		while ((p = strstr(p, "s3cret-alert-token-42"))) {
			ck_assert_msg(p >= got.buf + 7 && strncmp(p - 7, "Bearer ", 7) == 0, "token outside a header:\n%s", got.buf);
			seen++;
			p++;
		}
		ck_assert_int_eq(seen, 3);
	}
	nc_buf_reset(&got);
	got_n = 0;
	pthread_mutex_unlock(&got_mu);

	/* resolved: Alertmanager's endsAt; and an HA event: generic and slack, never alertmanager */
	make_round(&rd, 1700000060, 0.5, 0.5, 0.1, true);
	nc_alerts_eval(a, spec, &rd.r, NULL, &ev, &nev);
	round_free(&rd);
	ck_assert_uint_eq(nev, 1);
	nc_notify_alert(&cfg, &ev[0]);
	nc_alert_events_release(ev, nev);
	wait_bodies(3);
	b = body_at("/am");
	HAS(b, "\"status\": \"resolved\"");
	HAS(b, "\"startsAt\": \"2023-11-14T22:13:20Z\", \"endsAt\": \"2023-11-14T22:14:20Z\"");
	free(b);
	b = body_at("/slack");
	ck_assert_str_eq(b, "{ \"text\": \"[RESOLVED] critical host-memory-high: kvm1 memory at 50.0% &lt;!channel&gt; "
			    "&amp; \\\"quotes\\\"\" }");
	free(b);
	pthread_mutex_lock(&got_mu);
	nc_buf_reset(&got);
	got_n = 0;
	pthread_mutex_unlock(&got_mu);
	nc_notify_host(&cfg, "host_failed", "0123456789abcdef0123", "kvm2", "no answer for 10s");
	wait_bodies(2);
	b = body_at("/slack");
	ck_assert_str_eq(b, "{ \"text\": \"NovaCron host_failed on kvm2 at revision 0123456789ab: no answer for 10s\" }");
	free(b);
	b = body_at("/generic");
	HAS(b, "\"event\": \"host_failed\", \"source\": ");
	HAS(b, "\"host\": \"kvm2\", \"message\": \"no answer for 10s\"");
	free(b);
	pthread_mutex_lock(&got_mu);
	ck_assert_int_eq(got_n, 2);
	HASNT(got.buf, "/am ");
	HASNT(got.buf, "/quiet ");
	pthread_mutex_unlock(&got_mu);

	/* an alertmanager target takes alerts only */
	f = fopen(path, "w");
	fprintf(f, "source: {directory: %s}\nnotify:\n  - url: http://127.0.0.1:1/am\n    format: alertmanager\n"
		   "    events: [alert, failed]\n", dir);
	fclose(f);
	nc_spec_free(holder);
	holder = NULL;
	nc_diags_init(&diags);
	ck_assert_int_eq(nc_serve_config_load(&cfg, &holder, path, &diags), -1);
	{
		struct nc_buf t = NC_BUF_INIT;

		nc_diags_format_text(&diags, &t, 0);
		HAS(t.buf, "serve.yaml:5:21: error: event 'failed' cannot go to a format: alertmanager target");
		nc_buf_release(&t);
	}
	nc_diags_release(&diags);

	MHD_stop_daemon(d);
	pthread_mutex_lock(&got_mu);
	nc_buf_release(&got);
	got_n = 0;
	pthread_mutex_unlock(&got_mu);
	nc_spec_free(holder);
	nc_spec_free(spec);
	nc_alerts_free(a);
	free(path);
	path = nc_xasprintf("rm -rf '%s'", dir);
	nc_run_shell(&r, path);
	nc_run_free(&r);
	free(path);
}
END_TEST

Suite *nc_suite_alerts(void)
{
	Suite *s = suite_create("alerts");
	TCase *tc = tcase_create("alerts");

	tcase_add_test(tc, test_alert_rule_errors);
	tcase_add_test(tc, test_alert_rule_selector_matches_nothing);
	tcase_add_test(tc, test_alert_template);
	tcase_add_test(tc, test_alert_format_value);
	tcase_add_test(tc, test_alert_threshold_for);
	tcase_add_test(tc, test_alert_gap_keeps_pending);
	tcase_add_test(tc, test_alert_removed);
	tcase_add_test(tc, test_alert_selectors_and_metrics);
	tcase_add_test(tc, test_alert_anomaly);
	tcase_add_test(tc, test_alert_notifications);
	tcase_add_test(tc, test_alert_notifications_bounded);
	suite_add_tcase(s, tc);
	return s;
}
