/*
 * cmd-snapshot.c - `novacron snapshot list|revert` (docs/storage.md "Snapshots").
 *
 *   snapshot list VM [PATH...]
 *       the snapshots of the VM's domain, oldest first: name, when taken,
 *       with memory or not, whether NovaCron took it and the spec declares
 *       it, and which is current.
 *   snapshot run VM [PATH...]
 *       takes the VM's scheduled snapshot now (spec.snapshotSchedule), as serve
 *       does at the cron's time: auto-YYYYMMDD-HHMM of the current minute, then
 *       deletes its scheduled snapshots beyond keep.
 *   snapshot revert VM NAME [PATH...] [--force-stop] [--yes]
 *       puts the VM's disks (and, for a snapshot with memory, the guest's
 *       memory) back as they were in snapshot NAME.  Prints what it will do
 *       first (stop, revert, start again); refuses a running VM unless
 *       --force-stop (the guest is powered off: what it holds since the
 *       snapshot is what the revert discards), asks unless --yes (and needs
 *       --yes when stdin is not a terminal).  Refused, with nothing changed:
 *       a VM with a disk in a pool whose volumes cannot be snapshotted
 *       (rbd), a snapshot taken outside the images (external: libvirt 9.0
 *       cannot revert it), a snapshot that does not exist.
 *
 * The VM must be in the spec and managed on a host that can be read.  The
 * spec comes from the PATHs, else the configuration's source: (as backup's).
 * Exit: 0 done, 1 error or refused.
 */
#include "cli.h"
#include "pass-cli.h"
#include "snapshots.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../spec/util.h"

enum { OPT_STATE_DIR = NC_OPT_LONG_ONLY, OPT_CONFIG, OPT_FORCE_STOP, OPT_YES };

static const struct nc_opt snapshot_opts[] = {
	{ "force-stop", OPT_FORCE_STOP, NULL, "revert: power a running VM off first (without it a running VM "
	  "is refused)", NC_COMP_NONE, NULL },
	{ "yes", OPT_YES, NULL, "revert: do not ask (needed when stdin is not a terminal)", NC_COMP_NONE, NULL },
	{ "state-dir", OPT_STATE_DIR, "DIR", "where the record of hosts is kept (default as plan's)", NC_COMP_DIR, NULL },
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration: how to reach the hosts, and the spec's "
	  "source when no PATH is given (default $NOVACRON_CONFIG)", NC_COMP_FILE, NULL },
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL },
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const snapshot_examples[] = {
	"the snapshots of web-1",
	"novacron snapshot list web-1 clusters/prod",
	"take web-1's scheduled snapshot now and apply its retention",
	"novacron snapshot run web-1 clusters/prod",
	"put web-1 back as it was in its before-upgrade snapshot, powering it off first",
	"novacron snapshot revert web-1 before-upgrade --force-stop --yes clusters/prod",
	NULL,
};

const struct nc_cmd_doc nc_doc_snapshot = {
	"snapshot",
	"snapshot list VM [PATH...] [OPTIONS]\n"
	"snapshot run VM [PATH...] [OPTIONS]\n"
	"snapshot revert VM NAME [--force-stop] [--yes] [PATH...] [OPTIONS]",
	"list a VM's snapshots, take its scheduled one now, or revert it to one (docs/storage.md)",
	"Snapshots are declared in a VM's spec.snapshots and taken by apply; list shows what the VM's domain "
	"holds, NovaCron's and others'. run takes the VM's scheduled snapshot (spec.snapshotSchedule) now, as "
	"serve does at the schedule's time, and applies its keep. revert prints what it will do (stop, revert, start again), refuses a "
	"running VM unless --force-stop, and asks unless --yes. A VM with a disk in an rbd pool, or a snapshot "
	"libvirt cannot revert (external), is refused with nothing changed.\n\n"
	"The spec comes from the PATHs, else from the configuration's source (never a blind \".\"). "
	"Exit 0 done, 1 error or refused.",
	snapshot_opts, snapshot_examples, NC_COMP_VM, "list run revert",
};

struct sn_args {
	const char *sub, *vm, *snap, *state_dir, *config_file;
	bool force_stop, yes;
	const char **paths;
	size_t npaths;
	struct nc_pass_args pa;
	struct nc_cli_config cfg;
};

static int parse(struct sn_args *a, int argc, char **argv)
{
	struct nc_getopt g;
	size_t want = strcmp(a->sub, "revert") == 0 ? 2 : 1, got = 0;
	int ch, i;

	nc_getopt_init(&g, snapshot_opts, NULL);
	while ((ch = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (ch) {
		case OPT_FORCE_STOP: a->force_stop = true; break;
		case OPT_YES: a->yes = true; break;
		case OPT_STATE_DIR: a->state_dir = optarg; break;
		case OPT_CONFIG: a->config_file = optarg; break;
		case 'h':
			nc_getopt_release(&g);
			return 1;
		default:
			nc_getopt_release(&g);
			return -1;
		}
	}
	nc_getopt_release(&g);
	a->paths = nc_xcalloc((size_t)(argc - optind) + 1, sizeof(*a->paths));
	for (i = optind; i < argc; i++) {
		if (got == 0)
			a->vm = argv[i];
		else if (got == 1 && want == 2)
			a->snap = argv[i];
		else
			a->paths[a->npaths++] = argv[i];
		got++;
	}
	if (got < want)
		return -1;
	if (!a->state_dir) {
		char *argv0[] = { (char *)"snapshot", NULL };

		nc_pass_parse(&a->pa, "snapshot", 1, argv0, false);
		a->state_dir = a->pa.state_dir;
	}
	return 0;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "unknown");
}

/* the host holding the VM's managed domain, or (size_t)-1 after printing why not */
static size_t find_domain(const struct nc_cluster *c, const char *vm, const struct nc_domain **out)
{
	size_t h, i, unreachable = 0;

	for (h = 0; h < c->nhosts; h++) {
		if (c->hosts[h].status != NC_HOST_OK) {
			unreachable++;
			continue;
		}
		for (i = 0; i < c->hosts[h].obs.ndoms; i++) {
			const struct nc_domain *d = &c->hosts[h].obs.doms[i];

			if (d->managed && d->meta_vm && strcmp(d->meta_vm, vm) == 0) {
				*out = d;
				return h;
			}
		}
	}
	fprintf(stderr, "novacron snapshot: VM %s is on no host that could be read%s\n", vm,
		unreachable ? " (some hosts could not be read)" : "");
	return (size_t)-1;
}

static int do_list(const struct nc_vm *vm, const struct nc_cluster *c)
{
	const struct nc_domain *d;
	size_t h = find_domain(c, vm->obj.meta.name.v, &d), i;

	if (h == (size_t)-1)
		return NC_EXIT_ERROR;
	printf("VM %s on %s (%s): %zu snapshot%s\n", vm->obj.meta.name.v, c->hosts[h].spec->obj.meta.name.v,
	       nc_dom_state_name(d->state), d->nsnaps, d->nsnaps == 1 ? "" : "s");
	if (!d->nsnaps)
		return NC_EXIT_OK;
	printf("  %-24s %-20s %-8s %-8s %s\n", "NAME", "TAKEN", "STATE", "MEMORY", "BY");
	for (i = 0; i < d->nsnaps; i++) {
		const struct nc_dom_snap *s = &d->snaps[i];
		char when[32];

		fmt_time(s->created, when, sizeof(when));
		printf("  %-24s %-20s %-8s %-8s %s%s%s%s\n", s->name, when, s->state, s->memory ? "yes" : "no",
		       s->managed ? (nc_snapshot_find(vm, s->name) ? "novacron (declared)" : "novacron (no longer declared)")
				  : "not novacron (left alone)",
		       s->external ? ", external" : "", s->current ? ", current" : "", "");
	}
	return NC_EXIT_OK;
}

static int do_run(const struct nc_vm *vm, struct nc_cluster *c)
{
	struct nc_snapshot_run_result res;
	struct nc_err err = { "" };

	if (nc_snapshot_scheduled_run(&res, c, vm, (time_t)nc_sim_clock(NULL), &err) < 0) {
		fprintf(stderr, "novacron snapshot: %s\n", err.msg);
		return NC_EXIT_ERROR;
	}
	printf("%s: snapshot %s on %s %s; %zu older scheduled snapshot%s deleted\n", vm->obj.meta.name.v, res.name,
	       res.host, res.existed ? "was there already" : "taken", res.pruned, res.pruned == 1 ? "" : "s");
	return NC_EXIT_OK;
}

static bool confirm(void)
{
	char line[16];

	printf("Revert? Only 'yes' is accepted: ");
	fflush(stdout);
	return fgets(line, sizeof(line), stdin) && strcmp(line, "yes\n") == 0;
}

static int do_revert(const struct nc_spec *spec, const struct nc_vm *vm, struct nc_cluster *c, const struct sn_args *a)
{
	const char *name = vm->obj.meta.name.v;
	const struct nc_domain *d;
	const struct nc_dom_snap *s = NULL;
	const struct nc_disk *disk = NULL;
	const struct nc_pool *pl;
	struct nc_host_conn *conn;
	struct nc_err err = { "" };
	size_t h = find_domain(c, name, &d), i;
	bool running, restart;
	char when[32];
	int step = 1;

	if (h == (size_t)-1)
		return NC_EXIT_ERROR;
	/* a pool without snapshot support: refused before anything is touched */
	if ((pl = nc_snapshot_unsupported_pool(spec, vm, &disk))) {
		fprintf(stderr, "novacron snapshot: VM %s cannot be reverted: its disk %s is in StoragePool %s "
			"of type rbd, whose volumes NovaCron cannot snapshot or revert; nothing was changed\n", name,
			disk->name.v ? disk->name.v : "?", pl->obj.meta.name.v);
		return NC_EXIT_ERROR;
	}
	for (i = 0; i < d->nsnaps; i++)
		if (strcmp(d->snaps[i].name, a->snap) == 0)
			s = &d->snaps[i];
	if (!s) {
		fprintf(stderr, "novacron snapshot: VM %s has no snapshot %s (novacron snapshot list %s)\n", name,
			a->snap, name);
		return NC_EXIT_ERROR;
	}
	for (i = 0; i < d->ndisks; i++)
		if (!d->disks[i].format || strcmp(d->disks[i].format, "qcow2") != 0 ||
		    (d->disks[i].type && strcmp(d->disks[i].type, "file") != 0)) {
			fprintf(stderr, "novacron snapshot: VM %s cannot be reverted: its disk %s is %s %s, not a "
				"qcow2 file; nothing was changed\n", name, d->disks[i].target ? d->disks[i].target : "?",
				d->disks[i].type ? d->disks[i].type : "?", d->disks[i].format ? d->disks[i].format : "?");
			return NC_EXIT_ERROR;
		}
	if (s->external) {
		fprintf(stderr, "novacron snapshot: snapshot %s of VM %s is external (outside the disk images): "
			"libvirt 9.0 cannot revert it; nothing was changed\n", a->snap, name);
		return NC_EXIT_ERROR;
	}
	running = d->state == NC_DOM_RUNNING || d->state == NC_DOM_PAUSED;
	restart = running && !s->memory;
	fmt_time(s->created, when, sizeof(when));
	printf("Revert VM %s on %s to snapshot %s (taken %s, %s, %s):\n", name, c->hosts[h].spec->obj.meta.name.v,
	       s->name, when, s->memory ? "with memory" : "disks only",
	       s->managed ? "taken by NovaCron" : "not taken by NovaCron");
	if (running)
		printf("  %d. power the VM off (it is %s): what it wrote since the snapshot is lost\n", step++,
		       nc_dom_state_name(d->state));
	printf("  %d. revert its disks%s to the snapshot\n", step++, s->memory ? " and memory" : "");
	if (s->memory)
		printf("  %d. the guest resumes from the snapshot's memory\n", step++);
	else if (restart)
		printf("  %d. start the VM again (it was running)\n", step++);
	if (running && !a->force_stop) {
		fprintf(stderr, "novacron snapshot: VM %s is running: pass --force-stop to power it off and revert; "
			"nothing was changed\n", name);
		return NC_EXIT_ERROR;
	}
	if (!a->yes) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "novacron snapshot: stdin is not a terminal: pass --yes to revert; nothing was changed\n");
			return NC_EXIT_ERROR;
		}
		if (!confirm()) {
			fprintf(stderr, "novacron snapshot: not confirmed; nothing was changed\n");
			return NC_EXIT_ERROR;
		}
	}
	conn = c->hosts[h].conn;
	if (!conn || !conn->drv->snap_revert) {
		fprintf(stderr, "novacron snapshot: host %s cannot revert snapshots\n", c->hosts[h].spec->obj.meta.name.v);
		return NC_EXIT_ERROR;
	}
	if ((running && conn->drv->shutdown(conn, name, 0, &err) < 0) ||
	    conn->drv->snap_revert(conn, name, s->name, &err) < 0 ||
	    (restart && conn->drv->start(conn, name, &err) < 0) ||
	    (conn->drv->commit && conn->drv->commit(conn, &err) < 0)) {
		if (conn->drv->commit) {
			struct nc_err cerr = { "" };

			conn->drv->commit(conn, &cerr);
		}
		fprintf(stderr, "novacron snapshot: revert of %s to %s failed: %s\n", name, s->name, err.msg);
		return NC_EXIT_ERROR;
	}
	printf("Reverted %s to %s%s.\n", name, s->name, s->memory ? "; the guest runs from the snapshot's memory" :
	       restart ? "; started again" : "");
	return NC_EXIT_OK;
}

int cmd_snapshot(int argc, char **argv)
{
	struct sn_args a;
	struct nc_spec *spec = NULL;
	struct nc_cluster c;
	struct nc_observe_opts oo;
	const struct nc_vm *vm;
	int rc, ret = NC_EXIT_ERROR;
	bool observed = false;

	memset(&a, 0, sizeof(a));
	memset(&c, 0, sizeof(c));
	a.sub = argc > 1 ? argv[1] : NULL;
	if (a.sub && (strcmp(a.sub, "-h") == 0 || strcmp(a.sub, "--help") == 0)) {
		nc_cmd_help(stdout, &nc_doc_snapshot);
		return NC_EXIT_OK;
	}
	if (!a.sub || (strcmp(a.sub, "list") && strcmp(a.sub, "revert") && strcmp(a.sub, "run"))) {
		if (a.sub)
			fprintf(stderr, "novacron snapshot: unknown subcommand '%s'\n", a.sub);
		nc_cmd_usage_error(&nc_doc_snapshot);
		return NC_EXIT_ERROR;
	}
	rc = parse(&a, argc - 1, argv + 1);
	if (rc) {
		if (rc > 0)
			nc_cmd_help(stdout, &nc_doc_snapshot);
		else
			nc_cmd_usage_error(&nc_doc_snapshot);
		ret = rc > 0 ? NC_EXIT_OK : NC_EXIT_ERROR;
		goto out;
	}
	if (nc_cli_config_load(&a.cfg, "snapshot", a.config_file) < 0 ||
	    nc_cli_spec_load(&spec, &a.cfg, "snapshot", a.paths, a.npaths) < 0 ||
	    nc_cli_check_paths(&a.cfg, spec, "snapshot") < 0)
		goto out;
	if (!(vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, a.vm))) {
		fprintf(stderr, "novacron snapshot: no VM named '%s' in the spec\n", a.vm);
		goto out;
	}
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = a.state_dir;
	oo.keep_open = strcmp(a.sub, "list") != 0;
	oo.connections = &a.cfg.connections;
	nc_observe(&c, spec, &oo);
	observed = true;
	ret = strcmp(a.sub, "list") == 0 ? do_list(vm, &c) : strcmp(a.sub, "run") == 0 ? do_run(vm, &c) :
	      do_revert(spec, vm, &c, &a);
out:
	if (observed)
		nc_cluster_release(&c);
	nc_spec_free(spec);
	nc_cli_config_release(&a.cfg);
	free(a.paths);
	nc_pass_args_release(&a.pa);
	return ret;
}
