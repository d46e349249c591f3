/*
 * lease/file.c - the lease as an exclusive flock on a file.
 *
 * The holder writes its description into the file; a contender that finds
 * the lock taken reads it to say who holds it.  The kernel drops the lock
 * when the holder's process ends, however it ends.
 *
 * A flock belongs to an inode, not to a path: once the file is unlinked or
 * replaced (rm, mv, a clean-up job), a newcomer opening the path locks a
 * different inode and would lead beside the old holder.  So:
 *
 *   - at every renewal the holder checks that the path still names the
 *     inode it locked (fstat of its descriptor against stat of the path:
 *     st_dev and st_ino); when it does not, the holder lets the lock go and
 *     reports the lease as lost (0), then contends again on the path;
 *   - a contender whose descriptor no longer matches the path reopens the
 *     path (creating the file) before it tries;
 *   - a lock just taken is reported as held only after NC_LEASE_FILE_GRACE_MS
 *     during which the path kept naming it: longer than the interval at which
 *     a holder re-checks (serve renews every 250 ms, also during a pass), so
 *     a holder that has not yet seen the replacement has given up before the
 *     new one acts.
 */
#include "lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../spec/util.h"

#ifndef NC_LEASE_FILE_GRACE_MS
#define NC_LEASE_FILE_GRACE_MS 1000
#endif

struct nc_lease {
	char *path;
	char *owner;
	int fd;
	bool held;
};

static int open_path(struct nc_lease *l, struct nc_err *err)
{
	int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		nc_err_set(err, "cannot open lease file %s: %s", l->path, strerror(errno));
		return -1;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	return 0;
}

/* true when the path names the inode our descriptor is open on */
static bool path_names_fd(const struct nc_lease *l)
{
	struct stat a, b;

	if (l->fd < 0 || fstat(l->fd, &a) < 0 || stat(l->path, &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

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
	l->fd = -1;
	if (open_path(l, err) < 0) {
		free(l->path);
		free(l->owner);
		free(l);
		return -1;
	}
	*out = l;
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static int lf_try(struct nc_lease *l, char **holder, struct nc_err *err)
{
	char buf[256];
	ssize_t n;
	unsigned waited;

	if (holder)
		*holder = NULL;
	if (l->held) {
		if (path_names_fd(l))
			return 1;
		/* the file was removed or replaced: this lock no longer excludes anyone */
		flock(l->fd, LOCK_UN);
		l->held = false;
		if (holder)
			*holder = nc_xasprintf("nobody: lease file %s was removed or replaced; "
					       "this instance gave the lease up and contends again", l->path);
		return 0;
	}
	if (!path_names_fd(l) && open_path(l, err) < 0)
		return -1;
	if (flock(l->fd, LOCK_EX | LOCK_NB) < 0) {
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
	/* the description is a courtesy: a failure to write it changes nothing */
	if (ftruncate(l->fd, 0) == 0 && pwrite(l->fd, l->owner, strlen(l->owner), 0) < 0)
		buf[0] = '\0';
	/* act only once a holder that missed a replacement has had time to see it */
	for (waited = 0; waited < NC_LEASE_FILE_GRACE_MS; waited += 50) {
		sleep_ms(50);
		if (!path_names_fd(l)) {
			flock(l->fd, LOCK_UN);
			if (holder)
				*holder = nc_xasprintf("nobody: lease file %s was replaced while this instance "
						       "was taking it", l->path);
			return 0;
		}
	}
	l->held = true;
	return 1;
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
	if (l->fd >= 0)
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
