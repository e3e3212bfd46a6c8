/* Every handler named in the route table, grouped by resource. */
#ifndef NL_HANDLERS_H
#define NL_HANDLERS_H

#include "api/http.h"

#define H(name) int name(struct req *r, struct resp *out, struct nl_error *err)

/* identity: api/identity/ */
H(identity_versions); H(identity_v3);
H(token_issue); H(token_validate); H(token_revoke);
H(auth_catalog); H(auth_projects); H(auth_domains);
H(domain_list); H(domain_create); H(domain_show); H(domain_update); H(domain_delete);
H(project_list); H(project_create); H(project_show); H(project_update); H(project_delete);
H(user_list); H(user_create); H(user_show); H(user_update); H(user_delete);
H(user_password); H(user_projects);
H(role_list); H(role_create); H(role_show); H(role_update); H(role_delete);
H(grant_put); H(grant_check); H(grant_delete); H(grant_list);
H(role_assignment_list);
H(service_list); H(endpoint_list); H(region_list);

/* compute: api/compute/ */
H(compute_versions); H(compute_version_v21);
H(flavor_list); H(flavor_detail); H(flavor_show); H(flavor_create); H(flavor_update); H(flavor_delete);
H(flavor_specs_list); H(flavor_specs_create); H(flavor_spec_show); H(flavor_spec_update); H(flavor_spec_delete);
H(flavor_access_list); H(flavor_action);
H(keypair_list); H(keypair_create); H(keypair_show); H(keypair_delete);
H(limits_show);
H(quota_show); H(quota_detail); H(quota_defaults); H(quota_update); H(quota_delete);
H(quota_class_show); H(quota_class_update);
H(compute_image_list); H(compute_image_detail); H(compute_image_show); H(compute_image_delete);
H(compute_image_metadata); H(compute_image_metadata_show); H(compute_image_metadata_create);
H(compute_image_metadata_replace); H(compute_image_metadata_update); H(compute_image_metadata_delete);

/* image: api/image/ */
H(image_versions); H(image_list); H(image_create); H(image_show); H(image_update); H(image_delete);
H(image_upload); H(image_download); H(image_deactivate); H(image_reactivate);
H(image_tag_add); H(image_tag_delete); H(image_schema_show);
H(image_member_list); H(image_member_create); H(image_member_show); H(image_member_update); H(image_member_delete);

/* servers (api/compute/servers*.c, server_actions.c, server_snapshot.c, remote_consoles.c,
 * server_meta.c) */
H(server_create); H(server_list); H(server_detail); H(server_show); H(server_update); H(server_delete);
H(server_action); H(server_remote_console);
H(server_metadata_list); H(server_metadata_show); H(server_metadata_create); H(server_metadata_replace);
H(server_metadata_update); H(server_metadata_delete);
H(server_tags_list); H(server_tag_check); H(server_tags_replace); H(server_tag_add); H(server_tags_delete);
H(server_tag_delete); H(server_ips); H(server_ips_network); H(instance_action_list); H(instance_action_show);
/* @@SERVERS@@ */

/* admin views (api/compute/services.c, hypervisors.c, availability_zones.c, aggregates.c,
 * server_groups.c, usage.c) */
H(compute_service_list); H(compute_service_update); H(compute_service_action); H(compute_service_delete);
H(hypervisor_list); H(hypervisor_detail); H(hypervisor_show); H(hypervisor_statistics); H(hypervisor_uptime);
H(hypervisor_search); H(hypervisor_servers);
H(az_list); H(az_detail);
H(aggregate_list); H(aggregate_create); H(aggregate_show); H(aggregate_update); H(aggregate_delete); H(aggregate_action);
H(server_group_list); H(server_group_create); H(server_group_show); H(server_group_delete);
H(usage_list); H(usage_show);
/* @@ADMIN@@ */

/* agent protocol (api/internal/) */
H(internal_host_register); H(internal_agent_heartbeat); H(internal_host_instances);
H(internal_power_state); H(internal_tasks_poll); H(internal_task_result); H(internal_console_append); H(internal_instance_fault);
/* @@INTERNAL@@ */

#undef H

#endif
