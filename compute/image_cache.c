/* See image_cache.h. Hashes with OpenSSL's EVP (libcrypto is already linked for keys);
 * qemu-img is Debian's, run with an explicit -f so a file can never be probed into a
 * different format than the one Glance recorded (the CVE-2015-5162 / OSSN-0090 class). */
#include "compute/image_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "compute/proc.h"

#define QEMU_IMG_TIMEOUT_MS 60000

struct download {
	int fd;
	EVP_MD_CTX *md5, *sha512;
	long long bytes;
};

static int sink(void *arg, const char *data, size_t n)
{
	struct download *d = arg;
	EVP_DigestUpdate(d->md5, data, n);
	EVP_DigestUpdate(d->sha512, data, n);
	while (n) {
		ssize_t w = write(d->fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		n -= (size_t)w;
		d->bytes += w;
	}
	return 0;
}

static void hex_digest(EVP_MD_CTX *ctx, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	EVP_DigestFinal_ex(ctx, md, &len);
	for (unsigned i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[2 * len] = '\0';
}

int image_qemu_info(const char *path, const char *format, long long *virtual_size, char *backing,
		    size_t backing_len, struct nl_error *err)
{
	char out[16384];
	const char *argv[] = { "qemu-img", "info", "-f", format, "--output=json", path, NULL };
	int rc = proc_run(argv, out, sizeof(out), QEMU_IMG_TIMEOUT_MS, err);
	if (rc < 0)
		return -1;
	json_t *j = rc == 0 ? json_loads(out, 0, NULL) : NULL;
	if (!j) {
		char *nl = strchr(out, '\n');
		if (nl)
			*nl = '\0';
		nl_err_set(err, 500, "qemu-img could not read %s as %s: %s", path, format, out);
		return -1;
	}
	*virtual_size = json_integer_value(json_object_get(j, "virtual-size"));
	const char *b = json_string_value(json_object_get(j, "backing-filename"));
	if (backing)
		snprintf(backing, backing_len, "%s", b ? b : "");
	json_decref(j);
	return 0;
}

/* The image's record: disk_format and the checksums to verify against. */
static int image_record(struct http_client *http, const char *base_url, const char *image_id, char *format,
			size_t flen, char *md5, size_t mlen, char *sha512, size_t slen, struct nl_error *err)
{
	char url[512];
	json_t *img = NULL;
	snprintf(url, sizeof(url), "%s/v2/images/%s", base_url, image_id);
	int st = http_get_json(http, url, &img, err);
	if (st != 200) {
		if (st == 404)
			nl_err_set(err, 404, "Image %s could not be found.", image_id);
		json_decref(img);
		return -1;
	}
	const char *status = json_string_value(json_object_get(img, "status"));
	const char *fmt = json_string_value(json_object_get(img, "disk_format"));
	const char *sum = json_string_value(json_object_get(img, "checksum"));
	const char *algo = json_string_value(json_object_get(img, "os_hash_algo"));
	const char *hash = json_string_value(json_object_get(img, "os_hash_value"));
	int rc = -1;
	if (!status || strcmp(status, "active"))
		nl_err_set(err, 409, "Image %s is not active (status %s).", image_id, status ? status : "unknown");
	else if (!fmt || (strcmp(fmt, "qcow2") && strcmp(fmt, "raw")))
		nl_err_set(err, 400, "Image %s has disk_format %s: this hypervisor boots qcow2 and raw images.",
			   image_id, fmt ? fmt : "(none)");
	else
		rc = 0;
	snprintf(format, flen, "%s", fmt ? fmt : "");
	snprintf(md5, mlen, "%s", sum ? sum : "");
	snprintf(sha512, slen, "%s", algo && !strcmp(algo, "sha512") && hash ? hash : "");
	json_decref(img);
	return rc;
}

static int check_base(const char *path, const char *format, struct image_base *out, struct nl_error *err)
{
	char backing[1024];
	if (image_qemu_info(path, format, &out->virtual_size, backing, sizeof(backing), err))
		return -1;
	if (backing[0]) {
		nl_err_set(err, 400, "The image has a backing file (%s): refused.", backing);
		return -1;
	}
	snprintf(out->path, sizeof(out->path), "%s", path);
	snprintf(out->format, sizeof(out->format), "%s", format);
	return 0;
}

int image_cache_fetch(struct http_client *http, const char *cache_dir, const char *image_id,
		      struct image_base *out, struct nl_error *err)
{
	char path[600], part[620], fmt_path[620], format[32], md5[64], sha512[160], got_md5[64], got_sha[160];
	struct download d = { .fd = -1 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (strlen(image_id) != 36 || strspn(image_id, "0123456789abcdef-") != 36) {
		nl_err_set(err, 400, "'%s' is not an image id.", image_id);
		return -1;
	}
	/* 0711 and 0644 bases: QEMU runs as another user and opens them as backing files
	 * (libvirt relabels only the top image of a chain). */
	if ((mkdir(cache_dir, 0711) < 0 && errno != EEXIST) || chmod(cache_dir, 0711) < 0) {
		nl_err_set(err, 500, "Cannot create the image cache %s: %s.", cache_dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", cache_dir, image_id);
	snprintf(fmt_path, sizeof(fmt_path), "%s/%s.format", cache_dir, image_id);
	/* A hit: the base and its format note are there (written before the rename). */
	FILE *f = fopen(fmt_path, "r");
	if (f && access(path, R_OK) == 0) {
		bool ok = fgets(format, sizeof(format), f) != NULL;
		fclose(f);
		format[strcspn(format, "\n")] = '\0';
		if (ok && check_base(path, format, out, err) == 0) {
			utimensat(AT_FDCWD, path, NULL, 0);   /* last use, for the sweep */
			return 0;
		}
		log_warn("image cache: %s is unusable (%s): downloading it again", path, err->msg);
	} else if (f) {
		fclose(f);
	}

	const char *base_url = http_image_url(http, err);
	if (!base_url)
		return -1;
	if (image_record(http, base_url, image_id, format, sizeof(format), md5, sizeof(md5), sha512, sizeof(sha512),
			 err))
		return -1;
	snprintf(part, sizeof(part), "%s.part", path);
	d.fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (d.fd < 0 || fchmod(d.fd, 0644) < 0) {
		nl_err_set(err, 500, "Cannot write %s: %s.", part, strerror(errno));
		if (d.fd >= 0)
			close(d.fd);
		return -1;
	}
	d.md5 = EVP_MD_CTX_new();
	d.sha512 = EVP_MD_CTX_new();
	EVP_DigestInit_ex(d.md5, EVP_md5(), NULL);
	EVP_DigestInit_ex(d.sha512, EVP_sha512(), NULL);

	char url[600];
	snprintf(url, sizeof(url), "%s/v2/images/%s/file", base_url, image_id);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int st = http_download(http, url, sink, &d, err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	hex_digest(d.md5, got_md5);
	hex_digest(d.sha512, got_sha);
	if (st != 200) {
		if (st >= 0 && st < 400)
			nl_err_set(err, 502, "Downloading image %s: unexpected HTTP %d.", image_id, st);
		goto out;
	}
	if (fsync(d.fd) < 0) {
		nl_err_set(err, 500, "Cannot write %s: %s.", part, strerror(errno));
		goto out;
	}
	if ((md5[0] && strcmp(md5, got_md5)) || (sha512[0] && strcmp(sha512, got_sha))) {
		nl_err_set(err, 502, "Image %s arrived damaged: its checksum does not match the image record.",
			   image_id);
		goto out;
	}
	if (check_base(part, format, out, err))
		goto out;
	f = fopen(fmt_path, "w");
	if (!f || fprintf(f, "%s\n", format) < 0 || fclose(f) != 0) {
		nl_err_set(err, 500, "Cannot write %s: %s.", fmt_path, strerror(errno));
		goto out;
	}
	if (rename(part, path) < 0) {
		nl_err_set(err, 500, "Cannot rename %s: %s.", part, strerror(errno));
		goto out;
	}
	snprintf(out->path, sizeof(out->path), "%s", path);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	log_info("image cache: %s downloaded (%lld bytes, %s, %.2f s), checksums verified", image_id, d.bytes,
		 format, secs);
	rc = 0;
out:
	close(d.fd);
	if (rc)
		unlink(part);
	EVP_MD_CTX_free(d.md5);
	EVP_MD_CTX_free(d.sha512);
	return rc;
}

int image_cache_sweep(const char *cache_dir, const char *const *in_use, size_t n_in_use, long min_age_s)
{
	DIR *dir = opendir(cache_dir);
	struct dirent *e;
	int removed = 0;
	time_t now = time(NULL);

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		char path[600], fmt_path[620];
		struct stat st;
		const char *name = e->d_name;
		size_t len = strlen(name);
		bool part = len > 5 && !strcmp(name + len - 5, ".part");
		if (name[0] == '.' || (len != 36 && !part))
			continue;
		snprintf(path, sizeof(path), "%s/%s", cache_dir, name);
		if (stat(path, &st) < 0)
			continue;
		if (part) {
			if (now - st.st_mtime > 86400 && unlink(path) == 0)
				removed++;
			continue;
		}
		bool used = false;
		for (size_t i = 0; i < n_in_use && !used; i++)
			used = in_use[i] && !strcmp(in_use[i], name);
		if (used || now - st.st_mtime < min_age_s)
			continue;
		snprintf(fmt_path, sizeof(fmt_path), "%s.format", path);
		if (unlink(path) == 0) {
			unlink(fmt_path);
			removed++;
			log_info("image cache: removed unused base %s", name);
		}
	}
	closedir(dir);
	return removed;
}
