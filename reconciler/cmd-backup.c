/*
 * cmd-backup.c - `novacron backup run|list|check|prune` and `novacron restore`.
 *
 *   backup run VM... | --schedule NAME   back up now (consistent point, increment when possible);
 *                                        with --schedule, prune by its retention afterwards;
 *                                        --snapshot NAME: the disks as they were in that
 *                                        snapshot of each VM (full; docs/storage.md "Snapshots")
 *   backup list --schedule NAME [--vm VM] [--output text|json]
 *   backup check --schedule NAME [--read-data]      exit 0 consistent, 1 problems
 *   backup prune --schedule NAME [--dry-run]        apply the schedule's retention
 *   restore VM --backup ID [--as NEWNAME] [--schedule NAME] [--host HOST]
 *
 * Every command takes the spec paths and --state-dir like plan; without a
 * path, the spec is the one the configuration's source: names (--config
 * FILE or $NOVACRON_CONFIG; nc_cli_spec_load), never a blind ".".
 * The repository is the schedule's target; restore finds the schedule in
 * --schedule, the VM's restore.schedule or its backupSchedule.
 */
#include "backups.h"
#include "cli.h"
#include "jsonout.h"
#include "pass-cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../spec/diag.h"
#include "../spec/util.h"

struct bk_args {
	const char *schedule, *vm, *backup, *as, *host, *state_dir, *snapshot;
	enum nc_output out;
	bool read_data, dry_run;
	const char *const *paths;
	size_t npaths;
	char **names;                /* positional VM names (run, restore) */
	size_t nnames;
	struct nc_pass_args pa;      /* for the default state dir */
	const char *config_file;     /* --config: the operator's connections */
	struct nc_cli_config cfg;
};

static const struct nc_backup *find_schedule(const struct nc_spec *spec, const char *name, const char *cmd)
{
	const struct nc_backup *s;

	if (!name) {
		fprintf(stderr, "novacron %s: --schedule NAME is required\n", cmd);
		return NULL;
	}
	s = (const struct nc_backup *)nc_spec_find(spec, NC_KIND_BACKUP_SCHEDULE, name);
	if (!s)
		fprintf(stderr, "novacron %s: no BackupSchedule named '%s'\n", cmd, name);
	return s;
}

static void observe(struct nc_cluster *c, const struct nc_spec *spec, const struct bk_args *a)
{
	struct nc_observe_opts oo;

	memset(&oo, 0, sizeof(oo));
	oo.state_dir = a->state_dir;
	oo.keep_open = true;
	oo.connections = &a->cfg.connections;
	nc_observe(c, spec, &oo);
}

static void fmt_size(uint64_t v, char *buf, size_t len)
{
	if (v >= 10 * 1048576ULL)
		snprintf(buf, len, "%.1f MiB", v / 1048576.0);
	else if (v >= 10 * 1024)
		snprintf(buf, len, "%.1f KiB", v / 1024.0);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)v);
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_run(const struct nc_backup_vm_result *r)
{
	size_t i;

	printf("%s: backup %.16s on %s (%s, %s) in %.1f s\n", r->vm, r->id, r->host,
	       r->live ? "live" : "offline", r->quiesced ? "quiesced" : "not quiesced", r->seconds);
	for (i = 0; i < r->ndisks; i++) {
		const struct nc_backup_stats *s = &r->disks[i].stats;
		char rd[32], st[32];

		fmt_size(s->bytes_read, rd, sizeof(rd));
		fmt_size(s->bytes_stored, st, sizeof(st));
		printf("  disk %-10s %s  %s  read %s, stored %s; chunks %zu new, %zu reused, %zu zero, %zu unchanged\n",
		       r->disks[i].disk, s->id, r->disks[i].incremental ? "incremental" : "full", rd, st,
		       s->chunks_new, s->chunks_reused, s->chunks_zero, s->chunks_unchanged);
	}
}

static void print_prune(const struct nc_backup_prune_report *p, bool dry)
{
	size_t i;

	for (i = 0; i < p->nremoved; i++)
		printf("  %s backup %.16s\n", dry ? "would remove" : "removed", p->removed[i]);
	printf("prune: %zu kept, %zu %s; %zu chunks %s, %zu kept\n", p->kept, p->nremoved,
	       dry ? "to remove" : "removed", p->chunks_deleted, dry ? "to delete" : "deleted", p->chunks_kept);
}

static bool has_retention(const struct nc_backup *s, struct nc_backup_retention *ret)
{
	const struct nc_retention *r = &s->spec.retention;

	memset(ret, 0, sizeof(*ret));
	ret->keep_last = NC_IS_SET(r->keep_last) ? (unsigned)r->keep_last.v : 0;
	ret->keep_daily = NC_IS_SET(r->keep_daily) ? (unsigned)r->keep_daily.v : 0;
	ret->keep_weekly = NC_IS_SET(r->keep_weekly) ? (unsigned)r->keep_weekly.v : 0;
	ret->keep_monthly = NC_IS_SET(r->keep_monthly) ? (unsigned)r->keep_monthly.v : 0;
	return ret->keep_last || ret->keep_daily || ret->keep_weekly || ret->keep_monthly;
}

static int run_schedule_prune(const struct nc_backup *s)
{
	struct nc_backup_retention ret;
	struct nc_backup_prune_report p;
	struct nc_backup_repo *r;
	struct nc_err err;
	int rc;

	if (!has_retention(s, &ret))
		return 0;
	if (nc_schedule_repo_open(&r, s, false, &err) < 0) {
		fprintf(stderr, "novacron backup: %s\n", err.msg);
		return -1;
	}
	rc = nc_backup_prune(&p, r, &ret, false, &err);
	if (rc < 0) {
		fprintf(stderr, "novacron backup: prune: %s\n", err.msg);
	} else {
		print_prune(&p, false);
		nc_backup_prune_report_release(&p);
	}
	nc_backup_close(r);
	return rc;
}

static int do_run(const struct nc_spec *spec, const struct bk_args *a)
{
	const struct nc_backup *sched = NULL;
	const struct nc_vm **vms = NULL;
	const struct nc_backup **scheds = NULL;
	struct nc_backup_run_opts ro;
	struct nc_cluster c;
	size_t n = 0, i, failed = 0;

	if (a->snapshot && !a->nnames) {
		fprintf(stderr, "novacron backup run: --snapshot needs VM names\n");
		return NC_EXIT_ERROR;
	}
	if (a->schedule) {
		if (!(sched = find_schedule(spec, a->schedule, "backup run")))
			return NC_EXIT_ERROR;
		if (a->nnames) {
			fprintf(stderr, "novacron backup run: give VM names or --schedule, not both\n");
			return NC_EXIT_ERROR;
		}
		n = nc_schedule_vms(&vms, spec, sched);
		scheds = nc_xcalloc(n + 1, sizeof(*scheds));
		for (i = 0; i < n; i++)
			scheds[i] = sched;
	} else {
		if (!a->nnames) {
			nc_cmd_usage_error(&nc_doc_backup);
			return NC_EXIT_ERROR;
		}
		vms = nc_xcalloc(a->nnames, sizeof(*vms));
		scheds = nc_xcalloc(a->nnames, sizeof(*scheds));
		for (i = 0; i < a->nnames; i++) {
			vms[i] = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, a->names[i]);
			if (!vms[i]) {
				fprintf(stderr, "novacron backup run: no VM named '%s'\n", a->names[i]);
				goto bad;
			}
			if (!(scheds[i] = nc_vm_schedule(spec, vms[i]))) {
				fprintf(stderr, "novacron backup run: VM '%s' has no BackupSchedule: set its "
					"backupSchedule or list it in a schedule\n", a->names[i]);
				goto bad;
			}
		}
		n = a->nnames;
	}
	if (!n) {
		printf("BackupSchedule %s selects no VM\n", sched->obj.meta.name.v);
		free(vms);
		free(scheds);
		return NC_EXIT_OK;
	}
	observe(&c, spec, a);
	memset(&ro, 0, sizeof(ro));
	ro.now = (int64_t)time(NULL);
	ro.progress = stderr;
	ro.snapshot = a->snapshot;
	for (i = 0; i < n; i++) {
		struct nc_backup_vm_result res;
		struct nc_err err;

		if (nc_backup_vm(&res, spec, &c, vms[i], scheds[i], &ro, &err) < 0) {
			fprintf(stderr, "novacron backup run: %s: %s\n", vms[i]->obj.meta.name.v, err.msg);
			failed++;
			continue;
		}
		print_run(&res);
	}
	nc_cluster_release(&c);
	if (sched && !failed && run_schedule_prune(sched) < 0)
		failed++;
	free(vms);
	free(scheds);
	return failed ? NC_EXIT_ERROR : NC_EXIT_OK;
bad:
	free(vms);
	free(scheds);
	return NC_EXIT_ERROR;
}

static int do_list(const struct nc_spec *spec, const struct bk_args *a)
{
	const struct nc_backup *s = find_schedule(spec, a->schedule, "backup list");
	struct nc_backup_repo *r;
	struct nc_backup_snapshot *v = NULL;
	struct json_object *jlist = NULL;
	struct nc_buf b = NC_BUF_INIT;
	struct nc_err err;
	size_t n = 0, i, shown = 0;

	if (!s)
		return NC_EXIT_ERROR;
	if (nc_schedule_repo_open(&r, s, false, &err) < 0 || nc_backup_list(&v, &n, r, &err) < 0) {
		fprintf(stderr, "novacron backup list: %s\n", err.msg);
		return NC_EXIT_ERROR;
	}
	if (a->out == NC_OUT_JSON)
		jlist = json_object_new_array();
	else
		nc_buf_addf(&b, "%-16s  %-16s %-10s %-20s %10s  %-8s %s\n", "ID", "VM", "DISK", "TIME",
			    "SIZE", "QUIESCED", "PARENT");
	for (i = 0; i < n; i++) {
		char tm[32], sz[32];

		if (a->vm && strcmp(v[i].vm, a->vm) != 0)
			continue;
		fmt_time(v[i].time, tm, sizeof(tm));
		if (a->out == NC_OUT_JSON) {
			struct json_object *o = json_object_new_object();

			nc_json_set(o, "id", nc_json_new_str(v[i].id));
			nc_json_set(o, "vm", nc_json_new_str(v[i].vm));
			nc_json_set(o, "disk", nc_json_new_str(v[i].disk));
			nc_json_set(o, "time", json_object_new_string(tm));
			nc_json_set(o, "disk_size", nc_json_new_u64(v[i].disk_size));
			nc_json_set(o, "quiesced", json_object_new_boolean(v[i].quiesced));
			nc_json_set(o, "parent", *v[i].parent ? nc_json_new_str(v[i].parent) : NULL);
			nc_json_set(o, "checkpoint", *v[i].checkpoint ? nc_json_new_str(v[i].checkpoint) : NULL);
			json_object_array_add(jlist, o);
		} else {
			nc_size_format(v[i].disk_size, sz, sizeof(sz));
			nc_buf_addf(&b, "%.16s  %-16s %-10s %-20s %10s  %-8s %.16s\n", v[i].id, v[i].vm, v[i].disk,
				    tm, sz, v[i].quiesced ? "yes" : "no", *v[i].parent ? v[i].parent : "-");
		}
		shown++;
	}
	if (a->out == NC_OUT_JSON) {
		struct json_object *doc = nc_json_doc(1);

		nc_json_set(doc, "backups", jlist);
		nc_json_to_buf(&b, doc);
	}
	fwrite(b.buf, 1, b.len, stdout);
	nc_buf_release(&b);
	nc_backup_snapshots_free(v, n);
	nc_backup_close(r);
	return NC_EXIT_OK;
}

static int do_check(const struct nc_spec *spec, const struct bk_args *a)
{
	const struct nc_backup *s = find_schedule(spec, a->schedule, "backup check");
	struct nc_backup_check_opts co = { a->read_data };
	struct nc_backup_check_report rep;
	struct nc_backup_repo *r;
	struct nc_err err;
	size_t i;
	int rc;

	if (!s)
		return NC_EXIT_ERROR;
	if (nc_schedule_repo_open(&r, s, false, &err) < 0 || nc_backup_check(&rep, r, &co, &err) < 0) {
		fprintf(stderr, "novacron backup check: %s\n", err.msg);
		return NC_EXIT_ERROR;
	}
	for (i = 0; i < rep.nproblems; i++)
		printf("problem: %s\n", rep.problems[i]);
	printf("check%s: %zu backups (%zu bad), %zu chunks referenced, %zu missing, %zu corrupt, %zu unreferenced\n",
	       a->read_data ? " --read-data" : "", rep.snapshots, rep.snapshots_bad, rep.chunks_referenced,
	       rep.chunks_missing, rep.chunks_corrupt, rep.chunks_unreferenced);
	rc = rep.snapshots_bad || rep.chunks_missing || rep.chunks_corrupt ? NC_EXIT_ERROR : NC_EXIT_OK;
	if (rc == NC_EXIT_OK)
		printf("repository is consistent%s\n",
		       rep.chunks_unreferenced ? " (unreferenced chunks from interrupted backups: prune deletes them)" : "");
	nc_backup_check_report_release(&rep);
	nc_backup_close(r);
	return rc;
}

static int do_prune(const struct nc_spec *spec, const struct bk_args *a)
{
	const struct nc_backup *s = find_schedule(spec, a->schedule, "backup prune");
	struct nc_backup_retention ret;
	struct nc_backup_prune_report p;
	struct nc_backup_repo *r;
	struct nc_err err;

	if (!s)
		return NC_EXIT_ERROR;
	if (!has_retention(s, &ret)) {
		fprintf(stderr, "novacron backup prune: BackupSchedule %s has no retention (keepLast, keepDaily, ...)\n",
			s->obj.meta.name.v);
		return NC_EXIT_ERROR;
	}
	if (nc_schedule_repo_open(&r, s, false, &err) < 0 || nc_backup_prune(&p, r, &ret, a->dry_run, &err) < 0) {
		fprintf(stderr, "novacron backup prune: %s\n", err.msg);
		return NC_EXIT_ERROR;
	}
	print_prune(&p, a->dry_run);
	nc_backup_prune_report_release(&p);
	nc_backup_close(r);
	return NC_EXIT_OK;
}

static int do_restore(const struct nc_spec *spec, const struct bk_args *a)
{
	const struct nc_vm *vm;
	const struct nc_backup *s;
	const char *sname;
	struct nc_observe_opts oo;
	struct nc_err err;

	if (a->nnames != 1 || !a->backup) {
		nc_cmd_usage_error(&nc_doc_restore);
		return NC_EXIT_ERROR;
	}
	if (!(vm = (const struct nc_vm *)nc_spec_find(spec, NC_KIND_VM, a->names[0]))) {
		fprintf(stderr, "novacron restore: no VM named '%s' in the spec\n", a->names[0]);
		return NC_EXIT_ERROR;
	}
	sname = a->schedule ? a->schedule : vm->spec.restore.schedule.v;
	if (sname) {
		if (!(s = find_schedule(spec, sname, "restore")))
			return NC_EXIT_ERROR;
	} else if (!(s = nc_vm_schedule(spec, vm))) {
		fprintf(stderr, "novacron restore: no BackupSchedule covers VM '%s': give --schedule NAME\n", a->names[0]);
		return NC_EXIT_ERROR;
	}
	memset(&oo, 0, sizeof(oo));
	oo.state_dir = a->state_dir;
	oo.connections = &a->cfg.connections;
	if (nc_restore_vm(spec, vm, s, a->backup, a->as, a->host, &oo, stdout, stderr, &err) < 0) {
		fprintf(stderr, "novacron restore: %s\n", err.msg);
		return NC_EXIT_ERROR;
	}
	return NC_EXIT_OK;
}

enum { OPT_SCHEDULE = NC_OPT_LONG_ONLY, OPT_VM, OPT_BACKUP, OPT_AS, OPT_HOST, OPT_STATE_DIR, OPT_CONFIG,
	OPT_READ_DATA, OPT_DRY_RUN, OPT_SNAPSHOT };

#define BK_COMMON_OPTS \
	{ "state-dir", OPT_STATE_DIR, "DIR", "where the record of hosts is kept (default as plan's)", NC_COMP_DIR, NULL }, \
	{ "config", OPT_CONFIG, "FILE", "the operator's configuration: how to reach the hosts, and the spec's " \
	  "source when no PATH is given (default $NOVACRON_CONFIG)", NC_COMP_FILE, NULL }, \
	{ "help", 'h', NULL, "show this help", NC_COMP_NONE, NULL }

static const struct nc_opt backup_opts[] = {
	{ "schedule", OPT_SCHEDULE, "NAME", "the BackupSchedule: its VMs (run), its repository (list, check, "
	  "prune) and its retention", NC_COMP_NONE, NULL },
	{ "vm", OPT_VM, "VM", "list: only this VM's backups", NC_COMP_VM, NULL },
	{ "snapshot", OPT_SNAPSHOT, "NAME", "run: back the named VMs up as they were in their snapshot NAME "
	  "(qcow2 disks; a full backup; docs/storage.md)", NC_COMP_NONE, NULL },
	{ "output", 'o', "FORMAT", "list: text (default) or json", NC_COMP_WORDS, "text json" },
	{ "read-data", OPT_READ_DATA, NULL, "check: also read every chunk and verify its hash (slow)", NC_COMP_NONE, NULL },
	{ "dry-run", OPT_DRY_RUN, NULL, "prune: say what would be removed, remove nothing", NC_COMP_NONE, NULL },
	BK_COMMON_OPTS,
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const struct nc_opt restore_opts[] = {
	{ "backup", OPT_BACKUP, "ID", "the backup to restore, its id as `backup list` shows it; required", NC_COMP_NONE, NULL },
	{ "as", OPT_AS, "NEWNAME", "restore into a new VM of this name beside the original, instead of "
	  "overwriting its disks", NC_COMP_NONE, NULL },
	{ "schedule", OPT_SCHEDULE, "NAME", "the BackupSchedule whose repository holds the backup (default the "
	  "VM's restore.schedule, or the schedule covering it)", NC_COMP_NONE, NULL },
	{ "host", OPT_HOST, "HOST", "the host to restore on when the VM has no domain on any host", NC_COMP_HOST, NULL },
	BK_COMMON_OPTS,
	{ NULL, 0, NULL, NULL, NC_COMP_NONE, NULL },
};

static const char *const backup_examples[] = {
	"back two VMs up now",
	"novacron backup run web-1 db-1 clusters/prod",
	"back web-1 up as it was in its snapshot before-upgrade",
	"novacron backup run web-1 --snapshot before-upgrade clusters/prod",
	"list the nightly schedule's backups of one VM, as JSON",
	"novacron backup list --schedule nightly --vm db-1 --output json clusters/prod",
	"verify the repository's every chunk, then see what retention would remove",
	"novacron backup check --schedule nightly --read-data && novacron backup prune --schedule nightly --dry-run",
	NULL,
};

static const char *const restore_examples[] = {
	"put a stopped VM's disks back as they were in a backup",
	"novacron restore db-1 --backup 3f2a9c clusters/prod",
	"restore into a new VM db-1-copy beside the original, on host kvm2",
	"novacron restore db-1 --backup 3f2a9c --as db-1-copy --host kvm2 clusters/prod",
	NULL,
};

const struct nc_cmd_doc nc_doc_backup = {
	"backup",
	"backup run VM... [--snapshot NAME] | --schedule NAME [PATH...] [OPTIONS]\n"
	"backup list --schedule NAME [--vm VM] [--output text|json] [PATH...]\n"
	"backup check --schedule NAME [--read-data] [PATH...]\n"
	"backup prune --schedule NAME [--dry-run] [PATH...]",
	"back VMs up now, list backups, verify a repository, apply retention (docs/backup.md)",
	"run backs the named VMs (or a schedule's VMs) up now, at a consistent point and incrementally when "
	"it can; with --schedule it then prunes by the schedule's retention. list shows a schedule's "
	"backups, check verifies its repository (exit 1 on a problem), prune applies its retention.\n\n"
	"The spec comes from the PATHs, else from the configuration's source (never a blind \".\"). "
	"The repository is the schedule's target.",
	backup_opts, backup_examples, NC_COMP_VM, "run list check prune",
};

const struct nc_cmd_doc nc_doc_restore = {
	"restore", "restore VM --backup ID [--as NEWNAME] [--schedule NAME] [--host HOST] [PATH...] [OPTIONS]",
	"write a backup back into a VM's disks, or into a new VM beside it",
	"Finds the backup in the repository of --schedule, the VM's restore.schedule or the schedule "
	"covering the VM, and writes it back into the VM's disks, or with --as into a new VM beside it. "
	"The spec comes from the PATHs, else from the configuration's source.",
	restore_opts, restore_examples, NC_COMP_VM, NULL,
};

static int parse(struct bk_args *a, const char *cmd, int argc, char **argv, bool names_are_vms,
		 const struct nc_opt *table)
{
	struct nc_getopt g;
	char **paths;
	size_t np = 0;
	int ch, i;

	nc_getopt_init(&g, table, NULL);
	while ((ch = nc_getopt_next(&g, argc, argv)) != -1) {
		switch (ch) {
		case OPT_SCHEDULE: a->schedule = optarg; break;
		case OPT_VM: a->vm = optarg; break;
		case OPT_BACKUP: a->backup = optarg; break;
		case OPT_AS: a->as = optarg; break;
		case OPT_HOST: a->host = optarg; break;
		case OPT_STATE_DIR: a->state_dir = optarg; break;
		case OPT_CONFIG: a->config_file = optarg; break;
		case OPT_READ_DATA: a->read_data = true; break;
		case OPT_DRY_RUN: a->dry_run = true; break;
		case OPT_SNAPSHOT: a->snapshot = optarg; break;
		case 'o':
			if (nc_cli_output(optarg, 1u << NC_OUT_TEXT | 1u << NC_OUT_JSON, &a->out) < 0) {
				fprintf(stderr, "novacron %s: --output must be text or json\n", cmd);
				nc_getopt_release(&g);
				return -2;
			}
			break;
		case 'h':
			nc_getopt_release(&g);
			return 1;
		default:
			nc_getopt_release(&g);
			return -1;
		}
	}
	nc_getopt_release(&g);
	/* positional: spec paths are existing files or directories; the rest are VM names */
	paths = nc_xcalloc((size_t)(argc - optind) + 1, sizeof(*paths));
	a->names = nc_xcalloc((size_t)(argc - optind) + 1, sizeof(*a->names));
	for (i = optind; i < argc; i++) {
		if (names_are_vms && access(argv[i], F_OK) != 0)
			a->names[a->nnames++] = argv[i];
		else
			paths[np++] = argv[i];
	}
	a->paths = (const char *const *)paths;
	a->npaths = np;
	if (!a->state_dir) {
		char *argv0[] = { (char *)cmd, NULL };

		nc_pass_parse(&a->pa, cmd, 1, argv0, false);
		a->state_dir = a->pa.state_dir;
	}
	return 0;
}

int cmd_backup(int argc, char **argv)
{
	struct bk_args a;
	struct nc_spec *spec = NULL;
	const char *sub = argc > 1 ? argv[1] : NULL;
	int rc, ret = NC_EXIT_ERROR;

	memset(&a, 0, sizeof(a));
	if (sub && (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)) {
		nc_cmd_help(stdout, &nc_doc_backup);
		return NC_EXIT_OK;
	}
	if (!sub) {
		nc_cmd_usage_error(&nc_doc_backup);
		return NC_EXIT_ERROR;
	}
	if (strcmp(sub, "run") && strcmp(sub, "list") && strcmp(sub, "check") && strcmp(sub, "prune")) {
		fprintf(stderr, "novacron backup: unknown subcommand '%s'\n", sub);
		nc_cmd_usage_error(&nc_doc_backup);
		return NC_EXIT_ERROR;
	}
	rc = parse(&a, sub, argc - 1, argv + 1, strcmp(sub, "run") == 0, backup_opts);
	if (rc) {
		if (rc > 0)
			nc_cmd_help(stdout, &nc_doc_backup);
		else if (rc == -1)
			nc_cmd_usage_error(&nc_doc_backup);
		ret = rc > 0 ? NC_EXIT_OK : NC_EXIT_ERROR;
		goto out;
	}
	if (nc_cli_config_load(&a.cfg, "backup", a.config_file) < 0 ||
	    nc_cli_spec_load(&spec, &a.cfg, "backup", a.paths, a.npaths) < 0 ||
	    nc_cli_check_paths(&a.cfg, spec, "backup") < 0)
		goto out;
	if (strcmp(sub, "run") == 0)
		ret = do_run(spec, &a);
	else if (strcmp(sub, "list") == 0)
		ret = do_list(spec, &a);
	else if (strcmp(sub, "check") == 0)
		ret = do_check(spec, &a);
	else
		ret = do_prune(spec, &a);
out:
	nc_spec_free(spec);
	nc_cli_config_release(&a.cfg);
	free((void *)a.paths);
	free(a.names);
	nc_pass_args_release(&a.pa);
	return ret;
}

int cmd_restore(int argc, char **argv)
{
	struct bk_args a;
	struct nc_spec *spec = NULL;
	int rc, ret = NC_EXIT_ERROR;

	memset(&a, 0, sizeof(a));
	rc = parse(&a, "restore", argc, argv, true, restore_opts);
	if (rc) {
		if (rc > 0)
			nc_cmd_help(stdout, &nc_doc_restore);
		else if (rc == -1)
			nc_cmd_usage_error(&nc_doc_restore);
		ret = rc > 0 ? NC_EXIT_OK : NC_EXIT_ERROR;
		goto out;
	}
	if (nc_cli_config_load(&a.cfg, "restore", a.config_file) == 0 &&
	    nc_cli_spec_load(&spec, &a.cfg, "restore", a.paths, a.npaths) == 0 &&
	    nc_cli_check_paths(&a.cfg, spec, "restore") == 0)
		ret = do_restore(spec, &a);
out:
	nc_spec_free(spec);
	nc_cli_config_release(&a.cfg);
	free((void *)a.paths);
	free(a.names);
	nc_pass_args_release(&a.pa);
	return ret;
}
