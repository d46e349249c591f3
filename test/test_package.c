/*
 * test_package.c - the hardened systemd unit's security score, and the
 * README's tour run for real. The install rules and the Debian package are
 * tested by test/integration/package.sh (cpack, dpkg --root).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "testutil.h"
#include "../spec/util.h"

/*
 * dist/novacron.service: what docs/install.md promises is there, and
 * `systemd-analyze security --offline=true` scores it OK or better (an
 * exposure of at most 4.9; it was 9.1 UNSAFE as root without hardening).
 */
START_TEST(test_package_unit_security)
{
	static const char *const must[] = {
		"User=novacron\n", "ProtectSystem=strict\n", "ProtectHome=yes\n", "PrivateTmp=yes\n",
		"PrivateDevices=yes\n", "NoNewPrivileges=yes\n", "CapabilityBoundingSet=\n",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n", "ReadWritePaths=/var/lib/novacron\n",
		"ProtectKernelTunables=yes\n", "ProtectKernelModules=yes\n", "ProtectControlGroups=yes\n",
		"RestrictNamespaces=yes\n", "LockPersonality=yes\n", "MemoryDenyWriteExecute=yes\n",
		"SystemCallFilter=@system-service\n", "UMask=0077\n", "StateDirectory=novacron\n",
		"ConfigurationDirectory=novacron\n", "CacheDirectory=novacron\n", "LogsDirectory=novacron\n",
		"Documentation=man:novacron(1)", "ExecStart=/usr/bin/novacron serve --config /etc/novacron/serve.yaml\n",
	};
	char *unit, *p, word[32] = "";
	size_t len, i;
	struct nc_run r;
	double score = 99;

	ck_assert_int_eq(nc_read_file(NC_SOURCE_DIR "/dist/novacron.service", 1 << 20, &unit, &len), 0);
	for (i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		HAS(unit, must[i]);
	free(unit);

	nc_run_shell(&r, "systemd-analyze security --help");
	if (r.status != 0 || !strstr(r.out, "--offline")) {
		NC_TEST_SKIP("systemd-analyze security --offline is missing (systemd 250 or later; exit %d)", r.status);
		nc_run_free(&r);
		return;
	}
	nc_run_free(&r);
	nc_run_shell(&r, "systemd-analyze security --offline=true dist/novacron.service 2>&1");
	ck_assert_msg(r.status == 0, "systemd-analyze security: exit %d\n%.3000s", r.status, r.out);
	p = strstr(r.out, "Overall exposure level for novacron.service: ");
	ck_assert_msg(p != NULL, "no overall exposure line in:\n%.3000s", r.out);
	ck_assert_int_eq(sscanf(p + strlen("Overall exposure level for novacron.service: "), "%lf %31s", &score, word), 2);
	ck_assert_msg(score <= 4.9, "exposure %.1f %s: worse than OK", score, word);
	ck_assert_msg(strcmp(word, "OK") == 0 || strcmp(word, "SAFE") == 0, "exposure %.1f %s", score, word);
	nc_run_free(&r);
}
END_TEST

/*
 * The README's tour: every command of its ```console blocks that works
 * offline (on the examples and simulated hosts) runs, in order, in a
 * scratch folder that sees examples/ and test/ (so its `st` state folder is
 * the test's own); the lines the README shows under a command must appear in
 * its output in that order ("..." alone: lines left out; "..." inside a
 * line: any text). A count that drifts ("20 documents", "13 to create")
 * fails here. The README itself is the test's input: keep its examples
 * verbatim.
 */

/* Commands that need serve, its configuration, its telemetry history or a
 * backup repository are not run (they are described, not shown). */
static int tour_offline(const char *c)
{
	static const char *const verbs[] = { "validate ", "plan ", "apply ", "sim ", "capacity ",
					     "fence confirm ", "fence list ", "explain " };
	size_t i;

	if (strncmp(c, "novacron ", 9) != 0 || strstr(c, "...") || strstr(c, "--config") || strstr(c, "--forecast"))
		return 0;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strncmp(c + 9, verbs[i], strlen(verbs[i])) == 0)
			return 1;
	return 0;
}

/* got (one line, len bytes) matches want, where "..." stands for any text */
static int tour_line_match(const char *want, const char *got, size_t len)
{
	const char *w = want, *dots, *g = got, *end = got + len;
	int first = 1;

	for (;;) {
		size_t n;

		dots = strstr(w, "...");
		n = dots ? (size_t)(dots - w) : strlen(w);
		if (!dots) /* the last piece ends the line */
			return (size_t)(end - g) >= n && memcmp(end - n, w, n) == 0 && (!first || (size_t)(end - g) == n);
		if (first) {
			if ((size_t)(end - g) < n || memcmp(g, w, n) != 0)
				return 0;
			g += n;
		} else if (n > 0) {
			const char *hit = memmem(g, (size_t)(end - g), w, n);

			if (!hit)
				return 0;
			g = hit + n;
		}
		first = 0;
		w = dots + 3;
	}
}

/* every line of want ("\n"-separated) appears in got, in order; a message for the first that does not */
static char *tour_compare(const char *want, const char *got)
{
	const char *w = want, *g = got;

	while (*w) {
		const char *we = strchr(w, '\n');
		char *line = nc_xstrndup(w, (size_t)(we - w));
		int found = 0;

		if (strcmp(line, "...") != 0) {
			while (*g && !found) {
				const char *ge = strchr(g, '\n');
				size_t n = ge ? (size_t)(ge - g) : strlen(g);

				found = tour_line_match(line, g, n);
				g += n + (ge ? 1 : 0);
			}
			if (!found) {
				char *msg = nc_xasprintf("README line not in the output (in order): '%s'", line);

				free(line);
				return msg;
			}
		}
		free(line);
		w = we + 1;
	}
	return NULL;
}

START_TEST(test_package_readme_tour)
{
	char dir[] = "/tmp/nc-pkg-tour-XXXXXX", *readme, *line, *save = NULL;
	struct nc_buf cmd = NC_BUF_INIT, want = NC_BUF_INIT;
	int in_block = 0, ran = 0, compared = 0, counts = 0;
	char *fail = NULL; /* the first failure, reported once the scratch folder is gone */
	size_t len;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(nc_run_inq(dir, "ln -s '%s/examples' examples && ln -s '%s/test' test", NC_SOURCE_DIR,
				    NC_SOURCE_DIR), 0);
	ck_assert_int_eq(nc_read_file(NC_SOURCE_DIR "/README.md", 1 << 20, &readme, &len), 0);
	/* one pass over the lines; a command is run when the next one (or its block's end) comes */
	for (line = strtok_r(readme, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
		int next_cmd = line && in_block && strncmp(line, "$ ", 2) == 0;
		int block_end = line && in_block && strncmp(line, "```", 3) == 0;

		if (cmd.len && (!line || next_cmd || block_end)) {
			if (tour_offline(cmd.buf)) {
				struct nc_run r;
				char *c = cmd.buf, *hash = strstr(c, " #"), *diff;
				int st;

				if (hash)
					*hash = '\0';
				st = nc_run_in(&r, dir, "\"$NC\"%s 2>&1", c + strlen("novacron"));
				ran++;
				/* 0 done, 2 changes pending; 1 only where the README shows errors */
				if (!(st == 0 || st == 2 || (st == 1 && want.len && strstr(want.buf, "error:"))))
					fail = nc_xasprintf("`%s` exited %d:\n%.3000s", c, st, r.out);
				else if (want.len && (diff = tour_compare(want.buf, r.out)) != NULL) {
					fail = nc_xasprintf("`%s`: %s; its output:\n%.2500s", c, diff, r.out);
					free(diff);
				} else if (want.len) {
					compared++;
					counts += strstr(want.buf, " documents,") != NULL;
				}
				nc_run_free(&r);
			}
			nc_buf_reset(&cmd);
			nc_buf_reset(&want);
		}
		if (!line || fail)
			break;
		if (!in_block) {
			in_block = strncmp(line, "```console", 10) == 0;
			continue;
		}
		if (block_end) {
			in_block = 0;
		} else if (next_cmd) {
			nc_buf_adds(&cmd, line + 2);
			/* a command continued on the next line */
			while (cmd.len && cmd.buf[cmd.len - 1] == '\\' && (line = strtok_r(NULL, "\n", &save)) != NULL) {
				cmd.buf[--cmd.len] = '\0';
				nc_buf_adds(&cmd, line);
			}
		} else if (cmd.len && line[strspn(line, " ")] != '#' && line[strspn(line, " ")] != '\0') {
			nc_buf_adds(&want, line);
			nc_buf_adds(&want, "\n");
		}
	}
	free(readme);
	nc_buf_release(&cmd);
	nc_buf_release(&want);
	nc_run_inq("/", "rm -rf '%s'", dir);
	ck_assert_msg(fail == NULL, "%s", fail);
	/* the tour as written today: 16 commands run offline, 4 of them with output shown */
	ck_assert_msg(ran >= 12 && compared >= 4 && counts >= 1, "ran %d commands, compared %d outputs, %d counts", ran,
		      compared, counts);
}
END_TEST

Suite *nc_suite_package(void)
{
	Suite *s = suite_create("package");
	TCase *tc = tcase_create("package");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_package_unit_security);
	tcase_add_test(tc, test_package_readme_tour);
	suite_add_tcase(s, tc);
	return s;
}
