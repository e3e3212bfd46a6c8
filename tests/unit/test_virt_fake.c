/* compute/virt_libvirt.c over libvirt's test driver (the fake hypervisor): host facts
 * match the configured resources, every lifecycle call is idempotent and lands in the
 * Nova power state it should, hosts are isolated from each other, and the synthetic
 * console says what a user expects. Each test gets its own host (node file in a
 * temporary state dir, removed afterwards). No daemon needed: the test driver is
 * in-process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "compute/domain_xml.h"
#include "compute/virt.h"

static const struct virt_driver *drv = &virt_libvirt_driver;

struct fixture {
	char dir[512];
	struct virt_conn *conn;
};

static struct virt_conn *open_host(const char *dir, const char *host, int vcpus, long long ram_mb,
				   long long disk_gb)
{
	struct virt_host_config cfg = {
		.uri = "test:///default", .host = host, .state_dir = dir,
		.fake_vcpus = vcpus, .fake_ram_mb = ram_mb, .fake_disk_gb = disk_gb,
	};
	struct nl_error err = { 0 };
	struct virt_conn *c = drv->open(&cfg, &err);
	if (!c)
		fail_msg("open failed: %s", err.msg);
	return c;
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "%s/nl-test-virt-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	fx->conn = open_host(fx->dir, "fake-0001", 16, 32768, 1000);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[1100];
	drv->close(fx->conn);
	snprintf(path, sizeof(path), "%s/fake-node-fake-0001.xml", fx->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fake-node-fake-0002.xml", fx->dir);
	unlink(path);
	assert_int_equal(rmdir(fx->dir), 0);
	free(fx);
	return 0;
}

static struct virt_instance instance(long long id)
{
	struct virt_instance inst = { .id = id, .vcpus = 1, .memory_mb = 512, .root_gb = 1 };
	snprintf(inst.uuid, sizeof(inst.uuid), "6f1c2a3e-0000-4000-8000-%012llx", id);
	snprintf(inst.hostname, sizeof(inst.hostname), "vm%lld", id);
	snprintf(inst.display_name, sizeof(inst.display_name), "vm <%lld> & 'friends'", id);
	snprintf(inst.flavor_name, sizeof(inst.flavor_name), "m1.tiny");
	snprintf(inst.fixed_ip, sizeof(inst.fixed_ip), "10.0.0.%lld", id);
	snprintf(inst.mac_address, sizeof(inst.mac_address), "fa:16:3e:00:00:%02llx", id);
	virt_instance_set_name(&inst);
	return inst;
}

static int power(struct virt_conn *c, const struct virt_instance *inst)
{
	struct nl_error err = { 0 };
	int st = -100;
	assert_int_equal(drv->get_power_state(c, inst->uuid, &st, &err), 0);
	return st;
}

/* CHECK(spawn, conn, &inst): the driver call must succeed; its err message otherwise. */
#define CHECK(fn, ...) do { \
	struct nl_error err_ = { 0 }; \
	if (drv->fn(__VA_ARGS__, &err_) != 0) \
		fail_msg("%s(%s) failed: %s", #fn, #__VA_ARGS__, err_.msg); \
} while (0)

static void test_host_info(void **state)
{
	struct fixture *fx = *state;
	struct virt_host_info hi;
	CHECK(host_info, fx->conn, &hi);
	assert_string_equal(hi.hypervisor_type, "test");
	assert_string_equal(hi.hypervisor_hostname, "fake-0001");
	assert_true(hi.hypervisor_version > 0);
	assert_int_equal(hi.vcpus, 16);
	assert_int_equal(hi.memory_mb, 32768);
	assert_int_equal(hi.local_gb, 1000);
	assert_true(hi.arch[0] != '\0');
	assert_int_equal(hi.cpu.sockets * hi.cpu.cores * hi.cpu.threads, 16);
}

/* Odd sizes survive the KiB conversion, and a second host has its own numbers. */
static void test_host_info_other_sizes(void **state)
{
	struct fixture *fx = *state;
	struct virt_conn *c = open_host(fx->dir, "fake-0002", 3, 1536, 7);
	struct virt_host_info hi;
	CHECK(host_info, c, &hi);
	assert_int_equal(hi.vcpus, 3);
	assert_int_equal(hi.memory_mb, 1536);
	assert_int_equal(hi.local_gb, 7);
	assert_string_equal(hi.hypervisor_hostname, "fake-0002");
	drv->close(c);
}

static void test_spawn_idempotent(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance inst = instance(10);
	assert_string_equal(inst.name, "instance-0000000a");
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_MISSING);
	CHECK(spawn, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	CHECK(spawn, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	/* spawn of a stopped domain just starts it */
	CHECK(power_off, fx->conn, &inst);
	CHECK(spawn, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
}

static void test_power_off_on(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance inst = instance(11);
	CHECK(spawn, fx->conn, &inst);
	CHECK(power_off, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_SHUTDOWN);
	CHECK(power_off, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_SHUTDOWN);
	CHECK(power_on, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	CHECK(power_on, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
}

/* A restarted fake lost its domains: stop defines it (off), start defines and runs it. */
static void test_missing_domain_recovery(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance a = instance(12), b = instance(13);
	CHECK(power_off, fx->conn, &a);
	assert_int_equal(power(fx->conn, &a), VIRT_POWER_SHUTDOWN);
	CHECK(power_on, fx->conn, &b);
	assert_int_equal(power(fx->conn, &b), VIRT_POWER_RUNNING);
}

static void test_pause_unpause(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance inst = instance(14);
	struct nl_error err = { 0 };
	assert_int_equal(drv->pause(fx->conn, &inst, &err), -1);   /* missing */
	assert_int_equal(err.status, 404);
	CHECK(spawn, fx->conn, &inst);
	CHECK(pause, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_PAUSED);
	CHECK(pause, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_PAUSED);
	CHECK(unpause, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	CHECK(unpause, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	/* pausing a stopped server is a conflict, not a crash */
	CHECK(power_off, fx->conn, &inst);
	memset(&err, 0, sizeof(err));
	assert_int_equal(drv->pause(fx->conn, &inst, &err), -1);
	assert_int_equal(err.status, 409);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_SHUTDOWN);
}

/* Suspended is "shut off with a managed save image": power state SHUTDOWN as in Nova.
 * What tells it from stopped: resume restores the guest (no new boot on the console),
 * while a stopped server boots afresh. */
static void drain(struct virt_conn *c, const struct virt_instance *inst)
{
	free(drv->console_text(c, inst));
}

static void test_suspend_resume(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance inst = instance(15);
	char *text;

	CHECK(spawn, fx->conn, &inst);
	CHECK(suspend, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_SHUTDOWN);
	CHECK(suspend, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_SHUTDOWN);
	drain(fx->conn, &inst);
	CHECK(resume, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	assert_null(drv->console_text(fx->conn, &inst));   /* restored, not booted */
	CHECK(resume, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	/* a paused server can be suspended too */
	CHECK(pause, fx->conn, &inst);
	CHECK(suspend, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_SHUTDOWN);
	/* stop drops the saved state: the next start is a fresh boot */
	CHECK(power_off, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_SHUTDOWN);
	drain(fx->conn, &inst);
	CHECK(power_on, fx->conn, &inst);
	text = drv->console_text(fx->conn, &inst);
	assert_non_null(text);
	assert_non_null(strstr(text, "Linux version"));
	free(text);
	/* suspending a stopped server is a conflict */
	struct nl_error err = { 0 };
	CHECK(power_off, fx->conn, &inst);
	assert_int_equal(drv->suspend(fx->conn, &inst, &err), -1);
	assert_int_equal(err.status, 409);
	/* a suspended server can be deleted */
	CHECK(power_on, fx->conn, &inst);
	CHECK(suspend, fx->conn, &inst);
	CHECK(destroy, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_MISSING);
}

static void test_reboot(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance inst = instance(16);
	CHECK(spawn, fx->conn, &inst);
	CHECK(reboot, fx->conn, &inst, false);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	CHECK(reboot, fx->conn, &inst, true);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	/* soft reboot of a stopped or paused server falls back to hard, which runs it */
	CHECK(power_off, fx->conn, &inst);
	CHECK(reboot, fx->conn, &inst, false);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	CHECK(pause, fx->conn, &inst);
	CHECK(reboot, fx->conn, &inst, false);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
	/* hard reboot recreates a lost domain */
	CHECK(destroy, fx->conn, &inst);
	CHECK(reboot, fx->conn, &inst, true);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_RUNNING);
}

static void test_destroy_twice(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance inst = instance(17);
	CHECK(destroy, fx->conn, &inst);   /* never existed */
	CHECK(spawn, fx->conn, &inst);
	CHECK(destroy, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_MISSING);
	CHECK(destroy, fx->conn, &inst);
	/* a stopped domain is undefined too */
	CHECK(power_off, fx->conn, &inst);
	CHECK(destroy, fx->conn, &inst);
	assert_int_equal(power(fx->conn, &inst), VIRT_POWER_MISSING);
}

static bool listed(char (*uuids)[VIRT_UUID_LEN + 1], size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(uuids[i], uuid))
			return true;
	return false;
}

static void test_list_domains_and_isolation(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance a = instance(18), b = instance(19), c = instance(20);
	char (*uuids)[VIRT_UUID_LEN + 1] = NULL;
	size_t n = 99;

	CHECK(list_domains, fx->conn, &uuids, &n);
	assert_int_equal(n, 0);
	free(uuids);
	CHECK(spawn, fx->conn, &a);
	CHECK(power_off, fx->conn, &b);   /* defined, not running: still listed */

	/* Another host (even from the same process) sees none of them. */
	struct virt_conn *other = open_host(fx->dir, "fake-0002", 4, 4096, 10);
	CHECK(spawn, other, &c);
	assert_int_equal(power(other, &a), VIRT_POWER_MISSING);

	CHECK(list_domains, fx->conn, &uuids, &n);
	assert_int_equal(n, 2);
	assert_true(listed(uuids, n, a.uuid));
	assert_true(listed(uuids, n, b.uuid));
	assert_false(listed(uuids, n, c.uuid));
	free(uuids);
	CHECK(list_domains, other, &uuids, &n);
	assert_int_equal(n, 1);
	assert_true(listed(uuids, n, c.uuid));
	free(uuids);
	drv->close(other);
}

static void test_console(void **state)
{
	struct fixture *fx = *state;
	struct virt_instance inst = instance(21);
	char *text;

	assert_null(drv->console_text(fx->conn, &inst));
	CHECK(spawn, fx->conn, &inst);
	text = drv->console_text(fx->conn, &inst);
	assert_non_null(text);
	assert_non_null(strstr(text, "Linux version"));
	assert_non_null(strstr(text, "novalite-fake"));
	assert_non_null(strstr(text, "running 'init-local'"));
	assert_non_null(strstr(text, "10.0.0.21"));
	assert_non_null(strstr(text, "vm21 login:"));
	free(text);
	/* read once: nothing new until the next boot */
	assert_null(drv->console_text(fx->conn, &inst));
	CHECK(spawn, fx->conn, &inst);
	assert_null(drv->console_text(fx->conn, &inst));
	CHECK(reboot, fx->conn, &inst, false);
	text = drv->console_text(fx->conn, &inst);
	assert_non_null(text);
	assert_non_null(strstr(text, "reboot: Restarting system"));
	assert_non_null(strstr(text, "vm21 login:"));
	free(text);
	CHECK(power_off, fx->conn, &inst);
	text = drv->console_text(fx->conn, &inst);
	assert_non_null(text);
	assert_non_null(strstr(text, "reboot: Power down"));
	free(text);
	CHECK(destroy, fx->conn, &inst);
	assert_null(drv->console_text(fx->conn, &inst));
}

/* User-given names are escaped, and the XML carries the name, uuid and sizes. */
static void test_domain_xml(void **state)
{
	(void)state;
	struct virt_instance inst = instance(22);
	struct domain_opts o = { .kind = DOMAIN_TEST, .arch = "x86_64" };
	char *xml = domain_xml_new(&inst, &o);
	assert_non_null(strstr(xml, "<domain type='test'>"));
	assert_non_null(strstr(xml, "<name>instance-00000016</name>"));
	assert_non_null(strstr(xml, inst.uuid));
	assert_non_null(strstr(xml, "<memory unit='KiB'>524288</memory>"));
	assert_non_null(strstr(xml, "vm &lt;22&gt; &amp; &apos;friends&apos;"));
	assert_null(strstr(xml, "<22>"));
	free(xml);
	/* QEMU: TCG with a safe CPU model, virtio disk, config drive cdrom, console file,
	 * VNC on the given address. */
	o = (struct domain_opts){ .kind = DOMAIN_QEMU, .arch = "x86_64", .disk_path = "/i/disk",
				  .config_path = "/i/disk.config", .console_path = "/i/console.log",
				  .vnc_listen = "127.0.0.1" };
	xml = domain_xml_new(&inst, &o);
	assert_non_null(strstr(xml, "<domain type='qemu'>"));
	assert_non_null(strstr(xml, "<model fallback='allow'>qemu64</model>"));
	assert_null(strstr(xml, "host-passthrough"));
	assert_non_null(strstr(xml, "<source file='/i/disk'/>\n      <target dev='vda' bus='virtio'/>"));
	assert_non_null(strstr(xml, "<source file='/i/disk.config'/>\n      <target dev='hdd' bus='ide'/>"));
	assert_non_null(strstr(xml, "<source path='/i/console.log' append='on'/>"));
	assert_non_null(strstr(xml, "<graphics type='vnc' autoport='yes' listen='127.0.0.1'>"));
	assert_null(strstr(xml, "<interface"));
	free(xml);
	/* KVM: host-passthrough. Image properties pick the bus, unknown values are ignored. */
	json_t *props = json_pack("{s:s, s:s}", "hw_disk_bus", "scsi", "hw_machine_type", "evil'/><x");
	inst.image_properties = props;
	o.kvm = true;
	o.config_path = NULL;
	xml = domain_xml_new(&inst, &o);
	assert_non_null(strstr(xml, "<domain type='kvm'>"));
	assert_non_null(strstr(xml, "<cpu mode='host-passthrough' check='none'/>"));
	assert_non_null(strstr(xml, "<target dev='sda' bus='scsi'/>"));
	assert_non_null(strstr(xml, "machine='pc'"));
	assert_null(strstr(xml, "evil"));
	assert_null(strstr(xml, "cdrom"));
	free(xml);
	json_decref(props);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_info_other_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_off_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_domain_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_unpause, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suspend_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reboot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_domains_and_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_console, setup, teardown),
		cmocka_unit_test(test_domain_xml),
	};
	return cmocka_run_group_tests_name("virt_fake", tests, NULL, NULL);
}
