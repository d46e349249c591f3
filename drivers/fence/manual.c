/*
 * manual.c - the fence back-end that fences nothing itself: recovery of the
 * host's VMs waits until an operator, having made sure the host is off (or
 * its disks cut off), runs `novacron fence confirm HOST` (recorded with who
 * and when by reconciler/ha.c).  What it guarantees is the operator's word.
 */
#include "fence.h"

#include <stdio.h>

static int manual_fence(const struct nc_fence_device *dev, const struct nc_fence_target *t,
			struct nc_fence_result *res, struct nc_err *err)
{
	(void)dev;
	(void)err;
	res->whole_host = false;
	snprintf(res->detail, sizeof(res->detail), "waiting for `novacron fence confirm %s`", t->host);
	return NC_FENCE_PENDING;
}

const struct nc_fence_driver nc_fence_manual_driver = {
	.type = "manual",
	.fence = manual_fence,
};
