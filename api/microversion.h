/* Compute microversion negotiation (OpenStack-API-Version / X-OpenStack-Nova-API-Version). */
#ifndef NL_MICROVERSION_H
#define NL_MICROVERSION_H

#include "common/error.h"

#define MV_MIN 1     /* 2.1 */
#define MV_MAX 93    /* 2.93: the newest Nova release Debian 12 ships (Zed); see docs/api-coverage.md */

/* Picks the version from the two headers (either may be NULL). Sets *mv to the minor
 * number. Errors: 400 for a malformed version, 406 for one outside [MV_MIN, MV_MAX]. */
int microversion_negotiate(const char *openstack_api_version, const char *legacy, int *mv,
			   struct nl_error *err);

#endif
