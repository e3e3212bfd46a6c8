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

/* True when the token's roles include admin. */
static inline int auth_is_admin(const struct auth *a) { return (a->roles & ROLE_ADMIN) != 0; }

/* True when the request acts with the service role on a route whose persona grants it
 * every project's resources (POL_ANY_SVC, POL_MEMBER_SVC): handlers then scope it as
 * they scope an admin. False on every other route, whatever the token's roles. */
bool auth_service_wide(const struct req *r);

#endif
