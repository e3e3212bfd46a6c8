/* Agent protocol: POST /internal/v1/instances/{uuid}/console, what a real guest wrote to
 * its serial console since the agent's last report. Guests keep writing after the task
 * that started them has finished, so the agent ships console output as it appears
 * (about once a second) instead of only with task results. The API keeps the last
 * 64 KiB, which getConsoleOutput shows. */
#include <string.h>

#include "api/handlers.h"
#include "api/http.h"
#include "api/internal/internal.h"
#include "db/agents.h"
#include "db/db.h"
#include "db/servers.h"

#define CI struct console_in
static const struct field_spec console_fields[] = {
	FIELD(CI, text, "text", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 65536)),
	SPEC_END_ROW
};
#undef CI
const struct field_spec internal_console_spec[] = { WRAPPER("console", SPEC_REQUIRED | SPEC_NO_EXTRA, console_fields), SPEC_END_ROW };

struct console_ctx { const char *uuid, *owner, *text; bool missing; };

static int console_tx(void *p, struct nl_error *err)
{
	struct console_ctx *c = p;
	/* Only the instance's host's agent writes its console; another's is 404 as unknown. */
	json_t *row = !c->owner || db_instance_host_owned(c->uuid, c->owner) ? db_server_get(c->uuid, NULL, false)
									       : NULL;
	if (!row) {
		c->missing = true;
		return 0;
	}
	int rc = db_server_console_append(json_integer_value(json_object_get(row, "id")), c->text, err);
	json_decref(row);
	return rc;
}

int internal_console_append(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct console_in *in = r->input;
	struct console_ctx c = { req_param(r, 0), internal_owner(r), in->text.v, false };
	if (db_tx_run(console_tx, &c, err))
		return -1;
	if (c.missing) {
		nl_err_set(err, 404, "Instance %s could not be found.", c.uuid);
		return -1;
	}
	out->status = 204;
	return 0;
}
