/* The filter scheduler (scheduler/) over synthetic host arrays: every filter passing
 * and failing with its reason text, ratios and reservations, Nova's weigher
 * normalization (spread, stack, soft group policies), hard group policies over
 * multi-instance requests, the all-or-nothing restore, and the rendered explanation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scheduler/scheduler.h"

/* Expands to "array, element count": in a designated initializer the count lands in the
 * next member, which in scheduler.h is always the matching n_* field. */
#define KVS(...) (const struct sched_kv[]){ __VA_ARGS__ }, \
	sizeof((const struct sched_kv[]){ __VA_ARGS__ }) / sizeof(struct sched_kv)
#define STRS(...) (const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)

static struct sched_host host(const char *name)
{
	return (struct sched_host){
		.name = name, .az = "nova", .enabled = true, .up = true,
		.vcpus = 8, .ram_mb = 8192, .disk_gb = 100,
		.hypervisor_type = "QEMU", .arch = "x86_64", .hypervisor_version = 7002022,
	};
}

/* Zero fields of a table row's request mean "1 vCPU, 512 MB, 1 GB, one instance". */
static struct sched_request fill_request(struct sched_request r)
{
	if (!r.vcpus)
		r.vcpus = 1;
	if (!r.ram_mb)
		r.ram_mb = 512;
	if (!r.disk_gb)
		r.disk_gb = 1;
	if (!r.num_instances)
		r.num_instances = 1;
	return r;
}

static const struct sched_filter_report *report(const struct sched_explain *ex, const char *filter)
{
	for (int i = 0; i < ex->n_filters; i++)
		if (strcmp(ex->filters[i].filter, filter) == 0)
			return &ex->filters[i];
	return NULL;
}

static int removed_by(const struct sched_explain *ex, const char *filter)
{
	const struct sched_filter_report *r = report(ex, filter);
	return r ? r->hosts_in - r->hosts_out : -1;
}

static const char *render(const struct sched_explain *ex)
{
	static char buf[2048];
	size_t n = sched_explain_render(ex, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	return buf;
}

/* ---- one host, one filter at a time ---- */

struct fcase {
	const char *what;
	struct {   /* zero: keep host()'s value */
		bool disabled, down;
		const char *name, *az, *arch, *hv;
		int vcpus, vcpus_used;
		int64_t ram, ram_used, disk, disk_used, hv_version;
		bool no_version;
		int members;
		const struct sched_kv *meta;
		size_t n_meta;
		const char *const *uuids;
		size_t n_uuids;
	} h;
	struct sched_request req;
	const char *filter;   /* NULL: the host passes */
	const char *reason;
};

static void run_fcase(const struct sched_config *cfg, const struct fcase *t)
{
	struct sched_host h = host(t->h.name ? t->h.name : "node1"), before;
	struct sched_request req = fill_request(t->req);
	struct sched_explain ex;
	size_t chosen = 99;

	h.enabled = !t->h.disabled;
	h.up = !t->h.down;
#define OVR(f, v) if (v) h.f = v
	OVR(az, t->h.az); OVR(arch, t->h.arch); OVR(hypervisor_type, t->h.hv);
	OVR(vcpus, t->h.vcpus); OVR(vcpus_used, t->h.vcpus_used); OVR(ram_mb, t->h.ram);
	OVR(ram_used_mb, t->h.ram_used); OVR(disk_gb, t->h.disk); OVR(disk_used_gb, t->h.disk_used);
	OVR(hypervisor_version, t->h.hv_version); OVR(group_members, t->h.members);
#undef OVR
	if (t->h.no_version)
		h.hypervisor_version = 0;
	h.agg_meta = t->h.meta;
	h.n_agg_meta = t->h.n_meta;
	h.instance_uuids = t->h.uuids;
	h.n_instance_uuids = t->h.n_uuids;
	before = h;

	int rc = sched_select(cfg, &h, 1, &req, &chosen, &ex);
	if (!t->filter) {
		if (rc != 0)
			fail_msg("%s: want pass, got: %s", t->what, render(&ex));
		assert_int_equal(chosen, 0);
		assert_int_equal(h.vcpus_used, before.vcpus_used + req.vcpus);
		assert_int_equal(h.ram_used_mb, before.ram_used_mb + req.ram_mb);
		assert_int_equal(h.disk_used_gb, before.disk_used_gb + req.disk_gb);
		assert_int_equal(h.instances, before.instances + 1);
		return;
	}
	if (rc != -1)
		fail_msg("%s: want %s to remove the host, it passed", t->what, t->filter);
	assert_memory_equal(&h, &before, sizeof(h));
	assert_int_equal(ex.instances_placed, 0);
	for (int i = 0; i < ex.n_filters; i++) {
		const struct sched_filter_report *r = &ex.filters[i];
		int want_removed = strcmp(r->filter, t->filter) == 0;
		if (r->hosts_in - r->hosts_out != want_removed)
			fail_msg("%s: %s removed %d: %s", t->what, r->filter, r->hosts_in - r->hosts_out, render(&ex));
		if (want_removed) {
			assert_int_equal(r->n_reasons, 1);
			if (strcmp(r->reasons[0], t->reason) != 0)
				fail_msg("%s: reason\n  got  '%s'\n  want '%s'", t->what, r->reasons[0], t->reason);
			return;
		}
	}
	fail_msg("%s: no report from %s: %s", t->what, t->filter, render(&ex));
}

static void test_filters(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	const struct fcase t[] = {
		{ "plain", .filter = NULL },
		{ "disabled", .h.disabled = true, .filter = "ComputeFilter", .reason = "node1: disabled" },
		{ "down", .h.down = true, .filter = "ComputeFilter", .reason = "node1: down" },
		{ "disabled and down", .h = { .disabled = true, .down = true }, .filter = "ComputeFilter",
		  .reason = "node1: disabled" },
		{ "az other", .req.az = "az1", .filter = "AvailabilityZoneFilter",
		  .reason = "node1: availability zone nova, az1 requested" },
		{ "az same", .h.az = "az1", .req.az = "az1" },
		{ "az is not a prefix", .h.az = "az10", .req.az = "az1", .filter = "AvailabilityZoneFilter",
		  .reason = "node1: availability zone az10, az1 requested" },
		{ "forced elsewhere", .req.force_host = "nova:node2", .filter = "force_host",
		  .reason = "node1: not the forced host node2" },
		{ "forced here", .req.force_host = "nova:node1" },
		{ "forced here, other az", .req.force_host = "az1:node1", .filter = "AvailabilityZoneFilter",
		  .reason = "node1: availability zone nova, az1 requested" },
		{ "force_host az only", .req.force_host = "nova" },
		{ "force_host az::node", .req.force_host = "nova::node1" },
		{ "force_host :host", .req.force_host = ":node1" },
		{ "force_host az::other", .req.force_host = "nova::node9", .filter = "force_host",
		  .reason = "node1: not the forced host node9" },
		{ "az with host", .req.az = "nova:node2", .filter = "force_host",
		  .reason = "node1: not the forced host node2" },
		{ "forced host still filtered", .h.down = true, .req.force_host = "nova:node1",
		  .filter = "ComputeFilter", .reason = "node1: down" },
		{ "ram short", .h = { .ram = 2048, .ram_used = 1536 }, .req.ram_mb = 2048, .filter = "RamFilter",
		  .reason = "node1: 2048 MB RAM requested, 1024 MB usable (2048 MB x 1.5 - 512 reserved - 1536 used)" },
		{ "ram exact", .h = { .ram = 2048, .ram_used = 1536 }, .req.ram_mb = 1024 },
		{ "ram overcommitted", .h = { .ram = 2048, .ram_used = 4000 }, .req.ram_mb = 1, .filter = "RamFilter",
		  .reason = "node1: 1 MB RAM requested, -1440 MB usable (2048 MB x 1.5 - 512 reserved - 4000 used)" },
		{ "cpu short", .h = { .vcpus = 4, .vcpus_used = 62 }, .req.vcpus = 4, .filter = "CoreFilter",
		  .reason = "node1: 4 vCPUs requested, 2 usable (4 x 16 - 0 reserved - 62 used)" },
		{ "cpu exact", .h = { .vcpus = 4, .vcpus_used = 62 }, .req.vcpus = 2 },
		{ "cpu against itself", .h.vcpus = 4, .req.vcpus = 8, .filter = "CoreFilter",
		  .reason = "node1: 8 vCPUs requested, the host has 4" },
		{ "disk short", .h = { .disk = 100, .disk_used = 90 }, .req.disk_gb = 20, .filter = "DiskFilter",
		  .reason = "node1: 20 GB disk requested, 10 GB usable (100 GB x 1 - 0 reserved - 90 used)" },
		{ "disk exact", .h = { .disk = 100, .disk_used = 90 }, .req.disk_gb = 10 },
		{ "arch other", .req.image_props = KVS({ "hw_architecture", "aarch64" }),
		  .filter = "ImagePropertiesFilter", .reason = "node1: architecture x86_64, image requires aarch64" },
		{ "arch alias", .req.image_props = KVS({ "architecture", "AMD64" }) },
		{ "hw_ name wins", .req.image_props = KVS({ "architecture", "aarch64" }, { "hw_architecture", "x86_64" }) },
		{ "hv qemu on QEMU", .req.image_props = KVS({ "img_hv_type", "qemu" }) },
		{ "hv qemu on kvm", .h.hv = "kvm", .req.image_props = KVS({ "img_hv_type", "qemu" }) },
		{ "hv kvm on QEMU", .req.image_props = KVS({ "img_hv_type", "kvm" }), .filter = "ImagePropertiesFilter",
		  .reason = "node1: hypervisor type QEMU, image requires kvm" },
		{ "hv old name", .req.image_props = KVS({ "hypervisor_type", "xen" }), .filter = "ImagePropertiesFilter",
		  .reason = "node1: hypervisor type QEMU, image requires xen" },
		{ "empty prop ignored", .req.image_props = KVS({ "img_hv_type", "" }) },
		{ "version too old", .req.image_props = KVS({ "img_hv_requested_version", ">=8.0" }),
		  .filter = "ImagePropertiesFilter", .reason = "node1: hypervisor version 7.2.22, image requires >=8.0" },
		{ "version ok", .req.image_props = KVS({ "img_hv_requested_version", ">= 7.0" }) },
		{ "version equal", .req.image_props = KVS({ "img_hv_requested_version", "7.2.22" }) },
		{ "version lt", .req.image_props = KVS({ "img_hv_requested_version", "<7.2.22" }),
		  .filter = "ImagePropertiesFilter", .reason = "node1: hypervisor version 7.2.22, image requires <7.2.22" },
		{ "version unparsable", .req.image_props = KVS({ "img_hv_requested_version", "latest" }),
		  .filter = "ImagePropertiesFilter", .reason = "node1: hypervisor version 7.2.22, image requires latest" },
		{ "version unknown on host", .h.no_version = true,
		  .req.image_props = KVS({ "img_hv_requested_version", ">=8.0" }) },
		{ "spec, no metadata", .req.extra_specs = KVS({ "ssd", "true" }),
		  .filter = "AggregateInstanceExtraSpecsFilter", .reason = "node1: no aggregate metadata ssd, flavor asks ssd=true" },
		{ "spec, other value", .h.meta = KVS({ "ssd", "false" }), .req.extra_specs = KVS({ "ssd", "true" }),
		  .filter = "AggregateInstanceExtraSpecsFilter", .reason = "node1: aggregate metadata ssd=false, flavor asks ssd=true" },
		{ "spec matches", .h.meta = KVS({ "ssd", "true" }), .req.extra_specs = KVS({ "ssd", "true" }) },
		{ "spec in 2nd aggregate", .h.meta = KVS({ "ssd", "false" }, { "ssd", "true" }),
		  .req.extra_specs = KVS({ "ssd", "true" }) },
		{ "scoped spec", .h.meta = KVS({ "ssd", "true" }),
		  .req.extra_specs = KVS({ "aggregate_instance_extra_specs:ssd", "true" }) },
		{ "scoped spec fails", .h.meta = KVS({ "gpu", "true" }),
		  .req.extra_specs = KVS({ "aggregate_instance_extra_specs:ssd", "true" }),
		  .filter = "AggregateInstanceExtraSpecsFilter", .reason = "node1: no aggregate metadata ssd, flavor asks ssd=true" },
		{ "other scope ignored", .req.extra_specs = KVS({ "hw:cpu_policy", "dedicated" }, { "quota:x", "1" }) },
		{ "comma list", .h.meta = KVS({ "tier", "gold, silver" }), .req.extra_specs = KVS({ "tier", "silver" }) },
		{ "comma list miss", .h.meta = KVS({ "tier", "gold,silver" }), .req.extra_specs = KVS({ "tier", "bronze" }),
		  .filter = "AggregateInstanceExtraSpecsFilter",
		  .reason = "node1: aggregate metadata tier=gold,silver, flavor asks tier=bronze" },
		{ "<or>", .h.meta = KVS({ "tier", "b" }), .req.extra_specs = KVS({ "tier", "<or> a <or> b" }) },
		{ "= is >=", .h.meta = KVS({ "cores", "8" }), .req.extra_specs = KVS({ "cores", "= 4" }) },
		{ "= is >= (equal)", .h.meta = KVS({ "cores", "4" }), .req.extra_specs = KVS({ "cores", "= 4" }) },
		{ "<all-in>", .h.meta = KVS({ "cpu", "avx2 sse4" }), .req.extra_specs = KVS({ "cpu", "<all-in> sse4 avx2" }) },
		{ "= is >= (fail)", .h.meta = KVS({ "cores", "2" }), .req.extra_specs = KVS({ "cores", "= 4" }),
		  .filter = "AggregateInstanceExtraSpecsFilter", .reason = "node1: aggregate metadata cores=2, flavor asks cores== 4" },
		{ "<in>", .h.meta = KVS({ "disk", "fast-ssd" }), .req.extra_specs = KVS({ "disk", "<in> ssd" }) },
		{ "s!=", .h.meta = KVS({ "disk", "hdd" }), .req.extra_specs = KVS({ "disk", "s!= ssd" }) },
		{ "same_host miss", .h.uuids = STRS("u1", "u2"), .req.same_host = STRS("u3"), .filter = "SameHostFilter",
		  .reason = "node1: holds none of the same_host instances" },
		{ "same_host hit", .h.uuids = STRS("u1", "u2"), .req.same_host = STRS("u3", "u2") },
		{ "different_host hit", .h.uuids = STRS("u1", "u2"), .req.different_host = STRS("u2"),
		  .filter = "DifferentHostFilter", .reason = "node1: holds instance u2 (different_host)" },
		{ "different_host miss", .h.uuids = STRS("u1", "u2"), .req.different_host = STRS("u3") },
		{ "anti-affinity full", .h.members = 1, .req.group_policy = SCHED_GROUP_ANTI_AFFINITY,
		  .filter = "ServerGroupAntiAffinityFilter",
		  .reason = "node1: 1 server group members, at most 1 per host (anti-affinity)" },
		{ "anti-affinity max 2", .h.members = 1, .req = { .group_policy = SCHED_GROUP_ANTI_AFFINITY,
								   .max_server_per_host = 2 } },
		{ "anti-affinity max 2 full", .h.members = 2, .req = { .group_policy = SCHED_GROUP_ANTI_AFFINITY,
									.max_server_per_host = 2 },
		  .filter = "ServerGroupAntiAffinityFilter",
		  .reason = "node1: 2 server group members, at most 2 per host (anti-affinity)" },
		{ "affinity, first member", .req.group_policy = SCHED_GROUP_AFFINITY },
		{ "soft anti-affinity never filters", .h.members = 5, .req.group_policy = SCHED_GROUP_SOFT_ANTI_AFFINITY },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		run_fcase(&cfg, &t[i]);
}

/* Each config field changes the outcome it should, and shows up in the reason. */
static void test_ratios_and_reservations(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		double cpu_ratio, ram_ratio, disk_ratio;
		int64_t res_ram, res_disk;
		int res_cpus;
		struct sched_request req;
		const char *filter, *reason;
	} t[] = {
		{ "defaults", 16, 1.5, 1, 512, 0, 0, { .vcpus = 4, .ram_mb = 4096, .disk_gb = 100 }, NULL, NULL },
		{ "ram ratio 1", 16, 1.0, 1, 512, 0, 0, { .vcpus = 4, .ram_mb = 4096, .disk_gb = 1 }, "RamFilter",
		  "node1: 4096 MB RAM requested, 3584 MB usable (4096 MB x 1 - 512 reserved - 0 used)" },
		{ "ram ratio 1, nothing reserved", 16, 1.0, 1, 0, 0, 0, { .vcpus = 4, .ram_mb = 4096, .disk_gb = 1 }, NULL, NULL },
		{ "ram ratio 1.25", 16, 1.25, 1, 512, 0, 0, { .vcpus = 1, .ram_mb = 4609, .disk_gb = 1 }, "RamFilter",
		  "node1: 4609 MB RAM requested, 4608 MB usable (4096 MB x 1.25 - 512 reserved - 0 used)" },
		{ "cpu ratio 1, 1 reserved", 1, 1.5, 1, 512, 0, 1, { .vcpus = 4, .ram_mb = 1, .disk_gb = 1 }, "CoreFilter",
		  "node1: 4 vCPUs requested, 3 usable (4 x 1 - 1 reserved - 0 used)" },
		{ "disk reserved", 16, 1.5, 1, 512, 10, 0, { .vcpus = 1, .ram_mb = 1, .disk_gb = 95 }, "DiskFilter",
		  "node1: 95 GB disk requested, 90 GB usable (100 GB x 1 - 10 reserved - 0 used)" },
		{ "disk ratio 2", 16, 1.5, 2, 512, 10, 0, { .vcpus = 1, .ram_mb = 1, .disk_gb = 190 }, NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sched_config cfg;
		sched_config_defaults(&cfg);
		cfg.cpu_allocation_ratio = t[i].cpu_ratio;
		cfg.ram_allocation_ratio = t[i].ram_ratio;
		cfg.disk_allocation_ratio = t[i].disk_ratio;
		cfg.reserved_host_memory_mb = t[i].res_ram;
		cfg.reserved_host_disk_gb = t[i].res_disk;
		cfg.reserved_host_cpus = t[i].res_cpus;
		struct fcase c = { .what = t[i].what, .h = { .vcpus = 4, .ram = 4096, .disk = 100 }, .req = t[i].req,
				   .filter = t[i].filter, .reason = t[i].reason };
		c.req.num_instances = 1;
		run_fcase(&cfg, &c);
	}
}

static void test_config_defaults(void **state)
{
	(void)state;
	struct sched_config c;
	memset(&c, 0xff, sizeof(c));
	sched_config_defaults(&c);
	assert_true(c.cpu_allocation_ratio == 16.0 && c.ram_allocation_ratio == 1.5 && c.disk_allocation_ratio == 1.0);
	assert_int_equal(c.reserved_host_memory_mb, 512);
	assert_int_equal(c.reserved_host_disk_gb, 0);
	assert_int_equal(c.reserved_host_cpus, 0);
	assert_true(c.ram_weight_multiplier == 1.0 && c.cpu_weight_multiplier == 1.0 && c.disk_weight_multiplier == 1.0);
	assert_true(c.soft_affinity_weight_multiplier == 1.0 && c.soft_anti_affinity_weight_multiplier == 1.0);
}

/* Only the filters this request can trigger run; the order is fixed. */
static void test_active_filters(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	struct sched_host h[2] = { host("node1"), host("node2") };
	struct sched_explain ex;
	size_t chosen[1];
	struct sched_request plain = fill_request((struct sched_request){ 0 });
	assert_int_equal(sched_select(&cfg, h, 2, &plain, chosen, &ex), 0);
	const char *want_plain[] = { "ComputeFilter", "RamFilter", "CoreFilter", "DiskFilter" };
	assert_int_equal(ex.n_filters, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(ex.filters[i].filter, want_plain[i]);

	h[0].instance_uuids = h[1].instance_uuids = (const char *const[]){ "u1" };
	h[0].n_instance_uuids = 1;
	h[0].agg_meta = h[1].agg_meta = (const struct sched_kv[]){ { "ssd", "true" } };
	h[0].n_agg_meta = h[1].n_agg_meta = 1;
	struct sched_request full = fill_request((struct sched_request){
		.az = "nova", .force_host = "nova:node1", .image_props = KVS({ "hw_architecture", "x86_64" }),
		.extra_specs = KVS({ "ssd", "true" }), .same_host = STRS("u1"), .different_host = STRS("u9"),
		.group_policy = SCHED_GROUP_ANTI_AFFINITY });
	assert_int_equal(sched_select(&cfg, h, 2, &full, chosen, &ex), 0);
	assert_int_equal(chosen[0], 0);
	const char *want_full[] = { "force_host", "ComputeFilter", "AvailabilityZoneFilter", "RamFilter", "CoreFilter",
				    "DiskFilter", "ImagePropertiesFilter", "AggregateInstanceExtraSpecsFilter",
				    "SameHostFilter", "DifferentHostFilter", "ServerGroupAntiAffinityFilter" };
	assert_int_equal(ex.n_filters, 11);
	for (int i = 0; i < 11; i++)
		assert_string_equal(ex.filters[i].filter, want_full[i]);
	assert_int_equal(ex.filters[0].hosts_in, 2);
	assert_int_equal(ex.filters[0].hosts_out, 1);
	assert_int_equal(ex.filters[10].hosts_in, 1);
}

/* ---- weighing ---- */

/* Three hosts that differ only in used RAM: usable 5632, 11776 and 7680 MB. */
static void test_weigh_ram(void **state)
{
	(void)state;
	static const struct {
		double ram_mult;
		size_t want;
		const char *weighed;
	} t[] = {
		{ 1.0, 1, "node2 (weight 1.00), node3 (0.33), node1 (0.00)" },
		{ 2.0, 1, "node2 (weight 2.00), node3 (0.67), node1 (0.00)" },
		{ -1.0, 0, "node1 (weight 0.00), node3 (-0.33), node2 (-1.00)" },
		{ 0.0, 0, "node1 (weight 0.00), node2 (0.00), node3 (0.00)" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sched_config cfg;
		sched_config_defaults(&cfg);
		cfg.ram_weight_multiplier = t[i].ram_mult;
		struct sched_host h[3] = { host("node1"), host("node2"), host("node3") };
		h[0].ram_used_mb = 6144;
		h[2].ram_used_mb = 4096;
		struct sched_request req = fill_request((struct sched_request){ 0 });
		struct sched_explain ex;
		size_t chosen[1];
		assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, &ex), 0);
		assert_int_equal(chosen[0], t[i].want);
		assert_string_equal(ex.weighed, t[i].weighed);
	}
}

/* Each weigher alone decides when only its resource differs; together they add up. */
static void test_weigh_cpu_disk_combined(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	struct sched_host h[3] = { host("node1"), host("node2"), host("node3") };
	struct sched_request req = fill_request((struct sched_request){ 0 });
	struct sched_explain ex;
	size_t chosen[1];

	h[0].vcpus_used = 100;   /* 28 free */
	h[1].vcpus_used = 28;    /* 100 free */
	h[2].vcpus_used = 64;    /* 64 free */
	assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, &ex), 0);
	assert_int_equal(chosen[0], 1);
	assert_string_equal(ex.weighed, "node2 (weight 1.00), node3 (0.50), node1 (0.00)");
	h[1].vcpus_used -= 1;
	h[1].ram_used_mb -= 512;
	h[1].disk_used_gb -= 1;

	h[0].disk_used_gb = 90;  /* the disk weigher alone would take node3 (nothing used) */
	h[1].disk_used_gb = 50;
	cfg.cpu_weight_multiplier = 0;
	assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, &ex), 0);
	assert_int_equal(chosen[0], 2);
	assert_string_equal(ex.weighed, "node3 (weight 1.00), node2 (0.44), node1 (0.00)");
	h[2] = host("node3");
	h[2].vcpus_used = 64;

	/* cpu (node2: 1, node3: 0.5) + disk (node3: 1, node2: 0.44): node3 1.5 beats node2 1.44 */
	cfg.cpu_weight_multiplier = 1;
	assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, &ex), 0);
	assert_int_equal(chosen[0], 2);
	assert_string_equal(ex.weighed, "node3 (weight 1.50), node2 (1.44), node1 (0.00)");
}

/* Spread sends two instances to two hosts; stacking keeps them together. */
static void test_spread_vs_stack(void **state)
{
	(void)state;
	static const struct { double mult; size_t want[3]; } t[] = {
		{ 1.0, { 0, 1, 2 } },
		{ -1.0, { 0, 0, 0 } },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sched_config cfg;
		sched_config_defaults(&cfg);
		cfg.ram_weight_multiplier = cfg.cpu_weight_multiplier = cfg.disk_weight_multiplier = t[i].mult;
		struct sched_host h[3] = { host("node1"), host("node2"), host("node3") };
		struct sched_request req = fill_request((struct sched_request){ .num_instances = 3 });
		size_t chosen[3];
		assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, NULL), 0);
		for (int k = 0; k < 3; k++)
			assert_int_equal(chosen[k], t[i].want[k]);
	}
}

/* node1 has the most free RAM, node2 the most group members. */
static void test_soft_group_weighers(void **state)
{
	(void)state;
	static const struct {
		enum sched_group_policy policy;
		double soft_mult;
		size_t want;
		int members[2];   /* after the placement */
	} t[] = {
		{ SCHED_GROUP_NONE, 5.0, 0, { 0, 2 } },             /* soft weighers inactive */
		{ SCHED_GROUP_SOFT_AFFINITY, 1.0, 0, { 1, 2 } },    /* 1 vs 1: tie, lowest index */
		{ SCHED_GROUP_SOFT_AFFINITY, 2.0, 1, { 0, 3 } },
		{ SCHED_GROUP_SOFT_ANTI_AFFINITY, 2.0, 0, { 1, 2 } },
		{ SCHED_GROUP_SOFT_AFFINITY, -2.0, 0, { 1, 2 } },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sched_config cfg;
		sched_config_defaults(&cfg);
		cfg.soft_affinity_weight_multiplier = cfg.soft_anti_affinity_weight_multiplier = t[i].soft_mult;
		struct sched_host h[2] = { host("node1"), host("node2") };
		h[1].ram_used_mb = 2048;
		h[1].group_members = 2;
		struct sched_request req = fill_request((struct sched_request){ .group_policy = t[i].policy });
		size_t chosen[1];
		assert_int_equal(sched_select(&cfg, h, 2, &req, chosen, NULL), 0);
		if (chosen[0] != t[i].want)
			fail_msg("case %zu: chose %zu, want %zu", i, chosen[0], t[i].want);
		assert_int_equal(h[0].group_members, t[i].members[0]);
		assert_int_equal(h[1].group_members, t[i].members[1]);
	}
}

/* Soft anti-affinity outweighs stacking: three instances on three hosts. */
static void test_soft_anti_affinity_multi(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	cfg.ram_weight_multiplier = -1;
	cfg.cpu_weight_multiplier = cfg.disk_weight_multiplier = 0;
	cfg.soft_anti_affinity_weight_multiplier = 10;
	struct sched_host h[3] = { host("node1"), host("node2"), host("node3") };
	struct sched_request req = fill_request((struct sched_request){
		.num_instances = 3, .group_policy = SCHED_GROUP_SOFT_ANTI_AFFINITY });
	size_t chosen[3];
	assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, NULL), 0);
	assert_int_equal(chosen[0], 0);
	assert_int_equal(chosen[1], 1);
	assert_int_equal(chosen[2], 2);
}

/* ---- hard group policies, multi-instance, all or nothing ---- */

static void test_affinity(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	struct sched_host h[3] = { host("node1"), host("node2"), host("node3") };
	struct sched_request req = fill_request((struct sched_request){ .group_policy = SCHED_GROUP_AFFINITY });
	struct sched_explain ex;
	size_t chosen[3];

	/* A later member follows the first, even to the fullest host. */
	h[1].group_members = 1;
	h[1].ram_used_mb = 4096;
	assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, &ex), 0);
	assert_int_equal(chosen[0], 1);
	assert_int_equal(h[1].group_members, 2);
	assert_string_equal(render(&ex), "3 hosts; ServerGroupAffinityFilter removed 2 (node1: holds no member of the "
			    "server group (affinity); node3: holds no member of the server group (affinity)); 1 host left; "
			    "weighed: node2 (weight 0.00)");

	/* The group's host is full: nothing else may take it. */
	h[1].ram_used_mb = 16000;
	struct sched_host before[3];
	memcpy(before, h, sizeof(h));
	assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, &ex), -1);
	assert_memory_equal(h, before, sizeof(h));
	assert_int_equal(removed_by(&ex, "RamFilter"), 1);
	assert_int_equal(removed_by(&ex, "ServerGroupAffinityFilter"), 2);

	/* A new group of three: all on one host, the first one weighing picks. */
	struct sched_host g[3] = { host("node1"), host("node2"), host("node3") };
	g[0].ram_used_mb = 1024;
	req.num_instances = 3;
	assert_int_equal(sched_select(&cfg, g, 3, &req, chosen, &ex), 0);
	assert_int_equal(chosen[0], 1);
	assert_int_equal(chosen[1], 1);
	assert_int_equal(chosen[2], 1);
	assert_int_equal(g[1].group_members, 3);
	assert_int_equal(g[1].instances, 3);
	assert_int_equal(g[1].ram_used_mb, 3 * 512);
	assert_int_equal(g[0].group_members + g[2].group_members, 0);
}

static void test_anti_affinity(void **state)
{
	(void)state;
	static const struct {
		int n_instances, max_per_host, member_on_1st;
		int rc, placed;
		size_t want[5];
	} t[] = {
		{ 2, 0, 0, 0, 2, { 0, 1 } },
		{ 3, 0, 0, -1, 2, { 0 } },
		{ 1, 0, 1, 0, 1, { 1 } },           /* an existing member keeps it off node1 */
		{ 4, 2, 0, 0, 4, { 0, 1, 0, 1 } },
		{ 5, 2, 0, -1, 4, { 0 } },
		{ 2, 0, 1, -1, 1, { 0 } },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sched_config cfg;
		sched_config_defaults(&cfg);
		struct sched_host h[2] = { host("node1"), host("node2") }, before[2];
		h[0].group_members = t[i].member_on_1st;
		memcpy(before, h, sizeof(h));
		struct sched_request req = fill_request((struct sched_request){
			.group_policy = SCHED_GROUP_ANTI_AFFINITY, .num_instances = t[i].n_instances,
			.max_server_per_host = t[i].max_per_host });
		struct sched_explain ex;
		size_t chosen[5];
		int rc = sched_select(&cfg, h, 2, &req, chosen, &ex);
		if (rc != t[i].rc)
			fail_msg("case %zu: rc %d: %s", i, rc, render(&ex));
		assert_int_equal(ex.instances_placed, t[i].placed);
		if (rc == 0) {
			for (int k = 0; k < t[i].n_instances; k++)
				assert_int_equal(chosen[k], t[i].want[k]);
			continue;
		}
		assert_memory_equal(h, before, sizeof(h));
		assert_int_equal(removed_by(&ex, "ServerGroupAntiAffinityFilter"), 2);
	}
}

/* The exact text for the 3-instances-over-2-hosts failure. */
static void test_anti_affinity_explain(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	struct sched_host h[2] = { host("node1"), host("node2") };
	struct sched_request req = fill_request((struct sched_request){
		.group_policy = SCHED_GROUP_ANTI_AFFINITY, .num_instances = 3 });
	struct sched_explain ex;
	size_t chosen[3];
	assert_int_equal(sched_select(&cfg, h, 2, &req, chosen, &ex), -1);
	assert_string_equal(render(&ex), "2 instances placed, then none fits: 2 hosts; ServerGroupAntiAffinityFilter "
			    "removed 2 (node1: 1 server group members, at most 1 per host (anti-affinity); node2: 1 server "
			    "group members, at most 1 per host (anti-affinity)); 0 hosts left");
	assert_int_equal(h[0].group_members + h[1].group_members, 0);
	assert_int_equal(h[0].instances + h[1].instances, 0);
}

/* RAM for two instances over two hosts: the third fails and the first two are undone. */
static void test_all_or_nothing(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	struct sched_host h[2] = { host("node1"), host("node2") }, before[2];
	h[0].ram_mb = h[1].ram_mb = 2048;   /* 2560 usable each */
	h[0].ram_used_mb = 100;
	h[0].vcpus_used = 3;      /* node2 leads on both RAM and CPU */
	h[1].instances = 2;
	memcpy(before, h, sizeof(h));
	struct sched_request req = fill_request((struct sched_request){
		.vcpus = 2, .ram_mb = 2000, .disk_gb = 20, .num_instances = 3 });
	struct sched_explain ex;
	size_t chosen[3];
	assert_int_equal(sched_select(&cfg, h, 2, &req, chosen, &ex), -1);
	assert_memory_equal(h, before, sizeof(h));
	assert_int_equal(ex.instances_placed, 2);
	assert_int_equal(removed_by(&ex, "RamFilter"), 2);

	req.num_instances = 2;
	assert_int_equal(sched_select(&cfg, h, 2, &req, chosen, &ex), 0);
	assert_int_equal(ex.instances_placed, 2);
	assert_int_equal(chosen[0], 1);   /* 2560 usable beats 2460 */
	assert_int_equal(chosen[1], 0);
	assert_int_equal(h[0].ram_used_mb, 2100);
	assert_int_equal(h[0].vcpus_used, 5);
	assert_int_equal(h[1].vcpus_used, 2);
	assert_int_equal(h[1].disk_used_gb, 20);
	assert_int_equal(h[1].instances, 3);
	assert_int_equal(h[0].group_members, 0);   /* no group: not counted */
}

static void test_hints_multi_host(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	struct sched_host h[3] = { host("node1"), host("node2"), host("node3") };
	h[0].instance_uuids = (const char *const[]){ "u1" };
	h[0].n_instance_uuids = 1;
	h[1].instance_uuids = (const char *const[]){ "u2", "u3" };
	h[1].n_instance_uuids = 2;
	h[1].ram_used_mb = 4096;
	size_t chosen[1];
	struct sched_explain ex;

	struct sched_request same = fill_request((struct sched_request){ .same_host = STRS("u3") });
	assert_int_equal(sched_select(&cfg, h, 3, &same, chosen, &ex), 0);
	assert_int_equal(chosen[0], 1);
	assert_int_equal(removed_by(&ex, "SameHostFilter"), 2);

	struct sched_request diff = fill_request((struct sched_request){ .different_host = STRS("u1", "u3") });
	assert_int_equal(sched_select(&cfg, h, 3, &diff, chosen, &ex), 0);
	assert_int_equal(chosen[0], 2);
	assert_string_equal(ex.filters[ex.n_filters - 1].reasons[1], "node2: holds instance u3 (different_host)");
}

static void test_az_and_force_host_multi_host(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	struct sched_host h[4] = { host("node1"), host("node2"), host("node3"), host("node4") };
	h[0].az = h[2].az = "az1";
	h[1].az = h[3].az = "az2";
	h[1].ram_used_mb = 1024;
	size_t chosen[1];
	struct sched_explain ex;

	struct sched_request az = fill_request((struct sched_request){ .az = "az2" });
	assert_int_equal(sched_select(&cfg, h, 4, &az, chosen, &ex), 0);
	assert_int_equal(chosen[0], 3);
	assert_int_equal(removed_by(&ex, "AvailabilityZoneFilter"), 2);

	struct sched_request forced = fill_request((struct sched_request){ .force_host = "az1:node3" });
	assert_int_equal(sched_select(&cfg, h, 4, &forced, chosen, &ex), 0);
	assert_int_equal(chosen[0], 2);
	assert_string_equal(render(&ex), "4 hosts; force_host removed 3 (node1: not the forced host node3; node2: not "
			    "the forced host node3; node4: not the forced host node3); 1 host left; weighed: node3 (weight 0.00)");

	struct sched_request wrong_az = fill_request((struct sched_request){ .force_host = "az2:node3" });
	assert_int_equal(sched_select(&cfg, h, 4, &wrong_az, chosen, &ex), -1);
	assert_string_equal(render(&ex), "4 hosts; force_host removed 3 (node1: not the forced host node3; node2: not "
			    "the forced host node3; node4: not the forced host node3); AvailabilityZoneFilter removed 1 "
			    "(node3: availability zone az1, az2 requested); 0 hosts left");
}

/* ---- explain ---- */

static void test_explain_render(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	struct sched_host h[3] = { host("node1"), host("node2"), host("node3") };
	h[0].ram_mb = 2048;
	h[1].ram_mb = 2048;
	h[1].ram_used_mb = 2000;
	h[2].up = false;
	struct sched_request req = fill_request((struct sched_request){ .ram_mb = 4096 });
	struct sched_explain ex;
	size_t chosen[1];
	assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, &ex), -1);
	assert_int_equal(ex.hosts_total, 3);
	assert_string_equal(render(&ex), "3 hosts; ComputeFilter removed 1 (node3: down); RamFilter removed 2 (node1: "
			    "4096 MB RAM requested, 2560 MB usable (2048 MB x 1.5 - 512 reserved - 0 used); node2: 4096 MB "
			    "RAM requested, 560 MB usable (2048 MB x 1.5 - 512 reserved - 2000 used)); 0 hosts left");

	req.ram_mb = 512;
	assert_int_equal(sched_select(&cfg, h, 3, &req, chosen, &ex), 0);
	assert_int_equal(chosen[0], 0);
	assert_string_equal(render(&ex), "3 hosts; ComputeFilter removed 1 (node3: down); 2 hosts left; weighed: "
			    "node1 (weight 1.00), node2 (0.00)");

	/* Truncation: always terminated, marked, never past len. */
	char small[24];
	memset(small, 'x', sizeof(small));
	size_t n = sched_explain_render(&ex, small, sizeof(small));
	assert_int_equal(n, sizeof(small) - 1);
	assert_string_equal(small, "3 hosts; ComputeFilt...");
	char one[1] = { 'x' };
	assert_int_equal(sched_explain_render(&ex, one, 1), 0);
	assert_int_equal(one[0], '\0');
	char none[1] = { 'x' };
	assert_int_equal(sched_explain_render(&ex, none, 0), 0);
	assert_int_equal(none[0], 'x');
	for (size_t len = 2; len < 120; len++) {
		char b[120];
		memset(b, 'x', sizeof(b));
		n = sched_explain_render(&ex, b, len);
		assert_true(n < len);
		assert_int_equal(strlen(b), n);
		assert_int_equal(b[len], 'x');
	}
}

/* Reasons are kept for the first few hosts only; the rest are counted. */
static void test_explain_reason_cap(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	static const char *names[] = { "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9" };
	struct sched_host h[10];
	for (int i = 0; i < 10; i++) {
		h[i] = host(names[i]);
		h[i].up = false;
	}
	struct sched_request req = fill_request((struct sched_request){ 0 });
	struct sched_explain ex;
	size_t chosen[1];
	assert_int_equal(sched_select(&cfg, h, 10, &req, chosen, &ex), -1);
	assert_int_equal(ex.filters[0].n_reasons, SCHED_EXPLAIN_REASONS);
	assert_string_equal(render(&ex), "10 hosts; ComputeFilter removed 10 (n0: down; n1: down; n2: down; n3: down; "
			    "and 6 more); 0 hosts left");

	assert_int_equal(sched_select(&cfg, h, 0, &req, chosen, &ex), -1);
	assert_string_equal(render(&ex), "0 hosts; 0 hosts left");
}

/* Same input, same answer; equal hosts go in host order. */
static void test_determinism(void **state)
{
	(void)state;
	struct sched_config cfg;
	sched_config_defaults(&cfg);
	enum { N = 300 };
	static struct sched_host a[N], b[N];
	static char names[N][16];
	uint32_t seed = 12345;
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		snprintf(names[i], sizeof(names[i]), "h%d", i);
		a[i] = host(names[i]);
		a[i].ram_used_mb = (seed >> 8) % 8 * 1024;   /* many exact ties */
		a[i].vcpus_used = (int)((seed >> 16) % 4) * 8;
		a[i].up = (seed >> 24) % 17 != 0;
	}
	memcpy(b, a, sizeof(a));
	struct sched_request req = fill_request((struct sched_request){ .num_instances = 20, .ram_mb = 2048 });
	size_t ca[20], cb[20];
	struct sched_explain ea, eb;
	assert_int_equal(sched_select(&cfg, a, N, &req, ca, &ea), 0);
	assert_int_equal(sched_select(&cfg, b, N, &req, cb, &eb), 0);
	assert_memory_equal(ca, cb, sizeof(ca));
	assert_memory_equal(a, b, sizeof(a));
	char ra[2048];
	snprintf(ra, sizeof(ra), "%s", render(&ea));
	assert_string_equal(ra, render(&eb));

	struct sched_host same[4] = { host("node1"), host("node2"), host("node3"), host("node4") };
	size_t chosen[20];
	for (int mult = -1; mult <= 1; mult += 2) {
		cfg.ram_weight_multiplier = cfg.cpu_weight_multiplier = cfg.disk_weight_multiplier = mult;
		assert_int_equal(sched_select(&cfg, &same[1], 3, &req, chosen, NULL), -1);   /* 20 x 2 GB: no */
		req.num_instances = 0;   /* taken as 1 */
		assert_int_equal(sched_select(&cfg, same, 4, &req, chosen, NULL), 0);
		assert_int_equal(chosen[0], mult < 0 ? 0 : 1);   /* all equal: node1; then spread: first of the rest */
		req.num_instances = 20;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_ratios_and_reservations),
		cmocka_unit_test(test_active_filters),
		cmocka_unit_test(test_weigh_ram),
		cmocka_unit_test(test_weigh_cpu_disk_combined),
		cmocka_unit_test(test_spread_vs_stack),
		cmocka_unit_test(test_soft_group_weighers),
		cmocka_unit_test(test_soft_anti_affinity_multi),
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_anti_affinity),
		cmocka_unit_test(test_anti_affinity_explain),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_hints_multi_host),
		cmocka_unit_test(test_az_and_force_host_multi_host),
		cmocka_unit_test(test_explain_render),
		cmocka_unit_test(test_explain_reason_cap),
		cmocka_unit_test(test_determinism),
	};
	return cmocka_run_group_tests_name("scheduler", tests, NULL, NULL);
}
