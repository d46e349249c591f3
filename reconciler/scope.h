/*
 * scope.h - what a plan covers (docs/plan.md "Planning a subset"):
 *
 *   --target NAME | KIND/NAME   only the named objects and what they need
 *   -l, --selector EXPR         the VMs whose effective labels match
 *   --replace VM                a replace (stop, undefine, define, start) even without drift
 *   novacron.io/reconcile: disabled   (a VM's annotation) its drift shown, never acted on
 *
 * nc_scope_check() checks the names and the expression against the spec
 * before anything is contacted; the planner (plan.c) asks the others.
 */
#ifndef NC_SCOPE_H
#define NC_SCOPE_H

#include <stdbool.h>

#include "pass.h"

/* the annotation that suspends reconciliation of one VM, and its values */
#define NC_RECONCILE_ANNOTATION "novacron.io/reconcile"

/* Checks targets, replace names and the selector of o against spec; on a
 * problem, one line (without "novacron CMD: ") into *why and -1. */
int nc_scope_check(const struct nc_spec *spec, const struct nc_plan_opts *o, struct nc_buf *why);
/* A target or a selector was given. */
bool nc_scope_active(const struct nc_plan_opts *o);
/* The VM is in the plan's scope (always, without targets or selector). */
bool nc_scope_vm_in(const struct nc_plan_opts *o, const struct nc_vm *vm);
/* A target names this non-VM object ("Network/lan", "Image/debian-12"). */
bool nc_scope_object_targeted(const struct nc_plan_opts *o, enum nc_object_kind k, const char *name);
/* --replace names the VM. */
bool nc_scope_replace(const struct nc_plan_opts *o, const char *vm);
/* The VM carries novacron.io/reconcile: disabled. */
bool nc_vm_suspended(const struct nc_vm *vm);
/* Parses a selector expression (k=v, k==v, k!=v, k, !k; ',' = and): 0, or -1 and *why. */
int nc_label_selector_check(const char *expr, struct nc_buf *why);
/* True when labels satisfy the (checked) expression. */
bool nc_label_selector_match(const char *expr, const struct nc_map *labels);

#endif
