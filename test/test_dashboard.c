/*
 * test_dashboard.c - the dashboard's embedded files (reconciler/assets.h):
 * each file of web/ui/ is served byte for byte at its URL with its
 * Content-Type, and nothing else is: traversal, encodings, doubled or
 * back slashes.  The dashboard in a real browser: test/integration/dashboard.sh.
 */
#include "tests.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "../reconciler/assets.h"
#include "../spec/util.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct nc_buf b = NC_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		nc_buf_add(&b, chunk, n);
	fclose(f);
	return nc_buf_detach(&b, len);
}

/* every file of web/ui/ is embedded, equal to the file, at /ui/NAME ("/" for index.html) */
START_TEST(test_dashboard_assets_equal_files)
{
	char dir[4096], path[8192], url[512];
	struct dirent *de;
	DIR *d;
	size_t nfiles = 0, nembedded = 0, i;

	snprintf(dir, sizeof(dir), "%s/web/ui", NC_SOURCE_DIR);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		const void *data;
		size_t len, flen;
		const char *type;
		char *want;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		want = slurp(path, &flen);
		ck_assert_msg(want != NULL, "cannot read %s", path);
		if (strcmp(de->d_name, "index.html") == 0)
			snprintf(url, sizeof(url), "/");
		else
			snprintf(url, sizeof(url), "/ui/%s", de->d_name);
		ck_assert_msg(nc_asset_get(url, &data, &len, &type) == 0, "%s is not embedded", url);
		ck_assert_msg(len == flen && memcmp(data, want, len) == 0,
			      "%s differs from web/ui/%s (%zu bytes, the file %zu): rebuild", url, de->d_name, len, flen);
		ck_assert_str_eq(type, nc_asset_type(de->d_name));
		free(want);
		nfiles++;
	}
	closedir(d);
	for (i = 0; nc_asset_files[i].name; i++)
		nembedded++;
	ck_assert_uint_eq(nembedded, nfiles);
	ck_assert_uint_ge(nfiles, 3);
}
END_TEST

START_TEST(test_dashboard_asset_types)
{
	const void *data, *data2;
	size_t len, len2;
	const char *type;

	ck_assert_int_eq(nc_asset_get("/", &data, &len, &type), 0);
	ck_assert_str_eq(type, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr((const char *)data, "/ui/app.js"));
	ck_assert_int_eq(nc_asset_get("/index.html", &data2, &len2, &type), 0);
	ck_assert_ptr_eq(data, data2);
	ck_assert_int_eq(nc_asset_get("/ui/app.js", &data, &len, &type), 0);
	ck_assert_str_eq(type, "text/javascript; charset=utf-8");
	ck_assert_int_eq(nc_asset_get("/ui/app.css", &data, &len, &type), 0);
	ck_assert_str_eq(type, "text/css; charset=utf-8");
	ck_assert_str_eq(nc_asset_type("favicon.svg"), "image/svg+xml");
	ck_assert_str_eq(nc_asset_type("x.bin"), "application/octet-stream");
	ck_assert_str_eq(nc_asset_type("noext"), "application/octet-stream");
}
END_TEST

/* anything but an embedded file's exact URL is none: traversal, encodings, doubled and back slashes */
static const char *const bad_paths[] = {
	"", "ui", "/ui", "/ui/", "/ui//app.js", "//ui/app.js", "/ui/./app.js", "/ui/../ui/app.js",
	"/ui/../../etc/passwd", "/../etc/passwd", "/ui/%2e%2e/app.js", "/ui/%2e%2e%2fapp.js",
	"/ui/app.js%00", "/ui/%00", "/ui/app.js\x01", "/ui\\app.js", "/ui/..\\app.js", "/ui/app.js/", "/ui/APP.JS", "/ui/app.js?x",
	"/app.js", "/ui/index.html", "/index.htm", "/index.html/", "/.", "/..", "/ui/.", "/ui/..",
	"/etc/passwd", "/ui/app.js ", " /ui/app.js", "/ui/app.js\n", "/UI/app.js", "/ui/nosuch.js",
	"/api/v1/me", "/auth/login",
};

START_TEST(test_dashboard_asset_refuses)
{
	const void *data = NULL;
	size_t len = 0;
	const char *type = NULL;

	ck_assert_msg(nc_asset_get(bad_paths[_i], &data, &len, &type) == -1, "'%s' was served", bad_paths[_i]);
	ck_assert_ptr_null(type);
	ck_assert_int_eq(nc_asset_get(NULL, &data, &len, &type), -1);
}
END_TEST

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

/* a %00 anywhere in a URL (path or query) is 404 before any routing: libmicrohttpd decodes it
 * and the path would end there (/ui/app.js%00.html served app.js) */
START_TEST(test_dashboard_nul_in_url)
{
	static const char *const urls[] = {
		"/ui/app.js%00.html", "/ui/app.js%00", "/%00", "/healthz%00", "/api/v1/me%00x",
		"/ui/app.js?x=%00", "/api/v1/cluster?a%00b=1",
	};
	char tdir[64] = "/tmp/nc-dash-XXXXXX";
	struct nc_run r;
	struct nc_buf got = NC_BUF_INIT, want = NC_BUF_INIT;
	int i, port = free_port();
	size_t k;

	ck_assert_ptr_nonnull(mkdtemp(tdir));
	nc_buf_adds(&want, "/ui/app.js 200\n");
	ck_assert_int_eq(nc_run_inq(tdir, "cp -r '%s/examples/quickstart' spec && printf 'source:\\n  directory: "
				    "%s/spec\\ncacheDir: %s/cache\\nstateDir: %s/state\\nlisten: 127.0.0.1:%d\\n"
				    "telemetry:\\n  enabled: false\\napi:\\n  anonymous: viewer\\n' > serve.yaml && "
				    "($NC serve --config serve.yaml >/dev/null 2>log & echo $! > pid)",
				    NC_SOURCE_DIR, tdir, tdir, tdir, port), 0);
	for (i = 0; i < 100; i++) {
		if (nc_run_inq(tdir, "curl -s --max-time 5 -o /dev/null http://127.0.0.1:%d/healthz", port) == 0)
			break;
		usleep(100000);
	}
	/* every answer first, then serve stopped, then the checks (a failure leaves no serve behind) */
	nc_run_in(&r, tdir, "curl -s --max-time 20 -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/ui/app.js", port);
	nc_buf_addf(&got, "/ui/app.js %s\n", r.out);
	nc_run_free(&r);
	for (k = 0; k < sizeof(urls) / sizeof(urls[0]); k++) {
		nc_run_in(&r, tdir, "curl -s --path-as-is --max-time 20 -o /dev/null -w '%%{http_code}' "
			  "'http://127.0.0.1:%d%s'", port, urls[k]);
		nc_buf_addf(&got, "%s %s\n", urls[k], r.out);
		nc_buf_addf(&want, "%s 404\n", urls[k]);
		nc_run_free(&r);
	}
	/* the connection lives on: the next request on it is answered as usual */
	nc_run_in(&r, tdir, "curl -s --path-as-is --max-time 20 -o /dev/null -o /dev/null -w '%%{http_code} ' "
		  "'http://127.0.0.1:%d/ui/app.js%%00.html' 'http://127.0.0.1:%d/ui/app.js'", port, port);
	nc_buf_addf(&got, "one connection: %s\n", r.out);
	nc_run_free(&r);
	nc_buf_adds(&want, "one connection: 404 200 \n");
	nc_run_inq("/", "kill $(cat '%s/pid'); sleep 0.2; rm -rf '%s'", tdir, tdir);
	ck_assert_str_eq(got.buf, want.buf);
	nc_buf_release(&got);
	nc_buf_release(&want);
}
END_TEST

Suite *nc_suite_dashboard(void)
{
	Suite *s = suite_create("dashboard");
	TCase *tc = tcase_create("assets");

	tcase_add_test(tc, test_dashboard_assets_equal_files);
	tcase_add_test(tc, test_dashboard_asset_types);
	tcase_add_loop_test(tc, test_dashboard_asset_refuses, 0, (int)(sizeof(bad_paths) / sizeof(bad_paths[0])));
	tcase_add_test(tc, test_dashboard_nul_in_url);
	suite_add_tcase(s, tc);
	return s;
}
