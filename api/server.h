/* Starts and stops the HTTP listeners (one per API family). */
#ifndef NL_SERVER_H
#define NL_SERVER_H

#include <jansson.h>

#include "api/http.h"
#include "common/error.h"

int server_start(struct nl_error *err);
void server_stop(void);

/* The pipeline's parsing steps, without a connection (the fuzz targets call them).
 * server_parse_body: body bytes (len 0 = no body) -> *json (owned by the caller, NULL
 * when there is no body) -> rt's body spec, filling input (rt->input_size bytes, zeroed).
 * server_validate_query: query parameters already collected into an object of strings
 * (first value of a repeated name) -> rt's query spec at microversion mv.
 * Both return 0, or -1 with err set (400, the service's wording). */
int server_parse_body(const struct route *rt, enum service svc, const char *body, size_t len, json_t **json,
		      void *input, struct nl_error *err);
int server_validate_query(const struct route *rt, int mv, json_t *query, struct nl_error *err);

#endif
