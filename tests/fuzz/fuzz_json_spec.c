/* libFuzzer target: request bodies through the real route specs (common/json_spec.c).
 *
 * Input: byte 0 picks one of the route table's body specs (api/router.c), the rest is
 * the body, parsed exactly as the pipeline does (server_parse_body: json_loadb with
 * JSON_REJECT_DUPLICATES, then json_spec_validate). Invariants: no crash, leak or UB;
 * a failure is a 400 with a NUL-terminated message; an accepted body, dumped and parsed
 * again, is accepted again (validation depends on the value, not on its spelling). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/server.h"
#include "common/json_spec.h"

static const struct route *body_routes[512];
static size_t n_body_routes;

static void init(void)
{
	if (n_body_routes)
		return;
	json_object_seed(1);
	for (size_t i = 0; i < routes_count && n_body_routes < 512; i++)
		if (routes[i].spec)
			body_routes[n_body_routes++] = &routes[i];
	if (!n_body_routes)
		abort();
}

static int validate(const struct route *rt, const char *body, size_t len, json_t **json, struct nl_error *err)
{
	void *input = calloc(1, rt->input_size ? rt->input_size : 1);
	int rc = server_parse_body(rt, rt->svc, body, len, json, input, err);
	free(input);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nl_error err = { 0 };
	json_t *json = NULL;
	char repr[512];

	init();
	if (size < 1)
		return 0;
	const struct route *rt = body_routes[data[0] % n_body_routes];
	int rc = validate(rt, (const char *)data + 1, size - 1, &json, &err);
	if (rc) {
		if (err.status != 400 || strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
			abort();
	} else if (json) {
		/* Round trip: what passed once passes again. */
		char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
		json_t *again = NULL;
		struct nl_error err2 = { 0 };
		if (!text)
			abort();
		if (validate(rt, text, strlen(text), &again, &err2))
			abort();
		json_decref(again);
		free(text);
	}
	if (json)
		json_py_repr(json, repr, sizeof(repr));
	json_decref(json);
	return 0;
}
