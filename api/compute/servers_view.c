/* Server views (nova/api/openstack/compute/views/servers.py): the whole history of
 * every field on one screen, `if (mv >= …)` beside the field it changes. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/compute/servers.h"
#include "common/config.h"
#include "common/util.h"
#include "db/servers.h"

#define S(row, k) json_string_value(json_object_get(row, k))
#define I(row, k) json_integer_value(json_object_get(row, k))

/* Nova's status from vm_state and task_state (nova/api/openstack/common.py _STATE_MAP). */
const char *server_status(const char *vm, const char *task)
{
	static const struct { const char *vm, *task, *status; } map[] = {
		{ "active", "rebooting", "REBOOT" }, { "active", "reboot_pending", "REBOOT" },
		{ "active", "reboot_started", "REBOOT" }, { "active", "rebooting_hard", "HARD_REBOOT" },
		{ "active", "reboot_pending_hard", "HARD_REBOOT" }, { "active", "reboot_started_hard", "HARD_REBOOT" },
		{ "active", "rebuilding", "REBUILD" }, { "active", "migrating", "MIGRATING" },
		{ "active", "resize_prep", "RESIZE" }, { "active", NULL, "ACTIVE" },
		{ "building", NULL, "BUILD" }, { "stopped", "rebuilding", "REBUILD" }, { "stopped", NULL, "SHUTOFF" },
		{ "paused", NULL, "PAUSED" }, { "suspended", NULL, "SUSPENDED" }, { "error", "rebuilding", "REBUILD" },
		{ "error", NULL, "ERROR" }, { "deleted", NULL, "DELETED" }, { "soft-delete", NULL, "SOFT_DELETED" },
		{ "rescued", NULL, "RESCUE" }, { "shelved", NULL, "SHELVED" },
		{ "shelved_offloaded", NULL, "SHELVED_OFFLOADED" }, { "resized", NULL, "VERIFY_RESIZE" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].vm, vm) && (!map[i].task || (task && !strcmp(map[i].task, task))))
			return map[i].status;
	return "UNKNOWN";
}

/* hostId: sha224(project_id + host), so a tenant can tell its servers share a host
 * without learning the host's name. */
void server_host_id(const char *project, const char *host, char *out /* 57 */)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char buf[512];
	out[0] = '\0';
	if (!host || !*host)
		return;
	int len = snprintf(buf, sizeof(buf), "%s%s", project, host);
	EVP_Digest(buf, (size_t)len, md, &n, EVP_sha224(), NULL);
	nl_hex(md, n, out);
}

static json_t *addresses(json_t *row, bool detail)
{
	json_t *a = json_object();
	const char *ip = S(row, "fixed_ip");
	if (ip && *ip) {
		json_t *e = json_pack("{s:i, s:s}", "version", 4, "addr", ip);
		if (detail) {
			json_object_set_new(e, "OS-EXT-IPS:type", json_string("fixed"));
			json_object_set_new(e, "OS-EXT-IPS-MAC:mac_addr", json_string(S(row, "mac_address")));
		}
		json_object_set_new(a, "private", json_pack("[o]", e));
	}
	return a;
}

json_t *server_addresses(json_t *row)
{
	return addresses(row, true);
}

static json_t *flavor_view(const struct req *r, json_t *row)
{
	char rest[300];
	if (r->mv >= 47) {
		json_t *f = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s}", "vcpus", (json_int_t)I(row, "vcpus"), "ram",
				      (json_int_t)I(row, "memory_mb"), "disk", (json_int_t)I(row, "root_gb"),
				      "ephemeral", (json_int_t)I(row, "ephemeral_gb"), "swap", (json_int_t)I(row, "swap"),
				      "original_name", S(row, "flavor_name"));
		/* os_compute_api:os-flavor-extra-specs:index (reader) lets owners see them. */
		json_t *specs = json_loads(S(row, "flavor_extra_specs"), 0, NULL);
		json_object_set_new(f, "extra_specs", specs ? specs : json_object());
		return f;
	}
	snprintf(rest, sizeof(rest), "flavors/%s", S(row, "flavor_id"));
	json_t *links = compute_links(rest);
	json_array_remove(links, 0);   /* Nova shows only the bookmark link here */
	return json_pack("{s:s, s:o}", "id", S(row, "flavor_id"), "links", links);
}

static json_t *image_view(json_t *row)
{
	const char *img = S(row, "image_ref");
	char rest[300];
	if (!img || !*img)
		return json_string("");
	snprintf(rest, sizeof(rest), "images/%s", img);
	json_t *links = compute_links(rest);
	json_array_remove(links, 0);
	return json_pack("{s:s, s:o}", "id", img, "links", links);
}

static json_t *time_or_null(json_t *row, const char *k)
{
	char buf[40];
	json_t *v = json_object_get(row, k);
	if (!json_is_integer(v))
		return json_null();
	nl_time_iso(json_integer_value(v), false, buf, sizeof(buf));
	return json_string(buf);
}

json_t *server_view_basic(json_t *row)
{
	char rest[80];
	snprintf(rest, sizeof(rest), "servers/%s", S(row, "uuid"));
	return json_pack("{s:s, s:s, s:o}", "id", S(row, "uuid"), "name", S(row, "display_name"), "links",
			 compute_links(rest));
}

const char *server_host_status(json_t *host_row, int64_t now)
{
	if (!host_row)
		return "";
	if (I(host_row, "forced_down") ||
	    now - I(host_row, "last_seen_at") > (int64_t)g_config.service_down_time * 1000000)
		return "DOWN";
	return I(host_row, "disabled") ? "MAINTENANCE" : "UP";
}

json_t *server_view(const struct req *r, json_t *row, const struct server_extras *x)
{
	char rest[80], hid[64], created[40], updated[40], iname[32];
	const char *vm = S(row, "vm_state"), *task = S(row, "task_state");
	const char *status = server_status(vm, task);
	bool admin = auth_is_admin(&r->auth);
	json_t *s;

	snprintf(rest, sizeof(rest), "servers/%s", S(row, "uuid"));
	server_host_id(S(row, "project_id"), S(row, "host"), hid);
	nl_time_iso_s(I(row, "created_at"), created, sizeof(created));
	nl_time_iso_s(I(row, "updated_at"), updated, sizeof(updated));
	s = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:s, s:o, s:s, s:s, s:o, s:s}",
		      "id", S(row, "uuid"), "name", S(row, "display_name"), "status", status,
		      "tenant_id", S(row, "project_id"), "user_id", S(row, "user_id"),
		      "metadata", x && x->metadata ? json_incref(x->metadata) : json_object(), "hostId", hid,
		      "image", image_view(row), "flavor", flavor_view(r, row), "created", created, "updated", updated,
		      "addresses", addresses(row, !(x && x->minimal)),
		      "accessIPv4", S(row, "access_ip_v4") ? S(row, "access_ip_v4") : "",
		      "accessIPv6", S(row, "access_ip_v6") ? S(row, "access_ip_v6") : "",
		      "links", compute_links(rest), "OS-DCF:diskConfig", "MANUAL");
	if ((!strcmp(status, "ERROR") || !strcmp(status, "DELETED")) && x && x->fault) {
		char fc[40];
		nl_time_iso_s(I(x->fault, "created_at"), fc, sizeof(fc));
		json_t *f = json_pack("{s:I, s:s, s:s}", "code", (json_int_t)I(x->fault, "code"), "created", fc,
				      "message", S(x->fault, "message"));
		const char *details = S(x->fault, "details");
		if (details && *details && (admin || I(x->fault, "code") != 500))
			json_object_set_new(f, "details", json_string(details));
		json_object_set_new(s, "fault", f);
	}
	if (!strcmp(status, "ACTIVE") || !strcmp(status, "BUILD") || !strcmp(status, "REBUILD") ||
	    !strcmp(status, "MIGRATING"))
		json_object_set_new(s, "progress", json_integer(0));
	if (x && x->minimal)
		goto versioned;
	json_object_set_new(s, "OS-EXT-AZ:availability_zone", json_string(x && x->az ? x->az : ""));
	json_object_set_new(s, "config_drive", json_string(S(row, "config_drive") ? S(row, "config_drive") : ""));
	json_object_set(s, "key_name", json_object_get(row, "key_name"));
	json_object_set_new(s, "OS-SRV-USG:launched_at", time_or_null(row, "launched_at"));
	json_object_set_new(s, "OS-SRV-USG:terminated_at", time_or_null(row, "terminated_at"));
	json_object_set_new(s, "security_groups", json_pack("[{s:s}]", "name", "default"));
	if (admin) {
		snprintf(iname, sizeof(iname), "instance-%08llx", (long long)I(row, "id"));
		json_object_set(s, "OS-EXT-SRV-ATTR:host", json_object_get(row, "host"));
		json_object_set_new(s, "OS-EXT-SRV-ATTR:instance_name", json_string(iname));
		json_object_set(s, "OS-EXT-SRV-ATTR:hypervisor_hostname", json_object_get(row, "node"));
		if (r->mv >= 3) {
			json_object_set(s, "OS-EXT-SRV-ATTR:reservation_id", json_object_get(row, "reservation_id"));
			json_object_set(s, "OS-EXT-SRV-ATTR:launch_index", json_object_get(row, "launch_index"));
			json_object_set(s, "OS-EXT-SRV-ATTR:hostname", json_object_get(row, "hostname"));
			json_object_set_new(s, "OS-EXT-SRV-ATTR:kernel_id", json_string(""));
			json_object_set_new(s, "OS-EXT-SRV-ATTR:ramdisk_id", json_string(""));
			json_object_set_new(s, "OS-EXT-SRV-ATTR:root_device_name", json_string("/dev/vda"));
			json_object_set(s, "OS-EXT-SRV-ATTR:user_data", json_object_get(row, "user_data"));
		}
	}
	json_object_set(s, "OS-EXT-STS:task_state", json_object_get(row, "task_state"));
	json_object_set(s, "OS-EXT-STS:vm_state", json_object_get(row, "vm_state"));
	json_object_set(s, "OS-EXT-STS:power_state", json_object_get(row, "power_state"));
	json_object_set_new(s, "os-extended-volumes:volumes_attached", json_array());
	if (r->mv >= 16 && admin && x && x->host_status)
		json_object_set_new(s, "host_status", json_string(x->host_status));
versioned:
	if (r->mv >= 9)
		json_object_set_new(s, "locked", json_boolean(I(row, "locked")));
	if (r->mv >= 73)
		json_object_set(s, "locked_reason", json_object_get(row, "locked_reason"));
	if (r->mv >= 19)
		json_object_set(s, "description", json_object_get(row, "display_description"));
	if (r->mv >= 26)
		json_object_set_new(s, "tags", x && x->tags ? json_incref(x->tags) : json_array());
	if (r->mv >= 63) {
		json_t *tc = S(row, "trusted_certs") ? json_loads(S(row, "trusted_certs"), 0, NULL) : NULL;
		json_object_set_new(s, "trusted_image_certificates", tc ? tc : json_null());
	}
	if (r->mv >= 90 && (!admin || (x && x->minimal)))
		json_object_set(s, "OS-EXT-SRV-ATTR:hostname", json_object_get(row, "hostname"));
	if (r->mv >= 71 && x && x->groups)
		json_object_set(s, "server_groups", x->groups);
	return s;
}
