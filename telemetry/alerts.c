/*
 * alerts.c - AlertRule evaluation; see alerts.h and docs/monitoring.md
 * "Alert rules".
 *
 * State is kept per rule (by name, so it survives a new revision of the
 * spec) and, within a rule, per object that is not inactive: an inactive
 * (rule, object) pair costs nothing.  Which objects a rule selects is a
 * bit per spec object, worked out when the spec changes; each round only
 * reads a value and compares it.  Everything is sorted (rules by name,
 * alerts by object id), so the JSON, the metrics and the events come out in
 * one order.
 */
#include "alerts.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reconciler/serve.h"

#define DEFAULT_STEP 15
#define DEFAULT_KEEP_RESOLVED 900
/*
 * Holt-Winters series started per round at most: each is a new RRD file
 * (about 10 ms and its full size at once), so a rule on 10,000 VMs starts
 * them over 40 rounds instead of stalling one round for 100 s; the others
 * are gaps until their turn.
 */
#define HW_STARTS_PER_ROUND 256

struct entry {
	char *id;                    /* object id */
	char *name;                  /* object name */
	char *host;                  /* where it is; NULL for hosts and shared pools */
	enum nc_alert_state state;   /* never NC_ALERT_INACTIVE: those are dropped */
	time_t active_since;         /* the condition started holding (pending, then firing) */
	time_t firing_since;
	time_t resolved_at;
	double value;                /* the last value read */
	char *summary;               /* filled in at the last transition */
	bool seen;                   /* looked at this round */
};

struct rule {
	char *name;
	/* a copy of the rule (the spec is freed when a new revision comes) */
	enum nc_metric_target target;
	const struct nc_metric_info *metric;   /* NULL: unknown (an invalid spec) */
	char *metric_name;
	char *severity;
	char *summary_tmpl;          /* NULL: the default summary */
	bool anomaly;
	enum nc_alert_op op;
	double limit;
	uint64_t for_ms;
	uint64_t season_ms;
	double sensitivity;
	unsigned window, failures;
	/* selection: a bit per spec object of the target's kind, and whether
	 * objects the spec does not declare (unmanaged VMs) are selected */
	uint64_t *match;
	size_t nmatch;
	bool match_undeclared;
	bool in_spec;                /* false: removed; kept while resolved alerts show */
	/* anomaly rules: the objects whose Holt-Winters series is started, sorted */
	char **hw;
	size_t nhw;
	struct entry *e;             /* sorted by id */
	size_t n, alloc;
};

struct nc_alerts {
	pthread_mutex_t mu;
	struct rule *rules;          /* sorted by name */
	size_t nrules;
	/* the spec the selections were made for */
	const struct nc_spec *spec;
	size_t spec_total, spec_docs, spec_objs;
	bool stale;
	unsigned step;
	unsigned keep_resolved;
	size_t nerrors;              /* of the last round */
	char error[256];
};

const char *nc_alert_state_name(enum nc_alert_state s)
{
	static const char *const names[] = { "inactive", "pending", "firing", "resolved" };

	return (unsigned)s < NC_ARRAY_SIZE(names) ? names[s] : "?";
}

void nc_alert_events_release(struct nc_alert_event *ev, size_t n)
{
	size_t i;

	for (i = 0; ev && i < n; i++) {
		free(ev[i].rule);
		free(ev[i].severity);
		free(ev[i].object);
		free(ev[i].host);
		free(ev[i].metric);
		free(ev[i].summary);
	}
	free(ev);
}

struct nc_alerts *nc_alerts_new(void)
{
	struct nc_alerts *a = nc_xcalloc(1, sizeof(*a));

	pthread_mutex_init(&a->mu, NULL);
	a->step = DEFAULT_STEP;
	a->keep_resolved = DEFAULT_KEEP_RESOLVED;
	a->stale = true;
	return a;
}

static void entry_release(struct entry *e)
{
	free(e->id);
	free(e->name);
	free(e->host);
	free(e->summary);
}

static void rule_release_params(struct rule *r)
{
	free(r->metric_name);
	free(r->severity);
	free(r->summary_tmpl);
	free(r->match);
	r->metric_name = r->severity = r->summary_tmpl = NULL;
	r->match = NULL;
	r->nmatch = 0;
}

static void rule_release(struct rule *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		entry_release(&r->e[i]);
	free(r->e);
	for (i = 0; i < r->nhw; i++)
		free(r->hw[i]);
	free(r->hw);
	rule_release_params(r);
	free(r->name);
}

void nc_alerts_free(struct nc_alerts *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nrules; i++)
		rule_release(&a->rules[i]);
	free(a->rules);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void nc_alerts_set_step(struct nc_alerts *a, unsigned seconds)
{
	pthread_mutex_lock(&a->mu);
	a->step = seconds ? seconds : DEFAULT_STEP;
	pthread_mutex_unlock(&a->mu);
}

void nc_alerts_spec_changed(struct nc_alerts *a)
{
	pthread_mutex_lock(&a->mu);
	a->stale = true;
	pthread_mutex_unlock(&a->mu);
}

void nc_alerts_set_keep_resolved(struct nc_alerts *a, unsigned seconds)
{
	pthread_mutex_lock(&a->mu);
	a->keep_resolved = seconds;
	pthread_mutex_unlock(&a->mu);
}

/* ---- values as people read them ---- */

static void iec(char *buf, size_t len, double v, const char *suffix)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t i = 0;
	double x = fabs(v);

	while (x >= 1024 && i + 1 < NC_ARRAY_SIZE(units)) {
		x /= 1024;
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f %s%s", v, units[i], suffix);
	else
		snprintf(buf, len, "%.1f %s%s", v, units[i], suffix);
}

void nc_alert_format_value(char *buf, size_t len, enum nc_metric_unit u, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "unknown");
		return;
	}
	switch (u) {
	case NC_MU_RATIO:
		snprintf(buf, len, "%.1f%%", v * 100);
		return;
	case NC_MU_BYTES:
		iec(buf, len, v, "");
		return;
	case NC_MU_BYTES_PER_S:
		iec(buf, len, v, "/s");
		return;
	case NC_MU_OPS_PER_S:
		snprintf(buf, len, "%.1f ops/s", v);
		return;
	case NC_MU_COUNT:
	case NC_MU_BOOL:
		snprintf(buf, len, "%g", v);
		return;
	}
	snprintf(buf, len, "%g", v);
}

static const char *op_text(enum nc_alert_op op)
{
	static const char *const ops[] = { ">", ">=", "<", "<=", "==", "!=" };

	return (unsigned)op < NC_ARRAY_SIZE(ops) ? ops[op] : "?";
}

static const char *severity_text(int v)
{
	static const char *const names[] = { "critical", "warning", "info" };

	return (unsigned)v < NC_ARRAY_SIZE(names) ? names[v] : "warning";
}

/* ---- the rules of a spec ---- */

static enum nc_kind target_kind(enum nc_metric_target t)
{
	return t == NC_MT_HOST ? NC_KIND_HOST : t == NC_MT_VM ? NC_KIND_VM : NC_KIND_STORAGE_POOL;
}

static const struct nc_map *labels_of(const struct nc_object *o)
{
	return o->kind == NC_KIND_VM ? &((const struct nc_vm *)o)->labels : &o->meta.labels;
}

static size_t spec_objs(const struct nc_spec *spec)
{
	size_t k, n = 0;

	for (k = 0; k < NC_KIND__COUNT; k++)
		n = n * 31 + spec->nobjs[k];
	return n;
}

static int rule_name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct rule *)elem)->name);
}

static int rule_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct rule *)pa)->name, ((const struct rule *)pb)->name);
}

/* Copies the parameters of ar into r and works out its selection. */
static void rule_load(struct rule *r, const struct nc_spec *spec, const struct nc_alert_rule *ar)
{
	const struct nc_alert_rule_spec *s = &ar->spec;
	enum nc_kind k;
	size_t i, n;
	static const struct nc_map empty;

	rule_release_params(r);
	r->target = (enum nc_metric_target)s->target.v;
	r->metric = NC_IS_SET(s->metric) ? nc_metric_find(r->target, s->metric.v) : NULL;
	r->metric_name = nc_xstrdup(NC_IS_SET(s->metric) ? s->metric.v : "");
	r->severity = nc_xstrdup(severity_text(NC_IS_SET(s->severity) ? s->severity.v : NC_ALERT_WARNING));
	r->summary_tmpl = NC_IS_SET(s->summary) ? nc_xstrdup(s->summary.v) : NULL;
	r->anomaly = NC_IS_SET(s->anomaly);
	r->op = (enum nc_alert_op)s->threshold.op.v;
	r->limit = s->threshold.value.v;
	r->for_ms = NC_IS_SET(s->for_) ? s->for_.ms : 0;
	r->season_ms = s->anomaly.season.ms;
	r->sensitivity = NC_IS_SET(s->anomaly.sensitivity) ? s->anomaly.sensitivity.v : 2;
	r->window = NC_IS_SET(s->anomaly.window) ? (unsigned)s->anomaly.window.v : 9;
	r->failures = NC_IS_SET(s->anomaly.failures) ? (unsigned)s->anomaly.failures.v
						     : (r->window < 7 ? r->window : 7);
	k = target_kind(r->target);
	n = spec->nobjs[k];
	r->nmatch = n;
	r->match = nc_xcalloc(n / 64 + 1, sizeof(*r->match));
	for (i = 0; i < n; i++)
		if (nc_selector_matches(&s->selector, labels_of(spec->objs[k][i])))
			r->match[i / 64] |= 1ull << (i % 64);
	r->match_undeclared = nc_selector_matches(&s->selector, &empty);
	r->in_spec = true;
}

/* Brings the rules in line with spec: new ones added, changed ones reloaded, removed ones marked. */
static void load_rules(struct nc_alerts *a, const struct nc_spec *spec)
{
	size_t i, old = a->nrules;
	const struct nc_alert_rule *ar;

	for (i = 0; i < a->nrules; i++)
		a->rules[i].in_spec = false;
	NC_SPEC_EACH(spec, NC_KIND_ALERT_RULE, const struct nc_alert_rule, ar, i) {
		struct rule *r = old ? bsearch(ar->obj.meta.name.v, a->rules, old, sizeof(*r), rule_name_cmp) : NULL;

		if (!r) {
			a->rules = nc_xreallocarray(a->rules, a->nrules + 1, sizeof(*a->rules));
			r = &a->rules[a->nrules++];
			memset(r, 0, sizeof(*r));
			r->name = nc_xstrdup(ar->obj.meta.name.v);
		}
		rule_load(r, spec, ar);
	}
	if (a->nrules > 1 && a->nrules != old)
		qsort(a->rules, a->nrules, sizeof(*a->rules), rule_cmp);
	a->spec = spec;
	a->spec_total = spec->arena.total;
	a->spec_docs = spec->ndocs;
	a->spec_objs = spec_objs(spec);
	a->stale = false;
}

static bool spec_is_new(const struct nc_alerts *a, const struct nc_spec *spec)
{
	return a->stale || a->spec != spec || a->spec_total != spec->arena.total ||
	       a->spec_docs != spec->ndocs || a->spec_objs != spec_objs(spec);
}

/* ---- one round ---- */

struct round_ctx {
	const struct nc_spec *spec;
	const struct nc_tm_round *r;
	struct nc_tm_store *store;
	size_t start[NC_MT__COUNT], end[NC_MT__COUNT];  /* each target's objects in r->objs */
	bool sorted[NC_MT__COUNT];   /* by id (strcmp) within the target, as nc_tm_round_sort leaves them */
	long *idx;                   /* per round object: its spec object's index, -1 undeclared */
	bool any_host_down;
	struct nc_alert_event **ev;
	size_t *nev;
	unsigned step;
	unsigned keep_resolved;
	size_t nerrors;              /* anomaly checks that failed this round */
	char error[256];             /* the first one */
	size_t hw_starts;            /* Holt-Winters series started this round */
};

static int str_ptr_cmp(const void *pa, const void *pb)
{
	return strcmp(*(char *const *)pa, *(char *const *)pb);
}

static int obj_id_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct nc_tm_object *)elem)->id);
}

/* the round's object of target t with this id (binary search; a scan should the order differ) */
static const struct nc_tm_object *find(const struct round_ctx *c, enum nc_metric_target t, const char *id)
{
	size_t n = c->end[t] - c->start[t], i;
	const struct nc_tm_object *o;

	if (!n)
		return NULL;
	o = bsearch(id, c->r->objs + c->start[t], n, sizeof(*o), obj_id_cmp);
	if (o)
		return o;
	for (i = c->start[t]; i < c->end[t]; i++)
		if (c->r->objs[i].id && strcmp(c->r->objs[i].id, id) == 0)
			return &c->r->objs[i];
	return NULL;
}

static bool host_down(const struct round_ctx *c, const char *host)
{
	const struct nc_tm_object *h;

	if (!host)
		return c->any_host_down;
	h = find(c, NC_MT_HOST, host);
	return !h || !(h->v[NC_HM_UP] >= 1);
}

static void summary_of(struct nc_buf *out, const struct rule *r, const struct entry *e)
{
	char value[64], limit[64];
	const char *vals[NC_PH__COUNT];
	enum nc_metric_unit u = r->metric ? r->metric->unit : NC_MU_COUNT;

	nc_alert_format_value(value, sizeof(value), u, e->value);
	if (r->anomaly)
		snprintf(limit, sizeof(limit), "anomalous");
	else
		nc_alert_format_value(limit, sizeof(limit), u, r->limit);
	vals[NC_PH_OBJECT] = e->name;
	vals[NC_PH_VALUE] = value;
	vals[NC_PH_THRESHOLD] = limit;
	vals[NC_PH_HOST] = e->host ? e->host : "";
	vals[NC_PH_RULE] = r->name;
	vals[NC_PH_METRIC] = r->metric_name;
	vals[NC_PH_TARGET] = nc_metric_target_name(r->target);
	vals[NC_PH_SEVERITY] = r->severity;
	if (r->summary_tmpl)
		nc_alert_template_expand(out, r->summary_tmpl, vals);
	else if (r->anomaly)
		nc_buf_addf(out, "%s %s: %s %s is anomalous", nc_metric_target_name(r->target), e->name,
			    r->metric_name, value);
	else
		nc_buf_addf(out, "%s %s: %s %s %s %s", nc_metric_target_name(r->target), e->name,
			    r->metric_name, value, op_text(r->op), limit);
}

/* Records a transition of e (now in its new state) at t: the summary, and an event. */
static void transition(struct round_ctx *c, const struct rule *r, struct entry *e, time_t t)
{
	struct nc_buf b = NC_BUF_INIT;
	struct nc_alert_event *v;

	if (!isnan(e->value) || !e->summary) {
		/* resolved with no value (rule or object gone): the summary it fired with stays */
		summary_of(&b, r, e);
		free(e->summary);
		e->summary = nc_buf_detach(&b, NULL);
	}
	*c->ev = nc_xreallocarray(*c->ev, *c->nev + 1, sizeof(**c->ev));
	v = &(*c->ev)[(*c->nev)++];
	memset(v, 0, sizeof(*v));
	v->rule = nc_xstrdup(r->name);
	v->severity = nc_xstrdup(r->severity);
	v->target = r->target;
	v->object = nc_xstrdup(e->id);
	v->host = e->host ? nc_xstrdup(e->host) : NULL;
	v->metric = nc_xstrdup(r->metric_name);
	v->state = e->state;
	v->value = e->value;
	v->summary = nc_xstrdup(e->summary);
	v->since = e->firing_since;
	v->at = t;
}

/* An alert that stops: firing -> resolved (notified); pending -> gone (returns true: drop it). */
static bool stop(struct round_ctx *c, const struct rule *r, struct entry *e, time_t t)
{
	if (e->state == NC_ALERT_FIRING) {
		e->state = NC_ALERT_RESOLVED;
		e->resolved_at = t;
		transition(c, r, e, t);
		return false;
	}
	return e->state == NC_ALERT_PENDING;
}

static bool compare(enum nc_alert_op op, double v, double limit)
{
	switch (op) {
	case NC_AOP_GT: return v > limit;
	case NC_AOP_GE: return v >= limit;
	case NC_AOP_LT: return v < limit;
	case NC_AOP_LE: return v <= limit;
	case NC_AOP_EQ: return v == limit;
	case NC_AOP_NE: return v != limit;
	}
	return false;
}

/*
 * The condition of r on o this round: 1 holds, 0 does not, -1 unknown (a gap:
 * the state stays as it is).
 */
static int condition(struct round_ctx *c, const struct rule *r, const struct nc_tm_object *o, double *value)
{
	double v = o->v[r->metric->index];

	*value = v;
	if (isnan(v))
		return -1;
	if (!r->anomaly)
		return compare(r->op, v, r->limit);
	/* Holt-Winters needs the store (telemetry/store.c); without it the rule stays inactive */
	if (!c->store)
		return 0;
	{
		struct nc_hw_params p = { .alpha = 0.1, .beta = 0.0035, .gamma = 0.1 };
		struct nc_err err = { "" };
		char *key = nc_xasprintf("alert/%s/%s/%s", r->name, nc_metric_target_name(r->target), o->id);
		uint64_t season = (r->season_ms / 1000 + c->step / 2) / (c->step ? c->step : 1);
		bool ab = false;
		int rc;

		p.season = season < 2 ? 2 : season > 10000000 ? 10000000 : (unsigned)season;
		p.delta = r->sensitivity;
		p.window = r->window;
		p.threshold = r->failures;
		rc = nc_tm_anomaly(c->store, key, c->r->t, v, &p, &ab, NULL, NULL, &err);
		free(key);
		if (rc < 0) {
			/* a gap for this round; said once per round through nc_alerts_errors() */
			if (!c->nerrors++) {
				char *m = nc_xasprintf("AlertRule %s, %s %s: %s", r->name,
						       nc_metric_target_name(r->target), o->id, err.msg);

				memcpy(c->error, m, strnlen(m, sizeof(c->error) - 1));
				c->error[strnlen(m, sizeof(c->error) - 1)] = '\0';
				free(m);
			}
			return -1;
		}
		return ab;
	}
}

static int entry_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct entry *)pa)->id, ((const struct entry *)pb)->id);
}

static int entry_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct entry *)elem)->id);
}

static bool selected(const struct round_ctx *c, const struct rule *r, size_t i)
{
	long k = c->idx[i];

	if (k < 0)
		return r->match_undeclared;
	return (size_t)k < r->nmatch && (r->match[k / 64] >> (k % 64) & 1);
}

/* Evaluates r on this round; returns the pairs evaluated. */
static size_t eval_rule(struct round_ctx *c, struct rule *r)
{
	const struct nc_tm_round *rd = c->r;
	time_t t = rd->t;
	size_t i, nold = r->n, pairs = 0, out, next = 0;
	struct entry *added = NULL;
	size_t nadded = 0;
	bool hw = r->anomaly && c->store && r->in_spec && r->metric;
	char **hw_next = NULL;
	size_t nhw_next = 0;
	bool *hw_moved = hw && r->nhw ? nc_xcalloc(r->nhw, sizeof(*hw_moved)) : NULL;

	for (i = 0; i < r->n; i++)
		r->e[i].seen = false;
	if (r->in_spec && r->metric) {
		for (i = c->start[r->target]; i < c->end[r->target]; i++) {
			const struct nc_tm_object *o = &rd->objs[i];
			struct entry *e;
			double v;
			int cond;

			if (!selected(c, r, i))
				continue;
			pairs++;
			e = NULL;
			if (next < nold && c->sorted[r->target]) {
				/* both in id order: walk the alerts along the objects */
				int cmp;

				while (next < nold && (cmp = strcmp(r->e[next].id, o->id)) < 0)
					next++;
				if (next < nold && cmp == 0)
					e = &r->e[next++];
			} else if (nold && !c->sorted[r->target]) {
				e = bsearch(o->id, r->e, nold, sizeof(*e), entry_key_cmp);
			}
			if (hw) {
				/* its series goes on, or starts if this round may start one more */
				char **k = r->nhw ? bsearch(&o->id, r->hw, r->nhw, sizeof(*r->hw), str_ptr_cmp) : NULL;
				char *keep = NULL;

				if (k) {
					hw_moved[k - r->hw] = true;
					keep = *k;
				} else if (!isnan(o->v[r->metric->index]) && c->hw_starts < HW_STARTS_PER_ROUND) {
					c->hw_starts++;
					keep = nc_xstrdup(o->id);
				}
				if (keep) {
					hw_next = nc_xreallocarray(hw_next, nhw_next + 1, sizeof(*hw_next));
					hw_next[nhw_next++] = keep;
				}
				cond = keep ? condition(c, r, o, &v) : -1;
				v = o->v[r->metric->index];
			} else {
				cond = condition(c, r, o, &v);
			}
			if (!e) {
				if (cond != 1)
					continue;
				added = nc_xreallocarray(added, nadded + 1, sizeof(*added));
				e = &added[nadded++];
				memset(e, 0, sizeof(*e));
				e->id = nc_xstrdup(o->id);
				e->name = nc_xstrdup(o->name ? o->name : o->id);
				e->host = o->host && r->target != NC_MT_HOST ? nc_xstrdup(o->host) : NULL;
				e->state = NC_ALERT_RESOLVED;   /* as a resolved one that holds again, below */
			}
			e->seen = true;
			if (o->host && e->host && strcmp(o->host, e->host) != 0 && r->target != NC_MT_HOST) {
				free(e->host);   /* a VM that moved */
				e->host = nc_xstrdup(o->host);
			}
			if (cond < 0)
				continue;   /* a gap keeps the state */
			e->value = v;
			switch (e->state) {
			case NC_ALERT_RESOLVED:
			case NC_ALERT_INACTIVE:
				if (!cond)
					break;
				e->active_since = t;
				e->resolved_at = 0;
				if (r->for_ms == 0) {
					e->state = NC_ALERT_FIRING;
					e->firing_since = t;
					transition(c, r, e, t);
				} else {
					e->state = NC_ALERT_PENDING;
				}
				break;
			case NC_ALERT_PENDING:
				if (!cond) {
					e->state = NC_ALERT_INACTIVE;   /* dropped below */
				} else if (t >= e->active_since && (uint64_t)(t - e->active_since) * 1000 >= r->for_ms) {
					e->state = NC_ALERT_FIRING;
					e->firing_since = t;
					transition(c, r, e, t);
				}
				break;
			case NC_ALERT_FIRING:
				if (!cond)
					stop(c, r, e, t);
				break;
			}
		}
	}
	/* alerts of objects not looked at: gone, no longer selected, or the rule removed */
	for (i = 0; i < nold; i++) {
		struct entry *e = &r->e[i];
		const struct nc_tm_object *o;

		if (e->seen || e->state == NC_ALERT_RESOLVED)
			continue;
		o = find(c, r->target, e->id);
		if (r->in_spec && r->metric && !o && r->target != NC_MT_HOST && host_down(c, e->host))
			continue;   /* its host did not answer: a gap, not a departure */
		e->value = NAN;  /* resolved because it is gone, not because of a value */
		if (stop(c, r, e, t))
			e->state = NC_ALERT_INACTIVE;
	}
	/* drop what is inactive or resolved long enough, add the new ones, keep the order */
	for (i = 0, out = 0; i < r->n; i++) {
		struct entry *e = &r->e[i];

		if (e->state == NC_ALERT_INACTIVE ||
		    (e->state == NC_ALERT_RESOLVED && t - e->resolved_at >= (time_t)c->keep_resolved)) {
			entry_release(e);
			continue;
		}
		r->e[out++] = *e;
	}
	r->n = out;
	for (i = 0; i < nadded; i++) {
		if (added[i].state == NC_ALERT_RESOLVED || added[i].state == NC_ALERT_INACTIVE) {
			entry_release(&added[i]);
			continue;
		}
		if (r->n == r->alloc) {
			r->alloc = r->alloc ? 2 * r->alloc : 8;
			r->e = nc_xreallocarray(r->e, r->alloc, sizeof(*r->e));
		}
		r->e[r->n++] = added[i];
	}
	free(added);
	if (nadded && r->n > 1)
		qsort(r->e, r->n, sizeof(*r->e), entry_cmp);
	if (hw || r->nhw) {
		/* the series of objects not seen this round are forgotten (started again if they return) */
		for (i = 0; i < r->nhw; i++)
			if (!hw_moved || !hw_moved[i])
				free(r->hw[i]);
		free(r->hw);
		free(hw_moved);
		if (nhw_next > 1 && !c->sorted[r->target])
			qsort(hw_next, nhw_next, sizeof(*hw_next), str_ptr_cmp);
		r->hw = hw_next;
		r->nhw = nhw_next;
	}
	return pairs;
}

static int obj_name_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct nc_object *const *)elem)->meta.name.v);
}

size_t nc_alerts_eval(struct nc_alerts *a, const struct nc_spec *spec, const struct nc_tm_round *r,
		      struct nc_tm_store *store, struct nc_alert_event **ev, size_t *nev)
{
	struct round_ctx c;
	size_t i, out, pairs = 0;

	memset(&c, 0, sizeof(c));
	pthread_mutex_lock(&a->mu);
	if (spec && spec_is_new(a, spec))
		load_rules(a, spec);
	else if (!spec)
		for (i = 0; i < a->nrules; i++)
			a->rules[i].in_spec = false;
	c.spec = spec;
	c.r = r;
	c.store = store;
	c.ev = ev;
	c.nev = nev;
	c.step = a->step;
	c.keep_resolved = a->keep_resolved;
	/* where each target's objects are, and which spec object each one is (once per round) */
	c.idx = nc_xcalloc(r->nobjs + 1, sizeof(*c.idx));
	for (i = 0; i < NC_MT__COUNT; i++)
		c.start[i] = c.end[i] = 0;
	for (i = r->nobjs; i-- > 0;) {
		const struct nc_tm_object *o = &r->objs[i];
		enum nc_kind k;
		struct nc_object **f;

		if ((unsigned)o->target >= NC_MT__COUNT)
			continue;
		if (c.end[o->target] == 0)
			c.end[o->target] = i + 1;
		c.start[o->target] = i;
		k = target_kind(o->target);
		f = spec && spec->nobjs[k] && o->name ?
			bsearch(o->name, spec->objs[k], spec->nobjs[k], sizeof(*f), obj_name_cmp) : NULL;
		c.idx[i] = f ? (long)(f - spec->objs[k]) : -1;
		if (o->target == NC_MT_HOST && !(o->v[NC_HM_UP] >= 1))
			c.any_host_down = true;
	}
	for (i = 0; i < r->nhosts; i++)
		if (r->errors && r->errors[i])
			c.any_host_down = true;
	for (i = 0; i < NC_MT__COUNT; i++) {
		size_t j;

		c.sorted[i] = true;
		for (j = c.start[i] + 1; j < c.end[i] && c.sorted[i]; j++)
			if (!r->objs[j - 1].id || !r->objs[j].id || strcmp(r->objs[j - 1].id, r->objs[j].id) >= 0)
				c.sorted[i] = false;
	}
	for (i = 0; i < a->nrules; i++)
		pairs += eval_rule(&c, &a->rules[i]);
	/* a removed rule is kept while its resolved alerts show */
	for (i = 0, out = 0; i < a->nrules; i++) {
		if (!a->rules[i].in_spec && a->rules[i].n == 0) {
			rule_release(&a->rules[i]);
			continue;
		}
		a->rules[out++] = a->rules[i];
	}
	a->nrules = out;
	a->nerrors = c.nerrors;
	memcpy(a->error, c.error, sizeof(a->error));
	free(c.idx);
	pthread_mutex_unlock(&a->mu);
	return pairs;
}

/* ---- reading ---- */

static void json_num(struct nc_buf *b, double v)
{
	if (isnan(v) || isinf(v))
		nc_buf_adds(b, "null");
	else
		nc_buf_addf(b, "%.9g", v);
}

void nc_alerts_json(struct nc_alerts *a, struct nc_buf *out)
{
	size_t i, j, n = 0;

	pthread_mutex_lock(&a->mu);
	nc_buf_adds(out, "[");
	for (i = 0; i < a->nrules; i++) {
		const struct rule *r = &a->rules[i];

		for (j = 0; j < r->n; j++) {
			const struct entry *e = &r->e[j];
			char value[64];

			nc_alert_format_value(value, sizeof(value), r->metric ? r->metric->unit : NC_MU_COUNT, e->value);
			nc_buf_adds(out, n++ ? ",\n    {" : "\n    {");
			nc_buf_adds(out, "\"rule\": ");
			nc_buf_add_json_str(out, r->name);
			nc_buf_addf(out, ", \"state\": \"%s\", \"severity\": ", nc_alert_state_name(e->state));
			nc_buf_add_json_str(out, r->severity);
			nc_buf_addf(out, ", \"target\": \"%s\", \"object\": ", nc_metric_target_name(r->target));
			nc_buf_add_json_str(out, e->id);
			nc_buf_adds(out, ", \"host\": ");
			if (e->host)
				nc_buf_add_json_str(out, e->host);
			else
				nc_buf_adds(out, "null");
			nc_buf_adds(out, ", \"metric\": ");
			nc_buf_add_json_str(out, r->metric_name);
			nc_buf_adds(out, ", \"value\": ");
			json_num(out, e->value);
			nc_buf_adds(out, ", \"value_text\": ");
			nc_buf_add_json_str(out, value);
			nc_buf_addf(out, ", \"active_since\": %lld", (long long)e->active_since);
			if (e->firing_since)
				nc_buf_addf(out, ", \"firing_since\": %lld", (long long)e->firing_since);
			if (e->state == NC_ALERT_RESOLVED)
				nc_buf_addf(out, ", \"resolved_at\": %lld", (long long)e->resolved_at);
			nc_buf_adds(out, ", \"summary\": ");
			nc_buf_add_json_str(out, e->summary ? e->summary : "");
			nc_buf_adds(out, "}");
		}
	}
	nc_buf_adds(out, n ? "\n  ]" : "]");
	pthread_mutex_unlock(&a->mu);
}

void nc_alerts_metrics(struct nc_alerts *a, struct nc_buf *out)
{
	size_t i, j, pending = 0, firing = 0;

	pthread_mutex_lock(&a->mu);
	nc_buf_adds(out, "# HELP ALERTS Pending and firing NovaCron alerts (AlertRules), one series each.\n"
			 "# TYPE ALERTS gauge\n");
	for (i = 0; i < a->nrules; i++) {
		const struct rule *r = &a->rules[i];

		for (j = 0; j < r->n; j++) {
			const struct entry *e = &r->e[j];

			if (e->state != NC_ALERT_PENDING && e->state != NC_ALERT_FIRING)
				continue;
			if (e->state == NC_ALERT_PENDING)
				pending++;
			else
				firing++;
			nc_buf_adds(out, "ALERTS{alertname=\"");
			nc_prom_label(out, r->name);
			nc_buf_addf(out, "\",alertstate=\"%s\",severity=\"", nc_alert_state_name(e->state));
			nc_prom_label(out, r->severity);
			nc_buf_addf(out, "\",target=\"%s\",object=\"", nc_metric_target_name(r->target));
			nc_prom_label(out, e->id);
			if (e->host) {
				nc_buf_adds(out, "\",host=\"");
				nc_prom_label(out, e->host);
			}
			nc_buf_adds(out, "\"} 1\n");
		}
	}
	nc_buf_addf(out, "# HELP novacron_alerts_firing Alerts firing now.\n# TYPE novacron_alerts_firing gauge\n"
			 "novacron_alerts_firing %zu\n"
			 "# HELP novacron_alerts_pending Alerts whose condition holds, waiting out their rule's for.\n"
			 "# TYPE novacron_alerts_pending gauge\nnovacron_alerts_pending %zu\n", firing, pending);
	pthread_mutex_unlock(&a->mu);
}

void nc_alerts_counts(struct nc_alerts *a, size_t *pending, size_t *firing)
{
	size_t i, j, p = 0, f = 0;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->nrules; i++)
		for (j = 0; j < a->rules[i].n; j++) {
			if (a->rules[i].e[j].state == NC_ALERT_PENDING)
				p++;
			else if (a->rules[i].e[j].state == NC_ALERT_FIRING)
				f++;
		}
	pthread_mutex_unlock(&a->mu);
	if (pending)
		*pending = p;
	if (firing)
		*firing = f;
}

size_t nc_alerts_errors(struct nc_alerts *a, char *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&a->mu);
	n = a->nerrors;
	if (buf && len)
		snprintf(buf, len, "%s", n ? a->error : "");
	pthread_mutex_unlock(&a->mu);
	return n;
}
