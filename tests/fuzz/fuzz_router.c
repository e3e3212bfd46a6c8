/* libFuzzer target: route matching (api/router.c) and microversion negotiation
 * (api/microversion.c), the two parsers every request meets first.
 *
 * Input: byte 0 the service, byte 1 the method, then three NUL- or newline-separated
 * strings: the (already percent-decoded) path as libmicrohttpd hands it over, the
 * OpenStack-API-Version header and the legacy X-OpenStack-Nova-API-Version header
 * (an empty string stands for "absent"). Invariants: negotiation gives 2.MV_MIN ..
 * 2.MV_MAX or a 400/406; the router answers 200/404/405; a matched route belongs to the
 * service, allows the method and contains the microversion; every captured parameter
 * is non-empty, has no '/', and lies inside the request's parameter buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/microversion.h"
#include "api/router.h"

static const enum http_method methods[] = { M_GET, M_HEAD, M_POST, M_PUT, M_DELETE, M_PATCH };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req *r;
	struct nl_error err = { 0 };
	char *buf, *part[3] = { NULL, NULL, NULL };
	int status = 0, mv = 0;

	if (size < 2)
		return 0;
	buf = malloc(size - 1);
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = '\0';
	/* Split at newlines; a NUL inside the path ends it, as it would in C. */
	part[0] = buf;
	for (int i = 1; i < 3; i++) {
		char *nl = part[i - 1] ? strchr(part[i - 1], '\n') : NULL;
		if (nl) {
			*nl = '\0';
			part[i] = nl + 1;
		}
	}

	r = calloc(1, sizeof(*r));
	r->svc = (enum service)(data[0] % SVC_COUNT);
	r->method = methods[data[1] % 6];
	r->method_name = "X";
	r->url = part[0];
	r->mv = 1;

	const char *hdr = part[1] && *part[1] ? part[1] : NULL;
	const char *legacy = part[2] && *part[2] ? part[2] : NULL;
	if (microversion_negotiate(hdr, legacy, &mv, &err) == 0) {
		if (mv < MV_MIN || mv > MV_MAX)
			abort();
		r->mv = mv;
	} else if ((err.status != 400 && err.status != 406) || strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg)) {
		abort();
	}

	const struct route *rt = router_match(r, &status);
	if (rt) {
		if (status != 200 || rt->svc != r->svc || !(rt->methods & r->method) ||
		    (rt->mv_min && (r->mv < rt->mv_min || r->mv > rt->mv_max)))
			abort();
		if (r->nparams < 0 || r->nparams > MAX_PARAMS)
			abort();
		for (int i = 0; i < r->nparams; i++) {
			const char *p = r->params[i];
			if (p < r->param_buf || p >= r->param_buf + sizeof(r->param_buf) || !*p || strchr(p, '/'))
				abort();
		}
	} else if (status != 404 && status != 405) {
		abort();
	}
	free(r);
	free(buf);
	return 0;
}
