/* /v2.1/flavors: list, detail, show, create, update (2.55), delete, extra specs,
 * access. The view functions at the top hold each field's microversion history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/handlers.h"
#include "common/util.h"
#include "db/compute.h"
#include "db/db.h"
#include "db/identity.h"

/* ---- specs (nova/api/openstack/compute/schemas/flavor_manage.py) ---- */
#define F struct flavor_in
#define SIZE_FIELD(member, key, flags, lo) \
	FIELD(F, member, key, SPEC_INT, (flags) | SPEC_INT_STRING | SPEC_DIGITS_PLUS | BOUNDED, LEN(lo, 0x7FFFFFFF))
#define FLAVOR_BASE_FIELDS \
	FIELD(F, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_NAME), \
	{ .name = "id", .type = SPEC_ANY, .offset = offsetof(F, id) }, \
	SIZE_FIELD(ram, "ram", SPEC_REQUIRED, 1), \
	SIZE_FIELD(vcpus, "vcpus", SPEC_REQUIRED, 1), \
	SIZE_FIELD(disk, "disk", SPEC_REQUIRED, 0), \
	SIZE_FIELD(ephemeral, "OS-FLV-EXT-DATA:ephemeral", 0, 0), \
	SIZE_FIELD(swap, "swap", 0, 0), \
	FIELD(F, rxtx_factor, "rxtx_factor", SPEC_NUMBER, SPEC_INT_STRING | SPEC_HAS_MIN | SPEC_EXCL_MIN, .min = 0), \
	FIELD(F, is_public, "os-flavor-access:is_public", SPEC_BOOL, SPEC_BOOL_STRING)

static const struct field_spec flavor_v21[] = { FLAVOR_BASE_FIELDS, SPEC_END_ROW };
static const struct field_spec flavor_v255[] = {
	FLAVOR_BASE_FIELDS,
	FIELD(F, description, "description", SPEC_STRING, SPEC_NULLABLE | BOUNDED, LEN(0, 65535), .format = FMT_PRINTABLE),
	SPEC_END_ROW
};
static const struct field_spec flavor_update_fields[] = {
	FIELD(F, description, "description", SPEC_STRING, SPEC_REQUIRED | SPEC_NULLABLE | BOUNDED, LEN(0, 65535),
	      .format = FMT_PRINTABLE),
	SPEC_END_ROW
};
const struct field_spec flavor_create_v21[] = {
	WRAPPER("flavor", SPEC_REQUIRED | SPEC_NO_EXTRA, flavor_v21), SPEC_END_ROW
};
const struct field_spec flavor_create_v255[] = {
	WRAPPER("flavor", SPEC_REQUIRED | SPEC_NO_EXTRA, flavor_v255), SPEC_END_ROW
};
const struct field_spec flavor_update_v255[] = {
	WRAPPER("flavor", SPEC_REQUIRED | SPEC_NO_EXTRA, flavor_update_fields), SPEC_END_ROW
};
#undef F

#define E struct extra_specs_in
const struct field_spec extra_specs_create_spec[] = {
	{ .name = "extra_specs", .type = SPEC_STRMAP, .flags = SPEC_REQUIRED | SPEC_INT_STRING,
	  .charset = "a-zA-Z0-9-_:. ", .offset = offsetof(E, specs) },
	SPEC_END_ROW
};
/* PUT .../os-extra_specs/{key}: the body is the one-key map itself. */
const struct field_spec extra_spec_update_spec[] = { SPEC_END_ROW };
#undef E

#define A struct flavor_action_in
static const struct field_spec tenant_add[] = {
	FIELD(A, add_tenant, "tenant", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_CHARSET,
	      .charset = "a-zA-Z0-9-"),
	SPEC_END_ROW
};
static const struct field_spec tenant_remove[] = {
	FIELD(A, remove_tenant, "tenant", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_CHARSET,
	      .charset = "a-zA-Z0-9-"),
	SPEC_END_ROW
};
const struct field_spec flavor_action_spec[] = {
	NESTED(A, add, "addTenantAccess", SPEC_NO_EXTRA, tenant_add),
	NESTED(A, remove, "removeTenantAccess", SPEC_NO_EXTRA, tenant_remove),
	SPEC_END_ROW
};
#undef A

/* GET /flavors[/detail] query (schemas/flavors.py index_query; strict from 2.75). */
static const char *const sort_keys[] = { "created_at", "description", "disabled", "ephemeral_gb", "flavorid",
	"id", "is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap", "updated_at", "vcpu_weight",
	"vcpus", NULL };
static const char *const sort_dirs[] = { "asc", "desc", NULL };
const struct field_spec flavor_index_query[] = {
	{ .name = "limit", .type = SPEC_INT, .flags = SPEC_INT_STRING | SPEC_HAS_MIN, .min = 0, .offset = SPEC_NOSTORE },
	{ .name = "marker", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	{ .name = "is_public", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	{ .name = "minRam", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	{ .name = "minDisk", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	{ .name = "sort_key", .type = SPEC_STRING, .enumv = sort_keys, .offset = SPEC_NOSTORE },
	{ .name = "sort_dir", .type = SPEC_STRING, .enumv = sort_dirs, .offset = SPEC_NOSTORE },
	SPEC_END_ROW
};

/* ---- views (nova/api/openstack/compute/views/flavors.py) ---- */
static json_t *flavor_links(json_t *row)
{
	char rest[300];
	snprintf(rest, sizeof(rest), "flavors/%s", json_string_value(json_object_get(row, "flavorid")));
	return compute_links(rest);
}

static json_t *flavor_brief(json_t *row, int mv)
{
	json_t *f = json_pack("{s:O, s:O, s:o}", "id", json_object_get(row, "flavorid"),
			      "name", json_object_get(row, "name"), "links", flavor_links(row));
	if (mv >= 55)
		json_object_set(f, "description", json_object_get(row, "description"));
	return f;
}

static json_t *flavor_full(json_t *row, int mv)
{
	long long swap = json_integer_value(json_object_get(row, "swap"));
	json_t *f = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:b, s:b, s:O, s:o}",
		"id", json_object_get(row, "flavorid"), "name", json_object_get(row, "name"),
		"ram", json_object_get(row, "memory_mb"), "disk", json_object_get(row, "root_gb"),
		"vcpus", json_object_get(row, "vcpus"),
		"OS-FLV-EXT-DATA:ephemeral", json_object_get(row, "ephemeral_gb"),
		"OS-FLV-DISABLED:disabled", (int)json_integer_value(json_object_get(row, "disabled")),
		"os-flavor-access:is_public", (int)json_integer_value(json_object_get(row, "is_public")),
		"rxtx_factor", json_object_get(row, "rxtx_factor"),
		"links", flavor_links(row));
	/* swap: "" for none until 2.75, then 0. */
	json_object_set_new(f, "swap", swap ? json_integer(swap) : mv >= 75 ? json_integer(0) : json_string(""));
	if (mv >= 55)
		json_object_set(f, "description", json_object_get(row, "description"));
	if (mv >= 61)
		json_object_set(f, "extra_specs", json_object_get(row, "extra_specs"));
	return f;
}

/* ---- list / detail ---- */
static int list(struct req *r, struct resp *out, struct nl_error *err, bool detail)
{
	bool admin = auth_is_admin(&r->auth), have_limit;
	const char *pub = req_query(r, "is_public"), *marker = req_query(r, "marker");
	const char *sort_key = req_query(r, "sort_key"), *sort_dir = req_query(r, "sort_dir");
	long long limit = 1000, min_ram = 0, min_disk = 0;
	int is_public = 1;
	json_t *rows, *row, *items;
	size_t i, start = 0, taken = 0;

	if (admin && pub) {
		/* nova flavors.py _parse_is_public: "none" means all; else a strict boolean. */
		if (!strcasecmp(pub, "none"))
			is_public = -1;
		else if (!strcasecmp(pub, "true") || !strcmp(pub, "1") || !strcasecmp(pub, "t") ||
			 !strcasecmp(pub, "yes") || !strcasecmp(pub, "y") || !strcasecmp(pub, "on"))
			is_public = 1;
		else if (!strcasecmp(pub, "false") || !strcmp(pub, "0") || !strcasecmp(pub, "f") ||
			 !strcasecmp(pub, "no") || !strcasecmp(pub, "n") || !strcasecmp(pub, "off"))
			is_public = 0;
		else {
			nl_err_set(err, 400, "Invalid is_public filter [%s]", pub);
			return -1;
		}
	}
	if (compute_query_int(r, "limit", 0, &limit, &have_limit, err))
		return -1;
	if (!have_limit || limit > 1000)
		limit = 1000;
	const char *v;
	char *end;
	if ((v = req_query(r, "minRam"))) {
		min_ram = strtoll(v, &end, 10);
		if (!*v || *end) {
			nl_err_set(err, 400, "Invalid minRam filter [%s]", v);
			return -1;
		}
	}
	if ((v = req_query(r, "minDisk"))) {
		min_disk = strtoll(v, &end, 10);
		if (!*v || *end) {
			nl_err_set(err, 400, "Invalid minDisk filter [%s]", v);
			return -1;
		}
	}
	/* sort_key and sort_dir were checked against their enums by the query spec. */
	rows = db_flavor_list(is_public, r->auth.project_id, !admin, min_ram, min_disk,
			      sort_key && *sort_key ? sort_key : "flavorid", sort_dir && !strcmp(sort_dir, "desc"),
			      detail && r->mv >= 61 /* extra_specs appear in the view from 2.61 */);
	if (marker) {
		bool found = false;
		json_array_foreach(rows, i, row) {
			if (!strcmp(json_string_value(json_object_get(row, "flavorid")), marker)) {
				start = i + 1;
				found = true;
				break;
			}
		}
		if (!found) {
			/* The marker must exist and be visible, even if filters exclude it. */
			json_t *m = db_flavor_get(marker, admin ? NULL : r->auth.project_id);
			json_decref(m);
			if (!m) {
				json_decref(rows);
				nl_err_set(err, 400, "marker [%s] not found", marker);
				return -1;
			}
			start = json_array_size(rows);
		}
	}
	items = json_array();
	for (i = start; i < json_array_size(rows) && taken < (size_t)limit; i++, taken++) {
		row = json_array_get(rows, i);
		json_array_append_new(items, detail ? flavor_full(row, r->mv) : flavor_brief(row, r->mv));
	}
	json_t *body = json_pack("{s:o}", "flavors", items);
	if (taken && taken == (size_t)limit) {
		char href[600];
		const char *last = json_string_value(json_object_get(json_array_get(items, taken - 1), "id"));
		snprintf(href, sizeof(href), "%s/v2.1/flavors%s?limit=%lld&marker=%s", service_base_url(SVC_COMPUTE),
			 detail ? "/detail" : "", limit, last);
		json_object_set_new(body, "flavors_links", json_pack("[{s:s, s:s}]", "rel", "next", "href", href));
	}
	json_decref(rows);
	resp_json(out, 200, body);
	return 0;
}

int flavor_list(struct req *r, struct resp *out, struct nl_error *err) { return list(r, out, err, false); }
int flavor_detail(struct req *r, struct resp *out, struct nl_error *err) { return list(r, out, err, true); }

/* A flavor the caller may see: admins all, others public + granted. 404 otherwise. */
static json_t *get_visible(struct req *r, const char *id, struct nl_error *err)
{
	json_t *f = db_flavor_get(id, auth_is_admin(&r->auth) ? NULL : r->auth.project_id);
	if (!f)
		nl_err_set(err, 404, "Flavor %s could not be found.", id);
	return f;
}

int flavor_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *f = get_visible(r, req_param(r, 0), err);
	if (!f)
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "flavor", flavor_full(f, r->mv)));
	json_decref(f);
	return 0;
}

/* Inside a transaction: 404 unless the flavor exists (any visibility: admin paths).
 * Returns the flavor's is_public flag, or -1 with err set. */
static int flavor_must_exist(const char *id, struct nl_error *err)
{
	json_t *f = db_flavor_get(id, NULL);
	int pub;
	if (!f) {
		nl_err_set(err, 404, "Flavor %s could not be found.", id);
		return -1;
	}
	pub = (int)json_integer_value(json_object_get(f, "is_public"));
	json_decref(f);
	return pub;
}

/* 200 {"flavor": <full view>} of a flavor that was just written. */
static int reply_flavor(struct req *r, struct resp *out, const char *id)
{
	json_t *f = db_flavor_get(id, NULL);
	resp_json(out, 200, json_pack("{s:o}", "flavor", flavor_full(f, r->mv)));
	json_decref(f);
	return 0;
}

/* ---- create / update / delete ---- */
struct flavor_ctx { struct flavor_row_in row; const char *id; const char *key; const char *value; json_t *specs; };

static int create_tx(void *p, struct nl_error *err)
{
	struct flavor_ctx *c = p;
	return db_flavor_insert(&c->row, err);
}

int flavor_create(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct flavor_in *in = r->input;
	struct flavor_ctx c = { 0 };
	char idbuf[300], uuid[37];
	char val[384];

	/* id: string, number or null (null/absent: a UUID is generated), pattern-checked as a string. */
	if (in->id.set && !json_is_null(in->id.v)) {
		json_t *idv = in->id.v;
		if (json_is_string(idv)) {
			snprintf(idbuf, sizeof(idbuf), "%s", json_string_value(idv));
		} else if (json_is_integer(idv)) {
			snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(idv));
		} else if (json_is_real(idv)) {
			snprintf(idbuf, sizeof(idbuf), "%g", json_real_value(idv));
		} else {
			json_py_repr(idv, val, sizeof(val));
			nl_err_set(err, 400, "Invalid input for field/attribute id. Value: %s. %s is not of type "
				   "'string', 'number', 'null'", val, val);
			return -1;
		}
		long n = nl_utf8_len(idbuf);
		const char *ok = ". _-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
		if (n < 1 || n > 255 || strspn(idbuf, ok) != strlen(idbuf) || idbuf[0] == ' ' ||
		    idbuf[strlen(idbuf) - 1] == ' ') {
			json_py_repr(idv, val, sizeof(val));
			nl_err_set(err, 400, "Invalid input for field/attribute id. Value: %s. %s %s", idbuf, val,
				   n < 1 ? "is too short" : n > 255 ? "is too long" :
				   "does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'");
			return -1;
		}
		c.row.flavorid = idbuf;
	} else {
		nl_uuid_new(uuid);
		c.row.flavorid = uuid;
	}
	c.row.name = in->name.v;
	c.row.description = in->description.set && !in->description.null ? in->description.v : NULL;
	c.row.memory_mb = in->ram.v;
	c.row.vcpus = in->vcpus.v;
	c.row.root_gb = in->disk.v;
	c.row.ephemeral_gb = in->ephemeral.set ? in->ephemeral.v : 0;
	c.row.swap = in->swap.set ? in->swap.v : 0;
	c.row.rxtx_factor = in->rxtx_factor.set ? in->rxtx_factor.v : 1.0;
	c.row.is_public = in->is_public.set ? in->is_public.v : true;
	if (db_tx_run(create_tx, &c, err))
		return -1;
	return reply_flavor(r, out, c.row.flavorid);
}

static int update_tx(void *p, struct nl_error *err)
{
	struct flavor_ctx *c = p;
	if (flavor_must_exist(c->id, err) < 0)
		return -1;
	return db_flavor_update_description(c->id, c->value, err);
}

int flavor_update(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct flavor_in *in = r->input;
	struct flavor_ctx c = { .id = req_param(r, 0), .value = in->description.null ? NULL : in->description.v };
	if (db_tx_run(update_tx, &c, err))
		return -1;
	return reply_flavor(r, out, c.id);
}

static int delete_tx(void *p, struct nl_error *err)
{
	struct flavor_ctx *c = p;
	if (flavor_must_exist(c->id, err) < 0)
		return -1;
	return db_flavor_delete(c->id, err);
}

int flavor_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct flavor_ctx c = { .id = req_param(r, 0) };
	if (db_tx_run(delete_tx, &c, err))
		return -1;
	out->status = 202;
	return 0;
}

/* ---- extra specs ---- */
int flavor_specs_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *f = get_visible(r, req_param(r, 0), err);
	if (!f)
		return -1;
	resp_json(out, 200, json_pack("{s:O}", "extra_specs", json_object_get(f, "extra_specs")));
	json_decref(f);
	return 0;
}

int flavor_spec_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *f = get_visible(r, req_param(r, 0), err), *v;
	if (!f)
		return -1;
	v = json_object_get(json_object_get(f, "extra_specs"), req_param(r, 1));
	if (!v) {
		nl_err_set(err, 404, "Flavor %s has no extra specs with key %s.", req_param(r, 0), req_param(r, 1));
		json_decref(f);
		return -1;
	}
	resp_json(out, 200, json_pack("{s:O}", req_param(r, 1), v));
	json_decref(f);
	return 0;
}

/* Values may arrive as numbers; Nova stores their string form. */
static json_t *specs_as_strings(json_t *specs)
{
	json_t *o = json_object(), *v;
	const char *k;
	json_object_foreach(specs, k, v) {
		if (json_is_string(v)) {
			json_object_set(o, k, v);
		} else {
			char buf[64];
			if (json_is_integer(v))
				snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
			else
				snprintf(buf, sizeof(buf), "%g", json_real_value(v));
			json_object_set_new(o, k, json_string(buf));
		}
	}
	return o;
}

static int specs_tx(void *p, struct nl_error *err)
{
	struct flavor_ctx *c = p;
	json_t *v;
	const char *k;
	if (flavor_must_exist(c->id, err) < 0)
		return -1;
	json_object_foreach(c->specs, k, v)
		if (db_flavor_spec_set(c->id, k, json_string_value(v), err))
			return -1;
	return 0;
}

int flavor_specs_create(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct extra_specs_in *in = r->input;
	struct flavor_ctx c = { .id = req_param(r, 0), .specs = specs_as_strings(in->specs.v) };
	if (db_tx_run(specs_tx, &c, err)) {
		json_decref(c.specs);
		return -1;
	}
	resp_json(out, 200, json_pack("{s:o}", "extra_specs", c.specs));
	return 0;
}

int flavor_spec_update(struct req *r, struct resp *out, struct nl_error *err)
{
	static const struct field_spec one_key[] = {
		{ .name = "body", .type = SPEC_STRMAP, .flags = SPEC_INT_STRING, .charset = "a-zA-Z0-9-_:. ",
		  .offset = SPEC_NOSTORE },
		SPEC_END_ROW
	};
	json_t *wrap = json_pack("{s:O}", "body", r->json);
	int rc = json_spec_validate(one_key, 0, wrap, NULL, SPEC_STYLE_NOVA, err);
	json_decref(wrap);
	if (rc)
		return -1;
	if (json_object_size(r->json) != 1) {
		nl_err_set(err, 400, json_object_size(r->json) ? "Request body contains too many items" :
			   "Invalid input for field/attribute body. Value: {}. {} does not have enough properties");
		return -1;
	}
	if (!json_object_get(r->json, req_param(r, 1))) {
		nl_err_set(err, 400, "Request body and URI mismatch");
		return -1;
	}
	struct flavor_ctx c = { .id = req_param(r, 0), .specs = specs_as_strings(r->json) };
	if (db_tx_run(specs_tx, &c, err)) {
		json_decref(c.specs);
		return -1;
	}
	resp_json(out, 200, c.specs);
	return 0;
}

static int spec_delete_tx(void *p, struct nl_error *err)
{
	struct flavor_ctx *c = p;
	int rc;
	if (flavor_must_exist(c->id, err) < 0)
		return -1;
	rc = db_flavor_spec_delete(c->id, c->key, err);
	if (rc > 0) {
		nl_err_set(err, 404, "Flavor %s has no extra specs with key %s.", c->id, c->key);
		return -1;
	}
	return rc;
}

int flavor_spec_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct flavor_ctx c = { .id = req_param(r, 0), .key = req_param(r, 1) };
	if (db_tx_run(spec_delete_tx, &c, err))
		return -1;
	out->status = 200;
	return 0;
}

/* ---- access ---- */
static json_t *access_body(const char *id)
{
	return json_pack("{s:o}", "flavor_access", db_flavor_access(id));
}

int flavor_access_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *f = get_visible(r, req_param(r, 0), err);
	if (!f)
		return -1;
	int pub = (int)json_integer_value(json_object_get(f, "is_public"));
	json_decref(f);
	if (pub) {
		nl_err_set(err, 404, "Access list not available for public flavors.");
		return -1;
	}
	resp_json(out, 200, access_body(req_param(r, 0)));
	return 0;
}

struct access_ctx { const char *id, *tenant; bool add; };

static int access_tx(void *p, struct nl_error *err)
{
	struct access_ctx *c = p;
	/* nova/api/openstack/identity.py verify_project_id: the project must exist
	 * (removing access of a vanished project is still allowed). */
	json_t *proj = db_project_get(c->tenant);
	json_decref(proj);
	if (!proj && c->add) {
		nl_err_set(err, 400, "Project ID %s is not a valid project.", c->tenant);
		return -1;
	}
	int pub = flavor_must_exist(c->id, err);
	if (pub < 0)
		return -1;
	if (c->add) {
		if (pub) {
			nl_err_set(err, 409, "Can not add access to a public flavor.");
			return -1;
		}
		return db_flavor_access_add(c->id, c->tenant, err);
	}
	int rc = db_flavor_access_remove(c->id, c->tenant, err);
	if (rc > 0) {
		nl_err_set(err, 404, "Flavor access not found for %s / %s combination.", c->id, c->tenant);
		return -1;
	}
	return rc;
}

int flavor_action(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct flavor_action_in *in = r->input;
	struct access_ctx c = { .id = req_param(r, 0) };

	/* An action body names exactly one action (nova wsgi.py). */
	if (json_object_size(r->json) != 1) {
		nl_err_set(err, 400, "Malformed request body");
		return -1;
	}
	if (in->add.set) {
		c.add = true;
		c.tenant = in->add_tenant.v;
	} else if (in->remove.set) {
		c.tenant = in->remove_tenant.v;
	} else {
		nl_err_set(err, 400, "There is no such action: %s", json_object_iter_key(json_object_iter(r->json)));
		return -1;
	}
	if (policy_require(r, POL_ADMIN, c.add ? "os_compute_api:os-flavor-access:add_tenant_access" :
			   "os_compute_api:os-flavor-access:remove_tenant_access", err))
		return -1;
	if (db_tx_run(access_tx, &c, err))
		return -1;
	resp_json(out, 200, access_body(c.id));
	return 0;
}
