/* One error renderer per API family; the dispatcher picks by service. */
#ifndef NL_RENDER_H
#define NL_RENDER_H

#include "api/http.h"

void compute_render_error(const struct req *r, const struct nl_error *err, struct resp *out);
void identity_render_error(const struct req *r, const struct nl_error *err, struct resp *out);

#endif
