/* Image data: PUT /v2/images/{id}/file streamed to disk, GET streamed back.
 *
 * Upload: bytes go straight to STATE/images/<id>.part as they arrive (never whole in
 * memory, no body-size limit), hashed (md5 for "checksum", sha512 for os_hash_value)
 * and inspected on the way; only a complete, verified, fsync'ed file is renamed to
 * STATE/images/<id> and the image made active, in one transaction. A failed,
 * rejected or aborted upload leaves no file and puts the image back to queued (and
 * start-up does the same for uploads a crash cut off). The image_size_total quota
 * counts uploads in flight: each holds a reservation (images.reserved) taken in the
 * transaction that starts it.
 * Download: sendfile() from the file, with Range support and Content-MD5. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/auth.h"
#include "api/handlers.h"
#include "api/image/image.h"
#include "api/image/image_inspect.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "db/db.h"
#include "db/images.h"

/* Bytes reserved at a time for an upload of unknown size (chunked): each step is one
 * short transaction, and a step never claims more than the quota has left. */
#define RESERVE_STEP (64LL * 1024 * 1024)

struct upload {
	char id[64];
	char owner[256];
	char disk_format[32];
	int fd;
	int64_t declared;               /* Content-Length, -1 when chunked */
	uint64_t size;                  /* bytes written */
	uint64_t reserved;              /* bytes held against the quota (UINT64_MAX: no quota) */
	EVP_MD_CTX *md5;
	EVP_MD_CTX *sha512;   /* OpenSSL's is ~1.5x libsodium's here (perf: 34% of upload CPU) */
	struct img_inspector *ins;
};

static void upload_free(struct upload *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	EVP_MD_CTX_free(u->md5);
	EVP_MD_CTX_free(u->sha512);
	img_inspector_free(u->ins);
	free(u);
}

/* Glance's answers for the two ways an upload runs out of room: the project's quota
 * (glance/api/common.py check_quota, StorageQuotaFull) and the store itself
 * (glance_store's filesystem driver turns ENOSPC/EFBIG into StorageFull). Both 413. */
static void quota_error(struct nl_error *err, long long size, long long remaining)
{
	nl_err_set(err, 413, "Image exceeds the storage quota: The size of the data %lld will exceed the limit. "
		   "%lld bytes remaining.", size, remaining < 0 ? 0 : remaining);
}

static void storage_full_error(struct nl_error *err)
{
	nl_err_set(err, 413, "Image storage media is full: There is not enough disk space on the image storage "
		   "media.");
}

static bool no_space(int e) { return e == ENOSPC || e == EFBIG || e == EDQUOT; }

/* Inside a transaction: what the owner may still store, leaving this image out
 * (stored sizes plus other uploads' reservations count). */
static int64_t quota_room(const struct upload *u)
{
	int64_t count, bytes;
	db_image_usage(u->owner, u->id, &count, &bytes);
	return (int64_t)g_config.quota_image_size_mib * 1024 * 1024 - bytes;
}

struct status_ctx { const char *id, *from, *to; };

static int status_tx(void *p, struct nl_error *err)
{
	struct status_ctx *c = p;
	return db_image_set_status(c->id, c->from, c->to, err) < 0 ? -1 : 0;
}

/* Back to queued (reservation dropped) and no partial file: the state Glance leaves
 * after a failed upload, whatever the cause. The descriptor is closed before the
 * unlink and the update: an unlinked file still open keeps its blocks, and on a full
 * disk the status update would then fail too, leaving the image in saving. */
static void upload_rollback(struct upload *u)
{
	char path[600];
	struct nl_error err = { 0 };
	struct status_ctx c = { u->id, "saving", "queued" };

	if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
	image_data_path(u->id, true, path, sizeof(path));
	unlink(path);
	if (db_tx_run(status_tx, &c, &err))
		log_warn("image %s: could not return to queued (the next start-up will): %s", u->id, err.msg);
}

struct open_ctx { struct req *r; struct upload *u; struct nl_error *err; };

static int open_tx(void *p, struct nl_error *err)
{
	struct open_ctx *c = p;
	struct upload *u = c->u;
	json_t *img = image_get_visible(c->r, req_param(c->r, 0), err);
	int rc = -1;
	if (!img)
		return -1;
	const char *status = json_string_value(json_object_get(img, "status"));
	const char *df = json_string_value(json_object_get(img, "disk_format"));
	const char *owner = json_string_value(json_object_get(img, "owner"));
	if (image_may_modify(c->r, img, "upload data to", err))
		goto out;
	if (!df || !json_string_value(json_object_get(img, "container_format"))) {
		nl_err_set(err, 400, "Properties disk_format, container_format must be set prior to saving data.");
		goto out;
	}
	if (strcmp(status, "queued")) {
		nl_err_set(err, 409, "Image status transition from %s to saving is not allowed", status);
		goto out;
	}
	snprintf(u->id, sizeof(u->id), "%s", json_string_value(json_object_get(img, "id")));
	snprintf(u->owner, sizeof(u->owner), "%s", owner ? owner : "");
	snprintf(u->disk_format, sizeof(u->disk_format), "%s", df);
	/* The quota counts uploads in flight: the declared size (or a first step of a
	 * chunked one) is reserved in the same transaction that marks the image saving,
	 * so parallel uploads cannot all see the same free room. */
	u->reserved = UINT64_MAX;
	if (g_config.quota_image_size_mib >= 0) {
		int64_t room = quota_room(u);
		/* An announced size is refused before any byte is read (a client sending
		 * "Expect: 100-continue" sends nothing). A chunked upload finds out at its
		 * first write (nothing reserved when there is no room), so the server drains
		 * the body and the client can read the 413. */
		if (u->declared >= 0 && u->declared > room) {
			quota_error(err, u->declared, room);
			goto out;
		}
		u->reserved = (uint64_t)(u->declared >= 0 ? u->declared : room <= 0 ? 0 :
					 room < RESERVE_STEP ? room : RESERVE_STEP);
	}
	rc = db_image_set_status(u->id, "queued", "saving", err) ? -1 : 0;
	if (!rc && u->reserved != UINT64_MAX)
		rc = db_image_reserve(u->id, (int64_t)u->reserved, err) ? -1 : 0;
out:
	json_decref(img);
	return rc;
}

static int upload_open(struct req *r, struct nl_error *err)
{
	struct upload *u = nl_calloc(1, sizeof(*u));
	struct open_ctx c = { r, u, err };
	char dir[600], path[600], *end;
	const char *cl = req_header(r, "Content-Length");

	u->fd = -1;
	u->declared = -1;
	if (cl) {
		long long n = strtoll(cl, &end, 10);
		if (*cl && !*end && n >= 0)
			u->declared = n;
	}
	if (db_tx_run(open_tx, &c, err)) {
		upload_free(u);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/images", g_config.state_dir);
	mkdir(dir, 0700);
	image_data_path(u->id, true, path, sizeof(path));
	u->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	u->md5 = EVP_MD_CTX_new();
	u->sha512 = EVP_MD_CTX_new();
	u->ins = img_inspector_new();
	if (u->fd < 0 || !u->md5 || !EVP_DigestInit_ex(u->md5, EVP_md5(), NULL) || !u->sha512 ||
	    !EVP_DigestInit_ex(u->sha512, EVP_sha512(), NULL) || !u->ins) {
		int e = errno;
		if (u->fd < 0 && no_space(e))
			storage_full_error(err);
		else
			nl_err_internal(err, "cannot start upload of %s: %s", u->id, strerror(e));
		upload_rollback(u);
		upload_free(u);
		return -1;
	}
	r->stream_ctx = u;
	return 0;
}

struct grow_ctx { struct upload *u; uint64_t need; };

/* A chunked upload outgrew its reservation: take the next step, as far as the quota
 * allows at this moment. */
static int grow_tx(void *p, struct nl_error *err)
{
	struct grow_ctx *c = p;
	int64_t room = quota_room(c->u);
	if (room < (int64_t)c->need) {
		quota_error(err, (long long)c->need, room);
		return -1;
	}
	int64_t want = (int64_t)c->need + RESERVE_STEP < room ? (int64_t)c->need + RESERVE_STEP : room;
	int rc = db_image_reserve(c->u->id, want, err);
	if (rc > 0)
		nl_err_set(err, 409, "Image %s was deleted or changed during the upload.", c->u->id);
	if (!rc)
		c->u->reserved = (uint64_t)want;
	return rc ? -1 : 0;
}

static int upload_write(struct req *r, const char *data, size_t len, struct nl_error *err)
{
	struct upload *u = r->stream_ctx;
	size_t off = 0;

	if (u->size + len > u->reserved) {
		struct grow_ctx g = { u, u->size + len };
		if (u->declared >= 0) {   /* more than announced: never more than reserved */
			quota_error(err, (long long)g.need, (long long)u->reserved);
			return -1;
		}
		if (db_tx_run(grow_tx, &g, err))
			return -1;
	}
	while (off < len) {
		ssize_t n = write(u->fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && no_space(errno))
				storage_full_error(err);
			else
				nl_err_internal(err, "writing image %s failed: %s", u->id, n < 0 ? strerror(errno) : "short write");
			log_warn("image %s: upload failed after %llu bytes: %s", u->id,
				 (unsigned long long)(u->size + off), n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		off += (size_t)n;
	}
	EVP_DigestUpdate(u->md5, data, len);
	EVP_DigestUpdate(u->sha512, data, len);
	img_inspector_feed(u->ins, data, len);
	u->size += len;
	return 0;
}

static void upload_abort(struct req *r)
{
	struct upload *u = r->stream_ctx;
	if (!u)
		return;
	upload_rollback(u);
	upload_free(u);
	r->stream_ctx = NULL;
}

const struct stream_ops image_upload_ops = { upload_open, upload_write, upload_abort };

struct activate_ctx { struct upload *u; const char *md5, *sha512; uint64_t virtual_size; };

static int activate_tx(void *p, struct nl_error *err)
{
	struct activate_ctx *c = p;
	/* Re-checked with the real size, as Glance's ImageProxy.set_data does after the
	 * upload (its comment describes the race that reserving closes). */
	if (g_config.quota_image_size_mib >= 0) {
		int64_t room = quota_room(c->u);
		if ((int64_t)c->u->size > room) {
			quota_error(err, (long long)c->u->size, room);
			return -1;
		}
	}
	json_t *f = json_pack("{s:I, s:I, s:s, s:s, s:s}", "size", (json_int_t)c->u->size,
			      "virtual_size", (json_int_t)c->virtual_size, "checksum", c->md5,
			      "os_hash_algo", "sha512", "os_hash_value", c->sha512);
	int rc = db_image_set_status(c->u->id, "saving", "active", err);   /* drops the reservation */
	if (rc > 0)
		nl_err_set(err, 409, "Image %s was deleted or changed during the upload.", c->u->id);
	if (!rc)
		rc = db_image_update(c->u->id, f, err);
	json_decref(f);
	return rc ? -1 : 0;
}

/* PUT /v2/images/{id}/file, called once the whole body has been written. */
int image_upload(struct req *r, struct resp *out, struct nl_error *err)
{
	struct upload *u = r->stream_ctx;
	unsigned char md5[EVP_MAX_MD_SIZE], sha[EVP_MAX_MD_SIZE];
	unsigned int md5len = 0, shalen = 0;
	char md5hex[2 * EVP_MAX_MD_SIZE + 1], shahex[2 * EVP_MAX_MD_SIZE + 1], reason[300];
	char part[600], final[600];
	struct img_info info;
	int rc = -1;

	r->stream_ctx = NULL;
	if (fsync(u->fd) || close(u->fd)) {
		int e = errno;
		if (no_space(e))
			storage_full_error(err);
		else
			nl_err_internal(err, "fsync of image %s failed: %s", u->id, strerror(e));
		log_warn("image %s: fsync failed: %s", u->id, strerror(e));
		goto fail;
	}
	u->fd = -1;   /* closed: nothing below holds the file open */
	if (img_inspector_finish(u->ins, u->disk_format, &info, reason, sizeof(reason))) {
		log_info("image %s rejected: %s", u->id, reason);
		nl_err_set(err, 400, "%s", reason);
		goto fail;
	}
	EVP_DigestFinal_ex(u->md5, md5, &md5len);
	EVP_DigestFinal_ex(u->sha512, sha, &shalen);
	nl_hex(md5, md5len, md5hex);
	nl_hex(sha, shalen, shahex);
	image_data_path(u->id, true, part, sizeof(part));
	image_data_path(u->id, false, final, sizeof(final));
	if (rename(part, final)) {
		nl_err_internal(err, "rename of image %s failed: %s", u->id, strerror(errno));
		goto fail;
	}
	struct activate_ctx c = { u, md5hex, shahex, info.virtual_size };
	if (db_tx_run(activate_tx, &c, err)) {
		unlink(final);
		goto fail;
	}
	out->status = 204;
	rc = 0;
	goto done;
fail:
	upload_rollback(u);
done:
	upload_free(u);
	return rc;
}

static int repair_tx(void *p, struct nl_error *err)
{
	json_t **ids = p;
	json_decref(*ids);   /* a BUSY retry runs this again */
	*ids = db_image_repair_saving(err);
	return *ids ? 0 : -1;
}

/* Start-up, before the listeners: no upload is running, so every partial file is
 * garbage and every image in saving was cut off (crash, kill -9, power loss). The
 * files go first: on a full disk that frees the room the status update needs. */
void image_startup_repair(void)
{
	char dir[600], path[1200];
	struct nl_error err = { 0 };
	DIR *d;
	struct dirent *e;
	json_t *ids = NULL, *id;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/images", g_config.state_dir);
	if ((d = opendir(dir))) {
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);
			if (n > 5 && !strcmp(e->d_name + n - 5, ".part")) {
				snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
				if (unlink(path) == 0)
					log_info("removed the partial upload %s", path);
			}
		}
		closedir(d);
	}
	if (db_tx_run(repair_tx, &ids, &err)) {
		log_warn("images left in saving could not be reset to queued: %s", err.msg);
		return;
	}
	json_array_foreach(ids, i, id)
		log_warn("image %s: its upload was interrupted; back to queued", json_string_value(id));
	json_decref(ids);
}

/* ---- download ---- */

/* "bytes=a-b", "bytes=a-", "bytes=-n" → [*start, *end]. -1 when unsatisfiable or
 * unparsable (416, as webob's range parsing gives Glance), -2 for several ranges (Glance
 * supports one). */
static int parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *end)
{
	unsigned long long a = 0, b = 0;
	char tail;
	if (strncmp(h, "bytes=", 6))
		return -1;
	if (strchr(h, ','))
		return -2;
	h += 6;
	if (h[0] == '-') {
		if (sscanf(h + 1, "%llu%c", &b, &tail) != 1 || b == 0)
			return -1;
		*start = b >= size ? 0 : size - b;
		*end = size - 1;
	} else if (sscanf(h, "%llu-%llu%c", &a, &b, &tail) == 2) {
		if (a > b || a >= size)
			return -1;
		*start = a;
		*end = b >= size ? size - 1 : b;
	} else if (sscanf(h, "%llu-%c", &a, &tail) == 1 && h[strlen(h) - 1] == '-') {
		if (a >= size)
			return -1;
		*start = a;
		*end = size - 1;
	} else {
		return -1;
	}
	return size ? 0 : -1;
}

int image_download(struct req *r, struct resp *out, struct nl_error *err)
{
	json_t *img = image_get_visible(r, req_param(r, 0), err);
	char path[600], cr[100];
	struct stat st;
	int fd;

	if (!img)
		return -1;
	const char *status = json_string_value(json_object_get(img, "status"));
	if (!strcmp(status, "deactivated") && !auth_is_admin(&r->auth)) {
		json_decref(img);
		nl_err_set(err, 403, "The requested image has been deactivated. Image data download is forbidden.");
		return -1;
	}
	if (strcmp(status, "active") && strcmp(status, "deactivated")) {
		json_decref(img);
		out->status = 204;      /* an image without data: Glance answers 204 No Content */
		return 0;
	}
	image_data_path(json_string_value(json_object_get(img, "id")), false, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		json_decref(img);
		nl_err_set(err, 404, "Image data for %s could not be found.", req_param(r, 0));
		return -1;
	}
	resp_header(out, "Content-MD5", json_string_value(json_object_get(img, "checksum")));
	json_decref(img);
	out->fd = fd;
	out->fd_off = 0;
	out->fd_len = (uint64_t)st.st_size;
	out->status = 200;
	const char *range = req_header(r, "Range");
	if (range) {
		uint64_t a, b;
		int pr = parse_range(range, (uint64_t)st.st_size, &a, &b);
		if (pr == -2) {
			nl_err_set(err, 400, "Requests with multiple ranges are not supported in Glance.");
			return -1;
		}
		if (pr < 0) {
			snprintf(cr, sizeof(cr), "bytes */%lld", (long long)st.st_size);
			resp_header(out, "Content-Range", cr);
			nl_err_set(err, 416, "Requested range not satisfiable.");
			return -1;
		}
		if (pr == 0) {
			out->fd_off = a;
			out->fd_len = b - a + 1;
			out->status = 206;
			snprintf(cr, sizeof(cr), "bytes %llu-%llu/%lld", (unsigned long long)a, (unsigned long long)b,
				 (long long)st.st_size);
			resp_header(out, "Content-Range", cr);
		}
	}
	return 0;
}
