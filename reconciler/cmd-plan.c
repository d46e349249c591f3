/*
 * cmd-plan.c - `novacron plan [PATH...] [--output text|json|markdown] [--out PLANFILE]`
 *
 * Loads and validates the spec, observes every host, and prints the actions
 * that would make the cluster match.  Nothing is changed.  --out writes the
 * plan as JSON for `novacron apply PLANFILE`, which applies it verbatim or
 * refuses if the spec or the cluster changed since.
 * Exit: 0 no changes, 2 changes pending, 1 error (invalid spec, a refused
 * plan, or a VM that cannot be planned) or an incomplete plan: a host could
 * not be read (declared, or recorded and no longer declared: the plan is
 * partial), or a VM is not created because it may run on such a host.  The
 * plan is printed all the same.  Plan reads the record of hosts
 * (reconciler/hostrec.h) and never writes it: it runs on unmerged specs.
 */
#include "pass-cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_plan(int argc, char **argv)
{
	struct nc_pass_args a;
	struct nc_pass p;
	struct nc_buf b = NC_BUF_INIT;
	int ret;

	if (nc_pass_parse(&a, "plan", argc, argv, false) < 0)
		return NC_EXIT_ERROR;
	if (a.help) {
		nc_cmd_help(stdout, &nc_doc_plan);
		return NC_EXIT_OK;
	}
	if (nc_pass_run(&p, &a) < 0) {
		nc_pass_release(&p);
		nc_pass_args_release(&a);
		return NC_EXIT_ERROR;
	}
	nc_pass_render(&p, &a, a.output, a.output == NC_OUT_TEXT ? a.color : 0, &b);
	fwrite(b.buf, 1, b.len, stdout);
	ret = p.plan.errors || p.plan.refused || nc_plan_incomplete(&p.plan) ? NC_EXIT_ERROR :
	      nc_plan_empty(&p.plan) ? NC_EXIT_OK : NC_EXIT_CHANGES;
	if (a.out_file) {
		int fd = open(a.out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);   /* owner only */
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

		if (fd >= 0 && !f)
			close(fd);

		nc_buf_reset(&b);
		nc_pass_render(&p, &a, NC_OUT_JSON, 0, &b);
		if (!f || fwrite(b.buf, 1, b.len, f) != b.len || fclose(f) != 0) {
			fprintf(stderr, "novacron plan: cannot write %s: %s\n", a.out_file, strerror(errno));
			ret = NC_EXIT_ERROR;
		} else if (a.output == NC_OUT_TEXT && nc_plan_partial(&p.plan)) {
			printf("\nSaved the plan to %s. It is partial: novacron apply %s refuses it unless "
			       "--allow-unreachable is given.\n", a.out_file, a.out_file);
		} else if (a.output == NC_OUT_TEXT) {
			printf("\nSaved the plan to %s; apply exactly it with: novacron apply %s\n",
			       a.out_file, a.out_file);
		}
	}
	nc_buf_release(&b);
	nc_pass_release(&p);
	nc_pass_args_release(&a);
	return ret;
}
