/* novalite-compute: the compute agent as its own process (one per compute node, or one
 * presenting many fake hosts).
 *
 * Start-up: flags → credentials (an openrc file, or OS_* variables) → agent_run() on the
 * main thread until SIGTERM/SIGINT, which a signal thread turns into agent_stop().
 * Exit 0 on a clean stop, 1 when the agent cannot start, 2 on bad flags or credentials. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "compute/agent.h"

static const struct option long_opts[] = {
	{ "credentials", required_argument, NULL, 'c' },
	{ "api-url", required_argument, NULL, 'a' },
	{ "host", required_argument, NULL, 'H' },
	{ "agent", required_argument, NULL, 'A' },
	{ "libvirt-uri", required_argument, NULL, 'u' },
	{ "fake-hosts", required_argument, NULL, 'n' },
	{ "fake-vcpus", required_argument, NULL, 'v' },
	{ "fake-ram-mb", required_argument, NULL, 'r' },
	{ "fake-disk-gb", required_argument, NULL, 'd' },
	{ "fake-spawn-delay-ms", required_argument, NULL, 'D' },
	{ "fake-stop-delay-ms", required_argument, NULL, 'O' },
	{ "max-concurrent-tasks", required_argument, NULL, 'C' },
	{ "state-dir", required_argument, NULL, 's' },
	{ "virt-type", required_argument, NULL, 'V' },
	{ "kvm-probe-kernel", required_argument, NULL, 'K' },
	{ "kvm-probe-timeout", required_argument, NULL, 'P' },
	{ "kvm-guard-silence", required_argument, NULL, 'G' },
	{ "network-mode", required_argument, NULL, 'N' },
	{ "network-name", required_argument, NULL, 'W' },
	{ "network-bridge", required_argument, NULL, 'B' },
	{ "vnc-listen", required_argument, NULL, 'X' },
	{ "shutdown-timeout", required_argument, NULL, 'T' },
	{ "sync-interval", required_argument, NULL, 'S' },
	{ "image-cache-sweep", required_argument, NULL, 'I' },
	{ "image-cache-min-age", required_argument, NULL, 'M' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: novalite-compute [options]\n"
		"Runs a novalite compute agent in the foreground: registers its host(s) with the API's\n"
		"internal endpoint, runs the tasks it is given through libvirt, reports the results.\n\n"
		"  --credentials FILE   openrc with OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME,\n"
		"                       OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME, NOVALITE_INTERNAL_URL\n"
		"                       and NOVALITE_AGENT_NAME: novalite-manage agent create NAME writes\n"
		"                       one per agent (its own identity); STATE/compute-openrc is the\n"
		"                       shared one. Without it, the same variables are read from the\n"
		"                       environment\n"
		"  --api-url URL        internal endpoint (default: NOVALITE_INTERNAL_URL, else\n"
		"                       http://127.0.0.1:8790)\n"
		"  --host NAME          host name (default: this machine's); with --fake-hosts, the prefix\n"
		"  --agent NAME         agent name the tasks are polled with (default: NOVALITE_AGENT_NAME,\n"
		"                       else the host name)\n"
		"  --libvirt-uri URI    test:///default (the fake hypervisor, default) or qemu:///system\n"
		"  --fake-hosts N       present N fake hosts named HOST0001..HOSTNNNN (default: one host)\n"
		"  --fake-vcpus N       vCPUs of each fake host (default: 16)\n"
		"  --fake-ram-mb N      RAM of each fake host in MB (default: 32768)\n"
		"  --fake-disk-gb N     disk of each fake host in GB (default: 1000)\n"
		"  --fake-spawn-delay-ms N  each fake build takes N ms (to test an agent killed mid-build)\n"
		"  --fake-stop-delay-ms N   a running fake guest takes N ms to shut down (tests)\n"
		"  --max-concurrent-tasks N tasks run at once, one per instance at most (default: 4)\n"
		"  --state-dir DIR      fake node files and instance files (default: var-compute)\n"
		"  --virt-type TYPE     qemu:///system: auto (probe KVM, default), kvm or qemu (TCG)\n"
		"  --kvm-probe-kernel F the kernel the KVM probe boots (default: search /boot)\n"
		"  --kvm-probe-timeout S seconds the KVM probe may take (default: 20)\n"
		"  --kvm-guard-silence S a silent KVM guest marks KVM broken after S seconds (default: 60, 0: off)\n"
		"  --network-mode MODE  nat (default), isolated, bridge or user\n"
		"  --network-name NAME  libvirt network for guests (default: novalite)\n"
		"  --network-bridge BR  bridge mode: the host bridge\n"
		"  --vnc-listen ADDR    guests' VNC servers listen here (default: 127.0.0.1)\n"
		"  --shutdown-timeout S seconds for a clean guest shutdown (default: 60)\n"
		"  --sync-interval S    seconds between reconciles with libvirt (default: 60)\n"
		"  --image-cache-sweep S    seconds between image cache sweeps (default: 2400)\n"
		"  --image-cache-min-age S  keep an unused base this long (default: 86400)\n"
		"  --log-level LEVEL    debug, info, warn, error (default: info)\n"
		"  --help               this text\n\n"
		"Stops cleanly on SIGTERM or SIGINT.\n");
}

static int die2(const char *fmt, const char *arg)
{
	fprintf(stderr, "novalite-compute: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	return 2;
}

/* ---- credentials --------------------------------------------------------------------------- */

/* Reads one shell word from *p (quotes: '...' literal, "..." with backslash escapes,
 * bare with backslash escapes; the openrc writer's '\'' works) into out. */
static void shell_word(const char **p, char *out, size_t len)
{
	const char *s = *p;
	size_t o = 0;
#define PUT(ch) do { if (o + 1 < len) out[o++] = (ch); } while (0)
	while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '#' && *s != ';') {
		if (*s == '\'') {
			for (s++; *s && *s != '\''; s++)
				PUT(*s);
			if (*s)
				s++;
		} else if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\' || s[1] == '$' || s[1] == '`'))
					s++;
				PUT(*s);
			}
			if (*s)
				s++;
		} else {
			if (*s == '\\' && s[1])
				s++;
			PUT(*s);
			s++;
		}
	}
#undef PUT
	out[o] = '\0';
	*p = s;
}

static char *field_for(struct agent_config *cfg, const char *key, size_t *len)
{
	static const struct { const char *key; size_t off, len; } keys[] = {
#define K(k, f) { k, offsetof(struct agent_config, f), sizeof(((struct agent_config *)0)->f) }
		K("OS_AUTH_URL", auth_url),
		K("OS_USERNAME", username),
		K("OS_PASSWORD", password),
		K("OS_PROJECT_NAME", project_name),
		K("OS_USER_DOMAIN_NAME", user_domain),
		K("OS_PROJECT_DOMAIN_NAME", project_domain),
		K("NOVALITE_INTERNAL_URL", api_url),
		K("NOVALITE_AGENT_NAME", agent_name),   /* novalite-manage agent create: the name it holds */
#undef K
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].key, key)) {
			*len = keys[i].len;
			return (char *)cfg + keys[i].off;
		}
	return NULL;
}

/* "export KEY=VALUE" (or "KEY=VALUE") lines; other lines and keys are ignored. */
static int load_openrc(struct agent_config *cfg, const char *path)
{
	char line[2048], key[64], value[1024];
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		size_t klen, len;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t'))
			for (p += 6; *p == ' ' || *p == '\t'; p++)
				;
		klen = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
		if (!klen || klen >= sizeof(key) || p[klen] != '=')
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)klen, p);
		p += klen + 1;
		shell_word(&p, value, sizeof(value));
		char *dst = field_for(cfg, key, &len);
		if (dst)
			snprintf(dst, len, "%s", value);
	}
	explicit_bzero(line, sizeof(line));
	explicit_bzero(value, sizeof(value));
	fclose(f);
	return 0;
}

static void load_env(struct agent_config *cfg)
{
	static const char *const keys[] = { "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME",
					    "OS_USER_DOMAIN_NAME", "OS_PROJECT_DOMAIN_NAME",
					    "NOVALITE_INTERNAL_URL", "NOVALITE_AGENT_NAME", NULL };
	for (int i = 0; keys[i]; i++) {
		const char *v = getenv(keys[i]);
		size_t len;
		char *dst = field_for(cfg, keys[i], &len);
		if (v && *v && dst)
			snprintf(dst, len, "%s", v);
	}
}

/* ---- flags --------------------------------------------------------------------------------- */

static int parse_num(const char *s, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int set_str(char *dst, size_t len, const char *v, const char *flag)
{
	if (strlen(v) >= len || !*v)
		return die2("%s: empty or too long", flag);
	snprintf(dst, len, "%s", v);
	return 0;
}

static void *signal_thread(void *arg)
{
	sigset_t *sigs = arg;
	int sig = 0;
	if (sigwait(sigs, &sig) == 0) {
		log_info("signal %d: stopping", sig);
		agent_stop();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct agent_config cfg;
	struct nl_error err = { 0 };
	const char *credentials = NULL, *api_url = NULL, *agent_flag = NULL, *level = "info";
	static sigset_t sigs;
	pthread_t sig_thread;
	long long n;
	int opt;

	umask(077);   /* instance files QEMU must read are opened up where they are made */
	agent_config_defaults(&cfg);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		int rc = 0;
		switch (opt) {
		case 'c': credentials = optarg; break;
		case 'a': api_url = optarg; break;
		case 'H': rc = set_str(cfg.host, sizeof(cfg.host), optarg, "--host"); break;
		case 'A': agent_flag = optarg; break;
		case 'u': rc = set_str(cfg.libvirt_uri, sizeof(cfg.libvirt_uri), optarg, "--libvirt-uri"); break;
		case 's': rc = set_str(cfg.state_dir, sizeof(cfg.state_dir), optarg, "--state-dir"); break;
		case 'V': rc = set_str(cfg.virt_type, sizeof(cfg.virt_type), optarg, "--virt-type"); break;
		case 'N': rc = set_str(cfg.network_mode, sizeof(cfg.network_mode), optarg, "--network-mode"); break;
		case 'W': rc = set_str(cfg.network_name, sizeof(cfg.network_name), optarg, "--network-name"); break;
		case 'B': rc = set_str(cfg.network_bridge, sizeof(cfg.network_bridge), optarg, "--network-bridge"); break;
		case 'X': {
			/* The API takes console addresses on loopback or this registered literal only. */
			unsigned char ip[16];
			if (inet_pton(AF_INET, optarg, ip) != 1 && inet_pton(AF_INET6, optarg, ip) != 1)
				return die2("--vnc-listen: '%s' is not an IPv4 or IPv6 address", optarg);
			rc = set_str(cfg.vnc_listen, sizeof(cfg.vnc_listen), optarg, "--vnc-listen");
			break;
		}
		case 'K': rc = set_str(cfg.kvm_probe_kernel, sizeof(cfg.kvm_probe_kernel), optarg, "--kvm-probe-kernel"); break;
		case 'T': case 'S': case 'I': case 'M': case 'P': case 'G': {
			int *dst = opt == 'T' ? &cfg.shutdown_timeout_s : opt == 'S' ? &cfg.sync_interval_s
				   : opt == 'I' ? &cfg.image_cache_sweep_s : opt == 'P' ? &cfg.kvm_probe_timeout_s
				   : opt == 'G' ? &cfg.kvm_guard_silence_s : &cfg.image_cache_min_age_s;
			if (parse_num(optarg, 0, 31536000, &n))
				return die2("'%s' is not a number of seconds", optarg);
			*dst = (int)n;
			break;
		}
		case 'l': level = optarg; break;
		case 'n':
			if (parse_num(optarg, 0, 100000, &n))
				return die2("--fake-hosts: '%s' is not a number from 0 to 100000", optarg);
			cfg.fake_hosts = (int)n;
			break;
		case 'v':
			if (parse_num(optarg, 1, 65536, &n))
				return die2("--fake-vcpus: '%s' is not a number from 1 to 65536", optarg);
			cfg.fake_vcpus = (int)n;
			break;
		case 'r':
			if (parse_num(optarg, 1, 1LL << 40, &n))
				return die2("--fake-ram-mb: '%s' is not a positive number", optarg);
			cfg.fake_ram_mb = n;
			break;
		case 'd':
			if (parse_num(optarg, 0, 1LL << 40, &n))
				return die2("--fake-disk-gb: '%s' is not a number", optarg);
			cfg.fake_disk_gb = n;
			break;
		case 'D': case 'O':
			if (parse_num(optarg, 0, 600000, &n))
				return die2(opt == 'D' ? "--fake-spawn-delay-ms: '%s' is not a number from 0 to 600000"
						       : "--fake-stop-delay-ms: '%s' is not a number from 0 to 600000", optarg);
			*(opt == 'D' ? &cfg.fake_spawn_delay_ms : &cfg.fake_stop_delay_ms) = (int)n;
			break;
		case 'C':
			if (parse_num(optarg, 1, 256, &n))
				return die2("--max-concurrent-tasks: '%s' is not a number from 1 to 256", optarg);
			cfg.max_concurrent_tasks = (int)n;
			break;
		case 'h': usage(stdout); return 0;
		default:
			usage(stderr);
			return die2("unknown or incomplete option '%s'", argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	if (optind < argc) {
		usage(stderr);
		return die2("unexpected argument '%s'", argv[optind]);
	}
	if (!strcmp(level, "debug")) log_set_level(LOG_DEBUG);
	else if (!strcmp(level, "warn")) log_set_level(LOG_WARN);
	else if (!strcmp(level, "error")) log_set_level(LOG_ERROR);
	else if (strcmp(level, "info")) return die2("invalid --log-level '%s'", level);

	if (credentials) {
		if (load_openrc(&cfg, credentials))
			return die2("cannot read the credentials file %s", credentials);
	} else {
		load_env(&cfg);
	}
	if (api_url && set_str(cfg.api_url, sizeof(cfg.api_url), api_url, "--api-url"))
		return 2;
	/* The flag wins over the credentials' NOVALITE_AGENT_NAME (read after the flags). */
	if (agent_flag && set_str(cfg.agent_name, sizeof(cfg.agent_name), agent_flag, "--agent"))
		return 2;
	if (!cfg.password[0] || !cfg.auth_url[0])
		return die2("%s", "no credentials: pass --credentials STATE/compute-openrc or set OS_AUTH_URL, "
				   "OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME");
	if (strncmp(cfg.api_url, "http://", 7) && strncmp(cfg.api_url, "https://", 8))
		return die2("the API URL '%s' must start with http:// or https://", cfg.api_url);

	/* Block the stop signals before any thread starts, so only the signal thread sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&sig_thread, NULL, signal_thread, &sigs)) {
		log_error("cannot start the signal thread");
		return 1;
	}
	pthread_detach(sig_thread);

	int rc = agent_run(&cfg, &err);
	explicit_bzero(cfg.password, sizeof(cfg.password));
	if (rc) {
		log_error("%s", err.msg);
		return 1;
	}
	return 0;
}
