/*
 * cmd-fence.c - `novacron fence confirm|list|clear`: the HA record of failed
 * and fenced hosts (STATE_DIR/ha.json, reconciler/ha.h; docs/ha.md).
 *
 *   confirm HOST [--by NAME] [--force]
 *       records a manual fence: the operator says HOST is off (powered off,
 *       or cut from its storage), so the VMs last seen on it with ha.policy
 *       restart may be restarted elsewhere.  Who (--by, else $SUDO_USER,
 *       $USER, the uid) and when are recorded.  HOST must be in the record
 *       of hosts (hosts.json).  It is opened first, as a pass would open it:
 *       a host that can be read right now is not off, and confirming a live
 *       host as off is how a VM ends up running twice on one disk, so
 *       confirm refuses it unless --force.
 *   list [--output text|json]
 *       the record: each failed host, whether and how it was fenced, the
 *       VMs restarted elsewhere.
 *   clear HOST
 *       forgets a host's entry (a false alarm, or a host repaired by hand).
 *
 *   run HOST [PATH...] [--force]
 *       fences HOST by hand with its configured devices (the Host's
 *       spec.fence, resolved in --config's `fencing: devices:`), as serve
 *       does for a failed host (reconciler/fencing.h): the rbd disks of its
 *       VMs to restart that no reachable host runs, or the whole host.  The
 *       spec: PATH..., else the one the configuration's source names.  A
 *       host that can be read right now is refused unless --force.  What
 *       the devices did is recorded in ha.json.
 *
 * Exit: 0 done, 1 refused or error; run: 2 when the fence waits for an
 * operator (manual).
 */
#include "cli.h"
#include "jsonout.h"
#include "fencing.h"
#include "pass-cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OPT_STATE_DIR = NC_OPT_LONG_ONLY, OPT_CONFIG, OPT_TIMEOUT, OPT_FORCE, OPT_BY };

static const struct nc_opt fence_opts[] = {
	{ "by", OPT_BY, "NAME", "confirm: who confirms (default $SUDO_USER, $USER or the uid)", NC_COMP_NONE, NULL },
	{ "force", OPT_FORCE, NULL, "confirm, run: go on even though the host can be read right now",
	  NC_COMP_NONE, NULL },
	{ "output", 'o', "FORMAT", "list: text (default) or json", NC_COMP_WORDS, "text json" },
	{ "state-dir", OPT_STATE_DIR, "DIR", "where the HA record and the record of hosts are kept (default as "
	  "plan's)", NC_COMP_DIR, NULL },
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration: how to reach the host, its fence devices "
	  "(default $NOVACRON_CONFIG)", NC_COMP_FILE, NULL },
	{ "timeout", OPT_TIMEOUT, "SEC", "give up on the host if it does not answer within SEC seconds "
	  "(1-3600, default 10)", NC_COMP_NONE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const fence_examples[] = {
	"kvm2 was powered off by hand: let its HA VMs restart elsewhere",
	"novacron fence confirm kvm2 --by alice",
	"fence kvm2 with its configured devices, as serve would",
	"novacron fence run kvm2 clusters/prod --config /etc/novacron/serve.yaml",
	"the record of failed hosts, then forget a false alarm",
	"novacron fence list && novacron fence clear kvm2",
	NULL,
};

const struct nc_cmd_doc nc_doc_fence = {
	"fence",
	"fence confirm HOST [--by NAME] [--force] [OPTIONS]\n"
	"fence run HOST [PATH...] [--force] [OPTIONS]\n"
	"fence list [--output text|json] [OPTIONS]\n"
	"fence clear HOST [OPTIONS]",
	"the HA record of failed hosts: confirm one is off by hand, run its fence devices, list, clear (docs/ha.md)",
	"confirm records a manual fence: the operator says HOST is off, so the VMs last seen on it with "
	"ha.policy restart may be restarted elsewhere. A host that can be read right now is not off: "
	"confirm refuses it unless --force.\n\n"
	"run fences HOST with the devices its spec.fence names (resolved in the configuration's fencing: "
	"devices:), as serve does for a failed host. list shows each failed host, how it was fenced and "
	"the VMs restarted elsewhere; clear forgets a host's entry. Exit 0 done, 1 refused or error; run "
	"exits 2 when the fence waits for an operator.",
	fence_opts, fence_examples, NC_COMP_HOST, "confirm run list clear",
};

struct fence_args {
	const char *state_dir, *config_file, *by;
	unsigned timeout_s;
	bool force;
	enum nc_output output;
	const char *host;
	const char *const *paths;        /* run: the spec */
	size_t npaths;
};

/* who confirms: --by, else the user sudo ran as, else $USER, else the uid */
static char *who_confirms(const char *by)
{
	const char *s = by && *by ? by : getenv("SUDO_USER");

	if (!s || !*s)
		s = getenv("USER");
	if (s && *s)
		return nc_xstrdup(s);
	return nc_xasprintf("uid %u", (unsigned)getuid());
}

static void utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "unknown");
}

static int fence_confirm(const struct fence_args *fa)
{
	struct nc_cli_config cfg;
	struct nc_observe_opts oo;
	struct nc_fence_confirm_seen seen;
	struct nc_err err = { "" };
	char *who = who_confirms(fa->by), when[32];
	int64_t now = (int64_t)time(NULL);
	int ret = NC_EXIT_ERROR, rc;

	if (!nc_fence_by_ok(who)) {
		fprintf(stderr, "novacron fence: --by must be 1 to 64 printable characters\n");
		free(who);
		return ret;
	}
	if (nc_cli_config_load(&cfg, "fence", fa->config_file) < 0) {
		free(who);
		return ret;
	}
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = fa->state_dir;
	oo.timeout_ms = fa->timeout_s * 1000;
	oo.connections = &cfg.connections;
	rc = nc_fence_confirm(fa->state_dir, fa->host, who, "confirmed off by hand", &oo, fa->force, &seen, &err);
	if (rc == NC_FENCE_CONFIRM_UNKNOWN) {
		fprintf(stderr, "novacron fence: refusing: no host named '%s' in the record of hosts %s/%s: "
				"only a host NovaCron has seen (an apply or serve pass recorded it) can be "
				"confirmed off\n", fa->host, fa->state_dir, NC_HOSTREC_FILE);
	} else if (rc == NC_FENCE_CONFIRM_LIVE) {
		fprintf(stderr,
			"novacron fence: refusing: %s can be read right now (%zu domain%s, %zu running): it is "
			"not off.\nConfirming a live host as off lets its VMs be restarted on other hosts "
			"while they still run here: two writers on one disk destroy it. Power it off (or cut "
			"it from its storage) first; --force records the confirmation anyway.\n",
			fa->host, seen.ndoms, seen.ndoms == 1 ? "" : "s", seen.running);
	} else {
		if (seen.readable)
			fprintf(stderr, "novacron fence: warning: %s can be read right now (%zu running domain%s); "
					"recording it as off anyway (--force)\n", fa->host, seen.running,
				seen.running == 1 ? "" : "s");
		if (rc < 0) {
			fprintf(stderr, "novacron fence: %s\n", err.msg);
		} else {
			utc(now, when, sizeof(when));
			printf("Recorded: %s is fenced (confirmed off by %s at %s) in %s/%s.\n"
			       "The next pass (serve, or novacron apply) restarts its VMs with ha.policy restart on other hosts;\n"
			       "novacron plan shows which, and why the others wait.\n",
			       fa->host, who, when, fa->state_dir, NC_HA_FILE);
			ret = NC_EXIT_OK;
		}
	}
	nc_cli_config_release(&cfg);
	free(who);
	return ret;
}

static void add_list(struct nc_buf *b, char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		nc_buf_addf(b, "%s%s", i ? ", " : "", v[i]);
	if (!n)
		nc_buf_adds(b, "none");
}

/* one line of the record for a terminal: control characters shown as '?' */
static void add_clean(struct nc_buf *b, const char *s)
{
	for (; s && *s; s++)
		nc_buf_addc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int fence_list(const struct fence_args *fa)
{
	struct nc_ha_record ha = { 0 };
	struct nc_err err = { "" };
	struct nc_buf b = NC_BUF_INIT;
	size_t i;

	if (nc_ha_load(&ha, fa->state_dir, &err) < 0) {
		fprintf(stderr, "novacron fence: %s\n", err.msg);
		return NC_EXIT_ERROR;
	}
	if (fa->output == NC_OUT_JSON) {
		struct json_object *doc = nc_json_doc(1), *hosts = json_object_new_array_ext((int)ha.nhosts);

		for (i = 0; i < ha.nhosts; i++) {
			const struct nc_ha_host *h = &ha.hosts[i];
			struct json_object *o = json_object_new_object();

			nc_json_set(o, "name", nc_json_new_str(h->name));
			nc_json_set(o, "failed_at", json_object_new_int64((int64_t)h->failed_at));
			nc_json_set(o, "fenced", json_object_new_boolean(h->fenced));
			nc_json_set(o, "fenced_at", json_object_new_int64((int64_t)h->fenced_at));
			nc_json_set(o, "fenced_by", nc_json_new_str(h->fenced_by));
			nc_json_set(o, "detail", nc_json_new_str(h->detail));
			nc_json_set(o, "whole_host", json_object_new_boolean(h->whole_host));
			nc_json_set(o, "disks", nc_json_new_strv((const char *const *)h->disks, h->ndisks));
			nc_json_set(o, "recovered", nc_json_new_strv((const char *const *)h->recovered, h->nrecovered));
			json_object_array_add(hosts, o);
		}
		nc_json_set(doc, "hosts", hosts);
		nc_json_to_buf(&b, doc);
	} else if (!ha.nhosts) {
		nc_buf_adds(&b, "No failed hosts in the HA record.\n");
	} else {
		for (i = 0; i < ha.nhosts; i++) {
			const struct nc_ha_host *h = &ha.hosts[i];
			char t1[32], t2[32];

			utc(h->failed_at, t1, sizeof(t1));
			utc(h->fenced_at, t2, sizeof(t2));
			nc_buf_addf(&b, "%s: failed at %s, ", h->name, t1);
			if (h->fenced) {
				nc_buf_addf(&b, "fenced at %s by ", t2);
				add_clean(&b, h->fenced_by ? h->fenced_by : "?");
				nc_buf_adds(&b, h->whole_host ? " (the whole host)" : " (disk by disk)");
			} else {
				nc_buf_adds(&b, "not fenced");
			}
			nc_buf_adds(&b, "\n");
			if (h->detail) {
				nc_buf_adds(&b, "  ");
				add_clean(&b, h->detail);
				nc_buf_adds(&b, "\n");
			}
			if (h->ndisks) {
				nc_buf_adds(&b, "  fenced disks: ");
				add_list(&b, h->disks, h->ndisks);
				nc_buf_adds(&b, "\n");
			}
			nc_buf_adds(&b, "  restarted elsewhere: ");
			add_list(&b, h->recovered, h->nrecovered);
			nc_buf_adds(&b, "\n");
		}
	}
	fwrite(b.buf, 1, b.len, stdout);
	nc_buf_release(&b);
	nc_ha_release(&ha);
	return NC_EXIT_OK;
}

static int fence_clear(const struct fence_args *fa)
{
	struct nc_ha_record ha = { 0 };
	struct nc_err err = { "" };
	struct nc_buf b = NC_BUF_INIT;
	const struct nc_ha_host *h;
	int lock = nc_ha_lock(fa->state_dir, &err), ret = NC_EXIT_ERROR;

	if (lock < 0 || nc_ha_load(&ha, fa->state_dir, &err) < 0) {
		fprintf(stderr, "novacron fence: %s\n", err.msg);
		goto out;
	}
	h = nc_ha_find(&ha, fa->host);
	if (!h) {
		fprintf(stderr, "novacron fence: no host named '%s' in the HA record %s/%s\n", fa->host,
			fa->state_dir, NC_HA_FILE);
		goto out;
	}
	add_list(&b, h->recovered, h->nrecovered);
	if (h->nrecovered)
		fprintf(stderr, "novacron fence: warning: the VMs restarted elsewhere after %s failed (%s) are no "
				"longer known as restarted: a copy of them still on %s is no longer removed as stale, "
				"and plans report such a VM on two hosts\n", fa->host, b.buf, fa->host);
	nc_ha_forget(&ha, fa->host);
	if (nc_ha_save(&ha, fa->state_dir, &err) < 0) {
		fprintf(stderr, "novacron fence: %s\n", err.msg);
		goto out;
	}
	printf("Cleared the HA record of %s: it is no longer failed; VMs may be placed on it again.\n", fa->host);
	ret = NC_EXIT_OK;
out:
	nc_ha_release(&ha);
	nc_ha_unlock(lock);
	nc_buf_release(&b);
	return ret;
}

/*
 * `fence run HOST`: the host's fence devices, by hand (fencing.h).  The
 * whole cluster is observed (a VM seen running on a reachable host is
 * never a target), HOST too: one that can be read is not failed.
 */
static int fence_run(const struct fence_args *fa)
{
	struct nc_cli_config cfg;
	struct nc_spec *spec = NULL;
	struct nc_hostrec rec = { 0 };
	struct nc_observe_opts oo;
	struct nc_cluster cl;
	struct nc_fence_targets t = { 0 };
	struct nc_fencing_opts fo;
	struct nc_fencing_outcome out;
	struct nc_err err = { "" };
	char *who = who_confirms(fa->by), *by = NULL;
	bool observed = false, have_cfg = false;
	size_t i;
	int ret = NC_EXIT_ERROR, r, lock = -1;

	if (!nc_fence_by_ok(who)) {
		fprintf(stderr, "novacron fence: --by must be 1 to 64 printable characters\n");
		goto out;
	}
	if (nc_cli_config_load(&cfg, "fence", fa->config_file) < 0)
		goto out;
	have_cfg = true;
	if (nc_cli_spec_load(&spec, &cfg, "fence", fa->paths, fa->npaths) < 0)
		goto out;
	if (!nc_spec_find(spec, NC_KIND_HOST, fa->host)) {
		fprintf(stderr, "novacron fence: no Host named '%s' in the spec\n", fa->host);
		goto out;
	}
	{
		struct nc_diags d;
		struct nc_buf b = NC_BUF_INIT;

		nc_diags_init(&d);
		if (nc_fence_names_check(spec, &cfg.fence_devices, cfg.file, &d) < 0) {
			nc_diags_format_text(&d, &b, 0);
			fwrite(b.buf, 1, b.len, stderr);
			fprintf(stderr, "novacron fence: the fence devices are defined in the configuration "
					"(--config or $NOVACRON_CONFIG): fencing: devices:\n");
			nc_buf_release(&b);
			nc_diags_release(&d);
			goto out;
		}
		nc_diags_release(&d);
	}
	/*
	 * As a pass that changes the cluster (hostrec.h): a serve pass or an apply
	 * fencing this host and restarting its VMs meanwhile would have a disk this
	 * run still means to fence taken by the restarted copy, whose lock it
	 * would break.
	 */
	if ((lock = nc_apply_lock(fa->state_dir, false, &err)) == -2) {
		fprintf(stderr, "novacron fence: waiting for an apply or serve pass to end (it holds %s/%s)\n",
			fa->state_dir, NC_APPLY_LOCK);
		lock = nc_apply_lock(fa->state_dir, true, &err);
	}
	if (lock < 0 || nc_hostrec_load(&rec, fa->state_dir, &err) < 0) {
		fprintf(stderr, "novacron fence: %s\n", err.msg);
		goto out;
	}
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = fa->state_dir;
	oo.timeout_ms = fa->timeout_s * 1000;
	oo.connections = &cfg.connections;
	oo.record = &rec;
	nc_observe(&cl, spec, &oo);
	observed = true;
	for (i = 0; i < cl.nhosts; i++) {
		if (strcmp(cl.hosts[i].spec->obj.meta.name.v, fa->host) != 0 || cl.hosts[i].status != NC_HOST_OK)
			continue;
		if (!fa->force) {
			fprintf(stderr, "novacron fence: refusing: %s can be read right now: it is not failed.\n"
					"Its fence devices power it off or cut its VMs from their disks; --force runs "
					"them anyway.\n", fa->host);
			goto out;
		}
		fprintf(stderr, "novacron fence: warning: %s can be read right now; fencing it anyway (--force)\n",
			fa->host);
	}
	nc_fence_targets(&t, spec, &cl, &rec, fa->host);
	printf("fencing %s: %zu VM%s to restart, %zu rbd disk%s%s\n", fa->host, t.nvms, t.nvms == 1 ? "" : "s",
	       t.ndisks, t.ndisks == 1 ? "" : "s", t.need_host ? ", the whole host needed" : "");
	memset(&fo, 0, sizeof(fo));
	fo.state_dir = fa->state_dir;
	fo.devices = &cfg.fence_devices;
	by = nc_xasprintf("(novacron fence run by %s)", who);
	fo.who = by;
	r = nc_fence_host(spec, &t, fa->host, &fo, &out, &err);
	if (r == NC_FENCE_DONE) {
		printf("Fenced: %s%s%s: %s (recorded in %s/%s)\n", fa->host, out.by[0] ? " by " : "", out.by,
		       out.detail, fa->state_dir, NC_HA_FILE);
		ret = NC_EXIT_OK;
	} else if (r == NC_FENCE_PENDING) {
		printf("Pending: %s: %s\n", fa->host, out.detail);
		ret = NC_EXIT_CHANGES;
	} else {
		fprintf(stderr, "novacron fence: %s was not fenced: %s\n", fa->host, err.msg);
	}
out:
	if (observed)
		nc_cluster_release(&cl);
	nc_fence_targets_release(&t);
	nc_hostrec_release(&rec);
	nc_spec_free(spec);
	if (have_cfg)
		nc_cli_config_release(&cfg);
	free(who);
	free(by);
	if (lock >= 0)
		nc_hostrec_unlock(lock);
	return ret;
}

int cmd_fence(int argc, char **argv)
{
	struct nc_pass_args a;          /* only for the default state dir */
	struct fence_args fa;
	const char *sub;
	int c, ret = NC_EXIT_ERROR;
	size_t nargs;
	struct nc_getopt g;

	memset(&a, 0, sizeof(a));
	memset(&fa, 0, sizeof(fa));
	fa.timeout_s = 10;
	nc_getopt_init(&g, fence_opts, NULL);
	while ((c = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			fa.state_dir = optarg;
			break;
		case OPT_CONFIG:
			fa.config_file = optarg;
			break;
		case OPT_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (!*optarg || *end || v < 1 || v > 3600) {
				fprintf(stderr, "novacron fence: --timeout must be a number from 1 to 3600\n");
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			fa.timeout_s = (unsigned)v;
			break;
		}
		case OPT_FORCE:
			fa.force = true;
			break;
		case OPT_BY:
			fa.by = optarg;
			break;
		case 'o':
			if (nc_cli_output(optarg, 3, &fa.output) < 0) {
				fprintf(stderr, "novacron fence: --output must be text or json\n");
				nc_getopt_release(&g);
				return NC_EXIT_ERROR;
			}
			break;
		case 'h':
			nc_getopt_release(&g);
			nc_cmd_help(stdout, &nc_doc_fence);
			return NC_EXIT_OK;
		default:
			nc_getopt_release(&g);
			goto usage;
		}
	}
	nc_getopt_release(&g);
	if (optind >= argc)
		goto usage;
	sub = argv[optind];
	nargs = (size_t)(argc - optind - 1);
	fa.host = nargs ? argv[optind + 1] : NULL;
	fa.state_dir = fa.state_dir ? fa.state_dir : nc_pass_default_state_dir(&a);
	if (strcmp(sub, "confirm") == 0 && nargs == 1 && fa.output == NC_OUT_TEXT)
		ret = fence_confirm(&fa);
	else if (strcmp(sub, "run") == 0 && nargs >= 1 && fa.output == NC_OUT_TEXT) {
		fa.paths = (const char *const *)argv + optind + 2;
		fa.npaths = nargs - 1;
		ret = fence_run(&fa);
	} else if (strcmp(sub, "list") == 0 && nargs == 0 && !fa.force && !fa.by)
		ret = fence_list(&fa);
	else if (strcmp(sub, "clear") == 0 && nargs == 1 && !fa.force && !fa.by && fa.output == NC_OUT_TEXT)
		ret = fence_clear(&fa);
	else
		goto usage;
	nc_pass_args_release(&a);
	return ret;
usage:
	nc_cmd_usage_error(&nc_doc_fence);
	nc_pass_args_release(&a);
	return NC_EXIT_ERROR;
}
