/*
 * yaml.h - a positioned YAML node tree built from libyaml's event API.
 *
 * nc_yaml_parse() turns one file's bytes into a list of documents, each a tree
 * of struct nc_ynode allocated in the caller's arena.  Every node keeps its
 * 1-based line and column.  Aliases point at their anchored node (nothing is
 * copied), so an alias bomb costs nothing to parse; consumers bound how often
 * they revisit shared nodes.  Limits (nesting depth, node count) turn hostile
 * input into one diagnostic instead of unbounded memory.  Duplicate mapping
 * keys are reported here.  On a syntax error the documents parsed before it
 * are kept and one diagnostic names libyaml's problem and position.
 */
#ifndef NC_YAML_H
#define NC_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "util.h"

enum nc_ykind { NC_Y_SCALAR, NC_Y_MAP, NC_Y_SEQ };

struct nc_ynode {
	enum nc_ykind kind;
	bool plain;          /* scalar written without quotes or block style */
	bool alias;          /* this entry was written as *alias (node is shared) */
	struct nc_pos pos;
	const char *s;       /* scalar value, NUL-terminated */
	size_t len;          /* scalar length (may contain NUL bytes) */
	struct nc_ynode **items; /* map: key,value pairs (2*n); seq: n items */
	size_t n;
};

struct nc_ydoc {
	struct nc_ynode *root;   /* NULL for an empty document */
	struct nc_pos pos;       /* where the document starts */
};

struct nc_ylimits {
	unsigned max_depth;      /* default 64 */
	size_t max_nodes;        /* default 2,000,000 */
};

/*
 * Parses buf (len bytes, file name for positions).  Appends documents to
 * *docs / *ndocs (arena-allocated array).  Returns 0, or -1 after adding an
 * error to diags (documents parsed before the error are still returned).
 */
int nc_yaml_parse(struct nc_arena *arena, const char *file, const char *buf,
		  size_t len, const struct nc_ylimits *limits,
		  struct nc_ydoc **docs, size_t *ndocs, struct nc_diags *diags);

/* True when the plain scalar is YAML null: "", "~", "null", "Null", "NULL". */
bool nc_ynode_is_null(const struct nc_ynode *n);
/* The value of key in a mapping (scalar keys only), or NULL. */
const struct nc_ynode *nc_ynode_get(const struct nc_ynode *map, const char *key);
/* The text of a scalar that is not null, or NULL. */
const char *nc_ynode_str(const struct nc_ynode *n);
/* "mapping", "sequence", "string", "integer", "boolean", "null", "number". */
const char *nc_ynode_describe(const struct nc_ynode *n);

#endif
