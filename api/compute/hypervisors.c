/* /v2.1/os-hypervisors: list, detail, show, statistics and uptime (both gone at 2.88),
 * and the search and servers routes that 2.53 replaced with query parameters.
 *
 * A hypervisor is a compute_hosts row. Its usage is summed over the non-deleted
 * instances assigned to it; memory_mb_used includes the host's reserve
 * ([scheduler] reserved_host_memory_mb), as Nova's resource tracker counts it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/compute/admin.h"
#include "api/compute/compute.h"
#include "api/handlers.h"
#include "common/config.h"
#include "common/util.h"
#include "db/admin.h"

/* ---- specs (nova/api/openstack/compute/schemas/hypervisors.py) ---- */
#define WITH_SERVERS { .name = "with_servers", .type = SPEC_BOOL, .flags = SPEC_BOOL_STRING, .offset = SPEC_NOSTORE }
const struct field_spec hypervisor_index_query_v233[] = { QUERY_LIMIT_MARKER, SPEC_END_ROW };
const struct field_spec hypervisor_index_query_v253[] = {
	QUERY_LIMIT_MARKER,
	{ .name = "hypervisor_hostname_pattern", .type = SPEC_STRING, .flags = BOUNDED, LEN(1, 255),
	  .format = FMT_CHARSET, .charset = "a-zA-Z0-9-._", .offset = SPEC_NOSTORE },
	WITH_SERVERS,
	SPEC_END_ROW
};
const struct field_spec hypervisor_show_query_v253[] = { WITH_SERVERS, SPEC_END_ROW };

static long long num(json_t *row, const char *k) { return json_integer_value(json_object_get(row, k)); }

/* The resource fields of one host, in the order of hypervisor_statistics. */
enum { R_VCPUS, R_MEM, R_DISK, R_VCPUS_USED, R_MEM_USED, R_DISK_USED, R_FREE_RAM, R_FREE_DISK, R_WORKLOAD,
       R_RUNNING, R_DISK_LEAST, R_COUNT };
static const char *const res_names[R_COUNT] = { "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
	"local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms", "disk_available_least" };

static void host_resources(json_t *row, long long res[R_COUNT])
{
	res[R_VCPUS] = num(row, "vcpus");
	res[R_MEM] = num(row, "memory_mb");
	res[R_DISK] = num(row, "local_gb");
	res[R_VCPUS_USED] = num(row, "vcpus_used");
	res[R_MEM_USED] = num(row, "memory_used") + g_config.reserved_host_memory_mb;
	res[R_DISK_USED] = num(row, "disk_used");
	res[R_FREE_RAM] = res[R_MEM] - res[R_MEM_USED];
	res[R_FREE_DISK] = res[R_DISK] - res[R_DISK_USED];
	res[R_WORKLOAD] = num(row, "workload");
	res[R_RUNNING] = num(row, "running_vms");
	/* No over-committed disk images to account for: what is free is usable. */
	res[R_DISK_LEAST] = res[R_FREE_DISK];
}

/* What `uptime` prints on the host. Agents do not report it, so the time since the
 * host registered stands in, with no users and no load (novalite's own numbers). */
static json_t *uptime_text(json_t *row)
{
	int64_t now = nl_now_us();
	long long s = (now - num(row, "created_at")) / 1000000;
	time_t t = (time_t)(now / 1000000);
	struct tm tm;
	char up[48], buf[160];

	if (s < 0)
		s = 0;
	gmtime_r(&t, &tm);
	if (s >= 86400)
		snprintf(up, sizeof(up), "%lld day%s, %2lld:%02lld", s / 86400, s >= 2 * 86400 ? "s" : "",
			 s % 86400 / 3600, s % 3600 / 60);
	else
		snprintf(up, sizeof(up), "%2lld:%02lld", s / 3600, s % 3600 / 60);
	snprintf(buf, sizeof(buf), " %02d:%02d:%02d up %s,  0 users,  load average: 0.00, 0.00, 0.00", tm.tm_hour,
		 tm.tm_min, tm.tm_sec, up);
	return json_string(buf);
}

/* ---- view (HypervisorsController._view_hypervisor) ---- */
static json_t *hv_view(int mv, json_t *row, bool detail, json_t *servers, bool with_servers)
{
	bool up = host_is_up(row);
	json_t *h = json_pack("{s:O, s:O, s:s, s:s}", "id", json_object_get(row, mv >= 53 ? "hypervisor_uuid" : "id"),
			      "hypervisor_hostname", json_object_get(row, "hypervisor_hostname"),
			      "state", up ? "up" : "down", "status", num(row, "disabled") ? "disabled" : "enabled");
	if (detail) {
		json_t *svc = service_of_host(row);
		json_object_set(h, "hypervisor_type", json_object_get(row, "hypervisor_type"));
		json_object_set(h, "hypervisor_version", json_object_get(row, "hypervisor_version"));
		json_object_set(h, "host_ip", json_object_get(row, "host_ip"));
		json_object_set_new(h, "service", json_pack("{s:O, s:O, s:O}", "id",
			json_object_get(svc, mv >= 53 ? "uuid" : "id"), "host", json_object_get(row, "host"),
			"disabled_reason", json_object_get(row, "disabled_reason")));
		json_decref(svc);
	}
	if (detail && mv <= 87) {
		long long res[R_COUNT];
		host_resources(row, res);
		for (int i = 0; i < R_COUNT; i++)
			json_object_set_new(h, res_names[i], json_integer(res[i]));
		/* cpu_info is the stored JSON text until 2.28, an object from then on. */
		json_t *cpu = json_object_get(row, "cpu_info");
		if (mv <= 27)
			json_object_set(h, "cpu_info", cpu);
		else {
			json_t *o = json_loads(json_string_value(cpu), 0, NULL);
			json_object_set_new(h, "cpu_info", json_is_object(o) ? o : json_object());
			if (!json_is_object(o))
				json_decref(o);
		}
	}
	if (detail && mv >= 88)   /* 2.88 moved uptime into the detail view */
		json_object_set_new(h, "uptime", up ? uptime_text(row) : json_null());
	if (json_array_size(servers))
		json_object_set(h, "servers", servers);
	else if (with_servers && mv >= 75)   /* 2.75: an empty list rather than no key */
		json_object_set_new(h, "servers", json_array());
	return h;
}

/* One hypervisor's view, with its servers when asked. */
static json_t *hv_item(int mv, json_t *row, bool detail, bool with_servers)
{
	json_t *servers = with_servers ? db_host_servers(json_string_value(json_object_get(row, "host"))) : NULL;
	json_t *h = hv_view(mv, row, detail, servers, with_servers);
	json_decref(servers);
	return h;
}

/* ---- list / detail ---- */
static int hv_list(struct req *r, struct resp *out, struct nl_error *err, bool detail)
{
	const char *pattern = r->mv >= 53 ? req_query(r, "hypervisor_hostname_pattern") : NULL;
	const char *marker = r->mv >= 33 ? req_query(r, "marker") : NULL;
	bool with_servers = r->mv >= 53 && query_bool(r, "with_servers"), have_limit = false;
	long long limit = 1000;
	size_t i, start = 0;
	json_t *rows, *row, *items;

	if (r->mv >= 33 && compute_query_int(r, "limit", 0, &limit, &have_limit, err))
		return -1;
	if (limit > 1000)
		limit = 1000;
	if (pattern && (have_limit || marker)) {
		nl_err_set(err, 400, "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not "
			   "supported.");
		return -1;
	}
	rows = db_hosts_list(NULL, pattern);
	if (pattern && !json_array_size(rows)) {
		json_decref(rows);
		nl_err_set(err, 404, "No hypervisor matching '%s' could be found.", pattern);
		return -1;
	}
	if (marker) {
		const char *key = r->mv >= 53 ? "hypervisor_uuid" : "id";
		char idbuf[32];
		json_array_foreach(rows, i, row) {
			json_t *v = json_object_get(row, key);
			snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(v));
			if (!strcmp(json_is_string(v) ? json_string_value(v) : idbuf, marker))
				break;
		}
		if (i == json_array_size(rows)) {
			json_decref(rows);
			nl_err_set(err, 400, "marker [%s] not found", marker);
			return -1;
		}
		start = i + 1;
	}
	items = json_array();
	for (i = start; i < json_array_size(rows) && (long long)(i - start) < limit; i++)
		json_array_append_new(items, hv_item(r->mv, json_array_get(rows, i), detail, with_servers));
	json_decref(rows);
	json_t *body = json_pack("{s:o}", "hypervisors", items), *links = NULL;
	if (r->mv >= 33 && !pattern && json_array_size(items)) {
		json_t *last = json_object_get(json_array_get(items, json_array_size(items) - 1), "id");
		char idbuf[64];
		snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(last));
		links = next_link(r, detail ? "os-hypervisors/detail" : "os-hypervisors", json_array_size(items),
				  json_is_string(last) ? json_string_value(last) : idbuf);
	}
	if (links)
		json_object_set_new(body, "hypervisors_links", links);
	resp_json(out, 200, body);
	return 0;
}

int hypervisor_list(struct req *r, struct resp *out, struct nl_error *err) { return hv_list(r, out, err, false); }
int hypervisor_detail(struct req *r, struct resp *out, struct nl_error *err) { return hv_list(r, out, err, true); }

/* ---- one hypervisor ---- */
/* By id (an integer before 2.53, the hypervisor uuid from 2.53), or 404/400. */
static json_t *find(const struct req *r, struct nl_error *err)
{
	const char *id = req_param(r, 0);
	long long n;
	json_t *row = NULL;

	/* From 2.88 /statistics falls through to this route; Nova answers it 404. */
	if (r->mv >= 88 && !strcmp(id, "statistics")) {
		nl_err_set(err, 404, "The resource could not be found.");
		return NULL;
	}
	if (r->mv >= 53 && !nl_is_uuid_like(id)) {
		nl_err_set(err, 400, "Invalid uuid %s", id);
		return NULL;
	}
	if (r->mv >= 53)
		row = db_hosts_get(HOST_BY_HV_UUID, id);
	else if (path_int(id, &n))
		row = db_hosts_get(HOST_BY_ID, id);
	if (!row)
		nl_err_set(err, 404, "Hypervisor with ID '%s' could not be found.", id);
	return row;
}

int hypervisor_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = find(r, err);
	if (!row)
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "hypervisor",
				      hv_item(r->mv, row, true, r->mv >= 53 && query_bool(r, "with_servers"))));
	json_decref(row);
	return 0;
}

int hypervisor_uptime(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = find(r, err), *h;
	if (!row)
		return -1;
	if (!host_is_up(row)) {
		nl_err_set(err, 400, "Compute service of %s is unavailable at this time.",
			   json_string_value(json_object_get(row, "host")));
		json_decref(row);
		return -1;
	}
	h = hv_view(r->mv, row, false, NULL, false);
	json_object_set_new(h, "uptime", uptime_text(row));
	resp_json(out, 200, json_pack("{s:o}", "hypervisor", h));
	json_decref(row);
	return 0;
}

/* Sums over the enabled hosts (Nova's compute_node_statistics joins enabled services). */
int hypervisor_statistics(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *rows = db_hosts_list(NULL, NULL), *row, *stats;
	long long sum[R_COUNT] = { 0 }, res[R_COUNT], count = 0;
	size_t i;
	(void)r; (void)err;
	json_array_foreach(rows, i, row) {
		if (num(row, "disabled"))
			continue;
		host_resources(row, res);
		for (int k = 0; k < R_COUNT; k++)
			sum[k] += res[k];
		count++;
	}
	json_decref(rows);
	stats = json_pack("{s:I}", "count", (json_int_t)count);
	for (int k = 0; k < R_COUNT; k++)
		json_object_set_new(stats, res_names[k], json_integer(sum[k]));
	resp_json(out, 200, json_pack("{s:o}", "hypervisor_statistics", stats));
	return 0;
}

/* GET /os-hypervisors/{pattern}/search and .../servers (before 2.53). */
static int by_pattern(struct req *r, struct resp *out, struct nl_error *err, bool servers)
{
	const char *pattern = req_param(r, 0);
	json_t *rows = db_hosts_list(NULL, pattern), *row, *items;
	size_t i;
	if (!json_array_size(rows)) {
		json_decref(rows);
		nl_err_set(err, 404, "No hypervisor matching '%s' could be found.", pattern);
		return -1;
	}
	items = json_array();
	json_array_foreach(rows, i, row)
		json_array_append_new(items, hv_item(r->mv, row, false, servers));
	json_decref(rows);
	resp_json(out, 200, json_pack("{s:o}", "hypervisors", items));
	return 0;
}

int hypervisor_search(struct req *r, struct resp *out, struct nl_error *err) { return by_pattern(r, out, err, false); }
int hypervisor_servers(struct req *r, struct resp *out, struct nl_error *err) { return by_pattern(r, out, err, true); }
