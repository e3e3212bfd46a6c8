/* The compute agent's HTTP client: JSON requests to the API's internal endpoint with a
 * Keystone token, over libcurl.
 *
 * One client per agent thread (not thread-safe), except http_client_cancel(), which any
 * thread may call to make the request in progress, and every later one, return at once:
 * that is how agent_stop() interrupts a long poll. Connections are kept alive between
 * requests. The token and the password are never logged and never put in err. */
#ifndef NL_COMPUTE_HTTP_H
#define NL_COMPUTE_HTTP_H

#include <stdbool.h>

#include <jansson.h>

#include "common/error.h"

/* http_request()'s results below 100 (otherwise it returns the HTTP status). */
#define HTTP_UNREACHABLE (-1)   /* connect/DNS/timeout/reset: worth retrying later */
#define HTTP_CANCELLED (-2)     /* http_client_cancel() was called */

struct http_credentials {
	const char *auth_url;       /* Keystone v3 base, e.g. http://127.0.0.1:5000/v3 */
	const char *username, *password, *project_name;
	const char *user_domain, *project_domain;   /* names, e.g. "Default" */
};

struct http_client;

/* base_url: the API's internal endpoint, e.g. http://127.0.0.1:8790. The credentials are
 * copied. Returns NULL with err only when libcurl cannot be set up. */
struct http_client *http_client_new(const char *base_url, const struct http_credentials *cred,
				    struct nl_error *err);
/* Wipes the token and password copies. NULL is a no-op. */
void http_client_free(struct http_client *c);

/* Gets a project-scoped token (POST {auth_url}/auth/tokens, password method). Returns 0,
 * or HTTP_UNREACHABLE / HTTP_CANCELLED / Keystone's status (401: wrong credentials) with
 * err set. Requests authenticate by themselves when they have no token. */
int http_authenticate(struct http_client *c, struct nl_error *err);

/* METHOD base_url + path, body serialised as JSON when not NULL (borrowed). Waits at most
 * timeout_s for the whole exchange (a long poll passes more than its wait). On a 401 it
 * authenticates again and retries once. Returns the HTTP status, with *resp the parsed
 * JSON body (new reference; NULL when empty or not JSON) if resp is not NULL; or
 * HTTP_UNREACHABLE / HTTP_CANCELLED with err set. A status >= 400 also sets err, from
 * the body's message when it has one; a malformed URL is reported as 400. */
int http_request(struct http_client *c, const char *method, const char *path, json_t *body,
		 long timeout_s, json_t **resp, struct nl_error *err);

/* The image service's endpoint from the catalog of the agent's token (authenticating
 * first when there is no token yet), e.g. "http://127.0.0.1:9292"; NULL with err when the
 * catalog has none. Borrowed: valid until the client is freed. */
const char *http_image_url(struct http_client *c, struct nl_error *err);

/* GET of an absolute URL with the token (JSON answer), as http_request. */
int http_get_json(struct http_client *c, const char *url, json_t **resp, struct nl_error *err);

/* Streams the body of GET url into sink (0: go on, -1: abort, e.g. disk full) as it
 * arrives; nothing is held in memory. Same return values as http_request; a transfer only
 * times out when it stalls (under 1 KiB/s for 60 s). */
int http_download(struct http_client *c, const char *url, int (*sink)(void *arg, const char *data, size_t n),
		  void *arg, struct nl_error *err);

/* PUT url with the size bytes of fd (read from its start) as the body. */
int http_upload(struct http_client *c, const char *url, int fd, long long size, const char *content_type,
		struct nl_error *err);

/* Sleeps ms milliseconds unless cancelled: returns 0, or HTTP_CANCELLED at once. */
int http_sleep(struct http_client *c, long ms);

/* Thread-safe: aborts the request in progress and fails every later one. */
void http_client_cancel(struct http_client *c);
bool http_client_cancelled(struct http_client *c);

/* The local address this machine uses to reach url's host (the route's source address,
 * found with a connected UDP socket: nothing is sent). It is the host_ip a host registers
 * with, as Nova's my_ip. Returns 0, or -1 when url's host cannot be resolved. */
int http_route_ip(const char *url, char *out, size_t len);

/* Escapes s for use as one URL path segment into out. */
void http_path_escape(const char *s, char *out, size_t len);

#endif
