/*
 * lease-file.c - the lease as an exclusive flock on a file.
 *
 * The holder writes its description into the file; a contender that finds
 * the lock taken reads it to say who holds it.  The kernel drops the lock
 * when the holder's process ends, however it ends.
 */
#include "lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../spec/util.h"

struct nc_lease {
	char *path;
	char *owner;
	int fd;
	bool held;
};

static int lf_open(struct nc_lease **out, const struct nc_lease_opts *o, struct nc_err *err)
{
	struct nc_lease *l;

	if (!o->file || !*o->file) {
		nc_err_set(err, "file lease: no path");
		return -1;
	}
	l = nc_xcalloc(1, sizeof(*l));
	l->path = nc_xstrdup(o->file);
	l->owner = nc_xstrdup(o->owner ? o->owner : "novacron");
	l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (l->fd < 0) {
		nc_err_set(err, "cannot open lease file %s: %s", l->path, strerror(errno));
		free(l->path);
		free(l->owner);
		free(l);
		return -1;
	}
	*out = l;
	return 0;
}

static int lf_try(struct nc_lease *l, char **holder, struct nc_err *err)
{
	char buf[256];
	ssize_t n;

	if (holder)
		*holder = NULL;
	if (l->held)
		return 1;
	if (flock(l->fd, LOCK_EX | LOCK_NB) == 0) {
		l->held = true;
		if (ftruncate(l->fd, 0) == 0 && pwrite(l->fd, l->owner, strlen(l->owner), 0) < 0)
			return 1;   /* the description is a courtesy */
		return 1;
	}
	if (errno != EWOULDBLOCK) {
		nc_err_set(err, "cannot lock %s: %s", l->path, strerror(errno));
		return -1;
	}
	n = pread(l->fd, buf, sizeof(buf) - 1, 0);
	if (holder && n > 0) {
		buf[n] = '\0';
		*holder = nc_xstrdup(buf);
	}
	return 0;
}

static void lf_release(struct nc_lease *l)
{
	if (l->held) {
		flock(l->fd, LOCK_UN);
		l->held = false;
	}
}

static void lf_close(struct nc_lease *l)
{
	if (!l)
		return;
	lf_release(l);
	close(l->fd);
	free(l->path);
	free(l->owner);
	free(l);
}

const struct nc_lease_driver nc_lease_file = {
	.name = "file",
	.open = lf_open,
	.try_acquire = lf_try,
	.release = lf_release,
	.close = lf_close,
};
