/* /v2.1/os-keypairs. Key pairs belong to a user (not a project); admins may act for
 * another user with user_id (2.10). Generation stops at 2.92, as in Nova. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/handlers.h"
#include "common/config.h"
#include "common/sshkey.h"
#include "common/util.h"
#include "db/compute.h"
#include "db/db.h"
#include "db/servers.h"

/* ---- specs (nova/api/openstack/compute/schemas/keypairs.py) ---- */
#define K struct keypair_in
static const char *const key_types[] = { "ssh", "x509", NULL };
#define KP_NAME(fmt) FIELD(K, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = fmt)
#define KP_PUB(flags) FIELD(K, public_key, "public_key", SPEC_STRING, flags)
#define KP_TYPE FIELD(K, type, "type", SPEC_STRING, 0, .enumv = key_types)
#define KP_USER FIELD(K, user_id, "user_id", SPEC_STRING, 0)
static const struct field_spec kp_v21[] = { KP_NAME(FMT_KEYPAIR_20), KP_PUB(0), SPEC_END_ROW };
static const struct field_spec kp_v22[] = { KP_NAME(FMT_KEYPAIR_20), KP_TYPE, KP_PUB(0), SPEC_END_ROW };
static const struct field_spec kp_v210[] = { KP_NAME(FMT_KEYPAIR_20), KP_TYPE, KP_PUB(0), KP_USER, SPEC_END_ROW };
static const struct field_spec kp_v292[] = { KP_NAME(FMT_KEYPAIR_292), KP_TYPE, KP_PUB(SPEC_REQUIRED), KP_USER, SPEC_END_ROW };
const struct field_spec keypair_create_v21[] = { WRAPPER("keypair", SPEC_REQUIRED | SPEC_NO_EXTRA, kp_v21), SPEC_END_ROW };
const struct field_spec keypair_create_v22[] = { WRAPPER("keypair", SPEC_REQUIRED | SPEC_NO_EXTRA, kp_v22), SPEC_END_ROW };
const struct field_spec keypair_create_v210[] = { WRAPPER("keypair", SPEC_REQUIRED | SPEC_NO_EXTRA, kp_v210), SPEC_END_ROW };
const struct field_spec keypair_create_v292[] = { WRAPPER("keypair", SPEC_REQUIRED | SPEC_NO_EXTRA, kp_v292), SPEC_END_ROW };
#undef K

/* GET /os-keypairs query (schemas/keypairs.py: user_id from 2.10, paging from 2.35,
 * strict from 2.75). */
const struct field_spec keypair_index_query_v210[] = {
	{ .name = "user_id", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	SPEC_END_ROW
};
const struct field_spec keypair_index_query_v235[] = {
	{ .name = "user_id", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	{ .name = "limit", .type = SPEC_INT, .flags = SPEC_INT_STRING | SPEC_HAS_MIN, .min = 0, .offset = SPEC_NOSTORE },
	{ .name = "marker", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	SPEC_END_ROW
};

/* Policy "admin or user_id:%(user_id)s": whose key pairs this request is about.
 * The user_id query parameter exists from 2.10; before that it is ignored. */
static const char *target_user(struct req *r, const char *from_body, const char *rule, struct nl_error *err)
{
	const char *uid = from_body ? from_body : (r->mv >= 10 ? req_query(r, "user_id") : NULL);
	if (!uid || !strcmp(uid, r->auth.user_id))
		return r->auth.user_id;
	if (!auth_is_admin(&r->auth)) {
		nl_err_set(err, 403, "Policy doesn't allow %s to be performed.", rule);
		return NULL;
	}
	return uid;
}

/* ---- views (nova/api/openstack/compute/views/keypairs.py) ---- */
static json_t *kp_view(json_t *row, int mv, bool show)
{
	json_t *k = json_pack("{s:O, s:O, s:O}", "name", json_object_get(row, "name"),
			      "public_key", json_object_get(row, "public_key"),
			      "fingerprint", json_object_get(row, "fingerprint"));
	if (mv >= 2)
		json_object_set(k, "type", json_object_get(row, "type"));
	if (show) {
		char created[40];
		nl_time_iso(json_integer_value(json_object_get(row, "created_at")), false, created, sizeof(created));
		json_object_set(k, "user_id", json_object_get(row, "user_id"));
		json_object_set_new(k, "created_at", json_string(created));
		json_object_set_new(k, "deleted", json_false());
		json_object_set_new(k, "deleted_at", json_null());
		json_object_set_new(k, "updated_at", json_null());
		json_object_set(k, "id", json_object_get(row, "id"));
	}
	return k;
}

int keypair_list(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *uid = target_user(r, NULL, "os_compute_api:os-keypairs:index", err);
	const char *marker = r->mv >= 35 ? req_query(r, "marker") : NULL;
	long long limit = 1000;
	bool have_limit = false;
	json_t *rows, *row, *list;
	size_t i;

	if (!uid)
		return -1;
	if (r->mv >= 35 && compute_query_int(r, "limit", 0, &limit, &have_limit, err))
		return -1;
	if (!have_limit || limit > 1000)
		limit = 1000;
	if (marker) {
		json_t *m = db_keypair_get(uid, marker);
		if (!m) {
			nl_err_set(err, 400, "marker [%s] not found", marker);
			return -1;
		}
		json_decref(m);
	}
	rows = db_keypair_list(uid, marker, limit);
	list = json_array();
	json_array_foreach(rows, i, row)
		json_array_append_new(list, json_pack("{s:o}", "keypair", kp_view(row, r->mv, false)));
	json_t *body = json_pack("{s:o}", "keypairs", list);
	if (r->mv >= 35 && json_array_size(rows) && (long long)json_array_size(rows) == limit) {
		char href[800];
		const char *last = json_string_value(json_object_get(json_array_get(rows, json_array_size(rows) - 1), "name"));
		snprintf(href, sizeof(href), "%s/v2.1/os-keypairs?limit=%lld&marker=%s%s%s", service_base_url(SVC_COMPUTE),
			 limit, last, uid != r->auth.user_id ? "&user_id=" : "", uid != r->auth.user_id ? uid : "");
		json_object_set_new(body, "keypairs_links", json_pack("[{s:s, s:s}]", "rel", "next", "href", href));
	}
	json_decref(rows);
	resp_json(out, 200, body);
	return 0;
}

int keypair_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *uid = target_user(r, NULL, "os_compute_api:os-keypairs:show", err);
	json_t *row;
	if (!uid)
		return -1;
	if (!(row = db_keypair_get(uid, req_param(r, 0)))) {
		nl_err_set(err, 404, "Keypair %s not found for user %s", req_param(r, 0), uid);
		return -1;
	}
	resp_json(out, 200, json_pack("{s:o}", "keypair", kp_view(row, r->mv, true)));
	json_decref(row);
	return 0;
}

struct kp_ctx { const char *uid, *name, *fp, *pub, *type, *project; };

static int create_tx(void *p, struct nl_error *err)
{
	struct kp_ctx *c = p;
	/* Key pairs are counted per user against the requesting project's key_pairs
	 * limit (os-quota-sets / quota class), as Nova's check_deltas does; novalite
	 * has no per-user quota rows. */
	long long limit = db_quota_limit(c->project, "key_pairs", g_config.quota_key_pairs);
	/* Count and insert in one IMMEDIATE transaction: concurrent creates cannot overshoot. */
	if (limit >= 0 && db_keypair_count(c->uid) >= limit) {
		nl_err_set(err, 403, "Quota exceeded, too many key pairs.");
		return -1;
	}
	return db_keypair_insert(c->uid, c->name, c->fp, c->pub, c->type, err);
}

int keypair_create(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct keypair_in *in = r->input;
	struct kp_ctx c = { .name = in->name.v, .type = in->type.set ? in->type.v : "ssh",
			    .project = r->auth.project_id };
	char fp[128];
	char *pub = NULL, *priv = NULL;
	int rc = -1;

	if (!(c.uid = target_user(r, in->user_id.set ? in->user_id.v : NULL, "os_compute_api:os-keypairs:create", err)))
		return -1;
	if (in->public_key.set) {
		int bad = !strcmp(c.type, "x509") ? x509_fingerprint(in->public_key.v, fp, sizeof(fp)) :
			  sshkey_fingerprint(in->public_key.v, fp, sizeof(fp));
		if (bad) {
			nl_err_set(err, 400, "Keypair data is invalid: failed to generate fingerprint");
			return -1;
		}
		c.pub = in->public_key.v;
	} else {
		if (!strcmp(c.type, "x509")) {
			nl_err_set(err, 400, "Keypair data is invalid: generating x509 key pairs is not supported; import one");
			return -1;
		}
		if (sshkey_generate("Generated-by-Nova", &pub, &priv, fp, sizeof(fp))) {
			nl_err_internal(err, "key generation failed");
			return -1;
		}
		c.pub = pub;
	}
	c.fp = fp;
	if (db_tx_run(create_tx, &c, err))
		goto out;
	json_t *k = json_pack("{s:s, s:s, s:s, s:s}", "name", c.name, "public_key", c.pub, "fingerprint", fp,
			      "user_id", c.uid);
	if (r->mv >= 2)
		json_object_set_new(k, "type", json_string(c.type));
	if (priv)
		json_object_set_new(k, "private_key", json_string(priv));
	resp_json(out, r->mv >= 2 ? 201 : 200, json_pack("{s:o}", "keypair", k));
	rc = 0;
out:
	free(pub);
	if (priv) {
		explicit_bzero(priv, strlen(priv));
		free(priv);
	}
	return rc;
}

static int delete_tx(void *p, struct nl_error *err)
{
	struct kp_ctx *c = p;
	int rc = db_keypair_delete(c->uid, c->name, err);
	if (rc > 0) {
		nl_err_set(err, 404, "Keypair %s not found for user %s", c->name, c->uid);
		return -1;
	}
	return rc;
}

int keypair_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct kp_ctx c = { .name = req_param(r, 0) };
	if (!(c.uid = target_user(r, NULL, "os_compute_api:os-keypairs:delete", err)) || db_tx_run(delete_tx, &c, err))
		return -1;
	out->status = r->mv >= 2 ? 204 : 202;
	return 0;
}
