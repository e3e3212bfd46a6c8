/* Server views (nova/api/openstack/compute/views/servers.py): the whole history of
 * every field on one screen, `if (mv >= …)` beside the field it changes. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/compute/servers.h"
#include "common/config.h"
#include "common/jbuf.h"
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

/* The one synthetic "private" network until there is a network service; detail
 * views add the OS-EXT-IPS fields. */
static void write_addresses(struct jbuf *b, json_t *row, bool detail)
{
	const char *ip = S(row, "fixed_ip");
	jb_obj(b);
	if (ip && *ip) {
		jb_key(b, "private");
		jb_arr(b);
		jb_obj(b);
		jb_key(b, "version");
		jb_int(b, 4);
		jb_key(b, "addr");
		jb_str(b, ip);
		if (detail) {
			jb_key(b, "OS-EXT-IPS:type");
			jb_str(b, "fixed");
			jb_key(b, "OS-EXT-IPS-MAC:mac_addr");
			jb_str(b, S(row, "mac_address"));
		}
		jb_obj_end(b);
		jb_arr_end(b);
	}
	jb_obj_end(b);
}

json_t *server_addresses(json_t *row)
{
	struct jbuf b;
	jb_init(&b, 256);
	write_addresses(&b, row, true);
	json_t *a = json_loads(b.s, 0, NULL);
	jb_free(&b);
	return a ? a : json_object();
}

/* [{"rel": "self", ...}, {"rel": "bookmark", ...}] for "<collection>/<id>"; Nova's
 * embedded image and flavor references carry only the bookmark. */
static void write_links(struct jbuf *b, const char *collection, const char *id, bool self)
{
	const char *base = service_base_url(SVC_COMPUTE);
	jb_arr(b);
	if (self) {
		jb_obj(b);
		jb_key(b, "rel");
		jb_str(b, "self");
		jb_key(b, "href");
		jb_strf(b, "%s/v2.1/%s/%s", base, collection, id);
		jb_obj_end(b);
	}
	jb_obj(b);
	jb_key(b, "rel");
	jb_str(b, "bookmark");
	jb_key(b, "href");
	jb_strf(b, "%s/%s/%s", base, collection, id);
	jb_obj_end(b);
	jb_arr_end(b);
}

static void write_flavor(struct jbuf *b, const struct req *r, json_t *row)
{
	jb_obj(b);
	if (r->mv >= 47) {
		jb_key(b, "vcpus");
		jb_int(b, I(row, "vcpus"));
		jb_key(b, "ram");
		jb_int(b, I(row, "memory_mb"));
		jb_key(b, "disk");
		jb_int(b, I(row, "root_gb"));
		jb_key(b, "ephemeral");
		jb_int(b, I(row, "ephemeral_gb"));
		jb_key(b, "swap");
		jb_int(b, I(row, "swap"));
		jb_key(b, "original_name");
		jb_str(b, S(row, "flavor_name"));
		/* os_compute_api:os-flavor-extra-specs:index (reader) lets owners see them;
		 * the column holds the snapshot as compact JSON. */
		const char *specs = S(row, "flavor_extra_specs");
		jb_key(b, "extra_specs");
		if (specs && *specs == '{')
			jb_raw(b, specs, strlen(specs));
		else
			jb_raw(b, "{}", 2);
	} else {
		jb_key(b, "id");
		jb_str(b, S(row, "flavor_id"));
		jb_key(b, "links");
		write_links(b, "flavors", S(row, "flavor_id"), false);
	}
	jb_obj_end(b);
}

static void write_image(struct jbuf *b, json_t *row)
{
	const char *img = S(row, "image_ref");
	if (!img || !*img) {
		jb_str(b, "");
		return;
	}
	jb_obj(b);
	jb_key(b, "id");
	jb_str(b, img);
	jb_key(b, "links");
	write_links(b, "images", img, false);
	jb_obj_end(b);
}

static void write_time(struct jbuf *b, json_t *row, const char *k, bool seconds_z)
{
	char buf[40];
	json_t *v = json_object_get(row, k);
	if (!json_is_integer(v)) {
		jb_null(b);
		return;
	}
	if (seconds_z)
		nl_time_iso_s(json_integer_value(v), buf, sizeof(buf));
	else
		nl_time_iso(json_integer_value(v), false, buf, sizeof(buf));
	jb_str(b, buf);
}

void server_view_basic_write(struct jbuf *b, json_t *row)
{
	jb_obj(b);
	jb_key(b, "id");
	jb_str(b, S(row, "uuid"));
	jb_key(b, "name");
	jb_str(b, S(row, "display_name"));
	jb_key(b, "links");
	write_links(b, "servers", S(row, "uuid"), true);
	jb_obj_end(b);
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

/* A column as JSON: its value, or null when absent. */
static void col(struct jbuf *b, json_t *row, const char *k)
{
	jb_json(b, json_object_get(row, k));
}

void server_view_write(struct jbuf *b, const struct req *r, json_t *row, const struct server_extras *x)
{
	char hid[64], iname[32];
	const char *vm = S(row, "vm_state"), *task = S(row, "task_state");
	const char *status = server_status(vm, task);
	bool admin = auth_is_admin(&r->auth), minimal = x && x->minimal;

	jb_obj(b);
	jb_key(b, "id");
	jb_str(b, S(row, "uuid"));
	jb_key(b, "name");
	jb_str(b, S(row, "display_name"));
	jb_key(b, "status");
	jb_str(b, status);
	jb_key(b, "tenant_id");
	jb_str(b, S(row, "project_id"));
	jb_key(b, "user_id");
	jb_str(b, S(row, "user_id"));
	jb_key(b, "metadata");
	if (x && x->metadata)
		jb_json(b, x->metadata);
	else
		jb_raw(b, "{}", 2);
	server_host_id(S(row, "project_id"), S(row, "host"), hid);
	jb_key(b, "hostId");
	jb_str(b, hid);
	jb_key(b, "image");
	write_image(b, row);
	jb_key(b, "flavor");
	write_flavor(b, r, row);
	jb_key(b, "created");
	write_time(b, row, "created_at", true);
	jb_key(b, "updated");
	write_time(b, row, "updated_at", true);
	jb_key(b, "addresses");
	write_addresses(b, row, !minimal);
	jb_key(b, "accessIPv4");
	jb_str(b, S(row, "access_ip_v4") ? S(row, "access_ip_v4") : "");
	jb_key(b, "accessIPv6");
	jb_str(b, S(row, "access_ip_v6") ? S(row, "access_ip_v6") : "");
	jb_key(b, "links");
	write_links(b, "servers", S(row, "uuid"), true);
	jb_key(b, "OS-DCF:diskConfig");
	jb_str(b, "MANUAL");
	if ((!strcmp(status, "ERROR") || !strcmp(status, "DELETED")) && x && x->fault) {
		const char *details = S(x->fault, "details");
		jb_key(b, "fault");
		jb_obj(b);
		jb_key(b, "code");
		jb_int(b, I(x->fault, "code"));
		jb_key(b, "created");
		write_time(b, x->fault, "created_at", true);
		jb_key(b, "message");
		jb_str(b, S(x->fault, "message"));
		if (details && *details && (admin || I(x->fault, "code") != 500)) {
			jb_key(b, "details");
			jb_str(b, details);
		}
		jb_obj_end(b);
	}
	if (!strcmp(status, "ACTIVE") || !strcmp(status, "BUILD") || !strcmp(status, "REBUILD") ||
	    !strcmp(status, "MIGRATING")) {
		jb_key(b, "progress");
		jb_int(b, 0);
	}
	if (!minimal) {
		jb_key(b, "OS-EXT-AZ:availability_zone");
		jb_str(b, x && x->az ? x->az : "");
		jb_key(b, "config_drive");
		jb_str(b, S(row, "config_drive") ? S(row, "config_drive") : "");
		jb_key(b, "key_name");
		col(b, row, "key_name");
		jb_key(b, "OS-SRV-USG:launched_at");
		write_time(b, row, "launched_at", false);
		jb_key(b, "OS-SRV-USG:terminated_at");
		write_time(b, row, "terminated_at", false);
		jb_key(b, "security_groups");
		jb_raw(b, "[{\"name\":\"default\"}]", 20);
		if (admin) {
			snprintf(iname, sizeof(iname), "instance-%08llx", (long long)I(row, "id"));
			jb_key(b, "OS-EXT-SRV-ATTR:host");
			col(b, row, "host");
			jb_key(b, "OS-EXT-SRV-ATTR:instance_name");
			jb_str(b, iname);
			jb_key(b, "OS-EXT-SRV-ATTR:hypervisor_hostname");
			col(b, row, "node");
			if (r->mv >= 3) {
				jb_key(b, "OS-EXT-SRV-ATTR:reservation_id");
				col(b, row, "reservation_id");
				jb_key(b, "OS-EXT-SRV-ATTR:launch_index");
				col(b, row, "launch_index");
				jb_key(b, "OS-EXT-SRV-ATTR:hostname");
				col(b, row, "hostname");
				jb_key(b, "OS-EXT-SRV-ATTR:kernel_id");
				jb_str(b, "");
				jb_key(b, "OS-EXT-SRV-ATTR:ramdisk_id");
				jb_str(b, "");
				jb_key(b, "OS-EXT-SRV-ATTR:root_device_name");
				jb_str(b, "/dev/vda");
				jb_key(b, "OS-EXT-SRV-ATTR:user_data");
				col(b, row, "user_data");
			}
		}
		jb_key(b, "OS-EXT-STS:task_state");
		col(b, row, "task_state");
		jb_key(b, "OS-EXT-STS:vm_state");
		col(b, row, "vm_state");
		jb_key(b, "OS-EXT-STS:power_state");
		col(b, row, "power_state");
		jb_key(b, "os-extended-volumes:volumes_attached");
		jb_raw(b, "[]", 2);
		if (r->mv >= 16 && admin && x && x->host_status) {
			jb_key(b, "host_status");
			jb_str(b, x->host_status);
		}
	}
	if (r->mv >= 9) {
		jb_key(b, "locked");
		jb_bool(b, I(row, "locked") != 0);
	}
	if (r->mv >= 73) {
		jb_key(b, "locked_reason");
		col(b, row, "locked_reason");
	}
	if (r->mv >= 19) {
		jb_key(b, "description");
		col(b, row, "display_description");
	}
	if (r->mv >= 26) {
		jb_key(b, "tags");
		if (x && x->tags)
			jb_json(b, x->tags);
		else
			jb_raw(b, "[]", 2);
	}
	if (r->mv >= 63) {
		const char *tc = S(row, "trusted_certs");
		jb_key(b, "trusted_image_certificates");
		if (tc && *tc == '[')
			jb_raw(b, tc, strlen(tc));
		else
			jb_null(b);
	}
	if (r->mv >= 90 && (!admin || minimal)) {
		jb_key(b, "OS-EXT-SRV-ATTR:hostname");
		col(b, row, "hostname");
	}
	if (r->mv >= 71 && x && x->groups) {
		jb_key(b, "server_groups");
		jb_json(b, x->groups);
	}
	jb_obj_end(b);
}
