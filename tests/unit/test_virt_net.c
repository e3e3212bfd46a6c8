/* compute/virt_net.c against two libvirt backends:
 *  - test:///default, libvirt's in-process test driver, which supports networks and
 *    virNetworkUpdate (but not VIR_NETWORK_XML_INACTIVE): always runs;
 *  - qemu:///system, the real network driver (bridge, dnsmasq), only when libvirtd is
 *    running (/run/libvirt/libvirt-sock), with an isolated network of a unique name and
 *    bridge on 10.254.N.0/24, destroyed and undefined afterwards whatever happened.
 * Checked: ensure creates (persistent, autostart, active) and is then a no-op; an existing
 * network is used as it is; reservations are idempotent, move an address away from a
 * stale MAC, and disappear on release (twice is fine); the network XML shows exactly the
 * expected <host> entries; interface XML for each mode; config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "compute/virt_net.h"

#define SYSTEM_SOCKET "/run/libvirt/libvirt-sock"

struct fixture {
	const char *uri;
	virConnectPtr conn;
	char name[64], bridge[16], address[32], subnet[32];   /* subnet: "10.254.N." */
	struct vnet_config cfg;
};

static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

/* Destroys and undefines the fixture's network (and a second one named name2): tests
 * must leave nothing behind on a real host. */
static void drop_network(virConnectPtr conn, const char *name)
{
	virNetworkPtr n = virNetworkLookupByName(conn, name);
	if (!n)
		return;
	if (virNetworkIsActive(n) == 1)
		virNetworkDestroy(n);
	if (virNetworkIsPersistent(n) == 1)
		virNetworkUndefine(n);
	virNetworkFree(n);
}

static int setup_uri(void **state, const char *uri)
{
	static int seq;
	struct fixture *fx = calloc(1, sizeof(*fx));
	int pid = (int)getpid();

	assert_non_null(fx);
	fx->uri = uri;
	seq++;
	/* unique per process and test; a bridge name has at most 15 characters */
	snprintf(fx->name, sizeof(fx->name), "nltest%d-%d", pid, seq);
	snprintf(fx->bridge, sizeof(fx->bridge), "nlt%db%d", pid % 1000000, seq % 100);
	snprintf(fx->subnet, sizeof(fx->subnet), "10.254.%d.", 10 + (pid * 7 + seq) % 240);
	snprintf(fx->address, sizeof(fx->address), "%s1", fx->subnet);
	fx->cfg = (struct vnet_config){
		.name = fx->name, .mode = "isolated", .bridge = fx->bridge, .address = fx->address, .prefix = 24,
	};
	if (strncmp(uri, "test:", 5) && access(SYSTEM_SOCKET, F_OK) != 0) {
		*state = fx;   /* conn stays NULL: the test skips */
		return 0;
	}
	fx->conn = virConnectOpen(uri);
	if (!fx->conn)
		fail_msg("virConnectOpen(%s) failed: %s", uri, virGetLastErrorMessage());
	*state = fx;
	return 0;
}

static int setup_test_driver(void **state) { return setup_uri(state, "test:///default"); }
static int setup_system(void **state) { return setup_uri(state, "qemu:///system"); }

static int teardown(void **state)
{
	struct fixture *fx = *state;
	if (fx->conn) {
		char other[80];
		drop_network(fx->conn, fx->name);
		snprintf(other, sizeof(other), "%s-x", fx->name);
		drop_network(fx->conn, other);
		virConnectClose(fx->conn);
	}
	free(fx);
	return 0;
}

/* Skips a qemu:///system test when libvirtd is not running. */
#define NEED_CONN(fx) do { \
	if (!(fx)->conn) { \
		print_message("SKIP: %s is not running (no %s)\n", (fx)->uri, SYSTEM_SOCKET); \
		skip(); \
		return; \
	} \
} while (0)

static char *net_xml(struct fixture *fx, unsigned int flags)
{
	virNetworkPtr n = virNetworkLookupByName(fx->conn, fx->name);
	assert_non_null(n);
	char *xml = virNetworkGetXMLDesc(n, flags);
	if (!xml)
		fail_msg("virNetworkGetXMLDesc: %s", virGetLastErrorMessage());
	virNetworkFree(n);
	return xml;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The <host> entries of both views (live, and the persistent config where the driver
 * can show it) must be exactly `expected` (each a full "<host .../>" string). */
static void expect_hosts(struct fixture *fx, const char *const expected[], int n)
{
	for (int view = 0; view < 2; view++) {
		if (view == 1 && !strncmp(fx->uri, "test:", 5))
			break;   /* the test driver has no VIR_NETWORK_XML_INACTIVE */
		char *xml = net_xml(fx, view ? VIR_NETWORK_XML_INACTIVE : 0);
		int found = count(xml, "<host ");
		for (int i = 0; i < n; i++)
			if (count(xml, expected[i]) != 1)
				fail_msg("%s view lacks %s:\n%s", view ? "config" : "live", expected[i], xml);
		if (found != n)
			fail_msg("%s view has %d hosts, expected %d:\n%s", view ? "config" : "live", found, n, xml);
		free(xml);
	}
}

static void ensure_ok(struct fixture *fx, struct vnet *out)
{
	struct nl_error err = { 0 };
	char why[512] = "x";
	if (vnet_ensure(fx->conn, &fx->cfg, out, why, sizeof(why), &err) != 0)
		fail_msg("vnet_ensure failed: %s", err.msg);
	if (why[0])
		fail_msg("vnet_ensure fell back to user mode: %s", why);
}

static void test_ensure(void **state)
{
	struct fixture *fx = *state;
	struct vnet net, again;
	char exp[128], uuid1[VIR_UUID_STRING_BUFLEN], uuid2[VIR_UUID_STRING_BUFLEN];

	NEED_CONN(fx);
	assert_null(virNetworkLookupByName(fx->conn, fx->name));
	ensure_ok(fx, &net);
	assert_int_equal(net.mode, VNET_ISOLATED);
	assert_string_equal(net.name, fx->name);
	assert_string_equal(net.bridge, fx->bridge);
	assert_string_equal(net.address, fx->address);
	assert_int_equal(net.prefix, 24);

	virNetworkPtr n = virNetworkLookupByName(fx->conn, fx->name);
	assert_non_null(n);
	int autostart = 0;
	assert_int_equal(virNetworkGetAutostart(n, &autostart), 0);
	assert_int_equal(autostart, 1);
	assert_int_equal(virNetworkIsActive(n), 1);
	assert_int_equal(virNetworkIsPersistent(n), 1);
	assert_int_equal(virNetworkGetUUIDString(n, uuid1), 0);
	virNetworkFree(n);

	char *xml = net_xml(fx, 0);
	assert_null(strstr(xml, "<forward"));
	snprintf(exp, sizeof(exp), "<bridge name='%s'", fx->bridge);
	assert_non_null(strstr(xml, exp));
	snprintf(exp, sizeof(exp), "<ip address='%s1' prefix='24'>", fx->subnet);
	assert_non_null(strstr(xml, exp));
	snprintf(exp, sizeof(exp), "<range start='%s2' end='%s254'", fx->subnet, fx->subnet);
	assert_non_null(strstr(xml, exp));
	free(xml);

	/* Again: nothing changes. */
	ensure_ok(fx, &again);
	assert_memory_equal(&net, &again, sizeof(net));
	n = virNetworkLookupByName(fx->conn, fx->name);
	assert_int_equal(virNetworkGetUUIDString(n, uuid2), 0);
	virNetworkFree(n);
	assert_string_equal(uuid1, uuid2);

	/* Stopped (host reboot without autostart): ensure starts it again. */
	n = virNetworkLookupByName(fx->conn, fx->name);
	assert_int_equal(virNetworkDestroy(n), 0);
	ensure_ok(fx, &again);
	assert_int_equal(virNetworkIsActive(n), 1);
	virNetworkFree(n);
}

static void reserve_ok(struct fixture *fx, const struct vnet *net, const char *mac, const char *ip,
		       const char *name)
{
	struct nl_error err = { 0 };
	if (vnet_reserve(fx->conn, net, mac, ip, name, &err) != 0)
		fail_msg("vnet_reserve(%s, %s) failed: %s", mac, ip, err.msg);
}

static void release_ok(struct fixture *fx, const struct vnet *net, const char *mac)
{
	struct nl_error err = { 0 };
	if (vnet_release(fx->conn, net, mac, &err) != 0)
		fail_msg("vnet_release(%s) failed: %s", mac, err.msg);
}

static void test_reservations(void **state)
{
	struct fixture *fx = *state;
	struct vnet net;
	char ip10[32], ip11[32], ip12[32], e1[128], e2[128], e3[128], e4[128];

	NEED_CONN(fx);
	ensure_ok(fx, &net);
	snprintf(ip10, sizeof(ip10), "%s10", fx->subnet);
	snprintf(ip11, sizeof(ip11), "%s11", fx->subnet);
	snprintf(ip12, sizeof(ip12), "%s12", fx->subnet);

	/* Twice: one entry. */
	reserve_ok(fx, &net, "fa:16:3e:00:00:01", ip10, "vm1");
	reserve_ok(fx, &net, "fa:16:3e:00:00:01", ip10, "vm1");
	snprintf(e1, sizeof(e1), "<host mac='fa:16:3e:00:00:01' name='vm1' ip='%s'/>", ip10);
	expect_hosts(fx, (const char *const[]){ e1 }, 1);

	/* Upper-case MAC: the same NIC (libvirt stores lower case). */
	reserve_ok(fx, &net, "FA:16:3E:00:00:01", ip10, "vm1");
	expect_hosts(fx, (const char *const[]){ e1 }, 1);

	/* The same address for a new MAC: the stale entry (a deleted server) goes. */
	reserve_ok(fx, &net, "fa:16:3e:00:00:02", ip10, "vm2");
	snprintf(e2, sizeof(e2), "<host mac='fa:16:3e:00:00:02' name='vm2' ip='%s'/>", ip10);
	expect_hosts(fx, (const char *const[]){ e2 }, 1);

	/* The same MAC with a new address (and name): replaced. */
	reserve_ok(fx, &net, "fa:16:3e:00:00:02", ip11, "vm2b");
	snprintf(e2, sizeof(e2), "<host mac='fa:16:3e:00:00:02' name='vm2b' ip='%s'/>", ip11);
	expect_hosts(fx, (const char *const[]){ e2 }, 1);

	/* Two servers with the same host name: the second entry goes without a name, and
	 * repeating it changes nothing. */
	reserve_ok(fx, &net, "fa:16:3e:00:00:03", ip12, "vm2b");
	snprintf(e3, sizeof(e3), "<host mac='fa:16:3e:00:00:03' ip='%s'/>", ip12);
	expect_hosts(fx, (const char *const[]){ e2, e3 }, 2);
	reserve_ok(fx, &net, "fa:16:3e:00:00:03", ip12, "vm2b");
	expect_hosts(fx, (const char *const[]){ e2, e3 }, 2);

	/* No name at all. */
	snprintf(e4, sizeof(e4), "<host mac='fa:16:3e:00:00:04' ip='%s20'/>", fx->subnet);
	char ip20[32];
	snprintf(ip20, sizeof(ip20), "%s20", fx->subnet);
	reserve_ok(fx, &net, "fa:16:3e:00:00:04", ip20, NULL);
	expect_hosts(fx, (const char *const[]){ e2, e3, e4 }, 3);

	/* The real network driver hands the live entries to dnsmasq. */
	if (!strncmp(fx->uri, "qemu:", 5)) {
		char path[256], want[128], text[4096] = "";
		snprintf(path, sizeof(path), "/var/lib/libvirt/dnsmasq/%s.hostsfile", fx->name);
		FILE *f = fopen(path, "r");
		if (f) {
			text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
			fclose(f);
			snprintf(want, sizeof(want), "fa:16:3e:00:00:02,%s,vm2b\n", ip11);
			assert_non_null(strstr(text, want));
			snprintf(want, sizeof(want), "fa:16:3e:00:00:03,%s\n", ip12);
			assert_non_null(strstr(text, want));
			assert_null(strstr(text, "fa:16:3e:00:00:01"));
		} else {
			print_message("note: no %s to check\n", path);
		}
	}

	/* Release, twice; an unknown MAC is fine too. */
	release_ok(fx, &net, "fa:16:3e:00:00:02");
	release_ok(fx, &net, "fa:16:3e:00:00:02");
	release_ok(fx, &net, "fa:16:3e:00:00:99");
	expect_hosts(fx, (const char *const[]){ e3, e4 }, 2);
	release_ok(fx, &net, "FA:16:3E:00:00:03");
	release_ok(fx, &net, "fa:16:3e:00:00:04");
	expect_hosts(fx, NULL, 0);

	/* An address outside the subnet (libvirt would take it, dnsmasq would ignore it). */
	struct nl_error err = { 0 };
	assert_int_equal(vnet_reserve(fx->conn, &net, "fa:16:3e:00:00:05", "192.0.2.77", "x", &err), -1);
	print_message("error: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "Reserving 192.0.2.77 for fa:16:3e:00:00:05 failed: the address is not in"));
	expect_hosts(fx, NULL, 0);
	/* libvirt's own refusal (a malformed MAC) comes back as a sentence about the reservation */
	assert_int_equal(vnet_reserve(fx->conn, &net, "fa:16:3e:zz", ip10, "x", &err), -1);
	print_message("error: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "Reserving "));
	assert_non_null(strstr(err.msg, "for fa:16:3e:zz in the persistent config of the libvirt network"));

	/* Without the network: release succeeds, reserve says what is missing. */
	drop_network(fx->conn, fx->name);
	release_ok(fx, &net, "fa:16:3e:00:00:01");
	assert_int_equal(vnet_reserve(fx->conn, &net, "fa:16:3e:00:00:01", ip10, "vm1", &err), -1);
	assert_non_null(strstr(err.msg, "does not exist"));
}

/* A network that is already there is used as it is, even in another mode. */
static void test_existing_network_kept(void **state)
{
	struct fixture *fx = *state;
	struct vnet net;
	char xml[1024];

	NEED_CONN(fx);
	snprintf(xml, sizeof(xml),
		 "<network><name>%s</name><bridge name='%s' stp='on' delay='0'/>"
		 "<ip address='%s1' netmask='255.255.255.0'><dhcp><range start='%s100' end='%s200'/></dhcp></ip>"
		 "</network>", fx->name, fx->bridge, fx->subnet, fx->subnet, fx->subnet);
	virNetworkPtr n = virNetworkDefineXML(fx->conn, xml);
	if (!n)
		fail_msg("define: %s", virGetLastErrorMessage());
	virNetworkFree(n);

	/* Configured nat on another bridge; found isolated (no NAT rules on a real host). */
	fx->cfg.mode = "nat";
	fx->cfg.bridge = "nlother0";
	ensure_ok(fx, &net);   /* logs a warning */
	assert_int_equal(net.mode, VNET_ISOLATED);
	assert_string_equal(net.bridge, fx->bridge);
	assert_string_equal(net.address, fx->address);
	assert_int_equal(net.prefix, 24);   /* from the netmask */
	char *live = net_xml(fx, 0);
	assert_null(strstr(live, "<forward"));
	free(live);
}

/* A network libvirt refuses to define or start: user mode, and why. */
static void test_fallback(void **state)
{
	struct fixture *fx = *state;
	struct nl_error err = { 0 };
	struct vnet net, first;
	char why[512], other[80];

	NEED_CONN(fx);
	if (!strncmp(fx->uri, "test:", 5)) {
		print_message("SKIP: the test driver starts any valid network (even two on one bridge)\n");
		skip();
		return;
	}
	ensure_ok(fx, &first);
	/* A second network on the same bridge. */
	snprintf(other, sizeof(other), "%s-x", fx->name);
	fx->cfg.name = other;
	assert_int_equal(vnet_ensure(fx->conn, &fx->cfg, &net, why, sizeof(why), &err), 0);
	print_message("fallback: %s\n", why);
	assert_int_equal(net.mode, VNET_USER);
	assert_true(why[0] != '\0');
	assert_non_null(strstr(why, other));
	/* Defined, but it cannot start: the subnet is taken by the first network. */
	char bridge2[16];
	snprintf(bridge2, sizeof(bridge2), "%sx", fx->bridge);
	fx->cfg.bridge = bridge2;
	assert_int_equal(vnet_ensure(fx->conn, &fx->cfg, &net, why, sizeof(why), &err), 0);
	print_message("fallback: %s\n", why);
	assert_int_equal(net.mode, VNET_USER);
	assert_non_null(strstr(why, "Starting the libvirt network"));
	virNetworkPtr n = virNetworkLookupByName(fx->conn, other);
	assert_non_null(n);   /* left defined for the operator */
	assert_int_equal(virNetworkIsActive(n), 0);
	virNetworkFree(n);

	/* user mode: reservations are no-ops */
	assert_int_equal(vnet_reserve(fx->conn, &net, "fa:16:3e:00:00:01", "10.0.0.5", "a", &err), 0);
	assert_int_equal(vnet_release(fx->conn, &net, "fa:16:3e:00:00:01", &err), 0);
}

static void test_config_errors(void **state)
{
	struct fixture *fx = *state;
	struct nl_error err = { 0 };
	struct vnet net;
	char why[256];
	struct vnet_config c;

	NEED_CONN(fx);
	c = fx->cfg;
	c.mode = "vlan";
	assert_int_equal(vnet_ensure(fx->conn, &c, &net, why, sizeof(why), &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.msg, "'vlan'"));
	c = fx->cfg;
	c.address = "10.0.0.300";
	assert_int_equal(vnet_ensure(fx->conn, &c, &net, why, sizeof(why), &err), -1);
	c = fx->cfg;
	c.prefix = 31;
	assert_int_equal(vnet_ensure(fx->conn, &c, &net, why, sizeof(why), &err), -1);
	c = fx->cfg;
	c.bridge = "a-very-long-bridge-name";
	assert_int_equal(vnet_ensure(fx->conn, &c, &net, why, sizeof(why), &err), -1);
	assert_non_null(strstr(err.msg, "longer than 15"));
	c = fx->cfg;
	c.mode = "bridge";
	c.bridge = NULL;
	assert_int_equal(vnet_ensure(fx->conn, &c, &net, why, sizeof(why), &err), -1);
	assert_non_null(strstr(err.msg, "network_bridge"));
	c.bridge = "nlnosuchbr0";
	assert_int_equal(vnet_ensure(fx->conn, &c, &net, why, sizeof(why), &err), -1);
	assert_non_null(strstr(err.msg, "nlnosuchbr0"));
	assert_null(virNetworkLookupByName(fx->conn, fx->name));   /* nothing was created */

	/* user mode: nothing to set up */
	c.mode = "user";
	assert_int_equal(vnet_ensure(fx->conn, &c, &net, why, sizeof(why), &err), 0);
	assert_int_equal(net.mode, VNET_USER);
	assert_string_equal(why, "");
	assert_int_equal(vnet_mode_parse("nat"), VNET_NAT);
	assert_int_equal(vnet_mode_parse("isolated"), VNET_ISOLATED);
	assert_int_equal(vnet_mode_parse("bridge"), VNET_BRIDGE);
	assert_int_equal(vnet_mode_parse("user"), VNET_USER);
	assert_int_equal(vnet_mode_parse("NAT"), -1);
	assert_int_equal(vnet_mode_parse(NULL), -1);
}

/* Bridge mode on a real bridge: the one our isolated network just created. */
static void test_bridge_mode(void **state)
{
	struct fixture *fx = *state;
	struct nl_error err = { 0 };
	struct vnet net, br;
	char why[256];

	NEED_CONN(fx);
	ensure_ok(fx, &net);
	struct vnet_config c = fx->cfg;
	c.mode = "bridge";
	if (vnet_ensure(fx->conn, &c, &br, why, sizeof(why), &err) != 0) {
		/* the test driver makes no real bridge */
		print_message("SKIP: no host bridge %s (%s)\n", fx->bridge, err.msg);
		skip();
		return;
	}
	assert_int_equal(br.mode, VNET_BRIDGE);
	assert_string_equal(br.bridge, fx->bridge);
	assert_int_equal(vnet_reserve(fx->conn, &br, "fa:16:3e:00:00:01", "10.0.0.5", "a", &err), 0);
	expect_hosts(fx, NULL, 0);   /* no reservation in bridge mode */
}

static char *iface(const struct vnet *net, const char *mac, const char *model)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	vnet_interface_xml(f, net, mac, model);
	fclose(f);
	return buf;
}

static void test_interface_xml(void **state)
{
	(void)state;
	struct vnet net = { .mode = VNET_ISOLATED, .name = "novalite", .bridge = "nlbr0" };
	char *x = iface(&net, "fa:16:3e:00:00:01", NULL);
	assert_string_equal(x, "    <interface type='network'>\n"
			       "      <source network='novalite'/>\n"
			       "      <mac address='fa:16:3e:00:00:01'/>\n"
			       "      <model type='virtio'/>\n"
			       "    </interface>\n");
	free(x);
	net.mode = VNET_NAT;
	x = iface(&net, "fa:16:3e:00:00:01", "e1000");
	assert_non_null(strstr(x, "<interface type='network'>"));
	assert_non_null(strstr(x, "<model type='e1000'/>"));
	free(x);
	net.mode = VNET_BRIDGE;
	snprintf(net.bridge, sizeof(net.bridge), "br0");
	x = iface(&net, "fa:16:3e:00:00:01", "virtio");
	assert_string_equal(x, "    <interface type='bridge'>\n"
			       "      <source bridge='br0'/>\n"
			       "      <mac address='fa:16:3e:00:00:01'/>\n"
			       "      <model type='virtio'/>\n"
			       "    </interface>\n");
	free(x);
	net.mode = VNET_USER;
	x = iface(&net, "fa:16:3e:00:00:01", NULL);
	assert_string_equal(x, "    <interface type='user'>\n"
			       "      <mac address='fa:16:3e:00:00:01'/>\n"
			       "      <model type='virtio'/>\n"
			       "    </interface>\n");
	free(x);
	/* names are escaped */
	net.mode = VNET_NAT;
	snprintf(net.name, sizeof(net.name), "a'b<c");
	x = iface(&net, NULL, NULL);
	assert_non_null(strstr(x, "<source network='a&apos;b&lt;c'/>"));
	assert_null(strstr(x, "<mac"));
	free(x);
}

#define BOTH(fn) \
	cmocka_unit_test_setup_teardown(fn, setup_test_driver, teardown), \
	cmocka_unit_test_setup_teardown(fn, setup_system, teardown)

int main(void)
{
	virSetErrorFunc(NULL, quiet);
	const struct CMUnitTest tests[] = {
		BOTH(test_ensure),
		BOTH(test_reservations),
		BOTH(test_existing_network_kept),
		BOTH(test_fallback),
		BOTH(test_config_errors),
		BOTH(test_bridge_mode),
		cmocka_unit_test(test_interface_xml),
	};
	return cmocka_run_group_tests_name("virt_net", tests, NULL, NULL);
}
