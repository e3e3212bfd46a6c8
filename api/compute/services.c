/* /v2.1/os-services: list, the 2.53 update, the legacy enable/disable/force-down
 * actions, delete. Also the service model of a compute host that os-hypervisors and
 * os-availability-zone share (state, zone, ids), and small paging helpers.
 *
 * A compute_hosts row is the nova-compute service. novalite-api itself plays
 * nova-scheduler and nova-conductor, so they are listed as two built-in services on
 * the API's host name, zone "internal", always up (the process answering is alive):
 * `openstack compute service list` expects them. They have fixed ids 1 and 2 (uuids
 * below); a compute service's id is its host row id + 2, so ids never collide. They
 * cannot be changed: updating or deleting one is 400 with Nova's wording for updates
 * of non-compute services (Nova itself refuses updates; it would delete the record,
 * which here would only come back, so delete is refused the same way). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/compute/admin.h"
#include "api/handlers.h"
#include "common/config.h"
#include "common/util.h"
#include "db/admin.h"
#include "db/db.h"

/* ---- specs (nova/api/openstack/compute/schemas/services.py) ---- */
#define S struct service_in
#define SVC_HOST FIELD(S, host, "host", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255), .format = FMT_CHARSET, \
		       .charset = "a-zA-Z0-9-._")
#define SVC_BINARY FIELD(S, binary, "binary", SPEC_STRING, SPEC_REQUIRED | BOUNDED, LEN(1, 255))
#define SVC_REASON FIELD(S, disabled_reason, "disabled_reason", SPEC_STRING, BOUNDED, LEN(1, 255))
#define SVC_FORCED FIELD(S, forced_down, "forced_down", SPEC_BOOL, SPEC_BOOL_STRING)
static const char *const statuses[] = { "enabled", "disabled", NULL };
const struct field_spec service_update_v21[] = { SVC_HOST, SVC_BINARY, SVC_REASON, SPEC_END_ROW };
const struct field_spec service_update_v211[] = { SVC_HOST, SVC_BINARY, SVC_REASON, SVC_FORCED, SPEC_END_ROW };
const struct field_spec service_update_v253[] = {
	FIELD(S, status, "status", SPEC_STRING, 0, .enumv = statuses), SVC_REASON, SVC_FORCED, SPEC_END_ROW
};
#undef S
const struct field_spec service_index_query[] = {
	{ .name = "host", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	{ .name = "binary", .type = SPEC_STRING, .offset = SPEC_NOSTORE },
	SPEC_END_ROW
};

/* ---- the service model ---- */
static const struct builtin { const char *binary; int id; const char *uuid; } builtins[] = {
	{ "nova-scheduler", 1, "880723fe-33e6-4100-a9a0-471f7820f824" },
	{ "nova-conductor", 2, "a80f0f34-0d55-430a-9bff-9982ff10721d" },
};
#define NBUILTIN ((int)(sizeof(builtins) / sizeof(builtins[0])))

static long long num(json_t *row, const char *k) { return json_integer_value(json_object_get(row, k)); }
static const char *str(json_t *row, const char *k) { return json_string_value(json_object_get(row, k)); }

bool host_is_up(json_t *row)
{
	json_t *seen = json_object_get(row, "last_seen_at");
	int64_t age = nl_now_us() - json_integer_value(seen);
	if (num(row, "forced_down") || !json_is_integer(seen))
		return false;
	return llabs(age) <= (long long)g_config.service_down_time * 1000000;
}

json_t *time_json(int64_t us)
{
	char buf[40];
	if (!us)
		return json_null();
	nl_time_iso(us, false, buf, sizeof(buf));
	return json_string(buf);
}

json_t *service_of_host(json_t *row)
{
	/* updated_at moves with heartbeats and with admin updates, as Nova's does. */
	int64_t seen = num(row, "last_seen_at"), upd = num(row, "updated_at");
	return json_pack("{s:s, s:O, s:I, s:O, s:s, s:b, s:O, s:b, s:b, s:o}",
			 "binary", "nova-compute", "host", json_object_get(row, "host"),
			 "id", (json_int_t)(num(row, "id") + NBUILTIN), "uuid", json_object_get(row, "uuid"),
			 "zone", str(row, "az") ? str(row, "az") : AZ_DEFAULT,
			 "disabled", (int)num(row, "disabled"), "disabled_reason", json_object_get(row, "disabled_reason"),
			 "forced_down", (int)num(row, "forced_down"), "up", host_is_up(row),
			 "updated_at", time_json(seen > upd ? seen : upd));
}

static json_t *service_of_builtin(const struct builtin *b)
{
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:b, s:n, s:b, s:b, s:o}", "binary", b->binary, "host", host,
			 "id", b->id, "uuid", b->uuid, "zone", AZ_INTERNAL, "disabled", 0, "disabled_reason",
			 "forced_down", 0, "up", 1, "updated_at", time_json(nl_now_us()));
}

json_t *service_list_all(void)
{
	json_t *all = json_array(), *hosts = db_hosts_list(NULL, NULL), *row;
	size_t i;
	for (int b = 0; b < NBUILTIN; b++)
		json_array_append_new(all, service_of_builtin(&builtins[b]));
	json_array_foreach(hosts, i, row)
		json_array_append_new(all, service_of_host(row));
	json_decref(hosts);
	return all;
}

/* ---- views (ServiceController._get_service_detail) ---- */
static json_t *service_view(json_t *svc, int mv, bool forced_down)
{
	json_t *v = json_pack("{s:O, s:O, s:O, s:O, s:s, s:s, s:O, s:O}", "binary", json_object_get(svc, "binary"),
			      "host", json_object_get(svc, "host"),
			      "id", json_object_get(svc, mv >= 53 ? "uuid" : "id"), "zone", json_object_get(svc, "zone"),
			      "status", json_is_true(json_object_get(svc, "disabled")) ? "disabled" : "enabled",
			      "state", json_is_true(json_object_get(svc, "up")) ? "up" : "down",
			      "updated_at", json_object_get(svc, "updated_at"),
			      "disabled_reason", json_object_get(svc, "disabled_reason"));
	if (forced_down)
		json_object_set(v, "forced_down", json_object_get(svc, "forced_down"));
	return v;
}

int compute_service_list(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *host = req_query(r, "host"), *binary = req_query(r, "binary");
	json_t *all = service_list_all(), *items = json_array(), *s;
	size_t i;
	(void)err;
	json_array_foreach(all, i, s) {
		if ((host && *host && strcmp(host, str(s, "host"))) || (binary && *binary && strcmp(binary, str(s, "binary"))))
			continue;
		json_array_append_new(items, service_view(s, r->mv, r->mv >= 11));
	}
	json_decref(all);
	resp_json(out, 200, json_pack("{s:o}", "services", items));
	return 0;
}

/* ---- updates ---- */
static const struct builtin *builtin_by(const char *uuid, long long id)
{
	for (int b = 0; b < NBUILTIN; b++)
		if ((uuid && !strcasecmp(uuid, builtins[b].uuid)) || (!uuid && id == builtins[b].id))
			return &builtins[b];
	return NULL;
}

static int not_updatable(const char *binary, struct nl_error *err)
{
	nl_err_set(err, 400, "Updating a %s service is not supported. Only nova-compute services can be updated.",
		   binary);
	return -1;
}

struct svc_ctx {
	enum host_key key;
	const char *id;
	const char *not_found;         /* format of the 404 message, with shown */
	const char *shown;             /* the id as the request named it */
	const struct service_in *in;   /* 2.53: the body, checked once the service is found */
	bool set_disabled, disabled, set_forced, forced;
	const char *reason;
	json_t *row;                   /* out: the host after the update (owned) */
};

/* 2.53 body rules (ServiceController.update), checked after the lookup as Nova does. */
static int check_v253(struct svc_ctx *c, struct nl_error *err)
{
	const struct service_in *in = c->in;
	if (in->status.set) {
		c->set_disabled = true;
		c->disabled = !strcmp(in->status.v, "disabled");
		if (!c->disabled && in->disabled_reason.set) {
			nl_err_set(err, 400, "Specifying 'disabled_reason' with status 'enabled' is invalid.");
			return -1;
		}
		c->reason = c->disabled && in->disabled_reason.set ? in->disabled_reason.v : NULL;
	}
	if (in->forced_down.set) {
		c->set_forced = true;
		c->forced = in->forced_down.v;
	}
	if (!c->set_disabled && !c->set_forced) {
		nl_err_set(err, 400, "No updates were requested. Fields 'status' or 'forced_down' should be specified.");
		return -1;
	}
	return 0;
}

/* The compute host the request names, or NULL after the 404. */
static json_t *lookup(const struct svc_ctx *c, struct nl_error *err)
{
	json_t *row = db_hosts_get(c->key, c->id);
	if (!row)
		nl_err_set(err, 404, c->not_found, c->shown);
	return row;
}

static int update_tx(void *p, struct nl_error *err)
{
	struct svc_ctx *c = p;
	json_t *row = lookup(c, err);
	int rc = -1;
	json_decref(c->row);   /* from an attempt whose commit was busy */
	c->row = NULL;
	if (!row)
		return -1;
	if (c->in && check_v253(c, err))
		goto out;
	bool disabled = c->set_disabled ? c->disabled : num(row, "disabled") != 0;
	const char *reason = c->set_disabled ? c->reason : str(row, "disabled_reason");
	bool forced = c->set_forced ? c->forced : num(row, "forced_down") != 0;
	if (db_host_set_service(num(row, "id"), disabled, reason, forced, nl_now_us(), err))
		goto out;
	c->row = db_hosts_get(HOST_BY_UUID, str(row, "uuid"));
	rc = 0;
out:
	json_decref(row);
	return rc;
}

/* PUT /os-services/{uuid} (2.53+). */
int compute_service_update(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *id = req_param(r, 0);
	const struct builtin *b;
	struct svc_ctx c = { .key = HOST_BY_UUID, .id = id, .not_found = "Service %s could not be found.",
			     .shown = id, .in = r->input };

	if (!nl_is_uuid_like(id)) {
		nl_err_set(err, 400, "Invalid uuid %s", id);
		return -1;
	}
	if ((b = builtin_by(id, 0)))
		return not_updatable(b->binary, err);
	if (db_tx_run(update_tx, &c, err))
		return -1;
	json_t *svc = service_of_host(c.row);
	resp_json(out, 200, json_pack("{s:o}", "service", service_view(svc, r->mv, true)));
	json_decref(svc);
	json_decref(c.row);
	return 0;
}

/* PUT /os-services/{enable,disable,disable-log-reason,force-down} (before 2.53): the
 * body names the service by host and binary; the answer echoes what was set. */
int compute_service_action(struct req *r, struct resp *out, struct nl_error *err)
{
	const struct service_in *in = r->input;
	const char *action = req_param(r, 0);
	struct svc_ctx c = { .key = HOST_BY_NAME, .id = in->host.v, .shown = in->host.v,
			     .not_found = "Host '%s' is not mapped to any cell" };
	json_t *svc;

	if (!strcmp(action, "enable") || !strcmp(action, "disable")) {
		c.set_disabled = true;
		c.disabled = action[0] == 'd';
	} else if (!strcmp(action, "disable-log-reason")) {
		if (!in->disabled_reason.set) {
			nl_err_set(err, 400, "Missing disabled reason field");
			return -1;
		}
		c.set_disabled = c.disabled = true;
		c.reason = in->disabled_reason.v;
	} else if (r->mv >= 11 && !strcmp(action, "force-down")) {
		if (!in->forced_down.set) {
			nl_err_set(err, 400, "Missing forced_down field");
			return -1;
		}
		c.set_forced = true;
		c.forced = in->forced_down.v;
	} else {
		nl_err_set(err, 404, "Unknown action");
		return -1;
	}
	if (strcmp(in->binary.v, "nova-compute"))
		return not_updatable(in->binary.v, err);
	if (db_tx_run(update_tx, &c, err))
		return -1;
	json_decref(c.row);
	svc = json_pack("{s:s, s:s}", "host", in->host.v, "binary", in->binary.v);
	if (c.set_forced) {
		json_object_set_new(svc, "forced_down", json_boolean(c.forced));
	} else {
		json_object_set_new(svc, "status", json_string(c.disabled ? "disabled" : "enabled"));
		if (c.reason)
			json_object_set_new(svc, "disabled_reason", json_string(c.reason));
	}
	resp_json(out, 200, json_pack("{s:o}", "service", svc));
	return 0;
}

/* ---- delete ---- */
static int delete_tx(void *p, struct nl_error *err)
{
	struct svc_ctx *c = p;
	json_t *row = lookup(c, err);
	int rc = -1;
	if (!row)
		return -1;
	/* Instances would be orphaned (and their resources forgotten) with the host. */
	if (db_host_instance_count(str(row, "host")) > 0)
		nl_err_set(err, 409, "Unable to delete compute service that is hosting instances. Migrate or delete "
			   "the instances first.");
	else
		rc = db_host_delete(num(row, "id"), str(row, "host"), err);
	json_decref(row);
	return rc;
}

int compute_service_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *id = req_param(r, 0);
	const struct builtin *b;
	char rowid[32];
	long long n = 0;
	struct svc_ctx c = { .key = HOST_BY_UUID, .id = id, .shown = id, .not_found = "Service %s not found." };

	if (r->mv >= 53 && !nl_is_uuid_like(id)) {
		nl_err_set(err, 400, "Invalid uuid %s", id);
		return -1;
	}
	if (r->mv < 53) {
		if (!path_int(id, &n)) {
			nl_err_set(err, 400, "Invalid input received: id must be an integer");
			return -1;
		}
		snprintf(rowid, sizeof(rowid), "%lld", n - NBUILTIN);
		c.key = HOST_BY_ID;
		c.id = rowid;
	}
	if ((b = builtin_by(r->mv >= 53 ? id : NULL, n))) {
		nl_err_set(err, 400, "Deleting a %s service is not supported. Only nova-compute services can be deleted.",
			   b->binary);
		return -1;
	}
	if (db_tx_run(delete_tx, &c, err))
		return -1;
	out->status = 204;
	return 0;
}

/* ---- helpers shared by the admin views ---- */
bool query_bool(const struct req *r, const char *name)
{
	const char *v = req_query(r, name);
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes"));
}

bool path_int(const char *s, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return *s && !*end && !errno;
}

/* Python's urllib.parse.quote_plus(). */
static void url_quote(const char *s, char *buf, size_t len)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("_.-~", *p))
			buf[n++] = (char)*p;
		else if (*p == ' ')
			buf[n++] = '+';
		else
			n += (size_t)snprintf(buf + n, len - n, "%%%02X", *p);
	}
	buf[n] = '\0';
}

static void collect_param(const char *key, const char *value, void *ctx)
{
	if (strcmp(key, "marker") && !json_object_get(ctx, key))
		json_object_set_new(ctx, key, json_string(value ? value : ""));
}

static int cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

json_t *next_link(const struct req *r, const char *collection, size_t n, const char *last_id)
{
	const char *limit = req_query(r, "limit"), *keys[64];
	long long max = limit ? strtoll(limit, NULL, 10) : 1000;
	char href[4096], part[1024];
	size_t nk = 0, used;
	json_t *params, *v;
	const char *k;

	if (max > 1000)
		max = 1000;
	if (!max || (long long)n != max)
		return NULL;
	params = json_object();
	req_query_each(r, collect_param, params);
	json_object_set_new(params, "marker", json_string(last_id));
	json_object_foreach(params, k, v)
		if (nk < 64)
			keys[nk++] = k;
	qsort(keys, nk, sizeof(keys[0]), cmp_key);
	used = (size_t)snprintf(href, sizeof(href), "%s/v2.1/%s", service_base_url(SVC_COMPUTE), collection);
	for (size_t i = 0; i < nk && used < sizeof(href); i++) {
		char qk[256];
		url_quote(keys[i], qk, sizeof(qk));
		url_quote(json_string_value(json_object_get(params, keys[i])), part, sizeof(part));
		used += (size_t)snprintf(href + used, sizeof(href) - used, "%c%s=%s", i ? '&' : '?', qk, part);
	}
	json_decref(params);
	return json_pack("[{s:s, s:s}]", "rel", "next", "href", href);
}
