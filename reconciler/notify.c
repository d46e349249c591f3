/*
 * notify.c - tell webhooks about failed passes, drift, applied and refused
 * revisions: a JSON POST through libcurl, in a detached thread, with up to
 * three tries (1 s, then 2 s apart) and a 5 s timeout each.
 */
#include "serve.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct job {
	char *url, *body, *token;
};

static atomic_int in_flight;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static void *post(void *arg)
{
	struct job *j = arg;
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		CURL *c = curl_easy_init();
		struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
		long code = 0;
		CURLcode rc;

		if (j->token) {
			char *auth = nc_xasprintf("Authorization: Bearer %s", j->token);

			hdr = curl_slist_append(hdr, auth);
			free(auth);
		}
		curl_easy_setopt(c, CURLOPT_URL, j->url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		if (rc == CURLE_OK && code >= 200 && code < 300)
			break;
		sleep((unsigned)attempt + 1);
	}
	free(j->url);
	free(j->body);
	free(j->token);
	free(j);
	/*
	 * The thread is detached: free what OpenSSL keeps for it (its error
	 * queue) now, before nc_notify_drain() can let the process exit, not
	 * in a thread-exit handler that may run after it.
	 */
	OPENSSL_thread_stop();
	atomic_fetch_sub(&in_flight, 1);
	return NULL;
}

static bool wants(const struct nc_serve_notify *n, const char *event)
{
	size_t i;

	/* by default: what needs an operator (HA: a host failed, fenced or not, or the observer cut off) */
	if (!n->events.n)
		return !strcmp(event, "failed") || !strcmp(event, "drift") || !strcmp(event, "host_failed") ||
		       !strcmp(event, "fenced") || !strcmp(event, "fence_failed") ||
		       !strcmp(event, "partitioned");
	for (i = 0; i < n->events.n; i++)
		if (strcmp(n->events.v[i].v, event) == 0)
			return true;
	return false;
}

void nc_notify(const struct nc_serve_config *cfg, const char *event, const char *revision,
	       const char *message)
{
	nc_notify_host(cfg, event, revision, NULL, message);
}

void nc_notify_host(const struct nc_serve_config *cfg, const char *event, const char *revision,
		    const char *host, const char *message)
{
	struct nc_buf body = NC_BUF_INIT;
	char *safe_source, *safe_message;
	size_t i;

	pthread_once(&curl_once, curl_init_once);
	nc_buf_adds(&body, "{\"event\": ");
	nc_buf_add_json_str(&body, event);
	/* credentials never leave the process: URLs in the payload are shown without them */
	safe_source = nc_url_redact(NC_IS_SET(cfg->source.git) ? cfg->source.git.url.v : cfg->source.directory.v);
	safe_message = nc_url_redact(message ? message : "");
	nc_buf_adds(&body, ", \"source\": ");
	nc_buf_add_json_str(&body, safe_source);
	nc_buf_adds(&body, ", \"revision\": ");
	if (revision)
		nc_buf_add_json_str(&body, revision);
	else
		nc_buf_adds(&body, "null");
	if (host) {
		nc_buf_adds(&body, ", \"host\": ");
		nc_buf_add_json_str(&body, host);
	}
	nc_buf_adds(&body, ", \"message\": ");
	nc_buf_add_json_str(&body, safe_message);
	nc_buf_addf(&body, ", \"time\": %lld}\n", (long long)time(NULL));
	for (i = 0; i < cfg->notify.n; i++) {
		const struct nc_serve_notify *n = (const struct nc_serve_notify *)cfg->notify.v + i;
		struct job *j;
		pthread_t t;
		pthread_attr_t attr;
		char *tok = NULL;
		size_t len;

		if (!wants(n, event))
			continue;
		if (NC_IS_SET(n->token_file) && nc_read_file(n->token_file.v, 4096, &tok, &len) == 0)
			tok[strcspn(tok, "\r\n")] = '\0';
		j = nc_xcalloc(1, sizeof(*j));
		j->url = nc_xstrdup(n->url.v);
		j->body = nc_xstrdup(body.buf);
		j->token = tok;
		atomic_fetch_add(&in_flight, 1);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, post, j) != 0) {
			atomic_fetch_sub(&in_flight, 1);
			free(j->url);
			free(j->body);
			free(j->token);
			free(j);
		}
		pthread_attr_destroy(&attr);
	}
	nc_buf_release(&body);
	free(safe_source);
	free(safe_message);
}

void nc_notify_drain(unsigned timeout_ms)
{
	unsigned waited = 0;

	while (atomic_load(&in_flight) > 0 && waited < timeout_ms) {
		usleep(20000);
		waited += 20;
	}
}
