/* The filter scheduler: pure functions over an array of host states. No I/O, no SQL,
 * no allocation in the hot path beyond what the caller hands in.
 *
 * The API loads host states and the request inside the write transaction that will
 * record the claim, calls sched_select(), and writes the chosen hosts in the same
 * transaction: concurrent creates can never over-commit a host.
 *
 * Every decision is explainable: sched_select() fills struct sched_explain with what each
 * filter removed and why, rendered by sched_explain_render() into instance action event
 * details and, when no host fits, into the fault message. */
#ifndef NL_SCHEDULER_H
#define NL_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_kv {
	const char *key;
	const char *value;
};

/* One host as the scheduler sees it (borrowed strings). The *_used fields are the sum of
 * the flavors of the non-deleted instances assigned to the host. */
struct sched_host {
	const char *name;                 /* service host name */
	const char *az;                   /* availability zone ("nova" when in no AZ aggregate) */
	bool enabled;                     /* os-services status */
	bool up;                          /* heartbeat recent and not forced down */
	int64_t vcpus, vcpus_used;        /* 64-bit: a sum of flavors' vcpus can pass 2^31 */
	int64_t ram_mb, ram_used_mb;
	int64_t disk_gb, disk_used_gb;
	int instances;                    /* number of instances on the host */
	const char *hypervisor_type;      /* "QEMU", "test", ... as os-hypervisors shows it */
	const char *arch;                 /* "x86_64", "aarch64", ... */
	int64_t hypervisor_version;       /* libvirt's encoding: major*1000000+minor*1000+release */
	/* Metadata of every aggregate the host is in; a key that appears in several
	 * aggregates appears several times. */
	const struct sched_kv *agg_meta;
	size_t n_agg_meta;
	/* Instance uuids on the host, for same_host / different_host hints. */
	const char *const *instance_uuids;
	size_t n_instance_uuids;
	/* Members of the request's server group already on this host. */
	int group_members;
};

enum sched_group_policy {
	SCHED_GROUP_NONE = 0,
	SCHED_GROUP_AFFINITY,
	SCHED_GROUP_ANTI_AFFINITY,
	SCHED_GROUP_SOFT_AFFINITY,
	SCHED_GROUP_SOFT_ANTI_AFFINITY,
};

struct sched_request {
	int64_t vcpus;
	int64_t ram_mb;
	int64_t disk_gb;                  /* root + ephemeral + swap (MiB rounded up to GiB) */
	const struct sched_kv *extra_specs;   /* flavor extra specs */
	size_t n_extra_specs;
	const struct sched_kv *image_props;   /* image properties (hw_architecture, img_hv_type, ...) */
	size_t n_image_props;
	const char *az;                   /* requested availability zone, NULL = any */
	const char *force_host;           /* "az:host" form (admin): only this host, filters still explain */
	enum sched_group_policy group_policy;
	int max_server_per_host;          /* anti-affinity rule, 0 = 1 (Nova's default) */
	const char *const *same_host;     /* scheduler hints: instance uuids */
	size_t n_same_host;
	const char *const *different_host;
	size_t n_different_host;
	int num_instances;                /* min_count: all or nothing */
};

struct sched_config {
	double cpu_allocation_ratio;      /* Nova defaults: 16.0 */
	double ram_allocation_ratio;      /* 1.5 */
	double disk_allocation_ratio;     /* 1.0 */
	int64_t reserved_host_memory_mb;  /* 512 */
	int64_t reserved_host_disk_gb;    /* 0 */
	int reserved_host_cpus;           /* 0 */
	/* Weigher multipliers: positive spreads (prefer the emptiest host), negative stacks. */
	double ram_weight_multiplier;     /* 1.0 */
	double cpu_weight_multiplier;     /* 1.0 */
	double disk_weight_multiplier;    /* 1.0 */
	double soft_affinity_weight_multiplier;      /* 1.0 */
	double soft_anti_affinity_weight_multiplier; /* 1.0 */
};

/* What one filter did: how many hosts it saw and removed, and why for the first few. */
#define SCHED_EXPLAIN_REASONS 4
struct sched_filter_report {
	const char *filter;               /* "RamFilter", "AvailabilityZoneFilter", ... (static) */
	int hosts_in, hosts_out;
	int n_reasons;
	char reasons[SCHED_EXPLAIN_REASONS][160];   /* "node2: 512 MB RAM requested, 128 MB usable" */
};

#define SCHED_MAX_FILTERS 16
struct sched_explain {
	int n_filters;
	struct sched_filter_report filters[SCHED_MAX_FILTERS];
	int hosts_total;
	int instances_placed;             /* how many of num_instances found a host */
	char weighed[256];                /* "node1 (weight 1.83), node3 (1.20), ..." top few */
};

void sched_config_defaults(struct sched_config *cfg);

/* Chooses a host for each of req->num_instances instances. chosen[] receives host
 * indices (into hosts[]), one per instance; resources, instance counts and group
 * members of hosts[] are consumed as instances are placed (the caller's array is
 * updated, so it reflects the claims). Returns 0 when every instance was placed, -1
 * when not (then hosts[] is left unchanged and ex says which filter removed what). */
int sched_select(const struct sched_config *cfg, struct sched_host *hosts, size_t n_hosts,
		 const struct sched_request *req, size_t *chosen, struct sched_explain *ex);

/* Renders ex as one human-readable text ("RamFilter removed 2 of 3 hosts: node2: ...;
 * ..."), for the action event and the fault message. Returns the length written
 * (truncated to fit, always NUL-terminated). */
size_t sched_explain_render(const struct sched_explain *ex, char *buf, size_t len);

#endif
