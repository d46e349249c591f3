/*
 * test_source.c - tests for drivers/source/git.c and drivers/source/dir.c.
 *
 * The git tests build real repositories with the git CLI in a temporary
 * directory (a working repository pushing to a bare one, HOME pointing at a
 * private configuration) and fetch them over file://.  The signature tests
 * sign with `gpg.format=ssh` and keys made by ssh-keygen.  The directory
 * tests change files and check what wait() and the id say.  The
 * confinement tests make real symbolic links (chained, relative, absolute,
 * loops, dangling) in commits and directories, and move a branch back to
 * an older commit (rollback).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../drivers/source/source.h"
#include "../spec/util.h"
#include "../spec/walk.h"
#include "tests.h"

Suite *nc_suite_source(void);

static char root[PATH_MAX];     /* the test's temporary directory */

/* ---- helpers ---- */

static void setup(void)
{
	char tmpl[] = "/tmp/nc-source-XXXXXX";

	ck_assert_msg(mkdtemp(tmpl) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(root, sizeof(root), "%s", tmpl);
}

static void teardown(void)
{
	char *cmd = nc_xasprintf("rm -rf '%s'", root);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	free(cmd);
}

/* Runs a shell command in root with a private git configuration; its exit status. */
static int sh_status(const char *fmt, ...) NC_PRINTF(1, 2);
static int sh_status(const char *fmt, ...)
{
	struct nc_buf b = NC_BUF_INIT;
	va_list ap;
	int rc;

	nc_buf_addf(&b, "cd '%s' && export HOME='%s/home' GIT_CONFIG_NOSYSTEM=1 && (", root, root);
	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	nc_buf_addf(&b, ") >>'%s/sh.log' 2>&1", root);
	rc = system(b.buf);
	nc_buf_release(&b);
	return rc;
}

static void sh(const char *fmt, ...) NC_PRINTF(1, 2);
static void sh(const char *fmt, ...)
{
	struct nc_buf b = NC_BUF_INIT;
	char *log = NULL, *logpath;
	size_t len;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	rc = sh_status("%s", b.buf);
	if (rc != 0) {
		logpath = nc_xasprintf("%s/sh.log", root);
		nc_read_file(logpath, 1 << 20, &log, &len);
		ck_abort_msg("command failed (%d): %s\n%s", rc, b.buf, log ? log : "");
	}
	nc_buf_release(&b);
}

/* The first line a shell command prints (caller frees). */
static char *sh_out(const char *fmt, ...) NC_PRINTF(1, 2);
static char *sh_out(const char *fmt, ...)
{
	struct nc_buf b = NC_BUF_INIT;
	char line[512] = "";
	va_list ap;
	FILE *f;

	nc_buf_addf(&b, "cd '%s' && export HOME='%s/home' GIT_CONFIG_NOSYSTEM=1 && (", root, root);
	va_start(ap, fmt);
	nc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	nc_buf_adds(&b, ") 2>/dev/null");
	f = popen(b.buf, "r");
	ck_assert_msg(f != NULL, "popen: %s", b.buf);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	nc_buf_release(&b);
	line[strcspn(line, "\n")] = '\0';
	return nc_xstrdup(line);
}

static char *path_in(const char *rel)
{
	return nc_xasprintf("%s/%s", root, rel);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path)
{
	char *text = NULL;
	size_t len;

	if (nc_read_file(path, 1 << 20, &text, &len) < 0)
		return NULL;
	return text;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- git fixtures ---- */

/*
 * The repositories are made once per test case in a template directory
 * (unchecked fixture) and copied for every test, which is much faster than
 * running git a dozen times per test.
 */
static char tmpl[PATH_MAX];

static void make_template(void (*fill)(void))
{
	char t[] = "/tmp/nc-source-tmpl-XXXXXX";

	ck_assert_msg(mkdtemp(t) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(tmpl, sizeof(tmpl), "%s", t);
	snprintf(root, sizeof(root), "%s", t);
	fill();
	root[0] = '\0';
}

static void remove_template(void)
{
	char *cmd = nc_xasprintf("rm -rf '%s'", tmpl);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpl);
	free(cmd);
}

/* A fresh root holding a copy of the template. */
static void copy_template(void)
{
	setup();
	sh("cp -a '%s/.' .", tmpl);
}

/*
 * root/home/.gitconfig, root/work (a.yaml, sub/b.yaml, notes.txt; one
 * commit "first commit" by Test Author) pushed to root/bare.git.
 */
static void fill_git(void)
{
	char *p;

	p = path_in("home");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = path_in("home/.gitconfig");
	write_file(p, "[user]\n\tname = Test Author\n\temail = test@example.com\n"
		   "[init]\n\tdefaultBranch = main\n"
		   "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
		   "[advice]\n\tdetachedHead = false\n"
		   "[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n"
		   "[receive]\n\tautogc = false\n");
	free(p);
	sh("git init -q --template= --bare bare.git && git init -q --template= work && mkdir work/sub && "
	   "echo 'a: 1' > work/a.yaml && echo 'b: 1' > work/sub/b.yaml && "
	   "echo notes > work/notes.txt && cd work && git add -A && "
	   "git commit -q -m 'first commit' -m 'body text' && "
	   "git remote add origin ../bare.git && git push -q origin main");
}

static void git_template(void)
{
	make_template(fill_git);
}

/* Commits a change of a.yaml to value and pushes it; returns the new HEAD. */
static char *commit_push(const char *value, const char *extra_args)
{
	sh("cd work && echo 'a: %s' > a.yaml && git commit -q -a %s -m 'set a to %s' && "
	   "git push -q origin main", value, extra_args, value);
	return sh_out("cd work && git rev-parse HEAD");
}

static struct nc_source_opts git_opts(void)
{
	static char url[PATH_MAX + 16], cache[PATH_MAX + 16];
	struct nc_source_opts o;

	memset(&o, 0, sizeof(o));
	snprintf(url, sizeof(url), "file://%s/bare.git", root);
	snprintf(cache, sizeof(cache), "%s/cache", root);
	o.url = url;
	o.cache_dir = cache;
	return o;
}

static struct nc_source *open_ok(const struct nc_source_driver *d, const struct nc_source_opts *o)
{
	struct nc_source *src = NULL;
	struct nc_err err = { "" };

	ck_assert_msg(d->open(&src, o, &err) == 0, "open failed: %s", err.msg);
	ck_assert_ptr_nonnull(src);
	return src;
}

static void fetch_ok(const struct nc_source_driver *d, struct nc_source *src,
		     struct nc_revision *rev)
{
	struct nc_err err = { "" };

	ck_assert_msg(d->fetch(src, rev, &err) == 0, "fetch failed: %s", err.msg);
}

/* fetch must fail with an error containing want */
static void fetch_fails(struct nc_source *src, const char *want)
{
	struct nc_revision rev;
	struct nc_err err = { "" };

	memset(&rev, 0x5a, sizeof(rev));
	ck_assert_int_lt(nc_source_git.fetch(src, &rev, &err), 0);
	ck_assert_msg(strstr(err.msg, want) != NULL, "error '%s' lacks '%s'", err.msg, want);
	ck_assert_msg(rev.path == (char *)(uintptr_t)0x5a5a5a5a5a5a5a5aULL,
		      "revision written on failure");
}

/* fetch must refuse the revision (NC_SOURCE_EREFUSED, id set, no path) with want in the error */
static void fetch_refused(struct nc_source *src, const char *want)
{
	struct nc_revision rev;
	struct nc_err err = { "" };

	memset(&rev, 0x5a, sizeof(rev));
	ck_assert_int_eq(nc_source_git.fetch(src, &rev, &err), NC_SOURCE_EREFUSED);
	ck_assert_msg(strstr(err.msg, want) != NULL, "error '%s' lacks '%s'", err.msg, want);
	ck_assert_ptr_null(rev.path);
	ck_assert_uint_eq(strlen(rev.id), 40);
	ck_assert_ptr_nonnull(rev.summary);
	nc_revision_release(&rev);
}

static char *file_in(const struct nc_revision *rev, const char *rel)
{
	char *p = nc_xasprintf("%s/%s", rev->path, rel), *t = read_text(p);

	free(p);
	return t;
}

static size_t count_checkouts(void)
{
	char *out = sh_out("ls cache/checkouts | wc -l");
	size_t n = strtoul(out, NULL, 10);

	free(out);
	return n;
}

/* ---- git tests ---- */

START_TEST(test_git_fetch_main)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src = open_ok(&nc_source_git, &o);
	struct nc_revision rev, again;
	char *head = sh_out("cd work && git rev-parse HEAD");
	char *want_path = nc_xasprintf("%s/cache/checkouts/%s", root, head);
	char *want_summary, *t, *tracking;

	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, head);
	ck_assert_str_eq(rev.path, want_path);
	want_summary = nc_xasprintf("%.7s first commit (Test Author)", head);
	ck_assert_str_eq(rev.summary, want_summary);
	ck_assert(!rev.signed_ok);
	ck_assert_ptr_null(rev.signer);
	t = file_in(&rev, "a.yaml");
	ck_assert_str_eq(t, "a: 1\n");
	free(t);
	t = file_in(&rev, "sub/b.yaml");
	ck_assert_str_eq(t, "b: 1\n");
	free(t);
	/* the local clone tracks the branch */
	tracking = sh_out("git --git-dir=cache/repo.git rev-parse refs/remotes/origin/main");
	ck_assert_str_eq(tracking, head);

	/* nothing new: same revision, same checkout */
	fetch_ok(&nc_source_git, src, &again);
	ck_assert_str_eq(again.id, rev.id);
	ck_assert_str_eq(again.path, rev.path);
	ck_assert_int_eq(count_checkouts(), 1);

	nc_revision_release(&again);
	nc_revision_release(&rev);
	ck_assert_ptr_null(rev.path);
	nc_revision_release(NULL);
	nc_source_git.close(src);
	free(tracking);
	free(want_summary);
	free(want_path);
	free(head);
}
END_TEST

START_TEST(test_git_new_commits_and_pruning)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src = open_ok(&nc_source_git, &o);
	struct nc_revision rev;
	char *head, *t, *first;
	int i;

	fetch_ok(&nc_source_git, src, &rev);
	first = nc_xstrdup(rev.path);
	nc_revision_release(&rev);

	head = commit_push("2", "");
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, head);
	t = file_in(&rev, "a.yaml");
	ck_assert_str_eq(t, "a: 2\n");
	free(t);
	ck_assert_msg(strstr(rev.summary, "set a to 2 (Test Author)") != NULL, "%s", rev.summary);
	nc_revision_release(&rev);
	free(head);

	/* four more revisions: only the newest three checkouts stay */
	for (i = 3; i <= 6; i++) {
		char v[4];

		snprintf(v, sizeof(v), "%d", i);
		head = commit_push(v, "");
		fetch_ok(&nc_source_git, src, &rev);
		ck_assert_str_eq(rev.id, head);
		ck_assert(exists(rev.path));
		nc_revision_release(&rev);
		free(head);
	}
	ck_assert_int_eq(count_checkouts(), 3);
	ck_assert(!exists(first));

	/* the current one is kept even when older ones were fetched since */
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert(exists(rev.path));
	t = file_in(&rev, "a.yaml");
	ck_assert_str_eq(t, "a: 6\n");
	free(t);
	nc_revision_release(&rev);
	free(first);
	nc_source_git.close(src);
}
END_TEST

START_TEST(test_git_tags)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_revision rev;
	char *v1, *light, *t;

	sh("cd work && git tag -a v1 -m 'release 1' && git push -q origin v1");
	v1 = sh_out("cd work && git rev-parse 'v1^{commit}'");
	free(commit_push("2", ""));
	sh("cd work && git tag light && git push -q origin light");
	light = sh_out("cd work && git rev-parse HEAD");
	free(commit_push("3", ""));

	o.ref = "v1";   /* annotated: peeled to the commit */
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, v1);
	t = file_in(&rev, "a.yaml");
	ck_assert_str_eq(t, "a: 1\n");
	free(t);
	nc_revision_release(&rev);
	nc_source_git.close(src);

	o.ref = "light";
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, light);
	nc_revision_release(&rev);
	nc_source_git.close(src);

	o.ref = "refs/tags/v1";
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, v1);
	nc_revision_release(&rev);
	nc_source_git.close(src);

	free(v1);
	free(light);
}
END_TEST

START_TEST(test_git_subdir)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_revision rev;
	char *head = sh_out("cd work && git rev-parse HEAD"), *want, *t, *outside;

	o.subdir = "./sub/";
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, head);
	want = nc_xasprintf("%s/cache/checkouts/%s/sub", root, head);
	ck_assert_str_eq(rev.path, want);
	t = file_in(&rev, "b.yaml");
	ck_assert_str_eq(t, "b: 1\n");
	free(t);
	/* only the subdir is written */
	outside = nc_xasprintf("%s/cache/checkouts/%s/a.yaml", root, head);
	ck_assert(!exists(outside));
	nc_revision_release(&rev);
	nc_source_git.close(src);

	/* the same commit with the whole tree: the checkout is rebuilt */
	o.subdir = NULL;
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert(exists(outside));
	nc_revision_release(&rev);
	nc_source_git.close(src);

	free(want);
	free(outside);
	free(head);
}
END_TEST

START_TEST(test_git_missing_subdir)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_err err = { "" };
	char *head = sh_out("cd work && git rev-parse HEAD"), *want;

	o.subdir = "nope";
	src = open_ok(&nc_source_git, &o);
	want = nc_xasprintf("subdir 'nope' not found in commit %.7s", head);
	fetch_fails(src, want);
	nc_source_git.close(src);
	free(want);

	o.subdir = "a.yaml";
	src = open_ok(&nc_source_git, &o);
	fetch_fails(src, "is not a directory");
	nc_source_git.close(src);

	o.subdir = "sub/../..";
	ck_assert_int_lt(nc_source_git.open(&src, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "leaves the repository") != NULL, "%s", err.msg);
	free(head);
}
END_TEST

START_TEST(test_git_unknown_branch)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	char *want;

	o.ref = "nope";
	src = open_ok(&nc_source_git, &o);
	want = nc_xasprintf("git source file://%s/bare.git: ref 'nope' not found "
			    "(no branch or tag of that name)", root);
	fetch_fails(src, want);
	nc_source_git.close(src);
	free(want);
}
END_TEST

START_TEST(test_git_bad_url)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_err err = { "" };
	struct nc_revision rev;
	char *url = nc_xasprintf("file://%s/missing.git", root), *want;

	o.url = url;
	src = open_ok(&nc_source_git, &o);
	want = nc_xasprintf("git source %s: cannot connect: ", url);
	fetch_fails(src, want);
	nc_source_git.close(src);
	free(want);

	/* the password never shows (however the URL is redacted) */
	o.url = "https://user:s3cret@127.0.0.1:1/repo.git";
	src = open_ok(&nc_source_git, &o);
	ck_assert_int_lt(nc_source_git.fetch(src, &rev, &err), 0);
	ck_assert_msg(strncmp(err.msg, "git source https://user", 23) == 0 &&
		      strstr(err.msg, "@127.0.0.1:1/repo.git: cannot connect: ") != NULL &&
		      strstr(err.msg, "s3cret") == NULL, "%s", err.msg);
	nc_source_git.close(src);

	o = git_opts();
	o.cache_dir = NULL;
	ck_assert_int_lt(nc_source_git.open(&src, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "no cache directory") != NULL, "%s", err.msg);
	o.url = "";
	ck_assert_int_lt(nc_source_git.open(&src, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "no URL") != NULL, "%s", err.msg);
	free(url);
}
END_TEST

/* a password or ssh key file its group or others can read is refused when the source opens */
START_TEST(test_git_secret_file_modes)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_err err = { "" };
	char *pw = nc_xasprintf("%s/git-token", root);
	static const unsigned bad[] = { 0644, 0640, 0604 };
	size_t i;
	FILE *f = fopen(pw, "w");

	ck_assert_ptr_nonnull(f);
	fputs("s3cret-token-value\n", f);
	fclose(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(chmod(pw, bad[i]), 0);
		o.password_file = pw;
		o.ssh_key_file = NULL;
		ck_assert_int_lt(nc_source_git.open(&src, &o, &err), 0);
		ck_assert_msg(strstr(err.msg, "passwordFile") && strstr(err.msg, "chmod 600") &&
			      !strstr(err.msg, "s3cret"), "%s", err.msg);
		o.password_file = NULL;
		o.ssh_key_file = pw;
		ck_assert_int_lt(nc_source_git.open(&src, &o, &err), 0);
		ck_assert_msg(strstr(err.msg, "sshKeyFile") && strstr(err.msg, "chmod 600"), "%s", err.msg);
	}
	ck_assert_int_eq(chmod(pw, 0600), 0);
	o.password_file = pw;
	o.ssh_key_file = NULL;
	src = open_ok(&nc_source_git, &o);
	nc_source_git.close(src);
	unlink(pw);
	free(pw);
}
END_TEST

START_TEST(test_git_plain_path_and_reopen)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_revision rev, rev2;
	char *plain = nc_xasprintf("%s/bare.git", root), *head, *url;

	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	nc_source_git.close(src);

	/* the same cache, the URL now a plain path: the remote is updated */
	head = commit_push("2", "");
	o.url = plain;
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev2);
	ck_assert_str_eq(rev2.id, head);
	ck_assert_str_ne(rev2.id, rev.id);
	url = sh_out("git --git-dir=cache/repo.git config remote.origin.url");
	ck_assert_msg(strcmp(url + 7, plain) == 0 && strncmp(url, "file://", 7) == 0, "%s", url);
	nc_revision_release(&rev2);
	nc_revision_release(&rev);
	nc_source_git.close(src);
	free(url);
	free(head);
	free(plain);
}
END_TEST

START_TEST(test_git_wait_sleeps)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src = open_ok(&nc_source_git, &o);
	uint64_t t0 = now_ms();

	ck_assert_int_eq(nc_source_git.wait(src, 60), 0);
	ck_assert_uint_ge(now_ms() - t0, 55);
	nc_source_git.close(src);
}
END_TEST

/* ---- signatures ---- */

/* Keys alice (listed in allowed_signers) and mallory (not listed). */
static void fill_signers(void)
{
	fill_git();
	sh("ssh-keygen -q -t ed25519 -N '' -C alice -f alice && "
	   "ssh-keygen -q -t ed25519 -N '' -C mallory -f mallory && "
	   "printf 'alice@example.com %%s\\n' \"$(cut -d' ' -f1,2 alice.pub)\" > allowed_signers");
}

static void signers_template(void)
{
	make_template(fill_signers);
}

static char *signed_commit(const char *value, const char *key)
{
	char *args = nc_xasprintf("-c gpg.format=ssh -c user.signingkey='%s/%s'", root, key), *head;

	sh("cd work && echo 'a: %s' > a.yaml && git %s commit -q -a -S -m 'signed %s' && "
	   "git push -q origin main", value, args, value);
	free(args);
	head = sh_out("cd work && git rev-parse HEAD");
	return head;
}

START_TEST(test_git_signed_accepted)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_revision rev;
	char *head = signed_commit("2", "alice"), *allowed = path_in("allowed_signers"), *t;

	o.allowed_signers = allowed;
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, head);
	ck_assert(rev.signed_ok);
	ck_assert_ptr_nonnull(rev.signer);
	ck_assert_str_eq(rev.signer, "alice@example.com");
	t = file_in(&rev, "a.yaml");
	ck_assert_str_eq(t, "a: 2\n");
	free(t);
	nc_revision_release(&rev);
	nc_source_git.close(src);
	free(allowed);
	free(head);
}
END_TEST

START_TEST(test_git_unsigned_refused)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_revision rev;
	char *signed_head = signed_commit("2", "alice"), *head, *want, *dir;
	char *allowed = path_in("allowed_signers");

	o.allowed_signers = allowed;
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, signed_head);
	nc_revision_release(&rev);

	head = commit_push("3", "");
	want = nc_xasprintf("commit %.7s refused: signature refused: the commit is not signed", head);
	fetch_refused(src, want);
	/* nothing of the refused commit is written */
	dir = nc_xasprintf("%s/cache/checkouts/%s", root, head);
	ck_assert(!exists(dir));
	nc_source_git.close(src);

	/* without allowed_signers, the same commit is taken */
	o.allowed_signers = NULL;
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, head);
	ck_assert(!rev.signed_ok);
	nc_revision_release(&rev);
	nc_source_git.close(src);
	free(dir);
	free(want);
	free(head);
	free(signed_head);
	free(allowed);
}
END_TEST

START_TEST(test_git_unknown_signer_refused)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	char *head = signed_commit("2", "mallory"), *want, *allowed = path_in("allowed_signers");

	o.allowed_signers = allowed;
	src = open_ok(&nc_source_git, &o);
	want = nc_xasprintf("commit %.7s refused: signature refused: ", head);
	fetch_refused(src, want);
	nc_source_git.close(src);
	free(want);
	free(head);
	free(allowed);
}
END_TEST

/* ---- directory source ---- */

/* root/spec with a.yaml, sub/b.yml, notes.txt and .git/x.yaml */
static void dir_setup(void)
{
	setup();
	sh("mkdir -p spec/sub spec/.git && echo 'a: 1' > spec/a.yaml && "
	   "echo 'b: 1' > spec/sub/b.yml && echo notes > spec/notes.txt && "
	   "echo 'x: 1' > spec/.git/x.yaml");
}

static struct nc_source_opts dir_opts(void)
{
	static char dir[PATH_MAX + 16];
	struct nc_source_opts o;

	memset(&o, 0, sizeof(o));
	snprintf(dir, sizeof(dir), "%s/spec", root);
	o.url = dir;
	o.debounce_ms = 50;
	return o;
}

static void dir_id(struct nc_source *src, char out[80])
{
	struct nc_revision rev;

	fetch_ok(&nc_source_dir, src, &rev);
	snprintf(out, 80, "%s", rev.id);
	nc_revision_release(&rev);
}

START_TEST(test_dir_fetch)
{
	struct nc_source_opts o = dir_opts();
	struct nc_source *src = open_ok(&nc_source_dir, &o);
	struct nc_revision rev;
	char id[80];
	size_t i;

	fetch_ok(&nc_source_dir, src, &rev);
	ck_assert_str_eq(rev.path, o.url);
	ck_assert_str_eq(rev.summary, o.url);
	ck_assert_uint_eq(strlen(rev.id), 4 + 64);
	ck_assert(strncmp(rev.id, "dir:", 4) == 0);
	for (i = 4; i < strlen(rev.id); i++)
		ck_assert(strchr("0123456789abcdef", rev.id[i]) != NULL);
	ck_assert(!rev.signed_ok);
	ck_assert_ptr_null(rev.signer);
	/* files that do not count: the id stays */
	sh("echo changed > spec/notes.txt && echo 'x: 2' > spec/.git/x.yaml && "
	   "echo 'h: 1' > spec/.hidden.yaml && mkdir spec/.cache && echo 'c: 1' > spec/.cache/c.yaml");
	dir_id(src, id);
	ck_assert_str_eq(id, rev.id);
	/* renaming a YAML file changes it */
	sh("mv spec/sub/b.yml spec/sub/c.yml");
	dir_id(src, id);
	ck_assert_str_ne(id, rev.id);
	nc_revision_release(&rev);
	nc_source_dir.close(src);
}
END_TEST

START_TEST(test_dir_change_noticed)
{
	struct nc_source_opts o = dir_opts();
	struct nc_source *src = open_ok(&nc_source_dir, &o);
	char id1[80], id2[80];
	uint64_t t0;

	dir_id(src, id1);
	sh("echo 'a: 2' > spec/a.yaml");
	t0 = now_ms();
	ck_assert_int_eq(nc_source_dir.wait(src, 2000), 1);
	ck_assert_uint_lt(now_ms() - t0, 1000);
	dir_id(src, id2);
	ck_assert_str_ne(id1, id2);
	/* the event was consumed */
	ck_assert_int_eq(nc_source_dir.wait(src, 50), 0);
	/* a change in a subdirectory */
	sh("echo 'b: 2' > spec/sub/b.yml");
	ck_assert_int_eq(nc_source_dir.wait(src, 2000), 1);
	dir_id(src, id1);
	ck_assert_str_ne(id1, id2);
	nc_source_dir.close(src);
}
END_TEST

struct writer {
	char *path;
	unsigned delay_ms, count, interval_ms;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned i;

	sleep_ms(w->delay_ms);
	for (i = 0; i < w->count; i++) {
		FILE *f = fopen(w->path, "w");

		if (f) {
			fprintf(f, "a: %u\n", 100 + i);
			fclose(f);
		}
		if (i + 1 < w->count)
			sleep_ms(w->interval_ms);
	}
	return NULL;
}

START_TEST(test_dir_change_during_wait)
{
	struct nc_source_opts o = dir_opts();
	struct nc_source *src = open_ok(&nc_source_dir, &o);
	struct writer w = { path_in("spec/a.yaml"), 100, 1, 0 };
	char id1[80], id2[80];
	pthread_t th;
	uint64_t t0, dt;

	dir_id(src, id1);
	t0 = now_ms();
	ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
	ck_assert_int_eq(nc_source_dir.wait(src, 5000), 1);
	dt = now_ms() - t0;
	pthread_join(th, NULL);
	ck_assert_uint_ge(dt, 100 + o.debounce_ms - 5);
	ck_assert_uint_lt(dt, 2000);
	dir_id(src, id2);
	ck_assert_str_ne(id1, id2);
	free(w.path);
	nc_source_dir.close(src);
}
END_TEST

START_TEST(test_dir_debounce)
{
	struct nc_source_opts o = dir_opts();
	struct nc_source *src;
	struct writer w = { path_in("spec/a.yaml"), 0, 4, 40 };
	pthread_t th;
	uint64_t t0, dt;

	o.debounce_ms = 120;
	src = open_ok(&nc_source_dir, &o);
	t0 = now_ms();
	ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
	/* four writes 40 ms apart: one wake-up, after the last one and 120 ms of quiet */
	ck_assert_int_eq(nc_source_dir.wait(src, 5000), 1);
	dt = now_ms() - t0;
	pthread_join(th, NULL);
	ck_assert_uint_ge(dt, 3 * 40 + 120 - 5);
	ck_assert_int_eq(nc_source_dir.wait(src, 30), 0);
	free(w.path);
	nc_source_dir.close(src);
}
END_TEST

START_TEST(test_dir_no_change_times_out)
{
	struct nc_source_opts o = dir_opts();
	struct nc_source *src = open_ok(&nc_source_dir, &o);
	char id1[80], id2[80];
	uint64_t t0;

	dir_id(src, id1);
	t0 = now_ms();
	ck_assert_int_eq(nc_source_dir.wait(src, 150), 0);
	ck_assert_uint_ge(now_ms() - t0, 145);
	dir_id(src, id2);
	ck_assert_str_eq(id1, id2);
	/* dot directories are not watched, dot files ignored */
	sh("echo 'x: 3' > spec/.git/x.yaml && echo swap > spec/.a.yaml.swp");
	ck_assert_int_eq(nc_source_dir.wait(src, 100), 0);
	dir_id(src, id2);
	ck_assert_str_eq(id1, id2);
	nc_source_dir.close(src);
}
END_TEST

START_TEST(test_dir_new_subdirectory)
{
	struct nc_source_opts o = dir_opts();
	struct nc_source *src = open_ok(&nc_source_dir, &o);
	char id1[80], id2[80], id3[80];

	dir_id(src, id1);
	sh("mkdir -p spec/new/deep && echo 'c: 1' > spec/new/deep/c.yaml");
	ck_assert_int_eq(nc_source_dir.wait(src, 2000), 1);
	dir_id(src, id2);
	ck_assert_str_ne(id1, id2);
	/* the new directories are watched now */
	sh("echo 'c: 2' > spec/new/deep/c.yaml");
	ck_assert_int_eq(nc_source_dir.wait(src, 2000), 1);
	dir_id(src, id3);
	ck_assert_str_ne(id2, id3);
	/* renamed: watched under the new name */
	sh("mv spec/new spec/renamed");
	ck_assert_int_eq(nc_source_dir.wait(src, 2000), 1);
	sh("echo 'c: 3' > spec/renamed/deep/c.yaml");
	ck_assert_int_eq(nc_source_dir.wait(src, 2000), 1);
	/* moved out of the tree: no longer watched */
	sh("mv spec/renamed outside");
	ck_assert_int_eq(nc_source_dir.wait(src, 2000), 1);
	sh("echo 'c: 4' > outside/deep/c.yaml");
	ck_assert_int_eq(nc_source_dir.wait(src, 100), 0);
	nc_source_dir.close(src);
}
END_TEST

START_TEST(test_dir_open_errors)
{
	struct nc_source_opts o = dir_opts();
	struct nc_source *src = NULL;
	struct nc_err err = { "" };
	char *missing = path_in("missing"), *file = path_in("spec/a.yaml");

	o.url = missing;
	ck_assert_int_lt(nc_source_dir.open(&src, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "No such file or directory") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, missing) != NULL, "%s", err.msg);
	o.url = file;
	ck_assert_int_lt(nc_source_dir.open(&src, &o, &err), 0);
	ck_assert_msg(strstr(err.msg, "not a directory") != NULL, "%s", err.msg);
	ck_assert_ptr_null(src);
	free(missing);
	free(file);
}
END_TEST

/* ---- confinement: symbolic links, rollback ---- */

/* Commits (signed by key when not NULL) what cmds did in work/ and pushes; the new HEAD. */
static char *commit_tree(const char *cmds, const char *key, const char *msg)
{
	char *args = key ? nc_xasprintf("-c gpg.format=ssh -c user.signingkey='%s/%s' commit -S",
					root, key)
			 : nc_xstrdup("commit");

	sh("cd work && %s && git add -A && git %s -q -m '%s' && git push -q -f origin main", cmds,
	   args, msg);
	free(args);
	return sh_out("cd work && git rev-parse HEAD");
}

static void assert_no_checkout(const char *head)
{
	char *dir = nc_xasprintf("%s/cache/checkouts/%s", root, head);

	ck_assert_msg(!exists(dir), "%s was written", dir);
	free(dir);
}

START_TEST(test_git_escaping_links_refused)
{
	/* each class in its own commit: chained through two directories, ../.., absolute */
	static const struct {
		const char *cmds, *want;
	} cases[] = {
		{ "mkdir -p a b && ln -s .. a/up && ln -s ../a/up/.. b/out",
		  "symbolic link b/out (to '../a/up/..') leads outside the checkout" },
		{ "ln -s . self && ln -s self/.. up1 && ln -s up1/.. up2 && ln -s up2/repo.git/HEAD e.yaml",
		  "leads outside the checkout" },
		{ "ln -s ../.. esc", "symbolic link esc points outside the repository" },
		{ "ln -s /etc abs", "symbolic link abs points outside the repository" },
		{ "ln -s /etc/passwd pw.yaml", "symbolic link pw.yaml points outside the repository" },
	};
	struct nc_source_opts o = git_opts();
	struct nc_source *src = open_ok(&nc_source_git, &o);
	size_t i;

	for (i = 0; i < NC_ARRAY_SIZE(cases); i++) {
		char *head = commit_tree(cases[i].cmds, NULL, "link"), *want;

		want = nc_xasprintf("commit %.7s refused: ", head);
		fetch_refused(src, want);
		fetch_refused(src, cases[i].want);
		assert_no_checkout(head);
		free(want);
		free(head);
		sh("cd work && git rm -q -r a b self up1 up2 e.yaml esc abs pw.yaml --ignore-unmatch");
	}
	nc_source_git.close(src);
}
END_TEST

START_TEST(test_git_signed_escaping_link_refused)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	char *allowed = path_in("allowed_signers");
	char *head = commit_tree("mkdir -p a b && ln -s .. a/up && ln -s ../a/up/.. b/out", "alice",
				 "signed escape");

	o.allowed_signers = allowed;
	src = open_ok(&nc_source_git, &o);
	fetch_refused(src, "symbolic link b/out (to '../a/up/..') leads outside the checkout");
	assert_no_checkout(head);
	nc_source_git.close(src);
	free(head);
	free(allowed);
}
END_TEST

START_TEST(test_git_inside_links_allowed)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src = open_ok(&nc_source_git, &o);
	struct nc_revision rev;
	char *head = commit_tree("ln -s sub/b.yaml c.yaml && ln -s sub d && mkdir e && "
				 "ln -s ../sub/b.yaml e/f.yaml", NULL, "inside links");
	char *t;

	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, head);
	t = file_in(&rev, "c.yaml");
	ck_assert_str_eq(t, "b: 1\n");
	free(t);
	t = file_in(&rev, "e/f.yaml");
	ck_assert_str_eq(t, "b: 1\n");
	free(t);
	t = file_in(&rev, "d/b.yaml");
	ck_assert_str_eq(t, "b: 1\n");
	free(t);
	nc_revision_release(&rev);
	/* reused as it is, and checked again */
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, head);
	nc_revision_release(&rev);
	nc_source_git.close(src);
	free(head);
}
END_TEST

static void applied_ok(struct nc_source *src, const struct nc_revision *rev)
{
	struct nc_err err = { "" };

	ck_assert_msg(nc_source_git.applied(src, rev, &err) == 0, "applied: %s", err.msg);
}

START_TEST(test_git_rollback_refused)
{
	struct nc_source_opts o = git_opts();
	struct nc_source *src;
	struct nc_revision rev;
	char *a = signed_commit("2", "alice"), *b = signed_commit("3", "alice"), *c, *want;
	char *allowed = path_in("allowed_signers"), *state = path_in("state");
	char *file = path_in("state/source-git-applied");
	struct stat st;

	o.allowed_signers = allowed;
	o.state_dir = state;
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, b);
	applied_ok(src, &rev);
	nc_revision_release(&rev);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	{
		char *t = read_text(file), *rec = nc_xasprintf("commit %s\nurl %s\nref main\n", b, o.url);

		ck_assert_str_eq(t, rec);
		free(rec);
		free(t);
	}

	/* the branch is moved back to the older, validly signed A */
	sh("cd work && git push -q -f origin %s:main", a);
	want = nc_xasprintf("commit %.7s refused: it does not descend from %.7s, the last applied "
			    "commit (an older or unrelated commit)", a, b);
	fetch_refused(src, want);
	assert_no_checkout(a);
	nc_source_git.close(src);

	/* a restart remembers B */
	src = open_ok(&nc_source_git, &o);
	fetch_refused(src, want);
	nc_source_git.close(src);

	/* rewritten history: B is gone from the branch, C does not descend from it */
	sh("cd work && git reset -q --hard %s", a);
	c = commit_tree("echo 'a: 4' > a.yaml", "alice", "rewritten");
	src = open_ok(&nc_source_git, &o);
	free(want);
	want = nc_xasprintf("commit %.7s refused: it does not descend from %.7s", c, b);
	fetch_refused(src, want);
	nc_source_git.close(src);

	/* allowRollback: taken; and what descends from it later is taken too */
	o.allow_rollback = true;
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, c);
	applied_ok(src, &rev);
	nc_revision_release(&rev);
	nc_source_git.close(src);
	o.allow_rollback = false;
	free(c);
	c = signed_commit("5", "alice");
	src = open_ok(&nc_source_git, &o);
	fetch_ok(&nc_source_git, src, &rev);
	ck_assert_str_eq(rev.id, c);
	nc_revision_release(&rev);
	nc_source_git.close(src);

	free(want);
	free(file);
	free(state);
	free(allowed);
	free(c);
	free(b);
	free(a);
}
END_TEST

/* ---- the spec directory walk (spec/walk.h), shared by the loader and the dir source ---- */

static bool listed(const struct nc_file_list *fl, const char *rel)
{
	char *want = path_in(rel);
	size_t i;
	bool hit = false;

	for (i = 0; i < fl->n; i++)
		hit |= strcmp(fl->v[i], want) == 0;
	free(want);
	return hit;
}

/* the diagnostic for path rel (severity sev) contains want */
static void diag_at(const struct nc_diags *d, enum nc_severity sev, const char *rel, const char *want)
{
	char *path = path_in(rel);
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && strcmp(d->v[i].file, path) == 0) {
			ck_assert_msg(strstr(d->v[i].msg, want) != NULL, "%s: '%s' lacks '%s'", rel,
				      d->v[i].msg, want);
			free(path);
			return;
		}
	ck_abort_msg("no diagnostic at %s (wanted '%s')", rel, want);
}

static void make_links(void)
{
	sh("mkdir -p outside/d spec/c1 spec/c2 && echo 'evil: 1' > outside/evil.yaml && "
	   "echo 'e: 1' > outside/d/e.yaml && "
	   "ln -s ../outside spec/out1 && ln -s ../../outside spec/sub/out2 && "
	   "ln -s \"$PWD/outside\" spec/abs && ln -s .. spec/c1/up && ln -s ../c1/up/.. spec/c2/esc && "
	   "ln -s ../outside/evil.yaml spec/evil.yaml && ln -s loop.yaml spec/loop.yaml && "
	   "ln -s nothere.yaml spec/gone.yaml && ln -s sub/b.yml spec/in.yaml && "
	   "ln -s sub spec/indir && ln -s ../outside/evil.yaml spec/readme");
}

START_TEST(test_walk_confines_links)
{
	struct nc_file_list fl = { NULL, 0, 0 };
	struct nc_diags d;
	char *dir = path_in("spec");

	make_links();
	nc_diags_init(&d);
	ck_assert_int_eq(nc_walk_yaml(&fl, dir, &d), -1);
	/* listed: the real files and the link that stays inside; nothing from outside */
	ck_assert_uint_eq(fl.n, 3);
	ck_assert(listed(&fl, "spec/a.yaml"));
	ck_assert(listed(&fl, "spec/sub/b.yml"));
	ck_assert(listed(&fl, "spec/in.yaml"));
	/* refused: a directory one level up, ../.., absolute, chained through two directories, a file */
	diag_at(&d, NC_SEV_ERROR, "spec/out1", "symbolic link (to '../outside') leads outside the spec directory");
	diag_at(&d, NC_SEV_ERROR, "spec/sub/out2", "(to '../../outside') leads outside");
	diag_at(&d, NC_SEV_ERROR, "spec/abs", "leads outside the spec directory");
	diag_at(&d, NC_SEV_ERROR, "spec/c2/esc", "(to '../c1/up/..') leads outside");
	diag_at(&d, NC_SEV_ERROR, "spec/evil.yaml", "(to '../outside/evil.yaml') leads outside");
	/* said, not skipped silently */
	diag_at(&d, NC_SEV_WARNING, "spec/loop.yaml", "symbolic link loop (to 'loop.yaml'): skipped");
	diag_at(&d, NC_SEV_WARNING, "spec/gone.yaml", "dangling symbolic link (to 'nothere.yaml'): skipped");
	/* c1/up (to the spec root itself), indir and readme (never read) say nothing */
	ck_assert_uint_eq(d.errors, 5);
	ck_assert_uint_eq(d.warnings, 2);
	nc_diags_release(&d);
	nc_file_list_release(&fl);
	free(dir);
}
END_TEST

START_TEST(test_validate_refuses_escaping_links)
{
	char *out, *log;
	size_t len;

	make_links();
	/* `novacron validate DIR` goes through the same walk: exit 1, nothing from outside read */
	sh_status("'%s' validate spec > validate.out 2>&1; echo $? > validate.rc", NC_BINARY);
	out = path_in("validate.rc");
	log = NULL;
	ck_assert_int_eq(nc_read_file(out, 1 << 20, &log, &len), 0);
	ck_assert_str_eq(log, "1\n");
	free(log);
	free(out);
	out = path_in("validate.out");
	log = read_text(out);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "spec/evil.yaml: error: symbolic link (to '../outside/evil.yaml') "
			      "leads outside the spec directory: refused") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "spec/c2/esc: error: ") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "spec/loop.yaml: warning: symbolic link loop") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "spec/gone.yaml: warning: dangling symbolic link") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "evil: 1") == NULL, "%s", log);
	free(log);
	free(out);
}
END_TEST

START_TEST(test_dir_source_ignores_outside_files)
{
	struct nc_source_opts o = dir_opts();
	struct nc_source *src;
	char before[80], after[80];

	make_links();
	src = open_ok(&nc_source_dir, &o);
	dir_id(src, before);
	/* what a link leading out names is never read: changing it changes nothing */
	sh("echo 'evil: 2' > outside/evil.yaml && echo 'e: 2' > outside/d/e.yaml");
	dir_id(src, after);
	ck_assert_str_eq(before, after);
	/* the inside link's file is read */
	sh("echo 'b: 2' > spec/sub/b.yml");
	dir_id(src, after);
	ck_assert_str_ne(before, after);
	nc_source_dir.close(src);
}
END_TEST

Suite *nc_suite_source(void)
{
	Suite *s = suite_create("source");
	TCase *tc;

	tc = tcase_create("git");
	tcase_add_unchecked_fixture(tc, git_template, remove_template);
	tcase_add_checked_fixture(tc, copy_template, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_git_fetch_main);
	tcase_add_test(tc, test_git_new_commits_and_pruning);
	tcase_add_test(tc, test_git_tags);
	tcase_add_test(tc, test_git_subdir);
	tcase_add_test(tc, test_git_missing_subdir);
	tcase_add_test(tc, test_git_unknown_branch);
	tcase_add_test(tc, test_git_bad_url);
	tcase_add_test(tc, test_git_secret_file_modes);
	tcase_add_test(tc, test_git_plain_path_and_reopen);
	tcase_add_test(tc, test_git_wait_sleeps);
	suite_add_tcase(s, tc);

	tc = tcase_create("git-signatures");
	tcase_add_unchecked_fixture(tc, signers_template, remove_template);
	tcase_add_checked_fixture(tc, copy_template, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_git_signed_accepted);
	tcase_add_test(tc, test_git_unsigned_refused);
	tcase_add_test(tc, test_git_unknown_signer_refused);
	tcase_add_test(tc, test_git_escaping_links_refused);
	tcase_add_test(tc, test_git_signed_escaping_link_refused);
	tcase_add_test(tc, test_git_inside_links_allowed);
	tcase_add_test(tc, test_git_rollback_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("dir");
	tcase_add_checked_fixture(tc, dir_setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_dir_fetch);
	tcase_add_test(tc, test_dir_change_noticed);
	tcase_add_test(tc, test_dir_change_during_wait);
	tcase_add_test(tc, test_dir_debounce);
	tcase_add_test(tc, test_dir_no_change_times_out);
	tcase_add_test(tc, test_dir_new_subdirectory);
	tcase_add_test(tc, test_dir_open_errors);
	tcase_add_test(tc, test_walk_confines_links);
	tcase_add_test(tc, test_validate_refuses_escaping_links);
	tcase_add_test(tc, test_dir_source_ignores_outside_files);
	suite_add_tcase(s, tc);
	return s;
}
