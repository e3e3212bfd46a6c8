/* See agent_pool.h. One mutex guards every lane and counter; workers drop it while they
 * run a task or post a result, and the lane they work on stays busy meanwhile, so no
 * other thread touches that instance. No HTTP, no libvirt here. */
#include "compute/agent_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

struct lane {
	char key[64];                 /* the instance uuid */
	json_t **tasks;               /* FIFO, tasks[0] next; ids[] beside them */
	long long *ids;
	size_t ntasks, cap;
	long long running_id;         /* -1: none */
	bool busy;                    /* a worker or a holder has it */
	bool held;                    /* ... and it is a holder */
	json_t *pending;              /* a result waiting to be delivered again */
	long long pending_id;
	int attempts;
	long long due_ms;
	long backoff_ms;
	unsigned long long last_seq;  /* lease sequence of its latest task */
};

struct worker_slot {
	struct agent_pool *p;
	int index;
	pthread_t thread;
	bool started;
	void *ctx;                    /* ops.worker_new()'s, under mu */
};

struct agent_pool {
	struct agent_pool_ops ops;
	pthread_mutex_t mu;
	pthread_cond_t cv;            /* CLOCK_MONOTONIC: work queued, a lane freed, stop */
	struct lane **lanes;          /* oldest first */
	size_t nlanes, cap;
	unsigned long long seq;
	int reconciling;
	bool stop;
	size_t running;
	struct worker_slot *slots;
	int nslots;
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- lanes (mu held) ------------------------------------------------------------------------ */

static struct lane *lane_find(struct agent_pool *p, const char *key)
{
	for (size_t i = 0; i < p->nlanes; i++)
		if (!strcmp(p->lanes[i]->key, key))
			return p->lanes[i];
	return NULL;
}

static struct lane *lane_get(struct agent_pool *p, const char *key)
{
	struct lane *l = lane_find(p, key);
	if (l)
		return l;
	if (p->nlanes == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->lanes = nl_realloc(p->lanes, p->cap * sizeof(*p->lanes));
	}
	l = nl_calloc(1, sizeof(*l));
	snprintf(l->key, sizeof(l->key), "%s", key);
	l->running_id = -1;
	l->backoff_ms = RETRY_MIN_MS;
	p->lanes[p->nlanes++] = l;
	return l;
}

static void lane_free(struct lane *l)
{
	for (size_t i = 0; i < l->ntasks; i++)
		json_decref(l->tasks[i]);
	json_decref(l->pending);
	free(l->tasks);
	free(l->ids);
	free(l);
}

/* Lanes with nothing left go, unless a reconcile needs their lease history. */
static void lanes_gc(struct agent_pool *p)
{
	if (p->reconciling)
		return;
	size_t o = 0;
	for (size_t i = 0; i < p->nlanes; i++) {
		struct lane *l = p->lanes[i];
		if (!l->busy && !l->pending && !l->ntasks)
			lane_free(l);
		else
			p->lanes[o++] = l;
	}
	p->nlanes = o;
}

static bool lane_has(const struct lane *l, long long id)
{
	if (l->running_id == id || (l->pending && l->pending_id == id))
		return true;
	for (size_t i = 0; i < l->ntasks; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

/* The oldest lane a worker can take now; *next_due: the earliest later retry, or -1. */
static struct lane *lane_pick(struct agent_pool *p, long long now, long long *next_due)
{
	*next_due = -1;
	for (size_t i = 0; i < p->nlanes; i++) {
		struct lane *l = p->lanes[i];
		if (l->busy)
			continue;
		if (l->pending) {
			if (l->due_ms <= now)
				return l;
			if (*next_due < 0 || l->due_ms < *next_due)
				*next_due = l->due_ms;
		} else if (l->ntasks) {
			return l;
		}
	}
	return NULL;
}

/* ---- workers -------------------------------------------------------------------------------- */

static void wait_until(struct agent_pool *p, long long due_ms)
{
	if (due_ms < 0) {
		pthread_cond_wait(&p->cv, &p->mu);
		return;
	}
	struct timespec ts = { due_ms / 1000, (due_ms % 1000) * 1000000L };
	pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

static void *worker_main(void *arg)
{
	struct worker_slot *s = arg;
	struct agent_pool *p = s->p;
	void *ctx = p->ops.worker_new(p->ops.arg, s->index);

	pthread_mutex_lock(&p->mu);
	s->ctx = ctx;
	if (p->stop && ctx)
		p->ops.worker_cancel(p->ops.arg, ctx);
	while (ctx && !p->stop) {
		long long now = mono_ms(), due;
		struct lane *l = lane_pick(p, now, &due);
		if (!l) {
			wait_until(p, due);
			continue;
		}
		l->busy = true;
		p->running++;
		json_t *result;
		long long id;
		int attempt;
		enum pool_post r = POOL_POSTED;
		if (l->pending) {
			result = l->pending;
			id = l->pending_id;
			l->pending = NULL;
			attempt = ++l->attempts;
			pthread_mutex_unlock(&p->mu);
			r = p->ops.post(p->ops.arg, ctx, id, result, attempt);
		} else {
			json_t *task = l->tasks[0];
			id = l->ids[0];
			memmove(l->tasks, l->tasks + 1, (l->ntasks - 1) * sizeof(*l->tasks));
			memmove(l->ids, l->ids + 1, (l->ntasks - 1) * sizeof(*l->ids));
			l->ntasks--;
			l->running_id = id;
			l->attempts = 1;
			l->backoff_ms = RETRY_MIN_MS;
			pthread_mutex_unlock(&p->mu);
			result = p->ops.run(p->ops.arg, ctx, task, &id);
			json_decref(task);
			if (result)
				r = p->ops.post(p->ops.arg, ctx, id, result, 1);
		}
		pthread_mutex_lock(&p->mu);
		if (r == POOL_RETRY && result && !p->stop) {
			l->pending = result;
			l->pending_id = id;
			l->due_ms = mono_ms() + l->backoff_ms;
			l->backoff_ms = l->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : l->backoff_ms * 2;
		} else {
			json_decref(result);
			l->attempts = 0;
		}
		l->running_id = -1;
		l->busy = false;
		p->running--;
		lanes_gc(p);
		pthread_cond_broadcast(&p->cv);
	}
	s->ctx = NULL;
	pthread_mutex_unlock(&p->mu);
	if (ctx)
		p->ops.worker_free(p->ops.arg, ctx);
	return NULL;
}

struct agent_pool *agent_pool_start(const struct agent_pool_ops *ops, int workers, struct nl_error *err)
{
	struct agent_pool *p = nl_calloc(1, sizeof(*p));
	pthread_condattr_t ca;

	p->ops = *ops;
	p->seq = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	p->nslots = workers < 1 ? 1 : workers;
	p->slots = nl_calloc((size_t)p->nslots, sizeof(*p->slots));
	int started = 0;
	for (int i = 0; i < p->nslots; i++) {
		p->slots[i] = (struct worker_slot){ .p = p, .index = i };
		if (pthread_create(&p->slots[i].thread, NULL, worker_main, &p->slots[i]) == 0) {
			p->slots[i].started = true;
			started++;
		}
	}
	if (!started) {
		nl_err_set(err, 500, "Cannot start any task worker thread.");
		agent_pool_stop(p);
		return NULL;
	}
	if (started < p->nslots)
		log_warn("only %d of %d task workers could start", started, p->nslots);
	return p;
}

void agent_pool_submit(struct agent_pool *p, const char *uuid, long long id, json_t *task)
{
	pthread_mutex_lock(&p->mu);
	struct lane *l = lane_get(p, uuid);
	if (lane_has(l, id)) {
		pthread_mutex_unlock(&p->mu);
		log_debug("task %lld is already with this agent: the second lease is ignored", id);
		json_decref(task);
		return;
	}
	if (l->ntasks == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->tasks = nl_realloc(l->tasks, l->cap * sizeof(*l->tasks));
		l->ids = nl_realloc(l->ids, l->cap * sizeof(*l->ids));
	}
	l->tasks[l->ntasks] = task;
	l->ids[l->ntasks++] = id;
	l->last_seq = ++p->seq;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

unsigned long long agent_pool_lease_seq(struct agent_pool *p)
{
	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	unsigned long long s = p->seq;
	pthread_mutex_unlock(&p->mu);
	return s;
}

bool agent_pool_try_hold(struct agent_pool *p, const char *uuid, unsigned long long since)
{
	if (!p)
		return true;
	pthread_mutex_lock(&p->mu);
	struct lane *l = lane_find(p, uuid);
	bool ok = !l || (!l->busy && !l->pending && !l->ntasks && !(since && l->last_seq > since));
	if (ok) {
		l = lane_get(p, uuid);
		l->busy = l->held = true;
	}
	pthread_mutex_unlock(&p->mu);
	return ok;
}

void agent_pool_release(struct agent_pool *p, const char *uuid)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	struct lane *l = lane_find(p, uuid);
	if (l && l->held) {
		l->busy = l->held = false;
		lanes_gc(p);
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

void agent_pool_reconcile_begin(struct agent_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->reconciling++;
	pthread_mutex_unlock(&p->mu);
}

void agent_pool_reconcile_end(struct agent_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->reconciling--;
	lanes_gc(p);
	pthread_mutex_unlock(&p->mu);
}

void agent_pool_counts(struct agent_pool *p, size_t *running, size_t *queued, size_t *retrying)
{
	*running = *queued = *retrying = 0;
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	*running = p->running;
	for (size_t i = 0; i < p->nlanes; i++) {
		*queued += p->lanes[i]->ntasks;
		*retrying += p->lanes[i]->pending != NULL;
	}
	pthread_mutex_unlock(&p->mu);
}

void agent_pool_stop(struct agent_pool *p)
{
	size_t running, queued, retrying;
	if (!p)
		return;
	agent_pool_counts(p, &running, &queued, &retrying);
	if (running || queued || retrying)
		log_info("stopping the task workers: %zu task(s) running (waited for), %zu queued and %zu result(s) "
			 "undelivered (the API hands them out again when the agent registers)", running, queued, retrying);
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	for (int i = 0; i < p->nslots; i++)
		if (p->slots[i].ctx)
			p->ops.worker_cancel(p->ops.arg, p->slots[i].ctx);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nslots; i++)
		if (p->slots[i].started)
			pthread_join(p->slots[i].thread, NULL);
	for (size_t i = 0; i < p->nlanes; i++)
		lane_free(p->lanes[i]);
	free(p->lanes);
	free(p->slots);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
