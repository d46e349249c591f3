/*
 * graph.c - a PNG of one metric of one object (store.h nc_tm_graph), through
 * librrd's graph API (rrd_graph_v): the AVERAGE as an area, the MAX as a
 * line, the object and metric in the title, the unit on the vertical axis.
 *
 * rrd_graph_v() is the command line's `rrdtool graph` (librrd 1.7.2 parses
 * its argv reentrantly, but sets up pango's font map for the whole process),
 * so it runs under nc_rrd_argv_lock; with rrdcached, --daemon makes it flush the
 * file first.  The PNG path is the operator's (a command-line argument);
 * the object's id is checked as for every file of the store.
 */
#include "store.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../spec/util.h"
#include "store-int.h"

/*
 * librrd 1.7.2's rrd_graph_v() leaks a few small strings per call (GPRINT
 * formats, font names), and pango, cairo and fontconfig keep caches for
 * the life of the process.  Under LeakSanitizer (NC_SANITIZE builds) the
 * allocations made inside the call are not reported, nor fontconfig's
 * caches filled by pango's font thread; nothing else is hidden.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define lsan_off() __lsan_disable()
#define lsan_on() __lsan_enable()
/* pango loads fonts in a thread of its own: fontconfig's pattern caches from there */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}
#else
#define lsan_off() ((void)0)
#define lsan_on() ((void)0)
#endif

/* a file name inside DEF: ':' and '\' escaped (rrd_graph splits on ':') */
static void add_escaped(struct nc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ':' || *s == '\\')
			nc_buf_addc(b, '\\');
		nc_buf_addc(b, *s);
	}
}

static const char *unit_label(enum nc_metric_unit u)
{
	switch (u) {
	case NC_MU_RATIO: return "ratio (0-1)";
	case NC_MU_BYTES: return "bytes";
	case NC_MU_BYTES_PER_S: return "bytes/s";
	case NC_MU_OPS_PER_S: return "operations/s";
	case NC_MU_COUNT: return "count";
	case NC_MU_BOOL: return "0 or 1";
	}
	return "";
}

/* png_path "-": the PNG into *png (librrd hands the image back instead of writing a file) */
static int graph_run(struct nc_tm_store *st, enum nc_metric_target t, const char *id,
		     const char *metric, time_t start, time_t end, unsigned width, unsigned height,
		     const char *png_path, struct nc_buf *png, struct nc_err *err)
{
	const struct nc_metric_info *m = nc_metric_find(t, metric);
	struct nc_buf rrd = NC_BUF_INIT, title = NC_BUF_INIT, def_avg = NC_BUF_INIT,
		      def_max = NC_BUF_INIT;
	char s_start[32], s_end[32], s_w[16], s_h[16];
	const char *argv[32];
	int argc = 0, ret = -1;
	rrd_info_t *info;
	struct stat sb;

	if ((unsigned)t >= NC_MT__COUNT || !m) {
		nc_err_set(err, "no %s metric '%s'", nc_metric_target_name(t), metric ? metric : "");
		return -1;
	}
	if (!nc_tm_id_ok(id)) {
		nc_err_set(err, "%s '%s': not a valid name ([A-Za-z0-9._@-], no leading '.', at most "
			   "200 bytes)", nc_metric_target_name(t), id ? id : "");
		return -1;
	}
	if (end <= start) {
		nc_err_set(err, "graph: the end must be after the start");
		return -1;
	}
	if (width < 100 || width > 4000 || height < 50 || height > 3000) {
		nc_err_set(err, "graph: a size of %ux%u (width 100 to 4000, height 50 to 3000)",
			   width, height);
		return -1;
	}
	if (!png_path || !*png_path) {
		nc_err_set(err, "graph: no output file");
		return -1;
	}
	nc_buf_addf(&rrd, "%s/%s/%s.rrd", st->dir, nc_metric_target_name(t), id);
	if (stat(rrd.buf, &sb) != 0) {
		if (errno == ENOENT)
			nc_err_set(err, "no history for %s %s (no %s)", nc_metric_target_name(t), id,
				   rrd.buf);
		else
			nc_err_set(err, "%s: %s", rrd.buf, strerror(errno));
		goto out;
	}
	snprintf(s_start, sizeof(s_start), "%lld", (long long)start);
	snprintf(s_end, sizeof(s_end), "%lld", (long long)end);
	snprintf(s_w, sizeof(s_w), "%u", width);
	snprintf(s_h, sizeof(s_h), "%u", height);
	nc_buf_addf(&title, "%s %s: %s", nc_metric_target_name(t), id, m->name);
	nc_buf_adds(&def_avg, "DEF:avg=");
	add_escaped(&def_avg, rrd.buf);
	nc_buf_addf(&def_avg, ":%s:AVERAGE", m->ds);
	nc_buf_adds(&def_max, "DEF:max=");
	add_escaped(&def_max, rrd.buf);
	nc_buf_addf(&def_max, ":%s:MAX", m->ds);

	argv[argc++] = "graph";
	argv[argc++] = png_path;
	argv[argc++] = "--imgformat";
	argv[argc++] = "PNG";
	argv[argc++] = "--start";
	argv[argc++] = s_start;
	argv[argc++] = "--end";
	argv[argc++] = s_end;
	argv[argc++] = "--width";
	argv[argc++] = s_w;
	argv[argc++] = "--height";
	argv[argc++] = s_h;
	argv[argc++] = "--title";
	argv[argc++] = title.buf;
	argv[argc++] = "--vertical-label";
	argv[argc++] = unit_label(m->unit);
	if (m->unit == NC_MU_BYTES || m->unit == NC_MU_BYTES_PER_S) {
		argv[argc++] = "--base";
		argv[argc++] = "1024";
	}
	if (st->rrdcached) {
		argv[argc++] = "--daemon";
		argv[argc++] = st->rrdcached;
	}
	argv[argc++] = def_avg.buf;
	argv[argc++] = def_max.buf;
	argv[argc++] = "VDEF:vlast=avg,LAST";
	argv[argc++] = "VDEF:vavg=avg,AVERAGE";
	argv[argc++] = "VDEF:vmax=max,MAXIMUM";
	argv[argc++] = "AREA:avg#7FB3D5:average";
	argv[argc++] = "LINE1:max#C0392B:maximum";
	argv[argc++] = "GPRINT:vlast:last %.3lf%s";
	argv[argc++] = "GPRINT:vavg:average %.3lf%s";
	argv[argc++] = "GPRINT:vmax:maximum %.3lf%s";
	argv[argc] = NULL;

	pthread_mutex_lock(&nc_rrd_argv_lock);
	if (st->rrdcached)
		pthread_mutex_lock(&nc_rrdc_lock);    /* --daemon uses librrd's one connection */
	rrd_clear_error();
	lsan_off();
	info = rrd_graph_v(argc, (char **)argv);
	lsan_on();
	if (!info || rrd_test_error()) {
		nc_err_set(err, "graph of %s %s %s: %s", nc_metric_target_name(t), id, m->name,
			   nc_tm_rrd_error());
	} else {
		rrd_info_t *w;

		ret = 0;
		for (w = info; png && w; w = w->next)
			if (w->type == RD_I_BLO && strcmp(w->key, "image") == 0)
				nc_buf_add(png, w->value.u_blo.ptr, w->value.u_blo.size);
		if (png && !png->len) {
			nc_err_set(err, "graph of %s %s %s: librrd made no image", nc_metric_target_name(t),
				   id, m->name);
			ret = -1;
		}
	}
	rrd_info_free(info);
	if (st->rrdcached)
		pthread_mutex_unlock(&nc_rrdc_lock);
	pthread_mutex_unlock(&nc_rrd_argv_lock);
out:
	nc_buf_release(&rrd);
	nc_buf_release(&title);
	nc_buf_release(&def_avg);
	nc_buf_release(&def_max);
	return ret;
}

int nc_tm_graph(struct nc_tm_store *st, enum nc_metric_target t, const char *id,
		const char *metric, time_t start, time_t end, unsigned width, unsigned height,
		const char *png_path, struct nc_err *err)
{
	if (png_path && strcmp(png_path, "-") == 0) {
		nc_err_set(err, "graph: '-' is not an output file");
		return -1;
	}
	return graph_run(st, t, id, metric, start, end, width, height, png_path, NULL, err);
}

int nc_tm_graph_png(struct nc_tm_store *st, enum nc_metric_target t, const char *id,
		    const char *metric, time_t start, time_t end, unsigned width, unsigned height,
		    struct nc_buf *png, struct nc_err *err)
{
	return graph_run(st, t, id, metric, start, end, width, height, "-", png, err);
}
