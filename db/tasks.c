/* SQL for instance actions and events, the agent task queue and compute host
 * registration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "db/db.h"
#include "db/servers.h"

/* ---- instance actions ---- */
int64_t db_action_start(const char *uuid, const char *action, const char *request_id, const char *user_id,
			const char *project_id, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO instance_actions (instance_uuid, action, request_id, user_id, "
				   "project_id, start_time, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, action);
	db_bind_text(st, 3, request_id);
	db_bind_text(st, 4, user_id);
	db_bind_text(st, 5, project_id);
	sqlite3_bind_int64(st, 6, now);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_last_insert_rowid(db_conn());
}

int64_t db_action_event_start(int64_t action_id, const char *event, const char *host, const char *details,
			      int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO instance_action_events (action_id, event, start_time, host, "
				   "details) VALUES (?1, ?2, ?3, ?4, ?5)");
	sqlite3_bind_int64(st, 1, action_id);
	db_bind_text(st, 2, event);
	sqlite3_bind_int64(st, 3, now);
	db_bind_text(st, 4, host);
	db_bind_text(st, 5, details);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	int64_t id = sqlite3_last_insert_rowid(db_conn());
	st = db_stmt("UPDATE instance_actions SET updated_at = ?2 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, action_id);
	sqlite3_bind_int64(st, 2, now);
	return db_exec_stmt(st, err, NULL) ? -1 : id;
}

/* An action is finished when its last event is; a failed event marks it "Error"
 * (Nova's instance action message). */
static int finish_action(int64_t action_id, bool ok, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instance_actions SET finish_time = ?2, updated_at = ?2, message = CASE "
				   "WHEN ?3 = 0 THEN 'Error' ELSE message END WHERE id = ?1");
	sqlite3_bind_int64(st, 1, action_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, ok);
	return db_exec_stmt(st, err, NULL);
}

int db_action_event_finish(int64_t event_id, bool ok, const char *details, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instance_action_events SET finish_time = ?2, result = ?3, details = "
				   "COALESCE(?4, details) WHERE id = ?1 RETURNING action_id");
	int64_t action_id = -1;
	sqlite3_bind_int64(st, 1, event_id);
	sqlite3_bind_int64(st, 2, now);
	db_bind_text(st, 3, ok ? "Success" : "Error");
	db_bind_text(st, 4, details);
	if (sqlite3_step(st) == SQLITE_ROW)
		action_id = sqlite3_column_int64(st, 0);
	if (sqlite3_reset(st) != SQLITE_OK)
		return db_fail(err, "finish event");
	return action_id < 0 ? 0 : finish_action(action_id, ok, now, err);
}

int db_action_finish_open(int64_t action_id, bool ok, const char *host, const char *details, int64_t now,
			  struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instance_action_events SET finish_time = ?2, result = ?3, host = "
				   "COALESCE(?4, host), details = COALESCE(?5, details) WHERE id = (SELECT MAX(id) "
				   "FROM instance_action_events WHERE action_id = ?1 AND finish_time IS NULL)");
	sqlite3_bind_int64(st, 1, action_id);
	sqlite3_bind_int64(st, 2, now);
	db_bind_text(st, 3, ok ? "Success" : "Error");
	db_bind_text(st, 4, host);
	db_bind_text(st, 5, details);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return finish_action(action_id, ok, now, err);
}

json_t *db_action_list(const char *uuid)
{
	sqlite3_stmt *st = db_stmt("SELECT id, instance_uuid, action, request_id, user_id, project_id, start_time, "
				   "finish_time, message, updated_at FROM instance_actions WHERE instance_uuid = ?1 "
				   "ORDER BY start_time DESC, id DESC");
	db_bind_text(st, 1, uuid);
	return db_rows_json(st);
}

json_t *db_action_get(const char *uuid, const char *request_id)
{
	sqlite3_stmt *st = db_stmt("SELECT id, instance_uuid, action, request_id, user_id, project_id, start_time, "
				   "finish_time, message, updated_at FROM instance_actions WHERE instance_uuid = ?1 "
				   "AND request_id = ?2 ORDER BY id DESC LIMIT 1");
	json_t *a;
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, request_id);
	if (!(a = db_row_json(st)))
		return NULL;
	st = db_stmt("SELECT event, start_time, finish_time, result, traceback, host, details FROM "
		     "instance_action_events WHERE action_id = ?1 ORDER BY id");
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(a, "id")));
	json_object_set_new(a, "events", db_rows_json(st));
	return a;
}

/* ---- tasks ---- */
int64_t db_task_insert(const char *host, const char *uuid, const char *kind, int64_t action_id, json_t *params,
		       int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO tasks (host, instance_uuid, kind, action_id, params, created_at) "
				   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	char *text = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	db_bind_text(st, 1, host);
	db_bind_text(st, 2, uuid);
	db_bind_text(st, 3, kind);
	if (action_id > 0)
		sqlite3_bind_int64(st, 4, action_id);
	db_bind_text(st, 5, text);
	sqlite3_bind_int64(st, 6, now);
	free(text);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_last_insert_rowid(db_conn());
}

/* A lease lasts this long: a task whose result never came (the agent lost it, or the
 * API refused it) is handed out again after it. */
#define LEASE_US (300LL * 1000000)

/* Hosts of the agent that user_id (NULL: anyone, an admin) holds a claim on. */
#define AGENT_HOSTS "SELECT h.host FROM compute_hosts h WHERE h.agent = ?1 AND (?9 IS NULL OR h.host IN " \
		    "(SELECT host FROM host_claims WHERE user_id = ?9))"

json_t *db_tasks_lease(const char *agent, const char *user_id, int max, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE tasks SET state = 'queued' WHERE state = 'running' AND leased_at < ?2 AND "
				   "host IN (" AGENT_HOSTS ")");
	db_bind_text(st, 1, agent);
	sqlite3_bind_int64(st, 2, now - LEASE_US);
	db_bind_text(st, 9, user_id);
	if (db_exec_stmt(st, err, NULL))
		return NULL;
	st = db_stmt("UPDATE tasks SET state = 'running', leased_at = ?2, attempts = attempts + 1 "
				   "WHERE id IN (SELECT t.id FROM tasks t WHERE t.host IN (" AGENT_HOSTS ") AND "
				   "t.state = 'queued' ORDER BY t.id LIMIT ?3) "
				   "RETURNING id, kind, host, instance_uuid, action_id, params");
	json_t *rows;
	db_bind_text(st, 1, agent);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, max);
	db_bind_text(st, 9, user_id);
	rows = db_rows_json(st);
	if (!rows)
		db_fail(err, "lease tasks");
	return rows;
}

json_t *db_task_get(int64_t id)
{
	sqlite3_stmt *st = db_stmt("SELECT id, host, instance_uuid, kind, action_id, params, state, attempts FROM "
				   "tasks WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	return db_row_json(st);
}

int db_task_finish(int64_t id, bool ok, const char *message, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE tasks SET state = ?2, finished_at = ?3, message = ?4 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, ok ? "done" : "failed");
	sqlite3_bind_int64(st, 3, now);
	db_bind_text(st, 4, message);
	return db_exec_stmt(st, err, NULL);
}

long long db_tasks_open(const char *uuid)
{
	sqlite3_stmt *st = db_stmt("SELECT COUNT(*) FROM tasks WHERE instance_uuid = ?1 AND state IN ('queued', "
				   "'running')");
	long long n = 0;
	db_bind_text(st, 1, uuid);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/* ---- compute hosts ---- */
json_t *db_host_register(const struct host_row_in *in, struct nl_error *err)
{
	char uuid[37], huuid[37];
	nl_uuid_new(uuid);
	nl_uuid_new(huuid);
	sqlite3_stmt *st = db_stmt(
		"INSERT INTO compute_hosts (uuid, hypervisor_uuid, host, hypervisor_hostname, agent, hypervisor_type, "
		"hypervisor_version, arch, vcpus, memory_mb, local_gb, cpu_info, host_ip, last_seen_at, created_at, "
		"vnc_listen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15) "
		"ON CONFLICT (host) DO UPDATE "
		"SET hypervisor_hostname = excluded.hypervisor_hostname, agent = excluded.agent, hypervisor_type = "
		"excluded.hypervisor_type, hypervisor_version = excluded.hypervisor_version, arch = excluded.arch, "
		"vcpus = excluded.vcpus, memory_mb = excluded.memory_mb, local_gb = excluded.local_gb, cpu_info = "
		"excluded.cpu_info, host_ip = excluded.host_ip, last_seen_at = excluded.last_seen_at, updated_at = "
		"excluded.created_at, vnc_listen = excluded.vnc_listen");
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, huuid);
	db_bind_text(st, 3, in->host);
	db_bind_text(st, 4, in->hypervisor_hostname);
	db_bind_text(st, 5, in->agent);
	db_bind_text(st, 6, in->hypervisor_type);
	sqlite3_bind_int64(st, 7, in->hypervisor_version);
	db_bind_text(st, 8, in->arch);
	sqlite3_bind_int64(st, 9, in->vcpus);
	sqlite3_bind_int64(st, 10, in->memory_mb);
	sqlite3_bind_int64(st, 11, in->local_gb);
	db_bind_text(st, 12, in->cpu_info);
	db_bind_text(st, 13, in->host_ip);
	sqlite3_bind_int64(st, 14, in->now);
	db_bind_text(st, 15, in->vnc_listen);
	if (db_exec_stmt(st, err, NULL))
		return NULL;
	/* A restarted agent redoes what its previous life had leased (tasks are idempotent). */
	st = db_stmt("UPDATE tasks SET state = 'queued' WHERE host = ?1 AND state = 'running'");
	db_bind_text(st, 1, in->host);
	if (db_exec_stmt(st, err, NULL))
		return NULL;
	return db_host_get(in->host);
}

int db_agent_heartbeat(const char *agent, const char *user_id, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE compute_hosts SET last_seen_at = ?2 WHERE host IN (" AGENT_HOSTS ")");
	db_bind_text(st, 1, agent);
	sqlite3_bind_int64(st, 2, now);
	db_bind_text(st, 9, user_id);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

json_t *db_host_get(const char *host)
{
	sqlite3_stmt *st = db_stmt("SELECT id, uuid, hypervisor_uuid, host, hypervisor_hostname, agent, "
				   "hypervisor_type, hypervisor_version, arch, vcpus, memory_mb, local_gb, disabled, "
				   "disabled_reason, forced_down, last_seen_at, host_ip, vnc_listen FROM compute_hosts WHERE host = ?1");
	db_bind_text(st, 1, host);
	return db_row_json(st);
}

json_t *db_host_instances(const char *host)
{
	sqlite3_stmt *st = db_stmt("SELECT id, uuid FROM instances WHERE host = ?1 AND deleted = 0 ORDER BY id");
	db_bind_text(st, 1, host);
	return db_rows_json(st);
}
