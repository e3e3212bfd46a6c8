/* The agent protocol (docs/agent-protocol.md): specs, inputs and the task wake-up. */
#ifndef NL_INTERNAL_H
#define NL_INTERNAL_H

#include <jansson.h>

#include "api/http.h"
#include "common/json_spec.h"

struct host_in {
	spec_str_t host, agent, hypervisor_hostname, hypervisor_type, arch, host_ip, vnc_listen;
	spec_int_t hypervisor_version, vcpus, memory_mb, local_gb;
	spec_json_t cpu_info;
};
struct result_in { spec_str_t status, message, console, console_address; spec_int_t power_state; };
struct power_in { spec_int_t power_state; };
struct console_in { spec_str_t text; };
struct fault_in { spec_str_t message; };
extern const struct field_spec internal_host_spec[], internal_result_spec[], internal_power_spec[],
	internal_console_spec[], internal_fault_spec[];

/* Wakes every agent long poll: call after committing new tasks. */
void internal_tasks_notify(void);
/* Makes every long poll answer now and refuse to wait again (daemon stopping). */
void internal_shutdown(void);
/* The INSTANCE object of the protocol, from an instance row (db_server_get). Owned. */
json_t *internal_instance_payload(json_t *row);

/* ---- agent identities (api/internal/agent_identity.c) ----
 * Every internal route acts only on what the caller's identity holds: its agent names,
 * the hosts it claimed, their instances and tasks. Anything else answers as if it did
 * not exist (404), so an agent cannot even learn what other hosts run; registering a
 * name another identity holds is 403 (the operator must learn why). */

/* The user whose claims bound the request: the token's user, or NULL for an admin
 * token (an admin may act for any agent; its calls claim nothing). */
const char *internal_owner(const struct req *r);
/* Whether s is an IPv4 or IPv6 address literal (no brackets, no port). */
bool internal_ip_literal(const char *s);
/* Whether an agent may report addr as a guest's VNC address: "IPv4:port",
 * "[IPv6]:port" or "localhost:port", port 1..65535, the address loopback or equal to
 * vnc_listen (the host's registered listen address; NULL: none). Never a host name. */
bool internal_console_address_ok(const char *addr, const char *vnc_listen);

#endif
