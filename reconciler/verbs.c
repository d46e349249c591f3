/*
 * verbs.c - the API's operational verbs (verbs.h): the HTTP side
 * (nc_verbs_handle), the queue the hooks fill and the loop empties, and
 * the jobs the loop carries out (backup, restore, fence confirm).
 */
#include "verbs.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../spec/tenant.h"
#include "backups.h"
#include "fencing.h"
#include "ha.h"
#include "hostrec.h"
#include "pass.h"

/* ---- the HTTP side ---- */

/* a backup id or a prefix of one: 4 to 64 lower-case hex digits */
static bool backup_id_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 4 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* a plan digest: 64 lower-case hex digits */
static bool digest_ok(const char *s)
{
	return strlen(s) == 64 && backup_id_ok(s);
}

enum route { R_NONE, R_SYNC, R_PAUSE, R_RESUME, R_APPROVE, R_BACKUP, R_RESTORE, R_FENCE };
static const char *const route_names[] = { "", "sync", "pause", "resume", "approve", "backup", "restore",
					   "fence_confirm" };

/* the route of path, with the name it holds (VM or host) copied into name */
static enum route route_of(const char *path, char *name, size_t n)
{
	static const struct { const char *prefix, *suffix; enum route r; } names[] = {
		{ "/api/v1/vms/", "/backup", R_BACKUP },
		{ "/api/v1/vms/", "/restore", R_RESTORE },
		{ "/api/v1/hosts/", "/fence/confirm", R_FENCE },
	};
	size_t i;

	name[0] = '\0';
	if (strcmp(path, "/api/v1/sync") == 0)
		return R_SYNC;
	if (strcmp(path, "/api/v1/pause") == 0)
		return R_PAUSE;
	if (strcmp(path, "/api/v1/resume") == 0)
		return R_RESUME;
	if (strcmp(path, "/api/v1/plan/approve") == 0)
		return R_APPROVE;
	for (i = 0; i < NC_ARRAY_SIZE(names); i++) {
		size_t pl = strlen(names[i].prefix), sl = strlen(names[i].suffix), len = strlen(path), nl;

		if (len <= pl + sl || strncmp(path, names[i].prefix, pl) != 0 ||
		    strcmp(path + len - sl, names[i].suffix) != 0)
			continue;
		nl = len - pl - sl;
		if (nl >= n)
			nl = n - 1;      /* too long for any name: nc_name_ok refuses what is left */
		memcpy(name, path + pl, nl);
		name[nl] = '\0';
		if (len - pl - sl >= n)
			name[0] = '\0';
		return names[i].r;
	}
	return R_NONE;
}

/* the body: "" or a JSON object with only the keys allowed; its string values into vals */
static int parse_body(const struct nc_web_req *req, const char *const *keys, const char **vals, size_t nkeys,
		      struct json_object **root, struct nc_web_resp *resp)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t i;
	const char *p;

	*root = NULL;
	for (p = req->body ? req->body : ""; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
		;
	if (!*p)
		return 0;
	if (req->body_len != strlen(req->body)) {
		nc_web_error(resp, 400, "the body holds a NUL byte");
		return -1;
	}
	tok = json_tokener_new_ex(16);
	o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < req->body_len) {
		/* trailing blanks after the object are fine, anything else is not */
		bool bad = !o || json_tokener_get_error(tok) != json_tokener_success;

		for (p = req->body + (o ? json_tokener_get_parse_end(tok) : 0); !bad && *p; p++)
			bad = !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n');
		if (bad) {
			nc_web_error(resp, 400, "the body is not valid JSON: %s",
				     o ? "text after the object" : json_tokener_error_desc(json_tokener_get_error(tok)));
			json_object_put(o);
			json_tokener_free(tok);
			return -1;
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		nc_web_error(resp, 400, "the body must be a JSON object");
		json_object_put(o);
		return -1;
	}
	{
		struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);

		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *k = json_object_iter_peek_name(&it);
			struct json_object *v = json_object_iter_peek_value(&it);

			for (i = 0; i < nkeys; i++)
				if (strcmp(k, keys[i]) == 0)
					break;
			if (i == nkeys) {
				nc_web_error(resp, 400, "unknown field in the body: %.64s%s", k,
					     nkeys ? "" : " (this verb takes no fields)");
				json_object_put(o);
				return -1;
			}
			if (json_object_is_type(v, json_type_null))
				continue;
			if (!json_object_is_type(v, json_type_string)) {
				nc_web_error(resp, 400, "\"%s\" must be a string", keys[i]);
				json_object_put(o);
				return -1;
			}
			vals[i] = json_object_get_string(v);
		}
	}
	*root = o;
	return 0;
}

static void ok(struct nc_web_resp *resp, enum route r, const char *k1, const char *v1, const char *k2, const char *v2)
{
	nc_buf_reset(&resp->body);
	nc_buf_adds(&resp->body, "{\"ok\": true, \"verb\": ");
	nc_buf_add_json_str(&resp->body, route_names[r]);
	if (k1 && v1) {
		nc_buf_addf(&resp->body, ", \"%s\": ", k1);
		nc_buf_add_json_str(&resp->body, v1);
	}
	if (k2 && v2) {
		nc_buf_addf(&resp->body, ", \"%s\": ", k2);
		nc_buf_add_json_str(&resp->body, v2);
	}
	nc_buf_adds(&resp->body, "}\n");
	resp->type = "application/json";
	resp->code = 202;
}

void nc_verbs_handle(const struct nc_web_hooks *hooks, const struct nc_spec *spec, const struct nc_web_req *req,
		     const struct nc_principal *p, struct nc_web_resp *resp)
{
	static const char *const approve_keys[] = { "digest" }, *const restore_keys[] = { "backup", "as" },
				  *const fence_keys[] = { "by" };
	const char *vals[2] = { NULL, NULL };
	struct json_object *root = NULL;
	char name[80], why[512] = "";
	enum route r = route_of(req->path, name, sizeof(name));
	int rc = 0;

	if (r == R_NONE)
		return;
	if (strcmp(req->method, "POST") != 0) {
		nc_web_error(resp, 405, "%s takes POST", req->path);
		nc_web_resp_header(resp, "Allow", "POST");
		return;
	}
	if (!nc_principal_can(p, r == R_FENCE ? NC_ROLE_ADMIN : NC_ROLE_OPERATOR)) {
		nc_web_error(resp, 403, "%s needs the %s role", route_names[r],
			     nc_role_name(r == R_FENCE ? NC_ROLE_ADMIN : NC_ROLE_OPERATOR));
		return;
	}
	/* these act on every tenant's VMs (a host's too: hosts are everyone's to see, no tenant's to fence) */
	if ((r == R_PAUSE || r == R_RESUME || r == R_APPROVE || r == R_FENCE) && !p->all_tenants) {
		nc_web_error(resp, 403, "%s acts on the whole cluster: a principal scoped to tenants may not", route_names[r]);
		return;
	}
	if (parse_body(req, r == R_APPROVE ? approve_keys : r == R_RESTORE ? restore_keys : r == R_FENCE ? fence_keys : NULL,
		       vals, r == R_APPROVE ? 1 : r == R_RESTORE ? 2 : r == R_FENCE ? 1 : 0, &root, resp) < 0)
		return;
	if (r == R_BACKUP || r == R_RESTORE || r == R_FENCE) {
		const char *what = r == R_FENCE ? "host" : "VM";
		const struct nc_object *o;

		/* never echoed: it may hold anything */
		if (!nc_name_ok(name)) {
			nc_web_error(resp, 400, "not a valid %s name (at most 63 lower-case letters, digits and '-')", what);
			goto out;
		}
		if (!spec) {
			nc_web_error(resp, 503, "no revision is in force yet");
			goto out;
		}
		o = nc_spec_find(spec, r == R_FENCE ? NC_KIND_HOST : NC_KIND_VM, name);
		/* another tenant's object is not found: its existence is not told */
		if (!o || (r != R_FENCE && !nc_principal_sees(p, nc_tenant_of(spec, o)))) {
			nc_web_error(resp, 404, "no %s named '%s' in revision in force", what, name);
			goto out;
		}
	}
	switch (r) {
	case R_APPROVE:
		if (!vals[0]) {
			nc_web_error(resp, 400, "the body needs \"digest\": the pending plan's digest (GET /api/v1/plan)");
			goto out;
		}
		if (!digest_ok(vals[0])) {
			nc_web_error(resp, 400, "\"digest\" must be 64 lower-case hex digits");
			goto out;
		}
		break;
	case R_RESTORE:
		if (!vals[0] || !backup_id_ok(vals[0])) {
			nc_web_error(resp, 400, "the body needs \"backup\": a backup id (4 to 64 lower-case hex digits)");
			goto out;
		}
		if (vals[1] && !nc_name_ok(vals[1])) {
			nc_web_error(resp, 400, "\"as\" is not a valid VM name (at most 63 lower-case letters, digits and '-')");
			goto out;
		}
		/* a domain beside the VM, under a new name, is in no spec and so of no tenant: the
		 * unscoped principals' (and a scoped one learns nothing of other tenants' names) */
		if (vals[1] && !p->all_tenants) {
			nc_web_error(resp, 403, "a restore under a new name (\"as\") makes a domain of no tenant: "
				     "a principal scoped to tenants may not");
			goto out;
		}
		/* a new name: never a VM of the spec */
		if (vals[1] && nc_spec_find(spec, NC_KIND_VM, vals[1])) {
			nc_web_error(resp, 409, "\"as\": '%s' is a VM of the spec; restore beside a VM under a new name",
				     vals[1]);
			goto out;
		}
		break;
	case R_FENCE:
		if (vals[0] && !nc_fence_by_ok(vals[0])) {
			nc_web_error(resp, 400, "\"by\" must be 1 to 64 printable characters");
			goto out;
		}
		break;
	default:
		break;
	}
	if (!hooks) {
		nc_web_error(resp, 503, "this serve carries out no verbs");
		goto out;
	}
	switch (r) {
	case R_SYNC:
		if (!hooks->sync)
			goto none;
		hooks->sync(hooks->opaque);
		ok(resp, r, NULL, NULL, NULL, NULL);
		break;
	case R_PAUSE:
	case R_RESUME:
		if (!hooks->pause)
			goto none;
		hooks->pause(hooks->opaque, r == R_PAUSE);
		ok(resp, r, NULL, NULL, NULL, NULL);
		nc_buf_reset(&resp->body);
		nc_buf_addf(&resp->body, "{\"ok\": true, \"verb\": \"%s\", \"paused\": %s}\n", route_names[r],
			    r == R_PAUSE ? "true" : "false");
		break;
	case R_APPROVE:
		if (!hooks->approve)
			goto none;
		rc = hooks->approve(hooks->opaque, vals[0], why, sizeof(why));
		if (rc == 0)
			ok(resp, r, "digest", vals[0], NULL, NULL);
		break;
	case R_BACKUP:
		if (!hooks->backup)
			goto none;
		rc = hooks->backup(hooks->opaque, name, why, sizeof(why));
		if (rc == 0)
			ok(resp, r, "vm", name, NULL, NULL);
		break;
	case R_RESTORE:
		if (!hooks->restore)
			goto none;
		rc = hooks->restore(hooks->opaque, name, vals[0], vals[1], why, sizeof(why));
		if (rc == 0)
			ok(resp, r, "vm", name, "backup", vals[0]);
		break;
	case R_FENCE: {
		char by[65];

		if (!hooks->fence_confirm)
			goto none;
		/* the principal's name when none is given; cut to the record's 64 characters */
		{
			const char *src = vals[0] ? vals[0] : p->who;
			size_t bl = strnlen(src, sizeof(by) - 1);

			memcpy(by, src, bl);
			by[bl] = '\0';
		}
		if (!nc_fence_by_ok(by))
			snprintf(by, sizeof(by), "api");
		rc = hooks->fence_confirm(hooks->opaque, name, by, why, sizeof(why));
		if (rc == 0)
			ok(resp, r, "host", name, "by", by);
		break;
	}
	default:
		break;
	}
	if (rc < 0)
		nc_web_error(resp, 409, "%s", why[0] ? why : "refused");
	goto out;
none:
	nc_web_error(resp, 503, "%s is not available in this serve", route_names[r]);
out:
	json_object_put(root);
}

/* ---- the loop's side ---- */

struct nc_verbs {
	pthread_mutex_t mu;
	char *state_dir;
	bool approve_mode;
	bool paused;                     /* as asked; the file follows when the loop takes it */
	bool pause_dirty;
	bool sync, pass;
	char pending[65], approved[65];
	struct nc_verb_job jobs[NC_VERBS_MAX_JOBS];
	size_t njobs;
};

static char *paused_path(const struct nc_verbs *v)
{
	return nc_xasprintf("%s/%s", v->state_dir, NC_VERBS_PAUSED_FILE);
}

struct nc_verbs *nc_verbs_new(const char *state_dir)
{
	struct nc_verbs *v = nc_xcalloc(1, sizeof(*v));
	char *path;

	pthread_mutex_init(&v->mu, NULL);
	v->state_dir = nc_xstrdup(state_dir);
	path = paused_path(v);
	v->paused = access(path, F_OK) == 0;
	free(path);
	return v;
}

bool nc_verbs_set_state_dir(struct nc_verbs *v, const char *state_dir)
{
	char *path;
	bool was, now;

	pthread_mutex_lock(&v->mu);
	if (strcmp(v->state_dir, state_dir) == 0) {
		pthread_mutex_unlock(&v->mu);
		return false;       /* the same: a pause or resume asked and not yet taken stays */
	}
	free(v->state_dir);
	v->state_dir = nc_xstrdup(state_dir);
	path = paused_path(v);
	was = v->paused;
	now = v->paused = access(path, F_OK) == 0;
	v->pause_dirty = false;
	pthread_mutex_unlock(&v->mu);
	free(path);
	return was != now;
}

void nc_verbs_free(struct nc_verbs *v)
{
	if (!v)
		return;
	pthread_mutex_destroy(&v->mu);
	free(v->state_dir);
	free(v);
}

static void hook_sync(void *opaque)
{
	struct nc_verbs *v = opaque;

	pthread_mutex_lock(&v->mu);
	v->sync = true;
	pthread_mutex_unlock(&v->mu);
}

static void hook_pause(void *opaque, bool paused)
{
	struct nc_verbs *v = opaque;

	pthread_mutex_lock(&v->mu);
	if (v->paused != paused)
		v->pause_dirty = true;
	v->paused = paused;
	/* resumed: a pass now, not at the drift interval */
	if (!paused)
		v->pass = true;
	pthread_mutex_unlock(&v->mu);
}

static int hook_approve(void *opaque, const char *digest, char *why, size_t n)
{
	struct nc_verbs *v = opaque;
	int rc = -1;

	pthread_mutex_lock(&v->mu);
	if (!v->approve_mode)
		snprintf(why, n, "apply.mode is auto: every plan is applied without approval");
	else if (!v->pending[0])
		snprintf(why, n, "no plan is pending approval");
	else if (strcmp(digest, v->pending) != 0)
		snprintf(why, n, "digest %.64s is not the pending plan's (%s): the plan changed; look again",
			 digest, v->pending);
	else {
		snprintf(v->approved, sizeof(v->approved), "%s", digest);
		v->pass = true;
		rc = 0;
	}
	pthread_mutex_unlock(&v->mu);
	return rc;
}

static int queue(struct nc_verbs *v, const struct nc_verb_job *j, char *why, size_t n)
{
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&v->mu);
	for (i = 0; i < v->njobs; i++)
		if (memcmp(&v->jobs[i], j, sizeof(*j)) == 0)
			break;
	if (i < v->njobs)
		snprintf(why, n, "the same request is already waiting");
	else if (v->njobs == NC_VERBS_MAX_JOBS)
		snprintf(why, n, "%d requests are waiting already; try again later", NC_VERBS_MAX_JOBS);
	else {
		v->jobs[v->njobs++] = *j;
		rc = 0;
	}
	pthread_mutex_unlock(&v->mu);
	return rc;
}

static int hook_backup(void *opaque, const char *vm, char *why, size_t n)
{
	struct nc_verb_job j;

	memset(&j, 0, sizeof(j));
	j.kind = NC_VERB_BACKUP;
	snprintf(j.vm, sizeof(j.vm), "%s", vm);
	return queue(opaque, &j, why, n);
}

static int hook_restore(void *opaque, const char *vm, const char *backup_id, const char *as, char *why, size_t n)
{
	struct nc_verb_job j;

	memset(&j, 0, sizeof(j));
	j.kind = NC_VERB_RESTORE;
	snprintf(j.vm, sizeof(j.vm), "%s", vm);
	snprintf(j.backup, sizeof(j.backup), "%s", backup_id);
	snprintf(j.as, sizeof(j.as), "%s", as ? as : "");
	return queue(opaque, &j, why, n);
}

static int hook_fence_confirm(void *opaque, const char *host, const char *by, char *why, size_t n)
{
	struct nc_verb_job j;

	memset(&j, 0, sizeof(j));
	j.kind = NC_VERB_FENCE_CONFIRM;
	snprintf(j.host, sizeof(j.host), "%s", host);
	snprintf(j.by, sizeof(j.by), "%s", by);
	return queue(opaque, &j, why, n);
}

void nc_verbs_hooks(struct nc_verbs *v, struct nc_web_hooks *out)
{
	memset(out, 0, sizeof(*out));
	out->sync = hook_sync;
	out->pause = hook_pause;
	out->approve = hook_approve;
	out->backup = hook_backup;
	out->restore = hook_restore;
	out->fence_confirm = hook_fence_confirm;
	out->opaque = v;
}

void nc_verbs_set_approve_mode(struct nc_verbs *v, bool approve)
{
	pthread_mutex_lock(&v->mu);
	v->approve_mode = approve;
	if (!approve) {
		v->pending[0] = '\0';
		v->approved[0] = '\0';
	}
	pthread_mutex_unlock(&v->mu);
}

bool nc_verbs_paused(struct nc_verbs *v)
{
	bool p;

	pthread_mutex_lock(&v->mu);
	p = v->paused;
	pthread_mutex_unlock(&v->mu);
	return p;
}

bool nc_verbs_take_pause(struct nc_verbs *v, bool *paused, int *file_rc, char *why, size_t n)
{
	bool dirty, p;
	char *path;

	pthread_mutex_lock(&v->mu);
	dirty = v->pause_dirty;
	p = v->paused;
	v->pause_dirty = false;
	pthread_mutex_unlock(&v->mu);
	if (!dirty)
		return false;
	*paused = p;
	*file_rc = 0;
	path = paused_path(v);
	if (p) {
		static const char text[] = "paused through the API (POST /api/v1/resume resumes)\n";

		if (nc_write_file_atomic(path, text, sizeof(text) - 1, 0600) < 0) {
			snprintf(why, n, "cannot write %s: %s", path, strerror(errno));
			*file_rc = -1;
		}
	} else if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(why, n, "cannot remove %s: %s", path, strerror(errno));
		*file_rc = -1;
	}
	free(path);
	return true;
}

bool nc_verbs_take_sync(struct nc_verbs *v)
{
	bool t;

	pthread_mutex_lock(&v->mu);
	t = v->sync;
	v->sync = false;
	pthread_mutex_unlock(&v->mu);
	return t;
}

bool nc_verbs_take_pass(struct nc_verbs *v)
{
	bool t;

	pthread_mutex_lock(&v->mu);
	t = v->pass;
	v->pass = false;
	pthread_mutex_unlock(&v->mu);
	return t;
}

void nc_verbs_set_pending(struct nc_verbs *v, const char *digest)
{
	pthread_mutex_lock(&v->mu);
	snprintf(v->pending, sizeof(v->pending), "%s", digest ? digest : "");
	pthread_mutex_unlock(&v->mu);
}

bool nc_verbs_pending(struct nc_verbs *v, char out[65])
{
	bool has;

	pthread_mutex_lock(&v->mu);
	has = v->pending[0] != '\0';
	memcpy(out, v->pending, 65);
	pthread_mutex_unlock(&v->mu);
	return has;
}

int nc_verbs_take_approved(struct nc_verbs *v, const char *digest, char was[65])
{
	int rc;

	pthread_mutex_lock(&v->mu);
	if (!v->approved[0])
		rc = 0;
	else
		rc = strcmp(v->approved, digest) == 0 ? 1 : -1;
	memcpy(was, v->approved, 65);
	v->approved[0] = '\0';
	pthread_mutex_unlock(&v->mu);
	return rc;
}

bool nc_verbs_approved(struct nc_verbs *v, char out[65])
{
	bool has;

	pthread_mutex_lock(&v->mu);
	has = v->approved[0] != '\0';
	memcpy(out, v->approved, 65);
	pthread_mutex_unlock(&v->mu);
	return has;
}

bool nc_verbs_take_job(struct nc_verbs *v, struct nc_verb_job *out)
{
	bool t = false;

	pthread_mutex_lock(&v->mu);
	if (v->njobs) {
		*out = v->jobs[0];
		memmove(&v->jobs[0], &v->jobs[1], (v->njobs - 1) * sizeof(v->jobs[0]));
		v->njobs--;
		t = true;
	}
	pthread_mutex_unlock(&v->mu);
	return t;
}

/* ---- the jobs ---- */

static void env_log(const struct nc_verbs_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void env_log(const struct nc_verbs_env *env, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (!env->log)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m)
		env->log(env->opaque, m);
	free(m);
}

/* lines written to a FILE, each to env->log */
struct line_log {
	const struct nc_verbs_env *env;
	const char *prefix;
	struct nc_buf line;
};

static ssize_t line_write(void *cookie, const char *buf, size_t n)
{
	struct line_log *ll = cookie;
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			env_log(ll->env, "%s%s", ll->prefix, ll->line.buf ? ll->line.buf : "");
			nc_buf_reset(&ll->line);
		} else {
			nc_buf_addc(&ll->line, buf[i]);
		}
	}
	return (ssize_t)n;
}

static FILE *line_open(struct line_log *ll, const struct nc_verbs_env *env, const char *prefix)
{
	cookie_io_functions_t io = { .write = line_write };
	FILE *f;

	ll->env = env;
	ll->prefix = prefix;
	nc_buf_init(&ll->line);
	f = fopencookie(ll, "w", io);
	if (f)
		setvbuf(f, NULL, _IONBF, 0);
	return f;
}

static void line_close(FILE *f, struct line_log *ll)
{
	if (f)
		fclose(f);
	nc_buf_release(&ll->line);
}

static void observe_opts(struct nc_observe_opts *oo, const struct nc_verbs_env *env)
{
	memset(oo, 0, sizeof(*oo));
	oo->state_dir = env->state_dir;
	oo->timeout_ms = env->timeout_ms ? env->timeout_ms : 30000;
	oo->keep_open = true;
	oo->connections = env->connections;
}

int nc_verbs_backup(const struct nc_verbs_env *env, const char *name, struct nc_err *err)
{
	const struct nc_vm *vm = (const struct nc_vm *)nc_spec_find(env->spec, NC_KIND_VM, name);
	const struct nc_backup *sched;
	struct nc_observe_opts oo;
	struct nc_backup_run_opts ro;
	struct nc_backup_vm_result res;
	struct nc_cluster cl;
	uint64_t stored = 0;
	size_t k;
	int rc;

	if (!vm) {
		nc_err_set(err, "no VM named '%s' in the revision in force", name);
		return -1;
	}
	if (!(sched = nc_vm_schedule(env->spec, vm))) {
		nc_err_set(err, "VM '%s' has no BackupSchedule: set its backupSchedule or list it in a schedule", name);
		return -1;
	}
	observe_opts(&oo, env);
	nc_observe(&cl, env->spec, &oo);
	memset(&ro, 0, sizeof(ro));
	ro.now = (int64_t)time(NULL);
	rc = nc_backup_vm(&res, env->spec, &cl, vm, sched, &ro, err);
	nc_cluster_release(&cl);
	if (rc < 0)
		return -1;
	for (k = 0; k < res.ndisks; k++)
		stored += res.disks[k].stats.bytes_stored;
	env_log(env, "backup %s (asked through the API): %.16s into schedule %s (%s, %s), %llu bytes stored, %.2fs",
		res.vm, res.id, sched->obj.meta.name.v, res.live ? "live" : "offline",
		res.quiesced ? "quiesced" : "not quiesced", (unsigned long long)stored, res.seconds);
	return 0;
}

int nc_verbs_restore(const struct nc_verbs_env *env, const char *name, const char *backup, const char *as,
		     struct nc_err *err)
{
	const struct nc_vm *vm = (const struct nc_vm *)nc_spec_find(env->spec, NC_KIND_VM, name);
	const struct nc_backup *sched;
	struct nc_observe_opts oo;
	struct line_log l1, l2;
	FILE *out, *prog;
	int rc;

	if (!vm) {
		nc_err_set(err, "no VM named '%s' in the revision in force", name);
		return -1;
	}
	if (as && *as && nc_spec_find(env->spec, NC_KIND_VM, as)) {
		nc_err_set(err, "'%s' is a VM of the spec: restore beside a VM under a new name", as);
		return -1;
	}
	sched = NC_IS_SET(vm->spec.restore.schedule) ?
		(const struct nc_backup *)nc_spec_find(env->spec, NC_KIND_BACKUP_SCHEDULE, vm->spec.restore.schedule.v) :
		nc_vm_schedule(env->spec, vm);
	if (!sched) {
		nc_err_set(err, "no BackupSchedule covers VM '%s'", name);
		return -1;
	}
	observe_opts(&oo, env);
	out = line_open(&l1, env, "restore: ");
	prog = line_open(&l2, env, "restore: ");
	rc = nc_restore_vm(env->spec, vm, sched, backup, as && *as ? as : NULL, NULL, &oo, out, prog, err);
	line_close(out, &l1);
	line_close(prog, &l2);
	return rc;
}

int nc_verbs_fence_confirm(const struct nc_verbs_env *env, const char *host, const char *by, struct nc_err *err)
{
	struct nc_fence_confirm_seen seen;
	struct nc_observe_opts oo;
	int rc;

	observe_opts(&oo, env);
	rc = nc_fence_confirm(env->state_dir, host, by, "confirmed off through the API", &oo, false, &seen, err);
	if (rc == NC_FENCE_CONFIRM_UNKNOWN)
		nc_err_set(err, "no host named '%s' in the record of hosts: only a host NovaCron has seen (a pass "
			   "recorded it) can be confirmed off", host);
	else if (rc == NC_FENCE_CONFIRM_LIVE)
		nc_err_set(err, "refusing: %s can be read right now (%zu domain%s, %zu running): it is not off; "
			   "confirming a live host as off lets its VMs run twice on one disk", host,
			   seen.ndoms, seen.ndoms == 1 ? "" : "s", seen.running);
	if (rc < 0)
		return -1;
	env_log(env, "fence confirm: %s recorded fenced (confirmed off by %s through the API); the next pass "
		     "restarts its VMs with ha.policy restart elsewhere", host, by);
	return 0;
}
