/*
 * test_connections.c - a spec never chooses how a host is reached: the real
 * binary refuses every dangerous Host URI before contacting anything (and
 * never runs a program one names), the operator's connections config does
 * reach hosts, and what a host open reports never carries file contents or
 * the operator's parameters (reconciler/connections.h, spec/uri.h).
 *
 * Each test works in its own temporary directory T with a spec in T/spec.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../drivers/driver.h"
#include "../reconciler/connections.h"
#include "../spec/model.h"
#include "tests.h"
#include "testutil.h"


static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-conn-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	ck_assert_int_eq(nc_run_inq(tdir, "mkdir spec state"), 0);
}

static void teardown(void)
{
	nc_run_inq("/", "rm -rf '%s'", tdir);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
/* a plan with an unreachable host is partial: exit 1 */
#define PARTIAL(st) \
	do { \
		int st_ = (st); \
		ck_assert_msg(st_ == 1, "exit %d", st_); \
	} while (0)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

/* T/spec/hosts.yaml: one Host kvm1 with this uri (line 5, column 8) */
static void host_uri(const char *uri)
{
	char *path = nc_xasprintf("%s/spec/hosts.yaml", tdir);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: kvm1}\nspec:\n  uri: \"%s\"\n", uri);
	ck_assert_int_eq(fclose(f), 0);
	free(path);
}

/*
 * The reproducer of issue 10: libvirt's command= replaces the ssh binary.
 * No command may run it: each refuses the spec at file:line:col, exits 1
 * and contacts nothing.
 */
START_TEST(test_command_param_never_runs)
{
	static const char *const cmds[] = {
		"plan spec --state-dir state", "apply spec --state-dir state --auto-approve",
		"capacity spec --state-dir state", "backup run kvm-vm spec --state-dir state",
		"restore kvm-vm --backup 00 spec --state-dir state", "validate spec",
	};
	struct nc_run r;
	char *uri = nc_xasprintf("qemu+ssh://localhost/system?command=%s/x", tdir);
	char *marker = nc_xasprintf("%s/marker", tdir);
	size_t i;

	ck_assert_int_eq(shq("printf '#!/bin/sh\\ntouch %s/marker\\n' > x && chmod +x x", tdir), 0);
	host_uri(uri);
	for (i = 0; i < NC_ARRAY_SIZE(cmds); i++) {
		ck_assert_msg(sh(&r, "$NC %s", cmds[i]) == 1, "%s: exit %d", cmds[i], r.status);
		HAS(r.err, "spec/hosts.yaml:5:8: error: invalid uri 'qemu+ssh://localhost/system?command=");
		HAS(r.err, "query parameter 'command' is not allowed in a spec");
		ck_assert_msg(access(marker, F_OK) != 0, "%s ran the command", cmds[i]);
		nc_run_free(&r);
	}
	/* the same spec with a connections config: the spec is refused all the same */
	ck_assert_int_eq(shq("printf 'connections:\\n  - host: \"*\"\\n    params: no_tty=1\\n' > c.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state --config c.yaml"), 1);
	HAS(r.err, "novacron plan: the spec has 1 error; nothing was contacted");
	nc_run_free(&r);
	ck_assert_int_ne(access(marker, F_OK), 0);
	/* the script itself works: it is libvirt that never got to run it */
	ck_assert_int_eq(shq("./x"), 0);
	ck_assert_int_eq(access(marker, F_OK), 0);
	free(marker);
	free(uri);
}
END_TEST

/* every class of parameter or URI that reaches a program, socket or file */
START_TEST(test_dangerous_uris_refused_by_plan)
{
	static const struct { const char *uri, *why; } bad[] = {
		{ "qemu+ssh://h/system?netcat=/tmp/nc", "query parameter 'netcat' is not allowed" },
		{ "qemu:///system?socket=/run/libvirt/libvirt-sock", "query parameter 'socket' is not allowed" },
		{ "qemu+ssh://h/system?keyfile=/root/.ssh/id_rsa", "query parameter 'keyfile' is not allowed" },
		{ "qemu+tls://h/system?pkipath=/etc/pki", "query parameter 'pkipath' is not allowed" },
		{ "qemu+ssh://h/system?known_hosts=/etc/shadow", "query parameter 'known_hosts' is not allowed" },
		{ "qemu+tls://h/system?no_verify=1", "query parameter 'no_verify' is not allowed" },
		{ "test:///etc/passwd", "the test driver is allowed only as test:///default" },
		{ "test://relative.xml", "the test driver is allowed only as test:///default" },
		{ "sim:///../x", "a simulated host is sim:///NAME" },
		{ "qemu+ssh://h/system?%63ommand=/tmp/x", "percent-escapes are not allowed" },
		{ "qemu+ssh://h/system?COMMAND=/tmp/x", "query parameter 'COMMAND' is not allowed" },
		{ "qemu+ssh://h/system?no_tty=1?command=/tmp/x", "more than one '?'" },
	};
	struct nc_run r;
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(bad); i++) {
		host_uri(bad[i].uri);
		ck_assert_msg(sh(&r, "$NC plan spec --state-dir state") == 1, "%s: exit %d", bad[i].uri, r.status);
		HAS(r.err, "spec/hosts.yaml:5:8: error: invalid uri '");
		HAS(r.err, bad[i].why);
		HAS(r.err, "nothing was contacted");
		ck_assert_str_eq(r.out, "");
		nc_run_free(&r);
	}
}
END_TEST

/* the operator's config reaches a host the spec names; plans show the spec's URI */
START_TEST(test_connections_reach_hosts)
{
	struct nc_run r;

	host_uri("qemu+ssh://kvm1.nc-test.invalid/system");
	ck_assert_int_eq(shq("printf 'connections:\\n  - host: kvm1\\n    uri: \"sim:///kvm1?cpus=8\"\\n' > c.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state --config c.yaml"), 0);
	HAS(r.out, "kvm1         qemu+ssh://kvm1.nc-test.invalid/system ok, 8 CPUs");
	HASNT(r.out, "sim:///");
	nc_run_free(&r);
	/* the same from $NOVACRON_CONFIG, and in JSON */
	ck_assert_int_eq(sh(&r, "NOVACRON_CONFIG=c.yaml $NC plan spec --state-dir state --output json"), 0);
	HASJ(r.out, "{\"name\": \"kvm1\", \"uri\": \"qemu+ssh://kvm1.nc-test.invalid/system\", \"status\": \"ok\"");
	HASNTJ(r.out, "sim:///");
	nc_run_free(&r);
	/* capacity reads it too */
	ck_assert_int_ne(sh(&r, "$NC capacity spec --state-dir state --config c.yaml"), 1);
	HASNT(r.out, "unreachable");
	nc_run_free(&r);
	/* validate reads the configuration for its paths: roots (and contacts nothing) */
	ck_assert_int_eq(sh(&r, "NOVACRON_CONFIG=c.yaml $NC validate spec"), 0);
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "NOVACRON_CONFIG=/nonexistent $NC validate spec"), 1);
	HAS(r.err, "/nonexistent");
	nc_run_free(&r);
	/* test:///default is allowed in a spec */
	host_uri("test:///default");
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state"), 0);
	HAS(r.out, "kvm1         test:///default          ok");
	nc_run_free(&r);
}
END_TEST

/*
 * "*" params are appended to each spec URI; what libvirt reports about them
 * names neither the parameter values nor the URI they made.
 */
START_TEST(test_connection_params_stay_private)
{
	struct nc_run r;

	host_uri("qemu+unix:///system");
	ck_assert_int_eq(shq("printf 'connections:\\n  - host: \"*\"\\n"
			     "    params: socket=%s/private/libvirt-sock\\n' > c.yaml", tdir), 0);
	PARTIAL(sh(&r, "$NC plan spec --state-dir state --config c.yaml --output json"));
	HASJ(r.out, "\"uri\": \"qemu+unix:///system\", \"status\": \"unreachable\"");
	/* libvirt tried that socket: the params were applied */
	HASJ(r.out, "cannot connect: Failed to connect socket to '(from connections)'");
	HASNTJ(r.out, "private/libvirt-sock");
	HASNT(r.err, "private/libvirt-sock");
	nc_run_free(&r);
}
END_TEST

/* a connections-config test:///FILE: no line of the file reaches any output */
START_TEST(test_host_errors_never_quote_files)
{
	static const char *const outputs[] = { "text", "json", "markdown" };
	struct nc_run r;
	size_t i;

	host_uri("qemu+ssh://kvm1.nc-test.invalid/system");
	ck_assert_int_eq(shq("printf 'root:$6$SECRETHASH:19000:0:99999:7:::\\nsecond SECRETLINE\\n' > shadow"), 0);
	ck_assert_int_eq(shq("printf '<node><cpu>SECRETXML</cpu><domain><name>SECRETNAME</name></domain></node>\\n'"
			     " > bad.xml"), 0);
	ck_assert_int_eq(shq("printf 'connections:\\n  - host: kvm1\\n    uri: \"test://%s/shadow\"\\n' > c1.yaml",
			     tdir), 0);
	ck_assert_int_eq(shq("printf 'connections:\\n  - host: kvm1\\n    uri: \"test://%s/bad.xml\"\\n' > c2.yaml",
			     tdir), 0);
	for (i = 0; i < NC_ARRAY_SIZE(outputs); i++) {
		PARTIAL(sh(&r, "$NC plan spec --state-dir state --config c1.yaml --output %s", outputs[i]));
		HAS(r.out, "the driver's definition file is not a valid host definition (XML error)");
		HASNT(r.out, "SECRET");
		HASNT(r.err, "SECRET");
		nc_run_free(&r);
		PARTIAL(sh(&r, "$NC plan spec --state-dir state --config c2.yaml --output %s", outputs[i]));
		HAS(r.out, "unreachable");
		HASNT(r.out, "SECRET");
		HASNT(r.err, "SECRET");
		nc_run_free(&r);
	}
}
END_TEST

/* the config file is checked like the spec: positions, and nothing is contacted */
START_TEST(test_connections_config_errors)
{
	struct nc_run r;

	host_uri("sim:///kvm1");
	ck_assert_int_eq(shq("printf 'connections:\\n  - host: \"*\"\\n    uri: test:///default\\n"
			     "  - host: kvm1\\n    params: \"?socket=/x\"\\n  - host: kvm1\\n    uri: \"lxc:///\"\\n' > c.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state --config c.yaml"), 1);
	HAS(r.err, "c.yaml:3:10: error: a URI replaces one host's: give it in an entry for that host, not \"*\"\n");
	HAS(r.err, "c.yaml:5:13: error: invalid params: expected KEY=VALUE&KEY=VALUE");
	HAS(r.err, "c.yaml:6:11: error: connections for host 'kvm1' are given twice\n");
	HAS(r.err, "c.yaml:7:10: error: invalid uri 'lxc:///': expected a libvirt URI");
	HAS(r.err, "novacron plan: the configuration file c.yaml has errors; nothing was contacted\n");
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	ck_assert_int_eq(shq("printf 'connections:\\n  - {uri: \"sim:///a\"}\\n' > c.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state --config c.yaml"), 1);
	HAS(r.err, "c.yaml:2:5: error: missing required key 'host' in connection\n");
	ck_assert_str_eq(r.out, "");
	nc_run_free(&r);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state --config nope.yaml"), 1);
	HAS(r.err, "nope.yaml: error: cannot read: No such file or directory\n");
	nc_run_free(&r);
	/* serve.yaml's format: a file with a source and other sections is read for its connections */
	ck_assert_int_eq(shq("printf 'source: {directory: /srv/spec}\\nlisten: 127.0.0.1:0\\n"
			     "connections:\\n  - host: kvm1\\n    uri: \"sim:///kvm1?cpus=4\"\\n' > serve.yaml"), 0);
	ck_assert_int_eq(sh(&r, "$NC plan spec --state-dir state --config serve.yaml"), 0);
	HAS(r.out, "kvm1         sim:///kvm1              ok, 4 CPUs");
	nc_run_free(&r);
}
END_TEST

/*
 * serve: its own config's connections, and the unauthenticated /status,
 * /metrics and the log never show a file's contents or the URI opened.
 */
START_TEST(test_serve_status_never_quotes_files)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct nc_run r;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port, i;

	/* a free port */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);

	host_uri("qemu+ssh://kvm1.nc-test.invalid/system");
	ck_assert_int_eq(shq("printf 'root:$6$SECRETHASH:19000:0:99999:7:::\\n' > shadow"), 0);
	ck_assert_int_eq(shq("printf 'source: {directory: %s/spec}\\nstateDir: %s/state\\ncacheDir: %s/cache\\n"
			     "listen: 127.0.0.1:%d\\ninterval: 1s\\nconnections:\\n  - host: kvm1\\n"
			     "    uri: \"test://%s/shadow\"\\n' > serve.yaml", tdir, tdir, tdir, port, tdir), 0);
	ck_assert_int_eq(shq("$NC serve --config serve.yaml >log 2>&1 & echo $! > pid"), 0);
	for (i = 0; i < 300; i++) {
		sh(&r, "curl -s http://127.0.0.1:%d/status", port);
		/* the pass's report of kvm1 (the health monitor's, in "ha", may come first) */
		if (strstr(r.out, "\"uri\": \"qemu+ssh://kvm1.nc-test.invalid/system\"") &&
		    (strstr(r.out, "\"health\": \"suspect\"") || strstr(r.out, "\"health\": \"failed\"")))
			break;
		nc_run_free(&r);
		r.out = NULL;
		usleep(100000);
	}
	ck_assert_msg(r.out != NULL, "serve never reported kvm1");
	HAS(r.out, "\"uri\": \"qemu+ssh://kvm1.nc-test.invalid/system\", \"up\": false");
	HAS(r.out, "the driver's definition file is not a valid host definition (XML error)");
	HASNT(r.out, "SECRET");
	HASNT(r.out, "shadow");
	nc_run_free(&r);
	sh(&r, "curl -s http://127.0.0.1:%d/metrics; cat log", port);
	HASNT(r.out, "SECRET");
	HASNT(r.out, "/shadow");
	nc_run_free(&r);
	shq("kill -TERM $(cat pid); for i in $(seq 50); do kill -0 $(cat pid) 2>/dev/null || break; sleep 0.1; done; "
	    "kill -9 $(cat pid) 2>/dev/null; true");
}
END_TEST

/* resolution rules, directly */
START_TEST(test_connection_uri_resolution)
{
	struct nc_connection c[2];
	struct nc_list l = { { NULL, 1, 1 }, c, 2 };
	struct nc_host h;
	struct nc_err err = { "" };
	char *u;

	memset(c, 0, sizeof(c));
	memset(&h, 0, sizeof(h));
	c[0].host = (struct nc_str){ { "c", 1, 1 }, "kvm1" };
	c[0].uri = (struct nc_str){ { "c", 1, 1 }, "qemu+unix:///system?socket=/run/kvm1.sock" };
	c[0].migration_uri = (struct nc_str){ { "c", 1, 1 }, "qemu+tcp://10.0.0.1/system" };
	c[1].host = (struct nc_str){ { "c", 2, 1 }, "*" };
	c[1].params = (struct nc_str){ { "c", 2, 1 }, "keyfile=/etc/k" };
	c[1].migration_params = (struct nc_str){ { "c", 2, 1 }, "no_tty=1" };

	h.obj.meta.name.v = "kvm1";
	h.spec.uri = (struct nc_str){ { "s", 1, 1 }, "qemu+ssh://kvm1/system" };
	u = nc_connection_uri(&h, &l, false, &err);
	ck_assert_str_eq(u, "qemu+unix:///system?socket=/run/kvm1.sock");
	free(u);
	u = nc_connection_uri(&h, &l, true, &err);
	ck_assert_str_eq(u, "qemu+tcp://10.0.0.1/system");
	free(u);

	h.obj.meta.name.v = "kvm2";
	h.spec.uri = (struct nc_str){ { "s", 1, 1 }, "qemu+ssh://kvm2/system?no_tty=1" };
	u = nc_connection_uri(&h, &l, false, &err);
	ck_assert_str_eq(u, "qemu+ssh://kvm2/system?no_tty=1&keyfile=/etc/k");
	free(u);
	/* no migrationUri: as the host is reached */
	u = nc_connection_uri(&h, &l, true, &err);
	ck_assert_str_eq(u, "qemu+ssh://kvm2/system?no_tty=1&keyfile=/etc/k");
	free(u);
	h.spec.migration_uri = (struct nc_str){ { "s", 1, 1 }, "qemu+tcp://kvm2/system" };
	u = nc_connection_uri(&h, &l, true, &err);
	ck_assert_str_eq(u, "qemu+tcp://kvm2/system?no_tty=1");
	free(u);
	/* "*" params are not for simulated or test hosts */
	h.spec.uri = (struct nc_str){ { "s", 1, 1 }, "sim:///kvm2" };
	u = nc_connection_uri(&h, &l, false, &err);
	ck_assert_str_eq(u, "sim:///kvm2");
	free(u);
	/* defence in depth: a spec URI that did not pass validate is never opened */
	h.spec.uri = (struct nc_str){ { "s", 1, 1 }, "qemu+ssh://h/system?command=/bin/sh" };
	ck_assert_ptr_null(nc_connection_uri(&h, NULL, false, &err));
	HAS(err.msg, "refused the uri of host kvm2: query parameter 'command' is not allowed");
	h.spec.uri = (struct nc_str){ { "s", 1, 1 }, "test:///etc/shadow" };
	ck_assert_ptr_null(nc_connection_uri(&h, &l, false, &err));
	h.spec.uri = (struct nc_str){ { "s", 1, 1 }, "qemu+ssh://kvm2/system" };
	h.spec.migration_uri = (struct nc_str){ { "s", 1, 1 }, "qemu+ssh://kvm2/system?netcat=/x" };
	ck_assert_ptr_null(nc_connection_uri(&h, &l, true, &err));
	HAS(err.msg, "refused the migrationUri of host kvm2");

	/* error cleaning: one line, the spec's URI, the operator's values hidden */
	snprintf(err.msg, sizeof(err.msg), "cannot connect: qemu+unix:///system?socket=/run/kvm1.sock: "
		 "no /run/kvm1.sock\nsecret line\n");
	nc_connection_error_clean(&err, "qemu+unix:///system?socket=/run/kvm1.sock", "qemu+ssh://kvm1/system");
	ck_assert_str_eq(err.msg, "cannot connect: qemu+ssh://kvm1/system: no (from connections)");
}
END_TEST

Suite *nc_suite_connections(void)
{
	Suite *s = suite_create("connections");
	TCase *tc = tcase_create("connections");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_command_param_never_runs);
	tcase_add_test(tc, test_dangerous_uris_refused_by_plan);
	tcase_add_test(tc, test_connections_reach_hosts);
	tcase_add_test(tc, test_connection_params_stay_private);
	tcase_add_test(tc, test_host_errors_never_quote_files);
	tcase_add_test(tc, test_connections_config_errors);
	tcase_add_test(tc, test_serve_status_never_quotes_files);
	tcase_add_test(tc, test_connection_uri_resolution);
	suite_add_tcase(s, tc);
	return s;
}
