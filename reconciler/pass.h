/*
 * pass.h - one reconcile pass: observe every host, build the desired domains,
 * diff them into a plan of ordered actions, render it, apply it.
 *
 *   nc_observe()      opens every Host of the spec in parallel (per-host
 *                     timeout) and reads node info and domains;
 *   nc_plan_build()   diffs desired against observed into struct nc_plan;
 *   nc_plan_render_*  text (Terraform-like), Markdown (PR comment), JSON;
 *   nc_apply()        runs the actions in order, re-checking each domain
 *                     before it acts, committing after every step.
 *
 * Everything here is deterministic: hosts and VMs are walked in name order,
 * nothing is emitted from a hash table, no time or address reaches a plan.
 */
#ifndef NC_PASS_H
#define NC_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../drivers/driver.h"
#include "../spec/model.h"

struct nc_hostrec;
struct nc_image_set;
struct nc_ha_record;
struct nc_xmove;

/* ---- observation ---- */
enum nc_host_status { NC_HOST_OK, NC_HOST_UNREACHABLE };

/* an Image's volume in a pool, as observed (reconciler/images.h) */
struct nc_image_vol {
	char *pool;                      /* spec StoragePool */
	char *image;                     /* spec Image */
	bool present;                    /* the volume exists */
	bool complete;                   /* with its completion mark: uploaded and verified */
};

struct nc_host_view {
	const struct nc_host *spec;
	enum nc_host_status status;
	char *error;                     /* why unreachable */
	struct nc_host_conn *conn;       /* open while the pass lasts, if keep_open */
	char *migration_uri;             /* how other daemons reach it (connections applied); never shown */
	struct nc_observed_host obs;
	double seconds;                  /* time to open + observe */
	/*
	 * A pending move: the record of hosts (hostrec.h) has this host at
	 * another URI, which no declared host uses now, with managed VMs that
	 * are found on no host read in this pass: they may still run at the
	 * old address.  moved_from is that URI (NULL: no move pending) and
	 * moved_vms those VMs (sorted).  They are not created elsewhere and no
	 * VM is placed on this host until the old address is drained or
	 * decommissioned; the record keeps the old URI meanwhile.
	 */
	char *moved_from;
	char **moved_vms;
	size_t nmoved;
	/* Image volumes of its dir pools that VM disks use, by pool then image */
	struct nc_image_vol *images;
	size_t nimages;
	/* the managed VMs the record of hosts (hostrec.h) lists on it, sorted:
	 * what may run there while it cannot be read (HA recovery, docs/ha.md) */
	char **recorded_vms;
	size_t nrecorded;
};

/*
 * A host in the record of hosts seen (reconciler/hostrec.h) that the spec no
 * longer declares.  It is observed by the URI it was last declared with and
 * never changed: its managed domains block creates of the same VMs
 * elsewhere, and are never pruned (docs/development.md, invariant 8).
 */
struct nc_gone_host {
	char *name, *uri;
	enum nc_host_status status;
	char *error;                     /* why unreachable */
	struct nc_observed_host obs;     /* when ok */
	char **vms;                      /* managed VMs recorded on it, sorted */
	size_t nvms;
	double seconds;
};

struct nc_cluster {
	struct nc_host_view *hosts;      /* in spec order (by name) */
	size_t nhosts;
	size_t unreachable;
	struct nc_gone_host *gone;       /* recorded, no longer declared; by name */
	size_t ngone;
	size_t gone_unreachable;
	/* recorded hosts no longer declared whose address a declared host of
	 * another name now opens (the same URI after the operator's
	 * connections): renamed, observed under the new name; by name */
	char **renamed;
	size_t nrenamed;
	/* Image volumes of rbd pools (shared by every host), by pool then image */
	struct nc_image_vol *rbd_images;
	size_t nrbd_images;
};

struct nc_observe_opts {
	const char *state_dir;
	unsigned timeout_ms;             /* per host; 0 = 30 s */
	unsigned parallel;               /* worker threads; 0 = 16 */
	bool keep_open;                  /* keep connections for apply (plan closes them) */
	/* the operator's connections (struct nc_connection, reconciler/connections.h):
	 * what is opened instead of, or added to, the spec's URIs; NULL: none */
	const struct nc_list *connections;
	/* hosts seen before: those the spec no longer declares are observed too */
	const struct nc_hostrec *record;
	/* hosts not to contact (by name, declared or not): serve's health monitor
	 * knows they failed; each is unreachable at once with the error
	 * "failed health checks; not contacted", so a pass never waits on it */
	const char *const *skip_hosts;
	size_t nskip;
};

void nc_observe(struct nc_cluster *out, const struct nc_spec *spec,
		const struct nc_observe_opts *opts);
void nc_cluster_release(struct nc_cluster *c);
/* SHA-256 hex of everything observed that a plan depends on. */
void nc_cluster_digest(const struct nc_cluster *c, char out[65]);

/* ---- desired domains (reconciler/desired.c) ---- */
struct nc_desired {
	const struct nc_vm *vm;
	struct nc_domain_def def;        /* meta_hash filled in */
	char hash[65];
	struct nc_arena arena;           /* strings of def */
};
void nc_desired_build(struct nc_desired *out, const struct nc_spec *spec, const struct nc_vm *vm,
		      const char *commit);
void nc_desired_release(struct nc_desired *d);
/* A NIC's MAC: its fixed one (lower case), else 52:54:00 + SHA-256("VM/NIC"). */
void nc_nic_mac(const struct nc_vm *vm, const struct nc_nic *nic, char out[18]);
void nc_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- desired networks (reconciler/networks.c) ---- */
/*
 * A Network of type nat or isolated as libvirt should hold it on every host
 * that needs it: the same definition on each (static leases and DNS names
 * of every VM with a fixed address on it, wherever the VM runs, so that a
 * migration changes no network).  hash covers the whole definition and
 * autostart; it is stored in the network's <metadata>.
 */
struct nc_net_def;
struct nc_net_desired {
	const struct nc_network *net;
	struct nc_net_def *def;
	char hash[65];
};

/* ---- the plan ---- */
enum nc_action_kind {
	NC_ACT_CREATE,      /* define (+ start) */
	NC_ACT_UPDATE,      /* redefine, live changes, restart when allowed */
	NC_ACT_START,
	NC_ACT_STOP,
	NC_ACT_DELETE,      /* stop + undefine; disks retained unless policy says delete */
	NC_ACT_MIGRATE,     /* move to another host: live when running, else cold */
	NC_ACT_UPLOAD,      /* an Image into a pool of a host (obj NC_OBJ_IMAGE) */
	NC_ACT_RECOVER,     /* HA: define + start on another host a VM of a failed, fenced host (docs/ha.md) */
	NC_ACT_ADOPT,       /* write NovaCron's metadata into an unmanaged domain (novacron.io/adopt, docs/adopt.md) */
	NC_ACT_MOVE_VOLUME, /* move disks to pools of another tier (StorageTierPolicy, reconciler/tiering.h) */
};
#define NC_ACT__COUNT (NC_ACT_MOVE_VOLUME + 1)
/* the annotation that lets a VM take over the unmanaged domain of its name (docs/adopt.md) */
#define NC_ADOPT_ANNOTATION "novacron.io/adopt"
const char *nc_action_name(enum nc_action_kind k);

/*
 * What an action works on: a VM (the default, 0) or a host-level object that
 * VMs need (a network, a base image in a pool, a libvirt secret).  For those,
 * `vm` holds the object's spec name and `host` the host it is put on; plans
 * show them as "network lan", "image debian-12", "secret ceph-rbd".
 */
enum nc_object_kind { NC_OBJ_VM, NC_OBJ_NETWORK, NC_OBJ_IMAGE, NC_OBJ_SECRET, NC_OBJ_SNAPSHOT };
const char *nc_object_kind_name(enum nc_object_kind k);

struct nc_change {
	char *field;        /* "memory", "nic eth0", "state" */
	char *from, *to;    /* human-readable values */
	bool restart;       /* needs a restart to take effect */
};

struct nc_action {
	int id;             /* 1-based, in execution order */
	enum nc_action_kind kind;
	enum nc_object_kind obj;  /* NC_OBJ_VM unless a host-level object */
	char *vm;           /* spec name (or domain name when pruning); the object's name */
	size_t host;        /* index into cluster hosts */
	size_t target;      /* migrate: destination host */
	bool live;          /* migrate: live (running guest) or cold */
	bool rebalance;     /* migrate: a rebalancing move, with the imbalance score around it */
	double score_before, score_after;
	size_t copy_vols;   /* cold migrate: local volumes (dir pools) copied to the target */
	uint64_t copy_bytes;/* cold migrate: their allocation on the source (bytes to send) */
	struct nc_migrate_tuning tune;  /* migrate: the VM's effective tuning (migtune.h) */
	bool tune_set;      /* migrate: the spec (VM or its PlacementPolicy) tunes it: text shows it */
	struct nc_xmove *xmove;     /* migrate: between clusters, how (reconciler/xmigrate.h); NULL within one */
	const struct nc_vm *vmref;  /* the spec VM, when there is one */
	char *reason;       /* one line: why */
	char *placement;    /* create: why this host */
	bool drift;         /* the cluster moved away from an unchanged spec */
	bool restart;       /* update: stop and start the domain */
	bool start_after;   /* create/update: start when done */
	bool live_memory;   /* update: set the live balloon */
	bool redefine;      /* update: write a new persistent definition */
	bool seed_upload;   /* update: rebuild and upload the cloud-init seed (create: always) */
	struct nc_change *changes;
	size_t nchanges;
	int *after;         /* ids this action waits for */
	size_t nafter;
	struct nc_desired *desired;  /* create/update: what to define */
	/* network actions (obj NC_OBJ_NETWORK) */
	const struct nc_net_desired *net;  /* create/update: the definition */
	bool live_entries;  /* update: change DHCP/DNS host entries of the running network */
	bool autostart;     /* update: set autostart as the definition says */
	char **affected;    /* update with restart: running VMs on the network on that host */
	size_t naffected;
	char *pool;         /* upload: the spec StoragePool the Image goes into */
	char *snapshot;     /* snapshot actions (obj NC_OBJ_SNAPSHOT, vm "VM/NAME"): its name */
	/* HA (docs/ha.md) */
	bool stale;         /* delete: a stale copy of a VM restarted elsewhere: destroy + undefine
			       only, never a disk or seed (the restarted copy uses them) */
	bool ha_restart;    /* update: restart at once (destroy, start): its rbd client was fenced */
	int priority;       /* recover: ha.priority (recoveries run highest first) */
	char **failed_hosts;/* recover: the failed hosts whose HA records get it in `recovered` */
	size_t nfailed_hosts;
	/* ordering (reconciler/order.c, docs/plan.md): set on the VM actions of a plan whose
	 * spec uses dependsOn or wave; creates, starts and updates go in bring-up order,
	 * stops and deletes in reverse */
	bool ordered;
	int rank;           /* position of the VM in bring-up order */
	int wave;
	char **deps;        /* bring-up: the VMs of spec.dependsOn (all, sorted) */
	size_t ndeps;
	bool replace;       /* update: --replace: stop, undefine, define anew (new UUID), start; disks kept */
	const char *cluster;/* the Cluster it acts in (its VM's, else its host's); NULL without Clusters */
};

enum nc_note_kind { NC_NOTE_INFO, NC_NOTE_WARNING, NC_NOTE_ERROR };
struct nc_note {
	enum nc_note_kind kind;
	char *vm;           /* may be NULL */
	char *text;
};

struct nc_load_data;
struct nc_tier_io_data;
struct nc_plan_opts {
	bool prune;                  /* delete managed domains absent from the spec */
	unsigned delete_threshold;   /* percent of managed VMs; default 25 */
	bool allow_mass_delete;
	const char *commit;          /* recorded in metadata */
	unsigned shutdown_timeout_ms;
	unsigned max_migrations;          /* at once in the cluster; default 4 */
	unsigned max_migrations_per_host; /* at once per source or destination; default 2 */
	const volatile int *cancel;       /* apply: when it becomes non-zero, start nothing new */
	struct nc_image_set *images;      /* where Images' bytes are (images.h); NULL: not resolved */
	/* HA (docs/ha.md): the record of failed and fenced hosts (ha.h; NULL: none), read only */
	const struct nc_ha_record *ha;
	unsigned max_recoveries;          /* recoveries at once; default 4 */
	/* apply: STATE_DIR whose ha.json gets each VM recovered (under its lock) before
	 * the VM is defined elsewhere; NULL: recover actions fail (nothing records them).
	 * Its history.json gets every VM action's result (history.h) */
	const char *ha_state_dir;
	/* load-aware placement (docs/placement.md "Observed load"): the history's directory
	 * (telemetry/store.h; NULL: none), or figures given directly (tests, bench; wins) */
	const char *telemetry_dir;
	const struct nc_load_data *load;
	/* tiering (reconciler/tiering.h): VMs' block I/O history given directly (tests; wins over telemetry_dir) */
	const struct nc_tier_io_data *tier_io;
	/* scope (reconciler/scope.h, docs/plan.md "Planning a subset"): what the plan covers */
	const char *const *targets;       /* --target: "NAME" (a VM) or "KIND/NAME"; none: everything */
	size_t ntargets;
	const char *selector;             /* -l: the VMs whose effective labels match; NULL: none */
	const char *const *replace;       /* --replace: VMs redefined anew even without drift */
	size_t nreplace;
	/* --cluster (reconciler/clusters.h): only these Clusters' actions; none: every cluster */
	const char *const *clusters;
	size_t nclusters;
};

struct nc_plan {
	struct nc_action *actions;
	size_t nactions;
	struct nc_note *notes;
	size_t nnotes;
	const struct nc_spec *spec;  /* what it was built from (apply reads pools and backups) */
	struct nc_desired *desired;  /* one per VM not absent, spec order */
	size_t ndesired;
	struct nc_net_desired *nets; /* one per nat/isolated Network, spec order */
	size_t nnets;
	size_t unmanaged_nets;       /* libvirt networks without NovaCron metadata */
	size_t ncreate, nupdate, ndelete, nstart, nstop, nmigrate, nupload, nrecover;
	size_t nadopt;
	size_t nmove_volume;         /* move-volume actions (tiering.h) */
	double imbalance_before, imbalance_after;   /* policies/rebalance.c score */
	size_t unmanaged;            /* domains without NovaCron metadata */
	size_t managed;              /* managed domains observed */
	bool refused;                /* a safety rule stopped the plan */
	size_t errors;               /* notes of kind error */
	size_t unreachable;          /* hosts that could not be read, declared or not: a partial plan */
	size_t blocked;              /* VMs not created: they may run on a host unreachable or undeclared */
	size_t recovering;           /* VMs of failed hosts restarted elsewhere by this plan */
	bool scoped;                 /* --target or --selector: only part of the cluster is planned */
	size_t scope_vms;            /* VMs in scope (when scoped) */
	size_t suspended;            /* VMs with novacron.io/reconcile: disabled */
	size_t ignored;              /* drifted fields left alone (ignoreDifferences) */
	char spec_digest[65];
	char observed_digest[65];
	char plan_digest[65];
};

int nc_plan_build(struct nc_plan *out, const struct nc_spec *spec, const struct nc_cluster *c,
		  const struct nc_plan_opts *opts);
void nc_plan_release(struct nc_plan *p);
/* Adds an error note to a built plan (checks made after it, e.g. image URLs). */
void nc_plan_add_error(struct nc_plan *p, const char *vm, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool nc_plan_empty(const struct nc_plan *p);
/* Some host could not be read: the plan covers only what could be seen. */
bool nc_plan_partial(const struct nc_plan *p);
/* The cluster may still differ from the spec after this plan (partial, blocked VMs). */
bool nc_plan_incomplete(const struct nc_plan *p);

/* ordering (reconciler/order.c): does some VM use dependsOn or wave; the health gate of a VM
 * (its health.wait, else running when a VM depends on it or a later wave exists, else none) */
bool nc_order_used(const struct nc_spec *spec);
void nc_order_gate(const struct nc_spec *spec, const struct nc_vm *vm, enum nc_health_wait *wait,
		   uint64_t *timeout_ms);

/* "live", "cold", or "cold, copies 2 volumes, 1.2 GiB allocated" (a migrate action) */
void nc_migrate_mode(const struct nc_action *a, char *buf, size_t len);

struct nc_render_opts {
	int color;
	const char *const *paths;    /* the spec paths given */
	size_t npaths;
	const char *state_dir;       /* recorded in JSON for apply PLANFILE */
	const struct nc_plan_opts *plan_opts;
	const char *marker;          /* Markdown: the marker's ID (annotations.h), NULL for none */
	size_t max_bytes;            /* Markdown: at most this long (0 = unlimited; docs/ci.md) */
};
void nc_plan_render_text(const struct nc_plan *p, const struct nc_cluster *c,
			 const struct nc_render_opts *o, struct nc_buf *out);
void nc_plan_render_markdown(const struct nc_plan *p, const struct nc_cluster *c,
			     const struct nc_render_opts *o, struct nc_buf *out);
void nc_plan_render_json(const struct nc_plan *p, const struct nc_cluster *c,
			 const struct nc_render_opts *o, struct nc_buf *out);

/* ---- apply ---- */
struct nc_apply_result {
	size_t done, failed, skipped;
	size_t by_kind[NC_ACT__COUNT][3];   /* kind x (done, failed, skipped) */
};
void nc_apply(struct nc_apply_result *out, const struct nc_plan *p, struct nc_cluster *c,
	      const struct nc_plan_opts *opts, FILE *progress, int color);

#endif
