/* SQL for the identity tables. Values are always bound, never pasted into SQL. */
#include "db/identity.h"

#include <stdio.h>
#include <string.h>

#include "api/http.h"   /* ROLE_* bits */
#include "db/db.h"

static void bind_tri(sqlite3_stmt *st, int i, tri_t v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int(st, i, v ? 1 : 0);
}

static json_t *one(sqlite3_stmt *st, const char *a)
{
	db_bind_text(st, 1, a);
	return db_row_json(st);
}

/* ---- domains ---- */
#define DOMAIN_COLS "SELECT id, name, description, enabled FROM domains "

json_t *db_domain_get(const char *id) { return one(db_stmt(DOMAIN_COLS "WHERE id = ?1"), id); }
json_t *db_domain_find(const char *name) { return one(db_stmt(DOMAIN_COLS "WHERE name = ?1"), name); }

json_t *db_domain_list(const char *name, tri_t enabled)
{
	sqlite3_stmt *st = db_stmt(DOMAIN_COLS "WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR enabled = ?2) "
				   "ORDER BY name");
	db_bind_text(st, 1, name);
	bind_tri(st, 2, enabled);
	return db_rows_json(st);
}

int db_domain_insert(const char *id, const char *name, const char *desc, bool enabled, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO domains (id, name, description, enabled) VALUES (?1, ?2, ?3, ?4)");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, desc ? desc : "");
	sqlite3_bind_int(st, 4, enabled);
	return db_exec_stmt(st, err, "Conflict occurred attempting to store domain - Duplicate entry found with name");
}

int db_domain_update(const char *id, const char *name, const char *desc, tri_t enabled, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE domains SET name = coalesce(?2, name), description = coalesce(?3, description), "
				   "enabled = coalesce(?4, enabled) WHERE id = ?1");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, desc);
	bind_tri(st, 4, enabled);
	return db_exec_stmt(st, err, "Conflict occurred attempting to store domain - Duplicate entry found with name");
}

int db_domain_delete(const char *id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM role_assignments WHERE target_type = 'domain' AND target_id = ?1");
	db_bind_text(st, 1, id);
	if (db_exec_stmt(st, err, NULL))
		return -1;
	st = db_stmt("DELETE FROM domains WHERE id = ?1");
	db_bind_text(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		nl_err_set(err, 403, "Cannot delete a domain that still has projects or users.");
		return -1;
	}
	return 0;
}

/* ---- projects ---- */
#define PROJECT_COLS "SELECT id, name, domain_id, description, enabled, parent_id FROM projects "

json_t *db_project_get(const char *id) { return one(db_stmt(PROJECT_COLS "WHERE id = ?1"), id); }

json_t *db_project_find(const char *domain_id, const char *name)
{
	sqlite3_stmt *st = db_stmt(PROJECT_COLS "WHERE domain_id = ?1 AND name = ?2");
	db_bind_text(st, 1, domain_id);
	db_bind_text(st, 2, name);
	return db_row_json(st);
}

json_t *db_project_list(const char *domain_id, const char *name, tri_t enabled, const char *parent_id)
{
	sqlite3_stmt *st = db_stmt(PROJECT_COLS "WHERE (?1 IS NULL OR domain_id = ?1) AND (?2 IS NULL OR name = ?2) "
				   "AND (?3 IS NULL OR enabled = ?3) AND (?4 IS NULL OR parent_id = ?4) ORDER BY name");
	db_bind_text(st, 1, domain_id);
	db_bind_text(st, 2, name);
	bind_tri(st, 3, enabled);
	db_bind_text(st, 4, parent_id);
	return db_rows_json(st);
}

json_t *db_user_projects(const char *user_id)
{
	sqlite3_stmt *st = db_stmt("SELECT p.id, p.name, p.domain_id, p.description, p.enabled, p.parent_id "
				   "FROM projects p WHERE p.id IN (SELECT target_id FROM role_assignments "
				   "WHERE user_id = ?1 AND target_type = 'project') ORDER BY p.name");
	db_bind_text(st, 1, user_id);
	return db_rows_json(st);
}

int db_project_insert(const char *id, const char *name, const char *domain_id, const char *desc,
		      bool enabled, const char *parent_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO projects (id, name, domain_id, description, enabled, parent_id) "
				   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, domain_id);
	db_bind_text(st, 4, desc ? desc : "");
	sqlite3_bind_int(st, 5, enabled);
	db_bind_text(st, 6, parent_id);
	return db_exec_stmt(st, err, "Conflict occurred attempting to store project - it is not permitted to have "
			    "two projects with either the same name or same id in the same domain: name is not unique "
			    "within the domain.");
}

int db_project_update(const char *id, const char *name, const char *desc, tri_t enabled, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE projects SET name = coalesce(?2, name), description = coalesce(?3, description), "
				   "enabled = coalesce(?4, enabled) WHERE id = ?1");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, desc);
	bind_tri(st, 4, enabled);
	return db_exec_stmt(st, err, "Conflict occurred attempting to store project - it is not permitted to have "
			    "two projects with either the same name or same id in the same domain: name is not unique "
			    "within the domain.");
}

int db_project_delete(const char *id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM role_assignments WHERE target_type = 'project' AND target_id = ?1");
	db_bind_text(st, 1, id);
	if (db_exec_stmt(st, err, NULL) || db_token_revoke_project(id, err))
		return -1;
	st = db_stmt("DELETE FROM projects WHERE id = ?1");
	db_bind_text(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

/* ---- users ---- */
#define USER_COLS "SELECT id, name, domain_id, password_hash, enabled, default_project_id, description, email, " \
		  "password_expires_at FROM users "

json_t *db_user_get(const char *id) { return one(db_stmt(USER_COLS "WHERE id = ?1"), id); }

json_t *db_user_find(const char *domain_id, const char *name)
{
	sqlite3_stmt *st = db_stmt(USER_COLS "WHERE domain_id = ?1 AND name = ?2");
	db_bind_text(st, 1, domain_id);
	db_bind_text(st, 2, name);
	return db_row_json(st);
}

json_t *db_user_list(const char *domain_id, const char *name, tri_t enabled)
{
	sqlite3_stmt *st = db_stmt(USER_COLS "WHERE (?1 IS NULL OR domain_id = ?1) AND (?2 IS NULL OR name = ?2) "
				   "AND (?3 IS NULL OR enabled = ?3) ORDER BY name");
	db_bind_text(st, 1, domain_id);
	db_bind_text(st, 2, name);
	bind_tri(st, 3, enabled);
	return db_rows_json(st);
}

static const char user_conflict[] = "Conflict occurred attempting to store user - Duplicate entry found with "
				    "name in the domain.";

int db_user_insert(const char *id, const char *name, const char *domain_id, const char *pwhash,
		   bool enabled, const char *default_project_id, const char *desc, const char *email,
		   struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO users (id, name, domain_id, password_hash, enabled, default_project_id, "
				   "description, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
				   "CAST(strftime('%s','now') AS INTEGER) * 1000000)");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, domain_id);
	db_bind_text(st, 4, pwhash);
	sqlite3_bind_int(st, 5, enabled);
	db_bind_text(st, 6, default_project_id);
	db_bind_text(st, 7, desc);
	db_bind_text(st, 8, email);
	return db_exec_stmt(st, err, user_conflict);
}

int db_user_update(const char *id, const char *name, const char *pwhash, tri_t enabled,
		   const char *default_project_id, const char *desc, const char *email, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE users SET name = coalesce(?2, name), password_hash = coalesce(?3, password_hash), "
				   "enabled = coalesce(?4, enabled), default_project_id = coalesce(?5, default_project_id), "
				   "description = coalesce(?6, description), email = coalesce(?7, email) WHERE id = ?1");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, pwhash);
	bind_tri(st, 4, enabled);
	db_bind_text(st, 5, default_project_id);
	db_bind_text(st, 6, desc);
	db_bind_text(st, 7, email);
	return db_exec_stmt(st, err, user_conflict);
}

int db_user_delete(const char *id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM users WHERE id = ?1");  /* cascades to grants and tokens */
	db_bind_text(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

/* ---- roles ---- */
#define ROLE_COLS "SELECT id, name, description, domain_id FROM roles "

json_t *db_role_get(const char *id) { return one(db_stmt(ROLE_COLS "WHERE id = ?1"), id); }
json_t *db_role_find(const char *name) { return one(db_stmt(ROLE_COLS "WHERE name = ?1"), name); }

json_t *db_role_list(const char *name)
{
	sqlite3_stmt *st = db_stmt(ROLE_COLS "WHERE (?1 IS NULL OR name = ?1) ORDER BY name");
	db_bind_text(st, 1, name);
	return db_rows_json(st);
}

int db_role_insert(const char *id, const char *name, const char *desc, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO roles (id, name, description) VALUES (?1, ?2, ?3)");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, desc);
	return db_exec_stmt(st, err, "Conflict occurred attempting to store role - Duplicate entry found with name");
}

int db_role_update(const char *id, const char *name, const char *desc, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE roles SET name = coalesce(?2, name), description = coalesce(?3, description) "
				   "WHERE id = ?1");
	db_bind_text(st, 1, id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, desc);
	return db_exec_stmt(st, err, "Conflict occurred attempting to store role - Duplicate entry found with name");
}

int db_role_delete(const char *id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM roles WHERE id = ?1");
	db_bind_text(st, 1, id);
	return db_exec_stmt(st, err, NULL);
}

int db_role_imply(const char *prior_id, const char *implied_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT OR IGNORE INTO implied_roles (prior_role_id, implied_role_id) VALUES (?1, ?2)");
	db_bind_text(st, 1, prior_id);
	db_bind_text(st, 2, implied_id);
	return db_exec_stmt(st, err, NULL);
}

/* ---- assignments ---- */
int db_grant(const char *user_id, const char *tt, const char *tid, const char *role_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT OR IGNORE INTO role_assignments (user_id, target_type, target_id, role_id) "
				   "VALUES (?1, ?2, ?3, ?4)");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, tt);
	db_bind_text(st, 3, tid);
	db_bind_text(st, 4, role_id);
	return db_exec_stmt(st, err, NULL);
}

int db_revoke_grant(const char *user_id, const char *tt, const char *tid, const char *role_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM role_assignments WHERE user_id = ?1 AND target_type = ?2 AND "
				   "target_id = ?3 AND role_id = ?4");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, tt);
	db_bind_text(st, 3, tid);
	db_bind_text(st, 4, role_id);
	return db_exec_stmt(st, err, NULL);
}

bool db_grant_exists(const char *user_id, const char *tt, const char *tid, const char *role_id)
{
	sqlite3_stmt *st = db_stmt("SELECT 1 FROM role_assignments WHERE user_id = ?1 AND target_type = ?2 AND "
				   "target_id = ?3 AND role_id = ?4");
	bool found;
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, tt);
	db_bind_text(st, 3, tid);
	db_bind_text(st, 4, role_id);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

json_t *db_grants_on(const char *user_id, const char *tt, const char *tid)
{
	sqlite3_stmt *st = db_stmt("SELECT r.id, r.name, r.description, r.domain_id FROM roles r JOIN role_assignments a "
				   "ON a.role_id = r.id WHERE a.user_id = ?1 AND a.target_type = ?2 AND a.target_id = ?3 "
				   "ORDER BY r.name");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, tt);
	db_bind_text(st, 3, tid);
	return db_rows_json(st);
}

#define EFFECTIVE_ROLES \
	"WITH RECURSIVE eff(id) AS (SELECT role_id FROM role_assignments WHERE user_id = ?1 AND " \
	"target_type = ?2 AND target_id = ?3 UNION SELECT i.implied_role_id FROM implied_roles i " \
	"JOIN eff ON i.prior_role_id = eff.id) SELECT r.id, r.name FROM roles r JOIN eff ON r.id = eff.id "

json_t *db_effective_roles(const char *user_id, const char *tt, const char *tid)
{
	sqlite3_stmt *st = db_stmt(EFFECTIVE_ROLES "ORDER BY r.name");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, tt);
	db_bind_text(st, 3, tid);
	return db_rows_json(st);
}

unsigned db_role_bits(const char *user_id, const char *tt, const char *tid)
{
	sqlite3_stmt *st = db_stmt(EFFECTIVE_ROLES);
	unsigned bits = 0;
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, tt);
	db_bind_text(st, 3, tid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *n = db_col_text(st, 1);
		/* Implications also hard-wired so a deleted implied_roles row cannot lock admins out. */
		if (!strcmp(n, "admin")) bits |= ROLE_ADMIN | ROLE_MEMBER | ROLE_READER;
		else if (!strcmp(n, "member")) bits |= ROLE_MEMBER | ROLE_READER;
		else if (!strcmp(n, "reader")) bits |= ROLE_READER;
		else if (!strcmp(n, "service")) bits |= ROLE_SERVICE;
	}
	sqlite3_reset(st);
	return bits;
}

bool db_user_privileged(const char *user_id)
{
	sqlite3_stmt *st = db_stmt(
		"WITH RECURSIVE eff(id) AS (SELECT role_id FROM role_assignments WHERE user_id = ?1 "
		"UNION SELECT i.implied_role_id FROM implied_roles i JOIN eff ON i.prior_role_id = eff.id) "
		"SELECT 1 FROM roles r JOIN eff ON r.id = eff.id WHERE r.name IN ('admin', 'service')");
	bool found;
	db_bind_text(st, 1, user_id);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

json_t *db_assignments(const char *user_id, const char *tt, const char *tid, const char *role_id)
{
	sqlite3_stmt *st = db_stmt(
		"SELECT a.user_id, a.target_type, a.target_id, a.role_id, u.name AS user_name, "
		"u.domain_id AS user_domain_id, ud.name AS user_domain_name, r.name AS role_name, "
		"coalesce(p.name, d.name) AS target_name, p.domain_id AS target_domain_id, "
		"pd.name AS target_domain_name "
		"FROM role_assignments a JOIN users u ON u.id = a.user_id JOIN roles r ON r.id = a.role_id "
		"LEFT JOIN domains ud ON ud.id = u.domain_id "
		"LEFT JOIN projects p ON a.target_type = 'project' AND p.id = a.target_id "
		"LEFT JOIN domains pd ON pd.id = p.domain_id "
		"LEFT JOIN domains d ON a.target_type = 'domain' AND d.id = a.target_id "
		"WHERE (?1 IS NULL OR a.user_id = ?1) AND (?2 IS NULL OR a.target_type = ?2) "
		"AND (?3 IS NULL OR a.target_id = ?3) AND (?4 IS NULL OR a.role_id = ?4) "
		"ORDER BY a.target_type, a.target_id, u.name, r.name");
	db_bind_text(st, 1, user_id);
	db_bind_text(st, 2, tt);
	db_bind_text(st, 3, tid);
	db_bind_text(st, 4, role_id);
	return db_rows_json(st);
}

/* ---- tokens ---- */
int db_token_insert(const char *hash, const struct token_row *t, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("INSERT INTO tokens (hash, user_id, project_id, domain_id, methods, issued_at, "
				   "expires_at, audit_id, parent_audit_id, system_scope) "
				   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	db_bind_text(st, 1, hash);
	db_bind_text(st, 2, t->user_id);
	db_bind_text(st, 3, t->project_id[0] ? t->project_id : NULL);
	db_bind_text(st, 4, t->domain_id[0] ? t->domain_id : NULL);
	db_bind_text(st, 5, t->methods);
	sqlite3_bind_int64(st, 6, t->issued_at);
	sqlite3_bind_int64(st, 7, t->expires_at);
	db_bind_text(st, 8, t->audit_id);
	db_bind_text(st, 9, t->parent_audit_id[0] ? t->parent_audit_id : NULL);
	sqlite3_bind_int(st, 10, t->system ? 1 : 0);
	return db_exec_stmt(st, err, NULL);
}

static void copy(char *dst, size_t len, sqlite3_stmt *st, int i)
{
	snprintf(dst, len, "%s", db_col_text(st, i));
}

int db_token_get(const char *hash, struct token_row *t)
{
	sqlite3_stmt *st = db_stmt(
		"SELECT t.user_id, u.name, u.domain_id, coalesce(t.project_id, ''), coalesce(p.name, ''), "
		"coalesce(p.domain_id, ''), coalesce(t.domain_id, ''), t.methods, t.audit_id, "
		"coalesce(t.parent_audit_id, ''), t.issued_at, t.expires_at, t.revoked, u.enabled, "
		"coalesce(p.enabled, 1), "
		"coalesce(ud.enabled, 1) AND coalesce(pd.enabled, 1) AND coalesce(td.enabled, 1), t.system_scope "
		"FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN projects p ON p.id = t.project_id "
		"LEFT JOIN domains ud ON ud.id = u.domain_id LEFT JOIN domains pd ON pd.id = p.domain_id "
		"LEFT JOIN domains td ON td.id = t.domain_id "
		"WHERE t.hash = ?1");
	int rc;
	db_bind_text(st, 1, hash);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return 1;
	}
	memset(t, 0, sizeof(*t));
	copy(t->user_id, sizeof(t->user_id), st, 0);
	copy(t->user_name, sizeof(t->user_name), st, 1);
	copy(t->user_domain_id, sizeof(t->user_domain_id), st, 2);
	copy(t->project_id, sizeof(t->project_id), st, 3);
	copy(t->project_name, sizeof(t->project_name), st, 4);
	copy(t->project_domain_id, sizeof(t->project_domain_id), st, 5);
	copy(t->domain_id, sizeof(t->domain_id), st, 6);
	copy(t->methods, sizeof(t->methods), st, 7);
	copy(t->audit_id, sizeof(t->audit_id), st, 8);
	copy(t->parent_audit_id, sizeof(t->parent_audit_id), st, 9);
	t->issued_at = sqlite3_column_int64(st, 10);
	t->expires_at = sqlite3_column_int64(st, 11);
	t->revoked = sqlite3_column_int(st, 12) != 0;
	t->user_enabled = sqlite3_column_int(st, 13) != 0;
	t->project_enabled = sqlite3_column_int(st, 14) != 0;
	t->domains_enabled = sqlite3_column_int(st, 15) != 0;
	t->system = sqlite3_column_int(st, 16) != 0;
	sqlite3_reset(st);
	return 0;
}

int db_token_revoke(const char *hash, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE tokens SET revoked = 1 WHERE hash = ?1");
	db_bind_text(st, 1, hash);
	return db_exec_stmt(st, err, NULL);
}

int db_token_revoke_user(const char *user_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE tokens SET revoked = 1 WHERE user_id = ?1");
	db_bind_text(st, 1, user_id);
	return db_exec_stmt(st, err, NULL);
}

int db_token_revoke_project(const char *project_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE tokens SET revoked = 1 WHERE project_id = ?1");
	db_bind_text(st, 1, project_id);
	return db_exec_stmt(st, err, NULL);
}

int db_token_revoke_domain(const char *domain_id, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("UPDATE tokens SET revoked = 1 WHERE domain_id = ?1 "
				   "OR project_id IN (SELECT id FROM projects WHERE domain_id = ?1) "
				   "OR user_id IN (SELECT id FROM users WHERE domain_id = ?1)");
	db_bind_text(st, 1, domain_id);
	return db_exec_stmt(st, err, NULL);
}

int db_token_purge_expired(int64_t before_us, struct nl_error *err)
{
	sqlite3_stmt *st = db_stmt("DELETE FROM tokens WHERE expires_at < ?1");
	sqlite3_bind_int64(st, 1, before_us);
	return db_exec_stmt(st, err, NULL);
}
