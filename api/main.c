/* novalite-api: the all-in-one control plane daemon.
 *
 * Start-up: flags and config → state dir → DB open + migrations → bootstrap →
 * listeners → openrc written (the "ready" signal scripts wait for) → wait for
 * SIGTERM/SIGINT → stop listeners → exit 0. Bad flags or config: one line, exit 2. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/identity/bootstrap.h"
#include "api/image/image.h"
#include "api/internal/internal.h"
#include "api/identity/identity.h"
#include "api/http.h"
#include "api/server.h"
#include "common/config.h"
#include "compute/agent.h"
#include "common/log.h"
#include "common/password.h"
#include "common/util.h"
#include "db/db.h"
#include "db/identity.h"

static const struct option long_opts[] = {
	{ "state-dir", required_argument, NULL, 's' },
	{ "bind", required_argument, NULL, 'b' },
	{ "identity-port", required_argument, NULL, 'I' },
	{ "compute-port", required_argument, NULL, 'C' },
	{ "image-port", required_argument, NULL, 'G' },
	{ "internal-port", required_argument, NULL, 'N' },
	{ "no-embedded-agent", no_argument, NULL, 'A' },
	{ "fake-hosts", required_argument, NULL, 'F' },
	{ "config", required_argument, NULL, 'c' },
	{ "workers", required_argument, NULL, 'w' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "public-host", required_argument, NULL, 'p' },
	{ "print-sample-config", no_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: novalite-api [options]\n"
		"Runs the novalite control plane (Keystone v3, Nova v2.1, Glance v2 subsets) in the foreground.\n\n"
		"  --state-dir DIR        database, images, logs and openrc (default: var)\n"
		"  --bind ADDR            IPv4 address to listen on (default: 127.0.0.1)\n"
		"  --public-host HOST     host name used in catalog URLs (default: the bind address)\n"
		"  --identity-port N      Keystone port (default: 5000)\n"
		"  --compute-port N       Nova port (default: 8774)\n"
		"  --image-port N         Glance port (default: 9292)\n"
		"  --internal-port N      compute agents' port (default: 8790)\n"
		"  --no-embedded-agent    do not run a compute agent in this process (agents run as novalite-compute)\n"
		"  --fake-hosts N         the embedded agent simulates N hosts on libvirt's test driver\n"
		"  --workers N            worker threads per port (default: 2)\n"
		"  --log-level LEVEL      debug, info, warn, error (default: info)\n"
		"  --config FILE          INI file (see etc/novalite.conf.sample); flags override it\n"
		"  --print-sample-config  print every option with its default and exit\n"
		"  --help                 this text\n\n"
		"Writes DIR/openrc (admin credentials, mode 0600) once ready, and DIR/compute-openrc (the\n"
		"shared agent identity; novalite-manage agent create NAME mints one per agent); stops\n"
		"cleanly on SIGTERM.\n");
}

/* Whether an executable named `name` is in one of PATH's directories (for the banner's
 * hint about the clients; nothing is run). */
static int on_path(const char *name)
{
	const char *path = getenv("PATH");
	char file[PATH_MAX];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		if (n > 0 && snprintf(file, sizeof(file), "%.*s/%s", (int)n, path, name) < (int)sizeof(file) &&
		    access(file, X_OK) == 0)
			return 1;
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

static int die2(const char *fmt, const char *arg)
{
	fprintf(stderr, "novalite-api: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 2;
}

/* Reads OS_PASSWORD from a previous openrc, so a restart keeps a generated password. */
static void old_password(const char *path, char *out, size_t len)
{
	char line[600];
	FILE *f = fopen(path, "r");
	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *k = "export OS_PASSWORD='";
		if (!strncmp(line, k, strlen(k))) {
			char *v = line + strlen(k), *end = strrchr(v, '\'');
			if (end) {
				*end = '\0';
				snprintf(out, len, "%s", v);
			}
		}
	}
	fclose(f);
}

/* Writes text to path atomically (PATH.tmp, then rename) with mode 0600: an openrc
 * holds a password. */
static int write_rc_file(const char *path, const char *text)
{
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	fputs(text, f);
	if (fclose(f) != 0) {
		unlink(tmp);
		return -1;
	}
	return rename(tmp, path);
}

static int write_openrc(const char *path, const char *password)
{
	const char *host = g_config.public_host[0] ? g_config.public_host : g_config.bind;
	char *text = NULL;
	if (asprintf(&text, "# novalite admin credentials (written by novalite-api when ready)\n"
			    "export OS_AUTH_URL=http://%s:%d/v3\n"
			    "export OS_IDENTITY_API_VERSION=3\n"
			    "export OS_USERNAME=admin\n"
			    "%s%s%s"
			    "export OS_PROJECT_NAME=admin\n"
			    "export OS_USER_DOMAIN_NAME=Default\n"
			    "export OS_PROJECT_DOMAIN_NAME=Default\n"
			    "export OS_REGION_NAME=%s\n"
			    "export OS_INTERFACE=public\n",
		     host, g_config.identity_port,
		     /* Unknown after a restart whose openrc was removed: say so rather than lie. */
		     password[0] ? "export OS_PASSWORD='" : "# OS_PASSWORD unknown: set NOVALITE_ADMIN_PASSWORD or run "
							    "novalite-manage bootstrap --password P, then restart",
		     password, password[0] ? "'\n" : "\n", g_config.region) < 0)
		return -1;
	int rc = write_rc_file(path, text);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

/* The compute agents' credentials (docs/agent-protocol.md), 0600 like openrc. */
static int write_compute_openrc(const char *path, const char *password)
{
	const char *host = g_config.public_host[0] ? g_config.public_host : g_config.bind;
	char *text = NULL;
	if (asprintf(&text, "# novalite compute agent credentials (service role; written by novalite-api)\n"
			    "export OS_AUTH_URL=http://%s:%d/v3\n"
			    "export OS_USERNAME=novalite-compute\n"
			    "export OS_PASSWORD='%s'\n"
			    "export OS_PROJECT_NAME=service\n"
			    "export OS_USER_DOMAIN_NAME=Default\n"
			    "export OS_PROJECT_DOMAIN_NAME=Default\n"
			    "export NOVALITE_INTERNAL_URL=http://%s:%d\n",
		     host, g_config.identity_port, password, host, g_config.internal_port) < 0)
		return -1;
	int rc = write_rc_file(path, text);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

/* The embedded agent's own identity: a service user of its own, so the hosts it claims
 * are out of reach of every other agent, the compute-openrc holders included. Its
 * password is new at every start and never written anywhere. */
#define EMBEDDED_AGENT_USER "novalite-embedded-agent"

static int start_embedded_agent(const char *password, struct nl_error *err)
{
	struct agent_config ac;
	char hn[128] = "localhost";
	const char *host = g_config.public_host[0] ? g_config.public_host : g_config.bind;

	unsigned char ip[16];
	/* The API takes console addresses on loopback or the registered literal only. */
	if (inet_pton(AF_INET, g_config.vnc_listen, ip) != 1 && inet_pton(AF_INET6, g_config.vnc_listen, ip) != 1) {
		nl_err_set(err, 400, "[compute] vnc_listen '%s' is not an IPv4 or IPv6 address.", g_config.vnc_listen);
		return -1;
	}
	agent_config_defaults(&ac);
	gethostname(hn, sizeof(hn) - 1);
	snprintf(ac.api_url, sizeof(ac.api_url), "http://%s:%d", host, g_config.internal_port);
	snprintf(ac.auth_url, sizeof(ac.auth_url), "http://%s:%d/v3", host, g_config.identity_port);
	snprintf(ac.username, sizeof(ac.username), "%s", EMBEDDED_AGENT_USER);
	snprintf(ac.password, sizeof(ac.password), "%s", password);
	snprintf(ac.project_name, sizeof(ac.project_name), "service");
	snprintf(ac.libvirt_uri, sizeof(ac.libvirt_uri), "%s", g_config.libvirt_uri);
	snprintf(ac.state_dir, sizeof(ac.state_dir), "%s/compute", g_config.state_dir);
	/* Real guests: QEMU (another user) must pass through the state dir to reach the
	 * instance files under compute/; 0711 lets it through without listing anything. */
	if (strncmp(g_config.libvirt_uri, "test:", 5))
		chmod(g_config.state_dir, 0711);
	snprintf(ac.virt_type, sizeof(ac.virt_type), "%s", g_config.virt_type);
	snprintf(ac.kvm_probe_kernel, sizeof(ac.kvm_probe_kernel), "%s", g_config.kvm_probe_kernel);
	ac.kvm_probe_timeout_s = g_config.kvm_probe_timeout;
	ac.kvm_guard_silence_s = g_config.kvm_guard_silence_seconds;
	snprintf(ac.network_mode, sizeof(ac.network_mode), "%s", g_config.network_mode);
	snprintf(ac.network_name, sizeof(ac.network_name), "%s", g_config.network_name);
	snprintf(ac.network_bridge, sizeof(ac.network_bridge), "%s", g_config.network_bridge);
	snprintf(ac.vnc_listen, sizeof(ac.vnc_listen), "%s", g_config.vnc_listen);
	ac.shutdown_timeout_s = g_config.shutdown_timeout;
	ac.max_concurrent_tasks = g_config.max_concurrent_tasks;
	ac.sync_interval_s = g_config.sync_power_state_interval;
	ac.image_cache_sweep_s = g_config.image_cache_manager_interval;
	ac.image_cache_min_age_s = g_config.remove_unused_original_minimum_age_seconds;
	if (g_config.fake_hosts > 0) {
		ac.fake_hosts = g_config.fake_hosts;
		snprintf(ac.host, sizeof(ac.host), "fake-");
		snprintf(ac.agent_name, sizeof(ac.agent_name), "%s-embedded", hn);
	} else {
		snprintf(ac.host, sizeof(ac.host), "%s", hn);
		snprintf(ac.agent_name, sizeof(ac.agent_name), "%s", hn);
	}
	return agent_start_thread(&ac, err);
}

static int purge_tx(void *ctx, struct nl_error *err)
{
	(void)ctx;
	return db_token_purge_expired(nl_now_us() - 86400LL * 1000000, err);
}

static void purge_tokens(void)
{
	struct nl_error err = { 0 };
	if (db_tx_run(purge_tx, NULL, &err))
		log_warn("token purge failed: %s", err.msg);
}

int main(int argc, char **argv)
{
	char err_line[512], path[1100], openrc[1100], pw[300];
	const char *config_file = NULL;
	struct nl_error err = { 0 };
	sigset_t sigs;
	int opt, sig;

	/* Nothing in the state dir is for other users (the database holds password and token
	 * hashes); the few files QEMU must read are opened up by name where they are made. */
	umask(077);
	config_defaults(&g_config);
	/* Pass 1: find --config (flags win over the file, so it loads first). */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1)
		if (opt == 'c')
			config_file = optarg;
	if (config_file && config_load_file(&g_config, config_file, err_line, sizeof(err_line)))
		return die2("%s", err_line);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *sec = NULL, *key = NULL;
		switch (opt) {
		case 's': sec = "DEFAULT"; key = "state_dir"; break;
		case 'b': sec = "DEFAULT"; key = "bind"; break;
		case 'p': sec = "DEFAULT"; key = "public_host"; break;
		case 'l': sec = "DEFAULT"; key = "log_level"; break;
		case 'I': sec = "identity"; key = "port"; break;
		case 'C': sec = "compute"; key = "port"; break;
		case 'G': sec = "image"; key = "port"; break;
		case 'N': sec = "internal"; key = "port"; break;
		case 'A': g_config.embedded_agent = 0; continue;
		case 'F': sec = "compute"; key = "fake_hosts"; break;
		case 'w': sec = "api"; key = "workers"; break;
		case 'c': continue;
		case 'S': config_print_sample(stdout); return 0;
		case 'h': usage(stdout); return 0;
		default:
			return die2("unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
		}
		if (config_set(&g_config, sec, key, optarg, err_line, sizeof(err_line)))
			return die2("%s", err_line);
	}
	if (optind < argc)
		return die2("unexpected argument '%s' (see --help)", argv[optind]);
	if (!strcmp(g_config.log_level, "debug")) log_set_level(LOG_DEBUG);
	else if (!strcmp(g_config.log_level, "warn")) log_set_level(LOG_WARN);
	else if (!strcmp(g_config.log_level, "error")) log_set_level(LOG_ERROR);
	else if (strcmp(g_config.log_level, "info")) return die2("invalid log_level '%s'", g_config.log_level);

	/* Block the stop signals before any thread starts, so only sigwait() sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (mkdir(g_config.state_dir, 0700) && errno != EEXIST)
		return die2("cannot create state dir: %s", strerror(errno));
	snprintf(openrc, sizeof(openrc), "%s/openrc", g_config.state_dir);
	old_password(openrc, pw, sizeof(pw));
	unlink(openrc);   /* its reappearance means "ready" */

	if (password_init(g_config.pwhash_opslimit, g_config.pwhash_memlimit_kib, g_config.pwhash_concurrency))
		return die2("%s", "libsodium initialisation failed");
	snprintf(path, sizeof(path), "%s/novalite.db", g_config.state_dir);
	if (db_open(path, &err)) {
		log_error("%s", err.msg);
		return 1;
	}
	const char *given = g_config.admin_password[0] ? g_config.admin_password : getenv("NOVALITE_ADMIN_PASSWORD");
	char boot_pw[300];
	if (identity_bootstrap(given && *given ? given : NULL, boot_pw, sizeof(boot_pw), &err)) {
		log_error("bootstrap failed: %s", err.msg);
		return 1;
	}
	if (boot_pw[0])
		snprintf(pw, sizeof(pw), "%s", boot_pw);
	if (!pw[0])
		log_warn("the admin password is not known (openrc was removed); see the comment in %s", openrc);
	purge_tokens();
	image_startup_repair();
	char svc_pw[300] = "", svc_old[300], compute_rc[1100];
	snprintf(compute_rc, sizeof(compute_rc), "%s/compute-openrc", g_config.state_dir);
	old_password(compute_rc, svc_old, sizeof(svc_old));
	if (identity_bootstrap_service_user("novalite-compute", svc_old[0] ? svc_old : NULL, svc_pw, sizeof(svc_pw),
					    &err) || write_compute_openrc(compute_rc, svc_pw)) {
		log_error("compute service user: %s", err.msg[0] ? err.msg : strerror(errno));
		return 1;
	}

	if (server_start(&err)) {
		log_error("%s", err.msg);
		return 1;
	}
	catalog_init();
	char agent_pw[300] = "";
	if (g_config.embedded_agent &&
	    identity_bootstrap_service_user(EMBEDDED_AGENT_USER, NULL, agent_pw, sizeof(agent_pw), &err)) {
		log_error("embedded compute agent's identity: %s", err.msg);
		server_stop();
		return 1;
	}
	int agent_rc = g_config.embedded_agent ? start_embedded_agent(agent_pw, &err) : 0;
	explicit_bzero(agent_pw, sizeof(agent_pw));
	if (agent_rc) {
		log_error("embedded compute agent: %s", err.msg);
		internal_shutdown();
		server_stop();
		return 1;
	}
	if (write_openrc(openrc, pw)) {
		log_error("cannot write %s: %s", openrc, strerror(errno));
		server_stop();
		return 1;
	}
	log_info("ready: state in %s, admin credentials in %s", g_config.state_dir, openrc);
	printf("\nnovalite is running.\n"
	       "  state dir:  %s/  (database novalite.db, admin credentials openrc)\n"
	       "  identity:   %s/v3\n"
	       "  compute:    %s/v2.1\n"
	       "  image:      %s/v2\n"
	       "Try:  source %s && openstack flavor list\n"
	       "Stop: Ctrl-C (or SIGTERM)\n\n",
	       g_config.state_dir, service_base_url(SVC_IDENTITY), service_base_url(SVC_COMPUTE),
	       service_base_url(SVC_IMAGE), openrc);
	if (!on_path("openstack"))
		printf("The openstack client is not installed. To get it (as root):\n"
		       "  apt-get install python3-openstackclient\n\n");
	fflush(stdout);

	/* The main thread waits for a stop signal and, every ten minutes, purges tokens that
	 * expired more than a day ago (they can no longer be validated, only audited). */
	for (;;) {
		struct timespec ten_min = { 600, 0 };
		sig = sigtimedwait(&sigs, NULL, &ten_min);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig < 0 && errno == EAGAIN)
			purge_tokens();
	}
	log_info("signal %d: stopping", sig);
	if (g_config.embedded_agent)
		agent_stop();
	internal_shutdown();   /* long polls answer now, so the internal port stops at once */
	server_stop();
	db_thread_close();
	log_info("stopped");
	return 0;
}
