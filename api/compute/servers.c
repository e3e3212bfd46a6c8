/* /v2.1/servers: create (validate → quota → schedule and claim → tasks, in one
 * transaction), list and detail with Nova's filters and paging, show, update, delete.
 * Actions are in server_actions.c, sub-resources in server_meta.c. */
#include <assert.h>
#include <limits.h>
#include <regex.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/compute/servers.h"
#include "api/handlers.h"
#include "api/internal/internal.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "db/compute.h"
#include "db/db.h"
#include "db/images.h"
#include "db/servers.h"
#include "scheduler/scheduler.h"

#define S(row, k) json_string_value(json_object_get(row, k))
#define I(row, k) json_integer_value(json_object_get(row, k))
#define DEFAULT_AZ "nova"

/* ---- specs (nova/api/openstack/compute/schemas/servers.py) ---- */
#define SI struct server_in
/* Nova's db MAX_INT: the largest count Nova's DB takes; beyond it a C int would wrap. */
#define MAX_INT32 0x7FFFFFFF
static const char *const disk_configs[] = { "AUTO", "MANUAL", NULL };
#define F_NAME FIELD(SI, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_NAME)
#define F_COMMON                                                                                              \
	F_NAME,                                                                                               \
	FIELD(SI, image_ref, "imageRef", SPEC_STRING, 0),                                                     \
	FIELD(SI, flavor_ref, "flavorRef", SPEC_ANY, SPEC_REQUIRED),                                          \
	FIELD(SI, admin_pass, "adminPass", SPEC_STRING, 0),                                                   \
	{ .name = "metadata", .type = SPEC_STRMAP, .charset = "a-zA-Z0-9-_:. ", .offset = offsetof(SI, metadata) }, \
	FIELD(SI, disk_config, "OS-DCF:diskConfig", SPEC_STRING, 0, .enumv = disk_configs),                   \
	FIELD(SI, access_ip_v4, "accessIPv4", SPEC_STRING, 0, .format = FMT_IPV4),                                                \
	FIELD(SI, access_ip_v6, "accessIPv6", SPEC_STRING, 0, .format = FMT_IPV6),                                                \
	FIELD(SI, availability_zone, "availability_zone", SPEC_STRING, BOUNDED, LEN(1, 255), .format = FMT_NAME), \
	FIELD(SI, bdm, "block_device_mapping", SPEC_ARRAY, 0),                                                \
	FIELD(SI, bdm_v2, "block_device_mapping_v2", SPEC_ARRAY, 0),                                          \
	FIELD(SI, config_drive, "config_drive", SPEC_BOOL, SPEC_BOOL_STRING),                                 \
	FIELD(SI, key_name, "key_name", SPEC_STRING, BOUNDED, LEN(1, 255), .format = FMT_NAME),              \
	FIELD(SI, min_count, "min_count", SPEC_INT, SPEC_INT_STRING | BOUNDED, LEN(1, MAX_INT32)),            \
	FIELD(SI, max_count, "max_count", SPEC_INT, SPEC_INT_STRING | BOUNDED, LEN(1, MAX_INT32)),            \
	FIELD(SI, return_reservation_id, "return_reservation_id", SPEC_BOOL, SPEC_BOOL_STRING),              \
	FIELD(SI, security_groups, "security_groups", SPEC_ARRAY, 0),                                         \
	FIELD(SI, user_data, "user_data", SPEC_STRING, SPEC_HAS_MAX, .max = 65535)
#define F_NETWORKS(flags) FIELD(SI, networks, "networks", SPEC_ANY, flags)
#define F_PERSONALITY FIELD(SI, personality, "personality", SPEC_ARRAY, 0)
#define F_DESC FIELD(SI, description, "description", SPEC_STRING, SPEC_NULLABLE | SPEC_HAS_MAX, .max = 255, .format = FMT_PRINTABLE)
#define F_TAGS FIELD(SI, tags, "tags", SPEC_ARRAY, 0)
#define F_CERTS FIELD(SI, trusted_certs, "trusted_image_certificates", SPEC_ANY, SPEC_NULLABLE)
#define F_HOSTS FIELD(SI, host, "host", SPEC_STRING, BOUNDED, LEN(1, 255)), \
	FIELD(SI, hypervisor_hostname, "hypervisor_hostname", SPEC_STRING, BOUNDED, LEN(1, 255))
#define F_HOSTNAME FIELD(SI, hostname, "hostname", SPEC_STRING, BOUNDED, LEN(2, 63), .format = FMT_HOSTNAME)
#define ROOT(srv) { WRAPPER("server", SPEC_REQUIRED | SPEC_NO_EXTRA, srv), \
	FIELD(SI, hints, "os:scheduler_hints", SPEC_OBJECT, 0, .sub = hint_fields), \
	FIELD(SI, hints2, "OS-SCH-HNT:scheduler_hints", SPEC_OBJECT, 0, .sub = hint_fields), SPEC_END_ROW }
static const struct field_spec hint_fields[] = { SPEC_END_ROW };
static const struct field_spec c21[] = { F_COMMON, F_NETWORKS(0), F_PERSONALITY, SPEC_END_ROW };
static const struct field_spec c219[] = { F_COMMON, F_NETWORKS(0), F_PERSONALITY, F_DESC, SPEC_END_ROW };
static const struct field_spec c237[] = { F_COMMON, F_NETWORKS(SPEC_REQUIRED), F_PERSONALITY, F_DESC, SPEC_END_ROW };
static const struct field_spec c252[] = { F_COMMON, F_NETWORKS(SPEC_REQUIRED), F_PERSONALITY, F_DESC, F_TAGS, SPEC_END_ROW };
static const struct field_spec c257[] = { F_COMMON, F_NETWORKS(SPEC_REQUIRED), F_DESC, F_TAGS, SPEC_END_ROW };
static const struct field_spec c263[] = { F_COMMON, F_NETWORKS(SPEC_REQUIRED), F_DESC, F_TAGS, F_CERTS, SPEC_END_ROW };
static const struct field_spec c274[] = { F_COMMON, F_NETWORKS(SPEC_REQUIRED), F_DESC, F_TAGS, F_CERTS, F_HOSTS, SPEC_END_ROW };
static const struct field_spec c290[] = { F_COMMON, F_NETWORKS(SPEC_REQUIRED), F_DESC, F_TAGS, F_CERTS, F_HOSTS, F_HOSTNAME, SPEC_END_ROW };
const struct field_spec server_create_v21[] = ROOT(c21);
const struct field_spec server_create_v219[] = ROOT(c219);
const struct field_spec server_create_v237[] = ROOT(c237);
const struct field_spec server_create_v252[] = ROOT(c252);
const struct field_spec server_create_v257[] = ROOT(c257);
const struct field_spec server_create_v263[] = ROOT(c263);
const struct field_spec server_create_v274[] = ROOT(c274);
const struct field_spec server_create_v290[] = ROOT(c290);

#define F_UPD F_NAME_OPT, FIELD(SI, disk_config, "OS-DCF:diskConfig", SPEC_STRING, 0, .enumv = disk_configs), \
	FIELD(SI, access_ip_v4, "accessIPv4", SPEC_STRING, 0, .format = FMT_IPV4), FIELD(SI, access_ip_v6, "accessIPv6", SPEC_STRING, 0, .format = FMT_IPV6)
#define F_NAME_OPT FIELD(SI, name, "name", SPEC_STRING, BOUNDED, LEN(1, 255), .format = FMT_NAME)
static const struct field_spec u21[] = { F_UPD, SPEC_END_ROW };
static const struct field_spec u219[] = { F_UPD, F_DESC, SPEC_END_ROW };
static const struct field_spec u290[] = { F_UPD, F_DESC, F_HOSTNAME, SPEC_END_ROW };
const struct field_spec server_update_v21[] = { WRAPPER("server", SPEC_REQUIRED | SPEC_NO_EXTRA, u21), SPEC_END_ROW };
const struct field_spec server_update_v219[] = { WRAPPER("server", SPEC_REQUIRED | SPEC_NO_EXTRA, u219), SPEC_END_ROW };
const struct field_spec server_update_v290[] = { WRAPPER("server", SPEC_REQUIRED | SPEC_NO_EXTRA, u290), SPEC_END_ROW };
#undef SI

/* ---- shared helpers ---- */
json_t *server_lookup(const struct req *r, const char *uuid, struct nl_error *err)
{
	json_t *row = db_server_get(uuid, auth_is_admin(&r->auth) ? NULL : r->auth.project_id, false);
	if (!row)
		nl_err_set(err, 404, "Instance %s could not be found.", uuid);
	return row;
}

int server_check_lock(const struct req *r, json_t *row, struct nl_error *err)
{
	if (I(row, "locked") && !auth_is_admin(&r->auth)) {
		nl_err_set(err, 409, "Instance %s is locked", S(row, "uuid"));
		return -1;
	}
	return 0;
}

/* Nova's hostname from a display name (nova/utils.py sanitize_hostname, then
 * compute/api.py _set_instance_hostname): the first 63 characters up to U+00FF,
 * " ", "_" and "." become "-", anything but letters, digits and "-" is dropped,
 * lower case, no leading or trailing "-"; empty means "Server-<uuid>"; with several
 * instances "-<index>" is appended. Unlike Nova, Latin-1 letters are dropped too and
 * the suffix never makes it longer than 63: the name reaches the DHCP host file
 * (comma-separated, dnsmasq's 63-byte limit) and the guest, so only [a-z0-9-] leave here. */
static void sanitize_hostname(const char *name, const char *uuid, int index, int count, char *out, size_t len)
{
	size_t o = 0, chars = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p && chars < 63; p++) {
		unsigned char c = *p;
		if (c >= 0x80) {
			/* U+0080..U+00FF (lead byte C2/C3) count toward the 63; others are removed first. */
			if (c == 0xC2 || c == 0xC3)
				chars++;
			continue;
		}
		chars++;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == ' ' || c == '_' || c == '.')
			c = '-';
		if (((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') && o + 1 < len)
			out[o++] = (char)c;
	}
	out[o] = '\0';
	size_t lead = strspn(out, "-");
	memmove(out, out + lead, o - lead + 1);
	o -= lead;
	while (o && out[o - 1] == '-')
		out[--o] = '\0';
	if (!o) {
		snprintf(out, len, "Server-%s", uuid);
		return;
	}
	if (count > 1) {
		char suffix[16];
		int n = snprintf(suffix, sizeof(suffix), "-%d", index + 1);
		size_t room = 63 - (size_t)n;
		if (o > room)
			o = room;
		while (o > 1 && out[o - 1] == '-')
			o--;
		snprintf(out + o, len - o, "%s", suffix);
	}
}

/* Nova's compute/api.py _validate_flavor_image_nostatus for an image-backed server:
 * min_ram against the flavor's memory; the image's size (and, checked here rather
 * than on the host, its virtual size) and min_disk against the root disk. A root
 * disk of 0 means "the image's size" and needs the zero_disk_flavor rule (admin). */
static int check_flavor_image(const struct req *r, json_t *flavor, json_t *image, struct nl_error *err)
{
	long long mem = I(flavor, "memory_mb"), root_gb = I(flavor, "root_gb");
	long long min_ram = I(image, "min_ram"), min_disk = I(image, "min_disk");
	/* Sizes in bytes, unsigned: Glance stores a qcow2's 64-bit virtual size as given,
	 * so one past 2^63 reads back negative and must still compare as huge. */
	unsigned long long size = (unsigned long long)I(image, "size");
	unsigned long long vsize = (unsigned long long)I(image, "virtual_size");
	const unsigned long long gib = 1ULL << 30, max_gb = ULLONG_MAX >> 30;
	if (mem < min_ram) {
		nl_err_set(err, 400, "Flavor's memory is too small for requested image.");
		return -1;
	}
	if (root_gb == 0) {
		if (!auth_is_admin(&r->auth)) {
			nl_err_set(err, 403, "Only volume-backed servers are allowed for flavors with zero disk.");
			return -1;
		}
		return 0;
	}
	/* root_gb is 1..2^31-1 (the flavor spec), min_disk >= 0 (Glance's); clamp anyway
	 * so the byte counts cannot wrap. */
	unsigned long long dest = ((unsigned long long)root_gb > max_gb ? max_gb : (unsigned long long)root_gb) * gib;
	unsigned long long want_min = min_disk <= 0 ? 0 :
				      ((unsigned long long)min_disk > max_gb ? max_gb : (unsigned long long)min_disk) * gib;
	unsigned long long img = size > vsize ? size : vsize;
	if (img > dest) {
		nl_err_set(err, 400, "Flavor's disk is too small for requested image. Flavor disk is %llu bytes, image is "
			   "%llu bytes.", dest, img);
		return -1;
	}
	if (want_min > dest) {
		nl_err_set(err, 400, "Flavor's disk is smaller than the minimum size specified in image metadata. Flavor "
			   "disk is %llu bytes, minimum size is %llu bytes.", dest, want_min);
		return -1;
	}
	return 0;
}

/* ---- create ---- */
#define MAX_CREATE 1000
struct create_ctx {
	const struct req *r;
	const struct server_in *in;
	json_t *flavor;                 /* borrowed */
	json_t *image_props;            /* borrowed: the image's custom properties */
	const char *image_ref, *key_data, *network, *group;
	const char *az;                 /* the zone part of availability_zone, or NULL */
	const char *az_full;            /* availability_zone as given ("az", "az:host", "az:host:node") */
	char force_host[300];           /* ":host" from the 2.74 host field, or "" */
	const char *const *same, *const *diff;
	size_t n_same, n_diff;
	enum sched_group_policy policy;
	int max_per_host;
	int min, max;                   /* requested (1..MAX_CREATE) */
	int count;                      /* what the quota allows, set in create_tx */
	json_t *metadata, *tags;        /* borrowed */
	char reservation_id[16];
	char (*uuids)[40];
	char explain[2048];
	bool scheduled;
};

/* Quota: how many of the requested instances fit (Nova lowers max_count to what fits
 * as long as min_count does). */
static int quota_fit(const struct req *r, json_t *flavor, int min, int max, int *count, struct nl_error *err)
{
	struct server_usage u;
	long long lim_i = db_quota_limit(r->auth.project_id, "instances", g_config.quota_instances);
	long long lim_c = db_quota_limit(r->auth.project_id, "cores", g_config.quota_cores);
	long long lim_r = db_quota_limit(r->auth.project_id, "ram", g_config.quota_ram);
	long long vc = I(flavor, "vcpus"), ram = I(flavor, "memory_mb");
	db_server_usage(r->auth.project_id, &u);
	long long fit = max;
	if (lim_i >= 0 && lim_i - u.instances < fit)
		fit = lim_i - u.instances;
	if (lim_c >= 0 && vc > 0 && (lim_c - u.cores) / vc < fit)
		fit = (lim_c - u.cores) / vc;
	if (lim_r >= 0 && ram > 0 && (lim_r - u.ram) / ram < fit)
		fit = (lim_r - u.ram) / ram;
	if (fit >= min) {
		*count = (int)fit;
		return 0;
	}
	/* Report the first resource that cannot hold min_count, in Nova's words. */
	const char *res = "instances";
	long long req = min, used = u.instances, lim = lim_i;
	if (!(lim_i < 0 || u.instances + min <= lim_i)) {
		/* instances it is */
	} else if (lim_c >= 0 && u.cores + vc * min > lim_c) {
		res = "cores", req = vc * min, used = u.cores, lim = lim_c;
	} else {
		res = "ram", req = ram * min, used = u.ram, lim = lim_r;
	}
	nl_err_set(err, 403, "Quota exceeded for %s: Requested %lld, but already used %lld of %lld %s", res, req, used,
		   lim, res);
	return -1;
}

/* The quotas a create consumes, counted inside create_tx: instances, cores and ram
 * (which also decide c->count), metadata_items, and server_group_members. */
static int create_quota_check(struct create_ctx *c, struct nl_error *err)
{
	const struct req *r = c->r;
	long long meta_lim = db_quota_limit(r->auth.project_id, "metadata_items", g_config.quota_metadata_items);
	if (meta_lim >= 0 && (long long)json_object_size(c->metadata) > meta_lim) {
		nl_err_set(err, 403, "Quota exceeded for metadata_items: Requested %zu, but already used 0 of %lld "
			   "metadata_items", json_object_size(c->metadata), meta_lim);
		return -1;
	}
	if (quota_fit(r, c->flavor, c->min, c->max, &c->count, err))
		return -1;
	if (c->group) {
		long long lim = db_quota_limit(r->auth.project_id, "server_group_members",
					       g_config.quota_server_group_members);
		if (lim >= 0 && db_server_group_member_count(c->group) + c->count > lim) {
			nl_err_set(err, 403, "Quota exceeded, too many servers in group");
			return -1;
		}
	}
	return 0;
}

static int create_tx(void *p, struct nl_error *err)
{
	struct create_ctx *c = p;
	const struct server_in *in = c->in;
	const struct req *r = c->r;
	struct sched_host_set set;
	struct sched_config cfg;
	struct sched_request sr = { 0 };
	struct sched_explain ex;
	int64_t now = nl_now_us();
	int rc = -1;

	/* Every quota this create consumes is counted here, inside the IMMEDIATE
	 * transaction that writes the rows: concurrent creates cannot overshoot. */
	if (create_quota_check(c, err))
		return -1;
	assert(c->count >= 1 && c->count <= MAX_CREATE);
	/* The runner may call us again after SQLITE_BUSY: fresh ids each attempt. */
	free(c->uuids);
	c->uuids = nl_calloc((size_t)c->count, sizeof(*c->uuids));
	for (int i = 0; i < c->count; i++)
		nl_uuid_new(c->uuids[i]);
	size_t *chosen = nl_calloc((size_t)c->count, sizeof(size_t));
	const char **hints = nl_calloc(c->n_same + c->n_diff + 1, sizeof(char *));

	for (size_t i = 0; i < c->n_same; i++)
		hints[i] = c->same[i];
	for (size_t i = 0; i < c->n_diff; i++)
		hints[c->n_same + i] = c->diff[i];
	db_sched_hosts_load(&set, now, (int64_t)g_config.service_down_time * 1000000, c->group, hints,
			    c->n_same + c->n_diff);
	sched_config_defaults(&cfg);
	cfg.cpu_allocation_ratio = g_config.cpu_allocation_ratio;
	cfg.ram_allocation_ratio = g_config.ram_allocation_ratio;
	cfg.disk_allocation_ratio = g_config.disk_allocation_ratio;
	cfg.reserved_host_memory_mb = g_config.reserved_host_memory_mb;
	cfg.ram_weight_multiplier = g_config.ram_weight_multiplier;
	cfg.cpu_weight_multiplier = g_config.cpu_weight_multiplier;
	cfg.disk_weight_multiplier = g_config.disk_weight_multiplier;

	/* The flavor's extra specs, as the filters read them. */
	json_t *specs = json_object_get(c->flavor, "extra_specs");
	size_t nspec = json_object_size(specs), k = 0;
	struct sched_kv *kv = nl_calloc(nspec + 1, sizeof(*kv));
	const char *key;
	json_t *val;
	json_object_foreach(specs, key, val) {
		kv[k].key = key;
		kv[k++].value = json_string_value(val);
	}
	sr.vcpus = I(c->flavor, "vcpus");
	sr.ram_mb = I(c->flavor, "memory_mb");
	sr.disk_gb = I(c->flavor, "root_gb") + I(c->flavor, "ephemeral_gb") + (I(c->flavor, "swap") + 1023) / 1024;
	sr.extra_specs = kv;
	sr.n_extra_specs = k;
	/* Image properties (hw_architecture, img_hv_type, ...) for ImagePropertiesFilter. */
	size_t nprop = json_object_size(c->image_props), np = 0;
	struct sched_kv *props = nl_calloc(nprop + 1, sizeof(*props));
	json_object_foreach(c->image_props, key, val) {
		props[np].key = key;
		props[np++].value = json_string_value(val);
	}
	sr.image_props = props;
	sr.n_image_props = np;
	/* The scheduler parses Nova's "az:host:node" forms itself. */
	sr.az = c->az_full;
	sr.force_host = c->force_host[0] ? c->force_host : NULL;
	sr.group_policy = c->policy;
	sr.max_server_per_host = c->max_per_host;
	sr.same_host = c->same;
	sr.n_same_host = c->n_same;
	sr.different_host = c->diff;
	sr.n_different_host = c->n_diff;
	sr.num_instances = c->count;
	memset(&ex, 0, sizeof(ex));
	c->scheduled = sched_select(&cfg, set.hosts, set.n, &sr, chosen, &ex) == 0;
	sched_explain_render(&ex, c->explain, sizeof(c->explain));

	for (int i = 0; i < c->count; i++) {
		char name[300], hostname[64];
		const char *host = c->scheduled ? set.hosts[chosen[i]].name : NULL;
		if (c->count > 1)
			snprintf(name, sizeof(name), "%s-%d", in->name.v, i + 1);
		else
			snprintf(name, sizeof(name), "%s", in->name.v);
		if (in->hostname.set && c->count == 1)
			snprintf(hostname, sizeof(hostname), "%s", in->hostname.v);
		else
			sanitize_hostname(in->name.v, c->uuids[i], i, c->count, hostname, sizeof(hostname));
		char *certs = in->trusted_certs.set && in->trusted_certs.v && !json_is_null(in->trusted_certs.v) ?
				      json_dumps(in->trusted_certs.v, JSON_COMPACT) : NULL;
		struct server_row_in row = {
			.uuid = c->uuids[i], .project_id = r->auth.project_id, .user_id = r->auth.user_id,
			.name = name, .description = in->description.set && !in->description.null ? in->description.v : NULL,
			.hostname = hostname, .reservation_id = c->reservation_id, .launch_index = i,
			.image_ref = c->image_ref, .flavor = c->flavor,
			.key_name = in->key_name.set ? in->key_name.v : NULL, .key_data = c->key_data,
			.user_data = in->user_data.set ? in->user_data.v : NULL,
			.availability_zone = in->availability_zone.set ? c->az : NULL, .host = host,
			.vm_state = c->scheduled ? "building" : "error", .task_state = c->scheduled ? "spawning" : NULL,
			.access_ip_v4 = in->access_ip_v4.set ? in->access_ip_v4.v : NULL,
			.access_ip_v6 = in->access_ip_v6.set ? in->access_ip_v6.v : NULL,
			.config_drive = in->config_drive.set && in->config_drive.v ? "True" : "",
			.network = c->network, .trusted_certs = certs, .now = now };
		int64_t id = db_server_insert(&row, err);
		free(certs);
		if (id < 0)
			goto out;
		const char *mk;
		json_t *mv;
		json_object_foreach(c->metadata, mk, mv)
			if (db_server_metadata_set(id, mk, json_string_value(mv), err))
				goto out;
		size_t ti;
		json_t *tv;
		json_array_foreach(c->tags, ti, tv)
			if (db_server_tag_add(id, json_string_value(tv), err))
				goto out;
		if (c->group && db_server_group_add_member(c->group, c->uuids[i], err))
			goto out;
		int64_t action = db_action_start(c->uuids[i], "create", r->request_id, r->auth.user_id,
						 r->auth.project_id, now, err);
		if (action < 0)
			goto out;
		/* The scheduling decision, explained, is the first event of the action. */
		int64_t ev = db_action_event_start(action, "conductor_schedule_and_build_instances", nl_hostname(), c->explain,
						   now, err);
		if (ev < 0 || db_action_event_finish(ev, c->scheduled, NULL, now, err))
			goto out;
		if (!c->scheduled) {
			char msg[2200];
			snprintf(msg, sizeof(msg), "No valid host was found. %s", c->explain);
			if (db_server_fault_add(id, 500, msg, NULL, NULL, now, err))
				goto out;
			continue;
		}
		if (db_action_event_start(action, "compute__do_build_and_run_instance", host, NULL, now, err) < 0 ||
		    db_task_insert(host, c->uuids[i], "build", action, NULL, now, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(kv);
	free(props);
	free(hints);
	free(chosen);
	db_sched_hosts_free(&set);
	return rc;
}

static int bad(struct nl_error *err, const char *msg)
{
	nl_err_set(err, 400, "%s", msg);
	return -1;
}

/* A hint that is one uuid or a list of them. Points into the (borrowed) JSON. */
static int hint_uuids(json_t *v, const char ***out, size_t *n, const char *name, struct nl_error *err)
{
	*n = 0;
	*out = NULL;
	if (!v)
		return 0;
	if (json_is_string(v)) {
		*out = nl_calloc(1, sizeof(char *));
		(*out)[(*n)++] = json_string_value(v);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		*out = nl_calloc(json_array_size(v) + 1, sizeof(char *));
		json_array_foreach(v, i, x) {
			if (!json_is_string(x) || !nl_is_uuid_like(json_string_value(x)))
				goto invalid;
			(*out)[(*n)++] = json_string_value(x);
		}
	} else {
		goto invalid;
	}
	for (size_t i = 0; i < *n; i++)
		if (!nl_is_uuid_like((*out)[i]))
			goto invalid;
	return 0;
invalid:
	free(*out);
	*out = NULL;
	nl_err_set(err, 400, "Invalid input for field/attribute %s. Value: %s. It is not a valid server uuid.", name,
		   json_is_string(v) ? json_string_value(v) : "(list)");
	return -1;
}

int server_create(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct server_in *in = r->input;
	struct create_ctx c = { .r = r, .in = in, .network = "auto" };
	json_t *flavor = NULL, *image = NULL, *key = NULL, *group = NULL, *hints;
	const char **same = NULL, **diff = NULL;
	char flavor_id[64], *az_copy = NULL;
	int rc = -1;

	if (!r->auth.project_id[0])
		return bad(err, "A project-scoped token is required to create servers.");
	/* flavorRef: a string or an integer (parameter_types.flavor_ref). */
	if (json_is_integer(in->flavor_ref.v))
		snprintf(flavor_id, sizeof(flavor_id), "%lld", (long long)json_integer_value(in->flavor_ref.v));
	else if (json_is_string(in->flavor_ref.v) && *json_string_value(in->flavor_ref.v))
		snprintf(flavor_id, sizeof(flavor_id), "%s", json_string_value(in->flavor_ref.v));
	else
		return bad(err, "Invalid flavorRef provided.");
	/* A flavorRef may be a URL whose last segment is the id. */
	const char *slash = strrchr(flavor_id, '/');
	if (slash)
		memmove(flavor_id, slash + 1, strlen(slash));
	/* networks: a list before 2.37; from 2.37 also "auto" or "none", and required. */
	if (in->networks.set) {
		json_t *n = in->networks.v;
		if (json_is_string(n) && r->mv >= 37 &&
		    (!strcmp(json_string_value(n), "auto") || !strcmp(json_string_value(n), "none"))) {
			c.network = json_string_value(n);
		} else if (!json_is_array(n)) {
			char v[200];
			json_py_repr(n, v, sizeof(v));
			nl_err_set(err, 400, "Invalid input for field/attribute networks. Value: %s. %s is not %s", v, v,
				   r->mv >= 37 ? "valid under any of the given schemas" : "of type 'array'");
			return -1;
		}
	}
	if (in->user_data.set && in->user_data.v) {
		size_t bin_len;
		const char *end;
		size_t len = strlen(in->user_data.v);
		unsigned char *bin = malloc(len + 1);
		int dec = sodium_base642bin(bin, len + 1, in->user_data.v, len, "\n\r ", &bin_len, &end,
					    sodium_base64_VARIANT_ORIGINAL);
		free(bin);
		if (dec || *end) {
			nl_err_set(err, 400, "Invalid input for field/attribute user_data. Value: %s. '%s' is not a 'base64'",
				   in->user_data.v, in->user_data.v);
			return -1;
		}
	}
	if (in->tags.set) {
		size_t i;
		json_t *t;
		if (json_array_size(in->tags.v) > 50)
			return bad(err, "Invalid input for field/attribute tags. Value: (list). Too many tags: 50 allowed.");
		json_array_foreach(in->tags.v, i, t) {
			const char *s = json_string_value(t);
			if (!s || !*s || nl_utf8_len(s) > 60 || strchr(s, '/') || strchr(s, ','))
				return bad(err, "Invalid input for field/attribute tags. Value: (list). Tags must be "
						"non-empty strings of at most 60 characters without '/' or ','.");
		}
	}
	if (!(flavor = db_flavor_get(flavor_id, auth_is_admin(&r->auth) ? NULL : r->auth.project_id))) {
		nl_err_set(err, 400, "Flavor %s could not be found.", flavor_id);
		goto out;
	}
	if (!in->image_ref.set || !*in->image_ref.v) {
		if (json_array_size(in->bdm_v2.v) || json_array_size(in->bdm.v))
			nl_err_set(err, 400, "Booting from a volume is not supported: novalite has no block storage yet.");
		else
			nl_err_set(err, 400, "Missing imageRef attribute");
		goto out;
	}
	c.image_ref = in->image_ref.v;
	slash = strrchr(c.image_ref, '/');
	if (slash)
		c.image_ref = slash + 1;
	if (!nl_is_uuid_like(c.image_ref) || !(image = db_image_get(c.image_ref, r->auth.project_id))) {
		nl_err_set(err, 400, "Image %s could not be found.", c.image_ref);
		goto out;
	}
	c.image_props = json_object_get(image, "properties");
	if (strcmp(S(image, "status"), "active")) {
		nl_err_set(err, 400, "Image %s is not active.", c.image_ref);
		goto out;
	}
	if (check_flavor_image(r, flavor, image, err))
		goto out;
	if (in->key_name.set) {
		if (!(key = db_keypair_get(r->auth.user_id, in->key_name.v))) {
			nl_err_set(err, 400, "Invalid key_name provided.");
			goto out;
		}
		c.key_data = S(key, "public_key");
	}
	/* availability_zone "az", or (admin) "az:host" / "az:host:node" to force a host. */
	if (in->availability_zone.set) {
		az_copy = nl_strdup(in->availability_zone.v);
		char *colon = strchr(az_copy, ':');
		if (colon) {
			if (!auth_is_admin(&r->auth)) {
				nl_err_set(err, 403, "Policy doesn't allow os_compute_api:servers:create:forced_host to be "
					   "performed.");
				goto out;
			}
			*colon = '\0';
		}
		c.az_full = in->availability_zone.v;
		c.az = *az_copy ? az_copy : NULL;
		if (c.az && !db_az_exists(c.az, DEFAULT_AZ)) {
			nl_err_set(err, 400, "The requested availability zone is not available");
			goto out;
		}
	}
	if (in->host.set) {
		if (!auth_is_admin(&r->auth)) {
			nl_err_set(err, 403, "Policy doesn't allow compute:servers:create:requested_destination to be "
				   "performed.");
			goto out;
		}
		snprintf(c.force_host, sizeof(c.force_host), ":%s", in->host.v);
	}
	c.metadata = in->metadata.set ? in->metadata.v : NULL;
	c.tags = in->tags.set ? in->tags.v : NULL;

	hints = in->hints.set ? in->hints.v : in->hints2.v;
	if (hints) {
		json_t *g = json_object_get(hints, "group");
		if (g) {
			if (!json_is_string(g) || !nl_is_uuid_like(json_string_value(g)) ||
			    !(group = db_server_group_get(json_string_value(g), auth_is_admin(&r->auth) ? NULL :
							  r->auth.project_id))) {
				nl_err_set(err, 404, "Instance group %s could not be found.",
					   json_is_string(g) ? json_string_value(g) : "");
				goto out;
			}
			const char *pol = S(group, "policy");
			c.group = S(group, "uuid");
			c.policy = !strcmp(pol, "affinity") ? SCHED_GROUP_AFFINITY :
				   !strcmp(pol, "anti-affinity") ? SCHED_GROUP_ANTI_AFFINITY :
				   !strcmp(pol, "soft-affinity") ? SCHED_GROUP_SOFT_AFFINITY : SCHED_GROUP_SOFT_ANTI_AFFINITY;
			json_t *rules = json_loads(S(group, "rules") ? S(group, "rules") : "{}", 0, NULL);
			/* Nova's positive_integer has no maximum: a larger value limits nothing. */
			json_int_t mph = json_integer_value(json_object_get(rules, "max_server_per_host"));
			c.max_per_host = mph > INT_MAX ? INT_MAX : mph < 0 ? 0 : (int)mph;
			json_decref(rules);
		}
		if (hint_uuids(json_object_get(hints, "same_host"), &same, &c.n_same, "same_host", err) ||
		    hint_uuids(json_object_get(hints, "different_host"), &diff, &c.n_diff, "different_host", err))
			goto out;
		c.same = same;
		c.diff = diff;
	}

	/* The spec bounds both to 1..2^31-1; compare as 64-bit before narrowing anyway. */
	long long min = in->min_count.set ? in->min_count.v : 1;
	long long max = in->max_count.set ? in->max_count.v : min;
	if (min > max) {
		nl_err_set(err, 400, "min_count must be <= max_count");
		goto out;
	}
	if (min < 1 || max > MAX_CREATE) {
		nl_err_set(err, 400, "max_count must be <= %d", MAX_CREATE);
		goto out;
	}
	c.min = (int)min;
	c.max = (int)max;
	c.flavor = flavor;
	{
		unsigned char rnd[4];
		randombytes_buf(rnd, sizeof(rnd));
		snprintf(c.reservation_id, sizeof(c.reservation_id), "r-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	}
	if (db_tx_run(create_tx, &c, err))
		goto out;
	internal_tasks_notify();
	if (c.scheduled)
		log_info("server %s%s scheduled: %s", c.uuids[0], c.count > 1 ? " (and more)" : "", c.explain);
	else
		log_info("server %s: no valid host: %s", c.uuids[0], c.explain);

	if (in->return_reservation_id.set && in->return_reservation_id.v) {
		resp_json(out, 202, json_pack("{s:s}", "reservation_id", c.reservation_id));
	} else {
		char rest[80], pw[20];
		unsigned char raw[9];
		snprintf(rest, sizeof(rest), "servers/%s", c.uuids[0]);
		json_t *links = compute_links(rest);
		json_t *s = json_pack("{s:s, s:o, s:s, s:[{s:s}]}", "id", c.uuids[0], "links", links, "OS-DCF:diskConfig",
				      in->disk_config.set ? in->disk_config.v : "MANUAL", "security_groups", "name",
				      "default");
		/* adminPass: the requested one, or a generated one (enable_instance_password). */
		if (in->admin_pass.set) {
			json_object_set_new(s, "adminPass", json_string(in->admin_pass.v));
		} else {
			randombytes_buf(raw, sizeof(raw));
			sodium_bin2base64(pw, sizeof(pw), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			json_object_set_new(s, "adminPass", json_string(pw));
		}
		resp_json(out, 202, json_pack("{s:o}", "server", s));
		resp_header(out, "Location", json_string_value(json_object_get(json_array_get(links, 0), "href")));
	}
	rc = 0;
out:
	free(same);
	free(diff);
	free(c.uuids);
	free(az_copy);
	json_decref(flavor);
	json_decref(image);
	json_decref(key);
	json_decref(group);
	return rc;
}
