/* Image content inspection (the Glance format_inspector idea, in C, streaming).
 *
 * An inspector is fed an upload's bytes in order, chunk by chunk, as they are written
 * to disk, so no second read of the file is needed. It keeps only what it needs (the
 * first IMG_INSPECT_HEAD bytes and the last 1 KiB), then decides the format, the
 * virtual size, and whether the image is safe to use. No I/O, no allocation after new. */
#ifndef NL_IMAGE_INSPECT_H
#define NL_IMAGE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMG_INSPECT_HEAD (4u * 1024 * 1024)

enum img_format {
	IMG_FMT_RAW = 0,   /* nothing recognised: raw bytes */
	IMG_FMT_QCOW2,
	IMG_FMT_VMDK,
	IMG_FMT_VHD,
	IMG_FMT_VHDX,
	IMG_FMT_VDI,
	IMG_FMT_ISO,
	IMG_FMT_QED,
	IMG_FMT_LUKS,
	IMG_FMT_GPT,       /* a raw disk with a GPT/MBR: still "raw" for disk_format purposes */
};

struct img_info {
	enum img_format format;
	const char *format_name;   /* "raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "qed", "luks" */
	uint64_t virtual_size;     /* bytes; for raw and iso: the file size */
	uint64_t actual_size;      /* bytes fed */
};

struct img_inspector;

struct img_inspector *img_inspector_new(void);
void img_inspector_free(struct img_inspector *ins);
/* Feeds the next len bytes of the stream. Cheap: copies at most what it keeps. */
void img_inspector_feed(struct img_inspector *ins, const void *buf, size_t len);
/* After the whole stream: fills info and checks safety and the declared disk_format
 * (Glance's names: raw, qcow2, vmdk, vhd, vhdx, vdi, iso, ploop, aki, ari, ami).
 * Returns 0 when the image is acceptable, -1 with a one-sentence reason otherwise:
 * a disk_format that does not match the content; a qcow2 with a backing file or an
 * external data file; a VMDK whose extents point outside the file (monolithicFlat,
 * or any descriptor naming another file); a truncated or inconsistent header. */
int img_inspector_finish(struct img_inspector *ins, const char *declared_disk_format,
			 struct img_info *info, char *reason, size_t reason_len);

#endif
