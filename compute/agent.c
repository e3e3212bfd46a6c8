/* The compute agent (compute/agent.h, protocol in docs/agent-protocol.md).
 *
 * Life: open one virt connection per host → authenticate and register every host →
 * reconcile each host with what the API says it should run → loop { heartbeat when due,
 * long-poll tasks and queue each on its instance's lane in the task pool }, while
 * max_concurrent_tasks workers (compute/agent_pool.h) run the tasks through the virt
 * driver of their host and post the results: concurrently across instances, one at a
 * time and in order within one, so a guest taking a minute to shut down delays nothing
 * but its own instance's next task.
 *
 * Threads: the dispatcher (this loop: polls, heartbeats, periodic reconcile and image
 * cache sweep), the workers (each with its own HTTP client: clients are not shared), and
 * on real guests the watcher (agent_watch.h). An instance is touched by one of them at a
 * time: the pool's lane is the per-instance task lock. The image cache is shared by every
 * build: image_mu serialises fetches and the sweep.
 *
 * While the API is unreachable the dispatcher's requests are retried with a doubling
 * back-off (1 s up to 30 s), logged once when the outage starts and once when it ends.
 * A result the API does not take (unreachable, 5xx, 408, 429) waits in its lane and is
 * posted again with its own back-off (1 s to 30 s) until the API takes it or refuses it
 * for good; meanwhile that instance's next task and reports wait, other instances do not.
 * agent_stop() cancels the dispatcher's HTTP client, which interrupts a long poll or a
 * back-off sleep at once; the pool then cancels the workers' clients and joins them.
 * A task whose result could not be delivered stays leased; the API hands it out again
 * after the agent registers anew, and tasks are idempotent. */
#include "compute/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "compute/agent_pool.h"
#include "compute/agent_watch.h"
#include "compute/virt_probe.h"
#include "compute/http.h"
#include "compute/image_cache.h"
#include "compute/virt.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define START_TIMEOUT_S 30        /* agent_start_thread: registration must succeed by then */
#define POLL_GRACE_S 15           /* HTTP timeout of a long poll beyond its wait */
#define REQUEST_TIMEOUT_S 30
#define CONSOLE_MAX 60000         /* the API accepts 64 KiB of console per result */

struct agent_host {
	char name[128];
	struct virt_conn *conn;
};

struct agent {
	struct agent_config cfg;
	char name[128];               /* the agent name: long-poll key */
	char host_ip[64];
	const struct virt_driver *drv;
	struct http_client *http;
	struct agent_host *hosts;     /* sorted by name */
	size_t nhosts;
	long long last_heartbeat_ms;
	bool outage;                  /* the API is unreachable: logged once */
	long long outage_since_ms;
	long backoff_ms;
	struct agent_pool *pool;      /* the task workers, once the agent serves */
	pthread_mutex_t image_mu;     /* image cache fetches and the sweep */
	struct agent_watch *watch;    /* real guests only */
	long long last_reconcile_ms, last_sweep_ms;
	char image_cache_dir[600];
	char **images_in_use;         /* image refs of this agent's instances, from the last reconcile */
	size_t nimages_in_use;
};

/* One agent per process: agent_stop() must find it from any thread. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stop;
	struct http_client *http;     /* of the running agent, to cancel */
	bool thread_running;
	pthread_t thread;
	enum { RUN_IDLE, RUN_STARTING, RUN_REGISTERED, RUN_FAILED } state;
	struct agent_config cfg;      /* the thread's copy */
	struct nl_error err;          /* the thread's failure, or the latest outage */
} ctl = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool stopping(void)
{
	return atomic_load(&ctl.stop);
}

void agent_config_defaults(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->api_url, sizeof(cfg->api_url), "http://127.0.0.1:8790");
	snprintf(cfg->auth_url, sizeof(cfg->auth_url), "http://127.0.0.1:5000/v3");
	snprintf(cfg->username, sizeof(cfg->username), "novalite-compute");
	snprintf(cfg->project_name, sizeof(cfg->project_name), "service");
	snprintf(cfg->user_domain, sizeof(cfg->user_domain), "Default");
	snprintf(cfg->project_domain, sizeof(cfg->project_domain), "Default");
	if (gethostname(cfg->host, sizeof(cfg->host)) != 0 || !cfg->host[0])
		snprintf(cfg->host, sizeof(cfg->host), "localhost");
	cfg->host[sizeof(cfg->host) - 1] = '\0';
	snprintf(cfg->libvirt_uri, sizeof(cfg->libvirt_uri), "test:///default");
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "var-compute");
	cfg->fake_vcpus = 16;
	cfg->fake_ram_mb = 32768;
	cfg->fake_disk_gb = 1000;
	cfg->heartbeat_s = 10;
	cfg->poll_wait_s = 20;
	cfg->max_concurrent_tasks = 4;
	snprintf(cfg->virt_type, sizeof(cfg->virt_type), "auto");
	cfg->kvm_probe_timeout_s = 20;
	cfg->kvm_guard_silence_s = 60;
	snprintf(cfg->network_mode, sizeof(cfg->network_mode), "nat");
	snprintf(cfg->network_name, sizeof(cfg->network_name), "novalite");
	snprintf(cfg->vnc_listen, sizeof(cfg->vnc_listen), "127.0.0.1");
	cfg->shutdown_timeout_s = 60;
	cfg->sync_interval_s = 60;
	cfg->image_cache_sweep_s = 2400;
	cfg->image_cache_min_age_s = 86400;
}

/* ---- talking to the API --------------------------------------------------------------------- */

static void outage_begin(struct agent *a, const struct nl_error *err)
{
	if (!a->outage) {
		a->outage = true;
		a->outage_since_ms = now_ms();
		a->backoff_ms = BACKOFF_MIN_MS;
		log_warn("the API is unreachable (%s); retrying with back-off until it answers", err->msg);
	}
	pthread_mutex_lock(&ctl.mu);
	ctl.err = *err;
	pthread_mutex_unlock(&ctl.mu);
}

static void outage_end(struct agent *a)
{
	if (a->outage)
		log_info("the API answers again (after %lld s)", (now_ms() - a->outage_since_ms) / 1000);
	a->outage = false;
	a->backoff_ms = BACKOFF_MIN_MS;
}

/* Sleeps the current back-off and doubles it. false when the agent is stopping. */
static bool back_off(struct agent *a)
{
	long ms = a->backoff_ms;
	a->backoff_ms = ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
	return http_sleep(a->http, ms) == 0;
}

/* One request, retried while the API is unreachable (no answer, or 502/503/504 from a
 * proxy or a restarting API). Returns the HTTP status, or HTTP_CANCELLED. */
static int api_call(struct agent *a, const char *method, const char *path, json_t *body, long timeout_s,
		    json_t **resp, struct nl_error *err)
{
	for (;;) {
		int st = http_request(a->http, method, path, body, timeout_s, resp, err);
		if (st == HTTP_CANCELLED)
			return st;
		if (st != HTTP_UNREACHABLE && st != 502 && st != 503 && st != 504) {
			outage_end(a);
			return st;
		}
		if (resp) {
			json_decref(*resp);
			*resp = NULL;
		}
		outage_begin(a, err);
		if (!back_off(a))
			return HTTP_CANCELLED;
	}
}

/* ---- hosts ---------------------------------------------------------------------------------- */

static json_t *cpu_info_json(const struct virt_cpu_info *cpu)
{
	return json_pack("{s:s, s:s, s:s, s:{s:i, s:i, s:i}, s:I, s:[]}", "arch", cpu->arch, "model", cpu->model,
			 "vendor", cpu->vendor, "topology", "sockets", cpu->sockets, "cores", cpu->cores, "threads",
			 cpu->threads, "mhz", (json_int_t)cpu->mhz, "features");
}

/* POST /internal/v1/hosts for one host. 0, 1 when stopping, -1 with err when refused. */
static int register_host(struct agent *a, struct agent_host *h, struct nl_error *err)
{
	struct virt_host_info hi;
	json_t *resp = NULL;

	if (a->drv->host_info(h->conn, &hi, err))
		return -1;
	json_t *body = json_pack("{s:{s:s, s:s, s:s, s:s, s:I, s:s, s:i, s:I, s:I, s:o, s:s}}", "host", "host",
				 h->name, "agent", a->name, "hypervisor_hostname", hi.hypervisor_hostname,
				 "hypervisor_type", hi.hypervisor_type, "hypervisor_version",
				 (json_int_t)hi.hypervisor_version, "arch", hi.arch, "vcpus", hi.vcpus, "memory_mb",
				 (json_int_t)hi.memory_mb, "local_gb", (json_int_t)hi.local_gb, "cpu_info",
				 cpu_info_json(&hi.cpu), "host_ip", a->host_ip);
	/* A KVM guard mark (kvm_guard.h) is shown to admins: os-hypervisors' cpu_info carries
	 * it as "kvm_broken" (the reason and when), beside hypervisor_type QEMU. */
	char broken[512];
	if (body && virt_probe_broken(a->cfg.state_dir, broken, sizeof(broken)) == 1)
		json_object_set_new(json_object_get(json_object_get(body, "host"), "cpu_info"), "kvm_broken",
				    json_string(broken));
	/* Where this host's guests' VNC servers listen: the API accepts console addresses
	 * there (or on loopback) only. An IP literal; a name is not registered. */
	unsigned char vnc_ip[16];
	if (body && (inet_pton(AF_INET, a->cfg.vnc_listen, vnc_ip) == 1 || inet_pton(AF_INET6, a->cfg.vnc_listen, vnc_ip) == 1))
		json_object_set_new(json_object_get(body, "host"), "vnc_listen", json_string(a->cfg.vnc_listen));
	int st = api_call(a, "POST", "/internal/v1/hosts", body, REQUEST_TIMEOUT_S, &resp, err);
	json_decref(body);
	if (st == HTTP_CANCELLED)
		return 1;
	if (st != 200 && st != 201) {
		json_decref(resp);
		if (st < 400)
			nl_err_set(err, 502, "Registering host %s: unexpected HTTP %d from the API.", h->name, st);
		return -1;
	}
	json_t *jh = json_object_get(resp, "host");
	log_info("host %s registered (id %lld, %s %llu, %d vCPUs, %lld MB, %lld GB%s)", h->name,
		 (long long)json_integer_value(json_object_get(jh, "id")), hi.hypervisor_type, hi.hypervisor_version,
		 hi.vcpus, hi.memory_mb, hi.local_gb,
		 json_is_true(json_object_get(jh, "disabled")) ? ", disabled" : "");
	json_decref(resp);
	return 0;
}

static int register_all(struct agent *a, struct nl_error *err)
{
	for (size_t i = 0; i < a->nhosts; i++) {
		int rc = register_host(a, &a->hosts[i], err);
		if (rc)
			return rc;
	}
	a->last_heartbeat_ms = now_ms();
	return 0;
}

static int host_cmp(const void *x, const void *y)
{
	return strcmp(((const struct agent_host *)x)->name, ((const struct agent_host *)y)->name);
}

static struct agent_host *find_host(struct agent *a, const char *name)
{
	struct agent_host key;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, a->hosts, a->nhosts, sizeof(key), host_cmp);
}

/* ---- instances ---------------------------------------------------------------------------- */

static void copy_str(json_t *obj, const char *key, char *out, size_t len)
{
	const char *s = json_string_value(json_object_get(obj, key));
	snprintf(out, len, "%s", s ? s : "");
}

/* The driver's view of a protocol INSTANCE. false when it has no usable uuid or id. */
static bool parse_instance(json_t *j, struct virt_instance *inst)
{
	memset(inst, 0, sizeof(*inst));
	copy_str(j, "uuid", inst->uuid, sizeof(inst->uuid));
	inst->id = json_integer_value(json_object_get(j, "id"));
	copy_str(j, "hostname", inst->hostname, sizeof(inst->hostname));
	copy_str(j, "display_name", inst->display_name, sizeof(inst->display_name));
	copy_str(j, "project_id", inst->project_id, sizeof(inst->project_id));
	copy_str(j, "user_id", inst->user_id, sizeof(inst->user_id));
	copy_str(j, "flavor_name", inst->flavor_name, sizeof(inst->flavor_name));
	copy_str(j, "fixed_ip", inst->fixed_ip, sizeof(inst->fixed_ip));
	copy_str(j, "mac_address", inst->mac_address, sizeof(inst->mac_address));
	inst->vcpus = (int)json_integer_value(json_object_get(j, "vcpus"));
	inst->memory_mb = json_integer_value(json_object_get(j, "memory_mb"));
	inst->root_gb = json_integer_value(json_object_get(j, "root_gb"));
	copy_str(j, "image_ref", inst->image_ref, sizeof(inst->image_ref));
	copy_str(j, "availability_zone", inst->availability_zone, sizeof(inst->availability_zone));
	inst->launch_index = (int)json_integer_value(json_object_get(j, "launch_index"));
	inst->config_drive = json_is_true(json_object_get(j, "config_drive"));
	inst->key_name = json_string_value(json_object_get(j, "key_name"));
	inst->key_data = json_string_value(json_object_get(j, "key_data"));
	inst->user_data_b64 = json_string_value(json_object_get(j, "user_data"));
	inst->metadata = json_object_get(j, "metadata");
	inst->image_properties = json_object_get(j, "image_properties");
	virt_instance_set_name(inst);
	return inst->id > 0 && strlen(inst->uuid) == VIRT_UUID_LEN;
}

/* Power state for a result or a report: a missing domain is NOSTATE, as Nova says. */
static int power_state(struct agent *a, struct agent_host *h, const char *uuid)
{
	struct nl_error err = { 0 };
	int st = VIRT_POWER_NOSTATE;
	if (!a->drv->get_power_state || a->drv->get_power_state(h->conn, uuid, &st, &err))
		return -1;
	return st == VIRT_POWER_MISSING ? VIRT_POWER_NOSTATE : st;
}

static bool is(const char *s, const char *a, const char *b, const char *c)
{
	return !strcmp(s, a) || (b && !strcmp(s, b)) || (c && !strcmp(s, c));
}

/* Rebuilds a missing domain in the state vm_state describes (the fake loses every domain
 * when the agent restarts). Returns 1 for states that have no domain to rebuild: building
 * (its build task is queued), error (the build may never have reached the hypervisor). */
static int restore_domain(struct agent *a, struct agent_host *h, const struct virt_instance *inst,
			  const char *vm_state, struct nl_error *err)
{
	const struct virt_driver *d = a->drv;
	if (is(vm_state, "active", "rescued", "resized"))
		return d->spawn(h->conn, inst, err);
	if (is(vm_state, "paused", NULL, NULL))
		return d->spawn(h->conn, inst, err) ? -1 : d->pause(h->conn, inst, err);
	if (is(vm_state, "suspended", NULL, NULL))
		return d->spawn(h->conn, inst, err) ? -1 : d->suspend(h->conn, inst, err);
	if (is(vm_state, "stopped", "soft-delete", "shelved"))
		return d->power_off(h->conn, inst, err);   /* defined, not running */
	return 1;
}

/* The image cache sweep keeps the bases of every instance the API says this agent runs. */
static void note_image_in_use(struct agent *a, const char *image_ref)
{
	if (!image_ref[0])
		return;
	for (size_t i = 0; i < a->nimages_in_use; i++)
		if (!strcmp(a->images_in_use[i], image_ref))
			return;
	a->images_in_use = nl_realloc(a->images_in_use, (a->nimages_in_use + 1) * sizeof(char *));
	a->images_in_use[a->nimages_in_use++] = nl_strdup(image_ref);
}

static bool listed(char (*uuids)[VIRT_UUID_LEN + 1], size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(uuids[i], uuid))
			return true;
	return false;
}

static void report_power(struct agent *a, const struct virt_instance *inst, int power)
{
	char path[128];
	struct nl_error err = { 0 };
	json_t *body = json_pack("{s:i}", "power_state", power);
	snprintf(path, sizeof(path), "/internal/v1/instances/%s/power_state", inst->uuid);
	int st = api_call(a, "PUT", path, body, REQUEST_TIMEOUT_S, NULL, &err);
	json_decref(body);
	if (st >= 300)
		log_warn("power state report for %s: %s", inst->uuid, err.msg);
}

/* Makes host h match the API: missing domains rebuilt, orphans removed, drift reported.
 * Failures are logged and skipped: one bad instance must not keep the host from serving. */
static void reconcile_host(struct agent *a, struct agent_host *h, unsigned long long since)
{
	char path[400], esc[400];
	struct nl_error err = { 0 };
	json_t *resp = NULL, *j;
	char (*uuids)[VIRT_UUID_LEN + 1] = NULL;
	size_t ndom = 0, i, restored = 0, orphans = 0, drift = 0;

	const struct virt_driver *d = a->drv;
	if (!d->list_domains || !d->spawn || !d->power_off || !d->pause || !d->suspend || !d->destroy) {
		log_warn("reconcile of host %s skipped: the %s driver cannot do it", h->name, d->name);
		return;
	}
	http_path_escape(h->name, esc, sizeof(esc));
	snprintf(path, sizeof(path), "/internal/v1/hosts/%s/instances", esc);
	int st = api_call(a, "GET", path, NULL, REQUEST_TIMEOUT_S, &resp, &err);
	json_t *list = json_object_get(resp, "instances");
	if (st != 200 || !json_is_array(list)) {
		if (st != HTTP_CANCELLED)
			log_warn("reconcile of host %s skipped: %s", h->name, st == 200 ? "no instance list" : err.msg);
		json_decref(resp);
		return;
	}
	if (a->drv->list_domains(h->conn, &uuids, &ndom, &err)) {
		log_warn("reconcile of host %s skipped: %s", h->name, err.msg);
		json_decref(resp);
		return;
	}
	json_array_foreach(list, i, j) {
		struct virt_instance inst;
		const char *vm = json_string_value(json_object_get(j, "vm_state"));
		const char *task = json_string_value(json_object_get(j, "task_state"));
		if (!parse_instance(j, &inst) || !vm)
			continue;
		note_image_in_use(a, inst.image_ref);
		/* A task of it runs, waits, or came after the list: the list is stale for it. */
		if (!agent_pool_try_hold(a->pool, inst.uuid, since))
			continue;
		memset(&err, 0, sizeof(err));
		if (!listed(uuids, ndom, inst.uuid) && !(task && !strcmp(task, "deleting"))) {
			int rc = restore_domain(a, h, &inst, vm, &err);
			if (rc < 0)
				log_warn("host %s: cannot restore %s (%s): %s", h->name, inst.uuid, vm, err.msg);
			restored += rc == 0;
		}
		int power = power_state(a, h, inst.uuid);
		if (!task && !strcmp(vm, "stopped") && (power == VIRT_POWER_RUNNING || power == VIRT_POWER_PAUSED)) {
			/* Nova's power sync stops a stopped server found running: so do we. */
			log_info("host %s: %s is stopped but its domain runs: stopping it", h->name, inst.uuid);
			if (a->drv->power_off(h->conn, &inst, &err))
				log_warn("host %s: cannot stop %s: %s", h->name, inst.uuid, err.msg);
			power = power_state(a, h, inst.uuid);
		}
		/* The API ignores reports while a task is in flight: skip those. */
		if (!task && power >= 0 && power != json_integer_value(json_object_get(j, "power_state"))) {
			report_power(a, &inst, power);
			drift++;
		}
		agent_pool_release(a->pool, inst.uuid);
	}
	for (i = 0; i < ndom; i++) {
		bool known = false;
		size_t k;
		json_array_foreach(list, k, j) {
			const char *u = json_string_value(json_object_get(j, "uuid"));
			if (u && !strcmp(u, uuids[i])) {
				known = true;
				break;
			}
		}
		/* A build leased after the list was read is no orphan. */
		if (known || !agent_pool_try_hold(a->pool, uuids[i], since))
			continue;
		struct virt_instance orphan = { 0 };
		snprintf(orphan.uuid, sizeof(orphan.uuid), "%s", uuids[i]);
		snprintf(orphan.name, sizeof(orphan.name), "orphan");
		memset(&err, 0, sizeof(err));
		if (a->drv->destroy(h->conn, &orphan, &err))
			log_warn("host %s: cannot remove orphan domain %s: %s", h->name, uuids[i], err.msg);
		else
			orphans++;
		agent_pool_release(a->pool, uuids[i]);
	}
	free(uuids);
	if (restored || orphans || drift)
		log_info("host %s reconciled: %zu instances, %zu domains restored, %zu orphans removed, "
			 "%zu power states reported", h->name, json_array_size(list), restored, orphans, drift);
	json_decref(resp);
}

static void forget_images_in_use(struct agent *a)
{
	for (size_t i = 0; i < a->nimages_in_use; i++)
		free(a->images_in_use[i]);
	free(a->images_in_use);
	a->images_in_use = NULL;
	a->nimages_in_use = 0;
}

/* Runs on the dispatcher while workers run tasks: each instance is held in the pool while
 * it is looked at, and one leased after its host's list was read is left alone. */
static void reconcile_all(struct agent *a)
{
	forget_images_in_use(a);   /* the list is the dispatcher's: the sweep runs here too */
	agent_pool_reconcile_begin(a->pool);
	for (size_t i = 0; i < a->nhosts && !stopping(); i++)
		reconcile_host(a, &a->hosts[i], agent_pool_lease_seq(a->pool));
	agent_pool_reconcile_end(a->pool);
	a->last_reconcile_ms = now_ms();
}

/* ---- tasks -------------------------------------------------------------------------------- */

typedef int (*virt_op)(struct virt_conn *c, const struct virt_instance *inst, struct nl_error *err);

/* The driver entry of a task kind (NULL: unsupported by this driver); reboots, which take
 * a flag, are handled by the caller. *known is false for a kind the protocol lacks. */
static virt_op op_of(const struct virt_driver *d, const char *kind, bool *known)
{
	const struct { const char *kind; virt_op op; } ops[] = {
		{ "build", d->spawn }, { "delete", d->destroy }, { "stop", d->power_off },
		{ "start", d->power_on }, { "pause", d->pause }, { "unpause", d->unpause },
		{ "suspend", d->suspend }, { "resume", d->resume },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].kind, kind)) {
			*known = true;
			return ops[i].op;
		}
	*known = false;
	return NULL;
}

/* Runs one task kind through the driver of its host. */
static int run_kind(const struct virt_driver *d, struct virt_conn *c, const char *kind,
		    const struct virt_instance *inst, struct nl_error *err)
{
	bool known, reboot = !strcmp(kind, "reboot_soft") || !strcmp(kind, "reboot_hard");
	virt_op op = reboot ? NULL : op_of(d, kind, &known);

	if (reboot && d->reboot)
		return d->reboot(c, inst, !strcmp(kind, "reboot_hard"), err);
	if (op)
		return op(c, inst, err);
	if (reboot || known)
		nl_err_set(err, 501, "This hypervisor does not support the task '%s'.", kind);
	else
		nl_err_set(err, 400, "Unknown task kind '%s'.", kind);
	return -1;
}

/* The tail of the console text, cut at a UTF-8 character boundary. */
static const char *console_tail(const char *text)
{
	size_t n = strlen(text);
	if (n <= CONSOLE_MAX)
		return text;
	text += n - CONSOLE_MAX;
	while ((*text & 0xC0) == 0x80)
		text++;
	return text;
}

/* One worker: its own HTTP client (a client serves one thread). */
struct worker {
	struct agent *a;
	struct http_client *http;
};

/* The body of POST /internal/v1/tasks/{id} (new reference). */
static json_t *result_body(bool ok, int power, const char *message, const char *console,
			   const char *console_address)
{
	json_t *result = json_pack("{s:s}", "status", ok ? "done" : "failed");
	if (power >= 0)
		json_object_set_new(result, "power_state", json_integer(power));
	/* json_string() refuses invalid UTF-8 (a hypervisor message could carry some). */
	if (!ok) {
		json_t *m = json_string(message);
		json_object_set_new(result, "message",
				    m ? m : json_string("The hypervisor reported an error that is not valid UTF-8."));
	}
	json_t *text = console ? json_string(console_tail(console)) : NULL;
	if (text)
		json_object_set_new(result, "console", text);
	if (console_address)
		json_object_set_new(result, "console_address",
				    console_address[0] ? json_string(console_address) : json_null());
	return json_pack("{s:o}", "result", result);
}

/* The pool's post(): one attempt. The API not answering, a 5xx (its disk is full, its
 * database is locked...), 408 and 429 are worth another try later; 2xx is done, and any
 * other answer (404: the task is no longer expected) will not change by trying again. */
static enum pool_post post_result(void *arg, void *wp, long long id, json_t *body, int attempt)
{
	struct worker *w = wp;
	char path[64];
	struct nl_error err = { 0 };
	(void)arg;
	snprintf(path, sizeof(path), "/internal/v1/tasks/%lld", id);
	int st = http_request(w->http, "POST", path, body, REQUEST_TIMEOUT_S, NULL, &err);
	if (st == HTTP_CANCELLED) {
		log_info("task %lld: result not delivered, the agent is stopping (the task will run again)", id);
		return POOL_CANCELLED;
	}
	if (st >= 200 && st < 300) {
		if (attempt > 1)
			log_info("task %lld: result delivered at attempt %d", id, attempt);
		return POOL_POSTED;
	}
	if (st == HTTP_UNREACHABLE || st >= 500 || st == 408 || st == 429) {
		if (attempt == 1)
			log_warn("task %lld: result not taken (%s); posting it again with back-off until the API "
				 "takes it (this instance's next task waits)", id, err.msg);
		else
			log_debug("task %lld: result not taken at attempt %d (%s)", id, attempt, err.msg);
		return POOL_RETRY;
	}
	if (st == 404)
		log_info("task %lld: the API no longer expects its result (%s)", id, err.msg);
	else
		log_warn("task %lld: result refused for good: %s", id, st >= 400 ? err.msg : "unexpected answer");
	return POOL_POSTED;
}

/* Build on a hypervisor with disks: the image's base must be in the local cache first.
 * One fetch at a time (image_mu): builds of the same image wait for the first download
 * and then find it cached; the sweep never runs during a fetch, and a fetch marks the
 * base used (mtime), so the sweep's minimum age keeps it for the build that follows. */
static int fetch_image(struct agent *a, struct http_client *http, struct agent_host *h, struct virt_instance *inst,
		       struct nl_error *err)
{
	struct image_base base;
	if (!a->drv->needs_image || !a->drv->needs_image(h->conn))
		return 0;
	if (!inst->image_ref[0]) {
		nl_err_set(err, 400, "Instance %s has no image to boot from.", inst->uuid);
		return -1;
	}
	pthread_mutex_lock(&a->image_mu);
	int rc = image_cache_fetch(http, a->image_cache_dir, inst->image_ref, &base, err);
	pthread_mutex_unlock(&a->image_mu);
	if (rc)
		return -1;
	snprintf(inst->base_path, sizeof(inst->base_path), "%s", base.path);
	snprintf(inst->base_format, sizeof(inst->base_format), "%s", base.format);
	inst->base_virtual_size = base.virtual_size;
	return 0;
}

/* Snapshot: the driver writes a qcow2 copy of the root disk, which is uploaded to the
 * image the API created (params.image_id) with this agent's service token. */
static int snapshot(struct agent *a, struct http_client *http, struct agent_host *h,
		    const struct virt_instance *inst, json_t *params, struct nl_error *err)
{
	char path[700], url[600];
	const char *image_id = json_string_value(json_object_get(params, "image_id"));
	if (!a->drv->snapshot) {
		nl_err_set(err, 501, "This hypervisor does not support the task 'snapshot'.");
		return -1;
	}
	if (!image_id || strlen(image_id) != 36 || strspn(image_id, "0123456789abcdef-") != 36) {
		nl_err_set(err, 400, "The snapshot task names no image.");
		return -1;
	}
	const char *base = http_image_url(http, err);
	if (!base)
		return -1;
	snprintf(path, sizeof(path), "%s/snapshot-%s.qcow2", a->cfg.state_dir, image_id);
	unlink(path);
	if (a->drv->snapshot(h->conn, inst, path, err))
		return -1;
	int rc = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		nl_err_set(err, 500, "Cannot read the snapshot %s: %s.", path, strerror(errno));
	} else {
		snprintf(url, sizeof(url), "%s/v2/images/%s/file", base, image_id);
		int code = http_upload(http, url, fd, (long long)st.st_size, "application/octet-stream", err);
		if (code == 204 || code == 200 || code == 201) {
			log_info("snapshot of %s uploaded to image %s (%lld bytes)", inst->uuid, image_id,
				 (long long)st.st_size);
			rc = 0;
		} else if (code >= 0 && code < 400) {
			nl_err_set(err, 502, "The image service answered %d to the snapshot upload.", code);
		}
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	return rc;
}

/* Task kinds after which the guest runs with a (possibly new) VNC port. */
static bool starts_guest(const char *kind)
{
	return is(kind, "build", "start", "resume") || is(kind, "unpause", "reboot_soft", "reboot_hard");
}

/* The pool's run(): one task through the driver of its host, on a worker thread; the
 * pool holds the instance meanwhile, so nothing else touches it. Returns the result. */
static json_t *run_task(void *arg, void *wp, json_t *task, long long *idp)
{
	struct worker *w = wp;
	struct agent *a = arg;
	long long id = *idp;
	const char *kind = json_string_value(json_object_get(task, "kind"));
	const char *host = json_string_value(json_object_get(task, "host"));
	struct virt_instance inst;
	struct nl_error err = { 0 };
	struct agent_host *h = host ? find_host(a, host) : NULL;
	int rc = -1, power = -1;
	char *console = NULL, vnc[300] = "";
	bool send_vnc = false;

	kind = kind ? kind : "";
	if (!parse_instance(json_object_get(task, "instance"), &inst))
		nl_err_set(&err, 400, "Task %lld carries no valid instance.", id);
	else if (!h)
		nl_err_set(&err, 400, "Host %s is not served by agent %s.", host ? host : "(none)", a->name);
	else if (!strcmp(kind, "snapshot"))
		rc = snapshot(a, w->http, h, &inst, json_object_get(task, "params"), &err);
	else if (!strcmp(kind, "build") && fetch_image(a, w->http, h, &inst, &err))
		rc = -1;
	else
		rc = run_kind(a->drv, h->conn, kind, &inst, &err);
	if (h && inst.uuid[0]) {
		power = power_state(a, h, inst.uuid);
		if (a->drv->console_text)
			console = a->drv->console_text(h->conn, &inst);
		if (rc == 0 && a->drv->console_address && starts_guest(kind)) {
			a->drv->console_address(h->conn, &inst, vnc, sizeof(vnc));
			send_vnc = true;
		}
	}
	if (rc == 0)
		log_info("task %lld %s %s on %s: done (power state %d)", id, kind, inst.uuid, h->name, power);
	else
		log_warn("task %lld %s %s on %s: failed: %s", id, kind, inst.uuid, host ? host : "?", err.msg);
	json_t *body = result_body(rc == 0, power, err.msg, console, send_vnc ? vnc : NULL);
	free(console);
	return body;
}

static void *worker_new(void *arg, int index)
{
	struct agent *a = arg;
	struct nl_error err = { 0 };
	struct http_credentials cred = {
		.auth_url = a->cfg.auth_url, .username = a->cfg.username, .password = a->cfg.password,
		.project_name = a->cfg.project_name, .user_domain = a->cfg.user_domain,
		.project_domain = a->cfg.project_domain,
	};
	struct worker *w = nl_calloc(1, sizeof(*w));
	w->a = a;
	if (!(w->http = http_client_new(a->cfg.api_url, &cred, &err))) {
		log_error("task worker %d cannot start: %s", index, err.msg);
		free(w);
		return NULL;
	}
	return w;
}

static void worker_free(void *arg, void *wp)
{
	struct worker *w = wp;
	(void)arg;
	http_client_free(w->http);
	free(w);
}

static void worker_cancel(void *arg, void *wp)
{
	(void)arg;
	http_client_cancel(((struct worker *)wp)->http);
}

/* Queues one leased task on its instance's lane. */
static void submit_task(struct agent *a, json_t *t)
{
	json_t *jid = json_object_get(t, "id");
	char key[64];
	if (!json_is_integer(jid)) {
		log_warn("a task without an id was dropped");
		return;
	}
	long long id = json_integer_value(jid);
	const char *uuid = json_string_value(json_object_get(json_object_get(t, "instance"), "uuid"));
	/* A task without a usable instance still gets its "failed" result, on a lane of its own. */
	if (uuid && strlen(uuid) == VIRT_UUID_LEN)
		snprintf(key, sizeof(key), "%s", uuid);
	else
		snprintf(key, sizeof(key), "task-%lld", id);
	agent_pool_submit(a->pool, key, id, json_incref(t));
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void heartbeat(struct agent *a)
{
	char path[400], esc[300];
	struct nl_error err = { 0 };
	http_path_escape(a->name, esc, sizeof(esc));
	snprintf(path, sizeof(path), "/internal/v1/agents/%s/heartbeat", esc);
	int st = api_call(a, "POST", path, NULL, REQUEST_TIMEOUT_S, NULL, &err);
	a->last_heartbeat_ms = now_ms();
	if (st == 404) {
		/* The API forgot our hosts (deleted service, new database): introduce them again. */
		log_warn("the API does not know agent %s any more: registering again", a->name);
		if (register_all(a, &err) < 0)
			log_error("registering again failed: %s", err.msg);
		else
			reconcile_all(a);
	} else if (st >= 300) {
		log_warn("heartbeat: %s", err.msg);
	}
}

/* Nova's periodic tasks, reduced: a reconcile (power-state sync and lost domains) every
 * sync_interval_s, and the image cache sweep every image_cache_sweep_s. */
static void periodic(struct agent *a)
{
	long long now = now_ms();
	if (a->cfg.sync_interval_s > 0 && now - a->last_reconcile_ms >= a->cfg.sync_interval_s * 1000LL)
		reconcile_all(a);
	if (a->image_cache_dir[0] && a->cfg.image_cache_sweep_s > 0 &&
	    now - a->last_sweep_ms >= a->cfg.image_cache_sweep_s * 1000LL) {
		a->last_sweep_ms = now;
		pthread_mutex_lock(&a->image_mu);
		int n = image_cache_sweep(a->image_cache_dir, (const char *const *)a->images_in_use, a->nimages_in_use,
					  a->cfg.image_cache_min_age_s);
		pthread_mutex_unlock(&a->image_mu);
		if (n)
			log_info("image cache: %d unused base(s) removed", n);
	}
}

static void serve(struct agent *a)
{
	char path[400], esc[300];
	long refused_ms = BACKOFF_MIN_MS;   /* back-off while the API answers but refuses */
	/* A poll counts as a heartbeat: never wait longer than the heartbeat interval. */
	int wait = a->cfg.poll_wait_s < a->cfg.heartbeat_s ? a->cfg.poll_wait_s : a->cfg.heartbeat_s;
	wait = wait < 1 ? 1 : wait > 30 ? 30 : wait;

	http_path_escape(a->name, esc, sizeof(esc));
	snprintf(path, sizeof(path), "/internal/v1/agents/%s/tasks?wait=%d", esc, wait);
	while (!stopping()) {
		struct nl_error err = { 0 };
		json_t *resp = NULL, *t;
		size_t i;

		if (now_ms() - a->last_heartbeat_ms >= a->cfg.heartbeat_s * 1000LL)
			heartbeat(a);
		if (agent_watch_take_reregister(a->watch) && register_all(a, &(struct nl_error){ 0 }) < 0)
			log_error("registering the hosts again after the KVM guard switched to TCG failed");
		periodic(a);
		int st = api_call(a, "GET", path, NULL, wait + POLL_GRACE_S, &resp, &err);
		if (st == HTTP_CANCELLED)
			break;
		json_t *tasks = json_object_get(resp, "tasks");
		if (st == 200 && json_is_array(tasks)) {
			refused_ms = BACKOFF_MIN_MS;
			json_array_foreach(tasks, i, t)
				submit_task(a, t);
			json_decref(resp);
			continue;
		}
		json_decref(resp);
		/* 401/403/500...: the API answers but refuses. Say so, then wait longer each time. */
		log_warn("task poll: %s (next try in %ld s)", st == 200 ? "the answer has no task list" : err.msg,
			 refused_ms / 1000);
		if (http_sleep(a->http, refused_ms))
			break;
		refused_ms = refused_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : refused_ms * 2;
	}
}

/* ---- set-up and tear-down ---------------------------------------------------------------------- */

static void agent_free(struct agent *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nhosts; i++)
		a->drv->close(a->hosts[i].conn);
	free(a->hosts);
	http_client_free(a->http);
	forget_images_in_use(a);
	pthread_mutex_destroy(&a->image_mu);
	explicit_bzero(a->cfg.password, sizeof(a->cfg.password));
	free(a);
}

/* Checks the config, prepares the state dir and opens every host's connection. */
static struct agent *agent_new(const struct agent_config *cfg, struct nl_error *err)
{
	char abs_dir[PATH_MAX];
	struct agent *a = nl_calloc(1, sizeof(*a));

	pthread_mutex_init(&a->image_mu, NULL);
	a->cfg = *cfg;
	if (a->cfg.max_concurrent_tasks <= 0)
		a->cfg.max_concurrent_tasks = 4;
	if (a->cfg.heartbeat_s <= 0)
		a->cfg.heartbeat_s = 10;
	if (a->cfg.poll_wait_s <= 0)
		a->cfg.poll_wait_s = 20;
	a->backoff_ms = BACKOFF_MIN_MS;
	snprintf(a->name, sizeof(a->name), "%s", cfg->agent_name[0] ? cfg->agent_name : cfg->host);
	bool fake_uri = !strncmp(cfg->libvirt_uri, "test://", 7);
	if (!cfg->api_url[0] || !cfg->host[0] || !a->name[0]) {
		nl_err_set(err, 400, "The agent needs an API URL, a host name and an agent name.");
		goto fail;
	}
	if (cfg->fake_hosts < 0 || (cfg->fake_hosts > 0 && !fake_uri)) {
		nl_err_set(err, 400, "fake_hosts needs the fake hypervisor (libvirt URI test:///default) and must "
				     "not be negative.");
		goto fail;
	}
	if (mkdir(cfg->state_dir, 0700) && errno != EEXIST) {
		nl_err_set(err, 500, "Cannot create the state directory %s: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
	if (!realpath(cfg->state_dir, abs_dir)) {
		nl_err_set(err, 500, "Cannot resolve the state directory %s: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
	snprintf(a->cfg.state_dir, sizeof(a->cfg.state_dir), "%s", abs_dir);
	a->drv = virt_driver_for_uri(cfg->libvirt_uri);

	a->nhosts = cfg->fake_hosts > 0 ? (size_t)cfg->fake_hosts : 1;
	a->hosts = nl_calloc(a->nhosts, sizeof(*a->hosts));
	for (size_t i = 0; i < a->nhosts; i++) {
		struct agent_host *h = &a->hosts[i];
		int n = cfg->fake_hosts > 0 ? snprintf(h->name, sizeof(h->name), "%s%04zu", cfg->host, i + 1)
					    : snprintf(h->name, sizeof(h->name), "%s", cfg->host);
		if (n >= (int)sizeof(h->name)) {
			nl_err_set(err, 400, "The host name %s is too long.", cfg->host);
			goto fail;
		}
		struct virt_host_config hc = {
			.uri = cfg->libvirt_uri, .host = h->name, .state_dir = a->cfg.state_dir,
			.fake_vcpus = cfg->fake_vcpus, .fake_ram_mb = cfg->fake_ram_mb,
			.fake_disk_gb = cfg->fake_disk_gb, .fake_spawn_delay_ms = cfg->fake_spawn_delay_ms,
			.fake_stop_delay_ms = cfg->fake_stop_delay_ms,
			.virt_type = cfg->virt_type, .network_mode = cfg->network_mode,
			.network_name = cfg->network_name, .network_bridge = cfg->network_bridge,
			.vnc_listen = cfg->vnc_listen, .shutdown_timeout_s = cfg->shutdown_timeout_s,
			.kvm_probe_kernel = cfg->kvm_probe_kernel, .kvm_probe_timeout_s = cfg->kvm_probe_timeout_s,
			.kvm_guard_silence_s = cfg->kvm_guard_silence_s,
		};
		if (!(h->conn = a->drv->open(&hc, err)))
			goto fail;
	}
	qsort(a->hosts, a->nhosts, sizeof(*a->hosts), host_cmp);
	if (a->drv->needs_image && a->drv->needs_image(a->hosts[0].conn)) {
		snprintf(a->image_cache_dir, sizeof(a->image_cache_dir), "%s/images", a->cfg.state_dir);
		a->last_sweep_ms = now_ms();   /* the first sweep after one interval, not at start */
	}

	if (http_route_ip(cfg->api_url, a->host_ip, sizeof(a->host_ip)))
		snprintf(a->host_ip, sizeof(a->host_ip), "127.0.0.1");
	struct http_credentials cred = {
		.auth_url = cfg->auth_url, .username = cfg->username, .password = cfg->password,
		.project_name = cfg->project_name, .user_domain = cfg->user_domain,
		.project_domain = cfg->project_domain,
	};
	if (!(a->http = http_client_new(cfg->api_url, &cred, err)))
		goto fail;
	return a;
fail:
	agent_free(a);
	return NULL;
}

/* Real guests change between tasks: watch them (agent_watch.h). The fake does not. */
static void start_watch(struct agent *a)
{
	struct nl_error err = { 0 };
	if (!a->image_cache_dir[0])
		return;
	struct watch_host *wh = nl_calloc(a->nhosts, sizeof(*wh));
	for (size_t i = 0; i < a->nhosts; i++)
		wh[i] = (struct watch_host){ a->hosts[i].name, a->hosts[i].conn };
	struct http_credentials cred = {
		.auth_url = a->cfg.auth_url, .username = a->cfg.username, .password = a->cfg.password,
		.project_name = a->cfg.project_name, .user_domain = a->cfg.user_domain,
		.project_domain = a->cfg.project_domain,
	};
	a->watch = agent_watch_start(a->drv, wh, a->nhosts, a->pool, a->cfg.api_url, &cred, &err);
	if (!a->watch)
		log_error("lifecycle events and console shipping are off: %s", err.msg);
	free(wh);
}

static void set_state(int state)
{
	pthread_mutex_lock(&ctl.mu);
	ctl.state = state;
	pthread_cond_broadcast(&ctl.cv);
	pthread_mutex_unlock(&ctl.mu);
}

int agent_run(const struct agent_config *cfg, struct nl_error *err)
{
	int rc = 0;
	struct agent *a = agent_new(cfg, err);
	if (!a)
		return -1;

	/* Publish the client so agent_stop() can cancel it; a stop that came first wins. */
	pthread_mutex_lock(&ctl.mu);
	ctl.http = a->http;
	if (stopping())
		http_client_cancel(a->http);
	pthread_mutex_unlock(&ctl.mu);

	log_info("agent %s starting: %zu host(s) on %s, API %s", a->name, a->nhosts, cfg->libvirt_uri, cfg->api_url);
	int reg = register_all(a, err);
	if (reg < 0) {
		rc = -1;
	} else if (reg == 0) {
		set_state(RUN_REGISTERED);
		reconcile_all(a);
		const struct agent_pool_ops ops = {
			.arg = a, .worker_new = worker_new, .worker_free = worker_free,
			.worker_cancel = worker_cancel, .run = run_task, .post = post_result,
		};
		if (!(a->pool = agent_pool_start(&ops, a->cfg.max_concurrent_tasks, err))) {
			rc = -1;
		} else {
			start_watch(a);
			log_info("agent %s ready: polling for tasks (%d concurrent tasks at most)", a->name,
				 a->cfg.max_concurrent_tasks);
			serve(a);
			/* The watcher first: it holds instances in the pool. */
			agent_watch_stop(a->watch);
			a->watch = NULL;
			agent_pool_stop(a->pool);
			a->pool = NULL;
		}
	}

	pthread_mutex_lock(&ctl.mu);
	ctl.http = NULL;
	pthread_mutex_unlock(&ctl.mu);
	agent_free(a);
	log_info("agent stopped");
	/* Ready for another run in this process (tests; an API restarted in place). */
	atomic_store(&ctl.stop, false);
	return rc;
}

static void *agent_thread(void *arg)
{
	(void)arg;
	struct nl_error err = { 0 };
	int rc = agent_run(&ctl.cfg, &err);
	pthread_mutex_lock(&ctl.mu);
	if (ctl.state == RUN_STARTING) {
		ctl.state = RUN_FAILED;
		if (rc == 0)
			nl_err_set(&err, 503, "The compute agent stopped before its hosts were registered.");
		ctl.err = err;
		pthread_cond_broadcast(&ctl.cv);
	} else if (rc) {
		log_error("compute agent: %s", err.msg);
	}
	pthread_mutex_unlock(&ctl.mu);
	explicit_bzero(ctl.cfg.password, sizeof(ctl.cfg.password));
	return NULL;
}

int agent_start_thread(const struct agent_config *cfg, struct nl_error *err)
{
	struct timespec deadline;

	pthread_mutex_lock(&ctl.mu);
	if (ctl.thread_running) {
		pthread_mutex_unlock(&ctl.mu);
		nl_err_set(err, 409, "The compute agent is already running.");
		return -1;
	}
	ctl.cfg = *cfg;
	ctl.state = RUN_STARTING;
	memset(&ctl.err, 0, sizeof(ctl.err));
	atomic_store(&ctl.stop, false);
	if (pthread_create(&ctl.thread, NULL, agent_thread, NULL)) {
		pthread_mutex_unlock(&ctl.mu);
		nl_err_set(err, 500, "Cannot start the compute agent thread.");
		return -1;
	}
	ctl.thread_running = true;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += START_TIMEOUT_S;
	while (ctl.state == RUN_STARTING)
		if (pthread_cond_timedwait(&ctl.cv, &ctl.mu, &deadline) == ETIMEDOUT)
			break;
	int state = ctl.state;
	struct nl_error last = ctl.err;
	pthread_mutex_unlock(&ctl.mu);
	if (state == RUN_REGISTERED)
		return 0;
	agent_stop();
	if (state == RUN_FAILED)
		*err = last;
	else
		nl_err_set(err, 503, "The compute agent could not register its hosts within %d s%s%s", START_TIMEOUT_S,
			   last.msg[0] ? ": " : ".", last.msg);
	return -1;
}

void agent_stop(void)
{
	pthread_t thread;
	bool join;

	pthread_mutex_lock(&ctl.mu);
	atomic_store(&ctl.stop, true);
	if (ctl.http)
		http_client_cancel(ctl.http);
	join = ctl.thread_running;
	ctl.thread_running = false;   /* one caller joins */
	thread = ctl.thread;
	pthread_mutex_unlock(&ctl.mu);
	if (join)
		pthread_join(thread, NULL);
}
