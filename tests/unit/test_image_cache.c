/* compute/image_cache.c without the network: the sweep (which bases go, which stay)
 * and the qemu-img check that refuses a base with a backing file; plus compute/proc.c's
 * time limit. qemu-img is Debian's (qemu-utils); the qemu-img tests skip, saying why,
 * without it. Each test works in its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "compute/image_cache.h"
#include "compute/proc.h"

#define ID_A "11111111-1111-1111-1111-111111111111"
#define ID_B "22222222-2222-2222-2222-222222222222"
#define ID_C "33333333-3333-3333-3333-333333333333"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nl-imgcache-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Creates dir/name with its mtime age_s seconds in the past. */
static void touch_aged(const char *name, long age_s)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age_s;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

static bool exists(const char *name)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Unused and old: removed with its format note. In use, or used recently: kept. An old
 * interrupted download: removed; a fresh one (in flight) kept. Other files: untouched. */
static void test_sweep(void **state)
{
	(void)state;
	touch_aged(ID_A, 7200);
	touch_aged(ID_A ".format", 7200);
	touch_aged(ID_B, 7200);
	touch_aged(ID_C, 10);
	touch_aged(ID_C ".part", 2 * 86400);
	touch_aged(ID_B ".part", 5);
	touch_aged("operator-notes.txt", 7200);
	const char *in_use[] = { ID_B };
	assert_int_equal(image_cache_sweep(dir, in_use, 1, 3600), 2);
	assert_false(exists(ID_A));
	assert_false(exists(ID_A ".format"));
	assert_true(exists(ID_B));
	assert_true(exists(ID_C));
	assert_false(exists(ID_C ".part"));
	assert_true(exists(ID_B ".part"));
	assert_true(exists("operator-notes.txt"));
	/* min age 0: everything unused goes */
	assert_int_equal(image_cache_sweep(dir, in_use, 1, 0), 1);
	assert_false(exists(ID_C));
	assert_true(exists(ID_B));
	/* a missing cache dir is nothing to sweep */
	assert_int_equal(image_cache_sweep("/nonexistent/novalite-cache", NULL, 0, 0), 0);
}

static bool have_qemu_img(void)
{
	return system("qemu-img --version >/dev/null 2>&1") == 0;
}

/* qemu-img info read with the declared format: the virtual size, and the backing file
 * that makes image_cache_fetch refuse an image. */
static void test_qemu_info(void **state)
{
	char base[400], top[400], cmd[1200], backing[512];
	struct nl_error err = { 0 };
	long long vsize = 0;
	(void)state;
	if (!have_qemu_img()) {
		print_message("qemu-img is not installed (apt-get install qemu-utils): skipped\n");
		skip();
	}
	snprintf(base, sizeof(base), "%s/base.qcow2", dir);
	snprintf(top, sizeof(top), "%s/top.qcow2", dir);
	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 '%s' 64M && "
				   "qemu-img create -q -f qcow2 -F qcow2 -b '%s' '%s' 128M", base, base, top);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(image_qemu_info(base, "qcow2", &vsize, backing, sizeof(backing), &err), 0);
	assert_int_equal(vsize, 64LL << 20);
	assert_string_equal(backing, "");
	assert_int_equal(image_qemu_info(top, "qcow2", &vsize, backing, sizeof(backing), &err), 0);
	assert_int_equal(vsize, 128LL << 20);
	assert_string_equal(backing, base);
	/* read as raw, a qcow2 is just bytes: no backing file can be smuggled in that way */
	assert_int_equal(image_qemu_info(top, "raw", &vsize, backing, sizeof(backing), &err), 0);
	assert_string_equal(backing, "");
	/* not a qcow2 at all */
	snprintf(cmd, sizeof(cmd), "%s/junk", dir);
	FILE *f = fopen(cmd, "w");
	fputs("not an image", f);
	fclose(f);
	assert_int_equal(image_qemu_info(cmd, "qcow2", &vsize, backing, sizeof(backing), &err), -1);
	assert_non_null(strstr(err.msg, "qemu-img could not read"));
}

/* proc_run: output captured, exit status returned, a program past its limit killed. */
static void test_proc(void **state)
{
	char out[64];
	struct nl_error err = { 0 };
	(void)state;
	const char *echo[] = { "sh", "-c", "echo hello; exit 3", NULL };
	assert_int_equal(proc_run(echo, out, sizeof(out), 5000, &err), 3);
	assert_string_equal(out, "hello\n");
	const char *slow[] = { "sleep", "10", NULL };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(proc_run(slow, NULL, 0, 200, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	assert_non_null(strstr(err.msg, "was killed"));
	const char *missing[] = { "novalite-no-such-program", NULL };
	assert_int_equal(proc_run(missing, out, sizeof(out), 5000, &err), -1);
	assert_non_null(strstr(err.msg, "not installed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qemu_info, setup, teardown),
		cmocka_unit_test(test_proc),
	};
	return cmocka_run_group_tests_name("image_cache", tests, NULL, NULL);
}
