/* /v2.1/images: Nova's deprecated read-mostly proxy of the image API (up to 2.35),
 * reading the same rows as Glance. libcloud's list_images still uses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/handlers.h"
#include "api/image/image.h"
#include "common/config.h"
#include "common/util.h"
#include "db/db.h"
#include "db/images.h"

/* nova/api/openstack/compute/views/images.py */
static const char *nova_status(const char *s)
{
	if (!strcmp(s, "active")) return "ACTIVE";
	if (!strcmp(s, "queued") || !strcmp(s, "saving")) return "SAVING";
	if (!strcmp(s, "deleted") || !strcmp(s, "pending_delete")) return "DELETED";
	if (!strcmp(s, "killed")) return "ERROR";
	return "UNKNOWN";
}

static int nova_progress(const char *s)
{
	return !strcmp(s, "queued") ? 25 : !strcmp(s, "saving") ? 50 : !strcmp(s, "active") ? 100 : 0;
}

static json_t *links(const char *id)
{
	char rest[100], alt[400];
	json_t *l;
	snprintf(rest, sizeof(rest), "images/%s", id);
	l = compute_links(rest);
	snprintf(alt, sizeof(alt), "%s/images/%s", service_base_url(SVC_IMAGE), id);
	json_array_append_new(l, json_pack("{s:s, s:s, s:s}", "rel", "alternate", "type",
					   "application/vnd.openstack.image", "href", alt));
	return l;
}

static json_t *view(json_t *row, bool detail)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	const char *status = json_string_value(json_object_get(row, "status"));
	json_t *v = json_pack("{s:s, s:O, s:o}", "id", id, "name", json_object_get(row, "name"), "links", links(id));
	if (detail) {
		char created[40], updated[40];
		nl_time_iso_s(json_integer_value(json_object_get(row, "created_at")), created, sizeof(created));
		nl_time_iso_s(json_integer_value(json_object_get(row, "updated_at")), updated, sizeof(updated));
		json_object_set(v, "minRam", json_object_get(row, "min_ram"));
		json_object_set(v, "minDisk", json_object_get(row, "min_disk"));
		json_object_set(v, "metadata", json_object_get(row, "properties"));
		json_object_set_new(v, "created", json_string(created));
		json_object_set_new(v, "updated", json_string(updated));
		json_object_set_new(v, "status", json_string(nova_status(status)));
		json_object_set_new(v, "progress", json_integer(nova_progress(status)));
		json_object_set(v, "OS-EXT-IMG-SIZE:size", json_object_get(row, "size"));
	}
	return v;
}

static json_t *get(struct req *r, const char *id, struct nl_error *err)
{
	json_t *img = db_image_get(id, auth_is_admin(&r->auth) ? NULL : r->auth.project_id);
	if (!img)
		nl_err_set(err, 404, "Image not found.");
	return img;
}

static int list(struct req *r, struct resp *out, struct nl_error *err, bool detail)
{
	const char *name = req_query(r, "name"), *status = req_query(r, "status"), *marker = req_query(r, "marker");
	long long limit = 1000, min_ram = 0, min_disk = 0;
	bool have;
	json_t *rows, *row, *items = json_array();
	size_t i, taken = 0;
	bool started = !marker;

	if (compute_query_int(r, "limit", 0, &limit, &have, err) ||
	    compute_query_int(r, "minRam", 0, &min_ram, &have, err) ||
	    compute_query_int(r, "minDisk", 0, &min_disk, &have, err)) {
		json_decref(items);
		return -1;
	}
	rows = db_image_list(auth_is_admin(&r->auth) ? NULL : r->auth.project_id);
	json_array_foreach(rows, i, row) {
		const char *id = json_string_value(json_object_get(row, "id"));
		const char *st = json_string_value(json_object_get(row, "status"));
		if (!started) {
			started = !strcmp(id, marker);
			continue;
		}
		if ((name && strcmp(name, json_string_value(json_object_get(row, "name")) ?: "")) ||
		    (status && strcasecmp(status, nova_status(st))) ||
		    json_integer_value(json_object_get(row, "min_ram")) < min_ram ||
		    json_integer_value(json_object_get(row, "min_disk")) < min_disk)
			continue;
		if ((long long)taken++ >= limit)
			break;
		json_array_append_new(items, view(row, detail));
	}
	json_decref(rows);
	if (!started) {
		json_decref(items);
		nl_err_set(err, 400, "marker [%s] not found", marker);
		return -1;
	}
	resp_json(out, 200, json_pack("{s:o}", "images", items));
	return 0;
}

int compute_image_list(struct req *r, struct resp *out, struct nl_error *err) { return list(r, out, err, false); }
int compute_image_detail(struct req *r, struct resp *out, struct nl_error *err) { return list(r, out, err, true); }

int compute_image_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *img = get(r, req_param(r, 0), err);
	if (!img)
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "image", view(img, true)));
	json_decref(img);
	return 0;
}

struct del_ctx { struct req *r; const char *id; };

static int delete_tx(void *p, struct nl_error *err)
{
	struct del_ctx *c = p;
	json_t *img = get(c->r, c->id, err);
	int rc = -1;
	if (!img)
		return -1;
	const char *owner = json_string_value(json_object_get(img, "owner"));
	if (!auth_is_admin(&c->r->auth) && (!owner || strcmp(owner, c->r->auth.project_id) ||
					    json_integer_value(json_object_get(img, "protected")))) {
		nl_err_set(err, 403, "You are not allowed to delete the image.");
	} else {
		rc = db_image_delete(c->id, err);
	}
	json_decref(img);
	return rc;
}

int compute_image_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct del_ctx c = { r, req_param(r, 0) };
	char path[600];
	if (db_tx_run(delete_tx, &c, err))
		return -1;
	image_data_path(c.id, false, path, sizeof(path));
	unlink(path);
	out->status = 204;
	return 0;
}

int compute_image_metadata(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *img = get(r, req_param(r, 0), err);
	if (!img)
		return -1;
	resp_json(out, 200, json_pack("{s:O}", "metadata", json_object_get(img, "properties")));
	json_decref(img);
	return 0;
}

int compute_image_metadata_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *img = get(r, req_param(r, 0), err), *v;
	if (!img)
		return -1;
	v = json_object_get(json_object_get(img, "properties"), req_param(r, 1));
	if (!v) {
		json_decref(img);
		nl_err_set(err, 404, "The resource could not be found.");
		return -1;
	}
	resp_json(out, 200, json_pack("{s:{s:O}}", "meta", req_param(r, 1), v));
	json_decref(img);
	return 0;
}

/* ---- metadata writes (schemas/image_metadata.py; nova image_metadata.py) ---- */
#define M struct image_meta_in
const struct field_spec image_metadata_spec[] = {
	{ .name = "metadata", .type = SPEC_STRMAP, .flags = SPEC_REQUIRED, .charset = "a-zA-Z0-9-_:. ",
	  .offset = offsetof(M, map) },
	SPEC_END_ROW
};
const struct field_spec image_meta_spec[] = {
	{ .name = "meta", .type = SPEC_STRMAP, .flags = SPEC_REQUIRED | SPEC_HAS_MIN, .min = 1,
	  .charset = "a-zA-Z0-9-_:. ", .offset = offsetof(M, map) },
	SPEC_END_ROW
};
#undef M

enum meta_op { META_MERGE, META_REPLACE, META_SET_ONE, META_DELETE };
struct meta_ctx { struct req *r; const char *id, *key; json_t *map; enum meta_op op; json_t *result; };

static int meta_tx(void *p, struct nl_error *err)
{
	struct meta_ctx *c = p;
	json_t *img = get(c->r, c->id, err), *props, *v;
	const char *k;
	int rc = -1;

	if (!img)
		return -1;
	const char *owner = json_string_value(json_object_get(img, "owner"));
	if (!auth_is_admin(&c->r->auth) && (!owner || strcmp(owner, c->r->auth.project_id))) {
		nl_err_set(err, 403, "Not authorized for image %s.", c->id);
		goto out;
	}
	props = json_deep_copy(json_object_get(img, "properties"));
	if (c->op == META_DELETE) {
		if (!json_object_get(props, c->key)) {
			nl_err_set(err, 404, "Invalid metadata key");
			json_decref(props);
			goto out;
		}
		json_object_del(props, c->key);
	} else if (c->op == META_REPLACE) {
		json_decref(props);
		props = json_deep_copy(c->map);
	} else {
		json_object_update(props, c->map);
	}
	if (g_config.quota_metadata_items >= 0 && (long long)json_object_size(props) > g_config.quota_metadata_items) {
		nl_err_set(err, 403, "Image metadata limit exceeded");
		json_decref(props);
		goto out;
	}
	/* purge_props: the stored properties become exactly props */
	json_object_foreach(json_object_get(img, "properties"), k, v)
		if (!json_object_get(props, k) && db_image_prop_delete(c->id, k, err) < 0) {
			json_decref(props);
			goto out;
		}
	json_object_foreach(props, k, v)
		if (db_image_prop_set(c->id, k, json_string_value(v), err)) {
			json_decref(props);
			goto out;
		}
	c->result = props;
	rc = db_image_update(c->id, NULL, err);
out:
	json_decref(img);
	return rc;
}

/* Nova stores the string form of every value (the schema only admits strings). */
static int meta_run(struct req *r, struct resp *out, struct nl_error *err, enum meta_op op, const char *reply_key)
{
	const struct image_meta_in *in = r->input;
	struct meta_ctx c = { r, req_param(r, 0), req_param(r, 1), in ? in->map.v : NULL, op, NULL };
	if (op == META_SET_ONE) {
		if (json_object_size(c.map) != 1) {   /* schema: maxProperties 1 */
			char v[400];
			json_py_repr(c.map, v, sizeof(v));
			nl_err_set(err, 400, "Invalid input for field/attribute meta. Value: %s. %s has too many properties",
				   v, v);
			return -1;
		}
		if (!json_object_get(c.map, c.key)) {
			nl_err_set(err, 400, "Request body and URI mismatch");
			return -1;
		}
	}
	if (db_tx_run(meta_tx, &c, err)) {
		json_decref(c.result);
		return -1;
	}
	if (op == META_DELETE) {
		json_decref(c.result);
		out->status = 204;
		return 0;
	}
	json_t *body = json_object();
	json_object_set(body, reply_key, op == META_SET_ONE ? c.map : c.result);
	json_decref(c.result);
	resp_json(out, 200, body);
	return 0;
}

int compute_image_metadata_create(struct req *r, struct resp *out, struct nl_error *err)
{
	return meta_run(r, out, err, META_MERGE, "metadata");
}

int compute_image_metadata_replace(struct req *r, struct resp *out, struct nl_error *err)
{
	return meta_run(r, out, err, META_REPLACE, "metadata");
}

int compute_image_metadata_update(struct req *r, struct resp *out, struct nl_error *err)
{
	return meta_run(r, out, err, META_SET_ONE, "meta");
}

int compute_image_metadata_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	return meta_run(r, out, err, META_DELETE, NULL);
}
