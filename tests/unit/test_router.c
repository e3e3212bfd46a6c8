/* router_match() over the real route table (api/router.c). Each row builds a struct req by
 * hand (service, method, url, negotiated microversion) and checks the status, the handler
 * and body spec of the route chosen, and the captured path parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/compute/compute.h"
#include "api/handlers.h"
#include "api/http.h"
#include "api/router.h"

struct rcase {
	const char *name;
	enum service svc;
	enum http_method method;
	const char *url;
	int mv;
	int status;                      /* 200, 404 or 405 */
	handler_fn handler;              /* expected route's handler (status 200) */
	const struct field_spec *spec;   /* expected body spec, when it tells versions apart */
	int nparams;
	const char *p[3];
};

#define C SVC_COMPUTE
#define I SVC_IDENTITY

static const struct rcase cases[] = {
	/* compute: specific paths before {id} */
	{ "flavors_detail", C, M_GET, "/v2.1/flavors/detail", 1, 200, flavor_detail, NULL, 0, { 0 } },
	{ "flavors_detail_head", C, M_HEAD, "/v2.1/flavors/detail", 1, 200, flavor_detail, NULL, 0, { 0 } },
	{ "flavors_detail_slash", C, M_GET, "/v2.1/flavors/detail/", 1, 200, flavor_detail, NULL, 0, { 0 } },
	{ "flavor_show", C, M_GET, "/v2.1/flavors/abc", 1, 200, flavor_show, NULL, 1, { "abc" } },
	{ "flavor_show_slash", C, M_GET, "/v2.1/flavors/abc/", 1, 200, flavor_show, NULL, 1, { "abc" } },
	{ "flavor_list", C, M_GET, "/v2.1/flavors", 1, 200, flavor_list, NULL, 0, { 0 } },
	{ "flavor_list_slash", C, M_GET, "/v2.1/flavors/", 1, 200, flavor_list, NULL, 0, { 0 } },
	{ "flavor_delete", C, M_DELETE, "/v2.1/flavors/42", 1, 200, flavor_delete, NULL, 1, { "42" } },
	{ "extra_spec_show", C, M_GET, "/v2.1/flavors/f1/os-extra_specs/hw:cpu_policy", 1, 200, flavor_spec_show,
	  NULL, 2, { "f1", "hw:cpu_policy" } },
	{ "quota_detail", C, M_GET, "/v2.1/os-quota-sets/p1/detail", 1, 200, quota_detail, NULL, 1, { "p1" } },
	{ "quota_defaults", C, M_GET, "/v2.1/os-quota-sets/p1/defaults", 1, 200, quota_defaults, NULL, 1, { "p1" } },
	{ "quota_show", C, M_GET, "/v2.1/os-quota-sets/p1", 1, 200, quota_show, NULL, 1, { "p1" } },

	/* version documents: "/v2.1/" and "/v2.1" are the same resource */
	{ "compute_root", C, M_GET, "/", 1, 200, compute_versions, NULL, 0, { 0 } },
	{ "v21", C, M_GET, "/v2.1", 1, 200, compute_version_v21, NULL, 0, { 0 } },
	{ "v21_slash", C, M_GET, "/v2.1/", 1, 200, compute_version_v21, NULL, 0, { 0 } },
	{ "v21_slashes", C, M_GET, "/v2.1//", 1, 200, compute_version_v21, NULL, 0, { 0 } },

	/* unknown paths */
	{ "unknown", C, M_GET, "/v2.1/nope", 1, 404, NULL, NULL, 0, { 0 } },
	{ "unknown_root", C, M_GET, "/nope", 1, 404, NULL, NULL, 0, { 0 } },
	{ "too_deep", C, M_GET, "/v2.1/flavors/a/b", 1, 404, NULL, NULL, 0, { 0 } },
	{ "prefix_only", C, M_GET, "/v2.1/flavorsX", 1, 404, NULL, NULL, 0, { 0 } },
	{ "empty_param", C, M_GET, "/v2.1/flavors//os-extra_specs", 1, 404, NULL, NULL, 0, { 0 } },
	{ "other_service_path", C, M_GET, "/v3/users", 1, 404, NULL, NULL, 0, { 0 } },
	{ "compute_path_on_identity", I, M_GET, "/v2.1/flavors", 0, 404, NULL, NULL, 0, { 0 } },

	/* known path, wrong method */
	{ "flavors_delete_collection", C, M_DELETE, "/v2.1/flavors", 1, 405, NULL, NULL, 0, { 0 } },
	{ "flavor_patch", C, M_PATCH, "/v2.1/flavors/x", 1, 405, NULL, NULL, 0, { 0 } },
	{ "flavors_detail_post", C, M_POST, "/v2.1/flavors/detail", 1, 405, NULL, NULL, 0, { 0 } },
	{ "limits_post", C, M_POST, "/v2.1/limits", 1, 405, NULL, NULL, 0, { 0 } },

	/* microversion ranges: PUT /flavors/{id} only from 2.55 (Nova: 404 before) */
	{ "flavor_update_2_1", C, M_PUT, "/v2.1/flavors/x", 1, 404, NULL, NULL, 0, { 0 } },
	{ "flavor_update_2_54", C, M_PUT, "/v2.1/flavors/x", 54, 404, NULL, NULL, 0, { 0 } },
	{ "flavor_update_2_55", C, M_PUT, "/v2.1/flavors/x", 55, 200, flavor_update, flavor_update_v255, 1, { "x" } },
	{ "flavor_update_2_93", C, M_PUT, "/v2.1/flavors/x", 93, 200, flavor_update, flavor_update_v255, 1, { "x" } },
	{ "flavor_create_2_54", C, M_POST, "/v2.1/flavors", 54, 200, flavor_create, flavor_create_v21, 0, { 0 } },
	{ "flavor_create_2_55", C, M_POST, "/v2.1/flavors", 55, 200, flavor_create, flavor_create_v255, 0, { 0 } },
	{ "keypair_create_2_1", C, M_POST, "/v2.1/os-keypairs", 1, 200, keypair_create, keypair_create_v21, 0, { 0 } },
	{ "keypair_create_2_2", C, M_POST, "/v2.1/os-keypairs", 2, 200, keypair_create, keypair_create_v22, 0, { 0 } },
	{ "keypair_create_2_9", C, M_POST, "/v2.1/os-keypairs", 9, 200, keypair_create, keypair_create_v22, 0, { 0 } },
	{ "keypair_create_2_10", C, M_POST, "/v2.1/os-keypairs", 10, 200, keypair_create, keypair_create_v210, 0, { 0 } },
	{ "keypair_create_2_91", C, M_POST, "/v2.1/os-keypairs", 91, 200, keypair_create, keypair_create_v210, 0, { 0 } },
	{ "keypair_create_2_92", C, M_POST, "/v2.1/os-keypairs", 92, 200, keypair_create, keypair_create_v292, 0, { 0 } },
	{ "quota_update_2_35", C, M_PUT, "/v2.1/os-quota-sets/p", 35, 200, quota_update, quota_update_v21, 1, { "p" } },
	{ "quota_update_2_36", C, M_PUT, "/v2.1/os-quota-sets/p", 36, 200, quota_update, quota_update_v236, 1, { "p" } },
	{ "quota_update_2_57", C, M_PUT, "/v2.1/os-quota-sets/p", 57, 200, quota_update, quota_update_v257, 1, { "p" } },

	/* identity */
	{ "identity_root", I, M_GET, "/", 0, 200, identity_versions, NULL, 0, { 0 } },
	{ "v3", I, M_GET, "/v3", 0, 200, identity_v3, NULL, 0, { 0 } },
	{ "v3_slash", I, M_GET, "/v3/", 0, 200, identity_v3, NULL, 0, { 0 } },
	{ "token_issue", I, M_POST, "/v3/auth/tokens", 0, 200, token_issue, NULL, 0, { 0 } },
	{ "token_validate", I, M_GET, "/v3/auth/tokens", 0, 200, token_validate, NULL, 0, { 0 } },
	{ "token_check_head", I, M_HEAD, "/v3/auth/tokens", 0, 200, token_validate, NULL, 0, { 0 } },
	{ "token_patch", I, M_PATCH, "/v3/auth/tokens", 0, 405, NULL, NULL, 0, { 0 } },
	{ "grant_put", I, M_PUT, "/v3/projects/p1/users/u1/roles/r1", 0, 200, grant_put, NULL, 3, { "p1", "u1", "r1" } },
	{ "grant_check", I, M_HEAD, "/v3/projects/p1/users/u1/roles/r1", 0, 200, grant_check, NULL, 3,
	  { "p1", "u1", "r1" } },
	{ "grant_delete", I, M_DELETE, "/v3/projects/p1/users/u1/roles/r1", 0, 200, grant_delete, NULL, 3,
	  { "p1", "u1", "r1" } },
	{ "grant_post", I, M_POST, "/v3/projects/p1/users/u1/roles/r1", 0, 405, NULL, NULL, 0, { 0 } },
	{ "grant_list", I, M_GET, "/v3/projects/p1/users/u1/roles", 0, 200, grant_list, NULL, 2, { "p1", "u1" } },
	{ "domain_grant_put", I, M_PUT, "/v3/domains/d1/users/u1/roles/r1", 0, 200, grant_put, NULL, 3,
	  { "d1", "u1", "r1" } },
	{ "user_password_get", I, M_GET, "/v3/users/u1/password", 0, 405, NULL, NULL, 0, { 0 } },
	{ "user_password", I, M_POST, "/v3/users/u1/password", 0, 200, user_password, NULL, 1, { "u1" } },
	{ "user_show", I, M_GET, "/v3/users/u1", 0, 200, user_show, NULL, 1, { "u1" } },
};

static void run_case(void **state)
{
	const struct rcase *c = *state;
	struct req r;
	int status = -1;

	memset(&r, 0, sizeof(r));
	r.svc = c->svc;
	r.method = c->method;
	r.url = c->url;
	r.mv = c->mv;
	const struct route *rt = router_match(&r, &status);

	assert_int_equal(status, c->status);
	if (c->status != 200) {
		assert_null(rt);
		return;
	}
	assert_non_null(rt);
	assert_int_equal(rt->svc, c->svc);
	assert_true(rt->methods & c->method);
	if (rt->handler != c->handler)
		fail_msg("%s %s matched pattern %s (wrong handler)", c->name, c->url, rt->pattern);
	if (c->spec)
		assert_ptr_equal(rt->spec, c->spec);
	if (rt->mv_min)
		assert_true(c->mv >= rt->mv_min && c->mv <= rt->mv_max);
	assert_int_equal(r.nparams, c->nparams);
	for (int i = 0; i < c->nparams; i++) {
		assert_non_null(r.params[i]);
		assert_string_equal(r.params[i], c->p[i]);
		assert_string_equal(req_param(&r, i), c->p[i]);
	}
	assert_null(req_param(&r, c->nparams));
}

/* r->url is borrowed (from MHD): matching must not write to it. */
static void test_url_not_modified(void **state)
{
	(void)state;
	char url[] = "/v2.1/flavors/abc/";
	struct req r;
	int status;
	memset(&r, 0, sizeof(r));
	r.svc = SVC_COMPUTE;
	r.method = M_GET;
	r.url = url;
	r.mv = 1;
	assert_non_null(router_match(&r, &status));
	assert_string_equal(url, "/v2.1/flavors/abc/");
}

/* Oversized input is a clean 404, not an overflow of the fixed buffers. */
static void test_long_url_and_param(void **state)
{
	(void)state;
	struct req r;
	int status;
	char *url = malloc(4096);
	assert_non_null(url);

	memset(&r, 0, sizeof(r));
	r.svc = SVC_COMPUTE;
	r.method = M_GET;
	r.mv = 1;
	r.url = url;

	/* a url longer than router_match's 2048-byte copy */
	memset(url, 'a', 4095);
	url[0] = '/';
	url[4095] = '\0';
	status = 0;
	assert_null(router_match(&r, &status));
	assert_int_equal(status, 404);

	/* a single parameter longer than param_buf */
	strcpy(url, "/v2.1/flavors/");
	size_t l = strlen(url);
	memset(url + l, 'x', sizeof(r.param_buf) + 10);
	url[l + sizeof(r.param_buf) + 10] = '\0';
	status = 0;
	assert_null(router_match(&r, &status));
	assert_int_equal(status, 404);

	/* the longest parameter that fits still matches */
	url[l + sizeof(r.param_buf) - 1] = '\0';
	status = 0;
	const struct route *rt = router_match(&r, &status);
	assert_non_null(rt);
	assert_int_equal(status, 200);
	assert_ptr_equal(rt->handler, flavor_show);
	assert_int_equal(strlen(r.params[0]), sizeof(r.param_buf) - 1);
	free(url);
}

/* Every row of the table is reachable: the first row for its own pattern, method and
 * version wins, so an earlier row must not shadow a later one entirely. */
static void test_every_route_reachable(void **state)
{
	(void)state;
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *want = &routes[i];
		char url[512];
		const char *p = want->pattern;
		size_t n = 0;
		/* instantiate {x} as "x1" */
		while (*p && n + 4 < sizeof(url)) {
			if (*p == '{') {
				url[n++] = 'x';
				url[n++] = '1';
				p = strchr(p, '}') + 1;
			} else {
				url[n++] = *p++;
			}
		}
		url[n] = '\0';
		for (unsigned m = 1; m <= M_PATCH; m <<= 1) {
			if (!(want->methods & m))
				continue;
			struct req r;
			int status;
			memset(&r, 0, sizeof(r));
			r.svc = want->svc;
			r.method = (enum http_method)m;
			r.url = url;
			r.mv = want->mv_min ? want->mv_min : 1;
			const struct route *got = router_match(&r, &status);
			if (got != want)
				fail_msg("route %zu (%s, method %u, 2.%d) is shadowed by %s", i, want->pattern, m, r.mv,
					 got ? got->pattern : "nothing");
		}
	}
}

int main(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 3];
	for (size_t i = 0; i < n; i++) {
		tests[i] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
	}
	tests[n] = (struct CMUnitTest)cmocka_unit_test(test_url_not_modified);
	tests[n + 1] = (struct CMUnitTest)cmocka_unit_test(test_long_url_and_param);
	tests[n + 2] = (struct CMUnitTest)cmocka_unit_test(test_every_route_reachable);
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
