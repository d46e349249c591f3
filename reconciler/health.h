/*
 * health.h - serve's failure detector (docs/ha.md "Detection").
 *
 * A monitor thread probes every declared host each check interval with one
 * cheap libvirt call over a kept connection (nc_host_probe, driver.h).
 * Each host's probe runs on a thread of its own, so a daemon that hangs
 * (SIGSTOPped libvirtd, a black-holed link) delays no other host: a probe
 * not answered by the next tick is a missed check.  A host unreachable in a
 * pass counts as a missed check too.
 *
 *   ok      -> suspect  after suspectAfter missed checks in a row, or at
 *                       once on a connection error;
 *   suspect -> ok       after recoverAfter good checks in a row (hysteresis);
 *   ok or suspect -> failed
 *                       when the host has missed every check for failedAfter
 *                       since its first miss (any good check starts over:
 *                       a flapping host never fails);
 *   failed  -> ok       after recoverAfter good checks, once the HA record
 *                       (ha.h) no longer lists the host (nc_ha_commit drops
 *                       it when its stale copies are gone).
 *
 * Partition rule: when every declared host is suspect or failed at once,
 * the observer is assumed cut off: nc_health_view() reports partitioned and
 * serve fences and restarts nothing until one host answers again.
 *
 * Every transition is logged (serve's log: millisecond timestamps), counted,
 * shown in /status and /metrics, and handed to the event callback (serve
 * sends it to webhooks).
 */
#ifndef NC_HEALTH_H
#define NC_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../drivers/driver.h"
#include "../spec/util.h"

/* the defaults of serve.yaml's ha: (docs/operations.md) */
#define NC_HA_CHECK_INTERVAL_MS 1000
#define NC_HA_SUSPECT_AFTER 2
#define NC_HA_FAILED_AFTER_MS 10000
#define NC_HA_RECOVER_AFTER 3
#define NC_HA_FENCE_TIMEOUT_MS 60000
#define NC_HA_FENCE_RETRY_MS 10000
#define NC_HA_MAX_RECOVERIES 4

enum nc_health_state { NC_HEALTH_OK, NC_HEALTH_SUSPECT, NC_HEALTH_FAILED };
const char *nc_health_state_name(enum nc_health_state s);

struct nc_health_opts {
	unsigned interval_ms, suspect_after, failed_after_ms, recover_after;
	const char *state_dir;           /* for sim:/// hosts */
	/* called on the monitor's thread, without its lock held: host_suspect,
	 * host_failed, host_ok (host set), partitioned (host NULL) */
	void (*event)(void *opaque, const char *event, const char *host, const char *message);
	/* may a failed host become ok (the HA record no longer lists it)?  NULL: yes */
	bool (*may_clear)(void *opaque, const char *host);
	void *opaque;
};

struct nc_health;
int nc_health_start(struct nc_health **out, const struct nc_health_opts *o, struct nc_err *err);
/* stops the monitor; probes still stuck in a daemon end on their own */
void nc_health_stop(struct nc_health *h);
/* the declared hosts and the URIs to probe (the operator's connections applied);
 * hosts kept keep their state, new ones start ok */
void nc_health_set_hosts(struct nc_health *h, const char *const *names, const char *const *uris, size_t n);
/* a pass could not read host: a missed check (error: why, one line) */
void nc_health_pass_miss(struct nc_health *h, const char *host, const char *error);

struct nc_health_view {
	char **failed;                   /* failed hosts, sorted */
	size_t nfailed;
	char **unreachable;              /* those of them whose last check missed: not to contact */
	size_t nunreachable;
	bool partitioned;
};
void nc_health_view(struct nc_health *h, struct nc_health_view *out);
void nc_health_view_release(struct nc_health_view *v);
enum nc_health_state nc_health_state_of(struct nc_health *h, const char *host);

/* what fencing did for a host (shown in /status); by, error: NULL to clear */
void nc_health_set_fence(struct nc_health *h, const char *host, bool fenced, const char *by,
			 const char *error);
/* counters for /metrics */
void nc_health_count_fence(struct nc_health *h, bool failed);
void nc_health_count_recoveries(struct nc_health *h, unsigned n);

/* the "ha" object of /status and the novacron_host_health... metrics */
void nc_health_json(struct nc_health *h, struct nc_buf *b);
void nc_health_metrics(struct nc_health *h, struct nc_buf *b);

#endif
