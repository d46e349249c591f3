/*
 * graphs.h - the history graphs of serve's API (docs/api.md "Graphs",
 * reconciler/graphs.c):
 *
 *   GET /api/v1/vms/NAME/graphs               {items: [{metric, unit, title}], ranges: [...]}
 *   GET /api/v1/vms/NAME/graphs/METRIC.png    ?since=1h|6h|24h|7d|30d&width=&height=
 *   GET /api/v1/hosts/NAME/graphs[...]        the same for a host
 *
 * PNGs are drawn by librrd (telemetry/graph.c) from the RRD files serve's
 * telemetry loop writes, and kept for NC_GRAPHS_TTL seconds per (object,
 * metric, range, size) in a bounded cache, so many clients of one graph
 * cost one rendering.  A VM another tenant owns is 404, as for
 * GET /api/v1/vms/NAME; hosts are every viewer's to see.
 */
#ifndef NC_GRAPHS_H
#define NC_GRAPHS_H

#include "api.h"
#include "web.h"

#define NC_GRAPHS_TTL 30         /* seconds a rendered PNG is served again */
#define NC_GRAPHS_CACHE 128      /* PNGs kept at most (oldest dropped first) */

struct nc_graphs;
/* dir: the telemetry directory serve writes (NULL: telemetry disabled, every graph 404) */
struct nc_graphs *nc_graphs_new(const char *dir);
void nc_graphs_free(struct nc_graphs *g);
/* true when the path was one of the graph endpoints (resp filled); p is a viewer at least */
bool nc_graphs_handle(struct nc_graphs *g, struct nc_api *a, const struct nc_web_req *req,
		      const struct nc_principal *p, struct nc_web_resp *resp);

#endif
