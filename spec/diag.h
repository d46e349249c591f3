/*
 * diag.h - diagnostics with source positions.
 *
 * Library code never prints: it appends to a caller-owned struct nc_diags.
 * Every diagnostic carries a position (file, 1-based line and column; line 0
 * means "the whole file").  nc_diags_sort() orders them by file, line, column
 * and insertion order so that output is deterministic; nc_diags_format_text()
 * renders GCC-style lines ("file:line:col: error: message") and
 * nc_diags_format_json() the documented JSON array (docs/validate.md).
 */
#ifndef NC_DIAG_H
#define NC_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct nc_pos {
	const char *file;   /* not owned; lives as long as the spec */
	uint32_t line;      /* 1-based; 0 = unset / whole file */
	uint32_t col;       /* 1-based */
};

/* The position of a whole file (or directory): no line or column. */
static inline struct nc_pos nc_pos_file(const char *file)
{
	struct nc_pos p = { file, 0, 0 };
	return p;
}

enum nc_severity { NC_SEV_ERROR, NC_SEV_WARNING, NC_SEV_NOTE };

struct nc_diag {
	enum nc_severity sev;
	char *file;         /* owned copy */
	uint32_t line, col;
	char *msg;
	size_t seq;         /* insertion order, tie-breaker */
};

struct nc_diags {
	struct nc_diag *v;
	size_t n, alloc;
	size_t errors, warnings;
	size_t max_errors;  /* 0 = unlimited; past it, errors are counted but dropped */
	size_t dropped;
};

void nc_diags_init(struct nc_diags *d);
void nc_diags_release(struct nc_diags *d);
void nc_diag_add(struct nc_diags *d, enum nc_severity sev, struct nc_pos pos,
		 const char *fmt, ...) NC_PRINTF(4, 5);
void nc_diag_vadd(struct nc_diags *d, enum nc_severity sev, struct nc_pos pos,
		  const char *fmt, va_list ap) NC_PRINTF(4, 0);
#define nc_diag_error(d, pos, ...) nc_diag_add((d), NC_SEV_ERROR, (pos), __VA_ARGS__)
#define nc_diag_warning(d, pos, ...) nc_diag_add((d), NC_SEV_WARNING, (pos), __VA_ARGS__)
#define nc_diag_note(d, pos, ...) nc_diag_add((d), NC_SEV_NOTE, (pos), __VA_ARGS__)

/* Stable sort by (file, line, col); notes stay right after their error. */
void nc_diags_sort(struct nc_diags *d);
const char *nc_severity_name(enum nc_severity sev);
void nc_diags_format_text(const struct nc_diags *d, struct nc_buf *out, int color);
void nc_diags_format_json(const struct nc_diags *d, struct nc_buf *out);

#endif
