/* img_inspector (api/image/image_inspect.c).
 *
 * Every image here is crafted in memory from the format specifications (qcow2.txt,
 * VMDK 1.1, VHD, MS-VHDX, VDI, ECMA-119, LUKS1) and fed to the inspector whole and in
 * chunks of 1, 7 and 64 KiB bytes, so a field split across two feeds, the 4 MiB head
 * boundary and the 1 KiB tail ring are all exercised; each chunking must give the same
 * format, virtual size, verdict and reason. The cases mirror os-test-images' manifest
 * (standard, backing file, data file, monolithicFlat, sparse with an outside extent,
 * footer, iso-with-qcow2-in-system, gpt) plus truncations and disk_format mismatches
 * as Glance decides them. Real qemu-img images are checked separately, see
 * tests/fixtures/make-test-images.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/image/image_inspect.h"

#define KiB (1024u)
#define MiB (1024u * 1024u)

struct img {
	unsigned char *p;
	size_t n;
};

static struct img img_alloc(size_t n)
{
	struct img im = { calloc(1, n ? n : 1), n };
	assert_non_null(im.p);
	return im;
}

static void be32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (24 - 8 * i));
}
static void be64(unsigned char *p, uint64_t v) { be32(p, (uint32_t)(v >> 32)); be32(p + 4, (uint32_t)v); }
static void le16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static void le64(unsigned char *p, uint64_t v) { le32(p, (uint32_t)v); le32(p + 4, (uint32_t)(v >> 32)); }

/* ---- qcow2: 4 KiB clusters, 10 MiB virtual ---- */

#define Q_VSIZE (10ull * MiB)
#define Q_TOTAL (12u * KiB)

static struct img qcow2(uint32_t version, bool backing, uint64_t incompat, uint32_t ext_type,
			uint32_t ext_len)
{
	struct img im = img_alloc(Q_TOTAL);
	unsigned char *p = im.p;
	memcpy(p, "QFI\xfb", 4);
	be32(p + 4, version);
	if (backing) {
		be64(p + 8, 0x200);            /* backing name lives in the first cluster */
		be32(p + 16, 10);
		memcpy(p + 0x200, "/etc/hosts", 10);
	}
	be32(p + 20, 12);                      /* cluster_bits */
	be64(p + 24, Q_VSIZE);
	be64(p + 40, 0x1000);                  /* l1_table_offset */
	be32(p + 36, 1);
	be64(p + 48, 0x2000);                  /* refcount_table_offset */
	be32(p + 56, 1);
	size_t ext = 72;
	if (version == 3) {
		be64(p + 72, incompat);
		be32(p + 96, 4);               /* refcount_order */
		be32(p + 100, 104);            /* header_length */
		ext = 104;
	}
	if (ext_type) {
		be32(p + ext, ext_type);
		be32(p + ext + 4, ext_len);
		memcpy(p + ext + 8, "data.raw", ext_len < 8 ? ext_len : 8);
	}
	return im;
}

static struct img b_qcow2_v2(void) { return qcow2(2, false, 0, 0, 0); }
static struct img b_qcow2_v3(void) { return qcow2(3, false, 0, 0, 0); }
static struct img b_qcow2_v3_dirty_l2(void) { return qcow2(3, false, 0x1 | 0x10, 0, 0); }
static struct img b_qcow2_v2_backing(void) { return qcow2(2, true, 0, 0, 0); }
static struct img b_qcow2_v3_backing(void) { return qcow2(3, true, 0, 0, 0); }
static struct img b_qcow2_datafile_bit(void) { return qcow2(3, false, 0x4, 0, 0); }
static struct img b_qcow2_datafile_ext(void) { return qcow2(3, false, 0, 0x44415441, 8); }
static struct img b_qcow2_other_ext(void) { return qcow2(3, false, 0, 0x6803f857, 8); }
static struct img b_qcow2_unknown_bit(void) { return qcow2(3, false, 0x20, 0, 0); }
static struct img b_qcow2_ext_overrun(void) { return qcow2(3, false, 0, 0x6803f857, 5000); }
static struct img b_qcow2_v1(void) { return qcow2(1, false, 0, 0, 0); }

static struct img truncate_to(struct img im, size_t n)
{
	im.n = n;
	return im;
}

static struct img b_qcow2_magic_only(void) { return truncate_to(qcow2(3, false, 0, 0, 0), 4); }
static struct img b_qcow2_v2_short(void) { return truncate_to(qcow2(2, false, 0, 0, 0), 71); }
static struct img b_qcow2_v3_short(void) { return truncate_to(qcow2(3, false, 0, 0, 0), 100); }
/* The whole header is there, but the extension area (up to the end of the first
 * cluster) is cut before its end marker. */
static struct img b_qcow2_v3_no_ext_end(void)
{
	struct img im = qcow2(3, false, 0, 0x6803f857, 8);
	return truncate_to(im, 120);
}

/* ---- VMDK monolithicSparse: 10 MiB, descriptor in sectors 1-2 ---- */

#define V_CAP 20480u
#define V_TOTAL (64u * KiB)
#define VMDK_DESC(ctype, extent) \
	"# Disk DescriptorFile\nversion=1\nCID=7885e510\nparentCID=ffffffff\n" \
	"createType=\"" ctype "\"\n\n# Extent description\n" extent "\n\n" \
	"# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n" \
	"ddb.geometry.cylinders = \"20\"\nddb.adapterType = \"ide\"\n"
#define SELF_EXTENT "RW 20480 SPARSE \"disk.vmdk\""

static void vmdk_header(unsigned char *p, uint64_t cap, uint64_t desc_sec, uint64_t desc_num,
			uint64_t gd)
{
	memcpy(p, "KDMV", 4);
	le32(p + 4, 1);                  /* version */
	le32(p + 8, 3);                  /* flags */
	le64(p + 12, cap);
	le64(p + 20, 128);               /* grain */
	le64(p + 28, desc_sec);
	le64(p + 36, desc_num);
	le32(p + 44, 512);               /* numGTEsPerGT */
	le64(p + 48, 0);
	le64(p + 56, gd);
	le64(p + 64, 128);               /* overHead */
	p[73] = '\n'; p[74] = ' '; p[75] = '\r'; p[76] = '\n';
}

static struct img vmdk(uint64_t cap, uint64_t desc_sec, const char *desc, bool footer)
{
	size_t body = V_TOTAL;
	struct img im = img_alloc(body + (footer ? 1536 : 0));
	vmdk_header(im.p, cap, desc_sec, 2, footer ? UINT64_MAX : 21);
	assert_true(strlen(desc) <= 1024);
	memcpy(im.p + 512, desc, strlen(desc));
	if (footer) {
		unsigned char *m = im.p + body;
		le64(m, 0);
		le32(m + 8, 0);
		le32(m + 12, 3);             /* footer marker */
		vmdk_header(m + 512, cap, desc_sec, 2, 21);
		/* m + 1024: end-of-stream marker, all zero */
	}
	return im;
}

static struct img b_vmdk_self(void) { return vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse", SELF_EXTENT), false); }
static struct img b_vmdk_stream(void)
{
	return vmdk(V_CAP, 1, VMDK_DESC("streamOptimized", SELF_EXTENT), false);
}
static struct img b_vmdk_etc_hosts(void)
{
	return vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse", "RW 20480 SPARSE \"/etc/hosts\""), false);
}
static struct img b_vmdk_parent_dir(void)
{
	return vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse", "RW 20480 SPARSE \"..\""), false);
}
static struct img b_vmdk_url(void)
{
	return vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse", "RW 20480 SPARSE \"nbd:host:10809\""), false);
}
static struct img b_vmdk_two_extents(void)
{
	return vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse",
		    "RW 10240 SPARSE \"disk.vmdk\"\nRW 10240 SPARSE \"other.vmdk\""), false);
}
static struct img b_vmdk_flat_extent(void)
{
	return vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse", "RW 20480 FLAT \"disk-flat.vmdk\" 0"), false);
}
static struct img b_vmdk_no_extent(void) { return vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse", ""), false); }
static struct img b_vmdk_embedded_flat(void)
{
	return vmdk(V_CAP, 1, VMDK_DESC("monolithicFlat", "RW 20480 FLAT \"disk-flat.vmdk\" 0"), false);
}
static struct img b_vmdk_bad_line(void)
{
	return vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse", SELF_EXTENT "\nsomething odd here"), false);
}
static struct img b_vmdk_zero_cap(void) { return vmdk(0, 1, VMDK_DESC("monolithicSparse", SELF_EXTENT), false); }
static struct img b_vmdk_desc_elsewhere(void)
{
	return vmdk(V_CAP, 4, VMDK_DESC("monolithicSparse", SELF_EXTENT), false);
}
static struct img b_vmdk_footer(void) { return vmdk(V_CAP, 1, VMDK_DESC("streamOptimized", SELF_EXTENT), true); }
static struct img b_vmdk_footer_other_desc(void)
{
	struct img im = b_vmdk_footer();
	le64(im.p + im.n - 1024 + 28, 5);   /* footer points at a descriptor never read */
	return im;
}
static struct img b_vmdk_footer_bad_eos(void)
{
	struct img im = b_vmdk_footer();
	im.p[im.n - 1] = 1;
	return im;
}
static struct img b_vmdk_truncated_desc(void)
{
	return truncate_to(vmdk(V_CAP, 1, VMDK_DESC("monolithicSparse", SELF_EXTENT), false), 700);
}
static struct img b_vmdk_non_ascii(void)
{
	struct img im = b_vmdk_self();
	im.p[512 + 3] = 0xe9;
	return im;
}

static struct img text(const char *s)
{
	struct img im = img_alloc(strlen(s));
	memcpy(im.p, s, strlen(s));
	return im;
}

static struct img b_vmdk_text_flat(void)
{
	return text(VMDK_DESC("monolithicFlat", "RW 20480 FLAT \"disk-flat.vmdk\" 0"));
}
/* No banner, but QEMU's probe still takes it: comments, a blank line, version=. */
static struct img b_vmdk_text_probe(void)
{
	return text("# written by hand\n  \nversion=1\ncreateType=\"twoGbMaxExtentFlat\"\n"
		    "RW 4192256 FLAT \"a-f001.vmdk\" 0\nRW 4192256 FLAT \"a-f002.vmdk\" 0\n");
}
static struct img b_shell_script(void) { return text("#!/bin/sh\necho version=1\n"); }

/* ---- VHD ---- */

static void vhd_footer(unsigned char *f, uint32_t type, uint64_t size, uint64_t data_offset)
{
	memcpy(f, "conectix", 8);
	be32(f + 8, 2);
	be32(f + 12, 0x00010000);
	be64(f + 16, data_offset);
	memcpy(f + 28, "qemu", 4);
	be64(f + 40, size);
	be64(f + 48, size);
	be32(f + 56, 0x0a000411);              /* some CHS */
	be32(f + 60, type);
	uint32_t sum = 0;
	for (int i = 0; i < 512; i++)
		sum += f[i];
	be32(f + 64, ~sum);
}

static struct img vhd_fixed(size_t data)
{
	struct img im = img_alloc(data + 512);
	memset(im.p, 0x5a, data);
	vhd_footer(im.p + data, 2, data, UINT64_MAX);
	return im;
}

static struct img b_vhd_fixed(void) { return vhd_fixed(1 * MiB); }
/* Larger than the head: the footer reaches the inspector only through the ring. */
static struct img b_vhd_fixed_big(void) { return vhd_fixed(4 * MiB + 4096); }
static struct img b_vhd_bad_checksum(void)
{
	struct img im = vhd_fixed(64 * KiB);
	im.p[im.n - 512 + 40] ^= 1;            /* size changed, checksum not */
	return im;
}
static struct img vhd_dynamic(uint32_t type)
{
	struct img im = img_alloc(3 * KiB);
	vhd_footer(im.p, type, 10 * MiB, 512);
	memcpy(im.p + 512, "cxsparse", 8);
	vhd_footer(im.p + im.n - 512, type, 10 * MiB, 512);
	return im;
}
static struct img b_vhd_dynamic(void) { return vhd_dynamic(3); }
static struct img b_vhd_differencing(void) { return vhd_dynamic(4); }
static struct img b_vhd_short(void)
{
	struct img im = img_alloc(200);
	memcpy(im.p, "conectix", 8);
	return im;
}

/* ---- VHDX ---- */

/* Writes a GUID from its text form in the on-disk (mixed-endian) layout. */
static void guid(unsigned char *out, const char *s)
{
	unsigned v[16];
	int n = sscanf(s, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x", &v[0], &v[1], &v[2],
		       &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12],
		       &v[13], &v[14], &v[15]);
	assert_int_equal(n, 16);
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	for (int i = 0; i < 16; i++)
		out[i] = (unsigned char)v[order[i]];
}

static struct img vhdx(size_t meta_at, bool parent, bool has_parent_flag)
{
	struct img im = img_alloc(meta_at + 128 * KiB);
	unsigned char *p = im.p;
	memcpy(p, "vhdxfile", 8);
	memcpy(p + 64 * KiB, "head", 4);
	memcpy(p + 128 * KiB, "head", 4);
	unsigned char *rt = p + 0x30000;
	memcpy(rt, "regi", 4);
	le32(rt + 8, 2);
	guid(rt + 16, "2DC27766-F623-4200-9D64-115E9BFD4A08");   /* BAT */
	le64(rt + 32, 2 * MiB);
	le32(rt + 40, 1 * MiB);
	guid(rt + 48, "8B7CA206-4790-4B9A-B8FE-575F050F886E");   /* metadata */
	le64(rt + 64, meta_at);
	le32(rt + 72, 1 * MiB);
	le32(rt + 76, 1);
	unsigned char *mt = p + meta_at;
	memcpy(mt, "metadata", 8);
	le16(mt + 10, parent ? 3 : 2);
	guid(mt + 32, "CAA16737-FA36-4D43-B3B6-33F0AA44E76B");   /* file parameters */
	le32(mt + 48, 0x10000);
	le32(mt + 52, 8);
	guid(mt + 64, "2FA54224-CD1B-4876-B211-5DBED83BF4B8");   /* virtual disk size */
	le32(mt + 80, 0x10008);
	le32(mt + 84, 8);
	if (parent) {
		guid(mt + 96, "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
		le32(mt + 112, 0x10010);
		le32(mt + 116, 64);
	}
	le32(mt + 0x10000, 32 * MiB);
	le32(mt + 0x10004, has_parent_flag ? 2 : 0);
	le64(mt + 0x10008, 10ull * MiB);
	return im;
}

static struct img b_vhdx(void) { return vhdx(1 * MiB, false, false); }
static struct img b_vhdx_meta_beyond_head(void) { return vhdx(5 * MiB, false, false); }
static struct img b_vhdx_parent(void) { return vhdx(1 * MiB, true, false); }
static struct img b_vhdx_has_parent(void) { return vhdx(1 * MiB, false, true); }
static struct img b_vhdx_short(void) { return truncate_to(vhdx(1 * MiB, false, false), 100 * KiB); }

/* ---- VDI, QED, LUKS ---- */

static struct img vdi(uint32_t type)
{
	struct img im = img_alloc(2 * KiB);
	memcpy(im.p, "<<< QEMU VM Virtual Disk Image >>>\n", 35);
	le32(im.p + 0x40, 0xbeda107f);
	le32(im.p + 0x44, 0x00010001);
	le32(im.p + 0x48, 0x190);
	le32(im.p + 0x4c, type);
	le64(im.p + 0x170, 10ull * MiB);
	le32(im.p + 0x178, 1 * MiB);
	return im;
}
static struct img b_vdi(void) { return vdi(1); }
static struct img b_vdi_diff(void) { return vdi(4); }

static struct img b_qed(void)
{
	struct img im = img_alloc(4 * KiB);
	memcpy(im.p, "QED\0", 4);
	le32(im.p + 4, 64 * KiB);
	le32(im.p + 8, 4);
	le32(im.p + 12, 1);
	le64(im.p + 48, 10ull * MiB);
	return im;
}

static struct img luks(uint16_t version)
{
	struct img im = img_alloc(8 * KiB);
	memcpy(im.p, "LUKS\xba\xbe", 6);
	im.p[6] = (unsigned char)(version >> 8);
	im.p[7] = (unsigned char)version;
	memcpy(im.p + 8, "aes", 3);
	memcpy(im.p + 40, "xts-plain64", 11);
	memcpy(im.p + 72, "sha256", 6);
	be32(im.p + 104, 8);                   /* payload at sector 8 */
	be32(im.p + 108, 32);
	return im;
}
static struct img b_luks(void) { return luks(1); }
static struct img b_luks2(void) { return luks(2); }

/* ---- ISO, raw, GPT ---- */

#define ISO_TOTAL (40u * KiB)

static struct img b_iso(void)
{
	struct img im = img_alloc(ISO_TOTAL);
	im.p[0x8000] = 1;                      /* primary volume descriptor */
	memcpy(im.p + 0x8001, "CD001", 5);
	im.p[0x8006] = 1;
	le32(im.p + 0x8000 + 80, ISO_TOTAL / 2048);
	le16(im.p + 0x8000 + 128, 2048);
	im.p[0x8800] = 0xff;                   /* set terminator */
	memcpy(im.p + 0x8801, "CD001", 5);
	return im;
}

static void mbr(unsigned char *p, uint8_t type, uint32_t start, uint32_t sectors)
{
	unsigned char *pte = p + 446;
	pte[1] = 0x00; pte[2] = 0x02; pte[3] = 0x00;
	pte[4] = type;
	pte[5] = 0xff; pte[6] = 0xff; pte[7] = 0xff;
	le32(pte + 8, start);
	le32(pte + 12, sectors);
	p[510] = 0x55;
	p[511] = 0xaa;
}

static struct img b_iso_qcow2_system(void)
{
	struct img im = b_iso();
	struct img q = qcow2(3, false, 0, 0, 0);
	memcpy(im.p, q.p, 4096);
	free(q.p);
	return im;
}
static struct img b_iso_hybrid(void)
{
	struct img im = b_iso();
	mbr(im.p, 0x17, 0, ISO_TOTAL / 512);
	im.p[446] = 0x80;
	return im;
}
static struct img b_raw(void) { return img_alloc(1 * MiB); }
static struct img b_empty(void) { return img_alloc(0); }
static struct img b_gpt(void)
{
	struct img im = img_alloc(1 * MiB);
	mbr(im.p, 0xee, 1, 1 * MiB / 512 - 1);
	memcpy(im.p + 512, "EFI PART", 8);
	return im;
}
static struct img b_raw_qcow2_lie(void)
{
	/* A raw disk whose first sector was overwritten with a qcow2 header. */
	struct img im = b_raw();
	struct img q = qcow2(2, true, 0, 0, 0);
	memcpy(im.p, q.p, 4096);
	free(q.p);
	return im;
}

/* ---- the table ---- */

#define VS_FILE UINT64_MAX   /* virtual size is the file size */

struct icase {
	const char *name;
	struct img (*build)(void);
	const char *declared;
	enum img_format format;
	const char *format_name;
	uint64_t vsize;
	const char *reason;      /* NULL: accepted */
};

#define BACKING "qcow2 images with a backing file are not allowed."
#define DATAFILE "qcow2 images with an external data file are not allowed."
#define MISMATCH(f) "Image content does not match disk_format " f "."
#define Q_TRUNC "Image is truncated inside its qcow2 header."
#define V_OUTSIDE "VMDK descriptor names an extent outside the image file."
#define V_SIZE (20480ull * 512)

static const struct icase cases[] = {
	{ "qcow2_v2", b_qcow2_v2, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, NULL },
	{ "qcow2_v3", b_qcow2_v3, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, NULL },
	{ "qcow2_v3_dirty_extended_l2", b_qcow2_v3_dirty_l2, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, NULL },
	{ "qcow2_v3_harmless_extension", b_qcow2_other_ext, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, NULL },
	{ "qcow2_v2_backing", b_qcow2_v2_backing, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, BACKING },
	{ "qcow2_v3_backing", b_qcow2_v3_backing, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, BACKING },
	{ "qcow2_backing_declared_ploop", b_qcow2_v3_backing, "ploop", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, BACKING },
	{ "qcow2_backing_declared_raw", b_qcow2_v3_backing, "raw", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, MISMATCH("raw") },
	{ "qcow2_datafile_bit", b_qcow2_datafile_bit, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, DATAFILE },
	{ "qcow2_datafile_extension", b_qcow2_datafile_ext, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, DATAFILE },
	{ "qcow2_unknown_incompat_bit", b_qcow2_unknown_bit, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE,
	  "qcow2 image uses unknown incompatible features." },
	{ "qcow2_extension_overrun", b_qcow2_ext_overrun, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE,
	  "qcow2 header extension runs past the first cluster." },
	{ "qcow_v1", b_qcow2_v1, "qcow2", IMG_FMT_QCOW2, "qcow2", 0, "qcow2 version 1 is not supported." },
	{ "qcow2_magic_only", b_qcow2_magic_only, "qcow2", IMG_FMT_QCOW2, "qcow2", 0, Q_TRUNC },
	{ "qcow2_v2_short", b_qcow2_v2_short, "qcow2", IMG_FMT_QCOW2, "qcow2", 0, Q_TRUNC },
	{ "qcow2_v3_short", b_qcow2_v3_short, "qcow2", IMG_FMT_QCOW2, "qcow2", 0, Q_TRUNC },
	{ "qcow2_v3_no_extension_end", b_qcow2_v3_no_ext_end, "qcow2", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, Q_TRUNC },
	{ "qcow2_declared_raw", b_qcow2_v3, "raw", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, MISMATCH("raw") },
	{ "qcow2_declared_ami", b_qcow2_v3, "ami", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, MISMATCH("ami") },
	{ "qcow2_declared_vmdk", b_qcow2_v3, "vmdk", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, MISMATCH("vmdk") },
	{ "qcow2_declared_ploop", b_qcow2_v3, "ploop", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, NULL },
	{ "qcow2_declared_none", b_qcow2_v3, NULL, IMG_FMT_QCOW2, "qcow2", Q_VSIZE, NULL },
	{ "raw_declared_qcow2", b_raw, "qcow2", IMG_FMT_RAW, "raw", VS_FILE, MISMATCH("qcow2") },
	{ "raw_with_qcow2_header_lie", b_raw_qcow2_lie, "raw", IMG_FMT_QCOW2, "qcow2", Q_VSIZE, MISMATCH("raw") },

	{ "vmdk_sparse_self", b_vmdk_self, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE, NULL },
	{ "vmdk_stream_optimized", b_vmdk_stream, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE, NULL },
	{ "vmdk_footer", b_vmdk_footer, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE, NULL },
	{ "vmdk_footer_other_descriptor", b_vmdk_footer_other_desc, "vmdk", IMG_FMT_VMDK, "vmdk", 0,
	  "VMDK footer does not match its header." },
	{ "vmdk_footer_bad_eos", b_vmdk_footer_bad_eos, "vmdk", IMG_FMT_VMDK, "vmdk", 0,
	  "VMDK end-of-stream marker is invalid." },
	{ "vmdk_sparse_etc_hosts", b_vmdk_etc_hosts, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE, V_OUTSIDE },
	{ "vmdk_sparse_parent_dir", b_vmdk_parent_dir, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE, V_OUTSIDE },
	{ "vmdk_sparse_url", b_vmdk_url, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE, V_OUTSIDE },
	{ "vmdk_sparse_flat_extent", b_vmdk_flat_extent, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE, V_OUTSIDE },
	{ "vmdk_sparse_two_extents", b_vmdk_two_extents, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE,
	  "VMDK descriptor names more than one extent." },
	{ "vmdk_sparse_no_extent", b_vmdk_no_extent, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE,
	  "VMDK descriptor names no extent." },
	{ "vmdk_embedded_monolithic_flat", b_vmdk_embedded_flat, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE,
	  "VMDK images of createType monolithicFlat are not allowed." },
	{ "vmdk_unsupported_line", b_vmdk_bad_line, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE,
	  "VMDK descriptor contains an unsupported line." },
	{ "vmdk_zero_capacity", b_vmdk_zero_cap, "vmdk", IMG_FMT_VMDK, "vmdk", 0,
	  "VMDK sparse images with zero capacity are not allowed." },
	{ "vmdk_descriptor_elsewhere", b_vmdk_desc_elsewhere, "vmdk", IMG_FMT_VMDK, "vmdk", 0,
	  "VMDK descriptor is not embedded right after the sparse header." },
	{ "vmdk_truncated_descriptor", b_vmdk_truncated_desc, "vmdk", IMG_FMT_VMDK, "vmdk", 0,
	  "Image is truncated inside its VMDK header or descriptor." },
	{ "vmdk_non_ascii_descriptor", b_vmdk_non_ascii, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE,
	  "VMDK descriptor is not ASCII text." },
	{ "vmdk_text_monolithic_flat", b_vmdk_text_flat, "vmdk", IMG_FMT_VMDK, "vmdk", V_SIZE,
	  "VMDK descriptor files (createType monolithicFlat) are not allowed because their extents "
	  "live in other files." },
	{ "vmdk_text_declared_raw", b_vmdk_text_flat, "raw", IMG_FMT_VMDK, "vmdk", V_SIZE, MISMATCH("raw") },
	{ "vmdk_text_qemu_probe", b_vmdk_text_probe, "vmdk", IMG_FMT_VMDK, "vmdk", 2ull * 4192256 * 512,
	  "VMDK descriptor files (createType twoGbMaxExtentFlat) are not allowed because their "
	  "extents live in other files." },
	{ "vmdk_declared_raw", b_vmdk_self, "raw", IMG_FMT_VMDK, "vmdk", V_SIZE, MISMATCH("raw") },
	{ "shell_script_is_raw", b_shell_script, "raw", IMG_FMT_RAW, "raw", VS_FILE, NULL },

	{ "vhd_fixed", b_vhd_fixed, "vhd", IMG_FMT_VHD, "vhd", 1 * MiB, NULL },
	{ "vhd_fixed_beyond_head", b_vhd_fixed_big, "vhd", IMG_FMT_VHD, "vhd", 4 * MiB + 4096, NULL },
	{ "vhd_fixed_declared_raw", b_vhd_fixed, "raw", IMG_FMT_VHD, "vhd", 1 * MiB, MISMATCH("raw") },
	{ "vhd_footer_bad_checksum_is_raw", b_vhd_bad_checksum, "raw", IMG_FMT_RAW, "raw", VS_FILE, NULL },
	{ "vhd_dynamic", b_vhd_dynamic, "vhd", IMG_FMT_VHD, "vhd", 10 * MiB, NULL },
	{ "vhd_differencing", b_vhd_differencing, "vhd", IMG_FMT_VHD, "vhd", 10 * MiB,
	  "VHD differencing images are not allowed." },
	{ "vhd_truncated", b_vhd_short, "vhd", IMG_FMT_VHD, "vhd", 0,
	  "Image is truncated inside its VHD footer." },
	{ "vhd_declared_vhdx", b_vhd_dynamic, "vhdx", IMG_FMT_VHD, "vhd", 10 * MiB, MISMATCH("vhdx") },

	{ "vhdx", b_vhdx, "vhdx", IMG_FMT_VHDX, "vhdx", 10 * MiB, NULL },
	{ "vhdx_metadata_beyond_head", b_vhdx_meta_beyond_head, "vhdx", IMG_FMT_VHDX, "vhdx", 0, NULL },
	{ "vhdx_parent_locator", b_vhdx_parent, "vhdx", IMG_FMT_VHDX, "vhdx", 10 * MiB,
	  "VHDX differencing images are not allowed." },
	{ "vhdx_has_parent_flag", b_vhdx_has_parent, "vhdx", IMG_FMT_VHDX, "vhdx", 0,
	  "VHDX differencing images are not allowed." },
	{ "vhdx_truncated", b_vhdx_short, "vhdx", IMG_FMT_VHDX, "vhdx", 0,
	  "Image is truncated inside its VHDX headers." },
	{ "vhdx_declared_raw", b_vhdx, "raw", IMG_FMT_VHDX, "vhdx", 10 * MiB, MISMATCH("raw") },

	{ "vdi", b_vdi, "vdi", IMG_FMT_VDI, "vdi", 10 * MiB, NULL },
	{ "vdi_differencing", b_vdi_diff, "vdi", IMG_FMT_VDI, "vdi", 10 * MiB,
	  "VDI image type 4 is not supported." },
	{ "vdi_declared_raw", b_vdi, "raw", IMG_FMT_VDI, "vdi", 10 * MiB, MISMATCH("raw") },
	{ "qed", b_qed, "qed", IMG_FMT_QED, "qed", 10 * MiB, "QED images are not supported." },
	{ "qed_declared_raw", b_qed, "raw", IMG_FMT_QED, "qed", 10 * MiB, MISMATCH("raw") },
	{ "luks1", b_luks, "luks", IMG_FMT_LUKS, "luks", 4 * KiB, NULL },
	{ "luks2", b_luks2, "luks", IMG_FMT_LUKS, "luks", 0, "LUKS version 2 is not supported." },
	{ "luks_declared_raw", b_luks, "raw", IMG_FMT_LUKS, "luks", 4 * KiB, MISMATCH("raw") },

	{ "iso", b_iso, "iso", IMG_FMT_ISO, "iso", VS_FILE, NULL },
	{ "iso_declared_raw", b_iso, "raw", IMG_FMT_ISO, "iso", VS_FILE, NULL },
	{ "iso_declared_qcow2", b_iso, "qcow2", IMG_FMT_ISO, "iso", VS_FILE, MISMATCH("qcow2") },
	{ "iso_hybrid_mbr", b_iso_hybrid, "iso", IMG_FMT_ISO, "iso", VS_FILE, NULL },
	{ "iso_with_qcow2_in_system_area", b_iso_qcow2_system, "iso", IMG_FMT_ISO, "iso", VS_FILE,
	  "Image content matches more than one format (qcow2, iso)." },
	{ "iso_with_qcow2_declared_qcow2", b_iso_qcow2_system, "qcow2", IMG_FMT_ISO, "iso", VS_FILE,
	  "Image content matches more than one format (qcow2, iso)." },
	{ "raw_zeros", b_raw, "raw", IMG_FMT_RAW, "raw", VS_FILE, NULL },
	{ "raw_declared_iso", b_raw, "iso", IMG_FMT_RAW, "raw", VS_FILE, MISMATCH("iso") },
	{ "raw_declared_aki", b_raw, "aki", IMG_FMT_RAW, "raw", VS_FILE, NULL },
	{ "raw_declared_ploop", b_raw, "ploop", IMG_FMT_RAW, "raw", VS_FILE, NULL },
	{ "raw_declared_vhd", b_raw, "vhd", IMG_FMT_RAW, "raw", VS_FILE, MISMATCH("vhd") },
	{ "empty_raw", b_empty, "raw", IMG_FMT_RAW, "raw", 0, NULL },
	{ "empty_declared_qcow2", b_empty, "qcow2", IMG_FMT_RAW, "raw", 0, MISMATCH("qcow2") },
	{ "gpt", b_gpt, "raw", IMG_FMT_GPT, "raw", VS_FILE, NULL },
	{ "gpt_declared_ami", b_gpt, "ami", IMG_FMT_GPT, "raw", VS_FILE, NULL },
	{ "gpt_declared_qcow2", b_gpt, "qcow2", IMG_FMT_GPT, "raw", VS_FILE, MISMATCH("qcow2") },
};

/* Feeds im in chunks of `chunk` bytes (0 = all at once) and checks the verdict. */
static void check_one(const struct icase *c, const struct img *im, size_t chunk)
{
	struct img_inspector *ins = img_inspector_new();
	assert_non_null(ins);
	size_t step = chunk ? chunk : (im->n ? im->n : 1);
	for (size_t off = 0; off < im->n; off += step)
		img_inspector_feed(ins, im->p + off, im->n - off < step ? im->n - off : step);
	struct img_info info;
	char reason[256];
	memset(reason, 'x', sizeof(reason));
	int rc = img_inspector_finish(ins, c->declared, &info, reason, sizeof(reason));
	img_inspector_free(ins);

	if (c->reason) {
		assert_int_equal(rc, -1);
		assert_string_equal(reason, c->reason);
	} else {
		if (rc != 0)
			fail_msg("%s (chunk %zu): rejected: %s", c->name, chunk, reason);
		assert_string_equal(reason, "");
	}
	assert_int_equal(info.format, c->format);
	assert_string_equal(info.format_name, c->format_name);
	assert_int_equal(info.actual_size, im->n);
	uint64_t want = c->vsize == VS_FILE ? im->n : c->vsize;
	if (info.virtual_size != want)
		fail_msg("%s (chunk %zu): virtual size %llu, want %llu", c->name, chunk,
			 (unsigned long long)info.virtual_size, (unsigned long long)want);
}

static void run_case(void **state)
{
	const struct icase *c = *state;
	struct img im = c->build();
	static const size_t chunks[] = { 0, 1, 7, 64 * KiB };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		check_one(c, &im, chunks[i]);
	free(im.p);
}

/* The contract around the edges: empty feeds are no-ops, finish may be asked twice
 * with the same answer, and a NULL reason buffer is allowed. */
static void test_api_edges(void **state)
{
	(void)state;
	struct img im = b_qcow2_v3_backing();
	struct img_inspector *ins = img_inspector_new();
	assert_non_null(ins);
	img_inspector_feed(ins, NULL, 10);
	img_inspector_feed(ins, im.p, 0);
	img_inspector_feed(ins, im.p, im.n);
	struct img_info a, b;
	char r1[128], r2[128];
	assert_int_equal(img_inspector_finish(ins, "qcow2", &a, r1, sizeof(r1)), -1);
	assert_int_equal(img_inspector_finish(ins, "qcow2", &b, r2, sizeof(r2)), -1);
	assert_string_equal(r1, r2);
	assert_int_equal(a.virtual_size, b.virtual_size);
	assert_int_equal(img_inspector_finish(ins, "qcow2", &b, NULL, 0), -1);
	/* A short buffer still gets a terminated prefix. */
	char tiny[6];
	assert_int_equal(img_inspector_finish(ins, "qcow2", &b, tiny, sizeof(tiny)), -1);
	assert_string_equal(tiny, "qcow2");
	img_inspector_free(ins);
	img_inspector_free(NULL);
	free(im.p);
}

int main(void)
{
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[N + 1];
	for (size_t i = 0; i < N; i++)
		tests[i] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
	tests[N] = (struct CMUnitTest)cmocka_unit_test(test_api_edges);
	return cmocka_run_group_tests_name("image_inspect", tests, NULL, NULL);
}
