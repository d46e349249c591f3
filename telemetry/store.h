/*
 * store.h - the embedded history (telemetry/store.c, librrd): one RRD file
 * per object under DIR/TARGET/ID.rrd with one data source per metric of its
 * target (spec/metrics.h `ds`), GAUGE, heartbeat twice the step, so a round
 * a host missed is a gap, never a zero.  Archives: AVERAGE and MAX at the
 * step for 6 hours, 1 min for 1 day, 1 h for 60 days, 1 day for 400 days
 * (fixed size, bounded disk per series: docs/monitoring.md).
 *
 * Writes go through rrdcached when an address is configured (the
 * scale-out path: many updates batched by the daemon), else straight into
 * the files, all objects of a round in one call.  A file that librrd cannot
 * read (corrupt, truncated, another version or layout) is renamed to
 * ID.rrd.corrupt, reported once, and created afresh; nothing else is lost.
 *
 * Anomaly detection (Holt-Winters, Brutlag): per (rule, object) an RRD of
 * one data source with RRA:HWPREDICT (alpha, beta, season length) and the
 * FAILURES archive (threshold, window), under DIR/anomaly/KEY.rrd.
 *
 * IDs and names reach file paths: the store accepts only [A-Za-z0-9._@-],
 * no leading '.', at most 200 bytes (spec names already are; others are
 * refused with an error).
 */
#ifndef NC_TM_STORE_H
#define NC_TM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "telemetry.h"

struct nc_tm_store;
struct nc_tm_store_opts {
	const char *dir;             /* STATE_DIR/telemetry by default */
	const char *rrdcached;       /* "unix:/path" or "HOST:PORT"; NULL: write the files */
	unsigned step;               /* seconds between rounds (serve's telemetry.interval) */
	bool read_only;              /* CLI readers: never create, never rebuild */
	/* new files one write may create (a file costs ~10 ms and its full size
	 * on disk at once): 0 = 256; the other objects wait for a later round
	 * (until then they have no history).  UINT_MAX: no limit. */
	unsigned create_limit;
	/* when set, each file set aside (.corrupt) and each name refused is said
	 * here, one line each (serve's log), instead of being folded into the
	 * write's err as "(and N more)"; called with the store's lock held */
	void (*log)(void *opaque, const char *line);
	void *log_opaque;
	/* bytes the Holt-Winters files (DIR/anomaly) may take in all: 0 = 16 GiB.
	 * AlertRules come from git and one rule may ask a file per VM (46 MB each
	 * for a 7d season at 1 s): a new file that would pass it is not made (a gap) */
	unsigned long long anomaly_disk_limit;
};
int nc_tm_store_open(struct nc_tm_store **out, const struct nc_tm_store_opts *o, struct nc_err *err);
void nc_tm_store_close(struct nc_tm_store *st);
/* STATE_DIR/telemetry into buf; NULL when it does not fit (or no state_dir) */
const char *nc_tm_default_dir(const char *state_dir, char *buf, size_t len);
/* an id (or name) the store accepts in a file name: [A-Za-z0-9._@-], no leading '.', <= 200 bytes */
bool nc_tm_id_ok(const char *id);
/* with rrdcached: has the daemon write every pending update now (readers of the files); else 0 */
int nc_tm_store_flush(struct nc_tm_store *st, struct nc_err *err);

/* Writes every object of the round at r->t (files created as needed).
 * A file it had to rebuild is reported through err (one line) but the
 * round is still written: returns 0; -1 only when nothing could be written. */
int nc_tm_store_write(struct nc_tm_store *st, const struct nc_tm_round *r, struct nc_err *err);

/* A fetched series: n values at start + i*step (NAN where unknown). */
struct nc_tm_series {
	time_t start, step;
	size_t n;
	double *v;
};
void nc_tm_series_release(struct nc_tm_series *s);
enum nc_tm_cf { NC_TM_AVERAGE, NC_TM_MAX };
/*
 * One metric of one object over [start, end], at the finest resolution
 * that covers the range (or `resolution` seconds when not 0).  1 and *out
 * filled; 0 when the object has no history; -1 on error.
 */
int nc_tm_store_fetch(struct nc_tm_store *st, enum nc_metric_target t, const char *id,
		      const char *metric, enum nc_tm_cf cf, time_t start, time_t end,
		      time_t resolution, struct nc_tm_series *out, struct nc_err *err);
/* ids with history for a target, sorted (caller frees each and the array) */
int nc_tm_store_list(struct nc_tm_store *st, enum nc_metric_target t, char ***ids, size_t *n,
		     struct nc_err *err);

/* Holt-Winters parameters of an anomaly rule (docs/monitoring.md). */
struct nc_hw_params {
	unsigned season;             /* season length in steps */
	double alpha, beta, gamma;   /* RRD's defaults: 0.1, 0.0035, 0.1 */
	double delta;                /* deviation multiplier (RRD's delta_pos/neg): 2 */
	unsigned threshold, window;  /* FAILURES: threshold failures in window steps: 7 of 9 */
};
/*
 * Feeds value at t to the Holt-Winters RRD keyed `key` (a rule name and an
 * object id; created, or recreated when params changed) and tells whether
 * the FAILURES archive flags t as aberrant.  *predicted and *deviation (may
 * be NULL) get HWPREDICT's prediction and DEVPREDICT's deviation (NAN while
 * the first season is learnt, deviation until the end of the second;
 * nothing is flagged before both are known).
 */
int nc_tm_anomaly(struct nc_tm_store *st, const char *key, time_t t, double value,
		  const struct nc_hw_params *p, bool *aberrant, double *predicted, double *deviation,
		  struct nc_err *err);

/* Removes the Holt-Winters RRD keyed `key` (a rule or an object gone); 0 also when there was none. */
int nc_tm_anomaly_forget(struct nc_tm_store *st, const char *key, struct nc_err *err);

/* A PNG graph of one metric of one object over [start, end] (librrd's graph API). */
int nc_tm_graph(struct nc_tm_store *st, enum nc_metric_target t, const char *id,
		const char *metric, time_t start, time_t end, unsigned width, unsigned height,
		const char *png_path, struct nc_err *err);
/* the same into memory: the PNG's bytes appended to *png (serve's API) */
int nc_tm_graph_png(struct nc_tm_store *st, enum nc_metric_target t, const char *id,
		    const char *metric, time_t start, time_t end, unsigned width, unsigned height,
		    struct nc_buf *png, struct nc_err *err);

#endif
