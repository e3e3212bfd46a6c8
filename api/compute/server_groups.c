/* /v2.1/os-server-groups: list, create, show, delete. A group belongs to a project:
 * other projects' groups are not found (admins see all). Until 2.64 the policy is a
 * one-item "policies" list (soft-* from 2.15) and an always-empty "metadata"; from
 * 2.64 it is "policy" plus "rules" (max_server_per_host, anti-affinity only). The
 * server_groups quota is checked and the row written in one transaction. Members are
 * added by server create (api/compute/servers.c), not here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/admin.h"
#include "api/compute/compute.h"
#include "api/handlers.h"
#include "common/config.h"
#include "common/util.h"
#include "db/admin.h"
#include "db/db.h"
#include "db/servers.h"

/* ---- specs (nova/api/openstack/compute/schemas/server_groups.py) ---- */
#define G struct server_group_in
static const char *const policies_v21[] = { "anti-affinity", "affinity", NULL };
static const char *const policies_v215[] = { "anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity", NULL };
#define SG_NAME FIELD(G, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_NAME)
/* "policies" is a one-item tuple array; its items, bounds and uniqueness are checked
 * by check_policies() (the spec has no array bounds), in jsonschema's order. */
static const struct field_spec sg_v21[] = {
	SG_NAME, FIELD(G, policies, "policies", SPEC_ARRAY, SPEC_REQUIRED), SPEC_END_ROW
};
static const struct field_spec rules_fields[] = {
	FIELD(G, max_per_host, "max_server_per_host", SPEC_INT, SPEC_INT_STRING | SPEC_HAS_MIN, .min = 1), SPEC_END_ROW
};
static const struct field_spec sg_v264[] = {
	SG_NAME, FIELD(G, policy, "policy", SPEC_STRING, SPEC_REQUIRED, .enumv = policies_v215),
	NESTED(G, rules, "rules", SPEC_NO_EXTRA, rules_fields), SPEC_END_ROW
};
const struct field_spec server_group_create_v21[] = {
	WRAPPER("server_group", SPEC_REQUIRED | SPEC_NO_EXTRA, sg_v21), SPEC_END_ROW
};
const struct field_spec server_group_create_v264[] = {
	WRAPPER("server_group", SPEC_REQUIRED | SPEC_NO_EXTRA, sg_v264), SPEC_END_ROW
};
#undef G
const struct field_spec server_group_index_query[] = {
	{ .name = "all_projects", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	{ .name = "limit", .type = SPEC_INT, .flags = SPEC_INT_STRING | SPEC_HAS_MIN, .min = 0, .offset = SPEC_NOSTORE },
	{ .name = "offset", .type = SPEC_INT, .flags = SPEC_INT_STRING | SPEC_HAS_MIN, .min = 0, .offset = SPEC_NOSTORE },
	SPEC_END_ROW
};

/* The 2.1-2.63 "policies" array: items[0] (type, enum), uniqueItems, minItems 1,
 * maxItems 1. Returns the policy, or NULL with err set. */
static const char *check_policies(json_t *list, int mv, struct nl_error *err)
{
	struct field_spec item[] = {
		{ .name = "0", .type = SPEC_STRING, .enumv = mv >= 15 ? policies_v215 : policies_v21,
		  .offset = SPEC_NOSTORE },
		SPEC_END_ROW
	};
	char shown[400];
	size_t n = json_array_size(list);
	const char *why = NULL;

	if (n) {
		json_t *wrap = json_pack("{s:O}", "0", json_array_get(list, 0));
		int rc = json_spec_validate(item, 0, wrap, NULL, SPEC_STYLE_NOVA, err);
		json_decref(wrap);
		if (rc)
			return NULL;
	}
	for (size_t i = 1; i < n && !why; i++)
		for (size_t j = 0; j < i && !why; j++)
			if (json_equal(json_array_get(list, i), json_array_get(list, j)))
				why = "has non-unique elements";
	if (!why && n != 1)
		why = n ? "is too long" : "is too short";
	if (why) {
		json_py_repr(list, shown, sizeof(shown));
		nl_err_set(err, 400, "Invalid input for field/attribute policies. Value: %s. %s %s", shown, shown, why);
		return NULL;
	}
	return json_string_value(json_array_get(list, 0));
}

/* ---- view (ServerGroupController._format_server_group) ---- */
static json_t *sg_view(json_t *row, int mv)
{
	json_t *g = json_pack("{s:O, s:O, s:O}", "id", json_object_get(row, "uuid"), "name", json_object_get(row, "name"),
			      "members", json_object_get(row, "members"));
	if (mv >= 64) {
		json_t *rules = json_loads(json_string_value(json_object_get(row, "rules")), 0, NULL);
		json_object_set(g, "policy", json_object_get(row, "policy"));
		json_object_set_new(g, "rules", json_is_object(rules) ? rules : json_object());
		if (!json_is_object(rules))
			json_decref(rules);
	} else {
		json_object_set_new(g, "policies", json_pack("[O]", json_object_get(row, "policy")));
		json_object_set_new(g, "metadata", json_object());
	}
	if (mv >= 13) {
		json_object_set(g, "project_id", json_object_get(row, "project_id"));
		json_object_set(g, "user_id", json_object_get(row, "user_id"));
	}
	return g;
}

static int reply_group(struct req *r, struct resp *out, json_t *row)
{
	resp_json(out, 200, json_pack("{s:o}", "server_group", sg_view(row, r->mv)));
	json_decref(row);
	return 0;
}

/* Nova (2.1-2.74 as later) takes all_projects by presence, from admins only; others
 * silently get their own groups. limit 0 or absent means 1000 (common.limited). */
int server_group_list(struct req *r, struct resp *out, struct nl_error *err)
{
	bool all = req_query(r, "all_projects") && auth_is_admin(&r->auth), have_limit, have_offset;
	long long limit = 0, offset = 0;
	json_t *rows, *items = json_array();

	if (compute_query_int(r, "limit", 0, &limit, &have_limit, err) ||
	    compute_query_int(r, "offset", 0, &offset, &have_offset, err)) {
		json_decref(items);
		return -1;
	}
	if (!limit || limit > 1000)
		limit = 1000;
	rows = db_sgroup_list(all ? NULL : r->auth.project_id);
	for (size_t i = (size_t)offset; i < json_array_size(rows) && (long long)(i - (size_t)offset) < limit; i++)
		json_array_append_new(items, sg_view(json_array_get(rows, i), r->mv));
	json_decref(rows);
	resp_json(out, 200, json_pack("{s:o}", "server_groups", items));
	return 0;
}

struct sg_ctx {
	const struct req *r;
	const char *id, *name, *policy;
	char *rules;               /* JSON text (owned) */
	bool has_rules;
	char uuid[NL_UUID_LEN + 1];
};

static int create_tx(void *p, struct nl_error *err)
{
	struct sg_ctx *c = p;
	const char *project = c->r->auth.project_id;
	long long limit = db_quota_limit(project, "server_groups", g_config.quota_server_groups);

	/* Counted and written in one IMMEDIATE transaction: concurrent creates cannot overshoot. */
	if (limit >= 0 && db_server_group_count(project) + 1 > limit) {
		nl_err_set(err, 403, "Quota exceeded, too many server groups.");
		return -1;
	}
	if (c->has_rules && strcmp(c->policy, "anti-affinity")) {
		nl_err_set(err, 400, "Only anti-affinity policy supports rules.");
		return -1;
	}
	return db_sgroup_insert(c->uuid, c->name, project, c->r->auth.user_id, c->policy, c->rules, nl_now_us(), err);
}

int server_group_create(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct server_group_in *in = r->input;
	struct sg_ctx c = { .r = r, .name = in->name.v };
	int rc;

	json_t *rules = json_object();

	if (r->mv >= 64) {
		c.policy = in->policy.v;
		/* Stored as an integer, however it was given (InstanceGroup.rules does int()). */
		if ((c.has_rules = in->max_per_host.set))
			json_object_set_new(rules, "max_server_per_host", json_integer(in->max_per_host.v));
	} else if (!(c.policy = check_policies(in->policies.v, r->mv, err))) {
		json_decref(rules);
		return -1;
	}
	c.rules = json_dumps(rules, JSON_COMPACT);
	json_decref(rules);
	nl_uuid_new(c.uuid);
	rc = db_tx_run(create_tx, &c, err);
	free(c.rules);
	if (rc)
		return -1;
	return reply_group(r, out, db_sgroup_get(c.uuid));
}

/* The group named in the path, if the caller may see it (its project, or admin). */
static json_t *visible(const struct req *r, const char *id, struct nl_error *err)
{
	json_t *row = db_sgroup_get(id);
	if (row && !auth_is_admin(&r->auth) &&
	    strcmp(json_string_value(json_object_get(row, "project_id")), r->auth.project_id)) {
		json_decref(row);
		row = NULL;
	}
	if (!row)
		nl_err_set(err, 404, "Instance group %s could not be found.", id);
	return row;
}

int server_group_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = visible(r, req_param(r, 0), err);
	return row ? reply_group(r, out, row) : -1;
}

static int delete_tx(void *p, struct nl_error *err)
{
	struct sg_ctx *c = p;
	json_t *row = visible(c->r, c->id, err);
	if (!row)
		return -1;
	json_decref(row);
	int rc = db_sgroup_delete(c->id, err);
	if (rc > 0)
		nl_err_set(err, 404, "Instance group %s could not be found.", c->id);
	return rc ? -1 : 0;
}

int server_group_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct sg_ctx c = { .r = r, .id = req_param(r, 0) };
	if (db_tx_run(delete_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}
