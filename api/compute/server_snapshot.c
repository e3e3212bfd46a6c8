/* createImage: a server snapshot (nova/api/openstack/compute/servers.py
 * _action_create_image, nova/compute/api.py snapshot, nova/compute/utils.py
 * create_image and initialize_instance_snapshot_metadata).
 *
 * One transaction creates the Glance image (queued, no data), sets the server's
 * task_state, records the createImage action and queues a "snapshot" task whose params
 * name the image. The agent copies the disk and uploads it with PUT /v2/images/{id}/file
 * (its service token may: POL_MEMBER_SVC); the result clears the task_state, and a
 * failure deletes the image (api/internal/tasks.c). No SQL here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/servers.h"
#include "api/handlers.h"
#include "api/image/image.h"
#include "api/internal/internal.h"
#include "common/config.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"
#include "db/images.h"
#include "db/servers.h"

#define S(row, k) json_string_value(json_object_get(row, k))
#define I(row, k) json_integer_value(json_object_get(row, k))

/* compute/api.py snapshot: @check_instance_state(vm_state=[ACTIVE, STOPPED, PAUSED,
 * SUSPENDED]), task_state None. No lock check: Nova leaves snapshots of locked servers
 * allowed on purpose ("lock is intended to prevent accidental change/delete"). */
static const char *const snapshot_vm_states[] = { "active", "stopped", "paused", "suspended", NULL };
static const char *const snapshot_task_states[] = { "", NULL };

/* Base-image properties a snapshot does not inherit (compute/utils.py
 * NON_INHERITABLE_IMAGE_PROPERTIES, NON_INHERITABLE_IMAGE_NAMESPACES, and utils.py
 * SM_SKIP_KEYS, which never reach the system metadata they are copied from). */
static const char *const non_inheritable[] = { "cinder_encryption_key_id", "cinder_encryption_key_deletion_policy",
	"img_signature", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid",
	"mappings", "block_device_mapping", "img_mappings", "img_block_device_mapping", NULL };

static bool inheritable(const char *k)
{
	for (const char *const *n = non_inheritable; *n; n++)
		if (!strcmp(*n, k))
			return false;
	return strncmp(k, "os_glance", 9) != 0;
}

struct snap_ctx {
	struct req *r;
	int64_t id;
	const char *name;
	json_t *metadata;          /* borrowed, may be NULL */
	char image_id[37];
};

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

/* The instance's user and project names and its user's roles there, as Nova records
 * them in the system metadata at boot (owner_user_name, owner_project_name, boot_roles);
 * here they are read now, from the identity tables. */
static void add_owner_props(json_t *props, json_t *row)
{
	json_t *u = db_user_get(S(row, "user_id")), *p = db_project_get(S(row, "project_id"));
	json_t *roles = db_effective_roles(S(row, "user_id"), "project", S(row, "project_id")), *x;
	char joined[256] = "";
	size_t i, len = 0;

	set_str(props, "owner_user_name", S(u, "name"));
	set_str(props, "owner_project_name", S(p, "name"));
	/* Glance property values are at most 255 characters: whole role names only. */
	json_array_foreach(roles, i, x) {
		const char *n = S(x, "name");
		size_t nl = n ? strlen(n) : 0;
		if (!nl || len + nl + (len ? 1 : 0) >= sizeof(joined))
			continue;
		len += (size_t)snprintf(joined + len, sizeof(joined) - len, "%s%s", len ? "," : "", n);
	}
	if (len)
		set_str(props, "boot_roles", joined);
	json_decref(u);
	json_decref(p);
	json_decref(roles);
}

/* The new image's base attributes (cols) and properties, in Nova's order of precedence:
 * inherited base-image properties < what Nova records (base_image_ref, owner names, boot
 * roles) < instance_uuid/user_id/image_type < the request's metadata < what the libvirt
 * driver sets on upload (image_location, image_state, owner_id). */
static int snapshot_attrs(struct snap_ctx *c, json_t *row, json_t *cols, json_t *props, struct nl_error *err)
{
	const char *image_ref = S(row, "image_ref"), *k;
	json_t *base = image_ref && *image_ref ? db_image_get(image_ref, NULL) : NULL, *v;
	long long root_gb = I(row, "root_gb"), min_disk = root_gb;
	bool shared = strcmp(S(row, "project_id"), c->r->auth.project_id) != 0;

	json_object_foreach(json_object_get(base, "properties"), k, v)
		if (inheritable(k))
			json_object_set(props, k, v);
	if (base) {
		/* utils.py get_system_metadata_from_image: min_disk is at least the flavor's
		 * root disk (exactly it for vhd images); min_ram is the image's. */
		long long img_min_disk = I(base, "min_disk");
		const char *fmt = S(base, "disk_format");
		if (!(fmt && !strcmp(fmt, "vhd")) && img_min_disk > min_disk)
			min_disk = img_min_disk;
		json_object_set_new(cols, "min_ram", json_integer(I(base, "min_ram")));
	}
	json_decref(base);
	if (!json_object_get(props, "base_image_ref") && image_ref)
		set_str(props, "base_image_ref", image_ref);
	add_owner_props(props, row);
	set_str(props, "instance_uuid", S(row, "uuid"));
	set_str(props, "user_id", c->r->auth.user_id);
	set_str(props, "image_type", "snapshot");

	json_object_set_new(cols, "min_disk", json_integer(min_disk));

	/* The metadata goes to Glance as image attributes: Glance's own checks and wording
	 * apply (a reserved or read-only name is 403, a base attribute of the wrong type 400),
	 * except for name and visibility, which Nova's glance client writes over same-named
	 * metadata before Glance sees it. */
	json_t *meta = c->metadata ? json_copy(c->metadata) : json_object();
	json_object_del(meta, "name");
	json_object_del(meta, "visibility");
	int rc = image_accept_attrs(c->r, meta, cols, props, true, err);
	json_decref(meta);
	if (rc)
		return -1;
	json_object_del(cols, "id");
	json_object_del(cols, "owner");
	json_object_del(cols, "tags");
	/* An image made for another project's server (an admin's snapshot) is shared with
	 * the server's project; the caller's own server gives a private image. */
	set_str(cols, "name", c->name);
	set_str(cols, "visibility", shared ? "shared" : "private");
	/* The agent uploads a standalone qcow2. Nova's driver sets the format when it
	 * uploads; ours cannot change the image (its token may only upload), so the image
	 * is created with it. */
	set_str(cols, "disk_format", "qcow2");
	set_str(cols, "container_format", "bare");
	set_str(props, "image_location", "snapshot");
	set_str(props, "image_state", "available");
	set_str(props, "owner_id", S(row, "project_id"));
	set_str(cols, "status", "queued");
	return 0;
}

static int snapshot_tx(void *p, struct nl_error *err)
{
	struct snap_ctx *c = p;
	int64_t now = nl_now_us();
	json_t *row = db_server_get_by_id(c->id), *cols = json_object(), *props = json_object(), *params = NULL;
	const char *k;
	json_t *v;
	int rc = -1;

	if (!row || I(row, "deleted")) {
		nl_err_set(err, 404, "Instance %s could not be found.", row ? S(row, "uuid") : "");
		goto out;
	}
	const char *uuid = S(row, "uuid"), *host = S(row, "host"), *vm = S(row, "vm_state");
	if (server_check_state(row, "createImage", snapshot_vm_states, snapshot_task_states, err))
		goto out;
	if (!host) {
		nl_err_set(err, 409, "Cannot 'createImage' instance %s while it is in vm_state %s", uuid, vm);
		goto out;
	}
	/* Glance's image count quota, on the project that will own the image. Nova turns
	 * OverQuota into 403 in this action (servers.py), so 403 it is. */
	if (image_count_quota_check(c->r->auth.project_id, err)) {
		err->status = 403;
		goto out;
	}
	if (snapshot_attrs(c, row, cols, props, err))
		goto out;
	nl_uuid_new(c->image_id);
	if (db_image_insert(c->image_id, c->r->auth.project_id, cols, err))
		goto out;
	json_object_foreach(props, k, v)
		if (json_is_string(v) && db_image_prop_set(c->image_id, k, json_string_value(v), err))
			goto out;
	if (strcmp(S(row, "project_id"), c->r->auth.project_id) &&
	    db_image_member_add(c->image_id, S(row, "project_id"), err))
		goto out;
	if (db_server_set_state(c->id, NULL, "*", vm, "image_snapshot", -1, now, err) < 0)
		goto out;
	int64_t action = db_action_start(uuid, "createImage", c->r->request_id, c->r->auth.user_id,
					 c->r->auth.project_id, now, err);
	if (action < 0 || db_action_event_start(action, "compute_snapshot_instance", host, NULL, now, err) < 0)
		goto out;
	params = json_pack("{s:s}", "image_id", c->image_id);
	rc = db_task_insert(host, uuid, "snapshot", action, params, now, err) < 0 ? -1 : 0;
out:
	json_decref(params);
	json_decref(cols);
	json_decref(props);
	json_decref(row);
	return rc;
}

int server_create_image(struct req *r, json_t *row, const char *name, json_t *metadata, struct resp *out,
			struct nl_error *err)
{
	struct snap_ctx c = { r, I(row, "id"), name, metadata, "" };
	char loc[300];

	/* Until 2.38 the image metadata counts against metadata_items (common.py
	 * check_img_metadata_properties_quota); 2.39 dropped the check with the image proxy. */
	if (r->mv <= 38 && json_object_size(metadata)) {
		long long lim = db_quota_limit(r->auth.project_id, "metadata_items", g_config.quota_metadata_items);
		if (lim >= 0 && (long long)json_object_size(metadata) > lim) {
			nl_err_set(err, 403, "Image metadata limit exceeded");
			return -1;
		}
	}
	if (db_tx_run(snapshot_tx, &c, err))
		return -1;
	internal_tasks_notify();
	/* 2.45 answers with the id in the body; before, the image's URL in Location. */
	if (r->mv >= 45) {
		resp_json(out, 202, json_pack("{s:s}", "image_id", c.image_id));
		return 0;
	}
	snprintf(loc, sizeof(loc), "%s/v2/images/%s", service_base_url(SVC_IMAGE), c.image_id);
	resp_header(out, "Location", loc);
	out->status = 202;
	return 0;
}
