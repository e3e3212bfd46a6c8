/* /v2.1/os-availability-zone and /detail.
 *
 * As in Nova, zones come from the services: a zone is available while one of its
 * services is enabled, and not available when all of its services are disabled. A
 * compute host's zone is the availability_zone metadata of its aggregates, else
 * "nova"; so "nova" is listed while some host is in no AZ aggregate, and an AZ whose
 * aggregate has no hosts is not listed. The built-in scheduler and conductor make
 * the "internal" zone, shown by /detail only. */
#include <stdlib.h>
#include <string.h>

#include "api/compute/admin.h"
#include "api/handlers.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The zone names of the keys of set, sorted (Python's sorted(set)); borrowed. */
static size_t sorted_keys(json_t *set, const char **out, size_t max)
{
	const char *k;
	json_t *v;
	size_t n = 0;
	json_object_foreach(set, k, v)
		if (n < max)
			out[n++] = k;
	qsort(out, n, sizeof(*out), cmp_str);
	return n;
}

/* Appends one zone per key of zones: its state, and hosts (detail) or null. */
static void add_zones(json_t *list, json_t *zones, bool available, bool detail)
{
	const char *names[512];
	size_t n = sorted_keys(zones, names, 512);
	for (size_t i = 0; i < n; i++) {
		json_t *hosts = detail && available ? json_object_get(zones, names[i]) : NULL;
		json_array_append_new(list, json_pack("{s:s, s:{s:b}, s:O}", "zoneName", names[i], "zoneState",
						      "available", available, "hosts", hosts ? hosts : json_null()));
	}
}

/* availability_zone.py _describe_availability_zones[_verbose]. */
static int describe(struct resp *out, bool detail)
{
	json_t *services = service_list_all(), *s;
	json_t *avail = json_object(), *unavail = json_object(), *list = json_array();
	size_t i;

	json_array_foreach(services, i, s) {
		const char *zone = json_string_value(json_object_get(s, "zone"));
		if (!detail && !strcmp(zone, AZ_INTERNAL))
			continue;
		if (json_is_true(json_object_get(s, "disabled"))) {
			json_object_set_new(unavail, zone, json_object());
			continue;
		}
		json_t *hosts = json_object_get(avail, zone);
		if (!hosts)
			json_object_set_new(avail, zone, hosts = json_object());
		const char *host = json_string_value(json_object_get(s, "host"));
		json_t *h = json_object_get(hosts, host);
		if (!h)
			json_object_set_new(hosts, host, h = json_object());
		json_object_set_new(h, json_string_value(json_object_get(s, "binary")),
				    json_pack("{s:O, s:b, s:O}", "available", json_object_get(s, "up"), "active", 1,
					      "updated_at", json_object_get(s, "updated_at")));
	}
	/* A zone with an enabled service is available, whatever else it holds. */
	const char *k;
	void *tmp;
	json_object_foreach_safe(unavail, tmp, k, s)
		if (json_object_get(avail, k))
			json_object_del(unavail, k);
	add_zones(list, avail, true, detail);
	add_zones(list, unavail, false, detail);
	json_decref(services);
	json_decref(avail);
	json_decref(unavail);
	resp_json(out, 200, json_pack("{s:o}", "availabilityZoneInfo", list));
	return 0;
}

int az_list(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)r; (void)err;
	return describe(out, false);
}

int az_detail(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)r; (void)err;
	return describe(out, true);
}
