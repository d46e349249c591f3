/*
 * metrics.h - the catalogue of cluster metrics (docs/monitoring.md): what
 * serve derives each collection round for every host, VM and storage pool,
 * what AlertRules may name, what the RRD history keeps, what forecasts and
 * load-aware placement read.
 *
 * Each metric belongs to one target (host, vm or pool) and has an index
 * within it: a round's values for an object are a double array indexed by
 * it, NAN where the value is unknown (a gap: the host did not answer, the
 * counter went backwards, the first round after a start).  Names are short
 * and unique within a target ("cpu_usage"); the Prometheus series name is
 * "novacron_" TARGET "_" NAME (with the unit suffix the name already has).
 *
 * The catalogue is part of the spec library because validate checks an
 * AlertRule's metric against it (unknown names get a did-you-mean).
 */
#ifndef NC_METRICS_H
#define NC_METRICS_H

#include <stddef.h>

enum nc_metric_target { NC_MT_HOST, NC_MT_VM, NC_MT_POOL, NC_MT__COUNT };
const char *nc_metric_target_name(enum nc_metric_target t);   /* "host", "vm", "pool" */
/* "host"/"vm"/"pool" -> target, -1 when none */
int nc_metric_target_parse(const char *s);

enum nc_metric_unit {
	NC_MU_RATIO,        /* 0..1 */
	NC_MU_BYTES,
	NC_MU_BYTES_PER_S,
	NC_MU_OPS_PER_S,
	NC_MU_COUNT,
	NC_MU_BOOL,         /* 0 or 1 */
};
const char *nc_metric_unit_name(enum nc_metric_unit u);       /* "ratio", "bytes", ... */

struct nc_metric_info {
	enum nc_metric_target target;
	unsigned index;             /* within the target */
	const char *name;           /* "cpu_usage" */
	enum nc_metric_unit unit;
	const char *help;           /* one line, for docs, explain and # HELP */
	/* RRD data source name (at most 19 chars, [a-zA-Z0-9_]): stable across versions */
	const char *ds;
};

/* ---- host ---- */
enum {
	NC_HM_UP,                   /* 1: this round's stats call answered; 0: it failed or timed out */
	NC_HM_FAILED,               /* 1: serve's failure detector holds the host failed (docs/ha.md) */
	NC_HM_CPU_USAGE,            /* share of all node CPUs busy over the round */
	NC_HM_CPUS,
	NC_HM_MEMORY_TOTAL,         /* bytes */
	NC_HM_MEMORY_USED,          /* total - available (free + buffers + cached) */
	NC_HM_MEMORY_USED_RATIO,
	NC_HM_VMS_RUNNING,
	NC_HM__COUNT
};
/* ---- vm ---- */
enum {
	NC_VM_RUNNING,              /* 1 running, 0 otherwise */
	NC_VM_CPU_USAGE,            /* cpu time over the round / (round * vcpus): 0..1 */
	NC_VM_VCPUS,
	NC_VM_MEMORY_BYTES,         /* current balloon (what the guest has) */
	NC_VM_MEMORY_USED,          /* used inside the guest (balloon stats), else RSS, else balloon */
	NC_VM_MEMORY_USED_RATIO,    /* memory_used / memory_bytes */
	NC_VM_DISK_READ_BPS,
	NC_VM_DISK_WRITE_BPS,
	NC_VM_DISK_READ_OPS,
	NC_VM_DISK_WRITE_OPS,
	NC_VM_NET_RX_BPS,
	NC_VM_NET_TX_BPS,
	NC_VM__COUNT
};
/* ---- pool ---- */
enum {
	NC_PM_CAPACITY,             /* bytes */
	NC_PM_USED,                 /* allocation */
	NC_PM_AVAILABLE,
	NC_PM_USED_RATIO,
	NC_PM__COUNT
};
#define NC_METRICS_MAX 16       /* >= every target's __COUNT */

size_t nc_metric_count(enum nc_metric_target t);
const struct nc_metric_info *nc_metric_at(enum nc_metric_target t, unsigned index);
/* by name within a target; NULL when none */
const struct nc_metric_info *nc_metric_find(enum nc_metric_target t, const char *name);

#endif
