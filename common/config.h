/* Configuration: one struct, filled from built-in defaults, then the INI file
 * (libinih), then command-line flags. The option table in config.c is the single
 * source of truth: it drives parsing, --help and etc/novalite.conf.sample. */
#ifndef NL_CONFIG_H
#define NL_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

struct nl_config {
	char state_dir[512];
	char bind[64];
	char public_host[256];      /* host name put in catalog URLs; defaults to bind */
	char log_level[16];

	int identity_port;
	int compute_port;
	int image_port;
	int internal_port;          /* agent protocol (/internal/v1) */

	int workers;                /* MHD worker threads per API port */
	int max_body_bytes;         /* JSON request body limit (Nova: 114688) */
	int per_ip_connections;     /* concurrent connections one client address may hold */
	int max_connections;        /* per port; past 3/4 of it slow header senders are shed */
	int connection_timeout;     /* seconds of inactivity before a connection is closed */
	int request_header_timeout; /* seconds from connection (or previous request) to complete headers */
	int body_min_rate;          /* bytes/s a body must average after the header timeout's grace */

	char region[64];
	int token_expiration;       /* seconds */
	int admin_project_only;     /* 1: only the admin project's admin is the cloud admin */
	char admin_password[256];   /* bootstrap only; empty = take NOVALITE_ADMIN_PASSWORD or generate */
	int pwhash_opslimit;        /* argon2id passes */
	int pwhash_memlimit_kib;    /* argon2id memory */
	int pwhash_concurrency;     /* simultaneous hashes; bounds memory and CPU under a login storm */

	int quota_instances, quota_cores, quota_ram, quota_key_pairs, quota_metadata_items;
	int quota_server_groups, quota_server_group_members;
	int quota_injected_files, quota_injected_file_content_bytes, quota_injected_file_path_bytes;
	/* compute: hosts, the embedded agent, the scheduler */
	int service_down_time;      /* seconds without a heartbeat before a host is down */
	int embedded_agent;         /* 1: run a compute agent inside novalite-api (all-in-one) */
	char libvirt_uri[256];      /* embedded agent's hypervisor */
	int fake_hosts;             /* embedded agent on the test driver: simulated hosts (0 = one host) */
	char virt_type[16], network_mode[16], network_name[64], network_bridge[32], vnc_listen[64];
	int shutdown_timeout, sync_power_state_interval, image_cache_manager_interval;
	int max_concurrent_tasks;
	int remove_unused_original_minimum_age_seconds;
	char kvm_probe_kernel[512];   /* the KVM probe boots this (empty: search /boot) */
	int kvm_probe_timeout, kvm_guard_silence_seconds;
	double cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio;
	int reserved_host_memory_mb;
	double ram_weight_multiplier, cpu_weight_multiplier, disk_weight_multiplier;

	int quota_image_count;      /* images per project, -1 unlimited */
	int quota_image_size_mib;   /* total image bytes per project, in MiB, -1 unlimited */
};

extern struct nl_config g_config;

void config_defaults(struct nl_config *c);
/* Returns 0, or -1 with a one-line reason in err. */
int config_load_file(struct nl_config *c, const char *path, char *err, size_t errlen);
/* The same from an open stream (rewound once; not closed); path only names it in err. */
int config_load_stream(struct nl_config *c, FILE *f, const char *path, char *err, size_t errlen);
/* Sets "section.key" or bare "key" from a flag; -1 if unknown or invalid. */
int config_set(struct nl_config *c, const char *section, const char *key, const char *value,
	       char *err, size_t errlen);
/* Writes the documented sample config (etc/novalite.conf.sample is this output). */
void config_print_sample(FILE *f);

#endif
