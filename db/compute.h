/* Compute tables: flavors (+ extra specs, access), key pairs, quotas.
 * Read functions return owned JSON rows; writes run inside db_tx_run(). */
#ifndef NL_DB_COMPUTE_H
#define NL_DB_COMPUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct flavor_row_in {
	const char *flavorid, *name, *description;
	long long memory_mb, vcpus, root_gb, ephemeral_gb, swap;
	double rxtx_factor;
	bool is_public;
};

/* A flavor by its API id, with "extra_specs" object; visible_to: NULL = any (admin),
 * else public flavors plus private ones that project has access to. */
json_t *db_flavor_get(const char *flavorid, const char *visible_to);
/* is_public: 1 public (+ private ones project_id can use), 0 private only, -1 all.
 * with_specs adds "extra_specs" to each row (one extra query for the whole list). */
json_t *db_flavor_list(int is_public, const char *project_id, bool only_enabled, long long min_ram,
		       long long min_disk, const char *sort_key, bool desc, bool with_specs);
int db_flavor_insert(const struct flavor_row_in *f, struct nl_error *err);
int db_flavor_update_description(const char *flavorid, const char *desc, struct nl_error *err);
int db_flavor_delete(const char *flavorid, struct nl_error *err);
int db_flavor_spec_set(const char *flavorid, const char *key, const char *value, struct nl_error *err);
int db_flavor_spec_delete(const char *flavorid, const char *key, struct nl_error *err);
json_t *db_flavor_access(const char *flavorid);
int db_flavor_access_add(const char *flavorid, const char *project_id, struct nl_error *err);
/* Returns 1 when there was no such access row. */
int db_flavor_access_remove(const char *flavorid, const char *project_id, struct nl_error *err);

json_t *db_keypair_get(const char *user_id, const char *name);
json_t *db_keypair_list(const char *user_id, const char *marker_name, long long limit);
long long db_keypair_count(const char *user_id);
int db_keypair_insert(const char *user_id, const char *name, const char *fingerprint, const char *public_key,
		      const char *type, struct nl_error *err);
/* Returns 1 when there was no such key pair. */
int db_keypair_delete(const char *user_id, const char *name, struct nl_error *err);

/* {resource: limit} of explicit per-project and per-class rows. */
json_t *db_quota_get(const char *project_id);
json_t *db_quota_class_get(const char *class_name);
int db_quota_set(const char *project_id, const char *resource, long long limit, struct nl_error *err);
int db_quota_delete(const char *project_id, struct nl_error *err);
int db_quota_class_set(const char *class_name, const char *resource, long long limit, struct nl_error *err);

#endif
