/* The image cache of a compute node: base images downloaded once from the image API and
 * shared by every instance that boots from them (each instance's root disk is a qcow2
 * overlay on its base). Content-addressed by image id, which names immutable data: Glance
 * never changes an active image's bytes. STATE/images/<image id> is the base;
 * <image id>.part the download in progress. A base's mtime is its last use, which the
 * sweep reads. Used by one thread at a time (the agent's task runner). */
#ifndef NL_IMAGE_CACHE_H
#define NL_IMAGE_CACHE_H

#include <stddef.h>

#include "common/error.h"
#include "compute/http.h"

struct image_base {
	char path[600];
	char format[16];              /* "qcow2" or "raw": the formats a root disk can be */
	long long virtual_size;       /* bytes, as qemu-img reads it */
};

/* Makes sure the base of image_id is in cache_dir, downloading it with http's token:
 * streamed to disk, md5 (checksum) and os_hash_value (sha512) checked while it arrives,
 * then qemu-img info (with the declared format, so nothing is guessed) must agree with
 * the declared disk_format and show no backing file. Only then is it renamed into place.
 * 0 and *out, or -1 with err (a sentence for the instance fault). */
int image_cache_fetch(struct http_client *http, const char *cache_dir, const char *image_id,
		      struct image_base *out, struct nl_error *err);

/* Removes the bases not named in in_use whose last use is older than min_age_s, and any
 * .part file older than a day (an interrupted download). Returns how many were removed. */
int image_cache_sweep(const char *cache_dir, const char *const *in_use, size_t n_in_use, long min_age_s);

/* qemu-img info of path read as format: virtual size and backing file. 0, or -1 with err. */
int image_qemu_info(const char *path, const char *format, long long *virtual_size, char *backing,
		    size_t backing_len, struct nl_error *err);

#endif
