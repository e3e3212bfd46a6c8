/* Agent protocol, task side: the long poll that hands queued tasks to an agent, and
 * the result that applies a task's state transition (docs/agent-protocol.md).
 *
 * The long poll blocks its handler on a condition variable; the internal port runs a
 * thread per connection for exactly this reason. Any commit that queues tasks calls
 * internal_tasks_notify(), which bumps a generation and wakes every waiting poll. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/handlers.h"
#include "api/http.h"
#include "api/image/image.h"
#include "api/internal/internal.h"
#include "common/log.h"
#include "common/util.h"
#include "db/agents.h"
#include "db/db.h"
#include "db/images.h"
#include "db/servers.h"

static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv;
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
static uint64_t wake_gen;
static bool stopping;

static void wake_init(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&wake_cv, &a);
	pthread_condattr_destroy(&a);
}

void internal_tasks_notify(void)
{
	pthread_once(&wake_once, wake_init);
	pthread_mutex_lock(&wake_mu);
	wake_gen++;
	pthread_cond_broadcast(&wake_cv);
	pthread_mutex_unlock(&wake_mu);
}

void internal_shutdown(void)
{
	pthread_once(&wake_once, wake_init);
	pthread_mutex_lock(&wake_mu);
	stopping = true;
	pthread_cond_broadcast(&wake_cv);
	pthread_mutex_unlock(&wake_mu);
}

static uint64_t wake_generation(void)
{
	pthread_mutex_lock(&wake_mu);
	uint64_t g = wake_gen;
	pthread_mutex_unlock(&wake_mu);
	return g;
}

/* Waits until the generation moves past g or the deadline passes; false on timeout/stop. */
static bool wait_past(uint64_t g, const struct timespec *deadline)
{
	bool moved;
	pthread_mutex_lock(&wake_mu);
	while (wake_gen == g && !stopping)
		if (pthread_cond_timedwait(&wake_cv, &wake_mu, deadline) == ETIMEDOUT)
			break;
	moved = wake_gen != g && !stopping;
	pthread_mutex_unlock(&wake_mu);
	return moved;
}

struct lease_ctx { const char *agent, *owner; json_t *tasks; };

static int lease_tx(void *p, struct nl_error *err)
{
	struct lease_ctx *c = p;
	int64_t now = nl_now_us();
	if (db_agent_heartbeat(c->agent, c->owner, now, err) < 0)
		return -1;
	c->tasks = db_tasks_lease(c->agent, c->owner, 64, now, err);
	return c->tasks ? 0 : -1;
}

struct drop_ctx { int64_t id; };

static int drop_tx(void *p, struct nl_error *err)
{
	struct drop_ctx *d = p;
	return db_task_finish(d->id, false, "instance not found", nl_now_us(), err);
}

int internal_tasks_poll(struct req *r, struct resp *out, struct nl_error *err)
{
	struct lease_ctx c = { req_param(r, 0), internal_owner(r), NULL };
	const char *w = req_query(r, "wait");
	long wait_s = w ? strtol(w, NULL, 10) : 20;
	struct timespec deadline;

	pthread_once(&wake_once, wake_init);
	if (wait_s < 0)
		wait_s = 0;
	if (wait_s > 30)
		wait_s = 30;
	/* Another identity's agent name: as unknown (no hosts, so nothing is leased). */
	if (c.owner && !db_agent_name_owned(c.agent, c.owner)) {
		nl_err_set(err, 404, "Agent %s has no registered host.", c.agent);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_s;
	for (;;) {
		uint64_t g = wake_generation();
		/* A poll whose agent went away (killed, restarted) must not lease tasks it
		 * can never deliver: the agent's next life would wait for them. */
		if (req_client_gone(r)) {
			nl_err_set(err, 499, "The agent closed the connection.");
			return -1;
		}
		if (db_tx_run(lease_tx, &c, err))
			return -1;
		if (json_array_size(c.tasks) || !wait_past(g, &deadline))
			break;
		json_decref(c.tasks);
		c.tasks = NULL;
	}
	/* Each task carries the instance as it is now (read after the lease). */
	json_t *list = json_array(), *t;
	size_t i;
	json_array_foreach(c.tasks, i, t) {
		json_t *row = db_server_get(json_string_value(json_object_get(t, "instance_uuid")), NULL, true);
		if (!row) {
			/* Its instance is gone (purged): nothing to do, finish it here. */
			struct nl_error e2 = { 0 };
			struct drop_ctx d = { json_integer_value(json_object_get(t, "id")) };
			db_tx_run(drop_tx, &d, &e2);
			continue;
		}
		/* params: an object stored as JSON text by whoever queued the task ({} when none). */
		const char *ptext = json_string_value(json_object_get(t, "params"));
		json_t *params = ptext ? json_loads(ptext, 0, NULL) : NULL;
		if (!json_is_object(params)) {
			json_decref(params);
			params = json_object();
		}
		json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:o, s:o}", "id", json_object_get(t, "id"), "kind",
						      json_object_get(t, "kind"), "host", json_object_get(t, "host"),
						      "params", params, "instance", internal_instance_payload(row)));
		json_decref(row);
	}
	json_decref(c.tasks);
	resp_json(out, 200, json_pack("{s:o}", "tasks", list));
	return 0;
}

/* ---- results ---- */
static const char *const statuses[] = { "done", "failed", NULL };
#define RI struct result_in
static const struct field_spec result_fields[] = {
	FIELD(RI, status, "status", SPEC_STRING, SPEC_REQUIRED, .enumv = statuses),
	FIELD(RI, power_state, "power_state", SPEC_INT, BOUNDED, .min = 0, .max = 7),
	FIELD(RI, message, "message", SPEC_STRING, SPEC_NULLABLE | BOUNDED, LEN(0, 4096)),
	FIELD(RI, console, "console", SPEC_STRING, SPEC_NULLABLE | BOUNDED, LEN(0, 65536)),
	FIELD(RI, console_address, "console_address", SPEC_STRING, SPEC_NULLABLE | BOUNDED, LEN(0, 300)),
	SPEC_END_ROW
};
#undef RI
const struct field_spec internal_result_spec[] = { WRAPPER("result", SPEC_REQUIRED | SPEC_NO_EXTRA, result_fields), SPEC_END_ROW };

/* What each task kind does to the instance: the vm_state it leaves on success and on
 * failure (NULL: the state it had before the task), and the power state a success
 * implies when the agent does not report one (Nova: 1 running, 3 paused, 4 shutdown;
 * -1: unchanged). A snapshot changes neither state: it only ends image_snapshot. */
struct transition { const char *kind, *done_vm, *failed_vm; int done_power; bool fault_on_fail; };
static const struct transition transitions[] = {
	{ "build",       "active",    "error", 1, true },
	{ "delete",      NULL,        "error", 0, true },
	{ "stop",        "stopped",   NULL,    4, true },
	{ "start",       "active",    NULL,    1, true },
	{ "reboot_soft", "active",    NULL,    1, true },
	{ "reboot_hard", "active",    "error", 1, true },
	{ "pause",       "paused",    NULL,    3, true },
	{ "unpause",     "active",    NULL,    1, true },
	{ "suspend",     "suspended", NULL,    4, true },
	{ "resume",      "active",    NULL,    1, true },
	{ "snapshot",    NULL,        NULL,   -1, true },
};

static const struct transition *transition_of(const char *kind)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (!strcmp(transitions[i].kind, kind))
			return &transitions[i];
	return NULL;
}

struct result_ctx {
	int64_t task_id;
	const struct result_in *in;
	const char *owner;     /* internal_owner() */
	bool missing;
	char drop_image[64];   /* a failed snapshot's image: its data file goes after the commit */
};

/* Nova's delete_image_on_error: a failed snapshot leaves no image behind. The agent
 * uploads before it reports, so an image that became active is the snapshot it made:
 * only one still waiting for (or receiving) data is deleted. */
static int drop_snapshot_image(struct result_ctx *c, json_t *task, struct nl_error *err)
{
	const char *ptext = json_string_value(json_object_get(task, "params"));
	json_t *params = ptext ? json_loads(ptext, 0, NULL) : NULL;
	const char *image_id = json_string_value(json_object_get(params, "image_id"));
	json_t *img = image_id ? db_image_get(image_id, NULL) : NULL;
	const char *status = json_string_value(json_object_get(img, "status"));
	int rc = 0;
	if (img && status && (!strcmp(status, "queued") || !strcmp(status, "saving"))) {
		rc = db_image_delete(image_id, err);
		if (!rc)
			snprintf(c->drop_image, sizeof(c->drop_image), "%s", image_id);
	}
	json_decref(img);
	json_decref(params);
	return rc;
}

static int result_tx(void *p, struct nl_error *err)
{
	struct result_ctx *c = p;
	const struct result_in *in = c->in;
	bool ok = !strcmp(in->status.v, "done");
	int64_t now = nl_now_us();
	json_t *task = db_task_get(c->task_id), *row = NULL;
	int rc = -1;

	c->drop_image[0] = '\0';   /* the runner may call this again after a busy retry */
	const char *host = json_string_value(json_object_get(task, "host"));
	/* Another host's task is answered as unknown: an agent finishes only its own. */
	if (!task || strcmp(json_string_value(json_object_get(task, "state")), "running") ||
	    (c->owner && !db_host_owned(host, c->owner))) {
		c->missing = true;   /* unknown, or finished by an earlier delivery */
		json_decref(task);
		return 0;
	}
	/* A console address sends users' VNC viewers somewhere: only loopback or the
	 * host's own registered listen address, never a name the agent made up. */
	if (in->console_address.set && in->console_address.v && *in->console_address.v) {
		json_t *h = db_host_get(host);
		bool addr_ok = internal_console_address_ok(in->console_address.v,
						      json_string_value(json_object_get(h, "vnc_listen")));
		json_decref(h);
		if (!addr_ok) {
			nl_err_set(err, 400, "Invalid console_address '%s': it must be host:port with a port number "
					     "and the host a loopback address or the compute host's vnc_listen address.",
				   in->console_address.v);
			json_decref(task);
			return -1;
		}
	}
	const char *kind = json_string_value(json_object_get(task, "kind"));
	const struct transition *t = transition_of(kind);
	int64_t action_id = json_integer_value(json_object_get(task, "action_id"));
	row = db_server_get(json_string_value(json_object_get(task, "instance_uuid")), NULL, true);
	if (db_task_finish(c->task_id, ok, in->message.set ? in->message.v : NULL, now, err))
		goto out;
	if (!ok && !strcmp(kind, "snapshot") && drop_snapshot_image(c, task, err))
		goto out;
	if (!row || !t || json_integer_value(json_object_get(row, "deleted"))) {
		rc = 0;      /* the instance went away meanwhile: nothing to apply */
		goto out;
	}
	int64_t id = json_integer_value(json_object_get(row, "id"));
	const char *vm = json_string_value(json_object_get(row, "vm_state"));
	int power = in->power_state.set ? (int)in->power_state.v : (ok ? t->done_power : -1);
	if (in->console.set && in->console.v && *in->console.v && db_server_console_append(id, in->console.v, err))
		goto out;
	/* Present (even null) means the agent knows: null or "" is "no VNC server now". */
	if (in->console_address.set &&
	    db_server_set_console_address(id, in->console_address.v && *in->console_address.v ? in->console_address.v
												: NULL, err))
		goto out;
	/* A delete queued behind this task keeps the server "deleting" (a failed delete
	 * itself ends in error with no task, as Nova's does). */
	const char *task_state = json_string_value(json_object_get(row, "task_state"));
	bool deleting = task_state && !strcmp(task_state, "deleting") && strcmp(kind, "delete");
	if (ok && !strcmp(kind, "delete")) {
		if (db_server_soft_delete(id, now, err))
			goto out;
	} else if (ok) {
		if (db_server_set_state(id, NULL, "*", t->done_vm ? t->done_vm : vm, deleting ? "deleting" : NULL, power,
					now, err) < 0)
			goto out;
		if (!strcmp(kind, "build") && db_server_set_launched(id, now, err))
			goto out;
	} else {
		const char *msg = in->message.set && in->message.v && *in->message.v ? in->message.v :
				  "The compute agent reported a failure without a reason.";
		if (db_server_set_state(id, NULL, "*", t->failed_vm ? t->failed_vm : vm, deleting ? "deleting" : NULL,
					power, now, err) < 0)
			goto out;
		if (t->fault_on_fail && db_server_fault_add(id, 500, msg, NULL, host, now, err))
			goto out;
	}
	if (action_id > 0 && db_action_finish_open(action_id, ok, host, ok ? NULL : in->message.v, now, err))
		goto out;
	rc = 0;
out:
	json_decref(task);
	json_decref(row);
	return rc;
}

int internal_task_result(struct req *r, struct resp *out, struct nl_error *err)
{
	char *end;
	long long id = strtoll(req_param(r, 0), &end, 10);
	struct result_ctx c = { id, r->input, internal_owner(r), false, "" };
	if (*end || id <= 0) {
		nl_err_set(err, 404, "Task %s could not be found.", req_param(r, 0));
		return -1;
	}
	if (db_tx_run(result_tx, &c, err))
		return -1;
	if (c.drop_image[0]) {
		char path[600];
		image_data_path(c.drop_image, false, path, sizeof(path));
		unlink(path);
		image_data_path(c.drop_image, true, path, sizeof(path));
		unlink(path);
	}
	if (c.missing) {
		nl_err_set(err, 404, "Task %s could not be found or is already finished.", req_param(r, 0));
		return -1;
	}
	out->status = 204;
	return 0;
}
