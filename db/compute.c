/* SQL for flavors, key pairs and quotas. */
#include "db/compute.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"

/* ---- flavors ---- */
#define FLAVOR_COLS "SELECT f.internal_id, f.flavorid, f.name, f.memory_mb, f.vcpus, f.root_gb, f.ephemeral_gb, " \
		    "f.swap, f.rxtx_factor, f.is_public, f.disabled, f.description, f.created_at FROM flavors f "

/* Nova's sort keys → our columns ("id" is the internal id, as in Nova's DB). */
static const char *const sort_keys[][2] = {
	{ "flavorid", "f.flavorid" }, { "id", "f.internal_id" }, { "name", "f.name" },
	{ "memory_mb", "f.memory_mb" }, { "vcpus", "f.vcpus" }, { "root_gb", "f.root_gb" },
	{ "ephemeral_gb", "f.ephemeral_gb" }, { "swap", "f.swap" }, { "rxtx_factor", "f.rxtx_factor" },
	{ "is_public", "f.is_public" }, { "disabled", "f.disabled" }, { "description", "f.description" },
	{ "created_at", "f.created_at" }, { "updated_at", "f.updated_at" }, { "vcpu_weight", "f.internal_id" },
};
#define NKEYS (sizeof(sort_keys) / sizeof(sort_keys[0]))

/* One fixed SQL text per (sort key, direction): the column name comes from the table
 * above, never from the request, and each text has a stable address for db_stmt(). */
static char list_sql[NKEYS][2][1024];
static pthread_once_t list_once = PTHREAD_ONCE_INIT;

static void build_list_sql(void)
{
	for (size_t i = 0; i < NKEYS; i++)
		for (int d = 0; d < 2; d++)
			snprintf(list_sql[i][d], sizeof(list_sql[i][d]),
				 FLAVOR_COLS "WHERE (?1 < 0 OR f.is_public = ?1 OR (?1 = 1 AND EXISTS (SELECT 1 FROM "
				 "flavor_projects a WHERE a.flavor_internal_id = f.internal_id AND a.project_id = ?2))) "
				 "AND (?3 = 0 OR f.disabled = 0) AND f.memory_mb >= ?4 AND f.root_gb >= ?5 "
				 "ORDER BY %s %s, f.internal_id %s", sort_keys[i][1], d ? "DESC" : "ASC", d ? "DESC" : "ASC");
}

static void add_specs(json_t *f)
{
	sqlite3_stmt *st = db_stmt("SELECT key, value FROM flavor_extra_specs WHERE flavor_internal_id = ?1 ORDER BY key");
	json_t *specs = json_object();
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(f, "internal_id")));
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(specs, db_col_text(st, 0), json_string(db_col_text(st, 1)));
	sqlite3_reset(st);
	json_object_set_new(f, "extra_specs", specs);
}

json_t *db_flavor_get(const char *flavorid, const char *visible_to)
{
	sqlite3_stmt *st = db_stmt(FLAVOR_COLS "WHERE f.flavorid = ?1 AND (?2 IS NULL OR f.is_public = 1 OR EXISTS "
				   "(SELECT 1 FROM flavor_projects a WHERE a.flavor_internal_id = f.internal_id AND "
				   "a.project_id = ?2))");
	json_t *f;
	db_bind_text(st, 1, flavorid);
	db_bind_text(st, 2, visible_to);
	if ((f = db_row_json(st)))
		add_specs(f);
	return f;
}

/* All extra specs in one query, attached to the listed flavors by internal id. */
static void add_all_specs(json_t *rows)
{
	sqlite3_stmt *st = db_stmt("SELECT flavor_internal_id, key, value FROM flavor_extra_specs "
				   "ORDER BY flavor_internal_id, key");
	json_t *by_id = json_object(), *f;
	char key[32];
	size_t i;

	json_array_foreach(rows, i, f) {
		json_t *specs = json_object();
		snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(json_object_get(f, "internal_id")));
		json_object_set(by_id, key, specs);
		json_object_set_new(f, "extra_specs", specs);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(st, 0));
		json_t *specs = json_object_get(by_id, key);
		if (specs)
			json_object_set_new(specs, db_col_text(st, 1), json_string(db_col_text(st, 2)));
	}
	sqlite3_reset(st);
	json_decref(by_id);
}

json_t *db_flavor_list(int is_public, const char *project_id, bool only_enabled, long long min_ram,
		       long long min_disk, const char *sort_key, bool desc, bool with_specs)
{
	size_t k = 0;
	json_t *rows;

	pthread_once(&list_once, build_list_sql);
	for (size_t j = 0; j < NKEYS; j++)
		if (sort_key && !strcmp(sort_keys[j][0], sort_key))
			k = j;
	sqlite3_stmt *st = db_stmt(list_sql[k][desc ? 1 : 0]);
	sqlite3_bind_int(st, 1, is_public);
	db_bind_text(st, 2, project_id ? project_id : "");
	sqlite3_bind_int(st, 3, only_enabled ? 1 : 0);
	sqlite3_bind_int64(st, 4, min_ram);
	sqlite3_bind_int64(st, 5, min_disk);
	rows = db_rows_json(st);
	if (with_specs)
		add_all_specs(rows);
	return rows;
}

int db_flavor_insert(const struct flavor_row_in *f, struct nl_error *err)
{
	char msg[400];
	sqlite3_stmt *st = db_stmt("SELECT 1 FROM flavors WHERE flavorid = ?1");
	db_bind_text(st, 1, f->flavorid);
	int exists = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (exists) {
		nl_err_set(err, 409, "Flavor with ID %s already exists.", f->flavorid);
		return -1;
	}
	st = db_stmt("INSERT INTO flavors (flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, rxtx_factor, "
		     "is_public, description, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		     "CAST(strftime('%s','now') AS INTEGER) * 1000000)");
	db_bind_text(st, 1, f->flavorid);
	db_bind_text(st, 2, f->name);
	sqlite3_bind_int64(st, 3, f->memory_mb);
	sqlite3_bind_int64(st, 4, f->vcpus);
	sqlite3_bind_int64(st, 5, f->root_gb);
	sqlite3_bind_int64(st, 6, f->ephemeral_gb);
	sqlite3_bind_int64(st, 7, f->swap);
	sqlite3_bind_double(st, 8, f->rxtx_factor);
	sqlite3_bind_int(st, 9, f->is_public);
	db_bind_text(st, 10, f->description);
	snprintf(msg, sizeof(msg), "Flavor with name %s already exists.", f->name);
	return db_exec_stmt(st, err, msg);
}

int db_flavor_update_description(const char *flavorid, const char *desc, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE flavors SET description = ?2, updated_at = "
				   "CAST(strftime('%s','now') AS INTEGER) * 1000000 WHERE flavorid = ?1");
	db_bind_text(st, 1, flavorid);
	db_bind_text(st, 2, desc);
	return db_exec_stmt(st, err, NULL);
}

int db_flavor_delete(const char *flavorid, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM flavors WHERE flavorid = ?1");
	db_bind_text(st, 1, flavorid);
	return db_exec_stmt(st, err, NULL);
}

int db_flavor_spec_set(const char *flavorid, const char *key, const char *value, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO flavor_extra_specs (flavor_internal_id, key, value) "
				   "SELECT internal_id, ?2, ?3 FROM flavors WHERE flavorid = ?1 "
				   "ON CONFLICT (flavor_internal_id, key) DO UPDATE SET value = excluded.value");
	db_bind_text(st, 1, flavorid);
	db_bind_text(st, 2, key);
	db_bind_text(st, 3, value);
	return db_exec_stmt(st, err, NULL);
}

int db_flavor_spec_delete(const char *flavorid, const char *key, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM flavor_extra_specs WHERE key = ?2 AND flavor_internal_id = "
				   "(SELECT internal_id FROM flavors WHERE flavorid = ?1)");
	db_bind_text(st, 1, flavorid);
	db_bind_text(st, 2, key);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

json_t *db_flavor_access(const char *flavorid)
{
	sqlite3_stmt *st = db_stmt("SELECT ?1 AS flavor_id, a.project_id AS tenant_id FROM flavor_projects a "
				   "JOIN flavors f ON f.internal_id = a.flavor_internal_id WHERE f.flavorid = ?1 "
				   "ORDER BY a.project_id");
	db_bind_text(st, 1, flavorid);
	return db_rows_json(st);
}

int db_flavor_access_add(const char *flavorid, const char *project_id, struct nl_error *err)
{
	char msg[400];
	sqlite3_stmt *st = db_stmt("INSERT INTO flavor_projects (flavor_internal_id, project_id) "
				   "SELECT internal_id, ?2 FROM flavors WHERE flavorid = ?1");
	db_bind_text(st, 1, flavorid);
	db_bind_text(st, 2, project_id);
	snprintf(msg, sizeof(msg), "Flavor access already exists for flavor %s and project %s combination.",
		 flavorid, project_id);
	return db_exec_stmt(st, err, msg);
}

int db_flavor_access_remove(const char *flavorid, const char *project_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM flavor_projects WHERE project_id = ?2 AND flavor_internal_id = "
				   "(SELECT internal_id FROM flavors WHERE flavorid = ?1)");
	db_bind_text(st, 1, flavorid);
	db_bind_text(st, 2, project_id);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

/* ---- key pairs ---- */
#define KEYPAIR_COLS "SELECT id, user_id, name, fingerprint, public_key, type, created_at FROM key_pairs "

json_t *db_keypair_get(const char *user_id, const char *name)
{
	sqlite3_stmt *st = db_stmt(KEYPAIR_COLS "WHERE user_id = ?1 AND name = ?2");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, name);
	return db_row_json(st);
}

json_t *db_keypair_list(const char *user_id, const char *marker_name, long long limit)
{
	sqlite3_stmt *st = db_stmt(KEYPAIR_COLS "WHERE user_id = ?1 AND (?2 IS NULL OR name > ?2) ORDER BY name LIMIT ?3");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, marker_name);
	sqlite3_bind_int64(st, 3, limit);
	return db_rows_json(st);
}

long long db_keypair_count(const char *user_id)
{
	sqlite3_stmt *st = db_stmt("SELECT count(*) FROM key_pairs WHERE user_id = ?1");
	long long n;
	db_bind_text(st, 1, user_id);
	n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return n;
}

int db_keypair_insert(const char *user_id, const char *name, const char *fingerprint, const char *public_key,
		      const char *type, struct nl_error *err)
{
	char msg[400];
	sqlite3_stmt *st = db_stmt("INSERT INTO key_pairs (user_id, name, fingerprint, public_key, type, created_at) "
				   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, fingerprint);
	db_bind_text(st, 4, public_key);
	db_bind_text(st, 5, type);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sqlite3_bind_int64(st, 6, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	snprintf(msg, sizeof(msg), "Key pair '%s' already exists.", name);
	return db_exec_stmt(st, err, msg);
}

int db_keypair_delete(const char *user_id, const char *name, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM key_pairs WHERE user_id = ?1 AND name = ?2");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, name);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

/* ---- quotas ---- */
static json_t *limits_map(sqlite3_stmt *st)
{
	json_t *m = json_object();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(m, db_col_text(st, 0), json_integer(sqlite3_column_int64(st, 1)));
	sqlite3_reset(st);
	return m;
}

json_t *db_quota_get(const char *project_id)
{
	sqlite3_stmt *st = db_stmt("SELECT resource, hard_limit FROM quotas WHERE project_id = ?1");
	db_bind_text(st, 1, project_id);
	return limits_map(st);
}

json_t *db_quota_class_get(const char *class_name)
{
	sqlite3_stmt *st = db_stmt("SELECT resource, hard_limit FROM quota_classes WHERE class_name = ?1");
	db_bind_text(st, 1, class_name);
	return limits_map(st);
}

int db_quota_set(const char *project_id, const char *resource, long long limit, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO quotas (project_id, resource, hard_limit) VALUES (?1, ?2, ?3) "
				   "ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit");
	db_bind_text(st, 1, project_id);
	db_bind_text(st, 2, resource);
	sqlite3_bind_int64(st, 3, limit);
	return db_exec_stmt(st, err, NULL);
}

int db_quota_delete(const char *project_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM quotas WHERE project_id = ?1");
	db_bind_text(st, 1, project_id);
	return db_exec_stmt(st, err, NULL);
}

int db_quota_class_set(const char *class_name, const char *resource, long long limit, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO quota_classes (class_name, resource, hard_limit) VALUES (?1, ?2, ?3) "
				   "ON CONFLICT (class_name, resource) DO UPDATE SET hard_limit = excluded.hard_limit");
	db_bind_text(st, 1, class_name);
	db_bind_text(st, 2, resource);
	sqlite3_bind_int64(st, 3, limit);
	return db_exec_stmt(st, err, NULL);
}
