/* Option table, INI parsing with libinih, sample generation. No I/O besides the file. */
#include "common/config.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct nl_config g_config;

enum opt_type { OPT_STR, OPT_INT, OPT_DOUBLE };

struct opt {
	const char *section, *key;
	enum opt_type type;
	size_t offset, size;
	const char *def;
	int min, max;
	const char *help;
};

#define S(sec, k, field, d, h) { sec, k, OPT_STR, offsetof(struct nl_config, field), \
				 sizeof(((struct nl_config *)0)->field), d, 0, 0, h }
#define I(sec, k, field, d, lo, hi, h) { sec, k, OPT_INT, offsetof(struct nl_config, field), \
					 sizeof(int), d, lo, hi, h }
#define D(sec, k, field, d, lo, hi, h) { sec, k, OPT_DOUBLE, offsetof(struct nl_config, field), \
					 sizeof(double), d, lo, hi, h }

static const struct opt opts[] = {
	S("DEFAULT", "state_dir", state_dir, "var",
	  "Directory for the database, image files, logs and the admin openrc."),
	S("DEFAULT", "bind", bind, "127.0.0.1", "Address every API port listens on."),
	S("DEFAULT", "public_host", public_host, "",
	  "Host name written into catalog URLs; empty means the bind address."),
	S("DEFAULT", "log_level", log_level, "info", "debug, info, warn or error."),
	I("identity", "port", identity_port, "5000", 1, 65535, "Keystone v3 port."),
	I("compute", "port", compute_port, "8774", 1, 65535, "Nova v2.1 port."),
	I("image", "port", image_port, "9292", 1, 65535, "Glance v2 port."),
	I("internal", "port", internal_port, "8790", 1, 65535,
	  "Port of the compute agents' protocol (/internal/v1, service tokens only)."),
	I("compute", "service_down_time", service_down_time, "60", 1, 86400,
	  "Seconds without a heartbeat after which a compute host is reported down and not scheduled to."),
	I("compute", "embedded_agent", embedded_agent, "1", 0, 1,
	  "Run a compute agent inside novalite-api (the all-in-one cloud); 0 when agents run as novalite-compute."),
	S("compute", "libvirt_uri", libvirt_uri, "test:///default",
	  "Hypervisor of the embedded agent: test:///default is the fake (libvirt's test driver)."),
	I("compute", "fake_hosts", fake_hosts, "0", 0, 100000,
	  "Embedded agent on the test driver: simulate this many hosts (0: one host named after this machine)."),
	S("compute", "virt_type", virt_type, "auto",
	  "qemu:///system guests: kvm, qemu (TCG) or auto (a real KVM boot probe, cached per host)."),
	S("compute", "kvm_probe_kernel", kvm_probe_kernel, "",
	  "virt_type = auto: the Linux kernel (bzImage) the KVM probe boots; empty: /boot/vmlinuz-$(uname -r), "
	  "/boot/vmlinuz, /vmlinuz, the newest /boot/vmlinuz-*. No kernel: TCG."),
	I("compute", "kvm_probe_timeout", kvm_probe_timeout, "20", 1, 600,
	  "Seconds the KVM probe may take to reach its initramfs before it counts as failed (a hung boot spins)."),
	I("compute", "kvm_guard_silence_seconds", kvm_guard_silence_seconds, "60", 0, 86400,
	  "A KVM guest that writes nothing to its console this long after it starts marks KVM broken "
	  "(STATE/compute/kvm-broken.json) and is rebuilt under TCG; 0: only pauses and crashes count."),
	S("compute", "network_mode", network_mode, "nat",
	  "Guest network: nat, isolated (host-only), bridge (network_bridge) or user (QEMU user-mode)."),
	S("compute", "network_name", network_name, "novalite", "libvirt network the guests get a port on."),
	S("compute", "network_bridge", network_bridge, "", "bridge mode: the existing host bridge to attach guests to."),
	S("compute", "vnc_listen", vnc_listen, "127.0.0.1", "Address the guests' VNC servers listen on."),
	I("compute", "max_concurrent_tasks", max_concurrent_tasks, "4", 1, 256,
	  "Tasks the embedded agent runs at once (builds, stops...), across instances: one instance's run in order."),
	I("compute", "shutdown_timeout", shutdown_timeout, "60", 0, 3600,
	  "Seconds a guest gets to shut down cleanly (stop, soft reboot) before it is powered off."),
	I("compute", "sync_power_state_interval", sync_power_state_interval, "60", 0, 86400,
	  "Seconds between the agent's reconciles with libvirt (power states, lost domains); 0: only at start."),
	I("compute", "image_cache_manager_interval", image_cache_manager_interval, "2400", 0, 86400,
	  "Seconds between sweeps of the image cache; 0: never."),
	I("compute", "remove_unused_original_minimum_age_seconds", remove_unused_original_minimum_age_seconds, "86400",
	  0, 31536000, "An unused cached base image is kept this long after its last use."),
	D("scheduler", "cpu_allocation_ratio", cpu_allocation_ratio, "16.0", 0, 1000, "vCPUs scheduled per physical CPU."),
	D("scheduler", "ram_allocation_ratio", ram_allocation_ratio, "1.5", 0, 1000, "RAM over-commit ratio."),
	D("scheduler", "disk_allocation_ratio", disk_allocation_ratio, "1.0", 0, 1000, "Disk over-commit ratio."),
	I("scheduler", "reserved_host_memory_mb", reserved_host_memory_mb, "512", 0, 2147483647,
	  "RAM kept for the host itself, never scheduled."),
	D("scheduler", "ram_weight_multiplier", ram_weight_multiplier, "1.0", -1000, 1000,
	  "RAM weigher: positive spreads instances over hosts, negative stacks them."),
	D("scheduler", "cpu_weight_multiplier", cpu_weight_multiplier, "1.0", -1000, 1000, "vCPU weigher multiplier."),
	D("scheduler", "disk_weight_multiplier", disk_weight_multiplier, "1.0", -1000, 1000, "Disk weigher multiplier."),
	I("api", "workers", workers, "2", 1, 256, "Worker threads per API port (each has its own DB connection)."),
	I("api", "max_body_bytes", max_body_bytes, "114688", 1024, 16777216,
	  "Largest JSON request body; larger gets 413 (oslo.middleware's default)."),
	I("api", "per_ip_connections", per_ip_connections, "32", 1, 65535,
	  "Concurrent connections one client address may hold per port (keep it well below max_connections / the number of addresses to tolerate)."),
	I("api", "max_connections", max_connections, "1024", 16, 16384,
	  "Concurrent connections per port; past 3/4 of it, requests slow to send their headers are shed after 2 s."),
	I("api", "connection_timeout", connection_timeout, "10", 1, 3600,
	  "Seconds a connection may stay idle (no byte in either direction) before it is closed."),
	I("api", "request_header_timeout", request_header_timeout, "15", 1, 3600,
	  "Seconds a request may take to send its headers, however it trickles them (slowloris)."),
	I("api", "body_min_rate", body_min_rate, "8192", 1, 1073741824,
	  "Bytes/s a request body must average after a request_header_timeout grace; a slower one is closed."),
	S("identity", "region", region, "RegionOne", "Region name in the service catalog."),
	I("identity", "token_expiration", token_expiration, "3600", 1, 604800,
	  "Token lifetime in seconds (Keystone's default: 3600)."),
	I("identity", "admin_project_only", admin_project_only, "0", 0, 1,
	  "1: the admin role is the cloud admin's only on the admin project (Keystone's admin_project_name); 0: on any project, as Nova's and Keystone's defaults (a domain's admin never is)."),
	S("identity", "admin_password", admin_password, "",
	  "Bootstrap admin password. Empty: $NOVALITE_ADMIN_PASSWORD, else a random one written to STATE/openrc."),
	I("identity", "password_hash_opslimit", pwhash_opslimit, "2", 1, 100, "argon2id passes."),
	I("identity", "password_hash_memlimit_kib", pwhash_memlimit_kib, "19456", 8, 4194304,
	  "argon2id memory in KiB (19 MiB, t=2: the OWASP baseline)."),
	I("identity", "password_hash_concurrency", pwhash_concurrency, "2", 1, 64,
	  "Password hashes computed at once; more logins wait (bounds memory under a storm)."),
	I("quota", "instances", quota_instances, "10", -1, 2147483647, "Default instances per project (-1: unlimited)."),
	I("quota", "cores", quota_cores, "20", -1, 2147483647, "Default vCPUs per project."),
	I("quota", "ram", quota_ram, "51200", -1, 2147483647, "Default RAM (MiB) per project."),
	I("quota", "key_pairs", quota_key_pairs, "100", -1, 2147483647, "Default key pairs per user."),
	I("quota", "metadata_items", quota_metadata_items, "128", -1, 2147483647, "Default metadata items per server."),
	I("quota", "server_groups", quota_server_groups, "10", -1, 2147483647, "Default server groups per project."),
	I("quota", "server_group_members", quota_server_group_members, "10", -1, 2147483647,
	  "Default servers per server group."),
	I("quota", "injected_files", quota_injected_files, "5", -1, 2147483647, "Default injected files (before 2.57)."),
	I("quota", "injected_file_content_bytes", quota_injected_file_content_bytes, "10240", -1, 2147483647,
	  "Default injected file size."),
	I("quota", "image_count", quota_image_count, "100", -1, 2147483647, "Images a project may own (-1: unlimited)."),
	I("quota", "image_size_total", quota_image_size_mib, "102400", -1, 2147483647,
	  "Total size of a project's image data in MiB (-1: unlimited)."),
	I("quota", "injected_file_path_bytes", quota_injected_file_path_bytes, "255", -1, 2147483647,
	  "Default injected file path length."),
};

static int set_opt(struct nl_config *c, const struct opt *o, const char *value, char *err, size_t errlen)
{
	char *base = (char *)c + o->offset;

	if (o->type == OPT_STR) {
		if (!strcmp(o->key, "log_level") && strcmp(value, "debug") && strcmp(value, "info") &&
		    strcmp(value, "warn") && strcmp(value, "error")) {
			snprintf(err, errlen, "%s.%s: expected debug, info, warn or error, got '%s'", o->section,
				 o->key, value);
			return -1;
		}
		if (strlen(value) >= o->size) {
			snprintf(err, errlen, "%s.%s: value too long", o->section, o->key);
			return -1;
		}
		strcpy(base, value);
		return 0;
	}
	char *end;
	errno = 0;
	if (o->type == OPT_DOUBLE) {
		double d = strtod(value, &end);
		if (errno || end == value || *end || d < o->min || d > o->max) {
			snprintf(err, errlen, "%s.%s: expected a number in [%d, %d], got '%s'",
				 o->section, o->key, o->min, o->max, value);
			return -1;
		}
		*(double *)base = d;
		return 0;
	}
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < o->min || v > o->max) {
		snprintf(err, errlen, "%s.%s: expected an integer in [%d, %d], got '%s'",
			 o->section, o->key, o->min, o->max, value);
		return -1;
	}
	*(int *)base = (int)v;
	return 0;
}

void config_defaults(struct nl_config *c)
{
	char err[128];
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		set_opt(c, &opts[i], opts[i].def, err, sizeof(err));
}

int config_set(struct nl_config *c, const char *section, const char *key, const char *value,
	       char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		if (strcmp(o->key, key) == 0 && (!section || strcmp(o->section, section) == 0))
			return set_opt(c, o, value, err, errlen);
	}
	snprintf(err, errlen, "unknown option [%s] %s", section ? section : "?", key);
	return -1;
}

struct ini_ctx {
	struct nl_config *c;
	char *err;
	size_t errlen;
	int failed;
};

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	if (ctx->failed)
		return 0;
	if (config_set(ctx->c, section[0] ? section : "DEFAULT", name, value, ctx->err, ctx->errlen)) {
		ctx->failed = 1;
		return 0;
	}
	return 1;
}

int config_load_file(struct nl_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = config_load_stream(c, f, path, err, errlen);
	fclose(f);
	return rc;
}

int config_load_stream(struct nl_config *c, FILE *f, const char *path, char *err, size_t errlen)
{
	struct ini_ctx ctx = { c, err, errlen, 0 };
	/* libinih reads at most 200 bytes a line and would silently split longer ones:
	 * refuse them instead of storing a truncated value. */
	char line[4096];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (strlen(line) >= 199 && line[strlen(line) - 1] != '\n' && !feof(f)) {
			snprintf(err, errlen, "config file %s: line %d is longer than 198 characters", path, lineno);
			return -1;
		}
		if (strlen(line) > 199) {
			snprintf(err, errlen, "config file %s: line %d is longer than 198 characters", path, lineno);
			return -1;
		}
	}
	rewind(f);
	int rc = ini_parse_file(f, ini_cb, &ctx);
	if (ctx.failed)
		return -1;
	if (rc) {
		snprintf(err, errlen, "config file %s: syntax error on line %d", path, rc);
		return -1;
	}
	return 0;
}

void config_print_sample(FILE *f)
{
	static const char *sections[] = { "DEFAULT", "api", "identity", "compute", "image", "internal", "scheduler", "quota" };
	fprintf(f, "# novalite sample configuration: every option, its default and meaning.\n"
		   "# Generated by `novalite-api --print-sample-config`; every option is optional.\n"
		   "# Command-line flags override this file.\n");
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		fprintf(f, "\n[%s]\n", sections[s]);
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
			const struct opt *o = &opts[i];
			if (!strcmp(o->section, sections[s]))
				fprintf(f, "# %s\n#%s = %s\n", o->help, o->key, o->def);
		}
	}
}
