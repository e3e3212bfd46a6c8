/* Creates what Keystone's bootstrap creates, in one transaction. */
#include "api/identity/bootstrap.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/password.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"

struct boot_ctx { const char *hash; bool set_password; };

static const char *ensure_role(const char *name, char *id_out, struct nl_error *err)
{
	json_t *r = db_role_find(name);
	if (r) {
		snprintf(id_out, 33, "%s", json_string_value(json_object_get(r, "id")));
		json_decref(r);
		return id_out;
	}
	nl_uuid_hex_new(id_out);
	return db_role_insert(id_out, name, NULL, err) ? NULL : id_out;
}

static int boot_tx(void *p, struct nl_error *err)
{
	struct boot_ctx *c = p;
	char admin[33], member[33], reader[33], service[33], proj[33], user[33];
	json_t *x;

	if (!(x = db_domain_get("default"))) {
		if (db_domain_insert("default", "Default", "The default domain", true, err))
			return -1;
	}
	json_decref(x);
	if (!ensure_role("admin", admin, err) || !ensure_role("member", member, err) ||
	    !ensure_role("reader", reader, err) || !ensure_role("service", service, err) ||
	    !ensure_role("manager", (char[33]){ 0 }, err))
		return -1;
	/* admin ⊇ member ⊇ reader, as Keystone's bootstrap sets up implied roles. */
	if (db_role_imply(admin, member, err) || db_role_imply(member, reader, err))
		return -1;
	if ((x = db_project_find("default", "admin"))) {
		snprintf(proj, sizeof(proj), "%s", json_string_value(json_object_get(x, "id")));
		json_decref(x);
	} else {
		nl_uuid_hex_new(proj);
		if (db_project_insert(proj, "admin", "default", "Bootstrap project for initializing the cloud.", true,
				      NULL, err))
			return -1;
	}
	if ((x = db_project_find("default", "service"))) {
		json_decref(x);
	} else {
		char sp[33];
		nl_uuid_hex_new(sp);
		if (db_project_insert(sp, "service", "default", "Project for service users (compute agents).", true,
				      NULL, err))
			return -1;
	}
	if ((x = db_user_find("default", "admin"))) {
		snprintf(user, sizeof(user), "%s", json_string_value(json_object_get(x, "id")));
		json_decref(x);
		if (c->set_password && db_user_update(user, NULL, c->hash, 1, NULL, NULL, NULL, err))
			return -1;
	} else {
		nl_uuid_hex_new(user);
		if (db_user_insert(user, "admin", "default", c->hash, true, proj, NULL, NULL, err))
			return -1;
	}
	/* Keystone's bootstrap also makes the admin user admin of the system. */
	return db_grant(user, "project", proj, admin, err) || db_grant(user, "system", "all", admin, err) ? -1 : 0;
}

int identity_bootstrap(const char *password, char *out, size_t outlen, struct nl_error *err)
{
	char hash[crypto_pwhash_STRBYTES], generated[48];
	struct boot_ctx c = { hash, password != NULL };
	json_t *existing = db_user_find("default", "admin");

	out[0] = '\0';
	if (!password && !existing) {
		unsigned char raw[18];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(generated, sizeof(generated), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		password = generated;
		c.set_password = true;
		log_info("bootstrap: generated an admin password (written to the openrc file)");
	}
	json_decref(existing);
	if (c.set_password) {
		if (password_hash(password, hash)) {
			nl_err_internal(err, "password hashing failed");
			return -1;
		}
		snprintf(out, outlen, "%s", password);
	} else {
		hash[0] = '\0';
	}
	return db_tx_run(boot_tx, &c, err);
}

struct svc_ctx { const char *name, *hash; };

static int svc_tx(void *p, struct nl_error *err)
{
	struct svc_ctx *c = p;
	char role[33], user[33], proj[33];
	json_t *x = db_project_find("default", "service");

	if (!x)
		return nl_err_set(err, 500, "the service project is missing (bootstrap first)"), -1;
	snprintf(proj, sizeof(proj), "%s", json_string_value(json_object_get(x, "id")));
	json_decref(x);
	if (!ensure_role("service", role, err))
		return -1;
	if ((x = db_user_find("default", c->name))) {
		snprintf(user, sizeof(user), "%s", json_string_value(json_object_get(x, "id")));
		json_decref(x);
		if (c->hash && db_user_update(user, NULL, c->hash, 1, NULL, NULL, NULL, err))
			return -1;
	} else {
		nl_uuid_hex_new(user);
		if (db_user_insert(user, c->name, "default", c->hash, true, proj, NULL, NULL, err))
			return -1;
	}
	return db_grant_exists(user, "project", proj, role) ? 0 : db_grant(user, "project", proj, role, err);
}

int identity_bootstrap_service_user(const char *name, const char *known, char *out, size_t outlen,
				    struct nl_error *err)
{
	char hash[crypto_pwhash_STRBYTES];
	struct svc_ctx c = { name, NULL };
	json_t *existing = db_user_find("default", name);

	if (existing && known && *known) {
		snprintf(out, outlen, "%s", known);
	} else {
		unsigned char raw[24];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(out, outlen, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		if (password_hash(out, hash)) {
			json_decref(existing);
			nl_err_internal(err, "password hashing failed");
			return -1;
		}
		c.hash = hash;
	}
	json_decref(existing);
	return db_tx_run(svc_tx, &c, err);
}
