/*
 * telemetry.h - what serve knows about the load of the cluster it runs
 * (docs/monitoring.md): one collection round turned into metric values per
 * host, VM and storage pool.
 *
 *   driver op `stats`   raw counters of one host, one call (drivers/driver.h)
 *   nc_tm_derive()      two rounds of one host -> values (telemetry/derive.c)
 *   nc_tm_collect()     every declared host in parallel with the per-host
 *                       timeout -> one struct nc_tm_round (telemetry/collect.c)
 *   store.h             RRD history (librrd / rrdcached), graphs, anomaly
 *   alerts.h            AlertRule evaluation, alert states, notifications
 *   forecast.h          least-squares trends for `capacity --forecast`
 *
 * Values are doubles indexed by the catalogue (spec/metrics.h); NAN is a
 * gap (unknown), never zero.  Everything sorted, so the same round renders
 * byte-identically.
 */
#ifndef NC_TELEMETRY_H
#define NC_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../drivers/driver.h"
#include "../spec/metrics.h"
#include "../spec/model.h"

/* One object's values in one round. */
struct nc_tm_object {
	enum nc_metric_target target;
	char *name;              /* host, VM (domain name) or pool name */
	char *host;              /* vm: where it runs; pool: its host, NULL when shared (rbd) */
	char *id;                /* unique within the target: name, or "POOL@HOST" for a host's own pool */
	bool managed;            /* vm: carries NovaCron's metadata (a spec VM) */
	double v[NC_METRICS_MAX];    /* by metric index; NAN unknown */
};

/* One collection round of the whole cluster. */
struct nc_tm_round {
	time_t t;                /* when the round started (wall clock, seconds) */
	double seconds;          /* how long collecting took */
	struct nc_tm_object *objs;   /* sorted by target, then id */
	size_t nobjs;
	/* per host: the raw statistics of this round (for per-disk / per-NIC
	 * Prometheus series) and why a host gave none; by host name as declared */
	char **hosts;
	struct nc_host_stats *raw;   /* raw[i].t == 0: host i gave none this round */
	char **errors;               /* NULL where the host answered */
	size_t nhosts;
	/* rbd StoragePools, read from the NovaCron machine through librados (they are no
	 * libvirt pools): by spec name, and why one gave nothing this round (NULL: it did) */
	char **rbd_pools;
	char **rbd_errors;
	size_t nrbd;
};
void nc_tm_round_release(struct nc_tm_round *r);
/* the object with this target and id, or NULL (binary search) */
const struct nc_tm_object *nc_tm_round_find(const struct nc_tm_round *r, enum nc_metric_target t,
					    const char *id);

/*
 * Values of one host and what runs on it from two consecutive rounds of its
 * raw statistics (prev may be NULL or from another boot: rates are then NAN,
 * gauges still filled; a counter that went backwards gives NAN).  Appends
 * the host, each domain and each pool to *r (not sorted: the caller sorts
 * with nc_tm_round_sort).  A NULL cur (the host did not answer) appends the
 * host alone with up = 0 and every other value NAN.
 */
void nc_tm_derive(struct nc_tm_round *r, const char *host, const struct nc_host_stats *prev,
		  const struct nc_host_stats *cur);
/* sorts by target, then id, and keeps one object per id: of a domain
 * name seen on two hosts the running copy (then the first host by name), of
 * a shared pool seen from several hosts one */
void nc_tm_round_sort(struct nc_tm_round *r);
/* appends an object with every value NAN (the caller fills them); sort afterwards */
struct nc_tm_object *nc_tm_round_add(struct nc_tm_round *r, enum nc_metric_target t, const char *name,
				     const char *host, const char *id);

/*
 * Collects one round from every Host of spec in parallel (at most
 * `parallel` threads), each call bounded by timeout_ms: a host that does not
 * answer in time gets up = 0 and gaps, and the round goes on without it.
 * prev (may be NULL) is the previous round, for rates.  failed (may be
 * NULL): names of hosts the failure detector holds failed (not contacted,
 * failed = 1).
 */
/*
 * Connections kept between rounds (optional): libvirt daemons are reached
 * once and asked again each round, not opened and closed every time (an
 * ssh or TLS handshake per host per round).  A kept connection that fails
 * is closed and its host opened afresh once, within the same timeout; one
 * whose host's URI changed is closed.  Simulated hosts are never kept (an
 * open sim host holds its lock, which passes need).  Freeing it while an
 * abandoned worker still runs is safe: that worker closes what it holds.
 * As with any libvirt client, the process must ignore SIGPIPE (serve does):
 * a daemon that dies under a kept connection would otherwise kill it.
 */
struct nc_tm_conns;
struct nc_tm_conns *nc_tm_conns_new(void);
void nc_tm_conns_free(struct nc_tm_conns *c);

struct nc_tm_collect_opts {
	const char *state_dir;       /* for sim:// hosts */
	unsigned timeout_ms;         /* per host; 0 = 10 s */
	unsigned parallel;           /* 0 = 16 */
	const struct nc_list *connections;   /* the operator's (reconciler/connections.h); NULL none */
	const char *const *failed;
	size_t nfailed;
	struct nc_tm_conns *conns;   /* connections kept between rounds; NULL: each round opens its own */
};
void nc_tm_collect(struct nc_tm_round *out, const struct nc_spec *spec, const struct nc_tm_round *prev,
		   const struct nc_tm_collect_opts *opts);

#endif
