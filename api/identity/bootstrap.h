/* First-start set-up of identity: Default domain, standard roles, admin project and
 * user (Keystone's `keystone-manage bootstrap`). Idempotent. */
#ifndef NL_BOOTSTRAP_H
#define NL_BOOTSTRAP_H

#include <stddef.h>

#include "common/error.h"

/* password: the admin password to set, or NULL to keep an existing admin's password
 * (a new admin then gets a random one). The password in force is copied to out when
 * known (set now, or generated now); out is "" when an existing password was kept. */
int identity_bootstrap(const char *password, char *out, size_t outlen, struct nl_error *err);

#endif
