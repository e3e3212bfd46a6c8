/* Agent identities: which Keystone user may act as which compute agent name and which
 * compute host (migration 008, docs/agent-protocol.md "Identities"). SQL only; the
 * internal API's handlers decide what a refusal looks like. */
#ifndef NL_DB_AGENTS_H
#define NL_DB_AGENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

/* Claims an agent name / a host name for user_id unless another user holds it. Inside a
 * transaction. 0: user_id holds it now (claimed now or before); 1: another user holds
 * it (nothing changed); -1 with err on a database error. */
int db_agent_name_claim(const char *agent, const char *user_id, int64_t now, struct nl_error *err);
int db_host_claim(const char *host, const char *user_id, int64_t now, struct nl_error *err);

/* Whether user_id holds the agent name / the host / the host of the instance (by
 * uuid) / the host of the task. False when the thing is unknown or unclaimed. */
bool db_agent_name_owned(const char *agent, const char *user_id);
bool db_host_owned(const char *host, const char *user_id);
bool db_instance_host_owned(const char *uuid, const char *user_id);

/* Releases a claim (an admin's decision). 0, 1 when there was none, -1 with err. */
int db_host_release(const char *host, struct nl_error *err);
int db_agent_name_release(const char *agent, struct nl_error *err);

/* Every agent name and host claim: [{"kind": "agent"|"host", "name", "user_id",
 * "user_name", "created_at"}], owned. */
json_t *db_agent_claims(void);

#endif
