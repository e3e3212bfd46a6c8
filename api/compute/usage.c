/* /v2.1/os-simple-tenant-usage and /{tenant_id}: hours, and vCPU, RAM and disk hours,
 * of the instances that ran in [start, end), computed as Nova's
 * SimpleTenantUsageController does: an instance counts from launched_at (never
 * launched: not at all) to terminated_at (deleted without one: deleted_at; running:
 * the end of the period), clipped to the period; the period never ends after now.
 * Paging (2.40) is by instance, ordered by project then uuid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/auth.h"
#include "api/compute/admin.h"
#include "api/compute/compute.h"
#include "api/handlers.h"
#include "common/util.h"
#include "db/admin.h"

/* ---- specs (nova/api/openstack/compute/schemas/simple_tenant_usage.py) ---- */
#define Q(n) { .name = n, .type = SPEC_STRING, .offset = SPEC_NOSTORE }
const struct field_spec usage_index_query[] = { Q("start"), Q("end"), Q("detailed"), SPEC_END_ROW };
const struct field_spec usage_index_query_v240[] = { Q("start"), Q("end"), Q("detailed"), QUERY_LIMIT_MARKER,
						     SPEC_END_ROW };
const struct field_spec usage_show_query[] = { Q("start"), Q("end"), SPEC_END_ROW };
const struct field_spec usage_show_query_v240[] = { Q("start"), Q("end"), QUERY_LIMIT_MARKER, SPEC_END_ROW };
#undef Q

/* _parse_datetime(): "%Y-%m-%dT%H:%M:%S[.%f]" or "%Y-%m-%d %H:%M:%S.%f", read as UTC;
 * absent or empty means now. */
static int parse_time(const char *s, int64_t now, int64_t *us, struct nl_error *err)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S" };
	if (!s || !*s) {
		*us = now;
		return 0;
	}
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm = { 0 };
		const char *p = strptime(s, fmts[i], &tm);
		long micro = 0;
		int digits = 0;
		if (!p)
			continue;
		if (*p == '.') {   /* %f: one to six digits, scaled to microseconds */
			for (p++; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
				micro = micro * 10 + (*p - '0');
			for (int d = digits; d < 6; d++)
				micro *= 10;
			if (!digits)
				continue;
		} else if (i == 1) {
			continue;   /* the space form requires the fraction */
		}
		if (*p)
			continue;
		*us = (int64_t)timegm(&tm) * 1000000 + micro;
		return 0;
	}
	nl_err_set(err, 400, "Invalid datetime string: Datetime is in invalid format");
	return -1;
}

static long long num(json_t *row, const char *k) { return json_integer_value(json_object_get(row, k)); }

/* _hours_for(): the part of [launched, ended) inside [start, stop), in hours. */
static double hours_for(json_t *row, int64_t start, int64_t stop)
{
	int64_t launched = num(row, "launched_at"), ended = num(row, "ended_at");
	bool has_end = json_is_integer(json_object_get(row, "ended_at"));
	if ((has_end && ended < start) || launched > stop)
		return 0;
	int64_t from = launched > start ? launched : start;
	int64_t to = has_end && ended < stop ? ended : stop;
	return (double)(to - from) / 3600e6;
}

static json_t *server_usage(json_t *row, double hours, int64_t now)
{
	bool ended = json_is_integer(json_object_get(row, "ended_at"));
	int64_t started = num(row, "launched_at");
	return json_pack("{s:f, s:O, s:O, s:O, s:O, s:O, s:I, s:O, s:o, s:o, s:o, s:I}", "hours", hours,
			 "flavor", json_object_get(row, "flavor_name"), "instance_id", json_object_get(row, "uuid"),
			 "name", json_object_get(row, "display_name"), "tenant_id", json_object_get(row, "project_id"),
			 "memory_mb", json_object_get(row, "memory_mb"),
			 "local_gb", (json_int_t)(num(row, "root_gb") + num(row, "ephemeral_gb")),
			 "vcpus", json_object_get(row, "vcpus"), "started_at", time_json(started),
			 "ended_at", ended ? time_json(num(row, "ended_at")) : json_null(),
			 "state", ended ? json_string("terminated") : json_incref(json_object_get(row, "vm_state")),
			 "uptime", (json_int_t)(((ended ? num(row, "ended_at") : now) - started) / 1000000));
}

/* Adds x to the number at key of o. */
static void add_to(json_t *o, const char *key, double x)
{
	json_object_set_new(o, key, json_real(json_number_value(json_object_get(o, key)) + x));
}

static json_t *new_summary(const char *tenant, int64_t start, int64_t stop, bool detailed)
{
	json_t *sum = json_pack("{s:s, s:f, s:f, s:f, s:f, s:o, s:o}", "tenant_id", tenant, "total_local_gb_usage", 0.0,
				"total_vcpus_usage", 0.0, "total_memory_mb_usage", 0.0, "total_hours", 0.0,
				"start", time_json(start), "stop", time_json(stop));
	if (detailed)
		json_object_set_new(sum, "server_usages", json_array());
	return sum;
}

/* _tenant_usages_for_period(): one summary per project, in the order the instances
 * come; *n receives the number of instances counted (for the paging link). */
static json_t *summaries(json_t *rows, int64_t start, int64_t stop, bool detailed, size_t *n)
{
	json_t *list = json_array(), *by_tenant = json_object(), *row;
	int64_t now = nl_now_us();
	size_t i;

	json_array_foreach(rows, i, row) {
		const char *tenant = json_string_value(json_object_get(row, "project_id"));
		double hours = hours_for(row, start, stop);
		json_t *sum = json_object_get(by_tenant, tenant);
		if (!sum) {
			sum = new_summary(tenant, start, stop, detailed);
			json_object_set(by_tenant, tenant, sum);
			json_array_append_new(list, sum);
		}
		add_to(sum, "total_local_gb_usage", (double)(num(row, "root_gb") + num(row, "ephemeral_gb")) * hours);
		add_to(sum, "total_vcpus_usage", (double)num(row, "vcpus") * hours);
		add_to(sum, "total_memory_mb_usage", (double)num(row, "memory_mb") * hours);
		add_to(sum, "total_hours", hours);
		if (detailed)
			json_array_append_new(json_object_get(sum, "server_usages"), server_usage(row, hours, now));
	}
	*n = json_array_size(rows);
	json_decref(by_tenant);
	return list;
}

/* index (tenant NULL) and show. */
static int usage(struct req *r, struct resp *out, struct nl_error *err, const char *tenant)
{
	int64_t now = nl_now_us(), start, stop;
	const char *marker = r->mv >= 40 ? req_query(r, "marker") : NULL, *d = req_query(r, "detailed");
	long long limit = 1000;
	bool have_limit, missing;
	char coll[400];
	size_t n;

	/* Nova reads the clock once per missing bound: a missing end is a moment later. */
	if (parse_time(req_query(r, "start"), now, &start, err) ||
	    parse_time(req_query(r, "end"), now + 1, &stop, err))
		return -1;
	if (start >= stop) {
		nl_err_set(err, 400, "Invalid start time. The start time cannot occur after the end time.");
		return -1;
	}
	if (stop > now)
		stop = now;
	if (r->mv >= 40 && compute_query_int(r, "limit", 0, &limit, &have_limit, err))
		return -1;
	if (limit > 1000)
		limit = 1000;
	json_t *rows = db_usage_instances(start, stop, tenant, marker, limit, &missing);
	if (missing) {
		nl_err_set(err, 400, "Marker %s could not be found.", marker);
		return -1;
	}
	json_t *list = summaries(rows, start, stop, tenant || (d && !strcmp(d, "1")), &n), *body;
	snprintf(coll, sizeof(coll), "os-simple-tenant-usage%s%s", tenant ? "/" : "", tenant ? tenant : "");
	json_t *links = r->mv >= 40 && n ?
		next_link(r, coll, n, json_string_value(json_object_get(json_array_get(rows, n - 1), "uuid"))) : NULL;
	json_decref(rows);
	if (tenant) {
		json_t *one = json_array_get(list, 0);
		/* No instance in the period: Nova answers {}, which `openstack usage show` cannot
		 * format and Tempest's schema refuses; an all-zero summary satisfies both. */
		body = json_pack("{s:o}", "tenant_usage", one ? json_incref(one) : new_summary(tenant, start, stop, true));
		json_decref(list);
	} else {
		body = json_pack("{s:o}", "tenant_usages", list);
	}
	if (links)
		json_object_set_new(body, tenant ? "tenant_usage_links" : "tenant_usages_links", links);
	resp_json(out, 200, body);
	return 0;
}

int usage_list(struct req *r, struct resp *out, struct nl_error *err)
{
	return usage(r, out, err, NULL);
}

/* Policy project_reader_or_admin with the path's project as target. */
int usage_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *tenant = req_param(r, 0);
	if (!auth_is_admin(&r->auth) && strcmp(tenant, r->auth.project_id)) {
		nl_err_set(err, 403, "Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed.");
		return -1;
	}
	return usage(r, out, err, tenant);
}
