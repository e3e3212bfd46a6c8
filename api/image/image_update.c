/* PATCH /v2/images/{id} (JSON patch), tags, deactivate/reactivate, and the JSON
 * schemas clients may fetch. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/image/image.h"
#include "common/util.h"
#include "db/db.h"
#include "db/images.h"

/* Image bodies are parsed here, not by the generic spec step: Glance takes JSON
 * patch documents (arrays) under its own media types. */
int image_parse_body(struct req *r, const char *const *types, struct nl_error *err)
{
	const char *ct = req_header(r, "Content-Type");
	bool ok = false;
	json_error_t je;

	for (; *types; types++)
		ok |= ct && !strncasecmp(ct, *types, strlen(*types));
	if (!ok) {
		nl_err_set(err, 415, "Unsupported Content-Type");
		return -1;
	}
	if (!r->body_len) {
		nl_err_set(err, 400, "Body expected in request.");
		return -1;
	}
	r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!r->json) {
		nl_err_set(err, 400, "Malformed JSON in request body.");
		return -1;
	}
	return 0;
}

static const char *const base_attrs[] = { "name", "visibility", "protected", "os_hidden", "disk_format",
	"container_format", "min_disk", "min_ram", "owner", "tags", NULL };
static const char *const immutable[] = { "id", "status", "checksum", "size", "virtual_size", "created_at",
	"updated_at", "os_hash_algo", "os_hash_value", "self", "file", "schema", "direct_url", NULL };

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

struct patch_ctx { struct req *r; const char *id; json_t *ops; };

/* Applies each operation in order inside one transaction: all or nothing. */
static int patch_tx(void *p, struct nl_error *err)
{
	struct patch_ctx *c = p;
	json_t *img = image_get_visible(c->r, c->id, err), *op;
	size_t i;
	int rc = -1;

	if (!img)
		return -1;
	if (image_may_modify(c->r, img, "modify", err))
		goto out;
	const char *status = json_string_value(json_object_get(img, "status"));
	json_array_foreach(c->ops, i, op) {
		const char *name = json_string_value(json_object_get(op, "op"));
		const char *path = json_string_value(json_object_get(op, "path"));
		json_t *value = json_object_get(op, "value");
		json_t *cols = json_object(), *props = json_object();
		int r2 = 0;

		if (!json_is_object(op) || !name || !path || path[0] != '/' || !path[1] ||
		    (strcmp(name, "remove") && !value)) {
			nl_err_set(err, 400, "Operation objects must contain exactly one member named \"op\", one member "
				   "named \"path\" and, for \"add\" and \"replace\", one member named \"value\".");
			r2 = -1;
		} else if (strcmp(name, "add") && strcmp(name, "replace") && strcmp(name, "remove")) {
			nl_err_set(err, 400, "Invalid operation: `%s`: Operations must be 'add', 'remove' or 'replace'.",
				   name);
			r2 = -1;
		} else if (strchr(path + 1, '/')) {
			nl_err_set(err, 400, "Nested paths are not allowed: '%s'", path);
			r2 = -1;
		} else if (in_list(immutable, path + 1)) {
			nl_err_set(err, 403, "Attribute '%s' is read-only.", path + 1);
			r2 = -1;
		} else if (image_attr_reserved(path + 1)) {
			nl_err_set(err, 403, "Attribute '%s' is reserved.", path + 1);
			r2 = -1;
		} else if (!strcmp(name, "remove")) {
			if (in_list(base_attrs, path + 1)) {
				nl_err_set(err, 403, "Property %s may not be removed.", path + 1);
				r2 = -1;
			} else {
				r2 = db_image_prop_delete(c->id, path + 1, err);
				if (r2 > 0) {
					nl_err_set(err, 409, "Property %s does not exist.", path + 1);
					r2 = -1;
				}
			}
		} else if ((!strcmp(path + 1, "disk_format") || !strcmp(path + 1, "container_format")) &&
			   strcmp(status, "queued") && strcmp(status, "importing")) {
			/* The upload was inspected against the declared formats: changing them
			 * afterwards would void that check (glance/domain/__init__.py setters). */
			nl_err_set(err, 403, "Attribute %s can be only replaced for a queued image.", path + 1);
			r2 = -1;
		} else {
			/* add and replace set the value (JSON patch "add" replaces an existing member). */
			json_t *one = json_object();
			json_object_set(one, path + 1, value);
			r2 = image_accept_attrs(c->r, one, cols, props, false, err);
			json_decref(one);
			if (!r2 && !strcmp(name, "replace") && !in_list(base_attrs, path + 1)) {
				/* Read now, not from the image as it was before this document's earlier
				 * operations: an "add" then "replace" of the same property is valid. */
				json_t *now = db_image_get(c->id, NULL);
				if (!json_object_get(json_object_get(now, "properties"), path + 1)) {
					nl_err_set(err, 409, "Property %s does not exist.", path + 1);
					r2 = -1;
				}
				json_decref(now);
			}
			if (!r2)
				r2 = image_store_attrs(c->id, cols, props, true, err);
		}
		json_decref(cols);
		json_decref(props);
		if (r2)
			goto out;
	}
	rc = 0;
out:
	json_decref(img);
	return rc;
}

int image_update(struct req *r, struct resp *out, struct nl_error *err)
{
	static const char *const types[] = { "application/openstack-images-v2.1-json-patch",
					     "application/openstack-images-v2.0-json-patch", NULL };
	struct patch_ctx c = { r, req_param(r, 0), NULL };

	if (image_parse_body(r, types, err))
		return -1;
	if (!json_is_array(r->json)) {
		nl_err_set(err, 400, "Request body must be a JSON array of operation objects.");
		return -1;
	}
	c.ops = r->json;
	if (db_tx_run(patch_tx, &c, err))
		return -1;
	resp_json(out, 200, image_view(db_image_get(c.id, NULL)));
	return 0;
}

/* ---- tags ---- */
struct tag_ctx { struct req *r; const char *id, *tag; bool del; };

static int tag_tx(void *p, struct nl_error *err)
{
	struct tag_ctx *c = p;
	json_t *img = image_get_visible(c->r, c->id, err);
	int rc = -1;
	if (!img)
		return -1;
	if (image_may_modify(c->r, img, "modify", err))
		goto out;
	if (nl_utf8_len(c->tag) > 255) {
		nl_err_set(err, 400, "Provided object does not match schema 'image': tag is too long");
		goto out;
	}
	if (c->del) {
		rc = db_image_tag_delete(c->id, c->tag, err);
		if (rc > 0) {
			nl_err_set(err, 404, "Tag %s not found.", c->tag);
			rc = -1;
		}
	} else {
		rc = db_image_tag_add(c->id, c->tag, err);
	}
out:
	json_decref(img);
	return rc;
}

int image_tag_add(struct req *r, struct resp *out, struct nl_error *err)
{
	struct tag_ctx c = { r, req_param(r, 0), req_param(r, 1), false };
	if (db_tx_run(tag_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}

int image_tag_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct tag_ctx c = { r, req_param(r, 0), req_param(r, 1), true };
	if (db_tx_run(tag_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}

/* ---- deactivate / reactivate (admin or owner) ---- */
struct state_ctx { struct req *r; const char *id; bool deactivate; };

static int state_tx(void *p, struct nl_error *err)
{
	struct state_ctx *c = p;
	json_t *img = image_get_visible(c->r, c->id, err);
	int rc = -1;
	if (!img)
		return -1;
	const char *st = json_string_value(json_object_get(img, "status"));
	if (image_may_modify(c->r, img, c->deactivate ? "deactivate" : "reactivate", err))
		goto out;
	if (c->deactivate ? !strcmp(st, "deactivated") : !strcmp(st, "active")) {
		rc = 0;                       /* already there: Glance answers 204 */
		goto out;
	}
	if (strcmp(st, c->deactivate ? "active" : "deactivated")) {
		nl_err_set(err, 403, "Not allowed to %s image in status '%s'", c->deactivate ? "deactivate" :
			   "reactivate", st);
		goto out;
	}
	rc = db_image_set_status(c->id, st, c->deactivate ? "deactivated" : "active", err) ? -1 : 0;
out:
	json_decref(img);
	return rc;
}

static int set_state(struct req *r, struct resp *out, struct nl_error *err, bool deactivate)
{
	struct state_ctx c = { r, req_param(r, 0), deactivate };
	if (db_tx_run(state_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}

int image_deactivate(struct req *r, struct resp *out, struct nl_error *err) { return set_state(r, out, err, true); }
int image_reactivate(struct req *r, struct resp *out, struct nl_error *err) { return set_state(r, out, err, false); }

/* ---- schemas (what glanceclient fetches to validate and print) ---- */
static json_t *image_schema(void)
{
	return json_pack(
		"{s:s, s:{"
		"s:{s:s, s:s, s:s}, s:{s:[s,s], s:s, s:i}, s:{s:s, s:[s,s,s,s], s:b}, "
		"s:{s:[s,s,s,s,s,s,s,s,s], s:s}, s:{s:s, s:s}, s:{s:s, s:s}, "
		"s:{s:[s,s], s:s, s:b}, s:{s:[s,s], s:s, s:b}, s:{s:[s,s], s:b}, s:{s:[s,s], s:b}, "
		"s:{s:s, s:b}, s:{s:s, s:b}, s:{s:[s,s], s:s}, s:{s:[s,s], s:s}, s:{s:s, s:b}, s:{s:s, s:b}, "
		"s:{s:s, s:{s:s, s:i}}, s:{s:[s,s], s:b}, s:{s:s, s:b}, s:{s:s, s:b}, s:{s:s, s:b}, "
		"s:{s:[s,s], s:b}, s:{s:[s,s], s:b}"
		"}, s:{s:s}, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
		"name", "image", "properties",
		"id", "type", "string", "pattern", "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
		"description", "An identifier for the image",
		"name", "type", "null", "string", "description", "Descriptive name for the image", "maxLength", 255,
		"visibility", "type", "string", "enum", "community", "public", "private", "shared", "readOnly", 0,
		"status", "enum", "queued", "saving", "active", "killed", "deleted", "uploading", "importing",
		"pending_delete", "deactivated", "type", "string",
		"protected", "type", "boolean", "description", "If true, image will not be deletable.",
		"os_hidden", "type", "boolean", "description", "If true, image will not appear in default image list response.",
		"checksum", "type", "null", "string", "description", "md5 hash of image contents.", "readOnly", 1,
		"owner", "type", "null", "string", "description", "Owner of the image", "readOnly", 0,
		"size", "type", "null", "integer", "readOnly", 1,
		"virtual_size", "type", "null", "integer", "readOnly", 1,
		"created_at", "type", "string", "readOnly", 1,
		"updated_at", "type", "string", "readOnly", 1,
		"disk_format", "type", "null", "string", "description", "Format of the disk",
		"container_format", "type", "null", "string", "description", "Format of the container",
		"min_ram", "type", "integer", "readOnly", 0,
		"min_disk", "type", "integer", "readOnly", 0,
		"tags", "type", "array", "items", "type", "string", "maxLength", 255,
		"os_hash_algo", "type", "null", "string", "readOnly", 1,
		"self", "type", "string", "readOnly", 1,
		"file", "type", "string", "readOnly", 1,
		"schema", "type", "string", "readOnly", 1,
		"os_hash_value", "type", "null", "string", "readOnly", 1,
		"direct_url", "type", "null", "string", "readOnly", 1,
		"additionalProperties", "type", "string",
		"links", "rel", "self", "href", "{self}", "rel", "enclosure", "href", "{file}",
		"rel", "describedby", "href", "{schema}");
}

int image_schema_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *which = req_param(r, 0);
	json_t *s;
	if (!strcmp(which, "image")) {
		s = image_schema();
	} else if (!strcmp(which, "images")) {
		json_t *one = image_schema();
		s = json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s}, s:{s:s}, s:{s:s}}, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
			      "name", "images", "properties", "images", "type", "array", "items", one,
			      "schema", "type", "string", "first", "type", "string", "next", "type", "string",
			      "links", "rel", "first", "href", "{first}", "rel", "next", "href", "{next}",
			      "rel", "describedby", "href", "{schema}");
	} else if (!strcmp(which, "member")) {
		s = json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:[s,s,s]}, s:{s:s}}}",
			      "name", "member", "properties", "created_at", "type", "string", "image_id", "type", "string",
			      "member_id", "type", "string", "updated_at", "type", "string", "status", "type", "string",
			      "enum", "pending", "accepted", "rejected", "schema", "type", "string");
	} else if (!strcmp(which, "members")) {
		s = json_pack("{s:s, s:{s:{s:s, s:{s:s}}, s:{s:s}}, s:[{s:s, s:s}]}", "name", "members",
			      "properties", "members", "type", "array", "items", "name", "member",
			      "schema", "type", "string", "links", "rel", "describedby", "href", "{schema}");
	} else {
		nl_err_set(err, 404, "The resource could not be found.");
		return -1;
	}
	resp_json(out, 200, s);
	return 0;
}
