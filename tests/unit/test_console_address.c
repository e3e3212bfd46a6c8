/* internal_console_address_ok() and internal_ip_literal() (api/internal/agent_identity.c):
 * the console addresses an agent may report (docs/agent-protocol.md, Result). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "api/internal/internal.h"

static const struct { const char *addr, *vnc_listen; bool ok; } cases[] = {
	{ "127.0.0.1:5900", NULL, true },
	{ "127.1.2.3:65535", NULL, true },
	{ "localhost:5901", NULL, true },
	{ "[::1]:5902", NULL, true },
	{ "192.0.2.10:5905", "192.0.2.10", true },
	{ "[2001:db8::1]:5900", "2001:db8::1", true },
	{ "[2001:db8:0::1]:5900", "2001:db8::1", true },   /* same address, other spelling */
	{ "192.0.2.11:5905", "192.0.2.10", false },
	{ "192.0.2.10:5905", NULL, false },
	{ "evil.example:5900", NULL, false },
	{ "evil.example:5900", "evil.example", false },
	{ "10.9.8.7:5900", "127.0.0.1", false },
	{ "127.0.0.1", NULL, false },
	{ "127.0.0.1:", NULL, false },
	{ "127.0.0.1:0", NULL, false },
	{ "127.0.0.1:65536", NULL, false },
	{ "127.0.0.1:123456", NULL, false },
	{ "127.0.0.1:+590", NULL, false },
	{ "127.0.0.1:59x", NULL, false },
	{ "127.0.0.1:5900/x", NULL, false },
	{ " 127.0.0.1:5900", NULL, false },
	{ "user@127.0.0.1:5900", NULL, false },
	{ "[::2]:5900", NULL, false },
	{ "[::1]5900", NULL, false },
	{ "::1:5900", NULL, false },
	{ "[127.0.0.1]:5900", NULL, false },
	{ "", NULL, false },
};

static void test_console_address_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (internal_console_address_ok(cases[i].addr, cases[i].vnc_listen) != cases[i].ok)
			fail_msg("'%s' with vnc_listen %s: want %s", cases[i].addr,
				 cases[i].vnc_listen ? cases[i].vnc_listen : "none", cases[i].ok ? "ok" : "refused");
	assert_false(internal_console_address_ok(NULL, NULL));
}

static void test_ip_literal(void **state)
{
	(void)state;
	assert_true(internal_ip_literal("127.0.0.1"));
	assert_true(internal_ip_literal("0.0.0.0"));
	assert_true(internal_ip_literal("fe80::1"));
	assert_false(internal_ip_literal("localhost"));
	assert_false(internal_ip_literal("evil.example"));
	assert_false(internal_ip_literal("[::1]"));
	assert_false(internal_ip_literal(""));
	assert_false(internal_ip_literal(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_console_address_table),
		cmocka_unit_test(test_ip_literal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
