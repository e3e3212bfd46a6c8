/* libFuzzer target: query strings through the routes' query specs.
 *
 * Input: byte 0 picks a route with a query spec (api/router.c), byte 1 the negotiated
 * microversion (2.1 .. 2.MV_MAX, so the strict-from-2.75 rule is reached), the rest is
 * the raw query string after '?'. It is split the way libmicrohttpd does before our code
 * sees it ('&' between parameters, the first '=' between name and value, both
 * percent-decoded with MHD_http_unescape), collected as the pipeline does (first value
 * of a repeated name wins), then checked by server_validate_query. Invariants: no crash
 * or UB; a failure is a 400 with a NUL-terminated message. */
#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/microversion.h"
#include "api/server.h"

static const struct route *query_routes[256];
static size_t n_query_routes;

static void init(void)
{
	if (n_query_routes)
		return;
	json_object_seed(1);
	for (size_t i = 0; i < routes_count && n_query_routes < 256; i++)
		if (routes[i].query)
			query_routes[n_query_routes++] = &routes[i];
	if (!n_query_routes)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nl_error err = { 0 };

	init();
	if (size < 2)
		return 0;
	const struct route *rt = query_routes[data[0] % n_query_routes];
	int mv = MV_MIN + data[1] % (MV_MAX - MV_MIN + 1);
	char *qs = malloc(size - 1);
	memcpy(qs, data + 2, size - 2);
	qs[size - 2] = '\0';

	json_t *q = json_object();
	for (char *save = NULL, *kv = strtok_r(qs, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		if (eq)
			*eq++ = '\0';
		MHD_http_unescape(kv);
		if (eq)
			MHD_http_unescape(eq);
		/* json_object_set_new refuses keys that are not UTF-8, as MHD would hand them over:
		 * the spec then sees the rest. */
		if (!json_object_get(q, kv))
			json_object_set_new(q, kv, json_string(eq ? eq : ""));
	}
	if (server_validate_query(rt, mv, q, &err) &&
	    (err.status != 400 || strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg)))
		abort();
	json_decref(q);
	free(qs);
	return 0;
}
