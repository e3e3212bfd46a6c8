/* Keystone v3 subset: request specs, input structs, shared helpers. */
#ifndef NL_IDENTITY_H
#define NL_IDENTITY_H

#include "api/http.h"

struct auth_in {
	spec_json_t identity, methods, password_obj, token_obj, scope, scope_system;
	spec_json_t scope_project, scope_domain, user, user_domain, project_domain;
	spec_str_t user_id, user_name, user_domain_id, user_domain_name, password;
	spec_str_t token_id;
	spec_str_t project_id, project_name, project_domain_id, project_domain_name;
	spec_str_t domain_id, domain_name;
};
struct domain_in { spec_str_t name, description; spec_bool_t enabled; spec_json_t tags, options; };
struct project_in {
	spec_str_t name, domain_id, description, parent_id;
	spec_bool_t enabled, is_domain;
	spec_json_t tags, options;
};
struct user_in {
	spec_str_t name, domain_id, password, default_project_id, description, email;
	spec_bool_t enabled;
	spec_json_t options;
};
struct password_in { spec_json_t user; spec_str_t password, original_password; };
struct role_in { spec_str_t name, description, domain_id; spec_json_t options; };

extern const struct field_spec auth_spec[];
extern const struct field_spec domain_create_spec[], domain_update_spec[];
extern const struct field_spec project_create_spec[], project_update_spec[];
extern const struct field_spec user_create_spec[], user_update_spec[], user_password_spec[];
extern const struct field_spec role_create_spec[], role_update_spec[];

/* The service catalog, built once at start; borrowed, never modified. */
json_t *catalog_get(void);
void catalog_init(void);

/* {"self": "<identity base>/v3/<collection>/<id>"} */
json_t *identity_link(const char *collection, const char *id);
/* {"self": url-of-request, "previous": null, "next": null} */
json_t *identity_collection_links(const struct req *r);
/* Query-string boolean as Keystone reads it: "true"/"True"/"1" etc. -1 when absent. */
int identity_query_bool(const struct req *r, const char *name);

/* Views: turn db rows into Keystone entities (consume the row). */
json_t *project_view(json_t *row);
json_t *user_view(json_t *row);
json_t *role_view(json_t *row);
json_t *domain_view(json_t *row);

/* A Keystone CRUD resource (api/identity/entity.c). */
struct ident_entity {
	const char *member;        /* "project": JSON key and "Could not find project: X." */
	const char *collection;    /* "projects" */
	json_t *(*get)(const char *id);                       /* owned row or NULL */
	json_t *(*view)(json_t *row);                         /* consumes row */
	int (*del)(const char *id, struct nl_error *err);     /* inside a transaction */
	int (*may_delete)(json_t *row, struct nl_error *err); /* optional veto */
};
extern const struct ident_entity ENT_PROJECT, ENT_DOMAIN, ENT_USER, ENT_ROLE;

/* Inside a transaction: 0, or 404 "Could not find <member>: <id>." */
int entity_must_exist(const struct ident_entity *e, const char *id, struct nl_error *err);
/* {member: view(row of id)} with status. */
int entity_reply(struct resp *out, int status, const struct ident_entity *e, const char *id);
/* {collection: [views], links} from rows (consumed). */
int entity_reply_list(const struct req *r, struct resp *out, const struct ident_entity *e, json_t *rows);
int entity_show(struct resp *out, const struct ident_entity *e, const char *id, struct nl_error *err);
/* One transaction: exists → veto → delete; 204. */
int entity_delete(struct resp *out, const struct ident_entity *e, const char *id, struct nl_error *err);

/* Error helpers with Keystone's wording. */
int identity_not_found(struct nl_error *err, const char *what, const char *id);
/* 403 "You are not authorized to perform the requested action: <route rule>." */
int identity_forbidden(const struct req *r, struct nl_error *err);

/* Domain admins (admin role on a domain-scoped token, routes with POL_DOMAIN_ADMIN):
 * 0 for the cloud admin, or for a domain admin when domain_id (the object's domain) is
 * the token's domain; otherwise 403. */
int identity_domain_admin_may(const struct req *r, const char *domain_id, struct nl_error *err);
/* The same for an existing user, who must also not be privileged (hold admin or service
 * on any target): a domain admin cannot take over the cloud admin's or an agent's account
 * that lives in its domain. 404 when the user does not exist. */
int identity_domain_admin_may_user(const struct req *r, const char *user_id, struct nl_error *err);
/* The roles a domain admin may grant and revoke (Keystone's domain_managed_target_role). */
bool identity_domain_grantable_role(const char *role_id);

#endif
