/* Builds the libvirt domain XML of an instance (see domain_xml.h).
 *
 * The <metadata> block follows Nova's libvirt driver (namespace nova/1.1: name, flavor,
 * owner) so `virsh dumpxml` tells an operator which server a domain is. The QEMU domain
 * has no disks yet: booting real guests is a later step behind the same interface. */
#include "compute/domain_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Appends s with the five XML special characters escaped. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void put_metadata(FILE *f, const struct virt_instance *inst)
{
	fputs("  <metadata>\n"
	      "    <nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>\n"
	      "      <nova:name>", f);
	put_escaped(f, inst->display_name);
	fputs("</nova:name>\n      <nova:flavor name='", f);
	put_escaped(f, inst->flavor_name);
	fprintf(f, "'>\n        <nova:memory>%lld</nova:memory>\n"
		   "        <nova:disk>%lld</nova:disk>\n"
		   "        <nova:vcpus>%d</nova:vcpus>\n"
		   "      </nova:flavor>\n"
		   "      <nova:owner>\n"
		   "        <nova:user uuid='", inst->memory_mb, inst->root_gb, inst->vcpus);
	put_escaped(f, inst->user_id);
	fputs("'/>\n        <nova:project uuid='", f);
	put_escaped(f, inst->project_id);
	fputs("'/>\n      </nova:owner>\n    </nova:instance>\n  </metadata>\n", f);
}

char *domain_xml_new(const struct virt_instance *inst, enum domain_kind kind, const char *arch)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	/* vcpus and memory come from the flavor, which the API validated; the floor keeps a
	 * damaged row from producing XML libvirt rejects with a less helpful message. */
	long long mem_kib = (inst->memory_mb > 0 ? inst->memory_mb : 1) * 1024;
	int vcpus = inst->vcpus > 0 ? inst->vcpus : 1;

	if (!f)
		abort();
	fprintf(f, "<domain type='%s'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n",
		kind == DOMAIN_TEST ? "test" : "qemu", inst->name, inst->uuid);
	put_metadata(f, inst);
	fprintf(f, "  <memory unit='KiB'>%lld</memory>\n"
		   "  <currentMemory unit='KiB'>%lld</currentMemory>\n"
		   "  <vcpu placement='static'>%d</vcpu>\n",
		mem_kib, mem_kib, vcpus);
	if (kind == DOMAIN_TEST) {
		fprintf(f, "  <os>\n    <type arch='%s'>hvm</type>\n  </os>\n", arch);
	} else {
		/* TCG: KVM guests hang on this machine (see the virtualization notes). The
		 * serial console is a pty until instance files (disks, console log) arrive. */
		fprintf(f, "  <os>\n    <type arch='%s' machine='pc'>hvm</type>\n"
			   "    <boot dev='hd'/>\n  </os>\n"
			   "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n"
			   "  <cpu mode='custom' match='exact'>\n    <model fallback='allow'>qemu64</model>\n"
			   "  </cpu>\n"
			   "  <clock offset='utc'/>\n"
			   "  <on_poweroff>destroy</on_poweroff>\n"
			   "  <on_reboot>restart</on_reboot>\n"
			   "  <on_crash>destroy</on_crash>\n"
			   "  <devices>\n"
			   "    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n"
			   "    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n"
			   "    <memballoon model='virtio'/>\n"
			   "  </devices>\n",
			arch);
	}
	fputs("</domain>\n", f);
	if (fclose(f) != 0)
		abort();
	return buf;
}
