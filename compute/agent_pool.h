/* The agent's task pool: tasks run concurrently across instances, in order within one.
 *
 * Every instance that has work gets a lane: a FIFO of its leased tasks and at most one
 * result waiting to be delivered again. A lane is busy while a worker runs its task and
 * posts the result, or while someone else holds it (agent_pool_try_hold: the watcher
 * reporting a power state, the reconcile restoring a domain). A worker takes the oldest
 * lane that is not busy and has a task to run or a result due again, so:
 *   - at most one task per instance runs at a time, in lease order, and its result is
 *     delivered (or given up) before the instance's next task starts;
 *   - nothing about an instance is reported while a task of it runs or its result waits:
 *     a report never overtakes the result of the task that caused it;
 *   - at most `workers` tasks run at once on the whole agent (max_concurrent_tasks);
 *   - a result the API could not take (unreachable, 5xx, 408, 429) waits in its lane,
 *     due again after a back-off doubling from 1 s to 30 s, and no worker sleeps on it:
 *     the other instances go on.
 * The dispatcher (the long poll) only queues: it never waits for a worker.
 *
 * The pool knows nothing of HTTP or libvirt: the agent's ops do the work (compute/agent.c).
 * Ownership: submitted tasks are stolen; run() returns a new result body. */
#ifndef NL_AGENT_POOL_H
#define NL_AGENT_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

/* What post() says about a result. */
enum pool_post {
	POOL_POSTED,        /* accepted, or refused for good (404, other 4xx): forget it */
	POOL_RETRY,         /* not taken now (unreachable, 5xx, 408, 429): try again later */
	POOL_CANCELLED,     /* the agent is stopping */
};

struct agent_pool_ops {
	void *arg;
	/* Per-worker state (its own HTTP client): made on the worker's thread before its first
	 * task, freed on it after the last. NULL: the worker cannot start (logged). */
	void *(*worker_new)(void *arg, int index);
	void (*worker_free)(void *arg, void *worker);
	/* Any thread: makes the worker's request in progress, and every later one, return. */
	void (*worker_cancel)(void *arg, void *worker);
	/* Runs task (borrowed) and returns the result body to post (new reference), or NULL
	 * when there is nothing to post (a task without an id). */
	json_t *(*run)(void *arg, void *worker, json_t *task, long long *id);
	/* Posts result (borrowed) for task id. attempt counts from 1. */
	enum pool_post (*post)(void *arg, void *worker, long long id, json_t *result, int attempt);
};

struct agent_pool;

/* Starts `workers` threads (at least 1). NULL with err when no thread could start. */
struct agent_pool *agent_pool_start(const struct agent_pool_ops *ops, int workers, struct nl_error *err);

/* Queues task (stolen) on the lane of instance uuid (any non-empty key: a task without a
 * valid instance gets a key of its own). A task whose id is already queued, running or
 * waiting on that lane is dropped (the API handed it out again). */
void agent_pool_submit(struct agent_pool *p, const char *uuid, long long id, json_t *task);

/* A counter bumped by every submit: a reconcile notes it before asking the API what the
 * host should run, and try_hold(.., since) refuses instances leased after that. */
unsigned long long agent_pool_lease_seq(struct agent_pool *p);

/* Holds instance uuid when nothing of it runs, waits to run or waits to be delivered
 * (and, with since > 0, when it got no task after lease sequence since): true, and its
 * tasks wait until agent_pool_release(). false at once otherwise: the caller skips it or
 * tries again later. A NULL pool holds everything (before the workers start). */
bool agent_pool_try_hold(struct agent_pool *p, const char *uuid, unsigned long long since);
void agent_pool_release(struct agent_pool *p, const char *uuid);

/* A reconcile in progress keeps the lease history of finished lanes (try_hold's since
 * needs it); end forgets it again. Calls nest. */
void agent_pool_reconcile_begin(struct agent_pool *p);
void agent_pool_reconcile_end(struct agent_pool *p);

/* Counts, for logs and tests: tasks running, tasks queued, results waiting. */
void agent_pool_counts(struct agent_pool *p, size_t *running, size_t *queued, size_t *retrying);

/* Stops taking work, cancels every worker's requests, lets the running tasks finish
 * (their results, if not delivered, stay leased: the API hands them out again when the
 * agent registers) and joins the threads. Queued tasks are dropped the same way. NULL
 * is a no-op. */
void agent_pool_stop(struct agent_pool *p);

#endif
