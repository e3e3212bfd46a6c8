/* microversion_negotiate() (api/microversion.c).
 *
 * Expected results were taken from Nova 26.2 itself (python3-nova on Debian 12):
 * nova.api.openstack.wsgi.Request.set_api_version_request() given the same
 * OpenStack-API-Version / X-OpenStack-Nova-API-Version headers.
 *
 * Cases under bug_cases pin divergences from Nova that were found and fixed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/microversion.h"

struct mcase {
	const char *name;
	const char *new_hdr;   /* OpenStack-API-Version, NULL = absent */
	const char *legacy;    /* X-OpenStack-Nova-API-Version, NULL = absent */
	int status;            /* 0 = accepted */
	int mv;                /* minor version when accepted */
	const char *msg;       /* error text otherwise */
};

#define BADFMT(v) "API Version String " v " is of invalid format. Must be of format MajorNum.MinorNum."
#define UNSUP(v) "Version " v " is not supported by the API. Minimum is 2.1 and maximum is 2.93."

static const struct mcase cases[] = {
	{ "no_headers", NULL, NULL, 0, 1, NULL },
	{ "empty_new_header", "", NULL, 0, 1, NULL },
	{ "new_header", "compute 2.55", NULL, 0, 55, NULL },
	{ "new_header_wins_over_legacy", "compute 2.55", "2.10", 0, 55, NULL },
	{ "legacy_alone", NULL, "2.10", 0, 10, NULL },
	{ "legacy_latest", NULL, "latest", 0, 93, NULL },
	{ "new_latest", "compute latest", NULL, 0, 93, NULL },
	{ "min", NULL, "2.1", 0, 1, NULL },
	{ "max", NULL, "2.93", 0, 93, NULL },
	{ "service_name_case", "Compute 2.5", NULL, 0, 5, NULL },
	{ "extra_space", "compute  2.5", NULL, 0, 5, NULL },
	{ "other_services_first", "image 2.5, compute 2.10", NULL, 0, 10, NULL },
	{ "other_services_after", "compute 2.1, image 2.5", NULL, 0, 1, NULL },
	{ "other_service_only_uses_legacy", "image 2.5", "2.10", 0, 10, NULL },
	{ "other_service_only", "volume 3.0", NULL, 0, 1, NULL },
	{ "compute_without_version", "compute", NULL, 0, 1, NULL },
	{ "compute_without_version_legacy", "compute ", "2.3", 0, 3, NULL },

	{ "bad_no_minor", NULL, "2", 400, 0, BADFMT("2") },
	{ "bad_minor_letter", NULL, "2.x", 400, 0, BADFMT("2.x") },
	{ "bad_leading_zero_major", NULL, "02.1", 400, 0, BADFMT("02.1") },
	{ "bad_leading_zero_minor", NULL, "2.01", 400, 0, BADFMT("2.01") },
	{ "bad_three_parts", NULL, "2.1.1", 400, 0, BADFMT("2.1.1") },
	{ "bad_negative_major", NULL, "-2.1", 400, 0, BADFMT("-2.1") },
	{ "bad_negative_minor", NULL, "2.-1", 400, 0, BADFMT("2.-1") },
	{ "bad_in_new_header", "compute 2.x", "2.5", 400, 0, BADFMT("2.x") },

	{ "unsupported_2_999", NULL, "2.999", 406, 0, UNSUP("2.999") },
	{ "unsupported_2_94", NULL, "2.94", 406, 0, UNSUP("2.94") },
	{ "unsupported_3_0", NULL, "3.0", 406, 0, UNSUP("3.0") },
	{ "unsupported_2_0", NULL, "2.0", 406, 0, UNSUP("2.0") },
	{ "unsupported_1_1", NULL, "1.1", 406, 0, UNSUP("1.1") },
	{ "unsupported_new_header", "compute 3.0", NULL, 406, 0, UNSUP("3.0") },
};

/* Divergences from Nova found in api/microversion.c, now fixed (regression cases):
 *  big_minor, huge_major
 *      api/microversion.c:64-69 -- a minor above 100000 is called malformed (400), and a major
 *      beyond LONG_MAX is clamped by strtol and printed as 9223372036854775807; Nova parses
 *      any digits (Python int) and answers 406 with the version as given.
 *  latest_upper_case
 *      api/microversion.c:52 -- strcasecmp accepts "LATEST"; Nova compares with 'latest'
 *      exactly and answers 400.
 *  empty_legacy
 *      api/microversion.c:46 -- a present but empty legacy header is treated as absent (2.1);
 *      Nova answers 400 "API Version String  is of invalid format...".
 *  repeated_compute
 *      api/microversion.c:33 -- with "compute 2.5,compute 2.7" the first wins; Nova
 *      (microversion_parse) keeps the last. */
static const struct mcase bug_cases[] = {
	{ "big_minor", NULL, "2.100001", 406, 0, UNSUP("2.100001") },
	{ "huge_major", NULL, "20000000000000000000.1", 406, 0, UNSUP("20000000000000000000.1") },
	{ "latest_upper_case", NULL, "LATEST", 400, 0, BADFMT("LATEST") },
	{ "empty_legacy", NULL, "", 400, 0, BADFMT("") },
	{ "repeated_compute", "compute 2.5,compute 2.7", NULL, 0, 7, NULL },
};

static void run_case(void **state)
{
	const struct mcase *c = *state;
	struct nl_error err;
	int mv = -12345;

	memset(&err, 0, sizeof(err));
	int rc = microversion_negotiate(c->new_hdr, c->legacy, &mv, &err);
	if (c->status == 0) {
		if (rc)
			fail_msg("rejected: %d %s", err.status, err.msg);
		assert_int_equal(mv, c->mv);
		assert_int_equal(err.status, 0);
	} else {
		if (rc == 0)
			fail_msg("accepted as 2.%d; expected %d", mv, c->status);
		assert_int_equal(rc, -1);
		assert_int_equal(err.status, c->status);
		assert_string_equal(err.msg, c->msg);
	}
}

/* Every version in range is accepted, from either header. */
static void test_full_range(void **state)
{
	(void)state;
	for (int i = MV_MIN; i <= MV_MAX; i++) {
		char legacy[16], hdr[32];
		struct nl_error err = { 0 };
		int mv = 0;
		snprintf(legacy, sizeof(legacy), "2.%d", i);
		snprintf(hdr, sizeof(hdr), "compute 2.%d", i);
		assert_int_equal(microversion_negotiate(NULL, legacy, &mv, &err), 0);
		assert_int_equal(mv, i);
		mv = 0;
		assert_int_equal(microversion_negotiate(hdr, NULL, &mv, &err), 0);
		assert_int_equal(mv, i);
	}
	assert_int_equal(MV_MIN, 1);
	assert_int_equal(MV_MAX, 93);
}

int main(void)
{
	enum { N = sizeof(cases) / sizeof(cases[0]), B = sizeof(bug_cases) / sizeof(bug_cases[0]) };
	struct CMUnitTest tests[N + B + 1];
	static char bug_names[B][64];
	for (size_t i = 0; i < N; i++)
		tests[i] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
	tests[N] = (struct CMUnitTest)cmocka_unit_test(test_full_range);
	for (size_t i = 0; i < B; i++) {
		snprintf(bug_names[i], sizeof(bug_names[i]), "regress/%s", bug_cases[i].name);
		tests[N + 1 + i] = (struct CMUnitTest){ bug_names[i], run_case, NULL, NULL, (void *)&bug_cases[i] };
	}
	return cmocka_run_group_tests_name("microversion", tests, NULL, NULL);
}
