/* SQL for the admin views of compute hosts (os-services, os-hypervisors,
 * os-availability-zone) and for os-simple-tenant-usage. No policy, no views here. */
#include "db/admin.h"

#include <stdlib.h>
#include <string.h>

#include "db/db.h"

/* Usage sums as the scheduler counts them (db/sched_hosts.c): swap rounds up to whole
 * GiB. workload is Nova's stats.calculate_workload(): instances with a task state. */
#define HOST_SELECT \
	"SELECT h.id, h.uuid, h.hypervisor_uuid, h.host, h.hypervisor_hostname, h.hypervisor_type, " \
	"h.hypervisor_version, h.vcpus, h.memory_mb, h.local_gb, h.cpu_info, h.host_ip, h.disabled, " \
	"h.disabled_reason, h.forced_down, h.last_seen_at, h.created_at, h.updated_at, " \
	"(SELECT group_concat(value, ',') FROM (SELECT DISTINCT m.value FROM aggregate_hosts ah JOIN " \
	"aggregate_metadata m ON m.aggregate_id = ah.aggregate_id AND m.key = 'availability_zone' " \
	"WHERE ah.host = h.host ORDER BY m.value)) AS az, " \
	"COALESCE(u.vcpus, 0) AS vcpus_used, COALESCE(u.ram, 0) AS memory_used, " \
	"COALESCE(u.disk, 0) AS disk_used, COALESCE(u.n, 0) AS running_vms, COALESCE(u.busy, 0) AS workload " \
	"FROM compute_hosts h LEFT JOIN (SELECT host, SUM(vcpus) AS vcpus, SUM(memory_mb) AS ram, " \
	"SUM(root_gb + ephemeral_gb + (swap + 1023) / 1024) AS disk, COUNT(*) AS n, " \
	"SUM(task_state IS NOT NULL) AS busy FROM instances WHERE deleted = 0 AND host IS NOT NULL " \
	"GROUP BY host) u ON u.host = h.host "

json_t *db_hosts_list(const char *host, const char *pattern)
{
	sqlite3_stmt *st = db_stmt(HOST_SELECT "WHERE (?1 IS NULL OR h.host = ?1) AND "
				   "(?2 IS NULL OR h.hypervisor_hostname LIKE '%' || ?2 || '%') ORDER BY h.id");
	db_bind_text(st, 1, host);
	db_bind_text(st, 2, pattern);
	return db_rows_json(st);
}

json_t *db_hosts_get(enum host_key key, const char *value)
{
	sqlite3_stmt *st;
	switch (key) {
	case HOST_BY_ID:
		st = db_stmt(HOST_SELECT "WHERE h.id = CAST(?1 AS INTEGER)");
		break;
	case HOST_BY_UUID:
		st = db_stmt(HOST_SELECT "WHERE h.uuid = lower(?1)");
		break;
	case HOST_BY_HV_UUID:
		st = db_stmt(HOST_SELECT "WHERE h.hypervisor_uuid = lower(?1)");
		break;
	default:
		st = db_stmt(HOST_SELECT "WHERE h.host = ?1");
		break;
	}
	db_bind_text(st, 1, value);
	return db_row_json(st);
}

json_t *db_host_servers(const char *host)
{
	sqlite3_stmt *st = db_stmt("SELECT display_name AS name, uuid FROM instances WHERE host = ?1 AND deleted = 0 "
				   "ORDER BY id");
	db_bind_text(st, 1, host);
	return db_rows_json(st);
}

/* The first column of the bound statement's first row (a count). */
static long long scalar(sqlite3_stmt *st)
{
	long long n = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

long long db_host_instance_count(const char *host)
{
	sqlite3_stmt *st = db_stmt("SELECT COUNT(*) FROM instances WHERE host = ?1 AND deleted = 0");
	db_bind_text(st, 1, host);
	return scalar(st);
}

/* Lives here with the other instance counts (declared with the aggregates). */
long long db_aggregate_instance_count(int64_t id)
{
	sqlite3_stmt *st = db_stmt("SELECT COUNT(*) FROM instances WHERE deleted = 0 AND host IN "
				   "(SELECT host FROM aggregate_hosts WHERE aggregate_id = ?1)");
	sqlite3_bind_int64(st, 1, id);
	return scalar(st);
}

int db_host_set_service(int64_t id, bool disabled, const char *reason, bool forced_down, int64_t now,
			struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE compute_hosts SET disabled = ?2, disabled_reason = ?3, forced_down = ?4, "
				   "updated_at = ?5 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, disabled);
	db_bind_text(st, 3, reason);
	sqlite3_bind_int(st, 4, forced_down);
	sqlite3_bind_int64(st, 5, now);
	return db_exec_stmt(st, err, NULL);
}

int db_host_delete(int64_t id, const char *host, struct nl_error *err)
{
	/* Nova removes a deleted compute service from every aggregate first. */
	sqlite3_stmt *st = db_stmt("DELETE FROM aggregate_hosts WHERE host = ?1");
	db_bind_text(st, 1, host);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	st = db_stmt("DELETE FROM compute_hosts WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

/* ---- os-simple-tenant-usage ---- */
json_t *db_usage_instances(int64_t start_us, int64_t stop_us, const char *project_id, const char *marker_uuid,
			   long long limit, bool *marker_missing)
{
	sqlite3_stmt *st;
	char *marker_project = NULL;

	*marker_missing = false;
	if (marker_uuid) {
		/* Nova looks the marker up among all instances, deleted ones included. */
		st = db_stmt("SELECT project_id FROM instances WHERE uuid = ?1");
		db_bind_text(st, 1, marker_uuid);
		if (sqlite3_step(st) == SQLITE_ROW)
			marker_project = db_col_dup(st, 0);
		sqlite3_reset(st);
		if (!marker_project) {
			*marker_missing = true;
			return NULL;
		}
	}
	st = db_stmt("SELECT * FROM (SELECT uuid, display_name, project_id, flavor_name, memory_mb, vcpus, root_gb, "
		     "ephemeral_gb, vm_state, launched_at, COALESCE(terminated_at, CASE WHEN deleted THEN deleted_at "
		     "END) AS ended_at FROM instances WHERE launched_at IS NOT NULL AND launched_at < ?2 AND "
		     "(?3 IS NULL OR project_id = ?3)) WHERE (ended_at IS NULL OR ended_at > ?1) AND "
		     "(?4 IS NULL OR project_id > ?4 OR (project_id = ?4 AND uuid > ?5)) "
		     "ORDER BY project_id, uuid LIMIT ?6");
	sqlite3_bind_int64(st, 1, start_us);
	sqlite3_bind_int64(st, 2, stop_us);
	db_bind_text(st, 3, project_id);
	db_bind_text(st, 4, marker_project);
	db_bind_text(st, 5, marker_uuid);
	sqlite3_bind_int64(st, 6, limit);
	json_t *rows = db_rows_json(st);
	free(marker_project);
	return rows;
}
