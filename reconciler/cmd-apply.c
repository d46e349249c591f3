/*
 * cmd-apply.c - `novacron apply [PLANFILE | PATH...] [--auto-approve]`
 *
 * With spec paths: plans as `novacron plan` does, prints the plan, asks for
 * "yes" on a terminal (or needs --auto-approve), then runs the actions.
 * With a plan file from `plan --out`: re-reads the spec and the cluster the
 * plan was made from and applies it only if both are unchanged (the same
 * digests), so what runs is exactly what was reviewed.  A saved plan made
 * while a host could not be read (partial) is refused unless
 * --allow-unreachable says to apply what it holds all the same.
 * Exit: 0 applied (or nothing to do), 1 error, refusal or a failed action,
 * or an incomplete pass: a host could not be read or a VM was not created
 * because it may run on a host that is not declared or cannot be read (what
 * could be done safely is done all the same).  After the pass, the record
 * of hosts (reconciler/hostrec.h) is brought up to date, and the HA record
 * (reconciler/ha.h) forgets the failed hosts that are back with nothing
 * left to clean up.
 */
#include "pass-cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool confirm(void)
{
	char line[64];

	printf("\nApply these actions? Only 'yes' is accepted: ");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return strcmp(line, "yes") == 0;
}

int cmd_apply(int argc, char **argv)
{
	struct nc_pass_args a;
	struct nc_pass p;
	struct nc_plan_file pf;
	struct nc_apply_result r;
	struct nc_buf b = NC_BUF_INIT;
	bool from_file = false, applied = false, applied_all = false;
	int ret = NC_EXIT_ERROR;

	if (nc_pass_parse(&a, "apply", argc, argv, true) < 0)
		return NC_EXIT_ERROR;
	if (a.help) {
		nc_cmd_help(stdout, &nc_doc_apply);
		return NC_EXIT_OK;
	}
	if (a.npaths == 1 && nc_is_plan_file(a.paths[0])) {
		const char *file = a.paths[0];

		if (nc_plan_file_read(&pf, &a, file) < 0) {
			nc_pass_args_release(&a);
			return NC_EXIT_ERROR;
		}
		from_file = true;
	} else if (a.allow_unreachable) {
		/* it would be ignored: apply PATH already acts on what it can read */
		fprintf(stderr, "novacron apply: --allow-unreachable applies only to a saved plan (apply PLANFILE); "
				"apply PATH acts on the hosts it can read and leaves the others\n");
		nc_pass_args_release(&a);
		return NC_EXIT_ERROR;
	}
	/* a plan waiting for "yes" holds no lock: a serve pass does not wait on a prompt */
	a.unlocked_preview = !from_file && !a.auto_approve && isatty(STDIN_FILENO);
	if (nc_pass_run(&p, &a) < 0)
		goto out;

	if (from_file) {
		const char *what = strcmp(pf.spec, p.plan.spec_digest) != 0 ? "the spec" :
				   strcmp(pf.observed, p.plan.observed_digest) != 0 ? "the cluster" :
				   strcmp(pf.plan, p.plan.plan_digest) != 0 ? "the plan" : NULL;

		if (what) {
			fprintf(stderr, "novacron apply: refusing the saved plan: %s changed since it was made; "
					"run novacron plan again\n", what);
			goto out;
		}
		/* it was reviewed without knowing what the unread hosts hold */
		if (nc_plan_partial(&p.plan) && !a.allow_unreachable) {
			fprintf(stderr, "novacron apply: refusing the saved plan: it is partial (%zu host%s could not "
					"be read, when it was made and now), so the cluster may not match the spec after it; "
					"pass --allow-unreachable to apply what it holds all the same\n",
				p.plan.unreachable, p.plan.unreachable == 1 ? "" : "s");
			goto out;
		}
	}
	nc_pass_render(&p, &a, a.output, a.output == NC_OUT_TEXT ? a.color : 0, &b);
	fwrite(b.buf, 1, b.len, stdout);
	if (p.plan.refused || p.plan.errors) {
		fprintf(stderr, "novacron apply: the plan has errors; nothing was applied\n");
		goto out;
	}
	if (nc_plan_empty(&p.plan)) {
		ret = nc_plan_incomplete(&p.plan) ? NC_EXIT_ERROR : NC_EXIT_OK;
		if (ret != NC_EXIT_OK)
			printf("\nNothing applied; the cluster does not match the spec yet (see the warnings above).\n");
		goto out;
	}
	if (!from_file && !a.auto_approve) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "novacron apply: standard input is not a terminal: pass --auto-approve "
					"or apply a saved plan\n");
			goto out;
		}
		if (!confirm()) {
			printf("Apply cancelled.\n");
			goto out;
		}
		/* planned again under the lock: applied only if it is the plan approved */
		{
			char approved[sizeof(p.plan.plan_digest)];

			snprintf(approved, sizeof(approved), "%s", p.plan.plan_digest);
			nc_pass_release(&p);
			a.unlocked_preview = false;
			if (nc_pass_run(&p, &a) < 0)
				goto out;
			if (strcmp(approved, p.plan.plan_digest) != 0) {
				fprintf(stderr, "novacron apply: refusing: the plan changed while it waited for 'yes' "
						"(another apply or a serve pass acted, or the cluster changed); nothing was "
						"applied: run novacron apply again\n");
				goto out;
			}
		}
	}
	printf("\n");
	nc_apply(&r, &p.plan, &p.cluster, &a.popts, stdout, a.color);
	applied = true;
	printf("\nApply %s: %zu done, %zu failed, %zu skipped.\n",
	       r.failed || r.skipped || nc_plan_incomplete(&p.plan) ? "incomplete" : "complete",
	       r.done, r.failed, r.skipped);
	if (r.failed || r.skipped)
		printf("Run novacron apply again: it starts from what the cluster holds now.\n");
	if (nc_plan_partial(&p.plan))
		printf("%zu host%s could not be read: the cluster may not match the spec.\n", p.plan.unreachable,
		       p.plan.unreachable == 1 ? "" : "s");
	if (p.plan.blocked)
		printf("%zu VM%s not created (see the warnings above).\n", p.plan.blocked,
		       p.plan.blocked == 1 ? " was" : "s were");
	applied_all = !r.failed && !r.skipped;
	ret = r.failed || r.skipped || nc_plan_incomplete(&p.plan) ? NC_EXIT_ERROR : NC_EXIT_OK;
out:
	nc_pass_record(&p, &a, applied);
	nc_pass_ha_commit(&p, &a, applied_all);
	nc_buf_release(&b);
	nc_pass_release(&p);
	nc_pass_args_release(&a);
	return ret;
}
