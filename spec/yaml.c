/* yaml.c - see yaml.h */
#include "yaml.h"

#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define NC_MAX_ANCHORS 65536
#define NC_DEFAULT_MAX_ALIAS_BYTES ((size_t)16 << 20)
#define NC_DEFAULT_MAX_EXPANDED_BYTES ((size_t)64 << 20)

struct frame {
	struct nc_ynode *node;
	size_t start;        /* its children are items[start..nitems) */
};

struct builder {
	struct nc_arena *arena;
	const char *file;
	const char *buf;
	size_t len;
	struct nc_diags *diags;
	struct nc_ylimits lim;
	struct frame *stack;
	size_t depth, stack_alloc;
	struct nc_ynode **items;   /* children of every open node, innermost last */
	size_t nitems, items_alloc;
	size_t nodes;
	size_t alias_bytes;        /* expanded bytes added by aliases */
	size_t expanded;           /* expanded size of everything so far */
	struct hsearch_data anchors;
	bool anchors_made;
	size_t nanchors;
	struct nc_ydoc *docs;
	size_t ndocs, docs_alloc;
};

static struct nc_pos mark_pos(const struct builder *b, yaml_mark_t m)
{
	struct nc_pos p = { b->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1 };
	return p;
}

/* Reader errors carry a byte offset, not a mark: count lines ourselves. */
static struct nc_pos offset_pos(const struct builder *b, size_t off)
{
	struct nc_pos p = { b->file, 1, 1 };
	size_t i;

	if (off > b->len)
		off = b->len;
	for (i = 0; i < off; i++) {
		if (b->buf[i] == '\n') {
			p.line++;
			p.col = 1;
		} else if (((unsigned char)b->buf[i] & 0xC0) != 0x80) {
			p.col++;
		}
	}
	return p;
}

static void anchors_reset(struct builder *b)
{
	if (b->anchors_made)
		hdestroy_r(&b->anchors);
	b->anchors_made = false;
	b->nanchors = 0;
}

static int anchor_add(struct builder *b, const char *name, struct nc_ynode *node,
		      yaml_mark_t mark)
{
	ENTRY e, *found;

	if (!b->anchors_made) {
		memset(&b->anchors, 0, sizeof(b->anchors));
		if (!hcreate_r(NC_MAX_ANCHORS * 2, &b->anchors))
			abort();
		b->anchors_made = true;
	}
	if (b->nanchors >= NC_MAX_ANCHORS) {
		nc_diag_error(b->diags, mark_pos(b, mark),
			      "too many anchors in one document (limit %d)", NC_MAX_ANCHORS);
		return -1;
	}
	e.key = nc_arena_strdup(b->arena, name);
	e.data = node;
	/* a redefined anchor replaces the old one for later aliases */
	if (hsearch_r(e, FIND, &found, &b->anchors) && found) {
		found->data = node;
		return 0;
	}
	if (!hsearch_r(e, ENTER, &found, &b->anchors))
		abort();
	b->nanchors++;
	return 0;
}

static struct nc_ynode *anchor_find(struct builder *b, const char *name)
{
	ENTRY e, *found = NULL;

	if (!b->anchors_made)
		return NULL;
	e.key = (char *)name;
	e.data = NULL;
	if (!hsearch_r(e, FIND, &found, &b->anchors) || !found)
		return NULL;
	return found->data;
}

static int add_to_parent(struct builder *b, struct nc_ynode *node)
{
	if (b->depth == 0) {
		b->docs[b->ndocs - 1].root = node;
		return 0;
	}
	if (b->nitems == b->items_alloc) {
		b->items_alloc = b->items_alloc ? b->items_alloc * 2 : 256;
		b->items = nc_xreallocarray(b->items, b->items_alloc, sizeof(*b->items));
	}
	b->items[b->nitems++] = node;
	return 0;
}

static struct nc_ynode *new_node(struct builder *b, enum nc_ykind kind, yaml_mark_t m)
{
	struct nc_ynode *n;

	if (++b->nodes > b->lim.max_nodes) {
		nc_diag_error(b->diags, mark_pos(b, m),
			      "file too large: more than %zu YAML nodes", b->lim.max_nodes);
		return NULL;
	}
	n = nc_arena_alloc(b->arena, sizeof(*n));
	n->kind = kind;
	n->pos = mark_pos(b, m);
	return n;
}

static size_t add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* "12.0 MiB", "300.5 KiB", "17 bytes": for the budget errors */
static void fmt_bytes(char out[32], size_t n)
{
	if (n == SIZE_MAX)
		snprintf(out, 32, "more than %zu EiB", SIZE_MAX >> 60);
	else if (n >= (size_t)1 << 20)
		snprintf(out, 32, "%.1f MiB", (double)n / (1 << 20));
	else if (n >= (size_t)1 << 10)
		snprintf(out, 32, "%.1f KiB", (double)n / (1 << 10));
	else
		snprintf(out, 32, "%zu bytes", n);
}

/*
 * Counts cost bytes (a new node's own, or what an alias expands to) against
 * the file's budgets; -1 with an error at m when one is exceeded.
 */
static int spend(struct builder *b, size_t cost, const char *alias, yaml_mark_t m)
{
	char have[32], lim[32];

	if (alias) {
		b->alias_bytes = add_sat(b->alias_bytes, cost);
		if (b->alias_bytes > b->lim.max_alias_bytes) {
			fmt_bytes(have, cost);
			fmt_bytes(lim, b->lim.max_alias_bytes);
			nc_diag_error(b->diags, mark_pos(b, m),
				      "aliases expand to more than %s in this file (the alias budget); "
				      "'*%s' alone expands to %s", lim, alias, have);
			return -1;
		}
	}
	b->expanded = add_sat(b->expanded, cost);
	if (b->expanded > b->lim.max_expanded_bytes) {
		fmt_bytes(lim, b->lim.max_expanded_bytes);
		nc_diag_error(b->diags, mark_pos(b, m),
			      "file too large once aliases are expanded: more than %s", lim);
		return -1;
	}
	return 0;
}

static int push(struct builder *b, struct nc_ynode *node, yaml_mark_t m)
{
	if (b->depth >= b->lim.max_depth) {
		nc_diag_error(b->diags, mark_pos(b, m),
			      "nesting too deep (more than %u levels)", b->lim.max_depth);
		return -1;
	}
	if (b->depth == b->stack_alloc) {
		b->stack_alloc = b->stack_alloc ? b->stack_alloc * 2 : 16;
		b->stack = nc_xreallocarray(b->stack, b->stack_alloc, sizeof(*b->stack));
	}
	b->stack[b->depth].node = node;
	b->stack[b->depth].start = b->nitems;
	b->depth++;
	return 0;
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct nc_ynode *a = *(struct nc_ynode *const *)pa;
	const struct nc_ynode *b = *(struct nc_ynode *const *)pb;
	int c = strcmp(a->s, b->s);

	if (c)
		return c;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	return a->pos.col < b->pos.col ? -1 : a->pos.col > b->pos.col;
}

static void check_duplicate_keys(struct builder *b, struct nc_ynode *map)
{
	struct nc_ynode **keys;
	size_t i, nk = 0;

	if (map->n < 2)
		return;
	if (map->n <= 16) {
		/* small maps (nearly all): compare pairwise, no allocation; each
		 * key is reported against the closest earlier equal key, as the
		 * sorted pass below does */
		for (i = 1; i < map->n; i++) {
			const struct nc_ynode *k = map->items[2 * i], *first = NULL;
			size_t j;

			if (k->kind != NC_Y_SCALAR)
				continue;
			for (j = i; j-- > 0;) {
				const struct nc_ynode *o = map->items[2 * j];

				if (o->kind == NC_Y_SCALAR && strcmp(o->s, k->s) == 0) {
					first = o;
					break;
				}
			}
			if (first && first->s != k->s)
				nc_diag_error(b->diags, k->pos,
					      "duplicate key '%s' (first at line %u, column %u)",
					      k->s, first->pos.line, first->pos.col);
		}
		return;
	}
	keys = nc_xcalloc(map->n, sizeof(*keys));
	for (i = 0; i < map->n; i++)
		if (map->items[2 * i]->kind == NC_Y_SCALAR)
			keys[nk++] = map->items[2 * i];
	qsort(keys, nk, sizeof(*keys), key_cmp);
	for (i = 1; i < nk; i++) {
		if (strcmp(keys[i - 1]->s, keys[i]->s) == 0 && keys[i - 1]->s != keys[i]->s)
			nc_diag_error(b->diags, keys[i]->pos,
				      "duplicate key '%s' (first at line %u, column %u)",
				      keys[i]->s, keys[i - 1]->pos.line, keys[i - 1]->pos.col);
	}
	free(keys);
}

static int pop(struct builder *b)
{
	struct frame *f = &b->stack[b->depth - 1];
	struct nc_ynode *node = f->node;
	size_t n = b->nitems - f->start, i;

	node->items = nc_arena_alloc(b->arena, (n ? n : 1) * sizeof(*node->items));
	if (n)
		memcpy(node->items, b->items + f->start, n * sizeof(*node->items));
	node->n = node->kind == NC_Y_MAP ? n / 2 : n;
	node->expanded = NC_YNODE_COST;
	for (i = 0; i < n; i++)
		node->expanded = add_sat(node->expanded, node->items[i]->expanded);
	b->nitems = f->start;
	b->depth--;
	if (node->kind == NC_Y_MAP)
		check_duplicate_keys(b, node);
	return add_to_parent(b, node);
}

static void syntax_error(struct builder *b, yaml_parser_t *p)
{
	struct nc_pos pos;
	const char *problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_READER_ERROR:
		pos = offset_pos(b, p->problem_offset);
		if (p->problem_value != -1)
			nc_diag_error(b->diags, pos, "invalid input: %s (byte 0x%02x)",
				      problem, (unsigned)p->problem_value & 0xff);
		else
			nc_diag_error(b->diags, pos, "invalid input: %s", problem);
		return;
	case YAML_MEMORY_ERROR:
		nc_diag_error(b->diags, offset_pos(b, 0), "out of memory while parsing YAML");
		return;
	default:
		break;
	}
	pos = mark_pos(b, p->problem_mark);
	if (p->context)
		nc_diag_error(b->diags, pos, "YAML syntax error: %s %s (started at line %zu, column %zu)",
			      problem, p->context, p->context_mark.line + 1,
			      p->context_mark.column + 1);
	else
		nc_diag_error(b->diags, pos, "YAML syntax error: %s", problem);
}

static bool tag_is_str(const yaml_char_t *tag)
{
	return tag && (strcmp((const char *)tag, "tag:yaml.org,2002:str") == 0 ||
		       strcmp((const char *)tag, "!!str") == 0);
}

static int handle(struct builder *b, yaml_event_t *ev)
{
	struct nc_ynode *n, *target;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->ndocs == b->docs_alloc) {
			struct nc_ydoc *nd;

			b->docs_alloc = b->docs_alloc ? b->docs_alloc * 2 : 8;
			nd = nc_arena_alloc(b->arena, b->docs_alloc * sizeof(*nd));
			if (b->ndocs)
				memcpy(nd, b->docs, b->ndocs * sizeof(*nd));
			b->docs = nd;
		}
		b->docs[b->ndocs].root = NULL;
		b->docs[b->ndocs].pos = mark_pos(b, ev->start_mark);
		b->ndocs++;
		anchors_reset(b);
		return 0;
	case YAML_SCALAR_EVENT:
		n = new_node(b, NC_Y_SCALAR, ev->start_mark);
		if (!n)
			return -1;
		n->s = nc_arena_strndup(b->arena, (const char *)ev->data.scalar.value,
					ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->expanded = add_sat(NC_YNODE_COST, n->len);
		if (spend(b, n->expanded, NULL, ev->start_mark) < 0)
			return -1;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			   !tag_is_str(ev->data.scalar.tag);
		if (ev->data.scalar.anchor &&
		    anchor_add(b, (const char *)ev->data.scalar.anchor, n, ev->start_mark))
			return -1;
		return add_to_parent(b, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = new_node(b, ev->type == YAML_MAPPING_START_EVENT ? NC_Y_MAP : NC_Y_SEQ,
			     ev->start_mark);
		if (!n || spend(b, NC_YNODE_COST, NULL, ev->start_mark) < 0)
			return -1;
		if (ev->type == YAML_MAPPING_START_EVENT && ev->data.mapping_start.anchor &&
		    anchor_add(b, (const char *)ev->data.mapping_start.anchor, n, ev->start_mark))
			return -1;
		if (ev->type == YAML_SEQUENCE_START_EVENT && ev->data.sequence_start.anchor &&
		    anchor_add(b, (const char *)ev->data.sequence_start.anchor, n, ev->start_mark))
			return -1;
		return push(b, n, ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return pop(b);
	case YAML_ALIAS_EVENT:
		target = anchor_find(b, (const char *)ev->data.alias.anchor);
		if (!target) {
			nc_diag_error(b->diags, mark_pos(b, ev->start_mark),
				      "unknown alias '*%s'", (const char *)ev->data.alias.anchor);
			return -1;
		}
		n = new_node(b, target->kind, ev->start_mark);
		if (!n || spend(b, target->expanded, (const char *)ev->data.alias.anchor,
				ev->start_mark) < 0)
			return -1;
		{
			struct nc_pos pos = n->pos;

			*n = *target;
			n->pos = pos;
			n->alias = true;
		}
		return add_to_parent(b, n);
	default:
		return 0;
	}
}

int nc_yaml_parse(struct nc_arena *arena, const char *file, const char *buf,
		  size_t len, const struct nc_ylimits *limits,
		  struct nc_ydoc **docs, size_t *ndocs, struct nc_diags *diags)
{
	struct builder b;
	yaml_parser_t parser;
	yaml_event_t ev;
	int ret = 0, done = 0;

	memset(&b, 0, sizeof(b));
	b.arena = arena;
	b.file = file;
	b.buf = buf;
	b.len = len;
	b.diags = diags;
	b.lim.max_depth = limits && limits->max_depth ? limits->max_depth : 64;
	b.lim.max_nodes = limits && limits->max_nodes ? limits->max_nodes : 2000000;
	b.lim.max_alias_bytes = limits && limits->max_alias_bytes ? limits->max_alias_bytes
								   : NC_DEFAULT_MAX_ALIAS_BYTES;
	b.lim.max_expanded_bytes = limits && limits->max_expanded_bytes
					   ? limits->max_expanded_bytes
					   : NC_DEFAULT_MAX_EXPANDED_BYTES;

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&b, &parser);
			ret = -1;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (handle(&b, &ev) < 0) {
			ret = -1;
			done = 1;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	free(b.items);
	free(b.stack);
	anchors_reset(&b);
	if (limits && limits->stats) {
		limits->stats->nodes = b.nodes;
		limits->stats->alias_bytes = b.alias_bytes;
		limits->stats->expanded_bytes = b.expanded;
	}
	/* a document cut short by an error is dropped */
	if (ret < 0 && b.ndocs)
		b.ndocs--;
	*docs = b.docs;
	*ndocs = b.ndocs;
	return ret;
}

bool nc_ynode_is_null(const struct nc_ynode *n)
{
	if (!n)
		return true;
	if (n->kind != NC_Y_SCALAR || !n->plain)
		return false;
	if (n->len != 1 && n->len != 4)   /* "~", "null", "Null", "NULL" */
		return n->len == 0;
	return strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
	       strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0;
}

const struct nc_ynode *nc_ynode_get(const struct nc_ynode *map, const char *key)
{
	size_t i;

	if (!map || map->kind != NC_Y_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (map->items[2 * i]->kind == NC_Y_SCALAR && strcmp(map->items[2 * i]->s, key) == 0)
			return map->items[2 * i + 1];
	return NULL;
}

const char *nc_ynode_str(const struct nc_ynode *n)
{
	return n && n->kind == NC_Y_SCALAR && !nc_ynode_is_null(n) ? n->s : NULL;
}

static bool looks_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool looks_number(const char *s)
{
	char *end;

	/* decimal only: strtod would also take "0x2", "inf" and "nan" */
	if (!*s || strspn(s, "0123456789.eE+-") != strlen(s))
		return false;
	strtod(s, &end);
	return *end == '\0';
}

const char *nc_ynode_describe(const struct nc_ynode *n)
{
	if (!n)
		return "nothing";
	if (n->kind == NC_Y_MAP)
		return "a mapping";
	if (n->kind == NC_Y_SEQ)
		return "a sequence";
	if (!n->plain)
		return "a string";
	if (nc_ynode_is_null(n))
		return "null";
	if (strcmp(n->s, "true") == 0 || strcmp(n->s, "false") == 0)
		return "a boolean";
	if (looks_int(n->s))
		return "an integer";
	if (looks_number(n->s))
		return "a number";
	return "a string";
}
