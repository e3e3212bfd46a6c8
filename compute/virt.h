/* The virt driver interface: what the compute agent asks of a hypervisor.
 *
 * libvirt's driver-table style (src/driver-hypervisor.h): a struct of function pointers,
 * NULL meaning "unsupported", one dispatch point in compute/agent.c. One opened
 * connection (struct virt_conn) is one host: the agent opens one per host it presents
 * and keeps it for its whole life, because a fake host's domains live only inside its
 * connection (a test driver node file gives each connection its own isolated host).
 *
 * Every lifecycle call is idempotent, as the agent protocol requires: doing a task twice
 * (the API re-queues the tasks of a restarted agent) must be harmless. Calls return 0, or
 * -1 with err set to a whole sentence that becomes the instance fault message.
 * A virt_conn may be used by several threads at once, each on a different instance (the
 * agent's workers, its watcher): one instance is only ever touched by one thread at a
 * time (compute/agent_pool.h). No HTTP and no JSON here. */
#ifndef NL_VIRT_H
#define NL_VIRT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

/* Nova's power states (nova/compute/power_state.py), as the API stores them. */
enum virt_power_state {
	VIRT_POWER_NOSTATE = 0,
	VIRT_POWER_RUNNING = 1,
	VIRT_POWER_PAUSED = 3,
	VIRT_POWER_SHUTDOWN = 4,
	VIRT_POWER_CRASHED = 6,
	VIRT_POWER_SUSPENDED = 7,
};
/* get_power_state's answer when the host has no domain for the instance. */
#define VIRT_POWER_MISSING (-1)

#define VIRT_UUID_LEN 36

/* What opening a host needs. Strings are borrowed for the duration of open(). */
struct virt_host_config {
	const char *uri;          /* "test:///default" = the fake, one node file per host */
	const char *host;         /* service host name, also the fake's hypervisor_hostname */
	const char *state_dir;    /* absolute: fake node files, and later instance files */
	int fake_vcpus;
	long long fake_ram_mb;
	long long fake_disk_gb;   /* the test driver has no disks: reported as local_gb */
	int fake_spawn_delay_ms;  /* the fake sleeps this long in spawn (0: no delay) */
	int fake_stop_delay_ms;   /* the fake's running guests take this long to shut down */
	/* qemu:///system only */
	const char *virt_type;    /* "auto" (probe, see virt_probe.h), "kvm" or "qemu" */
	const char *network_mode; /* see virt_net.h: nat, isolated, bridge, user */
	const char *network_name; /* libvirt network, e.g. "novalite" */
	const char *network_bridge;   /* bridge mode: the host bridge; else the one to create */
	const char *vnc_listen;   /* the address VNC servers listen on, e.g. "127.0.0.1" */
	int shutdown_timeout_s;   /* clean shutdown wait before a hard stop (Nova: 60) */
	const char *kvm_probe_kernel; /* virt_probe.h; NULL or "": search /boot */
	int kvm_probe_timeout_s;      /* 0: 20 */
	int kvm_guard_silence_s;      /* kvm_guard.h; 0: off */
};

struct virt_cpu_info {
	char arch[32], model[64], vendor[64];
	int sockets, cores, threads;
	unsigned mhz;
};

/* The facts a host registers with (POST /internal/v1/hosts). */
struct virt_host_info {
	char hypervisor_hostname[256];
	char hypervisor_type[32];          /* "QEMU" (TCG), "KVM", or "test" for the test driver */
	unsigned long long hypervisor_version;   /* libvirt's encoding: 7002000 = 7.2.0 */
	char arch[32];
	int vcpus;
	long long memory_mb, local_gb;
	struct virt_cpu_info cpu;
};

/* The instance fields the drivers use, copied from the API's INSTANCE object. */
struct virt_instance {
	long long id;                      /* the domain is named instance-%08llx after it */
	char uuid[VIRT_UUID_LEN + 1];      /* the domain's <uuid>: how a domain is found */
	char name[32];                     /* instance-%08llx, filled by virt_instance_set_name */
	char hostname[256], display_name[256];
	char project_id[64], user_id[64], flavor_name[256];
	int vcpus;
	long long memory_mb, root_gb;
	char fixed_ip[64], mac_address[32];
	/* Real guests only; pointers are borrowed from the task for the call. */
	char image_ref[64];
	char availability_zone[256];
	int launch_index;
	bool config_drive;
	const char *key_name, *key_data;   /* NULL when the server has no key pair */
	const char *user_data_b64;         /* as the API got it, base64; NULL: none */
	json_t *metadata;                  /* the server's metadata object, or NULL */
	json_t *image_properties;          /* hw_disk_bus, hw_vif_model, ... or NULL */
	/* The cached base image the root disk overlays (agent fills it before spawn). */
	char base_path[600], base_format[16];
	long long base_virtual_size;
};

/* Fills inst->name from inst->id. */
void virt_instance_set_name(struct virt_instance *inst);

struct virt_conn;

/* What the KVM guard (kvm_guard.h) looks at for one domain. */
struct virt_guard_info {
	bool kvm;                       /* the domain is <domain type='kvm'> */
	bool running;                   /* libvirt: running or blocked */
	bool failed;                    /* paused by QEMU itself (reason unknown, I/O error, crash
					 * or panic) or crashed: never what novalite asked for */
	char state[64];                 /* "paused (unknown)", for the reason */
	unsigned long long cpu_time_ns; /* the vCPUs' time so far */
	long long console_bytes;        /* the size of its console log */
	int silence_s;                  /* kvm_guard_silence_seconds of this host (0: off) */
};

struct virt_driver {
	const char *name;

	/* One host: a connection kept open until close(). NULL with err when unreachable. */
	struct virt_conn *(*open)(const struct virt_host_config *cfg, struct nl_error *err);
	void (*close)(struct virt_conn *conn);   /* NULL is a no-op */

	int (*host_info)(struct virt_conn *conn, struct virt_host_info *out, struct nl_error *err);

	/* Defines and starts the domain; an existing one is only made to run. */
	int (*spawn)(struct virt_conn *conn, const struct virt_instance *inst, struct nl_error *err);
	/* Destroys and undefines, and removes the instance's files (disk, config drive, console
	 * log) and its DHCP reservation; a missing domain or file is success. */
	int (*destroy)(struct virt_conn *conn, const struct virt_instance *inst, struct nl_error *err);
	/* Clean shutdown, then a hard stop if the guest ignores it. Missing: defined, left off. */
	int (*power_off)(struct virt_conn *conn, const struct virt_instance *inst, struct nl_error *err);
	/* Starts a stopped domain; missing: defined and started (Nova rebuilds the domain too). */
	int (*power_on)(struct virt_conn *conn, const struct virt_instance *inst, struct nl_error *err);
	/* Soft: the guest reboots itself, falling back to hard when it is not running.
	 * Hard: power cycle with the domain redefined from inst. */
	int (*reboot)(struct virt_conn *conn, const struct virt_instance *inst, bool hard,
		      struct nl_error *err);
	int (*pause)(struct virt_conn *conn, const struct virt_instance *inst, struct nl_error *err);
	int (*unpause)(struct virt_conn *conn, const struct virt_instance *inst, struct nl_error *err);
	/* Saves the guest's memory and stops it (libvirt managed save). */
	int (*suspend)(struct virt_conn *conn, const struct virt_instance *inst, struct nl_error *err);
	int (*resume)(struct virt_conn *conn, const struct virt_instance *inst, struct nl_error *err);

	/* *state: an enum virt_power_state, or VIRT_POWER_MISSING. */
	int (*get_power_state)(struct virt_conn *conn, const char *uuid, int *state,
			       struct nl_error *err);
	/* The uuids of this host's instance domains (instance-XXXXXXXX only: other domains on
	 * the host are not ours to reconcile). *uuids is malloc'd, count in *n; free() it. */
	int (*list_domains)(struct virt_conn *conn, char (**uuids)[VIRT_UUID_LEN + 1], size_t *n,
			    struct nl_error *err);
	/* Console output produced since the last call for this instance, malloc'd, or NULL
	 * when there is none. The fake writes a synthetic boot log at each boot. */
	char *(*console_text)(struct virt_conn *conn, const struct virt_instance *inst);

	/* Whether spawn needs inst->base_path (the agent then fetches the image first). */
	bool (*needs_image)(struct virt_conn *conn);
	/* Writes a standalone qcow2 copy of the root disk to out_path (a running guest is
	 * paused for the copy, then resumed). */
	int (*snapshot)(struct virt_conn *conn, const struct virt_instance *inst, const char *out_path,
			struct nl_error *err);
	/* "host:port" of the guest's VNC server, or "" when it has none (not running). */
	void (*console_address)(struct virt_conn *conn, const struct virt_instance *inst, char *out, size_t len);
	/* Lifecycle events: cb(opaque, uuid) runs on libvirt's event thread whenever one of
	 * this host's domains changes state (started, stopped, paused, the guest shutting
	 * itself down...). It must only note the uuid and return. */
	int (*watch_events)(struct virt_conn *conn, void (*cb)(void *opaque, const char *uuid), void *opaque,
			    struct nl_error *err);
	/* The KVM guard's view of a domain; NULL: not a KVM-capable driver. 1 when the domain
	 * is missing, 0 with *out, -1 with err. */
	int (*guard_info)(struct virt_conn *conn, const char *uuid, struct virt_guard_info *out,
			  struct nl_error *err);
	/* KVM cannot run guests on this host: writes STATE/kvm-broken.json with reason,
	 * switches the host to TCG (host_info says QEMU, new domains get type='qemu') and
	 * rebuilds uuid's domain under TCG (destroy, redefine type='qemu' without
	 * host-passthrough, start). 0, or -1 with err (the domain may then be left off). */
	int (*kvm_broken)(struct virt_conn *conn, const char *uuid, const char *reason, struct nl_error *err);
};

/* The libvirt driver: the test driver (the fake) and qemu:///system. */
extern const struct virt_driver virt_libvirt_driver;

/* The driver for a libvirt URI (only libvirt today; the table keeps that open). */
const struct virt_driver *virt_driver_for_uri(const char *uri);

#endif
