/* compute/kvm_guard.c: the decision, as a table. A KVM guest paused by QEMU itself or
 * crashed trips at once; a silent guest trips only after the silence time and only
 * while its vCPUs burn; TCG guests, guests with console output, a guard set to 0 and a
 * guest not yet seen running never trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "compute/kvm_guard.h"

#define S 1000000000ULL   /* ns per s */

static void test_decide_table(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		struct virt_guard_info info;
		long long first_ms, now_ms;
		unsigned long long cpu0_ns;
		int want;
		const char *in_reason;
	} cases[] = {
		{ "paused by QEMU", { .kvm = true, .failed = true, .state = "paused (unknown)", .silence_s = 60 },
		  0, 1000, 0, 1, "paused (unknown)" },
		{ "crashed", { .kvm = true, .failed = true, .state = "crashed", .silence_s = 0 }, -1, 0, 0, 1, "crashed" },
		{ "TCG guest paused", { .kvm = false, .failed = true, .state = "paused (unknown)" }, 0, 1000, 0, 0, NULL },
		{ "silent, spinning, long enough",
		  { .kvm = true, .running = true, .cpu_time_ns = 61 * S, .silence_s = 60 }, 0, 61000, 0, 1,
		  "wrote nothing to its console in 61 s" },
		{ "silent, spinning, not yet",
		  { .kvm = true, .running = true, .cpu_time_ns = 30 * S, .silence_s = 60 }, 0, 30000, 0, 0, NULL },
		{ "silent but idle (vCPU halted)",
		  { .kvm = true, .running = true, .cpu_time_ns = 2 * S, .silence_s = 60 }, 0, 90000, 0, 0, NULL },
		{ "console output", { .kvm = true, .running = true, .cpu_time_ns = 99 * S, .console_bytes = 10,
		  .silence_s = 60 }, 0, 90000, 0, 0, NULL },
		{ "guard off", { .kvm = true, .running = true, .cpu_time_ns = 99 * S, .silence_s = 0 }, 0, 90000, 0, 0,
		  NULL },
		{ "never seen running", { .kvm = true, .running = true, .cpu_time_ns = 99 * S, .silence_s = 60 }, -1,
		  90000, 0, 0, NULL },
		{ "not running (shut off by the user)", { .kvm = true, .running = false, .silence_s = 60 }, 0, 90000, 0, 0,
		  NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char reason[512] = "";
		int got = kvm_guard_decide(&cases[i].info, cases[i].first_ms, cases[i].cpu0_ns, cases[i].now_ms,
					   "instance-00000001", reason, sizeof(reason));
		if (got != cases[i].want)
			fail_msg("%s: got %d, want %d (%s)", cases[i].what, got, cases[i].want, reason);
		if (cases[i].in_reason && !strstr(reason, cases[i].in_reason))
			fail_msg("%s: reason '%s' lacks '%s'", cases[i].what, reason, cases[i].in_reason);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_table),
	};
	return cmocka_run_group_tests_name("kvm_guard", tests, NULL, NULL);
}
