/* policy_check() (api/auth.c): every persona against every kind of token, and the 403
 * wording of each API family (nova/exception.py PolicyNotAuthorized, keystone/exception.py
 * ForbiddenAction). Role bits are given with implications applied, as auth_token_check()
 * produces them (admin => member => reader). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/auth.h"
#include "api/http.h"

enum tok { T_NONE, T_READER, T_MEMBER, T_ADMIN, T_SERVICE, T_COUNT };
static const char *const tok_names[] = { "no-role", "reader", "member", "admin", "service" };
static const unsigned tok_roles[] = {
	0,
	ROLE_READER,
	ROLE_READER | ROLE_MEMBER,
	ROLE_READER | ROLE_MEMBER | ROLE_ADMIN,
	ROLE_SERVICE,
};

static const char *const pol_names[] = {
	"PUBLIC", "ANY", "READER", "MEMBER", "ADMIN", "ADMIN_OR_SELF", "SERVICE", "ANY_SVC", "MEMBER_SVC",
};

/* allowed[policy][token] for a project-scoped token, and for an unscoped (or
 * domain-scoped) one. ADMIN_OR_SELF here is for a path naming some other user. */
static const bool allowed_project[9][T_COUNT] = {
	/*                  none   reader member admin  service */
	[POL_PUBLIC]     = { true,  true,  true,  true,  true },
	[POL_ANY]        = { true,  true,  true,  true,  true },
	[POL_READER]     = { false, true,  true,  true,  false },
	[POL_MEMBER]     = { false, false, true,  true,  false },
	[POL_ADMIN]      = { false, false, false, true,  false },
	[POL_ADMIN_OR_SELF] = { false, false, false, true, false },
	[POL_SERVICE]    = { false, false, false, true,  true },
	[POL_ANY_SVC]    = { true,  true,  true,  true,  true },
	[POL_MEMBER_SVC] = { false, false, true,  true,  true },
};
static const bool allowed_unscoped[9][T_COUNT] = {
	[POL_PUBLIC]     = { true,  true,  true,  true,  true },
	[POL_ANY]        = { true,  true,  true,  true,  true },
	[POL_READER]     = { false, false, false, true,  false },
	[POL_MEMBER]     = { false, false, false, true,  false },
	[POL_ADMIN]      = { false, false, false, true,  false },
	[POL_ADMIN_OR_SELF] = { false, false, false, true, false },
	[POL_SERVICE]    = { false, false, false, true,  true },
	[POL_ANY_SVC]    = { true,  true,  true,  true,  true },
	[POL_MEMBER_SVC] = { false, false, false, true,  true },
};

static void make_req(struct req *r, struct route *rt, enum service svc, enum policy pol, const char *rule,
		     unsigned roles, const char *project_id, const char *user_id)
{
	memset(r, 0, sizeof(*r));
	memset(rt, 0, sizeof(*rt));
	rt->svc = svc;
	rt->policy = pol;
	rt->rule = rule;
	r->svc = svc;
	r->route = rt;
	r->auth.valid = true;
	r->auth.roles = roles;
	snprintf(r->auth.project_id, sizeof(r->auth.project_id), "%s", project_id);
	snprintf(r->auth.user_id, sizeof(r->auth.user_id), "%s", user_id);
}

static void check_matrix(enum service svc, const char *rule, const char *deny_msg)
{
	for (int scoped = 0; scoped < 2; scoped++) {
		for (int p = POL_PUBLIC; p <= POL_MEMBER_SVC; p++) {
			for (int t = 0; t < T_COUNT; t++) {
				struct req r;
				struct route rt;
				struct nl_error err;
				bool want = scoped ? allowed_project[p][t] : allowed_unscoped[p][t];

				make_req(&r, &rt, svc, (enum policy)p, rule, tok_roles[t], scoped ? "p1" : "", "u-self");
				if (p == POL_ADMIN_OR_SELF) {
					r.params[0] = "u-other";
					r.nparams = 1;
				}
				memset(&err, 0, sizeof(err));
				int rc = policy_check(&r, &err);
				if ((rc == 0) != want)
					fail_msg("%s token (%s) on POL_%s: got %s, want %s", tok_names[t],
						 scoped ? "project" : "unscoped", pol_names[p], rc ? "deny" : "allow",
						 want ? "allow" : "deny");
				if (want) {
					assert_int_equal(err.status, 0);
				} else {
					assert_int_equal(rc, -1);
					assert_int_equal(err.status, 403);
					assert_string_equal(err.msg, deny_msg);
				}
			}
		}
	}
}

static void test_compute_matrix(void **state)
{
	(void)state;
	check_matrix(SVC_COMPUTE, "os_compute_api:os-quota-sets:show",
		     "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.");
}

static void test_identity_matrix(void **state)
{
	(void)state;
	check_matrix(SVC_IDENTITY, "identity:get_user",
		     "You are not authorized to perform the requested action: identity:get_user.");
}

/* POL_ADMIN_OR_SELF: the user named by the first path parameter may act on itself. */
static void test_admin_or_self(void **state)
{
	(void)state;
	static const struct {
		const char *param;   /* NULL: route without parameter */
		const char *user;
		unsigned roles;
		bool want;
	} t[] = {
		{ "u1", "u1", 0, true },                        /* self, no role */
		{ "u1", "u1", ROLE_READER, true },
		{ "u2", "u1", 0, false },                       /* someone else */
		{ "u2", "u1", ROLE_READER | ROLE_MEMBER, false },
		{ "u2", "u1", ROLE_SERVICE, false },
		{ "u2", "u1", ROLE_READER | ROLE_MEMBER | ROLE_ADMIN, true },
		{ "u1x", "u1", 0, false },                      /* prefix is not self */
		{ "u", "u1", 0, false },
		{ NULL, "u1", 0, false },                       /* nothing to compare with */
		{ NULL, "u1", ROLE_ADMIN, true },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct req r;
		struct route rt;
		struct nl_error err = { 0 };
		make_req(&r, &rt, SVC_IDENTITY, POL_ADMIN_OR_SELF, "identity:get_user", t[i].roles, "", t[i].user);
		if (t[i].param) {
			r.params[0] = t[i].param;
			r.nparams = 1;
		}
		int rc = policy_check(&r, &err);
		if ((rc == 0) != t[i].want)
			fail_msg("case %zu: got %s", i, rc ? "deny" : "allow");
		if (!t[i].want)
			assert_string_equal(err.msg,
					    "You are not authorized to perform the requested action: identity:get_user.");
	}
}

/* The rule named in the 403 is the route's, whatever it is. */
static void test_message_uses_route_rule(void **state)
{
	(void)state;
	struct req r;
	struct route rt;
	struct nl_error err = { 0 };

	make_req(&r, &rt, SVC_COMPUTE, POL_ADMIN, "os_compute_api:os-flavor-manage:create", ROLE_READER, "p1", "u");
	assert_int_equal(policy_check(&r, &err), -1);
	assert_int_equal(err.status, 403);
	assert_string_equal(err.msg, "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.");

	make_req(&r, &rt, SVC_IDENTITY, POL_ADMIN, "identity:create_project", ROLE_READER | ROLE_MEMBER, "p1", "u");
	memset(&err, 0, sizeof(err));
	assert_int_equal(policy_check(&r, &err), -1);
	assert_int_equal(err.status, 403);
	assert_string_equal(err.msg, "You are not authorized to perform the requested action: identity:create_project.");
}

/* A domain-scoped token is not project scoped: reader/member personas need a project. */
static void test_domain_scoped_token(void **state)
{
	(void)state;
	struct req r;
	struct route rt;
	struct nl_error err = { 0 };
	make_req(&r, &rt, SVC_COMPUTE, POL_READER, "os_compute_api:os-quota-sets:show",
		 ROLE_READER | ROLE_MEMBER, "", "u");
	snprintf(r.auth.domain_id, sizeof(r.auth.domain_id), "default");
	assert_int_equal(policy_check(&r, &err), -1);
	assert_int_equal(err.status, 403);
}

/* auth_service_wide(): the service role reaches every project only on *_SVC routes. */
static void test_service_wide(void **state)
{
	(void)state;
	static const struct { enum policy pol; unsigned roles; bool want; } t[] = {
		{ POL_ANY_SVC, ROLE_SERVICE, true },
		{ POL_MEMBER_SVC, ROLE_SERVICE, true },
		{ POL_ANY_SVC, ROLE_READER | ROLE_MEMBER, false },
		{ POL_MEMBER_SVC, ROLE_READER | ROLE_MEMBER | ROLE_ADMIN, false },   /* admins have auth_is_admin */
		{ POL_ANY, ROLE_SERVICE, false },
		{ POL_MEMBER, ROLE_SERVICE, false },
		{ POL_SERVICE, ROLE_SERVICE, false },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct req r;
		struct route rt;
		make_req(&r, &rt, SVC_IMAGE, t[i].pol, "get_image", t[i].roles, "p1", "u1");
		if (auth_service_wide(&r) != t[i].want)
			fail_msg("case %zu: auth_service_wide is %d", i, !t[i].want);
	}
}

/* auth_scope_roles(): the admin role is the cloud admin's only on the admin project. */
static void test_scope_roles(void **state)
{
	(void)state;
	static const struct { unsigned bits; enum auth_scope scope; unsigned want; } t[] = {
		{ ROLE_ADMIN | ROLE_MEMBER | ROLE_READER, SCOPE_ADMIN_PROJECT, ROLE_ADMIN | ROLE_MEMBER | ROLE_READER },
		{ ROLE_ADMIN | ROLE_MEMBER | ROLE_READER, SCOPE_PROJECT, ROLE_SCOPE_ADMIN | ROLE_MEMBER | ROLE_READER },
		{ ROLE_ADMIN | ROLE_MEMBER | ROLE_READER, SCOPE_DOMAIN, ROLE_SCOPE_ADMIN | ROLE_MEMBER | ROLE_READER },
		{ ROLE_ADMIN | ROLE_MEMBER | ROLE_READER, SCOPE_NONE, 0 },
		{ ROLE_ADMIN | ROLE_MEMBER | ROLE_READER, SCOPE_SYSTEM, ROLE_ADMIN | ROLE_MEMBER | ROLE_READER },
		{ ROLE_MEMBER | ROLE_READER, SCOPE_ADMIN_PROJECT, ROLE_MEMBER | ROLE_READER },
		{ ROLE_SERVICE, SCOPE_PROJECT, ROLE_SERVICE },
		{ ROLE_SERVICE | ROLE_ADMIN, SCOPE_PROJECT, ROLE_SERVICE | ROLE_SCOPE_ADMIN },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (auth_scope_roles(t[i].bits, t[i].scope) != t[i].want)
			fail_msg("case %zu: got %#x", i, auth_scope_roles(t[i].bits, t[i].scope));
	assert_int_equal(auth_project_scope("admin", "default", true), SCOPE_ADMIN_PROJECT);
	assert_int_equal(auth_project_scope("admin", "d2", true), SCOPE_PROJECT);
	assert_int_equal(auth_project_scope("admin2", "default", true), SCOPE_PROJECT);
	/* the default: every project is an admin project (Keystone without admin_project_name) */
	assert_int_equal(auth_project_scope("admin2", "default", false), SCOPE_ADMIN_PROJECT);
}

/* A project admin or domain admin passes no admin persona on compute; only a domain
 * admin (domain-scoped) passes POL_DOMAIN_ADMIN, and only the cloud admin POL_ADMIN. */
static void test_scoped_admins(void **state)
{
	(void)state;
	const unsigned sa = ROLE_SCOPE_ADMIN | ROLE_MEMBER | ROLE_READER;
	static const struct { enum service svc; enum policy pol; bool domain_scope; bool want; } t[] = {
		{ SVC_COMPUTE, POL_ADMIN, false, false },   /* admin on an ordinary project */
		{ SVC_COMPUTE, POL_ADMIN, true, false },    /* admin on a domain */
		{ SVC_COMPUTE, POL_MEMBER, false, true },   /* still a member of its project */
		{ SVC_COMPUTE, POL_MEMBER, true, false },
		{ SVC_COMPUTE, POL_SERVICE, false, false },
		{ SVC_IDENTITY, POL_ADMIN, true, false },
		{ SVC_IDENTITY, POL_DOMAIN_ADMIN, true, true },
		{ SVC_IDENTITY, POL_DOMAIN_ADMIN, false, false },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct req r;
		struct route rt;
		struct nl_error err = { 0 };
		make_req(&r, &rt, t[i].svc, t[i].pol, "rule:x", sa, t[i].domain_scope ? "" : "p1", "u1");
		if (t[i].domain_scope)
			snprintf(r.auth.domain_id, sizeof(r.auth.domain_id), "d1");
		int rc = policy_check(&r, &err);
		if ((rc == 0) != t[i].want)
			fail_msg("case %zu: got %s", i, rc ? "deny" : "allow");
		assert_false(auth_is_admin(&r.auth));
	}
	/* the cloud admin passes POL_DOMAIN_ADMIN */
	struct req r;
	struct route rt;
	struct nl_error err = { 0 };
	make_req(&r, &rt, SVC_IDENTITY, POL_DOMAIN_ADMIN, "identity:list_users",
		 ROLE_ADMIN | ROLE_MEMBER | ROLE_READER, "p1", "u1");
	assert_int_equal(policy_check(&r, &err), 0);
	make_req(&r, &rt, SVC_IDENTITY, POL_DOMAIN_ADMIN, "identity:list_users", ROLE_MEMBER | ROLE_READER, "p1", "u1");
	assert_int_equal(policy_check(&r, &err), -1);
	assert_string_equal(err.msg, "You are not authorized to perform the requested action: identity:list_users.");
}

/* A system-scoped token: the cloud admin on identity, refused by every compute and image
 * policy (Nova's scope_types are ['project']), public routes aside. */
static void test_system_scope(void **state)
{
	(void)state;
	static const struct { enum service svc; enum policy pol; bool want; } t[] = {
		{ SVC_IDENTITY, POL_ADMIN, true },
		{ SVC_IDENTITY, POL_ANY, true },
		{ SVC_COMPUTE, POL_ANY, false },
		{ SVC_COMPUTE, POL_READER, false },
		{ SVC_COMPUTE, POL_ADMIN, false },
		{ SVC_IMAGE, POL_ANY_SVC, false },
		{ SVC_INTERNAL, POL_SERVICE, false },
		{ SVC_COMPUTE, POL_PUBLIC, true },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct req r;
		struct route rt;
		struct nl_error err = { 0 };
		make_req(&r, &rt, t[i].svc, t[i].pol, "os_compute_api:os-services:list",
			 ROLE_ADMIN | ROLE_MEMBER | ROLE_READER, "", "u1");
		r.auth.system = true;
		int rc = policy_check(&r, &err);
		if ((rc == 0) != t[i].want)
			fail_msg("case %zu: got %s", i, rc ? "deny" : "allow");
		if (rc && t[i].svc == SVC_COMPUTE)
			assert_string_equal(err.msg, "Policy doesn't allow os_compute_api:os-services:list to be performed.");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compute_matrix),
		cmocka_unit_test(test_identity_matrix),
		cmocka_unit_test(test_admin_or_self),
		cmocka_unit_test(test_message_uses_route_rule),
		cmocka_unit_test(test_domain_scoped_token),
		cmocka_unit_test(test_service_wide),
		cmocka_unit_test(test_scope_roles),
		cmocka_unit_test(test_scoped_admins),
		cmocka_unit_test(test_system_scope),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
