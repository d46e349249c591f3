/*
 * test_jsonout.c - versioned JSON outputs built with json-c, checked against docs/json.md.
 *
 * Each test runs the real binary (examples/quickstart on simulated hosts, in
 * a temporary state directory), parses what it prints with json-c and holds
 * it against the command's table in docs/json.md, both ways: every field the
 * table lists is there with its type (unless marked optional, or inside an
 * array that is empty here), and every field printed is in the table.  So the
 * documentation and the code cannot drift apart.
 */
#include <arpa/inet.h>
#include <check.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../spec/util.h"
#include "../telemetry/forecast.h"
#include "tests.h"
#include "testutil.h"

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nc-json-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void teardown(void)
{
	nc_run_inq("/", "rm -rf '%s'", tdir);
}

#define sh(r, ...) nc_run_in((r), tdir, __VA_ARGS__)
#define shq(...) nc_run_inq(tdir, __VA_ARGS__)

/* ---- the tables of docs/json.md ---- */

enum { T_STR = 1, T_INT = 2, T_NUM = 4, T_BOOL = 8, T_OBJ = 16, T_ARR = 32, T_NULL = 64 };

struct row {
	char path[160];      /* "actions[].changes[].field", "objects.*" */
	unsigned types;      /* T_* */
	unsigned elem;       /* an array's elements */
	bool optional;
};

struct table {
	struct row *v;
	size_t n;
};

static unsigned type_word(const char *w, size_t n)
{
	static const struct {
		const char *name;
		unsigned t;
	} words[] = {
		{ "string", T_STR }, { "integer", T_INT }, { "number", T_NUM | T_INT }, { "boolean", T_BOOL },
		{ "object", T_OBJ }, { "null", T_NULL },
	};
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(words); i++)
		if (strlen(words[i].name) == n && strncmp(w, words[i].name, n) == 0)
			return words[i].t;
	return 0;
}

/* "array of string or null (optional)" */
static bool parse_type(struct row *r, const char *cell)
{
	char *s = nc_xstrdup(cell), *p, *opt, *part, *save = NULL;
	bool ok = true;

	if ((opt = strstr(s, "(optional)"))) {
		r->optional = true;
		*opt = '\0';
	}
	for (p = s; *p; p++)       /* " or " separates the alternatives */
		if (strncmp(p, " or ", 4) == 0)
			memcpy(p, " |  ", 4);
	for (part = strtok_r(s, "|", &save); part; part = strtok_r(NULL, "|", &save)) {
		size_t n;
		unsigned t;

		while (*part == ' ')
			part++;
		n = strlen(part);
		while (n && part[n - 1] == ' ')
			n--;
		if (n > 9 && strncmp(part, "array of ", 9) == 0) {
			r->types |= T_ARR;
			if (!(t = type_word(part + 9, n - 9)))
				ok = false;
			r->elem |= t;
		} else if ((t = type_word(part, n))) {
			r->types |= t;
		} else {
			ok = false;
		}
	}
	free(s);
	return ok && r->types;
}

/* the table after "<!-- json: id -->" in docs/json.md */
static void load_table(struct table *out, const char *id)
{
	char *path = nc_xasprintf("%s/docs/json.md", NC_SOURCE_DIR), *text, *marker, *p;
	size_t len;

	ck_assert_int_eq(nc_read_file(path, 1 << 20, &text, &len), 0);
	marker = nc_xasprintf("<!-- json: %s -->\n", id);
	p = strstr(text, marker);
	ck_assert_msg(p != NULL, "docs/json.md has no table '%s'", id);
	memset(out, 0, sizeof(*out));
	for (p += strlen(marker); *p == '|'; p = strchr(p, '\n') + 1) {
		char *end = strchr(p, '\n'), *c1, *c2, *c3;
		struct row r;

		ck_assert_ptr_nonnull(end);
		*end = '\0';
		/* | `name` | type | meaning | */
		if (strncmp(p, "| `", 3) != 0) {
			*end = '\n';
			continue;       /* the header and its rule */
		}
		memset(&r, 0, sizeof(r));
		c1 = p + 3;
		c2 = strstr(c1, "` | ");
		ck_assert_msg(c2 && (size_t)(c2 - c1) < sizeof(r.path), "docs/json.md (%s): bad row %s", id, p);
		memcpy(r.path, c1, (size_t)(c2 - c1));
		c2 += 4;
		c3 = strstr(c2, " | ");
		ck_assert_msg(c3 != NULL, "docs/json.md (%s): bad row %s", id, p);
		*c3 = '\0';
		ck_assert_msg(parse_type(&r, c2), "docs/json.md (%s): unknown type '%s' of %s", id, c2, r.path);
		*c3 = ' ';
		out->v = nc_xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = r;
		*end = '\n';
	}
	ck_assert_msg(out->n > 1, "docs/json.md (%s): an empty table", id);
	free(marker);
	free(text);
	free(path);
}

static const struct row *find_row(const struct table *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].path, path) == 0)
			return &t->v[i];
	return NULL;
}

static bool type_ok(struct json_object *v, unsigned types)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return types & T_NULL;
	case json_type_boolean: return types & T_BOOL;
	case json_type_int: return types & (T_INT | T_NUM);
	case json_type_double: return types & T_NUM;
	case json_type_string: return types & T_STR;
	case json_type_object: return types & T_OBJ;
	case json_type_array: return types & T_ARR;
	}
	return false;
}

/* parent of "a[].b" is "a[]", of "a" "" */
static void parent_of(const char *path, char *out, size_t len, const char **last)
{
	const char *dot = strrchr(path, '.');

	if (!dot) {
		snprintf(out, len, "%s", "");
		*last = path;
	} else {
		snprintf(out, len, "%.*s", (int)(dot - path), path);
		*last = dot + 1;
	}
}

static void walk(const struct table *t, struct json_object *o, const char *prefix, struct nc_buf *errs);

static void walk_value(const struct table *t, const struct row *r, struct json_object *v, struct nc_buf *errs)
{
	size_t i, n;

	if (!type_ok(v, r->types)) {
		nc_buf_addf(errs, "%s: %s is not of type as documented\n", r->path, json_object_to_json_string(v));
		return;
	}
	if (json_object_is_type(v, json_type_object)) {
		walk(t, v, r->path, errs);
	} else if (json_object_is_type(v, json_type_array)) {
		char *sub = nc_xasprintf("%s[]", r->path);

		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			if (!type_ok(e, r->elem))
				nc_buf_addf(errs, "%s[%zu]: %s is not of the documented element type\n", r->path, i,
					    json_object_to_json_string(e));
			else if (json_object_is_type(e, json_type_object))
				walk(t, e, sub, errs);
		}
		free(sub);
	}
}

/* every field of o (at prefix) is documented with its type; every documented one is there */
static void walk(const struct table *t, struct json_object *o, const char *prefix, struct nc_buf *errs)
{
	char parent[160];
	const char *last;
	size_t i;

	json_object_object_foreach(o, key, val) {
		char *path = *prefix ? nc_xasprintf("%s.%s", prefix, key) : nc_xstrdup(key);
		char *any = *prefix ? nc_xasprintf("%s.*", prefix) : nc_xstrdup("*");
		const struct row *r = find_row(t, path);

		if (!r)
			r = find_row(t, any);
		if (!r)
			nc_buf_addf(errs, "%s is printed but not in docs/json.md\n", path);
		else
			walk_value(t, r, val, errs);
		free(path);
		free(any);
	}
	for (i = 0; i < t->n; i++) {
		const struct row *r = &t->v[i];

		parent_of(r->path, parent, sizeof(parent), &last);
		if (r->optional || strcmp(parent, prefix) != 0 || strcmp(last, "*") == 0)
			continue;
		if (!json_object_object_get_ex(o, last, NULL))
			nc_buf_addf(errs, "%s is in docs/json.md but not printed\n", r->path);
	}
}

/* out is one document that matches the table id of docs/json.md */
static void check_doc(const char *id, const char *out)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc, *fv;
	struct nc_buf errs = NC_BUF_INIT;
	struct table t;
	const char *first = NULL;

	doc = json_tokener_parse_ex(tok, out, (int)strlen(out));
	ck_assert_msg(doc && json_tokener_get_error(tok) == json_tokener_success, "%s: not JSON:\n%.2000s", id, out);
	/* one document, then only its newline */
	ck_assert_msg(strspn(out + json_tokener_get_parse_end(tok), "\n") == strlen(out + json_tokener_get_parse_end(tok)),
		      "%s: more than one document:\n%.2000s", id, out);
	json_tokener_free(tok);
	ck_assert_msg(json_object_is_type(doc, json_type_object), "%s: not an object", id);
	{
		json_object_object_foreach(doc, key, val) {
			(void)val;
			first = key;
			break;
		}
	}
	ck_assert_msg(first && strcmp(first, "format_version") == 0, "%s: format_version is not the first field", id);
	ck_assert(json_object_object_get_ex(doc, "format_version", &fv));
	ck_assert_msg(json_object_is_type(fv, json_type_int), "%s: format_version is not an integer", id);
	ck_assert_int_eq(json_object_get_int(fv), 1);
	load_table(&t, id);
	walk(&t, doc, "", &errs);
	ck_assert_msg(errs.len == 0, "%s: output and docs/json.md differ:\n%.3000s\noutput:\n%.3000s", id, errs.buf, out);
	nc_buf_release(&errs);
	free(t.v);
	json_object_put(doc);
}

/* ---- the commands ---- */

/* validate, plan, show, history, get, diff, capacity, fence list and token list of the quickstart on simulated hosts */
START_TEST(test_jsonout_cli)
{
	struct nc_run r;

	ck_assert_int_eq(sh(&r, "cd '%s' && $NC validate -o json test/data/invalid examples/quickstart", NC_SOURCE_DIR), 1);
	check_doc("validate", r.out);
	HAS(r.out, "\"diagnostics\": [\n    {\n      \"file\": ");     /* the layout of every document */
	nc_run_free(&r);

	/* the quickstart, web-1 brought up after db-1 (an ordered plan) */
	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' qs && "
			     "sed -i '0,/  template: web/s//  template: web\\n  dependsOn: [db-1]/' qs/vms/web.yaml",
			     NC_SOURCE_DIR), 0);
	ck_assert_int_eq(sh(&r, "$NC plan qs --state-dir st -o json"), 2);
	check_doc("plan", r.out);
	HAS(r.out, "\"action\": \"upload\"");
	HAS(r.out, "\"cloud_init\": {");
	HASJ(r.out, "\"order\": {\"wave\": 0, \"depends_on\": [\"db-1\"]}");
	nc_run_free(&r);
	/* several clusters (docs/federation.md): actions[].cluster, clusters[], inputs.clusters */
	ck_assert_int_eq(sh(&r, "$NC plan '%s/examples/federation' --state-dir stf --cluster west -o json", NC_SOURCE_DIR), 2);
	check_doc("plan", r.out);
	HASJ(r.out, "\"clusters\": [\"west\"]");
	HAS(r.out, "\"cluster\": \"west\"");
	nc_run_free(&r);
	/* show -o json prints a saved plan as saved: the same document */
	ck_assert_int_eq(shq("$NC plan qs --state-dir st --out p.json > /dev/null"), 2);
	ck_assert_int_eq(sh(&r, "$NC show p.json -o json"), 0);
	check_doc("plan", r.out);
	HAS(r.out, "\"action\": \"upload\"");
	nc_run_free(&r);
	ck_assert_int_eq(shq("$NC apply '%s/examples/quickstart' --state-dir st --auto-approve --commit 0123abcd", NC_SOURCE_DIR), 0);
	ck_assert_int_eq(sh(&r, "$NC history --state-dir st -o json"), 0);
	check_doc("history", r.out);
	HAS(r.out, "\"last_commit\": \"0123abcd\"");
	nc_run_free(&r);
	/* get: every list kind of the applied quickstart (volumes: disks and an Image) */
	{
		static const char *const kinds[][3] = {
			{ "vms", "get-vms", "\"kind\": \"VMList\"" },
			{ "hosts", "get-hosts", "\"kind\": \"HostList\"" },
			{ "pools", "get-pools", "\"kind\": \"PoolList\"" },
			{ "volumes", "get-volumes", "\"complete\": true" },
			{ "networks", "get-networks", "\"kind\": \"NetworkList\"" },
		};
		size_t k;

		for (k = 0; k < NC_ARRAY_SIZE(kinds); k++) {
			ck_assert_int_eq(sh(&r, "$NC get %s '%s/examples/quickstart' --state-dir st -o json", kinds[k][0],
					    NC_SOURCE_DIR), 0);
			check_doc(kinds[k][1], r.out);
			HAS(r.out, kinds[k][2]);
			nc_run_free(&r);
		}
	}
	/* diff: the quickstart in a repository, one VM bigger in the working tree, one added */
	ck_assert_int_eq(sh(&r, "git init -q -b main repo && cp -r '%s/examples/quickstart' repo/spec && cd repo && "
			    "git add -A && git commit -qm one && sed -i '0,/memory: [0-9]*GiB/s//memory: 64GiB/' spec/vms/*.yaml && "
			    "printf -- '---\\napiVersion: novacron.io/v1\\nkind: VM\\nmetadata: {name: extra-1}\\n"
			    "spec: {vcpus: 1, memory: 1GiB}\\n' >> spec/hosts/hosts.yaml && $NC diff HEAD --path spec -o json",
			    NC_SOURCE_DIR), 2);
	check_doc("diff", r.out);
	HAS(r.out, "\"name\": \"extra-1\"");
	HAS(r.out, "\"to\": \"64GiB\"");
	nc_run_free(&r);

	ck_assert_int_eq(sh(&r, "$NC capacity '%s/examples/quickstart' --state-dir st -o json --template small",
			    NC_SOURCE_DIR), 2);
	check_doc("capacity", r.out);
	HAS(r.out, "\"template\": {");
	nc_run_free(&r);

	ck_assert_int_eq(shq("$NC token create ci --role operator --tenant team-a --state-dir st && "
			     "$NC token create ro --role viewer --expires 30d --state-dir st"), 0);
	ck_assert_int_eq(sh(&r, "$NC token list -o json --state-dir st"), 0);
	check_doc("token-list", r.out);
	HASNT(r.out, "nc_");     /* never a secret */
	nc_run_free(&r);

	ck_assert_int_eq(shq("umask 077 && printf '%%s\\n' '{\"format_version\": 1, \"hosts\": [{\"name\": \"kvm3\", "
			     "\"failed_at\": 1796000000, \"fenced\": true, \"fenced_at\": 1796000010, \"fenced_by\": "
			     "\"rbd device ceph\", \"whole_host\": false, \"disks\": [\"rbd/db-1-root\"], "
			     "\"recovered\": [\"db-1\"]}]}' > st/ha.json"), 0);
	ck_assert_int_eq(sh(&r, "$NC fence list -o json --state-dir st"), 0);
	check_doc("fence-list", r.out);
	HAS(r.out, "\"rbd/db-1-root\"");
	nc_run_free(&r);
}
END_TEST

#define NOW ((time_t)1796644800)       /* 2026-12-07T12:00:00Z */

/* capacity --forecast on two days of kvm1's memory and CPU */
START_TEST(test_jsonout_forecast)
{
	struct nc_tm_store_opts o;
	struct nc_tm_store *st = NULL;
	struct nc_err err = { "" };
	struct nc_tm_object ob;
	struct nc_tm_round rd;
	struct nc_run r;
	char *dir = nc_xasprintf("%s/st/telemetry", tdir);
	size_t m;
	time_t t;

	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.step = 600;
	ck_assert_msg(nc_tm_store_open(&st, &o, &err) == 0, "open: %s", err.msg);
	for (t = NOW - 2 * 86400; t <= NOW; t += 600) {
		memset(&ob, 0, sizeof(ob));
		ob.target = NC_MT_HOST;
		ob.id = ob.name = (char *)"kvm1";
		for (m = 0; m < NC_METRICS_MAX; m++)
			ob.v[m] = NAN;
		ob.v[NC_HM_UP] = 1;
		ob.v[NC_HM_CPUS] = 16;
		ob.v[NC_HM_CPU_USAGE] = 0.25;
		ob.v[NC_HM_MEMORY_TOTAL] = 64.0 * (1 << 30);
		ob.v[NC_HM_MEMORY_USED] = 60.0 * (1 << 30) + (double)(t - NOW) / 86400 * (1 << 30);
		memset(&rd, 0, sizeof(rd));
		rd.t = t;
		rd.objs = &ob;
		rd.nobjs = 1;
		ck_assert_msg(nc_tm_store_write(st, &rd, &err) == 0, "write: %s", err.msg);
	}
	nc_tm_store_close(st);
	free(dir);
	ck_assert_int_eq(sh(&r, "$NC capacity '%s/examples/quickstart' --state-dir st --forecast --window 1d "
			    "--template small -o json", NC_SOURCE_DIR), 2);
	check_doc("capacity-forecast", r.out);
	HAS(r.out, "\"status\": \"runs_out\"");
	HAS(r.out, "\"trend_per_day\": null");
	nc_run_free(&r);
}
END_TEST

/* backup list of a VM's two disks, backed up once */
START_TEST(test_jsonout_backup_list)
{
	struct nc_run r;

	ck_assert_int_eq(shq("mkdir -p spec pool && "
		"printf 'paths: {secrets: [\"%%s\"], pools: [\"%%s\"], backups: [\"%%s\"]}\\n' \"$PWD\" \"$PWD\" \"$PWD\" "
		"> novacron.yaml && cat > spec/c.yaml <<EOF\n"
		"apiVersion: novacron.io/v1\nkind: Host\nmetadata: {name: h1}\nspec: {uri: \"sim:///h1\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: StoragePool\nmetadata: {name: local}\nspec: {type: dir, path: \"$PWD/pool\"}\n---\n"
		"apiVersion: novacron.io/v1\nkind: BackupSchedule\nmetadata: {name: nightly}\n"
		"spec:\n  schedule: \"30 2 * * *\"\n  vms: [vm1]\n  target: {type: dir, path: \"$PWD/repo\"}\n"
		"  retention: {keepLast: 5}\n---\n"
		"apiVersion: novacron.io/v1\nkind: VM\nmetadata: {name: vm1}\n"
		"spec:\n  vcpus: 1\n  memory: 256MiB\n  state: stopped\n  placement: {host: h1}\n"
		"  disks:\n    - {name: root, pool: local, size: 4MiB}\n    - {name: data, pool: local, size: 2MiB}\n"
		"EOF"), 0);
	ck_assert_int_eq(shq("export NOVACRON_CONFIG=$PWD/novacron.yaml && "
			     "$NC apply spec --state-dir st --auto-approve && "
			     "qemu-img create -q -f qcow2 pool/vm1-root.qcow2 4M && "
			     "qemu-img create -q -f qcow2 pool/vm1-data.qcow2 2M && "
			     "$NC backup run vm1 spec --state-dir st"), 0);
	ck_assert_int_eq(sh(&r, "NOVACRON_CONFIG=$PWD/novacron.yaml $NC backup list --schedule nightly spec "
			    "--state-dir st -o json"), 0);
	check_doc("backup-list", r.out);
	HAS(r.out, "\"disk\": \"data\"");
	HAS(r.out, "\"disk_size\": 4194304");
	nc_run_free(&r);
}
END_TEST

/* a TCP port free on 127.0.0.1 now */
static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* status -o json of a serve on the quickstart (a directory source) */
START_TEST(test_jsonout_status)
{
	struct nc_run r;
	int i, port = free_port(), rc = 1;

	ck_assert_int_eq(shq("cp -r '%s/examples/quickstart' spec && printf 'source:\\n  directory: %%s/spec\\n"
			     "cacheDir: %%s/cache\\nstateDir: %%s/st\\ninterval: 1s\\nlisten: 127.0.0.1:%d\\n' "
			     "\"$PWD\" \"$PWD\" \"$PWD\" > serve.yaml && "
			     "($NC serve --config serve.yaml >/dev/null 2>log & echo $! > pid)", NC_SOURCE_DIR, port), 0);
	for (i = 0; i < 300 && rc; i++) {
		sh(&r, "$NC status --url http://127.0.0.1:%d -o json", port);
		rc = r.status == 0 && strstr(r.out, "\"result\": \"ok\"") ? 0 : 1;
		if (rc)
			nc_run_free(&r);
		usleep(100000);
	}
	ck_assert_msg(rc == 0, "serve did not finish a pass");
	check_doc("status", r.out);
	HAS(r.out, "\"create/done\": ");
	nc_run_free(&r);
	/* status --all: this serve and one that does not answer (federation.h) */
	ck_assert_int_eq(shq("printf 'federation:\\n  - {cluster: a, url: \"http://127.0.0.1:%d\"}\\n"
			     "  - {cluster: b, url: \"http://127.0.0.1:1\"}\\n' > fed.yaml", port), 0);
	ck_assert_int_eq(sh(&r, "$NC status --all --config fed.yaml -o json"), 2);
	check_doc("status-all", r.out);
	HASJ(r.out, "\"unreachable\": 1}");
	nc_run_free(&r);
	shq("kill -TERM $(cat pid); for i in $(seq 50); do kill -0 $(cat pid) 2>/dev/null || break; sleep 0.1; done");
}
END_TEST

Suite *nc_suite_jsonout(void)
{
	Suite *s = suite_create("jsonout");
	TCase *tc = tcase_create("jsonout");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_jsonout_cli);
	tcase_add_test(tc, test_jsonout_forecast);
	tcase_add_test(tc, test_jsonout_backup_list);
	tcase_add_test(tc, test_jsonout_status);
	suite_add_tcase(s, tc);
	return s;
}
