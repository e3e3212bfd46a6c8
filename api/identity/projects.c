/* /v3/projects and /v3/domains. */
#include <string.h>

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

static json_t *list_view(json_t *rows, json_t *(*view)(json_t *))
{
	json_t *list = json_array(), *row;
	size_t i;
	json_array_foreach(rows, i, row)
		json_array_append_new(list, view(json_incref(row)));
	json_decref(rows);
	return list;
}

/* ---- projects ---- */
int project_list(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	json_t *rows = db_project_list(req_query(r, "domain_id"), req_query(r, "name"),
				       identity_query_bool(r, "enabled"), req_query(r, "parent_id"));
	resp_json(out, 200, json_pack("{s:o, s:o}", "projects", list_view(rows, project_view),
				      "links", identity_collection_links(r)));
	return 0;
}

int project_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *id = req_param(r, 0);
	json_t *p;
	/* identity:get_project: admin, or a member of that project. */
	if (!(r->auth.roles & ROLE_ADMIN) && strcmp(id, r->auth.project_id))
	{
		nl_err_set(err, 403, "You are not authorized to perform the requested action: identity:get_project.");
		return -1;
	}
	if (!(p = db_project_get(id)))
		return identity_not_found(err, "project", id);
	resp_json(out, 200, json_pack("{s:o}", "project", project_view(p)));
	return 0;
}

struct project_ctx { const struct project_in *in; const char *id; const char *domain_id; };

static int project_create_tx(void *p, struct nl_error *err)
{
	struct project_ctx *c = p;
	const struct project_in *in = c->in;
	json_t *d = db_domain_get(c->domain_id);
	if (!d)
		return identity_not_found(err, "domain", c->domain_id);
	json_decref(d);
	if (str(&in->parent_id)) {
		json_t *parent = db_project_get(in->parent_id.v);
		if (!parent)
			return identity_not_found(err, "project", in->parent_id.v);
		json_decref(parent);
	}
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
	resp_json(out, 201, json_pack("{s:o}", "project", project_view(db_project_get(id))));
	return 0;
}

static int project_update_tx(void *p, struct nl_error *err)
{
	struct project_ctx *c = p;
	json_t *row = db_project_get(c->id);
	if (!row)
		return identity_not_found(err, "project", c->id);
	json_decref(row);
	if (db_project_update(c->id, str(&c->in->name), str(&c->in->description), tri(&c->in->enabled), err))
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
	resp_json(out, 200, json_pack("{s:o}", "project", project_view(db_project_get(c.id))));
	return 0;
}

static int project_delete_tx(void *p, struct nl_error *err)
{
	const char *id = p;
	json_t *row = db_project_get(id);
	if (!row)
		return identity_not_found(err, "project", id);
	json_decref(row);
	return db_project_delete(id, err);
}

int project_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	if (db_tx_run(project_delete_tx, (void *)req_param(r, 0), err))
		return -1;
	out->status = 204;
	return 0;
}

/* ---- domains ---- */
int domain_list(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	json_t *rows = db_domain_list(req_query(r, "name"), identity_query_bool(r, "enabled"));
	resp_json(out, 200, json_pack("{s:o, s:o}", "domains", list_view(rows, domain_view),
				      "links", identity_collection_links(r)));
	return 0;
}

int domain_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *id = req_param(r, 0);
	json_t *d;
	if (!(r->auth.roles & ROLE_ADMIN) && strcmp(id, r->auth.user_domain_id) && strcmp(id, r->auth.project_domain_id)) {
		nl_err_set(err, 403, "You are not authorized to perform the requested action: identity:get_domain.");
		return -1;
	}
	if (!(d = db_domain_get(id)))
		return identity_not_found(err, "domain", id);
	resp_json(out, 200, json_pack("{s:o}", "domain", domain_view(d)));
	return 0;
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
	resp_json(out, 201, json_pack("{s:o}", "domain", domain_view(db_domain_get(id))));
	return 0;
}

static int domain_update_tx(void *p, struct nl_error *err)
{
	struct domain_ctx *c = p;
	json_t *row = db_domain_get(c->id);
	if (!row)
		return identity_not_found(err, "domain", c->id);
	json_decref(row);
	if (!strcmp(c->id, "default") && c->in->enabled.set && !c->in->enabled.v) {
		nl_err_set(err, 403, "The default domain cannot be disabled.");
		return -1;
	}
	return db_domain_update(c->id, str(&c->in->name), str(&c->in->description), tri(&c->in->enabled), err);
}

int domain_update(struct req *r, struct resp *out, struct nl_error *err)
{
	struct domain_ctx c = { r->input, req_param(r, 0) };
	if (db_tx_run(domain_update_tx, &c, err))
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "domain", domain_view(db_domain_get(c.id))));
	return 0;
}

static int domain_delete_tx(void *p, struct nl_error *err)
{
	const char *id = p;
	json_t *row = db_domain_get(id);
	if (!row)
		return identity_not_found(err, "domain", id);
	int enabled = (int)json_integer_value(json_object_get(row, "enabled"));
	json_decref(row);
	if (enabled) {
		nl_err_set(err, 403, "Cannot delete a domain that is enabled, please disable it first.");
		return -1;
	}
	return db_domain_delete(id, err);
}

int domain_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	if (db_tx_run(domain_delete_tx, (void *)req_param(r, 0), err))
		return -1;
	out->status = 204;
	return 0;
}
