/*
 * driver.h - the host driver interface: what the reconciler asks of a
 * hypervisor host, behind a vtable (git refs backends, curl vtls).
 *
 * The core never includes libvirt headers; drivers/host/libvirt.c implements this
 * interface for any libvirt URI, and for `sim:///NAME`, a simulated host
 * whose domains persist in a state directory between runs (libvirt's test
 * driver loaded from and saved to STATE_DIR/NAME.xml).
 *
 * Every call returns 0 or a negative code and, on failure, fills the
 * caller's struct nc_err with a one-line message.  Observed data is owned by
 * the caller and freed with nc_observed_host_release().
 *
 * Debug switch: NOVACRON_FAIL_AT=K makes the K-th mutating driver call of the
 * process fail (SQLite's DO_OS_MALLOC_TEST, curl's torture), to test that a
 * pass interrupted at any point converges on the next.
 */
#ifndef NC_DRIVER_H
#define NC_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NC_XMLNS "https://novacron.io/xmlns/vm/1"

struct nc_err {
	char msg[512];
};
void nc_err_set(struct nc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Adds to err's message (cut to fit, as nc_err_set cuts). */
void nc_err_append(struct nc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- desired domain: what the reconciler asks a host to define ---- */
struct nc_disk_def {
	const char *name;        /* spec disk name */
	const char *target;      /* vda, sdb, ... */
	const char *bus;         /* virtio, scsi, sata, ide */
	const char *type;        /* "file" or "network" */
	const char *source;      /* file path, or rbd pool/image */
	const char *format;      /* qcow2, raw */
	uint64_t size;
	bool boot;
	/* rbd: cephx (NULL: none; QEMU uses the host's own ceph.conf and keyring) */
	const char *auth_user;   /* <auth username=> */
	const char *secret_uuid; /* its libvirt secret (usage ceph) */
	const char *const *mons; /* "HOST PORT" per monitor, NULL-terminated; NULL: the host's ceph.conf */
};
struct nc_nic_def {
	const char *name;        /* spec NIC name */
	const char *mac;
	const char *type;        /* "network" or "bridge" */
	const char *source;      /* libvirt network or bridge name */
	const char *model;
};
/*
 * A cloud-init NoCloud seed (drivers/storage/seed.h), attached as a
 * read-only CD-ROM: the files it holds, and where its volume is.
 */
struct nc_seed_def {
	const char *target;      /* hdc, sdb, ... */
	const char *bus;         /* "ide" (pc, i440fx) or "sata" (q35) */
	const char *type;        /* "file" or "network" (rbd) */
	const char *source;      /* file path, or rbd pool/image */
	const char *pool;        /* spec StoragePool holding the volume */
	const char *volume;      /* "<VM>-cidata.iso" */
	/* rbd: cephx and monitors, those of the disk whose pool holds it (see nc_disk_def) */
	const char *auth_user, *secret_uuid;
	const char *const *mons;
	const char *user_data;   /* the files, as the guest reads them */
	const char *meta_data;
	const char *network_config;
	bool network_generated;  /* network_config was made from the NICs */
	const char *instance_id; /* "nc-<32 hex>", in meta_data */
	const char *user_data_sha, *network_config_sha;   /* SHA-256 hex of the files */
};
/* Every domain NovaCron defines has a serial console (ttyS0) whose output the host logs to
 * NC_CONSOLE_LOG_DIR/<domain name>NC_CONSOLE_LOG_SUFFIX, rewritten at each start. */
#define NC_CONSOLE_LOG_DIR "/var/log/libvirt/qemu"
#define NC_CONSOLE_LOG_SUFFIX "-console.log"

struct nc_domain_def {
	const char *name;
	const char *uuid;        /* keep the observed UUID on redefinition; NULL = new */
	unsigned vcpus;
	uint64_t memory;         /* bytes */
	const char *machine;     /* NULL = host default */
	const char *kernel, *initrd, *cmdline;   /* direct kernel boot; NULL = none */
	struct nc_disk_def *disks;
	size_t ndisks;
	struct nc_nic_def *nics;
	size_t nnics;
	const struct nc_seed_def *seed;   /* NULL: no cloud-init seed */
	/* ownership metadata (docs/development.md "Ownership") */
	const char *meta_vm;
	const char *meta_hash;
	const char *meta_commit;
	bool meta_protected;     /* deletionProtection at the time it was applied */
	bool meta_delete_disks;  /* deletionPolicy: delete */
};

/* ---- observed state ---- */
enum nc_dom_state {
	NC_DOM_RUNNING,
	NC_DOM_PAUSED,
	NC_DOM_SHUTOFF,
	NC_DOM_OTHER,            /* crashed, suspended to disk, ... */
};
const char *nc_dom_state_name(enum nc_dom_state s);

struct nc_dom_disk {
	char *target, *bus, *type, *source, *format;
	bool boot;
	uint64_t capacity;       /* volume's virtual size (observe fills it for pool volumes); 0 unknown */
	uint64_t allocation;     /* bytes the volume holds (observe, pool volumes); 0 unknown */
};
struct nc_dom_nic {
	char *mac, *type, *source, *model;
};
/*
 * A snapshot of a domain (drivers/host/snapshot.c).  NovaCron marks those it
 * takes with a description starting "novacron:" (NC_SNAP_MARK) that records
 * what was asked and what happened; others are reported, never touched.
 */
#define NC_SNAP_MARK "novacron:"
struct nc_dom_snap {
	char *name;
	char *description;       /* may be NULL */
	int64_t created;         /* seconds since the epoch (libvirt's creationTime) */
	char *state;             /* the domain's state when taken: "running", "shutoff", "disk-snapshot" */
	bool managed;            /* description starts with NC_SNAP_MARK */
	bool memory;             /* holds the guest's memory (state running or paused) */
	bool external;           /* any disk snapshotted outside its image (libvirt 9.0 cannot revert it) */
	bool current;
};
struct nc_snap_def {
	const char *name;
	const char *description; /* NC_SNAP_MARK ...; written by snap_create's caller */
	bool memory;             /* running guest: save its memory (else the disks alone) */
	bool quiesce;            /* freeze guest file systems through the agent while it is taken */
};

struct nc_domain {
	char *name;
	char *uuid;
	enum nc_dom_state state;
	bool persistent;
	unsigned vcpus;          /* config */
	uint64_t memory;         /* config maximum, bytes */
	uint64_t cur_memory;     /* live balloon, bytes (config when shut off) */
	char *machine;
	struct nc_dom_disk *disks;
	size_t ndisks;
	struct nc_dom_nic *nics;
	size_t nnics;
	struct nc_dom_disk *cdroms;   /* <disk device='cdrom'>: the cloud-init seed */
	size_t ncdroms;
	bool managed;            /* has NovaCron's metadata element */
	char *meta_vm, *meta_hash, *meta_commit;
	bool meta_protected, meta_delete_disks;
	/* the seed applied (<nc:cloudinit>): instance-id, SHA-256 of user-data and network-config */
	char *meta_ci_iid, *meta_ci_user_data, *meta_ci_network_config;
	struct nc_dom_snap *snaps;    /* by creation time, then name (observe and lookup fill them) */
	size_t nsnaps;
};

struct nc_node_info {
	unsigned cpus;
	uint64_t memory;         /* bytes */
	char *hostname;
};

struct nc_net_obs;            /* drivers/network/network.h */
/* a libvirt secret of usage type ceph; its value is never read */
struct nc_host_secret {
	char *uuid;
	char *usage;             /* the usage name */
	char *description;       /* NovaCron's carries the key's fingerprint */
};

struct nc_observed_host {
	struct nc_node_info node;
	struct nc_domain *doms;  /* sorted by name */
	size_t ndoms;
	struct nc_net_obs *nets; /* libvirt networks, sorted by name (reconciler/observe.c fills them) */
	size_t nnets;
	char *nets_error;        /* why they could not be read (then nnets is 0) */
	struct nc_host_secret *secrets;  /* usage ceph, sorted by uuid */
	size_t nsecrets;
	bool no_secrets;         /* the driver has no secrets (libvirt's test driver) */
	/* netfs pools of this host that cannot be read (reconciler/netfs.c fills them):
	 * "storage pool P (netfs S:/E): why", sorted; the host is degraded */
	char **degraded;
	size_t ndegraded;
};
void nc_observed_host_release(struct nc_observed_host *h);

/* ---- telemetry: raw statistics of one host, read in one round (docs/monitoring.md) ---- */
/* Counters are cumulative as the host reports them; telemetry/derive.c turns two rounds into
 * rates.  UINT64_MAX marks a value the host did not report. */
#define NC_STAT_NONE UINT64_MAX
struct nc_disk_stats {
	char *dev;               /* target: vda, sdb */
	uint64_t rd_bytes, wr_bytes, rd_reqs, wr_reqs;
};
struct nc_nic_stats {
	char *dev;               /* host-side interface (vnet3), or the MAC when it has none */
	char *mac;               /* lower case, NULL when unknown: maps the NIC to its spec name */
	uint64_t rx_bytes, tx_bytes, rx_pkts, tx_pkts;
};
struct nc_dom_stats {
	char *name;
	enum nc_dom_state state;
	unsigned vcpus;          /* current (live) vCPUs */
	uint64_t cpu_time_ns;    /* cpu.time: all vCPUs and emulator threads */
	uint64_t balloon_cur;    /* balloon.current, bytes */
	uint64_t balloon_max;    /* balloon.maximum, bytes */
	uint64_t mem_unused;     /* balloon.unused (guest statistics), bytes; NC_STAT_NONE */
	uint64_t mem_available;  /* balloon.available, bytes; NC_STAT_NONE */
	uint64_t rss;            /* balloon.rss, bytes; NC_STAT_NONE */
	struct nc_disk_stats *disks;   /* in the domain's order */
	size_t ndisks;
	struct nc_nic_stats *nics;
	size_t nnics;
};
struct nc_pool_stats {
	char *name;              /* libvirt pool name (NovaCron names it after the spec StoragePool) */
	bool shared;             /* rbd: the same capacity seen from every host */
	uint64_t capacity, allocation, available;   /* bytes */
};
struct nc_host_stats {
	double t;                /* wall-clock seconds (CLOCK_REALTIME) the stats were read */
	unsigned cpus;
	uint64_t cpu_busy_ns;    /* node: user + kernel (+ iowait... where reported), all CPUs */
	uint64_t cpu_total_ns;   /* the same plus idle */
	uint64_t mem_total;      /* bytes */
	uint64_t mem_available;  /* free + buffers + cached, bytes */
	struct nc_dom_stats *doms;     /* every domain, by name */
	size_t ndoms;
	struct nc_pool_stats *pools;   /* active pools, by name */
	size_t npools;
};
void nc_host_stats_release(struct nc_host_stats *s);

/* ---- migration ---- */
struct nc_migrate_progress {
	uint64_t total;          /* bytes to move (memory + disks), 0 if unknown */
	uint64_t remaining;
	double speed;            /* bytes per second, recent */
	double elapsed;          /* seconds */
	bool postcopy;           /* switched to post-copy: the guest runs on the destination */
};
/* migration.copyStorage: which non-shared disks a live migration copies */
enum nc_mig_storage {
	NC_MIG_STORAGE_NONE,         /* disks are shared (rbd) or copied by NovaCron (cold) */
	NC_MIG_STORAGE_FULL,         /* every local disk (VIR_MIGRATE_NON_SHARED_DISK) */
	NC_MIG_STORAGE_INCREMENTAL,  /* only each disk's top image; its backing chain must already be
				        at the destination (VIR_MIGRATE_NON_SHARED_INC) */
};
/* migration.compression: memory pages on the wire */
enum nc_mig_compress {
	NC_MIG_COMPRESS_NONE,
	NC_MIG_COMPRESS_XBZRLE,      /* VIR_MIGRATE_COMPRESSED + VIR_MIGRATE_PARAM_COMPRESSION "xbzrle" */
	NC_MIG_COMPRESS_ZSTD,        /* multifd compression: needs libvirt >= 9.4 (docs/migration.md) */
	NC_MIG_COMPRESS_ZLIB,
};
/* how a live migration is tuned (docs/migration.md "WAN tuning"); all zero: libvirt's defaults */
struct nc_migrate_tuning {
	enum nc_mig_storage copy_storage;
	enum nc_mig_compress compression;
	bool auto_converge;          /* VIR_MIGRATE_AUTO_CONVERGE */
	bool tls;                    /* VIR_MIGRATE_TLS: certificates are the daemons' own (qemu.conf) */
	unsigned parallel;           /* VIR_MIGRATE_PARALLEL with this many connections; 0: one stream */
	bool postcopy;               /* VIR_MIGRATE_POSTCOPY, switched to by one of: */
	unsigned postcopy_after_ms;  /*   this long after the start (0: not by time) */
	bool postcopy_stalled;       /*   the remaining memory stops shrinking (not converging) */
	unsigned max_downtime_ms;    /* 0: libvirt's default */
	unsigned long bandwidth_mib; /* MiB/s; 0: no cap */
	unsigned timeout_ms;         /* abort after this; 0: never (not after a switch to post-copy) */
};
struct nc_migrate_opts {
	bool live;               /* running guest: live migration; else cold */
	struct nc_migrate_tuning t;
	const char *dest_uri;        /* how the source daemon reaches the destination */
	/* tls: the name the destination's certificate must carry (VIR_MIGRATE_PARAM_TLS_DESTINATION),
	 * the host of its spec URI; NULL: libvirt's default (which libvirt 9.0 leaves empty for the
	 * storage copy's NBD connection, so a TLS migration with copyStorage fails without it) */
	const char *tls_host;
	void (*progress)(void *opaque, const struct nc_migrate_progress *p);
	void *opaque;
};

/*
 * A libvirt secret to define (or replace) with its value: private (libvirt
 * never gives the value back), not ephemeral, usage type ceph.
 */
struct nc_secret_def {
	const char *uuid;
	const char *usage;       /* the usage name */
	const char *description;
	const unsigned char *value;
	size_t len;
};

/* ---- the vtable ---- */
struct nc_host_conn {
	const struct nc_host_driver *drv;
	char *uri;
};

struct nc_driver_opts {
	const char *state_dir;   /* for sim:// hosts */
};

struct nc_host_driver {
	const char *name;
	/* URI schemes this driver serves ("qemu", "test", "sim", ...); NULL-terminated */
	const char *const *schemes;
	int (*open)(struct nc_host_conn **out, const char *uri, const struct nc_driver_opts *opts,
		    struct nc_err *err);
	void (*close)(struct nc_host_conn *conn);
	int (*observe)(struct nc_host_conn *conn, struct nc_observed_host *out, struct nc_err *err);
	/* one domain by name: 1 and *out filled when it exists, 0 when not */
	int (*lookup)(struct nc_host_conn *conn, const char *name, struct nc_domain *out,
		      struct nc_err *err);
	/* defines (creates or replaces the persistent config of) a domain */
	int (*define)(struct nc_host_conn *conn, const struct nc_domain_def *def, struct nc_err *err);
	int (*start)(struct nc_host_conn *conn, const char *name, struct nc_err *err);
	/* graceful shutdown; after timeout_ms, destroy */
	int (*shutdown)(struct nc_host_conn *conn, const char *name, unsigned timeout_ms,
			struct nc_err *err);
	/* live changes on a running domain; 0 leaves a value as it is */
	int (*set_live)(struct nc_host_conn *conn, const char *name, unsigned vcpus,
			uint64_t memory, struct nc_err *err);
	/* stops (if running) and undefines; never removes disks */
	int (*undefine)(struct nc_host_conn *conn, const char *name, struct nc_err *err);
	/*
	 * moves a domain from conn to dst: live (peer-to-peer, persistent on the
	 * destination, source undefined) or cold (defined on the destination with
	 * the same identity, then undefined here).  A live migration that times
	 * out is aborted and the guest keeps running on the source.
	 */
	int (*migrate)(struct nc_host_conn *conn, struct nc_host_conn *dst, const char *name,
		       const struct nc_migrate_opts *opts, struct nc_err *err);
	/*
	 * a running domain's CD-ROM seed->target reads its medium afresh (a
	 * media change, live only): QEMU reopens seed->source, so the guest's
	 * next boot, a reboot inside the same QEMU too, sees the new seed.
	 * A domain that is not running: nothing to do.  May be NULL.
	 */
	int (*change_media)(struct nc_host_conn *conn, const char *name, const struct nc_seed_def *seed,
			    struct nc_err *err);
	/* defines the secret and sets its value (a secret with its uuid is replaced);
	 * sim: recorded in STATE_DIR/NAME.secrets without the value */
	int (*secret_define)(struct nc_host_conn *conn, const struct nc_secret_def *def, struct nc_err *err);
	/* makes changes durable (sim: writes the state file); may be NULL */
	int (*commit)(struct nc_host_conn *conn, struct nc_err *err);
	/*
	 * telemetry: node CPU and memory, every domain's statistics
	 * (virConnectGetAllDomainStats: state, cpu, balloon, vcpu, block,
	 * interface) and every active pool's capacity, in one round.  sim://
	 * hosts give deterministic synthetic figures (`novacron sim HOST load`).
	 * Read-only.  May be NULL (then the host has no telemetry).
	 */
	int (*stats)(struct nc_host_conn *conn, struct nc_host_stats *out, struct nc_err *err);
	/*
	 * adoption (docs/adopt.md): writes NovaCron's ownership metadata
	 * (def's meta_* fields) into an existing domain's persistent and, when
	 * it runs, live definition; nothing else changes and the guest is not
	 * restarted.  May be NULL.
	 */
	int (*set_meta)(struct nc_host_conn *conn, const char *name, const struct nc_domain_def *def,
			struct nc_err *err);
	/*
	 * the domain's QEMU guest agent answers {"execute":"guest-ping"} within
	 * timeout_s seconds (health gates, docs/plan.md): 0, or -1 with *err set
	 * (no agent, not running, no answer).  May be NULL (no agent ever).
	 */
	int (*agent_ping)(struct nc_host_conn *conn, const char *name, unsigned timeout_s,
			  struct nc_err *err);
	/*
	 * snapshots (drivers/host/snapshot.c, docs/storage.md "Snapshots"): internal
	 * snapshots of qcow2 disks through libvirt.  snap_create takes def on domain
	 * `name` (*quiesced tells whether the guest's file systems were frozen: the
	 * agent answered); snap_delete removes one; snap_revert puts the domain back
	 * to one (a snapshot with memory resumes the guest, one without leaves it
	 * shut off).  May be NULL (no snapshots).
	 */
	int (*snap_create)(struct nc_host_conn *conn, const char *name, const struct nc_snap_def *def,
			   bool *quiesced, struct nc_err *err);
	int (*snap_delete)(struct nc_host_conn *conn, const char *name, const char *snap, struct nc_err *err);
	int (*snap_revert)(struct nc_host_conn *conn, const char *name, const char *snap, struct nc_err *err);
};

/* Finds the driver for a URI by its scheme ("qemu+ssh://..." -> "qemu"). */
const struct nc_host_driver *nc_driver_for_uri(const char *uri);
int nc_host_open(struct nc_host_conn **out, const char *uri, const struct nc_driver_opts *opts,
		 struct nc_err *err);
void nc_host_close(struct nc_host_conn *conn);

/*
 * Health probes (reconciler/health.c): one cheap question to a host's
 * daemon over a connection kept in *probe between calls (opened when NULL;
 * closed and set to NULL after an error, so the next call reconnects).
 * libvirt URIs: virConnectIsAlive and virConnectGetLibVersion (a round trip
 * to the daemon).  sim:/// hosts keep no connection (their lock belongs to
 * passes): the state directory is looked at, and a host made unreachable
 * with `novacron sim HOST down` fails.  May block for as long as the daemon
 * does not answer (a SIGSTOPped libvirtd): call it on a thread of its own.
 * 0, or -1 with *err set.
 */
struct nc_host_probe;
int nc_host_probe(struct nc_host_probe **probe, const char *uri, const struct nc_driver_opts *opts,
		  struct nc_err *err);
void nc_host_probe_close(struct nc_host_probe *probe);

/*
 * A simulated host that is down (STATE_DIR/NAME.down exists): opening it
 * fails with "host is down (novacron sim NAME down)", as an unreachable
 * daemon would, and probes fail.  set_down creates or removes the marker.
 */
bool nc_sim_host_down(const char *state_dir, const char *name);
int nc_sim_host_set_down(const char *state_dir, const char *name, bool down, struct nc_err *err);

/*
 * The stats op of a simulated host without opening it (collection,
 * telemetry/collect.c): the same figures, read from STATE_DIR/NAME.xml as
 * its last commit left it, with no lock taken (a pass may hold the host).
 * Fails as open does for a host that is down.  drivers/host/stats.c.
 */
int nc_sim_stats_read(const char *state_dir, const char *uri, struct nc_host_stats *out, struct nc_err *err);
/*
 * The clock of simulated hosts: NOVACRON_SIM_TIME=UNIXSECONDS when set (a
 * test and benchmark switch that steps time deterministically; *simulated
 * then true), else the wall clock.  Collection rounds take their time from
 * it too (docs/monitoring.md).  simulated may be NULL.
 */
double nc_sim_clock(bool *simulated);

/* The NOVACRON_FAIL_AT switch: returns -1 (with err set) when this call is the K-th. */
int nc_driver_fault(const char *what, struct nc_err *err);

/*
 * `novacron sim HOST COMMAND...`: changes a simulated host the way an
 * operator with virsh would (list, define-unmanaged, start, destroy, setmem,
 * setvcpus, detach-nic, undefine), for demos and drift tests; `down` makes
 * the host unreachable (every open fails) until `up` (HA, docs/ha.md).
 */
int nc_sim_tool(const char *state_dir, const char *host, int argc, char **argv, FILE *out,
		struct nc_err *err);

/* Domain XML (drivers/host/domxml.c, libxml2): generate and parse. */
char *nc_domxml_build(const struct nc_domain_def *def, const char *domain_type);
/* <disk device='cdrom'> of a seed alone, for a live media change; !medium: an empty tray */
char *nc_domxml_seed(const struct nc_seed_def *seed, bool medium);
int nc_domxml_parse(struct nc_domain *out, const char *xml, struct nc_err *err);
/* NovaCron's <vm> metadata element alone (def's meta_* fields), for virDomainSetMetadata */
char *nc_domxml_meta(const struct nc_domain_def *def);
void nc_domain_release(struct nc_domain *d);

#endif
