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

/* Returns the malloc'd XML (free() it). arch: the host's, e.g. "x86_64". User-given
 * strings (display name, flavor name) are escaped. Aborts on ENOMEM like nl_strdup. */
char *domain_xml_new(const struct virt_instance *inst, enum domain_kind kind, const char *arch);

#endif
