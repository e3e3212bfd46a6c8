/* Agent protocol: POST /internal/v1/instances/{uuid}/fault, the agent's last resort for a
 * guest it cannot run: the instance goes to ERROR with the agent's message as its fault
 * (code 500, as Nova records a failed build). The KVM guard (compute/kvm_guard.h) sends
 * it when a guest that KVM broke could not be rebuilt under TCG either, so a broken
 * accelerator never leaves a server ACTIVE but paused. */
#include <string.h>

#include "api/handlers.h"
#include "api/http.h"
#include "api/internal/internal.h"
#include "common/util.h"
#include "db/agents.h"
#include "db/db.h"
#include "db/servers.h"

#define FI struct fault_in
static const struct field_spec fault_fields[] = {
	FIELD(FI, message, "message", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 1024), .format = FMT_PRINTABLE),
	SPEC_END_ROW
};
#undef FI
const struct field_spec internal_fault_spec[] = { WRAPPER("fault", SPEC_REQUIRED | SPEC_NO_EXTRA, fault_fields), SPEC_END_ROW };

struct fault_ctx { const char *uuid, *owner, *message; bool missing, busy; };

static int fault_tx(void *p, struct nl_error *err)
{
	struct fault_ctx *c = p;
	/* Only the instance's host's agent may fail it; another's is 404 as unknown. */
	json_t *row = !c->owner || db_instance_host_owned(c->uuid, c->owner) ? db_server_get(c->uuid, NULL, false)
									       : NULL;
	if (!row) {
		c->missing = true;
		return 0;
	}
	int64_t id = json_integer_value(json_object_get(row, "id")), now = nl_now_us();
	const char *vm = json_string_value(json_object_get(row, "vm_state"));
	const char *host = json_string_value(json_object_get(row, "host"));
	int rc = 0;
	if (!json_is_null(json_object_get(row, "task_state")) || db_tasks_open(c->uuid)) {
		c->busy = true;   /* a task is in flight: its result decides the state */
	} else if (db_server_set_state(id, vm, NULL, "error", NULL, -1, now, err) < 0 ||
		   db_server_fault_add(id, 500, c->message, NULL, host, now, err)) {
		rc = -1;
	}
	json_decref(row);
	return rc;
}

int internal_instance_fault(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct fault_in *in = r->input;
	struct fault_ctx c = { req_param(r, 0), internal_owner(r), in->message.v, false, false };
	if (db_tx_run(fault_tx, &c, err))
		return -1;
	if (c.missing) {
		nl_err_set(err, 404, "Instance %s could not be found.", c.uuid);
		return -1;
	}
	if (c.busy) {
		nl_err_set(err, 409, "Instance %s has a task in flight; its result sets the state.", c.uuid);
		return -1;
	}
	out->status = 204;
	return 0;
}
