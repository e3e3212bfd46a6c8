/* The agent protocol (docs/agent-protocol.md): specs, inputs and the task wake-up. */
#ifndef NL_INTERNAL_H
#define NL_INTERNAL_H

#include <jansson.h>

#include "common/json_spec.h"

struct host_in {
	spec_str_t host, agent, hypervisor_hostname, hypervisor_type, arch, host_ip;
	spec_int_t hypervisor_version, vcpus, memory_mb, local_gb;
	spec_json_t cpu_info;
};
struct result_in { spec_str_t status, message, console, console_address; spec_int_t power_state; };
struct power_in { spec_int_t power_state; };
struct console_in { spec_str_t text; };
extern const struct field_spec internal_host_spec[], internal_result_spec[], internal_power_spec[],
	internal_console_spec[];

/* Wakes every agent long poll: call after committing new tasks. */
void internal_tasks_notify(void);
/* Makes every long poll answer now and refuse to wait again (daemon stopping). */
void internal_shutdown(void);
/* The INSTANCE object of the protocol, from an instance row (db_server_get). Owned. */
json_t *internal_instance_payload(json_t *row);

#endif
