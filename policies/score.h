/*
 * score.h - the imbalance score (docs/placement.md "Imbalance score"): a
 * superset of Ganeti hbal's cluster score, computed incrementally.
 *
 * Terms, each with its weight (hbal 3.0's weight in brackets; hbal counts
 * free memory, free disk and vCPU ratio twice at 0.5, once with and once
 * without forthcoming instances, which NovaCron does not have):
 *
 *   free memory     1   sd of used memory / the host's memory       [0.5+0.5]
 *   free disk       1   sd of used local disk / capacity.disk x
 *                       overcommit, over hosts that declare it      [0.5+0.5]
 *   reserved memory 1   memory held for secondaries: always 0 here  [1]
 *   vCPU ratio      1   sd of reserved vCPUs / the host's CPUs      [0.5+0.5]
 *   CPU, memory, disk and network load  1 each: sd of each host's
 *                       load: one unit per VM (domain) in every
 *                       dimension, as hbal without utilisation data;
 *                       with observed figures (nc_placement_use_load and
 *                       a load mode other than static) the VMs' averages
 *                       plus the host's own use, as shares of its CPUs,
 *                       memory and NC_LOAD_IO_REF                  [1 each]
 *   VM spread       1   sd of the number of domains per host        [-]
 *   conflicts       2   preferred rules: anti-affinity, per topology
 *                       domain, the group's VMs beyond the first;
 *                       affinity, the domains holding the group
 *                       beyond one; each times weight/100          [pri_tags 2]
 *   offline         20  VMs on hosts that are unusable (maintenance,
 *                       unreachable, failed)                        [4+16]
 *   N+1 failures    1   hosts whose VMs could not all restart       [1]
 *
 * sd is the population standard deviation over the usable hosts.  The
 * N+1 term is counted only by nc_score_full(with_n1); the search keeps it
 * as a constraint instead (a move never adds a failure).
 *
 * A struct nc_score is built from a placement state and then follows the
 * moves it is told about (nc_score_move): nc_score_try_move() and
 * nc_score_try_swap() give the score a move or swap would leave in
 * O(dimensions + the VM's preferred rules), without a rescan.
 */
#ifndef NC_SCORE_H
#define NC_SCORE_H

#include <stdbool.h>
#include <stddef.h>

struct nc_placement_state;

enum nc_score_term {
	NC_ST_FREE_MEM, NC_ST_FREE_DISK, NC_ST_VCPU_RATIO,
	NC_ST_CPU_LOAD, NC_ST_MEM_LOAD, NC_ST_DISK_LOAD, NC_ST_NET_LOAD,
	NC_ST_SPREAD,                /* the last standard-deviation term */
	NC_ST_RESERVED_MEM, NC_ST_CONFLICTS, NC_ST_OFFLINE, NC_ST_N1,
	NC_ST__COUNT
};
#define NC_ST__SD (NC_ST_SPREAD + 1)

struct nc_score_parts {
	double term[NC_ST__COUNT];   /* unweighted */
	double total;                /* sum of weight x term */
};

/* the term's weight and its name ("free_mem", "cpu_load", ...) */
double nc_score_weight(int term);
const char *nc_score_term_name(int term);

struct nc_score;
/* mode: enum nc_load_mode; the load terms use observed figures only when it
 * is not static and the state has them */
struct nc_score *nc_score_new(const struct nc_placement_state *ps, int mode);
void nc_score_free(struct nc_score *s);
/* the score now, without N+1 */
double nc_score_total(const struct nc_score *s);
void nc_score_parts(const struct nc_score *s, struct nc_score_parts *out);
/* the score if placed entry k (nc_placement_entry) moved to host `to` */
double nc_score_try_move(const struct nc_score *s, size_t k, size_t to);
/* the score if entries a and b (on different hosts) traded hosts */
double nc_score_try_swap(const struct nc_score *s, size_t a, size_t b);
/* entry k is now on host `to` (the caller moves it in the placement state too) */
void nc_score_move(struct nc_score *s, size_t k, size_t to);
size_t nc_score_host_of(const struct nc_score *s, size_t k);
/* the standard deviation of term t (< NC_ST__SD), and host h's raw figure in
 * it with what it is a share of (*cap) */
double nc_score_sd(const struct nc_score *s, int t);
double nc_score_host_raw(const struct nc_score *s, size_t h, int t, double *cap);
/* whether the load terms use observed figures */
bool nc_score_observed(const struct nc_score *s);
/* the host's pressure: how far above the mean it is, summed over the
 * weighted terms in units of their sd (rebalance picks sources and targets by it) */
double nc_score_pressure(const struct nc_score *s, size_t h);

/*
 * The same terms recomputed from scratch (two-pass mean and variance, no
 * incremental sums): what the incremental score is tested against.  With
 * with_n1, N+1 failures are counted (nc_n1_host per usable host).
 */
void nc_score_full(const struct nc_placement_state *ps, int mode, bool with_n1, struct nc_score_parts *out);

#endif
