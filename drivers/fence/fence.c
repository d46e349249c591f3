/*
 * fence.c - the fence devices' configuration schema and its checks, the
 * table of back-ends, and what is common to them (see fence.h).
 */
#include "fence.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../spec/schema.h"
#include "../../spec/util.h"

#define F(k, t, st, member, ...) \
	{ .key = (k), .type = (t), .off = offsetof(st, member), __VA_ARGS__ }

static const struct nc_field device_fields[] = {
	F("name", NC_F_STR, struct nc_fence_device, name, .required = 1, .check = NC_CHK_NAME,
	  .doc = "the device's name, which a Host's spec.fence names"),
	F("type", NC_F_STR, struct nc_fence_device, type, .required = 1,
	  .doc = "rbd (break the dead client's RBD exclusive locks), agent (a fence agent powers the host "
		 "off), manual (an operator confirms with `novacron fence confirm HOST`)"),
	F("cephConf", NC_F_STR, struct nc_fence_device, ceph_conf, .check = NC_CHK_ABS_PATH,
	  .doc = "rbd: ceph.conf of the cluster holding the disks (required)"),
	F("user", NC_F_STR, struct nc_fence_device, user, .check = NC_CHK_CEPH_NAME,
	  .doc = "rbd: cephx id (default admin); it needs the caps to blocklist (`profile rbd` has them)"),
	F("keyFile", NC_F_STR, struct nc_fence_device, key_file, .check = NC_CHK_ABS_PATH,
	  .doc = "rbd: the user's key, a keyring or the bare key (default: the keyring of cephConf)"),
	F("agent", NC_F_STR, struct nc_fence_device, agent,
	  .doc = "agent: fence_NAME, looked up in /usr/sbin then /sbin, or an absolute path (required)"),
	F("options", NC_F_MAP, struct nc_fence_device, options,
	  .doc = "agent: options given on its standard input as key=value lines (ip, username, plug, "
		 "lanplus, ...; not action or password)"),
	F("passwordFile", NC_F_STR, struct nc_fence_device, password_file, .check = NC_CHK_ABS_PATH,
	  .doc = "agent: its first line is given as password=... on the agent's standard input"),
	F("timeout", NC_F_DURATION, struct nc_fence_device, timeout, .min = 1000, .max = 600000,
	  .doc = "agent: each run of the agent is killed after this long; rbd: Ceph's mount, monitor and "
		 "OSD operation timeouts (default 60s)"),
};
const struct nc_schema nc_fence_device_schema = {
	"fence device", sizeof(struct nc_fence_device), device_fields, NC_ARRAY_SIZE(device_fields)
};

/* fence_[a-z0-9_]+ */
static bool agent_name_ok(const char *s)
{
	if (strncmp(s, "fence_", 6) != 0 || !s[6])
		return false;
	for (s += 6; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static bool executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *nc_fence_agent_path(const char *agent, struct nc_err *err)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin" };
	size_t i;

	if (agent[0] == '/') {
		if (!executable_file(agent)) {
			nc_err_set(err, "fence agent %s: not an executable file", agent);
			return NULL;
		}
		return nc_xstrdup(agent);
	}
	if (!agent_name_ok(agent)) {
		nc_err_set(err, "fence agent '%s': expected fence_NAME (lower-case letters, digits, '_') "
			   "or an absolute path", agent);
		return NULL;
	}
	for (i = 0; i < NC_ARRAY_SIZE(dirs); i++) {
		char *p = nc_xasprintf("%s/%s", dirs[i], agent);

		if (executable_file(p))
			return p;
		free(p);
	}
	nc_err_set(err, "fence agent %s: not found in /usr/sbin or /sbin (install Debian's fence-agents)",
		   agent);
	return NULL;
}

uint64_t nc_fence_timeout_ms(const struct nc_fence_device *dev)
{
	return NC_IS_SET(dev->timeout) ? dev->timeout.ms : NC_FENCE_DEFAULT_TIMEOUT_MS;
}

/* an option's key: [a-z0-9_-], 1-64, not starting with '-' */
static bool option_key_ok(const char *s)
{
	size_t n = 0;

	if (!*s || *s == '-')
		return false;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return n <= 64;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

static void check_readable(const struct nc_str *f, const char *key, bool secret, struct nc_diags *diags)
{
	unsigned mode = 0;
	int r;

	if (!NC_IS_SET(*f))
		return;
	if (secret) {
		r = nc_secret_check(f->v, &mode);
		if (r == NC_SECRET_MODE_BAD) {
			char *m = nc_secret_msg(key, f->v, mode);

			nc_diag_error(diags, f->pos, "%s", m);
			free(m);
			return;
		}
		if (r == NC_SECRET_NOT_FILE) {
			nc_diag_error(diags, f->pos, "%s %s: not a regular file", key, f->v);
			return;
		}
	}
	if (access(f->v, R_OK) != 0)
		nc_diag_error(diags, f->pos, "%s %s: cannot read it: %s", key, f->v, strerror(errno));
}

/* a field the device's type does not use is an error, never ignored */
static void not_for(const struct nc_pos *pos, const char *key, const char *type, struct nc_diags *diags)
{
	if (pos->line)
		nc_diag_error(diags, *pos, "%s is not used by a fence device of type %s", key, type);
}

static void check_device(const struct nc_fence_device *d, struct nc_diags *diags)
{
	const char *t = d->type.v;
	size_t i;

	if (strcmp(t, "rbd") == 0) {
		if (!NC_IS_SET(d->ceph_conf))
			nc_diag_error(diags, d->pos, "fence device '%s' of type rbd needs cephConf",
				      d->name.v);
		check_readable(&d->ceph_conf, "cephConf", false, diags);
		check_readable(&d->key_file, "keyFile", true, diags);
		not_for(&d->agent.pos, "agent", t, diags);
		not_for(&d->options.pos, "options", t, diags);
		not_for(&d->password_file.pos, "passwordFile", t, diags);
	} else if (strcmp(t, "agent") == 0) {
		struct nc_err err;
		char *path;

		if (!NC_IS_SET(d->agent)) {
			nc_diag_error(diags, d->pos, "fence device '%s' of type agent needs agent "
				      "(e.g. fence_ipmilan)", d->name.v);
		} else if ((path = nc_fence_agent_path(d->agent.v, &err)) == NULL) {
			nc_diag_error(diags, d->agent.pos, "%s", err.msg);
		} else {
			free(path);
		}
		for (i = 0; i < d->options.n; i++) {
			const struct nc_kv *kv = &d->options.v[i];

			if (!option_key_ok(kv->key))
				nc_diag_error(diags, kv->pos, "invalid option '%s': expected [a-z0-9_-], "
					      "1-64 characters", kv->key);
			else if (strcmp(kv->key, "action") == 0)
				nc_diag_error(diags, kv->pos, "option action is novacron's to give (off, "
					      "then status)");
			else if (strcmp(kv->key, "password") == 0 || strcmp(kv->key, "passwd") == 0)
				nc_diag_error(diags, kv->pos, "a password is never written in the "
					      "configuration: give passwordFile");
			else if (!kv->value || has_ctl(kv->value))
				nc_diag_error(diags, kv->pos, "option %s: expected a value on one line, "
					      "without control characters", kv->key);
		}
		check_readable(&d->password_file, "passwordFile", true, diags);
		not_for(&d->ceph_conf.pos, "cephConf", t, diags);
		not_for(&d->user.pos, "user", t, diags);
		not_for(&d->key_file.pos, "keyFile", t, diags);
	} else if (strcmp(t, "manual") == 0) {
		not_for(&d->ceph_conf.pos, "cephConf", t, diags);
		not_for(&d->user.pos, "user", t, diags);
		not_for(&d->key_file.pos, "keyFile", t, diags);
		not_for(&d->agent.pos, "agent", t, diags);
		not_for(&d->options.pos, "options", t, diags);
		not_for(&d->password_file.pos, "passwordFile", t, diags);
		not_for(&d->timeout.pos, "timeout", t, diags);
	} else {
		nc_diag_error(diags, d->type.pos, "unknown fence device type '%s': expected rbd, agent "
			      "or manual", has_ctl(t) ? "?" : t);
	}
}

int nc_fence_devices_check(const struct nc_list *devs, struct nc_diags *diags)
{
	const struct nc_fence_device *v = devs->v;
	size_t i, j, errors = diags->errors;

	for (i = 0; i < devs->n; i++) {
		const struct nc_fence_device *d = &v[i];

		if (!NC_IS_SET(d->name) || !NC_IS_SET(d->type))
			continue;   /* reported by the loader */
		for (j = 0; j < i; j++) {
			if (NC_IS_SET(v[j].name) && strcmp(v[j].name.v, d->name.v) == 0) {
				nc_diag_error(diags, d->name.pos, "fence device '%s' is defined twice",
					      d->name.v);
				nc_diag_note(diags, v[j].name.pos, "first defined here");
				break;
			}
		}
		check_device(d, diags);
	}
	return diags->errors > errors ? -1 : 0;
}

const struct nc_fence_device *nc_fence_device_find(const struct nc_list *devs, const char *name)
{
	const struct nc_fence_device *v = devs ? devs->v : NULL;
	size_t i;

	for (i = 0; devs && i < devs->n; i++)
		if (NC_IS_SET(v[i].name) && strcmp(v[i].name.v, name) == 0)
			return &v[i];
	return NULL;
}

extern const struct nc_fence_driver nc_fence_rbd_driver, nc_fence_agent_driver, nc_fence_manual_driver;

static const struct nc_fence_driver *const drivers[] = {
	&nc_fence_rbd_driver, &nc_fence_agent_driver, &nc_fence_manual_driver,
};

const struct nc_fence_driver *nc_fence_driver_find(const char *type)
{
	size_t i;

	for (i = 0; type && i < NC_ARRAY_SIZE(drivers); i++)
		if (strcmp(drivers[i]->type, type) == 0)
			return drivers[i];
	return NULL;
}

void nc_fence_result_release(struct nc_fence_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ndisks; i++)
		free(r->disks[i]);
	free(r->disks);
	r->disks = NULL;
	r->ndisks = 0;
}

void nc_fence_result_add_disk(struct nc_fence_result *r, const char *disk)
{
	r->disks = nc_xreallocarray(r->disks, r->ndisks + 1, sizeof(*r->disks));
	r->disks[r->ndisks++] = nc_xstrdup(disk);
}
