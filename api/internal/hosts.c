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
	SPEC_END_ROW
};
#undef HI
const struct field_spec internal_host_spec[] = { WRAPPER("host", SPEC_REQUIRED | SPEC_NO_EXTRA, host_fields), SPEC_END_ROW };
const struct field_spec internal_power_spec[] = {
	FIELD(struct power_in, power_state, "power_state", SPEC_INT, SPEC_REQUIRED | BOUNDED, .min = 0, .max = 7),
	SPEC_END_ROW
};

struct reg_ctx { struct host_row_in row; json_t *out; };

static int register_tx(void *p, struct nl_error *err)
{
	struct reg_ctx *c = p;
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
		.memory_mb = in->memory_mb.v, .local_gb = in->local_gb.v, .now = nl_now_us() } };
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

struct hb_ctx { const char *agent; int missing; };

static int heartbeat_tx(void *p, struct nl_error *err)
{
	struct hb_ctx *c = p;
	c->missing = db_agent_heartbeat(c->agent, nl_now_us(), err);
	return c->missing < 0 ? -1 : 0;
}

int internal_agent_heartbeat(struct req *r, struct resp *out, struct nl_error *err)
{
	struct hb_ctx c = { req_param(r, 0), 0 };
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
	json_t *ids = db_host_instances(req_param(r, 0)), *list = json_array(), *x;
	size_t i;
	(void)err;
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
struct power_ctx { const char *uuid; int power; int missing; };

static int power_tx(void *p, struct nl_error *err)
{
	struct power_ctx *c = p;
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
	struct power_ctx c = { req_param(r, 0), (int)in->power_state.v, 0 };
	if (db_tx_run(power_tx, &c, err))
		return -1;
	if (c.missing) {
		nl_err_set(err, 404, "Instance %s could not be found.", c.uuid);
		return -1;
	}
	out->status = 204;
	return 0;
}
