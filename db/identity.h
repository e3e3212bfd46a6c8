/* Identity tables: domains, projects, users, roles, assignments, tokens.
 * Read functions return owned JSON rows (column names as keys) or NULL.
 * Write functions expect to run inside db_tx_run() and return 0 or -1 + err. */
#ifndef NL_DB_IDENTITY_H
#define NL_DB_IDENTITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* Optional boolean for updates and filters: -1 = not given. */
typedef int tri_t;

json_t *db_domain_get(const char *id);
json_t *db_domain_find(const char *name);
json_t *db_domain_list(const char *name, tri_t enabled);
int db_domain_insert(const char *id, const char *name, const char *desc, bool enabled, struct nl_error *err);
int db_domain_update(const char *id, const char *name, const char *desc, tri_t enabled, struct nl_error *err);
int db_domain_delete(const char *id, struct nl_error *err);

json_t *db_project_get(const char *id);
json_t *db_project_find(const char *domain_id, const char *name);
json_t *db_project_list(const char *domain_id, const char *name, tri_t enabled, const char *parent_id);
json_t *db_user_projects(const char *user_id);
int db_project_insert(const char *id, const char *name, const char *domain_id, const char *desc,
		      bool enabled, const char *parent_id, struct nl_error *err);
int db_project_update(const char *id, const char *name, const char *desc, tri_t enabled, struct nl_error *err);
int db_project_delete(const char *id, struct nl_error *err);

json_t *db_user_get(const char *id);
json_t *db_user_find(const char *domain_id, const char *name);
json_t *db_user_list(const char *domain_id, const char *name, tri_t enabled);
int db_user_insert(const char *id, const char *name, const char *domain_id, const char *pwhash,
		   bool enabled, const char *default_project_id, const char *desc, const char *email,
		   struct nl_error *err);
/* Any NULL / -1 argument is left unchanged; clear_* set the column to NULL. */
int db_user_update(const char *id, const char *name, const char *pwhash, tri_t enabled,
		   const char *default_project_id, const char *desc, const char *email, struct nl_error *err);
int db_user_delete(const char *id, struct nl_error *err);

json_t *db_role_get(const char *id);
json_t *db_role_find(const char *name);
json_t *db_role_list(const char *name);
int db_role_insert(const char *id, const char *name, const char *desc, struct nl_error *err);
int db_role_update(const char *id, const char *name, const char *desc, struct nl_error *err);
int db_role_delete(const char *id, struct nl_error *err);
int db_role_imply(const char *prior_id, const char *implied_id, struct nl_error *err);

/* target_type: "project", "domain", or "system" (target_id "all"). */
int db_grant(const char *user_id, const char *target_type, const char *target_id, const char *role_id,
	     struct nl_error *err);
int db_revoke_grant(const char *user_id, const char *target_type, const char *target_id,
		    const char *role_id, struct nl_error *err);
bool db_grant_exists(const char *user_id, const char *target_type, const char *target_id, const char *role_id);
/* Roles granted directly on the target (no implications): [{id, name, description}]. */
json_t *db_grants_on(const char *user_id, const char *target_type, const char *target_id);
/* Effective roles (implications applied): [{id, name}]. */
json_t *db_effective_roles(const char *user_id, const char *target_type, const char *target_id);
/* Role bits (ROLE_* in api/http.h) for the standard role names, implications applied. */
unsigned db_role_bits(const char *user_id, const char *target_type, const char *target_id);
/* True when the user holds admin or service (directly or by implication) on any target. */
bool db_user_privileged(const char *user_id);
/* Assignment rows [{user_id, target_type, target_id, role_id, user_name, role_name,
 * target_name, target_domain_id, user_domain_id}] with optional filters (NULL = any). */
json_t *db_assignments(const char *user_id, const char *target_type, const char *target_id,
		       const char *role_id);

struct token_row {
	char user_id[64], user_name[256], user_domain_id[64];
	char project_id[64], project_name[256], project_domain_id[64];
	char domain_id[64];
	char methods[64];
	bool system;   /* scoped to the system (target "system"/"all") */
	char audit_id[32], parent_audit_id[32];
	int64_t issued_at, expires_at;
	bool revoked, user_enabled, project_enabled;
	/* The user's domain, the project's domain and a domain scope are all enabled
	 * (Keystone: a disabled domain disables everything in it). */
	bool domains_enabled;
};
int db_token_insert(const char *hash, const struct token_row *t, struct nl_error *err);
/* 0 found, 1 not found. */
int db_token_get(const char *hash, struct token_row *t);
int db_token_revoke(const char *hash, struct nl_error *err);
int db_token_revoke_user(const char *user_id, struct nl_error *err);
int db_token_revoke_project(const char *project_id, struct nl_error *err);
/* Every token of the domain's users, scoped to its projects, or scoped to it. */
int db_token_revoke_domain(const char *domain_id, struct nl_error *err);
int db_token_purge_expired(int64_t before_us, struct nl_error *err);

#endif
