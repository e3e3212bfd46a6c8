/* GET /servers, /servers/detail (Nova's filters, sorting and paging), GET, PUT and
 * DELETE /servers/{id}. Filters are applied to the project's rows in C: the row set of
 * one project is small, and Nova's filters (regexes, tags, status names) do not map
 * onto portable SQL. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/compute/servers.h"
#include "api/handlers.h"
#include "api/internal/internal.h"
#include "common/config.h"
#include "common/jbuf.h"
#include "common/util.h"
#include "db/db.h"
#include "db/servers.h"

#define S(row, k) json_string_value(json_object_get(row, k))
#define I(row, k) json_integer_value(json_object_get(row, k))
#define DEFAULT_AZ "nova"
#define MAX_LIMIT 1000

/* Parses Nova's changes-since / changes-before timestamps (ISO 8601, optional
 * fraction and zone). Returns µs since the epoch, or -1. */
static int64_t parse_ts(const char *s)
{
	struct tm tm = { 0 };
	char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (!end || *end)
			return -1;
	}
	int64_t us = 0;
	if (*end == '.') {
		int64_t scale = 100000;
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			us += (*end - '0') * scale;
	}
	int64_t off = 0;
	if (*end == 'Z') {
		end++;
	} else if (*end == '+' || *end == '-') {
		int h = 0, m = 0;
		if (sscanf(end + 1, "%2d:%2d", &h, &m) < 1)
			return -1;
		off = (int64_t)(h * 3600 + m * 60) * (*end == '-' ? -1 : 1);
		end += strlen(end);
	}
	if (*end)
		return -1;
	return ((int64_t)timegm(&tm) - off) * 1000000 + us;
}

struct filters {
	bool all_projects, admin;
	const char *project, *name, *status, *host, *image, *flavor, *reservation, *ip, *az, *key_name, *user;
	const char *tags, *tags_any, *not_tags, *not_tags_any, *locked;
	int64_t since, before;
	bool deleted;
	regex_t name_re, ip_re;
	bool has_name_re, has_ip_re;
};

/* True when every tag of the comma list is (all) / any is in tags. */
static bool tag_match(json_t *tags, const char *list, bool all)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", list);
	bool any_found = false;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool found = false;
		size_t i;
		json_t *x;
		json_array_foreach(tags, i, x) found |= !strcmp(json_string_value(x), t);
		if (all && !found)
			return false;
		any_found |= found;
	}
	return all ? true : any_found;
}

static bool row_matches(const struct filters *f, json_t *row, json_t *tags)
{
	if (f->has_name_re && regexec(&f->name_re, S(row, "display_name"), 0, NULL, 0))
		return false;
	if (f->status && strcasecmp(server_status(S(row, "vm_state"), S(row, "task_state")), f->status))
		return false;
	if (f->host && (!S(row, "host") || strcmp(S(row, "host"), f->host)))
		return false;
	if (f->image && strcmp(S(row, "image_ref"), f->image))
		return false;
	if (f->flavor && strcmp(S(row, "flavor_id"), f->flavor))
		return false;
	if (f->reservation && strcmp(S(row, "reservation_id"), f->reservation))
		return false;
	if (f->key_name && (!S(row, "key_name") || strcmp(S(row, "key_name"), f->key_name)))
		return false;
	if (f->user && strcmp(S(row, "user_id"), f->user))
		return false;
	if (f->has_ip_re && (!S(row, "fixed_ip") || regexec(&f->ip_re, S(row, "fixed_ip"), 0, NULL, 0)))
		return false;
	if (f->since >= 0 && I(row, "updated_at") < f->since)
		return false;
	if (f->before >= 0 && I(row, "updated_at") > f->before)
		return false;
	if (f->az) {
		char *az = S(row, "host") ? db_host_az(S(row, "host"), DEFAULT_AZ) : NULL;
		bool ok = az && !strcmp(az, f->az);
		free(az);
		if (!ok)
			return false;
	}
	if (f->locked && (I(row, "locked") != 0) != (!strcasecmp(f->locked, "true") || !strcmp(f->locked, "1")))
		return false;
	if (f->deleted != (I(row, "deleted") != 0) && f->since < 0 && f->before < 0)
		return false;
	if (f->tags && !tag_match(tags, f->tags, true))
		return false;
	if (f->tags_any && !tag_match(tags, f->tags_any, false))
		return false;
	if (f->not_tags && tag_match(tags, f->not_tags, true))
		return false;
	if (f->not_tags_any && tag_match(tags, f->not_tags_any, false))
		return false;
	return true;
}

static const char *q(const struct req *r, const char *k)
{
	const char *v = req_query(r, k);
	return v && *v ? v : NULL;
}

static bool qbool(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

static int parse_filters(const struct req *r, struct filters *f, struct nl_error *err)
{
	memset(f, 0, sizeof(*f));
	f->since = f->before = -1;
	f->admin = auth_is_admin(&r->auth);
	const char *all = q(r, "all_tenants");
	if (!all && req_query(r, "all_tenants"))
		all = "true";   /* ?all_tenants with no value means true */
	f->all_projects = f->admin && all && (qbool(all) || !strcmp(all, "all_tenants"));
	if (all && !qbool(all) && strcmp(all, "0") && strcasecmp(all, "false") && strcmp(all, "all_tenants")) {
		nl_err_set(err, 400, "Invalid input for query parameters all_tenants. Value: %s. '%s' is not one of "
			   "['True', 'true', 'False', 'false', '1', '0', 'yes', 'no', 'on', 'off']", all, all);
		return -1;
	}
	/* Admin-only filters are dropped for others, as Nova does. */
	if (f->admin) {
		f->project = q(r, "project_id") ? q(r, "project_id") : q(r, "tenant_id");
		if (f->project)
			f->all_projects = true;
		f->host = q(r, "host");
		f->user = q(r, "user_id");
		f->deleted = qbool(q(r, "deleted"));
	}
	f->name = q(r, "name");
	f->status = q(r, "status");
	f->image = q(r, "image");
	f->flavor = q(r, "flavor");
	f->reservation = q(r, "reservation_id");
	f->az = q(r, "availability_zone");
	f->key_name = f->admin ? q(r, "key_name") : NULL;
	if (r->mv >= 26) {
		f->tags = q(r, "tags");
		f->tags_any = q(r, "tags-any");
		f->not_tags = q(r, "not-tags");
		f->not_tags_any = q(r, "not-tags-any");
	}
	if (r->mv >= 73)
		f->locked = q(r, "locked");
	if (f->name) {
		if (regcomp(&f->name_re, f->name, REG_EXTENDED | REG_NOSUB)) {
			nl_err_set(err, 400, "Invalid input received: name filter is not a valid regular expression.");
			return -1;
		}
		f->has_name_re = true;
	}
	const char *ip = q(r, "ip");
	if (ip) {
		if (regcomp(&f->ip_re, ip, REG_EXTENDED | REG_NOSUB)) {
			nl_err_set(err, 400, "Invalid input received: ip filter is not a valid regular expression.");
			return -1;
		}
		f->has_ip_re = true;
	}
	const char *since = q(r, "changes-since"), *before = r->mv >= 66 ? q(r, "changes-before") : NULL;
	if (since && (f->since = parse_ts(since)) < 0) {
		nl_err_set(err, 400, "Invalid input for query parameters changes-since. Value: %s. '%s' is not a "
			   "'date-time'", since, since);
		return -1;
	}
	if (before && (f->before = parse_ts(before)) < 0) {
		nl_err_set(err, 400, "Invalid input for query parameters changes-before. Value: %s. '%s' is not a "
			   "'date-time'", before, before);
		return -1;
	}
	if (f->since >= 0 && f->before >= 0 && f->since > f->before) {
		nl_err_set(err, 400, "The value of changes-since must be less than or equal to changes-before.");
		return -1;
	}
	return 0;
}

static void free_filters(struct filters *f)
{
	if (f->has_name_re)
		regfree(&f->name_re);
	if (f->has_ip_re)
		regfree(&f->ip_re);
}

/* Sort keys Nova accepts that we hold, and their columns. */
static const char *const sort_cols[][2] = {
	{ "created_at", "created_at" }, { "updated_at", "updated_at" }, { "display_name", "display_name" },
	{ "uuid", "uuid" }, { "vm_state", "vm_state" }, { "task_state", "task_state" },
	{ "power_state", "power_state" }, { "host", "host" }, { "node", "node" }, { "hostname", "hostname" },
	{ "launched_at", "launched_at" }, { "terminated_at", "terminated_at" }, { "key_name", "key_name" },
	{ "locked", "locked" }, { "project_id", "project_id" }, { "user_id", "user_id" },
	{ "image_ref", "image_ref" }, { "instance_type_id", "flavor_id" }, { "display_description",
	"display_description" }, { "availability_zone", "availability_zone" }, { "launch_index", "launch_index" },
	{ "reservation_id", "reservation_id" }, { "id", "id" },
};
struct sort_by { const char *col; bool desc; };

static int cmp_rows(const void *a, const void *b, void *ctx)
{
	const struct sort_by *by = ctx;
	json_t *x = json_object_get(*(json_t *const *)a, by->col), *y = json_object_get(*(json_t *const *)b, by->col);
	int c;
	if (json_is_integer(x) && json_is_integer(y))
		c = json_integer_value(x) < json_integer_value(y) ? -1 : json_integer_value(x) > json_integer_value(y);
	else if (json_is_string(x) && json_is_string(y))
		c = strcmp(json_string_value(x), json_string_value(y));
	else
		c = json_is_null(x) ? (json_is_null(y) ? 0 : -1) : 1;
	if (!c)
		c = I(*(json_t *const *)a, "id") < I(*(json_t *const *)b, "id") ? -1 : 1;
	return by->desc ? -c : c;
}

static int sort_rows(const struct req *r, json_t *rows, struct nl_error *err)
{
	const char *key = q(r, "sort_key"), *dir = q(r, "sort_dir");
	const char *col = NULL;
	if (!key && !dir)
		return 0;   /* the DB order: created_at DESC, id DESC */
	if (!key)
		key = "created_at";
	for (size_t i = 0; i < sizeof(sort_cols) / sizeof(sort_cols[0]); i++)
		if (!strcmp(sort_cols[i][0], key))
			col = sort_cols[i][1];
	if (!col) {
		nl_err_set(err, 400, "Invalid input for query parameters sort_key. Value: %s. '%s' is not one of the "
			   "allowed sort keys", key, key);
		return -1;
	}
	if (dir && strcmp(dir, "asc") && strcmp(dir, "desc")) {
		nl_err_set(err, 400, "Invalid input for query parameters sort_dir. Value: %s. '%s' is not one of "
			   "['asc', 'desc']", dir, dir);
		return -1;
	}
	size_t n = json_array_size(rows);
	json_t **v = nl_calloc(n + 1, sizeof(json_t *));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(rows, i));
	struct sort_by by = { col, !dir || !strcmp(dir, "desc") };
	qsort_r(v, n, sizeof(json_t *), cmp_rows, &by);
	json_array_clear(rows);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, v[i]);
	free(v);
	return 0;
}

/* Per-host facts a detail list shows (AZ, host status), looked up once per host. */
static json_t *host_facts(const struct req *r, json_t *cache, const char *host, int64_t now)
{
	json_t *f = json_object_get(cache, host);
	if (f)
		return f;
	/* host_status is shown to admins from 2.16 only: skip its query otherwise. */
	json_t *h = r->mv >= 16 && auth_is_admin(&r->auth) ? db_host_get(host) : NULL;
	char *az = db_host_az(host, DEFAULT_AZ);
	f = json_pack("{s:s, s:s}", "az", az, "status", server_host_status(h, now));
	free(az);
	json_decref(h);
	json_object_set_new(cache, host, f);
	return f;
}

/* Hands a written JSON document to the response (the dispatcher sends and frees it). */
static void resp_text_json(struct resp *out, int status, struct jbuf *b)
{
	out->status = status;
	out->raw = jb_steal(b, &out->raw_len);
	out->content_type = "application/json";
}

static void detail_view(struct jbuf *b, const struct req *r, json_t *row, json_t *meta, json_t *tags,
			json_t *fault, json_t *groups, json_t *cache, bool minimal)
{
	struct server_extras x = { meta, tags, fault, groups, NULL, NULL, minimal };
	if (S(row, "host")) {
		json_t *f = host_facts(r, cache, S(row, "host"), nl_now_us());
		x.az = S(f, "az");
		x.host_status = S(f, "status");
	} else {
		x.az = S(row, "availability_zone") ? S(row, "availability_zone") : "";
		x.host_status = "";
	}
	server_view_write(b, r, row, &x);
}

static int list(struct req *r, struct resp *out, struct nl_error *err, bool detail)
{
	struct filters f;
	long long limit = MAX_LIMIT;
	bool has_limit;
	const char *marker = q(r, "marker");
	int rc = -1;
	json_t *rows = NULL, *meta = NULL, *tags = NULL, *faults = NULL, *cache = json_object();
	struct jbuf b = { 0 };

	if (compute_query_int(r, "limit", 0, &limit, &has_limit, err))
		goto out_nofilters;
	if (parse_filters(r, &f, err))
		goto out;   /* frees the regexes compiled before the failure */
	if (limit > MAX_LIMIT)
		limit = MAX_LIMIT;
	rows = db_server_list(f.all_projects ? f.project : r->auth.project_id,
			      f.deleted || f.since >= 0 || f.before >= 0);
	if (sort_rows(r, rows, err))
		goto out;
	size_t n = json_array_size(rows);
	int64_t lo = INT64_MAX, hi = 0;
	json_t *row;
	size_t i;
	json_array_foreach(rows, i, row) {
		int64_t id = I(row, "id");
		lo = id < lo ? id : lo;
		hi = id > hi ? id : hi;
	}
	bool need_tags = f.tags || f.tags_any || f.not_tags || f.not_tags_any || (detail && r->mv >= 26);
	if (n) {
		meta = detail ? db_server_metadata_range(lo, hi) : NULL;
		tags = need_tags ? db_server_tags_range(lo, hi) : NULL;
		faults = detail ? db_server_faults_range(lo, hi) : NULL;
	}
	size_t start = 0;
	if (marker) {
		bool found = false;
		json_array_foreach(rows, i, row) {
			if (!strcmp(S(row, "uuid"), marker)) {
				start = i + 1;
				found = true;
				break;
			}
		}
		if (!found) {
			nl_err_set(err, 400, "marker [%s] not found", marker);
			goto out;
		}
	}
	json_t *empty_tags = json_array();
	json_t *last = NULL;
	long long shown = 0;
	jb_init(&b, detail ? 1600 * (n - start) + 64 : 200 * (n - start) + 64);
	jb_obj(&b);
	jb_key(&b, "servers");
	jb_arr(&b);
	for (i = start; i < n && shown < limit; i++) {
		char key[32];
		row = json_array_get(rows, i);
		snprintf(key, sizeof(key), "%lld", (long long)I(row, "id"));
		json_t *t = tags ? json_object_get(tags, key) : NULL;
		if (!row_matches(&f, row, t ? t : empty_tags))
			continue;
		if (detail)
			detail_view(&b, r, row, json_object_get(meta, key), t ? t : empty_tags,
				    json_object_get(faults, key), NULL, cache, false);
		else
			server_view_basic_write(&b, row);
		shown++;
		last = row;
	}
	json_decref(empty_tags);
	jb_arr_end(&b);
	if (has_limit && last && shown == limit && i < n) {
		jb_key(&b, "servers_links");
		jb_arr(&b);
		jb_obj(&b);
		jb_key(&b, "rel");
		jb_str(&b, "next");
		jb_key(&b, "href");
		jb_strf(&b, "%s/v2.1/servers%s?limit=%lld&marker=%s", service_base_url(SVC_COMPUTE),
			detail ? "/detail" : "", limit, S(last, "uuid"));
		jb_obj_end(&b);
		jb_arr_end(&b);
	}
	jb_obj_end(&b);
	resp_text_json(out, 200, &b);
	rc = 0;
out:
	free_filters(&f);
out_nofilters:
	jb_free(&b);
	json_decref(rows);
	json_decref(meta);
	json_decref(tags);
	json_decref(faults);
	json_decref(cache);
	return rc;
}

int server_list(struct req *r, struct resp *out, struct nl_error *err) { return list(r, out, err, false); }
int server_detail(struct req *r, struct resp *out, struct nl_error *err) { return list(r, out, err, true); }

/* {"server": <the full view>}, with its sub-resources (show, update responses). */
static void full_view(struct jbuf *b, const struct req *r, json_t *row, bool groups, bool minimal)
{
	int64_t id = I(row, "id");
	const char *vm = S(row, "vm_state");
	/* Tags exist from 2.26; a fault is shown only in ERROR and DELETED. */
	json_t *meta = db_server_metadata(id), *tags = r->mv >= 26 ? db_server_tags(id) : NULL;
	json_t *fault = !strcmp(vm, "error") || !strcmp(vm, "deleted") ? db_server_fault(id) : NULL;
	json_t *g = groups && r->mv >= 71 ? db_server_groups_of(S(row, "uuid")) : NULL, *cache = json_object();
	jb_init(b, 2048);
	jb_obj(b);
	jb_key(b, "server");
	detail_view(b, r, row, meta, tags, fault, g, cache, minimal);
	jb_obj_end(b);
	json_decref(meta);
	json_decref(tags);
	json_decref(fault);
	json_decref(g);
	json_decref(cache);
}

int server_show(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err);
	if (!row)
		return -1;
	struct jbuf b;
	full_view(&b, r, row, true, false);
	resp_text_json(out, 200, &b);
	json_decref(row);
	return 0;
}

struct update_ctx { int64_t id; const struct server_in *in; };

static int update_tx(void *p, struct nl_error *err)
{
	struct update_ctx *c = p;
	const struct server_in *in = c->in;
	return db_server_update_fields(c->id, in->name.set ? in->name.v : NULL,
				       in->description.set && !in->description.null ? in->description.v : NULL,
				       in->description.set, in->access_ip_v4.set ? in->access_ip_v4.v : NULL,
				       in->access_ip_v6.set ? in->access_ip_v6.v : NULL,
				       in->hostname.set ? in->hostname.v : NULL, nl_now_us(), err);
}

int server_update(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err);
	struct update_ctx c;
	if (!row)
		return -1;
	c.id = I(row, "id");
	c.in = r->input;
	json_decref(row);
	if (db_tx_run(update_tx, &c, err))
		return -1;
	row = db_server_get_by_id(c.id);
	/* Before 2.75 the update response leaves the extended attributes out (Nova's
	 * show_all_attributes); from 2.75 it is the show view. */
	struct jbuf b;
	full_view(&b, r, row, true, r->mv < 75);
	resp_text_json(out, 200, &b);
	json_decref(row);
	return 0;
}

/* ---- delete: an action and a task, or immediate when the server never reached a host ---- */
struct delete_ctx { const struct req *r; int64_t id; const char *uuid, *host, *vm, *action; };

static int delete_tx(void *p, struct nl_error *err)
{
	struct delete_ctx *c = p;
	int64_t now = nl_now_us();
	int64_t action = db_action_start(c->uuid, c->action, c->r->request_id, c->r->auth.user_id,
					 c->r->auth.project_id, now, err);
	if (action < 0)
		return -1;
	if (!c->host)
		return db_server_soft_delete(c->id, now, err);
	if (db_server_set_state(c->id, NULL, "*", c->vm, "deleting", -1, now, err) < 0)
		return -1;
	return db_action_event_start(action, "compute_terminate_instance", c->host, NULL, now, err) < 0 ||
	       db_task_insert(c->host, c->uuid, "delete", action, NULL, now, err) < 0 ? -1 : 0;
}

int server_delete_common(struct req *r, json_t *row, const char *action, struct nl_error *err)
{
	struct delete_ctx c = { r, I(row, "id"), S(row, "uuid"), S(row, "host"), S(row, "vm_state"), action };
	if (server_check_lock(r, row, err))
		return -1;
	if (db_tx_run(delete_tx, &c, err))
		return -1;
	internal_tasks_notify();
	return 0;
}

int server_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *row = server_lookup(r, req_param(r, 0), err);
	int rc;
	if (!row)
		return -1;
	rc = server_delete_common(r, row, "delete", err);
	json_decref(row);
	if (!rc)
		out->status = 204;
	return rc;
}
