/* Private to scheduler/: the per-request context that filters and weighers read, and
 * the filter and weigher tables. Nothing here is part of the contract in scheduler.h.
 *
 * The context is prepared once per sched_select() call so that the per-host work is
 * integer comparisons unless the request itself asks for string matching (AZ, image
 * properties, aggregate extra specs, hints). */
#ifndef NL_SCHEDULER_INTERNAL_H
#define NL_SCHEDULER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/scheduler.h"

#define SCHED_REASON_LEN sizeof(((struct sched_filter_report *)0)->reasons[0])

/* A borrowed, not NUL-terminated piece of a request string ("az" of "az:host"). */
struct span {
	const char *p;
	size_t len;
};

/* One flavor extra spec AggregateInstanceExtraSpecsFilter checks. */
struct spec_ref {
	struct span key;          /* without the "aggregate_instance_extra_specs:" scope */
	const char *want;         /* requirement: "true", "<or> a <or> b", ">= 4", ... */
};

enum ver_op { VER_NONE, VER_EQ, VER_NE, VER_GE, VER_GT, VER_LE, VER_LT };

struct sched_ctx {
	const struct sched_config *cfg;
	const struct sched_request *req;
	struct span az[2];        /* from req->az and from req->force_host; each must match */
	size_t n_az;
	struct span force_host;   /* empty: not forced */
	const char *img_arch;     /* canonical (lowercase alias resolved), NULL: any */
	const char *img_hv;       /* NULL: any */
	const char *img_ver;      /* img_hv_requested_version as given, for the reason */
	enum ver_op img_ver_op;
	int64_t img_ver_value;    /* libvirt encoding, like sched_host.hypervisor_version */
	bool img_ver_bad;         /* unparsable requirement: no host can satisfy it */
	const struct spec_ref *specs;
	size_t n_specs;
	int max_per_host;         /* anti-affinity, 0 already turned into 1 */
	bool group_has_hosts;     /* hard affinity: some host already holds a member */
};

/* Prepares c for req; specs must have room for req->n_extra_specs entries.
 * group_has_hosts is left false: it depends on hosts[] and is set by the caller. */
void sched_ctx_init(struct sched_ctx *c, const struct sched_config *cfg,
		    const struct sched_request *req, struct spec_ref *specs);

/* A filter passes or fails one host. On failure, when why is not NULL, it writes a
 * one-line reason starting with the host name; when why is NULL (the report is full)
 * it must not spend time formatting. */
typedef bool sched_filter_fn(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len);

struct sched_filter {
	const char *name;                                /* Nova's name, shown in the explain */
	bool (*active)(const struct sched_ctx *c);       /* false: cannot remove a host for this request */
	sched_filter_fn *pass;
	bool hot;                                        /* also in sched_hot_pass() */
};
extern const struct sched_filter sched_filters[];
extern const size_t sched_n_filters;

/* True when h passes every filter marked hot (the ones active for every request), with
 * the same result as calling them one by one: one direct call per host instead of four
 * indirect ones, which on 10,000 hosts halves the filtering time. A host it rejects is
 * run through the table again to find which filter removed it and why. */
bool sched_hot_pass(const struct sched_ctx *c, const struct sched_host *h);

/* Weighing (weighers.c): scores the hosts whose bit is set in pass, the survivors of
 * the filters, and keeps the best few, best first; on equal scores the lower index
 * first. Returns how many are in top[], 0 when no bit is set. */
#define SCHED_TOP_WEIGHED 5
struct sched_scored {
	size_t idx;
	double score;
};
size_t sched_weigh(const struct sched_ctx *c, const struct sched_host *hosts, const uint64_t *pass,
		   size_t pass_words, struct sched_scored top[SCHED_TOP_WEIGHED]);

/* What is left of a host after allocation ratio, reservation and usage: the filters
 * compare it with the request, the weighers rank by it (old Nova RamFilter/CoreFilter/
 * DiskFilter arithmetic: total x ratio - reserved - used). */
static inline double sched_usable_ram(const struct sched_config *cfg, const struct sched_host *h)
{
	return (double)h->ram_mb * cfg->ram_allocation_ratio - (double)cfg->reserved_host_memory_mb -
	       (double)h->ram_used_mb;
}

static inline double sched_usable_vcpus(const struct sched_config *cfg, const struct sched_host *h)
{
	return (double)h->vcpus * cfg->cpu_allocation_ratio - (double)cfg->reserved_host_cpus -
	       (double)h->vcpus_used;
}

static inline double sched_usable_disk(const struct sched_config *cfg, const struct sched_host *h)
{
	return (double)h->disk_gb * cfg->disk_allocation_ratio - (double)cfg->reserved_host_disk_gb -
	       (double)h->disk_used_gb;
}

#endif
