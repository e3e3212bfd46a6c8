/* Builds the libvirt domain XML of an instance (see domain_xml.h).
 *
 * The <metadata> block follows Nova's libvirt driver (namespace nova/1.1: name, flavor,
 * owner) so `virsh dumpxml` tells an operator which server a domain is. */
#include "compute/domain_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static void put_metadata(FILE *f, const struct virt_instance *inst)
{
	fputs("  <metadata>\n"
	      "    <nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>\n"
	      "      <nova:name>", f);
	nl_xml_escape(f, inst->display_name);
	fputs("</nova:name>\n      <nova:flavor name='", f);
	nl_xml_escape(f, inst->flavor_name);
	fprintf(f, "'>\n        <nova:memory>%lld</nova:memory>\n"
		   "        <nova:disk>%lld</nova:disk>\n"
		   "        <nova:vcpus>%d</nova:vcpus>\n"
		   "      </nova:flavor>\n"
		   "      <nova:owner>\n"
		   "        <nova:user uuid='", inst->memory_mb, inst->root_gb, inst->vcpus);
	nl_xml_escape(f, inst->user_id);
	fputs("'/>\n        <nova:project uuid='", f);
	nl_xml_escape(f, inst->project_id);
	fputs("'/>\n      </nova:owner>\n    </nova:instance>\n  </metadata>\n", f);
}

const char *domain_image_prop(const struct virt_instance *inst, const char *key, const char *const *allowed,
			      const char *def)
{
	const char *v = json_string_value(json_object_get(inst->image_properties, key));
	for (size_t i = 0; v && allowed[i]; i++)
		if (!strcmp(allowed[i], v))
			return allowed[i];
	return def;
}

/* hw_machine_type: "pc", "q35" or a versioned pc-i440fx-7.2 / pc-q35-7.2. */
static const char *machine_type(const struct virt_instance *inst)
{
	const char *v = json_string_value(json_object_get(inst->image_properties, "hw_machine_type"));
	if (!v || strlen(v) > 40 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(v))
		return "pc";
	if (!strcmp(v, "pc") || !strcmp(v, "q35") || !strncmp(v, "pc-i440fx-", 10) || !strncmp(v, "pc-q35-", 7))
		return v;
	return "pc";
}

static const char *const disk_buses[] = { "virtio", "scsi", "ide", "sata", NULL };

/* The target device name of the root disk on bus: vda, sda or hda. */
static const char *root_dev(const char *bus)
{
	return !strcmp(bus, "virtio") ? "vda" : !strcmp(bus, "ide") ? "hda" : "sda";
}

static void put_qemu_devices(FILE *f, const struct virt_instance *inst, const struct domain_opts *o)
{
	const char *bus = domain_image_prop(inst, "hw_disk_bus", disk_buses, "virtio");
	bool q35 = strstr(machine_type(inst), "q35") != NULL;

	fputs("  <devices>\n", f);
	fputs("    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2' cache='none'/>\n"
	      "      <source file='", f);
	nl_xml_escape(f, o->disk_path);
	fprintf(f, "'/>\n      <target dev='%s' bus='%s'/>\n    </disk>\n", root_dev(bus), bus);
	if (!strcmp(bus, "scsi"))
		fputs("    <controller type='scsi' model='virtio-scsi'/>\n", f);
	if (o->config_path) {
		/* Nova's default config drive: a read-only cdrom (q35 has no IDE: SATA there). */
		fputs("    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n"
		      "      <source file='", f);
		nl_xml_escape(f, o->config_path);
		fprintf(f, "'/>\n      <target dev='%s' bus='%s'/>\n      <readonly/>\n    </disk>\n",
			q35 ? "sdz" : "hdd", q35 ? "sata" : "ide");
	}
	if (o->interface_xml)
		fputs(o->interface_xml, f);
	/* The serial console goes to a file that outlives reboots (append): the console log. */
	fputs("    <serial type='file'>\n      <source path='", f);
	nl_xml_escape(f, o->console_path);
	fputs("' append='on'/>\n      <target port='0'/>\n    </serial>\n"
	      "    <console type='file'>\n      <source path='", f);
	nl_xml_escape(f, o->console_path);
	fputs("' append='on'/>\n      <target type='serial' port='0'/>\n    </console>\n", f);
	if (o->vnc_listen) {
		fputs("    <graphics type='vnc' autoport='yes' listen='", f);
		nl_xml_escape(f, o->vnc_listen);
		fputs("'>\n      <listen type='address' address='", f);
		nl_xml_escape(f, o->vnc_listen);
		fputs("'/>\n    </graphics>\n    <video>\n      <model type='cirrus'/>\n    </video>\n", f);
	}
	fputs("    <memballoon model='virtio'/>\n  </devices>\n", f);
}

char *domain_xml_new(const struct virt_instance *inst, const struct domain_opts *o)
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
		o->kind == DOMAIN_TEST ? "test" : o->kvm ? "kvm" : "qemu", inst->name, inst->uuid);
	put_metadata(f, inst);
	fprintf(f, "  <memory unit='KiB'>%lld</memory>\n"
		   "  <currentMemory unit='KiB'>%lld</currentMemory>\n"
		   "  <vcpu placement='static'>%d</vcpu>\n",
		mem_kib, mem_kib, vcpus);
	if (o->kind == DOMAIN_TEST) {
		fprintf(f, "  <os>\n    <type arch='%s'>hvm</type>\n  </os>\n", o->arch);
		fputs("</domain>\n", f);
		if (fclose(f) != 0)
			abort();
		return buf;
	}
	static const char *const firmwares[] = { "bios", "uefi", NULL };
	bool uefi = !strcmp(domain_image_prop(inst, "hw_firmware_type", firmwares, "bios"), "uefi");
	fprintf(f, "  <sysinfo type='smbios'>\n    <system>\n"
		   "      <entry name='manufacturer'>OpenStack Foundation</entry>\n"
		   "      <entry name='product'>OpenStack Nova</entry>\n"
		   "      <entry name='serial'>%s</entry>\n      <entry name='uuid'>%s</entry>\n"
		   "      <entry name='family'>Virtual Machine</entry>\n    </system>\n  </sysinfo>\n",
		inst->uuid, inst->uuid);
	fprintf(f, "  <os%s>\n    <type arch='%s' machine='%s'>hvm</type>\n"
		   "    <boot dev='hd'/>\n    <smbios mode='sysinfo'/>\n  </os>\n"
		   "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n",
		uefi ? " firmware='efi'" : "", o->arch, machine_type(inst));
	/* KVM: the host's CPU as it is (Nova's host-passthrough). TCG emulates: a model
	 * every QEMU has, so a guest never sees a feature the emulator lacks. */
	if (o->kvm)
		fputs("  <cpu mode='host-passthrough' check='none'/>\n", f);
	else
		fputs("  <cpu mode='custom' match='exact'>\n    <model fallback='allow'>qemu64</model>\n  </cpu>\n", f);
	fputs("  <clock offset='utc'/>\n"
	      "  <on_poweroff>destroy</on_poweroff>\n"
	      "  <on_reboot>restart</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n", f);
	put_qemu_devices(f, inst, o);
	fputs("</domain>\n", f);
	if (fclose(f) != 0)
		abort();
	return buf;
}
