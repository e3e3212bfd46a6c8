/* The route table: every URL novalite serves, read top to bottom.
 *
 * Columns: service, methods, path pattern, handler, policy persona, upstream policy
 * rule name, compute microversion range (0,0 = all), then the body (NOBODY, or
 * BODY(spec, input struct): spec, root flags, size of the struct it fills) and the
 * query-string spec (QUERY(spec, strict-from microversion)). The first row whose pattern and method match
 * (and whose range contains the negotiated microversion) wins, so specific paths
 * come before {id} patterns. Matching is in router_match() below. */
#include "api/router.h"

#include <string.h>

#include "api/compute/admin.h"
#include "api/compute/compute.h"
#include "api/compute/servers.h"
#include "api/handlers.h"
#include "api/identity/identity.h"
#include "api/image/image.h"
#include "api/internal/internal.h"

#define NOQUERY NULL, 0, NULL
#define NOBODY NULL, 0, 0, NOQUERY
#define BODY(spec, type) spec, SPEC_NO_EXTRA, sizeof(type), NOQUERY
#define BODY_OPEN(spec, type) spec, 0, sizeof(type), NOQUERY
/* A query-string spec, strict (unknown parameters 400) from microversion `strict`. */
#define QUERY(spec, strict) NULL, 0, 0, spec, strict, NULL
/* A streamed body (image data): see struct stream_ops in api/http.h. */
#define STREAM(ops) NULL, 0, 0, NULL, 0, &ops
#define ANY_MV 0, 0
#define MAXMV 9999

const struct route routes[] = {
/* ---- identity (Keystone v3), port 5000 ------------------------------------------------- */
{ SVC_IDENTITY, M_GET|M_HEAD, "/",                       identity_versions, POL_PUBLIC, "", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3",                     identity_v3,       POL_PUBLIC, "", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_POST,       "/v3/auth/tokens",         token_issue,       POL_PUBLIC, "", ANY_MV, BODY_OPEN(auth_spec, struct auth_in) },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/auth/tokens",         token_validate,    POL_ANY, "identity:validate_token", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_DELETE,     "/v3/auth/tokens",         token_revoke,      POL_ANY, "identity:revoke_token", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/auth/catalog",        auth_catalog,      POL_ANY, "", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/auth/projects",       auth_projects,     POL_ANY, "", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/auth/domains",        auth_domains,      POL_ANY, "", ANY_MV, NOBODY },

{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/domains",             domain_list,   POL_ADMIN, "identity:list_domains", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_POST,       "/v3/domains",             domain_create, POL_ADMIN, "identity:create_domain", ANY_MV, BODY(domain_create_spec, struct domain_in) },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/domains/{id}",        domain_show,   POL_ANY,   "identity:get_domain", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_PATCH,      "/v3/domains/{id}",        domain_update, POL_ADMIN, "identity:update_domain", ANY_MV, BODY(domain_update_spec, struct domain_in) },
{ SVC_IDENTITY, M_DELETE,     "/v3/domains/{id}",        domain_delete, POL_ADMIN, "identity:delete_domain", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/domains/{d}/users/{u}/roles",      grant_list,   POL_DOMAIN_ADMIN, "identity:list_grants", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_PUT,        "/v3/domains/{d}/users/{u}/roles/{r}",  grant_put,    POL_DOMAIN_ADMIN, "identity:create_grant", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/domains/{d}/users/{u}/roles/{r}",  grant_check,  POL_DOMAIN_ADMIN, "identity:check_grant", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_DELETE,     "/v3/domains/{d}/users/{u}/roles/{r}",  grant_delete, POL_DOMAIN_ADMIN, "identity:revoke_grant", ANY_MV, NOBODY },

{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/system/users/{u}/roles",          grant_list,   POL_ADMIN, "identity:list_system_grants_for_user", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_PUT,        "/v3/system/users/{u}/roles/{r}",      grant_put,    POL_ADMIN, "identity:create_system_grant_for_user", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/system/users/{u}/roles/{r}",      grant_check,  POL_ADMIN, "identity:check_system_grant_for_user", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_DELETE,     "/v3/system/users/{u}/roles/{r}",      grant_delete, POL_ADMIN, "identity:revoke_system_grant_for_user", ANY_MV, NOBODY },

{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/projects",            project_list,   POL_DOMAIN_ADMIN, "identity:list_projects", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_POST,       "/v3/projects",            project_create, POL_ADMIN, "identity:create_project", ANY_MV, BODY(project_create_spec, struct project_in) },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/projects/{id}",       project_show,   POL_ANY,   "identity:get_project", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_PATCH,      "/v3/projects/{id}",       project_update, POL_ADMIN, "identity:update_project", ANY_MV, BODY(project_update_spec, struct project_in) },
{ SVC_IDENTITY, M_DELETE,     "/v3/projects/{id}",       project_delete, POL_ADMIN, "identity:delete_project", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/projects/{p}/users/{u}/roles",     grant_list,   POL_DOMAIN_ADMIN, "identity:list_grants", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_PUT,        "/v3/projects/{p}/users/{u}/roles/{r}", grant_put,    POL_DOMAIN_ADMIN, "identity:create_grant", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/projects/{p}/users/{u}/roles/{r}", grant_check,  POL_DOMAIN_ADMIN, "identity:check_grant", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_DELETE,     "/v3/projects/{p}/users/{u}/roles/{r}", grant_delete, POL_DOMAIN_ADMIN, "identity:revoke_grant", ANY_MV, NOBODY },

{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/users",               user_list,     POL_DOMAIN_ADMIN, "identity:list_users", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_POST,       "/v3/users",               user_create,   POL_DOMAIN_ADMIN, "identity:create_user", ANY_MV, BODY_OPEN(user_create_spec, struct user_in) },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/users/{user_id}",     user_show,     POL_ADMIN_OR_SELF, "identity:get_user", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_PATCH,      "/v3/users/{user_id}",     user_update,   POL_DOMAIN_ADMIN, "identity:update_user", ANY_MV, BODY_OPEN(user_update_spec, struct user_in) },
{ SVC_IDENTITY, M_DELETE,     "/v3/users/{user_id}",     user_delete,   POL_DOMAIN_ADMIN, "identity:delete_user", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_POST,       "/v3/users/{user_id}/password", user_password, POL_ADMIN_OR_SELF, "identity:change_password", ANY_MV, BODY(user_password_spec, struct password_in) },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/users/{user_id}/projects", user_projects, POL_ADMIN_OR_SELF, "identity:list_user_projects", ANY_MV, NOBODY },

{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/roles",               role_list,     POL_ANY,   "identity:list_roles", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_POST,       "/v3/roles",               role_create,   POL_ADMIN, "identity:create_role", ANY_MV, BODY(role_create_spec, struct role_in) },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/roles/{id}",          role_show,     POL_ANY,   "identity:get_role", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_PATCH,      "/v3/roles/{id}",          role_update,   POL_ADMIN, "identity:update_role", ANY_MV, BODY(role_update_spec, struct role_in) },
{ SVC_IDENTITY, M_DELETE,     "/v3/roles/{id}",          role_delete,   POL_ADMIN, "identity:delete_role", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/role_assignments",    role_assignment_list, POL_ADMIN, "identity:list_role_assignments", ANY_MV, NOBODY },

{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/services",            service_list,  POL_ANY, "identity:list_services", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/endpoints",           endpoint_list, POL_ANY, "identity:list_endpoints", ANY_MV, NOBODY },
{ SVC_IDENTITY, M_GET|M_HEAD, "/v3/regions",             region_list,   POL_ANY, "identity:list_regions", ANY_MV, NOBODY },

/* ---- compute (Nova v2.1), port 8774 --------------------------------------------------- */
{ SVC_COMPUTE, M_GET|M_HEAD, "/",                        compute_versions,    POL_PUBLIC, "", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1",                    compute_version_v21, POL_PUBLIC, "", ANY_MV, NOBODY },

{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/flavors",            flavor_list,   POL_ANY, "os_compute_api:flavors:index", ANY_MV, QUERY(flavor_index_query, 75) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/flavors/detail",     flavor_detail, POL_ANY, "os_compute_api:flavors:index", ANY_MV, QUERY(flavor_index_query, 75) },
{ SVC_COMPUTE, M_POST,       "/v2.1/flavors",            flavor_create, POL_ADMIN, "os_compute_api:os-flavor-manage:create", 1, 54, BODY(flavor_create_v21, struct flavor_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/flavors",            flavor_create, POL_ADMIN, "os_compute_api:os-flavor-manage:create", 55, MAXMV, BODY(flavor_create_v255, struct flavor_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/flavors/{id}",       flavor_show,   POL_ANY, "os_compute_api:flavors:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/flavors/{id}",       flavor_update, POL_ADMIN, "os_compute_api:os-flavor-manage:update", 55, MAXMV, BODY(flavor_update_v255, struct flavor_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/flavors/{id}",       flavor_delete, POL_ADMIN, "os_compute_api:os-flavor-manage:delete", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/flavors/{id}/os-extra_specs",       flavor_specs_list,   POL_READER, "os_compute_api:os-flavor-extra-specs:index", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_POST,       "/v2.1/flavors/{id}/os-extra_specs",       flavor_specs_create, POL_ADMIN, "os_compute_api:os-flavor-extra-specs:create", ANY_MV, BODY(extra_specs_create_spec, struct extra_specs_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/flavors/{id}/os-extra_specs/{key}", flavor_spec_show,    POL_READER, "os_compute_api:os-flavor-extra-specs:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/flavors/{id}/os-extra_specs/{key}", flavor_spec_update,  POL_ADMIN, "os_compute_api:os-flavor-extra-specs:update", ANY_MV, BODY_OPEN(extra_spec_update_spec, struct extra_specs_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/flavors/{id}/os-extra_specs/{key}", flavor_spec_delete,  POL_ADMIN, "os_compute_api:os-flavor-extra-specs:delete", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/flavors/{id}/os-flavor-access",     flavor_access_list,  POL_ADMIN, "os_compute_api:os-flavor-access", ANY_MV, NOBODY },
/* Each action has its own rule (add_/remove_tenant_access, both admin): checked per action in the handler. */
{ SVC_COMPUTE, M_POST,       "/v2.1/flavors/{id}/action",               flavor_action,       POL_ANY, "os_compute_api:os-flavor-access:{add,remove}_tenant_access", ANY_MV, BODY_OPEN(flavor_action_spec, struct flavor_action_in) },

{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-keypairs",        keypair_list,   POL_ANY, "os_compute_api:os-keypairs:index", 1, 34, QUERY(keypair_index_query_v210, 0) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-keypairs",        keypair_list,   POL_ANY, "os_compute_api:os-keypairs:index", 35, MAXMV, QUERY(keypair_index_query_v235, 75) },
{ SVC_COMPUTE, M_POST,       "/v2.1/os-keypairs",        keypair_create, POL_ANY, "os_compute_api:os-keypairs:create", 1, 1, BODY(keypair_create_v21, struct keypair_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/os-keypairs",        keypair_create, POL_ANY, "os_compute_api:os-keypairs:create", 2, 9, BODY(keypair_create_v22, struct keypair_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/os-keypairs",        keypair_create, POL_ANY, "os_compute_api:os-keypairs:create", 10, 91, BODY(keypair_create_v210, struct keypair_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/os-keypairs",        keypair_create, POL_ANY, "os_compute_api:os-keypairs:create", 92, MAXMV, BODY(keypair_create_v292, struct keypair_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-keypairs/{name}", keypair_show,   POL_ANY, "os_compute_api:os-keypairs:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/os-keypairs/{name}", keypair_delete, POL_ANY, "os_compute_api:os-keypairs:delete", ANY_MV, NOBODY },

{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/limits",             limits_show,    POL_ANY, "os_compute_api:limits", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-quota-sets/{project_id}/defaults", quota_defaults, POL_ANY, "os_compute_api:os-quota-sets:defaults", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-quota-sets/{project_id}/detail",   quota_detail,   POL_READER, "os_compute_api:os-quota-sets:detail", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-quota-sets/{project_id}", quota_show,   POL_READER, "os_compute_api:os-quota-sets:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-quota-sets/{project_id}", quota_update, POL_ADMIN, "os_compute_api:os-quota-sets:update", 1, 35, BODY(quota_update_v21, struct quota_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-quota-sets/{project_id}", quota_update, POL_ADMIN, "os_compute_api:os-quota-sets:update", 36, 56, BODY(quota_update_v236, struct quota_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-quota-sets/{project_id}", quota_update, POL_ADMIN, "os_compute_api:os-quota-sets:update", 57, MAXMV, BODY(quota_update_v257, struct quota_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/os-quota-sets/{project_id}", quota_delete, POL_ADMIN, "os_compute_api:os-quota-sets:delete", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-quota-class-sets/{class}", quota_class_show, POL_ADMIN, "os_compute_api:os-quota-class-sets:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-quota-class-sets/{class}", quota_class_update, POL_ADMIN, "os_compute_api:os-quota-class-sets:update", 1, 49, BODY(quota_class_update_v21, struct quota_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-quota-class-sets/{class}", quota_class_update, POL_ADMIN, "os_compute_api:os-quota-class-sets:update", 50, 56, BODY(quota_class_update_v250, struct quota_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-quota-class-sets/{class}", quota_class_update, POL_ADMIN, "os_compute_api:os-quota-class-sets:update", 57, MAXMV, BODY(quota_class_update_v257, struct quota_in) },
/* Nova's image proxy, removed at 2.36 (libcloud's list_images still calls it at 2.1). */
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/images",             compute_image_list,   POL_ANY, "os_compute_api:images", 1, 35, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/images/detail",      compute_image_detail, POL_ANY, "os_compute_api:images", 1, 35, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/images/{id}",        compute_image_show,   POL_ANY, "os_compute_api:images", 1, 35, NOBODY },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/images/{id}",        compute_image_delete, POL_ANY, "os_compute_api:images", 1, 35, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/images/{id}/metadata", compute_image_metadata, POL_ANY, "os_compute_api:image-metadata", 1, 35, NOBODY },
{ SVC_COMPUTE, M_POST,       "/v2.1/images/{id}/metadata", compute_image_metadata_create, POL_ANY, "os_compute_api:image-metadata", 1, 35, BODY(image_metadata_spec, struct image_meta_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/images/{id}/metadata", compute_image_metadata_replace, POL_ANY, "os_compute_api:image-metadata", 1, 35, BODY(image_metadata_spec, struct image_meta_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/images/{id}/metadata/{key}", compute_image_metadata_show, POL_ANY, "os_compute_api:image-metadata", 1, 35, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/images/{id}/metadata/{key}", compute_image_metadata_update, POL_ANY, "os_compute_api:image-metadata", 1, 35, BODY(image_meta_spec, struct image_meta_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/images/{id}/metadata/{key}", compute_image_metadata_delete, POL_ANY, "os_compute_api:image-metadata", 1, 35, NOBODY },

/* ---- servers ---------------------------------------------------------------------------- */
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers",            server_list,   POL_READER, "os_compute_api:servers:index", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/detail",     server_detail, POL_READER, "os_compute_api:servers:detail", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers",            server_create, POL_MEMBER, "os_compute_api:servers:create", 1, 18, BODY(server_create_v21, struct server_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers",            server_create, POL_MEMBER, "os_compute_api:servers:create", 19, 36, BODY(server_create_v219, struct server_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers",            server_create, POL_MEMBER, "os_compute_api:servers:create", 37, 51, BODY(server_create_v237, struct server_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers",            server_create, POL_MEMBER, "os_compute_api:servers:create", 52, 56, BODY(server_create_v252, struct server_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers",            server_create, POL_MEMBER, "os_compute_api:servers:create", 57, 62, BODY(server_create_v257, struct server_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers",            server_create, POL_MEMBER, "os_compute_api:servers:create", 63, 73, BODY(server_create_v263, struct server_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers",            server_create, POL_MEMBER, "os_compute_api:servers:create", 74, 89, BODY(server_create_v274, struct server_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers",            server_create, POL_MEMBER, "os_compute_api:servers:create", 90, MAXMV, BODY(server_create_v290, struct server_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}",       server_show,   POL_READER, "os_compute_api:servers:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/servers/{id}",       server_update, POL_MEMBER, "os_compute_api:servers:update", 1, 18, BODY(server_update_v21, struct server_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/servers/{id}",       server_update, POL_MEMBER, "os_compute_api:servers:update", 19, 89, BODY(server_update_v219, struct server_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/servers/{id}",       server_update, POL_MEMBER, "os_compute_api:servers:update", 90, MAXMV, BODY(server_update_v290, struct server_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/servers/{id}",       server_delete, POL_MEMBER, "os_compute_api:servers:delete", ANY_MV, NOBODY },
/* Each action has its own rule (os_compute_api:servers:stop, ...): see server_actions.c. */
{ SVC_COMPUTE, M_POST,       "/v2.1/servers/{id}/action", server_action, POL_MEMBER, "os_compute_api:servers:{action}", ANY_MV, BODY_OPEN(server_action_spec, struct server_meta_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers/{id}/remote-consoles", server_remote_console, POL_MEMBER, "os_compute_api:os-remote-consoles", 6, 7, BODY(remote_console_v26, struct remote_console_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers/{id}/remote-consoles", server_remote_console, POL_MEMBER, "os_compute_api:os-remote-consoles", 8, MAXMV, BODY(remote_console_v28, struct remote_console_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}/metadata",       server_metadata_list,    POL_READER, "os_compute_api:server-metadata:index", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_POST,       "/v2.1/servers/{id}/metadata",       server_metadata_create,  POL_MEMBER, "os_compute_api:server-metadata:create", ANY_MV, BODY(server_metadata_spec, struct server_meta_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/servers/{id}/metadata",       server_metadata_replace, POL_MEMBER, "os_compute_api:server-metadata:update_all", ANY_MV, BODY(server_metadata_spec, struct server_meta_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}/metadata/{key}", server_metadata_show,    POL_READER, "os_compute_api:server-metadata:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/servers/{id}/metadata/{key}", server_metadata_update,  POL_MEMBER, "os_compute_api:server-metadata:update", ANY_MV, BODY(server_meta_spec, struct server_meta_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/servers/{id}/metadata/{key}", server_metadata_delete,  POL_MEMBER, "os_compute_api:server-metadata:delete", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}/tags",       server_tags_list,    POL_READER, "os_compute_api:os-server-tags:index", 26, MAXMV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/servers/{id}/tags",       server_tags_replace, POL_MEMBER, "os_compute_api:os-server-tags:update_all", 26, MAXMV, BODY(server_tags_spec, struct server_tags_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/servers/{id}/tags",       server_tags_delete,  POL_MEMBER, "os_compute_api:os-server-tags:delete_all", 26, MAXMV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}/tags/{tag}", server_tag_check,    POL_READER, "os_compute_api:os-server-tags:show", 26, MAXMV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/servers/{id}/tags/{tag}", server_tag_add,      POL_MEMBER, "os_compute_api:os-server-tags:update", 26, MAXMV, NOBODY },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/servers/{id}/tags/{tag}", server_tag_delete,   POL_MEMBER, "os_compute_api:os-server-tags:delete", 26, MAXMV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}/ips",        server_ips,          POL_READER, "os_compute_api:ips:index", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}/ips/{net}",  server_ips_network,  POL_READER, "os_compute_api:ips:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}/os-instance-actions",       instance_action_list, POL_READER, "os_compute_api:os-instance-actions:list", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/servers/{id}/os-instance-actions/{req}", instance_action_show, POL_READER, "os_compute_api:os-instance-actions:show", ANY_MV, NOBODY },
/* @@SERVERS@@ */

/* ---- admin views: services, hypervisors, availability zones, aggregates, server groups,
 * usage ------------------------------------------------------------------------------------ */
/* os-services: before 2.53 a PUT names an action and the body the service (host, binary);
 * from 2.53 the path names the service by uuid. */
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-services",          compute_service_list,   POL_ADMIN, "os_compute_api:os-services:list", ANY_MV, QUERY(service_index_query, 75) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-services/{action}", compute_service_action, POL_ADMIN, "os_compute_api:os-services:update", 1, 10, BODY(service_update_v21, struct service_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-services/{action}", compute_service_action, POL_ADMIN, "os_compute_api:os-services:update", 11, 52, BODY(service_update_v211, struct service_in) },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-services/{id}",     compute_service_update, POL_ADMIN, "os_compute_api:os-services:update", 53, MAXMV, BODY(service_update_v253, struct service_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/os-services/{id}",     compute_service_delete, POL_ADMIN, "os_compute_api:os-services:delete", ANY_MV, NOBODY },
/* os-hypervisors: paging from 2.33; from 2.53 uuids, query filters instead of search/servers. */
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors",        hypervisor_list,   POL_ADMIN, "os_compute_api:os-hypervisors:list", 1, 32, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors",        hypervisor_list,   POL_ADMIN, "os_compute_api:os-hypervisors:list", 33, 52, QUERY(hypervisor_index_query_v233, 0) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors",        hypervisor_list,   POL_ADMIN, "os_compute_api:os-hypervisors:list", 53, MAXMV, QUERY(hypervisor_index_query_v253, 53) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/detail", hypervisor_detail, POL_ADMIN, "os_compute_api:os-hypervisors:list-detail", 1, 32, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/detail", hypervisor_detail, POL_ADMIN, "os_compute_api:os-hypervisors:list-detail", 33, 52, QUERY(hypervisor_index_query_v233, 0) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/detail", hypervisor_detail, POL_ADMIN, "os_compute_api:os-hypervisors:list-detail", 53, MAXMV, QUERY(hypervisor_index_query_v253, 53) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/statistics", hypervisor_statistics, POL_ADMIN, "os_compute_api:os-hypervisors:statistics", 1, 87, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/{id}",   hypervisor_show,   POL_ADMIN, "os_compute_api:os-hypervisors:show", 1, 52, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/{id}",   hypervisor_show,   POL_ADMIN, "os_compute_api:os-hypervisors:show", 53, MAXMV, QUERY(hypervisor_show_query_v253, 53) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/{id}/uptime",       hypervisor_uptime,  POL_ADMIN, "os_compute_api:os-hypervisors:uptime", 1, 87, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/{pattern}/search",  hypervisor_search,  POL_ADMIN, "os_compute_api:os-hypervisors:search", 1, 52, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-hypervisors/{pattern}/servers", hypervisor_servers, POL_ADMIN, "os_compute_api:os-hypervisors:servers", 1, 52, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-availability-zone",        az_list,   POL_ANY,   "os_compute_api:os-availability-zone:list", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-availability-zone/detail", az_detail, POL_ADMIN, "os_compute_api:os-availability-zone:detail", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-aggregates",        aggregate_list,   POL_ADMIN, "os_compute_api:os-aggregates:index", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_POST,       "/v2.1/os-aggregates",        aggregate_create, POL_ADMIN, "os_compute_api:os-aggregates:create", ANY_MV, BODY(aggregate_create_spec, struct aggregate_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-aggregates/{id}",   aggregate_show,   POL_ADMIN, "os_compute_api:os-aggregates:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_PUT,        "/v2.1/os-aggregates/{id}",   aggregate_update, POL_ADMIN, "os_compute_api:os-aggregates:update", ANY_MV, BODY(aggregate_update_spec, struct aggregate_in) },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/os-aggregates/{id}",   aggregate_delete, POL_ADMIN, "os_compute_api:os-aggregates:delete", ANY_MV, NOBODY },
/* Each action has its own rule (all admin): checked per action in the handler. */
{ SVC_COMPUTE, M_POST,       "/v2.1/os-aggregates/{id}/action", aggregate_action, POL_ANY, "os_compute_api:os-aggregates:{add_host,remove_host,set_metadata}", ANY_MV, BODY_OPEN(aggregate_action_spec, struct aggregate_in) },
/* os-server-groups: project-owned; "policies" until 2.63, "policy" + "rules" from 2.64. */
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-server-groups",      server_group_list,   POL_READER, "os_compute_api:os-server-groups:index", ANY_MV, QUERY(server_group_index_query, 75) },
{ SVC_COMPUTE, M_POST,       "/v2.1/os-server-groups",      server_group_create, POL_MEMBER, "os_compute_api:os-server-groups:create", 1, 63, BODY(server_group_create_v21, struct server_group_in) },
{ SVC_COMPUTE, M_POST,       "/v2.1/os-server-groups",      server_group_create, POL_MEMBER, "os_compute_api:os-server-groups:create", 64, MAXMV, BODY(server_group_create_v264, struct server_group_in) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-server-groups/{id}", server_group_show,   POL_READER, "os_compute_api:os-server-groups:show", ANY_MV, NOBODY },
{ SVC_COMPUTE, M_DELETE,     "/v2.1/os-server-groups/{id}", server_group_delete, POL_MEMBER, "os_compute_api:os-server-groups:delete", ANY_MV, NOBODY },
/* os-simple-tenant-usage: paging from 2.40; show is the owner's or an admin's (checked in the handler). */
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-simple-tenant-usage",             usage_list, POL_ADMIN,  "os_compute_api:os-simple-tenant-usage:list", 1, 39, QUERY(usage_index_query, 0) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-simple-tenant-usage",             usage_list, POL_ADMIN,  "os_compute_api:os-simple-tenant-usage:list", 40, MAXMV, QUERY(usage_index_query_v240, 75) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-simple-tenant-usage/{tenant_id}", usage_show, POL_READER, "os_compute_api:os-simple-tenant-usage:show", 1, 39, QUERY(usage_show_query, 0) },
{ SVC_COMPUTE, M_GET|M_HEAD, "/v2.1/os-simple-tenant-usage/{tenant_id}", usage_show, POL_READER, "os_compute_api:os-simple-tenant-usage:show", 40, MAXMV, QUERY(usage_show_query_v240, 75) },
/* @@ADMIN@@ */

/* ---- image (Glance v2), port 9292 ------------------------------------------------------- */
/* Image bodies are JSON objects, JSON-patch arrays or raw data: the handlers parse them
 * (image_parse_body) under Glance's media types. Ownership and membership checks are
 * per image, in the handlers (Glance's policy is target-based). The *_SVC personas let
 * compute agents (role service) read any image for their cache and upload the snapshots
 * they take into the images the compute API created, in any project. */
{ SVC_IMAGE, M_GET|M_HEAD, "/",                          image_versions,     POL_PUBLIC, "", ANY_MV, NOBODY },
{ SVC_IMAGE, M_GET|M_HEAD, "/versions",                  image_versions,     POL_PUBLIC, "", ANY_MV, NOBODY },
{ SVC_IMAGE, M_GET|M_HEAD, "/v2",                        image_versions,     POL_PUBLIC, "", ANY_MV, NOBODY },
{ SVC_IMAGE, M_GET|M_HEAD, "/v2/images",                 image_list,         POL_ANY, "get_images", ANY_MV, NOBODY },
{ SVC_IMAGE, M_POST,       "/v2/images",                 image_create,       POL_MEMBER, "add_image", ANY_MV, NOBODY },
{ SVC_IMAGE, M_GET|M_HEAD, "/v2/images/{id}",            image_show,         POL_ANY_SVC, "get_image", ANY_MV, NOBODY },
{ SVC_IMAGE, M_PATCH,      "/v2/images/{id}",            image_update,       POL_MEMBER, "modify_image", ANY_MV, NOBODY },
{ SVC_IMAGE, M_DELETE,     "/v2/images/{id}",            image_delete,       POL_MEMBER, "delete_image", ANY_MV, NOBODY },
{ SVC_IMAGE, M_PUT,        "/v2/images/{id}/file",       image_upload,       POL_MEMBER_SVC, "upload_image", ANY_MV, STREAM(image_upload_ops) },
{ SVC_IMAGE, M_GET,        "/v2/images/{id}/file",       image_download,     POL_ANY_SVC, "download_image", ANY_MV, NOBODY },
{ SVC_IMAGE, M_POST,       "/v2/images/{id}/actions/deactivate", image_deactivate, POL_MEMBER, "deactivate", ANY_MV, NOBODY },
{ SVC_IMAGE, M_POST,       "/v2/images/{id}/actions/reactivate", image_reactivate, POL_MEMBER, "reactivate", ANY_MV, NOBODY },
{ SVC_IMAGE, M_PUT,        "/v2/images/{id}/tags/{tag}", image_tag_add,      POL_MEMBER, "modify_image", ANY_MV, NOBODY },
{ SVC_IMAGE, M_DELETE,     "/v2/images/{id}/tags/{tag}", image_tag_delete,   POL_MEMBER, "modify_image", ANY_MV, NOBODY },
{ SVC_IMAGE, M_GET|M_HEAD, "/v2/images/{id}/members",    image_member_list,  POL_ANY, "get_members", ANY_MV, NOBODY },
{ SVC_IMAGE, M_POST,       "/v2/images/{id}/members",    image_member_create, POL_MEMBER, "add_member", ANY_MV, NOBODY },
{ SVC_IMAGE, M_GET|M_HEAD, "/v2/images/{id}/members/{member}", image_member_show, POL_ANY, "get_member", ANY_MV, NOBODY },
{ SVC_IMAGE, M_PUT,        "/v2/images/{id}/members/{member}", image_member_update, POL_ANY, "modify_member", ANY_MV, NOBODY },
{ SVC_IMAGE, M_DELETE,     "/v2/images/{id}/members/{member}", image_member_delete, POL_MEMBER, "delete_member", ANY_MV, NOBODY },
{ SVC_IMAGE, M_GET|M_HEAD, "/v2/schemas/{name}",         image_schema_show,  POL_ANY, "get_schema", ANY_MV, NOBODY },
/* ---- agent protocol (internal port 8790, service token only): docs/agent-protocol.md ---- */
{ SVC_INTERNAL, M_POST,       "/internal/v1/hosts",                   internal_host_register,  POL_SERVICE, "novalite:agent", ANY_MV, BODY(internal_host_spec, struct host_in) },
{ SVC_INTERNAL, M_POST,       "/internal/v1/agents/{agent}/heartbeat", internal_agent_heartbeat, POL_SERVICE, "novalite:agent", ANY_MV, NOBODY },
{ SVC_INTERNAL, M_GET,        "/internal/v1/agents/{agent}/tasks",    internal_tasks_poll,     POL_SERVICE, "novalite:agent", ANY_MV, NOBODY },
{ SVC_INTERNAL, M_GET,        "/internal/v1/hosts/{host}/instances",  internal_host_instances, POL_SERVICE, "novalite:agent", ANY_MV, NOBODY },
{ SVC_INTERNAL, M_PUT,        "/internal/v1/instances/{uuid}/power_state", internal_power_state, POL_SERVICE, "novalite:agent", ANY_MV, BODY(internal_power_spec, struct power_in) },
{ SVC_INTERNAL, M_POST,       "/internal/v1/instances/{uuid}/console", internal_console_append, POL_SERVICE, "novalite:agent", ANY_MV, BODY(internal_console_spec, struct console_in) },
{ SVC_INTERNAL, M_POST,       "/internal/v1/instances/{uuid}/fault",  internal_instance_fault, POL_SERVICE, "novalite:agent", ANY_MV, BODY(internal_fault_spec, struct fault_in) },
{ SVC_INTERNAL, M_POST,       "/internal/v1/tasks/{id}",              internal_task_result,    POL_SERVICE, "novalite:agent", ANY_MV, BODY(internal_result_spec, struct result_in) },
/* @@INTERNAL@@ */
};

const size_t routes_count = sizeof(routes) / sizeof(routes[0]);

/* Matches url against pattern, capturing {x} segments into r->params.
 * Params point into r->param_buf (percent-decoding is MHD's: it already decoded the url). */
static bool match(const char *pattern, const char *url, struct req *r)
{
	const char *p = pattern, *u = url;
	size_t used = 0;
	int n = 0;

	while (*p && *u) {
		if (*p == '{') {
			const char *end = strchr(u, '/');
			size_t len = end ? (size_t)(end - u) : strlen(u);
			if (len == 0 || n >= MAX_PARAMS || used + len + 1 > sizeof(r->param_buf))
				return false;
			memcpy(r->param_buf + used, u, len);
			r->param_buf[used + len] = '\0';
			r->params[n++] = r->param_buf + used;
			used += len + 1;
			u += len;
			p = strchr(p, '}') + 1;
			continue;
		}
		if (*p != *u)
			return false;
		p++;
		u++;
	}
	if (*p || *u)
		return false;
	r->nparams = n;
	return true;
}

const struct route *router_match(struct req *r, int *status)
{
	bool path_seen = false, version_miss = false;
	char url[2048];
	size_t len = strlen(r->url);

	/* "/v2.1/" and "/v2.1" are the same resource; so is "/v3/" and "/v3". */
	if (len >= sizeof(url)) {
		*status = 404;
		return NULL;
	}
	memcpy(url, r->url, len + 1);
	while (len > 1 && url[len - 1] == '/')
		url[--len] = '\0';

	for (size_t i = 0; i < routes_count; i++) {
		const struct route *rt = &routes[i];
		if (rt->svc != r->svc || !match(rt->pattern, url, r))
			continue;
		path_seen = true;
		if (!(rt->methods & r->method))
			continue;
		if (rt->mv_min && (r->mv < rt->mv_min || r->mv > rt->mv_max)) {
			version_miss = true;
			continue;
		}
		*status = 200;
		return rt;
	}
	*status = (path_seen && !version_miss) ? 405 : 404;
	return NULL;
}
