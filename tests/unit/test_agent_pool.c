/* compute/agent_pool.c without HTTP or libvirt: the ops record what ran when. One
 * instance's tasks never overlap and keep their order; different instances overlap up
 * to the worker count; a result refused with "retry" waits in its lane (the instance's
 * next task with it) while other lanes go on; holds refuse busy instances. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "compute/agent_pool.h"

#define MAXLOG 64

static struct rec {
	pthread_mutex_t mu;
	int running, max_running;
	int run_ms;                 /* each run() sleeps this long */
	long long ran[MAXLOG];      /* task ids in the order run() started */
	int nran;
	long long posted[MAXLOG];   /* ids in the order they were accepted */
	int nposted;
	long long refuse_id;        /* post() answers RETRY for it ... */
	int refuse_times;           /* ... this many times */
	int refused;
	bool overlap_a;             /* two tasks of lane A ran at once */
	int running_a;
} R;

static void reset(int run_ms)
{
	pthread_mutex_destroy(&R.mu);
	memset(&R, 0, sizeof(R));
	pthread_mutex_init(&R.mu, NULL);
	R.run_ms = run_ms;
	R.refuse_id = -1;
}

static void *w_new(void *arg, int i)
{
	(void)arg;
	return (void *)(intptr_t)(i + 1);
}
static void w_free(void *arg, void *w) { (void)arg; (void)w; }
static void w_cancel(void *arg, void *w) { (void)arg; (void)w; }

static void sleep_ms(int ms)
{
	struct timespec d = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&d, NULL);
}

static json_t *run(void *arg, void *w, json_t *task, long long *id)
{
	(void)arg;
	(void)w;
	bool a = !strcmp(json_string_value(json_object_get(task, "lane")), "A");
	pthread_mutex_lock(&R.mu);
	R.ran[R.nran++] = *id;
	if (++R.running > R.max_running)
		R.max_running = R.running;
	if (a && R.running_a++)
		R.overlap_a = true;
	pthread_mutex_unlock(&R.mu);
	sleep_ms(R.run_ms);
	pthread_mutex_lock(&R.mu);
	R.running--;
	if (a)
		R.running_a--;
	pthread_mutex_unlock(&R.mu);
	return json_pack("{s:I}", "id", (json_int_t)*id);
}

static enum pool_post post(void *arg, void *w, long long id, json_t *result, int attempt)
{
	(void)arg;
	(void)w;
	(void)attempt;
	assert_int_equal(json_integer_value(json_object_get(result, "id")), id);
	pthread_mutex_lock(&R.mu);
	enum pool_post r = POOL_POSTED;
	if (id == R.refuse_id && R.refused < R.refuse_times) {
		R.refused++;
		r = POOL_RETRY;
	} else {
		R.posted[R.nposted++] = id;
	}
	pthread_mutex_unlock(&R.mu);
	return r;
}

static const struct agent_pool_ops OPS = {
	.worker_new = w_new, .worker_free = w_free, .worker_cancel = w_cancel, .run = run, .post = post,
};

static void submit(struct agent_pool *p, const char *lane, long long id)
{
	agent_pool_submit(p, lane, id, json_pack("{s:s, s:I}", "lane", lane, "id", (json_int_t)id));
}

static int posted_count(void)
{
	pthread_mutex_lock(&R.mu);
	int n = R.nposted;
	pthread_mutex_unlock(&R.mu);
	return n;
}

static void wait_posted(int n, int timeout_ms)
{
	for (int t = 0; posted_count() < n && t < timeout_ms; t += 5)
		sleep_ms(5);
	assert_int_equal(posted_count(), n);
}

static int index_of(const long long *v, int n, long long id)
{
	for (int i = 0; i < n; i++)
		if (v[i] == id)
			return i;
	return -1;
}

static void test_one_lane_in_order_lanes_overlap(void **state)
{
	(void)state;
	reset(50);
	struct nl_error err = { 0 };
	struct agent_pool *p = agent_pool_start(&OPS, 3, &err);
	assert_non_null(p);
	for (long long i = 1; i <= 4; i++)
		submit(p, "A", i);
	submit(p, "B", 10);
	submit(p, "C", 20);
	submit(p, "D", 30);
	submit(p, "A", 2);          /* leased again while queued: ignored */
	wait_posted(7, 5000);
	assert_false(R.overlap_a);
	for (int i = 0; i < 3; i++)
		assert_true(index_of(R.ran, R.nran, i + 1) < index_of(R.ran, R.nran, i + 2));
	assert_int_equal(R.nran, 7);
	assert_int_equal(R.max_running, 3);   /* B, C, D beside A, bounded by the workers */
	agent_pool_stop(p);
}

static void test_retried_result_holds_its_lane_only(void **state)
{
	(void)state;
	reset(1);
	R.refuse_id = 1;
	R.refuse_times = 2;         /* due again after 1 s, then 2 s */
	struct nl_error err = { 0 };
	struct agent_pool *p = agent_pool_start(&OPS, 1, &err);   /* one worker: it must not sleep on A */
	assert_non_null(p);
	submit(p, "A", 1);
	submit(p, "A", 2);
	submit(p, "B", 10);
	wait_posted(1, 2000);
	assert_int_equal(R.posted[0], 10);    /* B went on while A's result waited */
	assert_int_equal(R.nran, 2);          /* A's second task did not start */
	size_t running, queued, retrying;
	agent_pool_counts(p, &running, &queued, &retrying);
	assert_int_equal(queued, 1);
	assert_int_equal(retrying, 1);
	assert_false(agent_pool_try_hold(p, "A", 0));   /* no report before the result */
	wait_posted(3, 8000);
	assert_int_equal(R.refused, 2);
	assert_int_equal(R.posted[1], 1);
	assert_int_equal(R.posted[2], 2);
	agent_pool_stop(p);
}

static void test_holds(void **state)
{
	(void)state;
	reset(300);
	struct nl_error err = { 0 };
	struct agent_pool *p = agent_pool_start(&OPS, 2, &err);
	assert_non_null(p);
	assert_true(agent_pool_try_hold(NULL, "X", 0));   /* no pool yet: the caller is alone */
	unsigned long long since = agent_pool_lease_seq(p);
	assert_true(agent_pool_try_hold(p, "H", 0));
	submit(p, "H", 5);          /* waits for the holder */
	submit(p, "A", 6);
	sleep_ms(100);
	assert_int_equal(R.nran, 1);
	assert_false(agent_pool_try_hold(p, "A", 0));     /* running */
	agent_pool_reconcile_begin(p);
	agent_pool_release(p, "H");
	wait_posted(2, 3000);
	/* Both got a task after `since`: a reconcile that read its list before must skip them. */
	assert_false(agent_pool_try_hold(p, "A", since));
	assert_true(agent_pool_try_hold(p, "A", 0));
	agent_pool_release(p, "A");
	agent_pool_reconcile_end(p);
	assert_true(agent_pool_try_hold(p, "A", since));  /* forgotten once no reconcile needs it */
	agent_pool_release(p, "A");
	agent_pool_stop(p);
}

static void test_stop_joins_running_and_drops_queued(void **state)
{
	(void)state;
	reset(200);
	struct nl_error err = { 0 };
	struct agent_pool *p = agent_pool_start(&OPS, 1, &err);
	assert_non_null(p);
	submit(p, "A", 1);
	submit(p, "A", 2);
	sleep_ms(50);
	agent_pool_stop(p);         /* waits for task 1, never starts task 2 */
	assert_int_equal(R.nran, 1);
	assert_int_equal(R.running, 0);
}

int main(void)
{
	pthread_mutex_init(&R.mu, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_lane_in_order_lanes_overlap),
		cmocka_unit_test(test_retried_result_holds_its_lane_only),
		cmocka_unit_test(test_holds),
		cmocka_unit_test(test_stop_joins_running_and_drops_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
