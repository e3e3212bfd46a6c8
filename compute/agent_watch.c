/* See agent_watch.h. */
#include "compute/agent_watch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "compute/kvm_guard.h"

#define TICK_MS 1000            /* console shipping interval */
#define SETTLE_MS 300           /* events come in bursts (SHUTDOWN then STOPPED): report once */
#define REPORT_TIMEOUT_S 10

struct pending {
	char uuid[VIRT_UUID_LEN + 1];
	size_t host;                /* index into hosts */
};

struct agent_watch {
	const struct virt_driver *drv;
	struct watch_host *hosts;
	size_t nhosts;
	struct agent_pool *pool;
	struct http_client *http;
	pthread_t thread;
	pthread_mutex_t mu;         /* guards pending and stop */
	pthread_cond_t cv;
	struct pending *pending;
	size_t npending, cap;
	bool stop;
	bool reregister;            /* the KVM guard switched a host to TCG (guarded by mu) */
	struct kvm_guard *guard;    /* the watcher thread's own */
	struct event_src { struct agent_watch *w; size_t host; } *srcs;
};

/* libvirt's event thread: note the uuid, wake the watcher. */
static void on_event(void *opaque, const char *uuid)
{
	struct event_src *src = opaque;
	struct agent_watch *w = src->w;
	pthread_mutex_lock(&w->mu);
	bool known = false;
	for (size_t i = 0; i < w->npending && !known; i++)
		known = !strcmp(w->pending[i].uuid, uuid);
	if (!known) {
		if (w->npending == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 16;
			w->pending = nl_realloc(w->pending, w->cap * sizeof(*w->pending));
		}
		struct pending *p = &w->pending[w->npending++];
		snprintf(p->uuid, sizeof(p->uuid), "%s", uuid);
		p->host = src->host;
	}
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void report_power(struct agent_watch *w, const char *uuid, int power)
{
	char path[128];
	struct nl_error err = { 0 };
	json_t *body = json_pack("{s:i}", "power_state", power);
	snprintf(path, sizeof(path), "/internal/v1/instances/%s/power_state", uuid);
	int st = http_request(w->http, "PUT", path, body, REPORT_TIMEOUT_S, NULL, &err);
	json_decref(body);
	if (st >= 300 || st < 0)
		log_warn("power state report for %s: %s (the next reconcile will catch up)", uuid, err.msg);
	else
		log_info("instance %s: power state %d reported after a lifecycle event", uuid, power);
}

/* Console text is not always valid UTF-8 (a guest writes what it likes): bytes that do
 * not form a character become '?', so the JSON string can carry the rest. */
static void sanitize_utf8(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		bool ok = n > 0;
		for (int i = 1; ok && i < n; i++)
			ok = (p[i] & 0xC0) == 0x80;
		if (!ok) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static void ship_console(struct agent_watch *w, struct watch_host *h)
{
	char (*uuids)[VIRT_UUID_LEN + 1] = NULL;
	size_t n = 0;
	struct nl_error err = { 0 };
	if (!w->drv->list_domains || !w->drv->console_text || w->drv->list_domains(h->conn, &uuids, &n, &err))
		return;
	for (size_t i = 0; i < n; i++) {
		struct virt_instance inst = { 0 };
		snprintf(inst.uuid, sizeof(inst.uuid), "%s", uuids[i]);
		if (!agent_pool_try_hold(w->pool, inst.uuid, 0))
			continue;   /* a task of it runs: its result carries the console */
		char *text = w->drv->console_text(h->conn, &inst);
		agent_pool_release(w->pool, inst.uuid);
		if (!text)
			continue;
		sanitize_utf8(text);
		char path[128];
		json_t *body = json_pack("{s:{s:s}}", "console", "text", text);
		snprintf(path, sizeof(path), "/internal/v1/instances/%s/console", uuids[i]);
		if (body && http_request(w->http, "POST", path, body, REPORT_TIMEOUT_S, NULL, &err) >= 300)
			log_debug("console of %s not delivered: %s", uuids[i], err.msg);
		json_decref(body);
		free(text);
	}
	free(uuids);
}

static long long mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The KVM guard (kvm_guard.h) for one domain; the caller holds the instance in the pool,
 * so a recovery (destroy, redefine under TCG, start) never races a task of it. */
static void guard(struct agent_watch *w, size_t host, const char *uuid)
{
	char fault[1024];
	if (!kvm_guard_check(w->guard, w->drv, w->hosts[host].conn, w->hosts[host].name, uuid, mono_ms(), fault,
			     sizeof(fault)))
		return;
	if (fault[0]) {
		/* Not even TCG could take it over: ERROR with the reason, never ACTIVE but paused. */
		char path[128];
		struct nl_error ferr = { 0 };
		for (char *q = fault; *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = ' ';   /* libvirt's messages may hold newlines; the API takes printable text */
		json_t *body = json_pack("{s:{s:s}}", "fault", "message", fault);
		snprintf(path, sizeof(path), "/internal/v1/instances/%s/fault", uuid);
		int st = body ? http_request(w->http, "POST", path, body, REPORT_TIMEOUT_S, NULL, &ferr) : -1;
		json_decref(body);
		if (st < 200 || st >= 300)
			log_error("instance %s: its fault was not recorded: %s", uuid, ferr.msg);
	}
	pthread_mutex_lock(&w->mu);
	w->reregister = true;
	pthread_mutex_unlock(&w->mu);
	int st = VIRT_POWER_NOSTATE;
	struct nl_error err = { 0 };
	if (w->drv->get_power_state(w->hosts[host].conn, uuid, &st, &err) == 0 && st != VIRT_POWER_MISSING)
		report_power(w, uuid, st);
}

static void guard_host(struct agent_watch *w, size_t host)
{
	char (*uuids)[VIRT_UUID_LEN + 1] = NULL;
	size_t n = 0;
	struct nl_error err = { 0 };
	if (!w->drv->guard_info || !w->drv->list_domains || w->drv->list_domains(w->hosts[host].conn, &uuids, &n, &err))
		return;
	for (size_t i = 0; i < n; i++) {
		if (!agent_pool_try_hold(w->pool, uuids[i], 0))
			continue;  /* busy: the next tick looks again */
		guard(w, host, uuids[i]);
		agent_pool_release(w->pool, uuids[i]);
	}
	free(uuids);
}

bool agent_watch_take_reregister(struct agent_watch *w)
{
	if (!w)
		return false;
	pthread_mutex_lock(&w->mu);
	bool r = w->reregister;
	w->reregister = false;
	pthread_mutex_unlock(&w->mu);
	return r;
}

static void *watch_thread(void *arg)
{
	struct agent_watch *w = arg;
	struct timespec next_tick;
	clock_gettime(CLOCK_MONOTONIC, &next_tick);
	for (;;) {
		pthread_mutex_lock(&w->mu);
		struct timespec until = next_tick;
		while (!w->stop && !w->npending &&
		       pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
			;
		bool stop = w->stop, events = w->npending > 0;
		pthread_mutex_unlock(&w->mu);
		if (stop)
			break;
		if (events) {
			/* Let the burst settle, then report what the domains are now. */
			struct timespec d = { 0, SETTLE_MS * 1000000L };
			nanosleep(&d, NULL);
			pthread_mutex_lock(&w->mu);
			struct pending *batch = w->pending;
			size_t nbatch = w->npending;
			w->pending = NULL;
			w->npending = w->cap = 0;
			pthread_mutex_unlock(&w->mu);
			for (size_t i = 0; i < nbatch; i++) {
				struct nl_error err = { 0 };
				int st = VIRT_POWER_NOSTATE;
				if (!agent_pool_try_hold(w->pool, batch[i].uuid, 0)) {
					/* A task of it runs or its result waits: look again after it. */
					on_event(&w->srcs[batch[i].host], batch[i].uuid);
					continue;
				}
				guard(w, batch[i].host, batch[i].uuid);
				if (w->drv->get_power_state(w->hosts[batch[i].host].conn, batch[i].uuid, &st, &err) == 0 &&
				    st != VIRT_POWER_MISSING)
					report_power(w, batch[i].uuid, st);
				agent_pool_release(w->pool, batch[i].uuid);
			}
			free(batch);
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next_tick.tv_sec || (now.tv_sec == next_tick.tv_sec && now.tv_nsec >= next_tick.tv_nsec)) {
			for (size_t i = 0; i < w->nhosts; i++) {
				ship_console(w, &w->hosts[i]);
				guard_host(w, i);
			}
			next_tick = now;
			next_tick.tv_sec += TICK_MS / 1000;
		}
	}
	return NULL;
}

struct agent_watch *agent_watch_start(const struct virt_driver *drv, const struct watch_host *hosts, size_t n,
				      struct agent_pool *pool, const char *api_url,
				      const struct http_credentials *cred, struct nl_error *err)
{
	struct agent_watch *w = nl_calloc(1, sizeof(*w));
	w->drv = drv;
	w->nhosts = n;
	w->hosts = nl_calloc(n ? n : 1, sizeof(*w->hosts));
	memcpy(w->hosts, hosts, n * sizeof(*hosts));
	w->srcs = nl_calloc(n ? n : 1, sizeof(*w->srcs));
	w->pool = pool;
	w->guard = kvm_guard_new();
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!(w->http = http_client_new(api_url, cred, err))) {
		agent_watch_stop(w);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct nl_error werr = { 0 };
		w->srcs[i] = (struct event_src){ w, i };
		if (drv->watch_events && drv->watch_events(hosts[i].conn, on_event, &w->srcs[i], &werr))
			log_warn("host %s: %s (power states are then caught by the periodic reconcile)", hosts[i].name,
				 werr.msg);
	}
	if (pthread_create(&w->thread, NULL, watch_thread, w)) {
		nl_err_set(err, 500, "Cannot start the watcher thread.");
		w->thread = 0;
		agent_watch_stop(w);
		return NULL;
	}
	return w;
}

void agent_watch_stop(struct agent_watch *w)
{
	if (!w)
		return;
	if (w->thread) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		http_client_cancel(w->http);
		pthread_join(w->thread, NULL);
	}
	/* No more events for this watcher: the conns outlive it (the agent closes them). */
	for (size_t i = 0; i < w->nhosts; i++)
		if (w->drv->watch_events)
			w->drv->watch_events(w->hosts[i].conn, NULL, NULL, &(struct nl_error){ 0 });
	http_client_free(w->http);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->pending);
	kvm_guard_free(w->guard);
	free(w->srcs);
	free(w->hosts);
	free(w);
}
