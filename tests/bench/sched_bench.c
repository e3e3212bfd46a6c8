/* One scheduling decision over 1,000 and 10,000 synthetic hosts: how long the API holds
 * its write transaction for the filter-and-weigh step of a create. Hosts have varied free
 * resources, a few are disabled or down, a third sit in aggregates with metadata. Each
 * decision runs on a fresh copy of the hosts (copied outside the timed region), so every
 * sample sees the same cloud. Prints p50 and p99 per decision for a plain request and for
 * one that triggers every string-matching filter. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler/scheduler.h"

#define DECISIONS 200

static const struct sched_kv meta_ssd[] = { { "ssd", "true" }, { "tier", "gold,silver" } };
static const struct sched_kv meta_hdd[] = { { "ssd", "false" } };
static const char *const uuids[] = { "2f1c0d7e-0000-4000-8000-000000000001", "2f1c0d7e-0000-4000-8000-000000000002" };

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static void make_hosts(struct sched_host *h, char (*names)[32], size_t n)
{
	uint32_t s = 42;
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "compute-%05zu", i);
		h[i] = (struct sched_host){
			.name = names[i], .az = i % 2 ? "az1" : "az2",
			.enabled = rnd(&s) % 100 != 0, .up = rnd(&s) % 100 != 0,
			.vcpus = 16 << (rnd(&s) % 3), .ram_mb = (int64_t)32768 << (rnd(&s) % 3),
			.disk_gb = 500 + rnd(&s) % 1500,
			.hypervisor_type = "QEMU", .arch = "x86_64", .hypervisor_version = 7002022,
		};
		h[i].vcpus_used = (int)(rnd(&s) % (uint32_t)(h[i].vcpus * 16));
		h[i].ram_used_mb = (int64_t)(rnd(&s) % (uint32_t)(h[i].ram_mb * 3 / 2));
		h[i].disk_used_gb = (int64_t)(rnd(&s) % (uint32_t)h[i].disk_gb);
		h[i].instances = (int)(rnd(&s) % 40);
		switch (rnd(&s) % 6) {
		case 0: h[i].agg_meta = meta_ssd; h[i].n_agg_meta = 2; break;
		case 1: h[i].agg_meta = meta_hdd; h[i].n_agg_meta = 1; break;
		default: break;
		}
		if (rnd(&s) % 50 == 0) {
			h[i].instance_uuids = uuids;
			h[i].n_instance_uuids = 2;
		}
		h[i].group_members = rnd(&s) % 20 == 0;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void run(const struct sched_host *orig, size_t n, const struct sched_request *proto, const char *label)
{
	struct sched_host *h = malloc(n * sizeof(*h));
	double us[DECISIONS];
	struct sched_config cfg;
	struct sched_explain ex;
	size_t chosen[1];
	uint32_t s = 7;
	int failed = 0;

	if (!h) {
		perror("malloc");
		exit(1);
	}
	sched_config_defaults(&cfg);
	for (int d = 0; d < DECISIONS; d++) {
		struct sched_request req = *proto;
		req.vcpus = 1 << (rnd(&s) % 4);
		req.ram_mb = (int64_t)2048 << (rnd(&s) % 4);
		req.disk_gb = 20 + rnd(&s) % 60;
		memcpy(h, orig, n * sizeof(*h));
		double t0 = now_us();
		if (sched_select(&cfg, h, n, &req, chosen, &ex) != 0)
			failed++;
		us[d] = now_us() - t0;
	}
	qsort(us, DECISIONS, sizeof(us[0]), cmp_double);
	/* nearest rank */
	printf("sched %zu hosts%s: p50 %.1f us p99 %.1f us (%d of %d found no host)\n", n, label,
	       us[(DECISIONS + 1) / 2 - 1], us[(DECISIONS * 99 + 99) / 100 - 1], failed, DECISIONS);
	free(h);
}

int main(void)
{
	static const size_t sizes[] = { 1000, 10000 };
	const struct sched_request plain = { .num_instances = 1 };
	const struct sched_request busy = {
		.num_instances = 1, .az = "az1",
		.extra_specs = (const struct sched_kv[]){ { "aggregate_instance_extra_specs:ssd", "true" },
							  { "hw:cpu_policy", "shared" } },
		.n_extra_specs = 2,
		.image_props = (const struct sched_kv[]){ { "hw_architecture", "x86_64" }, { "img_hv_type", "qemu" } },
		.n_image_props = 2,
		.different_host = uuids, .n_different_host = 1,
		.group_policy = SCHED_GROUP_SOFT_ANTI_AFFINITY,
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		struct sched_host *hosts = malloc(n * sizeof(*hosts));
		char (*names)[32] = malloc(n * sizeof(*names));
		if (!hosts || !names) {
			perror("malloc");
			return 1;
		}
		make_hosts(hosts, names, n);
		run(hosts, n, &plain, "");
		run(hosts, n, &busy, " (az, extra specs, image, different_host, soft anti-affinity)");
		free(hosts);
		free(names);
	}
	return 0;
}
