/* Which accelerator a QEMU host can really run: KVM or TCG ("qemu").
 *
 * libvirt's domain capabilities are not enough: a host whose /dev/kvm opens (so libvirt
 * advertises type='kvm') may still be unable to run a guest (nested KVM without the
 * needed CPU features: "failed to set MSR" aborts, "KVM internal error ... emulation
 * failure" pauses, silent hangs). A 512-byte boot sector passes on such hosts, so "auto"
 * boots what a guest boots: qemu-system-x86_64 -accel kvm -cpu host (what a KVM domain
 * gets: host-passthrough) -kernel <a real Linux kernel> with a tiny initramfs (busybox,
 * an /init that writes a marker to the serial port and powers off). It counts only when
 * the marker arrives within the time limit; QEMU is killed when the limit passes, so a
 * hung boot can never hang the agent. The kernel: kvm_probe_kernel, else
 * /boot/vmlinuz-$(uname -r), /boot/vmlinuz, /vmlinuz, the newest /boot/vmlinuz-*; none:
 * TCG (not cached). The answer is cached in STATE/virt-probe.json, keyed by the QEMU
 * binary (path, size, mtime), the host kernel release and the probe kernel (path, size,
 * mtime). A guest that still fails under KVM makes the agent write STATE/kvm-broken.json
 * (kvm_guard.h); while that file exists, "auto" and "kvm" both mean TCG. */
#ifndef NL_VIRT_PROBE_H
#define NL_VIRT_PROBE_H

#include <stddef.h>

#include "common/error.h"

enum virt_type { VIRT_TYPE_QEMU, VIRT_TYPE_KVM };

/* "kvm" / "qemu" */
const char *virt_type_name(enum virt_type t);

/* configured: "auto", "kvm" or "qemu" (anything else, NULL included: -1 with a 400-style
 * err). "kvm" and "qemu" are honoured without probing. "auto": cached answer or a probe;
 * it always chooses (TCG when in doubt) and returns 0:
 *  - no QEMU binary: TCG (the agent fails later anyway, when libvirt starts a guest);
 *  - /dev/kvm cannot be opened read-write: TCG at once, not cached (a chmod or modprobe
 *    takes effect at the next start);
 *  - otherwise the cache if its key matches, else a KVM probe whose result is cached.
 * why gets one sentence for the log, e.g. "auto: KVM probe failed (qemu-system-x86_64 was
 * killed by signal 6 (Aborted) after 0.06 s: qemu-system-x86_64: error: failed to set MSR
 * 0x10a to 0x69): using TCG". state_dir: where the cache file lives (absolute; NULL: no
 * cache). qemu_binary: NULL for the default (/usr/bin/qemu-system-x86_64 on x86 hosts;
 * other architectures get TCG without a probe: the probe boots an x86 kernel).
 * probe_kernel: kvm_probe_kernel or NULL (search). timeout_ms: the probe's limit (0: 20000). */
int virt_probe_choose(const char *configured, const char *state_dir, const char *qemu_binary,
		      const char *probe_kernel, int timeout_ms, enum virt_type *out, char *why, size_t why_len,
		      struct nl_error *err);

/* One probe run, no cache: 0 when the accelerator ("kvm" or "tcg") boots the kernel to its /init,
 * -1 with err saying what happened (exit status or signal, elapsed time, QEMU's first
 * line of stderr). qemu_binary: a path, or a name looked up in PATH; NULL: the default.
 * kernel: as for virt_probe_find_kernel. Never takes much longer than timeout_ms (0: 20000); nothing of QEMU outlives it. */
int virt_probe_run(const char *qemu_binary, const char *kernel, const char *accel, int timeout_ms,
		   struct nl_error *err);

/* The probe kernel: configured (must be a regular file) or the first of the search list
 * above. 0 with the path in out, -1 when there is none. */
int virt_probe_find_kernel(const char *configured, char *out, size_t len);

/* 1 with the reason when STATE/kvm-broken.json exists, else 0. */
int virt_probe_broken(const char *state_dir, char *reason, size_t len);
/* Writes STATE/kvm-broken.json atomically ({"reason", "since"}). 0, or -1 (logged). */
int virt_probe_mark_broken(const char *state_dir, const char *reason);

#endif
