/* /v2/images/{id}/members: sharing an image with other projects. The owner adds and
 * removes members; a member accepts or rejects; only "shared" images have members. */
#include <string.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/image/image.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"
#include "db/images.h"

static json_t *member_view(json_t *row)
{
	char created[40], updated[40];
	json_t *v;
	nl_time_iso_s(json_integer_value(json_object_get(row, "created_at")), created, sizeof(created));
	nl_time_iso_s(json_integer_value(json_object_get(row, "updated_at")), updated, sizeof(updated));
	v = json_pack("{s:O, s:O, s:O, s:s, s:s, s:s}", "image_id", json_object_get(row, "image_id"),
		      "member_id", json_object_get(row, "member_id"), "status", json_object_get(row, "status"),
		      "created_at", created, "updated_at", updated, "schema", "/v2/schemas/member");
	json_decref(row);
	return v;
}

static bool is_owner(struct req *r, json_t *img)
{
	const char *owner = json_string_value(json_object_get(img, "owner"));
	return auth_is_admin(&r->auth) || (owner && !strcmp(owner, r->auth.project_id));
}

int image_member_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *img = image_get_visible(r, req_param(r, 0), err), *rows, *row, *list;
	size_t i;
	if (!img)
		return -1;
	rows = db_image_members(req_param(r, 0));
	list = json_array();
	json_array_foreach(rows, i, row) {
		/* A member sees only its own membership; the owner sees all. */
		if (is_owner(r, img) || !strcmp(json_string_value(json_object_get(row, "member_id")), r->auth.project_id))
			json_array_append_new(list, member_view(json_incref(row)));
	}
	json_decref(rows);
	json_decref(img);
	resp_json(out, 200, json_pack("{s:o, s:s}", "members", list, "schema", "/v2/schemas/members"));
	return 0;
}

int image_member_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *img = image_get_visible(r, req_param(r, 0), err), *m;
	if (!img)
		return -1;
	m = db_image_member_get(req_param(r, 0), req_param(r, 1));
	if (!m || (!is_owner(r, img) && strcmp(req_param(r, 1), r->auth.project_id))) {
		json_decref(m);
		json_decref(img);
		nl_err_set(err, 404, "Member %s not found.", req_param(r, 1));
		return -1;
	}
	json_decref(img);
	resp_json(out, 200, member_view(m));
	return 0;
}

struct member_ctx { struct req *r; const char *id, *member, *status; int op; };
enum { M_ADD, M_SET, M_DEL };

static int member_tx(void *p, struct nl_error *err)
{
	struct member_ctx *c = p;
	json_t *img = image_get_visible(c->r, c->id, err), *m = NULL;
	int rc = -1;
	if (!img)
		return -1;
	if (c->op != M_SET && !is_owner(c->r, img)) {
		nl_err_set(err, 403, "You are not permitted to modify 'member' on this image.");
		goto out;
	}
	if (c->op == M_ADD) {
		json_t *proj;
		if (strcmp(json_string_value(json_object_get(img, "visibility")), "shared")) {
			nl_err_set(err, 403, "Only shared images have members.");
			goto out;
		}
		if (!(proj = db_project_get(c->member))) {
			nl_err_set(err, 400, "Member %s is not a valid project.", c->member);
			goto out;
		}
		json_decref(proj);
		rc = db_image_member_add(c->id, c->member, err);
		goto out;
	}
	m = db_image_member_get(c->id, c->member);
	if (!m) {
		nl_err_set(err, 404, "Member %s not found.", c->member);
		goto out;
	}
	if (c->op == M_SET) {
		/* Only the member decides whether it accepts the image. */
		if (strcmp(c->member, c->r->auth.project_id)) {
			nl_err_set(err, 403, "You are not permitted to modify 'status' on this image member.");
			goto out;
		}
		rc = db_image_member_set(c->id, c->member, c->status, err);
	} else {
		rc = db_image_member_delete(c->id, c->member, err);
	}
out:
	json_decref(m);
	json_decref(img);
	return rc;
}

static int member_body(struct req *r, const char *key, const char **val, struct nl_error *err)
{
	static const char *const types[] = { "application/json", NULL };
	if (image_parse_body(r, types, err))
		return -1;
	*val = json_string_value(json_object_get(r->json, key));
	if (!json_is_object(r->json) || !*val) {
		nl_err_set(err, 400, "Provided object does not match schema '%s': '%s' is a required property",
			   !strcmp(key, "member") ? "members" : "member", key);
		return -1;
	}
	return 0;
}

int image_member_create(struct req *r, struct resp *out, struct nl_error *err)
{
	struct member_ctx c = { r, req_param(r, 0), NULL, NULL, M_ADD };
	if (member_body(r, "member", &c.member, err) || db_tx_run(member_tx, &c, err))
		return -1;
	resp_json(out, 200, member_view(db_image_member_get(c.id, c.member)));
	return 0;
}

int image_member_update(struct req *r, struct resp *out, struct nl_error *err)
{
	struct member_ctx c = { r, req_param(r, 0), req_param(r, 1), NULL, M_SET };
	if (member_body(r, "status", &c.status, err))
		return -1;
	if (strcmp(c.status, "pending") && strcmp(c.status, "accepted") && strcmp(c.status, "rejected")) {
		nl_err_set(err, 400, "Provided object does not match schema 'member': '%s' is not one of "
			   "['pending', 'accepted', 'rejected']", c.status);
		return -1;
	}
	if (db_tx_run(member_tx, &c, err))
		return -1;
	resp_json(out, 200, member_view(db_image_member_get(c.id, c.member)));
	return 0;
}

int image_member_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct member_ctx c = { r, req_param(r, 0), req_param(r, 1), NULL, M_DEL };
	if (db_tx_run(member_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}
