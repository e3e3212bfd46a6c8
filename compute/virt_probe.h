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

/* configured: "auto", "kvm" or "qemu" (anything else: -1 with a 400-style err).
 * "kvm" and "qemu" are honoured without probing. "auto": cached answer or a probe.
 * why gets one sentence for the log ("auto: KVM probe failed (qemu exited with status 134
 * after 0.2 s): using TCG"). state_dir: where the cache file lives (absolute).
 * qemu_binary: NULL for the default (/usr/bin/qemu-system-x86_64 on x86_64).
 * timeout_ms: the probe's limit (0: 10000). */
int virt_probe_choose(const char *configured, const char *state_dir, const char *qemu_binary,
		      int timeout_ms, enum virt_type *out, char *why, size_t why_len, struct nl_error *err);

/* One probe run, no cache: 0 when the accelerator ("kvm" or "tcg") boots the payload,
 * -1 with err saying what happened. For tests and for virt_probe_choose. */
int virt_probe_run(const char *qemu_binary, const char *accel, int timeout_ms, struct nl_error *err);

#endif
