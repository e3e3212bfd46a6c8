/* SQL for instances, their metadata, tags, faults and console log, and the server-group
 * membership and quota reads the create path needs. */
#include "db/servers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

#define SERVER_COLS                                                                                          \
	"SELECT id, uuid, project_id, user_id, display_name, display_description, hostname, reservation_id, " \
	"launch_index, image_ref, flavor_id, flavor_name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, "    \
	"flavor_extra_specs, key_name, key_data, user_data, availability_zone, host, node, vm_state, "        \
	"task_state, power_state, locked, locked_by, locked_reason, access_ip_v4, access_ip_v6, "             \
	"config_drive, network, fixed_ip, mac_address, trusted_certs, launched_at, terminated_at, "           \
	"created_at, updated_at, deleted_at, deleted FROM instances "

int64_t db_server_insert(const struct server_row_in *in, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt(
		"INSERT INTO instances (uuid, project_id, user_id, display_name, display_description, hostname, "
		"reservation_id, launch_index, image_ref, flavor_id, flavor_name, memory_mb, vcpus, root_gb, "
		"ephemeral_gb, swap, flavor_extra_specs, key_name, key_data, user_data, availability_zone, host, "
		"node, vm_state, task_state, access_ip_v4, access_ip_v6, config_drive, network, trusted_certs, "
		"created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
		"?16, ?17, ?18, ?19, ?20, ?21, ?22, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?30)");
	json_t *f = in->flavor;
	char *specs = json_dumps(json_object_get(f, "extra_specs"), JSON_COMPACT | JSON_SORT_KEYS);

	db_bind_text(st, 1, in->uuid);
	db_bind_text(st, 2, in->project_id);
	db_bind_text(st, 3, in->user_id);
	db_bind_text(st, 4, in->name);
	db_bind_text(st, 5, in->description);
	db_bind_text(st, 6, in->hostname);
	db_bind_text(st, 7, in->reservation_id);
	sqlite3_bind_int(st, 8, in->launch_index);
	db_bind_text(st, 9, in->image_ref);
	db_bind_text(st, 10, json_string_value(json_object_get(f, "flavorid")));
	db_bind_text(st, 11, json_string_value(json_object_get(f, "name")));
	sqlite3_bind_int64(st, 12, json_integer_value(json_object_get(f, "memory_mb")));
	sqlite3_bind_int64(st, 13, json_integer_value(json_object_get(f, "vcpus")));
	sqlite3_bind_int64(st, 14, json_integer_value(json_object_get(f, "root_gb")));
	sqlite3_bind_int64(st, 15, json_integer_value(json_object_get(f, "ephemeral_gb")));
	sqlite3_bind_int64(st, 16, json_integer_value(json_object_get(f, "swap")));
	db_bind_text(st, 17, specs ? specs : "{}");
	db_bind_text(st, 18, in->key_name);
	db_bind_text(st, 19, in->key_data);
	db_bind_text(st, 20, in->user_data);
	db_bind_text(st, 21, in->availability_zone);
	db_bind_text(st, 22, in->host);
	db_bind_text(st, 23, in->vm_state);
	db_bind_text(st, 24, in->task_state);
	db_bind_text(st, 25, in->access_ip_v4);
	db_bind_text(st, 26, in->access_ip_v6);
	db_bind_text(st, 27, in->config_drive ? in->config_drive : "");
	db_bind_text(st, 28, in->network ? in->network : "auto");
	db_bind_text(st, 29, in->trusted_certs);
	sqlite3_bind_int64(st, 30, in->now);
	free(specs);
	if (db_exec_stmt(st, err, "An instance with this id already exists."))
		return -1;
	int64_t id = sqlite3_last_insert_rowid(db_conn());
	/* Networks are allocated on the host (Nova's _build_resources): a server that was
	 * never scheduled has none. */
	if (in->host && strcmp(in->network ? in->network : "auto", "none")) {
		/* A synthetic fixed address per instance until there is a network service:
		 * 10.0.x.y from the id, and a MAC in OpenStack's fa:16:3e prefix. */
		char ip[32], mac[32];
		snprintf(ip, sizeof(ip), "10.0.%d.%d", (int)((id / 250) % 256), (int)(id % 250) + 3);
		snprintf(mac, sizeof(mac), "fa:16:3e:%02x:%02x:%02x", (int)((id >> 16) & 0xff), (int)((id >> 8) & 0xff),
			 (int)(id & 0xff));
		st = db_stmt("UPDATE instances SET fixed_ip = ?2, mac_address = ?3 WHERE id = ?1");
		sqlite3_bind_int64(st, 1, id);
		db_bind_text(st, 2, ip);
		db_bind_text(st, 3, mac);
		if (db_exec_stmt(st, err, NULL))
			return -1;
	}
	return id;
}

int db_server_metadata_set(int64_t id, const char *key, const char *value, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO instance_metadata (instance_id, key, value) VALUES (?1, ?2, ?3) "
				   "ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, key);
	db_bind_text(st, 3, value);
	return db_exec_stmt(st, err, NULL);
}

int db_server_metadata_delete(int64_t id, const char *key, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM instance_metadata WHERE instance_id = ?1 AND key = ?2");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, key);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

int db_server_metadata_clear(int64_t id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM instance_metadata WHERE instance_id = ?1");
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

int db_server_tag_add(int64_t id, const char *tag, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO instance_tags (instance_id, tag) VALUES (?1, ?2) "
				   "ON CONFLICT DO NOTHING");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, tag);
	return db_exec_stmt(st, err, NULL);
}

int db_server_tag_delete(int64_t id, const char *tag, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM instance_tags WHERE instance_id = ?1 AND tag = ?2");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, tag);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

int db_server_tags_clear(int64_t id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM instance_tags WHERE instance_id = ?1");
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

int db_server_fault_add(int64_t id, int code, const char *message, const char *details, const char *host,
			int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO instance_faults (instance_id, code, message, details, host, "
				   "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, code);
	db_bind_text(st, 3, message);
	db_bind_text(st, 4, details);
	db_bind_text(st, 5, host);
	sqlite3_bind_int64(st, 6, now);
	return db_exec_stmt(st, err, NULL);
}

json_t *db_server_get(const char *uuid, const char *project_id, bool include_deleted)
{
	sqlite3_stmt *st = db_stmt(SERVER_COLS "WHERE uuid = ?1 AND (?2 IS NULL OR project_id = ?2) "
				   "AND (?3 = 1 OR deleted = 0)");
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, project_id);
	sqlite3_bind_int(st, 3, include_deleted);
	return db_row_json(st);
}

json_t *db_server_get_by_id(int64_t id)
{
	sqlite3_stmt *st = db_stmt(SERVER_COLS "WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	return db_row_json(st);
}

/* One statement per shape, each walking an index in the list's order: an
 * "(?1 IS NULL OR project_id = ?1)" form would scan the table and sort it. */
json_t *db_server_list(const char *project_id, bool include_deleted)
{
	sqlite3_stmt *st;
	if (project_id && !include_deleted)
		st = db_stmt(SERVER_COLS "WHERE project_id = ?1 AND deleted = 0 ORDER BY created_at DESC, id DESC");
	else if (project_id)
		st = db_stmt(SERVER_COLS "WHERE project_id = ?1 ORDER BY created_at DESC, id DESC");
	else if (!include_deleted)
		st = db_stmt(SERVER_COLS "WHERE deleted = 0 ORDER BY created_at DESC, id DESC");
	else
		st = db_stmt(SERVER_COLS "ORDER BY created_at DESC, id DESC");
	if (project_id)
		db_bind_text(st, 1, project_id);
	return db_rows_json(st);
}

json_t *db_server_metadata(int64_t id)
{
	sqlite3_stmt *st = db_stmt("SELECT key, value FROM instance_metadata WHERE instance_id = ?1 ORDER BY key");
	json_t *o = json_object();
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(o, db_col_text(st, 0), json_string(db_col_text(st, 1)));
	sqlite3_reset(st);
	return o;
}

json_t *db_server_tags(int64_t id)
{
	sqlite3_stmt *st = db_stmt("SELECT tag FROM instance_tags WHERE instance_id = ?1 ORDER BY tag");
	json_t *a = json_array();
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_string(db_col_text(st, 0)));
	sqlite3_reset(st);
	return a;
}

/* Rows (instance_id, a, b) grouped into {"<id>": ...}: objects (a: b) or arrays of a. */
static json_t *group_by_id(sqlite3_stmt *st, int64_t lo, int64_t hi, bool as_object)
{
	json_t *out = json_object();
	char key[32];
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(st, 0));
		json_t *g = json_object_get(out, key);
		if (!g) {
			g = as_object ? json_object() : json_array();
			json_object_set_new(out, key, g);
		}
		if (as_object)
			json_object_set_new(g, db_col_text(st, 1), json_string(db_col_text(st, 2)));
		else
			json_array_append_new(g, json_string(db_col_text(st, 1)));
	}
	sqlite3_reset(st);
	return out;
}

json_t *db_server_metadata_range(int64_t lo, int64_t hi)
{
	return group_by_id(db_stmt("SELECT instance_id, key, value FROM instance_metadata WHERE instance_id "
				   "BETWEEN ?1 AND ?2 ORDER BY instance_id, key"), lo, hi, true);
}

json_t *db_server_tags_range(int64_t lo, int64_t hi)
{
	return group_by_id(db_stmt("SELECT instance_id, tag, NULL FROM instance_tags WHERE instance_id "
				   "BETWEEN ?1 AND ?2 ORDER BY instance_id, tag"), lo, hi, false);
}

json_t *db_server_fault(int64_t id)
{
	sqlite3_stmt *st = db_stmt("SELECT code, message, details, host, created_at FROM instance_faults "
				   "WHERE instance_id = ?1 ORDER BY id DESC LIMIT 1");
	sqlite3_bind_int64(st, 1, id);
	return db_row_json(st);
}

json_t *db_server_faults_range(int64_t lo, int64_t hi)
{
	sqlite3_stmt *st = db_stmt("SELECT instance_id, code, message, details, host, created_at FROM "
				   "instance_faults WHERE instance_id BETWEEN ?1 AND ?2 ORDER BY instance_id, id");
	json_t *rows, *out = json_object(), *row;
	size_t i;
	char key[32];
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	rows = db_rows_json(st);
	json_array_foreach(rows, i, row) {   /* later rows (newer faults) win */
		snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(json_object_get(row, "instance_id")));
		json_object_set(out, key, row);
	}
	json_decref(rows);
	return out;
}

char *db_server_console_address(int64_t id)
{
	sqlite3_stmt *st = db_stmt("SELECT console_address FROM instances WHERE id = ?1");
	char *s = NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		s = db_col_dup(st, 0);
	sqlite3_reset(st);
	return s;
}

char *db_server_console(int64_t id)
{
	sqlite3_stmt *st = db_stmt("SELECT console_log FROM instances WHERE id = ?1");
	char *s = NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		s = db_col_dup(st, 0);
	sqlite3_reset(st);
	return s;
}

json_t *db_server_groups_of(const char *uuid)
{
	sqlite3_stmt *st = db_stmt("SELECT g.uuid FROM server_group_members m JOIN server_groups g ON g.id = "
				   "m.group_id WHERE m.instance_uuid = ?1 ORDER BY g.uuid");
	json_t *a = json_array();
	db_bind_text(st, 1, uuid);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_string(db_col_text(st, 0)));
	sqlite3_reset(st);
	return a;
}

int db_server_update_fields(int64_t id, const char *name, const char *description, bool set_description,
			    const char *access_ip_v4, const char *access_ip_v6, const char *hostname,
			    int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instances SET display_name = COALESCE(?2, display_name), "
				   "display_description = CASE WHEN ?3 = 1 THEN ?4 ELSE display_description END, "
				   "access_ip_v4 = COALESCE(?5, access_ip_v4), access_ip_v6 = COALESCE(?6, access_ip_v6), "
				   "hostname = COALESCE(?7, hostname), updated_at = ?8 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, name);
	sqlite3_bind_int(st, 3, set_description);
	db_bind_text(st, 4, description);
	db_bind_text(st, 5, access_ip_v4);
	db_bind_text(st, 6, access_ip_v6);
	db_bind_text(st, 7, hostname);
	sqlite3_bind_int64(st, 8, now);
	return db_exec_stmt(st, err, NULL);
}

int db_server_set_state(int64_t id, const char *expect_vm, const char *expect_task, const char *vm_state,
			const char *task_state, int power_state, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instances SET vm_state = ?4, task_state = ?5, power_state = CASE WHEN "
				   "?6 < 0 THEN power_state ELSE ?6 END, updated_at = ?7 WHERE id = ?1 AND deleted = 0 "
				   "AND (?2 IS NULL OR vm_state = ?2) AND (?3 = '*' OR task_state IS ?3)");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, expect_vm);
	db_bind_text(st, 3, expect_task);
	db_bind_text(st, 4, vm_state);
	db_bind_text(st, 5, task_state);
	sqlite3_bind_int(st, 6, power_state);
	sqlite3_bind_int64(st, 7, now);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

int db_server_set_launched(int64_t id, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instances SET launched_at = COALESCE(launched_at, ?2) WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return db_exec_stmt(st, err, NULL);
}

int db_server_set_lock(int64_t id, bool locked, const char *by, const char *reason, int64_t now,
		       struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instances SET locked = ?2, locked_by = ?3, locked_reason = ?4, "
				   "updated_at = ?5 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, locked);
	db_bind_text(st, 3, locked ? by : NULL);
	db_bind_text(st, 4, locked ? reason : NULL);
	sqlite3_bind_int64(st, 5, now);
	return db_exec_stmt(st, err, NULL);
}

int db_server_soft_delete(int64_t id, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instances SET deleted = 1, deleted_at = ?2, terminated_at = ?2, "
				   "vm_state = 'deleted', task_state = NULL, power_state = 0, console_address = NULL, "
				   "updated_at = ?2 WHERE id = ?1 AND deleted = 0");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	st = db_stmt("DELETE FROM server_group_members WHERE instance_uuid = (SELECT uuid FROM instances WHERE id = ?1)");
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

/* The console log keeps its last 64 KiB, like a serial console ring. */
int db_server_console_append(int64_t id, const char *text, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instances SET console_log = substr(COALESCE(console_log, '') || ?2, "
				   "-65536) WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, text);
	return db_exec_stmt(st, err, NULL);
}

int db_server_set_console_address(int64_t id, const char *address, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE instances SET console_address = ?2 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, address);
	return db_exec_stmt(st, err, NULL);
}

void db_server_usage(const char *project_id, struct server_usage *out)
{
	sqlite3_stmt *st = db_stmt("SELECT COUNT(*), COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mb), 0) FROM "
				   "instances WHERE project_id = ?1 AND deleted = 0");
	memset(out, 0, sizeof(*out));
	db_bind_text(st, 1, project_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->instances = sqlite3_column_int64(st, 0);
		out->cores = sqlite3_column_int64(st, 1);
		out->ram = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
}

long long db_quota_limit(const char *project_id, const char *resource, long long def)
{
	sqlite3_stmt *st = db_stmt("SELECT COALESCE((SELECT hard_limit FROM quotas WHERE project_id = ?1 AND "
				   "resource = ?2), (SELECT hard_limit FROM quota_classes WHERE class_name = 'default' "
				   "AND resource = ?2))");
	long long v = def;
	db_bind_text(st, 1, project_id);
	db_bind_text(st, 2, resource);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

json_t *db_server_group_get(const char *uuid, const char *project_id)
{
	sqlite3_stmt *st = db_stmt("SELECT id, uuid, name, project_id, user_id, policy, rules FROM server_groups "
				   "WHERE uuid = ?1 AND (?2 IS NULL OR project_id = ?2)");
	json_t *g, *m = json_array();
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, project_id);
	if (!(g = db_row_json(st))) {
		json_decref(m);
		return NULL;
	}
	st = db_stmt("SELECT instance_uuid FROM server_group_members WHERE group_id = ?1 ORDER BY instance_uuid");
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(g, "id")));
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(m, json_string(db_col_text(st, 0)));
	sqlite3_reset(st);
	json_object_set_new(g, "members", m);
	return g;
}

int db_server_group_add_member(const char *group_uuid, const char *instance_uuid, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO server_group_members (group_id, instance_uuid) SELECT id, ?2 FROM "
				   "server_groups WHERE uuid = ?1");
	db_bind_text(st, 1, group_uuid);
	db_bind_text(st, 2, instance_uuid);
	return db_exec_stmt(st, err, NULL);
}

long long db_server_group_count(const char *project_id)
{
	sqlite3_stmt *st = db_stmt("SELECT COUNT(*) FROM server_groups WHERE project_id = ?1");
	long long n = 0;
	db_bind_text(st, 1, project_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

long long db_server_group_member_count(const char *group_uuid)
{
	sqlite3_stmt *st = db_stmt("SELECT COUNT(*) FROM server_group_members m JOIN server_groups g ON g.id = "
				   "m.group_id WHERE g.uuid = ?1");
	long long n = 0;
	db_bind_text(st, 1, group_uuid);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}
