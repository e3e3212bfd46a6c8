/* /v2.1/limits, /os-quota-sets, /os-quota-class-sets.
 *
 * One table lists every quota resource, its default, and the microversions at which
 * it leaves each view; show, update, detail, defaults, classes and limits all read it.
 * Effective limit = project row, else "default" class row, else the config default. */
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "api/compute/compute.h"
#include "api/handlers.h"
#include "common/config.h"
#include "db/compute.h"
#include "db/servers.h"
#include "db/db.h"
#include "db/identity.h"

struct qres {
	const char *name;
	size_t cfg;          /* offsetof(struct nl_config, ...), or 0 with a fixed default */
	int fixed_default;
	int set_removed;     /* quota-set views drop it from this microversion (0 = never) */
	int class_added;     /* quota-class views show it from this microversion */
	int class_removed;
	size_t in;           /* offsetof(struct quota_in, ...) */
	const char *limit_key;     /* /limits "max..." name, or NULL */
};

#define CFG(f) offsetof(struct nl_config, f)
#define IN(f) offsetof(struct quota_in, f)
static const struct qres resources[] = {
	{ "instances", CFG(quota_instances), 0, 0, 1, 0, IN(instances), "maxTotalInstances" },
	{ "cores", CFG(quota_cores), 0, 0, 1, 0, IN(cores), "maxTotalCores" },
	{ "ram", CFG(quota_ram), 0, 0, 1, 0, IN(ram), "maxTotalRAMSize" },
	{ "metadata_items", CFG(quota_metadata_items), 0, 0, 1, 0, IN(metadata_items), "maxServerMeta" },
	{ "key_pairs", CFG(quota_key_pairs), 0, 0, 1, 0, IN(key_pairs), "maxTotalKeypairs" },
	{ "server_groups", CFG(quota_server_groups), 0, 0, 50, 0, IN(server_groups), "maxServerGroups" },
	{ "server_group_members", CFG(quota_server_group_members), 0, 0, 50, 0, IN(server_group_members),
	  "maxServerGroupMembers" },
	{ "injected_files", CFG(quota_injected_files), 0, 57, 1, 57, IN(injected_files), "maxPersonality" },
	{ "injected_file_content_bytes", CFG(quota_injected_file_content_bytes), 0, 57, 1, 57,
	  IN(injected_file_content_bytes), "maxPersonalitySize" },
	{ "injected_file_path_bytes", CFG(quota_injected_file_path_bytes), 0, 57, 1, 57, IN(injected_file_path_bytes), NULL },
	/* nova-network era resources: fixed values, gone at 2.36 (sets) and 2.50 (classes). */
	{ "fixed_ips", 0, -1, 36, 1, 50, IN(fixed_ips), NULL },
	{ "floating_ips", 0, 10, 36, 1, 50, IN(floating_ips), "maxTotalFloatingIps" },
	{ "security_groups", 0, 10, 36, 1, 50, IN(security_groups), "maxSecurityGroups" },
	{ "security_group_rules", 0, 20, 36, 1, 50, IN(security_group_rules), "maxSecurityGroupRules" },
};
#define NRES (sizeof(resources) / sizeof(resources[0]))

static bool in_set_view(const struct qres *q, int mv) { return !q->set_removed || mv < q->set_removed; }
static bool in_class_view(const struct qres *q, int mv)
{
	return mv >= q->class_added && (!q->class_removed || mv < q->class_removed);
}

static long long config_default(const struct qres *q)
{
	return q->cfg ? *(const int *)((const char *)&g_config + q->cfg) : q->fixed_default;
}

/* Effective limit for each resource in one object: project, else class "default", else config. */
static json_t *effective(const char *project_id)
{
	json_t *proj = project_id ? db_quota_get(project_id) : json_object();
	json_t *cls = db_quota_class_get("default");
	json_t *o = json_object();
	for (size_t i = 0; i < NRES; i++) {
		json_t *v = json_object_get(proj, resources[i].name);
		if (!v)
			v = json_object_get(cls, resources[i].name);
		json_object_set_new(o, resources[i].name, v ? json_integer(json_integer_value(v)) :
				    json_integer(config_default(&resources[i])));
	}
	json_decref(proj);
	json_decref(cls);
	return o;
}

/* In-use counts of a project (key pairs: of the requesting user, as Nova counts them). */
static long long in_use(const char *resource, const char *project_id, const struct req *r)
{
	struct server_usage u;
	if (!strcmp(resource, "key_pairs"))
		return db_keypair_count(r->auth.user_id);
	if (!strcmp(resource, "server_groups"))
		return db_server_group_count(project_id);
	if (strcmp(resource, "instances") && strcmp(resource, "cores") && strcmp(resource, "ram"))
		return 0;
	db_server_usage(project_id, &u);
	return !strcmp(resource, "instances") ? u.instances : !strcmp(resource, "cores") ? u.cores : u.ram;
}

static json_t *set_view(const char *id, json_t *limits, int mv, bool with_id, bool detail, const struct req *r)
{
	json_t *o = json_object();
	if (with_id)
		json_object_set_new(o, "id", json_string(id));
	for (size_t i = 0; i < NRES; i++) {
		const struct qres *q = &resources[i];
		if (!in_set_view(q, mv))
			continue;
		json_t *lim = json_object_get(limits, q->name);
		if (detail)
			json_object_set_new(o, q->name, json_pack("{s:O, s:i, s:I}", "limit", lim, "reserved", 0,
								  "in_use", (json_int_t)in_use(q->name, id, r)));
		else
			json_object_set(o, q->name, lim);
	}
	return o;
}

/* Policy "project_reader_or_admin" with the URL's project as target. */
static int own_or_admin(const struct req *r, const char *project_id, const char *rule, struct nl_error *err)
{
	if (auth_is_admin(&r->auth) || !strcmp(project_id, r->auth.project_id))
		return 0;
	nl_err_set(err, 403, "Policy doesn't allow %s to be performed.", rule);
	return -1;
}

int quota_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *pid = req_param(r, 0);
	if (own_or_admin(r, pid, "os_compute_api:os-quota-sets:show", err))
		return -1;
	json_t *lim = effective(pid);
	resp_json(out, 200, json_pack("{s:o}", "quota_set", set_view(pid, lim, r->mv, true, false, r)));
	json_decref(lim);
	return 0;
}

int quota_detail(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *pid = req_param(r, 0);
	if (own_or_admin(r, pid, "os_compute_api:os-quota-sets:detail", err))
		return -1;
	json_t *lim = effective(pid);
	resp_json(out, 200, json_pack("{s:o}", "quota_set", set_view(pid, lim, r->mv, true, true, r)));
	json_decref(lim);
	return 0;
}

int quota_defaults(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	json_t *lim = effective(NULL);
	resp_json(out, 200, json_pack("{s:o}", "quota_set", set_view(req_param(r, 0), lim, r->mv, true, false, r)));
	json_decref(lim);
	return 0;
}

/* ---- updates ---- */
#define Q struct quota_in
#define QV(member, key) FIELD(Q, member, key, SPEC_INT, SPEC_INT_STRING | SPEC_SIGNED | BOUNDED, LEN(-1, 0x7FFFFFFF))
#define Q_ALWAYS QV(instances, "instances"), QV(cores, "cores"), QV(ram, "ram"), \
	QV(metadata_items, "metadata_items"), QV(key_pairs, "key_pairs")
#define Q_GROUPS QV(server_groups, "server_groups"), QV(server_group_members, "server_group_members")
#define Q_FILES QV(injected_files, "injected_files"), QV(injected_file_content_bytes, "injected_file_content_bytes"), \
	QV(injected_file_path_bytes, "injected_file_path_bytes")
#define Q_NET QV(fixed_ips, "fixed_ips"), QV(floating_ips, "floating_ips"), QV(security_groups, "security_groups"), \
	QV(security_group_rules, "security_group_rules"), QV(networks, "networks")
#define Q_FORCE FIELD(Q, force, "force", SPEC_BOOL, SPEC_BOOL_STRING)
static const struct field_spec qs_v21[] = { Q_ALWAYS, Q_GROUPS, Q_FILES, Q_NET, Q_FORCE, SPEC_END_ROW };
static const struct field_spec qs_v236[] = { Q_ALWAYS, Q_GROUPS, Q_FILES, Q_FORCE, SPEC_END_ROW };
static const struct field_spec qs_v257[] = { Q_ALWAYS, Q_GROUPS, Q_FORCE, SPEC_END_ROW };
static const struct field_spec qc_v21[] = { Q_ALWAYS, Q_FILES, Q_NET, SPEC_END_ROW };
static const struct field_spec qc_v250[] = { Q_ALWAYS, Q_GROUPS, Q_FILES, SPEC_END_ROW };
static const struct field_spec qc_v257[] = { Q_ALWAYS, Q_GROUPS, SPEC_END_ROW };
const struct field_spec quota_update_v21[] = { WRAPPER("quota_set", SPEC_REQUIRED | SPEC_NO_EXTRA, qs_v21), SPEC_END_ROW };
const struct field_spec quota_update_v236[] = { WRAPPER("quota_set", SPEC_REQUIRED | SPEC_NO_EXTRA, qs_v236), SPEC_END_ROW };
const struct field_spec quota_update_v257[] = { WRAPPER("quota_set", SPEC_REQUIRED | SPEC_NO_EXTRA, qs_v257), SPEC_END_ROW };
const struct field_spec quota_class_update_v21[] = { WRAPPER("quota_class_set", SPEC_REQUIRED | SPEC_NO_EXTRA, qc_v21), SPEC_END_ROW };
const struct field_spec quota_class_update_v250[] = { WRAPPER("quota_class_set", SPEC_REQUIRED | SPEC_NO_EXTRA, qc_v250), SPEC_END_ROW };
const struct field_spec quota_class_update_v257[] = { WRAPPER("quota_class_set", SPEC_REQUIRED | SPEC_NO_EXTRA, qc_v257), SPEC_END_ROW };
#undef Q

struct quota_ctx { const char *target; const struct quota_in *in; bool is_class; };

static int update_tx(void *p, struct nl_error *err)
{
	struct quota_ctx *c = p;
	if (!c->is_class) {
		json_t *proj = db_project_get(c->target);
		if (!proj) {
			nl_err_set(err, 400, "Project ID %s is not a valid project.", c->target);
			return -1;
		}
		json_decref(proj);
	}
	for (size_t i = 0; i < NRES; i++) {
		const spec_int_t *v = (const spec_int_t *)((const char *)c->in + resources[i].in);
		if (!v->set)
			continue;
		if (c->is_class ? db_quota_class_set(c->target, resources[i].name, v->v, err) :
		    db_quota_set(c->target, resources[i].name, v->v, err))
			return -1;
	}
	return 0;
}

int quota_update(struct req *r, struct resp *out, struct nl_error *err)
{
	struct quota_ctx c = { req_param(r, 0), r->input, false };
	if (db_tx_run(update_tx, &c, err))
		return -1;
	json_t *lim = effective(c.target);
	resp_json(out, 200, json_pack("{s:o}", "quota_set", set_view(c.target, lim, r->mv, false, false, r)));
	json_decref(lim);
	return 0;
}

static int delete_tx(void *p, struct nl_error *err) { return db_quota_delete(p, err); }

int quota_delete(struct req *r, struct resp *out, struct nl_error *err)
{
	if (db_tx_run(delete_tx, (void *)req_param(r, 0), err))
		return -1;
	out->status = 202;
	return 0;
}

static json_t *class_view(const char *name, int mv, bool with_id)
{
	json_t *cls = db_quota_class_get(name), *o = json_object();
	if (with_id)
		json_object_set_new(o, "id", json_string(name));
	for (size_t i = 0; i < NRES; i++) {
		const struct qres *q = &resources[i];
		json_t *v;
		if (!in_class_view(q, mv))
			continue;
		v = json_object_get(cls, q->name);
		json_object_set_new(o, q->name, v ? json_integer(json_integer_value(v)) : json_integer(config_default(q)));
	}
	json_decref(cls);
	return o;
}

int quota_class_show(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)err;
	resp_json(out, 200, json_pack("{s:o}", "quota_class_set", class_view(req_param(r, 0), r->mv, true)));
	return 0;
}

int quota_class_update(struct req *r, struct resp *out, struct nl_error *err)
{
	struct quota_ctx c = { req_param(r, 0), r->input, true };
	if (db_tx_run(update_tx, &c, err))
		return -1;
	resp_json(out, 200, json_pack("{s:o}", "quota_class_set", class_view(c.target, r->mv, false)));
	return 0;
}

/* ---- limits (nova/api/openstack/compute/views/limits.py) ---- */
int limits_show(struct req *r, struct resp *out, struct nl_error *err)
{
	const char *pid = req_query(r, "tenant_id");
	json_t *abs = json_object(), *lim;

	if (pid && strcmp(pid, r->auth.project_id) && !auth_is_admin(&r->auth)) {
		json_decref(abs);
		nl_err_set(err, 403, "Policy doesn't allow os_compute_api:limits:other_project to be performed.");
		return -1;
	}
	if (!pid)
		pid = r->auth.project_id;
	lim = effective(pid);
	for (size_t i = 0; i < NRES; i++) {
		const struct qres *q = &resources[i];
		if (q->limit_key && in_set_view(q, r->mv))
			json_object_set(abs, q->limit_key, json_object_get(lim, q->name));
	}
	if (r->mv < 39)   /* the image-metadata proxy's limit went with it at 2.39 */
		json_object_set(abs, "maxImageMeta", json_object_get(lim, "metadata_items"));
	json_object_set_new(abs, "totalCoresUsed", json_integer(in_use("cores", pid, r)));
	json_object_set_new(abs, "totalInstancesUsed", json_integer(in_use("instances", pid, r)));
	json_object_set_new(abs, "totalRAMUsed", json_integer(in_use("ram", pid, r)));
	json_object_set_new(abs, "totalServerGroupsUsed", json_integer(in_use("server_groups", pid, r)));
	if (r->mv < 36) {
		json_object_set_new(abs, "totalSecurityGroupsUsed", json_integer(0));
		json_object_set_new(abs, "totalFloatingIpsUsed", json_integer(0));
	}
	json_decref(lim);
	resp_json(out, 200, json_pack("{s:{s:[], s:o}}", "limits", "rate", "absolute", abs));
	return 0;
}
