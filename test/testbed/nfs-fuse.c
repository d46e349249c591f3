/*
 * nfs-fuse.c - a user-space NFS client on FUSE, for the testbed only: this
 * machine's kernel has no NFS client, so test/testbed/libvirtd.sh can bind
 * this program over /sbin/mount.nfs inside a libvirt daemon's mount namespace
 * (NC_LV_BIND), and libvirt's own netfs pool code (mount -t nfs SERVER:EXPORT
 * DIR -o ...,nfsvers=N) gets a real mount of a real NFS server
 * (test/testbed/nfs.sh, nfs-ganesha).  Not part of NovaCron.
 *
 * usage (as mount(8) runs a mount helper):
 *     mount.nfs SERVER:/EXPORT DIR [-o OPTIONS] [-s] [-f] [-n] [-v]
 * OPTIONS: nfsvers=3|4 (or vers=; default 3); the rest is ignored.
 * Environment: NC_NFS_FUSE_TIMEOUT_MS, each NFS call's timeout (default 2000):
 * when the server is away, file operations fail with EIO after it instead of
 * hanging; libnfs reconnects when the server is back.
 *
 * The helper connects (NFS mount), mounts DIR (FUSE, fsname SERVER:/EXPORT,
 * type fuse.glusterfs (see NC_FUSE_SUBTYPE below), as /proc/mounts shows it:
 * libvirt compares the source and the directory), forks a
 * child that serves it and exits 0 once the mount is in place; `umount DIR`
 * ends the child.  No kernel caching at all (attribute, entry and page
 * cache off, direct I/O): two hosts mounting one export see each other's
 * writes at once, as a live migration between them needs.  One libnfs
 * context, a single-threaded FUSE loop.  Operations: getattr, readdir,
 * open, create, read, write, flush, fsync, release, truncate, unlink,
 * mkdir, rmdir, rename, chmod, chown, utimens, statfs, readlink, symlink,
 * access.
 */
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw-nfs4.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/*
 * The mount's type in /proc/mounts is fuse.SUBTYPE.  libvirt knows a shared
 * (network) file system by its statfs magic, and on FUSE only by a few
 * subtypes (virFileIsSharedFixFUSE: glusterfs, quobyte); on any other it
 * takes the disk for a local file and refuses a live migration without
 * storage copy ("Migration without shared storage is unsafe").  A kernel NFS
 * mount has NFS_SUPER_MAGIC, which libvirt knows.  So that libvirt treats
 * this mount as the network file system it is, the default subtype is
 * glusterfs; -DNC_FUSE_SUBTYPE='"nfs"' builds it honest to the letter.
 */
#ifndef NC_FUSE_SUBTYPE
#define NC_FUSE_SUBTYPE "glusterfs"
#endif

static struct nfs_context *nfs;
static int timeout_ms;

/*
 * Fail fast while the server does not answer: a call that failed after
 * about the timeout marks the server down, and for the next second every
 * call fails with EIO at once (a kernel "soft" mount fails each call after
 * its timeout; one directory listing costs the kernel and libvirt a dozen
 * calls, which would add up to minutes).  A call that succeeds clears it.
 */
static double down_until;

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* libnfs returns -errno */
static int rc(int r)
{
	return r < 0 ? r : 0;
}

#define GATE() do { if (mono() < down_until) return -EIO; } while (0)
/* r: a libnfs result of a call begun at t0 */
static int seen(int r, double t0)
{
	double now = mono();

	if (r < 0 && now - t0 >= 0.8 * timeout_ms / 1000.0)
		down_until = now + 1.0;
	else if (r >= 0)
		down_until = 0;
	return r;
}
#define NFS(call) (t0_ = mono(), seen((call), t0_))

static void to_stat(const struct nfs_stat_64 *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = s->nfs_ino;
	st->st_mode = s->nfs_mode;
	st->st_nlink = s->nfs_nlink;
	st->st_uid = s->nfs_uid;
	st->st_gid = s->nfs_gid;
	st->st_rdev = s->nfs_rdev;
	st->st_size = s->nfs_size;
	st->st_blksize = 4096;
	st->st_blocks = s->nfs_used ? (blkcnt_t)((s->nfs_used + 511) / 512) : (blkcnt_t)s->nfs_blocks;
	st->st_atim.tv_sec = s->nfs_atime;
	st->st_atim.tv_nsec = s->nfs_atime_nsec;
	st->st_mtim.tv_sec = s->nfs_mtime;
	st->st_mtim.tv_nsec = s->nfs_mtime_nsec;
	st->st_ctim.tv_sec = s->nfs_ctime;
	st->st_ctim.tv_nsec = s->nfs_ctime_nsec;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->attr_timeout = 0;
	cfg->entry_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	cfg->hard_remove = 1;
	cfg->use_ino = 1;
	return NULL;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	struct nfs_stat_64 s;
	int r = fi && fi->fh ? NFS(nfs_fstat64(nfs, (struct nfsfh *)(uintptr_t)fi->fh, &s)) : NFS(nfs_stat64(nfs, path, &s));

	if (r < 0)
		return r;
	to_stat(&s, st);
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	double t0_;

	GATE();
	struct nfsdir *d;
	struct nfsdirent *e;
	int r = NFS(nfs_opendir(nfs, path, &d));

	(void)off;
	(void)fi;
	(void)flags;
	if (r < 0)
		return r;
	while ((e = nfs_readdir(nfs, d)))
		if (fill(buf, e->name, NULL, 0, 0))
			break;
	nfs_closedir(nfs, d);
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	struct nfsfh *fh;
	int r = NFS(nfs_open(nfs, path, fi->flags & (O_ACCMODE | O_TRUNC | O_APPEND | O_SYNC), &fh));

	if (r < 0)
		return r;
	fi->fh = (uint64_t)(uintptr_t)fh;
	fi->direct_io = 1;
	return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	struct nfsfh *fh;
	int r = NFS(nfs_create(nfs, path, fi->flags & (O_ACCMODE | O_TRUNC | O_EXCL | O_SYNC), (int)(mode & 07777), &fh));

	if (r < 0)
		return r;
	fi->fh = (uint64_t)(uintptr_t)fh;
	fi->direct_io = 1;
	return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	struct nfsfh *fh = (struct nfsfh *)(uintptr_t)fi->fh;
	size_t done = 0;

	(void)path;
	while (done < size) {
		int r = NFS(nfs_pread(nfs, fh, (uint64_t)off + done, size - done, buf + done));

		if (r < 0)
			return r;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (int)done;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	struct nfsfh *fh = (struct nfsfh *)(uintptr_t)fi->fh;
	size_t done = 0;

	(void)path;
	while (done < size) {
		int r = NFS(nfs_pwrite(nfs, fh, (uint64_t)off + done, size - done, buf + done));

		if (r < 0)
			return r;
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	return (int)done;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	(void)path;
	(void)datasync;
	return rc(NFS(nfs_fsync(nfs, (struct nfsfh *)(uintptr_t)fi->fh)));
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	return op_fsync(path, 0, fi);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	nfs_close(nfs, (struct nfsfh *)(uintptr_t)fi->fh);
	return 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	if (fi && fi->fh)
		return rc(NFS(nfs_ftruncate(nfs, (struct nfsfh *)(uintptr_t)fi->fh, (uint64_t)size)));
	return rc(NFS(nfs_truncate(nfs, path, (uint64_t)size)));
}

static int op_unlink(const char *path)
{
	double t0_;

	GATE();
	return rc(NFS(nfs_unlink(nfs, path)));
}

static int op_mkdir(const char *path, mode_t mode)
{
	double t0_;

	GATE();
	return rc(NFS(nfs_mkdir2(nfs, path, (int)(mode & 07777))));
}

static int op_rmdir(const char *path)
{
	double t0_;

	GATE();
	return rc(NFS(nfs_rmdir(nfs, path)));
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	double t0_;

	GATE();
	if (flags)
		return -EINVAL;
	return rc(NFS(nfs_rename(nfs, from, to)));
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	(void)fi;
	return rc(NFS(nfs_chmod(nfs, path, (int)(mode & 07777))));
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	(void)fi;
	return rc(NFS(nfs_chown(nfs, path, (int)uid, (int)gid)));
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	double t0_;

	GATE();
	struct timeval t[2];
	struct timespec now;
	int i;

	(void)fi;
	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < 2; i++) {
		struct timespec x = tv[i];

		if (x.tv_nsec == UTIME_NOW)
			x = now;
		if (x.tv_nsec == UTIME_OMIT) {
			struct nfs_stat_64 s;
			int r = NFS(nfs_stat64(nfs, path, &s));

			if (r < 0)
				return r;
			x.tv_sec = (time_t)(i ? s.nfs_mtime : s.nfs_atime);
			x.tv_nsec = (long)(i ? s.nfs_mtime_nsec : s.nfs_atime_nsec);
		}
		t[i].tv_sec = x.tv_sec;
		t[i].tv_usec = x.tv_nsec / 1000;
	}
	return rc(NFS(nfs_utimes(nfs, path, t)));
}

static int op_statfs(const char *path, struct statvfs *st)
{
	double t0_;

	GATE();
	struct nfs_statvfs_64 s;
	int r = NFS(nfs_statvfs64(nfs, path, &s));

	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	st->f_bsize = s.f_bsize;
	st->f_frsize = s.f_frsize ? s.f_frsize : s.f_bsize;
	st->f_blocks = s.f_blocks;
	st->f_bfree = s.f_bfree;
	st->f_bavail = s.f_bavail;
	st->f_files = s.f_files;
	st->f_ffree = s.f_ffree;
	st->f_favail = s.f_favail;
	st->f_namemax = s.f_namemax ? s.f_namemax : 255;
	return 0;
}

static int op_readlink(const char *path, char *buf, size_t len)
{
	double t0_;

	GATE();
	char *target = NULL;
	int r = NFS(nfs_readlink2(nfs, path, &target));

	if (r < 0)
		return r;
	snprintf(buf, len, "%s", target);
	free(target);
	return 0;
}

static int op_symlink(const char *target, const char *path)
{
	double t0_;

	GATE();
	return rc(NFS(nfs_symlink(nfs, target, path)));
}

static int op_access(const char *path, int mask)
{
	double t0_;

	GATE();
	struct nfs_stat_64 s;

	(void)mask;
	return rc(NFS(nfs_stat64(nfs, path, &s)));
}

static const struct fuse_operations ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.release = op_release,
	.truncate = op_truncate,
	.unlink = op_unlink,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.chmod = op_chmod,
	.chown = op_chown,
	.utimens = op_utimens,
	.statfs = op_statfs,
	.readlink = op_readlink,
	.symlink = op_symlink,
	.access = op_access,
};

static int version_of(const char *opts)
{
	const char *p;

	for (p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (strncmp(p, "nfsvers=", 8) == 0)
			return atoi(p + 8);
		if (strncmp(p, "vers=", 5) == 0)
			return atoi(p + 5);
	}
	return 3;
}

int main(int argc, char **argv)
{
	const char *spec = NULL, *dir = NULL, *opts = "", *t;
	char server[256], export_[1024], fsname[1400];
	int i, ver, pfd[2];
	struct fuse_args fa = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f;
	pid_t pid;
	char ok;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			opts = argv[++i];
		else if (argv[i][0] == '-')
			continue;    /* -s -f -n -v: nothing to do here */
		else if (!spec)
			spec = argv[i];
		else if (!dir)
			dir = argv[i];
	}
	if (!spec || !dir || !(t = strstr(spec, ":/"))) {
		fprintf(stderr, "usage: mount.nfs SERVER:/EXPORT DIR [-o nfsvers=3|4]\n");
		return 1;
	}
	snprintf(server, sizeof(server), "%.*s", (int)(t - spec), spec);
	if (server[0] == '[' && server[strlen(server) - 1] == ']') {
		memmove(server, server + 1, strlen(server));
		server[strlen(server) - 1] = 0;
	}
	snprintf(export_, sizeof(export_), "%s", t + 1);
	ver = version_of(opts);
	timeout_ms = getenv("NC_NFS_FUSE_TIMEOUT_MS") ? atoi(getenv("NC_NFS_FUSE_TIMEOUT_MS")) : 2000;

	nfs = nfs_init_context();
	if (!nfs || nfs_set_version(nfs, ver == 4 ? NFS_V4 : NFS_V3) < 0) {
		fprintf(stderr, "mount.nfs: cannot make an NFS v%d context\n", ver);
		return 32;
	}
	nfs_set_timeout(nfs, timeout_ms);
	if (nfs_mount(nfs, server, export_) < 0) {
		fprintf(stderr, "mount.nfs: mounting %s failed: %s\n", spec, nfs_get_error(nfs));
		return 32;
	}
	nfs_set_autoreconnect(nfs, -1);
	snprintf(fsname, sizeof(fsname), "-ofsname=%s,subtype=%s", spec, NC_FUSE_SUBTYPE);
	if (fuse_opt_add_arg(&fa, "mount.nfs") < 0 || fuse_opt_add_arg(&fa, fsname) < 0) {
		fprintf(stderr, "mount.nfs: out of memory\n");
		return 32;
	}
	f = fuse_new(&fa, &ops, sizeof(ops), NULL);
	if (!f || fuse_mount(f, dir) < 0) {
		fprintf(stderr, "mount.nfs: cannot mount %s on %s (FUSE)\n", spec, dir);
		return 32;
	}
	/* the child serves the mount; the parent returns once it is in place */
	if (pipe(pfd) < 0)
		return 32;
	pid = fork();
	if (pid < 0)
		return 32;
	if (pid > 0) {
		close(pfd[1]);
		return read(pfd[0], &ok, 1) == 1 ? 0 : 32;
	}
	close(pfd[0]);
	setsid();
	signal(SIGPIPE, SIG_IGN);
	i = open("/dev/null", O_RDWR);
	if (i >= 0) {
		dup2(i, 0);
		dup2(i, 1);
		dup2(i, 2);
		if (i > 2)
			close(i);
	}
	ok = 1;
	if (write(pfd[1], &ok, 1) != 1)
		return 32;
	close(pfd[1]);
	i = fuse_loop(f);
	fuse_unmount(f);
	fuse_destroy(f);
	fuse_opt_free_args(&fa);
	nfs_destroy_context(nfs);
	return i ? 1 : 0;
}
