/* Compute discovery documents, the Nova fault renderer, shared helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/compute/compute.h"
#include "api/handlers.h"
#include "api/microversion.h"
#include "api/render.h"

static json_t *v21_version(void)
{
	char href[400], max[16];
	snprintf(href, sizeof(href), "%s/v2.1/", service_base_url(SVC_COMPUTE));
	snprintf(max, sizeof(max), "2.%d", MV_MAX);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}",
			 "id", "v2.1", "status", "CURRENT", "version", max, "min_version", "2.1",
			 "updated", "2013-07-23T11:33:21Z",
			 "links", "rel", "self", "href", href,
			 "media-types", "base", "application/json", "type",
			 "application/vnd.openstack.compute+json;version=2.1");
}

int compute_versions(struct req *r, struct resp *out, struct nl_error *err)
{
	char href[400];
	(void)r; (void)err;
	snprintf(href, sizeof(href), "%s/v2/", service_base_url(SVC_COMPUTE));
	/* v2.0 is listed (clients expect it) but not served: novalite only speaks v2.1. */
	json_t *v20 = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}", "id", "v2.0", "status", "SUPPORTED",
				"version", "", "min_version", "", "updated", "2011-01-21T11:33:21Z",
				"links", "rel", "self", "href", href);
	resp_json(out, 200, json_pack("{s:[o, o]}", "versions", v20, v21_version()));
	return 0;
}

int compute_version_v21(struct req *r, struct resp *out, struct nl_error *err)
{
	(void)r; (void)err;
	resp_json(out, 200, json_pack("{s:o}", "version", v21_version()));
	return 0;
}

json_t *compute_links(const char *rest)
{
	char self[700], bookmark[700];
	snprintf(self, sizeof(self), "%s/v2.1/%s", service_base_url(SVC_COMPUTE), rest);
	snprintf(bookmark, sizeof(bookmark), "%s/%s", service_base_url(SVC_COMPUTE), rest);
	return json_pack("[{s:s, s:s}, {s:s, s:s}]", "rel", "self", "href", self, "rel", "bookmark", "href", bookmark);
}

int compute_query_int(const struct req *r, const char *name, long long min, long long *out, bool *present,
		      struct nl_error *err)
{
	const char *v = req_query(r, name);
	char *end;
	*present = false;
	if (!v)
		return 0;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!*v || *end || errno) {
		nl_err_set(err, 400, "Invalid input received: %s must be an integer", name);
		return -1;
	}
	if (x < min) {
		nl_err_set(err, 400, "Invalid input received: %s must be >= %lld", name, min);
		return -1;
	}
	*out = x;
	*present = true;
	return 0;
}

/* The one Nova fault renderer: {"<faultName>": {"code": N, "message": "..."}}
 * (nova/api/openstack/wsgi.py Fault). 5xx text is never shown: it may carry internals. */
void compute_render_error(const struct req *r, const struct nl_error *err, struct resp *out)
{
	const char *name;
	const char *msg = err->msg;
	int status = err->status >= 400 ? err->status : 500;
	(void)r;
	switch (status) {
	case 400: name = "badRequest"; break;
	case 401: name = "unauthorized"; break;
	case 403: name = "forbidden"; break;
	case 404: name = "itemNotFound"; break;
	case 405: name = "badMethod"; break;
	case 409: name = "conflictingRequest"; break;
	case 413: name = "overLimit"; break;
	case 415: name = "badMediaType"; break;
	case 429: name = "overLimit"; break;
	case 501: name = "notImplemented"; break;
	case 503: name = "serviceUnavailable"; break;
	default: name = "computeFault"; break;
	}
	if (status == 500)
		msg = "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the "
		      "Nova API log if possible.";
	json_t *body = json_pack("{s:{s:i, s:s}}", name, "code", status, "message", msg);
	if (!body)   /* a message that is not valid UTF-8 must still give a body */
		body = json_pack("{s:{s:i, s:s}}", name, "code", status, "message", "Invalid request.");
	resp_json(out, status, body);
}
