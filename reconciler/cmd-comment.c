/*
 * cmd-comment.c - `novacron comment --forge github|gitlab --pr N --file PLAN.md ...`
 *
 * Posts the plan (a file written by `novacron plan --output markdown`) as a
 * comment on a pull request (GitHub) or merge request (GitLab), or updates
 * the comment posted before: the one whose first line is the plan's hidden
 * marker (annotations.h), so a pull request carries one plan comment, kept
 * current, whatever the number of pushes.
 *
 *   GitHub: GET   {api}/repos/O/R/issues/N/comments?per_page=100  (Link: rel="next")
 *           PATCH {api}/repos/O/R/issues/comments/ID  or  POST {api}/repos/O/R/issues/N/comments
 *   GitLab: GET   {api}/projects/P/merge_requests/IID/notes?per_page=100  (x-next-page)
 *           PUT   {api}/projects/P/merge_requests/IID/notes/NID  or  POST .../notes
 *
 * The token comes only from the environment (--token-env NAME; GITHUB_TOKEN,
 * GITLAB_TOKEN or CI_JOB_TOKEN by default) and is never printed.  The API
 * URL must be https unless it is a loopback address (tests).  Pages of
 * comments are followed at most MAX_PAGES times, and only to the API's own
 * scheme and host.  A body over the forge's limit is cut at a line, with a
 * note.  Exit 0 done, 1 error (with the HTTP status and the forge's message).
 */
#include "cli.h"
#include "opts.h"
#include "annotations.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "../spec/util.h"

#define MAX_PAGES 50                 /* 5,000 comments */
#define MAX_ANSWER (16u << 20)       /* one page of comments */
#define MAX_FILE (64u << 20)
#define GITHUB_LIMIT 65536           /* a GitHub comment's body, in characters */
#define GITLAB_LIMIT 1000000         /* a GitLab note */

enum { OPT_FORGE = NC_OPT_LONG_ONLY, OPT_REPO, OPT_PROJECT, OPT_PR, OPT_FILE, OPT_MARKER, OPT_API_URL,
       OPT_TOKEN_ENV };

static const struct nc_opt comment_opts[] = {
	{ "forge", OPT_FORGE, "FORGE", "github or gitlab", NC_COMP_WORDS, "github gitlab" },
	{ "repo", OPT_REPO, "OWNER/NAME", "GitHub: the repository (default $GITHUB_REPOSITORY)", NC_COMP_NONE, NULL },
	{ "project", OPT_PROJECT, "ID|PATH", "GitLab: the project's id or path, group/name (default "
	  "$CI_PROJECT_ID)", NC_COMP_NONE, NULL },
	{ "pr", OPT_PR, "N", "the pull request's number, or the merge request's IID (GitLab default "
	  "$CI_MERGE_REQUEST_IID)", NC_COMP_NONE, NULL },
	{ "file", OPT_FILE, "PLAN.md", "the comment's body: a Markdown plan, - for stdin", NC_COMP_FILE, NULL },
	{ "marker", OPT_MARKER, "ID", "the marker that finds the comment to update (default: the file's own "
	  "marker line, else none: <!-- novacron:plan -->)", NC_COMP_NONE, NULL },
	{ "api-url", OPT_API_URL, "URL", "the REST API (default $GITHUB_API_URL or https://api.github.com; "
	  "$CI_API_V4_URL or https://gitlab.com/api/v4); https unless loopback", NC_COMP_NONE, NULL },
	{ "token-env", OPT_TOKEN_ENV, "NAME", "the environment variable holding the token (default GITHUB_TOKEN; "
	  "GITLAB_TOKEN, else CI_JOB_TOKEN)", NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const comment_examples[] = {
	"GitHub Actions: post or update the plan on the pull request (GITHUB_TOKEN with pull-requests: write)",
	"novacron comment --forge github --repo acme/infra --pr 42 --file plan.md",
	"GitLab CI: the merge request's note, the token in NOVACRON_GITLAB_TOKEN (a project access token)",
	"novacron comment --forge gitlab --project acme/infra --pr 7 --file plan.md --token-env NOVACRON_GITLAB_TOKEN",
	NULL,
};

const struct nc_cmd_doc nc_doc_comment = {
	"comment", "comment --forge github|gitlab --pr N --file PLAN.md [--repo OWNER/NAME | --project ID|PATH] "
	"[--marker ID] [--api-url URL] [--token-env NAME]",
	"post or update the plan comment on a pull request (one comment, found by a hidden marker)",
	"Reads a Markdown plan (`novacron plan --output markdown`) and posts it as a comment on a GitHub pull "
	"request or a GitLab merge request, or updates the comment posted before: the one that starts with "
	"the same marker line. The token is read from the environment only and never printed. A body over "
	"the forge's limit (65,536 characters on GitHub) is cut at a line with a note. Exit 0 done, 1 error.",
	comment_opts, comment_examples, NC_COMP_NONE, NULL,
};

struct forge {
	bool gitlab;
	char *api;             /* no trailing '/' */
	char *base;            /* {api}/repos/O/R/issues or {api}/projects/P/merge_requests/IID */
	const char *token;
	bool job_token;        /* GitLab's CI_JOB_TOKEN: JOB-TOKEN header */
	const char *where;     /* "acme/infra#42" for messages */
};

struct answer {
	long status;
	struct nc_buf body;
	char *next;            /* GitHub: the next page's URL; GitLab: the next page's number */
};

static size_t on_data(char *p, size_t s, size_t n, void *u)
{
	struct nc_buf *b = u;

	if (b->len + s * n > MAX_ANSWER)
		return 0;   /* aborts the transfer */
	nc_buf_add(b, p, s * n);
	return s * n;
}

/* 0 when url is https, or http on a loopback address; else -1 with why */
static int url_allowed(const char *url, char *why, size_t whylen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ret = -1;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, whylen, "not a URL");
		goto out;
	}
	if (!strcmp(scheme, "https"))
		ret = 0;
	else if (!strcmp(scheme, "http") &&
		 (!strncmp(host, "127.", 4) || !strcmp(host, "[::1]") || !strcmp(host, "localhost")))
		ret = 0;
	else
		snprintf(why, whylen, "must be https (http only on a loopback address)");
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

/* One request; the answer's status, body and next page.  -1 when the forge could not be reached. */
static int request(const struct forge *f, const char *method, const char *url, const char *body,
		   struct answer *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct curl_header *h = NULL;
	char *auth, errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	out->body = (struct nc_buf)NC_BUF_INIT;
	if (!c)
		return -1;
	if (f->gitlab && f->job_token)
		auth = nc_xasprintf("JOB-TOKEN: %s", f->token);
	else
		auth = nc_xasprintf("Authorization: Bearer %s", f->token);
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, f->gitlab ? "Accept: application/json" : "Accept: application/vnd.github+json");
	if (!f->gitlab)
		hdr = curl_slist_append(hdr, "X-GitHub-Api-Version: 2022-11-28");
	if (body)
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "novacron");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");   /* url_allowed() judged the URL */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);            /* the token goes nowhere else */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		fprintf(stderr, "novacron comment: %s %s: %s\n", method, url,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto fail;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (curl_easy_header(c, f->gitlab ? "x-next-page" : "link", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    h->value && *h->value)
		out->next = nc_xstrdup(h->value);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(auth);
	return 0;
fail:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(auth);
	nc_buf_release(&out->body);
	return -1;
}

static void answer_release(struct answer *a)
{
	nc_buf_release(&a->body);
	free(a->next);
	a->next = NULL;
}

/* "404 Not Found: the forge's message" on stderr */
static void http_error(const struct forge *f, const char *method, const char *path, const struct answer *a)
{
	json_object *j = json_tokener_parse(a->body.buf);
	json_object *m = NULL;
	const char *msg = NULL;
	char *clean = NULL, *q;

	if (j && (json_object_object_get_ex(j, "message", &m) || json_object_object_get_ex(j, "error", &m)))
		msg = json_object_is_type(m, json_type_string) ? json_object_get_string(m) :
		      json_object_to_json_string(m);
	if (msg)
		clean = nc_xstrndup(msg, strnlen(msg, 500));   /* nc_xstrndup copies exactly n bytes */
	for (q = clean; q && *q; q++)   /* the forge's text reaches a terminal or a CI log: one line */
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	fprintf(stderr, "novacron comment: %s answered HTTP %ld to %s %s%s%s%s\n", f->gitlab ? "GitLab" : "GitHub",
		a->status, method, path, clean ? ": " : "", clean ? clean : "",
		a->status == 401 ? " (is the token set and valid?)" :
		a->status == 403 ? " (does the token have permission to write comments?)" :
		a->status == 404 ? (f->gitlab ? " (is the project and merge request right, and can the token see it?)" :
				    " (is the repository and pull request right, and can the token see it?)") : "");
	free(clean);
	json_object_put(j);
}

/* GitHub's Link header: the URL of rel="next", when it is on the API's own origin */
static char *link_next(const struct forge *f, const char *link)
{
	const char *p = link;

	while ((p = strchr(p, '<'))) {
		const char *end = strchr(p, '>');
		const char *semi, *comma;

		if (!end)
			return NULL;
		comma = strchr(end, ',');
		semi = end + 1;
		if (strstr(semi, "rel=\"next\"") && (!comma || strstr(semi, "rel=\"next\"") < comma)) {
			char *url = nc_xstrndup(p + 1, (size_t)(end - p - 1));
			size_t n = strlen(f->api);

			if (strncmp(url, f->api, n) != 0 || (url[n] != '/' && url[n] != '?')) {
				fprintf(stderr, "novacron comment: warning: not following a next page outside %s\n",
					f->api);
				free(url);
				return NULL;
			}
			return url;
		}
		p = end;
	}
	return NULL;
}

/* the first line of body equals marker (trailing spaces and CR ignored) */
static bool starts_with_marker(const char *body, const char *marker)
{
	size_t n = strlen(marker);

	while (*body == ' ' || *body == '\n' || *body == '\r' || *body == '\t')
		body++;
	if (strncmp(body, marker, n) != 0)
		return false;
	body += n;
	while (*body == ' ' || *body == '\r' || *body == '\t')
		body++;
	return *body == '\n' || *body == '\0';
}

/*
 * Anyone who can comment on the pull request can start a comment with the
 * marker: only a comment the forge says is ours (or a maintainer's) is
 * updated, else a stranger's planted comment would get the real plan, and
 * then be edited back to a false one.  GitHub: a bot's (the workflow's
 * github-actions[bot], an app) or an owner's, member's or collaborator's.
 * GitLab: the token's own user's (self, from GET /user; -1: unknown).
 */
static bool comment_ours(const struct forge *f, json_object *o, int64_t self)
{
	json_object *u, *v;
	const char *s;

	if (f->gitlab)
		return self < 0 || (json_object_object_get_ex(o, "author", &u) &&
				    json_object_object_get_ex(u, "id", &v) && json_object_is_type(v, json_type_int) &&
				    json_object_get_int64(v) == self);
	if (json_object_object_get_ex(o, "user", &u) && json_object_object_get_ex(u, "type", &v) &&
	    json_object_is_type(v, json_type_string) && !strcmp(json_object_get_string(v), "Bot"))
		return true;
	if (!json_object_object_get_ex(o, "author_association", &v) || !json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	return !strcmp(s, "OWNER") || !strcmp(s, "MEMBER") || !strcmp(s, "COLLABORATOR");
}

/* GitLab: the token's user id (GET /user), or -1 when the forge does not say (a job token) */
static int64_t gitlab_self(const struct forge *f)
{
	char *url = nc_xasprintf("%s/user", f->api);
	struct answer a;
	json_object *j = NULL, *v;
	int64_t id = -1;

	if (request(f, "GET", url, NULL, &a) == 0) {
		if (a.status == 200 && (j = json_tokener_parse(a.body.buf)) &&
		    json_object_object_get_ex(j, "id", &v) && json_object_is_type(v, json_type_int))
			id = json_object_get_int64(v);
		else
			fprintf(stderr, "novacron comment: warning: GitLab answered HTTP %ld to GET /user: any note "
				"that starts with the marker is taken as ours\n", a.status);
		json_object_put(j);
		answer_release(&a);
	}
	free(url);
	return id;
}

/* the id of the comment starting with marker: 1 found, 0 none, -1 error */
static int find_comment(const struct forge *f, const char *marker, int64_t *out)
{
	char *url = nc_xasprintf("%s/%s?per_page=100", f->base, f->gitlab ? "notes" : "comments");
	int pages, ret = -1;
	int64_t self = f->gitlab ? gitlab_self(f) : -1;

	for (pages = 0; url && pages < MAX_PAGES; pages++) {
		struct answer a;
		json_object *arr;
		size_t i, n;
		char *next = NULL;

		if (request(f, "GET", url, NULL, &a) < 0)
			goto out;
		if (a.status != 200) {
			http_error(f, "GET", url + strlen(f->api), &a);
			answer_release(&a);
			goto out;
		}
		arr = json_tokener_parse(a.body.buf);
		if (!arr || !json_object_is_type(arr, json_type_array)) {
			fprintf(stderr, "novacron comment: GET %s: the answer is not a JSON array of comments\n",
				url + strlen(f->api));
			json_object_put(arr);
			answer_release(&a);
			goto out;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(arr, i), *body, *id, *sys;

			if (json_object_object_get_ex(o, "system", &sys) && json_object_get_boolean(sys))
				continue;   /* GitLab's own notes ("added 1 commit") */
			if (json_object_object_get_ex(o, "body", &body) && json_object_object_get_ex(o, "id", &id) &&
			    json_object_is_type(body, json_type_string) &&
			    starts_with_marker(json_object_get_string(body), marker)) {
				if (!comment_ours(f, o, self)) {
					fprintf(stderr, "novacron comment: warning: comment %lld starts with the marker but "
						"is not ours (nor a maintainer's): left alone\n",
						(long long)json_object_get_int64(id));
					continue;
				}
				*out = json_object_get_int64(id);
				json_object_put(arr);
				answer_release(&a);
				ret = 1;
				goto out;
			}
		}
		json_object_put(arr);
		if (a.next && f->gitlab) {
			char *end;
			unsigned long pg = strtoul(a.next, &end, 10);

			while (*end == ' ' || *end == '\r' || *end == '\n')
				end++;
			if (pg > 1 && !*end)
				next = nc_xasprintf("%s/notes?per_page=100&page=%lu", f->base, pg);
		} else if (a.next) {
			next = link_next(f, a.next);
		}
		answer_release(&a);
		free(url);
		url = next;
	}
	if (url)
		fprintf(stderr, "novacron comment: warning: stopped looking after %d pages of comments; "
			"posting a new one\n", MAX_PAGES);
	ret = 0;
out:
	free(url);
	return ret;
}

/* body cut at a line to at most limit bytes, with a note saying so */
static void bound_body(struct nc_buf *b, size_t limit, const char *forge)
{
	char note[256];
	size_t n, cut;

	snprintf(note, sizeof(note), "\n... the plan was cut here to fit %s's comment limit (%zu characters): "
		 "the full plan is in the job's artifacts.\n", forge, limit);
	if (b->len <= limit)
		return;
	n = limit - strlen(note) - 1;
	cut = n;
	while (cut && b->buf[cut - 1] != '\n')
		cut--;
	if (!cut) {
		cut = n;   /* one huge line: cut it at a whole character */
		while (cut && ((unsigned char)b->buf[cut] & 0xc0) == 0x80)
			cut--;
	}
	b->len = cut;
	b->buf[cut] = '\0';
	if (cut && b->buf[cut - 1] != '\n')
		nc_buf_addc(b, '\n');
	nc_buf_adds(b, note);
}

/* the ID of a marker line "<!-- novacron:plan[:ID] -->" at the start of text: 1 found (ID may be ""), 0 none */
static int file_marker(const char *text, char *id, size_t idlen)
{
	static const char pre[] = "<!-- novacron:plan";
	const char *end;

	id[0] = '\0';
	if (strncmp(text, pre, sizeof(pre) - 1) != 0)
		return 0;
	text += sizeof(pre) - 1;
	if (!strncmp(text, " -->", 4))
		return 1;
	if (*text != ':' || !(end = strstr(text, " -->")) || (size_t)(end - text - 1) >= idlen)
		return 0;
	memcpy(id, text + 1, (size_t)(end - text - 1));
	id[end - text - 1] = '\0';
	return nc_marker_id_ok(id) ? 1 : 0;
}

static int read_body(const char *file, struct nc_buf *out)
{
	char *buf = NULL;
	size_t len = 0;

	if (strcmp(file, "-") != 0) {
		if (nc_read_file(file, MAX_FILE, &buf, &len) < 0) {
			fprintf(stderr, "novacron comment: cannot read %s: %s\n", file, strerror(errno));
			return -1;
		}
		nc_buf_add(out, buf, len);
		free(buf);
		return 0;
	}
	for (;;) {
		char chunk[65536];
		size_t n = fread(chunk, 1, sizeof(chunk), stdin);

		nc_buf_add(out, chunk, n);
		if (out->len > MAX_FILE) {
			fprintf(stderr, "novacron comment: stdin is over %u bytes\n", MAX_FILE);
			return -1;
		}
		if (n < sizeof(chunk))
			break;
	}
	if (ferror(stdin)) {
		fprintf(stderr, "novacron comment: cannot read stdin\n");
		return -1;
	}
	return 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int cmd_comment(int argc, char **argv)
{
	const char *forge_name = NULL, *repo = NULL, *project = NULL, *pr = NULL, *file = NULL, *marker_id = NULL,
		   *api = NULL, *token_env = NULL;
	struct forge f;
	struct nc_buf body = NC_BUF_INIT, marker = NC_BUF_INIT;
	struct nc_getopt g;
	struct answer a;
	json_object *req = NULL;
	char fid[NC_MARKER_MAX + 2], why[128], *url = NULL, *end;
	int64_t id = 0;
	unsigned long prn;
	int c, found, ret = NC_EXIT_ERROR;

	memset(&f, 0, sizeof(f));
	memset(&a, 0, sizeof(a));
	a.body = (struct nc_buf)NC_BUF_INIT;
	nc_getopt_init(&g, comment_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_FORGE: forge_name = optarg; break;
		case OPT_REPO: repo = optarg; break;
		case OPT_PROJECT: project = optarg; break;
		case OPT_PR: pr = optarg; break;
		case OPT_FILE: file = optarg; break;
		case OPT_MARKER: marker_id = optarg; break;
		case OPT_API_URL: api = optarg; break;
		case OPT_TOKEN_ENV: token_env = optarg; break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_comment);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			nc_cmd_usage_error(&nc_doc_comment);
			return NC_EXIT_ERROR;
		}
	}
	nc_getopt_release(&g);
	if (optind < argc || !forge_name || (strcmp(forge_name, "github") && strcmp(forge_name, "gitlab"))) {
		fprintf(stderr, "novacron comment: %s\n", optind < argc ? "no operands are taken" :
			"--forge must be github or gitlab");
		nc_cmd_usage_error(&nc_doc_comment);
		return NC_EXIT_ERROR;
	}
	f.gitlab = !strcmp(forge_name, "gitlab");
	if (!pr && f.gitlab)
		pr = env("CI_MERGE_REQUEST_IID");
	if (!file || !pr) {
		fprintf(stderr, "novacron comment: --%s is required\n", !file ? "file" : "pr");
		return NC_EXIT_ERROR;
	}
	errno = 0;
	prn = strtoul(pr, &end, 10);
	if (!*pr || *end || errno || !prn || prn > 1000000000UL || *pr == '-' || *pr == '+') {
		fprintf(stderr, "novacron comment: --pr must be a pull request number, found '%s'\n", pr);
		return NC_EXIT_ERROR;
	}
	if (marker_id && !nc_marker_id_ok(marker_id)) {
		fprintf(stderr, "novacron comment: --marker must be 1 to 64 of A-Z a-z 0-9 . _ / -\n");
		return NC_EXIT_ERROR;
	}
	/* the token: from the environment only */
	if (token_env) {
		f.token = env(token_env);
	} else if (!f.gitlab) {
		token_env = "GITHUB_TOKEN";
		f.token = env(token_env);
	} else if ((f.token = env("GITLAB_TOKEN"))) {
		token_env = "GITLAB_TOKEN";
	} else {
		token_env = "GITLAB_TOKEN or CI_JOB_TOKEN";
		f.token = env("CI_JOB_TOKEN");
		f.job_token = f.token != NULL;
	}
	if (!f.token) {
		fprintf(stderr, "novacron comment: no token: set %s in the environment (or name the variable "
			"with --token-env)\n", token_env);
		return NC_EXIT_ERROR;
	}
	if (strpbrk(f.token, "\r\n")) {
		fprintf(stderr, "novacron comment: the token in %s holds a line break\n", token_env);
		return NC_EXIT_ERROR;
	}
	if (!api)
		api = f.gitlab ? env("CI_API_V4_URL") : env("GITHUB_API_URL");
	if (!api)
		api = f.gitlab ? "https://gitlab.com/api/v4" : "https://api.github.com";
	if (url_allowed(api, why, sizeof(why)) < 0) {
		fprintf(stderr, "novacron comment: --api-url %s: %s\n", api, why);
		return NC_EXIT_ERROR;
	}
	f.api = nc_xstrdup(api);
	while (*f.api && f.api[strlen(f.api) - 1] == '/')
		f.api[strlen(f.api) - 1] = '\0';

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!f.gitlab) {
		const char *slash;

		if (!repo)
			repo = env("GITHUB_REPOSITORY");
		slash = repo ? strchr(repo, '/') : NULL;
		if (!repo || !slash || slash == repo || !slash[1] || strchr(slash + 1, '/') ||
		    strspn(repo, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/") != strlen(repo)) {
			fprintf(stderr, "novacron comment: --repo must be OWNER/NAME%s\n", repo ? "" : " (or set GITHUB_REPOSITORY)");
			goto out;
		}
		f.base = nc_xasprintf("%s/repos/%s/issues/%lu", f.api, repo, prn);
		f.where = repo;
	} else {
		char *enc;

		if (!project)
			project = env("CI_PROJECT_ID");
		if (!project || !*project) {
			fprintf(stderr, "novacron comment: --project ID|PATH is required (or set CI_PROJECT_ID)\n");
			goto out;
		}
		enc = curl_easy_escape(NULL, project, 0);   /* group/name -> group%2Fname */
		f.base = nc_xasprintf("%s/projects/%s/merge_requests/%lu", f.api, enc, prn);
		curl_free(enc);
		f.where = project;
	}

	if (read_body(file, &body) < 0)
		goto out;
	/* the marker: --marker, else the file's own; the body starts with it */
	if (file_marker(body.buf, fid, sizeof(fid))) {
		if (marker_id && strcmp(marker_id, fid) != 0) {
			fprintf(stderr, "novacron comment: the file's marker is '%s', not --marker '%s'\n",
				fid[0] ? fid : "(none)", marker_id);
			goto out;
		}
		nc_marker_line(&marker, fid);
	} else {
		struct nc_buf t = NC_BUF_INIT;

		nc_marker_line(&marker, marker_id);
		nc_buf_addf(&t, "%s\n", marker.buf);
		nc_buf_add(&t, body.buf, body.len);
		nc_buf_release(&body);
		body = t;
	}
	bound_body(&body, f.gitlab ? GITLAB_LIMIT : GITHUB_LIMIT, f.gitlab ? "GitLab" : "GitHub");

	found = find_comment(&f, marker.buf, &id);
	if (found < 0)
		goto out;
	req = json_object_new_object();
	json_object_object_add(req, "body", json_object_new_string_len(body.buf, (int)body.len));
	if (!found)
		url = nc_xasprintf("%s/%s", f.base, f.gitlab ? "notes" : "comments");
	else if (f.gitlab)
		url = nc_xasprintf("%s/notes/%lld", f.base, (long long)id);
	else
		url = nc_xasprintf("%s/repos/%s/issues/comments/%lld", f.api, repo, (long long)id);
	{
		const char *method = !found ? "POST" : f.gitlab ? "PUT" : "PATCH";

		if (request(&f, method, url, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), &a) < 0)
			goto out;
		if (a.status != 200 && a.status != 201) {
			http_error(&f, method, url + strlen(f.api), &a);
			goto out;
		}
	}
	{
		json_object *j = json_tokener_parse(a.body.buf), *v;

		if (j && json_object_object_get_ex(j, "id", &v))
			id = json_object_get_int64(v);
		printf("novacron comment: %s %s %lld on %s%s%lu (%zu bytes)\n", found ? "updated" : "posted",
		       f.gitlab ? "note" : "comment", (long long)id, f.where, f.gitlab ? "!" : "#", prn, body.len);
		json_object_put(j);
	}
	ret = NC_EXIT_OK;
out:
	answer_release(&a);
	json_object_put(req);
	free(url);
	free(f.api);
	free(f.base);
	nc_buf_release(&body);
	nc_buf_release(&marker);
	curl_global_cleanup();
	return ret;
}
