/* Guest networking on a compute host: one libvirt network per host that every instance
 * gets a port on, with the MAC and fixed IP the API recorded, made stable by a DHCP host
 * reservation (libvirt's dnsmasq). Modes ([compute] network_mode):
 *   nat       libvirt NAT network (forward mode='nat'): the default;
 *   isolated  the same without <forward>: guests reach the host only (tests use this);
 *   bridge    an existing host bridge ([compute] network_bridge): addresses come from
 *             the LAN's DHCP, no reservation is made here;
 *   user      QEMU user-mode networking: no host set-up at all, the guest sees 10.0.2.15
 *             whatever the API recorded. The fallback when the network cannot be started.
 * All calls are idempotent. Only libvirt calls; no HTTP, no JSON. */
#ifndef NL_VIRT_NET_H
#define NL_VIRT_NET_H

#include <stdbool.h>
#include <stdio.h>

#include <libvirt/libvirt.h>

#include "common/error.h"

enum vnet_mode { VNET_NAT, VNET_ISOLATED, VNET_BRIDGE, VNET_USER };

struct vnet_config {
	const char *name;      /* libvirt network name, e.g. "novalite" */
	const char *mode;      /* "nat", "isolated", "bridge", "user" */
	const char *bridge;    /* bridge mode: the host bridge; other modes: the bridge to create
				* (NULL: "nlbr0") */
	const char *address;   /* the host's address on the network, e.g. "10.0.0.1" */
	int prefix;            /* e.g. 16: the API hands out 10.0.x.y */
};

struct vnet {
	enum vnet_mode mode;   /* after any fallback */
	char name[64], bridge[32], address[64];
	int prefix;
};

/* Parses a mode name; -1 when unknown. */
int vnet_mode_parse(const char *s);

/* Makes sure the network exists and is active, creating it (persistent, autostart) when
 * missing. An existing network is used as it is (a different mode, bridge or subnet is
 * logged and reported in out, never changed). When a nat/isolated network cannot be
 * defined or started, falls back to user mode and says why in *fallback_why (empty when
 * no fallback); a network that failed to start stays defined. Bridge mode checks that
 * the host bridge exists. -1 with err (400) only for a bad config. */
int vnet_ensure(virConnectPtr conn, const struct vnet_config *cfg, struct vnet *out,
		char *fallback_why, size_t why_len, struct nl_error *err);

/* Adds (or replaces) the DHCP host reservation mac → ip, named name (NULL: none), live
 * and in the persistent config. An entry of another MAC holding ip (a deleted server's)
 * is removed first. libvirt refuses two entries with one name, so when another server
 * already has name, the entry goes without one. ip must be in the network's subnet (-1
 * otherwise: libvirt would accept it and dnsmasq ignore it). A no-op in bridge and user
 * modes; -1 when the network does not exist. Live updates restart dnsmasq: ~0.4 s each. */
int vnet_reserve(virConnectPtr conn, const struct vnet *net, const char *mac, const char *ip,
		 const char *name, struct nl_error *err);
/* Removes the reservation of mac; a missing one (or a missing network) is success. */
int vnet_release(virConnectPtr conn, const struct vnet *net, const char *mac, struct nl_error *err);

/* Writes the domain's <interface> element (indented for <devices>) for this network.
 * model: "virtio" unless the image says otherwise (hw_vif_model). */
void vnet_interface_xml(FILE *f, const struct vnet *net, const char *mac, const char *model);

#endif
