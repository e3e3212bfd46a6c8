/* Instances and what hangs off them: metadata, tags, faults, instance actions and
 * events, the agent task queue, compute host registration, and the host states the
 * scheduler reads. Rows come back as owned JSON objects (column → value); writes run
 * inside db_tx_run(). */
#ifndef NL_DB_SERVERS_H
#define NL_DB_SERVERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "scheduler/scheduler.h"

/* ---- instances ---- */
struct server_row_in {
	const char *uuid, *project_id, *user_id, *name, *description, *hostname, *reservation_id;
	int launch_index;
	const char *image_ref;
	json_t *flavor;               /* db_flavor_get() row with extra_specs (borrowed) */
	const char *key_name, *key_data, *user_data, *availability_zone;
	const char *host;             /* NULL when not scheduled (error) */
	const char *vm_state, *task_state;
	const char *access_ip_v4, *access_ip_v6, *config_drive, *network, *trusted_certs;
	int64_t now;
};
/* Inserts the instance; returns its integer id (> 0) or -1. Fixed IP and MAC derive
 * from the id (a synthetic "private" network until networking exists). */
int64_t db_server_insert(const struct server_row_in *in, struct nl_error *err);
int db_server_metadata_set(int64_t id, const char *key, const char *value, struct nl_error *err);
int db_server_metadata_delete(int64_t id, const char *key, struct nl_error *err);   /* 1: no such key */
int db_server_metadata_clear(int64_t id, struct nl_error *err);
int db_server_tag_add(int64_t id, const char *tag, struct nl_error *err);
int db_server_tag_delete(int64_t id, const char *tag, struct nl_error *err);        /* 1: no such tag */
int db_server_tags_clear(int64_t id, struct nl_error *err);
int db_server_fault_add(int64_t id, int code, const char *message, const char *details, const char *host,
			int64_t now, struct nl_error *err);

/* One instance by uuid; project_id NULL = any project. include_deleted also finds
 * soft-deleted rows. Owned, or NULL. */
json_t *db_server_get(const char *uuid, const char *project_id, bool include_deleted);
json_t *db_server_get_by_id(int64_t id);
/* Instances ordered by created_at DESC, id DESC. project_id NULL = all projects.
 * include_deleted: also soft-deleted rows (changes-since, deleted=true). */
json_t *db_server_list(const char *project_id, bool include_deleted);
json_t *db_server_metadata(int64_t id);                 /* {key: value} */
json_t *db_server_tags(int64_t id);                     /* [tag, ...] sorted */
/* Metadata/tags of all instances with ids in [lo, hi], as {"<id>": {...}} / {"<id>": [...]}. */
json_t *db_server_metadata_range(int64_t lo, int64_t hi);
json_t *db_server_tags_range(int64_t lo, int64_t hi);
json_t *db_server_fault(int64_t id);                    /* latest fault or NULL */
json_t *db_server_faults_range(int64_t lo, int64_t hi); /* latest per instance, {"<id>": fault} */
char *db_server_console(int64_t id);                    /* owned text or NULL */
char *db_server_console_address(int64_t id);            /* "host:port" of its VNC server, owned, or NULL */
json_t *db_server_groups_of(const char *uuid);          /* [group uuid, ...] */

/* Field updates. Each is one UPDATE of the named columns plus updated_at. */
int db_server_update_fields(int64_t id, const char *name, const char *description, bool set_description,
			    const char *access_ip_v4, const char *access_ip_v6, const char *hostname,
			    int64_t now, struct nl_error *err);
/* Compare-and-set of the state columns: only when vm_state/task_state still are
 * (expect_vm, expect_task); expect_task "*" matches any. Returns 1 when the row was not
 * in that state (nothing changed). power_state < 0 leaves it. */
int db_server_set_state(int64_t id, const char *expect_vm, const char *expect_task, const char *vm_state,
			const char *task_state, int power_state, int64_t now, struct nl_error *err);
int db_server_set_launched(int64_t id, int64_t now, struct nl_error *err);
int db_server_set_lock(int64_t id, bool locked, const char *by, const char *reason, int64_t now,
		       struct nl_error *err);
int db_server_soft_delete(int64_t id, int64_t now, struct nl_error *err);
int db_server_console_append(int64_t id, const char *text, struct nl_error *err);
/* Where the guest's VNC server listens ("host:port"), as its agent reports it; NULL clears. */
int db_server_set_console_address(int64_t id, const char *address, struct nl_error *err);

/* Resources the project's non-deleted instances use. */
struct server_usage { long long instances, cores, ram; };
void db_server_usage(const char *project_id, struct server_usage *out);
/* Effective quota limit of a project for a resource (project, else class default);
 * returns def when neither is set. */
long long db_quota_limit(const char *project_id, const char *resource, long long def);

/* ---- server groups (membership at create) ---- */
json_t *db_server_group_get(const char *uuid, const char *project_id);   /* with "members" array */
long long db_server_group_count(const char *project_id);
/* Members of the group (by uuid) now; inside a transaction, the count it will commit against. */
long long db_server_group_member_count(const char *group_uuid);
int db_server_group_add_member(const char *group_uuid, const char *instance_uuid, struct nl_error *err);

/* ---- instance actions ---- */
int64_t db_action_start(const char *uuid, const char *action, const char *request_id, const char *user_id,
			const char *project_id, int64_t now, struct nl_error *err);
int64_t db_action_event_start(int64_t action_id, const char *event, const char *host, const char *details,
			      int64_t now, struct nl_error *err);
/* Finishes an event (and its action: finish_time, message "Error" on failure). */
int db_action_event_finish(int64_t event_id, bool ok, const char *details, int64_t now, struct nl_error *err);
/* Finishes the newest unfinished event of an action (the agent's step). */
int db_action_finish_open(int64_t action_id, bool ok, const char *host, const char *details, int64_t now,
			  struct nl_error *err);
json_t *db_action_list(const char *uuid);
json_t *db_action_get(const char *uuid, const char *request_id);       /* with "events" */

/* ---- agent tasks ---- */
/* params: the task's parameters for the agent (a JSON object, borrowed), or NULL. */
int64_t db_task_insert(const char *host, const char *uuid, const char *kind, int64_t action_id, json_t *params,
		       int64_t now, struct nl_error *err);
/* user_id (here and in db_agent_heartbeat): only hosts that user has claimed
 * (db/agents.h); NULL: any host of the agent (an admin's call).
 * Leases up to max queued tasks of the agent's hosts (state running); owned array of
 * {id, kind, host, instance_uuid, action_id, params (JSON text or null)}. Runs inside
 * a transaction. */
json_t *db_tasks_lease(const char *agent, const char *user_id, int max, int64_t now, struct nl_error *err);
json_t *db_task_get(int64_t id);
int db_task_finish(int64_t id, bool ok, const char *message, int64_t now, struct nl_error *err);
/* Queued or running tasks of an instance (to know whether one is in flight). */
long long db_tasks_open(const char *uuid);

/* ---- compute hosts (agent side) ---- */
struct host_row_in {
	const char *host, *agent, *hypervisor_hostname, *hypervisor_type, *arch, *cpu_info, *host_ip;
	const char *vnc_listen;   /* NULL: not reported */
	int64_t hypervisor_version, vcpus, memory_mb, local_gb, now;
};
/* Upsert by host name; marks it seen and re-queues its running tasks. Owned row. */
json_t *db_host_register(const struct host_row_in *in, struct nl_error *err);
int db_agent_heartbeat(const char *agent, const char *user_id, int64_t now, struct nl_error *err);   /* 1: unknown agent */
json_t *db_host_get(const char *host);
/* Non-deleted instances on host. */
json_t *db_host_instances(const char *host);

/* ---- scheduler input ---- */
/* Host states for the scheduler, read inside the claim transaction. Everything the
 * sched_host pointers reference is owned by the set. group_uuid (may be NULL) fills
 * group_members; hint uuids fill instance_uuids of the hosts they run on. */
struct sched_host_set {
	struct sched_host *hosts;
	size_t n;
	json_t *keep;                 /* owns the strings */
	struct sched_kv *kv;          /* aggregate metadata storage */
	const char **uuids;           /* hint uuid storage */
};
int db_sched_hosts_load(struct sched_host_set *set, int64_t now, int64_t down_after_us, const char *group_uuid,
			const char *const *hint_uuids, size_t n_hints);
void db_sched_hosts_free(struct sched_host_set *set);
/* The availability zone of a host (aggregate metadata), or default_az. Owned. */
char *db_host_az(const char *host, const char *default_az);
/* Whether any host is in availability zone az ("nova" = hosts in no AZ aggregate). */
bool db_az_exists(const char *az, const char *default_az);

#endif
