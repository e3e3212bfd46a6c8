/* SQL for agent identities (db/agents.h): agent-name and host claims. */
#include "db/agents.h"

#include "db/db.h"

/* INSERT OR IGNORE, then the holder: one statement pair per table, named by the caller. */
static int claim(const char *insert, const char *holder, const char *name, const char *user_id, int64_t now,
		 struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt(insert);
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, now);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	st = db_stmt(holder);
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, user_id);
	int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : 1;
	sqlite3_reset(st);
	return rc;
}

int db_agent_name_claim(const char *agent, const char *user_id, int64_t now, struct nl_error *err)
{
	return claim("INSERT INTO agent_names (agent, user_id, created_at) VALUES (?1, ?2, ?3) "
		     "ON CONFLICT (agent) DO NOTHING",
		     "SELECT 1 FROM agent_names WHERE agent = ?1 AND user_id = ?2", agent, user_id, now, err);
}

int db_host_claim(const char *host, const char *user_id, int64_t now, struct nl_error *err)
{
	return claim("INSERT INTO host_claims (host, user_id, created_at) VALUES (?1, ?2, ?3) "
		     "ON CONFLICT (host) DO NOTHING",
		     "SELECT 1 FROM host_claims WHERE host = ?1 AND user_id = ?2", host, user_id, now, err);
}

static bool exists(const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = db_stmt(sql);
	db_bind_text(st, 1, a);
	db_bind_text(st, 2, b);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

bool db_agent_name_owned(const char *agent, const char *user_id)
{
	return exists("SELECT 1 FROM agent_names WHERE agent = ?1 AND user_id = ?2", agent, user_id);
}

bool db_host_owned(const char *host, const char *user_id)
{
	return exists("SELECT 1 FROM host_claims WHERE host = ?1 AND user_id = ?2", host, user_id);
}

bool db_instance_host_owned(const char *uuid, const char *user_id)
{
	return exists("SELECT 1 FROM instances i JOIN host_claims c ON c.host = i.host WHERE i.uuid = ?1 AND "
		      "c.user_id = ?2", uuid, user_id);
}

static int release(const char *sql, const char *name, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt(sql);
	db_bind_text(st, 1, name);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	return sqlite3_changes(db_conn()) ? 0 : 1;
}

int db_host_release(const char *host, struct nl_error *err)
{
	return release("DELETE FROM host_claims WHERE host = ?1", host, err);
}

int db_agent_name_release(const char *agent, struct nl_error *err)
{
	return release("DELETE FROM agent_names WHERE agent = ?1", agent, err);
}

json_t *db_agent_claims(void)
{
	return db_rows_json(db_stmt(
		"SELECT 'agent' AS kind, a.agent AS name, a.user_id, u.name AS user_name, a.created_at FROM "
		"agent_names a JOIN users u ON u.id = a.user_id UNION ALL SELECT 'host', c.host, c.user_id, u.name, "
		"c.created_at FROM host_claims c JOIN users u ON u.id = c.user_id ORDER BY 1, 2"));
}
