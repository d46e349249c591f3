/*
 * test_fence.c - the fence back-ends (drivers/fence/): the trusted
 * configuration of fence devices, and each back-end against the real thing:
 * rbd against the real single-node Ceph (a second client holding the
 * exclusive lock is blocklisted, a fresh one can write), agent with real
 * fence agents, manual waiting for the operator.
 *
 * Each test works in its own temporary directory tdir.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../drivers/fence/fence.h"
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
	return s;
}
