/* POST /servers/{id}/action: one table row per action, with its body spec, policy,
 * the vm_states and task_states it may start from (nova/compute/api.py's
 * check_instance_state), the task_state it sets, and the agent task it queues.
 * The lock check comes first, then the state check, as Nova's decorators order them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/compute/servers.h"
#include "api/handlers.h"
#include "api/internal/internal.h"
#include "common/util.h"
#include "db/db.h"
#include "db/servers.h"

#define S(row, k) json_string_value(json_object_get(row, k))
#define I(row, k) json_integer_value(json_object_get(row, k))

struct action_in { spec_str_t type, reason, state, name; spec_json_t length, metadata; };
static const char *const reboot_types[] = { "HARD", "Hard", "hard", "SOFT", "Soft", "soft", NULL };
static const char *const reset_states[] = { "active", "error", NULL };
#define AI struct action_in
static const struct field_spec reboot_fields[] = {
	FIELD(AI, type, "type", SPEC_STRING, SPEC_REQUIRED, .enumv = reboot_types), SPEC_END_ROW };
static const struct field_spec reboot_spec[] = { WRAPPER("reboot", SPEC_REQUIRED | SPEC_NO_EXTRA, reboot_fields), SPEC_END_ROW };
static const struct field_spec lock_fields[] = {
	FIELD(AI, reason, "locked_reason", SPEC_STRING, SPEC_HAS_MAX, .max = 255), SPEC_END_ROW };
static const struct field_spec lock_spec_v273[] = {
	WRAPPER("lock", SPEC_REQUIRED | SPEC_NULLABLE | SPEC_NO_EXTRA, lock_fields), SPEC_END_ROW };
static const struct field_spec reset_fields[] = {
	FIELD(AI, state, "state", SPEC_STRING, SPEC_REQUIRED, .enumv = reset_states), SPEC_END_ROW };
static const struct field_spec reset_spec[] = { WRAPPER("os-resetState", SPEC_REQUIRED | SPEC_NO_EXTRA, reset_fields), SPEC_END_ROW };
static const struct field_spec console_fields[] = {
	FIELD(AI, length, "length", SPEC_ANY, SPEC_NULLABLE), SPEC_END_ROW };
static const struct field_spec console_spec[] = {
	WRAPPER("os-getConsoleOutput", SPEC_REQUIRED | SPEC_NO_EXTRA, console_fields), SPEC_END_ROW };
/* schemas/servers.py create_image: name (parameter_types.name), metadata (parameter_types.metadata). */
static const struct field_spec create_image_fields[] = {
	FIELD(AI, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_NAME),
	{ .name = "metadata", .type = SPEC_STRMAP, .charset = "a-zA-Z0-9-_:. ", .offset = offsetof(AI, metadata) },
	SPEC_END_ROW };
static const struct field_spec create_image_spec[] = {
	WRAPPER("createImage", SPEC_REQUIRED | SPEC_NO_EXTRA, create_image_fields), SPEC_END_ROW };
/* schemas/remote_consoles.py get_*_console: one type each. */
static const char *const vnc_types[] = { "novnc", "xvpvnc", NULL };
static const char *const spice_types[] = { "spice-html5", NULL };
static const char *const rdp_types[] = { "rdp-html5", NULL };
static const char *const serial_types[] = { "serial", NULL };
#define CONSOLE_SPEC(var, key, types)                                                                        \
	static const struct field_spec var##_fields[] = {                                                   \
		FIELD(AI, type, "type", SPEC_STRING, SPEC_REQUIRED, .enumv = types), SPEC_END_ROW };        \
	static const struct field_spec var[] = { WRAPPER(key, SPEC_REQUIRED | SPEC_NO_EXTRA, var##_fields), \
						  SPEC_END_ROW }
CONSOLE_SPEC(vnc_console_spec, "os-getVNCConsole", vnc_types);
CONSOLE_SPEC(spice_console_spec, "os-getSPICEConsole", spice_types);
CONSOLE_SPEC(rdp_console_spec, "os-getRDPConsole", rdp_types);
CONSOLE_SPEC(serial_console_spec, "os-getSerialConsole", serial_types);
#undef CONSOLE_SPEC
#undef AI
/* The route's own spec accepts any object: the table below picks the action's spec. */
const struct field_spec server_action_spec[] = { SPEC_END_ROW };

enum guard { G_STATE, G_NONE };
struct action;
typedef int (*action_fn)(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
			 struct resp *out, struct nl_error *err);

struct action {
	const char *key;              /* body key */
	const char *name;             /* instance action / method name in messages */
	const char *rule;
	bool admin_only;
	bool check_lock;
	const char *const *vm_states;     /* allowed vm_states, NULL = any */
	const char *const *task_states;   /* allowed task_states ("" = None), NULL = any */
	const char *new_task;         /* task_state set while the agent works */
	const char *kind;             /* agent task kind */
	const char *event;            /* action event name */
	const struct field_spec *spec;
	int mv_spec;                  /* spec applies from this microversion (lock 2.73) */
	action_fn fn;                 /* special handling, NULL = queue the task */
	int mv_max;                   /* the action exists up to this microversion (0: no end) */
};

static const char *const none_task[] = { "", NULL };
static const char *const reboot_tasks[] = { "", "rebooting", "reboot_pending", "reboot_started", "resuming",
					    "rebooting_hard", "unpausing", "pausing", "suspending", NULL };
static const char *const vm_active[] = { "active", NULL };
static const char *const vm_active_error[] = { "active", "error", NULL };
static const char *const vm_stopped[] = { "stopped", NULL };
static const char *const vm_paused[] = { "paused", NULL };
static const char *const vm_suspended[] = { "suspended", NULL };
static const char *const vm_hard_reboot[] = { "active", "stopped", "paused", "suspended", "error", NULL };

static int do_reboot(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		     struct resp *out, struct nl_error *err);
static int do_lock(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		   struct resp *out, struct nl_error *err);
static int do_unlock(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		     struct resp *out, struct nl_error *err);
static int do_reset(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		    struct resp *out, struct nl_error *err);
static int do_console(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		      struct resp *out, struct nl_error *err);
static int do_force_delete(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
			   struct resp *out, struct nl_error *err);
static int do_create_image(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
			   struct resp *out, struct nl_error *err);
static int do_get_console(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
			  struct resp *out, struct nl_error *err);

static const struct action actions[] = {
	{ "os-stop", "stop", "os_compute_api:servers:stop", false, true, vm_active_error, none_task,
	  "powering-off", "stop", "compute_stop_instance", NULL, 0, NULL, 0 },
	{ "os-start", "start", "os_compute_api:servers:start", false, true, vm_stopped, none_task,
	  "powering-on", "start", "compute_start_instance", NULL, 0, NULL, 0 },
	{ "reboot", "reboot", "os_compute_api:servers:reboot", false, true, NULL, NULL, NULL, NULL,
	  "compute_reboot_instance", reboot_spec, 0, do_reboot, 0 },
	{ "pause", "pause", "os_compute_api:os-pause-server:pause", false, true, vm_active, none_task,
	  "pausing", "pause", "compute_pause_instance", NULL, 0, NULL, 0 },
	{ "unpause", "unpause", "os_compute_api:os-pause-server:unpause", false, true, vm_paused, none_task,
	  "unpausing", "unpause", "compute_unpause_instance", NULL, 0, NULL, 0 },
	{ "suspend", "suspend", "os_compute_api:os-suspend-server:suspend", false, true, vm_active, none_task,
	  "suspending", "suspend", "compute_suspend_instance", NULL, 0, NULL, 0 },
	{ "resume", "resume", "os_compute_api:os-suspend-server:resume", false, true, vm_suspended, none_task,
	  "resuming", "resume", "compute_resume_instance", NULL, 0, NULL, 0 },
	{ "lock", "lock", "os_compute_api:os-lock-server:lock", false, false, NULL, NULL, NULL, NULL, NULL,
	  lock_spec_v273, 73, do_lock, 0 },
	{ "unlock", "unlock", "os_compute_api:os-lock-server:unlock", false, false, NULL, NULL, NULL, NULL, NULL,
	  NULL, 0, do_unlock, 0 },
	{ "os-resetState", "resetState", "os_compute_api:os-admin-actions:reset_state", true, false, NULL, NULL,
	  NULL, NULL, NULL, reset_spec, 0, do_reset, 0 },
	{ "os-getConsoleOutput", "get_console_output", "os_compute_api:os-console-output", false, false, NULL,
	  NULL, NULL, NULL, NULL, console_spec, 0, do_console, 0 },
	{ "forceDelete", "forceDelete", "os_compute_api:os-deferred-delete:force", false, false, NULL, NULL,
	  NULL, NULL, NULL, NULL, 0, do_force_delete, 0 },
	/* The state check, the image and the task are server_snapshot.c's (one transaction). */
	{ "createImage", "createImage", "os_compute_api:servers:create_image", false, false, NULL, NULL, NULL,
	  NULL, NULL, create_image_spec, 0, do_create_image, 0 },
	/* Replaced by POST /servers/{id}/remote-consoles in 2.6 (remote_consoles.c). */
	{ "os-getVNCConsole", "vnc", "os_compute_api:os-remote-consoles", false, false, NULL, NULL, NULL, NULL,
	  NULL, vnc_console_spec, 0, do_get_console, 5 },
	{ "os-getSPICEConsole", "spice", "os_compute_api:os-remote-consoles", false, false, NULL, NULL, NULL, NULL,
	  NULL, spice_console_spec, 0, do_get_console, 5 },
	{ "os-getRDPConsole", "rdp", "os_compute_api:os-remote-consoles", false, false, NULL, NULL, NULL, NULL,
	  NULL, rdp_console_spec, 0, do_get_console, 5 },
	{ "os-getSerialConsole", "serial", "os_compute_api:os-remote-consoles", false, false, NULL, NULL, NULL,
	  NULL, NULL, serial_console_spec, 0, do_get_console, 5 },
};

static bool in_list(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (!strcmp(*list, v ? v : ""))
			return true;
	return false;
}

/* Nova's 409 for a state the action cannot start from. */
int server_check_state(json_t *row, const char *method, const char *const *vms, const char *const *tasks,
		       struct nl_error *err)
{
	const char *vm = S(row, "vm_state"), *task = S(row, "task_state");
	if (vms && !in_list(vms, vm)) {
		nl_err_set(err, 409, "Cannot '%s' instance %s while it is in vm_state %s", method, S(row, "uuid"), vm);
		return -1;
	}
	if (tasks && !in_list(tasks, task)) {
		nl_err_set(err, 409, "Cannot '%s' instance %s while it is in task_state %s", method, S(row, "uuid"),
			   task ? task : "None");
		return -1;
	}
	return 0;
}

struct queue_ctx {
	const struct req *r;
	int64_t id;
	const char *action, *event, *new_task, *kind;
	const char *const *vms, *const *tasks;   /* the states the action may start from */
};

/* Checks the state again on a fresh read inside the write transaction (the agent may
 * have finished a task since the request read the row), sets the task_state, records
 * the action and its event, and queues the task: two racing actions cannot both start,
 * and an action allowed by the current state is never refused for a stale one. */
static int queue_tx(void *p, struct nl_error *err)
{
	struct queue_ctx *c = p;
	int64_t now = nl_now_us();
	json_t *row = db_server_get_by_id(c->id);
	int rc = -1;
	if (!row || json_integer_value(json_object_get(row, "deleted"))) {
		nl_err_set(err, 404, "Instance could not be found.");
		goto out;
	}
	const char *vm = S(row, "vm_state"), *uuid = S(row, "uuid"), *host = S(row, "host");
	if (server_check_state(row, c->action, c->vms, c->tasks, err))
		goto out;
	if (!host) {
		nl_err_set(err, 409, "Cannot '%s' instance %s while it is in vm_state %s", c->action, uuid, vm);
		goto out;
	}
	if (db_server_set_state(c->id, NULL, "*", vm, c->new_task, -1, now, err) < 0)
		goto out;
	int64_t action = db_action_start(uuid, c->action, c->r->request_id, c->r->auth.user_id, c->r->auth.project_id,
					 now, err);
	if (action < 0 || db_action_event_start(action, c->event, host, NULL, now, err) < 0)
		goto out;
	rc = db_task_insert(host, uuid, c->kind, action, NULL, now, err) < 0 ? -1 : 0;
out:
	json_decref(row);
	return rc;
}

static int queue(struct req *r, json_t *row, const char *action, const char *event, const char *new_task,
		 const char *kind, const char *const *vms, const char *const *tasks, struct resp *out,
		 struct nl_error *err)
{
	struct queue_ctx c = { r, I(row, "id"), action, event, new_task, kind, vms, tasks };
	if (db_tx_run(queue_tx, &c, err))
		return -1;
	internal_tasks_notify();
	out->status = 202;
	return 0;
}

static int do_reboot(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		     struct resp *out, struct nl_error *err)
{
	bool hard = !strcasecmp(in->type.v, "HARD");
	(void)a;
	return queue(r, row, "reboot", "compute_reboot_instance", hard ? "rebooting_hard" : "rebooting",
		     hard ? "reboot_hard" : "reboot_soft", hard ? vm_hard_reboot : vm_active,
		     hard ? reboot_tasks : none_task, out, err);
}

struct lock_ctx { const struct req *r; json_t *row; bool lock; const char *by, *reason, *action; };

static int lock_tx(void *p, struct nl_error *err)
{
	struct lock_ctx *c = p;
	int64_t now = nl_now_us();
	if (db_server_set_lock(I(c->row, "id"), c->lock, c->by, c->reason, now, err))
		return -1;
	int64_t action = db_action_start(S(c->row, "uuid"), c->action, c->r->request_id, c->r->auth.user_id,
					 c->r->auth.project_id, now, err);
	if (action < 0)
		return -1;
	/* Lock and unlock finish at once: one event, done. */
	int64_t ev = db_action_event_start(action, c->lock ? "api_lock" : "api_unlock", nl_hostname(), NULL, now, err);
	return ev < 0 ? -1 : db_action_event_finish(ev, true, NULL, now, err);
}

static int do_lock(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		   struct resp *out, struct nl_error *err)
{
	struct lock_ctx c = { r, row, true, auth_is_admin(&r->auth) && strcmp(S(row, "project_id"), r->auth.project_id)
					      ? "admin" : "owner", in->reason.set ? in->reason.v : NULL, a->name };
	if (db_tx_run(lock_tx, &c, err))
		return -1;
	out->status = 202;
	return 0;
}

static int do_unlock(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		     struct resp *out, struct nl_error *err)
{
	struct lock_ctx c = { r, row, false, NULL, NULL, a->name };
	(void)in;
	/* A lock an admin set on someone else's server is theirs to lift
	 * (os_compute_api:os-lock-server:unlock:unlock_override). */
	if (S(row, "locked_by") && !strcmp(S(row, "locked_by"), "admin") && !auth_is_admin(&r->auth)) {
		nl_err_set(err, 403, "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be "
			   "performed.");
		return -1;
	}
	if (db_tx_run(lock_tx, &c, err))
		return -1;
	out->status = 202;
	return 0;
}

struct reset_ctx { json_t *row; const char *state; };

static int reset_tx(void *p, struct nl_error *err)
{
	struct reset_ctx *c = p;
	return db_server_set_state(I(c->row, "id"), NULL, "*", c->state, NULL, -1, nl_now_us(), err) < 0 ? -1 : 0;
}

static int do_reset(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		    struct resp *out, struct nl_error *err)
{
	struct reset_ctx c = { row, in->state.v };
	(void)r;
	(void)a;
	if (db_tx_run(reset_tx, &c, err))
		return -1;
	out->status = 202;
	return 0;
}

static int do_console(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
		      struct resp *out, struct nl_error *err)
{
	long long length = -1;
	(void)r;
	(void)a;
	if (in->length.set && in->length.v && !json_is_null(in->length.v)) {
		json_t *v = in->length.v;
		char *end = NULL;
		if (json_is_integer(v))
			length = json_integer_value(v);
		else if (json_is_string(v) && *json_string_value(v))
			length = strtoll(json_string_value(v), &end, 10);
		if ((!json_is_integer(v) && (!json_is_string(v) || !end || *end)) || length < -1) {
			char repr[128];
			json_py_repr(v, repr, sizeof(repr));
			nl_err_set(err, 400, "Invalid input for field/attribute length. Value: %s. %s does not match "
				   "'^-?[0-9]+$'", repr, repr);
			return -1;
		}
	}
	if (!S(row, "host") || !strcmp(S(row, "vm_state"), "building")) {
		nl_err_set(err, 409, "Instance %s has not been created yet.", S(row, "uuid"));
		return -1;
	}
	char *log = db_server_console(I(row, "id"));
	const char *text = log ? log : "";
	if (length >= 0) {
		/* Nova's tail: '\n'.join(log.split('\n')[-length:]), so the empty piece after a
		 * final newline counts as one of the `length` (Tempest counts the same way). */
		const char *p = text + strlen(text);
		long long lines = 0;
		while (p > text && lines < length) {
			p--;
			if (*p == '\n' && ++lines == length) {
				p++;
				break;
			}
		}
		if (length == 0)
			p = text + strlen(text);
		text = p;
	}
	resp_json(out, 200, json_pack("{s:s}", "output", text));
	free(log);
	return 0;
}

static int do_force_delete(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
			   struct resp *out, struct nl_error *err)
{
	(void)in;
	if (server_delete_common(r, row, a->name, err))
		return -1;
	out->status = 202;
	return 0;
}

static int do_create_image(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
			   struct resp *out, struct nl_error *err)
{
	(void)a;
	return server_create_image(r, row, in->name.v, in->metadata.set ? in->metadata.v : NULL, out, err);
}

/* a->name is the console protocol. */
static int do_get_console(struct req *r, json_t *row, const struct action *a, const struct action_in *in,
			  struct resp *out, struct nl_error *err)
{
	return server_console_legacy(r, row, a->name, in->type.v, out, err);
}

int server_action(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *key = NULL;
	json_t *v;
	const struct action *a = NULL;
	struct action_in in;
	int rc = -1;

	if (!json_is_object(r->json) || json_object_size(r->json) != 1) {
		nl_err_set(err, 400, "Malformed request body");
		return -1;
	}
	json_object_foreach(r->json, key, v) break;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].key, key))
			a = &actions[i];
	if (!a) {
		nl_err_set(err, 400, "There is no such action: %s", key);
		return -1;
	}
	/* An action gone in this microversion: Nova's VersionNotFoundForAPIMethod, a bare 404. */
	if (a->mv_max && r->mv > a->mv_max) {
		nl_err_set(err, 404, "The resource could not be found.");
		return -1;
	}
	memset(&in, 0, sizeof(in));
	if (a->spec && r->mv >= a->mv_spec && json_spec_validate(a->spec, SPEC_NO_EXTRA, r->json, &in, SPEC_STYLE_NOVA, err))
		return -1;
	if (a->admin_only && !auth_is_admin(&r->auth)) {
		nl_err_set(err, 403, "Policy doesn't allow %s to be performed.", a->rule);
		return -1;
	}
	json_t *row = server_lookup(r, req_param(r, 0), err);
	if (!row)
		return -1;
	if (a->check_lock && server_check_lock(r, row, err))
		goto out;
	/* The state check is queue_tx's, on a fresh read inside the transaction. */
	rc = a->fn ? a->fn(r, row, a, &in, out, err) :
		     queue(r, row, a->name, a->event, a->new_task, a->kind, a->vm_states, a->task_states, out, err);
out:
	json_decref(row);
	return rc;
}
