/* Agent protocol, host side: registration, heartbeats, the reconcile listing and
 * power-state reports (docs/agent-protocol.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/http.h"
#include "api/internal/internal.h"
#include "common/log.h"
#include "common/util.h"
#include "db/agents.h"
#include "db/db.h"
#include "db/images.h"
#include "db/servers.h"

#define HI struct host_in
static const struct field_spec host_fields[] = {
	FIELD(HI, host, "host", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_NAME),
	FIELD(HI, agent, "agent", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_NAME),
	FIELD(HI, hypervisor_hostname, "hypervisor_hostname", SPEC_STRING, BOUNDED, LEN(1, 255)),
	FIELD(HI, hypervisor_type, "hypervisor_type", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 64)),
	FIELD(HI, hypervisor_version, "hypervisor_version", SPEC_INT, SPEC_HAS_MIN, .min = 0),
	FIELD(HI, arch, "arch", SPEC_STRING, BOUNDED, LEN(1, 32)),
	FIELD(HI, vcpus, "vcpus", SPEC_INT, SPEC_REQUIRED | SPEC_HAS_MIN, .min = 0),
	FIELD(HI, memory_mb, "memory_mb", SPEC_INT, SPEC_REQUIRED | SPEC_HAS_MIN, .min = 0),
	FIELD(HI, local_gb, "local_gb", SPEC_INT, SPEC_REQUIRED | SPEC_HAS_MIN, .min = 0),
	FIELD(HI, cpu_info, "cpu_info", SPEC_ANY, 0),
	FIELD(HI, host_ip, "host_ip", SPEC_STRING, BOUNDED, LEN(1, 64)),
	FIELD(HI, vnc_listen, "vnc_listen", SPEC_STRING, BOUNDED, LEN(1, 64)),
	SPEC_END_ROW
};
#undef HI
const struct field_spec internal_host_spec[] = { WRAPPER("host", SPEC_REQUIRED | SPEC_NO_EXTRA, host_fields), SPEC_END_ROW };
const struct field_spec internal_power_spec[] = {
	FIELD(struct power_in, power_state, "power_state", SPEC_INT, SPEC_REQUIRED | BOUNDED, .min = 0, .max = 7),
	SPEC_END_ROW
};

struct reg_ctx { struct host_row_in row; const char *owner; json_t *out; };

/* The caller claims the agent name and the host (first come, first served); names held
 * by another identity are refused before anything changes. An admin claims nothing. */
static int register_tx(void *p, struct nl_error *err)
{
	struct reg_ctx *c = p;
	int rc;
	if (c->owner) {
		if ((rc = db_agent_name_claim(c->row.agent, c->owner, c->row.now, err)) != 0) {
			if (rc > 0)
				nl_err_set(err, 403, "The agent name %s belongs to another agent identity.", c->row.agent);
			return -1;
		}
		if ((rc = db_host_claim(c->row.host, c->owner, c->row.now, err)) != 0) {
			if (rc > 0)
				nl_err_set(err, 403, "Compute host %s is claimed by another agent identity; an admin can "
						     "release it (novalite-manage agent release-host %s).",
					   c->row.host, c->row.host);
			return -1;
		}
	}
	return (c->out = db_host_register(&c->row, err)) ? 0 : -1;
}

int internal_host_register(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct host_in *in = r->input;
	struct reg_ctx c = { .row = {
		.host = in->host.v, .agent = in->agent.v,
		.hypervisor_hostname = in->hypervisor_hostname.set ? in->hypervisor_hostname.v : in->host.v,
		.hypervisor_type = in->hypervisor_type.v, .arch = in->arch.set ? in->arch.v : "x86_64",
		.host_ip = in->host_ip.set ? in->host_ip.v : "127.0.0.1",
		.hypervisor_version = in->hypervisor_version.v, .vcpus = in->vcpus.v,
		.memory_mb = in->memory_mb.v, .local_gb = in->local_gb.v, .now = nl_now_us(),
		.vnc_listen = in->vnc_listen.set ? in->vnc_listen.v : NULL }, .owner = internal_owner(r) };
	if (in->vnc_listen.set && !internal_ip_literal(in->vnc_listen.v)) {
		nl_err_set(err, 400, "Invalid vnc_listen '%s': it must be an IPv4 or IPv6 address.", in->vnc_listen.v);
		return -1;
	}
	char *cpu = in->cpu_info.set && in->cpu_info.v ? json_dumps(in->cpu_info.v, JSON_COMPACT) : NULL;
	c.row.cpu_info = cpu ? cpu : "{}";
	int rc = db_tx_run(register_tx, &c, err);
	free(cpu);
	if (rc)
		return -1;
	log_info("compute host %s registered by agent %s (%s, %lld vCPUs, %lld MB RAM, %lld GB disk)", in->host.v,
		 in->agent.v, in->hypervisor_type.v, in->vcpus.v, in->memory_mb.v, in->local_gb.v);
	/* Re-queued tasks of a restarted agent are waiting for it. */
	internal_tasks_notify();
	json_t *h = c.out;
	resp_json(out, 200, json_pack("{s:{s:O, s:O, s:O, s:b}}", "host", "host", json_object_get(h, "host"),
				      "id", json_object_get(h, "id"), "uuid", json_object_get(h, "uuid"), "disabled",
				      json_integer_value(json_object_get(h, "disabled")) != 0));
	json_decref(h);
	return 0;
}

struct hb_ctx { const char *agent, *owner; int missing; };

static int heartbeat_tx(void *p, struct nl_error *err)
{
	struct hb_ctx *c = p;
	if (c->owner && !db_agent_name_owned(c->agent, c->owner)) {
		c->missing = 1;   /* another identity's agent: as if unknown */
		return 0;
	}
	c->missing = db_agent_heartbeat(c->agent, c->owner, nl_now_us(), err);
	return c->missing < 0 ? -1 : 0;
}

int internal_agent_heartbeat(struct req *r, struct resp *out, struct nl_error *err)
{
	struct hb_ctx c = { req_param(r, 0), internal_owner(r), 0 };
	if (db_tx_run(heartbeat_tx, &c, err))
		return -1;
	if (c.missing) {
		nl_err_set(err, 404, "Agent %s has no registered host.", c.agent);
		return -1;
	}
	out->status = 204;
	return 0;
}

json_t *internal_instance_payload(json_t *row)
{
	char name[32], created[40];
	json_int_t id = json_integer_value(json_object_get(row, "id"));
	json_t *p = json_object();
	static const char *const copy[] = { "uuid", "id", "hostname", "host", "project_id", "user_id", "vcpus",
					    "memory_mb", "root_gb", "ephemeral_gb", "swap", "flavor_name", "image_ref",
					    "key_name", "key_data", "user_data", "vm_state", "task_state",
					    "power_state", "fixed_ip", "mac_address", NULL };
	for (int i = 0; copy[i]; i++) {
		json_t *v = json_object_get(row, copy[i]);
		json_object_set(p, copy[i], v ? v : json_null());
	}
	snprintf(name, sizeof(name), "instance-%08llx", (long long)id);
	json_object_set_new(p, "name", json_string(name));
	json_object_set(p, "display_name", json_object_get(row, "display_name"));
	json_object_set_new(p, "metadata", db_server_metadata(id));
	nl_time_iso_s(json_integer_value(json_object_get(row, "created_at")), created, sizeof(created));
	json_object_set_new(p, "created_at", json_string(created));
	/* Nova keeps config_drive as a string: "True", or "" for none. */
	const char *cd = json_string_value(json_object_get(row, "config_drive"));
	json_object_set_new(p, "config_drive", json_boolean(cd && *cd && strcmp(cd, "False") && strcmp(cd, "false")));
	json_t *az = json_object_get(row, "availability_zone");
	json_object_set(p, "availability_zone", json_is_string(az) ? az : json_null());
	json_object_set_new(p, "launch_index", json_integer(json_integer_value(json_object_get(row, "launch_index"))));
	/* The image as Glance has it now (a deleted image: no properties, no format). The
	 * agent picks the guest's devices from the properties (hw_disk_bus, hw_vif_model,
	 * hw_machine_type, hw_firmware_type, os_shutdown_timeout...). */
	const char *image_ref = json_string_value(json_object_get(row, "image_ref"));
	json_t *img = image_ref && *image_ref ? db_image_get(image_ref, NULL) : NULL;
	json_t *props = img ? json_object_get(img, "properties") : NULL;
	json_t *fmt = img ? json_object_get(img, "disk_format") : NULL;
	json_object_set_new(p, "image_properties", props ? json_deep_copy(props) : json_object());
	json_object_set(p, "disk_format", json_is_string(fmt) ? fmt : json_null());
	json_decref(img);
	return p;
}

int internal_host_instances(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *owner = internal_owner(r), *host = req_param(r, 0);
	/* The instances carry key data and user data: only the host's own agent reads them. */
	if (owner && !db_host_owned(host, owner)) {
		nl_err_set(err, 404, "Compute host %s could not be found.", host);
		return -1;
	}
	json_t *ids = db_host_instances(host), *list = json_array(), *x;
	size_t i;
	json_array_foreach(ids, i, x) {
		json_t *row = db_server_get_by_id(json_integer_value(json_object_get(x, "id")));
		if (row)
			json_array_append_new(list, internal_instance_payload(row));
		json_decref(row);
	}
	json_decref(ids);
	resp_json(out, 200, json_pack("{s:o}", "instances", list));
	return 0;
}

/* Nova's power-state sync (_sync_instance_power_state), reduced to the cases a
 * hypervisor can cause by itself: a running instance found shut off becomes stopped. */
struct power_ctx { const char *uuid, *owner; int power; int missing; };

static int power_tx(void *p, struct nl_error *err)
{
	struct power_ctx *c = p;
	if (c->owner && !db_instance_host_owned(c->uuid, c->owner)) {
		c->missing = 1;   /* another host's instance: as if unknown */
		return 0;
	}
	json_t *row = db_server_get(c->uuid, NULL, false);
	int64_t now = nl_now_us();
	int rc = 0;
	if (!row) {
		c->missing = 1;
		return 0;
	}
	int64_t id = json_integer_value(json_object_get(row, "id"));
	const char *vm = json_string_value(json_object_get(row, "vm_state"));
	if (!json_is_null(json_object_get(row, "task_state")) || db_tasks_open(c->uuid)) {
		json_decref(row);
		return 0;   /* a task is in flight: its result will set the state */
	}
	if (!strcmp(vm, "active") && (c->power == 4 || c->power == 6 || c->power == 0))
		rc = db_server_set_state(id, "active", NULL, "stopped", NULL, c->power, now, err);
	else
		rc = db_server_set_state(id, vm, NULL, vm, NULL, c->power, now, err);
	json_decref(row);
	return rc < 0 ? -1 : 0;
}

int internal_power_state(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct power_in *in = r->input;
	struct power_ctx c = { req_param(r, 0), internal_owner(r), (int)in->power_state.v, 0 };
	if (db_tx_run(power_tx, &c, err))
		return -1;
	if (c.missing) {
		nl_err_set(err, 404, "Instance %s could not be found.", c.uuid);
		return -1;
	}
	out->status = 204;
	return 0;
}
