/*
 * agent.c - the fence back-end that powers a host off with a fence agent of
 * Debian's fence-agents (fence_ipmilan, fence_redfish, fence_virsh, ...).
 *
 * The agent runs by fork + execve of its path (never a shell), alone in its
 * own process group, with a fixed environment and nothing on its command
 * line: every option goes on its standard input as key=value lines (the
 * fence-agents' stdin interface): "action=...", each option of the device's
 * `options:` in key order, and "password=" with the first line of
 * passwordFile.  Standard input is an anonymous memory file (memfd), so the
 * password never touches a disk, a pipe the agent might not read, or argv.
 *
 * Fencing is two runs: action=off must exit 0, then action=status must
 * report the power off (fence-agents exit 2 for off, 0 for on).  Both runs
 * together get the device's timeout; past it the agent's whole process
 * group is killed (SIGKILL) and the fence fails with -ETIMEDOUT.  The agent's
 * output (standard output and error, at most 8 KiB) gives the error message,
 * with the password replaced by "***" and control characters by '?'.
 */
#include "fence.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../spec/util.h"

#define OUTPUT_MAX 8192

struct agent_run {
	const char *path, *name;       /* the program; its name for messages */
	const struct nc_fence_device *dev;
	const char *password;          /* or NULL */
	uint64_t deadline_ms;          /* CLOCK_MONOTONIC */
	uint64_t timeout_ms;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* the first line of the password file, malloc'd (caller wipes and frees) */
static char *read_password(const char *path, struct nc_err *err)
{
	char *text = NULL, *nl, *pw;
	size_t len = 0;
	unsigned mode = 0;
	int r = nc_read_secret_file(path, 4096, &text, &len, &mode);

	if (r == NC_SECRET_MODE_BAD) {
		char *m = nc_secret_msg("passwordFile", path, mode);

		nc_err_set(err, "%s", m);
		free(m);
		return NULL;
	}
	if (r == NC_SECRET_NOT_FILE) {
		nc_err_set(err, "passwordFile %s: not a regular file", path);
		return NULL;
	}
	if (r == -2) {
		nc_err_set(err, "passwordFile %s: larger than 4 KiB, not a password", path);
		return NULL;
	}
	if (r < 0) {
		nc_err_set(err, "passwordFile %s: cannot read it: %s", path, strerror(errno));
		return NULL;
	}
	if ((nl = strpbrk(text, "\r\n")) != NULL)
		*nl = 0;
	if (!*text) {
		nc_err_set(err, "passwordFile %s: its first line is empty", path);
		explicit_bzero(text, len);
		free(text);
		return NULL;
	}
	pw = nc_xstrdup(text);
	explicit_bzero(text, len);
	free(text);
	return pw;
}

/* the agent's standard input in a memfd, at offset 0; -1 on failure */
static int stdin_file(const struct agent_run *a, const char *action)
{
	struct nc_buf b = NC_BUF_INIT;
	size_t i;
	int fd, r;

	nc_buf_addf(&b, "action=%s\n", action);
	for (i = 0; i < a->dev->options.n; i++)
		nc_buf_addf(&b, "%s=%s\n", a->dev->options.v[i].key, a->dev->options.v[i].value);
	if (a->password)
		nc_buf_addf(&b, "password=%s\n", a->password);
	fd = memfd_create("nc-fence-stdin", MFD_CLOEXEC);
	r = fd < 0 ? -1 : nc_write_all(fd, b.buf, b.len);
	explicit_bzero(b.buf, b.len);
	nc_buf_release(&b);
	if (r < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* one line of out for a message: the agent's error, without secrets or control characters */
static void summarize(char *out, size_t outlen, const char *password, char *dst, size_t dstlen)
{
	char *line, *best = NULL, *last = NULL, *p, *save = NULL;
	struct nc_buf b = NC_BUF_INIT;
	size_t plen = password ? strlen(password) : 0, k;

	out[outlen] = 0;
	/* the password, wherever the agent echoed it */
	for (p = out; plen && (p = strstr(p, password)) != NULL; p += plen)
		memset(p, '\x01', plen);
	/* and its start, where the output was cut at OUTPUT_MAX */
	for (k = plen > outlen ? outlen : plen - (plen > 0); k > 0; k--)
		if (memcmp(out + outlen - k, password, k) == 0) {
			memset(out + outlen - k, '\x01', k);
			break;
		}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || strstr(line, "DeprecationWarning") || strncmp(line, "from ", 5) == 0 ||
		    strncmp(line, "import ", 7) == 0)
			continue;
		last = line;
		if (strstr(line, "ERROR") || strstr(line, "Failed") || strstr(line, "failed"))
			best = line;
	}
	line = best ? best : last;
	if (!line) {
		snprintf(dst, dstlen, "no output");
		return;
	}
	if ((p = strstr(line, "ERROR: ")) != NULL)
		line = p + 7;
	for (p = line; *p; p++) {
		if (*p == '\x01') {
			nc_buf_adds(&b, "***");
			while (p[1] == '\x01')
				p++;
		} else {
			nc_buf_addf(&b, "%c", (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
		}
	}
	snprintf(dst, dstlen, "%s", b.buf);
	nc_buf_release(&b);
}

/*
 * Runs the agent with action; its exit status in *status (0-255).  -ETIMEDOUT
 * when the deadline passed (its process group killed), another < 0 when it
 * could not run; its output's summary in msg either way.
 */
static int run_agent(const struct agent_run *a, const char *action, int *status, char *msg, size_t msglen)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	char *out = nc_xmalloc(OUTPUT_MAX + 1);
	size_t outlen = 0;
	int in = -1, pipefd[2] = { -1, -1 }, ret = -EIO, wst = 0;
	bool exited = false, eof = false, timed_out = false;
	siginfo_t si;
	pid_t pid;

	msg[0] = 0;
	if ((in = stdin_file(a, action)) < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "cannot prepare its standard input: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "cannot start it: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		static const int sigs[] = { SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
		char *const argv[] = { (char *)a->path, NULL };
		struct sigaction dfl;
		sigset_t none;
		size_t k;

		/* only async-signal-safe calls here: serve forks from a threaded process */
		setpgid(0, 0);
		/* what serve blocked or ignored is not the agent's (a Python agent waits for its children) */
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
			sigaction(sigs[k], &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);   /* no descriptor of serve's (libvirt's, Ceph's) leaks into it */
		execve(a->path, argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);   /* as the child does: whichever runs first */
	close(pipefd[1]);
	pipefd[1] = -1;
	close(in);
	in = -1;
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		int wait = 100;

		if (now >= a->deadline_ms) {
			timed_out = true;
			break;
		}
		if (a->deadline_ms - now < (uint64_t)wait)
			wait = (int)(a->deadline_ms - now);
		if (!eof && poll(&pfd, 1, wait) > 0) {
			char buf[1024];
			ssize_t n = read(pipefd[0], buf, sizeof(buf));

			if (n > 0) {
				size_t k = (size_t)n < OUTPUT_MAX - outlen ? (size_t)n : OUTPUT_MAX - outlen;

				memcpy(out + outlen, buf, k);
				outlen += k;
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				eof = true;
			}
		} else if (eof) {
			struct timespec ts = { 0, 20 * 1000000 };

			nanosleep(&ts, NULL);
		}
		/* exited (not reaped yet: its pid, so its group, stays ours until waitpid) */
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
			exited = true;
			if (eof)
				break;
			/* a child it left may hold the pipe: read what is there, then stop */
			while (poll(&pfd, 1, 0) > 0 && outlen < OUTPUT_MAX) {
				ssize_t n = read(pipefd[0], out + outlen, OUTPUT_MAX - outlen);

				if (n <= 0)
					break;
				outlen += (size_t)n;
			}
			break;
		}
	}
	/* whatever it left behind, or all of it on a timeout */
	kill(-pid, SIGKILL);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	summarize(out, outlen, a->password, msg, msglen);
	if (timed_out && !exited) {
		ret = -ETIMEDOUT;
	} else if (WIFEXITED(wst)) {
		*status = WEXITSTATUS(wst);
		ret = *status == 127 && !outlen ? -ENOEXEC : 0;
	} else {
		snprintf(msg, msglen, "killed by signal %d", WTERMSIG(wst));
		ret = -EIO;
	}
out:
	if (in >= 0)
		close(in);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	explicit_bzero(out, OUTPUT_MAX + 1);
	free(out);
	return ret;
}

static int timed_out(const struct agent_run *a, const char *action, struct nc_err *err)
{
	nc_err_set(err, "agent %s timed out after %llu s (action=%s); its process group was killed",
		   a->name, (unsigned long long)((a->timeout_ms + 999) / 1000), action);
	return -ETIMEDOUT;
}

static int agent_fence(const struct nc_fence_device *dev, const struct nc_fence_target *t,
		       struct nc_fence_result *res, struct nc_err *err)
{
	struct agent_run a;
	char msg[200], *path = NULL, *password = NULL;
	int r, st = -1, ret = -EIO;

	memset(&a, 0, sizeof(a));
	if (!NC_IS_SET(dev->agent)) {
		nc_err_set(err, "fence device %s: no agent", dev->name.v);
		return -EINVAL;
	}
	if ((path = nc_fence_agent_path(dev->agent.v, err)) == NULL)
		return -ENOENT;
	if (NC_IS_SET(dev->password_file) && (password = read_password(dev->password_file.v, err)) == NULL) {
		free(path);
		return -ENOENT;
	}
	a.path = path;
	a.name = strrchr(path, '/') + 1;
	a.dev = dev;
	a.password = password;
	a.timeout_ms = nc_fence_timeout_ms(dev);
	a.deadline_ms = now_ms() + a.timeout_ms;

	r = run_agent(&a, "off", &st, msg, sizeof(msg));
	if (r == -ETIMEDOUT) {
		ret = timed_out(&a, "off", err);
		goto out;
	}
	if (r < 0 || st != 0) {
		nc_err_set(err, "agent %s could not power %s off (action=off, exit %d): %s", a.name, t->host,
			   r < 0 ? -1 : st, msg);
		goto out;
	}
	/* its word is not enough: the power must read off */
	r = run_agent(&a, "status", &st, msg, sizeof(msg));
	if (r == -ETIMEDOUT) {
		ret = timed_out(&a, "status", err);
		goto out;
	}
	if (r == 0 && st == 0) {
		nc_err_set(err, "agent %s powered %s off, but its status still reports the power on: "
			   "not fenced", a.name, t->host);
		goto out;
	}
	if (r < 0 || st != 2) {
		nc_err_set(err, "agent %s: the status of %s after action=off is unknown (exit %d): %s; "
			   "not fenced", a.name, t->host, r < 0 ? -1 : st, msg);
		goto out;
	}
	res->whole_host = true;
	snprintf(res->detail, sizeof(res->detail), "powered off by %s (%s), its status reports off",
		 a.name, dev->name.v);
	ret = NC_FENCE_DONE;
out:
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	free(path);
	return ret;
}

const struct nc_fence_driver nc_fence_agent_driver = {
	.type = "agent",
	.fence = agent_fence,
};
