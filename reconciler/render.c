/*
 * render.c - a plan for people (text, like Terraform's), for pull requests
 * (Markdown) and for programs (JSON built with json-c, documented in docs/json.md).
 *
 * Output depends only on the plan and the cluster: no times, no addresses,
 * so the same inputs render byte for byte the same.
 */
#include "pass.h"
#include "ha.h"
#include "jsonout.h"
#include "../drivers/network/network.h"
#include "../spec/tenant.h"
#include "annotations.h"
#include "migtune.h"
#include "clusters.h"
#include "xmigrate.h"

#include <stdlib.h>
#include <string.h>

/*
 * Text that comes from libvirt (domain and network names, a domain's
 * metadata and values, a host's errors) is untrusted: the text output shows
 * it through nc_ctl_escape, Markdown through md_escape/md_code/html_code,
 * so a name cannot carry a terminal escape sequence or markup.
 */
#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_RED "\033[31m"
#define C_CYAN "\033[36m"

/* untrusted text, its control characters escaped (nc_ctl_escape) */
static void add_esc(struct nc_buf *out, const char *s)
{
	char *e = nc_ctl_escape(s ? s : "?");

	nc_buf_adds(out, e);
	free(e);
}

static const char *symbol(enum nc_action_kind k)
{
	switch (k) {
	case NC_ACT_CREATE: return "+";
	case NC_ACT_UPLOAD: return "+";
	case NC_ACT_RECOVER: return "+";
	case NC_ACT_DELETE: return "-";
	default: return "~";
	}
}

static const char *sym_color(enum nc_action_kind k)
{
	switch (k) {
	case NC_ACT_CREATE: return C_GREEN;
	case NC_ACT_UPLOAD: return C_GREEN;
	case NC_ACT_RECOVER: return C_GREEN;
	case NC_ACT_DELETE: return C_RED;
	default: return C_YELLOW;
	}
}

/* "replace" for an update --replace asked for, else the kind's name */
static const char *act_name(const struct nc_action *a)
{
	return a->replace ? "replace" : nc_action_name(a->kind);
}

static const char *host_name(const struct nc_cluster *c, size_t i)
{
	return c->hosts[i].spec->obj.meta.name.v;
}

/* the hosts that could not be read, declared or not: "kvm3, kvm9" */
static void unreachable_names(const struct nc_cluster *c, struct nc_buf *out)
{
	size_t i, n = 0;

	for (i = 0; i < c->nhosts; i++)
		if (c->hosts[i].status != NC_HOST_OK)
			nc_buf_addf(out, "%s%s", n++ ? ", " : "", host_name(c, i));
	for (i = 0; i < c->ngone; i++)
		if (c->gone[i].status != NC_HOST_OK)
			nc_buf_addf(out, "%s%s (not declared)", n++ ? ", " : "", c->gone[i].name);
}

/* why the plan does not make the cluster match the spec, one sentence each */
static void incomplete_lines(const struct nc_plan *p, const struct nc_cluster *c, const char *b,
			     const char *r, struct nc_buf *out)
{
	if (p->unreachable) {
		nc_buf_addf(out, "%sPartial plan:%s %zu host%s could not be read (", b, r, p->unreachable,
			    p->unreachable == 1 ? "" : "s");
		unreachable_names(c, out);
		nc_buf_addf(out, "): what %s is unknown, so the cluster may not match the spec.\n",
			    p->unreachable == 1 ? "it holds" : "they hold");
	}
	if (p->blocked)
		nc_buf_addf(out, "%zu VM%s not created: %s may run on a host that is not declared or cannot be "
				 "read (see the warnings).\n", p->blocked, p->blocked == 1 ? " is" : "s are",
			    p->blocked == 1 ? "it" : "they");
}

/* 1.2 GiB: one decimal, binary units (the exact byte count is in JSON) */
static void human_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double x = (double)v;
	size_t i = 0;

	if (v < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)v);
		return;
	}
	x /= 1024;
	while (i + 1 < sizeof(units) / sizeof(units[0]) && x >= 1024) {
		x /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", x, units[i]);
}

void nc_migrate_mode(const struct nc_action *a, char *buf, size_t len)
{
	char sz[32];

	if (a->xmove) {
		nc_xmove_describe(a->xmove, buf, len);
		return;
	}
	if (a->live || !a->copy_vols) {
		snprintf(buf, len, "%s", a->live ? "live" : "cold");
		return;
	}
	human_bytes(a->copy_bytes, sz, sizeof(sz));
	snprintf(buf, len, "cold, copies %zu volume%s, %s allocated", a->copy_vols,
		 a->copy_vols == 1 ? "" : "s", sz);
}

static size_t managed_count(const struct nc_observed_host *o)
{
	size_t i, n = 0;

	for (i = 0; i < o->ndoms; i++)
		n += o->doms[i].managed;
	return n;
}

static void summary_line(const struct nc_plan *p, struct nc_buf *out)
{
	nc_buf_addf(out, "%zu to create, %zu to update, %zu to delete, %zu to start, %zu to stop",
		    p->ncreate, p->nupdate, p->ndelete, p->nstart, p->nstop);
	if (p->nmigrate)
		nc_buf_addf(out, ", %zu to migrate", p->nmigrate);
	if (p->nupload)
		nc_buf_addf(out, ", %zu image%s to upload", p->nupload, p->nupload == 1 ? "" : "s");
	if (p->nrecover)
		nc_buf_addf(out, ", %zu to restart elsewhere", p->nrecover);
	if (p->nadopt)
		nc_buf_addf(out, ", %zu to adopt", p->nadopt);
	if (p->nmove_volume)
		nc_buf_addf(out, ", %zu VM%s with disks to move between tiers", p->nmove_volume,
			    p->nmove_volume == 1 ? "" : "s");
}

static void def_line(const struct nc_domain_def *d, struct nc_buf *out)
{
	char mem[32], sz[32];
	size_t i;

	nc_size_format(d->memory, mem, sizeof(mem));
	nc_buf_addf(out, "%u vCPU%s, %s memory", d->vcpus, d->vcpus == 1 ? "" : "s", mem);
	if (d->machine)
		nc_buf_addf(out, ", machine %s", d->machine);
	for (i = 0; i < d->ndisks; i++) {
		nc_size_format(d->disks[i].size, sz, sizeof(sz));
		nc_buf_addf(out, "%s%s %s %s", i ? ", " : "; disks: ", d->disks[i].name,
			    d->disks[i].target, d->disks[i].size ? sz : "(image size)");
	}
	for (i = 0; i < d->nnics; i++)
		nc_buf_addf(out, "%s%s %s %s", i ? ", " : "; nics: ", d->nics[i].name,
			    d->nics[i].source, d->nics[i].mac);
	if (d->seed)
		nc_buf_addf(out, "; cloud-init seed %s (%s, user-data sha256 %.12s, instance-id %s)",
			    d->seed->target, d->seed->volume, d->seed->user_data_sha, d->seed->instance_id);
}

/* "nat, 10.0.0.1/24, DHCP 10.0.0.2-10.0.0.254, 2 static leases, autostart" */
static void net_line(const struct nc_net_def *d, struct nc_buf *out)
{
	nc_buf_adds(out, d->forward ? d->forward : "isolated");
	if (d->bridge)
		nc_buf_addf(out, ", bridge %s", d->bridge);
	if (d->ip4)
		nc_buf_addf(out, ", %s/%u", d->ip4, d->prefix4);
	if (d->ip6)
		nc_buf_addf(out, ", %s/%u", d->ip6, d->prefix6);
	if (d->dhcp)
		nc_buf_addf(out, ", DHCP %s-%s", d->dhcp_start ? d->dhcp_start : "?", d->dhcp_end ? d->dhcp_end : "?");
	if (d->nleases)
		nc_buf_addf(out, ", %zu static lease%s", d->nleases, d->nleases == 1 ? "" : "s");
	if (d->ndns)
		nc_buf_addf(out, ", %zu DNS name%s", d->ndns, d->ndns == 1 ? "" : "s");
	nc_buf_adds(out, d->autostart ? ", autostart" : ", no autostart");
}

/* the plan adopts this unmanaged domain (docs/adopt.md) */
static bool adopted(const struct nc_plan *p, size_t host, const char *dom)
{
	size_t i;

	for (i = 0; i < p->nactions; i++)
		if (p->actions[i].kind == NC_ACT_ADOPT && p->actions[i].host == host &&
		    strcmp(p->actions[i].vm, dom) == 0)
			return true;
	return false;
}

/* unmanaged libvirt networks, "kvm1/default kvm2/default" */
static void unmanaged_nets(const struct nc_cluster *c, const char *sep, struct nc_buf *out)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->nhosts; i++)
		for (j = 0; c->hosts[i].status == NC_HOST_OK && j < c->hosts[i].obs.nnets; j++)
			if (!c->hosts[i].obs.nets[j].managed)
			{
				nc_buf_addf(out, "%s%s/", n++ ? sep : "", host_name(c, i));
				add_esc(out, c->hosts[i].obs.nets[j].cfg.name);
			}
}

static const char *note_word(enum nc_note_kind k)
{
	return k == NC_NOTE_ERROR ? "error" : k == NC_NOTE_WARNING ? "warning" : "note";
}

void nc_plan_render_text(const struct nc_plan *p, const struct nc_cluster *c,
			 const struct nc_render_opts *o, struct nc_buf *out)
{
	const char *b = o->color ? C_BOLD : "", *r = o->color ? C_RESET : "";
	size_t i, j;

	nc_buf_addf(out, "%sHosts%s\n", b, r);
	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];

		if (v->status == NC_HOST_OK) {
			char mem[32];

			nc_size_format(v->obs.node.memory, mem, sizeof(mem));
			nc_buf_addf(out, "  %-12s %-24s ok, %u CPUs, %s, %zu domain%s%s%s\n", host_name(c, i),
				    v->spec->spec.uri.v, v->obs.node.cpus, mem, v->obs.ndoms,
				    v->obs.ndoms == 1 ? "" : "s",
				    v->spec->spec.maintenance.v ? ", maintenance" : "",
				    v->obs.ndegraded ? ", degraded (a netfs pool cannot be read)" : "");
		} else {
			nc_buf_addf(out, "  %-12s %-24s %sunreachable%s: ", host_name(c, i),
				    v->spec->spec.uri.v, o->color ? C_RED : "", r);
			add_esc(out, v->error);
			nc_buf_addc(out, '\n');
		}
	}
	for (i = 0; i < c->ngone; i++) {
		const struct nc_gone_host *g = &c->gone[i];

		if (g->status == NC_HOST_OK) {
			nc_buf_addf(out, "  %-12s %-24s %snot declared%s, ok, %zu managed domain%s\n", g->name, g->uri,
				    o->color ? C_YELLOW : "", r, managed_count(&g->obs),
				    managed_count(&g->obs) == 1 ? "" : "s");
		} else {
			nc_buf_addf(out, "  %-12s %-24s %snot declared, unreachable%s: ", g->name, g->uri,
				    o->color ? C_RED : "", r);
			add_esc(out, g->error);
			nc_buf_addc(out, '\n');
		}
	}
	nc_buf_addc(out, '\n');

	if (p->nactions) {
		nc_buf_addf(out, "%sActions%s\n", b, r);
		for (i = 0; i < p->nactions; i++) {
			const struct nc_action *a = &p->actions[i];

			char mode[256], *vm;

			if (nc_plan_cluster_starts(p, i))   /* clusters.h: grouped by cluster */
				nc_buf_addf(out, "  %sCluster %s%s\n", b, a->cluster ? a->cluster : "(none)", r);
			vm = nc_ctl_escape(a->vm);

			nc_migrate_mode(a, mode, sizeof(mode));
			if (a->kind == NC_ACT_MIGRATE)
				nc_buf_addf(out, "  %s%s%s %s%s%s: migrate %s -> %s (%s)", o->color ? sym_color(a->kind) : "",
					    symbol(a->kind), r, b, vm, r, host_name(c, a->host),
					    host_name(c, a->target), mode);
			else
				nc_buf_addf(out, "  %s%s%s %s%s%s%s%s: %s on %s", o->color ? sym_color(a->kind) : "",
					    symbol(a->kind), r, b, a->obj ? nc_object_kind_name(a->obj) : "",
					    a->obj ? " " : "", vm, r, act_name(a),
					    host_name(c, a->host));
			free(vm);
			if (a->pool)
				nc_buf_addf(out, " into pool %s", a->pool);
			if (a->kind == NC_ACT_ADOPT && a->nchanges) {
				/* "(changes after adoption: memory 2 GiB -> 4 GiB)" */
				for (j = 0; j < a->nchanges; j++) {
					nc_buf_addf(out, "%s%s ", j ? ", " : " (changes after adoption: ", a->changes[j].field);
					add_esc(out, a->changes[j].from);
					nc_buf_adds(out, " -> ");
					add_esc(out, a->changes[j].to);
				}
				nc_buf_addc(out, ')');
			}
			if (a->replace)
				nc_buf_adds(out, " (stop, undefine, define anew, start; disks kept)");
			else if (a->restart)
				nc_buf_adds(out, " (with restart)");
			else if (a->start_after && a->kind != NC_ACT_START)
				nc_buf_adds(out, ", then start");
			nc_buf_adds(out, "\n      why: ");
			add_esc(out, a->reason);
			nc_buf_addc(out, '\n');
			if (a->placement) {
				nc_buf_adds(out, "      placement: ");
				add_esc(out, a->placement);
				nc_buf_addc(out, '\n');
			}
			if (a->xmove) {
				nc_buf_adds(out, "      bytes: ");
				add_esc(out, a->xmove->basis);
				nc_buf_addc(out, '\n');
			}
			if (a->kind == NC_ACT_MIGRATE && a->live && a->tune_set) {
				nc_buf_adds(out, "      tuning: ");
				nc_migtune_describe(&a->tune, out);
				nc_buf_addc(out, '\n');
			}
			if ((a->kind == NC_ACT_CREATE || a->kind == NC_ACT_RECOVER) && a->desired) {
				nc_buf_adds(out, "      ");
				def_line(&a->desired->def, out);
				nc_buf_addc(out, '\n');
			}
			if (a->kind == NC_ACT_CREATE && a->net) {
				nc_buf_adds(out, "      ");
				net_line(a->net->def, out);
				nc_buf_addc(out, '\n');
			}
			for (j = 0; j < a->nchanges; j++) {
				const struct nc_change *ch = &a->changes[j];

				nc_buf_addf(out, "      %s~%s %s: ", o->color ? C_YELLOW : "", r, ch->field);
				add_esc(out, ch->from);
				nc_buf_adds(out, " -> ");
				add_esc(out, ch->to);
				nc_buf_addf(out, "%s\n", ch->restart ? " (restart)" : "");
			}
			if (a->ordered && (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_START || a->kind == NC_ACT_UPDATE)) {
				nc_buf_addf(out, "      order: wave %d", a->wave);
				for (j = 0; j < a->ndeps; j++)
					nc_buf_addf(out, "%s%s", j ? ", " : ", after ", a->deps[j]);
				nc_buf_addc(out, '\n');
			}
			if (a->nafter) {
				nc_buf_adds(out, "      after:");
				for (j = 0; j < a->nafter; j++)
					nc_buf_addf(out, " #%d", a->after[j]);
				nc_buf_addc(out, '\n');
			}
		}
		nc_buf_addc(out, '\n');
	}
	for (i = 0; i < p->nnotes; i++) {
		const struct nc_note *n = &p->notes[i];
		const char *col = !o->color ? "" : n->kind == NC_NOTE_ERROR ? C_RED :
						   n->kind == NC_NOTE_WARNING ? C_YELLOW : C_CYAN;

		nc_buf_addf(out, "%s%s:%s ", col, note_word(n->kind), r);
		add_esc(out, n->text);
		nc_buf_addc(out, '\n');
	}
	if (p->unmanaged) {
		nc_buf_addf(out, "unmanaged (never touched):");
		for (i = 0; i < c->nhosts; i++)
			for (j = 0; j < c->hosts[i].obs.ndoms; j++)
				if (!c->hosts[i].obs.doms[j].managed && !adopted(p, i, c->hosts[i].obs.doms[j].name)) {
					nc_buf_addf(out, " %s/", host_name(c, i));
					add_esc(out, c->hosts[i].obs.doms[j].name);
				}
		nc_buf_addc(out, '\n');
	}
	if (p->unmanaged_nets) {
		nc_buf_addf(out, "unmanaged networks (never touched): ");
		unmanaged_nets(c, " ", out);
		nc_buf_addc(out, '\n');
	}
	if (p->nnotes || p->unmanaged || p->unmanaged_nets)
		nc_buf_addc(out, '\n');
	if (p->nmigrate)
		nc_buf_addf(out, "Imbalance score: %.4f now, %.4f after this plan (docs/placement.md).\n",
			    p->imbalance_before, p->imbalance_after);
	if (!p->refused)
		incomplete_lines(p, c, b, r, out);
	if (p->refused)
		nc_buf_addf(out, "%sPlan refused:%s ", b, r);
	else if (nc_plan_empty(p) && !nc_plan_incomplete(p) && p->errors)
		nc_buf_addf(out, "%sNo changes%s can be planned while the errors above remain.\n", b, r);
	else if (nc_plan_empty(p) && !nc_plan_incomplete(p) && p->scoped)
		nc_buf_addf(out, "%sNo changes%s for the targeted VMs (the others were not looked at).\n", b, r);
	else if (nc_plan_empty(p) && !nc_plan_incomplete(p) && (p->suspended || p->ignored))
		nc_buf_addf(out, "%sNo changes.%s The cluster matches the spec but for what is ignored or "
			    "suspended above.\n", b, r);
	else if (nc_plan_empty(p) && !nc_plan_incomplete(p))
		nc_buf_addf(out, "%sNo changes.%s The cluster matches the spec.\n", b, r);
	if (!nc_plan_empty(p) || p->refused || nc_plan_incomplete(p)) {
		if (!p->refused)
			nc_buf_addf(out, "%sPlan:%s ", b, r);
		summary_line(p, out);
		nc_buf_adds(out, ".\n");
	}
	nc_tenant_usage_text(p->spec, out);   /* nothing without Tenants */
	nc_plan_clusters_text(p, o->plan_opts, out);   /* nothing without Clusters */
}

static void md_escape(struct nc_buf *out, const char *s)
{
	/* markup, and the control characters a terminal would act on (show -o markdown) */
	static const char stop[] = "|*_`<>[]\\\n\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0b\x0c\x0d\x0e\x0f"
				   "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f";

	while (*s) {
		size_t n = strcspn(s, stop);   /* runs of plain text at once: 100,000 rows */
		unsigned char ch;

		nc_buf_add(out, s, n);
		s += n;
		if (!*s)
			break;
		ch = (unsigned char)*s++;
		if (ch == '\n')
			nc_buf_addc(out, ' ');
		else if (ch < 0x20 || ch == 0x7f)
			nc_buf_addf(out, "\\x%02x", ch);   /* "\x1b": a backslash before a letter stays as it is */
		else {
			nc_buf_addc(out, '\\');
			nc_buf_addc(out, (char)ch);
		}
	}
}

/* s in HTML (<code> of a <summary>): &, <, >, " as entities, control characters as \xNN */
static void html_text(struct nc_buf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '&')
			nc_buf_adds(out, "&amp;");
		else if (ch == '<')
			nc_buf_adds(out, "&lt;");
		else if (ch == '>')
			nc_buf_adds(out, "&gt;");
		else if (ch == '"')
			nc_buf_adds(out, "&quot;");
		else if (ch < 0x20 || ch == 0x7f)
			nc_buf_addf(out, "\\x%02x", ch);
		else
			nc_buf_addc(out, (char)ch);
	}
}

/*
 * s as one inline code span: fenced by one more backtick than its longest
 * run of them (CommonMark), line breaks and other control characters shown
 * as \n and \xNN.  A spec value with a backtick or a blank line could
 * otherwise leave the span and write Markdown into a pull request's plan.
 */
static void md_code(struct nc_buf *out, const char *s)
{
	size_t run = 0, longest = 0, k;
	const char *q;

	for (q = s; *q; q++) {
		run = *q == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	for (k = 0; k <= longest; k++)
		nc_buf_addc(out, '`');
	if (longest)
		nc_buf_addc(out, ' ');
	for (q = s; *q; q++) {
		unsigned char ch = (unsigned char)*q;

		if (ch == '\n')
			nc_buf_adds(out, "\\n");
		else if (ch < 0x20 || ch == 0x7f)
			nc_buf_addf(out, "\\x%02x", ch);
		else
			nc_buf_addc(out, (char)ch);
	}
	if (longest)
		nc_buf_addc(out, ' ');
	for (k = 0; k <= longest; k++)
		nc_buf_addc(out, '`');
}

/* one row of the actions table, its line break included */
static void md_row(const struct nc_action *a, const struct nc_cluster *c, struct nc_buf *out)
{
	char mode[264];

	mode[0] = 0;
	if (a->restart)
		snprintf(mode, sizeof(mode), " (restart)");
	else if (a->kind == NC_ACT_MIGRATE) {
		char m[256];

		nc_migrate_mode(a, m, sizeof(m));
		snprintf(mode, sizeof(mode), " (%s)", m);
	}
	nc_buf_addf(out, "| %d | `%s` | %s%s", a->id, symbol(a->kind),
		    a->obj ? nc_object_kind_name(a->obj) : "", a->obj ? " " : "");
	{
		/* a domain's metadata for a delete: a code span, its | escaped for the table (GFM) */
		struct nc_buf t = NC_BUF_INIT;
		size_t k;

		md_code(&t, a->vm);
		for (k = 0; k < t.len; k++) {
			if (t.buf[k] == '|')
				nc_buf_addc(out, '\\');
			nc_buf_addc(out, t.buf[k]);
		}
		nc_buf_release(&t);
	}
	nc_buf_addf(out, " | %s%s | %s%s%s | ",
		    act_name(a), mode, host_name(c, a->host),
		    a->kind == NC_ACT_MIGRATE ? " → " : "",
		    a->kind == NC_ACT_MIGRATE ? host_name(c, a->target) : "");
	if (a->pool) {
		nc_buf_adds(out, "into pool ");
		md_escape(out, a->pool);
		nc_buf_adds(out, ": ");
	}
	md_escape(out, a->reason);
	if (a->placement) {
		nc_buf_adds(out, "; placement: ");
		md_escape(out, a->placement);
	}
	if (a->xmove) {
		nc_buf_adds(out, "; bytes: ");
		md_escape(out, a->xmove->basis);
	}
	if (a->kind == NC_ACT_MIGRATE && a->live && a->tune_set) {
		struct nc_buf t = NC_BUF_INIT;

		nc_migtune_describe(&a->tune, &t);
		nc_buf_adds(out, "; tuning: ");
		md_escape(out, t.buf);
		nc_buf_release(&t);
	}
	if (a->ordered && (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_START || a->kind == NC_ACT_UPDATE)) {
		size_t j;

		nc_buf_addf(out, "; wave %d", a->wave);
		for (j = 0; j < a->ndeps; j++) {
			nc_buf_adds(out, j ? ", " : ", after ");
			md_escape(out, a->deps[j]);
		}
	}
	nc_buf_adds(out, " |\n");
}

#define MD_TABLE_HEAD "| # | | VM | action | host | why |\n|---|---|---|---|---|---|\n"
#define MD_WARNING_MAX 4096   /* a bounded plan's warning (hosts that could not be read) */

/* the marker line, the title and the warning: what every plan starts with */
static void md_head(const struct nc_plan *p, const struct nc_cluster *c, const struct nc_render_opts *o,
		    size_t warning_max, struct nc_buf *out)
{
	nc_marker_line(out, o->marker);
	nc_buf_adds(out, "\n### NovaCron plan: ");
	if (p->refused)
		nc_buf_adds(out, "refused — ");
	else if (nc_plan_partial(p))
		nc_buf_adds(out, "partial — ");
	if (nc_plan_empty(p) && !nc_plan_incomplete(p))
		nc_buf_adds(out, p->scoped ? "no changes for the targeted VMs\n\n" : "no changes\n\n");
	else {
		summary_line(p, out);
		nc_buf_adds(out, "\n\n");
	}
	if (nc_plan_incomplete(p) && !p->refused) {
		struct nc_buf t = NC_BUF_INIT, e = NC_BUF_INIT;

		incomplete_lines(p, c, "", "", &t);
		md_escape(&e, t.buf);
		if (warning_max && e.len > warning_max) {
			size_t n = warning_max;

			while (n && ((unsigned char)e.buf[n] & 0xc0) == 0x80)
				n--;   /* whole UTF-8 characters */
			while (n && e.buf[n - 1] == '\\')
				n--;   /* never half an escape */
			e.len = n;
			e.buf[n] = '\0';
			nc_buf_adds(&e, "…");
		}
		nc_buf_adds(out, "> **warning:** ");
		nc_buf_add(out, e.buf, e.len);
		nc_buf_adds(out, "\n\n");
		nc_buf_release(&t);
		nc_buf_release(&e);
	}
}

static void md_full(const struct nc_plan *p, const struct nc_cluster *c, const struct nc_render_opts *o,
		    struct nc_buf *out)
{
	size_t i, j;

	md_head(p, c, o, 0, out);
	if (p->nactions) {
		if (!nc_plan_cluster_starts(p, 0))
			nc_buf_adds(out, MD_TABLE_HEAD);
		for (i = 0; i < p->nactions; i++) {
			if (nc_plan_cluster_starts(p, i))   /* clusters.h: one table per cluster */
				nc_buf_addf(out, "%s**Cluster `%s`**\n\n" MD_TABLE_HEAD, i ? "\n" : "",
					    p->actions[i].cluster ? p->actions[i].cluster : "(none)");
			md_row(&p->actions[i], c, out);
		}
		nc_buf_addc(out, '\n');
		for (i = 0; i < p->nactions; i++) {
			const struct nc_action *a = &p->actions[i];

			if (!a->nchanges)
				continue;
			nc_buf_addf(out, "<details><summary>%s%s<code>", a->obj ? nc_object_kind_name(a->obj) : "",
				    a->obj ? " " : "");
			html_text(out, a->vm);
			nc_buf_addf(out, "</code> on %s: %zu change%s</summary>\n\n",
				    host_name(c, a->host), a->nchanges, a->nchanges == 1 ? "" : "s");
			for (j = 0; j < a->nchanges; j++) {
				nc_buf_adds(out, "- ");
				md_escape(out, a->changes[j].field);
				nc_buf_adds(out, ": ");
				md_code(out, a->changes[j].from);
				nc_buf_adds(out, " → ");
				md_code(out, a->changes[j].to);
				nc_buf_addf(out, "%s\n", a->changes[j].restart ? " (restart)" : "");
			}
			nc_buf_adds(out, "\n</details>\n\n");
		}
	}
	if (p->nnotes) {
		for (i = 0; i < p->nnotes; i++) {
			nc_buf_addf(out, "> **%s:** ", note_word(p->notes[i].kind));
			md_escape(out, p->notes[i].text);
			nc_buf_adds(out, "\n>\n");
		}
		out->len -= 2;     /* drop the last quote separator */
		out->buf[out->len] = '\0';
		nc_buf_addc(out, '\n');
	}
	if (p->unmanaged_nets) {
		struct nc_buf t = NC_BUF_INIT;

		unmanaged_nets(c, ", ", &t);
		nc_buf_adds(out, "Unmanaged networks (never touched): ");
		md_escape(out, t.buf);
		nc_buf_adds(out, "\n\n");
		nc_buf_release(&t);
	}
	nc_tenant_usage_markdown(p->spec, out);   /* nothing without Tenants */
	nc_plan_clusters_markdown(p, o->plan_opts, out);   /* nothing without Clusters */
	nc_buf_adds(out, "<details><summary>Hosts</summary>\n\n| host | URI | status | domains |\n|---|---|---|---|\n");
	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];

		nc_buf_addf(out, "| %s | `%s` | ", host_name(c, i), v->spec->spec.uri.v);
		if (v->status == NC_HOST_OK)
			nc_buf_addf(out, "ok%s | %zu |\n", v->spec->spec.maintenance.v ? ", maintenance" : "",
				    v->obs.ndoms);
		else {
			nc_buf_adds(out, "unreachable: ");
			md_escape(out, v->error);
			nc_buf_adds(out, " | |\n");
		}
	}
	for (i = 0; i < c->ngone; i++) {
		const struct nc_gone_host *g = &c->gone[i];

		nc_buf_adds(out, "| ");
		md_escape(out, g->name);
		nc_buf_adds(out, " | `");
		nc_buf_adds(out, g->uri);
		if (g->status == NC_HOST_OK) {
			nc_buf_addf(out, "` | not declared, ok | %zu |\n", g->obs.ndoms);
		} else {
			nc_buf_adds(out, "` | not declared, unreachable: ");
			md_escape(out, g->error);
			nc_buf_adds(out, " | |\n");
		}
	}
	nc_buf_adds(out, "\n</details>\n");
}

/*
 * A plan over o->max_bytes: the head, a table of counts, as many whole rows
 * of the actions table as fit, and a line saying what was left out and
 * where the whole plan is.  Notes, changes and hosts are in the full plan.
 */
static void md_bounded(const struct nc_plan *p, const struct nc_cluster *c, const struct nc_render_opts *o,
		       size_t full_len, struct nc_buf *out)
{
	struct nc_buf tail = NC_BUF_INIT, row = NC_BUF_INIT;
	size_t i, shown = 0, errors = 0, warnings = 0;

	md_head(p, c, o, MD_WARNING_MAX, out);
	nc_buf_addf(out, "| create | update | delete | start | stop | migrate | upload | restart elsewhere | notes |\n"
			 "|---|---|---|---|---|---|---|---|---|\n"
			 "| %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu |\n\n",
		    p->ncreate, p->nupdate, p->ndelete, p->nstart, p->nstop, p->nmigrate, p->nupload,
		    p->nrecover, p->nnotes);
	for (i = 0; i < p->nnotes; i++) {
		errors += p->notes[i].kind == NC_NOTE_ERROR;
		warnings += p->notes[i].kind == NC_NOTE_WARNING;
	}
	/* the tail is at most this long: the counts below have at most 20 digits each */
	nc_buf_addf(&tail, "\n... and %020zu more actions (%020zu bytes): the full plan is in the job's "
			   "artifacts (`novacron plan --output markdown --max-bytes 0`)\n", (size_t)0, (size_t)0);
	if (p->nnotes)
		nc_buf_addf(&tail, "\n%020zu notes (%020zu errors, %020zu warnings) are in the full plan.\n",
			    (size_t)0, (size_t)0, (size_t)0);
	if (p->nactions && out->len + strlen(MD_TABLE_HEAD) + tail.len < o->max_bytes) {
		nc_buf_adds(out, MD_TABLE_HEAD);
		for (i = 0; i < p->nactions; i++) {
			nc_buf_reset(&row);
			md_row(&p->actions[i], c, &row);
			if (out->len + row.len + tail.len > o->max_bytes)
				break;
			nc_buf_add(out, row.buf, row.len);
			shown++;
		}
	}
	if (shown < p->nactions)
		nc_buf_addf(out, "\n... and %zu more action%s (%zu bytes): the full plan is in the job's artifacts "
				 "(`novacron plan --output markdown --max-bytes 0`)\n", p->nactions - shown,
			    p->nactions - shown == 1 ? "" : "s", full_len);
	else
		nc_buf_addf(out, "\nThe changes of each action and the hosts do not fit (%zu bytes): the full plan is in "
				 "the job's artifacts (`novacron plan --output markdown --max-bytes 0`)\n", full_len);
	if (p->nnotes)
		nc_buf_addf(out, "\n%zu note%s (%zu error%s, %zu warning%s) %s in the full plan.\n", p->nnotes,
			    p->nnotes == 1 ? "" : "s", errors, errors == 1 ? "" : "s", warnings,
			    warnings == 1 ? "" : "s", p->nnotes == 1 ? "is" : "are");
	nc_buf_release(&row);
	nc_buf_release(&tail);
}

void nc_plan_render_markdown(const struct nc_plan *p, const struct nc_cluster *c,
			     const struct nc_render_opts *o, struct nc_buf *out)
{
	struct nc_buf full = NC_BUF_INIT;

	md_full(p, c, o, &full);
	if (!o->max_bytes || full.len <= o->max_bytes)
		nc_buf_add(out, full.buf, full.len);
	else
		md_bounded(p, c, o, full.len, out);
	nc_buf_release(&full);
}

#define JB json_object_new_boolean
#define JS nc_json_new_str

static struct json_object *tenants_json(const struct nc_spec *spec)
{
	struct nc_tenant_usage *u = NULL;
	size_t n = spec ? nc_tenant_usage(spec, &u) : 0, i;
	struct json_object *arr = json_object_new_array_ext((int)n);

	for (i = 0; i < n; i++) {
		const struct nc_tenant_quota *q = &u[i].tenant->spec.quota;
		struct json_object *t = json_object_new_object(), *quota = json_object_new_object();
		struct json_object *use = json_object_new_object();

		nc_json_set(t, "name", JS(u[i].tenant->obj.meta.name.v));
		nc_json_set(quota, "vms", NC_IS_SET(q->vms) ? json_object_new_int64(q->vms.v) : NULL);
		nc_json_set(quota, "vcpus", NC_IS_SET(q->vcpus) ? json_object_new_int64(q->vcpus.v) : NULL);
		nc_json_set(quota, "memory", NC_IS_SET(q->memory) ? nc_json_new_u64(q->memory.v) : NULL);
		nc_json_set(quota, "disk", NC_IS_SET(q->disk) ? nc_json_new_u64(q->disk.v) : NULL);
		nc_json_set(t, "quota", quota);
		nc_json_set(use, "vms", nc_json_new_u64(u[i].vms));
		nc_json_set(use, "vcpus", nc_json_new_u64(u[i].vcpus));
		nc_json_set(use, "memory", nc_json_new_u64(u[i].memory));
		nc_json_set(use, "disk", nc_json_new_u64(u[i].disk));
		nc_json_set(t, "usage", use);
		json_object_array_add(arr, t);
	}
	free(u);
	return arr;
}

static struct json_object *host_json(const struct nc_cluster *c, size_t i, const struct nc_render_opts *o)
{
	const struct nc_host_view *v = &c->hosts[i];
	struct json_object *h = json_object_new_object();
	const struct nc_ha_host *ha;

	nc_json_set(h, "name", JS(host_name(c, i)));
	nc_json_set(h, "uri", JS(v->spec->spec.uri.v));
	nc_json_set(h, "status", json_object_new_string(v->status == NC_HOST_OK ? "ok" : "unreachable"));
	nc_json_set(h, "maintenance", JB(v->spec->spec.maintenance.v));
	if (v->status == NC_HOST_OK) {
		nc_json_set(h, "cpus", json_object_new_int64(v->obs.node.cpus));
		nc_json_set(h, "memory", nc_json_new_u64(v->obs.node.memory));
		nc_json_set(h, "domains", nc_json_new_u64(v->obs.ndoms));
		if (v->obs.ndegraded)   /* netfs pools that cannot be read (reconciler/netfs.h) */
			nc_json_set(h, "degraded", nc_json_new_strv((const char *const *)v->obs.degraded,
								     v->obs.ndegraded));
	} else {
		nc_json_set(h, "error", JS(v->error));
		nc_json_set(h, "recorded_vms", nc_json_new_strv((const char *const *)v->recorded_vms, v->nrecorded));
	}
	if (o->plan_opts && o->plan_opts->ha && (ha = nc_ha_find(o->plan_opts->ha, host_name(c, i)))) {
		/* the HA record's entry (docs/ha.md), without its times: plans hold none */
		struct json_object *j = json_object_new_object();

		nc_json_set(j, "failed", JB(true));
		nc_json_set(j, "fenced", JB(ha->fenced));
		nc_json_set(j, "whole_host", JB(ha->whole_host));
		nc_json_set(j, "fenced_by", JS(ha->fenced_by));
		nc_json_set(j, "recovered", nc_json_new_strv((const char *const *)ha->recovered, ha->nrecovered));
		nc_json_set(h, "ha", j);
	}
	return h;
}

static struct json_object *gone_json(const struct nc_gone_host *g)
{
	struct json_object *h = json_object_new_object();
	size_t j;

	nc_json_set(h, "name", JS(g->name));
	nc_json_set(h, "uri", JS(g->uri));
	nc_json_set(h, "status", json_object_new_string(g->status == NC_HOST_OK ? "ok" : "unreachable"));
	if (g->status == NC_HOST_OK) {
		struct json_object *vms = json_object_new_array();

		for (j = 0; j < g->obs.ndoms; j++)
			if (g->obs.doms[j].managed && g->obs.doms[j].meta_vm)
				json_object_array_add(vms, JS(g->obs.doms[j].meta_vm));
		nc_json_set(h, "vms", vms);
	} else {
		nc_json_set(h, "error", JS(g->error));
		nc_json_set(h, "recorded_vms", nc_json_new_strv((const char *const *)g->vms, g->nvms));
	}
	return h;
}

static struct json_object *action_json(const struct nc_action *a, const struct nc_cluster *c)
{
	struct json_object *o = json_object_new_object(), *arr;
	size_t j;

	nc_json_set(o, "id", json_object_new_int(a->id));
	nc_json_set(o, "action", json_object_new_string(act_name(a)));
	nc_json_set(o, "vm", JS(a->vm));
	if (a->cluster)
		nc_json_set(o, "cluster", JS(a->cluster));
	if (a->stale)
		nc_json_set(o, "stale", JB(true));
	if (a->ha_restart)
		nc_json_set(o, "ha_restart", JB(true));
	if (a->kind == NC_ACT_RECOVER) {
		nc_json_set(o, "priority", json_object_new_int(a->priority));
		nc_json_set(o, "failed_hosts", nc_json_new_strv((const char *const *)a->failed_hosts, a->nfailed_hosts));
	}
	if (a->obj)
		nc_json_set(o, "object", json_object_new_string(nc_object_kind_name(a->obj)));
	if (a->pool)
		nc_json_set(o, "pool", JS(a->pool));
	nc_json_set(o, "host", JS(host_name(c, a->host)));
	nc_json_set(o, "reason", JS(a->reason));
	nc_json_set(o, "drift", JB(a->drift));
	nc_json_set(o, "restart", JB(a->restart));
	nc_json_set(o, "start_after", JB(a->start_after));
	if (a->kind == NC_ACT_MIGRATE) {
		nc_json_set(o, "target", JS(host_name(c, a->target)));
		nc_json_set(o, "live", JB(a->live));
		if (a->live)
			nc_json_set(o, "migration", nc_migtune_json(&a->tune));
		if (a->xmove) {
			const struct nc_xmove *x = a->xmove;
			struct json_object *xm = json_object_new_object();

			nc_json_set(xm, "from", JS(x->from_cluster));
			nc_json_set(xm, "to", JS(x->to_cluster));
			nc_json_set(xm, "method", JS(nc_xmove_method_name(x->method)));
			nc_json_set(xm, "why", JS(x->why));
			nc_json_set(xm, "incremental", JB(x->incremental));
			nc_json_set(xm, "stop_first", JB(x->stop_first));
			nc_json_set(xm, "bytes", nc_json_new_u64(x->bytes));
			nc_json_set(xm, "estimate", JB(x->estimate));
			nc_json_set(xm, "unknown", JB(x->unknown));
			nc_json_set(xm, "basis", JS(x->basis));
			nc_json_set(xm, "bandwidth", nc_json_new_u64(x->bandwidth));
			nc_json_set(xm, "default_bandwidth", JB(x->default_bandwidth));
			nc_json_set(xm, "seconds", nc_json_new_u64((uint64_t)(x->seconds + 0.999)));
			nc_json_set(o, "cluster_move", xm);
		} else if (!a->live) {
			struct json_object *cp = json_object_new_object();

			nc_json_set(cp, "volumes", nc_json_new_u64(a->copy_vols));
			nc_json_set(cp, "bytes", nc_json_new_u64(a->copy_bytes));
			nc_json_set(o, "copy", cp);
		}
		if (a->rebalance) {
			struct json_object *rb = json_object_new_object();

			nc_json_set(rb, "before", nc_json_new_fixed(a->score_before, 6));
			nc_json_set(rb, "after", nc_json_new_fixed(a->score_after, 6));
			nc_json_set(rb, "gain", nc_json_new_fixed(a->score_before - a->score_after, 6));
			nc_json_set(o, "rebalance", rb);
		}
	}
	if (a->kind == NC_ACT_MOVE_VOLUME) {
		struct json_object *cp = json_object_new_object();

		nc_json_set(o, "live", JB(a->live));
		nc_json_set(cp, "volumes", nc_json_new_u64(a->copy_vols));
		nc_json_set(cp, "bytes", nc_json_new_u64(a->copy_bytes));
		nc_json_set(o, "copy", cp);
	}
	if (a->placement)
		nc_json_set(o, "placement", JS(a->placement));
	if (a->desired && (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_RECOVER)) {
		const struct nc_domain_def *d = &a->desired->def;

		nc_json_set(o, "vcpus", json_object_new_int64(d->vcpus));
		nc_json_set(o, "memory", nc_json_new_u64(d->memory));
		nc_json_set(o, "hash", JS(a->desired->hash));
	}
	if (a->desired && a->desired->def.seed && (a->kind == NC_ACT_CREATE || a->seed_upload)) {
		const struct nc_seed_def *sd = a->desired->def.seed;
		struct json_object *ci = json_object_new_object();

		/* the seed this action writes: names and hashes, never the content */
		nc_json_set(ci, "volume", JS(sd->volume));
		nc_json_set(ci, "pool", JS(sd->pool));
		nc_json_set(ci, "target", JS(sd->target));
		nc_json_set(ci, "bus", JS(sd->bus));
		nc_json_set(ci, "instance_id", JS(sd->instance_id));
		nc_json_set(ci, "user_data_sha256", JS(sd->user_data_sha));
		nc_json_set(ci, "network_config_sha256", JS(sd->network_config_sha));
		nc_json_set(ci, "network_config_generated", JB(sd->network_generated));
		nc_json_set(o, "cloud_init", ci);
	}
	if (a->net && a->kind != NC_ACT_DELETE) {
		struct nc_buf t = NC_BUF_INIT;

		net_line(a->net->def, &t);
		nc_json_set(o, "definition", JS(t.buf));
		nc_json_set(o, "hash", JS(a->net->hash));
		nc_json_set(o, "live", JB(a->live_entries));
		nc_buf_release(&t);
	}
	if (a->obj == NC_OBJ_NETWORK && a->restart)
		nc_json_set(o, "affected_vms", nc_json_new_strv((const char *const *)a->affected, a->naffected));
	arr = json_object_new_array_ext((int)a->nchanges);
	for (j = 0; j < a->nchanges; j++) {
		struct json_object *ch = json_object_new_object();

		nc_json_set(ch, "field", JS(a->changes[j].field));
		nc_json_set(ch, "from", JS(a->changes[j].from));
		nc_json_set(ch, "to", JS(a->changes[j].to));
		nc_json_set(ch, "restart", JB(a->changes[j].restart));
		json_object_array_add(arr, ch);
	}
	nc_json_set(o, "changes", arr);
	if (a->ordered && (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_START || a->kind == NC_ACT_UPDATE)) {
		struct json_object *ord = json_object_new_object();

		nc_json_set(ord, "wave", json_object_new_int(a->wave));
		nc_json_set(ord, "depends_on", nc_json_new_strv((const char *const *)a->deps, a->ndeps));
		nc_json_set(o, "order", ord);
	}
	arr = json_object_new_array_ext((int)a->nafter);
	for (j = 0; j < a->nafter; j++)
		json_object_array_add(arr, json_object_new_int(a->after[j]));
	nc_json_set(o, "after", arr);
	return o;
}

/* the plan as JSON (docs/json.md "plan"), built with json-c */
void nc_plan_render_json(const struct nc_plan *p, const struct nc_cluster *c,
			 const struct nc_render_opts *o, struct nc_buf *out)
{
	struct json_object *doc = nc_json_doc(1), *in = json_object_new_object(), *sum = json_object_new_object();
	struct json_object *arr, *x;
	size_t i, j;

	nc_json_set(in, "paths", nc_json_new_strv(o->paths, o->npaths));
	nc_json_set(in, "state_dir", JS(o->state_dir));
	if (o->plan_opts) {
		nc_json_set(in, "prune", JB(o->plan_opts->prune));
		nc_json_set(in, "delete_threshold",
			    json_object_new_int64(o->plan_opts->delete_threshold ? o->plan_opts->delete_threshold : 25));
		nc_json_set(in, "allow_mass_delete", JB(o->plan_opts->allow_mass_delete));
	}
	nc_json_set(in, "commit", JS(o->plan_opts ? o->plan_opts->commit : NULL));
	/* the scope (docs/plan.md "Planning a subset"): only when given */
	if (o->plan_opts && (o->plan_opts->ntargets || o->plan_opts->selector || o->plan_opts->nreplace)) {
		nc_json_set(in, "targets", nc_json_new_strv((const char *const *)o->plan_opts->targets,
							    o->plan_opts->ntargets));
		nc_json_set(in, "replace", nc_json_new_strv((const char *const *)o->plan_opts->replace,
							    o->plan_opts->nreplace));
		if (o->plan_opts->selector)
			nc_json_set(in, "selector", JS(o->plan_opts->selector));
	}
	if (o->plan_opts && o->plan_opts->nclusters)   /* --cluster (clusters.h) */
		nc_json_set(in, "clusters", nc_json_new_strv((const char *const *)o->plan_opts->clusters,
							     o->plan_opts->nclusters));
	nc_json_set(doc, "inputs", in);

	nc_json_set(sum, "changes", JB(!nc_plan_empty(p)));
	nc_json_set(sum, "refused", JB(p->refused));
	nc_json_set(sum, "errors", nc_json_new_u64(p->errors));
	nc_json_set(sum, "create", nc_json_new_u64(p->ncreate));
	nc_json_set(sum, "update", nc_json_new_u64(p->nupdate));
	nc_json_set(sum, "delete", nc_json_new_u64(p->ndelete));
	nc_json_set(sum, "start", nc_json_new_u64(p->nstart));
	nc_json_set(sum, "stop", nc_json_new_u64(p->nstop));
	nc_json_set(sum, "migrate", nc_json_new_u64(p->nmigrate));
	nc_json_set(sum, "upload", nc_json_new_u64(p->nupload));
	nc_json_set(sum, "recover", nc_json_new_u64(p->nrecover));
	nc_json_set(sum, "adopt", nc_json_new_u64(p->nadopt));
	if (p->nmove_volume)   /* only when some: plans without tiers keep their shape */
		nc_json_set(sum, "move_volume", nc_json_new_u64(p->nmove_volume));
	nc_json_set(sum, "managed", nc_json_new_u64(p->managed));
	nc_json_set(sum, "unmanaged", nc_json_new_u64(p->unmanaged));
	arr = json_object_new_array_ext(2);
	json_object_array_add(arr, nc_json_new_fixed(p->imbalance_before, 6));
	json_object_array_add(arr, nc_json_new_fixed(p->imbalance_after, 6));
	nc_json_set(sum, "imbalance", arr);
	nc_json_set(sum, "partial", JB(nc_plan_partial(p)));
	nc_json_set(sum, "unreachable", nc_json_new_u64(p->unreachable));
	nc_json_set(sum, "blocked", nc_json_new_u64(p->blocked));
	if (p->scoped) {
		struct json_object *sc = json_object_new_object();

		nc_json_set(sc, "vms", nc_json_new_u64(p->scope_vms));
		nc_json_set(sc, "of", nc_json_new_u64(p->spec->nobjs[NC_KIND_VM]));
		nc_json_set(sum, "scope", sc);
	}
	if (p->suspended || p->ignored) {
		nc_json_set(sum, "suspended", nc_json_new_u64(p->suspended));
		nc_json_set(sum, "ignored", nc_json_new_u64(p->ignored));
	}
	nc_json_set(doc, "summary", sum);

	arr = json_object_new_array_ext((int)c->nhosts);
	for (i = 0; i < c->nhosts; i++)
		json_object_array_add(arr, host_json(c, i, o));
	nc_json_set(doc, "hosts", arr);
	arr = json_object_new_array_ext((int)c->ngone);
	for (i = 0; i < c->ngone; i++)
		json_object_array_add(arr, gone_json(&c->gone[i]));
	nc_json_set(doc, "undeclared_hosts", arr);
	arr = json_object_new_array_ext((int)p->nactions);
	for (i = 0; i < p->nactions; i++)
		json_object_array_add(arr, action_json(&p->actions[i], c));
	nc_json_set(doc, "actions", arr);
	arr = json_object_new_array_ext((int)p->nnotes);
	for (i = 0; i < p->nnotes; i++) {
		x = json_object_new_object();
		nc_json_set(x, "severity", json_object_new_string(note_word(p->notes[i].kind)));
		nc_json_set(x, "vm", JS(p->notes[i].vm));
		nc_json_set(x, "message", JS(p->notes[i].text));
		json_object_array_add(arr, x);
	}
	nc_json_set(doc, "notes", arr);
	arr = json_object_new_array();
	for (i = 0; i < c->nhosts; i++) {
		for (j = 0; j < c->hosts[i].obs.ndoms; j++) {
			if (c->hosts[i].obs.doms[j].managed)
				continue;
			x = json_object_new_object();
			nc_json_set(x, "host", JS(host_name(c, i)));
			nc_json_set(x, "domain", JS(c->hosts[i].obs.doms[j].name));
			json_object_array_add(arr, x);
		}
	}
	nc_json_set(doc, "unmanaged", arr);
	arr = json_object_new_array();
	for (i = 0; i < c->nhosts; i++) {
		for (j = 0; c->hosts[i].status == NC_HOST_OK && j < c->hosts[i].obs.nnets; j++) {
			if (c->hosts[i].obs.nets[j].managed)
				continue;
			x = json_object_new_object();
			nc_json_set(x, "host", JS(host_name(c, i)));
			nc_json_set(x, "network", JS(c->hosts[i].obs.nets[j].cfg.name));
			json_object_array_add(arr, x);
		}
	}
	nc_json_set(doc, "unmanaged_networks", arr);
	nc_json_set(doc, "tenants", tenants_json(p->spec));
	if ((x = nc_plan_clusters_json(p, o->plan_opts)))   /* only with Clusters (clusters.h) */
		nc_json_set(doc, "clusters", x);
	x = json_object_new_object();
	nc_json_set(x, "spec", JS(p->spec_digest));
	nc_json_set(x, "observed", JS(p->observed_digest));
	nc_json_set(x, "plan", JS(p->plan_digest));
	nc_json_set(doc, "digests", x);
	nc_json_to_buf(out, doc);
}
