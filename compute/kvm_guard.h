/* The runtime KVM guard: a probe can pass and real guests still fail under KVM. The
 * watcher (agent_watch.c) asks the guard about each domain after a lifecycle event and
 * once a second. A KVM domain trips it when
 *  - QEMU paused it by itself (libvirt reason unknown, I/O error, crashed) or it crashed:
 *    novalite's own pauses are reason "user" and never count; or
 *  - it has run kvm_guard_silence_seconds without writing a byte to its console while
 *    its vCPUs burned at least half of that time (a boot that hangs spinning).
 * Tripping calls the driver's kvm_broken(): STATE/kvm-broken.json is written with the
 * reason, the host switches to TCG and the domain is rebuilt under TCG. The caller then
 * reports the power state and re-registers the host (hypervisor_type QEMU). No I/O here
 * besides the driver calls; no HTTP, no SQL. */
#ifndef NL_KVM_GUARD_H
#define NL_KVM_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "compute/virt.h"

struct kvm_guard;

struct kvm_guard *kvm_guard_new(void);
void kvm_guard_free(struct kvm_guard *g);   /* NULL is a no-op */

/* The pure decision, for tests: 1 with reason when info (seen since first_ms, now now_ms,
 * its vCPU time then cpu0_ns) shows KVM cannot run the guest, else 0. */
int kvm_guard_decide(const struct virt_guard_info *info, long long first_ms, unsigned long long cpu0_ns,
		     long long now_ms, const char *name, char *reason, size_t len);

/* Looks at uuid on conn (host: a name for the log). true when it tripped and the driver
 * rebuilt the domain under TCG, or tried: then `fault` (else "") says why the guest cannot
 * run, for the instance's fault (the agent then sets the instance to ERROR with it). */
bool kvm_guard_check(struct kvm_guard *g, const struct virt_driver *drv, struct virt_conn *conn,
		     const char *host, const char *uuid, long long now_ms, char *fault, size_t fault_len);

#endif
