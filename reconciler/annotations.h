/*
 * annotations.h - validate's diagnostics for CI systems, and the hidden
 * marker of a Markdown plan (docs/ci.md).
 *
 * nc_diags_format_github() writes one GitHub Actions workflow command per
 * diagnostic ("::error file=F,line=L,col=C,title=novacron validate::MSG";
 * warnings ::warning, notes ::notice), escaped as GitHub documents: in the
 * message % CR LF become %25 %0D %0A, in a property also : and , become %3A
 * %2C.  nc_diags_format_gitlab() writes a GitLab Code Quality report: a JSON
 * array of {description, check_name, fingerprint, severity, location: {path,
 * lines: {begin}}}, the fingerprint the SHA-256 of file, line and message
 * (the same problem keeps its fingerprint from one pipeline to the next).
 *
 * A Markdown plan starts with "<!-- novacron:plan -->" or, with an ID,
 * "<!-- novacron:plan:ID -->": `novacron comment` finds the one comment to
 * update by it.  An ID is 1 to 64 of [A-Za-z0-9._/-].
 */
#ifndef NC_ANNOTATIONS_H
#define NC_ANNOTATIONS_H

#include <stdbool.h>

#include "../spec/diag.h"

/* s escaped as a workflow command's message (prop false) or property value (prop true) */
void nc_gh_escape(struct nc_buf *out, const char *s, bool prop);
void nc_diags_format_github(const struct nc_diags *d, struct nc_buf *out);
void nc_diags_format_gitlab(const struct nc_diags *d, struct nc_buf *out);

#define NC_MARKER_MAX 64
/* id is a valid marker ID */
bool nc_marker_id_ok(const char *id);
/* "<!-- novacron:plan -->" or "<!-- novacron:plan:ID -->" (no newline) */
void nc_marker_line(struct nc_buf *out, const char *id);

#endif
