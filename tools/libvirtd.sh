#!/bin/sh
# Starts virtlogd and libvirtd when they are not running (machines without systemd: CI,
# containers; see docs/operations.md). Prints one line saying what it did. Exit 0 when
# qemu:///system answers, 1 when libvirt is not installed or not startable (not root).
[ -x /usr/sbin/libvirtd ] || { echo "libvirtd: not installed (apt-get install libvirt-daemon-system)"; exit 1; }
if [ -S /run/libvirt/libvirt-sock ] && virsh -c qemu:///system version >/dev/null 2>&1; then
	echo "libvirtd: already running"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "libvirtd: not running, and starting it needs root"; exit 1; }
# libvirt probes QEMU again on every call when /dev/kvm is 0600 (seconds per call).
if [ -c /dev/kvm ] && getent group kvm >/dev/null; then
	chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi
pgrep -x virtlogd >/dev/null || /usr/sbin/virtlogd -d
pgrep -x libvirtd >/dev/null || /usr/sbin/libvirtd -d
i=0
while [ $i -lt 200 ] && [ ! -S /run/libvirt/libvirt-sock ]; do sleep 0.1; i=$((i + 1)); done
# The first call probes QEMU's capabilities (several seconds): do it here, not in a test.
if virsh -c qemu:///system version >/dev/null 2>&1; then
	echo "libvirtd: started"
	exit 0
fi
echo "libvirtd: started but qemu:///system does not answer (see /var/log/libvirt/libvirtd.log)"
exit 1
