/*
 * registry.c - the table of host drivers, lookup by URI scheme, and the
 * NOVACRON_FAIL_AT fault switch shared by every driver.
 */
#include "driver.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

extern const struct nc_host_driver nc_driver_libvirt;
extern const struct nc_host_driver nc_driver_sim;

static const struct nc_host_driver *const drivers[] = {
	&nc_driver_sim,
	&nc_driver_libvirt,
};

const struct nc_host_driver *nc_driver_for_uri(const char *uri)
{
	const char *colon = strstr(uri, "://");
	size_t n, i, j;

	if (!colon)
		return NULL;
	n = (size_t)(colon - uri);
	for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		for (j = 0; drivers[i]->schemes[j]; j++)
			if (strlen(drivers[i]->schemes[j]) == n &&
			    strncmp(drivers[i]->schemes[j], uri, n) == 0)
				return drivers[i];
	return NULL;
}

int nc_host_open(struct nc_host_conn **out, const char *uri, const struct nc_driver_opts *opts,
		 struct nc_err *err)
{
	const struct nc_host_driver *drv = nc_driver_for_uri(uri);

	if (!drv) {
		nc_err_set(err, "no driver for URI '%s' (supported: qemu, qemu+ssh, qemu+tcp, qemu+tls, test, sim)",
			   uri);
		return -1;
	}
	return drv->open(out, uri, opts, err);
}

void nc_host_close(struct nc_host_conn *conn)
{
	if (conn)
		conn->drv->close(conn);
}

static atomic_long fault_calls;
static long fault_at = -1;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void fault_init(void)
{
	const char *s = getenv("NOVACRON_FAIL_AT");

	fault_at = s && *s ? strtol(s, NULL, 10) : -1;
}

int nc_driver_fault(const char *what, struct nc_err *err)
{
	long n;

	pthread_once(&fault_once, fault_init);
	if (fault_at <= 0)
		return 0;
	n = atomic_fetch_add(&fault_calls, 1) + 1;
	if (n != fault_at)
		return 0;
	nc_err_set(err, "%s: injected failure (NOVACRON_FAIL_AT=%ld)", what, fault_at);
	return -1;
}

void nc_host_stats_release(struct nc_host_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ndoms; i++) {
		struct nc_dom_stats *d = &s->doms[i];
		for (size_t k = 0; k < d->ndisks; k++)
			free(d->disks[k].dev);
		for (size_t k = 0; k < d->nnics; k++) {
			free(d->nics[k].dev);
			free(d->nics[k].mac);
		}
		free(d->disks);
		free(d->nics);
		free(d->name);
	}
	for (size_t i = 0; i < s->npools; i++)
		free(s->pools[i].name);
	free(s->doms);
	free(s->pools);
	memset(s, 0, sizeof(*s));
}
