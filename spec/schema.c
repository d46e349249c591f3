/* schema.c - the novacron.io/v1 field tables; see schema.h and docs/spec.md */
#include "schema.h"

#include <string.h>

#define SCHEMA(n, st, tbl) { n, sizeof(st), tbl, NC_ARRAY_SIZE(tbl) }
#define F(k, t, st, member, ...) \
	{ .key = (k), .type = (t), .off = offsetof(st, member), __VA_ARGS__ }
#define REF(kind) .ref = (kind) + 1
#define GiB (1024LL * 1024 * 1024)
#define MiB (1024LL * 1024)

static const char *const bus_values[] = { "virtio", "scsi", "sata", "ide", NULL };
static const char *const nic_model_values[] = { "virtio", "e1000", "rtl8139", NULL };
static const char *const state_values[] = { "running", "stopped", "absent", NULL };
static const char *const deletion_values[] = { "retain", "delete", NULL };
static const char *const ha_values[] = { "none", "restart", NULL };
static const char *const strategy_values[] = { "spread", "pack", "balanced", NULL };
static const char *const load_mode_values[] = { "static", "observed", "both", NULL };
static const char *const affinity_type_values[] = { "affinity", "antiAffinity", NULL };
static const char *const affinity_mode_values[] = { "required", "preferred", NULL };
static const char *const pool_type_values[] = { "dir", "rbd", "netfs", NULL };
static const char *const net_type_values[] = { "bridge", "nat", "isolated", NULL };
static const char *const target_type_values[] = { "dir", "rados", "s3", "swift", NULL };
static const char *const compression_values[] = { "zstd", "none", NULL };
/* enum nc_mig_comp and enum nc_mig_copy order */
static const char *const mig_comp_values[] = { "none", "xbzrle", "zstd", "zlib", "true", "false", NULL };
static const char *const mig_copy_values[] = { "none", "full", "incremental", "true", "false", NULL };
static const char *const image_format_values[] = { "qcow2", "raw", NULL };
static const char *const alert_target_values[] = { "host", "vm", "pool", NULL };
static const char *const alert_op_values[] = { ">", ">=", "<", "<=", "==", "!=", NULL };
static const char *const severity_values[] = { "critical", "warning", "info", NULL };
static const char *const wait_values[] = { "running", "agent", "none", NULL };
static const char *const sel_op_values[] = { "In", "NotIn", "Exists", "DoesNotExist", NULL };

/* ---- selectors ---- */
static const struct nc_field sel_expr_fields[] = {
	F("key", NC_F_STR, struct nc_sel_expr, key, .required = 1, .check = NC_CHK_LABEL_KEY,
	  .doc = "label key the expression tests"),
	F("operator", NC_F_ENUM, struct nc_sel_expr, op, .values = sel_op_values, .required = 1,
	  .doc = "In, NotIn, Exists or DoesNotExist"),
	F("values", NC_F_STRLIST, struct nc_sel_expr, values, .check = NC_CHK_LABEL_VALUE,
	  .doc = "label values; required for In and NotIn, forbidden otherwise"),
};
static const struct nc_schema sel_expr_schema =
	SCHEMA("match expression", struct nc_sel_expr, sel_expr_fields);

static const struct nc_field selector_fields[] = {
	F("matchLabels", NC_F_MAP, struct nc_selector, match_labels, .check = NC_CHK_LABELS,
	  .doc = "labels that must all be present with these values"),
	F("matchExpressions", NC_F_LIST, struct nc_selector, match_expressions,
	  .sub = &sel_expr_schema, .doc = "set-based requirements, all of which must hold"),
};
const struct nc_schema nc_schema_selector = SCHEMA("selector", struct nc_selector, selector_fields);

/* ---- metadata and the document root ---- */
static const struct nc_field meta_fields[] = {
	F("name", NC_F_STR, struct nc_meta, name, .required = 1, .check = NC_CHK_NAME,
	  .doc = "unique name within its kind: lower-case letters, digits and '-', at most 63"),
	F("labels", NC_F_MAP, struct nc_meta, labels, .check = NC_CHK_LABELS,
	  .doc = "key/value labels that selectors match"),
	F("annotations", NC_F_MAP, struct nc_meta, annotations,
	  .doc = "free-form key/value notes, never interpreted"),
};
static const struct nc_schema meta_schema = SCHEMA("metadata", struct nc_meta, meta_fields);

#define ROOT_FIELDS(st, spec_schema) \
	F("apiVersion", NC_F_STR, st, obj.api_version, .required = 1, \
	  .doc = "always " NC_API_VERSION), \
	F("kind", NC_F_STR, st, obj.kind_str, .required = 1, .doc = "the kind of object"), \
	F("metadata", NC_F_STRUCT, st, obj.meta, .sub = &meta_schema, .required = 1, \
	  .doc = "name, labels and annotations"), \
	F("spec", NC_F_STRUCT, st, spec, .sub = &(spec_schema), .required = 1, \
	  .doc = "the desired state")

/* ---- Host ---- */
static const struct nc_field capacity_fields[] = {
	F("vcpus", NC_F_INT, struct nc_capacity, vcpus, .min = 1, .max = 65536,
	  .doc = "schedulable vCPUs (default: the host's CPUs as libvirt reports them)"),
	F("memory", NC_F_SIZE, struct nc_capacity, memory, .min = MiB,
	  .doc = "schedulable memory (default: the host's memory)"),
	F("disk", NC_F_SIZE, struct nc_capacity, disk, .min = MiB,
	  .doc = "schedulable disk space for local pools"),
};
static const struct nc_schema capacity_schema = SCHEMA("capacity", struct nc_capacity, capacity_fields);

static const struct nc_field overcommit_fields[] = {
	F("cpu", NC_F_NUM, struct nc_overcommit, cpu, .min_f = 0.1, .max_f = 64,
	  .doc = "vCPUs allowed per physical CPU (default 4.0)"),
	F("memory", NC_F_NUM, struct nc_overcommit, memory, .min_f = 0.1, .max_f = 4,
	  .doc = "memory allowed per byte of host memory (default 1.0)"),
	F("disk", NC_F_NUM, struct nc_overcommit, disk, .min_f = 0.1, .max_f = 16,
	  .doc = "provisioned disk allowed per byte of pool space (default 1.0)"),
};
static const struct nc_schema overcommit_schema =
	SCHEMA("overcommit", struct nc_overcommit, overcommit_fields);

static const struct nc_field host_spec_fields[] = {
	F("uri", NC_F_STR, struct nc_host_spec, uri, .required = 1, .check = NC_CHK_URI,
	  .doc = "libvirt connection URI naming the host and transport, e.g. qemu+ssh://root@kvm1/system or "
		 "sim:///kvm1; keys, sockets and other parameters come from the operator's connections"),
	F("migrationUri", NC_F_STR, struct nc_host_spec, migration_uri, .check = NC_CHK_URI,
	  .doc = "URI other hosts' libvirt daemons use to reach this one for migration (default: uri); "
		 "the same rules as uri"),
	F("maintenance", NC_F_BOOL, struct nc_host_spec, maintenance,
	  .doc = "true drains the host: its VMs move elsewhere and nothing new lands"),
	F("capacity", NC_F_STRUCT, struct nc_host_spec, capacity, .sub = &capacity_schema,
	  .doc = "override what the host reports"),
	F("overcommit", NC_F_STRUCT, struct nc_host_spec, overcommit, .sub = &overcommit_schema,
	  .doc = "overcommit ratios for placement"),
	F("fence", NC_F_STRLIST, struct nc_host_spec, fence, .check = NC_CHK_NAME,
	  .doc = "names of the fence devices that fence this host when it fails, tried in order (at most 8); "
		 "each is defined in the operator's fencing: configuration, never in the spec (docs/ha.md)"),
	F("cluster", NC_F_STR, struct nc_host_spec, cluster, REF(NC_KIND_CLUSTER),
	  .doc = "the Cluster this host belongs to (default: the Cluster whose paths hold its file; "
		 "required once the spec declares a Cluster, docs/federation.md)"),
};
static const struct nc_schema host_spec_schema = SCHEMA("Host spec", struct nc_host_spec, host_spec_fields);
static const struct nc_field host_root[] = { ROOT_FIELDS(struct nc_host, host_spec_schema) };
static const struct nc_schema host_root_schema = SCHEMA("Host", struct nc_host, host_root);

/* ---- machine: shared by Template and VM ---- */
static const struct nc_field disk_fields[] = {
	F("name", NC_F_STR, struct nc_disk, name, .required = 1, .check = NC_CHK_NAME,
	  .merge_key = 1, .doc = "disk name, unique within the machine; a VM's disk overrides its template's disk of the same name"),
	F("pool", NC_F_STR, struct nc_disk, pool, REF(NC_KIND_STORAGE_POOL),
	  .doc = "StoragePool the volume lives in"),
	F("size", NC_F_SIZE, struct nc_disk, size, .min = MiB, .doc = "virtual size, e.g. 20GiB"),
	F("image", NC_F_STR, struct nc_disk, image, .check = NC_CHK_IMAGE,
	  .doc = "base image to clone (copy-on-write): the name of an Image, which apply uploads into the "
		 "disk's pool on each host that needs it; or an absolute path of a file already on every host, "
		 "inside the operator's paths.images"),
	F("bus", NC_F_ENUM, struct nc_disk, bus, .values = bus_values,
	  .doc = "virtio (default), scsi, sata or ide"),
	F("boot", NC_F_BOOL, struct nc_disk, boot, .doc = "boot from this disk"),
};
static const struct nc_schema disk_schema = SCHEMA("disk", struct nc_disk, disk_fields);

static const struct nc_field nic_fields[] = {
	F("name", NC_F_STR, struct nc_nic, name, .required = 1, .check = NC_CHK_NAME,
	  .merge_key = 1, .doc = "NIC name, unique within the machine"),
	F("network", NC_F_STR, struct nc_nic, network, REF(NC_KIND_NETWORK),
	  .doc = "Network to attach to"),
	F("model", NC_F_ENUM, struct nc_nic, model, .values = nic_model_values,
	  .doc = "virtio (default), e1000 or rtl8139"),
	F("mac", NC_F_STR, struct nc_nic, mac, .check = NC_CHK_MAC,
	  .doc = "fixed MAC address (default: derived from the VM and NIC names)"),
	F("ip", NC_F_STR, struct nc_nic, ip, .check = NC_CHK_IPV4,
	  .doc = "fixed IPv4 address in the network's subnet (nat and isolated networks): a static DHCP "
		 "lease for the NIC's MAC and a DNS name (the VM's name) on the network"),
};
static const struct nc_schema nic_schema = SCHEMA("nic", struct nc_nic, nic_fields);

static const struct nc_field cloud_init_fields[] = {
	F("userData", NC_F_STR, struct nc_cloud_init, user_data,
	  .doc = "cloud-init user-data document (at most 1 MiB), given to the guest byte for byte"),
	F("networkConfig", NC_F_STR, struct nc_cloud_init, network_config,
	  .doc = "cloud-init network-config document (at most 1 MiB); default: generated from the NICs (match by MAC, DHCPv4)"),
};
static const struct nc_schema cloud_init_schema =
	SCHEMA("cloudInit", struct nc_cloud_init, cloud_init_fields);

static const struct nc_field boot_fields[] = {
	F("kernel", NC_F_STR, struct nc_direct_boot, kernel, .required = 1, .check = NC_CHK_ABS_PATH,
	  .doc = "kernel image on the host, inside the operator's paths.boot"),
	F("initrd", NC_F_STR, struct nc_direct_boot, initrd, .check = NC_CHK_ABS_PATH,
	  .doc = "initial ramdisk on the host, inside the operator's paths.boot"),
	F("cmdline", NC_F_STR, struct nc_direct_boot, cmdline, .check = NC_CHK_PRINTABLE, .doc = "kernel command line"),
};
static const struct nc_schema boot_schema = SCHEMA("boot", struct nc_direct_boot, boot_fields);

#define FM(base, k, t, member, ...) \
	{ .key = (k), .type = (t), .off = (base) + offsetof(struct nc_machine, member), __VA_ARGS__ }
#define MACHINE_FIELDS(base) \
	FM(base, "vcpus", NC_F_INT, vcpus, .min = 1, .max = 1024, .doc = "virtual CPUs"), \
	FM(base, "memory", NC_F_SIZE, memory, .min = MiB, .doc = "memory, e.g. 2GiB"), \
	FM(base, "machine", NC_F_STR, machine, .check = NC_CHK_MACHINE, \
	   .doc = "QEMU machine type, e.g. q35 or pc (default: the host's default)"), \
	FM(base, "disks", NC_F_LIST, disks, .sub = &disk_schema, .doc = "disks, merged by name"), \
	FM(base, "nics", NC_F_LIST, nics, .sub = &nic_schema, \
	   .doc = "network interfaces, merged by name"), \
	FM(base, "cloudInit", NC_F_STRUCT, cloud_init, .sub = &cloud_init_schema, \
	   .doc = "cloud-init data, on a NoCloud seed CD-ROM labelled cidata"), \
	FM(base, "boot", NC_F_STRUCT, boot, .sub = &boot_schema, \
	   .doc = "boot a kernel directly instead of from a disk"), \
	FM(base, "labels", NC_F_MAP, labels, .check = NC_CHK_LABELS, \
	   .doc = "labels every VM of this machine carries"), \
	FM(base, "ignoreDifferences", NC_F_STRLIST, ignore_differences, \
	   .doc = "drift left alone, shown as ignored in plans: vcpus, memory, machine, disks, nics, " \
		  "cloudInit or state (the whole list replaces its template's)")

static const struct nc_field machine_fields[] = { MACHINE_FIELDS(0) };

const char *const nc_ignore_fields[] = { "vcpus", "memory", "machine", "disks", "nics", "cloudInit", "state", NULL };

const char *nc_ignore_field_of(const char *f)
{
	if (!strcmp(f, "vcpus") || !strcmp(f, "memory") || !strcmp(f, "machine") || !strcmp(f, "state"))
		return f[0] == 'v' ? "vcpus" : f[0] == 'm' && f[1] == 'e' ? "memory" : f[0] == 'm' ? "machine" : "state";
	if (!strcmp(f, "memory (live)"))
		return "memory";
	if (!strncmp(f, "disk ", 5))
		return "disks";
	if (!strncmp(f, "nic ", 4))
		return "nics";
	if (!strncmp(f, "cloudInit", 9) || !strcmp(f, "cdrom"))
		return "cloudInit";
	return NULL;
}

/* ---- Template ---- */
static const struct nc_field template_spec_fields[] = {
	F("inherits", NC_F_STR, struct nc_template_spec, inherits, REF(NC_KIND_TEMPLATE),
	  .doc = "parent Template whose values this one extends"),
	MACHINE_FIELDS(offsetof(struct nc_template_spec, m)),
};
static const struct nc_schema template_spec_schema =
	SCHEMA("Template spec", struct nc_template_spec, template_spec_fields);
static const struct nc_field template_root[] = { ROOT_FIELDS(struct nc_template, template_spec_schema) };
static const struct nc_schema template_root_schema = SCHEMA("Template", struct nc_template, template_root);

/* ---- VM ---- */
static const struct nc_field placement_fields[] = {
	F("policy", NC_F_STR, struct nc_placement, policy, REF(NC_KIND_PLACEMENT_POLICY),
	  .doc = "PlacementPolicy to follow (default: every policy whose vmSelector matches)"),
	F("host", NC_F_STR, struct nc_placement, host, REF(NC_KIND_HOST),
	  .doc = "pin the VM to this Host"),
	F("hostSelector", NC_F_STRUCT, struct nc_placement, host_selector, .sub = &nc_schema_selector,
	  .doc = "only hosts whose labels match"),
};
static const struct nc_schema placement_schema = SCHEMA("placement", struct nc_placement, placement_fields);

static const struct nc_field ha_fields[] = {
	F("policy", NC_F_ENUM, struct nc_ha, policy, .values = ha_values,
	  .doc = "none (default) or restart: restart on another host when its host is fenced"),
	F("priority", NC_F_INT, struct nc_ha, priority, .min = 0, .max = 1000,
	  .doc = "higher restarts first"),
};
static const struct nc_schema ha_schema = SCHEMA("ha", struct nc_ha, ha_fields);

static const struct nc_field postcopy_fields[] = {
	F("after", NC_F_DURATION, struct nc_postcopy, after, .min = 1000, .max = 86400000,
	  .doc = "switch to post-copy this long after the migration started, e.g. 30s"),
	F("notConverging", NC_F_BOOL, struct nc_postcopy, not_converging,
	  .doc = "switch to post-copy when the memory left to copy stops shrinking: it has not dropped below "
		 "90 % of its lowest value for 5 s"),
};
static const struct nc_schema postcopy_schema = SCHEMA("postCopy", struct nc_postcopy, postcopy_fields);

static const struct nc_field migration_fields[] = {
	F("maxDowntime", NC_F_DURATION, struct nc_migration, max_downtime, .min = 1, .max = 60000,
	  .doc = "longest pause allowed at the switch-over of a live migration, e.g. 300ms"),
	F("timeout", NC_F_DURATION, struct nc_migration, timeout, .min = 1000, .max = 86400000,
	  .doc = "abort a live migration after this long; the VM keeps running where it was (default 10m)"),
	F("autoConverge", NC_F_BOOL, struct nc_migration, auto_converge,
	  .doc = "throttle the guest's CPUs if it dirties memory faster than it is copied"),
	F("compression", NC_F_ENUM, struct nc_migration, compression, .values = mig_comp_values,
	  .doc = "compress memory pages on the wire: none (default), xbzrle (delta of pages sent "
		 "again), zstd or zlib (multifd, needs libvirt 9.4); true means xbzrle, false none"),
	F("copyStorage", NC_F_ENUM, struct nc_migration, copy_storage, .values = mig_copy_values,
	  .doc = "copy local (non-shared) disks along with the memory: none (default), full (every "
		 "disk), incremental (each disk's top image only; its base must be at the destination); "
		 "true means full, false none"),
	F("maxBandwidth", NC_F_SIZE, struct nc_migration, max_bandwidth, .min = 1LL << 20,
	  .doc = "cap on the migration stream, per second, e.g. 200MiB"),
	F("parallelConnections", NC_F_INT, struct nc_migration, parallel, .min = 1, .max = 64,
	  .doc = "send memory over this many TCP connections (multifd); 1 (default) is one stream"),
	F("postCopy", NC_F_STRUCT, struct nc_migration, post_copy, .sub = &postcopy_schema,
	  .doc = "switch to post-copy (the guest runs on the destination and fetches pages it still "
		 "lacks): after a time, when not converging, or both; a link lost then loses the guest"),
	F("tls", NC_F_BOOL, struct nc_migration, tls,
	  .doc = "encrypt the migration stream with TLS; the certificates are the daemons' own "
		 "(qemu.conf migrate_tls_x509_cert_dir)"),
};
static const struct nc_schema migration_schema = SCHEMA("migration", struct nc_migration, migration_fields);

static const struct nc_field restore_fields[] = {
	F("backup", NC_F_STR, struct nc_restore, backup, .required = 1,
	  .doc = "backup id (or a unique prefix of 8+ hex digits) from `novacron backup list`"),
	F("schedule", NC_F_STR, struct nc_restore, schedule, REF(NC_KIND_BACKUP_SCHEDULE),
	  .doc = "BackupSchedule whose repository holds it (default: backupSchedule)"),
};
static const struct nc_schema restore_schema = SCHEMA("restore", struct nc_restore, restore_fields);

static const struct nc_field health_fields[] = {
	F("wait", NC_F_ENUM, struct nc_health_gate, wait, .values = wait_values,
	  .doc = "running: libvirt reports the domain running; agent: running and its QEMU guest agent "
		 "answers guest-ping; none: no gate (default: running when a VM depends on this one or a "
		 "later wave exists, else none)"),
	F("timeout", NC_F_DURATION, struct nc_health_gate, timeout, .min = 1000, .max = 86400000,
	  .doc = "how long apply waits for the gate before it fails the VM and skips the VMs that wait "
		 "for it (default 5m)"),
};
static const struct nc_schema health_schema = SCHEMA("health", struct nc_health_gate, health_fields);

static const struct nc_field snapshot_fields[] = {
	F("name", NC_F_STR, struct nc_snapshot_decl, name, .required = 1, .check = NC_CHK_NAME,
	  .doc = "the snapshot's name on the host, unique within the VM, at most 48 characters"),
	F("memory", NC_F_BOOL, struct nc_snapshot_decl, memory,
	  .doc = "true saves the running guest's memory too (revert resumes it where it was); default false: "
		 "the disks only (libvirt 9.0 takes a running guest's qcow2 snapshot with its memory either way)"),
	F("quiesce", NC_F_BOOL, struct nc_snapshot_decl, quiesce,
	  .doc = "freeze the guest's file systems through its QEMU guest agent while the disks alone are "
		 "snapshotted (default true; recorded on the snapshot); qcow2 snapshots need none, so validate "
		 "warns that it has no effect yet"),
};
static const struct nc_schema snapshot_schema = SCHEMA("snapshot", struct nc_snapshot_decl, snapshot_fields);

static const struct nc_field snapshot_schedule_fields[] = {
	F("schedule", NC_F_CRON, struct nc_snapshot_schedule, schedule, .required = 1,
	  .doc = "cron expression (UTC) at which serve takes a snapshot named auto-YYYYMMDD-HHMM"),
	F("keep", NC_F_INT, struct nc_snapshot_schedule, keep, .min = 1, .max = 100,
	  .doc = "scheduled snapshots kept, the newest (default 7); plans delete older ones"),
	F("memory", NC_F_BOOL, struct nc_snapshot_schedule, memory,
	  .doc = "as a declared snapshot's memory (default false)"),
};
static const struct nc_schema snapshot_schedule_schema =
	SCHEMA("snapshotSchedule", struct nc_snapshot_schedule, snapshot_schedule_fields);

static const struct nc_field vm_spec_fields[] = {
	F("template", NC_F_STR, struct nc_vm_spec, template_name, REF(NC_KIND_TEMPLATE),
	  .doc = "Template the VM inherits from"),
	MACHINE_FIELDS(offsetof(struct nc_vm_spec, m)),
	F("state", NC_F_ENUM, struct nc_vm_spec, state, .values = state_values,
	  .doc = "running (default), stopped or absent"),
	F("placement", NC_F_STRUCT, struct nc_vm_spec, placement, .sub = &placement_schema,
	  .doc = "where the VM may run"),
	F("ha", NC_F_STRUCT, struct nc_vm_spec, ha, .sub = &ha_schema, .doc = "high-availability policy"),
	F("backupSchedule", NC_F_STR, struct nc_vm_spec, backup_schedule, REF(NC_KIND_BACKUP_SCHEDULE),
	  .doc = "BackupSchedule that backs this VM up"),
	F("restore", NC_F_STRUCT, struct nc_vm_spec, restore, .sub = &restore_schema,
	  .doc = "create missing disks from this backup instead of the base image"),
	F("deletionPolicy", NC_F_ENUM, struct nc_vm_spec, deletion_policy, .values = deletion_values,
	  .doc = "retain (default) keeps the disks when the VM is deleted; delete removes them"),
	F("deletionProtection", NC_F_BOOL, struct nc_vm_spec, deletion_protection,
	  .doc = "true refuses to delete the VM"),
	F("allowRestart", NC_F_BOOL, struct nc_vm_spec, allow_restart,
	  .doc = "true lets apply restart the VM for changes that need it"),
	F("migration", NC_F_STRUCT, struct nc_vm_spec, migration, .sub = &migration_schema,
	  .doc = "how the VM is moved between hosts (drain, rebalance)"),
	F("dependsOn", NC_F_STRLIST, struct nc_vm_spec, depends_on, REF(NC_KIND_VM),
	  .doc = "VMs that apply brings up, and whose health gate passes, before it creates, starts or "
		 "updates this one; deletes go in reverse order"),
	F("wave", NC_F_INT, struct nc_vm_spec, wave, .min = 0, .max = NC_WAVE_MAX,
	  .doc = "0 to 100 (default 0): every VM of a lower wave is brought up, and passes its health "
		 "gate, first"),
	F("health", NC_F_STRUCT, struct nc_vm_spec, health, .sub = &health_schema,
	  .doc = "the gate the VMs that wait for this one pass through (docs/plan.md)"),
	F("cluster", NC_F_STR, struct nc_vm_spec, cluster, REF(NC_KIND_CLUSTER),
	  .doc = "the Cluster this VM runs in (default: the Cluster whose paths hold its file; required "
		 "once the spec declares a Cluster, docs/federation.md)"),
	F("snapshots", NC_F_LIST, struct nc_vm_spec, snapshots, .sub = &snapshot_schema,
	  .doc = "snapshots the VM's disks keep (docs/storage.md \"Snapshots\"): missing ones are taken, "
		 "those NovaCron took that are no longer listed are deleted"),
	F("snapshotSchedule", NC_F_STRUCT, struct nc_vm_spec, snapshot_schedule, .sub = &snapshot_schedule_schema,
	  .doc = "snapshots serve takes on a cron schedule, with retention (docs/storage.md \"Scheduled snapshots\")"),
};
static const struct nc_schema vm_spec_schema = SCHEMA("VM spec", struct nc_vm_spec, vm_spec_fields);
static const struct nc_field vm_root[] = { ROOT_FIELDS(struct nc_vm, vm_spec_schema) };
static const struct nc_schema vm_root_schema = SCHEMA("VM", struct nc_vm, vm_root);

/* ---- PlacementPolicy ---- */
static const struct nc_field affinity_fields[] = {
	F("type", NC_F_ENUM, struct nc_affinity, type, .values = affinity_type_values, .required = 1,
	  .doc = "affinity (together) or antiAffinity (apart)"),
	F("mode", NC_F_ENUM, struct nc_affinity, mode, .values = affinity_mode_values,
	  .doc = "required (default: a filter) or preferred (a score)"),
	F("topologyKey", NC_F_STR, struct nc_affinity, topology_key,
	  .doc = "host (default), or a host label such as rack or zone"),
	F("weight", NC_F_INT, struct nc_affinity, weight, .min = 1, .max = 100,
	  .doc = "weight of a preferred rule (default 50)"),
	F("selector", NC_F_STRUCT, struct nc_affinity, selector, .sub = &nc_schema_selector,
	  .doc = "VMs to be near or apart from (default: the policy's vmSelector)"),
};
static const struct nc_schema affinity_schema = SCHEMA("affinity rule", struct nc_affinity, affinity_fields);

static const struct nc_field rebalance_fields[] = {
	F("enabled", NC_F_BOOL, struct nc_rebalance, enabled, .doc = "propose moves that even out load"),
	F("maxMovesPerPass", NC_F_INT, struct nc_rebalance, max_moves, .min = 0, .max = 10000,
	  .doc = "live migrations per pass at most (default 5)"),
	F("maxMemoryPerPass", NC_F_SIZE, struct nc_rebalance, max_memory, .min = MiB,
	  .doc = "memory of the VMs migrated per pass at most, e.g. 64GiB (default: no bound)"),
	F("threshold", NC_F_NUM, struct nc_rebalance, threshold, .min_f = 0, .max_f = 1000,
	  .doc = "minimum imbalance-score gain for a move to be worth it (default 0: any gain)"),
};
static const struct nc_schema rebalance_schema = SCHEMA("rebalance", struct nc_rebalance, rebalance_fields);

static const struct nc_field load_fields[] = {
	F("mode", NC_F_ENUM, struct nc_load_policy, mode, .values = load_mode_values,
	  .doc = "static (default: reserved sizes), observed (averaged use from the history) or both"),
	F("window", NC_F_DURATION, struct nc_load_policy, window, .min = 60000, .max = 30LL * 86400000,
	  .doc = "how far back observed use is averaged (default 1h)"),
	F("headroom", NC_F_NUM, struct nc_load_policy, headroom, .min_f = 0, .max_f = 0.9,
	  .doc = "share of a host's CPUs and memory kept free of observed use (observed and both)"),
};
static const struct nc_schema load_schema = SCHEMA("load", struct nc_load_policy, load_fields);

static const struct nc_field policy_spec_fields[] = {
	F("vmSelector", NC_F_STRUCT, struct nc_policy_spec, vm_selector, .sub = &nc_schema_selector,
	  .required = 1, .doc = "the VMs this policy governs"),
	F("strategy", NC_F_ENUM, struct nc_policy_spec, strategy, .values = strategy_values,
	  .doc = "spread (default), pack or balanced"),
	F("hostSelector", NC_F_STRUCT, struct nc_policy_spec, host_selector, .sub = &nc_schema_selector,
	  .doc = "hosts the VMs may run on"),
	F("affinity", NC_F_LIST, struct nc_policy_spec, affinity, .sub = &affinity_schema,
	  .doc = "affinity and anti-affinity rules"),
	F("rebalance", NC_F_STRUCT, struct nc_policy_spec, rebalance, .sub = &rebalance_schema,
	  .doc = "rebalancing between passes"),
	F("load", NC_F_STRUCT, struct nc_policy_spec, load, .sub = &load_schema,
	  .doc = "which figures placement and rebalance weigh: reserved sizes, observed use, or both"),
	F("migration", NC_F_STRUCT, struct nc_policy_spec, migration, .sub = &migration_schema,
	  .doc = "migration tuning its VMs inherit; a VM's own spec.migration values win, field by field"),
};
static const struct nc_schema policy_spec_schema =
	SCHEMA("PlacementPolicy spec", struct nc_policy_spec, policy_spec_fields);
static const struct nc_field policy_root[] = { ROOT_FIELDS(struct nc_policy, policy_spec_schema) };
static const struct nc_schema policy_root_schema = SCHEMA("PlacementPolicy", struct nc_policy, policy_root);

/* ---- StoragePool ---- */
static const struct nc_field rbd_fields[] = {
	F("pool", NC_F_STR, struct nc_rbd, pool, .required = 1, .check = NC_CHK_CEPH_NAME, .doc = "Ceph pool name"),
	F("cephConf", NC_F_STR, struct nc_rbd, ceph_conf, .check = NC_CHK_ABS_PATH,
	  .doc = "ceph.conf path on the NovaCron machine, inside the operator's paths.ceph (default /etc/ceph/ceph.conf)"),
	F("user", NC_F_STR, struct nc_rbd, user, .check = NC_CHK_CEPH_NAME, .doc = "cephx user id (default admin)"),
	F("keyFile", NC_F_STR, struct nc_rbd, key_file, .check = NC_CHK_ABS_PATH,
	  .doc = "file with the user's cephx key (a keyring or the bare key), inside the operator's paths.secrets; "
		 "apply puts it into a libvirt secret on each host and the disks authenticate with it"),
};
static const struct nc_schema rbd_schema = SCHEMA("rbd", struct nc_rbd, rbd_fields);

static const struct nc_field netfs_fields[] = {
	F("server", NC_F_STR, struct nc_netfs, server, .required = 1, .check = NC_CHK_HOSTNAME,
	  .doc = "the NFS server: a host name or an IP address (never a URL or a path)"),
	F("export", NC_F_STR, struct nc_netfs, export_path, .required = 1, .check = NC_CHK_ABS_PATH,
	  .doc = "the exported directory on the server (an absolute path; NFSv4: its pseudo path)"),
	F("version", NC_F_INT, struct nc_netfs, version, .min = 3, .max = 4,
	  .doc = "NFS protocol version, 3 or 4 (default: what mount negotiates)"),
};
static const struct nc_schema netfs_schema = SCHEMA("netfs", struct nc_netfs, netfs_fields);

static const struct nc_field pool_spec_fields[] = {
	F("type", NC_F_ENUM, struct nc_pool_spec, type, .values = pool_type_values, .required = 1,
	  .doc = "dir (qcow2 files in a directory), rbd (Ceph RBD) or netfs (qcow2 files on an NFS share)"),
	F("path", NC_F_STR, struct nc_pool_spec, path, .check = NC_CHK_ABS_PATH,
	  .doc = "directory on each host (dir pools) or where the share is mounted (netfs pools), "
		 "inside the operator's paths.pools"),
	F("rbd", NC_F_STRUCT, struct nc_pool_spec, rbd, .sub = &rbd_schema, .doc = "Ceph settings (rbd pools)"),
	F("netfs", NC_F_STRUCT, struct nc_pool_spec, netfs, .sub = &netfs_schema,
	  .doc = "the NFS share (netfs pools): libvirt mounts it at path on each host of the pool"),
	F("hostSelector", NC_F_STRUCT, struct nc_pool_spec, host_selector, .sub = &nc_schema_selector,
	  .doc = "hosts that have this pool (default: all)"),
	F("cluster", NC_F_STR, struct nc_pool_spec, cluster, REF(NC_KIND_CLUSTER),
	  .doc = "the Cluster whose VMs may use this pool (default: the Cluster whose paths hold its file, "
		 "else shared by every cluster)"),
	F("tier", NC_F_STR, struct nc_pool_spec, tier, .check = NC_CHK_NAME,
	  .doc = "the pool's storage tier, a name such as fast, standard or archive that "
		 "StorageTierPolicy rules move disks to (docs/storage.md \"Storage tiers\")"),
};
static const struct nc_schema pool_spec_schema =
	SCHEMA("StoragePool spec", struct nc_pool_spec, pool_spec_fields);
static const struct nc_field pool_root[] = { ROOT_FIELDS(struct nc_pool, pool_spec_schema) };
static const struct nc_schema pool_root_schema = SCHEMA("StoragePool", struct nc_pool, pool_root);

/* ---- Network ---- */
static const struct nc_field dhcp_range_fields[] = {
	F("start", NC_F_STR, struct nc_dhcp_range, start, .required = 1, .check = NC_CHK_IPV4,
	  .doc = "first address handed out, inside the subnet"),
	F("end", NC_F_STR, struct nc_dhcp_range, end, .required = 1, .check = NC_CHK_IPV4,
	  .doc = "last address handed out, inside the subnet, not before start"),
};
static const struct nc_schema dhcp_range_schema = SCHEMA("dhcpRange", struct nc_dhcp_range, dhcp_range_fields);

static const struct nc_field net_spec_fields[] = {
	F("type", NC_F_ENUM, struct nc_net_spec, type, .values = net_type_values, .required = 1,
	  .doc = "nat (a libvirt network with NAT to the host's uplink), isolated (a libvirt network "
		 "without forwarding) or bridge (an existing host bridge; NovaCron does not create it)"),
	F("bridge", NC_F_STR, struct nc_net_spec, bridge, .check = NC_CHK_IFNAME,
	  .doc = "bridge networks: the host's bridge (required); nat and isolated: the name of the bridge "
		 "libvirt creates (default: libvirt picks virbrN)"),
	F("subnet", NC_F_STR, struct nc_net_spec, subnet, .check = NC_CHK_CIDR4,
	  .doc = "IPv4 range in CIDR form (nat: required; isolated: optional); the host takes its first address"),
	F("subnet6", NC_F_STR, struct nc_net_spec, subnet6, .check = NC_CHK_CIDR6,
	  .doc = "IPv6 range in CIDR form (nat and isolated); the host takes its first address"),
	F("dhcp", NC_F_BOOL, struct nc_net_spec, dhcp,
	  .doc = "serve DHCPv4 on the subnet (default false), with static leases for NICs that set ip"),
	F("dhcpRange", NC_F_STRUCT, struct nc_net_spec, dhcp_range, .sub = &dhcp_range_schema,
	  .doc = "addresses DHCP hands out (default: the whole subnet but the host's and the broadcast address)"),
	F("autostart", NC_F_BOOL, struct nc_net_spec, autostart,
	  .doc = "start the network when the host's libvirt starts (default true)"),
	F("cluster", NC_F_STR, struct nc_net_spec, cluster, REF(NC_KIND_CLUSTER),
	  .doc = "the Cluster whose VMs may use this network (default: the Cluster whose paths hold its "
		 "file, else shared by every cluster)"),
};
static const struct nc_schema net_spec_schema = SCHEMA("Network spec", struct nc_net_spec, net_spec_fields);
static const struct nc_field net_root[] = { ROOT_FIELDS(struct nc_network, net_spec_schema) };
static const struct nc_schema net_root_schema = SCHEMA("Network", struct nc_network, net_root);

/* ---- Image ---- */
static const struct nc_field image_source_fields[] = {
	F("url", NC_F_STR, struct nc_image_source, url, .check = NC_CHK_HTTP_URL,
	  .doc = "http:// or https:// URL apply downloads the image from (no user or password in it; "
		 "redirects only to http or https; size and time capped)"),
	F("file", NC_F_STR, struct nc_image_source, file, .check = NC_CHK_FILE_NAME,
	  .doc = "file name (no '/') of the image inside one of the operator's paths.images directories"),
};
static const struct nc_schema image_source_schema =
	SCHEMA("image source", struct nc_image_source, image_source_fields);

static const struct nc_field image_spec_fields[] = {
	F("source", NC_F_STRUCT, struct nc_image_spec, source, .sub = &image_source_schema, .required = 1,
	  .doc = "where the image comes from: exactly one of url or file"),
	F("sha256", NC_F_STR, struct nc_image_spec, sha256, .required = 1, .check = NC_CHK_SHA256,
	  .doc = "SHA-256 of the image file (64 hex digits); checked before anything is uploaded"),
	F("format", NC_F_ENUM, struct nc_image_spec, format, .values = image_format_values,
	  .doc = "qcow2 (default) or raw: what the file is; rbd pools take raw images only"),
};
static const struct nc_schema image_spec_schema = SCHEMA("Image spec", struct nc_image_spec, image_spec_fields);
static const struct nc_field image_root[] = { ROOT_FIELDS(struct nc_image, image_spec_schema) };
static const struct nc_schema image_root_schema = SCHEMA("Image", struct nc_image, image_root);

/* ---- BackupSchedule ---- */
static const struct nc_field target_fields[] = {
	F("type", NC_F_ENUM, struct nc_target, type, .values = target_type_values, .required = 1,
	  .doc = "dir, rados, s3 or swift"),
	F("path", NC_F_STR, struct nc_target, path, .check = NC_CHK_ABS_PATH,
	  .doc = "repository directory (dir), inside the operator's paths.backups"),
	F("pool", NC_F_STR, struct nc_target, pool, .check = NC_CHK_CEPH_NAME, .doc = "RADOS pool (rados)"),
	F("cephConf", NC_F_STR, struct nc_target, ceph_conf, .check = NC_CHK_ABS_PATH,
	  .doc = "ceph.conf path (rados), inside the operator's paths.ceph"),
	F("endpoint", NC_F_STR, struct nc_target, endpoint, .check = NC_CHK_HTTP_URL,
	  .doc = "http(s) endpoint (s3, swift)"),
	F("bucket", NC_F_STR, struct nc_target, bucket, .check = NC_CHK_PRINTABLE, .doc = "bucket or container (s3, swift)"),
	F("region", NC_F_STR, struct nc_target, region, .check = NC_CHK_PRINTABLE, .doc = "SigV4 region (s3; default us-east-1)"),
	F("credentialsFile", NC_F_STR, struct nc_target, credentials_file, .check = NC_CHK_ABS_PATH,
	  .doc = "file holding the access key and secret (s3, swift), inside the operator's paths.secrets"),
	F("cephUser", NC_F_STR, struct nc_target, ceph_user, .check = NC_CHK_CEPH_NAME, .doc = "cephx user id (rados; default admin)"),
	F("prefix", NC_F_STR, struct nc_target, prefix, .check = NC_CHK_PRINTABLE,
	  .doc = "keep the repository under this prefix (rados namespace, bucket key prefix)"),
};
static const struct nc_schema target_schema = SCHEMA("target", struct nc_target, target_fields);

static const struct nc_field retention_fields[] = {
	F("keepLast", NC_F_INT, struct nc_retention, keep_last, .min = 0, .max = 100000,
	  .doc = "newest backups kept"),
	F("keepDaily", NC_F_INT, struct nc_retention, keep_daily, .min = 0, .max = 100000,
	  .doc = "one per day for this many days"),
	F("keepWeekly", NC_F_INT, struct nc_retention, keep_weekly, .min = 0, .max = 100000,
	  .doc = "one per week for this many weeks"),
	F("keepMonthly", NC_F_INT, struct nc_retention, keep_monthly, .min = 0, .max = 100000,
	  .doc = "one per month for this many months"),
};
static const struct nc_schema retention_schema = SCHEMA("retention", struct nc_retention, retention_fields);

static const struct nc_field encryption_fields[] = {
	F("keyFile", NC_F_STR, struct nc_encryption, key_file, .required = 1, .check = NC_CHK_ABS_PATH,
	  .doc = "file holding the 32-byte AES-256-GCM key, inside the operator's paths.secrets"),
};
static const struct nc_schema encryption_schema = SCHEMA("encryption", struct nc_encryption, encryption_fields);

static const struct nc_field backup_spec_fields[] = {
	F("schedule", NC_F_CRON, struct nc_backup_spec, schedule, .required = 1,
	  .doc = "five-field cron expression (UTC) or @daily, @hourly, ..."),
	F("vmSelector", NC_F_STRUCT, struct nc_backup_spec, vm_selector, .sub = &nc_schema_selector,
	  .doc = "VMs to back up, by label"),
	F("vms", NC_F_STRLIST, struct nc_backup_spec, vms, REF(NC_KIND_VM),
	  .doc = "VMs to back up, by name"),
	F("target", NC_F_STRUCT, struct nc_backup_spec, target, .sub = &target_schema, .required = 1,
	  .doc = "where backups are stored"),
	F("retention", NC_F_STRUCT, struct nc_backup_spec, retention, .sub = &retention_schema,
	  .doc = "which backups to keep"),
	F("compression", NC_F_ENUM, struct nc_backup_spec, compression, .values = compression_values,
	  .doc = "zstd (default) or none"),
	F("compressionLevel", NC_F_INT, struct nc_backup_spec, compression_level, .min = 1, .max = 19,
	  .doc = "zstd level (default 3)"),
	F("encryption", NC_F_STRUCT, struct nc_backup_spec, encryption, .sub = &encryption_schema,
	  .doc = "encrypt chunks with AES-256-GCM"),
	F("quiesce", NC_F_BOOL, struct nc_backup_spec, quiesce,
	  .doc = "freeze guest file systems through the guest agent (default true; recorded per backup)"),
};
static const struct nc_schema backup_spec_schema =
	SCHEMA("BackupSchedule spec", struct nc_backup_spec, backup_spec_fields);
static const struct nc_field backup_root[] = { ROOT_FIELDS(struct nc_backup, backup_spec_schema) };
static const struct nc_schema backup_root_schema = SCHEMA("BackupSchedule", struct nc_backup, backup_root);

/* ---- AlertRule ---- */
static const struct nc_field alert_threshold_fields[] = {
	F("op", NC_F_ENUM, struct nc_alert_threshold, op, .values = alert_op_values, .required = 1,
	  .doc = "comparison of the metric's value with value: >, >=, <, <=, == or != (quote it in YAML: \">\")"),
	F("value", NC_F_NUM, struct nc_alert_threshold, value, .min_f = -1e18, .max_f = 1e18, .required = 1,
	  .doc = "the limit, in the metric's base unit (a ratio as 0.9, bytes as bytes)"),
};
static const struct nc_schema alert_threshold_schema =
	SCHEMA("threshold", struct nc_alert_threshold, alert_threshold_fields);

static const struct nc_field alert_anomaly_fields[] = {
	F("season", NC_F_DURATION, struct nc_alert_anomaly, season, .required = 1, .min = 1,
	  .max = 366LL * 86400000,
	  .doc = "length of the load's cycle, e.g. 1d (daily) or 1h; 1m to 7d (the history the anomaly RRD keeps)"),
	F("sensitivity", NC_F_NUM, struct nc_alert_anomaly, sensitivity, .min_f = 0.1, .max_f = 10,
	  .doc = "how many predicted deviations away a value is aberrant (Holt-Winters delta; default 2: lower flags more)"),
	F("window", NC_F_INT, struct nc_alert_anomaly, window, .min = 1, .max = 28,
	  .doc = "rounds the FAILURES archive looks back over (default 9)"),
	F("failures", NC_F_INT, struct nc_alert_anomaly, failures, .min = 1, .max = 28,
	  .doc = "aberrant rounds within window that make the value anomalous (default 7; at most window)"),
};
static const struct nc_schema alert_anomaly_schema =
	SCHEMA("anomaly", struct nc_alert_anomaly, alert_anomaly_fields);

static const struct nc_field alert_spec_fields[] = {
	F("target", NC_F_ENUM, struct nc_alert_rule_spec, target, .values = alert_target_values, .required = 1,
	  .doc = "what the rule watches: host, vm or pool (storage pools, per host or shared)"),
	F("selector", NC_F_STRUCT, struct nc_alert_rule_spec, selector, .sub = &nc_schema_selector,
	  .doc = "only these objects: hosts and pools by their metadata.labels, VMs by their effective labels "
		 "(default: every object of the target, VMs NovaCron does not manage included)"),
	F("metric", NC_F_STR, struct nc_alert_rule_spec, metric, .required = 1,
	  .doc = "a metric of the target (docs/monitoring.md, Metrics), e.g. memory_used_ratio"),
	F("threshold", NC_F_STRUCT, struct nc_alert_rule_spec, threshold, .sub = &alert_threshold_schema,
	  .doc = "fire when the value compares so with a limit (exactly one of threshold or anomaly)"),
	F("anomaly", NC_F_STRUCT, struct nc_alert_rule_spec, anomaly, .sub = &alert_anomaly_schema,
	  .doc = "fire when Holt-Winters (RRD's HWPREDICT and FAILURES) finds the value aberrant for its season"),
	F("for", NC_F_DURATION, struct nc_alert_rule_spec, for_, .min = 0, .max = 86400000,
	  .doc = "the condition must hold this long (pending meanwhile) before the alert fires; at most 24h "
		 "(default 0: at once)"),
	F("severity", NC_F_ENUM, struct nc_alert_rule_spec, severity, .values = severity_values,
	  .doc = "critical, warning (default) or info"),
	F("summary", NC_F_STR, struct nc_alert_rule_spec, summary, .check = NC_CHK_ALERT_TEMPLATE,
	  .doc = "one line for notifications, with placeholders {{ object }}, {{ value }} (formatted for the "
		 "metric's unit), {{ threshold }}, {{ host }}, {{ rule }}, {{ metric }}, {{ target }}, {{ severity }}"),
};
static const struct nc_schema alert_spec_schema =
	SCHEMA("AlertRule spec", struct nc_alert_rule_spec, alert_spec_fields);
static const struct nc_field alert_root[] = { ROOT_FIELDS(struct nc_alert_rule, alert_spec_schema) };
static const struct nc_schema alert_root_schema = SCHEMA("AlertRule", struct nc_alert_rule, alert_root);

/* ---- Tenant (docs/tenants.md) ---- */
static const struct nc_field tenant_quota_fields[] = {
	F("vms", NC_F_INT, struct nc_tenant_quota, vms, .min = 0, .max = 1000000,
	  .doc = "VMs the tenant may declare (state absent not counted; default: no limit)"),
	F("vcpus", NC_F_INT, struct nc_tenant_quota, vcpus, .min = 0, .max = 100000000,
	  .doc = "vCPUs of its VMs in all (default: no limit)"),
	F("memory", NC_F_SIZE, struct nc_tenant_quota, memory, .min = 0,
	  .doc = "memory of its VMs in all (default: no limit)"),
	F("disk", NC_F_SIZE, struct nc_tenant_quota, disk, .min = 0,
	  .doc = "disk sizes of its VMs in all, as declared (default: no limit)"),
};
static const struct nc_schema tenant_quota_schema =
	SCHEMA("quota", struct nc_tenant_quota, tenant_quota_fields);

static const struct nc_field tenant_spec_fields[] = {
	F("paths", NC_F_STRLIST, struct nc_tenant_spec, paths, .required = 1,
	  .doc = "folders of the spec, relative to its root (e.g. teams/web), whose objects are the "
		 "tenant's; the longest path that holds a file wins; no two tenants share one"),
	F("quota", NC_F_STRUCT, struct nc_tenant_spec, quota, .sub = &tenant_quota_schema,
	  .doc = "limits on the tenant's VMs: vms, vcpus, memory, disk (each: default no limit)"),
	F("networks", NC_F_STRLIST, struct nc_tenant_spec, networks, REF(NC_KIND_NETWORK),
	  .doc = "Networks the tenant's VMs and templates may use (absent: any; []: none)"),
	F("pools", NC_F_STRLIST, struct nc_tenant_spec, pools, REF(NC_KIND_STORAGE_POOL),
	  .doc = "StoragePools their disks may use (absent: any; []: none)"),
	F("templates", NC_F_STRLIST, struct nc_tenant_spec, templates, REF(NC_KIND_TEMPLATE),
	  .doc = "Templates declared outside the tenant's paths its VMs and templates may use "
		 "(absent: any not of another tenant; []: none); its own are always allowed"),
};
static const struct nc_schema tenant_spec_schema =
	SCHEMA("Tenant spec", struct nc_tenant_spec, tenant_spec_fields);
static const struct nc_field tenant_root[] = { ROOT_FIELDS(struct nc_tenant, tenant_spec_schema) };
static const struct nc_schema tenant_root_schema = SCHEMA("Tenant", struct nc_tenant, tenant_root);

/* ---- Cluster (docs/federation.md, spec/cluster.h) ---- */
static const struct nc_field cluster_transfer_fields[] = {
	F("bandwidth", NC_F_SIZE, struct nc_cluster_transfer, bandwidth, .min = 1024,
	  .doc = "bytes per second of this cluster's WAN link (e.g. 100MiB), for the time estimates of "
		 "moves into it"),
	F("backupSchedule", NC_F_STR, struct nc_cluster_transfer, backup_schedule,
	  REF(NC_KIND_BACKUP_SCHEDULE),
	  .doc = "the BackupSchedule whose repository lives in this cluster and receives transfers into it"),
	F("live", NC_F_BOOL, struct nc_cluster_transfer, live,
	  .doc = "live moves into this cluster allowed (default true)"),
};
static const struct nc_schema cluster_transfer_schema =
	SCHEMA("transfer", struct nc_cluster_transfer, cluster_transfer_fields);

static const struct nc_field cluster_spec_fields[] = {
	F("paths", NC_F_STRLIST, struct nc_cluster_spec, paths,
	  .doc = "folders of the spec, relative to its root (e.g. clusters/east), whose Hosts, VMs, "
		 "StoragePools and Networks belong to the cluster unless they set spec.cluster; the longest "
		 "path that holds a file wins; no two clusters share one"),
	F("transfer", NC_F_STRUCT, struct nc_cluster_spec, transfer, .sub = &cluster_transfer_schema,
	  .doc = "how VMs move into this cluster from another (docs/federation.md)"),
};
static const struct nc_schema cluster_spec_schema =
	SCHEMA("Cluster spec", struct nc_cluster_spec, cluster_spec_fields);
static const struct nc_field cluster_root[] = { ROOT_FIELDS(struct nc_cluster_def, cluster_spec_schema) };
static const struct nc_schema cluster_root_schema = SCHEMA("Cluster", struct nc_cluster_def, cluster_root);
/* ---- StorageTierPolicy ---- */
static const struct nc_field tier_rule_fields[] = {
	F("idleFor", NC_F_DURATION, struct nc_tier_rule, idle_for, .min = 60000, .max = 400LL * 86400000,
	  .doc = "matches when the VM did no block I/O for this long (telemetry history), e.g. 14d"),
	F("selector", NC_F_STRUCT, struct nc_tier_rule, selector, .sub = &nc_schema_selector,
	  .doc = "matches VMs whose effective labels it selects"),
	F("tier", NC_F_STR, struct nc_tier_rule, tier, .required = 1, .check = NC_CHK_NAME,
	  .doc = "the tier the disks go to: a pool of that tier the VM's host has"),
};
static const struct nc_schema tier_rule_schema = SCHEMA("tier rule", struct nc_tier_rule, tier_rule_fields);
static const struct nc_field tier_spec_fields[] = {
	F("vmSelector", NC_F_STRUCT, struct nc_tier_policy_spec, vm_selector, .sub = &nc_schema_selector,
	  .required = 1, .doc = "the VMs whose disks this policy places"),
	F("rules", NC_F_LIST, struct nc_tier_policy_spec, rules, .sub = &tier_rule_schema, .required = 1,
	  .doc = "in order; the first that matches a VM chooses the tier of its disks (none: the disk's own pool)"),
	F("budget", NC_F_SIZE, struct nc_tier_policy_spec, budget, .min = 1,
	  .doc = "bytes moved per pass, largest first (default 64GiB); the rest is postponed"),
	F("hysteresis", NC_F_DURATION, struct nc_tier_policy_spec, hysteresis, .min = 0, .max = 30LL * 86400000,
	  .doc = "a disk moved by an idleFor rule moves back only after this much block I/O activity (default 1h)"),
};
static const struct nc_schema tier_spec_schema =
	SCHEMA("StorageTierPolicy spec", struct nc_tier_policy_spec, tier_spec_fields);
static const struct nc_field tier_root[] = { ROOT_FIELDS(struct nc_tier_policy, tier_spec_schema) };
static const struct nc_schema tier_root_schema = SCHEMA("StorageTierPolicy", struct nc_tier_policy, tier_root);

const struct nc_kind_info nc_kinds[NC_KIND__COUNT] = {
	[NC_KIND_HOST] = { "Host", "host", "hosts", sizeof(struct nc_host),
			   &host_root_schema, &host_spec_schema,
			   "a libvirt host NovaCron places VMs on" },
	[NC_KIND_TEMPLATE] = { "Template", "template", "templates", sizeof(struct nc_template),
			       &template_root_schema, &template_spec_schema,
			       "defaults that VMs (and other templates) inherit" },
	[NC_KIND_VM] = { "VM", "VM", "VMs", sizeof(struct nc_vm),
			 &vm_root_schema, &vm_spec_schema, "a virtual machine" },
	[NC_KIND_PLACEMENT_POLICY] = { "PlacementPolicy", "placement policy", "placement policies",
				       sizeof(struct nc_policy), &policy_root_schema,
				       &policy_spec_schema, "where a set of VMs may and should run" },
	[NC_KIND_STORAGE_POOL] = { "StoragePool", "storage pool", "storage pools",
				   sizeof(struct nc_pool), &pool_root_schema, &pool_spec_schema,
				   "where VM disks live" },
	[NC_KIND_NETWORK] = { "Network", "network", "networks", sizeof(struct nc_network),
			      &net_root_schema, &net_spec_schema, "what VM NICs attach to: a libvirt network NovaCron creates on each host that needs it, or a host bridge" },
	[NC_KIND_BACKUP_SCHEDULE] = { "BackupSchedule", "backup schedule", "backup schedules",
				      sizeof(struct nc_backup), &backup_root_schema,
				      &backup_spec_schema, "when and where VMs are backed up" },
	[NC_KIND_IMAGE] = { "Image", "image", "images", sizeof(struct nc_image), &image_root_schema,
			    &image_spec_schema, "a base image (source and sha256) VM disks are cloned from" },
	[NC_KIND_ALERT_RULE] = { "AlertRule", "alert rule", "alert rules", sizeof(struct nc_alert_rule),
				 &alert_root_schema, &alert_spec_schema,
				 "a condition on a host, VM or pool metric that serve evaluates each round and "
				 "notifies about (docs/monitoring.md)" },
	[NC_KIND_TENANT] = { "Tenant", "tenant", "tenants", sizeof(struct nc_tenant),
			     &tenant_root_schema, &tenant_spec_schema,
			     "a team's folders of the spec, its quotas and the networks, pools and templates "
			     "its VMs may use (docs/tenants.md)" },
	[NC_KIND_CLUSTER] = { "Cluster", "cluster", "clusters", sizeof(struct nc_cluster_def),
			      &cluster_root_schema, &cluster_spec_schema,
			      "one of several clusters a repository declares: its hosts and VMs, and the pools "
			      "and networks only it uses (docs/federation.md)" },
	[NC_KIND_TIER_POLICY] = { "StorageTierPolicy", "storage tier policy", "storage tier policies",
				  sizeof(struct nc_tier_policy), &tier_root_schema, &tier_spec_schema,
				  "moves VM disks between pools of different tiers by rules: idle time or labels "
				  "(docs/storage.md \"Storage tiers\")" },
};

const struct nc_schema nc_schema_machine = SCHEMA("machine", struct nc_machine, machine_fields);

const struct nc_field *nc_schema_field(const struct nc_schema *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].key, key) == 0)
			return &s->fields[i];
	return NULL;
}

const char *nc_kind_name(enum nc_kind k)
{
	return nc_kinds[k].name;
}

const char *nc_kind_plural(enum nc_kind k)
{
	return nc_kinds[k].plural;
}

const char *nc_kind_singular(enum nc_kind k)
{
	return nc_kinds[k].singular;
}
