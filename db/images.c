/* SQL for images, properties, tags and members. */
#include "db/images.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "db/db.h"

#define IMAGE_COLS "SELECT i.id, i.name, i.owner, i.status, i.visibility, i.protected, i.os_hidden, " \
		   "i.disk_format, i.container_format, i.size, i.virtual_size, i.checksum, i.os_hash_algo, " \
		   "i.os_hash_value, i.min_disk, i.min_ram, i.created_at, i.updated_at FROM images i "
/* Glance's visibility rule for a non-admin project. */
#define VISIBLE "(?2 IS NULL OR i.visibility IN ('public', 'community') OR i.owner = ?2 OR EXISTS " \
		"(SELECT 1 FROM image_members m WHERE m.image_id = i.id AND m.member = ?2)) "

static void attach(json_t *img)
{
	const char *id = json_string_value(json_object_get(img, "id"));
	sqlite3_stmt *st = db_stmt("SELECT name, value FROM image_properties WHERE image_id = ?1 ORDER BY name");
	json_t *props = json_object(), *tags = json_array();
	db_bind_text(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(props, db_col_text(st, 0), json_string(db_col_text(st, 1)));
	sqlite3_reset(st);
	st = db_stmt("SELECT value FROM image_tags WHERE image_id = ?1 ORDER BY value");
	db_bind_text(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(tags, json_string(db_col_text(st, 0)));
	sqlite3_reset(st);
	json_object_set_new(img, "properties", props);
	json_object_set_new(img, "tags", tags);
}

json_t *db_image_get(const char *id, const char *project_id)
{
	sqlite3_stmt *st = db_stmt(IMAGE_COLS "WHERE i.id = ?1 AND " VISIBLE);
	json_t *img;
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, project_id);
	if ((img = db_row_json(st)))
		attach(img);
	return img;
}

json_t *db_image_list(const char *project_id)
{
	sqlite3_stmt *st = db_stmt(IMAGE_COLS "WHERE ?1 IS NULL AND " VISIBLE "ORDER BY i.created_at DESC, i.id DESC");
	json_t *rows, *img;
	size_t i;
	sqlite3_bind_null(st, 1);
	db_bind_text(st, 2, project_id);
	rows = db_rows_json(st);
	json_array_foreach(rows, i, img)
		attach(img);
	return rows;
}

/* Base columns a caller may write (the API layer decides which it lets users set). */
static const char *const writable[] = { "name", "status", "visibility", "protected", "os_hidden",
	"disk_format", "container_format", "size", "virtual_size", "checksum", "os_hash_algo",
	"os_hash_value", "min_disk", "min_ram", "owner", NULL };

/* One prepared UPDATE per column: column names come from the table above, never
 * from the request, and each SQL text has a stable address for db_stmt(). */
static char update_sql[16][128];
static pthread_once_t update_once = PTHREAD_ONCE_INIT;

static void build_update_sql(void)
{
	for (int i = 0; writable[i]; i++)
		snprintf(update_sql[i], sizeof(update_sql[i]), "UPDATE images SET %s = ?2 WHERE id = ?1", writable[i]);
}

static int set_column(const char *id, const char *col, json_t *v, struct nl_error *err)
{
	pthread_once(&update_once, build_update_sql);
	for (int i = 0; writable[i]; i++) {
		if (strcmp(writable[i], col))
			continue;
		sqlite3_stmt *st = db_stmt(update_sql[i]);
		db_bind_text(st, 1, id);
		if (!v || json_is_null(v))
			sqlite3_bind_null(st, 2);
		else if (json_is_string(v))
			db_bind_text(st, 2, json_string_value(v));
		else if (json_is_boolean(v))
			sqlite3_bind_int(st, 2, json_is_true(v));
		else
			sqlite3_bind_int64(st, 2, (sqlite3_int64)json_integer_value(v));
		return db_exec_stmt(st, err, NULL);
	}
	nl_err_internal(err, "db_image_update: unknown column %s", col);
	return -1;
}

int db_image_insert(const char *id, const char *owner, json_t *fields, struct nl_error *err)
{
	/* A deleted image's id stays taken (Glance keeps the soft-deleted row): servers
	 * booted from it must never meet another image under the same id. */
	char msg[100];
	sqlite3_stmt *st = db_stmt("SELECT 1 FROM deleted_images WHERE id = ?1");
	snprintf(msg, sizeof(msg), "Image ID %s already exists!", id);   /* Glance's Duplicate */
	db_bind_text(st, 1, id);
	int gone = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (gone) {
		nl_err_set(err, 409, "%s", msg);
		return -1;
	}
	st = db_stmt("INSERT INTO images (id, owner, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, owner);
	sqlite3_bind_int64(st, 3, nl_now_us());
	if (db_exec_stmt(st, err, msg))
		return -1;
	return db_image_update(id, fields, err);
}

int db_image_update(const char *id, json_t *fields, struct nl_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(fields, k, v)
		if (set_column(id, k, v, err))
			return -1;
	sqlite3_stmt *st = db_stmt("UPDATE images SET updated_at = ?2 WHERE id = ?1");
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, nl_now_us());
	return db_exec_stmt(st, err, NULL);
}

int db_image_set_status(const char *id, const char *from, const char *to, struct nl_error *err)
{
	/* Only an upload in progress holds a quota reservation. */
	sqlite3_stmt *st = db_stmt("UPDATE images SET status = ?3, updated_at = ?4, "
				   "reserved = CASE WHEN ?3 = 'saving' THEN reserved ELSE 0 END "
				   "WHERE id = ?1 AND (?2 IS NULL OR status = ?2)");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, from);
	db_bind_text(st, 3, to);
	sqlite3_bind_int64(st, 4, nl_now_us());
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

int db_image_reserve(const char *id, int64_t bytes, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE images SET reserved = ?2 WHERE id = ?1 AND status = 'saving'");
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, bytes);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

json_t *db_image_repair_saving(struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("SELECT id FROM images WHERE status = 'saving' ORDER BY id");
	json_t *ids = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(ids, json_string(db_col_text(st, 0)));
	sqlite3_reset(st);
	st = db_stmt("UPDATE images SET status = 'queued', reserved = 0, updated_at = ?1 WHERE status = 'saving'");
	sqlite3_bind_int64(st, 1, nl_now_us());
	if (db_exec_stmt(st, err, NULL)) {
		json_decref(ids);
		return NULL;
	}
	return ids;
}

int db_image_delete(const char *id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT OR IGNORE INTO deleted_images (id, owner, deleted_at) "
				   "SELECT id, owner, ?2 FROM images WHERE id = ?1");
	db_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, nl_now_us());
	if (db_exec_stmt(st, err, NULL))
		return -1;
	st = db_stmt("DELETE FROM images WHERE id = ?1");
	db_bind_text(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

int db_image_prop_set(const char *id, const char *name, const char *value, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO image_properties (image_id, name, value) VALUES (?1, ?2, ?3) "
				   "ON CONFLICT (image_id, name) DO UPDATE SET value = excluded.value");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, value);
	return db_exec_stmt(st, err, NULL);
}

int db_image_prop_delete(const char *id, const char *name, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM image_properties WHERE image_id = ?1 AND name = ?2");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

int db_image_tag_add(const char *id, const char *tag, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT OR IGNORE INTO image_tags (image_id, value) VALUES (?1, ?2)");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, tag);
	return db_exec_stmt(st, err, NULL);
}

int db_image_tag_delete(const char *id, const char *tag, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM image_tags WHERE image_id = ?1 AND value = ?2");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, tag);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

#define MEMBER_COLS "SELECT image_id, member AS member_id, status, created_at, updated_at FROM image_members "

json_t *db_image_members(const char *id)
{
	sqlite3_stmt *st = db_stmt(MEMBER_COLS "WHERE image_id = ?1 ORDER BY created_at, member");
	db_bind_text(st, 1, id);
	return db_rows_json(st);
}

json_t *db_image_member_get(const char *id, const char *member)
{
	sqlite3_stmt *st = db_stmt(MEMBER_COLS "WHERE image_id = ?1 AND member = ?2");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, member);
	return db_row_json(st);
}

int db_image_member_add(const char *id, const char *member, struct nl_error *err)
{
	char msg[300];
	sqlite3_stmt *st = db_stmt("INSERT INTO image_members (image_id, member, created_at, updated_at) "
				   "VALUES (?1, ?2, ?3, ?3)");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, member);
	sqlite3_bind_int64(st, 3, nl_now_us());
	snprintf(msg, sizeof(msg), "Member %s already exists.", member);
	return db_exec_stmt(st, err, msg);
}

int db_image_member_set(const char *id, const char *member, const char *status, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE image_members SET status = ?3, updated_at = ?4 WHERE image_id = ?1 AND member = ?2");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, member);
	db_bind_text(st, 3, status);
	sqlite3_bind_int64(st, 4, nl_now_us());
	return db_exec_stmt(st, err, NULL);
}

int db_image_member_delete(const char *id, const char *member, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM image_members WHERE image_id = ?1 AND member = ?2");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, member);
	return db_exec_stmt(st, err, NULL);
}

void db_image_usage(const char *owner, const char *except_id, int64_t *count, int64_t *bytes)
{
	sqlite3_stmt *st = db_stmt("SELECT count(*), coalesce(sum(coalesce(size, 0) + reserved), 0) FROM images "
				   "WHERE owner = ?1 AND (?2 IS NULL OR id <> ?2)");
	db_bind_text(st, 1, owner);
	db_bind_text(st, 2, except_id);
	*count = *bytes = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*count = sqlite3_column_int64(st, 0);
		*bytes = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
}
