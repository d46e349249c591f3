/*
 * lease/rados.c - the lease as an exclusive RADOS object lock with a
 * duration (rados_lock_exclusive).  The holder renews it each time it
 * checks (LIBRADOS_LOCK_FLAG_MAY_RENEW), well within the duration; if the
 * holder dies, the lock expires after the duration and a standby takes it.
 * The cookie is unique per process, so a restarted instance is a new holder.
 */
#include "lease.h"

#include <errno.h>
#include <rados/librados.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../spec/util.h"

#define LOCK_NAME "novacron-lease"

struct nc_lease {
	rados_t cluster;
	rados_ioctx_t io;
	char *object, *cookie, *owner;
	unsigned duration_ms;
	bool connected, held;
};

static int lr_open(struct nc_lease **out, const struct nc_lease_opts *o, struct nc_err *err)
{
	struct nc_lease *l = nc_xcalloc(1, sizeof(*l));
	int r;

	l->object = nc_xstrdup(o->object ? o->object : "novacron-lease");
	l->owner = nc_xstrdup(o->owner ? o->owner : "novacron");
	l->cookie = nc_xasprintf("%s:%ld", l->owner, (long)random());
	l->duration_ms = o->duration_ms ? o->duration_ms : 30000;
	if ((r = rados_create(&l->cluster, o->user ? o->user : "admin")) < 0 ||
	    (r = rados_conf_read_file(l->cluster, o->ceph_conf)) < 0 ||
	    (r = rados_conf_set(l->cluster, "client_mount_timeout", "10")) < 0 ||
	    (r = rados_connect(l->cluster)) < 0) {
		nc_err_set(err, "rados lease: cannot connect with %s: %s", o->ceph_conf, strerror(-r));
		goto fail;
	}
	l->connected = true;
	if ((r = rados_ioctx_create(l->cluster, o->pool, &l->io)) < 0) {
		nc_err_set(err, "rados lease: pool %s: %s", o->pool, strerror(-r));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	if (l->connected)
		rados_shutdown(l->cluster);
	free(l->object);
	free(l->owner);
	free(l->cookie);
	free(l);
	return -1;
}

static int lr_try(struct nc_lease *l, char **holder, struct nc_err *err)
{
	struct timeval d = { l->duration_ms / 1000, (l->duration_ms % 1000) * 1000 };
	int r;

	if (holder)
		*holder = NULL;
	r = rados_lock_exclusive(l->io, l->object, LOCK_NAME, l->cookie, l->owner, &d,
				 LIBRADOS_LOCK_FLAG_MAY_RENEW);
	if (r == 0) {
		l->held = true;
		return 1;
	}
	l->held = false;
	if (r == -EBUSY || r == -EEXIST) {
		char tag[128], clients[512], cookies[512], addrs[512];
		size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies), al = sizeof(addrs);
		int excl = 0;

		if (holder && rados_list_lockers(l->io, l->object, LOCK_NAME, &excl, tag, &tl, clients, &cl,
						 cookies, &kl, addrs, &al) > 0)
			*holder = nc_xstrdup(cookies);
		return 0;
	}
	nc_err_set(err, "rados lease: %s", strerror(-r));
	return -1;
}

static void lr_release(struct nc_lease *l)
{
	if (l->held)
		rados_unlock(l->io, l->object, LOCK_NAME, l->cookie);
	l->held = false;
}

static void lr_close(struct nc_lease *l)
{
	if (!l)
		return;
	lr_release(l);
	rados_ioctx_destroy(l->io);
	rados_shutdown(l->cluster);
	free(l->object);
	free(l->owner);
	free(l->cookie);
	free(l);
}

const struct nc_lease_driver nc_lease_rados = {
	.name = "rados",
	.open = lr_open,
	.try_acquire = lr_try,
	.release = lr_release,
	.close = lr_close,
};
