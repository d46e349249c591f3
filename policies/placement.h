/*
 * placement.h - where VMs may and should run (policies/placement.c), how to
 * even out a cluster (policies/rebalance.c) and whether it survives losing
 * a host (N+1, policies/rebalance.c).
 *
 * A struct nc_placement_state is built from the spec and an observed
 * cluster: it knows each host's capacity (times overcommit) and usage, and
 * where every VM is.  Choices and moves update it, so a pass's later
 * decisions see its earlier ones.
 */
#ifndef NC_PLACEMENT_H
#define NC_PLACEMENT_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "../reconciler/pass.h"

/* ---- observed load (policies/load.c; docs/placement.md "Observed load") ---- */
struct nc_load_figures {
	double cpu;                  /* vCPUs busy (cpu_usage x vcpus); a host: CPUs busy */
	double memory;               /* bytes in use (memory_used_bytes) */
	double disk;                 /* read + write, bytes/s */
	double net;                  /* rx + tx, bytes/s */
};
struct nc_load_obs {
	char *id;                    /* VM (domain) or host name */
	struct nc_load_figures f;
	bool has_io;                 /* a VM's disk and net figures are known */
};
/* Averages over [end - window, end] of every VM and host with history. */
struct nc_load_data {
	time_t end;                  /* the newest point in the history: never the wall clock */
	unsigned window;             /* seconds */
	struct nc_load_obs *vms, *hosts;   /* sorted by id; only those with a known point */
	size_t nvms, nhosts;
};
/*
 * Reads the history under dir (telemetry/store.h, read only) over the
 * window ending at the newest update of any file there: 1 and *out filled;
 * 0 when there is no history at all (no dir, no files, no known point); -1
 * with err on a store error.  want_vms / want_hosts (NULL: all): read only
 * these (a plan reads the domains and hosts it observed).
 */
int nc_load_read(struct nc_load_data *out, const char *dir, unsigned window, const char *const *want_vms,
		 size_t nwant_vms, const char *const *want_hosts, size_t nwant_hosts, struct nc_err *err);
void nc_load_release(struct nc_load_data *d);
const struct nc_load_obs *nc_load_find(const struct nc_load_obs *v, size_t n, const char *id);
/* The window a plan reads: the longest load.window of the policies using
 * observed figures (default 1h); 0 when every policy is static. */
unsigned nc_load_window(const struct nc_spec *spec);
/* The policy's load mode (enum nc_load_mode); static without a policy. */
int nc_load_mode_of(const struct nc_policy *pol);
/* 1.5GiB, 300MiB/s (suffix "/s") */
void nc_load_fmt_bytes(double bytes, const char *suffix, char *buf, size_t len);
/* "1h", "30m", "2d", "90s" */
void nc_load_fmt_window(unsigned seconds, char *buf, size_t len);

/* disk and network I/O are weighed as shares of this many bytes/s per host */
#define NC_LOAD_IO_REF (1024.0 * 1024 * 1024)

struct nc_host_load {
	bool usable;                 /* reachable and not in maintenance */
	const char *unusable;        /* why not */
	double cap_vcpus, cap_memory, cap_disk;   /* capacity times overcommit */
	double used_vcpus, used_memory, used_disk;
	size_t vms;
	/* observed (after nc_placement_use_load; all 0 before) */
	double phys_cpus, phys_memory;           /* capacity without overcommit */
	struct nc_load_figures load;             /* its VMs' figures + its own use */
	double own_cpu, own_memory;              /* the host's own use beyond its VMs' */
	double both_vcpus, both_memory;          /* sum of max(reserved, observed) + own (mode both) */
};

struct nc_placement_state;
struct nc_placement_state *nc_placement_new(const struct nc_spec *spec, const struct nc_cluster *c);
struct nc_placement_state *nc_placement_clone(const struct nc_placement_state *ps);
void nc_placement_free(struct nc_placement_state *ps);
/* Nothing is placed on host from now on: it is unusable for `why` (a static string),
 * unless it is unusable already (the first reason stays). */
void nc_placement_exclude(struct nc_placement_state *ps, size_t host, const char *why);
/* From now on ignore affinity rules: capacity, pinning and selectors only. */
void nc_placement_capacity_only(struct nc_placement_state *ps);
/*
 * A trial: what nc_placement_put, nc_placement_exclude and
 * nc_placement_capacity_only change between _begin and _end is undone by
 * _end, bit for bit (host figures, per-host lists in their order, entries),
 * so a what-if (N+1: a host fails) costs what it touches, not a clone of the
 * whole state.  Trials do not nest; one state is not shared between threads.
 */
void nc_placement_trial_begin(struct nc_placement_state *ps);
void nc_placement_trial_end(struct nc_placement_state *ps);
/* Index of vm in the spec's (sorted) VM list, or -1. */
ssize_t nc_placement_vm_index(const struct nc_placement_state *ps, const struct nc_vm *vm);

const struct nc_policy *nc_placement_policy(const struct nc_spec *spec, const struct nc_vm *vm);
/* All filters for vm on host; appends "; host: reason" to why (may be NULL) when not. */
bool nc_placement_fits(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t host,
		       struct nc_buf *why);
double nc_placement_score(const struct nc_placement_state *ps, const struct nc_vm *vm, size_t host);
/*
 * The best host for vm other than `exclude` (-1: none excluded), or -1 with
 * the reason each host was rejected.  *why (caller frees) explains the
 * choice; why NULL: no explanation is built (the same choice, faster).
 * Does not reserve: call nc_placement_put() for that.
 */
int nc_placement_choose(struct nc_placement_state *ps, const struct nc_vm *vm, int exclude, char **why);
/* Records vm on host `to` (placing it, or moving it from where it was). */
void nc_placement_put(struct nc_placement_state *ps, const struct nc_vm *vm, size_t to);
int nc_placement_host_of(const struct nc_placement_state *ps, const struct nc_vm *vm);

/*
 * Gives the state observed figures (d from nc_load_read, or made by a
 * test): each placed VM with history gets its averages, each other one its
 * static figures (vCPUs all busy, its memory all used, no I/O); hosts get the
 * sums and their own use (the host's series minus its VMs', never below 0).
 * From then on the VMs whose policy's load mode is observed or both are
 * filtered, scored and rebalanced by these figures.  d NULL: nothing changes.
 */
void nc_placement_use_load(struct nc_placement_state *ps, const struct nc_load_data *d);
/* The load mode that applies to vm in this state: its policy's, static without history. */
int nc_placement_mode(const struct nc_placement_state *ps, const struct nc_vm *vm);
/* vm's figures (observed, or static when it has no history); false when static */
bool nc_placement_figures(const struct nc_placement_state *ps, const struct nc_vm *vm,
			  struct nc_load_figures *out);
/* The window of the figures given (seconds), 0 when none */
unsigned nc_placement_window(const struct nc_placement_state *ps);

size_t nc_placement_hosts(const struct nc_placement_state *ps);
const struct nc_host_load *nc_placement_load(const struct nc_placement_state *ps, size_t host);
size_t nc_placement_count(const struct nc_placement_state *ps);
void nc_placement_entry(const struct nc_placement_state *ps, size_t k, const struct nc_vm **vm,
			size_t *host, double *memory);
/* all of placed entry k: what it reserves, its labels and its load figures */
struct nc_placement_info {
	const struct nc_vm *vm;      /* NULL: a domain not in the spec */
	const struct nc_map *labels; /* never NULL */
	size_t host;
	double vcpus, memory, disk;
	struct nc_load_figures obs;  /* observed, or its static figures */
};
void nc_placement_info(const struct nc_placement_state *ps, size_t k, struct nc_placement_info *out);
/* the placed entries on host (*n of them; valid until the next put) */
const size_t *nc_placement_on(const struct nc_placement_state *ps, size_t host, size_t *n);
/* host i's spec, and the spec the state was built from */
const struct nc_host *nc_placement_host_spec(const struct nc_placement_state *ps, size_t i);
const struct nc_spec *nc_placement_spec(const struct nc_placement_state *ps);
/* placed entry index of vm, or -1 */
ssize_t nc_placement_slot(const struct nc_placement_state *ps, const struct nc_vm *vm);

/* ---- rebalance and N+1 (policies/rebalance.c) ---- */
struct nc_imbalance {
	double memory, vcpus, disk;  /* standard deviations of the used shares */
	/* observed load (nc_imbalance_mode with observed or both): standard deviations
	 * of the CPU and memory shares in use and of the I/O shares of NC_LOAD_IO_REF */
	double cpu_load, memory_load, disk_load, net_load;
	size_t n1_failures;          /* hosts whose VMs could not all restart elsewhere */
	/* the other terms of the score (policies/score.h) */
	double spread;               /* sd of the domains per host */
	double units;                /* sd of the load units per host (one per domain), when load_units */
	bool load_units;             /* the load terms count one unit per domain (no observed figures) */
	double conflicts;            /* preferred-rule conflicts, weighted */
	size_t offline;              /* VMs on unusable hosts */
	double score;                /* the whole score of policies/score.h (with N+1 when asked) */
};
void nc_imbalance(const struct nc_placement_state *ps, bool with_n1, struct nc_imbalance *out);
/* the same with the figures of load mode `mode` (enum nc_load_mode) */
void nc_imbalance_mode(const struct nc_placement_state *ps, int mode, bool with_n1, struct nc_imbalance *out);

enum nc_load_dim { NC_LD_CPU, NC_LD_MEMORY, NC_LD_DISK, NC_LD_NET, NC_LD__COUNT };
struct nc_move {
	const struct nc_vm *vm;
	size_t from, to;
	double before, after;        /* imbalance score around this move */
	const struct nc_vm *swap;    /* the VM it trades hosts with (both moves show the pair's scores), or NULL */
	/* observed modes: the load dimension whose spread fell most, and the
	 * source host's figure in it before and after, of `cap` (CPUs, bytes,
	 * or bytes/s of NC_LOAD_IO_REF); dim -1 in static mode */
	int dim;
	double src_before, src_after, cap;
};
/*
 * Rebalance (policies/search.c, docs/placement.md "Rebalance"):
 * best-improvement moves of the VMs whose policy enables rebalancing (and
 * that busy does not mark, by spec VM index), swaps when no single move
 * gains enough, then a pass dropping moves worth less than the threshold.
 * Never breaks a filter, nor N+1 on a host that held it.  Applies the moves
 * to ps; returns their number, one per VM (origin -> final host), in *out
 * (caller frees), each with the score before and after it in that order.
 */
struct nc_rebalance_opts {
	size_t max_moves;            /* migrations per pass at most */
	double max_memory;           /* bytes of memory migrated per pass at most; 0: no bound */
	double threshold;            /* least gain of a move (a swap: twice); 0: any gain */
	int mode;                    /* enum nc_load_mode of the score's load terms */
	/* optional: budgets and thresholds of their own for the VMs of these policies
	 * (only they move then); each policy's VMs count against its own budget */
	const struct nc_policy *const *policies;
	const struct nc_rebalance_opts *policy_opts;
	size_t npolicies;
};
struct nc_rebalance_report {
	double before, after;        /* the score (without N+1) before and after */
	size_t movable, pinned;      /* VMs that may move; VMs of the policy that are pinned */
	size_t refused_filter, refused_n1;   /* gaining moves refused by a filter, by N+1 */
	char *refused;               /* the best refused move and why (caller frees), or NULL */
	bool budget;                 /* the budget (moves or memory) stopped the search */
	const struct nc_policy *budget_policy;   /* whose budget (with npolicies) */
	size_t swaps, dropped;       /* swaps made; moves the final pass took back */
};
size_t nc_rebalance_run(struct nc_placement_state *ps, const struct nc_spec *spec, const bool *busy,
			const struct nc_rebalance_opts *o, struct nc_move **out, struct nc_rebalance_report *rep);
/* The same with a move budget and a threshold only (static load mode). */
size_t nc_rebalance(struct nc_placement_state *ps, const struct nc_spec *spec,
		    const bool *movable, size_t budget, double threshold, struct nc_move **out);
/* The same scoring with the figures of load mode `mode` (enum nc_load_mode). */
/* "CPU load kvm1 5.8 -> 3.1 of 8": what drove an observed move (caller frees) */
char *nc_load_move_why(const struct nc_move *m, const char *from);
size_t nc_rebalance_mode(struct nc_placement_state *ps, const struct nc_spec *spec,
			 const bool *movable, size_t budget, double threshold, int mode,
			 struct nc_move **out);

/*
 * N+1 for one host: can every VM on it restart on the others (capacity,
 * pinning and selectors; affinity rules are not re-checked under failure,
 * as in Ganeti)?  Lists those that cannot.
 */
bool nc_n1_host(const struct nc_placement_state *ps, size_t host, struct nc_buf *stranded);
/* How many more VMs shaped like `like` fit (placed one after another), up to limit. */
size_t nc_fit_count(const struct nc_placement_state *ps, const struct nc_vm *like, size_t limit);

#endif
