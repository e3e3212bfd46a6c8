/* Route lookup over the table in router.c. */
#ifndef NL_ROUTER_H
#define NL_ROUTER_H

#include "api/http.h"

/* Finds the route for r->svc, r->method, r->url and r->mv; fills r->params.
 * On no match returns NULL with *status 404 (no such path, or not in this
 * microversion) or 405 (path exists, method does not). */
const struct route *router_match(struct req *r, int *status);

#endif
