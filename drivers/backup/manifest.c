/*
 * backup/manifest.c - snapshot manifests (format in backup.h): format,
 * parse, load and check against the id, list, resolve an id prefix.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX ((size_t)1 << 30)

/* ---- manifests ---- */

void nc_backup_snapshot_release(struct nc_backup_snapshot *s)
{
	if (!s)
		return;
	free(s->vm);
	free(s->disk);
	free(s->chunks);
	free(s->bases);
	memset(s, 0, sizeof(*s));
}

void nc_backup_snapshots_free(struct nc_backup_snapshot *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		nc_backup_snapshot_release(&v[i]);
	free(v);
}

void nc_bk_manifest_format(struct nc_buf *b, const struct nc_backup_snapshot *s)
{
	char hex[NC_BACKUP_ID_HEX + 1];
	size_t i;

	nc_buf_addf(b, "novacron-snapshot %d\nvm %s\ndisk %s\ndisk-size %llu\ntime %lld\n"
		"quiesced %s\nparent %s\ncheckpoint %s\nchunk-size %u\nchunks %zu\n",
		NC_BACKUP_FORMAT, s->vm, s->disk, (unsigned long long)s->disk_size,
		(long long)s->time, s->quiesced ? "yes" : "no",
		*s->parent ? s->parent : "none", *s->checkpoint ? s->checkpoint : "none",
		s->chunk_size, s->nchunks);
	nc_buf_grow(b, s->nchunks * (NC_BACKUP_ID_HEX + 1) + 4);
	for (i = 0; i < s->nchunks; i++) {
		if (memcmp(s->chunks[i], nc_bk_zero_id, 32) == 0) {
			nc_buf_adds(b, "zero\n");
			continue;
		}
		nc_bk_hex_encode(hex, s->chunks[i], 32);
		nc_buf_add(b, hex, NC_BACKUP_ID_HEX);
		if (memcmp(s->bases[i], nc_bk_zero_id, 32) != 0) {
			nc_bk_hex_encode(hex, s->bases[i], 32);
			nc_buf_addc(b, ' ');
			nc_buf_add(b, hex, NC_BACKUP_ID_HEX);
		}
		nc_buf_addc(b, '\n');
	}
	nc_buf_adds(b, "end\n");
}

/* The next line of text [*p, end) without its newline; NULL at the end. */
static char *next_line(char **p, char *end)
{
	char *line = *p, *nl;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(end - line));
	if (!nl)
		return NULL;      /* every line ends with a newline */
	*nl = '\0';
	*p = nl + 1;
	return line;
}

/* The value of "KEY value" as the next line, or NULL. */
static const char *field(char **p, char *end, const char *key)
{
	char *line = next_line(p, end);
	size_t kl = strlen(key);

	if (!line || strncmp(line, key, kl) != 0 || line[kl] != ' ')
		return NULL;
	return line + kl + 1;
}

static bool parse_u64(const char *s, unsigned long long *out)
{
	char *e;

	if (!s || !(*s >= '0' && *s <= '9'))
		return false;
	errno = 0;
	*out = strtoull(s, &e, 10);
	return !errno && !*e;
}

static int manifest_parse(struct nc_backup_snapshot *s, char *text, size_t len)
{
	char *p = text, *end = text + len, *line;
	const char *v;
	unsigned long long u, cs, nch;
	long long tm;
	char *e;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (!(line = next_line(&p, end)) || strcmp(line, "novacron-snapshot 1") != 0)
		return -1;
	if (!(v = field(&p, end, "vm")) || !nc_bk_label_ok(v))
		return -1;
	s->vm = nc_xstrdup(v);
	if (!(v = field(&p, end, "disk")) || !nc_bk_label_ok(v))
		goto bad;
	s->disk = nc_xstrdup(v);
	if (!parse_u64(field(&p, end, "disk-size"), &u))
		goto bad;
	s->disk_size = u;
	if (!(v = field(&p, end, "time")) || !*v)
		goto bad;
	errno = 0;
	tm = strtoll(v, &e, 10);
	if (errno || *e)
		goto bad;
	s->time = tm;
	if (!(v = field(&p, end, "quiesced")) || (strcmp(v, "yes") && strcmp(v, "no")))
		goto bad;
	s->quiesced = strcmp(v, "yes") == 0;
	if (!(v = field(&p, end, "parent")) || (strcmp(v, "none") && !nc_bk_is_id(v)))
		goto bad;
	if (strcmp(v, "none"))
		snprintf(s->parent, sizeof(s->parent), "%s", v);
	if (!(v = field(&p, end, "checkpoint")) || !nc_bk_label_ok(v) || strlen(v) >= sizeof(s->checkpoint))
		goto bad;
	if (strcmp(v, "none"))
		snprintf(s->checkpoint, sizeof(s->checkpoint), "%s", v);
	if (!parse_u64(field(&p, end, "chunk-size"), &cs) || !cs || cs > NC_BACKUP_MAX_CHUNK)
		goto bad;
	s->chunk_size = (uint32_t)cs;
	if (!parse_u64(field(&p, end, "chunks"), &nch) ||
	    nch != (s->disk_size + cs - 1) / cs || nch > len / 5)
		goto bad;
	s->nchunks = (size_t)nch;
	s->chunks = nc_xcalloc(s->nchunks ? s->nchunks : 1, 32);
	s->bases = nc_xcalloc(s->nchunks ? s->nchunks : 1, 32);
	for (i = 0; i < s->nchunks; i++) {
		char *base;

		if (!(line = next_line(&p, end)))
			goto bad;
		if (strcmp(line, "zero") == 0)
			continue;
		/* "<id>" (full) or "<id> <base id>" (a delta on that base) */
		base = strlen(line) == 2 * NC_BACKUP_ID_HEX + 1 && line[NC_BACKUP_ID_HEX] == ' ' ?
			line + NC_BACKUP_ID_HEX + 1 : NULL;
		if (base) {
			base[-1] = '\0';
			if (!nc_bk_is_id(base) || nc_bk_hex_decode(s->bases[i], base, 32) < 0 ||
			    memcmp(s->bases[i], nc_bk_zero_id, 32) == 0 || strcmp(base, line) == 0)
				goto bad;
		}
		if (!nc_bk_is_id(line) || nc_bk_hex_decode(s->chunks[i], line, 32) < 0 ||
		    memcmp(s->chunks[i], nc_bk_zero_id, 32) == 0)
			goto bad;
	}
	if (!(line = next_line(&p, end)) || strcmp(line, "end") != 0 || p != end)
		goto bad;
	return 0;
bad:
	nc_backup_snapshot_release(s);
	return -1;
}

/* Loads snapshots/<id> (a full id) and checks its id against its text. */
int nc_bk_snapshot_get(struct nc_backup_snapshot *out, struct nc_backup_repo *r,
	const char *id, struct nc_err *err)
{
	char name[10 + NC_BACKUP_ID_HEX + 1], hex[NC_BACKUP_ID_HEX + 1];
	unsigned char *obj, *text, got[32];
	size_t olen, tlen;
	int rc;

	snprintf(name, sizeof(name), "snapshots/%s", id);
	rc = r->t->drv->get(r->t, name, &obj, &olen, err);
	if (rc == NC_BACKUP_ENOENT)
		nc_err_set(err, "snapshot %s does not exist", id);
	if (rc < 0)
		return rc;
	rc = nc_bk_obj_decode(r, name, obj, olen, MANIFEST_MAX, &text, &tlen, err);
	free(obj);
	if (rc < 0)
		return rc;
	nc_bk_content_id(r, got, text, tlen);
	nc_bk_hex_encode(hex, got, 32);
	if (strcmp(hex, id) != 0) {
		nc_err_set(err, "%s: contents do not match the id (corrupted manifest)", name);
		free(text);
		return -1;
	}
	if (manifest_parse(out, (char *)text, tlen) < 0) {
		nc_err_set(err, "%s: malformed manifest", name);
		free(text);
		return -1;
	}
	memcpy(out->id, id, sizeof(out->id));
	free(text);
	return 0;
}

/* Snapshot ids in the repository, sorted. */
int nc_bk_list_ids(char ***out, size_t *out_n, struct nc_backup_repo *r, struct nc_err *err)
{
	char **v;
	size_t n, i, k = 0;

	if (r->t->drv->list(r->t, "snapshots", &v, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (nc_bk_is_id(v[i]))
			v[k++] = v[i];
		else
			free(v[i]);
	}
	*out = v;
	*out_n = k;
	return 0;
}

static int resolve_id(char full[NC_BACKUP_ID_HEX + 1], struct nc_backup_repo *r,
	const char *prefix, struct nc_err *err)
{
	char **ids;
	size_t n, i, len = strlen(prefix), found = 0;

	if (nc_bk_is_id(prefix)) {
		memcpy(full, prefix, NC_BACKUP_ID_HEX + 1);
		return 0;
	}
	for (i = 0; i < len; i++)
		if (nc_bk_hex_val(prefix[i]) < 0 || (prefix[i] >= 'A' && prefix[i] <= 'F'))
			break;
	if (len < 4 || len > NC_BACKUP_ID_HEX || i < len) {
		nc_err_set(err, "'%s' is not a snapshot id (want at least 4 lower-case hex digits)",
			prefix);
		return -1;
	}
	if (nc_bk_list_ids(&ids, &n, r, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (strncmp(ids[i], prefix, len) == 0) {
			if (found++ == 0)
				memcpy(full, ids[i], NC_BACKUP_ID_HEX + 1);
		}
	}
	nc_backup_names_free(ids, n);
	if (found == 1)
		return 0;
	if (found == 0)
		nc_err_set(err, "snapshot %s does not exist", prefix);
	else
		nc_err_set(err, "snapshot id prefix %s is ambiguous (%zu snapshots)", prefix, found);
	return -1;
}

int nc_backup_snapshot_load(struct nc_backup_snapshot *out, struct nc_backup_repo *r,
	const char *id, struct nc_err *err)
{
	char full[NC_BACKUP_ID_HEX + 1];

	if (resolve_id(full, r, id, err) < 0)
		return -1;
	return nc_bk_snapshot_get(out, r, full, err);
}

static int cmp_snapshot(const void *a, const void *b)
{
	const struct nc_backup_snapshot *x = a, *y = b;
	int c = strcmp(x->vm, y->vm);

	if (c)
		return c;
	if ((c = strcmp(x->disk, y->disk)))
		return c;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

int nc_backup_list(struct nc_backup_snapshot **out, size_t *out_n,
	struct nc_backup_repo *r, struct nc_err *err)
{
	struct nc_backup_snapshot *v;
	char **ids;
	size_t n, i;

	if (nc_bk_list_ids(&ids, &n, r, err) < 0)
		return -1;
	v = nc_xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (nc_bk_snapshot_get(&v[i], r, ids[i], err) < 0) {
			nc_backup_snapshots_free(v, i);
			nc_backup_names_free(ids, n);
			return -1;
		}
	}
	nc_backup_names_free(ids, n);
	if (n)
		qsort(v, n, sizeof(*v), cmp_snapshot);
	*out = v;
	*out_n = n;
	return 0;
}
