/* Request specs and inputs of the servers API. */
#ifndef NL_COMPUTE_SERVERS_H
#define NL_COMPUTE_SERVERS_H

#include "common/json_spec.h"

#endif
