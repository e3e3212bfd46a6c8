/* The agent's libcurl client (see http.h).
 *
 * Every transfer runs through a private curl multi handle, one at a time: the multi
 * handle keeps the connection and DNS caches between requests (a long poll then reuses
 * its keep-alive connection) and gives a wakeup call, curl_multi_wakeup(), that
 * http_client_cancel() uses to interrupt a long poll from another thread at once.
 *
 * Secrets: the token lives in the client and in the X-Auth-Token header only; the
 * password only in the client and in the Keystone request body, which is wiped after
 * use. Neither is logged, and no error sentence contains them. */
#include "compute/http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"

#define MAX_RESPONSE (64L * 1024 * 1024)   /* a host's instance list is the largest body */
#define CONNECT_TIMEOUT_S 5L

struct http_client {
	CURLM *multi;
	CURL *easy;
	char base_url[256];
	char auth_url[256];
	char username[128], password[256], project_name[128];
	char user_domain[64], project_domain[64];
	char *token;              /* NULL until authenticated */
	char image_url[256];      /* the catalog's image endpoint, "" until authenticated */
	atomic_bool cancelled;
};

/* What one transfer collects. */
struct transfer {
	char *body;
	size_t len;
	bool too_big;
	bool want_token;          /* Keystone: keep X-Subject-Token */
	char *subject_token;
	/* Streaming: the body goes to sink instead of memory (image downloads). sink returns
	 * 0 to go on, -1 to abort the transfer. */
	int (*sink)(void *arg, const char *data, size_t n);
	void *sink_arg;
	bool sink_failed;
	CURL *easy;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

struct http_client *http_client_new(const char *base_url, const struct http_credentials *cred,
				    struct nl_error *err)
{
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK) {
		nl_err_set(err, 500, "libcurl initialisation failed: %s", curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	struct http_client *c = nl_calloc(1, sizeof(*c));
	c->multi = curl_multi_init();
	c->easy = curl_easy_init();
	if (!c->multi || !c->easy) {
		nl_err_set(err, 500, "libcurl could not create a transfer handle.");
		http_client_free(c);
		return NULL;
	}
	atomic_init(&c->cancelled, false);
	snprintf(c->base_url, sizeof(c->base_url), "%s", base_url);
	/* The base ends without '/': paths start with one. */
	for (size_t n = strlen(c->base_url); n && c->base_url[n - 1] == '/'; n--)
		c->base_url[n - 1] = '\0';
	snprintf(c->auth_url, sizeof(c->auth_url), "%s", cred->auth_url ? cred->auth_url : "");
	snprintf(c->username, sizeof(c->username), "%s", cred->username ? cred->username : "");
	snprintf(c->password, sizeof(c->password), "%s", cred->password ? cred->password : "");
	snprintf(c->project_name, sizeof(c->project_name), "%s", cred->project_name ? cred->project_name : "");
	snprintf(c->user_domain, sizeof(c->user_domain), "%s",
		 cred->user_domain && *cred->user_domain ? cred->user_domain : "Default");
	snprintf(c->project_domain, sizeof(c->project_domain), "%s",
		 cred->project_domain && *cred->project_domain ? cred->project_domain : "Default");
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	wipe(c->token);
	free(c->token);
	explicit_bzero(c->password, sizeof(c->password));
	free(c);
}

void http_client_cancel(struct http_client *c)
{
	atomic_store(&c->cancelled, true);
	curl_multi_wakeup(c->multi);
}

bool http_client_cancelled(struct http_client *c)
{
	return atomic_load(&c->cancelled);
}

int http_route_ip(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	int rc = -1;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	/* An IPv6 literal comes back in brackets. */
	size_t n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (getaddrinfo(host, port ? port : "80", &hints, &ai) != 0 || !ai)
		goto out;
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST) == 0)
		rc = 0;
	if (fd >= 0)
		close(fd);
out:
	if (ai)
		freeaddrinfo(ai);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

void http_path_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s && o + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int http_sleep(struct http_client *c, long ms)
{
	long deadline = now_ms() + ms;
	/* curl_multi_poll waits the whole timeout even with no transfer, and returns
	 * early on curl_multi_wakeup (libcurl >= 7.68). */
	for (;;) {
		if (atomic_load(&c->cancelled))
			return HTTP_CANCELLED;
		long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		curl_multi_poll(c->multi, NULL, 0, left > 1000 ? 1000 : (int)left, NULL);
	}
}

/* ---- one transfer ------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t add = size * n;
	if (t->sink) {
		long status = 0;
		/* Error bodies are kept for the message; only a 2xx body is streamed. */
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			if (t->sink(t->sink_arg, data, add) != 0) {
				t->sink_failed = true;
				return 0;
			}
			return add;
		}
	}
	if (t->len + add > (size_t)MAX_RESPONSE) {
		t->too_big = true;
		return 0;   /* aborts the transfer */
	}
	char *grown = realloc(t->body, t->len + add + 1);
	if (!grown)
		return 0;
	memcpy(grown + t->len, data, add);
	t->len += add;
	grown[t->len] = '\0';
	t->body = grown;
	return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n;
	static const char name[] = "x-subject-token:";
	if (t->want_token && len > sizeof(name) - 1 && !strncasecmp(data, name, sizeof(name) - 1)) {
		const char *v = data + sizeof(name) - 1, *end = data + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		free(t->subject_token);
		t->subject_token = strndup(v, (size_t)(end - v));
	}
	return len;
}

/* Runs the transfer set up on c->easy until done, cancelled or timed out. Returns the
 * HTTP status, or HTTP_UNREACHABLE / HTTP_CANCELLED with err. */
static int perform(struct http_client *c, const char *what, struct transfer *t, struct nl_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode result = CURLE_OK;
	int running = 1, rc = 0, queued;
	long status = 0;
	CURLMsg *msg;

	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, errbuf);
	if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK) {
		nl_err_set(err, 500, "libcurl refused the request %s.", what);
		return HTTP_UNREACHABLE;
	}
	while (running) {
		if (atomic_load(&c->cancelled)) {
			rc = HTTP_CANCELLED;
			break;
		}
		if (curl_multi_perform(c->multi, &running) != CURLM_OK)
			break;
		if (running)
			curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
	}
	while ((msg = curl_multi_info_read(c->multi, &queued)))
		if (msg->msg == CURLMSG_DONE)
			result = msg->data.result;
	if (rc == 0 && result == CURLE_OK)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(c->multi, c->easy);

	if (rc == HTTP_CANCELLED) {
		nl_err_set(err, 503, "The request %s was cancelled: the agent is stopping.", what);
		return rc;
	}
	if (t->sink_failed) {
		nl_err_set(err, 500, "%s: the received data could not be stored.", what);
		return HTTP_UNREACHABLE;
	}
	if (t->too_big) {
		nl_err_set(err, 502, "The response to %s exceeded %ld bytes.", what, MAX_RESPONSE);
		return HTTP_UNREACHABLE;
	}
	if (result == CURLE_URL_MALFORMAT || result == CURLE_UNSUPPORTED_PROTOCOL) {
		/* A configuration mistake: retrying cannot help. */
		nl_err_set(err, 400, "%s failed: %s", what, errbuf[0] ? errbuf : curl_easy_strerror(result));
		return 400;
	}
	if (result != CURLE_OK || status < 100) {
		nl_err_set(err, 503, "%s failed: %s", what, errbuf[0] ? errbuf : curl_easy_strerror(result));
		return HTTP_UNREACHABLE;
	}
	return (int)status;
}

/* The common options of a JSON exchange. headers is owned by the caller. */
static void setup(struct http_client *c, const char *method, const char *url, const char *body,
		  struct curl_slist *headers, long timeout_s, struct transfer *t)
{
	curl_easy_reset(c->easy);
	t->easy = c->easy;
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
	} else {
		/* POSTFIELDS also for PUT and DELETE: the body goes out with a Content-Length,
		 * "" when there is none (heartbeat). */
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body ? body : "");
		if (strcmp(method, "POST"))
			curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
	}
}

static void transfer_clear(struct transfer *t)
{
	free(t->body);
	wipe(t->subject_token);
	free(t->subject_token);
	memset(t, 0, sizeof(*t));
}

/* Nova ({"itemNotFound": {"message": ...}}) and Keystone ({"error": {"message": ...}})
 * bodies both carry the sentence one level down. */
static const char *error_message(json_t *body)
{
	const char *key;
	json_t *v;
	if (!json_is_object(body))
		return NULL;
	json_object_foreach(body, key, v) {
		json_t *m = json_object_get(v, "message");
		if (json_is_string(m))
			return json_string_value(m);
	}
	return NULL;
}

/* ---- Keystone ----------------------------------------------------------------------------- */

/* The image service's endpoint from the token's catalog: the agent downloads images for
 * its cache and uploads snapshots there. "internal" is preferred (an operator may give the
 * compute network its own address), then "public". */
static void remember_image_url(struct http_client *c, json_t *catalog)
{
	size_t i, k;
	json_t *svc, *ep;
	const char *found = NULL;
	json_array_foreach(catalog, i, svc) {
		const char *type = json_string_value(json_object_get(svc, "type"));
		if (!type || strcmp(type, "image"))
			continue;
		json_array_foreach(json_object_get(svc, "endpoints"), k, ep) {
			const char *iface = json_string_value(json_object_get(ep, "interface"));
			const char *url = json_string_value(json_object_get(ep, "url"));
			if (!iface || !url)
				continue;
			if (!strcmp(iface, "internal") || (!found && !strcmp(iface, "public")))
				found = url;
		}
	}
	if (found) {
		snprintf(c->image_url, sizeof(c->image_url), "%s", found);
		for (size_t n = strlen(c->image_url); n && c->image_url[n - 1] == '/'; n--)
			c->image_url[n - 1] = '\0';
	}
}

const char *http_image_url(struct http_client *c, struct nl_error *err)
{
	if (!c->image_url[0] && c->auth_url[0] && http_authenticate(c, err) != 0)
		return NULL;
	if (!c->image_url[0]) {
		nl_err_set(err, 502, "The Keystone catalog lists no image service endpoint.");
		return NULL;
	}
	return c->image_url;
}


int http_authenticate(struct http_client *c, struct nl_error *err)
{
	char url[300];
	struct transfer t = { .want_token = true };
	size_t n = strlen(c->auth_url);

	/* Accept ".../v3", ".../v3/" and an unversioned base, as the clients do. */
	while (n && c->auth_url[n - 1] == '/')
		n--;
	bool versioned = n >= 3 && !strncmp(c->auth_url + n - 3, "/v3", 3);
	snprintf(url, sizeof(url), "%.*s%s/auth/tokens", (int)n, c->auth_url, versioned ? "" : "/v3");

	json_t *req = json_pack("{s:{s:{s:[s], s:{s:{s:s, s:{s:s}, s:s}}}, s:{s:{s:s, s:{s:s}}}}}",
				"auth", "identity", "methods", "password", "password", "user",
				"name", c->username, "domain", "name", c->user_domain,
				"password", c->password,
				"scope", "project", "name", c->project_name, "domain", "name", c->project_domain);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);   /* jansson keeps its own copy of the password: freed, not wiped */
	if (!body) {
		nl_err_set(err, 500, "Cannot encode the Keystone authentication request.");
		return HTTP_UNREACHABLE;
	}
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Accept: application/json");
	headers = curl_slist_append(headers, "Expect:");
	setup(c, "POST", url, body, headers, 30, &t);
	int status = perform(c, "authentication with Keystone", &t, err);
	wipe(body);
	free(body);
	curl_slist_free_all(headers);

	if (status == 201 && t.subject_token && *t.subject_token) {
		json_t *resp = t.body ? json_loads(t.body, 0, NULL) : NULL;
		remember_image_url(c, json_object_get(json_object_get(resp, "token"), "catalog"));
		json_decref(resp);
		wipe(c->token);
		free(c->token);
		c->token = t.subject_token;
		t.subject_token = NULL;
		transfer_clear(&t);
		log_debug("authenticated with Keystone as %s (project %s)", c->username, c->project_name);
		return 0;
	}
	if (status >= 100) {
		json_t *resp = t.body ? json_loads(t.body, 0, NULL) : NULL;
		const char *m = error_message(resp);
		if (status == 201)
			nl_err_set(err, 502, "Keystone answered without an X-Subject-Token header.");
		else
			nl_err_set(err, status, "Keystone refused the credentials of user %s (HTTP %d%s%s)",
				   c->username, status, m ? ": " : "", m ? m : "");
		json_decref(resp);
		if (status == 201)
			status = 502;
	}
	transfer_clear(&t);
	return status;
}

/* ---- requests ----------------------------------------------------------------------------- */

static int request_once(struct http_client *c, const char *method, const char *url, const char *what,
			const char *body, long timeout_s, struct transfer *t, struct nl_error *err)
{
	char auth[1200];
	struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (body)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	if (c->token) {
		snprintf(auth, sizeof(auth), "X-Auth-Token: %s", c->token);
		headers = curl_slist_append(headers, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	setup(c, method, url, body, headers, timeout_s, t);
	int status = perform(c, what, t, err);
	curl_slist_free_all(headers);   /* not wiped: libcurl copies headers it sends anyway */
	return status;
}

int http_request(struct http_client *c, const char *method, const char *path, json_t *body,
		 long timeout_s, json_t **resp, struct nl_error *err)
{
	char url[1024], what[600];
	struct transfer t = { 0 };
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int status;

	if (resp)
		*resp = NULL;
	if (body && !text) {
		nl_err_set(err, 500, "Cannot encode the body of %s %s.", method, path);
		return HTTP_UNREACHABLE;
	}
	snprintf(url, sizeof(url), "%s%s", c->base_url, path);
	snprintf(what, sizeof(what), "%s %s", method, path);
	bool need_auth = c->auth_url[0] != '\0';
	if (need_auth && !c->token && (status = http_authenticate(c, err)) != 0)
		goto out;
	status = request_once(c, method, url, what, text, timeout_s, &t, err);
	if (status == 401 && need_auth) {
		/* The token expired or was revoked: one new token, one retry. */
		log_info("%s: token rejected (401), authenticating again", what);
		transfer_clear(&t);
		if ((status = http_authenticate(c, err)) != 0)
			goto out;
		status = request_once(c, method, url, what, text, timeout_s, &t, err);
	}
	if (status >= 100) {
		json_t *j = t.len ? json_loadb(t.body, t.len, 0, NULL) : NULL;
		if (status >= 400) {
			const char *m = error_message(j);
			nl_err_set(err, status, "%s answered %d%s%s", what, status, m ? ": " : "", m ? m : "");
		}
		if (resp)
			*resp = j;
		else
			json_decref(j);
	}
out:
	transfer_clear(&t);
	free(text);
	return status;
}

/* ---- streaming ------------------------------------------------------------------------------ */

struct upload_src { int fd; };

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload_src *u = arg;
	ssize_t r = read(u->fd, buf, size * n);
	return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
}

/* One authenticated streaming exchange. Download: sink gets the body. Upload: fd is sent
 * as the body (size bytes). Stalls, not sizes, are what time out: less than 1 KiB/s for
 * 60 s ends the transfer, however long a large image takes. */
static int stream_once(struct http_client *c, const char *method, const char *url, const char *what,
		       struct transfer *t, int fd, long long size, const char *content_type, struct nl_error *err)
{
	char auth[1200], ctype[200];
	struct upload_src src = { fd };
	struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
	if (c->token) {
		snprintf(auth, sizeof(auth), "X-Auth-Token: %s", c->token);
		headers = curl_slist_append(headers, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	if (content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
		headers = curl_slist_append(headers, ctype);
	}
	setup(c, "GET", url, NULL, headers, 0, t);
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, 60L);
	if (!strcmp(method, "PUT")) {
		if (lseek(fd, 0, SEEK_SET) < 0) {
			curl_slist_free_all(headers);
			nl_err_set(err, 500, "%s: cannot rewind the file to send.", what);
			return HTTP_UNREACHABLE;
		}
		curl_easy_setopt(c->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c->easy, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c->easy, CURLOPT_READDATA, &src);
		curl_easy_setopt(c->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
	}
	int status = perform(c, what, t, err);
	curl_slist_free_all(headers);
	return status;
}

static int stream(struct http_client *c, const char *method, const char *url, int (*sink)(void *, const char *, size_t),
		  void *sink_arg, int fd, long long size, const char *content_type, struct nl_error *err)
{
	char what[600];
	struct transfer t = { .sink = sink, .sink_arg = sink_arg };
	int status;

	snprintf(what, sizeof(what), "%s %s", method, url);
	if (c->auth_url[0] && !c->token && (status = http_authenticate(c, err)) != 0)
		return status;
	status = stream_once(c, method, url, what, &t, fd, size, content_type, err);
	if (status == 401 && c->auth_url[0]) {
		log_info("%s: token rejected (401), authenticating again", what);
		transfer_clear(&t);
		t.sink = sink;
		t.sink_arg = sink_arg;
		if ((status = http_authenticate(c, err)) != 0)
			return status;
		status = stream_once(c, method, url, what, &t, fd, size, content_type, err);
	}
	if (status >= 400) {
		json_t *j = t.len ? json_loadb(t.body, t.len, 0, NULL) : NULL;
		const char *m = error_message(j);
		nl_err_set(err, status, "%s answered %d%s%s", what, status, m ? ": " : "", m ? m : "");
		json_decref(j);
	}
	transfer_clear(&t);
	return status;
}

int http_download(struct http_client *c, const char *url, int (*sink)(void *arg, const char *data, size_t n),
		  void *arg, struct nl_error *err)
{
	return stream(c, "GET", url, sink, arg, -1, 0, NULL, err);
}

int http_upload(struct http_client *c, const char *url, int fd, long long size, const char *content_type,
		struct nl_error *err)
{
	return stream(c, "PUT", url, NULL, NULL, fd, size, content_type, err);
}

int http_get_json(struct http_client *c, const char *url, json_t **resp, struct nl_error *err)
{
	char saved[256];
	/* http_request takes a path under the base: borrow the base for an absolute URL. */
	snprintf(saved, sizeof(saved), "%s", c->base_url);
	c->base_url[0] = '\0';
	int st = http_request(c, "GET", url, NULL, 60, resp, err);
	snprintf(c->base_url, sizeof(c->base_url), "%s", saved);
	return st;
}
