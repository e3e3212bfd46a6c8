/* The config drive: an ISO9660 image labelled "config-2" in OpenStack's layout, which
 * cloud-init (and the test guest's init) reads at boot. Same content as Nova's
 * nova/virt/configdrive.py + nova/api/metadata/base.py: openstack/<version>/{meta_data.json,
 * network_data.json, vendor_data.json, vendor_data2.json, user_data} for "latest" and the
 * dated versions cloud-init probes. The ISO is written by genisoimage (Debian's, as Nova
 * runs it), from a temporary directory that is always removed. */
#ifndef NL_CONFIGDRIVE_H
#define NL_CONFIGDRIVE_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

/* Everything borrowed. NULL/empty strings are left out of meta_data.json. */
struct configdrive {
	/* hostname is written as given: Nova appends [api] dhcp_domain ("novalocal" by
	 * default, so "vm1.novalocal"); the caller decides. */
	const char *uuid, *name, *hostname, *availability_zone, *project_id;
	int launch_index;
	const char *key_name, *key_data;   /* public_keys: {key_name: key_data} when both set */
	json_t *meta;                      /* the server's metadata ("meta"; left out when NULL or
					    * empty, as Nova does) */
	const unsigned char *user_data;    /* decoded bytes (not base64), or NULL: no user_data file */
	size_t user_data_len;
	/* network_data.json: one link (the instance's port) on one IPv4 network with a static
	 * address. Leave it out ({}) when the guest will not get fixed_ip on its NIC (user-mode
	 * networking: QEMU's 10.0.2.15), so cloud-init falls back to DHCP. The link's id and
	 * vif_id are derived from uuid and mac (stable), as Neutron's port id would be. */
	const char *mac, *fixed_ip;        /* NULL or "": no links, networks or services */
	int prefix;                        /* e.g. 16 */
	const char *gateway;               /* NULL: no default route */
	const char *dns;                   /* NULL: no services entry */
};

/* Writes the ISO to iso_path, replacing it atomically: the tree and the ISO are built in
 * a private directory next to iso_path (.configdrive-XXXXXX, always removed), then the
 * ISO is renamed into place. genisoimage is looked up in PATH.
 * 0, or -1 with err (genisoimage missing or failing, disk full...). */
int configdrive_build(const struct configdrive *cd, const char *iso_path, struct nl_error *err);

#endif
