/*
 * schema.h - the field tables that describe every kind (internal to spec/).
 *
 * One table per struct says, for every YAML key, its type, where the value
 * lives (offsetof), limits, what it references, and a line of documentation.
 * The loader (parse.c) converts YAML with these tables, so unknown keys,
 * wrong types and ranges are checked the same way everywhere;
 * resolve.c merges templates field by field with them; validate.c follows
 * references with them; `novacron explain` prints them.
 */
#ifndef NC_SCHEMA_H
#define NC_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum nc_ftype {
	NC_F_STR,       /* struct nc_str */
	NC_F_INT,       /* struct nc_int, min..max */
	NC_F_SIZE,      /* struct nc_size, min bytes */
	NC_F_BOOL,      /* struct nc_bool */
	NC_F_NUM,       /* struct nc_num, min..max (as doubles: min_f/max_f) */
	NC_F_ENUM,      /* struct nc_enum, values */
	NC_F_MAP,       /* struct nc_map of strings */
	NC_F_STRLIST,   /* struct nc_strlist */
	NC_F_STRUCT,    /* embedded struct described by sub */
	NC_F_LIST,      /* struct nc_list of sub, elem_size each */
	NC_F_CRON,      /* struct nc_cronval */
	NC_F_DURATION,  /* struct nc_duration, min..max in ms */
};

/* Extra checks on a string value, run during conversion. */
enum nc_fcheck {
	NC_CHK_NONE,
	NC_CHK_NAME,        /* object / item name: DNS label */
	NC_CHK_LABELS,      /* map: label keys and values */
	NC_CHK_LABEL_KEY,   /* label key syntax */
	NC_CHK_LABEL_VALUE, /* strlist: label values */
	NC_CHK_URI,         /* scheme://... */
	NC_CHK_ABS_PATH,    /* absolute path, no '..' component, no control character */
	NC_CHK_IMAGE,       /* a bare file/image name, or NC_CHK_ABS_PATH */
	NC_CHK_CIDR,        /* IPv4 or IPv6 CIDR */
	NC_CHK_CIDR4,       /* IPv4 CIDR */
	NC_CHK_CIDR6,       /* IPv6 CIDR */
	NC_CHK_IPV4,        /* an IPv4 address */
	NC_CHK_MAC,         /* 52:54:00:12:34:56 */
	NC_CHK_IFNAME,      /* Linux interface name: [A-Za-z0-9_.-], 1-15, no leading '-' or '.' */
	NC_CHK_HTTP_URL,    /* http:// or https:// URL */
	NC_CHK_FILE_NAME,   /* a bare file name: no '/', not "." or "..", no leading '.', printable */
	NC_CHK_SHA256,      /* 64 lower-case hex digits */
	NC_CHK_CEPH_NAME,   /* Ceph pool or cephx user id: [A-Za-z0-9_.-], 1-127, no leading '-' */
	NC_CHK_MACHINE,     /* QEMU machine type: [A-Za-z0-9_.-], 1-63, no leading '-' */
	NC_CHK_PRINTABLE,   /* no control character */
	NC_CHK_ALERT_TEMPLATE, /* an AlertRule summary: known {{ placeholders }} only (model.h) */
	NC_CHK_HOSTNAME,    /* a DNS host name or an IPv4/IPv6 address (spec/netfs.c) */
};

struct nc_schema;

struct nc_field {
	const char *key;
	enum nc_ftype type;
	size_t off;
	const struct nc_schema *sub;
	const char *const *values;   /* NC_F_ENUM: NULL-terminated */
	int64_t min, max;            /* NC_F_INT / NC_F_SIZE (min only) */
	double min_f, max_f;         /* NC_F_NUM */
	int ref;                     /* kind referenced + 1, or 0 */
	enum nc_fcheck check;
	unsigned required : 1;
	unsigned merge_key : 1;      /* NC_F_LIST items are merged by this key */
	const char *doc;
};

struct nc_schema {
	const char *name;            /* used in messages: "VM spec", "disk" */
	size_t size;                 /* sizeof the struct */
	const struct nc_field *fields;
	size_t nfields;
};

struct nc_kind_info {
	const char *name;            /* "VM" */
	const char *singular;        /* "VM" */
	const char *plural;          /* "VMs" */
	size_t size;                 /* sizeof(struct nc_vm) */
	const struct nc_schema *root; /* apiVersion, kind, metadata, spec */
	const struct nc_schema *spec; /* the spec: struct */
	const char *doc;
};

extern const struct nc_kind_info nc_kinds[NC_KIND__COUNT];
extern const struct nc_schema nc_schema_machine;
extern const struct nc_schema nc_schema_selector;

const struct nc_field *nc_schema_field(const struct nc_schema *s, const char *key);

/*
 * Loads a one-document YAML file (a configuration, not a cluster spec) into
 * *out, described by root, with the same checks and positioned errors as the
 * spec.  *holder owns the strings; free it with nc_spec_free() after use.
 */
int nc_config_load(struct nc_spec **holder, const struct nc_schema *root, const char *path,
		   void *out, struct nc_diags *diags);

#endif
