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

/* The compute agents' service user (novalite-compute, role service on project service).
 * known: the password a previous start wrote to STATE/compute-openrc, or NULL. When the
 * user exists and its password is known it is kept; otherwise a random one is set. The
 * password in force is copied to out. */
int identity_bootstrap_service_user(const char *name, const char *known, char *out, size_t outlen,
				    struct nl_error *err);

#endif
