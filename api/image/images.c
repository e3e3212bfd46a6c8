/* /v2/images: discovery, create, list, show, JSON-patch update, delete, tags,
 * deactivate/reactivate, schemas, and the Glance error renderer. Image data is in
 * image_data.c, members in members.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/image/image.h"
#include "api/render.h"
#include "common/config.h"
#include "common/util.h"
#include "db/db.h"
#include "db/images.h"

static const char *const disk_formats[] = { "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
					    "iso", "ploop", NULL };
static const char *const container_formats[] = { "ami", "ari", "aki", "bare", "ovf", "ova", "docker",
						 "compressed", NULL };
static const char *const visibilities[] = { "public", "private", "shared", "community", NULL };

/* Attribute classes, as Glance's image schema and domain model define them. */
static const char *const read_only[] = { "status", "checksum", "size", "virtual_size", "created_at",
	"updated_at", "os_hash_algo", "os_hash_value", "self", "file", "schema", "direct_url", "stores", NULL };
static const char *const reserved[] = { "location", "deleted", "deleted_at", "locations", NULL };

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

/* Glance reserves these names and the whole os_glance* namespace for itself. */
bool image_attr_reserved(const char *k)
{
	return in_list(reserved, k) || !strncmp(k, "os_glance", 9);
}

/* ---- discovery ---- */
int image_versions(struct req *r, struct resp *out, struct nl_error *err)
{
	char href[400];
	json_t *list = json_array();
	static const char *const v[] = { "v2.16", "v2.15", "v2.14", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9",
					 "v2.8", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0" };
	(void)err;
	snprintf(href, sizeof(href), "%s/v2/", service_base_url(SVC_IMAGE));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", v[i],
						      "status", i == 0 ? "CURRENT" : "SUPPORTED",
						      "links", "rel", "self", "href", href));
	/* Glance answers the unversioned root with 300 Multiple Choices; /versions with 200. */
	resp_json(out, strcmp(r->url, "/versions") ? 300 : 200, json_pack("{s:o}", "versions", list));
	return 0;
}

/* ---- errors: webob's rendering, as Glance's API returns it ---- */
void image_render_error(const struct req *r, const struct nl_error *err, struct resp *out)
{
	const char *title;
	int status = err->status >= 400 ? err->status : 500;
	char code[64];
	const char *accept = req_header(r, "Accept");
	/* 5xx text may carry internals, except 503, whose message says what to do. */
	const char *msg = status >= 500 && status != 503 ? "The server has either erred or is incapable of performing the requested "
					  "operation." : err->msg;

	switch (status) {
	case 400: title = "Bad Request"; break;
	case 401: title = "Unauthorized"; break;
	case 403: title = "Forbidden"; break;
	case 404: title = "Not Found"; break;
	case 405: title = "Method Not Allowed"; break;
	case 409: title = "Conflict"; break;
	case 413: title = "Request Entity Too Large"; break;
	case 415: title = "Unsupported Media Type"; break;
	case 416: title = "Requested Range Not Satisfiable"; break;
	case 503: title = "Service Unavailable"; break;
	default: title = "Internal Server Error"; break;
	}
	snprintf(code, sizeof(code), "%d %s", status, title);
	if (status == 415 && r->method == M_PATCH)   /* tell the client what PATCH takes, as Glance does */
		resp_header(out, "Accept-Patch", "application/openstack-images-v2.0-json-patch, "
			    "application/openstack-images-v2.1-json-patch");
	if (accept && strstr(accept, "json")) {
		char text[1200];
		snprintf(text, sizeof(text), "%s<br /><br />\n\n\n", msg);
		json_t *body = json_pack("{s:s, s:s, s:s}", "message", text, "code", code, "title", title);
		resp_json(out, status, body ? body : json_pack("{s:s, s:s, s:s}", "message", "", "code", code,
							       "title", title));
		return;
	}
	out->status = status;
	if (asprintf(&out->raw, "%s\n\n%s\n\n   ", code, msg) < 0)
		out->raw = NULL;
	out->raw_len = out->raw ? strlen(out->raw) : 0;
	out->content_type = "text/plain; charset=UTF-8";
}

/* ---- views ---- */
void image_data_path(const char *id, bool partial, char *out, size_t len)
{
	snprintf(out, len, "%s/images/%s%s", g_config.state_dir, id, partial ? ".part" : "");
}

json_t *image_view(json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	char path[200], created[40], updated[40];
	json_t *v = json_object(), *x;
	const char *k;
	static const char *const copy[] = { "id", "name", "status", "visibility", "owner", "disk_format",
		"container_format", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
		"min_disk", "min_ram", "tags", NULL };

	/* Custom properties first, so a base attribute can never be shadowed by one. */
	json_object_foreach(json_object_get(row, "properties"), k, x)
		json_object_set(v, k, x);
	for (int i = 0; copy[i]; i++)
		json_object_set(v, copy[i], json_object_get(row, copy[i]));
	json_object_set_new(v, "protected", json_boolean(json_integer_value(json_object_get(row, "protected"))));
	json_object_set_new(v, "os_hidden", json_boolean(json_integer_value(json_object_get(row, "os_hidden"))));
	nl_time_iso_s(json_integer_value(json_object_get(row, "created_at")), created, sizeof(created));
	nl_time_iso_s(json_integer_value(json_object_get(row, "updated_at")), updated, sizeof(updated));
	json_object_set_new(v, "created_at", json_string(created));
	json_object_set_new(v, "updated_at", json_string(updated));
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	json_object_set_new(v, "self", json_string(path));
	snprintf(path, sizeof(path), "/v2/images/%s/file", id);
	json_object_set_new(v, "file", json_string(path));
	json_object_set_new(v, "schema", json_string("/v2/schemas/image"));
	json_decref(row);
	return v;
}

json_t *image_get_visible(struct req *r, const char *id, struct nl_error *err)
{
	json_t *img = db_image_get(id, auth_is_admin(&r->auth) || auth_service_wide(r) ? NULL : r->auth.project_id);
	if (!img)
		nl_err_set(err, 404, "No image found with ID %s", id);
	return img;
}

int image_may_modify(struct req *r, json_t *img, const char *action, struct nl_error *err)
{
	const char *owner = json_string_value(json_object_get(img, "owner"));
	if (auth_is_admin(&r->auth) || auth_service_wide(r) ||
	    (owner && !strcmp(owner, r->auth.project_id) && (r->auth.roles & ROLE_MEMBER)))
		return 0;
	nl_err_set(err, 403, "You are not permitted to %s this image.", action);
	return -1;
}

/* ---- create ---- */
/* Checks one attribute of a create or patch against Glance's image schema. Base
 * attributes go to cols, custom ones (strings) to props. */
static int accept_attr(struct req *r, const char *k, json_t *v, json_t *cols, json_t *props, bool create,
		       struct nl_error *err)
{
	char repr[300];
	if (image_attr_reserved(k)) {
		nl_err_set(err, 403, "Attribute '%s' is reserved.", k);
		return -1;
	}
	if (in_list(read_only, k) || (!create && !strcmp(k, "id"))) {
		nl_err_set(err, 403, "Attribute '%s' is read-only.", k);
		return -1;
	}
	json_py_repr(v, repr, sizeof(repr));
	if (!strcmp(k, "name") || !strcmp(k, "disk_format") || !strcmp(k, "container_format") ||
	    !strcmp(k, "visibility") || !strcmp(k, "id") || !strcmp(k, "owner")) {
		const char *s = json_string_value(v);
		bool nullable = strcmp(k, "visibility") && strcmp(k, "id");
		if (!(json_is_string(v) || (nullable && json_is_null(v)))) {
			nl_err_set(err, 400, "Provided object does not match schema 'image': %s is not of type %s",
				   repr, nullable ? "'null', 'string'" : "'string'");
			return -1;
		}
		if (s && nl_utf8_len(s) > 255) {
			nl_err_set(err, 400, "Provided object does not match schema 'image': %s is too long", repr);
			return -1;
		}
		const char *const *allowed = !strcmp(k, "disk_format") ? disk_formats :
					     !strcmp(k, "container_format") ? container_formats :
					     !strcmp(k, "visibility") ? visibilities : NULL;
		if (s && allowed && !in_list(allowed, s)) {
			nl_err_set(err, 400, "Invalid value '%s' for parameter '%s'.", s, k);
			return -1;
		}
		if (!strcmp(k, "id") && !nl_is_uuid_like(s)) {
			nl_err_set(err, 400, "Provided object does not match schema 'image': %s does not match "
				   "'^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$'",
				   repr);
			return -1;
		}
		if (!strcmp(k, "visibility") && !strcmp(s, "public") && !auth_is_admin(&r->auth)) {
			nl_err_set(err, 403, "You are not authorized to complete publicize_image action.");
			return -1;
		}
		if (!strcmp(k, "owner") && !auth_is_admin(&r->auth)) {
			nl_err_set(err, 403, "Owner can't be updated by non admin.");
			return -1;
		}
		json_object_set(cols, k, v);
		return 0;
	}
	if (!strcmp(k, "protected") || !strcmp(k, "os_hidden")) {
		if (!json_is_boolean(v)) {
			nl_err_set(err, 400, "Provided object does not match schema 'image': %s is not of type 'boolean'",
				   repr);
			return -1;
		}
		json_object_set(cols, k, v);
		return 0;
	}
	if (!strcmp(k, "min_disk") || !strcmp(k, "min_ram")) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0x7FFFFFFF) {
			nl_err_set(err, 400, "Provided object does not match schema 'image': %s is not of type "
				   "'integer' or is less than the minimum of 0", repr);
			return -1;
		}
		json_object_set(cols, k, v);
		return 0;
	}
	if (!strcmp(k, "tags")) {
		size_t i;
		json_t *t;
		if (!json_is_array(v)) {
			nl_err_set(err, 400, "Provided object does not match schema 'image': %s is not of type 'array'", repr);
			return -1;
		}
		json_array_foreach(v, i, t) {
			if (!json_is_string(t) || nl_utf8_len(json_string_value(t)) > 255) {
				nl_err_set(err, 400, "Provided object does not match schema 'image': invalid tag %s", repr);
				return -1;
			}
		}
		json_object_set(cols, k, v);
		return 0;
	}
	/* Custom properties: strings of at most 255 characters, keys of at most 255. */
	if (nl_utf8_len(k) < 1 || nl_utf8_len(k) > 255) {
		nl_err_set(err, 400, "Provided object does not match schema 'image': property names are 1 to 255 "
			   "characters");
		return -1;
	}
	if (!json_is_string(v) && !(create == false && json_is_null(v))) {
		nl_err_set(err, 400, "Provided object does not match schema 'image': %s is not of type 'string'", repr);
		return -1;
	}
	if (json_is_string(v) && nl_utf8_len(json_string_value(v)) > 255) {
		nl_err_set(err, 400, "Provided object does not match schema 'image': %s is too long", repr);
		return -1;
	}
	json_object_set(props, k, v);
	return 0;
}

int image_accept_attrs(struct req *r, json_t *obj, json_t *cols, json_t *props, bool create, struct nl_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		if (accept_attr(r, k, v, cols, props, create, err))
			return -1;
	return 0;
}

struct image_ctx {
	const char *id, *owner;
	json_t *cols, *props;
	struct req *r;
};

static int apply_tags_props(const char *id, json_t *cols, json_t *props, bool replace_tags, struct nl_error *err)
{
	json_t *tags = json_incref(json_object_get(cols, "tags")), *t, *v;
	const char *k;
	size_t i;
	int rc = 0;

	json_object_del(cols, "tags");
	if (tags && replace_tags) {
		json_t *img = db_image_get(id, NULL);
		json_array_foreach(json_object_get(img, "tags"), i, t)
			if (db_image_tag_delete(id, json_string_value(t), err) < 0)
				rc = -1;
		json_decref(img);
	}
	json_array_foreach(tags, i, t)
		if (!rc && db_image_tag_add(id, json_string_value(t), err))
			rc = -1;
	json_decref(tags);
	json_object_foreach(props, k, v) {
		if (rc)
			break;
		rc = json_is_null(v) ? (db_image_prop_delete(id, k, err) < 0 ? -1 : 0) :
		     db_image_prop_set(id, k, json_string_value(v), err);
	}
	return rc;
}

int image_store_attrs(const char *id, json_t *cols, json_t *props, bool replace_tags, struct nl_error *err)
{
	json_t *tags = json_incref(json_object_get(cols, "tags"));
	int rc;
	json_object_del(cols, "tags");
	rc = db_image_update(id, cols, err);
	if (!rc && tags)
		json_object_set(cols, "tags", tags);
	json_decref(tags);
	return rc ? rc : apply_tags_props(id, cols, props, replace_tags, err);
}

int image_count_quota_check(const char *owner, struct nl_error *err)
{
	int64_t count, bytes;
	db_image_usage(owner, NULL, &count, &bytes);
	if (g_config.quota_image_count >= 0 && count >= g_config.quota_image_count) {
		nl_err_set(err, 413, "Maximum number of images exceeded: the project owns %lld of %d allowed.",
			   (long long)count, g_config.quota_image_count);
		return -1;
	}
	return 0;
}

static int create_tx(void *p, struct nl_error *err)
{
	struct image_ctx *c = p;
	if (image_count_quota_check(c->owner, err))
		return -1;
	json_t *tags = json_object_get(c->cols, "tags");
	json_incref(tags);
	json_object_del(c->cols, "tags");
	int rc = db_image_insert(c->id, c->owner, c->cols, err);
	if (!rc && tags)
		json_object_set(c->cols, "tags", tags);
	json_decref(tags);
	return rc ? rc : apply_tags_props(c->id, c->cols, c->props, false, err);
}

int image_create(struct req *r, struct resp *out, struct nl_error *err)
{
	static const char *const types[] = { "application/json", NULL };
	json_t *cols = json_object(), *props = json_object();
	char id[37], loc[300];
	struct image_ctx c = { .cols = cols, .props = props, .r = r };
	int rc = -1;

	if (image_parse_body(r, types, err))
		goto out;
	if (!json_is_object(r->json)) {
		nl_err_set(err, 400, "Body expected in request.");
		goto out;
	}
	if (image_accept_attrs(r, r->json, cols, props, true, err))
		goto out;
	if (json_object_get(cols, "id"))
		snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(cols, "id")));
	else
		nl_uuid_new(id);
	json_object_del(cols, "id");
	if (!json_object_get(cols, "visibility"))
		json_object_set_new(cols, "visibility", json_string("shared"));
	c.id = id;
	c.owner = json_string_value(json_object_get(cols, "owner"));
	if (!c.owner)
		c.owner = r->auth.project_id;
	json_object_del(cols, "owner");
	json_object_set_new(cols, "status", json_string("queued"));
	if (db_tx_run(create_tx, &c, err))   /* 409 "Image ID ... already exists!", also for a deleted id */
		goto out;
	snprintf(loc, sizeof(loc), "%s/v2/images/%s", service_base_url(SVC_IMAGE), id);
	resp_header(out, "Location", loc);
	resp_json(out, 201, image_view(db_image_get(id, NULL)));
	rc = 0;
out:
	json_decref(cols);
	json_decref(props);
	return rc;
}

/* ---- show / delete ---- */
int image_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *img = image_get_visible(r, req_param(r, 0), err);
	if (!img)
		return -1;
	resp_json(out, 200, image_view(img));
	return 0;
}

static int delete_tx(void *p, struct nl_error *err)
{
	struct image_ctx *c = p;
	json_t *img = image_get_visible(c->r, c->id, err);
	int rc = -1;
	if (!img)
		return -1;
	if (image_may_modify(c->r, img, "delete", err))
		goto out;
	if (json_integer_value(json_object_get(img, "protected"))) {
		nl_err_set(err, 403, "Image %s is protected and cannot be deleted.", c->id);
		goto out;
	}
	rc = db_image_delete(c->id, err);
out:
	json_decref(img);
	return rc;
}

int image_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct image_ctx c = { .id = req_param(r, 0), .r = r };
	char path[600];
	if (db_tx_run(delete_tx, &c, err))
		return -1;
	/* The row is gone first: a crash here leaves an orphan file, never a row without data. */
	image_data_path(c.id, false, path, sizeof(path));
	unlink(path);
	out->status = 204;
	return 0;
}

/* ---- list ---- */
static bool prop_matches(json_t *img, const char *k, const char *want)
{
	json_t *v = json_object_get(json_object_get(img, "properties"), k);
	return v && !strcmp(json_string_value(v), want);
}

static const char *str_of(json_t *img, const char *k)
{
	const char *s = json_string_value(json_object_get(img, k));
	return s ? s : "";
}

struct sort_spec { char keys[4][32]; bool desc[4]; int n; };
static __thread const struct sort_spec *tls_sort;

static int cmp_images(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	for (int i = 0; i < tls_sort->n; i++) {
		json_t *vx = json_object_get(x, tls_sort->keys[i]), *vy = json_object_get(y, tls_sort->keys[i]);
		int c;
		if (json_is_integer(vx) || json_is_integer(vy))
			c = (json_integer_value(vx) > json_integer_value(vy)) - (json_integer_value(vx) < json_integer_value(vy));
		else
			c = strcmp(json_string_value(vx) ? json_string_value(vx) : "",
				   json_string_value(vy) ? json_string_value(vy) : "");
		if (c)
			return tls_sort->desc[i] ? -c : c;
	}
	return strcmp(str_of(x, "id"), str_of(y, "id"));
}

static const char *const sort_keys[] = { "name", "status", "container_format", "disk_format", "size", "id",
	"created_at", "updated_at", "visibility", "owner", "min_disk", "min_ram", "virtual_size", NULL };

static int parse_sort(struct req *r, struct sort_spec *s, struct nl_error *err)
{
	const char *sort = req_query(r, "sort"), *key = req_query(r, "sort_key"), *dir = req_query(r, "sort_dir");
	memset(s, 0, sizeof(*s));
	if (sort) {
		char buf[256], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", sort);
		for (char *t = strtok_r(buf, ",", &save); t && s->n < 4; t = strtok_r(NULL, ",", &save)) {
			char *colon = strchr(t, ':');
			while (*t == ' ') t++;
			if (colon) {
				*colon = '\0';
				if (strcmp(colon + 1, "asc") && strcmp(colon + 1, "desc")) {
					nl_err_set(err, 400, "Invalid sort direction: %s", colon + 1);
					return -1;
				}
				s->desc[s->n] = !strcmp(colon + 1, "desc");
			} else {
				s->desc[s->n] = true;
			}
			if (!in_list(sort_keys, t)) {
				nl_err_set(err, 400, "Invalid sort key: %s. It should be one of the following: name, status, "
					   "container_format, disk_format, size, id, created_at, updated_at.", t);
				return -1;
			}
			snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", t);
		}
		return 0;
	}
	if (key && !in_list(sort_keys, key)) {
		nl_err_set(err, 400, "Invalid sort key: %s. It should be one of the following: name, status, "
			   "container_format, disk_format, size, id, created_at, updated_at.", key);
		return -1;
	}
	if (dir && strcmp(dir, "asc") && strcmp(dir, "desc")) {
		nl_err_set(err, 400, "Invalid sort direction: %s", dir);
		return -1;
	}
	snprintf(s->keys[0], sizeof(s->keys[0]), "%s", key ? key : "created_at");
	s->desc[0] = !dir || !strcmp(dir, "desc");
	s->n = 1;
	return 0;
}

static bool visible_in_list(struct req *r, json_t *img, const char *vis, const char *member_status)
{
	const char *v = str_of(img, "visibility"), *owner = str_of(img, "owner");
	bool mine = !strcmp(owner, r->auth.project_id);
	bool admin = auth_is_admin(&r->auth);

	if (vis && strcmp(vis, "all") && strcmp(v, vis))
		return false;
	if (!strcmp(v, "shared") && !mine && !admin) {
		json_t *m = db_image_member_get(str_of(img, "id"), r->auth.project_id);
		const char *st = m ? str_of(m, "status") : "";
		bool ok = m && (!strcmp(member_status ? member_status : "accepted", "all") ||
				!strcmp(st, member_status ? member_status : "accepted"));
		json_decref(m);
		return ok;
	}
	/* Community images are listed only when asked for (or when they are one's own). */
	if (!strcmp(v, "community") && !mine && !(vis && (!strcmp(vis, "community") || !strcmp(vis, "all"))))
		return false;
	return true;
}

static const char *const list_params[] = { "limit", "marker", "sort", "sort_key", "sort_dir", "name", "status",
	"visibility", "owner", "member_status", "tag", "disk_format", "container_format", "size_min", "size_max",
	"os_hidden", "id", NULL };

/* Any query parameter that is not one of the above filters on a custom property. */
static void collect_props(const char *key, const char *value, void *ctx)
{
	if (*key && !in_list(list_params, key))
		json_object_set_new(ctx, key, json_string(value));
}

struct next_ctx { char buf[2048]; size_t len; };

/* Re-encodes one query parameter (percent-encoding what is not unreserved). */
static void add_param(const char *key, const char *value, void *ctx)
{
	struct next_ctx *nc = ctx;
	const char *parts[2] = { key, value };
	if (!strcmp(key, "marker") || !strcmp(key, "limit"))
		return;
	for (int p = 0; p < 2; p++) {
		if (p == 1 && nc->len < sizeof(nc->buf) - 1)
			nc->buf[nc->len++] = '=';
		for (const unsigned char *c = (const unsigned char *)parts[p]; *c && nc->len < sizeof(nc->buf) - 4; c++) {
			if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			    strchr("-_.~:,", *c))
				nc->buf[nc->len++] = (char)*c;
			else
				nc->len += (size_t)snprintf(nc->buf + nc->len, 4, "%%%02X", *c);
		}
	}
	if (nc->len < sizeof(nc->buf) - 1)
		nc->buf[nc->len++] = '&';
	nc->buf[nc->len] = '\0';
}

int image_list(struct req *r, struct resp *out, struct nl_error *err)
{
	struct sort_spec sort;
	const char *lim = req_query(r, "limit"), *marker = req_query(r, "marker");
	const char *vis = req_query(r, "visibility"), *ms = req_query(r, "member_status");
	const char *tag = req_query(r, "tag"), *smin = req_query(r, "size_min"), *smax = req_query(r, "size_max");
	const char *hidden = req_query(r, "os_hidden");
	long long limit = 25, min = -1, max = -1;
	json_t *rows, *img, *list, *props = json_object();
	size_t i, n = 0, start = 0;
	char *end;

	if (lim) {
		limit = strtoll(lim, &end, 10);
		if (!*lim || *end || limit < 0) {
			nl_err_set(err, 400, "limit param must be positive");
			json_decref(props);
			return -1;
		}
		if (limit > 1000)
			limit = 1000;
	}
	if ((smin && (min = strtoll(smin, &end, 10), *end || !*smin)) ||
	    (smax && (max = strtoll(smax, &end, 10), *end || !*smax))) {
		nl_err_set(err, 400, "Invalid value for size filter: must be an integer.");
		json_decref(props);
		return -1;
	}
	if (vis && strcmp(vis, "all") && !in_list(visibilities, vis)) {
		nl_err_set(err, 400, "Invalid visibility value: %s", vis);
		json_decref(props);
		return -1;
	}
	if (parse_sort(r, &sort, err)) {
		json_decref(props);
		return -1;
	}
	req_query_each(r, collect_props, props);

	rows = db_image_list(auth_is_admin(&r->auth) ? NULL : r->auth.project_id);
	list = json_array();
	json_t *matched = json_array();
	json_array_foreach(rows, i, img) {
		const char *k;
		json_t *v;
		bool ok = visible_in_list(r, img, vis, ms);
#define EQ(param, col) (!req_query(r, param) || !strcmp(str_of(img, col), req_query(r, param)))
		ok = ok && EQ("name", "name") && EQ("status", "status") && EQ("owner", "owner") &&
		     EQ("disk_format", "disk_format") && EQ("container_format", "container_format") && EQ("id", "id");
#undef EQ
		/* An image without data has no size: a size filter never matches it (SQL NULL). */
		json_t *sz = json_object_get(img, "size");
		long long size = json_integer_value(sz);
		ok = ok && ((min < 0 && max < 0) || json_is_integer(sz)) && (min < 0 || size >= min) &&
		     (max < 0 || size <= max);
		if (ok && tag) {
			bool has = false;
			size_t k2;
			json_t *t;
			json_array_foreach(json_object_get(img, "tags"), k2, t)
				has |= !strcmp(json_string_value(t), tag);
			ok = has;
		}
		ok = ok && (hidden ? (!strcasecmp(hidden, "true")) == (json_integer_value(json_object_get(img, "os_hidden")) != 0)
				   : !json_integer_value(json_object_get(img, "os_hidden")));
		json_object_foreach(props, k, v)
			ok = ok && prop_matches(img, k, json_string_value(v));
		if (ok)
			json_array_append(matched, img);
	}
	json_decref(rows);
	json_decref(props);

	/* Sort a plain copy of the pointers (jansson arrays are opaque); the comparator
	 * reads the sort spec from a thread-local, as qsort has no context argument. */
	tls_sort = &sort;
	size_t cnt = json_array_size(matched);
	json_t **vec = nl_calloc(cnt ? cnt : 1, sizeof(json_t *));
	for (i = 0; i < cnt; i++)
		vec[i] = json_array_get(matched, i);
	qsort(vec, cnt, sizeof(json_t *), cmp_images);
	if (marker) {
		bool found = false;
		for (i = 0; i < cnt && !found; i++)
			if (!strcmp(str_of(vec[i], "id"), marker)) {
				start = i + 1;
				found = true;
			}
		if (!found) {
			free(vec);
			json_decref(matched);
			json_decref(list);
			nl_err_set(err, 400, "marker could not be found");
			return -1;
		}
	}
	for (i = start; i < cnt && n < (size_t)limit; i++, n++)
		json_array_append_new(list, image_view(json_incref(vec[i])));
	json_t *body = json_pack("{s:o, s:s, s:s}", "images", list, "first", "/v2/images", "schema", "/v2/schemas/images");
	if (n && n == (size_t)limit && i < cnt) {
		/* The next page keeps every other parameter (filters, sort), as Glance's does. */
		struct next_ctx nc = { .len = 0 };
		nc.buf[0] = '\0';
		req_query_each(r, add_param, &nc);
		snprintf(nc.buf + nc.len, sizeof(nc.buf) - nc.len, "marker=%s&limit=%lld",  /* add_param ends in '&' */
			 str_of(vec[i - 1], "id"), limit);
		char next[2200];
		snprintf(next, sizeof(next), "/v2/images?%s", nc.buf);
		json_object_set_new(body, "next", json_string(next));
	}
	free(vec);
	json_decref(matched);
	resp_json(out, 200, body);
	return 0;
}
