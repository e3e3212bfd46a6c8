/* Domain XML for an instance: the one place that knows libvirt's domain format, so the
 * fake (type='test') and QEMU (type='qemu') domains differ only here. Pure string
 * building: no libvirt calls, no I/O. */
#ifndef NL_DOMAIN_XML_H
#define NL_DOMAIN_XML_H

#include "compute/virt.h"

enum domain_kind {
	DOMAIN_TEST,    /* libvirt's test driver: name, uuid, memory, vcpus, os type only */
	DOMAIN_QEMU,    /* TCG guest under qemu:///system (KVM does not boot guests here) */
};

/* What a QEMU domain needs beyond the instance: its files and the host's choices. */
struct domain_opts {
	enum domain_kind kind;
	const char *arch;          /* the host's, e.g. "x86_64" */
	bool kvm;                  /* type='kvm' + host-passthrough; else TCG with a safe model */
	const char *disk_path;     /* the root disk (qcow2 overlay) */
	const char *config_path;   /* the config drive ISO, or NULL */
	const char *console_path;  /* the serial console log file */
	const char *vnc_listen;    /* NULL: no VNC */
	const char *interface_xml; /* the <interface> element (virt_net.c), or NULL: no NIC */
};

/* Returns the malloc'd XML (free() it). User-given strings (display name, flavor name,
 * image properties) are escaped or checked against a list. Aborts on ENOMEM like
 * nl_strdup. With DOMAIN_TEST only kind and arch are used. */
char *domain_xml_new(const struct virt_instance *inst, const struct domain_opts *o);

/* The image property value to use for key (hw_disk_bus...), when it is one of allowed
 * (NULL-terminated); otherwise def. Image properties are user data: never pasted raw. */
const char *domain_image_prop(const struct virt_instance *inst, const char *key, const char *const *allowed,
			      const char *def);

#endif
