/*
 * model.h - the typed desired model of a NovaCron cluster (novacron.io/v1).
 *
 * A struct nc_spec holds every object loaded from a directory tree, grouped by
 * kind and sorted by name, all allocated in one arena freed by
 * nc_spec_free().  Every value remembers where it was written: value types
 * start with a struct nc_pos whose line is 0 when the value was not given.
 * After nc_spec_load(), templates and VMs carry their effective machine
 * (`eff`): their own values merged over those they inherit.
 *
 * Loading never stops at the first problem: every problem is appended to the
 * caller's struct nc_diags, and the model holds what could be understood.
 * Callers must not act on a spec whose diags contain errors.
 */
#ifndef NC_MODEL_H
#define NC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cron.h"
#include "diag.h"
#include "util.h"

#define NC_API_VERSION "novacron.io/v1"

/* ---- positioned values ---- */
struct nc_str { struct nc_pos pos; const char *v; };
struct nc_int { struct nc_pos pos; int64_t v; };
struct nc_size { struct nc_pos pos; uint64_t v; };   /* bytes */
struct nc_bool { struct nc_pos pos; bool v; };
struct nc_num { struct nc_pos pos; double v; };
struct nc_enum { struct nc_pos pos; int v; };
struct nc_kv { struct nc_pos pos; const char *key; const char *value; };
struct nc_map { struct nc_pos pos; struct nc_kv *v; size_t n; };      /* sorted by key */
struct nc_strlist { struct nc_pos pos; struct nc_str *v; size_t n; };
/* a list of structs; v points to n structs of the element type */
struct nc_list { struct nc_pos pos; void *v; size_t n; };
struct nc_cronval { struct nc_pos pos; const char *v; struct nc_cron cron; };
struct nc_duration { struct nc_pos pos; uint64_t ms; };

#define NC_IS_SET(x) ((x).pos.line != 0)

/* ---- label selectors (Kubernetes style) ---- */
enum nc_sel_op { NC_SEL_IN, NC_SEL_NOT_IN, NC_SEL_EXISTS, NC_SEL_DOES_NOT_EXIST };
struct nc_sel_expr {
	struct nc_pos pos;
	struct nc_str key;
	struct nc_enum op;          /* enum nc_sel_op */
	struct nc_strlist values;
};
struct nc_selector {
	struct nc_pos pos;
	struct nc_map match_labels;
	struct nc_list match_expressions;   /* struct nc_sel_expr */
};
/* True when labels satisfy sel; an unset selector matches everything. */
bool nc_selector_matches(const struct nc_selector *sel, const struct nc_map *labels);
const char *nc_map_get(const struct nc_map *m, const char *key);

/* ---- kinds ---- */
enum nc_kind {
	NC_KIND_HOST,
	NC_KIND_TEMPLATE,
	NC_KIND_VM,
	NC_KIND_PLACEMENT_POLICY,
	NC_KIND_STORAGE_POOL,
	NC_KIND_NETWORK,
	NC_KIND_BACKUP_SCHEDULE,
	NC_KIND_IMAGE,
	NC_KIND_ALERT_RULE,
	NC_KIND_TENANT,
	NC_KIND_CLUSTER,             /* struct nc_cluster_def (spec/cluster.h) */
	NC_KIND_TIER_POLICY,
	NC_KIND__COUNT
};
const char *nc_kind_name(enum nc_kind k);          /* "PlacementPolicy" */
const char *nc_kind_plural(enum nc_kind k);        /* "placement policies" */
const char *nc_kind_singular(enum nc_kind k);      /* "placement policy" */
/* an object name as the spec allows it (metadata.name): at most 63 of [a-z0-9-], a letter
 * or digit at each end; for names that come from elsewhere (URLs of the API) */
bool nc_name_ok(const char *s);

struct nc_meta {
	struct nc_pos pos;
	struct nc_str name;
	struct nc_map labels;
	struct nc_map annotations;
};

struct nc_cluster_def;

/* The header shared by every object; first member of each kind's struct. */
struct nc_object {
	struct nc_pos pos;          /* start of the document */
	enum nc_kind kind;
	struct nc_str api_version;
	struct nc_str kind_str;
	struct nc_meta meta;
	bool invalid;               /* errors were found while converting it */
	/* Hosts, VMs, StoragePools and Networks: the Cluster it belongs to (spec.cluster, else the
	 * Cluster whose paths hold its file); NULL: no Cluster declared, or a shared object.
	 * Ask nc_spec_cluster_of() (spec/cluster.h). */
	const struct nc_cluster_def *cluster;
};

/* Host */
struct nc_capacity {
	struct nc_pos pos;
	struct nc_int vcpus;
	struct nc_size memory;
	struct nc_size disk;
};
struct nc_overcommit {
	struct nc_pos pos;
	struct nc_num cpu;
	struct nc_num memory;
	struct nc_num disk;
};
struct nc_host_spec {
	struct nc_pos pos;
	struct nc_str uri;
	struct nc_str migration_uri;  /* how other hosts' daemons reach this one */
	struct nc_bool maintenance;
	struct nc_capacity capacity;
	struct nc_overcommit overcommit;
	struct nc_strlist fence;      /* names of the operator's fence devices (docs/ha.md); at most NC_HOST_MAX_FENCE */
	struct nc_str cluster;        /* Cluster (spec/cluster.h) */
};
#define NC_HOST_MAX_FENCE 8
struct nc_host { struct nc_object obj; struct nc_host_spec spec; };

/* Template and VM share the machine description. */
enum nc_disk_bus { NC_BUS_VIRTIO, NC_BUS_SCSI, NC_BUS_SATA, NC_BUS_IDE };
struct nc_disk {
	struct nc_pos pos;
	struct nc_str name;
	struct nc_str pool;          /* StoragePool */
	struct nc_size size;
	struct nc_str image;         /* base image to clone */
	struct nc_enum bus;          /* enum nc_disk_bus */
	struct nc_bool boot;
};
enum nc_nic_model { NC_NIC_VIRTIO, NC_NIC_E1000, NC_NIC_RTL8139 };
struct nc_nic {
	struct nc_pos pos;
	struct nc_str name;
	struct nc_str network;       /* Network */
	struct nc_enum model;        /* enum nc_nic_model */
	struct nc_str mac;
	struct nc_str ip;            /* fixed IPv4 address: static DHCP lease + DNS name */
};
/*
 * cloud-init NoCloud seed (drivers/storage/seed.h): each document is at
 * most NC_CLOUD_INIT_MAX bytes.  cloud-init itself sets no limit for a
 * NoCloud file, but the clouds it runs on do (EC2 16 KiB, OpenStack and
 * Azure 64 KiB) and it reads user-data whole into memory at every boot; a
 * larger document belongs in an image or is fetched by the guest.
 */
#define NC_CLOUD_INIT_MAX (1024 * 1024)
struct nc_cloud_init {
	struct nc_pos pos;
	struct nc_str user_data;
	struct nc_str network_config;
};
struct nc_direct_boot {
	struct nc_pos pos;
	struct nc_str kernel;
	struct nc_str initrd;
	struct nc_str cmdline;
};
struct nc_machine {
	struct nc_pos pos;
	struct nc_int vcpus;
	struct nc_size memory;
	struct nc_str machine;
	struct nc_list disks;        /* struct nc_disk */
	struct nc_list nics;         /* struct nc_nic */
	struct nc_cloud_init cloud_init;
	struct nc_direct_boot boot;  /* boot a kernel image directly */
	struct nc_map labels;        /* labels given to VMs */
	struct nc_strlist ignore_differences;   /* drift fields left alone (nc_ignore_fields) */
};
/* the drift fields ignoreDifferences may name, NULL-terminated: "vcpus", "memory", ... */
extern const char *const nc_ignore_fields[];
/* the ignoreDifferences name covering a plan change's field ("disk root" -> "disks"), or NULL */
const char *nc_ignore_field_of(const char *change_field);

struct nc_template_spec {
	struct nc_pos pos;
	struct nc_str inherits;      /* Template */
	struct nc_machine m;
};
struct nc_template {
	struct nc_object obj;
	struct nc_template_spec spec;
	struct nc_machine eff;       /* after inheritance */
	int resolving;               /* 0 new, 1 in progress, 2 done */
	bool broken;                 /* it or an ancestor is invalid, missing or in a cycle */
};

enum nc_vm_state { NC_STATE_RUNNING, NC_STATE_STOPPED, NC_STATE_ABSENT };
enum nc_deletion_policy { NC_DELETE_RETAIN, NC_DELETE_DELETE };
enum nc_ha_policy { NC_HA_NONE, NC_HA_RESTART };
struct nc_placement {
	struct nc_pos pos;
	struct nc_str policy;        /* PlacementPolicy */
	struct nc_str host;          /* Host (pinned) */
	struct nc_selector host_selector;
};
struct nc_ha {
	struct nc_pos pos;
	struct nc_enum policy;       /* enum nc_ha_policy */
	struct nc_int priority;
};
/* migration.copyStorage / .compression values; true and false are the older boolean form
 * (copyStorage: true = full, false = none; compression: true = xbzrle, false = none) */
enum nc_mig_copy { NC_MIG_COPY_NONE, NC_MIG_COPY_FULL, NC_MIG_COPY_INCREMENTAL,
		   NC_MIG_COPY_TRUE, NC_MIG_COPY_FALSE };
enum nc_mig_comp { NC_MIG_COMP_NONE, NC_MIG_COMP_XBZRLE, NC_MIG_COMP_ZSTD, NC_MIG_COMP_ZLIB,
		   NC_MIG_COMP_TRUE, NC_MIG_COMP_FALSE };
struct nc_postcopy {
	struct nc_pos pos;
	struct nc_duration after;      /* switch to post-copy this long after the start */
	struct nc_bool not_converging; /* switch when the remaining memory stops shrinking */
};
/* a VM's migration tuning; a PlacementPolicy's are defaults its VMs inherit field by field */
struct nc_migration {
	struct nc_pos pos;
	struct nc_duration max_downtime;
	struct nc_duration timeout;
	struct nc_bool auto_converge;
	struct nc_enum compression;    /* enum nc_mig_comp */
	struct nc_enum copy_storage;   /* enum nc_mig_copy */
	struct nc_size max_bandwidth;  /* bytes per second */
	struct nc_int parallel;        /* parallelConnections */
	struct nc_postcopy post_copy;
	struct nc_bool tls;
};
struct nc_restore {
	struct nc_pos pos;
	struct nc_str backup;        /* snapshot id (or unique prefix, 8+ hex digits) */
	struct nc_str schedule;      /* BackupSchedule whose repository holds it */
};
/* ordering (docs/plan.md "Ordering and health gates") */
enum nc_health_wait { NC_WAIT_RUNNING, NC_WAIT_AGENT, NC_WAIT_NONE };
struct nc_health_gate {
	struct nc_pos pos;
	struct nc_enum wait;         /* enum nc_health_wait; default: running when something waits for the VM */
	struct nc_duration timeout;  /* default 5m */
};
/* a declared snapshot (docs/storage.md "Snapshots"; spec/snapshot.c validates) */
struct nc_snapshot_decl {
	struct nc_pos pos;
	struct nc_str name;
	struct nc_bool memory;       /* with the running guest's RAM; default false (disks only) */
	struct nc_bool quiesce;      /* freeze guest file systems through the agent; default true */
};
#define NC_SNAPSHOT_NAME_MAX 48
/* scheduled snapshots, taken by serve (docs/storage.md "Scheduled snapshots") */
struct nc_snapshot_schedule {
	struct nc_pos pos;
	struct nc_cronval schedule;
	struct nc_int keep;          /* scheduled snapshots kept, newest first; default 7 */
	struct nc_bool memory;
};
#define NC_SNAPSHOT_KEEP_DEFAULT 7
#define NC_WAVE_MAX 100
struct nc_vm_spec {
	struct nc_pos pos;
	struct nc_str template_name; /* Template */
	struct nc_machine m;
	struct nc_enum state;        /* enum nc_vm_state */
	struct nc_placement placement;
	struct nc_ha ha;
	struct nc_str backup_schedule; /* BackupSchedule */
	struct nc_restore restore;   /* create the disks from a backup */
	struct nc_enum deletion_policy; /* enum nc_deletion_policy */
	struct nc_bool deletion_protection;
	struct nc_bool allow_restart;
	struct nc_migration migration;
	struct nc_strlist depends_on; /* VMs brought up (and healthy) before this one */
	struct nc_int wave;          /* 0..NC_WAVE_MAX, lower waves first */
	struct nc_health_gate health;     /* the gate the VMs that wait for this one pass through */
	struct nc_str cluster;       /* Cluster (spec/cluster.h) */
	struct nc_list snapshots;    /* struct nc_snapshot_decl */
	struct nc_snapshot_schedule snapshot_schedule;
};
struct nc_vm {
	struct nc_object obj;
	struct nc_vm_spec spec;
	struct nc_machine eff;       /* template merged with the VM's own values */
	struct nc_map labels;        /* effective labels: template's + metadata's */
};

/* PlacementPolicy */
enum nc_strategy { NC_STRATEGY_SPREAD, NC_STRATEGY_PACK, NC_STRATEGY_BALANCED };
enum nc_affinity_type { NC_AFFINITY, NC_ANTI_AFFINITY };
enum nc_affinity_mode { NC_REQUIRED, NC_PREFERRED };
struct nc_affinity {
	struct nc_pos pos;
	struct nc_enum type;         /* enum nc_affinity_type */
	struct nc_enum mode;         /* enum nc_affinity_mode */
	struct nc_str topology_key;  /* "host", "rack", "zone" or any host label */
	struct nc_int weight;        /* 1-100, preferred only */
	struct nc_selector selector; /* the VMs to be near / away from */
};
struct nc_rebalance {
	struct nc_pos pos;
	struct nc_bool enabled;
	struct nc_int max_moves;
	struct nc_size max_memory;   /* bytes of memory migrated per pass at most */
	struct nc_num threshold;
};
/* load-aware placement (docs/placement.md "Observed load") */
enum nc_load_mode { NC_LOAD_STATIC, NC_LOAD_OBSERVED, NC_LOAD_BOTH };
struct nc_load_policy {
	struct nc_pos pos;
	struct nc_enum mode;         /* enum nc_load_mode; default static */
	struct nc_duration window;   /* averaged over; default 1h */
	struct nc_num headroom;      /* share of a host's CPUs and memory kept free of observed load */
};
struct nc_policy_spec {
	struct nc_pos pos;
	struct nc_selector vm_selector;
	struct nc_enum strategy;     /* enum nc_strategy */
	struct nc_selector host_selector;
	struct nc_list affinity;     /* struct nc_affinity */
	struct nc_rebalance rebalance;
	struct nc_load_policy load;
	struct nc_migration migration;   /* defaults for its VMs' own spec.migration */
};
struct nc_policy { struct nc_object obj; struct nc_policy_spec spec; };

/* StoragePool */
enum nc_pool_type { NC_POOL_DIR, NC_POOL_RBD, NC_POOL_NETFS };
struct nc_rbd {
	struct nc_pos pos;
	struct nc_str pool;
	struct nc_str ceph_conf;
	struct nc_str user;
	struct nc_str key_file;      /* cephx key (keyring or bare key), inside paths.secrets */
};
/* netfs pools: an NFS export libvirt mounts at path on each host (docs/storage.md) */
struct nc_netfs {
	struct nc_pos pos;
	struct nc_str server;        /* a host name or an IP address (spec/netfs.c) */
	struct nc_str export_path;   /* the export on the server: an absolute path */
	struct nc_int version;       /* 3 or 4; unset: mount negotiates */
};
struct nc_pool_spec {
	struct nc_pos pos;
	struct nc_enum type;         /* enum nc_pool_type */
	struct nc_str path;
	struct nc_rbd rbd;
	struct nc_netfs netfs;
	struct nc_selector host_selector;
	struct nc_str cluster;       /* Cluster (spec/cluster.h); unset: shared by every cluster */
	struct nc_str tier;          /* storage tier (fast, standard, archive...; docs/storage.md) */
};
struct nc_pool { struct nc_object obj; struct nc_pool_spec spec; };
/* A pool every host of it sees the same volumes in (rbd, netfs): a VM whose disks are all in
 * such pools moves without copying them, and HA may restart it elsewhere (spec/netfs.c). */
bool nc_pool_is_shared(const struct nc_pool *p);
bool nc_pool_is_netfs(const struct nc_pool *p);

/* Network */
enum nc_net_type { NC_NET_BRIDGE, NC_NET_NAT, NC_NET_ISOLATED };
struct nc_dhcp_range {
	struct nc_pos pos;
	struct nc_str start;         /* IPv4 addresses inside the subnet */
	struct nc_str end;
};
struct nc_net_spec {
	struct nc_pos pos;
	struct nc_enum type;         /* enum nc_net_type */
	struct nc_str bridge;        /* bridge: the host's bridge; nat/isolated: the one libvirt creates */
	struct nc_str subnet;        /* IPv4 CIDR, nat and isolated */
	struct nc_str subnet6;       /* IPv6 CIDR, nat and isolated */
	struct nc_bool dhcp;
	struct nc_dhcp_range dhcp_range;
	struct nc_bool autostart;    /* default true */
	struct nc_str cluster;       /* Cluster (spec/cluster.h); unset: shared by every cluster */
};
struct nc_network { struct nc_object obj; struct nc_net_spec spec; };

/* Image: a base image VM disks are cloned from (docs/spec.md) */
enum nc_image_format { NC_IMAGE_QCOW2, NC_IMAGE_RAW };
struct nc_image_source {
	struct nc_pos pos;
	struct nc_str url;           /* http(s)://..., fetched with libcurl */
	struct nc_str file;          /* a file name in the operator's paths.images */
};
struct nc_image_spec {
	struct nc_pos pos;
	struct nc_image_source source;
	struct nc_str sha256;        /* 64 lower-case hex digits */
	struct nc_enum format;       /* enum nc_image_format; default qcow2 */
};
struct nc_image { struct nc_object obj; struct nc_image_spec spec; };

/* BackupSchedule */
enum nc_target_type { NC_TARGET_DIR, NC_TARGET_RADOS, NC_TARGET_S3, NC_TARGET_SWIFT };
enum nc_compression { NC_COMPRESS_ZSTD, NC_COMPRESS_NONE };
struct nc_target {
	struct nc_pos pos;
	struct nc_enum type;         /* enum nc_target_type */
	struct nc_str path;
	struct nc_str pool;
	struct nc_str ceph_conf;
	struct nc_str endpoint;
	struct nc_str bucket;
	struct nc_str region;
	struct nc_str credentials_file;
	struct nc_str ceph_user;
	struct nc_str prefix;
};
struct nc_retention {
	struct nc_pos pos;
	struct nc_int keep_last;
	struct nc_int keep_daily;
	struct nc_int keep_weekly;
	struct nc_int keep_monthly;
};
struct nc_encryption {
	struct nc_pos pos;
	struct nc_str key_file;
};
struct nc_backup_spec {
	struct nc_pos pos;
	struct nc_cronval schedule;
	struct nc_selector vm_selector;
	struct nc_strlist vms;       /* VM names */
	struct nc_target target;
	struct nc_retention retention;
	struct nc_enum compression;  /* enum nc_compression */
	struct nc_int compression_level;
	struct nc_encryption encryption;
	struct nc_bool quiesce;
};
struct nc_backup { struct nc_object obj; struct nc_backup_spec spec; };

/* AlertRule (docs/monitoring.md "Alert rules"; evaluated by telemetry/alerts.c) */
enum nc_alert_op { NC_AOP_GT, NC_AOP_GE, NC_AOP_LT, NC_AOP_LE, NC_AOP_EQ, NC_AOP_NE };
enum nc_alert_severity { NC_ALERT_CRITICAL, NC_ALERT_WARNING, NC_ALERT_INFO };
struct nc_alert_threshold {
	struct nc_pos pos;
	struct nc_enum op;           /* enum nc_alert_op */
	struct nc_num value;
};
struct nc_alert_anomaly {
	struct nc_pos pos;
	struct nc_duration season;   /* 1m..7d (the anomaly RRD's kept history) */
	struct nc_num sensitivity;   /* Holt-Winters deviation multiplier (default 2) */
	struct nc_int window;        /* FAILURES window in rounds (default 9) */
	struct nc_int failures;      /* aberrant rounds in the window that flag (default 7) */
};
struct nc_alert_rule_spec {
	struct nc_pos pos;
	struct nc_enum target;       /* enum nc_metric_target (spec/metrics.h) */
	struct nc_selector selector; /* hosts/pools by metadata.labels, VMs by effective labels */
	struct nc_str metric;        /* a metric of the target (spec/metrics.h) */
	struct nc_alert_threshold threshold;
	struct nc_alert_anomaly anomaly;
	struct nc_duration for_;     /* `for:` held this long before firing (0: at once) */
	struct nc_enum severity;     /* enum nc_alert_severity; default warning */
	struct nc_str summary;       /* template: {{ object }}, {{ value }}, ... */
};
struct nc_alert_rule { struct nc_object obj; struct nc_alert_rule_spec spec; };

/*
 * Summary templates: text with "{{ NAME }}" placeholders (spaces inside the
 * braces optional).  Nothing else is interpreted: a template reaches no
 * file, program or URL.  nc_alert_template_check() returns 0, or -1 with
 * *off the byte offset of the problem and *why what it is (static, or the
 * unknown name quoted into why_buf).
 */
enum nc_alert_ph {
	NC_PH_OBJECT, NC_PH_VALUE, NC_PH_THRESHOLD, NC_PH_HOST, NC_PH_RULE, NC_PH_METRIC,
	NC_PH_TARGET, NC_PH_SEVERITY, NC_PH__COUNT
};
extern const char *const nc_alert_placeholders[NC_PH__COUNT];   /* "object", "value", ... */
#define NC_ALERT_SUMMARY_MAX 1024
int nc_alert_template_check(const char *s, size_t *off, const char **why, char *why_buf, size_t why_len);
/* appends tmpl with each placeholder replaced by vals[ph] (NULL: empty) */
void nc_alert_template_expand(struct nc_buf *out, const char *tmpl, const char *const vals[NC_PH__COUNT]);

/* Tenant (docs/tenants.md; spec/tenant.h) */
struct nc_tenant_quota {
	struct nc_pos pos;
	struct nc_int vms;           /* unset: no limit */
	struct nc_int vcpus;
	struct nc_size memory;
	struct nc_size disk;
};
struct nc_tenant_spec {
	struct nc_pos pos;
	struct nc_strlist paths;     /* folders of the spec, relative to its root */
	struct nc_tenant_quota quota;
	struct nc_strlist networks;  /* unset: any; []: none */
	struct nc_strlist pools;
	struct nc_strlist templates;
};
struct nc_tenant { struct nc_object obj; struct nc_tenant_spec spec; };

/* Cluster (docs/federation.md; spec/cluster.h).  struct nc_cluster (reconciler/pass.h) is the
 * observed hosts of a pass; this is the spec kind. */
struct nc_cluster_transfer {
	struct nc_pos pos;
	struct nc_size bandwidth;    /* bytes per second of the cluster's WAN link */
	struct nc_str backup_schedule; /* BackupSchedule whose repository receives transfers into it */
	struct nc_bool live;         /* live moves into this cluster allowed; default true */
};
struct nc_cluster_spec {
	struct nc_pos pos;
	struct nc_strlist paths;     /* folders of the spec, relative to its root */
	struct nc_cluster_transfer transfer;
};
struct nc_cluster_def { struct nc_object obj; struct nc_cluster_spec spec; };
/* StorageTierPolicy (docs/storage.md "Storage tiers"; reconciler/tiering.c) */
struct nc_tier_rule {
	struct nc_pos pos;
	struct nc_duration idle_for; /* no block I/O for this long (telemetry) */
	struct nc_selector selector; /* VMs by effective labels */
	struct nc_str tier;          /* the tier the rule's disks go to */
};
struct nc_tier_policy_spec {
	struct nc_pos pos;
	struct nc_selector vm_selector;
	struct nc_list rules;        /* struct nc_tier_rule; the first that matches wins */
	struct nc_size budget;       /* bytes moved per pass (default NC_TIER_BUDGET) */
	struct nc_duration hysteresis; /* active this long before moving back (default 1h) */
};
struct nc_tier_policy { struct nc_object obj; struct nc_tier_policy_spec spec; };
#define NC_TIER_BUDGET (64ULL << 30)
#define NC_TIER_HYSTERESIS_MS 3600000ULL

/* ---- the whole spec ---- */
/* a path given to nc_spec_load: a file's tenant is found from its path below it */
struct nc_spec_root { const char *path; bool dir; };

struct nc_spec {
	struct nc_arena arena;
	struct nc_object **objs[NC_KIND__COUNT];   /* sorted by name */
	size_t nobjs[NC_KIND__COUNT];
	size_t nfiles;
	size_t ndocs;
	size_t yaml_nodes;
	size_t missing_refs;         /* references reported missing so far */
	struct nc_spec_root *roots;  /* the paths loaded (arena), for spec/tenant.h */
	size_t nroots;
};

struct nc_load_opts {
	size_t max_file_size;        /* default 32 MiB */
	unsigned max_depth;          /* default 64 */
};

/*
 * Loads every *.yaml / *.yml file under each path (a file or a directory,
 * walked recursively in byte order; entries starting with '.' are skipped),
 * validates the whole, and returns the model in *out (always, even when
 * diags has errors).  Returns 0 when no error was found, -1 otherwise.
 */
int nc_spec_load(struct nc_spec **out, const char *const *paths, size_t npaths,
		 const struct nc_load_opts *opts, struct nc_diags *diags);
/* Same for one in-memory file (used by the fuzzer and tests). */
int nc_spec_load_buffer(struct nc_spec **out, const char *file, const char *buf,
			size_t len, const struct nc_load_opts *opts,
			struct nc_diags *diags);
void nc_spec_free(struct nc_spec *spec);

struct nc_object *nc_spec_find(const struct nc_spec *spec, enum nc_kind kind,
			       const char *name);
/* The object's index in spec->objs[kind] (sorted by name), or (size_t)-1. */
size_t nc_spec_pos(const struct nc_spec *spec, enum nc_kind kind, const char *name);

#define NC_SPEC_EACH(spec, kind, type, var, i) \
	for ((i) = 0; (i) < (spec)->nobjs[kind] && \
	     ((var) = (type *)(spec)->objs[kind][i], 1); (i)++)

/* The first pool of the VM's disks whose volumes NovaCron cannot snapshot (rbd), with that
 * disk in *disk (may be NULL), or NULL when every disk can be (spec/snapshot.c). */
const struct nc_pool *nc_snapshot_unsupported_pool(const struct nc_spec *spec, const struct nc_vm *vm,
						   const struct nc_disk **disk);

/* "500ms", "30s", "10m", "2h" -> milliseconds. */
int nc_duration_parse(const char *s, uint64_t *out, const char **err);
/* Size helpers: "4GiB" -> bytes; formats bytes back in the largest exact unit. */
int nc_size_parse(const char *s, uint64_t *out, const char **err);
void nc_size_format(uint64_t v, char *buf, size_t len);

#endif
