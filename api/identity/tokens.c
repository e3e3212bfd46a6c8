/* POST/GET/HEAD/DELETE /v3/auth/tokens, and the per-request token check (auth.c uses
 * token_hash()). A token is 256 random bits shown once to the caller; the database
 * keeps only its SHA-256, so a stolen DB file holds no usable token. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/identity/identity.h"
#include "api/identity/tokens.h"
#include "common/config.h"
#include "common/log.h"
#include "common/password.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"

#define A struct auth_in
static const struct field_spec domain_ref[] = {
	FIELD(A, user_domain_id, "id", SPEC_STRING, 0),
	FIELD(A, user_domain_name, "name", SPEC_STRING, 0),
	SPEC_END_ROW
};
static const struct field_spec user_ref[] = {
	FIELD(A, user_id, "id", SPEC_STRING, 0),
	FIELD(A, user_name, "name", SPEC_STRING, 0),
	FIELD(A, password, "password", SPEC_STRING, 0),
	NESTED(A, user_domain, "domain", 0, domain_ref),
	SPEC_END_ROW
};
static const struct field_spec password_method[] = {
	NESTED(A, user, "user", SPEC_REQUIRED, user_ref),
	SPEC_END_ROW
};
static const struct field_spec token_method[] = {
	FIELD(A, token_id, "id", SPEC_STRING, SPEC_REQUIRED),
	SPEC_END_ROW
};
static const struct field_spec method_item[] = {
	{ .name = "methods", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
};
static const struct field_spec identity_spec[] = {
	{ .name = "methods", .type = SPEC_ARRAY, .flags = SPEC_REQUIRED, .offset = offsetof(A, methods), .sub = method_item },
	NESTED(A, password_obj, "password", 0, password_method),
	NESTED(A, token_obj, "token", 0, token_method),
	SPEC_END_ROW
};
static const struct field_spec project_domain_ref[] = {
	FIELD(A, project_domain_id, "id", SPEC_STRING, 0),
	FIELD(A, project_domain_name, "name", SPEC_STRING, 0),
	SPEC_END_ROW
};
static const struct field_spec scope_project[] = {
	FIELD(A, project_id, "id", SPEC_STRING, 0),
	FIELD(A, project_name, "name", SPEC_STRING, 0),
	NESTED(A, project_domain, "domain", 0, project_domain_ref),
	SPEC_END_ROW
};
static const struct field_spec scope_domain[] = {
	FIELD(A, domain_id, "id", SPEC_STRING, 0),
	FIELD(A, domain_name, "name", SPEC_STRING, 0),
	SPEC_END_ROW
};
static const struct field_spec scope_spec[] = {
	NESTED(A, scope_project, "project", 0, scope_project),
	NESTED(A, scope_domain, "domain", 0, scope_domain),
	{ .name = "system", .type = SPEC_ANY, .offset = offsetof(A, scope_system) },
	SPEC_END_ROW
};
static const struct field_spec auth_body[] = {
	NESTED(A, identity, "identity", SPEC_REQUIRED, identity_spec),
	{ .name = "scope", .type = SPEC_ANY, .offset = offsetof(A, scope) },
	SPEC_END_ROW
};
const struct field_spec auth_spec[] = {
	NESTED(A, identity, "auth", SPEC_REQUIRED, auth_body),
	SPEC_END_ROW
};
#undef A

static const char unauthorized[] = "The request you have made requires authentication.";

void token_hash(const char *token, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	nl_hex(h, sizeof(h), out);
}

bool token_row_live(const struct token_row *t)
{
	return !t->revoked && t->expires_at > nl_now_us() && t->user_enabled && t->project_enabled &&
	       t->domains_enabled;
}

static void random_b64(size_t nbytes, char *out, size_t outlen)
{
	unsigned char buf[64];
	randombytes_buf(buf, nbytes);
	sodium_bin2base64(out, outlen, buf, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Resolves a {"id"} or {"name", "domain": {...}} reference to a domain id. */
static json_t *find_domain(const char *id, const char *name)
{
	if (id)
		return db_domain_get(id);
	if (name)
		return db_domain_find(name);
	return NULL;
}

static bool domain_enabled(const char *id)
{
	json_t *d = db_domain_get(id);
	bool on = d && json_integer_value(json_object_get(d, "enabled"));
	json_decref(d);
	return on;
}

static json_t *token_body(const struct token_row *t, json_t *roles, bool with_catalog)
{
	char issued[40], expires[40];
	json_t *tok, *udom, *methods = json_array();
	json_t *ud = db_domain_get(t->user_domain_id);
	char m[64], *save = NULL;

	nl_time_iso(t->issued_at, true, issued, sizeof(issued));
	nl_time_iso(t->expires_at, true, expires, sizeof(expires));
	snprintf(m, sizeof(m), "%s", t->methods);
	for (char *p = strtok_r(m, ",", &save); p; p = strtok_r(NULL, ",", &save))
		json_array_append_new(methods, json_string(p));
	udom = json_pack("{s:s, s:s}", "id", t->user_domain_id, "name", ud ? jstr(ud, "name") : "");
	json_decref(ud);
	json_t *audit = json_pack("[s]", t->audit_id);
	if (t->parent_audit_id[0])
		json_array_append_new(audit, json_string(t->parent_audit_id));
	tok = json_pack("{s:o, s:{s:o, s:s, s:s, s:n}, s:o, s:s, s:s}",
			"methods", methods,
			"user", "domain", udom, "id", t->user_id, "name", t->user_name, "password_expires_at",
			"audit_ids", audit, "expires_at", expires, "issued_at", issued);
	if (t->project_id[0]) {
		json_t *pd = db_domain_get(t->project_domain_id);
		json_object_set_new(tok, "project", json_pack("{s:{s:s, s:s}, s:s, s:s}",
			"domain", "id", t->project_domain_id, "name", pd ? jstr(pd, "name") : "",
			"id", t->project_id, "name", t->project_name));
		json_object_set_new(tok, "is_domain", json_false());
		/* keystonemiddleware passes it on as X-Is-Admin-Project. */
		json_object_set_new(tok, "is_admin_project",
				    json_boolean(auth_project_scope(t->project_name, t->project_domain_id,
								    g_config.admin_project_only) ==
						 SCOPE_ADMIN_PROJECT));
		json_decref(pd);
	} else if (t->domain_id[0]) {
		json_t *d = db_domain_get(t->domain_id);
		json_object_set_new(tok, "domain", json_pack("{s:s, s:s}", "id", t->domain_id,
							     "name", d ? jstr(d, "name") : ""));
		json_decref(d);
	} else if (t->system) {
		json_object_set_new(tok, "system", json_pack("{s:b}", "all", 1));
	}
	if (roles)
		json_object_set_new(tok, "roles", roles);
	if (with_catalog && (t->project_id[0] || t->domain_id[0] || t->system))
		json_object_set(tok, "catalog", catalog_get());
	return json_pack("{s:o}", "token", tok);
}

/* Effective roles on the token's scope, or NULL (unscoped). */
static json_t *scope_roles(const struct token_row *t)
{
	if (t->project_id[0])
		return db_effective_roles(t->user_id, "project", t->project_id);
	if (t->domain_id[0])
		return db_effective_roles(t->user_id, "domain", t->domain_id);
	if (t->system)
		return db_effective_roles(t->user_id, "system", "all");
	return NULL;
}

struct issue_ctx { const char *hash; struct token_row *t; };

static int issue_tx(void *p, struct nl_error *err)
{
	struct issue_ctx *c = p;
	return db_token_insert(c->hash, c->t, err);
}

int token_issue(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct auth_in *in = r->input;
	struct token_row t;
	json_t *user = NULL, *roles = NULL;
	bool by_password = false, by_token = false;
	size_t i;
	json_t *m;

	memset(&t, 0, sizeof(t));
	json_array_foreach(in->methods.v, i, m) {
		const char *name = json_string_value(m);
		by_password |= !strcmp(name, "password");
		by_token |= !strcmp(name, "token");
		if (strcmp(name, "password") && strcmp(name, "token")) {
			nl_err_set(err, 401, "Attempted to authenticate with an unsupported method.");
			return -1;
		}
	}
	if (by_password && in->password_obj.set) {
		json_t *dom = NULL;
		if (in->user_id.v) {
			user = db_user_get(in->user_id.v);
		} else if (in->user_name.v) {
			dom = find_domain(in->user_domain_id.v, in->user_domain_name.v);
			if (!dom) {
				nl_err_set(err, 401, unauthorized);
				return -1;
			}
			user = db_user_find(jstr(dom, "id"), in->user_name.v);
			json_decref(dom);
		} else {
			nl_err_set(err, 400, "Expecting to find id or name in user. The server could not comply "
				   "with the request since it is either malformed or otherwise incorrect. The client "
				   "is assumed to be in error.");
			return -1;
		}
		/* Same answer and (roughly) same cost whether the user exists or not. */
		const char *pw = in->password.v ? in->password.v : "";
		bool ok = strlen(pw) <= PASSWORD_MAX_BYTES && user &&
			  password_verify(jstr(user, "password_hash"), pw) &&
			  json_integer_value(json_object_get(user, "enabled"));
		if (!ok) {
			if (!user)
				password_verify("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
						"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", pw);
			log_info("auth: password authentication failed for a user");
			json_decref(user);
			nl_err_set(err, 401, unauthorized);
			return -1;
		}
		snprintf(t.methods, sizeof(t.methods), "password");
		random_b64(16, t.audit_id, sizeof(t.audit_id));
		t.issued_at = nl_now_us();
		t.expires_at = t.issued_at + (int64_t)g_config.token_expiration * 1000000;
	} else if (by_token && in->token_obj.set) {
		struct token_row old;
		char h[65];
		token_hash(in->token_id.v, h);
		if (db_token_get(h, &old) || !token_row_live(&old)) {
			nl_err_set(err, 401, unauthorized);
			return -1;
		}
		user = db_user_get(old.user_id);
		/* A re-scoped token keeps the original expiry and audit chain (Keystone). */
		snprintf(t.methods, sizeof(t.methods), "%s", old.methods);
		if (!strstr(t.methods, "token"))
			strncat(t.methods, ",token", sizeof(t.methods) - strlen(t.methods) - 1);
		random_b64(16, t.audit_id, sizeof(t.audit_id));
		snprintf(t.parent_audit_id, sizeof(t.parent_audit_id), "%s", old.audit_id);
		t.issued_at = nl_now_us();
		t.expires_at = old.expires_at;
	} else {
		nl_err_set(err, 400, "Expecting to find %s in identity. The server could not comply with the request "
			   "since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
			   by_token ? "token" : "password");
		return -1;
	}
	/* A user of a disabled domain cannot authenticate (keystone/identity/core.py
	 * assert_domain_enabled): the same 401 as a wrong password. */
	if (!user || !domain_enabled(jstr(user, "domain_id"))) {
		json_decref(user);
		nl_err_set(err, 401, unauthorized);
		return -1;
	}
	snprintf(t.user_id, sizeof(t.user_id), "%s", jstr(user, "id"));
	snprintf(t.user_name, sizeof(t.user_name), "%s", jstr(user, "name"));
	snprintf(t.user_domain_id, sizeof(t.user_domain_id), "%s", jstr(user, "domain_id"));
	json_decref(user);

	/* Scope. */
	if (in->scope.set && json_is_object(in->scope.v)) {
		struct auth_in sc;
		memset(&sc, 0, sizeof(sc));
		if (json_spec_validate(scope_spec, 0, in->scope.v, &sc, SPEC_STYLE_KEYSTONE, err))
			return -1;
		if (sc.scope_project.set) {
			json_t *p = NULL;
			if (sc.project_id.v) {
				p = db_project_get(sc.project_id.v);
			} else if (sc.project_name.v) {
				json_t *d = find_domain(sc.project_domain_id.v, sc.project_domain_name.v);
				if (d)
					p = db_project_find(jstr(d, "id"), sc.project_name.v);
				json_decref(d);
			}
			if (!p || !json_integer_value(json_object_get(p, "enabled")) ||
			    !domain_enabled(jstr(p, "domain_id"))) {
				json_decref(p);
				nl_err_set(err, 401, unauthorized);
				return -1;
			}
			snprintf(t.project_id, sizeof(t.project_id), "%s", jstr(p, "id"));
			snprintf(t.project_name, sizeof(t.project_name), "%s", jstr(p, "name"));
			snprintf(t.project_domain_id, sizeof(t.project_domain_id), "%s", jstr(p, "domain_id"));
			json_decref(p);
		} else if (sc.scope_domain.set) {
			json_t *d = find_domain(sc.domain_id.v, sc.domain_name.v);
			if (!d || !json_integer_value(json_object_get(d, "enabled"))) {
				json_decref(d);
				nl_err_set(err, 401, unauthorized);
				return -1;
			}
			snprintf(t.domain_id, sizeof(t.domain_id), "%s", jstr(d, "id"));
			json_decref(d);
		} else if (sc.scope_system.set) {
			json_t *all = json_object_get(sc.scope_system.v, "all");
			if (!json_is_object(sc.scope_system.v) || !json_is_true(all) || json_object_size(sc.scope_system.v) != 1) {
				nl_err_set(err, 400, "Invalid input for field 'scope': the system scope must be "
					   "{\"all\": true}.");
				return -1;
			}
			t.system = true;
		}
		roles = scope_roles(&t);
		if (roles && json_array_size(roles) == 0) {
			json_decref(roles);
			if (t.system)
				nl_err_set(err, 401, "User %s has no access to the system", t.user_id);
			else
				nl_err_set(err, 401, "User %s has no access to %s %s", t.user_id,
					   t.project_id[0] ? "project" : "domain",
					   t.project_id[0] ? t.project_id : t.domain_id);
			return -1;
		}
	}

	char tok[64], h[65];
	/* base64url may begin with '-': command lines (openstack token revoke TOKEN) would
	 * read such a token as an option, so draw again (costs 1/32 of a bit). */
	do
		random_b64(32, tok, sizeof(tok));
	while (tok[0] == '-' || tok[0] == '_');
	token_hash(tok, h);
	struct issue_ctx ctx = { h, &t };
	if (db_tx_run(issue_tx, &ctx, err)) {
		json_decref(roles);
		return -1;
	}
	resp_json(out, 201, token_body(&t, roles, !req_query(r, "nocatalog")));
	resp_header(out, "X-Subject-Token", tok);
	return 0;
}

/* The X-Subject-Token's row, and the policy on it (keystone/common/policies/token.py):
 * identity:validate_token is admin, service or the token's own user; revoke_token is
 * admin or the token's own user only, so a service account (every compute agent holds
 * one) cannot log other users out. */
static int subject(struct req *r, struct token_row *t, char h[65], bool service_may, struct nl_error *err)
{
	const char *s = req_header(r, "X-Subject-Token");
	if (!s || !*s) {
		nl_err_set(err, 400, "Expecting to find X-Subject-Token in request headers. The server could not "
			   "comply with the request since it is either malformed or otherwise incorrect. The client "
			   "is assumed to be in error.");
		return -1;
	}
	token_hash(s, h);
	if (db_token_get(h, t) || !token_row_live(t)) {
		/* keystone/token/provider.py validate_token: the token itself is never echoed. */
		nl_err_set(err, 404, "Failed to validate token");
		return -1;
	}
	unsigned may = ROLE_ADMIN | (service_may ? ROLE_SERVICE : 0);
	if (!(r->auth.roles & may) && strcmp(t->user_id, r->auth.user_id)) {
		nl_err_set(err, 403, "You are not authorized to perform the requested action: %s.", r->route->rule);
		return -1;
	}
	return 0;
}

int token_validate(struct req *r, struct resp *out, struct nl_error *err)
{
	struct token_row t;
	char h[65];
	if (subject(r, &t, h, true, err))
		return -1;
	resp_json(out, 200, token_body(&t, scope_roles(&t), !req_query(r, "nocatalog")));
	resp_header(out, "X-Subject-Token", req_header(r, "X-Subject-Token"));
	return 0;
}

static int revoke_tx(void *p, struct nl_error *err) { return db_token_revoke(p, err); }

int token_revoke(struct req *r, struct resp *out, struct nl_error *err)
{
	struct token_row t;
	char h[65];
	if (subject(r, &t, h, false, err) || db_tx_run(revoke_tx, h, err))
		return -1;
	out->status = 204;
	return 0;
}

int auth_catalog(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)r; (void)err;
	resp_json(out, 200, json_pack("{s:O, s:{s:s, s:n, s:n}}", "catalog", catalog_get(), "links", "self",
				      "", "previous", "next"));
	return 0;
}

int auth_projects(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	return entity_reply_list(r, out, &ENT_PROJECT, db_user_projects(r->auth.user_id));
}

int auth_domains(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	json_t *list = json_array();
	json_t *d = db_domain_get(r->auth.user_domain_id);
	if (d && db_role_bits(r->auth.user_id, "domain", r->auth.user_domain_id))
		json_array_append_new(list, domain_view(json_incref(d)));
	json_decref(d);
	resp_json(out, 200, json_pack("{s:o, s:o}", "domains", list, "links", identity_collection_links(r)));
	return 0;
}
