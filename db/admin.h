/* SQL behind the admin views: compute hosts as services and hypervisors (with the
 * usage of their instances and their availability zone), aggregates, server groups
 * and the instances os-simple-tenant-usage bills. db/admin.c holds hosts and usage,
 * db/aggregates.c aggregates and server groups. Rows come back as owned JSON objects
 * (column → value); every write runs inside db_tx_run(). */
#ifndef NL_DB_ADMIN_H
#define NL_DB_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* ---- compute hosts (db/admin.c) ----
 * A host row: the compute_hosts columns plus
 *   az            the availability zones of its aggregates, sorted, joined with ','
 *                 (NULL when in none: the default zone applies)
 *   vcpus_used, memory_used (MiB, without the host's reserve), disk_used (GiB: root +
 *   ephemeral + swap rounded up, as the scheduler counts it), running_vms, workload
 *                 (instances with a task in flight), all over its non-deleted instances. */

/* Every host, ordered by id; host (exact) and pattern (SQL LIKE '%pattern%' on the
 * hypervisor host name, as Nova) filter when not NULL. */
json_t *db_hosts_list(const char *host, const char *pattern);
enum host_key { HOST_BY_ID, HOST_BY_UUID, HOST_BY_HV_UUID, HOST_BY_NAME };
/* One host by integer id (service and hypervisor id before 2.53), service uuid,
 * hypervisor uuid or host name; NULL when there is none. */
json_t *db_hosts_get(enum host_key key, const char *value);
/* [{"name": display name, "uuid": ...}] of the non-deleted instances on host, by id. */
json_t *db_host_servers(const char *host);
long long db_host_instance_count(const char *host);
/* Sets the service columns of host id (and updated_at). */
int db_host_set_service(int64_t id, bool disabled, const char *reason, bool forced_down, int64_t now,
			struct nl_error *err);
/* Deletes the host's row and its aggregate memberships. */
int db_host_delete(int64_t id, const char *host, struct nl_error *err);

/* ---- os-simple-tenant-usage (db/admin.c) ----
 * Instances (deleted ones too) launched before stop and not ended by start, ordered by
 * project_id then uuid as Nova pages them; project_id NULL = every project. "ended_at"
 * is terminated_at, else deleted_at for a deleted row. marker_uuid (NULL = none) must
 * name an instance: *marker_missing is set when it does not, and NULL returned. */
json_t *db_usage_instances(int64_t start_us, int64_t stop_us, const char *project_id, const char *marker_uuid,
			   long long limit, bool *marker_missing);

/* ---- aggregates (db/aggregates.c) ----
 * An aggregate row: id, uuid, name, created_at, updated_at, "hosts" [names in the
 * order they were added], "metadata" {key: value}. */
json_t *db_aggregate_list(void);
json_t *db_aggregate_get(int64_t id);
/* Returns the new id, or -1 (409 "Aggregate NAME already exists." on a taken name). */
int64_t db_aggregate_insert(const char *uuid, const char *name, int64_t now, struct nl_error *err);
int db_aggregate_rename(int64_t id, const char *name, int64_t now, struct nl_error *err);
int db_aggregate_touch(int64_t id, int64_t now, struct nl_error *err);
int db_aggregate_delete(int64_t id, struct nl_error *err);
/* 409 "Aggregate ID already has host HOST." when it is already a member. */
int db_aggregate_host_add(int64_t id, const char *host, struct nl_error *err);
/* Returns 1 when host was not a member. */
int db_aggregate_host_remove(int64_t id, const char *host, struct nl_error *err);
/* value NULL deletes the key (a missing key is no error). */
int db_aggregate_meta_set(int64_t id, const char *key, const char *value, struct nl_error *err);
/* The availability zones of the other aggregates (not id) that share a host with
 * aggregate id, or that contain host when host is not NULL; in aggregate order, one
 * entry per aggregate (Nova's conflict list). */
json_t *db_aggregate_other_azs(int64_t id, const char *host);
/* Non-deleted instances on the hosts of aggregate id. */
long long db_aggregate_instance_count(int64_t id);

/* ---- server groups (db/aggregates.c) ----
 * A group row: id, uuid, name, project_id, user_id, policy, rules (JSON text),
 * "members" [instance uuids, in the order they joined, deleted instances left out]. */
json_t *db_sgroup_list(const char *project_id);           /* NULL: every project; by id */
json_t *db_sgroup_get(const char *uuid);
int db_sgroup_insert(const char *uuid, const char *name, const char *project_id, const char *user_id,
		     const char *policy, const char *rules, int64_t now, struct nl_error *err);
/* Returns 1 when there was no such group. */
int db_sgroup_delete(const char *uuid, struct nl_error *err);

#endif
