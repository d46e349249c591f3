/*
 * render.c - a plan for people (text, like Terraform's), for pull requests
 * (Markdown) and for programs (JSON, documented in docs/plan.md).
 *
 * Output depends only on the plan and the cluster: no times, no addresses,
 * so the same inputs render byte for byte the same.
 */
#include "pass.h"
#include "ha.h"
#include "../drivers/network/network.h"
#include "../spec/tenant.h"
#include "annotations.h"

#include <string.h>

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_RED "\033[31m"
#define C_CYAN "\033[36m"

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
				nc_buf_addf(out, "%s%s/%s", n++ ? sep : "", host_name(c, i),
					    c->hosts[i].obs.nets[j].cfg.name ? c->hosts[i].obs.nets[j].cfg.name : "?");
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
			nc_buf_addf(out, "  %-12s %-24s ok, %u CPUs, %s, %zu domain%s%s\n", host_name(c, i),
				    v->spec->spec.uri.v, v->obs.node.cpus, mem, v->obs.ndoms,
				    v->obs.ndoms == 1 ? "" : "s",
				    v->spec->spec.maintenance.v ? ", maintenance" : "");
		} else {
			nc_buf_addf(out, "  %-12s %-24s %sunreachable%s: %s\n", host_name(c, i),
				    v->spec->spec.uri.v, o->color ? C_RED : "", r, v->error);
		}
	}
	for (i = 0; i < c->ngone; i++) {
		const struct nc_gone_host *g = &c->gone[i];

		if (g->status == NC_HOST_OK)
			nc_buf_addf(out, "  %-12s %-24s %snot declared%s, ok, %zu managed domain%s\n", g->name, g->uri,
				    o->color ? C_YELLOW : "", r, managed_count(&g->obs),
				    managed_count(&g->obs) == 1 ? "" : "s");
		else
			nc_buf_addf(out, "  %-12s %-24s %snot declared, unreachable%s: %s\n", g->name, g->uri,
				    o->color ? C_RED : "", r, g->error);
	}
	nc_buf_addc(out, '\n');

	if (p->nactions) {
		nc_buf_addf(out, "%sActions%s\n", b, r);
		for (i = 0; i < p->nactions; i++) {
			const struct nc_action *a = &p->actions[i];

			char mode[96];

			nc_migrate_mode(a, mode, sizeof(mode));
			if (a->kind == NC_ACT_MIGRATE)
				nc_buf_addf(out, "  %s%s%s %s%s%s: migrate %s -> %s (%s)", o->color ? sym_color(a->kind) : "",
					    symbol(a->kind), r, b, a->vm, r, host_name(c, a->host),
					    host_name(c, a->target), mode);
			else
				nc_buf_addf(out, "  %s%s%s %s%s%s%s%s: %s on %s", o->color ? sym_color(a->kind) : "",
					    symbol(a->kind), r, b, a->obj ? nc_object_kind_name(a->obj) : "",
					    a->obj ? " " : "", a->vm, r, act_name(a),
					    host_name(c, a->host));
			if (a->pool)
				nc_buf_addf(out, " into pool %s", a->pool);
			if (a->kind == NC_ACT_ADOPT && a->nchanges) {
				/* "(changes after adoption: memory 2 GiB -> 4 GiB)" */
				for (j = 0; j < a->nchanges; j++)
					nc_buf_addf(out, "%s%s %s -> %s", j ? ", " : " (changes after adoption: ",
						    a->changes[j].field, a->changes[j].from, a->changes[j].to);
				nc_buf_addc(out, ')');
			}
			if (a->replace)
				nc_buf_adds(out, " (stop, undefine, define anew, start; disks kept)");
			else if (a->restart)
				nc_buf_adds(out, " (with restart)");
			else if (a->start_after && a->kind != NC_ACT_START)
				nc_buf_adds(out, ", then start");
			nc_buf_addf(out, "\n      why: %s\n", a->reason);
			if (a->placement)
				nc_buf_addf(out, "      placement: %s\n", a->placement);
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

				nc_buf_addf(out, "      %s~%s %s: %s -> %s%s\n", o->color ? C_YELLOW : "", r,
					    ch->field, ch->from, ch->to, ch->restart ? " (restart)" : "");
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

		nc_buf_addf(out, "%s%s:%s %s\n", col, note_word(n->kind), r, n->text);
	}
	if (p->unmanaged) {
		nc_buf_addf(out, "unmanaged (never touched):");
		for (i = 0; i < c->nhosts; i++)
			for (j = 0; j < c->hosts[i].obs.ndoms; j++)
				if (!c->hosts[i].obs.doms[j].managed && !adopted(p, i, c->hosts[i].obs.doms[j].name))
					nc_buf_addf(out, " %s/%s", host_name(c, i), c->hosts[i].obs.doms[j].name);
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
}

static void md_escape(struct nc_buf *out, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "|*_`<>[]\\\n");   /* runs of plain text at once: 100,000 rows */

		nc_buf_add(out, s, n);
		s += n;
		if (!*s)
			break;
		if (*s != '\n')
			nc_buf_addc(out, '\\');
		nc_buf_addc(out, *s == '\n' ? ' ' : *s);
		s++;
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
	char mode[100];

	mode[0] = 0;
	if (a->restart)
		snprintf(mode, sizeof(mode), " (restart)");
	else if (a->kind == NC_ACT_MIGRATE) {
		char m[96];

		nc_migrate_mode(a, m, sizeof(m));
		snprintf(mode, sizeof(mode), " (%s)", m);
	}
	nc_buf_addf(out, "| %d | `%s` | %s%s`%s` | %s%s | %s%s%s | ", a->id, symbol(a->kind),
		    a->obj ? nc_object_kind_name(a->obj) : "", a->obj ? " " : "", a->vm,
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
		nc_buf_adds(out, MD_TABLE_HEAD);
		for (i = 0; i < p->nactions; i++)
			md_row(&p->actions[i], c, out);
		nc_buf_addc(out, '\n');
		for (i = 0; i < p->nactions; i++) {
			const struct nc_action *a = &p->actions[i];

			if (!a->nchanges)
				continue;
			nc_buf_addf(out, "<details><summary>%s%s<code>%s</code> on %s: %zu change%s</summary>\n\n",
				    a->obj ? nc_object_kind_name(a->obj) : "", a->obj ? " " : "", a->vm,
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

static void json_str(struct nc_buf *out, const char *s)
{
	if (s)
		nc_buf_add_json_str(out, s);
	else
		nc_buf_adds(out, "null");
}

void nc_plan_render_json(const struct nc_plan *p, const struct nc_cluster *c,
			 const struct nc_render_opts *o, struct nc_buf *out)
{
	size_t i, j;

	nc_buf_adds(out, "{\n  \"format_version\": 1,\n  \"inputs\": {\"paths\": [");
	for (i = 0; i < o->npaths; i++) {
		if (i)
			nc_buf_adds(out, ", ");
		json_str(out, o->paths[i]);
	}
	nc_buf_adds(out, "], \"state_dir\": ");
	json_str(out, o->state_dir);
	if (o->plan_opts)
		nc_buf_addf(out, ", \"prune\": %s, \"delete_threshold\": %u, \"allow_mass_delete\": %s",
			    o->plan_opts->prune ? "true" : "false",
			    o->plan_opts->delete_threshold ? o->plan_opts->delete_threshold : 25,
			    o->plan_opts->allow_mass_delete ? "true" : "false");
	nc_buf_adds(out, ", \"commit\": ");
	json_str(out, o->plan_opts ? o->plan_opts->commit : NULL);
	/* the scope (docs/plan.md "Planning a subset"): only when given */
	if (o->plan_opts && (o->plan_opts->ntargets || o->plan_opts->selector || o->plan_opts->nreplace)) {
		nc_buf_adds(out, ", \"targets\": [");
		for (i = 0; i < o->plan_opts->ntargets; i++) {
			nc_buf_adds(out, i ? ", " : "");
			json_str(out, o->plan_opts->targets[i]);
		}
		nc_buf_adds(out, "], \"replace\": [");
		for (i = 0; i < o->plan_opts->nreplace; i++) {
			nc_buf_adds(out, i ? ", " : "");
			json_str(out, o->plan_opts->replace[i]);
		}
		nc_buf_adds(out, "]");
		if (o->plan_opts->selector) {
			nc_buf_adds(out, ", \"selector\": ");
			json_str(out, o->plan_opts->selector);
		}
	}
	nc_buf_addf(out, "},\n  \"summary\": {\"changes\": %s, \"refused\": %s, \"errors\": %zu, "
		    "\"create\": %zu, \"update\": %zu, \"delete\": %zu, \"start\": %zu, \"stop\": %zu, "
		    "\"migrate\": %zu, \"upload\": %zu, \"recover\": %zu, \"adopt\": %zu, \"managed\": %zu, "
		    "\"unmanaged\": %zu, "
		    "\"imbalance\": [%.6f, %.6f], \"partial\": %s, \"unreachable\": %zu, \"blocked\": %zu",
		    nc_plan_empty(p) ? "false" : "true", p->refused ? "true" : "false", p->errors,
		    p->ncreate, p->nupdate, p->ndelete, p->nstart, p->nstop, p->nmigrate, p->nupload, p->nrecover,
		    p->nadopt, p->managed, p->unmanaged, p->imbalance_before, p->imbalance_after,
		    nc_plan_partial(p) ? "true" : "false", p->unreachable, p->blocked);
	if (p->scoped)
		nc_buf_addf(out, ", \"scope\": {\"vms\": %zu, \"of\": %zu}", p->scope_vms, p->spec->nobjs[NC_KIND_VM]);
	if (p->suspended || p->ignored)
		nc_buf_addf(out, ", \"suspended\": %zu, \"ignored\": %zu", p->suspended, p->ignored);
	nc_buf_adds(out, "},\n  \"hosts\": [");
	for (i = 0; i < c->nhosts; i++) {
		const struct nc_host_view *v = &c->hosts[i];

		nc_buf_adds(out, i ? ",\n    {" : "\n    {");
		nc_buf_adds(out, "\"name\": ");
		json_str(out, host_name(c, i));
		nc_buf_adds(out, ", \"uri\": ");
		json_str(out, v->spec->spec.uri.v);
		nc_buf_addf(out, ", \"status\": \"%s\", \"maintenance\": %s", v->status == NC_HOST_OK ? "ok" : "unreachable",
			    v->spec->spec.maintenance.v ? "true" : "false");
		if (v->status == NC_HOST_OK)
			nc_buf_addf(out, ", \"cpus\": %u, \"memory\": %llu, \"domains\": %zu", v->obs.node.cpus,
				    (unsigned long long)v->obs.node.memory, v->obs.ndoms);
		else {
			nc_buf_adds(out, ", \"error\": ");
			json_str(out, v->error);
			nc_buf_adds(out, ", \"recorded_vms\": [");
			for (j = 0; j < v->nrecorded; j++) {
				nc_buf_adds(out, j ? ", " : "");
				json_str(out, v->recorded_vms[j]);
			}
			nc_buf_adds(out, "]");
		}
		if (o->plan_opts && o->plan_opts->ha && nc_ha_find(o->plan_opts->ha, host_name(c, i))) {
			const struct nc_ha_host *h = nc_ha_find(o->plan_opts->ha, host_name(c, i));

			/* the HA record's entry (docs/ha.md), without its times: plans hold none */
			nc_buf_addf(out, ", \"ha\": {\"failed\": true, \"fenced\": %s, \"whole_host\": %s, \"fenced_by\": ",
				    h->fenced ? "true" : "false", h->whole_host ? "true" : "false");
			json_str(out, h->fenced_by);
			nc_buf_adds(out, ", \"recovered\": [");
			for (j = 0; j < h->nrecovered; j++) {
				nc_buf_adds(out, j ? ", " : "");
				json_str(out, h->recovered[j]);
			}
			nc_buf_adds(out, "]}");
		}
		nc_buf_addc(out, '}');
	}
	nc_buf_adds(out, c->nhosts ? "\n  ],\n  \"undeclared_hosts\": [" : "],\n  \"undeclared_hosts\": [");
	for (i = 0; i < c->ngone; i++) {
		const struct nc_gone_host *g = &c->gone[i];

		nc_buf_adds(out, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
		json_str(out, g->name);
		nc_buf_adds(out, ", \"uri\": ");
		json_str(out, g->uri);
		nc_buf_addf(out, ", \"status\": \"%s\"", g->status == NC_HOST_OK ? "ok" : "unreachable");
		if (g->status == NC_HOST_OK) {
			nc_buf_adds(out, ", \"vms\": [");
			for (j = 0; j < g->obs.ndoms; j++) {
				if (!g->obs.doms[j].managed || !g->obs.doms[j].meta_vm)
					continue;
				nc_buf_adds(out, out->buf[out->len - 1] == '[' ? "" : ", ");
				json_str(out, g->obs.doms[j].meta_vm);
			}
			nc_buf_adds(out, "]");
		} else {
			nc_buf_adds(out, ", \"error\": ");
			json_str(out, g->error);
			nc_buf_adds(out, ", \"recorded_vms\": [");
			for (j = 0; j < g->nvms; j++) {
				nc_buf_adds(out, j ? ", " : "");
				json_str(out, g->vms[j]);
			}
			nc_buf_adds(out, "]");
		}
		nc_buf_addc(out, '}');
	}
	nc_buf_adds(out, c->ngone ? "\n  ],\n  \"actions\": [" : "],\n  \"actions\": [");
	for (i = 0; i < p->nactions; i++) {
		const struct nc_action *a = &p->actions[i];

		nc_buf_adds(out, i ? ",\n    {" : "\n    {");
		nc_buf_addf(out, "\"id\": %d, \"action\": \"%s\", \"vm\": ", a->id, act_name(a));
		json_str(out, a->vm);
		if (a->stale)
			nc_buf_adds(out, ", \"stale\": true");
		if (a->ha_restart)
			nc_buf_adds(out, ", \"ha_restart\": true");
		if (a->kind == NC_ACT_RECOVER) {
			nc_buf_addf(out, ", \"priority\": %d, \"failed_hosts\": [", a->priority);
			for (j = 0; j < a->nfailed_hosts; j++) {
				nc_buf_adds(out, j ? ", " : "");
				json_str(out, a->failed_hosts[j]);
			}
			nc_buf_adds(out, "]");
		}
		if (a->obj)
			nc_buf_addf(out, ", \"object\": \"%s\"", nc_object_kind_name(a->obj));
		if (a->pool) {
			nc_buf_adds(out, ", \"pool\": ");
			json_str(out, a->pool);
		}
		nc_buf_adds(out, ", \"host\": ");
		json_str(out, host_name(c, a->host));
		nc_buf_adds(out, ", \"reason\": ");
		json_str(out, a->reason);
		nc_buf_addf(out, ", \"drift\": %s, \"restart\": %s, \"start_after\": %s",
			    a->drift ? "true" : "false", a->restart ? "true" : "false",
			    a->start_after ? "true" : "false");
		if (a->kind == NC_ACT_MIGRATE) {
			nc_buf_adds(out, ", \"target\": ");
			json_str(out, host_name(c, a->target));
			nc_buf_addf(out, ", \"live\": %s", a->live ? "true" : "false");
			if (!a->live)
				nc_buf_addf(out, ", \"copy\": {\"volumes\": %zu, \"bytes\": %llu}", a->copy_vols,
					    (unsigned long long)a->copy_bytes);
		}
		if (a->placement) {
			nc_buf_adds(out, ", \"placement\": ");
			json_str(out, a->placement);
		}
		if (a->desired && (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_RECOVER)) {
			const struct nc_domain_def *d = &a->desired->def;

			nc_buf_addf(out, ", \"vcpus\": %u, \"memory\": %llu, \"hash\": \"%s\"", d->vcpus,
				    (unsigned long long)d->memory, a->desired->hash);
		}
		if (a->desired && a->desired->def.seed &&
		    (a->kind == NC_ACT_CREATE || a->seed_upload)) {
			const struct nc_seed_def *s = a->desired->def.seed;

			/* the seed this action writes: names and hashes, never the content */
			nc_buf_adds(out, ", \"cloud_init\": {\"volume\": ");
			json_str(out, s->volume);
			nc_buf_adds(out, ", \"pool\": ");
			json_str(out, s->pool);
			nc_buf_addf(out, ", \"target\": \"%s\", \"bus\": \"%s\", \"instance_id\": \"%s\", "
				    "\"user_data_sha256\": \"%s\", \"network_config_sha256\": \"%s\", "
				    "\"network_config_generated\": %s}",
				    s->target, s->bus, s->instance_id, s->user_data_sha, s->network_config_sha,
				    s->network_generated ? "true" : "false");
		}
		if (a->net && a->kind != NC_ACT_DELETE) {
			struct nc_buf t = NC_BUF_INIT;

			net_line(a->net->def, &t);
			nc_buf_adds(out, ", \"definition\": ");
			json_str(out, t.buf);
			nc_buf_addf(out, ", \"hash\": \"%s\", \"live\": %s", a->net->hash,
				    a->live_entries ? "true" : "false");
			nc_buf_release(&t);
		}
		if (a->obj == NC_OBJ_NETWORK && a->restart) {
			nc_buf_adds(out, ", \"affected_vms\": [");
			for (j = 0; j < a->naffected; j++) {
				nc_buf_adds(out, j ? ", " : "");
				json_str(out, a->affected[j]);
			}
			nc_buf_adds(out, "]");
		}
		nc_buf_adds(out, ", \"changes\": [");
		for (j = 0; j < a->nchanges; j++) {
			nc_buf_adds(out, j ? ", {\"field\": " : "{\"field\": ");
			json_str(out, a->changes[j].field);
			nc_buf_adds(out, ", \"from\": ");
			json_str(out, a->changes[j].from);
			nc_buf_adds(out, ", \"to\": ");
			json_str(out, a->changes[j].to);
			nc_buf_addf(out, ", \"restart\": %s}", a->changes[j].restart ? "true" : "false");
		}
		if (a->ordered && (a->kind == NC_ACT_CREATE || a->kind == NC_ACT_START || a->kind == NC_ACT_UPDATE)) {
			nc_buf_addf(out, "], \"order\": {\"wave\": %d, \"depends_on\": [", a->wave);
			for (j = 0; j < a->ndeps; j++) {
				nc_buf_adds(out, j ? ", " : "");
				json_str(out, a->deps[j]);
			}
			nc_buf_adds(out, "]}");
		} else {
			nc_buf_adds(out, "]");
		}
		nc_buf_adds(out, ", \"after\": [");
		for (j = 0; j < a->nafter; j++)
			nc_buf_addf(out, "%s%d", j ? ", " : "", a->after[j]);
		nc_buf_adds(out, "]}");
	}
	nc_buf_adds(out, p->nactions ? "\n  ],\n  \"notes\": [" : "],\n  \"notes\": [");
	for (i = 0; i < p->nnotes; i++) {
		nc_buf_adds(out, i ? ",\n    {" : "\n    {");
		nc_buf_addf(out, "\"severity\": \"%s\", \"vm\": ", note_word(p->notes[i].kind));
		json_str(out, p->notes[i].vm);
		nc_buf_adds(out, ", \"message\": ");
		json_str(out, p->notes[i].text);
		nc_buf_addc(out, '}');
	}
	nc_buf_adds(out, p->nnotes ? "\n  ],\n  \"unmanaged\": [" : "],\n  \"unmanaged\": [");
	{
		size_t n = 0;

		for (i = 0; i < c->nhosts; i++) {
			for (j = 0; j < c->hosts[i].obs.ndoms; j++) {
				if (c->hosts[i].obs.doms[j].managed)
					continue;
				nc_buf_adds(out, n++ ? ", {\"host\": " : "{\"host\": ");
				json_str(out, host_name(c, i));
				nc_buf_adds(out, ", \"domain\": ");
				json_str(out, c->hosts[i].obs.doms[j].name);
				nc_buf_addc(out, '}');
			}
		}
	}
	nc_buf_adds(out, "],\n  \"unmanaged_networks\": [");
	{
		size_t n = 0;

		for (i = 0; i < c->nhosts; i++) {
			for (j = 0; c->hosts[i].status == NC_HOST_OK && j < c->hosts[i].obs.nnets; j++) {
				if (c->hosts[i].obs.nets[j].managed)
					continue;
				nc_buf_adds(out, n++ ? ", {\"host\": " : "{\"host\": ");
				json_str(out, host_name(c, i));
				nc_buf_adds(out, ", \"network\": ");
				json_str(out, c->hosts[i].obs.nets[j].cfg.name);
				nc_buf_addc(out, '}');
			}
		}
	}
	nc_buf_adds(out, "],\n  \"tenants\": ");
	nc_tenant_usage_json(p->spec, NULL, NULL, out);
	nc_buf_addf(out, ",\n  \"digests\": {\"spec\": \"%s\", \"observed\": \"%s\", \"plan\": \"%s\"}\n}\n",
		    p->spec_digest, p->observed_digest, p->plan_digest);
}
