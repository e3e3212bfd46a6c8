/* /v3/users, password change, a user's projects. Password hashes never leave db rows
 * (user_view drops them) and never reach a log line. */
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/identity/identity.h"
#include "common/password.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"

#define U struct user_in
static const struct field_spec user_fields_create[] = {
	FIELD(U, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255)),
	FIELD(U, domain_id, "domain_id", SPEC_STRING, BOUNDED, LEN(1, 64)),
	FIELD(U, password, "password", SPEC_STRING, SPEC_NULLABLE | SPEC_HAS_MAX, .max = PASSWORD_MAX_BYTES),
	FIELD(U, default_project_id, "default_project_id", SPEC_STRING, SPEC_NULLABLE),
	FIELD(U, description, "description", SPEC_STRING, SPEC_NULLABLE),
	FIELD(U, email, "email", SPEC_STRING, SPEC_NULLABLE),
	FIELD(U, enabled, "enabled", SPEC_BOOL, 0),
	FIELD(U, options, "options", SPEC_OBJECT, 0),
	SPEC_END_ROW
};
static const struct field_spec user_fields_update[] = {
	FIELD(U, name, "name", SPEC_STRING, BOUNDED, LEN(1, 255)),
	FIELD(U, password, "password", SPEC_STRING, SPEC_NULLABLE | SPEC_HAS_MAX, .max = PASSWORD_MAX_BYTES),
	FIELD(U, default_project_id, "default_project_id", SPEC_STRING, SPEC_NULLABLE),
	FIELD(U, description, "description", SPEC_STRING, SPEC_NULLABLE),
	FIELD(U, email, "email", SPEC_STRING, SPEC_NULLABLE),
	FIELD(U, enabled, "enabled", SPEC_BOOL, 0),
	FIELD(U, options, "options", SPEC_OBJECT, 0),
	SPEC_END_ROW
};
const struct field_spec user_create_spec[] = {
	{ .name = "user", .type = SPEC_OBJECT, .flags = SPEC_REQUIRED, .offset = SPEC_NOSTORE, .sub = user_fields_create },
	SPEC_END_ROW
};
const struct field_spec user_update_spec[] = {
	{ .name = "user", .type = SPEC_OBJECT, .flags = SPEC_REQUIRED, .offset = SPEC_NOSTORE, .sub = user_fields_update },
	SPEC_END_ROW
};
#undef U
#define W struct password_in
static const struct field_spec password_fields[] = {
	FIELD(W, password, "password", SPEC_STRING, SPEC_REQUIRED | SPEC_HAS_MAX, .max = PASSWORD_MAX_BYTES),
	FIELD(W, original_password, "original_password", SPEC_STRING, SPEC_REQUIRED | SPEC_HAS_MAX, .max = PASSWORD_MAX_BYTES),
	SPEC_END_ROW
};
const struct field_spec user_password_spec[] = {
	NESTED(W, user, "user", SPEC_REQUIRED | SPEC_NO_EXTRA, password_fields),
	SPEC_END_ROW
};
#undef W

static const char *str(const spec_str_t *s) { return s->set && !s->null ? s->v : NULL; }

/* Domain admins see their own domain's users only (Keystone filters list_users by the
 * token's domain); asking for another domain is 403. */
int user_list(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *domain = req_query(r, "domain_id");
	if (!(r->auth.roles & ROLE_ADMIN)) {
		if (domain && identity_domain_admin_may(r, domain, err))
			return -1;
		domain = r->auth.domain_id;
	}
	return entity_reply_list(r, out, &ENT_USER, db_user_list(domain, req_query(r, "name"),
								 identity_query_bool(r, "enabled")));
}

int user_show(struct req *r, struct resp *out, struct nl_error *err)
{
	return entity_show(out, &ENT_USER, req_param(r, 0), err);
}

struct user_ctx {
	const struct user_in *in;
	const char *id, *domain_id;
	char hash[crypto_pwhash_STRBYTES];
	bool has_hash;
};

static int user_create_tx(void *p, struct nl_error *err)
{
	struct user_ctx *c = p;
	if (entity_must_exist(&ENT_DOMAIN, c->domain_id, err))
		return -1;
	return db_user_insert(c->id, c->in->name.v, c->domain_id, c->has_hash ? c->hash : NULL,
			      c->in->enabled.set ? c->in->enabled.v : true, str(&c->in->default_project_id),
			      str(&c->in->description), str(&c->in->email), err);
}

/* Hashing happens before the transaction: it is slow on purpose and must not hold the write lock. */
static int hash_into(struct user_ctx *c, const spec_str_t *pw, struct nl_error *err)
{
	if (!str(pw))
		return 0;
	if (password_hash(pw->v, c->hash)) {
		nl_err_internal(err, "password hashing failed (out of memory)");
		return -1;
	}
	c->has_hash = true;
	return 0;
}

int user_create(struct req *r, struct resp *out, struct nl_error *err)
{
	char id[33];
	struct user_ctx c = { .in = r->input, .id = id };
	nl_uuid_hex_new(id);
	c.domain_id = str(&c.in->domain_id) ? c.in->domain_id.v :
		      r->auth.domain_id[0] ? r->auth.domain_id :
		      (r->auth.project_domain_id[0] ? r->auth.project_domain_id : "default");
	if (identity_domain_admin_may(r, c.domain_id, err) || hash_into(&c, &c.in->password, err) ||
	    db_tx_run(user_create_tx, &c, err))
		return -1;
	return entity_reply(out, 201, &ENT_USER, id);
}

static int user_update_tx(void *p, struct nl_error *err)
{
	struct user_ctx *c = p;
	const struct user_in *in = c->in;
	if (entity_must_exist(&ENT_USER, c->id, err))
		return -1;
	if (db_user_update(c->id, str(&in->name), c->has_hash ? c->hash : NULL,
			   in->enabled.set ? in->enabled.v : -1, str(&in->default_project_id),
			   str(&in->description), str(&in->email), err))
		return -1;
	/* Keystone revokes a user's tokens when the password changes or the user is disabled. */
	if (c->has_hash || (in->enabled.set && !in->enabled.v))
		return db_token_revoke_user(c->id, err);
	return 0;
}

int user_update(struct req *r, struct resp *out, struct nl_error *err)
{
	struct user_ctx c = { .in = r->input, .id = req_param(r, 0) };
	if (identity_domain_admin_may_user(r, c.id, err) || hash_into(&c, &c.in->password, err) ||
	    db_tx_run(user_update_tx, &c, err))
		return -1;
	return entity_reply(out, 200, &ENT_USER, c.id);
}

int user_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	if (identity_domain_admin_may_user(r, req_param(r, 0), err))
		return -1;
	return entity_delete(out, &ENT_USER, req_param(r, 0), err);
}

struct pw_ctx { const char *id; char hash[crypto_pwhash_STRBYTES]; };

static int pw_tx(void *p, struct nl_error *err)
{
	struct pw_ctx *c = p;
	return db_user_update(c->id, NULL, c->hash, -1, NULL, NULL, NULL, err) ||
	       db_token_revoke_user(c->id, err) ? -1 : 0;
}

int user_password(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct password_in *in = r->input;
	struct pw_ctx c = { .id = req_param(r, 0) };
	json_t *u = db_user_get(c.id);
	bool ok;

	if (!u)
		return identity_not_found(err, "user", c.id);
	ok = password_verify(json_string_value(json_object_get(u, "password_hash")), in->original_password.v);
	json_decref(u);
	if (!ok) {
		nl_err_set(err, 401, "The request you have made requires authentication.");
		return -1;
	}
	if (password_hash(in->password.v, c.hash)) {
		nl_err_internal(err, "password hashing failed");
		return -1;
	}
	if (db_tx_run(pw_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}

int user_projects(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	return entity_reply_list(r, out, &ENT_PROJECT, db_user_projects(req_param(r, 0)));
}
