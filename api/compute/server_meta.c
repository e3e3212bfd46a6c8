/* Server sub-resources: metadata, tags (2.26), ips, and os-instance-actions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/compute/servers.h"
#include "api/handlers.h"
#include "common/config.h"
#include "common/util.h"
#include "db/db.h"
#include "db/servers.h"

#define S(row, k) json_string_value(json_object_get(row, k))
#define I(row, k) json_integer_value(json_object_get(row, k))

/* ---- specs (schemas/server_metadata.py, server_tags.py) ---- */
const struct field_spec server_metadata_spec[] = {
	{ .name = "metadata", .type = SPEC_STRMAP, .flags = SPEC_REQUIRED, .charset = "a-zA-Z0-9-_:. ",
	  .offset = offsetof(struct server_meta_in, map) },
	SPEC_END_ROW
};
const struct field_spec server_meta_spec[] = {
	{ .name = "meta", .type = SPEC_STRMAP, .flags = SPEC_REQUIRED | BOUNDED, .min = 1, .max = 1,
	  .charset = "a-zA-Z0-9-_:. ", .offset = offsetof(struct server_meta_in, map) },
	SPEC_END_ROW
};
const struct field_spec server_tags_spec[] = {
	FIELD(struct server_tags_in, tags, "tags", SPEC_ARRAY, SPEC_REQUIRED), SPEC_END_ROW };

static const char *const meta_vm_states[] = { "active", "paused", "suspended", "stopped", NULL };
static const char *const tag_vm_states[] = { "active", "paused", "rescued", "shelved", "shelved_offloaded",
					     "stopped", "suspended", NULL };

/* Writes need the lock and a settled state (nova/compute/api.py update_instance_metadata). */
static json_t *writable(struct req *r, const char *const *vms, const char *method, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err);
	if (!row)
		return NULL;
	if (server_check_lock(r, row, err))
		goto fail;
	bool ok = false;
	for (const char *const *v = vms; *v; v++)
		ok |= !strcmp(*v, S(row, "vm_state"));
	if (!ok) {
		nl_err_set(err, 409, "Cannot '%s' instance %s while it is in vm_state %s", method, S(row, "uuid"),
			   S(row, "vm_state"));
		goto fail;
	}
	if (S(row, "task_state")) {
		nl_err_set(err, 409, "Cannot '%s' instance %s while it is in task_state %s", method, S(row, "uuid"),
			   S(row, "task_state"));
		goto fail;
	}
	return row;
fail:
	json_decref(row);
	return NULL;
}

/* ---- metadata ---- */
int server_metadata_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err);
	if (!row)
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "metadata", db_server_metadata(I(row, "id"))));
	json_decref(row);
	return 0;
}

int server_metadata_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err), *m, *v;
	if (!row)
		return -1;
	m = db_server_metadata(I(row, "id"));
	v = json_object_get(m, req_param(r, 1));
	if (v)
		resp_json(out, 200, json_pack("{s:{s:O}}", "meta", req_param(r, 1), v));
	else
		nl_err_set(err, 404, "Metadata item was not found");
	json_decref(m);
	json_decref(row);
	return v ? 0 : -1;
}

struct meta_ctx { int64_t id; json_t *map; bool replace; const char *delete_key; int missing; char project[65]; };

static int meta_tx(void *p, struct nl_error *err)
{
	struct meta_ctx *c = p;
	const char *k;
	json_t *v;
	if (c->delete_key) {
		c->missing = db_server_metadata_delete(c->id, c->delete_key, err);
		return c->missing < 0 ? -1 : 0;
	}
	if (c->replace && db_server_metadata_clear(c->id, err))
		return -1;
	json_object_foreach(c->map, k, v)
		if (db_server_metadata_set(c->id, k, json_string_value(v), err))
			return -1;
	/* The quota counts the result, inside the transaction. */
	json_t *all = db_server_metadata(c->id);
	long long n = (long long)json_object_size(all);
	json_decref(all);
	/* The server's project's limit (os-quota-sets), as at create; the default otherwise. */
	long long lim = db_quota_limit(c->project, "metadata_items", g_config.quota_metadata_items);
	if (lim >= 0 && n > lim) {
		nl_err_set(err, 403, "Quota exceeded for metadata_items: Requested %lld, but already used 0 of %lld "
			   "metadata_items", n, lim);
		return -1;
	}
	return 0;
}

static int meta_write(struct req *r, struct resp *out, struct nl_error *err, bool replace, bool one)
{
	const struct server_meta_in *in = r->input;
	if (one && !json_object_get(in->map.v, req_param(r, 1))) {
		nl_err_set(err, 400, "Request body and URI mismatch");
		return -1;
	}
	json_t *row = writable(r, meta_vm_states, "update metadata", err);
	if (!row)
		return -1;
	struct meta_ctx c = { I(row, "id"), in->map.v, replace, NULL, 0, "" };
	snprintf(c.project, sizeof(c.project), "%s", S(row, "project_id") ? S(row, "project_id") : "");
	json_decref(row);
	if (db_tx_run(meta_tx, &c, err))
		return -1;
	if (one)
		resp_json(out, 200, json_pack("{s:O}", "meta", in->map.v));
	else if (replace)
		resp_json(out, 200, json_pack("{s:O}", "metadata", in->map.v));
	else
		resp_json(out, 200, json_pack("{s:o}", "metadata", db_server_metadata(c.id)));
	return 0;
}

int server_metadata_create(struct req *r, struct resp *out, struct nl_error *err) { return meta_write(r, out, err, false, false); }
int server_metadata_replace(struct req *r, struct resp *out, struct nl_error *err) { return meta_write(r, out, err, true, false); }
int server_metadata_update(struct req *r, struct resp *out, struct nl_error *err) { return meta_write(r, out, err, false, true); }

int server_metadata_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = writable(r, meta_vm_states, "delete metadata", err);
	if (!row)
		return -1;
	struct meta_ctx c = { I(row, "id"), NULL, false, req_param(r, 1), 0, "" };
	json_decref(row);
	if (db_tx_run(meta_tx, &c, err))
		return -1;
	if (c.missing) {
		nl_err_set(err, 404, "Metadata item was not found");
		return -1;
	}
	out->status = 204;
	return 0;
}

/* ---- tags ---- */
static bool tag_ok(const char *t, struct nl_error *err)
{
	if (!t || !*t || nl_utf8_len(t) > 60 || strchr(t, '/') || strchr(t, ',')) {
		nl_err_set(err, 400, "Invalid input for field/attribute tag. Value: %s. Tags must be non-empty strings "
			   "of at most 60 characters without '/' or ','.", t ? t : "");
		return false;
	}
	return true;
}

int server_tags_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err);
	if (!row)
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "tags", db_server_tags(I(row, "id"))));
	json_decref(row);
	return 0;
}

int server_tag_check(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err), *tags, *t;
	size_t i;
	bool found = false;
	if (!row)
		return -1;
	tags = db_server_tags(I(row, "id"));
	json_array_foreach(tags, i, t) found |= !strcmp(json_string_value(t), req_param(r, 1));
	json_decref(tags);
	json_decref(row);
	if (!found) {
		nl_err_set(err, 404, "Instance %s has no tag '%s'", req_param(r, 0), req_param(r, 1));
		return -1;
	}
	out->status = 204;
	return 0;
}

struct tags_ctx { int64_t id; json_t *tags; const char *one; bool clear, remove; int result; };

static int tags_tx(void *p, struct nl_error *err)
{
	struct tags_ctx *c = p;
	size_t i;
	json_t *t;
	if (c->clear && db_server_tags_clear(c->id, err))
		return -1;
	if (c->remove) {
		c->result = db_server_tag_delete(c->id, c->one, err);
		return c->result < 0 ? -1 : 0;
	}
	if (c->one) {
		json_t *now = db_server_tags(c->id);
		json_array_foreach(now, i, t) if (!strcmp(json_string_value(t), c->one)) c->result = 1;
		json_decref(now);
		if (c->result)
			return 0;
		if (db_server_tag_add(c->id, c->one, err))
			return -1;
	}
	json_array_foreach(c->tags, i, t)
		if (db_server_tag_add(c->id, json_string_value(t), err))
			return -1;
	json_t *all = db_server_tags(c->id);
	size_t n = json_array_size(all);
	json_decref(all);
	if (n > 50) {
		nl_err_set(err, 400, "The number of tags exceeded the per-server limit 50");
		return -1;
	}
	return 0;
}

static int tags_run(struct req *r, struct tags_ctx *c, struct nl_error *err)
{
	json_t *row = writable(r, tag_vm_states, "update tags", err);
	if (!row)
		return -1;
	c->id = I(row, "id");
	json_decref(row);
	return db_tx_run(tags_tx, c, err);
}

int server_tags_replace(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct server_tags_in *in = r->input;
	size_t i;
	json_t *t;
	json_array_foreach(in->tags.v, i, t)
		if (!tag_ok(json_string_value(t), err))
			return -1;
	struct tags_ctx c = { 0, in->tags.v, NULL, true, false, 0 };
	if (tags_run(r, &c, err))
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "tags", db_server_tags(c.id)));
	return 0;
}

int server_tag_add(struct req *r, struct resp *out, struct nl_error *err)
{
	struct tags_ctx c = { 0, NULL, req_param(r, 1), false, false, 0 };
	char loc[1024];
	if (!tag_ok(c.one, err) || tags_run(r, &c, err))
		return -1;
	out->status = c.result ? 204 : 201;
	snprintf(loc, sizeof(loc), "%s/v2.1/servers/%s/tags/%s", service_base_url(SVC_COMPUTE), req_param(r, 0), c.one);
	resp_header(out, "Location", loc);
	return 0;
}

int server_tags_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct tags_ctx c = { 0, NULL, NULL, true, false, 0 };
	if (tags_run(r, &c, err))
		return -1;
	out->status = 204;
	return 0;
}

int server_tag_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct tags_ctx c = { 0, NULL, req_param(r, 1), false, true, 0 };
	if (tags_run(r, &c, err))
		return -1;
	if (c.result) {
		nl_err_set(err, 404, "Instance %s has no tag '%s'", req_param(r, 0), req_param(r, 1));
		return -1;
	}
	out->status = 204;
	return 0;
}

/* ---- ips ---- */
static json_t *plain_addresses(json_t *row)
{
	json_t *a = server_addresses(row), *list;
	const char *net;
	size_t i;
	json_t *e;
	json_object_foreach(a, net, list) json_array_foreach(list, i, e) {
		json_object_del(e, "OS-EXT-IPS:type");
		json_object_del(e, "OS-EXT-IPS-MAC:mac_addr");
	}
	return a;
}

int server_ips(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err);
	if (!row)
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "addresses", plain_addresses(row)));
	json_decref(row);
	return 0;
}

int server_ips_network(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err), *a, *list;
	if (!row)
		return -1;
	a = plain_addresses(row);
	list = json_object_get(a, req_param(r, 1));
	if (list)
		resp_json(out, 200, json_pack("{s:O}", req_param(r, 1), list));
	else
		nl_err_set(err, 404, "Instance is not a member of specified network");
	json_decref(a);
	json_decref(row);
	return list ? 0 : -1;
}

/* ---- os-instance-actions ---- */
static json_t *ts(json_t *row, const char *k)
{
	char buf[40];
	json_t *v = json_object_get(row, k);
	if (!json_is_integer(v))
		return json_null();
	nl_time_iso(json_integer_value(v), false, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *action_view(const struct req *r, json_t *a)
{
	json_t *v = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:O}", "action", json_object_get(a, "action"),
			      "instance_uuid", json_object_get(a, "instance_uuid"), "request_id",
			      json_object_get(a, "request_id"), "user_id", json_object_get(a, "user_id"), "project_id",
			      json_object_get(a, "project_id"), "start_time", ts(a, "start_time"), "message",
			      json_object_get(a, "message"));
	if (r->mv >= 58)
		json_object_set_new(v, "updated_at", ts(a, "updated_at"));
	return v;
}

/* From 2.21 a deleted server's actions stay readable (Nova reads with read_deleted). */
static json_t *action_server(struct req *r, struct nl_error *err)
{
	json_t *row = db_server_get(req_param(r, 0), auth_is_admin(&r->auth) ? NULL : r->auth.project_id,
				    r->mv >= 21);
	if (!row)
		nl_err_set(err, 404, "Instance %s could not be found.", req_param(r, 0));
	return row;
}

int instance_action_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = action_server(r, err), *list, *a, *outl = json_array();
	size_t i;
	if (!row) {
		json_decref(outl);
		return -1;
	}
	list = db_action_list(req_param(r, 0));
	json_array_foreach(list, i, a) json_array_append_new(outl, action_view(r, a));
	resp_json(out, 200, json_pack("{s:o}", "instanceActions", outl));
	json_decref(list);
	json_decref(row);
	return 0;
}

int instance_action_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = action_server(r, err), *a, *e;
	size_t i;
	bool admin = auth_is_admin(&r->auth);
	if (!row)
		return -1;
	a = db_action_get(req_param(r, 0), req_param(r, 1));
	json_decref(row);
	if (!a) {
		nl_err_set(err, 404, "Action for request_id %s on instance %s not found", req_param(r, 1),
			   req_param(r, 0));
		return -1;
	}
	json_t *v = action_view(r, a);
	/* Events: admins always; everyone from 2.51 (without traceback). */
	if (admin || r->mv >= 51) {
		json_t *events = json_array();
		json_array_foreach(json_object_get(a, "events"), i, e) {
			json_t *ev = json_pack("{s:O, s:o, s:o, s:O}", "event", json_object_get(e, "event"), "start_time",
					       ts(e, "start_time"), "finish_time", ts(e, "finish_time"), "result",
					       json_object_get(e, "result"));
			if (admin)
				json_object_set(ev, "traceback", json_object_get(e, "traceback"));
			if (r->mv >= 62) {
				char hid[64] = "";
				const char *host = S(e, "host");
				if (host && *host) {
					server_host_id(S(a, "project_id"), host, hid);
				}
				json_object_set_new(ev, "hostId", json_string(hid));
				if (admin)
					json_object_set(ev, "host", json_object_get(e, "host"));
			}
			/* os_compute_api:os-instance-actions:events:details is admin-only. */
			if (r->mv >= 84 && admin)
				json_object_set(ev, "details", json_object_get(e, "details"));
			json_array_append_new(events, ev);
		}
		json_object_set_new(v, "events", events);
	}
	resp_json(out, 200, json_pack("{s:o}", "instanceAction", v));
	json_decref(a);
	return 0;
}
