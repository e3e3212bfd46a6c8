/* sched_select(): Nova's filter scheduler over an array of host states, one instance at
 * a time, all or nothing; and the rendering of its explanation.
 *
 * Pure: no I/O, no SQL, no global state, no malloc. Each run makes one pass over the
 * hosts with the active filters (a host stops at the first that fails, so each filter's
 * report is what it removed from what the ones before it left, as in Nova's sequential
 * filtering) and marks the survivors in a bitmap on the stack (1.25 KiB for 10,000
 * hosts), which the weighers then walk without touching the others. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scheduler/internal.h"

void sched_config_defaults(struct sched_config *cfg)
{
	*cfg = (struct sched_config){
		.cpu_allocation_ratio = 16.0,
		.ram_allocation_ratio = 1.5,
		.disk_allocation_ratio = 1.0,
		.reserved_host_memory_mb = 512,
		.reserved_host_disk_gb = 0,
		.reserved_host_cpus = 0,
		.ram_weight_multiplier = 1.0,
		.cpu_weight_multiplier = 1.0,
		.disk_weight_multiplier = 1.0,
		.soft_affinity_weight_multiplier = 1.0,
		.soft_anti_affinity_weight_multiplier = 1.0,
	};
}

/* Claims (sign 1) or gives back (sign -1) one instance of req on h. Giving back the exact
 * integers claimed is what makes the all-or-nothing restore exact without a copy. */
static void consume(struct sched_host *h, const struct sched_request *req, int sign)
{
	h->vcpus_used += sign * req->vcpus;
	h->ram_used_mb += sign * req->ram_mb;
	h->disk_used_gb += sign * req->disk_gb;
	h->instances += sign;
	if (req->group_policy != SCHED_GROUP_NONE)
		h->group_members += sign;
}

/* "node1 (weight 1.83), node3 (1.20)": whole entries only, so a long name never leaves
 * half a name behind. */
static void render_weighed(char *out, size_t len, const struct sched_host *hosts, const struct sched_scored *top,
			   size_t n)
{
	size_t pos = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *name = hosts[top[i].idx].name ? hosts[top[i].idx].name : "?";
		int w = snprintf(out + pos, len - pos, i == 0 ? "%s%s (weight %.2f)" : "%s%s (%.2f)",
				 i == 0 ? "" : ", ", name, top[i].score);
		if (w < 0 || (size_t)w >= len - pos) {
			out[pos] = '\0';
			return;
		}
		pos += (size_t)w;
	}
}

/* Runs filter f on h, counting a removal and explaining it while r has room. */
static inline bool run_filter(const struct sched_ctx *c, const struct sched_host *h,
			      const struct sched_filter *f, struct sched_filter_report *r, int *removed)
{
	char *why = r->n_reasons < SCHED_EXPLAIN_REASONS ? r->reasons[r->n_reasons] : NULL;
	if (f->pass(c, h, why, SCHED_REASON_LEN))
		return true;
	(*removed)++;
	if (why)
		r->n_reasons++;
	return false;
}

/* One filter-and-weigh run for the next instance. Returns the chosen host index, or -1
 * when no host is left (ex then says which filter removed which hosts). */
static long place_one(const struct sched_ctx *c, const struct sched_host *hosts, size_t n,
		      uint64_t *pass, size_t pass_words, struct sched_explain *ex)
{
	const struct sched_filter *act[SCHED_MAX_FILTERS];
	size_t cold[SCHED_MAX_FILTERS];
	int removed[SCHED_MAX_FILTERS] = { 0 };
	size_t na = 0, ncold = 0;
	size_t survivors = 0;

	/* A filter the request cannot trigger is not run: for a plain request that leaves
	 * the four hot ones, checked together by sched_hot_pass(). */
	for (size_t k = 0; k < sched_n_filters; k++)
		if (sched_filters[k].active(c)) {
			if (!sched_filters[k].hot)
				cold[ncold++] = na;
			act[na++] = &sched_filters[k];
		}
	ex->n_filters = (int)na;
	for (size_t k = 0; k < na; k++) {
		ex->filters[k].filter = act[k]->name;
		ex->filters[k].n_reasons = 0;
	}
	ex->weighed[0] = '\0';
	memset(pass, 0, pass_words * sizeof(pass[0]));

	for (size_t i = 0; i < n; i++) {
		const struct sched_host *h = &hosts[i];
		size_t k, j;
		if (sched_hot_pass(c, h)) {
			/* The hot filters pass, so the first cold one to fail is the first
			 * in table order: the report is the same as running them all. */
			for (j = 0; j < ncold; j++) {
				k = cold[j];
				if (!run_filter(c, h, act[k], &ex->filters[k], &removed[k]))
					break;
			}
			if (j < ncold)
				continue;
		} else {
			for (k = 0; k < na; k++)
				if (!run_filter(c, h, act[k], &ex->filters[k], &removed[k]))
					break;
			if (k < na)
				continue;
		}
		pass[i / 64] |= UINT64_C(1) << (i % 64);
		survivors++;
	}

	int left = (int)n;
	for (size_t k = 0; k < na; k++) {
		ex->filters[k].hosts_in = left;
		left -= removed[k];
		ex->filters[k].hosts_out = left;
	}
	if (survivors == 0)
		return -1;

	struct sched_scored top[SCHED_TOP_WEIGHED];
	size_t ntop = sched_weigh(c, hosts, pass, pass_words, top);
	render_weighed(ex->weighed, sizeof(ex->weighed), hosts, top, ntop);
	return (long)top[0].idx;
}

int sched_select(const struct sched_config *cfg, struct sched_host *hosts, size_t n_hosts,
		 const struct sched_request *req, size_t *chosen, struct sched_explain *ex)
{
	struct sched_explain scratch;
	struct spec_ref specs[req->n_extra_specs + 1];
	size_t pass_words = n_hosts / 64 + 1;
	uint64_t pass[pass_words];
	struct sched_ctx c;
	/* Nova's min_count defaults to 1; chosen[] must hold at least one entry. */
	int want = req->num_instances > 0 ? req->num_instances : 1;
	int placed;

	if (!ex)
		ex = &scratch;
	ex->n_filters = 0;
	ex->hosts_total = (int)n_hosts;
	ex->instances_placed = 0;
	ex->weighed[0] = '\0';

	sched_ctx_init(&c, cfg, req, specs);
	if (req->group_policy == SCHED_GROUP_AFFINITY)
		for (size_t i = 0; i < n_hosts && !c.group_has_hosts; i++)
			c.group_has_hosts = hosts[i].group_members > 0;

	for (placed = 0; placed < want; placed++) {
		long i = place_one(&c, hosts, n_hosts, pass, pass_words, ex);
		if (i < 0)
			break;
		chosen[placed] = (size_t)i;
		consume(&hosts[i], req, 1);
		if (req->group_policy != SCHED_GROUP_NONE)
			c.group_has_hosts = true;
	}
	ex->instances_placed = placed;
	if (placed == want)
		return 0;
	/* All or nothing: a request of N servers either gets N hosts or claims nothing. */
	while (placed-- > 0)
		consume(&hosts[chosen[placed]], req, -1);
	return -1;
}

/* ---- rendering ---- */

struct out {
	char *buf;
	size_t len, pos;
	bool full;
};

/* Appends until the buffer is full, then marks the cut with "..." so a reader of a
 * fault message knows there was more. */
__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	size_t room = o->len - o->pos;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->pos, room, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < room) {
		o->pos += (size_t)n;
		return;
	}
	o->full = true;
	if (n < 0) {
		o->buf[o->pos] = '\0';
		return;
	}
	o->pos = o->len - 1;
	if (o->len >= 4)
		memcpy(o->buf + o->len - 4, "...", 4);
}

static const char *plural(int n)
{
	return n == 1 ? "" : "s";
}

size_t sched_explain_render(const struct sched_explain *ex, char *buf, size_t len)
{
	if (!buf || len == 0)
		return 0;
	struct out o = { buf, len, 0, false };
	int nf = ex->n_filters < 0 ? 0 : ex->n_filters > SCHED_MAX_FILTERS ? SCHED_MAX_FILTERS : ex->n_filters;
	int left = nf > 0 ? ex->filters[nf - 1].hosts_out : ex->hosts_total;
	bool failed = left <= 0;

	buf[0] = '\0';
	if (failed && ex->instances_placed > 0)
		put(&o, "%d instance%s placed, then none fits: ", ex->instances_placed, plural(ex->instances_placed));
	put(&o, "%d host%s", ex->hosts_total, plural(ex->hosts_total));
	for (int k = 0; k < nf; k++) {
		const struct sched_filter_report *r = &ex->filters[k];
		int removed = r->hosts_in - r->hosts_out;
		if (removed <= 0)
			continue;
		int nr = r->n_reasons < 0 ? 0 : r->n_reasons > SCHED_EXPLAIN_REASONS ? SCHED_EXPLAIN_REASONS : r->n_reasons;
		put(&o, "; %s removed %d (", r->filter ? r->filter : "?", removed);
		for (int i = 0; i < nr; i++)
			put(&o, "%s%.*s", i ? "; " : "", (int)sizeof(r->reasons[i]), r->reasons[i]);
		if (removed > nr)
			put(&o, "%s%d more", nr ? "; and " : "", removed - nr);
		put(&o, ")");
	}
	put(&o, "; %d host%s left", left, plural(left));
	if (!failed && ex->weighed[0])
		put(&o, "; weighed: %.*s", (int)sizeof(ex->weighed), ex->weighed);
	return o.pos;
}
