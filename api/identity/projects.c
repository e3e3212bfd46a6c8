/* /v3/projects and /v3/domains. */
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/identity/identity.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"

#define P struct project_in
static const struct field_spec project_fields_create[] = {
	FIELD(P, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 64)),
	FIELD(P, domain_id, "domain_id", SPEC_STRING, SPEC_NULLABLE | BOUNDED, LEN(1, 64)),
	FIELD(P, description, "description", SPEC_STRING, SPEC_NULLABLE),
	FIELD(P, parent_id, "parent_id", SPEC_STRING, SPEC_NULLABLE | BOUNDED, LEN(1, 64)),
	FIELD(P, enabled, "enabled", SPEC_BOOL, 0),
	FIELD(P, is_domain, "is_domain", SPEC_BOOL, 0),
	FIELD(P, tags, "tags", SPEC_ARRAY, 0),
	FIELD(P, options, "options", SPEC_OBJECT, 0),
	SPEC_END_ROW
};
static const struct field_spec project_fields_update[] = {
	FIELD(P, name, "name", SPEC_STRING, BOUNDED, LEN(1, 64)),
	FIELD(P, description, "description", SPEC_STRING, SPEC_NULLABLE),
	FIELD(P, enabled, "enabled", SPEC_BOOL, 0),
	FIELD(P, tags, "tags", SPEC_ARRAY, 0),
	FIELD(P, options, "options", SPEC_OBJECT, 0),
	SPEC_END_ROW
};
const struct field_spec project_create_spec[] = {
	{ .name = "project", .type = SPEC_OBJECT, .flags = SPEC_REQUIRED, .offset = SPEC_NOSTORE, .sub = project_fields_create },
	SPEC_END_ROW
};
const struct field_spec project_update_spec[] = {
	{ .name = "project", .type = SPEC_OBJECT, .flags = SPEC_REQUIRED, .offset = SPEC_NOSTORE, .sub = project_fields_update },
	SPEC_END_ROW
};
#undef P

#define D struct domain_in
static const struct field_spec domain_fields_create[] = {
	FIELD(D, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 64)),
	FIELD(D, description, "description", SPEC_STRING, SPEC_NULLABLE),
	FIELD(D, enabled, "enabled", SPEC_BOOL, 0),
	FIELD(D, tags, "tags", SPEC_ARRAY, 0),
	FIELD(D, options, "options", SPEC_OBJECT, 0),
	SPEC_END_ROW
};
static const struct field_spec domain_fields_update[] = {
	FIELD(D, name, "name", SPEC_STRING, BOUNDED, LEN(1, 64)),
	FIELD(D, description, "description", SPEC_STRING, SPEC_NULLABLE),
	FIELD(D, enabled, "enabled", SPEC_BOOL, 0),
	FIELD(D, tags, "tags", SPEC_ARRAY, 0),
	FIELD(D, options, "options", SPEC_OBJECT, 0),
	SPEC_END_ROW
};
const struct field_spec domain_create_spec[] = {
	{ .name = "domain", .type = SPEC_OBJECT, .flags = SPEC_REQUIRED, .offset = SPEC_NOSTORE, .sub = domain_fields_create },
	SPEC_END_ROW
};
const struct field_spec domain_update_spec[] = {
	{ .name = "domain", .type = SPEC_OBJECT, .flags = SPEC_REQUIRED, .offset = SPEC_NOSTORE, .sub = domain_fields_update },
	SPEC_END_ROW
};
#undef D

static tri_t tri(const spec_bool_t *b) { return b->set ? (b->v ? 1 : 0) : -1; }
static const char *str(const spec_str_t *s) { return s->set && !s->null ? s->v : NULL; }

/* ---- projects ---- */
int project_list(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *domain = req_query(r, "domain_id");
	if (!(r->auth.roles & ROLE_ADMIN)) {   /* a domain admin: its own domain's projects */
		if (domain && identity_domain_admin_may(r, domain, err))
			return -1;
		domain = r->auth.domain_id;
	}
	return entity_reply_list(r, out, &ENT_PROJECT,
				 db_project_list(domain, req_query(r, "name"),
						 identity_query_bool(r, "enabled"), req_query(r, "parent_id")));
}

int project_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *id = req_param(r, 0);
	/* identity:get_project: admin, a token scoped to that project, or its domain's admin. */
	if (!(r->auth.roles & ROLE_ADMIN) && strcmp(id, r->auth.project_id)) {
		json_t *p = auth_is_domain_admin(&r->auth) ? db_project_get(id) : NULL;
		bool ok = p && !strcmp(json_string_value(json_object_get(p, "domain_id")), r->auth.domain_id);
		json_decref(p);
		if (!ok) {
			nl_err_set(err, 403, "You are not authorized to perform the requested action: "
				   "identity:get_project.");
			return -1;
		}
	}
	return entity_show(out, &ENT_PROJECT, id, err);
}

struct project_ctx { const struct project_in *in; const char *id; const char *domain_id; };

static int project_create_tx(void *p, struct nl_error *err)
{
	struct project_ctx *c = p;
	const struct project_in *in = c->in;
	if (entity_must_exist(&ENT_DOMAIN, c->domain_id, err) ||
	    (str(&in->parent_id) && entity_must_exist(&ENT_PROJECT, in->parent_id.v, err)))
		return -1;
	return db_project_insert(c->id, in->name.v, c->domain_id, str(&in->description),
				 in->enabled.set ? in->enabled.v : true, str(&in->parent_id), err);
}

int project_create(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct project_in *in = r->input;
	char id[33];
	struct project_ctx c = { in, id, NULL };

	if (in->is_domain.set && in->is_domain.v) {
		nl_err_set(err, 400, "Projects acting as domains are not supported by novalite.");
		return -1;
	}
	nl_uuid_hex_new(id);
	c.domain_id = str(&in->domain_id) ? in->domain_id.v :
		      (r->auth.project_domain_id[0] ? r->auth.project_domain_id : "default");
	if (db_tx_run(project_create_tx, &c, err))
		return -1;
	return entity_reply(out, 201, &ENT_PROJECT, id);
}

static int project_update_tx(void *p, struct nl_error *err)
{
	struct project_ctx *c = p;
	if (entity_must_exist(&ENT_PROJECT, c->id, err) ||
	    db_project_update(c->id, str(&c->in->name), str(&c->in->description), tri(&c->in->enabled), err))
		return -1;
	/* Disabling a project invalidates its tokens at once (checked on every request too). */
	if (c->in->enabled.set && !c->in->enabled.v)
		return db_token_revoke_project(c->id, err);
	return 0;
}

int project_update(struct req *r, struct resp *out, struct nl_error *err)
{
	struct project_ctx c = { r->input, req_param(r, 0), NULL };
	if (db_tx_run(project_update_tx, &c, err))
		return -1;
	return entity_reply(out, 200, &ENT_PROJECT, c.id);
}

int project_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	return entity_delete(out, &ENT_PROJECT, req_param(r, 0), err);
}

/* ---- domains ---- */
int domain_list(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	return entity_reply_list(r, out, &ENT_DOMAIN,
				 db_domain_list(req_query(r, "name"), identity_query_bool(r, "enabled")));
}

int domain_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *id = req_param(r, 0);
	if (!(r->auth.roles & ROLE_ADMIN) && strcmp(id, r->auth.user_domain_id) && strcmp(id, r->auth.project_domain_id)) {
		nl_err_set(err, 403, "You are not authorized to perform the requested action: identity:get_domain.");
		return -1;
	}
	return entity_show(out, &ENT_DOMAIN, id, err);
}

struct domain_ctx { const struct domain_in *in; const char *id; };

static int domain_create_tx(void *p, struct nl_error *err)
{
	struct domain_ctx *c = p;
	return db_domain_insert(c->id, c->in->name.v, str(&c->in->description),
				c->in->enabled.set ? c->in->enabled.v : true, err);
}

int domain_create(struct req *r, struct resp *out, struct nl_error *err)
{
	char id[33];
	struct domain_ctx c = { r->input, id };
	nl_uuid_hex_new(id);
	if (db_tx_run(domain_create_tx, &c, err))
		return -1;
	return entity_reply(out, 201, &ENT_DOMAIN, id);
}

static int domain_update_tx(void *p, struct nl_error *err)
{
	struct domain_ctx *c = p;
	if (entity_must_exist(&ENT_DOMAIN, c->id, err))
		return -1;
	if (!strcmp(c->id, "default") && c->in->enabled.set && !c->in->enabled.v) {
		nl_err_set(err, 403, "The default domain cannot be disabled.");
		return -1;
	}
	if (db_domain_update(c->id, str(&c->in->name), str(&c->in->description), tri(&c->in->enabled), err))
		return -1;
	/* Disabling a domain revokes the tokens of its users and of its projects, and
	 * domain-scoped ones (checked on every request too), as a disabled project's. */
	if (c->in->enabled.set && !c->in->enabled.v)
		return db_token_revoke_domain(c->id, err);
	return 0;
}

int domain_update(struct req *r, struct resp *out, struct nl_error *err)
{
	struct domain_ctx c = { r->input, req_param(r, 0) };
	if (db_tx_run(domain_update_tx, &c, err))
		return -1;
	return entity_reply(out, 200, &ENT_DOMAIN, c.id);
}

int domain_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	return entity_delete(out, &ENT_DOMAIN, req_param(r, 0), err);
}
