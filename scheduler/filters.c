/* The filters: one small pure function per Nova filter, in the order they run, and
 * sched_ctx_init(), which parses the request once so that a filter the request cannot
 * trigger is skipped and the others do no string work per host they do not need.
 *
 * No I/O, no allocation, no state: a reason is formatted only into the buffer the
 * caller hands in, and only while the explain report still has room for one (a request
 * that no host fits must not pay for 10,000 snprintf calls). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scheduler/internal.h"

#define AGG_SCOPE "aggregate_instance_extra_specs:"

/* The filters sched_hot_pass() runs for every host of every request: inlined there,
 * the calls cost more than the comparisons. */
#define HOT __attribute__((always_inline)) inline

static const char *hname(const struct sched_host *h)
{
	return h->name ? h->name : "?";
}

static const char *str0(const char *s)
{
	return s ? s : "";
}

__attribute__((format(printf, 3, 4)))
static bool fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}

/* In a filter: fails the host, with a reason when the caller has room for one. The test
 * is here rather than in fail() so that, inlined with why = NULL, a filter is only its
 * comparisons. */
#define FAIL(...) (why && len ? fail(why, len, __VA_ARGS__) : false)

/* Rounds toward minus infinity, so "N usable" never reads as enough when it is not. */
static long long floor_ll(double x)
{
	long long v = (long long)x;
	return (double)v > x ? v - 1 : v;
}

/* A loop rather than strncmp(): names are short and this runs once per host, where the
 * call itself was the cost. */
static bool span_eq(struct span a, const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (s[i] != a.p[i])
			return false;
	return s[a.len] == '\0';
}

static int span_cmp(struct span a, struct span b)
{
	int r = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);
	if (r)
		return r;
	return a.len < b.len ? -1 : a.len > b.len;
}

static bool next_word(const char **s, struct span *w)
{
	const char *p = *s;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return false;
	w->p = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	w->len = (size_t)(p - w->p);
	*s = p;
	return true;
}

static bool span_double(struct span s, double *out)
{
	char buf[64], *end;
	if (s.len == 0 || s.len >= sizeof(buf))
		return false;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	*out = strtod(buf, &end);
	return *end == '\0';
}

/* Nova's nova/scheduler/filters/extra_specs_ops.py match(): an operator word first
 * ("= 4" is numeric >=, "s==" string, "<in>" substring, "<or> a <or> b"), otherwise the
 * whole requirement compared as a string. */
enum spec_op { OP_NUM_GE_EQ, OP_IN, OP_ALL_IN, OP_NUM_EQ, OP_NUM_NE, OP_NUM_GE, OP_NUM_LE,
	       OP_S_EQ, OP_S_NE, OP_S_LT, OP_S_LE, OP_S_GT, OP_S_GE, OP_OR, OP_COUNT };
static const char *const spec_ops[OP_COUNT] = {
	"=", "<in>", "<all-in>", "==", "!=", ">=", "<=", "s==", "s!=", "s<", "s<=", "s>", "s>=", "<or>",
};

static bool spec_match(struct span value, const char *want)
{
	const char *s = want;
	struct span op, w;
	int k = -1;
	if (next_word(&s, &op))
		for (int i = 0; i < OP_COUNT && k < 0; i++)
			if (span_eq(op, spec_ops[i]))
				k = i;
	if (k < 0)
		return span_eq(value, want);
	if (k == OP_OR) {
		while (next_word(&s, &w)) {
			if (span_cmp(value, w) == 0)
				return true;
			if (!next_word(&s, &w))   /* the next "<or>" */
				break;
		}
		return false;
	}
	if (k == OP_ALL_IN) {
		bool any = false;
		while (next_word(&s, &w)) {
			if (!memmem(value.p, value.len, w.p, w.len))
				return false;
			any = true;
		}
		return any;
	}
	if (!next_word(&s, &w))
		return false;
	if (k == OP_IN)
		return memmem(value.p, value.len, w.p, w.len) != NULL;
	if (k >= OP_S_EQ) {
		int c = span_cmp(value, w);
		switch (k) {
		case OP_S_EQ: return c == 0;
		case OP_S_NE: return c != 0;
		case OP_S_LT: return c < 0;
		case OP_S_LE: return c <= 0;
		case OP_S_GT: return c > 0;
		default:      return c >= 0;
		}
	}
	double x, y;
	if (!span_double(value, &x) || !span_double(w, &y))
		return false;
	switch (k) {
	case OP_NUM_EQ: return x == y;
	case OP_NUM_NE: return x != y;
	case OP_NUM_LE: return x <= y;
	default:        return x >= y;   /* "=" and ">=" */
	}
}

/* Aggregate metadata values are comma lists (Nova's aggregate_metadata_get_by_host). */
static bool value_list_matches(const char *list, const char *want)
{
	const char *p = str0(list);
	for (;;) {
		const char *end = strchr(p, ',');
		struct span item = { p, end ? (size_t)(end - p) : strlen(p) };
		while (item.len && isspace((unsigned char)item.p[0])) {
			item.p++;
			item.len--;
		}
		while (item.len && isspace((unsigned char)item.p[item.len - 1]))
			item.len--;
		if (spec_match(item, want))
			return true;
		if (!end)
			return false;
		p = end + 1;
	}
}

/* Nova's Architecture.canonicalize(): the aliases images use for the same machine. */
static const char *arch_canon(const char *a)
{
	static const struct { const char *alias, *arch; } aliases[] = {
		{ "amd64", "x86_64" }, { "i386", "i686" }, { "i486", "i686" }, { "i586", "i686" },
		{ "x86_32", "i686" }, { "x86_32p", "i686" },
	};
	if (!a)
		return NULL;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(a, aliases[i].alias) == 0)
			return aliases[i].arch;
	return a;
}

/* A KVM host can run plain-QEMU (TCG) guests, so an image asking for "qemu" fits both. */
static bool hv_match(const char *want, const char *have)
{
	if (!have)
		return false;
	if (strcasecmp(want, have) == 0)
		return true;
	return strcasecmp(want, "qemu") == 0 && strcasecmp(have, "kvm") == 0;
}

/* "major[.minor[.release]]" into libvirt's major*1000000+minor*1000+release. */
static bool parse_version(const char *s, int64_t *out)
{
	int64_t v = 0;
	int parts = 0;
	while (parts < 3) {
		char *end;
		if (!isdigit((unsigned char)*s))
			return false;
		long n = strtol(s, &end, 10);
		if (n < 0 || n > 999999)
			return false;
		v = v * 1000 + n;
		parts++;
		s = end;
		if (*s != '.')
			break;
		s++;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		return false;
	for (; parts < 3; parts++)
		v *= 1000;
	*out = v;
	return true;
}

static void parse_version_req(struct sched_ctx *c, const char *s)
{
	static const struct { const char *op; enum ver_op v; } ops[] = {
		{ ">=", VER_GE }, { "<=", VER_LE }, { "==", VER_EQ }, { "!=", VER_NE },
		{ ">", VER_GT }, { "<", VER_LT }, { "=", VER_GE },   /* Nova's "=" means >= */
	};
	const char *p = s;
	c->img_ver = s;
	c->img_ver_op = VER_EQ;
	while (isspace((unsigned char)*p))
		p++;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].op);
		if (strncmp(p, ops[i].op, n) == 0) {
			c->img_ver_op = ops[i].v;
			p += n;
			break;
		}
	}
	while (isspace((unsigned char)*p))
		p++;
	c->img_ver_bad = !parse_version(p, &c->img_ver_value);
}

static bool version_ok(const struct sched_ctx *c, int64_t have)
{
	int64_t want = c->img_ver_value;
	switch (c->img_ver_op) {
	case VER_EQ: return have == want;
	case VER_NE: return have != want;
	case VER_GE: return have >= want;
	case VER_GT: return have > want;
	case VER_LE: return have <= want;
	case VER_LT: return have < want;
	default:     return true;
	}
}

/* Nova's parse_availability_zone(): "az", "az:host", "az:host:node", "az::node". One
 * node per host here, so a node name is a host name. */
static void split_az(const char *s, struct span *az, struct span *host)
{
	az->p = host->p = "";
	az->len = host->len = 0;
	if (!s)
		return;
	const char *c1 = strchr(s, ':');
	az->p = s;
	if (!c1) {
		az->len = strlen(s);
		return;
	}
	az->len = (size_t)(c1 - s);
	const char *h = c1 + 1, *c2 = strchr(h, ':');
	if (!c2) {
		host->p = h;
		host->len = strlen(h);
	} else if (c2 > h) {
		host->p = h;
		host->len = (size_t)(c2 - h);
	} else {
		host->p = c2 + 1;
		host->len = strlen(c2 + 1);
	}
}

void sched_ctx_init(struct sched_ctx *c, const struct sched_config *cfg,
		    const struct sched_request *req, struct spec_ref *specs)
{
	struct span az0, host0, az1, host1;
	const char *arch = NULL, *arch_old = NULL, *hv = NULL, *hv_old = NULL, *ver = NULL;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->req = req;

	split_az(req->az, &az0, &host0);
	split_az(req->force_host, &az1, &host1);
	if (az0.len)
		c->az[c->n_az++] = az0;
	if (az1.len && !(az0.len == az1.len && memcmp(az0.p, az1.p, az0.len) == 0))
		c->az[c->n_az++] = az1;
	c->force_host = host1.len ? host1 : host0;

	/* Nova reads the hw_ names first and falls back to the pre-Liberty ones; an empty
	 * value means the property is not set. */
	for (size_t i = 0; i < req->n_image_props; i++) {
		const struct sched_kv *kv = &req->image_props[i];
		if (!kv->key || !kv->value || !kv->value[0])
			continue;
		if (strcmp(kv->key, "hw_architecture") == 0)
			arch = kv->value;
		else if (strcmp(kv->key, "architecture") == 0)
			arch_old = kv->value;
		else if (strcmp(kv->key, "img_hv_type") == 0)
			hv = kv->value;
		else if (strcmp(kv->key, "hypervisor_type") == 0)
			hv_old = kv->value;
		else if (strcmp(kv->key, "img_hv_requested_version") == 0)
			ver = kv->value;
	}
	c->img_arch = arch_canon(arch ? arch : arch_old);
	c->img_hv = hv ? hv : hv_old;
	if (ver)
		parse_version_req(c, ver);

	/* Other scopes ("hw:", "quota:", ...) belong to other filters or to the driver. */
	for (size_t i = 0; i < req->n_extra_specs; i++) {
		const struct sched_kv *kv = &req->extra_specs[i];
		const char *key = kv->key;
		if (!key)
			continue;
		if (strncmp(key, AGG_SCOPE, sizeof(AGG_SCOPE) - 1) == 0)
			key += sizeof(AGG_SCOPE) - 1;
		else if (strchr(key, ':'))
			continue;
		specs[c->n_specs].key = (struct span){ key, strlen(key) };
		specs[c->n_specs].want = str0(kv->value);
		c->n_specs++;
	}
	c->specs = specs;
	c->max_per_host = req->max_server_per_host > 0 ? req->max_server_per_host : 1;
}

/* ---- the filters ---- */

static bool always(const struct sched_ctx *c)
{
	(void)c;
	return true;
}

static bool force_host_active(const struct sched_ctx *c)
{
	return c->force_host.len > 0;
}

static bool force_host_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	if (span_eq(c->force_host, h->name))
		return true;
	return FAIL("%s: not the forced host %.*s", hname(h), (int)c->force_host.len, c->force_host.p);
}

static HOT bool compute_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	(void)c;
	if (!h->enabled)
		return FAIL("%s: disabled", hname(h));
	if (!h->up)
		return FAIL("%s: down", hname(h));
	return true;
}

static bool az_active(const struct sched_ctx *c)
{
	return c->n_az > 0;
}

static bool az_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	for (size_t i = 0; i < c->n_az; i++)
		if (!span_eq(c->az[i], h->az))
			return FAIL("%s: availability zone %s, %.*s requested", hname(h), str0(h->az),
				    (int)c->az[i].len, c->az[i].p);
	return true;
}

static HOT bool ram_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	double usable = sched_usable_ram(c->cfg, h);
	if (usable >= (double)c->req->ram_mb)
		return true;
	return FAIL("%s: %lld MB RAM requested, %lld MB usable (%lld MB x %g - %lld reserved - %lld used)",
		    hname(h), (long long)c->req->ram_mb, floor_ll(usable), (long long)h->ram_mb,
		    c->cfg->ram_allocation_ratio, (long long)c->cfg->reserved_host_memory_mb,
		    (long long)h->ram_used_mb);
}

static HOT bool core_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	/* Nova's CoreFilter: an instance may overcommit against others, never against itself. */
	if (c->req->vcpus > h->vcpus)
		return FAIL("%s: %lld vCPUs requested, the host has %lld", hname(h), (long long)c->req->vcpus,
			    (long long)h->vcpus);
	double usable = sched_usable_vcpus(c->cfg, h);
	if (usable >= (double)c->req->vcpus)
		return true;
	return FAIL("%s: %lld vCPUs requested, %lld usable (%lld x %g - %d reserved - %lld used)", hname(h),
		    (long long)c->req->vcpus, floor_ll(usable), (long long)h->vcpus, c->cfg->cpu_allocation_ratio,
		    c->cfg->reserved_host_cpus, (long long)h->vcpus_used);
}

static HOT bool disk_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	double usable = sched_usable_disk(c->cfg, h);
	if (usable >= (double)c->req->disk_gb)
		return true;
	return FAIL("%s: %lld GB disk requested, %lld GB usable (%lld GB x %g - %lld reserved - %lld used)",
		    hname(h), (long long)c->req->disk_gb, floor_ll(usable), (long long)h->disk_gb,
		    c->cfg->disk_allocation_ratio, (long long)c->cfg->reserved_host_disk_gb,
		    (long long)h->disk_used_gb);
}

static bool image_active(const struct sched_ctx *c)
{
	return c->img_arch || c->img_hv || c->img_ver;
}

static bool image_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	if (c->img_arch && (!h->arch || (strcasecmp(h->arch, c->img_arch) != 0 &&
					 strcasecmp(arch_canon(h->arch), c->img_arch) != 0)))
		return FAIL("%s: architecture %s, image requires %s", hname(h), h->arch ? h->arch : "unknown",
			    c->img_arch);
	if (c->img_hv && !hv_match(c->img_hv, h->hypervisor_type))
		return FAIL("%s: hypervisor type %s, image requires %s", hname(h),
			    h->hypervisor_type ? h->hypervisor_type : "unknown", c->img_hv);
	/* Nova lets a host that reports no version through. */
	if (c->img_ver && h->hypervisor_version && (c->img_ver_bad || !version_ok(c, h->hypervisor_version))) {
		long long v = (long long)h->hypervisor_version;
		return FAIL("%s: hypervisor version %lld.%lld.%lld, image requires %s", hname(h),
			    v / 1000000, v / 1000 % 1000, v % 1000, c->img_ver);
	}
	return true;
}

static bool agg_specs_active(const struct sched_ctx *c)
{
	return c->n_specs > 0;
}

static bool agg_specs_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	for (size_t i = 0; i < c->n_specs; i++) {
		const struct spec_ref *s = &c->specs[i];
		const char *first = NULL;
		for (size_t j = 0; j < h->n_agg_meta; j++) {
			const struct sched_kv *kv = &h->agg_meta[j];
			if (!span_eq(s->key, kv->key))
				continue;
			if (value_list_matches(kv->value, s->want))
				goto next_spec;
			if (!first)
				first = str0(kv->value);
		}
		if (!first)
			return FAIL("%s: no aggregate metadata %.*s, flavor asks %.*s=%s", hname(h),
				    (int)s->key.len, s->key.p, (int)s->key.len, s->key.p, s->want);
		return FAIL("%s: aggregate metadata %.*s=%s, flavor asks %.*s=%s", hname(h),
			    (int)s->key.len, s->key.p, first, (int)s->key.len, s->key.p, s->want);
next_spec:;
	}
	return true;
}

static bool host_has(const struct sched_host *h, const char *uuid)
{
	if (!uuid)
		return false;
	for (size_t i = 0; i < h->n_instance_uuids; i++)
		if (h->instance_uuids[i] && strcmp(h->instance_uuids[i], uuid) == 0)
			return true;
	return false;
}

static bool same_host_active(const struct sched_ctx *c)
{
	return c->req->n_same_host > 0;
}

static bool same_host_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	for (size_t i = 0; i < c->req->n_same_host; i++)
		if (host_has(h, c->req->same_host[i]))
			return true;
	return FAIL("%s: holds none of the same_host instances", hname(h));
}

static bool different_host_active(const struct sched_ctx *c)
{
	return c->req->n_different_host > 0;
}

static bool different_host_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	for (size_t i = 0; i < c->req->n_different_host; i++)
		if (host_has(h, c->req->different_host[i]))
			return FAIL("%s: holds instance %s (different_host)", hname(h), c->req->different_host[i]);
	return true;
}

static bool anti_affinity_active(const struct sched_ctx *c)
{
	return c->req->group_policy == SCHED_GROUP_ANTI_AFFINITY;
}

static bool anti_affinity_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	if (h->group_members < c->max_per_host)
		return true;
	return FAIL("%s: %d server group members, at most %d per host (anti-affinity)", hname(h),
		    h->group_members, c->max_per_host);
}

static bool affinity_active(const struct sched_ctx *c)
{
	return c->req->group_policy == SCHED_GROUP_AFFINITY;
}

/* The first member of a group may go anywhere; every later one follows it. */
static bool affinity_pass(const struct sched_ctx *c, const struct sched_host *h, char *why, size_t len)
{
	if (!c->group_has_hosts || h->group_members > 0)
		return true;
	return FAIL("%s: holds no member of the server group (affinity)", hname(h));
}

/* Cheap filters that remove many hosts come first: a host stops at the first failure,
 * so later, string-heavy filters see fewer hosts. force_host is not a Nova filter but
 * reported like one, so the explain says why every other host was left out. The hot
 * ones must be always active: sched_hot_pass() runs them unconditionally. */
const struct sched_filter sched_filters[] = {
	{ "force_host", force_host_active, force_host_pass, false },
	{ "ComputeFilter", always, compute_pass, true },
	{ "AvailabilityZoneFilter", az_active, az_pass, false },
	{ "RamFilter", always, ram_pass, true },
	{ "CoreFilter", always, core_pass, true },
	{ "DiskFilter", always, disk_pass, true },
	{ "ImagePropertiesFilter", image_active, image_pass, false },
	{ "AggregateInstanceExtraSpecsFilter", agg_specs_active, agg_specs_pass, false },
	{ "SameHostFilter", same_host_active, same_host_pass, false },
	{ "DifferentHostFilter", different_host_active, different_host_pass, false },
	{ "ServerGroupAntiAffinityFilter", anti_affinity_active, anti_affinity_pass, false },
	{ "ServerGroupAffinityFilter", affinity_active, affinity_pass, false },
};
const size_t sched_n_filters = sizeof(sched_filters) / sizeof(sched_filters[0]);

bool sched_hot_pass(const struct sched_ctx *c, const struct sched_host *h)
{
	/* & rather than &&: all four are cheap, and one branch on the result mispredicts
	 * less than four on hosts that fail at random. */
	return ((int)compute_pass(c, h, NULL, 0) & (int)ram_pass(c, h, NULL, 0) & (int)core_pass(c, h, NULL, 0) &
		(int)disk_pass(c, h, NULL, 0)) != 0;
}

_Static_assert(sizeof(sched_filters) / sizeof(sched_filters[0]) <= SCHED_MAX_FILTERS,
	       "every filter needs a slot in struct sched_explain");
