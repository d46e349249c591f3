/*
 * federation.h - the federation view (docs/federation.md "Federation
 * view"): each cluster's serve, read over HTTP, one row per cluster.
 *
 * The list of serves comes from the operator's trusted configuration
 * (`federation:` in serve.yaml: {cluster, url, tokenFile}), never from the
 * spec.  Each serve's GET /status is read with libcurl (http and https
 * only, no redirects, a timeout per serve, all at once); a serve that cannot
 * be read is a row that says why, not an error.  A token file is read as
 * serve reads its own (mode 0600, no blanks) and sent as a bearer token;
 * neither it nor credentials in a URL are ever printed.
 *
 * `novacron status --all` prints the rows (text or JSON); serve answers
 * GET /api/v1/federation with the same JSON from its own configuration
 * (nc_federation_answer: read on a thread of its own, answered as a stream,
 * so libmicrohttpd's one thread keeps answering, its own /status included).
 */
#ifndef NC_FEDERATION_H
#define NC_FEDERATION_H

#include <stdbool.h>
#include <stdint.h>

#include "../spec/model.h"

struct nc_fed_row {
	char *cluster;               /* as configured */
	char *url;                   /* redacted: no credentials */
	bool reachable;
	char *error;                 /* why not (reachable false), or NULL */
	/* from its /status (reachable) */
	char *serves;                /* the cluster the serve says it acts on (NULL: all) */
	bool leader;
	char *revision;              /* in force, or NULL */
	char *result;                /* the last pass: ok, failed, standby, ... */
	int64_t last_pass;           /* UNIX time, 0: none */
	uint64_t hosts, hosts_up, vms_running, vms_stopped, vms_other, drift, pending;
};

/* Reads every serve of peers (struct nc_serve_peer, serve.h), timeout_ms each (0: 5000),
 * into *out (one row per entry, in the configuration's order); returns how many. */
size_t nc_federation_read(struct nc_fed_row **out, const struct nc_list *peers, unsigned timeout_ms);
void nc_federation_free(struct nc_fed_row *rows, size_t n);

/*
 * JSON (format_version 1):
 *   {"format_version": 1, "clusters": [{"cluster", "url", "reachable", "error", "serves", "leader",
 *    "revision", "last_pass": {"result", "time"}, "hosts": {"total", "up"},
 *    "vms": {"running", "stopped", "other"}, "drift", "pending_actions"}], "unreachable": N}
 * text: a header and one line per cluster.
 */
void nc_federation_json(const struct nc_fed_row *rows, size_t n, struct nc_buf *out);
void nc_federation_text(const struct nc_fed_row *rows, size_t n, struct nc_buf *out);

/*
 * GET /api/v1/federation (docs/api.md): reads a copy of peers (a reload may
 * free the configuration) on a detached thread, NC_FEDERATION_READS_MAX at
 * once in the process (then 503), and answers 200 with a stream (web.h)
 * that has nothing to read until the JSON is there; wake(wake_cls) is called
 * then, unless the stream has ended.  Nothing is cached: each request reads
 * every serve again.
 */
#define NC_FEDERATION_READS_MAX 8
/* a copy of a federation: list (struct nc_serve_peer) whose strings it owns; _release frees them */
void nc_federation_peers_dup(struct nc_list *out, const struct nc_list *peers);
void nc_federation_peers_release(struct nc_list *peers);
struct nc_web_resp;
void nc_federation_answer(const struct nc_list *peers, void (*wake)(void *cls), void *wake_cls,
			  struct nc_web_resp *resp);

#endif
