/*
 * monitor.c - serve's telemetry loop and the Prometheus exposition of a
 * round (monitor.h, docs/monitoring.md "Metrics").
 */
#include "monitor.h"

#include "health.h"
#include "pass.h"
#include "serve.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../telemetry/store.h"

/* ---- the shared spec ---- */
struct nc_spec_ref {
	atomic_int refs;
	struct nc_spec *spec;
};

struct nc_spec_ref *nc_spec_ref_new(struct nc_spec *spec)
{
	struct nc_spec_ref *r;

	if (!spec)
		return NULL;
	r = nc_xcalloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	r->spec = spec;
	return r;
}

struct nc_spec_ref *nc_spec_ref_get(struct nc_spec_ref *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void nc_spec_ref_put(struct nc_spec_ref *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	nc_spec_free(r->spec);
	free(r);
}

const struct nc_spec *nc_spec_ref_spec(const struct nc_spec_ref *r)
{
	return r ? r->spec : NULL;
}

/* ---- the exposition of a round ---- */
enum raw_kind {
	R_HOST_CPU, R_VM_CPU, R_DISK_RD_B, R_DISK_WR_B, R_DISK_RD_OPS, R_DISK_WR_OPS,
	R_NET_RX_B, R_NET_TX_B, R_NET_RX_P, R_NET_TX_P, R__COUNT
};
static const struct {
	const char *name, *help;
} raw_families[R__COUNT] = {
	[R_HOST_CPU] = { "novacron_host_cpu_seconds_total",
			 "CPU time of all the node's CPUs, busy (user, kernel...) or idle, as the host reports it." },
	[R_VM_CPU] = { "novacron_vm_cpu_seconds_total", "CPU time the domain used, all vCPUs and emulator threads." },
	[R_DISK_RD_B] = { "novacron_vm_disk_read_bytes_total", "Bytes the domain read from a disk." },
	[R_DISK_WR_B] = { "novacron_vm_disk_write_bytes_total", "Bytes the domain wrote to a disk." },
	[R_DISK_RD_OPS] = { "novacron_vm_disk_reads_total", "Read requests the domain made to a disk." },
	[R_DISK_WR_OPS] = { "novacron_vm_disk_writes_total", "Write requests the domain made to a disk." },
	[R_NET_RX_B] = { "novacron_vm_network_receive_bytes_total", "Bytes the domain received on a NIC." },
	[R_NET_TX_B] = { "novacron_vm_network_transmit_bytes_total", "Bytes the domain sent on a NIC." },
	[R_NET_RX_P] = { "novacron_vm_network_receive_packets_total", "Packets the domain received on a NIC." },
	[R_NET_TX_P] = { "novacron_vm_network_transmit_packets_total", "Packets the domain sent on a NIC." },
};

struct family {
	char name[96];
	const char *help;
	bool counter;
	int raw;                         /* enum raw_kind, or -1: a derived value */
	enum nc_metric_target target;
	unsigned index;
};

static int family_cmp(const void *a, const void *b)
{
	return strcmp(((const struct family *)a)->name, ((const struct family *)b)->name);
}

/* the derived values a Prometheus series is kept for: rates are left to rate() over the counters */
static bool exposed(const struct nc_metric_info *mi)
{
	return mi->unit != NC_MU_BYTES_PER_S && mi->unit != NC_MU_OPS_PER_S;
}

static void derived_name(char *out, size_t len, const struct nc_metric_info *mi)
{
	const char *suffix = "";
	size_t n = strlen(mi->name);

	if (mi->unit == NC_MU_RATIO && (n < 6 || strcmp(mi->name + n - 6, "_ratio") != 0))
		suffix = "_ratio";
	/* "up" of the stats call: novacron_host_up is the pass's (reconciler/status.c) */
	if (mi->target == NC_MT_HOST && mi->index == NC_HM_UP)
		snprintf(out, len, "novacron_host_stats_up");
	else
		snprintf(out, len, "novacron_%s_%s%s", nc_metric_target_name(mi->target), mi->name, suffix);
}

static size_t families(struct family *f)
{
	size_t n = 0, t, i;

	for (i = 0; i < R__COUNT; i++) {
		snprintf(f[n].name, sizeof(f[n].name), "%s", raw_families[i].name);
		f[n].help = raw_families[i].help;
		f[n].counter = true;
		f[n].raw = (int)i;
		n++;
	}
	for (t = 0; t < NC_MT__COUNT; t++)
		for (i = 0; i < nc_metric_count((enum nc_metric_target)t); i++) {
			const struct nc_metric_info *mi = nc_metric_at((enum nc_metric_target)t, (unsigned)i);

			if (!exposed(mi))
				continue;
			derived_name(f[n].name, sizeof(f[n].name), mi);
			f[n].help = mi->help;
			f[n].counter = false;
			f[n].raw = -1;
			f[n].target = (enum nc_metric_target)t;
			f[n].index = (unsigned)i;
			n++;
		}
	qsort(f, n, sizeof(*f), family_cmp);
	return n;
}

static void help_line(struct nc_buf *b, const struct family *f)
{
	const char *s;

	nc_buf_addf(b, "# HELP %s ", f->name);
	for (s = f->help; *s; s++) {
		if (*s == '\\')
			nc_buf_adds(b, "\\\\");
		else if (*s == '\n')
			nc_buf_adds(b, "\\n");
		else
			nc_buf_addc(b, *s);
	}
	if (f->help[0] && f->help[strlen(f->help) - 1] != '.')
		nc_buf_addc(b, '.');
	nc_buf_addf(b, "\n# TYPE %s %s\n", f->name, f->counter ? "counter" : "gauge");
}

static void label(struct nc_buf *b, bool first, const char *k, const char *v)
{
	nc_buf_addf(b, "%s%s=\"", first ? "" : ",", k);
	nc_prom_label(b, v);
	nc_buf_addc(b, '"');
}

static void value(struct nc_buf *b, double v)
{
	nc_buf_addf(b, "} %.15g\n", v);
}

/* digits of v, at least width (zero-padded): 200,000 series a round, printf is the cost */
static void add_u64(struct nc_buf *b, uint64_t v, int width)
{
	char t[24];
	int i = (int)sizeof(t);

	t[--i] = '\0';
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
		width--;
	} while (v || width > 0);
	nc_buf_adds(b, t + i);
}

static void counter(struct nc_buf *b, uint64_t v)
{
	nc_buf_adds(b, "} ");
	add_u64(b, v, 1);
	nc_buf_addc(b, '\n');
}

/* nanoseconds as seconds, exactly */
static void seconds_ns(struct nc_buf *b, uint64_t ns)
{
	nc_buf_adds(b, "} ");
	add_u64(b, ns / 1000000000u, 1);
	nc_buf_addc(b, '.');
	add_u64(b, ns % 1000000000u, 9);
	nc_buf_addc(b, '\n');
}

/* the labels of an object, inside the braces, escaped: made once per round */
static char *object_labels(const struct nc_tm_object *o)
{
	struct nc_buf b = NC_BUF_INIT;

	switch (o->target) {
	case NC_MT_HOST:
		label(&b, true, "host", o->name);
		break;
	case NC_MT_VM:
		label(&b, true, "host", o->host ? o->host : "");
		label(&b, false, "vm", o->name);
		label(&b, false, "managed", o->managed ? "true" : "false");
		break;
	default:
		label(&b, true, "pool", o->name);
		if (o->host)
			label(&b, false, "host", o->host);
		break;
	}
	return nc_buf_detach(&b, NULL);
}

static void series_start(struct nc_buf *b, const char *fam, const char *labels)
{
	nc_buf_adds(b, fam);
	nc_buf_addc(b, '{');
	nc_buf_adds(b, labels);
}

/* the round's VM objects by (host, name): a domain's managed flag */
struct vm_index {
	const struct nc_tm_object **v;
	size_t n;
};

static int vm_cmp(const void *a, const void *b)
{
	const struct nc_tm_object *x = *(const struct nc_tm_object *const *)a, *y = *(const struct nc_tm_object *const *)b;
	int c = strcmp(x->host ? x->host : "", y->host ? y->host : "");

	return c ? c : strcmp(x->name, y->name);
}

static void vm_index_build(struct vm_index *ix, const struct nc_tm_round *r)
{
	size_t i;

	ix->v = nc_xcalloc(r->nobjs + 1, sizeof(*ix->v));
	ix->n = 0;
	for (i = 0; i < r->nobjs; i++)
		if (r->objs[i].target == NC_MT_VM)
			ix->v[ix->n++] = &r->objs[i];
	qsort(ix->v, ix->n, sizeof(*ix->v), vm_cmp);
}

/* the VM object of a domain of host, or NULL (a domain the round left out) */
static const struct nc_tm_object *vm_object(const struct vm_index *ix, const char *host, const char *name)
{
	struct nc_tm_object key;
	const struct nc_tm_object *kp = &key, *const *hit;

	memset(&key, 0, sizeof(key));
	key.host = (char *)host;
	key.name = (char *)name;
	hit = bsearch(&kp, ix->v, ix->n, sizeof(*ix->v), vm_cmp);
	return hit ? *hit : NULL;
}

/* a domain's labels: its object's, or made here for one the round left out */
static const char *dom_labels(struct nc_buf *scratch, const struct nc_tm_round *r, char *const *labs,
			      const struct nc_tm_object *o, const char *host, const char *vm)
{
	if (o)
		return labs[o - r->objs];
	nc_buf_reset(scratch);
	label(scratch, true, "host", host);
	label(scratch, false, "vm", vm);
	label(scratch, false, "managed", "false");
	return scratch->buf;
}

/* the nic label: the spec's NIC name for a spec VM (by MAC, else by position), else the device */
static const char *nic_name(const struct nc_spec *spec, const struct nc_dom_stats *d, size_t k, bool managed)
{
	const struct nc_nic_stats *n = &d->nics[k];
	const struct nc_vm *vm;
	const struct nc_nic *sn;
	size_t i;

	if (managed && spec && (vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, d->name))) {
		sn = vm->eff.nics.v;
		for (i = 0; n->mac && i < vm->eff.nics.n; i++) {
			char mac[18];

			nc_nic_mac(vm, &sn[i], mac);
			if (strcasecmp(mac, n->mac) == 0)
				return sn[i].name.v;
		}
		if (k < vm->eff.nics.n && NC_IS_SET(sn[k].name))
			return sn[k].name.v;
	}
	return n->dev ? n->dev : n->mac ? n->mac : "?";
}

static void raw_series(struct nc_buf *b, const struct family *f, const struct nc_tm_round *r,
		       const struct nc_spec *spec, const size_t *order, const struct vm_index *ix,
		       char *const *labs)
{
	struct nc_buf scratch = NC_BUF_INIT;
	size_t hi, j, k;

	for (hi = 0; hi < r->nhosts; hi++) {
		const char *host = r->hosts[order[hi]];
		const struct nc_host_stats *hs = &r->raw[order[hi]];

		if (!hs->t)
			continue;
		if (f->raw == R_HOST_CPU) {
			if (hs->cpu_busy_ns == NC_STAT_NONE || hs->cpu_total_ns == NC_STAT_NONE ||
			    hs->cpu_total_ns < hs->cpu_busy_ns)
				continue;
			nc_buf_addf(b, "%s{", f->name);
			label(b, true, "host", host);
			nc_buf_adds(b, ",mode=\"busy\"");
			seconds_ns(b, hs->cpu_busy_ns);
			nc_buf_addf(b, "%s{", f->name);
			label(b, true, "host", host);
			nc_buf_adds(b, ",mode=\"idle\"");
			seconds_ns(b, hs->cpu_total_ns - hs->cpu_busy_ns);
			continue;
		}
		for (j = 0; j < hs->ndoms; j++) {
			const struct nc_dom_stats *d = &hs->doms[j];
			const struct nc_tm_object *o = vm_object(ix, host, d->name);
			bool managed = o && o->managed;
			const char *labels;

			if (f->raw == R_VM_CPU && d->cpu_time_ns == NC_STAT_NONE)
				continue;
			labels = dom_labels(&scratch, r, labs, o, host, d->name);
			if (f->raw == R_VM_CPU) {
				series_start(b, f->name, labels);
				seconds_ns(b, d->cpu_time_ns);
				continue;
			}
			if (f->raw <= R_DISK_WR_OPS) {
				for (k = 0; k < d->ndisks; k++) {
					const struct nc_disk_stats *ds = &d->disks[k];
					uint64_t v = f->raw == R_DISK_RD_B ? ds->rd_bytes : f->raw == R_DISK_WR_B ? ds->wr_bytes :
						     f->raw == R_DISK_RD_OPS ? ds->rd_reqs : ds->wr_reqs;

					if (v == NC_STAT_NONE)
						continue;
					series_start(b, f->name, labels);
					label(b, false, "disk", ds->dev ? ds->dev : "?");
					counter(b, v);
				}
				continue;
			}
			for (k = 0; k < d->nnics; k++) {
				const struct nc_nic_stats *ns = &d->nics[k];
				uint64_t v = f->raw == R_NET_RX_B ? ns->rx_bytes : f->raw == R_NET_TX_B ? ns->tx_bytes :
					     f->raw == R_NET_RX_P ? ns->rx_pkts : ns->tx_pkts;

				if (v == NC_STAT_NONE)
					continue;
				series_start(b, f->name, labels);
				label(b, false, "nic", nic_name(spec, d, k, managed));
				counter(b, v);
			}
		}
	}
	nc_buf_release(&scratch);
}

static void derived_series(struct nc_buf *b, const struct family *f, const struct nc_tm_round *r,
			   char *const *labs)
{
	size_t i;

	for (i = 0; i < r->nobjs; i++) {
		const struct nc_tm_object *o = &r->objs[i];
		double v = o->v[f->index];

		if (o->target != f->target || isnan(v))
			continue;
		series_start(b, f->name, labs[i]);
		value(b, v);
	}
}

struct host_order {
	const char *name;
	size_t i;
};

static int order_cmp(const void *a, const void *b)
{
	return strcmp(((const struct host_order *)a)->name, ((const struct host_order *)b)->name);
}

/* a family without a series this round is left out (no lone HELP/TYPE lines) */
void nc_tm_round_prometheus(const struct nc_tm_round *r, const struct nc_spec *spec, struct nc_buf *out)
{
	struct family f[R__COUNT + 3 * NC_METRICS_MAX];
	size_t n = families(f), i, *order = nc_xcalloc(r->nhosts + 1, sizeof(*order));
	struct host_order *ho = nc_xcalloc(r->nhosts + 1, sizeof(*ho));
	struct nc_buf series = NC_BUF_INIT;
	struct vm_index ix;
	char **labs = nc_xcalloc(r->nobjs + 1, sizeof(*labs));

	for (i = 0; i < r->nobjs; i++)
		labs[i] = object_labels(&r->objs[i]);
	vm_index_build(&ix, r);
	for (i = 0; i < r->nhosts; i++) {
		ho[i].name = r->hosts[i];
		ho[i].i = i;
	}
	qsort(ho, r->nhosts, sizeof(*ho), order_cmp);
	for (i = 0; i < r->nhosts; i++)
		order[i] = ho[i].i;
	free(ho);
	for (i = 0; i < n; i++) {
		nc_buf_reset(&series);
		if (f[i].raw >= 0)
			raw_series(&series, &f[i], r, spec, order, &ix, labs);
		else
			derived_series(&series, &f[i], r, labs);
		if (!series.len)
			continue;
		help_line(out, &f[i]);
		nc_buf_add(out, series.buf, series.len);
	}
	nc_buf_release(&series);
	for (i = 0; i < r->nobjs; i++)
		free(labs[i]);
	free(labs);
	free(ix.v);
	free(order);
}

/* ---- the loop ---- */
struct host_errors {
	char *host;
	uint64_t n;
	char *last;                      /* this round's error, NULL when it answered */
};

struct nc_monitor {
	struct nc_monitor_opts o;
	char *state_dir, *dir, *rrdcached;
	pthread_mutex_t mu;              /* everything below but the round state */
	pthread_cond_t cv;
	pthread_t thread;
	bool thread_on, stop;
	struct nc_spec_ref *spec;
	unsigned spec_gen;               /* bumped by each nc_monitor_set_spec */
	/* the last round's cluster series, valid while text_ok: rendered by the monitor
	 * thread after a round when the round before was scraped (wanted), else by the
	 * first scrape (under the locks): a cluster nobody scrapes costs no rendering */
	struct nc_buf text;
	bool text_ok, wanted;
	struct nc_spec_ref *prev_spec;   /* the spec prev was collected with (NIC names) */
	time_t last_t;
	double last_seconds;
	uint64_t rounds;
	struct host_errors *errs;        /* sorted by host */
	size_t nerrs;
	bool active;                     /* a round was done, and no standby since */
	bool standby;                    /* stood by: the alert states were dropped */
	pthread_mutex_t amu;             /* the alert states */
	struct nc_alerts *alerts;
	/* the last round: replaced and dropped under mu (scrapes render it); read without
	 * it by the monitor thread only (the next round's rates) */
	struct nc_tm_round prev;
	bool have_prev;
	/* the monitor thread's own (or nc_monitor_round's caller's) */
	struct nc_tm_store *store;
	struct nc_tm_conns *conns;       /* libvirt connections kept between rounds */
	unsigned seen_gen;               /* the spec the alert states were worked out for */
	char *last_log;
	char *history_err;               /* the last round's history problem, NULL: none (mu) */
};

static void mlog(struct nc_monitor *m, const char *msg)
{
	if (!m->o.log || (m->last_log && strcmp(m->last_log, msg) == 0))
		return;
	free(m->last_log);
	m->last_log = nc_xstrdup(msg);
	m->o.log(m->o.opaque, msg);
}

static struct host_errors *host_errors(struct nc_monitor *m, const char *host)
{
	size_t lo = 0, hi = m->nerrs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->errs[mid].host, host);

		if (c == 0)
			return &m->errs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	m->errs = nc_xreallocarray(m->errs, m->nerrs + 1, sizeof(*m->errs));
	memmove(&m->errs[lo + 1], &m->errs[lo], (m->nerrs - lo) * sizeof(*m->errs));
	m->nerrs++;
	memset(&m->errs[lo], 0, sizeof(m->errs[lo]));
	m->errs[lo].host = nc_xstrdup(host);
	return &m->errs[lo];
}

/* a file the store set aside, a name it refused: each said once, on its own line */
static void store_log(void *opaque, const char *line)
{
	char *msg = nc_xasprintf("telemetry: history: %s", line);

	mlog(opaque, msg);
	free(msg);
}

static void open_store(struct nc_monitor *m, struct nc_err *why)
{
	struct nc_tm_store_opts so;
	struct nc_err err = { "" };

	if (m->store || !m->dir)
		return;
	memset(&so, 0, sizeof(so));
	so.dir = m->dir;
	so.rrdcached = m->rrdcached;
	so.anomaly_disk_limit = m->o.anomaly_disk_limit;
	so.step = m->o.interval_ms / 1000 ? m->o.interval_ms / 1000 : 1;
	so.log = store_log;
	so.log_opaque = m;
	if (nc_tm_store_open(&m->store, &so, &err) < 0) {
		char *msg = nc_xasprintf("telemetry: history not kept: %s", err.msg);

		nc_err_set(why, "history not kept: %s", err.msg);
		mlog(m, msg);
		free(msg);
		m->store = NULL;
	}
}

static int do_round(struct nc_monitor *m)
{
	struct nc_spec_ref *ref;
	struct nc_tm_collect_opts co;
	struct nc_health_view hv;
	struct nc_tm_round r;
	struct nc_alert_event *ev = NULL;
	struct nc_tm_round old;
	struct nc_spec_ref *old_spec;
	bool had, want;
	uint64_t round_no;
	struct nc_err err = { "" }, herr = { "" };
	size_t nev = 0, i;
	unsigned gen;

	pthread_mutex_lock(&m->mu);
	ref = nc_spec_ref_get(m->spec);
	gen = m->spec_gen;
	pthread_mutex_unlock(&m->mu);
	if (!ref)
		return -1;
	if (gen != m->seen_gen) {
		/* a new revision: which objects each rule selects is worked out again */
		pthread_mutex_lock(&m->amu);
		nc_alerts_spec_changed(m->alerts);
		pthread_mutex_unlock(&m->amu);
		m->seen_gen = gen;
	}
	memset(&hv, 0, sizeof(hv));
	if (m->o.health)
		nc_health_view(m->o.health, &hv);
	memset(&co, 0, sizeof(co));
	co.state_dir = m->state_dir;
	co.timeout_ms = m->o.timeout_ms;
	co.connections = m->o.connections;
	co.failed = (const char *const *)hv.failed;
	co.nfailed = hv.nfailed;
	co.conns = m->conns;
	memset(&r, 0, sizeof(r));
	nc_tm_collect(&r, ref->spec, m->have_prev ? &m->prev : NULL, &co);
	if (m->o.health)
		nc_health_view_release(&hv);

	open_store(m, &herr);
	if (m->store) {
		if (nc_tm_store_write(m->store, &r, &err) < 0 || err.msg[0]) {
			char *msg = nc_xasprintf("telemetry: history: %s", err.msg[0] ? err.msg : "not written");

			nc_err_set(&herr, "%s", err.msg[0] ? err.msg : "not written");
			mlog(m, msg);
			free(msg);
		}
	}
	pthread_mutex_lock(&m->amu);
	nc_alerts_eval(m->alerts, ref->spec, &r, m->store, &ev, &nev);
	pthread_mutex_unlock(&m->amu);
	{
		/* anomaly checks that failed were gaps: said (once while it lasts), as docs/monitoring.md says */
		char why[600];

		if (nc_alerts_errors(m->alerts, why, sizeof(why)) > 0) {
			char *msg = nc_xasprintf("telemetry: anomaly check failed (a gap; others may have too): %s", why);

			mlog(m, msg);
			free(msg);
		}
	}
	for (i = 0; i < nev; i++)
		if (m->o.alert)
			m->o.alert(m->o.opaque, &ev[i]);
	nc_alert_events_release(ev, nev);

	pthread_mutex_lock(&m->mu);
	old = m->prev;
	had = m->have_prev;
	old_spec = m->prev_spec;
	m->prev = r;
	m->have_prev = true;
	m->prev_spec = ref;              /* the reference taken above goes with the round */
	m->text_ok = false;
	want = m->wanted;
	m->wanted = false;
	m->last_t = r.t;
	m->last_seconds = r.seconds;
	nc_set_str(&m->history_err, herr.msg[0] ? herr.msg : NULL);
	m->rounds++;
	m->active = true;
	m->standby = false;
	for (i = 0; i < m->nerrs; i++)
		nc_set_str(&m->errs[i].last, NULL);
	for (i = 0; i < r.nhosts; i++) {
		struct host_errors *he = host_errors(m, r.hosts[i]);

		if (r.errors && r.errors[i]) {
			he->n++;
			nc_set_str(&he->last, r.errors[i]);
		}
	}
	round_no = m->rounds;
	pthread_mutex_unlock(&m->mu);
	if (had)
		nc_tm_round_release(&old);
	nc_spec_ref_put(old_spec);
	if (want) {
		/* m->prev and its spec are replaced and dropped by this thread only */
		struct nc_buf text = NC_BUF_INIT;

		nc_tm_round_prometheus(&m->prev, nc_spec_ref_spec(m->prev_spec), &text);
		pthread_mutex_lock(&m->mu);
		if (!m->text_ok && m->rounds == round_no) {
			nc_buf_release(&m->text);
			m->text = text;
			m->text_ok = true;
			nc_buf_init(&text);
		}
		pthread_mutex_unlock(&m->mu);
		nc_buf_release(&text);
	}
	return 0;
}

static struct nc_alerts *new_alerts(const struct nc_monitor *m)
{
	struct nc_alerts *a = nc_alerts_new();

	nc_alerts_set_step(a, m->o.interval_ms / 1000 ? m->o.interval_ms / 1000 : 1);
	return a;
}

/* a standby: nothing collected, nothing shown, alert states start over when it acts again */
static void drop_round(struct nc_monitor *m)
{
	if (m->have_prev)
		nc_tm_round_release(&m->prev);
	m->have_prev = false;
	nc_spec_ref_put(m->prev_spec);
	m->prev_spec = NULL;
	nc_buf_release(&m->text);
	m->text_ok = false;
}

static void stand_by(struct nc_monitor *m)
{
	pthread_mutex_lock(&m->mu);
	drop_round(m);
	m->active = false;
	m->standby = true;
	pthread_mutex_unlock(&m->mu);
	pthread_mutex_lock(&m->amu);
	nc_alerts_free(m->alerts);
	m->alerts = new_alerts(m);
	pthread_mutex_unlock(&m->amu);
}

static void *loop(void *arg)
{
	struct nc_monitor *m = arg;
	struct timespec next;
	bool was_active = true;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		pthread_mutex_unlock(&m->mu);
		int act = m->o.active ? m->o.active(m->o.opaque) : 1;

		if (act == 0) {
			if (was_active)
				stand_by(m);
			was_active = false;
		} else if (act > 0) {
			was_active = true;
			do_round(m);
		}
		next.tv_sec += m->o.interval_ms / 1000;
		next.tv_nsec += (long)(m->o.interval_ms % 1000) * 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		{
			/* a round longer than the interval: the next starts at once, the schedule
			 * does not try to catch up */
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
				next = now;
		}
		pthread_mutex_lock(&m->mu);
		while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &next) == 0)
			;
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int nc_monitor_start(struct nc_monitor **out, const struct nc_monitor_opts *o, struct nc_err *err)
{
	struct nc_monitor *m = nc_xcalloc(1, sizeof(*m));
	pthread_condattr_t ca;

	m->o = *o;
	if (!m->o.interval_ms)
		m->o.interval_ms = NC_TM_INTERVAL_MS;
	m->state_dir = o->state_dir ? nc_xstrdup(o->state_dir) : NULL;
	m->dir = o->dir ? nc_xstrdup(o->dir) : NULL;
	m->rrdcached = o->rrdcached ? nc_xstrdup(o->rrdcached) : NULL;
	m->o.state_dir = m->state_dir;
	m->o.dir = m->dir;
	m->o.rrdcached = m->rrdcached;
	if (o->alerts)
		nc_alerts_set_step(o->alerts, m->o.interval_ms / 1000 ? m->o.interval_ms / 1000 : 1);
	nc_buf_init(&m->text);
	m->alerts = o->alerts ? o->alerts : new_alerts(m);
	m->o.alerts = NULL;
	m->conns = nc_tm_conns_new();
	m->active = false;
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->amu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!o->no_thread) {
		if (pthread_create(&m->thread, NULL, loop, m) != 0) {
			nc_err_set(err, "telemetry: cannot start its thread: %s", strerror(errno));
			m->thread_on = false;
			nc_monitor_stop(m);
			return -1;
		}
		m->thread_on = true;
	}
	*out = m;
	return 0;
}

void nc_monitor_stop(struct nc_monitor *m)
{
	size_t i;

	if (!m)
		return;
	if (m->thread_on) {
		pthread_mutex_lock(&m->mu);
		m->stop = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->thread, NULL);
	}
	drop_round(m);
	if (m->store)
		nc_tm_store_close(m->store);
	nc_alerts_free(m->alerts);
	nc_tm_conns_free(m->conns);
	nc_spec_ref_put(m->spec);
	for (i = 0; i < m->nerrs; i++) {
		free(m->errs[i].host);
		free(m->errs[i].last);
	}
	free(m->errs);
	free(m->last_log);
	free(m->history_err);
	free(m->state_dir);
	free(m->dir);
	free(m->rrdcached);
	pthread_mutex_destroy(&m->mu);
	pthread_mutex_destroy(&m->amu);
	pthread_cond_destroy(&m->cv);
	free(m);
}

struct nc_alerts *nc_monitor_stop_keep_alerts(struct nc_monitor *m)
{
	struct nc_alerts *a;

	if (!m)
		return NULL;
	if (m->thread_on) {
		pthread_mutex_lock(&m->mu);
		m->stop = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->thread, NULL);
		m->thread_on = false;
	}
	/* a standby's are empty: nothing to go on from */
	a = m->standby ? NULL : m->alerts;
	if (a)
		m->alerts = NULL;
	nc_monitor_stop(m);
	return a;
}

void nc_monitor_set_spec(struct nc_monitor *m, struct nc_spec_ref *spec)
{
	struct nc_spec_ref *old;

	if (!m)
		return;
	spec = nc_spec_ref_get(spec);
	pthread_mutex_lock(&m->mu);
	old = m->spec;
	m->spec = spec;
	m->spec_gen++;
	pthread_mutex_unlock(&m->mu);
	nc_spec_ref_put(old);
}

int nc_monitor_round(struct nc_monitor *m)
{
	return m ? do_round(m) : -1;
}

static void jsafe(struct nc_buf *b, const char *s)
{
	char *r = nc_url_redact(s);

	nc_buf_add_json_str(b, r);
	free(r);
}

void nc_monitor_json(struct nc_monitor *m, struct nc_buf *b)
{
	size_t i, k = 0;

	if (!m) {
		nc_buf_adds(b, "\"telemetry\": {\"enabled\": false},\n  \"alerts\": []");
		return;
	}
	pthread_mutex_lock(&m->mu);
	nc_buf_addf(b, "\"telemetry\": {\"enabled\": true, \"active\": %s, \"interval\": %g, \"rounds\": %llu, "
		       "\"last_round\": %lld, \"seconds\": %.3f, \"history\": %s, \"history_error\": ",
		    m->active ? "true" : "false", m->o.interval_ms / 1000.0, (unsigned long long)m->rounds,
		    (long long)m->last_t, m->last_seconds, m->dir ? "true" : "false");
	if (m->history_err)
		nc_buf_add_json_str(b, m->history_err);
	else
		nc_buf_adds(b, "null");
	nc_buf_adds(b, ", \"host_errors\": [");
	for (i = 0; i < m->nerrs; i++) {
		if (!m->errs[i].last)
			continue;
		nc_buf_adds(b, k++ ? ", {\"host\": " : "{\"host\": ");
		nc_buf_add_json_str(b, m->errs[i].host);
		nc_buf_adds(b, ", \"error\": ");
		jsafe(b, m->errs[i].last);
		nc_buf_adds(b, "}");
	}
	pthread_mutex_unlock(&m->mu);
	nc_buf_adds(b, "]},\n  \"alerts\": ");
	pthread_mutex_lock(&m->amu);
	nc_alerts_json(m->alerts, b);
	pthread_mutex_unlock(&m->amu);
}

void nc_monitor_metrics(struct nc_monitor *m, struct nc_buf *b)
{
	size_t i;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	nc_buf_addf(b, "# HELP novacron_telemetry_round_seconds How long the last collection round took.\n"
		       "# TYPE novacron_telemetry_round_seconds gauge\nnovacron_telemetry_round_seconds %.6f\n"
		       "# HELP novacron_telemetry_last_round_timestamp_seconds When the last collection round started.\n"
		       "# TYPE novacron_telemetry_last_round_timestamp_seconds gauge\n"
		       "novacron_telemetry_last_round_timestamp_seconds %lld\n"
		       "# HELP novacron_telemetry_rounds_total Collection rounds done.\n"
		       "# TYPE novacron_telemetry_rounds_total counter\nnovacron_telemetry_rounds_total %llu\n",
		    m->last_seconds, (long long)m->last_t, (unsigned long long)m->rounds);
	if (m->nerrs)
		nc_buf_adds(b, "# HELP novacron_telemetry_host_errors_total Stats calls to a host that failed or "
			       "timed out.\n# TYPE novacron_telemetry_host_errors_total counter\n");
	for (i = 0; i < m->nerrs; i++) {
		nc_buf_adds(b, "novacron_telemetry_host_errors_total{host=\"");
		nc_prom_label(b, m->errs[i].host);
		nc_buf_addf(b, "\"} %llu\n", (unsigned long long)m->errs[i].n);
	}
	m->wanted = true;
	if (!m->text_ok && m->have_prev) {
		nc_buf_reset(&m->text);
		nc_tm_round_prometheus(&m->prev, nc_spec_ref_spec(m->prev_spec), &m->text);
		m->text_ok = true;
	}
	nc_buf_add(b, m->text.buf, m->text.len);
	pthread_mutex_unlock(&m->mu);
	pthread_mutex_lock(&m->amu);
	nc_alerts_metrics(m->alerts, b);
	pthread_mutex_unlock(&m->amu);
}
