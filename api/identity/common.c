/* Identity discovery, catalog, shared views and the Keystone error renderer. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/identity/identity.h"
#include "api/render.h"
#include "common/config.h"
#include "db/identity.h"

/* ---- discovery ---- */
static json_t *v3_version(void)
{
	char href[400];
	snprintf(href, sizeof(href), "%s/v3/", service_base_url(SVC_IDENTITY));
	return json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}",
			 "id", "v3.14", "status", "stable", "updated", "2020-04-07T00:00:00Z",
			 "links", "rel", "self", "href", href,
			 "media-types", "base", "application/json", "type", "application/vnd.openstack.identity-v3+json");
}

int identity_versions(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)r; (void)err;
	resp_json(out, 300, json_pack("{s:{s:[o]}}", "versions", "values", v3_version()));
	return 0;
}

int identity_v3(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)r; (void)err;
	resp_json(out, 200, json_pack("{s:o}", "version", v3_version()));
	return 0;
}

/* ---- catalog ---- */
static json_t *catalog;

struct catalog_entry { const char *type, *name, *id, *path; enum service svc; };
static const struct catalog_entry entries[] = {
	{ "identity", "keystone", "9f3a1c2b4d5e6f708192a3b4c5d6e7f8", "/v3", SVC_IDENTITY },
	{ "compute", "nova", "2b7c9d0e1f2a3b4c5d6e7f8091a2b3c4", "/v2.1", SVC_COMPUTE },
	{ "image", "glance", "5d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6", "", SVC_IMAGE },
};

void catalog_init(void)
{
	static const char *ifaces[] = { "public", "internal", "admin" };
	catalog = json_array();
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		const struct catalog_entry *e = &entries[i];
		json_t *eps = json_array();
		char url[400], id[40];
		snprintf(url, sizeof(url), "%s%s", service_base_url(e->svc), e->path);
		for (int k = 0; k < 3; k++) {
			/* Stable endpoint ids: service id with the interface's index in the last digit. */
			snprintf(id, sizeof(id), "%.31s%d", e->id, k);
			json_array_append_new(eps, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id,
				"interface", ifaces[k], "region_id", g_config.region, "region", g_config.region,
				"url", url));
		}
		json_array_append_new(catalog, json_pack("{s:o, s:s, s:s, s:s}", "endpoints", eps,
							 "id", e->id, "type", e->type, "name", e->name));
	}
}

json_t *catalog_get(void) { return catalog; }

int service_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *list = json_array();
	(void)err;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b, s:o}", "id", entries[i].id,
			"type", entries[i].type, "name", entries[i].name, "enabled", 1,
			"links", identity_link("services", entries[i].id)));
	resp_json(out, 200, json_pack("{s:o, s:o}", "services", list, "links", identity_collection_links(r)));
	return 0;
}

int endpoint_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *list = json_array(), *svc;
	size_t i;
	(void)err;
	json_array_foreach(catalog, i, svc) {
		json_t *ep;
		size_t k;
		json_array_foreach(json_object_get(svc, "endpoints"), k, ep) {
			json_t *e = json_deep_copy(ep);
			json_object_set(e, "service_id", json_object_get(svc, "id"));
			json_object_set_new(e, "enabled", json_true());
			json_object_set_new(e, "links", identity_link("endpoints",
					    json_string_value(json_object_get(ep, "id"))));
			json_array_append_new(list, e);
		}
	}
	resp_json(out, 200, json_pack("{s:o, s:o}", "endpoints", list, "links", identity_collection_links(r)));
	return 0;
}

int region_list(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	resp_json(out, 200, json_pack("{s:[{s:s, s:s, s:n, s:o}], s:o}", "regions", "id", g_config.region,
				      "description", "", "parent_region_id", "links",
				      identity_link("regions", g_config.region), "links", identity_collection_links(r)));
	return 0;
}

/* ---- helpers and views ---- */
json_t *identity_link(const char *collection, const char *id)
{
	char url[600];
	snprintf(url, sizeof(url), "%s/v3/%s/%s", service_base_url(SVC_IDENTITY), collection, id);
	return json_pack("{s:s}", "self", url);
}

json_t *identity_collection_links(const struct req *r)
{
	char url[600];
	snprintf(url, sizeof(url), "%s%s", service_base_url(SVC_IDENTITY), r->url);
	return json_pack("{s:s, s:n, s:n}", "self", url, "previous", "next");
}

int identity_query_bool(const struct req *r, const char *name)
{
	const char *v = req_query(r, name);
	if (!v)
		return -1;
	/* Keystone: anything but "0"/"false" (case-insensitive) is true, "" included. */
	return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0);
}

static void to_bool(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (v)
		json_object_set_new(o, k, json_boolean(json_integer_value(v)));
}

json_t *project_view(json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	to_bool(row, "enabled");
	if (json_is_null(json_object_get(row, "parent_id")))
		json_object_set(row, "parent_id", json_object_get(row, "domain_id"));
	json_object_set_new(row, "is_domain", json_false());
	json_object_set_new(row, "tags", json_array());
	json_object_set_new(row, "options", json_object());
	json_object_set_new(row, "links", identity_link("projects", id));
	return row;
}

json_t *user_view(json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	json_object_del(row, "password_hash");   /* never leaves db rows */
	to_bool(row, "enabled");
	/* Optional attributes appear only when set, as Keystone's extra attributes do. */
	const char *opt[] = { "default_project_id", "description", "email" };
	for (size_t i = 0; i < 3; i++)
		if (json_is_null(json_object_get(row, opt[i])))
			json_object_del(row, opt[i]);
	json_object_set_new(row, "password_expires_at", json_null());
	json_object_set_new(row, "options", json_object());
	json_object_set_new(row, "links", identity_link("users", id));
	return row;
}

json_t *role_view(json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	json_object_set_new(row, "options", json_object());
	json_object_set_new(row, "links", identity_link("roles", id));
	return row;
}

json_t *domain_view(json_t *row)
{
	const char *id = json_string_value(json_object_get(row, "id"));
	to_bool(row, "enabled");
	json_object_set_new(row, "tags", json_array());
	json_object_set_new(row, "options", json_object());
	json_object_set_new(row, "links", identity_link("domains", id));
	return row;
}

int identity_not_found(struct nl_error *err, const char *what, const char *id)
{
	nl_err_set(err, 404, "Could not find %s: %s.", what, id);
	return -1;
}

int identity_forbidden(const struct req *r, struct nl_error *err)
{
	nl_err_set(err, 403, "You are not authorized to perform the requested action: %s.",
		   r->route && r->route->rule ? r->route->rule : "");
	return -1;
}

int identity_domain_admin_may(const struct req *r, const char *domain_id, struct nl_error *err)
{
	if (r->auth.roles & ROLE_ADMIN)
		return 0;
	if (auth_is_domain_admin(&r->auth) && domain_id && !strcmp(domain_id, r->auth.domain_id))
		return 0;
	return identity_forbidden(r, err);
}

int identity_domain_admin_may_user(const struct req *r, const char *user_id, struct nl_error *err)
{
	if (r->auth.roles & ROLE_ADMIN)
		return 0;
	json_t *u = db_user_get(user_id);
	int rc;
	if (!u)
		return identity_not_found(err, "user", user_id);
	rc = identity_domain_admin_may(r, json_string_value(json_object_get(u, "domain_id")), err);
	json_decref(u);
	if (rc == 0 && db_user_privileged(user_id))
		rc = identity_forbidden(r, err);
	return rc;
}

bool identity_domain_grantable_role(const char *role_id)
{
	json_t *role = db_role_get(role_id);
	const char *n = json_string_value(json_object_get(role, "name"));
	bool ok = n && (!strcmp(n, "member") || !strcmp(n, "reader"));
	json_decref(role);
	return ok;
}

/* ---- the one Keystone error renderer ---- */
void identity_render_error(const struct req *r, const struct nl_error *err, struct resp *out)
{
	const char *title;
	const char *msg = err->msg;
	(void)r;
	switch (err->status) {
	case 400: title = "Bad Request"; break;
	case 401: title = "Unauthorized"; break;
	case 403: title = "Forbidden"; break;
	case 404: title = "Not Found"; break;
	case 405: title = "Method Not Allowed"; break;
	case 409: title = "Conflict"; break;
	case 413: title = "Request Entity Too Large"; break;
	case 415: title = "Unsupported Media Type"; break;
	case 503: title = "Service Unavailable"; break;
	default: title = "Internal Server Error"; break;
	}
	if (err->status >= 500 && err->status != 503)
		msg = "An unexpected error prevented the server from fulfilling your request.";
	int status = err->status >= 400 ? err->status : 500;
	json_t *body = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", status, "title", title, "message", msg);
	if (!body)   /* a message that is not valid UTF-8 must still give a body */
		body = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", status, "title", title,
				 "message", "Invalid request.");
	resp_json(out, status, body);
}
