/*
 * test_fence.c - the fence back-ends (drivers/fence/): the trusted
 * configuration of fence devices, and each back-end against the real thing:
 * rbd against the real single-node Ceph (a second client holding the
 * exclusive lock is blocklisted, a fresh one can write), agent with real
 * fence agents, manual waiting for the operator.
 *
 * Each test works in its own temporary directory tdir.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "../drivers/fence/fence.h"
#include "../reconciler/fencing.h"
#include "../reconciler/ha.h"
#include "../spec/schema.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-fe-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void teardown(void)
{
	nc_run_inq("/", "rm -rf '%s'", tdir);
}

#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

/* ---- the configuration ---- */

struct devices_config {
	struct nc_pos pos;
	struct nc_list devices;
};
static const struct nc_field config_fields[] = {
	{ .key = "devices", .type = NC_F_LIST, .off = offsetof(struct devices_config, devices),
	  .sub = &nc_fence_device_schema },
};
static const struct nc_schema config_schema = {
	"fencing", sizeof(struct devices_config), config_fields, NC_ARRAY_SIZE(config_fields)
};

/* writes tdir/fencing.yaml (text with @ replaced by tdir), loads and checks it; returns the diagnostics */
static char *check_config(const char *text, int *out_r, struct devices_config *keep, struct nc_spec **holder)
{
	char *path = nc_xasprintf("%s/fencing.yaml", tdir);
	struct nc_buf b = NC_BUF_INIT, msgs = NC_BUF_INIT;
	struct devices_config cfg;
	struct nc_spec *h = NULL;
	struct nc_diags diags;
	const char *s;
	FILE *f;
	int r;

	for (s = text; *s; s++) {
		if (*s == '@')
			nc_buf_adds(&b, tdir);
		else
			nc_buf_addf(&b, "%c", *s);
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(b.buf, f);
	ck_assert_int_eq(fclose(f), 0);
	memset(&cfg, 0, sizeof(cfg));
	nc_diags_init(&diags);
	r = nc_config_load(&h, &config_schema, path, &cfg, &diags);
	if (r == 0)
		r = nc_fence_devices_check(&cfg.devices, &diags);
	nc_diags_sort(&diags);
	nc_diags_format_text(&diags, &msgs, 0);
	nc_diags_release(&diags);
	*out_r = r;
	if (keep) {
		*keep = cfg;
		*holder = h;
	} else {
		nc_spec_free(h);
	}
	nc_buf_release(&b);
	free(path);
	return nc_buf_detach(&msgs, NULL);
}

static void write_file(const char *name, const char *text, unsigned mode)
{
	char *path = nc_xasprintf("%s/%s", tdir, name);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	free(path);
}

START_TEST(test_fence_config_valid)
{
	struct devices_config cfg;
	struct nc_spec *h = NULL;
	const struct nc_fence_device *d;
	char *msgs;
	int r;

	write_file("ceph.conf", "[global]\n", 0644);
	write_file("key", "AQBzd2Vmc2RmZ3NkZmdzZGZnc2RmZ3NkZmc9PQ==\n", 0600);
	write_file("pw", "secret\n", 0600);
	write_file("fence_mine", "#!/bin/sh\nexit 0\n", 0755);
	msgs = check_config("devices:\n"
			    "- {name: ceph, type: rbd, cephConf: @/ceph.conf, user: fencer, keyFile: @/key, "
			    "timeout: 20s}\n"
			    "- name: bmc-kvm1\n"
			    "  type: agent\n"
			    "  agent: @/fence_mine\n"
			    "  options: {ip: 127.0.0.1, username: admin, lanplus: \"1\"}\n"
			    "  passwordFile: @/pw\n"
			    "- {name: ops, type: manual}\n", &r, &cfg, &h);
	ck_assert_msg(r == 0, "%s", msgs);
	ck_assert_str_eq(msgs, "");
	ck_assert_uint_eq(cfg.devices.n, 3);
	d = nc_fence_device_find(&cfg.devices, "bmc-kvm1");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->type.v, "agent");
	ck_assert_uint_eq(d->options.n, 3);
	ck_assert_uint_eq(nc_fence_timeout_ms(d), 60000);
	ck_assert_uint_eq(nc_fence_timeout_ms(nc_fence_device_find(&cfg.devices, "ceph")), 20000);
	ck_assert_ptr_null(nc_fence_device_find(&cfg.devices, "nope"));
	nc_spec_free(h);
	free(msgs);
}
END_TEST

/* every mistake is reported at its file:line:col, all of them at once */
START_TEST(test_fence_config_errors)
{
	char *msgs;
	int r;

	write_file("key", "AQBzd2Vmc2RmZ3NkZmdzZGZnc2RmZ3NkZmc9PQ==\n", 0644);
	write_file("fence_mine", "#!/bin/sh\nexit 0\n", 0644);   /* not executable */
	msgs = check_config("devices:\n"
			    "- {name: a, type: rbd}\n"                                       /* 2 */
			    "- {name: a, type: manual}\n"                                    /* 3 */
			    "- {name: b, type: stonith}\n"                                   /* 4 */
			    "- {name: c, type: agent, agent: \"fence_x;rm\"}\n"              /* 5 */
			    "- {name: d, type: agent, agent: fence_nosuchagent}\n"           /* 6 */
			    "- {name: e, type: agent, agent: @/fence_mine}\n"                /* 7 */
			    "- {name: f, type: agent}\n"                                     /* 8 */
			    "- {name: g, type: rbd, cephConf: @/none.conf, keyFile: @/key}\n" /* 9 */
			    "- {name: h, type: manual, timeout: 10s}\n"                      /* 10 */
			    "- {name: i, type: rbd, cephConf: @/key, options: {ip: x}}\n"    /* 11 */
			    "- {name: j, type: agent, agent: /bin/true, options: {action: reboot, "
			    "password: x, \"IP\": y, ip: \"a\\nb\"}}\n"                     /* 12 */
			    "- {name: k, type: agent, agent: /bin/true, passwordFile: @/nopw}\n" /* 13 */
			    "- {name: m, type: agent, agent: fence_../../bin/sh}\n",         /* 14 */
			    &r, NULL, NULL);
	ck_assert_int_eq(r, -1);
	HAS(msgs, "fencing.yaml:2:3: error: fence device 'a' of type rbd needs cephConf");
	HAS(msgs, "fencing.yaml:3:10: error: fence device 'a' is defined twice");
	HAS(msgs, "fencing.yaml:2:10: note: first defined here");
	HAS(msgs, "fencing.yaml:4:19: error: unknown fence device type 'stonith': expected rbd, agent or manual");
	HAS(msgs, "fencing.yaml:5:33: error: fence agent 'fence_x;rm': expected fence_NAME");
	HAS(msgs, "fencing.yaml:6:33: error: fence agent fence_nosuchagent: not found in /usr/sbin or /sbin");
	HAS(msgs, "fencing.yaml:7:33: error: fence agent /tmp/nc-fe-");
	HAS(msgs, "/fence_mine: not an executable file");
	HAS(msgs, "fencing.yaml:8:3: error: fence device 'f' of type agent needs agent");
	HAS(msgs, "fencing.yaml:9:34: error: cephConf /tmp/nc-fe-");
	HAS(msgs, "/none.conf: cannot read it: No such file or directory");
	HAS(msgs, "fencing.yaml:9:72: error: keyFile /tmp/nc-fe-");
	HAS(msgs, "chmod");
	HAS(msgs, "fencing.yaml:10:36: error: timeout is not used by a fence device of type manual");
	HAS(msgs, "error: options is not used by a fence device of type rbd");
	HAS(msgs, "error: option action is novacron's to give");
	HAS(msgs, "error: a password is never written in the configuration: give passwordFile");
	HAS(msgs, "error: invalid option 'IP'");
	HAS(msgs, "error: option ip: expected a value on one line");
	HAS(msgs, "fencing.yaml:13:");
	HAS(msgs, "/nopw: cannot read it");
	HAS(msgs, "fencing.yaml:14:33: error: fence agent 'fence_../../bin/sh'");
	free(msgs);
	/* what the loader refuses */
	msgs = check_config("devices:\n"
			    "- {name: l, type: agent, agent: /bin/true, timeout: 2h}\n"
			    "- {name: Bad_Name, type: manual}\n"
			    "- {type: manual}\n"
			    "- {name: n, type: agent, agent: /bin/true, port: 623}\n", &r, NULL, NULL);
	ck_assert_int_eq(r, -1);
	HAS(msgs, "fencing.yaml:2:53: error: 'timeout' must be between 1000ms and 600000ms, found 2h");
	HAS(msgs, "fencing.yaml:3:10: error: invalid name 'Bad_Name'");
	HAS(msgs, "fencing.yaml:4:3: error: missing required key 'name'");
	HAS(msgs, "fencing.yaml:5:");
	HAS(msgs, "port");
	free(msgs);
}
END_TEST

START_TEST(test_fence_drivers_registered)
{
	ck_assert_ptr_nonnull(nc_fence_driver_find("manual"));
	ck_assert_str_eq(nc_fence_driver_find("manual")->type, "manual");
	ck_assert_ptr_null(nc_fence_driver_find("stonith"));
	ck_assert_ptr_null(nc_fence_driver_find(NULL));
}
END_TEST

/* ---- manual ---- */

START_TEST(test_fence_manual_pending)
{
	struct nc_fence_device dev;
	struct nc_fence_target t = { "kvm1", NULL, 0 };
	struct nc_fence_result res;
	struct nc_err err;

	memset(&dev, 0, sizeof(dev));
	memset(&res, 0, sizeof(res));
	err.msg[0] = 0;
	ck_assert_int_eq(nc_fence_driver_find("manual")->fence(&dev, &t, &res, &err), NC_FENCE_PENDING);
	ck_assert(!res.whole_host);
	ck_assert_uint_eq(res.ndisks, 0);
	ck_assert_str_eq(res.detail, "waiting for `novacron fence confirm kvm1`");
	nc_fence_result_release(&res);
	nc_fence_result_release(NULL);
}
END_TEST


/* ---- agent ---- */

#define TEST_AGENT NC_SOURCE_DIR "/test/data/fence/fence_nc_test"

static struct nc_pos here = { "test", 1, 1 };

/* an agent device: options "k1", "v1", "k2", "v2", ..., NULL, in key order */
static void agent_device(struct nc_fence_device *d, struct nc_kv *kv, const char *agent,
			 const char *pwfile, uint64_t timeout_ms, const char *const *opts)
{
	size_t n = 0;

	memset(d, 0, sizeof(*d));
	d->pos = here;
	d->name = (struct nc_str){ here, "bmc" };
	d->type = (struct nc_str){ here, "agent" };
	d->agent = (struct nc_str){ here, agent };
	if (pwfile)
		d->password_file = (struct nc_str){ here, pwfile };
	if (timeout_ms)
		d->timeout = (struct nc_duration){ here, timeout_ms };
	for (; opts && opts[2 * n]; n++)
		kv[n] = (struct nc_kv){ here, opts[2 * n], opts[2 * n + 1] };
	d->options = (struct nc_map){ here, kv, n };
}

static int fence_with(const struct nc_fence_device *d, struct nc_fence_result *res, struct nc_err *err)
{
	struct nc_fence_target t = { "kvm1", NULL, 0 };

	memset(res, 0, sizeof(*res));
	err->msg[0] = 0;
	return nc_fence_driver_find(d->type.v)->fence(d, &t, res, err);
}

static char *slurp(const char *name)
{
	char *path = nc_xasprintf("%s/%s", tdir, name), *text = NULL;
	size_t len;

	if (nc_read_file(path, 1 << 20, &text, &len) < 0)
		text = nc_xstrdup("");
	free(path);
	return text;
}

/* a process that is gone (or a zombie) */
static bool gone(pid_t pid)
{
	char path[64], *text = NULL, *p;
	size_t len;
	bool z;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (nc_read_file(path, 4096, &text, &len) < 0)
		return true;
	p = strrchr(text, ')');
	z = p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	free(text);
	return z;
}

static bool gone_within(pid_t pid, int ms)
{
	struct timespec ts = { 0, 50 * 1000000 };

	for (; ms > 0; ms -= 50) {
		if (gone(pid))
			return true;
		nanosleep(&ts, NULL);
	}
	return gone(pid);
}

/* options on standard input only: nothing on argv, the password from its file, action off then status */
START_TEST(test_fence_agent_stdin_only)
{
	char *log = nc_xasprintf("%s/agent.log", tdir), *pw = nc_xasprintf("%s/pw", tdir), *text;
	const char *const opts[] = { "ip", "192.0.2.9", "log", log, "mode", "off", "username", "admin", NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[8];
	struct nc_err err;

	write_file("pw", "pa$$ word\\n'\"\nsecond line\n", 0600);
	agent_device(&d, kv, TEST_AGENT, pw, 0, opts);

	ck_assert_msg(fence_with(&d, &res, &err) == NC_FENCE_DONE, "%s", err.msg);
	ck_assert(res.whole_host);
	ck_assert_str_eq(res.detail, "powered off by fence_nc_test (bmc), its status reports off");
	text = slurp("agent.log");
	{
		char *want = nc_xasprintf("argc=0\n"
					  "action=off\nip=192.0.2.9\nlog=%s\nmode=off\nusername=admin\n"
					  "password=pa$$ word\\n'\"\n"
					  "argc=0\n"
					  "action=status\nip=192.0.2.9\nlog=%s\nmode=off\nusername=admin\n"
					  "password=pa$$ word\\n'\"\n", log, log);

		ck_assert_str_eq(text, want);
		free(want);
	}
	nc_fence_result_release(&res);
	free(text);
	free(log);
	free(pw);
}
END_TEST

/*
 * What the caller (serve, threaded) blocked or ignored is not the agent's: a
 * Python agent that cannot get SIGCHLD or SIGTERM misbehaves.  The agent is
 * Python (sh would clear its mask itself): it logs its blocked signals and
 * whether SIGHUP and SIGCHLD are ignored, and reports the power off.
 */
START_TEST(test_fence_agent_signals_reset)
{
	char *log = nc_xasprintf("%s/sigs.log", tdir), *text;
	const char *const opts[] = { "log", log, NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[2];
	struct nc_err err;
	sigset_t set;

	if (access("/usr/bin/python3", X_OK) != 0) {
		NC_TEST_SKIP("needs /usr/bin/python3");
		free(log);
		return;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	signal(SIGHUP, SIG_IGN);
	agent_device(&d, kv, NC_SOURCE_DIR "/test/data/fence/fence_nc_sigs", NULL, 0, opts);
	ck_assert_msg(fence_with(&d, &res, &err) == NC_FENCE_DONE, "%s", err.msg);
	text = slurp("sigs.log");
	ck_assert_str_eq(text, "off blocked=0000000000000000 hup=default chld=default\n"
			 "status blocked=0000000000000000 hup=default chld=default\n");
	nc_fence_result_release(&res);
	free(text);
	free(log);
}
END_TEST

/* off exits 0 but the power still reads on: not fenced */
START_TEST(test_fence_agent_status_still_on)
{
	const char *const opts[] = { "mode", "on", NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[2];
	struct nc_err err;

	agent_device(&d, kv, TEST_AGENT, NULL, 0, opts);
	ck_assert_int_lt(fence_with(&d, &res, &err), 0);
	ck_assert(!res.whole_host);
	ck_assert_str_eq(err.msg, "agent fence_nc_test powered kvm1 off, but its status still reports the "
			 "power on: not fenced");
	nc_fence_result_release(&res);
}
END_TEST

/* a failing agent: its error, the password it echoed replaced by *** */
START_TEST(test_fence_agent_fails)
{
	char *pw = nc_xasprintf("%s/pw", tdir);
	const char *const opts[] = { "mode", "fail", NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[2];
	struct nc_err err;

	write_file("pw", "Hunter2-secret\n", 0600);
	agent_device(&d, kv, TEST_AGENT, pw, 0, opts);
	ck_assert_int_lt(fence_with(&d, &res, &err), 0);
	ck_assert(!res.whole_host);
	ck_assert_str_eq(err.msg, "agent fence_nc_test could not power kvm1 off (action=off, exit 1): "
			 "Failed: Unable to connect/login to fencing device (password *** refused)");
	HASNT(err.msg, "Hunter2");
	nc_fence_result_release(&res);
	free(pw);
}
END_TEST

/*
 * An agent that floods its output, echoing the password where the first
 * 8 KiB kept of it end: the password's start, cut there, is no less secret.
 */
START_TEST(test_fence_agent_flood_password_cut)
{
	char *pw = nc_xasprintf("%s/pw", tdir);
	const char *const opts[] = { "mode", "flood", NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[2];
	struct nc_err err;

	write_file("pw", "Hunter2-secret\n", 0600);
	agent_device(&d, kv, TEST_AGENT, pw, 0, opts);
	ck_assert_int_lt(fence_with(&d, &res, &err), 0);
	ck_assert(!res.whole_host);
	ck_assert_str_eq(err.msg, "agent fence_nc_test could not power kvm1 off (action=off, exit 1): ***");
	HASNT(err.msg, "Hunt");
	nc_fence_result_release(&res);
	free(pw);
}
END_TEST

/*
 * A device run that outlives ha.fenceTimeout is left to end alone; until it
 * does, no other run is started for its host (the host is not fenced, so
 * nothing of it restarted): a late rbd run would otherwise read the lock
 * owner after the restarted copy took it, and blocklist that copy.
 */
START_TEST(test_fence_left_behind_run_blocks_others)
{
	static const char *const slow_yaml = "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: kvm1}\n"
					     "spec: {uri: \"sim:///kvm1\", fence: [slow]}\n";
	static const char *const quick_yaml = "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: kvm1}\n"
					      "spec: {uri: \"sim:///kvm1\", fence: [quick]}\n";
	char *log = nc_xasprintf("%s/agent.log", tdir);
	const char *const hang[] = { "mode", "hang", "log", log, NULL }, *const off[] = { "mode", "off", NULL };
	char *vms[] = { (char *)"a" };
	struct nc_fence_targets t = { NULL, 0, vms, 1, true };
	struct nc_fence_device devs[2];
	struct nc_kv kv1[2], kv2[1];
	struct nc_list list;
	struct nc_fencing_opts fo;
	struct nc_fencing_outcome out;
	struct nc_spec *slow = NULL, *quick = NULL;
	struct nc_diags diags;
	struct nc_err err = { "" };
	int r, k;

	nc_diags_init(&diags);
	ck_assert_int_eq(nc_spec_load_buffer(&slow, "t.yaml", slow_yaml, strlen(slow_yaml), NULL, &diags), 0);
	ck_assert_int_eq(nc_spec_load_buffer(&quick, "t.yaml", quick_yaml, strlen(quick_yaml), NULL, &diags), 0);
	agent_device(&devs[0], kv1, TEST_AGENT, NULL, 2000, hang);
	devs[0].name = (struct nc_str){ here, "slow" };
	agent_device(&devs[1], kv2, TEST_AGENT, NULL, 0, off);
	devs[1].name = (struct nc_str){ here, "quick" };
	list.pos = here;
	list.v = devs;
	list.n = 2;
	memset(&fo, 0, sizeof(fo));
	fo.state_dir = tdir;
	fo.devices = &list;
	fo.timeout_ms = 300;
	r = nc_fence_host(slow, &t, "kvm1", &fo, &out, &err);
	ck_assert_int_eq(r, -1);
	HAS(err.msg, "timed out after 0.3 s");
	/* the slow run goes on (the device's own 2 s): the quick device is not run meanwhile */
	r = nc_fence_host(quick, &t, "kvm1", &fo, &out, &err);
	ck_assert_msg(r == -1, "fenced while an earlier run still goes: %d %s", r, out.detail);
	ck_assert_str_eq(err.msg, "an earlier fence run of host kvm1 (one that timed out) is still going: no other "
			 "is started until it ends");
	ck_assert_uint_eq(out.attempts, 0);
	/* once it ended (its agent killed at 2 s), the quick one fences */
	for (k = 0; k < 100; k++) {
		r = nc_fence_host(quick, &t, "kvm1", &fo, &out, &err);
		if (r == NC_FENCE_DONE)
			break;
		usleep(100 * 1000);
	}
	ck_assert_msg(r == NC_FENCE_DONE, "%s", err.msg);
	ck_assert(out.whole_host);
	nc_spec_free(slow);
	nc_spec_free(quick);
	nc_diags_release(&diags);
	free(log);
}
END_TEST

/* a hanging agent is killed with its process group at the timeout */
START_TEST(test_fence_agent_hangs)
{
	char *log = nc_xasprintf("%s/agent.log", tdir), *child;
	const char *const opts[] = { "log", log, "mode", "hang", NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[3];
	struct nc_err err;

	agent_device(&d, kv, TEST_AGENT, NULL, 1000, opts);
	ck_assert_int_eq(fence_with(&d, &res, &err), -ETIMEDOUT);
	ck_assert(!res.whole_host);
	ck_assert_str_eq(err.msg, "agent fence_nc_test timed out after 1 s (action=off); its process group "
			 "was killed");
	child = slurp("agent.log.child");
	ck_assert_int_gt(atoi(child), 1);
	ck_assert_msg(gone_within((pid_t)atoi(child), 3000), "the agent's child %s still runs", child);
	nc_fence_result_release(&res);
	free(child);
	free(log);
}
END_TEST

START_TEST(test_fence_agent_password_file_missing)
{
	char *pw = nc_xasprintf("%s/nopw", tdir), *log = nc_xasprintf("%s/agent.log", tdir), *text;
	const char *const opts[] = { "log", log, "mode", "off", NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[3];
	struct nc_err err;

	agent_device(&d, kv, TEST_AGENT, pw, 0, opts);
	ck_assert_int_eq(fence_with(&d, &res, &err), -ENOENT);
	HAS(err.msg, "passwordFile /tmp/nc-fe-");
	HAS(err.msg, "/nopw: cannot read it: No such file or directory");
	text = slurp("agent.log");
	ck_assert_str_eq(text, "");   /* the agent never ran */
	/* a password file others may read is refused too */
	write_file("nopw", "x\n", 0644);
	ck_assert_int_eq(fence_with(&d, &res, &err), -ENOENT);
	HAS(err.msg, "chmod 600");
	nc_fence_result_release(&res);
	free(text);
	free(pw);
	free(log);
}
END_TEST

/* a free port on 127.0.0.1 (type SOCK_DGRAM or SOCK_STREAM) */
static int free_port(int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * The real thing: Debian's fence_ipmilan powers off a BMC over IPMI 2.0
 * (lanplus) on loopback.  The BMC is OpenIPMI's ipmi_sim; the "host" it
 * powers is a process it started (startcmd), which power off kills.  Both
 * end by themselves after 5 minutes should the test fail before it stops
 * them (Check runs no teardown after a failure).
 */
START_TEST(test_fence_agent_ipmilan)
{
	char *pw = nc_xasprintf("%s/pw", tdir), *badpw = nc_xasprintf("%s/badpw", tdir), port[16], *text;
	const char *const opts[] = { "cipher", "3", "ip", "127.0.0.1", "ipport", port, "lanplus", "1",
				     "username", "admin", NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[6];
	struct nc_err err;
	pid_t host;
	int i, udp;

	if (access("/usr/sbin/fence_ipmilan", X_OK) != 0 || access("/usr/bin/ipmi_sim", X_OK) != 0 ||
	    access("/usr/bin/ipmitool", X_OK) != 0) {
		NC_TEST_SKIP("needs fence_ipmilan (fence-agents), ipmi_sim (openipmi) and ipmitool: "
			     "test/testbed/deps.sh installs them");
		free(pw);
		free(badpw);
		return;
	}
	udp = free_port(SOCK_DGRAM);
	snprintf(port, sizeof(port), "%d", udp);
	write_file("pw", "s3cret-bmc\n", 0600);
	write_file("badpw", "not-the-password\n", 0600);
	write_file("host.sh", "#!/bin/sh\necho $$ > \"$(dirname \"$0\")/host.pid\"\nexec sleep 300\n", 0755);
	ck_assert_int_eq(shq("mkdir state && cat > lan.conf <<EOF\n"
			     "name \"ncfence\"\n"
			     "set_working_mc 0x20\n"
			     "  startlan 1\n"
			     "    addr 127.0.0.1 %d\n"
			     "    priv_limit admin\n"
			     "    allowed_auths_callback md5\n"
			     "    allowed_auths_user md5\n"
			     "    allowed_auths_operator md5\n"
			     "    allowed_auths_admin md5\n"
			     "    guid a123456789abcdefa123456789abcdef\n"
			     "  endlan\n"
			     "  serial 15 127.0.0.1 %d codec VM\n"
			     "  startcmd \"%s/host.sh\"\n"
			     "  startnow true\n"
			     "  poweroff_wait 1\n"
			     "  kill_wait 2\n"
			     "  user 2 true \"admin\" \"s3cret-bmc\" admin 10 md5\n"
			     "EOF\n"
			     "printf 'mc_setbmc 0x20\\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 "
			     "persist_sdr\\nmc_enable 0x20\\n' > sim.emu && "
			     "{ timeout 300 ipmi_sim -c lan.conf -f sim.emu -s '%s/state' -n >sim.log 2>&1 </dev/null & "
			     "echo $! > sim.pid; }", udp, free_port(SOCK_STREAM), tdir, tdir), 0);
	for (i = 0; i < 200; i++) {   /* ipmi_sim starts the host at once */
		struct timespec ts = { 0, 50 * 1000000 };

		text = slurp("host.pid");
		if (atoi(text) > 1)
			break;
		free(text);
		text = NULL;
		nanosleep(&ts, NULL);
	}
	if (!text)
		text = slurp("host.pid");
	host = (pid_t)atoi(text);
	free(text);
	ck_assert_msg(host > 1 && !gone(host), "ipmi_sim did not start the host: %s/sim.log", tdir);

	/* the wrong password: refused, and never shown */
	agent_device(&d, kv, "fence_ipmilan", badpw, 30000, opts);
	ck_assert_int_lt(fence_with(&d, &res, &err), 0);
	HAS(err.msg, "agent fence_ipmilan could not power kvm1 off (action=off, exit 1)");
	HASNT(err.msg, "not-the-password");
	ck_assert(!gone(host));

	/* the right one: off, and the status reads off */
	agent_device(&d, kv, "fence_ipmilan", pw, 30000, opts);
	ck_assert_msg(fence_with(&d, &res, &err) == NC_FENCE_DONE, "%s", err.msg);
	ck_assert(res.whole_host);
	ck_assert_str_eq(res.detail, "powered off by fence_ipmilan (bmc), its status reports off");
	ck_assert_msg(gone_within(host, 5000), "the host process %d still runs", (int)host);
	nc_fence_result_release(&res);

	/* again: already off is fenced */
	ck_assert_msg(fence_with(&d, &res, &err) == NC_FENCE_DONE, "%s", err.msg);
	nc_fence_result_release(&res);

	ck_assert_int_eq(shq("kill $(cat sim.pid)"), 0);
	free(pw);
	free(badpw);
}
END_TEST

/*
 * The real agent against an address where no BMC answers: ipmitool retries
 * for about 20 s, past the device's timeout of 2 s: killed, -ETIMEDOUT.
 */
START_TEST(test_fence_agent_ipmilan_unreachable)
{
	char *pw = nc_xasprintf("%s/pw", tdir), port[16];
	const char *const opts[] = { "ip", "127.0.0.1", "ipport", port, "lanplus", "1", "username", "admin",
				     NULL };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_kv kv[5];
	struct nc_err err;

	if (access("/usr/sbin/fence_ipmilan", X_OK) != 0 || access("/usr/bin/ipmitool", X_OK) != 0) {
		NC_TEST_SKIP("needs fence_ipmilan (fence-agents) and ipmitool: test/testbed/deps.sh installs them");
		free(pw);
		return;
	}
	snprintf(port, sizeof(port), "%d", free_port(SOCK_DGRAM));
	write_file("pw", "s3cret-bmc\n", 0600);
	agent_device(&d, kv, "fence_ipmilan", pw, 2000, opts);
	ck_assert_int_eq(fence_with(&d, &res, &err), -ETIMEDOUT);
	ck_assert_str_eq(err.msg, "agent fence_ipmilan timed out after 2 s (action=off); its process group "
			 "was killed");
	ck_assert(!res.whole_host);
	nc_fence_result_release(&res);
	free(pw);
}
END_TEST

/* ---- rbd, against the real single-node Ceph (test/testbed/ceph.sh) ---- */

static char ceph_dir[64];
static struct nc_test_ceph ceph;

/* once per case, in the runner's process */
static void ceph_case_setup(void)
{
	snprintf(ceph_dir, sizeof(ceph_dir), "/tmp/nc-fe-ceph-%d", (int)getpid());
}

static void ceph_case_teardown(void)
{
	nc_test_ceph_down(ceph_dir);
}

/*
 * The cluster (started by the first test), a cephx user client.ncfence with
 * `profile rbd` (which may blocklist) and its keyring in tdir/fence.keyring;
 * false (the test skipped) when Ceph cannot run here.
 */
static bool ceph_up(const char *test)
{
	char why[600];

	if (nc_test_ceph_up(&ceph, ceph_dir, false, NULL, why, sizeof(why)) != 0) {
		nc_test_skipped(test, 0, "%s", why);
		return false;
	}
	ck_assert_int_eq(shq("ceph -c '%s' auth get-or-create client.ncfence mon 'profile rbd' "
			     "osd 'profile rbd pool=rbd' > fence.keyring && chmod 600 fence.keyring", ceph.conf), 0);
	return true;
}

static void rbd_device(struct nc_fence_device *d, uint64_t timeout_ms)
{
	static char key[96];

	snprintf(key, sizeof(key), "%s/fence.keyring", tdir);
	memset(d, 0, sizeof(*d));
	d->pos = here;
	d->name = (struct nc_str){ here, "ceph" };
	d->type = (struct nc_str){ here, "rbd" };
	d->ceph_conf = (struct nc_str){ here, ceph.conf };
	d->user = (struct nc_str){ here, "ncfence" };
	d->key_file = (struct nc_str){ here, key };
	if (timeout_ms)
		d->timeout = (struct nc_duration){ here, timeout_ms };
}

/* a client of its own (as another host's QEMU would be), admin, with bounded operations */
struct client {
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t img;
};

static void client_open(struct client *c, const char *image)
{
	ck_assert_int_eq(rados_create(&c->cluster, "admin"), 0);
	ck_assert_int_eq(rados_conf_read_file(c->cluster, ceph.conf), 0);
	ck_assert_int_eq(rados_conf_set(c->cluster, "rados_osd_op_timeout", "10"), 0);
	ck_assert_int_eq(rados_conf_set(c->cluster, "rados_mon_op_timeout", "10"), 0);
	ck_assert_int_eq(rados_connect(c->cluster), 0);
	ck_assert_int_eq(rados_ioctx_create(c->cluster, "rbd", &c->io), 0);
	c->img = NULL;
	if (image)
		ck_assert_int_eq(rbd_open(c->io, image, &c->img, NULL), 0);
}

static void client_close(struct client *c)
{
	if (c->img)
		rbd_close(c->img);
	rados_ioctx_destroy(c->io);
	rados_shutdown(c->cluster);
}

static ssize_t client_write(struct client *c, char fill)
{
	char buf[4096];

	memset(buf, fill, sizeof(buf));
	return rbd_write(c->img, 0, sizeof(buf), buf);
}

static void image_create(const char *name, uint64_t features)
{
	struct client c;
	int order = 22;

	client_open(&c, NULL);
	ck_assert_int_eq(rbd_create2(c.io, name, 16 << 20, features, &order), 0);
	client_close(&c);
}

#define LOCKING (RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK)

static int fence_disks(const struct nc_fence_device *d, const char *const *disks, size_t n,
		       struct nc_fence_result *res, struct nc_err *err)
{
	struct nc_fence_target t = { "kvm1", disks, n };

	memset(res, 0, sizeof(*res));
	err->msg[0] = 0;
	return nc_fence_driver_find("rbd")->fence(d, &t, res, err);
}

/*
 * The writer of two disks (a second client, as the failed host's QEMU) has
 * its locks broken and is blocklisted: its next write fails, while a third,
 * fresh client (the restarted VM) writes.
 */
START_TEST(test_fence_rbd_lock_break)
{
	static const char *const disks[] = { "rbd/fe-lb-a", "rbd/fe-lb-b" };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct client old_a, old_b, fresh;
	struct nc_err err;
	char buf[4096], *addr = NULL;
	ssize_t w;

	if (!ceph_up(__func__))
		return;
	image_create("fe-lb-a", LOCKING);
	image_create("fe-lb-b", LOCKING);
	client_open(&old_a, "fe-lb-a");
	ck_assert_int_eq(client_write(&old_a, 'o'), 4096);   /* takes the exclusive lock */
	client_open(&old_b, "fe-lb-b");
	ck_assert_int_eq(client_write(&old_b, 'o'), 4096);
	ck_assert_int_eq(rados_getaddrs(old_a.cluster, &addr), 0);

	rbd_device(&d, 0);
	ck_assert_msg(fence_disks(&d, disks, 2, &res, &err) == NC_FENCE_DONE, "%s", err.msg);
	ck_assert(!res.whole_host);
	ck_assert_uint_eq(res.ndisks, 2);
	ck_assert_str_eq(res.disks[0], "rbd/fe-lb-a");
	ck_assert_str_eq(res.disks[1], "rbd/fe-lb-b");
	ck_assert_str_eq(res.detail, "2 exclusive locks broken, their clients blocklisted");
	nc_fence_result_release(&res);
	/* blocklisted for days, not the monitors' default hour */
	{
		struct nc_run run;
		int st = nc_run_in(&run, tdir, "ceph -c '%s' osd blocklist ls -f json 2>/dev/null | python3 -c '"
				   "import json, sys, datetime as d\n"
				   "e = [x for x in json.JSONDecoder().raw_decode(sys.stdin.read().lstrip())[0] if x[\"addr\"] in sys.argv[1]]\n"
				   "u = d.datetime.fromisoformat(e[0][\"until\"][:19])\n"
				   "sys.exit(0 if len(e) == 1 and u - d.datetime.utcnow() > d.timedelta(days=6) else 1)' "
				   "'%s'", ceph.conf, addr);

		ck_assert_msg(st == 0, "%s%s", run.out, run.err);
		nc_run_free(&run);
	}
	free(addr);

	/* the old writer is refused */
	w = client_write(&old_a, 'x');
	ck_assert_msg(w == -ESHUTDOWN /* EBLOCKLISTED */ || w == -EROFS, "the old client wrote: %zd", w);
	/* a fresh client writes and reads back, nothing of the refused write */
	client_open(&fresh, "fe-lb-a");
	ck_assert_int_eq(rbd_read(fresh.img, 0, sizeof(buf), buf), 4096);
	ck_assert_int_eq(buf[0], 'o');
	ck_assert_int_eq(client_write(&fresh, 'n'), 4096);
	ck_assert_int_eq(rbd_read(fresh.img, 0, sizeof(buf), buf), 4096);
	ck_assert_int_eq(buf[4095], 'n');
	client_close(&fresh);
	client_close(&old_a);
	client_close(&old_b);
}
END_TEST

/*
 * A failed host whose fence is retried after one of its VMs was restarted
 * elsewhere (another of its disks could not be fenced the first time, and
 * this pass could not read the host the VM now runs on, so the VM is among
 * the targets again): the disk fenced for the first VM is not broken a
 * second time -- its lock is now the restarted copy's, the live one -- while
 * the disk not fenced yet is.
 */
START_TEST(test_fence_rbd_never_breaks_recovered_copy)
{
	static const char *const yaml = "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: kvm1}\n"
					"spec: {uri: \"sim:///kvm1\", fence: [ceph]}\n";
	char *disks[] = { (char *)"rbd/fe-rc-a", (char *)"rbd/fe-rc-b" };
	char *vms[] = { (char *)"a", (char *)"b" };
	struct nc_fence_targets t = { disks, 2, vms, 2, false };
	struct nc_fence_device d;
	struct nc_list devs;
	struct nc_fencing_opts fo;
	struct nc_fencing_outcome out;
	struct nc_spec *spec = NULL;
	struct nc_diags diags;
	struct nc_ha_record rec = { 0 };
	const struct nc_ha_host *h;
	struct client restarted, old_b;
	struct nc_err err = { "" };
	ssize_t w;
	int r;

	if (!ceph_up(__func__))
		return;
	nc_diags_init(&diags);
	ck_assert_int_eq(nc_spec_load_buffer(&spec, "t.yaml", yaml, strlen(yaml), NULL, &diags), 0);
	image_create("fe-rc-a", LOCKING);
	image_create("fe-rc-b", LOCKING);
	/* a's disk was fenced, a restarted on another host, which holds its lock now */
	write_file("ha.json", "{\"format_version\": 1, \"hosts\": [{\"name\": \"kvm1\", \"failed_at\": 1796000000, "
		   "\"fenced\": true, \"fenced_at\": 1796000010, \"fenced_by\": \"rbd device ceph\", "
		   "\"disks\": [\"rbd/fe-rc-a\"], \"recovered\": [\"a\"]}]}\n", 0600);
	client_open(&restarted, "fe-rc-a");
	ck_assert_int_eq(client_write(&restarted, 'r'), 4096);
	client_open(&old_b, "fe-rc-b");
	ck_assert_int_eq(client_write(&old_b, 'o'), 4096);   /* b's old writer, still on kvm1 */

	rbd_device(&d, 0);
	devs.pos = here;
	devs.v = &d;
	devs.n = 1;
	memset(&fo, 0, sizeof(fo));
	fo.state_dir = tdir;
	fo.devices = &devs;
	r = nc_fence_host(spec, &t, "kvm1", &fo, &out, &err);
	ck_assert_msg(r == NC_FENCE_DONE, "%d: %s", r, err.msg);
	ck_assert_str_eq(out.detail, "1 exclusive lock broken, its client blocklisted");
	/* the restarted copy still writes; b's old writer does not */
	w = client_write(&restarted, 'n');
	ck_assert_msg(w == 4096, "the restarted copy was cut off: %zd", w);
	w = client_write(&old_b, 'x');
	ck_assert_msg(w == -ESHUTDOWN || w == -EROFS, "the old client wrote: %zd", w);
	ck_assert_int_eq(nc_ha_load(&rec, tdir, &err), 0);
	h = nc_ha_find(&rec, "kvm1");
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->ndisks, 2);
	ck_assert_str_eq(h->recovered[0], "a");
	nc_ha_release(&rec);
	client_close(&restarted);
	client_close(&old_b);
	nc_spec_free(spec);
	nc_diags_release(&diags);
}
END_TEST

/* no lock owner: the clients that have it open (its watchers) are blocklisted */
START_TEST(test_fence_rbd_no_owner_watcher)
{
	static const char *const disks[] = { "rbd/fe-w" };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct client old;
	struct nc_err err;
	ssize_t w;

	if (!ceph_up(__func__))
		return;
	image_create("fe-w", LOCKING);
	client_open(&old, "fe-w");   /* opened, never written: no lock */
	rbd_device(&d, 0);
	ck_assert_msg(fence_disks(&d, disks, 1, &res, &err) == NC_FENCE_DONE, "%s", err.msg);
	ck_assert_uint_eq(res.ndisks, 1);
	ck_assert_str_eq(res.detail, "no exclusive lock broken; rbd/fe-w had no lock owner: 1 watcher blocklisted");
	nc_fence_result_release(&res);
	w = client_write(&old, 'x');
	ck_assert_msg(w < 0, "the old client wrote: %zd", w);
	client_close(&old);
}
END_TEST

/* what cannot be fenced says why, and is left out of the fenced disks */
START_TEST(test_fence_rbd_not_fenced)
{
	static const char *const disks[] = { "rbd/fe-nolock", "rbd/fe-unused" };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_err err;

	if (!ceph_up(__func__))
		return;
	image_create("fe-nolock", RBD_FEATURE_LAYERING);
	image_create("fe-unused", LOCKING);
	rbd_device(&d, 0);
	ck_assert_msg(fence_disks(&d, disks, 2, &res, &err) == NC_FENCE_DONE, "%s", err.msg);
	ck_assert_uint_eq(res.ndisks, 0);
	ck_assert_str_eq(res.detail, "no exclusive lock broken; rbd/fe-nolock not fenced: the image lacks the "
			 "exclusive-lock feature (no lock to break); rbd/fe-unused not fenced: no lock owner and "
			 "no watcher: cannot tell which client to blocklist");
	nc_fence_result_release(&res);
}
END_TEST

/* a missing image, a missing pool, a wrong key, a malformed disk: errors, nothing fenced */
START_TEST(test_fence_rbd_errors)
{
	static const char *const missing[] = { "rbd/fe-nope" };
	static const char *const nopool[] = { "nopool/x" };
	static const char *const bad[] = { "justaname" };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_err err;

	if (!ceph_up(__func__))
		return;
	rbd_device(&d, 0);
	ck_assert_int_eq(fence_disks(&d, missing, 1, &res, &err), -ENOENT);
	ck_assert_str_eq(err.msg, "rbd/fe-nope: cannot open the image: no such image");
	ck_assert_uint_eq(res.ndisks, 0);
	ck_assert_int_eq(fence_disks(&d, nopool, 1, &res, &err), -ENOENT);
	ck_assert_str_eq(err.msg, "nopool/x: Ceph pool nopool: No such file or directory");
	ck_assert_int_eq(fence_disks(&d, bad, 1, &res, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "disk 'justaname': expected POOL/IMAGE");
	/* another key for client.ncfence: refused by the monitors */
	write_file("fence.keyring", "[client.ncfence]\n\tkey = AQBzd2Vmc2RmZ3NkZmdzZGZnc2RmZ3NkZmc9PQ==\n", 0600);
	ck_assert_int_lt(fence_disks(&d, missing, 1, &res, &err), 0);
	HAS(err.msg, "cannot connect to Ceph as client.ncfence with ");
	ck_assert_uint_eq(res.ndisks, 0);
}
END_TEST

/* monitors that do not answer: an error within the device's timeout (its quarter per operation) */
START_TEST(test_fence_rbd_unreachable)
{
	static const char *const disks[] = { "rbd/x" };
	struct nc_fence_device d;
	struct nc_fence_result res;
	struct nc_err err;
	char *conf = nc_xasprintf("%s/dead.conf", tdir);
	int r;

	write_file("dead.conf", "", 0644);
	ck_assert_int_eq(shq("printf '[global]\\nmon_host = v1:127.0.0.1:%d\\nauth_client_required = none\\n' "
			     "> dead.conf", free_port(SOCK_STREAM)), 0);
	memset(&d, 0, sizeof(d));
	d.name = (struct nc_str){ here, "ceph" };
	d.type = (struct nc_str){ here, "rbd" };
	d.ceph_conf = (struct nc_str){ here, conf };
	d.timeout = (struct nc_duration){ here, 4000 };
	r = fence_disks(&d, disks, 1, &res, &err);
	ck_assert_msg(r == -ETIMEDOUT, "%d: %s", r, err.msg);
	HAS(err.msg, "cannot connect to Ceph as client.admin with ");
	ck_assert_uint_eq(res.ndisks, 0);
	free(conf);
}
END_TEST

Suite *nc_suite_fence(void)
{
	Suite *s = suite_create("fence");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fence_config_valid);
	tcase_add_test(tc, test_fence_config_errors);
	tcase_add_test(tc, test_fence_drivers_registered);
	tcase_add_test(tc, test_fence_manual_pending);
	suite_add_tcase(s, tc);

	tc = tcase_create("agent");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fence_agent_stdin_only);
	tcase_add_test(tc, test_fence_agent_signals_reset);
	tcase_add_test(tc, test_fence_agent_status_still_on);
	tcase_add_test(tc, test_fence_agent_fails);
	tcase_add_test(tc, test_fence_agent_flood_password_cut);
	tcase_add_test(tc, test_fence_left_behind_run_blocks_others);
	tcase_add_test(tc, test_fence_agent_hangs);
	tcase_add_test(tc, test_fence_agent_password_file_missing);
	tcase_add_test(tc, test_fence_agent_ipmilan);
	tcase_add_test(tc, test_fence_agent_ipmilan_unreachable);
	suite_add_tcase(s, tc);

	tc = tcase_create("rbd");
	tcase_add_unchecked_fixture(tc, ceph_case_setup, ceph_case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_fence_rbd_lock_break);
	tcase_add_test(tc, test_fence_rbd_never_breaks_recovered_copy);
	tcase_add_test(tc, test_fence_rbd_no_owner_watcher);
	tcase_add_test(tc, test_fence_rbd_not_fenced);
	tcase_add_test(tc, test_fence_rbd_errors);
	tcase_add_test(tc, test_fence_rbd_unreachable);
	suite_add_tcase(s, tc);
	return s;
}
