/* The KVM-or-TCG probe (see virt_probe.h).
 *
 * The payload is a 512-byte real-mode boot sector, assembled by hand below so no
 * assembler or guest image is needed. SeaBIOS loads it at 0x7c00; it prints a marker on
 * COM1 and writes a value to QEMU's isa-debug-exit port, which makes QEMU exit at once
 * with status (value << 1) | 1. Both must be seen: the exit status proves the code ran to
 * the end, the marker proves the serial port (what the guests' console needs) works.
 * -cpu host matters: on a nested host without the CPU features KVM needs, QEMU aborts
 * while setting up the vCPU ("failed to set MSR"), whereas -cpu qemu64 may still run
 * this tiny payload and then fail on a real kernel.
 *
 * QEMU runs through compute/proc.c (no shell, its own process group, stdout/stderr in a
 * file), killed with its whole group when the time limit passes. Scratch files live in a private directory under $TMPDIR (or /tmp),
 * always removed. The answer is cached in STATE/virt-probe.json. No libvirt here. */
#include "compute/virt_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "compute/proc.h"
#include "common/log.h"

#define DEFAULT_TIMEOUT_MS 10000
#define CACHE_FILE "virt-probe.json"

/* ---- the payload ---------------------------------------------------------------------------- */

#define PROBE_MARKER "NOVALITE-PROBE-OK"
#define PROBE_EXIT_VALUE 0x2a
/* isa-debug-exit: QEMU exits with (value << 1) | 1 = 85. */
#define PROBE_EXIT_STATUS ((PROBE_EXIT_VALUE << 1) | 1)
#define PROBE_CODE_ORG 0x7c00

/* 16-bit real mode, loaded at 0:0x7c00. Offsets on the left; the marker follows the code
 * at offset 41 (0x7c29), NUL-terminated. */
static const unsigned char probe_code[] = {
	0xFA,                   /* 00 cli                    no interrupts: nothing to handle them */
	0xFC,                   /* 01 cld                    lodsb counts upwards */
	0x31, 0xC0,             /* 02 xor ax, ax */
	0x8E, 0xD8,             /* 04 mov ds, ax             ds:si addresses the marker at 0:0x7c29 */
	0xBE, 0x29, 0x7C,       /* 06 mov si, 0x7c29 */
	0xAC,                   /* 09 next: lodsb            al = *si++ */
	0x84, 0xC0,             /* 0a test al, al */
	0x74, 0x12,             /* 0c jz done (0x20)         end of string */
	0x88, 0xC3,             /* 0e mov bl, al             keep the character */
	0xBA, 0xFD, 0x03,       /* 10 wait: mov dx, 0x3fd    COM1 line status register */
	0xEC,                   /* 13 in al, dx */
	0xA8, 0x20,             /* 14 test al, 0x20          transmitter holding register empty? */
	0x74, 0xF8,             /* 16 jz wait (0x10) */
	0xBA, 0xF8, 0x03,       /* 18 mov dx, 0x3f8          COM1 data */
	0x88, 0xD8,             /* 1b mov al, bl */
	0xEE,                   /* 1d out dx, al */
	0xEB, 0xE9,             /* 1e jmp next (0x09) */
	0xBA, 0xF4, 0x00,       /* 20 done: mov dx, 0xf4     isa-debug-exit (iobase=0xf4) */
	0xB0, PROBE_EXIT_VALUE, /* 23 mov al, 0x2a */
	0xEE,                   /* 25 out dx, al             QEMU exits here */
	0xF4,                   /* 26 halt: hlt              only if the device is missing */
	0xEB, 0xFD,             /* 27 jmp halt (0x26) */
};
_Static_assert(sizeof(probe_code) == 0x29, "the marker address in mov si must follow the code");

/* The 512-byte image: code, marker, zero padding, the 0x55 0xaa boot signature. */
static void probe_image(unsigned char img[512])
{
	static const char msg[] = PROBE_MARKER "\r\n";
	memset(img, 0, 512);
	memcpy(img, probe_code, sizeof(probe_code));
	memcpy(img + sizeof(probe_code), msg, sizeof(msg));   /* with its NUL */
	img[510] = 0x55;
	img[511] = 0xAA;
}

/* ---- small helpers ---------------------------------------------------------------------------- */


static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Reads up to cap-1 bytes of a file into buf (NUL-terminated); "" when unreadable. */
static void read_head(const char *path, char *buf, size_t cap)
{
	size_t used = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	buf[0] = '\0';
	if (fd < 0)
		return;
	while (used + 1 < cap) {
		ssize_t n = read(fd, buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	close(fd);
}

static int write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The default QEMU for this host's architecture; NULL when the payload cannot run on it
 * (it is x86 code). */
static const char *default_qemu(void)
{
	struct utsname u;
	if (uname(&u) == 0 && (!strcmp(u.machine, "x86_64") || !strcmp(u.machine, "i686")))
		return "/usr/bin/qemu-system-x86_64";
	return NULL;
}

/* ---- one run -------------------------------------------------------------------------------- */

struct probe_result {
	long long elapsed_ms;
	char detail[768];   /* why it failed, no trailing period: "qemu-system-x86_64 was killed ..." */
};

/* One probe. 0 on success; -1 with res->detail otherwise. */
static int probe_once(const char *qemu, const char *accel, int timeout_ms, struct probe_result *res)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], img_path[PATH_MAX], serial_path[PATH_MAX], log_path[PATH_MAX];
	char drive[PATH_MAX + 32], serial[PATH_MAX + 16], out[4096];
	unsigned char img[512];
	int rc = -1, log_fd = -1, fd;
	bool kvm = !strcmp(accel, "kvm");
	struct proc_result pr;
	const char *prog = base_name(qemu);

	res->elapsed_ms = 0;
	res->detail[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/nl-virt-probe-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		snprintf(res->detail, sizeof(res->detail), "cannot create a directory in %s: %s",
			 tmp && *tmp == '/' ? tmp : "/tmp", strerror(errno));
		return -1;
	}
	snprintf(img_path, sizeof(img_path), "%s/boot.img", dir);
	snprintf(serial_path, sizeof(serial_path), "%s/serial.log", dir);
	snprintf(log_path, sizeof(log_path), "%s/qemu.log", dir);

	probe_image(img);
	fd = open(img_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, img, sizeof(img)) != 0 || close(fd) != 0) {
		snprintf(res->detail, sizeof(res->detail), "cannot write %s: %s", img_path, strerror(errno));
		goto out;
	}
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		snprintf(res->detail, sizeof(res->detail), "cannot create %s: %s", log_path, strerror(errno));
		goto out;
	}
	snprintf(drive, sizeof(drive), "file=%s,format=raw,if=ide", img_path);
	snprintf(serial, sizeof(serial), "file:%s", serial_path);
	/* -cpu host for KVM: what a libvirt KVM domain gets with host-passthrough, and the
	 * setting that fails on hosts whose nested KVM lacks features. */
	char *const argv[] = {
		(char *)qemu, "-accel", kvm ? "kvm" : "tcg", "-cpu", kvm ? "host" : "qemu64",
		"-machine", "pc", "-m", "16", "-nodefaults", "-display", "none", "-no-user-config",
		"-serial", serial, "-drive", drive, "-boot", "c",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL,
	};
	if (proc_exec((const char *const *)argv, log_fd, NULL, 0, timeout_ms, &pr)) {
		snprintf(res->detail, sizeof(res->detail), "cannot start %s: %s", qemu, strerror(errno));
		goto out;
	}
	int status = pr.status, exec_errno = pr.exec_errno;
	bool timed_out = pr.timed_out;
	res->elapsed_ms = pr.elapsed_ms;
	double secs = (double)res->elapsed_ms / 1000.0;
	read_head(log_path, out, sizeof(out));
	out[strcspn(out, "\n")] = '\0';     /* QEMU's first complaint says what went wrong */
	if (exec_errno) {
		snprintf(res->detail, sizeof(res->detail), "%s could not be run: %s", qemu, strerror(exec_errno));
	} else if (timed_out) {
		snprintf(res->detail, sizeof(res->detail), "%s did not finish within %d ms and was killed "
			 "after %.2f s%s%s", prog, timeout_ms, secs, out[0] ? ": " : "", out);
	} else if (WIFSIGNALED(status)) {
		snprintf(res->detail, sizeof(res->detail), "%s was killed by signal %d (%s) after %.2f s%s%s",
			 prog, WTERMSIG(status), strsignal(WTERMSIG(status)), secs, out[0] ? ": " : "", out);
	} else if (WEXITSTATUS(status) != PROBE_EXIT_STATUS) {
		snprintf(res->detail, sizeof(res->detail), "%s exited with status %d after %.2f s%s%s", prog,
			 WEXITSTATUS(status), secs, out[0] ? ": " : "", out);
	} else {
		char serial_text[512];
		read_head(serial_path, serial_text, sizeof(serial_text));
		if (strstr(serial_text, PROBE_MARKER))
			rc = 0;
		else
			snprintf(res->detail, sizeof(res->detail), "%s exited as the payload asked after %.2f s, "
				 "but the payload's marker is not in the serial output", prog, secs);
	}
out:
	if (log_fd >= 0)
		close(log_fd);
	unlink(img_path);
	unlink(serial_path);
	unlink(log_path);
	if (rmdir(dir) != 0)
		log_warn("Removing the probe directory %s failed: %s.", dir, strerror(errno));
	return rc;
}

static const char *accel_label(const char *accel)
{
	return !strcmp(accel, "kvm") ? "KVM" : "TCG";
}

int virt_probe_run(const char *qemu_binary, const char *accel, int timeout_ms, struct nl_error *err)
{
	struct probe_result res;

	if (!accel || (strcmp(accel, "kvm") && strcmp(accel, "tcg"))) {
		nl_err_set(err, 400, "The probe accelerator '%s' is not one of kvm, tcg.", accel ? accel : "");
		return -1;
	}
	if (!qemu_binary)
		qemu_binary = default_qemu();
	if (!qemu_binary) {
		nl_err_set(err, 500, "The %s probe has no payload for this host's architecture.",
			   accel_label(accel));
		return -1;
	}
	if (probe_once(qemu_binary, accel, timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS, &res) == 0) {
		log_debug("The %s probe passed in %.2f s.", accel_label(accel), (double)res.elapsed_ms / 1000.0);
		return 0;
	}
	nl_err_set(err, 500, "The %s probe failed: %s.", accel_label(accel), res.detail);
	return -1;
}

/* ---- the choice and its cache ------------------------------------------------------------------- */

const char *virt_type_name(enum virt_type t)
{
	return t == VIRT_TYPE_KVM ? "kvm" : "qemu";
}

/* What the cached answer depends on: the QEMU binary and the running kernel. */
struct probe_key {
	const char *qemu;
	long long size, mtime;
	char kernel[128];
};

/* The cached answer when it was made with the same key: 0 and *kvm, *reason (copied);
 * -1 when there is none or it does not match. */
static int cache_read(const char *path, const struct probe_key *key, bool *kvm, char *reason, size_t reason_len)
{
	json_error_t jerr;
	json_t *c = json_load_file(path, 0, &jerr);
	const char *qemu = NULL, *kernel = NULL, *result = NULL, *why = NULL;
	json_int_t size = -1, mtime = -1;
	int rc = -1;

	if (!c)
		return -1;
	if (json_unpack(c, "{s:s, s:I, s:I, s:s, s:s, s:s}", "qemu", &qemu, "size", &size, "mtime", &mtime,
			"kernel", &kernel, "result", &result, "reason", &why) == 0 &&
	    !strcmp(qemu, key->qemu) && size == key->size && mtime == key->mtime &&
	    !strcmp(kernel, key->kernel) && (!strcmp(result, "kvm") || !strcmp(result, "qemu"))) {
		*kvm = !strcmp(result, "kvm");
		snprintf(reason, reason_len, "%s", why);
		rc = 0;
	}
	json_decref(c);
	return rc;
}

/* Writes the cache atomically (temporary file, fsync, rename): a crash leaves the old
 * file or the new one, never half of one. Failures are only logged: the next start
 * probes again. */
static void cache_write(const char *path, const struct probe_key *key, bool kvm, const char *reason,
			long long elapsed_ms)
{
	char tmp[PATH_MAX];
	json_t *c = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:I}", "qemu", key->qemu,
			      "size", (json_int_t)key->size, "mtime", (json_int_t)key->mtime,
			      "kernel", key->kernel, "result", kvm ? "kvm" : "qemu", "reason", reason,
			      "elapsed_ms", (json_int_t)elapsed_ms);
	char *text = c ? json_dumps(c, JSON_INDENT(2)) : NULL;
	int fd = -1;

	json_decref(c);
	if (!text)
		abort();
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) != 0 || write_all(fd, "\n", 1) != 0 ||
	    fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		log_warn("Writing the virt probe cache %s failed: %s.", path, strerror(errno));
		if (fd >= 0)
			close(fd);   /* may fail again after a failed close: harmless */
		unlink(tmp);
	}
	free(text);
}

int virt_probe_choose(const char *configured, const char *state_dir, const char *qemu_binary,
		      int timeout_ms, enum virt_type *out, char *why, size_t why_len, struct nl_error *err)
{
	char cache[PATH_MAX], reason[768];
	struct probe_key key = { 0 };
	struct utsname u;
	struct stat st;
	struct probe_result res;
	bool kvm;
	int fd;

	if (configured && !strcmp(configured, "kvm")) {
		*out = VIRT_TYPE_KVM;
		snprintf(why, why_len, "configured: using KVM (no probe)");
		return 0;
	}
	if (configured && !strcmp(configured, "qemu")) {
		*out = VIRT_TYPE_QEMU;
		snprintf(why, why_len, "configured: using TCG (no probe)");
		return 0;
	}
	if (!configured || strcmp(configured, "auto")) {
		nl_err_set(err, 400, "The virt type '%s' is not one of auto, kvm, qemu.", configured ? configured : "");
		return -1;
	}

	/* From here on the answer is always a choice: TCG works wherever QEMU does. */
	*out = VIRT_TYPE_QEMU;
	if (!qemu_binary)
		qemu_binary = default_qemu();
	if (!qemu_binary) {
		snprintf(why, why_len, "auto: no KVM probe for this host's architecture: using TCG");
		return 0;
	}
	if (stat(qemu_binary, &st) != 0) {
		/* The agent fails later anyway, when libvirt cannot start a guest. */
		snprintf(why, why_len, "auto: the QEMU binary %s is missing (%s): using TCG", qemu_binary,
			 strerror(errno));
		return 0;
	}
	/* Not cached: a permission or module fix must take effect at the next start. */
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "auto: /dev/kvm cannot be opened for reading and writing (%s): using TCG",
			 strerror(errno));
		return 0;
	}
	close(fd);

	key.qemu = qemu_binary;
	key.size = (long long)st.st_size;
	key.mtime = (long long)st.st_mtime;
	snprintf(key.kernel, sizeof(key.kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
	cache[0] = '\0';
	if (state_dir && *state_dir) {
		snprintf(cache, sizeof(cache), "%s/%s", state_dir, CACHE_FILE);
		if (cache_read(cache, &key, &kvm, reason, sizeof(reason)) == 0) {
			*out = kvm ? VIRT_TYPE_KVM : VIRT_TYPE_QEMU;
			snprintf(why, why_len, "auto: cached in %s (same QEMU and kernel): %s: using %s", cache,
				 reason, kvm ? "KVM" : "TCG");
			return 0;
		}
	}

	kvm = probe_once(qemu_binary, "kvm", timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS, &res) == 0;
	if (kvm)
		snprintf(reason, sizeof(reason), "KVM probe passed in %.2f s", (double)res.elapsed_ms / 1000.0);
	else
		snprintf(reason, sizeof(reason), "KVM probe failed (%s)", res.detail);
	if (cache[0])
		cache_write(cache, &key, kvm, reason, res.elapsed_ms);
	*out = kvm ? VIRT_TYPE_KVM : VIRT_TYPE_QEMU;
	snprintf(why, why_len, "auto: %s: using %s", reason, kvm ? "KVM" : "TCG");
	return 0;
}
