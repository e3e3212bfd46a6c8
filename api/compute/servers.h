/* The servers API: request specs and inputs, views, and the helpers the servers files
 * share (lookup with Nova's 404, the state machine guard, task queueing). */
#ifndef NL_COMPUTE_SERVERS_H
#define NL_COMPUTE_SERVERS_H

#include <jansson.h>
#include <stdint.h>

#include "api/http.h"
#include "common/json_spec.h"

struct server_in {
	spec_str_t name, image_ref, admin_pass, disk_config, access_ip_v4, access_ip_v6, availability_zone;
	spec_str_t key_name, user_data, description, hostname, host, hypervisor_hostname;
	spec_json_t flavor_ref, metadata, networks, personality, bdm, bdm_v2, security_groups, tags, trusted_certs;
	spec_int_t min_count, max_count;
	spec_bool_t config_drive, return_reservation_id;
	spec_json_t hints, hints2;
};
extern const struct field_spec server_create_v21[], server_create_v219[], server_create_v237[],
	server_create_v252[], server_create_v257[], server_create_v263[], server_create_v274[], server_create_v290[];
extern const struct field_spec server_update_v21[], server_update_v219[], server_update_v290[];
extern const struct field_spec server_list_query[];

struct server_meta_in { spec_json_t map; };
extern const struct field_spec server_metadata_spec[], server_meta_spec[];
struct server_tags_in { spec_json_t tags; };
extern const struct field_spec server_tags_spec[];
extern const struct field_spec server_action_spec[];

/* What a server view shows besides the row (all borrowed, any may be NULL). */
struct server_extras {
	json_t *metadata, *tags, *fault, *groups;
	const char *az, *host_status;
	/* The update response before 2.75: no extended attributes (AZ, config drive,
	 * key, usage, security groups, SRV-ATTR, STS, volumes, host status), plain addresses. */
	bool minimal;
};
struct jbuf;
const char *server_status(const char *vm_state, const char *task_state);
/* The server view, written as JSON text (lists of 1,000 servers are too large to build
 * as jansson trees first; see common/jbuf.h). */
void server_view_write(struct jbuf *b, const struct req *r, json_t *row, const struct server_extras *x);
void server_view_basic_write(struct jbuf *b, json_t *row);
json_t *server_addresses(json_t *row);
const char *server_host_status(json_t *host_row, int64_t now);
/* hostId: sha224(project_id + host) in hex ("" without a host). out: 57 bytes. */
void server_host_id(const char *project, const char *host, char *out);

/* The caller's server (admins: any project's), or NULL with Nova's 404. Owned. */
json_t *server_lookup(const struct req *r, const char *uuid, struct nl_error *err);
/* 409 "Instance X is locked" unless the caller may act on a locked server (admin). */
int server_check_lock(const struct req *r, json_t *row, struct nl_error *err);
/* Deletes (action name "delete" or "forceDelete"): a task for the host, or at once
 * when the server never reached one. Checks the lock. */
int server_delete_common(struct req *r, json_t *row, const char *action, struct nl_error *err);
/* Nova's 409 ("Cannot 'method' instance X while it is in vm_state Y") unless the row's
 * vm_state is in vms and its task_state in tasks ("" = None); NULL lists allow any. */
int server_check_state(json_t *row, const char *method, const char *const *vms, const char *const *tasks,
		       struct nl_error *err);

/* createImage (server_snapshot.c): the queued image, the task, 202 with the image's
 * Location (or, from 2.45, {"image_id"}). name and metadata are validated. */
int server_create_image(struct req *r, json_t *row, const char *name, json_t *metadata, struct resp *out,
			struct nl_error *err);

/* Remote consoles (remote_consoles.c): POST /servers/{id}/remote-consoles, and the
 * os-get*Console actions before 2.6 ({"console": {"type", "url"}}). */
struct remote_console_in { spec_str_t protocol, type; };
extern const struct field_spec remote_console_v26[], remote_console_v28[];
int server_console_legacy(struct req *r, json_t *row, const char *protocol, const char *type, struct resp *out,
			  struct nl_error *err);

#endif
