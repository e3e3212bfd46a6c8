/* The libvirt virt driver (compute/virt.h) for both hypervisors the agent supports:
 *
 *  - the fake: libvirt's in-process test driver. "test:///default" means one generated
 *    node file per host, STATE/fake-node-<host>.xml, with the configured vCPUs and RAM,
 *    so every host gets its own isolated fake hypervisor (one connection each). The test
 *    driver has no disks and no console: local_gb is the configured size and the console
 *    is a synthetic boot log written here at every boot.
 *  - qemu:///system: real guests. Host facts from virNodeGetInfo and statvfs(state_dir);
 *    KVM or TCG chosen at open (virt_probe.h); one libvirt network per host (virt_net.h).
 *    Each instance has a directory STATE/instances/<uuid> with its root disk (a qcow2
 *    overlay on the image cache's base, made by qemu-img: the tool Nova's Qcow2 backend
 *    uses, with no libvirt storage pool to keep in step), its config drive and its
 *    console log (the serial port, appended across boots). Lifecycle events are watched
 *    on libvirt's default event loop, run by one thread started here.
 *
 * Domains are found by the instance uuid (the name instance-%08x is for people). Each
 * operation looks at the domain's state first, so repeating it is harmless. Domain XML is
 * built in compute/domain_xml.c. No HTTP, no JSON here. */
#include "compute/virt.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/log.h"
#include "common/util.h"
#include "compute/configdrive.h"
#include "compute/domain_xml.h"
#include "compute/proc.h"
#include "compute/virt_net.h"
#include "compute/virt_probe.h"

/* The fake's bound on a clean shutdown (it shuts off at once); real guests get the
 * host's shutdown_timeout (Nova's 60 s by default). */
#define SHUTDOWN_WAIT_MS 10000
/* Pending fake console output per instance is capped: the agent reads it after every
 * task, so only a driver used without an agent could pile it up. */
#define CONSOLE_PENDING_MAX (64 * 1024)

struct fake_console {
	char uuid[VIRT_UUID_LEN + 1];
	struct timespec boot;     /* CLOCK_MONOTONIC at the last boot: the log's uptime */
	char *text;               /* not yet handed out by console_text() */
	long long offset;         /* qemu: bytes of console.log already handed out */
	bool offset_loaded;       /* qemu: offset read from console.offset */
};

/* Several agent workers use one virt_conn at once (for different instances): mu guards
 * what they share here (the connection pointer, swapped on a reconnect; the console
 * list; the event callback), net_mu the DHCP reservations (read-modify-update of the
 * network XML). libvirt's own objects are thread-safe. mu is never held across a
 * libvirt call that can block for long, nor while taking net_mu. */
struct virt_conn {
	pthread_mutex_t mu, net_mu;
	virConnectPtr conn;       /* under mu: use conn_get() */
	bool fake;                /* the test driver */
	char host[128];
	char state_dir[512];
	long long fake_disk_gb;
	int fake_spawn_delay_ms;
	int fake_stop_delay_ms;
	char arch[32];
	struct fake_console *consoles;
	size_t nconsoles;
	/* qemu:///system */
	char uri[256];
	enum virt_type virt_type;
	struct vnet net;
	char vnc_listen[64];
	int shutdown_timeout_s;
	char instances_dir[600];
	int kvm_guard_silence_s;  /* kvm_guard.h */
	void (*event_cb)(void *opaque, const char *uuid);
	void *event_opaque;
	int event_id;             /* -1: not watching */
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

static int ensure_connected(struct virt_conn *vc, struct nl_error *err);

/* The current connection (reopened first when libvirtd went away) with a reference of
 * the caller's, dropped with virConnectClose(): a reconnect by another thread then
 * cannot free it under us. NULL with err. */
static virConnectPtr conn_get(struct virt_conn *vc, struct nl_error *err)
{
	virConnectPtr c = NULL;
	pthread_mutex_lock(&vc->mu);
	if (ensure_connected(vc, err) == 0 && virConnectRef(vc->conn) == 0)
		c = vc->conn;
	else if (!err->msg[0])
		nl_err_set(err, 503, "The libvirt connection of host %s is gone.", vc->host);
	pthread_mutex_unlock(&vc->mu);
	return c;
}

/* Finds the instance's domain: 0 and *dom (NULL when missing), or -1 with err. Every
 * operation starts here, so this is also where a lost libvirt connection is reopened. */
static int find_domain(struct virt_conn *vc, const char *uuid, virDomainPtr *dom, struct nl_error *err)
{
	*dom = NULL;
	virConnectPtr c = conn_get(vc, err);
	if (!c)
		return -1;
	/* virConnectClose() resets the thread's libvirt error: read it first. */
	*dom = virDomainLookupByUUIDString(c, uuid);
	int rc = !*dom && virGetLastErrorCode() != VIR_ERR_NO_DOMAIN
		 ? fail_virt(err, "Looking up the domain of instance", uuid) : 0;
	virConnectClose(c);
	return rc;
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
/* The instance's files: STATE/instances/<uuid>/<leaf>. */
static void inst_path(const struct virt_conn *vc, const struct virt_instance *inst, const char *leaf, char *out,
		      size_t len)
{
	snprintf(out, len, "%s/%s%s%s", vc->instances_dir, inst->uuid, leaf ? "/" : "", leaf ? leaf : "");
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static const char *const vif_models[] = { "virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet", NULL };

static virDomainPtr define_domain(struct virt_conn *vc, const struct virt_instance *inst,
				  struct nl_error *err)
{
	char disk[700], config[700], console[700], *nic = NULL;
	size_t nic_len = 0;
	struct domain_opts o = { .kind = vc->fake ? DOMAIN_TEST : DOMAIN_QEMU, .arch = vc->arch };

	if (!vc->fake) {
		inst_path(vc, inst, "disk", disk, sizeof(disk));
		inst_path(vc, inst, "disk.config", config, sizeof(config));
		inst_path(vc, inst, "console.log", console, sizeof(console));
		o.kvm = vc->virt_type == VIRT_TYPE_KVM;
		o.disk_path = disk;
		o.config_path = file_exists(config) ? config : NULL;
		o.console_path = console;
		o.vnc_listen = vc->vnc_listen[0] ? vc->vnc_listen : NULL;
		if (inst->mac_address[0]) {
			FILE *f = open_memstream(&nic, &nic_len);
			if (!f)
				abort();
			vnet_interface_xml(f, &vc->net, inst->mac_address,
					   domain_image_prop(inst, "hw_vif_model", vif_models, "virtio"));
			if (fclose(f) != 0)
				abort();
			o.interface_xml = nic;
		}
	}
	char *xml = domain_xml_new(inst, &o);
	free(nic);
	virConnectPtr c = conn_get(vc, err);
	virDomainPtr dom = c ? virDomainDefineXML(c, xml) : NULL;
	free(xml);
	if (!c)
		return NULL;
	if (!dom)
		fail_virt(err, "Defining domain", inst->name);
	virConnectClose(c);   /* after reading the error: it resets it */
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
	pthread_mutex_lock(&vc->mu);
	struct fake_console *c = console_find(vc, uuid, false);
	if (c) {
		free(c->text);
		*c = vc->consoles[--vc->nconsoles];
	}
	pthread_mutex_unlock(&vc->mu);
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
	pthread_mutex_lock(&vc->mu);
	struct fake_console *c = console_find(vc, inst->uuid, true);
	snprintf(line, sizeof(line), "[%12.6f] %s\n", console_uptime(c), msg);
	console_append(c, line);
	pthread_mutex_unlock(&vc->mu);
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
	pthread_mutex_lock(&vc->mu);
	struct fake_console *c = console_find(vc, inst->uuid, true);
	clock_gettime(CLOCK_MONOTONIC, &c->boot);
	console_append(c, text);
	pthread_mutex_unlock(&vc->mu);
	free(text);
}

/* What the guest wrote to its serial console since the last call: console.log from the
 * remembered offset, at most CONSOLE_PENDING_MAX bytes per call (the rest comes next
 * time). The offset is kept in console.offset beside the log, so an agent restart goes
 * on where it stopped instead of sending the whole log to the API again. */
static char *qemu_console_text_locked(struct virt_conn *vc, const struct virt_instance *inst)
{
	char path[700], opath[700];
	struct stat st;
	struct fake_console *c = console_find(vc, inst->uuid, true);

	inst_path(vc, inst, "console.log", path, sizeof(path));
	inst_path(vc, inst, "console.offset", opath, sizeof(opath));
	if (!c->offset_loaded) {
		FILE *f = fopen(opath, "r");
		if (f) {
			if (fscanf(f, "%lld", &c->offset) != 1 || c->offset < 0)
				c->offset = 0;
			fclose(f);
		}
		c->offset_loaded = true;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	if (st.st_size < c->offset)
		c->offset = 0;   /* replaced by a new file */
	if (st.st_size == c->offset) {
		close(fd);
		return NULL;
	}
	long long want = st.st_size - c->offset;
	if (want > CONSOLE_PENDING_MAX)
		want = CONSOLE_PENDING_MAX;
	char *text = nl_calloc(1, (size_t)want + 1);
	ssize_t n = pread(fd, text, (size_t)want, c->offset);
	close(fd);
	if (n <= 0) {
		free(text);
		return NULL;
	}
	c->offset += n;
	FILE *f = fopen(opath, "w");
	if (f) {
		fprintf(f, "%lld\n", c->offset);
		fclose(f);
	}
	/* Guests write CRLF, NUL and other control bytes; the protocol carries text. */
	size_t o = 0;
	for (ssize_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\r')
			continue;
		text[o++] = ch < 0x20 && ch != '\n' && ch != '\t' ? ' ' : (char)ch;
	}
	text[o] = '\0';
	return text;
}

static char *lv_console_text(struct virt_conn *vc, const struct virt_instance *inst)
{
	char *text = NULL;
	pthread_mutex_lock(&vc->mu);
	if (!vc->fake) {
		text = qemu_console_text_locked(vc, inst);
	} else {
		struct fake_console *c = console_find(vc, inst->uuid, false);
		if (c) {
			text = c->text;
			c->text = NULL;
		}
	}
	pthread_mutex_unlock(&vc->mu);
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
		/* Paused while libvirt is still starting it (an agent killed mid-start):
		 * by the time we resume it may already run, which is what we want. */
		if (virDomainResume(dom) < 0 && domain_state(dom) != VIR_DOMAIN_RUNNING)
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

/* Decodes standard base64 (the API validated it). NULL on a bad character. */
static unsigned char *b64_decode(const char *in, size_t *out_len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(in), o = 0;
	unsigned char *out = nl_calloc(1, len / 4 * 3 + 4);
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		if (ch == '=' || ch == '\n' || ch == '\r')
			continue;
		const char *p = ch ? strchr(tbl, ch) : NULL;
		if (!p) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out_len = o;
	return out;
}

/* The config drive of inst at path (Nova's layout, see configdrive.h). */
static int build_config_drive(struct virt_conn *vc, const struct virt_instance *inst, const char *path,
			      struct nl_error *err)
{
	size_t ud_len = 0;
	unsigned char *ud = NULL;
	if (inst->user_data_b64 && *inst->user_data_b64 && !(ud = b64_decode(inst->user_data_b64, &ud_len))) {
		nl_err_set(err, 400, "The user data of instance %s is not valid base64.", inst->uuid);
		return -1;
	}
	char gateway[64];
	snprintf(gateway, sizeof(gateway), "%s", vc->net.address);
	bool routed = vc->net.mode == VNET_NAT || vc->net.mode == VNET_ISOLATED;
	struct configdrive cd = {
		.uuid = inst->uuid, .name = inst->display_name, .hostname = inst->hostname,
		.availability_zone = inst->availability_zone, .project_id = inst->project_id,
		.launch_index = inst->launch_index, .key_name = inst->key_name, .key_data = inst->key_data,
		.meta = inst->metadata, .user_data = ud, .user_data_len = ud_len,
		.mac = inst->mac_address, .fixed_ip = routed ? inst->fixed_ip : NULL, .prefix = vc->net.prefix,
		.gateway = routed && vc->net.mode == VNET_NAT ? gateway : NULL, .dns = routed ? gateway : NULL,
	};
	int rc = configdrive_build(&cd, path, err);
	free(ud);
	return rc;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The instance directory, root disk, config drive and DHCP reservation, each made only
 * when missing (a repeated build finds them done). */
static int prepare_instance(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	char dir[700], disk[700], config[700];
	struct timespec t0;
	double t_disk = 0, t_cd = 0, t_net = 0;
	inst_path(vc, inst, NULL, dir, sizeof(dir));
	inst_path(vc, inst, "disk", disk, sizeof(disk));
	inst_path(vc, inst, "disk.config", config, sizeof(config));

	/* 0711: QEMU runs as another user and must reach the files libvirt hands it. */
	if ((mkdir(dir, 0711) < 0 && errno != EEXIST) || chmod(dir, 0711) < 0) {
		nl_err_set(err, 500, "Cannot create the instance directory %s: %s.", dir, strerror(errno));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!file_exists(disk)) {
		char size[32], out[2048], tmp[720];
		long long bytes = inst->root_gb * 1024LL * 1024 * 1024;
		if (!inst->base_path[0]) {
			nl_err_set(err, 500, "The root disk of instance %s is missing and no image was given to "
					     "build it from.", inst->uuid);
			return -1;
		}
		if (bytes && bytes < inst->base_virtual_size) {
			nl_err_set(err, 400, "Flavor's disk is too small for requested image. Flavor disk is %lld "
					     "bytes, image is %lld bytes.", bytes, inst->base_virtual_size);
			return -1;
		}
		/* root_gb 0: the image's own size, as Nova does. */
		snprintf(size, sizeof(size), "%lld", bytes ? bytes : inst->base_virtual_size);
		snprintf(tmp, sizeof(tmp), "%s.tmp", disk);
		const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", inst->base_format, "-b",
				       inst->base_path, tmp, size, NULL };
		int rc = proc_run(argv, out, sizeof(out), 60000, err);
		if (rc > 0)
			nl_err_set(err, 500, "qemu-img could not create the root disk of %s: %s", inst->uuid, out);
		if (rc != 0 || rename(tmp, disk) < 0) {
			if (rc == 0)
				nl_err_set(err, 500, "Cannot rename %s: %s.", tmp, strerror(errno));
			unlink(tmp);
			return -1;
		}
	}
	t_disk = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (inst->config_drive && !file_exists(config) && build_config_drive(vc, inst, config, err))
		return -1;
	t_cd = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (inst->mac_address[0] && inst->fixed_ip[0]) {
		virConnectPtr c = conn_get(vc, err);
		if (!c)
			return -1;
		pthread_mutex_lock(&vc->net_mu);
		int rc = vnet_reserve(c, &vc->net, inst->mac_address, inst->fixed_ip,
				      inst->hostname[0] ? inst->hostname : inst->name, err);
		pthread_mutex_unlock(&vc->net_mu);
		virConnectClose(c);
		if (rc)
			return -1;
	}
	t_net = ms_since(&t0);
	/* Every step of a build, for whoever wants to see where its time goes. */
	log_debug("instance %s prepared: root disk %.1f ms, config drive %.1f ms, DHCP reservation %.1f ms",
		  inst->uuid, t_disk, t_cd, t_net);
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes the instance directory and the DHCP reservation. */
static int remove_instance_files(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	char dir[700];
	inst_path(vc, inst, NULL, dir, sizeof(dir));
	if (file_exists(dir) && nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS) < 0) {
		nl_err_set(err, 500, "Cannot remove the files of instance %s in %s: %s.", inst->uuid, dir,
			   strerror(errno));
		return -1;
	}
	if (!inst->mac_address[0])
		return 0;
	virConnectPtr c = conn_get(vc, err);
	if (!c)
		return -1;
	pthread_mutex_lock(&vc->net_mu);
	int rc = vnet_release(c, &vc->net, inst->mac_address, err);
	pthread_mutex_unlock(&vc->net_mu);
	virConnectClose(c);
	return rc;
}

static int lv_spawn(struct virt_conn *vc, const struct virt_instance *inst, struct nl_error *err)
{
	if (vc->fake && vc->fake_spawn_delay_ms > 0) {
		/* A slow fake build, so tests can kill the agent while it is "building". */
		struct timespec d = { vc->fake_spawn_delay_ms / 1000, (long)(vc->fake_spawn_delay_ms % 1000) * 1000000 };
		nanosleep(&d, NULL);
	}
	virDomainPtr dom;
	if (find_domain(vc, inst->uuid, &dom, err))
		return -1;
	if (!dom && !vc->fake && prepare_instance(vc, inst, err))
		return -1;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!dom && !(dom = define_domain(vc, inst, err)))
		return -1;
	int rc = ensure_running(vc, dom, inst, err);
	virDomainFree(dom);
	if (!vc->fake)
		log_debug("instance %s: define and start %.1f ms", inst->uuid, ms_since(&t0));
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
	if (rc == 0 && !vc->fake)
		rc = remove_instance_files(vc, inst, err);
	if (rc == 0)
		console_forget(vc, inst->uuid);
	return rc;
}

/* How long a clean shutdown may take: the image's os_shutdown_timeout, else the host's
 * setting (Nova's shutdown_timeout; 0: power off at once); the fake shuts off at once
 * anyway. */
static int shutdown_wait_ms(const struct virt_conn *vc, const struct virt_instance *inst)
{
	if (vc->fake)
		return SHUTDOWN_WAIT_MS;
	const char *v = json_string_value(json_object_get(inst->image_properties, "os_shutdown_timeout"));
	char *end = NULL;
	long s = v ? strtol(v, &end, 10) : -1;
	if (!v || *end || s < 0 || s > 3600)
		s = vc->shutdown_timeout_s;
	return (int)s * 1000;
}

/* Waits up to ms for the domain to stop; true when it did. */
static bool wait_inactive(virDomainPtr dom, int ms)
{
	for (int waited = 0; virDomainIsActive(dom) == 1; waited += 100) {
		if (waited >= ms)
			return false;
		usleep(100 * 1000);
	}
	return true;
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
		if (vc->fake && vc->fake_stop_delay_ms > 0) {
			/* A guest slow to shut down, so tests can see other tasks go on meanwhile. */
			struct timespec d = { vc->fake_stop_delay_ms / 1000, (long)(vc->fake_stop_delay_ms % 1000) * 1000000 };
			nanosleep(&d, NULL);
		}
		console_kernel_line(vc, inst, "reboot: Power down");
		if (virDomainShutdown(dom) == 0)
			wait_inactive(dom, shutdown_wait_ms(vc, inst));
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
		if (!vc->fake && (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED)) {
			/* Nova's _soft_reboot: a clean shutdown, then a fresh start; a guest that
			 * ignores the request within the timeout gets the hard reboot below. */
			if (virDomainShutdown(dom) == 0 && wait_inactive(dom, shutdown_wait_ms(vc, inst))) {
				int rc2 = start_domain(vc, dom, inst, err);
				virDomainFree(dom);
				return rc2;
			}
			log_warn("soft reboot of %s: the guest did not shut down in time: rebooting hard", inst->name);
		} else if (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED) {
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
	if (!vc->fake && prepare_instance(vc, inst, err))
		return -1;
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

/* Whether a domain is this agent's: on qemu:///system other clouds (another state dir,
 * another test run) may share the libvirtd, and reconcile destroys what it does not know,
 * so only domains whose files live under our instances directory count. The fake's
 * connections are private to this agent. */
static bool owned(struct virt_conn *vc, virDomainPtr dom)
{
	if (vc->fake)
		return true;
	char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	char needle[620];
	snprintf(needle, sizeof(needle), "'%s/", vc->instances_dir);
	bool mine = xml && strstr(xml, needle);
	free(xml);
	return mine;
}

static int lv_list_domains(struct virt_conn *vc, char (**uuids)[VIRT_UUID_LEN + 1], size_t *n,
			   struct nl_error *err)
{
	virDomainPtr *doms = NULL;

	*uuids = NULL;
	*n = 0;
	virConnectPtr c = conn_get(vc, err);
	if (!c)
		return -1;
	int count = virConnectListAllDomains(c, &doms, 0);
	if (count < 0) {
		nl_err_set(err, 500, "Listing the domains of host %s failed: %s", vc->host,
			   virGetLastErrorMessage());
		virConnectClose(c);
		return -1;
	}
	virConnectClose(c);
	*uuids = nl_calloc((size_t)count + 1, sizeof(**uuids));
	for (int i = 0; i < count; i++) {
		if (is_instance_name(virDomainGetName(doms[i])) && owned(vc, doms[i]) &&
		    virDomainGetUUIDString(doms[i], (*uuids)[*n]) == 0)
			(*n)++;
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}


/* ---- snapshot, VNC, events ------------------------------------------------------------------ */

/* qemu-img convert of the root disk (overlay + base flattened) into out_path. A running
 * guest is paused for the copy so the disk does not change under it (-U: QEMU holds the
 * image lock while the domain exists), then resumed. The fake has no disk: its snapshot
 * is an empty qcow2 of the flavor's size, which boots nothing but is a real image. */
static int lv_snapshot(struct virt_conn *vc, const struct virt_instance *inst, const char *out_path,
		       struct nl_error *err)
{
	char out[2048], disk[700], size[32];
	if (vc->fake) {
		snprintf(size, sizeof(size), "%lldG", inst->root_gb > 0 ? inst->root_gb : 1);
		const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", out_path, size, NULL };
		int rc = proc_run(argv, out, sizeof(out), 60000, err);
		if (rc > 0)
			nl_err_set(err, 500, "qemu-img could not create the snapshot of %s: %s", inst->uuid, out);
		return rc == 0 ? 0 : -1;
	}
	virDomainPtr dom;
	if (find_domain(vc, inst->uuid, &dom, err))
		return -1;
	bool paused_here = false;
	if (dom && domain_state(dom) == VIR_DOMAIN_RUNNING) {
		if (virDomainSuspend(dom) < 0) {
			fail_virt(err, "Pausing domain", inst->name);
			virDomainFree(dom);
			return -1;
		}
		paused_here = true;
	}
	inst_path(vc, inst, "disk", disk, sizeof(disk));
	const char *argv[] = { "qemu-img", "convert", "-U", "-f", "qcow2", "-O", "qcow2", disk, out_path, NULL };
	int rc = proc_run(argv, out, sizeof(out), 30 * 60 * 1000, err);
	if (rc > 0)
		nl_err_set(err, 500, "qemu-img could not copy the disk of %s: %s", inst->uuid, out);
	if (paused_here && virDomainResume(dom) < 0 && rc == 0)
		rc = fail_virt(err, "Resuming domain", inst->name);
	if (dom)
		virDomainFree(dom);
	return rc == 0 ? 0 : -1;
}

/* The live XML's <graphics type='vnc' port='N'>: autoport picks N at start. */
static void lv_console_address(struct virt_conn *vc, const struct virt_instance *inst, char *out, size_t len)
{
	virDomainPtr dom = NULL;
	struct nl_error err = { 0 };
	out[0] = '\0';
	if (vc->fake) {
		/* Nova's fake driver gives a made-up console too; clients need something. */
		snprintf(out, len, "127.0.0.1:%lld", 5900 + inst->id % 1000);
		return;
	}
	if (find_domain(vc, inst->uuid, &dom, &err) || !dom)
		return;
	char *xml = virDomainIsActive(dom) == 1 ? virDomainGetXMLDesc(dom, 0) : NULL;
	const char *g = xml ? strstr(xml, "<graphics type='vnc' port='") : NULL;
	int port = g ? atoi(g + strlen("<graphics type='vnc' port='")) : 0;
	if (port > 0)
		snprintf(out, len, "%s:%d", vc->vnc_listen, port);
	free(xml);
	virDomainFree(dom);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct virt_conn *vc = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];
	(void)conn;
	(void)event;
	(void)detail;
	pthread_mutex_lock(&vc->mu);
	void (*cb)(void *, const char *) = vc->event_cb;
	void *cb_opaque = vc->event_opaque;
	pthread_mutex_unlock(&vc->mu);
	if (cb && is_instance_name(virDomainGetName(dom)) && owned(vc, dom) && virDomainGetUUIDString(dom, uuid) == 0)
		cb(cb_opaque, uuid);
	return 0;
}

static int register_events(struct virt_conn *vc, struct nl_error *err)
{
	vc->event_id = virConnectDomainEventRegisterAny(vc->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						       VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), vc, NULL);
	if (vc->event_id < 0) {
		nl_err_set(err, 500, "Cannot watch the domain events of host %s: %s", vc->host, virGetLastErrorMessage());
		return -1;
	}
	return 0;
}

static int lv_watch_events(struct virt_conn *vc, void (*cb)(void *opaque, const char *uuid), void *opaque,
			   struct nl_error *err)
{
	int rc = 0;
	pthread_mutex_lock(&vc->mu);
	vc->event_cb = cb;
	vc->event_opaque = opaque;
	/* the fake changes only through our own calls */
	if (!vc->fake && vc->event_id < 0)
		rc = register_events(vc, err);
	pthread_mutex_unlock(&vc->mu);
	return rc;
}

static bool lv_needs_image(struct virt_conn *vc)
{
	return !vc->fake;
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

static int host_info_of(struct virt_conn *vc, virConnectPtr conn, struct virt_host_info *out, struct nl_error *err);

static int lv_host_info(struct virt_conn *vc, struct virt_host_info *out, struct nl_error *err)
{
	virConnectPtr c = conn_get(vc, err);
	if (!c)
		return -1;
	int rc = host_info_of(vc, c, out, err);
	virConnectClose(c);
	return rc;
}

static int host_info_of(struct virt_conn *vc, virConnectPtr conn, struct virt_host_info *out, struct nl_error *err)
{
	virNodeInfo ni;
	unsigned long version = 0;
	const char *type = virConnectGetType(conn);

	memset(out, 0, sizeof(*out));
	if (!type || virNodeGetInfo(conn, &ni) < 0 || virConnectGetVersion(conn, &version) < 0) {
		nl_err_set(err, 500, "Reading the facts of host %s from libvirt failed: %s", vc->host,
			   virGetLastErrorMessage());
		return -1;
	}
	/* libvirt's type is "QEMU" for KVM and TCG alike; the chosen accelerator is what an
	 * operator wants to see, so a KVM host says "KVM". The test driver is "test". */
	snprintf(out->hypervisor_type, sizeof(out->hypervisor_type), "%s",
		 !strcmp(type, "TEST") ? "test" : vc->virt_type == VIRT_TYPE_KVM ? "KVM" : type);
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
	char *hostname = virConnectGetHostname(conn);
	snprintf(out->hypervisor_hostname, sizeof(out->hypervisor_hostname), "%s", hostname ? hostname : vc->host);
	free(hostname);
	struct statvfs sv;
	if (statvfs(vc->state_dir, &sv) == 0)
		out->local_gb = (long long)((unsigned long long)sv.f_blocks * sv.f_frsize >> 30);
	else
		log_warn("statvfs %s: %s (reporting local_gb 0)", vc->state_dir, strerror(errno));
	char *caps = virConnectGetCapabilities(conn);
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

/* libvirt's default event loop, on a thread of its own for the life of the process:
 * lifecycle events and connection keepalives need it, and it must exist before the first
 * qemu:///system connection is opened. */
static void *event_loop(void *arg)
{
	(void)arg;
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

static void tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

static void start_event_loop(void)
{
	pthread_t t;
	if (virEventRegisterDefaultImpl() < 0) {
		log_error("libvirt's event loop could not be set up: lifecycle events are off");
		return;
	}
	/* virEventRunDefaultImpl blocks until something happens: a periodic tick keeps it turning. */
	virEventAddTimeout(1000, tick, NULL, NULL);
	if (pthread_create(&t, NULL, event_loop, NULL) == 0)
		pthread_detach(t);
}

/* Every directory above the instance files must let QEMU (another user) through. */
static void check_reachable(const char *dir)
{
	char path[600];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *slash = strrchr(path, '/'); slash && slash != path; slash = strrchr(path, '/')) {
		struct stat st;
		*slash = '\0';
		if (stat(path, &st) == 0 && !(st.st_mode & S_IXOTH))
			log_warn("%s is mode %03o: QEMU, running as another user, cannot reach the instance files "
				 "below it (chmod o+x %s)", path, st.st_mode & 0777, path);
	}
}

static int qemu_setup(struct virt_conn *vc, const struct virt_host_config *cfg, struct nl_error *err)
{
	char why[512] = "", fallback[512] = "";
	vc->shutdown_timeout_s = cfg->shutdown_timeout_s >= 0 ? cfg->shutdown_timeout_s : 60;
	snprintf(vc->vnc_listen, sizeof(vc->vnc_listen), "%s", cfg->vnc_listen ? cfg->vnc_listen : "127.0.0.1");
	snprintf(vc->instances_dir, sizeof(vc->instances_dir), "%s/instances", cfg->state_dir);
	if ((mkdir(vc->instances_dir, 0711) < 0 && errno != EEXIST) || chmod(vc->instances_dir, 0711) < 0) {
		nl_err_set(err, 500, "Cannot create %s: %s.", vc->instances_dir, strerror(errno));
		return -1;
	}
	chmod(cfg->state_dir, 0711);
	check_reachable(vc->instances_dir);
	if (virt_probe_choose(cfg->virt_type ? cfg->virt_type : "auto", cfg->state_dir, NULL, cfg->kvm_probe_kernel,
			      cfg->kvm_probe_timeout_s * 1000, &vc->virt_type, why,
			      sizeof(why), err))
		return -1;
	log_info("host %s: virt type %s (%s)", vc->host, virt_type_name(vc->virt_type), why);
	vc->kvm_guard_silence_s = cfg->kvm_guard_silence_s;
	struct vnet_config nc = {
		.name = cfg->network_name ? cfg->network_name : "novalite",
		.mode = cfg->network_mode ? cfg->network_mode : "nat",
		.bridge = cfg->network_bridge && *cfg->network_bridge ? cfg->network_bridge : NULL,
		.address = "10.0.0.1", .prefix = 16,
	};
	if (vnet_ensure(vc->conn, &nc, &vc->net, fallback, sizeof(fallback), err))
		return -1;
	if (fallback[0])
		log_warn("host %s: guest network %s could not be used (%s): falling back to user-mode networking; "
			 "guests get 10.0.2.15 from QEMU, not the address the API shows", vc->host, nc.name, fallback);
	else
		log_info("host %s: guest network %s (%s)", vc->host, vc->net.name, nc.mode);
	return 0;
}

static struct virt_conn *lv_open(const struct virt_host_config *cfg, struct nl_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT, events_once = PTHREAD_ONCE_INIT;
	char uri[1200];
	struct utsname un;

	pthread_once(&once, quiet_libvirt);
	struct virt_conn *vc = nl_calloc(1, sizeof(*vc));
	pthread_mutex_init(&vc->mu, NULL);
	pthread_mutex_init(&vc->net_mu, NULL);
	vc->event_id = -1;
	snprintf(vc->host, sizeof(vc->host), "%s", cfg->host);
	snprintf(vc->state_dir, sizeof(vc->state_dir), "%s", cfg->state_dir);
	vc->fake_disk_gb = cfg->fake_disk_gb;
	vc->fake_spawn_delay_ms = cfg->fake_spawn_delay_ms;
	vc->fake_stop_delay_ms = cfg->fake_stop_delay_ms;
	snprintf(vc->arch, sizeof(vc->arch), "%s", uname(&un) == 0 ? un.machine : "x86_64");

	snprintf(uri, sizeof(uri), "%s", cfg->uri);
	if (!strncmp(cfg->uri, "test:", 5)) {
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
	} else {
		if (cfg->state_dir[0] != '/') {
			nl_err_set(err, 500, "The state directory must be an absolute path (got '%s').", cfg->state_dir);
			goto fail;
		}
		pthread_once(&events_once, start_event_loop);
	}
	snprintf(vc->uri, sizeof(vc->uri), "%s", uri);
	vc->conn = virConnectOpen(uri);
	if (!vc->conn) {
		nl_err_set(err, 500, "Cannot connect to libvirt at %s: %s", uri, virGetLastErrorMessage());
		goto fail;
	}
	const char *type = virConnectGetType(vc->conn);
	vc->fake = type && !strcmp(type, "TEST");
	if (!vc->fake) {
		/* Keepalives tell a dead libvirtd apart from a quiet one (5 s, 3 misses). */
		virConnectSetKeepAlive(vc->conn, 5, 3);
		if (qemu_setup(vc, cfg, err))
			goto fail;
	}
	log_debug("host %s: connected to %s (%s)", vc->host, uri, type ? type : "?");
	return vc;
fail:
	if (vc->conn)
		virConnectClose(vc->conn);
	pthread_mutex_destroy(&vc->mu);
	pthread_mutex_destroy(&vc->net_mu);
	free(vc);
	return NULL;
}

/* A restarted libvirtd closes our connection: open a new one (and watch its events
 * again) before the next operation. Guests keep running across a libvirtd restart.
 * Called with vc->mu held (conn_get); the old connection lives on while a thread still
 * holds a reference to it. */
static int ensure_connected(struct virt_conn *vc, struct nl_error *err)
{
	if (vc->fake || virConnectIsAlive(vc->conn) == 1)
		return 0;
	log_warn("host %s: the connection to libvirt was lost: reconnecting", vc->host);
	if (vc->event_id >= 0)
		virConnectDomainEventDeregisterAny(vc->conn, vc->event_id);
	vc->event_id = -1;
	virConnectClose(vc->conn);
	vc->conn = virConnectOpen(vc->uri);
	if (!vc->conn) {
		nl_err_set(err, 503, "Cannot reconnect to libvirt at %s: %s", vc->uri, virGetLastErrorMessage());
		return -1;
	}
	virConnectSetKeepAlive(vc->conn, 5, 3);
	if (vc->event_cb && register_events(vc, err))
		log_warn("host %s: %s", vc->host, err->msg);
	return 0;
}

static void lv_close(struct virt_conn *vc)
{
	if (!vc)
		return;
	if (vc->conn) {
		if (vc->event_id >= 0)
			virConnectDomainEventDeregisterAny(vc->conn, vc->event_id);
		virConnectClose(vc->conn);
	}
	for (size_t i = 0; i < vc->nconsoles; i++)
		free(vc->consoles[i].text);
	free(vc->consoles);
	pthread_mutex_destroy(&vc->mu);
	pthread_mutex_destroy(&vc->net_mu);
	free(vc);
}

/* ---- the KVM guard's hooks (kvm_guard.h decides; this only reads and rebuilds) ---------------- */

static const char *paused_reason(int reason)
{
	switch (reason) {
	case VIR_DOMAIN_PAUSED_UNKNOWN: return "unknown";
	case VIR_DOMAIN_PAUSED_IOERROR: return "I/O error";
	case VIR_DOMAIN_PAUSED_CRASHED: return "crashed";
	default: return NULL;   /* user, save, snapshot, migration...: asked for */
	}
}

static int lv_guard_info(struct virt_conn *vc, const char *uuid, struct virt_guard_info *out, struct nl_error *err)
{
	virDomainPtr dom;
	int state = VIR_DOMAIN_NOSTATE, reason = 0;
	struct virt_instance inst = { 0 };
	char path[700];
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (vc->fake)
		return 1;
	if (find_domain(vc, uuid, &dom, err))
		return -1;
	if (!dom)
		return 1;
	char *xml = virDomainGetXMLDesc(dom, 0);
	out->kvm = xml && strstr(xml, "<domain type='kvm'");
	free(xml);
	if (virDomainGetState(dom, &state, &reason, 0) == 0) {
		out->running = state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED;
		if (state == VIR_DOMAIN_PAUSED && paused_reason(reason)) {
			out->failed = true;
			snprintf(out->state, sizeof(out->state), "paused (%s)", paused_reason(reason));
		} else if (state == VIR_DOMAIN_CRASHED) {
			out->failed = true;
			snprintf(out->state, sizeof(out->state), "crashed");
		}
	}
	virDomainInfo info;
	if (virDomainGetInfo(dom, &info) == 0)
		out->cpu_time_ns = info.cpuTime;
	virDomainFree(dom);
	snprintf(inst.uuid, sizeof(inst.uuid), "%s", uuid);
	inst_path(vc, &inst, "console.log", path, sizeof(path));
	out->console_bytes = stat(path, &st) == 0 ? (long long)st.st_size : 0;
	out->silence_s = vc->kvm_guard_silence_s;
	return 0;
}

/* The domain's XML for TCG: type='qemu', and the host-passthrough CPU replaced by the
 * model TCG domains get (domain_xml.c). malloc'd. */
static char *xml_for_tcg(const char *xml)
{
	static const char kvm[] = "<domain type='kvm'", pass[] = "<cpu mode='host-passthrough'";
	static const char model[] = "<cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>";
	char *out = nl_calloc(1, strlen(xml) + sizeof(model) + 16);
	const char *p = strstr(xml, kvm), *c = strstr(xml, pass);
	size_t o = 0;
	if (!p) {
		strcpy(out, xml);
		return out;
	}
	memcpy(out, xml, (size_t)(p - xml));
	o = (size_t)(p - xml);
	o += (size_t)sprintf(out + o, "<domain type='qemu'");
	p += strlen(kvm);
	if (c && c > p) {
		const char *end = strstr(c, "/>"), *close = strstr(c, "</cpu>"), *gt = strchr(c, '>');
		const char *after = gt && gt[-1] == '/' ? gt + 1 : close ? close + 6 : end ? end + 2 : c;
		memcpy(out + o, p, (size_t)(c - p));
		o += (size_t)(c - p);
		o += (size_t)sprintf(out + o, "%s", model);
		p = after;
	}
	strcpy(out + o, p);
	return out;
}

static int lv_kvm_broken(struct virt_conn *vc, const char *uuid, const char *reason, struct nl_error *err)
{
	virDomainPtr dom, ndom;
	int rc = -1;

	if (vc->virt_type == VIRT_TYPE_KVM) {
		vc->virt_type = VIRT_TYPE_QEMU;
		virt_probe_mark_broken(vc->state_dir, reason);
		log_error("host %s: KVM marked broken (%s): this and the next guests use TCG; remove %s/kvm-broken.json "
			  "and restart the agent to try KVM again", vc->host, reason, vc->state_dir);
	}
	if (find_domain(vc, uuid, &dom, err))
		return -1;
	if (!dom)
		return 0;
	char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	if (!xml) {
		fail_virt(err, "Reading the domain of instance", uuid);
		goto out;
	}
	char *txml = xml_for_tcg(xml);
	free(xml);
	if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
		fail_virt(err, "Destroying the KVM domain of instance", uuid);
		free(txml);
		goto out;
	}
	virConnectPtr c = conn_get(vc, err);  /* our own reference: a reconnect cannot free it */
	ndom = c ? virDomainDefineXML(c, txml) : NULL;
	free(txml);
	if (c)
		virConnectClose(c);
	if (!ndom) {
		if (!err->msg[0])
			fail_virt(err, "Redefining under TCG the domain of instance", uuid);
		goto out;
	}
	if (virDomainCreate(ndom) < 0)
		fail_virt(err, "Starting under TCG the domain of instance", uuid);
	else
		rc = 0;
	virDomainFree(ndom);
out:
	virDomainFree(dom);
	return rc;
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
	.needs_image = lv_needs_image,
	.snapshot = lv_snapshot,
	.console_address = lv_console_address,
	.watch_events = lv_watch_events,
	.guard_info = lv_guard_info,
	.kvm_broken = lv_kvm_broken,
};

const struct virt_driver *virt_driver_for_uri(const char *uri)
{
	(void)uri;
	return &virt_libvirt_driver;
}
