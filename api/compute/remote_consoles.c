/* Remote consoles: POST /servers/{id}/remote-consoles (2.6+) and the actions it replaced
 * (os-getVNCConsole & co, 2.1–2.5), nova/api/openstack/compute/remote_consoles.py.
 *
 * Only VNC exists here, and no noVNC proxy: the URL is vnc://host:port of the guest's
 * VNC server as its agent reported it (instances.console_address), which listens on the
 * compute host's loopback; reach it through `ssh -L` with any VNC viewer
 * (docs/api-coverage.md). The other protocols answer as a Nova whose spice, rdp, serial
 * and mks consoles are disabled does. No SQL here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/compute/servers.h"
#include "api/handlers.h"
#include "db/servers.h"

#define S(row, k) json_string_value(json_object_get(row, k))
#define I(row, k) json_integer_value(json_object_get(row, k))

/* ---- specs (schemas/remote_consoles.py create_v26, create_v28) ---- */
static const char *const protocols_v26[] = { "vnc", "spice", "rdp", "serial", NULL };
static const char *const types_v26[] = { "novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial", NULL };
static const char *const protocols_v28[] = { "vnc", "spice", "rdp", "serial", "mks", NULL };
static const char *const types_v28[] = { "novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial", "webmks", NULL };
#define RC struct remote_console_in
static const struct field_spec console_fields_v26[] = {
	FIELD(RC, protocol, "protocol", SPEC_STRING, SPEC_REQUIRED, .enumv = protocols_v26),
	FIELD(RC, type, "type", SPEC_STRING, SPEC_REQUIRED, .enumv = types_v26),
	SPEC_END_ROW
};
static const struct field_spec console_fields_v28[] = {
	FIELD(RC, protocol, "protocol", SPEC_STRING, SPEC_REQUIRED, .enumv = protocols_v28),
	FIELD(RC, type, "type", SPEC_STRING, SPEC_REQUIRED, .enumv = types_v28),
	SPEC_END_ROW
};
#undef RC
const struct field_spec remote_console_v26[] = {
	WRAPPER("remote_console", SPEC_REQUIRED | SPEC_NO_EXTRA, console_fields_v26), SPEC_END_ROW };
const struct field_spec remote_console_v28[] = {
	WRAPPER("remote_console", SPEC_REQUIRED | SPEC_NO_EXTRA, console_fields_v28), SPEC_END_ROW };

/* The guest's VNC URL, or Nova's error for why there is none, in compute/api.py's
 * order: check_instance_host (409 InstanceNotReady), reject_instance_state (deleting,
 * migrating), then the compute manager's checks (console type enabled, then valid).
 * legacy_vnc: os-getVNCConsole, whose handler turns InstanceInvalidState into 409;
 * everywhere else it surfaces as the 400 of its exception class (nova.exception.Invalid). */
static int console_url(json_t *row, const char *protocol, const char *type, bool legacy_vnc, char *url,
		       size_t len, struct nl_error *err)
{
	const char *uuid = S(row, "uuid"), *vm = S(row, "vm_state"), *task = S(row, "task_state");

	if (!S(row, "host")) {
		nl_err_set(err, 409, "Instance %s is not ready", uuid);
		return -1;
	}
	if (task && (!strcmp(task, "deleting") || !strcmp(task, "migrating"))) {
		if (legacy_vnc)
			nl_err_set(err, 409, "Cannot 'get_vnc_console' instance %s while it is in task_state %s", uuid, task);
		else
			nl_err_set(err, 400, "Instance %s in task_state %s. Cannot get_%s_console while the instance is "
				   "in this state.", uuid, task, protocol);
		return -1;
	}
	/* [spice] [rdp] [serial_console] [mks] enabled = False: the type is unavailable. */
	if (strcmp(protocol, "vnc")) {
		nl_err_set(err, 400, "Unavailable console type %s.", type);
		return -1;
	}
	/* manager.py get_vnc_console: novnc only (xvpvnc went with the XVP proxy). */
	if (strcmp(type, "novnc")) {
		nl_err_set(err, 400, "Invalid console type %s", type);
		return -1;
	}
	/* Nova's driver finds no domain to ask while building; a guest that is not running
	 * (stopped, suspended, error) has no VNC server either. A paused one still shows. */
	if (strcmp(vm, "active") && strcmp(vm, "paused")) {
		nl_err_set(err, 409, "Instance %s is not ready", uuid);
		return -1;
	}
	char *addr = db_server_console_address(I(row, "id"));
	if (!addr || !*addr) {
		free(addr);
		nl_err_set(err, 409, "Guest does not have a console available.");
		return -1;
	}
	snprintf(url, len, "vnc://%s", addr);
	free(addr);
	return 0;
}

int server_remote_console(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct remote_console_in *in = r->input;
	char url[400];
	json_t *row = server_lookup(r, req_param(r, 0), err);
	int rc = -1;

	if (!row)
		return -1;
	if (console_url(row, in->protocol.v, in->type.v, false, url, sizeof(url), err))
		goto out;
	resp_json(out, 200, json_pack("{s:{s:s, s:s, s:s}}", "remote_console", "protocol", in->protocol.v, "type",
				      in->type.v, "url", url));
	rc = 0;
out:
	json_decref(row);
	return rc;
}

int server_console_legacy(struct req *r, json_t *row, const char *protocol, const char *type, struct resp *out,
			  struct nl_error *err)
{
	char url[400];
	(void)r;
	if (console_url(row, protocol, type, !strcmp(protocol, "vnc"), url, sizeof(url), err))
		return -1;
	resp_json(out, 200, json_pack("{s:{s:s, s:s}}", "console", "type", type, "url", url));
	return 0;
}
