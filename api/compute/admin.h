/* Request specs and inputs of the admin views (services, hypervisors, availability
 * zones, aggregates, server groups, usage), and the helpers they share: the service
 * model of a compute host (api/compute/services.c) and paging links. */
#ifndef NL_COMPUTE_ADMIN_H
#define NL_COMPUTE_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/http.h"
#include "common/json_spec.h"

/* PUT /os-services/{action} (before 2.53) and PUT /os-services/{uuid} (2.53). */
struct service_in { spec_str_t host, binary, disabled_reason, status; spec_bool_t forced_down; };
extern const struct field_spec service_update_v21[], service_update_v211[], service_update_v253[];
extern const struct field_spec service_index_query[];

/* Nova's pagination_parameters: limit (non-negative integer) and marker. */
#define QUERY_LIMIT_MARKER \
	{ .name = "limit", .type = SPEC_INT, .flags = SPEC_INT_STRING | SPEC_HAS_MIN, .min = 0, .offset = SPEC_NOSTORE }, \
	{ .name = "marker", .type = SPEC_STRING, .offset = SPEC_NOSTORE }

extern const struct field_spec hypervisor_index_query_v233[], hypervisor_index_query_v253[];
extern const struct field_spec hypervisor_show_query_v253[];

/* POST/PUT /os-aggregates and POST /os-aggregates/{id}/action. */
struct aggregate_in {
	spec_str_t name, az;
	spec_json_t add, remove, set_meta, metadata;
	spec_str_t add_host, remove_host;
};
extern const struct field_spec aggregate_create_spec[], aggregate_update_spec[], aggregate_action_spec[];

struct server_group_in { spec_str_t name, policy; spec_json_t policies, rules; spec_int_t max_per_host; };
extern const struct field_spec server_group_create_v21[], server_group_create_v264[];
extern const struct field_spec server_group_index_query[];

extern const struct field_spec usage_index_query[], usage_index_query_v240[];
extern const struct field_spec usage_show_query[], usage_show_query_v240[];

/* ---- shared (api/compute/services.c) ---- */

/* The default and the internal availability zones (Nova's config defaults). */
#define AZ_DEFAULT "nova"
#define AZ_INTERNAL "internal"

/* A service as every admin view sees it, normalised from a db_hosts_list() row or
 * one of the two built-in services (nova-scheduler, nova-conductor):
 *   {"binary", "host", "id" (int, before 2.53), "uuid", "zone", "disabled" (bool),
 *    "disabled_reason", "forced_down" (bool), "up" (bool), "updated_at" (string|null)} */
json_t *service_of_host(json_t *host_row);
/* Every service: the built-in ones first, then one per compute host. Owned. */
json_t *service_list_all(void);
/* Nova's service_is_up(): not forced down, and a heartbeat within service_down_time. */
bool host_is_up(json_t *host_row);

/* A timestamp (µs) as Nova's JSON shows datetimes ("2024-05-01T10:00:00.000000"),
 * null for 0. */
json_t *time_json(int64_t us);
/* True for Nova's true spellings of a boolean query parameter (the query spec has
 * already refused anything outside parameter_types.boolean). */
bool query_bool(const struct req *r, const char *name);
/* Nova's _get_collection_links(): [{"rel": "next", "href": ...}] pointing at
 * /v2.1/<collection> with the request's query parameters (sorted, marker replaced),
 * when a full page of n items (limit, or 1000) was returned; else NULL. */
json_t *next_link(const struct req *r, const char *collection, size_t n, const char *last_id);
/* Nova's "id must be an integer" check of a path id (utils.validate_integer). */
bool path_int(const char *s, long long *out);

#endif
