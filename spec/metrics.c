/* metrics.c - the catalogue of cluster metrics (metrics.h). */
#include "metrics.h"

#include <string.h>

static const struct nc_metric_info host_metrics[NC_HM__COUNT] = {
	{ NC_MT_HOST, NC_HM_UP, "up", NC_MU_BOOL,
	  "1 when the host answered this round's stats call, 0 when it failed or timed out", "up" },
	{ NC_MT_HOST, NC_HM_FAILED, "failed", NC_MU_BOOL,
	  "1 while serve's failure detector holds the host failed (docs/ha.md)", "failed" },
	{ NC_MT_HOST, NC_HM_CPU_USAGE, "cpu_usage", NC_MU_RATIO,
	  "share of all the node's CPUs busy over the round (0..1)", "cpu_usage" },
	{ NC_MT_HOST, NC_HM_CPUS, "cpus", NC_MU_COUNT, "CPUs of the node", "cpus" },
	{ NC_MT_HOST, NC_HM_MEMORY_TOTAL, "memory_total_bytes", NC_MU_BYTES,
	  "memory of the node", "mem_total" },
	{ NC_MT_HOST, NC_HM_MEMORY_USED, "memory_used_bytes", NC_MU_BYTES,
	  "memory in use on the node: total minus free, buffers and cache", "mem_used" },
	{ NC_MT_HOST, NC_HM_MEMORY_USED_RATIO, "memory_used_ratio", NC_MU_RATIO,
	  "memory_used_bytes / memory_total_bytes (0..1)", "mem_used_ratio" },
	{ NC_MT_HOST, NC_HM_VMS_RUNNING, "vms_running", NC_MU_COUNT,
	  "domains running on the host, managed or not", "vms_running" },
};

static const struct nc_metric_info vm_metrics[NC_VM__COUNT] = {
	{ NC_MT_VM, NC_VM_RUNNING, "running", NC_MU_BOOL, "1 while the domain runs", "running" },
	{ NC_MT_VM, NC_VM_CPU_USAGE, "cpu_usage", NC_MU_RATIO,
	  "CPU time used over the round divided by the round's length times the vCPUs (0..1)",
	  "cpu_usage" },
	{ NC_MT_VM, NC_VM_VCPUS, "vcpus", NC_MU_COUNT, "vCPUs of the running domain", "vcpus" },
	{ NC_MT_VM, NC_VM_MEMORY_BYTES, "memory_bytes", NC_MU_BYTES,
	  "memory the guest has now (the balloon's current size)", "mem" },
	{ NC_MT_VM, NC_VM_MEMORY_USED, "memory_used_bytes", NC_MU_BYTES,
	  "memory used inside the guest (balloon statistics), else the QEMU process's RSS",
	  "mem_used" },
	{ NC_MT_VM, NC_VM_MEMORY_USED_RATIO, "memory_used_ratio", NC_MU_RATIO,
	  "memory_used_bytes / memory_bytes (0..1)", "mem_used_ratio" },
	{ NC_MT_VM, NC_VM_DISK_READ_BPS, "disk_read_bytes_per_second", NC_MU_BYTES_PER_S,
	  "bytes read from all its disks per second over the round", "disk_rd_bps" },
	{ NC_MT_VM, NC_VM_DISK_WRITE_BPS, "disk_write_bytes_per_second", NC_MU_BYTES_PER_S,
	  "bytes written to all its disks per second over the round", "disk_wr_bps" },
	{ NC_MT_VM, NC_VM_DISK_READ_OPS, "disk_read_ops_per_second", NC_MU_OPS_PER_S,
	  "read requests to all its disks per second over the round", "disk_rd_ops" },
	{ NC_MT_VM, NC_VM_DISK_WRITE_OPS, "disk_write_ops_per_second", NC_MU_OPS_PER_S,
	  "write requests to all its disks per second over the round", "disk_wr_ops" },
	{ NC_MT_VM, NC_VM_NET_RX_BPS, "network_receive_bytes_per_second", NC_MU_BYTES_PER_S,
	  "bytes received on all its NICs per second over the round", "net_rx_bps" },
	{ NC_MT_VM, NC_VM_NET_TX_BPS, "network_transmit_bytes_per_second", NC_MU_BYTES_PER_S,
	  "bytes sent on all its NICs per second over the round", "net_tx_bps" },
};

static const struct nc_metric_info pool_metrics[NC_PM__COUNT] = {
	{ NC_MT_POOL, NC_PM_CAPACITY, "capacity_bytes", NC_MU_BYTES, "size of the pool", "capacity" },
	{ NC_MT_POOL, NC_PM_USED, "used_bytes", NC_MU_BYTES,
	  "bytes allocated in the pool", "used" },
	{ NC_MT_POOL, NC_PM_AVAILABLE, "available_bytes", NC_MU_BYTES,
	  "bytes still free in the pool", "available" },
	{ NC_MT_POOL, NC_PM_USED_RATIO, "used_ratio", NC_MU_RATIO,
	  "used_bytes / capacity_bytes (0..1)", "used_ratio" },
};

_Static_assert(NC_HM__COUNT <= NC_METRICS_MAX && NC_VM__COUNT <= NC_METRICS_MAX &&
	       NC_PM__COUNT <= NC_METRICS_MAX, "NC_METRICS_MAX too small");

static const struct nc_metric_info *table(enum nc_metric_target t, size_t *n)
{
	switch (t) {
	case NC_MT_HOST: *n = NC_HM__COUNT; return host_metrics;
	case NC_MT_VM: *n = NC_VM__COUNT; return vm_metrics;
	case NC_MT_POOL: *n = NC_PM__COUNT; return pool_metrics;
	default: *n = 0; return NULL;
	}
}

const char *nc_metric_target_name(enum nc_metric_target t)
{
	static const char *const names[NC_MT__COUNT] = { "host", "vm", "pool" };
	return (unsigned)t < NC_MT__COUNT ? names[t] : "?";
}

int nc_metric_target_parse(const char *s)
{
	for (int t = 0; t < NC_MT__COUNT; t++)
		if (s && strcmp(s, nc_metric_target_name((enum nc_metric_target)t)) == 0)
			return t;
	return -1;
}

const char *nc_metric_unit_name(enum nc_metric_unit u)
{
	static const char *const names[] = { "ratio", "bytes", "bytes/s", "ops/s", "count", "0/1" };
	return (unsigned)u < sizeof(names) / sizeof(names[0]) ? names[u] : "?";
}

size_t nc_metric_count(enum nc_metric_target t)
{
	size_t n;
	table(t, &n);
	return n;
}

const struct nc_metric_info *nc_metric_at(enum nc_metric_target t, unsigned index)
{
	size_t n;
	const struct nc_metric_info *m = table(t, &n);
	return index < n ? &m[index] : NULL;
}

const struct nc_metric_info *nc_metric_find(enum nc_metric_target t, const char *name)
{
	size_t n;
	const struct nc_metric_info *m = table(t, &n);
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}
