/* The request and response every handler sees, and the route table entry.
 *
 * A handler gets a fully checked request: route matched, microversion negotiated,
 * token validated, policy passed, body parsed and validated into r->input. It fills
 * struct resp or returns -1 with err set; it never writes to the socket. */
#ifndef NL_HTTP_H
#define NL_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/json_spec.h"

struct MHD_Connection;

/* SVC_INTERNAL is the agent protocol's port: thread per connection (its handlers block
 * in long polls), Nova-style errors, no microversions. */
enum service { SVC_IDENTITY = 0, SVC_COMPUTE, SVC_IMAGE, SVC_INTERNAL, SVC_COUNT };

enum http_method { M_GET = 1, M_HEAD = 2, M_POST = 4, M_PUT = 8, M_DELETE = 16, M_PATCH = 32 };

/* Role bits of a token, with implications applied (admin ⊇ member ⊇ reader).
 * ROLE_ADMIN is the cloud admin: the admin role on a token scoped to the admin
 * (bootstrap) project or to the system. The admin role on any other scope gives ROLE_SCOPE_ADMIN
 * instead: admin of that project (a member there, nothing more) or of that domain
 * (its identity objects only); see auth_scope_roles() and docs/operations.md. */
#define ROLE_READER  0x1u
#define ROLE_MEMBER  0x2u
#define ROLE_ADMIN   0x4u
#define ROLE_SERVICE 0x8u
#define ROLE_SCOPE_ADMIN 0x10u

struct auth {
	bool valid;
	char user_id[64];
	char user_name[256];
	char user_domain_id[64];
	char project_id[64];     /* "" when not project scoped */
	char project_domain_id[64];
	char domain_id[64];      /* domain-scoped token */
	bool system;             /* system-scoped token: identity only, compute/image refuse it */
	unsigned roles;
	int64_t expires_at;
};

/* Policy kinds, as Nova's and Keystone's default personas. */
enum policy {
	POL_PUBLIC = 0,       /* no token needed (discovery, token issue) */
	POL_ANY,              /* any valid token */
	POL_READER,           /* project-scoped reader (or admin) */
	POL_MEMBER,           /* project-scoped member (or admin) */
	POL_ADMIN,            /* role admin */
	POL_ADMIN_OR_SELF,    /* admin, or the user named in the path ({user_id}) */
	POL_SERVICE,          /* role service or admin (agents) */
	/* The two below also let the service role (compute agents) reach any project's
	 * resource, as admins can: the handler asks auth_service_wide(). Only the image
	 * routes an agent needs use them (download for its cache, snapshot upload). */
	POL_ANY_SVC,          /* any valid token; service: every project's resource */
	POL_MEMBER_SVC,       /* project member or admin, or role service on any project */
	/* Identity administration a domain admin may also do (admin role on a domain-scoped
	 * token): the handler confines it to that domain (identity_domain_admin_may). */
	POL_DOMAIN_ADMIN,
};

struct req;
struct resp;
typedef int (*handler_fn)(struct req *r, struct resp *out, struct nl_error *err);

/* A route whose body is streamed (image data): after the token and policy checks,
 * open() runs before the first byte, write() for every chunk as it arrives (nothing is
 * buffered), and the route's handler when the body is complete. abort() runs instead
 * of the handler if the client goes away or a write fails; it must undo open(). */
struct stream_ops {
	int (*open)(struct req *r, struct nl_error *err);
	int (*write)(struct req *r, const char *data, size_t len, struct nl_error *err);
	void (*abort)(struct req *r);
};

struct route {
	enum service svc;
	unsigned methods;          /* M_* bits */
	const char *pattern;       /* "/v2.1/flavors/{id}" */
	handler_fn handler;
	enum policy policy;
	const char *rule;          /* policy rule name, as upstream names it (shown on 403) */
	int mv_min, mv_max;        /* compute minor versions, inclusive; 0,0 = any */
	const struct field_spec *spec;   /* request body spec, NULL = no body expected */
	unsigned spec_flags;       /* root flags (SPEC_NO_EXTRA) */
	size_t input_size;         /* size of the struct the spec fills */
	const struct field_spec *query;  /* query-string spec (values are strings), NULL = none */
	int query_strict_mv;       /* from this microversion unknown query parameters are 400 */
	const struct stream_ops *stream; /* streamed body (no size limit, never buffered) */
};

#define MAX_PARAMS 4

struct req {
	struct MHD_Connection *conn;
	enum service svc;
	enum http_method method;
	const char *method_name;
	const char *url;           /* path without query, borrowed from MHD */
	const struct route *route;
	const char *params[MAX_PARAMS];
	char param_buf[1024];      /* storage for decoded path params */
	int nparams;

	char *body;                /* request body (owned), NUL-terminated */
	size_t body_len;
	size_t body_cap;
	bool body_too_large;
	bool responded;            /* a response is queued; ignore further upload */
	size_t discarded;          /* oversize body bytes read and dropped */
	json_t *json;              /* parsed body (owned) */
	void *input;               /* spec output (owned), route->input_size bytes */

	struct auth auth;
	int mv;                    /* negotiated compute minor version (2.mv) */

	/* streamed bodies (route->stream) */
	bool streaming;            /* open() succeeded; chunks go to write() */
	bool stream_failed;        /* a check, open() or write() failed: stream_err is the answer */
	bool stream_done;          /* handler or abort() ran */
	struct nl_error stream_err;
	void *stream_ctx;          /* owned by the route's stream_ops */
	uint64_t streamed;         /* bytes received */
	char request_id[48];
	int64_t start_us;
	char client_ip[64];
};

#define RESP_MAX_HEADERS 8

struct resp {
	int status;
	int fd;                    /* >= 0: send fd_len bytes of this file from fd_off (owned) */
	uint64_t fd_off, fd_len;
	json_t *body;              /* owned; rendered as JSON */
	char *raw;                 /* owned; sent as is when body is NULL */
	size_t raw_len;
	const char *content_type;
	const char *hdr_name[RESP_MAX_HEADERS];
	char *hdr_value[RESP_MAX_HEADERS]; /* owned */
	int nhdr;
};

/* Helpers for handlers. */
const char *req_param(const struct req *r, int i);
const char *req_query(const struct req *r, const char *name);
const char *req_header(const struct req *r, const char *name);
/* Calls fn for every query parameter, in order (repeated ones once per value). */
void req_query_each(const struct req *r, void (*fn)(const char *key, const char *value, void *ctx), void *ctx);
void resp_json(struct resp *out, int status, json_t *body);   /* steals body */
/* True when the client has closed its end (a long poll whose agent went away). */
bool req_client_gone(const struct req *r);
void resp_header(struct resp *out, const char *name, const char *value);
/* Base URL of a service as clients should reach it, e.g. "http://127.0.0.1:8774". */
const char *service_base_url(enum service svc);

/* The whole route table (api/router.c). */
extern const struct route routes[];
extern const size_t routes_count;

#endif
