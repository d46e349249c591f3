/*
 * yaml.h - a positioned YAML node tree built from libyaml's event API.
 *
 * nc_yaml_parse() turns one file's bytes into a list of documents, each a tree
 * of struct nc_ynode allocated in the caller's arena.  Every node keeps its
 * 1-based line and column.  Aliases point at their anchored node (nothing is
 * copied), so an alias bomb costs nothing to parse; but whoever walks the
 * tree pays for every alias at the full size of what it names.  So each node
 * carries its expanded size in bytes (a node counts NC_YNODE_COST bytes,
 * a scalar its length on top, an alias the expanded size of its target), and
 * two byte budgets bound what the consumers can be made to do: the bytes
 * that aliases add in one file (default 16 MiB) and the expanded size of the
 * whole file (default 64 MiB; a file within the loader's 32 MiB size limit
 * and the node limit stays under it without aliases).  An alias over either
 * budget is one error at its file:line:col.  Limits (nesting depth, node
 * count) turn hostile input into one diagnostic instead of unbounded memory.
 * Duplicate mapping
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
	size_t expanded;     /* bytes of the subtree with every alias expanded
				(saturating; 0 while the node is still open) */
};

/* What one node counts in the expanded size, besides a scalar's bytes. */
#define NC_YNODE_COST 8

struct nc_ydoc {
	struct nc_ynode *root;   /* NULL for an empty document */
	struct nc_pos pos;       /* where the document starts */
};

/* The work a parse did, for tests and the fuzzer: all bounded by the limits. */
struct nc_ystats {
	size_t nodes;            /* nodes made, aliases included */
	size_t alias_bytes;      /* expanded bytes that aliases added */
	size_t expanded_bytes;   /* expanded size of every document */
};

struct nc_ylimits {
	unsigned max_depth;      /* default 64 */
	size_t max_nodes;        /* default 2,000,000 */
	size_t max_alias_bytes;  /* default 16 MiB */
	size_t max_expanded_bytes; /* default 64 MiB */
	struct nc_ystats *stats; /* optional: filled in by nc_yaml_parse() */
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
