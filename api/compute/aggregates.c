/* /v2.1/os-aggregates: list, create, show, update, delete, and the add_host,
 * remove_host and set_metadata actions. An aggregate's availability zone is its
 * metadata key availability_zone; AggregateAPI.is_safe_to_update_az()'s rule holds
 * (a host is never in two aggregates with different zones). Status codes and
 * messages are Nova's, including its 200s where 201/204 would be usual. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/admin.h"
#include "api/handlers.h"
#include "common/util.h"
#include "db/admin.h"
#include "db/db.h"

/* ---- specs (nova/api/openstack/compute/schemas/aggregates.py) ---- */
#define A struct aggregate_in
/* availability_zone is oneOf [az_name, null]: the type is declared here, the az_name
 * format (which has no spec format) is checked by az_invalid() with the oneOf wording. */
#define AGG_AZ FIELD(A, az, "availability_zone", SPEC_STRING, SPEC_NULLABLE)
#define FQDN(member) FIELD(A, member, "host", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), \
			   .format = FMT_CHARSET, .charset = "a-zA-Z0-9-._")
static const struct field_spec create_fields[] = {
	FIELD(A, name, "name", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_NAME), AGG_AZ,
	SPEC_END_ROW
};
static const struct field_spec update_fields[] = {
	FIELD(A, name, "name", SPEC_STRING, BOUNDED, LEN(1, 255), .format = FMT_NAME_LOOSE), AGG_AZ, SPEC_END_ROW
};
static const struct field_spec add_fields[] = { FQDN(add_host), SPEC_END_ROW };
static const struct field_spec remove_fields[] = { FQDN(remove_host), SPEC_END_ROW };
/* The map's keys and values are checked in set_metadata(): values may be null. */
static const struct field_spec meta_fields[] = {
	FIELD(A, metadata, "metadata", SPEC_OBJECT, SPEC_REQUIRED), SPEC_END_ROW
};
const struct field_spec aggregate_create_spec[] = {
	WRAPPER("aggregate", SPEC_REQUIRED | SPEC_NO_EXTRA, create_fields), SPEC_END_ROW
};
const struct field_spec aggregate_update_spec[] = {
	WRAPPER("aggregate", SPEC_REQUIRED | SPEC_NO_EXTRA, update_fields), SPEC_END_ROW
};
const struct field_spec aggregate_action_spec[] = {
	NESTED(A, add, "add_host", SPEC_NO_EXTRA, add_fields),
	NESTED(A, remove, "remove_host", SPEC_NO_EXTRA, remove_fields),
	NESTED(A, set_meta, "set_metadata", SPEC_NO_EXTRA, meta_fields),
	SPEC_END_ROW
};
#undef A

/* parameter_types.az_name: 1-255 printable characters but ':', no edge whitespace. */
static int az_invalid(const char *az, struct nl_error *err)
{
	long n = nl_utf8_len(az);
	char shown[400];
	if (n >= 1 && n <= 255 && !strchr(az, ':') && nl_name_is_printable(az, false))
		return 0;
	json_t *v = json_string(az);
	json_py_repr(v, shown, sizeof(shown));
	json_decref(v);
	nl_err_set(err, 400, "Invalid input for field/attribute availability_zone. Value: %s. %s is not valid under "
		   "any of the given schemas", az, shown);
	return -1;
}

/* ---- view (AggregateController._marshall_aggregate) ---- */
static json_t *agg_view(json_t *row, int mv, bool full)
{
	json_t *meta = json_object_get(row, "metadata"), *az = json_object_get(meta, "availability_zone");
	json_t *a = json_pack("{s:O, s:o, s:b, s:n, s:O, s:O, s:o}", "availability_zone", az ? az : json_null(),
			      "created_at", time_json(json_integer_value(json_object_get(row, "created_at"))),
			      "deleted", 0, "deleted_at", "id", json_object_get(row, "id"), "name",
			      json_object_get(row, "name"),
			      "updated_at", time_json(json_integer_value(json_object_get(row, "updated_at"))));
	if (full) {   /* create's answer has neither */
		json_object_set(a, "hosts", json_object_get(row, "hosts"));
		json_object_set(a, "metadata", meta);
	}
	if (mv >= 41)
		json_object_set(a, "uuid", json_object_get(row, "uuid"));
	return a;
}

int aggregate_list(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *rows = db_aggregate_list(), *row, *items = json_array();
	size_t i;
	(void)err;
	json_array_foreach(rows, i, row)
		json_array_append_new(items, agg_view(row, r->mv, true));
	json_decref(rows);
	resp_json(out, 200, json_pack("{s:o}", "aggregates", items));
	return 0;
}

/* ---- transactions ---- */
enum agg_op { OP_CREATE, OP_UPDATE, OP_DELETE, OP_ADD, OP_REMOVE, OP_META };

struct agg_ctx {
	enum agg_op op;
	long long id;
	const char *id_text;
	const char *name, *az, *host;
	bool set_az;
	json_t *metadata;          /* set_metadata: {key: string|null} */
};

/* AggregateAPI.is_safe_to_update_az() for setting zone az on aggregate row, whose
 * hosts (or host, being added) must not be in another zone; when zones change,
 * updates also refuse aggregates whose hosts run instances. */
static int az_safe(const struct agg_ctx *c, json_t *row, const char *az, struct nl_error *err)
{
	static const char *const prefix[] = { [OP_ADD] = "Cannot add host to aggregate",
		[OP_UPDATE] = "Cannot update aggregate", [OP_META] = "Cannot update metadata of aggregate" };
	const char *cur = json_string_value(json_object_get(json_object_get(row, "metadata"), "availability_zone"));
	char reason[600] = "", list[400];
	json_t *others, *conflicts = json_array(), *v;
	size_t i;

	if (!az || !*az) {
		snprintf(reason, sizeof(reason), "Aggregate %s does not support empty named availability zone",
			 json_string_value(json_object_get(row, "name")));
	} else {
		others = db_aggregate_other_azs(c->id, c->op == OP_ADD ? c->host : NULL);
		json_array_foreach(others, i, v)
			if (strcmp(json_string_value(v), az))
				json_array_append(conflicts, v);
		json_decref(others);
		json_py_repr(conflicts, list, sizeof(list));
		if (json_array_size(conflicts))
			snprintf(reason, sizeof(reason), "One or more hosts already in availability zone(s) %s", list);
		else if (c->op != OP_ADD && (!cur || strcmp(cur, az)) && db_aggregate_instance_count(c->id) > 0)
			snprintf(reason, sizeof(reason), "One or more hosts contain instances in this zone");
	}
	json_decref(conflicts);
	if (!*reason)
		return 0;
	/* add_host answers 409, the updates 400 (aggregates.py). */
	nl_err_set(err, c->op == OP_ADD ? 409 : 400, "%s %lld. Reason: %s.", prefix[c->op], c->id, reason);
	return -1;
}

static int set_metadata_tx(struct agg_ctx *c, json_t *row, struct nl_error *err)
{
	const char *k;
	json_t *v, *az = json_object_get(c->metadata, "availability_zone");
	if (az && az_safe(c, row, json_string_value(az), err))
		return -1;
	json_object_foreach(c->metadata, k, v)
		if (db_aggregate_meta_set(c->id, k, json_string_value(v), err))
			return -1;
	return db_aggregate_touch(c->id, nl_now_us(), err);
}

static int update_tx(struct agg_ctx *c, json_t *row, struct nl_error *err)
{
	if (c->name) {
		if (db_aggregate_rename(c->id, c->name, nl_now_us(), err))
			return -1;
		json_object_set_new(row, "name", json_string(c->name));
	}
	if (c->set_az && az_safe(c, row, c->az, err))
		return -1;
	if (c->set_az && db_aggregate_meta_set(c->id, "availability_zone", c->az, err))
		return -1;
	return db_aggregate_touch(c->id, nl_now_us(), err);
}

/* Everything but create works on an existing aggregate: one lookup, then the op. */
static int agg_tx(void *p, struct nl_error *err)
{
	struct agg_ctx *c = p;
	json_t *row, *host = NULL;
	int rc = -1;

	if (c->op == OP_CREATE) {
		char uuid[NL_UUID_LEN + 1];
		nl_uuid_new(uuid);
		if ((c->id = db_aggregate_insert(uuid, c->name, nl_now_us(), err)) < 0)
			return -1;
		return c->az ? db_aggregate_meta_set(c->id, "availability_zone", c->az, err) : 0;
	}
	if (c->op == OP_ADD || c->op == OP_REMOVE) {
		if (!(host = db_hosts_get(HOST_BY_NAME, c->host))) {
			if (c->op == OP_ADD)
				nl_err_set(err, 404, "Compute host %s could not be found.", c->host);
			else
				nl_err_set(err, 404, "Cannot remove host %s in aggregate %s", c->host, c->id_text);
			return -1;
		}
		json_decref(host);
	}
	if (!(row = db_aggregate_get(c->id))) {
		if (c->op == OP_REMOVE)
			nl_err_set(err, 404, "Cannot remove host %s in aggregate %s", c->host, c->id_text);
		else
			nl_err_set(err, 404, "Aggregate %s could not be found.", c->id_text);
		return -1;
	}
	switch (c->op) {
	case OP_UPDATE:
		rc = update_tx(c, row, err);
		break;
	case OP_DELETE:
		if (json_array_size(json_object_get(row, "hosts")))
			nl_err_set(err, 400, "Cannot remove host from aggregate %lld. Reason: Host aggregate is not empty.",
				   c->id);
		else
			rc = db_aggregate_delete(c->id, err);
		break;
	case OP_ADD: {
		const char *az = json_string_value(json_object_get(json_object_get(row, "metadata"), "availability_zone"));
		if (!(az && az_safe(c, row, az, err)))
			rc = db_aggregate_host_add(c->id, c->host, err);
		break;
	}
	case OP_REMOVE:
		rc = db_aggregate_host_remove(c->id, c->host, err);
		if (rc > 0) {
			nl_err_set(err, 404, "Cannot remove host %s in aggregate %s", c->host, c->id_text);
			rc = -1;
		}
		break;
	case OP_META:
		rc = set_metadata_tx(c, row, err);
		break;
	default:
		break;
	}
	json_decref(row);
	return rc;
}

/* Runs the op and answers 200 with the aggregate (create: without hosts and metadata;
 * delete: no body). */
static int run(struct req *r, struct resp *out, struct agg_ctx *c, struct nl_error *err)
{
	if (c->op != OP_CREATE) {
		c->id_text = req_param(r, 0);
		if (!path_int(c->id_text, &c->id)) {
			nl_err_set(err, 400, "Invalid input received: id must be an integer");
			return -1;
		}
	}
	if (db_tx_run(agg_tx, c, err))
		return -1;
	out->status = 200;
	if (c->op == OP_DELETE)
		return 0;
	json_t *row = db_aggregate_get(c->id);
	resp_json(out, 200, json_pack("{s:o}", "aggregate", agg_view(row, r->mv, c->op != OP_CREATE)));
	json_decref(row);
	return 0;
}

int aggregate_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row;
	long long id;
	if (!path_int(req_param(r, 0), &id)) {
		nl_err_set(err, 400, "Invalid input received: id must be an integer");
		return -1;
	}
	if (!(row = db_aggregate_get(id))) {
		nl_err_set(err, 404, "Aggregate %s could not be found.", req_param(r, 0));
		return -1;
	}
	resp_json(out, 200, json_pack("{s:o}", "aggregate", agg_view(row, r->mv, true)));
	json_decref(row);
	return 0;
}

int aggregate_create(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct aggregate_in *in = r->input;
	struct agg_ctx c = { .op = OP_CREATE, .name = in->name.v };
	/* Nova keeps no zone for a null or empty one ("if avail_zone:"); an empty one
	 * already failed az_name's minLength. */
	if (in->az.set && !in->az.null) {
		if (az_invalid(in->az.v, err))
			return -1;
		c.az = in->az.v;
	}
	return run(r, out, &c, err);
}

/* common.normalize_name(): the name without surrounding whitespace. */
static char *strip(const char *s)
{
	char *d = nl_strdup(s + strspn(s, " \t\r\n\v\f"));
	size_t n = strlen(d);
	while (n && isspace((unsigned char)d[n - 1]))
		d[--n] = '\0';
	return d;
}

int aggregate_update(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct aggregate_in *in = r->input;
	struct agg_ctx c = { .op = OP_UPDATE, .set_az = in->az.set };
	char shown[400];
	int rc;

	if (!in->name.set && !in->az.set) {   /* the schema's anyOf [name, availability_zone] */
		json_py_repr(json_object_get(r->json, "aggregate"), shown, sizeof(shown));
		nl_err_set(err, 400, "Invalid input for field/attribute aggregate. Value: %s. %s is not valid under any "
			   "of the given schemas", shown, shown);
		return -1;
	}
	if (in->az.set && !in->az.null) {
		if (az_invalid(in->az.v, err))
			return -1;
		c.az = in->az.v;
	}
	char *name = in->name.set ? strip(in->name.v) : NULL;
	c.name = name;
	rc = run(r, out, &c, err);
	free(name);
	return rc;
}

int aggregate_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	struct agg_ctx c = { .op = OP_DELETE };
	return run(r, out, &c, err);
}

/* set_metadata's map: parameter_types.metadata_with_null. Null values are checked as
 * empty strings (the spec's map type has no nullable values). */
static int check_metadata(json_t *meta, struct nl_error *err)
{
	static const struct field_spec map[] = {
		{ .name = "metadata", .type = SPEC_STRMAP, .charset = "a-zA-Z0-9-_:. ", .offset = SPEC_NOSTORE },
		SPEC_END_ROW
	};
	json_t *copy = json_object(), *v;
	const char *k;
	json_object_foreach(meta, k, v)
		json_object_set_new(copy, k, json_is_null(v) ? json_string("") : json_incref(v));
	json_t *wrap = json_pack("{s:o}", "metadata", copy);
	int rc = json_spec_validate(map, 0, wrap, NULL, SPEC_STYLE_NOVA, err);
	json_decref(wrap);
	return rc;
}

int aggregate_action(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct aggregate_in *in = r->input;
	struct agg_ctx c = { 0 };
	const char *rule;

	/* An action body names exactly one action (nova wsgi.py). */
	if (json_object_size(r->json) != 1) {
		nl_err_set(err, 400, "Malformed request body");
		return -1;
	}
	if (in->add.set) {
		c.op = OP_ADD;
		c.host = in->add_host.v;
		rule = "os_compute_api:os-aggregates:add_host";
	} else if (in->remove.set) {
		c.op = OP_REMOVE;
		c.host = in->remove_host.v;
		rule = "os_compute_api:os-aggregates:remove_host";
	} else if (in->set_meta.set) {
		c.op = OP_META;
		c.metadata = in->metadata.v;
		rule = "os_compute_api:os-aggregates:set_metadata";
		if (check_metadata(c.metadata, err))
			return -1;
	} else {
		nl_err_set(err, 400, "There is no such action: %s", json_object_iter_key(json_object_iter(r->json)));
		return -1;
	}
	if (policy_require(r, POL_ADMIN, rule, err))
		return -1;
	return run(r, out, &c, err);
}
