/* The compute agent: registers its host(s), heartbeats, long-polls the API's internal
 * endpoint for tasks, runs them through a virt driver and reports the results. The
 * novalite-compute binary (compute/main.c) and the all-in-one API's embedded agent
 * (a thread in novalite-api) run this same code; both talk HTTP to the API.
 * The protocol is in docs/agent-protocol.md. */
#ifndef NL_AGENT_H
#define NL_AGENT_H

#include <stdbool.h>

#include "common/error.h"

struct agent_config {
	char api_url[256];        /* internal endpoint base, e.g. http://127.0.0.1:8790 */
	char auth_url[256];       /* Keystone, e.g. http://127.0.0.1:5000/v3 */
	char username[128], password[256], project_name[128];
	char user_domain[64], project_domain[64];   /* "Default" */
	char agent_name[128];     /* long-poll key; default: the host name */
	char host[128];           /* service host name (the first host when fake_hosts > 1) */
	char libvirt_uri[256];    /* "test:///default" (fake) or "qemu:///system" */
	char state_dir[512];      /* for fake node XML files and, later, instance files */
	int fake_hosts;           /* > 0: present this many simulated hosts (test driver only) */
	int fake_vcpus;           /* per simulated host (default 16) */
	long long fake_ram_mb;    /* default 32768 */
	long long fake_disk_gb;   /* default 1000 */
	int fake_spawn_delay_ms;  /* fake only: each spawn sleeps this long (tests kill an agent mid-build) */
	int fake_stop_delay_ms;   /* fake only: a running guest takes this long to shut down (tests) */
	int max_concurrent_tasks; /* tasks run at once, one per instance at most (default 4) */
	int heartbeat_s;          /* default 10 */
	int poll_wait_s;          /* long-poll wait, default 20 */
	/* Real guests (qemu:///system) */
	char virt_type[16];       /* auto (probe), kvm or qemu */
	char kvm_probe_kernel[512];   /* the probe's kernel; "" searches /boot (virt_probe.h) */
	int kvm_probe_timeout_s;      /* default 20 */
	int kvm_guard_silence_s;      /* kvm_guard.h; default 60, 0: off */
	char network_mode[16];    /* nat, isolated, bridge, user (compute/virt_net.h) */
	char network_name[64];    /* libvirt network, default "novalite" */
	char network_bridge[32];  /* bridge mode: the host bridge */
	char vnc_listen[64];      /* default 127.0.0.1 */
	int shutdown_timeout_s;   /* clean shutdown wait before a hard stop, default 60 */
	int sync_interval_s;      /* periodic reconcile (power states, lost domains), default 60 */
	int image_cache_sweep_s;  /* how often unused bases are looked for, default 2400 */
	int image_cache_min_age_s;   /* an unused base is kept this long after its last use, default 86400 */
};

void agent_config_defaults(struct agent_config *cfg);

/* Runs the agent until agent_stop() (or SIGTERM in the binary). Returns 0 on a clean
 * stop, -1 with err when it could not start (libvirt unreachable, API refused...). */
int agent_run(const struct agent_config *cfg, struct nl_error *err);
/* Starts agent_run() in a thread (the embedded agent); returns once the hosts are
 * registered, so the first request after start-up can already schedule. */
int agent_start_thread(const struct agent_config *cfg, struct nl_error *err);
/* Asks a running agent to stop and waits for its thread (if started by agent_start_thread). */
void agent_stop(void);

#endif
