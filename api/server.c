/* libmicrohttpd glue and the generic request pipeline.
 *
 * Every request runs the same steps, once, here (handlers only do their resource's
 * work): collect body (size-capped) → route → microversion → token → body spec →
 * policy → handler → headers + render → one access-log line. Any step's failure is a
 * struct nl_error rendered by the service's renderer. */
#include "api/server.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "api/auth.h"
#include "api/microversion.h"
#include "api/image/image.h"
#include "api/render.h"
#include "api/router.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "db/db.h"

static struct MHD_Daemon *daemons[SVC_COUNT];
static char base_urls[SVC_COUNT][320];
static const char *svc_names[SVC_COUNT] = { "identity", "compute", "image", "internal" };

const char *service_base_url(enum service svc) { return base_urls[svc]; }

const char *req_param(const struct req *r, int i) { return i < r->nparams ? r->params[i] : NULL; }

const char *req_query(const struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *req_header(const struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct each_ctx { void (*fn)(const char *, const char *, void *); void *ctx; };

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct each_ctx *e = cls;
	(void)kind;
	e->fn(key, value ? value : "", e->ctx);
	return MHD_YES;
}

void req_query_each(const struct req *r, void (*fn)(const char *key, const char *value, void *ctx), void *ctx)
{
	struct each_ctx e = { fn, ctx };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &e);
}

void resp_json(struct resp *out, int status, json_t *body)
{
	out->status = status;
	json_decref(out->body);
	out->body = body;
}

void resp_header(struct resp *out, const char *name, const char *value)
{
	if (out->nhdr >= RESP_MAX_HEADERS)
		return;
	out->hdr_name[out->nhdr] = name;
	out->hdr_value[out->nhdr] = nl_strdup(value);
	out->nhdr++;
}

static void resp_clear(struct resp *out)
{
	if (out->fd >= 0)
		close(out->fd);
	json_decref(out->body);
	free(out->raw);
	for (int i = 0; i < out->nhdr; i++)
		free(out->hdr_value[i]);
	memset(out, 0, sizeof(*out));
	out->fd = -1;
}

static enum http_method parse_method(const char *m)
{
	if (!strcmp(m, "GET")) return M_GET;
	if (!strcmp(m, "HEAD")) return M_HEAD;
	if (!strcmp(m, "POST")) return M_POST;
	if (!strcmp(m, "PUT")) return M_PUT;
	if (!strcmp(m, "DELETE")) return M_DELETE;
	if (!strcmp(m, "PATCH")) return M_PATCH;
	return 0;
}

bool req_client_gone(const struct req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd p;
	if (!ci)
		return false;
	p.fd = ci->connect_fd;
	p.events = POLLRDHUP;
	p.revents = 0;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void render_error(const struct req *r, const struct nl_error *err, struct resp *out)
{
	if (err->status >= 500)
		log_error("%s %s: %s (%s:%d)", r->method_name, r->url, err->msg, err->file ? err->file : "?", err->line);
	resp_clear(out);
	if (r->svc == SVC_COMPUTE || r->svc == SVC_INTERNAL)
		compute_render_error(r, err, out);
	else if (r->svc == SVC_IMAGE)
		image_render_error(r, err, out);
	else
		identity_render_error(r, err, out);
	if (err->status == 401) {
		char v[400];
		snprintf(v, sizeof(v), "Keystone uri=\"%s\"", base_urls[SVC_IDENTITY]);
		resp_header(out, "WWW-Authenticate", v);
	}
}

/* Nova and Keystone take JSON; an absent or text/plain Content-Type is treated as JSON
 * (nova/api/openstack/wsgi.py Request.get_content_type). */
static bool content_type_ok(const char *ct)
{
	if (!ct || !*ct)
		return true;
	size_t n = strcspn(ct, ";");
	while (n && ct[n - 1] == ' ')
		n--;
	return (n == 16 && !strncasecmp(ct, "application/json", 16)) ||
	       (n == 10 && !strncasecmp(ct, "text/plain", 10));
}

static int parse_body(struct req *r, struct nl_error *err)
{
	const struct route *rt = r->route;

	if (!content_type_ok(req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)) && r->body_len) {
		if (r->svc == SVC_COMPUTE)
			nl_err_set(err, 415, "Unsupported Content-Type");
		else
			nl_err_set(err, 400, "Expecting to find application/json in Content-Type header. The server "
				   "could not comply with the request since it is either malformed or otherwise "
				   "incorrect. The client is assumed to be in error.");
		return -1;
	}
	r->input = nl_calloc(1, rt->input_size ? rt->input_size : 1);
	return server_parse_body(rt, r->svc, r->body, r->body_len, &r->json, r->input, err);
}

int server_parse_body(const struct route *rt, enum service svc, const char *body, size_t len, json_t **json,
		      void *input, struct nl_error *err)
{
	json_error_t jerr;

	*json = NULL;
	if (len) {
		*json = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (!*json) {
			if (svc == SVC_COMPUTE)
				nl_err_set(err, 400, "Malformed request body");
			else
				nl_err_set(err, 400, "Expecting to find valid JSON in request body. The server could not "
					   "comply with the request since it is either malformed or otherwise incorrect. "
					   "The client is assumed to be in error.");
			return -1;
		}
	}
	return json_spec_validate(rt->spec, rt->spec_flags, *json, input,
				  svc == SVC_COMPUTE ? SPEC_STYLE_NOVA : SPEC_STYLE_KEYSTONE, err);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	/* Repeated parameters: the first value, which is also what req_query() returns. */
	if (!json_object_get(cls, key))
		json_object_set_new(cls, key, value ? json_string(value) : json_string(""));
	return MHD_YES;
}

/* Query strings are validated like bodies (Nova's query schemas): every value is a
 * string; from the route's strict microversion unknown parameters are refused. */
static int validate_query(struct req *r, struct nl_error *err)
{
	json_t *q = json_object();
	int rc;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, q);
	rc = server_validate_query(r->route, r->mv, q, err);
	json_decref(q);
	return rc;
}

int server_validate_query(const struct route *rt, int mv, json_t *query, struct nl_error *err)
{
	return json_spec_validate(rt->query, rt->query_strict_mv && mv >= rt->query_strict_mv ? SPEC_NO_EXTRA : 0,
				  query, NULL, SPEC_STYLE_NOVA_QUERY, err);
}

/* For a streamed route, runs the checks of the pipeline before the body arrives and
 * opens the stream. Returns 1 when the request is a streamed one (then either
 * r->streaming or r->stream_failed is set), 0 for an ordinary request. */
static int stream_start(struct req *r)
{
	const struct route *rt;
	int status;

	if (r->method != M_PUT && r->method != M_POST)
		return 0;
	rt = router_match(r, &status);
	if (!rt || !rt->stream)
		return 0;
	r->route = rt;
	const char *tok = req_header(r, "X-Auth-Token");
	if (!tok || !*tok) {
		nl_err_set(&r->stream_err, 401, "The request you have made requires authentication.");
		r->stream_failed = true;
	} else if (auth_token_check(tok, &r->auth, &r->stream_err) || policy_check(r, &r->stream_err) ||
		   rt->stream->open(r, &r->stream_err)) {
		r->stream_failed = true;
	} else {
		r->streaming = true;
	}
	db_request_end();
	return 1;
}

static int run_pipeline(struct req *r, struct resp *out, struct nl_error *err)
{
	int status;

	if (r->svc == SVC_COMPUTE) {
		if (microversion_negotiate(req_header(r, "OpenStack-API-Version"),
					   req_header(r, "X-OpenStack-Nova-API-Version"), &r->mv, err))
			return -1;
	}
	if (!r->method) {
		nl_err_set(err, 405, "The method specified is not allowed for this resource.");
		return -1;
	}
	r->route = router_match(r, &status);
	if (!r->route) {
		if (status == 405)
			nl_err_set(err, 405, "The method specified is not allowed for this resource.");
		else
			nl_err_set(err, 404, r->svc == SVC_COMPUTE ? "The resource could not be found." :
				   "The resource could not be found.");
		return -1;
	}
	if (r->route->policy != POL_PUBLIC) {
		const char *tok = req_header(r, "X-Auth-Token");
		if (!tok || !*tok) {
			nl_err_set(err, 401, "The request you have made requires authentication.");
			return -1;
		}
		if (auth_token_check(tok, &r->auth, err))
			return -1;
	}
	if (r->route->query && validate_query(r, err))
		return -1;
	if (r->route->spec && parse_body(r, err))
		return -1;
	if (policy_check(r, err))
		return -1;
	out->status = 200;
	return r->route->handler(r, out, err);
}

static void add_headers(struct req *r, struct resp *out, struct MHD_Response *mr)
{
	MHD_add_response_header(mr, "x-openstack-request-id", r->request_id);
	if (r->svc == SVC_COMPUTE) {
		char v[32];
		MHD_add_response_header(mr, "x-compute-request-id", r->request_id);
		snprintf(v, sizeof(v), "compute 2.%d", r->mv);
		MHD_add_response_header(mr, "OpenStack-API-Version", v);
		snprintf(v, sizeof(v), "2.%d", r->mv);
		MHD_add_response_header(mr, "X-OpenStack-Nova-API-Version", v);
		MHD_add_response_header(mr, "Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
	}
	for (int i = 0; i < out->nhdr; i++)
		MHD_add_response_header(mr, out->hdr_name[i], out->hdr_value[i]);
}

/* ---- slow clients: a deadline for every request's headers and body --------------------------
 *
 * MHD_OPTION_CONNECTION_TIMEOUT is an idle timeout: a client that trickles one header line
 * every 2 s resets it forever, and 1,024 such clients fill a port. So every connection is
 * tracked here (MHD_OPTION_NOTIFY_CONNECTION) with the phase its current request is in,
 * and a sweeper thread, once a second, shuts down the socket of any request that is late:
 *   headers  request_header_timeout s from the connection's start (or, on a kept-alive
 *            connection, connection_timeout + request_header_timeout s from the end of the
 *            previous request); past 3/4 of max_connections, 2 s (shedding under attack:
 *            real clients send their headers in milliseconds);
 *   body     request_header_timeout s of grace, then at least body_min_rate bytes/s on
 *            average (a multi-GiB upload at a good speed never gets near it);
 *   handler  no deadline (the agents' long polls wait in their handler).
 * shutdown() rather than close(): MHD still owns the fd and closes it when it sees the end
 * of the stream; the lock guarantees the fd is still this connection's (it is only closed
 * after the CLOSED notification, which unlinks the entry under the same lock). */
enum conn_phase { PH_HEADERS, PH_BODY, PH_HANDLER };

struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	enum service svc;
	enum conn_phase phase;
	bool kept_alive;          /* PH_HEADERS after a previous request on this connection */
	bool shut;                /* shutdown() done, waiting for MHD to close it */
	int64_t since_us;         /* start of the current phase */
	uint64_t body_bytes;
};

static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sweep_cond = PTHREAD_COND_INITIALIZER;
static struct conn_track *track_head;
static unsigned track_count[SVC_COUNT];
static pthread_t sweeper;
static bool sweeper_running, sweeper_stop;

#define SHED_HEADER_US (2 * 1000000LL)

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct conn_track *t = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		t = nl_calloc(1, sizeof(*t));
		t->fd = ci ? ci->connect_fd : -1;
		t->svc = (enum service)(intptr_t)cls;
		t->phase = PH_HEADERS;
		t->since_us = nl_now_us();
		pthread_mutex_lock(&track_lock);
		t->next = track_head;
		if (track_head)
			track_head->prev = t;
		track_head = t;
		track_count[t->svc]++;
		pthread_mutex_unlock(&track_lock);
		*socket_context = t;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && t) {
		pthread_mutex_lock(&track_lock);
		if (t->prev)
			t->prev->next = t->next;
		else
			track_head = t->next;
		if (t->next)
			t->next->prev = t->prev;
		track_count[t->svc]--;
		pthread_mutex_unlock(&track_lock);
		free(t);
		*socket_context = NULL;
	}
}

static struct conn_track *track_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* Moves the connection's current request to phase ph (body_bytes added to its count). */
static void track_phase(struct MHD_Connection *conn, enum conn_phase ph, uint64_t body_bytes)
{
	struct conn_track *t = track_of(conn);
	if (!t)
		return;
	pthread_mutex_lock(&track_lock);
	if (t->phase != ph) {
		t->phase = ph;
		t->since_us = nl_now_us();
		t->body_bytes = 0;
		t->kept_alive = false;
	}
	t->body_bytes += body_bytes;
	pthread_mutex_unlock(&track_lock);
}

/* The request is answered; the connection now waits for the next one (keep-alive). */
static void track_request_done(struct MHD_Connection *conn)
{
	struct conn_track *t = track_of(conn);
	if (!t)
		return;
	pthread_mutex_lock(&track_lock);
	t->phase = PH_HEADERS;
	t->kept_alive = true;
	t->since_us = nl_now_us();
	t->body_bytes = 0;
	pthread_mutex_unlock(&track_lock);
}

/* Is the request on t past its deadline at now? Called with track_lock held. */
static bool track_late(const struct conn_track *t, int64_t now, bool overloaded)
{
	int64_t age = now - t->since_us;
	int64_t hdr = (int64_t)g_config.request_header_timeout * 1000000;
	switch (t->phase) {
	case PH_HEADERS:
		if (overloaded && age > SHED_HEADER_US)
			return true;
		return age > hdr + (t->kept_alive ? (int64_t)g_config.connection_timeout * 1000000 : 0);
	case PH_BODY:
		return age > hdr + (int64_t)(t->body_bytes * 1000000 / (uint64_t)g_config.body_min_rate);
	case PH_HANDLER:
		break;
	}
	return false;
}

static void *sweep_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&track_lock);
	while (!sweeper_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&sweep_cond, &track_lock, &ts);
		if (sweeper_stop)
			break;
		int64_t now = nl_now_us();
		unsigned shut[SVC_COUNT][2] = { { 0 } };
		bool overloaded[SVC_COUNT];
		for (int s = 0; s < SVC_COUNT; s++)
			overloaded[s] = track_count[s] > (unsigned)g_config.max_connections * 3 / 4;
		for (struct conn_track *t = track_head; t; t = t->next) {
			if (t->shut || t->fd < 0 || !track_late(t, now, overloaded[t->svc]))
				continue;
			shutdown(t->fd, SHUT_RDWR);
			t->shut = true;
			shut[t->svc][t->phase == PH_BODY]++;
		}
		/* One line per port and sweep, not one per connection: a flood must not flood the log. */
		for (int s = 0; s < SVC_COUNT; s++)
			if (shut[s][0] || shut[s][1])
				log_warn("%s: closed %u connection(s) too slow to send their request headers and %u too slow "
					 "to send the body (%u open%s)", svc_names[s], shut[s][0], shut[s][1], track_count[s],
					 overloaded[s] ? ", over 3/4 of max_connections: shedding" : "");
	}
	pthread_mutex_unlock(&track_lock);
	return NULL;
}

static enum MHD_Result finish(struct MHD_Connection *conn, struct req *r)
{
	struct resp out = { .fd = -1 };
	struct nl_error err = { 0 };
	struct MHD_Response *mr;
	enum MHD_Result ret;
	char *text = NULL;
	size_t len = 0;

	r->responded = true;
	track_phase(conn, PH_HANDLER, 0);
	db_request_begin(r->method == M_GET || r->method == M_HEAD);
	if (r->body_too_large) {
		nl_err_set(&err, 413, "Request is too large. Larger than max_request_body_size (%d).",
			   g_config.max_body_bytes);
		render_error(r, &err, &out);
	} else if (r->stream_failed) {
		render_error(r, &r->stream_err, &out);
	} else if (r->streaming) {
		/* The checks ran before the first byte; the handler completes the upload. */
		r->stream_done = true;
		out.status = 200;
		if (r->route->handler(r, &out, &err))
			render_error(r, &err, &out);
	} else if (run_pipeline(r, &out, &err)) {
		render_error(r, &err, &out);
	}

	db_request_end();
	if (out.fd >= 0) {
		/* File bodies go out with sendfile(); MHD closes the fd when done. */
		mr = MHD_create_response_from_fd_at_offset64(out.fd_len, out.fd, out.fd_off);
		out.fd = -1;
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
					out.content_type ? out.content_type : "application/octet-stream");
	} else if (out.body) {
		text = json_dumps(out.body, JSON_COMPACT);
		len = text ? strlen(text) : 0;
		mr = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
					out.content_type ? out.content_type : "application/json");
	} else if (out.raw) {
		mr = MHD_create_response_from_buffer(out.raw_len, out.raw, MHD_RESPMEM_MUST_FREE);
		out.raw = NULL;
		if (out.content_type)
			MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type);
	} else {
		mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (out.status != 204 && out.status != 304)
			MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
						out.content_type ? out.content_type : "application/json");
	}
	add_headers(r, &out, mr);
	ret = MHD_queue_response(conn, (unsigned)out.status, mr);
	MHD_destroy_response(mr);

	/* The access log: never the query string's secrets, never a token. The agents' own
	 * traffic (a long poll and a heartbeat every 10 s per agent, console text every second)
	 * would drown the user's requests, so a successful internal request logs at debug. */
	log_msg(r->svc == SVC_INTERNAL && out.status < 400 ? LOG_DEBUG : LOG_INFO, "%s %s %s %d %.2fms %s project=%s", svc_names[r->svc], r->method_name, r->url,
		 out.status, (double)(nl_now_us() - r->start_us) / 1000.0, r->request_id,
		 r->auth.project_id[0] ? r->auth.project_id : "-");
	resp_clear(&out);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;
	(void)version;

	if (!r) {
		char uuid[37];
		const char *cl;
		const union MHD_ConnectionInfo *ci;

		r = nl_calloc(1, sizeof(*r));
		r->conn = conn;
		r->svc = (enum service)(intptr_t)cls;
		r->method_name = method;
		r->method = parse_method(method);
		r->url = url;
		r->start_us = nl_now_us();
		r->mv = 1;   /* 2.1 until negotiated */
		nl_uuid_new(uuid);
		snprintf(r->request_id, sizeof(r->request_id), "req-%s", uuid);
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr,
				  r->client_ip, sizeof(r->client_ip));
		*con_cls = r;
		track_phase(conn, PH_BODY, 0);   /* headers complete: the body's clock starts */
		if (stream_start(r))
			return r->stream_failed ? finish(conn, r) : MHD_YES;
		/* An announced oversize body is refused before it is read (as oslo.middleware's
		 * sizelimit does): a client sending "Expect: 100-continue" gets the 413 instead
		 * of "100 Continue"; MHD closes the connection afterwards. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)g_config.max_body_bytes) {
			r->body_too_large = true;
			return finish(conn, r);
		}
		return MHD_YES;
	}
	if (r->responded)
		return MHD_NO;
	if (*upload_size)
		track_phase(conn, PH_BODY, *upload_size);
	if (*upload_size && (r->streaming || r->stream_failed)) {
		size_t n = *upload_size;
		*upload_size = 0;
		r->streamed += n;
		if (r->stream_failed)
			return MHD_YES;   /* drain, then answer with the recorded error */
		if (r->route->stream->write(r, upload, n, &r->stream_err)) {
			r->stream_failed = true;
			r->stream_done = true;
			r->route->stream->abort(r);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (!r->body_too_large && r->body_len + n > (size_t)g_config.max_body_bytes)
			r->body_too_large = true;
		if (r->body_too_large) {
			/* Chunked oversize body: count and discard it so the client can read our 413,
			 * but give up (close) once it is absurdly large. */
			r->discarded += n;
			return r->discarded > 16 * (size_t)g_config.max_body_bytes ? MHD_NO : MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap : 4096;
			while (cap < r->body_len + n + 1)
				cap *= 2;
			char *nb = realloc(r->body, cap);
			if (!nb)
				return MHD_NO;
			r->body = nb;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	return finish(conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	(void)cls; (void)toe;
	track_request_done(conn);
	if (!r)
		return;
	if (r->streaming && !r->stream_done) {
		r->route->stream->abort(r);   /* the client went away mid-upload */
		log_info("%s %s %s aborted by the client after %llu bytes %.2fms %s project=%s", svc_names[r->svc],
			 r->method_name, r->url, (unsigned long long)r->streamed,
			 (double)(nl_now_us() - r->start_us) / 1000.0, r->request_id,
			 r->auth.project_id[0] ? r->auth.project_id : "-");
	}
	json_decref(r->json);
	free(r->body);
	free(r->input);
	free(r);
	*con_cls = NULL;
}

static void on_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
	(void)cls;
	log_error("libmicrohttpd panic at %s:%u: %s", file, line, reason ? reason : "");
	abort();
}

/* The listening socket, made here rather than by MHD: SO_REUSEADDR (so a port whose
 * last connections sit in TIME_WAIT can be bound at once after a restart) but never
 * SO_REUSEPORT (which would let a second daemon bind the same port and silently take
 * half of its connections). Returns the fd or -1. */
static int listen_socket(const struct sockaddr_in *sa)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) || listen(fd, 1024)) {
		close(fd);
		return -1;
	}
	return fd;
}

int server_start(struct nl_error *err)
{
	int ports[SVC_COUNT] = { g_config.identity_port, g_config.compute_port, g_config.image_port,
				 g_config.internal_port };
	const char *host = g_config.public_host[0] ? g_config.public_host : g_config.bind;
	struct sockaddr_in sa;

	MHD_set_panic_func(on_panic, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, g_config.bind, &sa.sin_addr) != 1) {
		nl_err_set(err, 2, "invalid bind address '%s' (an IPv4 address is expected)", g_config.bind);
		return -1;
	}
	for (int s = 0; s < SVC_COUNT; s++) {
		snprintf(base_urls[s], sizeof(base_urls[s]), "http://%s:%d", host, ports[s]);
		sa.sin_port = htons((uint16_t)ports[s]);
		/* The internal port's long polls block their handler: a thread per agent
		 * connection there (agents are few); a small epoll pool everywhere else. */
		bool tpc = s == SVC_INTERNAL;
		int lfd = listen_socket(&sa);
		if (lfd < 0) {
			nl_err_set(err, 1, "cannot listen on %s:%d for %s: %s", g_config.bind, ports[s], svc_names[s],
				   strerror(errno));
			server_stop();
			return -1;
		}
		daemons[s] = MHD_start_daemon(
			(tpc ? MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL : MHD_USE_EPOLL) |
				MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG,
			0, NULL, NULL, on_request, (void *)(intptr_t)s,
			MHD_OPTION_LISTEN_SOCKET, lfd,
			/* (MHD warns about any pool size with a thread per connection: the slot
			 * carries the connection limit instead there, set again below.) */
			tpc ? MHD_OPTION_CONNECTION_LIMIT : MHD_OPTION_THREAD_POOL_SIZE,
			(unsigned)(tpc ? g_config.max_connections : g_config.workers),
			/* Per address well below the whole (docs/operations.md, "Connection limits"):
			 * max_connections / per_ip_connections addresses are needed to fill a port. */
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)g_config.per_ip_connections,
			/* A long poll waits up to 30 s between request and answer. */
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(tpc ? 90 : g_config.connection_timeout),
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)g_config.max_connections,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, (void *)(intptr_t)s,
			/* Image data arrives in chunks as large as the connection's buffer: 256 KiB
			 * there (vs MHD's 32 KiB) means 8x fewer write()s per GiB uploaded. */
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(s == SVC_IMAGE ? 256 * 1024 : 32 * 1024),
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			MHD_OPTION_END);
		if (!daemons[s]) {
			nl_err_set(err, 1, "cannot serve %s:%d for %s", g_config.bind, ports[s], svc_names[s]);
			close(lfd);
			server_stop();
			return -1;
		}
		log_info("%s API listening on %s", svc_names[s], base_urls[s]);
	}
	pthread_mutex_lock(&track_lock);
	sweeper_stop = false;
	pthread_mutex_unlock(&track_lock);
	if (pthread_create(&sweeper, NULL, sweep_main, NULL)) {
		nl_err_set(err, 1, "cannot start the connection sweeper thread");
		server_stop();
		return -1;
	}
	sweeper_running = true;
	return 0;
}

void server_stop(void)
{
	if (sweeper_running) {
		pthread_mutex_lock(&track_lock);
		sweeper_stop = true;
		pthread_cond_signal(&sweep_cond);
		pthread_mutex_unlock(&track_lock);
		pthread_join(sweeper, NULL);
		sweeper_running = false;
	}
	for (int s = 0; s < SVC_COUNT; s++) {
		if (daemons[s])
			MHD_stop_daemon(daemons[s]);
		daemons[s] = NULL;
	}
}
