/* Token check (Keystone-middleware behaviour) and policy enforcement. */
#ifndef NL_AUTH_H
#define NL_AUTH_H

#include "api/http.h"

/* Validates a bearer token string: hash it, look it up, require unrevoked and
 * unexpired, load the user's effective roles on the token's scope. 401 on failure. */
int auth_token_check(const char *token, struct auth *a, struct nl_error *err);

/* Applies the route's policy persona to the request's token. 403 with the upstream
 * wording when it does not allow the call. */
int policy_check(const struct req *r, struct nl_error *err);

/* The same check for a persona and rule chosen by the handler (routes whose rule
 * depends on the body, such as flavor actions). */
int policy_require(const struct req *r, enum policy p, const char *rule, struct nl_error *err);

/* What a token's role bits (db_role_bits) mean on its scope: the admin role counts as
 * ROLE_ADMIN (cloud admin) only on the admin project or the system; elsewhere it becomes
 * ROLE_SCOPE_ADMIN, keeping the member and reader it implies. Pure. */
enum auth_scope { SCOPE_NONE, SCOPE_PROJECT, SCOPE_ADMIN_PROJECT, SCOPE_DOMAIN, SCOPE_SYSTEM };
unsigned auth_scope_roles(unsigned bits, enum auth_scope scope);
/* SCOPE_ADMIN_PROJECT for the admin project, else SCOPE_PROJECT; with admin_project_only
 * false ([identity] admin_project_only = 0, the default), every project is an admin
 * project, as in Keystone without admin_project_name and Nova's context_is_admin
 * (role:admin): admin on any project is the cloud admin, admin on a domain never is. */
enum auth_scope auth_project_scope(const char *project_name, const char *project_domain_id, bool admin_project_only);

/* The admin project: Keystone's [resource] admin_project_name / admin_project_domain_name,
 * here the project bootstrap creates. */
#define ADMIN_PROJECT_NAME "admin"
#define ADMIN_PROJECT_DOMAIN "default"

/* True for the admin role on a domain-scoped token (a domain admin). */
static inline bool auth_is_domain_admin(const struct auth *a)
{
	return a->domain_id[0] && (a->roles & ROLE_SCOPE_ADMIN);
}

/* True when the token is the cloud admin's (admin role on the admin project). */
static inline int auth_is_admin(const struct auth *a) { return (a->roles & ROLE_ADMIN) != 0; }

/* True when the request acts with the service role on a route whose persona grants it
 * every project's resources (POL_ANY_SVC, POL_MEMBER_SVC): handlers then scope it as
 * they scope an admin. False on every other route, whatever the token's roles. */
bool auth_service_wide(const struct req *r);

#endif
