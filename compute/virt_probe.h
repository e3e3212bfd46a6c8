/* Which accelerator a QEMU host can really run: KVM or TCG ("qemu").
 *
 * libvirt's domain capabilities are not enough: a host whose /dev/kvm opens (so libvirt
 * advertises type='kvm') may still be unable to run a guest (nested KVM without the
 * needed CPU features: "failed to set MSR", emulation failures, hangs). So "auto" runs a
 * real probe: qemu-system-<arch> with -accel kvm and -cpu host (what a KVM domain gets:
 * host-passthrough) boots a 512-byte boot sector that writes a marker to the serial port
 * and exits through isa-debug-exit. It counts only when it ends with the expected exit
 * status within the time limit; qemu is killed when the limit passes, so a broken
 * accelerator can never hang the agent. The answer is cached in STATE/virt-probe.json,
 * keyed by the QEMU binary (path, size, mtime) and the kernel release, so it runs once
 * per host until one of those changes. */
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
 * other architectures get TCG without a probe: the payload is x86 code).
 * timeout_ms: the probe's limit (0: 10000). */
int virt_probe_choose(const char *configured, const char *state_dir, const char *qemu_binary,
		      int timeout_ms, enum virt_type *out, char *why, size_t why_len, struct nl_error *err);

/* One probe run, no cache: 0 when the accelerator ("kvm" or "tcg") boots the payload,
 * -1 with err saying what happened (exit status or signal, elapsed time, QEMU's first
 * line of stderr). qemu_binary: a path, or a name looked up in PATH; NULL: the default.
 * Never takes much longer than timeout_ms (0: 10000); nothing of QEMU outlives it. */
int virt_probe_run(const char *qemu_binary, const char *accel, int timeout_ms, struct nl_error *err);

#endif
