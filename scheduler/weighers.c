/* The weighers and Nova's normalization (nova/weights.py): each weigher's raw value is
 * scaled to 0..1 over the hosts that passed the filters, (value - min) / (max - min),
 * or 0 for every host when all are equal, then multiplied by its multiplier and summed.
 * A positive multiplier prefers the host with the most left (spread), a negative one
 * the fullest host that still fits (stack). Pure: no I/O, no allocation. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "scheduler/internal.h"

enum { W_RAM, W_CPU, W_DISK, W_SOFT_AFFINITY, W_SOFT_ANTI_AFFINITY, N_WEIGHERS };

static double ram_mult(const struct sched_ctx *c)
{
	return c->cfg->ram_weight_multiplier;
}

static double cpu_mult(const struct sched_ctx *c)
{
	return c->cfg->cpu_weight_multiplier;
}

static double disk_mult(const struct sched_ctx *c)
{
	return c->cfg->disk_weight_multiplier;
}

/* The soft group weighers only mean something for a group with that policy; Nova's
 * return 0 for every host otherwise, which normalizes to nothing. */
static double soft_affinity_mult(const struct sched_ctx *c)
{
	return c->req->group_policy == SCHED_GROUP_SOFT_AFFINITY ? c->cfg->soft_affinity_weight_multiplier : 0.0;
}

static double soft_anti_affinity_mult(const struct sched_ctx *c)
{
	return c->req->group_policy == SCHED_GROUP_SOFT_ANTI_AFFINITY ?
	       c->cfg->soft_anti_affinity_weight_multiplier : 0.0;
}

static const struct {
	const char *name;
	double (*multiplier)(const struct sched_ctx *c);
} weighers[N_WEIGHERS] = {
	[W_RAM] = { "RAMWeigher", ram_mult },
	[W_CPU] = { "CPUWeigher", cpu_mult },
	[W_DISK] = { "DiskWeigher", disk_mult },
	[W_SOFT_AFFINITY] = { "ServerGroupSoftAffinityWeigher", soft_affinity_mult },
	[W_SOFT_ANTI_AFFINITY] = { "ServerGroupSoftAntiAffinityWeigher", soft_anti_affinity_mult },
};

/* The weighers' raw values, higher is better. A switch rather than a function pointer
 * per weigher: the loops below are unrolled over the weighers, which turns each switch
 * into straight-line code and keeps every min and max in a register; calling through a
 * table per host per weigher cost more than the arithmetic. */
static inline __attribute__((always_inline)) double value(int w, const struct sched_ctx *c, const struct sched_host *h)
{
	switch (w) {
	case W_RAM:
		return sched_usable_ram(c->cfg, h);
	case W_CPU:
		return sched_usable_vcpus(c->cfg, h);
	case W_DISK:
		return sched_usable_disk(c->cfg, h);
	case W_SOFT_AFFINITY:
		return (double)h->group_members;    /* more members: better */
	default:
		return -(double)h->group_members;   /* fewer: better */
	}
}

/* Keeps the best SCHED_TOP_WEIGHED, highest score first; on equal scores the earlier
 * host stays ahead because a later one must be strictly better to pass it. */
static void top_insert(struct sched_scored *top, size_t *n, size_t idx, double score)
{
	size_t pos = *n;
	while (pos > 0 && score > top[pos - 1].score)
		pos--;
	if (pos >= SCHED_TOP_WEIGHED)
		return;
	size_t last = *n < SCHED_TOP_WEIGHED ? *n : SCHED_TOP_WEIGHED - 1;
	memmove(&top[pos + 1], &top[pos], (last - pos) * sizeof(top[0]));
	top[pos] = (struct sched_scored){ idx, score };
	if (*n < SCHED_TOP_WEIGHED)
		(*n)++;
}

/* Two passes over the candidates: each weigher's min and max, then the sum of
 * multiplier * (value - min) / (max - min), with multiplier / (max - min) computed once
 * (0 for an inactive weigher, and when all candidates are equal, as Nova's normalize()
 * gives). The same expression in the same order for every host gives equal hosts
 * bit-identical scores, so the tie-break by index holds. */
size_t sched_weigh(const struct sched_ctx *c, const struct sched_host *hosts, const uint64_t *pass,
		   size_t pass_words, struct sched_scored top[SCHED_TOP_WEIGHED])
{
	double mult[N_WEIGHERS], min[N_WEIGHERS], max[N_WEIGHERS], factor[N_WEIGHERS];
	size_t ntop = 0;

	for (int i = 0; i < N_WEIGHERS; i++) {
		mult[i] = weighers[i].multiplier(c);
		min[i] = HUGE_VAL;
		max[i] = -HUGE_VAL;
	}
	for (size_t w = 0; w < pass_words; w++) {
		for (uint64_t bits = pass[w]; bits; bits &= bits - 1) {
			const struct sched_host *h = &hosts[w * 64 + (size_t)__builtin_ctzll(bits)];
#pragma GCC unroll 8
			for (int i = 0; i < N_WEIGHERS; i++) {
				if (mult[i] == 0.0)
					continue;
				double x = value(i, c, h);
				min[i] = x < min[i] ? x : min[i];
				max[i] = x > max[i] ? x : max[i];
			}
		}
	}
	for (int i = 0; i < N_WEIGHERS; i++)
		factor[i] = mult[i] != 0.0 && max[i] > min[i] ? mult[i] / (max[i] - min[i]) : 0.0;

	for (size_t w = 0; w < pass_words; w++) {
		for (uint64_t bits = pass[w]; bits; bits &= bits - 1) {
			size_t idx = w * 64 + (size_t)__builtin_ctzll(bits);
			double score = 0.0;
#pragma GCC unroll 8
			for (int i = 0; i < N_WEIGHERS; i++)
				if (factor[i] != 0.0)
					score += (value(i, c, &hosts[idx]) - min[i]) * factor[i];
			if (ntop < SCHED_TOP_WEIGHED || score > top[ntop - 1].score)
				top_insert(top, &ntop, idx, score);
		}
	}
	return ntop;
}
