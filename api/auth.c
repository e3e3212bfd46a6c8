/* Token check on every authenticated request, and the policy personas.
 *
 * Roles are read from the assignments at each check (not frozen into the token), so
 * removing a role takes effect on the next request, as Keystone's fernet tokens do. */
#include "api/auth.h"

#include <stdio.h>
#include <string.h>

#include "api/identity/tokens.h"
#include "common/util.h"
#include "db/identity.h"

static const char unauthorized[] = "The request you have made requires authentication.";

int auth_token_check(const char *token, struct auth *a, struct nl_error *err)
{
	struct token_row t;
	char h[65];

	if (strlen(token) > 512)
		goto fail;
	token_hash(token, h);
	if (db_token_get(h, &t) || t.revoked || t.expires_at <= nl_now_us() || !t.user_enabled ||
	    !t.project_enabled)
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
		a->roles = db_role_bits(t.user_id, "project", t.project_id);
	else if (t.domain_id[0])
		a->roles = db_role_bits(t.user_id, "domain", t.domain_id);
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

int policy_check(const struct req *r, struct nl_error *err)
{
	return policy_require(r, r->route->policy, r->route->rule, err);
}

int policy_require(const struct req *r, enum policy p, const char *rule, struct nl_error *err)
{
	const struct auth *a = &r->auth;
	bool project = a->project_id[0] != '\0';

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
	case POL_ADMIN_OR_SELF: {
		const char *uid = req_param(r, 0);
		return (a->roles & ROLE_ADMIN) || (uid && !strcmp(uid, a->user_id)) ? 0 : deny(r, rule, err);
	}
	case POL_SERVICE:
		return (a->roles & (ROLE_ADMIN | ROLE_SERVICE)) ? 0 : deny(r, rule, err);
	}
	return deny(r, rule, err);
}
