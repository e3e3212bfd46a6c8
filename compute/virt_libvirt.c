/* The libvirt virt driver (compute/virt.h) for both hypervisors the agent supports:
 *
 *  - the fake: libvirt's in-process test driver. "test:///default" means one generated
 *    node file per host, STATE/fake-node-<host>.xml, with the configured vCPUs and RAM,
 *    so every host gets its own isolated fake hypervisor (one connection each). The test
 *    driver has no disks and no console: local_gb is the configured size and the console
 *    is a synthetic boot log written here at every boot.
 *  - qemu:///system: host facts from virNodeGetInfo and statvfs(state_dir).
 *
 * Domains are found by the instance uuid (the name instance-%08x is for people). Each
 * operation looks at the domain's state first, so repeating it is harmless. Domain XML is
 * built in compute/domain_xml.c. No HTTP, no JSON here. */
#include "compute/virt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/log.h"
#include "common/util.h"
#include "compute/domain_xml.h"

/* How long power_off waits for a guest to act on the ACPI shutdown before pulling the
 * plug. Nova waits 60 s; tasks run one at a time per agent, so keep it short. */
#define SHUTDOWN_WAIT_MS 10000
/* Pending fake console output per instance is capped: the agent reads it after every
 * task, so only a driver used without an agent could pile it up. */
#define CONSOLE_PENDING_MAX (64 * 1024)

struct fake_console {
	char uuid[VIRT_UUID_LEN + 1];
	struct timespec boot;     /* CLOCK_MONOTONIC at the last boot: the log's uptime */
	char *text;               /* not yet handed out by console_text() */
};

struct virt_conn {
	virConnectPtr conn;
	bool fake;                /* the test driver */
	char host[128];
	char state_dir[512];
	long long fake_disk_gb;
	int fake_spawn_delay_ms;
	char arch[32];
	struct fake_console *consoles;
	size_t nconsoles;
};

void virt_instance_set_name(struct virt_instance *inst)
{
	snprintf(inst->name, sizeof(inst->name), "instance-%08llx", inst->id);
}

/* ---- errors -------------------------------------------------------------------------------- */

/* libvirt prints every error to stderr unless a handler is set; errors are reported
 * through err here, read back with virGetLastErrorMessage() (thread-local). */
static void ignore_libvirt_error(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

static void quiet_libvirt(void)
{
	virSetErrorFunc(NULL, ignore_libvirt_error);
}

/* Sets err to "<what>: <libvirt's message>". */
static int fail_virt(struct nl_error *err, const char *what, const char *name)
{
	nl_err_set(err, 500, "%s %s failed: %s", what, name, virGetLastErrorMessage());
	return -1;
}

/* ---- domain helpers -------------------------------------------------------------------------- */

/* Finds the instance's domain: 0 and *dom (NULL when missing), or -1 with err. */
static int find_domain(struct virt_conn *vc, const char *uuid, virDomainPtr *dom, struct nl_error *err)
{
	*dom = virDomainLookupByUUIDString(vc->conn, uuid);
	if (*dom)
		return 0;
	if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
		return 0;
	return fail_virt(err, "Looking up the domain of instance", uuid);
}

/* libvirt's state, VIR_DOMAIN_NOSTATE when it cannot be read (the caller then just tries). */
static int domain_state(virDomainPtr dom)
{
	int state = VIR_DOMAIN_NOSTATE, reason = 0;
	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		return VIR_DOMAIN_NOSTATE;
	return state;
}

/* nova/virt/libvirt/driver.py LIBVIRT_POWER_STATE. A suspended server (managed save) is
 * shut off for libvirt, so SHUTDOWN, as real Nova shows it; SUSPENDED is the guest's own
 * ACPI sleep (pmsuspended). */
static int power_state_of(virDomainPtr dom)
{
	switch (domain_state(dom)) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED: return VIRT_POWER_RUNNING;
	case VIR_DOMAIN_PAUSED: return VIRT_POWER_PAUSED;
	case VIR_DOMAIN_SHUTDOWN:
	case VIR_DOMAIN_SHUTOFF: return VIRT_POWER_SHUTDOWN;
	case VIR_DOMAIN_CRASHED: return VIRT_POWER_CRASHED;
	case VIR_DOMAIN_PMSUSPENDED: return VIRT_POWER_SUSPENDED;
	default: return VIRT_POWER_NOSTATE;
	}
}

/* Defines (or redefines) the domain from inst. Redefining an existing domain updates its
 * persistent config and keeps it running. */
static virDomainPtr define_domain(struct virt_conn *vc, const struct virt_instance *inst,
				  struct nl_error *err)
{
	char *xml = domain_xml_new(inst, vc->fake ? DOMAIN_TEST : DOMAIN_QEMU, vc->arch);
	virDomainPtr dom = virDomainDefineXML(vc->conn, xml);
	free(xml);
	if (!dom)
		fail_virt(err, "Defining domain", inst->name);
	return dom;
}

/* The instance's domain, defined from inst when missing. */
static virDomainPtr get_or_define(struct virt_conn *vc, const struct virt_instance *inst,
				  struct nl_error *err)
{
	virDomainPtr dom;
	if (find_domain(vc, inst->uuid, &dom, err))
		return NULL;
	return dom ? dom : define_domain(vc, inst, err);
}

/* ---- the fake console -------------------------------------------------------------------------- */

static struct fake_console *console_find(struct virt_conn *vc, const char *uuid, bool create)
{
	for (size_t i = 0; i < vc->nconsoles; i++)
		if (!strcmp(vc->consoles[i].uuid, uuid))
			return &vc->consoles[i];
	if (!create)
		return NULL;
	struct fake_console *grown = realloc(vc->consoles, (vc->nconsoles + 1) * sizeof(*grown));
	if (!grown)
		abort();
	vc->consoles = grown;
	struct fake_console *c = &vc->consoles[vc->nconsoles++];
	memset(c, 0, sizeof(*c));
	snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	clock_gettime(CLOCK_MONOTONIC, &c->boot);
	return c;
}

static void console_forget(struct virt_conn *vc, const char *uuid)
{
	struct fake_console *c = console_find(vc, uuid, false);
	if (!c)
		return;
	free(c->text);
	*c = vc->consoles[--vc->nconsoles];
}

static void console_append(struct fake_console *c, const char *text)
{
	size_t old = c->text ? strlen(c->text) : 0, add = strlen(text);
	if (old + add > CONSOLE_PENDING_MAX) {
		/* nobody is reading: keep the newest output only */
		free(c->text);
		c->text = NULL;
		old = 0;
	}
	char *t = realloc(c->text, old + add + 1);
	if (!t)
		abort();
	memcpy(t + old, text, add + 1);
	c->text = t;
}

/* Uptime for a kernel line: seconds since the last fake boot, plus the 5 s the boot log
 * says the boot took, so later lines never go back in time. */
static double console_uptime(const struct fake_console *c)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - c->boot.tv_sec) + (now.tv_nsec - c->boot.tv_nsec) / 1e9 + 5.0;
}

/* One kernel line ("reboot: Power down") at the current uptime. */
static void console_kernel_line(struct virt_conn *vc, const struct virt_instance *inst, const char *msg)
{
	char line[256];
	if (!vc->fake)
		return;
	struct fake_console *c = console_find(vc, inst->uuid, true);
	snprintf(line, sizeof(line), "[%12.6f] %s\n", console_uptime(c), msg);
	console_append(c, line);
}

/* A short, realistic Debian cloud image boot, enough for a user (or a test) to see the
 * server came up with its name and address. */
static void console_boot(struct virt_conn *vc, const struct virt_instance *inst)
{
	char when[64], *text = NULL;
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	const char *host = inst->hostname[0] ? inst->hostname : inst->name;
	long long kib = inst->memory_mb * 1024;

	if (!vc->fake)
		return;
	struct fake_console *c = console_find(vc, inst->uuid, true);
	clock_gettime(CLOCK_MONOTONIC, &c->boot);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	FILE *f = open_memstream(&text, &len);
	if (!f)
		abort();
	fprintf(f,
		"[    0.000000] Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org) "
		"(gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (novalite-fake)\n"
		"[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=LABEL=rootfs ro "
		"console=tty0 console=ttyS0,115200\n"
		"[    0.000000] DMI: OpenStack Foundation OpenStack Nova, BIOS 1.16.2-debian-1.16.2-1 04/01/2014\n"
		"[    0.021300] Memory: %lldK/%lldK available\n"
		"[    0.061502] smpboot: Allowing %d CPUs, 0 hotplug CPUs\n"
		"[    0.912044] virtio_blk virtio2: [vda] %lld 512-byte logical blocks\n"
		"[    1.403876] EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.\n"
		"[    2.114590] cloud-init[221]: Cloud-init v. 22.4.2 running 'init-local' at %s. Up 2.11 seconds.\n"
		"[    3.052117] cloud-init[264]: Cloud-init v. 22.4.2 running 'init' at %s. Up 3.05 seconds.\n",
		kib - kib / 16, kib, inst->vcpus, inst->root_gb * 2097152LL, when, when);
	if (inst->fixed_ip[0])
		fprintf(f, "[    3.061440] cloud-init[264]: ci-info: | eth0 | True | %s | 255.255.255.0 | global | %s |\n",
			inst->fixed_ip, inst->mac_address[0] ? inst->mac_address : ".");
	fprintf(f,
		"[    3.874410] cloud-init[301]: Cloud-init v. 22.4.2 running 'modules:config' at %s. Up 3.87 seconds.\n"
		"[    4.410623] cloud-init[318]: Cloud-init v. 22.4.2 finished at %s. Datasource "
		"DataSourceConfigDrive [net,ver=2][source=/dev/sr0].  Up 4.41 seconds\n"
		"\nDebian GNU/Linux 12 %s ttyS0\n\n%s login: \n",
		when, when, host, host);
	if (fclose(f) != 0)
		abort();
	console_append(c, text);
	free(text);
}

static char *lv_console_text(struct virt_conn *vc, const struct virt_instance *inst)
{
	/* qemu:///system: the serial console goes to a pty for now; reading a console log
	 * file comes with real guests. */
	struct fake_console *c = console_find(vc, inst->uuid, false);
	char *text;
	if (!c || !c->text)
		return NULL;
	text = c->text;
	c->text = NULL;
	return text;
}

/* ---- state changes shared by the operations ------------------------------------------------- */

/* Starts an inactive domain (restoring a managed save image if there is one). */
static int start_domain(struct virt_conn *vc, virDomainPtr dom, const struct virt_instance *inst,
			struct nl_error *err)
{
	bool restoring = virDomainHasManagedSaveImage(dom, 0) == 1;
	if (virDomainCreate(dom) < 0)
		return fail_virt(err, "Starting domain", inst->name);
	if (!restoring)
		console_boot(vc, inst);
	return 0;
}

/* Whatever state it is in, make the domain run. */
static int ensure_running(struct virt_conn *vc, virDomainPtr dom, const struct virt_instance *inst,
			  struct nl_error *err)
{
	switch (domain_state(dom)) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return 0;
	case VIR_DOMAIN_PAUSED:
		if (virDomainResume(dom) < 0)
			return fail_virt(err, "Resuming domain", inst->name);
		return 0;
	case VIR_DOMAIN_PMSUSPENDED:
		if (virDomainPMWakeup(dom, 0) < 0)
			return fail_virt(err, "Waking up domain", inst->name);
		return 0;
	default:
		/* shut off, shutting down, crashed: a crashed domain kept by on_crash=preserve
		 * is still active and must be destroyed before it can start again. */
		if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
			return fail_virt(err, "Destroying domain", inst->name);
		return start_domain(vc, dom, inst, err);
	}
}

/* Hard stop; a domain that is already off is fine. */
static int hard_stop(virDomainPtr dom, const struct virt_instance *inst, struct nl_error *err)
{
	if (virDomainIsActive(dom) != 1)
		return 0;
	if (virDomainDestroy(dom) < 0 && virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID)
		return fail_virt(err, "Destroying domain", inst->name);
	return 0;
}

/* ---- operations ---------------------------------------------------------------------------- */

static int lv_spawn(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	if (vc->fake && vc->fake_spawn_delay_ms > 0) {
		/* A slow fake build, so tests can kill the agent while it is "building". */
		struct timespec d = { vc->fake_spawn_delay_ms / 1000, (long)(vc->fake_spawn_delay_ms % 1000) * 1000000 };
		nanosleep(&d, NULL);
	}
	virDomainPtr dom = get_or_define(vc, inst, err);
	if (!dom)
		return -1;
	int rc = ensure_running(vc, dom, inst, err);
	virDomainFree(dom);
	return rc;
}

static int lv_destroy(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	virDomainPtr dom;
	int rc = 0;

	if (find_domain(vc, inst->uuid, &dom, err))
		return -1;
	if (dom) {
		rc = hard_stop(dom, inst, err);
		/* NO_DOMAIN: someone else undefined it meanwhile, which is what we wanted. */
		if (rc == 0 && virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
						   VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0 &&
		    virGetLastErrorCode() != VIR_ERR_NO_DOMAIN)
			rc = fail_virt(err, "Undefining domain", inst->name);
		virDomainFree(dom);
	}
	if (rc == 0)
		console_forget(vc, inst->uuid);
	return rc;
}

/* Asks the guest to shut down and waits for it, then destroys what is left. The test
 * driver shuts off at once. */
static int lv_power_off(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	virDomainPtr dom = get_or_define(vc, inst, err);
	int rc = 0;

	if (!dom)
		return -1;
	int state = domain_state(dom);
	if (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED) {
		console_kernel_line(vc, inst, "reboot: Power down");
		if (virDomainShutdown(dom) == 0) {
			for (int waited = 0; waited < SHUTDOWN_WAIT_MS && virDomainIsActive(dom) == 1;
			     waited += 200)
				usleep(200 * 1000);
		}
	}
	rc = hard_stop(dom, inst, err);
	/* A stopped server boots afresh on start, as Nova's does: drop a suspend image. */
	if (rc == 0 && virDomainHasManagedSaveImage(dom, 0) == 1 && virDomainManagedSaveRemove(dom, 0) < 0)
		rc = fail_virt(err, "Removing the saved state of domain", inst->name);
	virDomainFree(dom);
	return rc;
}

static int lv_power_on(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	return lv_spawn(vc, inst, err);
}

static int lv_reboot(struct virt_conn *vc, const struct virt_instance *inst, bool hard, struct nl_error *err)
{
	virDomainPtr dom;
	int rc;

	if (find_domain(vc, inst->uuid, &dom, err))
		return -1;
	if (!hard && dom) {
		int state = domain_state(dom);
		if (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED) {
			if (virDomainReboot(dom, 0) == 0) {
				console_kernel_line(vc, inst, "reboot: Restarting system");
				console_boot(vc, inst);
				virDomainFree(dom);
				return 0;
			}
			log_warn("soft reboot of %s failed (%s): rebooting hard", inst->name,
				 virGetLastErrorMessage());
		}
		/* Not running (or the guest refused): Nova falls back to a hard reboot. */
	}
	/* Hard: power cycle with the configuration rebuilt from the instance, which also
	 * recovers a domain this host lost. */
	if (dom) {
		rc = hard_stop(dom, inst, err);
		if (rc == 0 && virDomainHasManagedSaveImage(dom, 0) == 1 &&
		    virDomainManagedSaveRemove(dom, 0) < 0)
			rc = fail_virt(err, "Removing the saved state of domain", inst->name);
		virDomainFree(dom);
		if (rc)
			return rc;
		console_kernel_line(vc, inst, "reboot: Restarting system");
	}
	dom = define_domain(vc, inst, err);
	if (!dom)
		return -1;
	rc = start_domain(vc, dom, inst, err);
	virDomainFree(dom);
	return rc;
}

/* The existing domain, or -1 with a 404-style sentence: pause, unpause and suspend act on
 * a guest's live state, which a missing domain does not have. */
static virDomainPtr existing(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	virDomainPtr dom;
	if (find_domain(vc, inst->uuid, &dom, err))
		return NULL;
	if (!dom)
		nl_err_set(err, 404, "Instance %s (domain %s) was not found on host %s.", inst->uuid,
			   inst->name, vc->host);
	return dom;
}

static int lv_pause(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	virDomainPtr dom = existing(vc, inst, err);
	int rc = 0;

	if (!dom)
		return -1;
	switch (domain_state(dom)) {
	case VIR_DOMAIN_PAUSED:
		break;
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		if (virDomainSuspend(dom) < 0)
			rc = fail_virt(err, "Pausing domain", inst->name);
		break;
	default:
		nl_err_set(err, 409, "Cannot pause instance %s: it is not running.", inst->uuid);
		rc = -1;
	}
	virDomainFree(dom);
	return rc;
}

static int lv_unpause(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	virDomainPtr dom = existing(vc, inst, err);
	int rc = 0;

	if (!dom)
		return -1;
	switch (domain_state(dom)) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		break;
	case VIR_DOMAIN_PAUSED:
		if (virDomainResume(dom) < 0)
			rc = fail_virt(err, "Unpausing domain", inst->name);
		break;
	default:
		nl_err_set(err, 409, "Cannot unpause instance %s: it is not paused.", inst->uuid);
		rc = -1;
	}
	virDomainFree(dom);
	return rc;
}

/* Managed save, as Nova's libvirt driver does (the test driver supports it too). A
 * hypervisor without it gets a plain pause so the server still stops using CPU. */
static int lv_suspend(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	virDomainPtr dom = existing(vc, inst, err);
	int rc = 0;

	if (!dom)
		return -1;
	int state = domain_state(dom);
	if (state == VIR_DOMAIN_SHUTOFF && virDomainHasManagedSaveImage(dom, 0) == 1) {
		/* already suspended */
	} else if (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED || state == VIR_DOMAIN_PAUSED) {
		if (virDomainManagedSave(dom, 0) < 0) {
			if (virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
				rc = fail_virt(err, "Saving domain", inst->name);
			else if (state != VIR_DOMAIN_PAUSED && virDomainSuspend(dom) < 0)
				rc = fail_virt(err, "Pausing domain", inst->name);
		}
	} else {
		nl_err_set(err, 409, "Cannot suspend instance %s: it is not running.", inst->uuid);
		rc = -1;
	}
	virDomainFree(dom);
	return rc;
}

/* Restores the saved guest; Nova recreates a missing domain on resume, and so do we. */
static int lv_resume(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	return lv_spawn(vc, inst, err);
}

static int lv_get_power_state(struct virt_conn *vc, const char *uuid, int *state, struct nl_error *err)
{
	virDomainPtr dom;
	if (find_domain(vc, uuid, &dom, err))
		return -1;
	*state = dom ? power_state_of(dom) : VIRT_POWER_MISSING;
	if (dom)
		virDomainFree(dom);
	return 0;
}

/* "instance-" and 8 hex digits: the names this agent gives. Anything else on the host
 * (the test driver's own "test" domain, an operator's VM) is left alone. */
static bool is_instance_name(const char *name)
{
	if (!name || strncmp(name, "instance-", 9) || strlen(name) < 17)
		return false;
	for (const char *p = name + 9; *p; p++)
		if (!strchr("0123456789abcdef", *p))
			return false;
	return true;
}

static int lv_list_domains(struct virt_conn *vc, char (**uuids)[VIRT_UUID_LEN + 1], size_t *n,
			   struct nl_error *err)
{
	virDomainPtr *doms = NULL;
	int count = virConnectListAllDomains(vc->conn, &doms, 0);

	*uuids = NULL;
	*n = 0;
	if (count < 0) {
		nl_err_set(err, 500, "Listing the domains of host %s failed: %s", vc->host,
			   virGetLastErrorMessage());
		return -1;
	}
	*uuids = nl_calloc((size_t)count + 1, sizeof(**uuids));
	for (int i = 0; i < count; i++) {
		if (is_instance_name(virDomainGetName(doms[i])) &&
		    virDomainGetUUIDString(doms[i], (*uuids)[*n]) == 0)
			(*n)++;
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

/* ---- host --------------------------------------------------------------------------------- */

/* Copies the text of the first <tag>...</tag> inside the caps' <host><cpu> into out. */
static void caps_host_cpu_field(const char *caps, const char *tag, char *out, size_t len)
{
	char open_tag[32], close_tag[32];
	const char *host = caps ? strstr(caps, "<host>") : NULL;
	const char *cpu = host ? strstr(host, "<cpu>") : NULL;
	const char *end = cpu ? strstr(cpu, "</cpu>") : NULL;

	snprintf(open_tag, sizeof(open_tag), "<%s>", tag);
	snprintf(close_tag, sizeof(close_tag), "</%s>", tag);
	const char *a = cpu ? strstr(cpu, open_tag) : NULL;
	const char *b = a ? strstr(a, close_tag) : NULL;
	if (!a || !b || b > end)
		return;
	a += strlen(open_tag);
	snprintf(out, len, "%.*s", (int)(b - a), a);
}

static int lv_host_info(struct virt_conn *vc, struct virt_host_info *out, struct nl_error *err)
{
	virNodeInfo ni;
	unsigned long version = 0;
	const char *type = virConnectGetType(vc->conn);

	memset(out, 0, sizeof(*out));
	if (!type || virNodeGetInfo(vc->conn, &ni) < 0 || virConnectGetVersion(vc->conn, &version) < 0) {
		nl_err_set(err, 500, "Reading the facts of host %s from libvirt failed: %s", vc->host,
			   virGetLastErrorMessage());
		return -1;
	}
	/* Nova shows libvirt's type ("QEMU"); the test driver says "TEST", shown as "test". */
	snprintf(out->hypervisor_type, sizeof(out->hypervisor_type), "%s", !strcmp(type, "TEST") ? "test" : type);
	out->hypervisor_version = version;
	snprintf(out->arch, sizeof(out->arch), "%s", vc->arch);
	out->vcpus = (int)ni.cpus;
	out->memory_mb = (long long)(ni.memory / 1024);   /* libvirt reports KiB */

	struct virt_cpu_info *cpu = &out->cpu;
	snprintf(cpu->arch, sizeof(cpu->arch), "%s", vc->arch);
	cpu->sockets = (int)(ni.nodes * ni.sockets);
	cpu->cores = (int)ni.cores;
	cpu->threads = (int)ni.threads;
	cpu->mhz = ni.mhz;

	if (vc->fake) {
		/* Every fake host runs on this machine: name them after the service host. */
		snprintf(out->hypervisor_hostname, sizeof(out->hypervisor_hostname), "%s", vc->host);
		out->local_gb = vc->fake_disk_gb;
		snprintf(cpu->model, sizeof(cpu->model), "fake");
		snprintf(cpu->vendor, sizeof(cpu->vendor), "novalite");
		return 0;
	}
	char *hostname = virConnectGetHostname(vc->conn);
	snprintf(out->hypervisor_hostname, sizeof(out->hypervisor_hostname), "%s", hostname ? hostname : vc->host);
	free(hostname);
	struct statvfs sv;
	if (statvfs(vc->state_dir, &sv) == 0)
		out->local_gb = (long long)((unsigned long long)sv.f_blocks * sv.f_frsize >> 30);
	else
		log_warn("statvfs %s: %s (reporting local_gb 0)", vc->state_dir, strerror(errno));
	char *caps = virConnectGetCapabilities(vc->conn);
	caps_host_cpu_field(caps, "model", cpu->model, sizeof(cpu->model));
	caps_host_cpu_field(caps, "vendor", cpu->vendor, sizeof(cpu->vendor));
	free(caps);
	return 0;
}

/* ---- open / close ------------------------------------------------------------------------- */

/* Writes STATE/fake-node-<host>.xml (atomically: a half-written file would give a host
 * with no CPUs) and returns its test:/// URI in uri. */
static int write_fake_node(const struct virt_host_config *cfg, const char *arch, char *uri, size_t len,
			   struct nl_error *err)
{
	char path[1024], tmp[1100], safe[128];
	size_t i;

	/* The host name becomes part of a file name and a URI: keep it to safe characters. */
	for (i = 0; cfg->host[i] && i < sizeof(safe) - 1; i++) {
		char ch = cfg->host[i];
		safe[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  ch == '-' || ch == '.' || ch == '_' ? ch : '_';
	}
	safe[i] = '\0';
	snprintf(path, sizeof(path), "%s/fake-node-%s.xml", cfg->state_dir, safe);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		nl_err_set(err, 500, "Cannot write the fake node file %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* <memory> is KiB whatever unit= says; one socket of fake_vcpus cores. */
	fprintf(f, "<node>\n  <cpu>\n    <nodes>1</nodes>\n    <sockets>1</sockets>\n"
		   "    <cores>%d</cores>\n    <threads>1</threads>\n    <active>%d</active>\n"
		   "    <mhz>2600</mhz>\n    <model>%s</model>\n  </cpu>\n"
		   "  <memory>%lld</memory>\n</node>\n",
		cfg->fake_vcpus, cfg->fake_vcpus, arch, cfg->fake_ram_mb * 1024);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		nl_err_set(err, 500, "Cannot write the fake node file %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The path goes into a URI: percent-encode what a URI path cannot hold (libvirt
	 * decodes it again). */
	size_t o = (size_t)snprintf(uri, len, "test://");
	for (const char *p = path; *p && o + 4 < len; p++) {
		unsigned char ch = (unsigned char)*p;
		if (strchr("/-._~", ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
			uri[o++] = (char)ch;
		else
			o += (size_t)snprintf(uri + o, len - o, "%%%02X", ch);
	}
	uri[o] = '\0';
	return 0;
}

static struct virt_conn *lv_open(const struct virt_host_config *cfg, struct nl_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char uri[1200];
	struct utsname un;

	pthread_once(&once, quiet_libvirt);
	struct virt_conn *vc = nl_calloc(1, sizeof(*vc));
	snprintf(vc->host, sizeof(vc->host), "%s", cfg->host);
	snprintf(vc->state_dir, sizeof(vc->state_dir), "%s", cfg->state_dir);
	vc->fake_disk_gb = cfg->fake_disk_gb;
	vc->fake_spawn_delay_ms = cfg->fake_spawn_delay_ms;
	snprintf(vc->arch, sizeof(vc->arch), "%s", uname(&un) == 0 ? un.machine : "x86_64");

	snprintf(uri, sizeof(uri), "%s", cfg->uri);
	if (!strcmp(cfg->uri, "test:///default")) {
		if (cfg->state_dir[0] != '/') {
			nl_err_set(err, 500, "The state directory must be an absolute path for the fake "
					     "hypervisor (got '%s').", cfg->state_dir);
			goto fail;
		}
		if (cfg->fake_vcpus <= 0 || cfg->fake_ram_mb <= 0) {
			nl_err_set(err, 500, "Fake hosts need at least one vCPU and 1 MiB of RAM.");
			goto fail;
		}
		if (write_fake_node(cfg, vc->arch, uri, sizeof(uri), err))
			goto fail;
	}
	vc->conn = virConnectOpen(uri);
	if (!vc->conn) {
		nl_err_set(err, 500, "Cannot connect to libvirt at %s: %s", uri, virGetLastErrorMessage());
		goto fail;
	}
	const char *type = virConnectGetType(vc->conn);
	vc->fake = type && !strcmp(type, "TEST");
	log_debug("host %s: connected to %s (%s)", vc->host, uri, type ? type : "?");
	return vc;
fail:
	free(vc);
	return NULL;
}

static void lv_close(struct virt_conn *vc)
{
	if (!vc)
		return;
	if (vc->conn)
		virConnectClose(vc->conn);
	for (size_t i = 0; i < vc->nconsoles; i++)
		free(vc->consoles[i].text);
	free(vc->consoles);
	free(vc);
}

const struct virt_driver virt_libvirt_driver = {
	.name = "libvirt",
	.open = lv_open,
	.close = lv_close,
	.host_info = lv_host_info,
	.spawn = lv_spawn,
	.destroy = lv_destroy,
	.power_off = lv_power_off,
	.power_on = lv_power_on,
	.reboot = lv_reboot,
	.pause = lv_pause,
	.unpause = lv_unpause,
	.suspend = lv_suspend,
	.resume = lv_resume,
	.get_power_state = lv_get_power_state,
	.list_domains = lv_list_domains,
	.console_text = lv_console_text,
};

const struct virt_driver *virt_driver_for_uri(const char *uri)
{
	(void)uri;
	return &virt_libvirt_driver;
}
