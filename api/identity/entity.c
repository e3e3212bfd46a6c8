/* The shared shape of Keystone's CRUD resources (projects, domains, users, roles):
 * one descriptor per resource, one implementation of show / list reply / delete /
 * "must exist", so the resource files hold only what differs. */
#include "api/identity/identity.h"

#include "db/db.h"
#include "db/identity.h"

static json_t *get_project(const char *id) { return db_project_get(id); }
static json_t *get_domain(const char *id) { return db_domain_get(id); }
static json_t *get_user(const char *id) { return db_user_get(id); }
static json_t *get_role(const char *id) { return db_role_get(id); }

/* Keystone refuses to delete an enabled domain. */
static int domain_may_delete(json_t *row, struct nl_error *err)
{
	if (json_integer_value(json_object_get(row, "enabled"))) {
		nl_err_set(err, 403, "Cannot delete a domain that is enabled, please disable it first.");
		return -1;
	}
	return 0;
}

const struct ident_entity ENT_PROJECT = { "project", "projects", get_project, project_view, db_project_delete, NULL };
const struct ident_entity ENT_DOMAIN = { "domain", "domains", get_domain, domain_view, db_domain_delete, domain_may_delete };
const struct ident_entity ENT_USER = { "user", "users", get_user, user_view, db_user_delete, NULL };
const struct ident_entity ENT_ROLE = { "role", "roles", get_role, role_view, db_role_delete, NULL };

int entity_must_exist(const struct ident_entity *e, const char *id, struct nl_error *err)
{
	json_t *row = e->get(id);
	if (!row)
		return identity_not_found(err, e->member, id);
	json_decref(row);
	return 0;
}

int entity_reply(struct resp *out, int status, const struct ident_entity *e, const char *id)
{
	resp_json(out, status, json_pack("{s:o}", e->member, e->view(e->get(id))));
	return 0;
}

int entity_reply_list(const struct req *r, struct resp *out, const struct ident_entity *e, json_t *rows)
{
	json_t *list = json_array(), *row;
	size_t i;
	json_array_foreach(rows, i, row)
		json_array_append_new(list, e->view(json_incref(row)));
	json_decref(rows);
	resp_json(out, 200, json_pack("{s:o, s:o}", e->collection, list, "links", identity_collection_links(r)));
	return 0;
}

int entity_show(struct resp *out, const struct ident_entity *e, const char *id, struct nl_error *err)
{
	json_t *row = e->get(id);
	if (!row)
		return identity_not_found(err, e->member, id);
	resp_json(out, 200, json_pack("{s:o}", e->member, e->view(row)));
	return 0;
}

struct del_ctx { const struct ident_entity *e; const char *id; };

static int delete_tx(void *p, struct nl_error *err)
{
	struct del_ctx *c = p;
	json_t *row = c->e->get(c->id);
	int rc;
	if (!row)
		return identity_not_found(err, c->e->member, c->id);
	rc = c->e->may_delete ? c->e->may_delete(row, err) : 0;
	json_decref(row);
	return rc ? -1 : c->e->del(c->id, err);
}

int entity_delete(struct resp *out, const struct ident_entity *e, const char *id, struct nl_error *err)
{
	struct del_ctx c = { e, id };
	if (db_tx_run(delete_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}
