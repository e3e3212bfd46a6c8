/* See kvm_guard.h. Keeps, per KVM domain, when it was first seen running and its vCPU
 * time then; forgets a domain once it is no longer a running KVM guest. */
#include "compute/kvm_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

struct seen {
	char uuid[VIRT_UUID_LEN + 1];
	long long first_ms;
	unsigned long long cpu0_ns;
};

struct kvm_guard {
	struct seen *v;
	size_t n, cap;
};

struct kvm_guard *kvm_guard_new(void)
{
	return nl_calloc(1, sizeof(struct kvm_guard));
}

void kvm_guard_free(struct kvm_guard *g)
{
	if (!g)
		return;
	free(g->v);
	free(g);
}

int kvm_guard_decide(const struct virt_guard_info *info, long long first_ms, unsigned long long cpu0_ns,
		     long long now_ms, const char *name, char *reason, size_t len)
{
	if (!info->kvm)
		return 0;
	if (info->failed) {
		snprintf(reason, len, "QEMU stopped the KVM guest %s by itself: %s (a KVM internal error such as "
			 "an emulation failure)", name, info->state);
		return 1;
	}
	if (info->silence_s <= 0 || !info->running || info->console_bytes > 0 || first_ms < 0)
		return 0;
	long long ran_ms = now_ms - first_ms;
	unsigned long long burned_ns = info->cpu_time_ns - cpu0_ns;
	if (ran_ms >= info->silence_s * 1000LL && burned_ns >= (unsigned long long)ran_ms * 500000ULL) {
		snprintf(reason, len, "the KVM guest %s wrote nothing to its console in %lld s while its vCPUs ran "
			 "%.1f s (a boot that hangs under KVM; kvm_guard_silence_seconds = %d)", name, ran_ms / 1000,
			 (double)burned_ns / 1e9, info->silence_s);
		return 1;
	}
	return 0;
}

static struct seen *find(struct kvm_guard *g, const char *uuid)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->v[i].uuid, uuid))
			return &g->v[i];
	return NULL;
}

static void forget(struct kvm_guard *g, const char *uuid)
{
	struct seen *s = find(g, uuid);
	if (s)
		*s = g->v[--g->n];
}

bool kvm_guard_check(struct kvm_guard *g, const struct virt_driver *drv, struct virt_conn *conn,
		     const char *host, const char *uuid, long long now_ms, char *fault, size_t fault_len)
{
	struct virt_guard_info info;
	struct nl_error err = { 0 };
	char reason[512];

	if (!drv->guard_info || !drv->kvm_broken || drv->guard_info(conn, uuid, &info, &err) != 0 || !info.kvm) {
		forget(g, uuid);
		return false;
	}
	struct seen *s = find(g, uuid);
	if (!s && info.running) {
		if (g->n == g->cap) {
			g->cap = g->cap ? g->cap * 2 : 8;
			g->v = nl_realloc(g->v, g->cap * sizeof(*g->v));
		}
		s = &g->v[g->n++];
		snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
		s->first_ms = now_ms;
		s->cpu0_ns = info.cpu_time_ns;
	}
	if (!kvm_guard_decide(&info, s ? s->first_ms : -1, s ? s->cpu0_ns : 0, now_ms, uuid, reason, sizeof(reason)))
		return false;
	forget(g, uuid);
	log_error("host %s: %s: rebuilding it under TCG", host, reason);
	if (fault_len)
		fault[0] = 0;
	if (drv->kvm_broken(conn, uuid, reason, &err)) {
		log_error("host %s: rebuilding instance %s under TCG failed: %s", host, uuid, err.msg);
		snprintf(fault, fault_len, "KVM cannot run this guest on host %s (%s), and rebuilding it under TCG "
			 "failed: %s", host, reason, err.msg);
	} else
		log_info("host %s: instance %s runs under TCG now", host, uuid);
	return true;
}
