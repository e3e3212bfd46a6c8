/* Request specs and inputs of the admin views (services, hypervisors, availability
 * zones, aggregates, server groups, usage). */
#ifndef NL_COMPUTE_ADMIN_H
#define NL_COMPUTE_ADMIN_H

#include "common/json_spec.h"

#endif
