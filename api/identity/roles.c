/* /v3/roles, grants on projects and domains, and /v3/role_assignments. */
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/identity/identity.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"

#define R struct role_in
static const struct field_spec role_fields_create[] = {
	FIELD(R, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255)),
	FIELD(R, description, "description", SPEC_STRING, SPEC_NULLABLE | SPEC_HAS_MAX, .max = 255),
	FIELD(R, domain_id, "domain_id", SPEC_STRING, SPEC_NULLABLE),
	FIELD(R, options, "options", SPEC_OBJECT, 0),
	SPEC_END_ROW
};
static const struct field_spec role_fields_update[] = {
	FIELD(R, name, "name", SPEC_STRING, BOUNDED, LEN(1, 255)),
	FIELD(R, description, "description", SPEC_STRING, SPEC_NULLABLE | SPEC_HAS_MAX, .max = 255),
	FIELD(R, options, "options", SPEC_OBJECT, 0),
	SPEC_END_ROW
};
const struct field_spec role_create_spec[] = {
	{ .name = "role", .type = SPEC_OBJECT, .flags = SPEC_REQUIRED, .offset = SPEC_NOSTORE, .sub = role_fields_create },
	SPEC_END_ROW
};
const struct field_spec role_update_spec[] = {
	{ .name = "role", .type = SPEC_OBJECT, .flags = SPEC_REQUIRED, .offset = SPEC_NOSTORE, .sub = role_fields_update },
	SPEC_END_ROW
};
#undef R

static const char *str(const spec_str_t *s) { return s->set && !s->null ? s->v : NULL; }

int role_list(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	return entity_reply_list(r, out, &ENT_ROLE, db_role_list(req_query(r, "name")));
}

int role_show(struct req *r, struct resp *out, struct nl_error *err)
{
	return entity_show(out, &ENT_ROLE, req_param(r, 0), err);
}

struct role_ctx { const struct role_in *in; const char *id; };

static int role_create_tx(void *p, struct nl_error *err)
{
	struct role_ctx *c = p;
	return db_role_insert(c->id, c->in->name.v, str(&c->in->description), err);
}

int role_create(struct req *r, struct resp *out, struct nl_error *err)
{
	char id[33];
	struct role_ctx c = { r->input, id };
	nl_uuid_hex_new(id);
	if (db_tx_run(role_create_tx, &c, err))
		return -1;
	return entity_reply(out, 201, &ENT_ROLE, id);
}

static int role_update_tx(void *p, struct nl_error *err)
{
	struct role_ctx *c = p;
	if (entity_must_exist(&ENT_ROLE, c->id, err))
		return -1;
	return db_role_update(c->id, str(&c->in->name), str(&c->in->description), err);
}

int role_update(struct req *r, struct resp *out, struct nl_error *err)
{
	struct role_ctx c = { r->input, req_param(r, 0) };
	if (db_tx_run(role_update_tx, &c, err))
		return -1;
	return entity_reply(out, 200, &ENT_ROLE, c.id);
}

int role_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	return entity_delete(out, &ENT_ROLE, req_param(r, 0), err);
}

/* ---- grants: /v3/{projects|domains}/{target}/users/{user}/roles[/{role}] ---- */
struct grant_ctx { const char *tt, *target, *user, *role; bool del; };

static void grant_from(struct req *r, struct grant_ctx *c)
{
	if (strncmp(r->url, "/v3/system/", 11) == 0) {   /* /v3/system/users/{u}/roles[/{r}] */
		c->tt = "system";
		c->target = "all";
		c->user = req_param(r, 0);
		c->role = req_param(r, 1);
		return;
	}
	c->tt = strncmp(r->url, "/v3/projects/", 13) == 0 ? "project" : "domain";
	c->target = req_param(r, 0);
	c->user = req_param(r, 1);
	c->role = req_param(r, 2);
}

/* Checks that each named entity exists; 404 names the first missing one. */
static int grant_check_refs(const struct grant_ctx *c, struct nl_error *err)
{
	return entity_must_exist(&ENT_USER, c->user, err) ||
	       (strcmp(c->tt, "system") &&
		entity_must_exist(!strcmp(c->tt, "project") ? &ENT_PROJECT : &ENT_DOMAIN, c->target, err)) ||
	       (c->role && entity_must_exist(&ENT_ROLE, c->role, err)) ? -1 : 0;
}

/* A domain admin (POL_DOMAIN_ADMIN routes) acts only on its own domain or a project of
 * it, for a user of its domain, and grants or revokes only member and reader: it cannot
 * hand out admin or service (no way up to the cloud admin). 404s come first, as for the
 * cloud admin. */
static int grant_domain_admin_may(const struct req *r, const struct grant_ctx *c, struct nl_error *err)
{
	if (r->auth.roles & ROLE_ADMIN)
		return 0;
	if (grant_check_refs(c, err))
		return -1;
	json_t *u = db_user_get(c->user);
	json_t *t = !strcmp(c->tt, "project") ? db_project_get(c->target) : NULL;
	const char *tdom = t ? json_string_value(json_object_get(t, "domain_id")) : c->target;
	int rc = identity_domain_admin_may(r, json_string_value(json_object_get(u, "domain_id")), err) ||
		 identity_domain_admin_may(r, tdom, err) ? -1 : 0;
	json_decref(u);
	json_decref(t);
	if (rc == 0 && r->method != M_GET && r->method != M_HEAD && !identity_domain_grantable_role(c->role))
		rc = identity_forbidden(r, err);
	return rc;
}

static int grant_tx(void *p, struct nl_error *err)
{
	struct grant_ctx *c = p;
	if (grant_check_refs(c, err))
		return -1;
	if (c->del) {
		if (!db_grant_exists(c->user, c->tt, c->target, c->role)) {
			nl_err_set(err, 404, "Could not find role assignment with role: %s, user or group: %s, "
				   "project, domain, or system: %s.", c->role, c->user, c->target);
			return -1;
		}
		return db_revoke_grant(c->user, c->tt, c->target, c->role, err);
	}
	return db_grant(c->user, c->tt, c->target, c->role, err);
}

int grant_put(struct req *r, struct resp *out, struct nl_error *err)
{
	struct grant_ctx c = { 0 };
	grant_from(r, &c);
	if (grant_domain_admin_may(r, &c, err))
		return -1;
	if (db_tx_run(grant_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}

int grant_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct grant_ctx c = { .del = true };
	grant_from(r, &c);
	if (grant_domain_admin_may(r, &c, err))
		return -1;
	if (db_tx_run(grant_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}

int grant_check(struct req *r, struct resp *out, struct nl_error *err)
{
	struct grant_ctx c = { 0 };
	grant_from(r, &c);
	if (grant_domain_admin_may(r, &c, err))
		return -1;
	if (grant_check_refs(&c, err))
		return -1;
	if (!db_grant_exists(c.user, c.tt, c.target, c.role)) {
		nl_err_set(err, 404, "Could not find role assignment with role: %s, user or group: %s, "
			   "project, domain, or system: %s.", c.role, c.user, c.target);
		return -1;
	}
	out->status = 204;
	return 0;
}

int grant_list(struct req *r, struct resp *out, struct nl_error *err)
{
	struct grant_ctx c = { 0 };
	grant_from(r, &c);
	if (grant_domain_admin_may(r, &c, err))
		return -1;
	if (grant_check_refs(&c, err))
		return -1;
	return entity_reply_list(r, out, &ENT_ROLE, db_grants_on(c.user, c.tt, c.target));
}

/* ---- /v3/role_assignments ---- */
static const char *s(json_t *o, const char *k) { const char *v = json_string_value(json_object_get(o, k)); return v ? v : ""; }

static json_t *assignment_view(json_t *row, const char *role_id, const char *role_name, bool names)
{
	const char *tt = s(row, "target_type");
	char url[700];
	json_t *user = json_pack("{s:s}", "id", s(row, "user_id"));
	json_t *role = json_pack("{s:s}", "id", role_id);
	json_t *target = json_pack("{s:s}", "id", s(row, "target_id"));
	if (names) {
		json_object_set_new(user, "name", json_string(s(row, "user_name")));
		json_object_set_new(user, "domain", json_pack("{s:s, s:s}", "id", s(row, "user_domain_id"),
							      "name", s(row, "user_domain_name")));
		json_object_set_new(role, "name", json_string(role_name));
		json_object_set_new(target, "name", json_string(s(row, "target_name")));
		if (!strcmp(tt, "project"))
			json_object_set_new(target, "domain", json_pack("{s:s, s:s}", "id", s(row, "target_domain_id"),
									"name", s(row, "target_domain_name")));
	}
	if (!strcmp(tt, "system")) {
		json_decref(target);
		snprintf(url, sizeof(url), "%s/v3/system/users/%s/roles/%s", service_base_url(SVC_IDENTITY),
			 s(row, "user_id"), role_id);
		return json_pack("{s:o, s:o, s:{s:{s:b}}, s:{s:s}}", "role", role, "user", user, "scope", "system",
				 "all", 1, "links", "assignment", url);
	}
	snprintf(url, sizeof(url), "%s/v3/%ss/%s/users/%s/roles/%s", service_base_url(SVC_IDENTITY), tt,
		 s(row, "target_id"), s(row, "user_id"), role_id);
	return json_pack("{s:o, s:o, s:{s:o}, s:{s:s}}", "role", role, "user", user, "scope", tt, target,
			 "links", "assignment", url);
}

int role_assignment_list(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *project = req_query(r, "scope.project.id"), *domain = req_query(r, "scope.domain.id");
	const char *system = req_query(r, "scope.system");
	const char *tt = project ? "project" : domain ? "domain" : system ? "system" : NULL;
	const char *role_filter = req_query(r, "role.id");
	bool names = identity_query_bool(r, "include_names") > 0;
	bool effective = identity_query_bool(r, "effective") > 0;
	json_t *rows, *list = json_array(), *row;
	size_t i;
	(void)err;

	if (req_query(r, "group.id") || (system && strcmp(system, "all"))) {
		/* No groups here, and the only system is "all": nothing can match. */
		resp_json(out, 200, json_pack("{s:o, s:o}", "role_assignments", list, "links", identity_collection_links(r)));
		return 0;
	}
	/* With effective=true a role filter applies to implied roles too, so filter after expanding. */
	rows = db_assignments(req_query(r, "user.id"), tt, project ? project : domain ? domain : system,
			      effective ? NULL : role_filter);
	json_array_foreach(rows, i, row) {
		if (!effective) {
			json_array_append_new(list, assignment_view(row, s(row, "role_id"), s(row, "role_name"), names));
			continue;
		}
		/* Expand implications of this one grant (admin → member → reader). */
		json_t *eff = db_effective_roles(s(row, "user_id"), s(row, "target_type"), s(row, "target_id"));
		json_t *e;
		size_t k;
		json_array_foreach(eff, k, e) {
			bool dup = false;
			json_t *seen;
			size_t j;
			if (role_filter && strcmp(role_filter, s(e, "id")))
				continue;
			json_array_foreach(list, j, seen) {
				json_t *sc = json_object_get(json_object_get(seen, "scope"), s(row, "target_type"));
				dup |= !strcmp(s(json_object_get(seen, "role"), "id"), s(e, "id")) &&
				       !strcmp(s(json_object_get(seen, "user"), "id"), s(row, "user_id")) &&
				       sc && !strcmp(s(sc, "id"), s(row, "target_id"));
			}
			if (!dup)
				json_array_append_new(list, assignment_view(row, s(e, "id"), s(e, "name"), names));
		}
		json_decref(eff);
	}
	json_decref(rows);
	resp_json(out, 200, json_pack("{s:o, s:o}", "role_assignments", list, "links", identity_collection_links(r)));
	return 0;
}
