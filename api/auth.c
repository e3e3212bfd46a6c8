/* Token check on every authenticated request, and the policy personas.
 *
 * Roles are read from the assignments at each check (not frozen into the token), so
 * removing a role takes effect on the next request, as Keystone's fernet tokens do. */
#include "api/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/identity/tokens.h"
#include "common/config.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"

static const char unauthorized[] = "The request you have made requires authentication.";

/* Per-thread cache of validated tokens. An entry is used only while no write has
 * committed since it was filled (so revocations, role and enabled changes bite at
 * once), for at most a second (writes by another process), and never past expiry. */
#define TOKEN_CACHE 64
struct token_cache_entry {
	char hash[65];
	uint64_t generation;
	int64_t cached_at;
	struct auth a;
};
static __thread struct token_cache_entry token_cache[TOKEN_CACHE];

static struct token_cache_entry *cache_slot(const char *h)
{
	return &token_cache[strtoul((char[3]){ h[0], h[1], 0 }, NULL, 16) % TOKEN_CACHE];
}

unsigned auth_scope_roles(unsigned bits, enum auth_scope scope)
{
	if (scope == SCOPE_NONE)
		return 0;
	if ((bits & ROLE_ADMIN) && scope != SCOPE_ADMIN_PROJECT && scope != SCOPE_SYSTEM)
		bits = (bits & ~ROLE_ADMIN) | ROLE_SCOPE_ADMIN;
	return bits;
}

enum auth_scope auth_project_scope(const char *project_name, const char *project_domain_id, bool admin_project_only)
{
	if (!admin_project_only)
		return SCOPE_ADMIN_PROJECT;   /* Keystone without admin_project_name: every project */
	return !strcmp(project_name, ADMIN_PROJECT_NAME) && !strcmp(project_domain_id, ADMIN_PROJECT_DOMAIN)
		       ? SCOPE_ADMIN_PROJECT : SCOPE_PROJECT;
}

int auth_token_check(const char *token, struct auth *a, struct nl_error *err)
{
	struct token_row t;
	struct token_cache_entry *ce;
	char h[65];
	int64_t now = nl_now_us();

	if (strlen(token) > 512)
		goto fail;
	token_hash(token, h);
	ce = cache_slot(h);
	if (!strcmp(ce->hash, h) && ce->generation == db_write_generation() && now - ce->cached_at < 1000000 &&
	    ce->a.expires_at > now) {
		*a = ce->a;
		return 0;
	}
	/* Read before the queries: a write racing with them makes this entry stale at once. */
	uint64_t gen = db_write_generation();
	if (db_token_get(h, &t) || !token_row_live(&t))
		goto fail;
	memset(a, 0, sizeof(*a));
	a->valid = true;
	snprintf(a->user_id, sizeof(a->user_id), "%s", t.user_id);
	snprintf(a->user_name, sizeof(a->user_name), "%s", t.user_name);
	snprintf(a->user_domain_id, sizeof(a->user_domain_id), "%s", t.user_domain_id);
	snprintf(a->project_id, sizeof(a->project_id), "%s", t.project_id);
	snprintf(a->project_domain_id, sizeof(a->project_domain_id), "%s", t.project_domain_id);
	snprintf(a->domain_id, sizeof(a->domain_id), "%s", t.domain_id);
	a->expires_at = t.expires_at;
	if (t.project_id[0])
		a->roles = auth_scope_roles(db_role_bits(t.user_id, "project", t.project_id),
					    auth_project_scope(t.project_name, t.project_domain_id,
							       g_config.admin_project_only));
	else if (t.domain_id[0])
		a->roles = auth_scope_roles(db_role_bits(t.user_id, "domain", t.domain_id), SCOPE_DOMAIN);
	else if (t.system)
		a->roles = auth_scope_roles(db_role_bits(t.user_id, "system", "all"), SCOPE_SYSTEM);
	a->system = t.system;
	snprintf(ce->hash, sizeof(ce->hash), "%s", h);
	ce->generation = gen;
	ce->cached_at = now;
	ce->a = *a;
	return 0;
fail:
	nl_err_set(err, 401, unauthorized);
	return -1;
}

static int deny(const struct req *r, const char *rule, struct nl_error *err)
{
	if (r->svc == SVC_COMPUTE)
		nl_err_set(err, 403, "Policy doesn't allow %s to be performed.", rule);
	else
		nl_err_set(err, 403, "You are not authorized to perform the requested action: %s.", rule);
	return -1;
}

bool auth_service_wide(const struct req *r)
{
	return r->route && (r->route->policy == POL_ANY_SVC || r->route->policy == POL_MEMBER_SVC) &&
	       (r->auth.roles & ROLE_SERVICE);
}

int policy_check(const struct req *r, struct nl_error *err)
{
	return policy_require(r, r->route->policy, r->route->rule, err);
}

int policy_require(const struct req *r, enum policy p, const char *rule, struct nl_error *err)
{
	const struct auth *a = &r->auth;
	bool project = a->project_id[0] != '\0';

	/* Every Nova (and Glance) policy has scope_types ['project']: a system-scoped token
	 * is refused on all of them, whatever its roles (nova policy-concepts.rst). */
	if (a->system && r->svc != SVC_IDENTITY && p != POL_PUBLIC)
		return deny(r, rule, err);
	switch (p) {
	case POL_PUBLIC:
	case POL_ANY:
		return 0;
	case POL_READER:
		return (a->roles & ROLE_ADMIN) || (project && (a->roles & ROLE_READER)) ? 0 : deny(r, rule, err);
	case POL_MEMBER:
		return (a->roles & ROLE_ADMIN) || (project && (a->roles & ROLE_MEMBER)) ? 0 : deny(r, rule, err);
	case POL_ADMIN:
		return (a->roles & ROLE_ADMIN) ? 0 : deny(r, rule, err);
	case POL_DOMAIN_ADMIN:
		return (a->roles & ROLE_ADMIN) || auth_is_domain_admin(a) ? 0 : deny(r, rule, err);
	case POL_ADMIN_OR_SELF: {
		const char *uid = req_param(r, 0);
		return (a->roles & ROLE_ADMIN) || (uid && !strcmp(uid, a->user_id)) ? 0 : deny(r, rule, err);
	}
	case POL_SERVICE:
		return (a->roles & (ROLE_ADMIN | ROLE_SERVICE)) ? 0 : deny(r, rule, err);
	case POL_ANY_SVC:
		return 0;
	case POL_MEMBER_SVC:
		return (a->roles & (ROLE_ADMIN | ROLE_SERVICE)) || (project && (a->roles & ROLE_MEMBER)) ? 0
											: deny(r, rule, err);
	}
	return deny(r, rule, err);
}
