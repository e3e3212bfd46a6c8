/* SQL for host aggregates (members, metadata) and server groups (members). Lists
 * fetch children in one query for all parents, not one per row. */
#include <stdio.h>
#include <string.h>

#include "db/admin.h"
#include "db/db.h"

/* Gives every row of rows (keyed by its "id") a child collection named field, filled
 * from st's (parent id, value[, value2]) rows: an array of column 1, or with as_map an
 * object column 1 → column 2. st is stepped and reset. */
static void attach_children(json_t *rows, sqlite3_stmt *st, const char *field, bool as_map)
{
	json_t *by_id = json_object(), *row;
	char key[32];
	size_t i;

	json_array_foreach(rows, i, row) {
		json_t *c = as_map ? json_object() : json_array();
		snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(json_object_get(row, "id")));
		json_object_set(by_id, key, c);
		json_object_set_new(row, field, c);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(st, 0));
		json_t *c = json_object_get(by_id, key);
		if (!c)
			continue;
		if (as_map)
			json_object_set_new(c, db_col_text(st, 1), json_string(db_col_text(st, 2)));
		else
			json_array_append_new(c, json_string(db_col_text(st, 1)));
	}
	sqlite3_reset(st);
	json_decref(by_id);
}

/* ---- aggregates ---- */
/* Rows of aggregate id (0: all), with hosts and metadata. */
static json_t *aggregates(int64_t id)
{
	sqlite3_stmt *st = db_stmt("SELECT id, uuid, name, created_at, updated_at FROM aggregates "
				   "WHERE ?1 = 0 OR id = ?1 ORDER BY id");
	sqlite3_bind_int64(st, 1, id);
	json_t *rows = db_rows_json(st);
	st = db_stmt("SELECT aggregate_id, host FROM aggregate_hosts WHERE ?1 = 0 OR aggregate_id = ?1 "
		     "ORDER BY aggregate_id, rowid");
	sqlite3_bind_int64(st, 1, id);
	attach_children(rows, st, "hosts", false);
	st = db_stmt("SELECT aggregate_id, key, value FROM aggregate_metadata WHERE ?1 = 0 OR aggregate_id = ?1 "
		     "ORDER BY aggregate_id, key");
	sqlite3_bind_int64(st, 1, id);
	attach_children(rows, st, "metadata", true);
	return rows;
}

json_t *db_aggregate_list(void)
{
	return aggregates(0);
}

json_t *db_aggregate_get(int64_t id)
{
	json_t *rows = id > 0 ? aggregates(id) : NULL;
	json_t *row = json_array_get(rows, 0);
	json_incref(row);
	json_decref(rows);
	return row;
}

/* Runs an insert or rename whose ?2 is the aggregate name: a taken name is 409. */
static int write_named(sqlite3_stmt *st, const char *name, int64_t now, struct nl_error *err)
{
	char msg[400];
	db_bind_text(st, 2, name);
	sqlite3_bind_int64(st, 3, now);
	snprintf(msg, sizeof(msg), "Aggregate %s already exists.", name);
	return db_exec_stmt(st, err, msg);
}

int64_t db_aggregate_insert(const char *uuid, const char *name, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO aggregates (uuid, name, created_at) VALUES (?1, ?2, ?3)");
	db_bind_text(st, 1, uuid);
	if (write_named(st, name, now, err))
		return -1;
	return sqlite3_last_insert_rowid(db_conn());
}

int db_aggregate_rename(int64_t id, const char *name, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE aggregates SET name = ?2, updated_at = ?3 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	return write_named(st, name, now, err);
}

int db_aggregate_touch(int64_t id, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE aggregates SET updated_at = ?2 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return db_exec_stmt(st, err, NULL);
}

int db_aggregate_delete(int64_t id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM aggregate_metadata WHERE aggregate_id = ?1");
	sqlite3_bind_int64(st, 1, id);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	st = db_stmt("DELETE FROM aggregates WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

int db_aggregate_host_add(int64_t id, const char *host, struct nl_error *err)
{
	char msg[400];
	sqlite3_stmt *st = db_stmt("INSERT INTO aggregate_hosts (aggregate_id, host) VALUES (?1, ?2)");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, host);
	snprintf(msg, sizeof(msg), "Aggregate %lld already has host %s.", (long long)id, host);
	return db_exec_stmt(st, err, msg);
}

int db_aggregate_host_remove(int64_t id, const char *host, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM aggregate_hosts WHERE aggregate_id = ?1 AND host = ?2");
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, host);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

int db_aggregate_meta_set(int64_t id, const char *key, const char *value, struct nl_error *err)
{
	sqlite3_stmt *st;
	if (!value) {
		st = db_stmt("DELETE FROM aggregate_metadata WHERE aggregate_id = ?1 AND key = ?2");
	} else {
		st = db_stmt("INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES (?1, ?2, ?3) "
			     "ON CONFLICT (aggregate_id, key) DO UPDATE SET value = excluded.value");
		db_bind_text(st, 3, value);
	}
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, key);
	return db_exec_stmt(st, err, NULL);
}

json_t *db_aggregate_other_azs(int64_t id, const char *host)
{
	sqlite3_stmt *st = db_stmt(
		"SELECT m.value FROM aggregate_metadata m WHERE m.key = 'availability_zone' AND m.aggregate_id != ?1 "
		"AND EXISTS (SELECT 1 FROM aggregate_hosts ah WHERE ah.aggregate_id = m.aggregate_id AND "
		"(ah.host = ?2 OR (?2 IS NULL AND ah.host IN (SELECT host FROM aggregate_hosts WHERE aggregate_id = ?1)))) "
		"ORDER BY m.aggregate_id");
	json_t *azs = json_array();
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, host);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(azs, json_string(db_col_text(st, 0)));
	sqlite3_reset(st);
	return azs;
}

/* ---- server groups ---- */
/* Members whose instance is soft-deleted are hidden, as Nova's _get_not_deleted()
 * does; members whose instance row does not exist yet (being built) are shown. */
static void attach_members(json_t *rows, int64_t group_id)
{
	sqlite3_stmt *st = db_stmt("SELECT m.group_id, m.instance_uuid FROM server_group_members m WHERE (?1 = 0 OR "
				   "m.group_id = ?1) AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.uuid = "
				   "m.instance_uuid AND i.deleted = 1) ORDER BY m.group_id, m.rowid");
	sqlite3_bind_int64(st, 1, group_id);
	attach_children(rows, st, "members", false);
}

#define SGROUP_SELECT "SELECT id, uuid, name, project_id, user_id, policy, rules FROM server_groups "

json_t *db_sgroup_list(const char *project_id)
{
	sqlite3_stmt *st = db_stmt(SGROUP_SELECT "WHERE ?1 IS NULL OR project_id = ?1 ORDER BY id");
	db_bind_text(st, 1, project_id);
	json_t *rows = db_rows_json(st);
	attach_members(rows, 0);
	return rows;
}

json_t *db_sgroup_get(const char *uuid)
{
	sqlite3_stmt *st = db_stmt(SGROUP_SELECT "WHERE uuid = lower(?1)");
	db_bind_text(st, 1, uuid);
	json_t *row = db_row_json(st);
	if (row) {
		json_t *one = json_pack("[O]", row);
		attach_members(one, json_integer_value(json_object_get(row, "id")));
		json_decref(one);
	}
	return row;
}

int db_sgroup_insert(const char *uuid, const char *name, const char *project_id, const char *user_id,
		     const char *policy, const char *rules, int64_t now, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO server_groups (uuid, name, project_id, user_id, policy, rules, "
				   "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, project_id);
	db_bind_text(st, 4, user_id);
	db_bind_text(st, 5, policy);
	db_bind_text(st, 6, rules);
	sqlite3_bind_int64(st, 7, now);
	return db_exec_stmt(st, err, NULL);
}

int db_sgroup_delete(const char *uuid, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM server_groups WHERE uuid = lower(?1)");
	db_bind_text(st, 1, uuid);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}
