/* libFuzzer target: the image inspector (api/image/image_inspect.c) on hostile uploads.
 *
 * Input: byte 0 picks the declared disk_format (or none), byte 1 the chunk size the
 * bytes are fed in (uploads arrive in chunks of any size), the rest is the image.
 * Invariants: no crash, no out-of-bounds read of its buffers, no UB; the verdict does
 * not depend on the chunking (fed again in one piece, the answer and the detected
 * format are the same); an accepted image has a format name; actual_size is the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/image/image_inspect.h"

static const char *const formats[] = { NULL, "raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso",
				       "ploop", "aki", "ari", "ami", "bogus" };
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

static int inspect(const uint8_t *img, size_t len, size_t chunk, const char *declared, struct img_info *info,
		   char *reason, size_t reason_len)
{
	struct img_inspector *ins = img_inspector_new();
	for (size_t off = 0; off < len; off += chunk)
		img_inspector_feed(ins, img + off, len - off < chunk ? len - off : chunk);
	int rc = img_inspector_finish(ins, declared, info, reason, reason_len);
	img_inspector_free(ins);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_info a, b;
	char ra[256] = "", rb[256] = "";

	if (size < 2)
		return 0;
	const char *declared = formats[data[0] % NFORMATS];
	size_t chunk = 1 + (size_t)data[1] * 37;
	const uint8_t *img = data + 2;
	size_t len = size - 2;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	int rca = inspect(img, len, chunk, declared, &a, ra, sizeof(ra));
	int rcb = inspect(img, len, len ? len : 1, declared, &b, rb, sizeof(rb));
	if (rca != rcb || a.format != b.format || a.virtual_size != b.virtual_size)
		abort();
	if (strnlen(ra, sizeof(ra)) == sizeof(ra) || (rca && !ra[0]))
		abort();
	if (rca == 0 && !a.format_name)
		abort();
	if (a.actual_size != len)
		abort();
	return 0;
}
