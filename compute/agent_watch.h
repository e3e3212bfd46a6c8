/* The agent's watcher: what happens to real guests between tasks. A guest that shuts
 * itself down, crashes or is paused by QEMU raises a libvirt lifecycle event; the watcher
 * reads the domain's power state and reports it (PUT .../power_state, Nova's lifecycle
 * event handling), within about a second. And a guest writes to its serial console all
 * the time: the watcher ships new console output every second (POST .../console), so
 * `openstack server console log` shows the boot as it happens.
 *
 * One thread with its own HTTP client. It touches an instance only while it holds the
 * instance in the task pool (agent_pool_try_hold), which no worker running a task of it
 * or holding its undelivered result lets it do: a report can never overtake the result of
 * the task that caused it. An event for a busy instance is looked at again a moment
 * later; its console waits for the next tick. Hosts of the fake hypervisor are not
 * watched: they change only through tasks. The KVM guard (kvm_guard.h) looks at each
 * domain after its events and every second, under the same hold. */
#ifndef NL_AGENT_WATCH_H
#define NL_AGENT_WATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "compute/agent_pool.h"
#include "compute/http.h"
#include "compute/virt.h"

struct watch_host {
	const char *name;           /* borrowed, for log lines */
	struct virt_conn *conn;     /* borrowed; an instance only while held in the pool */
};

struct agent_watch;

/* Starts watching hosts (copied array; the conns stay the caller's). NULL with err when
 * the thread or its HTTP client cannot be made; a host whose events cannot be watched is
 * logged and still gets console shipping. */
struct agent_watch *agent_watch_start(const struct virt_driver *drv, const struct watch_host *hosts, size_t n,
				      struct agent_pool *pool, const char *api_url,
				      const struct http_credentials *cred, struct nl_error *err);
/* true once after the KVM guard switched a host to TCG (kvm_guard.h): the agent then
 * registers its hosts again, so the API shows hypervisor_type QEMU. NULL: false. */
bool agent_watch_take_reregister(struct agent_watch *w);
/* Stops the thread and frees everything. NULL is a no-op. */
void agent_watch_stop(struct agent_watch *w);

#endif
