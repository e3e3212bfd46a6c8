/* Nova v2.1: request specs, input structs, and helpers shared by compute resources. */
#ifndef NL_COMPUTE_H
#define NL_COMPUTE_H

#include "api/http.h"

struct flavor_in {
	spec_str_t name, description;
	spec_json_t id;
	spec_int_t ram, vcpus, disk, ephemeral, swap;
	spec_num_t rxtx_factor;
	spec_bool_t is_public;
};
struct extra_specs_in { spec_json_t specs; };
struct flavor_action_in { spec_json_t add, remove; spec_str_t add_tenant, remove_tenant; };
struct keypair_in { spec_str_t name, public_key, type, user_id; };
/* Quota values: -1 (unlimited) .. 0x7FFFFFFF; `set` says which were given. */
struct quota_in {
	spec_int_t instances, cores, ram, key_pairs, metadata_items, server_groups, server_group_members;
	spec_int_t injected_files, injected_file_content_bytes, injected_file_path_bytes;
	spec_int_t fixed_ips, floating_ips, security_groups, security_group_rules, networks;
	spec_bool_t force;
};

struct image_meta_in { spec_json_t map; };
extern const struct field_spec image_metadata_spec[], image_meta_spec[];
extern const struct field_spec flavor_create_v21[], flavor_create_v255[], flavor_update_v255[];
extern const struct field_spec extra_specs_create_spec[], extra_spec_update_spec[], flavor_action_spec[];
extern const struct field_spec flavor_index_query[], keypair_index_query_v210[], keypair_index_query_v235[];
extern const struct field_spec keypair_create_v21[], keypair_create_v22[], keypair_create_v210[], keypair_create_v292[];
extern const struct field_spec quota_update_v21[], quota_update_v236[], quota_update_v257[];
extern const struct field_spec quota_class_update_v21[], quota_class_update_v250[], quota_class_update_v257[];

/* "http://host:8774/v2.1/<rest>" and "http://host:8774/<rest>" (Nova's bookmark links). */
json_t *compute_links(const char *rest);
/* Reads limit/marker-style integer query parameters with Nova's 400 wording. */
int compute_query_int(const struct req *r, const char *name, long long min, long long *out, bool *present,
		      struct nl_error *err);

#endif
