/*
 * store-int.h - what telemetry/store.c shares with graph.c (the Holt-Winters
 * files and graphs): the store's private struct, its per-file cache and the
 * librrd helpers.  Not for other modules: they use store.h.
 */
#ifndef NC_TM_STORE_INT_H
#define NC_TM_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <rrd.h>
#include <rrd_client.h>

#include "../spec/util.h"
#include "store.h"

struct nc_tm_store {
	char *dir;
	char *rrdcached;
	unsigned step;
	bool read_only;
	unsigned create_limit;
	void (*log)(void *opaque, const char *line);   /* nc_tm_store_opts */
	void *log_opaque;
	unsigned long long anomaly_limit;   /* bytes */
	unsigned long long anomaly_bytes;   /* of DIR/anomaly, counted once, then kept up to date */
	bool anomaly_counted;
	pthread_mutex_t lock;    /* files */
	void *files;             /* tsearch tree of struct nc_tm_file */
	size_t nfiles;
};

/* librrd calls that parse argv like the command line (graph, tune) run under it */
extern pthread_mutex_t nc_rrd_argv_lock;
/*
 * librrd's rrdcached client (rrdc_*) is one connection per process (Debian's
 * librrd exports no rrd_client_new): a store connects it to its address and
 * makes its calls under this lock (taken after the store's own).
 */
extern pthread_mutex_t nc_rrdc_lock;
int nc_tm_rrdc_connect(struct nc_tm_store *st, struct nc_err *err);

struct nc_tm_file;
struct nc_tm_file *nc_tm_store_file(struct nc_tm_store *st, const char *key);
void nc_tm_store_forget(struct nc_tm_store *st, const char *key);

#define NC_TM_RRA_MAX 4
struct nc_tm_rra {
	unsigned long pdp;       /* steps per row */
	unsigned long rows;
};
size_t nc_tm_store_layout(unsigned step, struct nc_tm_rra out[NC_TM_RRA_MAX]);

/* librrd's error of this thread, never NULL */
const char *nc_tm_rrd_error(void);
rrd_info_t *nc_tm_info(struct nc_tm_store *st, const char *path);
bool nc_tm_info_val(const rrd_info_t *in, const char *key, double *out);
int nc_tm_create(struct nc_tm_store *st, const char *path, unsigned long step, time_t last_up,
		 int argc, const char **argv, struct nc_err *err);
int nc_tm_update(struct nc_tm_store *st, const char *path, const char *value, struct nc_err *err);
int nc_tm_set_aside(struct nc_tm_store *st, const char *path, const char *why, struct nc_buf *msg);
/* 1 and *out, or -1 (store lock held by the caller) */
int nc_tm_fetch_path(struct nc_tm_store *st, const char *path, const char *cf, const char *ds,
		     time_t start, time_t end, time_t resolution, struct nc_tm_series *out,
		     struct nc_err *err);

#endif
