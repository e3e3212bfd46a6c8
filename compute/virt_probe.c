/* The KVM-or-TCG probe (see virt_probe.h).
 *
 * The payload is a real kernel (found, not shipped) and an initramfs written here as an
 * uncompressed newc cpio: /bin/busybox (busybox-static), /dev/console, /dev/ttyS0 and an
 * /init that prints the marker on COM1 and powers off. The marker is what counts: it
 * proves the kernel got from its entry through protected/long mode, interrupts and the
 * serial driver to user space, which is what the guests need and what a boot sector
 * never exercises. -cpu host matters: on a nested host without the CPU features KVM
 * needs, QEMU aborts while setting up the vCPU ("failed to set MSR").
 *
 * QEMU runs through compute/proc.c (no shell, its own process group, stdout/stderr in a
 * file), killed with its whole group when the time limit passes. Scratch files live in a
 * private directory under $TMPDIR (or /tmp), always removed. The answer is cached in
 * STATE/virt-probe.json; the guard's mark is STATE/kvm-broken.json. No libvirt here. */
#include "compute/virt_probe.h"

#include <dirent.h>
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

#define DEFAULT_TIMEOUT_MS 20000
#define CACHE_FILE "virt-probe.json"
#define BROKEN_FILE "kvm-broken.json"

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

/* The default QEMU for this host's architecture; NULL when the probe cannot run on it
 * (it boots an x86 kernel). */
static const char *default_qemu(void)
{
	struct utsname u;
	if (uname(&u) == 0 && (!strcmp(u.machine, "x86_64") || !strcmp(u.machine, "i686")))
		return "/usr/bin/qemu-system-x86_64";
	return NULL;
}

/* ---- the probe kernel and its initramfs ------------------------------------------------------ */

#define PROBE_MARKER "NOVALITE-PROBE-KERNEL-OK"
#define BUSYBOX "/bin/busybox"

/* /init of the probe: the marker on the serial port, then power off (QEMU exits). If
 * poweroff fails, init exits: panic=-1 reboots and -no-reboot makes QEMU exit too. */
static const char probe_init[] =
	"#!/bin/busybox sh\n"
	"/bin/busybox echo " PROBE_MARKER " > /dev/ttyS0\n"
	"/bin/busybox poweroff -f\n";

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int virt_probe_find_kernel(const char *configured, char *out, size_t len)
{
	struct utsname u;
	char path[PATH_MAX];
	time_t newest = 0;
	DIR *d;

	out[0] = '\0';
	if (configured && *configured) {
		if (!is_file(configured))
			return -1;
		snprintf(out, len, "%s", configured);
		return 0;
	}
	if (uname(&u) == 0) {
		snprintf(path, sizeof(path), "/boot/vmlinuz-%s", u.release);
		if (is_file(path)) {
			snprintf(out, len, "%s", path);
			return 0;
		}
	}
	static const char *const fixed[] = { "/boot/vmlinuz", "/vmlinuz" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (is_file(fixed[i])) {
			snprintf(out, len, "%s", fixed[i]);
			return 0;
		}
	if ((d = opendir("/boot"))) {
		struct dirent *e;
		while ((e = readdir(d))) {
			struct stat st;
			if (strncmp(e->d_name, "vmlinuz-", 8))
				continue;
			snprintf(path, sizeof(path), "/boot/%s", e->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime >= newest) {
				newest = st.st_mtime;
				snprintf(out, len, "%s", path);
			}
		}
		closedir(d);
	}
	return out[0] ? 0 : -1;
}

/* One newc cpio header and name, padded to 4 bytes. */
static int cpio_entry(int fd, unsigned ino, const char *name, unsigned mode, unsigned rmaj, unsigned rmin,
		      const void *data, size_t size)
{
	char hdr[112 + PATH_MAX];
	static const char zeros[4];
	size_t namesize = strlen(name) + 1;
	int n = snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s", ino, mode,
			 0u, 0u, (mode & S_IFMT) == S_IFDIR ? 2u : 1u, 0u, (unsigned)size, 0u, 0u, rmaj, rmin,
			 (unsigned)namesize, 0u, name);
	size_t total = (size_t)n + 1;   /* the name's NUL */
	if (write_all(fd, hdr, total) != 0 || write_all(fd, zeros, (4 - total % 4) % 4) != 0)
		return -1;
	if (size && (write_all(fd, data, size) != 0 || write_all(fd, zeros, (4 - size % 4) % 4) != 0))
		return -1;
	return 0;
}

/* Reads a whole file (busybox, ~2 MB) into memory; NULL with errno. */
static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	*len = used;
	return buf;
}

/* The probe's initramfs, an uncompressed newc cpio (the kernel takes it as is): busybox,
 * /init, and the two device nodes (the cpio is unpacked before devtmpfs exists). */
static int write_initramfs(const char *path, char *detail, size_t len)
{
	size_t bb_len = 0;
	unsigned char *bb = slurp(BUSYBOX, &bb_len);
	int fd, rc = -1;
	if (!bb) {
		snprintf(detail, len, "%s cannot be read (%s; apt-get install busybox-static)", BUSYBOX, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 && cpio_entry(fd, 1, ".", S_IFDIR | 0755, 0, 0, NULL, 0) == 0 &&
	    cpio_entry(fd, 2, "bin", S_IFDIR | 0755, 0, 0, NULL, 0) == 0 &&
	    cpio_entry(fd, 3, "dev", S_IFDIR | 0755, 0, 0, NULL, 0) == 0 &&
	    cpio_entry(fd, 4, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0) == 0 &&
	    cpio_entry(fd, 5, "dev/ttyS0", S_IFCHR | 0660, 4, 64, NULL, 0) == 0 &&
	    cpio_entry(fd, 6, "bin/busybox", S_IFREG | 0755, 0, 0, bb, bb_len) == 0 &&
	    cpio_entry(fd, 7, "init", S_IFREG | 0755, 0, 0, probe_init, strlen(probe_init)) == 0 &&
	    cpio_entry(fd, 8, "TRAILER!!!", 0, 0, 0, NULL, 0) == 0)
		rc = 0;
	if (rc || close(fd) != 0) {
		snprintf(detail, len, "cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(bb);
	return rc;
}

/* ---- one run -------------------------------------------------------------------------------- */

struct probe_result {
	long long elapsed_ms;
	char detail[768];   /* why it failed, no trailing period: "qemu-system-x86_64 was killed ..." */
};

/* One probe: boots kernel with the initramfs above. 0 on success (the marker reached the
 * serial port); -1 with res->detail otherwise. */
static int probe_once(const char *qemu, const char *kernel, const char *accel, int timeout_ms,
		      struct probe_result *res)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], initrd_path[PATH_MAX], serial_path[PATH_MAX], log_path[PATH_MAX];
	char serial[PATH_MAX + 16], out[4096];
	int rc = -1, log_fd = -1;
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
	snprintf(initrd_path, sizeof(initrd_path), "%s/initrd.cpio", dir);
	snprintf(serial_path, sizeof(serial_path), "%s/serial.log", dir);
	snprintf(log_path, sizeof(log_path), "%s/qemu.log", dir);

	if (write_initramfs(initrd_path, res->detail, sizeof(res->detail)))
		goto out;
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		snprintf(res->detail, sizeof(res->detail), "cannot create %s: %s", log_path, strerror(errno));
		goto out;
	}
	snprintf(serial, sizeof(serial), "file:%s", serial_path);
	/* -cpu host for KVM: what a libvirt KVM domain gets with host-passthrough, and the
	 * setting that fails on hosts whose nested KVM lacks features (the MSR abort). */
	char *const argv[] = {
		(char *)qemu, "-accel", kvm ? "kvm" : "tcg", "-cpu", kvm ? "host" : "qemu64",
		"-machine", "pc", "-m", "128", "-nodefaults", "-display", "none", "-no-user-config",
		"-serial", serial, "-kernel", (char *)kernel, "-initrd", initrd_path,
		"-append", "console=ttyS0 quiet panic=-1", "-no-reboot", NULL,
	};
	if (proc_exec((const char *const *)argv, log_fd, NULL, 0, timeout_ms, &pr)) {
		snprintf(res->detail, sizeof(res->detail), "cannot start %s: %s", qemu, strerror(errno));
		goto out;
	}
	int status = pr.status, exec_errno = pr.exec_errno;
	bool timed_out = pr.timed_out;
	res->elapsed_ms = pr.elapsed_ms;
	double secs = (double)res->elapsed_ms / 1000.0;
	char serial_text[4096];
	read_head(serial_path, serial_text, sizeof(serial_text));
	read_head(log_path, out, sizeof(out));
	out[strcspn(out, "\n")] = '\0';     /* QEMU's first complaint says what went wrong */
	if (exec_errno) {
		snprintf(res->detail, sizeof(res->detail), "%s could not be run: %s", qemu, strerror(exec_errno));
	} else if (strstr(serial_text, PROBE_MARKER)) {
		rc = 0;     /* the kernel reached user space: that is what a guest needs */
	} else if (timed_out) {
		snprintf(res->detail, sizeof(res->detail), "%s booting %s did not reach the initramfs within %d ms "
			 "and was killed after %.2f s (%zu bytes on the serial port)%s%s", prog, kernel, timeout_ms,
			 secs, strlen(serial_text), out[0] ? ": " : "", out);
	} else if (WIFSIGNALED(status)) {
		snprintf(res->detail, sizeof(res->detail), "%s was killed by signal %d (%s) after %.2f s%s%s",
			 prog, WTERMSIG(status), strsignal(WTERMSIG(status)), secs, out[0] ? ": " : "", out);
	} else {
		snprintf(res->detail, sizeof(res->detail), "%s exited with status %d after %.2f s without the "
			 "initramfs' marker on the serial port%s%s", prog, WEXITSTATUS(status), secs,
			 out[0] ? ": " : "", out);
	}
out:
	if (log_fd >= 0)
		close(log_fd);
	unlink(initrd_path);
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

int virt_probe_run(const char *qemu_binary, const char *kernel, const char *accel, int timeout_ms,
		   struct nl_error *err)
{
	struct probe_result res;
	char kpath[PATH_MAX];

	if (!accel || (strcmp(accel, "kvm") && strcmp(accel, "tcg"))) {
		nl_err_set(err, 400, "The probe accelerator '%s' is not one of kvm, tcg.", accel ? accel : "");
		return -1;
	}
	if (!qemu_binary)
		qemu_binary = default_qemu();
	if (!qemu_binary) {
		nl_err_set(err, 500, "The %s probe has no kernel for this host's architecture.",
			   accel_label(accel));
		return -1;
	}
	if (virt_probe_find_kernel(kernel, kpath, sizeof(kpath))) {
		nl_err_set(err, 500, "The %s probe has no kernel to boot (%s).", accel_label(accel),
			   kernel && *kernel ? kernel : "none in /boot");
		return -1;
	}
	if (probe_once(qemu_binary, kpath, accel, timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS, &res) == 0) {
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

/* What the cached answer depends on: the QEMU binary, the running kernel and the probe
 * kernel (path, size, mtime). */
struct probe_key {
	const char *qemu;
	long long size, mtime;
	char kernel[128];
	const char *probe_kernel;
	long long pk_size, pk_mtime;
};

/* The cached answer when it was made with the same key: 0 and *kvm, *reason (copied);
 * -1 when there is none or it does not match. */
static int cache_read(const char *path, const struct probe_key *key, bool *kvm, char *reason, size_t reason_len)
{
	json_error_t jerr;
	json_t *c = json_load_file(path, 0, &jerr);
	const char *qemu = NULL, *kernel = NULL, *result = NULL, *why = NULL, *pk = NULL;
	json_int_t size = -1, mtime = -1, pk_size = -1, pk_mtime = -1;
	int rc = -1;

	if (!c)
		return -1;
	if (json_unpack(c, "{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "qemu", &qemu, "size", &size, "mtime",
			&mtime, "kernel", &kernel, "result", &result, "reason", &why, "probe_kernel", &pk,
			"probe_kernel_size", &pk_size, "probe_kernel_mtime", &pk_mtime) == 0 &&
	    !strcmp(qemu, key->qemu) && size == key->size && mtime == key->mtime &&
	    !strcmp(pk, key->probe_kernel) && pk_size == key->pk_size && pk_mtime == key->pk_mtime &&
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
	json_t *c = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:I}", "qemu", key->qemu,
			      "size", (json_int_t)key->size, "mtime", (json_int_t)key->mtime,
			      "kernel", key->kernel, "probe_kernel", key->probe_kernel,
			      "probe_kernel_size", (json_int_t)key->pk_size, "probe_kernel_mtime",
			      (json_int_t)key->pk_mtime, "result", kvm ? "kvm" : "qemu", "reason", reason,
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

/* ---- the "KVM broken" mark ------------------------------------------------------------------- */

int virt_probe_broken(const char *state_dir, char *reason, size_t len)
{
	char path[PATH_MAX];
	const char *why = NULL;
	int rc = 0;
	if (!state_dir || !*state_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", state_dir, BROKEN_FILE);
	json_t *c = json_load_file(path, 0, NULL);
	if (!c)
		return access(path, F_OK) == 0 ? (snprintf(reason, len, "%s is unreadable", path), 1) : 0;
	if (json_unpack(c, "{s:s}", "reason", &why) == 0)
		snprintf(reason, len, "%s", why);
	else
		snprintf(reason, len, "%s has no reason", path);
	rc = 1;
	json_decref(c);
	return rc;
}

int virt_probe_mark_broken(const char *state_dir, const char *reason)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];
	int fd = -1, rc = 0;
	if (!state_dir || !*state_dir)
		return -1;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *c = json_pack("{s:s, s:s}", "reason", reason, "since", ts);
	char *text = c ? json_dumps(c, JSON_INDENT(2)) : NULL;
	json_decref(c);
	if (!text)
		abort();
	snprintf(path, sizeof(path), "%s/%s", state_dir, BROKEN_FILE);
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) != 0 || write_all(fd, "\n", 1) != 0 ||
	    fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		log_warn("Writing the KVM-broken mark %s failed: %s.", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		rc = -1;
	}
	free(text);
	return rc;
}

int virt_probe_choose(const char *configured, const char *state_dir, const char *qemu_binary,
		      const char *probe_kernel, int timeout_ms, enum virt_type *out, char *why, size_t why_len,
		      struct nl_error *err)
{
	char cache[PATH_MAX], reason[768], kpath[PATH_MAX];
	struct stat kst;
	struct probe_key key = { 0 };
	struct utsname u;
	struct stat st;
	struct probe_result res;
	bool kvm;
	int fd;

	if (configured && (!strcmp(configured, "kvm") || !strcmp(configured, "auto")) &&
	    virt_probe_broken(state_dir, reason, sizeof(reason))) {
		/* A guest already showed KVM cannot run guests here (kvm_guard.h). */
		*out = VIRT_TYPE_QEMU;
		snprintf(why, why_len, "%s: KVM was marked broken on this host (%s; remove %s/%s to try again): "
			 "using TCG", configured, reason, state_dir, BROKEN_FILE);
		return 0;
	}
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
	if (virt_probe_find_kernel(probe_kernel, kpath, sizeof(kpath)) || stat(kpath, &kst) != 0) {
		/* Not cached: installing a kernel takes effect at the next start. */
		if (probe_kernel && *probe_kernel)
			snprintf(why, why_len, "auto: the probe kernel %s (kvm_probe_kernel) is not a readable file: "
				 "no KVM probe, using TCG", probe_kernel);
		else
			snprintf(why, why_len, "auto: no kernel for the KVM probe (kvm_probe_kernel is not set and "
				 "/boot has no vmlinuz): using TCG");
		return 0;
	}
	key.probe_kernel = kpath;
	key.pk_size = (long long)kst.st_size;
	key.pk_mtime = (long long)kst.st_mtime;
	cache[0] = '\0';
	if (state_dir && *state_dir) {
		snprintf(cache, sizeof(cache), "%s/%s", state_dir, CACHE_FILE);
		if (cache_read(cache, &key, &kvm, reason, sizeof(reason)) == 0) {
			*out = kvm ? VIRT_TYPE_KVM : VIRT_TYPE_QEMU;
			snprintf(why, why_len, "auto: cached in %s (same QEMU, host kernel and probe kernel): %s: using %s", cache,
				 reason, kvm ? "KVM" : "TCG");
			return 0;
		}
	}

	kvm = probe_once(qemu_binary, kpath, "kvm", timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS, &res) == 0;
	if (kvm)
		snprintf(reason, sizeof(reason), "KVM probe booted %s in %.2f s", kpath,
			 (double)res.elapsed_ms / 1000.0);
	else
		snprintf(reason, sizeof(reason), "KVM probe failed (%s)", res.detail);
	if (cache[0])
		cache_write(cache, &key, kvm, reason, res.elapsed_ms);
	*out = kvm ? VIRT_TYPE_KVM : VIRT_TYPE_QEMU;
	snprintf(why, why_len, "auto: %s: using %s", reason, kvm ? "KVM" : "TCG");
	return 0;
}
