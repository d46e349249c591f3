/*
 * apply.c - run a plan's actions in order.
 *
 * Every action looks at the domain again before it acts (invariant 4): a
 * create finds a managed domain of its VM already there and redefines it
 * instead of failing or duplicating; a delete of a domain that is gone is
 * done; start and stop are no-ops when the domain is already in that state.
 * After each action the host commits (a simulated host writes its state
 * file), so a pass killed between actions leaves a cluster that the next
 * pass converges.  An action whose prerequisite failed is skipped; others go
 * on.  Progress lines go to `progress`, one per action, with its duration.
 */
#include "pass.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum result { R_DONE, R_FAILED, R_SKIPPED };

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Looks the domain up; 1 found (managed by this VM), 0 absent, -1 error. */
static int recheck(struct nc_host_conn *conn, const struct nc_action *a, struct nc_domain *d,
		   struct nc_err *err)
{
	int r = conn->drv->lookup(conn, a->vm, d, err);

	if (r <= 0)
		return r;
	if (!d->managed) {
		nc_err_set(err, "domain %s is not managed by NovaCron: not touched", a->vm);
		nc_domain_release(d);
		return -1;
	}
	return 1;
}

static int run_action(const struct nc_action *a, struct nc_host_conn *conn,
		      const struct nc_plan_opts *opts, struct nc_err *err)
{
	const struct nc_host_driver *drv = conn->drv;
	unsigned timeout = opts->shutdown_timeout_ms ? opts->shutdown_timeout_ms : 60000;
	struct nc_domain d;
	struct nc_domain_def def;
	int found, ret = 0;

	memset(&d, 0, sizeof(d));
	found = recheck(conn, a, &d, err);
	if (found < 0)
		return -1;
	if (a->desired) {
		def = a->desired->def;
		def.uuid = found ? d.uuid : NULL;   /* keep the domain's identity */
	}
	switch (a->kind) {
	case NC_ACT_CREATE:
		/* a previous pass may have defined it before being cut short */
		if (drv->define(conn, &def, err) < 0 ||
		    (a->start_after && drv->start(conn, a->vm, err) < 0))
			ret = -1;
		break;
	case NC_ACT_UPDATE:
		if (!found) {
			nc_err_set(err, "domain %s disappeared since the plan was made", a->vm);
			ret = -1;
			break;
		}
		if (a->restart && d.state == NC_DOM_RUNNING &&
		    drv->shutdown(conn, a->vm, timeout, err) < 0) {
			ret = -1;
			break;
		}
		if (a->redefine && drv->define(conn, &def, err) < 0) {
			ret = -1;
			break;
		}
		if (!a->restart && a->live_memory && d.state == NC_DOM_RUNNING &&
		    drv->set_live(conn, a->vm, 0, def.memory, err) < 0) {
			ret = -1;
			break;
		}
		if ((a->restart || a->start_after) && drv->start(conn, a->vm, err) < 0)
			ret = -1;
		break;
	case NC_ACT_START:
		if (!found) {
			nc_err_set(err, "domain %s disappeared since the plan was made", a->vm);
			ret = -1;
		} else if (drv->start(conn, a->vm, err) < 0) {
			ret = -1;
		}
		break;
	case NC_ACT_STOP:
		if (found && drv->shutdown(conn, a->vm, timeout, err) < 0)
			ret = -1;
		break;
	case NC_ACT_DELETE:
		if (found && drv->undefine(conn, a->vm, err) < 0)
			ret = -1;
		break;
	}
	nc_domain_release(&d);
	/* commit what was done, even after a failure part-way */
	if (drv->commit) {
		struct nc_err cerr = { "" };

		if (drv->commit(conn, &cerr) < 0 && ret == 0) {
			*err = cerr;
			ret = -1;
		}
	}
	return ret;
}

void nc_apply(struct nc_apply_result *out, const struct nc_plan *p, struct nc_cluster *c,
	      const struct nc_plan_opts *opts, FILE *progress, int color)
{
	enum result *res = nc_xcalloc(p->nactions + 1, sizeof(*res));
	size_t i, j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < p->nactions; i++) {
		const struct nc_action *a = &p->actions[i];
		struct nc_host_view *v = &c->hosts[a->host];
		struct nc_err err = { "" };
		double t0 = now();
		int blocked = 0;

		for (j = 0; j < a->nafter; j++)
			if (res[a->after[j] - 1] != R_DONE)
				blocked = a->after[j];
		if (progress)
			fprintf(progress, "[%zu/%zu] %s %s on %s ...", i + 1, p->nactions,
				nc_action_name(a->kind), a->vm, v->spec->obj.meta.name.v);
		if (blocked || !v->conn) {
			res[i] = R_SKIPPED;
			out->skipped++;
			if (progress)
				fprintf(progress, " %sskipped%s: %s\n", color ? "\033[33m" : "",
					color ? "\033[0m" : "",
					blocked ? "an action it waits for did not complete" : "host not connected");
			continue;
		}
		if (progress)
			fflush(progress);
		if (run_action(a, v->conn, opts, &err) < 0) {
			res[i] = R_FAILED;
			out->failed++;
			if (progress)
				fprintf(progress, " %sfailed%s: %s\n", color ? "\033[31m" : "",
					color ? "\033[0m" : "", err.msg);
			continue;
		}
		res[i] = R_DONE;
		out->done++;
		if (progress)
			fprintf(progress, " %sdone%s (%.2fs)\n", color ? "\033[32m" : "",
				color ? "\033[0m" : "", now() - t0);
	}
	free(res);
}
